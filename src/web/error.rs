//! Errors as the client sees them: an HTML error page, or a JSON `{"error":{"code","message"}}`.
//! Internal details are logged, never shown.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use super::input::NoSuchCohort;
use super::nav::Nav;
use super::zone::Zone;
use crate::auth::Principal;
use crate::domain::RuleViolation;
use crate::writer::CommandError;

/// An error of the JSON API.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// 400 with a code and message.
    #[must_use]
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// 404 for a cohort that does not exist.
    #[must_use]
    pub fn cohort_not_found(id: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "cohort_not_found",
            message: format!("no cohort with id {id:?}"),
        }
    }

    /// 404 for a learner nobody filed.
    #[must_use]
    pub fn learner_not_found(key: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "learner_not_found",
            message: format!("no learner {key:?}"),
        }
    }

    /// 500 after logging what went wrong.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "an internal error occurred; it was logged".to_owned(),
        }
    }

    /// The API error for a command the writer did not commit; `learner` names the learner in
    /// rule messages.
    #[must_use]
    pub fn from_command(error: CommandError, learner: Option<&str>) -> Self {
        match error {
            CommandError::Rejected(violation) => {
                let status = match violation {
                    RuleViolation::CohortNotFound { .. } => StatusCode::NOT_FOUND,
                    RuleViolation::CohortAlreadyExists { .. } => StatusCode::CONFLICT,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Self {
                    status,
                    code: violation.code(),
                    message: describe(&violation, learner),
                }
            }
            CommandError::VersionConflict { expected, actual } => Self {
                status: StatusCode::CONFLICT,
                code: "version_conflict",
                message: format!(
                    "the cohort is at version {actual}, not {expected}: reload it and retry"
                ),
            },
            CommandError::IdempotencyKeyReused => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "idempotency_key_reused",
                message: "this Idempotency-Key was already used for a different request".to_owned(),
            },
            CommandError::Stopped => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "shutting_down",
                message: "the server is shutting down; retry shortly".to_owned(),
            },
            // The storage failed (a full disk, an I/O error), not the server's logic: 503, to
            // retry once it is fixed. Not "nothing was stored": when the sync of a commit fails
            // after its writes, the change may be on disk after all (tests/it/crash.rs). Bytes
            // that do not decode or a writer bug stay 500: retrying will not help.
            CommandError::Store(ref e) if e.is_storage_failure() => {
                tracing::error!(%error, "command not confirmed: storage failed");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "storage_unavailable",
                    message: "storage failed, so the change was not confirmed and may not have \
                              been stored; check before retrying, or retry with the same \
                              Idempotency-Key, which is safe"
                        .to_owned(),
                }
            }
            error => Self::internal("command failed", &error),
        }
    }
}

/// The body of every API error.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, JsonSchema)]
#[schemars(inline)]
pub struct ErrorDetail {
    /// Stable, machine-readable.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// A transfer's refusal: the cohort whose rule refused it (or that does not exist).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohort: Option<uuid::Uuid>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                cohort: None,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// A rule violation as a sentence, naming the learner where it concerns one.
#[must_use]
pub fn describe(violation: &RuleViolation, learner: Option<&str>) -> String {
    let who = learner.unwrap_or("the learner");
    match violation {
        RuleViolation::AlreadyEnrolled { .. } => format!("{who} is already enrolled"),
        RuleViolation::AlreadyWaitlisted {
            position,
            waitlist_len,
            ..
        } => format!("{who} is already waitlisted, at place {position} of {waitlist_len}"),
        RuleViolation::NotEnrolled { .. } => format!("{who} is not enrolled in this cohort"),
        RuleViolation::NotWaitlisted { .. } => format!("{who} is not on the waitlist"),
        other => other.to_string(),
    }
}

/// An error of an HTML page.
#[derive(Debug)]
pub enum PageError {
    /// 404, with what was not found.
    NotFound(String),
    /// 400, with what was wrong.
    BadRequest(String),
    /// 403: signed in, but not allowed (role too low, or a form without its CSRF token).
    Forbidden,
    /// 405, with what was asked.
    MethodNotAllowed(String),
    /// 413: the body is over the limit.
    TooLarge,
    /// 503: shutting down.
    Unavailable,
    /// 503: storage failed; the command may not have been stored.
    StorageUnavailable,
    /// 500; the detail is logged, not shown.
    Internal,
}

impl PageError {
    /// A 500 after logging `error`.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::Internal
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Nav,
    status: u16,
    title: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "Not found", what),
            Self::BadRequest(what) => (StatusCode::BAD_REQUEST, "Bad request", what),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your account may not do this, or the form was stale or sent from another site. \
                 Reload the page and try again; ask an admin if you need another role."
                    .to_owned(),
            ),
            Self::MethodNotAllowed(what) => {
                (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", what)
            }
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                format!("The form is larger than {} KiB.", super::BODY_LIMIT / 1024),
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Shutting down",
                "The server is shutting down. Try again in a moment.".to_owned(),
            ),
            Self::StorageUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Storage unavailable",
                "The database could not store this change. It may not have been recorded: check the \
                 cohort before trying again."
                    .to_owned(),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "An internal error occurred and was logged.".to_owned(),
            ),
        };
        // The page names the time zone, which is the application's: it is rendered on the way
        // out, by `render_error_pages`, which has the state.
        let mut response = status.into_response();
        response
            .extensions_mut()
            .insert(PendingErrorPage { title, message });
        response
    }
}

/// An error page's title and message, waiting in its response's extensions for
/// [`render_error_pages`] to render them with the application's time zone.
#[derive(Clone)]
struct PendingErrorPage {
    title: &'static str,
    message: String,
}

/// Who was signed in when a page failed: the error page keeps their navigation (menu, name,
/// Log out), so a 404 or 403 is not a dead end. Set by the access guard, which knows them.
#[derive(Clone)]
struct ErrorPageViewer(Principal);

/// Marks `response`, if it is an error page still to render, as shown to `principal`: the page
/// then carries the signed-in navigation. Any other response is left alone.
pub fn shown_to(response: &mut Response, principal: &Principal) {
    if response.extensions().get::<PendingErrorPage>().is_some() {
        response
            .extensions_mut()
            .insert(ErrorPageViewer(principal.clone()));
    }
}

/// Renders the error page of a response made from a [`PageError`] (it knows the status, title
/// and message, not the time zone the page's footer names); any other response passes as it is.
/// The router applies it outermost, and so does the application around the checks it adds
/// outside the router.
pub async fn render_error_pages(State(zone): State<Zone>, mut response: Response) -> Response {
    let Some(PendingErrorPage { title, message }) = response.extensions_mut().remove() else {
        return response;
    };
    let viewer = response.extensions_mut().remove::<ErrorPageViewer>();
    let status = response.status();
    let page = ErrorPage {
        nav: viewer.map_or_else(
            || Nav::anonymous(&zone),
            |ErrorPageViewer(principal)| Nav::of(&principal, &zone),
        ),
        status: status.as_u16(),
        title,
        message,
    };
    let (mut parts, _) = response.into_parts();
    let (rendered, body) = (status, page).into_response().into_parts();
    parts.headers.extend(rendered.headers);
    Response::from_parts(parts, body)
}

/// Fallback: 404 page.
pub async fn not_found(uri: Uri) -> PageError {
    PageError::NotFound(format!("nothing at {}", uri.path()))
}

/// Fallback for a known path asked with the wrong method: 405 page.
pub async fn method_not_allowed(method: Method, uri: Uri) -> PageError {
    PageError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

impl NoSuchCohort for ApiError {
    fn no_such_cohort(raw: &str) -> Self {
        Self::cohort_not_found(raw)
    }
}

impl NoSuchCohort for PageError {
    fn no_such_cohort(raw: &str) -> Self {
        Self::NotFound(format!("no cohort {raw:?}"))
    }
}
