//! Learner e-mail (issue 17) against a real SMTP server: Debian's aiosmtpd, started by each test
//! on a free loopback port through `tests/smtp_sink.py`, which writes every accepted message as
//! JSON (recipients, headers, both bodies decoded) and prints a line per message, which the
//! tests wait for. Checked: recipients, subjects and both bodies; one message per event; nothing
//! twice across a restart of rollbook or of the SMTP server; a backlog after an outage arrives in
//! order; a student number gets nothing and the log says why; a refusal is logged and skipped;
//! the offer reminder once; erasure leaves no trace; who sees the mail sections.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use jiff::SignedDuration;
use rollbook::app::AppConfig;
use rollbook::auth::Role;
use rollbook::mail::MailConfig;
use rollbook::store::MailStore as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::helpers::*;

/// The longest any test waits for something to arrive.
const PATIENCE: Duration = Duration::from_secs(30);

/// A real SMTP server (aiosmtpd) on loopback, killed when dropped.
struct Smtp {
    port: u16,
    dir: PathBuf,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Smtp {
    /// Starts the server on `port`, writing into `dir`; returns once it listens.
    async fn start(port: u16, dir: &Path) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 with aiosmtpd (Debian's python3-aiosmtpd) runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("the SMTP server starts in time")
            .unwrap();
        assert_eq!(first.as_deref(), Some("listening"));
        Self {
            port,
            dir: dir.to_owned(),
            child,
            lines,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next message the server accepts.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .expect("a message arrives in time")
            .unwrap()
            .expect("the SMTP server is running");
        let name = line.strip_prefix("accepted ").expect("an accepted line");
        serde_json::from_str(&std::fs::read_to_string(self.dir.join(name)).unwrap()).unwrap()
    }

    /// Every message accepted so far (by every server that wrote into the folder).
    fn all(&self) -> Vec<Value> {
        names_in(&self.dir)
            .into_iter()
            .filter(|n| {
                std::path::Path::new(n)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"))
                    && !n.starts_with('.')
            })
            .map(|n| {
                serde_json::from_str(&std::fs::read_to_string(self.dir.join(n)).unwrap()).unwrap()
            })
            .collect()
    }

    async fn kill(mut self) -> (u16, PathBuf) {
        self.child.kill().await.unwrap();
        (self.port, self.dir.clone())
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn mail_config(url: &str) -> MailConfig {
    let mut config = MailConfig::from_flags(
        Some(url),
        Some("Rollbook <noreply@rollbook.example.org>"),
        Some("support@rollbook.example.org"),
    )
    .unwrap()
    .unwrap();
    config.backoff_min = Duration::from_millis(5);
    config.backoff_max = Duration::from_millis(50);
    config
}

fn with_mail(url: String) -> impl FnOnce(&mut AppConfig) {
    move |config: &mut AppConfig| {
        config.mail = Some(mail_config(&url));
        config.zone = rollbook::web::Zone::parse("Europe/Lisbon").unwrap();
    }
}

async fn enroll_named(app: &TestApp, cohort: &str, key: &str, name: &str) -> String {
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/enrollments"),
            &json!({"learner": key, "name": name}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["outcome"].as_str().unwrap().to_owned()
}

fn s(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn enrolled_waitlisted_and_promoted_learners_get_one_message_each_with_both_bodies() {
    let (_dir, mut smtp, app) = mailing().await;
    let cohort = app.create_cohort("Rust 101 — March", 1).await;

    assert_eq!(
        enroll_named(&app, &cohort, "ana@example.org", "Ana Lima").await,
        "enrolled"
    );
    let enrolled = smtp.next().await;
    assert_eq!(enrolled["rcpt"], json!(["ana@example.org"]));
    assert_eq!(s(&enrolled, "to"), "Ana Lima <ana@example.org>");
    assert_eq!(
        s(&enrolled, "from"),
        "Rollbook <noreply@rollbook.example.org>"
    );
    assert_eq!(s(&enrolled, "reply_to"), "support@rollbook.example.org");
    assert_eq!(s(&enrolled, "content_type"), "multipart/alternative");
    assert_eq!(
        s(&enrolled, "subject"),
        "You are enrolled in Rust 101 — March"
    );
    // Times in the deployment's zone (Lisbon is on WET in March).
    for body in [s(&enrolled, "text"), s(&enrolled, "html")] {
        assert!(body.contains("Ana Lima"), "{body}");
        assert!(
            body.contains("First session: 2026-03-15 09:00 WET"),
            "{body}"
        );
    }

    assert_eq!(
        enroll_named(&app, &cohort, "ben@example.org", "Ben Okafor").await,
        "waitlisted"
    );
    let waitlisted = smtp.next().await;
    assert_eq!(waitlisted["rcpt"], json!(["ben@example.org"]));
    assert_eq!(
        s(&waitlisted, "subject"),
        "You are on the waitlist for Rust 101 — March, place 1"
    );
    assert!(s(&waitlisted, "text").contains("waitlist at place 1"));
    assert!(s(&waitlisted, "html").contains("place 1</strong>"));

    withdraw(&app, &cohort, "ana@example.org", "moved away").await;
    let withdrawn = smtp.next().await;
    assert_eq!(withdrawn["rcpt"], json!(["ana@example.org"]));
    assert_eq!(
        s(&withdrawn, "subject"),
        "You were withdrawn from Rust 101 — March"
    );
    assert!(
        !s(&withdrawn, "text").contains("moved away"),
        "staff notes stay inside"
    );
    let promoted = smtp.next().await;
    assert_eq!(promoted["rcpt"], json!(["ben@example.org"]));
    assert_eq!(
        s(&promoted, "subject"),
        "A seat freed up: you are now enrolled in Rust 101 — March"
    );
    assert!(s(&promoted, "html").contains("Ben Okafor"));

    // One message per event: the next one to arrive is the next event's.
    assert_eq!(app.enroll(&cohort, "cy@example.org").await, "waitlisted");
    let next = smtp.next().await;
    assert_eq!(next["rcpt"], json!(["cy@example.org"]));
    let ids: Vec<String> = smtp.all().iter().map(|m| s(m, "message_id")).collect();
    assert_eq!(ids.len(), 5);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "{ids:?}");
    assert!(
        ids.iter()
            .all(|id| id.ends_with(".rollbook@rollbook.example.org>")),
        "{ids:?}"
    );
    app.stop().await;
}

/// The page at `path` as `role` (session only).
async fn page_as(app: &TestApp, role: Role, path: &str) -> (u16, String) {
    let (client, _) = app.page_client(role).await;
    let response = client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The learner page's "E-mails" section.
async fn mail_section(app: &TestApp, key: &str) -> String {
    let (status, html) = page_as(app, Role::Viewer, &format!("/learners/{key}")).await;
    assert_eq!(status, 200, "{html}");
    let start = html.find("id=\"mail-h\"").expect("an E-mails section");
    let end = html[start..].find("</section>").unwrap() + start;
    text_of(&html[start..end])
}

/// The Admin page's "Learner e-mail" section.
async fn admin_mail_section(app: &TestApp) -> String {
    let (status, html) = page_as(app, Role::Admin, "/admin").await;
    assert_eq!(status, 200);
    let start = html.find("id=\"mail-h\"").expect("a mail section");
    let end = html[start..].find("</section>").unwrap() + start;
    text_of(&html[start..end])
}

/// Attempts that failed and will be tried again, from `/metrics`.
async fn retried(app: &TestApp) -> u64 {
    let (status, metrics) = page_as(app, Role::Admin, "/metrics").await;
    assert_eq!(status, 200);
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("rollbook_mail_messages_total{outcome=\"retried\"} "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a retried count")
}

/// A server mailing through a fresh SMTP server (its folder kept by the first value).
async fn mailing() -> (tempfile::TempDir, Smtp, TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(free_port(), dir.path()).await;
    let app = TestApp::spawn_with(with_mail(smtp.url())).await;
    (dir, smtp, app)
}

/// Tags dropped, white space folded.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#39;", "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_learner_known_by_student_number_gets_nothing_and_the_log_says_why() {
    let (_dir, mut smtp, app) = mailing().await;
    let cohort = app.create_cohort("Numbers", 5).await;
    app.enroll(&cohort, "s1234567").await;
    app.enroll(&cohort, "ana@example.org").await;
    // The outbox goes in order: when ana's message arrives, the student number's was handled.
    let first = smtp.next().await;
    assert_eq!(first["rcpt"], json!(["ana@example.org"]));
    assert_eq!(smtp.all().len(), 1);

    let section = mail_section(&app, "s1234567").await;
    assert!(
        section.contains("No e-mail address on file: s1234567 is not an e-mail address"),
        "{section}"
    );
    assert!(
        section.contains("You are enrolled in Numbers Not sent: no e-mail address on file"),
        "{section}"
    );
    let section = mail_section(&app, "ana@example.org").await;
    assert!(
        section.contains("You are enrolled in Numbers Sent"),
        "{section}"
    );
    let admin = admin_mail_section(&app).await;
    assert!(
        admin.contains("1 sent, 0 refused, 1 not sent (no address)"),
        "{admin}"
    );
    assert!(admin.contains("nothing waiting"), "{admin}");
    let (status, metrics) = page_as(&app, Role::Admin, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "rollbook_mail_messages_total{outcome=\"sent\"} 1",
        "rollbook_mail_messages_total{outcome=\"skipped\"} 1",
        "rollbook_mail_messages_total{outcome=\"refused\"} 0",
        "rollbook_mail_outbox_lag 0",
        "rollbook_mail_outbox_position 3",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
    // One document: no end marker in the middle.
    assert!(!metrics.trim_end().contains("# EOF") || metrics.trim_end().ends_with("# EOF"));
    assert!(metrics.matches("# EOF").count() <= 1);
    app.stop().await;
}

#[tokio::test]
async fn a_refusal_is_logged_once_without_the_address_and_the_next_learner_still_gets_mail() {
    let (_dir, mut smtp, app) = mailing().await;
    let cohort = app.create_cohort("Refusals", 5).await;
    app.enroll(&cohort, "refuse-me@example.org").await;
    app.enroll(&cohort, "ana@example.org").await;
    let first = smtp.next().await;
    assert_eq!(
        first["rcpt"],
        json!(["ana@example.org"]),
        "the refused one is not retried first"
    );

    let section = mail_section(&app, "refuse-me@example.org").await;
    assert!(
        section.contains("Not sent: the mail server refused it"),
        "{section}"
    );
    assert!(section.contains("550"), "{section}");
    // The server named the address in its answer: it is not kept.
    assert!(
        !section.contains("refuse-me@example.org: Recipient"),
        "{section}"
    );
    assert!(section.contains("(the learner's address)"), "{section}");
    let admin = admin_mail_section(&app).await;
    assert!(admin.contains("Recent refusals"), "{admin}");
    assert!(admin.contains("1 sent, 1 refused"), "{admin}");
    assert!(admin.contains("(the learner's address)"), "{admin}");
    app.stop().await;
}

#[tokio::test]
async fn restarts_of_rollbook_and_of_the_smtp_server_send_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut smtp = Smtp::start(port, dir.path()).await;
    let app = TestApp::spawn_with(with_mail(smtp.url())).await;
    let cohort = app.create_cohort("Restarts", 1).await;
    app.enroll(&cohort, "ana@example.org").await;
    app.enroll(&cohort, "ben@example.org").await;
    assert_eq!(smtp.next().await["rcpt"], json!(["ana@example.org"]));
    assert_eq!(smtp.next().await["rcpt"], json!(["ben@example.org"]));

    // rollbook restarts on the same database.
    let (kept, db, clock, credentials) = app.stop().await;
    let mut app = TestApp::spawn_on_with(db, clock, credentials, with_mail(smtp.url())).await;
    app.keep(kept.unwrap());
    app.enroll(&cohort, "cy@example.org").await;
    assert_eq!(smtp.next().await["rcpt"], json!(["cy@example.org"]));

    // The SMTP server restarts, once rollbook has recorded what it accepted (killed between
    // writing the message and answering 250, the server would see it again: the at-least-once
    // window, where the copy carries the same Message-ID).
    let started = std::time::Instant::now();
    while !mail_section(&app, "cy@example.org").await.contains("Sent") {
        assert!(started.elapsed() < PATIENCE, "cy's message is not recorded");
        tokio::task::yield_now().await;
    }
    let (port, folder) = smtp.kill().await;
    let mut smtp = Smtp::start(port, &folder).await;
    app.enroll(&cohort, "dan@example.org").await;
    assert_eq!(smtp.next().await["rcpt"], json!(["dan@example.org"]));
    let all: Vec<Value> = smtp.all().iter().map(|m| m["rcpt"][0].clone()).collect();
    assert_eq!(
        all,
        vec![
            json!("ana@example.org"),
            json!("ben@example.org"),
            json!("cy@example.org"),
            json!("dan@example.org")
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn while_the_smtp_server_is_down_mail_waits_and_then_arrives_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(free_port(), dir.path()).await;
    let url = smtp.url();
    let (port, folder) = smtp.kill().await;
    let app = TestApp::spawn_with(with_mail(url)).await;
    let cohort = app.create_cohort("Outage", 2).await;
    for key in ["ana@example.org", "ben@example.org", "cy@example.org"] {
        app.enroll(&cohort, key).await;
    }
    // The admin page says what is wrong while it waits.
    let mut admin = admin_mail_section(&app).await;
    let started = std::time::Instant::now();
    while !admin.contains("Last error 2026") {
        assert!(started.elapsed() < PATIENCE, "no error shown: {admin}");
        tokio::task::yield_now().await;
        admin = admin_mail_section(&app).await;
    }
    assert!(admin.contains("waiting"), "{admin}");
    assert!(
        mail_section(&app, "ana@example.org")
            .await
            .contains("No e-mails yet")
    );

    let mut smtp = Smtp::start(port, &folder).await;
    let order: Vec<Value> = [smtp.next().await, smtp.next().await, smtp.next().await]
        .iter()
        .map(|m| m["rcpt"][0].clone())
        .collect();
    assert_eq!(
        order,
        vec![
            json!("ana@example.org"),
            json!("ben@example.org"),
            json!("cy@example.org")
        ]
    );
    // Nothing more: the next message is the next event's.
    app.enroll(&cohort, "dan@example.org").await;
    assert_eq!(smtp.next().await["rcpt"], json!(["dan@example.org"]));
    assert_eq!(smtp.all().len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn mail_configured_on_an_existing_ledger_starts_at_the_head() {
    let app = TestApp::spawn().await;
    let cohort = app.create_cohort("Before mail", 5).await;
    app.enroll(&cohort, "ana@example.org").await;
    let (kept, db, clock, credentials) = app.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let mut smtp = Smtp::start(free_port(), dir.path()).await;
    let mut app = TestApp::spawn_on_with(db, clock, credentials, with_mail(smtp.url())).await;
    app.keep(kept.unwrap());
    app.enroll(&cohort, "ben@example.org").await;
    assert_eq!(smtp.next().await["rcpt"], json!(["ben@example.org"]));
    assert_eq!(smtp.all().len(), 1, "the history is not mailed");
    app.stop().await;
}

#[tokio::test]
async fn erasing_a_mailed_learner_leaves_no_trace_of_their_address_or_name_in_the_file() {
    const KEY: &str = "refuse-lena@example.org";
    const NAME: &str = "Lena Mailwright";
    let (_dir, mut smtp, app) = mailing().await;
    let cohort = app.create_cohort("Erasable mail", 5).await;
    // Refused by the server (whose answer names the address), then mailed about the other.
    enroll_named(&app, &cohort, KEY, NAME).await;
    enroll_named(&app, &cohort, "lena@example.org", "Lena Mailwright").await;
    assert_eq!(smtp.next().await["rcpt"], json!(["lena@example.org"]));
    assert!(mail_section(&app, KEY).await.contains("refused"));

    let (admin, csrf) = app.signed_in(Role::Admin).await;
    for key in [KEY, "lena@example.org"] {
        let done = admin
            .post(app.url("/admin/erase"))
            .form(&[("csrf", csrf.as_str()), ("key", key), ("confirm", key)])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 303, "{key}");
    }
    let admin_section = admin_mail_section(&app).await;
    assert!(
        !admin_section.contains("Recent refusals"),
        "{admin_section}"
    );
    let (_kept, db, _, _) = app.stop().await;
    let bytes = std::fs::read(&db).unwrap();
    for needle in [KEY, "lena@example.org", "refuse-lena", NAME, "Mailwright"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} is still in the file"
        );
    }
    // And the log lines themselves are gone, not only their words.
    let store =
        rollbook::store::Store::open(&db, &rollbook::store::StoreOptions::default()).unwrap();
    assert!(store.mail_failures(10).unwrap().is_empty());
}

/// A learner erased while their e-mail waits (the SMTP server down) is never mailed, and no
/// log line about them is written afterwards.
#[tokio::test]
async fn a_learner_erased_while_their_mail_waits_is_not_mailed_and_leaves_no_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(free_port(), dir.path()).await;
    let url = smtp.url();
    let (port, folder) = smtp.kill().await;
    let app = TestApp::spawn_with(with_mail(url)).await;
    let cohort = app.create_cohort("Erased while waiting", 5).await;
    app.enroll(&cohort, "ana@example.org").await;
    app.enroll(&cohort, "ben@example.org").await;
    let started = std::time::Instant::now();
    while !admin_mail_section(&app).await.contains("Last error 2026") {
        assert!(started.elapsed() < PATIENCE, "the outbox never tried");
        tokio::task::yield_now().await;
    }
    let (admin, csrf) = app.signed_in(Role::Admin).await;
    let key = "ana@example.org";
    let done = admin
        .post(app.url("/admin/erase"))
        .form(&[("csrf", csrf.as_str()), ("key", key), ("confirm", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);

    let mut smtp = Smtp::start(port, &folder).await;
    assert_eq!(smtp.next().await["rcpt"], json!(["ben@example.org"]));
    let (_kept, db, _, _) = app.stop().await;
    assert_eq!(smtp.all().len(), 1, "ana was never mailed");
    let store =
        rollbook::store::Store::open(&db, &rollbook::store::StoreOptions::default()).unwrap();
    let erased = store.read().unwrap().erasures().unwrap();
    assert_eq!(erased.len(), 1);
    assert!(store.mail_log(erased[0].0.0, 10).unwrap().is_empty());
}

#[tokio::test]
async fn the_mail_section_of_the_admin_page_is_for_admins_only_and_never_shows_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(free_port(), dir.path()).await;
    let url = format!("smtp://mailer:s3cret-pass@127.0.0.1:{}", smtp.port);
    let app = TestApp::spawn_with(with_mail(url)).await;
    for role in [Role::Viewer, Role::Staff] {
        let (status, html) = page_as(&app, role, "/admin").await;
        assert_eq!(status, 403, "{role}");
        assert!(!html.contains("Learner e-mail"), "{role}");
    }
    let (status, html) = page_as(&app, Role::Admin, "/admin").await;
    assert_eq!(status, 200);
    assert!(html.contains("Learner e-mail"));
    assert!(html.contains("smtp://***@127.0.0.1"), "{html}");
    assert!(!html.contains("s3cret-pass") && !html.contains("mailer:"));
    drop(smtp);
    app.stop().await;
}

/// The `--public-url` of the offer tests: offer e-mails carry links made under it.
const PUBLIC: &str = "https://rollbook.example.org";

fn with_mail_and_links(url: String) -> impl FnOnce(&mut AppConfig) {
    move |config: &mut AppConfig| {
        with_mail(url)(config);
        config.public_url = Some(PUBLIC.to_owned());
    }
}

/// The offer links in a body: the accept link, then the decline link.
fn offer_links_in(text: &str) -> (String, String) {
    let links: Vec<String> = text
        .split_whitespace()
        .filter_map(|word| word.find(PUBLIC).map(|at| &word[at..]))
        .map(|link| link.trim_end_matches(['>', ')', '.', ',']).to_owned())
        .collect();
    let [accept, decline] = links.as_slice() else {
        panic!("two links in the offer e-mail: {text}");
    };
    (accept.clone(), decline.clone())
}

/// A cohort of one seat whose freed seats are offered, held for 48 hours.
async fn offer_cohort(app: &TestApp) -> String {
    let mut body = cohort_body("Offers", 1);
    body["promotion"] = json!("offer");
    body["offer_hold"] = json!("48h");
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_offer_is_mailed_with_its_deadline_and_links_reminded_once_and_its_expiry_said() {
    let dir = tempfile::tempdir().unwrap();
    let mut smtp = Smtp::start(free_port(), dir.path()).await;
    let app = TestApp::spawn_with(with_mail_and_links(smtp.url())).await;
    let cohort = offer_cohort(&app).await;
    for key in ["ana@example.org", "bo@example.org", "cy@example.org"] {
        app.enroll(&cohort, key).await;
    }
    for _ in 0..3 {
        smtp.next().await;
    }
    withdraw(&app, &cohort, "ana@example.org", "moved").await;
    assert_eq!(smtp.next().await["rcpt"], json!(["ana@example.org"]));
    let offered = smtp.next().await;
    assert_eq!(offered["rcpt"], json!(["bo@example.org"]));
    // 48 hours after 2026-03-01 09:00 UTC, in Lisbon (WET, UTC+0 in March).
    assert_eq!(
        s(&offered, "subject"),
        "A seat in Offers is held for you until 2026-03-03 09:00 WET"
    );
    let (text, html) = (s(&offered, "text"), s(&offered, "html"));
    let (accept, decline) = offer_links_in(&text);
    assert_ne!(accept, decline);
    assert!(text.contains("until 2026-03-03 09:00 WET"), "{text}");
    assert!(
        html.contains(&accept.replace('&', "&amp;")) || html.contains(&accept),
        "{html}"
    );
    assert!(html.contains("Decline it"), "{html}");

    // 12 hours before the end of the hold (a quarter of 48 h is more): the reminder.
    let start = ts(NOW);
    app.clock
        .set(start + SignedDuration::from_hours(36) + SignedDuration::from_secs(1));
    let reminder = smtp.next().await;
    assert_eq!(reminder["rcpt"], json!(["bo@example.org"]));
    assert_eq!(
        s(&reminder, "subject"),
        "Reminder: your seat in Offers is held only until 2026-03-03 09:00 WET"
    );
    assert!(s(&reminder, "text").contains(&accept));

    // A restart does not remind again: the next message is the next event's.
    let (kept, db, clock, credentials) = app.stop().await;
    let mut app =
        TestApp::spawn_on_with(db, clock, credentials, with_mail_and_links(smtp.url())).await;
    app.keep(kept.unwrap());
    app.clock.set(start + SignedDuration::from_hours(40));
    app.enroll(&cohort, "dan@example.org").await;
    assert_eq!(smtp.next().await["rcpt"], json!(["dan@example.org"]));

    // The hold runs out: bo hears it, and cy is offered the seat.
    app.clock
        .set(start + SignedDuration::from_hours(48) + SignedDuration::from_secs(1));
    let expired = smtp.next().await;
    assert_eq!(expired["rcpt"], json!(["bo@example.org"]));
    assert_eq!(
        s(&expired, "subject"),
        "The seat held for you in Offers was released"
    );
    let next = smtp.next().await;
    assert_eq!(next["rcpt"], json!(["cy@example.org"]));
    assert!(s(&next, "subject").starts_with("A seat in Offers is held for you until 2026-03-05"));
    let reminders = smtp
        .all()
        .iter()
        .filter(|m| s(m, "subject").starts_with("Reminder"))
        .count();
    assert_eq!(reminders, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_reschedule_mails_everyone_the_cohort_holds_and_a_move_and_a_cancellation_are_said() {
    let (_dir, mut smtp, app) = mailing().await;
    let cohort = app.create_cohort("Term", 1).await;
    let other = app.create_cohort("Other term", 3).await;
    app.enroll(&cohort, "ana@example.org").await;
    app.enroll(&cohort, "ben@example.org").await;
    smtp.next().await;
    smtp.next().await;

    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/schedule"),
            &json!({"starts_at": "2026-03-16T09:00:00Z"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut told: Vec<Value> = vec![smtp.next().await, smtp.next().await];
    told.sort_by_key(|m| s(m, "to"));
    assert_eq!(told[0]["rcpt"], json!(["ana@example.org"]));
    assert_eq!(told[1]["rcpt"], json!(["ben@example.org"]));
    for m in &told {
        assert_eq!(s(m, "subject"), "New dates for Term");
        assert!(
            s(m, "text").contains("First session: 2026-03-16 09:00 WET"),
            "{m}"
        );
    }

    let (status, body) = app
        .post_json(
            "/api/v1/transfers",
            &json!({"learner": "ana@example.org", "from": cohort, "to": other}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // ana leaves Term (ben is promoted into her seat there), then joins Other term.
    let promoted = smtp.next().await;
    assert_eq!(promoted["rcpt"], json!(["ben@example.org"]));
    assert_eq!(
        s(&promoted, "subject"),
        "A seat freed up: you are now enrolled in Term"
    );
    let moved = smtp.next().await;
    assert_eq!(moved["rcpt"], json!(["ana@example.org"]));
    assert_eq!(s(&moved, "subject"), "You moved to Other term");
    assert!(
        s(&moved, "text").contains("You moved from Term to Other term"),
        "{moved}"
    );

    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/cancel"),
            &json!({"reason": "too few"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let released = smtp.next().await;
    assert_eq!(released["rcpt"], json!(["ben@example.org"]));
    assert_eq!(s(&released, "subject"), "Term is cancelled");
    assert!(!s(&released, "text").contains("too few"));
    app.stop().await;
}

/// Waits until the Admin page's mail section names `text` in its last error.
async fn until_last_error(app: &TestApp, text: &str) {
    let started = std::time::Instant::now();
    loop {
        let admin = admin_mail_section(app).await;
        if admin.contains(text) {
            return;
        }
        assert!(started.elapsed() < PATIENCE, "no {text:?} in {admin}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_mailbox_that_stays_busy_is_given_up_after_a_day_without_mailing_anyone_twice() {
    let (_dir, mut smtp, app) = mailing().await;
    let cohort = app.create_cohort("Busy", 3).await;
    for key in ["ana@example.org", "busy-bo@example.org", "cy@example.org"] {
        app.enroll(&cohort, key).await;
    }
    assert_eq!(smtp.next().await["rcpt"], json!(["ana@example.org"]));
    // bo's server keeps saying "try again later": everyone after waits, for a day at most.
    until_last_error(&app, "451").await;
    let start = ts(NOW);
    app.clock.set(start + SignedDuration::from_hours(25));
    assert_eq!(smtp.next().await["rcpt"], json!(["cy@example.org"]));
    let section = mail_section(&app, "busy-bo@example.org").await;
    assert!(section.contains("gave up after 24 h"), "{section}");

    // One event for three learners: ana is mailed, bo holds the rest up, and the retries that
    // follow never mail ana again.
    let (status, body) = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/schedule"),
            &json!({"starts_at": "2026-03-16T09:00:00Z"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(smtp.next().await["rcpt"], json!(["ana@example.org"]));
    let retried_before = retried(&app).await;
    let started = std::time::Instant::now();
    // Several retries of bo's new message pass (bo's message comes after ana's: a retry counted
    // from now is one of them), before the day runs out.
    while retried(&app).await < retried_before + 2 {
        assert!(started.elapsed() < PATIENCE);
        tokio::task::yield_now().await;
    }
    app.clock.set(start + SignedDuration::from_hours(50));
    assert_eq!(smtp.next().await["rcpt"], json!(["cy@example.org"]));
    let to_ana = smtp
        .all()
        .iter()
        .filter(|m| m["rcpt"] == json!(["ana@example.org"]))
        .count();
    assert_eq!(to_ana, 2, "enrolled, then the new dates once");
    app.stop().await;
}

/// The whole way of an offer link: the offer e-mail carries signed links; following the accept
/// link shows the held seat and changes nothing; confirming records `offer.accepted` with the
/// learner as actor, which is mailed in turn; the decline link of the same offer is then spent.
#[tokio::test]
async fn an_offer_mailed_with_links_is_accepted_by_following_its_link() {
    let dir = tempfile::tempdir().unwrap();
    let mut smtp = Smtp::start(free_port(), dir.path()).await;
    let app = TestApp::spawn_with(with_mail_and_links(smtp.url())).await;
    let cohort = offer_cohort(&app).await;
    app.enroll(&cohort, "ana@example.org").await;
    app.enroll(&cohort, "bo@example.org").await;
    smtp.next().await;
    smtp.next().await;
    withdraw(&app, &cohort, "ana@example.org", "moved").await;
    assert_eq!(smtp.next().await["rcpt"], json!(["ana@example.org"]));
    let offered = smtp.next().await;
    assert_eq!(offered["rcpt"], json!(["bo@example.org"]));
    let (accept, decline) = offer_links_in(&s(&offered, "text"));
    let (html_accept, _) = offer_links_in(&s(&offered, "html").replace('"', " "));
    assert_eq!(html_accept, accept, "the same link in both bodies");
    let local = |link: &str| app.url(link.strip_prefix(PUBLIC).expect("under --public-url"));
    let before = cohort_events(&app, &cohort).await.len();

    let page = app.anonymous().get(local(&accept)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Seat held for you in"));
    assert_eq!(
        cohort_events(&app, &cohort).await.len(),
        before,
        "following a link changes nothing"
    );

    let confirmed = app
        .anonymous()
        .post(local(&accept))
        .form(&[("action", "accept")])
        .send()
        .await
        .unwrap();
    assert!(
        confirmed.status().is_success() || confirmed.status().is_redirection(),
        "{}",
        confirmed.status()
    );
    let all = cohort_events(&app, &cohort).await;
    let last = all.last().unwrap();
    assert_eq!(last["type"], "offer.accepted");
    assert_eq!(last["actor"], "learner (offer link)");
    let accepted = smtp.next().await;
    assert_eq!(accepted["rcpt"], json!(["bo@example.org"]));
    assert_eq!(
        s(&accepted, "subject"),
        "You took the seat: you are enrolled in Offers"
    );

    let spent = app.anonymous().get(local(&decline)).send().await.unwrap();
    assert_eq!(spent.status(), 410, "the offer was answered");
    assert_eq!(cohort_events(&app, &cohort).await.len(), all.len());
    app.stop().await;
}

async fn cohort_events(app: &TestApp, cohort: &str) -> Vec<Value> {
    let (status, body) = app
        .get_json(&format!("/api/v1/cohorts/{cohort}/events"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}
