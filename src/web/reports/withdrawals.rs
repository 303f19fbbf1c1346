//! The recent-withdrawals report: withdrawals from seats and waitlists, newest first, filtered
//! by time, course, instructor and reason, as a page and as CSV.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::super::AppState;
use super::super::csv;
use super::super::error::PageError;
use super::super::extract::{Acting, PageQuery};
use super::super::input;
use super::super::name_match::InstructorFilter;
use super::super::nav::Nav;
use super::super::zone::{When, Zone};
use crate::domain::{ReasonCode, UnknownReasonCode};
use crate::projections::{
    Projections, Withdrawal, WithdrawalFilter, WithdrawalKey, WithdrawalKind,
};

use super::{CSV_CHUNK, Chunks, PAGE_SIZE, Tab, page_number, query_link};

/// One withdrawal, ready to show.
pub struct WithdrawalRow {
    pub position: u64,
    pub time: When,
    pub cohort_id: String,
    pub cohort_name: String,
    pub course: String,
    pub instructor: String,
    pub learner: String,
    /// What to show for the learner.
    pub learner_label: String,
    /// "seat" or "waitlist place".
    pub gave_up: &'static str,
    pub event_type: &'static str,
    /// The reason code's name and label (empty for a waitlist place).
    pub reason_code: &'static str,
    pub reason_label: &'static str,
    pub reason: String,
    pub actor: String,
    /// Who got the freed seat ("" if nobody).
    pub promoted: String,
}

impl WithdrawalRow {
    fn of(w: &Withdrawal, read: &Projections, zone: &Zone, now: Timestamp) -> Self {
        let view = read.catalog.get(w.cohort);
        Self {
            position: w.position,
            time: zone.when(w.occurred_at, now),
            cohort_id: w.cohort.to_string(),
            cohort_name: view.map_or_else(|| w.cohort.to_string(), |v| v.state.name.clone()),
            course: view.map(|v| v.state.course.clone()).unwrap_or_default(),
            instructor: view.map(|v| v.state.instructor.clone()).unwrap_or_default(),
            learner: read.directory.key_of(w.learner),
            learner_label: read.directory.label_of(w.learner),
            gave_up: match w.kind {
                WithdrawalKind::Seat => "seat",
                WithdrawalKind::Waitlist => "waitlist place",
                WithdrawalKind::Transfer => "transfer",
            },
            event_type: w.kind.event_type(),
            reason_code: w.reason_code.map_or("", ReasonCode::as_str),
            reason_label: w.reason_code.map_or("", ReasonCode::label),
            reason: super::super::views::shown_reason(&w.reason, w.reason_erased),
            actor: w.actor.clone(),
            promoted: w
                .promoted
                .map(|l| read.directory.key_of(l))
                .unwrap_or_default(),
        }
    }

    fn cells(self, occurred_at: Timestamp) -> Vec<String> {
        vec![
            occurred_at.to_string(),
            self.position.to_string(),
            self.cohort_id,
            self.cohort_name,
            self.course,
            self.instructor,
            self.learner,
            self.event_type.to_owned(),
            self.reason_code.to_owned(),
            self.reason,
            self.actor,
            self.promoted,
        ]
    }
}

/// The previous and next page of a listing without a total.
pub struct Pager {
    pub previous: Option<String>,
    pub next: Option<String>,
    pub first_shown: usize,
    pub last_shown: usize,
}

/// The recent-withdrawals page.
#[derive(Template, WebTemplate)]
#[template(path = "reports_withdrawals.html")]
pub struct WithdrawalsPage {
    pub nav: Nav,
    pub tab: Tab,
    pub rows: Vec<WithdrawalRow>,
    pub from: String,
    pub to: String,
    pub course: String,
    pub instructor: String,
    pub instructors: Vec<String>,
    pub filtered: bool,
    pub error: Option<String>,
    /// How the instructor typed was read, or why nothing is shown.
    pub instructor_note: Option<String>,
    /// The instructor typed matched none or several: nothing is shown.
    pub unresolved: bool,
    /// Instructors to pick instead: (name, link).
    pub instructor_choices: Vec<(String, String)>,
    /// The filters applied, each with the link that drops it: (label, link).
    pub chips: Vec<(String, String)>,
    /// The zone's abbreviation, for the time fields' labels.
    pub zone_abbr: String,
    pub pages: Pager,
    pub csv: String,
    /// The chosen reason code (empty: all).
    pub reason: String,
    /// Seats given up per reason code under the other filters: (code, label, count, link).
    pub by_reason: Vec<ReasonCount>,
}

/// One reason code's count, with the link that filters by it.
pub struct ReasonCount {
    pub code: &'static str,
    pub label: &'static str,
    pub count: u64,
    pub link: String,
}

/// `?from=&to=&course=&instructor=&reason=&page=`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct WithdrawalsQuery {
    from: String,
    to: String,
    course: String,
    instructor: String,
    /// A reason code.
    reason: String,
    page: String,
}

impl WithdrawalsQuery {
    fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("from", self.from.trim()),
            ("to", self.to.trim()),
            ("course", self.course.trim()),
            ("instructor", self.instructor.trim()),
            ("reason", self.reason.trim()),
        ]
    }

    /// The filter (times without an offset read in `zone`), or a message naming the field at
    /// fault.
    fn filter(&self, zone: &Zone) -> Result<WithdrawalFilter, String> {
        let text = |raw: &str| Some(raw.trim().to_owned()).filter(|t| !t.is_empty());
        Ok(WithdrawalFilter {
            from: time_bound("from", &self.from, false, zone)?,
            to: time_bound("to", &self.to, true, zone)?,
            course: text(&self.course),
            instructor: text(&self.instructor),
            reason_code: match self.reason.trim() {
                "" => None,
                raw => Some(
                    raw.parse()
                        .map_err(|e: UnknownReasonCode| format!("reason: {e}"))?,
                ),
            },
        })
    }
}

/// A date (`2026-03-01`, the whole day in UTC) or an instant (RFC 3339; a date and time
/// without an offset is read in `zone`). A date as the upper bound includes its whole day.
fn time_bound(
    field: &'static str,
    raw: &str,
    end_of_day: bool,
    zone: &Zone,
) -> Result<Option<Timestamp>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(date) = raw.parse::<Date>() {
        let day = if end_of_day {
            date.tomorrow().map_err(|e| format!("{field}: {e}"))?
        } else {
            date
        };
        let start = TimeZone::UTC
            .to_timestamp(day.to_datetime(Time::midnight()))
            .map_err(|e| format!("{field}: {e}"))?;
        return Ok(Some(if end_of_day {
            start - SignedDuration::from_nanos(1)
        } else {
            start
        }));
    }
    input::parse_time(field, raw, zone).map(Some).map_err(|_| {
        format!("{field}: {raw:?} is not a date (2026-03-01) or a date and time (2026-03-01 09:00)")
    })
}

/// `GET /reports/withdrawals`: withdrawals from seats and waitlists, newest first, with reason,
/// actor and the promotion they caused; filtered by time, course and instructor. Costs a
/// logarithmic seek plus one step per withdrawal skipped or shown (of the instructor's or
/// course's index when filtered by both, the smaller one, checking the other).
pub async fn withdrawals(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(q): PageQuery<WithdrawalsQuery>,
) -> Result<Response, PageError> {
    let page = page_number(&q.page);
    let offset = (page - 1) * PAGE_SIZE;
    let now = state.clock.now();
    let read = state.read.read();
    let who = InstructorFilter::of(&read.catalog.instructors(), &q.instructor);
    let (filter, error) = match q.filter(&state.zone) {
        Ok(filter) => (
            Some(WithdrawalFilter {
                instructor: who.name.clone(),
                ..filter
            })
            .filter(|_| !who.unresolved),
            None,
        ),
        Err(message) => (None, Some(message)),
    };
    let mut rows: Vec<WithdrawalRow> = filter.as_ref().map_or_else(Vec::new, |f| {
        read.withdrawals(f, None)
            .skip(offset)
            .take(PAGE_SIZE + 1)
            .map(|w| WithdrawalRow::of(&w, &read, &state.zone, now))
            .collect()
    });
    let counts = filter.as_ref().map_or([0; 5], |f| {
        read.withdrawals
            .reason_counts(f, &read.events, &read.history)
    });
    let instructors = read.instructors.iter().map(|e| e.name.clone()).collect();
    drop(read);
    let by_reason = ReasonCode::ALL
        .into_iter()
        .zip(counts)
        .map(|(code, count)| {
            let mut pairs = q.pairs().to_vec();
            pairs.retain(|(name, _)| *name != "reason");
            pairs.push(("reason", code.as_str()));
            ReasonCount {
                code: code.as_str(),
                label: code.label(),
                count,
                link: query_link("/reports/withdrawals", &pairs),
            }
        })
        .collect();
    let more = rows.len() > PAGE_SIZE;
    rows.truncate(PAGE_SIZE);
    let pairs = q.pairs();
    let link = |p: usize| {
        let page = p.to_string();
        let mut all = pairs.to_vec();
        all.push(("page", &page));
        query_link("/reports/withdrawals", &all)
    };
    let pages = Pager {
        previous: (page > 1).then(|| link(page - 1)),
        next: more.then(|| link(page + 1)),
        first_shown: if rows.is_empty() { 0 } else { offset + 1 },
        last_shown: offset + rows.len(),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let instructor_choices = who
        .choices
        .iter()
        .map(|name| {
            let mut all = pairs.to_vec();
            all.retain(|(k, _)| *k != "instructor");
            all.push(("instructor", name));
            (name.clone(), query_link("/reports/withdrawals", &all))
        })
        .collect();
    let chips = chips(&pairs, &who);
    let page = WithdrawalsPage {
        nav: Nav::of(&principal, &state.zone),
        tab: Tab::Withdrawals,
        instructor_note: who.note,
        unresolved: who.unresolved,
        instructor_choices,
        chips,
        zone_abbr: state.zone.abbreviation(now),
        rows,
        from: q.from.trim().to_owned(),
        to: q.to.trim().to_owned(),
        course: q.course.trim().to_owned(),
        instructor: q.instructor.trim().to_owned(),
        instructors,
        filtered: filter.is_some_and(|f| f != WithdrawalFilter::default()),
        error,
        pages,
        csv: query_link("/reports/withdrawals.csv", &pairs),
        reason: q.reason.trim().to_owned(),
        by_reason,
    };
    Ok((status, page).into_response())
}

/// The applied filters as chips: what each filters by, in words, and the link without it.
fn chips(pairs: &[(&'static str, &str)], who: &InstructorFilter) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(key, value)| {
            let label = match *key {
                "from" => format!("From: {value}"),
                "to" => format!("To: {value}"),
                "course" => format!("Course: {value}"),
                "instructor" => format!("Instructor: {}", who.name.as_deref().unwrap_or(value)),
                "reason" => format!(
                    "Reason: {}",
                    value
                        .parse::<ReasonCode>()
                        .map_or((*value).to_owned(), |c| c.label().to_owned())
                ),
                other => format!("{other}: {value}"),
            };
            let mut rest = pairs.to_vec();
            for pair in &mut rest {
                if pair.0 == *key {
                    pair.1 = "";
                }
            }
            (label, query_link("/reports/withdrawals", &rest))
        })
        .collect()
}

/// `GET /reports/withdrawals.csv`: every withdrawal the filters match, newest first.
pub async fn withdrawals_csv(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<WithdrawalsQuery>,
) -> Result<Response, PageError> {
    let filter = q.filter(&state.zone).map_err(PageError::BadRequest)?;
    let who = InstructorFilter::of(&state.read.read().catalog.instructors(), &q.instructor);
    if who.unresolved {
        return Err(PageError::BadRequest(who.note.unwrap_or_default()));
    }
    let filter = WithdrawalFilter {
        instructor: who.name,
        ..filter
    };
    let mut cursor: Option<WithdrawalKey> = None;
    let zone = state.zone.clone();
    let now = state.clock.now();
    let rows = Chunks::new(state.read.clone(), move |read: &Projections| {
        read.withdrawals(&filter, cursor)
            .take(CSV_CHUNK)
            .map(|w| {
                cursor = Some(w.key());
                WithdrawalRow::of(&w, read, &zone, now).cells(w.occurred_at)
            })
            .collect()
    });
    Ok(csv::download(
        "withdrawals.csv",
        &[
            "occurred_at",
            "position",
            "cohort_id",
            "cohort",
            "course",
            "instructor",
            "learner",
            "event",
            "reason_code",
            "reason",
            "actor",
            "promoted",
        ],
        rows,
    ))
}
