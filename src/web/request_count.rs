//! The layer that counts every HTTP response by route template (as the route table declares
//! it), method and status, and times it, for `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::routes::declared_path;
use crate::metrics::Metrics;

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
    declared_path(matched.as_str()).unwrap_or("undeclared")
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
