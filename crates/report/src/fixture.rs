//! A generator of realistic grab records, for benchmarks and demos.
//!
//! Records have the full shape `smtpsweep sweep` writes (scan fields, the
//! SMTP conversation, TLS facts with a leaf certificate, a fingerprint with
//! its matches, CVEs), with addresses in 198.18.0.0/15 and host names under
//! `example.net`. Deterministic for a given seed.

use std::io::{self, Write};

use serde_json::{Value, json};
use smtpsweep_vulns::VulnDb;

/// Ports of the first 393,216 records (each address of 198.18.0.0/15 on
/// all three, records interleaved 25, 587, 465, ...).
pub const FIXTURE_MAIN_PORTS: [u16; 3] = [25, 587, 465];
/// Ports of later records (again every address on each).
pub const FIXTURE_EXTRA_PORTS: [u16; 5] = [2525, 26, 24, 1025, 10025];
/// Distinct (address, port) pairs the generator makes before repeating.
pub const FIXTURE_SERVICES: usize = 131_072 * 8;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

struct Persona {
    vendor: &'static str,
    family: &'static str,
    product: &'static str,
    versions: &'static [&'static str],
    /// `{h}` host, `{v}` version, `{d}` date.
    banner: &'static str,
    weight: u64,
}

const PERSONAS: &[Persona] = &[
    Persona {
        vendor: "Postfix",
        family: "Postfix",
        product: "Postfix",
        versions: &["", "", "", "3.7.11", "3.5.25", "3.4.14", "2.11.3", "3.8.6"],
        banner: "220 {h} ESMTP Postfix (Debian/GNU)",
        weight: 420,
    },
    Persona {
        vendor: "Exim",
        family: "exim",
        product: "Exim",
        versions: &[
            "4.92", "4.93", "4.94.2", "4.96", "4.89", "4.90_1", "4.92.3", "4.97.1", "4.95", "4.91",
        ],
        banner: "220 {h} ESMTP Exim {v} {d}",
        weight: 200,
    },
    Persona {
        vendor: "Microsoft",
        family: "Exchange Server",
        product: "Exchange Server",
        versions: &["", "15.1.2507.39", "15.2.1118.40"],
        banner: "220 {h} Microsoft ESMTP MAIL Service ready at {d}",
        weight: 90,
    },
    Persona {
        vendor: "Sendmail",
        family: "Sendmail",
        product: "Sendmail",
        versions: &["8.14.4/8.14.4", "8.15.2/8.15.2", "8.17.1/8.17.1"],
        banner: "220 {h} ESMTP Sendmail {v}; {d}",
        weight: 80,
    },
    Persona {
        vendor: "OpenBSD",
        family: "OpenSMTPD",
        product: "OpenSMTPD",
        versions: &["", "6.6.1", "7.3.0"],
        banner: "220 {h} ESMTP OpenSMTPD",
        weight: 30,
    },
    Persona {
        vendor: "Microsoft",
        family: "IIS",
        product: "IIS",
        versions: &["10.0.17763.1", "8.5.9600.16384"],
        banner: "220 {h} Microsoft ESMTP MAIL Service, Version: {v} ready at  {d}",
        weight: 40,
    },
    Persona {
        vendor: "",
        family: "",
        product: "",
        versions: &[""],
        banner: "220 {h} ESMTP service ready",
        weight: 140,
    },
];

const STATUSES: &[(&str, u64)] = &[
    ("success", 880),
    ("connection-timeout", 30),
    ("io-timeout", 20),
    ("connection-closed", 20),
    ("protocol-error", 10),
    ("application-error", 10),
    ("handshake-error", 10),
    ("tls-version-unsupported", 10),
    ("connection-refused", 10),
];

const ISSUERS: &[&str] = &[
    "CN=R3, O=Let's Encrypt, C=US",
    "CN=R10, O=Let's Encrypt, C=US",
    "CN=Sectigo RSA Domain Validation Secure Server CA, O=Sectigo Limited, L=Salford, ST=Greater Manchester, C=GB",
    "CN=GeoTrust TLS RSA CA G1, OU=www.digicert.com, O=DigiCert Inc, C=US",
];

const CIPHERS: &[(&str, &str, u16)] = &[
    ("TLSv1.3", "TLS13_AES_256_GCM_SHA384", 0x1302),
    ("TLSv1.3", "TLS13_AES_128_GCM_SHA256", 0x1301),
    ("TLSv1.3", "TLS13_CHACHA20_POLY1305_SHA256", 0x1303),
    ("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xc030),
    ("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f),
];

fn hex(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        s.push_str(&format!("{:02x}", rng.below(256)));
    }
    s
}

fn reply(code: u16, lines: &[String]) -> Value {
    json!({"code": code, "text": lines.join("\n"), "lenient": false})
}

fn extensions(host: &str, starttls: bool, auth: bool) -> Value {
    json!({
        "domain": host, "greeting": host, "size_advertised": true, "size": 52428800u64,
        "pipelining": true, "eightbitmime": true, "starttls": starttls,
        "auth_advertised": auth, "auth": if auth { json!(["PLAIN", "LOGIN"]) } else { json!([]) },
        "smtputf8": false, "chunking": true, "dsn": true, "enhancedstatuscodes": true, "unknown": ["VRFY", "ETRN"]
    })
}

fn ehlo_lines(host: &str, starttls: bool, auth: bool) -> Vec<String> {
    let mut l = vec![
        host.to_string(),
        "PIPELINING".into(),
        "SIZE 52428800".into(),
        "VRFY".into(),
        "ETRN".into(),
    ];
    if starttls {
        l.push("STARTTLS".into());
    }
    if auth {
        l.push("AUTH PLAIN LOGIN".into());
    }
    l.extend(["ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "CHUNKING"].map(String::from));
    l
}

/// Write `n` records (JSON Lines) drawn from `seed`. The first 393,216
/// records put every address of 198.18.0.0/15 (in a seed-dependent order) on
/// ports 25, 587 and 465 in turn, the next 655,360 on five other ports; so
/// the first [`FIXTURE_SERVICES`] records are distinct services, and record
/// `i + FIXTURE_SERVICES` repeats record `i`'s service. About 88 % succeed;
/// failures carry the statuses of the grab stage.
pub fn generate_fixture<W: Write>(n: usize, seed: u64, w: &mut W) -> io::Result<()> {
    let vulns = VulnDb::builtin();
    let mut rng = Rng(seed ^ 0x5157_4545_5052_5054);
    let weight_total: u64 = PERSONAS.iter().map(|p| p.weight).sum();
    let status_total: u64 = STATUSES.iter().map(|s| s.1).sum();
    let shift = (seed as u32).wrapping_mul(2_654_435_761) % 131_072;
    for i in 0..n {
        let j = i % FIXTURE_SERVICES;
        let main = 131_072 * FIXTURE_MAIN_PORTS.len();
        let (slot, port) = if j < main {
            (j / 3, FIXTURE_MAIN_PORTS[j % 3])
        } else {
            let e = j - main;
            (e / 5, FIXTURE_EXTRA_PORTS[e % 5])
        };
        let idx = ((slot as u32).wrapping_mul(92_821).wrapping_add(shift)) % 131_072;
        let ip = std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(198, 18, 0, 0)) + idx);
        let host = format!("mx{}.{}.example.net", idx % 7, idx / 7 % 4096);
        let mut pick = rng.below(weight_total);
        let persona = PERSONAS
            .iter()
            .find(|p| {
                if pick < p.weight {
                    true
                } else {
                    pick -= p.weight;
                    false
                }
            })
            .unwrap_or(&PERSONAS[0]);
        let version = *rng.pick(persona.versions);
        let mut s = rng.below(status_total);
        let status = STATUSES
            .iter()
            .find(|(_, w)| {
                if s < *w {
                    true
                } else {
                    s -= w;
                    false
                }
            })
            .map_or("success", |x| x.0);
        let day = 1 + rng.below(28);
        let date = format!(
            "Mon, {day:02} Nov 2026 09:{:02}:{:02} +0000",
            rng.below(60),
            rng.below(60)
        );
        let ts = format!(
            "2026-11-30T09:{:02}:{:02}.{:06}Z",
            rng.below(60),
            rng.below(60),
            rng.below(1_000_000)
        );
        let banner_text = persona
            .banner
            .replace("{h}", &host)
            .replace("{v}", if version.is_empty() { "4.96" } else { version })
            .replace("{d}", &date);
        let implicit = port == 465;
        let offers_tls = implicit || rng.chance(700);
        let auth = rng.chance(500);
        let scan = json!({
            "ip": ip.to_string(), "port": port, "classification": "synack", "success": true,
            "repeat": false, "cooldown": false, "ttl": 50 + rng.below(14), "ipid": rng.below(65536),
            "window": 64240, "seq": rng.below(1 << 32), "ack": rng.below(1 << 32),
            "daddr": "198.18.255.1", "dport": 40000 + rng.below(20000), "timestamp": ts,
            "icmp_responder": null, "icmp_code": null
        });
        let mut smtp = json!({
            "banner": null, "banner_code": null, "ehlo": null, "helo": null, "starttls": null,
            "ehlo_tls": null, "helo_tls": null, "help": null, "quit": null,
            "extensions": null, "extensions_tls": null
        });
        let mut tls = Value::Null;
        let mut error = Value::Null;
        let no_greeting = matches!(
            status,
            "connection-timeout" | "connection-refused" | "protocol-error"
        );
        let failed_tls = matches!(status, "handshake-error" | "tls-version-unsupported");
        let greeted = !(no_greeting || (implicit && failed_tls));
        if greeted {
            let code = if status == "application-error" {
                554
            } else {
                220
            };
            let text = if code == 554 {
                format!("554 {host} Access denied")
            } else {
                banner_text.clone()
            };
            smtp["banner"] = json!(format!("{text}\r\n"));
            smtp["banner_code"] = json!(code);
        }
        let full = matches!(
            status,
            "success"
                | "handshake-error"
                | "tls-version-unsupported"
                | "post-tls-application-error"
        ) || (status == "io-timeout" && greeted);
        if full && greeted {
            smtp["ehlo"] = reply(250, &ehlo_lines(&host, offers_tls && !implicit, auth));
            smtp["extensions"] = extensions(&host, offers_tls && !implicit, auth);
        }
        let tls_ok = status == "success" && (implicit || offers_tls);
        if greeted && offers_tls && !implicit && full {
            smtp["starttls"] = reply(220, &["2.0.0 Ready to start TLS".to_string()]);
        }
        if tls_ok {
            let (ver, suite, id) = *rng.pick(CIPHERS);
            let self_signed = rng.chance(150);
            let expired = rng.chance(60);
            let issuer = if self_signed {
                format!("CN={host}")
            } else {
                rng.pick(ISSUERS).to_string()
            };
            let name_matches = !self_signed || rng.chance(500);
            let trusted = !self_signed && !expired && name_matches;
            tls = json!({
                "mode": if implicit { "implicit" } else { "starttls" },
                "version": ver, "cipher_suite": suite, "cipher_suite_id": id, "alpn": null,
                "chain": null, "chain_length": if self_signed { 1 } else { 2 },
                "leaf": {
                    "subject": format!("CN={host}"), "issuer": issuer, "subject_cn": host,
                    "san_dns": [host.clone(), format!("smtp.{}.example.net", idx / 7 % 4096)], "san_ip": [],
                    "serial": hex(&mut rng, 16), "not_before": "2026-09-01T00:00:00Z",
                    "not_after": if expired { "2026-10-01T00:00:00Z" } else { "2027-03-01T00:00:00Z" },
                    "public_key_algorithm": "RSA", "public_key_bits": 2048, "public_key_curve": null,
                    "signature_algorithm": "SHA256-RSA", "sha256": hex(&mut rng, 32)
                },
                "cert_error": null, "checked_name": host, "self_signed": self_signed, "expired": expired,
                "name_matches": name_matches, "trusted": trusted,
                "trust_error": if trusted { Value::Null } else { json!("UnknownIssuer") }
            });
            if !implicit {
                smtp["ehlo_tls"] = reply(250, &ehlo_lines(&host, false, true));
                smtp["extensions_tls"] = extensions(&host, false, true);
            }
        }
        if status == "success" {
            smtp["quit"] = reply(221, &["2.0.0 Bye".to_string()]);
        } else {
            error = json!(match status {
                "connection-timeout" => "connect timed out after 10s".to_string(),
                "connection-refused" => "connection refused".to_string(),
                "io-timeout" => "read timed out after 10s".to_string(),
                "connection-closed" => "connection closed by peer".to_string(),
                "protocol-error" => "greeting is not an SMTP reply".to_string(),
                "application-error" => format!("greeting {}", 554),
                "handshake-error" => "TLS handshake failed: received corrupt message".to_string(),
                "tls-version-unsupported" => "server offers only TLS 1.0/1.1".to_string(),
                other => other.to_string(),
            });
        }
        let mut rec = json!({
            "ip": ip.to_string(), "port": port, "scan": scan, "status": status, "error": error,
            "timestamp": ts, "duration_ms": 5 + rng.below(400), "smtp": smtp, "tls": tls
        });
        if greeted && !persona.family.is_empty() && status != "application-error" {
            let mut params = serde_json::Map::new();
            params.insert("service.vendor".into(), json!(persona.vendor));
            params.insert("service.family".into(), json!(persona.family));
            params.insert("service.product".into(), json!(persona.product));
            let cpe_v = if version.is_empty() { "-" } else { version };
            let cpe = format!(
                "cpe:/a:{}:{}:{cpe_v}",
                persona.vendor.to_lowercase(),
                persona.product.to_lowercase().replace(' ', "_")
            );
            params.insert("service.cpe23".into(), json!(cpe));
            if !version.is_empty() {
                params.insert("service.version".into(), json!(version));
            }
            params.insert("service.protocol".into(), json!("smtp"));
            params.insert("fingerprint_db".into(), json!("smtp.banner"));
            let mut fp = json!({
                "vendor": persona.vendor, "family": persona.family, "product": persona.product,
                "cpe23": cpe, "host_name": host, "db": "smtp.banner",
                "fingerprint": format!("{} ESMTP", persona.product), "certainty": 0.85,
                "matches": [{
                    "source": "banner", "text": banner_text.trim_start_matches("220 "),
                    "db": "smtp.banner", "fingerprint": format!("{} ESMTP", persona.product),
                    "params": params, "certainty": 0.85, "origin": "smtp_banners.xml", "line": 100 + rng.below(400)
                }]
            });
            if !version.is_empty() {
                fp["version"] = json!(version);
                let mut cves: Vec<Value> = Vec::new();
                for name in [persona.family, persona.product] {
                    for c in vulns.cves_for(name, version) {
                        if !cves.iter().any(|x| *x == json!(c.id)) {
                            cves.push(json!(c.id));
                        }
                    }
                }
                if !cves.is_empty() {
                    rec["cves"] = Value::Array(cves);
                }
            }
            rec["fingerprint"] = fp;
        }
        serde_json::to_writer(&mut *w, &rec)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}
