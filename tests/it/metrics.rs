//! `/metrics`: who may read it and what it counts.

use std::process::Command;

use rollbook::auth::Role;
use rollbook::web::AllowList;
use serde_json::json;

use crate::helpers::process::BIN;
use crate::helpers::{TestApp, password_of};

/// The value of the sample written exactly as `series` (name and labels), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
}

/// The value of an integer sample (counters, counts, positions). A histogram's sum is written
/// as a float (`4.0`): a whole one counts as an integer.
fn value(text: &str, series: &str) -> u64 {
    let raw = text
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"));
    raw.strip_suffix(".0")
        .unwrap_or(raw)
        .parse()
        .expect("an integer")
}

async fn scrape(client: &reqwest::Client, app: &TestApp) -> reqwest::Response {
    client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
}

#[tokio::test]
async fn only_admins_may_read_metrics_by_default() {
    let app = TestApp::spawn().await;
    let anonymous = scrape(&app.anonymous(), &app).await;
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    for role in [Role::Viewer, Role::Staff] {
        let (client, _) = app.signed_in(role).await;
        assert_eq!(scrape(&client, &app).await.status(), 403, "{role}");
    }

    // By bearer token alone (a scraper)…
    let token_only = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth(app.credentials.token(Role::Admin))
        .send()
        .await
        .unwrap();
    assert_eq!(token_only.status(), 200);
    let content_type = token_only.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    // …a wrong token is refused even with a session beside it…
    let wrong = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // …and by an admin's session alone (a browser).
    let browser = app.anonymous();
    let login = browser
        .post(app.url("/login"))
        .form(&[
            ("name", "admin"),
            ("password", password_of(Role::Admin).as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert_eq!(scrape(&browser, &app).await.status(), 200);
}

#[tokio::test]
async fn the_allow_list_admits_a_scraper_from_its_addresses_only() {
    let allowed = TestApp::spawn_with(|config| {
        config.metrics_allow = AllowList::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1".parse().unwrap(),
        ]);
    })
    .await;
    let response = scrape(&allowed.anonymous(), &allowed).await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("# TYPE rollbook_commands_total counter")
    );

    let elsewhere = TestApp::spawn_with(|config| {
        config.metrics_allow = AllowList::new(vec!["10.0.0.0/8".parse().unwrap()]);
    })
    .await;
    assert_eq!(
        scrape(&elsewhere.anonymous(), &elsewhere).await.status(),
        401
    );
    // The allow list opens /metrics only, nothing else.
    let admin_api = allowed
        .anonymous()
        .get(allowed.url("/api/v1/projections"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin_api.status(), 401);
}

#[tokio::test]
async fn commands_batches_commits_and_requests_are_counted() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Metrics", 5).await;
    assert_eq!(app.enroll(&cohort, "ana@example.org").await, "enrolled");
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/enrollments"),
            &json!({"learner": "ana@example.org"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "already_enrolled", "{body}");
    assert_eq!(app.enroll(&cohort, "bo@example.org").await, "enrolled");
    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status(), 404);

    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = scrape(&admin, &app).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();

    assert_eq!(
        value(
            &text,
            r#"rollbook_commands_total{kind="create",outcome="accepted"}"#
        ),
        1
    );
    assert_eq!(
        value(
            &text,
            r#"rollbook_commands_total{kind="enroll",outcome="accepted"}"#
        ),
        2
    );
    assert_eq!(
        value(
            &text,
            r#"rollbook_commands_total{kind="enroll",outcome="rejected"}"#
        ),
        1
    );
    assert_eq!(
        value(
            &text,
            r#"rollbook_commands_total{kind="withdraw",outcome="accepted"}"#
        ),
        0
    );
    assert_eq!(
        value(
            &text,
            r#"rollbook_commands_rejected_total{kind="enroll",code="already_enrolled"}"#
        ),
        1
    );

    // Four commands went through the writer, in however many batches; every batch here wrote
    // something (a refusal writes its journal entry), so each had a commit.
    let batches = value(&text, "rollbook_writer_batch_commands_count");
    assert!(batches >= 1, "{batches}");
    assert_eq!(value(&text, "rollbook_writer_batch_commands_sum"), 4);
    assert_eq!(
        value(&text, r#"rollbook_writer_batch_commands_bucket{le="+Inf"}"#),
        batches
    );
    assert_eq!(
        value(&text, "rollbook_store_commit_duration_seconds_count"),
        batches
    );
    assert!(sample(&text, "rollbook_store_commit_duration_seconds_sum").is_some_and(|s| s > 0.0));

    // Positions: 1 created + 2 enrolled events.
    assert_eq!(value(&text, "rollbook_store_head_position"), 3);
    assert_eq!(value(&text, "rollbook_projections_published_position"), 3);
    assert_eq!(
        value(
            &text,
            r#"rollbook_projection_position{projection="catalog"}"#
        ),
        3
    );
    assert_eq!(value(&text, "rollbook_replay_events"), 0);
    assert!(sample(&text, "rollbook_replay_duration_seconds").is_some());
    assert_eq!(value(&text, "rollbook_writer_running"), 1);
    assert_eq!(
        value(
            &text,
            &format!(
                r#"rollbook_build_info{{version="{}"}}"#,
                env!("CARGO_PKG_VERSION")
            )
        ),
        1
    );

    check_requests(&text, &cohort);
}

/// Requests by route template (never the raw path) and status.
fn check_requests(text: &str, cohort: &str) {
    let enrollments = r#"route="/api/v1/cohorts/{id}/enrollments",method="POST""#;
    assert_eq!(
        value(
            text,
            &format!(r#"rollbook_http_requests_total{{{enrollments},status="200"}}"#)
        ),
        2
    );
    assert_eq!(
        value(
            text,
            &format!(r#"rollbook_http_requests_total{{{enrollments},status="422"}}"#)
        ),
        1
    );
    assert_eq!(
        value(
            text,
            r#"rollbook_http_requests_total{route="/api/v1/cohorts",method="POST",status="201"}"#
        ),
        1
    );
    assert_eq!(
        value(
            text,
            r#"rollbook_http_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        1
    );
    assert_eq!(
        value(
            text,
            &format!(r"rollbook_http_request_duration_seconds_count{{{enrollments}}}")
        ),
        3
    );
    assert!(!text.contains(cohort), "a raw path leaked into a label");
}

#[tokio::test]
async fn metrics_survive_a_restart_as_a_replay() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Replayed", 2).await;
    app.enroll(&cohort, "ana@example.org").await;
    let (dir, db, clock, credentials) = app.stop().await;
    let mut app = TestApp::spawn_on(db, clock, credentials).await;
    if let Some(dir) = dir {
        app.keep(dir);
    }
    let (admin, _) = app.signed_in(Role::Admin).await;
    let text = scrape(&admin, &app).await.text().await.unwrap();
    assert_eq!(value(&text, "rollbook_replay_events"), 2);
    assert_eq!(value(&text, "rollbook_store_head_position"), 2);
    // Counters start again at zero with the process.
    assert_eq!(
        value(
            &text,
            r#"rollbook_commands_total{kind="create",outcome="accepted"}"#
        ),
        0
    );
}

#[test]
fn the_flags_show_in_help() {
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--metrics-allow",
        "ROLLBOOK_METRICS_ALLOW",
        "--log-format",
        "ROLLBOOK_LOG_FORMAT",
    ] {
        assert!(text.contains(flag), "serve --help mentions {flag}:\n{text}");
    }
    let help = Command::new(BIN)
        .args(["verify", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--log-format"));
}

/// `/metrics` as an admin's token reads it.
async fn text(app: &TestApp) -> String {
    let response = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth(app.credentials.token(Role::Admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Scrapes until `done` holds for the text (the server's to reach; bounded by the patience).
async fn scrape_until(app: &TestApp, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + crate::integrations_doc::PATIENCE;
    loop {
        let text = text(app).await;
        if done(&text) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/metrics never got there:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn webhook_deliveries_failures_lag_and_pause_are_measured_per_subscription() {
    use crate::integrations_doc::{Loopback, subscribe};

    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Metrics", 10).await;
    let receiver = Loopback::start().await;
    let (id, _) = subscribe(&app, "crm \"main\"", &receiver.url(), json!({})).await;
    let labels = format!(r#"subscription="{id}",name="crm \"main\"""#);
    let series = |name: &str| format!("rollbook_webhook_{name}{{{labels}}}");
    let outcome =
        |o: &str| format!(r#"rollbook_webhook_deliveries_total{{{labels},outcome="{o}"}}"#);

    let before = text(&app).await;
    assert_eq!(value(&before, &outcome("succeeded")), 0);
    assert_eq!(value(&before, &series("lag_events")), 0);
    for learner in ["ana@example.org", "bo@example.org", "cy@example.org"] {
        app.enroll(&cohort, learner).await;
    }
    let head = crate::helpers::head(&app).await;
    for _ in 0..3 {
        receiver.next().await;
    }
    let healthy = scrape_until(&app, |t| {
        sample(t, &series("position")) == Some(f64::from(u32::try_from(head).unwrap()))
    })
    .await;
    assert_eq!(value(&healthy, &outcome("succeeded")), 3);
    assert_eq!(value(&healthy, &outcome("failed")), 0);
    assert_eq!(value(&healthy, &series("lag_events")), 0);
    assert_eq!(sample(&healthy, &series("lag_seconds")), Some(0.0));
    assert_eq!(value(&healthy, &series("paused")), 0);

    // The receiver fails; the event waits, and the clock moves 90 s on.
    receiver.answer(500);
    app.enroll(&cohort, "di@example.org").await;
    app.clock
        .set(crate::helpers::ts(crate::helpers::NOW) + jiff::SignedDuration::from_secs(90));
    let failing = scrape_until(&app, |t| sample(t, &outcome("failed")) >= Some(3.0)).await;
    assert_eq!(value(&failing, &outcome("succeeded")), 3);
    assert_eq!(value(&failing, &series("position")), head);
    assert_eq!(value(&failing, &series("lag_events")), 1);
    assert_eq!(sample(&failing, &series("lag_seconds")), Some(90.0));

    let paused = app
        .api_client(Role::Admin)
        .post(app.url(&format!("/api/v1/admin/webhooks/{id}/pause")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    let paused = text(&app).await;
    assert_eq!(value(&paused, &series("paused")), 1);

    // A deleted subscription's series go with it.
    let deleted = app
        .api_client(Role::Admin)
        .delete(app.url(&format!("/api/v1/admin/webhooks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let gone = text(&app).await;
    assert!(!gone.contains(&id), "{gone}");
    assert!(gone.contains("# TYPE rollbook_webhook_deliveries_total counter"));
}

#[tokio::test]
async fn the_stream_gauge_follows_open_and_closed_streams_and_frames_are_counted() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Metrics", 10).await;
    app.enroll(&cohort, "ana@example.org").await;
    let head = crate::helpers::head(&app).await;
    let open = |app: &TestApp| {
        app.api_client(Role::Viewer)
            .get(app.url("/api/v1/events/stream"))
            .send()
    };
    let idle = text(&app).await;
    assert_eq!(value(&idle, "rollbook_live_streams_open"), 0);
    assert_eq!(value(&idle, "rollbook_live_frames_sent_total"), 0);
    assert_eq!(value(&idle, "rollbook_live_streams_cut_slow_total"), 0);

    let mut first = open(&app).await.unwrap();
    let second = open(&app).await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    // The first stream's client reads its history (every event so far).
    let mut got = String::new();
    while !got.contains(&format!("id: {head}\n")) {
        let chunk = tokio::time::timeout(crate::integrations_doc::PATIENCE, first.chunk())
            .await
            .expect("history in time")
            .unwrap()
            .expect("stream open");
        got.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let both = text(&app).await;
    assert_eq!(value(&both, "rollbook_live_streams_open"), 2);
    assert!(
        value(&both, "rollbook_live_frames_sent_total") >= head,
        "{both}"
    );

    drop(second);
    let one = scrape_until(&app, |t| {
        sample(t, "rollbook_live_streams_open") == Some(1.0)
    })
    .await;
    assert_eq!(value(&one, "rollbook_live_streams_cut_slow_total"), 0);
    drop(first);
    scrape_until(&app, |t| {
        sample(t, "rollbook_live_streams_open") == Some(0.0)
    })
    .await;
}

#[tokio::test]
async fn a_stream_cut_as_a_slow_consumer_is_counted() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let app = TestApp::spawn_with(|config| {
        config.live_feed.buffer = 1;
        config.live_feed.heartbeat = std::time::Duration::from_millis(50);
    })
    .await;
    let cohort = app.create_cohort("Big", 10_000).await;
    // About 5 MB of history: more than the sockets' buffers hold.
    let staff = app.api_client(Role::Staff);
    for round in 0..2 {
        let csv: String = std::iter::once("learner,name\n".to_owned())
            .chain((0..5000).map(|i| format!("l{round}-{i}@x.org,\n")))
            .collect();
        let response = staff
            .post(app.url(&format!("/api/v1/cohorts/{cohort}/enrollments/bulk")))
            .header("content-type", "text/csv")
            .header("if-match", format!("\"{}\"", 1 + round * 5000))
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    // A client that reads nothing, with a small receive buffer.
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
    scrape_until(&app, |t| {
        sample(t, "rollbook_live_streams_cut_slow_total") == Some(1.0)
    })
    .await;
    let mut received = Vec::new();
    tokio::time::timeout(
        crate::integrations_doc::PATIENCE,
        slow.read_to_end(&mut received),
    )
    .await
    .expect("the cut stream ends")
    .unwrap();
    assert!(String::from_utf8_lossy(&received).contains("slow_consumer"));
    scrape_until(&app, |t| {
        sample(t, "rollbook_live_streams_open") == Some(0.0)
    })
    .await;
}
