//! `GET /metrics` (the registry of [`crate::metrics`] in Prometheus' text format, with the
//! positions read at scrape time) and the layer that counts every HTTP response by route
//! template and status. Who may read it is the access table's business.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use super::{AppState, ROUTES};
use crate::auth::HashStats;
use crate::metrics::{Metrics, PasswordHashes, Snapshot};

/// The media type of the Prometheus text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics, for a scraper.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let store_head = state
        .read_store(|history| history.read()?.head_position())
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "metrics: cannot read the store's head"))
        .ok();
    let snapshot = {
        let read = state.read.read();
        Snapshot {
            projections: read.positions().to_vec(),
            published_position: read.position,
            store_head,
            writer_running: state.writer.is_running(),
            storage_failed: state.writer.storage_failed(),
            password_hashes: password_hashes(state.auth.hash_stats()),
        }
    };
    let body = state.metrics.render(&snapshot);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

fn password_hashes(stats: HashStats) -> PasswordHashes {
    let n = |v: usize| v as u64;
    PasswordHashes {
        permits: n(stats.permits),
        running: n(stats.running),
        peak: n(stats.peak),
        hashed: stats.hashed,
        refused_busy: stats.refused_busy,
    }
}

/// Counts each response by route template, method and status, and times it. Installed with
/// `Router::layer`, so it runs after routing and sees the matched route.
pub async fn count_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = route_label(request.extensions().get::<MatchedPath>());
    let method = method_label(request.method());
    let response = next.run(request).await;
    metrics.request(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// The route template as declared in the access table (a `&'static str`, so counting
/// allocates nothing), `unmatched` for a request no route matched, `undeclared` for a route
/// missing from the table (which the guard refuses anyway). Never the raw path: its ids would
/// make a series per cohort.
fn route_label(matched: Option<&MatchedPath>) -> &'static str {
    let Some(matched) = matched else {
        return "unmatched";
    };
    ROUTES
        .iter()
        .find(|(_, path, _)| *path == matched.as_str())
        .map_or("undeclared", |(_, path, _)| path)
}

/// The method, from a closed set (a client may send any token as a method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
