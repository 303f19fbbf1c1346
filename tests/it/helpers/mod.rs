//! Shared test helpers: start the real application on port 0 with a temporary database and a
//! fixed clock, and talk to it over HTTP. The submodules hold the rest of what several test
//! files share: the real binary ([`process`]), the crash harness ([`audit`], [`backends`],
//! [`workload`], [`faults`]), page text ([`text`]), raw TCP ([`socket`]) and the
//! router wired by hand over a store the test holds ([`wired`]).

pub mod audit;
pub mod backends;
pub mod faults;
pub mod process;
pub mod socket;
pub mod text;
pub mod wired;
pub mod workload;

pub use text::*;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rollbook::app::{AppConfig, Application};
use rollbook::auth::{Auth, Passwords, Role};
use rollbook::clock::FixedClock;
use rollbook::store::{Store, StoreOptions};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The instant every test app starts at.
pub const NOW: &str = "2026-03-01T09:00:00Z";
/// Deadlines of the cohorts [`TestApp::create_cohort`] makes.
pub const ENROLLMENT_DEADLINE: &str = "2026-03-10T00:00:00Z";
pub const STARTS_AT: &str = "2026-03-15T09:00:00Z";
pub const WITHDRAWAL_DEADLINE: &str = "2026-03-20T00:00:00Z";

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

/// The password of every seeded account: `<role> password, long enough`.
pub fn password_of(role: Role) -> String {
    format!("{role} password, long enough")
}

/// The seeded accounts' API tokens, by role.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub tokens: HashMap<Role, String>,
}

impl Credentials {
    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }
}

/// Seeds (once per database) an account per role, named after it, and a token for each.
pub fn seed(db: &std::path::Path, clock: Arc<FixedClock>) -> Credentials {
    let store = Arc::new(Store::open(db, &StoreOptions::default()).expect("store opens"));
    let auth = Auth::load(
        store,
        Passwords::cheap_for_tests(),
        clock,
        SignedDuration::from_hours(12),
    )
    .expect("auth loads");
    let mut tokens = HashMap::new();
    for role in Role::ALL {
        auth.create_account(role.as_str(), role, &password_of(role))
            .expect("account created");
        let (_, token) = auth
            .create_token(role.as_str(), "tests")
            .expect("token created");
        tokens.insert(role, token);
    }
    Credentials { tokens }
}

/// A running rollbook.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Signed in as `staff`: a session (cookies) for pages, a bearer token for the API.
    pub client: reqwest::Client,
    /// The CSRF token of `client`'s session.
    pub csrf: String,
    pub clock: Arc<FixedClock>,
    pub db: PathBuf,
    pub credentials: Credentials,
    dir: Option<TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// A fresh app on a new temporary database.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A fresh app on a new temporary database, with its configuration adjusted by `tweak`
    /// (timeouts, connection limits) before it starts.
    pub async fn spawn_with(tweak: impl FnOnce(&mut AppConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("rollbook.redb");
        let clock = Arc::new(FixedClock::new(ts(NOW)));
        let credentials = seed(&db, clock.clone());
        let mut app = Self::start(db, clock, credentials, tweak).await;
        app.dir = Some(dir);
        app
    }

    /// An app on an existing, already seeded database (kept by the caller).
    pub async fn spawn_on(db: PathBuf, clock: Arc<FixedClock>, credentials: Credentials) -> Self {
        Self::start(db, clock, credentials, |_| {}).await
    }

    /// [`TestApp::spawn_on`] with the configuration adjusted by `tweak`.
    pub async fn spawn_on_with(
        db: PathBuf,
        clock: Arc<FixedClock>,
        credentials: Credentials,
        tweak: impl FnOnce(&mut AppConfig),
    ) -> Self {
        Self::start(db, clock, credentials, tweak).await
    }

    async fn start(
        db: PathBuf,
        clock: Arc<FixedClock>,
        credentials: Credentials,
        tweak: impl FnOnce(&mut AppConfig),
    ) -> Self {
        let mut config = AppConfig::new(db.clone(), "127.0.0.1:0".parse().unwrap());
        config.clock = clock.clone();
        config.passwords = Passwords::cheap_for_tests();
        // Tests move the clock by days to cross deadlines; sessions must outlive that unless a
        // test is about idle expiry (and sets it).
        config.session_idle = SignedDuration::from_hours(24 * 365);
        // Webhook receivers in tests listen on loopback; retries are quick.
        config.webhooks.allow_private = true;
        config.webhooks.backoff_min = std::time::Duration::from_millis(5);
        config.webhooks.backoff_max = std::time::Duration::from_millis(50);
        tweak(&mut config);
        let app = Application::build(&config).await.expect("app builds");
        assert!(
            app.initial_admin_password().is_none(),
            "the seeded database has accounts"
        );
        let addr = app.local_addr().expect("bound");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        let mut app = Self {
            addr,
            client: reqwest::Client::new(),
            csrf: String::new(),
            clock,
            db,
            credentials,
            dir: None,
            shutdown: Some(tx),
            server: Some(server),
        };
        let (client, csrf) = app.signed_in(Role::Staff).await;
        app.client = client;
        app.csrf = csrf;
        app
    }

    /// Keeps `dir` (holding the database) alive as long as the app.
    pub fn keep(&mut self, dir: TempDir) {
        self.dir = Some(dir);
    }

    /// A client with no session and no token.
    #[allow(
        clippy::unused_self,
        reason = "reads as app.anonymous() beside app.signed_in(role)"
    )]
    pub fn anonymous(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client")
    }

    /// A client signed in as the seeded account of `role` (session cookie and bearer token),
    /// and its session's CSRF token. It sends both credentials everywhere, so it cannot show
    /// which one a route accepts: use [`TestApp::page_client`] or [`TestApp::api_client`] for
    /// that.
    pub async fn signed_in(&self, role: Role) -> (reqwest::Client, String) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .default_headers(self.bearer(role))
            .build()
            .expect("client");
        let csrf = self.log_in(&client, role).await;
        (client, csrf)
    }

    /// A client signed in as `role` by session cookie only (no bearer token), as a browser is,
    /// and its session's CSRF token.
    pub async fn page_client(&self, role: Role) -> (reqwest::Client, String) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client");
        let csrf = self.log_in(&client, role).await;
        (client, csrf)
    }

    /// Signs `client` in as the seeded account of `role` through the login form and returns its
    /// session's CSRF token (from the home page).
    async fn log_in(&self, client: &reqwest::Client, role: Role) -> String {
        let login = client
            .post(self.url("/login"))
            .form(&[
                ("name", role.as_str()),
                ("password", &password_of(role)),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), 303, "login as {role}");
        let home = client.get(self.url("/")).send().await.expect("home");
        assert_eq!(home.status(), 200, "home page as {role}");
        let home = home.text().await.expect("html");
        csrf_of(&home)
    }

    /// An `Authorization: Bearer` header with `role`'s token.
    fn bearer(&self, role: Role) -> reqwest::header::HeaderMap {
        let mut headers = reqwest::header::HeaderMap::new();
        let bearer = format!("Bearer {}", self.credentials.token(role));
        headers.insert(
            reqwest::header::AUTHORIZATION,
            bearer.parse().expect("header"),
        );
        headers
    }

    /// A client that sends `role`'s bearer token only (no cookies), as a script does.
    pub fn api_client(&self, role: Role) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(self.bearer(role))
            .build()
            .expect("client")
    }

    /// Stops the server gracefully (waiting for the writer to finish) and hands back what is
    /// needed to start it again on the same database.
    pub async fn stop(mut self) -> (Option<TempDir>, PathBuf, Arc<FixedClock>, Credentials) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
        (
            self.dir.take(),
            self.db.clone(),
            self.clock.clone(),
            self.credentials.clone(),
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Posts a form as `client` would from a page: with the session's CSRF token.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &self.csrf));
        self.client
            .post(self.url(path))
            .form(&fields)
            .send()
            .await
            .expect("POST form")
    }

    /// Creates a cohort through the API and returns its id.
    pub async fn create_cohort(&self, name: &str, capacity: u32) -> String {
        let (status, body) = self
            .post_json("/api/v1/cohorts", &cohort_body(name, capacity))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Enrolls through the API; returns the outcome ("enrolled" / "waitlisted").
    pub async fn enroll(&self, cohort: &str, learner: &str) -> String {
        let (status, body) = self
            .post_json(
                &format!("/api/v1/cohorts/{cohort}/enrollments"),
                &json!({"learner": learner}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["outcome"].as_str().expect("outcome").to_owned()
    }

    pub async fn cohort(&self, cohort: &str) -> Value {
        let (status, body) = self.get_json(&format!("/api/v1/cohorts/{cohort}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// Position of the newest event in the store.
pub async fn head(app: &TestApp) -> u64 {
    let (status, body) = app.get_json("/api/v1/events?limit=1").await;
    assert_eq!(status, 200, "{body}");
    body["head"].as_u64().expect("head")
}

/// Withdraws through the API (a waitlisted learner leaves the waitlist); returns the body.
pub async fn withdraw(app: &TestApp, cohort: &str, learner: &str, reason: &str) -> Value {
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/withdrawals"),
            &json!({"learner": learner, "reason": reason}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The JSON body of a valid cohort.
pub fn cohort_body(name: &str, capacity: u32) -> Value {
    json!({
        "name": name,
        "course": "RUST-101",
        "instructor": "Ada Lovelace",
        "capacity": capacity,
        "starts_at": STARTS_AT,
        "enrollment_deadline": ENROLLMENT_DEADLINE,
        "withdrawal_deadline": WITHDRAWAL_DEADLINE,
    })
}

/// The learner keys of a cohort JSON's `enrolled` or `waitlist`.
pub fn keys(cohort: &Value, list: &str) -> Vec<String> {
    cohort[list]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["learner"].as_str().expect("learner").to_owned())
        .collect()
}

/// The CSRF token a page's forms carry.
pub fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html
        .find(marker)
        .expect("the page has a form with a CSRF token")
        + marker.len();
    html[start..].split('"').next().expect("token").to_owned()
}
