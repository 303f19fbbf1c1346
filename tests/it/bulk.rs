//! Bulk enrollment from a CSV: the API's preview (`dry_run=true`) and apply (one append with
//! `If-Match`), the limits and attacks on the file, and the page flow (preview page → Apply →
//! summary on the cohort page → the refused rows as CSV).

use std::fmt::Write as _;

use reqwest::Client;
use rollbook::auth::Role;
use serde_json::{Value, json};

use crate::helpers::*;

/// Posts `csv` to the bulk route of `cohort` as `client`, with `query` and `headers`.
async fn send(
    app: &TestApp,
    client: &Client,
    cohort: &str,
    query: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = client
        .post(app.url(&format!("/api/v1/cohorts/{cohort}/enrollments/bulk{query}")))
        .header("content-type", "text/csv")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

/// Dry-runs `csv` as staff.
async fn preview(app: &TestApp, cohort: &str, csv: &str) -> (u16, Value) {
    send(app, &app.client, cohort, "?dry_run=true", csv.into(), &[]).await
}

/// Applies `csv` as staff with `If-Match: "version"`.
async fn apply(app: &TestApp, cohort: &str, csv: &str, version: u64) -> (u16, Value) {
    let tag = format!("\"{version}\"");
    send(
        app,
        &app.client,
        cohort,
        "",
        csv.into(),
        &[("If-Match", &tag)],
    )
    .await
}

/// A cohort of two seats with ana@example.org enrolled (version 2).
async fn two_seats_one_taken(app: &TestApp) -> String {
    let id = app.create_cohort("Bulk", 2).await;
    assert_eq!(app.enroll(&id, "ana@example.org").await, "enrolled");
    id
}

/// Two free rows, then every kind of refusal, then one more free row: ben takes the last seat,
/// cy and fay wait, in file order.
fn mixed_file() -> String {
    let long = "x".repeat(201);
    format!(
        "learner,name\n\
         ben@example.org,Ben Okafor\n\
         cy@example.org,Cy\n\
         ana@example.org,Ana Lima\n\
         not a key,Nobody\n\
         dee@example.org\n\
         ben@example.org,Ben again\n\
         eve@example.org,{long}\n\
         fay@example.org,\"=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"\n"
    )
}

/// (line, learner, outcome or error code) of each row of an answer.
fn rows(answer: &Value) -> Vec<(u64, String, String)> {
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let what = r["outcome"]
                .as_str()
                .or_else(|| r["error"]["code"].as_str())
                .expect("an outcome or an error")
                .to_owned();
            (
                r["line"].as_u64().expect("line"),
                r["learner"].as_str().expect("learner").to_owned(),
                what,
            )
        })
        .collect()
}

fn expected_rows() -> Vec<(u64, String, String)> {
    [
        (2, "ben@example.org", "enrolled"),
        (3, "cy@example.org", "waitlisted"),
        (4, "ana@example.org", "already_enrolled"),
        (5, "not a key", "invalid_learner"),
        (6, "dee@example.org", "missing_name_column"),
        (7, "ben@example.org", "duplicate_learner"),
        (8, "eve@example.org", "too_long"),
        (9, "fay@example.org", "waitlisted"),
    ]
    .into_iter()
    .map(|(line, learner, what)| (line, learner.to_owned(), what.to_owned()))
    .collect()
}

#[tokio::test]
async fn a_dry_run_previews_every_row_in_file_order_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let id = two_seats_one_taken(&app).await;
    let before = head(&app).await;
    let (status, answer) = preview(&app, &id, &mixed_file()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["version"], 2,
        "the version the preview was decided at"
    );
    assert_eq!(answer["dry_run"], true);
    assert_eq!(rows(&answer), expected_rows());
    let refused = &answer["rows"][2]["error"]["message"];
    assert!(
        refused.as_str().unwrap().contains("line 4")
            && refused.as_str().unwrap().contains("already enrolled"),
        "{refused}"
    );
    let (status, crlf) = preview(&app, &id, &mixed_file().replace('\n', "\r\n")).await;
    assert_eq!(status, 200, "{crlf}");
    assert_eq!(
        rows(&crlf),
        expected_rows(),
        "CRLF line ends count the same lines"
    );
    assert_eq!(head(&app).await, before, "the dry run wrote nothing");
    let cohort = app.cohort(&id).await;
    assert_eq!(keys(&cohort, "enrolled"), ["ana@example.org"]);
    assert!(keys(&cohort, "waitlist").is_empty());
    let (status, _) = app
        .get_json("/api/v1/learners/ben@example.org/timeline")
        .await;
    assert_eq!(status, 404, "nobody was filed");
}

#[tokio::test]
async fn apply_appends_the_accepted_rows_in_file_order_as_one_append() {
    let app = TestApp::spawn().await;
    let id = two_seats_one_taken(&app).await;
    let before = head(&app).await;
    let (_, previewed) = preview(&app, &id, &mixed_file()).await;
    let (status, applied) = apply(&app, &id, &mixed_file(), 2).await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(rows(&applied), expected_rows(), "the preview came true");
    assert_eq!(applied["version"], 5, "three events after version 2");
    assert!(applied.get("dry_run").is_none());
    assert_eq!(previewed["rows"], applied["rows"]);

    let (_, feed) = app
        .get_json(&format!("/api/v1/events?after={before}"))
        .await;
    let events = feed["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{feed}");
    let positions: Vec<u64> = events
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, [before + 1, before + 2, before + 3]);
    let versions: Vec<u64> = events
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [3, 4, 5]);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "student.enrolled",
            "student.waitlisted",
            "student.waitlisted"
        ]
    );
    for field in ["command_id", "recorded_at", "occurred_at"] {
        assert!(
            events.iter().all(|e| e[field] == events[0][field]),
            "one command in one transaction: the same {field}: {feed}"
        );
    }
    let cohort = app.cohort(&id).await;
    assert_eq!(
        keys(&cohort, "enrolled"),
        ["ana@example.org", "ben@example.org"]
    );
    assert_eq!(
        keys(&cohort, "waitlist"),
        ["cy@example.org", "fay@example.org"]
    );
    let (status, ben) = app
        .get_json("/api/v1/learners/ben@example.org/timeline")
        .await;
    assert_eq!(status, 200, "{ben}");
    assert_eq!(
        ben["name"], "Ben Okafor",
        "new learners are filed with their names"
    );

    // A repeat of the same apply meets the moved cohort: nothing more is written.
    let (status, again) = apply(&app, &id, &mixed_file(), 2).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(head(&app).await, before + 3);
}

#[tokio::test]
async fn apply_needs_if_match_and_writes_nothing_once_the_cohort_moved() {
    let app = TestApp::spawn().await;
    let id = two_seats_one_taken(&app).await;
    let file = "learner,name\nben@example.org,Ben\ncy@example.org,Cy\n";
    let before = head(&app).await;
    let (status, answer) = send(&app, &app.client, &id, "", file.into(), &[]).await;
    assert_eq!(status, 428, "{answer}");
    assert_eq!(answer["error"]["code"], "precondition_required");
    assert_eq!(head(&app).await, before);

    let (_, previewed) = preview(&app, &id, file).await;
    let version = previewed["version"].as_u64().unwrap();
    assert_eq!(app.enroll(&id, "zed@example.org").await, "enrolled");
    let moved = head(&app).await;
    let (status, answer) = apply(&app, &id, file, version).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "version_conflict");
    assert_eq!(head(&app).await, moved, "nothing written");
    let (status, _) = app
        .get_json("/api/v1/learners/ben@example.org/timeline")
        .await;
    assert_eq!(status, 404, "nobody was filed");

    let (status, answer) = send(
        &app,
        &app.client,
        &id,
        "",
        file.into(),
        &[("If-Match", "\"3\""), ("Idempotency-Key", "k1")],
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "idempotency_key_not_supported");
    assert_eq!(head(&app).await, moved);
}

/// A file of `n` rows of distinct learners.
fn file_of(n: usize) -> String {
    let mut file = String::from("learner,name\n");
    for i in 0..n {
        let _ = writeln!(file, "learner{i}@example.org,Learner {i}");
    }
    file
}

#[tokio::test]
async fn the_limits_hold_and_bad_files_are_refused_with_a_clear_error() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Limits", 3).await;
    let before = head(&app).await;

    let (status, answer) = preview(&app, &id, &file_of(5_001)).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"]["code"], "too_many_rows");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("5000")
    );

    let (status, answer) = preview(&app, &id, &file_of(5_000)).await;
    assert_eq!(status, 200, "{answer}");
    let counted = rows(&answer);
    assert_eq!(counted.len(), 5_000);
    assert_eq!(counted.iter().filter(|r| r.2 == "enrolled").count(), 3);
    assert_eq!(
        counted.iter().filter(|r| r.2 == "waitlisted").count(),
        4_997
    );

    let huge = vec![b'a'; 50 * 1024 * 1024];
    let (status, answer) = send(&app, &app.client, &id, "?dry_run=true", huge, &[]).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"]["code"], "payload_too_large");

    let latin1 = b"learner,name\nana@example.org,Jos\xe9\n".to_vec();
    let (status, answer) = send(&app, &app.client, &id, "?dry_run=true", latin1, &[]).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "not_utf8");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2")
    );

    let (status, answer) = preview(&app, &id, "ana@example.org,Ana\n").await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_csv_header");

    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/cohorts/{id}/enrollments/bulk?dry_run=true"
        )))
        .json(&json!({"learner": "ana@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);

    let viewer = app.api_client(Role::Viewer);
    let (status, answer) = send(
        &app,
        &viewer,
        &id,
        "",
        file_of(1).into(),
        &[("If-Match", "\"1\"")],
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(head(&app).await, before, "nothing was written");
}

/// The value of the hidden field `name` of a page's form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker).expect("the field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_page_previews_applies_and_offers_the_refused_rows_as_csv() {
    let app = TestApp::spawn().await;
    let id = two_seats_one_taken(&app).await;
    let page = app
        .get(&format!("/cohorts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!(r#"action="/cohorts/{id}/bulk/preview""#)));

    let file = mixed_file();
    let before = head(&app).await;
    let response = app
        .post_form(&format!("/cohorts/{id}/bulk/preview"), &[("csv", &file)])
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Ben Okafor — would take a seat"), "{html}");
    assert!(html.contains("Cy — would join the waitlist at place 1"));
    assert!(html.contains("line 4: refused — ana@example.org is already enrolled"));
    assert!(html.contains("line 6: refused — the name column is missing"));
    assert!(html.contains("line 7: refused — ben@example.org is already on line 2"));
    assert_eq!(hidden(&html, "version"), "2");
    assert_eq!(head(&app).await, before, "a preview writes nothing");

    // Without the CSRF token, the form is refused.
    let forged = app
        .client
        .post(app.url(&format!("/cohorts/{id}/bulk/preview")))
        .form(&[("csv", file.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // A viewer cannot upload.
    let (viewer, csrf) = app.page_client(Role::Viewer).await;
    let refused = viewer
        .post(app.url(&format!("/cohorts/{id}/bulk/preview")))
        .form(&[("csv", file.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let applied = app
        .post_form(
            &format!("/cohorts/{id}/bulk/apply"),
            &[("csv", &file), ("version", "2")],
        )
        .await;
    assert_eq!(applied.status(), 303);
    let location = applied.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("/cohorts/{id}?bulk=")),
        "{location}"
    );
    let page = app.get(&location).await.text().await.unwrap();
    assert!(
        page.contains("Enrolled 1, waitlisted 2, 5 rows refused."),
        "{page}"
    );
    let link = format!("/cohorts/{id}/bulk/refused.csv?token=");
    let start = page.find(&link).expect("a download link");
    let href = page[start..].split('"').next().unwrap().to_owned();

    let download = app.get(&href).await;
    assert_eq!(download.status(), 200);
    assert!(
        download.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = download.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "line,learner,name,code,reason");
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(lines[1].starts_with("4,ana@example.org,Ana Lima,already_enrolled,"));
    let other = app.signed_in(Role::Staff).await;
    assert_eq!(
        other.0.get(app.url(&href)).send().await.unwrap().status(),
        200,
        "the same account in another session"
    );
    let (admin, _) = app.page_client(Role::Admin).await;
    assert_eq!(
        admin.get(app.url(&href)).send().await.unwrap().status(),
        404,
        "another account's rows are not theirs"
    );
}

#[tokio::test]
async fn formulas_in_refused_names_are_defused_in_the_download() {
    let app = TestApp::spawn().await;
    let id = two_seats_one_taken(&app).await;
    let file = "learner,name\nana@example.org,\"=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"\nbo@example.org,@SUM(1)\nbo@example.org,+1\n";
    let applied = app
        .post_form(
            &format!("/cohorts/{id}/bulk/apply"),
            &[("csv", file), ("version", "2")],
        )
        .await;
    assert_eq!(applied.status(), 303);
    let location = applied.headers()["location"].to_str().unwrap().to_owned();
    let token = location.split("bulk=").nth(1).unwrap();
    let csv = app
        .get(&format!("/cohorts/{id}/bulk/refused.csv?token={token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
    assert!(csv.contains(",'+1,"), "{csv}");
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"),
        "{csv}"
    );
}

#[tokio::test]
async fn applying_a_moved_cohort_from_the_page_shows_a_fresh_preview_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let id = two_seats_one_taken(&app).await;
    let file = "learner,name\nben@example.org,Ben\ncy@example.org,Cy\n";
    assert_eq!(app.enroll(&id, "zed@example.org").await, "enrolled");
    let before = head(&app).await;
    let response = app
        .post_form(
            &format!("/cohorts/{id}/bulk/apply"),
            &[("csv", file), ("version", "2")],
        )
        .await;
    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Nothing was enrolled: the cohort changed since the preview"),
        "{html}"
    );
    assert!(
        html.contains("Ben — would join the waitlist at place 1"),
        "a fresh preview: {html}"
    );
    assert_eq!(hidden(&html, "version"), "3");
    assert_eq!(head(&app).await, before, "nothing written");
}

#[tokio::test]
async fn a_page_form_larger_than_the_site_form_limit_is_taken_for_a_bulk_file() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Big", 10).await;
    let file = file_of(5_000);
    assert!(file.len() > 64 * 1024);
    let response = app
        .post_form(&format!("/cohorts/{id}/bulk/preview"), &[("csv", &file)])
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Learner 4999 — would join the waitlist at place 4990"));

    let too_many = file_of(5_001);
    let response = app
        .post_form(
            &format!("/cohorts/{id}/bulk/preview"),
            &[("csv", &too_many)],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("more than 5000 rows"), "{html}");
}
