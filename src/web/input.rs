//! Raw input (form fields, JSON bodies, path segments, headers) parsed once into typed values,
//! with messages that name the field at fault.

use std::fmt;

use axum::http::HeaderMap;
use jiff::Timestamp;
use jiff::civil::DateTime;
use uuid::Uuid;

use super::zone::Zone;
use crate::domain::{Capacity, CohortId, CohortStatus, NewCohort, ReasonCode, UnknownReasonCode};
use crate::learner_key::LearnerKey;

/// Longest free text (names, reasons) accepted, in characters.
pub const MAX_TEXT: usize = 200;
/// Longest withdrawal reason accepted, in characters.
pub const MAX_REASON: usize = 1000;

/// One field's problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name, as in the form and the JSON body.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// The fields of a new cohort as received, before checking.
#[derive(Clone, Debug, Default)]
pub struct RawCohort<'a> {
    /// Display name.
    pub name: &'a str,
    /// Course.
    pub course: &'a str,
    /// Instructor.
    pub instructor: &'a str,
    /// Seats, already a number (JSON) or still text (forms).
    pub capacity: RawNumber<'a>,
    /// First session.
    pub starts_at: &'a str,
    /// Enrollment deadline.
    pub enrollment_deadline: &'a str,
    /// Withdrawal deadline.
    pub withdrawal_deadline: &'a str,
}

/// A number as received.
#[derive(Clone, Copy, Debug)]
pub enum RawNumber<'a> {
    /// From JSON.
    Number(u64),
    /// From a form.
    Text(&'a str),
}

impl Default for RawNumber<'_> {
    fn default() -> Self {
        Self::Text("")
    }
}

/// Checks a new cohort's fields, reading times without an offset in `zone`; every problem is
/// reported, in form order.
pub fn new_cohort(raw: &RawCohort<'_>, zone: &Zone) -> Result<NewCohort, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = required_text(&mut errors, "name", raw.name);
    let course = required_text(&mut errors, "course", raw.course);
    let instructor = required_text(&mut errors, "instructor", raw.instructor);
    let capacity = match capacity("capacity", raw.capacity) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let mut time = |field, raw| match parse_time(field, raw, zone) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let starts_at = time("starts_at", raw.starts_at);
    let enrollment_deadline = time("enrollment_deadline", raw.enrollment_deadline);
    let withdrawal_deadline = time("withdrawal_deadline", raw.withdrawal_deadline);
    match (
        name,
        course,
        instructor,
        capacity,
        starts_at,
        enrollment_deadline,
        withdrawal_deadline,
    ) {
        (
            Some(name),
            Some(course),
            Some(instructor),
            Some(capacity),
            Some(starts_at),
            Some(enrollment_deadline),
            Some(withdrawal_deadline),
        ) if errors.is_empty() => Ok(NewCohort {
            name,
            course,
            instructor,
            capacity,
            starts_at,
            enrollment_deadline,
            withdrawal_deadline,
            ends_at: None,
            promotion: crate::domain::PromotionPolicy::Automatic,
            waitlist_cap: None,
        }),
        _ => Err(errors),
    }
}

fn required_text(errors: &mut Vec<FieldError>, field: &'static str, raw: &str) -> Option<String> {
    match line(field, raw, MAX_TEXT) {
        Ok(t) if t.is_empty() => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// Trimmed free text of at most `max` characters, without control characters (line breaks and
/// tabs aside) or bidi embedding, override and isolate characters.
pub fn text(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    checked(field, raw, max, |c| {
        c.is_control() && c != '\n' && c != '\r' && c != '\t'
    })
}

/// Trimmed single-line text (a name) of at most `max` characters: [`text`] without line breaks
/// or tabs either.
pub fn line(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    checked(field, raw, max, char::is_control)
}

fn checked(
    field: &'static str,
    raw: &str,
    max: usize,
    control: impl Fn(char) -> bool,
) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if let Some(c) = trimmed.chars().find(|&c| is_bidi_control(c)) {
        return Err(FieldError::new(
            field,
            format!(
                "must not contain text-direction controls (found U+{:04X}), which can make \
                 text show as something else",
                u32::from(c)
            ),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they reorder the text
/// that follows them, so a name could show as another. The marks (U+200E, U+200F, U+061C) and
/// the zero-width joiners stay allowed in free text: names in right-to-left and Indic scripts
/// need them; learner keys refuse them (see [`crate::learner_key`]).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A capacity from a number or its text.
pub fn capacity(field: &'static str, raw: RawNumber<'_>) -> Result<Capacity, FieldError> {
    let seats = match raw {
        RawNumber::Number(n) => n,
        RawNumber::Text(t) => t
            .trim()
            .parse::<u64>()
            .map_err(|_| FieldError::new(field, "must be a whole number of seats, e.g. 30"))?,
    };
    Capacity::new(seats).map_err(|e| FieldError::new(field, e.to_string()))
}

/// A learner key.
pub fn learner(field: &'static str, raw: &str) -> Result<LearnerKey, FieldError> {
    LearnerKey::parse(raw).map_err(|e| FieldError::new(field, e.to_string()))
}

/// A withdrawal's reason code; empty means `other`.
pub fn reason_code(field: &'static str, raw: &str) -> Result<ReasonCode, FieldError> {
    if raw.trim().is_empty() {
        return Ok(ReasonCode::Other);
    }
    raw.parse()
        .map_err(|e: UnknownReasonCode| FieldError::new(field, e.to_string()))
}

/// An instant, in the format pages show times (`2026-03-01 09:00`, optionally followed by the
/// zone's abbreviation as pages print it, `2026-03-01 09:00 UTC`; or a date alone, its
/// midnight), read in `zone`; also RFC 3339 with an offset (`2026-03-01T09:00:00Z`) and what
/// browsers send for `datetime-local` (`2026-03-01T09:00`).
pub fn parse_time(field: &'static str, raw: &str, zone: &Zone) -> Result<Timestamp, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    raw.parse::<Timestamp>()
        .ok()
        .or_else(|| civil_time(raw, zone))
        // The store keeps microseconds: what is decided and shown now is what a replay shows.
        .and_then(|t| Timestamp::from_microsecond(t.as_microsecond()).ok())
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!(
                    "{raw:?} is not a date and time; write it as pages show times, e.g. 2026-03-01 09:00 ({})",
                    zone.name()
                ),
            )
        })
}

/// A date and time without an offset, read in `zone`: `2026-03-01 09:00`, `2026-03-01T09:00`,
/// `2026-03-01`, each optionally followed by the abbreviation `zone` shows for that time (or
/// its name).
fn civil_time(raw: &str, zone: &Zone) -> Option<Timestamp> {
    let (civil, named) = match raw.rsplit_once(' ') {
        Some((civil, tail))
            if tail
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '/' || c == '_') =>
        {
            (civil.trim_end(), Some(tail))
        }
        _ => (raw, None),
    };
    let dt = civil.parse::<DateTime>().ok().or_else(|| {
        civil
            .parse::<jiff::civil::Date>()
            .ok()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    })?;
    let t = zone.read(dt)?;
    match named {
        None => Some(t),
        Some(name) if name.eq_ignore_ascii_case(&zone.abbreviation(t)) || name == zone.name() => {
            Some(t)
        }
        Some(_) => None,
    }
}

/// What a surface answers for a path segment that names no cohort (a page's 404, the API's
/// `cohort_not_found`).
pub trait NoSuchCohort {
    /// The error for the segment `raw`.
    fn no_such_cohort(raw: &str) -> Self;
}

/// The cohort a path segment names, or the asking surface's "no such cohort".
pub fn parse_cohort<E: NoSuchCohort>(raw: &str) -> Result<CohortId, E> {
    cohort_id(raw).ok_or_else(|| E::no_such_cohort(raw))
}

/// A cohort id from a path segment.
pub fn cohort_id(raw: &str) -> Option<CohortId> {
    Uuid::parse_str(raw).ok().map(CohortId)
}

/// Parses `open`/`closed`/`cancelled` (empty means all).
pub fn status_param(raw: Option<&str>) -> Result<Option<CohortStatus>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some("open") => Ok(Some(CohortStatus::Open)),
        Some("closed") => Ok(Some(CohortStatus::Closed)),
        Some("cancelled") => Ok(Some(CohortStatus::Cancelled)),
        Some(other) => Err(format!(
            "status: must be \"open\", \"closed\" or \"cancelled\", got {other:?}"
        )),
    }
}

/// Headers a command may carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandHeaders {
    /// `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// `If-Match: "<version>"`.
    pub expected_version: Option<u64>,
    /// `X-Correlation-Id`.
    pub correlation_id: Option<Uuid>,
    /// `X-Causation-Id`.
    pub causation_id: Option<Uuid>,
}

/// Reads the command headers; a malformed one is an error naming it.
pub fn command_headers(headers: &HeaderMap) -> Result<CommandHeaders, FieldError> {
    let get = |name: &'static str| -> Result<Option<&str>, FieldError> {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map_err(|_| FieldError::new(name, "must be visible ASCII"))
            })
            .transpose()
    };
    let idempotency_key = match get("idempotency-key")? {
        None => None,
        Some(k) if k.is_empty() || k.len() > 200 => {
            return Err(FieldError::new(
                "Idempotency-Key",
                "must be 1 to 200 characters",
            ));
        }
        Some(k) => Some(k.to_owned()),
    };
    // An empty `If-Match` is an empty list of entity tags (RFC 9110 allows it): no condition.
    let expected_version = get("if-match")?
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse::<u64>()
                .map_err(|_| {
                    FieldError::new("If-Match", "must be a cohort version in quotes, e.g. \"3\"")
                })
        })
        .transpose()?;
    let uuid_header =
        |name: &'static str, shown: &'static str| -> Result<Option<Uuid>, FieldError> {
            get(name)?
                .map(|v| {
                    Uuid::parse_str(v.trim()).map_err(|_| FieldError::new(shown, "must be a UUID"))
                })
                .transpose()
        };
    Ok(CommandHeaders {
        idempotency_key,
        expected_version,
        correlation_id: uuid_header("x-correlation-id", "X-Correlation-Id")?,
        causation_id: uuid_header("x-causation-id", "X-Causation-Id")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_the_microseconds_the_store_keeps() {
        let t = parse_time("t", "2026-03-10T00:00:00.123456789Z", &Zone::default()).unwrap();
        assert_eq!(
            t,
            "2026-03-10T00:00:00.123456Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn times_read_rfc3339_and_browser_local_as_utc() {
        let a = parse_time("t", "2026-03-01T09:00:00Z", &Zone::default()).unwrap();
        let b = parse_time("t", "2026-03-01T09:00", &Zone::default()).unwrap();
        let c = parse_time("t", "2026-03-01T10:00:00+01:00", &Zone::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        let err = parse_time("starts_at", "next tuesday", &Zone::default()).unwrap_err();
        assert_eq!(err.field, "starts_at");
    }

    #[test]
    fn times_read_back_as_pages_show_them() {
        let utc = Zone::default();
        let nine = parse_time("t", "2026-03-01T09:00:00Z", &utc).unwrap();
        for shown in [
            "2026-03-01 09:00",
            "2026-03-01 09:00 UTC",
            " 2026-03-01 09:00 utc ",
        ] {
            assert_eq!(parse_time("t", shown, &utc).unwrap(), nine, "{shown}");
        }
        let midnight = parse_time("t", "2026-03-01T00:00:00Z", &utc).unwrap();
        assert_eq!(parse_time("t", "2026-03-01", &utc).unwrap(), midnight);
        let lisbon = Zone::parse("Europe/Lisbon").unwrap();
        let summer = parse_time("t", "2026-07-01T08:00:00Z", &utc).unwrap();
        for shown in [
            "2026-07-01 09:00 WEST",
            "2026-07-01 09:00",
            "2026-07-01 09:00 Europe/Lisbon",
        ] {
            assert_eq!(parse_time("t", shown, &lisbon).unwrap(), summer, "{shown}");
        }
        assert_eq!(
            parse_time("t", &lisbon.field(summer), &lisbon).unwrap(),
            summer
        );
        let err = parse_time("t", "2026-07-01 09:00 EST", &lisbon).unwrap_err();
        assert!(
            err.message
                .contains("as pages show times, e.g. 2026-03-01 09:00 (Europe/Lisbon)"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_new_cohort_reports_every_bad_field() {
        let raw = RawCohort {
            name: " ",
            course: "RUST-101",
            instructor: "Ada",
            capacity: RawNumber::Text("many"),
            starts_at: "2026-03-01T09:00:00Z",
            enrollment_deadline: "soon",
            withdrawal_deadline: "2026-03-10T09:00:00Z",
        };
        let fields: Vec<_> = new_cohort(&raw, &Zone::default())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["name", "capacity", "enrollment_deadline"]);
    }

    #[test]
    fn names_refuse_controls_and_direction_overrides_but_keep_scripts() {
        assert_eq!(
            line("name", " Zoë Ørsted ", MAX_TEXT).unwrap(),
            "Zoë Ørsted"
        );
        // Persian with a zero-width non-joiner, Hebrew with a right-to-left mark: real names.
        assert!(line("name", "می\u{200C}خواهم", MAX_TEXT).is_ok());
        assert!(line("name", "\u{200F}דנה", MAX_TEXT).is_ok());
        for bad in [
            "Ana\u{202E}gro.x",
            "A\u{2066}b\u{2069}",
            "Ana\nMaria",
            "Ana\tM",
            "A\u{0007}",
        ] {
            assert_eq!(
                line("name", bad, MAX_TEXT).unwrap_err().field,
                "name",
                "{bad:?}"
            );
        }
        // Reasons keep their line breaks, not their overrides.
        assert!(text("reason", "moved\nto evening", MAX_REASON).is_ok());
        assert!(text("reason", "moved\u{202E}", MAX_REASON).is_err());
    }

    #[test]
    fn if_match_takes_quoted_versions() {
        let mut headers = HeaderMap::new();
        headers.insert("if-match", "\"7\"".parse().unwrap());
        assert_eq!(command_headers(&headers).unwrap().expected_version, Some(7));
        headers.insert("if-match", "seven".parse().unwrap());
        assert_eq!(command_headers(&headers).unwrap_err().field, "If-Match");
    }

    /// Schemathesis' case: an empty `If-Match` (an empty list of entity tags) sets no condition.
    #[test]
    fn an_empty_if_match_sets_no_condition() {
        let mut headers = HeaderMap::new();
        headers.insert("if-match", "".parse().unwrap());
        assert_eq!(command_headers(&headers).unwrap().expected_version, None);
    }
}
