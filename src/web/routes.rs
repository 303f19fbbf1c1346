//! The route table: every route's method, path, who may call it, its handler and, for the JSON
//! API, its `OpenAPI` operation, declared once in [`ROUTES`]. The router ([`router`]), the access
//! guard (deny by default: a route missing here is refused), the request metrics' route labels
//! and the `OpenAPI` document ([`document`]) are all built from it.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, on};
use serde_json::Value;

use super::error::ApiError;
use super::extract::Acting;
use super::route::Access::{Public, Role as R, Scrape};
use super::route::Route;
use super::{AppState, BODY_LIMIT};
use super::{
    access, admin, admin_webhooks, api, api_docs, assets, browse, confirm, erase, metrics, openapi,
};
use super::{
    bulk, cohort_new, cohorts, dashboard, error, learners, offers, reports, session, what_if,
};
use crate::auth::Role::{Admin, Staff, Viewer};

/// One table entry: `route!(GET "/path", access, handler)`, with `api operation` for an
/// `/api/v1` route.
macro_rules! route {
    ($method:ident $path:literal, $access:expr, $handler:expr) => {
        Route {
            method: Method::$method,
            path: $path,
            access: $access,
            handler: || on(MethodFilter::$method, $handler),
            api: None,
        }
    };
    ($method:ident $path:literal, $access:expr, $handler:expr, api $operation:expr) => {
        Route {
            method: Method::$method,
            path: $path,
            access: $access,
            handler: || on(MethodFilter::$method, $handler),
            api: Some($operation),
        }
    };
}

/// Every route. A route missing here is neither served nor allowed.
pub static ROUTES: &[Route] = &[
    route!(GET "/healthz", Public, api::healthz),
    route!(GET "/metrics", Scrape, metrics::metrics),
    route!(GET "/static/{file}", Public, assets::serve),
    route!(GET "/login", Public, session::form),
    route!(POST "/login", Public, session::login),
    route!(POST "/logout", R(Viewer), session::logout),
    route!(GET "/", R(Viewer), dashboard::dashboard),
    route!(GET "/cohorts/new", R(Staff), cohort_new::new_cohort),
    route!(GET "/cohorts.csv", R(Viewer), dashboard::dashboard_csv),
    route!(POST "/cohorts", R(Staff), cohort_new::create_cohort),
    route!(GET "/cohorts/{id}", R(Viewer), cohorts::cohort),
    route!(GET "/cohorts/{id}/history", R(Viewer), cohorts::history),
    route!(POST "/cohorts/{id}/enroll", R(Staff), cohorts::enroll),
    route!(POST "/cohorts/{id}/withdraw", R(Staff), cohorts::withdraw),
    route!(POST "/cohorts/{id}/leave-waitlist", R(Staff), cohorts::leave_waitlist),
    route!(POST "/cohorts/{id}/promote", R(Staff), cohorts::promote),
    route!(POST "/cohorts/{id}/capacity", R(Staff), cohorts::change_capacity),
    route!(POST "/cohorts/{id}/close", R(Staff), cohorts::close),
    // ---- confirmation steps: what the command would do (a dry run), then its form ----
    route!(GET "/cohorts/{id}/withdraw", R(Staff), confirm::withdraw),
    route!(GET "/cohorts/{id}/leave-waitlist", R(Staff), confirm::leave_waitlist),
    route!(GET "/cohorts/{id}/close", R(Staff), confirm::close),
    // ---- running a term (issue 15) ----
    route!(POST "/cohorts/{id}/reopen", R(Staff), cohorts::reopen),
    route!(POST "/cohorts/{id}/schedule", R(Staff), cohorts::reschedule),
    route!(POST "/cohorts/{id}/details", R(Staff), cohorts::change_details),
    route!(POST "/cohorts/{id}/cancel", R(Staff), cohorts::cancel),
    route!(POST "/cohorts/{id}/policy", R(Staff), cohorts::set_policy),
    // ----
    route!(POST "/cohorts/{id}/offers/accept", R(Staff), offers::accept),
    route!(POST "/cohorts/{id}/offers/decline", R(Staff), offers::decline),
    route!(GET "/learners/{learner}", R(Viewer), learners::learner),
    // ---- offer links (issue 17): for the learner, no account; the signed token is the
    // capability, GET changes nothing, the POST is refused from another site ----
    route!(GET "/offers/{token}", Public, super::offer_links::page),
    route!(POST "/offers/{token}", Public, super::offer_links::answer),
    // ---- what if (a dry run at a time; writes nothing) ----
    route!(GET "/cohorts/{id}/what-if", R(Viewer), what_if::what_if),
    // ---- bulk enrollment ----
    route!(POST "/cohorts/{id}/bulk/preview", R(Staff), bulk::preview_form),
    route!(POST "/cohorts/{id}/bulk/apply", R(Staff), bulk::apply_form),
    route!(GET "/cohorts/{id}/bulk/refused.csv", R(Staff), bulk::refused_csv),
    route!(POST "/learners/{learner}/transfer", R(Staff), learners::transfer),
    // ---- reports ----
    route!(GET "/reports/instructors", R(Viewer), reports::instructors::instructors),
    route!(GET "/reports/instructors.csv", R(Viewer), reports::instructors::instructors_csv),
    route!(GET "/reports/withdrawals", R(Viewer), reports::withdrawals::withdrawals),
    route!(GET "/reports/withdrawals.csv", R(Viewer), reports::withdrawals::withdrawals_csv),
    route!(GET "/reports/seats", R(Viewer), reports::seats::seats),
    route!(GET "/reports/seats.csv", R(Viewer), reports::seats::seats_csv),
    route!(GET "/cohorts/{id}/seats", R(Viewer), reports::seats::cohort_seats),
    route!(GET "/cohorts/{id}/seats.csv", R(Viewer), reports::seats::cohort_seats_csv),
    route!(GET "/cohorts/{id}/roster.csv", R(Viewer), cohorts::roster_csv),
    // ---- browse ----
    route!(GET "/events", R(Viewer), browse::events),
    route!(GET "/events.csv", R(Viewer), browse::events_csv),
    route!(GET "/cohorts/{id}/diff", R(Viewer), browse::diff),
    route!(GET "/search", R(Viewer), browse::search),
    route!(GET "/api", R(Viewer), |State(state): State<AppState>, acting: Acting| async move {
        api_docs::page(acting, &state.zone, document())
    }),
    // ---- admin ----
    route!(GET "/admin", R(Admin), admin::overview),
    route!(POST "/admin/accounts", R(Admin), admin::create_account),
    route!(POST "/admin/accounts/{name}/password", R(Admin), admin::reset_password),
    route!(POST "/admin/accounts/{name}/disable", R(Admin), admin::disable),
    route!(POST "/admin/accounts/{name}/enable", R(Admin), admin::enable),
    route!(POST "/admin/tokens", R(Admin), admin::create_token),
    route!(POST "/admin/tokens/{id}/revoke", R(Admin), admin::revoke_token),
    route!(POST "/admin/webhooks", R(Admin), admin_webhooks::create),
    route!(POST "/admin/webhooks/{id}/pause", R(Admin), admin_webhooks::pause),
    route!(POST "/admin/webhooks/{id}/resume", R(Admin), admin_webhooks::resume),
    route!(POST "/admin/webhooks/{id}/position", R(Admin), admin_webhooks::move_to),
    route!(POST "/admin/webhooks/{id}/delete", R(Admin), admin_webhooks::delete),
    route!(POST "/admin/projections/rebuild", R(Admin), admin::rebuild),
    route!(POST "/admin/projections/check", R(Admin), admin::check),
    route!(GET "/admin/erase", R(Admin), erase::confirm),
    route!(POST "/admin/erase", R(Admin), erase::erase),
    // ---- the JSON API ----
    route!(GET "/api/v1/projections", R(Admin), api::projections, api openapi::projections),
    route!(POST "/api/v1/admin/backups", R(Admin), api::create_backup, api openapi::create_backup),
    // ---- webhook subscriptions (issue 17) ----
    route!(POST "/api/v1/admin/webhooks", R(Admin), api::webhooks::create, api openapi::create_webhook),
    route!(GET "/api/v1/admin/webhooks", R(Admin), api::webhooks::list, api openapi::list_webhooks),
    route!(POST "/api/v1/admin/webhooks/{id}/pause", R(Admin), api::webhooks::pause, api openapi::pause_webhook),
    route!(POST "/api/v1/admin/webhooks/{id}/resume", R(Admin), api::webhooks::resume, api openapi::resume_webhook),
    route!(POST "/api/v1/admin/webhooks/{id}/position", R(Admin), api::webhooks::position, api openapi::move_webhook),
    route!(DELETE "/api/v1/admin/webhooks/{id}", R(Admin), api::webhooks::delete, api openapi::delete_webhook),
    route!(POST "/api/v1/cohorts", R(Staff), api::create_cohort, api openapi::create_cohort),
    route!(GET "/api/v1/cohorts", R(Viewer), api::list_cohorts, api openapi::list_cohorts),
    route!(GET "/api/v1/cohorts/{id}", R(Viewer), api::cohort, api openapi::get_cohort),
    route!(GET "/api/v1/cohorts/{id}/events", R(Viewer), api::cohort_events, api openapi::cohort_events),
    route!(POST "/api/v1/cohorts/{id}/enrollments", R(Staff), api::enroll, api openapi::enroll),
    route!(POST "/api/v1/cohorts/{id}/withdrawals", R(Staff), api::withdraw, api openapi::withdraw),
    route!(POST "/api/v1/cohorts/{id}/promotions", R(Staff), api::promote, api openapi::promote),
    route!(POST "/api/v1/cohorts/{id}/capacity", R(Staff), api::change_capacity, api openapi::change_capacity),
    route!(POST "/api/v1/cohorts/{id}/close", R(Staff), api::close, api openapi::close_enrollment),
    // ---- the JSON API: running a term (issue 15) ----
    route!(POST "/api/v1/cohorts/{id}/reopen", R(Staff), api::term::reopen, api openapi::reopen),
    route!(POST "/api/v1/cohorts/{id}/schedule", R(Staff), api::term::reschedule, api openapi::reschedule),
    route!(POST "/api/v1/cohorts/{id}/details", R(Staff), api::term::change_details, api openapi::change_details),
    route!(POST "/api/v1/cohorts/{id}/cancel", R(Staff), api::term::cancel, api openapi::cancel),
    route!(POST "/api/v1/cohorts/{id}/policy", R(Staff), api::term::set_policy, api openapi::set_policy),
    // ----
    // ---- waitlist offers (issue 15) ----
    route!(POST "/api/v1/cohorts/{id}/offers/{learner}/accept", R(Staff), api::offers::accept, api openapi::accept_offer),
    route!(POST "/api/v1/cohorts/{id}/offers/{learner}/decline", R(Staff), api::offers::decline, api openapi::decline_offer),
    route!(POST "/api/v1/cohorts/{id}/enrollments/bulk", R(Staff), api::bulk::bulk_enroll, api openapi::bulk_enroll),
    route!(POST "/api/v1/transfers", R(Staff), api::transfers::transfer, api openapi::transfer),
    route!(GET "/api/v1/events", R(Viewer), api::feed::events, api openapi::events),
    route!(GET "/api/v1/events/stream", R(Viewer), api::live::stream, api openapi::event_stream),
    route!(GET "/api/v1/learners/{learner}/timeline", R(Viewer), api::timeline, api openapi::learner_timeline),
    // Public: holds no data, only the shapes API.md publishes.
    route!(GET "/api/v1/openapi.json", Public, openapi_json, api openapi::openapi),
];

/// The `OpenAPI` document of [`ROUTES`], built on first use.
static DOCUMENT: LazyLock<Value> = LazyLock::new(|| openapi::build(ROUTES));

/// The document as served (pretty-printed JSON).
static SERVED: LazyLock<String> = LazyLock::new(|| {
    serde_json::to_string_pretty(document()).unwrap_or_else(|_| String::from("{}"))
});

/// The `OpenAPI` document describing every `/api/v1` operation.
#[must_use]
pub fn document() -> &'static Value {
    &DOCUMENT
}

/// `GET /api/v1/openapi.json`.
///
/// Public, like `/healthz`: it holds no data, only the shapes `API.md` already publishes, and
/// code generators and API explorers can fetch it without first making a token. Every
/// operation it describes still needs its token and role.
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        SERVED.as_str(),
    )
}

/// The route template of a matched path as the table declares it (a `&'static str`).
#[must_use]
pub fn declared_path(matched: &str) -> Option<&'static str> {
    ROUTES.iter().find(|r| r.path == matched).map(|r| r.path)
}

/// The whole HTTP surface, built from [`ROUTES`].
pub fn router(state: AppState) -> Router {
    let mut site = Router::new();
    let mut api = Router::new();
    for route in ROUTES {
        match route.path.strip_prefix("/api/v1") {
            Some(rest) => api = api.route(rest, (route.handler)()),
            None => site = site.route(route.path, (route.handler)()),
        }
    }
    let api = api
        .fallback(|| async {
            ApiError {
                status: StatusCode::NOT_FOUND,
                code: "not_found",
                message: "no such API route; see API.md".to_owned(),
            }
        })
        .method_not_allowed_fallback(|method: Method| async move {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                code: "method_not_allowed",
                message: format!("{method} is not allowed on this route; see API.md"),
            }
        });
    site.nest("/api/v1", api)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        // Runs after routing, so it knows each route's declared access (deny by default).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            |State(state): State<AppState>, request: Request, next: Next| {
                access::guard(state, ROUTES, request, next)
            },
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(super::catch_panics())
        // Outermost: error pages (a panic's too) name the time zone, which is the state's.
        .layer(axum::middleware::map_response_with_state(
            state.zone.clone(),
            error::render_error_pages,
        ))
        .with_state(state)
}
