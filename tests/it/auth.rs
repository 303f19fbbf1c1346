//! Accounts, roles, sessions, tokens, CSRF and throttling, through real HTTP: nobody gets in
//! where they do not belong, and nothing is written when they try.

use reqwest::StatusCode;
use rollbook::auth::Role;
use rollbook::web::{Access, ROUTES};
use serde_json::{Value, json};

use crate::helpers::*;

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn set_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn pages_without_a_session_redirect_to_login_and_the_api_wants_a_token() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Private", 2).await;
    let anonymous = app.anonymous();
    let page = anonymous
        .get(app.url(&format!("/cohorts/{id}?as_of=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&page),
        format!("/login?next=%2Fcohorts%2F{id}%3Fas_of%3D1")
    );

    for token in [None, Some("rb_not-a-real-token")] {
        let mut request = anonymous.get(app.url("/api/v1/cohorts"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    // The health check stays open.
    assert_eq!(
        anonymous
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // A login page for the target, and static assets, are public.
    let login = anonymous
        .get(app.url("/login?next=/admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert!(
        login
            .text()
            .await
            .unwrap()
            .contains(r#"name="next" value="/admin""#)
    );
}

#[tokio::test]
async fn a_viewer_reads_but_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Look only", 2).await;
    let before = head(&app).await;
    let (viewer, csrf) = app.signed_in(Role::Viewer).await;

    let page = viewer
        .get(app.url(&format!("/cohorts/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        !html.contains(&format!(r#"action="/cohorts/{id}/enroll""#)),
        "viewers see no command forms"
    );

    let form = viewer
        .post(app.url(&format!("/cohorts/{id}/enroll")))
        .form(&[("learner", "ana@x.org"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::FORBIDDEN);
    let api = viewer
        .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
        .json(&json!({"learner": "ana@x.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        api.json::<Value>().await.unwrap()["error"]["code"],
        "forbidden"
    );
    assert_eq!(head(&app).await, before, "nothing was written");
    let listed = viewer.get(app.url("/api/v1/cohorts")).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_or_from_another_site_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Guarded", 2).await;
    let before = head(&app).await;
    let url = app.url(&format!("/cohorts/{id}/enroll"));
    let post = |fields: Vec<(&'static str, String)>| app.client.post(url.clone()).form(&fields);

    let missing = post(vec![("learner", "ana".into())]).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = post(vec![("learner", "ana".into()), ("csrf", "0".repeat(64))])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let good = || vec![("learner", "ana".into()), ("csrf", app.csrf.clone())];
    let cross_site = post(good())
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let foreign = post(good())
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    // Another session's token is not this session's.
    let (_, other_csrf) = app.signed_in(Role::Staff).await;
    assert_ne!(other_csrf, app.csrf);
    let other = post(vec![("learner", "ana".into()), ("csrf", other_csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    assert_eq!(head(&app).await, before, "nothing was written");

    let same_site = post(good())
        .header("origin", format!("http://{}", app.addr))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), StatusCode::SEE_OTHER);
    assert_eq!(head(&app).await, before + 1);
}

/// Fills a route pattern's parameters with values that exist (or not: the guard is what is
/// under test, not the handler).
fn concrete(path: &str, cohort: &str, token_id: &str) -> String {
    let path = if path.starts_with("/admin/tokens/{id}") {
        path.replace("{id}", token_id)
    } else {
        path.replace("{id}", cohort)
    };
    path.replace("{learner}", "ana%40x.org")
        .replace("{name}", "nobody")
        .replace("{file}", "style.css")
}

/// Who the policy lets in: written out here by hand, from what each route is for, and never
/// derived from `ROUTES` (the table the guard reads), so that a wrong entry there fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anyone,
    Viewer,
    Staff,
    Admin,
    /// `/metrics`: an admin, or an allow-listed address (none here).
    Scraper,
}

/// The reviewed access policy: every route, who may call it.
const POLICY: &[(&str, &str, Who)] = &[
    ("GET", "/healthz", Who::Anyone),
    ("GET", "/metrics", Who::Scraper),
    ("GET", "/static/{file}", Who::Anyone),
    ("GET", "/login", Who::Anyone),
    ("POST", "/login", Who::Anyone),
    ("POST", "/logout", Who::Viewer),
    // Reading: every signed-in account.
    ("GET", "/", Who::Viewer),
    ("GET", "/cohorts.csv", Who::Viewer),
    ("GET", "/cohorts/{id}", Who::Viewer),
    ("GET", "/cohorts/{id}/history", Who::Viewer),
    ("GET", "/learners/{learner}", Who::Viewer),
    // A dry run at a time: reads only, writes nothing.
    ("GET", "/cohorts/{id}/what-if", Who::Viewer),
    ("POST", "/learners/{learner}/transfer", Who::Staff),
    ("GET", "/reports/instructors", Who::Viewer),
    ("GET", "/reports/instructors.csv", Who::Viewer),
    ("GET", "/reports/withdrawals", Who::Viewer),
    ("GET", "/reports/withdrawals.csv", Who::Viewer),
    ("GET", "/reports/seats", Who::Viewer),
    ("GET", "/reports/seats.csv", Who::Viewer),
    ("GET", "/cohorts/{id}/seats", Who::Viewer),
    ("GET", "/cohorts/{id}/seats.csv", Who::Viewer),
    ("GET", "/cohorts/{id}/roster.csv", Who::Viewer),
    ("GET", "/events", Who::Viewer),
    ("GET", "/events.csv", Who::Viewer),
    ("GET", "/cohorts/{id}/diff", Who::Viewer),
    ("GET", "/search", Who::Viewer),
    ("GET", "/api", Who::Viewer),
    ("GET", "/api/v1/cohorts", Who::Viewer),
    ("GET", "/api/v1/cohorts/{id}", Who::Viewer),
    ("GET", "/api/v1/cohorts/{id}/events", Who::Viewer),
    ("POST", "/api/v1/transfers", Who::Staff),
    ("GET", "/api/v1/events", Who::Viewer),
    ("GET", "/api/v1/events/stream", Who::Viewer),
    ("GET", "/api/v1/learners/{learner}/timeline", Who::Viewer),
    // Changing enrollments and cohorts: staff.
    ("GET", "/cohorts/new", Who::Staff),
    ("POST", "/cohorts", Who::Staff),
    ("POST", "/cohorts/{id}/enroll", Who::Staff),
    ("POST", "/cohorts/{id}/withdraw", Who::Staff),
    ("POST", "/cohorts/{id}/leave-waitlist", Who::Staff),
    ("POST", "/cohorts/{id}/promote", Who::Staff),
    ("POST", "/cohorts/{id}/capacity", Who::Staff),
    ("POST", "/cohorts/{id}/close", Who::Staff),
    // Their confirmation pages: a dry run and the form, for those who may post it.
    ("GET", "/cohorts/{id}/withdraw", Who::Staff),
    ("GET", "/cohorts/{id}/leave-waitlist", Who::Staff),
    ("GET", "/cohorts/{id}/close", Who::Staff),
    ("POST", "/cohorts/{id}/bulk/preview", Who::Staff),
    ("POST", "/cohorts/{id}/bulk/apply", Who::Staff),
    // The refused rows of a bulk enrollment: staff (and only the account that applied it).
    ("GET", "/cohorts/{id}/bulk/refused.csv", Who::Staff),
    ("POST", "/api/v1/cohorts", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/enrollments", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/withdrawals", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/promotions", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/capacity", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/close", Who::Staff),
    // Running a term (issue 15): staff.
    ("POST", "/cohorts/{id}/reopen", Who::Staff),
    ("POST", "/cohorts/{id}/schedule", Who::Staff),
    ("POST", "/cohorts/{id}/details", Who::Staff),
    ("POST", "/cohorts/{id}/cancel", Who::Staff),
    ("POST", "/cohorts/{id}/policy", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/reopen", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/schedule", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/details", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/cancel", Who::Staff),
    ("POST", "/api/v1/cohorts/{id}/policy", Who::Staff),
    // Waitlist offers (issue 15): staff answer them.
    ("POST", "/cohorts/{id}/offers/accept", Who::Staff),
    ("POST", "/cohorts/{id}/offers/decline", Who::Staff),
    (
        "POST",
        "/api/v1/cohorts/{id}/offers/{learner}/accept",
        Who::Staff,
    ),
    (
        "POST",
        "/api/v1/cohorts/{id}/offers/{learner}/decline",
        Who::Staff,
    ),
    ("POST", "/api/v1/cohorts/{id}/enrollments/bulk", Who::Staff),
    // Offer links (issue 17): the learner, without an account; the signed token is the key.
    ("GET", "/offers/{token}", Who::Anyone),
    ("POST", "/offers/{token}", Who::Anyone),
    // Accounts, tokens, erasure, projections, backups: admins only.
    ("GET", "/admin", Who::Admin),
    ("POST", "/admin/accounts", Who::Admin),
    ("POST", "/admin/accounts/{name}/password", Who::Admin),
    ("POST", "/admin/accounts/{name}/disable", Who::Admin),
    ("POST", "/admin/accounts/{name}/enable", Who::Admin),
    ("POST", "/admin/tokens", Who::Admin),
    ("POST", "/admin/tokens/{id}/revoke", Who::Admin),
    ("POST", "/admin/projections/rebuild", Who::Admin),
    ("POST", "/admin/projections/check", Who::Admin),
    ("GET", "/admin/erase", Who::Admin),
    ("POST", "/admin/erase", Who::Admin),
    ("GET", "/api/v1/projections", Who::Admin),
    ("POST", "/api/v1/admin/backups", Who::Admin),
    // Webhook subscriptions (issue 17): admins only; a URL is an address the server will call.
    ("POST", "/admin/webhooks", Who::Admin),
    ("POST", "/admin/webhooks/{id}/pause", Who::Admin),
    ("POST", "/admin/webhooks/{id}/resume", Who::Admin),
    ("POST", "/admin/webhooks/{id}/position", Who::Admin),
    ("POST", "/admin/webhooks/{id}/delete", Who::Admin),
    ("POST", "/api/v1/admin/webhooks", Who::Admin),
    ("GET", "/api/v1/admin/webhooks", Who::Admin),
    ("POST", "/api/v1/admin/webhooks/{id}/pause", Who::Admin),
    ("POST", "/api/v1/admin/webhooks/{id}/resume", Who::Admin),
    ("POST", "/api/v1/admin/webhooks/{id}/position", Who::Admin),
    ("DELETE", "/api/v1/admin/webhooks/{id}", Who::Admin),
    // Holds no data, only the published shapes.
    ("GET", "/api/v1/openapi.json", Who::Anyone),
];

fn admits(who: Who, role: Option<Role>) -> bool {
    match who {
        Who::Anyone => true,
        Who::Viewer => role.is_some(),
        Who::Staff => matches!(role, Some(Role::Staff | Role::Admin)),
        Who::Admin | Who::Scraper => role == Some(Role::Admin),
    }
}

/// A new route needs a reviewed line in `POLICY`; a line for a route that is gone is stale.
#[test]
fn the_written_policy_covers_exactly_the_declared_routes() {
    let declared: std::collections::BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let written: std::collections::BTreeSet<(String, String)> = POLICY
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(written.len(), POLICY.len(), "a route written twice");
    let missing: Vec<_> = declared.difference(&written).collect();
    let stale: Vec<_> = written.difference(&declared).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a reviewed policy line: {missing:?}; policy lines for no route: {stale:?}"
    );
    // The kinds agree too (what the walk below then proves of the running server).
    for (method, path, who) in POLICY {
        let access = &ROUTES
            .iter()
            .find(|r| r.method.as_str() == *method && r.path == *path)
            .unwrap()
            .access;
        let kind_agrees = match who {
            Who::Anyone => *access == Access::Public,
            Who::Scraper => *access == Access::Scrape,
            _ => matches!(access, Access::Role(_)),
        };
        assert!(
            kind_agrees,
            "{method} {path}: policy {who:?}, ROUTES {access:?}"
        );
    }
}

/// Every route, as every role and as nobody, against the written policy: pages with a session
/// cookie only, the API (and `/metrics`) with a bearer token only.
#[tokio::test]
async fn every_route_admits_exactly_the_roles_the_written_policy_names() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Table", 50).await;
    app.enroll(&cohort, "ana@x.org").await;
    let token_id = uuid::Uuid::now_v7().to_string();
    let roles = [
        None,
        Some(Role::Viewer),
        Some(Role::Staff),
        Some(Role::Admin),
    ];
    let mut pages = std::collections::HashMap::new();
    for role in Role::ALL {
        pages.insert(role, app.page_client(role).await);
    }
    for (method, pattern, who) in POLICY {
        let path = concrete(pattern, &cohort, &token_id);
        let method: reqwest::Method = method.parse().unwrap();
        let by_token = pattern.starts_with("/api/") || *who == Who::Scraper;
        for role in roles {
            let (client, csrf) = match role {
                None => (app.anonymous(), String::new()),
                Some(role) if by_token => (app.api_client(role), String::new()),
                // Logging out ends the session: a fresh one, not the shared one.
                Some(role) if *pattern == "/logout" => app.page_client(role).await,
                Some(role) => pages[&role].clone(),
            };
            let mut request = client.request(method.clone(), app.url(&path));
            if method == reqwest::Method::POST {
                request = if by_token {
                    request.json(&json!({}))
                } else {
                    request.form(&[("csrf", csrf.as_str())])
                };
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let to_login =
                status == StatusCode::SEE_OTHER && location(&response).starts_with("/login");
            let logged_out = *pattern == "/logout" && set_cookie(&response).contains("Max-Age=0");
            let expected_refusal = match (role, by_token) {
                (None, true) => StatusCode::UNAUTHORIZED,
                (None, false) => StatusCode::SEE_OTHER,
                (Some(_), _) => StatusCode::FORBIDDEN,
            };
            let refused = if expected_refusal == StatusCode::SEE_OTHER {
                to_login && !logged_out
            } else {
                status == expected_refusal
            };
            let allowed = admits(*who, role);
            if *pattern == "/login" && method == reqwest::Method::POST {
                // Public, and the login handler itself refuses an empty form (401, on its page).
                assert!(allowed);
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} as {role:?}"
                );
                let body = response.text().await.unwrap();
                assert!(body.contains(r#"name="password""#), "{body}");
            } else if allowed {
                assert!(
                    !refused
                        && status != StatusCode::UNAUTHORIZED
                        && status != StatusCode::FORBIDDEN
                        && (!to_login || logged_out),
                    "{method} {path} as {role:?}: got {status}, expected admitted ({who:?})"
                );
            } else {
                assert!(
                    refused,
                    "{method} {path} as {role:?}: got {status}, expected {expected_refusal} ({who:?})"
                );
            }
        }
    }
}

/// A session cookie is no API credential (a page an attacker lures an admin to could otherwise
/// call the API with the admin's cookie), and a bearer token opens no page.
#[tokio::test]
async fn the_api_refuses_a_session_cookie_and_pages_ignore_a_bearer_token() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Credentials", 5).await;
    let before = head(&app).await;
    let (browser, csrf) = app.page_client(Role::Admin).await;
    let script = app.api_client(Role::Admin);

    // Each credential works where it belongs.
    let page = browser.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let api = script.get(app.url("/api/v1/cohorts")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::OK);

    // The admin's session cookie, without a token, on the API: 401, and nothing written.
    for path in ["/api/v1/cohorts", "/api/v1/events", "/api/v1/projections"] {
        let response = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "GET {path}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    }
    let posted = browser
        .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"learner": "ana@x.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::UNAUTHORIZED);
    let backup = browser
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"out": "x.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(backup.status(), StatusCode::UNAUTHORIZED);

    // The admin's token, without a session, on pages: sent to log in, and nothing written.
    for path in ["/", "/admin", &format!("/cohorts/{id}")] {
        let response = script.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {path}");
        assert!(
            location(&response).starts_with("/login?next="),
            "GET {path}"
        );
    }
    let form = script
        .post(app.url(&format!("/cohorts/{id}/enroll")))
        .form(&[("learner", "ana@x.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&form), "/login?next=%2F");
    let account = script
        .post(app.url("/admin/accounts"))
        .form(&[
            ("name", "mallory"),
            ("role", "admin"),
            ("password", "a long enough one"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), StatusCode::SEE_OTHER);
    assert_eq!(head(&app).await, before, "nothing was written");
    let listed = browser.get(app.url("/admin")).send().await.unwrap();
    assert!(!listed.text().await.unwrap().contains("mallory"));
}

#[tokio::test]
async fn twenty_bad_logins_are_throttled_and_messages_do_not_reveal_accounts() {
    let app = TestApp::spawn().await;
    let client = app.anonymous();
    let attempt = |name: &'static str, password: &'static str| {
        client
            .post(app.url("/login"))
            .form(&[("name", name), ("password", password)])
            .send()
    };
    let unknown = attempt("nobody", "wrong password!").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown = unknown.text().await.unwrap();
    let wrong = attempt("staff", "wrong password!").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    let message = |html: &str| {
        html.split("role=\"alert\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        message(&unknown),
        message(&wrong),
        "unknown names and wrong passwords read alike"
    );

    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(attempt("staff", "wrong password!").await.unwrap());
    }
    let last = statuses.pop().unwrap();
    assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(last.headers().contains_key("retry-after"));
    // Even the right password waits while the delay runs.
    let right = client
        .post(app.url("/login"))
        .form(&[
            ("name", "staff"),
            ("password", password_of(Role::Staff).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    // The delay grows with the failures and ends: move the clock past it.
    app.clock.set(ts(NOW) + jiff::SignedDuration::from_mins(16));
    let right = client
        .post(app.url("/login"))
        .form(&[
            ("name", "staff"),
            ("password", password_of(Role::Staff).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_cookie_is_httponly_samesite_and_rotated_at_login() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = || {
        client.post(app.url("/login")).form(&[
            ("name", "viewer"),
            ("password", password_of(Role::Viewer).as_str()),
        ])
    };
    let first = login().send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&first);
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http without --public-url: {cookie}"
    );
    let first_id = cookie.split(';').next().unwrap().to_owned();

    // Logging in again with the old session gives a new id and ends the old one.
    let second = login().header("cookie", &first_id).send().await.unwrap();
    let second_id = set_cookie(&second).split(';').next().unwrap().to_owned();
    assert_ne!(first_id, second_id);
    let old = client
        .get(app.url("/"))
        .header("cookie", &first_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.status(),
        StatusCode::SEE_OTHER,
        "the replaced session no longer works"
    );
    let new = client
        .get(app.url("/"))
        .header("cookie", &second_id)
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::OK);

    // A session id brought by the client is never adopted: an unknown one is just refused.
    let fixed = client
        .get(app.url("/"))
        .header("cookie", "rollbook_session=attacker-chosen")
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn cookies_are_secure_behind_an_https_public_url() {
    let app =
        TestApp::spawn_with(|c| c.public_url = Some("https://rollbook.example.org".to_owned()))
            .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client
        .post(app.url("/login"))
        .header("origin", "https://rollbook.example.org")
        .form(&[
            ("name", "viewer"),
            ("password", password_of(Role::Viewer).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        set_cookie(&login).contains("; Secure"),
        "{}",
        set_cookie(&login)
    );
    let foreign = client
        .post(app.url("/login"))
        .header("origin", &format!("http://{}", app.addr))
        .form(&[
            ("name", "viewer"),
            ("password", password_of(Role::Viewer).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.status(),
        StatusCode::FORBIDDEN,
        "posts must come from the public origin"
    );
}

#[tokio::test]
async fn logout_and_idle_expiry_end_sessions_which_otherwise_survive_a_restart() {
    let app = TestApp::spawn().await;
    let (viewer, csrf) = app.signed_in(Role::Viewer).await;
    let out = viewer
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&out).contains("Max-Age=0"));
    let after = viewer.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        after.status(),
        StatusCode::SEE_OTHER,
        "logged out server-side"
    );

    // A session survives a restart...
    let (dir, db, clock, credentials) = app.stop().await;
    let again = TestApp::spawn_on(db, clock, credentials).await;
    let (staff, _) = again.signed_in(Role::Staff).await;
    let (dir2, db, clock, credentials) = again.stop().await;
    let twelve_hours =
        |c: &mut rollbook::app::AppConfig| c.session_idle = jiff::SignedDuration::from_hours(12);
    let third = TestApp::spawn_on_with(db, clock, credentials, twelve_hours).await;
    assert_eq!(
        staff.get(third.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    // ...but not 12 idle hours.
    third
        .clock
        .set(ts(NOW) + jiff::SignedDuration::from_hours(13));
    assert_eq!(
        staff.get(third.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    third.stop().await;
    drop((dir, dir2));
}

/// The idle timeout slides: a session used every 11 hours stays open past 12 hours from its
/// login, and ends 12 hours after its last use.
#[tokio::test]
async fn the_idle_timeout_counts_from_the_last_use_not_the_login() {
    let app = TestApp::spawn_with(|c| c.session_idle = jiff::SignedDuration::from_hours(12)).await;
    let (viewer, _) = app.page_client(Role::Viewer).await;
    let at = |hours: i64, mins: i64| {
        ts(NOW) + jiff::SignedDuration::from_hours(hours) + jiff::SignedDuration::from_mins(mins)
    };
    for hours in [11, 22, 33] {
        app.clock.set(at(hours, 0));
        let home = viewer.get(app.url("/")).send().await.unwrap();
        assert_eq!(
            home.status(),
            StatusCode::OK,
            "used again after 11 h, at +{hours} h"
        );
    }
    app.clock.set(at(45, 1));
    let home = viewer.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        home.status(),
        StatusCode::SEE_OTHER,
        "12 h after the last use"
    );
    assert!(location(&home).starts_with("/login"));
}

#[tokio::test]
async fn events_record_the_acting_account() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Who did it", 2).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = admin
        .post(app.url(&format!("/api/v1/cohorts/{id}/enrollments")))
        .json(&json!({"learner": "ana@x.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, feed) = app.get_json("/api/v1/events").await;
    let events = feed["events"].as_array().unwrap();
    assert_eq!(events[0]["actor"], "staff");
    assert_eq!(events[1]["actor"], "admin");
    assert_ne!(events[0]["actor_id"], events[1]["actor_id"]);
    let history = app
        .get(&format!("/cohorts/{id}/history"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        history.contains(r#"<td data-label="By">admin</td>"#)
            && history.contains(r#"<td data-label="By">staff</td>"#),
        "{history}"
    );
}

#[tokio::test]
async fn admins_manage_accounts_and_tokens_and_revocation_is_immediate() {
    let app = TestApp::spawn().await;
    let (admin, csrf) = app.signed_in(Role::Admin).await;
    let post = |path: &str, fields: &[(&str, &str)]| {
        let mut all = fields.to_vec();
        all.push(("csrf", csrf.as_str()));
        admin.post(app.url(path)).form(&all).send()
    };

    let created = post(
        "/admin/accounts",
        &[
            ("name", "Carla"),
            ("role", "viewer"),
            ("password", "carla's long password"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let page = admin
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<td>carla</td>"), "{page}");
    let weak = post(
        "/admin/accounts",
        &[("name", "dan"), ("role", "staff"), ("password", "short")],
    )
    .await
    .unwrap();
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn admin_made_tokens_work_revocation_is_immediate_and_disabling_stops_everything() {
    let app = TestApp::spawn().await;
    let (admin, csrf) = app.signed_in(Role::Admin).await;
    let post = |path: &str, fields: &[(&str, &str)]| {
        let mut all = fields.to_vec();
        all.push(("csrf", csrf.as_str()));
        admin.post(app.url(path)).form(&all).send()
    };
    let created = post(
        "/admin/accounts",
        &[
            ("name", "carla"),
            ("role", "viewer"),
            ("password", "carla's long password"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);

    // A token made on the admin page works, and stops at once when revoked.
    let made = post(
        "/admin/tokens",
        &[("account", "carla"), ("label", "script")],
    )
    .await
    .unwrap();
    let html = made.text().await.unwrap();
    let token = html
        .split("<code class=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let id = html
        .split("(id <code>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let api = reqwest::Client::new();
    let call = || {
        api.get(app.url("/api/v1/cohorts"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(call().await.unwrap().status(), StatusCode::OK);
    let revoked = post(&format!("/admin/tokens/{id}/revoke"), &[])
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(call().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Disabling an account ends its sessions and stops its tokens.
    let (staff_session, _) = app.signed_in(Role::Staff).await;
    let disabled = post("/admin/accounts/staff/disable", &[]).await.unwrap();
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        staff_session
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    let staff_token = api
        .get(app.url("/api/v1/cohorts"))
        .bearer_auth(app.credentials.token(Role::Staff))
        .send()
        .await
        .unwrap();
    assert_eq!(staff_token.status(), StatusCode::UNAUTHORIZED);

    // A reset password works; the old one no longer does.
    let reset = post(
        "/admin/accounts/carla/password",
        &[("password", "a brand new password")],
    )
    .await
    .unwrap();
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    let login = |password: &'static str| {
        app.anonymous()
            .post(app.url("/login"))
            .form(&[("name", "carla"), ("password", password)])
            .send()
    };
    assert_eq!(
        login("carla's long password").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login("a brand new password").await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}
