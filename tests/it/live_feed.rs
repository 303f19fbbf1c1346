//! The global feed's `type` and `cohort` filters, and the live feed
//! (`GET /api/v1/events/stream`, Server-Sent Events), through the real server.

use rollbook::auth::Role;
use serde_json::Value;

use crate::helpers::*;

/// Every event of the unfiltered feed, oldest first.
async fn all_events(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get_json("/api/v1/events?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// Follows `query`'s pages (`limit` small) to the end; the events and the last `next_after`.
async fn follow(app: &TestApp, query: &str, limit: usize) -> (Vec<Value>, u64) {
    let (mut events, mut after) = (Vec::new(), 0);
    loop {
        let (status, body) = app
            .get_json(&format!(
                "/api/v1/events?{query}&limit={limit}&after={after}"
            ))
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        let page = body["events"].as_array().unwrap();
        events.extend(page.iter().cloned());
        let next = body["next_after"].as_u64().unwrap();
        if page.len() < limit {
            return (events, next);
        }
        assert!(next > after, "{query}: next_after moves on");
        after = next;
    }
}

fn positions(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_feed_filters_by_type_and_cohort() {
    let app = TestApp::spawn().await;
    let a = app.create_cohort("A", 1).await;
    let b = app.create_cohort("B", 2).await;
    for learner in ["ana@x.org", "bo@x.org", "cy@x.org"] {
        app.enroll(&a, learner).await;
        app.enroll(&b, learner).await;
    }
    withdraw(&app, &a, "ana@x.org", "moved").await;
    let all = all_events(&app).await;
    let head = all.last().unwrap()["position"].as_u64().unwrap();
    let expect = |keep: &dyn Fn(&Value) -> bool| -> Vec<u64> {
        positions(&all.iter().filter(|e| keep(e)).cloned().collect::<Vec<_>>())
    };

    for (query, keep) in [
        (
            format!("cohort={a}"),
            Box::new(|e: &Value| e["cohort"] == a.as_str()) as Box<dyn Fn(&Value) -> bool>,
        ),
        (
            "type=student.waitlisted".to_owned(),
            Box::new(|e: &Value| e["type"] == "student.waitlisted"),
        ),
        (
            "type=student.enrolled&type=waitlist.promoted".to_owned(),
            Box::new(|e: &Value| {
                e["type"] == "student.enrolled" || e["type"] == "waitlist.promoted"
            }),
        ),
        (
            format!("cohort={b}&cohort={a}&type=student.enrolled"),
            Box::new(|e: &Value| e["type"] == "student.enrolled"),
        ),
        (
            format!("cohort={b}&type=waitlist.promoted"),
            Box::new(|_: &Value| false),
        ),
    ] {
        let wanted = expect(&*keep);
        // One page, then pages of 1: the same events, in order, none twice.
        let (status, body) = app.get_json(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(
            positions(body["events"].as_array().unwrap()),
            wanted,
            "{query}"
        );
        assert_eq!(body["head"], head);
        // Not full: it looked up to the head.
        assert_eq!(body["next_after"], head, "{query}");
        let (paged, last) = follow(&app, &query, 1).await;
        assert_eq!(positions(&paged), wanted, "{query}, paged");
        assert_eq!(last, head, "{query}, paged");
    }
    // The events are the feed's own (same JSON).
    let (_, body) = app.get_json("/api/v1/events?type=waitlist.promoted").await;
    let promoted = &body["events"][0];
    assert_eq!(
        promoted,
        all.iter()
            .find(|e| e["type"] == "waitlist.promoted")
            .unwrap()
    );
    assert_eq!(promoted["data"]["learner"], "bo@x.org");
    // A cohort nobody knows: nothing, and no error.
    let (status, body) = app
        .get_json(&format!("/api/v1/events?cohort={}", uuid::Uuid::nil()))
        .await;
    assert_eq!((status, body["events"].as_array().unwrap().len()), (200, 0));
}

#[tokio::test]
async fn bad_filters_are_refused_with_a_code() {
    let app = TestApp::spawn().await;
    let viewer = app.api_client(Role::Viewer);
    for query in [
        "type=student.teleported",
        "type=",
        "type=student.enrolled,waitlist.left",
        "cohort=not-a-uuid",
        "cohort=",
        "after=-1",
        "limit=x",
    ] {
        let response = viewer
            .get(app.url(&format!("/api/v1/events?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["error"]["code"], "invalid_parameter",
            "{query}: {body}"
        );
    }
    let many = (0..101)
        .map(|_| format!("cohort={}", uuid::Uuid::now_v7()))
        .collect::<Vec<_>>()
        .join("&");
    let response = viewer
        .get(app.url(&format!("/api/v1/events?{many}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Empty `after` and `limit` still mean their defaults, as before.
    let response = viewer
        .get(app.url("/api/v1/events?after=&limit="))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

// ---- the live feed ----

/// How long a test waits for the stream's next output before failing (a guard, never a way
/// to let something happen).
const GUARD: std::time::Duration = std::time::Duration::from_secs(30);

/// One message of an SSE stream: its fields, and the comments before it.
#[derive(Debug, Default)]
struct Frame {
    id: Option<u64>,
    event: Option<String>,
    data: String,
    comments: Vec<String>,
}

impl Frame {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("data is JSON")
    }
}

/// Parses the SSE messages complete in `text` (ending in a blank line); returns them and how
/// many bytes they took.
fn parse_frames(text: &str) -> (Vec<Frame>, usize) {
    let (mut frames, mut used, mut current) = (Vec::new(), 0, Frame::default());
    let mut at = 0;
    while let Some(end) = text[at..].find('\n') {
        let line = &text[at..at + end];
        at += end + 1;
        if line.is_empty() {
            frames.push(std::mem::take(&mut current));
            used = at;
        } else if let Some(comment) = line.strip_prefix(':') {
            current.comments.push(comment.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("id: ") {
            current.id = Some(v.parse().expect("id is a position"));
        } else if let Some(v) = line.strip_prefix("event: ") {
            current.event = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("data: ") {
            current.data.push_str(v);
        }
    }
    (frames, used)
}

/// A client of the live feed.
struct Stream {
    response: reqwest::Response,
    text: String,
    frames: std::collections::VecDeque<Frame>,
}

impl Stream {
    async fn open(app: &TestApp, role: Role, query: &str, last_id: Option<u64>) -> Self {
        let mut request = app
            .api_client(role)
            .get(app.url(&format!("/api/v1/events/stream{query}")));
        if let Some(id) = last_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("GET stream");
        assert_eq!(response.status(), 200, "{query}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            text: String::new(),
            frames: std::collections::VecDeque::new(),
        }
    }

    /// The next message (comments only count with the message they precede).
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Some(frame);
            }
            let chunk = tokio::time::timeout(GUARD, self.response.chunk())
                .await
                .expect("the stream's next output within the guard")
                .expect("stream readable")?;
            self.text
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
            let (frames, used) = parse_frames(&self.text);
            self.text.drain(..used);
            self.frames.extend(frames);
        }
    }

    /// The next event (a message with an id), skipping keep-alive comments.
    async fn event(&mut self) -> Frame {
        loop {
            let frame = self.next().await.expect("the stream goes on");
            if frame.id.is_some() || frame.event.is_some() {
                return frame;
            }
        }
    }

    /// Events until (and with) the one at `position`.
    async fn until(&mut self, position: u64) -> Vec<Frame> {
        let mut out = Vec::new();
        loop {
            let frame = self.event().await;
            let id = frame.id.expect("an event with an id");
            out.push(frame);
            if id >= position {
                return out;
            }
        }
    }
}

fn ids(frames: &[Frame]) -> Vec<u64> {
    frames.iter().map(|f| f.id.unwrap()).collect()
}

#[tokio::test]
async fn the_stream_sends_history_then_live_events_as_the_feed_shows_them() {
    let app = TestApp::spawn().await;
    let a = app.create_cohort("A", 1).await;
    app.enroll(&a, "ana@x.org").await;
    let mut stream = Stream::open(&app, Role::Viewer, "", None).await;
    let history = stream.until(2).await;
    assert_eq!(ids(&history), [1, 2]);
    assert_eq!(history[0].event.as_deref(), Some("cohort.created"));
    assert_eq!(history[1].event.as_deref(), Some("student.enrolled"));
    // Committed after the stream caught up: it comes live.
    app.enroll(&a, "bo@x.org").await;
    let live = stream.event().await;
    assert_eq!(live.id, Some(3));
    assert_eq!(live.event.as_deref(), Some("student.waitlisted"));
    let feed = all_events(&app).await;
    for (frame, item) in history.iter().chain([&live]).zip(&feed) {
        assert_eq!(&frame.json(), item, "the feed's JSON");
    }
    // `after` skips what came before.
    let mut later = Stream::open(&app, Role::Viewer, "?after=2", None).await;
    assert_eq!(later.event().await.id, Some(3));
}

#[tokio::test]
async fn last_event_id_resumes_with_no_gap_and_no_duplicate() {
    let app = TestApp::spawn().await;
    let a = app.create_cohort("A", 5).await;
    for learner in ["ana@x.org", "bo@x.org", "cy@x.org"] {
        app.enroll(&a, learner).await;
    }
    let mut first = Stream::open(&app, Role::Viewer, "", None).await;
    let got = first.until(2).await;
    let last = got.last().unwrap().id.unwrap();
    drop(first);
    // Meanwhile more happens.
    app.enroll(&a, "di@x.org").await;
    withdraw(&app, &a, "ana@x.org", "moved").await;
    let head = head(&app).await;
    // The header wins over `after`.
    let mut resumed = Stream::open(&app, Role::Viewer, "?after=0", Some(last)).await;
    let rest = resumed.until(head).await;
    let mut all = ids(&got);
    all.extend(ids(&rest));
    assert_eq!(all, (1..=head).collect::<Vec<_>>());
    // And it goes on live from there.
    app.enroll(&a, "ed@x.org").await;
    assert_eq!(resumed.event().await.id, Some(head + 1));
    // A Last-Event-ID that is no position is refused.
    let response = app
        .api_client(Role::Viewer)
        .get(app.url("/api/v1/events/stream"))
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn the_stream_filters_by_type_and_cohort() {
    let app = TestApp::spawn().await;
    let a = app.create_cohort("A", 1).await;
    let b = app.create_cohort("B", 1).await;
    app.enroll(&a, "ana@x.org").await;
    app.enroll(&b, "ana@x.org").await;
    app.enroll(&a, "bo@x.org").await; // waitlisted in A
    let mut stream = Stream::open(
        &app,
        Role::Viewer,
        &format!("?cohort={a}&type=student.enrolled&type=waitlist.promoted"),
        None,
    )
    .await;
    let first = stream.event().await;
    assert_eq!(first.event.as_deref(), Some("student.enrolled"));
    assert_eq!(first.json()["cohort"], a.as_str());
    // Live: B's events and A's other types are left out; the next one through is A's promotion.
    app.enroll(&b, "cy@x.org").await;
    withdraw(&app, &b, "ana@x.org", "moved").await;
    let body = withdraw(&app, &a, "ana@x.org", "moved").await;
    assert_eq!(body["promoted"], "bo@x.org");
    let next = stream.event().await;
    assert_eq!(next.event.as_deref(), Some("waitlist.promoted"));
    assert_eq!(next.json()["cohort"], a.as_str());
    assert_eq!(next.id, Some(head(&app).await));
    // Bad filters: the same 400 as the feed's.
    let response = app
        .api_client(Role::Viewer)
        .get(app.url("/api/v1/events/stream?type=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_parameter");
}

#[tokio::test]
async fn the_stream_needs_a_token_and_a_viewer_may_open_it() {
    let app = TestApp::spawn().await;
    let response = app
        .anonymous()
        .get(app.url("/api/v1/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    // A viewer gets a stream (and a heartbeat-free start: nothing happened yet).
    let _stream = Stream::open(&app, Role::Viewer, "", None).await;
}

#[tokio::test]
async fn a_quiet_stream_gets_keep_alive_comments() {
    let app = TestApp::spawn_with(|config| {
        config.live_feed.heartbeat = std::time::Duration::from_millis(50);
    })
    .await;
    let mut stream = Stream::open(&app, Role::Viewer, "", None).await;
    let frame = stream.next().await.expect("a heartbeat");
    assert_eq!(frame.comments, ["keep-alive"]);
    assert_eq!((frame.id, frame.event), (None, None));
}

#[tokio::test]
async fn open_streams_are_capped() {
    let app = TestApp::spawn_with(|config| config.live_feed.max_streams = 2).await;
    let _one = Stream::open(&app, Role::Viewer, "", None).await;
    let _two = Stream::open(&app, Role::Viewer, "", None).await;
    let response = app
        .api_client(Role::Viewer)
        .get(app.url("/api/v1/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams");
    // The plain feed is not a stream and still answers.
    assert_eq!(app.get("/api/v1/events").await.status(), 200);
}

#[tokio::test]
async fn a_client_that_does_not_read_is_cut_while_another_keeps_receiving() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    const BUFFER: usize = 64;
    const BULK: usize = 50;
    let app = TestApp::spawn_with(|config| {
        config.live_feed.buffer = BUFFER;
        // It reads what it was sent only at the end, however long the rounds take: it must
        // not be disconnected for reading nothing meanwhile (another test covers that).
        config.live_feed.cut_grace = std::time::Duration::from_secs(24 * 3600);
    })
    .await;
    let cohort = app.create_cohort("Big", 5000).await;
    // The slow client: a small receive buffer, and it reads nothing until the end.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(app.addr).await.unwrap();
    let request = format!(
        "GET /api/v1/events/stream HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Connection: close\r\n\r\n",
        app.addr,
        app.credentials.token(Role::Viewer)
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    let mut fast = Stream::open(&app, Role::Viewer, "", None).await;
    assert_eq!(fast.event().await.id, Some(1));
    // More than any socket and server buffer hold (about 5 MB of events), committed a bulk at
    // a time, each taken by the fast client before the next.
    let staff = app.api_client(Role::Staff);
    for round in 0..200 {
        let csv: String = std::iter::once("learner,name\n".to_owned())
            .chain((0..BULK).map(|i| format!("l{round}-{i}@x.org,\n")))
            .collect();
        let response = staff
            .post(app.url(&format!("/api/v1/cohorts/{cohort}/enrollments/bulk")))
            .header("content-type", "text/csv")
            .header("if-match", format!("\"{}\"", 1 + round * BULK))
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let head = 1 + (round as u64 + 1) * BULK as u64;
        let got = fast.until(head).await;
        assert_eq!(*got.last().unwrap().id.as_ref().unwrap(), head);
    }
    // Now read what the slow client was sent: a gap-free start of the feed, then the reason it
    // was cut, then the end.
    let mut received = Vec::new();
    tokio::time::timeout(GUARD, slow.read_to_end(&mut received))
        .await
        .expect("the slow client's stream ends")
        .unwrap();
    let text = String::from_utf8_lossy(&received);
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    // Chunked transfer: the chunk sizes are lines of hex between the messages.
    let unchunked: String = body
        .split("\r\n")
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s)
        .collect();
    let (frames, _) = parse_frames(&unchunked);
    let last = frames.last().expect("messages");
    assert_eq!(last.event.as_deref(), Some("error"), "{last:?}");
    assert_eq!(last.json()["code"], "slow_consumer");
    let events: Vec<u64> = frames.iter().filter_map(|f| f.id).collect();
    assert_eq!(events, (1..=events.len() as u64).collect::<Vec<_>>());
    assert!(
        events.len() < 1 + 200 * BULK,
        "cut before the end: {}",
        events.len()
    );
    // The fast client is still served.
    app.enroll(&cohort, "late@x.org").await;
    assert_eq!(fast.event().await.id, Some(2 + 200 * BULK as u64));
}

#[tokio::test]
async fn a_client_that_reads_nothing_at_all_is_disconnected_and_its_place_released() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    const BULK: usize = 50;
    // More rounds than any socket and server buffer could hold (50 rounds: about 5 MB).
    const ROUNDS: usize = 400;
    let app = TestApp::spawn_with(|config| {
        config.live_feed.buffer = 64;
        config.live_feed.max_streams = 2;
        // What is asserted is that the server lets go, not how soon.
        config.live_feed.cut_grace = std::time::Duration::ZERO;
    })
    .await;
    let cohort = app.create_cohort("Big", 5000).await;
    // The client that stops reading: it sends its request and never reads again.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut silent = socket.connect(app.addr).await.unwrap();
    let request = format!(
        "GET /api/v1/events/stream HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Connection: close\r\n\r\n",
        app.addr,
        app.credentials.token(Role::Viewer)
    );
    silent.write_all(request.as_bytes()).await.unwrap();
    let mut reader = Stream::open(&app, Role::Viewer, "", None).await;
    assert_eq!(reader.event().await.id, Some(1));
    let viewer = app.api_client(Role::Viewer);
    let staff = app.api_client(Role::Staff);
    // Both places are taken while the silent client's stream is held. Each round commits a
    // bulk, the reader takes it, and a third stream is tried: it is accepted once the server
    // has let the silent client go.
    let mut released = None;
    for round in 0..ROUNDS {
        let csv: String = std::iter::once("learner,name\n".to_owned())
            .chain((0..BULK).map(|i| format!("l{round}-{i}@x.org,\n")))
            .collect();
        let response = staff
            .post(app.url(&format!("/api/v1/cohorts/{cohort}/enrollments/bulk")))
            .header("content-type", "text/csv")
            .header("if-match", format!("\"{}\"", 1 + round * BULK))
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let head = 1 + (round as u64 + 1) * BULK as u64;
        assert_eq!(reader.until(head).await.last().unwrap().id, Some(head));
        let third = viewer
            .get(app.url("/api/v1/events/stream"))
            .send()
            .await
            .unwrap();
        match third.status().as_u16() {
            503 => {}
            200 => {
                released = Some(round);
                break;
            }
            other => panic!("a third stream answered {other}"),
        }
    }
    let round = released.expect("the silent client's place was released");
    assert!(
        round > 0,
        "the place was held while the client was connected"
    );
    // The socket was closed by the server: what it had sent, then the end (or a reset).
    let mut received = Vec::new();
    let end = tokio::time::timeout(GUARD, silent.read_to_end(&mut received))
        .await
        .expect("the silent client's connection ends");
    match end {
        Ok(_) => {}
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    // The reader was served throughout and still is.
    app.enroll(&cohort, "late@x.org").await;
    let last = 2 + (round as u64 + 1) * BULK as u64;
    assert_eq!(reader.event().await.id, Some(last));
}

#[tokio::test]
async fn at_shutdown_streams_end_with_a_reason_and_do_not_hold_the_server() {
    let app = TestApp::spawn().await;
    app.create_cohort("A", 1).await;
    let mut stream = Stream::open(&app, Role::Viewer, "", None).await;
    assert_eq!(stream.event().await.id, Some(1));
    // The graceful stop would wait for open answers: the stream ends first.
    tokio::time::timeout(GUARD, app.stop())
        .await
        .expect("the server stops with a stream open");
    let last = stream.event().await;
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(last.json()["code"], "shutting_down");
    assert!(stream.next().await.is_none(), "the stream ended");
}
