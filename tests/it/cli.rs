//! The real binary: `--help`, `--version`, `serve` configured from the environment, and a
//! SIGTERM in the middle of traffic that exits 0 without losing an acknowledged command.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rollbook::domain::Event;
use rollbook::store::{Store, StoreOptions};
use serde_json::{Value, json};

use crate::helpers::cohort_body;

const BIN: &str = env!("CARGO_BIN_EXE_rollbook");

#[test]
fn help_and_version_work() {
    let version = Command::new(BIN).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("rollbook {}", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("serve"));
    let serve_help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&serve_help.stdout);
    for flag in [
        "--db",
        "--listen",
        "ROLLBOOK_DB",
        "ROLLBOOK_LISTEN",
        "127.0.0.1:8080",
        "rollbook.redb",
    ] {
        assert!(text.contains(flag), "serve --help mentions {flag}");
    }
}

#[test]
fn a_foreign_file_is_refused_with_a_clear_message_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "not a database").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a rollbook database"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), b"not a database");
}

/// A running `rollbook serve` whose log lines arrive on a channel.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Server {
    fn start(db: &std::path::Path) -> (Self, String) {
        let mut child = Command::new(BIN)
            .arg("serve")
            .env("ROLLBOOK_DB", db)
            .env("ROLLBOOK_LISTEN", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            lines,
            log: Vec::new(),
        };
        let addr = server.wait_for("listening on http://");
        let addr = addr
            .split("http://")
            .nth(1)
            .unwrap()
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '\u{1b}')
            .collect();
        (server, addr)
    }

    /// Blocks until a log line contains `needle` (the process logs it; a generous timeout only
    /// guards against a hung test, it is not used for synchronisation).
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!("no log line with {needle:?}; log so far: {:#?}", self.log)
                });
            self.log.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_its_replay_and_a_sigterm_loses_no_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.redb");
    let (mut server, addr) = Server::start(&db);
    assert!(
        server
            .log
            .iter()
            .any(|l| l.contains("replay done") && l.contains("events=0")),
        "{:#?}",
        server.log
    );

    let client = reqwest::Client::new();
    // The binary runs on the system clock: deadlines far in the future.
    let mut body = cohort_body("Shutdown", 1000);
    body["starts_at"] = json!("2099-03-15T09:00:00Z");
    body["enrollment_deadline"] = json!("2099-03-10T00:00:00Z");
    body["withdrawal_deadline"] = json!("2099-03-20T00:00:00Z");
    let created: Value = client
        .post(format!("http://{addr}/api/v1/cohorts"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();

    // Many enrollments in flight; SIGTERM once the first ones are acknowledged.
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let client = client.clone();
        let url = format!("http://{addr}/api/v1/cohorts/{id}/enrollments");
        let acked = acked_tx.clone();
        tasks.spawn(async move {
            let learner = format!("learner-{i}");
            let Ok(response) = client
                .post(url)
                .json(&json!({"learner": learner}))
                .send()
                .await
            else {
                return None;
            };
            if response.status() != 200 {
                return None;
            }
            let body: Value = response.json().await.ok()?;
            let _ = acked.send(());
            Some((learner, body["position"].as_u64().unwrap()))
        });
    }
    drop(acked_tx);
    for _ in 0..10 {
        acked_rx
            .recv()
            .await
            .expect("some enrollments are acknowledged");
    }
    server.terminate();
    let mut acknowledged = Vec::new();
    while let Some(result) = tasks.join_next().await {
        if let Some(ack) = result.unwrap() {
            acknowledged.push(ack);
        }
    }
    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().unwrap();
        (status, server)
    })
    .await
    .unwrap();
    let (status, mut server) = status;
    assert!(status.success(), "exit status {status:?}");
    server.wait_for("stopped");
    assert!(acknowledged.len() >= 10);

    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    let reader = store.read().unwrap();
    for (learner, position) in &acknowledged {
        let (learner_id, _) = reader
            .learner_by_key(learner)
            .unwrap()
            .expect("acknowledged learner filed");
        let event = &reader.events_at(&[*position]).unwrap()[0];
        assert_eq!(
            event.event,
            Event::StudentEnrolled {
                learner: learner_id
            },
            "{learner} at {position}"
        );
    }
}
