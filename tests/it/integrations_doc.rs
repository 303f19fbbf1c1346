//! The README's "Integrations" section, run as the README shows it: the signature verifiers
//! (Python, Node.js and Perl, standard libraries only) are cut out of README.md by their
//! markers, written to files and run with `/usr/bin/python3`, `/usr/bin/node` and
//! `/usr/bin/perl` on a delivery a loopback receiver captured from the real server. Each must
//! accept the genuine delivery and refuse a tampered body, a stale timestamp and a wrong
//! secret. Also the loopback receiver other tests use (`/metrics` delivery counters).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rollbook::auth::Role;
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

use crate::helpers::TestApp;

/// The longest a test waits for a delivery.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One request as a receiver got it.
#[derive(Clone, Debug)]
pub struct Capture {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Capture {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

struct Shared {
    status: AtomicU16,
    seen: mpsc::UnboundedSender<Capture>,
}

/// A webhook receiver on loopback that records every request and answers `status` (200 until
/// told otherwise).
pub struct Loopback {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    seen: Mutex<mpsc::UnboundedReceiver<Capture>>,
    task: tokio::task::JoinHandle<()>,
}

impl Loopback {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            status: AtomicU16::new(200),
            seen: tx,
        });
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            addr,
            shared,
            seen: Mutex::new(rx),
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Answers every later request with `status`.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// The next request received, or a failure after [`PATIENCE`].
    pub async fn next(&self) -> Capture {
        tokio::time::timeout(PATIENCE, self.seen.lock().await.recv())
            .await
            .expect("a delivery in time")
            .expect("receiver open")
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let _ = shared.seen.send(Capture { headers, body });
    StatusCode::from_u16(shared.status.load(Ordering::SeqCst)).unwrap()
}

/// Creates a subscription named `name` to `url` as admin: its id and secret.
pub async fn subscribe(app: &TestApp, name: &str, url: &str, extra: Value) -> (String, String) {
    let mut body = json!({"name": name, "url": url});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let response = app
        .api_client(Role::Admin)
        .post(app.url("/api/v1/admin/webhooks"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}
