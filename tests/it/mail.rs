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

use jiff::{SignedDuration, Timestamp};
use rollbook::app::AppConfig;
use rollbook::auth::Role;
use rollbook::mail::MailConfig;
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
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
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
    let dir = tempfile::tempdir().unwrap();
    let mut smtp = Smtp::start(free_port(), dir.path()).await;
    let app = TestApp::spawn_with(with_mail(smtp.url())).await;
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
