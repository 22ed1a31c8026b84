//! The scan result record and its classification.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What kind of response a probe received.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "kebab-case")]
pub enum Classification {
    /// TCP SYN-ACK: the port is open.
    Synack,
    /// TCP RST: the host is up, the port is closed.
    Rst,
    /// ICMP destination unreachable quoting our probe.
    IcmpUnreach,
}

impl Classification {
    /// All classifications, in declaration order.
    pub const ALL: [Classification; 3] = [Self::Synack, Self::Rst, Self::IcmpUnreach];

    /// The name used in JSON, CSV and filters: `synack`, `rst` or `icmp-unreach`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synack => "synack",
            Self::Rst => "rst",
            Self::IcmpUnreach => "icmp-unreach",
        }
    }

    /// Whether this response means an open port (ZMap's `success`).
    pub fn is_success(self) -> bool {
        self == Self::Synack
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown classification name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown classification {0:?} (expected synack, rst or icmp-unreach)")]
pub struct ClassificationError(pub String);

impl FromStr for Classification {
    type Err = ClassificationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ClassificationError(s.to_owned()))
    }
}

/// One validated response to a probe: one line of scan output.
///
/// Serialized to JSON with the field names below (see `docs/schema.md` for the mapping to the
/// ZMap-compatible CSV names). The ICMP fields are omitted from JSON when absent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ScanRecord {
    /// The target address (ZMap `saddr`: source address of the response).
    pub ip: Ipv4Addr,
    /// The target port (ZMap `sport`: source port of the response).
    pub port: u16,
    /// Kind of response.
    pub classification: Classification,
    /// True for a SYN-ACK (open port).
    pub success: bool,
    /// A duplicate response for an (ip, port) already reported.
    pub repeat: bool,
    /// Arrived after the sender finished (during the cooldown).
    pub cooldown: bool,
    /// IP TTL of the response.
    pub ttl: u8,
    /// IP identification of the response.
    pub ipid: u16,
    /// TCP window of the response (0 for ICMP).
    pub window: u16,
    /// TCP sequence number of the response (ZMap `seqnum`).
    pub seq: u32,
    /// TCP acknowledgement number of the response (ZMap `acknum`).
    pub ack: u32,
    /// Our address the response was sent to.
    pub daddr: Ipv4Addr,
    /// Our port the response was sent to.
    pub dport: u16,
    /// Receive time, RFC 3339 UTC with microseconds (see [`crate::format_timestamp`]).
    pub timestamp: String,
    /// For ICMP responses: the router or host that sent the ICMP message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_responder: Option<Ipv4Addr>,
    /// For ICMP responses: the ICMP code (e.g. 3 = port unreachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
}

impl ScanRecord {
    /// Parses one JSON Lines record as written with the default (full) field set.
    pub fn from_json_line(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}
