//! The report's data model: every table as data. `docs/report-schema.md` describes
//! the JSON form of each field.
//!
//! Conventions: a `share` is a fraction in `0..=1` (not a percentage);
//! `by_port` maps each of [`Report::port_columns`] (a port number as text, or
//! `other`) to a count, zeros included, and its values add up to `total`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counts per port column (see [`Report::port_columns`]).
pub type PortMap = BTreeMap<String, u64>;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `smtpsweep-report <version>`.
    pub tool: String,
    /// The options the report was built with.
    pub options: ReportOptions,
    /// Column keys of every `by_port` map, in display order: `25`, `587`,
    /// `465`, other ports seen, and `other` when more ports than columns.
    pub port_columns: Vec<String>,
    /// What was read.
    pub inputs: Inputs,
    /// 1. Discovery.
    pub discovery: Discovery,
    /// 2. Fingerprinting.
    pub fingerprinting: Fingerprinting,
    /// 3. Versions.
    pub versions: Versions,
    /// 4. Exposure.
    pub exposure: Exposure,
    /// 5. Transport security.
    pub transport: Transport,
    /// 6. Geography and providers.
    pub geography: Geography,
    /// 7. Problems.
    pub problems: Problems,
    /// One-line notices (read errors, missing databases, ...).
    pub notices: Vec<String>,
}

/// Options echoed into the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportOptions {
    /// Rows kept in ranked tables (`--top`).
    pub top: usize,
    /// Family given with `--family`.
    pub family: Option<String>,
    /// Port given with `--port`.
    pub port: Option<u16>,
    /// Country database path.
    pub country_db: Option<String>,
    /// ASN database path.
    pub asn_db: Option<String>,
    /// CVE records in the vulnerability database used.
    pub cves_in_db: usize,
}

/// What was read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Per input file.
    pub files: Vec<InputFile>,
    /// Lines read (all files).
    pub lines: u64,
    /// Empty or whitespace-only lines (skipped, not errors).
    pub blank_lines: u64,
    /// Records parsed (before de-duplication and the port filter).
    pub records: u64,
    /// Records whose (address, port) was already seen: counted once.
    pub duplicates: u64,
    /// Records dropped by `--port`.
    pub filtered_out: u64,
    /// Lines that are not a valid record.
    pub malformed: u64,
    /// The first malformed lines (at most 100), with file and line number.
    pub malformed_examples: Vec<MalformedLine>,
    /// Scan metadata files read.
    pub metadata_files: Vec<String>,
}

/// One input file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    /// Path as given.
    pub path: String,
    /// Whether it was gzip-compressed.
    pub gzip: bool,
    /// Lines read.
    pub lines: u64,
    /// Records parsed.
    pub records: u64,
    /// Records already seen (in this or an earlier file).
    pub duplicates: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// Records dropped by `--port`.
    pub filtered_out: u64,
    /// Read or decompression error that ended this file early.
    pub read_error: Option<String>,
}

/// A line that is not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedLine {
    /// File path.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// Why it was rejected (one line).
    pub error: String,
}

/// A row for the rest of a ranked table beyond `--top`, or for unknowns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OtherRow {
    /// Distinct keys folded into this row.
    pub distinct: usize,
    /// Nodes.
    pub total: u64,
    /// Share of the table's base.
    pub share: f64,
    /// Nodes per port column.
    pub by_port: PortMap,
}

/// 1. Discovery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    /// Distinct (address, port) service nodes.
    pub services: u64,
    /// Distinct addresses.
    pub addresses: u64,
    /// Nodes per port column.
    pub ports: Vec<PortRow>,
    /// Addresses by how many ports they have open.
    pub addresses_by_open_ports: Vec<OpenPortsRow>,
    /// Scan metadata, when metadata files were given.
    pub scan: Option<ScanSummary>,
}

/// Nodes on one port column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortRow {
    /// Port column key.
    pub port: String,
    /// Service nodes.
    pub services: u64,
    /// Share of all service nodes.
    pub share: f64,
    /// Of which the grab ended with `success`.
    pub success: u64,
    /// Of which answered with a greeting.
    pub with_banner: u64,
}

/// Addresses with a given number of open ports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenPortsRow {
    /// Open ports on the address.
    pub open_ports: u32,
    /// Addresses.
    pub addresses: u64,
}

/// Figures from `smtpsweep scan -m` metadata files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// One row per metadata file.
    pub files: Vec<ScanFileRow>,
    /// Ports scanned (union).
    pub ports: Vec<u16>,
    /// (address, port) targets probed, all shards.
    pub targets_scanned: u64,
    /// Distinct SYN-ACK hits, all shards.
    pub hits_unique: u64,
    /// `hits_unique / targets_scanned`.
    pub hit_rate: Option<f64>,
    /// Probe packets sent, all shards.
    pub packets_sent: u64,
    /// Addresses in scope (largest over the files).
    pub addresses_total: u64,
    /// Service nodes in this report divided by `hits_unique`.
    pub grabbed_share: Option<f64>,
}

/// One metadata file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanFileRow {
    /// Path as given.
    pub file: String,
    /// Shard index.
    pub shard: u32,
    /// Shard count.
    pub shards: u32,
    /// Ports scanned.
    pub ports: Vec<u16>,
    /// Targets probed.
    pub targets_scanned: u64,
    /// Distinct hits.
    pub hits_unique: u64,
    /// `hits_unique / targets_scanned`.
    pub hit_rate: Option<f64>,
    /// Packets sent.
    pub packets_sent: u64,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Start time (RFC 3339).
    pub start_time: String,
    /// How the scan ended.
    pub exit_status: String,
}

/// 2. Fingerprinting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fingerprinting {
    /// Service nodes.
    pub services: u64,
    /// Nodes that sent a greeting (`smtp.banner_code` present).
    pub with_banner: u64,
    /// Nodes with a fingerprint naming a family or product.
    pub fingerprinted: u64,
    /// `fingerprinted / services`.
    pub fingerprinted_share: f64,
    /// `fingerprinted / with_banner`.
    pub fingerprinted_share_of_banners: f64,
    /// Fingerprinted nodes with a version.
    pub with_version: u64,
    /// Distinct families.
    pub families: usize,
    /// Distinct (vendor, product, family).
    pub products: usize,
    /// Per port column.
    pub by_port: Vec<FingerprintPortRow>,
    /// Families by node count (top N); share of `fingerprinted`.
    pub family_rows: Vec<FamilyRow>,
    /// The families beyond the top N.
    pub family_other: Option<OtherRow>,
    /// Products by node count (top N); share of `fingerprinted`.
    pub product_rows: Vec<ProductRow>,
    /// The products beyond the top N.
    pub product_other: Option<OtherRow>,
}

/// Fingerprint coverage on one port column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FingerprintPortRow {
    /// Port column key.
    pub port: String,
    /// Service nodes.
    pub services: u64,
    /// Fingerprinted nodes.
    pub fingerprinted: u64,
    /// `fingerprinted / services`.
    pub share: f64,
}

/// One family.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FamilyRow {
    /// `service.family` (or the product when a fingerprint has no family).
    pub family: String,
    /// Nodes.
    pub total: u64,
    /// Share of fingerprinted nodes.
    pub share: f64,
    /// Nodes per port column.
    pub by_port: PortMap,
}

/// One product.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductRow {
    /// `service.vendor` (empty when absent).
    pub vendor: String,
    /// `service.product` (empty when absent).
    pub product: String,
    /// Family it is counted under.
    pub family: String,
    /// Nodes.
    pub total: u64,
    /// Share of fingerprinted nodes.
    pub share: f64,
    /// Nodes per port column.
    pub by_port: PortMap,
}

/// 3. Versions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    /// Families shown: the top N by nodes, or the one named by `--family`.
    pub families: Vec<FamilyVersions>,
}

/// Version detail of one family.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FamilyVersions {
    /// Family.
    pub family: String,
    /// Nodes of the family.
    pub nodes: u64,
    /// Nodes with a version.
    pub with_version: u64,
    /// Nodes without a version.
    pub without_version: u64,
    /// Nodes whose version does not parse as a version.
    pub unparsed: u64,
    /// Distinct version strings.
    pub distinct_versions: usize,
    /// Newest version seen.
    pub newest: Option<String>,
    /// Nodes running the newest version (every string equal to it).
    pub newest_count: u64,
    /// Nodes running an older (parsable) version: "the rest".
    pub older_count: u64,
    /// Versions: the top N by nodes (all with `--family`), newest first.
    pub versions: Vec<VersionRow>,
    /// The versions not listed.
    pub other: Option<OtherRow>,
    /// Release lines (first two numbers: `4.92.3` is line `4.92`), newest first.
    pub lines: Vec<LineRow>,
}

/// One version of a family.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    /// Version string as fingerprinted.
    pub version: String,
    /// Nodes.
    pub total: u64,
    /// Share of the family's nodes with a version.
    pub share: f64,
    /// Nodes per port column.
    pub by_port: PortMap,
    /// Nodes at this version or newer (parsable versions only).
    pub at_or_above: Option<u64>,
    /// Nodes older than this version (parsable versions only).
    pub below: Option<u64>,
}

/// One release line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineRow {
    /// `major.minor` (or the unparsable string).
    pub line: String,
    /// Nodes.
    pub total: u64,
    /// Share of the family's nodes with a version.
    pub share: f64,
}

/// 4. Exposure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// CVE records in the database.
    pub cves_in_db: usize,
    /// Fingerprinted nodes with a parsable version.
    pub nodes_with_version: u64,
    /// Nodes in the affected range of at least one CVE.
    pub affected_any: u64,
    /// `affected_any` per port column.
    pub affected_any_by_port: PortMap,
    /// Every CVE of the database, most affected nodes first.
    pub cves: Vec<CveRow>,
}

/// One CVE.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CveRow {
    /// `CVE-YYYY-NNNN`.
    pub id: String,
    /// Products or families it applies to.
    pub products: Vec<String>,
    /// One-line summary.
    pub summary: String,
    /// Nodes in an affected range.
    pub affected: u64,
    /// Nodes per port column.
    pub by_port: PortMap,
    /// Nodes of those products with a parsable version.
    pub assessed: u64,
    /// `affected / assessed`.
    pub share_of_assessed: f64,
    /// Nodes of those products whose version is missing or unparsable.
    pub unversioned: u64,
    /// Affected nodes by version, newest first.
    pub by_version: Vec<KeyCount>,
    /// Affected nodes by country (top N), with a country database.
    pub by_country: Vec<KeyCount>,
    /// Affected nodes by provider (top N), with an ASN database.
    pub by_provider: Vec<KeyCount>,
}

/// A labelled count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyCount {
    /// Label (version, `XA Avalonia`, `AS64500 Example`).
    pub key: String,
    /// Nodes.
    pub count: u64,
}

/// 5. Transport security.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transport {
    /// STARTTLS and TLS figures per port column.
    pub by_port: Vec<TransportPortRow>,
    /// Nodes with a completed TLS handshake.
    pub tls_total: u64,
    /// Negotiated TLS versions; share of `tls_total`.
    pub tls_versions: Vec<NamedRow>,
    /// Cipher suites (top N); share of `tls_total`.
    pub cipher_suites: Vec<NamedRow>,
    /// Cipher suites beyond the top N.
    pub cipher_other: Option<OtherRow>,
    /// Certificate health; share of `tls_total`.
    pub certificates: Vec<NamedRow>,
    /// Leaf issuers (top N); share of nodes with a certificate.
    pub issuers: Vec<NamedRow>,
    /// Issuers beyond the top N.
    pub issuer_other: Option<OtherRow>,
}

/// STARTTLS and TLS on one port column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransportPortRow {
    /// Port column key.
    pub port: String,
    /// Service nodes.
    pub services: u64,
    /// EHLO advertised STARTTLS (`smtp.extensions.starttls`).
    pub starttls_offered: u64,
    /// `STARTTLS` was sent (`smtp.starttls` present).
    pub starttls_attempted: u64,
    /// The `STARTTLS` reply was 220.
    pub starttls_accepted: u64,
    /// A TLS session was established by STARTTLS (`tls.mode` = `starttls`).
    pub starttls_tls: u64,
    /// Implicit TLS (`tls.mode` = `implicit`).
    pub implicit_tls: u64,
    /// Any TLS session (`tls` present).
    pub tls: u64,
    /// Ended `handshake-error` or `tls-version-unsupported`.
    pub tls_failures: u64,
}

/// A named count with port columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedRow {
    /// Name.
    pub name: String,
    /// Nodes.
    pub total: u64,
    /// Share of the table's base.
    pub share: f64,
    /// Nodes per port column.
    pub by_port: PortMap,
}

/// 6. Geography and providers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Geography {
    /// The country database, when given.
    pub country_db: Option<DbInfo>,
    /// The ASN database, when given.
    pub asn_db: Option<DbInfo>,
    /// Countries (top N); share of service nodes.
    pub countries: Vec<CountryRow>,
    /// Countries beyond the top N.
    pub country_other: Option<OtherRow>,
    /// Nodes the country database has no country for.
    pub country_unknown: Option<OtherRow>,
    /// Providers (top N); share of service nodes.
    pub providers: Vec<ProviderRow>,
    /// Providers beyond the top N.
    pub provider_other: Option<OtherRow>,
    /// Nodes the ASN database has no entry for.
    pub provider_unknown: Option<OtherRow>,
}

/// A MaxMind DB file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DbInfo {
    /// Path as given.
    pub path: String,
    /// `database_type` metadata.
    pub database_type: String,
    /// `build_epoch` metadata.
    pub build_epoch: u64,
    /// English description, if any.
    pub description: Option<String>,
}

/// One country.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CountryRow {
    /// ISO 3166-1 alpha-2 code (empty if the database has none).
    pub iso_code: String,
    /// English name (empty if none).
    pub name: String,
    /// Nodes.
    pub total: u64,
    /// Share of service nodes.
    pub share: f64,
    /// Nodes per port column.
    pub by_port: PortMap,
}

/// One provider (autonomous system).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderRow {
    /// AS number.
    pub asn: Option<u32>,
    /// AS organisation.
    pub organization: String,
    /// Nodes.
    pub total: u64,
    /// Share of service nodes.
    pub share: f64,
    /// Nodes per port column.
    pub by_port: PortMap,
}

/// 7. Problems.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Problems {
    /// Service nodes.
    pub services: u64,
    /// Nodes whose grab did not end with `success`.
    pub failures: u64,
    /// Every status (the ten known ones always, then others seen, then
    /// `(missing)`); share of service nodes.
    pub statuses: Vec<NamedRow>,
    /// Malformed input lines (details in `inputs`).
    pub malformed_lines: u64,
}
