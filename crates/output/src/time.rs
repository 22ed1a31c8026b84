//! RFC 3339 timestamps (UTC, microsecond precision) without a date/time dependency.
//!
//! Dates use the proleptic Gregorian calendar; the conversion between days since
//! 1970-01-01 and (year, month, day) is done with era arithmetic (400-year cycles of
//! 146 097 days), so it is exact for every representable input.

use std::time::{SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: u64 = 86_400;
/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const EPOCH_SHIFT: i64 = 719_468;
const DAYS_PER_ERA: i64 = 146_097;

/// Formats `secs` seconds plus `micros` microseconds after the Unix epoch as
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
///
/// `micros` of one second or more carries into the seconds (saturating at `u64::MAX`).
pub fn format_timestamp(secs: u64, micros: u32) -> String {
    let secs = secs.saturating_add(u64::from(micros / 1_000_000));
    let micros = micros % 1_000_000;
    // u64::MAX / 86 400 fits comfortably in an i64.
    let days = (secs / SECS_PER_DAY) as i64;
    let sod = secs % SECS_PER_DAY;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Formats a [`SystemTime`] like [`format_timestamp`]; times before the epoch become the epoch.
pub fn format_system_time(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format_timestamp(d.as_secs(), d.subsec_micros())
}

/// Error from [`parse_timestamp`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {input:?}: {reason}")]
pub struct TimestampError {
    /// The text that failed to parse.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

/// Parses an RFC 3339 UTC timestamp as written by [`format_timestamp`] back into
/// `(seconds, microseconds)` since the Unix epoch.
///
/// Accepts `T` or `t` or a space between date and time, 0 to 9 fraction digits (truncated to
/// microseconds) and `Z`, `z` or `+00:00` as the zone. Other offsets and dates before 1970 are
/// rejected.
pub fn parse_timestamp(s: &str) -> Result<(u64, u32), TimestampError> {
    let err = |reason| TimestampError {
        input: s.to_owned(),
        reason,
    };
    let b = s.as_bytes();
    if b.len() < 20 {
        return Err(err("too short (expected YYYY-MM-DDTHH:MM:SSZ)"));
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[range];
        if part.iter().all(u8::is_ascii_digit) {
            Some(
                part.iter()
                    .fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0')),
            )
        } else {
            None
        }
    };
    let fields = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    );
    let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = fields else {
        return Err(err("expected digits in YYYY-MM-DDTHH:MM:SS"));
    };
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err(err("expected separators '-' and ':'"));
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(err("expected 'T' between date and time"));
    }
    if year < 1970 {
        return Err(err("dates before 1970 are not supported"));
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year as i64, month) {
        return Err(err("no such date"));
    }
    if hour > 23 || min > 59 || sec > 59 {
        return Err(err("no such time of day"));
    }
    let mut rest = &b[19..];
    let mut micros = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return Err(err("expected 1 to 9 fraction digits"));
        }
        for i in 0..6 {
            micros = micros * 10
                + frac
                    .get(i)
                    .filter(|_| i < digits)
                    .map_or(0, |c| u32::from(c - b'0'));
        }
        rest = &frac[digits..];
    }
    if !matches!(rest, b"Z" | b"z" | b"+00:00") {
        return Err(err("expected zone 'Z' (UTC)"));
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days as u64 * SECS_PER_DAY + u64::from(hour * 3600 + min * 60 + sec);
    Ok((secs, micros))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) for a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift to a calendar whose years start on March 1st, so the leap day ends the year.
    let z = days + EPOCH_SHIFT;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z.rem_euclid(DAYS_PER_ERA); // 0..=146_096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // 0..=399
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // 0..=365
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March .. 11 = February
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 for a valid (year, month, day).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_index = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT
}

#[cfg(test)]
mod tests {
    use super::*;

    // Epoch seconds below were computed independently with GNU date, e.g.
    // `date -u -d 2026-11-30T09:00:00Z +%s`.

    #[test]
    fn epoch() {
        assert_eq!(format_timestamp(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(format_timestamp(0, 1), "1970-01-01T00:00:00.000001Z");
        assert_eq!(
            format_timestamp(86_399, 999_999),
            "1970-01-01T23:59:59.999999Z"
        );
        assert_eq!(format_timestamp(86_400, 0), "1970-01-02T00:00:00.000000Z");
    }

    #[test]
    fn leap_days() {
        // 2000 is a leap year (divisible by 400).
        assert_eq!(
            format_timestamp(951_782_400, 0),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            format_timestamp(951_782_400 - 1, 0),
            "2000-02-28T23:59:59.000000Z"
        );
        assert_eq!(
            format_timestamp(951_782_400 + 86_400, 0),
            "2000-03-01T00:00:00.000000Z"
        );
        // 2024 is a leap year.
        assert_eq!(
            format_timestamp(1_709_164_800, 250_000),
            "2024-02-29T00:00:00.250000Z"
        );
        // 2024-12-31 is day 366 of 2024.
        assert_eq!(
            format_timestamp(1_735_689_599, 0),
            "2024-12-31T23:59:59.000000Z"
        );
        assert_eq!(
            format_timestamp(1_735_689_600, 0),
            "2025-01-01T00:00:00.000000Z"
        );
        // 2100 is not a leap year: 2100-03-01 follows 2100-02-28.
        assert_eq!(
            format_timestamp(4_107_542_400, 0),
            "2100-03-01T00:00:00.000000Z"
        );
        assert_eq!(
            format_timestamp(4_107_542_400 - 1, 0),
            "2100-02-28T23:59:59.000000Z"
        );
    }

    #[test]
    fn dates_in_2026() {
        assert_eq!(
            format_timestamp(1_796_029_200, 123_456),
            "2026-11-30T09:00:00.123456Z"
        );
        // 2026 is not a leap year: February ends on the 28th.
        assert_eq!(
            format_timestamp(1_772_323_199, 0),
            "2026-02-28T23:59:59.000000Z"
        );
        assert_eq!(
            format_timestamp(1_772_323_200, 0),
            "2026-03-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn far_future_and_carry() {
        assert_eq!(
            format_timestamp(253_402_300_799, 0),
            "9999-12-31T23:59:59.000000Z"
        );
        assert_eq!(
            format_timestamp(253_402_300_800, 0),
            "10000-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            format_timestamp(59, 2_500_000),
            "1970-01-01T00:01:01.500000Z"
        );
        // Must not panic or overflow at the extremes.
        let s = format_timestamp(u64::MAX, u32::MAX);
        assert!(s.ends_with(".967295Z"), "{s}");
    }

    /// Walks the calendar day by day with a naive month table (an oracle independent of the
    /// era arithmetic) and compares every date from 1970 to 2500.
    #[test]
    fn matches_naive_calendar_walk() {
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for day in 0..(530 * 366) as u64 {
            if y > 2500 {
                break;
            }
            let secs = day * SECS_PER_DAY + 3_723; // 01:02:03
            let expect = format!("{y:04}-{m:02}-{d:02}T01:02:03.000042Z");
            assert_eq!(format_timestamp(secs, 42), expect);
            assert_eq!(parse_timestamp(&expect), Ok((secs, 42)));
            d += 1;
            if d > days_in_month(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        assert_eq!(y, 2501);
    }

    #[test]
    fn parse_variants() {
        assert_eq!(
            parse_timestamp("2026-11-30T09:00:00Z"),
            Ok((1_796_029_200, 0))
        );
        assert_eq!(
            parse_timestamp("2026-11-30t09:00:00.5z"),
            Ok((1_796_029_200, 500_000))
        );
        assert_eq!(
            parse_timestamp("2026-11-30 09:00:00.123456789+00:00"),
            Ok((1_796_029_200, 123_456))
        );
    }

    #[test]
    fn parse_rejects_bad_input() {
        for bad in [
            "",
            "2026-11-30",
            "2026-11-30T09:00:00",
            "2026-11-30T09:00:00+01:00",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-30T24:00:00Z",
            "2026-11-30T09:60:00Z",
            "1969-12-31T23:59:59Z",
            "2026/11/30T09:00:00Z",
            "2026-11-30T09:00:00.Z",
            "2026-11-30T09:00:00.1234567890Z",
            "2026-1a-30T09:00:00Z",
            "2026-11-30T09:00:00Zjunk",
            "２026-11-30T09:00:00Z",
        ] {
            let e = parse_timestamp(bad).expect_err(bad);
            assert!(e.to_string().starts_with("invalid timestamp"), "{e}");
        }
        assert!(parse_timestamp("2024-02-29T00:00:00Z").is_ok());
    }
}
