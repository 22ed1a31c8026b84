//! A small, pure writer of MaxMind DB (`.mmdb`) files, format version 2.0.
//!
//! Build a [`MmdbWriter`], insert IPv4 (or IPv6) prefixes with a data
//! [`Value`] each, and call [`MmdbWriter::to_bytes`]. The result is read by
//! any MaxMind DB reader (the `maxminddb` crate, libmaxminddb, ...). The
//! testbed uses it for its fictional country and ASN databases, and the report
//! tests use it to check the geography tables.
//!
//! - Search tree: one bit per level, 24-, 28- or 32-bit records. An IPv6
//!   database stores IPv4 prefixes as-is in its first 32 bits of address space
//!   (`::a.b.c.d`, the IPv4 subtree readers look IPv4 addresses up in), and by
//!   default `::ffff:0:0/96` (IPv4-mapped addresses) points to the same subtree.
//! - Later inserts win: inserting a prefix replaces whatever the earlier
//!   inserts stored for the addresses it covers, so insert broad prefixes
//!   first and exceptions after.
//! - Data section: every distinct value is stored once (identical values share
//!   one encoding); no pointers inside values.
//! - Metadata: `node_count`, `record_size`, `ip_version`, `database_type`,
//!   `languages`, `binary_format_major_version` 2, `binary_format_minor_version`
//!   0, `build_epoch`, `description`.
//!
//! No I/O: write the bytes wherever you like.
//!
//! ```
//! use smtpsweep_mmdb::{MmdbWriter, country_record};
//! let mut w = MmdbWriter::new("GeoLite2-Country");
//! w.insert_cidr("198.18.0.0/24", country_record("XA", "Avalonia")).unwrap();
//! let bytes = w.to_bytes().unwrap();
//! assert!(bytes.windows(14).any(|x| x == b"\xab\xcd\xefMaxMind.com"));
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Marker that starts the metadata section.
pub const METADATA_MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";

/// Largest payload a single field can declare (spec: 65,821 + 2^24 - 1).
const MAX_PAYLOAD: usize = 65_821 + 0xff_ffff;

/// Why a database could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MmdbError {
    /// A prefix length larger than the address width.
    PrefixTooLong {
        /// The prefix length given.
        len: u8,
        /// The address width in bits (32 or 128).
        max: u8,
    },
    /// A CIDR string that does not parse.
    BadCidr(String),
    /// An IPv6 prefix inserted into an IPv4 (`ip_version` 4) database.
    Ipv6InIpv4Database,
    /// A record size other than 24, 28 or 32.
    BadRecordSize(u16),
    /// Tree plus data do not fit in records of this size.
    TooLarge {
        /// The record size in bits.
        record_size: u16,
        /// The largest record value the file needs.
        needed: u64,
    },
    /// A string, byte string, map or array longer than the format allows.
    PayloadTooLarge(usize),
    /// A map with the same key twice.
    DuplicateKey(String),
}

impl fmt::Display for MmdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MmdbError::PrefixTooLong { len, max } => {
                write!(
                    f,
                    "prefix length /{len} is longer than the address (/{max})"
                )
            }
            MmdbError::BadCidr(s) => write!(f, "not a CIDR prefix: {s:?}"),
            MmdbError::Ipv6InIpv4Database => {
                write!(f, "cannot insert an IPv6 prefix into an IPv4 database")
            }
            MmdbError::BadRecordSize(n) => {
                write!(f, "record size {n} is not supported (use 24, 28 or 32)")
            }
            MmdbError::TooLarge {
                record_size,
                needed,
            } => write!(
                f,
                "database too large for {record_size}-bit records (needs record value {needed})"
            ),
            MmdbError::PayloadTooLarge(n) => {
                write!(
                    f,
                    "value of {n} bytes or items exceeds the MaxMind DB limit"
                )
            }
            MmdbError::DuplicateKey(k) => write!(f, "map has the key {k:?} twice"),
        }
    }
}

impl std::error::Error for MmdbError {}

/// A value of the MaxMind DB data section.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// UTF-8 string (type 2).
    String(String),
    /// IEEE-754 binary64 (type 3).
    Double(f64),
    /// Raw bytes (type 4).
    Bytes(Vec<u8>),
    /// Unsigned 16-bit integer (type 5).
    U16(u16),
    /// Unsigned 32-bit integer (type 6).
    U32(u32),
    /// Map with string keys, written in this order (type 7).
    Map(Vec<(String, Value)>),
    /// Signed 32-bit integer (type 8).
    I32(i32),
    /// Unsigned 64-bit integer (type 9).
    U64(u64),
    /// Unsigned 128-bit integer (type 10).
    U128(u128),
    /// Array (type 11).
    Array(Vec<Value>),
    /// Boolean (type 14).
    Bool(bool),
    /// IEEE-754 binary32 (type 15).
    Float(f32),
}

impl Value {
    /// A map from `(key, value)` pairs, in order.
    pub fn map<K: Into<String>, V: Into<Value>>(pairs: impl IntoIterator<Item = (K, V)>) -> Value {
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<u16> for Value {
    fn from(n: u16) -> Value {
        Value::U16(n)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Value {
        Value::U32(n)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::U64(n)
    }
}
impl From<i32> for Value {
    fn from(n: i32) -> Value {
        Value::I32(n)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Double(x)
    }
}

/// A GeoLite2-Country-style record: `country` and `registered_country`, each
/// `{"iso_code": iso, "names": {"en": name}}`.
pub fn country_record(iso_code: &str, name_en: &str) -> Value {
    let country = || {
        Value::map([
            ("iso_code", Value::from(iso_code)),
            ("names", Value::map([("en", name_en)])),
        ])
    };
    Value::map([("country", country()), ("registered_country", country())])
}

/// A GeoLite2-ASN-style record: `autonomous_system_number` (u32) and
/// `autonomous_system_organization`.
pub fn asn_record(asn: u32, organization: &str) -> Value {
    Value::map([
        ("autonomous_system_number", Value::U32(asn)),
        ("autonomous_system_organization", Value::from(organization)),
    ])
}

/// Parse `a.b.c.d/len` (or a bare address, meaning `/32`) into an address and
/// prefix length. Host bits may be set; they are ignored on insert.
pub fn parse_ipv4_cidr(s: &str) -> Result<(Ipv4Addr, u8), MmdbError> {
    let bad = || MmdbError::BadCidr(s.to_string());
    let (addr, len) = match s.trim().split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().map_err(|_| bad())?),
        None => (s.trim(), 32),
    };
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(MmdbError::PrefixTooLong { len, max: 32 });
    }
    Ok((addr, len))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rec {
    Empty,
    Node(u32),
    Data(u32),
}

/// Builds one MaxMind DB file in memory.
#[derive(Debug, Clone)]
pub struct MmdbWriter {
    database_type: String,
    ip_version: u16,
    record_size: u16,
    languages: Vec<String>,
    description: Vec<(String, String)>,
    build_epoch: u64,
    ipv4_mapped_alias: bool,
    /// Arena; node 0 is the root.
    nodes: Vec<[Rec; 2]>,
    values: Vec<Value>,
}

impl MmdbWriter {
    /// A new IPv6 database (with its IPv4 subtree) of the given
    /// `database_type`, 28-bit records, languages `["en"]`, description
    /// `{"en": database_type}` unless set,
    /// build epoch 0 (set one with [`build_epoch`](Self::build_epoch) for a
    /// real date; 0 keeps the output deterministic).
    pub fn new(database_type: &str) -> MmdbWriter {
        MmdbWriter {
            database_type: database_type.to_string(),
            ip_version: 6,
            record_size: 28,
            languages: vec!["en".to_string()],
            description: Vec::new(),
            build_epoch: 0,
            ipv4_mapped_alias: true,
            nodes: vec![[Rec::Empty, Rec::Empty]],
            values: Vec::new(),
        }
    }

    /// Make an IPv4-only database (`ip_version` 4, 32-bit tree). Call before
    /// inserting anything.
    pub fn ipv4_only(mut self) -> MmdbWriter {
        self.ip_version = 4;
        self
    }

    /// Set the record size: 24, 28 or 32 bits.
    pub fn record_size(mut self, bits: u16) -> Result<MmdbWriter, MmdbError> {
        if !matches!(bits, 24 | 28 | 32) {
            return Err(MmdbError::BadRecordSize(bits));
        }
        self.record_size = bits;
        Ok(self)
    }

    /// Set the `languages` metadata array.
    pub fn languages<S: Into<String>>(mut self, langs: impl IntoIterator<Item = S>) -> MmdbWriter {
        self.languages = langs.into_iter().map(Into::into).collect();
        self
    }

    /// Add a `description` entry (language code, text).
    pub fn description(mut self, lang: &str, text: &str) -> MmdbWriter {
        self.description.retain(|(l, _)| l != lang);
        self.description.push((lang.to_string(), text.to_string()));
        self
    }

    /// Set `build_epoch` (Unix seconds).
    pub fn build_epoch(mut self, epoch: u64) -> MmdbWriter {
        self.build_epoch = epoch;
        self
    }

    /// In an IPv6 database, whether `::ffff:0:0/96` points to the IPv4
    /// subtree (default true). Ignored for IPv4 databases.
    pub fn ipv4_mapped_alias(mut self, on: bool) -> MmdbWriter {
        self.ipv4_mapped_alias = on;
        self
    }

    /// The `ip_version` this writer produces (4 or 6).
    pub fn ip_version_value(&self) -> u16 {
        self.ip_version
    }

    /// Store `value` for every address of `addr/len`.
    pub fn insert(&mut self, addr: Ipv4Addr, len: u8, value: Value) -> Result<(), MmdbError> {
        if len > 32 {
            return Err(MmdbError::PrefixTooLong { len, max: 32 });
        }
        let a = u128::from(u32::from(addr));
        if self.ip_version == 6 {
            // ::a.b.c.d: 96 zero bits, then the IPv4 address.
            self.insert_bits(a, 96 + len, value);
        } else {
            self.insert_bits(a << 96, len, value);
        }
        Ok(())
    }

    /// Store `value` for `a.b.c.d/len` given as text.
    pub fn insert_cidr(&mut self, cidr: &str, value: Value) -> Result<(), MmdbError> {
        let (addr, len) = parse_ipv4_cidr(cidr)?;
        self.insert(addr, len, value)
    }

    /// Store `value` for the IPv6 prefix `addr/len` (IPv6 databases only).
    pub fn insert_v6(&mut self, addr: Ipv6Addr, len: u8, value: Value) -> Result<(), MmdbError> {
        if self.ip_version != 6 {
            return Err(MmdbError::Ipv6InIpv4Database);
        }
        if len > 128 {
            return Err(MmdbError::PrefixTooLong { len, max: 128 });
        }
        self.insert_bits(u128::from(addr), len, value);
        Ok(())
    }

    /// `bits` holds the address left-aligned in 128 bits; `depth` is the
    /// number of tree levels the prefix covers.
    fn insert_bits(&mut self, bits: u128, depth: u8, value: Value) {
        let id = self.values.len() as u32;
        self.values.push(value);
        let data = Rec::Data(id);
        if depth == 0 {
            self.nodes[0] = [data, data];
            return;
        }
        let mut node = 0usize;
        for i in 0..depth - 1 {
            let bit = ((bits >> (127 - u32::from(i))) & 1) as usize;
            node = descend(&mut self.nodes, node, bit);
        }
        let bit = ((bits >> (127 - u32::from(depth - 1))) & 1) as usize;
        self.nodes[node][bit] = data;
    }

    /// Encode the whole database.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MmdbError> {
        let mut tree = self.nodes.clone();
        if self.ip_version == 6 && self.ipv4_mapped_alias {
            // Point ::ffff:0:0/96 at the IPv4 subtree (the node after 96 zero
            // bits): 80 zero bits, then 16 one bits, the last being the alias.
            let v4root = (0..96).fold(0, |n, _| descend(&mut tree, n, 0));
            let mut node = (0..80).fold(0, |n, _| descend(&mut tree, n, 0));
            node = (0..15).fold(node, |n, _| descend(&mut tree, n, 1));
            tree[node][1] = Rec::Node(v4root as u32);
        }

        // Number reachable nodes breadth-first from the root (node 0 stays 0).
        let mut order = Vec::new();
        let mut index: HashMap<u32, u32> = HashMap::new();
        let mut queue = VecDeque::from([0u32]);
        index.insert(0, 0);
        while let Some(n) = queue.pop_front() {
            order.push(n);
            for r in tree[n as usize] {
                if let Rec::Node(c) = r {
                    if !index.contains_key(&c) {
                        index.insert(c, index.len() as u32);
                        queue.push_back(c);
                    }
                }
            }
        }
        let node_count = order.len() as u64;

        // Data section: used values only, identical encodings shared.
        let mut data = Vec::new();
        let mut by_bytes: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut offset_of: HashMap<u32, u64> = HashMap::new();
        let used: HashSet<u32> = order
            .iter()
            .flat_map(|&n| tree[n as usize])
            .filter_map(|r| match r {
                Rec::Data(d) => Some(d),
                _ => None,
            })
            .collect();
        let mut used: Vec<u32> = used.into_iter().collect();
        used.sort_unstable();
        for d in used {
            let mut buf = Vec::new();
            encode(&self.values[d as usize], &mut buf)?;
            let off = match by_bytes.get(&buf) {
                Some(&o) => o,
                None => {
                    let o = data.len() as u64;
                    data.extend_from_slice(&buf);
                    by_bytes.insert(buf, o);
                    o
                }
            };
            offset_of.insert(d, off);
        }

        let max_value = node_count + 16 + data.len() as u64;
        let limit = 1u64 << self.record_size;
        if max_value >= limit {
            return Err(MmdbError::TooLarge {
                record_size: self.record_size,
                needed: max_value,
            });
        }
        let value_of = |r: Rec| -> u64 {
            match r {
                Rec::Empty => node_count,
                Rec::Node(c) => u64::from(index[&c]),
                Rec::Data(d) => node_count + 16 + offset_of[&d],
            }
        };

        let mut out = Vec::with_capacity(
            order.len() * usize::from(self.record_size) / 4 + 16 + data.len() + 256,
        );
        for &n in &order {
            let [l, r] = tree[n as usize];
            let (l, r) = (value_of(l), value_of(r));
            match self.record_size {
                24 => {
                    out.extend_from_slice(&l.to_be_bytes()[5..]);
                    out.extend_from_slice(&r.to_be_bytes()[5..]);
                }
                28 => {
                    out.extend_from_slice(&l.to_be_bytes()[5..]);
                    let mid = (((l >> 24) & 0x0f) << 4) | ((r >> 24) & 0x0f);
                    out.push(mid as u8);
                    out.extend_from_slice(&r.to_be_bytes()[5..]);
                }
                _ => {
                    out.extend_from_slice(&(l as u32).to_be_bytes());
                    out.extend_from_slice(&(r as u32).to_be_bytes());
                }
            }
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(METADATA_MARKER);
        let meta = Value::map([
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(self.build_epoch)),
            ("database_type", Value::from(self.database_type.as_str())),
            (
                "description",
                if self.description.is_empty() {
                    Value::map([("en", self.database_type.as_str())])
                } else {
                    Value::Map(
                        self.description
                            .iter()
                            .map(|(l, t)| (l.clone(), Value::from(t.as_str())))
                            .collect(),
                    )
                },
            ),
            ("ip_version", Value::U16(self.ip_version)),
            (
                "languages",
                Value::Array(
                    self.languages
                        .iter()
                        .map(|l| Value::from(l.as_str()))
                        .collect(),
                ),
            ),
            ("node_count", Value::U32(node_count as u32)),
            ("record_size", Value::U16(self.record_size)),
        ]);
        encode(&meta, &mut out)?;
        Ok(out)
    }
}

/// Follow record `bit` of `node`, splitting it into a new node (that
/// inherits the record's value on both sides) when it is not a node yet.
fn descend(nodes: &mut Vec<[Rec; 2]>, node: usize, bit: usize) -> usize {
    match nodes[node][bit] {
        Rec::Node(n) => n as usize,
        inherited => {
            let n = nodes.len();
            nodes.push([inherited, inherited]);
            nodes[node][bit] = Rec::Node(n as u32);
            n
        }
    }
}

/// Write a control byte (and extended type byte and size bytes).
fn control(ty: u8, size: usize, out: &mut Vec<u8>) -> Result<(), MmdbError> {
    if size > MAX_PAYLOAD {
        return Err(MmdbError::PayloadTooLarge(size));
    }
    let (five, extra, n): (u8, u32, usize) = if size < 29 {
        (size as u8, 0, 0)
    } else if size < 285 {
        (29, (size - 29) as u32, 1)
    } else if size < 65_821 {
        (30, (size - 285) as u32, 2)
    } else {
        (31, (size - 65_821) as u32, 3)
    };
    if ty <= 7 {
        out.push((ty << 5) | five);
    } else {
        out.push(five);
        out.push(ty - 7);
    }
    out.extend_from_slice(&extra.to_be_bytes()[4 - n..]);
    Ok(())
}

/// Minimal big-endian bytes of an unsigned integer (zero: no bytes).
fn uint_bytes(n: u128) -> Vec<u8> {
    let b = n.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

fn encode(v: &Value, out: &mut Vec<u8>) -> Result<(), MmdbError> {
    match v {
        Value::String(s) => {
            control(2, s.len(), out)?;
            out.extend_from_slice(s.as_bytes());
        }
        Value::Double(x) => {
            control(3, 8, out)?;
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Bytes(b) => {
            control(4, b.len(), out)?;
            out.extend_from_slice(b);
        }
        Value::U16(n) => uint(5, u128::from(*n), out)?,
        Value::U32(n) => uint(6, u128::from(*n), out)?,
        Value::Map(pairs) => {
            let mut seen = HashSet::new();
            for (k, _) in pairs {
                if !seen.insert(k.as_str()) {
                    return Err(MmdbError::DuplicateKey(k.clone()));
                }
            }
            control(7, pairs.len(), out)?;
            for (k, val) in pairs {
                control(2, k.len(), out)?;
                out.extend_from_slice(k.as_bytes());
                encode(val, out)?;
            }
        }
        Value::I32(n) => {
            // Two's complement; negative numbers need all four bytes.
            let b = if *n < 0 {
                n.to_be_bytes().to_vec()
            } else {
                uint_bytes(*n as u128)
            };
            control(8, b.len(), out)?;
            out.extend_from_slice(&b);
        }
        Value::U64(n) => uint(9, u128::from(*n), out)?,
        Value::U128(n) => uint(10, *n, out)?,
        Value::Array(items) => {
            control(11, items.len(), out)?;
            for it in items {
                encode(it, out)?;
            }
        }
        Value::Bool(b) => control(14, usize::from(*b), out)?,
        Value::Float(x) => {
            control(15, 4, out)?;
            out.extend_from_slice(&x.to_be_bytes());
        }
    }
    Ok(())
}

fn uint(ty: u8, n: u128, out: &mut Vec<u8>) -> Result<(), MmdbError> {
    let b = uint_bytes(n);
    control(ty, b.len(), out)?;
    out.extend_from_slice(&b);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode(v, &mut out).unwrap();
        out
    }

    #[test]
    fn control_bytes_follow_the_spec_examples() {
        // 2-byte string: 010 00010.
        assert_eq!(enc(&Value::from("ab")), b"\x42ab");
        // 80-byte string: 010 11101, then 51.
        let s80 = "x".repeat(80);
        assert_eq!(&enc(&Value::from(s80.as_str()))[..2], &[0x5d, 51]);
        // 13,392-byte string: 010 11110, then 13,107 = 0x3333.
        let s = "x".repeat(13_392);
        assert_eq!(&enc(&Value::from(s.as_str()))[..3], &[0x5e, 0x33, 0x33]);
        // 3,421,264 bytes: 010 11111, then 3,355,443 = 0x333333.
        let s = "x".repeat(3_421_264);
        assert_eq!(
            &enc(&Value::from(s.as_str()))[..4],
            &[0x5f, 0x33, 0x33, 0x33]
        );
        // uint32 of 1 byte: 110 00001.
        assert_eq!(enc(&Value::U32(200)), [0xc1, 200]);
        // zero takes no payload.
        assert_eq!(enc(&Value::U16(0)), [0xa0]);
        // extended: array of 0 items is 000 00000 then 4; bool true is size 1, type 14-7=7.
        assert_eq!(enc(&Value::Array(vec![])), [0x00, 0x04]);
        assert_eq!(enc(&Value::Bool(true)), [0x01, 0x07]);
        // uint128 of 3 bytes: 000 00011 then 3.
        assert_eq!(enc(&Value::U128(0x010203)), [0x03, 0x03, 1, 2, 3]);
        // negative i32 uses four bytes.
        assert_eq!(enc(&Value::I32(-1)), [0x04, 0x01, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn errors_are_reported() {
        let mut w = MmdbWriter::new("x");
        assert_eq!(
            w.insert_cidr("198.18.0.0/33", Value::from("a")),
            Err(MmdbError::PrefixTooLong { len: 33, max: 32 })
        );
        assert!(matches!(
            w.insert_cidr("198.18.0/24", Value::from("a")),
            Err(MmdbError::BadCidr(_))
        ));
        assert!(MmdbWriter::new("x").record_size(20).is_err());
        let mut w4 = MmdbWriter::new("x").ipv4_only();
        assert_eq!(
            w4.insert_v6(Ipv6Addr::LOCALHOST, 128, Value::from("a")),
            Err(MmdbError::Ipv6InIpv4Database)
        );
        let mut w = MmdbWriter::new("x");
        w.insert_cidr(
            "198.18.0.0/16",
            Value::Map(vec![("a".into(), 1u32.into()), ("a".into(), 2u32.into())]),
        )
        .unwrap();
        assert_eq!(w.to_bytes(), Err(MmdbError::DuplicateKey("a".into())));
        assert_eq!(
            MmdbError::BadCidr("z".into()).to_string(),
            "not a CIDR prefix: \"z\""
        );
    }

    #[test]
    fn too_many_nodes_for_24_bits_is_an_error() {
        // 2^24 values need more than 24 bits; use a big string to push the data size.
        let mut w = MmdbWriter::new("x").ipv4_only().record_size(24).unwrap();
        let big = "y".repeat(9_000_000);
        w.insert_cidr("198.18.0.0/24", Value::from(big.as_str()))
            .unwrap();
        w.insert_cidr("198.18.1.0/24", Value::from(format!("{big}z")))
            .unwrap();
        assert!(matches!(w.to_bytes(), Err(MmdbError::TooLarge { .. })));
    }
}
