//! Timestamp notations.
//!
//! Three notations are accepted, detected from the first data row and then required of every row:
//!
//! - [`Notation::Offset`]: `H:MM:SS` offsets from the start of the capture, with any number of hour
//!   digits (`0:00:00`, `1:00:00`, `25:00:00`), or after a number of days as Python writes a
//!   `timedelta` (`1 day, 0:00:05`, `-1 day, 23:59:59`) or pandas a `Timedelta` (`0 days
//!   00:00:05`, `-1 days +23:59:59`);
//! - [`Notation::Rfc3339`]: RFC 3339 instants (`2026-11-22T10:00:05Z`,
//!   `2026-11-22T11:00:05+01:00`), also with a space for the `T` (`2026-11-22 10:00:05+00:00`,
//!   as SQL and pandas write them), with slashes in a year-first date (`2026/11/22 10:00:05`),
//!   and without an offset (`2026-11-22 10:00:05`, Python's
//!   `str(datetime)`), which is read as UTC: only the differences between timestamps matter to
//!   the analysis, and reports then write them in UTC;
//! - [`Notation::Epoch`]: integer Unix epoch seconds (`1795860005`), or milliseconds from
//!   [`EPOCH_MILLIS_FROM`] on (`1795860005250`), as for JSON numbers.
//!
//! Every notation maps to an `i64` second on the input's own clock: the offset in seconds, or Unix
//! seconds. The smallest unit is one second; a fraction of a second is truncated (toward the past).
//! [`Notation::format`] writes a second back in the same notation, so reports speak the input's
//! language: RFC 3339 output keeps the UTC offset of the first row.

use std::fmt;

/// The largest distance from the epoch (or from offset zero) a second may have: the range of
/// years -9999 to 9999 that RFC 3339 timestamps cover (jiff's), applied to every notation, so
/// that arithmetic on seconds never overflows.
pub const MAX_ABS_SECOND: i64 = 377_705_116_800;

/// How the timestamps of one input are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notation {
    /// `H:MM:SS` offsets from the start of the capture.
    Offset,
    /// RFC 3339 with an offset; `offset_seconds` is the UTC offset of the first row, used when
    /// formatting.
    Rfc3339 {
        /// Seconds east of UTC used when writing timestamps back.
        offset_seconds: i32,
    },
    /// Integer Unix epoch seconds, or milliseconds from [`EPOCH_MILLIS_FROM`] on.
    Epoch,
}

/// Why a timestamp field could not be read in the expected notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    /// What is wrong, in words.
    pub reason: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for TimestampError {}

fn error(reason: impl Into<String>) -> TimestampError {
    TimestampError { reason: reason.into() }
}

impl Notation {
    /// Detects the notation of a (trimmed) timestamp field, or `None` if it is in none of them.
    pub fn detect(field: &str) -> Option<Notation> {
        if parse_offset(field).is_ok() {
            Some(Notation::Offset)
        } else if parse_epoch(field).is_ok() {
            Some(Notation::Epoch)
        } else if let Ok((_, offset_seconds)) = parse_rfc3339(field) {
            Some(Notation::Rfc3339 { offset_seconds })
        } else {
            None
        }
    }

    /// The notation's name as shown to users.
    pub fn name(self) -> &'static str {
        match self {
            Notation::Offset => "H:MM:SS",
            Notation::Rfc3339 { .. } => "RFC 3339",
            Notation::Epoch => "Unix epoch seconds",
        }
    }

    /// Parses a (trimmed) field in this notation into a second on the input's clock.
    pub fn parse(self, field: &str) -> Result<i64, TimestampError> {
        match self {
            Notation::Offset => parse_offset(field),
            Notation::Rfc3339 { .. } => parse_rfc3339(field).map(|(second, _)| second),
            Notation::Epoch => parse_epoch(field).map(|second| {
                if second.unsigned_abs() >= EPOCH_MILLIS_FROM as u64 {
                    second.div_euclid(1000)
                } else {
                    second
                }
            }),
        }
        .and_then(|second| {
            if second.unsigned_abs() > MAX_ABS_SECOND as u64 {
                Err(error(format!("timestamp out of range (beyond year 9999; {})", self.name())))
            } else {
                Ok(second)
            }
        })
        .map_err(|e| match Notation::detect(field) {
            Some(other) if other.name() != self.name() => error(format!(
                "timestamp notation changed: expected {}, found {}",
                self.name(),
                other.name()
            )),
            _ => e,
        })
    }

    /// Writes a second on the input's clock back in this notation.
    pub fn format(self, second: i64) -> String {
        match self {
            Notation::Offset => {
                let sign = if second < 0 { "-" } else { "" };
                let s = second.unsigned_abs();
                format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
            }
            Notation::Epoch => second.to_string(),
            Notation::Rfc3339 { offset_seconds } => {
                let formatted = jiff::Timestamp::from_second(second).ok().and_then(|ts| {
                    let offset = jiff::tz::Offset::from_seconds(offset_seconds).ok()?;
                    Some(ts.to_zoned(jiff::tz::TimeZone::fixed(offset)))
                });
                match formatted {
                    Some(zoned) if offset_seconds == 0 => {
                        zoned.timestamp().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
                    }
                    Some(zoned) => zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                    None => second.to_string(),
                }
            }
        }
    }
}

/// `H:MM:SS` with any number of hour digits, minutes and seconds below 60, and an optional
/// fraction of a second (`0:00:01.250`), which is truncated; optionally after a whole number of
/// days as Python's `str(timedelta)` writes them (`2 days, 1:00:00`; `-1 day, 23:59:59` is one
/// second before zero) or as pandas writes a `Timedelta` (`2 days 01:00:00`, `-1 days
/// +23:59:59`).
fn parse_offset(field: &str) -> Result<i64, TimestampError> {
    let bad = || error("not an H:MM:SS timestamp");
    let (days, rest) = if let Some((days, rest)) = field.split_once(", ") {
        let days = days.strip_suffix(" days").or_else(|| days.strip_suffix(" day"));
        (days.ok_or_else(bad)?, rest)
    } else if let Some((days, rest)) = field.split_once(" days ") {
        // pandas: `0 days 00:00:05`, `-1 days +23:59:59`.
        (days, rest.strip_prefix('+').unwrap_or(rest))
    } else {
        return parse_hms(field);
    };
    let unsigned = days.strip_prefix('-').unwrap_or(days);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let out_of_range = || error("days out of range in a timestamp");
    let days: i64 = days.parse().map_err(|_| out_of_range())?;
    let hms = parse_hms(rest)?;
    days.checked_mul(86_400).and_then(|d| d.checked_add(hms)).ok_or_else(out_of_range)
}

/// `H:MM:SS` as [`parse_offset`] reads it after any days.
fn parse_hms(field: &str) -> Result<i64, TimestampError> {
    let bad = || error("not an H:MM:SS timestamp");
    let mut parts = field.splitn(3, ':');
    let (hours, minutes, seconds) = match (parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(m), Some(s)) => (h, m, s),
        _ => return Err(bad()),
    };
    let seconds = match seconds.split_once('.') {
        Some((whole, fraction))
            if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            whole
        }
        Some(_) => return Err(bad()),
        None => seconds,
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || minutes.len() != 2 || seconds.len() != 2 {
        return Err(bad());
    }
    if !digits(minutes) || !digits(seconds) {
        return Err(bad());
    }
    let hours: i64 = hours.parse().map_err(|_| error("hours out of range in H:MM:SS timestamp"))?;
    let minutes: i64 = minutes.parse().map_err(|_| bad())?;
    let seconds: i64 = seconds.parse().map_err(|_| bad())?;
    if minutes >= 60 {
        return Err(error("minutes must be below 60 in an H:MM:SS timestamp"));
    }
    if seconds >= 60 {
        return Err(error("seconds must be below 60 in an H:MM:SS timestamp"));
    }
    hours
        .checked_mul(3600)
        .and_then(|h| h.checked_add(minutes * 60 + seconds))
        .ok_or_else(|| error("hours out of range in H:MM:SS timestamp"))
}

/// Integer Unix seconds, optionally signed, optionally with a fraction that is truncated toward
/// the past.
fn parse_epoch(field: &str) -> Result<i64, TimestampError> {
    let bad = || error("not an integer Unix epoch timestamp");
    let (whole, fraction) = match field.split_once('.') {
        Some((w, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (w, Some(f)),
        Some(_) => return Err(bad()),
        None => (field, None),
    };
    let unsigned = whole.strip_prefix('-').unwrap_or(whole);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let second: i64 = whole.parse().map_err(|_| error("Unix epoch timestamp out of range"))?;
    let has_fraction = fraction.is_some_and(|f| f.bytes().any(|b| b != b'0'));
    if whole.starts_with('-') && has_fraction { Ok(second - 1) } else { Ok(second) }
}

/// RFC 3339, with a `T` or a space between the date and the time (seconds required), the date
/// also with slashes year first (`2026/11/22`); without an offset the date and time are read as
/// UTC. Returns the Unix second (fraction truncated toward
/// the past) and the offset in seconds.
fn parse_rfc3339(field: &str) -> Result<(i64, i32), TimestampError> {
    // A year-first date with slashes (`2026/11/22 10:00:05`, as some exporters write it) is the
    // same date with dashes; day- or month-first dates are ambiguous and stay refused.
    let dashed;
    let field = match field.as_bytes() {
        [y0, y1, y2, y3, b'/', m0, m1, b'/', d0, d1, ..]
            if [y0, y1, y2, y3, m0, m1, d0, d1].iter().all(|b| b.is_ascii_digit()) =>
        {
            dashed = format!("{}-{}-{}", &field[..4], &field[5..7], &field[8..]);
            dashed.as_str()
        }
        _ => field,
    };
    // jiff parses a superset of RFC 3339; require a date and a time with seconds, so that a date
    // alone is refused rather than guessed.
    let bytes = field.as_bytes();
    if bytes.len() < 19 || !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return Err(error("not an RFC 3339 timestamp (expected e.g. 2026-11-22T10:00:05Z)"));
    }
    let zoned: jiff::fmt::temporal::Pieces = jiff::fmt::temporal::Pieces::parse(field)
        .map_err(|e| error(format!("not a valid RFC 3339 timestamp: {e}")))?;
    if zoned.time_zone_annotation().is_some() {
        return Err(error("a time zone name is not read: give the UTC offset (Z, +01:00)"));
    }
    let offset = match zoned.offset() {
        Some(jiff::fmt::temporal::PiecesOffset::Zulu) | None => jiff::tz::Offset::UTC,
        Some(jiff::fmt::temporal::PiecesOffset::Numeric(n)) => n.offset(),
        Some(_) => return Err(error("RFC 3339 timestamp with an unknown offset (-00:00)")),
    };
    let time = zoned.time().unwrap_or(jiff::civil::Time::midnight());
    let datetime = zoned.date().to_datetime(time);
    let timestamp = offset
        .to_timestamp(datetime)
        .map_err(|e| error(format!("RFC 3339 timestamp out of range: {e}")))?;
    Ok((timestamp.as_second(), offset.seconds()))
}

/// Epoch timestamps (JSON numbers, and integers in any field) from this magnitude on are Unix
/// epoch milliseconds, below it seconds: 10^11
/// seconds is the year 5138, past any stream (and past [`MAX_ABS_SECOND`] once a few digits more),
/// while 10^11 milliseconds is 1973-03-03, before any. So the rule cannot take a real timestamp of
/// one unit for the other; an input whose number timestamps mix the two is refused by the reader.
pub const EPOCH_MILLIS_FROM: i64 = 100_000_000_000;

/// The unit of a JSON number timestamp ([`EPOCH_MILLIS_FROM`] tells them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochUnit {
    /// Unix seconds.
    Seconds,
    /// Unix milliseconds.
    Milliseconds,
}

impl EpochUnit {
    /// The unit's name as shown to users.
    pub fn name(self) -> &'static str {
        match self {
            EpochUnit::Seconds => "seconds",
            EpochUnit::Milliseconds => "milliseconds",
        }
    }
}

/// A JSON number timestamp (as written: `1795860005`, `1795860005.25`, `1795860005250`,
/// `1.79586e9`) as a Unix second, truncated toward the past, and the unit its magnitude says.
pub fn parse_epoch_number(number: &str) -> Result<(i64, EpochUnit), TimestampError> {
    let out_of_range = || error("number timestamp out of range (beyond year 9999)");
    // The floor of the number, exactly when it has no exponent.
    let floor: i64 = if number.bytes().any(|b| matches!(b, b'e' | b'E')) {
        let value: f64 = number.parse().map_err(|_| error("not a number"))?;
        let value = value.floor();
        if !value.is_finite() || value.abs() >= 1e18 {
            return Err(out_of_range());
        }
        value as i64
    } else {
        parse_epoch(number).map_err(|_| out_of_range())?
    };
    let (second, unit) = if floor.unsigned_abs() >= EPOCH_MILLIS_FROM as u64 {
        (floor.div_euclid(1000), EpochUnit::Milliseconds)
    } else {
        (floor, EpochUnit::Seconds)
    };
    if second.unsigned_abs() > MAX_ABS_SECOND as u64 {
        return Err(out_of_range());
    }
    Ok((second, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_timestamps_below_1e11_are_seconds_and_from_it_milliseconds() {
        use EpochUnit::*;
        assert_eq!(parse_epoch_number("1795860005"), Ok((1_795_860_005, Seconds)));
        assert_eq!(parse_epoch_number("1795860005.999"), Ok((1_795_860_005, Seconds)));
        assert_eq!(parse_epoch_number("1795860005999"), Ok((1_795_860_005, Milliseconds)));
        assert_eq!(parse_epoch_number("1795860005999.5"), Ok((1_795_860_005, Milliseconds)));
        assert_eq!(parse_epoch_number("1.795860005e9"), Ok((1_795_860_005, Seconds)));
        assert_eq!(parse_epoch_number("99999999999"), Ok((99_999_999_999, Seconds)));
        assert_eq!(parse_epoch_number("100000000000"), Ok((100_000_000, Milliseconds)));
        // Toward the past, before 1970 too.
        assert_eq!(parse_epoch_number("-1.5"), Ok((-2, Seconds)));
        assert_eq!(parse_epoch_number("-100000000001"), Ok((-100_000_001, Milliseconds)));
        assert_eq!(parse_epoch_number("0"), Ok((0, Seconds)));
        for far in ["1e300", "377705116801000", "99999999999999999999", "-1e19"] {
            assert!(parse_epoch_number(far).unwrap_err().reason.contains("out of range"), "{far}");
        }
    }

    #[test]
    fn detects_each_notation() {
        assert_eq!(Notation::detect("0:00:00"), Some(Notation::Offset));
        assert_eq!(Notation::detect("123:59:59"), Some(Notation::Offset));
        assert_eq!(Notation::detect("1795860005"), Some(Notation::Epoch));
        assert_eq!(
            Notation::detect("2026-11-22T10:00:05Z"),
            Some(Notation::Rfc3339 { offset_seconds: 0 })
        );
        assert_eq!(
            Notation::detect("2026-11-22T11:00:05+01:00"),
            Some(Notation::Rfc3339 { offset_seconds: 3600 })
        );
        assert_eq!(Notation::detect("yesterday"), None);
        assert_eq!(Notation::detect("2026-11-22"), None);
    }

    #[test]
    fn offsets_parse_to_seconds() {
        assert_eq!(Notation::Offset.parse("0:00:00"), Ok(0));
        assert_eq!(Notation::Offset.parse("1:00:00"), Ok(3600));
        assert_eq!(Notation::Offset.parse("0:59:40"), Ok(3580));
        assert_eq!(Notation::Offset.parse("25:00:00"), Ok(90_000));
        assert_eq!(Notation::Offset.parse("0:00:07.999"), Ok(7));
        assert!(Notation::Offset.parse("1:61:00").is_err());
        assert!(Notation::Offset.parse("1:00:60").is_err());
        assert!(Notation::Offset.parse("1:0:00").is_err());
        assert!(Notation::Offset.parse(":00:00").is_err());
        assert!(Notation::Offset.parse("a:00:00").is_err());
        assert!(Notation::Offset.parse("-0:00:01").is_err());
    }

    #[test]
    fn python_timedeltas_add_their_days() {
        assert_eq!(Notation::Offset.parse("1 day, 0:00:05"), Ok(86_405));
        assert_eq!(Notation::Offset.parse("2 days, 1:00:00.500000"), Ok(2 * 86_400 + 3600));
        assert_eq!(Notation::Offset.parse("-1 day, 23:59:59"), Ok(-1));
        assert_eq!(Notation::detect("3 days, 0:00:00"), Some(Notation::Offset));
        for bad in
            ["1 day,0:00:05", "1 dy, 0:00:05", "x day, 0:00:05", " day, 0:00:05", "1 day, 0:0:05"]
        {
            assert!(Notation::Offset.parse(bad).is_err(), "{bad}");
        }
        assert!(Notation::Offset.parse("99999999999999 days, 0:00:00").is_err());
    }

    #[test]
    fn pandas_timedeltas_add_their_days() {
        assert_eq!(Notation::Offset.parse("0 days 00:00:05"), Ok(5));
        assert_eq!(Notation::Offset.parse("1 days 01:00:00.500000"), Ok(86_400 + 3600));
        assert_eq!(Notation::Offset.parse("-1 days +23:59:59"), Ok(-1));
        assert_eq!(Notation::detect("0 days 00:00:00"), Some(Notation::Offset));
        for bad in ["0 days  00:00:05", "x days 00:00:05", " days 00:00:05", "0 days 0:0:05"] {
            assert!(Notation::Offset.parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_parses_to_unix_seconds_whatever_the_offset() {
        let utc = Notation::Rfc3339 { offset_seconds: 0 };
        // 2026-11-22T10:00:05Z: 20779 days after 1970-01-01, plus 10 h and 5 s.
        let expected = 20_779 * 86_400 + 10 * 3600 + 5;
        assert_eq!(utc.parse("2026-11-22T10:00:05Z"), Ok(expected));
        assert_eq!(utc.parse("2026-11-22T11:00:05+01:00"), Ok(expected));
        assert_eq!(utc.parse("2026-11-22T10:00:05.900Z"), Ok(expected));
        assert!(utc.parse("2026-13-01T00:00:00Z").is_err());
        // A space for the `T`, and no offset (read as UTC), as SQL, pandas and Python write them.
        assert_eq!(utc.parse("2026-11-22 10:00:05"), Ok(expected));
        assert_eq!(utc.parse("2026-11-22T10:00:05"), Ok(expected));
        assert_eq!(utc.parse("2026-11-22 10:00:05.123456"), Ok(expected));
        assert_eq!(utc.parse("2026-11-22 11:00:05+01:00"), Ok(expected));
        assert_eq!(Notation::detect("2026-11-22 10:00:05"), Some(utc));
        // Slashes year first; day- or month-first dates are ambiguous and refused.
        assert_eq!(utc.parse("2026/11/22 10:00:05"), Ok(expected));
        assert_eq!(utc.parse("2026/11/22T11:00:05+01:00"), Ok(expected));
        assert_eq!(Notation::detect("2026/11/22 10:00:05"), Some(utc));
        for bad in ["22/11/2026 10:00:05", "11/22/2026 10:00:05", "2026/11-22 10:00:05"] {
            assert!(Notation::detect(bad).is_none(), "{bad}");
        }
        for bad in ["2026-11-22", "2026-11-22 10:00", "2026-11-22T10:00:05[Europe/Paris]"] {
            assert!(utc.parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn epoch_seconds_truncate_toward_the_past() {
        assert_eq!(Notation::Epoch.parse("1795860005"), Ok(1_795_860_005));
        assert_eq!(Notation::Epoch.parse("1795860005.75"), Ok(1_795_860_005));
        assert_eq!(Notation::Epoch.parse("-5.5"), Ok(-6));
        assert!(Notation::Epoch.parse("12a").is_err());
        // Milliseconds from 10^11 on, as for JSON numbers.
        assert_eq!(Notation::Epoch.parse("1795860005250"), Ok(1_795_860_005));
        assert_eq!(Notation::Epoch.parse("99999999999"), Ok(99_999_999_999));
        assert_eq!(Notation::Epoch.parse("-100000000001"), Ok(-100_000_001));
    }

    #[test]
    fn seconds_beyond_year_9999_are_refused_in_every_notation() {
        assert!(Notation::Epoch.parse("9223372036854775807").is_err());
        assert!(Notation::Epoch.parse("-9223372036854775808").is_err());
        // From 10^11 on, milliseconds: the year 9999's last second is 377705116800 seconds.
        assert!(Notation::Epoch.parse("377705116800999").is_ok());
        assert!(Notation::Epoch.parse("377705116801000").is_err());
        assert!(Notation::Offset.parse("200000000:00:00").is_err());
    }

    #[test]
    fn a_change_of_notation_is_named() {
        let err = Notation::Offset.parse("1795860005").unwrap_err();
        assert!(err.reason.contains("notation changed"), "{err}");
    }

    #[test]
    fn formatting_round_trips() {
        assert_eq!(Notation::Offset.format(3580), "0:59:40");
        assert_eq!(Notation::Offset.format(90_000), "25:00:00");
        assert_eq!(Notation::Epoch.format(1_795_860_005), "1795860005");
        let second = 20_779 * 86_400 + 10 * 3600 + 5;
        assert_eq!(Notation::Rfc3339 { offset_seconds: 0 }.format(second), "2026-11-22T10:00:05Z");
        assert_eq!(
            Notation::Rfc3339 { offset_seconds: 3600 }.format(second),
            "2026-11-22T11:00:05+01:00"
        );
        for notation in
            [Notation::Offset, Notation::Epoch, Notation::Rfc3339 { offset_seconds: -18000 }]
        {
            for second in [0, 59, 3600, 86_399, 1_795_860_005] {
                assert_eq!(notation.parse(&notation.format(second)), Ok(second));
            }
        }
    }
}
