//! The API commands that run a term once a cohort exists (issue 15): reopen enrollment,
//! reschedule, change the details, cancel, and set the promotion policy and waitlist cap. Each
//! goes through [`super::execute`], so `?dry_run=true` (with `as_of`) comes with it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::bodies::{
    Cancel, Cancelled, Details, DetailsChanged, Policy, PolicySet, Reopen, Reopened, Rescheduled,
    Schedule,
};
use super::dry_run::{Done, DryRunQuery};
use super::{AppState, execute, field_error};
use crate::domain::{Event, PromotionPolicy, parse_hold};
use crate::projections::Directory;
use crate::web::error::ApiError;
use crate::web::extract::{ApiActing, ApiJson, ApiPath, ApiQuery};
use crate::web::input::{self, FieldError};
use crate::writer::Request;

/// A promotion policy from its API fields: `promotion` (`automatic`, `offer`; absent:
/// automatic) and `offer_hold` (required with `offer`, refused otherwise).
pub(in crate::web) fn policy(
    promotion: Option<&str>,
    offer_hold: Option<&str>,
) -> Result<PromotionPolicy, FieldError> {
    let error = |field, message: String| FieldError { field, message };
    match (promotion.map(str::trim), offer_hold) {
        (None | Some("automatic"), None) => Ok(PromotionPolicy::Automatic),
        (None | Some("automatic"), Some(_)) => Err(error(
            "offer_hold",
            "only an offer policy holds offers: leave offer_hold out, or set promotion to \
             \"offer\""
                .to_owned(),
        )),
        (Some("offer"), None) => Err(error(
            "offer_hold",
            "is required with promotion \"offer\": how long an offer is held, e.g. 48h".to_owned(),
        )),
        (Some("offer"), Some(hold)) => parse_hold(hold)
            .and_then(PromotionPolicy::offer)
            .map_err(|e| error("offer_hold", e.to_string())),
        (Some(other), _) => Err(error(
            "promotion",
            format!("must be \"automatic\" or \"offer\", got {other:?}"),
        )),
    }
}

/// The learners `done` names in events of one kind, by key.
fn named(
    done: &Done,
    directory: &Directory,
    pick: fn(&Event) -> Option<crate::domain::LearnerId>,
) -> Vec<String> {
    done.events()
        .filter_map(pick)
        .map(|l| directory.key_of(l))
        .collect()
}

/// An optional time field, read as `POST /api/v1/cohorts` reads times.
pub(super) fn optional_time(
    state: &AppState,
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<jiff::Timestamp>, ApiError> {
    raw.map(|raw| input::parse_time(field, raw, &state.zone))
        .transpose()
        .map_err(|e| field_error(&e))
}

/// `POST /api/v1/cohorts/{id}/reopen`.
pub(in crate::web) async fn reopen(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<Reopen>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let reason = required_reason(&body.reason)?;
    let enrollment_deadline = optional_time(
        &state,
        "enrollment_deadline",
        body.enrollment_deadline.as_deref(),
    )?;
    let request = Request::Reopen {
        cohort,
        reason,
        enrollment_deadline,
    };
    let done = execute(&state, &principal, &headers, &query, request, None).await?;
    let read = state.read.read();
    let body = Reopened {
        offered: named(&done, &read.directory, |e| match e {
            Event::WaitlistOffered { learner, .. } => Some(*learner),
            _ => None,
        }),
        position: done.position(),
        promoted: named(&done, &read.directory, |e| match e {
            Event::WaitlistPromoted { learner } => Some(*learner),
            _ => None,
        }),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &read.directory))
}

/// `POST /api/v1/cohorts/{id}/schedule`.
pub(in crate::web) async fn reschedule(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<Schedule>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let request = Request::Reschedule {
        cohort,
        starts_at: optional_time(&state, "starts_at", body.starts_at.as_deref())?,
        enrollment_deadline: optional_time(
            &state,
            "enrollment_deadline",
            body.enrollment_deadline.as_deref(),
        )?,
        withdrawal_deadline: optional_time(
            &state,
            "withdrawal_deadline",
            body.withdrawal_deadline.as_deref(),
        )?,
        ends_at: optional_time(&state, "ends_at", body.ends_at.as_deref())?,
    };
    let done = execute(&state, &principal, &headers, &query, request, None).await?;
    let body = Rescheduled {
        position: done.position(),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &state.read.read().directory))
}

/// An optional name, course or instructor: when given, a line that is not blank.
pub(in crate::web) fn optional_line(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<String>, FieldError> {
    raw.map(|raw| {
        let line = input::line(field, raw, input::MAX_TEXT)?;
        if line.is_empty() {
            return Err(FieldError {
                field,
                message: "must not be blank (leave it out to keep the current one)".to_owned(),
            });
        }
        Ok(line)
    })
    .transpose()
}

/// `POST /api/v1/cohorts/{id}/details`.
pub(in crate::web) async fn change_details(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<Details>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let line = |field, raw: &Option<String>| {
        optional_line(field, raw.as_deref()).map_err(|e| field_error(&e))
    };
    let request = Request::ChangeDetails {
        cohort,
        name: line("name", &body.name)?,
        course: line("course", &body.course)?,
        instructor: line("instructor", &body.instructor)?,
    };
    let done = execute(&state, &principal, &headers, &query, request, None).await?;
    let body = DetailsChanged {
        position: done.position(),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &state.read.read().directory))
}

/// A reason that must be given: free text, not blank.
fn required_reason(raw: &str) -> Result<String, ApiError> {
    let reason = input::text("reason", raw, input::MAX_REASON).map_err(|e| field_error(&e))?;
    if reason.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_field",
            "reason: is required (say why, in a few words)",
        ));
    }
    Ok(reason)
}

/// `POST /api/v1/cohorts/{id}/cancel`.
pub(in crate::web) async fn cancel(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<Cancel>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let reason = required_reason(&body.reason)?;
    let request = Request::Cancel { cohort, reason };
    let done = execute(&state, &principal, &headers, &query, request, None).await?;
    let read = state.read.read();
    let body = Cancelled {
        position: done.position(),
        released: named(&done, &read.directory, |e| match e {
            Event::StudentReleased { learner } => Some(*learner),
            _ => None,
        }),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &read.directory))
}

/// `POST /api/v1/cohorts/{id}/policy`.
pub(in crate::web) async fn set_policy(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<Policy>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let promotion =
        policy(Some(&body.promotion), body.offer_hold.as_deref()).map_err(|e| field_error(&e))?;
    let request = Request::SetPolicy {
        cohort,
        promotion,
        waitlist_cap: body.waitlist_cap,
    };
    let done = execute(&state, &principal, &headers, &query, request, None).await?;
    let body = PolicySet {
        position: done.position(),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &state.read.read().directory))
}
