//! Scan metadata written with `-m FILE` (pretty JSON).

use std::io::{self, Write};
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// Grab-stage counters of a `sweep` run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct GrabSummary {
    /// Open ports handed to the grab stage.
    pub submitted: u64,
    /// Grab records written.
    pub done: u64,
    /// Records per status (`success`, `io-timeout`, ...), statuses with none left out.
    pub by_status: std::collections::BTreeMap<String, u64>,
}

/// Targets removed by blocklists, in addresses (not address×port pairs).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct BlocklistedCounts {
    /// Removed by the built-in blocklist of IANA special-purpose ranges.
    pub default: u64,
    /// Removed by the user's `-b` blocklist (and not already by the default one).
    pub user: u64,
}

impl BlocklistedCounts {
    /// Sum of both lists.
    pub fn total(&self) -> u64 {
        self.default.saturating_add(self.user)
    }
}

/// Everything about one scan run except its results.
///
/// Every field has a default and unknown keys are ignored, so files written by other versions
/// still load. Counters are totals over the whole run (all sender threads).
///
/// **Cookie key:** the per-scan SipHash key is never stored: it would let anyone who reads the
/// file forge responses that validate against a still-running scan, or re-derive the probes'
/// source ports and sequence numbers. Only a fingerprint is kept
/// ([`cookie_key_fingerprint`](Self::cookie_key_fingerprint)), enough to tell whether two
/// metadata files came from the same key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ScanMetadata {
    /// smtpsweep version (`CARGO_PKG_VERSION` of the binary).
    pub smtpsweep_version: String,
    /// Command line as run (program name first).
    pub command_line: Vec<String>,
    /// Permutation seed (given with `-e` or drawn at random).
    pub seed: u64,
    /// Whether the seed was given by the user (false: drawn at random).
    pub seed_given: bool,
    /// Number of shards (`--shards`).
    pub shards: u32,
    /// This run's shard index, 0-based (`--shard`).
    pub shard: u32,
    /// Sender threads (`-T`).
    pub sender_threads: u32,
    /// Target specifications as given (CIDRs, addresses, ranges).
    pub targets: Vec<String>,
    /// Allowlist file (`-w`), if any.
    pub allowlist_file: Option<String>,
    /// Blocklist file (`-b`), if any.
    pub blocklist_file: Option<String>,
    /// Whether `--allow-reserved` lifted the default blocklist.
    pub allow_reserved: bool,
    /// Target ports, in the order given.
    pub ports: Vec<u16>,
    /// Rate limit in packets per second (`-r`); `None` = unlimited.
    pub rate_pps: Option<u64>,
    /// Bandwidth limit in bits per second (`-B`); `None` = unlimited.
    pub bandwidth_bps: Option<u64>,
    /// Probes per target (`--probes`).
    pub probes: u32,
    /// Cooldown after the last probe, seconds (`-c`).
    pub cooldown_s: u64,
    /// `-n` max targets, if set.
    pub max_targets: Option<u64>,
    /// `-t` max runtime in seconds, if set.
    pub max_runtime_s: Option<u64>,
    /// `-N` max results, if set.
    pub max_results: Option<u64>,
    /// Whether this was a `--dryrun`.
    pub dryrun: bool,
    /// Network interface used.
    pub interface: String,
    /// Source addresses used.
    pub source_ips: Vec<Ipv4Addr>,
    /// Source port range, inclusive `[first, last]`.
    pub source_ports: [u16; 2],
    /// Gateway MAC address, `aa:bb:cc:dd:ee:ff`.
    pub gateway_mac: String,
    /// Start time, RFC 3339 UTC (see [`crate::format_timestamp`]).
    pub start_time: String,
    /// End time (after the cooldown), RFC 3339 UTC.
    pub end_time: String,
    /// Wall-clock duration in seconds.
    pub duration_s: f64,
    /// Addresses in scope after blocklisting (this shard's share is in `targets_scanned`).
    pub addresses_total: u64,
    /// (address, port) pairs in scope after blocklisting, before sharding and `-n`.
    pub targets_total: u64,
    /// (address, port) pairs this run probed.
    pub targets_scanned: u64,
    /// Addresses removed by the blocklists.
    pub targets_blocklisted: BlocklistedCounts,
    /// Probe packets sent (all copies with `--probes`).
    pub packets_sent: u64,
    /// Sends that failed.
    pub send_errors: u64,
    /// Packets that passed the kernel filter and reached the receiver.
    pub packets_received: u64,
    /// Responses whose cookie validated.
    pub responses_validated: u64,
    /// Responses that failed validation (stray, forged or stale).
    pub validation_failed: u64,
    /// Distinct (address, port) pairs that answered SYN-ACK.
    pub hits_unique: u64,
    /// Duplicate responses (already-seen (address, port)).
    pub hits_repeat: u64,
    /// Responses received during the cooldown.
    pub hits_cooldown: u64,
    /// Packets the kernel or the receive ring dropped (`PACKET_STATISTICS` drops).
    pub drops: u64,
    /// Records written to the output after filtering.
    pub records_written: u64,
    /// Output filter source text.
    pub filter: String,
    /// Output format (`jsonl` or `csv`).
    pub output_format: String,
    /// Output fields, ZMap names, when `-f` restricted them.
    pub output_fields: Option<Vec<String>>,
    /// Output file (`-` = stdout).
    pub output_file: String,
    /// Hex fingerprint of the cookie key (never the key itself; see the type docs).
    pub cookie_key_fingerprint: String,
    /// How frames were sent: `ring` (TX ring) or `send`.
    pub send_mode: String,
    /// `sweep` only: what the grab stage did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grab: Option<GrabSummary>,
    /// How the scan ended: `completed`, `interrupted`, `max-runtime`, `max-targets`,
    /// `max-results` or `error`.
    pub exit_status: String,
    /// Process exit code that accompanies `exit_status`.
    pub exit_code: i32,
    /// Error message when `exit_status` is `error`.
    pub error: Option<String>,
}

impl ScanMetadata {
    /// Pretty-printed JSON followed by a newline.
    pub fn to_json_pretty(&self) -> String {
        // Serializing this struct cannot fail: it has only string keys and plain values.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes [`to_json_pretty`](Self::to_json_pretty) to `w`.
    pub fn write_json<W: Write>(&self, mut w: W) -> io::Result<()> {
        w.write_all(self.to_json_pretty().as_bytes())?;
        w.flush()
    }

    /// Parses a metadata file's contents.
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}
