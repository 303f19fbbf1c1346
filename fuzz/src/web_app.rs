//! Form and JSON input through the real router: the fuzzer's bytes become the body (and some
//! headers) of a staff member's POST to one of the command routes of a running rollbook (a
//! temporary database, the writer, projections, sessions and CSRF, everything but the TCP
//! listener). Whatever it sends, the answer must not be a server error, and the API must
//! always answer JSON.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use jiff::Timestamp;
use rollbook::app::{AppConfig, Core};
use rollbook::auth::{Passwords, Role};
use rollbook::clock::FixedClock;
use rollbook::writer::WriterThread;
use tower::ServiceExt as _;

/// Form routes a staff member posts to; `{id}` is replaced by a cohort id.
const FORM_ROUTES: [&str; 8] = [
    "/cohorts",
    "/cohorts/{id}/enroll",
    "/cohorts/{id}/withdraw",
    "/cohorts/{id}/leave-waitlist",
    "/cohorts/{id}/promote",
    "/cohorts/{id}/capacity",
    "/cohorts/{id}/close",
    "/login",
];

/// API command routes.
const API_ROUTES: [&str; 6] = [
    "/api/v1/cohorts",
    "/api/v1/cohorts/{id}/enrollments",
    "/api/v1/cohorts/{id}/withdrawals",
    "/api/v1/cohorts/{id}/promotions",
    "/api/v1/cohorts/{id}/capacity",
    "/api/v1/cohorts/{id}/close",
];

const FORM_TYPES: [&str; 4] = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "text/plain",
    "multipart/form-data; boundary=x",
];

const JSON_TYPES: [&str; 4] = [
    "application/json",
    "application/json; charset=utf-8",
    "application/vnd.api+json",
    "text/plain",
];

/// Requests served by one app before it is rebuilt, so that what the fuzzer creates (cohorts,
/// learners, journal entries) does not pile up without bound.
const REQUESTS_PER_APP: u32 = 5_000;

const PASSWORD: &str = "fuzzing staff password, long enough";

/// Posts a form built from `data` to a page route: byte 0 picks the route, byte 1 the cohort
/// and the content type, the rest (after the session's CSRF field) is the body.
pub fn form(data: &[u8]) {
    let Some((&route, rest)) = data.split_first() else {
        return;
    };
    let (&choice, body) = rest.split_first().unwrap_or((&0, &[]));
    with_app(|app| {
        let path = app.path(FORM_ROUTES[usize::from(route) % FORM_ROUTES.len()], choice);
        let mut form = format!("csrf={}&", app.csrf).into_bytes();
        form.extend_from_slice(body);
        let request = Request::builder()
            .method(Method::POST)
            .uri(&path)
            .header(header::COOKIE, format!("rollbook_session={}", app.cookie))
            .header(
                header::CONTENT_TYPE,
                FORM_TYPES[usize::from(choice >> 2) % FORM_TYPES.len()],
            )
            .body(Body::from(form))
            .expect("a valid request");
        let (status, _) = app.send(request);
        assert!(!status.is_server_error(), "{status} for POST {path}");
    });
}

/// Posts a JSON body built from `data` to an API route: byte 0 picks the route, byte 1 the
/// cohort, the content type and which command headers to send; the rest is the body, whose
/// first line is also the value of those headers.
pub fn api_json(data: &[u8]) {
    let Some((&route, rest)) = data.split_first() else {
        return;
    };
    let (&choice, body) = rest.split_first().unwrap_or((&0, &[]));
    let first_line = body.split(|&b| b == b'\n').next().unwrap_or_default();
    let header_value = HeaderValue::from_bytes(first_line).ok();
    with_app(|app| {
        let path = app.path(API_ROUTES[usize::from(route) % API_ROUTES.len()], choice);
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(&path)
            .header(header::AUTHORIZATION, format!("Bearer {}", app.token))
            .header(
                header::CONTENT_TYPE,
                JSON_TYPES[usize::from(choice >> 2) % JSON_TYPES.len()],
            );
        if let Some(value) = header_value {
            for (bit, name) in [
                (4, "if-match"),
                (5, "idempotency-key"),
                (6, "x-correlation-id"),
            ] {
                if choice & (1 << bit) != 0 {
                    request = request.header(name, value.clone());
                }
            }
        }
        let request = request
            .body(Body::from(body.to_vec()))
            .expect("a valid request");
        let (status, answer) = app.send(request);
        assert!(!status.is_server_error(), "{status} for POST {path}");
        assert!(
            serde_json::from_slice::<serde_json::Value>(&answer).is_ok(),
            "{status} for POST {path} is not JSON: {}",
            String::from_utf8_lossy(&answer)
        );
    });
}

/// Runs `f` with the shared app, building it on first use and afresh every
/// [`REQUESTS_PER_APP`] requests.
fn with_app(f: impl FnOnce(&mut App)) {
    static APP: Mutex<Option<App>> = Mutex::new(None);
    let mut slot = APP.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(old) = slot.take_if(|app| app.served >= REQUESTS_PER_APP) {
        old.shut_down();
    }
    let app = slot.get_or_insert_with(App::start);
    app.served += 1;
    f(app);
}

/// A running rollbook without its listener, and a staff member signed in to it.
struct App {
    runtime: tokio::runtime::Runtime,
    router: Router,
    writer: WriterThread,
    /// Session cookie value and its CSRF token, for forms.
    cookie: String,
    csrf: String,
    /// Bearer token, for the API.
    token: String,
    /// A cohort with learners enrolled and waiting, for routes that name one.
    cohort: String,
    served: u32,
}

impl App {
    fn start() -> Self {
        // On tmpfs where there is one: every command commits, and fsync there is free.
        let parent = Path::new("/dev/shm");
        let dir = if parent.is_dir() {
            tempfile::tempdir_in(parent)
        } else {
            tempfile::tempdir()
        }
        .expect("a temporary directory");
        let mut config = AppConfig::new(dir.path().join("fuzz.redb"), ([127, 0, 0, 1], 0).into());
        let now: Timestamp = "2026-03-01T09:00:00Z".parse().expect("valid instant");
        config.clock = Arc::new(FixedClock::new(now));
        config.passwords = Passwords::cheap_for_tests();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let core = runtime
            .block_on(Core::open(&config))
            .expect("rollbook opens");
        // The open database stays usable once unlinked, and nothing is left behind, even
        // when libFuzzer exits without running destructors.
        drop(dir);
        let auth = core.state.auth.clone();
        auth.create_account("staff", Role::Staff, PASSWORD)
            .expect("account created");
        let (_, token) = auth.create_token("staff", "fuzz").expect("token created");
        let (cookie, principal) = auth
            .login("staff", PASSWORD, IpAddr::from([127, 0, 0, 1]), None)
            .expect("staff signs in");
        let csrf = principal.session.expect("a session").csrf;
        let Core { state, writer, .. } = core;
        let mut app = Self {
            runtime,
            router: rollbook::web::router(state),
            writer,
            cookie,
            csrf,
            token,
            cohort: String::new(),
            served: 0,
        };
        app.cohort = app.seed();
        app
    }

    /// Creates a cohort of two seats with two learners enrolled and two waiting.
    fn seed(&self) -> String {
        let create = r#"{"name":"Fuzzing","course":"SEC-101","instructor":"Ada","capacity":2,
            "starts_at":"2026-03-15T09:00:00Z","enrollment_deadline":"2026-03-10T00:00:00Z",
            "withdrawal_deadline":"2026-03-20T00:00:00Z"}"#;
        let (status, body) = self.post_json("/api/v1/cohorts", create);
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let created: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let id = created["id"].as_str().expect("an id").to_owned();
        for learner in ["ana@example.org", "ben@example.org", "S12345"] {
            let (status, body) = self.post_json(
                &format!("/api/v1/cohorts/{id}/enrollments"),
                &format!(r#"{{"learner":"{learner}"}}"#),
            );
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        }
        // The session and its CSRF token work: a valid form post is accepted.
        let (status, _) = self.send(
            Request::builder()
                .method(Method::POST)
                .uri(format!("/cohorts/{id}/enroll"))
                .header(header::COOKIE, format!("rollbook_session={}", self.cookie))
                .header(header::CONTENT_TYPE, FORM_TYPES[0])
                .body(Body::from(format!(
                    "csrf={}&learner=dan%40example.org",
                    self.csrf
                )))
                .expect("a valid request"),
        );
        assert_eq!(status, StatusCode::SEE_OTHER, "a valid form post");
        id
    }

    fn post_json(&self, path: &str, body: &str) -> (StatusCode, Vec<u8>) {
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_owned()))
                .expect("a valid request"),
        )
    }

    /// `route` with `{id}` replaced by the seeded cohort, a cohort that does not exist, or a
    /// segment that is no id, as `choice` says.
    fn path(&self, route: &str, choice: u8) -> String {
        let id = match choice & 3 {
            0 | 1 => self.cohort.as_str(),
            2 => "00000000-0000-0000-0000-000000000000",
            _ => "not-a-cohort%FF",
        };
        route.replace("{id}", id)
    }

    fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        self.runtime.block_on(async {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let status = response.status();
            let body = to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the body reads");
            (status, body.to_vec())
        })
    }

    /// Stops the writer, once every handle to it is gone.
    fn shut_down(self) {
        let Self {
            runtime,
            router,
            writer,
            ..
        } = self;
        drop(router);
        drop(runtime);
        writer.join();
    }
}
