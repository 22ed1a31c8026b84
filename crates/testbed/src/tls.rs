//! Certificates and TLS for the personas.
//!
//! [`provision`] makes the testbed's certificates with rcgen when a testbed comes up: a test CA,
//! a handful of leaf keys shared across hosts, and one leaf certificate per TLS host whose SAN is
//! the host name, of one of three [`CertKind`]s. It writes them as PEM files and records the
//! leaf's SHA-256 and the file paths in the ground truth, which [`server_configs`] then loads.
//!
//! Also here: the bytes of the TLS-level hostile personas (random noise, a TLS 1.0 ServerHello).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SigningKey, SingleCertAndKey};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::date::civil_from_days;
use crate::error::{Error, Result};
use crate::mix;
use crate::persona::{self, TlsVersion};
use crate::truth::GroundTruth;

/// The three kinds of server certificate in the testbed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertKind {
    /// Self-signed, currently valid.
    SelfSigned,
    /// Signed by the test CA, but `not_after` is in the past.
    Expired,
    /// Signed by the test CA and currently valid: a chain that verifies against the CA.
    CaSigned,
}

impl CertKind {
    /// The name as written in the ground truth.
    pub fn as_str(self) -> &'static str {
        match self {
            CertKind::SelfSigned => "self-signed",
            CertKind::Expired => "expired",
            CertKind::CaSigned => "ca-signed",
        }
    }

    /// Whether the chain includes the test CA.
    pub fn has_ca(self) -> bool {
        !matches!(self, CertKind::SelfSigned)
    }
}

/// Subject CN of the test CA.
pub const CA_NAME: &str = "smtpsweep Testbed Root CA";
/// Number of leaf keys shared by all hosts.
pub const LEAF_KEYS: usize = 4;
/// File name of the CA certificate inside the certificate directory.
pub const CA_FILE: &str = "ca.pem";

/// What one leaf certificate looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafSpec {
    /// Host name: subject CN and the only SAN.
    pub host: String,
    /// Self-signed, expired or CA-signed.
    pub kind: CertKind,
    /// First day of validity, in days since 1970-01-01.
    pub not_before_days: i64,
    /// Last day of validity (at 00:00 UTC), in days since 1970-01-01.
    pub not_after_days: i64,
    /// Serial number (positive).
    pub serial: u64,
    /// Which of the shared leaf keys to use.
    pub key: usize,
}

/// A certificate made by an [`Authority`].
#[derive(Clone, Debug)]
pub struct Issued {
    /// The chain as sent by the server: leaf first, then the CA for CA-signed kinds.
    pub chain: Vec<CertificateDer<'static>>,
    /// The same chain as PEM.
    pub chain_pem: String,
    /// Lowercase hex SHA-256 of the leaf's DER.
    pub sha256: String,
}

/// The test CA and the shared leaf keys, made fresh (random keys) by [`Authority::new`].
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    ca_pem: String,
    keys: Vec<KeyPair>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

fn tls_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{what}: {e}"))
}

/// Sets `not_before`/`not_after` (midnight UTC) from days since 1970-01-01.
fn set_validity(params: &mut CertificateParams, from: i64, until: i64) -> Result<()> {
    let ymd = |days: i64| {
        let (y, m, d) = civil_from_days(days);
        i32::try_from(y)
            .ok()
            .filter(|y| (1950..=9999).contains(y))
            .map(|y| rcgen::date_time_ymd(y, m as u8, d as u8))
            .ok_or_else(|| Error::Tls(format!("certificate date {y}-{m}-{d} out of range")))
    };
    params.not_before = ymd(from)?;
    params.not_after = ymd(until)?;
    Ok(())
}

/// Lowercase hex SHA-256 of `der`.
pub fn sha256_hex(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = String::with_capacity(64);
    for b in digest.as_ref() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl Authority {
    /// A new CA (ECDSA P-256) and [`LEAF_KEYS`] leaf keys (P-256, the last one P-384).
    pub fn new() -> Result<Self> {
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| tls_err("generating the CA key", e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, CA_NAME);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "smtpsweep testbed");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2045, 1, 1);
        params.serial_number = Some(SerialNumber::from(1u64));
        let ca = params
            .self_signed(&ca_key)
            .map_err(|e| tls_err("signing the CA certificate", e))?;
        let keys = (0..LEAF_KEYS)
            .map(|i| {
                let alg = if i + 1 == LEAF_KEYS {
                    &rcgen::PKCS_ECDSA_P384_SHA384
                } else {
                    &rcgen::PKCS_ECDSA_P256_SHA256
                };
                KeyPair::generate_for(alg).map_err(|e| tls_err("generating a leaf key", e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Authority {
            ca_der: ca.der().clone(),
            ca_pem: ca.pem(),
            issuer: Issuer::new(params, ca_key),
            keys,
        })
    }

    /// The CA certificate as PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate as DER.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// Leaf key `i` as PKCS#8 PEM.
    pub fn key_pem(&self, i: usize) -> String {
        self.keys[i % self.keys.len()].serialize_pem()
    }

    /// Leaf key `i` as PKCS#8 DER.
    pub fn key_der(&self, i: usize) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.keys[i % self.keys.len()].serialize_der().into())
    }

    /// Makes the leaf certificate described by `spec`.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Issued> {
        let key = &self.keys[spec.key % self.keys.len()];
        let mut params = CertificateParams::new(vec![spec.host.clone()])
            .map_err(|e| tls_err(&format!("host name {}", spec.host), e))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, spec.host.as_str());
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Testbed Mail Services");
        set_validity(&mut params, spec.not_before_days, spec.not_after_days)?;
        params.serial_number = Some(SerialNumber::from(spec.serial & (u64::MAX >> 1)));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = if spec.kind.has_ca() {
            params.use_authority_key_identifier_extension = true;
            params.signed_by(key, &self.issuer)
        } else {
            params.self_signed(key)
        }
        .map_err(|e| tls_err(&format!("signing the certificate of {}", spec.host), e))?;
        let mut chain = vec![leaf.der().clone()];
        let mut chain_pem = leaf.pem();
        if spec.kind.has_ca() {
            chain.push(self.ca_der.clone());
            chain_pem.push_str(&self.ca_pem);
        }
        Ok(Issued {
            sha256: sha256_hex(leaf.der()),
            chain,
            chain_pem,
        })
    }
}

/// The crypto provider used by the testbed's servers (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration presenting `chain` with `key`, speaking TLS 1.2 up to `max`.
pub fn server_config(
    provider: &Arc<CryptoProvider>,
    chain: Vec<CertificateDer<'static>>,
    key: Arc<dyn SigningKey>,
    max: TlsVersion,
) -> Result<Arc<rustls::ServerConfig>> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match max {
        TlsVersion::Tls12 => &[&rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let resolver = SingleCertAndKey::from(CertifiedKey::new(chain, key));
    let config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| tls_err("server TLS configuration", e))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    Ok(Arc::new(config))
}

/// Loads a private key for signing with `provider`.
pub fn signing_key(
    provider: &CryptoProvider,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<dyn SigningKey>> {
    provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| tls_err("loading a private key", e))
}

/// Where [`provision`] put things.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    /// The certificate directory (absolute).
    pub dir: PathBuf,
    /// The test CA's certificate.
    pub ca_pem: PathBuf,
    /// Number of leaf certificates written (one per TLS host).
    pub certificates: usize,
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Makes the certificates for every open pair of `truth` that completes a TLS handshake, writes
/// them under `dir` (`ca.pem`, `key-<n>.pem`, `<ip>.pem` with the chain) and records the leaf's
/// SHA-256 and the paths in `truth`. Pairs of the same host share one certificate.
pub fn provision(truth: &mut GroundTruth, dir: &Path) -> Result<Provisioned> {
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let dir =
        fs::canonicalize(dir).map_err(|e| Error::io(format!("resolving {}", dir.display()), e))?;
    let authority = Authority::new()?;
    let ca_path = dir.join(CA_FILE);
    write_file(&ca_path, authority.ca_pem())?;
    let key_paths: Vec<PathBuf> = (0..LEAF_KEYS)
        .map(|i| dir.join(format!("key-{i}.pem")))
        .collect();
    for (i, path) in key_paths.iter().enumerate() {
        write_file(path, &authority.key_pem(i))?;
    }
    let mut issued: HashMap<Ipv4Addr, (PathBuf, String)> = HashMap::new();
    let seed = truth.seed;
    for open in &mut truth.open {
        let Some(kind) = open.cert_kind else {
            continue;
        };
        let (chain_path, sha256) = match issued.get(&open.ip) {
            Some(done) => done.clone(),
            None => {
                let spec = crate::truth::leaf_spec(seed, open.ip, kind);
                let cert = authority.issue(&spec)?;
                let path = dir.join(format!("{}.pem", open.ip));
                write_file(&path, &cert.chain_pem)?;
                let done = (path, cert.sha256);
                issued.insert(open.ip, done.clone());
                done
            }
        };
        let key = crate::truth::leaf_key(seed, open.ip);
        open.cert_sha256 = Some(sha256);
        open.cert_pem = Some(chain_path);
        open.key_pem = Some(key_paths[key].clone());
        open.ca_pem = kind.has_ca().then(|| ca_path.clone());
    }
    Ok(Provisioned {
        dir,
        ca_pem: ca_path,
        certificates: issued.len(),
    })
}

/// The server TLS configuration of every open pair that needs one (STARTTLS or implicit TLS
/// with a working handshake), loaded from the files [`provision`] wrote. Pairs of one host share
/// one configuration per TLS version; keys are loaded once.
pub fn server_configs(
    truth: &GroundTruth,
) -> Result<HashMap<(Ipv4Addr, u16), Arc<rustls::ServerConfig>>> {
    let provider = provider();
    let mut keys: HashMap<&Path, Arc<dyn SigningKey>> = HashMap::new();
    let mut configs: HashMap<(&Path, TlsVersion), Arc<rustls::ServerConfig>> = HashMap::new();
    let mut out = HashMap::new();
    for open in truth.open.iter().filter(|o| o.cert_kind.is_some()) {
        let (Some(cert), Some(key)) = (&open.cert_pem, &open.key_pem) else {
            return Err(Error::Tls(format!(
                "{}:{} ({}) speaks TLS but the ground truth has no certificate for it \
                 (provision the certificates with smtpsweep_testbed::tls::provision first)",
                open.ip, open.port, open.persona
            )));
        };
        let persona = persona::find(&open.persona)
            .ok_or_else(|| Error::UnknownPersona(open.persona.clone()))?;
        let version = persona.max_tls();
        let config = match configs.get(&(cert.as_path(), version)) {
            Some(c) => c.clone(),
            None => {
                let signer = match keys.get(key.as_path()) {
                    Some(k) => k.clone(),
                    None => {
                        let der = PrivateKeyDer::from_pem_file(key)
                            .map_err(|e| tls_err(&format!("reading {}", key.display()), e))?;
                        let k = signing_key(&provider, der)?;
                        keys.insert(key, k.clone());
                        k
                    }
                };
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                    .map_err(|e| tls_err(&format!("reading {}", cert.display()), e))?;
                if chain.is_empty() {
                    return Err(Error::Tls(format!(
                        "{} holds no certificate",
                        cert.display()
                    )));
                }
                let c = server_config(&provider, chain, signer, version)?;
                configs.insert((cert, version), c.clone());
                c
            }
        };
        out.insert((open.ip, open.port), config);
    }
    Ok(out)
}

/// `len` random-looking bytes from `seed` that are neither an SMTP reply nor a TLS record: the
/// first byte is never an ASCII digit nor a TLS content type (0x14..=0x18).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = mix::bytes(seed, len);
    if let Some(first) = bytes.first_mut()
        && (first.is_ascii_digit() || (0x14..=0x18).contains(first))
    {
        *first ^= 0x80;
    }
    bytes
}

/// TLS record content type of a handshake message.
const HANDSHAKE: u8 = 0x16;
/// TLS 1.0's version number on the wire.
const TLS10: [u8; 2] = [0x03, 0x01];

/// What an old OpenSSL server that speaks only TLS 1.0 answers to a modern ClientHello: one
/// handshake record (version 3.1) with a ServerHello choosing TLS 1.0 and
/// TLS_RSA_WITH_AES_128_CBC_SHA (with the secure-renegotiation extension), followed by
/// ServerHelloDone. (The Certificate message is left
/// out: a client that does not speak TLS 1.0 gives up at the ServerHello.)
pub fn tls10_server_hello(seed: u64) -> Vec<u8> {
    let random = mix::bytes(seed ^ 0x7261_6e64, 32);
    let session_id = mix::bytes(seed ^ 0x7369_6400, 32);
    let mut hello = Vec::with_capacity(72);
    hello.extend_from_slice(&TLS10);
    hello.extend_from_slice(&random);
    hello.push(32);
    hello.extend_from_slice(&session_id);
    hello.extend_from_slice(&[0x00, 0x2f]); // TLS_RSA_WITH_AES_128_CBC_SHA
    hello.push(0); // no compression
    // Extensions: an empty renegotiation_info (RFC 5746), as every patched server sends.
    hello.extend_from_slice(&[0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00]);
    let mut handshake = vec![0x02]; // ServerHello
    handshake.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);
    handshake.extend_from_slice(&[0x0e, 0, 0, 0]); // ServerHelloDone
    let mut record = vec![HANDSHAKE];
    record.extend_from_slice(&TLS10);
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Largest record body accepted by [`read_record`] (TLS allows 2^14 plus expansion).
const MAX_RECORD: usize = (1 << 14) + 2048;

/// Reads one TLS record (header and body). `None` on EOF before a full record or when the bytes
/// are not a plausible record (the caller then just gives up on the client).
pub async fn read_record<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 5];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if !(0x14..=0x18).contains(&header[0]) || len > MAX_RECORD {
        return Ok(None);
    }
    let mut record = header.to_vec();
    record.resize(5 + len, 0);
    match r.read_exact(&mut record[5..]).await {
        Ok(_) => Ok(Some(record)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_deterministic_and_neither_smtp_nor_tls() {
        assert_eq!(noise(7, 100), noise(7, 100));
        assert_ne!(noise(7, 100), noise(8, 100));
        assert_eq!(noise(7, 33).len(), 33);
        for seed in 0..2000 {
            let b = noise(seed, 4)[0];
            assert!(!b.is_ascii_digit() && !(0x14..=0x18).contains(&b), "{seed}");
        }
    }

    #[test]
    fn tls10_server_hello_is_well_formed() {
        let r = tls10_server_hello(3);
        assert_eq!(&r[..3], &[0x16, 0x03, 0x01]);
        assert_eq!(usize::from(u16::from_be_bytes([r[3], r[4]])), r.len() - 5);
        assert_eq!(r[5], 0x02);
        let hello_len = u32::from_be_bytes([0, r[6], r[7], r[8]]) as usize;
        assert_eq!(hello_len, 2 + 32 + 1 + 32 + 2 + 1 + 7);
        assert_eq!(&r[9..11], &[0x03, 0x01]);
        assert_eq!(&r[r.len() - 4..], &[0x0e, 0, 0, 0]);
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn issued_certificates_have_the_requested_shape() {
        let ca = Authority::new().unwrap();
        let spec = LeafSpec {
            host: "mx-198-18-0-1.testbed.example".into(),
            kind: CertKind::CaSigned,
            not_before_days: 19_800,
            not_after_days: 23_450,
            serial: 0xdead_beef,
            key: 1,
        };
        let signed = ca.issue(&spec).unwrap();
        assert_eq!(signed.chain.len(), 2);
        assert_eq!(&signed.chain[1], ca.ca_der());
        assert_eq!(signed.sha256, sha256_hex(&signed.chain[0]));
        assert_eq!(signed.chain_pem.matches("BEGIN CERTIFICATE").count(), 2);
        let own = ca
            .issue(&LeafSpec {
                kind: CertKind::SelfSigned,
                ..spec.clone()
            })
            .unwrap();
        assert_eq!(own.chain.len(), 1);
        assert_ne!(own.sha256, signed.sha256);
        // The host name is in the leaf (as CN and SAN), the CA name only in CA-signed ones.
        let contains = |der: &[u8], s: &str| der.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(contains(&signed.chain[0], &spec.host));
        assert!(contains(&signed.chain[0], CA_NAME));
        assert!(!contains(&own.chain[0], CA_NAME));
        assert!(ca.key_pem(0).contains("BEGIN PRIVATE KEY"));
        assert!(ca.ca_pem().contains("BEGIN CERTIFICATE"));
    }
}
