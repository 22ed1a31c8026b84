//! Recog matching semantics on small hand-written databases.

use smtpsweep_fingerprint::{FingerprintSet, Source};

fn set(xml: &str) -> FingerprintSet {
    let mut s = FingerprintSet::new();
    s.add_xml(xml, "t.xml").unwrap_or_else(|e| panic!("{e}"));
    s
}

#[test]
fn interpolation_tmp_keys_and_cpe_dash() {
    let s = set(r#"<fingerprints matches="k" protocol="SMTP">
      <fingerprint pattern="^(\w+) server(?: v([\d.]+))?$">
        <description>Demo</description>
        <param pos="1" name="_tmp.name"/>
        <param pos="2" name="service.version"/>
        <param pos="0" name="service.product" value="{_tmp.name} Server"/>
        <param pos="0" name="service.cpe23" value="cpe:/a:demo:{_tmp.name}:{service.version}"/>
      </fingerprint></fingerprints>"#);
    let m = s.match_one("k", "acme server v1.2").unwrap();
    assert_eq!(m.get("service.product"), Some("acme Server"));
    assert_eq!(m.get("service.cpe23"), Some("cpe:/a:demo:acme:1.2"));
    assert_eq!(m.get("_tmp.name"), None);
    assert_eq!(m.get("service.protocol"), Some("smtp"));
    assert_eq!(m.get("fingerprint_db"), Some("k"));
    assert_eq!(m.fingerprint.as_ref(), "Demo");
    let m = s.match_one("k", "acme server").unwrap();
    assert_eq!(m.get("service.cpe23"), Some("cpe:/a:demo:acme:-"));
    assert_eq!(m.get("service.version"), None);
}

#[test]
fn ruby_anchors_flags_and_dot() {
    let s = set(r#"<fingerprints matches="k">
      <fingerprint pattern="^second line$"><description>line anchors</description></fingerprint>
      <fingerprint pattern="alpha.beta" flags="REG_DOT_NEWLINE"><description>dotall</description></fingerprint>
      <fingerprint pattern="(?m:gamma.delta)"><description>ruby m</description></fingerprint>
      <fingerprint pattern="hello world" flags="REG_ICASE"><description>icase</description></fingerprint>
      <fingerprint pattern="^\h{4}-(?&lt;rest&gt;\w+)\Z"><description>hex and named</description>
        <param pos="1" name="rest"/></fingerprint>
    </fingerprints>"#);
    assert_eq!(
        s.match_one("k", "first\nsecond line\nthird")
            .unwrap()
            .fingerprint
            .as_ref(),
        "line anchors"
    );
    assert_eq!(
        s.match_one("k", "alpha\nbeta")
            .unwrap()
            .fingerprint
            .as_ref(),
        "dotall"
    );
    assert_eq!(
        s.match_one("k", "gamma\ndelta")
            .unwrap()
            .fingerprint
            .as_ref(),
        "ruby m"
    );
    assert_eq!(
        s.match_one("k", "HeLLo WoRLD")
            .unwrap()
            .fingerprint
            .as_ref(),
        "icase"
    );
    let m = s.match_one("k", "beef-cafe\n").unwrap();
    assert_eq!(m.get("rest"), Some("cafe"));
    assert!(s.match_one("k", "alphabet").is_none());
}

#[test]
fn first_match_wins_and_user_databases_win_ties() {
    let mut s = FingerprintSet::try_builtin().unwrap();
    let before = s
        .match_one("smtp.banner", "mx.example.org ESMTP Postfix")
        .unwrap();
    assert_eq!(before.origin.as_ref(), "smtp_banners.xml");
    s.add_xml(
        r#"<fingerprints matches="smtp.banner" preference="0.20">
          <fingerprint pattern="^(\S+) ESMTP Postfix$"><description>user postfix</description></fingerprint>
          <fingerprint pattern="Postfix"><description>never reached</description></fingerprint>
        </fingerprints>"#,
        "mine.xml",
    )
    .unwrap();
    let m = s
        .match_one("smtp.banner", "mx.example.org ESMTP Postfix")
        .unwrap();
    assert_eq!(m.fingerprint.as_ref(), "user postfix");
    assert_eq!(m.origin.as_ref(), "mine.xml");
    assert_eq!(
        s.match_all("smtp.banner", "mx.example.org ESMTP Postfix")
            .len(),
        3
    );
    let sources: Vec<Source> = s.databases_for("smtp.banner").map(|d| d.source).collect();
    assert_eq!(sources, [Source::User, Source::Builtin]);
    // A user database with a lower preference runs after ours.
    s.add_xml(
        r#"<fingerprints matches="smtp.banner" preference="0.05">
          <fingerprint pattern="Exim"><description>late</description></fingerprint>
        </fingerprints>"#,
        "late.xml",
    )
    .unwrap();
    let m = s.match_one("smtp.banner", "h ESMTP Exim 4.92").unwrap();
    assert_eq!(m.origin.as_ref(), "smtp_banners.xml");
}

#[test]
fn prefilter_does_not_change_results() {
    // Fingerprints without a usable literal run on every input, in order.
    let s = set(r#"<fingerprints matches="k">
      <fingerprint pattern="^(\d+)$"><description>digits</description><param pos="1" name="n"/></fingerprint>
      <fingerprint pattern="banner ONE"><description>one</description></fingerprint>
      <fingerprint pattern="^.{3}$"><description>three chars</description></fingerprint>
      <fingerprint pattern="(?i)banner (?:one|two)"><description>one or two</description></fingerprint>
    </fingerprints>"#);
    assert_eq!(
        s.match_one("k", "123").unwrap().fingerprint.as_ref(),
        "digits"
    );
    assert_eq!(
        s.match_one("k", "abc").unwrap().fingerprint.as_ref(),
        "three chars"
    );
    assert_eq!(
        s.match_one("k", "a BANNER one")
            .unwrap()
            .fingerprint
            .as_ref(),
        "one or two"
    );
    assert_eq!(
        s.match_one("k", "a banner ONE")
            .unwrap()
            .fingerprint
            .as_ref(),
        "one"
    );
    assert!(s.match_one("k", "nothing here").is_none());
    // Binary input is fine.
    assert!(s.match_one_bytes("k", b"\xff\xfe").is_none());
}

#[test]
fn example_attributes_are_checked_by_verify() {
    let s = set(r#"<fingerprints matches="k">
      <fingerprint pattern="^v(\d+)$"><description>ver</description>
        <example service.version="2">v2</example>
        <example service.version="3">v2</example>
        <example>nomatch</example>
        <param pos="1" name="service.version"/>
      </fingerprint>
      <fingerprint pattern="^x$"><description>no examples</description></fingerprint>
      <fingerprint pattern="^y(\d)$"><description>untested capture</description>
        <example>y1</example><param pos="1" name="y.digit"/></fingerprint>
      <fingerprint pattern="^z$"><description>b64</description>
        <example _encoding="base64">eg==</example></fingerprint>
    </fingerprints>"#);
    let r = s.verify();
    let fails: Vec<String> = r.failures().map(|f| f.to_string()).collect();
    assert_eq!(r.examples, 5);
    assert_eq!(r.examples_passed, 3, "{fails:?}");
    assert_eq!(fails.len(), 3, "{fails:?}");
    assert!(
        fails[0].contains("expected service.version=\"3\", got \"2\""),
        "{}",
        fails[0]
    );
    assert!(fails[1].contains("does not match"), "{}", fails[1]);
    assert!(
        fails[2].contains("no example checks the capture-group param \"y.digit\""),
        "{}",
        fails[2]
    );
    assert!(
        fails[0].starts_with("FAIL: t.xml:4: fingerprint \"ver\": example \"v2\""),
        "{}",
        fails[0]
    );
    assert_eq!(
        r.findings.len(),
        4,
        "one warning for the fingerprint without examples"
    );
}
