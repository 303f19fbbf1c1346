//! The what-if page (issue 15, item 8): "had Ana enrolled at 10:02 on the 3rd, would she have
//! had a seat?" answered in plain words from the dry run at that time, with the events it would
//! have appended; the links to it from a cohort's history and a learner's page carry the facts;
//! viewers may ask; nothing is written.

use rollbook::auth::Role;
use serde_json::json;

use crate::helpers::*;

/// A cohort of one seat created at 09:00 on the 1st, ana enrolled at 10:00, and the clock on
/// the 21st (both deadlines passed).
async fn full_and_late(app: &TestApp) -> String {
    let id = app.create_cohort("What if", 1).await;
    app.clock.set(ts("2026-03-01T10:00:00Z"));
    app.enroll(&id, "ana@example.org").await;
    app.clock.set(ts("2026-03-21T00:00:00Z"));
    id
}

/// The page at `path` as `client` sees it: status and text.
async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = client.get(app.url(path)).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

/// The `href`s in `html` that lead to a what-if page, unescaped.
fn what_if_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.contains("/what-if?"))
        .map(|href| href.replace("&#38;", "&").replace("&amp;", "&"))
        .collect()
}

#[tokio::test]
async fn the_what_if_page_answers_in_plain_words_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let id = full_and_late(&app).await;
    let (viewer, _) = app.page_client(Role::Viewer).await;
    let head_before = head(&app).await;
    let ask = |learner: &str, at: &str, command: &str| {
        format!(
            "/cohorts/{id}/what-if?learner={}&at={}&command={command}",
            learner.replace('@', "%40"),
            at.replace('+', "%2B")
        )
    };

    // Before ana took the seat, bob would have had it.
    let (status, html) = page(
        &app,
        &viewer,
        &ask("bob@example.org", "2026-03-01T09:30:00Z", "enroll"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(
            "bob@example.org would have taken a seat — 1 of 1 were free at 2026-03-01 09:30 UTC."
        ),
        "{html}"
    );
    assert!(html.contains("<code>student.enrolled</code>"), "{html}");

    // After, he would have waited.
    let (_, html) = page(
        &app,
        &viewer,
        &ask("bob@example.org", "2026-03-05T12:00:00+01:00", "enroll"),
    )
    .await;
    assert!(
        html.contains("bob@example.org would have joined the waitlist at place 1 — all 1 seats were taken at 2026-03-05 11:00 UTC."),
        "{html}"
    );
    assert!(html.contains("<code>student.waitlisted</code>"), "{html}");

    // Now, past the deadline: refused, with the rule in words.
    let (_, html) = page(
        &app,
        &viewer,
        &ask("bob@example.org", "2026-03-21T00:00:00Z", "enroll"),
    )
    .await;
    assert!(
        html.contains("bob@example.org would have been refused at 2026-03-21 00:00 UTC"),
        "{html}"
    );
    assert!(html.contains("deadline"), "{html}");
    assert!(
        !html.contains("<code>student."),
        "no events for a refusal: {html}"
    );

    // Had ana withdrawn on the 2nd, she would have given up her seat.
    let (_, html) = page(
        &app,
        &viewer,
        &ask("ana@example.org", "2026-03-02T08:00:00Z", "withdraw"),
    )
    .await;
    assert!(
        html.contains("ana@example.org would have given up their seat at 2026-03-02 08:00 UTC."),
        "{html}"
    );
    assert!(html.contains("<code>student.withdrawn</code>"), "{html}");

    // Before the cohort existed.
    let (_, html) = page(
        &app,
        &viewer,
        &ask("bob@example.org", "2026-02-01T00:00:00Z", "enroll"),
    )
    .await;
    assert!(
        html.contains("What if did not exist yet at 2026-02-01 00:00 UTC"),
        "{html}"
    );

    // Nothing written: no event, and bob (never filed) is nowhere.
    assert_eq!(head(&app).await, head_before);
    let (_, feed) = app.get_json("/api/v1/events?limit=1000").await;
    assert!(!feed.to_string().contains("bob@example.org"), "{feed}");
    assert_eq!(app.get("/learners/bob%40example.org").await.status(), 404);
}

#[tokio::test]
async fn bad_what_if_input_is_shown_next_to_the_form_not_a_500() {
    let app = TestApp::spawn().await;
    let id = full_and_late(&app).await;
    let (viewer, _) = app.page_client(Role::Viewer).await;
    // The empty form.
    let (status, html) = page(&app, &viewer, &format!("/cohorts/{id}/what-if")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"what-if\"") && !html.contains("Cannot answer"),
        "{html}"
    );
    for (query, message) in [
        (
            "learner=bob%40example.org&at=yesterday",
            "is not a date and time",
        ),
        ("learner=&at=2026-03-01T09:30:00Z", "learner"),
        (
            "learner=bob%40example.org&at=2026-03-01T09:30:00Z&command=promote",
            "choose enroll or withdraw",
        ),
    ] {
        let (status, html) = page(&app, &viewer, &format!("/cohorts/{id}/what-if?{query}")).await;
        assert_eq!(status, 200, "{query}: {html}");
        assert!(
            html.contains("Cannot answer:") && html.contains(message),
            "{query}: {html}"
        );
    }
    let (status, _) = page(
        &app,
        &viewer,
        "/cohorts/0190aaaa-0000-7000-8000-000000000000/what-if",
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = page(
        &app,
        &viewer,
        "/cohorts/not-a-cohort/what-if?learner=a%40b.c&at=x",
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn history_and_learner_pages_link_to_the_what_if_with_the_facts_filled_in() {
    let app = TestApp::spawn().await;
    let id = full_and_late(&app).await;
    // A refused enrollment of ana (already enrolled; journaled).
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/enrollments"),
            &json!({"learner": "ana@example.org"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (viewer, _) = app.page_client(Role::Viewer).await;

    // The history row of ana's enrollment at 10:00: what if she had enrolled just before?
    let (_, html) = page(&app, &viewer, &format!("/cohorts/{id}/history")).await;
    assert!(
        html.contains("What if ana@example.org had enrolled at 2026-03-01 09:59 UTC?"),
        "{html}"
    );
    let links = what_if_links(&html);
    let expected = format!(
        "/cohorts/{id}/what-if?learner=ana%40example.org&at=2026-03-01T09%3A59%3A59.999999Z&command=enroll"
    );
    assert_eq!(links, vec![expected.clone()], "{html}");
    let (status, answer) = page(&app, &viewer, &expected).await;
    assert_eq!(status, 200);
    assert!(
        answer.contains(
            "ana@example.org would have taken a seat — 1 of 1 were free at 2026-03-01 09:59 UTC."
        ),
        "{answer}"
    );
    // The form comes back filled in, to change the time, learner or command.
    assert!(answer.contains("value=\"ana@example.org\""), "{answer}");
    assert!(
        answer.contains("value=\"2026-03-01T09:59:59.999999Z\""),
        "{answer}"
    );

    // The learner page: the refused enrollment at its time, and the cohort.
    let (_, html) = page(&app, &viewer, "/learners/ana%40example.org").await;
    assert!(
        // (The cohort is named "What if".)
        html.contains("What if (refused): <a href="),
        "{html}"
    );
    let links = what_if_links(&html);
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(
        links[0].ends_with("at=2026-03-21T00%3A00%3A00Z&command=enroll"),
        "{links:?}"
    );
    assert_eq!(links[1], expected);
    let (_, refused) = page(&app, &viewer, &links[0]).await;
    assert!(
        refused.contains("ana@example.org would have been refused at 2026-03-21 00:00 UTC"),
        "{refused}"
    );
}
