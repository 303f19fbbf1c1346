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

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_rollbook");

fn sha256(path: &Path) -> String {
    let digest: [u8; 32] = sha2::Sha256::digest(std::fs::read(path).unwrap()).into();
    rollbook::store::chain::show(&digest)
}

async fn busy_app() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let id = app.create_cohort("Backed up", 2).await;
    for l in ["ana", "ben", "cy"] {
        app.enroll(&id, l).await;
    }
    (app, id)
}

#[tokio::test]
async fn an_admin_backs_up_the_live_database_through_the_api() {
    let (app, id) = busy_app().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.redb");
    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"out": out}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let manifest: Manifest = response.json().await.unwrap();
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

    // Never over an existing file, only absolute paths, only admins.
    let again = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"out": out}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let relative = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"out": "copy2.redb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(relative.status(), 400);
    let staff = app
        .client
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"out": dir.path().join("x.redb")}))
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status(), 403);
}

#[tokio::test]
async fn the_cli_backs_up_through_the_server_or_from_a_stopped_database() {
    let (app, _) = busy_app().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cli.redb");
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
    let online = run(vec![
        "backup".into(),
        "--out".into(),
        out.display().to_string(),
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
        dir.path().join("viewer.redb").display().to_string(),
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
    let backup = dir.path().join("b.redb");
    let (admin, _) = app.signed_in(Role::Admin).await;
    let made = admin
        .post(app.url("/api/v1/admin/backups"))
        .json(&json!({"out": backup}))
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
    let _: Option<Value> = None;
}
