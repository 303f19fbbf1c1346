//! The time zone pages show and read times in: UTC unless the operator configures another
//! (`serve --timezone Europe/Lisbon`), always named next to the time. Parsed once at startup into
//! a [`Zone`], which the application state carries and hands to each page (its navigation) and
//! to the parsing of form times; there is no process-wide setting. The zone database is compiled
//! into the binary, so no system files are needed.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// A time zone for people: UTC (the default) or a zone named by its IANA name.
#[derive(Clone, Debug, Default)]
pub struct Zone(Option<(TimeZone, String)>);

/// A zone name that is neither `UTC` nor in the IANA database.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone {name:?}: use an IANA name such as Europe/Lisbon, or UTC")]
pub struct UnknownZone {
    /// The name given (trimmed).
    pub name: String,
}

impl Zone {
    /// The zone of an IANA name (`Europe/Lisbon`, `America/New_York`), or UTC for `UTC` or
    /// nothing.
    pub fn parse(name: &str) -> Result<Self, UnknownZone> {
        let name = name.trim();
        if name.is_empty() || name.eq_ignore_ascii_case("utc") {
            return Ok(Self::default());
        }
        let tz = TimeZone::get(name).map_err(|_| UnknownZone {
            name: name.to_owned(),
        })?;
        Ok(Self(Some((tz, name.to_owned()))))
    }

    /// The zone's name, for pages: `UTC` or the IANA name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.0.as_ref().map_or("UTC", |(_, name)| name.as_str())
    }

    /// `t` as staff read it: to the minute, in this zone, saying which (`2026-03-15 09:00 EDT`,
    /// `2026-03-15 13:00 UTC`).
    #[must_use]
    pub fn show(&self, t: Timestamp) -> String {
        match &self.0 {
            Some((tz, _)) => jiff::ZonedDateTime::new(t, tz.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string(),
            None => show_utc(t),
        }
    }

    /// `t` as [`Zone::show`] writes it, with how long ago or ahead of `now` it is, for a page:
    /// render it with the `when` macro of `macros.html`, which keeps each part on one line.
    #[must_use]
    pub fn when(&self, t: Timestamp, now: Timestamp) -> When {
        When {
            text: self.show(t),
            relative: relative(t, now),
            iso: t.strftime("%Y-%m-%dT%H:%MZ").to_string(),
        }
    }

    /// `t` as a text field holds it and [`crate::web::input::parse_time`] reads it back: the
    /// way pages show times, without the zone (`2026-03-15 09:00`), in this zone.
    #[must_use]
    pub fn field(&self, t: Timestamp) -> String {
        let tz = self.0.as_ref().map_or(TimeZone::UTC, |(tz, _)| tz.clone());
        jiff::ZonedDateTime::new(t, tz)
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// The abbreviation this zone shows for `t` (`UTC`, `EDT`, `WET`).
    #[must_use]
    pub fn abbreviation(&self, t: Timestamp) -> String {
        match &self.0 {
            Some((tz, _)) => jiff::ZonedDateTime::new(t, tz.clone())
                .strftime("%Z")
                .to_string(),
            None => "UTC".to_owned(),
        }
    }

    /// `t` as a `datetime-local` field holds it, in this zone, to the minute
    /// (`2026-03-15T09:00`): what [`Zone::read`] reads back.
    #[must_use]
    pub fn input(&self, t: Timestamp) -> String {
        let tz = self.0.as_ref().map_or(TimeZone::UTC, |(tz, _)| tz.clone());
        jiff::ZonedDateTime::new(t, tz)
            .strftime("%Y-%m-%dT%H:%M")
            .to_string()
    }

    /// A civil date and time (as `datetime-local` sends it) read in this zone; in a gap or fold
    /// of a daylight-saving change, the earlier instant.
    #[must_use]
    pub fn read(&self, dt: DateTime) -> Option<Timestamp> {
        let utc = TimeZone::UTC;
        let tz = self.0.as_ref().map_or(&utc, |(tz, _)| tz);
        tz.to_ambiguous_timestamp(dt).compatible().ok()
    }
}

/// A time as a page shows it: the absolute time in the deployment's zone, how far from now, and
/// the instant for `<time datetime>`. Displays as the absolute time alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct When {
    /// `2026-12-20 23:59 UTC`.
    pub text: String,
    /// `in 3 days`, `2 hours ago`, `just now`.
    pub relative: String,
    /// `2026-12-20T23:59Z`, for the `datetime` attribute.
    pub iso: String,
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// How far `t` lies from `now`, in the largest whole unit people use (`in 3 days`,
/// `5 minutes ago`; under a minute, `just now`).
#[must_use]
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    const UNITS: [(i64, i64, &str); 6] = [
        // (below this many seconds, divide by this, unit)
        (3_600, 60, "minute"),
        (86_400, 3_600, "hour"),
        (14 * 86_400, 86_400, "day"),
        (60 * 86_400, 7 * 86_400, "week"),
        (365 * 86_400, 30 * 86_400, "month"),
        (i64::MAX, 365 * 86_400, "year"),
    ];
    let seconds = t.as_second() - now.as_second();
    let distance = seconds.unsigned_abs();
    if distance < 60 {
        return "just now".to_owned();
    }
    let distance = i64::try_from(distance).unwrap_or(i64::MAX);
    let (_, size, unit) = UNITS
        .iter()
        .find(|(below, _, _)| distance < *below)
        .copied()
        .unwrap_or(UNITS[5]);
    let n = distance / size;
    let plural = if n == 1 { "" } else { "s" };
    if seconds > 0 {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// [`Zone::show`] in UTC.
fn show_utc(t: Timestamp) -> String {
    // Written digit by digit: pages show dozens of times each, and `strftime` or `format!`
    // with padded integers cost most of a microsecond a time.
    fn digits(out: &mut String, value: i32, width: usize) {
        let mut buf = [b'0'; 4];
        let mut v = value.unsigned_abs();
        for slot in buf[..width].iter_mut().rev() {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "a remainder of 10 is one digit"
            )]
            let digit = (v % 10) as u8;
            *slot = b'0' + digit;
            v /= 10;
        }
        out.extend(buf[..width].iter().map(|b| char::from(*b)));
    }
    let dt = TimeZone::UTC.to_datetime(t);
    if !(0..=9999).contains(&dt.year()) {
        return crate::domain::utc_minute(t);
    }
    let mut out = String::with_capacity(20);
    digits(&mut out, i32::from(dt.year()), 4);
    out.push('-');
    digits(&mut out, i32::from(dt.month()), 2);
    out.push('-');
    digits(&mut out, i32::from(dt.day()), 2);
    out.push(' ');
    digits(&mut out, i32::from(dt.hour()), 2);
    out.push(':');
    digits(&mut out, i32::from(dt.minute()), 2);
    out.push_str(" UTC");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_to_the_minute_in_utc_as_strftime_would() {
        for raw in [
            "2026-03-10T00:00:00Z",
            "2026-12-31T23:59:59.999999Z",
            "0999-01-02T03:04:05Z",
            "2024-02-29T12:30:00+05:30",
            "-000001-06-01T00:00:00Z",
        ] {
            let t: Timestamp = raw.parse().unwrap();
            assert_eq!(
                Zone::default().show(t),
                t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                "{raw}"
            );
        }
    }

    #[test]
    fn relative_times_use_the_largest_whole_unit() {
        let now: Timestamp = "2026-12-07T12:00:00Z".parse().unwrap();
        let cases = [
            ("2026-12-07T12:00:30Z", "just now"),
            ("2026-12-07T11:59:31Z", "just now"),
            ("2026-12-07T12:01:00Z", "in 1 minute"),
            ("2026-12-07T11:15:00Z", "45 minutes ago"),
            ("2026-12-07T14:59:00Z", "in 2 hours"),
            ("2026-12-06T12:00:00Z", "1 day ago"),
            ("2026-12-10T23:59:00Z", "in 3 days"),
            ("2026-12-28T12:00:00Z", "in 3 weeks"),
            ("2026-09-07T12:00:00Z", "3 months ago"),
            ("2029-12-07T12:00:00Z", "in 3 years"),
        ];
        for (raw, words) in cases {
            assert_eq!(relative(raw.parse().unwrap(), now), words, "{raw}");
        }
    }

    #[test]
    fn a_page_time_carries_its_words_and_instant() {
        let now: Timestamp = "2026-12-07T12:00:00Z".parse().unwrap();
        let t: Timestamp = "2026-12-20T23:59:00Z".parse().unwrap();
        let lisbon = Zone::parse("Europe/Lisbon").unwrap();
        let w = lisbon.when(t, now);
        assert_eq!(w.text, "2026-12-20 23:59 WET");
        assert_eq!(w.relative, "in 13 days");
        assert_eq!(w.iso, "2026-12-20T23:59Z");
        assert_eq!(w.to_string(), w.text);
        assert_eq!(lisbon.field(t), "2026-12-20 23:59");
        assert_eq!(lisbon.abbreviation(t), "WET");
    }

    #[test]
    fn an_unknown_zone_is_refused_by_name() {
        let err = Zone::parse("Mars/Olympus_Mons").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown time zone \"Mars/Olympus_Mons\": use an IANA name such as Europe/Lisbon, or UTC"
        );
        assert_eq!(Zone::parse(" utc ").unwrap().name(), "UTC");
        assert_eq!(Zone::parse("").unwrap().name(), "UTC");
    }
}
