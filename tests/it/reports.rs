//! The support reports through real HTTP, against a scripted history with hand-computed
//! expectations: cohorts by instructor, recent withdrawals (filters, promotions, pagination),
//! seat changes per ISO week (table, SVG chart, pagination), the dashboard's signals, and the
//! CSV downloads (headers, quoting, formulas defused).

use std::sync::Arc;

use rollbook::auth::Role;
use rollbook::domain::{Capacity, CohortCreated, CohortId, Event, LearnerId};
use rollbook::store::{
    Actor, Batch, CommandMeta, LearnerRecord, Store, StoreOptions, StreamAppend,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A CSV download: asserts the content type and the attachment name, returns the body.
async fn csv(app: &TestApp, path: &str, filename: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let header = |name| {
        response.headers()[name]
            .to_str()
            .expect("ASCII header")
            .to_owned()
    };
    assert_eq!(
        header(reqwest::header::CONTENT_TYPE),
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        header(reqwest::header::CONTENT_DISPOSITION),
        format!("attachment; filename=\"{filename}\"")
    );
    response.text().await.expect("CSV body")
}

/// The learner keys in the rows of a withdrawals page, top to bottom.
fn withdrawn_learners(html: &str) -> Vec<String> {
    let Some(from) = html.find("<tbody>") else {
        return Vec::new();
    };
    html[from..]
        .split("<tr>")
        .skip(1)
        .filter_map(|row| {
            let start = row.find("<a href=\"/learners/")?;
            let text = &row[start..];
            let text = &text[text.find('>')? + 1..];
            Some(text[..text.find('<')?].to_owned())
        })
        .collect()
}

struct NewCohort<'a> {
    name: &'a str,
    course: &'a str,
    instructor: &'a str,
    capacity: u32,
    enrollment_deadline: &'a str,
    starts_at: &'a str,
    withdrawal_deadline: &'a str,
}

async fn create(app: &TestApp, c: &NewCohort<'_>) -> String {
    let (status, body) = app
        .post_json(
            "/api/v1/cohorts",
            &json!({
                "name": c.name,
                "course": c.course,
                "instructor": c.instructor,
                "capacity": c.capacity,
                "starts_at": c.starts_at,
                "enrollment_deadline": c.enrollment_deadline,
                "withdrawal_deadline": c.withdrawal_deadline,
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn set_capacity(app: &TestApp, cohort: &str, capacity: u32) -> Value {
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/capacity"),
            &json!({"capacity": capacity}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A reason with a comma, quotes and a newline.
const AWKWARD: &str = "Moved to Lisbon, \"sorry\"\nsee ticket #12";
/// A reason a spreadsheet would run.
const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";

/// The scripted history's cohorts.
struct Script {
    app: TestApp,
    /// Rust Spring (Ada Lovelace, RUST-101).
    a: String,
    /// Go Basics (Grace Hopper, GO-1).
    b: String,
    /// Rust Autumn ("ada lovelace", RUST-101).
    c: String,
}

/// 2026-03-01 09:00 (a Sunday, ISO week 2026-W09): three cohorts; A full with two waiting.
async fn setup() -> Script {
    let app = TestApp::spawn().await;
    let a = create(
        &app,
        &NewCohort {
            name: "Rust Spring",
            course: "RUST-101",
            instructor: "Ada Lovelace",
            capacity: 2,
            enrollment_deadline: "2026-03-20T00:00:00Z",
            starts_at: "2026-03-25T09:00:00Z",
            withdrawal_deadline: "2026-03-30T00:00:00Z",
        },
    )
    .await;
    let b = create(
        &app,
        &NewCohort {
            name: "Go Basics",
            course: "GO-1",
            instructor: "Grace Hopper",
            capacity: 4,
            enrollment_deadline: "2026-03-05T12:00:00Z",
            starts_at: "2026-03-06T09:00:00Z",
            withdrawal_deadline: "2026-03-12T00:00:00Z",
        },
    )
    .await;
    let c = create(
        &app,
        &NewCohort {
            name: "Rust Autumn",
            course: "RUST-101",
            instructor: "ada lovelace",
            capacity: 1,
            enrollment_deadline: "2026-04-01T00:00:00Z",
            starts_at: "2026-04-10T09:00:00Z",
            withdrawal_deadline: "2026-04-15T00:00:00Z",
        },
    )
    .await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{a}/enrollments"),
            &json!({"learner": "ana@example.org", "name": "Ana, \"Jr.\""}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.enroll(&a, "ben@example.org").await, "enrolled");
    assert_eq!(app.enroll(&a, "cy@example.org").await, "waitlisted");
    assert_eq!(app.enroll(&a, "dee@example.org").await, "waitlisted");
    assert_eq!(app.enroll(&b, "eve@example.org").await, "enrolled");
    assert_eq!(app.enroll(&c, "fay@example.org").await, "enrolled");
    Script { app, a, b, c }
}

/// The rest of the history, in three later weeks.
async fn play(s: &Script) {
    let app = &s.app;
    // 2026-03-03 10:00, W10: ana withdraws and cy takes her seat; one more seat promotes dee.
    app.clock.set(ts("2026-03-03T10:00:00Z"));
    let done = withdraw(app, &s.a, "ana@example.org", AWKWARD).await;
    assert_eq!(done["promoted"], "cy@example.org");
    let done = set_capacity(app, &s.a, 3).await;
    assert_eq!(done["promoted"], json!(["dee@example.org"]));

    // 2026-03-11 15:00, W11: gus waits and leaves; eve withdraws from B, which shrinks.
    app.clock.set(ts("2026-03-11T15:00:00Z"));
    assert_eq!(app.enroll(&s.a, "gus@example.org").await, "waitlisted");
    let done = withdraw(app, &s.a, "gus@example.org", FORMULA).await;
    assert_eq!(done["outcome"], "left_waitlist");
    let done = withdraw(app, &s.b, "eve@example.org", "").await;
    assert_eq!(done["promoted"], Value::Null);
    set_capacity(app, &s.b, 2).await;

    // 2026-03-17 09:00, W12: the admin withdraws ben; B closes.
    app.clock.set(ts("2026-03-17T09:00:00Z"));
    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = admin
        .post(app.url(&format!("/api/v1/cohorts/{}/withdrawals", s.a)))
        .json(&json!({"learner": "ben@example.org", "reason": "Schedule clash"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status().as_u16(), 200);
    let (status, body) = app
        .post_json(&format!("/api/v1/cohorts/{}/close", s.b), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------------------------
// Cohorts by instructor
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn cohorts_by_instructor_show_fill_waitlist_and_next_deadline() {
    let s = setup().await;
    play(&s).await;
    let (status, html) = page(&s.app, "/reports/instructors").await;
    assert_eq!(status, 200);
    assert!(html.contains("Showing cohorts 1–3 of 3."), "{html}");
    // "ada lovelace" files under the first spelling; instructors in name order.
    let ada = between(
        &html,
        "<h2 id=\"instructor-1\">Ada Lovelace</h2>",
        "</section>",
    );
    let grace = between(
        &html,
        "<h2 id=\"instructor-2\">Grace Hopper</h2>",
        "</section>",
    );
    assert!(
        ada.contains("2 cohorts (2 open) · 3 of 4 seats taken (75%) · 0 waiting"),
        "{ada}"
    );
    assert!(
        grace.contains("1 cohorts (0 open) · 0 of 2 seats taken (0%) · 0 waiting"),
        "{grace}"
    );
    // Latest start first: Rust Autumn (10 April), then Rust Spring (25 March).
    let autumn = between(ada, "Rust Autumn", "</tr>");
    let spring = between(ada, "Rust Spring", "</tr>");
    assert!(ada.find("Rust Autumn").unwrap() < ada.find("Rust Spring").unwrap());
    assert!(autumn.contains("100% <small>(1 / 1)</small>"), "{autumn}");
    assert!(
        autumn.contains(
            r#"enrollment deadline<br><time class="when" datetime="2026-04-01T00:00Z">2026-04-01 00:00 UTC</time>"#
        ),
        "{autumn}"
    );
    assert!(spring.contains("66% <small>(2 / 3)</small>"), "{spring}");
    assert!(
        spring.contains(r#"<td data-label="Waitlist">0</td>"#),
        "{spring}"
    );
    assert!(
        spring.contains(
            r#"enrollment deadline<br><time class="when" datetime="2026-03-20T00:00Z">2026-03-20 00:00 UTC</time>"#
        ),
        "{spring}"
    );
    // Closed, every date past: nothing ahead, and its classes have begun.
    let go = between(grace, "Go Basics", "</tr>");
    assert!(go.contains("<small>none ahead</small>"), "{go}");
    assert!(
        go.contains(r#"<span class="status running">Running</span>"#),
        "{go}"
    );

    // After the enrollment deadline, the next date of Rust Spring is its start.
    s.app.clock.set(ts("2026-03-21T00:00:00Z"));
    let (_, html) = page(&s.app, "/reports/instructors?instructor=ADA+LOVELACE").await;
    assert!(!html.contains("Go Basics"), "{html}");
    let spring = between(&html, "Rust Spring", "</tr>");
    assert!(
        spring.contains(
            r#"starts<br><time class="when" datetime="2026-03-25T09:00Z">2026-03-25 09:00 UTC</time>"#
        ),
        "{spring}"
    );
    assert!(
        html.contains(r#"name="instructor" value="Ada Lovelace""#),
        "{html}"
    );

    let (status, html) = page(&s.app, "/reports/instructors?instructor=Nobody").await;
    assert_eq!(status, 200);
    assert!(html.contains("No instructor matches “Nobody”."), "{html}");
}

#[tokio::test]
async fn the_instructor_csv_lists_every_cohort() {
    let s = setup().await;
    play(&s).await;
    let body = csv(
        &s.app,
        "/reports/instructors.csv",
        "cohorts-by-instructor.csv",
    )
    .await;
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert_eq!(
        lines,
        [
            "instructor,cohort_id,cohort,course,status,capacity,enrolled,fill_percent,waitlist,\
             next_deadline,next_deadline_at",
            &format!(
                "Ada Lovelace,{},Rust Autumn,RUST-101,open,1,1,100,0,enrollment deadline,\
                 2026-04-01T00:00:00Z",
                s.c
            ),
            &format!(
                "Ada Lovelace,{},Rust Spring,RUST-101,open,3,2,66,0,enrollment deadline,\
                 2026-03-20T00:00:00Z",
                s.a
            ),
            &format!("Grace Hopper,{},Go Basics,GO-1,closed,2,0,0,0,,", s.b),
            "",
        ]
    );
    let one = csv(
        &s.app,
        "/reports/instructors.csv?instructor=grace+hopper",
        "cohorts-by-instructor.csv",
    )
    .await;
    assert_eq!(one.lines().count(), 2, "{one}");
}

// ---------------------------------------------------------------------------------------------
// Recent withdrawals
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn recent_withdrawals_show_reason_actor_and_promotion_newest_first() {
    let s = setup().await;
    play(&s).await;
    let (status, html) = page(&s.app, "/reports/withdrawals").await;
    assert_eq!(status, 200);
    assert_eq!(
        withdrawn_learners(&html),
        [
            "ben@example.org",
            "eve@example.org",
            "gus@example.org",
            "ana@example.org"
        ]
    );
    assert!(html.contains("Showing 1–4, newest first"), "{html}");
    let ben = between(&html, "ben@example.org</a>", "</tr>");
    assert!(
        ben.contains("Schedule clash") && ben.contains(r#"<td data-label="By">admin</td>"#),
        "{ben}"
    );
    assert!(ben.contains("<small>nobody</small>"), "{ben}");
    let eve = between(&html, "eve@example.org</a>", "</tr>");
    assert!(
        eve.contains("<strong>Other</strong>") && !eve.contains("none given"),
        "a seat given up always has a code, if no text: {eve}"
    );
    let gus = between(&html, "gus@example.org</a>", "</tr>");
    assert!(
        gus.contains("waitlist place") && gus.contains("waitlist.left"),
        "{gus}"
    );
    // Escaped, not interpreted.
    assert!(
        gus.contains("=HYPERLINK(&quot;http://evil.example&quot;,&quot;x&quot;)"),
        "{gus}"
    );
    let ana = between(&html, "ana@example.org</a>", "</tr>");
    assert!(
        ana.contains("Moved to Lisbon, &quot;sorry&quot;\nsee ticket #12"),
        "{ana}"
    );
    assert!(
        ana.contains("promoted <a href=\"/learners/cy%40example.org\">cy@example.org</a>"),
        "{ana}"
    );
    assert!(ana.contains(r#"<td data-label="By">staff</td>"#), "{ana}");
    assert!(
        html.contains(
            r#"<td data-label="When"><time class="when" datetime="2026-03-03T10:00Z">2026-03-03 10:00 UTC</time>"#
        ) && html.contains("<br><small>event #10</small></td>"),
        "{html}"
    );
    assert!(!html.contains("Older →") && !html.contains("← Newer"));
}

#[tokio::test]
async fn withdrawals_filter_by_dates_course_and_instructor() {
    let s = setup().await;
    play(&s).await;
    let cases: [(&str, &[&str]); 8] = [
        (
            "instructor=ada+lovelace",
            &["ben@example.org", "gus@example.org", "ana@example.org"],
        ),
        ("course=go-1", &["eve@example.org"]),
        ("course=RUST-101&instructor=Grace+Hopper", &[]),
        (
            "from=2026-03-11&to=2026-03-11",
            &["eve@example.org", "gus@example.org"],
        ),
        (
            "from=2026-03-03T10:00:00Z&to=2026-03-11",
            &["eve@example.org", "gus@example.org", "ana@example.org"],
        ),
        ("from=2026-03-03T10:00:01Z&to=2026-03-11T14:59:59Z", &[]),
        ("to=2026-03-02", &[]),
        (
            "from=2026-03-12&instructor=Ada+Lovelace&course=rust-101",
            &["ben@example.org"],
        ),
    ];
    for (query, expected) in cases {
        let (status, html) = page(&s.app, &format!("/reports/withdrawals?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(withdrawn_learners(&html), expected, "{query}");
        if expected.is_empty() {
            assert!(
                html.contains("No withdrawal matches these filters."),
                "{html}"
            );
        }
    }
    // The filters are kept in the form and in the CSV link.
    let (_, html) = page(&s.app, "/reports/withdrawals?course=go-1&from=2026-03-01").await;
    assert!(html.contains(r#"name="course" value="go-1""#), "{html}");
    assert!(
        html.contains(
            r#"href="/reports/withdrawals.csv?from=2026-03-01&amp;to=&amp;course=go-1&amp;instructor=&amp;reason=""#
        ),
        "{html}"
    );

    let (status, html) = page(&s.app, "/reports/withdrawals?from=yesterday").await;
    assert_eq!(status, 400);
    assert!(
        html.contains(
            r#"<p class="notice error" role="alert">from: &quot;yesterday&quot; is not a date"#
        ),
        "{html}"
    );
    assert!(withdrawn_learners(&html).is_empty(), "{html}");
    let response = s.app.get("/reports/withdrawals.csv?to=soon").await;
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn the_withdrawal_csv_quotes_and_defuses_reasons() {
    let s = setup().await;
    play(&s).await;
    let body = csv(&s.app, "/reports/withdrawals.csv", "withdrawals.csv").await;
    let header = "occurred_at,position,cohort_id,cohort,course,instructor,learner,event,\
                  reason_code,reason,actor,promoted\r\n";
    assert!(body.starts_with(header), "{body}");
    // Positions: 1-3 creations, 4-9 enrollments, 10-11 ana, 12-13 capacity, 14 gus waits,
    // 15 gus leaves, 16 eve, 17 capacity, 18 ben, 19 close.
    let (a, b) = (&s.a, &s.b);
    let expected = format!(
        "{header}\
         2026-03-17T09:00:00Z,18,{a},Rust Spring,RUST-101,Ada Lovelace,ben@example.org,\
         student.withdrawn,other,Schedule clash,admin,\r\n\
         2026-03-11T15:00:00Z,16,{b},Go Basics,GO-1,Grace Hopper,eve@example.org,\
         student.withdrawn,other,,staff,\r\n\
         2026-03-11T15:00:00Z,15,{a},Rust Spring,RUST-101,Ada Lovelace,gus@example.org,\
         waitlist.left,,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",staff,\r\n\
         2026-03-03T10:00:00Z,10,{a},Rust Spring,RUST-101,Ada Lovelace,ana@example.org,\
         student.withdrawn,other,\"Moved to Lisbon, \"\"sorry\"\"\nsee ticket #12\",staff,\
         cy@example.org\r\n"
    );
    assert_eq!(body, expected);

    let filtered = csv(
        &s.app,
        "/reports/withdrawals.csv?instructor=grace+hopper",
        "withdrawals.csv",
    )
    .await;
    assert_eq!(filtered.lines().count(), 2, "{filtered}");
    assert!(filtered.contains("eve@example.org"), "{filtered}");
}

#[tokio::test]
async fn withdrawals_and_instructors_are_paginated() {
    let app = TestApp::spawn().await;
    let amy = create(
        &app,
        &NewCohort {
            name: "Amy's only cohort",
            course: "X-1",
            instructor: "Amy",
            capacity: 1,
            enrollment_deadline: ENROLLMENT_DEADLINE,
            starts_at: STARTS_AT,
            withdrawal_deadline: WITHDRAWAL_DEADLINE,
        },
    )
    .await;
    for i in 0..51 {
        create(
            &app,
            &NewCohort {
                name: &format!("Zed cohort #{i:02}"),
                course: "Z-1",
                instructor: "Zed",
                capacity: 1,
                enrollment_deadline: ENROLLMENT_DEADLINE,
                // Later cohorts start later, so they are listed first.
                starts_at: &format!("2026-04-{:02}T09:00:00Z", 1 + i / 2),
                withdrawal_deadline: "2026-06-01T00:00:00Z",
            },
        )
        .await;
    }
    let (_, html) = page(&app, "/reports/instructors").await;
    assert!(html.contains("Showing cohorts 1–50 of 52."), "{html}");
    assert!(html.contains("<h2 id=\"instructor-1\">Amy</h2>"), "{html}");
    assert!(html.contains("<h2 id=\"instructor-2\">Zed</h2>"), "{html}");
    assert!(html.contains("Zed cohort #50") && !html.contains("Zed cohort #01<"));
    assert!(
        html.contains(r#"<a href="/reports/instructors?instructor=&amp;page=2">Next →</a>"#),
        "{html}"
    );
    let (_, html) = page(&app, "/reports/instructors?page=2").await;
    assert!(html.contains("Showing cohorts 51–52 of 52."), "{html}");
    assert!(
        html.contains("<h2 id=\"instructor-1\">Zed <small>(continued)</small></h2>"),
        "{html}"
    );
    assert!(html.contains("Zed cohort #01") && html.contains("Zed cohort #00"));
    assert!(html.contains("← Previous") && !html.contains("Next →"));
    let (_, html) = page(&app, "/reports/instructors?page=3").await;
    assert!(html.contains("← Previous"), "{html}");

    // 51 withdrawals from Amy's waitlist.
    for i in 0..52 {
        app.enroll(&amy, &format!("l{i:02}@example.org")).await;
    }
    for i in 1..52 {
        withdraw(
            &app,
            &amy,
            &format!("l{i:02}@example.org"),
            &format!("r{i}"),
        )
        .await;
    }
    let (_, html) = page(&app, "/reports/withdrawals").await;
    let first = withdrawn_learners(&html);
    assert_eq!(first.len(), 50);
    assert_eq!(
        (first[0].as_str(), first[49].as_str()),
        ("l51@example.org", "l02@example.org")
    );
    assert!(html.contains("Showing 1–50, newest first"), "{html}");
    let older = r#"<a href="/reports/withdrawals?from=&amp;to=&amp;course=&amp;instructor=&amp;reason=&amp;page=2">Older →</a>"#;
    assert!(html.contains(older), "{html}");
    assert!(!html.contains("← Newer"));
    let (_, html) = page(&app, "/reports/withdrawals?page=2").await;
    assert_eq!(withdrawn_learners(&html), ["l01@example.org"]);
    assert!(html.contains("Showing 51–51, newest first"), "{html}");
    assert!(
        html.contains("← Newer") && !html.contains("Older →"),
        "{html}"
    );
    // The CSV has every row, across its internal chunks.
    let body = csv(&app, "/reports/withdrawals.csv", "withdrawals.csv").await;
    assert_eq!(body.lines().count(), 52);
}

// ---------------------------------------------------------------------------------------------
// Seat changes by ISO week
// ---------------------------------------------------------------------------------------------

/// The body cells of the week row labelled `week`.
fn week_row<'a>(html: &'a str, week: &str) -> &'a str {
    // The label may be followed by "this week so far".
    between(html, &format!("<th scope=\"row\">{week}"), "</tr>")
}

/// The cells after the week label: its Monday, then enrolled, withdrawn, promoted, capacity
/// changes, seats added, seats removed.
fn cells(values: [u64; 6], monday: &str) -> String {
    let [e, w, p, c, added, removed] = values;
    format!(
        "<td data-label=\"Starts\">{monday}</td><td data-label=\"Enrolled\">{e}</td>\
         <td data-label=\"Withdrawn\">{w}</td><td data-label=\"Promoted\">{p}</td>\
         <td data-label=\"Capacity changes\">{c}</td><td data-label=\"Seats added\">{added}</td>\
         <td data-label=\"Seats removed\">{removed}</td>"
    )
}

#[tokio::test]
async fn seat_changes_are_counted_per_iso_week_overall_and_per_cohort() {
    let s = setup().await;
    play(&s).await;
    let (status, html) = page(&s.app, "/reports/seats").await;
    assert_eq!(status, 200);
    // W09: ana, ben, eve, fay enrolled (cy and dee only waited).
    assert!(week_row(&html, "2026-W09").contains(&cells([4, 0, 0, 0, 0, 0], "2026-02-23")));
    // W10: ana withdrew; cy and dee promoted; A went 2 → 3.
    assert!(week_row(&html, "2026-W10").contains(&cells([0, 1, 2, 1, 1, 0], "2026-03-02")));
    // W11: eve withdrew (gus only waited and left); B went 4 → 2.
    assert!(week_row(&html, "2026-W11").contains(&cells([0, 1, 0, 1, 0, 2], "2026-03-09")));
    // W12: ben withdrew.
    assert!(week_row(&html, "2026-W12").contains(&cells([0, 1, 0, 0, 0, 0], "2026-03-16")));
    assert!(
        !html.contains("2026-W13") && !html.contains("2026-W08"),
        "{html}"
    );

    // The chart: inline SVG with a title, a description, axis labels, week labels and bars
    // whose accessible names carry the values.
    let svg = between(&html, "<svg", "</svg>");
    assert!(svg.contains(r#"role="img" aria-labelledby="seats-chart-title seats-chart-desc""#));
    assert!(
        svg.contains(
            r#"<title id="seats-chart-title">Seat changes per ISO week, all cohorts, 2026-W09 to 2026-W12</title>"#
        ),
        "{svg}"
    );
    assert!(svg.contains(r#"<desc id="seats-chart-desc">"#), "{svg}");
    assert!(svg.contains(">ISO week</text>") && svg.contains(">Events per week</text>"));
    for week in ["W09", "W10", "W11", "W12"] {
        assert!(svg.contains(&format!(">{week}</text>")), "{week}: {svg}");
    }
    assert!(svg.contains("<title>2026-W09: 4 enrolled</title>"), "{svg}");
    assert!(svg.contains("<title>2026-W10: 2 promoted</title>"), "{svg}");
    assert!(
        svg.contains("<title>2026-W11: 1 capacity changes</title>"),
        "{svg}"
    );
    // Outside the fill patterns' definitions (one per series, so it reads without colour).
    let defs = between(svg, "<defs>", "</defs>");
    assert_eq!(defs.matches("<pattern ").count(), 4, "{defs}");
    assert_eq!(
        svg.replace(defs, "").matches("<rect").count(),
        4 + 7,
        "4 legend keys, 7 non-zero bars"
    );
    assert!(
        !svg.contains("href") && !svg.contains("style="),
        "nothing fetched, no inline style"
    );

    // One cohort: Rust Spring, with its quiet week W11 filled in.
    let (status, html) = page(&s.app, &format!("/cohorts/{}/seats", s.a)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Seat changes by week: Rust Spring"), "{html}");
    assert!(week_row(&html, "2026-W09").contains(&cells([2, 0, 0, 0, 0, 0], "2026-02-23")));
    assert!(week_row(&html, "2026-W10").contains(&cells([0, 1, 2, 1, 1, 0], "2026-03-02")));
    assert!(week_row(&html, "2026-W11").contains(&cells([0, 0, 0, 0, 0, 0], "2026-03-09")));
    assert!(week_row(&html, "2026-W12").contains(&cells([0, 1, 0, 0, 0, 0], "2026-03-16")));
    assert!(
        html.contains("Seat changes per ISO week, Rust Spring, 2026-W09 to 2026-W12"),
        "{html}"
    );

    // Linked from the cohort page.
    let (_, cohort) = page(&s.app, &format!("/cohorts/{}", s.c)).await;
    assert!(
        cohort.contains(&format!(r#"<a href="/cohorts/{}/seats">"#, s.c)),
        "{cohort}"
    );
    assert!(cohort.contains(&format!(r#"<a href="/cohorts/{}/roster.csv">"#, s.c)));

    let (status, _) = page(&s.app, &format!("/cohorts/{}/seats", Uuid::nil())).await;
    assert_eq!(status, 404);
    let (status, _) = page(&s.app, "/cohorts/not-a-uuid/seats.csv").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn seat_change_csvs_list_every_week() {
    let s = setup().await;
    play(&s).await;
    let header = "week,week_start,enrolled,withdrawn,promoted,capacity_changes,seats_added,\
                  seats_removed\r\n";
    let body = csv(&s.app, "/reports/seats.csv", "seat-changes.csv").await;
    assert_eq!(
        body,
        format!(
            "{header}2026-W09,2026-02-23,4,0,0,0,0,0\r\n2026-W10,2026-03-02,0,1,2,1,1,0\r\n\
             2026-W11,2026-03-09,0,1,0,1,0,2\r\n2026-W12,2026-03-16,0,1,0,0,0,0\r\n"
        )
    );
    let body = csv(
        &s.app,
        &format!("/cohorts/{}/seats.csv", s.c),
        &format!("cohort-{}-seat-changes.csv", s.c),
    )
    .await;
    assert_eq!(body, format!("{header}2026-W09,2026-02-23,1,0,0,0,0,0\r\n"));
}

#[tokio::test]
async fn seat_change_weeks_are_paginated_and_an_empty_report_says_so() {
    let app = TestApp::spawn().await;
    let (_, html) = page(&app, "/reports/seats").await;
    assert!(html.contains("No seat has changed yet"), "{html}");
    assert!(!html.contains("<svg"), "{html}");

    let id = create(
        &app,
        &NewCohort {
            name: "Long runner",
            course: "L-1",
            instructor: "Lee",
            capacity: 5,
            enrollment_deadline: "2027-01-01T00:00:00Z",
            starts_at: "2027-01-02T00:00:00Z",
            withdrawal_deadline: "2027-01-03T00:00:00Z",
        },
    )
    .await;
    // 2026-W09 and, 27 weeks later, 2026-W36: 28 weeks, 2 pages of 26.
    app.enroll(&id, "a@example.org").await;
    app.clock.set(ts("2026-09-01T09:00:00Z"));
    app.enroll(&id, "b@example.org").await;
    let (_, html) = page(&app, "/reports/seats").await;
    assert_eq!(html.matches("<th scope=\"row\">").count(), 26, "{html}");
    assert!(html.contains("2026-W11") && html.contains("2026-W36"));
    assert!(!html.contains("2026-W10<") && !html.contains("2026-W09<"));
    assert!(html.contains(r#"<a href="/reports/seats?page=2">← Earlier weeks</a>"#));
    assert!(!html.contains("Later weeks"));
    let (_, html) = page(&app, "/reports/seats?page=2").await;
    assert_eq!(html.matches("<th scope=\"row\">").count(), 2, "{html}");
    assert!(week_row(&html, "2026-W09").contains(r#"<td data-label="Enrolled">1</td>"#));
    assert!(html.contains(r#"<a href="/reports/seats?page=1">Later weeks →</a>"#));
    assert!(!html.contains("Earlier weeks"));
    // The year is written under the first week label only.
    let svg = between(&html, "<svg", "</svg>");
    assert_eq!(svg.matches(">2026</text>").count(), 1, "{svg}");
    let (status, html) = page(&app, &format!("/cohorts/{id}/seats?page=9")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Later weeks →"), "{html}");
}

// ---------------------------------------------------------------------------------------------
// Roster CSV
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_roster_csv_lists_seats_then_the_waitlist() {
    let s = setup().await;
    let body = csv(
        &s.app,
        &format!("/cohorts/{}/roster.csv", s.a),
        &format!("cohort-{}-roster.csv", s.a),
    )
    .await;
    assert_eq!(
        body,
        "status,place,learner,name,since,joined_at_place\r\n\
         enrolled,1,ana@example.org,\"Ana, \"\"Jr.\"\"\",2026-03-01T09:00:00Z,\r\n\
         enrolled,2,ben@example.org,,2026-03-01T09:00:00Z,\r\n\
         waitlisted,1,cy@example.org,,2026-03-01T09:00:00Z,1\r\n\
         waitlisted,2,dee@example.org,,2026-03-01T09:00:00Z,2\r\n"
    );
    let response = s
        .app
        .get(&format!("/cohorts/{}/roster.csv", Uuid::nil()))
        .await;
    assert_eq!(response.status().as_u16(), 404);
}

// ---------------------------------------------------------------------------------------------
// Dashboard signals
// ---------------------------------------------------------------------------------------------

fn signals(html: &str) -> &str {
    between(
        html,
        r#"<section aria-labelledby="signals-h""#,
        "</section>",
    )
}

#[tokio::test]
async fn the_dashboard_shows_near_full_cohorts_deadlines_and_totals() {
    let s = setup().await;
    let (_, html) = page(&s.app, "/").await;
    let signals_now = signals(&html);
    for (label, value) in [
        ("Cohorts", 3),
        ("Open cohorts", 3),
        ("Seats", 7),
        ("Enrolled", 4),
        ("Waitlisted", 2),
        ("Learners on file", 6),
    ] {
        assert!(
            signals_now.contains(&format!("<dt>{label}</dt><dd>{value}</dd>")),
            "{label}: {signals_now}"
        );
    }
    let near_full = between(signals_now, "<h3>Nearly full</h3>", "</div>");
    // Soonest enrollment deadline first: Rust Spring (20 March), Rust Autumn (1 April).
    assert!(
        near_full.contains(&format!(
            "<a href=\"/cohorts/{}\">Rust Spring</a>: 2 of 2 seats (100%), 2 waiting",
            s.a
        )),
        "{near_full}"
    );
    assert!(near_full.find("Rust Spring").unwrap() < near_full.find("Rust Autumn").unwrap());
    assert!(!near_full.contains("Go Basics"));
    // 1 to 8 March: Go Basics closes enrollment on the 5th and starts on the 6th.
    let deadlines = between(
        signals_now,
        "<h3>Deadlines in the next 7 days</h3>",
        "</div>",
    );
    assert!(
        deadlines.contains(&format!(
            "<li><time class=\"when\" datetime=\"2026-03-05T12:00Z\">2026-03-05 12:00 UTC</time> <small class=\"rel\">in 4 days</small>: <a href=\"/cohorts/{}\">Go Basics</a> enrollment deadline</li>\
             <li><time class=\"when\" datetime=\"2026-03-06T09:00Z\">2026-03-06 09:00 UTC</time> <small class=\"rel\">in 5 days</small>: <a href=\"/cohorts/{}\">Go Basics</a> starts</li>",
            s.b, s.b
        )),
        "{deadlines}"
    );
    assert!(!signals_now.contains("A seat is free while learners wait"));
    // Signals come above the list.
    assert!(html.find("signals-h").unwrap() < html.find("<caption>Showing").unwrap());

    play(&s).await;
    let (_, html) = page(&s.app, "/").await;
    let later = signals(&html);
    for (label, value) in [
        ("Cohorts", 3),
        ("Open cohorts", 2),
        ("Seats", 6),
        ("Enrolled", 3),
        ("Waitlisted", 0),
        ("Learners on file", 7),
    ] {
        assert!(
            later.contains(&format!("<dt>{label}</dt><dd>{value}</dd>")),
            "{label}: {later}"
        );
    }
    let near_full = between(later, "<h3>Nearly full</h3>", "</div>");
    assert!(near_full.contains("Rust Autumn") && !near_full.contains("Rust Spring"));
    // 17 to 24 March: only Rust Spring's enrollment deadline.
    let deadlines = between(later, "<h3>Deadlines in the next 7 days</h3>", "</div>");
    assert_eq!(deadlines.matches("<li>").count(), 1, "{deadlines}");
    assert!(
        deadlines.contains("Rust Spring</a> enrollment deadline"),
        "{deadlines}"
    );
}

#[tokio::test]
async fn the_dashboard_flags_a_seat_free_while_learners_wait() {
    let app = TestApp::spawn().await;
    let (dir, db, clock, credentials) = app.stop().await;
    // A history the rules would never write: a capacity increase without the promotion.
    {
        let store = Arc::new(Store::open(&db, &StoreOptions::default()).expect("store opens"));
        let cohort = CohortId(Uuid::now_v7());
        let (ana, ben) = (LearnerId(Uuid::now_v7()), LearnerId(Uuid::now_v7()));
        let id = Uuid::now_v7();
        let meta = CommandMeta {
            actor: Actor::local(),
            command_id: id,
            correlation_id: id,
            causation_id: id,
        };
        let events = vec![
            Event::CohortCreated(CohortCreated {
                name: "Broken Cohort".to_owned(),
                course: "B-1".to_owned(),
                instructor: "Bo".to_owned(),
                capacity: Capacity::new(1).unwrap(),
                starts_at: ts(STARTS_AT),
                enrollment_deadline: ts(ENROLLMENT_DEADLINE),
                withdrawal_deadline: ts(WITHDRAWAL_DEADLINE),
                ends_at: None,
            }),
            Event::StudentEnrolled { learner: ana },
            Event::StudentWaitlisted {
                learner: ben,
                position: 1,
            },
            Event::CapacityChanged {
                from: Capacity::new(1).unwrap(),
                to: Capacity::new(3).unwrap(),
            },
        ];
        let batch = Batch {
            appends: vec![StreamAppend {
                cohort,
                expected_version: 0,
                events,
                occurred_at: ts(NOW),
                meta,
                idempotency: None,
            }],
            learners: vec![(
                ben,
                LearnerRecord {
                    key: "ben@example.org".to_owned(),
                    name: String::new(),
                },
            )],
            ..Batch::default()
        };
        store.commit(&batch, ts(NOW)).expect("committed");
    }
    let app = TestApp::spawn_on(db, clock, credentials).await;
    let (status, html) = page(&app, "/").await;
    assert_eq!(status, 200);
    let alert = between(
        &html,
        r#"<div class="notice error" role="alert">"#,
        "</div>",
    );
    assert!(
        alert.contains("A seat is free while learners wait"),
        "{alert}"
    );
    assert!(
        alert.contains("Broken Cohort</a>: 1 of 3 seats taken, 1 waiting"),
        "{alert}"
    );
    app.stop().await;
    drop(dir);
}

#[tokio::test]
async fn reports_are_linked_and_open_to_viewers_only_when_signed_in() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Linked", 2).await;
    let (_, html) = page(&app, "/").await;
    assert!(
        html.contains(r#"<a href="/reports/instructors">Reports</a>"#),
        "{html}"
    );
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    for path in [
        "/reports/instructors".to_owned(),
        "/reports/instructors.csv".to_owned(),
        "/reports/withdrawals".to_owned(),
        "/reports/withdrawals.csv".to_owned(),
        "/reports/seats".to_owned(),
        "/reports/seats.csv".to_owned(),
        format!("/cohorts/{id}/seats"),
        format!("/cohorts/{id}/seats.csv"),
        format!("/cohorts/{id}/roster.csv"),
    ] {
        let response = viewer.get(app.url(&path)).send().await.expect("GET");
        assert_eq!(response.status().as_u16(), 200, "viewer: {path}");
        let response = app
            .anonymous()
            .get(app.url(&path))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status().as_u16(), 303, "anonymous: {path}");
    }
    let (_, html) = page(&app, "/reports/withdrawals").await;
    assert!(html.contains("No withdrawals yet."), "{html}");
    assert!(
        html.contains(
            r#"<a href="/reports/withdrawals" aria-current="page">Recent withdrawals</a>"#
        ),
        "{html}"
    );
}

#[tokio::test]
async fn withdrawals_are_counted_and_filtered_by_reason_code() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Coded", 3).await;
    for l in ["a", "b", "c", "d", "e", "f", "g"] {
        app.enroll(&id, l).await;
    }
    for (learner, code) in [("a", "financial"), ("b", "financial"), ("c", "personal")] {
        let (status, body) = app
            .post_json(
                &format!("/api/v1/cohorts/{id}/withdrawals"),
                &json!({"learner": learner, "reason_code": code, "reason": "why"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // Leaving a waitlist has no code, and is not counted among seats given up.
    let (status, _) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/withdrawals"),
            &json!({"learner": "g"}),
        )
        .await;
    assert_eq!(status, 200);

    let (_, html) = page(&app, "/reports/withdrawals").await;
    let counts = between(&html, "Seats given up, by reason", "</table>");
    // Each cell after its opening tag (`<td data-label="…">`).
    let cells: Vec<&str> = counts
        .split("<td")
        .skip(1)
        .map(|cell| {
            let cell = &cell[cell.find('>').unwrap() + 1..];
            cell.split("</td>").next().unwrap()
        })
        .collect();
    assert_eq!(cells.len(), 5, "{counts}");
    // Schedule conflict, Financial, Personal, Transferred, Other.
    assert_eq!(cells[0], "0");
    assert!(
        cells[1].contains(">2</a>") && cells[1].contains("reason=financial"),
        "{counts}"
    );
    assert!(cells[2].contains(">1</a>"), "{counts}");
    assert_eq!((cells[3], cells[4]), ("0", "0"));

    let (status, html) = page(&app, "/reports/withdrawals?reason=financial").await;
    assert_eq!(status, 200);
    assert_eq!(withdrawn_learners(&html), ["b", "a"]);
    assert!(
        html.contains(r#"<option value="financial" selected>"#),
        "{html}"
    );
    // Under the date filter the counts are worked out from the matching withdrawals.
    let (_, html) = page(&app, "/reports/withdrawals?from=2026-03-02").await;
    let counts = between(&html, "Seats given up, by reason", "</table>");
    assert!(!counts.contains("</a>"), "none after that day: {counts}");

    let (status, html) = page(&app, "/reports/withdrawals?reason=moving").await;
    assert_eq!(status, 400);
    assert!(html.contains("reason: unknown reason code"), "{html}");
    let body = csv(
        &app,
        "/reports/withdrawals.csv?reason=personal",
        "withdrawals.csv",
    )
    .await;
    assert_eq!(body.lines().count(), 2, "{body}");
    assert!(body.contains(",student.withdrawn,personal,why,"), "{body}");
}
