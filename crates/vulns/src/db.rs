//! CVE records and range matching.

use crate::version::Version;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A TOML file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnError {
    /// File name or origin.
    pub origin: String,
    /// What is wrong (one line).
    pub message: String,
}

impl fmt::Display for VulnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for VulnError {}

/// Affected versions: `introduced <= v`, and `v < fixed` or
/// `v <= last_affected`. A missing bound is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// First affected version (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<Version>,
    /// First fixed version (exclusive upper bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Version>,
    /// Last affected version (inclusive upper bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<Version>,
}

impl Range {
    /// Whether `v` falls in this range.
    pub fn contains(&self, v: &Version) -> bool {
        self.introduced.as_ref().is_none_or(|i| v >= i)
            && self.fixed.as_ref().is_none_or(|f| v < f)
            && self.last_affected.as_ref().is_none_or(|l| v <= l)
    }
}

/// One CVE record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cve {
    /// `CVE-YYYY-NNNN`.
    pub id: String,
    /// Products or families it applies to (case-insensitive).
    pub products: Vec<String>,
    /// One-line summary.
    pub summary: String,
    /// Affected version ranges (any of them).
    pub ranges: Vec<Range>,
}

impl Cve {
    /// Whether this record applies to `product` at version `v`.
    pub fn affects(&self, product: &str, v: &Version) -> bool {
        self.products
            .iter()
            .any(|p| p.eq_ignore_ascii_case(product.trim()))
            && self.ranges.iter().any(|r| r.contains(v))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    cve: Vec<Cve>,
}

/// A set of CVE records.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VulnDb {
    cves: Vec<Cve>,
}

/// The embedded data file.
pub const BUILTIN_TOML: &str = include_str!("../data/cves.toml");

impl VulnDb {
    /// The project's embedded `data/cves.toml`.
    pub fn builtin() -> VulnDb {
        match VulnDb::from_toml(BUILTIN_TOML, "cves.toml") {
            Ok(db) => db,
            Err(e) => panic!("embedded CVE data is broken: {e}"),
        }
    }

    /// Parse and check a TOML document; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<VulnDb, VulnError> {
        let err = |message: String| VulnError {
            origin: origin.to_string(),
            message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        let file: File = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        for c in &file.cve {
            let valid_id = c.id.strip_prefix("CVE-").is_some_and(|r| {
                let mut it = r.splitn(2, '-');
                let year = it.next().unwrap_or("");
                let num = it.next().unwrap_or("");
                year.len() == 4
                    && year.bytes().all(|b| b.is_ascii_digit())
                    && num.len() >= 4
                    && num.bytes().all(|b| b.is_ascii_digit())
            });
            if !valid_id {
                return Err(err(format!("{:?} is not a CVE id", c.id)));
            }
            if c.summary.trim().is_empty() || c.summary.contains('\n') {
                return Err(err(format!("{}: summary must be one non-empty line", c.id)));
            }
            if c.products.is_empty() || c.ranges.is_empty() {
                return Err(err(format!(
                    "{}: needs at least one product and one range",
                    c.id
                )));
            }
            for r in &c.ranges {
                if r.fixed.is_some() && r.last_affected.is_some() {
                    return Err(err(format!(
                        "{}: a range has both fixed and last_affected",
                        c.id
                    )));
                }
                if let (Some(i), Some(f)) = (&r.introduced, &r.fixed) {
                    if i >= f {
                        return Err(err(format!("{}: empty range {i}..{f}", c.id)));
                    }
                }
            }
        }
        Ok(VulnDb { cves: file.cve })
    }

    /// All records.
    pub fn cves(&self) -> &[Cve] {
        &self.cves
    }

    /// CVEs whose ranges contain `version` for `product_or_family`
    /// (e.g. the fingerprint's `service.family`). An unparsable version
    /// yields nothing.
    pub fn cves_for(&self, product_or_family: &str, version: &str) -> Vec<&Cve> {
        match Version::parse(version) {
            Ok(v) => self.cves_for_version(product_or_family, &v),
            Err(_) => Vec::new(),
        }
    }

    /// Like [`cves_for`](Self::cves_for) with a parsed version.
    pub fn cves_for_version(&self, product_or_family: &str, v: &Version) -> Vec<&Cve> {
        self.cves
            .iter()
            .filter(|c| c.affects(product_or_family, v))
            .collect()
    }
}
