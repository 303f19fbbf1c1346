//! Offer links (issue 17, item 4) through the real server: a learner answers a waitlist offer
//! by following a signed link, without an account. The links are made with the library's own
//! [`OfferLinks`] over the key the test reads from the database before the server starts (the
//! server then loads that same key), exactly as the offer e-mail makes them.
//!
//! Covered: GET shows the offer and changes nothing; accepting and declining record
//! `offer.accepted` / `offer.declined` with the learner as actor (a name without personal
//! data); a second use, an expired, tampered, superseded or foreign link, a cancelled cohort
//! and an erased learner each get a clear page and change nothing; cross-site posts are
//! refused; the pages are public while staff pages stay protected; no `--public-url`, no links.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use rollbook::app::{AppConfig, Application};
use rollbook::auth::Role;
use rollbook::clock::FixedClock;
use rollbook::domain::{CohortId, LearnerId};
use rollbook::learner_key::LearnerKey;
use rollbook::offer_links::{OfferAction, OfferLink, OfferLinkUrls, OfferLinks};
use rollbook::store::{Batch, LearnerRecord, OfferLinkStore as _, Store, StoreOptions};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::browser::{Driver, click_to_next_page, screenshot_dir};
use crate::helpers::*;

/// The `--public-url` of these tests; links are followed against the test server's address.
const PUBLIC: &str = "http://rollbook.test";
const LEARNERS: [&str; 4] = ["ana@x.org", "bo@x.org", "cy@x.org", "dee@x.org"];

/// A server with offer links on, its key's links, and the ids its learners are filed under.
struct Linked {
    app: TestApp,
    links: OfferLinks,
    /// The base the links are made under.
    base: String,
    ids: HashMap<&'static str, LearnerId>,
}

/// Seeds a database with accounts, the learners of [`LEARNERS`] (under ids the test knows) and
/// the offer link key, then starts the server on it with `public_url`.
async fn spawn(public_url: Option<&str>) -> Linked {
    spawn_at(PUBLIC, public_url, None).await
}

/// [`spawn`] with links made under `base`, listening on `listen` (default: a free port).
async fn spawn_at(
    base: &str,
    public_url: Option<&str>,
    listen: Option<std::net::SocketAddr>,
) -> Linked {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rollbook.redb");
    let clock = Arc::new(FixedClock::new(ts(NOW)));
    let credentials = seed(&db, clock.clone());
    let ids: HashMap<&'static str, LearnerId> = LEARNERS
        .iter()
        .map(|key| (*key, LearnerId(Uuid::now_v7())))
        .collect();
    let key = {
        let store = Store::open(&db, &StoreOptions::default()).unwrap();
        let learners = LEARNERS
            .iter()
            .map(|key| {
                let record = LearnerRecord {
                    key: LearnerKey::parse(key).unwrap().as_str().to_owned(),
                    name: format!("Name of {key}"),
                };
                (ids[key], record)
            })
            .collect();
        store
            .commit(
                &Batch {
                    learners,
                    ..Batch::default()
                },
                ts(NOW),
            )
            .unwrap();
        store.offer_link_key([7; 32]).unwrap()
    };
    let links = OfferLinks::from_key(key, Some(base)).unwrap();
    let public_url = public_url.map(str::to_owned);
    let mut app = TestApp::spawn_on_with(db, clock, credentials, |c| {
        c.public_url = public_url;
        if let Some(listen) = listen {
            c.listen = listen;
        }
    })
    .await;
    app.keep(dir);
    Linked {
        app,
        links,
        base: base.to_owned(),
        ids,
    }
}

/// A cohort of one seat under the offer policy held for 2 h: ana enrolled, bo and cy waiting.
async fn offer_cohort(app: &TestApp) -> String {
    let mut body = cohort_body("Rust Evenings", 1);
    body["promotion"] = json!("offer");
    body["offer_hold"] = json!("2h");
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(app.enroll(&id, "ana@x.org").await, "enrolled");
    assert_eq!(app.enroll(&id, "bo@x.org").await, "waitlisted");
    assert_eq!(app.enroll(&id, "cy@x.org").await, "waitlisted");
    id
}

async fn events(app: &TestApp, id: &str) -> Vec<Value> {
    let (status, body) = app.get_json(&format!("/api/v1/cohorts/{id}/events")).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// The newest `waitlist.offered` to `learner` in the cohort: its position and expiry.
async fn offer_of(app: &TestApp, id: &str, learner: &str) -> (u64, Timestamp) {
    let all = events(app, id).await;
    let offered = all
        .iter()
        .rev()
        .find(|e| e["type"] == "waitlist.offered" && e["data"]["learner"] == learner)
        .unwrap_or_else(|| panic!("no offer to {learner}: {all:?}"));
    (
        offered["position"].as_u64().unwrap(),
        offered["data"]["expires_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    )
}

impl Linked {
    /// The links of `learner`'s newest offer in cohort `id`.
    async fn links_of(&self, id: &str, learner: &str) -> OfferLinkUrls {
        let (position, expires_at) = offer_of(&self.app, id, learner).await;
        self.links
            .urls(cohort(id), self.ids[learner], position, expires_at)
            .expect("links with a public URL")
    }

    /// A link's address on the test server.
    fn local(&self, url: &str) -> String {
        let path = url.strip_prefix(&self.base).expect("under the public URL");
        self.app.url(path)
    }

    async fn get(&self, url: &str) -> (StatusCode, String) {
        let response = self
            .app
            .anonymous()
            .get(self.local(url))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// Confirms a link as its page's form does (the action named again), with no session.
    async fn post(&self, url: &str, action: &str) -> reqwest::Response {
        self.app
            .anonymous()
            .post(self.local(url))
            .form(&[("action", action)])
            .send()
            .await
            .unwrap()
    }
}

fn cohort(id: &str) -> CohortId {
    CohortId(id.parse().unwrap())
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// [`offer_cohort`] with ana withdrawn: bo holds the offer until 11:00.
async fn bo_offered(linked: &Linked) -> String {
    let id = offer_cohort(&linked.app).await;
    withdraw(&linked.app, &id, "ana@x.org", "moved").await;
    id
}

#[tokio::test]
async fn following_a_link_shows_the_offer_and_changes_nothing() {
    let linked = spawn(Some(PUBLIC)).await;
    let id = bo_offered(&linked).await;
    let urls = linked.links_of(&id, "bo@x.org").await;
    assert!(
        urls.accept.starts_with("http://rollbook.test/offers/"),
        "{urls:?}"
    );
    let before = head(&linked.app).await;

    for (url, first, second) in [
        (&urls.accept, "accept", "decline"),
        (&urls.decline, "decline", "accept"),
    ] {
        let response = linked
            .app
            .anonymous()
            .get(linked.local(url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers.contains_key("content-security-policy"));
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Seat held for you in <strong>Rust Evenings</strong> until")
                && html.contains("2026-03-01 11:00 UTC"),
            "{html}"
        );
        // Both answers, each saying what it does; the one followed comes first.
        assert!(html.contains("You are enrolled in Rust Evenings"), "{html}");
        assert!(
            html.contains("the seat is offered to the next person on the waitlist")
                && html.contains("This cannot be undone"),
            "{html}"
        );
        let at = |action: &str| {
            html.find(&format!(r#"name="action" value="{action}""#))
                .unwrap_or_else(|| panic!("no {action} form: {html}"))
        };
        assert!(at(first) < at(second), "{first} first: {html}");
        // No one's personal data, the learner's own included.
        for learner in LEARNERS {
            assert!(!html.contains(learner), "{learner} on the page: {html}");
        }
        assert!(!html.contains("Name of"), "{html}");
    }
    assert_eq!(head(&linked.app).await, before, "GET changed nothing");
    let cohort = linked.app.cohort(&id).await;
    assert_eq!(keys(&cohort, "enrolled"), Vec::<String>::new());
}

#[tokio::test]
async fn accepting_records_offer_accepted_as_the_learner_once() {
    let linked = spawn(Some(PUBLIC)).await;
    let id = bo_offered(&linked).await;
    let urls = linked.links_of(&id, "bo@x.org").await;
    let before = head(&linked.app).await;

    let response = linked.post(&urls.accept, "accept").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // Relative to the link itself, so it holds under a `--public-url` with a path.
    assert_eq!(location(&response), "?done");
    assert_eq!(head(&linked.app).await, before + 1);
    let last = events(&linked.app, &id).await.pop().unwrap();
    assert_eq!(last["type"], "offer.accepted", "{last}");
    assert_eq!(last["data"]["learner"], "bo@x.org");
    // The learner is the actor: their opaque id, and a name that holds no personal data.
    assert_eq!(last["actor"], "learner (offer link)");
    assert_eq!(last["actor_id"], linked.ids["bo@x.org"].0.to_string());
    assert_eq!(
        keys(&linked.app.cohort(&id).await, "enrolled"),
        ["bo@x.org"]
    );

    // The result page.
    let page = linked
        .app
        .anonymous()
        .get(format!("{}?done", linked.local(&urls.accept)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("You have the seat") && html.contains("you are enrolled"),
        "{html}"
    );

    // Used: both links now say so, and change nothing.
    let after = head(&linked.app).await;
    let again = linked.post(&urls.accept, "accept").await;
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(again.text().await.unwrap().contains("already answered"));
    let decline = linked.post(&urls.decline, "decline").await;
    assert_eq!(decline.status(), StatusCode::GONE);
    let (status, html) = linked.get(&urls.decline).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(
        html.contains("was accepted on 2026-03-01 09:00 UTC"),
        "{html}"
    );
    // `?done` on the other link is no result page: it did not answer.
    let other_done = format!("{}?done", linked.local(&urls.decline));
    let page = linked.app.anonymous().get(other_done).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    assert_eq!(head(&linked.app).await, after, "nothing changed");
}

#[tokio::test]
async fn declining_records_offer_declined_and_the_seat_goes_to_the_next_in_line() {
    let linked = spawn(Some(PUBLIC)).await;
    let id = bo_offered(&linked).await;
    let urls = linked.links_of(&id, "bo@x.org").await;

    let response = linked.post(&urls.decline, "decline").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let done = location(&response);
    let all = events(&linked.app, &id).await;
    let tail: Vec<&Value> = all.iter().rev().take(2).rev().collect();
    assert_eq!(tail[0]["type"], "offer.declined", "{tail:?}");
    assert_eq!(tail[0]["data"]["learner"], "bo@x.org");
    assert_eq!(tail[0]["actor"], "learner (offer link)");
    assert_eq!(tail[0]["actor_id"], linked.ids["bo@x.org"].0.to_string());
    // The rules go on in the same append: the seat is offered to cy, the next in line.
    assert_eq!(tail[1]["type"], "waitlist.offered");
    assert_eq!(tail[1]["data"]["learner"], "cy@x.org");

    let page = linked
        .app
        .anonymous()
        .get(format!("{}{done}", linked.local(&urls.decline)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("You turned the offer down")
            && html.contains("the seat is offered to the next person on the waitlist"),
        "{html}"
    );
    assert!(
        !html.contains("cy@x.org") && !html.contains("Name of"),
        "{html}"
    );

    // Bo's links are spent; cy's own link works.
    let (status, _) = linked.get(&urls.accept).await;
    assert_eq!(status, StatusCode::GONE);
    let cy = linked.links_of(&id, "cy@x.org").await;
    let (status, html) = linked.get(&cy.accept).await;
    assert_eq!(status, StatusCode::OK, "{html}");
}

#[tokio::test]
async fn an_expired_link_shows_so_and_changes_nothing() {
    let linked = spawn(Some(PUBLIC)).await;
    let id = bo_offered(&linked).await;
    let urls = linked.links_of(&id, "bo@x.org").await;
    let (_, expires_at) = offer_of(&linked.app, &id, "bo@x.org").await;
    linked
        .app
        .clock
        .set(expires_at + SignedDuration::from_secs(1));

    // Due but maybe not yet recorded, or recorded by the scheduler: expired either way.
    let (status, html) = linked.get(&urls.accept).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    assert!(html.contains("This offer has expired"), "{html}");
    // Wait for the scheduler's own record, so that what follows is the link's doing alone.
    let started = std::time::Instant::now();
    while !events(&linked.app, &id)
        .await
        .iter()
        .any(|e| e["type"] == "offer.expired")
    {
        assert!(
            started.elapsed().as_secs() < 30,
            "the offer was never expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before = head(&linked.app).await;
    for (url, action) in [(&urls.accept, "accept"), (&urls.decline, "decline")] {
        let response = linked.post(url, action).await;
        assert_eq!(response.status(), StatusCode::GONE);
        let html = response.text().await.unwrap();
        assert!(html.contains("This offer has expired"), "{html}");
        assert!(html.contains("2026-03-01 11:00 UTC"), "{html}");
    }
    assert_eq!(head(&linked.app).await, before, "nothing changed");
    assert!(!keys(&linked.app.cohort(&id).await, "enrolled").contains(&"bo@x.org".to_owned()));
}

#[tokio::test]
async fn tampered_and_foreign_links_are_refused() {
    let linked = spawn(Some(PUBLIC)).await;
    let id = bo_offered(&linked).await;
    let urls = linked.links_of(&id, "bo@x.org").await;
    let (position, expires_at) = offer_of(&linked.app, &id, "bo@x.org").await;
    let before = head(&linked.app).await;

    // One character changed, anywhere in the token.
    let token = urls.accept.rsplit('/').next().unwrap().to_owned();
    for i in [0, token.len() / 2, token.len() - 2] {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let changed = format!("{PUBLIC}/offers/{}", String::from_utf8(bytes).unwrap());
        let (status, html) = linked.get(&changed).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "changed at {i}");
        assert!(html.contains("This link is not valid"), "{html}");
        let response = linked.post(&changed, "accept").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    // Cut short, too long, not a token at all.
    for bad in [
        format!("{PUBLIC}/offers/{}", &token[..20]),
        format!("{PUBLIC}/offers/{}", "A".repeat(4000)),
        format!("{PUBLIC}/offers/..%2F..%2Fadmin"),
    ] {
        let (status, _) = linked.get(&bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // The action swapped in the form: the accept link cannot decline, nor the reverse.
    let swapped = linked.post(&urls.accept, "decline").await;
    assert_eq!(swapped.status(), StatusCode::BAD_REQUEST);
    assert!(
        swapped
            .text()
            .await
            .unwrap()
            .contains("does not match the link")
    );
    let swapped = linked.post(&urls.decline, "accept").await;
    assert_eq!(swapped.status(), StatusCode::BAD_REQUEST);
    let missing = linked.post(&urls.accept, "").await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    // Signed with another key.
    let foreign = OfferLinks::from_key([1; 32], Some(PUBLIC)).unwrap();
    let other = foreign
        .urls(cohort(&id), linked.ids["bo@x.org"], position, expires_at)
        .unwrap();
    let (status, _) = linked.get(&other.accept).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Well signed, but another learner's name on bo's offer: no such offer.
    let cy_on_bos = linked
        .links
        .urls(cohort(&id), linked.ids["cy@x.org"], position, expires_at)
        .unwrap();
    let (status, html) = linked.get(&cy_on_bos.accept).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
    let response = linked.post(&cy_on_bos.accept, "accept").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // A position that is no offer, another expiry, a cohort that does not exist.
    for (cohort_id, at, expiry) in [
        (cohort(&id), position - 1, expires_at),
        (
            cohort(&id),
            position,
            expires_at + SignedDuration::from_hours(1),
        ),
        (CohortId(Uuid::now_v7()), position, expires_at),
    ] {
        let url = linked
            .links
            .urls(cohort_id, linked.ids["bo@x.org"], at, expiry)
            .unwrap();
        let response = linked.post(&url.accept, "accept").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{at} {expiry}");
    }
    assert_eq!(head(&linked.app).await, before, "nothing changed");
    // The genuine link still works after all that.
    let response = linked.post(&urls.accept, "accept").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_superseded_link_never_answers_a_newer_offer() {
    let linked = spawn(Some(PUBLIC)).await;
    let app = &linked.app;
    let id = bo_offered(&linked).await;
    let first = linked.links_of(&id, "bo@x.org").await;

    // Staff decline bo's offer for them; cy is offered the seat.
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/offers/bo@x.org/decline"),
            &json!({"reason": "asked by phone"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offered"], "cy@x.org");
    let before = head(app).await;
    let response = linked.post(&first.accept, "accept").await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(response.text().await.unwrap().contains("was declined on"));
    assert_eq!(head(app).await, before);

    // Bo joins the waitlist again; cy declines; bo is offered the seat anew, at the same
    // (fixed) time, so the new offer has the very same expiry as the first.
    assert_eq!(app.enroll(&id, "bo@x.org").await, "waitlisted");
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/offers/cy@x.org/decline"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offered"], "bo@x.org");
    let second = linked.links_of(&id, "bo@x.org").await;
    assert_ne!(second.accept, first.accept);

    // The old links answer nothing: the newer offer stays held.
    let before = head(app).await;
    for (url, action) in [(&first.accept, "accept"), (&first.decline, "decline")] {
        let response = linked.post(url, action).await;
        assert_eq!(response.status(), StatusCode::GONE, "{action}");
    }
    assert_eq!(head(app).await, before, "nothing changed");
    let offers: Vec<String> = app.cohort(&id).await["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["learner"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(offers, ["bo@x.org"]);
    // The new offer's own link answers it.
    let response = linked.post(&second.accept, "accept").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(keys(&app.cohort(&id).await, "enrolled"), ["bo@x.org"]);
}

#[tokio::test]
async fn a_cancelled_cohort_or_an_erased_learner_ends_the_links() {
    let linked = spawn(Some(PUBLIC)).await;
    let app = &linked.app;
    // Bo's offer in one cohort; the cohort is cancelled.
    let cancelled = bo_offered(&linked).await;
    let bo = linked.links_of(&cancelled, "bo@x.org").await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cancelled}/cancel"),
            &json!({"reason": "instructor ill"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let before = head(app).await;
    let response = linked.post(&bo.accept, "accept").await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Rust Evenings was cancelled on")
    );
    assert_eq!(head(app).await, before);

    // Dee's offer in another; dee's personal data is erased.
    let mut body = cohort_body("Go Mornings", 1);
    body["promotion"] = json!("offer");
    body["offer_hold"] = json!("2h");
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    let other = created["id"].as_str().unwrap().to_owned();
    app.enroll(&other, "ana@x.org").await;
    app.enroll(&other, "dee@x.org").await;
    app.enroll(&other, "cy@x.org").await;
    withdraw(app, &other, "ana@x.org", "moved").await;
    let dee = linked.links_of(&other, "dee@x.org").await;
    let (admin, csrf) = app.page_client(Role::Admin).await;
    let erased = admin
        .post(app.url("/admin/erase"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("key", "dee@x.org"),
            ("confirm", "dee@x.org"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::SEE_OTHER);
    let before = head(app).await;
    let (status, html) = linked.get(&dee.accept).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This link no longer works"), "{html}");
    let response = linked.post(&dee.accept, "accept").await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(head(app).await, before);
    // Other learners' links are unaffected.
    let (status, html) = linked.get(&bo.decline).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    assert!(html.contains("cancelled"), "{html}");
}

#[tokio::test]
async fn the_links_are_public_cross_site_posts_are_refused_and_staff_pages_stay_closed() {
    let linked = spawn(Some(PUBLIC)).await;
    let app = &linked.app;
    let id = bo_offered(&linked).await;
    let urls = linked.links_of(&id, "bo@x.org").await;
    let before = head(app).await;

    // A post from another site, even with the right token and action; an opaque (`null`)
    // origin unless the browser vouches that the post is same-origin.
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("sec-fetch-site", "cross-site")],
        &[("origin", "null")],
        &[("origin", "null"), ("sec-fetch-site", "cross-site")],
        &[("origin", "null"), ("sec-fetch-site", "same-site")],
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "same-origin"),
        ],
    ] {
        let mut request = app.anonymous().post(linked.local(&urls.accept));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.form(&[("action", "accept")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(response.text().await.unwrap().contains("own page"));
    }
    assert_eq!(head(app).await, before, "nothing changed");

    // Without an account, nothing else opens: the cohort page, the staff offer form, the API.
    let anonymous = app.anonymous();
    let page = anonymous
        .get(app.url(&format!("/cohorts/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(location(&page).starts_with("/login"));
    let staff_form = anonymous
        .post(app.url(&format!("/cohorts/{id}/offers/accept")))
        .form(&[("learner", "bo@x.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(staff_form.status(), StatusCode::SEE_OTHER);
    assert!(location(&staff_form).starts_with("/login"));
    let api = anonymous
        .post(app.url(&format!("/api/v1/cohorts/{id}/offers/bo@x.org/accept")))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(head(app).await, before, "nothing changed");

    // From rollbook's own page, with no session: the answer is taken. Under the page's
    // no-referrer policy a browser sends `Origin: null` with `Sec-Fetch-Site: same-origin`
    // (the browser test sees it); with the origin named, it must be rollbook's.
    let response = app
        .anonymous()
        .post(linked.local(&urls.decline))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[("action", "decline")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        head(app).await,
        before + 2,
        "declined, and the seat offered on"
    );
    let cy = linked.links_of(&id, "cy@x.org").await;
    let response = app
        .anonymous()
        .post(linked.local(&cy.accept))
        .header("origin", PUBLIC)
        .header("sec-fetch-site", "same-origin")
        .form(&[("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(head(app).await, before + 3);
}

#[tokio::test]
async fn without_a_public_url_there_are_no_links_and_a_bad_one_stops_the_start() {
    let links = OfferLinks::from_key([3; 32], None).unwrap();
    let link = OfferLink {
        cohort: CohortId(Uuid::now_v7()),
        learner: LearnerId(Uuid::now_v7()),
        offer_position: 9,
        action: OfferAction::Accept,
        expires_at: ts(NOW),
    };
    assert_eq!(
        links.urls(link.cohort, link.learner, 9, link.expires_at),
        None
    );

    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "rollbook.example.org",
        "https://x.org/?next=1",
        "https://me@x.org",
    ] {
        let mut config =
            AppConfig::new(dir.path().join("bad.redb"), "127.0.0.1:0".parse().unwrap());
        config.passwords = rollbook::auth::Passwords::cheap_for_tests();
        config.public_url = Some(bad.to_owned());
        let error = Application::build(&config).await.err().expect("refused");
        assert!(
            format!("{error:#}").contains(&format!("--public-url {bad:?}")),
            "{error:#}"
        );
    }
}

/// The in-page audits of `browser_pages.rs`: contrast of every text, and of controls.
const AUDIT: &str = concat!(
    include_str!("browser_colour.js"),
    include_str!("browser_audit.js")
);

/// A learner in a real browser (headless Chromium): the offer page at desktop and phone width
/// (labels, overflow, contrast, as every page kind is checked), then the Accept button, which
/// the browser posts with its own `Origin` and `Sec-Fetch-Site`, then the result page.
#[tokio::test]
async fn a_learner_accepts_in_a_real_browser() {
    // The public URL must be the address the browser uses, so that its posts are same-origin.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let linked = spawn_at(&base, Some(&base), Some(([127, 0, 0, 1], port).into())).await;
    let id = bo_offered(&linked).await;
    let urls = linked.links_of(&id, "bo@x.org").await;
    let driver = Driver::start();
    let browser = driver.session().await;

    browser.goto(&urls.accept).await.unwrap();
    let mut problems = audit(&browser, "offer-link").await;
    let before = head(&linked.app).await;
    let accept = browser
        .find(fantoccini::Locator::Css("#offer-accept button"))
        .await
        .unwrap();
    click_to_next_page(&browser, accept).await;
    let url = browser.current_url().await.unwrap();
    let text = browser
        .find(fantoccini::Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(url.as_str().ends_with("?done"), "{url}: {text}");
    let text = browser
        .find(fantoccini::Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("You have the seat"), "{text}");
    problems.extend(audit(&browser, "offer-link-accepted").await);
    assert_eq!(head(&linked.app).await, before + 1);
    let last = events(&linked.app, &id).await.pop().unwrap();
    assert_eq!(last["type"], "offer.accepted");
    assert_eq!(last["actor"], "learner (offer link)");

    // The decline link, followed afterwards, says the offer was answered.
    browser.goto(&urls.decline).await.unwrap();
    let text = browser
        .find(fantoccini::Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("already answered"), "{text}");
    problems.extend(audit(&browser, "offer-link-answered").await);
    browser.close().await.unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The checks every page kind gets in `browser_pages.rs`, on the page shown: labelled
/// controls, no overflow at phone width, contrast at 1280 and 390 px; with a screenshot of each
/// width under `target/browser-screenshots/pages/`. The problems found.
async fn audit(browser: &fantoccini::Client, name: &str) -> Vec<String> {
    let shots = screenshot_dir().join("pages");
    std::fs::create_dir_all(&shots).unwrap();
    let script = |source: &'static str| async move {
        browser
            .execute(source, Vec::new())
            .await
            .expect("script runs")
    };
    let mut problems = Vec::new();
    let unlabelled = script(
        "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]\
         .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))\
         .map(e => e.outerHTML);",
    )
    .await;
    if unlabelled != json!([]) {
        problems.push(format!("{name}: controls without a label: {unlabelled}"));
    }
    for width in [1280, 390] {
        browser
            .set_window_size(width, if width == 390 { 844 } else { 1000 })
            .await
            .unwrap();
        let shot = browser.screenshot().await.unwrap();
        std::fs::write(shots.join(format!("{name}-{width}.png")), shot).unwrap();
        if width == 390 {
            let overflow =
                script("return document.documentElement.scrollWidth - window.innerWidth;").await;
            if overflow.as_i64().is_none_or(|px| px > 0) {
                problems.push(format!("{name}@390: wider than a phone by {overflow} px"));
            }
        }
        let found = script(AUDIT).await;
        if found["texts"].as_u64().unwrap_or(0) < 3 {
            problems.push(format!(
                "{name}@{width}: hardly any text was checked: {found}"
            ));
        }
        for problem in found["problems"].as_array().unwrap() {
            problems.push(format!("{name}@{width}: {problem}"));
        }
    }
    problems
}

/// The key is made once and kept in the database: links mailed before a restart work after it,
/// and a used link stays used.
#[tokio::test]
async fn links_outlive_a_restart() {
    let linked = spawn(Some(PUBLIC)).await;
    let id = bo_offered(&linked).await;
    let urls = linked.links_of(&id, "bo@x.org").await;
    let Linked {
        app, links, ids, ..
    } = linked;
    let (dir, db, clock, credentials) = app.stop().await;
    let mut app = TestApp::spawn_on_with(db.clone(), clock.clone(), credentials.clone(), |c| {
        c.public_url = Some(PUBLIC.to_owned());
    })
    .await;
    app.keep(dir.unwrap());
    let linked = Linked {
        app,
        links,
        base: PUBLIC.to_owned(),
        ids,
    };
    let (status, html) = linked.get(&urls.decline).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let response = linked.post(&urls.decline, "decline").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let Linked {
        app, links, ids, ..
    } = linked;
    let (dir, db, clock, credentials) = app.stop().await;
    let mut app = TestApp::spawn_on_with(db, clock, credentials, |c| {
        c.public_url = Some(PUBLIC.to_owned());
    })
    .await;
    app.keep(dir.unwrap());
    let linked = Linked {
        app,
        links,
        base: PUBLIC.to_owned(),
        ids,
    };
    let before = head(&linked.app).await;
    let again = linked.post(&urls.decline, "decline").await;
    assert_eq!(again.status(), StatusCode::GONE);
    let done = linked
        .app
        .anonymous()
        .get(format!("{}?done", linked.local(&urls.decline)))
        .send()
        .await
        .unwrap();
    // The record of the link's own answer came through the restart too.
    assert_eq!(done.status(), StatusCode::OK);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("You turned the offer down")
    );
    assert_eq!(head(&linked.app).await, before);
}

/// An offer the learner left another way: withdrawn by staff (which declines it), or moved to
/// another cohort. The links say so and change nothing.
#[tokio::test]
async fn a_learner_withdrawn_or_moved_by_staff_has_no_offer_left_to_answer() {
    let linked = spawn(Some(PUBLIC)).await;
    let app = &linked.app;
    let id = bo_offered(&linked).await;
    let bo = linked.links_of(&id, "bo@x.org").await;
    withdraw(app, &id, "bo@x.org", "changed plans").await;
    let cy = linked.links_of(&id, "cy@x.org").await;
    let elsewhere = app.create_cohort("Elsewhere", 5).await;
    let (status, body) = app
        .post_json(
            "/api/v1/transfers",
            &json!({"learner": "cy@x.org", "from": id, "to": elsewhere}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let before = head(app).await;
    let response = linked.post(&bo.accept, "accept").await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(response.text().await.unwrap().contains("was declined on"));
    let response = linked.post(&cy.accept, "accept").await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This offer is no longer open")
    );
    assert_eq!(head(app).await, before, "nothing changed");
}
