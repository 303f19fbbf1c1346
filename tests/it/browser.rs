//! End-to-end in a real browser: Debian's headless Chromium, driven over the `WebDriver` protocol by
//! chromedriver from Rust (fantoccini), against the real server on port 0. A staff member logs
//! in, creates a cohort, fills it and sees the next learner waitlisted, withdraws one and sees
//! the promotion, triggers a rule error and reads it next to the form, opens the history, time
//! travels, opens the seat chart, and logs out. Every page visited is checked for unlabelled
//! controls and for overflow at phone width, and a screenshot of each is saved under
//! `target/browser-screenshots/` (a test artefact).
//!
//! Needs `chromium` and `chromium-driver` (Debian's packages; `.ci/run` installs them). Without
//! them the test fails with that advice: it is part of the suite, not optional.

use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use rollbook::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, password_of};

/// `WebDriver`'s codes of the Tab and Enter keys.
pub(crate) const TAB: &str = "\u{e004}";
pub(crate) const ENTER: &str = "\u{e007}";

/// A chromedriver process in a process group of its own, which is killed on drop with the
/// browsers it started (a failing test must not leave Chromium running).
pub(crate) struct Driver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(env: &str, candidates: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "{} not found: install Debian's chromium and chromium-driver \
                 (`apt-get install chromium chromium-driver`, as .ci/run does), or set {env}",
                candidates[0]
            )
        })
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it says it listens.
    pub(crate) fn start() -> Self {
        let program = find_program(
            "ROLLBOOK_CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(program)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // It prints one line once it listens; reading it is the synchronisation.
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("started successfully"));
        assert!(ready, "chromedriver did not start");
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile: tempfile::tempdir().expect("profile dir"),
        }
    }

    /// A headless Chromium session, offline (no background networking), with a fresh profile.
    pub(crate) async fn session(&self) -> Client {
        let binary = find_program("ROLLBOOK_CHROMIUM", &["/usr/bin/chromium"]);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                    format!("--user-data-dir={}", self.profile.path().display()),
                ],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

/// The browser on one app, saving a screenshot of every page it checks.
struct Visit<'a> {
    browser: Client,
    app: &'a TestApp,
    shots: PathBuf,
    taken: Vec<String>,
}

impl Visit<'_> {
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

    /// Sets a field's value the way a date picker would (typing into `datetime-local` depends
    /// on the browser's locale).
    async fn set(&self, css: &str, value: &str) {
        let field = self.browser.find(Locator::Css(css)).await.expect(css);
        let field = serde_json::to_value(field).expect("element reference");
        self.browser
            .execute(
                "arguments[0].value = arguments[1];",
                vec![field, json!(value)],
            )
            .await
            .expect("sets the value");
    }

    /// Clicks what leads to another page, and waits until that page has replaced this one.
    async fn click(&self, css: &str) {
        let element = self.browser.find(Locator::Css(css)).await.expect(css);
        self.navigate_by(element).await;
    }

    async fn click_link(&self, text: &str) {
        let element = self
            .browser
            .find(Locator::LinkText(text))
            .await
            .expect(text);
        self.navigate_by(element).await;
    }

    async fn navigate_by(&self, element: fantoccini::elements::Element) {
        click_to_next_page(&self.browser, element).await;
    }

    /// Chooses an option of a select (no page load).
    async fn choose(&self, css: &str) {
        self.browser
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("chooses");
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

    async fn script(&self, source: &str) -> Value {
        self.browser
            .execute(source, Vec::new())
            .await
            .expect("script runs")
    }

    async fn path(&self) -> String {
        self.browser
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    /// Checks the page (every control labelled; nothing wider than a phone's screen) and saves
    /// a screenshot of it, at desktop and at phone width.
    async fn check(&mut self, name: &str) {
        let unlabelled = self
            .script(
                "return [...document.querySelectorAll('input:not([type=hidden]), select, \
                 textarea')].filter(e => !(e.labels && e.labels.length) && \
                 !e.getAttribute('aria-label')).map(e => e.outerHTML);",
            )
            .await;
        assert_eq!(unlabelled, json!([]), "{name}: controls without a label");
        let shot = self.browser.screenshot().await.expect("screenshot");
        let file = self
            .shots
            .join(format!("{:02}-{name}.png", self.taken.len() + 1));
        std::fs::write(&file, shot).expect("screenshot saved");
        self.taken.push(file.display().to_string());

        self.browser
            .set_window_size(390, 844)
            .await
            .expect("phone width");
        let overflow = self
            .script("return document.documentElement.scrollWidth - window.innerWidth;")
            .await;
        let shot = self.browser.screenshot().await.expect("screenshot");
        std::fs::write(file.with_extension("phone.png"), shot).expect("screenshot saved");
        assert!(
            overflow.as_i64().is_some_and(|px| px <= 0),
            "{name}: wider than a phone by {overflow} px"
        );
        self.browser
            .set_window_size(1280, 1000)
            .await
            .expect("desktop width");
    }
}

pub(crate) fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

#[tokio::test]
async fn a_staff_member_runs_a_cohort_in_a_real_browser() {
    let app = TestApp::spawn().await;
    let driver = Driver::start();
    let mut visit = Visit {
        browser: driver.session().await,
        app: &app,
        shots: screenshot_dir(),
        taken: Vec::new(),
    };

    // Log in, landing where the login was asked for.
    visit.go("/cohorts/new").await;
    assert_eq!(visit.path().await, "/login");
    visit.check("login").await;
    visit.fill("#name", "staff").await;
    visit.fill("#password", &password_of(Role::Staff)).await;
    visit.click("form.stack button[type=submit]").await;
    assert_eq!(visit.path().await, "/cohorts/new");
    visit.check("new-cohort").await;

    // Create a cohort of two seats.
    visit.fill("#name", "Browser Cohort").await;
    visit.fill("#course", "WEB-101").await;
    visit.fill("#instructor", "Tim Berners-Lee").await;
    visit.fill("#capacity", "2").await;
    visit.set("#starts_at", "2026-03-15T09:00").await;
    visit.set("#enrollment_deadline", "2026-03-10T00:00").await;
    visit.set("#withdrawal_deadline", "2026-03-20T00:00").await;
    visit.click("form.stack button[type=submit]").await;
    let cohort = visit.path().await;
    assert!(cohort.starts_with("/cohorts/"), "{cohort}");
    assert!(visit.text("h1").await.contains("Browser Cohort"));

    // Enroll until full: the third learner is waitlisted.
    for learner in ["ana@example.org", "ben@example.org", "cy@example.org"] {
        visit.fill("#enroll-learner", learner).await;
        visit.click("#enroll button[type=submit]").await;
    }
    let roster = visit.text("#roster-h").await;
    assert_eq!(roster, "Enrolled (2)");
    let waitlist = visit.text("#waitlist-h").await;
    assert_eq!(waitlist, "Waitlist (1)");
    assert!(visit.text("main").await.contains("waitlisted"));
    visit.check("cohort-full").await;

    // Withdraw Ana: the card above the roster leads to the confirmation page, which says who
    // will get the seat and asks for the reason code; confirming records it and promotes Cy.
    visit.fill("#withdraw-learner", "ana@example.org").await;
    visit.click("#withdraw button[type=submit]").await;
    assert_eq!(visit.path().await, format!("{cohort}/withdraw"));
    let confirm = visit.text("main").await;
    assert!(
        confirm.contains("cy@example.org"),
        "names who is promoted: {confirm}"
    );
    visit.check("withdraw-confirm").await;
    visit.choose("#confirm-code option[value=personal]").await;
    visit.fill("#confirm-reason", "moved away").await;
    visit.click("main form button[type=submit]").await;
    assert_eq!(visit.path().await, cohort, "back on the cohort page");
    let page = visit.text("main").await;
    assert!(page.contains("waitlist.promoted"), "{page}");
    assert_eq!(visit.text("#waitlist-h").await, "Waitlist (0)");
    let enrolled = visit.text("section[aria-labelledby=roster-h]").await;
    assert!(enrolled.contains("cy@example.org") && !enrolled.contains("ana@example.org"));
    visit.check("after-withdrawal").await;

    // A rule error is shown next to the form it came from.
    visit.fill("#enroll-learner", "ben@example.org").await;
    visit.click("#enroll button[type=submit]").await;
    let error = visit.text("#enroll .field-error").await;
    assert!(error.contains("already enrolled"), "{error}");
    // At the top too, where a phone's screen shows it, linking to the form.
    let notice = visit.text("main > .notice.warn").await;
    assert!(
        notice.contains("Not done:") && notice.contains("already enrolled"),
        "{notice}"
    );
    visit.check("rule-error").await;

    // History, then the cohort as it was after the third event.
    visit.click_link("Full history").await;
    assert!(visit.path().await.ends_with("/history"));
    let history = visit.text("main").await;
    assert!(history.contains("Personal — moved away"), "{history}");
    visit.check("history").await;
    visit.go(&format!("{cohort}?as_of=3")).await;
    let past = visit.text(".notice.past").await;
    assert!(
        past.contains("You are looking at this cohort as it was on"),
        "{past}"
    );
    assert_eq!(visit.text("#roster-h").await, "Enrolled (2)");
    assert_eq!(visit.text("#waitlist-h").await, "Waitlist (0)");
    visit.check("time-travel").await;

    // The seat chart.
    visit.go(&cohort).await;
    visit.click_link("Seat changes by week").await;
    let charts = visit
        .script("return document.querySelectorAll('svg[role=img]').length;")
        .await;
    assert_eq!(charts, json!(1));
    visit.check("seat-chart").await;

    // Log out: the next page needs a login again.
    visit.click("form.who button[type=submit]").await;
    assert_eq!(visit.path().await, "/login");
    visit.go("/").await;
    assert_eq!(visit.path().await, "/login");
    visit.check("logged-out").await;

    let shots = visit.taken.join("\n");
    println!("screenshots:\n{shots}");
    visit.browser.close().await.expect("session closed");
    drop(driver);
}

#[tokio::test]
async fn the_demo_term_is_alive_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.redb");
    let clock = std::sync::Arc::new(rollbook::clock::FixedClock::new(crate::helpers::ts(
        crate::helpers::NOW,
    )));
    let credentials = crate::helpers::seed(&db, clock.clone());
    rollbook::demo::seed(&db, crate::helpers::ts(crate::helpers::NOW)).expect("demo seeded");
    let mut app = TestApp::spawn_on(db, clock, credentials).await;
    app.keep(dir);
    let driver = Driver::start();
    let mut visit = Visit {
        browser: driver.session().await,
        app: &app,
        shots: screenshot_dir().join("demo"),
        taken: Vec::new(),
    };
    std::fs::create_dir_all(&visit.shots).unwrap();
    visit.go("/login").await;
    visit.fill("#name", "viewer").await;
    visit.fill("#password", &password_of(Role::Viewer)).await;
    visit.click("form.stack button[type=submit]").await;
    assert_eq!(visit.path().await, "/");
    let rows = visit
        .script("return document.querySelectorAll('main tbody tr').length;")
        .await;
    assert!(
        rows.as_u64().is_some_and(|n| n >= 20),
        "a full dashboard: {rows}"
    );
    visit.check("dashboard").await;

    // The keyboard: the first Tab reaches "Skip to content", Enter goes to the main content,
    // and the next Tab lands inside it (the focus is visible: the stylesheet outlines it).
    let focused = visit.browser.active_element().await.expect("focus");
    focused.send_keys(TAB).await.expect("tab");
    let skip = visit.browser.active_element().await.expect("focus");
    assert_eq!(skip.text().await.expect("text"), "Skip to content");
    skip.send_keys(ENTER).await.expect("enter");
    assert_eq!(
        visit.browser.current_url().await.expect("url").fragment(),
        Some("main")
    );
    visit
        .browser
        .active_element()
        .await
        .expect("focus")
        .send_keys(TAB)
        .await
        .expect("tab");
    let inside = visit
        .script("return document.querySelector('main').contains(document.activeElement);")
        .await;
    assert_eq!(
        inside,
        json!(true),
        "the next Tab is inside the main content"
    );
    visit.go("/reports/instructors").await;
    visit.check("instructors").await;
    visit.go("/reports/withdrawals").await;
    let reasons = visit.text("main").await;
    assert!(reasons.contains("Seats given up, by reason"));
    visit.check("withdrawals").await;
    visit.go("/reports/seats").await;
    visit.check("seats").await;
    visit.go("/events").await;
    visit.check("events").await;

    // A cohort, from the event browser.
    visit.click("main tbody tr a").await;
    assert!(visit.path().await.starts_with("/cohorts/"));
    visit.check("cohort").await;
    // Its history, and a what-if from it: the dry run at a time, answered in words.
    let cohort = visit.path().await;
    visit.go(&format!("{cohort}/history")).await;
    visit.check("history").await;
    visit.click("ul.what-if a").await;
    assert!(visit.path().await.ends_with("/what-if"));
    assert!(
        visit.text("main").await.contains(" would "),
        "a plain answer"
    );
    visit.check("what-if").await;
    visit.go("/api").await;
    assert!(
        visit
            .text("main")
            .await
            .contains("/api/v1/cohorts/{id}/enrollments")
    );
    visit.check("api").await;
    visit.browser.close().await.expect("session closed");
}

/// Bulk enrollment in a real browser: a file pasted on the cohort page, its preview page (every
/// row in words), Apply (the file carried by the form, line breaks and all), and the summary
/// on the cohort page.
#[tokio::test]
async fn a_staff_member_enrolls_a_file_in_a_real_browser() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Bulk in a browser", 2).await;
    let driver = Driver::start();
    let mut visit = Visit {
        browser: driver.session().await,
        app: &app,
        shots: screenshot_dir(),
        taken: Vec::new(),
    };
    visit.go(&format!("/cohorts/{cohort}")).await;
    visit.fill("#name", "staff").await;
    visit.fill("#password", &password_of(Role::Staff)).await;
    visit.click("form.stack button[type=submit]").await;
    assert_eq!(visit.path().await, format!("/cohorts/{cohort}"));

    visit
        .fill(
            "#bulk-csv",
            "learner,name\nana@example.org,Ana Lima\nbo@example.org,Bo\ncy@example.org,\"Cy, Jr.\"\nana@example.org,Ana again\n",
        )
        .await;
    visit.click("#bulk button[type=submit]").await;
    assert_eq!(
        visit.path().await,
        format!("/cohorts/{cohort}/bulk/preview")
    );
    let preview = visit.text("main").await;
    assert!(
        preview.contains("Ana Lima — would take a seat"),
        "{preview}"
    );
    assert!(
        preview.contains("Cy, Jr. — would join the waitlist at place 1"),
        "{preview}"
    );
    assert!(preview.contains("line 5: refused"), "{preview}");
    visit.check("bulk-preview").await;

    visit.click("#apply button[type=submit]").await;
    assert_eq!(visit.path().await, format!("/cohorts/{cohort}"));
    let summary = visit.text("#bulk-done").await;
    assert!(
        summary.contains("Enrolled 2, waitlisted 1, 1 row refused."),
        "{summary}"
    );
    assert_eq!(visit.text("#roster-h").await, "Enrolled (2)");
    assert_eq!(visit.text("#waitlist-h").await, "Waitlist (1)");
    visit.check("bulk-applied").await;
}

/// Clicks `element` and waits until the document it was in is gone: a click returns once
/// the browser has the event, not once the form's answer (or its redirect) has loaded. The
/// old document's root going stale (or detached) is the sign; `WebDriver` offers no event to wait on, so it
/// is polled, up to ten seconds.
pub(crate) async fn click_to_next_page(browser: &Client, element: fantoccini::elements::Element) {
    let old = browser.find(Locator::Css("html")).await.expect("html");
    element.click().await.expect("clicks");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match old.tag_name().await {
            // Chromium says either "stale element reference" or, when the new document
            // came in between, that the node "does not belong to the document": gone, both.
            Err(e)
                if e.to_string().contains("stale")
                    || e.to_string().contains("does not belong to the document") =>
            {
                break;
            }
            Err(e) => panic!("waiting for the next page: {e}"),
            Ok(_) => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the click did not lead to another page"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
