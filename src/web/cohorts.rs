//! The cohort pages and the forms that post to them: the new-cohort form, a cohort's page and
//! history, its commands (Post/Redirect/Get; a refused form is rendered again with 422 and the
//! rule's message beside it), and its roster as CSV.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::csv;
use super::error::{PageError, describe};
use super::extract::{Acting, PagePath, PageQuery};
use super::input::{self, RawNumber};
use super::nav::Nav;
use super::offer_views::{DoneEvent, OfferPanel};
use super::views::{
    AsOfBanner, CohortDetail, CohortPage, CommandForm, CommandValues, DoneFact, Headline,
    HistoryPage, HistoryRow, JournalRow, TermForms, headline,
};
use crate::auth::Principal;
use crate::domain::{CohortId, RuleViolation};
use crate::projections::AsOf;
use crate::writer::{CommandError, Committed, Request};

/// History lines shown on the cohort page.
const RECENT: usize = 10;
/// History lines per page of the history page.
const HISTORY_PAGE: usize = 200;

pub(super) fn form_or_400<T>(form: Result<Form<T>, FormRejection>) -> Result<T, PageError> {
    form.map(|Form(f)| f).map_err(|e| match e {
        FormRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            PageError::TooLarge
        }
        e => PageError::BadRequest(format!("the form could not be read: {}", e.body_text())),
    })
}

/// Where a successful form redirects: the cohort page, confirming the command's own events
/// (`?done=<first position>-<last position>`).
pub(super) fn done_url(done: &Committed) -> String {
    let first = done.events.first().map_or(0, |e| e.position);
    format!("/cohorts/{}?done={first}-{}", done.cohort, done.position())
}

/// Reads `?done=F-L` (or a single position).
fn done_range(raw: &str) -> Option<(u64, u64)> {
    let raw = raw.trim();
    let (first, last) = raw.split_once('-').unwrap_or((raw, raw));
    let (first, last) = (first.parse().ok()?, last.parse().ok()?);
    (first <= last).then_some((first, last))
}

pub(super) fn command_page_error(error: CommandError) -> PageError {
    match error {
        CommandError::Stopped => PageError::Unavailable,
        CommandError::Store(e) if e.is_storage_failure() => {
            tracing::error!(error = %e, "command not stored");
            PageError::StorageUnavailable
        }
        CommandError::Rejected(RuleViolation::CohortNotFound { cohort }) => {
            PageError::NotFound(format!("no cohort {cohort}"))
        }
        other => PageError::internal("command failed", &other),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CohortQuery {
    as_of: String,
    done: String,
    /// The form the command just done (or refused) came from: it takes the focus.
    form: String,
    /// A refused form kept across the redirect (its token in the flash store).
    refused: String,
    /// `all`: list every roster and waitlist row.
    roster: String,
    /// A learner to mark in the roster or waitlist (from the learner page's links).
    learner: String,
    /// A bulk enrollment just applied (its kept summary's token).
    bulk: String,
}

/// What a cohort page shows besides the cohort: the point in time, the command just done, a
/// refused form, and how the lists are cut.
#[derive(Default)]
struct Shown {
    as_of: Option<AsOf>,
    done: Option<(u64, u64)>,
    error: Option<(CommandForm, String)>,
    values: CommandValues,
    focus: Option<CommandForm>,
    roster_all: bool,
    learner: String,
}

/// `GET /cohorts/{id}[?as_of=…]`: roster, waitlist, command forms, recent history; or the
/// cohort as it was at a point in history.
pub async fn cohort(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    PageQuery(q): PageQuery<CohortQuery>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let as_of = match q.as_of.trim() {
        "" => None,
        raw => Some(parse_point(raw, &state.zone).map_err(PageError::BadRequest)?),
    };
    let refusal = super::flash::take(q.refused.trim(), &principal, cohort, state.clock.now());
    let done = done_range(&q.done);
    let focus = refusal
        .as_ref()
        .map(|r| r.form)
        .or_else(|| done.and_then(|_| CommandForm::ALL.into_iter().find(|f| f.name() == q.form)));
    let (error, values) = match refusal {
        Some(r) => (Some((r.form, r.message)), r.values),
        None => (None, CommandValues::default()),
    };
    let learner = match q.learner.trim() {
        "" => String::new(),
        raw => input::learner("learner", raw).map_or_else(|_| raw.to_owned(), |k| k.to_string()),
    };
    let shown = Shown {
        as_of,
        done,
        error,
        values,
        focus,
        roster_all: q.roster == "all",
        learner,
    };
    let mut page = render_cohort(&state, &principal, cohort, shown).await?;
    page.bulk = super::bulk::applied(&q.bulk, &principal, cohort);
    Ok(page.into_response())
}

/// A point in a cohort's history as people type it: an event number, or a time as pages show
/// it (`2026-03-01 10:00`, with or without the zone, or RFC 3339).
pub(super) fn parse_point(raw: &str, zone: &super::zone::Zone) -> Result<AsOf, String> {
    let raw = raw.trim();
    if let Ok(point) = raw.parse::<AsOf>() {
        return Ok(point);
    }
    input::parse_time("as_of", raw, zone)
        .map(AsOf::Time)
        .map_err(|_| {
            format!(
                "{raw:?} is neither an event number nor a time: write e.g. 2026-03-01 10:00 (in {}) or 3385",
                zone.name()
            )
        })
}

/// The command just done, the entries `start..end` of the cohort's history: its headline in
/// plain words and its events as rows (none without one).
fn just_done(
    read: &crate::projections::Projections,
    cohort: CohortId,
    span: Option<(usize, usize)>,
    zone: &super::zone::Zone,
    now: jiff::Timestamp,
) -> (Headline, Vec<HistoryRow>) {
    let Some((start, end)) = span else {
        return (Headline::default(), Vec::new());
    };
    let entries = read.history_entries(cohort, start..end);
    let rows: Vec<HistoryRow> = entries
        .iter()
        .map(|h| HistoryRow::at(h, &read.directory, zone, now))
        .collect();
    let facts: Vec<DoneFact<'_>> = entries
        .iter()
        .zip(&rows)
        .map(|(h, r)| DoneFact {
            event_type: h.event_type,
            who: learner_words(read, h, &r.learner_label),
            after: h.after,
        })
        .collect();
    let headline = headline(&facts);
    (headline, rows.into_iter().take(RECENT).collect())
}

/// How a confirmation names the learner of `entry`: their name when on file, else `label`.
fn learner_words<'a>(
    read: &'a crate::projections::Projections,
    entry: &crate::projections::HistoryEntry,
    label: &'a str,
) -> &'a str {
    entry
        .learner
        .map(|l| read.directory.name_of(l))
        .filter(|n| !n.is_empty())
        .unwrap_or(label)
}

/// An event in plain words, for the time-travel banner ("Ana Lima was enrolled").
fn event_words(
    read: &crate::projections::Projections,
    entry: &crate::projections::HistoryEntry,
    zone: &super::zone::Zone,
) -> String {
    let label = entry
        .learner
        .map(|l| read.directory.label_of(l))
        .unwrap_or_default();
    let who = learner_words(read, entry, &label);
    let a = entry.after;
    match entry.event_type {
        "cohort.created" => "the cohort was created".to_owned(),
        "student.enrolled" => format!(
            "{who} was enrolled ({} of {} seats taken)",
            a.enrolled, a.capacity
        ),
        "student.waitlisted" => format!("{who} joined the waitlist at place {}", a.waitlist),
        "student.withdrawn" => format!("{who} withdrew"),
        "waitlist.left" => format!("{who} left the waitlist"),
        "waitlist.promoted" => format!("{who} was promoted from the waitlist"),
        "cohort.capacity_changed" => format!("seats were set to {}", a.capacity),
        "enrollment.closed" => "enrollment was closed".to_owned(),
        "enrollment.reopened" => "enrollment was reopened".to_owned(),
        other => {
            let summary = super::views::HistoryRow::of(entry, &read.directory, zone).summary;
            if summary.is_empty() {
                other.to_owned()
            } else {
                summary
            }
        }
    }
}

/// Builds the cohort page, current or as of a point, with an optional refused form.
async fn render_cohort(
    state: &AppState,
    principal: &Principal,
    cohort: CohortId,
    shown: Shown,
) -> Result<CohortPage, PageError> {
    let Shown {
        as_of,
        done,
        error,
        values,
        focus,
        roster_all,
        learner,
    } = shown;
    let past = match as_of {
        None => None,
        Some(point) => Some(past_view(state, cohort, point).await?),
    };
    let now = state.clock.now();
    // Only staff see the cancel form, and only on the cohort as it is now.
    let releases = (as_of.is_none() && principal.role.allows(crate::auth::Role::Staff))
        .then(|| cancel_preview(state, cohort, now))
        .flatten();
    let read = state.read.read();
    let current = read
        .catalog
        .get(cohort)
        .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))?;
    let view = past.as_ref().unwrap_or(current);
    let history = read.history.of(cohort);
    let mut term = TermForms::of(view, &state.zone, now, &values.term);
    if let Some(releases) = releases {
        term.releases = releases;
    }
    if view.state.status == crate::domain::CohortStatus::Cancelled {
        term.cancelled = Some(cancelled_words(&read, cohort, view.position));
    }
    let closed_by = (view.state.status == crate::domain::CohortStatus::Closed)
        .then(|| newest_of(&read, cohort, view.position, "enrollment.closed"))
        .flatten()
        .map(|entry| (entry.actor, state.zone.when(entry.occurred_at, now)));
    let shown_count = history.partition_point(|p| p <= view.position);
    let recent = read
        .history_entries(cohort, shown_count.saturating_sub(RECENT)..shown_count)
        .iter()
        .rev()
        .map(|h| HistoryRow::at(h, &read.directory, &state.zone, now))
        .collect();
    let span = done.map(|(first, last)| {
        (
            history.partition_point(|p| p < first),
            history.partition_point(|p| p <= last),
        )
    });
    // A past page confirms nothing and focuses nothing.
    let (headline, done) = match as_of {
        None => just_done(&read, cohort, span, &state.zone, now),
        Some(_) => (Headline::default(), Vec::new()),
    };
    let as_of_banner =
        as_of.map(|point| as_of_banner(&read, cohort, point, shown_count, &state.zone, now));
    let refused = read
        .journal
        .of_cohort(cohort, RECENT)
        .into_iter()
        .map(|(_, e)| JournalRow::of(e, &read, &state.zone, state.clock.now()))
        .collect();
    let learner_query = Some(&learner)
        .filter(|l| !l.is_empty())
        .map_or_else(String::new, |l| {
            format!("&learner={}", urlencoding_strict(l))
        });
    Ok(CohortPage {
        nav: Nav::of(principal, &state.zone),
        refused,
        offers: OfferPanel::of(
            view,
            &read,
            &state.zone,
            state.clock.now(),
            done.iter().map(|d| DoneEvent {
                event_type: d.event_type,
                learner: &d.learner,
                learner_label: &d.learner_label,
                summary: &d.summary,
            }),
        ),
        cohort: CohortDetail::of(view, &read, &state.zone, now, roster_all, &learner),
        recent,
        done,
        as_of: as_of_banner,
        as_of_input: as_of.map_or_else(String::new, |point| match point {
            AsOf::Position(p) => p.to_string(),
            AsOf::Time(t) => state.zone.field(t),
        }),
        error,
        values,
        headline,
        focus: focus.filter(|_| as_of.is_none()),
        closed_by,
        roster_all,
        learner_query,
        term,
        bulk: None,
    })
}

/// The cohort as it was at `point`; 404 when it did not exist yet.
async fn past_view(
    state: &AppState,
    cohort: CohortId,
    point: AsOf,
) -> Result<crate::projections::CohortView, PageError> {
    state
        .cohort_as_of(cohort, point)
        .await
        .map_err(|e| PageError::internal("time travel", &e))?
        .ok_or_else(|| {
            PageError::NotFound(format!("cohort {cohort} did not exist yet at that point"))
        })
}

/// "Cancelled — reason" for a cancelled cohort, from its newest `cohort.cancelled` up to
/// `position`.
fn cancelled_words(
    read: &crate::projections::Projections,
    cohort: CohortId,
    position: u64,
) -> String {
    newest_of(read, cohort, position, "cohort.cancelled").map_or_else(
        || "Cancelled".to_owned(),
        |entry| {
            let reason = super::views::shown_reason(
                entry.reason.as_deref().unwrap_or_default(),
                entry.reason_erased,
            );
            if reason.is_empty() {
                "Cancelled".to_owned()
            } else {
                format!("Cancelled — {reason}")
            }
        },
    )
}

/// The banner of the cohort as of `point`: the time (asked for, or of the newest event shown)
/// and that event in words. `shown` counts the cohort's events up to the point.
fn as_of_banner(
    read: &crate::projections::Projections,
    cohort: CohortId,
    point: AsOf,
    shown: usize,
    zone: &super::zone::Zone,
    now: jiff::Timestamp,
) -> AsOfBanner {
    let last = shown
        .checked_sub(1)
        .and_then(|i| read.history_entries(cohort, i..i + 1).into_iter().next());
    let at = match point {
        AsOf::Time(t) => t,
        AsOf::Position(_) => last.as_ref().map_or(now, |e| e.occurred_at),
    };
    AsOfBanner {
        when: zone.when(at, now),
        after: last
            .as_ref()
            .map(|e| event_words(read, e, zone))
            .unwrap_or_default(),
        position: last.as_ref().map_or(0, |e| e.position),
    }
}

/// `raw` with every byte but unreserved ones percent-encoded, for a query value.
fn urlencoding_strict(raw: &str) -> String {
    use std::fmt::Write as _;
    raw.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// Runs a cohort-page command, then redirects (Post/Redirect/Get) to the cohort page at the
/// form used: on success with the command's events to confirm (`?done=…&form=…`), on a
/// refusal with the message and the form's values kept in the flash store for the page
/// (`?refused=<token>`), so a refresh never posts again. The form's first field then takes the
/// focus (`autofocus`, which also scrolls to it); a form without one (promote, close, the
/// offers) is scrolled to by a `#fragment` instead — browsers skip `autofocus` on a page opened
/// at one.
pub(super) async fn run_command(
    state: &AppState,
    principal: &Principal,
    cohort: CohortId,
    form: CommandForm,
    request: Result<Request, String>,
    values: CommandValues,
) -> Result<Response, PageError> {
    let message = match request {
        Err(message) => message,
        Ok(request) => match state.submit_request(principal, request.clone()).await {
            Ok(done) => {
                let url = format!(
                    "{}&form={}{}",
                    done_url(&done),
                    form.name(),
                    form.fragment()
                );
                return Ok(Redirect::to(&url).into_response());
            }
            Err(CommandError::Rejected(violation))
                if !matches!(violation, RuleViolation::CohortNotFound { .. }) =>
            {
                let learner = request.learner_key().map(ToString::to_string);
                describe(&violation, learner.as_deref())
            }
            Err(e) => return Err(command_page_error(e)),
        },
    };
    // The cohort must exist for its page to show the refusal.
    if state.read.read().catalog.get(cohort).is_none() {
        return Err(PageError::NotFound(format!("no cohort {cohort}")));
    }
    let token = super::flash::keep(
        principal,
        cohort,
        super::flash::Refusal {
            form,
            message,
            values,
        },
        state.clock.now(),
    );
    let url = format!("/cohorts/{cohort}?refused={token}{}", form.fragment());
    Ok(Redirect::to(&url).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LearnerForm {
    learner: String,
    name: String,
    reason_code: String,
    reason: String,
}

/// `POST /cohorts/{id}/enroll`.
pub async fn enroll(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<LearnerForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = input::learner("learner", &f.learner).and_then(|learner| {
        let name = input::line("name", &f.name, input::MAX_TEXT)?;
        Ok(Request::Enroll {
            cohort,
            learner,
            name: Some(name).filter(|n| !n.is_empty()),
        })
    });
    let values = CommandValues {
        learner: f.learner,
        name: f.name,
        ..CommandValues::default()
    };
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Enroll,
        request.map_err(|e| e.to_string()),
        values,
    )
    .await
}

fn learner_with_reason(
    f: &LearnerForm,
) -> Result<(crate::learner_key::LearnerKey, String), String> {
    let learner = input::learner("learner", &f.learner).map_err(|e| e.to_string())?;
    let reason = input::text("reason", &f.reason, input::MAX_REASON).map_err(|e| e.to_string())?;
    Ok((learner, reason))
}

/// `POST /cohorts/{id}/withdraw` (from the confirmation page): a reason code is required here
/// (the API keeps its default); refused without one, "choose a reason".
pub async fn withdraw(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<LearnerForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = learner_with_reason(&f).and_then(|(learner, reason)| {
        if f.reason_code.trim().is_empty() {
            return Err(
                "choose a reason: say why the learner withdraws (the reason code)".to_owned(),
            );
        }
        let reason_code =
            input::reason_code("reason_code", &f.reason_code).map_err(|e| e.to_string())?;
        Ok(Request::Withdraw {
            cohort,
            learner,
            reason_code,
            reason,
        })
    });
    let values = CommandValues {
        learner: f.learner,
        ..CommandValues::default()
    };
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Withdraw,
        request,
        values,
    )
    .await
}

/// `POST /cohorts/{id}/leave-waitlist`.
pub async fn leave_waitlist(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<LearnerForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = learner_with_reason(&f).map(|(learner, reason)| Request::LeaveWaitlist {
        cohort,
        learner,
        reason,
    });
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::LeaveWaitlist,
        request,
        CommandValues::default(),
    )
    .await
}

/// `POST /cohorts/{id}/promote`.
pub async fn promote(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let request = Ok(Request::Promote { cohort });
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Promote,
        request,
        CommandValues::default(),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CapacityForm {
    capacity: String,
}

/// `POST /cohorts/{id}/capacity`.
pub async fn change_capacity(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<CapacityForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = input::capacity("capacity", RawNumber::Text(&f.capacity))
        .map(|capacity| Request::ChangeCapacity { cohort, capacity })
        .map_err(|e| e.to_string());
    let values = CommandValues {
        capacity: f.capacity,
        ..CommandValues::default()
    };
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Capacity,
        request,
        values,
    )
    .await
}

/// `POST /cohorts/{id}/close`.
pub async fn close(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Close,
        Ok(Request::Close { cohort }),
        CommandValues::default(),
    )
    .await
}

/// `GET /cohorts/{id}/history`: every event of the cohort, with actor and what changed.
pub async fn history(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    PageQuery(q): PageQuery<HistoryQuery>,
) -> Result<HistoryPage, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let read = state.read.read();
    let view = read
        .catalog
        .get(cohort)
        .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))?;
    let all = read.history.of(cohort);
    let before = q.before.trim().parse::<u64>().ok();
    // Entries are in position order: the page is a slice found by binary search.
    let end = before.map_or(all.len(), |b| all.partition_point(|p| p < b));
    let start = end.saturating_sub(HISTORY_PAGE);
    let entries = read.history_entries(cohort, start..end);
    let rows: Vec<HistoryRow> = entries
        .iter()
        .rev()
        .map(|h| HistoryRow::at(h, &read.directory, &state.zone, state.clock.now()))
        .collect();
    let what_if = super::what_if::history_links(cohort, &entries, &read, &state.zone);
    Ok(HistoryPage {
        what_if,
        nav: Nav::of(&principal, &state.zone),
        id: cohort.to_string(),
        name: view.state.name.clone(),
        older: all.get(start).filter(|_| start > 0),
        newest_link: before.is_some(),
        total: all.len(),
        rows,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HistoryQuery {
    before: String,
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

// ---- running a term (issue 15): reopen, reschedule, details, cancel, policy ----

/// Whom cancelling the cohort now would release, as (enrolled, offered, waiting): counted from
/// the same dry run the API's `?dry_run=true` runs (never a second copy of the rules). `None`
/// when the cohort would refuse it (cancelled already) or does not exist.
fn cancel_preview(
    state: &AppState,
    cohort: CohortId,
    now: jiff::Timestamp,
) -> Option<(usize, usize, usize)> {
    let preview = state.preview();
    let mut staged = preview.now(cohort, now);
    let held = staged.state().cloned()?;
    let request = Request::Cancel {
        cohort,
        reason: "preview".to_owned(),
    };
    let predicted = preview.decide(&mut staged, &request, None).ok()?;
    let released: Vec<_> = predicted
        .events
        .iter()
        .filter_map(|e| match e {
            crate::domain::Event::StudentReleased { learner } => Some(*learner),
            _ => None,
        })
        .collect();
    let of = |pick: &dyn Fn(crate::domain::LearnerId) -> bool| {
        released.iter().filter(|l| pick(**l)).count()
    };
    Some((
        of(&|l| held.is_enrolled(l)),
        of(&|l| held.offer_of(l).is_some()),
        of(&|l| held.waitlist_place(l).is_some()),
    ))
}

/// The newest event of type `event_type` in the cohort's history up to `position`.
fn newest_of(
    read: &crate::projections::Projections,
    cohort: CohortId,
    position: u64,
    event_type: &str,
) -> Option<crate::projections::HistoryEntry> {
    const CHUNK: usize = 64;
    let history = read.history.of(cohort);
    let mut end = history.partition_point(|p| p <= position);
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let entries = read.history_entries(cohort, start..end);
        if let Some(entry) = entries
            .into_iter()
            .rev()
            .find(|h| h.event_type == event_type)
        {
            return Some(entry);
        }
        end = start;
    }
    None
}

/// The fields of the term forms (each form sends its own).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TermForm {
    reason: String,
    enrollment_deadline: String,
    starts_at: String,
    withdrawal_deadline: String,
    ends_at: String,
    name: String,
    course: String,
    instructor: String,
    confirm: String,
    promotion: String,
    offer_hold: String,
    waitlist_cap: String,
}

/// A time field of a term form: `None` when empty or when it still holds `current` as the form
/// showed it (to the minute), so an untouched field never counts as a change.
fn changed_time(
    state: &AppState,
    field: &'static str,
    raw: &str,
    current: Option<jiff::Timestamp>,
) -> Result<Option<jiff::Timestamp>, String> {
    let raw = raw.trim();
    if raw.is_empty()
        || current.is_some_and(|c| state.zone.field(c) == raw || state.zone.input(c) == raw)
    {
        return Ok(None);
    }
    input::parse_time(field, raw, &state.zone)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The cohort's current state, for the fields a form pre-filled from it.
fn current_state(state: &AppState, cohort: CohortId) -> Result<crate::domain::Cohort, PageError> {
    state
        .read
        .read()
        .catalog
        .get(cohort)
        .map(|v| v.state.clone())
        .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))
}

/// A reason a term form requires.
fn required_reason(raw: &str) -> Result<String, String> {
    let reason = input::text("reason", raw, input::MAX_REASON).map_err(|e| e.to_string())?;
    if reason.is_empty() {
        return Err("reason: is required — say why, in a few words".to_owned());
    }
    Ok(reason)
}

/// `POST /cohorts/{id}/reopen`.
pub async fn reopen(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<TermForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = required_reason(&f.reason).and_then(|reason| {
        Ok(Request::Reopen {
            cohort,
            reason,
            enrollment_deadline: changed_time(
                &state,
                "enrollment_deadline",
                &f.enrollment_deadline,
                None,
            )?,
        })
    });
    let values = CommandValues {
        term: vec![
            ("reason", f.reason),
            ("reopen_deadline", f.enrollment_deadline),
        ],
        ..CommandValues::default()
    };
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Reopen,
        request,
        values,
    )
    .await
}

/// `POST /cohorts/{id}/schedule`.
pub async fn reschedule(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<TermForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let c = current_state(&state, cohort)?;
    let request = (|| {
        Ok(Request::Reschedule {
            cohort,
            starts_at: changed_time(&state, "starts_at", &f.starts_at, Some(c.starts_at))?,
            enrollment_deadline: changed_time(
                &state,
                "enrollment_deadline",
                &f.enrollment_deadline,
                Some(c.enrollment_deadline),
            )?,
            withdrawal_deadline: changed_time(
                &state,
                "withdrawal_deadline",
                &f.withdrawal_deadline,
                Some(c.withdrawal_deadline),
            )?,
            ends_at: changed_time(&state, "ends_at", &f.ends_at, c.ends_at)?,
        })
    })();
    let values = CommandValues {
        term: vec![
            ("starts_at", f.starts_at),
            ("enrollment_deadline", f.enrollment_deadline),
            ("withdrawal_deadline", f.withdrawal_deadline),
            ("ends_at", f.ends_at),
        ],
        ..CommandValues::default()
    };
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Reschedule,
        request,
        values,
    )
    .await
}

/// `POST /cohorts/{id}/details`.
pub async fn change_details(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<TermForm>, FormRejection>,
) -> Result<Response, PageError> {
    use super::api::term::optional_line;
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let required = |field, raw: &str| optional_line(field, Some(raw)).map_err(|e| e.to_string());
    let request = (|| {
        Ok(Request::ChangeDetails {
            cohort,
            name: required("name", &f.name)?,
            course: required("course", &f.course)?,
            instructor: required("instructor", &f.instructor)?,
        })
    })();
    let values = CommandValues {
        term: vec![
            ("name", f.name),
            ("course", f.course),
            ("instructor", f.instructor),
        ],
        ..CommandValues::default()
    };
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Details,
        request,
        values,
    )
    .await
}

/// `POST /cohorts/{id}/cancel`: only with the box ticked that confirms it.
pub async fn cancel(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<TermForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = required_reason(&f.reason).and_then(|reason| {
        if f.confirm != "yes" {
            return Err("tick the box to confirm: cancelling cannot be undone".to_owned());
        }
        Ok(Request::Cancel { cohort, reason })
    });
    let values = CommandValues {
        term: vec![("cancel_reason", f.reason)],
        ..CommandValues::default()
    };
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Cancel,
        request,
        values,
    )
    .await
}

/// A waitlist cap as a form sends it: empty for none.
pub(super) fn cap_field(raw: &str) -> Result<Option<u32>, String> {
    match raw.trim() {
        "" => Ok(None),
        raw => raw.parse::<u32>().map(Some).map_err(|_| {
            "waitlist_cap: must be a whole number of learners, e.g. 20 (empty: no cap)".to_owned()
        }),
    }
}

/// The promotion policy as a form sends it: the hold only counts with `offer`.
pub(super) fn policy_fields(
    promotion: &str,
    offer_hold: &str,
) -> Result<crate::domain::PromotionPolicy, String> {
    let promotion = promotion.trim();
    let hold = Some(offer_hold.trim()).filter(|h| !h.is_empty() && promotion == "offer");
    super::api::term::policy(Some(promotion).filter(|p| !p.is_empty()), hold)
        .map_err(|e| e.to_string())
}

/// `POST /cohorts/{id}/policy`.
pub async fn set_policy(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<TermForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = policy_fields(&f.promotion, &f.offer_hold).and_then(|promotion| {
        Ok(Request::SetPolicy {
            cohort,
            promotion,
            waitlist_cap: cap_field(&f.waitlist_cap)?,
        })
    });
    let values = CommandValues {
        term: vec![
            ("promotion", f.promotion),
            ("offer_hold", f.offer_hold),
            ("waitlist_cap", f.waitlist_cap),
        ],
        ..CommandValues::default()
    };
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Policy,
        request,
        values,
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::StoreError;

    #[test]
    fn a_storage_failure_is_a_503_page_not_a_500() {
        let io = StoreError::Io {
            path: "x".into(),
            source: std::io::Error::other("disk gone"),
        };
        assert!(matches!(
            command_page_error(CommandError::Store(Arc::new(io))),
            PageError::StorageUnavailable
        ));
        assert!(matches!(
            command_page_error(CommandError::Stopped),
            PageError::Unavailable
        ));
    }
}
