//! Loopback test servers and certificates shared by the integration tests.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{RootCertStore, ServerConfig};
use smtpsweep_grab::GrabConfig;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A certificate and its key, ready for a rustls server.
pub struct TestCert {
    pub der: CertificateDer<'static>,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivatePkcs8KeyDer<'static>,
    pub serial: Vec<u8>,
}

fn key_der(k: &KeyPair) -> PrivatePkcs8KeyDer<'static> {
    PrivatePkcs8KeyDer::from(k.serialize_der())
}

fn leaf_params(cn: &str, sans: &[&str], serial: u8) -> CertificateParams {
    let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "ZZ");
    dn.push(DnType::OrganizationName, "Testbed Mail, Inc.");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x00, 0x9a, serial, 0x42]));
    p
}

/// A self-signed certificate for `cn` with DNS SANs `sans`.
pub fn self_signed(cn: &str, sans: &[&str]) -> TestCert {
    let key = KeyPair::generate().expect("key");
    let params = leaf_params(cn, sans, 1);
    let cert = params.self_signed(&key).expect("self-signed");
    TestCert {
        der: cert.der().clone(),
        chain: vec![cert.der().clone()],
        key: key_der(&key),
        serial: vec![0x9a, 1, 0x42],
    }
}

/// A self-signed certificate that expired in 2001.
pub fn expired(cn: &str) -> TestCert {
    let key = KeyPair::generate().expect("key");
    let mut params = leaf_params(cn, &[cn], 2);
    params.not_before = date_time_ymd(2000, 1, 1);
    params.not_after = date_time_ymd(2001, 1, 1);
    let cert = params.self_signed(&key).expect("self-signed");
    TestCert {
        der: cert.der().clone(),
        chain: vec![cert.der().clone()],
        key: key_der(&key),
        serial: vec![0x9a, 2, 0x42],
    }
}

/// A test CA and a leaf it signed; the chain sent is leaf then CA.
pub struct CaSigned {
    pub leaf: TestCert,
    pub ca_der: CertificateDer<'static>,
}

impl CaSigned {
    /// A root store holding only the test CA.
    pub fn roots(&self) -> Arc<RootCertStore> {
        let mut store = RootCertStore::empty();
        store.add(self.ca_der.clone()).expect("CA parses");
        Arc::new(store)
    }
}

pub fn ca_signed(cn: &str, sans: &[&str]) -> CaSigned {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "smtpsweep Test CA");
    dn.push(DnType::CommonName, "smtpsweep Test Root");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let params = leaf_params(cn, sans, 3);
    let leaf = params.signed_by(&key, &issuer).expect("leaf");
    CaSigned {
        leaf: TestCert {
            der: leaf.der().clone(),
            chain: vec![leaf.der().clone(), ca_cert.der().clone()],
            key: key_der(&key),
            serial: vec![0x9a, 3, 0x42],
        },
        ca_der: ca_cert.der().clone(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls server configuration for `cert` speaking the given versions.
pub fn server_config(
    cert: &TestCert,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            cert.chain.clone(),
            PrivateKeyDer::Pkcs8(cert.key.clone_key()),
        )
        .expect("server cert");
    Arc::new(cfg)
}

/// A server that presents `chain` (which need not parse) and signs with a real key.
pub fn server_config_raw_chain(chain: Vec<CertificateDer<'static>>) -> Arc<ServerConfig> {
    #[derive(Debug)]
    struct Fixed(Arc<rustls::sign::CertifiedKey>);
    impl rustls::server::ResolvesServerCert for Fixed {
        fn resolve(
            &self,
            _hello: rustls::server::ClientHello<'_>,
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(self.0.clone())
        }
    }
    let key = KeyPair::generate().expect("key");
    let signing = provider()
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(key_der(&key)))
        .expect("signing key");
    let ck = Arc::new(rustls::sign::CertifiedKey::new(chain, signing));
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(ck)));
    Arc::new(cfg)
}

/// What the scripted SMTP server does on STARTTLS.
#[derive(Clone)]
pub enum StartTls {
    /// `220` and a TLS handshake with this configuration.
    Tls(Arc<ServerConfig>),
    /// `220`, then these raw bytes instead of a handshake, then close.
    Raw(Vec<u8>),
    /// This reply (e.g. `454 4.7.0 TLS not available`).
    Refuse(&'static str),
}

/// A scripted, Postfix-like SMTP persona.
#[derive(Clone)]
pub struct Persona {
    /// The greeting, sent verbatim.
    pub greeting: &'static str,
    /// EHLO reply in plaintext, verbatim.
    pub ehlo: &'static str,
    /// EHLO reply inside TLS, verbatim.
    pub ehlo_tls: &'static str,
    /// Reply to HELO.
    pub helo: &'static str,
    /// STARTTLS behaviour.
    pub starttls: StartTls,
    /// TLS first (implicit) with this configuration.
    pub implicit: Option<Arc<ServerConfig>>,
    /// Pause before the greeting (to keep many sessions in flight in benches).
    pub greeting_delay: Duration,
}

pub const POSTFIX_GREETING: &str = "220 mx.example.test ESMTP Postfix (Debian/GNU)\r\n";
pub const POSTFIX_EHLO: &str = "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
pub const POSTFIX_EHLO_TLS: &str = "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 CHUNKING\r\n";

impl Persona {
    pub fn postfix(starttls: StartTls) -> Self {
        Self {
            greeting: POSTFIX_GREETING,
            ehlo: POSTFIX_EHLO,
            ehlo_tls: POSTFIX_EHLO_TLS,
            helo: "250 mx.example.test\r\n",
            starttls,
            implicit: None,
            greeting_delay: Duration::ZERO,
        }
    }
}

/// Every command line a server received, across connections.
pub type Log = Arc<Mutex<Vec<String>>>;

/// Bind an ephemeral loopback port.
pub async fn listener() -> (TcpListener, SocketAddrV4) {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.bind(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0).into())
        .expect("bind");
    sock.listen(8192).expect("listen");
    sock.set_nonblocking(true).expect("nonblocking");
    let l = TcpListener::from_std(sock.into()).expect("tokio listener");
    let addr = match l.local_addr().expect("addr") {
        std::net::SocketAddr::V4(a) => a,
        _ => unreachable!(),
    };
    (l, addr)
}

/// Serve `persona` on a loopback port for every connection; returns the address and the command log.
pub async fn serve_persona(persona: Persona) -> (SocketAddrV4, Log) {
    let (l, addr) = listener().await;
    let log: Log = Arc::default();
    let log2 = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                return;
            };
            let (p, log) = (persona.clone(), log2.clone());
            tokio::spawn(async move {
                let _ = converse(tcp, p, log).await;
            });
        }
    });
    (addr, log)
}

async fn converse(tcp: TcpStream, p: Persona, log: Log) -> std::io::Result<()> {
    if !p.greeting_delay.is_zero() {
        tokio::time::sleep(p.greeting_delay).await;
    }
    if let Some(cfg) = p.implicit.clone() {
        let tls = TlsAcceptor::from(cfg).accept(tcp).await?;
        dialog(tls, &p, &log, true).await?;
        return Ok(());
    }
    if let Some((tcp, action)) = dialog(tcp, &p, &log, false).await? {
        match action {
            StartTls::Tls(cfg) => {
                let tls = TlsAcceptor::from(cfg).accept(tcp).await?;
                dialog(tls, &p, &log, true).await?;
            }
            StartTls::Raw(bytes) => {
                let mut tcp = tcp;
                tcp.write_all(&bytes).await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            StartTls::Refuse(_) => {}
        }
    }
    Ok(())
}

/// Runs the SMTP dialogue; returns the stream when STARTTLS is to be handled.
async fn dialog<S: AsyncRead + AsyncWrite + Unpin>(
    s: S,
    p: &Persona,
    log: &Log,
    tls: bool,
) -> std::io::Result<Option<(S, StartTls)>> {
    let mut s = BufReader::new(s);
    if !(tls && p.implicit.is_none()) {
        s.get_mut().write_all(p.greeting.as_bytes()).await?;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let cmd = line.trim_end().to_string();
        log.lock().unwrap().push(cmd.clone());
        let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let reply: &str = match verb.as_str() {
            "EHLO" if tls => p.ehlo_tls,
            "EHLO" => p.ehlo,
            "HELO" => p.helo,
            "HELP" => "214-Commands supported:\r\n214 EHLO HELO QUIT HELP\r\n",
            "QUIT" => {
                s.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
                s.get_mut().flush().await?;
                return Ok(None);
            }
            "STARTTLS" if !tls => match &p.starttls {
                StartTls::Refuse(r) => r,
                other => {
                    s.get_mut()
                        .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                        .await?;
                    s.get_mut().flush().await?;
                    return Ok(Some((s.into_inner(), other.clone())));
                }
            },
            _ => "502 5.5.2 Error: command not recognized\r\n",
        };
        s.get_mut().write_all(reply.as_bytes()).await?;
        s.get_mut().flush().await?;
    }
}

/// Serve a raw script on every connection: `f(stream)`.
pub async fn serve_raw<F, Fut>(f: F) -> SocketAddrV4
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (l, addr) = listener().await;
    let f = Arc::new(f);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(f(tcp));
        }
    });
    addr
}

/// Short timeouts for tests.
pub fn quick_config() -> GrabConfig {
    GrabConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        session_timeout: Duration::from_secs(5),
        ..GrabConfig::default()
    }
}

/// SHA-256 of bytes, lowercase hex (computed independently of the crate under test).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
