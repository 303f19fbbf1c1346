//! Attacks on the login form, replayed through the real server: a burst of logins that would
//! exhaust memory, throttling that counts too late or locks a user out from everywhere, open
//! redirects through `next`, and credentials that outlive a reset, a disable or an idle spell.

use std::net::IpAddr;
use std::time::Duration;

use jiff::SignedDuration;
use rollbook::auth::{Passwords, Role};
use rollbook::web::AllowList;
use tokio::sync::mpsc;

use crate::helpers::{NOW, TestApp, password_of, ts};

/// Guards against a hang if a fix regresses (a request that should be answered at once waits
/// instead): not a timing assertion, the bound is far beyond any honest run.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A client with a cookie store, no token, no redirects followed, connecting from `from`
/// (any 127.0.0.0/8 address reaches the server on Linux's loopback).
fn client_from(from: Option<IpAddr>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true);
    if let Some(address) = from {
        builder = builder.local_address(address);
    }
    builder.build().expect("client")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

async fn login(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    client
        .post(app.url("/login"))
        .form(&[("name", name), ("password", password), ("next", next)])
        .send()
        .await
        .expect("POST /login")
}

/// The value of an unlabelled sample in a `/metrics` scrape.
async fn metric(app: &TestApp, name: &str) -> u64 {
    let body = client_from(None)
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
        .parse()
        .expect("an integer sample")
}

/// Connections one address may hold in the burst tests: more than any burst sends.
const BURST_CONNECTIONS: usize = 1024;

/// Fires `n` concurrent logins with unknown names from one address; their statuses arrive on
/// the returned channel as they are answered.
fn burst(app: &TestApp, n: usize) -> mpsc::UnboundedReceiver<u16> {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = client_from(None);
    for i in 0..n {
        let (tx, client, url) = (tx.clone(), client.clone(), app.url("/login"));
        tokio::spawn(async move {
            let response = client
                .post(url)
                .form(&[
                    ("name", format!("ghost{i}").as_str()),
                    ("password", "a wrong password, long enough"),
                ])
                .send()
                .await
                .expect("POST /login");
            let _ = tx.send(response.status().as_u16());
        });
    }
    rx
}

async fn take(rx: &mut mpsc::UnboundedReceiver<u16>, n: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(n);
    tokio::time::timeout(HANG_GUARD, async {
        while statuses.len() < n {
            statuses.push(rx.recv().await.expect("a status"));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {} of {n} logins were answered", statuses.len()));
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_burst_hashes_at_most_one_password_per_core_and_the_rest_are_refused_at_once() {
    // The shipped parameters (19 MiB per hash), as in the attack.
    let passwords = Passwords::owasp();
    let shared = passwords.clone();
    let app = TestApp::spawn_with(move |config| {
        config.passwords = shared;
        config.metrics_allow = AllowList::new(vec!["127.0.0.1".parse().unwrap()]);
        // The per-address connection cap would cut the burst at 64 connections; this test is
        // about the hash limiter behind it.
        config.max_connections_per_address = BURST_CONNECTIONS;
    })
    .await;
    let limiter = passwords.limiter();
    let before = limiter.stats();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    assert_eq!(before.permits, cores, "one hash per core");
    assert!(before.queue <= 2 * cores, "a short queue");

    // Every permit is taken (as by logins already hashing): each login of the burst either
    // waits in the short queue or is refused at once, without hashing.
    let held: Vec<_> = (0..before.permits)
        .map(|_| limiter.try_acquire().expect("a free permit"))
        .collect();
    let total = 300;
    let mut rx = burst(&app, total);
    let at_once = take(&mut rx, total - before.queue).await;
    assert!(
        at_once.iter().all(|s| *s == 503 || *s == 429),
        "{at_once:?}"
    );
    assert!(at_once.contains(&503), "some refused as busy: {at_once:?}");
    assert_eq!(limiter.stats().hashed, before.hashed, "none of them hashed");

    // The queued logins are still waiting; the server answers everything else meanwhile.
    let health = client_from(None)
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(health.status(), 200);
    assert_eq!(
        metric(&app, "rollbook_logins_refused_busy_total").await,
        limiter.stats().refused_busy
    );
    assert!(limiter.stats().refused_busy >= 1);
    // One more, while the queue is still full: refused at once, told when to come back, even
    // with the right password, and without a session.
    let r = login(
        &app,
        &client_from(Some(ip("127.0.0.7"))),
        "staff",
        &password_of(Role::Staff),
        "/",
    )
    .await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await.expect("html").contains("busy"));

    drop(held);
    let queued = take(&mut rx, before.queue).await;
    assert_eq!(
        queued,
        vec![401; before.queue],
        "the queued logins were checked"
    );
    let after = limiter.stats();
    assert_eq!(after.hashed - before.hashed, before.queue as u64);
    assert!(after.peak <= after.permits, "{after:?}");
    assert!(
        metric(&app, "rollbook_password_hashes_peak").await <= after.permits as u64,
        "/metrics shows the peak"
    );
    assert_eq!(metric(&app, "rollbook_password_hashes_in_flight").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unhindered_login_burst_never_hashes_more_than_one_password_per_core() {
    let passwords = Passwords::owasp();
    let shared = passwords.clone();
    let app = TestApp::spawn_with(move |config| {
        config.passwords = shared;
        config.max_connections_per_address = BURST_CONNECTIONS;
    })
    .await;
    let total = 256;
    let mut rx = burst(&app, total);
    let health = client_from(None)
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(health.status(), 200, "the server answers during the burst");
    let statuses = take(&mut rx, total).await;
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    let stats = passwords.stats();
    assert!(stats.peak <= stats.permits, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_failures_is_throttled_by_count_before_any_is_hashed() {
    // Slow hashes: counted after hashing, the whole burst would pass the throttle.
    let app = TestApp::spawn_with(|config| config.passwords = Passwords::owasp()).await;
    let client = client_from(Some(ip("127.0.0.5")));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (client, url) = (client.clone(), app.url("/login"));
        tasks.spawn(async move {
            let response = client
                .post(url)
                .form(&[
                    ("name", "ghost"),
                    ("password", "a wrong password, long enough"),
                ])
                .send()
                .await
                .expect("POST /login");
            response.status().as_u16()
        });
    }
    let statuses = tasks.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(checked, 5, "five checked, the rest refused: {statuses:?}");
    assert!(statuses.iter().all(|s| [401, 429, 503].contains(s)));
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn failures_for_admin_from_one_address_do_not_lock_admin_out_from_another() {
    let app = TestApp::spawn().await;
    let attacker = client_from(Some(ip("127.0.0.2")));
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = login(
            &app,
            &attacker,
            "admin",
            "a wrong password, long enough",
            "/",
        )
        .await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    // The attacker's address is held back even with the right password ...
    let r = login(&app, &attacker, "admin", &password_of(Role::Admin), "/").await;
    assert_eq!(r.status(), 429);
    // ... but the admin, elsewhere, logs in.
    let admin = client_from(Some(ip("127.0.0.3")));
    let r = login(&app, &admin, "admin", &password_of(Role::Admin), "/").await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn one_address_guessing_across_names_is_throttled_by_its_own_count() {
    let app = TestApp::spawn().await;
    let guesser = client_from(Some(ip("127.0.0.4")));
    // Ten different names, one failure each: no name or (name, address) is near its limit.
    for i in 0..10 {
        let r = login(
            &app,
            &guesser,
            &format!("user{i}"),
            "a wrong password!",
            "/",
        )
        .await;
        assert_eq!(r.status(), 401, "guess {i}");
    }
    let r = login(&app, &guesser, "viewer", &password_of(Role::Viewer), "/").await;
    assert_eq!(r.status(), 429, "the address is throttled");
    let elsewhere = client_from(Some(ip("127.0.0.6")));
    let r = login(&app, &elsewhere, "viewer", &password_of(Role::Viewer), "/").await;
    assert_eq!(r.status(), 303);
}

/// `next` values an attacker tried, raw (they are form-encoded when sent).
const HOSTILE_NEXTS: &[&str] = &[
    "//evil.example/",
    "/\t/evil.example/",
    "/%09/evil.example/",
    "/\n/evil.example/",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/.//evil.example",
    "/%2F%2Fevil.example",
    "/%5C%5Cevil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    " /cohorts",
    "/\r\nSet-Cookie: rollbook_session=attacker",
    "/\0",
    "/\u{b}",
    "/\u{c}",
    "/\u{7f}",
    "/caf\u{e9}",
];

fn assert_local(location: &str, next: &str) {
    assert!(location.starts_with('/'), "{next:?} → {location:?}");
    assert!(!location.starts_with("//"), "{next:?} → {location:?}");
    assert!(!location.contains('\\'), "{next:?} → {location:?}");
    assert!(
        location.bytes().all(|b| b.is_ascii_graphic()),
        "{next:?} → {location:?}"
    );
}

#[tokio::test]
async fn a_login_redirects_only_to_a_local_path() {
    let app = TestApp::spawn().await;
    let client = client_from(None);
    let long = format!("/cohorts?{}", "a".repeat(60 * 1024));
    for next in HOSTILE_NEXTS.iter().copied().chain([long.as_str()]) {
        let r = login(&app, &client, "staff", &password_of(Role::Staff), next).await;
        assert_eq!(r.status(), 303, "{next:?}");
        let location = r.headers()["location"].to_str().expect("ASCII");
        assert_eq!(location, "/", "{next:?}");
        assert!(r.headers().get("set-cookie").is_some());
    }
    // A genuine local path is kept.
    let next = "/cohorts?page=2&q=a%20b";
    let r = login(&app, &client, "staff", &password_of(Role::Staff), next).await;
    assert_eq!(r.headers()["location"], next);

    // A refused login re-renders the form with a local `next` only (each from its own address,
    // to stay below the throttle).
    for (i, next) in HOSTILE_NEXTS.iter().enumerate() {
        let client = client_from(Some(IpAddr::from([
            127,
            0,
            1,
            u8::try_from(i + 1).unwrap(),
        ])));
        let r = login(&app, &client, "staff", "the wrong password", next).await;
        assert_eq!(r.status(), 401, "{next:?}");
        assert!(r.headers().get("set-cookie").is_none());
        let html = r.text().await.expect("html");
        assert!(html.contains(r#"name="next" value="/">"#), "{next:?}");
    }
}

#[tokio::test]
async fn the_login_form_and_the_sign_in_redirect_reflect_a_bounded_local_next() {
    let app = TestApp::spawn().await;
    let client = client_from(None);
    for next in HOSTILE_NEXTS {
        let query = serde_urlencoded::to_string([("next", next)]).expect("query");
        let r = client
            .get(app.url(&format!("/login?{query}")))
            .send()
            .await
            .expect("GET /login");
        assert_eq!(r.status(), 200, "{next:?}");
        let html = r.text().await.expect("html");
        assert!(html.contains(r#"name="next" value="/">"#), "{next:?}");
    }
    // A page asked for without a session sends to the login form, `next` bounded.
    let long = format!("/events?q={}", "a".repeat(60 * 1024));
    let r = client.get(app.url(&long)).send().await.expect("GET");
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().expect("ASCII");
    assert_eq!(location, "/login?next=%2F");
    let r = client
        .get(app.url("/events?page=2"))
        .send()
        .await
        .expect("GET");
    let location = r.headers()["location"].to_str().expect("ASCII");
    assert_eq!(location, "/login?next=%2Fevents%3Fpage%3D2");
    assert_local(location, "/events?page=2");
}

#[tokio::test]
async fn disabling_an_account_revokes_its_tokens_for_good() {
    let app = TestApp::spawn().await;
    let token = app.credentials.token(Role::Staff).to_owned();
    let api = |token: String| {
        let client = client_from(None);
        let url = app.url("/api/v1/cohorts");
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("GET")
                .status()
        }
    };
    assert_eq!(api(token.clone()).await, 200);
    let (admin, csrf) = app.page_client(Role::Admin).await;
    for action in ["disable", "enable"] {
        let r = admin
            .post(app.url(&format!("/admin/accounts/staff/{action}")))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status(), 303, "{action}");
    }
    assert_eq!(api(token).await, 401, "the old token stays revoked");
    // The account itself works again.
    let (_, _) = app.page_client(Role::Staff).await;
}

#[tokio::test]
async fn a_password_reset_ends_the_account_s_sessions_also_after_a_restart() {
    let app = TestApp::spawn().await;
    let (viewer, _) = app.page_client(Role::Viewer).await;
    let home = |client: reqwest::Client, url: String| async move {
        client.get(url).send().await.expect("GET /").status()
    };
    assert_eq!(home(viewer.clone(), app.url("/")).await, 200);
    let (admin, csrf) = app.page_client(Role::Admin).await;
    let r = admin
        .post(app.url("/admin/accounts/viewer/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "a brand new password here"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 303);
    assert_eq!(
        home(viewer.clone(), app.url("/")).await,
        303,
        "session ended"
    );
    let r = login(
        &app,
        &client_from(None),
        "viewer",
        "a brand new password here",
        "/",
    )
    .await;
    assert_eq!(r.status(), 303, "the new password works");

    // Ended in the store too: a restart does not bring it back (cookies are kept per host, so
    // the same client sends the old cookie to the restarted server).
    let (dir, db, clock, credentials) = app.stop().await;
    let mut app = TestApp::spawn_on(db, clock, credentials).await;
    if let Some(dir) = dir {
        app.keep(dir);
    }
    assert_eq!(home(viewer, app.url("/")).await, 303, "still ended");
}

#[tokio::test]
async fn the_idle_timeout_slides_with_each_request() {
    let app =
        TestApp::spawn_with(|config| config.session_idle = SignedDuration::from_hours(1)).await;
    let (staff, _) = app.page_client(Role::Staff).await;
    let home = || async {
        staff
            .get(app.url("/"))
            .send()
            .await
            .expect("GET /")
            .status()
    };
    let start = ts(NOW);
    app.clock.set(start + SignedDuration::from_mins(40));
    assert_eq!(home().await, 200);
    // 80 minutes after the login, 40 after the last request: still signed in.
    app.clock.set(start + SignedDuration::from_mins(80));
    assert_eq!(
        home().await,
        200,
        "the idle time counts from the last request"
    );
    // Idle for longer than the timeout: signed out.
    app.clock.set(start + SignedDuration::from_mins(141));
    assert_eq!(home().await, 303);
}
