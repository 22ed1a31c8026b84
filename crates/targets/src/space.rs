//! The scan's target space: allowed addresses × ports, indexed densely.

use std::net::Ipv4Addr;

use crate::interval::IntervalSet;
use crate::ports::PortSet;

/// One allowed range: `off` is the index (among allowed addresses) of `first`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    off: u32,
    first: u32,
}

/// Largest bucket table built for index lookups (entries of 4 bytes).
const MAX_BUCKETS: usize = 1 << 22;

/// Every `(address, port)` pair to probe, numbered `0..len()`.
///
/// Index layout: `index = address_index * ports + port_index`, where
/// `address_index` counts allowed addresses in ascending order. [`TargetSpace::get`]
/// maps an index to its pair in O(1) on typical inputs and O(log #ranges) in the
/// worst case: a bucket table over the address index narrows the search to the
/// few ranges starting in one bucket, followed by a binary search over those.
#[derive(Debug, Clone)]
pub struct TargetSpace {
    allowed: IntervalSet,
    ports: Vec<u16>,
    nports: u64,
    /// `ceil(2^64 / nports)` for `nports >= 2`: exact division of any index
    /// below 2^48 by a multiply-high (error term `index * e < 2^64` with `e < nports`).
    recip: u64,
    addresses: u64,
    blocked: u64,
    len: u64,
    segs: Vec<Segment>,
    /// `buckets[b]` = segment holding address index `b << shift`; one extra entry
    /// at the end holds the last segment.
    buckets: Vec<u32>,
    shift: u32,
}

impl TargetSpace {
    /// The space of `(allow − block) × ports`.
    pub fn new(allow: &IntervalSet, block: &IntervalSet, ports: &PortSet) -> TargetSpace {
        let allowed = allow.subtract(block);
        let addresses = allowed.len();
        let blocked = allow.len() - addresses;
        let nports = ports.len() as u64;
        let recip = if nports >= 2 {
            ((1u128 << 64).div_ceil(u128::from(nports))) as u64
        } else {
            0
        };

        let mut segs = Vec::with_capacity(allowed.ranges().len());
        let mut off: u64 = 0;
        for r in allowed.ranges() {
            // Every start offset is below the total (at most 2^32), so it fits in u32.
            segs.push(Segment {
                off: off as u32,
                first: r.first,
            });
            off += r.len();
        }

        let (buckets, shift) = if addresses == 0 {
            (Vec::new(), 0)
        } else {
            let want = (segs.len() * 2).next_power_of_two().min(MAX_BUCKETS) as u64;
            let mut shift = 0u32;
            while ((addresses - 1) >> shift) >= want {
                shift += 1;
            }
            let nb = ((addresses - 1) >> shift) as usize + 1;
            let mut buckets = Vec::with_capacity(nb + 1);
            let mut s = 0usize;
            for b in 0..nb {
                let x = (b as u64) << shift;
                while s + 1 < segs.len() && u64::from(segs[s + 1].off) <= x {
                    s += 1;
                }
                buckets.push(s as u32);
            }
            buckets.push((segs.len() - 1) as u32);
            (buckets, shift)
        };

        TargetSpace {
            allowed,
            ports: ports.ports().to_vec(),
            nports,
            recip,
            addresses,
            blocked,
            len: addresses * nports,
            segs,
            buckets,
            shift,
        }
    }

    /// Number of `(address, port)` pairs: allowed addresses × ports.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there is nothing to scan.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of allowed addresses (requested minus blocked).
    pub fn addresses(&self) -> u64 {
        self.addresses
    }

    /// Number of requested (allowlist) addresses removed by the blocklist.
    pub fn blocked_addresses(&self) -> u64 {
        self.blocked
    }

    /// The allowed addresses.
    pub fn allowed(&self) -> &IntervalSet {
        &self.allowed
    }

    /// The ports, ascending.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// The pair at `index`.
    ///
    /// # Panics
    /// If `index >= len()` (a caller bug, like slice indexing); see [`TargetSpace::try_get`].
    #[inline]
    pub fn get(&self, index: u64) -> (Ipv4Addr, u16) {
        assert!(
            index < self.len,
            "target index {index} out of range ({} targets)",
            self.len
        );
        let (a, p) = self.split(index);
        (Ipv4Addr::from(self.address_at(a as u32)), self.ports[p])
    }

    /// The pair at `index`, or `None` if `index >= len()`.
    pub fn try_get(&self, index: u64) -> Option<(Ipv4Addr, u16)> {
        (index < self.len).then(|| self.get(index))
    }

    /// The index of `(addr, port)`, or `None` if the pair is not in the space
    /// (address not allowed or port not scanned). Inverse of [`TargetSpace::get`].
    pub fn index_of(&self, addr: Ipv4Addr, port: u16) -> Option<u64> {
        let p = self.ports.binary_search(&port).ok()?;
        let a = u32::from(addr);
        let i = self.segs.partition_point(|s| s.first <= a).checked_sub(1)?;
        let range = self.allowed.ranges()[i];
        if a > range.last {
            return None;
        }
        let x = u64::from(self.segs[i].off) + u64::from(a - range.first);
        Some(x * self.nports + p as u64)
    }

    /// `(index / nports, index % nports)` without a hardware divide.
    #[inline(always)]
    fn split(&self, index: u64) -> (u64, usize) {
        if self.nports == 1 {
            return (index, 0);
        }
        let q = ((u128::from(index) * u128::from(self.recip)) >> 64) as u64;
        (q, (index - q * self.nports) as usize)
    }

    /// The allowed address with address index `x` (`x < addresses()`).
    #[inline(always)]
    fn address_at(&self, x: u32) -> u32 {
        let b = (u64::from(x) >> self.shift) as usize;
        let lo = self.buckets[b] as usize;
        let hi = self.buckets[b + 1] as usize;
        let i = if lo == hi {
            lo
        } else {
            lo + self.segs[lo + 1..=hi].partition_point(|s| s.off <= x)
        };
        let s = self.segs[i];
        s.first + (x - s.off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::{Ipv4Range, default_blocklist};
    use crate::parse::parse_target;

    fn set(items: &[&str]) -> IntervalSet {
        items.iter().map(|s| parse_target(s).unwrap()).collect()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn division_by_reciprocal_is_exact() {
        for nports in [2u64, 3, 7, 1000, 65_534, 65_535] {
            let ports: Vec<u16> = (1..=nports as u16).collect();
            let space = TargetSpace::new(
                &IntervalSet::from_ranges([Ipv4Range::new(0, u32::MAX)]),
                &IntervalSet::new(),
                &PortSet::from_ports(&ports).unwrap(),
            );
            let max = space.len() - 1;
            let mut x: u64 = 0x9E37_79B9;
            for i in (0..2000u64).chain([max, max - 1, max - nports, nports - 1, nports]) {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let index = if i < 2000 { (x >> 16) % space.len() } else { i };
                let (q, r) = space.split(index);
                assert_eq!(
                    (q, r as u64),
                    (index / nports, index % nports),
                    "{index}/{nports}"
                );
            }
        }
    }

    #[test]
    fn small_space_in_order() {
        let allow = set(&["198.18.0.0/30", "198.18.1.10-198.18.1.11"]);
        let block = set(&["198.18.0.1"]);
        let ports = PortSet::parse("25,587").unwrap();
        let space = TargetSpace::new(&allow, &block, &ports);
        assert_eq!(space.addresses(), 5);
        assert_eq!(space.blocked_addresses(), 1);
        assert_eq!(space.len(), 10);
        let all: Vec<(Ipv4Addr, u16)> = (0..space.len()).map(|i| space.get(i)).collect();
        let expect: Vec<(Ipv4Addr, u16)> = [
            "198.18.0.0",
            "198.18.0.2",
            "198.18.0.3",
            "198.18.1.10",
            "198.18.1.11",
        ]
        .iter()
        .flat_map(|a| [(ip(a), 25), (ip(a), 587)])
        .collect();
        assert_eq!(all, expect);
        for (i, &(a, p)) in all.iter().enumerate() {
            assert_eq!(space.index_of(a, p), Some(i as u64));
        }
        assert_eq!(space.index_of(ip("198.18.0.1"), 25), None); // blocked
        assert_eq!(space.index_of(ip("198.18.0.2"), 465), None); // port not scanned
        assert_eq!(space.index_of(ip("198.18.0.4"), 25), None); // outside
        assert_eq!(space.index_of(ip("0.0.0.0"), 25), None);
        assert_eq!(space.try_get(10), None);
        assert_eq!(space.try_get(9), Some((ip("198.18.1.11"), 587)));
    }

    #[test]
    fn empty_spaces() {
        let ports = PortSet::parse("25").unwrap();
        let space = TargetSpace::new(&IntervalSet::new(), &IntervalSet::new(), &ports);
        assert!(space.is_empty());
        assert_eq!(space.index_of(ip("198.18.0.1"), 25), None);
        assert_eq!(space.try_get(0), None);
        // Everything requested is blocked.
        let space = TargetSpace::new(&set(&["10.1.0.0/16"]), &default_blocklist(), &ports);
        assert_eq!(space.len(), 0);
        assert_eq!(space.blocked_addresses(), 65_536);
    }

    #[test]
    fn whole_ipv4_minus_default_blocklist() {
        let all = set(&["0.0.0.0/0"]);
        let ports = PortSet::parse("25,465,587").unwrap();
        let space = TargetSpace::new(&all, &default_blocklist(), &ports);
        let blocked = default_blocklist().len();
        assert_eq!(space.blocked_addresses(), blocked);
        assert_eq!(space.addresses(), (1u64 << 32) - blocked);
        assert_eq!(space.len(), space.addresses() * 3);
        // First and last pairs, and round trips at range edges.
        assert_eq!(space.get(0), (ip("1.0.0.0"), 25));
        assert_eq!(space.get(space.len() - 1), (ip("223.255.255.255"), 587));
        for r in space.allowed().ranges() {
            for a in [r.first, r.last] {
                let i = space.index_of(Ipv4Addr::from(a), 465).unwrap();
                assert_eq!(space.get(i), (Ipv4Addr::from(a), 465));
            }
            if r.first > 0 {
                assert_eq!(space.index_of(Ipv4Addr::from(r.first - 1), 25), None);
            }
        }
    }
}
