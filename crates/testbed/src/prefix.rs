//! IPv4 prefixes (CIDR blocks) and the testbed's address plan.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::error::{Error, Result};

/// An IPv4 prefix such as `198.18.0.0/16`, with no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Prefix {
    network: u32,
    len: u8,
}

/// The whole range a testbed may simulate: 198.18.0.0/15 (RFC 2544 benchmarking).
pub const TESTBED_RANGE: Ipv4Prefix = Ipv4Prefix {
    network: u32::from_be_bytes([198, 18, 0, 0]),
    len: 15,
};

/// Reserved for the veth link between the scanner and the internet namespaces.
pub const LINK_NETWORK: Ipv4Prefix = Ipv4Prefix {
    network: u32::from_be_bytes([198, 19, 255, 0]),
    len: 24,
};

/// The scanner's address on its veth interface.
pub const SCANNER_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 1);
/// The internet namespace's address on the veth link: the scanner's gateway.
pub const GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 2);
/// Prefix length of the point-to-point link network.
pub const LINK_PREFIX_LEN: u8 = 30;

fn mask(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

impl Ipv4Prefix {
    /// A prefix from its network address and length; host bits must be zero.
    pub fn new(network: Ipv4Addr, len: u8) -> Result<Self> {
        let text = format!("{network}/{len}");
        if len > 32 {
            return Err(Error::InvalidPrefix {
                input: text,
                reason: "prefix length must be at most 32",
            });
        }
        let network = u32::from(network);
        if network & !mask(len) != 0 {
            return Err(Error::InvalidPrefix {
                input: text,
                reason: "host bits are set (use the network address)",
            });
        }
        Ok(Ipv4Prefix { network, len })
    }

    /// The network (first) address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    /// The last address.
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network | !mask(self.len))
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Number of addresses covered.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.len))
    }

    /// Whether `ip` lies inside this prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.len) == self.network
    }

    /// Whether `other` lies entirely inside this prefix.
    pub fn contains_prefix(&self, other: &Ipv4Prefix) -> bool {
        other.len >= self.len && self.contains(other.network())
    }

    /// Whether the two prefixes share any address.
    pub fn overlaps(&self, other: &Ipv4Prefix) -> bool {
        self.contains_prefix(other) || other.contains_prefix(self)
    }

    /// All addresses in ascending order.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        let first = u64::from(self.network);
        (first..first + self.size()).map(|a| Ipv4Addr::from(a as u32))
    }

    /// Checks that this prefix can be simulated: inside 198.18.0.0/15 and clear of the link network.
    pub fn check_testbed(&self) -> Result<()> {
        if !TESTBED_RANGE.contains_prefix(self) {
            return Err(Error::PrefixOutsideRange(self.to_string()));
        }
        if self.overlaps(&LINK_NETWORK) {
            return Err(Error::PrefixOverlapsLink(self.to_string()));
        }
        Ok(())
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.len)
    }
}

impl FromStr for Ipv4Prefix {
    type Err = Error;

    /// Parses `a.b.c.d/len`; a bare address means `/32`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| Error::InvalidPrefix {
            input: s.to_owned(),
            reason,
        };
        let (addr, len) = match s.trim().split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s.trim(), None),
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad("not an IPv4 address"))?;
        let len = match len {
            None => 32,
            Some(l) if !l.is_empty() && l.len() <= 2 && l.bytes().all(|b| b.is_ascii_digit()) => {
                l.parse().map_err(|_| bad("bad prefix length"))?
            }
            Some(_) => return Err(bad("prefix length must be a number from 0 to 32")),
        };
        if len > 32 {
            return Err(bad("prefix length must be a number from 0 to 32"));
        }
        Ipv4Prefix::new(addr, len).map_err(|e| match e {
            Error::InvalidPrefix { reason, .. } => bad(reason),
            other => other,
        })
    }
}

impl serde::Serialize for Ipv4Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ipv4Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Ipv4Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_displays() {
        let x = p("198.18.0.0/16");
        assert_eq!(x.to_string(), "198.18.0.0/16");
        assert_eq!(x.size(), 65536);
        assert_eq!(x.last(), Ipv4Addr::new(198, 18, 255, 255));
        assert_eq!(p("198.18.3.4").prefix_len(), 32);
        assert_eq!(p("0.0.0.0/0").size(), 1 << 32);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "198.18.0.0/",
            "198.18.0.0/33",
            "198.18.0.0/-1",
            "198.18.0.0/+8",
            "198.18.0/16",
            "198.18.0.1/16",
            "fe80::/10",
            "198.18.0.0/16/2",
            "198.18.0.0/016x",
        ] {
            let err = bad.parse::<Ipv4Prefix>().unwrap_err();
            assert!(
                matches!(err, Error::InvalidPrefix { .. }),
                "{bad:?} gave {err}"
            );
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn containment() {
        let r = TESTBED_RANGE;
        assert!(r.contains(Ipv4Addr::new(198, 19, 1, 1)));
        assert!(!r.contains(Ipv4Addr::new(198, 20, 0, 0)));
        assert!(!r.contains(Ipv4Addr::new(198, 17, 255, 255)));
        assert!(r.contains_prefix(&p("198.18.0.0/16")));
        assert!(!p("198.18.0.0/16").contains_prefix(&r));
        assert!(p("198.19.0.0/16").overlaps(&LINK_NETWORK));
        assert!(!p("198.18.0.0/16").overlaps(&LINK_NETWORK));
        let addrs: Vec<_> = p("198.18.1.252/30").addresses().collect();
        assert_eq!(
            addrs,
            (252..=255)
                .map(|d| Ipv4Addr::new(198, 18, 1, d))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn testbed_check() {
        assert!(p("198.18.0.0/16").check_testbed().is_ok());
        assert!(p("198.19.0.0/17").check_testbed().is_ok());
        assert!(p("198.18.7.0/24").check_testbed().is_ok());
        assert!(matches!(
            p("198.20.0.0/16").check_testbed(),
            Err(Error::PrefixOutsideRange(_))
        ));
        assert!(matches!(
            p("192.0.2.0/24").check_testbed(),
            Err(Error::PrefixOutsideRange(_))
        ));
        assert!(matches!(
            p("198.16.0.0/14").check_testbed(),
            Err(Error::PrefixOutsideRange(_))
        ));
        assert!(matches!(
            p("198.18.0.0/15").check_testbed(),
            Err(Error::PrefixOverlapsLink(_))
        ));
        assert!(matches!(
            p("198.19.255.0/28").check_testbed(),
            Err(Error::PrefixOverlapsLink(_))
        ));
    }
}
