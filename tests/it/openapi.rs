//! The `OpenAPI` document against the running server: every operation it describes is called
//! over HTTP, and each answer's status must be one the document declares for that operation,
//! its body must have the declared shape (required properties, types, formats, enums, and no
//! undeclared properties), and an error's code must be among the codes declared for its
//! status. Also the API page that renders the document.

use std::collections::BTreeSet;

use reqwest::{Client, Method};
use rollbook::auth::Role;
use serde_json::{Value, json};

use crate::helpers::*;

/// Checks `value` against `schema`: enough of JSON Schema for the document's own shapes.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.trim_start_matches("#/components/schemas/");
        let resolved = &doc["components"]["schemas"][name];
        assert!(resolved.is_object(), "{target} does not resolve");
        return check(doc, resolved, value, at, problems);
    }
    if let Some(alternatives) = schema["anyOf"].as_array() {
        let fits_one = alternatives.iter().any(|alternative| {
            let mut misfits = Vec::new();
            check(doc, alternative, value, at, &mut misfits);
            misfits.is_empty()
        });
        if !fits_one {
            problems.push(format!("{at}: {value} fits none of {alternatives:?}"));
        }
    }
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let fits = |kind: &str| match kind {
        "null" => value.is_null(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        other => panic!("the checker does not know type {other}"),
    };
    if !kinds.is_empty() && !kinds.iter().any(|k| fits(k)) {
        problems.push(format!("{at}: {value} is not {kinds:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !value.is_null() && !allowed.contains(value) {
            problems.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Some(format), Some(text)) = (schema["format"].as_str(), value.as_str()) {
        let ok = match format {
            "date-time" => text.parse::<jiff::Timestamp>().is_ok(),
            "uuid" => uuid::Uuid::parse_str(text).is_ok(),
            other => panic!("the checker does not know format {other}"),
        };
        if !ok {
            problems.push(format!("{at}: {text:?} is not a {format}"));
        }
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_i64(), value.as_i64()) {
        if n < min {
            problems.push(format!("{at}: {n} is below {min}"));
        }
    }
    if let Value::Object(object) = value {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                problems.push(format!("{at}: required property {name} is missing"));
            }
        }
        if let Some(properties) = schema["properties"].as_object() {
            for (name, property) in object {
                match properties.get(name) {
                    Some(s) => check(doc, s, property, &format!("{at}.{name}"), problems),
                    // Answers may grow, but the document must grow with them.
                    None => problems.push(format!("{at}: property {name} is not in the document")),
                }
            }
        }
    }
    if let Value::Array(items) = value {
        for (i, item) in items.iter().enumerate() {
            check(doc, &schema["items"], item, &format!("{at}[{i}]"), problems);
        }
    }
}

/// Every operation of the document, as (METHOD, path template).
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect()
}

/// Calls the server and checks the answer against the document.
struct Checker<'a> {
    app: &'a TestApp,
    doc: Value,
    /// Operations called, and those that answered their success status.
    called: BTreeSet<(String, String)>,
    succeeded: BTreeSet<(String, String)>,
}

impl Checker<'_> {
    /// Calls `method path` (the document's `template`, with the parameters filled in) as
    /// `client`, expects `status`, checks the answer against the document, and returns it.
    async fn call(
        &mut self,
        client: &Client,
        method: Method,
        (template, path): (&str, &str),
        body: Option<Value>,
        headers: &[(&str, &str)],
        status: u16,
    ) -> Value {
        let op = &self.doc["paths"][template][method.as_str().to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {template} is not in the document");
        let mut request = client.request(method.clone(), self.app.url(path));
        match body {
            // A CSV body (the bulk enrollment's), sent as the document declares it.
            Some(Value::String(csv)) if op["requestBody"]["content"]["text/csv"].is_object() => {
                request = request.header("content-type", "text/csv").body(csv);
            }
            Some(body) => request = request.json(&body),
            None => {}
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let got = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let answer: Value = response.json().await.expect("a JSON body");
        assert_eq!(got, status, "{method} {path}: {answer}");
        assert!(
            content_type.starts_with("application/json"),
            "{method} {path}: content-type {content_type}"
        );
        let declared = &op["responses"][got.to_string()];
        assert!(
            declared.is_object(),
            "{method} {template} answered {got}, which the document does not declare: {answer}"
        );
        let schema = &declared["content"]["application/json"]["schema"];
        let mut problems = Vec::new();
        check(&self.doc, schema, &answer, "body", &mut problems);
        assert!(
            problems.is_empty(),
            "{method} {template} {got}: {problems:#?}\n{answer}"
        );
        if let Some(codes) = declared["x-error-codes"].as_array() {
            assert!(
                codes.contains(&answer["error"]["code"]),
                "{method} {template} {got}: code {} is not declared ({codes:?})",
                answer["error"]["code"]
            );
        }
        let key = (method.as_str().to_owned(), template.to_owned());
        if declared.get("x-error-codes").is_none() {
            self.succeeded.insert(key.clone());
        }
        self.called.insert(key);
        answer
    }
}

impl Checker<'_> {
    /// Opens a Server-Sent Events operation at `path` as `client`: a 200 whose content type
    /// is the one the document declares for it, and its first chunk.
    async fn stream(&mut self, client: &Client, (template, path): (&str, &str)) -> String {
        let op = &self.doc["paths"][template]["get"];
        assert!(
            op["responses"]["200"]["content"]["text/event-stream"].is_object(),
            "GET {template} declares a text/event-stream answer"
        );
        let mut response = client.get(self.app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(30), response.chunk())
            .await
            .expect("the first event")
            .unwrap()
            .unwrap();
        let key = ("GET".to_owned(), template.to_owned());
        self.succeeded.insert(key.clone());
        self.called.insert(key);
        String::from_utf8(chunk.to_vec()).unwrap()
    }
}

#[tokio::test]
async fn every_operation_answers_as_the_document_declares() {
    let app = TestApp::spawn_with(crate::backup::backups_beside_the_database).await;
    let anonymous = app.anonymous();
    let (admin, _) = app.signed_in(Role::Admin).await;
    let staff = app.client.clone();
    let response = anonymous
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the document needs no token");
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut c = Checker {
        app: &app,
        doc,
        called: BTreeSet::new(),
        succeeded: BTreeSet::new(),
    };
    let get = Method::GET;

    c.call(
        &anonymous,
        get.clone(),
        ("/api/v1/openapi.json", "/api/v1/openapi.json"),
        None,
        &[],
        200,
    )
    .await;

    let id = create_and_enroll(&mut c, &staff).await;
    read(&mut c, &staff, &anonymous, &id).await;
    dry_runs(&mut c, &staff, &id).await;
    bulk(&mut c, &staff, &id).await;
    change(&mut c, &staff, &id).await;
    term(&mut c, &staff, &id).await;
    offers(&mut c, &staff).await;
    administer(&mut c, &admin, &staff).await;

    let all = operations(&c.doc);
    assert_eq!(c.called, all, "every operation of the document is called");
    let unreachable: BTreeSet<(String, String)> = [(
        "POST".to_owned(),
        "/api/v1/cohorts/{id}/promotions".to_owned(),
    )]
    .into();
    assert_eq!(
        all.difference(&c.succeeded)
            .cloned()
            .collect::<BTreeSet<_>>(),
        unreachable,
        "every operation but the promotion answers its success"
    );
}

#[tokio::test]
async fn the_api_page_shows_every_operation_to_a_signed_in_user() {
    let app = TestApp::spawn().await;
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let response = viewer.get(app.url("/api")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let doc: Value = app
        .anonymous()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (method, path) in operations(&doc) {
        assert!(
            html.contains(&format!("<code>{method} {path}</code>")),
            "{method} {path} is not on the page"
        );
    }
    assert!(html.contains("already_enrolled"), "error codes are listed");
    assert!(
        html.contains("Idempotency-Key"),
        "command headers are listed"
    );
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(
        html.contains(r#"<a href="/api">API</a>"#),
        "the navigation links it"
    );

    let anonymous = app.anonymous().get(app.url("/api")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303, "the page needs a session");
}

/// Creates a cohort of one seat, enrolls one learner and waitlists another; returns its id.
async fn create_and_enroll(c: &mut Checker<'_>, staff: &Client) -> String {
    let post = Method::POST;
    let cohorts = "/api/v1/cohorts";
    let created = c
        .call(
            staff,
            post.clone(),
            (cohorts, cohorts),
            Some(cohort_body("Spec", 1)),
            &[],
            201,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let at = |p: &str| format!("/api/v1/cohorts/{id}{p}");

    let enroll = "/api/v1/cohorts/{id}/enrollments";
    let enrollments = at("/enrollments");
    for (learner, outcome) in [
        ("ana@example.org", "enrolled"),
        ("ben@example.org", "waitlisted"),
    ] {
        let answer = c
            .call(
                staff,
                post.clone(),
                (enroll, &enrollments),
                Some(json!({"learner": learner, "name": "Someone"})),
                &[("Idempotency-Key", learner)],
                200,
            )
            .await;
        assert_eq!(answer["outcome"], outcome);
    }
    c.call(
        staff,
        post.clone(),
        (enroll, &enrollments),
        Some(json!({"learner": "cy@example.org"})),
        &[("If-Match", "\"99\"")],
        409,
    )
    .await;
    c.call(
        staff,
        post.clone(),
        (enroll, &enrollments),
        Some(json!({"learner": 7})),
        &[],
        400,
    )
    .await;
    id
}

/// Lists and reads the cohort, its events, the feed and a timeline.
async fn read(c: &mut Checker<'_>, staff: &Client, anonymous: &Client, id: &str) {
    let get = Method::GET;
    let cohorts = "/api/v1/cohorts";
    let at = |p: &str| format!("/api/v1/cohorts/{id}{p}");
    c.call(
        staff,
        get.clone(),
        (cohorts, "/api/v1/cohorts?status=open&limit=10&offset=0"),
        None,
        &[],
        200,
    )
    .await;
    c.call(
        staff,
        get.clone(),
        (cohorts, "/api/v1/cohorts?limit=many"),
        None,
        &[],
        400,
    )
    .await;
    c.call(anonymous, get.clone(), (cohorts, cohorts), None, &[], 401)
        .await;

    let one = "/api/v1/cohorts/{id}";
    let detail = c
        .call(staff, get.clone(), (one, &at("")), None, &[], 200)
        .await;
    assert_eq!(keys(&detail, "waitlist"), ["ben@example.org"]);
    c.call(staff, get.clone(), (one, &at("?as_of=1")), None, &[], 200)
        .await;
    let unknown = format!("/api/v1/cohorts/{}", uuid::Uuid::nil());
    c.call(staff, get.clone(), (one, &unknown), None, &[], 404)
        .await;

    c.call(
        staff,
        get.clone(),
        ("/api/v1/cohorts/{id}/events", &at("/events")),
        None,
        &[],
        200,
    )
    .await;
    let feed = "/api/v1/events";
    c.call(
        staff,
        get.clone(),
        (feed, "/api/v1/events?after=0&limit=2"),
        None,
        &[],
        200,
    )
    .await;
    let stream = "/api/v1/events/stream";
    let first = c
        .stream(staff, (stream, "/api/v1/events/stream?after=0"))
        .await;
    assert!(
        first.starts_with("id: 1\nevent: cohort.created\n"),
        "{first}"
    );
    for query in ["?type=nope", "?cohort=nope", "?after=x"] {
        c.call(
            staff,
            get.clone(),
            (stream, &format!("{stream}{query}")),
            None,
            &[],
            400,
        )
        .await;
    }
    c.call(anonymous, get.clone(), (stream, stream), None, &[], 401)
        .await;
    let timeline = "/api/v1/learners/{learner}/timeline";
    c.call(
        staff,
        get.clone(),
        (timeline, "/api/v1/learners/ana%40example.org/timeline"),
        None,
        &[],
        200,
    )
    .await;
    c.call(
        staff,
        get.clone(),
        (timeline, "/api/v1/learners/nobody/timeline"),
        None,
        &[],
        404,
    )
    .await;
}

/// A dry run of every command (`?dry_run=true`, with and without `as_of`), and the refusals of
/// its parameters: each answer as declared, and nothing written.
async fn dry_runs(c: &mut Checker<'_>, staff: &Client, id: &str) {
    let post = Method::POST;
    let before = head(c.app).await;
    let at = |p: &str| format!("/api/v1/cohorts/{id}{p}");
    let cohorts = "/api/v1/cohorts";
    let created = c
        .call(
            staff,
            post.clone(),
            (cohorts, "/api/v1/cohorts?dry_run=true"),
            Some(cohort_body("Spec", 1)),
            &[],
            200,
        )
        .await;
    assert_eq!(created["events"][0]["type"], "cohort.created");
    let with_body = [
        (
            "/api/v1/cohorts/{id}/enrollments",
            "/enrollments",
            json!({"learner": "cy@example.org"}),
        ),
        (
            "/api/v1/cohorts/{id}/withdrawals",
            "/withdrawals",
            json!({"learner": "ana@example.org"}),
        ),
        (
            "/api/v1/cohorts/{id}/capacity",
            "/capacity",
            json!({"capacity": 2}),
        ),
    ];
    for (template, rest, body) in &with_body {
        for query in ["?dry_run=true", "?dry_run=true&as_of=2"] {
            let answer = c
                .call(
                    staff,
                    post.clone(),
                    (template, &at(&format!("{rest}{query}"))),
                    Some(body.clone()),
                    &[],
                    200,
                )
                .await;
            assert_eq!(answer["dry_run"], true, "{answer}");
        }
    }
    let close = "/api/v1/cohorts/{id}/close";
    c.call(
        staff,
        post.clone(),
        (close, &at("/close?dry_run=true")),
        None,
        &[],
        200,
    )
    .await;
    let promote = "/api/v1/cohorts/{id}/promotions";
    c.call(
        staff,
        post.clone(),
        (promote, &at("/promotions?dry_run=true")),
        None,
        &[],
        422,
    )
    .await;
    for (query, status) in [
        ("?as_of=1", 422),
        ("?dry_run=true&as_of=9999", 422),
        ("?dry_run=true&as_of=soon", 400),
    ] {
        c.call(
            staff,
            post.clone(),
            (close, &at(&format!("/close{query}"))),
            None,
            &[],
            status,
        )
        .await;
    }
    assert_eq!(head(c.app).await, before, "the dry runs wrote nothing");
}

/// Withdraws, changes the capacity and closes.
async fn change(c: &mut Checker<'_>, staff: &Client, id: &str) {
    let post = Method::POST;
    let at = |p: &str| format!("/api/v1/cohorts/{id}{p}");
    // A free seat with learners waiting cannot arise while enrollment is open (withdrawals and
    // capacity changes promote at once, and promotion is refused once closed), so the
    // promotion's success cannot be reached over the API; its refusal can.
    let promote = "/api/v1/cohorts/{id}/promotions";
    c.call(
        staff,
        post.clone(),
        (promote, &at("/promotions")),
        None,
        &[],
        422,
    )
    .await;

    let withdrawn = c
        .call(
            staff,
            post.clone(),
            ("/api/v1/cohorts/{id}/withdrawals", &at("/withdrawals")),
            Some(
                json!({"learner": "ana@example.org", "reason_code": "personal", "reason": "moved"}),
            ),
            &[],
            200,
        )
        .await;
    assert_eq!(withdrawn["promoted"], "ben@example.org");
    c.call(
        staff,
        post.clone(),
        ("/api/v1/cohorts/{id}/capacity", &at("/capacity")),
        Some(json!({"capacity": 3})),
        &[],
        200,
    )
    .await;
    transfers(c, staff, id).await;
    let close = "/api/v1/cohorts/{id}/close";
    c.call(staff, post.clone(), (close, &at("/close")), None, &[], 200)
        .await;
    c.call(staff, post.clone(), (close, &at("/close")), None, &[], 422)
        .await;
}

/// Reopens the closed cohort, reschedules it, edits its details, sets its policy and cancels it
/// (issue 15); each refusal's code is one the document declares.
async fn term(c: &mut Checker<'_>, staff: &Client, id: &str) {
    let grace = json!({"instructor": "Grace Hopper"});
    let offers = json!({"promotion": "offer", "offer_hold": "48h", "waitlist_cap": 5});
    let moved = json!({"starts_at": "2026-03-16T09:00:00Z"});
    let reopen = json!({"reason": "closed by mistake"});
    let steps = [
        ("reopen", reopen.clone(), 200),
        ("reopen", reopen, 422),
        ("schedule", moved.clone(), 200),
        ("schedule", moved, 422),
        ("details", grace.clone(), 200),
        ("policy", offers.clone(), 200),
        ("policy", offers, 422),
        ("cancel", json!({"reason": "too few"}), 200),
        ("details", grace, 422),
    ];
    for (command, body, status) in steps {
        let template = format!("/api/v1/cohorts/{{id}}/{command}");
        let path = format!("/api/v1/cohorts/{id}/{command}");
        c.call(
            staff,
            Method::POST,
            (&template, &path),
            Some(body),
            &[],
            status,
        )
        .await;
    }
    let path = format!("/api/v1/cohorts/{id}");
    let read = c
        .call(
            staff,
            Method::GET,
            ("/api/v1/cohorts/{id}", &path),
            None,
            &[],
            200,
        )
        .await;
    assert_eq!(
        (
            &read["status"],
            &read["promotion"],
            &read["offer_hold"],
            &read["waitlist_cap"]
        ),
        (
            &json!("cancelled"),
            &json!("offer"),
            &json!("48h"),
            &json!(5)
        )
    );
}

/// `POST /api/v1/transfers`: a move (its dry run, then for real), a refusal naming its cohort,
/// and a cohort that does not exist.
async fn transfers(c: &mut Checker<'_>, staff: &Client, id: &str) {
    let post = Method::POST;
    let (status, other) = c
        .app
        .post_json("/api/v1/cohorts", &cohort_body("Other", 5))
        .await;
    assert_eq!(status, 201, "{other}");
    let other = other["id"].as_str().unwrap();
    let path = "/api/v1/transfers";
    let body = json!({"learner": "ben@example.org", "from": id, "to": other,
                      "allow_waitlist": true, "reason": "evenings"});
    let dry = format!("{path}?dry_run=true");
    c.call(
        staff,
        post.clone(),
        (path, &dry),
        Some(body.clone()),
        &[],
        200,
    )
    .await;
    let moved = c
        .call(
            staff,
            post.clone(),
            (path, path),
            Some(body.clone()),
            &[],
            200,
        )
        .await;
    assert_eq!(moved["outcome"], "enrolled", "{moved}");
    let refused = c
        .call(staff, post.clone(), (path, path), Some(body), &[], 422)
        .await;
    assert_eq!(refused["error"]["cohort"], id, "{refused}");
    let missing = json!({"learner": "ben@example.org", "from": other,
                         "to": "0190c3a4-0000-7000-8000-00000000dead"});
    c.call(staff, post.clone(), (path, path), Some(missing), &[], 404)
        .await;
}

/// The admin operations.
async fn administer(c: &mut Checker<'_>, admin: &Client, staff: &Client) {
    let (get, post) = (Method::GET, Method::POST);
    let projections = "/api/v1/projections";
    c.call(
        staff,
        get.clone(),
        (projections, projections),
        None,
        &[],
        403,
    )
    .await;
    c.call(
        admin,
        get.clone(),
        (projections, projections),
        None,
        &[],
        200,
    )
    .await;
    let backups = "/api/v1/admin/backups";
    c.call(
        admin,
        post.clone(),
        (backups, backups),
        Some(json!({"name": "spec.redb"})),
        &[],
        201,
    )
    .await;
    c.call(
        admin,
        post.clone(),
        (backups, backups),
        Some(json!({"name": "spec.redb"})),
        &[],
        409,
    )
    .await;
    webhooks(c, admin, staff).await;
}

/// Webhook subscriptions (issue 17): created, listed, paused, resumed, moved, deleted, refused.
async fn webhooks(c: &mut Checker<'_>, admin: &Client, staff: &Client) {
    let (get, post, delete) = (Method::GET, Method::POST, Method::DELETE);
    let hooks = "/api/v1/admin/webhooks";
    let body = json!({"name": "crm", "url": "http://127.0.0.1:9/hook", "from_position": 0});
    c.call(
        staff,
        post.clone(),
        (hooks, hooks),
        Some(body.clone()),
        &[],
        403,
    )
    .await;
    let created = c
        .call(admin, post.clone(), (hooks, hooks), Some(body), &[], 201)
        .await;
    let bad = json!({"name": "x", "url": "ftp://example.org/"});
    c.call(admin, post.clone(), (hooks, hooks), Some(bad), &[], 422)
        .await;
    c.call(admin, get.clone(), (hooks, hooks), None, &[], 200)
        .await;
    let id = created["id"].as_str().unwrap();
    for action in ["pause", "resume"] {
        let template = format!("{hooks}/{{id}}/{action}");
        let path = format!("{hooks}/{id}/{action}");
        c.call(admin, post.clone(), (&template, &path), None, &[], 200)
            .await;
    }
    let template = format!("{hooks}/{{id}}/position");
    let path = format!("{hooks}/{id}/position");
    c.call(
        admin,
        post.clone(),
        (&template, &path),
        Some(json!({"position": 0})),
        &[],
        200,
    )
    .await;
    c.call(
        admin,
        post.clone(),
        (&template, &path),
        Some(json!({"position": 9_000_000_000_u64})),
        &[],
        422,
    )
    .await;
    let template = format!("{hooks}/{{id}}");
    let path = format!("{hooks}/{id}");
    c.call(admin, delete.clone(), (&template, &path), None, &[], 200)
        .await;
    c.call(admin, delete, (&template, &path), None, &[], 404)
        .await;
}

/// Waitlist offers (issue 15): answered, declined (the next in line is offered), refused.
async fn offers(c: &mut Checker<'_>, staff: &Client) {
    let post = Method::POST;
    let mut body = cohort_body("Offers", 1);
    body["promotion"] = json!("offer");
    body["offer_hold"] = json!("48h");
    let created = c
        .call(
            staff,
            post.clone(),
            ("/api/v1/cohorts", "/api/v1/cohorts"),
            Some(body),
            &[],
            201,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    for learner in ["ana@x.org", "bo@x.org", "cy@x.org"] {
        c.app.enroll(&id, learner).await;
    }
    withdraw(c.app, &id, "ana@x.org", "moved").await;
    let accept = "/api/v1/cohorts/{id}/offers/{learner}/accept";
    let decline = "/api/v1/cohorts/{id}/offers/{learner}/decline";
    let at = |learner: &str, what: &str| format!("/api/v1/cohorts/{id}/offers/{learner}/{what}");
    let declined = c
        .call(
            staff,
            post.clone(),
            (decline, &at("bo@x.org", "decline")),
            Some(json!({"reason": "found another"})),
            &[],
            200,
        )
        .await;
    assert_eq!(declined["offered"], "cy@x.org");
    c.call(
        staff,
        post.clone(),
        (decline, &at("bo@x.org", "decline")),
        Some(json!({})),
        &[],
        422,
    )
    .await;
    let accepted = c
        .call(
            staff,
            post.clone(),
            (accept, &at("cy@x.org", "accept")),
            None,
            &[],
            200,
        )
        .await;
    assert_eq!(accepted["outcome"], "enrolled");
    c.call(
        staff,
        post.clone(),
        (accept, &at("cy@x.org", "accept")),
        None,
        &[],
        422,
    )
    .await;
}

/// The bulk enrollment: its preview, its apply, and its missing `If-Match`.
async fn bulk(c: &mut Checker<'_>, staff: &Client, id: &str) {
    let post = Method::POST;
    let template = "/api/v1/cohorts/{id}/enrollments/bulk";
    let path = format!("/api/v1/cohorts/{id}/enrollments/bulk");
    let file = json!("learner,name\ndee@example.org,Dee\nana@example.org,Ana\nbad key,X\n");
    let previewed = c
        .call(
            staff,
            post.clone(),
            (template, &format!("{path}?dry_run=true")),
            Some(file.clone()),
            &[],
            200,
        )
        .await;
    let version = format!("\"{}\"", previewed["version"]);
    c.call(
        staff,
        post.clone(),
        (template, &path),
        Some(file.clone()),
        &[],
        428,
    )
    .await;
    let applied = c
        .call(
            staff,
            post.clone(),
            (template, &path),
            Some(file),
            &[("If-Match", &version)],
            200,
        )
        .await;
    assert_eq!(applied["rows"][0]["outcome"], "waitlisted", "{applied}");
    assert_eq!(applied["rows"][1]["error"]["code"], "already_enrolled");
    assert_eq!(applied["rows"][2]["error"]["code"], "invalid_learner");
}
