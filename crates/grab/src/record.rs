//! The grab result record (one per target address and port).
//!
//! Every `Option` field is written as `null` when absent, so each record has the
//! same shape; only `scan`, `fingerprint` and `cves` are left out when empty.
//! `docs/schema.md` (Grab records) lists every field, and
//! `schema/grab-record.schema.json` is the JSON Schema of the record.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use smtpsweep_output::ScanRecord;
use smtpsweep_smtp::{Extensions, Reply, SessionResult, Status, TlsMode};

/// Everything learned about one (address, port): one line of grab output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrabRecord {
    /// The target address.
    pub ip: Ipv4Addr,
    /// The target port.
    pub port: u16,
    /// The SYN-scan record that found this port open (sweep mode, or scan JSONL input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanRecord>,
    /// How the session ended (`success`, `connection-refused`, ... see `docs/schema.md`).
    pub status: Status,
    /// One line explaining the status; `null` for `success`.
    pub error: Option<String>,
    /// When the session started (connect attempt), RFC 3339 UTC with microseconds.
    pub timestamp: String,
    /// How long the session took, from the connect attempt to the close, in milliseconds.
    pub duration_ms: u64,
    /// The SMTP conversation.
    pub smtp: SmtpData,
    /// TLS facts, present when a TLS handshake (implicit or STARTTLS) completed.
    pub tls: Option<TlsData>,
    /// Fingerprint matches, filled in by a later stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<serde_json::Value>,
    /// Known vulnerabilities, filled in by a later stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<serde_json::Value>,
}

/// The replies of the SMTP conversation, each `null` when the command was not sent
/// or got no complete reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpData {
    /// The greeting exactly as received (line endings included), non-UTF-8 bytes replaced by U+FFFD.
    pub banner: Option<String>,
    /// The reply code of the greeting.
    pub banner_code: Option<u16>,
    /// Reply to the first `EHLO`.
    pub ehlo: Option<ReplySummary>,
    /// Reply to `HELO`, sent when `EHLO` got a 5yz reply.
    pub helo: Option<ReplySummary>,
    /// Reply to `STARTTLS`, whatever its code.
    pub starttls: Option<ReplySummary>,
    /// Reply to the `EHLO` sent inside TLS after `STARTTLS`.
    pub ehlo_tls: Option<ReplySummary>,
    /// Reply to `HELO` inside TLS, sent when `ehlo_tls` was 5yz.
    pub helo_tls: Option<ReplySummary>,
    /// Reply to `HELP` (only with `send_help`).
    pub help: Option<ReplySummary>,
    /// Reply to `QUIT`.
    pub quit: Option<ReplySummary>,
    /// Extensions parsed from a positive `ehlo` reply.
    pub extensions: Option<Extensions>,
    /// Extensions parsed from a positive `ehlo_tls` reply.
    pub extensions_tls: Option<Extensions>,
}

/// One SMTP reply in short form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplySummary {
    /// The three-digit reply code.
    pub code: u16,
    /// The text of every line after the code, joined with `\n` (lossy UTF-8).
    pub text: String,
    /// True when some line had text directly after the code (`250mail.example`).
    pub lenient: bool,
}

impl From<&Reply> for ReplySummary {
    fn from(r: &Reply) -> Self {
        Self {
            code: r.code,
            text: r.text(),
            lenient: r.lenient,
        }
    }
}

impl ReplySummary {
    /// The reply rebuilt in wire form (`250-a\r\n250 b\r\n`), as ZGrab2 records replies.
    pub fn to_wire(&self) -> String {
        let lines: Vec<&str> = self.text.split('\n').collect();
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            let last = i + 1 == lines.len();
            out.push_str(&self.code.to_string());
            if !(last && line.is_empty()) {
                out.push(if last { ' ' } else { '-' });
                out.push_str(line);
            }
            out.push_str("\r\n");
        }
        out
    }
}

impl From<&SessionResult> for SmtpData {
    fn from(r: &SessionResult) -> Self {
        let sum = |x: &Option<Reply>| x.as_ref().map(ReplySummary::from);
        Self {
            banner: r.banner.as_ref().map(Reply::raw_text),
            banner_code: r.banner.as_ref().map(|b| b.code),
            ehlo: sum(&r.ehlo),
            helo: sum(&r.helo),
            starttls: sum(&r.starttls),
            ehlo_tls: sum(&r.ehlo_tls),
            helo_tls: sum(&r.helo_tls),
            help: sum(&r.help),
            quit: sum(&r.quit),
            extensions: r.extensions.clone(),
            extensions_tls: r.extensions_tls.clone(),
        }
    }
}

/// What the TLS handshake showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsData {
    /// `starttls` (upgraded with the command) or `implicit` (TLS from the first byte).
    pub mode: TlsMode,
    /// Negotiated protocol version: `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// Negotiated cipher suite, IANA name (e.g. `TLS_AES_128_GCM_SHA256`).
    pub cipher_suite: String,
    /// Negotiated cipher suite, IANA number (e.g. 4865 = 0x1301).
    pub cipher_suite_id: u16,
    /// ALPN protocol the server selected (none is offered, so normally `null`).
    pub alpn: Option<String>,
    /// The certificate chain as sent, leaf first, base64 DER (only with `store_certs`).
    pub chain: Option<Vec<String>>,
    /// Number of certificates the server sent.
    pub chain_length: usize,
    /// Facts about the leaf certificate; `null` when none was sent or it did not parse.
    pub leaf: Option<CertFacts>,
    /// Why `leaf` is `null` (no certificate, or the parse error).
    pub cert_error: Option<String>,
    /// The name `name_matches` and `trusted` were checked against: the first word of
    /// the greeting after the code, brackets of an address literal removed.
    pub checked_name: Option<String>,
    /// Subject equals issuer and the certificate's signature verifies with its own key
    /// (when the algorithm is one that can be checked; otherwise subject equals issuer).
    pub self_signed: Option<bool>,
    /// The scan time lies outside the validity period (expired or not yet valid).
    pub expired: Option<bool>,
    /// `checked_name` matches a DNS SAN or the subject CN (`*.` wildcards cover exactly
    /// one leftmost label), or an IP SAN for an address; `null` without a name.
    pub name_matches: Option<bool>,
    /// The chain verifies (webpki) up to a trust anchor at scan time and, when the
    /// greeting gave a name, the leaf is valid for that name.
    pub trusted: bool,
    /// Why `trusted` is false.
    pub trust_error: Option<String>,
}

/// Facts about one X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertFacts {
    /// Subject distinguished name, RFC 4514 string (most specific RDN first).
    pub subject: String,
    /// Issuer distinguished name, RFC 4514 string.
    pub issuer: String,
    /// The first common name (CN) of the subject.
    pub subject_cn: Option<String>,
    /// DNS names from the subject alternative name extension.
    pub san_dns: Vec<String>,
    /// IP addresses from the subject alternative name extension.
    pub san_ip: Vec<String>,
    /// Serial number, lowercase hex of its big-endian bytes without leading zero bytes.
    pub serial: String,
    /// Start of validity, RFC 3339 UTC.
    pub not_before: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Public key algorithm: `RSA`, `RSA-PSS`, `ECDSA`, `Ed25519`, `Ed448`, `DSA` or the OID.
    pub public_key_algorithm: String,
    /// Key size in bits (RSA modulus, EC curve size); `null` when unknown.
    pub public_key_bits: Option<u32>,
    /// EC curve name (`P-256`, `P-384`, `P-521`, `secp256k1`) or OID, for EC keys.
    pub public_key_curve: Option<String>,
    /// Signature algorithm, e.g. `SHA256-RSA`, `ECDSA-SHA256`, `Ed25519`, or the OID.
    pub signature_algorithm: String,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub sha256: String,
}
