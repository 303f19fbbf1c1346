//! The web layer: HTML pages and forms for staff, and the JSON API under `/api/v1`.
//!
//! Handlers are thin: GET handlers read projections (or one stream, for history and time
//! travel); POST handlers parse input into a [`Request`], hand it to the writer, and redirect
//! or render the outcome. No business rule lives here.

mod api;
mod assets;
mod error;
mod input;
mod pages;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::clock::Clock;
use crate::projections::ReadModel;
use crate::store::{Actor, Store};
use crate::writer::{Committed, CommandError, Request, Submission, WriterHandle};

pub use error::{ApiError, PageError};

/// Largest request body accepted.
const BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The event store (for reads of one stream or a page of the feed).
    pub store: Arc<Store>,
    /// The projections.
    pub read: Arc<ReadModel>,
    /// The writer's queue.
    pub writer: WriterHandle,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    /// Submits a request as the acting user. Until accounts exist, everyone acts as the local
    /// actor; this is the one place that says so.
    async fn submit(&self, mut submission: Submission) -> Result<Committed, CommandError> {
        submission.actor = Actor::local();
        self.writer.submit(submission).await
    }

    async fn submit_request(&self, request: Request) -> Result<Committed, CommandError> {
        self.submit(Submission::new(request, Actor::local())).await
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/cohorts", post(pages::create_cohort))
        .route("/cohorts/new", get(pages::new_cohort))
        .route("/cohorts/{id}", get(pages::cohort))
        .route("/cohorts/{id}/history", get(pages::history))
        .route("/cohorts/{id}/enroll", post(pages::enroll))
        .route("/cohorts/{id}/withdraw", post(pages::withdraw))
        .route("/cohorts/{id}/leave-waitlist", post(pages::leave_waitlist))
        .route("/cohorts/{id}/promote", post(pages::promote))
        .route("/cohorts/{id}/capacity", post(pages::change_capacity))
        .route("/cohorts/{id}/close", post(pages::close))
        .route("/learners/{learner}", get(pages::learner))
        .route("/static/{file}", get(assets::serve))
        .route("/healthz", get(api::healthz))
        .nest("/api/v1", api::router())
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
