//! Record serialization: JSON Schema validation of real output, round trips, ZGrab2 layout.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use smtpsweep_grab::{GRAB_RECORD_SCHEMA, GrabConfig, GrabRecord, Status, grab, to_zgrab2};
use smtpsweep_output::{Classification, ScanRecord};
use tokio::io::AsyncWriteExt;

/// Real records from a spread of servers and outcomes.
async fn sample_records() -> Vec<GrabRecord> {
    let mut out = Vec::new();
    let ca = ca_signed("mx.example.test", &["mx.example.test"]);
    let tls_cfg = server_config(&ca.leaf, &[&rustls::version::TLS13]);
    let (starttls, _) = serve_persona(Persona::postfix(StartTls::Tls(tls_cfg.clone()))).await;
    let (implicit, _) = serve_persona(Persona {
        implicit: Some(server_config(
            &expired("old.example.test"),
            &[&rustls::version::TLS12],
        )),
        ..Persona::postfix(StartTls::Refuse("503 no\r\n"))
    })
    .await;
    let (refused454, _) = serve_persona(Persona::postfix(StartTls::Refuse("454 no TLS\r\n"))).await;
    let (app_err, _) = serve_persona(Persona {
        greeting: "554 5.7.1 mx.example.test no SMTP service here\r\n",
        ..Persona::postfix(StartTls::Refuse("454 no\r\n"))
    })
    .await;
    let (garbage_tls, _) = serve_persona(Persona::postfix(StartTls::Raw(
        b"\x00\x01\x02garbage".to_vec(),
    )))
    .await;
    let silent = serve_raw(|tcp| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(tcp);
    })
    .await;
    let non_utf8 = serve_raw(|mut tcp| async move {
        let _ = tcp
            .write_all(b"220 caf\xe9.example.test \xff\xfe ESMTP\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    let (closed, closed_addr) = listener().await;
    drop(closed);

    let base = GrabConfig {
        store_certs: true,
        send_help: true,
        read_timeout: Duration::from_millis(400),
        ..quick_config()
    };
    for addr in [
        starttls,
        refused454,
        app_err,
        garbage_tls,
        silent,
        non_utf8,
        closed_addr,
    ] {
        out.push(grab(addr, &base).await.unwrap());
    }
    let cfg = GrabConfig {
        smtps_ports: vec![implicit.port()],
        ..base.clone()
    };
    out.push(grab(implicit, &cfg).await.unwrap());
    // A sweep-mode record carries the scan record that found the port.
    let mut rec = grab(starttls, &base).await.unwrap();
    rec.scan = Some(ScanRecord {
        ip: rec.ip,
        port: rec.port,
        classification: Classification::Synack,
        success: true,
        repeat: false,
        cooldown: false,
        ttl: 64,
        ipid: 4242,
        window: 65535,
        seq: 3_735_928_559,
        ack: 2_882_400_018,
        daddr: "198.19.0.1".parse().unwrap(),
        dport: 40123,
        timestamp: "2026-11-30T09:00:00.123456Z".into(),
        icmp_responder: None,
        icmp_code: None,
    });
    out.push(rec);
    out
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(GRAB_RECORD_SCHEMA).expect("schema is JSON");
    jsonschema::meta::validate(&schema).expect("schema is a valid JSON Schema");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[tokio::test]
async fn real_records_validate_against_the_schema() {
    let v = validator();
    let records = sample_records().await;
    let statuses: Vec<Status> = records.iter().map(|r| r.status).collect();
    for want in [
        Status::Success,
        Status::ApplicationError,
        Status::HandshakeError,
        Status::IoTimeout,
        Status::ConnectionRefused,
    ] {
        assert!(statuses.contains(&want), "{want} missing from {statuses:?}");
    }
    assert!(
        records
            .iter()
            .any(|r| r.tls.as_ref().is_some_and(|t| t.chain.is_some()))
    );
    assert!(records.iter().any(|r| r.scan.is_some()));
    for rec in &records {
        let line = serde_json::to_string(rec).unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        let errs = errors(&v, &value);
        assert!(errs.is_empty(), "{line}\n{errs:#?}");
        // The JSON reads back into the same record.
        let back: GrabRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(&back, rec);
    }
}

#[tokio::test]
async fn schema_rejects_broken_records() {
    let v = validator();
    let records = sample_records().await;
    let with_tls = records
        .iter()
        .find(|r| r.tls.as_ref().is_some_and(|t| t.leaf.is_some()))
        .unwrap();
    let good = serde_json::to_value(with_tls).unwrap();
    assert!(v.is_valid(&good));
    type Mutation = Box<dyn Fn(&mut Value)>;
    let mutations: Vec<Mutation> = vec![
        Box::new(|r| r["status"] = json!("bogus")),
        Box::new(|r| {
            r.as_object_mut().unwrap().remove("smtp");
        }),
        Box::new(|r| r["tls"]["leaf"]["sha256"] = json!("XYZ")),
        Box::new(|r| r["ip"] = json!("not-an-ip")),
        Box::new(|r| r["smtp"]["ehlo"]["code"] = json!(99)),
        Box::new(|r| r["tls"]["mode"] = json!("sometimes")),
        Box::new(|r| r["unexpected"] = json!(1)),
    ];
    for (i, m) in mutations.iter().enumerate() {
        let mut bad = good.clone();
        m(&mut bad);
        assert!(!v.is_valid(&bad), "mutation {i} still validates");
    }
}

#[tokio::test]
async fn zgrab2_layout() {
    let cert = self_signed("mx.example.test", &["mx.example.test"]);
    let (addr, _) = serve_persona(Persona::postfix(StartTls::Tls(server_config(
        &cert,
        &[&rustls::version::TLS12],
    ))))
    .await;
    let cfg = GrabConfig {
        store_certs: true,
        ..quick_config()
    };
    let rec = grab(addr, &cfg).await.unwrap();
    let z = to_zgrab2(&rec);
    assert_eq!(z["ip"], json!("127.0.0.1"));
    assert_eq!(z["port"], json!(addr.port()));
    let smtp = &z["data"]["smtp"];
    assert_eq!(smtp["status"], json!("success"));
    assert_eq!(smtp["protocol"], json!("smtp"));
    assert_eq!(smtp["timestamp"], json!(rec.timestamp));
    assert!(smtp.get("error").is_none());
    let result = &smtp["result"];
    assert_eq!(result["banner"], json!(POSTFIX_GREETING));
    assert_eq!(result["ehlo"], json!(POSTFIX_EHLO));
    assert_eq!(result["ehlo_tls"], json!(POSTFIX_EHLO_TLS));
    assert_eq!(
        result["starttls"],
        json!("220 2.0.0 Ready to start TLS\r\n")
    );
    assert_eq!(result["quit"], json!("221 2.0.0 Bye\r\n"));
    assert!(result.get("helo").is_none());
    let hs = &result["tls"]["handshake_log"];
    assert_eq!(
        hs["server_hello"]["version"],
        json!({"name": "TLSv1.2", "value": 771})
    );
    let suite = &hs["server_hello"]["cipher_suite"];
    let tls = rec.tls.as_ref().unwrap();
    assert_eq!(suite["name"], json!(tls.cipher_suite));
    assert_eq!(suite["value"], json!(tls.cipher_suite_id));
    assert_eq!(
        suite["hex"],
        json!(format!("0x{:04X}", tls.cipher_suite_id))
    );
    let certs = &hs["server_certificates"];
    use base64::Engine as _;
    let raw = certs["certificate"]["raw"].as_str().unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap(),
        cert.der.as_ref()
    );
    let parsed = &certs["certificate"]["parsed"];
    assert_eq!(parsed["fingerprint_sha256"], json!(sha256_hex(&cert.der)));
    assert_eq!(parsed["subject"]["common_name"], json!(["mx.example.test"]));
    // Serial 0x9a0142 in decimal, as ZGrab2 writes it.
    assert_eq!(parsed["serial_number"], json!(0x9a0142u32.to_string()));
    assert_eq!(
        parsed["extensions"]["subject_alt_name"]["dns_names"],
        json!(["mx.example.test"])
    );
    assert_eq!(parsed["signature"]["self_signed"], json!(true));
    assert_eq!(
        parsed["subject_key_info"]["key_algorithm"]["name"],
        json!("ECDSA")
    );
    assert_eq!(
        parsed["subject_key_info"]["ecdsa_public_key"]["length"],
        json!(256)
    );
    let v = &certs["validation"];
    assert_eq!(v["browser_trusted"], json!(false));
    assert_eq!(v["matches_domain"], json!(true));
    assert!(
        v["browser_error"]
            .as_str()
            .unwrap()
            .contains("UnknownIssuer")
    );

    // A failure carries its error and no result fields beyond what was seen.
    let (l, closed) = listener().await;
    drop(l);
    let rec = grab(closed, &quick_config()).await.unwrap();
    let z = to_zgrab2(&rec);
    assert_eq!(z["data"]["smtp"]["status"], json!("connection-refused"));
    assert!(z["data"]["smtp"]["error"].is_string());
    assert_eq!(z["data"]["smtp"]["result"], json!({}));
}
