//! Waitlist offers in the API: `POST /api/v1/cohorts/{id}/offers/{learner}/accept` and
//! `…/decline` (with a dry run, as every command), and reading the promotion policy's fields of
//! `POST /api/v1/cohorts` (`promotion`, `offer_hold`, `waitlist_cap`).

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
use crate::domain::{Event, PromotionPolicy, parse_hold};
use crate::learner_key::LearnerKey;
use crate::writer::Request;

/// The hold of an `offer` policy created without `offer_hold`.
const DEFAULT_HOLD: jiff::SignedDuration = jiff::SignedDuration::from_hours(48);

/// The promotion policy and waitlist cap a creation asks for: `promotion` (`automatic`, the
/// default, or `offer`), `offer_hold` (only with `offer`, which it implies when `promotion` is
/// absent; 48h when absent) and `waitlist_cap` (`None`: no limit).
pub(super) fn creation_policy(
    promotion: Option<&str>,
    offer_hold: Option<&str>,
    waitlist_cap: Option<u64>,
) -> Result<(PromotionPolicy, Option<u32>), ApiError> {
    let invalid = |message: String| ApiError::bad_request("invalid_field", message);
    let hold = offer_hold
        .map(|raw| parse_hold(raw).map_err(|e| invalid(format!("offer_hold: {e}"))))
        .transpose()?;
    let promotion = match (promotion.map(str::trim), hold) {
        (None | Some("automatic"), None) => PromotionPolicy::Automatic,
        (Some("automatic"), Some(_)) => {
            return Err(invalid(
                "offer_hold: only with promotion \"offer\"".to_owned(),
            ));
        }
        (None | Some("offer"), hold) => PromotionPolicy::offer(hold.unwrap_or(DEFAULT_HOLD))
            .map_err(|e| invalid(format!("offer_hold: {e}")))?,
        (Some(_), _) => {
            return Err(invalid(
                "promotion: must be \"automatic\" or \"offer\"".to_owned(),
            ));
        }
    };
    let cap = waitlist_cap
        .map(|cap| {
            u32::try_from(cap).map_err(|_| invalid(format!("waitlist_cap: at most {}", u32::MAX)))
        })
        .transpose()?;
    Ok((promotion, cap))
}

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
