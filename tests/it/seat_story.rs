//! The learner page's seat story (issue 16 item 7): for each cohort, when the learner tried, how
//! full it was, their place at joining, who got a seat before them and what freed it, and what
//! happens next in words that depend on the cohort's phase — never a place where no seat can come.

use serde_json::{Value, json};

use crate::helpers::*;

/// Enrolls `learner` (named `name`) through the API; returns the body (outcome, position).
async fn enroll_named(app: &TestApp, cohort: &str, learner: &str, name: &str) -> Value {
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/enrollments"),
            &json!({"learner": learner, "name": name}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The story of the cohort named `cohort_name` on the learner page `html`.
fn story_of<'a>(html: &'a str, cohort_name: &str) -> &'a str {
    let stories = between(
        html,
        r#"<section aria-labelledby="stories-h""#,
        "</section>",
    );
    let at = stories
        .find(&format!(">{cohort_name}</a>"))
        .unwrap_or_else(|| panic!("no story for {cohort_name}:\n{stories}"));
    let rest = &stories[at..];
    &rest[..rest.find("</article>").unwrap_or(rest.len())]
}

/// A full cohort of 2 seats; Ben, Cleo, Dan and Elif wait (Elif at place 4 — 2 of 2 taken, 3
/// waiting when she tried). Returns (cohort id, the position of Elif's waitlisting).
async fn full_cohort_with_elif_fourth(app: &TestApp) -> (String, u64) {
    let id = app.create_cohort("Pottery Basics", 2).await;
    enroll_named(app, &id, "ana@example.org", "Ana Lima").await;
    enroll_named(app, &id, "carl@example.org", "Carl Diaz").await;
    enroll_named(app, &id, "ben@example.org", "Ben Okafor").await;
    enroll_named(app, &id, "cleo@example.org", "Cleo Park").await;
    enroll_named(app, &id, "dan@example.org", "Dan Wu").await;
    app.clock.set(ts("2026-03-02T10:30:00Z"));
    let elif = enroll_named(app, &id, "elif@example.org", "Elif Ali").await;
    assert_eq!(elif["outcome"], "waitlisted");
    (id, elif["position"].as_u64().unwrap())
}

#[tokio::test]
async fn the_seat_story_says_how_full_it_was_her_place_who_was_promoted_ahead_and_what_is_next() {
    let app = TestApp::spawn().await;
    let (id, joined_at) = full_cohort_with_elif_fourth(&app).await;
    app.clock.set(ts("2026-03-03T08:00:00Z"));
    // Carl withdraws: Ben (the head) takes the freed seat. Cleo leaves the waitlist.
    withdraw(&app, &id, "carl@example.org", "moved away").await;
    // The withdrawal is the next event after her waitlisting (the promotion follows it).
    let freed = joined_at + 1;
    withdraw(&app, &id, "cleo@example.org", "").await;

    let (status, html) = page(&app, "/learners/elif%40example.org").await;
    assert_eq!(status, 200, "{html}");
    let story = story_of(&html, "Pottery Basics");
    // When she tried, as a time people read, and how full it was then.
    assert!(story.contains("2026-03-02 10:30 UTC"), "{story}");
    assert!(
        story.contains("Tried when 2 of 2 seats taken, 3 waiting."),
        "{story}"
    );
    // Her outcome and place at joining, amber, with the code small after it.
    assert!(
        story.contains(r#"<span class="story-warn">Cohort full — joined the waitlist at place 4</span> <small><code>student.waitlisted</code></small>"#),
        "{story}"
    );
    // Who was promoted ahead of her, and what freed the seat.
    assert!(
        story.contains(&format!(
            "Ben Okafor got a seat — seat freed by Carl Diaz&#39;s withdrawal (#{freed})"
        )),
        "{story}"
    );
    assert!(story.contains("Cleo Park left the waitlist"), "{story}");
    assert!(
        story.contains("Moved up from place 4 to place 2."),
        "{story}"
    );
    // What happens next, with the name of who is ahead.
    assert!(
        story.contains("Place 2 of 2 — the next freed seat goes to Dan Wu, then to Elif Ali."),
        "{story}"
    );
    // The link to the cohort as it was when she tried, naming her.
    assert!(
        story.contains(&format!(
            r#"href="/cohorts/{id}?as_of={joined_at}&amp;learner=elif%40example.org""#
        )),
        "{story}"
    );
}

#[tokio::test]
async fn a_closed_cohort_says_no_seat_will_come_and_shows_no_place() {
    let app = TestApp::spawn().await;
    let (id, _) = full_cohort_with_elif_fourth(&app).await;
    let (status, body) = app
        .post_json(&format!("/api/v1/cohorts/{id}/close"), &json!(null))
        .await;
    assert_eq!(status, 200, "{body}");
    // A withdrawal while closed frees a seat nobody gets.
    withdraw(&app, &id, "carl@example.org", "").await;

    let (status, html) = page(&app, "/learners/elif%40example.org").await;
    assert_eq!(status, 200, "{html}");
    let story = story_of(&html, "Pottery Basics");
    assert!(
        story.contains("Enrollment is closed: Elif Ali will not get a seat unless it is reopened."),
        "{story}"
    );
    assert!(story.contains("Enrollment closed by staff"), "{story}");
    assert!(
        story.contains("Carl Diaz withdrew — enrollment is closed, so the seat was not filled"),
        "{story}"
    );
    assert!(!story.contains("Place 4"), "{story}");
    // The "Now" list does not promise a place either.
    let now = between(&html, "<h2>Now</h2>", "</section>");
    assert!(!now.contains("place 4"), "{now}");
    assert!(now.contains("no seat will come"), "{now}");
}

#[tokio::test]
async fn a_cancelled_cohort_says_released_and_a_seat_says_when_classes_start() {
    let app = TestApp::spawn().await;
    let kept = app.create_cohort("Glass Blowing", 3).await;
    let gone = app.create_cohort("Knife Skills", 1).await;
    enroll_named(&app, &kept, "elif@example.org", "Elif Ali").await;
    enroll_named(&app, &gone, "zed@example.org", "Zed Obi").await;
    enroll_named(&app, &gone, "elif@example.org", "Elif Ali").await;
    app.clock.set(ts("2026-03-04T12:00:00Z"));
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{gone}/cancel"),
            &json!({"reason": "teacher ill"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (_, html) = page(&app, "/learners/elif%40example.org").await;
    let cancelled = story_of(&html, "Knife Skills");
    assert!(
        cancelled.contains("Cancelled on 2026-03-04 12:00 UTC — Elif Ali was released."),
        "{cancelled}"
    );
    assert!(
        cancelled.contains("Cohort cancelled by staff"),
        "{cancelled}"
    );
    assert!(!cancelled.contains("Place 1"), "{cancelled}");
    let seat = story_of(&html, "Glass Blowing");
    assert!(seat.contains("Tried when 0 of 3 seats taken."), "{seat}");
    assert!(
        seat.contains(r#"<span class="story-ok">Took a seat</span>"#),
        "{seat}"
    );
    assert!(
        seat.contains("Elif Ali has a seat. Classes start 2026-03-15 09:00 UTC."),
        "{seat}"
    );
}
