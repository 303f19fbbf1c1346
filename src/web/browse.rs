//! Browsing pages: the event browser (`/events` and its CSV, `/events.csv`), what changed in a
//! cohort between two points (`/cohorts/{id}/diff`), and search (`/search`).
//!
//! GET only, never a write. Each page reads the projections' event index and search index (see
//! `projections/event_index.rs`, `search.rs`, `diff.rs`) under the read lock and copies out
//! only the rows it shows; the diff also folds the cohort's stream at its two points, off the
//! async threads. None of them scans the event log or the store per request.

use std::collections::VecDeque;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::csv;
use super::error::PageError;
use super::extract::{Acting, PagePath, PageQuery};
use super::input;
use super::name_match::{self, Match};
use super::nav::Nav;
use super::views::{CohortRow, HistoryRow};
use super::zone::{When, Zone};
use crate::domain::{CohortId, CohortStatus, Event, LearnerId};
use crate::projections::{
    AsOf, COHORT_FIELDS, CohortDiff, CohortView, Cursor, EventFilter, EventPage, LEARNER_FIELDS,
    MIN_SUBSTRING, Projections, ReadModel,
};

/// Events per page of the browser, unless `?limit=` says otherwise.
const PAGE_SIZE: usize = 50;
/// The most events one page shows.
const MAX_PAGE_SIZE: usize = 200;
/// The most rows one CSV download holds.
pub const MAX_CSV_ROWS: usize = 100_000;
/// Rows a CSV download copies out per hold of the read lock.
const CSV_CHUNK: usize = 512;
/// Events listed between the two points of a diff.
const MAX_DIFF_EVENTS: usize = 500;
/// Results of each kind a search shows.
const SEARCH_LIMIT: usize = 20;
/// The longest query looked for, in characters.
const MAX_QUERY: usize = 200;

// ---- event browser --------------------------------------------------------------------------

/// The event browser's query string, as typed.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EventsQuery {
    #[serde(rename = "type")]
    event_type: String,
    cohort: String,
    learner: String,
    actor: String,
    from: String,
    to: String,
    correlation: String,
    before: String,
    after: String,
    limit: String,
}

impl EventsQuery {
    /// The filter fields (not the cursor), trimmed, for links and the form.
    fn filter_params(&self) -> Vec<(&'static str, &str)> {
        [
            ("type", self.event_type.as_str()),
            ("cohort", self.cohort.as_str()),
            ("learner", self.learner.as_str()),
            ("actor", self.actor.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("correlation", self.correlation.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }
}

/// A checked event-browser query.
struct Parsed {
    filter: EventFilter,
    cursor: Cursor,
    limit: usize,
    /// A cohort or learner name matched none or several: nothing is shown, this says why.
    unresolved: Option<String>,
    /// What to pick instead: (field, value for it, label).
    choices: Vec<(&'static str, String, String)>,
}

/// Parses the query, naming every field that is wrong. A cohort may be named by its id, its
/// name or the beginning of one name; a learner by key, id or name.
fn parse_events(q: &EventsQuery, read: &Projections, zone: &Zone) -> Result<Parsed, Vec<String>> {
    let mut errors = Vec::new();
    let mut filter = EventFilter::default();
    match q.event_type.trim() {
        "" => {}
        name => match Event::TYPE_NAMES.iter().find(|t| **t == name) {
            Some(t) => filter.event_type = Some(t),
            None => errors.push(format!(
                "type: {name:?} is not an event type; use one of {}",
                Event::TYPE_NAMES.join(", ")
            )),
        },
    }
    let (unresolved, choices) = resolve_names(q, read, zone, &mut filter);
    filter.actor = Some(q.actor.trim().to_owned()).filter(|a| !a.is_empty());
    let mut time = |field: &'static str, raw: &str| match raw.trim() {
        "" => None,
        raw => input::parse_time(field, raw, zone)
            .map_err(|e| errors.push(e.to_string()))
            .ok(),
    };
    filter.from = time("from", &q.from);
    filter.to = time("to", &q.to);
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from > to {
            errors.push("from: must not be after to".to_owned());
        }
    }
    match q.correlation.trim() {
        "" => {}
        raw => match Uuid::parse_str(raw) {
            Ok(id) => filter.correlation = Some(id),
            Err(_) => errors.push(format!("correlation: {raw:?} is not a correlation id")),
        },
    }
    let mut position = |field: &str, raw: &str| match raw.trim() {
        "" => None,
        raw => raw
            .parse::<u64>()
            .map_err(|_| errors.push(format!("{field}: must be an event position, e.g. 120")))
            .ok(),
    };
    let cursor = match (position("before", &q.before), position("after", &q.after)) {
        (Some(before), _) => Cursor::Before(before),
        (None, Some(after)) => Cursor::After(after),
        (None, None) => Cursor::Newest,
    };
    let limit = match q.limit.trim() {
        "" => PAGE_SIZE,
        raw => raw.parse::<usize>().map_or_else(
            |_| {
                errors.push(format!(
                    "limit: must be a number of events from 1 to {MAX_PAGE_SIZE}"
                ));
                PAGE_SIZE
            },
            |n| n.clamp(1, MAX_PAGE_SIZE),
        ),
    };
    if errors.is_empty() {
        Ok(Parsed {
            filter,
            cursor,
            limit,
            unresolved: (!unresolved.is_empty()).then(|| unresolved.join(" ")),
            choices,
        })
    } else {
        Err(errors)
    }
}

/// Reads the cohort and learner filters, which may name them ([`name_match`]): sets the ones
/// that name exactly one, and for the others says why nothing is shown and what to pick
/// instead: (field, value, label).
fn resolve_names(
    q: &EventsQuery,
    read: &Projections,
    zone: &Zone,
    filter: &mut EventFilter,
) -> (Vec<String>, Vec<(&'static str, String, String)>) {
    let mut unresolved: Vec<String> = Vec::new();
    let mut choices = Vec::new();
    let cohort_choice = |id: CohortId| {
        let label = read.catalog.get(id).map_or_else(
            || id.to_string(),
            |v| {
                format!(
                    "{} ({}, starts {})",
                    v.state.name,
                    v.state.instructor,
                    zone.show(v.state.starts_at)
                )
            },
        );
        ("cohort", id.to_string(), label)
    };
    match q.cohort.trim() {
        "" => {}
        raw => match name_match::cohort(read, raw) {
            Match::One(id) => filter.cohort = Some(id),
            Match::Several(ids) => {
                unresolved.push(format!(
                    "Several cohorts match \u{201c}{raw}\u{201d}: pick one."
                ));
                choices.extend(ids.into_iter().map(cohort_choice));
            }
            Match::Nothing(near) => {
                unresolved.push(if near.is_empty() {
                    format!("No cohort is named \u{201c}{raw}\u{201d}.")
                } else {
                    format!("No cohort is named \u{201c}{raw}\u{201d}. Nearest names:")
                });
                choices.extend(near.into_iter().map(cohort_choice));
            }
        },
    }
    let learner_choice = |id: LearnerId| {
        let key = read.directory.key_of(id);
        let name = read.directory.name_of(id);
        let label = if name.is_empty() {
            key.clone()
        } else {
            format!("{name} ({key})")
        };
        ("learner", key, label)
    };
    match q.learner.trim() {
        "" => {}
        raw => match name_match::learner(read, raw) {
            Match::One(id) => filter.learner = Some(id),
            Match::Several(ids) => {
                unresolved.push(format!(
                    "Several learners match \u{201c}{raw}\u{201d}: pick one."
                ));
                choices.extend(ids.into_iter().map(learner_choice));
            }
            Match::Nothing(near) => {
                unresolved.push(if near.is_empty() {
                    format!("No learner \u{201c}{raw}\u{201d} is on file, by key or name.")
                } else {
                    format!(
                        "No learner \u{201c}{raw}\u{201d} is on file, by key or name. Learners whose key or name contains it:"
                    )
                });
                choices.extend(near.into_iter().map(learner_choice));
            }
        },
    }
    (unresolved, choices)
}

/// One event in the browser or the diff, ready to show.
pub struct EventRow {
    /// Position, time, type, learner, actor, reason and what changed.
    pub line: HistoryRow,
    pub cohort_id: String,
    pub cohort_name: String,
    pub correlation: String,
    /// How many events share the correlation id (this one included).
    pub correlated: usize,
    /// When it happened, absolute and relative (filled by the pages that show it).
    pub when: When,
}

impl EventRow {
    /// The row of the event at `position`, from the event index and the cohort's history.
    fn of(position: u64, read: &Projections, zone: &Zone) -> Option<Self> {
        let event = read.events.event(position)?;
        let entry = read
            .history
            .entry_at(event.cohort, position, &read.events)?;
        Some(Self {
            line: HistoryRow::of(&entry, &read.directory, zone),
            cohort_id: event.cohort.to_string(),
            cohort_name: cohort_name(read, event.cohort),
            correlation: event.correlation.to_string(),
            correlated: read.events.correlated(position),
            when: When::default(),
        })
    }
}

fn cohort_name(read: &Projections, cohort: crate::domain::CohortId) -> String {
    read.catalog
        .get(cohort)
        .map_or_else(|| cohort.to_string(), |c| c.state.name.clone())
}

/// What the filter form shows again.
#[derive(Default)]
pub struct EventsForm {
    pub event_type: String,
    pub cohort: String,
    pub learner: String,
    pub actor: String,
    pub from: String,
    pub to: String,
    pub correlation: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "events.html")]
pub struct EventsPage {
    pub nav: Nav,
    pub form: EventsForm,
    pub types: &'static [&'static str],
    pub rows: Vec<EventRow>,
    /// Why the query was refused.
    pub errors: Vec<String>,
    /// Why nothing is shown (a name that matched none or several).
    pub note: Option<String>,
    /// What to pick instead: (label, link).
    pub choices: Vec<(String, String)>,
    /// The filters applied, each with the link that drops it: (label, link).
    pub chips: Vec<(String, String)>,
    /// Cohort names to suggest, newest first.
    pub cohort_names: Vec<String>,
    /// "Events 2,652–3,999 of 3,999, newest first".
    pub caption: String,
    /// The zone's abbreviation, for the time fields' labels.
    pub zone_abbr: String,
    pub newer: Option<String>,
    pub older: Option<String>,
    /// Back to the newest page, when paging.
    pub newest: Option<String>,
    /// The CSV download of the same filters.
    pub csv: String,
    pub filtered: bool,
    /// Events in the log.
    pub total: usize,
    pub max_csv: usize,
}

/// A link to the browser with `params` (already trimmed) plus extra pairs.
fn events_link(path: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> String {
    let pairs: Vec<(&str, &str)> = params.iter().chain(extra).copied().collect();
    if pairs.is_empty() {
        return path.to_owned();
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// `GET /events`: the event log, newest first, filtered and paged by position.
pub async fn events(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(q): PageQuery<EventsQuery>,
) -> Response {
    let read = state.read.read();
    let params = q.filter_params();
    let form = EventsForm {
        event_type: q.event_type.trim().to_owned(),
        cohort: q.cohort.trim().to_owned(),
        learner: q.learner.trim().to_owned(),
        actor: q.actor.trim().to_owned(),
        from: q.from.trim().to_owned(),
        to: q.to.trim().to_owned(),
        correlation: q.correlation.trim().to_owned(),
    };
    let mut page = EventsPage {
        nav: Nav::of(&principal, &state.zone),
        form,
        types: &Event::TYPE_NAMES,
        rows: Vec::new(),
        errors: Vec::new(),
        note: None,
        choices: Vec::new(),
        chips: Vec::new(),
        cohort_names: name_match::cohort_suggestions(&read),
        caption: String::new(),
        zone_abbr: state.zone.abbreviation(state.clock.now()),
        newer: None,
        older: None,
        newest: None,
        csv: events_link("/events.csv", &params, &[]),
        filtered: !params.is_empty(),
        total: read.events.len(),
        max_csv: MAX_CSV_ROWS,
    };
    let parsed = match parse_events(&q, &read, &state.zone) {
        Ok(parsed) => parsed,
        Err(errors) => {
            page.errors = errors;
            drop(read);
            return (StatusCode::BAD_REQUEST, page).into_response();
        }
    };
    page.chips = chips(&params, &parsed.filter, &read);
    let found = if let Some(why) = &parsed.unresolved {
        page.note = Some(why.clone());
        page.choices = parsed
            .choices
            .iter()
            .map(|(field, value, label)| {
                let mut pairs: Vec<(&str, &str)> =
                    params.iter().copied().filter(|(k, _)| k != field).collect();
                pairs.push((field, value));
                (label.clone(), events_link("/events", &pairs, &[]))
            })
            .collect();
        EventPage::default()
    } else {
        read.event_page(&parsed.filter, parsed.cursor, parsed.limit)
    };
    let now = state.clock.now();
    page.rows = found
        .positions
        .iter()
        .filter_map(|p| {
            let mut row = EventRow::of(*p, &read, &state.zone)?;
            row.when = state.zone.when(read.events.occurred_at(*p)?, now);
            Some(row)
        })
        .collect();
    page.caption = caption(&found.positions, page.filtered, page.total);
    drop(read);
    let limit = parsed.limit.to_string();
    let mut paging: Vec<(&str, &str)> = Vec::new();
    if parsed.limit != PAGE_SIZE {
        paging.push(("limit", &limit));
    }
    let link = |key: &str, position: u64| {
        let position = position.to_string();
        let mut extra = paging.clone();
        extra.push((key, &position));
        events_link("/events", &params, &extra)
    };
    if let (Some(first), Some(last)) = (found.positions.first(), found.positions.last()) {
        page.newer = found.newer.then(|| link("after", *first));
        page.older = found.older.then(|| link("before", *last));
    }
    if parsed.cursor != Cursor::Newest {
        page.newest = Some(events_link("/events", &params, &paging));
    }
    super::views::render_sized(&page, 96 << 10)
}

/// The applied filters as chips: what each filters by, in words, and the link without it.
fn chips(
    params: &[(&str, &str)],
    filter: &EventFilter,
    read: &Projections,
) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(key, value)| {
            let label = match *key {
                "type" => format!("Type: {value}"),
                "cohort" => format!(
                    "Cohort: {}",
                    filter
                        .cohort
                        .and_then(|c| read.catalog.get(c))
                        .map_or_else(|| (*value).to_owned(), |v| v.state.name.clone())
                ),
                "learner" => format!(
                    "Learner: {}",
                    filter.learner.map_or_else(
                        || (*value).to_owned(),
                        |l| {
                            let name = read.directory.name_of(l);
                            let key = read.directory.label_of(l);
                            if name.is_empty() {
                                key
                            } else {
                                format!("{name} ({key})")
                            }
                        }
                    )
                ),
                "actor" => format!("By: {value}"),
                "from" => format!("From: {value}"),
                "to" => format!("To: {value}"),
                "correlation" => "One command's events".to_owned(),
                other => format!("{other}: {value}"),
            };
            let rest: Vec<(&str, &str)> =
                params.iter().copied().filter(|(k, _)| k != key).collect();
            (label, events_link("/events", &rest, &[]))
        })
        .collect()
}

/// A number with thousands separated: `3,999`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The caption of a page of events (`positions` newest first): "Events 2,652–3,999 of 3,999,
/// newest first", or for filtered events "12 matching events, #2,652 to #3,999, newest first".
fn caption(positions: &[u64], filtered: bool, total: usize) -> String {
    let (Some(&newest), Some(&oldest)) = (positions.first(), positions.last()) else {
        return String::new();
    };
    let n = positions.len();
    match (filtered, n) {
        (false, 1) => format!("Event {} of {}", grouped(newest), grouped(total as u64)),
        (false, _) => format!(
            "Events {}\u{2013}{} of {}, newest first",
            grouped(oldest),
            grouped(newest),
            grouped(total as u64)
        ),
        (true, 1) => format!("1 matching event, #{}", grouped(newest)),
        (true, _) => format!(
            "{n} matching events, #{} to #{}, newest first",
            grouped(oldest),
            grouped(newest)
        ),
    }
}

/// `GET /events.csv`: the events matching the browser's filters, newest first, at most
/// [`MAX_CSV_ROWS`] (a response cut there says so in an `X-Rollbook-Truncated` header).
/// Streams: the matching positions are found once (8 bytes each), then rows are copied out a
/// chunk at a time, each under a short hold of the read lock.
pub async fn events_csv(
    State(state): State<AppState>,
    Acting(_): Acting,
    PageQuery(q): PageQuery<EventsQuery>,
) -> Result<Response, PageError> {
    let (positions, truncated) = {
        let read = state.read.read();
        let parsed = parse_events(&q, &read, &state.zone)
            .map_err(|errors| PageError::BadRequest(errors.join("; ")))?;
        let mut positions = if parsed.unresolved.is_some() {
            Vec::new()
        } else {
            read.walk_events(&parsed.filter, Cursor::Newest, MAX_CSV_ROWS + 1)
        };
        let truncated = positions.len() > MAX_CSV_ROWS;
        positions.truncate(MAX_CSV_ROWS);
        (positions, truncated)
    };
    let rows = CsvRows {
        read: state.read.clone(),
        positions: positions.into_iter(),
        buffer: VecDeque::new(),
        zone: state.zone.clone(),
    };
    let mut response = csv::download("events.csv", &CSV_HEADER, rows);
    if truncated {
        response.headers_mut().insert(
            "x-rollbook-truncated",
            HeaderValue::from_static("first 100000 rows only"),
        );
    }
    Ok(response)
}

const CSV_HEADER: [&str; 10] = [
    "position",
    "occurred_at",
    "type",
    "cohort_id",
    "cohort_name",
    "learner",
    "actor",
    "reason",
    "changes",
    "correlation_id",
];

/// The rows of a CSV download, copied out of the projections a chunk at a time.
struct CsvRows {
    read: Arc<ReadModel>,
    positions: std::vec::IntoIter<u64>,
    buffer: VecDeque<Vec<String>>,
    /// The zone [`EventRow`] shows times in (the CSV itself writes RFC 3339).
    zone: Zone,
}

impl Iterator for CsvRows {
    type Item = Vec<String>;

    fn next(&mut self) -> Option<Vec<String>> {
        while self.buffer.is_empty() {
            let chunk: Vec<u64> = self.positions.by_ref().take(CSV_CHUNK).collect();
            if chunk.is_empty() {
                return None;
            }
            let read = self.read.read();
            self.buffer.extend(
                chunk
                    .into_iter()
                    .filter_map(|p| csv_row(p, &read, &self.zone)),
            );
        }
        self.buffer.pop_front()
    }
}

fn csv_row(position: u64, read: &Projections, zone: &Zone) -> Option<Vec<String>> {
    let event = read.events.event(position)?;
    let row = EventRow::of(position, read, zone)?;
    Some(vec![
        position.to_string(),
        event.occurred_at.to_string(),
        event.event_type.to_owned(),
        row.cohort_id,
        row.cohort_name,
        row.line.learner,
        row.line.actor,
        row.line.reason,
        row.line.changes.join("; "),
        row.correlation,
    ])
}

// ---- diff -----------------------------------------------------------------------------------

/// The two points of a diff, as typed.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DiffQuery {
    from: String,
    to: String,
}

/// A learner in a diff, with what happened to them.
pub struct DiffPerson {
    pub key: String,
    pub name: String,
    pub note: String,
}

/// A number or status, then and now.
pub struct DiffFact {
    pub label: &'static str,
    pub then: String,
    pub now: String,
}

impl DiffFact {
    pub fn changed(&self) -> bool {
        self.then != self.now
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "diff.html")]
pub struct DiffPage {
    pub nav: Nav,
    pub id: String,
    pub name: String,
    pub from_label: String,
    pub to_label: String,
    pub from_input: String,
    pub to_input: String,
    pub created: bool,
    pub unchanged: bool,
    pub facts: Vec<DiffFact>,
    pub seated: Vec<DiffPerson>,
    pub promoted: Vec<DiffPerson>,
    pub unseated: Vec<DiffPerson>,
    pub joined: Vec<DiffPerson>,
    pub left: Vec<DiffPerson>,
    pub moved: Vec<DiffPerson>,
    /// The events between the two points, oldest first.
    pub events: Vec<HistoryRow>,
    /// Events between the points not listed.
    pub more_events: usize,
}

/// A point of a diff: empty means `default`.
fn point(field: &str, raw: &str, default: AsOf, zone: &Zone) -> Result<AsOf, PageError> {
    match raw.trim() {
        "" => Ok(default),
        raw => super::cohorts::parse_point(raw, zone)
            .map_err(|e| PageError::BadRequest(format!("{field}: {e}"))),
    }
}

/// A point in words, given the cohort as it was there.
fn point_words(point: AsOf, view: Option<&CohortView>, zone: &Zone) -> String {
    let Some(view) = view else {
        return "before the cohort was created".to_owned();
    };
    match point {
        AsOf::Position(u64::MAX) => {
            format!("now (event {}, version {})", view.position, view.version)
        }
        AsOf::Position(p) => format!("after event {p} (version {})", view.version),
        AsOf::Time(t) => format!("at {} (version {})", zone.show(t), view.version),
    }
}

fn status_words(status: Option<CohortStatus>) -> String {
    status.map_or_else(|| "—".to_owned(), |s| s.as_str().to_owned())
}

/// `GET /cohorts/{id}/diff?from=…&to=…`: what changed between two points (event positions or
/// RFC 3339 times; `from` defaults to before the cohort existed, `to` to now), and the events
/// in between with who did them.
pub async fn diff(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    PageQuery(q): PageQuery<DiffQuery>,
) -> Result<DiffPage, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let from = point("from", &q.from, AsOf::Position(0), &state.zone)?;
    let to = point("to", &q.to, AsOf::Position(u64::MAX), &state.zone)?;
    if state.read.read().catalog.get(cohort).is_none() {
        return Err(PageError::NotFound(format!("no cohort {cohort}")));
    }
    let fold = |point| {
        let state = state.clone();
        async move {
            state
                .cohort_as_of(cohort, point)
                .await
                .map_err(|e| PageError::internal("time travel", &e))
        }
    };
    let mut then = (from, fold(from).await?);
    let mut now = (to, fold(to).await?);
    let at = |v: &Option<CohortView>| v.as_ref().map_or(0, |v| v.position);
    if at(&then.1) > at(&now.1) {
        std::mem::swap(&mut then, &mut now);
    }
    let (from_label, to_label) = (
        point_words(then.0, then.1.as_ref(), &state.zone),
        point_words(now.0, now.1.as_ref(), &state.zone),
    );
    let (then, now) = (
        then.1,
        now.1.ok_or_else(|| {
            PageError::NotFound(format!("cohort {cohort} did not exist yet at either point"))
        })?,
    );
    let read = state.read.read();
    Ok(diff_page(
        &read,
        Nav::of(&principal, &state.zone),
        &q,
        (from_label, to_label),
        then.as_ref(),
        &now,
    ))
}

/// The diff page of two states of one cohort (`then` is `None` before its creation).
fn diff_page(
    read: &Projections,
    nav: Nav,
    q: &DiffQuery,
    (from_label, to_label): (String, String),
    then: Option<&CohortView>,
    now: &CohortView,
) -> DiffPage {
    let cohort = now.state.id;
    let zone = nav.zone.clone();
    let diff = CohortDiff::between(then, now);
    let person = |learner: LearnerId, note: String| DiffPerson {
        key: read.directory.key_of(learner),
        name: read.directory.name_of(learner).to_owned(),
        note,
    };
    let people = |learners: &[LearnerId], note: &str| -> Vec<DiffPerson> {
        learners
            .iter()
            .map(|l| person(*l, note.to_owned()))
            .collect()
    };
    let history = read.history.of(cohort);
    let start = history.partition_point(|p| p <= then.map_or(0, |v| v.position));
    let end = history.partition_point(|p| p <= now.position);
    let between = end.saturating_sub(start);
    let facts = vec![
        DiffFact {
            label: "Seats",
            then: diff.capacity.0.to_string(),
            now: diff.capacity.1.to_string(),
        },
        DiffFact {
            label: "Enrolled",
            then: diff.enrolled.0.to_string(),
            now: diff.enrolled.1.to_string(),
        },
        DiffFact {
            label: "Waitlist",
            then: diff.waitlist.0.to_string(),
            now: diff.waitlist.1.to_string(),
        },
        DiffFact {
            label: "Enrollment",
            then: status_words(diff.status.0),
            now: status_words(Some(diff.status.1)),
        },
    ];
    DiffPage {
        nav,
        id: cohort.to_string(),
        name: now.state.name.clone(),
        from_label,
        to_label,
        from_input: q.from.trim().to_owned(),
        to_input: q.to.trim().to_owned(),
        created: diff.created,
        unchanged: diff.is_empty(),
        facts,
        seated: people(&diff.seated, "enrolled"),
        promoted: people(&diff.promoted, "promoted from the waitlist"),
        unseated: people(&diff.unseated, "withdrawn"),
        joined: diff
            .joined
            .iter()
            .map(|(l, place)| person(*l, format!("now at place {place}")))
            .collect(),
        left: diff
            .left
            .iter()
            .map(|(l, place)| person(*l, format!("was at place {place}")))
            .collect(),
        moved: diff
            .moved
            .iter()
            .map(|(l, then, now)| person(*l, format!("place {then} → {now}")))
            .collect(),
        events: read
            .history_entries(cohort, start..start + between.min(MAX_DIFF_EVENTS))
            .iter()
            .map(|h| HistoryRow::of(h, &read.directory, &zone))
            .collect(),
        more_events: between.saturating_sub(MAX_DIFF_EVENTS),
    }
}

// ---- search ---------------------------------------------------------------------------------

/// The search box's query.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
}

/// A cohort found, and how.
pub struct CohortHit {
    pub row: CohortRow,
    pub matched: String,
}

/// A learner found, and how.
pub struct LearnerHit {
    pub key: String,
    pub name: String,
    pub matched: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub nav: Nav,
    pub q: String,
    pub cohorts: Vec<CohortHit>,
    pub learners: Vec<LearnerHit>,
    pub more_cohorts: bool,
    pub more_learners: bool,
    pub limit: usize,
    pub min_substring: usize,
}

/// `GET /search?q=`: cohorts by name, course or instructor and learners by key or name, best
/// matches first (exact, then prefix, then a word's prefix, then anywhere inside).
pub async fn search(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(query): PageQuery<SearchQuery>,
) -> SearchPage {
    let q: String = query.q.trim().chars().take(MAX_QUERY).collect();
    let read = state.read.read();
    let found = read.search.search(&q, SEARCH_LIMIT);
    let matched = |fields: &[&str], field: usize, rank: crate::projections::Rank| {
        format!(
            "{}: {}",
            fields.get(field).copied().unwrap_or_default(),
            rank.describe()
        )
    };
    let cohorts = found
        .cohorts
        .iter()
        .filter_map(|hit| {
            read.catalog.get(hit.id).map(|view| CohortHit {
                row: CohortRow::of(view, &state.zone, state.clock.now()),
                matched: matched(&COHORT_FIELDS, hit.field, hit.rank),
            })
        })
        .collect();
    let learners = found
        .learners
        .iter()
        .map(|hit| LearnerHit {
            key: read.directory.key_of(hit.id),
            name: read.directory.name_of(hit.id).to_owned(),
            matched: matched(&LEARNER_FIELDS, hit.field, hit.rank),
        })
        .collect();
    SearchPage {
        nav: Nav::of(&principal, &state.zone),
        q,
        cohorts,
        learners,
        more_cohorts: found.more_cohorts,
        more_learners: found.more_learners,
        limit: SEARCH_LIMIT,
        min_substring: MIN_SUBSTRING,
    }
}
