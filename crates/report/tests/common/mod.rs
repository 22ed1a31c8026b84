//! Shared helpers: temporary directories and the MaxMind databases the
//! geography tests use (fictional countries and providers in 198.18.0.0/24).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use smtpsweep_mmdb::{MmdbWriter, asn_record, country_record};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "smtpsweep-report-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Country of 198.18.0.x as the test database says: (iso, name), or None.
pub fn country_of_octet(x: u8) -> Option<(&'static str, &'static str)> {
    match x {
        0..=127 => Some(("XA", "Avalonia")),
        128..=191 => Some(("XB", "Brobdingnag")),
        192..=223 => Some(("XC", "Cockaigne")),
        _ => None,
    }
}

/// Provider of 198.18.0.x: (asn, organisation).
pub fn provider_of_octet(x: u8) -> (u32, &'static str) {
    match x {
        0..=63 => (64501, "Fictional Cloud"),
        64..=127 => (64500, "Example Hosting"),
        _ => (64502, "Imaginary Telecom"),
    }
}

/// Write the country and ASN databases matching the two functions above.
/// Broad prefixes first, exceptions after (the writer's later-wins rule).
pub fn write_geo_dbs(dir: &Path) -> (PathBuf, PathBuf) {
    let mut c = MmdbWriter::new("GeoLite2-Country").description("en", "smtpsweep test countries");
    c.insert_cidr("198.18.0.0/25", country_record("XA", "Avalonia"))
        .unwrap();
    c.insert_cidr("198.18.0.128/26", country_record("XB", "Brobdingnag"))
        .unwrap();
    c.insert_cidr("198.18.0.192/27", country_record("XC", "Cockaigne"))
        .unwrap();
    let mut a = MmdbWriter::new("GeoLite2-ASN").record_size(24).unwrap();
    a.insert_cidr("198.18.0.0/24", asn_record(64502, "Imaginary Telecom"))
        .unwrap();
    a.insert_cidr("198.18.0.0/25", asn_record(64500, "Example Hosting"))
        .unwrap();
    a.insert_cidr("198.18.0.0/26", asn_record(64501, "Fictional Cloud"))
        .unwrap();
    let cp = dir.join("country.mmdb");
    let ap = dir.join("asn.mmdb");
    std::fs::write(&cp, c.to_bytes().unwrap()).unwrap();
    std::fs::write(&ap, a.to_bytes().unwrap()).unwrap();
    (cp, ap)
}
