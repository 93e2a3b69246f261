//! Timestamps for people and for JSON: Unix milliseconds (as the database keeps them and the
//! server's clock gives them) written as RFC 3339 UTC, one formatter for the API, the
//! summaries and the CSV export.
//!
//! The calendar is the proleptic Gregorian one, computed with Howard Hinnant's
//! `civil_from_days` (<https://howardhinnant.github.io/date_algorithms.html>), so times
//! before 1970 are written as what they are rather than refused. Years 0 to 9999 give RFC
//! 3339's four-digit year; a later year is written with more digits.

/// Unix ms to RFC 3339 UTC with milliseconds, e.g. `2026-11-25T09:30:00.123Z`: the API's
/// timestamps and the summaries' fallback.
pub fn rfc3339_millis(ms: i64) -> String {
    let (date, millis) = (UtcTime::from_unix_ms(ms), ms.rem_euclid(1000));
    format!("{date}.{millis:03}Z")
}

/// Unix ms to RFC 3339 UTC to the second, rounding down, e.g. `2026-11-25T09:30:00Z`: the
/// CSV export's timestamps.
pub fn rfc3339_seconds(ms: i64) -> String {
    format!("{}Z", UtcTime::from_unix_ms(ms))
}

/// A UTC date and time to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UtcTime {
    year: i64,
    month: i64,
    day: i64,
    /// Seconds since midnight, [0, 86399].
    second_of_day: i64,
}

impl UtcTime {
    fn from_unix_ms(ms: i64) -> Self {
        let secs = ms.div_euclid(1000);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        UtcTime {
            year,
            month,
            day,
            second_of_day: secs.rem_euclid(86_400),
        }
    }
}

impl std::fmt::Display for UtcTime {
    /// `YYYY-MM-DDTHH:MM:SS`, without a zone: the formatters add the fraction and the `Z`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.second_of_day;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            s / 3600,
            s % 3600 / 60,
            s % 60
        )
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_are_utc_with_three_digits() {
        assert_eq!(
            rfc3339_millis(1_795_599_000_123),
            "2026-11-25T09:30:00.123Z"
        );
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_700_000_000_009),
            "2023-11-14T22:13:20.009Z"
        );
    }

    #[test]
    fn seconds_round_down() {
        assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(1_700_000_000_999), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_seconds(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn times_before_1970_are_written_as_they_are() {
        assert_eq!(rfc3339_seconds(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339_millis(-5), "1969-12-31T23:59:59.995Z");
    }

    #[test]
    fn any_i64_is_written_without_overflow() {
        assert_eq!(rfc3339_seconds(253_402_300_799_000), "9999-12-31T23:59:59Z");
        assert_eq!(
            rfc3339_seconds(253_402_300_800_000),
            "10000-01-01T00:00:00Z"
        );
        assert!(rfc3339_millis(i64::MAX).ends_with(".807Z"));
        assert!(rfc3339_millis(i64::MIN).ends_with(".192Z"));
    }

    #[test]
    fn every_day_from_1900_to_2100_follows_the_one_before() {
        // Month lengths from the leap-year rule (1900 and 2100 are not leap years, 2000 is),
        // checked against the day count from 1899-12-31 (day -25 568) to 2100-12-31.
        let days_in_month = |y: i64, m: i64| match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut previous = civil_from_days(-25_568);
        assert_eq!(previous, (1899, 12, 31));
        for days in -25_567..47_847 {
            let (py, pm, pd) = previous;
            let expected = if pd < days_in_month(py, pm) {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!(civil_from_days(days), expected, "day {days}");
            previous = expected;
        }
        assert_eq!(previous, (2100, 12, 31));
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }
}
