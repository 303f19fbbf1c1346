//! The real binary: `--help`, `--version`, `serve` configured from the environment, and a
//! SIGTERM in the middle of traffic that exits 0 without losing an acknowledged command.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use rollbook::domain::Event;
use rollbook::store::{Store, StoreOptions};
use serde_json::{Value, json};

use rollbook::auth::Role;

use crate::helpers::process::{BIN, ServerProcess, rollbook_cli, staff_token};
use crate::helpers::{NOW, TestApp, cohort_body, password_of, seed, ts};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_its_replay_and_a_sigterm_loses_no_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.redb");
    let token = staff_token(&db, "cli test");
    let mut server = ServerProcess::start(&db);
    let addr = server.addr.clone();
    assert!(
        server
            .log
            .iter()
            .any(|l| l.contains("replay done") && l.contains("events=0")),
        "{:#?}",
        server.log
    );

    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
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
        let status = server.wait();
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

/// Stops a server with SIGTERM and waits for it to exit cleanly.
async fn stop(server: ServerProcess) {
    server.terminate();
    let status = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.wait()
    })
    .await
    .unwrap();
    assert!(status.success(), "{status:?}");
}

/// What one run of the binary showed.
struct FlagRun {
    /// The status of a page asked with a session 40 days idle.
    old_session: u16,
    /// Whether the new-cohort form names Europe/Lisbon.
    lisbon: bool,
    /// The snapshot versions of the cohort the run made.
    snapshots: Vec<u64>,
    /// When the journal's entries (in the file, after the run) were refused.
    journal: Vec<jiff::Timestamp>,
}

/// Serves a copy of `db` with `args`; asks a page with `session`; creates a cohort and enrolls
/// three learners with `token`; stops, and reads the file.
async fn flag_run(
    db: &std::path::Path,
    args: &[&str],
    session: &reqwest::Client,
    token: &str,
) -> FlagRun {
    let server = ServerProcess::start_with(db, args);
    let addr = server.addr.clone();
    let old_session = session
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    // A fresh session for the zone check (the old one may be expired).
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = browser
        .post(format!("http://{addr}/login"))
        .form(&[("name", "staff"), ("password", &password_of(Role::Staff))])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let form = browser
        .get(format!("http://{addr}/cohorts/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("All times are shown in"), "{form}");
    let lisbon = form.contains("All times are shown in Europe/Lisbon.");

    let api = reqwest::Client::new();
    let mut body = cohort_body("Flags", 10);
    body["starts_at"] = json!("2099-03-15T09:00:00Z");
    body["enrollment_deadline"] = json!("2099-03-10T00:00:00Z");
    body["withdrawal_deadline"] = json!("2099-03-20T00:00:00Z");
    let created = api
        .post(format!("http://{addr}/api/v1/cohorts"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id: Value = created.json().await.unwrap();
    let id = id["id"].as_str().unwrap().to_owned();
    for learner in ["ana@x.org", "ben@x.org", "cy@x.org"] {
        let enrolled = api
            .post(format!("http://{addr}/api/v1/cohorts/{id}/enrollments"))
            .bearer_auth(token)
            .json(&json!({"learner": learner}))
            .send()
            .await
            .unwrap();
        assert_eq!(enrolled.status(), 200);
    }
    stop(server).await;

    let store = Store::open(db, &StoreOptions::default()).unwrap();
    let reader = store.read().unwrap();
    let cohort = rollbook::domain::CohortId(uuid::Uuid::parse_str(&id).unwrap());
    FlagRun {
        old_session,
        lisbon,
        snapshots: reader.snapshot_versions(cohort).unwrap(),
        journal: reader
            .journal()
            .unwrap()
            .into_iter()
            .map(|(_, e)| e.at)
            .collect(),
    }
}

/// The serve flags reach the server: `--session-idle-hours`, `--snapshot-every` (0 writes no
/// snapshot), `--journal-retention-days` and `--timezone`, each against the same file served
/// with the defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_flags_are_wired_through_to_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flags.redb");
    // The binary runs on the system clock: prepare the file 40 days in its past.
    let start =
        jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - 40 * 86_400).unwrap();
    let clock = std::sync::Arc::new(rollbook::clock::FixedClock::new(start));
    let credentials = seed(&db, clock.clone());
    let app = TestApp::spawn_on(db.clone(), clock.clone(), credentials.clone()).await;
    let (session, _) = app.page_client(Role::Staff).await;
    let mut body = cohort_body("Past", 5);
    body["enrollment_deadline"] = json!(start + jiff::SignedDuration::from_hours(24));
    body["starts_at"] = json!(start + jiff::SignedDuration::from_hours(48));
    body["withdrawal_deadline"] = json!(start + jiff::SignedDuration::from_hours(72));
    let (status, created) = app.post_json("/api/v1/cohorts", &body).await;
    assert_eq!(status, 201, "{created}");
    let refused_at = start + jiff::SignedDuration::from_hours(48);
    app.clock.set(refused_at);
    let (status, _) = app
        .post_json(
            &format!(
                "/api/v1/cohorts/{}/enrollments",
                created["id"].as_str().unwrap()
            ),
            &json!({"learner": "late@x.org"}),
        )
        .await;
    assert_eq!(status, 422, "journaled");
    app.stop().await;
    let defaults_db = dir.path().join("defaults.redb");
    std::fs::copy(&db, &defaults_db).unwrap();
    let token = credentials.token(Role::Staff);

    let defaults = flag_run(&defaults_db, &["--snapshot-every", "2"], &session, token).await;
    let flagged = flag_run(
        &db,
        &[
            "--snapshot-every",
            "0",
            "--session-idle-hours",
            "2000",
            "--journal-retention-days",
            "30",
            "--timezone",
            "Europe/Lisbon",
        ],
        &session,
        token,
    )
    .await;

    // 40 idle days: past the default 12 hours, within 2000 hours.
    assert_eq!(defaults.old_session, 303, "expired by default");
    assert_eq!(flagged.old_session, 200, "--session-idle-hours 2000");
    assert!(!defaults.lisbon && flagged.lisbon, "--timezone");
    assert_eq!(defaults.snapshots, [2, 4], "--snapshot-every 2");
    assert!(
        flagged.snapshots.is_empty(),
        "--snapshot-every 0: {:?}",
        flagged.snapshots
    );
    // The 38-day-old refusal: kept for 365 days by default, pruned (in the file) after 30.
    assert_eq!(defaults.journal, [refused_at]);
    assert_eq!(flagged.journal, []);
}

/// `--backup-every` is read by `serve` (the schedule itself runs in the server:
/// tests/it/maintenance.rs): a period it cannot read, or under a minute, stops it at once with
/// a message naming the flag, before the database is touched.
#[test]
fn serve_refuses_a_backup_period_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.redb");
    for (every, message) in [
        (
            "banana",
            "--backup-every \"banana\": use e.g. 6h, 30m or 1d",
        ),
        ("30s", "--backup-every must be at least 1m"),
    ] {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--backup-dir"])
            .arg(dir.path().join("backups"))
            .args(["--backup-every", every, "--db"])
            .arg(&db)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(!out.status.success(), "--backup-every {every}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{stderr}");
        assert!(!db.exists(), "the database was not created");
    }
}

#[test]
fn accounts_and_tokens_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("accounts.redb");
    let token = staff_token(&db, "cli test");
    assert!(token.starts_with("rb_") && token.len() == 67, "{token}");

    let list = rollbook_cli(&db, &["user", "list"], "");
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("ops") && l.contains("staff") && l.contains("active")),
        "{text}"
    );

    let short = rollbook_cli(
        &db,
        &["user", "add", "eve", "--role", "viewer", "--password-stdin"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let bad_role = rollbook_cli(
        &db,
        &["user", "add", "eve", "--role", "boss", "--password-stdin"],
        "long enough password\n",
    );
    assert!(!bad_role.status.success());
    let duplicate = rollbook_cli(
        &db,
        &["user", "add", "ops", "--role", "viewer", "--password-stdin"],
        "long enough password\n",
    );
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));

    let passwd = rollbook_cli(
        &db,
        &["user", "passwd", "ops", "--password-stdin"],
        "another long password\n",
    );
    assert!(
        passwd.status.success(),
        "{}",
        String::from_utf8_lossy(&passwd.stderr)
    );

    let tokens = rollbook_cli(&db, &["token", "list"], "");
    let text = String::from_utf8_lossy(&tokens.stdout).to_string();
    assert!(
        text.contains("cli test") && !text.contains(&token),
        "tokens are listed, never their secrets: {text}"
    );
    let id = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let revoked = rollbook_cli(&db, &["token", "revoke", &id], "");
    assert!(revoked.status.success());
    let tokens = rollbook_cli(&db, &["token", "list"], "");
    assert!(!String::from_utf8_lossy(&tokens.stdout).contains("cli test"));

    let disabled = rollbook_cli(&db, &["user", "disable", "ops"], "");
    assert!(disabled.status.success());
    let list = rollbook_cli(&db, &["user", "list"], "");
    assert!(String::from_utf8_lossy(&list.stdout).contains("disabled"));
}

/// Logs in through the login form; the status (303 in, 401 refused).
async fn login_status(app: &TestApp, name: &str, password: &str) -> u16 {
    app.anonymous()
        .post(app.url("/login"))
        .form(&[("name", name), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The status of an API read with `token`.
async fn api_status(app: &TestApp, token: &str) -> u16 {
    app.anonymous()
        .get(app.url("/api/v1/cohorts"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Not just exit codes: what `user passwd`, `token revoke`, `user disable`, `user add` and
/// `token create` do is what the server then enforces.
#[tokio::test]
async fn account_commands_take_effect_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("effects.redb");
    let clock = std::sync::Arc::new(rollbook::clock::FixedClock::new(ts(NOW)));
    let credentials = seed(&db, clock.clone());
    let (viewer_token, admin_token, staff_token) = (
        credentials.token(Role::Viewer).to_owned(),
        credentials.token(Role::Admin).to_owned(),
        credentials.token(Role::Staff).to_owned(),
    );
    let old_password = password_of(Role::Viewer);

    // Before: every credential works.
    let app = TestApp::spawn_on(db.clone(), clock.clone(), credentials.clone()).await;
    assert_eq!(login_status(&app, "viewer", &old_password).await, 303);
    assert_eq!(
        login_status(&app, "admin", &password_of(Role::Admin)).await,
        303
    );
    for token in [&viewer_token, &admin_token, &staff_token] {
        assert_eq!(api_status(&app, token).await, 200);
    }
    let (viewer_session, _) = app.page_client(Role::Viewer).await;
    let (admin_session, _) = app.page_client(Role::Admin).await;
    app.stop().await;

    let passwd = rollbook_cli(
        &db,
        &["user", "passwd", "viewer", "--password-stdin"],
        "the viewer's new password\n",
    );
    assert!(passwd.status.success(), "{passwd:?}");
    let list = rollbook_cli(&db, &["token", "list"], "");
    let list = String::from_utf8(list.stdout).unwrap();
    let viewer_token_id = list
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("viewer"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("the viewer's token is listed: {list}"))
        .to_owned();
    let revoked = rollbook_cli(&db, &["token", "revoke", &viewer_token_id], "");
    assert!(revoked.status.success(), "{revoked:?}");
    let disabled = rollbook_cli(&db, &["user", "disable", "admin"], "");
    assert!(disabled.status.success(), "{disabled:?}");
    let added = rollbook_cli(
        &db,
        &[
            "user",
            "add",
            "carl",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        "carl's long password\n",
    );
    assert!(added.status.success(), "{added:?}");
    let created = rollbook_cli(&db, &["token", "create", "carl", "--label", "reader"], "");
    assert!(created.status.success(), "{created:?}");
    let carl_token = String::from_utf8(created.stdout).unwrap().trim().to_owned();

    let app = TestApp::spawn_on(db.clone(), clock.clone(), credentials.clone()).await;
    // The new password logs in; the old one no longer does.
    assert_eq!(
        login_status(&app, "viewer", "the viewer's new password").await,
        303
    );
    assert_eq!(login_status(&app, "viewer", &old_password).await, 401);
    // The revoked token is refused; another account's is not.
    assert_eq!(api_status(&app, &viewer_token).await, 401);
    assert_eq!(api_status(&app, &staff_token).await, 200);
    // The disabled account neither logs in nor uses its token.
    assert_eq!(
        login_status(&app, "admin", &password_of(Role::Admin)).await,
        401
    );
    assert_eq!(api_status(&app, &admin_token).await, 401);
    // The added account logs in, and its new token acts with its role: reads, no writes.
    assert_eq!(
        login_status(&app, "carl", "carl's long password").await,
        303
    );
    assert_eq!(api_status(&app, &carl_token).await, 200);
    let write = app
        .anonymous()
        .post(app.url("/api/v1/cohorts"))
        .bearer_auth(&carl_token)
        .json(&cohort_body("Not for viewers", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    // Sessions opened before end with the password change and with the disabling.
    for (role, session) in [("viewer", &viewer_session), ("admin", &admin_session)] {
        let home = session.get(app.url("/")).send().await.unwrap();
        assert_eq!(home.status(), 303, "{role}'s old session");
    }
    app.stop().await;
}

#[test]
fn account_commands_refuse_clearly_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("busy.redb");
    staff_token(&db, "cli test");
    let server = ServerProcess::start(&db);
    let list = rollbook_cli(&db, &["user", "list"], "");
    assert!(!list.status.success());
    let stderr = String::from_utf8_lossy(&list.stderr);
    assert!(
        stderr.contains("is in use by another process (is a rollbook server running on it?)"),
        "{stderr}"
    );
    server.terminate();
}

#[test]
fn a_first_start_creates_admin_and_prints_its_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("first.redb");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    while !printed.contains("rollbook user passwd admin") {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "output ended early: {printed}"
        );
        printed.push_str(&line);
    }
    assert!(
        printed.contains("created the account \"admin\""),
        "{printed}"
    );
    let password = printed
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 20 && !l.contains(' '))
        .expect("the password line")
        .to_owned();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());

    // The printed password is the admin's.
    let store = std::sync::Arc::new(Store::open(&db, &StoreOptions::default()).unwrap());
    let auth = rollbook::auth::Auth::load(
        store,
        rollbook::auth::Passwords::owasp(),
        std::sync::Arc::new(rollbook::clock::SystemClock),
        jiff::SignedDuration::from_hours(1),
    )
    .unwrap();
    let login = auth.login("admin", &password, "127.0.0.1".parse().unwrap(), None);
    assert!(login.is_ok(), "the printed password logs in");
}
