//! A blocking SMTP/TLS client that checks one open pair against its ground truth, from inside
//! the scanner namespace.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, SocketAddrV4, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use smtpsweep_testbed::persona::host_name;
use smtpsweep_testbed::{OpenPort, TlsMode, tls};

/// Accepts any certificate (a scanner must see broken ones) but checks handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// TLS client configurations: a scanner's (accepts anything) and one trusting the test CA.
pub struct Clients {
    scanner: Arc<ClientConfig>,
    trusting: Arc<ClientConfig>,
}

impl Clients {
    pub fn new(ca_pem: &Path) -> Clients {
        let provider = tls::provider();
        let scanner = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider.clone())))
            .with_no_client_auth();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(ca_pem).unwrap())
            .unwrap();
        let trusting = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Clients {
            scanner: Arc::new(scanner),
            trusting: Arc::new(trusting),
        }
    }
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// Runs the TLS handshake over `tcp`; the rustls error if it fails.
fn handshake(
    config: &Arc<ClientConfig>,
    open: &OpenPort,
    mut tcp: TcpStream,
) -> Result<Tls, rustls::Error> {
    let name = ServerName::try_from(host_name(open.ip)).unwrap();
    let mut conn = ClientConnection::new(config.clone(), name).unwrap();
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            let inner = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
            return Err(inner
                .cloned()
                .unwrap_or_else(|| panic!("{}:{}: handshake I/O: {e}", open.ip, open.port)));
        }
    }
    Ok(StreamOwned::new(conn, tcp))
}

/// Handshake that must succeed and present the ground truth's certificate and version.
fn checked_handshake(clients: &Clients, open: &OpenPort, tcp: TcpStream) -> Tls {
    let at = format!("{}:{} ({})", open.ip, open.port, open.persona);
    let tls = handshake(&clients.scanner, open, tcp).unwrap_or_else(|e| panic!("{at}: {e}"));
    let leaf = &tls.conn.peer_certificates().unwrap()[0];
    assert_eq!(
        Some(tls::sha256_hex(leaf)),
        open.cert_sha256,
        "{at}: leaf certificate"
    );
    let version = match tls.conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
        other => panic!("{at}: {other:?}"),
    };
    assert_eq!(
        open.tls_version.map(|v| v.as_str()),
        Some(version),
        "{at}: TLS version"
    );
    tls
}

/// Verifies the pair's chain against the test CA with a standard verifier: CA-signed chains
/// pass, expired ones fail as expired, self-signed ones as unknown issuer.
pub fn verify_chain(clients: &Clients, open: &OpenPort) {
    let tcp = connect(open);
    let tcp = if open.tls == TlsMode::Starttls {
        let mut r = BufReader::new(tcp);
        read_reply(&mut r);
        command(&mut r, "EHLO scanner.example");
        assert!(command(&mut r, "STARTTLS").starts_with("220"));
        r.into_inner()
    } else {
        tcp
    };
    let result = handshake(&clients.trusting, open, tcp).map(|_| ());
    let expected = match open.cert_kind.unwrap() {
        tls::CertKind::CaSigned => Ok(()),
        tls::CertKind::Expired => Err("expired"),
        tls::CertKind::SelfSigned => Err("unknown issuer"),
    };
    match (result, expected) {
        (Ok(()), Ok(())) => {}
        (
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. },
            )),
            Err("expired"),
        ) => {}
        (
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)),
            Err("unknown issuer"),
        ) => {}
        (got, want) => panic!("{}:{}: {got:?}, expected {want:?}", open.ip, open.port),
    }
}

fn connect(open: &OpenPort) -> TcpStream {
    let addr = SocketAddr::V4(SocketAddrV4::new(open.ip, open.port));
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("{addr}: {e}"));
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp
}

/// Reads one reply (all continuation lines) verbatim; empty at EOF.
fn read_reply(r: &mut impl BufRead) -> String {
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap() == 0 {
            return reply;
        }
        reply.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return reply;
        }
    }
}

fn command<S: Read + Write>(r: &mut BufReader<S>, line: &str) -> String {
    let w = r.get_mut();
    w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    w.flush().unwrap();
    read_reply(r)
}

/// The extension lines of an EHLO reply.
fn extensions(reply: &str) -> Vec<String> {
    reply
        .split_terminator("\r\n")
        .skip(1)
        .map(|l| l[4..].to_owned())
        .collect()
}

#[derive(PartialEq)]
enum Stage {
    Plain,
    Implicit,
    AfterStartTls,
}

enum Next {
    Done,
    StartTls,
}

/// Checks `open` end to end: TLS facts, greeting, EHLO extensions (before and inside TLS),
/// HELP, and the hostile behaviour its persona promises.
pub fn check_pair(clients: &Clients, open: &OpenPort) {
    let tcp = connect(open);
    if open.port == 465 {
        if open.persona == "hostile-tls-garbage" || open.persona == "hostile-tls10-only" {
            return check_failed_handshake(clients, open, tcp);
        }
        let tls = checked_handshake(clients, open, tcp);
        dialogue(&mut BufReader::new(tls), open, Stage::Implicit);
        return;
    }
    let mut r = BufReader::new(tcp);
    if let Next::StartTls = dialogue(&mut r, open, Stage::Plain) {
        let tcp = r.into_inner();
        if open.persona == "hostile-tls-garbage" || open.persona == "hostile-tls10-only" {
            return check_failed_handshake(clients, open, tcp);
        }
        let tls = checked_handshake(clients, open, tcp);
        dialogue(&mut BufReader::new(tls), open, Stage::AfterStartTls);
    }
}

fn check_failed_handshake(clients: &Clients, open: &OpenPort, tcp: TcpStream) {
    let at = format!("{}:{} ({})", open.ip, open.port, open.persona);
    let err = match handshake(&clients.scanner, open, tcp) {
        Ok(_) => panic!("{at}: the handshake succeeded"),
        Err(e) => e,
    };
    if open.persona == "hostile-tls10-only" {
        assert_eq!(
            err,
            rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
            ),
            "{at}"
        );
        assert_eq!(open.expected_status.as_str(), "tls-version-unsupported");
    } else {
        assert!(
            matches!(err, rustls::Error::InvalidMessage(_)),
            "{at}: {err:?}"
        );
        assert_eq!(open.expected_status.as_str(), "handshake-error");
    }
}

fn dialogue<S: Read + Write + 'static>(
    r: &mut BufReader<S>,
    open: &OpenPort,
    stage: Stage,
) -> Next {
    let at = format!("{}:{} ({})", open.ip, open.port, open.persona);
    let persona = open.persona.as_str();
    if stage != Stage::AfterStartTls {
        match persona {
            "hostile-silent" => {
                let mut byte = [0u8; 1];
                set_timeout(r, Duration::from_millis(300));
                let err = r.read(&mut byte).expect_err("a silent server sent data");
                assert!(
                    matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                    "{at}: {err}"
                );
                return Next::Done;
            }
            "hostile-drip" => {
                let mut first = [0u8; 2];
                r.read_exact(&mut first).unwrap();
                assert_eq!(&first, b"22", "{at}");
                return Next::Done;
            }
            "hostile-endless-greeting" => {
                let mut buf = vec![0u8; 70_000];
                r.read_exact(&mut buf).unwrap();
                let text = String::from_utf8(buf).unwrap();
                let complete = &text[..text.rfind("\r\n").unwrap()];
                assert!(
                    complete.split("\r\n").all(|l| l.starts_with("220-")),
                    "{at}"
                );
                return Next::Done;
            }
            "hostile-garbage" => {
                let mut buf = vec![0u8; 514];
                r.read_exact(&mut buf).unwrap();
                assert!(
                    !buf[0].is_ascii_digit() && std::str::from_utf8(&buf).is_err(),
                    "{at}"
                );
                assert!(open.greeting.is_none());
                return Next::Done;
            }
            _ => {}
        }
        assert_eq!(Some(read_reply(r)), open.greeting, "{at}: greeting");
    }
    match persona {
        "hostile-greeting-421" => {
            assert_eq!(read_reply(r), "", "{at}: expected EOF after 421");
            return Next::Done;
        }
        "hostile-greeting-554" => {
            assert!(
                command(r, "EHLO scanner.example").starts_with("503 "),
                "{at}"
            );
            assert!(command(r, "QUIT").starts_with("221 "), "{at}");
            return Next::Done;
        }
        "hostile-ehlo-500" => {
            assert!(
                command(r, "EHLO scanner.example").starts_with("500 "),
                "{at}"
            );
            assert!(
                command(r, "HELO scanner.example").starts_with("250 "),
                "{at}"
            );
            assert_eq!(Some(command(r, "HELP")), open.help, "{at}");
            assert!(command(r, "QUIT").starts_with("221 "), "{at}");
            return Next::Done;
        }
        "hostile-reset" => {
            let w = r.get_mut();
            w.write_all(b"EHLO scanner.example\r\n").unwrap();
            w.flush().unwrap();
            let mut rest = Vec::new();
            let err = r.read_to_end(&mut rest).expect_err("expected a reset");
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{at}: {err}");
            assert!(rest.is_empty());
            return Next::Done;
        }
        _ => {}
    }
    let ehlo = command(r, "EHLO scanner.example");
    assert!(ehlo.starts_with("250"), "{at}: {ehlo}");
    let expected = if stage == Stage::AfterStartTls {
        &open.ehlo_tls_extensions
    } else {
        &open.ehlo_extensions
    };
    assert_eq!(&extensions(&ehlo), expected, "{at}: EHLO extensions");
    if stage == Stage::Plain && expected.iter().any(|e| e == "STARTTLS") {
        let reply = command(r, "STARTTLS");
        if persona == "hostile-starttls-454" {
            assert!(reply.starts_with("454 "), "{at}: {reply}");
            assert_eq!(open.tls, TlsMode::None);
        } else {
            assert!(reply.starts_with("220"), "{at}: {reply}");
            assert_eq!(open.tls, TlsMode::Starttls);
            return Next::StartTls;
        }
    } else if stage == Stage::Plain {
        assert_eq!(open.tls, TlsMode::None, "{at}");
    }
    assert_eq!(Some(command(r, "HELP")), open.help, "{at}: HELP");
    assert!(command(r, "QUIT").starts_with("221"), "{at}");
    let mut rest = Vec::new();
    // TLS peers may end without close_notify; only the absence of data matters.
    let _ = r.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{at}: data after 221: {rest:?}");
    Next::Done
}

/// Sets the read timeout of the TCP socket under `r` (plain or TLS).
fn set_timeout<S: Read + Write + 'static>(r: &mut BufReader<S>, timeout: Duration) {
    let any: &mut dyn std::any::Any = r.get_mut();
    if let Some(tcp) = any.downcast_mut::<TcpStream>() {
        tcp.set_read_timeout(Some(timeout)).unwrap();
    } else if let Some(tls) = any.downcast_mut::<Tls>() {
        tls.sock.set_read_timeout(Some(timeout)).unwrap();
    }
}
