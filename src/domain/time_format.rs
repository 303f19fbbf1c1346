//! How a time reads to people where no zone applies (rule messages, the CLI's listings, the
//! pages without a configured zone): minute precision, always UTC, and saying so.

use jiff::Timestamp;

/// The `strftime` format of [`utc_minute`]: `2026-03-02 09:30 UTC`.
pub const UTC_MINUTE: &str = "%Y-%m-%d %H:%M UTC";

/// `t` to the minute in UTC, as `2026-03-02 09:30 UTC`.
#[must_use]
pub fn utc_minute(t: Timestamp) -> String {
    t.strftime(UTC_MINUTE).to_string()
}
