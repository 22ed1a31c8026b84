//! The pacer driven by a simulated send loop on a fake clock: irregular polling, batching,
//! oversleeping and stalls, at 1 kpps to 3 Mpps. Every one-second window must carry the rate
//! within ±2%.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smtpsweep_pacing::Pacer;

const SEC: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
const US: u64 = 1_000;

/// A record of what a simulated sender sent and when.
struct Run {
    /// (time, packets) per non-empty `allow` call, in time order.
    sends: Vec<(u64, u64)>,
    /// Stalls as [start, end) intervals.
    stalls: Vec<(u64, u64)>,
    burst: u64,
}

struct LoopCfg {
    rate: u64,
    seconds: u64,
    seed: u64,
    /// Average number of stalls per simulated second (0 = none).
    stalls_per_s: f64,
    /// Batch sizes the sender asks for, chosen at random per call.
    batches: &'static [u32],
}

/// A send loop: ask for a batch; "send" it (costing time); when nothing is allowed, sleep until
/// `next_at_ns` plus a random oversleep; now and then get descheduled for a stall.
fn simulate(cfg: &LoopCfg) -> Run {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let start = 12_345_678_901; // arbitrary clock origin
    let end = start + cfg.seconds * SEC;
    let mut p = Pacer::new(cfg.rate, start);
    let mut now = start;
    let mut sends = Vec::new();
    let mut stalls = Vec::new();
    let mut last_stall_check = now;
    while now < end {
        // Stalls: a Poisson process over simulated time.
        if cfg.stalls_per_s > 0.0 {
            let dt = (now - last_stall_check) as f64 / SEC as f64;
            last_stall_check = now;
            if rng.random_bool((cfg.stalls_per_s * dt).min(1.0)) {
                let d = rng.random_range(20 * MS..300 * MS);
                stalls.push((now, now + d));
                now += d;
                last_stall_check = now;
            }
        }
        let max = cfg.batches[rng.random_range(0..cfg.batches.len())];
        let n = p.allow(now, max);
        assert!(n <= max, "allow returned {n} > max {max}");
        assert!(
            u64::from(n) <= p.burst(),
            "allow returned {n} > burst {}",
            p.burst()
        );
        if n > 0 {
            sends.push((now, u64::from(n)));
            // Per-call overhead, 20 ns per packet, and occasional preemption jitter.
            now += 150 + 20 * u64::from(n);
            if rng.random_bool(0.02) {
                now += rng.random_range(0..30 * US);
            }
        } else {
            let next = p.next_at_ns();
            assert!(
                next > now,
                "allow said no but next_at_ns {next} <= now {now}"
            );
            let over = match rng.random_range(0..100) {
                0..90 => rng.random_range(0..60 * US),
                90..99 => rng.random_range(60 * US..400 * US),
                _ => rng.random_range(400 * US..1500 * US),
            };
            now = next + over;
        }
    }
    Run {
        sends,
        stalls,
        burst: p.burst(),
    }
}

impl Run {
    /// Packets sent in [from, to).
    fn count(&self, prefix: &[u64], from: u64, to: u64) -> u64 {
        let a = self.sends.partition_point(|&(t, _)| t < from);
        let b = self.sends.partition_point(|&(t, _)| t < to);
        prefix[b] - prefix[a]
    }

    fn prefix(&self) -> Vec<u64> {
        let mut v = Vec::with_capacity(self.sends.len() + 1);
        v.push(0);
        for &(_, n) in &self.sends {
            v.push(v.last().unwrap() + n);
        }
        v
    }

    /// Stall time overlapping [from, to).
    fn stalled(&self, from: u64, to: u64) -> u64 {
        self.stalls
            .iter()
            .map(|&(s, e)| e.min(to).saturating_sub(s.max(from)))
            .sum()
    }

    /// One-second windows starting every 10 ms across the run.
    fn windows(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let first = self.sends[0].0;
        let last = self.sends.last().unwrap().0;
        (0..)
            .map(move |i| first + i * 10 * MS)
            .take_while(move |&w| w + SEC <= last)
            .map(|w| (w, w + SEC))
    }
}

fn check_steady(cfg: &LoopCfg) {
    let run = simulate(cfg);
    let prefix = run.prefix();
    let rate = cfg.rate;
    let tol = rate / 50; // ±2%
    let mut worst = 0i64;
    let mut windows = 0;
    for (from, to) in run.windows() {
        let c = run.count(&prefix, from, to);
        let dev = c as i64 - rate as i64;
        worst = worst.max(dev.abs());
        windows += 1;
        assert!(
            dev.unsigned_abs() <= tol,
            "rate {rate}: window at {}s carried {c} packets",
            (from - run.sends[0].0) as f64 / SEC as f64
        );
        // The design bound: the schedule is exact, so a window can differ from the rate only by
        // what is in flight at its edges, within one burst allowance.
        assert!(
            dev.unsigned_abs() <= run.burst + 2,
            "rate {rate}: deviation {dev} beyond burst {}",
            run.burst
        );
    }
    assert!(windows >= 800, "{windows} windows");
    eprintln!(
        "rate {rate}: {windows} windows, worst deviation {worst} packets, burst {}",
        run.burst
    );
}

const BATCHES: &[u32] = &[1, 8, 32, 64, 256, 1024];

#[test]
fn steady_rates_within_two_percent_every_second() {
    for (i, rate) in [1_000u64, 10_000, 100_000, 1_000_000, 3_000_000]
        .into_iter()
        .enumerate()
    {
        check_steady(&LoopCfg {
            rate,
            seconds: 11,
            seed: 100 + i as u64,
            stalls_per_s: 0.0,
            batches: BATCHES,
        });
    }
}

#[test]
fn odd_rates_within_two_percent() {
    // Rates whose packet interval is not a whole number of nanoseconds.
    for (i, rate) in [1_001u64, 7_919, 333_333, 2_999_999]
        .into_iter()
        .enumerate()
    {
        check_steady(&LoopCfg {
            rate,
            seconds: 10,
            seed: 200 + i as u64,
            stalls_per_s: 0.0,
            batches: &[1, 16, 256],
        });
    }
}

#[test]
fn one_packet_at_a_time_sender() {
    for (i, rate) in [1_000u64, 10_000, 100_000].into_iter().enumerate() {
        check_steady(&LoopCfg {
            rate,
            seconds: 10,
            seed: 300 + i as u64,
            stalls_per_s: 0.0,
            batches: &[1],
        });
    }
}

#[test]
fn stalls_never_cause_a_flood() {
    for (i, rate) in [1_000u64, 10_000, 100_000, 1_000_000, 3_000_000]
        .into_iter()
        .enumerate()
    {
        let cfg = LoopCfg {
            rate,
            seconds: 12,
            seed: 400 + i as u64,
            stalls_per_s: 0.7,
            batches: BATCHES,
        };
        let run = simulate(&cfg);
        assert!(
            run.stalls.len() >= 3,
            "rate {rate}: only {} stalls",
            run.stalls.len()
        );
        let prefix = run.prefix();
        let tol = rate / 50;
        let (mut clean, mut stalled) = (0, 0);
        for (from, to) in run.windows() {
            let c = run.count(&prefix, from, to);
            // Never above the rate, stall or not: catching up is limited to the burst.
            assert!(c <= rate + tol, "rate {rate}: {c} packets in a window");
            let lost_time = run.stalled(from, to);
            if lost_time == 0 {
                clean += 1;
                assert!(
                    c + tol >= rate,
                    "rate {rate}: {c} packets in a stall-free window"
                );
            } else {
                stalled += 1;
                // Outside the stalled time the rate holds.
                let expect = rate as u128 * u128::from(SEC - lost_time) / u128::from(SEC);
                assert!(
                    u128::from(c + tol) >= expect,
                    "rate {rate}: {c} packets with {lost_time} ns stalled, expected ~{expect}"
                );
            }
        }
        // Right after each stall, the first call releases at most the burst.
        for &(_, end) in &run.stalls {
            let i = run.sends.partition_point(|&(t, _)| t < end);
            if let Some(&(t, n)) = run.sends.get(i) {
                assert!(n <= run.burst);
                let within = run.count(&prefix, t, t + MS);
                assert!(
                    within <= run.burst + rate.div_ceil(1000) + 1,
                    "rate {rate}: {within} packets in the first ms after a stall"
                );
            }
        }
        assert!(clean > 0 && stalled > 0, "clean {clean} stalled {stalled}");
    }
}

#[test]
fn no_drift_over_a_long_run() {
    // One simulated hour at an awkward rate with coarse irregular polling: the total must match
    // rate × time to within the burst allowance.
    let rate = 9_973u64;
    let mut p = Pacer::new(rate, 0);
    let mut rng = StdRng::seed_from_u64(500);
    let mut now = 0u64;
    let mut sent = 0u64;
    let hour = 3600 * SEC;
    while now < hour {
        sent += u64::from(p.allow(now, u32::MAX));
        now += rng.random_range(1..1900 * US); // always within the 2 ms burst window
    }
    sent += u64::from(p.allow(hour, u32::MAX));
    let ideal = 1 + rate * 3600;
    assert_eq!(
        sent, ideal,
        "after an hour: {sent} sent, schedule says {ideal}"
    );
}
