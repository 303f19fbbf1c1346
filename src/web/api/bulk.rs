//! `POST /api/v1/cohorts/{id}/enrollments/bulk`: a `text/csv` body of `learner,name` rows.
//! With `?dry_run=true` (and `as_of`) the preview of every row; without, `If-Match` is required
//! and the rows the preview accepts are applied as one append. Reading, previewing and
//! applying are [`crate::web::bulk`]'s; this module reads the request and shapes the answer.

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use super::super::AppState;
use super::super::bulk::{self, BulkError, Outcomes};
use super::super::error::{ApiError, ErrorDetail};
use super::super::extract::{ApiActing, ApiPath, ApiQuery};
use super::super::input;
use super::dry_run::{self, DryRunQuery, Mode};
use crate::writer::CommandError;

/// The answer: the cohort's version and every row of the file, in order.
#[derive(Serialize, JsonSchema)]
pub struct BulkAnswer {
    /// A dry run: the version the preview was decided at (send it as `If-Match` to apply).
    /// Applied: the version after the append (unchanged if no row was accepted).
    pub version: u64,
    /// Every data row of the file, in order.
    pub rows: Vec<BulkRowAnswer>,
    /// `true` for a dry run (nothing was written); absent when applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// One row: what it did (or would do), or why it is refused.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum BulkRowAnswer {
    /// Accepted.
    Done {
        /// Its line in the file (the header is line 1).
        line: u64,
        /// The learner cell as written.
        learner: String,
        /// What it did, or would do.
        outcome: BulkOutcome,
    },
    /// Refused: malformed (`invalid_learner`, `missing_name_column`, `extra_column`,
    /// `duplicate_learner`, `too_long`, `invalid_name`) or by a rule (its 422 code).
    Refused {
        /// Its line in the file.
        line: u64,
        /// The learner cell as written.
        learner: String,
        /// Why.
        error: ErrorDetail,
    },
}

/// What an accepted row did.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkOutcome {
    /// Took a free seat.
    Enrolled,
    /// Joined the waitlist.
    Waitlisted,
    /// Was offered a seat.
    Offered,
}

fn answer(outcomes: Outcomes, dry_run: bool) -> BulkAnswer {
    BulkAnswer {
        version: outcomes.version,
        dry_run: dry_run.then_some(true),
        rows: outcomes
            .rows
            .into_iter()
            .map(|r| match r.outcome {
                Ok(outcome) => BulkRowAnswer::Done {
                    line: r.row.line,
                    learner: r.row.learner,
                    outcome: match outcome {
                        bulk::Outcome::Enrolled => BulkOutcome::Enrolled,
                        bulk::Outcome::Waitlisted(_) => BulkOutcome::Waitlisted,
                        bulk::Outcome::Offered => BulkOutcome::Offered,
                    },
                },
                Err(e) => BulkRowAnswer::Refused {
                    line: r.row.line,
                    learner: r.row.learner,
                    error: ErrorDetail {
                        code: e.code,
                        message: format!("line {}: {}", r.row.line, e.message),
                        cohort: None,
                    },
                },
            })
            .collect(),
    }
}

fn api_error(e: BulkError) -> ApiError {
    match e {
        BulkError::NoCohort(cohort) => ApiError::cohort_not_found(&cohort.to_string()),
        BulkError::Moved { expected, actual } => {
            ApiError::from_command(CommandError::VersionConflict { expected, actual }, None)
        }
        BulkError::Command(e) => ApiError::from_command(e, None),
    }
}

/// Whether the body is declared `text/csv` (UTF-8, or no charset).
fn is_csv(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default();
    media.eq_ignore_ascii_case("text/csv")
        && parts.all(|p| {
            p.split_once('=').is_none_or(|(k, v)| {
                !k.trim().eq_ignore_ascii_case("charset")
                    || v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            })
        })
}

/// `POST /api/v1/cohorts/{id}/enrollments/bulk`.
pub(in crate::web) async fn bulk_enroll(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let mode = query.mode()?;
    let h = input::command_headers(&headers)
        .map_err(|e| ApiError::bad_request("invalid_field", e.to_string()))?;
    if h.idempotency_key.is_some() {
        return Err(ApiError::bad_request(
            "idempotency_key_not_supported",
            "a bulk enrollment takes no Idempotency-Key: its required If-Match already makes a \
             retry safe (a repeat after success answers 409 version_conflict and writes nothing)",
        ));
    }
    if !is_csv(&headers) {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: "send the file with Content-Type: text/csv (UTF-8)".to_owned(),
        });
    }
    let bytes = to_bytes(body, bulk::API_BODY_LIMIT)
        .await
        .map_err(|_| ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            message: format!(
                "the file is larger than {} MiB (at most {} rows)",
                bulk::API_BODY_LIMIT / (1024 * 1024),
                bulk::MAX_ROWS
            ),
        })?;
    let rows = bulk::read_file(&bytes).map_err(|e| ApiError {
        status: match e {
            bulk::FileError::TooManyRows { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        },
        code: e.code(),
        message: e.to_string(),
    })?;
    let outcomes = match mode {
        Mode::DryRun(as_of) => {
            let previewer = state.preview();
            let mut staged = dry_run::stage(&state, cohort, as_of).await?;
            if let Some(expected) = h.expected_version {
                if staged.state().is_some() && staged.version() != expected {
                    return Err(api_error(BulkError::Moved {
                        expected,
                        actual: staged.version(),
                    }));
                }
            }
            let outcomes = bulk::preview(&previewer, &mut staged, rows).map_err(api_error)?;
            return Ok(Json(answer(outcomes, true)).into_response());
        }
        Mode::Commit => {
            let Some(expected) = h.expected_version else {
                return Err(ApiError {
                    status: StatusCode::PRECONDITION_REQUIRED,
                    code: "precondition_required",
                    message: "applying a bulk enrollment needs If-Match: \"<version>\", the \
                              version its preview (dry_run=true) answered"
                        .to_owned(),
                });
            };
            bulk::apply(
                &state,
                &principal,
                cohort,
                expected,
                rows,
                (h.correlation_id, h.causation_id),
            )
            .await
            .map_err(api_error)?
        }
    };
    Ok(Json(answer(outcomes, false)).into_response())
}
