//! A database written by an older release keeps working with this one.
//!
//! `tests/fixtures/release-0.1.0/` holds a database written by rollbook 0.1.0 at commit f6ec729
//! (store format 1, event schema 1), the API tokens of its seeded accounts, and the JSON answers
//! that release gave over it. See the README there for how they were made; the recorder is in
//! the commit that added them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{
    ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _, TableDefinition,
};
use rollbook::auth::Role;
use rollbook::clock::FixedClock;
use rollbook::store::{Store, StoreError, StoreOptions, verify};
use serde_json::Value;

use crate::helpers::{Credentials, TestApp, ts};

/// The instant the fixture's history ends, and the clock its answers were recorded at.
pub const FIXTURE_NOW: &str = "2026-11-27T00:00:00Z";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release-0.1.0")
}

/// Every GET the answers cover, given the cohort ids and learner keys the fixture holds.
fn paths(cohorts: &[String], learners: &[String]) -> Vec<String> {
    let mut out = vec![
        "/api/v1/cohorts?limit=1000".to_owned(),
        "/api/v1/events?limit=1000".to_owned(),
    ];
    for id in cohorts {
        out.push(format!("/api/v1/cohorts/{id}"));
        out.push(format!("/api/v1/cohorts/{id}/events"));
        out.push(format!("/api/v1/cohorts/{id}?as_of=2026-10-15T00:00:00Z"));
        out.push(format!("/api/v1/cohorts/{id}?as_of=200"));
    }
    for key in learners {
        out.push(format!("/api/v1/learners/{key}/timeline"));
    }
    out
}

/// The answers to every GET of [`paths`], by path, as `{status, body}`.
pub async fn answers(app: &TestApp) -> BTreeMap<String, Value> {
    let (status, list) = app.get_json("/api/v1/cohorts?limit=1000").await;
    assert_eq!(status, 200, "{list}");
    let cohorts: Vec<String> = list["cohorts"]
        .as_array()
        .expect("cohorts")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    let (status, feed) = app.get_json("/api/v1/events?limit=1000").await;
    assert_eq!(status, 200, "{feed}");
    let mut learners: Vec<String> = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["data"]["learner"].as_str().map(str::to_owned))
        .collect();
    learners.sort();
    learners.dedup();
    let mut out = BTreeMap::new();
    for path in paths(&cohorts, &learners) {
        let (status, body) = app.get_json(&path).await;
        out.insert(path, serde_json::json!({"status": status, "body": body}));
    }
    out
}

/// The API tokens of the fixture's accounts.
pub fn credentials() -> Credentials {
    let raw = std::fs::read_to_string(fixture_dir().join("credentials.json")).unwrap();
    let by_name: BTreeMap<String, String> = serde_json::from_str(&raw).unwrap();
    Credentials {
        tokens: Role::ALL
            .iter()
            .map(|r| (*r, by_name[r.as_str()].clone()))
            .collect(),
    }
}

/// Today's answer as release 0.1.0 gave it: without what later event schemas added. Schema 2
/// gave `student.withdrawn` a `reason_code`, which every withdrawal that release stored reads
/// as `other` (and keeps its stored `schema_version`, 1).
fn as_release_0_1_0(mut answer: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("student.withdrawn") {
                    assert_eq!(map["schema_version"], 1, "stored by release 0.1.0");
                    if let Some(Value::Object(data)) = map.get_mut("data") {
                        assert_eq!(data.remove("reason_code"), Some(Value::from("other")));
                    }
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut answer);
    answer
}

/// A copy of the fixture database in a temporary folder: (folder, database path).
pub fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rollbook.redb");
    std::fs::copy(fixture_dir().join("rollbook.redb"), &db).unwrap();
    (dir, db)
}

#[tokio::test]
async fn a_release_0_1_0_database_is_upgraded_after_a_backup_and_answers_as_that_release_did() {
    let (dir, db) = fixture_copy();
    let original = std::fs::read(&db).unwrap();

    // `verify` reads the old format (on an upgraded scratch copy) and leaves the file alone.
    let before = verify(&db, |_, _| {}).unwrap();
    assert_eq!(before.events, 400);
    assert_eq!(before.cohorts, 6);
    assert_eq!(std::fs::read(&db).unwrap(), original);

    let clock = Arc::new(FixedClock::new(ts(FIXTURE_NOW)));
    let app = TestApp::spawn_on(db.clone(), clock, credentials()).await;
    let backup = dir.path().join("rollbook.redb.format1.backup");
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        original,
        "the backup is the old file, byte for byte"
    );

    let recorded: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("answers.json")).unwrap())
            .unwrap();
    let now = answers(&app).await;
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        recorded.keys().collect::<Vec<_>>(),
        "the same cohorts and learners"
    );
    for (path, answer) in &recorded {
        assert_eq!(&as_release_0_1_0(now[path].clone()), answer, "{path}");
    }
    app.stop().await;

    // The upgraded file verifies, with the chain head the old one had: the same history.
    let after = verify(&db, |_, _| {}).unwrap();
    assert_eq!(
        (after.events, after.chain_head),
        (before.events, before.chain_head)
    );
    // Opening it again does not upgrade it again.
    drop(Store::open(&db, &StoreOptions::default()).unwrap());
    let backups = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".backup")
        })
        .count();
    assert_eq!(backups, 1);
}

#[test]
fn the_upgrade_is_logged_by_the_binary() {
    let (_dir, db) = fixture_copy();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rollbook"))
        .args(["user", "list", "--db"])
        .arg(&db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("upgrading the store format")
            && log.contains("from=1")
            && log.contains("to=2")
            && log.contains("rollbook.redb.format1.backup"),
        "{log}"
    );
    assert!(log.contains("store format upgraded"), "{log}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("staff"));
}

/// Format 1's tables, as that release wrote them.
const EVENTS_V1: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const CHAIN_V1: TableDefinition<u64, [u8; 32]> = TableDefinition::new("chain");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

#[test]
fn an_old_database_with_a_broken_chain_is_not_upgraded() {
    let (_dir, db) = fixture_copy();
    {
        // The reason of a withdrawal, changed behind rollbook's back.
        let file = redb::Database::create(&db).unwrap();
        let txn = file.begin_write().unwrap();
        {
            let mut events = txn.open_table(EVENTS_V1).unwrap();
            let (position, mut bytes) = events
                .iter()
                .unwrap()
                .map(|row| {
                    let (k, v) = row.unwrap();
                    (k.value(), v.value().to_vec())
                })
                .find(|(_, v)| v.windows(10).any(|w| w == b"relocating"))
                .expect("a withdrawal for relocating");
            let at = bytes.windows(10).position(|w| w == b"relocating").unwrap();
            bytes[at] = b'R';
            events.insert(position, bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let error = Store::open(&db, &StoreOptions::default())
        .err()
        .expect("refused");
    assert!(
        matches!(error, StoreError::UpgradeRefused { from: 1, to: 2, .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("the hash chain is broken at position")
            && message.contains("the file was left as it was"),
        "{message}"
    );
    // Still format 1, with its chain table.
    let file = redb::Database::create(&db).unwrap();
    let txn = file.begin_read().unwrap();
    assert_eq!(
        txn.open_table(META)
            .unwrap()
            .get("format_version")
            .unwrap()
            .unwrap()
            .value(),
        1
    );
    assert!(txn.open_table(CHAIN_V1).unwrap().len().unwrap() >= 400);
}
