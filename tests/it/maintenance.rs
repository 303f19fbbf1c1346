//! Waitlist provenance, the rejected-command journal, and keeping the projections honest:
//! status, rebuild while serving, and the shadow check.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use rollbook::auth::Role;
use rollbook::clock::FixedClock;
use rollbook::domain::{CohortId, Event, LearnerId};
use rollbook::projections::{Progress, Projection as _, ReadModel};
use rollbook::store::{Actor, CommandMeta, Envelope, Store, StoreOptions};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn every_promotion_names_the_event_that_freed_its_seat() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Provenance", 1).await;
    for l in ["ana", "ben", "cy", "dee"] {
        app.enroll(&id, l).await;
    }
    // Positions: 1 created, 2 ana, 3 ben waits, 4 cy waits, 5 dee waits.
    app.post_json(
        &format!("/api/v1/cohorts/{id}/withdrawals"),
        &json!({"learner": "ana"}),
    )
    .await; // 6 withdrawn, 7 ben promoted
    app.post_json(
        &format!("/api/v1/cohorts/{id}/capacity"),
        &json!({"capacity": 3}),
    )
    .await; // 8 changed, 9 cy, 10 dee
    let html = app
        .get(&format!("/cohorts/{id}/history"))
        .await
        .text()
        .await
        .unwrap();
    let row = |position: u64| {
        let start = html
            .find(&format!(r#"<tr id="event-{position}">"#))
            .unwrap();
        html[start..start + html[start..].find("</tr>").unwrap()].to_owned()
    };
    assert!(
        row(7).contains(&format!(
            r#"seat freed by <a href="/cohorts/{id}/history?before=7#event-6">#6 student.withdrawn</a>"#
        )),
        "{}",
        row(7)
    );
    assert!(row(9).contains("#8 cohort.capacity_changed"), "{}", row(9));
    assert!(
        row(10).contains("#8 cohort.capacity_changed"),
        "the second promotion of one change: {}",
        row(10)
    );
    assert!(!row(6).contains("seat freed by"));

    // Waitlist entries show when each learner joined and their original place.
    let other = app.create_cohort("Places", 1).await;
    for l in ["a", "b", "c"] {
        app.enroll(&other, l).await;
    }
    app.post_json(
        &format!("/api/v1/cohorts/{other}/withdrawals"),
        &json!({"learner": "b"}),
    )
    .await;
    let page = app
        .get(&format!("/cohorts/{other}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("1 <small>(joined at place 2)</small>"),
        "{page}"
    );
}

#[tokio::test]
async fn refused_commands_are_journaled_and_shown_where_support_looks() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Journal", 1).await;
    app.enroll(&id, "ana@x.org").await;
    app.clock.set(ts("2026-03-11T08:30:00Z"));
    // A new learner refused after the deadline is still findable, with the reason.
    let (status, _) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/enrollments"),
            &json!({"learner": "ben@x.org", "name": "Ben"}),
        )
        .await;
    assert_eq!(status, 422);
    let page = app.get("/learners/ben%40x.org").await;
    assert_eq!(page.status(), 200);
    let learner = page.text().await.unwrap();
    assert!(
        learner.contains("enrollment deadline 2026-03-10 00:00 UTC passed at 2026-03-11 08:30 UTC"),
        "{learner}"
    );
    assert!(
        learner.contains("<code>enrollment_deadline_passed</code>"),
        "{learner}"
    );
    assert!(
        learner.contains(r#"<td data-label="By">staff</td>"#),
        "the actor: {learner}"
    );

    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let cohort = viewer
        .get(app.url(&format!("/cohorts/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(cohort.contains("Refused commands"), "{cohort}");
    assert!(
        cohort.contains(r#"<a href="/learners/ben%40x.org">ben@x.org</a>"#),
        "{cohort}"
    );
    assert!(
        cohort.contains(r#"<td data-label="Tried">enroll</td>"#),
        "{cohort}"
    );

    // The journal is not history: no event was written, and it survives a restart.
    let (_, feed) = app.get_json("/api/v1/events").await;
    assert_eq!(feed["head"], 2);
    let (dir, db, clock, credentials) = app.stop().await;
    let again = TestApp::spawn_on(db, clock, credentials).await;
    let learner = again
        .get("/learners/ben%40x.org")
        .await
        .text()
        .await
        .unwrap();
    assert!(learner.contains("enrollment_deadline_passed"));

    // Entries older than the retention period are pruned (on the next command after a day).
    again.clock.set(ts("2027-03-12T00:00:00Z"));
    let (status, _) = again
        .post_json(&format!("/api/v1/cohorts/{id}/close"), &json!(null))
        .await;
    assert_eq!(status, 200);
    let learner = again
        .get("/learners/ben%40x.org")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !learner.contains("enrollment_deadline_passed"),
        "pruned after 365 days: {learner}"
    );
    again.stop().await;
    drop(dir);
}

/// The journal's stored entries at `at`, read from the file (the server stopped).
fn stored_journal(db: &std::path::Path) -> Vec<jiff::Timestamp> {
    let store = Store::open(db, &StoreOptions::default()).unwrap();
    let reader = store.read().unwrap();
    reader
        .journal()
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.at)
        .collect()
}

/// Whether a learner's page shows a refusal. Asked in a session opened now: a session last
/// seen before the clock moved would be written back by a task of its own, which could still
/// hold the file when the server is stopped and the test opens it.
async fn shows_refusal(app: &TestApp, learner: &str) -> bool {
    let (client, _) = app.page_client(Role::Viewer).await;
    client
        .get(app.url(&format!("/learners/{learner}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("enrollment_deadline_passed")
}

/// Enrolls `learner` after the deadline: refused, and journaled.
async fn refuse(app: &TestApp, cohort: &str, learner: &str) {
    let path = format!("/api/v1/cohorts/{cohort}/enrollments");
    let (status, body) = app.post_json(&path, &json!({"learner": learner})).await;
    assert_eq!(status, 422, "{body}");
}

/// The retention period (`journal_retention`, from `--journal-retention-days`) prunes the
/// journal in the file, not only in memory: after a restart the pruned entries stay gone, and
/// entries within the period stay.
#[tokio::test]
async fn the_journal_is_pruned_in_the_file_by_the_configured_retention() {
    let thirty_days = |c: &mut rollbook::app::AppConfig| {
        c.writer.journal_retention = jiff::SignedDuration::from_hours(24 * 30);
    };
    let app = TestApp::spawn_with(thirty_days).await;
    let id = app.create_cohort("Pruned", 1).await;
    app.enroll(&id, "ana@x.org").await;
    app.clock.set(ts("2026-03-11T08:30:00Z"));
    refuse(&app, &id, "ben@x.org").await;
    assert!(shows_refusal(&app, "ben%40x.org").await);
    // 40 days later: the next command prunes what is older than 30 days (ben's refusal), and
    // keeps its own.
    app.clock.set(ts("2026-04-20T00:00:00Z"));
    refuse(&app, &id, "cy@x.org").await;
    assert!(
        !shows_refusal(&app, "ben%40x.org").await,
        "pruned in memory"
    );
    assert!(shows_refusal(&app, "cy%40x.org").await);

    let (dir, db, clock, credentials) = app.stop().await;
    assert_eq!(
        stored_journal(&db),
        [ts("2026-04-20T00:00:00Z")],
        "only the entry within the period is left in the file"
    );
    let again = TestApp::spawn_on_with(db, clock, credentials, thirty_days).await;
    assert!(
        !shows_refusal(&again, "ben%40x.org").await,
        "the pruned entry does not come back after a restart"
    );
    assert!(shows_refusal(&again, "cy%40x.org").await);
    again.stop().await;
    drop(dir);
}

#[tokio::test]
async fn admins_see_projection_status_and_can_rebuild_and_check_while_serving() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Status", 2).await;
    app.enroll(&id, "ana").await;
    let (admin, csrf) = app.signed_in(Role::Admin).await;
    let status = || async {
        admin
            .get(app.url("/api/v1/projections"))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    let before = status().await;
    assert_eq!(before["head"], 2);
    for p in before["projections"].as_array().unwrap() {
        assert_eq!(p["position"], 2, "{p}");
        assert_eq!(p["lag"], 0);
    }
    assert!(before["last_rebuild"]["events_per_second"].is_number());
    let staff = app
        .client
        .get(app.url("/api/v1/projections"))
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status(), 403, "operations are for admins");

    let rebuilt = admin
        .post(app.url("/admin/projections/rebuild"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(rebuilt.status(), 303);
    let checked = admin
        .post(app.url("/admin/projections/check"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(checked.status(), 303);
    // Both jobs run in the background; wait for them through the status they report.
    let mut after = status().await;
    for _ in 0..5000 {
        if after["rebuilding"].is_null()
            && after["checking"].is_null()
            && !after["last_check"].is_null()
        {
            break;
        }
        tokio::task::yield_now().await;
        after = status().await;
    }
    assert!(
        after["rebuilding"].is_null() && after["checking"].is_null(),
        "{after}"
    );
    assert_eq!(after["last_check"]["differences"], json!([]), "{after}");
    assert_eq!(after["last_rebuild"]["events"], 2);
    // Still serving, with the same answers.
    assert_eq!(app.cohort(&id).await["enrolled_count"], 1);
    let page = admin
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("the live projections equal a fresh rebuild"),
        "{page}"
    );
}

#[test]
fn the_shadow_check_names_a_corrupted_live_projection() {
    let dir = tempfile::tempdir().unwrap();
    // Build a small history through the writer, publish it, then corrupt the live copy.
    let store = Store::open(&dir.path().join("check2.redb"), &StoreOptions::default()).unwrap();
    let store = Arc::new(store);
    let mut writer = rollbook::writer::Writer::new(
        store.clone(),
        Arc::new(FixedClock::new(ts(NOW))),
        rollbook::writer::WriterOptions::default(),
    );
    let cohort = CohortId(uuid::Uuid::now_v7());
    let new = rollbook::domain::NewCohort {
        name: "Check".to_owned(),
        course: "C".to_owned(),
        instructor: "I".to_owned(),
        capacity: rollbook::domain::Capacity::new(2).unwrap(),
        starts_at: ts(STARTS_AT),
        enrollment_deadline: ts(ENROLLMENT_DEADLINE),
        withdrawal_deadline: ts(WITHDRAWAL_DEADLINE),
        promotion: rollbook::domain::PromotionPolicy::Automatic,
        waitlist_cap: None,
        ends_at: None,
    };
    let outcome = writer.process(vec![rollbook::writer::Submission::new(
        rollbook::writer::Request::Create { cohort, new },
        Actor::local(),
    )]);
    let (model, _) = ReadModel::rebuild(&store).unwrap();
    let progress = Progress {
        done: AtomicU64::new(0),
        total: 1,
    };
    assert!(
        model
            .check_now(&store, &progress)
            .unwrap()
            .differences
            .is_empty()
    );
    assert!(outcome.results[0].is_ok());

    let mut corrupted = model.snapshot();
    let ghost = LearnerId(uuid::Uuid::from_u128(7));
    let id = uuid::Uuid::from_u128(9);
    corrupted.catalog.apply(
        &Envelope {
            position: 1,
            cohort,
            version: 2,
            schema_version: 1,
            event: Event::StudentEnrolled { learner: ghost },
            occurred_at: ts(NOW),
            recorded_at: ts(NOW),
            meta: CommandMeta {
                actor: Actor::local(),
                command_id: id,
                correlation_id: id,
                causation_id: id,
            },
        },
        (),
    );
    model.replace(corrupted);
    let found = model.check_now(&store, &progress).unwrap();
    assert_eq!(found.position, 1);
    assert_eq!(found.differences.len(), 1, "{:?}", found.differences);
    let difference = &found.differences[0];
    assert!(
        difference.starts_with(&format!("catalog: cohort {cohort}")),
        "{difference}"
    );
    assert!(
        difference.contains("live v2 1 enrolled") && difference.contains("rebuilt v1 0 enrolled"),
        "{difference}"
    );
}

#[tokio::test]
async fn a_long_history_is_paged_newest_first() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Long", 300).await;
    for i in 0..250 {
        app.enroll(&id, &format!("l{i}")).await;
    }
    let first = app
        .get(&format!("/cohorts/{id}/history"))
        .await
        .text()
        .await
        .unwrap();
    assert!(first.contains("(251 in all)"), "{first}");
    assert_eq!(first.matches("<tr id=\"event-").count(), 200);
    assert!(first.contains(r#"<tr id="event-251">"#) && first.contains(r#"<tr id="event-52">"#));
    assert!(!first.contains(r#"<tr id="event-51">"#));
    assert!(
        first.contains(&format!(
            r#"<a href="/cohorts/{id}/history?before=52">Older →</a>"#
        )),
        "{first}"
    );
    let second = app
        .get(&format!("/cohorts/{id}/history?before=52"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(second.matches("<tr id=\"event-").count(), 51);
    assert!(second.contains(r#"<tr id="event-51">"#) && second.contains(r#"<tr id="event-1">"#));
    assert!(!second.contains("Older →") && second.contains("← Newest"));
}

#[tokio::test]
async fn the_dashboard_list_downloads_as_csv_with_its_filters() {
    let app = TestApp::spawn().await;
    let mut first = cohort_body("=cmd|' /C calc'!A0", 3);
    first["instructor"] = json!("Ada, Countess");
    app.post_json("/api/v1/cohorts", &first).await;
    let second = app.create_cohort("Plain", 2).await;
    app.post_json(&format!("/api/v1/cohorts/{second}/close"), &json!(null))
        .await;

    let all = app.get("/cohorts.csv").await;
    assert_eq!(all.headers()["content-type"], "text/csv; charset=utf-8");
    let text = all.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("id,name,course,instructor,capacity,enrolled"));
    assert!(
        lines[1].contains(",Plain,") && lines[1].contains(",closed,"),
        "newest first: {text}"
    );
    assert!(
        lines[2].contains(r#""'=cmd|' /C calc'!A0""#) || lines[2].contains(",'=cmd|' /C calc'!A0,"),
        "{text}"
    );
    assert!(lines[2].contains(r#""Ada, Countess""#), "{text}");

    let open = app
        .get("/cohorts.csv?status=open")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        open.split("\r\n").filter(|l| !l.is_empty()).count(),
        2,
        "{open}"
    );
    assert!(!open.contains("Plain"));
}

/// The server runs the backup schedule itself (`--backup-dir`, `--backup-every`): a verified
/// backup of the whole file, with its manifest, appears in the directory without anyone asking.
#[tokio::test]
async fn the_server_makes_its_scheduled_backups_itself() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Scheduled", 2).await;
    for learner in ["ana@x.org", "ben@x.org", "cy@x.org"] {
        app.enroll(&id, learner).await;
    }
    let (dir, db, clock, credentials) = app.stop().await;

    let backups = tempfile::tempdir().unwrap();
    let schedule = rollbook::backup::Schedule {
        dir: backups.path().join("scheduled"),
        every: jiff::SignedDuration::from_millis(200),
        keep: 3,
    };
    let again = TestApp::spawn_on_with(db, clock, credentials, |c| {
        c.backup = Some(schedule.clone());
    })
    .await;
    // Wait for the server's first backup: a bounded poll on the manifest appearing (written
    // once the backup is complete and verified); the bound only guards against a hang.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let manifest: serde_json::Value = loop {
        let found = std::fs::read_dir(&schedule.dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".manifest.json"))
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if let Some(manifest) = found {
            break manifest;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled backup appeared in {}",
            schedule.dir.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(manifest["position"], 4, "{manifest}");
    assert_eq!(manifest["verified"], true, "{manifest}");
    let file = std::path::PathBuf::from(manifest["file"].as_str().unwrap());
    assert!(file.starts_with(&schedule.dir), "{manifest}");
    assert!(
        file.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("rollbook-"),
        "{manifest}"
    );
    // The backup holds the cohort's events, and verifies on its own.
    let report = rollbook::store::verify(&file, |_, _| {}).unwrap();
    assert_eq!(report.events, 4);
    again.stop().await;
    drop(dir);
}
