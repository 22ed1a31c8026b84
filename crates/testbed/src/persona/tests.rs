//! Personas over in-memory pipes: every realistic dialect, every hostile kind, and TLS with a
//! real rustls client.

use std::collections::HashSet;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufRead, DuplexStream, duplex};
use tokio_rustls::TlsConnector;

use super::*;
use crate::tls::{Authority, CertKind, LeafSpec};

const SERVER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 9);
const CLIENT: &str = "198.19.255.1:40000";

fn host() -> String {
    host_name(SERVER_IP)
}

fn date() -> SmtpDate {
    // 2024-05-06T07:08:09Z shown at -0500.
    SmtpDate {
        unix: 1_714_979_289,
        offset_minutes: -300,
    }
}

fn client_addr() -> SocketAddr {
    CLIENT.parse().unwrap()
}

fn session(port: u16, tls: Option<Arc<rustls::ServerConfig>>) -> Session {
    Session {
        local: SocketAddr::new(SERVER_IP.into(), port),
        peer: client_addr(),
        host_name: host(),
        date: date(),
        idle_timeout: Duration::from_secs(5),
        hostile_limit: Duration::from_secs(5),
        tls,
        implicit_tls: port == 465,
        noise: 0x5eed,
    }
}

fn persona(name: &str) -> &'static Persona {
    find(name).unwrap_or_else(|| panic!("no persona {name}"))
}

/// A server config with a fresh certificate of `kind` for the test host, and the authority.
fn server_tls(kind: CertKind, max: TlsVersion) -> (Arc<rustls::ServerConfig>, Authority, String) {
    let ca = Authority::new().unwrap();
    let cert = ca
        .issue(&LeafSpec {
            host: host(),
            kind,
            not_before_days: match kind {
                CertKind::Expired => 18_000,
                _ => 19_800,
            },
            not_after_days: match kind {
                CertKind::Expired => 18_500,
                _ => 23_450,
            },
            serial: 42,
            key: 0,
        })
        .unwrap();
    let provider = crate::tls::provider();
    let key = crate::tls::signing_key(&provider, ca.key_der(0)).unwrap();
    let config = crate::tls::server_config(&provider, cert.chain, key, max).unwrap();
    (config, ca, cert.sha256)
}

/// Accepts any certificate but checks the handshake signatures, like a scanner.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn scanner_tls() -> TlsConnector {
    let provider = crate::tls::provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

fn trusting_tls(ca: &Authority) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.ca_der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

fn server_name() -> ServerName<'static> {
    ServerName::try_from(host()).unwrap()
}

/// Starts `p` on the server end of a pipe; returns the client end and the server task.
fn start(
    p: &'static Persona,
    s: Session,
) -> (DuplexStream, tokio::task::JoinHandle<io::Result<()>>) {
    let (client, server) = duplex(1 << 16);
    let task = tokio::spawn(async move { p.handle(server, &s).await });
    (client, task)
}

/// Reads one reply (all continuation lines) verbatim; empty at EOF.
async fn read_reply<R: AsyncBufRead + Unpin>(r: &mut R) -> String {
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap() == 0 {
            return reply;
        }
        reply.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return reply;
        }
    }
}

async fn say<W: AsyncWrite + Unpin>(w: &mut W, line: &str) {
    w.write_all(line.as_bytes()).await.unwrap();
    w.write_all(b"\r\n").await.unwrap();
    w.flush().await.unwrap();
}

/// Runs `p` against a scripted plaintext client and returns everything the server wrote.
async fn talk(p: &'static Persona, client_lines: &[u8], s: Session) -> String {
    let (mut client, task) = start(p, s);
    client.write_all(client_lines).await.unwrap();
    client.shutdown().await.unwrap();
    let mut out = Vec::new();
    client.read_to_end(&mut out).await.unwrap();
    task.await.unwrap().unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn registry_is_consistent() {
    let names: HashSet<_> = all().iter().map(|p| p.name()).collect();
    assert_eq!(names.len(), all().len());
    assert!(realistic().len() >= 15);
    assert_eq!(realistic().len() + hostile().len(), all().len());
    assert!(realistic().iter().all(|p| !p.is_hostile()));
    let kinds: HashSet<_> = hostile().iter().map(|p| p.hostile().unwrap()).collect();
    assert_eq!(kinds.len(), 11);
    assert_eq!(hostile().len(), 11);
    let families: HashSet<_> = realistic().iter().filter_map(|p| p.family()).collect();
    assert!(families.len() >= 15, "{families:?}");
    for p in all() {
        assert!(std::ptr::eq(find(p.name()).unwrap(), p));
        assert!(!p.software().is_empty());
        assert_eq!(p.fingerprint_source().is_some(), p.family().is_some());
        assert!(p.version().is_none() || p.family().is_some());
        if p.hostile() == Some(Hostile::StartTls454) {
            assert!(!p.usable_on(465) && p.usable_on(25) && p.usable_on(587));
        } else {
            assert!(p.usable_on(465));
        }
    }
    assert!(find("nope").is_none());
    assert_eq!(
        host_name(Ipv4Addr::new(198, 18, 3, 7)),
        "mx-198-18-3-7.testbed.example"
    );
}

#[test]
fn realistic_texts_are_well_formed() {
    let h = host();
    for p in realistic() {
        let g = p.greeting(&h, &date()).unwrap();
        let lines: Vec<&str> = g.split_terminator("\r\n").collect();
        assert!(g.ends_with("\r\n") && !lines.is_empty(), "{}", p.name());
        for (i, l) in lines.iter().enumerate() {
            let cont = if i + 1 == lines.len() { "220 " } else { "220-" };
            assert!(l.starts_with(cont), "{}: {l:?}", p.name());
        }
        assert!(lines[0].contains(&h), "{}: {g}", p.name());
        assert!(!g.contains('{') && !g.contains('\n') || g.matches('\n').count() == lines.len());
        for inside in [false, true] {
            let ext = p.ehlo_extensions(inside);
            assert!(!ext.is_empty(), "{}", p.name());
            assert!(ext.iter().all(|e| !e.contains('{') && !e.is_empty()));
            // STARTTLS is never offered inside TLS.
            assert_eq!(
                ext.iter().any(|e| e == "STARTTLS"),
                !inside && p.offers_starttls(),
                "{}",
                p.name()
            );
        }
        let help = p.help_reply(&h).unwrap();
        assert!(
            help.ends_with("\r\n") && !help.contains('{'),
            "{}",
            p.name()
        );
        assert_eq!(p.expected_status(), ExpectedStatus::Success);
    }
    let starttls = realistic().iter().filter(|p| p.offers_starttls()).count();
    assert!(starttls >= 10 && starttls < realistic().len(), "{starttls}");
    let tls12 = realistic()
        .iter()
        .filter(|p| p.max_tls() == TlsVersion::Tls12)
        .count();
    assert!(tls12 > 0 && tls12 < realistic().len());
}

#[test]
fn greetings_carry_the_frozen_date_in_each_products_style() {
    let h = host();
    let g = |name: &str| persona(name).greeting(&h, &date()).unwrap();
    assert_eq!(
        g("exim-4.89"),
        format!("220 {h} ESMTP Exim 4.89 Mon, 06 May 2024 02:08:09 -0500\r\n")
    );
    assert_eq!(
        g("sendmail-8.15.2-debian"),
        format!(
            "220 {h} ESMTP Sendmail 8.15.2/8.15.2/Debian-14~deb10u1; Mon, 6 May 2024 02:08:09 -0500\r\n"
        )
    );
    assert_eq!(
        g("exchange-2016"),
        format!("220 {h} Microsoft ESMTP MAIL Service ready at Mon, 6 May 2024 02:08:09 -0500\r\n")
    );
    assert_eq!(
        g("iis-10"),
        format!(
            "220 {h} Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready at  Mon, 6 May 2024 02:08:09 -0500\r\n"
        )
    );
    let cpanel = g("exim-4.91-cpanel");
    assert_eq!(cpanel.matches("\r\n").count(), 3);
    assert!(cpanel.starts_with(&format!("220-{h} ESMTP Exim 4.91 #2 Mon, 06 May 2024")));
    assert!(cpanel.ends_with("\r\n220 and/or bulk e-mail.\r\n"));
    assert_eq!(
        g("postfix-debian"),
        format!("220 {h} ESMTP Postfix (Debian/GNU)\r\n")
    );
    for p in hostile() {
        let has = p.greeting(&h, &date()).is_some();
        let expect = !matches!(
            p.hostile(),
            Some(Hostile::Silent | Hostile::Drip | Hostile::Endless | Hostile::Garbage)
        );
        assert_eq!(has, expect, "{}", p.name());
    }
}

#[test]
fn ehlo_reply_is_multiline_and_sanitises_the_client_name() {
    let client = client_addr();
    for p in realistic() {
        let r = p
            .ehlo_reply("h.example", client, "scanner.example extra", false)
            .unwrap();
        let lines: Vec<&str> = r.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 1 + p.ehlo_extensions(false).len());
        assert!(
            lines[..lines.len() - 1]
                .iter()
                .all(|l| l.starts_with("250-"))
        );
        assert!(lines.last().unwrap().starts_with("250 "));
        assert!(lines[0].contains("h.example"), "{}: {r}", p.name());
        assert!(
            !r.contains("extra") && !r.contains('{'),
            "{}: {r}",
            p.name()
        );
        let ext: Vec<&str> = lines[1..].iter().map(|l| &l[4..]).collect();
        assert_eq!(ext, p.ehlo_extensions(false));
    }
    let exim = persona("exim-4.89");
    let r = exim.ehlo_reply("h", client, "bad\u{1}name", false).unwrap();
    assert!(
        r.starts_with("250-h Hello bad?name [198.19.255.1]\r\n"),
        "{r}"
    );
    let ecelerity = persona("ecelerity-4.2");
    let r = ecelerity.ehlo_reply("h", client, "x", false).unwrap();
    assert!(
        r.starts_with("250-h says EHLO to 198.19.255.1:40000\r\n"),
        "{r}"
    );
    for name in [
        "hostile-ehlo-500",
        "hostile-greeting-421",
        "hostile-greeting-554",
    ] {
        assert!(persona(name).ehlo_reply("h", client, "x", false).is_none());
        assert!(persona(name).ehlo_extensions(false).is_empty());
    }
}

#[tokio::test]
async fn full_plaintext_conversation() {
    let p = persona("postfix-debian");
    let out = talk(
        p,
        b"EHLO scanner.example\r\nhelo x\r\nNOOP\r\nEHLO\r\nMAIL FROM:<a@b>\r\nHELP\r\nquit\r\nEHLO late\r\n",
        session(25, None),
    )
    .await;
    let h = host();
    let expected = format!(
        "{}{}250 {h}\r\n250 2.0.0 Ok\r\n501 5.5.4 Syntax: EHLO hostname\r\n502 5.5.2 Error: command not recognized\r\n{}221 2.0.0 Bye\r\n",
        p.greeting(&h, &date()).unwrap(),
        p.ehlo_reply(&h, client_addr(), "scanner.example", false)
            .unwrap(),
        p.help_reply(&h).unwrap(),
    );
    assert_eq!(out, expected);
}

#[tokio::test]
async fn every_realistic_persona_holds_a_conversation() {
    for p in realistic() {
        let out = talk(p, b"EHLO a.example\r\nHELP\r\nQUIT\r\n", session(587, None)).await;
        let h = host();
        let expected_start = format!(
            "{}{}{}",
            p.greeting(&h, &date()).unwrap(),
            p.ehlo_reply(&h, client_addr(), "a.example", false).unwrap(),
            p.help_reply(&h).unwrap()
        );
        assert!(out.starts_with(&expected_start), "{}: {out}", p.name());
        assert!(
            out[expected_start.len()..].starts_with("221"),
            "{}",
            p.name()
        );
    }
}

#[tokio::test]
async fn bare_lf_and_eof_without_quit() {
    let p = persona("sendmail-8.15.2-debian");
    let out = talk(p, b"HELO a\nEHLO b", session(25, None)).await;
    let lines: Vec<&str> = out.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].starts_with("250 mx-198-18-0-9.testbed.example Hello a [198.19.255.1]"));
}

#[tokio::test]
async fn overlong_line_is_refused() {
    let p = persona("opensmtpd");
    let mut input = vec![b'A'; MAX_LINE + 10];
    input.extend_from_slice(b"\r\n");
    let out = talk(p, &input, session(25, None)).await;
    assert!(out.ends_with("500 5.5.0 Line too long\r\n"), "{out}");
}

#[tokio::test(start_paused = true)]
async fn idle_client_gets_the_timeout_reply() {
    let p = persona("postfix-ubuntu");
    let (mut client, task) = start(p, session(25, None));
    let mut out = Vec::new();
    // The client stays silent (and keeps its side open) until the server gives up.
    client.read_to_end(&mut out).await.unwrap();
    task.await.unwrap().unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("220 "));
    assert!(out.ends_with("Error: timeout exceeded\r\n"), "{out}");
}

/// STARTTLS upgrade, second EHLO inside TLS, HELP and QUIT; returns (negotiated version, leaf).
async fn starttls_session(
    p: &'static Persona,
    config: Arc<rustls::ServerConfig>,
    connector: TlsConnector,
) -> Result<(rustls::ProtocolVersion, Vec<u8>), io::Error> {
    let (client, task) = start(p, session(25, Some(config)));
    let h = host();
    let mut client = BufReader::new(client);
    assert_eq!(
        read_reply(&mut client).await,
        p.greeting(&h, &date()).unwrap()
    );
    say(&mut client, "EHLO scanner.example").await;
    let ehlo = read_reply(&mut client).await;
    assert!(ehlo.contains("STARTTLS\r\n"), "{ehlo}");
    say(&mut client, "STARTTLS").await;
    let go = read_reply(&mut client).await;
    assert!(go.starts_with("220"), "{go}");
    let plain = client.into_inner();
    let tls = connector.connect(server_name(), plain).await;
    let tls = match tls {
        Ok(tls) => tls,
        Err(e) => {
            drop(task);
            return Err(e);
        }
    };
    let (_, conn) = tls.get_ref();
    let version = conn.protocol_version().unwrap();
    let leaf = conn.peer_certificates().unwrap()[0].to_vec();
    let mut tls = BufReader::new(tls);
    say(&mut tls, "EHLO scanner.example").await;
    let inside = read_reply(&mut tls).await;
    assert_eq!(
        inside,
        p.ehlo_reply(&h, client_addr(), "scanner.example", true)
            .unwrap()
    );
    assert!(!inside.contains("STARTTLS"));
    say(&mut tls, "STARTTLS").await;
    assert!(!read_reply(&mut tls).await.starts_with("220"));
    say(&mut tls, "HELP").await;
    assert_eq!(read_reply(&mut tls).await, p.help_reply(&h).unwrap());
    say(&mut tls, "QUIT").await;
    assert!(read_reply(&mut tls).await.starts_with("221"));
    task.await.unwrap().unwrap();
    Ok((version, leaf))
}

#[tokio::test]
async fn starttls_then_second_ehlo_inside_tls() {
    for (name, max, expect) in [
        (
            "postfix-debian",
            TlsVersion::Tls13,
            rustls::ProtocolVersion::TLSv1_3,
        ),
        (
            "exchange-2019",
            TlsVersion::Tls12,
            rustls::ProtocolVersion::TLSv1_2,
        ),
    ] {
        let p = persona(name);
        assert_eq!(p.max_tls(), max);
        let (config, _ca, sha) = server_tls(CertKind::SelfSigned, max);
        let (version, leaf) = starttls_session(p, config, scanner_tls()).await.unwrap();
        assert_eq!(version, expect, "{name}");
        assert_eq!(crate::tls::sha256_hex(&leaf), sha);
    }
}

#[tokio::test]
async fn implicit_tls_greets_inside_tls() {
    for p in [persona("exim-4.94.2"), persona("iis-10"), persona("qmail")] {
        let (config, _ca, sha) = server_tls(CertKind::CaSigned, p.max_tls());
        let (client, task) = start(p, session(465, Some(config)));
        let tls = scanner_tls().connect(server_name(), client).await.unwrap();
        let (_, conn) = tls.get_ref();
        assert_eq!(
            crate::tls::sha256_hex(&conn.peer_certificates().unwrap()[0]),
            sha
        );
        assert_eq!(conn.peer_certificates().unwrap().len(), 2);
        let mut tls = BufReader::new(tls);
        let h = host();
        assert_eq!(read_reply(&mut tls).await, p.greeting(&h, &date()).unwrap());
        say(&mut tls, "EHLO scanner.example").await;
        assert_eq!(
            read_reply(&mut tls).await,
            p.ehlo_reply(&h, client_addr(), "scanner.example", true)
                .unwrap()
        );
        say(&mut tls, "QUIT").await;
        assert!(read_reply(&mut tls).await.starts_with("221"));
        task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn certificate_kinds_verify_as_intended_against_the_test_ca() {
    let p = persona("opensmtpd");
    let (config, ca, _) = server_tls(CertKind::CaSigned, p.max_tls());
    starttls_session(p, config, trusting_tls(&ca))
        .await
        .expect("a CA-signed chain verifies against the test CA");

    let (config, ca, _) = server_tls(CertKind::Expired, p.max_tls());
    let err = starttls_session(p, config, trusting_tls(&ca))
        .await
        .unwrap_err();
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    assert!(
        matches!(
            inner,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
            ))
        ),
        "{err:?}"
    );

    let (config, ca, _) = server_tls(CertKind::SelfSigned, p.max_tls());
    let err = starttls_session(p, config, trusting_tls(&ca))
        .await
        .unwrap_err();
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    assert!(
        matches!(
            inner,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn silent_says_nothing_and_ends_by_itself() {
    let p = persona("hostile-silent");
    let (mut client, task) = start(p, session(25, None));
    let mut out = Vec::new();
    client.read_to_end(&mut out).await.unwrap();
    task.await.unwrap().unwrap();
    assert!(out.is_empty(), "{out:?}");
}

#[tokio::test(start_paused = true)]
async fn drip_sends_a_never_ending_greeting_one_byte_a_second() {
    let p = persona("hostile-drip");
    let (mut client, task) = start(p, session(25, None));
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    let start = tokio::time::Instant::now();
    while client.read(&mut byte).await.unwrap() == 1 {
        out.push(byte[0]);
        // Virtual time: each byte comes a whole second after the previous one.
        assert_eq!(start.elapsed().as_secs() as usize, out.len() - 1);
    }
    task.await.unwrap().unwrap();
    let text = format!("220-{} ESMTP service starting", host());
    assert!(!out.is_empty() && out.len() <= 6, "{out:?}");
    assert!(text.as_bytes().starts_with(&out), "{out:?}");
}

#[tokio::test]
async fn endless_greeting_exceeds_any_reply_cap_without_ending() {
    let p = persona("hostile-endless-greeting");
    let out = talk(p, b"", session(25, None)).await;
    assert!(out.len() >= ENDLESS_LIMIT);
    assert!(out.split_terminator("\r\n").all(|l| l.starts_with("220-")));
    assert!(out.ends_with("\r\n"));
}

#[tokio::test]
async fn garbage_is_binary_and_deterministic() {
    let p = persona("hostile-garbage");
    let (mut client, task) = start(p, session(25, None));
    let mut out = vec![0u8; 514];
    client.read_exact(&mut out).await.unwrap();
    client.shutdown().await.unwrap();
    drop(client);
    task.await.unwrap().unwrap();
    let mut expected = crate::tls::noise(0x5eed, 512);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(out, expected);
    assert!(!out[0].is_ascii_digit());
    assert!(std::str::from_utf8(&out).is_err());
}

#[tokio::test]
async fn reset_persona_greets_then_hangs_up_on_the_first_command() {
    let p = persona("hostile-reset");
    let (client, task) = start(p, session(25, None));
    let mut client = BufReader::new(client);
    assert_eq!(
        read_reply(&mut client).await,
        p.greeting(&host(), &date()).unwrap()
    );
    say(&mut client, "EHLO scanner.example").await;
    assert_eq!(read_reply(&mut client).await, "");
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn refusing_greetings() {
    let h = host();
    let p = persona("hostile-greeting-421");
    let out = talk(p, b"EHLO a\r\nQUIT\r\n", session(25, None)).await;
    assert_eq!(out, p.greeting(&h, &date()).unwrap());
    assert!(out.starts_with("421 "));

    let p = persona("hostile-greeting-554");
    let out = talk(p, b"EHLO a\r\nHELO a\r\nQUIT\r\n", session(587, None)).await;
    let expected = format!(
        "554 5.7.1 {h} ESMTP not accepting messages\r\n503 5.5.1 Bad sequence of commands\r\n\
         503 5.5.1 Bad sequence of commands\r\n221 2.0.0 {h} closing connection\r\n"
    );
    assert_eq!(out, expected);
}

#[tokio::test]
async fn ehlo_500_forces_helo() {
    let p = persona("hostile-ehlo-500");
    let out = talk(
        p,
        b"EHLO a.example\r\nHELO a.example\r\nQUIT\r\n",
        session(25, None),
    )
    .await;
    let lines: Vec<&str> = out.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[1].starts_with("500 "));
    assert_eq!(lines[2], format!("250 {} Hello [198.19.255.1]", host()));
    assert!(lines[3].starts_with("221 "));
}

#[tokio::test]
async fn starttls_advertised_but_refused_with_454() {
    let p = persona("hostile-starttls-454");
    assert!(p.offers_starttls());
    let out = talk(
        p,
        b"EHLO a\r\nSTARTTLS\r\nEHLO a\r\nQUIT\r\n",
        session(25, None),
    )
    .await;
    let ehlo = p.ehlo_reply(&host(), client_addr(), "a", false).unwrap();
    assert!(ehlo.contains("250-STARTTLS\r\n"));
    let expected = format!(
        "{}{ehlo}454 4.7.0 TLS not available due to local problem\r\n{ehlo}221 2.0.0 Bye\r\n",
        p.greeting(&host(), &date()).unwrap()
    );
    assert_eq!(out, expected);
}

/// Opens a TLS session to `p` either implicitly (465) or after STARTTLS (25) and returns the
/// client's handshake error.
async fn failed_handshake(p: &'static Persona, port: u16) -> rustls::Error {
    let (client, task) = start(p, session(port, None));
    let client = if port == 465 {
        client
    } else {
        let mut c = BufReader::new(client);
        read_reply(&mut c).await;
        say(&mut c, "EHLO scanner.example").await;
        assert!(read_reply(&mut c).await.contains("STARTTLS"));
        say(&mut c, "STARTTLS").await;
        assert!(read_reply(&mut c).await.starts_with("220"));
        c.into_inner()
    };
    let err = scanner_tls()
        .connect(server_name(), client)
        .await
        .expect_err("the handshake must fail");
    task.await.unwrap().unwrap();
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a rustls error: {err:?}"));
    inner.clone()
}

#[tokio::test]
async fn tls_garbage_fails_the_handshake() {
    for port in [25, 465] {
        let err = failed_handshake(persona("hostile-tls-garbage"), port).await;
        assert!(
            matches!(err, rustls::Error::InvalidMessage(_)),
            "port {port}: {err:?}"
        );
    }
}

#[tokio::test]
async fn tls10_only_server_is_reported_as_an_unsupported_version() {
    for port in [25, 465] {
        let err = failed_handshake(persona("hostile-tls10-only"), port).await;
        assert_eq!(
            err,
            rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
            ),
            "port {port}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn hostile_personas_behind_implicit_tls_misbehave_after_the_handshake() {
    // Silent: the handshake completes, then nothing.
    let (config, _ca, _) = server_tls(CertKind::SelfSigned, TlsVersion::Tls13);
    let (client, task) = start(persona("hostile-silent"), session(465, Some(config)));
    let mut tls = scanner_tls().connect(server_name(), client).await.unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    assert!(out.is_empty());
    task.await.unwrap().unwrap();

    // Reset after greeting: greets inside TLS.
    let (config, _ca, _) = server_tls(CertKind::Expired, TlsVersion::Tls13);
    let p = persona("hostile-reset");
    let (client, task) = start(p, session(465, Some(config)));
    let tls = scanner_tls().connect(server_name(), client).await.unwrap();
    let mut tls = BufReader::new(tls);
    assert_eq!(
        read_reply(&mut tls).await,
        p.greeting(&host(), &date()).unwrap()
    );
    task.abort();
}

#[tokio::test]
async fn implicit_tls_without_a_certificate_is_an_error() {
    let (_client, task) = start(persona("postfix-debian"), session(465, None));
    let err = task.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("no certificate"), "{err}");
}
