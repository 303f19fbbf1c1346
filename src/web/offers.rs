//! The offer forms (issue 15): `POST /cohorts/{id}/offers/accept` and `…/decline`, posted from
//! the cohort page and the learner page. Post/Redirect/Get through the cohort page's command
//! runner: a refusal renders the cohort page again with the message beside the offers.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::cohorts::{form_or_400, run_command};
use super::error::PageError;
use super::extract::{Acting, PagePath};
use super::input;
use super::views::{CommandForm, CommandValues};
use crate::writer::Request;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OfferForm {
    learner: String,
    reason: String,
    /// The decline form's confirmation box: present when ticked.
    confirm: String,
}

/// `POST /cohorts/{id}/offers/accept`: the learner takes the seat held for them.
pub async fn accept(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<OfferForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = input::learner("learner", &f.learner)
        .map(|learner| Request::AcceptOffer { cohort, learner })
        .map_err(|e| e.to_string());
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Offer,
        request,
        CommandValues::default(),
    )
    .await
}

/// `POST /cohorts/{id}/offers/decline`: the learner turns the seat down (the form's box must be
/// ticked: it cannot be undone); the next in line is offered it.
pub async fn decline(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    form: Result<Form<OfferForm>, FormRejection>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let f = form_or_400(form)?;
    let request = if f.confirm.is_empty() {
        Err("tick the box to confirm the decline: it cannot be undone".to_owned())
    } else {
        input::learner("learner", &f.learner)
            .and_then(|learner| {
                let reason = input::text("reason", &f.reason, input::MAX_REASON)?;
                Ok(Request::DeclineOffer {
                    cohort,
                    learner,
                    reason,
                })
            })
            .map_err(|e| e.to_string())
    };
    run_command(
        &state,
        &principal,
        cohort,
        CommandForm::Offer,
        request,
        CommandValues::default(),
    )
    .await
}
