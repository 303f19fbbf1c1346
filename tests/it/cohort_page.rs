//! The cohort page as staff use it (issue 16): one withdraw path with a required reason code,
//! Post/Redirect/Get after a refusal too (the refusal kept for its poster, once), focus back on
//! the form used, the action bar above long rosters, plain-words confirmations (amber when not
//! what was asked), closed cohorts that say so, and time travel that names a time and marks the
//! learner it was opened for.

use crate::helpers::*;

/// The `Location` of a 303.
fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 303, "Post/Redirect/Get");
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The text of the element `id` (a form or card) up to its end.
fn form_of<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!(r#"id="{id}">"#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id}: {html}"));
    let rest = &html[start..];
    let end = ["</form>", "</div>"]
        .iter()
        .filter_map(|e| rest.find(e))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// A withdrawal posted from the page without a reason code is refused ("choose a reason")
/// and writes nothing, where it used to record `other` silently.
#[tokio::test]
async fn a_withdrawal_from_the_page_needs_a_reason_code() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Reasons", 2).await;
    app.enroll(&id, "ana@example.org").await;
    for fields in [
        vec![("learner", "ana@example.org")],
        vec![("learner", "ana@example.org"), ("reason_code", " ")],
    ] {
        let before = head(&app).await;
        let response = app
            .post_form(&format!("/cohorts/{id}/withdraw"), &fields)
            .await;
        let to = location(&response);
        assert!(
            to.starts_with(&format!("/cohorts/{id}?refused=")) && !to.contains('#'),
            "{to}"
        );
        assert_eq!(head(&app).await, before, "nothing written");
        let (status, html) = page(&app, &to).await;
        assert_eq!(status, 200);
        let card = form_of(&html, "withdraw");
        assert!(card.contains("choose a reason"), "{html}");
        assert!(card.contains(r#"value="ana@example.org""#), "{html}");
    }
    assert_eq!(
        keys(&app.cohort(&id).await, "enrolled"),
        ["ana@example.org"]
    );
    // With a code it is recorded, with that code.
    let response = app
        .post_form(
            &format!("/cohorts/{id}/withdraw"),
            &[("learner", "ana@example.org"), ("reason_code", "personal")],
        )
        .await;
    let to = location(&response);
    assert!(
        to.contains("?done=") && to.ends_with("&form=withdraw"),
        "{to}"
    );
    let (_, history) = page(&app, &format!("/cohorts/{id}/history")).await;
    assert!(history.contains("reason: Personal"), "{history}");
}

/// A refused form redirects; the page it leads to shows the message beside that form, with that
/// form's values only, for the account that posted, once. A refresh writes nothing.
#[tokio::test]
async fn a_refusal_redirects_and_shows_once_beside_its_form_for_its_poster() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Twice", 2).await;
    app.enroll(&id, "ana@example.org").await;
    let before = head(&app).await;
    let response = app
        .post_form(
            &format!("/cohorts/{id}/enroll"),
            &[("learner", "ana@example.org"), ("name", "Ana Lima")],
        )
        .await;
    let to = location(&response);
    assert!(
        to.starts_with(&format!("/cohorts/{id}?refused=")) && !to.contains('#'),
        "{to}"
    );

    // Another account following the same link sees the page, without the message.
    let (admin, _) = app.page_client(rollbook::auth::Role::Admin).await;
    let other = admin.get(app.url(&to)).send().await.unwrap();
    assert_eq!(other.status(), 200);
    let other = other.text().await.unwrap();
    assert!(!other.contains("Not done:"), "{other}");
    assert!(
        !form_of(&other, "enroll").contains("field-error"),
        "{other}"
    );
    assert!(!other.contains(r#"value="ana@example.org""#), "{other}");

    // The poster sees it beside the enroll form, its values there and nowhere else.
    let (status, html) = page(&app, &to).await;
    assert_eq!(status, 200);
    assert!(html.contains("<strong>Not done:</strong>"), "{html}");
    let enroll = form_of(&html, "enroll");
    assert!(enroll.contains("field-error"), "{html}");
    assert!(enroll.contains(r#"value="ana@example.org""#), "{html}");
    assert!(enroll.contains(r#"value="Ana Lima""#), "{html}");
    assert!(enroll.contains(" autofocus"), "{html}");
    let withdraw = form_of(&html, "withdraw");
    assert!(
        withdraw.contains(r#"id="withdraw-learner" name="learner" value="""#),
        "the withdraw card is not pre-filled with the refused learner: {html}"
    );
    assert!(!withdraw.contains("field-error"), "{html}");

    // Refreshing: the message is gone (used once), nothing is posted again.
    let (status, again) = page(&app, &to).await;
    assert_eq!(status, 200);
    assert!(!again.contains("Not done:"), "{again}");
    assert_eq!(head(&app).await, before);

    // An unknown token is no error either.
    let (status, unknown) = page(&app, &format!("/cohorts/{id}?refused=0123abcd#enroll")).await;
    assert_eq!(status, 200);
    assert!(!unknown.contains("Not done:"), "{unknown}");
}

/// After a command, the page returns to the form used: the Location ends with its anchor and
/// its first field has the focus (no script).
#[tokio::test]
async fn after_an_enroll_the_enroll_form_has_the_focus() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Focus", 3).await;
    let response = app
        .post_form(
            &format!("/cohorts/{id}/enroll"),
            &[("learner", "ana@example.org"), ("name", "Ana Lima")],
        )
        .await;
    let to = location(&response);
    assert!(to.ends_with("&form=enroll"), "{to}");
    let (status, html) = page(&app, &to).await;
    assert_eq!(status, 200);
    assert!(
        form_of(&html, "enroll").contains(
            r#"<input id="enroll-learner" name="learner" value="" required maxlength="200" autocomplete="off" autofocus>"#
        ),
        "{html}"
    );
    assert_eq!(html.matches(" autofocus").count(), 1, "{html}");
    // Without a command just done, nothing takes the focus.
    let (_, plain) = page(&app, &format!("/cohorts/{id}")).await;
    assert!(!plain.contains(" autofocus"), "{plain}");
    // The capacity form after a change of seats.
    let response = app
        .post_form(&format!("/cohorts/{id}/capacity"), &[("capacity", "4")])
        .await;
    let to = location(&response);
    assert!(to.ends_with("&form=capacity"), "{to}");
    let (_, html) = page(&app, &to).await;
    assert!(form_of(&html, "capacity").contains(" autofocus"), "{html}");
    assert_eq!(html.matches(" autofocus").count(), 1, "{html}");
}

/// Focusable elements before `marker` in `html` (links, buttons, visible inputs, selects,
/// text areas, summaries): the Tab presses it takes to reach it from the top.
fn tab_stops_before(html: &str, marker: &str) -> usize {
    let end = html.find(marker).expect("marker");
    let head = &html[..end];
    let body = &head[head.find("<body").expect("body")..];
    let count = |tag: &str| body.matches(tag).count();
    count("<a href")
        + count("<button")
        + count("<select")
        + count("<textarea")
        + count("<summary")
        + body.matches("<input ").count()
        - body.matches(r#"type="hidden""#).count()
}

/// The action bar sits above the roster: on a cohort of 65 the Enroll input comes a few Tab
/// presses after the skip link and the navigation, and the roster lists the first 50 with a
/// "Show all 65" link.
#[tokio::test]
async fn the_actions_come_first_and_a_long_roster_is_cut() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Big Room", 65).await;
    for i in 0..65 {
        app.enroll(&id, &format!("learner-{i:06}@example.org"))
            .await;
    }
    let (status, html) = page(&app, &format!("/cohorts/{id}")).await;
    assert_eq!(status, 200);
    let enroll = html.find(r#"id="enroll-learner""#).expect("enroll input");
    assert!(enroll < html.find(r#"id="roster-h""#).unwrap(), "{html}");
    assert!(
        html.find(r#"id="withdraw-learner""#).unwrap() < html.find(r#"id="roster-h""#).unwrap()
    );
    assert!(html.find(r#"id="capacity-input""#).unwrap() < html.find(r#"id="roster-h""#).unwrap());
    let stops = tab_stops_before(&html, r#"id="enroll-learner""#);
    assert!(stops <= 15, "{stops} tab stops before the enroll input");

    let roster =
        &html[html.find(r#"id="roster-h""#).unwrap()..html.find(r#"id="waitlist-h""#).unwrap()];
    assert!(roster.contains("Enrolled (65)"), "{roster}");
    assert_eq!(roster.matches(r#"<td data-label="Learner">"#).count(), 50);
    assert!(
        roster.contains(&format!(
            r#"<a href="/cohorts/{id}?roster=all#roster-h">Show all 65</a>"#
        )),
        "{roster}"
    );
    let (_, all) = page(&app, &format!("/cohorts/{id}?roster=all")).await;
    let roster =
        &all[all.find(r#"id="roster-h""#).unwrap()..all.find(r#"id="waitlist-h""#).unwrap()];
    assert_eq!(roster.matches(r#"<td data-label="Learner">"#).count(), 65);
}

/// The confirmation leads with a sentence; a waitlisting is amber, a seat green; event codes
/// come second, small.
#[tokio::test]
async fn confirmations_speak_plainly_and_a_waitlisting_is_amber() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Small", 1).await;
    let enroll = |learner: &'static str, name: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            let response = app
                .post_form(
                    &format!("/cohorts/{id}/enroll"),
                    &[("learner", learner), ("name", name)],
                )
                .await;
            page(app, &location(&response)).await.1
        }
    };
    let html = enroll("ana@example.org", "Ana Lima").await;
    assert!(
        html.contains(r#"<div class="notice ok" role="status" id="done"><strong>Ana Lima is enrolled — 1 of 1 seats taken.</strong>"#),
        "{html}"
    );
    assert!(
        html.contains("<li><small><code>student.enrolled</code>"),
        "{html}"
    );
    let html = enroll("ben@example.org", "Ben Okafor").await;
    assert!(
        html.contains(r#"<div class="notice warn" role="status" id="done"><strong>Cohort full — Ben Okafor joined the waitlist at place 1.</strong>"#),
        "{html}"
    );
    assert!(!html.contains(r#"class="notice ok""#), "{html}");

    let response = app
        .post_form(
            &format!("/cohorts/{id}/withdraw"),
            &[("learner", "ana@example.org"), ("reason_code", "personal")],
        )
        .await;
    let (_, html) = page(&app, &location(&response)).await;
    assert!(
        html.contains(
            "<strong>Ana Lima withdrew — Ben Okafor was promoted from the waitlist.</strong>"
        ),
        "{html}"
    );
}

/// A closed cohort says who closed it and when, links to Reopen, offers no Close and no
/// enroll form, and its waitlist texts say what is true now.
#[tokio::test]
async fn a_closed_cohort_says_who_closed_it_and_what_its_waitlist_means() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Closing", 1).await;
    let (_, open) = page(&app, &format!("/cohorts/{id}")).await;
    assert!(
        open.contains("new enrollments join the waitlist here"),
        "{open}"
    );
    assert!(
        !open.contains("<dt>Version</dt>"),
        "no internal version card"
    );

    let response = app.post_form(&format!("/cohorts/{id}/close"), &[]).await;
    let (_, html) = page(&app, &location(&response)).await;
    assert!(html.contains("Closed by staff on <time"), "{html}");
    assert!(
        html.contains(r##"<a href="#reopen">Reopen enrollment</a>"##),
        "{html}"
    );
    assert!(!html.contains("Close enrollment…"), "{html}");
    assert!(!html.contains(r#"id="enroll-learner""#), "{html}");
    assert!(!html.contains("new enrollments join"), "{html}");
    assert!(
        html.contains("Nobody is waiting, and nobody can join: enrollment is closed"),
        "{html}"
    );

    // A closed cohort with a waitlist says nobody on it will be promoted.
    let full = app.create_cohort("Full then closed", 1).await;
    app.enroll(&full, "ana@example.org").await;
    app.enroll(&full, "ben@example.org").await;
    app.post_form(&format!("/cohorts/{full}/close"), &[]).await;
    let (_, html) = page(&app, &format!("/cohorts/{full}")).await;
    assert!(
        html.contains(
            "Enrollment is closed: nobody on this list will be promoted unless it is reopened."
        ),
        "{html}"
    );
}

/// `?as_of=…&learner=K` marks that learner's row in the past waitlist, in words too; the
/// time-travel forms speak plainly; the term forms take times as text.
#[tokio::test]
async fn time_travel_marks_the_learner_and_the_forms_speak_plainly() {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Past", 1).await;
    app.enroll(&id, "ana@example.org").await;
    app.enroll(&id, "ben@example.org").await;
    let (status, html) = page(
        &app,
        &format!("/cohorts/{id}?as_of=3&learner=ben%40example.org"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("You are looking at this cohort as it was on <time"),
        "{html}"
    );
    assert!(
        html.contains("just after ben@example.org joined the waitlist at place 1"),
        "{html}"
    );
    let waitlist = &html[html.find(r#"id="waitlist-h""#).unwrap()..];
    let row = &waitlist[waitlist
        .find(r#"<tr class="highlight">"#)
        .expect("marked row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("ben@example.org") && row.contains("← this learner"),
        "{row}"
    );
    assert_eq!(html.matches("← this learner").count(), 1, "{html}");

    let (_, now) = page(&app, &format!("/cohorts/{id}")).await;
    assert!(!now.contains("RFC 3339"), "{now}");
    assert!(
        now.contains("See this cohort as it was at (YYYY-MM-DD HH:MM, UTC) or after event #"),
        "{now}"
    );
    assert!(!now.contains("datetime-local"), "{now}");
    assert!(
        now.contains(r#"<input id="schedule-starts" name="starts_at" type="text" maxlength="40" value="2026-03-15 09:00">"#),
        "{now}"
    );
    // The time-travel form reads a time as the page shows it.
    let (status, past) = page(&app, &format!("/cohorts/{id}?as_of=2099-01-01%2000:00")).await;
    assert_eq!(status, 200, "{past}");
    assert!(
        past.contains("just after ben@example.org joined the waitlist"),
        "{past}"
    );
}
