//! The cohort pages and the forms that post to them: the new-cohort form, a cohort's page and
//! history, its commands (Post/Redirect/Get; a refused form is rendered again with 422 and the
//! rule's message beside it), and its roster as CSV.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::csv;
use super::error::{PageError, describe};
use super::extract::{Acting, PagePath, PageQuery};
use super::input::{self, RawCohort, RawNumber};
use super::nav::Nav;
use super::views::{
    CohortDetail, CohortForm, CohortPage, CommandForm, CommandValues, HistoryPage, HistoryRow,
    JournalRow, NewCohortPage,
};
use crate::auth::Principal;
use crate::domain::{CohortId, RuleViolation};
use crate::projections::AsOf;
use crate::writer::{CommandError, Committed, Request};

/// History lines shown on the cohort page.
const RECENT: usize = 10;
/// History lines per page of the history page.
const HISTORY_PAGE: usize = 200;

/// `GET /cohorts/new`.
pub async fn new_cohort(State(state): State<AppState>, Acting(principal): Acting) -> NewCohortPage {
    NewCohortPage {
        nav: Nav::of(&principal, &state.zone),
        form: CohortForm::default(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CreateCohortForm {
    name: String,
    course: String,
    instructor: String,
    capacity: String,
    starts_at: String,
    enrollment_deadline: String,
    withdrawal_deadline: String,
}

fn form_or_400<T>(form: Result<Form<T>, FormRejection>) -> Result<T, PageError> {
    form.map(|Form(f)| f).map_err(|e| match e {
        FormRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            PageError::TooLarge
        }
        e => PageError::BadRequest(format!("the form could not be read: {}", e.body_text())),
    })
}

/// `POST /cohorts`: create, then redirect to the new cohort.
pub async fn create_cohort(
    State(state): State<AppState>,
    Acting(principal): Acting,
    form: Result<Form<CreateCohortForm>, FormRejection>,
) -> Result<Response, PageError> {
    let f = form_or_400(form)?;
    let raw = RawCohort {
        name: &f.name,
        course: &f.course,
        instructor: &f.instructor,
        capacity: RawNumber::Text(&f.capacity),
        starts_at: &f.starts_at,
        enrollment_deadline: &f.enrollment_deadline,
        withdrawal_deadline: &f.withdrawal_deadline,
    };
    let refused = |errors: Vec<(&'static str, String)>| {
        let form = CohortForm {
            name: f.name.clone(),
            course: f.course.clone(),
            instructor: f.instructor.clone(),
            capacity: f.capacity.clone(),
            starts_at: f.starts_at.clone(),
            enrollment_deadline: f.enrollment_deadline.clone(),
            withdrawal_deadline: f.withdrawal_deadline.clone(),
            errors,
        };
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            NewCohortPage {
                nav: Nav::of(&principal, &state.zone),
                form,
            },
        )
            .into_response()
    };
    let new = match input::new_cohort(&raw, &state.zone) {
        Ok(new) => new,
        Err(errors) => {
            return Ok(refused(
                errors.into_iter().map(|e| (e.field, e.message)).collect(),
            ));
        }
    };
    let request = Request::Create {
        cohort: CohortId(Uuid::now_v7()),
        new,
    };
    match state.submit_request(&principal, request).await {
        Ok(done) => Ok(Redirect::to(&done_url(&done)).into_response()),
        Err(CommandError::Rejected(RuleViolation::InvalidSchedule(problem))) => {
            Ok(refused(vec![("withdrawal_deadline", problem.to_string())]))
        }
        Err(e) => Err(command_page_error(e)),
    }
}

/// Where a successful form redirects: the cohort page, confirming the command's own events
/// (`?done=<first position>-<last position>`).
fn done_url(done: &Committed) -> String {
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

fn command_page_error(error: CommandError) -> PageError {
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
    /// A bulk enrollment just applied (its kept summary's token).
    bulk: String,
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
        raw => Some(
            raw.parse::<AsOf>()
                .map_err(|e| PageError::BadRequest(e.to_string()))?,
        ),
    };
    let done = done_range(&q.done);
    let mut page = render_cohort(
        &state,
        &principal,
        cohort,
        as_of,
        done,
        None,
        CommandValues::default(),
    )
    .await?;
    page.bulk = super::bulk::applied(&q.bulk, &principal, cohort);
    Ok(page.into_response())
}

/// Builds the cohort page, current or as of a point, with an optional refused form.
async fn render_cohort(
    state: &AppState,
    principal: &Principal,
    cohort: CohortId,
    as_of: Option<AsOf>,
    done: Option<(u64, u64)>,
    error: Option<(CommandForm, String)>,
    values: CommandValues,
) -> Result<CohortPage, PageError> {
    let past = match as_of {
        None => None,
        Some(point) => {
            let view = state
                .cohort_as_of(cohort, point)
                .await
                .map_err(|e| PageError::internal("time travel", &e))?;
            Some(view.ok_or_else(|| {
                PageError::NotFound(format!("cohort {cohort} did not exist yet at that point"))
            })?)
        }
    };
    let read = state.read.read();
    let current = read
        .catalog
        .get(cohort)
        .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))?;
    let view = past.as_ref().unwrap_or(current);
    let history = read.history.of(cohort);
    let shown = history.partition_point(|p| p <= view.position);
    let recent = read
        .history_entries(cohort, shown.saturating_sub(RECENT)..shown)
        .iter()
        .rev()
        .map(|h| HistoryRow::of(h, &read.directory, &state.zone))
        .collect();
    let done = done.map_or_else(Vec::new, |(first, last)| {
        let start = history.partition_point(|p| p < first);
        let end = history.partition_point(|p| p <= last);
        read.history_entries(cohort, start..end.min(start + RECENT))
            .iter()
            .map(|h| HistoryRow::of(h, &read.directory, &state.zone))
            .collect()
    });
    let as_of_words = as_of.map(|point| match point {
        AsOf::Position(p) => format!("after event {p} (cohort version {})", view.version),
        AsOf::Time(t) => format!(
            "at {} (cohort version {})",
            state.zone.show(t),
            view.version
        ),
    });
    let refused = read
        .journal
        .of_cohort(cohort, RECENT)
        .into_iter()
        .map(|(_, e)| JournalRow::of(e, &read, &state.zone))
        .collect();
    Ok(CohortPage {
        nav: Nav::of(principal, &state.zone),
        refused,
        cohort: CohortDetail::of(view, &read, &state.zone),
        recent,
        done: if as_of.is_some() { Vec::new() } else { done },
        as_of: as_of_words,
        as_of_input: match as_of {
            Some(AsOf::Position(p)) => p.to_string(),
            Some(AsOf::Time(t)) => t.to_string(),
            None => String::new(),
        },
        error,
        values,
        bulk: None,
    })
}

/// Runs a cohort-page command: redirect to the cohort on success, or render the page again
/// (422) with the message beside the form that was refused.
async fn run_command(
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
                return Ok(Redirect::to(&done_url(&done)).into_response());
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
    let page = render_cohort(
        state,
        principal,
        cohort,
        None,
        None,
        Some((form, message)),
        values,
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
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

/// `POST /cohorts/{id}/withdraw`.
pub async fn withdraw(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<LearnerForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = learner_with_reason(&f).and_then(|(learner, reason)| {
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
        reason_code: f.reason_code,
        reason: f.reason,
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
    let rows: Vec<HistoryRow> = read
        .history_entries(cohort, start..end)
        .iter()
        .rev()
        .map(|h| HistoryRow::of(h, &read.directory, &state.zone))
        .collect();
    Ok(HistoryPage {
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
