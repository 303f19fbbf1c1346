//! Waitlist offers in the API: `POST /api/v1/cohorts/{id}/offers/{learner}/accept` and
//! `…/decline` (with a dry run, as every command).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::super::AppState;
use super::super::error::ApiError;
use super::super::extract::{ApiActing, ApiJson, ApiQuery};
use super::super::input;
use super::bodies::{OfferAnswered, OfferDecline, OfferOutcome};
use super::dry_run::{Done, DryRunQuery};
use super::{execute, field_error};
use crate::domain::Event;
use crate::learner_key::LearnerKey;
use crate::writer::Request;

/// The cohort and learner of an offer's path, `{id}` and `{learner}` (a learner key).
fn offer_path(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(crate::domain::CohortId, LearnerKey), ApiError> {
    let Path((id, learner)) =
        path.map_err(|e| ApiError::bad_request("invalid_path", e.body_text()))?;
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let learner = input::learner("learner", &learner)
        .map_err(|e| ApiError::bad_request("invalid_path", e.to_string()))?;
    Ok((cohort, learner))
}

/// The learner offered a seat in the same append, if any (after a decline: the next in line).
fn offered(done: &Done, state: &AppState) -> Option<String> {
    let read = state.read.read();
    done.events()
        .filter_map(|e| match e {
            Event::WaitlistOffered { learner, .. } => Some(read.directory.key_of(*learner)),
            _ => None,
        })
        .last()
}

/// `POST /api/v1/cohorts/{id}/offers/{learner}/accept`: the learner takes the seat held for
/// them.
pub(in crate::web) async fn accept(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
) -> Result<Response, ApiError> {
    let (cohort, learner) = offer_path(path)?;
    let key = learner.to_string();
    let request = Request::AcceptOffer { cohort, learner };
    let done = execute(&state, &principal, &headers, &query, request, Some(&key)).await?;
    let body = OfferAnswered {
        outcome: OfferOutcome::Enrolled,
        offered: offered(&done, &state),
        position: done.position(),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &state.read.read().directory))
}

/// `POST /api/v1/cohorts/{id}/offers/{learner}/decline`: the learner turns the seat down; the
/// next in line is offered it in the same append.
pub(in crate::web) async fn decline(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<OfferDecline>,
) -> Result<Response, ApiError> {
    let (cohort, learner) = offer_path(path)?;
    let reason = input::text(
        "reason",
        body.reason.as_deref().unwrap_or(""),
        input::MAX_REASON,
    )
    .map_err(|e| field_error(&e))?;
    let key = learner.to_string();
    let request = Request::DeclineOffer {
        cohort,
        learner,
        reason,
    };
    let done = execute(&state, &principal, &headers, &query, request, Some(&key)).await?;
    let body = OfferAnswered {
        outcome: OfferOutcome::Declined,
        offered: offered(&done, &state),
        position: done.position(),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &state.read.read().directory))
}
