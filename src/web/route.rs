//! What one route declares: its method, path, who may call it, its handler and, for the JSON
//! API, what it takes and answers. The table of every route is [`super::routes::ROUTES`]; this
//! module holds only the shapes, so the access guard and the `OpenAPI` builder can read the
//! table without depending on the handlers.

use axum::http::Method;
use axum::routing::MethodRouter;
use serde_json::Value;

use super::AppState;
use crate::auth::Role;

/// What a route requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// A signed-in account with at least this role.
    Role(Role),
    /// For a metrics scraper: an admin, by session or by bearer token, or any client whose
    /// address is in `--metrics-allow`. Refusals are API-style (401/403, no login redirect).
    Scrape,
}

/// One route: declared once, in [`super::routes::ROUTES`].
pub struct Route {
    /// The HTTP method (`HEAD` is served by the `GET` route).
    pub method: Method,
    /// The path template, as the router matches it (`/cohorts/{id}`).
    pub path: &'static str,
    /// Who may call it; the guard refuses a route missing from the table.
    pub access: Access,
    /// The handler, bound to `method`.
    pub handler: fn() -> MethodRouter<AppState>,
    /// For an `/api/v1` route: its `OpenAPI` operation.
    pub api: Option<fn() -> Operation>,
}

impl Route {
    /// Whether `method path` is this route (`HEAD` asks the `GET` route).
    #[must_use]
    pub fn is(&self, method: &Method, path: &str) -> bool {
        let method = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.method == *method && self.path == path
    }
}

/// The access `routes` declares for `method path`, if any.
#[must_use]
pub fn required(routes: &[Route], method: &Method, path: &str) -> Option<Access> {
    routes.iter().find(|r| r.is(method, path)).map(|r| r.access)
}

/// A schema, written into the generator's definitions (see `openapi::typed`).
pub type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

/// The shape of a JSON body.
#[derive(Clone, Copy)]
pub enum Shape {
    /// Derived from a type's declaration: see `web::api::bodies`.
    Typed(SchemaFn),
    /// Written by hand under this name in `openapi::schemas` (only the document itself).
    Named(&'static str),
    /// A `text/csv` file (a bulk enrollment's), not JSON.
    Csv,
    /// Server-Sent Events (`text/event-stream`), not JSON.
    EventStream,
}

/// What one API operation takes and answers; its method, path and role come from its [`Route`].
pub struct Operation {
    /// The `operationId`.
    pub id: &'static str,
    /// One line.
    pub summary: &'static str,
    /// A paragraph (Markdown code spans allowed).
    pub description: &'static str,
    /// A writer command: takes `Idempotency-Key` and the correlation headers.
    pub command: bool,
    /// A cohort command: also takes `If-Match`.
    pub if_match: bool,
    /// Path and query parameters.
    pub parameters: Vec<Value>,
    /// The request body's shape.
    pub body: Option<Shape>,
    /// Status, shape and description of the success answer.
    pub success: (u16, Shape, &'static str),
    /// Every (status, error code) the operation can answer besides the success.
    pub errors: Vec<(u16, &'static str)>,
}
