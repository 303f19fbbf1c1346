//! The admin API of webhook subscriptions (`/api/v1/admin/webhooks`): create (the secret is
//! answered once), list, pause, resume, move the position, delete. The subscriptions and their
//! deliveries are [`crate::webhooks`]'; this only turns requests into its calls.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::super::AppState;
use super::super::error::ApiError;
use super::super::extract::{ApiActing, ApiJson, ApiPath};
use super::bodies::{NewWebhookBody, WebhookCreated, WebhookItem, WebhookList, WebhookPosition};
use crate::webhooks::{NewWebhook, WebhookError, WebhookView, target::TargetError};

fn item(view: &WebhookView) -> WebhookItem {
    WebhookItem {
        cohorts: view.record.cohorts.clone(),
        event_types: view.record.event_types.clone(),
        id: view.id,
        last_error: view.record.last_error.clone(),
        lag: view.lag,
        name: view.record.name.clone(),
        position: view.position,
        status: if view.record.paused {
            "paused"
        } else {
            "active"
        },
        url: view.record.url.clone(),
    }
}

fn unprocessable(code: &'static str, message: String) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code,
        message,
    }
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::NotFound(id) => Self {
                status: StatusCode::NOT_FOUND,
                code: "webhook_not_found",
                message: format!("no webhook subscription {id}"),
            },
            WebhookError::Invalid(message) => unprocessable("invalid_webhook", message),
            WebhookError::Target(e @ TargetError::Malformed(_)) => {
                unprocessable("invalid_url", e.to_string())
            }
            WebhookError::Target(e @ TargetError::Forbidden { .. }) => {
                unprocessable("url_not_allowed", e.to_string())
            }
            WebhookError::Target(e @ TargetError::Unresolved { .. }) => {
                unprocessable("url_unresolved", e.to_string())
            }
            e @ WebhookError::PositionOutOfRange { .. } => {
                unprocessable("position_out_of_range", e.to_string())
            }
            e @ WebhookError::TooMany => Self {
                status: StatusCode::CONFLICT,
                code: "too_many_webhooks",
                message: e.to_string(),
            },
            e @ (WebhookError::Store(_) | WebhookError::Task(_) | WebhookError::Client(_)) => {
                Self::internal("webhook operation", &e)
            }
        }
    }
}

fn webhook_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError {
        status: StatusCode::NOT_FOUND,
        code: "webhook_not_found",
        message: format!("no webhook subscription {raw:?}"),
    })
}

/// `POST /api/v1/admin/webhooks`.
pub(in crate::web) async fn create(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiJson(body): ApiJson<NewWebhookBody>,
) -> Result<Response, ApiError> {
    let created = state
        .webhooks
        .create(NewWebhook {
            name: body.name,
            url: body.url,
            event_types: body.event_types,
            cohorts: body.cohorts,
            from_position: body.from_position,
        })
        .await?;
    tracing::info!(by = %principal.name, id = %created.id, "webhook subscription created");
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            id: created.id,
            position: created.position,
            secret: created.secret,
        }),
    )
        .into_response())
}

/// `GET /api/v1/admin/webhooks`.
pub(in crate::web) async fn list(State(state): State<AppState>) -> Json<WebhookList> {
    Json(WebhookList {
        webhooks: state.webhooks.list().iter().map(item).collect(),
    })
}

/// `POST /api/v1/admin/webhooks/{id}/pause`.
pub(in crate::web) async fn pause(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
) -> Result<Json<WebhookItem>, ApiError> {
    let view = state.webhooks.pause(webhook_id(&id)?).await?;
    Ok(Json(item(&view)))
}

/// `POST /api/v1/admin/webhooks/{id}/resume`.
pub(in crate::web) async fn resume(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
) -> Result<Json<WebhookItem>, ApiError> {
    let view = state.webhooks.resume(webhook_id(&id)?).await?;
    Ok(Json(item(&view)))
}

/// `POST /api/v1/admin/webhooks/{id}/position`.
pub(in crate::web) async fn position(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
    ApiJson(body): ApiJson<WebhookPosition>,
) -> Result<Json<WebhookItem>, ApiError> {
    let view = state
        .webhooks
        .move_to(webhook_id(&id)?, body.position)
        .await?;
    Ok(Json(item(&view)))
}

/// `DELETE /api/v1/admin/webhooks/{id}`: answers the subscription as it was.
pub(in crate::web) async fn delete(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
) -> Result<Json<WebhookItem>, ApiError> {
    let id = webhook_id(&id)?;
    let view = state.webhooks.view(id)?;
    state.webhooks.delete(id).await?;
    tracing::info!(by = %principal.name, %id, "webhook subscription deleted");
    Ok(Json(item(&view)))
}
