//! X.509 certificate facts (x509-parser), RFC 4514 names and host-name matching.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sha2::{Digest, Sha256};
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::asn1_rs::{Any, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use crate::record::CertFacts;

/// A certificate that x509-parser could not read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("certificate does not parse: {0}")]
pub struct CertParseError(pub String);

/// A parsed leaf with the facts that need more than strings.
#[derive(Debug, Clone)]
pub(crate) struct LeafInfo {
    pub facts: CertFacts,
    pub self_signed: bool,
    pub not_before: i64,
    pub not_after: i64,
}

impl CertFacts {
    /// Read the facts of a DER certificate. Never panics on bad input.
    pub fn from_der(der: &[u8]) -> Result<CertFacts, CertParseError> {
        parse_leaf(der).map(|l| l.facts)
    }
}

/// True when the scan time `now` (Unix seconds) lies outside `[not_before, not_after]`.
pub(crate) fn outside_validity(leaf: &LeafInfo, now: i64) -> bool {
    now < leaf.not_before || now > leaf.not_after
}

pub(crate) fn parse_leaf(der: &[u8]) -> Result<LeafInfo, CertParseError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| CertParseError(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertParseError(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        )));
    }
    let subject = cert.subject();
    let issuer = cert.issuer();
    let subject_cn = subject
        .iter_common_name()
        .next()
        .map(|a| attr_text(a).unwrap_or_else(|| hex(a.as_slice())));
    let (mut san_dns, mut san_ip) = (Vec::new(), Vec::new());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => san_dns.push((*d).to_string()),
                GeneralName::IPAddress(b) => san_ip.push(ip_text(b)),
                _ => {}
            }
        }
    }
    let validity = cert.validity();
    let not_before = validity.not_before.timestamp();
    let not_after = validity.not_after.timestamp();
    let (public_key_algorithm, public_key_bits, public_key_curve) = key_facts(&cert);
    let facts = CertFacts {
        subject: rfc4514(subject),
        issuer: rfc4514(issuer),
        subject_cn,
        san_dns,
        san_ip,
        serial: serial_hex(cert.raw_serial()),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        public_key_algorithm,
        public_key_bits,
        public_key_curve,
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        sha256: hex(&Sha256::digest(der)),
    };
    let self_signed = subject.as_raw() == issuer.as_raw()
        && !matches!(
            cert.verify_signature(None),
            Err(X509Error::SignatureVerificationError)
        );
    Ok(LeafInfo {
        facts,
        self_signed,
        not_before,
        not_after,
    })
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex(&raw[start.min(raw.len())..])
}

fn rfc3339(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ts.to_string())
}

fn ip_text(b: &[u8]) -> String {
    match b.len() {
        4 => Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Ipv6Addr::from(a).to_string()
        }
        _ => hex(b),
    }
}

fn key_facts(cert: &X509Certificate<'_>) -> (String, Option<u32>, Option<String>) {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    let parsed = spki.parsed().ok();
    let rsa_bits = || match &parsed {
        Some(PublicKey::RSA(k)) => bit_length(k.modulus),
        _ => None,
    };
    match oid.as_str() {
        "1.2.840.113549.1.1.1" => ("RSA".into(), rsa_bits(), None),
        "1.2.840.113549.1.1.10" => ("RSA-PSS".into(), rsa_bits(), None),
        "1.2.840.10045.2.1" => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            let (curve, bits) = match curve_oid.as_deref() {
                Some("1.2.840.10045.3.1.7") => (Some("P-256".to_string()), Some(256)),
                Some("1.3.132.0.34") => (Some("P-384".to_string()), Some(384)),
                Some("1.3.132.0.35") => (Some("P-521".to_string()), Some(521)),
                Some("1.3.132.0.10") => (Some("secp256k1".to_string()), Some(256)),
                other => {
                    let bits = match &parsed {
                        Some(k @ PublicKey::EC(_)) => u32::try_from(k.key_size()).ok(),
                        _ => None,
                    };
                    (other.map(str::to_string), bits.filter(|&b| b > 0))
                }
            };
            ("ECDSA".into(), bits, curve)
        }
        "1.3.101.112" => ("Ed25519".into(), Some(256), None),
        "1.3.101.113" => ("Ed448".into(), Some(448), None),
        "1.2.840.10040.4.1" => {
            let bits = match &parsed {
                Some(PublicKey::DSA(y)) => bit_length(y),
                _ => None,
            };
            ("DSA".into(), bits, None)
        }
        _ => (oid, None, None),
    }
}

/// Bit length of a big-endian unsigned integer (leading zero bytes ignored).
fn bit_length(bytes: &[u8]) -> Option<u32> {
    let start = bytes.iter().position(|&b| b != 0)?;
    let rest = u32::try_from(bytes.len() - start - 1).ok()?;
    Some(rest * 8 + (8 - bytes[start].leading_zeros()))
}

fn signature_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.113549.1.1.2" => "MD2-RSA",
        "1.2.840.113549.1.1.4" => "MD5-RSA",
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => "SHA1-RSA",
        "1.2.840.113549.1.1.14" => "SHA224-RSA",
        "1.2.840.113549.1.1.11" => "SHA256-RSA",
        "1.2.840.113549.1.1.12" => "SHA384-RSA",
        "1.2.840.113549.1.1.13" => "SHA512-RSA",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10045.4.1" => "ECDSA-SHA1",
        "1.2.840.10045.4.3.1" => "ECDSA-SHA224",
        "1.2.840.10045.4.3.2" => "ECDSA-SHA256",
        "1.2.840.10045.4.3.3" => "ECDSA-SHA384",
        "1.2.840.10045.4.3.4" => "ECDSA-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10040.4.3" => "DSA-SHA1",
        "2.16.840.1.101.3.4.3.2" => "DSA-SHA256",
        _ => return oid.to_string(),
    };
    name.to_string()
}

/// Short attribute type names used in RFC 4514 strings (RFC 4514 section 3 plus a few common ones).
fn attr_type_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.42" => "GN",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.2.840.113549.1.9.1" => "emailAddress",
        _ => return None,
    })
}

/// The text of a string-valued attribute (UTF-8, Printable, IA5, Numeric, BMP,
/// Universal, Teletex/T61 as Latin-1, Visible); `None` for other types.
fn attr_text(attr: &AttributeTypeAndValue<'_>) -> Option<String> {
    let v: &Any<'_> = attr.attr_value();
    let data = v.data;
    match v.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => Some(String::from_utf8_lossy(data).into_owned()),
        Tag::TeletexString => Some(data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        Tag::UniversalString => Some(
            data.chunks(4)
                .map(|c| {
                    let mut b = [0u8; 4];
                    b[..c.len()].copy_from_slice(c);
                    char::from_u32(u32::from_be_bytes(b)).unwrap_or('\u{fffd}')
                })
                .collect(),
        ),
        _ => None,
    }
}

/// RFC 4514 escaping of an attribute value.
fn escape_value(s: &str, out: &mut String) {
    let n = s.chars().count();
    for (i, c) in s.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i + 1 == n => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
}

/// The DER encoding of a value that is not a string, for the `#hex` form.
fn value_der(v: &Any<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.data.len() + 6);
    let tag = v.tag().0;
    let constructed = if v.header.is_constructed() { 0x20 } else { 0 };
    if tag < 31 {
        out.push(constructed | tag as u8);
    } else {
        // High tag numbers: base-128 digits after 0x1f.
        out.push(constructed | 0x1f);
        let mut digits = Vec::new();
        let mut t = tag;
        loop {
            digits.push((t & 0x7f) as u8);
            t >>= 7;
            if t == 0 {
                break;
            }
        }
        for (i, d) in digits.iter().rev().enumerate() {
            out.push(if i + 1 < digits.len() { d | 0x80 } else { *d });
        }
    }
    let len = v.data.len();
    if len < 128 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(v.data);
    out
}

/// A distinguished name as an RFC 4514 string: RDNs last-to-first, separated by
/// `,`; attributes of one RDN joined by `+`; unknown types as dotted OIDs; values
/// that are not strings as `#` and the hex of their DER encoding.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    let rdns: Vec<_> = name.iter_rdn().collect();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attr) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = attr.attr_type().to_id_string();
            let known = attr_type_name(&oid);
            out.push_str(known.unwrap_or(&oid));
            out.push('=');
            match attr_text(attr).filter(|_| known.is_some()) {
                Some(text) => escape_value(&text, &mut out),
                None => {
                    out.push('#');
                    out.push_str(&hex(&value_der(attr.attr_value())));
                }
            }
        }
    }
    out
}

/// The host name announced in a greeting line: its first word, with the brackets
/// of an address literal (`[192.0.2.1]`) and an `IPv6:` tag removed. `None` if empty.
pub fn greeting_host(first_line: &str) -> Option<String> {
    let word = first_line.split_whitespace().next()?;
    let word = word
        .strip_prefix('[')
        .and_then(|w| w.strip_suffix(']'))
        .unwrap_or(word);
    let word = word
        .strip_prefix("IPv6:")
        .or_else(|| word.strip_prefix("ipv6:"))
        .unwrap_or(word);
    (!word.is_empty()).then(|| word.to_string())
}

/// Does the certificate name `pattern` (a DNS SAN or CN) cover `host`?
///
/// Case-insensitive, a trailing dot ignored on both. A pattern `*.rest` matches
/// exactly one non-empty leftmost label followed by `rest`, and only when `rest`
/// has at least two labels; any other `*` never matches.
pub fn dns_name_matches(pattern: &str, host: &str) -> bool {
    let norm = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    let (pattern, host) = (norm(pattern), norm(host));
    if pattern.is_empty() || host.is_empty() {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(rest) => {
            if rest.contains('*') || !rest.contains('.') {
                return false;
            }
            match host.split_once('.') {
                Some((label, host_rest)) => !label.is_empty() && host_rest == rest,
                None => false,
            }
        }
        None => !pattern.contains('*') && pattern == host,
    }
}

/// Does the certificate described by `facts` cover `host` (a DNS name or an IP address)?
///
/// Addresses are compared with the IP SANs (and a CN that spells the same address);
/// names with the DNS SANs and the subject CN, using [`dns_name_matches`].
pub fn name_matches(facts: &CertFacts, host: &str) -> bool {
    if let Ok(ip) = host.parse::<IpAddr>() {
        let same = |s: &str| s.parse::<IpAddr>().is_ok_and(|x| x == ip);
        return facts.san_ip.iter().any(|s| same(s))
            || facts.subject_cn.as_deref().is_some_and(same);
    }
    facts
        .san_dns
        .iter()
        .map(String::as_str)
        .chain(facts.subject_cn.as_deref())
        .any(|p| dns_name_matches(p, host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label_only() {
        assert!(dns_name_matches("mail.example.com", "MAIL.example.com."));
        assert!(dns_name_matches("*.example.com", "mx1.example.com"));
        assert!(!dns_name_matches("*.example.com", "example.com"));
        assert!(!dns_name_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_name_matches("*.com", "example.com"));
        assert!(!dns_name_matches("m*.example.com", "mx.example.com"));
        assert!(!dns_name_matches("*.*.example.com", "a.b.example.com"));
        assert!(!dns_name_matches("", "example.com"));
        assert!(!dns_name_matches("example.com", "mail.example.com"));
    }

    #[test]
    fn greeting_host_takes_first_word() {
        assert_eq!(
            greeting_host("mx.example.org ESMTP Postfix").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            greeting_host("[192.0.2.7] ready").as_deref(),
            Some("192.0.2.7")
        );
        assert_eq!(
            greeting_host("[IPv6:2001:db8::1] hi").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(greeting_host("   "), None);
        assert_eq!(greeting_host(""), None);
    }

    #[test]
    fn bit_length_ignores_leading_zeros() {
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), Some(16));
        assert_eq!(bit_length(&[0x01]), Some(1));
        assert_eq!(bit_length(&[0x00]), None);
        assert_eq!(serial_hex(&[0x00, 0x9a, 0x01]), "9a01");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn escaping_follows_rfc4514() {
        let mut s = String::new();
        escape_value(" #a,b+c\"d\\e ", &mut s);
        assert_eq!(s, "\\ #a\\,b\\+c\\\"d\\\\e\\ ");
        let mut s = String::new();
        escape_value("#x", &mut s);
        assert_eq!(s, "\\#x");
    }

    #[test]
    fn garbage_is_a_parse_error_not_a_panic() {
        for bad in [&b""[..], b"\x30", b"\x30\x03\x02\x01\x01", &[0xffu8; 64]] {
            assert!(CertFacts::from_der(bad).is_err());
        }
    }
}
