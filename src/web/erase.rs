//! Erasing a learner's personal data from the Admin page: the learner is named on the Admin
//! page, a confirmation page shows what will go and asks for the key again, then the writer
//! erases (see [`crate::store::Store::erase_learner`]).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::admin::page;
use super::error::PageError;
use super::extract::{Acting, PageQuery};
use super::nav::Nav;
use crate::auth::Principal;
use crate::learner_key::LearnerKey;
use crate::writer::CommandError;

/// The confirmation page.
#[derive(Template, WebTemplate)]
#[template(path = "erase.html")]
pub struct ConfirmPage {
    nav: Nav,
    key: String,
    name: String,
    id: String,
    events: usize,
    error: String,
}

/// Why a key cannot be erased: nobody has it.
fn no_such_learner(key: &LearnerKey) -> String {
    format!("No learner has the key {key}: never enrolled, or already erased.")
}

/// The Admin page again, saying why nothing was erased.
fn refuse(state: &AppState, principal: &Principal, message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        page(state, principal, message, true, None),
    )
        .into_response()
}

/// The learner named by `raw`, ready to confirm; or why not.
fn review(
    state: &AppState,
    principal: &Principal,
    raw: &str,
    error: String,
) -> Result<ConfirmPage, String> {
    let key = LearnerKey::parse(raw).map_err(|e| format!("{raw:?}: {e}"))?;
    let read = state.read.read();
    let Some(id) = read.directory.id_of(key.as_str()) else {
        return Err(no_such_learner(&key));
    };
    Ok(ConfirmPage {
        nav: Nav::of(principal, &state.zone),
        key: key.as_str().to_owned(),
        name: read.directory.name_of(id).to_owned(),
        id: id.to_string(),
        events: read.timelines.of(id).len(),
        error,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EraseQuery {
    key: String,
}

/// `GET /admin/erase?key=…`: what erasing this learner does, and the confirmation form.
pub async fn confirm(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(q): PageQuery<EraseQuery>,
) -> Response {
    match review(&state, &principal, &q.key, String::new()) {
        Ok(page) => page.into_response(),
        Err(message) => refuse(&state, &principal, message),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EraseForm {
    key: String,
    confirm: String,
}

/// `POST /admin/erase`: erases once the key was typed again.
pub async fn erase(
    State(state): State<AppState>,
    Acting(principal): Acting,
    form: Result<Form<EraseForm>, FormRejection>,
) -> Result<Response, PageError> {
    let f = form
        .map(|Form(f)| f)
        .map_err(|e| PageError::BadRequest(e.body_text()))?;
    let confirmed = LearnerKey::parse(&f.confirm)
        .ok()
        .zip(LearnerKey::parse(&f.key).ok())
        .is_some_and(|(typed, key)| typed == key);
    if !confirmed {
        let error = "The key typed does not match: nothing was erased.".to_owned();
        return Ok(match review(&state, &principal, &f.key, error) {
            Ok(page) => (StatusCode::UNPROCESSABLE_ENTITY, page).into_response(),
            Err(message) => refuse(&state, &principal, message),
        });
    }
    let Ok(key) = LearnerKey::parse(&f.key) else {
        return Err(PageError::BadRequest("no learner key".to_owned()));
    };
    tracing::info!(by = %principal.name, "learner erasure confirmed");
    match state.writer.erase(key.clone(), principal.actor()).await {
        Ok(Some(_)) => Ok(Redirect::to("/admin?done=erased#personal-data").into_response()),
        Ok(None) => Ok(refuse(&state, &principal, no_such_learner(&key))),
        Err(CommandError::Stopped) => Err(PageError::Unavailable),
        Err(e) => Err(PageError::internal("learner erasure failed", &e)),
    }
}
