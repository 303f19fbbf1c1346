//! The right to erasure: an admin erases a learner's personal data; every page then shows
//! "erased learner", the history keeps the opaque id and still verifies with the same chain
//! head, and neither the database file, a new backup, an export nor any page holds the erased
//! strings — a reason staff typed to look erased (`sha256:…`) and an `Idempotency-Key` holding
//! the learner's email included — while another learner's look-alike reason stays text.

use std::path::Path;
use std::process::Command;

use rollbook::auth::Role;
use rollbook::store::verify;
use serde_json::json;

use crate::helpers::*;

const KEY: &str = "lena.lindqvist@example.org";
const NAME: &str = "Lena Lindqvist";
const REASON: &str = "moving to Lisbon with her partner Ana Pereira";
/// A reason staff typed for Lena that looks like what erasure used to leave of one.
const TYPED: &str = "sha256:staff typed this, Lena is moving to Porto";
/// A look-alike reason staff typed for a learner nobody erases.
const KEPT: &str = "sha256:staff typed this about ben, keep it";
/// `Idempotency-Key`s a client made from Lena's email.
const WITHDRAW_KEY: &str = "withdraw-lena.lindqvist@example.org";
const LEAVE_KEY: &str = "leave-waitlist-lena.lindqvist@example.org";

/// Everything that must be gone after the erasure.
const ERASED: [&str; 6] = [KEY, NAME, REASON, "Lisbon", TYPED, "Porto"];

/// Posts `body` as staff (the API) with an `Idempotency-Key`.
async fn post_with_key(app: &TestApp, path: &str, key: &str, body: &serde_json::Value) -> u16 {
    let response = app
        .client
        .post(app.url(path))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
    status
}

/// Whether `needle` occurs anywhere in the file's bytes.
fn file_holds(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A cohort where Lena enrolled (with her name), then withdrew with a reason naming people,
/// which promoted the waitlisted learner; a second cohort where Lena left the waitlist with a
/// reason staff typed starting with `sha256:`, and ben withdrew with another such reason. Both
/// of Lena's departures were sent with an `Idempotency-Key` holding her email. Returns the app
/// (stopped and restarted once, so the chain head could be read) with the two cohort ids and
/// that head.
async fn lenas_history() -> (TestApp, String, String, (u64, [u8; 32])) {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Erasable", 2).await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/enrollments"),
            &json!({"learner": KEY, "name": NAME}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.enroll(&cohort, "ben@example.org").await;
    assert_eq!(app.enroll(&cohort, "cy@example.org").await, "waitlisted");
    post_with_key(
        &app,
        &format!("/api/v1/cohorts/{cohort}/withdrawals"),
        WITHDRAW_KEY,
        &json!({"learner": KEY, "reason": REASON}),
    )
    .await;

    let small = app.create_cohort("One seat", 1).await;
    app.enroll(&small, "ben@example.org").await;
    assert_eq!(app.enroll(&small, KEY).await, "waitlisted");
    post_with_key(
        &app,
        &format!("/api/v1/cohorts/{small}/withdrawals"),
        LEAVE_KEY,
        &json!({"learner": KEY, "reason": TYPED}),
    )
    .await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{small}/withdrawals"),
            &json!({"learner": "ben@example.org", "reason": KEPT}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (dir, db, clock, credentials) = app.stop().await;
    for needle in [KEY, NAME, REASON, TYPED, KEPT] {
        assert!(
            file_holds(&db, needle),
            "before erasure the file holds {needle:?}"
        );
    }
    let head = verify(&db, |_, _| {}).unwrap().chain_head.unwrap();
    let mut app = TestApp::spawn_on_with(
        db,
        clock,
        credentials,
        crate::backup::backups_beside_the_database,
    )
    .await;
    app.keep(dir.unwrap());
    (app, cohort, small, head)
}

/// The API's events of `cohort` of type `kind`.
async fn events_of(app: &TestApp, cohort: &str, kind: &str) -> Vec<serde_json::Value> {
    let (status, events) = app
        .get_json(&format!("/api/v1/cohorts/{cohort}/events"))
        .await;
    assert_eq!(status, 200);
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

/// Erases Lena through the Admin pages, checking the review and a refused confirmation on the
/// way; returns the Admin page shown after.
async fn erase_through_the_admin_pages(app: &TestApp) -> String {
    let (admin, csrf) = app.signed_in(Role::Admin).await;

    // The review page names who and what; a wrong confirmation erases nothing.
    let review = admin
        .get(app.url(&format!("/admin/erase?key={KEY}")))
        .send()
        .await
        .unwrap();
    assert_eq!(review.status(), 200);
    let html = review.text().await.unwrap();
    assert!(
        html.contains(NAME) && html.contains("Type the key again"),
        "{html}"
    );
    let wrong = admin
        .post(app.url("/admin/erase"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("key", KEY),
            ("confirm", "ben@example.org"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("does not match: nothing was erased")
    );
    let (status, _) = app
        .get_json(&format!("/api/v1/learners/{KEY}/timeline"))
        .await;
    assert_eq!(status, 200, "still there");

    // Confirmed.
    let done = admin
        .post(app.url("/admin/erase"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("key", KEY),
            ("confirm", &KEY.to_uppercase()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let overview = admin
        .get(app.url("/admin?done=erased"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(overview.contains("personal data was erased"), "{overview}");
    assert!(overview.contains("Erasure records"), "{overview}");
    overview
}

#[tokio::test]
async fn an_admin_erases_a_learner_and_no_trace_of_them_is_left_in_the_file_or_a_new_backup() {
    let (app, cohort, small, head) = lenas_history().await;

    // Before: a look-alike reason is shown as the text it is, on pages and in the API.
    let before = app
        .get(&format!("/cohorts/{small}/history"))
        .await
        .text()
        .await
        .unwrap();
    assert!(before.contains(TYPED) && before.contains(KEPT), "{before}");
    assert!(!before.contains("(erased)"), "{before}");

    let overview = erase_through_the_admin_pages(&app).await;
    let opaque = nothing_shown(&app, &cohort, &small, overview).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    // The history is intact: the promotion still shows, and the seat counts.
    let state = app.cohort(&cohort).await;
    assert_eq!(
        keys(&state, "enrolled"),
        ["ben@example.org", "cy@example.org"]
    );

    // A new backup holds none of it.
    let backup = app.db.with_file_name("after-erasure.redb");
    let response = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"name": "after-erasure.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    for needle in ERASED {
        assert!(!file_holds(&backup, needle), "the backup holds {needle:?}");
    }
    assert!(file_holds(&backup, KEPT), "ben's reason is kept");

    // Nor does the database file, which verifies with the chain head it had before.
    let (dir, db, clock, credentials) = app.stop().await;
    for needle in ERASED {
        assert!(!file_holds(&db, needle), "the file still holds {needle:?}");
    }
    let report = verify(&db, |_, _| {}).unwrap();
    assert_eq!(report.chain_head, Some(head));

    // After a restart the projections, rebuilt from the store, still know the erasure, and a
    // retry under the same key answers the first outcome without anything to match it by.
    let mut app = TestApp::spawn_on(db, clock, credentials).await;
    app.keep(dir.unwrap());
    let timeline = app
        .get(&format!("/learners/{opaque}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(timeline.contains("erased learner"));
    // (A new withdrawal of an unknown learner would be refused: this is the first answer.)
    post_with_key(
        &app,
        &format!("/api/v1/cohorts/{cohort}/withdrawals"),
        WITHDRAW_KEY,
        &json!({"learner": KEY, "reason": REASON}),
    )
    .await;
    let (_dir, db, _, _) = app.stop().await;
    exported_and_imported_as_erased(&db, &opaque, head);
}

/// After the erasure, the API and every page: Lena's opaque id, "erased learner", her reasons
/// erased (not text, whatever they said); ben's look-alike reason as typed; none of the erased
/// strings anywhere. Returns Lena's opaque id.
async fn nothing_shown(app: &TestApp, cohort: &str, small: &str, overview: String) -> String {
    // The API: the opaque id, and both of Lena's reasons erased (not text), whatever they said.
    let withdrawal = events_of(app, cohort, "student.withdrawn").await[0].clone();
    let opaque = withdrawal["data"]["learner"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&opaque).is_ok(), "{withdrawal}");
    assert_eq!(withdrawal["data"]["reason"], serde_json::Value::Null);
    assert_eq!(withdrawal["data"]["reason_erased"], true, "{withdrawal}");
    let left = events_of(app, small, "waitlist.left").await[0].clone();
    assert_eq!(left["data"]["learner"], opaque.as_str());
    assert_eq!(left["data"]["reason"], serde_json::Value::Null, "{left}");
    assert_eq!(left["data"]["reason_erased"], true, "{left}");
    // Ben's look-alike reason is still his text.
    let bens = events_of(app, small, "student.withdrawn").await[0].clone();
    assert_eq!(bens["data"]["learner"], "ben@example.org");
    assert_eq!(bens["data"]["reason"], KEPT, "{bens}");
    assert_eq!(bens["data"]["reason_erased"], false, "{bens}");
    let (status, _) = app
        .get_json(&format!("/api/v1/learners/{KEY}/timeline"))
        .await;
    assert_eq!(status, 404, "the key no longer finds anyone");

    // Every page: "erased learner" and "(erased)" for Lena; Ben's text as typed.
    let mut pages = vec![overview];
    for path in [
        "/".to_owned(),
        format!("/cohorts/{cohort}"),
        format!("/cohorts/{cohort}/history"),
        format!("/cohorts/{small}"),
        format!("/cohorts/{small}/history"),
        format!("/learners/{opaque}"),
        "/learners/ben@example.org".to_owned(),
        "/events".to_owned(),
        "/events.csv".to_owned(),
        "/reports/withdrawals".to_owned(),
        "/reports/withdrawals.csv".to_owned(),
        format!("/api/v1/cohorts/{cohort}/events"),
        format!("/api/v1/cohorts/{small}/events"),
        "/api/v1/events".to_owned(),
        format!("/api/v1/learners/{opaque}/timeline"),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        pages.push(response.text().await.unwrap());
    }
    let small_history = &pages[5];
    assert!(small_history.contains("erased learner"), "{small_history}");
    assert!(small_history.contains("(erased)"), "{small_history}");
    assert!(small_history.contains(KEPT), "{small_history}");
    assert!(pages[6].contains("erased learner"), "{}", pages[6]);
    assert!(
        pages[11].contains(KEPT),
        "the withdrawals report: {}",
        pages[11]
    );
    for (i, page) in pages.iter().enumerate() {
        for needle in ERASED {
            assert!(!page.contains(needle), "page {i} still shows {needle:?}");
        }
    }
    opaque
}

/// An erased learner is known by id only, and their reasons as erased: exported and imported
/// as such, with the same chain head, and exported again to the same lines.
fn exported_and_imported_as_erased(db: &Path, opaque: &str, head: (u64, [u8; 32])) {
    let mut lines = Vec::new();
    rollbook::transfer::export(db, &mut lines, Path::new("memory"), |_, _| {}).unwrap();
    let lines = String::from_utf8(lines).unwrap();
    assert!(
        lines.contains(&format!("{{\"id\":\"{opaque}\"}}")),
        "{lines}"
    );
    assert_eq!(
        lines.matches("\"reason_erased\":true").count(),
        2,
        "{lines}"
    );
    assert!(lines.contains(KEPT));
    for needle in ERASED {
        assert!(!lines.contains(needle), "the export holds {needle:?}");
    }
    let file = db.with_file_name("export.jsonl");
    std::fs::write(&file, &lines).unwrap();
    let copy = db.with_file_name("imported.redb");
    rollbook::transfer::import(&file, &copy, |_, _| {}).expect("imports, and verifies");
    assert_eq!(verify(&copy, |_, _| {}).unwrap().chain_head, Some(head));
    let store =
        rollbook::store::Store::open(&copy, &rollbook::store::StoreOptions::default()).unwrap();
    let erasures = store.read().unwrap().erasures().unwrap();
    assert_eq!(erasures.len(), 1);
    assert_eq!(erasures[0].0.to_string(), opaque);
    drop(store);
    let mut again = Vec::new();
    rollbook::transfer::export(&copy, &mut again, Path::new("memory"), |_, _| {}).unwrap();
    assert_eq!(
        String::from_utf8(again).unwrap(),
        lines,
        "export → import → export"
    );
}

#[test]
fn the_command_line_erases_only_when_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.redb");
    let bin = crate::helpers::process::BIN;
    let generated = Command::new(bin)
        .args([
            "generate",
            "--cohorts",
            "4",
            "--learners",
            "30",
            "--events",
            "300",
        ])
        .args(["--seed", "5", "--end", "2026-11-27T00:00:00Z", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(generated.status.success());
    let key = "learner-000003@example.org";
    assert!(file_holds(&db, key));

    let unconfirmed = Command::new(bin)
        .args(["learner", "erase", key, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!unconfirmed.status.success());
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("confirm with --yes"));
    assert!(file_holds(&db, key));

    let erased = Command::new(bin)
        .args(["learner", "erase", key, "--yes", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(erased.status.success(), "{erased:?}");
    assert!(String::from_utf8_lossy(&erased.stdout).contains("erased learner-000003@example.org"));
    assert!(!file_holds(&db, key));
    verify(&db, |_, _| {}).unwrap();

    let again = Command::new(bin)
        .args(["learner", "erase", key, "--yes", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no learner has the key"));
}
