//! Webhook subscriptions (issue 17) against a real receiver on loopback that verifies each
//! Standard Webhooks signature itself (HMAC-SHA256 from the `hmac` and `sha2` crates) and
//! records what it got: delivery exactly once and in order while healthy, the backlog after the
//! receiver was down, pausing after failing and resuming where it stopped, a server restart in
//! the middle of a delivery, the SSRF guard, and who may manage subscriptions.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit as _, Mac as _};
use rollbook::auth::Role;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

use crate::helpers::{TestApp, head};

/// The longest any test waits for something to arrive.
const PATIENCE: Duration = Duration::from_secs(20);

/// What the receiver got in one request.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    position: u64,
    kind: String,
    signature_ok: bool,
    /// The request as sent, to verify again with a secret learnt later.
    headers: HeaderMap,
    body: Bytes,
}

struct ReceiverState {
    secret: Mutex<Vec<u8>>,
    status: AtomicU16,
    /// When set, each request waits for a permit before it is answered.
    hold: Option<Arc<Semaphore>>,
    /// Told when a request arrives, before it waits for `hold`.
    entered: mpsc::UnboundedSender<u64>,
    seen: mpsc::UnboundedSender<Received>,
}

/// A receiver on loopback; dropping `task` takes it down with its connections.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(addr: SocketAddr, state: Arc<ReceiverState>) -> Self {
        let listener = TcpListener::bind(addr).await.expect("receiver binds");
        let addr = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        // Its own accept loop, so that aborting it closes every open connection too.
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn stop(self) -> (SocketAddr, Arc<ReceiverState>) {
        self.task.abort();
        (self.addr, self.state)
    }
}

fn receiver_state(
    hold: Option<Arc<Semaphore>>,
) -> (Arc<ReceiverState>, mpsc::UnboundedReceiver<Received>) {
    let (state, rx, _entered) = receiver_state_entered(hold);
    (state, rx)
}

/// [`receiver_state`], with a receiver of the positions of requests as they arrive.
fn receiver_state_entered(
    hold: Option<Arc<Semaphore>>,
) -> (
    Arc<ReceiverState>,
    mpsc::UnboundedReceiver<Received>,
    mpsc::UnboundedReceiver<u64>,
) {
    let (seen, rx) = mpsc::unbounded_channel();
    let (entered, entered_rx) = mpsc::unbounded_channel();
    let state = Arc::new(ReceiverState {
        secret: Mutex::new(Vec::new()),
        status: AtomicU16::new(200),
        hold,
        entered,
        seen,
    });
    (state, rx, entered_rx)
}

/// Verifies the signature as a receiver following the specification does.
fn verify(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header("webhook-signature")
        .split(' ')
        .any(|candidate| candidate == expected)
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let event: Value = serde_json::from_slice(&body).unwrap_or_default();
    let _ = state
        .entered
        .send(event["position"].as_u64().unwrap_or_default());
    if let Some(hold) = &state.hold {
        hold.acquire().await.expect("semaphore").forget();
    }
    let secret = state.secret.lock().unwrap().clone();
    let _ = state.seen.send(Received {
        id: headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        position: event["position"].as_u64().unwrap_or_default(),
        kind: event["type"].as_str().unwrap_or_default().to_owned(),
        signature_ok: verify(&secret, &headers, &body),
        headers,
        body,
    });
    StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap()
}

/// The next request the receiver got, or a failure after [`PATIENCE`].
async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("the receiver got a request in time")
        .expect("receiver open")
}

/// Creates a subscription as admin and hands its secret to the receiver.
async fn subscribe(
    app: &TestApp,
    receiver: &ReceiverState,
    url: &str,
    extra: Value,
) -> (String, u64) {
    let mut body = json!({"name": "crm", "url": url});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, created) = post(app, Role::Admin, "/api/v1/admin/webhooks", &body).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .unwrap();
    assert!(key.len() >= 24, "a secret of {} bytes", key.len());
    *receiver.secret.lock().unwrap() = key;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["position"].as_u64().unwrap(),
    )
}

async fn post(app: &TestApp, role: Role, path: &str, body: &Value) -> (u16, Value) {
    let response = app
        .api_client(role)
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn listed(app: &TestApp, id: &str) -> Value {
    let response = app
        .api_client(Role::Admin)
        .get(app.url("/api/v1/admin/webhooks"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .cloned()
        .expect("listed")
}

/// Waits until the listed subscription satisfies `done` (the state is the server's to reach;
/// each look is a request, bounded by [`PATIENCE`]).
async fn until(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let item = listed(app, id).await;
        if done(&item) {
            return item;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the subscription never got there: {item}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_healthy_receiver_gets_every_event_once_in_order_signed() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Rust 101", 2).await;
    let start = head(&app).await;
    let (state, mut rx) = receiver_state(None);
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), state).await;
    let (id, position) = subscribe(&app, &receiver.state, &receiver.url(), json!({})).await;
    assert_eq!(position, start, "a new subscription starts at the head");
    // A second subscription takes only waitlistings.
    let (filtered_state, mut filtered_rx) = receiver_state(None);
    let filtered = Receiver::start("127.0.0.1:0".parse().unwrap(), filtered_state).await;
    subscribe(
        &app,
        &filtered.state,
        &filtered.url(),
        json!({"event_types": ["student.waitlisted"]}),
    )
    .await;

    for learner in ["ana@example.org", "bo@example.org", "cy@example.org"] {
        app.enroll(&cohort, learner).await;
    }
    let end = head(&app).await;
    let mut got = Vec::new();
    for _ in start..end {
        got.push(next(&mut rx).await);
    }
    let positions: Vec<u64> = got.iter().map(|r| r.position).collect();
    assert_eq!(positions, ((start + 1)..=end).collect::<Vec<_>>());
    assert!(got.iter().all(|r| r.signature_ok), "{got:?}");
    assert!(got.iter().all(|r| r.id == format!("evt_{}", r.position)));
    assert_eq!(
        got.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        ["student.enrolled", "student.enrolled", "student.waitlisted"]
    );
    let only = next(&mut filtered_rx).await;
    assert_eq!(
        (only.kind.as_str(), only.position),
        ("student.waitlisted", end)
    );
    let item = until(&app, &id, |w| w["position"] == end).await;
    assert_eq!(item["lag"], 0);
    assert_eq!(item["status"], "active");
    // Nothing more arrives: each event was sent once.
    app.enroll(&cohort, "di@example.org").await;
    let after = next(&mut rx).await;
    assert_eq!(after.position, end + 1, "no event was sent twice");
}

#[tokio::test]
async fn a_receiver_down_then_up_gets_the_backlog_in_order_and_the_lag_drains() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Rust 101", 10).await;
    let (state, mut rx) = receiver_state(None);
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), state).await;
    let (id, start) = subscribe(&app, &receiver.state, &receiver.url(), json!({})).await;
    app.enroll(&cohort, "ana@example.org").await;
    assert_eq!(next(&mut rx).await.position, start + 1);
    until(&app, &id, |w| w["position"] == start + 1).await;

    let (addr, state) = receiver.stop();
    for n in 0..5 {
        app.enroll(&cohort, &format!("l{n}@example.org")).await;
    }
    let end = head(&app).await;
    let down = until(&app, &id, |w| !w["last_error"].is_null()).await;
    assert!(down["lag"].as_u64().unwrap() > 0, "{down}");
    assert_eq!(down["position"], start + 1, "nothing advanced while down");

    let _receiver = Receiver::start(addr, state).await;
    let backlog: Vec<u64> = {
        let mut got = Vec::new();
        while got.len() < 5 {
            let r = next(&mut rx).await;
            assert!(r.signature_ok);
            got.push(r.position);
        }
        got
    };
    assert_eq!(backlog, ((start + 2)..=end).collect::<Vec<_>>());
    let drained = until(&app, &id, |w| w["lag"] == 0).await;
    assert_eq!(drained["position"], end);
    assert!(
        drained["last_error"].is_null(),
        "a success clears the error: {drained}"
    );
}

#[tokio::test]
async fn a_failing_receiver_is_paused_after_the_allowed_time_and_resume_continues() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Rust 101", 10).await;
    let (state, mut rx) = receiver_state(None);
    state.status.store(500, Ordering::SeqCst);
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), state).await;
    let (id, start) = subscribe(&app, &receiver.state, &receiver.url(), json!({})).await;
    app.enroll(&cohort, "ana@example.org").await;
    app.enroll(&cohort, "bo@example.org").await;
    // Retried, never advanced, not yet paused (the clock stands still).
    for _ in 0..3 {
        assert_eq!(next(&mut rx).await.position, start + 1);
    }
    let failing = listed(&app, &id).await;
    assert_eq!(failing["status"], "active");
    assert_eq!(failing["position"], start);
    assert!(
        failing["last_error"].as_str().unwrap().contains("500"),
        "{failing}"
    );

    // A day passes: the next failure pauses it.
    app.clock
        .set(rollbook::clock::Clock::now(&*app.clock) + jiff::SignedDuration::from_hours(25));
    let paused = until(&app, &id, |w| w["status"] == "paused").await;
    assert_eq!(paused["position"], start);
    while rx.try_recv().is_ok() {}

    receiver.state.status.store(200, Ordering::SeqCst);
    let (status, resumed) = post(
        &app,
        Role::Admin,
        &format!("/api/v1/admin/webhooks/{id}/resume"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["status"], "active");
    assert_eq!(
        next(&mut rx).await.position,
        start + 1,
        "resumed where it stopped"
    );
    assert_eq!(next(&mut rx).await.position, start + 2);
    until(&app, &id, |w| w["lag"] == 0).await;
}

#[tokio::test]
async fn a_server_restart_mid_delivery_loses_nothing_and_repeats_only_the_same_id() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Rust 101", 10).await;
    // The receiver holds each request until given a permit.
    let hold = Arc::new(Semaphore::new(0));
    let (state, mut rx, mut entered) = receiver_state_entered(Some(hold.clone()));
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), state).await;
    let (id, start) = subscribe(&app, &receiver.state, &receiver.url(), json!({})).await;
    app.enroll(&cohort, "ana@example.org").await;
    app.enroll(&cohort, "bo@example.org").await;
    let end = head(&app).await;
    hold.add_permits(1);
    let first = next(&mut rx).await;
    assert_eq!(first.position, start + 1);
    until(&app, &id, |w| w["position"] == start + 1).await;
    // The second request is in flight (arrived, held, unanswered) when the server stops.
    loop {
        let arrived = tokio::time::timeout(PATIENCE, entered.recv())
            .await
            .expect("the second request arrives in time")
            .expect("receiver open");
        if arrived == end {
            break;
        }
    }
    let (dir, db, clock, credentials) = app.stop().await;
    let mut app = TestApp::spawn_on(db, clock, credentials).await;
    if let Some(dir) = dir {
        app.keep(dir);
    }
    hold.add_permits(10);
    let mut got = Vec::new();
    while got.last().map(|r: &Received| r.position) != Some(end) {
        got.push(next(&mut rx).await);
    }
    // Every attempt at the second event carries its one id; nothing is skipped.
    assert!(
        got.iter()
            .all(|r| r.position == end && r.id == format!("evt_{end}")),
        "{got:?}"
    );
    until(&app, &id, |w| w["position"] == end).await;
}

#[tokio::test]
async fn private_and_metadata_targets_are_refused_without_the_flag() {
    let app = TestApp::spawn_with(|config| config.webhooks.allow_private = false).await;
    let (state, mut rx) = receiver_state(None);
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), state).await;
    for url in [
        receiver.url(),
        format!("http://localhost:{}/hook", receiver.addr.port()),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_owned(),
        "http://[::ffff:127.0.0.1]:9/hook".to_owned(),
        "http://0.0.0.0:9/hook".to_owned(),
    ] {
        let (status, body) = post(
            &app,
            Role::Admin,
            "/api/v1/admin/webhooks",
            &json!({"name": "x", "url": url}),
        )
        .await;
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(body["error"]["code"], "url_not_allowed", "{url}");
    }
    for url in ["file:///etc/passwd", "gopher://127.0.0.1/", "not a url"] {
        let (status, body) = post(
            &app,
            Role::Admin,
            "/api/v1/admin/webhooks",
            &json!({"name": "x", "url": url}),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("invalid_url")),
            "{url}"
        );
    }
    assert!(rx.try_recv().is_err(), "nothing reached the receiver");
}

#[tokio::test]
async fn a_subscription_to_loopback_is_refused_at_delivery_once_the_flag_is_off() {
    // Stored while private targets were allowed (or a name that resolved elsewhere then).
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Rust 101", 10).await;
    let (state, mut rx) = receiver_state(None);
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), state).await;
    let (id, start) = subscribe(
        &app,
        &receiver.state,
        &format!("http://localhost:{}/hook", receiver.addr.port()),
        json!({}),
    )
    .await;
    let (dir, db, clock, credentials) = app.stop().await;
    let mut app = TestApp::spawn_on_with(db, clock, credentials, |config| {
        config.webhooks.allow_private = false;
    })
    .await;
    if let Some(dir) = dir {
        app.keep(dir);
    }
    app.enroll(&cohort, "ana@example.org").await;
    let refused = until(&app, &id, |w| !w["last_error"].is_null()).await;
    assert!(
        refused["last_error"]
            .as_str()
            .unwrap()
            .contains("webhook-allow-private"),
        "{refused}"
    );
    assert_eq!(refused["position"], start);
    assert!(rx.try_recv().is_err(), "nothing reached the receiver");
}

#[tokio::test]
async fn only_admins_manage_subscriptions() {
    let app = TestApp::spawn().await;
    let (state, _rx) = receiver_state(None);
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), state).await;
    let (id, _) = subscribe(&app, &receiver.state, &receiver.url(), json!({})).await;
    for role in [Role::Viewer, Role::Staff] {
        let client = app.api_client(role);
        let list = client
            .get(app.url("/api/v1/admin/webhooks"))
            .send()
            .await
            .unwrap();
        assert_eq!(list.status(), 403, "{role} listed");
        for path in [
            "/api/v1/admin/webhooks".to_owned(),
            format!("/api/v1/admin/webhooks/{id}/pause"),
            format!("/api/v1/admin/webhooks/{id}/resume"),
            format!("/api/v1/admin/webhooks/{id}/position"),
        ] {
            let (status, _) = post(
                &app,
                role,
                &path,
                &json!({"name": "x", "url": receiver.url(), "position": 0}),
            )
            .await;
            assert_eq!(status, 403, "{role} {path}");
        }
        let delete = client
            .delete(app.url(&format!("/api/v1/admin/webhooks/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(delete.status(), 403, "{role} deleted");
    }
    // The subscription is untouched, and an admin can move and delete it.
    let item = listed(&app, &id).await;
    assert_eq!(item["status"], "active");
    let (status, moved) = post(
        &app,
        Role::Admin,
        &format!("/api/v1/admin/webhooks/{id}/position"),
        &json!({"position": 0}),
    )
    .await;
    assert_eq!((status, moved["position"].as_u64()), (200, Some(0)));
    let (status, body) = post(
        &app,
        Role::Admin,
        &format!("/api/v1/admin/webhooks/{id}/position"),
        &json!({"position": 1_000_000}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("position_out_of_range"))
    );
    let deleted = app
        .api_client(Role::Admin)
        .delete(app.url(&format!("/api/v1/admin/webhooks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let (status, _) = post(
        &app,
        Role::Admin,
        &format!("/api/v1/admin/webhooks/{id}/pause"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_admin_page_creates_shows_and_changes_subscriptions() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Rust 101", 10).await;
    app.enroll(&cohort, "ana@example.org").await;
    let end = head(&app).await;
    let (state, mut rx) = receiver_state(None);
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), state).await;
    let (admin, csrf) = app.page_client(Role::Admin).await;
    let url = receiver.url();
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "crm"),
        ("url", url.as_str()),
        ("event_types", ""),
        ("from_position", "0"),
    ];
    let created = admin
        .post(app.url("/admin/webhooks"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let html = created.text().await.unwrap();
    let secret = html
        .split("whsec_")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret is shown once");
    let key = STANDARD.decode(secret).unwrap();
    // From position 0: the whole history, in order, signed with the secret shown (checked
    // here: the first requests may arrive before the page is read).
    for position in 1..=end {
        let got = next(&mut rx).await;
        assert_eq!(got.position, position);
        assert!(verify(&key, &got.headers, &got.body), "{got:?}");
    }
    let list = app
        .api_client(Role::Admin)
        .get(app.url("/api/v1/admin/webhooks"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let id = list["webhooks"][0]["id"].as_str().unwrap().to_owned();
    until(&app, &id, |w| w["lag"] == 0).await;
    let page = admin.get(app.url("/admin")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains("crm") && page.contains("Recent deliveries"),
        "{page}"
    );
    assert!(!page.contains("whsec_"), "the secret is not shown again");

    // Without the CSRF token nothing changes; with it, the subscription is paused.
    let forged = admin
        .post(app.url(&format!("/admin/webhooks/{id}/pause")))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_ne!(forged.status(), 303);
    assert_eq!(listed(&app, &id).await["status"], "active");
    let paused = admin
        .post(app.url(&format!("/admin/webhooks/{id}/pause")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 303);
    assert_eq!(listed(&app, &id).await["status"], "paused");

    // Staff cannot use the forms.
    let (staff, staff_csrf) = app.page_client(Role::Staff).await;
    let refused = staff
        .post(app.url(&format!("/admin/webhooks/{id}/delete")))
        .form(&[("csrf", staff_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let deleted = admin
        .post(app.url(&format!("/admin/webhooks/{id}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 303);
    let gone = app
        .api_client(Role::Admin)
        .get(app.url("/api/v1/admin/webhooks"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(gone["webhooks"], json!([]));
}

/// The Admin form's cohort filter takes names (ignoring case) or ids, one per line; a name
/// that names no cohort, or several, is refused with a message and nothing is created.
#[tokio::test]
async fn the_admin_form_filters_by_cohorts_named_or_given_by_id() {
    let app = TestApp::spawn_with(|c| c.webhooks.allow_private = true).await;
    let rust = app.create_cohort("Rust 101", 10).await;
    let go = app.create_cohort("Go Basics", 10).await;
    app.create_cohort("Twin", 10).await;
    app.create_cohort("Twin", 10).await;
    let (admin, csrf) = app.page_client(Role::Admin).await;
    let create = |cohorts: String| {
        let (admin, csrf) = (admin.clone(), csrf.clone());
        let url = app.url("/admin/webhooks");
        async move {
            let response = admin
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("name", "lms"),
                    ("url", "http://127.0.0.1:9/hook"),
                    ("event_types", ""),
                    ("cohorts", cohorts.as_str()),
                    ("from_position", ""),
                ])
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let subscriptions = || async {
        app.api_client(Role::Admin)
            .get(app.url("/api/v1/admin/webhooks"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["webhooks"]
            .as_array()
            .unwrap()
            .clone()
    };

    let (status, html) = create("Pascal Nights".to_owned()).await;
    assert_eq!(status, 422);
    assert!(html.contains("no cohort is named"), "{html}");
    let (status, html) = create("twin".to_owned()).await;
    assert_eq!(status, 422);
    assert!(html.contains("2 cohorts are named"), "{html}");
    assert!(subscriptions().await.is_empty(), "nothing created");

    let (status, html) = create(format!("  rust 101 \n{go}\n")).await;
    assert_eq!(status, 200, "{html}");
    let listed = subscriptions().await;
    let mut cohorts: Vec<&str> = listed[0]["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    cohorts.sort_unstable();
    let mut expected = vec![rust.as_str(), go.as_str()];
    expected.sort_unstable();
    assert_eq!(cohorts, expected);
    let page = admin.get(app.url("/admin")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Rust 101, Go Basics") || page.contains("Go Basics, Rust 101"));
}
