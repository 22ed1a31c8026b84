use std::net::Ipv4Addr;

use smtpsweep_output::{BlocklistedCounts, ScanMetadata, format_timestamp};

fn sample() -> ScanMetadata {
    ScanMetadata {
        smtpsweep_version: "0.1.0".into(),
        command_line: vec!["smtpsweep".into(), "scan".into(), "198.18.0.0/16".into()],
        seed: 0xdead_beef_1234,
        seed_given: true,
        shards: 4,
        shard: 2,
        sender_threads: 1,
        targets: vec!["198.18.0.0/16".into()],
        allow_reserved: true,
        ports: vec![25, 465, 587],
        rate_pps: Some(10_000),
        bandwidth_bps: None,
        probes: 1,
        cooldown_s: 8,
        interface: "veth-scan".into(),
        source_ips: vec![Ipv4Addr::new(198, 19, 0, 1)],
        source_ports: [32768, 61000],
        gateway_mac: "02:00:00:00:00:01".into(),
        start_time: format_timestamp(1_796_029_200, 0),
        end_time: format_timestamp(1_796_029_229, 500_000),
        duration_s: 29.5,
        addresses_total: 65_536,
        targets_total: 196_608,
        targets_scanned: 49_152,
        targets_blocklisted: BlocklistedCounts {
            default: 0,
            user: 256,
        },
        packets_sent: 49_152,
        packets_received: 1_900,
        responses_validated: 1_880,
        validation_failed: 20,
        hits_unique: 590,
        hits_repeat: 3,
        drops: 0,
        records_written: 590,
        filter: "success = 1 && repeat = 0".into(),
        output_format: "jsonl".into(),
        output_file: "-".into(),
        cookie_key_fingerprint: "5f1c0a77e2b4d913".into(),
        exit_status: "completed".into(),
        ..ScanMetadata::default()
    }
}

#[test]
fn round_trip() {
    let m = sample();
    let json = m.to_json_pretty();
    assert!(json.ends_with("}\n"));
    assert!(json.contains("\n  \"seed\": 244837814047284,\n"), "{json}");
    assert_eq!(ScanMetadata::from_json(&json).unwrap(), m);
    let mut buf = Vec::new();
    m.write_json(&mut buf).unwrap();
    assert_eq!(String::from_utf8(buf).unwrap(), json);
    assert_eq!(
        ScanMetadata::from_json(&ScanMetadata::default().to_json_pretty()).unwrap(),
        ScanMetadata::default()
    );
}

#[test]
fn has_the_documented_keys() {
    let v: serde_json::Value = serde_json::from_str(&sample().to_json_pretty()).unwrap();
    for key in [
        "seed",
        "shards",
        "shard",
        "sender_threads",
        "ports",
        "rate_pps",
        "bandwidth_bps",
        "probes",
        "interface",
        "source_ips",
        "gateway_mac",
        "start_time",
        "end_time",
        "duration_s",
        "targets_total",
        "targets_blocklisted",
        "packets_sent",
        "send_errors",
        "packets_received",
        "responses_validated",
        "validation_failed",
        "hits_unique",
        "hits_repeat",
        "hits_cooldown",
        "drops",
        "filter",
        "output_format",
        "smtpsweep_version",
        "cookie_key_fingerprint",
        "exit_status",
        "exit_code",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(
        v["targets_blocklisted"],
        serde_json::json!({"default": 0, "user": 256})
    );
    assert_eq!(v["source_ips"], serde_json::json!(["198.19.0.1"]));
    assert_eq!(v["bandwidth_bps"], serde_json::Value::Null);
    assert_eq!(v["start_time"], "2026-11-30T09:00:00.000000Z");
    assert_eq!(sample().targets_blocklisted.total(), 256);
}

#[test]
fn tolerant_of_missing_and_unknown_keys() {
    let m =
        ScanMetadata::from_json(r#"{"seed": 7, "ports": [25], "future_field": {"x": 1}}"#).unwrap();
    assert_eq!(m.seed, 7);
    assert_eq!(m.ports, vec![25]);
    assert_eq!(m.packets_sent, 0);
    assert_eq!(m.targets_blocklisted, BlocklistedCounts::default());
    assert!(ScanMetadata::from_json("{\"seed\": -1}").is_err());
    assert!(ScanMetadata::from_json("[").is_err());
}
