//! A cohort's phase — its status read with its dates — and its end date, as the API and the
//! dashboard show them: open until the enrollment deadline, then enrollment ended, running from
//! the first session, finished after the last; closed and cancelled whatever the date.

use serde_json::json;

use crate::helpers::{TestApp, cohort_body, ts};

async fn phase_of(app: &TestApp, id: &str) -> String {
    app.cohort(id).await["phase"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_cohort_moves_through_its_phases_as_the_dates_pass() {
    let app = TestApp::spawn().await;
    let mut body = cohort_body("Phases", 2);
    body["ends_at"] = json!("2026-04-30T17:00:00Z");
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(app.cohort(&id).await["ends_at"], "2026-04-30T17:00:00Z");

    for (now, phase, words) in [
        ("2026-03-01T09:00:00Z", "open", "Open"),
        (
            "2026-03-11T00:00:00Z",
            "enrollment_ended",
            "Enrollment ended",
        ),
        ("2026-03-15T09:00:00Z", "running", "Running"),
        ("2026-04-30T17:00:00Z", "finished", "Finished"),
    ] {
        app.clock.set(ts(now));
        assert_eq!(phase_of(&app, &id).await, phase, "at {now}");
        let (_, list) = app.get_json("/api/v1/cohorts").await;
        assert_eq!(
            list["cohorts"][0]["phase"], phase,
            "the list agrees at {now}"
        );
        let html = app.get("/").await.text().await.unwrap();
        assert!(
            html.contains(&format!(r#"<span class="status {phase}">{words}</span>"#)),
            "the dashboard says {words} at {now}: {html}"
        );
    }
}

#[tokio::test]
async fn closed_and_cancelled_cohorts_say_so_before_they_start() {
    let app = TestApp::spawn().await;
    let closed = app.create_cohort("Closed early", 2).await;
    let (status, _) = app
        .post_json(&format!("/api/v1/cohorts/{closed}/close"), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(phase_of(&app, &closed).await, "closed");
    let cancelled = app.create_cohort("Called off", 2).await;
    let (status, answer) = app
        .post_json(
            &format!("/api/v1/cohorts/{cancelled}/cancel"),
            &json!({"reason": "instructor ill"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    app.clock.set(ts("2026-06-01T00:00:00Z"));
    assert_eq!(phase_of(&app, &cancelled).await, "cancelled");
    assert_eq!(
        phase_of(&app, &closed).await,
        "running",
        "no end date: it runs on"
    );
}

#[tokio::test]
async fn an_end_is_set_by_rescheduling_and_never_before_the_start() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("No end yet", 2).await;
    assert_eq!(app.cohort(&id).await["ends_at"], serde_json::Value::Null);
    let path = format!("/api/v1/cohorts/{id}/schedule");
    let (status, refused) = app
        .post_json(&path, &json!({"ends_at": "2026-03-15T09:00:00Z"}))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_schedule");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not after the start"),
        "{refused}"
    );
    let (status, done) = app
        .post_json(&path, &json!({"ends_at": "2026-05-01T17:00:00Z"}))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(app.cohort(&id).await["ends_at"], "2026-05-01T17:00:00Z");
    let mut body = cohort_body("Backwards", 2);
    body["ends_at"] = json!("2026-03-14T09:00:00Z");
    let (status, refused) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_schedule");
}

fn form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", "Ends on the page"),
        ("course", "CC-301"),
        ("instructor", "Grace Hopper"),
        ("capacity", "12"),
        ("starts_at", "2026-04-15 09:00"),
        ("enrollment_deadline", "2026-04-08 23:59"),
        ("withdrawal_deadline", "2026-04-22 23:59"),
    ];
    fields.extend_from_slice(extra);
    fields
}

#[tokio::test]
async fn the_pages_take_an_end_and_show_it() {
    let app = TestApp::spawn().await;
    // Before the start: refused beside its own field, what was typed kept.
    let refused = app
        .post_form("/cohorts", &form(&[("ends_at", "2026-04-01 17:00")]))
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    let field = &html[html.find(r#"<label for="ends_at">"#).unwrap()..];
    let field = &field[..field.find("</p>\n").map_or(field.len(), |i| i + 5)];
    assert!(field.contains(r#"value="2026-04-01 17:00""#), "{field}");
    assert!(html.contains("is not after the start"), "{html}");

    let created = app
        .post_form("/cohorts", &form(&[("ends_at", "2026-05-20 17:00")]))
        .await;
    assert_eq!(created.status(), 303);
    let to = created.headers()["location"].to_str().unwrap().to_owned();
    let id = to
        .trim_start_matches("/cohorts/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(app.cohort(&id).await["ends_at"], "2026-05-20T17:00:00Z");
    let page = app.get(&to).await.text().await.unwrap();
    assert!(
        page.contains(r#"<dt>Ends</dt><dd><time class="when" datetime="2026-05-20T17:00Z">2026-05-20 17:00 UTC</time>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"name="ends_at" type="text" maxlength="40" value="2026-05-20 17:00""#),
        "the reschedule form holds the end: {page}"
    );

    // Moved by the reschedule form; the other dates, untouched, stay as they were.
    let moved = app
        .post_form(
            &format!("/cohorts/{id}/schedule"),
            &[
                ("starts_at", "2026-04-15 09:00"),
                ("enrollment_deadline", "2026-04-08 23:59"),
                ("withdrawal_deadline", "2026-04-22 23:59"),
                ("ends_at", "2026-05-27 17:00"),
            ],
        )
        .await;
    assert_eq!(moved.status(), 303);
    let cohort = app.cohort(&id).await;
    assert_eq!(cohort["ends_at"], "2026-05-27T17:00:00Z");
    assert_eq!(cohort["starts_at"], "2026-04-15T09:00:00Z");
}
