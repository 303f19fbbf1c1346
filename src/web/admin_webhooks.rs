//! The Admin page's webhook forms: create a subscription (its secret is shown once), pause,
//! resume, move and delete one. The page's section itself is rendered by [`super::admin`]; the
//! subscriptions are [`crate::webhooks`]'.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::admin::{page, read_form};
use super::error::PageError;
use super::extract::{Acting, PagePath};
use crate::auth::Principal;
use crate::webhooks::{NewWebhook, WebhookError};

/// The page again with a refusal, or a 500 for a storage failure.
fn refused(
    state: &AppState,
    principal: &Principal,
    error: WebhookError,
) -> Result<Response, PageError> {
    match error {
        e @ (WebhookError::Store(_) | WebhookError::Task(_)) => {
            Err(PageError::internal("webhook change failed", &e))
        }
        e => {
            let page = page(state, principal, e.to_string(), true, None);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewWebhookForm {
    name: String,
    url: String,
    event_types: String,
    cohorts: String,
    from_position: String,
}

/// The cohorts a form names, one per line: each an id or a name (ignoring case and spacing)
/// that names exactly one cohort.
fn named_cohorts(state: &AppState, text: &str) -> Result<Vec<Uuid>, WebhookError> {
    let read = state.read.read();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > crate::webhooks::MAX_FILTERS {
        return Err(WebhookError::Invalid(format!(
            "cohorts: at most {} lines",
            crate::webhooks::MAX_FILTERS
        )));
    }
    lines
        .into_iter()
        .map(|line| {
            if let Ok(id) = Uuid::parse_str(line)
                && read.catalog.get(crate::domain::CohortId(id)).is_some()
            {
                return Ok(id);
            }
            let named: Vec<_> = read.catalog.named(line).collect();
            match named.as_slice() {
                [only] => Ok(only.state.id.0),
                [] => Err(WebhookError::Invalid(format!(
                    "cohorts: no cohort is named {line:?} (give its name or its id, one per line)"
                ))),
                several => Err(WebhookError::Invalid(format!(
                    "cohorts: {} cohorts are named {line:?}; give the id of the one you mean",
                    several.len()
                ))),
            }
        })
        .collect()
}

/// `POST /admin/webhooks`: creates a subscription and shows its secret once.
pub async fn create(
    State(state): State<AppState>,
    Acting(principal): Acting,
    form: Result<Form<NewWebhookForm>, FormRejection>,
) -> Result<Response, PageError> {
    let f = read_form(form)?;
    let from_position = match f.from_position.trim() {
        "" => None,
        raw => match raw.parse::<u64>() {
            Ok(p) => Some(p),
            Err(_) => {
                return refused(
                    &state,
                    &principal,
                    WebhookError::Invalid(format!("from position: {raw:?} is not a whole number")),
                );
            }
        },
    };
    let cohorts = match named_cohorts(&state, &f.cohorts) {
        Ok(cohorts) => cohorts,
        Err(e) => return refused(&state, &principal, e),
    };
    let new = NewWebhook {
        name: f.name,
        url: f.url,
        event_types: f
            .event_types
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        cohorts,
        from_position,
    };
    match state.webhooks.create(new).await {
        Ok(created) => {
            tracing::info!(by = %principal.name, id = %created.id, "webhook subscription created");
            let mut page = page(&state, &principal, String::new(), false, None);
            page.new_webhook = Some((created.id.to_string(), created.secret));
            Ok(page.into_response())
        }
        Err(e) => refused(&state, &principal, e),
    }
}

fn parse_id(raw: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(raw)
        .map_err(|_| PageError::NotFound(format!("no webhook subscription {raw:?}")))
}

/// `POST /admin/webhooks/{id}/pause`.
pub async fn pause(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    match state.webhooks.pause(parse_id(&id)?).await {
        Ok(_) => Ok(Redirect::to("/admin?done=webhook-paused#webhooks").into_response()),
        Err(e) => refused(&state, &principal, e),
    }
}

/// `POST /admin/webhooks/{id}/resume`.
pub async fn resume(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    match state.webhooks.resume(parse_id(&id)?).await {
        Ok(_) => Ok(Redirect::to("/admin?done=webhook-resumed#webhooks").into_response()),
        Err(e) => refused(&state, &principal, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MoveForm {
    position: String,
}

/// `POST /admin/webhooks/{id}/position`.
pub async fn move_to(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let f = read_form(form)?;
    let Ok(position) = f.position.trim().parse::<u64>() else {
        return refused(
            &state,
            &principal,
            WebhookError::Invalid(format!("position: {:?} is not a whole number", f.position)),
        );
    };
    match state.webhooks.move_to(id, position).await {
        Ok(_) => Ok(Redirect::to("/admin?done=webhook-moved#webhooks").into_response()),
        Err(e) => refused(&state, &principal, e),
    }
}

/// `POST /admin/webhooks/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    match state.webhooks.delete(parse_id(&id)?).await {
        Ok(()) => {
            tracing::info!(by = %principal.name, %id, "webhook subscription deleted");
            Ok(Redirect::to("/admin?done=webhook-deleted#webhooks").into_response())
        }
        Err(e) => refused(&state, &principal, e),
    }
}
