//! The support reports: cohorts by instructor, recent withdrawals, seat changes per ISO week
//! (overall and per cohort, as a table and the SVG chart of [`super::chart`]), their CSV
//! downloads, and a cohort's roster as CSV.
//!
//! Handlers only read the report projections (`Instructors`, `Withdrawals`, `SeatWeeks` in
//! `crate::projections`) and copy out the rows a page shows; they never scan the
//! event log. CSV downloads stream in chunks, taking the read lock once per chunk, so a large
//! export neither sits in memory whole nor blocks the writer.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::AppState;
use super::chart::Chart;
use super::csv;
use super::error::PageError;
use super::extract::{Acting, PagePath, PageQuery};
use super::input::{self, display_time};
use super::nav::Nav;
use super::views::{CohortRow, PageLinks};
use crate::domain::{ReasonCode, UnknownReasonCode};
use crate::projections::{
    Projections, ReadModel, Totals, WeekCounts, Withdrawal, WithdrawalFilter, WithdrawalKey,
    WithdrawalKind, next_deadline, week_page,
};

/// Rows per page of a report.
const PAGE_SIZE: usize = 50;
/// Weeks per page of a seat-change report (half a year).
const WEEKS_PER_PAGE: usize = 26;
/// The last page number honoured; beyond it every page is empty anyway.
const MAX_PAGE: usize = 1 << 32;
/// Rows a CSV download copies out per hold of the read lock.
const CSV_CHUNK: usize = 1000;

fn page_number(raw: &str) -> usize {
    raw.trim().parse::<usize>().unwrap_or(1).clamp(1, MAX_PAGE)
}

fn query_link(path: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Copies out CSV rows a chunk at a time: `next_chunk` is called with the projections under the
/// read lock, resumes where it stopped, and returns no rows when done. Rows committed while a
/// download runs may or may not be in it.
struct Chunks<F> {
    read: Arc<ReadModel>,
    next_chunk: F,
    rows: std::vec::IntoIter<Vec<String>>,
    done: bool,
}

impl<F> Chunks<F> {
    fn new(read: Arc<ReadModel>, next_chunk: F) -> Self {
        Self {
            read,
            next_chunk,
            rows: Vec::new().into_iter(),
            done: false,
        }
    }
}

impl<F: FnMut(&Projections) -> Vec<Vec<String>>> Iterator for Chunks<F> {
    type Item = Vec<String>;

    fn next(&mut self) -> Option<Vec<String>> {
        loop {
            if let Some(row) = self.rows.next() {
                return Some(row);
            }
            if self.done {
                return None;
            }
            let chunk = (self.next_chunk)(&self.read.read());
            self.done = chunk.is_empty();
            self.rows = chunk.into_iter();
        }
    }
}

/// The links between the reports, shown on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// `/reports/instructors`.
    Instructors,
    /// `/reports/withdrawals`.
    Withdrawals,
    /// `/reports/seats`.
    Seats,
}

impl Tab {
    const ALL: [Self; 3] = [Self::Instructors, Self::Withdrawals, Self::Seats];

    const fn href(self) -> &'static str {
        match self {
            Self::Instructors => "/reports/instructors",
            Self::Withdrawals => "/reports/withdrawals",
            Self::Seats => "/reports/seats",
        }
    }

    const fn label(self) -> &'static str {
        match self {
            Self::Instructors => "Cohorts by instructor",
            Self::Withdrawals => "Recent withdrawals",
            Self::Seats => "Seat changes by week",
        }
    }

    /// Every report's (link, label, whether it is this one), for the tabs.
    fn links(self) -> [(&'static str, &'static str, bool); 3] {
        Self::ALL.map(|t| (t.href(), t.label(), t == self))
    }
}

// ---------------------------------------------------------------------------------------------
// Cohorts by instructor
// ---------------------------------------------------------------------------------------------

/// Sums over an instructor's cohorts, ready to show.
pub struct TotalsRow {
    pub cohorts: u64,
    pub open: u64,
    pub seats: u64,
    pub enrolled: u64,
    pub waitlisted: u64,
    pub fill_percent: u64,
}

impl TotalsRow {
    fn of(totals: Totals) -> Self {
        Self {
            cohorts: totals.cohorts,
            open: totals.open,
            seats: totals.seats,
            enrolled: totals.enrolled,
            waitlisted: totals.waitlisted,
            fill_percent: totals.fill_percent(),
        }
    }
}

/// One cohort of an instructor.
pub struct InstructorCohort {
    pub row: CohortRow,
    /// What comes next and when, or "".
    pub next_kind: &'static str,
    pub next_at: String,
}

/// One instructor's part of the page.
pub struct InstructorGroup {
    pub name: String,
    pub totals: TotalsRow,
    pub cohorts: Vec<InstructorCohort>,
    /// The group began on an earlier page.
    pub continued: bool,
}

/// The cohorts-by-instructor page.
#[derive(Template, WebTemplate)]
#[template(path = "reports_instructors.html")]
pub struct InstructorsPage {
    pub nav: Nav,
    pub tab: Tab,
    pub groups: Vec<InstructorGroup>,
    pub instructors: Vec<String>,
    pub instructor: String,
    pub pages: PageLinks,
    pub csv: String,
}

/// `?instructor=&page=`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InstructorsQuery {
    instructor: String,
    page: String,
}

fn instructor_filter(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|i| !i.is_empty())
}

/// `GET /reports/instructors`: per instructor, their cohorts with fill rate, waitlist and next
/// deadline. Costs one step per instructor (to find the page) plus one per row shown.
pub async fn instructors(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(q): PageQuery<InstructorsQuery>,
) -> Result<InstructorsPage, PageError> {
    let now = state.clock.now();
    let page = page_number(&q.page);
    let offset = (page - 1) * PAGE_SIZE;
    let filter = instructor_filter(&q.instructor);
    let read = state.read.read();
    let (rows, total) = read.instructors.page(filter, offset, PAGE_SIZE);
    // The instructor of the row before this page: their group continues here.
    let previous = offset.checked_sub(1).and_then(|before| {
        let (row, _) = read.instructors.page(filter, before, 1);
        row.first().map(|(entry, _)| entry.name.clone())
    });
    let shown = rows.len();
    let mut groups: Vec<InstructorGroup> = Vec::new();
    for (entry, id) in rows {
        let Some(view) = read.catalog.get(id) else {
            continue;
        };
        let next = next_deadline(&view.state, now);
        let cohort = InstructorCohort {
            row: CohortRow::of(view),
            next_kind: next.map_or("", |(kind, _)| kind.label()),
            next_at: next.map(|(_, at)| display_time(at)).unwrap_or_default(),
        };
        match groups.last_mut() {
            Some(group) if group.name == entry.name => group.cohorts.push(cohort),
            _ => groups.push(InstructorGroup {
                name: entry.name.clone(),
                totals: TotalsRow::of(entry.totals),
                continued: groups.is_empty() && previous.as_deref() == Some(entry.name.as_str()),
                cohorts: vec![cohort],
            }),
        }
    }
    let instructors = read.instructors.iter().map(|e| e.name.clone()).collect();
    drop(read);
    let instructor = filter.unwrap_or_default().to_owned();
    let link = |p: usize| {
        query_link(
            "/reports/instructors",
            &[("instructor", &instructor), ("page", &p.to_string())],
        )
    };
    let pages = PageLinks {
        previous: (page > 1).then(|| link(page - 1)),
        next: (offset + shown < total).then(|| link(page + 1)),
        first_shown: if shown == 0 { 0 } else { offset + 1 },
        last_shown: offset + shown,
        total,
    };
    Ok(InstructorsPage {
        nav: Nav::of(&principal),
        tab: Tab::Instructors,
        groups,
        instructors,
        csv: query_link("/reports/instructors.csv", &[("instructor", &instructor)]),
        instructor,
        pages,
    })
}

/// `GET /reports/instructors.csv`: every row of the report (for one instructor if asked).
pub async fn instructors_csv(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<InstructorsQuery>,
) -> Response {
    let now = state.clock.now();
    let instructor = instructor_filter(&q.instructor).map(str::to_owned);
    let mut offset = 0;
    let rows = Chunks::new(state.read.clone(), move |read: &Projections| {
        let (rows, _) = read
            .instructors
            .page(instructor.as_deref(), offset, CSV_CHUNK);
        offset += rows.len();
        rows.into_iter()
            .filter_map(|(entry, id)| {
                let view = read.catalog.get(id)?;
                let c = &view.state;
                let next = next_deadline(c, now);
                let row = CohortRow::of(view);
                Some(vec![
                    entry.name.clone(),
                    c.id.to_string(),
                    c.name.clone(),
                    c.course.clone(),
                    c.status.as_str().to_owned(),
                    row.capacity.to_string(),
                    row.enrolled.to_string(),
                    row.fill_percent.to_string(),
                    row.waitlist.to_string(),
                    next.map(|(kind, _)| kind.label().to_owned())
                        .unwrap_or_default(),
                    next.map(|(_, at)| at.to_string()).unwrap_or_default(),
                ])
            })
            .collect()
    });
    csv::download(
        "cohorts-by-instructor.csv",
        &[
            "instructor",
            "cohort_id",
            "cohort",
            "course",
            "status",
            "capacity",
            "enrolled",
            "fill_percent",
            "waitlist",
            "next_deadline",
            "next_deadline_at",
        ],
        rows,
    )
}

// ---------------------------------------------------------------------------------------------
// Recent withdrawals
// ---------------------------------------------------------------------------------------------

/// One withdrawal, ready to show.
pub struct WithdrawalRow {
    pub position: u64,
    pub time: String,
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
    fn of(w: &Withdrawal, read: &Projections) -> Self {
        let view = read.catalog.get(w.cohort);
        Self {
            position: w.position,
            time: display_time(w.occurred_at),
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
            reason: super::views::shown_reason(&w.reason, w.reason_erased),
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

    /// The filter, or a message naming the field at fault.
    fn filter(&self) -> Result<WithdrawalFilter, String> {
        let text = |raw: &str| Some(raw.trim().to_owned()).filter(|t| !t.is_empty());
        Ok(WithdrawalFilter {
            from: time_bound("from", &self.from, false)?,
            to: time_bound("to", &self.to, true)?,
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

/// A date (`2026-03-01`, the whole day in UTC) or an instant (RFC 3339). A date as the upper
/// bound includes its whole day.
fn time_bound(
    field: &'static str,
    raw: &str,
    end_of_day: bool,
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
    input::parse_time(field, raw).map(Some).map_err(|_| {
        format!(
            "{field}: {raw:?} is not a date (2026-03-01) or an RFC 3339 time (2026-03-01T09:00:00Z)"
        )
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
    let (filter, error) = match q.filter() {
        Ok(filter) => (Some(filter), None),
        Err(message) => (None, Some(message)),
    };
    let read = state.read.read();
    let mut rows: Vec<WithdrawalRow> = filter.as_ref().map_or_else(Vec::new, |f| {
        read.withdrawals(f, None)
            .skip(offset)
            .take(PAGE_SIZE + 1)
            .map(|w| WithdrawalRow::of(&w, &read))
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
    let page = WithdrawalsPage {
        nav: Nav::of(&principal),
        tab: Tab::Withdrawals,
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

/// `GET /reports/withdrawals.csv`: every withdrawal the filters match, newest first.
pub async fn withdrawals_csv(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<WithdrawalsQuery>,
) -> Result<Response, PageError> {
    let filter = q.filter().map_err(PageError::BadRequest)?;
    let mut cursor: Option<WithdrawalKey> = None;
    let rows = Chunks::new(state.read.clone(), move |read: &Projections| {
        read.withdrawals(&filter, cursor)
            .take(CSV_CHUNK)
            .map(|w| {
                cursor = Some(w.key());
                WithdrawalRow::of(&w, read).cells(w.occurred_at)
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

// ---------------------------------------------------------------------------------------------
// Seat changes per ISO week
// ---------------------------------------------------------------------------------------------

/// One week, ready to show.
pub struct WeekRow {
    /// `2026-W10`.
    pub label: String,
    /// Its Monday, `2026-03-02`.
    pub monday: String,
    pub counts: WeekCounts,
}

impl WeekRow {
    fn of(monday: Date, counts: WeekCounts) -> Self {
        Self {
            label: week_label(monday),
            monday: monday.to_string(),
            counts,
        }
    }

    fn cells(&self) -> Vec<String> {
        let c = &self.counts;
        vec![
            self.label.clone(),
            self.monday.clone(),
            c.enrolled.to_string(),
            c.withdrawn.to_string(),
            c.promoted.to_string(),
            c.capacity_changes.to_string(),
            c.seats_added.to_string(),
            c.seats_removed.to_string(),
        ]
    }
}

const WEEK_HEADER: [&str; 8] = [
    "week",
    "week_start",
    "enrolled",
    "withdrawn",
    "promoted",
    "capacity_changes",
    "seats_added",
    "seats_removed",
];

/// `2026-W10`.
fn week_label(monday: Date) -> String {
    let week = monday.iso_week_date();
    format!("{}-W{:02}", week.year(), week.week())
}

/// The cohort a seat page is about.
pub struct SeatsCohort {
    pub id: String,
    pub name: String,
}

/// A seat-changes page, overall or of one cohort.
#[derive(Template, WebTemplate)]
#[template(path = "reports_seats.html")]
pub struct SeatsPage {
    pub nav: Nav,
    pub tab: Tab,
    pub cohort: Option<SeatsCohort>,
    pub rows: Vec<WeekRow>,
    pub chart: Option<Chart>,
    /// Whether any week had a change.
    pub has_data: bool,
    /// Links to earlier and later weeks.
    pub earlier: Option<String>,
    pub later: Option<String>,
    pub csv: String,
}

/// `?page=` (1 = the latest weeks).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SeatsQuery {
    page: String,
}

fn seats_page(
    nav: Nav,
    cohort: Option<SeatsCohort>,
    weeks: &std::collections::BTreeMap<Date, WeekCounts>,
    page: usize,
) -> SeatsPage {
    let window = week_page(weeks, page, WEEKS_PER_PAGE);
    let rows: Vec<WeekRow> = window
        .weeks
        .into_iter()
        .map(|(monday, counts)| WeekRow::of(monday, counts))
        .collect();
    let path = cohort.as_ref().map_or_else(
        || "/reports/seats".to_owned(),
        |c| format!("/cohorts/{}/seats", c.id),
    );
    let link = |p: usize| query_link(&path, &[("page", &p.to_string())]);
    let subject = cohort
        .as_ref()
        .map_or_else(|| "all cohorts".to_owned(), |c| c.name.clone());
    SeatsPage {
        nav,
        tab: Tab::Seats,
        chart: Chart::of(
            &rows
                .iter()
                .map(|r| (r.label.as_str(), r.counts))
                .collect::<Vec<_>>(),
            &subject,
        ),
        rows,
        has_data: window.pages > 0,
        earlier: (page < window.pages).then(|| link(page + 1)),
        later: (page > 1 && window.pages > 0).then(|| link((page - 1).min(window.pages))),
        csv: format!("{path}.csv"),
        cohort,
    }
}

/// `GET /reports/seats`: seat changes per ISO week over every cohort, 26 weeks a page, latest
/// first. Costs one lookup per week shown.
pub async fn seats(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(q): PageQuery<SeatsQuery>,
) -> SeatsPage {
    let read = state.read.read();
    seats_page(
        Nav::of(&principal),
        None,
        read.seat_weeks.overall(),
        page_number(&q.page),
    )
}

/// `GET /cohorts/{id}/seats`: one cohort's seat changes per ISO week. Costs one lookup per week
/// shown.
pub async fn cohort_seats(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    PageQuery(q): PageQuery<SeatsQuery>,
) -> Result<SeatsPage, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let read = state.read.read();
    let view = read
        .catalog
        .get(cohort)
        .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))?;
    let subject = SeatsCohort {
        id: cohort.to_string(),
        name: view.state.name.clone(),
    };
    Ok(seats_page(
        Nav::of(&principal),
        Some(subject),
        read.seat_weeks.of(cohort),
        page_number(&q.page),
    ))
}

/// Every week from the first change to the last, zeros filled in, oldest first.
fn all_weeks(weeks: &std::collections::BTreeMap<Date, WeekCounts>) -> Vec<Vec<String>> {
    week_page(weeks, 1, usize::MAX)
        .weeks
        .into_iter()
        .map(|(monday, counts)| WeekRow::of(monday, counts).cells())
        .collect()
}

/// `GET /reports/seats.csv`: every week of the overall report.
pub async fn seats_csv(State(state): State<AppState>) -> Response {
    let rows = all_weeks(state.read.read().seat_weeks.overall());
    csv::download("seat-changes.csv", &WEEK_HEADER, rows.into_iter())
}

/// `GET /cohorts/{id}/seats.csv`: every week of one cohort.
pub async fn cohort_seats_csv(
    State(state): State<AppState>,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let rows = {
        let read = state.read.read();
        if read.catalog.get(cohort).is_none() {
            return Err(PageError::NotFound(format!("no cohort {cohort}")));
        }
        all_weeks(read.seat_weeks.of(cohort))
    };
    Ok(csv::download(
        &format!("cohort-{cohort}-seat-changes.csv"),
        &WEEK_HEADER,
        rows.into_iter(),
    ))
}

/// `GET /cohorts/{id}/roster.csv`: the enrolled learners in seat order, then the waitlist in
/// order. Costs one row per learner of the cohort (at most its capacity plus its waitlist).
pub async fn roster_csv(
    State(state): State<AppState>,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let rows: Vec<Vec<String>> = {
        let read = state.read.read();
        let view = read
            .catalog
            .get(cohort)
            .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))?;
        let directory = &read.directory;
        let since = |l| {
            read.since(view, l)
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        let enrolled = view.state.enrolled.iter().enumerate().map(|(i, l)| {
            vec![
                "enrolled".to_owned(),
                (i + 1).to_string(),
                directory.key_of(*l),
                directory.name_of(*l).to_owned(),
                since(*l),
                String::new(),
            ]
        });
        let waiting = view.state.waitlist.iter().enumerate().map(|(i, e)| {
            vec![
                "waitlisted".to_owned(),
                (i + 1).to_string(),
                directory.key_of(e.learner),
                directory.name_of(e.learner).to_owned(),
                since(e.learner),
                e.joined_at_place.to_string(),
            ]
        });
        enrolled.chain(waiting).collect()
    };
    Ok(csv::download(
        &format!("cohort-{cohort}-roster.csv"),
        &[
            "status",
            "place",
            "learner",
            "name",
            "since",
            "joined_at_place",
        ],
        rows.into_iter(),
    ))
}
