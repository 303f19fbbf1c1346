//! The browsing pages through real HTTP: the event browser's filters, keyset pagination,
//! correlation links and CSV export; the diff of a cohort between two points; time travel
//! against fresh folds at every position; search ranking and its empty states; escaping.

use jiff::SignedDuration;
use rollbook::auth::Role;
use rollbook::projections::{AsOf, CohortView, Projections, cohort_as_of};
use rollbook::store::{Store, StoreOptions};
use serde_json::json;

use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The event positions a browser (or history) table lists, in order.
fn positions(html: &str) -> Vec<u64> {
    html.match_indices("<br><small>v")
        .filter_map(|(i, _)| {
            let cell = &html[..i];
            // The cell's text starts after its opening tag (`<td>` or `<td data-label="#">`).
            let start = cell.rfind('>')? + 1;
            cell[start..].parse().ok()
        })
        .collect()
}

/// The href of the link whose text is `text`, with `&amp;` read back as `&`.
fn link(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!("\">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&amp;", "&"))
}

/// Moves the clock on by `minutes`.
fn later(app: &TestApp, minutes: i64) -> jiff::Timestamp {
    let now = rollbook::clock::Clock::now(app.clock.as_ref()) + SignedDuration::from_mins(minutes);
    app.clock.set(now);
    now
}

/// Two cohorts and eight events, a minute apart, by two actors:
///
/// 1 Alpha created · 2 Beta created · 3 ana enrolled (Alpha) · 4 bo waitlisted (Alpha) ·
/// 5 ana enrolled (Beta) · 6 ana withdrawn (Alpha) · 7 bo promoted (Alpha) · 8 Beta closed
/// (by admin). Everything else is by staff.
async fn scripted(app: &TestApp) -> (String, String) {
    let alpha = app.create_cohort("Alpha", 1).await;
    later(app, 1);
    let beta = app.create_cohort("Beta", 2).await;
    later(app, 1);
    assert_eq!(app.enroll(&alpha, "ana@example.org").await, "enrolled");
    later(app, 1);
    assert_eq!(app.enroll(&alpha, "bo@example.org").await, "waitlisted");
    later(app, 1);
    assert_eq!(app.enroll(&beta, "ana@example.org").await, "enrolled");
    later(app, 1);
    let body = withdraw(app, &alpha, "ana@example.org", "moved away").await;
    assert_eq!(body["promoted"], "bo@example.org");
    later(app, 1);
    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = admin
        .post(app.url(&format!("/api/v1/cohorts/{beta}/close")))
        .send()
        .await
        .expect("close");
    assert_eq!(response.status(), 200);
    (alpha, beta)
}

// ---------------------------------------------------------------------------------------------
// Event browser
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_filter_of_the_event_browser_narrows_a_scripted_history() {
    let app = TestApp::spawn().await;
    let (alpha, beta) = scripted(&app).await;

    let (status, html) = page(&app, "/events").await;
    assert_eq!(status, 200);
    assert_eq!(positions(&html), [8, 7, 6, 5, 4, 3, 2, 1]);
    assert!(html.contains("8 events in all"), "{html}");

    let cases: Vec<(String, Vec<u64>)> = vec![
        ("type=student.enrolled".into(), vec![5, 3]),
        ("type=waitlist.promoted".into(), vec![7]),
        (format!("cohort={alpha}"), vec![7, 6, 4, 3, 1]),
        (format!("cohort={beta}"), vec![8, 5, 2]),
        ("learner=ana@example.org".into(), vec![6, 5, 3]),
        ("learner=BO@example.org".into(), vec![7, 4]),
        (format!("learner=ana@example.org&cohort={beta}"), vec![5]),
        ("actor=admin".into(), vec![8]),
        ("actor=staff".into(), vec![7, 6, 5, 4, 3, 2, 1]),
        (
            "from=2026-03-01T09:02:00Z&to=2026-03-01T09:04:00Z".into(),
            vec![5, 4, 3],
        ),
        ("from=2026-03-01T09:05".into(), vec![8, 7, 6]),
        (
            format!("type=student.enrolled&cohort={alpha}&actor=staff"),
            vec![3],
        ),
    ];
    for (query, expected) in cases {
        let (status, html) = page(&app, &format!("/events?{query}")).await;
        assert_eq!(status, 200, "{query}: {html}");
        assert_eq!(positions(&html), expected, "{query}");
    }

    // Names nobody has on file match nothing, and say so.
    let (status, html) = page(&app, "/events?learner=nobody@example.org").await;
    assert_eq!(status, 200);
    assert!(positions(&html).is_empty());
    assert!(
        html.contains("No learner “nobody@example.org” is on file, by key or name."),
        "{html}"
    );
    for query in [
        "actor=nobody",
        "cohort=00000000-0000-7000-8000-000000000000",
        "correlation=00000000-0000-7000-8000-000000000000",
    ] {
        let (status, html) = page(&app, &format!("/events?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert!(positions(&html).is_empty(), "{query}");
        assert!(html.contains("No event matches these filters."), "{query}");
    }

    // Unreadable filters are named, with the form kept.
    let (status, html) = page(&app, "/events?type=student.eloped&from=yesterday&actor=ada").await;
    assert_eq!(status, 400);
    assert!(
        html.contains("type: &quot;student.eloped&quot; is not an event type"),
        "{html}"
    );
    assert!(html.contains("from"), "{html}");
    assert!(html.contains(r#"value="ada""#), "{html}");
    assert!(positions(&html).is_empty());
}

#[tokio::test]
async fn every_event_row_links_to_its_cohort_learner_and_correlation() {
    let app = TestApp::spawn().await;
    let (alpha, _) = scripted(&app).await;
    let (_, html) = page(
        &app,
        &format!("/events?cohort={alpha}&type=student.withdrawn"),
    )
    .await;
    assert_eq!(positions(&html), [6]);
    assert!(html.contains(&format!(r#"<a href="/cohorts/{alpha}">Alpha</a>"#)));
    assert!(html.contains(r#"<a href="/learners/ana%40example.org">ana@example.org</a>"#));
    assert!(html.contains("reason: moved away"));
    assert!(html.contains(&format!(
        r#"<a href="/cohorts/{alpha}?as_of=6">cohort as of</a>"#
    )));
    assert!(html.contains(r#"<a href="/events?actor=staff">staff</a>"#));

    // One command, two events: the withdrawal and the promotion it caused.
    let same = link(&html, "same command (2 events)").expect("correlation link");
    assert!(same.starts_with("/events?correlation="), "{same}");
    let (status, group) = page(&app, &same).await;
    assert_eq!(status, 200);
    assert_eq!(positions(&group), [7, 6]);
    assert!(group.contains("<code>student.withdrawn</code>"));
    assert!(group.contains("<code>waitlist.promoted</code>"));
    assert!(
        group.contains("a command and every event it caused"),
        "{group}"
    );

    // A caller's correlation id groups the events of several commands.
    let flow = "0195a000-0000-7000-8000-00000000f10e";
    for learner in ["cy@example.org", "dee@example.org"] {
        let response = app
            .client
            .post(app.url(&format!("/api/v1/cohorts/{alpha}/enrollments")))
            .header("x-correlation-id", flow)
            .json(&json!({ "learner": learner }))
            .send()
            .await
            .expect("enroll");
        assert_eq!(response.status(), 200);
    }
    let (_, flow_page) = page(&app, &format!("/events?correlation={flow}")).await;
    assert_eq!(positions(&flow_page), [10, 9]);
}

#[tokio::test]
async fn keyset_pagination_covers_every_event_exactly_once_both_ways() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Paged", 5).await;
    for i in 0..12 {
        app.enroll(&cohort, &format!("learner{i}@example.org"))
            .await;
    }
    let head = 13;

    // Older and older, three at a time.
    let mut seen = Vec::new();
    let mut next = Some("/events?limit=3".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let (status, html) = page(&app, &path).await;
        assert_eq!(status, 200, "{path}");
        let shown = positions(&html);
        assert!(!shown.is_empty() && shown.len() <= 3, "{path}: {shown:?}");
        assert_eq!(
            link(&html, "← Newer").is_some(),
            pages > 0,
            "{path}: a newer link exactly when not on the first page"
        );
        seen.extend(shown);
        next = link(&html, "Older →");
        pages += 1;
    }
    assert_eq!(seen, (1..=head).rev().collect::<Vec<u64>>());
    assert_eq!(pages, 5);

    // And back, newer and newer, from the oldest page.
    let mut back = Vec::new();
    let mut next = Some("/events?limit=3&after=0".to_owned());
    while let Some(path) = next {
        let (_, html) = page(&app, &path).await;
        let shown = positions(&html);
        assert!(
            shown.windows(2).all(|w| w[0] > w[1]),
            "newest first: {shown:?}"
        );
        back.extend(shown.into_iter().rev());
        next = link(&html, "← Newer");
    }
    assert_eq!(back, (1..=head).collect::<Vec<u64>>());

    // A filtered listing pages over the matches only, keeping its filter.
    let mut waitlisted = Vec::new();
    let mut next = Some("/events?type=student.waitlisted&limit=2".to_owned());
    while let Some(path) = next {
        assert!(path.contains("type=student.waitlisted"), "{path}");
        let (_, html) = page(&app, &path).await;
        waitlisted.extend(positions(&html));
        next = link(&html, "Older →");
    }
    assert_eq!(waitlisted, [13, 12, 11, 10, 9, 8, 7]);

    // Past either end: an empty page that leads back.
    let (status, html) = page(&app, "/events?before=1").await;
    assert_eq!(status, 200);
    assert!(positions(&html).is_empty());
    assert_eq!(link(&html, "⇤ Newest").as_deref(), Some("/events"));
    let (_, html) = page(&app, "/events?before=abc").await;
    assert!(html.contains("before: must be an event position"), "{html}");
}

#[tokio::test]
async fn the_csv_export_keeps_the_filters_and_quotes_what_users_typed() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post_json("/api/v1/cohorts", &cohort_body("Data, \"Science\"", 1))
        .await;
    assert_eq!(status, 201, "{body}");
    let cohort = body["id"].as_str().unwrap().to_owned();
    app.enroll(&cohort, "ana@example.org").await;
    app.enroll(&cohort, "-bo@example.org").await;
    withdraw(
        &app,
        &cohort,
        "ana@example.org",
        "=HYPERLINK(\"x\"), then\nmore",
    )
    .await;

    let response = app.get("/events.csv").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("events.csv")
    );
    assert!(headers.get("x-rollbook-truncated").is_none());
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "position,occurred_at,type,cohort_id,cohort_name,learner,actor,reason,changes,correlation_id"
    );
    assert_eq!(csv.matches("\r\n").count(), 6, "header + 5 events:\n{csv}");
    assert!(
        lines[1].starts_with("5,2026-03-01T09:00:00Z,waitlist.promoted,"),
        "{csv}"
    );
    assert!(csv.contains(",\"Data, \"\"Science\"\"\","), "{csv}");
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"x\"\"), then\nmore\","),
        "formula defused, comma, quote and newline quoted:\n{csv}"
    );
    assert!(csv.contains(",'-bo@example.org,"), "{csv}");

    let filtered = app
        .get("/events.csv?type=student.withdrawn")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(filtered.matches("\r\n").count(), 2, "{filtered}");
    assert!(filtered.contains("student.withdrawn"));
    let bad = app.get("/events.csv?from=soon").await;
    assert_eq!(bad.status(), 400);

    // The page links to the download of the same filters.
    let (_, html) = page(&app, "/events?type=student.withdrawn&actor=staff").await;
    assert!(
        html.contains(
            r#"<a href="/events.csv?type=student.withdrawn&amp;actor=staff">Download CSV</a>"#
        ),
        "{html}"
    );
}

// ---------------------------------------------------------------------------------------------
// Diff and time travel
// ---------------------------------------------------------------------------------------------

/// A cohort of 2 seats and eleven events (times on 2026-03-01):
///
/// 1 created (09:00) · 2 ana, 3 bo enrolled (09:01, 09:02) · 4 cy, 5 dee, 6 eve waitlisted
/// (09:03 to 09:05) · 7 ana withdrawn, 8 cy promoted (one command, 09:06) · 9 eve leaves the
/// waitlist (09:08) · 10 fay waitlisted (09:09) · 11 enrollment closed (09:10).
async fn waitlist_history(app: &TestApp) -> String {
    let cohort = app.create_cohort("Diffed", 2).await;
    for learner in ["ana", "bo", "cy", "dee", "eve"] {
        later(app, 1);
        app.enroll(&cohort, &format!("{learner}@example.org")).await;
    }
    later(app, 1);
    withdraw(app, &cohort, "ana@example.org", "").await;
    later(app, 2);
    withdraw(app, &cohort, "eve@example.org", "").await;
    later(app, 1);
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/enrollments"),
            &json!({"learner": "fay@example.org", "name": "Fay <b>Bold</b>"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    later(app, 1);
    let (status, body) = app
        .post_json(&format!("/api/v1/cohorts/{cohort}/close"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    cohort
}

fn person(key: &str) -> String {
    format!(
        r#"<a href="/learners/{}">{key}</a>"#,
        key.replace('@', "%40")
    )
}

#[tokio::test]
async fn the_diff_between_two_points_matches_hand_computed_changes() {
    let app = TestApp::spawn().await;
    let cohort = waitlist_history(&app).await;
    let expected_changes = |html: &str| {
        // Numbers then and now.
        assert!(
            html.contains("<th scope=\"row\">Seats</th><td data-label=\"Then\">2</td><td data-label=\"Now\">2</td>"),
            "{html}"
        );
        assert!(html.contains("<th scope=\"row\">Enrolled</th><td data-label=\"Then\">2</td><td data-label=\"Now\">2</td>"));
        assert!(
            html.contains("<th scope=\"row\">Waitlist</th><td data-label=\"Then\">3</td><td data-label=\"Now\"><strong>2</strong></td>")
        );
        assert!(html.contains(
            "<th scope=\"row\">Enrollment</th><td data-label=\"Then\">open</td><td data-label=\"Now\"><strong>closed</strong></td>"
        ));
        // Roster and waitlist moves.
        let cy = person("cy@example.org");
        let ana = person("ana@example.org");
        let fay = person("fay@example.org");
        let eve = person("eve@example.org");
        let dee = person("dee@example.org");
        assert!(
            html.contains(&format!("<li>+ {cy}: promoted from the waitlist</li>")),
            "{html}"
        );
        assert!(
            html.contains(&format!("<li>− {ana}: withdrawn</li>")),
            "{html}"
        );
        assert!(
            html.contains(&format!(
                "<li>joined: {fay} (Fay &lt;b&gt;Bold&lt;/b&gt;), now at place 2</li>"
            )),
            "{html}"
        );
        assert!(html.contains(&format!("<li>promoted: {cy}</li>")));
        assert!(html.contains(&format!("<li>left: {eve}, was at place 3</li>")));
        assert!(html.contains(&format!("<li>moved: {dee}, place 2 → 1</li>")));
        assert!(!html.contains(&format!("{}:", person("bo@example.org"))));
        // The events in between, oldest first, with their actor.
        assert_eq!(positions(html), [7, 8, 9, 10, 11]);
        assert!(html.contains("Events in between (5)"));
        assert_eq!(html.matches(r#"<td data-label="By">staff</td>"#).count(), 5);
    };

    let (status, html) = page(&app, &format!("/cohorts/{cohort}/diff?from=6")).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("From after event 6 (version 6) to now (event 11, version 11)."),
        "{html}"
    );
    expected_changes(&html);

    // The same points by time, and in either order.
    let (_, by_time) = page(
        &app,
        &format!("/cohorts/{cohort}/diff?from=2026-03-01T09:05:30Z&to=2026-03-01T09:10:00Z"),
    )
    .await;
    expected_changes(&by_time);
    let (_, swapped) = page(&app, &format!("/cohorts/{cohort}/diff?from=11&to=6")).await;
    expected_changes(&swapped);

    // From before creation: everything is new.
    let (_, from_start) = page(&app, &format!("/cohorts/{cohort}/diff?to=3")).await;
    assert!(
        from_start.contains("The cohort was created in between."),
        "{from_start}"
    );
    assert!(from_start.contains("From before the cohort was created to after event 3"));
    assert!(from_start.contains(&format!(
        "<li>+ {}: enrolled</li>",
        person("ana@example.org")
    )));
    assert_eq!(positions(&from_start), [1, 2, 3]);

    // Nothing in between.
    let (_, same) = page(&app, &format!("/cohorts/{cohort}/diff?from=4&to=4")).await;
    assert!(
        same.contains("Nothing changed between these two points."),
        "{same}"
    );
    assert!(same.contains("No event happened between these two points."));

    // The cohort page offers the comparison; history rows compare with now.
    let (_, cohort_page) = page(&app, &format!("/cohorts/{cohort}")).await;
    assert!(cohort_page.contains(&format!(
        r#"<form class="filters" method="get" action="/cohorts/{cohort}/diff">"#
    )));
    assert!(cohort_page.contains(r#"<label for="diff-from">"#));
    assert!(cohort_page.contains(&format!(
        r#"<a href="/cohorts/{cohort}/diff?from=11">compare with now</a>"#
    )));

    // Errors.
    let (status, _) = page(&app, &format!("/cohorts/{cohort}/diff?from=soon")).await;
    assert_eq!(status, 400);
    let (status, _) = page(&app, "/cohorts/00000000-0000-7000-8000-000000000000/diff").await;
    assert_eq!(status, 404);
    let (status, _) = page(&app, &format!("/cohorts/{cohort}/diff?from=0&to=0")).await;
    assert_eq!(status, 404, "the cohort existed at neither point");
}

#[tokio::test]
async fn time_travel_at_every_position_equals_a_fresh_fold_up_to_it() {
    let app = TestApp::spawn().await;
    let first = waitlist_history(&app).await;
    let second = app.create_cohort("Interleaved", 1).await;
    app.enroll(&second, "ana@example.org").await;
    app.enroll(&second, "gus@example.org").await;
    later(&app, 1);
    withdraw(&app, &second, "ana@example.org", "").await;
    let (dir, db, _, _) = app.stop().await;

    let store = Store::open(&db, &StoreOptions::default()).expect("store");
    let reader = store.read().unwrap();
    let head = reader.head_position().unwrap();
    let all = reader.events_after(0, usize::MAX).unwrap();
    assert_eq!(all.len() as u64, head);
    let cohorts = [first, second].map(|id| rollbook::domain::CohortId(id.parse().unwrap()));
    let mut incremental = Projections::default();
    for envelope in &all {
        incremental.apply(envelope);
        let position = envelope.position;
        for cohort in cohorts {
            let travelled = cohort_as_of(&store, cohort, AsOf::Position(position), head).unwrap();
            let prefix: Vec<_> = all
                .iter()
                .filter(|e| e.cohort == cohort && e.position <= position)
                .cloned()
                .collect();
            assert_eq!(travelled, CohortView::fold(&prefix), "at {position}");
            assert_eq!(
                travelled.as_ref(),
                incremental.catalog.get(cohort),
                "at {position}: time travel equals the live projection as it was"
            );
            // By time: everything that occurred by the event's instant.
            let by_time =
                cohort_as_of(&store, cohort, AsOf::Time(envelope.occurred_at), head).unwrap();
            let upto: Vec<_> = all
                .iter()
                .filter(|e| e.cohort == cohort && e.occurred_at <= envelope.occurred_at)
                .cloned()
                .collect();
            assert_eq!(
                by_time,
                CohortView::fold(&upto),
                "at {}",
                envelope.occurred_at
            );
        }
    }
    drop(dir);
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

/// The cohort names of a search page's cohort table, in order.
fn cohort_hits(html: &str) -> Vec<String> {
    hits(html, "cohort-hits-h", "/cohorts/")
}

/// The learner keys of a search page's learner table, in order.
fn learner_hits(html: &str) -> Vec<String> {
    hits(html, "learner-hits-h", "/learners/")
}

fn hits(html: &str, section: &str, prefix: &str) -> Vec<String> {
    let Some(start) = html.find(section) else {
        return Vec::new();
    };
    let part = &html[start..];
    let part = &part[..part.find("</section>").unwrap_or(part.len())];
    part.match_indices(&format!("<a href=\"{prefix}"))
        .filter_map(|(i, _)| {
            let rest = &part[i..];
            let text = &rest[rest.find('>')? + 1..];
            Some(text[..text.find('<')?].to_owned())
        })
        .collect()
}

/// Creates a cohort of the course `CS-1` with an instructor; returns its id.
async fn create(app: &TestApp, name: &str, instructor: &str) -> String {
    let mut body = cohort_body(name, 50);
    body["course"] = json!("CS-1");
    body["instructor"] = json!(instructor);
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn search_ranks_exact_before_prefix_before_word_prefix_before_substring() {
    let app = TestApp::spawn().await;
    for name in [
        "Trust and Safety",
        "Advanced Rust",
        "Rustacean Basics",
        "Rust",
        "Go",
    ] {
        create(&app, name, "Ada Lovelace").await;
    }
    create(&app, "Systems", "Rusty Russell").await;
    let go = create(&app, "Learners", "Grace Hopper").await;
    for (key, name) in [
        ("trusty@example.org", ""),
        ("ana.rust@example.org", ""),
        ("rust", ""),
        ("rusty@example.org", ""),
        ("s1234", "Rust Cohle"),
    ] {
        let (status, body) = app
            .post_json(
                &format!("/api/v1/cohorts/{go}/enrollments"),
                &json!({"learner": key, "name": name}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    let (status, html) = page(&app, "/search?q=rust").await;
    assert_eq!(status, 200);
    assert_eq!(
        cohort_hits(&html),
        [
            "Rust",
            "Rustacean Basics",
            "Systems",
            "Advanced Rust",
            "Trust and Safety"
        ],
        "exact name, name prefix, instructor prefix, word prefix, substring:\n{html}"
    );
    assert_eq!(
        learner_hits(&html),
        [
            "rust",
            "rusty@example.org",
            "s1234",
            "ana.rust@example.org",
            "trusty@example.org"
        ],
        "exact key, key prefix, name prefix, word prefix, substring:\n{html}"
    );
    assert!(html.contains("<small>name: exact</small>"), "{html}");
    assert!(
        html.contains("<small>instructor: starts with</small>"),
        "{html}"
    );
    assert!(html.contains("<small>name: contains</small>"), "{html}");
    assert!(html.contains(
        r#"<a href="/learners/s1234">s1234</a></td><td data-label="Name">Rust Cohle</td>"#
    ));

    // Case and surrounding space do not matter; a learner's name is found by any word.
    let (_, html) = page(&app, "/search?q=++COHLE+").await;
    assert_eq!(learner_hits(&html), ["s1234"]);
    assert!(cohort_hits(&html).is_empty());
    assert!(html.contains("No cohort matches “COHLE”."), "{html}");
}

#[tokio::test]
async fn an_empty_or_unknown_search_shows_an_empty_state() {
    let app = TestApp::spawn().await;
    app.create_cohort("Known", 1).await;
    let (status, html) = page(&app, "/search?q=").await;
    assert_eq!(status, 200);
    assert!(html.contains("Type what you are looking for"), "{html}");
    assert!(cohort_hits(&html).is_empty() && learner_hits(&html).is_empty());
    let (status, html) = page(&app, "/search").await;
    assert_eq!(status, 200);
    assert!(html.contains("Type what you are looking for"));
    let (status, html) = page(&app, "/search?q=zzzqqq").await;
    assert_eq!(status, 200);
    assert!(html.contains("Nothing matches “zzzqqq”."), "{html}");
    assert!(html.contains(r#"value="zzzqqq""#));
}

// ---------------------------------------------------------------------------------------------
// Navigation, access, escaping
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_page_has_the_search_box_and_the_events_link() {
    let app = TestApp::spawn().await;
    let (_, html) = page(&app, "/").await;
    assert!(html.contains(r#"<form class="search" role="search" method="get" action="/search">"#));
    assert!(html.contains(r#"<label for="nav-search">Search</label>"#));
    assert!(html.contains(r#"<input id="nav-search" name="q""#));
    assert!(html.contains(r#"<a href="/events">Events</a>"#));

    // Viewers may browse; nobody signed in may not.
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    for path in ["/events", "/events.csv", "/search?q=x"] {
        let response = viewer.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let response = app.anonymous().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
    }
    let login = app
        .anonymous()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!login.contains("nav-search"), "only signed-in pages search");
}

#[tokio::test]
async fn browse_pages_escape_what_users_typed() {
    let app = TestApp::spawn().await;
    let evil = "<script>alert(1)</script>";
    let (status, body) = app
        .post_json("/api/v1/cohorts", &cohort_body(evil, 1))
        .await;
    assert_eq!(status, 201, "{body}");
    let cohort = body["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/enrollments"),
            &json!({"learner": "x@example.org", "name": evil}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    withdraw(&app, &cohort, "x@example.org", evil).await;

    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
    for path in [
        "/events".to_owned(),
        format!("/events?actor={}", "%3Cscript%3E"),
        "/search?q=%3Cscript%3Ealert".to_owned(),
        "/search?q=%3Cscript%3E-nothing".to_owned(),
        format!("/cohorts/{cohort}/diff?to=2"),
        format!("/cohorts/{cohort}/diff"),
    ] {
        let (status, html) = page(&app, &path).await;
        assert_eq!(status, 200, "{path}: {html}");
        assert!(!html.contains("<script"), "{path}: {html}");
        assert!(html.contains("&lt;script&gt;"), "{path}: {html}");
        if !path.contains("-nothing") && !path.contains("actor") {
            assert!(html.contains(escaped), "{path}: {html}");
        }
    }
}
