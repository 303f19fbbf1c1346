//! `?dry_run=true` (and `as_of`) on the API's commands: a dry run answers what the command then
//! does, writes nothing (no event, journal entry, learner, idempotency record or command
//! count), runs against the cohort as it was at a past point and at that time, and needs the
//! command's role.

use reqwest::Client;
use rollbook::auth::Role;
use rollbook::clock::Clock as _;
use rollbook::store::{Store, StoreOptions, idempotency_key};
use serde_json::{Value, json};

use crate::helpers::*;

/// Posts `body` (or nothing) to `path` as `client` with `headers`; the status and JSON answer.
async fn send(
    app: &TestApp,
    client: &Client,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = client.post(app.url(path));
    if let Some(body) = body {
        request = request.json(body);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

/// [`send`] as staff.
async fn post(app: &TestApp, path: &str, body: &Value, headers: &[(&str, &str)]) -> (u16, Value) {
    send(app, &app.client, path, Some(body), headers).await
}

/// `path` with `query` added.
fn with(path: &str, query: &str) -> String {
    format!("{path}?{query}")
}

/// The events after `position`, as a dry run lists them (type and data).
async fn events_after(app: &TestApp, position: u64) -> Vec<Value> {
    let (status, feed) = app
        .get_json(&format!("/api/v1/events?after={position}"))
        .await;
    assert_eq!(status, 200, "{feed}");
    feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!({"type": e["type"], "data": e["data"]}))
        .collect()
}

/// Dry-runs `path` with `body`, checks it wrote nothing, then runs it for real and checks the dry
/// run foretold it: a refusal's status and body, or a success's fields (all but a new cohort's
/// id) and the events the real command appended. Returns the real answer.
async fn foretells(app: &TestApp, path: &str, body: Option<Value>) -> (u16, Value) {
    let before = head(app).await;
    let (dry_status, dry) = send(
        app,
        &app.client,
        &with(path, "dry_run=true"),
        body.as_ref(),
        &[],
    )
    .await;
    assert_eq!(head(app).await, before, "the dry run wrote nothing: {dry}");
    let (status, real) = send(app, &app.client, path, body.as_ref(), &[]).await;
    if status >= 400 {
        assert_eq!(
            (dry_status, &dry),
            (status, &real),
            "{path}: the same refusal"
        );
        assert_eq!(head(app).await, before);
        return (status, real);
    }
    assert_eq!(dry_status, 200, "{path}: {dry}");
    assert_eq!(dry["dry_run"], true, "{dry}");
    assert_eq!(
        dry["decided_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap(),
        app.clock.now(),
        "{dry}"
    );
    let appended = events_after(app, before).await;
    assert!(!appended.is_empty());
    assert_eq!(
        dry["events"],
        json!(appended),
        "{path}: the events it foretold"
    );
    let mut foretold = dry.clone();
    let mut done = real.clone();
    for field in ["dry_run", "decided_at", "events"] {
        foretold.as_object_mut().unwrap().remove(field);
    }
    if path == "/api/v1/cohorts" {
        assert!(uuid::Uuid::parse_str(foretold["id"].as_str().unwrap()).is_ok());
        foretold.as_object_mut().unwrap().remove("id");
        done.as_object_mut().unwrap().remove("id");
    }
    assert_eq!(foretold, done, "{path}: the answer it foretold");
    (status, real)
}

#[tokio::test]
async fn a_dry_run_of_each_command_foretells_what_the_command_then_does() {
    let app = TestApp::spawn().await;
    let (status, created) = foretells(&app, "/api/v1/cohorts", Some(cohort_body("Dry", 1))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let cohort = |rest: &str| format!("/api/v1/cohorts/{id}/{rest}");
    let enroll = |learner: &str| Some(json!({"learner": learner, "name": "Someone New"}));
    let withdraw = |learner: &str| Some(json!({"learner": learner, "reason_code": "personal"}));

    // Takes the seat (a learner not filed yet: the dry run names them by the key sent).
    let (_, ana) = foretells(&app, &cohort("enrollments"), enroll("Ana@Example.org")).await;
    assert_eq!(ana["outcome"], "enrolled");
    let (_, bob) = foretells(&app, &cohort("enrollments"), enroll("bob@example.org")).await;
    assert_eq!(bob["outcome"], "waitlisted");
    let (status, _) = foretells(&app, &cohort("enrollments"), enroll("ana@example.org")).await;
    assert_eq!(status, 422, "already enrolled");
    let (status, _) = foretells(&app, &cohort("promotions"), None).await;
    assert_eq!(status, 422, "no seat free");
    // A new seat promotes bob.
    let (_, grown) = foretells(&app, &cohort("capacity"), Some(json!({"capacity": 2}))).await;
    assert_eq!(grown["promoted"], json!(["bob@example.org"]));
    let (status, _) = foretells(&app, &cohort("capacity"), Some(json!({"capacity": 2}))).await;
    assert_eq!(status, 422, "unchanged");
    foretells(&app, &cohort("enrollments"), enroll("carl@example.org")).await;
    // Ana's seat goes to carl, in the same append.
    let (_, out) = foretells(&app, &cohort("withdrawals"), withdraw("ana@example.org")).await;
    assert_eq!(
        (&out["outcome"], &out["promoted"]),
        (&json!("withdrawn"), &json!("carl@example.org"))
    );
    foretells(&app, &cohort("enrollments"), enroll("dan@example.org")).await;
    let (_, left) = foretells(&app, &cohort("withdrawals"), withdraw("dan@example.org")).await;
    assert_eq!(left["outcome"], "left_waitlist");
    let (status, _) = foretells(&app, &cohort("withdrawals"), withdraw("zed@example.org")).await;
    assert_eq!(status, 422, "not enrolled");
    let (status, _) = foretells(&app, &cohort("close"), None).await;
    assert_eq!(status, 200);
    let (status, refused) = foretells(&app, &cohort("enrollments"), enroll("erin@x.org")).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (422, &json!("enrollment_closed"))
    );
    let (status, _) = foretells(&app, &cohort("close"), None).await;
    assert_eq!(status, 422, "already closed");
    let missing = format!("/api/v1/cohorts/{}/close", uuid::Uuid::now_v7());
    let (status, _) = foretells(&app, &missing, None).await;
    assert_eq!(status, 404);
    let (status, _) = foretells(&app, &cohort("capacity"), Some(json!({"capacity": 0}))).await;
    assert_eq!(status, 400, "a bad field is the same 400");
}

/// The lines of `/metrics` that count commands.
async fn command_counts(app: &TestApp) -> Vec<String> {
    let admin = app.api_client(Role::Admin);
    let text = admin
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("rollbook_commands"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn dry_runs_write_no_event_journal_entry_learner_idempotency_record_or_count() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Nothing written", 1).await;
    app.enroll(&id, "ana@example.org").await;
    let path = |rest: &str| format!("/api/v1/cohorts/{id}/{rest}?dry_run=true");
    let before = head(&app).await;
    let counts = command_counts(&app).await;
    let runs: [(&str, Option<Value>, &str, u16); 7] = [
        (
            "enrollments",
            Some(json!({"learner": "bob@example.org", "name": "Bob"})),
            "k-1",
            200,
        ),
        (
            "enrollments",
            Some(json!({"learner": "ana@example.org"})),
            "k-2",
            422,
        ),
        (
            "withdrawals",
            Some(json!({"learner": "zed@example.org"})),
            "k-3",
            422,
        ),
        ("promotions", None, "k-4", 422),
        ("capacity", Some(json!({"capacity": 3})), "k-5", 200),
        ("close", None, "k-6", 200),
        (
            "withdrawals",
            Some(json!({"learner": "ana@example.org"})),
            "k-7",
            200,
        ),
    ];
    for (rest, body, key, want) in &runs {
        let headers = [("Idempotency-Key", *key)];
        let (status, answer) = send(&app, &app.client, &path(rest), body.as_ref(), &headers).await;
        assert_eq!(status, *want, "{rest}: {answer}");
        // A second time, the same: nothing was recorded under the key to be answered again.
        let (again, repeat) = send(&app, &app.client, &path(rest), body.as_ref(), &headers).await;
        assert_eq!(again, status, "{rest}: {repeat}");
    }
    // A refused enrollment of a learner nobody filed: for real, it files them and journals.
    app.clock.set(ts("2026-03-11T00:00:00Z"));
    let late = json!({"learner": "late@example.org", "name": "Late"});
    let (status, late) = post(
        &app,
        &path("enrollments"),
        &late,
        &[("Idempotency-Key", "k-8")],
    )
    .await;
    assert_eq!(
        (status, &late["error"]["code"]),
        (422, &json!("enrollment_deadline_passed"))
    );
    app.clock.set(ts(NOW));

    assert_eq!(head(&app).await, before, "no event");
    assert_eq!(command_counts(&app).await, counts, "no command counted");
    for learner in ["bob@example.org", "zed@example.org", "late@example.org"] {
        let (status, _) = app
            .get_json(&format!("/api/v1/learners/{learner}/timeline"))
            .await;
        assert_eq!(status, 404, "{learner} was not filed");
    }
    // The keys are free: a different request under each is decided, not refused as a reuse.
    let enroll = format!("/api/v1/cohorts/{id}/enrollments");
    for (learner, key) in [("carl@example.org", "k-1"), ("bob@example.org", "k-2")] {
        let (status, body) = post(
            &app,
            &enroll,
            &json!({"learner": learner}),
            &[("Idempotency-Key", key)],
        )
        .await;
        assert_eq!((status, &body["outcome"]), (200, &json!("waitlisted")));
    }
    let actor = events_feed_actor(&app).await;
    let (_dir, db, _, _) = app.stop().await;
    nothing_stored(&db, actor, &["k-3", "k-4", "k-5", "k-6", "k-7", "k-8"]);
}

/// The file at `db` holds no journal entry and no idempotency record under `keys` of `actor`
/// (but one under `k-1`, used for real: the check sees records).
fn nothing_stored(db: &std::path::Path, actor: uuid::Uuid, keys: &[&str]) {
    let store = Store::open(db, &StoreOptions::default()).unwrap();
    let reader = store.read().unwrap();
    assert!(reader.journal().unwrap().is_empty(), "no journal entry");
    let recorded = |key: &str| {
        reader
            .command_record(&idempotency_key(actor, key))
            .unwrap()
            .is_some()
    };
    for key in keys {
        assert!(!recorded(key), "nothing recorded under {key}");
    }
    assert!(recorded("k-1"), "the real command's key is recorded");
}

/// The account id on the newest event (the staff account's).
async fn events_feed_actor(app: &TestApp) -> uuid::Uuid {
    let (_, feed) = app.get_json("/api/v1/events?limit=1000").await;
    let last = feed["events"].as_array().unwrap().last().unwrap();
    last["actor_id"].as_str().unwrap().parse().unwrap()
}

/// A cohort of one seat created at 09:00 on the 1st, ana enrolled at 10:00, and the clock on
/// the 21st (both deadlines passed); its id and the positions of those two events.
async fn full_and_late(app: &TestApp) -> (String, u64, u64) {
    let id = app.create_cohort("What if", 1).await;
    let created_at = head(app).await;
    app.clock.set(ts("2026-03-01T10:00:00Z"));
    app.enroll(&id, "ana@example.org").await;
    let enrolled_at = head(app).await;
    app.clock.set(ts("2026-03-21T00:00:00Z"));
    (id, created_at, enrolled_at)
}

#[tokio::test]
async fn as_of_runs_against_the_cohort_as_it_was_then_at_that_time() {
    let app = TestApp::spawn().await;
    let (id, created_at, enrolled_at) = full_and_late(&app).await;
    let enroll = format!("/api/v1/cohorts/{id}/enrollments");
    let bob = json!({"learner": "bob@example.org"});
    let dry = |query: &str| with(&enroll, &format!("dry_run=true&{query}"));

    let (status, now) = post(&app, &with(&enroll, "dry_run=true"), &bob, &[]).await;
    assert_eq!(
        (status, &now["error"]["code"]),
        (422, &json!("enrollment_deadline_passed"))
    );
    // Had bob enrolled at 09:30 on the 1st, he would have had the seat.
    let (status, then) = post(&app, &dry("as_of=2026-03-01T09:30:00Z"), &bob, &[]).await;
    assert_eq!(status, 200, "{then}");
    assert_eq!(then["outcome"], "enrolled");
    assert_eq!(then["decided_at"], "2026-03-01T09:30:00Z");
    assert_eq!(then["version"], 2, "the cohort's version then, plus one");
    assert_eq!(
        then["events"],
        json!([{"type": "student.enrolled", "data": {"learner": "bob@example.org"}}])
    );
    // After ana took it, he would have been waitlisted.
    let (_, later) = post(&app, &dry("as_of=2026-03-05T12:00:00%2B01:00"), &bob, &[]).await;
    assert_eq!(later["outcome"], "waitlisted", "{later}");
    assert_eq!(later["decided_at"], "2026-03-05T11:00:00Z");

    // By position: right after that event, at the time it was decided.
    let (_, first) = post(&app, &dry(&format!("as_of={created_at}")), &bob, &[]).await;
    assert_eq!(
        (&first["outcome"], &first["decided_at"]),
        (&json!("enrolled"), &json!(NOW))
    );
    let (_, second) = post(&app, &dry(&format!("as_of={enrolled_at}")), &bob, &[]).await;
    assert_eq!(
        (&second["outcome"], &second["decided_at"]),
        (&json!("waitlisted"), &json!("2026-03-01T10:00:00Z"))
    );
    // Before the cohort existed.
    let (status, before) = post(&app, &dry("as_of=2026-02-01T00:00:00Z"), &bob, &[]).await;
    assert_eq!(
        (status, &before["error"]["code"]),
        (404, &json!("cohort_not_found"))
    );
    assert_eq!(head(&app).await, enrolled_at, "nothing written");
}

#[tokio::test]
async fn as_of_finds_a_deadline_not_yet_passed_and_checks_if_match_against_then() {
    let app = TestApp::spawn().await;
    let (id, created_at, enrolled_at) = full_and_late(&app).await;
    let withdraw = format!("/api/v1/cohorts/{id}/withdrawals");
    let ana = json!({"learner": "ana@example.org"});
    let (status, now) = post(&app, &with(&withdraw, "dry_run=true"), &ana, &[]).await;
    assert_eq!(
        (status, &now["error"]["code"]),
        (422, &json!("withdrawal_deadline_passed"))
    );
    let then = with(&withdraw, "dry_run=true&as_of=2026-03-19T23:59:59Z");
    let (status, then) = post(&app, &then, &ana, &[]).await;
    assert_eq!(
        (status, &then["outcome"]),
        (200, &json!("withdrawn")),
        "{then}"
    );

    // `If-Match` is checked against the version decided on.
    let enroll = format!("/api/v1/cohorts/{id}/enrollments");
    let bob = json!({"learner": "bob@example.org"});
    let version_1 = [("If-Match", "\"1\"")];
    let at_creation = with(&enroll, &format!("dry_run=true&as_of={created_at}"));
    let (status, _) = post(&app, &at_creation, &bob, &version_1).await;
    assert_eq!(status, 200);
    let at_enrollment = with(&enroll, &format!("dry_run=true&as_of={enrolled_at}"));
    let (status, conflict) = post(&app, &at_enrollment, &bob, &version_1).await;
    assert_eq!(
        (status, &conflict["error"]["code"]),
        (409, &json!("version_conflict"))
    );
    assert_eq!(head(&app).await, enrolled_at, "nothing written");
}

#[tokio::test]
async fn bad_dry_run_or_as_of_parameters_are_refused_and_never_commit() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Parameters", 5).await;
    let enroll = format!("/api/v1/cohorts/{id}/enrollments");
    let bob = json!({"learner": "bob@example.org"});
    let before = head(&app).await;
    for (query, status, code) in [
        ("dry_run=maybe", 400, "invalid_parameter"),
        ("dry_run=true&as_of=yesterday", 400, "invalid_parameter"),
        ("dry_run=true&as_of=-3", 400, "invalid_parameter"),
        // No command can be written into the past.
        ("as_of=1", 422, "as_of_needs_dry_run"),
        (
            "dry_run=false&as_of=2026-03-01T09:00:00Z",
            422,
            "as_of_needs_dry_run",
        ),
        ("dry_run=true&as_of=0", 422, "as_of_out_of_range"),
        ("dry_run=true&as_of=99", 422, "as_of_out_of_range"),
    ] {
        let (got, body) = send(&app, &app.client, &with(&enroll, query), Some(&bob), &[]).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{query}: {body}"
        );
    }
    assert_eq!(head(&app).await, before, "nothing written");
    // `dry_run=false` is the command itself.
    let (status, body) = send(
        &app,
        &app.client,
        &with(&enroll, "dry_run=false"),
        Some(&bob),
        &[],
    )
    .await;
    assert_eq!((status, &body["outcome"]), (200, &json!("enrolled")));
    assert!(body.get("dry_run").is_none());
    assert_eq!(head(&app).await, before + 1);
}

#[tokio::test]
async fn a_dry_run_needs_the_command_s_role() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Roles", 5).await;
    let before = head(&app).await;
    let enroll = format!("/api/v1/cohorts/{id}/enrollments?dry_run=true");
    let bob = json!({"learner": "bob@example.org"});
    let (status, body) = send(
        &app,
        &app.api_client(Role::Viewer),
        &enroll,
        Some(&bob),
        &[],
    )
    .await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")));
    let (status, body) = send(&app, &app.anonymous(), &enroll, Some(&bob), &[]).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = send(&app, &app.api_client(Role::Admin), &enroll, Some(&bob), &[]).await;
    assert_eq!((status, &body["dry_run"]), (200, &json!(true)));
    assert_eq!(head(&app).await, before);
}
