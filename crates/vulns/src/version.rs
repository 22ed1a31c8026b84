//! A version type that orders real-world SMTP software versions.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionError(pub String);

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a version: {:?}", self.0)
    }
}

impl std::error::Error for VersionError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Num(u64),
    /// Pre-release: `rc`, `beta`, ... (sorts before the release).
    Pre(u8, u64),
    /// Post-release marker: packaging revision `_1`, portable `p1`, fix
    /// pack `FP6`, letters `a`, `r6`, ... (after the release, before the
    /// next numeric component).
    Post(String, u64),
}

/// Pre-release words, lowest first.
const PRE: &[&str] = &["dev", "snapshot", "alpha", "beta", "pre", "preview", "rc"];

/// A parsed version string. Ordering rules, at each position:
/// pre-release tag < end of version < post-release tag < number, and a
/// missing trailing number equals `0` (`4.92` == `4.92.0`). So
/// `4.90_RC3 < 4.90 < 4.90_1 < 4.90.1`, `6.6.1 < 6.6.1p1 < 6.6.2`, and
/// `8.14.4/8.14.4` is Sendmail's `8.14.4` (text after `/`, `;` or a space is
/// ignored).
#[derive(Debug, Clone)]
pub struct Version {
    raw: String,
    parts: Vec<Part>,
}

impl Version {
    /// Parse a version; it must start with a digit (an optional leading `v`
    /// is allowed).
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        let t = s.trim();
        let t = t
            .strip_prefix(['v', 'V'])
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(t);
        let t = t
            .split(['/', ';', ' ', '\t', '(', ','])
            .next()
            .unwrap_or("");
        if !t.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(VersionError(s.to_string()));
        }
        let b = t.as_bytes();
        let mut parts = Vec::new();
        let mut i = 0;
        let num = |i: &mut usize| -> Option<u64> {
            let start = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            (start < *i).then(|| {
                t[start..*i].bytes().fold(0u64, |a, d| {
                    a.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                })
            })
        };
        let word = |i: &mut usize| -> String {
            let start = *i;
            while *i < b.len() && b[*i].is_ascii_alphabetic() {
                *i += 1;
            }
            t[start..*i].to_ascii_lowercase()
        };
        // First component.
        if let Some(n) = num(&mut i) {
            parts.push(Part::Num(n));
        }
        while i < b.len() {
            let c = b[i];
            if c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
                if let Some(n) = num(&mut i) {
                    parts.push(Part::Num(n));
                }
            } else if matches!(c, b'_' | b'-' | b'+' | b'.') {
                i += 1;
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    // Packaging revision such as Exim's 4.89_1.
                    let n = num(&mut i).unwrap_or(0);
                    parts.push(Part::Post(String::from(c as char), n));
                } else if b.get(i).is_some_and(u8::is_ascii_alphabetic) {
                    parts.push(tag(word(&mut i), num(&mut i)));
                } else {
                    break;
                }
            } else if c.is_ascii_alphabetic() {
                parts.push(tag(word(&mut i), num(&mut i)));
            } else {
                break;
            }
        }
        Ok(Version {
            raw: s.trim().to_string(),
            parts,
        })
    }

    /// The string as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// True if the version carries a pre-release tag (`rc`, `beta`, ...).
    pub fn is_prerelease(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Pre(..)))
    }
}

fn tag(w: String, n: Option<u64>) -> Part {
    match PRE.iter().position(|p| *p == w) {
        Some(rank) => Part::Pre(rank as u8, n.unwrap_or(0)),
        None => Part::Post(w, n.unwrap_or(0)),
    }
}

fn rank(p: Option<&Part>) -> u8 {
    match p {
        Some(Part::Pre(..)) => 0,
        None => 1,
        Some(Part::Post(..)) => 2,
        Some(Part::Num(_)) => 3,
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            let (a, b) = (self.parts.get(i), other.parts.get(i));
            let ord = match (a, b) {
                (Some(Part::Num(x)), Some(Part::Num(y))) => x.cmp(y),
                (None, Some(Part::Num(0))) | (Some(Part::Num(0)), None) => Ordering::Equal,
                (Some(Part::Pre(r1, n1)), Some(Part::Pre(r2, n2))) => r1.cmp(r2).then(n1.cmp(n2)),
                (Some(Part::Post(w1, n1)), Some(Part::Post(w2, n2))) => w1.cmp(w2).then(n1.cmp(n2)),
                _ => rank(a).cmp(&rank(b)),
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl std::str::FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Version::parse(&s).map_err(serde::de::Error::custom)
    }
}
