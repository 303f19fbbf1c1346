//! `Idempotency-Key` through the real server: its length limit (just under and just over), and
//! that a key is the acting account's own — another account reusing it is neither refused as a
//! reuse nor given the first account's answer.

use rollbook::auth::Role;
use serde_json::{Value, json};

use crate::helpers::*;

/// A client that acts through the API token of `role` alone.
fn api_client(app: &TestApp, role: Role) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {}", app.credentials.token(role));
    headers.insert(reqwest::header::AUTHORIZATION, bearer.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Enrolls `learner` in `cohort` as `client`, under `key`: (status, body).
async fn enroll_keyed(
    app: &TestApp,
    client: &reqwest::Client,
    cohort: &str,
    learner: &str,
    key: &str,
) -> (u16, Value) {
    let response = client
        .post(app.url(&format!("/api/v1/cohorts/{cohort}/enrollments")))
        .header("Idempotency-Key", key)
        .json(&json!({"learner": learner}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn an_idempotency_key_of_200_characters_is_taken_and_one_of_201_or_0_is_refused() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Keys", 5).await;
    let staff = api_client(&app, Role::Staff);

    let longest = "k".repeat(200);
    let (status, first) = enroll_keyed(&app, &staff, &cohort, "ana@example.org", &longest).await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = enroll_keyed(&app, &staff, &cohort, "ana@example.org", &longest).await;
    assert_eq!(
        (status, &again),
        (200, &first),
        "a repeat answers the first outcome"
    );

    for key in ["k".repeat(201), String::new()] {
        let (status, body) = enroll_keyed(&app, &staff, &cohort, "ben@example.org", &key).await;
        assert_eq!(status, 400, "{} characters: {body}", key.len());
        assert_eq!(body["error"]["code"], "invalid_field", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Idempotency-Key") && message.contains("1 to 200"),
            "{message}"
        );
    }
    // Nothing of the refused ones was written.
    let state = app.cohort(&cohort).await;
    assert_eq!(keys(&state, "enrolled"), ["ana@example.org"]);
    assert_eq!(state["version"], 2, "{state}");
}

#[tokio::test]
async fn another_account_reusing_a_key_gets_its_own_answer_not_the_first_accounts() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Keys", 5).await;
    let (staff, admin) = (api_client(&app, Role::Staff), api_client(&app, Role::Admin));
    let key = "enroll-ana@example.org";

    let (status, first) = enroll_keyed(&app, &staff, &cohort, "ana@example.org", key).await;
    assert_eq!(status, 200, "{first}");

    // The same request under the same key from another account is that account's own
    // command: decided by the rules (Ana is enrolled already), not answered with staff's
    // success.
    let (status, body) = enroll_keyed(&app, &admin, &cohort, "ana@example.org", key).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "already_enrolled", "{body}");
    // A different request under it is not refused as a reuse of staff's key.
    let (status, body) = enroll_keyed(&app, &admin, &cohort, "ben@example.org", key).await;
    assert_eq!(
        status, 422,
        "admin's own key, from its refusal above: {body}"
    );
    assert_eq!(body["error"]["code"], "idempotency_key_reused", "{body}");
    let (status, body) = enroll_keyed(&app, &admin, &cohort, "ben@example.org", "other").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = enroll_keyed(&app, &staff, &cohort, "cy@example.org", "other").await;
    assert_eq!(status, 200, "staff's \"other\" is not admin's: {body}");
    assert_ne!(body["position"], first["position"]);

    // Staff's retry still answers staff's first outcome.
    let (status, again) = enroll_keyed(&app, &staff, &cohort, "ana@example.org", key).await;
    assert_eq!((status, &again), (200, &first));
    let state = app.cohort(&cohort).await;
    assert_eq!(
        keys(&state, "enrolled"),
        ["ana@example.org", "ben@example.org", "cy@example.org"]
    );
}
