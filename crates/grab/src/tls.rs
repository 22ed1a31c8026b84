//! The rustls side: a client that accepts any certificate, failure classification,
//! and the TLS facts of a completed handshake.

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    AlertDescription, ClientConfig, ClientConnection, DigitallySignedStruct, PeerIncompatible,
    ProtocolVersion, RootCertStore, SignatureScheme,
};
use smtpsweep_smtp::{TlsFailure, TlsMode};

use crate::cert::{greeting_host, name_matches, outside_validity, parse_leaf};
use crate::record::TlsData;

fn provider() -> &'static Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// Accepts every certificate and every handshake signature: a scanner must see
/// broken and untrusted servers too. Trust is judged separately, after the fact.
#[derive(Debug)]
struct AcceptAnyCert;

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The shared client configuration: TLS 1.2 and 1.3, no ALPN, no SNI (targets are
/// addresses), any certificate accepted.
pub(crate) fn client_config() -> Arc<ClientConfig> {
    static C: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    C.get_or_init(|| {
        let mut cfg = ClientConfig::builder_with_provider(provider().clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert))
            .with_no_client_auth();
        cfg.enable_sni = false;
        cfg.resumption = rustls::client::Resumption::disabled();
        Arc::new(cfg)
    })
    .clone()
}

/// The Mozilla root set shipped by `webpki-roots`.
pub fn default_roots() -> Arc<RootCertStore> {
    static R: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    R.get_or_init(|| {
        Arc::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
    })
    .clone()
}

/// Decide whether a failed handshake means "no common protocol version" (the
/// server speaks only SSL 3.0 / TLS 1.0 / TLS 1.1) or any other failure.
pub fn classify_handshake_error(err: &io::Error) -> (TlsFailure, String) {
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match inner {
        Some(e) => {
            let kind = match e {
                rustls::Error::PeerIncompatible(
                    PeerIncompatible::ServerDoesNotSupportTls12Or13
                    | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                    | PeerIncompatible::Tls12NotOffered
                    | PeerIncompatible::Tls13RequiredForQuic,
                )
                | rustls::Error::AlertReceived(AlertDescription::ProtocolVersion) => {
                    TlsFailure::VersionUnsupported
                }
                _ => TlsFailure::Handshake,
            };
            (kind, e.to_string())
        }
        None if err.kind() == io::ErrorKind::UnexpectedEof => (
            TlsFailure::Handshake,
            "connection closed during the handshake".to_string(),
        ),
        None => (TlsFailure::Handshake, err.to_string()),
    }
}

/// What was learned from a completed handshake, before the greeting is known.
#[derive(Debug)]
pub(crate) struct Handshake {
    mode: TlsMode,
    version: String,
    cipher_suite: String,
    cipher_suite_id: u16,
    alpn: Option<String>,
    chain: Vec<CertificateDer<'static>>,
    now: SystemTime,
}

impl Handshake {
    pub(crate) fn capture(mode: TlsMode, conn: &ClientConnection) -> Self {
        let version = match conn.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_string(),
        };
        let (cipher_suite, cipher_suite_id) = match conn.negotiated_cipher_suite() {
            Some(s) => {
                let cs = s.suite();
                let name = cs
                    .as_str()
                    .map(|n| n.replacen("TLS13_", "TLS_", 1))
                    .unwrap_or_else(|| format!("0x{:04X}", u16::from(cs)));
                (name, u16::from(cs))
            }
            None => ("unknown".to_string(), 0),
        };
        Self {
            mode,
            version,
            cipher_suite,
            cipher_suite_id,
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            chain: conn
                .peer_certificates()
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
            now: SystemTime::now(),
        }
    }

    /// The record's TLS facts, once the greeting (and so the server's name) is known.
    pub(crate) fn into_data(
        self,
        greeting_line: Option<&str>,
        store_certs: bool,
        roots: &RootCertStore,
    ) -> TlsData {
        let name = greeting_line.and_then(greeting_host);
        let now_secs = self
            .now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (mut leaf, mut cert_error, mut self_signed, mut expired, mut matches) =
            (None, None, None, None, None);
        match self.chain.first() {
            None => cert_error = Some("the server sent no certificate".to_string()),
            Some(der) => match parse_leaf(der) {
                Ok(info) => {
                    self_signed = Some(info.self_signed);
                    expired = Some(outside_validity(&info, now_secs as i64));
                    matches = name.as_deref().map(|n| name_matches(&info.facts, n));
                    leaf = Some(info.facts);
                }
                Err(e) => cert_error = Some(e.to_string()),
            },
        }
        let trust = trust_check(&self.chain, name.as_deref(), roots, now_secs);
        TlsData {
            mode: self.mode,
            version: self.version,
            cipher_suite: self.cipher_suite,
            cipher_suite_id: self.cipher_suite_id,
            alpn: self.alpn,
            chain: store_certs.then(|| self.chain.iter().map(|c| B64.encode(c)).collect()),
            chain_length: self.chain.len(),
            leaf,
            cert_error,
            checked_name: name,
            self_signed,
            expired,
            name_matches: matches,
            trusted: trust.is_ok(),
            trust_error: trust.err(),
        }
    }
}

/// webpki path validation of `chain` (leaf first) against `roots` at `now`, then
/// the leaf against `name` when there is one.
pub fn trust_check(
    chain: &[CertificateDer<'_>],
    name: Option<&str>,
    roots: &RootCertStore,
    now_unix: u64,
) -> Result<(), String> {
    let leaf = chain.first().ok_or_else(|| "no certificate".to_string())?;
    let parsed = ParsedCertificate::try_from(leaf).map_err(|e| e.to_string())?;
    verify_server_cert_signed_by_trust_anchor(
        &parsed,
        roots,
        &chain[1..],
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(now_unix)),
        provider().signature_verification_algorithms.all,
    )
    .map_err(|e| e.to_string())?;
    if let Some(name) = name {
        let server_name = ServerName::try_from(name)
            .map_err(|_| format!("{name:?} from the greeting is not a valid host name"))?;
        verify_server_name(&parsed, &server_name).map_err(|e| e.to_string())?;
    }
    Ok(())
}
