//! Streaming aggregation of grab records.
//!
//! Memory is bounded by distinct groups, never by records:
//!
//! - De-duplication: one `u64` key ((IPv4 address << 16) | port) per
//!   distinct service in an open-addressing table of 8-byte slots that
//!   doubles at 3/4 load, so about **11–21 bytes per distinct IPv4 service**
//!   (10 million services: 110–210 MB; while it doubles, the old table is
//!   still there for a moment). IPv6 services cost 32 bytes of key each in a
//!   hash set. At the end the addresses are counted from a sorted copy of the
//!   keys (4 bytes per service, briefly).
//! - With a country or ASN database: a cache of one entry (u32 key and u32
//!   group, about the same overhead) per distinct /24 that sits inside a
//!   single database network, per database.
//! - Everything else is one counter vector per distinct
//!   family/product/vendor/version, status, TLS version, cipher suite,
//!   issuer, country and provider, and per (fingerprint group, country,
//!   provider) when databases are given.
//!
//! Input lines are parsed in place from the read buffer; a line longer than
//! [`MAX_LINE`] is counted as malformed without being buffered.
//!
//! # Speed
//!
//! One core aggregates about 600,000 generated records (2.5 kB each, 1.5
//! GB/s) a second; see the `report_bench` example. What makes it so:
//!
//! - The parser (`parse` module) reads only the fields the report uses, as
//!   borrowed slices, and compares keys as integers. Arrays and objects the
//!   report never reads (`scan`, `smtp.ehlo`, `fingerprint.matches`, ...)
//!   are skipped structurally, 64 bytes at a time with SSE2 or AVX2 bit
//!   masks, in the manner of simdjson's On-Demand API: a line whose skipped
//!   parts are structurally broken (truncated, unbalanced brackets, bad
//!   strings) is still malformed, but grammar errors inside them (`[1,]`,
//!   `[1 2]`, `{"a" 1}`, `[tru]`) are no longer detected. Everything the
//!   report reads is validated in full. See `parse_line` and the
//!   `structural` module for the exact rules.
//! - Strings are scanned 16 bytes at a time (SSE2).
//! - The de-duplication table keeps its keys in the slots, and each line is
//!   parsed before the previous one is counted, with the slot of its service
//!   prefetched meanwhile: the table is far larger than the caches, and the
//!   load was otherwise one memory stall per record.
//! - Plain files are read with `read()` into a 1 MiB buffer. Memory-mapping
//!   them was tried and measured no faster on Linux (the page-table work
//!   costs what the copy saves), so gzip and plain input share one path.

use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use smtpsweep_vulns::VulnDb;

use std::hash::Hasher;

use crate::fasthash::{FastHasher, FastMap, FastSet, U64Set};
use crate::geo::{GeoDb, GeoKind};
use crate::meta::ScanMeta;
use crate::model::{InputFile, MalformedLine, Report};
use crate::parse::{RawRecord, non_empty, parse_line};
use crate::{ReportConfig, ReportError};

/// Longest line accepted (longer ones are malformed and skipped unbuffered).
pub const MAX_LINE: usize = 16 << 20;
/// Read buffer size (plain and decompressed).
const READ_BUFFER: usize = 1 << 20;
// Whole lines inside one buffer are never too long.
const _: () = assert!(READ_BUFFER <= MAX_LINE);
/// Malformed lines kept with their text of error (all are counted).
pub const MAX_MALFORMED_EXAMPLES: usize = 100;

/// The ten statuses of the grab stage, in display order.
pub const KNOWN_STATUSES: [&str; 10] = [
    "success",
    "connection-refused",
    "connection-timeout",
    "io-timeout",
    "connection-closed",
    "protocol-error",
    "application-error",
    "handshake-error",
    "tls-version-unsupported",
    "post-tls-application-error",
];
/// Index of a known status in [`KNOWN_STATUSES`].
#[inline]
fn known_status(s: &str) -> Option<usize> {
    Some(match s {
        "success" => 0,
        "connection-refused" => 1,
        "connection-timeout" => 2,
        "io-timeout" => 3,
        "connection-closed" => 4,
        "protocol-error" => 5,
        "application-error" => 6,
        "handshake-error" => 7,
        "tls-version-unsupported" => 8,
        "post-tls-application-error" => 9,
        _ => return None,
    })
}

/// Status label for records without one.
pub const MISSING_STATUS: &str = "(missing)";

/// Increment `v[i]`, growing `v` as needed.
#[inline]
pub(crate) fn bump(v: &mut Vec<u64>, i: usize) {
    if v.len() <= i {
        v.resize(i + 1, 0);
    }
    v[i] += 1;
}

/// String names with per-port counts.
#[derive(Default)]
pub(crate) struct Tally {
    index: FastMap<Box<str>, u32>,
    pub names: Vec<Box<str>>,
    pub counts: Vec<Vec<u64>>,
}

impl Tally {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.index.insert(name.into(), i);
        self.names.push(name.into());
        self.counts.push(Vec::new());
        i
    }
    #[inline]
    pub fn add(&mut self, name: &str, pidx: usize) {
        let i = self.id(name) as usize;
        bump(&mut self.counts[i], pidx);
    }
}

/// Counters of one port.
#[derive(Debug, Default, Clone)]
pub(crate) struct PortAgg {
    pub services: u64,
    pub success: u64,
    pub with_banner: u64,
    pub fingerprinted: u64,
    pub with_version: u64,
    pub starttls_offered: u64,
    pub starttls_attempted: u64,
    pub starttls_accepted: u64,
    pub tls_starttls: u64,
    pub tls_implicit: u64,
    pub tls: u64,
    pub tls_failures: u64,
    pub with_cert: u64,
    pub self_signed: u64,
    pub expired: u64,
    pub name_mismatch: u64,
    pub name_unchecked: u64,
    pub trusted: u64,
    pub untrusted: u64,
}

/// Fingerprint group key: interned (vendor, family, product, version).
pub(crate) type FpKey = [u32; 4];

/// Accumulates records from any number of inputs; [`Aggregator::finish`]
/// turns them into a [`Report`].
pub struct Aggregator {
    pub(crate) config: ReportConfig,
    pub(crate) vulns: VulnDb,
    pub(crate) files: Vec<InputFile>,
    pub(crate) lines: u64,
    pub(crate) blank_lines: u64,
    pub(crate) records: u64,
    pub(crate) duplicates: u64,
    pub(crate) filtered_out: u64,
    pub(crate) malformed: u64,
    pub(crate) malformed_examples: Vec<MalformedLine>,
    pub(crate) notices: Vec<String>,
    pub(crate) metadata: Vec<(String, ScanMeta)>,
    /// (IPv4 << 16) | port of every service counted.
    pub(crate) seen_v4: U64Set,
    /// IPv6 services (rare).
    pub(crate) seen_v6: FastSet<(u128, u16)>,
    /// Port number -> index + 1 (0: not seen yet).
    port_slot: Vec<u16>,
    /// Index -> port number.
    pub(crate) ports: Vec<u16>,
    pub(crate) per_port: Vec<PortAgg>,
    pub(crate) statuses: Tally,
    pub(crate) tls_versions: Tally,
    pub(crate) ciphers: Tally,
    pub(crate) issuers: Tally,
    /// Interned fingerprint strings; id 0 is "".
    pub(crate) strings: Tally,
    pub(crate) fp_index: FastMap<FpKey, u32>,
    /// Hash of the four strings -> group, a fast path checked against the
    /// group's strings (collisions fall back to `fp_index`).
    fp_by_hash: FastMap<u64, u32>,
    pub(crate) fp_keys: Vec<FpKey>,
    pub(crate) fp_counts: Vec<Vec<u64>>,
    pub(crate) country: Option<GeoDb>,
    pub(crate) asn: Option<GeoDb>,
    pub(crate) country_counts: Vec<Vec<u64>>,
    pub(crate) asn_counts: Vec<Vec<u64>>,
    /// (fingerprint group, country group, provider group) -> nodes.
    pub(crate) fp_geo: FastMap<(u32, u32, u32), u64>,
}

impl Aggregator {
    /// A new aggregator; opens the MaxMind databases named in `config`.
    pub fn new(config: ReportConfig, vulns: VulnDb) -> Result<Aggregator, ReportError> {
        let country = match &config.country_db {
            Some(p) => Some(GeoDb::open(p, GeoKind::Country)?),
            None => None,
        };
        let asn = match &config.asn_db {
            Some(p) => Some(GeoDb::open(p, GeoKind::Asn)?),
            None => None,
        };
        let mut notices = Vec::new();
        if let Some(db) = &country {
            let t = db.info.database_type.to_ascii_lowercase();
            if !(t.contains("country") || t.contains("city") || t.contains("location")) {
                notices.push(format!(
                    "{}: database type {:?} does not look like a country database",
                    db.info.path, db.info.database_type
                ));
            }
        }
        if let Some(db) = &asn {
            let t = db.info.database_type.to_ascii_lowercase();
            if !(t.contains("asn") || t.contains("isp")) {
                notices.push(format!(
                    "{}: database type {:?} does not look like an ASN database",
                    db.info.path, db.info.database_type
                ));
            }
        }
        let mut statuses = Tally::default();
        for s in KNOWN_STATUSES {
            statuses.id(s);
        }
        let mut strings = Tally::default();
        strings.id("");
        Ok(Aggregator {
            config,
            vulns,
            files: Vec::new(),
            lines: 0,
            blank_lines: 0,
            records: 0,
            duplicates: 0,
            filtered_out: 0,
            malformed: 0,
            malformed_examples: Vec::new(),
            notices,
            metadata: Vec::new(),
            seen_v4: U64Set::default(),
            seen_v6: FastSet::default(),
            port_slot: vec![0; 65_536],
            ports: Vec::new(),
            per_port: Vec::new(),
            statuses,
            tls_versions: Tally::default(),
            ciphers: Tally::default(),
            issuers: Tally::default(),
            strings,
            fp_index: FastMap::default(),
            fp_by_hash: FastMap::default(),
            fp_keys: Vec::new(),
            fp_counts: Vec::new(),
            country,
            asn,
            country_counts: Vec::new(),
            asn_counts: Vec::new(),
            fp_geo: FastMap::default(),
        })
    }

    /// Read a JSON Lines file, plain or gzip-compressed (detected by its
    /// magic bytes). Only failing to open it is an error; a read error part
    /// way (e.g. a truncated gzip file) ends that file with a notice.
    pub fn add_file(&mut self, path: &Path) -> Result<(), ReportError> {
        let f = File::open(path).map_err(|e| ReportError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        self.add_reader(&path.display().to_string(), f);
        Ok(())
    }

    /// Read JSON Lines from any reader (gzip detected by magic bytes); `name`
    /// labels it in the report.
    pub fn add_reader(&mut self, name: &str, reader: impl Read) {
        let mut br = BufReader::with_capacity(READ_BUFFER, reader);
        let fidx = self.files.len();
        self.files.push(InputFile {
            path: name.to_string(),
            ..InputFile::default()
        });
        let gzip = loop {
            match br.fill_buf() {
                Ok(b) => break b.starts_with(&[0x1f, 0x8b]),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.read_failed(fidx, 0, &e);
                    return;
                }
            }
        };
        self.files[fidx].gzip = gzip;
        if gzip {
            let dec = BufReader::with_capacity(READ_BUFFER, MultiGzDecoder::new(br));
            self.read_lines(fidx, dec);
        } else {
            self.read_lines(fidx, br);
        }
    }

    fn read_failed(&mut self, fidx: usize, line: u64, e: &std::io::Error) {
        let msg = format!("read error after line {line}: {e}");
        self.notices.push(format!(
            "{}: {msg}; the rest of the file was skipped",
            self.files[fidx].path
        ));
        self.files[fidx].read_error = Some(msg);
    }

    fn read_lines(&mut self, fidx: usize, mut r: impl BufRead) {
        let mut carry: Vec<u8> = Vec::new();
        let mut overlong = false;
        let mut line_no = 0u64;
        loop {
            let buf = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.read_failed(fidx, line_no, &e);
                    break;
                }
            };
            if buf.is_empty() {
                if overlong {
                    line_no += 1;
                    self.line_too_long(fidx, line_no);
                } else if !carry.is_empty() {
                    line_no += 1;
                    self.line(fidx, line_no, &carry);
                }
                break;
            }
            match memchr::memchr(b'\n', buf) {
                Some(_) if !overlong && carry.is_empty() => {
                    let used = self.lines_in(fidx, &mut line_no, buf);
                    r.consume(used);
                }
                Some(i) => {
                    line_no += 1;
                    if overlong {
                        overlong = false;
                        self.line_too_long(fidx, line_no);
                    } else if carry.is_empty() {
                        self.line(fidx, line_no, &buf[..i]);
                    } else if carry.len() + i > MAX_LINE {
                        carry.clear();
                        self.line_too_long(fidx, line_no);
                    } else {
                        carry.extend_from_slice(&buf[..i]);
                        self.line(fidx, line_no, &carry);
                        carry.clear();
                    }
                    r.consume(i + 1);
                }
                None => {
                    let n = buf.len();
                    if !overlong {
                        if carry.len() + n > MAX_LINE {
                            overlong = true;
                            carry = Vec::new();
                        } else {
                            carry.extend_from_slice(buf);
                        }
                    }
                    r.consume(n);
                }
            }
        }
    }

    fn line_too_long(&mut self, fidx: usize, line_no: u64) {
        self.lines += 1;
        self.files[fidx].lines += 1;
        self.bad(fidx, line_no, format!("line longer than {MAX_LINE} bytes"));
    }

    fn bad(&mut self, fidx: usize, line_no: u64, error: String) {
        self.malformed += 1;
        self.files[fidx].malformed += 1;
        if self.malformed_examples.len() < MAX_MALFORMED_EXAMPLES {
            self.malformed_examples.push(MalformedLine {
                file: self.files[fidx].path.clone(),
                line: line_no,
                error,
            });
        }
    }

    /// One line (without its `\n`).
    fn line(&mut self, fidx: usize, line_no: u64, line: &[u8]) {
        let p = self.prepare(line);
        self.commit(fidx, line_no, p);
    }

    /// Every complete line of `buf`, which starts at a line start; returns
    /// the bytes used (through the last `\n`). Each line is parsed before
    /// the previous one is counted, so that the de-duplication slot of its
    /// service is already on its way into the cache (the set is far larger
    /// than the caches, and that load is otherwise a stall per record).
    fn lines_in(&mut self, fidx: usize, line_no: &mut u64, buf: &[u8]) -> usize {
        let mut pos = 0;
        let mut pending: Option<(u64, Prepared<'_>)> = None;
        while let Some(k) = memchr::memchr(b'\n', &buf[pos..]) {
            *line_no += 1;
            // No line in one buffer is longer than MAX_LINE (READ_BUFFER).
            let p = self.prepare(&buf[pos..pos + k]);
            if let Some((n, prev)) = pending.replace((*line_no, p)) {
                self.commit(fidx, n, prev);
            }
            pos += k + 1;
        }
        if let Some((n, prev)) = pending {
            self.commit(fidx, n, prev);
        }
        pos
    }

    /// Parse a line (without its `\n`) and prefetch its de-duplication slot.
    #[inline]
    fn prepare<'l>(&self, line: &'l [u8]) -> Prepared<'l> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Prepared::Blank;
        }
        let rec = match parse_line(line) {
            Ok(r) => r,
            Err(e) => return Prepared::Bad(e),
        };
        let ip: IpAddr = match rec.ip.as_str().parse::<Ipv4Addr>() {
            Ok(a) => {
                self.seen_v4.prefetch(v4_key(a, rec.port));
                IpAddr::V4(a)
            }
            Err(_) => match rec.ip.as_str().parse::<IpAddr>() {
                Ok(a) => a,
                Err(_) => {
                    return Prepared::Bad(format!("ip: not an address: {:?}", rec.ip.as_str()));
                }
            },
        };
        Prepared::Record(rec, ip)
    }

    /// Count a prepared line.
    #[inline]
    fn commit(&mut self, fidx: usize, line_no: u64, p: Prepared<'_>) {
        self.lines += 1;
        self.files[fidx].lines += 1;
        let (rec, ip) = match p {
            Prepared::Blank => {
                self.blank_lines += 1;
                return;
            }
            Prepared::Bad(e) => return self.bad(fidx, line_no, e),
            Prepared::Record(rec, ip) => (rec, ip),
        };
        self.records += 1;
        self.files[fidx].records += 1;
        if self.config.port.is_some_and(|p| p != rec.port) {
            self.filtered_out += 1;
            self.files[fidx].filtered_out += 1;
            return;
        }
        let fresh = match ip {
            IpAddr::V4(a) => self.seen_v4.insert(v4_key(a, rec.port)),
            IpAddr::V6(a) => self.seen_v6.insert((u128::from(a), rec.port)),
        };
        if !fresh {
            self.duplicates += 1;
            self.files[fidx].duplicates += 1;
            return;
        }
        self.count(ip, &rec);
    }

    /// Count one distinct service.
    fn count(&mut self, ip: IpAddr, rec: &RawRecord<'_>) {
        let pidx = self.port_index(rec.port);
        let pa = &mut self.per_port[pidx];
        pa.services += 1;

        let status = non_empty(&rec.status).unwrap_or(MISSING_STATUS);
        if status == "success" {
            pa.success += 1;
        }
        if matches!(status, "handshake-error" | "tls-version-unsupported") {
            pa.tls_failures += 1;
        }

        if let Some(smtp) = &rec.smtp {
            if smtp.banner_code.is_some() {
                pa.with_banner += 1;
            }
            if smtp.extensions.as_ref().and_then(|e| e.starttls) == Some(true) {
                pa.starttls_offered += 1;
            }
            if let Some(st) = &smtp.starttls {
                pa.starttls_attempted += 1;
                if st.code == Some(220) {
                    pa.starttls_accepted += 1;
                }
            }
        }

        if let Some(tls) = &rec.tls {
            pa.tls += 1;
            match non_empty(&tls.mode) {
                Some("starttls") => pa.tls_starttls += 1,
                Some("implicit") => pa.tls_implicit += 1,
                _ => {}
            }
            if tls.leaf.is_some() {
                pa.with_cert += 1;
            }
            if tls.self_signed == Some(true) {
                pa.self_signed += 1;
            }
            if tls.expired == Some(true) {
                pa.expired += 1;
            }
            match tls.name_matches {
                Some(false) => pa.name_mismatch += 1,
                None => pa.name_unchecked += 1,
                Some(true) => {}
            }
            if tls.trusted == Some(true) {
                pa.trusted += 1;
            } else {
                pa.untrusted += 1;
            }
            self.tls_versions
                .add(non_empty(&tls.version).unwrap_or("(unknown)"), pidx);
            self.ciphers
                .add(non_empty(&tls.cipher_suite).unwrap_or("(unknown)"), pidx);
            if let Some(issuer) = tls.leaf.as_ref().and_then(|l| non_empty(&l.issuer)) {
                self.issuers.add(issuer, pidx);
            }
        }
        let sid = match known_status(status) {
            Some(i) => i,
            None => self.statuses.id(status) as usize,
        };
        bump(&mut self.statuses.counts[sid], pidx);

        let mut fp_group = None;
        if let Some(fp) = &rec.fingerprint {
            let family = non_empty(&fp.family);
            let product = non_empty(&fp.product);
            if let Some(fam) = family.or(product) {
                let pa = &mut self.per_port[pidx];
                pa.fingerprinted += 1;
                let version = non_empty(&fp.version);
                if version.is_some() {
                    pa.with_version += 1;
                }
                let parts = [
                    non_empty(&fp.vendor).unwrap_or(""),
                    fam,
                    product.unwrap_or(""),
                    version.unwrap_or(""),
                ];
                let g = self.fp_group(parts);
                bump(&mut self.fp_counts[g as usize], pidx);
                fp_group = Some(g);
            }
        }

        let cg = self.country.as_mut().map(|db| db.group(ip));
        let ag = self.asn.as_mut().map(|db| db.group(ip));
        if let Some(c) = cg {
            grow_bump(&mut self.country_counts, c as usize, pidx);
        }
        if let Some(a) = ag {
            grow_bump(&mut self.asn_counts, a as usize, pidx);
        }
        if let (Some(g), true) = (fp_group, cg.is_some() || ag.is_some()) {
            *self
                .fp_geo
                .entry((g, cg.unwrap_or(0), ag.unwrap_or(0)))
                .or_insert(0) += 1;
        }
    }

    /// The group of (vendor, family, product, version).
    #[inline]
    fn fp_group(&mut self, parts: [&str; 4]) -> u32 {
        let mut h = FastHasher::default();
        for p in parts {
            h.write(p.as_bytes());
            h.write_u8(0xff);
        }
        let hash = h.finish();
        if let Some(&g) = self.fp_by_hash.get(&hash) {
            let key = self.fp_keys[g as usize];
            if (0..4).all(|i| *self.strings.names[key[i] as usize] == *parts[i]) {
                return g;
            }
        }
        let key = parts.map(|p| self.strings.id(p));
        let g = match self.fp_index.get(&key) {
            Some(&g) => g,
            None => {
                let g = self.fp_keys.len() as u32;
                self.fp_index.insert(key, g);
                self.fp_keys.push(key);
                self.fp_counts.push(Vec::new());
                g
            }
        };
        self.fp_by_hash.entry(hash).or_insert(g);
        g
    }

    fn port_index(&mut self, port: u16) -> usize {
        let slot = self.port_slot[usize::from(port)];
        if slot != 0 {
            return usize::from(slot - 1);
        }
        let i = self.ports.len();
        self.ports.push(port);
        self.per_port.push(PortAgg::default());
        self.port_slot[usize::from(port)] = (i + 1) as u16;
        i
    }

    /// Read a scan metadata file (`smtpsweep scan -m`). A file that does not
    /// parse is an error.
    pub fn add_metadata_file(&mut self, path: &Path) -> Result<(), ReportError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReportError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        self.add_metadata(&path.display().to_string(), &text)
    }

    /// Add scan metadata from its JSON text; `name` labels it.
    pub fn add_metadata(&mut self, name: &str, json: &str) -> Result<(), ReportError> {
        let meta: ScanMeta = serde_json::from_str(json).map_err(|e| ReportError::Metadata {
            path: name.to_string(),
            message: e.to_string(),
        })?;
        self.metadata.push((name.to_string(), meta));
        Ok(())
    }

    /// Service nodes counted so far.
    pub fn services(&self) -> u64 {
        self.seen_v4.len() as u64 + self.seen_v6.len() as u64
    }

    /// Build the report.
    pub fn finish(self) -> Report {
        crate::build::build(self)
    }
}

/// A parsed line, not counted yet. It lives on the stack for one line, so
/// the record is not boxed (that would be an allocation per record).
#[allow(clippy::large_enum_variant)]
enum Prepared<'a> {
    Blank,
    Bad(String),
    Record(RawRecord<'a>, IpAddr),
}

/// The de-duplication key of an IPv4 service.
#[inline]
fn v4_key(a: Ipv4Addr, port: u16) -> u64 {
    (u64::from(u32::from(a)) << 16) | u64::from(port)
}

fn grow_bump(v: &mut Vec<Vec<u64>>, g: usize, pidx: usize) {
    if v.len() <= g {
        v.resize_with(g + 1, Vec::new);
    }
    bump(&mut v[g], pidx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_status_indices_follow_the_table() {
        for (i, s) in KNOWN_STATUSES.iter().enumerate() {
            assert_eq!(known_status(s), Some(i));
        }
        assert_eq!(known_status("other"), None);
    }
}
