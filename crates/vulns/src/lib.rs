//! Versions of SMTP software and the CVEs they are exposed to.
//!
//! - [`Version`]: parses and orders the version strings SMTP banners show
//!   (`4.92`, `4.92.2`, `4.89_1`, `4.90_RC3`, `8.14.4/8.14.4`, `6.6.1p1`,
//!   `9.0.1FP10`, ...).
//! - [`VulnDb`]: CVE records loaded from TOML. [`VulnDb::builtin`] embeds the
//!   project's `data/cves.toml`; [`VulnDb::from_toml`] reads another file (the
//!   CLI's `--vulns FILE`).
//!
//! **Banner versions miss distribution backports.** Debian, Ubuntu, Red Hat
//! and others patch security holes without changing the upstream version
//! number a server announces, so a host reporting Exim 4.89 may well be fixed.
//! Any count made from banners with this crate is an upper bound of real
//! exposure, exactly like the NICER study's.
//!
//! ```
//! use smtpsweep_vulns::{Version, VulnDb};
//! assert!(Version::parse("4.90_RC3").unwrap() < Version::parse("4.90").unwrap());
//! let db = VulnDb::builtin();
//! let ids: Vec<&str> = db.cves_for("exim", "4.89").iter().map(|c| c.id.as_str()).collect();
//! assert!(ids.contains(&"CVE-2019-10149"));
//! ```

mod db;
mod version;

pub use db::{Cve, Range, VulnDb, VulnError};
pub use version::{Version, VersionError};
