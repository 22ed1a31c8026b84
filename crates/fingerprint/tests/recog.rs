//! Acceptance: every XML file of Recog's real database loads, and every
//! `<example>` reproduces its expected attributes.

use smtpsweep_fingerprint::{FingerprintSet, Severity};
use std::path::PathBuf;
use std::sync::OnceLock;

fn recog_dir() -> PathBuf {
    match std::env::var_os("SMTPSWEEP_RECOG_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/recog/xml"),
    }
}

fn load() -> &'static FingerprintSet {
    static SET: OnceLock<FingerprintSet> = OnceLock::new();
    SET.get_or_init(load_uncached)
}

fn load_uncached() -> FingerprintSet {
    let dir = recog_dir();
    assert!(
        dir.is_dir(),
        "Recog XML directory {} not found: set SMTPSWEEP_RECOG_DIR to a Recog checkout's xml/ folder",
        dir.display()
    );
    let mut set = FingerprintSet::new();
    let n = set
        .load_dir(&dir)
        .unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()));
    let expected = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "xml")
        })
        .count();
    assert_eq!(n, expected, "every .xml file must load");
    assert!(n >= 50, "expected Recog's 50 databases, found {n}");
    set
}

#[test]
fn every_recog_example_reproduces_its_attributes() {
    let set = load();
    let report = set.verify();
    let failures: Vec<String> = report.failures().map(|f| f.to_string()).collect();
    let warnings = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    println!(
        "recog: {} databases, {} fingerprints, {} examples, {} passed, {} failures, {} warnings",
        report.databases,
        report.fingerprints,
        report.examples,
        report.examples_passed,
        failures.len(),
        warnings
    );
    assert!(
        report.examples > 7000,
        "too few examples: {}",
        report.examples
    );
    assert!(
        failures.is_empty(),
        "{} of {} examples failed:\n{}",
        failures.len(),
        report.examples,
        failures.join("\n")
    );
    assert_eq!(report.examples_passed, report.examples);
}

#[test]
fn recog_smtp_banner_database_matches_through_the_set() {
    let set = load();
    // A real-world Postfix greeting line, matched through the whole set.
    let m = set
        .match_one("smtp.banner", "mail.example.com ESMTP Postfix (Debian/GNU)")
        .expect("Recog knows Postfix");
    assert_eq!(m.get("service.family"), Some("Postfix"));
    assert_eq!(m.get("fingerprint_db"), Some("smtp.banner"));
    assert_eq!(m.get("service.protocol"), Some("smtp"));
    // Recog's EHLO file has no `matches` attribute: its key is the file name,
    // and `smtp.ehlo` finds it too.
    assert!(set.databases_for("smtp.ehlo").next().is_some());
    assert!(set.databases_for("smtp_ehlo").next().is_some());
}
