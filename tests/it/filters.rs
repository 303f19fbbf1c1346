//! Filters that take what people know (issue 16 item 8) and the event browser's caption (item
//! 11): a cohort by name (exact or the unique beginning, any case), a learner by key or name,
//! an instructor by part of the name; an ambiguous or unknown name says so and offers the
//! nearest; applied filters show as removable chips; no jargon in the labels.

use serde_json::json;

use crate::helpers::*;

/// The event positions the browser's table lists, newest first.
fn positions(html: &str) -> Vec<u64> {
    html.match_indices(r##"<td data-label="#">"##)
        .filter_map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('<')?].parse().ok()
        })
        .collect()
}

/// Creates a cohort taught by `instructor`; returns its id.
async fn cohort_by(app: &TestApp, name: &str, instructor: &str) -> String {
    let mut body = cohort_body(name, 2);
    body["instructor"] = json!(instructor);
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn enroll_named(app: &TestApp, cohort: &str, learner: &str, name: &str) {
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/enrollments"),
            &json!({"learner": learner, "name": name}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Pottery Basics (1), Pottery Advanced (2), Welding (3); Elif Ali enrolled in Pottery Basics
/// (4), Ana Lima and Ana Ng in Welding (5, 6).
async fn scene(app: &TestApp) -> (String, String, String) {
    let basics = cohort_by(app, "Pottery Basics", "Wei Chen").await;
    let advanced = cohort_by(app, "Pottery Advanced", "Wei Chen").await;
    let welding = cohort_by(app, "Welding", "Ruth Okoye").await;
    enroll_named(app, &basics, "elif@example.org", "Elif Ali").await;
    enroll_named(app, &welding, "ana.lima@example.org", "Ana Lima").await;
    enroll_named(app, &welding, "ana.ng@example.org", "Ana Ng").await;
    (basics, advanced, welding)
}

#[tokio::test]
async fn the_event_browser_finds_a_cohort_by_its_name_or_the_beginning_of_it() {
    let app = TestApp::spawn().await;
    let (basics, advanced, _) = scene(&app).await;

    // The whole name, in any case, and a unique beginning, apply the filter.
    for query in [
        "cohort=pottery%20basics",
        "cohort=POTTERY+B",
        "cohort=Welding",
    ] {
        let (status, html) = page(&app, &format!("/events?{query}")).await;
        assert_eq!(status, 200, "{query}: {html}");
        assert!(!positions(&html).is_empty(), "{query}: {html}");
    }
    let (_, html) = page(&app, "/events?cohort=pottery%20basics").await;
    assert_eq!(positions(&html), [4, 1], "{html}");
    // Applied filters show as chips that drop them.
    assert!(
        html.contains(r#"<a href="/events" aria-label="Remove the filter Cohort: Pottery Basics">Cohort: Pottery Basics"#),
        "{html}"
    );
    // The id still works.
    let (_, html) = page(&app, &format!("/events?cohort={advanced}")).await;
    assert_eq!(positions(&html), [2], "{html}");

    // Ambiguous: says so, shows nothing, offers each as a link by id.
    let (status, html) = page(&app, "/events?cohort=pottery&type=cohort.created").await;
    assert_eq!(status, 200);
    assert!(positions(&html).is_empty(), "{html}");
    assert!(
        html.contains("Several cohorts match “pottery”: pick one."),
        "{html}"
    );
    for id in [&basics, &advanced] {
        assert!(
            html.contains(&format!(
                r#"href="/events?type=cohort.created&amp;cohort={id}""#
            )),
            "{html}"
        );
    }
    assert!(html.contains("Pottery Basics (Wei Chen, starts"), "{html}");

    // Unknown: says so and offers the nearest name.
    let (status, html) = page(&app, "/events?cohort=Weldng").await;
    assert_eq!(status, 200);
    assert!(positions(&html).is_empty());
    assert!(
        html.contains("No cohort is named “Weldng”. Nearest names:"),
        "{html}"
    );
    assert!(html.contains(">Welding (Ruth Okoye, starts"), "{html}");
    assert!(!html.contains("is not a cohort id"), "{html}");

    // Suggestions for the cohort field, and labels without jargon.
    assert!(html.contains(r#"list="cohort-names""#), "{html}");
    assert!(
        html.contains(r#"<datalist id="cohort-names"><option value="Welding"><option value="Pottery Advanced"><option value="Pottery Basics"></datalist>"#),
        "{html}"
    );
    assert!(html.contains("From (YYYY-MM-DD HH:MM, UTC)"), "{html}");
    assert!(!html.contains("RFC 3339"), "{html}");
}

#[tokio::test]
async fn the_event_browser_finds_a_learner_by_name_and_lists_several() {
    let app = TestApp::spawn().await;
    scene(&app).await;

    let (status, html) = page(&app, "/events?learner=Elif+Ali").await;
    assert_eq!(status, 200);
    assert_eq!(positions(&html), [4], "{html}");
    assert!(
        html.contains("Learner: Elif Ali (elif@example.org)"),
        "{html}"
    );
    assert!(!html.contains("is on file"), "{html}");

    // Two learners begin with "ana": both are offered, none applied.
    let (_, html) = page(&app, "/events?learner=ana").await;
    assert!(positions(&html).is_empty(), "{html}");
    assert!(
        html.contains("Several learners match “ana”: pick one."),
        "{html}"
    );
    assert!(
        html.contains(r#"<a href="/events?learner=ana.lima%40example.org">Ana Lima (ana.lima@example.org)</a>"#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<a href="/events?learner=ana.ng%40example.org">Ana Ng (ana.ng@example.org)</a>"#
        ),
        "{html}"
    );
}

#[tokio::test]
async fn the_event_caption_reads_as_a_range_oldest_to_newest_with_thousands_grouped() {
    let app = TestApp::spawn().await;
    scene(&app).await;
    let (_, html) = page(&app, "/events").await;
    assert!(
        html.contains("<caption>Events 1–6 of 6, newest first</caption>"),
        "{html}"
    );
    let (_, html) = page(&app, "/events?limit=2&before=5").await;
    assert!(
        html.contains("<caption>Events 3–4 of 6, newest first</caption>"),
        "{html}"
    );
    // The last page's edge: one event.
    let (_, html) = page(&app, "/events?limit=2&before=2").await;
    assert!(html.contains("<caption>Event 1 of 6</caption>"), "{html}");
    let (_, html) = page(&app, "/events?type=cohort.created").await;
    assert!(
        html.contains("<caption>3 matching events, #1 to #3, newest first</caption>"),
        "{html}"
    );
}

#[tokio::test]
async fn the_reports_find_an_instructor_by_part_of_the_name_or_offer_the_nearest() {
    let app = TestApp::spawn().await;
    let (basics, _, welding) = scene(&app).await;
    withdraw(&app, &basics, "elif@example.org", "moved").await;
    withdraw(&app, &welding, "ana.ng@example.org", "busy").await;

    // "chen" finds Wei Chen by a word's beginning, and says how it was read.
    let (status, html) = page(&app, "/reports/withdrawals?instructor=chen").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Instructor “chen” read as Wei Chen."),
        "{html}"
    );
    assert!(
        html.contains(">Elif Ali<") || html.contains("elif@example.org</a>"),
        "{html}"
    );
    assert!(!html.contains("ana.ng@example.org</a>"), "{html}");
    assert!(
        html.contains(
            r#"aria-label="Remove the filter Instructor: Wei Chen">Instructor: Wei Chen"#
        ),
        "{html}"
    );

    // Nothing matches: says so, and offers the nearest name.
    let (status, html) = page(&app, "/reports/withdrawals?instructor=Okoya").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("No instructor matches “Okoya”. Nearest names:"),
        "{html}"
    );
    assert!(
        html.contains(r#"<a href="/reports/withdrawals?from=&amp;to=&amp;course=&amp;reason=&amp;instructor=Ruth+Okoye">Ruth Okoye</a>"#),
        "{html}"
    );
    assert!(!html.contains("No withdrawal matches"), "{html}");
    assert!(!html.contains("elif@example.org</a>"), "{html}");

    // The instructors report reads names the same way.
    let (_, html) = page(&app, "/reports/instructors?instructor=chen").await;
    assert!(
        html.contains("Instructor “chen” read as Wei Chen."),
        "{html}"
    );
    assert!(
        html.contains("Pottery Basics") && !html.contains(">Welding<"),
        "{html}"
    );
    let (_, html) = page(&app, "/reports/instructors?instructor=xyz").await;
    assert!(html.contains("No instructor matches “xyz”."), "{html}");
    assert!(!html.contains("Pottery Basics"), "{html}");
}

#[tokio::test]
async fn placeholders_are_not_applied_filters() {
    let app = TestApp::spawn().await;
    scene(&app).await;
    // No filter typed: no chips, the date fields empty with a placeholder saying the format.
    let (_, html) = page(&app, "/reports/withdrawals").await;
    assert!(!html.contains("Filters applied"), "{html}");
    assert!(
        html.contains(r#"<input name="from" value="" placeholder="e.g. 2026-03-01">"#),
        "{html}"
    );
    assert!(!html.contains("RFC 3339"), "{html}");
    let (_, html) = page(&app, "/events").await;
    assert!(!html.contains("Filters applied"), "{html}");
    // Placeholders are muted and of normal weight, never bold like a value.
    let css = app.get("/static/style.css").await.text().await.unwrap();
    assert!(
        css.contains("input::placeholder { color: var(--muted); font-weight: 400;"),
        "the placeholder rule is missing"
    );
}
