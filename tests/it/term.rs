//! Running a term (issue 15, items 1, 2, 3, 6 and the policy) on every surface: reopen,
//! reschedule, edit details, cancel and the promotion policy with its waitlist cap, from the
//! API (answers exactly as the contract, refusal codes, dry runs that write nothing) and from
//! the cohort page's forms (Post/Redirect/Get with a plain-words headline; refusals rendered
//! again next to the form and at the top; no form the rules would refuse).

use serde_json::{Value, json};

use crate::helpers::*;

/// The sorted field names of an answer.
fn fields(answer: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = answer
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

/// `POST /api/v1/cohorts/{id}{path}` with `body`.
async fn command(app: &TestApp, id: &str, path: &str, body: &Value) -> (u16, Value) {
    app.post_json(&format!("/api/v1/cohorts/{id}{path}"), body)
        .await
}

/// A cohort of `seats` seats with `enrolled` then `waiting` learners (`a0@x.org`…).
async fn filled(app: &TestApp, seats: u32, learners: u32) -> String {
    let id = app.create_cohort("Rust in Practice", seats).await;
    for i in 0..learners {
        app.enroll(&id, &format!("a{i}@x.org")).await;
    }
    id
}

/// Posts a cohort-page form; on a redirect, the page it leads to (and checks it is the
/// cohort's); else the status and the page rendered.
async fn form(app: &TestApp, id: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let response = app.post_form(&format!("/cohorts/{id}{path}"), fields).await;
    let status = response.status().as_u16();
    if status == 303 {
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let page = app.get(&location).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        if location.starts_with(&format!("/cohorts/{id}?refused=")) {
            assert!(html.contains("<strong>Not done:</strong>"), "{html}");
            return (REFUSED, html);
        }
        assert!(
            location.starts_with(&format!("/cohorts/{id}?done=")),
            "{location}"
        );
        return (303, html);
    }
    (status, response.text().await.unwrap())
}

/// What [`form`] reports for a refused form: the post redirected to the cohort page with
/// `?refused=<token>` (Post/Redirect/Get), which showed the message.
const REFUSED: u16 = 1303;

/// The text of the form `id` of a page ("" when the page has no such form).
fn form_of<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!(r#"id="{id}">"#);
    html.find(&marker)
        .filter(|at| {
            html[..*at]
                .rfind('<')
                .is_some_and(|tag| html[tag..].starts_with("<form"))
        })
        .map_or("", |start| {
            let rest = &html[start..];
            &rest[..rest.find("</form>").unwrap_or(rest.len())]
        })
}

/// The refusal notice at the top of a page.
fn top_notice(html: &str) -> &str {
    let start = html
        .find(r#"class="notice warn" role="alert""#)
        .expect("a notice");
    let rest = &html[start..];
    &rest[..rest.find("</p>").unwrap()]
}

/// The events of the command at `position` (those sharing its command id), as (type, learner).
async fn command_events(app: &TestApp, position: u64) -> Vec<(String, Value)> {
    let (_, feed) = app.get_json("/api/v1/events?limit=1000").await;
    let events = feed["events"].as_array().unwrap();
    let last = events
        .iter()
        .find(|e| e["position"] == position)
        .expect("the command's last event");
    events
        .iter()
        .filter(|e| e["command_id"] == last["command_id"])
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["data"]["learner"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn reopening_promotes_the_waitlist_in_the_same_append() {
    let app = TestApp::spawn().await;
    let id = filled(&app, 1, 2).await;
    let (status, open) = command(&app, &id, "/reopen", &json!({"reason": "x"})).await;
    assert_eq!(
        (status, open["error"]["code"].as_str()),
        (422, Some("not_closed"))
    );
    assert_eq!(app.cohort(&id).await["status"], "open");
    let (status, _) = command(&app, &id, "/close", &json!(null)).await;
    assert_eq!(status, 200);
    // Closed: the freed seat waits for the reopening.
    withdraw(&app, &id, "a0@x.org", "moved").await;
    assert_eq!(keys(&app.cohort(&id).await, "waitlist"), ["a1@x.org"]);

    let before = head(&app).await;
    let (status, dry) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/reopen?dry_run=true"),
            &json!({"reason": "closed by mistake"}),
        )
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        (&dry["dry_run"], &dry["promoted"]),
        (&json!(true), &json!(["a1@x.org"]))
    );
    assert_eq!(head(&app).await, before, "the dry run wrote nothing");

    let (status, reopened) = command(
        &app,
        &id,
        "/reopen",
        &json!({"reason": "closed by mistake"}),
    )
    .await;
    assert_eq!(status, 200, "{reopened}");
    assert_eq!(
        fields(&reopened),
        ["offered", "position", "promoted", "version"]
    );
    assert_eq!(reopened["promoted"], json!(["a1@x.org"]));
    assert_eq!(reopened["offered"], json!([]));
    assert_eq!(reopened["version"], dry["version"]);
    assert_eq!(
        command_events(&app, reopened["position"].as_u64().unwrap()).await,
        [
            ("enrollment.reopened".to_owned(), Value::Null),
            ("waitlist.promoted".to_owned(), json!("a1@x.org")),
        ],
        "one append"
    );
    let cohort = app.cohort(&id).await;
    assert_eq!(
        (&cohort["status"], keys(&cohort, "enrolled")),
        (&json!("open"), vec!["a1@x.org".to_owned()])
    );
    let history = app
        .get(&format!("/cohorts/{id}/history"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        history.contains("Enrollment reopened — closed by mistake"),
        "{history}"
    );
}

#[tokio::test]
async fn reopening_needs_an_enrollment_deadline_ahead() {
    let app = TestApp::spawn().await;
    let id = filled(&app, 2, 0).await;
    command(&app, &id, "/close", &json!(null)).await;
    app.clock.set(ts("2026-03-11T00:00:00Z")); // the enrollment deadline has passed
    let (status, kept) = command(&app, &id, "/reopen", &json!({"reason": "late"})).await;
    assert_eq!(
        (status, kept["error"]["code"].as_str()),
        (422, Some("deadline_in_past"))
    );
    let past = json!({"reason": "late", "enrollment_deadline": "2026-03-10T12:00:00Z"});
    let (status, refused) = command(&app, &id, "/reopen", &past).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("deadline_in_past"))
    );
    let after_withdrawals =
        json!({"reason": "late", "enrollment_deadline": "2026-03-21T00:00:00Z"});
    let (status, refused) = command(&app, &id, "/reopen", &after_withdrawals).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("invalid_schedule"))
    );
    let ahead = json!({"reason": "late", "enrollment_deadline": "2026-03-14T00:00:00Z"});
    let (status, reopened) = command(&app, &id, "/reopen", &ahead).await;
    assert_eq!(status, 200, "{reopened}");
    let cohort = app.cohort(&id).await;
    assert_eq!(
        (&cohort["status"], &cohort["enrollment_deadline"]),
        (&json!("open"), &json!("2026-03-14T00:00:00Z"))
    );
    assert_eq!(app.enroll(&id, "late@x.org").await, "enrolled");
}

#[tokio::test]
async fn rescheduling_moves_dates_but_never_a_deadline_into_the_past() {
    let app = TestApp::spawn().await;
    let id = filled(&app, 2, 0).await;
    let past = json!({"withdrawal_deadline": "2026-02-28T00:00:00Z"});
    let before = head(&app).await;
    let (status, refused) = command(&app, &id, "/schedule", &past).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("deadline_in_past"))
    );
    let (status, dry) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/schedule?dry_run=true"),
            &past,
        )
        .await;
    assert_eq!(
        (status, dry["error"]["code"].as_str()),
        (422, Some("deadline_in_past"))
    );
    let crossed = json!({"withdrawal_deadline": "2026-03-05T00:00:00Z"});
    let (status, refused) = command(&app, &id, "/schedule", &crossed).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("invalid_schedule"))
    );
    let same = json!({"starts_at": STARTS_AT});
    let (status, refused) = command(&app, &id, "/schedule", &same).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("nothing_changed"))
    );
    assert_eq!(head(&app).await, before, "nothing written by a refusal");

    let moved =
        json!({"starts_at": "2026-03-16T09:00:00Z", "enrollment_deadline": "2026-03-12T00:00:00Z"});
    let (status, dry) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/schedule?dry_run=true"),
            &moved,
        )
        .await;
    assert_eq!((status, &dry["dry_run"]), (200, &json!(true)));
    assert_eq!(head(&app).await, before, "the dry run wrote nothing");
    let (status, done) = command(&app, &id, "/schedule", &moved).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(fields(&done), ["position", "version"]);
    let cohort = app.cohort(&id).await;
    assert_eq!(
        (
            &cohort["starts_at"],
            &cohort["enrollment_deadline"],
            &cohort["withdrawal_deadline"]
        ),
        (
            &json!("2026-03-16T09:00:00Z"),
            &json!("2026-03-12T00:00:00Z"),
            &json!(WITHDRAWAL_DEADLINE)
        )
    );
}

#[tokio::test]
async fn a_details_change_moves_the_instructor_report() {
    let app = TestApp::spawn().await;
    let id = filled(&app, 2, 1).await;
    let (status, blank) = command(&app, &id, "/details", &json!({"name": " "})).await;
    assert_eq!(
        (status, blank["error"]["code"].as_str()),
        (400, Some("invalid_field"))
    );
    let (status, same) = command(
        &app,
        &id,
        "/details",
        &json!({"instructor": "Ada Lovelace"}),
    )
    .await;
    assert_eq!(
        (status, same["error"]["code"].as_str()),
        (422, Some("nothing_changed"))
    );
    let (status, done) = command(
        &app,
        &id,
        "/details",
        &json!({"instructor": "Grace Hopper"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(fields(&done), ["position", "version"]);
    let cohort = app.cohort(&id).await;
    assert_eq!(
        (&cohort["instructor"], &cohort["name"]),
        (&json!("Grace Hopper"), &json!("Rust in Practice"))
    );
    let (_, grace) = app
        .get_json("/api/v1/cohorts?instructor=grace%20hopper")
        .await;
    assert_eq!(grace["total"], 1);
    let report = app.get("/reports/instructors").await.text().await.unwrap();
    assert!(
        report.contains("Grace Hopper"),
        "the report follows the change"
    );
    let ada = report
        .find("Ada Lovelace")
        .map(|i| &report[i.saturating_sub(300)..i + 300]);
    assert!(
        ada.is_none(),
        "the old instructor has no cohort left: {ada:?}"
    );
}

#[tokio::test]
async fn cancelling_releases_everyone_and_then_every_command_is_refused() {
    let app = TestApp::spawn().await;
    // Two seats: a0 enrolled, a1 offered (after a2's withdrawal), a3 waiting.
    let id = app.create_cohort("Rust in Practice", 2).await;
    let policy = json!({"promotion": "offer", "offer_hold": "48h"});
    assert_eq!(command(&app, &id, "/policy", &policy).await.0, 200);
    for learner in ["a0@x.org", "a2@x.org", "a1@x.org", "a3@x.org"] {
        app.enroll(&id, learner).await;
    }
    withdraw(&app, &id, "a2@x.org", "moved").await;
    let cohort = app.cohort(&id).await;
    assert_eq!(cohort["offers"][0]["learner"], "a1@x.org");
    assert_eq!(cohort["seats_remaining"], 0, "a held seat counts as taken");

    let before = head(&app).await;
    let (status, dry) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/cancel?dry_run=true"),
            &json!({"reason": "too few"}),
        )
        .await;
    assert_eq!(
        (status, &dry["released"]),
        (200, &json!(["a0@x.org", "a1@x.org", "a3@x.org"]))
    );
    assert_eq!(head(&app).await, before, "the dry run wrote nothing");
    let (status, bad) = command(&app, &id, "/cancel", &json!({"reason": "  "})).await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("invalid_field"))
    );

    let (status, cancelled) = command(&app, &id, "/cancel", &json!({"reason": "too few"})).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(fields(&cancelled), ["position", "released", "version"]);
    assert_eq!(
        cancelled["released"],
        json!(["a0@x.org", "a1@x.org", "a3@x.org"])
    );
    let cohort = app.cohort(&id).await;
    assert_eq!(cohort["status"], "cancelled");
    assert_eq!(
        (
            cohort["enrolled_count"].as_u64(),
            cohort["waitlist_count"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(cohort["offers"], json!([]));

    let refused_after = [
        ("/enrollments", json!({"learner": "new@x.org"})),
        ("/withdrawals", json!({"learner": "a0@x.org"})),
        ("/promotions", json!(null)),
        ("/capacity", json!({"capacity": 5})),
        ("/close", json!(null)),
        ("/reopen", json!({"reason": "x"})),
        ("/schedule", json!({"starts_at": "2026-03-16T09:00:00Z"})),
        ("/details", json!({"name": "Other"})),
        ("/cancel", json!({"reason": "again"})),
        ("/policy", json!({"promotion": "automatic"})),
    ];
    let position = head(&app).await;
    for (path, body) in refused_after {
        let (status, refused) = command(&app, &id, path, &body).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (422, Some("cohort_cancelled")),
            "{path}: {refused}"
        );
    }
    assert_eq!(head(&app).await, position, "nothing written");

    shows_cancelled(&app, &id).await;
}

/// The cohort page, the dashboard (its filter too), the CSV and the history all show the
/// cancelled cohort as cancelled.
async fn shows_cancelled(app: &TestApp, id: &str) {
    let page = app
        .get(&format!("/cohorts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Cancelled — too few"), "{page}");
    assert!(
        !page.contains(&format!(r#"method="post" action="/cohorts/{id}/"#)),
        "a cancelled cohort offers no command form"
    );
    let dashboard = app.get("/?status=cancelled").await.text().await.unwrap();
    assert!(dashboard.contains(r#"<span class="status cancelled">Cancelled</span>"#));
    let open = app.get("/?status=open").await.text().await.unwrap();
    assert!(!open.contains(id));
    let csv = app.get("/cohorts.csv").await.text().await.unwrap();
    let row = csv
        .lines()
        .find(|l| l.contains(id))
        .expect("the cohort's row");
    assert!(row.contains(",cancelled,"), "{row}");
    let history = app
        .get(&format!("/cohorts/{id}/history"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        history.contains("Cohort cancelled — 3 learners released"),
        "{history}"
    );
    assert!(
        history.contains("was released: the cohort was cancelled"),
        "{history}"
    );
}

#[tokio::test]
async fn the_policy_is_set_at_creation_and_later_and_the_cap_refuses_with_its_numbers() {
    let app = TestApp::spawn().await;
    let mut body = cohort_body("Capped", 1);
    body["promotion"] = json!("offer");
    body["offer_hold"] = json!("90m");
    body["waitlist_cap"] = json!(1);
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let cohort = app.cohort(&id).await;
    assert_eq!(
        (
            &cohort["promotion"],
            &cohort["offer_hold"],
            &cohort["waitlist_cap"]
        ),
        (&json!("offer"), &json!("1h 30m"), &json!(1))
    );
    app.enroll(&id, "a@x.org").await;
    app.enroll(&id, "b@x.org").await;
    let (status, full) = command(&app, &id, "/enrollments", &json!({"learner": "c@x.org"})).await;
    assert_eq!(
        (status, full["error"]["code"].as_str()),
        (422, Some("waitlist_full"))
    );
    let message = full["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1 waiting") && message.contains("cap 1"),
        "{message}"
    );

    for (bad, field) in [
        (json!({"promotion": "offer"}), "offer_hold"),
        (
            json!({"promotion": "automatic", "offer_hold": "48h"}),
            "offer_hold",
        ),
        (
            json!({"promotion": "offer", "offer_hold": "0s"}),
            "offer_hold",
        ),
        (
            json!({"promotion": "offer", "offer_hold": "soon"}),
            "offer_hold",
        ),
        (json!({"promotion": "sometimes"}), "promotion"),
        (
            json!({"promotion": "automatic", "waitlist_cap": -1}),
            "waitlist_cap",
        ),
    ] {
        let (status, refused) = command(&app, &id, "/policy", &bad).await;
        assert_eq!(status, 400, "{bad}: {refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field),
            "{refused}"
        );
    }
    let automatic = json!({"promotion": "automatic", "waitlist_cap": null});
    let before = head(&app).await;
    let (status, dry) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/policy?dry_run=true"),
            &automatic,
        )
        .await;
    assert_eq!((status, &dry["dry_run"]), (200, &json!(true)));
    assert_eq!(head(&app).await, before, "the dry run wrote nothing");
    let (status, set) = command(&app, &id, "/policy", &automatic).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(fields(&set), ["position", "version"]);
    let (status, same) = command(&app, &id, "/policy", &automatic).await;
    assert_eq!(
        (status, same["error"]["code"].as_str()),
        (422, Some("nothing_changed"))
    );
    let cohort = app.cohort(&id).await;
    assert_eq!(
        (
            &cohort["promotion"],
            &cohort["offer_hold"],
            &cohort["waitlist_cap"]
        ),
        (&json!("automatic"), &Value::Null, &Value::Null)
    );
    assert_eq!(app.enroll(&id, "c@x.org").await, "waitlisted", "no cap now");
}

#[tokio::test]
async fn the_reopen_form_shows_only_when_closed_and_says_what_it_did() {
    let app = TestApp::spawn().await;
    let id = filled(&app, 1, 2).await;
    let page = app
        .get(&format!("/cohorts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form_of(&page, "reopen").is_empty(),
        "no reopen on an open cohort"
    );
    let close = format!(r#"href="/cohorts/{id}/close">Close enrollment…</a>"#);
    assert!(page.contains(&close), "close (confirmed on its own page)");
    form(&app, &id, "/close", &[]).await;
    withdraw(&app, &id, "a0@x.org", "moved").await;
    let page = app
        .get(&format!("/cohorts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !form_of(&page, "reopen").is_empty(),
        "reopen on a closed cohort"
    );
    assert!(!page.contains(&close), "no close on a closed cohort");

    let (status, refused) = form(
        &app,
        &id,
        "/reopen",
        &[
            ("reason", "oops"),
            ("enrollment_deadline", "2026-02-01T09:00"),
        ],
    )
    .await;
    assert_eq!(status, REFUSED);
    assert!(
        form_of(&refused, "reopen").contains("is not after now"),
        "beside the form"
    );
    assert!(
        top_notice(&refused).contains("is not after now"),
        "and at the top"
    );
    assert!(
        form_of(&refused, "reopen").contains(r#"value="oops""#),
        "values kept"
    );

    let (status, done) = form(
        &app,
        &id,
        "/reopen",
        &[("reason", "oops"), ("enrollment_deadline", "")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        done.contains("Enrollment reopened — a1@x.org was promoted from the waitlist."),
        "{done}"
    );
}

/// Reschedule: the form comes pre-filled with the current dates (in the page's zone); an
/// untouched date is no change, a deadline moved into the past is refused.
#[tokio::test]
async fn the_reschedule_form_is_pre_filled_and_refuses_a_past_deadline() {
    let app = TestApp::spawn().await;
    let id = filled(&app, 1, 2).await;
    let page = app
        .get(&format!("/cohorts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let schedule = form_of(&page, "reschedule");
    assert!(
        schedule.contains(r#"value="2026-03-10 00:00""#),
        "{schedule}"
    );
    let (status, refused) = form(
        &app,
        &id,
        "/schedule",
        &[
            ("starts_at", "2026-03-15T09:00"),
            ("enrollment_deadline", "2026-02-20T00:00"),
            ("withdrawal_deadline", "2026-03-20T00:00"),
        ],
    )
    .await;
    assert_eq!(status, REFUSED);
    assert!(form_of(&refused, "reschedule").contains("is not after now"));
    assert!(form_of(&refused, "reschedule").contains(r#"value="2026-02-20T00:00""#));
    let (status, done) = form(
        &app,
        &id,
        "/schedule",
        &[
            ("starts_at", "2026-03-16T09:00"),
            ("enrollment_deadline", "2026-03-10T00:00"),
            ("withdrawal_deadline", "2026-03-20T00:00"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert!(done.contains("Cohort rescheduled."), "{done}");
    assert_eq!(app.cohort(&id).await["starts_at"], "2026-03-16T09:00:00Z");
}

#[tokio::test]
async fn the_forms_edit_details_and_set_the_policy() {
    let app = TestApp::spawn().await;
    let id = filled(&app, 1, 2).await;
    let (status, done) = form(
        &app,
        &id,
        "/details",
        &[
            ("name", "Rust in Practice"),
            ("course", "RUST-101"),
            ("instructor", "Grace Hopper"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert!(done.contains("Details changed."), "{done}");
    assert!(
        form_of(&done, "details").contains(r#"value="Grace Hopper""#),
        "pre-filled"
    );
    let (status, same) = form(
        &app,
        &id,
        "/details",
        &[
            ("name", "Rust in Practice"),
            ("course", "RUST-101"),
            ("instructor", "Grace Hopper"),
        ],
    )
    .await;
    assert_eq!(status, REFUSED);
    assert!(form_of(&same, "details").contains("nothing would change"));

    let (status, refused) = form(
        &app,
        &id,
        "/policy",
        &[
            ("promotion", "offer"),
            ("offer_hold", "0s"),
            ("waitlist_cap", ""),
        ],
    )
    .await;
    assert_eq!(status, REFUSED);
    assert!(
        form_of(&refused, "policy").contains("at least 1s"),
        "{refused}"
    );
    let (status, done) = form(
        &app,
        &id,
        "/policy",
        &[
            ("promotion", "offer"),
            ("offer_hold", "48h"),
            ("waitlist_cap", "3"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert!(done.contains("Policy saved."), "{done}");
    let policy = form_of(&done, "policy");
    assert!(
        policy.contains(r#"value="48h""#) && policy.contains(r#"value="3""#),
        "{policy}"
    );
    let cohort = app.cohort(&id).await;
    assert_eq!(
        (&cohort["promotion"], &cohort["waitlist_cap"]),
        (&json!("offer"), &json!(3))
    );
}

#[tokio::test]
async fn the_cancel_form_counts_whom_it_releases_and_asks_to_confirm() {
    let app = TestApp::spawn().await;
    let id = filled(&app, 1, 2).await;
    let done = app
        .get(&format!("/cohorts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let cancel = form_of(&done, "cancel");
    assert!(
        cancel.contains("Cancelling releases 2 learners: 1 enrolled, 0 offered a seat, 1 waiting."),
        "{cancel}"
    );
    let before = head(&app).await;
    let (status, unconfirmed) = form(&app, &id, "/cancel", &[("reason", "too few")]).await;
    assert_eq!(status, REFUSED);
    assert!(form_of(&unconfirmed, "cancel").contains("tick the box to confirm"));
    assert!(top_notice(&unconfirmed).contains("tick the box to confirm"));
    assert_eq!(head(&app).await, before, "nothing written unconfirmed");
    let (status, done) = form(
        &app,
        &id,
        "/cancel",
        &[("reason", "too few"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        done.contains("Cohort cancelled — 2 learners released."),
        "{done}"
    );
    assert!(done.contains("Cancelled — too few"));
    for id_ in [
        "enroll",
        "withdraw",
        "capacity",
        "reopen",
        "reschedule",
        "details",
        "policy",
        "cancel",
    ] {
        assert!(
            form_of(&done, id_).is_empty(),
            "no {id_} form on a cancelled cohort"
        );
    }
    let (status, refused) = form(
        &app,
        &id,
        "/details",
        &[("name", "Again"), ("course", "X"), ("instructor", "Y")],
    )
    .await;
    assert_eq!(status, REFUSED);
    assert!(top_notice(&refused).contains("the cohort was cancelled"));
}

#[tokio::test]
async fn the_new_cohort_form_takes_the_policy() {
    let app = TestApp::spawn().await;
    let base = [
        ("name", "Offered"),
        ("course", "RUST-101"),
        ("instructor", "Ada Lovelace"),
        ("capacity", "2"),
        ("starts_at", "2026-03-15T09:00"),
        ("enrollment_deadline", "2026-03-10T00:00"),
        ("withdrawal_deadline", "2026-03-20T00:00"),
    ];
    let mut bad = base.to_vec();
    bad.extend([("promotion", "offer"), ("offer_hold", "")]);
    let response = app.post_form("/cohorts", &bad).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("is required with promotion"), "{page}");
    let mut good = base.to_vec();
    good.extend([
        ("promotion", "offer"),
        ("offer_hold", "48h"),
        ("waitlist_cap", "4"),
    ]);
    let response = app.post_form("/cohorts", &good).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let id = location
        .trim_start_matches("/cohorts/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let cohort = app.cohort(&id).await;
    assert_eq!(
        (
            &cohort["promotion"],
            &cohort["offer_hold"],
            &cohort["waitlist_cap"]
        ),
        (&json!("offer"), &json!("48h"), &json!(4))
    );
}

#[tokio::test]
async fn reopening_under_the_offer_policy_offers_the_freed_seat() {
    let app = TestApp::spawn().await;
    let mut body = cohort_body("Offers", 1);
    body["promotion"] = json!("offer");
    body["offer_hold"] = json!("48h");
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    app.enroll(&id, "a0@x.org").await;
    app.enroll(&id, "a1@x.org").await;
    command(&app, &id, "/close", &json!(null)).await;
    withdraw(&app, &id, "a0@x.org", "moved").await;
    let (status, reopened) = command(&app, &id, "/reopen", &json!({"reason": "again"})).await;
    assert_eq!(status, 200, "{reopened}");
    assert_eq!(
        (&reopened["promoted"], &reopened["offered"]),
        (&json!([]), &json!(["a1@x.org"]))
    );
    let cohort = app.cohort(&id).await;
    assert_eq!(cohort["offers"][0]["learner"], "a1@x.org");
    assert_eq!(cohort["offers"][0]["expires_at"], "2026-03-03T09:00:00Z");
    assert_eq!(cohort["seats_remaining"], 0, "the held seat is taken");
}

/// No enroll form where the rules would refuse every enrollment: a closed cohort says to
/// reopen it, one past its enrollment deadline says to move it; an open one offers both forms.
#[tokio::test]
async fn the_enroll_forms_show_only_while_the_cohort_takes_enrollments() {
    let app = TestApp::spawn().await;
    let id = filled(&app, 2, 0).await;
    let url = format!("/cohorts/{id}");
    let open = app.get(&url).await.text().await.unwrap();
    assert!(
        open.contains(&format!(r#"action="/cohorts/{id}/enroll""#)),
        "{open}"
    );
    assert!(open.contains(&format!(r#"action="/cohorts/{id}/bulk/preview""#)));

    app.clock.set(ts("2026-03-10T00:01:00Z"));
    let late = app.get(&url).await.text().await.unwrap();
    assert!(
        !late.contains(&format!(r#"action="/cohorts/{id}/enroll""#)),
        "{late}"
    );
    assert!(!late.contains(&format!(r#"action="/cohorts/{id}/bulk/preview""#)));
    assert!(late.contains("The enrollment deadline passed on 2026-03-10 00:00 UTC: move it"));

    let (status, _) = command(&app, &id, "/close", &json!({})).await;
    assert_eq!(status, 200);
    let closed = app.get(&url).await.text().await.unwrap();
    assert!(
        !closed.contains(&format!(r#"action="/cohorts/{id}/enroll""#)),
        "{closed}"
    );
    assert!(closed.contains("Enrollment is closed: reopen it (below) to enroll learners again."));
}
