//! Restarting: stop the server, start it again on the same file, and find everything exactly
//! as it was, rebuilt from the stored events.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_same_state_after_a_restart() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Persistent", 2).await;
    for l in ["ana@x.org", "ben@x.org", "cy@x.org", "dee@x.org"] {
        app.enroll(&id, l).await;
    }
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/withdrawals"),
            &json!({"learner": "ana@x.org", "reason": "moved"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/capacity"),
            &json!({"capacity": 3}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let other = app.create_cohort("Other", 1).await;
    // Times finer than the store keeps read back exactly as they were answered.
    let mut precise = cohort_body("Precise", 1);
    precise["enrollment_deadline"] = json!("2026-03-10T00:00:00.123456789Z");
    let (status, body) = app.post_json("/api/v1/cohorts", &precise).await;
    assert_eq!(status, 201);
    let precise = body["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post_json(&format!("/api/v1/cohorts/{other}/close"), &json!(null))
        .await;
    assert_eq!(status, 200, "{body}");
    // What the restart must keep: ana withdrew, cy moved up, dee waits, three seats.
    let cohort = app.cohort(&id).await;
    assert_eq!(
        keys(&cohort, "enrolled"),
        ["ben@x.org", "cy@x.org", "dee@x.org"]
    );
    assert!(keys(&cohort, "waitlist").is_empty());
    assert_eq!(cohort["capacity"], 3);
    assert_eq!(app.cohort(&other).await["status"], "closed");

    let paths = [
        format!("/api/v1/cohorts/{id}"),
        format!("/api/v1/cohorts/{other}"),
        format!("/api/v1/cohorts/{precise}"),
        "/api/v1/cohorts".to_owned(),
        "/api/v1/events?limit=1000".to_owned(),
        "/api/v1/learners/cy@x.org/timeline".to_owned(),
    ];
    let mut before = Vec::new();
    for path in &paths {
        before.push(app.get_json(path).await);
    }
    // Pages differ only in the session's CSRF token (a new login after the restart).
    let without_token = |html: String| html.replace(&csrf_of(&html), "");
    let history_before = without_token(
        app.get(&format!("/cohorts/{id}/history"))
            .await
            .text()
            .await
            .unwrap(),
    );

    let (dir, db, clock, credentials) = app.stop().await;
    let again = TestApp::spawn_on(db, clock, credentials).await;
    for (path, expected) in paths.iter().zip(&before) {
        assert_eq!(
            &again.get_json(path).await,
            expected,
            "{path} after restart"
        );
    }
    let history_after = without_token(
        again
            .get(&format!("/cohorts/{id}/history"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(history_after, history_before);

    // And it keeps working where it left off: positions continue, rules still hold.
    let (status, body) = again
        .post_json(
            &format!("/api/v1/cohorts/{id}/enrollments"),
            &json!({"learner": "eve@x.org"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["outcome"], "waitlisted");
    assert_eq!(body["position"], before[4].1["head"].as_u64().unwrap() + 1);
    again.stop().await;
    drop(dir);
}
