//! Our own embedded SMTP database: it verifies, and covers the families the
//! project reports on with at least two examples each.

use smtpsweep_fingerprint::{ExampleText, FingerprintSet, SmtpInput};
use std::collections::BTreeMap;

#[test]
fn builtin_database_verifies() {
    let set = FingerprintSet::builtin();
    let report = set.verify();
    let findings: Vec<String> = report.findings.iter().map(|f| f.to_string()).collect();
    assert!(findings.is_empty(), "{}", findings.join("\n"));
    assert_eq!(report.examples, report.examples_passed);
    assert!(report.examples >= 60, "only {} examples", report.examples);
}

/// Every family named in the issue, as (vendor, family) spelled in our files.
const FAMILIES: &[(&str, &str)] = &[
    ("Postfix", "Postfix"),
    ("exim", "exim"),
    ("Microsoft", "Exchange Server"),
    ("Microsoft", "Exchange Online"),
    ("Microsoft", "IIS"),
    ("Sendmail", "Sendmail"),
    ("Alt-N", "MDaemon"),
    ("Ecelerity", "Ecelerity Mail Server"),
    ("Ipswitch", "IMail Server"),
    ("IBM", "{_tmp.brand} Domino"),
    ("HCL", "HCL Domino"),
    ("OpenBSD", "OpenSMTPD"),
    ("Double Precision", "Courier"),
    ("qmail", "qmail"),
    ("Synacor", "Zimbra"),
    ("Kerio", "Connect"),
    ("hMailServer", "hMailServer"),
    ("Haraka", "Haraka"),
    ("MailEnable", "Mail Server"),
    ("ArGoSoft", "Mail Server"),
    ("SmarterTools", "SmarterMail"),
    ("Communigate", "Pro"),
    ("Axigen", "Axigen"),
    ("port25", "PowerMTA"),
    ("Cisco", "IronPort"),
    ("Barracuda", "Email Security Gateway"),
    ("Proofpoint", "Proofpoint"),
    ("Sophos", "Sophos Email"),
    ("Fortinet", "FortiMail"),
    ("Trend Micro", "InterScan"),
    ("Google", "Gmail"),
    ("Microsoft", "Microsoft 365"),
];

#[test]
fn every_family_has_at_least_two_examples() {
    let set = FingerprintSet::builtin();
    let mut count: BTreeMap<(String, String), usize> = BTreeMap::new();
    for db in set.databases() {
        for fp in &db.fingerprints {
            let get = |k: &str| {
                fp.params
                    .iter()
                    .find(|p| &*p.name == k)
                    .map(|p| p.value.to_string())
                    .unwrap_or_default()
            };
            *count
                .entry((get("service.vendor"), get("service.family")))
                .or_default() += fp.examples.len();
        }
    }
    let mut missing = Vec::new();
    for (v, f) in FAMILIES {
        let n = count
            .get(&(v.to_string(), f.to_string()))
            .copied()
            .unwrap_or(0);
        if n < 2 {
            missing.push(format!("{v}/{f}: {n} examples"));
        }
    }
    assert!(
        missing.is_empty(),
        "families short of examples: {missing:?}"
    );
}

#[test]
fn examples_are_matched_by_their_own_fingerprint_through_the_set() {
    // First-match-wins must not let an earlier, more generic fingerprint steal
    // another fingerprint's example.
    let set = FingerprintSet::builtin();
    let mut stolen = Vec::new();
    for db in set.databases() {
        for fp in &db.fingerprints {
            for ex in &fp.examples {
                let ExampleText::Bytes(b) = &ex.text else {
                    continue;
                };
                let text = String::from_utf8_lossy(b);
                match set.match_one(&db.matches, &text) {
                    Some(m) if m.line == fp.line => {}
                    other => stolen.push(format!(
                        "{}:{} {:?} -> {:?}",
                        db.origin,
                        ex.line,
                        text,
                        other.map(|m| m.fingerprint)
                    )),
                }
            }
        }
    }
    assert!(stolen.is_empty(), "{}", stolen.join("\n"));
}

#[test]
fn smtp_record_merges_banner_and_ehlo() {
    let set = FingerprintSet::builtin();
    let input = SmtpInput {
        banner: Some(
            "220 exchange.example.org Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready at  Wed, 21 Jul 2010 19:04:24 -0700\r\n"
                .into(),
        ),
        ehlo: Some(
            "250-exchange.example.org Hello [192.0.2.7]\r\n250-TURN\r\n250-SIZE\r\n250-X-LINK2STATE\r\n250-XEXCH50\r\n250 OK\r\n"
                .into(),
        ),
        ..SmtpInput::default()
    };
    let fp = set.match_smtp(&input);
    assert_eq!(fp.matches.len(), 2);
    // The EHLO evidence (certainty 0.95) beats the IIS reading of the banner (0.8).
    assert_eq!(fp.family.as_deref(), Some("Exchange Server"));
    assert_eq!(fp.version, None);
    assert_eq!(fp.os_product.as_deref(), Some("Windows Server 2003"));
    assert_eq!(fp.host_name.as_deref(), Some("exchange.example.org"));
    assert_eq!(fp.matches[0].source, "banner");
    assert_eq!(fp.matches[1].text, "250-X-LINK2STATE");
}

#[test]
fn multi_line_greeting_uses_first_matching_line() {
    let set = FingerprintSet::builtin();
    let fp = set.match_smtp(&SmtpInput::banner(
        "220-server.example.com ESMTP Exim 4.96.2 #2 Fri, 01 Mar 2024 10:00:00 +0000 \r\n220-We do not authorize the use of this system to transport unsolicited,\r\n220 and/or bulk e-mail.\r\n",
    ));
    // Trailing space after the date is part of the time stamp capture.
    assert_eq!(fp.family.as_deref(), Some("exim"));
    assert_eq!(fp.version.as_deref(), Some("4.96.2"));
    assert_eq!(fp.cpe23.as_deref(), Some("cpe:/a:exim:exim:4.96.2"));
    let none = set.match_smtp(&SmtpInput::banner("220 localhost ready\r\n"));
    assert!(none.is_empty());
    assert_eq!(none.family, None);
    let json = serde_json::to_string(&fp).unwrap();
    assert!(json.contains("\"family\":\"exim\""), "{json}");
}
