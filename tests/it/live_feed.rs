//! The global feed's `type` and `cohort` filters, and the live feed
//! (`GET /api/v1/events/stream`, Server-Sent Events), through the real server.

use rollbook::auth::Role;
use serde_json::Value;

use crate::helpers::*;

/// Every event of the unfiltered feed, oldest first.
async fn all_events(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get_json("/api/v1/events?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// Follows `query`'s pages (`limit` small) to the end; the events and the last `next_after`.
async fn follow(app: &TestApp, query: &str, limit: usize) -> (Vec<Value>, u64) {
    let (mut events, mut after) = (Vec::new(), 0);
    loop {
        let (status, body) = app
            .get_json(&format!(
                "/api/v1/events?{query}&limit={limit}&after={after}"
            ))
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        let page = body["events"].as_array().unwrap();
        events.extend(page.iter().cloned());
        let next = body["next_after"].as_u64().unwrap();
        if page.len() < limit {
            return (events, next);
        }
        assert!(next > after, "{query}: next_after moves on");
        after = next;
    }
}

fn positions(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_feed_filters_by_type_and_cohort() {
    let app = TestApp::spawn().await;
    let a = app.create_cohort("A", 1).await;
    let b = app.create_cohort("B", 2).await;
    for learner in ["ana@x.org", "bo@x.org", "cy@x.org"] {
        app.enroll(&a, learner).await;
        app.enroll(&b, learner).await;
    }
    withdraw(&app, &a, "ana@x.org", "moved").await;
    let all = all_events(&app).await;
    let head = all.last().unwrap()["position"].as_u64().unwrap();
    let expect = |keep: &dyn Fn(&Value) -> bool| -> Vec<u64> {
        positions(&all.iter().filter(|e| keep(e)).cloned().collect::<Vec<_>>())
    };

    for (query, keep) in [
        (
            format!("cohort={a}"),
            Box::new(|e: &Value| e["cohort"] == a.as_str()) as Box<dyn Fn(&Value) -> bool>,
        ),
        (
            "type=student.waitlisted".to_owned(),
            Box::new(|e: &Value| e["type"] == "student.waitlisted"),
        ),
        (
            "type=student.enrolled&type=waitlist.promoted".to_owned(),
            Box::new(|e: &Value| {
                e["type"] == "student.enrolled" || e["type"] == "waitlist.promoted"
            }),
        ),
        (
            format!("cohort={b}&cohort={a}&type=student.enrolled"),
            Box::new(|e: &Value| e["type"] == "student.enrolled"),
        ),
        (
            format!("cohort={b}&type=waitlist.promoted"),
            Box::new(|_: &Value| false),
        ),
    ] {
        let wanted = expect(&*keep);
        // One page, then pages of 1: the same events, in order, none twice.
        let (status, body) = app.get_json(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(
            positions(body["events"].as_array().unwrap()),
            wanted,
            "{query}"
        );
        assert_eq!(body["head"], head);
        // Not full: it looked up to the head.
        assert_eq!(body["next_after"], head, "{query}");
        let (paged, last) = follow(&app, &query, 1).await;
        assert_eq!(positions(&paged), wanted, "{query}, paged");
        assert_eq!(last, head, "{query}, paged");
    }
    // The events are the feed's own (same JSON).
    let (_, body) = app.get_json("/api/v1/events?type=waitlist.promoted").await;
    let promoted = &body["events"][0];
    assert_eq!(
        promoted,
        all.iter()
            .find(|e| e["type"] == "waitlist.promoted")
            .unwrap()
    );
    assert_eq!(promoted["data"]["learner"], "bo@x.org");
    // A cohort nobody knows: nothing, and no error.
    let (status, body) = app
        .get_json(&format!("/api/v1/events?cohort={}", uuid::Uuid::nil()))
        .await;
    assert_eq!((status, body["events"].as_array().unwrap().len()), (200, 0));
}

#[tokio::test]
async fn bad_filters_are_refused_with_a_code() {
    let app = TestApp::spawn().await;
    let viewer = app.api_client(Role::Viewer);
    for query in [
        "type=student.teleported",
        "type=",
        "type=student.enrolled,waitlist.left",
        "cohort=not-a-uuid",
        "cohort=",
        "after=-1",
        "limit=x",
    ] {
        let response = viewer
            .get(app.url(&format!("/api/v1/events?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["error"]["code"], "invalid_parameter",
            "{query}: {body}"
        );
    }
    let many = (0..101)
        .map(|_| format!("cohort={}", uuid::Uuid::now_v7()))
        .collect::<Vec<_>>()
        .join("&");
    let response = viewer
        .get(app.url(&format!("/api/v1/events?{many}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Empty `after` and `limit` still mean their defaults, as before.
    let response = viewer
        .get(app.url("/api/v1/events?after=&limit="))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
