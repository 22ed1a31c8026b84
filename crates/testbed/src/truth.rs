//! Ground truth: which hosts of a prefix are live and which SMTP ports they have open.
//!
//! Pure and deterministic: the same (prefix, seed, density) always gives the same hosts, ports and
//! personas, and whether an address is live depends only on (seed, address, density), not on the
//! prefix around it. Each open pair also says what a perfect banner grab of it records: the
//! persona's exact greeting and EHLO extensions, TLS facts and the expected status (see
//! [`OpenPort`]). Only the certificates are random; [`crate::tls::provision`] makes them when a
//! testbed comes up and records their fingerprints here.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::date::{SmtpDate, civil_from_days};
use crate::error::{Error, Result};
use crate::mix::{hash, unit};
use crate::persona::{self, ExpectedStatus, FingerprintSource, Hostile, Persona, TlsVersion};
use crate::prefix::Ipv4Prefix;
use crate::tls::{self, CertKind};

/// The ports every live host is simulated on.
pub const SMTP_PORTS: [u16; 3] = [25, 465, 587];

/// How an open pair speaks TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// No TLS (including a STARTTLS that is advertised but refused).
    None,
    /// STARTTLS is advertised and answered with 220 (the handshake may still be hostile).
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// An open (address, port), the persona that answers there, and what a perfect banner grab of
/// it records. Every field but the certificate material (`cert_sha256`, `cert_pem`, `key_pem`,
/// `ca_pem`, filled by [`crate::tls::provision`]) follows from (seed, address, port).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OpenPort {
    /// Address of the live host.
    pub ip: Ipv4Addr,
    /// The open port.
    pub port: u16,
    /// Name of the persona (see [`persona::find`]).
    pub persona: String,
    /// Whether the persona is hostile.
    #[serde(default)]
    pub hostile: bool,
    /// The exact greeting (all lines, CRLFs included) as sent after any implicit TLS handshake;
    /// `null` when no complete greeting is ever sent (silent, drip, endless, garbage, and the
    /// TLS-level hostiles on port 465).
    #[serde(default)]
    pub greeting: Option<String>,
    /// Lines of the reply to the first EHLO after its first line, exactly as sent (keyword and
    /// parameters, e.g. `"SIZE 10240000"`); inside TLS on port 465. Empty when EHLO is not
    /// answered with 250.
    #[serde(default)]
    pub ehlo_extensions: Vec<String>,
    /// The same for the EHLO sent inside TLS after a successful STARTTLS (empty otherwise).
    #[serde(default)]
    pub ehlo_tls_extensions: Vec<String>,
    /// The exact reply to HELP (CRLFs included) for sessions that end in success, else `null`.
    #[serde(default)]
    pub help: Option<String>,
    /// How the pair offers TLS.
    #[serde(default = "tls_none")]
    pub tls: TlsMode,
    /// Protocol version a modern client negotiates, when a handshake completes.
    #[serde(default)]
    pub tls_version: Option<TlsVersion>,
    /// Kind of the server certificate, when a handshake completes.
    #[serde(default)]
    pub cert_kind: Option<CertKind>,
    /// Whether the leaf certificate is self-signed (when a handshake completes).
    #[serde(default)]
    pub self_signed: Option<bool>,
    /// Whether the leaf certificate's `not_after` is in the past (when a handshake completes).
    #[serde(default)]
    pub expired: Option<bool>,
    /// Leaf `not_before`, RFC 3339 (`2024-03-05T00:00:00Z`).
    #[serde(default)]
    pub cert_not_before: Option<String>,
    /// Leaf `not_after`, RFC 3339.
    #[serde(default)]
    pub cert_not_after: Option<String>,
    /// Lowercase hex SHA-256 of the leaf certificate's DER (after provisioning).
    #[serde(default)]
    pub cert_sha256: Option<String>,
    /// PEM file with the chain the server sends (leaf first).
    #[serde(default)]
    pub cert_pem: Option<PathBuf>,
    /// PEM file with the server's private key.
    #[serde(default)]
    pub key_pem: Option<PathBuf>,
    /// PEM file with the test CA's certificate, for CA-signed and expired certificates.
    #[serde(default)]
    pub ca_pem: Option<PathBuf>,
    /// The status a correct grabber reports (STARTTLS enabled, session deadline under 60 s).
    #[serde(default = "success")]
    pub expected_status: ExpectedStatus,
    /// Recog-style family a fingerprinter should find in the record (`"Postfix"`, `"exim"`,
    /// `"Exchange Server"`, ...), when the replies carrying it are received.
    #[serde(default)]
    pub expected_family: Option<String>,
    /// The version carried by those replies, if any (`"4.89"`, `"8.15.2"`, ...).
    #[serde(default)]
    pub expected_version: Option<String>,
    /// Which reply carries the family: `banner`, `ehlo` or `help`.
    #[serde(default)]
    pub fingerprint_source: Option<FingerprintSource>,
}

fn tls_none() -> TlsMode {
    TlsMode::None
}

fn success() -> ExpectedStatus {
    ExpectedStatus::Success
}

/// A closed port on a live host: the kernel answers a SYN with RST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClosedPort {
    /// Address of the live host.
    pub ip: Ipv4Addr,
    /// The closed port.
    pub port: u16,
}

/// The simulated internet: live hosts, open and closed ports, all sorted by (address, port).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The simulated prefix.
    pub prefix: Ipv4Prefix,
    /// Seed the truth was generated from.
    pub seed: u64,
    /// Probability that an address is live.
    pub density: f64,
    /// Live hosts (they answer every port in [`SMTP_PORTS`], with SYN-ACK or RST).
    pub live_hosts: Vec<Ipv4Addr>,
    /// Open (address, port) pairs with their persona.
    pub open: Vec<OpenPort>,
    /// Closed (address, port) pairs on live hosts.
    pub closed: Vec<ClosedPort>,
}

// Domain-separation constants for the per-address hashes.
const SALT_LIVE: u64 = 0x6c69_7665;
const SALT_PORTS: u64 = 0x706f_7274;
const SALT_PERSONA: u64 = 0x7065_7273;
const SALT_PICK: u64 = 0x7069_636b;
const SALT_CERT: u64 = 0x6365_7274;
const SALT_KEY: u64 = 0x6b65_7973;
const SALT_VALID: u64 = 0x7661_6c69;
const SALT_DATE: u64 = 0x6461_7465;
const SALT_ZONE: u64 = 0x7a6f_6e65;
const SALT_NOISE: u64 = 0x6e6f_6973;

/// Share of open pairs that run a hostile persona.
pub const HOSTILE_SHARE: f64 = 0.15;

/// Whether `ip` is live for this seed and density.
fn live(seed: u64, density: f64, ip: Ipv4Addr) -> bool {
    unit(hash(seed, SALT_LIVE, u64::from(u32::from(ip)))) < density
}

/// The non-empty subset of [`SMTP_PORTS`] open on a live host, as a 3-bit mask (1..=7).
fn open_mask(seed: u64, ip: Ipv4Addr) -> u8 {
    (hash(seed, SALT_PORTS, u64::from(u32::from(ip))) % 7) as u8 + 1
}

fn pair_key(ip: Ipv4Addr, port: u16) -> u64 {
    (u64::from(u32::from(ip)) << 16) | u64::from(port)
}

/// The persona answering on (ip, port): hostile with probability [`HOSTILE_SHARE`], each kind
/// (that makes sense on the port) equally likely; otherwise a uniformly chosen realistic one.
pub fn persona_for(seed: u64, ip: Ipv4Addr, port: u16) -> &'static Persona {
    let key = pair_key(ip, port);
    let pick = hash(seed, SALT_PICK, key);
    if unit(hash(seed, SALT_PERSONA, key)) < HOSTILE_SHARE {
        let pool: Vec<&'static Persona> = persona::hostile()
            .iter()
            .filter(|p| p.usable_on(port))
            .collect();
        pool[(pick % pool.len() as u64) as usize]
    } else {
        let pool = persona::realistic();
        &pool[(pick % pool.len() as u64) as usize]
    }
}

/// The kind of certificate host `ip` presents on all its TLS ports: 40 % CA-signed, 35 %
/// self-signed, 25 % expired.
pub fn cert_kind_for(seed: u64, ip: Ipv4Addr) -> CertKind {
    match hash(seed, SALT_CERT, u64::from(u32::from(ip))) % 20 {
        0..8 => CertKind::CaSigned,
        8..15 => CertKind::SelfSigned,
        _ => CertKind::Expired,
    }
}

/// Which of the shared leaf keys host `ip` uses.
pub fn leaf_key(seed: u64, ip: Ipv4Addr) -> usize {
    (hash(seed, SALT_KEY, u64::from(u32::from(ip))) % tls::LEAF_KEYS as u64) as usize
}

/// 2024-01-01 and 2019-01-01 in days since the epoch.
const DAY_2024: i64 = 19_723;
const DAY_2019: i64 = 17_897;

/// The leaf certificate of host `ip`: valid ones start in 2024-2025 and last ten years,
/// expired ones start in 2019-2021 and ended one to two years later (before 2024).
pub fn leaf_spec(seed: u64, ip: Ipv4Addr, kind: CertKind) -> tls::LeafSpec {
    let h = hash(seed, SALT_VALID, u64::from(u32::from(ip)));
    let (not_before_days, not_after_days) = match kind {
        CertKind::Expired => {
            let start = DAY_2019 + (h % 1000) as i64;
            (start, start + 365 + ((h >> 20) % 365) as i64)
        }
        CertKind::SelfSigned | CertKind::CaSigned => {
            let start = DAY_2024 + (h % 700) as i64;
            (start, start + 3650)
        }
    };
    tls::LeafSpec {
        host: persona::host_name(ip),
        kind,
        not_before_days,
        not_after_days,
        serial: hash(seed, SALT_CERT ^ 1, u64::from(u32::from(ip))),
        key: leaf_key(seed, ip),
    }
}

/// UTC offsets (minutes) servers show their greeting dates in.
const ZONES: [i32; 12] = [0, 60, 120, -300, -240, -420, 480, 540, 330, 600, -180, 180];
/// 2023-01-01T00:00:00Z.
const GREETING_EPOCH: i64 = 1_672_531_200;
/// The greeting dates span three and a half years from there.
const GREETING_SPAN: u64 = 110_000_000;

/// The frozen date (host's time zone, per-pair moment) a persona on (ip, port) greets with.
pub fn greeting_date(seed: u64, ip: Ipv4Addr, port: u16) -> SmtpDate {
    let zone = hash(seed, SALT_ZONE, u64::from(u32::from(ip))) % ZONES.len() as u64;
    SmtpDate {
        unix: GREETING_EPOCH + (hash(seed, SALT_DATE, pair_key(ip, port)) % GREETING_SPAN) as i64,
        offset_minutes: ZONES[zone as usize],
    }
}

/// Seed of the random bytes hostile personas send on (ip, port).
pub fn noise_seed(seed: u64, ip: Ipv4Addr, port: u16) -> u64 {
    hash(seed, SALT_NOISE, pair_key(ip, port))
}

fn rfc3339_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T00:00:00Z")
}

/// Everything about (ip, port) that follows from the seed: persona, texts, TLS facts and the
/// expected grab outcome. The certificate material is left empty.
pub fn describe(seed: u64, ip: Ipv4Addr, port: u16) -> OpenPort {
    let p = persona_for(seed, ip, port);
    let host = persona::host_name(ip);
    let hostile = p.hostile();
    let implicit = port == 465;
    let breaks_tls = hostile.is_some_and(Hostile::breaks_tls_handshake);
    let tls = if implicit {
        TlsMode::Implicit
    } else if p.offers_starttls() && hostile != Some(Hostile::StartTls454) {
        TlsMode::Starttls
    } else {
        TlsMode::None
    };
    let handshake = tls != TlsMode::None && !breaks_tls;
    let greeting = if implicit && breaks_tls {
        None
    } else {
        p.greeting(&host, &greeting_date(seed, ip, port))
    };
    let ehlo_extensions = if greeting.is_none() || hostile == Some(Hostile::ResetAfterGreeting) {
        Vec::new()
    } else {
        p.ehlo_extensions(implicit)
    };
    let ehlo_tls_extensions = if tls == TlsMode::Starttls && handshake {
        p.ehlo_extensions(true)
    } else {
        Vec::new()
    };
    let status = p.expected_status();
    let help = if status == ExpectedStatus::Success {
        p.help_reply(&host)
    } else {
        None
    };
    let cert_kind = handshake.then(|| cert_kind_for(seed, ip));
    let spec = cert_kind.map(|k| leaf_spec(seed, ip, k));
    let evidence = match p.fingerprint_source() {
        Some(FingerprintSource::Banner) => greeting.is_some(),
        Some(FingerprintSource::Ehlo) => !ehlo_extensions.is_empty(),
        Some(FingerprintSource::Help) => help.is_some(),
        None => false,
    };
    let family = p.family().filter(|_| evidence);
    OpenPort {
        ip,
        port,
        persona: p.name().to_owned(),
        hostile: hostile.is_some(),
        greeting,
        ehlo_extensions,
        ehlo_tls_extensions,
        help,
        tls,
        tls_version: handshake.then(|| p.max_tls()),
        cert_kind,
        self_signed: cert_kind.map(|k| k == CertKind::SelfSigned),
        expired: cert_kind.map(|k| k == CertKind::Expired),
        cert_not_before: spec.as_ref().map(|s| rfc3339_day(s.not_before_days)),
        cert_not_after: spec.as_ref().map(|s| rfc3339_day(s.not_after_days)),
        cert_sha256: None,
        cert_pem: None,
        key_pem: None,
        ca_pem: None,
        expected_status: status,
        expected_family: family.map(str::to_owned),
        expected_version: p.version().filter(|_| family.is_some()).map(str::to_owned),
        fingerprint_source: p.fingerprint_source().filter(|_| family.is_some()),
    }
}

impl OpenPort {
    /// Whether a TLS handshake with this pair completes (so it has a certificate).
    pub fn handshake_completes(&self) -> bool {
        self.cert_kind.is_some()
    }

    /// Whether the certificate material has been filled in by [`crate::tls::provision`].
    pub fn is_provisioned(&self) -> bool {
        self.cert_sha256.is_some()
    }

    fn check_material(&self) -> std::result::Result<(), String> {
        let kind = match self.cert_kind {
            None => {
                if self.cert_sha256.is_some()
                    || self.cert_pem.is_some()
                    || self.key_pem.is_some()
                    || self.ca_pem.is_some()
                {
                    return Err("has certificate material but no TLS handshake".into());
                }
                return Ok(());
            }
            Some(kind) => kind,
        };
        match &self.cert_sha256 {
            None if self.cert_pem.is_some() || self.key_pem.is_some() || self.ca_pem.is_some() => {
                Err("has certificate files but no cert_sha256".into())
            }
            None => Ok(()),
            Some(sha) => {
                if sha.len() != 64 || !sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    return Err(format!(
                        "cert_sha256 {sha:?} is not 64 lowercase hex digits"
                    ));
                }
                if self.cert_pem.is_none() || self.key_pem.is_none() {
                    return Err("has cert_sha256 but no cert_pem/key_pem".into());
                }
                if self.ca_pem.is_some() != kind.has_ca() {
                    return Err(format!(
                        "ca_pem does not fit a {} certificate",
                        kind.as_str()
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Names of the fields in which `a` and `b` differ, e.g. "`greeting`, `tls`".
fn differing_fields(a: &OpenPort, b: &OpenPort) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return "the record".into();
    };
    let names: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| format!("`{k}`"))
        .collect();
    names.join(", ")
}

impl GroundTruth {
    /// Generates the truth for `prefix` (inside 198.18.0.0/15, clear of 198.19.255.0/24).
    ///
    /// Each address is live with probability `density`; each live host has a non-empty,
    /// uniformly chosen subset of {25, 465, 587} open, each open port with a persona.
    pub fn generate(prefix: Ipv4Prefix, seed: u64, density: f64) -> Result<Self> {
        prefix.check_testbed()?;
        if !(0.0..=1.0).contains(&density) {
            return Err(Error::InvalidDensity(density));
        }
        let mut truth = GroundTruth {
            prefix,
            seed,
            density,
            live_hosts: Vec::new(),
            open: Vec::new(),
            closed: Vec::new(),
        };
        for ip in prefix.addresses().filter(|&ip| live(seed, density, ip)) {
            truth.live_hosts.push(ip);
            let mask = open_mask(seed, ip);
            for (bit, &port) in SMTP_PORTS.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    truth.open.push(describe(seed, ip, port));
                } else {
                    truth.closed.push(ClosedPort { ip, port });
                }
            }
        }
        Ok(truth)
    }

    /// Whether `ip` is a live host.
    pub fn is_live(&self, ip: Ipv4Addr) -> bool {
        self.live_hosts.binary_search(&ip).is_ok()
    }

    /// The persona answering on (ip, port), if that pair is open.
    pub fn persona_at(&self, ip: Ipv4Addr, port: u16) -> Option<&str> {
        self.open_port(ip, port).map(|o| o.persona.as_str())
    }

    /// Everything known about (ip, port), if that pair is open.
    pub fn open_port(&self, ip: Ipv4Addr, port: u16) -> Option<&OpenPort> {
        self.open
            .binary_search_by(|o| (o.ip, o.port).cmp(&(ip, port)))
            .ok()
            .map(|i| &self.open[i])
    }

    /// Number of open pairs per persona name.
    pub fn persona_counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for o in &self.open {
            *counts.entry(o.persona.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// Whether every pair with a TLS handshake has its certificate material.
    pub fn is_provisioned(&self) -> bool {
        self.open
            .iter()
            .filter(|o| o.handshake_completes())
            .all(OpenPort::is_provisioned)
    }

    /// The open (address, port) pairs as a set.
    pub fn open_pairs(&self) -> HashSet<(Ipv4Addr, u16)> {
        self.open.iter().map(|o| (o.ip, o.port)).collect()
    }

    /// The closed (address, port) pairs on live hosts as a set.
    pub fn closed_pairs(&self) -> HashSet<(Ipv4Addr, u16)> {
        self.closed.iter().map(|c| (c.ip, c.port)).collect()
    }

    /// Addresses of the prefix that are not live (they never answer), ascending.
    pub fn dead_hosts(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.prefix.addresses().filter(|ip| !self.is_live(*ip))
    }

    /// Checks internal consistency: sorted, unique, inside the prefix, every live host with
    /// all three ports accounted for (at least one open), known personas.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::TruthInvalid(m));
        self.prefix.check_testbed()?;
        if !(0.0..=1.0).contains(&self.density) {
            return Err(Error::InvalidDensity(self.density));
        }
        if !self.live_hosts.windows(2).all(|w| w[0] < w[1]) {
            return bad("live_hosts is not sorted and unique".into());
        }
        if let Some(ip) = self
            .live_hosts
            .iter()
            .find(|ip| !self.prefix.contains(**ip))
        {
            return bad(format!("live host {ip} is outside {}", self.prefix));
        }
        if !self
            .open
            .windows(2)
            .all(|w| (w[0].ip, w[0].port) < (w[1].ip, w[1].port))
        {
            return bad("open is not sorted and unique".into());
        }
        if !self.closed.windows(2).all(|w| w[0] < w[1]) {
            return bad("closed is not sorted and unique".into());
        }
        let mut seen: HashSet<(Ipv4Addr, u16)> = HashSet::new();
        let mut hosts_with_open: HashSet<Ipv4Addr> = HashSet::new();
        let pairs = self
            .open
            .iter()
            .map(|o| (o.ip, o.port, true))
            .chain(self.closed.iter().map(|c| (c.ip, c.port, false)));
        for (ip, port, open) in pairs {
            if !self.is_live(ip) {
                return bad(format!("{ip}:{port} is listed but {ip} is not a live host"));
            }
            if !SMTP_PORTS.contains(&port) {
                return bad(format!("{ip}:{port}: port is not one of 25, 465, 587"));
            }
            if !seen.insert((ip, port)) {
                return bad(format!("{ip}:{port} is listed both open and closed"));
            }
            if open {
                hosts_with_open.insert(ip);
            }
        }
        if seen.len() != self.live_hosts.len() * SMTP_PORTS.len() {
            return bad("some live host does not list all of ports 25, 465, 587".into());
        }
        if hosts_with_open.len() != self.live_hosts.len() {
            return bad("some live host has no open port".into());
        }
        if let Some(o) = self
            .open
            .iter()
            .find(|o| persona::find(&o.persona).is_none())
        {
            return Err(Error::UnknownPersona(o.persona.clone()));
        }
        let mut provisioned = None;
        for o in &self.open {
            let mut expected = describe(self.seed, o.ip, o.port);
            expected.cert_sha256.clone_from(&o.cert_sha256);
            expected.cert_pem.clone_from(&o.cert_pem);
            expected.key_pem.clone_from(&o.key_pem);
            expected.ca_pem.clone_from(&o.ca_pem);
            if expected != *o {
                return bad(format!(
                    "{}:{}: {} differs from what seed {} gives (edited, or written by another \
                     version of the testbed?)",
                    o.ip,
                    o.port,
                    differing_fields(&expected, o),
                    self.seed
                ));
            }
            if let Err(why) = o.check_material() {
                return bad(format!("{}:{}: {why}", o.ip, o.port));
            }
            if o.handshake_completes() {
                let p = o.is_provisioned();
                if *provisioned.get_or_insert(p) != p {
                    return bad("only some TLS pairs have certificates".into());
                }
            }
        }
        Ok(())
    }

    /// The truth as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("ground truth always serialises")
    }

    /// Parses and validates JSON written by [`GroundTruth::to_json`].
    pub fn from_json(text: &str) -> Result<Self> {
        let truth: GroundTruth = serde_json::from_str(text)
            .map_err(|e| Error::TruthInvalid(format!("not ground-truth JSON: {e}")))?;
        truth.validate()?;
        Ok(truth)
    }

    /// Writes the truth to `path` as JSON, creating parent directories.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io_err = |cause| Error::TruthIo {
            path: path.to_owned(),
            cause,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut text = self.to_json();
        text.push('\n');
        fs::write(path, text).map_err(io_err)
    }

    /// Reads and validates a truth file written by [`GroundTruth::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path).map_err(|cause| Error::TruthIo {
            path: path.to_owned(),
            cause,
        })?;
        let truth: GroundTruth = serde_json::from_str(&text).map_err(|cause| Error::TruthJson {
            path: path.to_owned(),
            cause,
        })?;
        truth.validate()?;
        Ok(truth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(s: &str) -> Ipv4Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn deterministic_for_same_inputs() {
        let a = GroundTruth::generate(prefix("198.18.0.0/16"), 7, 0.03).unwrap();
        let b = GroundTruth::generate(prefix("198.18.0.0/16"), 7, 0.03).unwrap();
        assert_eq!(a, b);
        let c = GroundTruth::generate(prefix("198.18.0.0/16"), 8, 0.03).unwrap();
        assert_ne!(a.live_hosts, c.live_hosts);
    }

    #[test]
    fn liveness_depends_only_on_address() {
        // A sub-prefix sees exactly the live hosts of the big prefix that fall inside it.
        let big = GroundTruth::generate(prefix("198.18.0.0/16"), 3, 0.1).unwrap();
        let small = GroundTruth::generate(prefix("198.18.77.0/24"), 3, 0.1).unwrap();
        let expected: Vec<_> = big
            .live_hosts
            .iter()
            .copied()
            .filter(|ip| small.prefix.contains(*ip))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(small.live_hosts, expected);
        let expected_open: Vec<_> = big
            .open
            .iter()
            .filter(|o| small.prefix.contains(o.ip))
            .cloned()
            .collect();
        assert_eq!(small.open, expected_open);
    }

    #[test]
    fn density_within_tolerance() {
        for (density, seed) in [(0.03, 1), (0.3, 2), (0.5, 99)] {
            let t = GroundTruth::generate(prefix("198.18.0.0/16"), seed, density).unwrap();
            let n = 65536.0;
            let got = t.live_hosts.len() as f64;
            let sd = (n * density * (1.0 - density)).sqrt();
            assert!(
                (got - n * density).abs() < 5.0 * sd,
                "density {density}: {got} live of {n}"
            );
        }
        let none = GroundTruth::generate(prefix("198.18.0.0/20"), 1, 0.0).unwrap();
        assert!(none.live_hosts.is_empty() && none.open.is_empty() && none.closed.is_empty());
        let all = GroundTruth::generate(prefix("198.18.0.0/24"), 1, 1.0).unwrap();
        assert_eq!(all.live_hosts.len(), 256);
    }

    #[test]
    fn ports_and_personas_are_consistent() {
        let t = GroundTruth::generate(prefix("198.18.0.0/16"), 1, 0.03).unwrap();
        t.validate().unwrap();
        assert_eq!(t.open.len() + t.closed.len(), 3 * t.live_hosts.len());
        // Every non-empty subset of the three ports shows up, and every persona is used.
        let mut masks = HashSet::new();
        for ip in &t.live_hosts {
            let m: Vec<u16> = SMTP_PORTS
                .iter()
                .copied()
                .filter(|p| t.persona_at(*ip, *p).is_some())
                .collect();
            assert!(!m.is_empty());
            masks.insert(m);
        }
        assert_eq!(masks.len(), 7);
        let used: HashSet<&str> = t.open.iter().map(|o| o.persona.as_str()).collect();
        assert_eq!(used.len(), persona::all().len());
        // Open and closed are disjoint and closed hosts are live.
        let open = t.open_pairs();
        assert!(t.closed_pairs().iter().all(|c| !open.contains(c)));
        let dead: Vec<_> = t.dead_hosts().take(100).collect();
        assert!(
            dead.iter()
                .all(|ip| !t.is_live(*ip) && t.prefix.contains(*ip))
        );
        assert_eq!(t.dead_hosts().count() + t.live_hosts.len(), 65536);
    }

    #[test]
    fn refuses_bad_prefixes_and_densities() {
        for p in [
            "198.20.0.0/16",
            "10.0.0.0/8",
            "192.0.2.0/24",
            "198.18.0.0/15",
        ] {
            assert!(GroundTruth::generate(prefix(p), 1, 0.03).is_err(), "{p}");
        }
        for d in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let err = GroundTruth::generate(prefix("198.18.0.0/24"), 1, d).unwrap_err();
            assert!(matches!(err, Error::InvalidDensity(_)), "{d}: {err}");
        }
    }

    #[test]
    fn json_round_trip() {
        let mut t = GroundTruth::generate(prefix("198.18.4.0/22"), 42, 0.25).unwrap();
        let text = t.to_json();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["prefix"], "198.18.4.0/22");
        assert_eq!(v["seed"], 42);
        assert_eq!(v["open"][0]["ip"], t.open[0].ip.to_string());
        assert_eq!(v["open"][0]["persona"], t.open[0].persona);
        assert!(v["closed"][0]["port"].is_u64());
        assert_eq!(GroundTruth::from_json(&text).unwrap(), t);
        assert!(!t.is_provisioned());

        let dir = std::env::temp_dir().join(format!("ssw-truth-{}", std::process::id()));
        let path = dir.join("sub/truth.json");
        t.save(&path).unwrap();
        assert_eq!(GroundTruth::load(&path).unwrap(), t);

        // With certificates: the fingerprints and paths survive the round trip too.
        let done = tls::provision(&mut t, &dir.join("certs")).unwrap();
        assert!(t.is_provisioned());
        let tls_hosts: HashSet<Ipv4Addr> = t
            .open
            .iter()
            .filter(|o| o.handshake_completes())
            .map(|o| o.ip)
            .collect();
        assert_eq!(done.certificates, tls_hosts.len());
        t.save(&path).unwrap();
        let back = GroundTruth::load(&path).unwrap();
        assert_eq!(back, t);

        // The new fields, by their JSON names.
        let v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        let records = v["open"].as_array().unwrap();
        let implicit = records
            .iter()
            .find(|r| r["tls"] == "implicit" && r["expected_status"] == "success")
            .unwrap();
        assert_eq!(implicit["port"], 465);
        assert!(implicit["greeting"].as_str().unwrap().starts_with("220"));
        assert!(
            implicit["ehlo_extensions"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
        );
        let sha = implicit["cert_sha256"].as_str().unwrap();
        assert_eq!(sha.len(), 64);
        let chain = std::fs::read(implicit["cert_pem"].as_str().unwrap()).unwrap();
        let leaf = <rustls::pki_types::CertificateDer as rustls::pki_types::pem::PemObject>::pem_slice_iter(&chain)
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(tls::sha256_hex(&leaf), sha);
        assert!(implicit["key_pem"].is_string());
        assert!(implicit["tls_version"] == "TLSv1.2" || implicit["tls_version"] == "TLSv1.3");
        let kinds: HashSet<&str> = records
            .iter()
            .filter_map(|r| r["cert_kind"].as_str())
            .collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        for r in records {
            let kind = r["cert_kind"].as_str();
            assert_eq!(r["self_signed"].as_bool(), kind.map(|k| k == "self-signed"));
            assert_eq!(r["expired"].as_bool(), kind.map(|k| k == "expired"));
            assert_eq!(
                r["ca_pem"].is_string(),
                matches!(kind, Some("expired" | "ca-signed")),
                "{r}"
            );
            for key in [
                "persona",
                "hostile",
                "greeting",
                "ehlo_extensions",
                "ehlo_tls_extensions",
                "help",
                "tls",
                "tls_version",
                "cert_not_before",
                "cert_not_after",
                "expected_status",
                "expected_family",
                "expected_version",
                "fingerprint_source",
            ] {
                assert!(r.get(key).is_some(), "{key} missing in {r}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hostile_mix_in_the_default_testbed() {
        let t = GroundTruth::generate(prefix("198.18.0.0/16"), 1, 0.03).unwrap();
        let counts = t.persona_counts();
        for p in persona::all() {
            let n = counts.get(p.name()).copied().unwrap_or(0);
            let floor = if p.is_hostile() { 20 } else { 50 };
            assert!(n >= floor, "{}: {n}", p.name());
        }
        let hostile = t.open.iter().filter(|o| o.hostile).count() as f64;
        let share = hostile / t.open.len() as f64;
        assert!((0.12..0.18).contains(&share), "{share}");
        // STARTTLS-454 never lands on the implicit-TLS port.
        assert!(
            t.open
                .iter()
                .all(|o| !(o.port == 465 && o.persona == "hostile-starttls-454"))
        );
        let statuses: HashSet<ExpectedStatus> = t.open.iter().map(|o| o.expected_status).collect();
        assert_eq!(statuses.len(), 7, "{statuses:?}");
    }

    #[test]
    fn described_facts_are_consistent() {
        let t = GroundTruth::generate(prefix("198.18.0.0/18"), 9, 0.05).unwrap();
        for o in &t.open {
            let p = persona::find(&o.persona).unwrap();
            assert_eq!(o.hostile, p.is_hostile());
            assert_eq!(o.expected_status, p.expected_status());
            assert_eq!(o.tls == TlsMode::Implicit, o.port == 465, "{o:?}");
            let tls_breaks = p.hostile().is_some_and(Hostile::breaks_tls_handshake);
            assert_eq!(
                o.handshake_completes(),
                o.tls != TlsMode::None && !tls_breaks,
                "{o:?}"
            );
            assert_eq!(o.tls_version.is_some(), o.handshake_completes());
            assert_eq!(o.cert_not_after.is_some(), o.handshake_completes());
            if let (Some(kind), Some(after)) = (o.cert_kind, &o.cert_not_after) {
                // Fixed dates: expired ones ended before 2024, valid ones run past 2033.
                assert_eq!(
                    kind == CertKind::Expired,
                    after.as_str() < "2024",
                    "{after}"
                );
                assert!(kind == CertKind::Expired || after.as_str() > "2033");
                assert_eq!(cert_kind_for(t.seed, o.ip), kind);
            }
            if !o.hostile {
                let g = o.greeting.as_deref().unwrap();
                assert!(g.contains(&persona::host_name(o.ip)), "{g}");
                assert_eq!(o.expected_status, ExpectedStatus::Success);
                assert!(!o.ehlo_extensions.is_empty() && o.help.is_some());
                assert_eq!(o.expected_family.as_deref(), p.family());
                assert_eq!(o.expected_version.as_deref(), p.version());
                assert_eq!(o.ehlo_tls_extensions.is_empty(), o.tls != TlsMode::Starttls);
            }
            if o.greeting.is_none() {
                assert!(o.expected_family.is_none() && o.ehlo_extensions.is_empty());
            }
            // The greeting date is the same the server will use.
            if let Some(g) = &o.greeting {
                let date = greeting_date(t.seed, o.ip, o.port);
                assert_eq!(
                    p.greeting(&persona::host_name(o.ip), &date).as_ref(),
                    Some(g)
                );
            }
        }
        // Hosts present one certificate kind on all their TLS ports.
        for w in t.open.windows(2) {
            if w[0].ip == w[1].ip && w[0].handshake_completes() && w[1].handshake_completes() {
                assert_eq!(w[0].cert_kind, w[1].cert_kind);
            }
        }
    }

    #[test]
    fn load_rejects_inconsistent_files() {
        let t = GroundTruth::generate(prefix("198.18.4.0/24"), 5, 0.3).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        v["open"][0]["persona"] = "no-such-mta".into();
        let err = GroundTruth::from_json(&v.to_string()).unwrap_err();
        assert!(matches!(err, Error::UnknownPersona(_)), "{err}");

        // A hand-edited greeting (or any other derived fact) is refused, naming the field.
        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        v["open"][1]["greeting"] = "220 edited\r\n".into();
        v["open"][1]["expected_status"] = "protocol-error".into();
        let err = GroundTruth::from_json(&v.to_string()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`greeting`") && msg.contains("`expected_status`"),
            "{msg}"
        );
        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        let i = t.open.iter().position(|o| o.handshake_completes()).unwrap();
        v["open"][i]["cert_sha256"] = "00".into();
        let err = GroundTruth::from_json(&v.to_string()).unwrap_err();
        assert!(err.to_string().contains("cert_sha256"), "{err}");
        v["open"][i]["cert_sha256"] = "ab".repeat(32).into();
        let err = GroundTruth::from_json(&v.to_string()).unwrap_err();
        assert!(err.to_string().contains("no cert_pem"), "{err}");

        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        v["prefix"] = "10.0.0.0/24".into();
        assert!(matches!(
            GroundTruth::from_json(&v.to_string()),
            Err(Error::PrefixOutsideRange(_))
        ));

        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        v["closed"].as_array_mut().unwrap().pop();
        assert!(matches!(
            GroundTruth::from_json(&v.to_string()),
            Err(Error::TruthInvalid(_))
        ));

        let mut v: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        v["open"][0]["ip"] = "198.18.9.9".into();
        assert!(GroundTruth::from_json(&v.to_string()).is_err());

        let err = GroundTruth::from_json("{\"prefix\": 3}").unwrap_err();
        assert!(matches!(err, Error::TruthInvalid(_)), "{err}");
        let bad = std::env::temp_dir().join(format!("ssw-bad-truth-{}.json", std::process::id()));
        std::fs::write(&bad, "[1, 2").unwrap();
        let err = GroundTruth::load(&bad).unwrap_err();
        std::fs::remove_file(&bad).unwrap();
        assert!(matches!(err, Error::TruthJson { .. }), "{err}");
        let missing = Path::new("/nonexistent/ssw/truth.json");
        assert!(matches!(
            GroundTruth::load(missing),
            Err(Error::TruthIo { .. })
        ));
    }
}
