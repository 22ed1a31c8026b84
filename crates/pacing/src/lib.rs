//! Sans-I/O packet pacing for smtpsweep's sender, and parsing of `-r`/`-B` arguments.
//!
//! The caller passes the time in (integer nanoseconds from any monotonic clock); nothing here
//! reads a clock, sleeps or spawns anything.
//!
//! [`Pacer`] follows an exact schedule: packet *k* (counting from the last re-base) is due at
//! `origin + k·10⁹/rate` ns, evaluated with 128-bit integer arithmetic, so there is no
//! accumulated rounding error however long the scan runs. A sender that falls behind may catch up
//! by at most the burst allowance (by default 2 ms worth of packets); anything owed beyond that
//! (after a stall) is forgiven by moving the schedule's origin, rather than sent in a flood.

#![forbid(unsafe_code)]

use std::cmp::min;

const NS_PER_S: u128 = 1_000_000_000;

/// Default burst allowance of [`Pacer::new`]: 2 ms worth of packets (at least one).
pub const DEFAULT_BURST_NS: u64 = 2_000_000;

/// Bytes on the wire per frame beyond the frame itself: preamble 7, start-of-frame 1, FCS 4,
/// inter-frame gap 12.
pub const ETHERNET_OVERHEAD: usize = 24;

/// Minimum Ethernet frame length without FCS; shorter frames are padded on the wire.
pub const ETHERNET_MIN_FRAME: usize = 60;

/// A rate limiter for a sending loop.
///
/// ```
/// use smtpsweep_pacing::Pacer;
/// let mut p = Pacer::new(1000, 0); // 1000 packets/s, starting at t = 0
/// assert_eq!(p.allow(0, 64), 1); // one packet may go at once
/// assert_eq!(p.allow(500_000, 64), 0); // 0.5 ms later: nothing yet
/// assert_eq!(p.next_at_ns(), 1_000_000);
/// assert_eq!(p.allow(1_000_000, 64), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Pacer {
    /// Packets per second; 0 = unlimited.
    rate: u64,
    /// Most packets one call may release (catch-up allowance), at least 1.
    burst: u64,
    /// Start of the current schedule.
    origin_ns: u64,
    /// Packets allowed (cumulative) at `origin_ns`.
    base: u64,
    /// Packets released so far.
    sent: u64,
    /// Earliest time the next packet is due.
    next_at: u64,
}

impl Pacer {
    /// A pacer for `rate_pps` packets per second (0 = unlimited) starting at `now_ns`, with the
    /// default burst allowance of 2 ms worth of packets. The first packet may go at once.
    pub fn new(rate_pps: u64, now_ns: u64) -> Pacer {
        Pacer::with_burst(rate_pps, now_ns, DEFAULT_BURST_NS)
    }

    /// Like [`Pacer::new`] with a burst allowance of `burst_ns` worth of packets (at least one):
    /// the most a single [`allow`](Self::allow) call returns, and the most a late caller can catch
    /// up by.
    pub fn with_burst(rate_pps: u64, now_ns: u64, burst_ns: u64) -> Pacer {
        let burst =
            (u128::from(rate_pps) * u128::from(burst_ns) / NS_PER_S).clamp(1, u64::MAX as u128);
        Pacer {
            rate: rate_pps,
            burst: burst as u64,
            origin_ns: now_ns,
            base: 1,
            sent: 0,
            next_at: now_ns,
        }
    }

    /// The configured rate in packets per second (0 = unlimited).
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// The burst allowance in packets (unlimited pacers: `u64::MAX`).
    pub fn burst(&self) -> u64 {
        if self.rate == 0 { u64::MAX } else { self.burst }
    }

    /// Packets released so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Cumulative packets the schedule allows by `now_ns` (before the burst cap).
    fn allowed_at(&self, now_ns: u64) -> u64 {
        let elapsed = u128::from(now_ns.saturating_sub(self.origin_ns));
        let grown = elapsed * u128::from(self.rate) / NS_PER_S;
        u64::try_from(u128::from(self.base) + grown).unwrap_or(u64::MAX)
    }

    /// Earliest time at which the schedule allows `count` packets in total.
    fn due(&self, count: u64) -> u64 {
        if count <= self.base {
            return self.origin_ns;
        }
        let j = u128::from(count - self.base);
        let wait = (j * NS_PER_S).div_ceil(u128::from(self.rate));
        u64::try_from(u128::from(self.origin_ns) + wait).unwrap_or(u64::MAX)
    }

    /// How many packets may be sent at `now_ns`, at most `max`; the caller must send exactly
    /// that many (they are counted as sent).
    ///
    /// Never returns more than `max` nor more than [`burst`](Self::burst). If the caller is
    /// further behind than the burst allowance (a stall), the excess is dropped from the
    /// schedule. Unlimited pacers return `max`. Time is expected to be monotonic; an earlier
    /// `now_ns` than before simply yields 0.
    pub fn allow(&mut self, now_ns: u64, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        if self.rate == 0 {
            self.sent = self.sent.saturating_add(u64::from(max));
            return max;
        }
        if now_ns < self.next_at {
            return 0;
        }
        let mut owed = self.allowed_at(now_ns).saturating_sub(self.sent);
        if owed > self.burst {
            // Stalled: keep only the burst allowance and restart the schedule from now.
            self.origin_ns = now_ns;
            self.base = self.sent + self.burst;
            owed = self.burst;
        }
        let n = min(owed, u64::from(max));
        self.sent += n;
        self.next_at = self.due(self.sent + 1);
        n as u32
    }

    /// The earliest time at which [`allow`](Self::allow) returns a packet; a value at or before
    /// the current time means "now". Unlimited pacers return 0.
    pub fn next_at_ns(&self) -> u64 {
        if self.rate == 0 { 0 } else { self.next_at }
    }
}

/// A rate or bandwidth argument could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// Not of the form `digits[.digits][K|M|G]`.
    #[error(
        "invalid {what} {input:?}: expected a number with an optional K, M or G suffix, like 10000, 10K or 1.5M"
    )]
    Invalid {
        /// "rate" or "bandwidth".
        what: &'static str,
        /// The input as given.
        input: String,
    },
    /// The value does not fit in 64 bits.
    #[error("{what} {input:?} is too large")]
    TooLarge {
        /// "rate" or "bandwidth".
        what: &'static str,
        /// The input as given.
        input: String,
    },
}

fn parse_scaled(s: &str, what: &'static str) -> Result<u64, RateError> {
    let invalid = || RateError::Invalid {
        what,
        input: s.to_string(),
    };
    let too_large = || RateError::TooLarge {
        what,
        input: s.to_string(),
    };
    let t = s.trim();
    let (num, mult): (&str, u128) = match t.as_bytes().last() {
        Some(b'k' | b'K') => (&t[..t.len() - 1], 1_000),
        Some(b'm' | b'M') => (&t[..t.len() - 1], 1_000_000),
        Some(b'g' | b'G') => (&t[..t.len() - 1], 1_000_000_000),
        _ => (t, 1),
    };
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return Err(invalid());
    }
    let mut value: u128 = 0;
    for b in int.bytes() {
        value = value * 10 + u128::from(b - b'0');
        if value > u128::from(u64::MAX) {
            return Err(too_large());
        }
    }
    value *= mult;
    // Fraction digits beyond the multiplier's precision cannot change the integer result.
    let mut scale = mult;
    for b in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        value += u128::from(b - b'0') * scale;
    }
    u64::try_from(value).map_err(|_| too_large())
}

/// Parses a packet rate such as `10000`, `10K`, `1.5M` or `2G` (packets per second; suffixes
/// are decimal, case-insensitive). Fractions of a packet are dropped. `0` means unlimited.
pub fn parse_rate(s: &str) -> Result<u64, RateError> {
    parse_scaled(s, "rate")
}

/// Parses a bandwidth in bits per second, with the same syntax as [`parse_rate`].
pub fn parse_bandwidth(s: &str) -> Result<u64, RateError> {
    parse_scaled(s, "bandwidth")
}

/// Converts a bandwidth (bits/s) to packets/s for frames of `frame_len` bytes (without FCS),
/// counting each frame as `(max(frame_len, 60) + 24) · 8` bits on the wire like ZMap.
/// A non-zero bandwidth gives at least 1 packet/s; 0 stays 0 (unlimited).
pub fn bandwidth_to_pps(bits_per_s: u64, frame_len: usize) -> u64 {
    if bits_per_s == 0 {
        return 0;
    }
    let wire_bits = (frame_len.max(ETHERNET_MIN_FRAME) as u64 + ETHERNET_OVERHEAD as u64) * 8;
    (bits_per_s / wire_bits).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates() {
        for (s, v) in [
            ("10000", 10_000),
            ("10K", 10_000),
            ("10k", 10_000),
            ("1.5M", 1_500_000),
            ("1.5m", 1_500_000),
            ("2G", 2_000_000_000),
            (" 250 ", 250),
            ("0", 0),
            (".5K", 500),
            ("3.", 3),
            ("1.2345K", 1234),
            ("0.000000001G", 1),
            ("1.0000000019G", 1_000_000_001),
            ("7.9", 7),
            ("18446744073709551615", u64::MAX),
            ("18446744073.709551615G", u64::MAX),
        ] {
            assert_eq!(parse_rate(s), Ok(v), "{s:?}");
        }
        assert_eq!(parse_bandwidth("1G"), Ok(1_000_000_000));
    }

    #[test]
    fn rejects_bad_rates() {
        for s in [
            "", " ", "K", ".", ".K", "-5", "+5", "1.2.3", "1e6", "10KK", "10 K", "1,5M", "10T",
            "abc", "0x10",
        ] {
            let e = parse_rate(s).unwrap_err();
            assert!(matches!(e, RateError::Invalid { .. }), "{s:?}: {e}");
            assert!(!e.to_string().contains('\n'));
        }
        assert_eq!(
            parse_rate("10Q").unwrap_err().to_string(),
            "invalid rate \"10Q\": expected a number with an optional K, M or G suffix, like 10000, 10K or 1.5M"
        );
        for s in [
            "18446744073709551616",
            "18446744074G",
            "99999999999999999999999999999",
        ] {
            assert!(
                matches!(parse_bandwidth(s), Err(RateError::TooLarge { .. })),
                "{s:?}"
            );
        }
        assert_eq!(
            parse_bandwidth("20000000000G").unwrap_err().to_string(),
            "bandwidth \"20000000000G\" is too large"
        );
    }

    #[test]
    fn bandwidth_conversion_like_zmap() {
        // 74-byte SYN: (74 + 24) * 8 = 784 bits.
        assert_eq!(bandwidth_to_pps(784_000_000, 74), 1_000_000);
        assert_eq!(bandwidth_to_pps(1_000_000_000, 74), 1_275_510);
        // Runts are padded to 60 bytes: 672 bits.
        assert_eq!(bandwidth_to_pps(672_000, 42), 1000);
        assert_eq!(bandwidth_to_pps(10, 74), 1);
        assert_eq!(bandwidth_to_pps(0, 74), 0);
        assert_eq!(bandwidth_to_pps(u64::MAX, 74), u64::MAX / 784);
    }

    #[test]
    fn unlimited_and_zero_max() {
        let mut p = Pacer::new(0, 5);
        assert_eq!(p.allow(5, 100), 100);
        assert_eq!(p.allow(5, 7), 7);
        assert_eq!(p.sent(), 107);
        assert_eq!(p.next_at_ns(), 0);
        let mut q = Pacer::new(1000, 0);
        assert_eq!(q.allow(10_000_000, 0), 0);
        assert_eq!(q.sent(), 0);
    }

    #[test]
    fn next_at_is_exact() {
        // 3 packets/s: packet k is due at ceil(k * 1e9 / 3) ns.
        let mut p = Pacer::with_burst(3, 1000, 0);
        assert_eq!(p.burst(), 1);
        assert_eq!(p.allow(1000, 10), 1);
        for k in 1..10u64 {
            let due = 1000 + (k * 1_000_000_000).div_ceil(3);
            assert_eq!(p.next_at_ns(), due, "packet {k}");
            assert_eq!(p.allow(due - 1, 10), 0);
            assert_eq!(p.allow(due, 10), 1);
        }
    }

    #[test]
    fn stall_releases_only_the_burst_then_resumes_the_rate() {
        let mut p = Pacer::new(1_000_000, 0); // burst = 2000 packets
        assert_eq!(p.burst(), 2000);
        assert_eq!(p.allow(0, u32::MAX), 1);
        // A one-second stall: only the burst allowance comes out, even if asked for more.
        assert_eq!(p.allow(1_000_000_000, u32::MAX), 2000);
        assert_eq!(p.allow(1_000_000_000, u32::MAX), 0);
        // Afterwards exactly the rate again.
        assert_eq!(p.allow(1_000_500_000, u32::MAX), 500);
        // Asking for less than is owed leaves the rest for the next call.
        assert_eq!(p.allow(1_001_000_000, 100), 100);
        assert_eq!(p.allow(1_001_000_000, 1000), 400);
    }

    #[test]
    fn time_going_backwards_yields_nothing() {
        let mut p = Pacer::new(1000, 1_000_000_000);
        assert_eq!(p.allow(1_000_000_000, 10), 1);
        assert_eq!(p.allow(5, 10), 0);
        assert_eq!(p.allow(1_001_000_000, 10), 1);
    }
}
