//! Hardening: limits, timeouts and headers against slow, large and hostile clients.
//!
//! Raw TCP connections do what an HTTP client library will not: stop halfway through the
//! headers, dribble them a byte at a time, hold connections idle, or keep sending a body after
//! the server has answered. Timeouts here only guard against a hung test; the one short bounded
//! wait asserts that something does *not* happen.

use std::net::SocketAddr;
use std::time::Duration;

use rollbook::auth::Role;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::helpers::socket::{receive, send};
use crate::helpers::*;

/// Generous bound on anything that should happen promptly (ten times the shortest timeout
/// configured below): it catches a hang, it does not measure speed.
const GUARD: Duration = Duration::from_secs(10);

/// The headers every response carries, with their exact values.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

/// A response read off a raw connection.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: String,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// A raw HTTP/1.1 connection. (The crate does not enable tokio's `io-util` helpers, so this
/// reads and writes with `try_read`/`try_write`.)
struct Wire {
    stream: TcpStream,
    /// Received and not yet parsed.
    received: Vec<u8>,
    /// The server's address, which requests name as their `Host`.
    addr: SocketAddr,
}

impl Wire {
    async fn connect(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.expect("connect"),
            received: Vec::new(),
            addr,
        }
    }

    async fn send(&self, bytes: &[u8]) -> std::io::Result<()> {
        send(&self.stream, bytes).await
    }

    /// Reads what has arrived (waiting for something); `Ok(0)` when the server closed.
    /// Cancel-safe: bytes are kept only once read.
    async fn receive(&mut self) -> std::io::Result<usize> {
        receive(&self.stream, &mut self.received).await
    }

    /// Sends a kept-alive GET.
    async fn send_get(&self, path: &str) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        self.send(request.as_bytes()).await.expect("send");
    }

    async fn get(&mut self, path: &str) -> RawResponse {
        self.send_get(path).await;
        self.read_response().await
    }

    /// Reads one response (status line, headers, `Content-Length` body). Cancel-safe.
    async fn read_response(&mut self) -> RawResponse {
        loop {
            if let Some(response) = parse_response(&mut self.received) {
                return response;
            }
            let n = self.receive().await.expect("receive");
            assert_ne!(n, 0, "closed before a whole response: {:?}", self.received);
        }
    }

    /// Completes when the server closes the connection (end of file, or a reset). Whatever
    /// it sent before is ignored.
    async fn closed_by_server(mut self) {
        while let Ok(1..) = self.receive().await {
            self.received.clear();
        }
    }
}

/// Takes one whole response off the front of `received`, if it is all there.
fn parse_response(received: &mut Vec<u8>) -> Option<RawResponse> {
    let head_end = received.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&received[..head_end]).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header");
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().expect("content-length"));
    let body_start = head_end + 4;
    if received.len() < body_start + length {
        return None;
    }
    let body =
        String::from_utf8(received[body_start..body_start + length].to_vec()).expect("UTF-8 body");
    received.drain(..body_start + length);
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

/// A slowloris client: a request line, then valid header bytes one every 100 ms, forever.
/// Returns once the server closes the connection.
async fn dribble(addr: SocketAddr) {
    let mut wire = Wire::connect(addr).await;
    wire.send(b"GET / HTTP/1.1\r\nHost: rollbook\r\n")
        .await
        .unwrap();
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    let mut bytes = b"X-Pad: a\r\n".iter().copied().cycle();
    loop {
        tokio::select! {
            read = wire.receive() => {
                if matches!(read, Ok(0) | Err(_)) {
                    return;
                }
            }
            _ = pace.tick() => {
                if send(&wire.stream, &[bytes.next().unwrap()]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The head of a POST of `length` bytes of `content_type`, with `credentials` (header lines), to
/// the server at `addr`.
fn post_head(
    addr: SocketAddr,
    path: &str,
    credentials: &str,
    content_type: &str,
    length: usize,
) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{credentials}Content-Type: {content_type}\r\n\
         Content-Length: {length}\r\n\r\n"
    )
}

/// The header line that authenticates an API request as staff.
fn bearer(app: &TestApp) -> String {
    format!(
        "Authorization: Bearer {}\r\n",
        app.credentials.token(Role::Staff)
    )
}

/// Signs in as staff with a client of our own: the header line carrying the session cookie,
/// and the session's CSRF token, for raw form posts.
async fn staff_session(app: &TestApp) -> (String, String) {
    let client = app.anonymous();
    let login = client
        .post(app.url("/login"))
        .form(&[
            ("name", "staff"),
            ("password", &password_of(Role::Staff)),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("rollbook_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    (
        format!("Cookie: {cookie}\r\n"),
        csrf_of(&home.text().await.unwrap()),
    )
}

/// Sends a POST whose body is `body`, reading the answer while the body is still being sent:
/// the server answers as soon as it has seen too much, and then stops reading.
async fn post_raw(
    addr: SocketAddr,
    path: &str,
    credentials: &str,
    content_type: &str,
    body: &[u8],
) -> RawResponse {
    let mut wire = Wire::connect(addr).await;
    let head = post_head(addr, path, credentials, content_type, body.len());
    let Wire {
        stream, received, ..
    } = &mut wire;
    let sending = async {
        // The server may hang up before it has read it all: that is the point.
        if send(stream, head.as_bytes()).await.is_ok() {
            let _ = send(stream, body).await;
        }
    };
    let reading = async {
        loop {
            if let Some(response) = parse_response(received) {
                return response;
            }
            let n = receive(stream, received).await.expect("receive");
            assert_ne!(n, 0, "closed before a whole response");
        }
    };
    let ((), response) = timeout(GUARD, async { tokio::join!(sending, reading) })
        .await
        .expect("an answer");
    response
}

fn assert_security_headers(what: &str, headers: impl Fn(&str) -> Vec<String>) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(headers(name), [value], "{name} on {what}");
    }
}

fn assert_raw_security_headers(what: &str, response: &RawResponse) {
    assert_security_headers(what, |name| {
        response
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    });
}

#[tokio::test]
async fn a_client_that_dribbles_its_headers_is_cut_off_while_others_are_served() {
    let app =
        TestApp::spawn_with(|config| config.header_read_timeout = Duration::from_secs(1)).await;

    // Half a request, then nothing.
    let stalled = Wire::connect(app.addr).await;
    stalled
        .send(b"GET / HTTP/1.1\r\nHost: rollbook\r\n")
        .await
        .unwrap();
    // Nothing at all.
    let silent = Wire::connect(app.addr).await;
    // A header byte every 100 ms: never quiet, never done.
    let dribbler = tokio::spawn(dribble(app.addr));

    // Meanwhile, everyone else is served. (On fresh connections: the server also closes a
    // kept-alive connection idle for the header-read timeout, and a pooled client reusing one
    // just then would see it close under its request.)
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let healthz = || async {
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
    };
    for _ in 0..5 {
        assert_eq!(healthz().await, 200);
    }

    timeout(GUARD, stalled.closed_by_server())
        .await
        .expect("a connection stalled mid-headers is closed");
    timeout(GUARD, silent.closed_by_server())
        .await
        .expect("a connection that sends nothing is closed");
    timeout(GUARD, dribbler)
        .await
        .expect("a connection dribbling its headers is closed")
        .unwrap();
    assert_eq!(healthz().await, 200);
}

#[tokio::test]
async fn beyond_max_connections_a_client_waits_until_a_connection_closes() {
    let mut app = TestApp::spawn_with(|config| {
        config.max_connections = 2;
        // Longer than the test, so the held connections stay open until dropped.
        config.header_read_timeout = Duration::from_secs(60);
    })
    .await;

    // The test app's client signed in over kept-alive connections, which hold slots: drop it
    // (and them) so only this test's connections count.
    app.client = app.anonymous();

    // Two kept-alive connections, each served once, then idle: they hold both slots.
    let mut first = Wire::connect(app.addr).await;
    let mut second = Wire::connect(app.addr).await;
    for wire in [&mut first, &mut second] {
        let response = timeout(GUARD, wire.get("/healthz"))
            .await
            .expect("served while a slot is free");
        assert_eq!(response.status, 200);
    }

    // A third is queued by the kernel but not served while both are held.
    let mut third = Wire::connect(app.addr).await;
    third.send_get("/healthz").await;
    assert!(
        timeout(Duration::from_millis(500), third.read_response())
            .await
            .is_err(),
        "a third connection was served while two were held"
    );

    // Closing one frees its slot: the third is served, and the second still is.
    drop(first);
    let response = timeout(GUARD, third.read_response())
        .await
        .expect("served once a slot is free");
    assert_eq!(response.status, 200);
    assert_eq!(second.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Headers", 3).await;
    let staff = &app.client;
    let anonymous = &app.anonymous();
    let requests = [
        (staff, "GET", "/".to_owned()),
        (staff, "GET", format!("/cohorts/{id}")),
        (staff, "GET", format!("/cohorts/{id}?as_of=1&as_of=2")),
        (staff, "GET", "/cohorts/new".to_owned()),
        (staff, "GET", "/no/such/page".to_owned()),
        (staff, "GET", "/static/style.css".to_owned()),
        (staff, "GET", "/static/missing.js".to_owned()),
        (staff, "GET", "/healthz".to_owned()),
        (staff, "GET", "/api/v1/cohorts".to_owned()),
        (staff, "GET", format!("/api/v1/cohorts/{id}")),
        (staff, "GET", "/api/v1/cohorts/not-a-cohort".to_owned()),
        (staff, "DELETE", format!("/cohorts/{id}")),
        (staff, "POST", format!("/cohorts/{id}/enroll")),
        (staff, "POST", "/api/v1/cohorts".to_owned()),
        (anonymous, "GET", "/login".to_owned()),
        (anonymous, "GET", "/".to_owned()),
        (anonymous, "GET", "/api/v1/cohorts".to_owned()),
    ];
    let mut statuses = Vec::new();
    for (client, method, path) in &requests {
        let response = client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        assert_security_headers(&format!("{method} {path}"), |name| {
            response
                .headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        });
    }
    // Pages, JSON, a file, redirects and refusals from every layer were among them.
    for status in [200, 303, 400, 401, 403, 404, 415] {
        assert!(statuses.contains(&status), "{status} in {statuses:?}");
    }
}

#[tokio::test]
async fn a_3_mb_body_is_refused_with_413_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Big bodies", 3).await;
    let huge = "x".repeat(3 * 1024 * 1024);

    let mut cohort = cohort_body("Too big", 3);
    cohort["name"] = Value::String(huge.clone());
    let json = serde_json::to_vec(&cohort).unwrap();
    let response = post_raw(
        app.addr,
        "/api/v1/cohorts",
        &bearer(&app),
        "application/json",
        &json,
    )
    .await;
    assert_eq!(response.status, 413, "{response:?}");
    assert_eq!(response.json()["error"]["code"], "payload_too_large");
    assert_raw_security_headers("413 from the API", &response);

    let (cookie, csrf) = staff_session(&app).await;
    let form = format!("csrf={csrf}&learner={huge}");
    let path = format!("/cohorts/{id}/enroll");
    let response = post_raw(
        app.addr,
        &path,
        &cookie,
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    )
    .await;
    assert_eq!(response.status, 413, "{response:?}");
    assert!(
        response.body.contains("larger than 64 KiB"),
        "{}",
        response.body
    );
    assert_raw_security_headers("413 from a form", &response);

    let (_, list) = app.get_json("/api/v1/cohorts").await;
    assert_eq!(list["total"], 1, "no cohort created: {list}");
    assert!(keys(&app.cohort(&id).await, "enrolled").is_empty());
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_gets_503_after_the_request_timeout() {
    let app = TestApp::spawn_with(|config| config.request_timeout = Duration::from_secs(1)).await;
    let id = app.create_cohort("Slow bodies", 3).await;
    let (cookie, csrf) = staff_session(&app).await;

    for (path, credentials, content_type, start) in [
        (
            "/api/v1/cohorts".to_owned(),
            bearer(&app),
            "application/json",
            "{\"name\": ".to_owned(),
        ),
        (
            format!("/cohorts/{id}/enroll"),
            cookie,
            "application/x-www-form-urlencoded",
            format!("csrf={csrf}&learner="),
        ),
    ] {
        let mut wire = Wire::connect(app.addr).await;
        let head = post_head(app.addr, &path, &credentials, content_type, 1000);
        wire.send(format!("{head}{start}").as_bytes())
            .await
            .unwrap();
        let response = timeout(GUARD, wire.read_response())
            .await
            .expect("answered once the request timeout passes");
        assert_eq!(response.status, 503, "{path}: {response:?}");
        assert!(
            response.body.contains("took longer than 1 s"),
            "{response:?}"
        );
        assert_raw_security_headers(&format!("503 on {path}"), &response);
        if path.starts_with("/api/") {
            assert_eq!(response.json()["error"]["code"], "timeout");
            assert_eq!(response.header("content-type"), Some("application/json"));
        }
    }

    let (_, list) = app.get_json("/api/v1/cohorts").await;
    assert_eq!(list["total"], 1, "no cohort created: {list}");
    assert!(keys(&app.cohort(&id).await, "enrolled").is_empty());
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_closes_idle_connections() {
    let app = TestApp::spawn().await;

    // An idle kept-alive connection.
    let mut idle = Wire::connect(app.addr).await;
    assert_eq!(idle.get("/healthz").await.status, 200);
    // A request in flight: its headers and half its body sent.
    let body = serde_json::to_vec(&cohort_body("In flight", 3)).unwrap();
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut busy = Wire::connect(app.addr).await;
    let head = post_head(
        app.addr,
        "/api/v1/cohorts",
        &bearer(&app),
        "application/json",
        body.len(),
    );
    busy.send(head.as_bytes()).await.unwrap();
    busy.send(first_half).await.unwrap();

    let stopping = tokio::spawn(app.stop());
    // The server has begun shutting down once it closes the idle connection...
    timeout(GUARD, idle.closed_by_server())
        .await
        .expect("the idle connection is closed at shutdown");
    // ...and it cannot have stopped: the request in flight still waits for its body.
    assert!(!stopping.is_finished());
    busy.send(second_half).await.unwrap();
    let response = timeout(GUARD, busy.read_response())
        .await
        .expect("the request in flight is answered");
    assert_eq!(response.status, 201, "{response:?}");
    assert_eq!(response.header("connection"), Some("close"));

    let (dir, db, clock, credentials) = timeout(GUARD, stopping)
        .await
        .expect("the server stops once the request is answered")
        .unwrap();
    let again = TestApp::spawn_on(db, clock, credentials).await;
    let id = response.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(again.cohort(&id).await["name"], "In flight");
    again.stop().await;
    drop(dir);
}
