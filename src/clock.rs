//! Readable times: how a second on the input's clock is written for people.
//!
//! Reports and the heatmap speak the input's own notation ([`Notation::format`]), with one
//! exception: integer Unix seconds (`1796121378`) mean nothing to a reader, so they are written
//! as RFC 3339 instants in a time zone, UTC by default (`2026-12-01T15:52:16Z`), or the zone of
//! `--time-zone` or `TZ` (`2026-12-01T16:52:16+01:00` in `Europe/Paris`). `H:MM:SS` offsets and
//! RFC 3339 input are written as they came. Machine formats keep the seconds (`start_s`) and add
//! this readable form next to them.
//!
//! A zone is an IANA name from the system's time zone database (`Europe/Paris`; `UTC` always
//! works), a fixed offset (`+05:30`, `-08:00`), a POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`),
//! or, for `TZ` only, the path of a TZif file (`:/etc/localtime`), as the C library reads `TZ`.

use anyhow::{Context, Result, bail};
use jiff::tz::{Offset, TimeZone};

use crate::input::timestamp::Notation;

/// How the seconds of one run are written for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Clock {
    /// The input's notation.
    pub notation: Notation,
    /// The zone Unix seconds are shown in.
    pub zone: TimeZone,
    /// The zone's name as given (`UTC` by default).
    pub zone_name: String,
}

impl Clock {
    /// A clock for input in `notation`, Unix seconds shown in `zone` (named `zone_name`).
    pub fn new(notation: Notation, zone: TimeZone, zone_name: &str) -> Clock {
        Clock { notation, zone, zone_name: zone_name.to_string() }
    }

    /// The input's notation, Unix seconds in UTC.
    pub fn utc(notation: Notation) -> Clock {
        Clock::new(notation, TimeZone::UTC, "UTC")
    }

    /// Whether seconds are rewritten in a zone: the input is Unix seconds.
    pub fn is_zoned(&self) -> bool {
        self.notation == Notation::Epoch
    }

    /// A second as people read it: RFC 3339 in the zone for Unix seconds (`Z` at offset zero),
    /// otherwise the input's notation.
    pub fn format(&self, second: i64) -> String {
        if !self.is_zoned() {
            return self.notation.format(second);
        }
        let Ok(timestamp) = jiff::Timestamp::from_second(second) else {
            return second.to_string();
        };
        if self.zone.to_offset(timestamp) == Offset::UTC {
            timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
        } else {
            timestamp.to_zoned(self.zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
        }
    }

    /// Seconds east of UTC at `second`, for the heatmap's ticks to fall on round local times;
    /// the notation's own for other input (the first row's offset for RFC 3339, none otherwise).
    pub fn offset_seconds(&self, second: i64) -> i64 {
        match self.notation {
            Notation::Rfc3339 { offset_seconds } => i64::from(offset_seconds),
            Notation::Offset => 0,
            Notation::Epoch => jiff::Timestamp::from_second(second)
                .map_or(0, |t| i64::from(self.zone.to_offset(t).seconds())),
        }
    }
}

/// The zone of `--time-zone` (`flag`), else of the `TZ` variable (`tz`), else UTC; with its name.
pub fn zone(flag: Option<&str>, tz: Option<&str>) -> Result<(TimeZone, String)> {
    if let Some(name) = flag {
        return parse_zone(name, false).with_context(|| format!("--time-zone {name:?}"));
    }
    match tz.filter(|tz| !tz.is_empty()) {
        Some(tz) => parse_zone(tz, true).with_context(|| format!("TZ={tz:?}")),
        None => Ok((TimeZone::UTC, "UTC".to_string())),
    }
}

/// A zone by IANA name, fixed offset, POSIX TZ string or (for `TZ`) TZif path.
fn parse_zone(text: &str, tz_variable: bool) -> Result<(TimeZone, String)> {
    let name = if tz_variable { text.strip_prefix(':').unwrap_or(text) } else { text };
    if name.is_empty() {
        bail!("empty time zone name");
    }
    if tz_variable && name.starts_with('/') {
        let data = std::fs::read(name).context("cannot read the time zone file")?;
        let zone = TimeZone::tzif(name, &data).context("not a time zone file")?;
        return Ok((zone, name.to_string()));
    }
    if let Some(offset) = fixed_offset(name) {
        return Ok((TimeZone::fixed(offset), name.to_string()));
    }
    if let Ok(zone) = TimeZone::get(name) {
        return Ok((zone, name.to_string()));
    }
    // A POSIX TZ string names its offset with a number (`CET-1`); a bare word is a name that was
    // not found.
    if name.bytes().any(|b| b.is_ascii_digit())
        && let Ok(zone) = TimeZone::posix(name)
    {
        return Ok((zone, name.to_string()));
    }
    bail!(
        "unknown time zone: expected an IANA name such as Europe/Paris or UTC (from the system's \
         time zone database), a fixed offset such as +05:30, or a POSIX TZ string"
    )
}

/// `+HH:MM` or `-HH:MM` (or `Z`), under 24 hours.
fn fixed_offset(text: &str) -> Option<Offset> {
    if text == "Z" {
        return Some(Offset::UTC);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours >= 24 || minutes >= 60 {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-01T15:52:16Z.
    const SECOND: i64 = 1_796_140_336;

    fn clock(flag: Option<&str>, tz: Option<&str>) -> Clock {
        let (zone, name) = zone(flag, tz).unwrap();
        Clock::new(Notation::Epoch, zone, &name)
    }

    #[test]
    fn unix_seconds_are_written_in_utc_by_default() {
        // 1796140336 = 20788 days (2026-12-01) + 57136 s (15:52:16).
        assert_eq!(20_788 * 86_400 + 15 * 3600 + 52 * 60 + 16, SECOND);
        assert_eq!(clock(None, None).format(SECOND), "2026-12-01T15:52:16Z");
        assert_eq!(clock(None, Some("")).format(SECOND), "2026-12-01T15:52:16Z");
        assert_eq!(Clock::utc(Notation::Epoch).format(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn other_notations_are_written_as_they_came() {
        let offset = Clock::new(Notation::Offset, TimeZone::fixed(Offset::constant(5)), "x");
        assert_eq!(offset.format(3_661), "1:01:01");
        let rfc = Clock::utc(Notation::Rfc3339 { offset_seconds: 3_600 });
        assert_eq!(rfc.format(SECOND), "2026-12-01T16:52:16+01:00");
        assert!(!rfc.is_zoned());
    }

    #[test]
    fn the_flag_wins_over_tz_and_either_may_name_any_kind_of_zone() {
        assert_eq!(clock(Some("+05:30"), Some("UTC")).format(SECOND), "2026-12-01T21:22:16+05:30");
        assert_eq!(clock(None, Some("-08:00")).format(SECOND), "2026-12-01T07:52:16-08:00");
        // Central European time: UTC+1 in December, UTC+2 in July (2026-07-01T12:00:00Z).
        let posix = clock(None, Some("CET-1CEST,M3.5.0,M10.5.0/3"));
        assert_eq!(posix.format(SECOND), "2026-12-01T16:52:16+01:00");
        assert_eq!(posix.format(1_782_907_200), "2026-07-01T14:00:00+02:00");
        assert_eq!(posix.offset_seconds(SECOND), 3600);
        assert_eq!(clock(Some("UTC"), Some("CET-1")).zone_name, "UTC");
    }

    #[test]
    fn iana_names_come_from_the_system_database() {
        let paris = clock(Some("Europe/Paris"), None);
        assert_eq!(paris.format(SECOND), "2026-12-01T16:52:16+01:00");
        assert_eq!(
            clock(None, Some(":America/New_York")).format(SECOND),
            "2026-12-01T10:52:16-05:00"
        );
    }

    #[test]
    fn an_unknown_zone_is_refused_with_its_name() {
        let e = format!("{:#}", zone(Some("Mars/Olympus"), None).unwrap_err());
        assert!(e.starts_with("--time-zone \"Mars/Olympus\": unknown time zone"), "{e}");
        let e = format!("{:#}", zone(None, Some("Nowhere")).unwrap_err());
        assert!(e.starts_with("TZ=\"Nowhere\": unknown time zone"), "{e}");
        for bad in ["+25:00", "+5:30", ""] {
            assert!(zone(Some(bad), None).is_err(), "{bad}");
        }
    }
}
