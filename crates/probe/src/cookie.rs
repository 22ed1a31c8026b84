//! Stateless SYN cookies: source port and sequence number derived from a keyed SipHash-2-4.

use std::fmt;
use std::net::Ipv4Addr;

use siphasher::sip::SipHasher24;

use crate::parse::{Response, ResponseKind};

/// ICMP type "destination unreachable".
const ICMP_DEST_UNREACH: u8 = 3;

/// A per-scan 128-bit SipHash key. Its `Debug` output never shows the key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct CookieKey([u8; 16]);

impl CookieKey {
    /// A fresh key from the operating-system-seeded thread RNG.
    pub fn random() -> CookieKey {
        CookieKey(rand::random())
    }

    /// A key with the given bytes (for tests, or to re-validate a recorded scan).
    pub fn from_bytes(bytes: [u8; 16]) -> CookieKey {
        CookieKey(bytes)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieKey(<redacted>)")
    }
}

/// How a validated reply classifies the probed (address, port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Classification {
    /// TCP SYN-ACK: the port is open.
    SynAck,
    /// TCP RST: the host is up, the port closed.
    Rst,
    /// ICMP destination unreachable about our probe.
    IcmpUnreach,
}

impl Classification {
    /// The ZMap-style name: `synack`, `rst` or `icmp-unreach`.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::SynAck => "synack",
            Classification::Rst => "rst",
            Classification::IcmpUnreach => "icmp-unreach",
        }
    }

    /// Whether this counts as success (an open port), as ZMap's `success` field.
    pub fn is_success(self) -> bool {
        self == Classification::SynAck
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The source-port range or probe count given to [`Cookies::try_new`] is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CookieRangeError {
    /// The range holds no ports.
    #[error("source port range is empty")]
    Empty,
    /// The range runs past port 65535.
    #[error("source port range {first}+{count} runs past port 65535")]
    PastEnd {
        /// First port of the range.
        first: u16,
        /// Number of ports requested.
        count: u32,
    },
    /// Zero probes per target.
    #[error("probe count must be at least 1")]
    NoProbes,
}

/// Derives and checks per-probe source ports and sequence numbers (the scan's "cookies").
///
/// * `source_port(src, dst, dport, p)` = `sport_first + (b + p) mod sport_count` with
///   `b = ⌊(H(src, dst, dport) >> 32) · sport_count / 2³²⌋`, so the N probes to one target use
///   N consecutive (wrapping) ports of the range, as ZMap does.
/// * `seq(src, dst, sport, dport)` = low 32 bits of `H(src, dst, sport, dport)`.
///
/// `H` is SipHash-2-4 under the scan key over the big-endian bytes of its arguments. The two
/// inputs have different lengths (10 and 12 bytes), and SipHash includes the length in its last
/// block, so the two derivations are independent.
#[derive(Clone)]
pub struct Cookies {
    hasher: SipHasher24,
    sport_first: u16,
    /// Number of ports in the range, 1..=65536.
    sport_count: u32,
    /// Probes per target, at least 1.
    probes: u32,
}

impl fmt::Debug for Cookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cookies")
            .field("sport_first", &self.sport_first)
            .field("sport_count", &self.sport_count)
            .field("probes", &self.probes)
            .finish_non_exhaustive()
    }
}

impl Cookies {
    /// Cookies for source ports `sport_first .. sport_first + sport_count` and `probes` probes per
    /// target.
    ///
    /// Never fails: a zero count or probe number is raised to 1 and a range running past 65535
    /// is cut at 65535. Use [`Cookies::try_new`] to reject such input instead.
    pub fn new(key: CookieKey, sport_first: u16, sport_count: u16, probes: u8) -> Cookies {
        let max = 65536 - u32::from(sport_first);
        let count = u32::from(sport_count).clamp(1, max);
        Cookies {
            hasher: SipHasher24::new_with_key(&key.0),
            sport_first,
            sport_count: count,
            probes: u32::from(probes.max(1)),
        }
    }

    /// Like [`Cookies::new`], but rejects an empty range, a range past port 65535 and zero probes.
    ///
    /// `sport_count` is a `u32` so that the full range of 65536 ports can be expressed.
    pub fn try_new(
        key: CookieKey,
        sport_first: u16,
        sport_count: u32,
        probes: u8,
    ) -> Result<Cookies, CookieRangeError> {
        if sport_count == 0 {
            return Err(CookieRangeError::Empty);
        }
        if u32::from(sport_first) + sport_count > 65536 {
            return Err(CookieRangeError::PastEnd {
                first: sport_first,
                count: sport_count,
            });
        }
        if probes == 0 {
            return Err(CookieRangeError::NoProbes);
        }
        Ok(Cookies {
            hasher: SipHasher24::new_with_key(&key.0),
            sport_first,
            sport_count,
            probes: u32::from(probes),
        })
    }

    /// First source port of the range.
    pub fn sport_first(&self) -> u16 {
        self.sport_first
    }

    /// Last source port of the range (inclusive), e.g. for [`crate::bpf_program`].
    pub fn sport_last(&self) -> u16 {
        (u32::from(self.sport_first) + self.sport_count - 1) as u16
    }

    /// Probes per target.
    pub fn probes(&self) -> u32 {
        self.probes
    }

    /// Offset of this target's first source port within the range.
    #[inline]
    fn port_base(&self, src: Ipv4Addr, dst: Ipv4Addr, dport: u16) -> u32 {
        let mut b = [0u8; 10];
        b[0..4].copy_from_slice(&src.octets());
        b[4..8].copy_from_slice(&dst.octets());
        b[8..10].copy_from_slice(&dport.to_be_bytes());
        // Multiply-shift range reduction of the hash's high 32 bits (no division).
        (((self.hasher.hash(&b) >> 32) * u64::from(self.sport_count)) >> 32) as u32
    }

    /// The source port for probe number `probe` (0-based) from `src` to `dst:dport`.
    #[inline]
    pub fn source_port(&self, src: Ipv4Addr, dst: Ipv4Addr, dport: u16, probe: u8) -> u16 {
        let mut off = self.port_base(src, dst, dport) + u32::from(probe);
        if off >= self.sport_count {
            off %= self.sport_count;
        }
        (u32::from(self.sport_first) + off) as u16
    }

    /// The TCP sequence number for a probe `src:sport -> dst:dport`.
    #[inline]
    pub fn seq(&self, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> u32 {
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&src.octets());
        b[4..8].copy_from_slice(&dst.octets());
        b[8..10].copy_from_slice(&sport.to_be_bytes());
        b[10..12].copy_from_slice(&dport.to_be_bytes());
        self.hasher.hash(&b) as u32
    }

    /// Whether `sport` is one of the `probes` source ports used from `src` to `dst:dport`.
    pub fn is_probe_port(&self, src: Ipv4Addr, dst: Ipv4Addr, dport: u16, sport: u16) -> bool {
        let Some(rel) = sport.checked_sub(self.sport_first).map(u32::from) else {
            return false;
        };
        if rel >= self.sport_count {
            return false;
        }
        if self.probes >= self.sport_count {
            return true;
        }
        let base = self.port_base(src, dst, dport);
        // rel and base are both below sport_count, so one conditional subtraction suffices.
        let mut off = rel + self.sport_count - base;
        if off >= self.sport_count {
            off -= self.sport_count;
        }
        off < self.probes
    }

    /// Validates a parsed reply against this scan's cookies and classifies it.
    ///
    /// The reply is seen from our side: `daddr`/`dport` are our address and source port,
    /// `saddr`/`sport` the target's (for ICMP, the original target from the quoted header).
    ///
    /// * SYN-ACK: `ack - 1 == seq(daddr, saddr, dport, sport)`;
    /// * RST: `ack` equals that cookie or cookie + 1;
    /// * ICMP destination unreachable (type 3): the quoted TCP sequence number equals the cookie;
    ///
    /// and in every case `dport` must be one of the probe source ports for that target.
    /// Anything else (other TCP flags, other ICMP types, forged or stale cookies) gives `None`.
    pub fn validate(&self, r: &Response) -> Option<Classification> {
        let cookie = self.seq(r.daddr, r.saddr, r.dport, r.sport);
        let class = match r.kind {
            ResponseKind::SynAck if r.ack.wrapping_sub(1) == cookie => Classification::SynAck,
            ResponseKind::Rst if r.ack == cookie || r.ack == cookie.wrapping_add(1) => {
                Classification::Rst
            }
            ResponseKind::IcmpUnreach
                if r.seq == cookie && r.icmp.is_some_and(|i| i.icmp_type == ICMP_DEST_UNREACH) =>
            {
                Classification::IcmpUnreach
            }
            _ => return None,
        };
        self.is_probe_port(r.daddr, r.saddr, r.sport, r.dport)
            .then_some(class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const TARGET: Ipv4Addr = Ipv4Addr::new(198, 19, 7, 9);

    fn key(b: u8) -> CookieKey {
        CookieKey::from_bytes([b; 16])
    }

    #[test]
    fn ports_stay_in_range_and_probes_use_distinct_ports() {
        let c = Cookies::new(key(1), 40000, 100, 3);
        for d in 0..500u32 {
            let dst = Ipv4Addr::from(u32::from(TARGET) + d);
            let ports: Vec<u16> = (0..3).map(|p| c.source_port(US, dst, 25, p)).collect();
            for &p in &ports {
                assert!((40000..40100).contains(&p));
                assert!(c.is_probe_port(US, dst, 25, p));
            }
            assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
            // Probe 3 (not sent) uses the next port, which must not validate.
            assert!(!c.is_probe_port(US, dst, 25, c.source_port(US, dst, 25, 3)));
        }
    }

    #[test]
    fn probe_ports_wrap_around_range_end() {
        let c = Cookies::new(key(2), 65530, 6, 4);
        let mut seen_wrap = false;
        for d in 0..200u32 {
            let dst = Ipv4Addr::from(u32::from(TARGET) + d);
            let first = c.source_port(US, dst, 587, 0);
            let last = c.source_port(US, dst, 587, 3);
            seen_wrap |= last < first;
            for p in 0..4 {
                assert!(c.source_port(US, dst, 587, p) >= 65530);
            }
        }
        assert!(seen_wrap, "some targets must wrap from 65535 back to 65530");
        assert_eq!(c.sport_last(), 65535);
    }

    #[test]
    fn more_probes_than_ports_accepts_whole_range() {
        let c = Cookies::new(key(3), 50000, 2, 5);
        assert!(c.is_probe_port(US, TARGET, 25, 50000));
        assert!(c.is_probe_port(US, TARGET, 25, 50001));
        assert!(!c.is_probe_port(US, TARGET, 25, 50002));
        assert!(!c.is_probe_port(US, TARGET, 25, 49999));
    }

    #[test]
    fn new_clamps_and_try_new_rejects() {
        let c = Cookies::new(key(4), 65535, 10, 0);
        assert_eq!(
            (c.sport_first(), c.sport_last(), c.probes()),
            (65535, 65535, 1)
        );
        let c = Cookies::new(key(4), 1000, 0, 1);
        assert_eq!(c.sport_last(), 1000);
        assert_eq!(
            Cookies::try_new(key(4), 1000, 0, 1).unwrap_err(),
            CookieRangeError::Empty
        );
        let e = Cookies::try_new(key(4), 65000, 1000, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "source port range 65000+1000 runs past port 65535"
        );
        assert_eq!(
            Cookies::try_new(key(4), 1000, 10, 0).unwrap_err(),
            CookieRangeError::NoProbes
        );
        let full = Cookies::try_new(key(4), 0, 65536, 1).unwrap();
        assert_eq!((full.sport_first(), full.sport_last()), (0, 65535));
    }

    #[test]
    fn seq_depends_on_every_input_and_the_key() {
        let c = Cookies::new(key(5), 32768, 1000, 1);
        let s = c.seq(US, TARGET, 33000, 25);
        assert_ne!(s, c.seq(Ipv4Addr::new(198, 18, 0, 2), TARGET, 33000, 25));
        assert_ne!(s, c.seq(US, Ipv4Addr::new(198, 19, 7, 10), 33000, 25));
        assert_ne!(s, c.seq(US, TARGET, 33001, 25));
        assert_ne!(s, c.seq(US, TARGET, 33000, 26));
        assert_ne!(s, c.seq(TARGET, US, 25, 33000), "direction matters");
        let other = Cookies::new(key(6), 32768, 1000, 1);
        assert_ne!(s, other.seq(US, TARGET, 33000, 25));
        assert_eq!(s, c.clone().seq(US, TARGET, 33000, 25));
    }

    #[test]
    fn seq_is_siphash24_of_the_documented_bytes() {
        // Independent check of the byte layout against siphasher's streaming interface.
        use std::hash::Hasher;
        let k = [0x5au8; 16];
        let c = Cookies::new(CookieKey::from_bytes(k), 1024, 1, 1);
        let mut h = SipHasher24::new_with_key(&k);
        h.write(&[198, 18, 0, 1, 198, 19, 7, 9, 0x80, 0x01, 0x00, 0x19]);
        assert_eq!(c.seq(US, TARGET, 0x8001, 25), h.finish() as u32);
    }

    #[test]
    fn source_port_is_the_documented_formula() {
        use std::hash::Hasher;
        let k = [0x3cu8; 16];
        let c = Cookies::new(CookieKey::from_bytes(k), 40000, 1000, 4);
        let mut h = SipHasher24::new_with_key(&k);
        h.write(&[198, 18, 0, 1, 198, 19, 7, 9, 0x02, 0x4b]);
        let b = ((h.finish() >> 32) * 1000) >> 32;
        for p in 0..4u8 {
            let want = 40000 + (b + u64::from(p)) % 1000;
            assert_eq!(u64::from(c.source_port(US, TARGET, 587, p)), want);
        }
    }

    #[test]
    fn source_ports_spread_evenly() {
        let c = Cookies::new(key(8), 50000, 100, 1);
        let mut hits = [0u32; 100];
        for d in 0..100_000u32 {
            let dst = Ipv4Addr::from(0xc612_0000 + d);
            hits[usize::from(c.source_port(US, dst, 25, 0) - 50000)] += 1;
        }
        for (i, &h) in hits.iter().enumerate() {
            assert!((850..=1150).contains(&h), "port offset {i}: {h} of 100000");
        }
    }

    #[test]
    fn key_debug_is_redacted_and_random_keys_differ() {
        assert_eq!(format!("{:?}", key(7)), "CookieKey(<redacted>)");
        assert_ne!(CookieKey::random(), CookieKey::random());
        assert_eq!(key(9).as_bytes(), &[9; 16]);
    }

    #[test]
    fn classification_names() {
        assert_eq!(Classification::SynAck.to_string(), "synack");
        assert_eq!(Classification::Rst.as_str(), "rst");
        assert_eq!(Classification::IcmpUnreach.as_str(), "icmp-unreach");
        assert!(Classification::SynAck.is_success());
        assert!(!Classification::Rst.is_success());
    }
}
