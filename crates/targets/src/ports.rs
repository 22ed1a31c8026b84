//! Destination port sets (`-p 25,465,587`, `-p 1-1024,8080`).

use std::fmt;
use std::str::FromStr;

use crate::error::TargetError;

/// A non-empty, sorted, de-duplicated set of destination ports (1-65535).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortSet {
    ports: Vec<u16>,
}

impl PortSet {
    /// Parse a comma-separated list of ports and inclusive ranges, e.g.
    /// `25,465,587` or `1-1024,8080`. Whitespace around items is ignored.
    /// Rejects empty lists and items, port 0, ports above 65535, reversed
    /// ranges and anything that is not a decimal number.
    pub fn parse(spec: &str) -> Result<PortSet, TargetError> {
        if spec.trim().is_empty() {
            return Err(TargetError::ports("empty port list", spec));
        }
        let mut ports = Vec::new();
        for item in spec.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(TargetError::ports("empty item (stray comma?)", spec.trim()));
            }
            match item.split_once('-') {
                Some((a, b)) => {
                    let lo = parse_port(a.trim(), item)?;
                    let hi = parse_port(b.trim(), item)?;
                    if lo > hi {
                        return Err(TargetError::ports(
                            "reversed range (first port above last)",
                            item,
                        ));
                    }
                    ports.extend(lo..=hi);
                }
                None => ports.push(parse_port(item, item)?),
            }
        }
        ports.sort_unstable();
        ports.dedup();
        Ok(PortSet { ports })
    }

    /// A set from explicit ports (sorted and de-duplicated); rejects an empty
    /// slice and port 0.
    pub fn from_ports(ports: &[u16]) -> Result<PortSet, TargetError> {
        if ports.is_empty() {
            return Err(TargetError::ports("empty port list", ""));
        }
        if ports.contains(&0) {
            return Err(TargetError::ports("port 0 is not allowed", "0"));
        }
        let mut ports = ports.to_vec();
        ports.sort_unstable();
        ports.dedup();
        Ok(PortSet { ports })
    }

    /// The ports, ascending.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Number of distinct ports (at least 1).
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// Always false: a `PortSet` is never empty. Provided for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// Position of `port` in [`PortSet::ports`], if present.
    pub fn index_of(&self, port: u16) -> Option<usize> {
        self.ports.binary_search(&port).ok()
    }
}

fn parse_port(s: &str, item: &str) -> Result<u16, TargetError> {
    if s.is_empty() {
        return Err(TargetError::ports(
            "incomplete range (expected FIRST-LAST)",
            item,
        ));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TargetError::ports(
            "not a port number (expected 1-65535)",
            item,
        ));
    }
    // All digits: anything that does not fit a u32 is certainly out of range.
    match s.parse::<u32>() {
        Ok(0) => Err(TargetError::ports("port 0 is not allowed", item)),
        Ok(p) if p <= 65535 => Ok(p as u16),
        _ => Err(TargetError::ports(
            format!("port {s} out of range (expected 1-65535)"),
            item,
        )),
    }
}

impl FromStr for PortSet {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PortSet::parse(s)
    }
}

impl fmt::Display for PortSet {
    /// Compact form, ranges collapsed: `25,465,587` or `1-1024,8080`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        let mut sep = "";
        while i < self.ports.len() {
            let start = self.ports[i];
            let mut j = i;
            while j + 1 < self.ports.len() && self.ports[j + 1] == self.ports[j] + 1 {
                j += 1;
            }
            if j == i {
                write!(f, "{sep}{start}")?;
            } else {
                write!(f, "{sep}{start}-{}", self.ports[j])?;
            }
            sep = ",";
            i = j + 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        PortSet::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_lists_and_ranges() {
        assert_eq!(
            PortSet::parse("25,465,587").unwrap().ports(),
            &[25, 465, 587]
        );
        assert_eq!(
            PortSet::parse("587, 25 ,465,25").unwrap().ports(),
            &[25, 465, 587]
        );
        let p = PortSet::parse("1-1024,8080").unwrap();
        assert_eq!(p.len(), 1025);
        assert_eq!(p.ports()[0], 1);
        assert_eq!(p.ports()[1023], 1024);
        assert_eq!(p.ports()[1024], 8080);
        assert_eq!(PortSet::parse("65535").unwrap().ports(), &[65535]);
        assert_eq!(PortSet::parse("1-65535").unwrap().len(), 65535);
        assert_eq!(PortSet::parse("10-20,15-25").unwrap().len(), 16);
        assert_eq!(PortSet::parse("7-7").unwrap().ports(), &[7]);
        assert_eq!(PortSet::parse("25 - 27").unwrap().ports(), &[25, 26, 27]);
        let p: PortSet = "465,25".parse().unwrap();
        assert_eq!(p.index_of(465), Some(1));
        assert_eq!(p.index_of(587), None);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(err("0"), "invalid port list: port 0 is not allowed: '0'");
        assert_eq!(
            err("25,65536"),
            "invalid port list: port 65536 out of range (expected 1-65535): '65536'"
        );
        assert!(err("99999999999999999999").contains("out of range"));
        assert_eq!(err(""), "invalid port list: empty port list: ''");
        assert!(err("  ").contains("empty port list"));
        assert_eq!(
            err("25,,465"),
            "invalid port list: empty item (stray comma?): '25,,465'"
        );
        assert!(err("25,").contains("empty item"));
        assert!(err(",25").contains("empty item"));
        assert_eq!(
            err("1024-1"),
            "invalid port list: reversed range (first port above last): '1024-1'"
        );
        assert!(err("smtp").contains("not a port number"));
        assert!(err("25x").contains("not a port number"));
        assert!(err("-25").contains("incomplete range"));
        assert!(err("25-").contains("incomplete range"));
        assert!(err("1-2-3").contains("not a port number"));
        assert!(err("+25").contains("not a port number"));
        assert!(err("0-10").contains("port 0 is not allowed"));
        assert!(!err("25\n26").contains('\n'));
    }

    #[test]
    fn from_ports_and_display() {
        assert!(PortSet::from_ports(&[]).is_err());
        assert!(PortSet::from_ports(&[0, 25]).is_err());
        let p = PortSet::from_ports(&[587, 25, 465, 25]).unwrap();
        assert_eq!(p.ports(), &[25, 465, 587]);
        assert_eq!(p.to_string(), "25,465,587");
        let p = PortSet::parse("8080,1-1024,1025").unwrap();
        assert_eq!(p.to_string(), "1-1025,8080");
        assert_eq!(PortSet::parse(&p.to_string()).unwrap(), p);
    }
}
