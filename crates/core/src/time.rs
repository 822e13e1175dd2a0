//! Times on the wire: what DIDWW sends and what this crate sends.
//!
//! DIDWW's create page sends RFC 3339 UTC with seconds and `Z`
//! (`2025-12-01T00:00:00Z`); other DIDWW material shows `2026-04-01 00:00:00`.
//! Both are read; RFC 3339 UTC is what is written.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// A time string that is neither RFC 3339 nor `YYYY-MM-DD HH:MM:SS`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a time: use RFC 3339 (2025-12-01T00:00:00Z) or YYYY-MM-DD HH:MM:SS (UTC)")]
pub struct TimeError {
    /// The rejected value (at most 64 characters of it).
    pub value: String,
}

impl TimeError {
    fn new(value: &str) -> Self {
        TimeError {
            value: value.chars().take(64).collect(),
        }
    }
}

/// Parses a time as DIDWW sends it: RFC 3339 with any offset (converted to
/// UTC), or `YYYY-MM-DD HH:MM:SS[.fraction]` taken as UTC.
pub fn parse_time(value: &str) -> Result<DateTime<Utc>, TimeError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f")
        .map(|naive| naive.and_utc())
        .map_err(|_| TimeError::new(value))
}

/// Parses a time typed by a person: everything [`parse_time`] takes, plus a
/// bare `YYYY-MM-DD` meaning midnight UTC.
pub fn parse_user_time(value: &str) -> Result<DateTime<Utc>, TimeError> {
    let value = value.trim();
    parse_time(value).or_else(|err| {
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|naive| naive.and_utc())
            .ok_or(err)
    })
}

/// Formats a time the way the seed request does: RFC 3339, UTC, `Z`, whole
/// seconds unless the time has a fraction (which is then kept exactly).
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The first instant of the month `months_back` months before `now`'s month (UTC).
pub fn start_of_month_before(now: DateTime<Utc>, months_back: u32) -> DateTime<Utc> {
    let total = now.year() * 12 + now.month0() as i32 - months_back as i32;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12) as u32);
    Utc.with_ymd_and_hms(year, month0 + 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The earliest `from` DIDWW still has CDRs for: the first instant of the month
/// two months before the current one (current month plus the two before it).
pub fn retention_start(now: DateTime<Utc>) -> DateTime<Utc> {
    start_of_month_before(now, 2)
}

/// A calendar month written `YYYY-MM` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a month: use YYYY-MM (e.g. 2025-12), current or previous")]
pub struct MonthError {
    /// The rejected value.
    pub value: String,
}

/// The `[from, to]` pair covering a whole month the way DIDWW's example does:
/// from the first second (`2025-12-01T00:00:00Z`) to the last
/// (`2025-12-31T23:59:59Z`).
///
/// `spec` is `YYYY-MM`, `current` or `previous` (relative to `now`, UTC).
pub fn month_range(spec: &str, now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>), MonthError> {
    let err = || MonthError {
        value: spec.chars().take(64).collect(),
    };
    let start = match spec.trim() {
        "current" => start_of_month_before(now, 0),
        "previous" => start_of_month_before(now, 1),
        other => {
            let (y, m) = other.split_once('-').ok_or_else(err)?;
            if y.len() != 4 || m.len() != 2 {
                return Err(err());
            }
            let year: i32 = y.parse().map_err(|_| err())?;
            let month: u32 = m.parse().map_err(|_| err())?;
            Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single().ok_or_else(err)?
        }
    };
    // The next month's start, minus one second.
    let next = start_of_month_before(start + chrono::Duration::days(32), 0);
    Ok((start, next - chrono::Duration::seconds(1)))
}

/// Serde adapter for a required time written with [`format_time`] and read with [`parse_time`].
pub mod serde_time {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes with [`format_time`].
    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_time(time))
    }

    /// Deserializes with [`parse_time`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        parse_time(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde adapter for an optional time (`null` or absent is `None`).
pub mod serde_time_opt {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes `Some` with [`format_time`], `None` as `null`.
    pub fn serialize<S: Serializer>(time: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(t) => serializer.serialize_str(&format_time(t)),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes `null` as `None` and a string with [`parse_time`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.map(|s| parse_time(&s).map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_both_wire_forms() {
        assert_eq!(parse_time("2025-12-01T00:00:00Z").unwrap(), t("2025-12-01T00:00:00Z"));
        assert_eq!(parse_time("2026-04-01 00:00:00").unwrap(), t("2026-04-01T00:00:00Z"));
        assert_eq!(
            parse_time("2025-12-16T06:39:44.465Z").unwrap(),
            t("2025-12-16T06:39:44.465Z")
        );
        assert_eq!(
            parse_time("2025-12-01T02:00:00+02:00").unwrap(),
            t("2025-12-01T00:00:00Z")
        );
        assert!(parse_time("2025-12-01").is_err());
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("").is_err());
    }

    #[test]
    fn user_times_also_take_a_bare_date() {
        assert_eq!(parse_user_time("2025-12-01").unwrap(), t("2025-12-01T00:00:00Z"));
        assert_eq!(
            parse_user_time(" 2025-12-01 10:00:00 ").unwrap(),
            t("2025-12-01T10:00:00Z")
        );
        let err = parse_user_time("12/01/2025").unwrap_err();
        assert!(err.to_string().contains("12/01/2025"));
    }

    #[test]
    fn formats_like_the_seed() {
        assert_eq!(format_time(&t("2025-12-01T00:00:00Z")), "2025-12-01T00:00:00Z");
        assert_eq!(format_time(&t("2025-12-16T06:39:44.465Z")), "2025-12-16T06:39:44.465Z");
    }

    #[test]
    fn retention_window_crosses_years() {
        assert_eq!(retention_start(t("2025-12-16T06:39:44Z")), t("2025-10-01T00:00:00Z"));
        assert_eq!(retention_start(t("2026-01-01T00:00:00Z")), t("2025-11-01T00:00:00Z"));
        assert_eq!(retention_start(t("2026-02-28T23:59:59Z")), t("2025-12-01T00:00:00Z"));
        assert_eq!(retention_start(t("2026-03-31T23:59:59Z")), t("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn month_ranges() {
        let now = t("2026-01-15T12:00:00Z");
        assert_eq!(
            month_range("2025-12", now).unwrap(),
            (t("2025-12-01T00:00:00Z"), t("2025-12-31T23:59:59Z"))
        );
        assert_eq!(
            month_range("previous", now).unwrap(),
            (t("2025-12-01T00:00:00Z"), t("2025-12-31T23:59:59Z"))
        );
        assert_eq!(
            month_range("current", now).unwrap(),
            (t("2026-01-01T00:00:00Z"), t("2026-01-31T23:59:59Z"))
        );
        assert_eq!(month_range("2024-02", now).unwrap().1, t("2024-02-29T23:59:59Z"));
        for bad in ["2025-13", "2025-1", "25-01", "december", "2025/12", ""] {
            assert!(month_range(bad, now).is_err(), "{bad}");
        }
    }
}
