//! The dashboard through real HTTP (issue 16 item 10): the phase filter (the status read with
//! the dates), sortable columns, the fill bar's words, times and card labels; and the
//! new-cohort form's duplicate warnings, suggestions and text time fields.

use serde_json::{Value, json};

use crate::helpers::*;

/// Creates a cohort through the API with `fields` over the usual body; returns its id.
async fn create(app: &TestApp, name: &str, capacity: u32, fields: &[(&str, &str)]) -> String {
    let mut body = cohort_body(name, capacity);
    for (field, value) in fields {
        body[*field] = Value::from(*value);
    }
    let (status, body) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// The cohort names of a dashboard page's list, in order.
fn listed(html: &str) -> Vec<String> {
    let Some(start) = html.find("<tbody>") else {
        return Vec::new();
    };
    let body = &html[start
        ..html[start..]
            .find("</tbody>")
            .map_or(html.len(), |e| start + e)];
    body.split(r#"<td data-label="Cohort"><a href="/cohorts/"#)
        .skip(1)
        .map(|cell| {
            let name = &cell[cell.find('>').expect("link") + 1..];
            name[..name.find("</a>").expect("end of link")].to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Phase filter
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_status_filter_reads_the_phase_not_the_stored_status() {
    let app = TestApp::spawn().await;
    // Taking enrollments until April.
    create(
        &app,
        "Taking Enrollments",
        2,
        &[
            ("enrollment_deadline", "2026-04-01T00:00:00Z"),
            ("starts_at", "2026-04-15T09:00:00Z"),
            ("withdrawal_deadline", "2026-04-20T00:00:00Z"),
        ],
    )
    .await;
    // Stored open, but its enrollment deadline (10 March) will have passed.
    create(&app, "Deadline Passed", 2, &[]).await;
    // Stored open, but its classes will have begun.
    create(
        &app,
        "Already Running",
        2,
        &[
            ("enrollment_deadline", "2026-03-05T00:00:00Z"),
            ("starts_at", "2026-03-11T09:00:00Z"),
            ("withdrawal_deadline", "2026-03-12T00:00:00Z"),
        ],
    )
    .await;
    let closed = create(
        &app,
        "Closed By Staff",
        2,
        &[
            ("enrollment_deadline", "2026-04-01T00:00:00Z"),
            ("starts_at", "2026-04-15T09:00:00Z"),
            ("withdrawal_deadline", "2026-04-20T00:00:00Z"),
        ],
    )
    .await;
    let (status, body) = app
        .post_json(&format!("/api/v1/cohorts/{closed}/close"), &json!(null))
        .await;
    assert_eq!(status, 200, "{body}");
    app.clock.set(ts("2026-03-11T12:00:00Z"));

    let cases: [(&str, &[&str]); 6] = [
        ("open", &["Taking Enrollments"]),
        ("enrollment_ended", &["Deadline Passed"]),
        ("running", &["Already Running"]),
        ("closed", &["Closed By Staff"]),
        ("cancelled", &[]),
        (
            "",
            &[
                "Closed By Staff",
                "Already Running",
                "Deadline Passed",
                "Taking Enrollments",
            ],
        ),
    ];
    for (phase, expected) in cases {
        let (status, html) = page(&app, &format!("/?status={phase}")).await;
        assert_eq!(status, 200, "{phase}: {html}");
        assert_eq!(listed(&html), expected, "status={phase}");
        if !phase.is_empty() {
            assert!(
                html.contains(&format!(r#"<option value="{phase}" selected>"#)),
                "{phase}: the filter shows what it filters by"
            );
        }
    }
    // The badge says the phase, the filter offers every phase by name.
    let (_, html) = page(&app, "/?status=enrollment_ended").await;
    assert!(
        html.contains(r#"<span class="status enrollment_ended">Enrollment ended</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"<option value="running">Running</option>"#));
    // The CSV download filters the same way and says the phase.
    let csv = app
        .get("/cohorts.csv?status=open")
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains(",Taking Enrollments,") && lines[1].contains(",open,open,"));
    // Paging links keep the phase.
    for i in 0..51 {
        create(&app, &format!("Later #{i:02}"), 1, &[]).await;
    }
    let (_, html) = page(&app, "/?status=enrollment_ended").await;
    assert!(html.contains("Showing 1–50 of 52 cohorts"), "{html}");
    assert!(
        html.contains(
            r#"<a href="/?instructor=&amp;status=enrollment_ended&amp;page=2">Older →</a>"#
        ),
        "{html}"
    );
}

// ---------------------------------------------------------------------------------------------
// New-cohort form
// ---------------------------------------------------------------------------------------------

/// A valid new-cohort form in the format pages show times, with `overrides` applied.
fn new_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("name", "Compilers in Practice"),
        ("course", "CC-301"),
        ("instructor", "Grace Hopper"),
        ("capacity", "12"),
        ("starts_at", "2026-04-15 09:00"),
        ("enrollment_deadline", "2026-04-08 23:59"),
        ("withdrawal_deadline", "2026-04-22 23:59"),
    ];
    for (field, value) in overrides {
        match form.iter_mut().find(|(f, _)| f == field) {
            Some(slot) => slot.1 = value,
            None => form.push((field, value)),
        }
    }
    form
}

async fn cohort_count(app: &TestApp) -> u64 {
    let (status, body) = app.get_json("/api/v1/cohorts").await;
    assert_eq!(status, 200, "{body}");
    body["total"].as_u64().expect("total")
}

#[tokio::test]
async fn a_cohort_named_like_an_existing_one_waits_for_create_it_anyway() {
    let app = TestApp::spawn().await;
    let existing = create(&app, "Rust in Practice", 3, &[]).await;

    // Same name in another case, with stray spaces: warned, not created.
    let typed = new_form(&[("name", "  rust IN   practice ")]);
    let (status, html) = text(app.post_form("/cohorts", &typed).await).await;
    assert_eq!(status, 422, "{html}");
    let warning = between(
        &html,
        r#"<div class="notice warn" role="alert" id="similar">"#,
        "</div>",
    );
    assert!(
        warning.contains(&format!(
            r#"A cohort with this name already exists: <a href="/cohorts/{existing}">Rust in Practice</a> (RUST-101), starts <time class="when" datetime="2026-03-15T09:00Z">2026-03-15 09:00 UTC</time> <small class="rel">in 2 weeks</small>."#
        )),
        "{warning}"
    );
    assert!(
        html.contains(r#"<input type="checkbox" id="create_anyway" name="create_anyway" value="yes"> <label for="create_anyway">Create it anyway</label>"#),
        "{html}"
    );
    // What was typed stays in the form.
    assert!(html.contains(r#"value="  rust IN   practice ""#), "{html}");
    assert!(html.contains(r#"value="2026-04-15 09:00""#), "{html}");
    assert!(
        !html.contains("field-error"),
        "a warning is not a field error: {html}"
    );
    assert_eq!(cohort_count(&app).await, 1);

    // Ticked: created.
    let anyway = new_form(&[("name", "Rust in Practice"), ("create_anyway", "yes")]);
    let response = app.post_form("/cohorts", &anyway).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(cohort_count(&app).await, 2);

    // Another name entirely: no warning, no checkbox.
    let response = app.post_form("/cohorts", &new_form(&[])).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(cohort_count(&app).await, 3);
}

#[tokio::test]
async fn an_instructor_spelled_in_another_case_is_warned_about() {
    let app = TestApp::spawn().await;
    create(&app, "Analytical Engines", 3, &[]).await; // taught by Ada Lovelace

    let typed = new_form(&[("instructor", "ada lovelace")]);
    let (status, html) = text(app.post_form("/cohorts", &typed).await).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("The instructor “ada lovelace” is on file as “Ada Lovelace”: use that spelling if it is the same person."),
        "{html}"
    );
    assert!(html.contains(r#"id="create_anyway""#), "{html}");
    assert_eq!(cohort_count(&app).await, 1);

    // The known spelling is no duplicate.
    let response = app
        .post_form("/cohorts", &new_form(&[("instructor", "Ada Lovelace")]))
        .await;
    assert_eq!(response.status().as_u16(), 303);
    // Ticked, the other spelling is kept as typed.
    let response = app
        .post_form(
            "/cohorts",
            &new_form(&[
                ("name", "Engines II"),
                ("instructor", "ada lovelace"),
                ("create_anyway", "yes"),
            ]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(cohort_count(&app).await, 3);
}

#[tokio::test]
async fn the_new_cohort_form_suggests_courses_and_instructors_and_reads_times_as_shown() {
    let app = TestApp::spawn().await;
    create(&app, "Analytical Engines", 3, &[]).await;
    create(
        &app,
        "Compilers",
        3,
        &[("instructor", "Grace Hopper"), ("course", "CC-301")],
    )
    .await;

    let (status, html) = page(&app, "/cohorts/new").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"list="course-list""#)
            && html.contains(r#"<datalist id="course-list"><option value="CC-301"><option value="RUST-101"></datalist>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"list="instructor-list""#)
            && html.contains(r#"<datalist id="instructor-list"><option value="Ada Lovelace"><option value="Grace Hopper"></datalist>"#),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/">Cancel</a>"#), "{html}");
    assert!(!html.contains("datetime-local"), "{html}");
    // Text fields in the format pages show, prefilled four weeks ahead (now: 2026-03-01 09:00).
    for (field, label, value) in [
        ("starts_at", "Starts", "2026-03-29 09:00"),
        (
            "enrollment_deadline",
            "Enrollment deadline",
            "2026-03-22 23:59",
        ),
        (
            "withdrawal_deadline",
            "Withdrawal deadline",
            "2026-04-05 23:59",
        ),
    ] {
        assert!(
            html.contains(&format!(
                r#"<label for="{field}">{label} (YYYY-MM-DD HH:MM, UTC)</label>"#
            )),
            "{field}: {html}"
        );
        let input = between(&html, &format!(r#"<input id="{field}""#), ">");
        assert!(
            input.contains(r#"type="text""#) && input.contains(&format!(r#"value="{value}""#)),
            "{field}: {input}"
        );
    }
    // The prefilled times are read back as they are shown.
    let response = app
        .post_form(
            "/cohorts",
            &new_form(&[
                ("starts_at", "2026-03-29 09:00"),
                ("enrollment_deadline", "2026-03-22 23:59"),
                ("withdrawal_deadline", "2026-04-05 23:59 UTC"),
            ]),
        )
        .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let id = &location["/cohorts/".len()..location.find('?').expect("done")];
    let created = app.cohort(id).await;
    assert_eq!(created["starts_at"], "2026-03-29T09:00:00Z", "{created}");
    assert_eq!(created["enrollment_deadline"], "2026-03-22T23:59:00Z");
    assert_eq!(created["withdrawal_deadline"], "2026-04-05T23:59:00Z");
}

// ---------------------------------------------------------------------------------------------
// Sorting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_columns_sort_on_the_server_and_the_sort_survives_filters_and_paging() {
    let app = TestApp::spawn().await;
    let later = [
        ("enrollment_deadline", "2026-04-01T00:00:00Z"),
        ("starts_at", "2026-04-15T09:00:00Z"),
        ("withdrawal_deadline", "2026-04-20T00:00:00Z"),
    ];
    let bravo = create(&app, "bravo", 2, &later).await; // 2 of 2 and 1 waiting
    let alpha = create(&app, "Alpha", 4, &[]).await; // 1 of 4
    let _charlie = create(&app, "Charlie", 10, &later).await; // empty
    for learner in ["a@x.org", "b@x.org", "c@x.org"] {
        app.enroll(&bravo, learner).await;
    }
    app.enroll(&alpha, "d@x.org").await;

    let order = |html: &str| listed(html).join(",");
    let (status, html) = page(&app, "/?sort=name&dir=asc").await;
    assert_eq!(status, 200);
    assert_eq!(order(&html), "Alpha,bravo,Charlie", "ignoring case");
    assert!(
        html.contains(r#"<th scope="col" aria-sort="ascending"><a href="/?instructor=&amp;status=&amp;sort=name&amp;dir=desc&amp;page=1">Cohort ▲</a></th>"#),
        "the sorted column says so and its link turns the order round: {html}"
    );
    assert_eq!(html.matches("aria-sort=").count(), 1, "{html}");
    assert!(html.contains("sorted by name, ascending"), "{html}");
    let (_, html) = page(&app, "/?sort=name&dir=desc").await;
    assert_eq!(order(&html), "Charlie,bravo,Alpha");
    // Fill and waitlist start from the largest; dates from the soonest.
    let (_, html) = page(&app, "/?sort=fill").await;
    assert_eq!(order(&html), "bravo,Alpha,Charlie");
    assert!(html.contains(r#"aria-sort="descending""#), "{html}");
    let (_, html) = page(&app, "/?sort=waitlist&dir=desc").await;
    assert_eq!(
        order(&html),
        "bravo,Charlie,Alpha",
        "ties stay newest first"
    );
    let (_, html) = page(&app, "/?sort=starts").await;
    assert_eq!(order(&html), "Alpha,Charlie,bravo");
    let (_, html) = page(&app, "/?sort=deadline&dir=desc").await;
    assert_eq!(order(&html), "Charlie,bravo,Alpha");

    // The header links keep the filters; the filter form keeps the sort.
    let (_, html) = page(&app, "/?status=open&sort=starts&dir=asc").await;
    assert!(
        html.contains(r#"<a href="/?instructor=&amp;status=open&amp;sort=fill&amp;dir=desc&amp;page=1">Seats used</a>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<input type="hidden" name="sort" value="starts"><input type="hidden" name="dir" value="asc">"#),
        "{html}"
    );

    // A bad sort or direction is explained on the page, which still lists (newest first).
    let (status, html) = page(&app, "/?sort=colour&dir=sideways").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(r#"<p class="notice error" role="alert">sort: must be one of name, starts, fill, waitlist, deadline; got &quot;colour&quot;; showing newest first. dir: must be asc or desc; got &quot;sideways&quot;</p>"#),
        "{html}"
    );
    assert_eq!(order(&html), "Charlie,Alpha,bravo");

    // Paging keeps the sort.
    for i in 0..50 {
        create(&app, &format!("Zulu {i:02}"), 1, &[]).await;
    }
    let (_, html) = page(&app, "/?sort=name&dir=asc").await;
    assert!(
        html.contains(
            r#"<a href="/?instructor=&amp;status=&amp;sort=name&amp;dir=asc&amp;page=2">Next →</a>"#
        ),
        "{html}"
    );
    let (_, html) = page(&app, "/?sort=name&dir=asc&page=2").await;
    assert_eq!(order(&html), "Zulu 47,Zulu 48,Zulu 49");
}

// ---------------------------------------------------------------------------------------------
// Fill bar, times and cards
// ---------------------------------------------------------------------------------------------

/// The dashboard row of the cohort `id`.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    let link = format!(r#"<td data-label="Cohort"><a href="/cohorts/{id}">"#);
    let at = html
        .find(&link)
        .unwrap_or_else(|| panic!("{id} not listed: {html}"));
    let start = html[..at].rfind("<tr>").expect("row start");
    &html[start..at + html[at..].find("</tr>").expect("row end")]
}

#[tokio::test]
async fn the_fill_bar_says_full_near_full_and_the_waitlist_in_words() {
    let app = TestApp::spawn().await;
    let full = create(&app, "Full Up", 2, &[]).await;
    let near = create(&app, "Nearly There", 10, &[]).await;
    let roomy = create(&app, "Plenty Of Room", 20, &[]).await;
    for learner in ["a@x.org", "b@x.org", "c@x.org"] {
        app.enroll(&full, learner).await;
    }
    for i in 0..9 {
        app.enroll(&near, &format!("n{i}@x.org")).await;
    }
    app.enroll(&roomy, "r@x.org").await;

    let (_, html) = page(&app, "/").await;
    assert!(
        row(&html, &full).contains(r#"<td data-label="Seats used" class="seats"><meter class="fill" min="0" max="100" low="90" high="99" optimum="0" value="100" aria-hidden="true"></meter> 2 / 2 <strong class="full">Full</strong> <span class="waiting">Waitlist 1</span></td>"#),
        "{}",
        row(&html, &full)
    );
    assert!(
        row(&html, &near).contains(r#"<meter class="fill" min="0" max="100" low="90" high="99" optimum="0" value="90" aria-hidden="true"></meter> 9 / 10 <span class="near-full">1 left</span></td>"#),
        "{}",
        row(&html, &near)
    );
    assert!(
        row(&html, &roomy).contains(r#"value="5" aria-hidden="true"></meter> 1 / 20</td>"#),
        "{}",
        row(&html, &roomy)
    );
}

#[tokio::test]
async fn the_list_shows_times_with_how_far_off_they_are_and_labels_every_cell() {
    let app = TestApp::spawn().await;
    let id = create(&app, "Labelled", 2, &[]).await;
    let (_, html) = page(&app, "/").await;
    let row = row(&html, &id);
    // Name first, then phase, seats and the start: the card order on a phone.
    let labels: Vec<&str> = row
        .match_indices(r#"<td data-label=""#)
        .map(|(i, m)| {
            let from = i + m.len();
            &row[from..from + row[from..].find('"').expect("closed")]
        })
        .collect();
    assert_eq!(
        labels,
        [
            "Cohort",
            "Phase",
            "Seats used",
            "Starts",
            "Waitlist",
            "Enrollment deadline",
            "Withdrawal deadline",
            "Instructor"
        ]
    );
    assert_eq!(
        row.matches("<td").count(),
        labels.len(),
        "every cell labelled: {row}"
    );
    assert!(
        row.contains(r#"<td data-label="Starts"><time class="when" datetime="2026-03-15T09:00Z">2026-03-15 09:00 UTC</time> <small class="rel">in 2 weeks</small></td>"#),
        "{row}"
    );
    assert!(
        row.contains(r#"<td data-label="Enrollment deadline"><time class="when" datetime="2026-03-10T00:00Z">2026-03-10 00:00 UTC</time> <small class="rel">in 8 days</small></td>"#),
        "{row}"
    );
}

#[tokio::test]
async fn a_renamed_cohort_is_warned_about_under_its_new_name_only() {
    let app = TestApp::spawn().await;
    let id = create(&app, "Old Name", 3, &[]).await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/details"),
            &json!({"name": "Fresh Name", "course": "NEW-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, html) = text(
        app.post_form("/cohorts", &new_form(&[("name", "fresh name")]))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains(&format!(
            r#"<a href="/cohorts/{id}">Fresh Name</a> (NEW-1)"#
        )),
        "{html}"
    );
    let response = app
        .post_form("/cohorts", &new_form(&[("name", "old name")]))
        .await;
    assert_eq!(
        response.status().as_u16(),
        303,
        "the old name is free again"
    );
    // The renamed course joins the suggestions.
    let (_, html) = page(&app, "/cohorts/new").await;
    assert!(html.contains(r#"<option value="NEW-1">"#), "{html}");
}

// ---------------------------------------------------------------------------------------------
// Phone width
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn on_a_phone_the_list_comes_before_the_panels_and_on_a_desktop_after() {
    let app = TestApp::spawn().await;
    let id = create(&app, "Nearly Full Cohort", 1, &[]).await;
    app.enroll(&id, "a@x.org").await; // a signal: nearly full
    let (_, html) = page(&app, "/").await;
    // In reading order (and on a desktop) the panels come first...
    let panels = html.find(r#"<div class="dash-panels">"#).expect("panels");
    let signals = html
        .find(r#"<section aria-labelledby="signals-h""#)
        .expect("signals");
    let list = html.find(r#"<table class="cohort-list">"#).expect("list");
    assert!(html.find(r#"<div class="dashboard">"#).expect("wrapper") < panels);
    assert!(panels < signals && signals < list, "{html}");
    // ...and below 40rem the stylesheet moves them under the list.
    let css = app.get("/static/style.css").await.text().await.unwrap();
    let phone = css
        .match_indices("@media (max-width: 40rem) {")
        .map(|(i, _)| &css[i..i + css[i..].find("\n}").expect("block end")])
        .find(|block| block.contains(".dashboard"))
        .expect("a phone block for the dashboard");
    assert!(
        phone.contains(".dashboard { display: flex; flex-direction: column; }")
            && phone.contains(".dashboard > .dash-panels { order: 1; }"),
        "{phone}"
    );
}
