//! The exposure report: NICER-style tables and charts from `smtpsweep
//! sweep`/`grab` JSON Lines.
//!
//! 1. [`Aggregator`] streams records from any number of files (plain or
//!    gzip), counts each distinct (address, port) once, and keeps one counter
//!    vector per distinct group (family/product/version, status, TLS version,
//!    cipher suite, issuer, country, provider), so memory does not grow with
//!    the number of records; see the [`agg`] module for the per-service cost.
//!    Lines that do not parse are counted and listed with file and line.
//! 2. [`Aggregator::finish`] builds the [`Report`]: seven sections of tables
//!    (discovery, fingerprinting, versions, exposure, transport security,
//!    geography and providers, problems), all plain data (serde).
//! 3. Renderers: [`render_markdown`], [`render_html`] (self-contained, inline
//!    SVG charts), [`render_json`], [`write_csv`] (one file per table) and
//!    [`write_charts`] (SVG, and PNG when a TrueType font is found).
//!
//! Throughput: about 600,000 records (1.5 GB) a second on one core, memory
//! a few tens of MB plus about 11–21 bytes per distinct service; see the
//! [`agg`] module for how, and for what malformed input is no longer
//! detected inside the parts of a record the report never reads.
//!
//! CVE exposure is computed from the [`VulnDb`] given (the built-in one or a
//! `--vulns` file) against each record's fingerprinted family/product and
//! version; the `cves` list inside records is not used, so the report always
//! matches the database it names. Banner versions miss distribution
//! backports: exposure counts are upper bounds.
//!
//! ```
//! use smtpsweep_report::{Aggregator, ReportConfig, render_markdown};
//! use smtpsweep_vulns::VulnDb;
//! let mut agg = Aggregator::new(ReportConfig::default(), VulnDb::builtin()).unwrap();
//! let data = r#"{"ip":"198.18.0.10","port":25,"status":"success","smtp":{"banner_code":220},"fingerprint":{"family":"exim","product":"Exim","version":"4.89"}}"#;
//! agg.add_reader("example.jsonl", data.as_bytes());
//! let report = agg.finish();
//! assert_eq!(report.discovery.services, 1);
//! assert!(report.exposure.cves.iter().any(|c| c.id == "CVE-2019-10149" && c.affected == 1));
//! assert!(render_markdown(&report).contains("## 4. Exposure"));
//! ```

pub mod agg;
mod build;
mod charts;
mod fasthash;
pub mod fixture;
mod geo;
mod meta;
pub mod model;
mod parse;
mod render;
mod structural;
mod tables;

use std::fmt;
use std::path::{Path, PathBuf};

pub use agg::Aggregator;
pub use charts::{Bar, Chart, ChartFiles, chart_png, chart_svg, charts, load_font, write_charts};
pub use fixture::generate_fixture;
pub use model::Report;
pub use render::{render_html, render_json, render_markdown, write_csv};
pub use smtpsweep_vulns::VulnDb;
pub use tables::{Cell, SECTIONS, Table, tables};

/// What to report on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportConfig {
    /// Rows kept in ranked tables (families, products, versions, cipher
    /// suites, issuers, countries, providers); the rest are one "other" row.
    pub top: usize,
    /// Version detail for this family only (case-insensitive), all versions.
    pub family: Option<String>,
    /// Only records on this port.
    pub port: Option<u16>,
    /// A MaxMind DB with `country.iso_code` / `country.names.en`.
    pub country_db: Option<PathBuf>,
    /// A MaxMind DB with `autonomous_system_number` / `autonomous_system_organization`.
    pub asn_db: Option<PathBuf>,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            top: 10,
            family: None,
            port: None,
            country_db: None,
            asn_db: None,
        }
    }
}

/// An error that stops the report (one line). Malformed records are not
/// errors: they are counted in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// An input or metadata file could not be opened or read.
    Open {
        /// Path.
        path: String,
        /// Cause.
        message: String,
    },
    /// A scan metadata file is not valid JSON of the expected shape.
    Metadata {
        /// Path.
        path: String,
        /// Cause.
        message: String,
    },
    /// A MaxMind DB could not be opened.
    GeoDb {
        /// Path.
        path: String,
        /// Cause.
        message: String,
    },
    /// An output file could not be written.
    Write {
        /// Path.
        path: String,
        /// Cause.
        message: String,
    },
    /// A chart could not be drawn.
    Chart(String),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        match self {
            ReportError::Open { path, message } => write!(f, "{path}: {}", one(message)),
            ReportError::Metadata { path, message } => {
                write!(f, "{path}: not scan metadata: {}", one(message))
            }
            ReportError::GeoDb { path, message } => {
                write!(f, "{path}: not a readable MaxMind DB: {}", one(message))
            }
            ReportError::Write { path, message } => {
                write!(f, "{path}: cannot write: {}", one(message))
            }
            ReportError::Chart(m) => write!(f, "chart: {}", one(m)),
        }
    }
}

impl std::error::Error for ReportError {}

/// Read every input and metadata file and build the report.
pub fn build_report(
    config: ReportConfig,
    vulns: VulnDb,
    inputs: &[PathBuf],
    metadata: &[PathBuf],
) -> Result<Report, ReportError> {
    let mut agg = Aggregator::new(config, vulns)?;
    for m in metadata {
        agg.add_metadata_file(m)?;
    }
    for p in inputs {
        agg.add_file(p)?;
    }
    Ok(agg.finish())
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    std::fs::write(path, bytes).map_err(|e| ReportError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}
