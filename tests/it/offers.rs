//! Waitlist offers with expiry (issue 15, item 5): accepting and declining through the API and
//! the forms (with a dry run), the scheduler expiring an offer when the clock passes its hold
//! and offering the seat to the next in line as the `system` actor, an overdue offer expired
//! after a restart, and the same once through the real binary with a hold of two seconds.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::helpers::process::{ServerProcess, staff_token};
use crate::helpers::*;

/// A cohort of one seat under the offer policy (held `hold`): ana enrolled, bo and cy waiting.
async fn offer_cohort(app: &TestApp, hold: &str) -> String {
    let mut body = cohort_body("Offers", 1);
    body["promotion"] = json!("offer");
    body["offer_hold"] = json!(hold);
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(app.enroll(&id, "ana@x.org").await, "enrolled");
    assert_eq!(app.enroll(&id, "bo@x.org").await, "waitlisted");
    assert_eq!(app.enroll(&id, "cy@x.org").await, "waitlisted");
    id
}

/// [`offer_cohort`] with ana withdrawn, so bo holds an offer until now + `hold`.
async fn bo_offered(app: &TestApp, hold: &str) -> String {
    let id = offer_cohort(app, hold).await;
    let body = withdraw(app, &id, "ana@x.org", "moved").await;
    assert_eq!(body["promoted"], Value::Null, "{body}");
    let offered = cohort_events(app, &id).await;
    let last = offered.last().unwrap();
    assert_eq!(last["type"], "waitlist.offered", "{last}");
    assert_eq!(last["data"]["learner"], "bo@x.org");
    id
}

async fn cohort_events(app: &TestApp, id: &str) -> Vec<Value> {
    let (status, body) = app.get_json(&format!("/api/v1/cohorts/{id}/events")).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// Polls the cohort's events until one of type `kind` appears: the scheduler runs on its own
/// task, so the test waits for what it records. The overall timeout only guards a hung test.
async fn until_event(app: &TestApp, id: &str, kind: &str) -> Vec<Value> {
    let started = std::time::Instant::now();
    loop {
        let events = cohort_events(app, id).await;
        if events.iter().any(|e| e["type"] == kind) {
            return events;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no {kind} after 30 s: {:?}",
            types(&events)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn accepting_an_offer_through_the_api_enrolls_the_learner() {
    let app = TestApp::spawn().await;
    let id = bo_offered(&app, "2h").await;
    let path = format!("/api/v1/cohorts/{id}/offers/bo@x.org/accept");
    let before = head(&app).await;
    let (status, dry) = app
        .post_json(&format!("{path}?dry_run=true"), &json!(null))
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["outcome"], "enrolled");
    assert_eq!(dry["events"][0]["type"], "offer.accepted");
    assert_eq!(head(&app).await, before, "the dry run wrote nothing");

    let (status, body) = app.post_json(&path, &json!(null)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "enrolled");
    assert_eq!(body["offered"], Value::Null);
    assert_eq!(body["version"], dry["version"]);
    assert_eq!(body["position"], dry["position"]);
    let cohort = app.cohort(&id).await;
    assert_eq!(keys(&cohort, "enrolled"), ["bo@x.org"]);
    assert_eq!(keys(&cohort, "waitlist"), ["cy@x.org"]);

    // Twice: no offer left to accept.
    let (status, body) = app.post_json(&path, &json!(null)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("no_offer"))
    );
    // Someone who was never offered a seat.
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/offers/cy@x.org/accept"),
            &json!(null),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("no_offer")),
        "{body}"
    );
}

#[tokio::test]
async fn declining_an_offer_through_the_api_offers_the_seat_to_the_next_in_line() {
    let app = TestApp::spawn().await;
    let id = bo_offered(&app, "2h").await;
    let path = format!("/api/v1/cohorts/{id}/offers/bo@x.org/decline");
    let (status, dry) = app
        .post_json(
            &format!("{path}?dry_run=true"),
            &json!({"reason": "found another"}),
        )
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        (dry["outcome"].as_str(), dry["offered"].as_str()),
        (Some("declined"), Some("cy@x.org"))
    );
    app.clock.set(ts(NOW) + SignedDuration::from_mins(30));
    let (status, body) = app
        .post_json(&path, &json!({"reason": "found another"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "declined");
    assert_eq!(body["offered"], "cy@x.org");
    let events = cohort_events(&app, &id).await;
    let tail: Vec<&Value> = events.iter().rev().take(2).rev().collect();
    assert_eq!(tail[0]["type"], "offer.declined");
    assert_eq!(tail[0]["data"]["reason"], "found another");
    assert_eq!(tail[1]["type"], "waitlist.offered");
    assert_eq!(tail[1]["data"]["learner"], "cy@x.org");
    // Held two hours from the decline.
    assert_eq!(
        tail[1]["data"]["expires_at"],
        json!(ts(NOW) + SignedDuration::from_mins(150))
    );
    // A bad reason, a bad learner key in the path: 400, nothing written.
    let before = head(&app).await;
    let (status, body) = app.post_json(&path, &json!({"reason": 5})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/offers/%20/decline"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_path")),
        "{body}"
    );
    assert_eq!(head(&app).await, before);
}

#[tokio::test]
async fn the_policy_fields_of_a_creation_are_checked() {
    let app = TestApp::spawn().await;
    for (fields, wrong) in [
        (json!({"promotion": "sometimes"}), "promotion"),
        (
            json!({"promotion": "offer", "offer_hold": "0s"}),
            "offer_hold",
        ),
        (
            json!({"promotion": "automatic", "offer_hold": "2h"}),
            "offer_hold",
        ),
        (json!({"offer_hold": "soon"}), "offer_hold"),
        (json!({"waitlist_cap": 5_000_000_000_u64}), "waitlist_cap"),
    ] {
        let mut body = cohort_body("Policy", 1);
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = app.post_json("/api/v1/cohorts", &body).await;
        assert_eq!(status, 400, "{fields}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(wrong),
            "{answer}"
        );
    }
    let mut body = cohort_body("Capped", 1);
    body["waitlist_cap"] = json!(0);
    body["promotion"] = json!("offer");
    body["offer_hold"] = json!("90m");
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let events = cohort_events(&app, id).await;
    assert_eq!(events[1]["type"], "cohort.policy_changed");
    assert_eq!(
        events[1]["data"],
        json!({"promotion": "offer", "offer_hold": "1h 30m", "waitlist_cap": 0})
    );
}

#[tokio::test]
async fn the_scheduler_expires_an_offer_when_the_clock_passes_its_hold_and_offers_the_next() {
    let app = TestApp::spawn().await;
    let id = bo_offered(&app, "2h").await;
    let hold_ends: Timestamp = cohort_events(&app, &id).await.last().unwrap()["data"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let later = hold_ends + SignedDuration::from_secs(1);
    app.clock.set(later);
    let events = until_event(&app, &id, "offer.expired").await;
    let at = events
        .iter()
        .position(|e| e["type"] == "offer.expired")
        .unwrap();
    let (expired, offered) = (&events[at], &events[at + 1]);
    assert_eq!(expired["data"]["learner"], "bo@x.org");
    assert_eq!(expired["actor"], "system", "{expired}");
    assert_eq!(offered["type"], "waitlist.offered");
    assert_eq!(offered["data"]["learner"], "cy@x.org");
    assert_eq!(offered["actor"], "system");
    assert_eq!(offered["command_id"], expired["command_id"], "one command");
    assert_eq!(offered["data"]["offered_at"], json!(later));
    assert_eq!(
        offered["data"]["expires_at"],
        json!(later + SignedDuration::from_hours(2))
    );
    assert_eq!(events.len(), at + 2, "{:?}", types(&events));
    // bo's offer is gone: accepting it now is refused.
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/offers/bo@x.org/accept"),
            &json!(null),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // The history page names the system as the actor.
    let page = app
        .get(&format!("/cohorts/{id}/history"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<td data-label="By">system</td>"#),
        "{page}"
    );
}

#[tokio::test]
async fn an_offer_overdue_while_the_server_was_down_is_expired_at_the_restart() {
    let app = TestApp::spawn().await;
    let id = bo_offered(&app, "2h").await;
    let (dir, db, clock, credentials) = app.stop().await;
    clock.set(ts(NOW) + SignedDuration::from_hours(3));
    let mut app = TestApp::spawn_on(db, clock, credentials).await;
    app.keep(dir.expect("the test owns the folder"));
    let events = until_event(&app, &id, "offer.expired").await;
    let expired = events
        .iter()
        .find(|e| e["type"] == "offer.expired")
        .unwrap();
    assert_eq!(expired["actor"], "system");
    assert_eq!(expired["data"]["learner"], "bo@x.org");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "waitlist.offered");
    assert_eq!(last["data"]["learner"], "cy@x.org");
}

/// The real binary, on the system clock: an offer held two seconds expires on its own, and the
/// seat is offered to the next in line. The server logs each expiry; the test waits on that
/// line (a generous timeout guards a hung test), then checks what the API shows.
#[tokio::test(flavor = "multi_thread")]
async fn the_real_binary_expires_an_offer_held_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rollbook.redb");
    let token = staff_token(&db, "offers");
    let mut server = ServerProcess::start(&db);
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        client
            .post(server.url(&path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let now = Timestamp::now();
    let days = |d: i64| json!(now + SignedDuration::from_hours(24 * d));
    let created: Value = post(
        "/api/v1/cohorts".to_owned(),
        json!({"name": "Short hold", "course": "C-1", "instructor": "Ada", "capacity": 1,
               "starts_at": days(20), "enrollment_deadline": days(10),
               "withdrawal_deadline": days(30), "promotion": "offer", "offer_hold": "2s"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().expect("created").to_owned();
    for learner in ["ana@x.org", "bo@x.org", "cy@x.org"] {
        let r = post(
            format!("/api/v1/cohorts/{id}/enrollments"),
            json!({"learner": learner}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = post(
        format!("/api/v1/cohorts/{id}/withdrawals"),
        json!({"learner": "ana@x.org"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    // bo's offer (2 s), then cy's once bo's expires: two expiries, in order.
    let line = tokio::task::block_in_place(|| server.wait_for("offers expired"));
    assert!(line.contains(&id), "{line}");
    let events: Value = client
        .get(server.url(&format!("/api/v1/cohorts/{id}/events")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = events["events"].as_array().unwrap();
    let expired = events
        .iter()
        .find(|e| e["type"] == "offer.expired")
        .expect("an expiry");
    assert_eq!(expired["data"]["learner"], "bo@x.org");
    assert_eq!(expired["actor"], "system");
    let next = events
        .iter()
        .rfind(|e| e["type"] == "waitlist.offered")
        .unwrap();
    assert_eq!(next["data"]["learner"], "cy@x.org");
    server.terminate();
    assert!(server.wait().success());
}

/// Follows a form's redirect and returns the page it lands on.
async fn landed(app: &TestApp, response: reqwest::Response) -> String {
    assert_eq!(response.status(), 303, "Post/Redirect/Get");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    app.get(&location).await.text().await.unwrap()
}

#[tokio::test]
async fn the_pages_show_offers_and_their_forms_accept_and_decline() {
    let app = TestApp::spawn().await;
    let id = bo_offered(&app, "2h").await;
    // The cohort page lists the offer with its buttons and the decline's confirmation.
    let page = app
        .get(&format!("/cohorts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Seats offered (1)"), "{page}");
    // A held seat counts as taken, and the summary says so.
    assert!(
        page.contains("0 of 1 taken, 1 more held for an offer · 0 free"),
        "{page}"
    );
    assert!(page.contains(r#"aria-label="Accept the seat for bo@x.org">Accept</button>"#));
    assert!(
        page.contains(
            "bo@x.org declines the seat; it is offered to cy@x.org (head of the waitlist)"
        )
    );
    assert!(page.contains("in 2 h 0 min"));
    // The learner page says until when.
    let learner = app.get("/learners/bo@x.org").await.text().await.unwrap();
    assert!(learner.contains("Offered a seat in <a"), "{learner}");
    assert!(learner.contains("Accept the seat"));
    // The dashboard lists it among the offers due within 24 hours.
    let dashboard = app.get("/").await.text().await.unwrap();
    assert!(
        dashboard.contains("expiring within 24 hours"),
        "{dashboard}"
    );
    assert!(dashboard.contains("bo@x.org</a> · <a"));

    // A decline without its box ticked is refused beside the offers, and writes nothing.
    let before = head(&app).await;
    let refused = app
        .post_form(
            &format!("/cohorts/{id}/offers/decline"),
            &[("learner", "bo@x.org"), ("reason", "moved")],
        )
        .await;
    // Post/Redirect/Get: the refusal shows on the cohort page at the offers.
    assert!(
        refused.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("#offers-h")
    );
    let text = landed(&app, refused).await;
    assert!(text.contains("tick the box to confirm"), "{text}");
    assert_eq!(head(&app).await, before);

    let done = app
        .post_form(
            &format!("/cohorts/{id}/offers/decline"),
            &[
                ("learner", "bo@x.org"),
                ("reason", "moved"),
                ("confirm", "yes"),
            ],
        )
        .await;
    let page = landed(&app, done).await;
    assert!(
        page.contains("bo@x.org declined the seat — cy@x.org is offered the seat until"),
        "{page}"
    );
    // Accepting for someone holding no offer: refused in plain words, nothing written.
    let before = head(&app).await;
    let refused = app
        .post_form(
            &format!("/cohorts/{id}/offers/accept"),
            &[("learner", "bo@x.org")],
        )
        .await;
    let text = landed(&app, refused).await;
    assert!(text.contains("Not done:"), "{text}");
    assert_eq!(head(&app).await, before);

    let done = app
        .post_form(
            &format!("/cohorts/{id}/offers/accept"),
            &[("learner", "cy@x.org")],
        )
        .await;
    let page = landed(&app, done).await;
    assert!(page.contains("cy@x.org accepted the seat"), "{page}");
    assert!(!page.contains("Seats offered ("), "no offer left");
    assert_eq!(keys(&app.cohort(&id).await, "enrolled"), ["cy@x.org"]);
}

/// The decline's confirmation says what the rules will do with the seat: offered to the head
/// while enrollment is open, left empty once it is closed — on the cohort page and the
/// learner's.
#[tokio::test]
async fn a_decline_says_where_the_seat_goes_and_not_to_anyone_while_closed() {
    let app = TestApp::spawn().await;
    let id = bo_offered(&app, "2h").await;
    let (status, _) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/close"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let page = app
        .get(&format!("/cohorts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("bo@x.org declines the seat; the seat stays empty: enrollment is closed."),
        "{page}"
    );
    assert!(!page.contains("it is offered to cy@x.org"), "{page}");
    let learner = app.get("/learners/bo@x.org").await.text().await.unwrap();
    assert!(
        learner.contains("; the seat stays empty: enrollment is closed. This cannot be undone."),
        "{learner}"
    );
}
