//! The server-rendered pages and their forms through real HTTP: dashboard, new-cohort form,
//! cohort page commands (Post/Redirect/Get and 422 re-renders), history, time travel, learner
//! pages, static assets, error pages and HTML escaping.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The `Location` of a redirect, asserting it is a 303.
fn see_other(response: &reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 303, "expected a 303 See Other");
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("Location header")
        .to_str()
        .expect("ASCII Location")
        .to_owned()
}

/// Number of cohorts the API lists.
async fn cohort_total(app: &TestApp) -> u64 {
    let (status, body) = app.get_json("/api/v1/cohorts").await;
    assert_eq!(status, 200, "{body}");
    body["total"].as_u64().expect("total")
}

/// A valid create-cohort form (browser `datetime-local` times), with `overrides` applied.
fn cohort_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("name", "Rust in Practice"),
        ("course", "RUST-201"),
        ("instructor", "Ada Lovelace"),
        ("capacity", "2"),
        ("starts_at", "2026-03-15T09:00"),
        ("enrollment_deadline", "2026-03-10T00:00"),
        ("withdrawal_deadline", "2026-03-20T00:00"),
    ];
    for (field, value) in overrides {
        let slot = form
            .iter_mut()
            .find(|(f, _)| f == field)
            .expect("known field");
        slot.1 = value;
    }
    form
}

/// Creates a cohort through the API with a given instructor.
async fn create_with_instructor(app: &TestApp, name: &str, instructor: &str) -> String {
    let mut body = cohort_body(name, 2);
    body["instructor"] = Value::from(instructor);
    let (status, body) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// Where the page comes back to after a cohort-page command: a form whose first field takes the
/// focus gets no fragment (browsers skip `autofocus` on a page opened at one); the others are
/// scrolled to by their anchor.
fn fragment_of(command: &str) -> String {
    match command {
        "leave-waitlist" => "#waitlist-h".to_owned(),
        "promote" | "close" => format!("#{command}"),
        _ => String::new(),
    }
}

/// Posts a cohort-page command, asserts it redirected to the cohort with `done` = the range of
/// new positions and the form used (focus and scroll return to it), and returns the page it
/// redirects to.
async fn command_ok(app: &TestApp, id: &str, command: &str, form: &[(&str, &str)]) -> String {
    let before = head(app).await;
    let response = app
        .post_form(&format!("/cohorts/{id}/{command}"), form)
        .await;
    let location = see_other(&response);
    let after = head(app).await;
    assert!(after > before, "{command} wrote no event");
    assert_eq!(
        location,
        format!(
            "/cohorts/{id}?done={}-{after}&form={command}{}",
            before + 1,
            fragment_of(command)
        ),
        "{command}"
    );
    let (status, html) = page(app, &location).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"role="status" id="done">"#), "{html}");
    html
}

/// Posts a cohort-page command that a rule refuses: asserts it redirected (Post/Redirect/Get)
/// to the cohort page at the form, that nothing was written, and returns the page the redirect
/// leads to (the refusal shown once, beside its form).
async fn command_refused(app: &TestApp, id: &str, command: &str, form: &[(&str, &str)]) -> String {
    let before = head(app).await;
    let response = app
        .post_form(&format!("/cohorts/{id}/{command}"), form)
        .await;
    let location = see_other(&response);
    assert!(
        location.starts_with(&format!("/cohorts/{id}?refused="))
            && location.ends_with(&fragment_of(command))
            && location.contains('#') != fragment_of(command).is_empty(),
        "{command}: {location}"
    );
    assert_eq!(
        head(app).await,
        before,
        "a refused {command} wrote an event"
    );
    let (status, html) = page(app, &location).await;
    assert_eq!(status, 200, "{command}: {html}");
    assert!(html.contains("<strong>Not done:</strong>"), "{html}");
    assert!(!html.contains(r#"id="done""#), "{html}");
    html
}

/// The roster section of a cohort page.
fn roster(html: &str) -> &str {
    between(html, r#"id="roster-h""#, r#"id="waitlist-h""#)
}

/// The waitlist section of a cohort page.
fn waitlist(html: &str) -> &str {
    between(html, r#"id="waitlist-h""#, "</section>")
}

/// One command form of a cohort page, by its `id`.
fn form<'a>(html: &'a str, id: &str) -> &'a str {
    between(html, &format!(r#"id="{id}">"#), "</form>")
}

/// A learner's link as rosters and waitlists show it.
fn learner_link(key: &str) -> String {
    format!(
        r#"<a href="/learners/{}">{key}</a>"#,
        key.replace('@', "%40")
    )
}

/// Every `<input>` tag of a page.
fn inputs(html: &str) -> Vec<&str> {
    html.match_indices("<input")
        .map(|(i, _)| {
            let tag = &html[i..];
            &tag[..=tag.find('>').expect("closed tag")]
        })
        .collect()
}

/// The value of `attribute` in a tag.
fn attribute<'a>(tag: &'a str, attribute: &str) -> Option<&'a str> {
    let needle = format!(r#" {attribute}=""#);
    let from = tag.find(&needle)? + needle.len();
    Some(&tag[from..from + tag[from..].find('"')?])
}

/// Asserts every visible input of the page has an id and a `<label for=` naming it.
fn assert_inputs_labelled(html: &str) {
    let visible: Vec<&str> = inputs(html)
        .into_iter()
        .filter(|tag| attribute(tag, "type") != Some("hidden"))
        .collect();
    assert!(!visible.is_empty(), "no inputs in:\n{html}");
    for tag in visible {
        let id = attribute(tag, "id").unwrap_or_else(|| panic!("input without id: {tag}"));
        assert!(
            html.contains(&format!(r#"<label for="{id}">"#)),
            "no label for {tag}"
        );
    }
    // Labels only work when ids are unique.
    let mut ids: Vec<&str> = html
        .match_indices(" id=\"")
        .map(|(i, _)| {
            let from = i + r#" id=""#.len();
            &html[from..from + html[from..].find('"').expect("closed attribute")]
        })
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "duplicate ids in:\n{html}");
}

/// The cohort id and `done` position of a create redirect `/cohorts/<uuid>?done=<n>-<n>`.
fn parse_created(location: &str) -> (String, u64) {
    let rest = location
        .strip_prefix("/cohorts/")
        .expect("/cohorts/ prefix");
    let (id, done) = rest.split_once("?done=").expect("?done=");
    let id = Uuid::parse_str(id)
        .expect("cohort id is a UUID")
        .to_string();
    let (first, last) = done.split_once('-').expect("done is a range");
    assert_eq!(first, last, "a create writes one event");
    (id, first.parse().expect("done is a position"))
}

/// Creates a cohort through the form; returns its id.
async fn create_by_form(app: &TestApp, overrides: &[(&str, &str)]) -> String {
    let response = app.post_form("/cohorts", &cohort_form(overrides)).await;
    parse_created(&see_other(&response)).0
}

// ---------------------------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_dashboard_starts_empty_and_invites_a_first_cohort() {
    let app = TestApp::spawn().await;
    let response = app.get("/").await;
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let (status, html) = text(response).await;
    assert_eq!(status, 200);
    assert!(html.contains("No cohorts yet."), "{html}");
    assert!(html.contains(r#"<a class="button" href="/cohorts/new">Create a cohort</a>"#));
    assert!(!html.contains("<table>"), "{html}");
}

#[tokio::test]
async fn the_dashboard_lists_cohorts_and_filters_by_instructor() {
    let app = TestApp::spawn().await;
    let ada = create_with_instructor(&app, "Systems Spring", "Ada Lovelace").await;
    let grace = create_with_instructor(&app, "Compilers Autumn", "Grace Hopper").await;

    let (status, html) = page(&app, "/").await;
    assert_eq!(status, 200);
    assert!(!html.contains("No cohorts yet."));
    assert!(
        html.contains(&format!(r#"<a href="/cohorts/{ada}">Systems Spring</a>"#)),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"<a href="/cohorts/{grace}">Compilers Autumn</a>"#
        )),
        "{html}"
    );
    assert!(
        html.contains("Showing 1–2 of 2 cohorts, newest first"),
        "{html}"
    );
    // Newest first.
    assert!(html.find("Compilers Autumn").unwrap() < html.find("Systems Spring").unwrap());
    // Both instructors are offered in the filter.
    assert!(
        html.contains("<option>Ada Lovelace</option>")
            && html.contains("<option>Grace Hopper</option>")
    );

    // The filter matches the instructor case-insensitively and marks it selected.
    let (status, html) = page(&app, "/?instructor=grace+hopper").await;
    assert_eq!(status, 200);
    assert!(html.contains("Compilers Autumn"), "{html}");
    assert!(!html.contains("Systems Spring"), "{html}");
    assert!(
        html.contains("<option selected>Grace Hopper</option>"),
        "{html}"
    );
    assert!(html.contains("Showing 1–1 of 1 cohorts"), "{html}");

    let (status, html) = page(&app, "/?instructor=Nobody").await;
    assert_eq!(status, 200);
    assert!(html.contains("No cohort matches these filters."), "{html}");
    assert!(!html.contains("Systems Spring") && !html.contains("Compilers Autumn"));
}

#[tokio::test]
async fn the_dashboard_filters_by_status() {
    let app = TestApp::spawn().await;
    let open = app.create_cohort("Still Open Cohort", 2).await;
    let closed = app.create_cohort("Soon Closed Cohort", 2).await;
    let response = app
        .post_form(&format!("/cohorts/{closed}/close"), &[])
        .await;
    assert!(see_other(&response).starts_with(&format!("/cohorts/{closed}?done=")));

    let (status, html) = page(&app, "/?status=closed").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(
            r#"<a href="/cohorts/{closed}">Soon Closed Cohort</a>"#
        )),
        "{html}"
    );
    assert!(!html.contains("Still Open Cohort"), "{html}");
    assert!(html.contains(r#"<span class="status closed">Closed</span>"#));
    assert!(
        html.contains(r#"<option value="closed" selected>Closed</option>"#),
        "{html}"
    );

    let (status, html) = page(&app, "/?status=open").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(
            r#"<a href="/cohorts/{open}">Still Open Cohort</a>"#
        )),
        "{html}"
    );
    assert!(!html.contains("Soon Closed Cohort"), "{html}");
    assert!(!html.contains(r#"<span class="status closed">"#));

    let (status, html) = page(&app, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("Still Open Cohort") && html.contains("Soon Closed Cohort"));
}

#[tokio::test]
async fn an_unknown_status_filter_is_explained_on_a_200_page() {
    let app = TestApp::spawn().await;
    app.create_cohort("Listed Anyway", 2).await;
    let (status, html) = page(&app, "/?status=bogus").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(
            r#"<p class="notice error" role="alert">status: must be one of open, enrollment_ended, closed, running, finished, cancelled; got &quot;bogus&quot;</p>"#
        ),
        "{html}"
    );
    assert!(html.contains("Listed Anyway"), "{html}");
    // And a valid filter shows no such message.
    let (_, html) = page(&app, "/?status=open").await;
    assert!(!html.contains("notice error"), "{html}");
}

#[tokio::test]
async fn the_dashboard_pages_through_many_cohorts() {
    let app = TestApp::spawn().await;
    for i in 0..51 {
        app.create_cohort(&format!("Batch cohort #{i:02}"), 1).await;
    }
    let (status, html) = page(&app, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("Showing 1–50 of 51 cohorts"), "{html}");
    assert!(html.contains("Batch cohort #50") && !html.contains("Batch cohort #00"));
    assert!(
        html.contains(r#"<a href="/?instructor=&amp;status=&amp;page=2">Older →</a>"#),
        "{html}"
    );
    assert!(!html.contains("← Newer"));

    let (status, html) = page(&app, "/?page=2").await;
    assert_eq!(status, 200);
    assert!(html.contains("Showing 51–51 of 51 cohorts"), "{html}");
    assert!(html.contains("Batch cohort #00") && !html.contains("Batch cohort #01"));
    assert!(
        html.contains(r#"<a href="/?instructor=&amp;status=&amp;page=1">← Newer</a>"#),
        "{html}"
    );
    assert!(!html.contains("Older →"));
}

// ---------------------------------------------------------------------------------------------
// New cohort form
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_new_cohort_form_labels_every_input() {
    let app = TestApp::spawn().await;
    let (status, html) = page(&app, "/cohorts/new").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<form class="stack" method="post" action="/cohorts">"#),
        "{html}"
    );
    // The form's own inputs (every page also has the navigation's search box).
    let names: Vec<&str> = inputs(between(&html, r#"<form class="stack""#, "</form>"))
        .iter()
        .filter(|tag| attribute(tag, "type") != Some("hidden"))
        .filter_map(|tag| attribute(tag, "name"))
        .collect();
    assert_eq!(
        names,
        [
            "name",
            "course",
            "instructor",
            "capacity",
            "starts_at",
            "enrollment_deadline",
            "withdrawal_deadline",
            "ends_at",
            "promotion",
            "promotion",
            "offer_hold",
            "waitlist_cap"
        ]
    );
    assert_inputs_labelled(&html);
    assert!(!html.contains("The cohort was not created"));
    assert!(!html.contains("field-error"));
}

#[tokio::test]
async fn creating_a_cohort_redirects_to_it_and_confirms() {
    let app = TestApp::spawn().await;
    let response = app
        .post_form(
            "/cohorts",
            &cohort_form(&[("name", "Rust in Practice — spring")]),
        )
        .await;
    let location = see_other(&response);
    let (id, done) = parse_created(&location);
    assert_eq!(location, format!("/cohorts/{id}?done={done}-{done}"));
    assert_eq!(done, head(&app).await);
    assert_eq!(cohort_total(&app).await, 1);

    let (status, html) = page(&app, &location).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<h1>Rust in Practice — spring</h1>"),
        "{html}"
    );
    assert!(html.contains("<strong>Recorded.</strong>"), "{html}");
    assert!(
        html.contains("<li><small><code>cohort.created</code> · seats 0 → 2</small></li>"),
        "{html}"
    );
    assert!(html.contains("RUST-201 · taught by Ada Lovelace"));
    // The datetime-local values were read as UTC.
    assert!(
        html.contains("<dt>Starts</dt><dd><time class=\"when\" datetime=\"2026-03-15T09:00Z\">2026-03-15 09:00 UTC</time>"),
        "{html}"
    );
    assert!(html.contains("<dt>Enrollment deadline</dt><dd><time class=\"when\" datetime=\"2026-03-10T00:00Z\">2026-03-10 00:00 UTC</time>"));
    assert!(html.contains("<dt>Withdrawal deadline</dt><dd><time class=\"when\" datetime=\"2026-03-20T00:00Z\">2026-03-20 00:00 UTC</time>"));
    assert!(html.contains("<dd>0 of 2 taken · 2 free</dd>"), "{html}");

    // Without `done`, no confirmation.
    let (_, html) = page(&app, &format!("/cohorts/{id}")).await;
    assert!(!html.contains("Recorded."));
    // RFC 3339 times work as well.
    let response = app
        .post_form(
            "/cohorts",
            &cohort_form(&[
                ("starts_at", "2026-03-15T10:00:00+01:00"),
                ("enrollment_deadline", "2026-03-10T00:00:00Z"),
            ]),
        )
        .await;
    let (second, _) = parse_created(&see_other(&response));
    let (_, html) = page(&app, &format!("/cohorts/{second}")).await;
    assert!(
        html.contains("<dt>Starts</dt><dd><time class=\"when\" datetime=\"2026-03-15T09:00Z\">2026-03-15 09:00 UTC</time>"),
        "{html}"
    );
}

#[tokio::test]
async fn bad_cohort_fields_are_shown_again_with_their_messages() {
    let app = TestApp::spawn().await;
    let typed = cohort_form(&[
        ("name", "   "),
        ("course", "RUST-999"),
        ("capacity", "abc"),
        ("starts_at", "next tuesday"),
    ]);
    let (status, html) = text(app.post_form("/cohorts", &typed).await).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("The cohort was not created: please correct the fields marked below."),
        "{html}"
    );
    let name_field = between(&html, r#"<label for="name">"#, r#"<label for="course">"#);
    assert!(
        name_field.contains(r#"<p class="field-error" role="alert">is required</p>"#),
        "{html}"
    );
    let capacity_field = between(
        &html,
        r#"<label for="capacity">"#,
        r#"<label for="starts_at">"#,
    );
    assert!(capacity_field.contains(r#"value="abc""#), "{html}");
    assert!(
        capacity_field.contains("must be a whole number of seats, e.g. 30"),
        "{html}"
    );
    let starts_field = between(
        &html,
        r#"<label for="starts_at">"#,
        r#"<label for="enrollment_deadline">"#,
    );
    assert!(starts_field.contains(r#"value="next tuesday""#), "{html}");
    assert!(
        starts_field.contains(
            "&quot;next tuesday&quot; is not a date and time; write it as pages show times, e.g. 2026-03-01 09:00 (UTC)"
        ),
        "{html}"
    );
    // The fields that were fine keep their values and carry no message.
    let course_field = between(
        &html,
        r#"<label for="course">"#,
        r#"<label for="instructor">"#,
    );
    assert!(course_field.contains(r#"value="RUST-999""#) && !course_field.contains("field-error"));
    assert!(html.contains(r#"value="Ada Lovelace""#));
    assert!(
        html.contains(r#"value="2026-03-10T00:00""#)
            && html.contains(r#"value="2026-03-20T00:00""#)
    );
    assert_inputs_labelled(&html);

    let (status, html) = text(
        app.post_form("/cohorts", &cohort_form(&[("capacity", "0")]))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("capacity must be at least 1"), "{html}");
    assert!(html.contains(r#"value="0""#), "{html}");

    let (status, html) = text(
        app.post_form("/cohorts", &cohort_form(&[("enrollment_deadline", "")]))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{html}");
    let deadline_field = between(
        &html,
        r#"<label for="enrollment_deadline">"#,
        r#"<label for="withdrawal_deadline">"#,
    );
    assert!(deadline_field.contains("is required"), "{html}");

    assert_eq!(cohort_total(&app).await, 0);
    assert_eq!(head(&app).await, 0);
}

#[tokio::test]
async fn a_withdrawal_deadline_before_the_enrollment_deadline_is_refused() {
    let app = TestApp::spawn().await;
    let typed = cohort_form(&[("withdrawal_deadline", "2026-03-05T00:00")]);
    let (status, html) = text(app.post_form("/cohorts", &typed).await).await;
    assert_eq!(status, 422, "{html}");
    let field = between(&html, r#"<label for="withdrawal_deadline">"#, "</form>");
    assert!(
        field.contains(
            "the withdrawal deadline 2026-03-05 00:00 UTC is before the enrollment deadline 2026-03-10 00:00 UTC"
        ),
        "{html}"
    );
    assert!(field.contains(r#"value="2026-03-05T00:00""#), "{html}");
    assert!(html.contains(r#"value="Rust in Practice""#));
    assert_eq!(cohort_total(&app).await, 0);
    assert_eq!(head(&app).await, 0);
}

// ---------------------------------------------------------------------------------------------
// Cohort page commands
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_cohort_page_labels_its_forms() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Labelled", 2).await;
    app.enroll(&id, "ana@example.org").await;
    let (status, html) = page(&app, &format!("/cohorts/{id}")).await;
    assert_eq!(status, 200);
    for command in ["enroll", "withdraw", "capacity"] {
        assert!(
            html.contains(&format!(r#"action="/cohorts/{id}/{command}""#)),
            "{command}: {html}"
        );
    }
    // Closing and withdrawing are confirmed on a page of their own: links here.
    assert!(
        html.contains(&format!(
            r#"href="/cohorts/{id}/close">Close enrollment…</a>"#
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"<a href="/cohorts/{id}/withdraw?learner=ana%40example.org" aria-label="Withdraw ana@example.org…">Withdraw…</a>"#
        )),
        "{html}"
    );
    // Promotion is automatic: the manual form shows only when a seat is free while learners
    // wait, which the rules never allow on an open cohort.
    assert!(
        !html.contains(&format!(r#"action="/cohorts/{id}/promote""#)),
        "{html}"
    );
    assert!(html.contains("promoted automatically, in order"), "{html}");
    assert_inputs_labelled(&html);
    assert!(html.contains(&format!(
        r#"<a href="/cohorts/{id}/history">Full history</a>"#
    )));
}

#[tokio::test]
async fn enrolling_fills_the_roster_then_the_waitlist() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Small Room", 2).await;

    let html = command_ok(
        &app,
        &id,
        "enroll",
        &[("learner", "Ana@Example.org"), ("name", "Ana Silva")],
    )
    .await;
    assert!(
        html.contains(
            "<li><small><code>student.enrolled</code> ana@example.org · enrolled 0 → 1</small></li>"
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<div class="notice ok" role="status" id="done"><strong>Ana Silva is enrolled — 1 of 2 seats taken.</strong>"#),
        "{html}"
    );
    let enrolled = roster(&html);
    assert!(enrolled.contains("Enrolled (1)"), "{html}");
    assert!(
        enrolled.contains(&learner_link("ana@example.org")),
        "{html}"
    );
    assert!(enrolled.contains("<small>Ana Silva</small>"), "{html}");
    assert!(html.contains("<dd>1 of 2 taken · 1 free</dd>"));

    let html = command_ok(&app, &id, "enroll", &[("learner", "ben@example.org")]).await;
    assert!(roster(&html).contains(&learner_link("ben@example.org")));
    assert!(waitlist(&html).contains("Nobody is waiting."));

    let html = command_ok(&app, &id, "enroll", &[("learner", "cy@example.org")]).await;
    assert!(
        html.contains("<li><small><code>student.waitlisted</code> cy@example.org · waitlist 0 → 1</small></li>"),
        "{html}"
    );
    let waiting = waitlist(&html);
    assert!(waiting.contains("Waitlist (1)"), "{html}");
    assert!(waiting.contains(&learner_link("cy@example.org")), "{html}");
    assert!(
        waiting.contains(&format!(
            r#"<a href="/cohorts/{id}/leave-waitlist?learner=cy%40example.org" aria-label="Remove cy@example.org from the waitlist…">Remove…</a>"#
        )),
        "{html}"
    );
    assert!(
        html.contains(r#"<div class="notice warn" role="status" id="done"><strong>Cohort full — cy@example.org joined the waitlist at place 1.</strong>"#),
        "a waitlisting is amber and says so: {html}"
    );
    assert!(!roster(&html).contains("cy@example.org"), "{html}");
    assert!(html.contains("<dd>2 of 2 taken · 0 free</dd>"));

    let cohort = app.cohort(&id).await;
    assert_eq!(
        keys(&cohort, "enrolled"),
        ["ana@example.org", "ben@example.org"]
    );
    assert_eq!(keys(&cohort, "waitlist"), ["cy@example.org"]);
}

#[tokio::test]
async fn withdrawing_promotes_the_head_of_the_waitlist() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Full Room", 2).await;
    for learner in ["ana@example.org", "ben@example.org", "cy@example.org"] {
        app.enroll(&id, learner).await;
    }
    let html = command_ok(
        &app,
        &id,
        "withdraw",
        &[
            ("learner", "ana@example.org"),
            ("reason_code", "personal"),
            ("reason", "moved away"),
        ],
    )
    .await;
    let done = between(&html, r#"id="done">"#, "</div>");
    assert!(
        done.contains(
            "<strong>ana@example.org withdrew — cy@example.org was promoted from the waitlist.</strong>"
        ),
        "{html}"
    );
    assert!(
        done.contains("<code>student.withdrawn</code> ana@example.org · enrolled 2 → 1"),
        "{html}"
    );
    assert!(
        done.contains(
            "<code>waitlist.promoted</code> cy@example.org · enrolled 1 → 2 · waitlist 1 → 0"
        ),
        "{html}"
    );
    let enrolled = roster(&html);
    assert!(enrolled.contains(&learner_link("cy@example.org")), "{html}");
    assert!(!enrolled.contains("ana@example.org"), "{html}");
    assert!(waitlist(&html).contains("Nobody is waiting."), "{html}");
    assert!(html.contains("reason: Personal — moved away"), "{html}");
}

#[tokio::test]
async fn withdrawing_a_waitlisted_learner_and_leaving_the_waitlist() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("One Seat", 1).await;
    for learner in ["ana@example.org", "ben@example.org", "cy@example.org"] {
        app.enroll(&id, learner).await;
    }
    let html = command_ok(
        &app,
        &id,
        "leave-waitlist",
        &[("learner", "ben@example.org")],
    )
    .await;
    assert!(
        html.contains("<code>waitlist.left</code> ben@example.org · waitlist 2 → 1"),
        "{html}"
    );
    let waiting = waitlist(&html);
    assert!(!waiting.contains("ben@example.org"), "{html}");
    assert!(waiting.contains(&learner_link("cy@example.org")), "{html}");
    // cy moved up to place 1 and the page says where they joined.
    assert!(
        waiting.contains(r#"<td data-label="Place">1 <small>(joined at place 2)</small></td>"#),
        "{html}"
    );

    // The withdraw form takes a waitlisted learner off the waitlist too.
    let html = command_ok(
        &app,
        &id,
        "withdraw",
        &[("learner", "cy@example.org"), ("reason_code", "personal")],
    )
    .await;
    assert!(
        html.contains("<code>waitlist.left</code> cy@example.org"),
        "{html}"
    );
    assert!(waitlist(&html).contains("Nobody is waiting."), "{html}");
    assert!(roster(&html).contains(&learner_link("ana@example.org")));
}

#[tokio::test]
async fn changing_capacity_updates_seats_and_promotes() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Growing", 2).await;
    for learner in ["ana@example.org", "ben@example.org", "cy@example.org"] {
        app.enroll(&id, learner).await;
    }
    let html = command_ok(&app, &id, "capacity", &[("capacity", "3")]).await;
    let done = between(&html, r#"id="done">"#, "</div>");
    assert!(
        done.contains("<code>cohort.capacity_changed</code> · seats 2 → 3"),
        "{html}"
    );
    assert!(
        done.contains("<code>waitlist.promoted</code> cy@example.org"),
        "{html}"
    );
    assert!(html.contains("<dd>3 of 3 taken · 0 free</dd>"), "{html}");
    assert!(roster(&html).contains(&learner_link("cy@example.org")));
    assert!(form(&html, "capacity").contains(r#"value="3""#), "{html}");

    let html = command_ok(&app, &id, "capacity", &[("capacity", " 5 ")]).await;
    assert!(html.contains("seats 3 → 5"), "{html}");
    assert!(html.contains("<dd>3 of 5 taken · 2 free</dd>"), "{html}");
}

#[tokio::test]
async fn closing_enrollment_shows_the_cohort_closed() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Closing", 2).await;
    let html = command_ok(&app, &id, "close", &[]).await;
    assert!(
        html.contains(
            "<li><small><code>enrollment.closed</code> · enrollment open → closed</small></li>"
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="status closed">Closed</span>"#),
        "{html}"
    );
    assert!(
        html.contains(
            "<strong>Enrollment closed — nobody can enroll until it is reopened.</strong>"
        ),
        "{html}"
    );
    assert_eq!(app.cohort(&id).await["status"], "closed");
}

// ---------------------------------------------------------------------------------------------
// Cohort page rule errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn enrolling_twice_is_refused_beside_the_enroll_form() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Twice", 2).await;
    app.enroll(&id, "ana@example.org").await;
    let html = command_refused(
        &app,
        &id,
        "enroll",
        &[("learner", " ANA@example.org "), ("name", "Ana Again")],
    )
    .await;
    let enroll = form(&html, "enroll");
    assert!(
        enroll.contains(
            r#"<p class="field-error" role="alert">ana@example.org is already enrolled</p>"#
        ),
        "{html}"
    );
    assert!(enroll.contains(r#"value=" ANA@example.org ""#), "{html}");
    assert!(enroll.contains(r#"value="Ana Again""#), "{html}");
    // The message is beside the enroll form only.
    assert_eq!(html.matches("field-error").count(), 1, "{html}");
    // The page is the current cohort, with its roster.
    assert!(roster(&html).contains(&learner_link("ana@example.org")));
}

/// A refused form's values come back in that form only: the key of a refused enrollment is not
/// one click from being withdrawn, and a refused withdrawal does not fill the enroll form.
#[tokio::test]
async fn a_refused_form_fills_only_itself() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Own Values", 2).await;
    app.enroll(&id, "ana@example.org").await;
    let html = command_refused(&app, &id, "enroll", &[("learner", "ana@example.org")]).await;
    assert!(
        form(&html, "enroll").contains(r#"value="ana@example.org""#),
        "{html}"
    );
    assert!(
        form(&html, "withdraw").contains(r#"id="withdraw-learner" name="learner" value="""#),
        "{html}"
    );
    let html = command_refused(
        &app,
        &id,
        "withdraw",
        &[("learner", "zed@example.org"), ("reason", "moved")],
    )
    .await;
    assert!(
        form(&html, "withdraw").contains(r#"value="zed@example.org""#),
        "{html}"
    );
    assert!(
        form(&html, "enroll").contains(r#"id="enroll-learner" name="learner" value="""#),
        "{html}"
    );
}

#[tokio::test]
async fn enrolling_a_waitlisted_learner_again_names_their_place() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Waiting Twice", 1).await;
    app.enroll(&id, "ana@example.org").await;
    app.enroll(&id, "ben@example.org").await;
    let html = command_refused(&app, &id, "enroll", &[("learner", "ben@example.org")]).await;
    assert!(
        form(&html, "enroll").contains("ben@example.org is already waitlisted, at place 1 of 1"),
        "{html}"
    );
}

#[tokio::test]
async fn enrolling_after_the_deadline_is_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Late", 2).await;
    app.clock.set(ts("2026-03-10T00:01:00Z"));
    let html = command_refused(&app, &id, "enroll", &[("learner", "late@example.org")]).await;
    let enroll = form(&html, "enroll");
    assert!(
        enroll.contains("enrollment deadline 2026-03-10 00:00 UTC passed at 2026-03-10 00:01 UTC"),
        "{html}"
    );
    assert!(enroll.contains(r#"value="late@example.org""#), "{html}");
    assert!(roster(&html).contains("Nobody is enrolled yet."));
}

#[tokio::test]
async fn a_bad_learner_key_is_refused_before_the_writer() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Keys", 2).await;
    let html = command_refused(&app, &id, "enroll", &[("learner", "   ")]).await;
    assert!(
        form(&html, "enroll").contains("learner is required (an email or a student number)"),
        "{html}"
    );
    let html = command_refused(&app, &id, "enroll", &[("learner", "ana maria")]).await;
    assert!(
        form(&html, "enroll").contains("must not contain spaces or control characters"),
        "{html}"
    );
    assert!(
        form(&html, "enroll").contains(r#"value="ana maria""#),
        "{html}"
    );
}

#[tokio::test]
async fn withdrawing_a_stranger_is_refused_beside_the_withdraw_form() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Strangers", 2).await;
    app.enroll(&id, "ana@example.org").await;
    let html = command_refused(
        &app,
        &id,
        "withdraw",
        &[
            ("learner", "who@example.org"),
            ("reason_code", "personal"),
            ("reason", "typo"),
        ],
    )
    .await;
    let withdraw = form(&html, "withdraw");
    assert!(
        withdraw.contains("who@example.org is not enrolled"),
        "{html}"
    );
    assert!(withdraw.contains(r#"value="who@example.org""#), "{html}");
    // The card holds the learner only: the reason is chosen on the confirmation page.
    assert!(!withdraw.contains("typo"), "{html}");
    assert!(!form(&html, "enroll").contains("field-error"), "{html}");
    // The refused command filed nobody.
    assert_eq!(
        app.get("/learners/who%40example.org")
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn withdrawing_after_the_withdrawal_deadline_is_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Too Late To Leave", 2).await;
    app.enroll(&id, "ana@example.org").await;
    app.clock.set(ts("2026-03-20T08:30:00Z"));
    let html = command_refused(
        &app,
        &id,
        "withdraw",
        &[("learner", "ana@example.org"), ("reason_code", "personal")],
    )
    .await;
    assert!(
        form(&html, "withdraw")
            .contains("withdrawal deadline 2026-03-20 00:00 UTC passed at 2026-03-20 08:30 UTC"),
        "{html}"
    );
    assert!(roster(&html).contains(&learner_link("ana@example.org")));
}

#[tokio::test]
async fn leaving_the_waitlist_when_not_on_it_is_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("No Queue", 1).await;
    app.enroll(&id, "ana@example.org").await;
    let html = command_refused(
        &app,
        &id,
        "leave-waitlist",
        &[("learner", "ana@example.org")],
    )
    .await;
    assert!(
        waitlist(&html).contains(
            r#"<p class="field-error" role="alert">ana@example.org is not on the waitlist</p>"#
        ),
        "{html}"
    );
}

#[tokio::test]
async fn capacity_changes_that_break_rules_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Seats", 2).await;
    app.enroll(&id, "ana@example.org").await;
    app.enroll(&id, "ben@example.org").await;

    let html = command_refused(&app, &id, "capacity", &[("capacity", "1")]).await;
    let capacity = form(&html, "capacity");
    assert!(
        capacity.contains("capacity 1 is below the 2 learners enrolled"),
        "{html}"
    );
    assert!(capacity.contains(r#"value="1""#), "{html}");

    let html = command_refused(&app, &id, "capacity", &[("capacity", "x")]).await;
    let capacity = form(&html, "capacity");
    assert!(
        capacity.contains("capacity: must be a whole number of seats, e.g. 30"),
        "{html}"
    );
    assert!(capacity.contains(r#"value="x""#), "{html}");

    let html = command_refused(&app, &id, "capacity", &[("capacity", "2")]).await;
    assert!(
        form(&html, "capacity").contains("capacity is already 2"),
        "{html}"
    );

    let html = command_refused(&app, &id, "capacity", &[("capacity", "0")]).await;
    assert!(
        form(&html, "capacity").contains("capacity must be at least 1"),
        "{html}"
    );
    assert!(html.contains("<dd>2 of 2 taken · 0 free</dd>"), "{html}");
}

#[tokio::test]
async fn promoting_is_refused_when_nobody_can_move_up() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Promotions", 1).await;
    let html = command_refused(&app, &id, "promote", &[]).await;
    assert!(
        form(&html, "promote")
            .contains(r#"<p class="field-error" role="alert">the waitlist is empty</p>"#),
        "{html}"
    );

    app.enroll(&id, "ana@example.org").await;
    app.enroll(&id, "ben@example.org").await;
    let html = command_refused(&app, &id, "promote", &[]).await;
    assert!(
        form(&html, "promote").contains("no seat free: 1 of 1 seats taken"),
        "{html}"
    );
    assert!(waitlist(&html).contains(&learner_link("ben@example.org")));
}

#[tokio::test]
async fn closing_twice_and_enrolling_into_a_closed_cohort_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Closed Door", 2).await;
    command_ok(&app, &id, "close", &[]).await;
    let html = command_refused(&app, &id, "close", &[]).await;
    assert!(
        form(&html, "close").contains("enrollment is closed for this cohort"),
        "{html}"
    );
    let html = command_refused(&app, &id, "enroll", &[("learner", "ana@example.org")]).await;
    assert!(
        form(&html, "enroll").contains("enrollment is closed for this cohort"),
        "{html}"
    );
    assert!(
        form(&html, "enroll").contains(r#"value="ana@example.org""#),
        "{html}"
    );
    let html = command_refused(&app, &id, "promote", &[]).await;
    assert!(
        form(&html, "promote").contains("enrollment is closed"),
        "{html}"
    );
}

// ---------------------------------------------------------------------------------------------
// Not found, bad requests, assets
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_cohorts_are_404_pages() {
    let app = TestApp::spawn().await;
    let stranger = Uuid::now_v7();

    let (status, html) = page(&app, &format!("/cohorts/{stranger}")).await;
    assert_eq!(status, 404);
    assert!(html.contains("<h1>Not found</h1>"), "{html}");
    assert!(html.contains(&format!("no cohort {stranger}")), "{html}");

    let (status, html) = page(&app, "/cohorts/not-a-uuid").await;
    assert_eq!(status, 404);
    assert!(html.contains("no cohort &quot;not-a-uuid&quot;"), "{html}");

    let (status, html) = page(&app, &format!("/cohorts/{stranger}/history")).await;
    assert_eq!(status, 404, "{html}");

    let commands: [(&str, &[(&str, &str)]); 6] = [
        ("enroll", &[("learner", "ana@example.org")]),
        ("withdraw", &[("learner", "ana@example.org")]),
        ("leave-waitlist", &[("learner", "ana@example.org")]),
        ("promote", &[]),
        ("capacity", &[("capacity", "3")]),
        ("close", &[]),
    ];
    for (command, form) in commands {
        let (status, html) = text(
            app.post_form(&format!("/cohorts/{stranger}/{command}"), form)
                .await,
        )
        .await;
        assert_eq!(status, 404, "{command}: {html}");
        assert!(html.contains("<h1>Not found</h1>"), "{command}: {html}");
        let (status, _) = text(
            app.post_form(&format!("/cohorts/nope/{command}"), form)
                .await,
        )
        .await;
        assert_eq!(status, 404, "{command} on a malformed id");
    }
    assert_eq!(head(&app).await, 0);
    assert_eq!(cohort_total(&app).await, 0);
}

#[tokio::test]
async fn unknown_paths_are_404_html_pages() {
    let app = TestApp::spawn().await;
    let response = app.get("/no/such/page").await;
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let (status, html) = text(response).await;
    assert_eq!(status, 404);
    assert!(html.contains("<h1>Not found</h1>"), "{html}");
    assert!(html.contains("nothing at /no/such/page"), "{html}");
    assert!(html.contains("Status 404."), "{html}");
}

#[tokio::test]
async fn the_stylesheet_is_served_and_other_assets_are_not() {
    let app = TestApp::spawn().await;
    let response = app.get("/static/style.css").await;
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/css"), "{content_type}");
    let css = response.text().await.unwrap();
    assert!(css.contains(":root"), "{css}");

    let (status, html) = page(&app, "/static/nope").await;
    assert_eq!(status, 404);
    assert!(html.contains("no such file"), "{html}");
}

#[tokio::test]
async fn malformed_form_bodies_are_client_errors() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Bodies", 2).await;
    let before = head(&app).await;

    let json_enroll = app
        .client
        .post(app.url(&format!("/cohorts/{id}/enroll")))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(r#"{"learner":"ana@example.org"}"#)
        .send()
        .await
        .unwrap();
    let (status, html) = text(json_enroll).await;
    // A body that is not a form carries no CSRF token: refused before anything reads it.
    assert_eq!(status, 403, "{html}");

    let json_create = app
        .client
        .post(app.url("/cohorts"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(r#"{"name":"x"}"#)
        .send()
        .await
        .unwrap();
    let status = json_create.status().as_u16();
    assert!((400..500).contains(&status), "{status}");

    let no_type = app
        .client
        .post(app.url(&format!("/cohorts/{id}/withdraw")))
        .body("learner=ana%40example.org")
        .send()
        .await
        .unwrap();
    let status = no_type.status().as_u16();
    assert!((400..500).contains(&status), "{status}");

    let huge = "a".repeat(100 * 1024);
    let (status, _) = text(
        app.post_form(&format!("/cohorts/{id}/enroll"), &[("learner", &huge)])
            .await,
    )
    .await;
    assert!((400..500).contains(&status), "{status}");

    assert_eq!(head(&app).await, before);
}

#[tokio::test]
async fn a_bad_done_parameter_is_ignored() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Done", 2).await;
    let (status, html) = page(&app, &format!("/cohorts/{id}?done=abc")).await;
    assert_eq!(status, 200);
    assert!(!html.contains("Recorded."), "{html}");
}

#[tokio::test]
async fn the_done_notice_confirms_only_the_commands_own_events() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Busy", 5).await;
    let response = app
        .post_form(
            &format!("/cohorts/{id}/enroll"),
            &[("learner", "ana@example.org")],
        )
        .await;
    let location = see_other(&response);
    // Someone else acts before the redirect is followed (or the page is reloaded later).
    app.enroll(&id, "ben@example.org").await;
    let (status, html) = page(&app, &location).await;
    assert_eq!(status, 200);
    let done = between(&html, r#"id="done">"#, "</div>");
    assert!(
        done.contains("<code>student.enrolled</code> ana@example.org"),
        "{html}"
    );
    assert!(!done.contains("ben@example.org"), "{done}");
}

#[tokio::test]
async fn a_huge_page_number_does_not_crash_the_dashboard() {
    let app = TestApp::spawn().await;
    app.create_cohort("Only One", 2).await;
    for page_number in ["18446744073709551615", "1844674407370955161"] {
        let response = app
            .client
            .get(app.url(&format!("/?page={page_number}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("page={page_number}: no response: {e}"));
        let (status, html) = text(response).await;
        assert_eq!(status, 200, "page={page_number}: {html}");
        assert!(html.contains("<h1>Cohorts</h1>"), "{html}");
    }
    // A page number too large to parse is read as page 1 (this already works).
    let (status, html) = page(&app, "/?page=99999999999999999999999").await;
    assert_eq!(status, 200);
    assert!(html.contains("Only One"), "{html}");
}

// ---------------------------------------------------------------------------------------------
// History and time travel
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_history_page_lists_every_event_with_actor_and_changes() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Storied", 2).await;
    for learner in [
        "ana@example.org",
        "ben@example.org",
        "cy@example.org",
        "dee@example.org",
    ] {
        app.enroll(&id, learner).await;
    }
    command_ok(
        &app,
        &id,
        "leave-waitlist",
        &[("learner", "dee@example.org"), ("reason", "found another")],
    )
    .await;
    command_ok(&app, &id, "capacity", &[("capacity", "3")]).await;
    command_ok(
        &app,
        &id,
        "withdraw",
        &[
            ("learner", "ana@example.org"),
            ("reason_code", "other"),
            ("reason", "moved"),
        ],
    )
    .await;
    command_ok(&app, &id, "close", &[]).await;
    let events = head(&app).await;
    assert_eq!(events, 10);

    let (status, html) = page(&app, &format!("/cohorts/{id}/history")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>History of Storied</h1>"), "{html}");
    assert!(html.contains(&format!(r#"<a href="/cohorts/{id}">← Storied</a>"#)));
    for event_type in [
        "cohort.created",
        "student.enrolled",
        "student.waitlisted",
        "waitlist.left",
        "cohort.capacity_changed",
        "waitlist.promoted",
        "student.withdrawn",
        "enrollment.closed",
    ] {
        assert!(
            html.contains(&format!("<code>{event_type}</code>")),
            "{event_type}: {html}"
        );
    }
    assert_eq!(
        html.matches(r#"<td data-label="By">staff</td>"#).count(),
        10,
        "{html}"
    );
    for change in [
        "enrolled 0 → 1",
        "enrolled 1 → 2",
        "waitlist 0 → 1",
        "waitlist 1 → 2",
        "waitlist 2 → 1",
        "seats 2 → 3",
        "enrolled 2 → 3",
        "enrolled 3 → 2",
        "enrollment open → closed",
    ] {
        assert!(html.contains(change), "{change}: {html}");
    }
    // The withdrawal's code as chosen (`other`); leaving the waitlist has no code.
    assert!(html.contains("reason: Other — moved") && html.contains("reason: found another"));
    assert!(html.contains(&format!(r#"<a href="/cohorts/{id}?as_of=1">as of</a>"#)));
    // Newest first.
    assert!(
        html.find("<code>enrollment.closed</code>").unwrap()
            < html.find("<code>cohort.created</code>").unwrap()
    );
}

/// A cohort of capacity 3 with enrollments at 10:00, 11:00 and 12:00; returns its id.
async fn cohort_with_timed_enrollments(app: &TestApp) -> String {
    let id = app.create_cohort("Time Machine", 3).await;
    for (hour, learner) in [
        ("10", "ana@example.org"),
        ("11", "ben@example.org"),
        ("12", "cy@example.org"),
    ] {
        app.clock.set(ts(&format!("2026-03-01T{hour}:00:00Z")));
        app.enroll(&id, learner).await;
    }
    id
}

#[tokio::test]
async fn time_travel_by_position_shows_the_past_without_forms() {
    let app = TestApp::spawn().await;
    let id = cohort_with_timed_enrollments(&app).await;

    let (status, html) = page(&app, &format!("/cohorts/{id}?as_of=3")).await;
    assert_eq!(status, 200, "{html}");
    // The banner names a time and the event in words, not a version.
    assert!(
        html.contains(r#"You are looking at this cohort as it was on <time class="when" datetime="2026-03-01T11:00Z">2026-03-01 11:00 UTC</time>"#),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"just after ben@example.org was enrolled (2 of 3 seats taken) (<a href="/cohorts/{id}/history?before=4#event-3">event #3</a>)"#
        )),
        "{html}"
    );
    assert!(!html.contains("cohort version"), "{html}");
    let enrolled = roster(&html);
    assert!(
        enrolled.contains(&learner_link("ana@example.org")),
        "{html}"
    );
    assert!(
        enrolled.contains(&learner_link("ben@example.org")),
        "{html}"
    );
    assert!(!html.contains("cy@example.org"), "{html}");
    assert!(html.contains("<dd>2 of 3 taken · 1 free</dd>"), "{html}");
    for command in [
        "enroll",
        "withdraw",
        "capacity",
        "promote",
        "close",
        "leave-waitlist",
    ] {
        assert!(
            !html.contains(&format!(r#"action="/cohorts/{id}/{command}""#)),
            "{command}: {html}"
        );
    }
    assert!(
        html.contains(r#"<input id="as_of" name="as_of" value="3""#),
        "{html}"
    );
    assert!(html.contains(&format!(r#"<a href="/cohorts/{id}">Back to now</a>"#)));

    // `done` is not confirmed on a past page.
    let (_, html) = page(&app, &format!("/cohorts/{id}?as_of=2&done=1")).await;
    assert!(!html.contains("Recorded."), "{html}");
    assert!(roster(&html).contains(&learner_link("ana@example.org")));
    assert!(!html.contains("ben@example.org"), "{html}");

    // Now, everyone and the forms.
    let (_, html) = page(&app, &format!("/cohorts/{id}")).await;
    assert!(!html.contains("You are looking at this cohort as it was"));
    assert!(roster(&html).contains(&learner_link("cy@example.org")));
    assert!(html.contains(&format!(r#"action="/cohorts/{id}/enroll""#)));
}

#[tokio::test]
async fn time_travel_by_time_shows_who_was_enrolled_then() {
    let app = TestApp::spawn().await;
    let id = cohort_with_timed_enrollments(&app).await;

    let (status, html) = page(&app, &format!("/cohorts/{id}?as_of=2026-03-01T10:30:00Z")).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(r#"You are looking at this cohort as it was on <time class="when" datetime="2026-03-01T10:30Z">2026-03-01 10:30 UTC</time>"#),
        "{html}"
    );
    assert!(
        html.contains("just after ana@example.org was enrolled (1 of 3 seats taken)"),
        "{html}"
    );
    assert!(
        roster(&html).contains(&learner_link("ana@example.org")),
        "{html}"
    );
    assert!(
        !html.contains("ben@example.org") && !html.contains("cy@example.org"),
        "{html}"
    );
    assert!(
        !html.contains(&format!(r#"action="/cohorts/{id}/enroll""#)),
        "{html}"
    );

    // An event at exactly the instant is included.
    let (_, html) = page(&app, &format!("/cohorts/{id}?as_of=2026-03-01T11:00:00Z")).await;
    assert!(
        roster(&html).contains(&learner_link("ben@example.org")),
        "{html}"
    );
    assert!(!html.contains("cy@example.org"), "{html}");

    // Just after creation: nobody yet.
    let (_, html) = page(&app, &format!("/cohorts/{id}?as_of=2026-03-01T09:30:00Z")).await;
    assert!(roster(&html).contains("Nobody is enrolled yet."), "{html}");
}

#[tokio::test]
async fn time_travel_refuses_garbage_and_points_before_the_cohort() {
    let app = TestApp::spawn().await;
    let first = app.create_cohort("First", 2).await;
    app.clock.set(ts("2026-03-01T10:00:00Z"));
    let second = app.create_cohort("Second", 2).await;

    let (status, html) = page(&app, &format!("/cohorts/{first}?as_of=garbage")).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("<h1>Bad request</h1>"), "{html}");
    assert!(
        html.contains("&quot;garbage&quot; is neither an event number nor a time"),
        "{html}"
    );

    // Position 1 is the first cohort's creation: the second did not exist yet.
    let (status, html) = page(&app, &format!("/cohorts/{second}?as_of=1")).await;
    assert_eq!(status, 404, "{html}");
    assert!(html.contains("did not exist yet at that point"), "{html}");
    let (status, _) = page(
        &app,
        &format!("/cohorts/{second}?as_of=2026-03-01T09:30:00Z"),
    )
    .await;
    assert_eq!(status, 404);
    // Position 1 is fine for the first, and a global position past the second's creation is
    // version 1 of the second.
    let (status, _) = page(&app, &format!("/cohorts/{first}?as_of=1")).await;
    assert_eq!(status, 200);
    let (status, html) = page(&app, &format!("/cohorts/{second}?as_of=2")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(
            r#"just after the cohort was created (<a href="/cohorts/{second}/history?before=3#event-2">event #2</a>)"#
        )),
        "{html}"
    );
    // A random cohort as of any point is 404 too.
    let (status, _) = page(&app, &format!("/cohorts/{}?as_of=2", Uuid::now_v7())).await;
    assert_eq!(status, 404);
}

// ---------------------------------------------------------------------------------------------
// Learner pages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_learner_page_shows_a_timeline_across_cohorts() {
    let app = TestApp::spawn().await;
    let first = app.create_cohort("First Cohort", 1).await;
    let second = app.create_cohort("Second Cohort", 1).await;
    command_ok(
        &app,
        &first,
        "enroll",
        &[("learner", "Ana@Example.org"), ("name", "Ana Silva")],
    )
    .await;
    app.enroll(&second, "ben@example.org").await;
    app.clock.set(ts("2026-03-02T14:00:00Z"));
    command_ok(&app, &second, "enroll", &[("learner", "ana@example.org")]).await;

    let (status, html) = page(&app, "/learners/ana%40example.org").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1>ana@example.org</h1>"), "{html}");
    assert!(html.contains(r#"<p class="lead">Ana Silva</p>"#), "{html}");
    assert!(
        html.contains(&format!(
            r#"<li>Enrolled in <a href="/cohorts/{first}">First Cohort</a></li>"#
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"<li>Waitlisted for <a href="/cohorts/{second}">Second Cohort</a>, place 1</li>"#
        )),
        "{html}"
    );
    let timeline = between(&html, "<h2>Timeline</h2>", "</table>");
    assert!(timeline.contains("<code>student.enrolled</code>"), "{html}");
    assert!(
        timeline.contains("<code>student.waitlisted</code>"),
        "{html}"
    );
    assert!(
        timeline.contains("2026-03-02 14:00 UTC") && timeline.contains("2026-03-01 09:00 UTC"),
        "{html}"
    );
    assert!(
        timeline.contains(&format!(
            r#"<a href="/cohorts/{first}?as_of=3&amp;learner=ana%40example.org">First Cohort</a>"#
        )),
        "{html}"
    );
    assert!(
        timeline.contains(&format!(
            r#"<a href="/cohorts/{second}?as_of=5&amp;learner=ana%40example.org">Second Cohort</a>"#
        )),
        "{html}"
    );
    assert_eq!(
        timeline
            .matches(r#"<td data-label="By">staff</td>"#)
            .count(),
        2,
        "{html}"
    );
    assert!(!timeline.contains("ben@example.org"));
    // Newest first.
    assert!(timeline.find("Second Cohort").unwrap() < timeline.find("First Cohort").unwrap());

    // The key may be typed in any case, and with a raw `@`.
    let (status, same) = page(&app, "/learners/ANA%40Example.ORG").await;
    assert_eq!(status, 200);
    assert!(same.contains("<h1>ana@example.org</h1>"));
    let (status, _) = page(&app, "/learners/ana@example.org").await;
    assert_eq!(status, 200);

    // Links from the cohort page lead here.
    let (_, cohort) = page(&app, &format!("/cohorts/{first}")).await;
    assert!(
        cohort.contains(r#"href="/learners/ana%40example.org""#),
        "{cohort}"
    );
}

#[tokio::test]
async fn a_learner_who_left_everything_says_so_and_unknown_learners_are_404() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Brief Stay", 2).await;
    app.enroll(&id, "ana@example.org").await;
    command_ok(
        &app,
        &id,
        "withdraw",
        &[("learner", "ana@example.org"), ("reason_code", "personal")],
    )
    .await;
    let (status, html) = page(&app, "/learners/ana%40example.org").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Not enrolled or waitlisted anywhere."),
        "{html}"
    );
    assert!(html.contains("<code>student.withdrawn</code>"), "{html}");

    let (status, html) = page(&app, "/learners/nobody%40example.org").await;
    assert_eq!(status, 404, "{html}");
    assert!(html.contains("<h1>Not found</h1>"), "{html}");
    assert!(
        html.contains("no learner &quot;nobody@example.org&quot;"),
        "{html}"
    );
}

// ---------------------------------------------------------------------------------------------
// Escaping
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn user_text_is_escaped_everywhere() {
    let app = TestApp::spawn().await;
    let script = "<script>alert(1)</script>";
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
    let id = create_by_form(
        &app,
        &[("name", script), ("instructor", "O'Brien & \"Co\"")],
    )
    .await;

    for path in [
        format!("/cohorts/{id}"),
        "/".to_owned(),
        format!("/cohorts/{id}/history"),
    ] {
        let (status, html) = page(&app, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains(escaped), "{path}: {html}");
        assert!(!html.contains(script), "{path}: {html}");
    }
    let (_, html) = page(&app, &format!("/cohorts/{id}")).await;
    assert!(
        html.contains("taught by O&#39;Brien &amp; &quot;Co&quot;"),
        "{html}"
    );

    // Learner keys and names are escaped in rosters and on learner pages.
    command_ok(
        &app,
        &id,
        "enroll",
        &[("learner", "<b>x@example.org"), ("name", "<i>Eve</i>")],
    )
    .await;
    let (_, html) = page(&app, &format!("/cohorts/{id}")).await;
    assert!(
        html.contains("&lt;b&gt;x@example.org") && html.contains("&lt;i&gt;Eve&lt;/i&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<b>x@") && !html.contains("<i>Eve"),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/learners/%3Cb%3Ex%40example.org""#),
        "{html}"
    );
    let (status, html) = page(&app, "/learners/%3Cb%3Ex%40example.org").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1>&lt;b&gt;x@example.org</h1>"), "{html}");

    // Typed values kept in a refused form are escaped inside attributes.
    let typed = cohort_form(&[("name", "\"><img src=x>"), ("capacity", "abc")]);
    let (status, html) = text(app.post_form("/cohorts", &typed).await).await;
    assert_eq!(status, 422);
    assert!(
        html.contains(r#"value="&quot;&gt;&lt;img src=x&gt;""#),
        "{html}"
    );
    assert!(!html.contains("<img src=x>"), "{html}");

    // Text sent through the API (a script and an attribute breaker in a name, an instructor and
    // a learner's name) is escaped on every page too (the raw bodies, not respelled).
    {
        let attack = r#""><img src=x onerror=alert(1)>"#;
        let (status, body) = app
            .post_json("/api/v1/cohorts", &{
                let mut c = cohort_body(&format!("<script>alert(1)</script>{attack}"), 2);
                c["instructor"] = json!(attack);
                c
            })
            .await;
        assert_eq!(status, 201);
        let id = body["id"].as_str().unwrap().to_owned();
        let (status, _) = app
            .post_json(
                &format!("/api/v1/cohorts/{id}/enrollments"),
                &json!({"learner": "ana@x.org", "name": attack}),
            )
            .await;
        assert_eq!(status, 200);
        for path in [
            "/".to_owned(),
            format!("/cohorts/{id}"),
            format!("/cohorts/{id}/history"),
            "/learners/ana%40x.org".to_owned(),
        ] {
            let html = app.get(&path).await.text().await.unwrap();
            assert!(!html.contains("<script>alert(1)"), "{path}");
            assert!(!html.contains("<img src=x"), "{path}");
            assert!(!html.contains(r#""><img"#), "{path}");
        }
        let cohort = app
            .get(&format!("/cohorts/{id}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            cohort.contains("&#60;script&#62;") || cohort.contains("&lt;script&gt;"),
            "{cohort}"
        );
    }
}

#[tokio::test]
async fn wrong_methods_unreadable_queries_and_huge_forms_get_error_pages() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Errors", 2).await;

    let response = app.get(&format!("/cohorts/{id}/enroll")).await;
    let (status, html) = text(response).await;
    assert_eq!(status, 405);
    assert!(html.contains("Method not allowed"), "{html}");

    let (status, html) = page(&app, &format!("/cohorts/{id}?as_of=1&as_of=2")).await;
    assert_eq!(status, 400);
    assert!(html.contains("Bad request"), "{html}");

    let huge = "x".repeat(100 * 1024);
    let response = app
        .post_form(
            &format!("/cohorts/{id}/enroll"),
            &[("learner", huge.as_str())],
        )
        .await;
    let (status, html) = text(response).await;
    assert_eq!(status, 413);
    assert!(html.contains("larger than 64 KiB"), "{html}");
    assert_eq!(head(&app).await, 1, "nothing was written");
}

#[tokio::test]
async fn learner_keys_with_slashes_link_to_their_page() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Numbers", 2).await;
    app.enroll(&id, "2024/0012").await;
    let (_, html) = page(&app, &format!("/cohorts/{id}")).await;
    assert!(
        html.contains(r#"<a href="/learners/2024%2F0012">2024/0012</a>"#),
        "{html}"
    );
    let (status, html) = page(&app, "/learners/2024%2F0012").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1>2024/0012</h1>"), "{html}");
}
