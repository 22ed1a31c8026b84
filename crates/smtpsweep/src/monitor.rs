//! The once-a-second status line on stderr, in the style of ZMap's.

use std::sync::atomic::Ordering;
use std::time::Duration;

use smtpsweep_receiver::ReceiverStats;
use smtpsweep_sender::SenderStats;

/// Previous sample, to turn counters into rates.
#[derive(Default, Clone, Copy)]
pub struct Sample {
    pub sent: u64,
    pub hits: u64,
    pub received: u64,
}

/// Formats a count with K/M/G suffixes.
pub fn si(v: f64) -> String {
    match v {
        v if v >= 1e9 => format!("{:.2} G", v / 1e9),
        v if v >= 1e6 => format!("{:.2} M", v / 1e6),
        v if v >= 1e3 => format!("{:.2} K", v / 1e3),
        v => format!("{v:.0} "),
    }
}

/// Elapsed time as m:ss or h:mm:ss.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// One status line; `expected` is the number of probes this run will send.
pub fn line(
    elapsed: Duration,
    expected: u64,
    sending: bool,
    s: &SenderStats,
    r: &ReceiverStats,
    prev: &mut Sample,
    dt: f64,
) -> String {
    let sent = s.sent.load(Ordering::Relaxed);
    let hits = r.unique_success.load(Ordering::Relaxed);
    let received = r.received.load(Ordering::Relaxed);
    let drops = r.drops.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64().max(1e-9);
    let pct = if expected == 0 {
        100.0
    } else {
        (sent as f64 * 100.0 / expected as f64).min(100.0)
    };
    let eta = if sending && sent > 0 && expected > sent {
        let rate = sent as f64 / secs;
        format!(
            "{} left",
            clock(Duration::from_secs_f64((expected - sent) as f64 / rate))
        )
    } else if sending {
        "-".to_string()
    } else {
        "cooldown".to_string()
    };
    let targets = s.targets.load(Ordering::Relaxed).max(1);
    let out = format!(
        "{} {:.0}% ({}); send: {} {}p/s ({}p/s avg); recv: {} {}p/s ({}p/s avg); hits: {} {}p/s; drops: {}; hitrate: {:.2}%",
        clock(elapsed),
        pct,
        eta,
        sent,
        si((sent - prev.sent) as f64 / dt),
        si(sent as f64 / secs),
        received,
        si((received - prev.received) as f64 / dt),
        si(received as f64 / secs),
        hits,
        si((hits - prev.hits) as f64 / dt),
        drops,
        hits as f64 * 100.0 / targets as f64,
    );
    *prev = Sample {
        sent,
        hits,
        received,
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_counts_and_clock() {
        assert_eq!(si(950.0), "950 ");
        assert_eq!(si(1500.0), "1.50 K");
        assert_eq!(si(2_500_000.0), "2.50 M");
        assert_eq!(clock(Duration::from_secs(65)), "1:05");
        assert_eq!(clock(Duration::from_secs(3_725)), "1:02:05");
    }

    #[test]
    fn line_shows_progress_and_rates() {
        let s = SenderStats::default();
        let r = ReceiverStats::default();
        s.sent.store(500, Ordering::Relaxed);
        s.targets.store(500, Ordering::Relaxed);
        r.unique_success.store(5, Ordering::Relaxed);
        r.received.store(7, Ordering::Relaxed);
        let mut prev = Sample::default();
        let l = line(Duration::from_secs(1), 1000, true, &s, &r, &mut prev, 1.0);
        assert!(
            l.starts_with("0:01 50% (0:01 left); send: 500 500 p/s"),
            "{l}"
        );
        assert!(l.contains("hits: 5 5 p/s"), "{l}");
        assert!(l.ends_with("hitrate: 1.00%"), "{l}");
        assert_eq!(prev.sent, 500);
    }
}
