//! Output field names (ZMap-compatible and JSON) and field-list parsing for `-f/--output-fields`.
//!
//! | ZMap / CSV name  | JSON name        | Type                  | Meaning                                      |
//! |------------------|------------------|-----------------------|----------------------------------------------|
//! | `saddr`          | `ip`             | IPv4 address          | target address (source of the response)      |
//! | `daddr`          | `daddr`          | IPv4 address          | our address the response went to             |
//! | `sport`          | `port`           | integer 0..65535      | target port (source port of the response)    |
//! | `dport`          | `dport`          | integer 0..65535      | our port the response went to                |
//! | `seqnum`         | `seq`            | integer 0..2^32-1     | TCP sequence number of the response          |
//! | `acknum`         | `ack`            | integer 0..2^32-1     | TCP acknowledgement number of the response   |
//! | `window`         | `window`         | integer 0..65535      | TCP window of the response                   |
//! | `ttl`            | `ttl`            | integer 0..255        | IP TTL of the response                       |
//! | `ipid`           | `ipid`           | integer 0..65535      | IP identification of the response            |
//! | `classification` | `classification` | `synack`/`rst`/`icmp-unreach` | kind of response                     |
//! | `success`        | `success`        | CSV 1/0, JSON bool    | SYN-ACK received (port open)                 |
//! | `repeat`         | `repeat`         | CSV 1/0, JSON bool    | duplicate response for this (ip, port)       |
//! | `cooldown`       | `cooldown`       | CSV 1/0, JSON bool    | received after the sender finished           |
//! | `timestamp_str`  | `timestamp`      | RFC 3339 UTC, µs      | receive time                                 |
//! | `icmp_responder` | `icmp_responder` | IPv4 address or empty | sender of an ICMP response                   |
//! | `icmp_code`      | `icmp_code`      | integer or empty      | ICMP code of an ICMP response                |

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::Serialize;

use crate::record::ScanRecord;

/// One output field of a [`ScanRecord`]. See the module docs for the name table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Field {
    /// `saddr` / `ip`
    Saddr,
    /// `daddr`
    Daddr,
    /// `sport` / `port`
    Sport,
    /// `dport`
    Dport,
    /// `seqnum` / `seq`
    Seqnum,
    /// `acknum` / `ack`
    Acknum,
    /// `window`
    Window,
    /// `ttl`
    Ttl,
    /// `ipid`
    Ipid,
    /// `classification`
    Classification,
    /// `success`
    Success,
    /// `repeat`
    Repeat,
    /// `cooldown`
    Cooldown,
    /// `timestamp_str` / `timestamp`
    TimestampStr,
    /// `icmp_responder`
    IcmpResponder,
    /// `icmp_code`
    IcmpCode,
}

/// The type of a field's values (used by the filter to check comparisons).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FieldKind {
    /// Unsigned integer.
    Number,
    /// Boolean (1/0 in CSV and filters).
    Bool,
    /// IPv4 address.
    Address,
    /// One of the [`crate::Classification`] names.
    Classification,
    /// Free text (the timestamp).
    Text,
}

/// A field's value for one record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FieldValue<'a> {
    /// Integer field.
    Number(u64),
    /// Boolean field.
    Bool(bool),
    /// Address field.
    Address(Ipv4Addr),
    /// Text field (classification name or timestamp).
    Text(&'a str),
    /// An optional field that is absent for this record.
    Absent,
}

impl Serialize for FieldValue<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::Number(n) => s.serialize_u64(n),
            Self::Bool(b) => s.serialize_bool(b),
            Self::Address(a) => a.serialize(s),
            Self::Text(t) => s.serialize_str(t),
            Self::Absent => s.serialize_none(),
        }
    }
}

impl Field {
    /// Every field, in the default CSV column order.
    pub const ALL: [Field; 16] = [
        Self::Saddr,
        Self::Daddr,
        Self::Sport,
        Self::Dport,
        Self::Seqnum,
        Self::Acknum,
        Self::Window,
        Self::Ttl,
        Self::Ipid,
        Self::Classification,
        Self::Success,
        Self::Repeat,
        Self::Cooldown,
        Self::TimestampStr,
        Self::IcmpResponder,
        Self::IcmpCode,
    ];

    /// The ZMap-compatible name (CSV header).
    pub fn zmap_name(self) -> &'static str {
        match self {
            Self::Saddr => "saddr",
            Self::Daddr => "daddr",
            Self::Sport => "sport",
            Self::Dport => "dport",
            Self::Seqnum => "seqnum",
            Self::Acknum => "acknum",
            Self::Window => "window",
            Self::Ttl => "ttl",
            Self::Ipid => "ipid",
            Self::Classification => "classification",
            Self::Success => "success",
            Self::Repeat => "repeat",
            Self::Cooldown => "cooldown",
            Self::TimestampStr => "timestamp_str",
            Self::IcmpResponder => "icmp_responder",
            Self::IcmpCode => "icmp_code",
        }
    }

    /// The JSON key (the [`ScanRecord`] field name).
    pub fn json_name(self) -> &'static str {
        match self {
            Self::Saddr => "ip",
            Self::Sport => "port",
            Self::Seqnum => "seq",
            Self::Acknum => "ack",
            Self::TimestampStr => "timestamp",
            other => other.zmap_name(),
        }
    }

    /// Looks a field up by either its ZMap or its JSON name (exact, lower case).
    pub fn from_name(name: &str) -> Option<Field> {
        Self::ALL
            .into_iter()
            .find(|f| f.zmap_name() == name || f.json_name() == name)
    }

    /// The largest value of a [`FieldKind::Number`] field (`None` for other kinds).
    pub fn max_value(self) -> Option<u64> {
        match self {
            Self::Sport | Self::Dport | Self::Window | Self::Ipid => Some(u16::MAX.into()),
            Self::Ttl | Self::IcmpCode => Some(u8::MAX.into()),
            Self::Seqnum | Self::Acknum => Some(u32::MAX.into()),
            _ => None,
        }
    }

    /// The type of this field's values.
    pub fn kind(self) -> FieldKind {
        match self {
            Self::Saddr | Self::Daddr | Self::IcmpResponder => FieldKind::Address,
            Self::Success | Self::Repeat | Self::Cooldown => FieldKind::Bool,
            Self::Classification => FieldKind::Classification,
            Self::TimestampStr => FieldKind::Text,
            _ => FieldKind::Number,
        }
    }

    /// This field's value in `r`.
    pub fn value(self, r: &ScanRecord) -> FieldValue<'_> {
        use FieldValue::*;
        match self {
            Self::Saddr => Address(r.ip),
            Self::Daddr => Address(r.daddr),
            Self::Sport => Number(r.port.into()),
            Self::Dport => Number(r.dport.into()),
            Self::Seqnum => Number(r.seq.into()),
            Self::Acknum => Number(r.ack.into()),
            Self::Window => Number(r.window.into()),
            Self::Ttl => Number(r.ttl.into()),
            Self::Ipid => Number(r.ipid.into()),
            Self::Classification => Text(r.classification.as_str()),
            Self::Success => Bool(r.success),
            Self::Repeat => Bool(r.repeat),
            Self::Cooldown => Bool(r.cooldown),
            Self::TimestampStr => Text(&r.timestamp),
            Self::IcmpResponder => r.icmp_responder.map_or(Absent, Address),
            Self::IcmpCode => r.icmp_code.map_or(Absent, |c| Number(c.into())),
        }
    }

    /// Parses a comma-separated field list such as `saddr,sport,classification` (either naming;
    /// spaces around names are ignored; `*` alone means every field in default order).
    pub fn parse_list(s: &str) -> Result<Vec<Field>, FieldListError> {
        if s.trim() == "*" {
            return Ok(Self::ALL.to_vec());
        }
        if s.trim().is_empty() {
            return Err(FieldListError::Empty);
        }
        let mut out: Vec<Field> = Vec::new();
        for (i, item) in s.split(',').enumerate() {
            let name = item.trim();
            if name.is_empty() {
                return Err(FieldListError::EmptyItem(i + 1));
            }
            let f =
                Field::from_name(name).ok_or_else(|| FieldListError::Unknown(name.to_owned()))?;
            if out.contains(&f) {
                return Err(FieldListError::Duplicate(name.to_owned()));
            }
            out.push(f);
        }
        Ok(out)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.zmap_name())
    }
}

impl FromStr for Field {
    type Err = FieldListError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::from_name(s).ok_or_else(|| FieldListError::Unknown(s.to_owned()))
    }
}

/// Every accepted field name for error messages: `saddr|ip, daddr, sport|port, ...`.
pub(crate) fn known_names() -> String {
    Field::ALL
        .map(|f| {
            if f.zmap_name() == f.json_name() {
                f.zmap_name().to_owned()
            } else {
                format!("{}|{}", f.zmap_name(), f.json_name())
            }
        })
        .join(", ")
}

/// Error from [`Field::parse_list`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldListError {
    /// The list was empty.
    #[error("empty output field list")]
    Empty,
    /// An item between commas was empty (1-based item number).
    #[error("empty field name at item {0} of the output field list")]
    EmptyItem(usize),
    /// A name that is not a field.
    #[error("unknown output field {0:?} (known: {known})", known = known_names())]
    Unknown(String),
    /// A field listed twice.
    #[error("output field {0:?} listed twice")]
    Duplicate(String),
}
