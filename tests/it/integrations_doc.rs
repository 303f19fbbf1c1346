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
    /// The status the receiver answered.
    pub answered: u16,
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
    let answered = shared.status.load(Ordering::SeqCst);
    let _ = shared.seen.send(Capture {
        headers,
        body,
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
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

/// The fenced block right after the line `<!-- integrations-doc: {name} -->` in README.md.
fn snippet(readme: &str, name: &str) -> String {
    let marker = format!("<!-- integrations-doc: {name} -->");
    let after = &readme[readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README.md has no {marker}"))
        + marker.len()..];
    let mut lines = after.lines().skip_while(|l| l.trim().is_empty());
    let fence = lines.next().expect("a fenced block after the marker");
    assert!(
        fence.starts_with("```"),
        "{marker} is followed by {fence:?}"
    );
    let code: Vec<&str> = lines.take_while(|l| !l.starts_with("```")).collect();
    code.join("\n") + "\n"
}

/// What one snippet says of a delivery: whether it exited 0 (and printed `genuine`).
fn run(interpreter: &str, script: &Path, secret: &str, delivery: &Capture, body: &[u8]) -> bool {
    use std::io::Write as _;
    let mut child = Command::new(interpreter)
        .arg(script)
        .arg(delivery.header("webhook-id"))
        .arg(delivery.header("webhook-timestamp"))
        .arg(delivery.header("webhook-signature"))
        .env("WEBHOOK_SECRET", secret)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{interpreter} runs: {e}"));
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {
            assert_eq!(stdout.trim(), "genuine", "{interpreter}: {stderr}");
            true
        }
        Some(1) => {
            assert_eq!(stdout.trim(), "refused", "{interpreter}: {stderr}");
            false
        }
        other => panic!(
            "{interpreter} {} ended with {other:?}: {stdout}{stderr}",
            script.display()
        ),
    }
}

#[tokio::test]
async fn the_readme_verifiers_accept_a_real_delivery_and_refuse_tampered_or_stale_ones() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let dir = tempfile::tempdir().unwrap();
    let scripts: Vec<(&str, std::path::PathBuf)> = [
        ("python", "/usr/bin/python3", "verify.py"),
        ("node", "/usr/bin/node", "verify.js"),
        ("perl", "/usr/bin/perl", "verify.pl"),
    ]
    .into_iter()
    .map(|(name, interpreter, file)| {
        let path = dir.path().join(file);
        std::fs::write(&path, snippet(&readme, name)).unwrap();
        (interpreter, path)
    })
    .collect();

    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Rust 101", 10).await;
    let receiver = Loopback::start().await;
    let (id, secret) = subscribe(&app, "crm", &receiver.url(), json!({})).await;
    // The receiver refuses until the server's clock reads the real time (the scripts check the
    // timestamp against it): the delivery it then takes is signed now.
    receiver.answer(500);
    app.enroll(&cohort, "ana@example.org").await;
    let refused = receiver.next().await;
    let real_now = jiff::Timestamp::now();
    app.clock.set(real_now);
    receiver.answer(200);
    let genuine = loop {
        let delivery = receiver.next().await;
        if delivery.answered == 200 {
            assert_eq!(
                delivery.header("webhook-timestamp"),
                real_now.as_second().to_string()
            );
            break delivery;
        }
    };
    assert_eq!(genuine.header("webhook-id"), refused.header("webhook-id"));
    let position: u64 = genuine.header("webhook-id")["evt_".len()..]
        .parse()
        .unwrap();
    println!(
        "a delivery:\n{:?}\n{}",
        genuine.headers,
        String::from_utf8_lossy(&genuine.body)
    );

    // The same event again (a replay from the position before it), signed ten minutes ago.
    let ten_minutes_ago = real_now - jiff::SignedDuration::from_mins(10);
    app.clock.set(ten_minutes_ago);
    let moved = app
        .api_client(Role::Admin)
        .post(app.url(&format!("/api/v1/admin/webhooks/{id}/position")))
        .json(&json!({"position": position - 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let stale = loop {
        let delivery = receiver.next().await;
        if delivery.header("webhook-timestamp") == ten_minutes_ago.as_second().to_string() {
            break delivery;
        }
    };
    assert_eq!(stale.header("webhook-id"), genuine.header("webhook-id"));
    assert_eq!(stale.body, genuine.body);
    // Its signature is right: only its age is wrong.
    let key = base64_decode(secret.strip_prefix("whsec_").unwrap());
    let stale_ts: i64 = stale.header("webhook-timestamp").parse().unwrap();
    assert_eq!(
        stale.header("webhook-signature"),
        rollbook::webhooks::signature(&key, &stale.header("webhook-id"), stale_ts, &stale.body)
    );

    let mut tampered = genuine.body.to_vec();
    let at = tampered
        .windows(b"ana@".len())
        .position(|w| w == b"ana@")
        .expect("the learner in the body");
    tampered[at] = b'e';
    let other_secret = rollbook::webhooks::secret_text(&[7u8; 32]);
    for (interpreter, script) in &scripts {
        assert!(
            run(interpreter, script, &secret, &genuine, &genuine.body),
            "{interpreter} refused the genuine delivery"
        );
        assert!(
            !run(interpreter, script, &secret, &genuine, &tampered),
            "{interpreter} took a changed body"
        );
        assert!(
            !run(interpreter, script, &secret, &stale, &stale.body),
            "{interpreter} took a delivery signed ten minutes ago"
        );
        assert!(
            !run(interpreter, script, &other_secret, &genuine, &genuine.body),
            "{interpreter} took another secret's signature"
        );
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}
