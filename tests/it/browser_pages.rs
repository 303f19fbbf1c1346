//! Every kind of page in a real browser (Debian's headless Chromium over `WebDriver`, as in
//! `browser.rs`), at desktop (1280 px) and phone (390 px) width, on the demo term plus a cohort
//! of the test's own: each page has every form control labelled, nothing wider than a phone's
//! screen, text at WCAG contrast against what it is drawn on (4.5:1, 3:1 when large), form
//! controls' edges and the focus ring at 3:1 (the audits are `browser_audit.js` and
//! `browser_focus.js`, run in the page). A screenshot of each page at each width is saved under
//! `target/browser-screenshots/pages/` (`<page>-1280.png`, `<page>-390.png`).
//!
//! Then the cohort page's flows with a keyboard and a mouse: a closed cohort offers no Enroll
//! form, a refused enrollment fills nothing into the Withdraw form, and the Enroll form is a few
//! Tab presses from the top and has the focus again after an enrollment.

use std::path::PathBuf;

use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::{Client, Locator};
use rollbook::auth::Role;
use serde_json::{Value, json};

use crate::browser::{Driver, TAB, screenshot_dir};
use crate::helpers::{TestApp, cohort_body, password_of, withdraw};

/// The in-page audits.
const AUDIT: &str = concat!(
    include_str!("browser_colour.js"),
    include_str!("browser_audit.js")
);
const FOCUS: &str = concat!(
    include_str!("browser_colour.js"),
    include_str!("browser_focus.js")
);

/// The browser on one app: visits pages, audits each at both widths and keeps every problem
/// found, so that one run reports them all.
struct Pages<'a> {
    browser: Client,
    app: &'a TestApp,
    shots: PathBuf,
    problems: Vec<String>,
    audited: usize,
}

impl Pages<'_> {
    /// The operations issue's forms in their other states: a cohort under the offer policy with a
    /// seat offered (the offers panel, its accept and decline forms), the offered learner's page
    /// (answering from there), and a move previewed from the learner page (its confirm form).
    async fn offer_and_move_pages(&mut self, audit_cohort: &str) {
        let mut body = cohort_body("Offer Cohort", 1);
        body["promotion"] = json!("offer");
        body["offer_hold"] = json!("48h");
        let (status, created) = self.app.post_json("/api/v1/cohorts", &body).await;
        assert_eq!(status, 201, "{created}");
        let offers = created["id"].as_str().expect("id").to_owned();
        for learner in ["olga@example.org", "pat@example.org", "quin@example.org"] {
            self.app.enroll(&offers, learner).await;
        }
        withdraw(self.app, &offers, "olga@example.org", "moved").await;
        self.go(&format!("/cohorts/{offers}")).await;
        let panel = self.text("main").await;
        assert!(
            panel.contains("pat@example.org"),
            "the seat offered: {panel}"
        );
        self.check("cohort-offers").await;
        self.go("/learners/pat@example.org").await;
        self.check("learner-offered").await;
        self.go(&format!(
            "/learners/ana@example.org?move_from={audit_cohort}&move_to={offers}&allow_waitlist=on"
        ))
        .await;
        let preview = self.text("#move-preview").await;
        assert!(preview.contains("Offer Cohort"), "{preview}");
        self.check("learner-move-preview").await;
    }

    /// The confirmation steps of the cohort at `at` (issue 16: what cannot be undone is
    /// confirmed on a page of its own): withdraw, remove from the waitlist, close.
    async fn confirmation_pages(&mut self, at: &str) {
        for (kind, path) in [
            (
                "confirm-withdraw",
                format!("{at}/withdraw?learner=ana@example.org"),
            ),
            (
                "confirm-leave-waitlist",
                format!("{at}/leave-waitlist?learner=cy@example.org"),
            ),
            ("confirm-close", format!("{at}/close")),
        ] {
            self.go(&path).await;
            self.check(kind).await;
        }
    }

    async fn go(&self, path: &str) {
        self.browser
            .goto(&self.app.url(path))
            .await
            .expect("navigates");
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.browser.find(Locator::Css(css)).await.expect(css);
        field.clear().await.expect("clears");
        field.send_keys(text).await.expect("types");
    }

    /// Clicks what leads to another page and waits until it has replaced this one.
    async fn click(&self, css: &str) {
        let element = self.browser.find(Locator::Css(css)).await.expect(css);
        crate::browser::click_to_next_page(&self.browser, element).await;
    }

    async fn script(&self, source: &str) -> Value {
        self.browser
            .execute(source, Vec::new())
            .await
            .expect("script runs")
    }

    async fn text(&self, css: &str) -> String {
        self.browser
            .find(Locator::Css(css))
            .await
            .expect(css)
            .text()
            .await
            .expect("text")
    }

    async fn path(&self) -> String {
        self.browser
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    async fn log_in(&self, role: Role) {
        self.go("/login").await;
        self.fill("#name", role.as_str()).await;
        self.fill("#password", &password_of(role)).await;
        self.click("form.stack button[type=submit]").await;
        assert_eq!(self.path().await, "/", "signed in as {role}");
    }

    async fn log_out(&self) {
        self.go("/").await;
        self.click("form.who button[type=submit]").await;
        assert_eq!(self.path().await, "/login");
    }

    /// Audits the page at 1280 px and at 390 px, saving a screenshot at each width.
    async fn check(&mut self, name: &str) {
        let unlabelled = self
            .script(
                "return [...document.querySelectorAll('input:not([type=hidden]), select, \
                 textarea')].filter(e => !(e.labels && e.labels.length) && \
                 !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))\
                 .map(e => e.outerHTML);",
            )
            .await;
        if unlabelled != json!([]) {
            self.problems
                .push(format!("{name}: controls without a label: {unlabelled}"));
        }
        for width in [1280, 390] {
            self.browser
                .set_window_size(width, if width == 390 { 844 } else { 1000 })
                .await
                .expect("window size");
            let shot = self.browser.screenshot().await.expect("screenshot");
            std::fs::write(self.shots.join(format!("{name}-{width}.png")), shot)
                .expect("screenshot saved");
            if width == 390 {
                let overflow = self
                    .script("return document.documentElement.scrollWidth - window.innerWidth;")
                    .await;
                if overflow.as_i64().is_none_or(|px| px > 0) {
                    self.problems
                        .push(format!("{name}@390: wider than a phone by {overflow} px"));
                }
            }
            let found = self.script(AUDIT).await;
            if found["texts"].as_u64().unwrap_or(0) < 5 {
                self.problems.push(format!(
                    "{name}@{width}: hardly any text was checked: {found}"
                ));
            }
            for problem in found["problems"].as_array().expect("a list") {
                self.problems.push(format!(
                    "{name}@{width}: {}",
                    problem.as_str().unwrap_or("?")
                ));
            }
            // A real key press first, so that focus moved by the script counts as keyboard
            // focus (:focus-visible).
            // (from the page's first link: from the last control, Tab would leave the page).
            self.script("document.querySelector('a[href]').focus();")
                .await;
            self.browser
                .active_element()
                .await
                .expect("focus")
                .send_keys(TAB)
                .await
                .expect("tab");
            let focus = self.script(FOCUS).await;
            for problem in focus["problems"].as_array().expect("a list") {
                self.problems.push(format!(
                    "{name}@{width}: {}",
                    problem.as_str().unwrap_or("?")
                ));
            }
            if focus["count"].as_u64().unwrap_or(0) == 0 {
                self.problems
                    .push(format!("{name}@{width}: nothing could take the focus"));
            }
        }
        self.browser
            .set_window_size(1280, 1000)
            .await
            .expect("desktop width");
        self.audited += 1;
    }

    /// Notes a problem unless every cell but a row's first (its card's title below 40rem) of
    /// the page's tables names its column in `data-label`, which the phone layout shows.
    async fn expect_data_labels(&mut self, name: &str) {
        let missing = self
            .script(
                "return [...new Set([...document.querySelectorAll('.table-wrap tbody td:not(:first-child):not([data-label])')]\
                 .map(td => td.closest('table').querySelector('thead th:nth-child(' + (td.cellIndex + 1) + ')')?.textContent || td.textContent.slice(0, 20)))];",
            )
            .await;
        if missing != json!([]) {
            self.problems.push(format!(
                "{name}: cells without data-label, columns {missing}"
            ));
        }
    }

    /// Notes a problem unless the page keeps the signed-in navigation (the main menu and the
    /// account's name with Log out).
    async fn expect_nav(&mut self, what: &str) {
        let kept = self
            .script(
                "return !!document.querySelector('header nav[aria-label=Main]') && \
                 !!document.querySelector('header form.who');",
            )
            .await;
        if kept != json!(true) {
            self.problems.push(format!("{what}: no"));
        }
    }
}

impl Pages<'_> {
    /// The audits can fail: grey text on white, and an input with a faint border and no focus
    /// ring, added to the page, are reported (then forgotten, with their screenshots).
    async fn self_check(&mut self) {
        self.script(
            "const p = document.createElement('p'); p.id = 'faint'; p.textContent = 'faint'; \
                 p.style.color = '#aaaaaa'; p.style.background = '#ffffff'; \
                 const i = document.createElement('input'); i.id = 'faint-input'; \
                 i.setAttribute('aria-label', 'faint'); i.style.border = '1px solid #eeeeee'; \
                 i.style.outline = 'none'; document.querySelector('main').append(p, i);",
        )
        .await;
        self.check("self-check").await;
        let caught = std::mem::take(&mut self.problems).join("\n");
        for expected in [
            "text \"faint\" at p#faint: #aaaaaa on #ffffff = 2.32:1, needs 4.5:1",
            "control input#faint-input: border #eeeeee on #f6f7fb around, fill #ffffff = 1.08:1",
            "focus input#faint-input: no outline",
        ] {
            assert!(caught.contains(expected), "{expected} in:\n{caught}");
        }
        std::fs::remove_file(self.shots.join("self-check-1280.png")).ok();
        std::fs::remove_file(self.shots.join("self-check-390.png")).ok();
    }

    /// The seat chart reads without colour: the legend's four swatches have four different fill
    /// patterns (the bars use the same); this week, still under way, is flagged in the chart and
    /// in the table.
    async fn expect_chart_without_colour(&self) {
        let chart = self
            .script(
                "const svg = document.querySelector('svg[role=img]'); \
                 const swatches = [...svg.querySelectorAll('g[aria-hidden] > rect')].map(r => r.getAttribute('fill')); \
                 const bars = new Set([...svg.querySelectorAll(':scope > rect')].map(r => r.getAttribute('fill'))); \
                 return { patterns: new Set(swatches.filter(f => /^url\\(#/.test(f) && svg.querySelector(f.slice(4, -1)))).size, \
                   bars_patterned: [...bars].every(f => swatches.includes(f)), \
                   chart_flag: [...svg.querySelectorAll('text')].some(t => t.textContent === 'this week so far'), \
                   table_flag: [...document.querySelectorAll('tbody th')].filter(th => th.textContent.includes('this week so far')).length };",
            )
            .await;
        assert_eq!(
            chart,
            json!({"patterns": 4, "bars_patterned": true, "chart_flag": true, "table_flag": 1}),
            "the seat chart reads without colour and flags this week"
        );
    }

    /// The current report tab is marked for the eye too (weight, colour, underline), not only
    /// by aria-current: its look differs from the other tabs', which look alike.
    async fn expect_current_tab_marked(&mut self, tab: &str) {
        let marked = self
            .script(
                "const look = a => { const s = getComputedStyle(a); \
                 return [s.fontWeight, s.color, s.borderBottomColor, s.textDecorationLine].join(); }; \
                 const tabs = [...document.querySelectorAll('nav[aria-label=Reports] a')]; \
                 const current = tabs.filter(a => a.getAttribute('aria-current') === 'page'); \
                 return current.length === 1 && tabs.length === 3 && \
                   tabs.filter(a => a !== current[0]).every(a => look(a) !== look(current[0])) && \
                   new Set(tabs.filter(a => a !== current[0]).map(look)).size === 1;",
            )
            .await;
        if marked != json!(true) {
            self.problems.push(format!(
                "report-{tab}: the current tab does not look different"
            ));
        }
    }
}

impl Pages<'_> {
    /// The 404 and 403 pages, signed in (as an admin, then a viewer): they keep the navigation.
    async fn error_pages(&mut self) {
        self.go("/no/such/page").await;
        assert!(self.text("h1").await.contains("Not found"));
        self.expect_nav("a 404 page keeps the navigation").await;
        self.check("error-404").await;
        self.go("/cohorts/00000000-0000-0000-0000-000000000000")
            .await;
        assert!(self.text("h1").await.contains("Not found"));
        self.expect_nav("a missing cohort's page keeps the navigation")
            .await;
        self.log_out().await;
        self.log_in(Role::Viewer).await;
        self.go("/admin").await;
        assert!(self.text("h1").await.contains("Not allowed"));
        self.expect_nav("a 403 page keeps the navigation").await;
        self.check("error-403").await;
    }
}

/// A database with the demo term and its staff accounts, as `serve --demo` makes it, and an app
/// on it (the demo term ends at the tests' `NOW`); and the names of the demo's staff accounts.
async fn demo_app() -> (TestApp, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.redb");
    let clock = std::sync::Arc::new(rollbook::clock::FixedClock::new(crate::helpers::ts(
        crate::helpers::NOW,
    )));
    let credentials = crate::helpers::seed(&db, clock.clone());
    rollbook::demo::seed(&db, crate::helpers::ts(crate::helpers::NOW)).expect("demo seeded");
    let actors = rollbook::demo::actors(&db).expect("actors read");
    let created = {
        let store = std::sync::Arc::new(
            rollbook::store::Store::open(&db, &rollbook::store::StoreOptions::default())
                .expect("store opens"),
        );
        let auth = rollbook::auth::Auth::load(
            store,
            rollbook::auth::Passwords::cheap_for_tests(),
            clock.clone(),
            jiff::SignedDuration::from_hours(12),
        )
        .expect("auth loads");
        rollbook::demo::create_accounts(&auth, &actors).expect("accounts created")
    };
    let mut app = TestApp::spawn_on(db, clock, credentials).await;
    app.keep(dir);
    (app, created)
}

fn shots_dir() -> PathBuf {
    let dir = screenshot_dir().join("pages");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

#[tokio::test]
async fn every_page_kind_is_labelled_fits_a_phone_and_has_contrast() {
    let (app, _) = demo_app().await;
    let driver = Driver::start();
    let mut pages = Pages {
        browser: driver.session().await,
        app: &app,
        shots: shots_dir(),
        problems: Vec::new(),
        audited: 0,
    };

    pages.go("/login").await;
    pages.self_check().await;
    pages.go("/login").await;
    pages.check("login").await;
    pages.log_in(Role::Admin).await;
    pages.check("dashboard").await;

    // A cohort of the test's own (after the dashboard's screenshot, which shows the demo term
    // alone: README.md's picture is that file), open, two learners enrolled and one waiting.
    let cohort = app.create_cohort("Audit Cohort", 2).await;
    for learner in ["ana@example.org", "ben@example.org", "cy@example.org"] {
        app.enroll(&cohort, learner).await;
    }

    let at = format!("/cohorts/{cohort}");
    pages.go(&at).await;
    pages.check("cohort").await;
    // As it was after its second event (positions are the log's, after the demo term's).
    let (_, events) = app
        .get_json(&format!("/api/v1/cohorts/{cohort}/events"))
        .await;
    let second = events["events"][1]["position"]
        .as_u64()
        .expect("a position");
    pages.go(&format!("{at}?as_of={second}")).await;
    assert!(
        pages
            .text(".notice.past")
            .await
            .contains("looking at this cohort as it was on")
    );
    pages.check("cohort-past").await;
    pages.confirmation_pages(&at).await;
    pages.go(&format!("{at}/history")).await;
    pages.expect_data_labels("history").await;
    pages.check("history").await;
    pages.click("ul.what-if a").await;
    assert!(pages.path().await.ends_with("/what-if"));
    pages.expect_data_labels("what-if").await;
    pages.check("what-if").await;
    pages.go(&format!("{at}/diff?from={second}&to=")).await;
    pages.check("diff").await;
    pages.go(&format!("{at}/seats")).await;
    pages.expect_chart_without_colour().await;
    pages.expect_data_labels("seats-chart").await;
    pages.check("seats-chart").await;

    pages.go(&at).await;
    pages
        .fill(
            "#bulk-csv",
            "learner,name\ndee@example.org,Dee\ncy@example.org,Cy again\n",
        )
        .await;
    pages.click("#bulk button[type=submit]").await;
    assert!(pages.path().await.ends_with("/bulk/preview"));
    pages.expect_data_labels("bulk-preview").await;
    pages.check("bulk-preview").await;

    pages.go("/cohorts/new").await;
    pages.check("new-cohort").await;
    pages.go("/learners/ana@example.org").await;
    pages.check("learner").await;
    pages.offer_and_move_pages(&cohort).await;
    pages.go("/search?q=ana").await;
    pages.check("search").await;
    pages.go("/events").await;
    pages.check("events").await;
    for tab in ["instructors", "withdrawals", "seats"] {
        pages.go(&format!("/reports/{tab}")).await;
        pages.expect_current_tab_marked(tab).await;
        if tab == "seats" {
            pages.expect_data_labels("report-seats").await;
        }
        pages.check(&format!("report-{tab}")).await;
    }
    pages.go("/admin").await;
    pages.expect_data_labels("admin").await;
    pages.check("admin").await;
    pages.go("/admin/erase?key=ana@example.org").await;
    assert!(pages.path().await.ends_with("/admin/erase"));
    pages.check("erase").await;
    pages.go("/api").await;
    pages.expect_data_labels("api").await;
    pages.check("api").await;

    pages.error_pages().await;

    let problems = pages.problems.join("\n");
    println!(
        "{} pages audited at two widths; screenshots in {}",
        pages.audited,
        pages.shots.display()
    );
    pages.browser.close().await.expect("session closed");
    assert!(problems.is_empty(), "accessibility problems:\n{problems}");
}

impl Pages<'_> {
    /// One press of the Tab key, as a keyboard sends it (`WebDriver` key actions, to whatever has
    /// the focus).
    async fn press_tab(&self) {
        let tab = char::from(fantoccini::key::Key::Tab);
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab });
        self.browser
            .perform_actions(keys)
            .await
            .expect("Tab pressed");
    }

    /// One press of Enter on whatever has the focus (follows a focused link).
    async fn press_enter(&self) {
        let enter = char::from(fantoccini::key::Key::Enter);
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: enter })
            .then(KeyAction::Up { value: enter });
        self.browser
            .perform_actions(keys)
            .await
            .expect("Enter pressed");
    }

    /// The id of the element that has the focus ("" for none or the page itself).
    async fn focused_id(&self) -> String {
        self.script("return document.activeElement ? document.activeElement.id : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A browser signed in as staff on a fresh app.
async fn staff_pages<'a>(app: &'a TestApp, driver: &Driver) -> Pages<'a> {
    let pages = Pages {
        browser: driver.session().await,
        app,
        shots: shots_dir(),
        problems: Vec::new(),
        audited: 0,
    };
    pages.log_in(Role::Staff).await;
    pages
}

/// A closed cohort offers no Enroll form; a refused enrollment fills nothing into the Withdraw
/// form (which would invite withdrawing the learner just refused).
#[tokio::test]
async fn a_closed_cohort_offers_no_enroll_form_and_a_refusal_prefills_no_withdrawal() {
    let app = TestApp::spawn().await;
    let open = app.create_cohort("Open in a browser", 2).await;
    let closed = app.create_cohort("Closed in a browser", 2).await;
    let (status, body) = app
        .post_json(&format!("/api/v1/cohorts/{closed}/close"), &json!(null))
        .await;
    assert_eq!(status, 200, "{body}");
    let driver = Driver::start();
    let pages = staff_pages(&app, &driver).await;

    pages.go(&format!("/cohorts/{closed}")).await;
    let forms = pages
        .script(
            "return [!!document.querySelector('form#enroll'), \
             !!document.querySelector('#enroll-learner'), \
             [...document.querySelectorAll('main button')].some(b => b.textContent.trim() === 'Enroll')];",
        )
        .await;
    assert_eq!(
        forms,
        json!([false, false, false]),
        "a closed cohort offers no Enroll form"
    );

    pages.go(&format!("/cohorts/{open}")).await;
    for _ in 0..2 {
        pages.fill("#enroll-learner", "ana@example.org").await;
        pages.click("#enroll button[type=submit]").await;
    }
    let error = pages.text("#enroll .field-error").await;
    assert!(error.contains("already enrolled"), "{error}");
    let withdraw = pages
        .script("return document.querySelector('#withdraw-learner').value;")
        .await;
    assert_eq!(withdraw, json!(""), "the Withdraw form is left empty");
    pages.browser.close().await.expect("session closed");
}

/// The Enroll form is within a few Tab presses of the top of the cohort page — past the skip
/// links, the second of which ("Skip to the Enroll form") a keyboard user follows with Enter —
/// and has the focus again after an enrollment (the next learner can be typed at once).
#[tokio::test]
async fn the_enroll_form_is_a_few_tabs_away_and_keeps_the_focus() {
    let app = TestApp::spawn().await;
    let open = app.create_cohort("Keyboard cohort", 3).await;
    let driver = Driver::start();
    let pages = staff_pages(&app, &driver).await;
    pages.go(&format!("/cohorts/{open}")).await;

    let mut presses = 0;
    let mut path = Vec::new();
    while pages.focused_id().await != "enroll-learner" && presses < 40 {
        pages.press_tab().await;
        presses += 1;
        let skip = pages
            .script("const e = document.activeElement; return !!e && e.matches('a.skip') && e.textContent.includes('Enroll');")
            .await;
        if skip == json!(true) {
            pages.press_enter().await;
            path.push("Enter".to_owned());
        }
        path.push(
            pages
                .script("const e = document.activeElement; return e ? (e.id || e.textContent.trim().slice(0, 20) || e.tagName) : '';")
                .await
                .to_string(),
        );
    }
    assert!(
        presses <= 4,
        "{presses} Tab presses to reach the Enroll form: {}",
        path.join(" → ")
    );

    let field = pages
        .browser
        .find(Locator::Css("#enroll-learner"))
        .await
        .expect("the Enroll input");
    field.send_keys("ana@example.org").await.expect("types");
    pages.click("#enroll button[type=submit]").await;
    assert!(
        pages.text("main").await.contains("ana@example.org"),
        "enrolled"
    );
    assert_eq!(
        pages.focused_id().await,
        "enroll-learner",
        "the Enroll input has the focus after an enrollment"
    );
    pages.browser.close().await.expect("session closed");
}

/// `serve --demo`: the staff the demo's history names are accounts (so an admin finds them,
/// and can hand one out), but nobody can log in as one: disabled, with a password nobody was
/// told. Not a browser test: HTTP through the real server.
#[tokio::test]
async fn the_demo_staff_are_accounts_nobody_can_log_in_as() {
    let (app, created) = demo_app().await;
    assert!(
        created.len() >= 3 && !created.iter().any(|n| n == "system" || n == "local"),
        "the history's staff: {created:?}"
    );
    // The history names them.
    let (_, events) = app.get_json("/api/v1/events?limit=200").await;
    let named = events.to_string();
    assert!(
        created
            .iter()
            .filter(|n| named.contains(n.as_str()))
            .count()
            >= 2,
        "the history names them"
    );
    let (admin, _) = app.page_client(Role::Admin).await;
    let page = admin
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in &created {
        let row = page
            .split(&format!("<td>{name}</td>"))
            .nth(1)
            .unwrap_or_else(|| panic!("{name} is listed on the Admin page"));
        let row = row.split("</tr>").next().unwrap();
        assert!(
            row.contains(r#"<td data-label="Role">staff</td>"#)
                && row.contains(r#"<td data-label="Status">disabled</td>"#),
            "{name}: {row}"
        );
        for guess in [
            name.clone(),
            "password".to_owned(),
            "demo".to_owned(),
            "rollbook".to_owned(),
            format!("{name} password"),
        ] {
            let login = app
                .anonymous()
                .post(app.url("/login"))
                .form(&[("name", name.as_str()), ("password", &guess), ("next", "/")])
                .send()
                .await
                .unwrap();
            assert_ne!(login.status(), 303, "{name} logged in with {guess:?}");
        }
    }
}
