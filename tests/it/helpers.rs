//! Shared test helpers: start the real application on port 0 with a temporary database and a
//! fixed clock, and talk to it over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use rollbook::app::{AppConfig, Application};
use rollbook::clock::FixedClock;
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

/// A running rollbook.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub clock: Arc<FixedClock>,
    pub db: PathBuf,
    dir: Option<TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// A fresh app on a new temporary database.
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("rollbook.redb");
        let clock = Arc::new(FixedClock::new(ts(NOW)));
        let mut app = Self::spawn_on(db, clock).await;
        app.dir = Some(dir);
        app
    }

    /// An app on an existing database path (kept by the caller).
    pub async fn spawn_on(db: PathBuf, clock: Arc<FixedClock>) -> Self {
        let mut config = AppConfig::new(db.clone(), "127.0.0.1:0".parse().unwrap());
        config.clock = clock.clone();
        let app = Application::build(&config).await.expect("app builds");
        let addr = app.local_addr().expect("bound");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            addr,
            client,
            clock,
            db,
            dir: None,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Stops the server gracefully (waiting for the writer to finish) and hands back the
    /// temporary directory that holds the database, so it can be reopened.
    pub async fn stop(mut self) -> (Option<TempDir>, PathBuf, Arc<FixedClock>) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
        (self.dir.take(), self.db.clone(), self.clock.clone())
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

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
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
