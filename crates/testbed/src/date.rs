//! Frozen wall-clock dates for greetings and certificates.
//!
//! Real servers print the current time in their greeting. The testbed prints a date chosen from
//! the seed instead, so a greeting is exactly predictable and the ground truth can hold it.

use std::fmt;

/// A moment (seconds since the Unix epoch, UTC) together with the UTC offset a server shows it in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SmtpDate {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix: i64,
    /// The server's offset from UTC in minutes (e.g. 60 for +0100, -300 for -0500).
    pub offset_minutes: i32,
}

/// How a product writes the date in its greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateStyle {
    /// RFC 5322 with the day unpadded: `Thu, 7 Nov 2019 16:03:55 +0100` (Sendmail, Exchange).
    Rfc5322,
    /// RFC 5322 with a two-digit day: `Thu, 07 Nov 2019 16:03:55 +0100` (Exim).
    Rfc5322Padded,
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The proleptic Gregorian (year, month 1-12, day 1-31) of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Work in 400-year eras starting on 0000-03-01, so that leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // 0 = March
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12); // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

impl SmtpDate {
    /// The local calendar fields: (year, month, day, hour, minute, second, weekday 0=Thu).
    fn local_fields(&self) -> (i64, u32, u32, u32, u32, u32, usize) {
        let local = self.unix + i64::from(self.offset_minutes) * 60;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        let weekday = days.rem_euclid(7) as usize;
        (y, m, d, secs / 3600, secs / 60 % 60, secs % 60, weekday)
    }

    /// The UTC offset as `+hhmm` / `-hhmm`.
    pub fn offset(&self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let abs = self.offset_minutes.unsigned_abs();
        format!("{sign}{:02}{:02}", abs / 60, abs % 60)
    }

    /// The date written in `style`.
    pub fn format(&self, style: DateStyle) -> String {
        let (y, m, d, hh, mm, ss, wd) = self.local_fields();
        let (wd, mon, off) = (WEEKDAYS[wd], MONTHS[m as usize - 1], self.offset());
        match style {
            DateStyle::Rfc5322 => format!("{wd}, {d} {mon} {y} {hh:02}:{mm:02}:{ss:02} {off}"),
            DateStyle::Rfc5322Padded => {
                format!("{wd}, {d:02} {mon} {y} {hh:02}:{mm:02}:{ss:02} {off}")
            }
        }
    }

    /// The UTC calendar date (year, month, day).
    pub fn utc_ymd(&self) -> (i64, u32, u32) {
        civil_from_days(self.unix.div_euclid(86_400))
    }
}

impl fmt::Display for SmtpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(DateStyle::Rfc5322))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips_and_known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(days_from_civil(2038, 1, 19), 24_855);
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn formats_like_mail_servers() {
        // 2019-11-07T15:03:55Z, shown at +0100.
        let date = SmtpDate {
            unix: 1_573_139_035,
            offset_minutes: 60,
        };
        assert_eq!(
            date.format(DateStyle::Rfc5322),
            "Thu, 7 Nov 2019 16:03:55 +0100"
        );
        assert_eq!(
            date.format(DateStyle::Rfc5322Padded),
            "Thu, 07 Nov 2019 16:03:55 +0100"
        );
        assert_eq!(date.to_string(), "Thu, 7 Nov 2019 16:03:55 +0100");
        // The local day can differ from the UTC day.
        let west = SmtpDate {
            unix: 1_573_084_800, // 2019-11-07T00:00:00Z
            offset_minutes: -330,
        };
        assert_eq!(
            west.format(DateStyle::Rfc5322),
            "Wed, 6 Nov 2019 18:30:00 -0530"
        );
        assert_eq!(west.utc_ymd(), (2019, 11, 7));
    }
}
