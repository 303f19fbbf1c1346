//! Accounts, roles, sessions, tokens, CSRF and throttling, through real HTTP: nobody gets in
//! where they do not belong, and nothing is written when they try.

use reqwest::StatusCode;
use rollbook::auth::Role;
use rollbook::web::{Access, ROUTES};
use serde_json::{Value, json};

use crate::helpers::*;

async fn head(app: &TestApp) -> u64 {
    app.get_json("/api/v1/events").await.1["head"]
        .as_u64()
        .unwrap()
}

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
fn concrete(path: &str, cohort: &str) -> String {
    path.replace("{id}", cohort)
        .replace("{learner}", "ana%40x.org")
        .replace("{name}", "nobody")
        .replace("{file}", "style.css")
}

#[tokio::test]
async fn every_route_admits_exactly_the_roles_it_declares() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Table", 50).await;
    app.enroll(&cohort, "ana@x.org").await;
    let revoke_id = uuid::Uuid::now_v7().to_string();
    for (method, pattern, access) in ROUTES {
        let path = concrete(pattern, &cohort);
        let path = if pattern.contains("/admin/tokens/{id}") {
            pattern.replace("{id}", &revoke_id)
        } else {
            path
        };
        for role in [
            None,
            Some(Role::Viewer),
            Some(Role::Staff),
            Some(Role::Admin),
        ] {
            let (client, csrf) = match role {
                None => (app.anonymous(), String::new()),
                Some(role) => app.signed_in(role).await,
            };
            let mut request = client.request(method.clone(), app.url(&path));
            if *method == reqwest::Method::POST {
                request = if path.starts_with("/api/") {
                    request.json(&json!({}))
                } else {
                    request.form(&[("csrf", csrf.as_str())])
                };
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let logged_out = *pattern == "/logout" && set_cookie(&response).contains("Max-Age=0");
            let to_login = status == StatusCode::SEE_OTHER
                && location(&response).starts_with("/login")
                && !logged_out;
            let refused =
                status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN || to_login;
            let allowed = match access {
                Access::Public => true,
                Access::Role(required) => role.is_some_and(|r| r.allows(*required)),
                // No address is allowed here (see tests/it/metrics.rs for one that is).
                Access::Scrape => role == Some(Role::Admin),
            };
            // `/login` redirects to `/login`-less targets; a public POST /login with no
            // credentials answers 401 by design (wrong name or password), not a refusal.
            let refused = refused && !(*pattern == "/login" && *method == reqwest::Method::POST);
            assert_eq!(
                !refused,
                allowed,
                "{method} {path} as {role:?}: got {status}, expected {}",
                if allowed { "admitted" } else { "refused" }
            );
        }
    }
}

#[tokio::test]
async fn user_text_is_escaped_everywhere() {
    let app = TestApp::spawn().await;
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
        history.contains("<td>admin</td>") && history.contains("<td>staff</td>"),
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
