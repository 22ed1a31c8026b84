//! The report over a generated fixture: 220 distinct services on 120
//! addresses in 198.18.0.0/24, spread over three shard files (one gzip, one
//! with CRLF line ends), with duplicates across and within shards, blank
//! lines and malformed lines. Every expected count is tallied here while the
//! fixture is written (plain counting over the plan, not the library's
//! aggregation), and the main totals are also asserted as literal numbers
//! reasoned out from the plan.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde_json::{Value, json};
use smtpsweep_report::model::Report;
use smtpsweep_report::{Aggregator, ReportConfig, VulnDb, build_report};

use common::{TempDir, country_of_octet, provider_of_octet, write_geo_dbs};

/// The test's own CVE data, with literal affected version sets below.
const VULNS: &str = r#"
[[cve]]
id = "CVE-2019-10149"
products = ["exim"]
summary = "Remote command execution (test copy)."
ranges = [{ introduced = "4.87", fixed = "4.92" }]

[[cve]]
id = "CVE-2020-28017"
products = ["exim"]
summary = "21Nails (test copy)."
ranges = [{ fixed = "4.94.2" }]

[[cve]]
id = "CVE-2020-7247"
products = ["OpenSMTPD"]
summary = "OpenSMTPD RCE (test copy)."
ranges = [{ introduced = "6.4.0", last_affected = "6.6.1" }]

[[cve]]
id = "CVE-2099-0001"
products = ["NoSuchMTA"]
summary = "Never seen."
ranges = [{ fixed = "1.0" }]
"#;

/// Affected versions per CVE, written out by hand from the ranges above.
fn affected_versions(cve: &str) -> &'static [&'static str] {
    match cve {
        "CVE-2019-10149" => &["4.89"],
        "CVE-2020-28017" => &["4.89", "4.92", "4.92.3", "4.93"],
        "CVE-2020-7247" => &["6.6.1"],
        _ => &[],
    }
}

const EXIM_VERSIONS: [&str; 6] = ["4.89", "4.92", "4.93", "4.94.2", "4.96", "4.92.3"];

#[derive(Clone)]
struct Tls {
    mode: &'static str,
    version: &'static str,
    cipher: &'static str,
    issuer: Option<String>,
    self_signed: bool,
    expired: bool,
    name_matches: Option<bool>,
    trusted: bool,
}

#[derive(Clone)]
struct Svc {
    a: usize,
    ip: Ipv4Addr,
    port: u16,
    status: Option<&'static str>,
    banner: bool,
    /// (vendor, family, product, version)
    fp: Option<(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    )>,
    ext_starttls: Option<bool>,
    starttls_code: Option<u16>,
    tls: Option<Tls>,
}

fn plan() -> Vec<Svc> {
    let mut out = Vec::new();
    let mut k = 0usize;
    for a in 0..120usize {
        let mut ports: Vec<u16> = match a % 4 {
            0 => vec![25, 587, 465],
            1 => vec![25],
            2 => vec![25, 587],
            _ => vec![465],
        };
        if a < 10 {
            ports.push(2525);
        }
        for port in ports {
            out.push(make(a, port, k));
            k += 1;
        }
    }
    out
}

fn make(a: usize, port: u16, k: usize) -> Svc {
    let status = if k % 10 == 9 {
        Some("connection-timeout")
    } else if k % 10 == 8 {
        Some("io-timeout")
    } else if k % 20 == 7 {
        Some("tls-version-unsupported")
    } else if k % 50 == 3 {
        Some("weird-status")
    } else if k % 40 == 11 {
        None
    } else {
        Some("success")
    };
    let implicit = port == 465;
    let banner = match status {
        Some("connection-timeout") => false,
        Some("tls-version-unsupported") => !implicit,
        _ => true,
    };
    let fp = if banner {
        match k % 7 {
            0 => Some((
                "Postfix",
                "Postfix",
                "Postfix",
                [None, Some("3.7.11"), Some("3.5.25")][(k / 7) % 3],
            )),
            1 | 2 => Some(("Exim", "exim", "Exim", Some(EXIM_VERSIONS[(k / 7) % 6]))),
            3 => Some(("Microsoft", "Exchange Server", "Exchange Server", None)),
            4 => Some(("Sendmail", "Sendmail", "Sendmail", Some("8.15.2/8.15.2"))),
            5 => Some((
                "OpenBSD",
                "OpenSMTPD",
                "OpenSMTPD",
                Some(["6.6.1", "7.3.0"][(k / 7) % 2]),
            )),
            _ => None,
        }
    } else {
        None
    };
    let conversation = banner
        && !implicit
        && matches!(
            status,
            Some("success") | Some("tls-version-unsupported") | None
        );
    let ext_starttls = conversation.then_some(k % 3 != 0);
    let starttls_code = (ext_starttls == Some(true)).then_some(if k % 11 == 0 { 454 } else { 220 });
    let tls_ok =
        matches!(status, Some("success") | None) && (implicit || starttls_code == Some(220));
    let tls = tls_ok.then(|| {
        let self_signed = k % 5 == 0;
        let expired = k % 7 == 0;
        let name_matches = match k % 6 {
            0 => Some(false),
            1 => None,
            _ => Some(true),
        };
        let issuer = if k % 13 == 0 {
            None
        } else if self_signed {
            Some("CN=self".to_string())
        } else {
            Some(
                [
                    "CN=R3, O=Let's Encrypt, C=US",
                    "CN=Test CA, O=\"Quoted, Inc\"",
                    "CN=Other",
                ][k % 3]
                    .to_string(),
            )
        };
        let v13 = k % 4 != 0;
        Tls {
            mode: if implicit { "implicit" } else { "starttls" },
            version: if v13 { "TLSv1.3" } else { "TLSv1.2" },
            cipher: if v13 {
                "TLS13_AES_256_GCM_SHA384"
            } else {
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            },
            issuer,
            self_signed,
            expired,
            name_matches,
            trusted: !self_signed && !expired && name_matches == Some(true),
        }
    });
    Svc {
        a,
        ip: Ipv4Addr::new(198, 18, 0, (2 * a + 1) as u8),
        port,
        status,
        banner,
        fp,
        ext_starttls,
        starttls_code,
        tls,
    }
}

fn record(s: &Svc, k: usize) -> String {
    let mut smtp = json!({"banner": null, "banner_code": null, "ehlo": null, "starttls": null, "extensions": null});
    if s.banner {
        smtp["banner"] = json!(format!("220 mx{}.example.net ESMTP\r\n", s.a));
        smtp["banner_code"] = json!(220);
    }
    if let Some(st) = s.ext_starttls {
        smtp["ehlo"] = json!({"code": 250, "text": "mx.example.net\nPIPELINING", "lenient": false});
        smtp["extensions"] = json!({"domain": "mx.example.net", "pipelining": true, "starttls": st, "auth": ["PLAIN"]});
    }
    if let Some(c) = s.starttls_code {
        smtp["starttls"] = json!({"code": c, "text": "go ahead", "lenient": false});
    }
    let mut r = json!({
        "ip": s.ip.to_string(),
        "port": s.port,
        "error": null,
        "timestamp": "2026-11-30T09:00:00.000001Z",
        "duration_ms": 12,
        "smtp": smtp,
        "tls": null,
    });
    if k % 2 == 0 {
        r["scan"] = json!({"ip": s.ip.to_string(), "port": s.port, "classification": "synack", "success": true, "ttl": 64});
    }
    if let Some(st) = s.status {
        r["status"] = json!(st);
    }
    if let Some(t) = &s.tls {
        let leaf = match &t.issuer {
            Some(i) => json!({"subject": "CN=mx", "issuer": i, "sha256": "00"}),
            None => Value::Null,
        };
        r["tls"] = json!({
            "mode": t.mode, "version": t.version, "cipher_suite": t.cipher, "alpn": null,
            "leaf": leaf, "self_signed": t.self_signed, "expired": t.expired,
            "name_matches": t.name_matches, "trusted": t.trusted
        });
    }
    if let Some((vendor, family, product, version)) = s.fp {
        let mut fp = json!({"vendor": vendor, "family": family, "product": product,
            "db": "smtp.banner", "certainty": 0.85, "matches": [{"db": "smtp.banner", "params": {"service.family": family}}]});
        if let Some(v) = version {
            fp["version"] = json!(v);
        }
        r["fingerprint"] = fp;
        r["cves"] = json!([{"id": "CVE-0000-0000", "summary": "ignored by the report"}]);
    }
    serde_json::to_string(&r).unwrap()
}

/// What the report must say, counted over the plan.
#[derive(Default)]
struct Expect {
    services: u64,
    per_port: BTreeMap<u16, u64>,
    success: BTreeMap<u16, u64>,
    banner: BTreeMap<u16, u64>,
    status: BTreeMap<(String, u16), u64>,
    family: BTreeMap<(String, u16), u64>,
    product: BTreeMap<(String, String, String), u64>,
    fingerprinted: BTreeMap<u16, u64>,
    with_version: u64,
    version: BTreeMap<(String, String, u16), u64>,
    offered: BTreeMap<u16, u64>,
    attempted: BTreeMap<u16, u64>,
    accepted: BTreeMap<u16, u64>,
    st_tls: BTreeMap<u16, u64>,
    implicit: BTreeMap<u16, u64>,
    tls: BTreeMap<u16, u64>,
    tls_fail: BTreeMap<u16, u64>,
    tls_version: BTreeMap<(String, u16), u64>,
    cipher: BTreeMap<(String, u16), u64>,
    cert: BTreeMap<(String, u16), u64>,
    issuer: BTreeMap<String, u64>,
    country: BTreeMap<(String, u16), u64>,
    provider: BTreeMap<(String, u16), u64>,
    cve: BTreeMap<(String, u16), u64>,
    cve_country: BTreeMap<(String, String), u64>,
    cve_version: BTreeMap<(String, String), u64>,
    affected_any: BTreeMap<u16, u64>,
}

fn inc<K: Ord>(m: &mut BTreeMap<K, u64>, k: K) {
    *m.entry(k).or_insert(0) += 1;
}

fn expect(plan: &[Svc]) -> Expect {
    let mut e = Expect::default();
    for s in plan {
        let p = s.port;
        e.services += 1;
        inc(&mut e.per_port, p);
        let status = s.status.unwrap_or("(missing)").to_string();
        if status == "success" {
            inc(&mut e.success, p);
        }
        if s.banner {
            inc(&mut e.banner, p);
        }
        inc(&mut e.status, (status.clone(), p));
        if let Some((vendor, family, product, version)) = s.fp {
            inc(&mut e.family, (family.to_string(), p));
            inc(&mut e.fingerprinted, p);
            inc(
                &mut e.product,
                (vendor.to_string(), product.to_string(), family.to_string()),
            );
            if let Some(v) = version {
                e.with_version += 1;
                inc(&mut e.version, (family.to_string(), v.to_string(), p));
                let mut any = false;
                for cve in [
                    "CVE-2019-10149",
                    "CVE-2020-28017",
                    "CVE-2020-7247",
                    "CVE-2099-0001",
                ] {
                    let fam_ok = match cve {
                        "CVE-2020-7247" => family == "OpenSMTPD",
                        "CVE-2099-0001" => false,
                        _ => family == "exim",
                    };
                    if fam_ok && affected_versions(cve).contains(&v) {
                        any = true;
                        inc(&mut e.cve, (cve.to_string(), p));
                        inc(&mut e.cve_version, (cve.to_string(), v.to_string()));
                        let octet = s.ip.octets()[3];
                        let c = country_of_octet(octet)
                            .map_or("(unknown)".to_string(), |(i, n)| format!("{i} {n}"));
                        inc(&mut e.cve_country, (cve.to_string(), c));
                    }
                }
                if any {
                    inc(&mut e.affected_any, p);
                }
            }
        }
        if s.ext_starttls == Some(true) {
            inc(&mut e.offered, p);
        }
        if let Some(c) = s.starttls_code {
            inc(&mut e.attempted, p);
            if c == 220 {
                inc(&mut e.accepted, p);
            }
        }
        if matches!(
            s.status,
            Some("handshake-error" | "tls-version-unsupported")
        ) {
            inc(&mut e.tls_fail, p);
        }
        if let Some(t) = &s.tls {
            inc(&mut e.tls, p);
            if t.mode == "starttls" {
                inc(&mut e.st_tls, p);
            } else {
                inc(&mut e.implicit, p);
            }
            inc(&mut e.tls_version, (t.version.to_string(), p));
            inc(&mut e.cipher, (t.cipher.to_string(), p));
            if let Some(i) = &t.issuer {
                inc(&mut e.cert, ("with certificate".into(), p));
                inc(&mut e.issuer, i.clone());
            }
            if t.self_signed {
                inc(&mut e.cert, ("self-signed".into(), p));
            }
            if t.expired {
                inc(&mut e.cert, ("expired".into(), p));
            }
            match t.name_matches {
                Some(false) => inc(&mut e.cert, ("name mismatch".into(), p)),
                None => inc(&mut e.cert, ("name not checked".into(), p)),
                Some(true) => {}
            }
            let trust = if t.trusted { "trusted" } else { "not trusted" };
            inc(&mut e.cert, (trust.into(), p));
        }
        let octet = s.ip.octets()[3];
        let c =
            country_of_octet(octet).map_or("(unknown)".to_string(), |(i, n)| format!("{i} {n}"));
        inc(&mut e.country, (c, p));
        let (asn, org) = provider_of_octet(octet);
        inc(&mut e.provider, (format!("AS{asn} {org}"), p));
    }
    e
}

struct Fixture {
    _dir: TempDir,
    files: Vec<PathBuf>,
    meta: Vec<PathBuf>,
    country: PathBuf,
    asn: PathBuf,
    plan: Vec<Svc>,
    /// (file index, records, duplicates, malformed, lines)
    per_file: Vec<(u64, u64, u64, u64)>,
    duplicates: u64,
    malformed: Vec<(usize, u64)>,
    blank: u64,
}

/// Write the shard files. Record k goes to shard k % 3; records with
/// k % 9 == 4 are repeated in shard (k + 1) % 3, records with k % 50 == 0
/// twice in their own shard. Malformed and blank lines are put in at fixed
/// places.
fn fixture() -> Fixture {
    let dir = TempDir::new("fixture");
    let plan = plan();
    let mut shards: Vec<Vec<String>> = vec![Vec::new(); 3];
    let mut malformed = Vec::new();
    let mut blank = 0;
    let bad: [&[&str]; 3] = [
        &["this is not json", "{\"port\":25,\"status\":\"success\"}"],
        &[
            "{\"ip\":\"198.18.0.1\",\"port\":25",
            "{\"ip\":\"not-an-address\",\"port\":25}",
        ],
        &["{\"ip\":\"198.18.0.1\",\"port\":99999}"],
    ];
    for (k, s) in plan.iter().enumerate() {
        let line = record(s, k);
        let shard = k % 3;
        shards[shard].push(line.clone());
        if k % 9 == 4 {
            shards[(k + 1) % 3].push(line.clone());
        }
        if k % 50 == 0 {
            shards[shard].push(line.clone());
        }
        // Sprinkle bad and blank lines in after records 30 and 60 of each shard.
        if k == 90 || k == 91 || k == 92 || k == 180 || k == 181 {
            let sh = k % 3;
            let which = if k < 100 { 0 } else { 1 };
            if let Some(b) = bad[sh].get(which) {
                shards[sh].push(b.to_string());
                malformed.push((sh, shards[sh].len() as u64));
            }
            shards[sh].push(if which == 0 {
                String::new()
            } else {
                "   ".into()
            });
            blank += 1;
        }
    }
    // First-seen wins in read order (shard 0, 1, 2): tally per file.
    let mut seen = HashSet::new();
    let mut per_file = Vec::new();
    let mut duplicates = 0;
    let bad_lines: HashSet<(usize, u64)> = malformed.iter().copied().collect();
    for (i, lines) in shards.iter().enumerate() {
        let (mut records, mut dups, mut bad) = (0, 0, 0);
        for (n, l) in lines.iter().enumerate() {
            if bad_lines.contains(&(i, n as u64 + 1)) {
                bad += 1;
                continue;
            }
            if l.trim().is_empty() {
                continue;
            }
            records += 1;
            if !seen.insert(l.clone()) {
                dups += 1;
            }
        }
        duplicates += dups;
        per_file.push((records, dups, bad, lines.len() as u64));
    }
    let mut files = Vec::new();
    for (i, lines) in shards.iter().enumerate() {
        match i {
            0 => {
                let p = dir.path().join("shard0.jsonl");
                std::fs::write(&p, lines.join("\n") + "\n").unwrap();
                files.push(p);
            }
            1 => {
                // CRLF line ends, no final newline.
                let p = dir.path().join("shard1.jsonl");
                std::fs::write(&p, lines.join("\r\n")).unwrap();
                files.push(p);
            }
            _ => {
                // gzip, in two members (as `cat a.gz b.gz` makes).
                let p = dir.path().join("shard2.jsonl.gz");
                let half = lines.len() / 2;
                let mut out = Vec::new();
                for part in [&lines[..half], &lines[half..]] {
                    let mut enc =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    for l in part {
                        enc.write_all(l.as_bytes()).unwrap();
                        enc.write_all(b"\n").unwrap();
                    }
                    out.extend(enc.finish().unwrap());
                }
                std::fs::write(&p, out).unwrap();
                files.push(p);
            }
        }
    }
    let meta = vec![dir.path().join("meta0.json"), dir.path().join("meta1.json")];
    std::fs::write(
        &meta[0],
        r#"{"shard":0,"shards":2,"ports":[25,587,465,2525],"targets_scanned":1000,"hits_unique":150,"packets_sent":1000,"addresses_total":256,"duration_s":1.5,"start_time":"2026-11-30T09:00:00Z","exit_status":"completed","unknown_key":[1,2]}"#,
    )
    .unwrap();
    std::fs::write(
        &meta[1],
        r#"{"shard":1,"shards":2,"ports":[25,587,465,2525],"targets_scanned":1000,"hits_unique":100,"packets_sent":1024,"addresses_total":256,"duration_s":1.25,"start_time":"2026-11-30T09:00:00Z","exit_status":"completed"}"#,
    )
    .unwrap();
    let (country, asn) = write_geo_dbs(dir.path());
    Fixture {
        _dir: dir,
        files,
        meta,
        country,
        asn,
        plan,
        per_file,
        duplicates,
        malformed,
        blank,
    }
}

fn full_report(f: &Fixture, top: usize) -> Report {
    let cfg = ReportConfig {
        top,
        country_db: Some(f.country.clone()),
        asn_db: Some(f.asn.clone()),
        ..ReportConfig::default()
    };
    let db = VulnDb::from_toml(VULNS, "test").unwrap();
    build_report(cfg, db, &f.files, &f.meta).unwrap()
}

fn by_port(m: &BTreeMap<String, u64>) -> BTreeMap<u16, u64> {
    m.iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| (k.parse().unwrap(), *v))
        .collect()
}

fn keyed(m: &BTreeMap<(String, u16), u64>, key: &str) -> BTreeMap<u16, u64> {
    m.iter()
        .filter(|((k, _), _)| k == key)
        .map(|((_, p), v)| (*p, *v))
        .collect()
}

fn ports(m: &BTreeMap<u16, u64>) -> BTreeMap<u16, u64> {
    m.iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| (*k, *v))
        .collect()
}

#[test]
fn literal_totals_of_the_plan() {
    // Reasoned from the plan: 30 addresses each with ports {25,587,465},
    // {25}, {25,587}, {465}; addresses 0..10 also 2525.
    let f = fixture();
    let r = full_report(&f, 10);
    assert_eq!(r.discovery.services, 220);
    assert_eq!(r.discovery.addresses, 120);
    let open: Vec<(u32, u64)> = r
        .discovery
        .addresses_by_open_ports
        .iter()
        .map(|o| (o.open_ports, o.addresses))
        .collect();
    assert_eq!(open, vec![(1, 55), (2, 33), (3, 29), (4, 3)]);
    let per_port: Vec<(String, u64)> = r
        .discovery
        .ports
        .iter()
        .map(|p| (p.port.clone(), p.services))
        .collect();
    assert_eq!(
        per_port,
        vec![
            ("25".into(), 90),
            ("587".into(), 60),
            ("465".into(), 60),
            ("2525".into(), 10)
        ]
    );
    assert_eq!(r.port_columns, vec!["25", "587", "465", "2525"]);
    // 220 services: k % 10 == 9 gives 22 connection timeouts.
    let timeouts = r
        .problems
        .statuses
        .iter()
        .find(|s| s.name == "connection-timeout")
        .unwrap();
    assert_eq!(timeouts.total, 22);
    // Malformed: 5 lines; duplicates: k % 9 == 4 (24 records) plus k % 50 == 0 (5).
    assert_eq!(r.inputs.malformed, 5);
    assert_eq!(r.inputs.duplicates, 29);
    assert_eq!(r.inputs.records, 220 + 29);
}

#[test]
fn every_table_matches_the_plan() {
    let f = fixture();
    let r = full_report(&f, 10);
    let e = expect(&f.plan);

    // Inputs and discovery.
    assert_eq!(r.inputs.files.len(), 3);
    for (i, file) in r.inputs.files.iter().enumerate() {
        let (records, dups, bad, lines) = f.per_file[i];
        assert_eq!(file.records, records, "file {i}");
        assert_eq!(file.duplicates, dups, "file {i}");
        assert_eq!(file.malformed, bad, "file {i}");
        assert_eq!(file.lines, lines, "file {i}");
        assert_eq!(file.gzip, i == 2);
        assert_eq!(file.read_error, None);
    }
    assert_eq!(r.inputs.duplicates, f.duplicates);
    assert_eq!(r.inputs.blank_lines, f.blank);
    assert_eq!(r.inputs.malformed, f.malformed.len() as u64);
    let got: Vec<(String, u64)> = r
        .inputs
        .malformed_examples
        .iter()
        .map(|m| (m.file.clone(), m.line))
        .collect();
    let want: Vec<(String, u64)> = f
        .malformed
        .iter()
        .map(|(i, l)| (f.files[*i].display().to_string(), *l))
        .collect();
    let (mut got_sorted, mut want_sorted) = (got.clone(), want.clone());
    got_sorted.sort();
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted);
    assert!(
        r.inputs
            .malformed_examples
            .iter()
            .all(|m| !m.error.is_empty() && !m.error.contains('\n'))
    );
    assert_eq!(r.discovery.services, e.services);
    for p in &r.discovery.ports {
        let port: u16 = p.port.parse().unwrap();
        assert_eq!(p.services, e.per_port[&port]);
        assert_eq!(p.success, e.success.get(&port).copied().unwrap_or(0));
        assert_eq!(p.with_banner, e.banner.get(&port).copied().unwrap_or(0));
        assert!((p.share - e.per_port[&port] as f64 / 220.0).abs() < 1e-12);
    }
    let scan = r.discovery.scan.as_ref().unwrap();
    assert_eq!(scan.targets_scanned, 2000);
    assert_eq!(scan.hits_unique, 250);
    assert_eq!(scan.hit_rate, Some(0.125));
    assert_eq!(scan.packets_sent, 2024);
    assert_eq!(scan.addresses_total, 256);
    assert_eq!(scan.ports, vec![25, 587, 465, 2525]);
    assert_eq!(scan.grabbed_share, Some(220.0 / 250.0));
    assert_eq!(scan.files.len(), 2);
    assert_eq!(scan.files[1].hit_rate, Some(0.1));

    // Fingerprinting.
    let fp = &r.fingerprinting;
    let fingerprinted: u64 = e.fingerprinted.values().sum();
    assert_eq!(fp.fingerprinted, fingerprinted);
    assert_eq!(fp.with_banner, e.banner.values().sum::<u64>());
    assert_eq!(fp.with_version, e.with_version);
    let families: HashSet<&String> = e.family.keys().map(|(f, _)| f).collect();
    assert_eq!(fp.families, families.len());
    assert_eq!(fp.families, 5);
    assert_eq!(fp.family_rows.len(), 5);
    for row in &fp.family_rows {
        assert_eq!(
            by_port(&row.by_port),
            keyed(&e.family, &row.family),
            "{}",
            row.family
        );
        assert_eq!(
            row.total,
            keyed(&e.family, &row.family).values().sum::<u64>()
        );
    }
    // Sorted by count, descending.
    assert!(fp.family_rows.windows(2).all(|w| w[0].total >= w[1].total));
    assert_eq!(fp.family_rows[0].family, "exim");
    assert_eq!(fp.products, e.product.len());
    for row in &fp.product_rows {
        let key = (row.vendor.clone(), row.product.clone(), row.family.clone());
        assert_eq!(row.total, e.product[&key]);
    }
    for p in &fp.by_port {
        let port: u16 = p.port.parse().unwrap();
        assert_eq!(
            p.fingerprinted,
            e.fingerprinted.get(&port).copied().unwrap_or(0)
        );
    }

    // Versions: exim in detail.
    let exim = r
        .versions
        .families
        .iter()
        .find(|f| f.family == "exim")
        .unwrap();
    let exim_total: u64 = keyed(&e.family, "exim").values().sum();
    assert_eq!(exim.nodes, exim_total);
    assert_eq!(exim.with_version, exim_total);
    assert_eq!(exim.without_version, 0);
    assert_eq!(exim.distinct_versions, 6);
    let count = |v: &str| -> u64 {
        e.version
            .iter()
            .filter(|((f, ver, _), _)| f == "exim" && ver == v)
            .map(|(_, n)| n)
            .sum()
    };
    // Newest first, as ordered by hand.
    let order: Vec<&str> = exim.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(
        order,
        vec!["4.96", "4.94.2", "4.93", "4.92.3", "4.92", "4.89"]
    );
    let mut above = 0;
    for v in &exim.versions {
        assert_eq!(v.total, count(&v.version), "{}", v.version);
        above += v.total;
        assert_eq!(v.at_or_above, Some(above), "{}", v.version);
        assert_eq!(v.below, Some(exim_total - above), "{}", v.version);
    }
    assert_eq!(exim.newest.as_deref(), Some("4.96"));
    assert_eq!(exim.newest_count, count("4.96"));
    assert_eq!(exim.older_count, exim_total - count("4.96"));
    // The Exim 4.93-vs-4.92 style split.
    let at_493 = exim.versions.iter().find(|v| v.version == "4.93").unwrap();
    assert_eq!(
        at_493.at_or_above.unwrap(),
        count("4.93") + count("4.94.2") + count("4.96")
    );
    assert_eq!(
        at_493.below.unwrap(),
        count("4.92") + count("4.92.3") + count("4.89")
    );
    let lines: Vec<(&str, u64)> = exim
        .lines
        .iter()
        .map(|l| (l.line.as_str(), l.total))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("4.96", count("4.96")),
            ("4.94", count("4.94.2")),
            ("4.93", count("4.93")),
            ("4.92", count("4.92") + count("4.92.3")),
            ("4.89", count("4.89")),
        ]
    );
    let postfix = r
        .versions
        .families
        .iter()
        .find(|f| f.family == "Postfix")
        .unwrap();
    let postfix_total: u64 = keyed(&e.family, "Postfix").values().sum();
    let postfix_versioned: u64 = e
        .version
        .iter()
        .filter(|((f, _, _), _)| f == "Postfix")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(postfix.nodes, postfix_total);
    assert_eq!(postfix.without_version, postfix_total - postfix_versioned);
    assert_eq!(postfix.newest.as_deref(), Some("3.7.11"));
    let exchange = r
        .versions
        .families
        .iter()
        .find(|f| f.family == "Exchange Server")
        .unwrap();
    assert_eq!(exchange.newest, None);
    assert!(exchange.versions.is_empty());

    // Exposure: every CVE of the database, literal affected sets.
    let ex = &r.exposure;
    assert_eq!(ex.cves_in_db, 4);
    assert_eq!(ex.cves.len(), 4);
    for c in &ex.cves {
        assert_eq!(by_port(&c.by_port), keyed(&e.cve, &c.id), "{}", c.id);
        let versions: BTreeMap<String, u64> = c
            .by_version
            .iter()
            .map(|k| (k.key.clone(), k.count))
            .collect();
        let want: BTreeMap<String, u64> = e
            .cve_version
            .iter()
            .filter(|((id, _), _)| *id == c.id)
            .map(|((_, v), n)| (v.clone(), *n))
            .collect();
        assert_eq!(versions, want, "{}", c.id);
        let countries: BTreeMap<String, u64> = c
            .by_country
            .iter()
            .map(|k| (k.key.clone(), k.count))
            .collect();
        let want: BTreeMap<String, u64> = e
            .cve_country
            .iter()
            .filter(|((id, _), _)| *id == c.id)
            .map(|((_, v), n)| (v.clone(), *n))
            .collect();
        assert_eq!(countries, want, "{}", c.id);
        let provider_total: u64 = c.by_provider.iter().map(|k| k.count).sum();
        assert_eq!(provider_total, c.affected);
    }
    let wizard = ex.cves.iter().find(|c| c.id == "CVE-2019-10149").unwrap();
    assert_eq!(wizard.affected, count("4.89"));
    assert_eq!(wizard.assessed, exim_total);
    assert!(wizard.summary.contains("test copy"));
    let never = ex.cves.iter().find(|c| c.id == "CVE-2099-0001").unwrap();
    assert_eq!((never.affected, never.assessed), (0, 0));
    // Most affected first.
    assert!(ex.cves.windows(2).all(|w| w[0].affected >= w[1].affected));
    assert_eq!(by_port(&ex.affected_any_by_port), ports(&e.affected_any));
    assert_eq!(ex.affected_any, e.affected_any.values().sum::<u64>());

    // Transport security.
    let t = &r.transport;
    for row in &t.by_port {
        let p: u16 = row.port.parse().unwrap();
        let g = |m: &BTreeMap<u16, u64>| m.get(&p).copied().unwrap_or(0);
        assert_eq!(row.services, e.per_port[&p]);
        assert_eq!(row.starttls_offered, g(&e.offered), "port {p}");
        assert_eq!(row.starttls_attempted, g(&e.attempted), "port {p}");
        assert_eq!(row.starttls_accepted, g(&e.accepted), "port {p}");
        assert_eq!(row.starttls_tls, g(&e.st_tls), "port {p}");
        assert_eq!(row.implicit_tls, g(&e.implicit), "port {p}");
        assert_eq!(row.tls, g(&e.tls), "port {p}");
        assert_eq!(row.tls_failures, g(&e.tls_fail), "port {p}");
    }
    assert_eq!(t.tls_total, e.tls.values().sum::<u64>());
    assert_eq!(t.tls_versions.len(), 2);
    for row in &t.tls_versions {
        assert_eq!(by_port(&row.by_port), keyed(&e.tls_version, &row.name));
    }
    for row in &t.cipher_suites {
        assert_eq!(by_port(&row.by_port), keyed(&e.cipher, &row.name));
    }
    assert_eq!(t.certificates.len(), 7);
    for row in &t.certificates {
        assert_eq!(
            by_port(&row.by_port),
            keyed(&e.cert, &row.name),
            "{}",
            row.name
        );
    }
    let issuers: BTreeMap<String, u64> = t
        .issuers
        .iter()
        .map(|i| (i.name.clone(), i.total))
        .collect();
    assert_eq!(issuers, e.issuer);

    // Geography and providers.
    let g = &r.geography;
    assert_eq!(
        g.country_db.as_ref().unwrap().database_type,
        "GeoLite2-Country"
    );
    assert_eq!(g.asn_db.as_ref().unwrap().database_type, "GeoLite2-ASN");
    assert_eq!(g.countries.len(), 3);
    for c in &g.countries {
        let key = format!("{} {}", c.iso_code, c.name);
        assert_eq!(by_port(&c.by_port), keyed(&e.country, &key), "{key}");
    }
    let unknown = g.country_unknown.as_ref().unwrap();
    assert_eq!(by_port(&unknown.by_port), keyed(&e.country, "(unknown)"));
    assert!(g.country_other.is_none());
    assert_eq!(g.providers.len(), 3);
    for p in &g.providers {
        let key = format!("AS{} {}", p.asn.unwrap(), p.organization);
        assert_eq!(by_port(&p.by_port), keyed(&e.provider, &key), "{key}");
    }
    assert!(g.provider_unknown.is_none());

    // Problems.
    let names: Vec<&str> = r
        .problems
        .statuses
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "success",
            "connection-refused",
            "connection-timeout",
            "io-timeout",
            "connection-closed",
            "protocol-error",
            "application-error",
            "handshake-error",
            "tls-version-unsupported",
            "post-tls-application-error",
            "weird-status",
            "(missing)"
        ]
    );
    for s in &r.problems.statuses {
        assert_eq!(by_port(&s.by_port), keyed(&e.status, &s.name), "{}", s.name);
    }
    assert_eq!(r.problems.failures, 220 - e.success.values().sum::<u64>());
    assert_eq!(r.problems.malformed_lines, 5);
}

#[test]
fn top_n_folds_the_rest_into_other_rows() {
    let f = fixture();
    let r = full_report(&f, 2);
    let e = expect(&f.plan);
    let fp = &r.fingerprinting;
    assert_eq!(fp.family_rows.len(), 2);
    let other = fp.family_other.as_ref().unwrap();
    assert_eq!(other.distinct, 3);
    let listed: u64 = fp.family_rows.iter().map(|r| r.total).sum();
    assert_eq!(listed + other.total, fp.fingerprinted);
    // Versions shown only for the top two families, two versions each.
    assert_eq!(r.versions.families.len(), 2);
    let exim = &r.versions.families[0];
    assert_eq!(exim.family, "exim");
    assert_eq!(exim.versions.len(), 2);
    let o = exim.other.as_ref().unwrap();
    assert_eq!(o.distinct, 4);
    assert_eq!(
        exim.versions.iter().map(|v| v.total).sum::<u64>() + o.total,
        exim.with_version
    );
    // Countries: two listed, one other, unknown separate.
    let g = &r.geography;
    assert_eq!(g.countries.len(), 2);
    assert_eq!(g.country_other.as_ref().unwrap().distinct, 1);
    let sum: u64 = g.countries.iter().map(|c| c.total).sum::<u64>()
        + g.country_other.as_ref().unwrap().total
        + g.country_unknown.as_ref().unwrap().total;
    assert_eq!(sum, e.services);
    // Issuers: 4 distinct, two listed.
    assert_eq!(r.transport.issuers.len(), 2);
    assert_eq!(r.transport.issuer_other.as_ref().unwrap().distinct, 2);
}

#[test]
fn port_filter_and_family_detail() {
    let f = fixture();
    let e = expect(&f.plan);
    let cfg = ReportConfig {
        port: Some(587),
        family: Some("EXIM".into()),
        top: 1,
        ..ReportConfig::default()
    };
    let r = build_report(cfg, VulnDb::from_toml(VULNS, "t").unwrap(), &f.files, &[]).unwrap();
    assert_eq!(r.port_columns, vec!["587"]);
    assert_eq!(r.discovery.services, 60);
    assert_eq!(
        r.inputs.filtered_out + r.inputs.duplicates + 60,
        r.inputs.records
    );
    assert_eq!(r.versions.families.len(), 1);
    let exim = &r.versions.families[0];
    assert_eq!(exim.family, "exim");
    // --family lists every version even with --top 1.
    let want: BTreeMap<String, u64> = e
        .version
        .iter()
        .filter(|((fam, _, p), _)| fam == "exim" && *p == 587)
        .fold(BTreeMap::new(), |mut m, ((_, v, _), n)| {
            *m.entry(v.clone()).or_insert(0) += n;
            m
        });
    let got: BTreeMap<String, u64> = exim
        .versions
        .iter()
        .map(|v| (v.version.clone(), v.total))
        .collect();
    assert_eq!(got, want);
    assert!(exim.other.is_none());
    let st = r
        .problems
        .statuses
        .iter()
        .find(|s| s.name == "success")
        .unwrap();
    assert_eq!(st.total, e.success[&587]);
    // An unknown family is reported, not an error.
    let cfg = ReportConfig {
        family: Some("NoSuchMTA".into()),
        ..ReportConfig::default()
    };
    let r = build_report(cfg, VulnDb::builtin(), &f.files, &[]).unwrap();
    assert!(r.versions.families.is_empty());
    assert!(r.notices.iter().any(|n| n.contains("NoSuchMTA")));
}

#[test]
fn shard_order_does_not_change_the_report() {
    let f = fixture();
    let cfg = ReportConfig {
        country_db: Some(f.country.clone()),
        asn_db: Some(f.asn.clone()),
        ..ReportConfig::default()
    };
    let mut reversed = f.files.clone();
    reversed.reverse();
    let a = build_report(cfg.clone(), VulnDb::builtin(), &f.files, &[]).unwrap();
    let b = build_report(cfg, VulnDb::builtin(), &reversed, &[]).unwrap();
    assert_eq!(a.discovery, b.discovery);
    assert_eq!(a.fingerprinting, b.fingerprinting);
    assert_eq!(a.versions, b.versions);
    assert_eq!(a.exposure, b.exposure);
    assert_eq!(a.transport, b.transport);
    assert_eq!(a.geography, b.geography);
    assert_eq!(a.problems, b.problems);
    assert_eq!(a.inputs.duplicates, b.inputs.duplicates);
}

#[test]
fn builtin_database_lists_every_cve() {
    let f = fixture();
    let db = VulnDb::builtin();
    let n = db.cves().len();
    let r = build_report(ReportConfig::default(), db.clone(), &f.files, &[]).unwrap();
    assert_eq!(r.exposure.cves.len(), n);
    let ids: HashSet<&str> = r.exposure.cves.iter().map(|c| c.id.as_str()).collect();
    for c in db.cves() {
        assert!(ids.contains(c.id.as_str()), "{}", c.id);
    }
    // Exim 4.89 is in CVE-2019-10149's range in the built-in data too.
    let e = expect(&f.plan);
    let n489: u64 = e
        .version
        .iter()
        .filter(|((fam, v, _), _)| fam == "exim" && v == "4.89")
        .map(|(_, n)| n)
        .sum();
    let wizard = r
        .exposure
        .cves
        .iter()
        .find(|c| c.id == "CVE-2019-10149")
        .unwrap();
    assert_eq!(wizard.affected, n489);
    // By the vulns crate's own per-record answer, record by record.
    let mut want_any = 0;
    for s in &f.plan {
        if let Some((_, family, product, Some(v))) = s.fp {
            if !db.cves_for(family, v).is_empty() || !db.cves_for(product, v).is_empty() {
                want_any += 1;
            }
        }
    }
    assert_eq!(r.exposure.affected_any, want_any);
}

#[test]
fn errors_are_one_line_and_inputs_are_not_fatal() {
    let dir = TempDir::new("errors");
    let missing = dir.path().join("missing.jsonl");
    let e = build_report(ReportConfig::default(), VulnDb::builtin(), &[missing], &[]).unwrap_err();
    assert!(e.to_string().contains("missing.jsonl"), "{e}");
    assert!(!e.to_string().contains('\n'));
    let bad_meta = dir.path().join("meta.json");
    std::fs::write(&bad_meta, "{not json").unwrap();
    let e = build_report(ReportConfig::default(), VulnDb::builtin(), &[], &[bad_meta]).unwrap_err();
    assert!(e.to_string().contains("not scan metadata"), "{e}");
    let bad_db = dir.path().join("bad.mmdb");
    std::fs::write(&bad_db, b"not a database").unwrap();
    let cfg = ReportConfig {
        country_db: Some(bad_db),
        ..ReportConfig::default()
    };
    let e = Aggregator::new(cfg, VulnDb::builtin()).err().unwrap();
    assert!(e.to_string().contains("not a readable MaxMind DB"), "{e}");

    // A truncated gzip file: records before the damage count, a notice says so.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..200 {
        writeln!(
            enc,
            r#"{{"ip":"198.18.1.{}","port":25,"status":"success"}}"#,
            i
        )
        .unwrap();
    }
    let gz = enc.finish().unwrap();
    let truncated = &gz[..gz.len() - 30];
    let mut agg = Aggregator::new(ReportConfig::default(), VulnDb::builtin()).unwrap();
    agg.add_reader("cut.jsonl.gz", truncated);
    let r = agg.finish();
    assert!(r.inputs.files[0].gzip);
    assert!(r.inputs.files[0].read_error.is_some());
    assert!(r.notices.iter().any(|n| n.contains("cut.jsonl.gz")));
    assert!(r.discovery.services > 100 && r.discovery.services <= 200);

    // A line longer than the limit is one malformed line; the next line counts.
    let mut data = Vec::new();
    data.extend_from_slice(b"{\"ip\":\"198.18.0.1\",\"port\":25,\"x\":\"");
    data.resize(data.len() + smtpsweep_report::agg::MAX_LINE + 10, b'a');
    data.extend_from_slice(b"\"}\n{\"ip\":\"198.18.0.2\",\"port\":25}\n");
    let mut agg = Aggregator::new(ReportConfig::default(), VulnDb::builtin()).unwrap();
    agg.add_reader("long.jsonl", &data[..]);
    let r = agg.finish();
    assert_eq!(r.inputs.malformed, 1);
    assert_eq!(r.inputs.malformed_examples[0].line, 1);
    assert_eq!(r.discovery.services, 1);
    // Binary garbage is malformed, not a panic.
    let mut agg = Aggregator::new(ReportConfig::default(), VulnDb::builtin()).unwrap();
    agg.add_reader("bin", &[0xff, 0xfe, 0x00, b'\n', b'{', 0xc3, b'\n'][..]);
    let r = agg.finish();
    assert_eq!(r.inputs.malformed, 2);
}

#[test]
fn ipv6_records_and_other_ports_columns() {
    let mut data = String::new();
    for (i, port) in [25u16, 587, 465, 2525, 2526, 2527, 2528, 2529, 2530, 2531]
        .iter()
        .enumerate()
    {
        for j in 0..=i {
            data.push_str(&format!(
                "{{\"ip\":\"198.18.2.{j}\",\"port\":{port},\"status\":\"success\"}}\n"
            ));
        }
    }
    data.push_str("{\"ip\":\"2001:db8::1\",\"port\":25,\"status\":\"success\"}\n");
    data.push_str("{\"ip\":\"2001:db8::1\",\"port\":25,\"status\":\"success\"}\n");
    let mut agg = Aggregator::new(ReportConfig::default(), VulnDb::builtin()).unwrap();
    agg.add_reader("v.jsonl", data.as_bytes());
    let r = agg.finish();
    // 55 IPv4 services + 1 IPv6 (its duplicate counted once).
    assert_eq!(r.discovery.services, 56);
    assert_eq!(r.inputs.duplicates, 1);
    assert_eq!(r.discovery.addresses, 11);
    // Standard three, the five busiest others (2527..2531), then `other`.
    assert_eq!(
        r.port_columns,
        vec![
            "25", "587", "465", "2527", "2528", "2529", "2530", "2531", "other"
        ]
    );
    let other = r
        .discovery
        .ports
        .iter()
        .find(|p| p.port == "other")
        .unwrap();
    // 2525 has 4 services, 2526 has 5.
    assert_eq!(other.services, 9);
    let p25 = r.discovery.ports.iter().find(|p| p.port == "25").unwrap();
    assert_eq!(p25.services, 2);
}

#[test]
fn geo_lookups_are_exact_around_slash24_boundaries() {
    use smtpsweep_mmdb::{MmdbWriter, country_record};
    let dir = TempDir::new("geo24");
    let mut c = MmdbWriter::new("GeoLite2-Country");
    c.insert_cidr("198.18.0.0/16", country_record("XA", "Avalonia"))
        .unwrap();
    c.insert_cidr("198.18.5.0/24", country_record("XB", "Brobdingnag"))
        .unwrap();
    c.insert_cidr("198.18.6.128/25", country_record("XC", "Cockaigne"))
        .unwrap();
    c.insert_cidr("198.18.7.9/32", country_record("XD", "Dinotopia"))
        .unwrap();
    let cp = dir.path().join("c.mmdb");
    std::fs::write(&cp, c.to_bytes().unwrap()).unwrap();
    // Order matters: each /24 is first seen at an address whose network is
    // either the whole /24 or larger (cacheable) or smaller (not).
    let cases = [
        ("198.18.5.1", "XB"),
        ("198.18.5.200", "XB"),
        ("198.18.6.1", "XA"),
        ("198.18.6.200", "XC"),
        ("198.18.6.2", "XA"),
        ("198.18.7.8", "XA"),
        ("198.18.7.9", "XD"),
        ("198.18.7.10", "XA"),
        ("198.18.8.1", "XA"),
        ("198.18.8.2", "XA"),
        ("198.19.0.1", ""),
        ("198.19.0.2", ""),
    ];
    let mut data = String::new();
    for (ip, _) in cases {
        data.push_str(&format!("{{\"ip\":\"{ip}\",\"port\":25}}\n"));
    }
    let cfg = ReportConfig {
        country_db: Some(cp),
        ..ReportConfig::default()
    };
    let mut agg = Aggregator::new(cfg, VulnDb::builtin()).unwrap();
    agg.add_reader("g.jsonl", data.as_bytes());
    let r = agg.finish();
    let mut want: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, cc) in cases {
        *want.entry(cc).or_default() += 1;
    }
    let mut got: BTreeMap<&str, u64> = r
        .geography
        .countries
        .iter()
        .map(|c| (c.iso_code.as_str(), c.total))
        .collect();
    if let Some(u) = &r.geography.country_unknown {
        got.insert("", u.total);
    }
    assert_eq!(got, want);
}
