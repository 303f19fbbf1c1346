//! The time zone pages show and read times in: UTC unless the operator configures another
//! (`serve --timezone Europe/Lisbon`), always named next to the time. Set once at startup; the
//! zone database is compiled into the binary, so no system files are needed.

use std::sync::{PoisonError, RwLock};

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The configured zone and its IANA name; `None` is UTC.
static ZONE: RwLock<Option<(TimeZone, String)>> = RwLock::new(None);

/// Sets the zone by IANA name (`Europe/Lisbon`, `America/New_York`) or `UTC`.
pub fn configure(name: &str) -> Result<(), String> {
    let name = name.trim();
    let zone = if name.is_empty() || name.eq_ignore_ascii_case("utc") {
        None
    } else {
        let tz = TimeZone::get(name).map_err(|_| {
            format!("unknown time zone {name:?}: use an IANA name such as Europe/Lisbon, or UTC")
        })?;
        Some((tz, name.to_owned()))
    };
    *ZONE.write().unwrap_or_else(PoisonError::into_inner) = zone;
    Ok(())
}

/// The zone's name, for pages: `UTC` or the IANA name.
#[must_use]
pub fn name() -> String {
    ZONE.read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map_or_else(|| "UTC".to_owned(), |(_, name)| name.clone())
}

/// The configured zone, `None` for UTC.
pub(super) fn current() -> Option<TimeZone> {
    ZONE.read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|(tz, _)| tz.clone())
}

/// A civil date and time (as `datetime-local` sends it) read in the configured zone; in a gap
/// or fold of a daylight-saving change, the earlier instant.
pub(super) fn civil_to_timestamp(dt: DateTime) -> Option<Timestamp> {
    let tz = current().unwrap_or(TimeZone::UTC);
    tz.to_ambiguous_timestamp(dt).compatible().ok()
}

/// `t` in the configured zone, to the minute, with the zone's abbreviation (`EDT`, `WET`).
pub(super) fn show(t: Timestamp, tz: &TimeZone) -> String {
    jiff::ZonedDateTime::new(t, tz.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}
