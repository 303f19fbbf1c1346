//! `POST /api/v1/transfers`: move a learner from one cohort to another in one append across
//! both streams, or with `?dry_run=true` (and `as_of`) say what that would do. The rules are
//! the domain's (`decide_transfer`), run by the writer or by its preview on both cohorts; this
//! module reads the body, and shapes the answer and the refusal, which names the cohort whose
//! rule refused it (`error.cohort`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::super::AppState;
use super::super::error::{ApiError, ErrorBody, ErrorDetail};
use super::super::extract::{ApiActing, ApiJson, ApiQuery};
use super::super::input;
use super::bodies::{TransferOutcome, TransferRequest, Transferred};
use super::dry_run::{self, DryRunFields, DryRunQuery, Mode, PlannedEvent};
use super::field_error;
use crate::domain::{CohortId, Event};
use crate::projections::Directory;
use crate::writer::{
    CommandError, Request, Submission, TransferSummary, refused_cohort, transfer_events,
};

/// `POST /api/v1/transfers`.
pub(in crate::web) async fn transfer(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<TransferRequest>,
) -> Result<Response, ApiError> {
    let learner = input::learner("learner", &body.learner).map_err(|e| field_error(&e))?;
    let reason = input::text(
        "reason",
        body.reason.as_deref().unwrap_or(""),
        input::MAX_REASON,
    )
    .map_err(|e| field_error(&e))?;
    let h = input::command_headers(&headers).map_err(|e| field_error(&e))?;
    if h.expected_version.is_some() {
        return Err(ApiError::bad_request(
            "invalid_field",
            "If-Match: a transfer addresses two cohorts; give their versions as \
             expected_from_version and expected_to_version in the body",
        ));
    }
    let (from, to) = (CohortId(body.from), CohortId(body.to));
    let key = learner.to_string();
    let request = Request::Transfer {
        cohort: from,
        to,
        learner,
        allow_waitlist: body.allow_waitlist.unwrap_or(false),
        reason,
    };
    let expected = (body.expected_from_version, body.expected_to_version);
    if let Mode::DryRun(as_of) = query.mode()? {
        let preview = state.preview();
        let mut from_stage = dry_run::stage(&state, from, as_of).await?;
        let mut to_stage = dry_run::stage(&state, to, as_of).await?;
        let predicted =
            match preview.decide_transfer(&mut from_stage, &mut to_stage, &request, expected) {
                Ok(predicted) => predicted,
                Err(e) => return Ok(refusal(&state, e, &key)),
            };
        let read = state.read.read();
        let events: Vec<&Event> = transfer_events(&predicted).collect();
        let answer = answer(
            events.iter().copied(),
            predicted.from.version,
            predicted.to.version,
            predicted.to.position,
            &read.directory,
        );
        let fields = DryRunFields {
            decided_at: predicted.from.decided_at,
            dry_run: true,
            events: events
                .iter()
                .map(|event| PlannedEvent {
                    data: super::event_data(event, &|id| read.directory.key_of(id)),
                    kind: event.type_name(),
                })
                .collect(),
        };
        let mut merged: BTreeMap<String, Value> = BTreeMap::new();
        for value in [serde_json::to_value(&answer), serde_json::to_value(&fields)] {
            if let Ok(Value::Object(map)) = value {
                merged.extend(map);
            }
        }
        return Ok((StatusCode::OK, Json(merged)).into_response());
    }
    let submission = Submission {
        expected_version: expected.0,
        expected_other_version: expected.1,
        idempotency_key: h.idempotency_key,
        correlation_id: h.correlation_id,
        causation_id: h.causation_id,
        ..Submission::new(request, principal.actor())
    };
    let committed = match state.submit(&principal, submission).await {
        Ok(committed) => committed,
        Err(e) => return Ok(refusal(&state, e, &key)),
    };
    let to_version = committed
        .events
        .iter()
        .rev()
        .find(|e| e.cohort == to)
        .map_or(0, |e| e.version);
    let read = state.read.read();
    let answer = answer(
        committed.events.iter().map(|e| &e.event),
        committed.version,
        to_version,
        committed.position(),
        &read.directory,
    );
    Ok((StatusCode::OK, Json(answer)).into_response())
}

/// The answer, from the transfer's events in append order.
fn answer<'a>(
    events: impl IntoIterator<Item = &'a Event>,
    from_version: u64,
    to_version: u64,
    position: u64,
    directory: &Directory,
) -> Transferred {
    let summary = TransferSummary::of(events);
    Transferred {
        from_version,
        offered: summary.offered.map(|l| directory.key_of(l)),
        outcome: match summary.waitlisted_at {
            None => TransferOutcome::Enrolled,
            Some(_) => TransferOutcome::Waitlisted,
        },
        position,
        promoted: summary.promoted.map(|l| directory.key_of(l)),
        to_version,
    }
}

/// A transfer not made, as the API answers a command's refusal, with the cohort it concerns
/// (`error.cohort`, and its name first in the message).
fn refusal(state: &AppState, error: CommandError, learner: &str) -> Response {
    let cohort = refused_cohort(&error);
    let error = match error {
        CommandError::TransferRefused(refused) => CommandError::Rejected(refused.violation),
        other => other,
    };
    let api = ApiError::from_command(error, Some(learner));
    let message = match cohort.and_then(|c| {
        let read = state.read.read();
        read.catalog.get(c).map(|v| v.state.name.clone())
    }) {
        Some(name) => format!("{name}: {}", api.message),
        None => api.message,
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code: api.code,
            message,
            cohort: cohort.map(|c| c.0),
        },
    };
    (api.status, Json(body)).into_response()
}
