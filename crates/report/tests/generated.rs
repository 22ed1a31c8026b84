//! `generate_fixture` output, recounted here with plain serde_json values,
//! agrees with the report; the generator is deterministic.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use smtpsweep_report::fixture::FIXTURE_SERVICES;
use smtpsweep_report::{Aggregator, ReportConfig, VulnDb, generate_fixture};

#[test]
fn report_agrees_with_a_naive_recount() {
    let mut data = Vec::new();
    generate_fixture(4000, 9, &mut data).unwrap();
    // Repeat the first 100 lines (a re-sent shard).
    let text = String::from_utf8(data.clone()).unwrap();
    for l in text.lines().take(100) {
        data.extend_from_slice(l.as_bytes());
        data.push(b'\n');
    }
    let mut agg = Aggregator::new(ReportConfig::default(), VulnDb::builtin()).unwrap();
    agg.add_reader("gen.jsonl", &data[..]);
    let r = agg.finish();

    let mut seen = HashSet::new();
    let mut status: BTreeMap<String, u64> = BTreeMap::new();
    let mut family: BTreeMap<String, u64> = BTreeMap::new();
    let mut tls: BTreeMap<String, u64> = BTreeMap::new();
    let mut ports: BTreeMap<String, u64> = BTreeMap::new();
    let (mut banner, mut fingerprinted, mut self_signed, mut offered) = (0, 0, 0, 0);
    for l in String::from_utf8(data).unwrap().lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if !seen.insert((
            v["ip"].as_str().unwrap().to_string(),
            v["port"].as_u64().unwrap(),
        )) {
            continue;
        }
        *status
            .entry(v["status"].as_str().unwrap().into())
            .or_default() += 1;
        *ports.entry(v["port"].to_string()).or_default() += 1;
        if !v["smtp"]["banner_code"].is_null() {
            banner += 1;
        }
        if v["smtp"]["extensions"]["starttls"] == Value::Bool(true) {
            offered += 1;
        }
        if let Some(f) = v["fingerprint"]["family"].as_str() {
            fingerprinted += 1;
            *family.entry(f.into()).or_default() += 1;
        }
        if let Some(t) = v["tls"]["version"].as_str() {
            *tls.entry(t.into()).or_default() += 1;
        }
        if v["tls"]["self_signed"] == Value::Bool(true) {
            self_signed += 1;
        }
    }
    assert_eq!(r.discovery.services, 4000);
    assert_eq!(r.inputs.duplicates, 100);
    let got: BTreeMap<String, u64> = r
        .problems
        .statuses
        .iter()
        .filter(|s| s.total > 0)
        .map(|s| (s.name.clone(), s.total))
        .collect();
    assert_eq!(got, status);
    let got: BTreeMap<String, u64> = r
        .fingerprinting
        .family_rows
        .iter()
        .map(|f| (f.family.clone(), f.total))
        .collect();
    assert_eq!(got, family);
    let got: BTreeMap<String, u64> = r
        .transport
        .tls_versions
        .iter()
        .map(|t| (t.name.clone(), t.total))
        .collect();
    assert_eq!(got, tls);
    let got: BTreeMap<String, u64> = r
        .discovery
        .ports
        .iter()
        .filter(|p| p.services > 0)
        .map(|p| (p.port.clone(), p.services))
        .collect();
    assert_eq!(got, ports);
    assert_eq!(r.fingerprinting.with_banner, banner);
    assert_eq!(r.fingerprinting.fingerprinted, fingerprinted);
    let ss = r
        .transport
        .certificates
        .iter()
        .find(|c| c.name == "self-signed")
        .unwrap();
    assert_eq!(ss.total, self_signed);
    let st: u64 = r.transport.by_port.iter().map(|p| p.starttls_offered).sum();
    assert_eq!(st, offered);
}

#[test]
fn generator_is_deterministic_and_distinct() {
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut c = Vec::new();
    generate_fixture(500, 1, &mut a).unwrap();
    generate_fixture(500, 1, &mut b).unwrap();
    generate_fixture(500, 2, &mut c).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let mut seen = HashSet::new();
    for l in String::from_utf8(a).unwrap().lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let ip: std::net::Ipv4Addr = v["ip"].as_str().unwrap().parse().unwrap();
        let o = ip.octets();
        assert!(o[0] == 198 && (o[1] == 18 || o[1] == 19), "{ip}");
        assert!(seen.insert((ip, v["port"].as_u64().unwrap())));
    }
    assert_eq!(FIXTURE_SERVICES, 1_048_576);
}
