use smtpsweep_vulns::{Version, VulnDb};

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn orders_real_world_version_strings() {
    // Strictly increasing.
    let chain = [
        "3.7.11",
        "4.87",
        "4.89",
        "4.89_1",
        "4.89.1",
        "4.90_RC1",
        "4.90_RC3",
        "4.90",
        "4.91",
        "4.92_RC5",
        "4.92",
        "4.92.1",
        "4.92.2",
        "4.92.3",
        "4.94",
        "4.94.2",
        "4.97.1",
        "6.6.1",
        "6.6.1p1",
        "6.6.2",
        "6.6.2p1",
        "8.14.4/8.14.4",
        "8.15.2",
        "8.18.1",
        "9.0.1",
        "9.0.1FP8",
        "9.0.1FP10",
        "10.0.17763.1",
    ];
    for w in chain.windows(2) {
        assert!(v(w[0]) < v(w[1]), "{} < {}", w[0], w[1]);
        assert!(v(w[1]) > v(w[0]), "{} > {}", w[1], w[0]);
    }
    assert_eq!(v("4.92"), v("4.92.0"));
    assert_eq!(v("8.14.4/8.14.4"), v("8.14.4"));
    assert_eq!(v("v2.8.28"), v("2.8.28"));
    assert!(v("4.90_RC3").is_prerelease());
    assert!(!v("4.89_1").is_prerelease());
    assert_eq!(v("8.14.4/8.14.4").to_string(), "8.14.4/8.14.4");
    assert!(Version::parse("Postfix").is_err());
    assert!(Version::parse("").is_err());
    let mut sorted: Vec<Version> = ["4.92.2", "4.89_1", "4.92", "4.90_RC3"]
        .iter()
        .map(|s| v(s))
        .collect();
    sorted.sort();
    let names: Vec<String> = sorted.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["4.89_1", "4.90_RC3", "4.92", "4.92.2"]);
}

fn ids(db: &VulnDb, product: &str, version: &str) -> Vec<String> {
    db.cves_for(product, version)
        .iter()
        .map(|c| c.id.clone())
        .collect()
}

#[test]
fn exim_ranges_including_suffix_forms() {
    let db = VulnDb::builtin();
    let wizard = "CVE-2019-10149".to_string();
    let sni = "CVE-2019-15846".to_string();
    for ver in [
        "4.87", "4.88", "4.89", "4.89_1", "4.90_RC3", "4.90", "4.91", "4.91_2",
    ] {
        assert!(
            ids(&db, "exim", ver).contains(&wizard),
            "{ver} must have CVE-2019-10149"
        );
    }
    for ver in ["4.86", "4.86.2", "4.92", "4.92.2", "4.94.2"] {
        assert!(!ids(&db, "exim", ver).contains(&wizard), "{ver}");
    }
    // A 4.92 release candidate predates the fix.
    assert!(ids(&db, "exim", "4.92_RC1").contains(&wizard));
    assert!(ids(&db, "exim", "4.92.1").contains(&sni));
    assert!(
        ids(&db, "Exim", "4.92").contains(&sni),
        "product match ignores case"
    );
    assert!(!ids(&db, "exim", "4.92.2").contains(&sni));
    // 21Nails: everything below 4.94.2.
    let nails: Vec<String> = (28017..=28026)
        .map(|n| format!("CVE-2020-{n}"))
        .chain(["CVE-2021-27216".to_string()])
        .collect();
    let at_494 = ids(&db, "exim", "4.94");
    let at_4921 = ids(&db, "exim", "4.92.1");
    for id in &nails {
        if id == "CVE-2020-28020" {
            assert!(!at_494.contains(id), "28020 was fixed in 4.92");
            assert!(ids(&db, "exim", "4.91").contains(id));
        } else {
            assert!(at_494.contains(id), "4.94 must have {id}");
            assert!(at_4921.contains(id), "4.92.1 must have {id}");
        }
    }
    let fixed = ids(&db, "exim", "4.94.2");
    assert!(nails.iter().all(|id| !fixed.contains(id)), "{fixed:?}");
    // Smuggling fixed in 4.97.1.
    assert!(fixed.contains(&"CVE-2023-51766".to_string()));
    assert!(ids(&db, "exim", "4.97.1").is_empty());
    assert!(ids(&db, "exim", "not a version").is_empty());
}

#[test]
fn opensmtpd_postfix_sendmail() {
    let db = VulnDb::builtin();
    let rce = "CVE-2020-7247".to_string();
    assert!(!ids(&db, "OpenSMTPD", "6.3.0").contains(&rce));
    for ver in ["6.4.0", "6.4.2", "6.6.0", "6.6.1", "6.6.1p1"] {
        assert!(ids(&db, "opensmtpd", ver).contains(&rce), "{ver}");
    }
    assert!(!ids(&db, "OpenSMTPD", "6.6.2").contains(&rce));
    assert!(!ids(&db, "OpenSMTPD", "6.6.2p1").contains(&rce));

    let pf = "CVE-2023-51764".to_string();
    for ver in ["2.10.1", "3.4.13", "3.5.23", "3.6.13", "3.7.9", "3.8.4"] {
        assert!(ids(&db, "Postfix", ver).contains(&pf), "{ver}");
    }
    for ver in ["3.5.24", "3.6.14", "3.7.10", "3.8.5", "3.9.0"] {
        assert!(!ids(&db, "Postfix", ver).contains(&pf), "{ver}");
    }
    assert_eq!(ids(&db, "Sendmail", "8.14.4/8.14.4"), ["CVE-2023-51765"]);
    assert!(ids(&db, "Sendmail", "8.18.1").is_empty());
    assert!(ids(&db, "Exchange Server", "2007").is_empty());
}

#[test]
fn bad_toml_is_a_one_line_error() {
    for (doc, needle) in [
        (
            "[[cve]]\nid = \"CVE-2020-1\"\nproducts=[\"x\"]\nsummary=\"s\"\nranges=[{fixed=\"1\"}]",
            "not a CVE id",
        ),
        (
            "[[cve]]\nid = \"CVE-2020-1234\"\nproducts=[\"x\"]\nsummary=\"s\"\nranges=[{fixed=\"abc\"}]",
            "not a version",
        ),
        (
            "[[cve]]\nid = \"CVE-2020-1234\"\nproducts=[\"x\"]\nsummary=\"s\"\nranges=[{introduced=\"2\", fixed=\"1\"}]",
            "empty range",
        ),
        (
            "[[cve]]\nid = \"CVE-2020-1234\"\nproducts=[\"x\"]\nsummary=\"s\"\nranges=[]",
            "at least one",
        ),
        (
            "[[cve]]\nid = \"CVE-2020-1234\"\nproducts=[\"x\"]\nsummary=\"s\"\nranges=[{fixd=\"1\"}]",
            "unknown field",
        ),
        ("[[cve]\n", "cves.toml"),
    ] {
        let e = VulnDb::from_toml(doc, "my.toml").unwrap_err().to_string();
        assert!(e.starts_with("my.toml: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(
            e.contains(needle) || needle == "cves.toml",
            "{e} lacks {needle}"
        );
    }
    let ok = VulnDb::from_toml(
        "[[cve]]\nid = \"CVE-2024-0001\"\nproducts=[\"demo\"]\nsummary=\"s\"\nranges=[{last_affected=\"1.2\"}]",
        "ok.toml",
    )
    .unwrap();
    assert_eq!(ok.cves_for("demo", "1.2").len(), 1);
    assert!(ok.cves_for("demo", "1.2.1").is_empty());
    let json = serde_json::to_string(ok.cves()).unwrap();
    assert!(json.contains("\"last_affected\":\"1.2\""), "{json}");
}
