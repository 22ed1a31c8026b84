//! Inclusive IPv4 ranges and sorted sets of them.

use std::fmt;
use std::net::Ipv4Addr;

/// An inclusive range of IPv4 addresses (`first..=last`, host byte order).
///
/// A range with `first > last` is considered empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Range {
    /// First address of the range.
    pub first: u32,
    /// Last address of the range (inclusive).
    pub last: u32,
}

impl Ipv4Range {
    /// The range `first..=last`.
    pub const fn new(first: u32, last: u32) -> Self {
        Ipv4Range { first, last }
    }

    /// The single address `addr`.
    pub const fn single(addr: u32) -> Self {
        Ipv4Range {
            first: addr,
            last: addr,
        }
    }

    /// The CIDR block `addr/prefix`; host bits of `addr` are ignored.
    /// `prefix` values above 32 are treated as 32.
    pub const fn cidr(addr: u32, prefix: u8) -> Self {
        let host_bits = if prefix >= 32 { 0 } else { 32 - prefix as u32 };
        let host_mask = if host_bits == 32 {
            u32::MAX
        } else {
            (1u32 << host_bits) - 1
        };
        Ipv4Range {
            first: addr & !host_mask,
            last: addr | host_mask,
        }
    }

    /// Number of addresses in the range (0 when `first > last`).
    pub const fn len(&self) -> u64 {
        if self.first > self.last {
            0
        } else {
            (self.last - self.first) as u64 + 1
        }
    }

    /// Whether the range holds no address (`first > last`).
    pub const fn is_empty(&self) -> bool {
        self.first > self.last
    }

    /// Whether `addr` lies in the range.
    pub const fn contains(&self, addr: u32) -> bool {
        self.first <= addr && addr <= self.last
    }
}

impl fmt::Display for Ipv4Range {
    /// `a.b.c.d` for a single address, `a.b.c.d/len` for an aligned block,
    /// `a.b.c.d-e.f.g.h` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = Ipv4Addr::from(self.first);
        let last = Ipv4Addr::from(self.last);
        if self.first == self.last {
            return write!(f, "{first}");
        }
        if self.first <= self.last {
            let size = self.len();
            if size.is_power_of_two() && u64::from(self.first) % size == 0 {
                let prefix = 32 - size.trailing_zeros();
                return write!(f, "{first}/{prefix}");
            }
        }
        write!(f, "{first}-{last}")
    }
}

/// A set of IPv4 addresses kept as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntervalSet {
    ranges: Vec<Ipv4Range>,
}

impl IntervalSet {
    /// The empty set.
    pub fn new() -> Self {
        IntervalSet { ranges: Vec::new() }
    }

    /// The set covering every range given (overlapping and adjacent ranges are
    /// merged; empty ranges with `first > last` are ignored).
    pub fn from_ranges<I: IntoIterator<Item = Ipv4Range>>(ranges: I) -> Self {
        let mut v: Vec<Ipv4Range> = ranges.into_iter().filter(|r| !r.is_empty()).collect();
        v.sort_unstable();
        let mut out: Vec<Ipv4Range> = Vec::with_capacity(v.len());
        for r in v {
            match out.last_mut() {
                // Overlapping or adjacent: extend. (`cur.last == u32::MAX` swallows everything.)
                Some(cur) if cur.last == u32::MAX || r.first <= cur.last + 1 => {
                    cur.last = cur.last.max(r.last);
                }
                _ => out.push(r),
            }
        }
        IntervalSet { ranges: out }
    }

    /// Addresses in `self` or `other`.
    pub fn union(&self, other: &IntervalSet) -> IntervalSet {
        IntervalSet::from_ranges(self.ranges.iter().chain(other.ranges.iter()).copied())
    }

    /// Addresses in `self` but not in `other`.
    pub fn subtract(&self, other: &IntervalSet) -> IntervalSet {
        let mut out = Vec::with_capacity(self.ranges.len());
        let holes = &other.ranges;
        let mut h = 0;
        for r in &self.ranges {
            // Skip holes entirely below this range.
            while h < holes.len() && holes[h].last < r.first {
                h += 1;
            }
            let mut first = r.first;
            let mut k = h;
            let mut done = false;
            while k < holes.len() && holes[k].first <= r.last {
                let hole = holes[k];
                if hole.first > first {
                    out.push(Ipv4Range::new(first, hole.first - 1));
                }
                if hole.last >= r.last {
                    done = true;
                    break;
                }
                first = first.max(hole.last + 1);
                k += 1;
            }
            if !done {
                out.push(Ipv4Range::new(first, r.last));
            }
            // Holes before `k` end below r.last; hole `k` may still cut the next range.
            h = k;
        }
        IntervalSet { ranges: out }
    }

    /// Addresses in both `self` and `other`.
    pub fn intersect(&self, other: &IntervalSet) -> IntervalSet {
        self.subtract(&self.subtract(other))
    }

    /// Whether `addr` is in the set. O(log #ranges).
    pub fn contains(&self, addr: u32) -> bool {
        let i = self.ranges.partition_point(|r| r.first <= addr);
        i > 0 && self.ranges[i - 1].last >= addr
    }

    /// Number of addresses in the set (up to 2^32).
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(Ipv4Range::len).sum()
    }

    /// Whether the set holds no address.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The sorted, disjoint, non-adjacent ranges of the set.
    pub fn ranges(&self) -> &[Ipv4Range] {
        &self.ranges
    }
}

impl FromIterator<Ipv4Range> for IntervalSet {
    fn from_iter<I: IntoIterator<Item = Ipv4Range>>(iter: I) -> Self {
        IntervalSet::from_ranges(iter)
    }
}

const fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

/// The IANA special-purpose IPv4 blocks that are never scanned by default.
pub const DEFAULT_BLOCKLIST: [Ipv4Range; 16] = [
    Ipv4Range::cidr(ip(0, 0, 0, 0), 8),
    Ipv4Range::cidr(ip(10, 0, 0, 0), 8),
    Ipv4Range::cidr(ip(100, 64, 0, 0), 10),
    Ipv4Range::cidr(ip(127, 0, 0, 0), 8),
    Ipv4Range::cidr(ip(169, 254, 0, 0), 16),
    Ipv4Range::cidr(ip(172, 16, 0, 0), 12),
    Ipv4Range::cidr(ip(192, 0, 0, 0), 24),
    Ipv4Range::cidr(ip(192, 0, 2, 0), 24),
    Ipv4Range::cidr(ip(192, 88, 99, 0), 24),
    Ipv4Range::cidr(ip(192, 168, 0, 0), 16),
    Ipv4Range::cidr(ip(198, 18, 0, 0), 15),
    Ipv4Range::cidr(ip(198, 51, 100, 0), 24),
    Ipv4Range::cidr(ip(203, 0, 113, 0), 24),
    Ipv4Range::cidr(ip(224, 0, 0, 0), 4),
    Ipv4Range::cidr(ip(240, 0, 0, 0), 4),
    Ipv4Range::cidr(ip(255, 255, 255, 255), 32),
];

/// The built-in blocklist ([`DEFAULT_BLOCKLIST`]) as a set.
pub fn default_blocklist() -> IntervalSet {
    IntervalSet::from_ranges(DEFAULT_BLOCKLIST)
}
