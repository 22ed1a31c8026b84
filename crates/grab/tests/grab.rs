//! End-to-end sessions against scripted SMTP servers on 127.0.0.1.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use common::*;
use smtpsweep_grab::{GrabConfig, GrabRecord, Status, TlsMode, grab};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn run(addr: SocketAddrV4, cfg: &GrabConfig) -> GrabRecord {
    grab(addr, cfg).await.expect("valid config")
}

fn commands(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn postfix_starttls_self_signed() {
    let cert = self_signed(
        "mx.example.test",
        &["mx.example.test", "*.mail.example.test"],
    );
    let (addr, log) = serve_persona(Persona::postfix(StartTls::Tls(server_config(
        &cert,
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    ))))
    .await;
    let rec = run(addr, &quick_config()).await;

    assert_eq!(rec.status, Status::Success, "{rec:?}");
    assert_eq!(rec.error, None);
    assert_eq!((rec.ip, rec.port), (*addr.ip(), addr.port()));
    assert_eq!(rec.smtp.banner.as_deref(), Some(POSTFIX_GREETING));
    assert_eq!(rec.smtp.banner_code, Some(220));
    let ext = rec.smtp.extensions.as_ref().expect("extensions");
    assert_eq!(ext.size, Some(10_240_000));
    assert!(ext.starttls && ext.pipelining && ext.eightbitmime && ext.dsn && ext.smtputf8);
    assert!(ext.chunking && ext.enhancedstatuscodes);
    assert!(ext.auth.is_empty());
    assert_eq!(ext.unknown, ["VRFY", "ETRN"]);
    let ext_tls = rec
        .smtp
        .extensions_tls
        .as_ref()
        .expect("extensions inside TLS");
    assert_eq!(ext_tls.auth, ["PLAIN", "LOGIN"]);
    assert!(!ext_tls.starttls);
    assert_eq!(rec.smtp.starttls.as_ref().map(|r| r.code), Some(220));
    assert_eq!(rec.smtp.quit.as_ref().map(|r| r.code), Some(221));
    assert_eq!(
        rec.smtp.ehlo.as_ref().unwrap().text.lines().next(),
        Some("mx.example.test")
    );

    let tls = rec.tls.as_ref().expect("tls facts");
    assert_eq!(tls.mode, TlsMode::Starttls);
    assert_eq!(tls.version, "TLSv1.3");
    assert!(tls.cipher_suite.starts_with("TLS_"), "{}", tls.cipher_suite);
    assert_eq!(tls.alpn, None);
    assert_eq!(tls.chain, None, "chain only with store_certs");
    assert_eq!(tls.chain_length, 1);
    let leaf = tls.leaf.as_ref().expect("leaf facts");
    assert_eq!(leaf.sha256, sha256_hex(&cert.der));
    assert_eq!(leaf.subject_cn.as_deref(), Some("mx.example.test"));
    assert_eq!(
        leaf.subject,
        "CN=mx.example.test,O=Testbed Mail\\, Inc.,C=ZZ"
    );
    assert_eq!(leaf.issuer, leaf.subject);
    assert_eq!(leaf.san_dns, ["mx.example.test", "*.mail.example.test"]);
    assert_eq!(leaf.serial, "9a0142");
    assert_eq!(leaf.public_key_algorithm, "ECDSA");
    assert_eq!(leaf.public_key_bits, Some(256));
    assert_eq!(leaf.public_key_curve.as_deref(), Some("P-256"));
    assert_eq!(leaf.signature_algorithm, "ECDSA-SHA256");
    assert_eq!(leaf.not_before, "1975-01-01T00:00:00Z");
    assert_eq!(leaf.not_after, "4096-01-01T00:00:00Z");
    assert_eq!(tls.checked_name.as_deref(), Some("mx.example.test"));
    assert_eq!(tls.self_signed, Some(true));
    assert_eq!(tls.expired, Some(false));
    assert_eq!(tls.name_matches, Some(true));
    assert!(!tls.trusted);
    assert!(
        tls.trust_error
            .as_deref()
            .unwrap()
            .contains("UnknownIssuer"),
        "{:?}",
        tls.trust_error
    );

    // Only the harmless commands, with the default EHLO name.
    assert_eq!(
        commands(&log),
        [
            "EHLO smtpsweep.invalid",
            "STARTTLS",
            "EHLO smtpsweep.invalid",
            "QUIT"
        ]
    );
}

#[tokio::test]
async fn ca_signed_chain_trust_and_names() {
    let ca = ca_signed("mx.example.test", &["mx.example.test"]);
    let cfg_tls = server_config(&ca.leaf, &[&rustls::version::TLS13]);
    let (addr, _) = serve_persona(Persona::postfix(StartTls::Tls(cfg_tls.clone()))).await;

    // Against the Mozilla roots: not trusted.
    let cfg = GrabConfig {
        store_certs: true,
        ..quick_config()
    };
    let rec = run(addr, &cfg).await;
    assert_eq!(rec.status, Status::Success);
    let tls = rec.tls.as_ref().unwrap();
    assert_eq!(tls.chain_length, 2);
    let chain = tls.chain.as_ref().expect("store_certs keeps the chain");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(b64.decode(&chain[0]).unwrap(), ca.leaf.der.as_ref());
    assert_eq!(b64.decode(&chain[1]).unwrap(), ca.ca_der.as_ref());
    assert_eq!(tls.self_signed, Some(false));
    assert_eq!(tls.name_matches, Some(true));
    assert!(!tls.trusted);
    let leaf = tls.leaf.as_ref().unwrap();
    assert_eq!(leaf.issuer, "CN=smtpsweep Test Root,O=smtpsweep Test CA");

    // With the test CA as the only root: trusted.
    let cfg = GrabConfig {
        trust_roots: Some(ca.roots()),
        ..quick_config()
    };
    let rec = run(addr, &cfg).await;
    let tls = rec.tls.as_ref().unwrap();
    assert!(tls.trusted, "{:?}", tls.trust_error);
    assert_eq!(tls.trust_error, None);

    // Same chain, but the greeting names another host: name mismatch, not trusted.
    let mut p = Persona::postfix(StartTls::Tls(cfg_tls));
    p.greeting = "220 relay.other.test ESMTP\r\n";
    let (addr2, _) = serve_persona(p).await;
    let rec = run(addr2, &cfg).await;
    let tls = rec.tls.as_ref().unwrap();
    assert_eq!(tls.checked_name.as_deref(), Some("relay.other.test"));
    assert_eq!(tls.name_matches, Some(false));
    assert!(!tls.trusted);
    assert!(
        tls.trust_error
            .as_deref()
            .unwrap()
            .contains("not valid for name"),
        "{:?}",
        tls.trust_error
    );
}

#[tokio::test]
async fn expired_certificate() {
    let cert = expired("old.example.test");
    let (addr, _) = serve_persona(Persona {
        greeting: "220 old.example.test ESMTP\r\n",
        ..Persona::postfix(StartTls::Tls(server_config(
            &cert,
            &[&rustls::version::TLS12],
        )))
    })
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::Success);
    let tls = rec.tls.as_ref().unwrap();
    assert_eq!(tls.version, "TLSv1.2");
    assert!(
        tls.cipher_suite.starts_with("TLS_ECDHE_ECDSA_WITH_"),
        "{}",
        tls.cipher_suite
    );
    assert_eq!(tls.expired, Some(true));
    assert_eq!(tls.self_signed, Some(true));
    assert_eq!(tls.name_matches, Some(true));
    let leaf = tls.leaf.as_ref().unwrap();
    assert_eq!(leaf.not_after, "2001-01-01T00:00:00Z");
    assert_eq!(leaf.sha256, sha256_hex(&cert.der));
    assert!(!tls.trusted);
}

#[tokio::test]
async fn implicit_tls_on_smtps_port() {
    let cert = self_signed("smtps.example.test", &["smtps.example.test"]);
    let (addr, log) = serve_persona(Persona {
        greeting: "220 smtps.example.test ESMTP ready\r\n",
        implicit: Some(server_config(&cert, &[&rustls::version::TLS12])),
        ..Persona::postfix(StartTls::Refuse("503 already TLS\r\n"))
    })
    .await;
    let cfg = GrabConfig {
        smtps_ports: vec![addr.port()],
        send_help: true,
        ..quick_config()
    };
    let rec = run(addr, &cfg).await;
    assert_eq!(rec.status, Status::Success, "{rec:?}");
    assert_eq!(
        rec.smtp.banner.as_deref(),
        Some("220 smtps.example.test ESMTP ready\r\n")
    );
    let tls = rec.tls.as_ref().unwrap();
    assert_eq!(tls.mode, TlsMode::Implicit);
    assert_eq!(tls.version, "TLSv1.2");
    assert_eq!(tls.leaf.as_ref().unwrap().sha256, sha256_hex(&cert.der));
    // Inside implicit TLS the "plain" EHLO is the TLS one, and no STARTTLS is sent.
    assert!(
        rec.smtp
            .extensions
            .as_ref()
            .unwrap()
            .auth
            .contains(&"PLAIN".to_string())
    );
    assert_eq!(rec.smtp.starttls, None);
    assert_eq!(rec.smtp.help.as_ref().map(|r| r.code), Some(214));
    assert_eq!(commands(&log), ["EHLO smtpsweep.invalid", "HELP", "QUIT"]);

    // The same server is not SMTP when the port is not configured as implicit TLS.
    let cfg = GrabConfig {
        smtps_ports: vec![],
        read_timeout: Duration::from_millis(500),
        ..quick_config()
    };
    let rec = run(addr, &cfg).await;
    assert_eq!(rec.status, Status::IoTimeout, "{rec:?}");
}

#[tokio::test]
async fn starttls_refused_with_454_is_success_without_tls() {
    let (addr, log) = serve_persona(Persona::postfix(StartTls::Refuse(
        "454 4.7.0 TLS not available due to local problem\r\n",
    )))
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::Success);
    let st = rec.smtp.starttls.as_ref().unwrap();
    assert_eq!(st.code, 454);
    assert_eq!(st.text, "4.7.0 TLS not available due to local problem");
    assert_eq!(rec.tls, None);
    assert_eq!(
        commands(&log),
        ["EHLO smtpsweep.invalid", "STARTTLS", "QUIT"]
    );
}

#[tokio::test]
async fn no_starttls_when_disabled() {
    let cert = self_signed("mx.example.test", &["mx.example.test"]);
    let (addr, log) = serve_persona(Persona::postfix(StartTls::Tls(server_config(
        &cert,
        &[&rustls::version::TLS13],
    ))))
    .await;
    let cfg = GrabConfig {
        starttls: false,
        ehlo_name: "scanner.example.test".into(),
        ..quick_config()
    };
    let rec = run(addr, &cfg).await;
    assert_eq!(rec.status, Status::Success);
    assert_eq!(rec.tls, None);
    assert_eq!(commands(&log), ["EHLO scanner.example.test", "QUIT"]);
}

#[tokio::test]
async fn ehlo_500_falls_back_to_helo() {
    let (addr, log) = serve_persona(Persona {
        greeting: "220 old.example.test Sendmail 8.6.12 ready\r\n",
        ehlo: "500 Command unrecognized\r\n",
        helo: "250 old.example.test Hello\r\n",
        ..Persona::postfix(StartTls::Refuse("502 no\r\n"))
    })
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::Success);
    assert_eq!(rec.smtp.ehlo.as_ref().map(|r| r.code), Some(500));
    assert_eq!(rec.smtp.helo.as_ref().map(|r| r.code), Some(250));
    assert_eq!(rec.smtp.extensions, None);
    assert_eq!(
        commands(&log),
        ["EHLO smtpsweep.invalid", "HELO smtpsweep.invalid", "QUIT"]
    );
}

#[tokio::test]
async fn greeting_421_is_application_error() {
    let (addr, log) = serve_persona(Persona {
        greeting: "421 4.3.2 mx.example.test Service not available, closing channel\r\n",
        ..Persona::postfix(StartTls::Refuse("502 no\r\n"))
    })
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::ApplicationError);
    assert_eq!(rec.smtp.banner_code, Some(421));
    assert!(
        rec.error.as_deref().unwrap().contains("421"),
        "{:?}",
        rec.error
    );
    assert_eq!(rec.smtp.ehlo, None);
    assert_eq!(commands(&log), ["QUIT"]);
}

#[tokio::test]
async fn silent_server_is_io_timeout() {
    let addr = serve_raw(|tcp| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(tcp);
    })
    .await;
    let cfg = GrabConfig {
        read_timeout: Duration::from_millis(300),
        ..quick_config()
    };
    let rec = run(addr, &cfg).await;
    assert_eq!(rec.status, Status::IoTimeout);
    assert!(
        rec.error.as_deref().unwrap().contains("read timed out"),
        "{:?}",
        rec.error
    );
    assert_eq!(rec.smtp.banner, None);
}

#[tokio::test]
async fn slow_drip_ends_at_the_session_deadline() {
    let addr = serve_raw(|mut tcp| async move {
        for b in b"220 drip.example.test ESMTP this greeting never ends "
            .iter()
            .cycle()
        {
            if tcp.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let cfg = GrabConfig {
        read_timeout: Duration::from_secs(2),
        session_timeout: Duration::from_millis(600),
        ..quick_config()
    };
    let rec = run(addr, &cfg).await;
    assert_eq!(rec.status, Status::IoTimeout);
    assert!(
        rec.error.as_deref().unwrap().contains("session deadline"),
        "{:?}",
        rec.error
    );
}

#[tokio::test]
async fn endless_greeting_hits_the_reply_cap() {
    let addr = serve_raw(|mut tcp| async move {
        loop {
            if tcp
                .write_all(b"220-endless.example.test keeps talking\r\n")
                .await
                .is_err()
            {
                return;
            }
        }
    })
    .await;
    let cfg = GrabConfig {
        max_reply: 4096,
        ..quick_config()
    };
    let rec = run(addr, &cfg).await;
    assert_eq!(rec.status, Status::ProtocolError, "{rec:?}");
}

#[tokio::test]
async fn binary_garbage_is_protocol_error() {
    let addr = serve_raw(|mut tcp| async move {
        let junk: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        let _ = tcp.write_all(&junk).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::ProtocolError, "{rec:?}");
}

#[tokio::test]
async fn ssh_banner_is_protocol_error() {
    let addr = serve_raw(|mut tcp| async move {
        let _ = tcp.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n").await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::ProtocolError);
}

#[tokio::test]
async fn reset_after_greeting_is_connection_closed() {
    let addr = serve_raw(|mut tcp| async move {
        let _ = tcp.write_all(b"220 rst.example.test ESMTP\r\n").await;
        let mut buf = [0u8; 64];
        let _ = tcp.read(&mut buf).await; // the EHLO
        let _ = tcp.set_zero_linger();
        drop(tcp); // RST
    })
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::ConnectionClosed, "{rec:?}");
    assert_eq!(
        rec.smtp.banner.as_deref(),
        Some("220 rst.example.test ESMTP\r\n")
    );
}

#[tokio::test]
async fn close_before_greeting_is_connection_closed() {
    let addr = serve_raw(|tcp| async move { drop(tcp) }).await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::ConnectionClosed);
    assert_eq!(rec.smtp.banner, None);
}

#[tokio::test]
async fn tls_garbage_after_starttls_is_handshake_error() {
    let (addr, _) = serve_persona(Persona::postfix(StartTls::Raw(
        b"this is not a TLS record at all\r\n".to_vec(),
    )))
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::HandshakeError, "{rec:?}");
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .starts_with("TLS handshake failed")
    );
    assert_eq!(rec.tls, None);
}

/// A TLS 1.0 ServerHello record (TLS_RSA_WITH_AES_128_CBC_SHA, no extensions).
fn tls10_server_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x01]; // server_version TLS 1.0
    body.extend((0..32u8).map(|i| i.wrapping_mul(7)));
    body.push(0); // session id length
    body.extend([0x00, 0x2f]); // cipher suite
    body.push(0); // compression: null
    let mut hs = vec![0x02, 0, 0, body.len() as u8];
    hs.extend(body);
    let mut rec = vec![0x16, 0x03, 0x01, 0, hs.len() as u8];
    rec.extend(hs);
    rec
}

/// A fatal protocol_version alert record.
const PROTOCOL_VERSION_ALERT: [u8; 7] = [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46];

#[tokio::test]
async fn tls10_server_hello_is_version_unsupported() {
    let (addr, _) = serve_persona(Persona::postfix(StartTls::Raw(tls10_server_hello()))).await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::TlsVersionUnsupported, "{rec:?}");
}

#[tokio::test]
async fn protocol_version_alert_is_version_unsupported() {
    let (addr, _) = serve_persona(Persona::postfix(StartTls::Raw(
        PROTOCOL_VERSION_ALERT.to_vec(),
    )))
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::TlsVersionUnsupported, "{rec:?}");
}

#[tokio::test]
async fn implicit_tls_version_failures() {
    for (reply, want, why) in [
        (
            tls10_server_hello(),
            Status::TlsVersionUnsupported,
            "ServerDoesNotSupportTls12Or13",
        ),
        (
            PROTOCOL_VERSION_ALERT.to_vec(),
            Status::TlsVersionUnsupported,
            "ProtocolVersion",
        ),
        (
            b"220 plaintext.example.test ESMTP\r\n".to_vec(),
            Status::HandshakeError,
            "corrupt message",
        ),
        // handshake_failure alert: a failure, but not a version problem.
        (
            vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
            Status::HandshakeError,
            "HandshakeFailure",
        ),
    ] {
        let addr = serve_raw(move |mut tcp| {
            let reply = reply.clone();
            async move {
                let mut buf = [0u8; 2048];
                let _ = tcp.read(&mut buf).await; // the ClientHello
                let _ = tcp.write_all(&reply).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
        .await;
        let cfg = GrabConfig {
            smtps_ports: vec![addr.port()],
            ..quick_config()
        };
        let rec = run(addr, &cfg).await;
        assert_eq!(rec.status, want, "{rec:?}");
        assert!(
            rec.error.as_deref().unwrap().contains(why),
            "{:?}",
            rec.error
        );
        assert_eq!(rec.smtp.banner, None);
    }
}

#[tokio::test]
async fn unparsable_certificate_is_recorded_not_fatal() {
    let junk =
        rustls::pki_types::CertificateDer::from(b"\x30\x03\x02\x01\x05 not a certificate".to_vec());
    let (addr, _) = serve_persona(Persona::postfix(StartTls::Tls(server_config_raw_chain(
        vec![junk],
    ))))
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::Success, "{rec:?}");
    let tls = rec.tls.as_ref().unwrap();
    assert_eq!(tls.leaf, None);
    assert!(
        tls.cert_error
            .as_deref()
            .unwrap()
            .contains("does not parse"),
        "{:?}",
        tls.cert_error
    );
    assert_eq!(tls.self_signed, None);
    assert!(!tls.trusted);
    assert!(tls.trust_error.is_some());
}

#[tokio::test]
async fn connection_refused_on_closed_port() {
    let (l, addr) = listener().await;
    drop(l);
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::ConnectionRefused);
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("refused"),
        "{:?}",
        rec.error
    );
    assert_eq!(rec.tls, None);
    assert_eq!(rec.smtp, Default::default());
}

#[tokio::test]
async fn connect_timeout_when_the_accept_queue_is_full() {
    // A listener that never accepts, with the smallest backlog: once its queue is
    // full the kernel drops further SYNs, so a connect can only time out.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0).into())
        .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket_ipv4().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cfg = GrabConfig {
        connect_timeout: Duration::from_millis(400),
        ..quick_config()
    };
    let rec = run(addr, &cfg).await;
    assert_eq!(rec.status, Status::ConnectionTimeout, "{rec:?}");
    drop(fillers);
}

#[tokio::test]
async fn invalid_config_is_rejected() {
    let cfg = GrabConfig {
        ehlo_name: "bad name\r\nMAIL FROM:<x>".into(),
        ..quick_config()
    };
    let err = grab(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 25), &cfg)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("EHLO name"), "{err}");
    let cfg = GrabConfig {
        read_timeout: Duration::ZERO,
        ..quick_config()
    };
    assert!(cfg.validate().is_err());
}

#[tokio::test]
async fn non_utf8_greeting_is_kept_lossily_and_multiline_joined() {
    let addr = serve_raw(|mut tcp| async move {
        let _ = tcp
            .write_all(b"220-caf\xe9.example.test first\r\n220 second \xff line\n")
            .await;
        let mut buf = [0u8; 256];
        let _ = tcp.read(&mut buf).await; // EHLO
        let _ = tcp.write_all(b"250 ok\r\n").await;
        let _ = tcp.read(&mut buf).await; // QUIT
        let _ = tcp.write_all(b"221 bye\r\n").await;
    })
    .await;
    let rec = run(addr, &quick_config()).await;
    assert_eq!(rec.status, Status::Success, "{rec:?}");
    assert_eq!(
        rec.smtp.banner.as_deref(),
        Some("220-caf\u{fffd}.example.test first\r\n220 second \u{fffd} line\n")
    );
    assert_eq!(rec.smtp.ehlo.as_ref().unwrap().text, "ok");
    assert_eq!(rec.smtp.extensions.as_ref().unwrap().domain, "ok");
}
