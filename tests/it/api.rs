//! The JSON API through real HTTP: every route, its error cases, idempotency, `If-Match`, and
//! the race for the last seats.

use serde_json::{Value, json};

use crate::helpers::*;

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

#[tokio::test]
async fn the_lessons_example_over_the_api() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Rust in Practice", 2).await;
    assert_eq!(app.enroll(&id, "alice@example.org").await, "enrolled");
    assert_eq!(app.enroll(&id, "bob@example.org").await, "enrolled");
    assert_eq!(app.enroll(&id, "carla@example.org").await, "waitlisted");

    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/withdrawals"),
            &json!({"learner": "alice@example.org", "reason": "moved"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "withdrawn");
    assert_eq!(body["promoted"], "carla@example.org");

    let cohort = app.cohort(&id).await;
    assert_eq!(
        keys(&cohort, "enrolled"),
        ["bob@example.org", "carla@example.org"]
    );
    assert_eq!(cohort["seats_remaining"], 0);
    assert_eq!(cohort["waitlist_count"], 0);

    let (_, events) = app.get_json(&format!("/api/v1/cohorts/{id}/events")).await;
    let types: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "cohort.created",
            "student.enrolled",
            "student.enrolled",
            "student.waitlisted",
            "student.withdrawn",
            "waitlist.promoted"
        ]
    );
}

#[tokio::test]
async fn create_returns_id_version_position_and_the_cohort_reads_back() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post_json("/api/v1/cohorts", &cohort_body("Spring", 30))
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["version"], 1);
    assert_eq!(body["position"], 1);
    let id = body["id"].as_str().unwrap();
    let parsed = uuid::Uuid::parse_str(id).expect("the id is a UUID");
    assert_eq!(parsed.get_version_num(), 7, "a time-ordered UUID: {id}");
    // The position is the cohort's creation in the feed.
    let (_, feed) = app.get_json("/api/v1/events?after=0&limit=1").await;
    assert_eq!(feed["events"][0]["position"], 1);
    assert_eq!(feed["events"][0]["type"], "cohort.created");
    assert_eq!(feed["events"][0]["cohort"], id);
    let cohort = app.cohort(id).await;
    for (field, value) in [
        ("name", json!("Spring")),
        ("course", json!("RUST-101")),
        ("instructor", json!("Ada Lovelace")),
        ("capacity", json!(30)),
        ("enrolled_count", json!(0)),
        ("waitlist_count", json!(0)),
        ("seats_remaining", json!(30)),
        ("status", json!("open")),
        ("version", json!(1)),
        ("starts_at", json!(STARTS_AT)),
        ("enrollment_deadline", json!(ENROLLMENT_DEADLINE)),
        ("withdrawal_deadline", json!(WITHDRAWAL_DEADLINE)),
        ("enrolled", json!([])),
        ("waitlist", json!([])),
        ("position", json!(1)),
    ] {
        assert_eq!(cohort[field], value, "field {field}");
    }
}

#[tokio::test]
async fn create_rejects_bad_input_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let mut missing = cohort_body("X", 3);
    missing.as_object_mut().unwrap().remove("capacity");
    let mut wrong_type = cohort_body("X", 3);
    wrong_type["capacity"] = json!("lots");
    let mut zero = cohort_body("X", 3);
    zero["capacity"] = json!(0);
    let mut bad_time = cohort_body("X", 3);
    bad_time["starts_at"] = json!("next tuesday");
    let mut empty_name = cohort_body("X", 3);
    empty_name["name"] = json!("  ");
    let mut schedule = cohort_body("X", 3);
    schedule["withdrawal_deadline"] = json!("2026-03-05T00:00:00Z");

    for (body, status, code, field) in [
        (missing, 400, "invalid_field", "capacity"),
        (wrong_type, 400, "invalid_field", "capacity"),
        (zero, 400, "invalid_field", "capacity"),
        (bad_time, 400, "invalid_field", "starts_at"),
        (empty_name, 400, "invalid_field", "name"),
        (schedule, 422, "invalid_schedule", "withdrawal deadline"),
    ] {
        let (got, error) = app.post_json("/api/v1/cohorts", &body).await;
        assert_eq!(got, status, "{error}");
        assert_eq!(error_code(&error), code, "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{message:?} should name {field}");
    }

    let raw = app
        .client
        .post(app.url("/api/v1/cohorts"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(error_code(&raw.json().await.unwrap()), "malformed_json");

    let no_type = app
        .client
        .post(app.url("/api/v1/cohorts"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), 415);
    assert_eq!(
        error_code(&no_type.json().await.unwrap()),
        "unsupported_media_type"
    );

    let mut huge = cohort_body("X", 3);
    huge["name"] = json!("n".repeat(100 * 1024));
    let (status, error) = app.post_json("/api/v1/cohorts", &huge).await;
    assert_eq!((status, error_code(&error)), (413, "payload_too_large"));
    let mut long = cohort_body("X", 3);
    long["name"] = json!("n".repeat(201));
    let (status, error) = app.post_json("/api/v1/cohorts", &long).await;
    assert_eq!((status, error_code(&error)), (400, "invalid_field"));
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 200 characters")
    );

    let (_, feed) = app.get_json("/api/v1/events").await;
    assert_eq!(feed["head"], 0, "nothing was written");
}

#[tokio::test]
async fn every_rule_violation_has_its_code() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Tiny", 1).await;
    let at = |p: &str| format!("/api/v1/cohorts/{id}{p}");
    app.enroll(&id, "ana").await;

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/enrollments",
            json!({"learner": "ANA"}),
            "already_enrolled",
        ),
        ("/withdrawals", json!({"learner": "nobody"}), "not_enrolled"),
        ("/promotions", json!(null), "waitlist_empty"),
        ("/capacity", json!({"capacity": 1}), "capacity_unchanged"),
    ];
    for (path, body, code) in cases {
        let (status, error) = app.post_json(&at(path), &body).await;
        assert_eq!((status, error_code(&error)), (422, code), "{path}: {error}");
    }

    assert_eq!(app.enroll(&id, "ben").await, "waitlisted");
    let (status, error) = app
        .post_json(&at("/enrollments"), &json!({"learner": "ben"}))
        .await;
    assert_eq!((status, error_code(&error)), (422, "already_waitlisted"));
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ben is already waitlisted, at place 1 of 1")
    );
    let (status, error) = app.post_json(&at("/promotions"), &json!(null)).await;
    assert_eq!((status, error_code(&error)), (422, "no_seat_free"));
    assert_eq!(
        error["error"]["message"],
        "no seat free: 1 of 1 seats taken"
    );

    let (status, body) = app
        .post_json(&at("/capacity"), &json!({"capacity": 2}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["promoted"], json!(["ben"]));
    let (status, error) = app
        .post_json(&at("/capacity"), &json!({"capacity": 1}))
        .await;
    assert_eq!(
        (status, error_code(&error)),
        (422, "capacity_below_enrolled")
    );
    assert_eq!(
        error["error"]["message"],
        "capacity 1 is below the 2 learners enrolled"
    );

    let (status, body) = app.post_json(&at("/close"), &json!(null)).await;
    assert_eq!(status, 200, "{body}");
    let (status, error) = app
        .post_json(&at("/enrollments"), &json!({"learner": "cy"}))
        .await;
    assert_eq!((status, error_code(&error)), (422, "enrollment_closed"));

    app.clock.set(ts("2026-03-21T00:00:00Z"));
    let (status, error) = app
        .post_json(&at("/withdrawals"), &json!({"learner": "ana"}))
        .await;
    assert_eq!(
        (status, error_code(&error)),
        (422, "withdrawal_deadline_passed")
    );
    assert_eq!(
        error["error"]["message"],
        "withdrawal deadline 2026-03-20 00:00 UTC passed at 2026-03-21 00:00 UTC"
    );

    let other = {
        app.clock.set(ts(NOW));
        app.create_cohort("Later", 5).await
    };
    app.clock.set(ts("2026-03-10T00:00:01Z"));
    let (status, error) = app
        .post_json(
            &format!("/api/v1/cohorts/{other}/enrollments"),
            &json!({"learner": "dee"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&error)),
        (422, "enrollment_deadline_passed")
    );
}

#[tokio::test]
async fn withdrawing_a_waitlisted_learner_leaves_the_waitlist() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Full", 1).await;
    app.enroll(&id, "a").await;
    app.enroll(&id, "b").await;
    app.enroll(&id, "c").await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/withdrawals"),
            &json!({"learner": "b"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["outcome"], "left_waitlist");
    assert_eq!(body["promoted"], Value::Null);
    assert_eq!(keys(&app.cohort(&id).await, "waitlist"), ["c"]);
}

#[tokio::test]
async fn a_withdrawal_records_its_reason_code_and_an_unknown_code_is_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Coded", 2).await;
    app.enroll(&id, "a").await;
    app.enroll(&id, "b").await;
    let at = format!("/api/v1/cohorts/{id}/withdrawals");
    let (status, body) = app
        .post_json(
            &at,
            &json!({"learner": "a", "reason_code": "moving", "reason": "x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "invalid_field");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reason_code")
    );
    let (status, body) = app
        .post_json(
            &at,
            &json!({"learner": "a", "reason_code": "financial", "reason": "fees went up"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Without a code, a withdrawal is `other`.
    let (status, _) = app.post_json(&at, &json!({"learner": "b"})).await;
    assert_eq!(status, 200);
    let (_, events) = app.get_json(&format!("/api/v1/cohorts/{id}/events")).await;
    let withdrawals: Vec<(&str, &str, u64)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "student.withdrawn")
        .map(|e| {
            (
                e["data"]["reason_code"].as_str().unwrap(),
                e["data"]["reason"].as_str().unwrap(),
                e["schema_version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        withdrawals,
        [("financial", "fees went up", 3), ("other", "", 3)]
    );
}

#[tokio::test]
async fn manual_promotion_answers_who_was_promoted() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Promo", 1).await;
    app.enroll(&id, "a").await;
    app.enroll(&id, "b").await;
    // Closing, then raising capacity, leaves a free seat and a waitlist; promotion is refused
    // while closed.
    app.post_json(&format!("/api/v1/cohorts/{id}/close"), &json!(null))
        .await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/capacity"),
            &json!({"capacity": 2}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["promoted"], json!([]));
    let (status, error) = app
        .post_json(&format!("/api/v1/cohorts/{id}/promotions"), &json!(null))
        .await;
    assert_eq!((status, error_code(&error)), (422, "enrollment_closed"));
}

#[tokio::test]
async fn unknown_cohorts_are_404_and_bad_parameters_400() {
    let app = TestApp::spawn().await;
    let random = uuid::Uuid::now_v7();
    let (status, error) = app.get_json(&format!("/api/v1/cohorts/{random}")).await;
    assert_eq!((status, error_code(&error)), (404, "cohort_not_found"));
    let (status, error) = app.get_json("/api/v1/cohorts/not-a-uuid").await;
    assert_eq!((status, error_code(&error)), (404, "cohort_not_found"));
    let (status, error) = app
        .post_json(
            &format!("/api/v1/cohorts/{random}/enrollments"),
            &json!({"learner": "a"}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (404, "cohort_not_found"));
    let (status, error) = app
        .get_json(&format!("/api/v1/cohorts/{random}/events"))
        .await;
    assert_eq!((status, error_code(&error)), (404, "cohort_not_found"));
    let (status, error) = app.get_json("/api/v1/cohorts?status=maybe").await;
    assert_eq!((status, error_code(&error)), (400, "invalid_parameter"));
    let (status, error) = app.get_json("/api/v1/cohorts?limit=-1").await;
    assert_eq!((status, error_code(&error)), (400, "invalid_parameter"));
    let (status, error) = app.get_json("/api/v1/events?after=x").await;
    assert_eq!((status, error_code(&error)), (400, "invalid_parameter"));
    let (status, error) = app.get_json("/api/v1/learners/nobody/timeline").await;
    assert_eq!((status, error_code(&error)), (404, "learner_not_found"));
    let (status, error) = app.get_json("/api/v1/nothing-here").await;
    assert_eq!((status, error_code(&error)), (404, "not_found"));

    let id = app.create_cohort("Real", 2).await;
    let (status, error) = app
        .get_json(&format!("/api/v1/cohorts/{id}?as_of=yesterday"))
        .await;
    assert_eq!((status, error_code(&error)), (400, "invalid_parameter"));
    let (status, error) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/enrollments"),
            &json!({"learner": "   "}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (400, "invalid_field"));
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("learner:")
    );
    let (status, error) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/enrollments"),
            &json!({"learner": "a", "seat": 3}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (400, "invalid_field"));
    let (status, error) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/capacity"),
            &json!({"capacity": -3}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (400, "invalid_field"));
}

#[tokio::test]
async fn listing_filters_by_instructor_and_status_and_pages() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for (i, instructor) in ["Ada", "Grace", "Ada"].iter().enumerate() {
        let mut body = cohort_body(&format!("C{i}"), 5);
        body["instructor"] = json!(instructor);
        let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
        assert_eq!(status, 201);
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    app.post_json(&format!("/api/v1/cohorts/{}/close", ids[2]), &json!(null))
        .await;

    let (_, all) = app.get_json("/api/v1/cohorts").await;
    assert_eq!(all["total"], 3);
    let names: Vec<&str> = all["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["C2", "C1", "C0"], "newest first");
    let first = &all["cohorts"][0];
    for field in [
        "id",
        "name",
        "course",
        "instructor",
        "capacity",
        "enrolled_count",
        "waitlist_count",
        "seats_remaining",
        "status",
        "version",
    ] {
        assert!(first.get(field).is_some(), "summary has {field}");
    }

    let (_, ada) = app.get_json("/api/v1/cohorts?instructor=ada").await;
    assert_eq!(ada["total"], 2);
    let (_, open_ada) = app
        .get_json("/api/v1/cohorts?instructor=Ada&status=open")
        .await;
    assert_eq!(open_ada["total"], 1);
    assert_eq!(open_ada["cohorts"][0]["id"], ids[0].as_str());
    let (_, closed) = app.get_json("/api/v1/cohorts?status=closed").await;
    assert_eq!(closed["cohorts"][0]["status"], "closed");
    let (_, page) = app.get_json("/api/v1/cohorts?limit=1&offset=1").await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["cohorts"].as_array().unwrap().len(), 1);
    assert_eq!(page["cohorts"][0]["name"], "C1");
}

#[tokio::test]
async fn the_event_feed_pages_by_position_and_shows_learner_keys() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Feed", 5).await;
    for l in ["a@x.org", "b@x.org", "c@x.org"] {
        app.enroll(&id, l).await;
    }
    let (_, first) = app.get_json("/api/v1/events?after=0&limit=2").await;
    assert_eq!(first["head"], 4);
    assert_eq!(first["next_after"], 2);
    let events = first["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["position"], 2);
    assert_eq!(events[1]["type"], "student.enrolled");
    assert_eq!(events[1]["data"], json!({"learner": "a@x.org"}));
    assert_eq!(events[1]["actor"], "staff");
    assert_eq!(events[1]["schema_version"], 1);
    assert_eq!(events[1]["cohort"], id.as_str());
    assert_eq!(events[1]["version"], 2);
    for field in ["occurred_at", "recorded_at"] {
        assert_eq!(
            events[1][field].as_str().map(ts),
            Some(ts(NOW)),
            "{field} is the clock's time"
        );
    }
    // Each command has its own id; without X-Correlation-Id / X-Causation-Id, both are the
    // command's id.
    let command_ids: Vec<uuid::Uuid> = events
        .iter()
        .map(|e| {
            let command = uuid::Uuid::parse_str(e["command_id"].as_str().unwrap()).unwrap();
            assert!(!command.is_nil());
            for field in ["correlation_id", "causation_id"] {
                assert_eq!(
                    e[field], e["command_id"],
                    "{field} defaults to the command id"
                );
            }
            command
        })
        .collect();
    assert_ne!(command_ids[0], command_ids[1]);
    let (_, rest) = app.get_json("/api/v1/events?after=2").await;
    let positions: Vec<u64> = rest["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, [3, 4]);
}

#[tokio::test]
async fn a_learner_timeline_spans_cohorts() {
    let app = TestApp::spawn().await;
    let one = app.create_cohort("One", 1).await;
    let two = app.create_cohort("Two", 1).await;
    let (status, _) = app
        .post_json(
            &format!("/api/v1/cohorts/{one}/enrollments"),
            &json!({"learner": "Ana@X.org", "name": "Ana Li"}),
        )
        .await;
    assert_eq!(status, 200);
    app.enroll(&two, "zed").await;
    app.enroll(&two, "ana@x.org").await;
    let (status, timeline) = app.get_json("/api/v1/learners/ana@x.org/timeline").await;
    assert_eq!(status, 200, "{timeline}");
    assert_eq!(timeline["learner"], "ana@x.org");
    assert_eq!(timeline["name"], "Ana Li");
    let events: Vec<(&str, &str)> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["cohort"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        [
            ("student.enrolled", one.as_str()),
            ("student.waitlisted", two.as_str())
        ]
    );
}

#[tokio::test]
async fn time_travel_shows_the_cohort_as_it_was() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Past", 2).await;
    app.clock.set(ts("2026-03-02T09:00:00Z"));
    app.enroll(&id, "a").await;
    app.clock.set(ts("2026-03-03T09:00:00Z"));
    app.enroll(&id, "b").await;
    app.post_json(
        &format!("/api/v1/cohorts/{id}/withdrawals"),
        &json!({"learner": "a"}),
    )
    .await;

    let (_, at_2) = app.get_json(&format!("/api/v1/cohorts/{id}?as_of=2")).await;
    assert_eq!(keys(&at_2, "enrolled"), ["a"]);
    assert_eq!(at_2["version"], 2);
    let (_, by_time) = app
        .get_json(&format!("/api/v1/cohorts/{id}?as_of=2026-03-02T12:00:00Z"))
        .await;
    assert_eq!(keys(&by_time, "enrolled"), ["a"]);
    let (_, now) = app.get_json(&format!("/api/v1/cohorts/{id}")).await;
    assert_eq!(keys(&now, "enrolled"), ["b"]);
    let (status, error) = app
        .get_json(&format!("/api/v1/cohorts/{id}?as_of=2026-01-01T00:00:00Z"))
        .await;
    assert_eq!((status, error_code(&error)), (404, "cohort_not_found"));
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Idem", 5).await;
    let send = |key: &'static str, learner: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
            .header("Idempotency-Key", key)
            .json(&json!({"learner": learner}))
            .send()
    };
    let first: Value = send("k-1", "ana").await.unwrap().json().await.unwrap();
    let again = send("k-1", "ana").await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let (_, feed) = app.get_json("/api/v1/events").await;
    assert_eq!(feed["head"], 2, "the repeat wrote nothing");

    let reused = send("k-1", "bob").await.unwrap();
    assert_eq!(reused.status(), 422);
    assert_eq!(
        error_code(&reused.json().await.unwrap()),
        "idempotency_key_reused"
    );

    let create = || {
        app.client
            .post(app.url("/api/v1/cohorts"))
            .header("Idempotency-Key", "create-1")
            .json(&cohort_body("Once", 3))
            .send()
    };
    let a: Value = create().await.unwrap().json().await.unwrap();
    let b = create().await.unwrap();
    assert_eq!(b.status(), 201);
    assert_eq!(
        b.json::<Value>().await.unwrap()["id"],
        a["id"],
        "the same cohort, not a second one"
    );
    let (_, list) = app.get_json("/api/v1/cohorts").await;
    assert_eq!(list["total"], 2);
}

#[tokio::test]
async fn if_match_refuses_a_cohort_that_moved_on() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Versions", 5).await;
    let enroll = |version: &'static str, learner: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
            .header("If-Match", version)
            .json(&json!({"learner": learner}))
            .send()
    };
    let ok = enroll("\"1\"", "ana").await.unwrap();
    assert_eq!(ok.status(), 200);
    let stale = enroll("\"1\"", "bob").await.unwrap();
    assert_eq!(stale.status(), 409);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(error_code(&body), "version_conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 2")
    );
    let bad = enroll("one", "bob").await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(app.cohort(&id).await["enrolled_count"], 1);
}

#[tokio::test]
async fn healthz_answers_once_replayed() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Replayed", 1).await;
    app.enroll(&id, "ana@x.org").await;
    app.enroll(&id, "ben@x.org").await;
    let (dir, db, clock, credentials) = app.stop().await;

    // Started again on the same file: by the time /healthz answers (the first request), every
    // projection has replayed the three events.
    let again = TestApp::spawn_on(db, clock, credentials).await;
    let (status, body) = again.get_json("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["position"], 3, "{body}");
    let projections = body["projections"].as_object().unwrap();
    assert!(!projections.is_empty(), "{body}");
    for (name, position) in projections {
        assert_eq!(position, 3, "projection {name} replayed: {body}");
    }
    let cohort = again.cohort(&id).await;
    assert_eq!(keys(&cohort, "enrolled"), ["ana@x.org"]);
    assert_eq!(keys(&cohort, "waitlist"), ["ben@x.org"]);
    again.stop().await;
    drop(dir);
}

/// `X-Correlation-Id` and `X-Causation-Id` are recorded on the events the command writes; a
/// malformed one is a 400 naming the header, and writes nothing.
#[tokio::test]
async fn correlation_and_causation_headers_are_recorded_on_the_events() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Traced", 5).await;
    let (correlation, causation) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let response = app
        .client
        .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
        .header("x-correlation-id", correlation.to_string())
        .header("x-causation-id", causation.to_string())
        .json(&json!({"learner": "ana@x.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let position = response.json::<Value>().await.unwrap()["position"]
        .as_u64()
        .unwrap();
    // Only a causation: the correlation defaults to the command's id.
    let response = app
        .client
        .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
        .header("x-causation-id", causation.to_string())
        .json(&json!({"learner": "ben@x.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let (_, feed) = app
        .get_json(&format!("/api/v1/events?after={}", position - 1))
        .await;
    let events = feed["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{feed}");
    assert_eq!(events[0]["data"]["learner"], "ana@x.org");
    assert_eq!(events[0]["correlation_id"], correlation.to_string());
    assert_eq!(events[0]["causation_id"], causation.to_string());
    assert_ne!(events[0]["command_id"], correlation.to_string());
    assert_ne!(events[0]["command_id"], causation.to_string());
    assert_eq!(events[1]["data"]["learner"], "ben@x.org");
    assert_eq!(events[1]["causation_id"], causation.to_string());
    assert_eq!(events[1]["correlation_id"], events[1]["command_id"]);
    // The cohort's own stream says the same.
    let (_, stream) = app.get_json(&format!("/api/v1/cohorts/{id}/events")).await;
    let enrolled = stream["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["learner"] == "ana@x.org")
        .unwrap();
    assert_eq!(enrolled["causation_id"], causation.to_string());

    for header in ["x-correlation-id", "x-causation-id"] {
        let response = app
            .client
            .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
            .header(header, "not-a-uuid")
            .json(&json!({"learner": "cy@x.org"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{header}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "invalid_field");
        let message = body["error"]["message"].as_str().unwrap().to_lowercase();
        assert!(message.contains(header), "{body}");
    }
    let (_, after) = app.get_json("/api/v1/events").await;
    assert_eq!(after["head"], position + 1, "nothing more was written");
}

/// `Idempotency-Key` is 1 to 200 characters: 200 is taken (and remembered), 201 or none at all
/// (an empty value) is a 400 that writes nothing.
#[tokio::test]
async fn idempotency_keys_are_one_to_two_hundred_characters() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Keys", 5).await;
    let send = |key: String, learner: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
            .header("idempotency-key", key)
            .json(&json!({"learner": learner}))
            .send()
    };
    let longest = "k".repeat(200);
    let first = send(longest.clone(), "ana@x.org").await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = send(longest, "ana@x.org").await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first, "remembered");
    let one = send("k".to_owned(), "ben@x.org").await.unwrap();
    assert_eq!(one.status(), 200);

    for key in ["k".repeat(201), String::new()] {
        let response = send(key.clone(), "cy@x.org").await.unwrap();
        assert_eq!(response.status(), 400, "a key of {} characters", key.len());
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "invalid_field");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key"),
            "{body}"
        );
    }
    let (_, feed) = app.get_json("/api/v1/events").await;
    assert_eq!(
        feed["head"], 3,
        "the cohort and two enrollments, nothing else"
    );
}

/// The body limit is 64 KiB: a JSON body of exactly 65,536 bytes is read, one byte more is a
/// 413; the same for a form.
#[tokio::test]
async fn the_64_kib_body_limit_is_exact_for_json_and_forms() {
    const LIMIT: usize = 64 * 1024;
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Boundary", 5).await;

    // JSON: a valid body padded with whitespace to an exact size.
    let padded_json = |size: usize| {
        let body = json!({"learner": format!("json-{size}@x.org")}).to_string();
        format!("{body}{}", " ".repeat(size - body.len()))
    };
    for (size, expected) in [(LIMIT - 1, 200), (LIMIT, 200), (LIMIT + 1, 413)] {
        let body = padded_json(size);
        assert_eq!(body.len(), size);
        let response = app
            .client
            .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, expected, "a JSON body of {size} bytes: {answer}");
        if expected == 413 {
            assert_eq!(error_code(&answer), "payload_too_large");
        }
    }

    // A form: valid fields, padded with empty pairs (`&`), which form decoding skips.
    let padded_form = |size: usize| {
        let body = serde_urlencoded::to_string([
            ("learner", format!("form-{size}@x.org")),
            ("csrf", app.csrf.clone()),
        ])
        .unwrap();
        format!("{body}{}", "&".repeat(size - body.len()))
    };
    for (size, expected) in [(LIMIT - 1, 303), (LIMIT, 303), (LIMIT + 1, 413)] {
        let body = padded_form(size);
        assert_eq!(body.len(), size);
        let response = app
            .client
            .post(app.url(&format!("/cohorts/{id}/enroll")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            expected,
            "a form of {size} bytes"
        );
    }
    let cohort = app.cohort(&id).await;
    let mut enrolled = keys(&cohort, "enrolled");
    enrolled.sort();
    assert_eq!(
        enrolled,
        [
            format!("form-{}@x.org", LIMIT - 1),
            format!("form-{LIMIT}@x.org"),
            format!("json-{}@x.org", LIMIT - 1),
            format!("json-{LIMIT}@x.org"),
        ],
        "exactly the bodies within the limit were taken"
    );
}

/// 200 staff racing for 20 seats: exactly 20 win, 180 wait in commit order, 201 events.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_enrollments_into_twenty_seats() {
    // 200 connections from one address: above the per-address share (64 by default), which
    // would close the excess at once.
    let app = TestApp::spawn_with(|config| config.max_connections_per_address = 256).await;
    let id = app.create_cohort("Race", 20).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/cohorts/{id}/enrollments"));
        tasks.spawn(async move {
            let response = client
                .post(url)
                .json(&json!({"learner": format!("learner-{i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            (
                body["outcome"].as_str().unwrap().to_owned(),
                body["position"].as_u64().unwrap(),
            )
        });
    }
    let mut outcomes = Vec::new();
    while let Some(result) = tasks.join_next().await {
        outcomes.push(result.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|(o, _)| o == "enrolled").count(), 20);
    assert_eq!(
        outcomes.iter().filter(|(o, _)| o == "waitlisted").count(),
        180
    );

    let cohort = app.cohort(&id).await;
    assert_eq!(cohort["enrolled_count"], 20);
    assert_eq!(cohort["waitlist_count"], 180);

    let (_, feed) = app.get_json("/api/v1/events?limit=1000").await;
    let events = feed["events"].as_array().unwrap();
    assert_eq!(events.len(), 201);
    assert_eq!(feed["head"], 201);
    // The waitlist is in commit order: by position of each `student.waitlisted`, with places 1..=180.
    let waitlisted: Vec<(String, u64)> = events
        .iter()
        .filter(|e| e["type"] == "student.waitlisted")
        .map(|e| {
            (
                e["data"]["learner"].as_str().unwrap().to_owned(),
                e["data"]["position"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        keys(&cohort, "waitlist"),
        waitlisted
            .iter()
            .map(|(l, _)| l.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        waitlisted.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        (1..=180).collect::<Vec<_>>()
    );
    // Every enrolled event precedes every waitlisted one: seats went first-come, first-served.
    let last_enrolled = events
        .iter()
        .filter(|e| e["type"] == "student.enrolled")
        .map(|e| e["position"].as_u64().unwrap())
        .max();
    let first_waitlisted = events
        .iter()
        .filter(|e| e["type"] == "student.waitlisted")
        .map(|e| e["position"].as_u64().unwrap())
        .min();
    assert!(last_enrolled < first_waitlisted);
}

#[tokio::test]
async fn wrong_methods_and_unreadable_queries_get_json_errors() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .delete(app.url("/api/v1/cohorts"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(
        error_code(&response.json().await.unwrap()),
        "method_not_allowed"
    );
    let (status, error) = app.get_json("/api/v1/events?after=1&after=2").await;
    assert_eq!((status, error_code(&error)), (400, "invalid_parameter"));
}

#[tokio::test]
async fn an_idempotency_key_tells_apart_requests_whose_fields_merely_concatenate_alike() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Pipes", 5).await;
    let send = |body: Value| {
        app.client
            .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
            .header("Idempotency-Key", "same-key")
            .json(&body)
            .send()
    };
    let first = send(json!({"learner": "a|b", "name": "c"})).await.unwrap();
    assert_eq!(first.status(), 200);
    let second = send(json!({"learner": "a", "name": "b|c"})).await.unwrap();
    assert_eq!(second.status(), 422);
    assert_eq!(
        error_code(&second.json().await.unwrap()),
        "idempotency_key_reused"
    );
}

#[tokio::test]
async fn a_refused_command_repeated_with_its_key_is_refused_again_even_if_it_would_now_pass() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Refusals", 5).await;
    let withdraw = || {
        app.client
            .post(app.url(&format!("/api/v1/cohorts/{id}/withdrawals")))
            .header("Idempotency-Key", "w-1")
            .json(&json!({"learner": "x@e.org"}))
            .send()
    };
    let first = withdraw().await.unwrap();
    assert_eq!(first.status(), 422);
    let first: Value = first.json().await.unwrap();
    assert_eq!(error_code(&first), "not_enrolled");

    app.enroll(&id, "x@e.org").await;
    let (_, before) = app.get_json("/api/v1/events").await;
    let again = withdraw().await.unwrap();
    assert_eq!(again.status(), 422);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "the first response, again"
    );
    let (_, after) = app.get_json("/api/v1/events").await;
    assert_eq!(after["head"], before["head"], "the repeat wrote nothing");
    assert_eq!(app.cohort(&id).await["enrolled_count"], 1);
}

#[tokio::test]
async fn if_match_on_an_unknown_cohort_is_404_not_a_conflict() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url(&format!("/api/v1/cohorts/{}/close", uuid::Uuid::now_v7())))
        .header("If-Match", "\"3\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        error_code(&response.json().await.unwrap()),
        "cohort_not_found"
    );
}

#[tokio::test]
async fn unreadable_path_segments_get_json_errors() {
    let app = TestApp::spawn().await;
    for path in ["/api/v1/cohorts/%FF", "/api/v1/learners/%FF/timeline"] {
        let (status, error) = app.get_json(path).await;
        assert_eq!(
            (status, error_code(&error)),
            (400, "invalid_path"),
            "{path}"
        );
    }
}

/// Sends one request through a router (no server), returning status and JSON body.
async fn oneshot_json(
    app: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> (u16, Value) {
    use tower::ServiceExt as _;
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// The feed serves only what the projections have applied, so every learner it names is known
/// by key. Here an event is committed behind the projections' back to hold them behind.
#[tokio::test]
async fn the_feed_never_runs_ahead_of_the_projections() {
    use std::sync::Arc;

    use rollbook::clock::FixedClock;
    use rollbook::domain::{Event, LearnerId};
    use rollbook::projections::{CatalogFilter, ReadModel};
    use rollbook::store::{
        Actor, Batch, CommandMeta, LearnerRecord, Store, StoreOptions, StreamAppend,
    };
    use rollbook::web::{AppState, router};
    use rollbook::writer::{self, WriterOptions};

    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(Store::open(&dir.path().join("lag.redb"), &StoreOptions::default()).unwrap());
    let read = Arc::new(ReadModel::rebuild(&store).unwrap().0);
    let clock = Arc::new(FixedClock::new(ts(NOW)));
    let (handle, _thread) = writer::spawn(
        store.clone(),
        read.clone(),
        clock.clone(),
        WriterOptions::default(),
    )
    .unwrap();
    let auth = rollbook::auth::Auth::load(
        store.clone(),
        rollbook::auth::Passwords::cheap_for_tests(),
        clock.clone(),
        jiff::SignedDuration::from_hours(1),
    )
    .unwrap();
    auth.create_account("ops", rollbook::auth::Role::Staff, "a long enough password")
        .unwrap();
    let (_, token) = auth.create_token("ops", "").unwrap();
    let bearer = format!("Bearer {token}");
    let app = router(AppState {
        history: rollbook::store::History::new(store.clone()),
        read: read.clone(),
        writer: handle,
        clock,
        auth: Arc::new(auth),
        cookies: rollbook::web::CookiePolicy::default(),
        last_backup: std::sync::Arc::default(),
        metrics: std::sync::Arc::default(),
        metrics_allow: rollbook::web::AllowList::default(),
    });
    let get = |path: &str| {
        axum::http::Request::get(path)
            .header("authorization", &bearer)
            .body(axum::body::Body::empty())
            .unwrap()
    };

    // One cohort through the writer (published), one enrollment straight into the store.
    let create = axum::http::Request::post("/api/v1/cohorts")
        .header("content-type", "application/json")
        .header("authorization", &bearer)
        .body(axum::body::Body::from(cohort_body("Lag", 3).to_string()))
        .unwrap();
    assert_eq!(oneshot_json(&app, create).await.0, 201);
    let cohort = read.read().catalog.list(&CatalogFilter::default(), 0, 1).0[0]
        .state
        .id;
    let learner = LearnerId(uuid::Uuid::now_v7());
    let id = uuid::Uuid::now_v7();
    let unpublished = Batch {
        appends: vec![StreamAppend {
            cohort,
            expected_version: 1,
            events: vec![Event::StudentEnrolled { learner }],
            occurred_at: ts(NOW),
            meta: CommandMeta {
                actor: Actor::local(),
                command_id: id,
                correlation_id: id,
                causation_id: id,
            },
            idempotency: None,
        }],
        learners: vec![(
            learner,
            LearnerRecord {
                key: "hidden@x.org".to_owned(),
                name: String::new(),
            },
        )],
        ..Batch::default()
    };
    store.commit(&unpublished, ts(NOW)).unwrap();

    let (_, feed) = oneshot_json(&app, get("/api/v1/events")).await;
    assert_eq!(feed["head"], 1);
    assert_eq!(feed["events"].as_array().unwrap().len(), 1, "{feed}");
    let (_, stream) = oneshot_json(&app, get(&format!("/api/v1/cohorts/{cohort}/events"))).await;
    assert_eq!(stream["events"].as_array().unwrap().len(), 1, "{stream}");

    // Once the projections catch up, the event is served, with the learner's key.
    read.catch_up(&store).unwrap();
    let (_, feed) = oneshot_json(&app, get("/api/v1/events")).await;
    assert_eq!(feed["head"], 2);
    assert_eq!(feed["events"][1]["data"]["learner"], "hidden@x.org");
}

/// A clock that, while armed, panics when the writer thread reads it: the way to make the
/// writer fail as a bug in it would (nothing an input can do), to see what clients are told.
struct WriterFault {
    time: rollbook::clock::FixedClock,
    panics_left: std::sync::atomic::AtomicU32,
}

impl rollbook::clock::Clock for WriterFault {
    fn now(&self) -> jiff::Timestamp {
        use std::sync::atomic::Ordering;
        let in_writer = std::thread::current().name() == Some("rollbook-writer");
        if in_writer
            && self
                .panics_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            panic!("injected writer fault");
        }
        self.time.now()
    }
}

/// The error codes of a failing writer, provoked: a panic while deciding is a 500 `internal`
/// for that command (and the writer goes on); a writer that has stopped answers commands with
/// 503 `shutting_down`, pages with 503, and `/healthz` with 503 `writer_stopped`.
#[tokio::test]
async fn a_failing_writer_answers_internal_then_shutting_down_and_writer_stopped() {
    use std::sync::atomic::Ordering;
    let fault = std::sync::Arc::new(WriterFault {
        time: rollbook::clock::FixedClock::new(ts(NOW)),
        panics_left: std::sync::atomic::AtomicU32::new(0),
    });
    let clock = fault.clone();
    let app = TestApp::spawn_with(move |c| c.clock = clock).await;
    let id = app.create_cohort("Faulty", 5).await;
    let path = format!("/api/v1/cohorts/{id}/enrollments");
    let bodies: Vec<Value> = ["ana@x.org", "ben@x.org", "cy@x.org", "dee@x.org"]
        .iter()
        .map(|l| json!({"learner": l}))
        .collect();
    let enroll = |learner: &str| {
        let body = bodies.iter().find(|b| b["learner"] == learner).unwrap();
        app.post_json(&path, body)
    };

    // One panic while deciding: that command fails with `internal`, nothing is written, and
    // the writer takes the next one.
    fault.panics_left.store(1, Ordering::SeqCst);
    let (status, body) = enroll("ana@x.org").await;
    assert_eq!((status, error_code(&body)), (500, "internal"), "{body}");
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("injected"),
        "no internals leak: {body}"
    );
    let (status, health) = app.get_json("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert_eq!(enroll("ben@x.org").await.0, 200);
    assert_eq!(keys(&app.cohort(&id).await, "enrolled"), ["ben@x.org"]);

    // Panics past the protected part: the writer thread dies.
    fault.panics_left.store(u32::MAX, Ordering::SeqCst);
    let (status, body) = enroll("cy@x.org").await;
    assert_eq!(
        (status, error_code(&body)),
        (503, "shutting_down"),
        "{body}"
    );
    let (status, body) = enroll("dee@x.org").await;
    assert_eq!(
        (status, error_code(&body)),
        (503, "shutting_down"),
        "{body}"
    );
    let (status, health) = app.get_json("/healthz").await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "writer_stopped", "{health}");
    let page = app
        .post_form(
            &format!("/cohorts/{id}/enroll"),
            &[("learner", "eve@x.org")],
        )
        .await;
    assert_eq!(page.status(), 503);
    // Reads still work, and show nothing of the refused commands.
    assert_eq!(keys(&app.cohort(&id).await, "enrolled"), ["ben@x.org"]);
    fault.panics_left.store(0, Ordering::SeqCst);
    app.stop().await;
}

/// A backup that cannot be written is a 500 `backup_failed` saying why, leaves nothing behind,
/// and shows on the admin page as the last backup's failure.
#[tokio::test]
async fn a_backup_that_cannot_be_written_is_backup_failed() {
    let dir = tempfile::tempdir().unwrap();
    // The backup folder is not a directory: nothing can be created below it, whoever runs the
    // server (even root).
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let backup_dir = blocker.clone();
    let app = TestApp::spawn_with(move |config| {
        config.backup = Some(rollbook::backup::Schedule {
            dir: backup_dir,
            every: jiff::SignedDuration::from_hours(6),
            keep: 14,
        });
    })
    .await;
    app.create_cohort("Backed", 2).await;
    let admin = app.api_client(rollbook::auth::Role::Admin);
    let response = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"name": "backup.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "backup_failed", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["a-file"], "nothing written beside it");
    let (browser, _) = app.page_client(rollbook::auth::Role::Admin).await;
    let page = browser
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("a-file"), "the failure is shown: {page}");
}
