//! The ZGrab2 SMTP module layout (`-O zgrab2`).
//!
//! ZGrab2 writes one object per target: `{"ip", "data": {"smtp": {"status",
//! "protocol", "result", "timestamp", "error"}}}`. Its SMTP `result` holds the
//! replies as raw strings (`banner`, `ehlo`, `helo`, `help`, `starttls`, `quit`)
//! and the TLS log under `tls.handshake_log` (`server_hello` with `version` and
//! `cipher_suite`, `server_certificates` with `certificate.raw`/`parsed`, `chain`
//! and `validation`). Empty fields are left out, as ZGrab2 does. Additions that
//! ZGrab2 does not have: top-level `port`, and `ehlo_tls`/`helo_tls` in `result`.
//! Replies other than the banner are rebuilt from their lines with CRLF endings.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::num_bigint::BigUint;

use crate::record::{CertFacts, GrabRecord, ReplySummary, TlsData};

/// The record in ZGrab2's SMTP module layout.
pub fn to_zgrab2(rec: &GrabRecord) -> Value {
    let mut result = Map::new();
    if let Some(b) = &rec.smtp.banner {
        result.insert("banner".into(), Value::String(b.clone()));
    }
    let replies: [(&str, &Option<ReplySummary>); 7] = [
        ("helo", &rec.smtp.helo),
        ("ehlo", &rec.smtp.ehlo),
        ("help", &rec.smtp.help),
        ("starttls", &rec.smtp.starttls),
        ("ehlo_tls", &rec.smtp.ehlo_tls),
        ("helo_tls", &rec.smtp.helo_tls),
        ("quit", &rec.smtp.quit),
    ];
    for (key, reply) in replies {
        if let Some(r) = reply {
            result.insert(key.into(), Value::String(r.to_wire()));
        }
    }
    if let Some(tls) = &rec.tls {
        result.insert("tls".into(), tls_log(tls));
    }
    let mut smtp = Map::new();
    smtp.insert("status".into(), Value::String(rec.status.as_str().into()));
    smtp.insert("protocol".into(), Value::String("smtp".into()));
    smtp.insert("result".into(), Value::Object(result));
    smtp.insert("timestamp".into(), Value::String(rec.timestamp.clone()));
    if let Some(e) = &rec.error {
        smtp.insert("error".into(), Value::String(e.clone()));
    }
    json!({
        "ip": rec.ip.to_string(),
        "port": rec.port,
        "data": { "smtp": Value::Object(smtp) },
    })
}

fn version_value(name: &str) -> u16 {
    match name {
        "TLSv1.3" => 0x0304,
        "TLSv1.2" => 0x0303,
        _ => 0,
    }
}

fn tls_log(tls: &TlsData) -> Value {
    let mut hello = Map::new();
    hello.insert(
        "version".into(),
        json!({"name": tls.version, "value": version_value(&tls.version)}),
    );
    hello.insert(
        "cipher_suite".into(),
        json!({
            "hex": format!("0x{:04X}", tls.cipher_suite_id),
            "name": tls.cipher_suite,
            "value": tls.cipher_suite_id,
        }),
    );
    if let Some(a) = &tls.alpn {
        hello.insert("alpn_protocol".into(), Value::String(a.clone()));
    }
    let mut certs = Map::new();
    let mut leaf = Map::new();
    if let Some(raw) = tls.chain.as_ref().and_then(|c| c.first()) {
        leaf.insert("raw".into(), Value::String(raw.clone()));
    }
    if let Some(facts) = &tls.leaf {
        leaf.insert("parsed".into(), parsed_cert(facts, tls.self_signed));
    }
    if !leaf.is_empty() {
        certs.insert("certificate".into(), Value::Object(leaf));
    }
    if let Some(chain) = &tls.chain
        && chain.len() > 1
    {
        let rest: Vec<Value> = chain[1..].iter().map(|c| json!({ "raw": c })).collect();
        certs.insert("chain".into(), Value::Array(rest));
    }
    let mut validation = Map::new();
    validation.insert("browser_trusted".into(), Value::Bool(tls.trusted));
    if let Some(e) = &tls.trust_error {
        validation.insert("browser_error".into(), Value::String(e.clone()));
    }
    if let Some(m) = tls.name_matches {
        validation.insert("matches_domain".into(), Value::Bool(m));
    }
    certs.insert("validation".into(), Value::Object(validation));
    json!({
        "handshake_log": {
            "server_hello": Value::Object(hello),
            "server_certificates": Value::Object(certs),
        }
    })
}

fn parse_time(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

fn parsed_cert(f: &CertFacts, self_signed: Option<bool>) -> Value {
    let serial = BigUint::parse_bytes(f.serial.as_bytes(), 16)
        .map(|n| n.to_string())
        .unwrap_or_else(|| f.serial.clone());
    let mut validity = Map::new();
    validity.insert("start".into(), Value::String(f.not_before.clone()));
    validity.insert("end".into(), Value::String(f.not_after.clone()));
    if let (Some(a), Some(b)) = (parse_time(&f.not_before), parse_time(&f.not_after)) {
        validity.insert("length".into(), json!(b - a));
    }
    let mut key = Map::new();
    key.insert(
        "key_algorithm".into(),
        json!({ "name": f.public_key_algorithm }),
    );
    if let Some(bits) = f.public_key_bits {
        let field = match f.public_key_algorithm.as_str() {
            "RSA" | "RSA-PSS" => Some("rsa_public_key"),
            "ECDSA" => Some("ecdsa_public_key"),
            "DSA" => Some("dsa_public_key"),
            _ => None,
        };
        if let Some(field) = field {
            let mut k = Map::new();
            k.insert("length".into(), json!(bits));
            if let Some(c) = &f.public_key_curve {
                k.insert("curve".into(), Value::String(c.clone()));
            }
            key.insert(field.into(), Value::Object(k));
        }
    }
    let mut parsed = Map::new();
    parsed.insert("serial_number".into(), Value::String(serial));
    parsed.insert(
        "signature_algorithm".into(),
        json!({ "name": f.signature_algorithm }),
    );
    parsed.insert("issuer_dn".into(), Value::String(f.issuer.clone()));
    parsed.insert("validity".into(), Value::Object(validity));
    parsed.insert("subject_dn".into(), Value::String(f.subject.clone()));
    if let Some(cn) = &f.subject_cn {
        parsed.insert("subject".into(), json!({ "common_name": [cn] }));
    }
    parsed.insert("subject_key_info".into(), Value::Object(key));
    if !f.san_dns.is_empty() || !f.san_ip.is_empty() {
        let mut san = Map::new();
        if !f.san_dns.is_empty() {
            san.insert("dns_names".into(), json!(f.san_dns));
        }
        if !f.san_ip.is_empty() {
            san.insert("ip_addresses".into(), json!(f.san_ip));
        }
        parsed.insert("extensions".into(), json!({ "subject_alt_name": san }));
    }
    if let Some(s) = self_signed {
        parsed.insert("signature".into(), json!({ "self_signed": s }));
    }
    parsed.insert("fingerprint_sha256".into(), Value::String(f.sha256.clone()));
    Value::Object(parsed)
}
