//! Backups: consistent copies from one read transaction while serving, verified, with a
//! manifest; on request (API, CLI through the server or from the file), on a schedule with
//! rotation, and restore that verifies first and keeps the replaced file.

use std::path::Path;
use std::process::Command;

use rollbook::auth::Role;
use rollbook::backup::{Manifest, Schedule, manifest_path, scheduled_backup};
use rollbook::store::{Store, StoreOptions, verify};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::helpers::process::BIN;
use crate::helpers::*;

fn sha256(path: &Path) -> String {
    let digest: [u8; 32] = sha2::Sha256::digest(std::fs::read(path).unwrap()).into();
    rollbook::store::chain::show(&digest)
}

/// Configures backups into the database's own folder (`--backup-dir`), where tests find them
/// as `app.db.with_file_name(NAME)`.
pub fn backups_beside_the_database(config: &mut rollbook::app::AppConfig) {
    config.backup = Some(Schedule {
        dir: config.db.parent().expect("a folder").to_owned(),
        every: jiff::SignedDuration::from_hours(6),
        keep: 14,
    });
}

async fn busy_app() -> (TestApp, String) {
    let app = TestApp::spawn_with(backups_beside_the_database).await;
    let id = app.create_cohort("Backed up", 2).await;
    for l in ["ana", "ben", "cy"] {
        app.enroll(&id, l).await;
    }
    (app, id)
}

#[tokio::test]
async fn an_admin_backs_up_the_live_database_through_the_api() {
    let (app, id) = busy_app().await;
    let out = app.db.with_file_name("copy.redb");
    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"name": "copy.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let manifest: Manifest = response.json().await.unwrap();
    assert_eq!(manifest.file, out);
    assert_eq!(manifest.position, 4);
    assert!(manifest.verified);
    assert_eq!(manifest.sha256, sha256(&out));
    let on_disk: Manifest =
        serde_json::from_slice(&std::fs::read(manifest_path(&out)).unwrap()).unwrap();
    assert_eq!(on_disk, manifest);
    let report = verify(&out, |_, _| {}).unwrap();
    assert_eq!(report.events, 4);
    assert_eq!(
        report
            .chain_head
            .map(|(_, h)| rollbook::store::chain::show(&h)),
        Some(manifest.chain_head.clone())
    );

    // The server kept serving; the copy holds exactly what was there.
    app.enroll(&id, "dee").await;
    let copy = Store::open(&out, &StoreOptions::default()).unwrap();
    assert_eq!(copy.read().unwrap().head_position().unwrap(), 4);
    drop(copy);

    // The admin page shows it.
    let page = admin
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Last verified backup"), "{page}");

    // The field's first name, `out`, still works for a bare file name.
    let by_out = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"out": "copy2.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_out.status(), 201);
    assert_eq!(
        verify(&app.db.with_file_name("copy2.redb"), |_, _| {})
            .unwrap()
            .events,
        5
    );

    // Never over an existing file, only admins.
    let again = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"name": "copy.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(error_code(again).await, "exists");
    let staff = app
        .client
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"name": "x.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status(), 403);
    assert!(!app.db.with_file_name("x.redb").exists());
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_backup_request_cannot_name_a_path_outside_the_backup_folder() {
    let (app, _) = busy_app().await;
    let backups = app.db.parent().unwrap().to_owned();
    let before = names_in(&backups);
    let elsewhere = tempfile::tempdir().unwrap();
    let (admin, _) = app.signed_in(Role::Admin).await;
    let target = elsewhere.path().join("authorized_keys");
    let attacks = [
        "../x".to_owned(),
        "..".to_owned(),
        target.display().to_string(),
        "/etc/passwd".to_owned(),
        "/nonexistent/dir/x.redb".to_owned(),
        "a/b".to_owned(),
        "a\\b".to_owned(),
        "x.redb\nssh-ed25519 AAAA attacker".to_owned(),
        "x.redb\u{0}".to_owned(),
        ".hidden.redb".to_owned(),
        " x.redb".to_owned(),
        "x".repeat(rollbook::backup::MAX_NAME_LEN + 1),
        String::new(),
    ];
    let mut messages = Vec::new();
    for field in ["name", "out"] {
        for attack in &attacks {
            let response = admin
                .post(app.url("/api/v1/admin/backups"))
                .json(&json!({ field: attack }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{field}: {attack:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["error"]["code"], "invalid_field",
                "{field}: {attack:?}"
            );
            messages.push(body["error"]["message"].as_str().unwrap().to_owned());
        }
    }
    // A path that exists and one that does not get the very same answer.
    let at = |attack: &str| attacks.iter().position(|a| a == attack).unwrap();
    assert_eq!(
        messages[at("/etc/passwd")],
        messages[at("/nonexistent/dir/x.redb")]
    );
    assert!(
        !target.exists(),
        "nothing was written outside the backup folder"
    );
    assert_eq!(names_in(elsewhere.path()), Vec::<String>::new());
    assert_eq!(
        names_in(&backups),
        before,
        "nothing was written in the backup folder"
    );
    // Both fields at once are refused too.
    let both = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"name": "a.redb", "out": "b.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 400);
}

#[tokio::test]
async fn a_backup_never_overwrites_or_follows_a_symbolic_link_at_either_name() {
    let (app, _) = busy_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let dangling = elsewhere.path().join("created-through-a-link");
    let backups = app.db.parent().unwrap().to_owned();
    // A symbolic link planted at the manifest's name, to an existing file and to a new one; at
    // the backup's own name; and an existing file.
    std::os::unix::fs::symlink(&victim, backups.join("a.redb.manifest.json")).unwrap();
    std::os::unix::fs::symlink(&dangling, backups.join("b.redb.manifest.json")).unwrap();
    std::os::unix::fs::symlink(&victim, backups.join("c.redb")).unwrap();
    std::fs::write(backups.join("d.redb"), b"someone's file").unwrap();
    std::fs::write(backups.join("e.redb.manifest.json"), b"someone's manifest").unwrap();
    let before = names_in(&backups);
    for name in ["a.redb", "b.redb", "c.redb", "d.redb", "e.redb"] {
        let response = admin
            .post(app.url("/api/v1/admin/backups"))
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 409, "{name}");
        assert_eq!(error_code(response).await, "exists", "{name}");
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!dangling.exists(), "a dangling link was not followed");
    assert_eq!(
        std::fs::read(backups.join("d.redb")).unwrap(),
        b"someone's file"
    );
    assert_eq!(
        std::fs::read(backups.join("e.redb.manifest.json")).unwrap(),
        b"someone's manifest"
    );
    assert_eq!(names_in(&backups), before, "nothing was created or removed");
    assert!(
        std::fs::symlink_metadata(backups.join("a.redb.manifest.json"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the planted link is left as it was"
    );

    // The offline CLI, which takes a path, refuses the same way.
    let (_dir, db, _, _) = app.stop().await;
    for name in ["a.redb", "b.redb", "c.redb", "d.redb"] {
        let refused = Command::new(BIN)
            .args(["backup", "--out"])
            .arg(backups.join(name))
            .arg("--db")
            .arg(&db)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{name}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("already exists"),
            "{name}: {}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
    // Nor does an export.
    for name in ["c.redb", "d.redb", "b.redb.manifest.json"] {
        let refused = Command::new(BIN)
            .args(["export", "--out"])
            .arg(backups.join(name))
            .arg("--db")
            .arg(&db)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{name}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("already exists"),
            "{name}: {}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!dangling.exists(), "a dangling link was not followed");
    assert_eq!(names_in(&backups), before, "nothing was created or removed");
}

#[tokio::test]
async fn without_a_backup_folder_the_endpoint_says_how_to_configure_one() {
    let app = TestApp::spawn().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"name": "x.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "backup_dir_not_configured");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--backup-dir"),
        "{body}"
    );
    assert_eq!(names_in(app.db.parent().unwrap()), ["rollbook.redb"]);
}

#[tokio::test]
async fn backups_and_manifests_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let (app, _) = busy_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"name": "online.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let (_dir, db, _, _) = app.stop().await;
    let offline = db.with_file_name("offline.redb");
    let offline_run = Command::new(BIN)
        .args(["backup", "--out"])
        .arg(&offline)
        .arg("--db")
        .arg(&db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        offline_run.status.success(),
        "{}",
        String::from_utf8_lossy(&offline_run.stderr)
    );
    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    let schedule = Schedule {
        dir: db.with_file_name("scheduled"),
        every: jiff::SignedDuration::from_hours(6),
        keep: 2,
    };
    let scheduled = scheduled_backup(&store, &schedule, ts(NOW)).unwrap();
    for file in [db.with_file_name("online.redb"), offline, scheduled.file] {
        for path in [manifest_path(&file), file] {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
    let mode = std::fs::metadata(&schedule.dir)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "the backup folder it created");
}

#[tokio::test]
async fn the_cli_backs_up_through_the_server_or_from_a_stopped_database() {
    let (app, _) = busy_app().await;
    let dir = tempfile::tempdir().unwrap();
    let out = app.db.with_file_name("cli.redb");
    let server = format!("http://{}", app.addr);
    let admin_token = app.credentials.token(Role::Admin).to_owned();
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(args)
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        })
    };
    // With --server, --out names a file in the server's backup folder; a path is refused
    // before anything is sent.
    let path = run(vec![
        "backup".into(),
        "--out".into(),
        dir.path().join("cli.redb").display().to_string(),
        "--server".into(),
        server.clone(),
        "--token".into(),
        admin_token.clone(),
    ])
    .await
    .unwrap();
    assert!(!path.status.success());
    assert!(
        String::from_utf8_lossy(&path.stderr).contains("file name in the server's backup folder"),
        "{}",
        String::from_utf8_lossy(&path.stderr)
    );
    assert!(!dir.path().join("cli.redb").exists());
    let online = run(vec![
        "backup".into(),
        "--out".into(),
        "cli.redb".into(),
        "--server".into(),
        server.clone(),
        "--token".into(),
        admin_token,
    ])
    .await
    .unwrap();
    assert!(
        online.status.success(),
        "{}",
        String::from_utf8_lossy(&online.stderr)
    );
    assert!(
        String::from_utf8_lossy(&online.stdout).contains("written and verified: up to event 4")
    );
    assert_eq!(verify(&out, |_, _| {}).unwrap().events, 4);

    let refused = run(vec![
        "backup".into(),
        "--out".into(),
        "viewer.redb".into(),
        "--server".into(),
        server,
        "--token".into(),
        app.credentials.token(Role::Viewer).to_owned(),
    ])
    .await
    .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("(403)"));

    let (_dir, db, _, _) = app.stop().await;
    let offline_out = dir.path().join("offline.redb");
    let offline = run(vec![
        "backup".into(),
        "--out".into(),
        offline_out.display().to_string(),
        "--db".into(),
        db.display().to_string(),
    ])
    .await
    .unwrap();
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert_eq!(verify(&offline_out, |_, _| {}).unwrap().events, 4);
}

#[tokio::test]
async fn scheduled_backups_rotate_keeping_the_newest() {
    let (app, _) = busy_app().await;
    let (_dir, db, _, _) = app.stop().await;
    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let schedule = Schedule {
        dir: dir.path().join("backups"),
        every: jiff::SignedDuration::from_hours(6),
        keep: 2,
    };
    let mut made = Vec::new();
    for hour in 0..3 {
        let now = ts(NOW) + jiff::SignedDuration::from_hours(hour * 6);
        made.push(scheduled_backup(&store, &schedule, now).unwrap());
    }
    let mut files: Vec<String> = std::fs::read_dir(&schedule.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "two backups and their manifests: {files:?}");
    assert!(!made[0].file.exists(), "the oldest was removed");
    assert!(made[1].file.exists() && made[2].file.exists());
    assert!(made.iter().all(|m| m.verified && m.position == 4));
}

#[tokio::test]
async fn restore_verifies_first_refuses_a_running_server_and_keeps_the_replaced_file() {
    let (app, id) = busy_app().await;
    let dir = tempfile::tempdir().unwrap();
    let backup = app.db.with_file_name("b.redb");
    let (admin, _) = app.signed_in(Role::Admin).await;
    let made = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"name": "b.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    app.enroll(&id, "later").await;
    let (_keep, db, _, _) = app.stop().await;
    let before = std::fs::read(&db).unwrap();

    // A damaged backup is refused and the database left as it was.
    let damaged = dir.path().join("damaged.redb");
    let mut bytes = std::fs::read(&backup).unwrap();
    // Alter stored data itself (the cohort's name inside its event), not free space.
    let at = bytes
        .windows(9)
        .position(|w| w == b"Backed up")
        .expect("the event is in the file");
    bytes[at] = b'H';
    std::fs::write(&damaged, bytes).unwrap();
    let refused = Command::new(BIN)
        .args(["restore", "--from"])
        .arg(&damaged)
        .arg("--db")
        .arg(&db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("failed verification; nothing was changed")
    );
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the database was left as it was"
    );

    // A good backup replaces it; the old file is kept aside.
    let restored = Command::new(BIN)
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--db")
        .arg(&db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let text = String::from_utf8_lossy(&restored.stdout).to_string();
    let aside = text.split("kept as ").nth(1).unwrap().trim();
    assert!(
        std::fs::read(aside).unwrap() == before,
        "the replaced file is kept unchanged"
    );
    assert_eq!(
        verify(&db, |_, _| {}).unwrap().events,
        4,
        "the backup's history, without the later enrollment"
    );

    // With a server holding the database, restore refuses.
    let _held = Store::open(&db, &StoreOptions::default()).unwrap();
    let busy = Command::new(BIN)
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--db")
        .arg(&db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("stop the server before restoring"));
}
