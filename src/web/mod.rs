//! The web layer: HTML pages and forms for staff, and the JSON API under `/api/v1`.
//!
//! Handlers are thin: GET handlers read projections (or one stream, for history and time
//! travel); POST handlers parse input into a [`Request`], hand it to the writer, and redirect
//! or render the outcome. No business rule lives here.

mod access;
mod admin;
mod admin_mail;
mod admin_webhooks;
mod allow_list;
mod api;
mod api_docs;
mod assets;
mod browse;
mod bulk;
mod chart;
mod cohort_new;
mod cohorts;
mod confirm;
mod csv;
mod dashboard;
mod erase;
mod error;
mod extract;
mod flash;
mod headers;
mod input;
mod learner_mail;
mod learners;
mod metrics;
mod moves;
mod name_match;
mod nav;
mod offer_links;
mod offer_views;
mod offers;
mod openapi;
mod redirect;
mod reports;
mod request_count;
mod route;
pub mod routes;
mod seat_story;
mod session;
mod views;
mod what_if;
mod zone;

use std::sync::Arc;

use uuid::Uuid;

use axum::response::IntoResponse as _;
use tower_http::catch_panic::CatchPanicLayer;

use crate::auth::{Auth, Principal};
use crate::clock::Clock;
use crate::domain::CohortId;
use crate::domain::LearnerId;
use crate::learner_key::LearnerKey;
use crate::projections::{AsOf, CohortView, Directory, ReadModel, cohort_as_of};
use crate::store::{History, StoreError};
use crate::writer::{CommandError, Committed, Preview, Request, Submission, WriterHandle};

pub use access::{CookiePolicy, HostPolicy, SESSION_COOKIE, check_host};
pub use allow_list::{AllowList, IpRange, IpRangeError};
pub use api::live::{LiveFeed, LiveFeedOptions};
pub use error::{ApiError, PageError, render_error_pages};
pub use extract::strict_form_bodies;
pub use headers::security_headers;
pub use request_count::count_requests;
pub use route::{Access, Route};
pub use routes::{ROUTES, router};
pub use zone::{UnknownZone, Zone};

/// An event as the feed (`GET /api/v1/events`) shows it: the body a webhook delivers.
#[must_use]
pub fn feed_event_json(
    envelope: &crate::store::Envelope,
    directory: &crate::projections::Directory,
) -> serde_json::Value {
    api::feed_event_json(envelope, directory)
}

/// Largest request body accepted.
const BODY_LIMIT: usize = 64 * 1024;
/// Largest bulk-enrollment form accepted (its CSV of 5,000 rows, 2 MiB through the API, can
/// triple once percent-encoded in a form).
const BULK_FORM_LIMIT: usize = 6 * 1024 * 1024;

/// The body limit of a request to `path`, for the checks that read a form body before its
/// handler does: the bulk-enrollment forms' for their posts, [`BODY_LIMIT`] otherwise.
fn body_limit(path: &str) -> usize {
    let bulk = path.starts_with("/cohorts/")
        && (path.ends_with("/bulk/preview") || path.ends_with("/bulk/apply"));
    if bulk { BULK_FORM_LIMIT } else { BODY_LIMIT }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Read-only access to the event store (one stream, a page of the feed, time travel, a
    /// backup copy). It has no write method: only the writer appends, erases or rewrites.
    pub history: History,
    /// The projections.
    pub read: Arc<ReadModel>,
    /// The writer's queue.
    pub writer: WriterHandle,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Accounts, sessions and tokens.
    pub auth: Arc<Auth>,
    /// Cookie flags and the origin forms must come from.
    pub cookies: CookiePolicy,
    /// The backup folder (`--backup-dir`) and the last backup this server made (on request or
    /// on schedule).
    pub last_backup: crate::backup::LastBackup,
    /// Operational counters and histograms, served at `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Addresses that may read `/metrics` without signing in.
    pub metrics_allow: AllowList,
    /// The time zone pages show times in and read form times in.
    pub zone: Zone,
    /// The live feed's streams and hub (`GET /api/v1/events/stream`).
    pub live: Arc<LiveFeed>,
    /// Webhook subscriptions and their deliveries.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// Offer links: their key, and the record of the ones used.
    pub offer_links: crate::offer_links::OfferLinks,
    /// Learner e-mail (its log and status; `None` where no mailer was built).
    pub mail: Option<Arc<crate::mail::Mail>>,
}

impl AppState {
    /// Submits a request as the acting account, recorded on every event it causes.
    async fn submit(
        &self,
        principal: &Principal,
        mut submission: Submission,
    ) -> Result<Committed, CommandError> {
        submission.actor = principal.actor();
        self.writer.submit(submission).await
    }

    async fn submit_request(
        &self,
        principal: &Principal,
        request: Request,
    ) -> Result<Committed, CommandError> {
        self.submit(principal, Submission::new(request, principal.actor()))
            .await
    }

    /// Dry runs over the same read side and history: decides as the writer would, and cannot
    /// write.
    fn preview(&self) -> Preview {
        Preview::new(self.history.clone(), self.read.clone())
    }

    /// Runs a blocking store read on the blocking pool, never on the async threads.
    async fn read_store<T: Send + 'static>(
        &self,
        read: impl FnOnce(&History) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ReadError> {
        let history = self.history.clone();
        Ok(tokio::task::spawn_blocking(move || read(&history)).await??)
    }

    /// The cohort as it was at `as_of`, seeing no further than the projections have applied.
    async fn cohort_as_of(
        &self,
        cohort: CohortId,
        as_of: AsOf,
    ) -> Result<Option<CohortView>, ReadError> {
        let published = self.read.read().position;
        self.read_store(move |history| cohort_as_of(history, cohort, as_of, published))
            .await
    }
}

/// A read of the store that failed: an internal error, logged, never shown.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("store read task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("store read failed: {0}")]
    Store(#[from] StoreError),
}

/// Finds a learner by key, or by opaque id (for learners whose key is not on file).
pub fn find_learner(directory: &Directory, raw: &str) -> Option<LearnerId> {
    if let Ok(key) = LearnerKey::parse(raw) {
        if let Some(id) = directory.id_of(key.as_str()) {
            return Some(id);
        }
    }
    Uuid::parse_str(raw.trim()).ok().map(LearnerId)
}

type PanicHandler = fn(Box<dyn std::any::Any + Send>) -> axum::response::Response;

/// A bug must never leave a client without an answer: a panicking handler becomes a 500 page
/// (and a log line with the panic message), never a dropped connection.
pub(super) fn catch_panics() -> CatchPanicLayer<PanicHandler> {
    CatchPanicLayer::custom(|panic: Box<dyn std::any::Any + Send>| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        PageError::internal("handler panicked", &detail).into_response()
    })
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request as HttpRequest;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_hides_the_panic() {
        async fn boom() -> &'static str {
            panic!("secret detail")
        }
        let app: Router = Router::new()
            .route("/boom", get(boom))
            .layer(catch_panics())
            .layer(axum::middleware::map_response_with_state(
                Zone::default(),
                render_error_pages,
            ));
        let response = app
            .oneshot(HttpRequest::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("Something went wrong"));
        assert!(!html.contains("secret detail"));
    }
}
