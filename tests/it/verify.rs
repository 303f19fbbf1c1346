//! `rollbook verify` and the tamper-evident chain: an intact history verifies; one altered,
//! reordered, truncated or stripped behind rollbook's back is caught at the exact position.

use std::path::{Path, PathBuf};
use std::process::Command;

use redb::{ReadableTable as _, TableDefinition};
use rollbook::store::{Store, StoreOptions, VerifyError, chain, verify};
use serde_json::json;

use crate::helpers::*;

const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const STREAM_INDEX: TableDefinition<(uuid::Uuid, u64), u64> = TableDefinition::new("stream_index");
const DIRECTORY: TableDefinition<&str, &[u8]> = TableDefinition::new("directory");
const SNAPSHOTS: TableDefinition<(uuid::Uuid, u64), (u16, &[u8])> =
    TableDefinition::new("snapshots");

/// A stopped app's database with a small history: returns its directory (kept alive) and path.
async fn history() -> (tempfile::TempDir, PathBuf) {
    let app = TestApp::spawn_with(|c| c.writer.snapshot_every = 3).await;
    let id = app.create_cohort("Verified", 1).await;
    for l in ["ana", "ben", "cy"] {
        app.enroll(&id, l).await;
    }
    let (status, _) = app
        .post_json(
            &format!("/api/v1/cohorts/{id}/withdrawals"),
            &json!({"learner": "ana", "reason": "moved away"}),
        )
        .await;
    assert_eq!(status, 200);
    let (dir, db, _, _) = app.stop().await;
    (dir.unwrap(), db)
}

fn edit(path: &Path, f: impl FnOnce(&redb::WriteTransaction)) {
    let db = redb::Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    f(&txn);
    txn.commit().unwrap();
}

fn event_bytes(path: &Path, position: u64) -> Vec<u8> {
    let db = redb::Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    let table = txn.open_table(EVENTS).unwrap();
    table.get(position).unwrap().unwrap().value().to_vec()
}

fn problem(path: &Path) -> String {
    verify(path, |_, _| {})
        .expect_err("verification must fail")
        .to_string()
}

#[tokio::test]
async fn an_intact_history_verifies_with_its_chain_head() {
    let (_dir, db) = history().await;
    let report = verify(&db, |_, _| {}).unwrap();
    assert_eq!(report.events, 6);
    assert_eq!(report.cohorts, 1);
    assert!(
        report.snapshots >= 2,
        "snapshots at versions 3 and 6 were compared"
    );
    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    let head = store.read().unwrap().chain_head().unwrap().unwrap();
    assert_eq!(report.chain_head, Some(head));
    assert_eq!(head.0, 6);
}

#[tokio::test]
async fn an_altered_event_breaks_the_chain_at_its_position() {
    let (_dir, db) = history().await;
    let mut bytes = event_bytes(&db, 3);
    // The actor's name is in the envelope: change one letter of it.
    let at = bytes
        .windows(5)
        .position(|w| w == b"staff")
        .expect("actor name in the bytes");
    bytes[at] = b'S';
    edit(&db, |txn| {
        txn.open_table(EVENTS)
            .unwrap()
            .insert(3, bytes.as_slice())
            .unwrap();
    });
    let message = problem(&db);
    assert!(
        message.starts_with("position 3: the hash chain is broken"),
        "{message}"
    );
}

#[tokio::test]
async fn reordered_removed_and_truncated_histories_are_caught() {
    let (_dir, db) = history().await;
    let (two, three) = (event_bytes(&db, 2), event_bytes(&db, 3));
    edit(&db, |txn| {
        let mut events = txn.open_table(EVENTS).unwrap();
        events.insert(2, three.as_slice()).unwrap();
        events.insert(3, two.as_slice()).unwrap();
    });
    assert!(
        problem(&db).starts_with("position 2: envelope says position 3"),
        "{}",
        problem(&db)
    );

    let (_dir, db) = history().await;
    edit(&db, |txn| {
        txn.open_table(EVENTS).unwrap().remove(4).unwrap();
    });
    assert!(
        problem(&db).starts_with("position 4: missing"),
        "{}",
        problem(&db)
    );

    // Half a command cut off the end: the withdrawal without its promotion.
    let (_dir, db) = history().await;
    edit(&db, |txn| {
        txn.open_table(EVENTS).unwrap().remove(6).unwrap();
    });
    let message = problem(&db);
    assert!(
        message.starts_with("position 5: cohort") && message.contains("invariant broken"),
        "{message}"
    );

    // A whole command cut off the end: the stream index still points at it...
    let (_dir, db) = history().await;
    let head = verify(&db, |_, _| {}).unwrap().chain_head;
    edit(&db, |txn| {
        let mut events = txn.open_table(EVENTS).unwrap();
        events.remove(6).unwrap();
        events.remove(5).unwrap();
    });
    let message = problem(&db);
    assert!(
        message.contains("the stream index holds 6 entries for 4 events")
            && message.contains("version 5 points at position 5, past the events"),
        "{message}"
    );
    // ...and with the index cut too, what remains is a valid, shorter chain: only a chain head
    // recorded elsewhere (a backup's manifest, an earlier verify) tells.
    edit(&db, |txn| {
        let mut index = txn.open_table(STREAM_INDEX).unwrap();
        let cohort = index.first().unwrap().unwrap().0.value().0;
        index.remove((cohort, 6)).unwrap();
        index.remove((cohort, 5)).unwrap();
    });
    let cut = verify(&db, |_, _| {}).unwrap();
    assert_eq!(cut.events, 4);
    assert_ne!(cut.chain_head, head);
    assert_eq!(cut.chain_head.map(|(position, _)| position), Some(4));
}

#[tokio::test]
async fn a_wrong_snapshot_and_a_missing_learner_are_caught() {
    let (_dir, db) = history().await;
    edit(&db, |txn| {
        let mut snapshots = txn.open_table(SNAPSHOTS).unwrap();
        let (key, value) = {
            let first = snapshots.first().unwrap().unwrap();
            (
                first.0.value(),
                (first.1.value().0, first.1.value().1.to_vec()),
            )
        };
        // The snapshot of version 3, filed under version 6.
        snapshots
            .insert((key.0, 6), (value.0, value.1.as_slice()))
            .unwrap();
    });
    let message = problem(&db);
    assert!(
        message.contains("snapshot at version 6 differs from the replay"),
        "{message}"
    );

    let (_dir, db) = history().await;
    edit(&db, |txn| {
        let mut directory = txn.open_table(DIRECTORY).unwrap();
        let key = directory.first().unwrap().unwrap().0.value().to_owned();
        directory.remove(key.as_str()).unwrap();
    });
    let message = problem(&db);
    assert!(
        message.contains("is neither in the learner directory nor erased"),
        "{message}"
    );
    assert!(matches!(
        verify(&db, |_, _| {}),
        Err(VerifyError::At { .. })
    ));
}

#[tokio::test]
async fn the_verify_command_summarises_or_fails_with_the_position() {
    let (_dir, db) = history().await;
    let bin = crate::helpers::process::BIN;
    let ok = Command::new(bin)
        .args(["verify", "--db"])
        .arg(&db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let summary = String::from_utf8_lossy(&ok.stdout);
    assert!(summary.contains("OK — 6 events, 1 cohorts"), "{summary}");
    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    let (_, hash) = store.read().unwrap().chain_head().unwrap().unwrap();
    drop(store);
    assert!(summary.contains(&chain::show(&hash)), "{summary}");

    edit(&db, |txn| {
        txn.open_table(EVENTS).unwrap().remove(2).unwrap();
    });
    let bad = Command::new(bin)
        .args(["verify", "--db"])
        .arg(&db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("failed verification: position 2: missing"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// After a crash: `verify` and `export` recover on a scratch copy, never on the file, and never
// leave a scratch copy behind.
// ---------------------------------------------------------------------------------------------

/// A database that a `rollbook serve` killed with SIGKILL after a few acknowledged commands left
/// needing crash recovery. Returns its folder (kept alive) and path.
async fn killed_server_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("killed.redb");
    let path = db.clone();
    let token =
        tokio::task::spawn_blocking(move || crate::helpers::process::staff_token(&path, "crash"))
            .await
            .unwrap();
    let path = db.clone();
    let mut server =
        tokio::task::spawn_blocking(move || crate::helpers::process::ServerProcess::start(&path))
            .await
            .unwrap();
    let client = reqwest::Client::new();
    let created = client
        .post(server.url("/api/v1/cohorts"))
        .bearer_auth(&token)
        // The binary runs on the system clock: deadlines far ahead.
        .json(&json!({
            "name": "Crashed",
            "course": "KILL-9",
            "instructor": "Ada Lovelace",
            "capacity": 2,
            "starts_at": "2099-03-15T09:00:00Z",
            "enrollment_deadline": "2099-03-10T00:00:00Z",
            "withdrawal_deadline": "2099-03-20T00:00:00Z",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!id.is_empty());
    let enrolled = client
        .post(server.url(&format!("/api/v1/cohorts/{id}/enrollments")))
        .bearer_auth(&token)
        .json(&json!({"learner": "ana@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status(), 200, "{}", enrolled.text().await.unwrap());
    server.kill_9();
    // The precondition: the file needs crash recovery, which a read-only open refuses (and
    // which made `verify` and `export` fail with "Database repair aborted").
    assert!(
        matches!(
            redb::Database::builder().open_read_only(&db),
            Err(redb::DatabaseError::RepairAborted)
        ),
        "the killed server's file needs crash recovery"
    );
    (dir, db)
}

/// Runs the real binary with `args`.
fn rollbook(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(crate::helpers::process::BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[tokio::test]
async fn verify_and_export_recover_a_killed_servers_file_on_a_scratch_copy() {
    let (dir, db) = killed_server_file().await;
    let before = std::fs::read(&db).unwrap();

    let verified = rollbook(&["verify".as_ref(), "--db".as_ref(), db.as_os_str()]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let summary = String::from_utf8_lossy(&verified.stdout);
    assert!(summary.contains("OK — 2 events, 1 cohorts"), "{summary}");
    assert!(
        std::fs::read(&db).unwrap() == before,
        "verify left the file as it was"
    );

    let out = dir.path().join("export.jsonl");
    let exported = rollbook(&[
        "export".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let lines = std::fs::read_to_string(&out).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(lines.contains("ana@example.org"), "{lines}");
    assert!(
        std::fs::read(&db).unwrap() == before,
        "export left the file as it was"
    );
    assert_eq!(
        names_in(dir.path()),
        ["export.jsonl", "killed.redb"],
        "no scratch copy is left behind"
    );

    // And the server still recovers the very same file, with nothing lost.
    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    assert_eq!(store.read().unwrap().head_position().unwrap(), 2);
}

/// Runs the real binary with a file-size limit of at most 16 KiB (`ulimit -f`, SIGXFSZ ignored so the
/// write fails with EFBIG instead of killing it): a disk that fills up during the scratch copy.
fn rollbook_on_a_full_disk(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new("/bin/sh")
        .arg("-c")
        // dash counts `ulimit -f` in 512-byte blocks, bash in KiB: at most 16 KiB either way.
        .arg(r#"trap '' XFSZ; ulimit -f 16; exec "$0" "$@""#)
        .arg(crate::helpers::process::BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_scratch_copy_that_fills_the_disk_is_removed_with_a_clear_message() {
    let (dir, db) = killed_server_file().await;
    assert!(
        std::fs::metadata(&db).unwrap().len() > 32 << 10,
        "the file is larger than the limit, so the copy fails part-way"
    );
    let before = std::fs::read(&db).unwrap();
    for command in ["verify", "export"] {
        let failed = rollbook_on_a_full_disk(&[command.as_ref(), "--db".as_ref(), db.as_os_str()]);
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(!failed.status.success(), "{command}: {stderr}");
        assert_eq!(
            names_in(dir.path()),
            ["killed.redb"],
            "{command}: the partial scratch copy was removed; {stderr}"
        );
        assert!(
            stderr.contains("cannot make the scratch copy") && stderr.contains("it was removed"),
            "{command}: {stderr}"
        );
        assert!(
            std::fs::read(&db).unwrap() == before,
            "{command}: file unchanged"
        );
    }
    // The same file, with room to copy it, verifies.
    let verified = rollbook(&["verify".as_ref(), "--db".as_ref(), db.as_os_str()]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
