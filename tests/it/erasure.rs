//! The right to erasure: an admin erases a learner's personal data; every page then shows
//! "erased learner", the history keeps the opaque id and still verifies with the same chain
//! head, and neither the database file nor a new backup holds the erased strings.

use std::path::Path;
use std::process::Command;

use rollbook::auth::Role;
use rollbook::store::verify;
use serde_json::json;

use crate::helpers::*;

const KEY: &str = "lena.lindqvist@example.org";
const NAME: &str = "Lena Lindqvist";
const REASON: &str = "moving to Lisbon with her partner Ana Pereira";

/// Whether `needle` occurs anywhere in the file's bytes.
fn file_holds(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A cohort where Lena enrolled (with her name), then withdrew with a reason naming people,
/// which promoted the waitlisted learner. Returns the app (stopped and restarted once, so
/// the chain head could be read) with the cohort id and that head.
async fn lenas_history() -> (TestApp, String, (u64, [u8; 32])) {
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
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/withdrawals"),
            &json!({"learner": KEY, "reason": REASON}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (dir, db, clock, credentials) = app.stop().await;
    for needle in [KEY, NAME, REASON] {
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
    (app, cohort, head)
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
    let (app, cohort, head) = lenas_history().await;
    let overview = erase_through_the_admin_pages(&app).await;
    let (admin, _) = app.signed_in(Role::Admin).await;

    // Pages and the API: the opaque id and "erased learner", nothing else.
    let cohort_page = app
        .get(&format!("/cohorts/{cohort}/history"))
        .await
        .text()
        .await
        .unwrap();
    assert!(cohort_page.contains("erased learner"), "{cohort_page}");
    let (status, events) = app
        .get_json(&format!("/api/v1/cohorts/{cohort}/events"))
        .await;
    assert_eq!(status, 200);
    let withdrawal = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "student.withdrawn")
        .unwrap()
        .clone();
    let opaque = withdrawal["data"]["learner"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&opaque).is_ok(), "{withdrawal}");
    assert!(
        withdrawal["data"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let (status, _) = app
        .get_json(&format!("/api/v1/learners/{KEY}/timeline"))
        .await;
    assert_eq!(status, 404, "the key no longer finds anyone");
    let timeline = app
        .get(&format!("/learners/{opaque}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(timeline.contains("erased learner"), "{timeline}");
    for page in [&cohort_page, &timeline, &overview, &events.to_string()] {
        for needle in [KEY, NAME, "Lisbon"] {
            assert!(!page.contains(needle), "a page still shows {needle:?}");
        }
    }
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
    for needle in [KEY, NAME, REASON] {
        assert!(!file_holds(&backup, needle), "the backup holds {needle:?}");
    }

    // Nor does the database file, which verifies with the chain head it had before.
    let (dir, db, clock, credentials) = app.stop().await;
    for needle in [KEY, NAME, REASON] {
        assert!(!file_holds(&db, needle), "the file still holds {needle:?}");
    }
    let report = verify(&db, |_, _| {}).unwrap();
    assert_eq!(report.chain_head, Some(head));

    // After a restart the projections, rebuilt from the store, still know the erasure.
    let mut app = TestApp::spawn_on(db, clock, credentials).await;
    app.keep(dir.unwrap());
    let timeline = app
        .get(&format!("/learners/{opaque}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(timeline.contains("erased learner"));
    // An erased learner is known by id only: exported and imported as such.
    let (_dir, db, _, _) = app.stop().await;
    let mut lines = Vec::new();
    rollbook::transfer::export(&db, &mut lines, Path::new("memory"), |_, _| {}).unwrap();
    let lines = String::from_utf8(lines).unwrap();
    assert!(
        lines.contains(&format!("{{\"id\":\"{opaque}\"}}")),
        "{lines}"
    );
    for needle in [KEY, NAME, "Lisbon"] {
        assert!(!lines.contains(needle));
    }
    let file = db.with_file_name("export.jsonl");
    std::fs::write(&file, &lines).unwrap();
    let copy = db.with_file_name("imported.redb");
    rollbook::transfer::import(&file, &copy, |_, _| {}).expect("imports, and verifies");
    let store =
        rollbook::store::Store::open(&copy, &rollbook::store::StoreOptions::default()).unwrap();
    let erasures = store.read().unwrap().erasures().unwrap();
    assert_eq!(erasures.len(), 1);
    assert_eq!(erasures[0].0.to_string(), opaque);
}

#[test]
fn the_command_line_erases_only_when_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.redb");
    let bin = env!("CARGO_BIN_EXE_rollbook");
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
