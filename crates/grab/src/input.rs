//! Target input for `smtpsweep grab`: one target (or one address for several
//! ports) per line, the format recognised line by line.
//!
//! | format | example | ports |
//! |---|---|---|
//! | plain address | `198.18.0.5` | the caller's default list |
//! | address and port | `198.18.0.5:25` | the one given |
//! | ZMap CSV with header | `saddr,sport,...` then rows | `sport` column, else defaults |
//! | ZMap CSV without header | `198.18.0.5,...` | defaults (address from the first column) |
//! | masscan `-oL` | `open tcp 25 198.18.0.5 1690000000` | the one given; other states/protocols skipped |
//! | smtpsweep scan JSON Lines | `{"ip":"198.18.0.5","port":25,...}` | `port` (`sport`), else defaults |
//!
//! Blank lines and lines starting with `#` are skipped. A full scan record in JSON is
//! kept whole (see [`GrabTarget::scan`]). A CSV header switches the column mapping
//! for the rows after it. Malformed lines give an [`InputError`] naming the line;
//! the iterator goes on with the next line, so the caller may skip or stop.

use std::fmt;
use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddrV4};

use serde_json::Value;
use smtpsweep_output::ScanRecord;
use thiserror::Error;

/// One target read from input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrabTarget {
    /// Address and port to grab.
    pub addr: SocketAddrV4,
    /// The scan record, when the line was a complete smtpsweep scan JSON record.
    pub scan: Option<ScanRecord>,
}

impl GrabTarget {
    fn plain(ip: Ipv4Addr, port: u16) -> Self {
        Self {
            addr: SocketAddrV4::new(ip, port),
            scan: None,
        }
    }
}

/// A line that could not be used, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("input line {line}: {kind}")]
pub struct InputError {
    /// 1-based line number.
    pub line: u64,
    /// What was wrong.
    pub kind: InputErrorKind,
}

/// What was wrong with an input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputErrorKind {
    /// Not an IPv4 address.
    BadAddress(String),
    /// Not a port number 1..=65535.
    BadPort(String),
    /// A plain address but no default ports were given.
    NoPorts,
    /// JSON that is not an object with an `ip` field, or invalid JSON.
    BadJson(String),
    /// A CSV header without an address column (`saddr` or `ip`).
    CsvHeaderWithoutAddress(String),
    /// A CSV row with fewer columns than its header needs.
    CsvShortRow {
        /// Columns needed.
        needed: usize,
        /// Columns found.
        found: usize,
    },
    /// A masscan list line with too few fields.
    BadMasscan(String),
    /// The line is in none of the known formats.
    Unrecognized(String),
    /// The line is not valid UTF-8.
    NotUtf8,
    /// Reading failed.
    Io(String),
}

impl fmt::Display for InputErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadAddress(s) => write!(f, "{s:?} is not an IPv4 address"),
            Self::BadPort(s) => write!(f, "{s:?} is not a port number (1-65535)"),
            Self::NoPorts => write!(f, "address without a port, and no default ports given"),
            Self::BadJson(e) => write!(f, "bad JSON record: {e}"),
            Self::CsvHeaderWithoutAddress(h) => {
                write!(f, "CSV header {h:?} has no saddr (or ip) column")
            }
            Self::CsvShortRow { needed, found } => {
                write!(f, "CSV row has {found} columns, the header needs {needed}")
            }
            Self::BadMasscan(s) => write!(f, "bad masscan list line {s:?}"),
            Self::Unrecognized(s) => write!(
                f,
                "{s:?} is not an address, address:port, CSV, masscan or JSON line"
            ),
            Self::NotUtf8 => write!(f, "not valid UTF-8"),
            Self::Io(e) => write!(f, "read failed: {e}"),
        }
    }
}

/// The offending text, shortened for error messages.
fn preview(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut p: String = s.chars().take(MAX).collect();
        p.push('…');
        p
    }
}

/// Column positions from a CSV header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CsvColumns {
    addr: usize,
    port: Option<usize>,
}

/// Line-by-line parser; keeps the CSV header mapping between lines.
#[derive(Debug, Clone)]
pub struct InputParser {
    default_ports: Vec<u16>,
    csv: Option<CsvColumns>,
    line: u64,
}

impl InputParser {
    /// A parser giving plain addresses the ports in `default_ports`.
    pub fn new(default_ports: &[u16]) -> Self {
        Self {
            default_ports: default_ports.to_vec(),
            csv: None,
            line: 0,
        }
    }

    /// Number of lines seen so far.
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// Parse the next line. `Ok(vec![])` for lines that name no target (blank,
    /// comment, CSV header, masscan lines for closed ports or other protocols).
    pub fn parse_line(&mut self, line: &str) -> Result<Vec<GrabTarget>, InputError> {
        self.line += 1;
        let n = self.line;
        self.parse(line)
            .map_err(|kind| InputError { line: n, kind })
    }

    /// Count a line that could not even be read (I/O error, not UTF-8).
    fn fail_line(&mut self, kind: InputErrorKind) -> InputError {
        self.line += 1;
        InputError {
            line: self.line,
            kind,
        }
    }

    fn parse(&mut self, line: &str) -> Result<Vec<GrabTarget>, InputErrorKind> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(Vec::new());
        }
        if line.starts_with('{') {
            return self.parse_json(line);
        }
        let mut words = line.split_whitespace();
        if let (Some(state), Some(proto)) = (words.next(), words.next())
            && matches!(state, "open" | "closed" | "banner")
            && matches!(proto, "tcp" | "udp" | "sctp" | "icmp")
        {
            return parse_masscan(line, state, proto, words);
        }
        if line.contains(',') || line.eq_ignore_ascii_case("saddr") {
            return self.parse_csv(line);
        }
        if let Some((a, p)) = line.split_once(':') {
            let ip = parse_ip(a)?;
            return Ok(vec![GrabTarget::plain(ip, parse_port(p)?)]);
        }
        match line.parse::<Ipv4Addr>() {
            Ok(ip) => self.with_defaults(ip),
            Err(_) if line.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
                Err(InputErrorKind::BadAddress(preview(line)))
            }
            Err(_) => Err(InputErrorKind::Unrecognized(preview(line))),
        }
    }

    fn with_defaults(&self, ip: Ipv4Addr) -> Result<Vec<GrabTarget>, InputErrorKind> {
        if self.default_ports.is_empty() {
            return Err(InputErrorKind::NoPorts);
        }
        Ok(self
            .default_ports
            .iter()
            .map(|&p| GrabTarget::plain(ip, p))
            .collect())
    }

    fn parse_json(&self, line: &str) -> Result<Vec<GrabTarget>, InputErrorKind> {
        if let Ok(rec) = ScanRecord::from_json_line(line) {
            if rec.port == 0 {
                return Err(InputErrorKind::BadPort("0".into()));
            }
            return Ok(vec![GrabTarget {
                addr: SocketAddrV4::new(rec.ip, rec.port),
                scan: Some(rec),
            }]);
        }
        let v: Value =
            serde_json::from_str(line).map_err(|e| InputErrorKind::BadJson(e.to_string()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| InputErrorKind::BadJson("not an object".into()))?;
        let ip = match obj.get("ip").or_else(|| obj.get("saddr")) {
            Some(Value::String(s)) => parse_ip(s)?,
            Some(other) => return Err(InputErrorKind::BadAddress(preview(&other.to_string()))),
            None => return Err(InputErrorKind::BadJson("no \"ip\" field".into())),
        };
        match obj.get("port").or_else(|| obj.get("sport")) {
            None | Some(Value::Null) => self.with_defaults(ip),
            Some(Value::Number(n)) => {
                let port = n
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|&p| p != 0)
                    .ok_or_else(|| InputErrorKind::BadPort(n.to_string()))?;
                Ok(vec![GrabTarget::plain(ip, port)])
            }
            Some(Value::String(s)) => Ok(vec![GrabTarget::plain(ip, parse_port(s)?)]),
            Some(other) => Err(InputErrorKind::BadPort(preview(&other.to_string()))),
        }
    }

    fn parse_csv(&mut self, line: &str) -> Result<Vec<GrabTarget>, InputErrorKind> {
        let fields = split_csv(line);
        let first = fields.first().map(String::as_str).unwrap_or("");
        if first.parse::<Ipv4Addr>().is_err() {
            let names: Vec<String> = fields
                .iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .collect();
            let looks_like_header = names.iter().all(|n| {
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            if looks_like_header {
                let find = |a: &str, b: &str| names.iter().position(|n| n == a || n == b);
                return match find("saddr", "ip") {
                    Some(addr) => {
                        self.csv = Some(CsvColumns {
                            addr,
                            port: find("sport", "port"),
                        });
                        Ok(Vec::new())
                    }
                    None => {
                        self.csv = None;
                        Err(InputErrorKind::CsvHeaderWithoutAddress(preview(line)))
                    }
                };
            }
        }
        let cols = self.csv.unwrap_or(CsvColumns {
            addr: 0,
            port: None,
        });
        let needed = cols.addr.max(cols.port.unwrap_or(0)) + 1;
        if fields.len() < needed {
            return Err(InputErrorKind::CsvShortRow {
                needed,
                found: fields.len(),
            });
        }
        let ip = parse_ip(&fields[cols.addr])?;
        match cols.port.map(|i| fields[i].trim()) {
            Some(p) if !p.is_empty() => Ok(vec![GrabTarget::plain(ip, parse_port(p)?)]),
            _ => self.with_defaults(ip),
        }
    }
}

fn parse_ip(s: &str) -> Result<Ipv4Addr, InputErrorKind> {
    let s = s.trim();
    s.parse()
        .map_err(|_| InputErrorKind::BadAddress(preview(s)))
}

fn parse_port(s: &str) -> Result<u16, InputErrorKind> {
    let s = s.trim();
    match s.parse::<u16>() {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(InputErrorKind::BadPort(preview(s))),
    }
}

/// `open tcp PORT ADDR [TIMESTAMP]`; other states and protocols name no target.
fn parse_masscan<'a>(
    line: &str,
    state: &str,
    proto: &str,
    mut rest: impl Iterator<Item = &'a str>,
) -> Result<Vec<GrabTarget>, InputErrorKind> {
    let (Some(port), Some(addr)) = (rest.next(), rest.next()) else {
        return Err(InputErrorKind::BadMasscan(preview(line)));
    };
    let port = parse_port(port)?;
    let ip = parse_ip(addr)?;
    if state == "open" && proto == "tcp" {
        Ok(vec![GrabTarget::plain(ip, port)])
    } else {
        Ok(Vec::new())
    }
}

/// Split one CSV line (RFC 4180 quoting: `"a,b"` and `""` inside quotes).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// Iterator over the targets of a reader; see [`read_targets`].
pub struct Targets<R> {
    reader: R,
    parser: InputParser,
    pending: std::vec::IntoIter<GrabTarget>,
    buf: Vec<u8>,
    done: bool,
}

/// Read targets from `reader` line by line. Yields each target, or an error for a
/// malformed line and then carries on; stops at the end of input or after an I/O error.
pub fn read_targets<R: BufRead>(reader: R, default_ports: &[u16]) -> Targets<R> {
    Targets {
        reader,
        parser: InputParser::new(default_ports),
        pending: Vec::new().into_iter(),
        buf: Vec::new(),
        done: false,
    }
}

impl<R> Targets<R> {
    /// Lines read so far.
    pub fn line_number(&self) -> u64 {
        self.parser.line_number()
    }
}

impl<R: BufRead> Iterator for Targets<R> {
    type Item = Result<GrabTarget, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(t) = self.pending.next() {
                return Some(Ok(t));
            }
            if self.done {
                return None;
            }
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {
                    let res = match std::str::from_utf8(&self.buf) {
                        Ok(line) => self.parser.parse_line(line),
                        Err(_) => Err(self.parser.fail_line(InputErrorKind::NotUtf8)),
                    };
                    match res {
                        Ok(targets) => self.pending = targets.into_iter(),
                        Err(e) => return Some(Err(e)),
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(self
                        .parser
                        .fail_line(InputErrorKind::Io(e.to_string()))));
                }
            }
        }
    }
}
