//! Bad input gives a clear one-line error naming the file and fingerprint.

use smtpsweep_fingerprint::{FingerprintSet, LoadError};

fn load(xml: &str) -> LoadError {
    let mut set = FingerprintSet::new();
    let err = set.add_xml(xml, "custom.xml").expect_err("must fail");
    assert_eq!(set.fingerprint_count(), 0, "nothing is added on error");
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "error must be one line: {msg}");
    assert!(
        msg.starts_with("custom.xml:"),
        "error must name the file: {msg}"
    );
    err
}

fn fp(pattern: &str, inner: &str) -> String {
    format!(
        "<fingerprints matches=\"t\">\n  <fingerprint pattern=\"{pattern}\">\n    <description>My FP</description>\n{inner}\n  </fingerprint>\n</fingerprints>\n"
    )
}

#[test]
fn unclosed_tag() {
    let e = load(
        "<fingerprints matches=\"t\">\n  <fingerprint pattern=\"^a$\">\n    <description>x</description>\n",
    );
    let m = e.to_string();
    assert!(m.contains("not closed"), "{m}");
    assert!(matches!(e, LoadError::Xml { line: 2, .. }), "{e:?}");
}

#[test]
fn mismatched_end_tag() {
    let m = load("<fingerprints>\n<fingerprint pattern=\"a\"><description>x</descriptio></fingerprint></fingerprints>").to_string();
    assert!(m.contains("custom.xml:2:"), "{m}");
}

#[test]
fn not_xml_at_all() {
    let m = load("this is not xml").to_string();
    assert!(m.contains("invalid XML"), "{m}");
    let m = load("<other/>").to_string();
    assert!(m.contains("expected <fingerprints>"), "{m}");
    let m = load("<fingerprints><fingerprint pattern=\"&bogus;\"/></fingerprints>").to_string();
    assert!(m.contains("custom.xml:1"), "{m}");
}

#[test]
fn bad_regex_names_fingerprint() {
    let e = load(&fp("^(unclosed$", ""));
    let m = e.to_string();
    assert!(m.contains("fingerprint \"My FP\""), "{m}");
    assert!(m.contains("bad regex"), "{m}");
    assert!(matches!(e, LoadError::Fingerprint { line: 2, .. }), "{e:?}");
    let m = load(&fp("a(?=b)", "")).to_string();
    assert!(m.contains("look-ahead is not supported"), "{m}");
    let m = load(&fp("(a)\\1", "")).to_string();
    assert!(m.contains("back-reference"), "{m}");
}

#[test]
fn param_pos_without_group() {
    let m = load(&fp(
        "^v(\\d+)$",
        "    <param pos=\"2\" name=\"service.version\"/>",
    ))
    .to_string();
    assert!(m.contains("fingerprint \"My FP\""), "{m}");
    assert!(
        m.contains("pos 2") && m.contains("only 1 capture group"),
        "{m}"
    );
}

#[test]
fn bad_base64_example() {
    let m = load(&fp(
        "^a$",
        "    <example _encoding=\"base64\">YW*=</example>",
    ))
    .to_string();
    assert!(m.contains("fingerprint \"My FP\""), "{m}");
    assert!(m.contains("invalid base64"), "{m}");
}

#[test]
fn bad_flags_and_numbers() {
    let m = load(&fp("^a$", "").replace("pattern=", "flags=\"REG_BOGUS\" pattern=")).to_string();
    assert!(m.contains("unsupported regex flag"), "{m}");
    let m = load("<fingerprints preference=\"high\"></fingerprints>").to_string();
    assert!(m.contains("preference"), "{m}");
    let m = load("<fingerprints><fingerprint><description>no pattern</description></fingerprint></fingerprints>").to_string();
    assert!(m.contains("missing pattern"), "{m}");
}

#[test]
fn load_dir_errors_are_clean() {
    let mut set = FingerprintSet::new();
    let e = set
        .load_dir(std::path::Path::new("/nonexistent/recog/xml"))
        .unwrap_err();
    assert!(matches!(e, LoadError::Io { .. }));
    assert!(e.to_string().starts_with("/nonexistent/recog/xml: "), "{e}");
}

#[test]
fn garbage_never_panics() {
    // Truncations of a valid document at every byte must error or load, never panic.
    let doc = fp(
        "^([^ ]+) ESMTP (\\d+)$",
        "    <example host.name=\"h\">h ESMTP 1</example>\n    <param pos=\"1\" name=\"host.name\"/>",
    );
    for cut in 0..doc.len() {
        if !doc.is_char_boundary(cut) {
            continue;
        }
        let mut set = FingerprintSet::new();
        let _ = set.add_xml(&doc[..cut], "cut.xml");
    }
    for p in [
        "[",
        "(",
        "\\",
        "*a",
        "a{2,1}",
        "[z-a]",
        "(?<n",
        "(?",
        "\\x{zz}",
        "\\p{Bogus}",
    ] {
        let mut set = FingerprintSet::new();
        let r = set.add_xml(&fp(p, ""), "p.xml");
        assert!(r.is_err(), "pattern {p:?} should be rejected");
    }
}
