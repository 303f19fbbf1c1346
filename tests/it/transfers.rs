//! Moving a learner between cohorts (`POST /api/v1/transfers`): one append across both streams
//! (both versions advance, one correlation id, the seat freed in the cohort left filled in the
//! same append), refusals that name their cohort and change neither, the deadlines of both
//! sides, preconditions on both versions, idempotent retries, dry runs, a failed commit that
//! keeps neither side, and the store audit re-deciding transfers.

use std::io::ErrorKind;

use rollbook::store::{Store, StoreOptions};
use serde_json::{Value, json};

use crate::helpers::audit::audit;
use crate::helpers::backends::{Fault, Faulty};
use crate::helpers::faults::FaultyApp;
use crate::helpers::workload::reopen;
use crate::helpers::*;

const TRANSFERS: &str = "/api/v1/transfers";

/// A cohort with its own deadlines.
async fn cohort_with(
    app: &TestApp,
    name: &str,
    capacity: u32,
    enroll_by: &str,
    leave_by: &str,
) -> String {
    let mut body = cohort_body(name, capacity);
    body["enrollment_deadline"] = json!(enroll_by);
    body["withdrawal_deadline"] = json!(leave_by);
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn transfer(learner: &str, from: &str, to: &str) -> Value {
    json!({"learner": learner, "from": from, "to": to})
}

/// Posts with headers; status and JSON answer.
async fn post_with(
    app: &TestApp,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = app.client.post(app.url(path)).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

async fn events_after(app: &TestApp, after: u64) -> Vec<Value> {
    let (status, feed) = app.get_json(&format!("/api/v1/events?after={after}")).await;
    assert_eq!(status, 200, "{feed}");
    feed["events"].as_array().unwrap().clone()
}

/// A of one seat held by ana with bo waiting; B of two seats, empty.
async fn ana_in_a_bo_waiting(app: &TestApp) -> (String, String) {
    let a = app.create_cohort("Mornings", 1).await;
    let b = app.create_cohort("Evenings", 2).await;
    assert_eq!(app.enroll(&a, "ana@example.org").await, "enrolled");
    assert_eq!(app.enroll(&a, "bo@example.org").await, "waitlisted");
    (a, b)
}

#[tokio::test]
async fn a_transfer_is_one_append_across_both_streams_and_the_freed_seat_is_filled_in_it() {
    let app = TestApp::spawn().await;
    let (a, b) = ana_in_a_bo_waiting(&app).await;
    let before = head(&app).await;
    let correlation = "0190c3a4-0000-7000-8000-000000000001";
    let mut body = transfer("ana@example.org", &a, &b);
    body["reason"] = json!("evenings suit her");
    let (status, moved) =
        post_with(&app, TRANSFERS, &body, &[("X-Correlation-Id", correlation)]).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        moved,
        json!({"outcome": "enrolled", "promoted": "bo@example.org", "offered": null,
               "from_version": 5, "to_version": 2, "position": before + 3})
    );
    let events = events_after(&app, before).await;
    let shown: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["cohort"].as_str().unwrap()))
        .collect();
    assert_eq!(
        shown,
        [
            ("student.transferred_out", a.as_str()),
            ("waitlist.promoted", a.as_str()),
            ("student.transferred_in", b.as_str()),
        ]
    );
    for event in &events {
        assert_eq!(event["correlation_id"], correlation, "{event}");
        assert_eq!(event["command_id"], events[0]["command_id"], "{event}");
    }
    assert_eq!(events[0]["data"]["to"], b.as_str());
    assert_eq!(events[0]["data"]["reason"], "evenings suit her");
    assert_eq!(events[2]["data"]["from"], a.as_str());
    assert_eq!(keys(&app.cohort(&a).await, "enrolled"), ["bo@example.org"]);
    assert_eq!(keys(&app.cohort(&b).await, "enrolled"), ["ana@example.org"]);
    assert_eq!(app.cohort(&a).await["version"], 5);
    assert_eq!(app.cohort(&b).await["version"], 2);

    // The metrics count it as its own kind.
    let (admin, _) = app.signed_in(rollbook::auth::Role::Admin).await;
    let metrics = admin
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"rollbook_commands_total{kind="transfer",outcome="accepted"} 1"#),
        "{metrics}"
    );

    // The store's audit re-decides the transfer from both states and finds it whole.
    let (_dir, db, _, _) = app.stop().await;
    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    let audited = audit(&store).expect("the store passes the audit");
    assert_eq!(
        audited.commands.len(),
        5,
        "one command for the transfer's three events"
    );
}

#[tokio::test]
async fn a_refusal_names_its_cohort_and_changes_neither() {
    let app = TestApp::spawn().await;
    let (a, b) = ana_in_a_bo_waiting(&app).await;
    let full = app.create_cohort("Full", 1).await;
    assert_eq!(app.enroll(&full, "cy@example.org").await, "enrolled");
    assert_eq!(app.enroll(&b, "cy@example.org").await, "enrolled");
    let before = head(&app).await;
    let a_before = app.cohort(&a).await;

    let refused = |code: &'static str, cohort: &str, status: u16| {
        let cohort = cohort.to_owned();
        move |(got, body): (u16, Value)| {
            assert_eq!(got, status, "{body}");
            assert_eq!(body["error"]["code"], code, "{body}");
            assert_eq!(body["error"]["cohort"], cohort.as_str(), "{body}");
        }
    };
    // B full, the waitlist not allowed: refused for B; A keeps ana, nobody is promoted.
    refused("no_seat_free", &full, 422)(
        app.post_json(TRANSFERS, &transfer("ana@example.org", &a, &full))
            .await,
    );
    let (_, body) = app
        .post_json(TRANSFERS, &transfer("ana@example.org", &a, &full))
        .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Full: "),
        "{body}"
    );
    refused("same_cohort", &a, 422)(
        app.post_json(TRANSFERS, &transfer("ana@example.org", &a, &a))
            .await,
    );
    refused("not_enrolled", &a, 422)(
        app.post_json(TRANSFERS, &transfer("dee@example.org", &a, &b))
            .await,
    );
    refused("already_enrolled", &b, 422)(
        app.post_json(TRANSFERS, &transfer("cy@example.org", &full, &b))
            .await,
    );
    let missing = "0190c3a4-0000-7000-8000-00000000dead";
    refused("cohort_not_found", missing, 404)(
        app.post_json(TRANSFERS, &transfer("ana@example.org", &a, missing))
            .await,
    );
    assert_eq!(head(&app).await, before, "nothing was written");
    assert_eq!(app.cohort(&a).await, a_before, "A is untouched");
    assert!(keys(&app.cohort(&full).await, "waitlist").is_empty());
    // Each refusal is journalled under the cohort it concerns.
    let (_, html) = page(&app, &format!("/cohorts/{full}")).await;
    assert!(html.contains("transfer to another cohort"), "{html}");
    let (_, html) = page(&app, &format!("/cohorts/{b}")).await;
    assert!(
        html.contains("transfer to another cohort"),
        "already enrolled in B: {html}"
    );

    // Allowed to wait, ana joins B's waitlist and bo takes her seat in A.
    let mut body = transfer("ana@example.org", &a, &full);
    body["allow_waitlist"] = json!(true);
    let (status, moved) = app.post_json(TRANSFERS, &body).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["outcome"], "waitlisted");
    assert_eq!(moved["promoted"], "bo@example.org");
    assert_eq!(
        keys(&app.cohort(&full).await, "waitlist"),
        ["ana@example.org"]
    );
}

#[tokio::test]
async fn the_deadlines_of_both_cohorts_decide() {
    let app = TestApp::spawn().await;
    // A: its withdrawal deadline on the 3rd; B: enrollment open until the 10th; C: enrollment
    // closed on the 2nd.
    let a = cohort_with(&app, "A", 1, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z").await;
    let b = app.create_cohort("B", 5).await;
    let c = cohort_with(&app, "C", 5, "2026-03-02T00:00:00Z", "2026-03-20T00:00:00Z").await;
    assert_eq!(app.enroll(&a, "ana@example.org").await, "enrolled");
    assert_eq!(app.enroll(&a, "bo@example.org").await, "waitlisted");
    assert_eq!(app.enroll(&b, "cy@example.org").await, "enrolled");
    app.clock.set(ts("2026-03-05T00:00:00Z"));

    let (status, body) = app
        .post_json(TRANSFERS, &transfer("ana@example.org", &a, &b))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "withdrawal_deadline_passed");
    assert_eq!(body["error"]["cohort"], a.as_str());
    // A waitlisted learner may leave after it.
    let (status, body) = app
        .post_json(TRANSFERS, &transfer("bo@example.org", &a, &b))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "enrolled");
    // Joining a cohort past its enrollment deadline is refused for that cohort.
    let (status, body) = app
        .post_json(TRANSFERS, &transfer("cy@example.org", &b, &c))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "enrollment_deadline_passed");
    assert_eq!(body["error"]["cohort"], c.as_str());
    assert_eq!(
        keys(&app.cohort(&b).await, "enrolled"),
        ["cy@example.org", "bo@example.org"]
    );
}

#[tokio::test]
async fn both_expected_versions_are_checked_and_a_retry_with_its_key_writes_nothing() {
    let app = TestApp::spawn().await;
    let (a, b) = ana_in_a_bo_waiting(&app).await;
    let before = head(&app).await;
    let mut stale = transfer("ana@example.org", &a, &b);
    stale["expected_from_version"] = json!(3);
    stale["expected_to_version"] = json!(2);
    let (status, body) = app.post_json(TRANSFERS, &stale).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "version_conflict");
    let (status, body) = post_with(
        &app,
        TRANSFERS,
        &transfer("ana@example.org", &a, &b),
        &[("If-Match", "\"3\"")],
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_field")),
        "{body}"
    );
    assert_eq!(head(&app).await, before);

    let mut current = stale.clone();
    current["expected_to_version"] = json!(1);
    let key = [("Idempotency-Key", "move-ana-1")];
    let (status, first) = post_with(&app, TRANSFERS, &current, &key).await;
    assert_eq!(status, 200, "{first}");
    let after = head(&app).await;
    let (status, again) = post_with(&app, TRANSFERS, &current, &key).await;
    assert_eq!((status, &again), (200, &first), "the first answer, again");
    assert_eq!(head(&app).await, after, "and nothing written");

    // A refusal is answered again, naming its cohort again.
    let back = transfer("ana@example.org", &b, &a);
    let key = [("Idempotency-Key", "move-back")];
    let (status, refused) = post_with(&app, TRANSFERS, &back, &key).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "no_seat_free");
    assert_eq!(refused["error"]["cohort"], a.as_str());
    withdraw(&app, &a, "bo@example.org", "").await;
    let (status, again) = post_with(&app, TRANSFERS, &back, &key).await;
    assert_eq!(
        (status, &again),
        (422, &refused),
        "the recorded refusal, though A has room now"
    );
}

#[tokio::test]
async fn a_dry_run_foretells_the_transfer_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (a, b) = ana_in_a_bo_waiting(&app).await;
    let before = head(&app).await;
    let body = transfer("ana@example.org", &a, &b);
    let (status, dry) = app
        .post_json(&format!("{TRANSFERS}?dry_run=true"), &body)
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(head(&app).await, before, "the dry run wrote nothing");
    let (status, done) = app.post_json(TRANSFERS, &body).await;
    assert_eq!(status, 200, "{done}");
    let appended: Vec<Value> = events_after(&app, before)
        .await
        .iter()
        .map(|e| json!({"type": e["type"], "data": e["data"]}))
        .collect();
    assert_eq!(dry["events"], json!(appended));
    let mut foretold = dry.clone();
    for field in ["dry_run", "decided_at", "events"] {
        foretold.as_object_mut().unwrap().remove(field);
    }
    assert_eq!(foretold, done);

    // As of before the transfer, ana could have moved; now she is no longer in A.
    let (status, then) = app
        .post_json(&format!("{TRANSFERS}?dry_run=true&as_of={before}"), &body)
        .await;
    assert_eq!(status, 200, "{then}");
    assert_eq!(then["promoted"], "bo@example.org");
    let (status, now) = app
        .post_json(&format!("{TRANSFERS}?dry_run=true"), &body)
        .await;
    assert_eq!(
        (status, &now["error"]["code"]),
        (422, &json!("not_enrolled")),
        "{now}"
    );
    assert_eq!(now["error"]["cohort"], a.as_str());
    let after = head(&app).await;
    assert_eq!(after, before + 3);
}

/// A commit that fails keeps neither side: the store holds no event of the transfer, in the live
/// file or what reached the disk, and passes the audit.
#[tokio::test]
async fn a_failed_commit_keeps_neither_side() {
    let app = FaultyApp::start();
    let a = app.create_cohort().await;
    let b = app.create_cohort().await;
    let (status, body) = app.enroll(&a, "ana@example.org").await;
    assert_eq!(status, 200, "{body}");
    app.backend
        .arm(1, Fault::Persistent, Faulty::Writes, ErrorKind::StorageFull);
    let (status, body) = app
        .post(TRANSFERS, &transfer("ana@example.org", &a, &b))
        .await;
    assert_eq!(status, 503, "{body}");
    app.backend.disarm();
    let backend = app.stop().await;
    for image in [backend.live(), backend.durable()] {
        let store = reopen(image).unwrap();
        let audited = audit(&store).expect("audits");
        let kinds: Vec<&str> = audited.events.iter().map(|e| e.event.type_name()).collect();
        assert_eq!(
            kinds,
            ["cohort.created", "cohort.created", "student.enrolled"],
            "neither side of the transfer was kept"
        );
    }
}

/// Mornings (one seat: Ana, Bo waiting), Evenings (two seats, empty), Weekends (one seat: Cy).
async fn three_named_cohorts(app: &TestApp) -> (String, String, String) {
    let a = app.create_cohort("Mornings", 1).await;
    let b = app.create_cohort("Evenings", 2).await;
    let full = app.create_cohort("Weekends", 1).await;
    for (cohort, learner, name) in [
        (&a, "ana@example.org", "Ana"),
        (&a, "bo@example.org", "Bo"),
        (&full, "cy@example.org", "Cy"),
    ] {
        let (status, body) = app
            .post_json(
                &format!("/api/v1/cohorts/{cohort}/enrollments"),
                &json!({"learner": learner, "name": name}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    (a, b, full)
}

#[tokio::test]
async fn a_viewer_is_offered_no_move() {
    let app = TestApp::spawn().await;
    three_named_cohorts(&app).await;
    let (viewer, _) = app.page_client(rollbook::auth::Role::Viewer).await;
    let (_, html) = text(
        viewer
            .get(app.url("/learners/ana%40example.org"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(html.contains("ana@example.org"), "{html}");
    assert!(
        !html.contains("Move to another cohort"),
        "a viewer is offered no move"
    );
}

/// The learner page: a preview line decided by the writer's preview (writing nothing), the move
/// itself with Post/Redirect/Get and its plain words, and a refusal beside the form.
#[tokio::test]
async fn the_learner_page_previews_and_moves_with_post_redirect_get() {
    let app = TestApp::spawn().await;
    let (a, b, full) = three_named_cohorts(&app).await;
    let before = head(&app).await;
    let (status, html) = page(&app, "/learners/ana%40example.org").await;
    assert_eq!(status, 200);
    assert!(html.contains("Move to another cohort"), "{html}");
    assert!(
        html.contains(&format!(r#"<option value="{b}">Evenings</option>"#)),
        "{html}"
    );
    assert!(
        !html.contains(&format!(r#"<option value="{a}">"#)),
        "not the cohort left"
    );

    let (status, html) = page(
        &app,
        &format!("/learners/ana%40example.org?move_from={a}&move_to={b}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains(
            "Ana would take a seat in Evenings; the head of the waitlist in Mornings, Bo, would \
             be promoted."
        ),
        "{html}"
    );
    assert_eq!(head(&app).await, before, "the preview wrote nothing");

    // Weekends is full: refused beside the form, at the top, nothing written.
    let response = app
        .post_form(
            "/learners/ana%40example.org/transfer",
            &[("from", &a), ("to", &full), ("reason", "")],
        )
        .await;
    let (status, html) = text(response).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("Not done:</strong> Weekends: "), "{html}");
    assert_eq!(head(&app).await, before);

    let response = app
        .post_form(
            "/learners/ana%40example.org/transfer",
            &[("from", &a), ("to", &b), ("reason", "evenings")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!(
            "/learners/ana%40example.org?moved={}-{}",
            before + 1,
            before + 3
        )
    );
    let (status, html) = page(&app, &location).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(
            "Ana moved from Mornings to Evenings — took a seat; Bo promoted in Mornings."
        ),
        "{html}"
    );
    assert_eq!(keys(&app.cohort(&b).await, "enrolled"), ["ana@example.org"]);

    // Both cohorts' histories say it in plain words, and the withdrawals report counts it.
    let (_, history) = page(&app, &format!("/cohorts/{a}/history")).await;
    assert!(history.contains("transferred to Evenings"), "{history}");
    let (_, history) = page(&app, &format!("/cohorts/{b}/history")).await;
    assert!(
        history.contains("transferred in from Mornings and took a seat"),
        "{history}"
    );
    let (_, report) = page(&app, "/reports/withdrawals.csv").await;
    assert!(
        report
            .lines()
            .any(|l| l.contains("ana@example.org") && l.contains("transfer")),
        "{report}"
    );
}

/// `rollbook generate` (and so `serve --demo`) moves a few learners between cohorts, through the
/// real writer, every one allowed by the rules, and the history passes the audit that re-decides
/// each transfer.
#[test]
fn the_generator_makes_a_few_transfers_the_audit_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generated.redb");
    let mut options = rollbook::generate::GenerateOptions::new(
        40,
        300,
        4000,
        1,
        "2026-03-01T09:00:00Z".parse().unwrap(),
    );
    options.batch = 512;
    let summary = rollbook::generate::generate(&path, &options, &|_| {}).expect("generates");
    assert_eq!(
        summary.refused, 0,
        "the generator asks only what the rules allow"
    );
    let store = Store::open(&path, &StoreOptions::default()).unwrap();
    let audited = audit(&store).expect("the generated history passes the audit");
    let count = |kind: &str| {
        audited
            .events
            .iter()
            .filter(|e| e.event.type_name() == kind)
            .count()
    };
    let transfers = count("student.transferred_out");
    assert!(transfers >= 3, "a few transfers: {transfers}");
    assert_eq!(count("student.transferred_in"), transfers);
}

fn move_request(
    from: rollbook::domain::CohortId,
    to: rollbook::domain::CohortId,
    learner: &str,
) -> rollbook::writer::Request {
    rollbook::writer::Request::Transfer {
        cohort: from,
        to,
        learner: crate::helpers::workload::key(learner),
        allow_waitlist: true,
        reason: String::new(),
    }
}

/// In one batch, a transfer is decided on both cohorts as of the commands before it (the last
/// seat of B taken just before: waitlisted), a later command sees its outcome (A's freed seat
/// went to its waitlist head), and a repeat of its key within the batch answers it again.
#[test]
fn a_transfer_in_a_batch_is_decided_as_of_the_commands_before_it() {
    use crate::helpers::workload::{cohort_id, create, enroll, keyed, plain, test_writer};
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        Store::open(&dir.path().join("db.redb"), &StoreOptions::default()).unwrap(),
    );
    let mut writer = test_writer(&store);
    let (a, b) = (cohort_id(1), cohort_id(2));
    let setup = writer.process(vec![
        plain(create(a, 1)),
        plain(create(b, 1)),
        plain(enroll(a, "ana@example.org")),
        plain(enroll(a, "bo@example.org")),
    ]);
    assert!(setup.results.iter().all(Result::is_ok));
    let outcome = writer.process(vec![
        plain(enroll(b, "cy@example.org")),
        keyed(move_request(a, b, "ana@example.org"), "k"),
        plain(enroll(a, "dee@example.org")),
        keyed(move_request(a, b, "ana@example.org"), "k"),
    ]);
    let moved = outcome.results[1].as_ref().expect("moved");
    let kinds: Vec<(&str, u64)> = moved
        .events
        .iter()
        .map(|e| (e.event.type_name(), e.version))
        .collect();
    assert_eq!(
        kinds,
        [
            ("student.transferred_out", 4),
            ("waitlist.promoted", 5),
            ("student.transferred_in", 3),
        ],
        "B was full by then: ana waits, at B's version after cy"
    );
    assert!(matches!(
        moved.events[2].event,
        rollbook::domain::Event::StudentTransferredIn {
            waitlisted_at: Some(1),
            ..
        }
    ));
    assert_eq!((moved.cohort, moved.version), (a, 5));
    let dee = outcome.results[2].as_ref().expect("dee");
    assert_eq!(
        dee.events[0].event.type_name(),
        "student.waitlisted",
        "bo took A's freed seat"
    );
    let again = outcome.results[3].as_ref().expect("answered again");
    assert!(again.replayed);
    assert_eq!(again.events, moved.events);
    audit(&store).expect("the store passes the audit");
}

/// The audit re-decides a transfer: one invented (a waitlist place where a seat was free), or
/// half a transfer (one stream only), is reported.
#[test]
fn the_audit_reports_an_invented_or_half_transfer() {
    use crate::helpers::workload::{cohort_id, create, enroll, plain, test_writer};
    use rollbook::domain::{Event, Note};
    use rollbook::store::{Actor, Batch, CommandMeta, StreamAppend};
    for half in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(
            Store::open(&dir.path().join("db.redb"), &StoreOptions::default()).unwrap(),
        );
        let mut writer = test_writer(&store);
        let (a, b) = (cohort_id(1), cohort_id(2));
        let setup = writer.process(vec![
            plain(create(a, 1)),
            plain(create(b, 3)),
            plain(enroll(a, "ana@example.org")),
        ]);
        let ana = setup.envelopes[2].event.learner().unwrap();
        audit(&store).expect("whole before");
        let id = uuid::Uuid::now_v7();
        let meta = CommandMeta {
            actor: Actor::local(),
            command_id: id,
            correlation_id: id,
            causation_id: id,
        };
        let append = |cohort, expected_version, events| StreamAppend {
            cohort,
            expected_version,
            events,
            occurred_at: ts(NOW),
            meta: meta.clone(),
            idempotency: None,
        };
        let mut appends = vec![append(
            a,
            2,
            vec![Event::StudentTransferredOut {
                learner: ana,
                to: b,
                reason: Note::Text(String::new()),
            }],
        )];
        if !half {
            appends.push(append(
                b,
                1,
                vec![Event::StudentTransferredIn {
                    learner: ana,
                    from: a,
                    waitlisted_at: Some(1),
                }],
            ));
        }
        let batch = Batch {
            appends,
            ..Batch::default()
        };
        store.commit(&batch, ts(NOW)).unwrap();
        let Err(found) = audit(&store) else {
            panic!("the audit passed a forged transfer (half: {half})");
        };
        let expected = if half {
            "half a transfer"
        } else {
            "half-applied or invented"
        };
        assert!(found.contains(expected), "{found}");
    }
}
