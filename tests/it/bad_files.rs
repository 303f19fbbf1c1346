//! Files rollbook must refuse, or for an empty one initialise: `Store::open` and the real
//! binary's `serve` give a clear message (and `serve` a non-zero exit), and every refusal leaves
//! the file's bytes untouched. Also a full disk during a commit: the batch's commands get an
//! error (503 over HTTP) and nothing is half-written.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use redb::TableDefinition;
use rollbook::clock::FixedClock;
use rollbook::store::{Store, StoreOptions};
use rollbook::writer::{Writer, WriterOptions};

use crate::helpers::backends::{Fault, Faulty};
use crate::helpers::faults::{FaultyApp, every_fault_point, stored_learners};
use crate::helpers::process::{Launch, ServerProcess};
use crate::helpers::workload::workload;
use crate::helpers::{NOW, ts};

/// A rollbook database with the crash tests' workload in it, closed cleanly.
fn good_database(path: &Path) {
    let store = Arc::new(Store::open(path, &StoreOptions::default()).expect("store opens"));
    let mut writer = Writer::new(
        store.clone(),
        Arc::new(FixedClock::new(ts(NOW))),
        WriterOptions::default(),
    );
    for batch in workload() {
        writer.process(batch);
    }
}

/// Checks a refusal both ways: `Store::open` fails with a message containing `expected`, and
/// `rollbook serve` exits non-zero saying it too; the file's bytes (when it is a file) are the
/// same before and after both.
fn assert_refused(path: &Path, expected: &str) {
    let before = std::fs::read(path).ok();
    let error = match Store::open(path, &StoreOptions::default()) {
        Ok(_) => panic!(
            "{} was opened; expected a refusal saying {expected:?}",
            path.display()
        ),
        Err(e) => e.to_string(),
    };
    assert!(
        error.contains(expected),
        "Store::open said {error:?}; expected {expected:?}"
    );
    assert_eq!(
        std::fs::read(path).ok(),
        before,
        "Store::open changed the file"
    );
    assert_serve_refuses(path, expected, &[]);
    assert_eq!(std::fs::read(path).ok(), before, "serve changed the file");
}

/// `rollbook serve` on `path` (run through `wrapper`, e.g. to drop privileges) exits non-zero
/// with an error line containing `expected`.
fn assert_serve_refuses(path: &Path, expected: &str, wrapper: &[&str]) {
    let (status, log) = match launch(path, wrapper) {
        Launch::Exited { status, log } => (status, log),
        Launch::Serving(_) => panic!("serve started on {}", path.display()),
    };
    assert!(!status.success(), "serve exited with {status}");
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains(expected)),
        "serve's log does not say {expected:?}: {log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

fn launch(path: &Path, wrapper: &[&str]) -> Launch {
    if wrapper.is_empty() {
        ServerProcess::launch(path)
    } else {
        ServerProcess::launch_with(path, wrapper)
    }
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rollbook.redb");
    (dir, path)
}

#[test]
fn a_truncated_database_is_refused_and_left_untouched() {
    let (_dir, path) = temp();
    good_database(&path);
    let full = std::fs::read(&path).unwrap();
    for keep in [full.len() / 2, 4096, 600, 100, 10] {
        std::fs::write(&path, &full[..keep]).unwrap();
        assert_refused(&path, "truncated");
    }
}

/// Overwrites every copy of `needle` in the file (redb copies pages on write, so old copies may
/// remain) with bytes that still look plausible.
fn corrupt_all(path: &Path, needle: &[u8]) -> usize {
    let mut bytes = std::fs::read(path).unwrap();
    let mut found = 0;
    let mut at = 0;
    while let Some(offset) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
        let start = at + offset;
        for b in &mut bytes[start..start + needle.len()] {
            *b ^= 0x5A;
        }
        found += 1;
        at = start + needle.len();
    }
    std::fs::write(path, bytes).unwrap();
    found
}

#[test]
fn a_database_with_corrupted_bytes_in_the_middle_is_refused_and_left_untouched() {
    let (_dir, path) = temp();
    good_database(&path);
    // The workload's cohorts are taught by Grace Hopper: her name is in the events' pages.
    assert!(corrupt_all(&path, b"Grace Hopper") > 0);
    assert_refused(&path, "corrupt");
}

#[test]
fn foreign_files_are_refused_and_left_untouched() {
    let (dir, path) = temp();
    std::fs::write(&path, "just some notes\n").unwrap();
    assert_refused(&path, "is not a rollbook database (not a redb file)");

    let mut sqlite = b"SQLite format 3\0".to_vec();
    sqlite.resize(8192, 0);
    std::fs::write(&path, &sqlite).unwrap();
    assert_refused(&path, "is not a rollbook database (not a redb file)");

    // Shorter than redb's magic number.
    std::fs::write(&path, b"redb").unwrap();
    assert_refused(&path, "is not a rollbook database (not a redb file)");

    let other = dir.path().join("other.redb");
    {
        let db = redb::Database::create(&other).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let table: TableDefinition<&str, u64> = TableDefinition::new("inventory");
            txn.open_table(table).unwrap().insert("apples", 3).unwrap();
        }
        txn.commit().unwrap();
    }
    assert_refused(&other, "a redb file without rollbook's tables");
}

#[test]
fn a_database_of_a_newer_format_is_refused_and_left_untouched() {
    let (_dir, path) = temp();
    good_database(&path);
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let meta: TableDefinition<&str, u64> = TableDefinition::new("meta");
            txn.open_table(meta)
                .unwrap()
                .insert("format_version", 99)
                .unwrap();
        }
        txn.commit().unwrap();
    }
    assert_refused(
        &path,
        "uses store format 99, but this rollbook reads format 3 at most; upgrade rollbook",
    );
}

#[test]
fn an_empty_file_is_initialised_as_a_new_database() {
    let (_dir, path) = temp();
    std::fs::write(&path, b"").unwrap();
    let store = Store::open(&path, &StoreOptions::default()).expect("an empty file is new");
    assert_eq!(store.read().unwrap().head_position().unwrap(), 0);
    drop(store);

    std::fs::write(&path, b"").unwrap();
    let server = ServerProcess::start(&path);
    drop(server);
    let store = Store::open(&path, &StoreOptions::default()).expect("serve initialised it");
    assert_eq!(store.read().unwrap().head_position().unwrap(), 0);
}

/// Whether this process may write a file whatever its permission bits (root may).
fn permissions_bite(path: &Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(path).is_err()
}

#[test]
fn a_read_only_database_is_refused_and_left_untouched() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, path) = temp();
    good_database(&path);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let expected = "read-only";
    if permissions_bite(&path) {
        assert_refused(&path, expected);
    } else {
        // Running as root: the permission bits do not stop this process, so the store opens.
        // The refusal is still checked below with `serve` run as an unprivileged user.
        let before = rollbook::store::verify(&path, |_, _| {}).unwrap();
        let store = Store::open(&path, &StoreOptions::default()).expect("root may write");
        assert!(store.read().unwrap().head_position().unwrap() > 0);
        drop(store);
        // Only redb's own bookkeeping may have changed (it is rewritten on a clean close, and
        // free pages at the end are given back): the history is the same.
        let after = rollbook::store::verify(&path, |_, _| {}).unwrap();
        assert_eq!(
            (after.events, after.chain_head),
            (before.events, before.chain_head)
        );

        let can_drop = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
            .status()
            .is_ok_and(|s| s.success());
        if can_drop {
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let before = std::fs::read(&path).unwrap();
            assert_serve_refuses(
                &path,
                expected,
                &[
                    "setpriv",
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                ],
            );
            assert_eq!(std::fs::read(&path).unwrap(), before);
        } else {
            eprintln!("read-only check of serve skipped: running as root without setpriv");
        }
    }
}

#[test]
fn a_directory_is_refused() {
    let (dir, _) = temp();
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("inside.txt"), "x").unwrap();
    assert_refused(&full, "is a directory");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_refused(&empty, "is a directory");
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

#[test]
fn a_full_disk_at_any_write_of_a_commit_fails_its_batch_and_half_writes_nothing() {
    let figures = every_fault_point(Fault::Persistent, Faulty::Writes, ErrorKind::StorageFull);
    eprintln!("disk full at every write: {figures:?}");
    assert!(figures.points > 10, "{figures:?}");
    assert_eq!(
        figures.fired, figures.points,
        "every write point was reached"
    );
    assert_eq!(
        figures.in_flight_stored, 0,
        "a batch whose write failed was stored: {figures:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_stores_nothing_of_the_command() {
    let app = FaultyApp::start();
    let cohort = app.create_cohort().await;
    let (status, body) = app.enroll(&cohort, "before@example.org").await;
    assert_eq!(status, 200, "{body}");
    app.backend
        .arm(1, Fault::Persistent, Faulty::Writes, ErrorKind::StorageFull);
    let (status, body) = app.enroll(&cohort, "during@example.org").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    app.backend.disarm();
    let backend = app.stop().await;
    for image in [backend.live(), backend.durable()] {
        assert_eq!(stored_learners(image), ["before@example.org"]);
    }
}
