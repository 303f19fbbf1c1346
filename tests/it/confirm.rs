//! Confirmation steps (issue 16, item 1): `GET /cohorts/{id}/withdraw`, `/leave-waitlist` and
//! `/close` say what the command would do — the writer's dry run, in plain words with the event
//! codes — and offer its form (or, where the rules refuse, why and no button); the page itself
//! writes nothing; its form posts the command end to end; viewers get 403.

use rollbook::auth::Role;
use serde_json::{Value, json};

use crate::helpers::*;

/// A cohort of one seat: Ana Lima enrolled, Ben Okafor and Cy Diallo waiting (places 1, 2).
async fn full_with_waitlist(app: &TestApp, body: Value) -> String {
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    for (key, name) in [
        ("ana@example.org", "Ana Lima"),
        ("ben@example.org", "Ben Okafor"),
        ("cy@example.org", "Cy Diallo"),
    ] {
        let (status, body) = app
            .post_json(
                &format!("/api/v1/cohorts/{id}/enrollments"),
                &json!({"learner": key, "name": name}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    id
}

/// The page at `path` as `client` sees it: status and text.
async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = client.get(app.url(path)).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

/// The store's head and the cohort's version: what a page that writes nothing leaves alone.
async fn written(app: &TestApp, id: &str) -> (u64, u64) {
    (
        head(app).await,
        app.cohort(id).await["version"].as_u64().expect("version"),
    )
}

/// The confirmation form of a page (from its `<form` to `</form>`), if it has one.
fn form(html: &str) -> Option<&str> {
    let start = html.find(r#"id="confirm-form""#)?;
    let start = html[..start].rfind("<form")?;
    let end = start + html[start..].find("</form>")?;
    Some(&html[start..end])
}

/// The value of `attribute` in a tag.
fn attribute<'a>(tag: &'a str, attribute: &str) -> Option<&'a str> {
    let needle = format!(r#" {attribute}=""#);
    let from = tag.find(&needle)? + needle.len();
    Some(&tag[from..from + tag[from..].find('"')?])
}

/// Every tag `<name …>` in `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    html.match_indices(&format!("<{name}"))
        .map(|(i, _)| {
            let tag = &html[i..];
            &tag[..=tag.find('>').expect("closed tag")]
        })
        .collect()
}

/// The hidden fields of a form, as a browser would send them (entities decoded).
fn hidden_fields(form: &str) -> Vec<(String, String)> {
    tags(form, "input")
        .into_iter()
        .filter(|tag| attribute(tag, "type") == Some("hidden"))
        .map(|tag| {
            (
                attribute(tag, "name").expect("name").to_owned(),
                attribute(tag, "value")
                    .expect("value")
                    .replace("&#64;", "@")
                    .replace("&#38;", "&")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

/// Every visible input and select has an id named by a `<label for=…>`, and ids are unique.
fn assert_labelled(html: &str) {
    let fields = tags(html, "input")
        .into_iter()
        .filter(|tag| attribute(tag, "type") != Some("hidden"))
        .chain(tags(html, "select"));
    for tag in fields {
        let id = attribute(tag, "id").unwrap_or_else(|| panic!("a field without id: {tag}"));
        assert!(
            html.contains(&format!(r#"<label for="{id}">"#)),
            "no label for {tag}"
        );
    }
    let mut ids: Vec<&str> = html
        .match_indices(" id=\"")
        .map(|(i, _)| {
            let from = i + r#" id=""#.len();
            &html[from..from + html[from..].find('"').expect("closed attribute")]
        })
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "duplicate ids in:\n{html}");
}

/// The page states a refusal: the words, no form, no submit button, a way back.
fn assert_refused(html: &str, id: &str, words: &str) {
    assert!(html.contains(r#"id="confirm-problem""#), "{html}");
    assert!(html.contains(words), "expected {words:?} in:\n{html}");
    assert!(
        form(html).is_none(),
        "a refused command offers no form:\n{html}"
    );
    assert!(!html.contains(r#"type="submit" class="danger""#), "{html}");
    assert!(
        html.contains(&format!(r#"<a href="/cohorts/{id}">Back to "#)),
        "{html}"
    );
}

#[tokio::test]
async fn the_withdraw_page_says_who_is_promoted_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let id = full_with_waitlist(&app, cohort_body("Confirm", 1)).await;
    let before = written(&app, &id).await;

    let (status, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{id}/withdraw?learner=ana%40example.org"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<h1>Withdraw Ana Lima (ana@example.org) from Confirm?</h1>"),
        "{html}"
    );
    assert!(
        html.contains(
            "Ana Lima gives up their seat. <small><code>student.withdrawn</code></small>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "Frees a seat: Ben Okafor (place 1 on the waitlist) will be promoted to it. \
             <small><code>waitlist.promoted</code></small>"
        ),
        "{html}"
    );
    let form = form(&html).expect("the confirmation form");
    assert!(
        form.contains(&format!(r#"method="post" action="/cohorts/{id}/withdraw""#)),
        "{form}"
    );
    assert!(
        form.contains(r#"<button type="submit" class="danger">Withdraw Ana Lima</button>"#),
        "{form}"
    );
    assert!(
        form.contains(&format!(r#"<a href="/cohorts/{id}">Cancel</a>"#)),
        "{form}"
    );
    let hidden = hidden_fields(form);
    assert!(
        hidden.contains(&("learner".to_owned(), "ana@example.org".to_owned())),
        "{hidden:?}"
    );
    assert!(
        hidden.contains(&("csrf".to_owned(), app.csrf.clone())),
        "{hidden:?}"
    );

    // The reason: required, and nothing chosen for the person.
    let select = tags(form, "select");
    assert_eq!(select.len(), 1, "{form}");
    assert!(select[0].contains(" required"), "{}", select[0]);
    assert_eq!(attribute(select[0], "name"), Some("reason_code"));
    let options = tags(form, "option");
    assert_eq!(
        options.len(),
        6,
        "a placeholder and the five codes: {options:?}"
    );
    assert_eq!(
        options[0], r#"<option value="" disabled selected>"#,
        "the placeholder is what shows"
    );
    for option in &options[1..] {
        assert!(!option.contains("selected"), "preselected: {option}");
    }
    assert!(form.contains(">Choose a reason</option>"), "{form}");
    assert!(form.contains(">Schedule conflict</option>"), "{form}");
    assert_labelled(&html);

    // Nothing was written by showing it.
    assert_eq!(written(&app, &id).await, before);
    let cohort = app.cohort(&id).await;
    assert_eq!(keys(&cohort, "enrolled"), ["ana@example.org"]);
}

#[tokio::test]
async fn the_pages_state_the_waitlist_moves_offers_and_empty_seats() {
    let app = TestApp::spawn().await;
    let id = full_with_waitlist(&app, cohort_body("Queue", 1)).await;
    let before = written(&app, &id).await;

    // Leaving the waitlist from place 1: one learner behind moves up.
    let (status, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{id}/leave-waitlist?learner=ben%40example.org"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<h1>Remove Ben Okafor from the waitlist?</h1>"),
        "{html}"
    );
    assert!(
        html.contains(
            "Ben Okafor leaves the waitlist (place 1); 1 learner behind moves up. \
             <small><code>waitlist.left</code></small>"
        ),
        "{html}"
    );
    let leave = form(&html).expect("form");
    assert!(
        leave.contains(&format!(r#"action="/cohorts/{id}/leave-waitlist""#)),
        "{leave}"
    );
    assert!(
        !leave.contains("<select"),
        "no reason code to leave a waitlist"
    );
    assert!(
        leave.contains(r#"<label for="confirm-reason">Reason (optional)</label>"#),
        "{leave}"
    );
    assert!(
        leave.contains(">Remove Ben Okafor from the waitlist</button>"),
        "{leave}"
    );
    assert_labelled(&html);

    // The last in the queue: nobody behind. (Withdrawing a waitlisted learner leaves the list.)
    let (_, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{id}/withdraw?learner=cy%40example.org"),
    )
    .await;
    assert!(
        html.contains("Cy Diallo leaves the waitlist (place 2); nobody is behind them."),
        "{html}"
    );
    assert_eq!(written(&app, &id).await, before, "the pages wrote nothing");

    // Under the offer policy the head is offered the seat, held until a time shown as pages
    // show times.
    let mut offer = cohort_body("Offer", 1);
    offer["promotion"] = json!("offer");
    offer["offer_hold"] = json!("48h");
    let offered = full_with_waitlist(&app, offer).await;
    let (_, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{offered}/withdraw?learner=ana%40example.org"),
    )
    .await;
    assert!(
        html.contains(
            "Frees a seat: Ben Okafor (place 1 on the waitlist) will be offered the seat, held \
             until <time class=\"when\" datetime=\"2026-03-03T09:00Z\">2026-03-03 09:00 UTC</time> \
             <small class=\"rel\">in 2 days</small>."
        ),
        "{html}"
    );
    assert!(html.contains("<code>waitlist.offered</code>"), "{html}");

    // Nobody waiting: the seat stays empty.
    let roomy = app.create_cohort("Roomy", 2).await;
    app.enroll(&roomy, "ana@example.org").await;
    let (_, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{roomy}/withdraw?learner=ana%40example.org"),
    )
    .await;
    assert!(
        html.contains("<li>The seat stays empty: nobody is waiting.</li>"),
        "{html}"
    );
    assert!(!html.contains("waitlist.promoted"), "{html}");
}

#[tokio::test]
async fn the_close_page_says_what_closing_does_and_then_closes() {
    let app = TestApp::spawn().await;
    let id = full_with_waitlist(&app, cohort_body("Closing", 1)).await;
    let before = written(&app, &id).await;

    let (status, html) = page(&app, &app.client, &format!("/cohorts/{id}/close")).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<h1>Close enrollment for Closing?</h1>"),
        "{html}"
    );
    assert!(
        html.contains(
            "Nobody can enroll any more: new enrollments are refused. \
             <small><code>enrollment.closed</code></small>"
        ),
        "{html}"
    );
    assert!(
        html.contains("The 2 learners waiting stay on the list, in order, but are not promoted"),
        "{html}"
    );
    assert!(html.contains("It can be reopened later"), "{html}");
    assert_eq!(written(&app, &id).await, before, "the page wrote nothing");

    // Its form, as a browser sends it, closes enrollment.
    let form = form(&html).expect("form");
    assert!(form.contains(">Close enrollment</button>"), "{form}");
    let fields = hidden_fields(form);
    let posted = app
        .client
        .post(app.url(&format!("/cohorts/{id}/close")))
        .form(&fields)
        .send()
        .await
        .expect("POST");
    assert_eq!(posted.status(), 303);
    assert_eq!(app.cohort(&id).await["status"], "closed");

    // Now there is nothing to confirm.
    let (status, html) = page(&app, &app.client, &format!("/cohorts/{id}/close")).await;
    assert_eq!(status, 200, "{html}");
    assert_refused(&html, &id, "Enrollment is already closed for Closing.");

    // Withdrawing while closed frees a seat nobody takes.
    let (_, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{id}/withdraw?learner=ana%40example.org"),
    )
    .await;
    assert!(
        html.contains(
            "The seat stays empty: enrollment is closed, so the 2 learners waiting are not promoted."
        ),
        "{html}"
    );
}

#[tokio::test]
async fn where_the_rules_refuse_the_page_says_why_and_offers_no_button() {
    let app = TestApp::spawn().await;
    let id = full_with_waitlist(&app, cohort_body("Refusals", 1)).await;

    // Not in the cohort at all (a key nobody has filed).
    let (status, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{id}/withdraw?learner=zed%40example.org"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert_refused(
        &html,
        &id,
        "zed@example.org is not in Refusals: not enrolled, not waiting, holding no offer.",
    );
    // Leaving a waitlist one is not on.
    let (_, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{id}/leave-waitlist?learner=ana%40example.org"),
    )
    .await;
    assert_refused(
        &html,
        &id,
        "Ana Lima is not on the waitlist of Refusals, so there is nothing to remove.",
    );

    // After the withdrawal deadline: too late, said with the deadline's time.
    app.clock.set(ts("2026-03-21T00:00:00Z"));
    let (status, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{id}/withdraw?learner=ana%40example.org"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert_refused(
        &html,
        &id,
        "Too late: the withdrawal deadline passed <time class=\"when\" datetime=\"2026-03-20T00:00Z\">2026-03-20 00:00 UTC</time>",
    );
    assert!(
        html.contains(
            ". Ana Lima stays enrolled. <small><code>withdrawal_deadline_passed</code></small>"
        ),
        "{html}"
    );

    // A cancelled cohort takes no command.
    let gone = app.create_cohort("Gone", 3).await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{gone}/cancel"),
            &json!({"reason": "too few"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, html) = page(&app, &app.client, &format!("/cohorts/{gone}/close")).await;
    assert_refused(&html, &gone, "Gone was cancelled");
}

#[tokio::test]
async fn a_missing_or_bad_learner_is_said_on_the_page_and_an_unknown_cohort_is_404() {
    let app = TestApp::spawn().await;
    let id = full_with_waitlist(&app, cohort_body("Asked", 1)).await;
    for (path, words) in [
        (
            format!("/cohorts/{id}/withdraw"),
            "No learner was named. Choose the learner on the cohort page.",
        ),
        (
            format!("/cohorts/{id}/leave-waitlist?learner="),
            "No learner was named.",
        ),
        (
            format!("/cohorts/{id}/withdraw?learner=ana%20lima"),
            "is not a learner key",
        ),
    ] {
        let (status, html) = page(&app, &app.client, &path).await;
        assert_eq!(status, 422, "{path}: {html}");
        assert!(html.contains("<h1>"), "a page, with its heading: {html}");
        assert_refused(&html, &id, words);
    }
    for path in [
        "/cohorts/0190a000-0000-7000-8000-000000000000/withdraw?learner=ana%40example.org",
        "/cohorts/0190a000-0000-7000-8000-000000000000/leave-waitlist?learner=ana%40example.org",
        "/cohorts/0190a000-0000-7000-8000-000000000000/close",
        "/cohorts/not-a-cohort/close",
    ] {
        let (status, html) = page(&app, &app.client, path).await;
        assert_eq!(status, 404, "{path}: {html}");
    }
}

#[tokio::test]
async fn viewers_get_403_on_the_confirmation_pages() {
    let app = TestApp::spawn().await;
    let id = full_with_waitlist(&app, cohort_body("Viewed", 1)).await;
    let (viewer, _) = app.page_client(Role::Viewer).await;
    for path in [
        format!("/cohorts/{id}/withdraw?learner=ana%40example.org"),
        format!("/cohorts/{id}/leave-waitlist?learner=ben%40example.org"),
        format!("/cohorts/{id}/close"),
    ] {
        let (status, html) = page(&app, &viewer, &path).await;
        assert_eq!(status, 403, "{path}");
        assert!(!html.contains("confirm-form"), "{html}");
    }
}

#[tokio::test]
async fn the_withdraw_form_posts_the_withdrawal_end_to_end() {
    let app = TestApp::spawn().await;
    let id = full_with_waitlist(&app, cohort_body("Posted", 1)).await;
    let (staff, csrf) = app.page_client(Role::Staff).await;

    // A link may carry the code and details to keep; the page keeps them in its form.
    let (status, html) = page(
        &app,
        &staff,
        &format!(
            "/cohorts/{id}/withdraw?learner=ana%40example.org&reason_code=financial&reason=fees"
        ),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    let form = form(&html).expect("form");
    assert!(
        form.contains(r#"<option value="financial" selected>"#),
        "{form}"
    );
    assert!(form.contains(r#"value="fees""#), "{form}");

    // The fields of the page's form as a browser sends them: hidden ones, a code chosen.
    let mut fields = hidden_fields(form);
    assert!(fields.contains(&("csrf".to_owned(), csrf)), "{fields:?}");
    fields.push(("reason_code".to_owned(), "personal".to_owned()));
    fields.push(("reason".to_owned(), "moved away".to_owned()));
    let action = attribute(tags(form, "form")[0], "action").expect("action");
    let posted = staff
        .post(app.url(action))
        .form(&fields)
        .send()
        .await
        .expect("POST");
    assert_eq!(posted.status(), 303);
    let location = posted.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("/cohorts/{id}?done=")),
        "{location}"
    );

    let cohort = app.cohort(&id).await;
    assert_eq!(keys(&cohort, "enrolled"), ["ben@example.org"]);
    assert_eq!(keys(&cohort, "waitlist"), ["cy@example.org"]);
    let (_, events) = app.get_json(&format!("/api/v1/cohorts/{id}/events")).await;
    let withdrawn = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["type"] == "student.withdrawn")
        .expect("withdrawn")
        .clone();
    assert_eq!(withdrawn["data"]["reason_code"], "personal", "{withdrawn}");
    assert_eq!(withdrawn["data"]["reason"], "moved away", "{withdrawn}");
}

#[tokio::test]
async fn a_seat_on_offer_is_confirmed_in_words_too() {
    let app = TestApp::spawn().await;
    let mut body = cohort_body("Offered", 1);
    body["promotion"] = json!("offer");
    body["offer_hold"] = json!("48h");
    let id = full_with_waitlist(&app, body).await;
    // Ana gives up her seat: Ben is offered it (until the 3rd), Cy waits at place 1.
    withdraw(&app, &id, "ana@example.org", "moved").await;
    let before = written(&app, &id).await;

    let (status, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{id}/withdraw?learner=ben%40example.org"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(
            "Ben Okafor turns down the seat offered to them. \
             <small><code>offer.declined</code></small>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "Frees a seat: Cy Diallo (place 1 on the waitlist) will be offered the seat, held until"
        ),
        "{html}"
    );
    assert!(form(&html).is_some(), "{html}");

    let (_, html) = page(&app, &app.client, &format!("/cohorts/{id}/close")).await;
    assert!(
        html.contains(
            "The learner waiting stays on the list but is not promoted while enrollment is closed"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "The seat already offered may still be accepted or declined until its offer runs out."
        ),
        "{html}"
    );
    assert_eq!(written(&app, &id).await, before, "the pages wrote nothing");
}

/// In Chromium at phone width: the page has every control labelled and nothing wider than the
/// screen; the browser itself holds the form as invalid until a reason is chosen (the empty
/// placeholder is what is selected); chosen, the form withdraws.
#[tokio::test]
async fn in_a_browser_the_reason_must_be_chosen_and_the_page_fits_a_phone() {
    use fantoccini::Locator;

    let app = TestApp::spawn().await;
    let id = full_with_waitlist(&app, cohort_body("Phone", 1)).await;
    let driver = crate::browser::Driver::start();
    let browser = driver.session().await;
    let script = |source: &'static str| {
        let browser = browser.clone();
        async move {
            browser
                .execute(source, Vec::new())
                .await
                .expect("script runs")
        }
    };

    // Asked while signed out: the login form leads back to the page.
    browser
        .goto(&app.url(&format!("/cohorts/{id}/withdraw?learner=ana%40example.org")))
        .await
        .expect("navigates");
    let field = |css: &'static str| browser.find(Locator::Css(css));
    field("#name")
        .await
        .expect("name")
        .send_keys("staff")
        .await
        .expect("types");
    field("#password")
        .await
        .expect("password")
        .send_keys(&password_of(Role::Staff))
        .await
        .expect("types");
    field("button[type=submit]")
        .await
        .expect("log in")
        .click()
        .await
        .expect("clicks");
    browser
        .wait()
        .for_element(Locator::Css("#confirm-form"))
        .await
        .expect("the confirmation page");

    let unlabelled = script(
        "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]\
         .filter(e => !(e.labels && e.labels.length)).map(e => e.outerHTML);",
    )
    .await;
    assert_eq!(unlabelled, json!([]), "controls without a label");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    browser
        .set_window_size(390, 844)
        .await
        .expect("phone width");
    let overflow = script("return document.documentElement.scrollWidth - window.innerWidth;").await;
    let shot = browser.screenshot().await.expect("screenshot");
    std::fs::write(dir.join("confirm-withdraw.phone.png"), shot).expect("screenshot saved");
    assert!(
        overflow.as_i64().is_some_and(|px| px <= 0),
        "wider than a phone by {overflow} px"
    );

    // Nothing chosen: the browser finds the form invalid, so will not send it.
    let unchosen = script(
        "const s = document.querySelector('#confirm-code'); \
         return [s.value, s.checkValidity(), document.querySelector('#confirm-form').checkValidity()];",
    )
    .await;
    assert_eq!(unchosen, json!(["", false, false]));
    // Chosen: it withdraws, and the cohort page confirms it.
    field("#confirm-code option[value=personal]")
        .await
        .expect("option")
        .click()
        .await
        .expect("chooses");
    field("#confirm-form button[type=submit]")
        .await
        .expect("button")
        .click()
        .await
        .expect("clicks");
    browser
        .wait()
        .for_element(Locator::Css(".notice.ok"))
        .await
        .expect("the cohort page, confirming");
    assert_eq!(
        keys(&app.cohort(&id).await, "enrolled"),
        ["ben@example.org"]
    );
    browser.close().await.expect("closes");
}

#[tokio::test]
async fn the_leave_waitlist_form_posts_the_removal_end_to_end() {
    let app = TestApp::spawn().await;
    let id = full_with_waitlist(&app, cohort_body("Left", 1)).await;
    let (status, html) = page(
        &app,
        &app.client,
        &format!("/cohorts/{id}/leave-waitlist?learner=ben%40example.org"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    let form = form(&html).expect("form");
    let mut fields = hidden_fields(form);
    fields.push(("reason".to_owned(), "found another course".to_owned()));
    let action = attribute(tags(form, "form")[0], "action").expect("action");
    let posted = app
        .client
        .post(app.url(action))
        .form(&fields)
        .send()
        .await
        .expect("POST");
    assert_eq!(posted.status(), 303);
    let cohort = app.cohort(&id).await;
    assert_eq!(keys(&cohort, "waitlist"), ["cy@example.org"]);
    assert_eq!(keys(&cohort, "enrolled"), ["ana@example.org"]);
}
