//! The fields of `smtpsweep scan -m` metadata the report uses (docs/schema.md,
//! "Scan metadata"). Unknown keys are ignored, missing ones default.

use serde::Deserialize;

/// Scan metadata, reduced.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct ScanMeta {
    pub shards: u32,
    pub shard: u32,
    pub ports: Vec<u16>,
    pub start_time: String,
    pub duration_s: f64,
    pub addresses_total: u64,
    pub targets_scanned: u64,
    pub packets_sent: u64,
    pub hits_unique: u64,
    pub exit_status: String,
}
