//! A database written by an older release keeps working with this one.
//!
//! `tests/fixtures/release-0.1.0/` holds a database written by rollbook 0.1.0 at commit f6ec729
//! (store format 1, event schema 1), the API tokens of its seeded accounts, and the JSON answers
//! that release gave over it. See the README there for how they were made; the recorder is in
//! the commit that added them. `tests/fixtures/release-0.2.0/` is the same for rollbook 0.2.0
//! (store format 2), with an erased learner, a reason staff typed starting with `sha256:`, and
//! idempotency keys holding an email.

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
    release_dir("0.1.0")
}

fn release_dir(release: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/release-{release}"))
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
    credentials_of(&fixture_dir())
}

fn credentials_of(dir: &Path) -> Credentials {
    let raw = std::fs::read_to_string(dir.join("credentials.json")).unwrap();
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
/// as `other` (and keeps its stored `schema_version`, 1). Store format 3 added `reason_erased`,
/// false for every reason of that release (none was erased).
/// A cohort's detail as releases before 0.3 answered it: without the policy fields added since
/// (issue 15), which a cohort of theirs has at their defaults.
fn without_policy(map: &mut serde_json::Map<String, Value>) {
    // The end date (issue 16) came later too: a cohort of an older release has none, and its
    // phase is read from its status and dates.
    if map.get("type").and_then(Value::as_str) == Some("cohort.created") {
        if let Some(Value::Object(data)) = map.get_mut("data") {
            assert_eq!(
                data.remove("ends_at"),
                Some(Value::Null),
                "no end date then"
            );
        }
    }
    if map.contains_key("waitlist_count") {
        let phase = map
            .remove("phase")
            .expect("every cohort answer says its phase");
        assert!(
            matches!(
                phase.as_str(),
                Some("open" | "enrollment_ended" | "closed" | "running" | "finished" | "cancelled")
            ),
            "{phase}"
        );
    }
    if !(map.contains_key("waitlist_count") && map.contains_key("enrolled")) {
        return;
    }
    assert_eq!(map.remove("ends_at"), Some(Value::Null), "no end date then");
    for (field, default) in [
        ("promotion", Value::from("automatic")),
        ("offer_hold", Value::Null),
        ("waitlist_cap", Value::Null),
        ("offers", Value::Array(vec![])),
    ] {
        assert_eq!(map.remove(field), Some(default), "{field}");
    }
}

fn as_release_0_1_0(mut answer: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                without_policy(map);
                let kind = map.get("type").and_then(Value::as_str).map(str::to_owned);
                if kind.as_deref() == Some("student.withdrawn") {
                    assert_eq!(map["schema_version"], 1, "stored by release 0.1.0");
                    if let Some(Value::Object(data)) = map.get_mut("data") {
                        assert_eq!(data.remove("reason_code"), Some(Value::from("other")));
                    }
                }
                if matches!(kind.as_deref(), Some("student.withdrawn" | "waitlist.left")) {
                    if let Some(Value::Object(data)) = map.get_mut("data") {
                        assert_eq!(data.remove("reason_erased"), Some(Value::from(false)));
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
    let output = std::process::Command::new(crate::helpers::process::BIN)
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
            && log.contains("to=3")
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
        matches!(error, StoreError::UpgradeRefused { from: 1, to: 3, .. }),
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

// ---- release 0.2.0 (store format 2) ----------------------------------------------------------

/// The clock release 0.2.0's answers were recorded at.
const FIXTURE_0_2_0_NOW: &str = "2026-12-07T17:41:49Z";
/// The opaque id of the learner erased in the 0.2.0 fixture (`ana.erased@example.org`).
const ANA: &str = "01a25198-d04c-7600-a408-e0831d797fb2";
/// The cohort where Ana withdrew (a reason that release erased to `sha256:<hex>`) and Bo
/// withdrew with a reason staff typed starting with `sha256:`.
const COHORT_A: &str = "01a25198-d000-740c-bdb8-4405570eb904";
/// Ana's reason staff typed starting with `sha256:`, which release 0.2.0's erasure skipped.
const ANAS_TYPED: &str = "sha256:typed by staff, Ana Erased left the waitlist";
/// Bo's reason staff typed starting with `sha256:`; Bo was never erased.
const BOS_TYPED: &str = "sha256:typed by staff about Bo";

fn holds(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A copy of the 0.2.0 fixture database: (folder, database path).
fn fixture_0_2_0_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rollbook.redb");
    std::fs::copy(release_dir("0.2.0").join("rollbook.redb"), &db).unwrap();
    (dir, db)
}

/// Today's answer and the one release 0.2.0 gave, each with what differs on purpose taken out:
/// that release showed an erased reason as `sha256:…` text (and one staff typed that way as
/// whatever it said), this one shows every reason of an erased learner as `reason: null` with
/// `reason_erased: true`, stored at the type's newest schema; every other reason is text with
/// `reason_erased: false`, as it was.
fn comparable(now: Value, recorded: Value) -> (Value, Value) {
    fn noted(map: &serde_json::Map<String, Value>) -> Option<bool> {
        let kind = map.get("type").and_then(Value::as_str)?;
        matches!(kind, "student.withdrawn" | "waitlist.left").then(|| map["data"]["learner"] == ANA)
    }
    fn today(value: &mut Value) {
        match value {
            Value::Object(map) => {
                without_policy(map);
                if let Some(of_ana) = noted(map) {
                    let data = map["data"].as_object_mut().unwrap();
                    assert_eq!(data.remove("reason_erased"), Some(Value::from(of_ana)));
                    if of_ana {
                        assert_eq!(data["reason"], Value::Null);
                    }
                }
                map.values_mut().for_each(today);
            }
            Value::Array(items) => items.iter_mut().for_each(today),
            _ => {}
        }
    }
    fn then(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if noted(map) == Some(true) {
                    map["data"]["reason"] = Value::Null;
                    let version = map["schema_version"].as_u64().unwrap();
                    map["schema_version"] = Value::from(version + 1);
                }
                map.values_mut().for_each(then);
            }
            Value::Array(items) => items.iter_mut().for_each(then),
            _ => {}
        }
    }
    let (mut now, mut recorded) = (now, recorded);
    today(&mut now);
    then(&mut recorded);
    (now, recorded)
}

#[tokio::test]
async fn a_release_0_2_0_database_is_upgraded_its_erasures_made_a_type_and_answers_as_that_release_did()
 {
    let (dir, db) = fixture_0_2_0_copy();
    let original = std::fs::read(&db).unwrap();
    // What release 0.2.0 left behind after erasing Ana.
    for needle in ["ana.erased@example.org", ANAS_TYPED, BOS_TYPED] {
        assert!(holds(&db, needle), "the old file holds {needle:?}");
    }

    let before = verify(&db, |_, _| {}).unwrap();
    assert_eq!(before.events, 209);
    assert_eq!(
        std::fs::read(&db).unwrap(),
        original,
        "verify changes nothing"
    );

    let clock = Arc::new(FixedClock::new(ts(FIXTURE_0_2_0_NOW)));
    let app = TestApp::spawn_on(db.clone(), clock, credentials_of(&release_dir("0.2.0"))).await;
    assert_eq!(
        std::fs::read(dir.path().join("rollbook.redb.format2.backup")).unwrap(),
        original,
        "the backup is the old file, byte for byte"
    );

    let recorded: BTreeMap<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(release_dir("0.2.0").join("answers.json")).unwrap(),
    )
    .unwrap();
    let now = answers(&app).await;
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        recorded.keys().collect::<Vec<_>>(),
        "the same cohorts and learners"
    );
    for (path, answer) in &recorded {
        let (now, then) = comparable(now[path].clone(), answer.clone());
        assert_eq!(now, then, "{path}");
    }

    // Pages: Ana's reasons erased, Bo's look-alike reason the text it is.
    let page = app
        .get(&format!("/cohorts/{COHORT_A}/history"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("(erased)") && page.contains(BOS_TYPED),
        "{page}"
    );

    // The idempotency records were filed under the account that sent them: staff's retry
    // answers the first outcome; the same key from another account is another key (a new
    // command, refused: Ana is no longer enrolled).
    let withdraw = |client: reqwest::Client| {
        let url = app.url(&format!("/api/v1/cohorts/{COHORT_A}/withdrawals"));
        async move {
            let response = client
                .post(url)
                .header("Idempotency-Key", "withdraw-ana.erased@example.org")
                .json(&serde_json::json!({"learner": "ana.erased@example.org",
                    "reason_code": "personal", "reason": "Ana moved to Lisbon with her family"}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let credentials = credentials_of(&release_dir("0.2.0"));
    let as_role = |role: Role| {
        let mut headers = reqwest::header::HeaderMap::new();
        let bearer = format!("Bearer {}", credentials.token(role));
        headers.insert(reqwest::header::AUTHORIZATION, bearer.parse().unwrap());
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    };
    let (status, body) = withdraw(as_role(Role::Staff)).await;
    assert_eq!(
        (status, &body["position"]),
        (200, &Value::from(205)),
        "{body}"
    );
    let (status, body) = withdraw(as_role(Role::Admin)).await;
    assert_eq!(status, 422, "{body}");
    app.stop().await;

    // The upgraded file holds neither Ana's email (the keys) nor her typed reason; Bo's stays.
    for needle in ["ana.erased@example.org", ANAS_TYPED, "Lisbon"] {
        assert!(!holds(&db, needle), "the upgraded file holds {needle:?}");
    }
    assert!(holds(&db, BOS_TYPED));
    // The same history: it verifies with the head the upgraded scratch copy had.
    let after = verify(&db, |_, _| {}).unwrap();
    assert_eq!(
        (after.events, after.chain_head),
        (before.events, before.chain_head)
    );
}

#[test]
fn a_release_0_2_0_database_with_a_broken_chain_is_refused_and_left_as_it_was() {
    let (_dir, db) = fixture_0_2_0_copy();
    {
        // Bo's reason, changed behind rollbook's back (format 2: link ‖ envelope).
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
                .find(|(_, v)| {
                    v.windows(BOS_TYPED.len())
                        .any(|w| w == BOS_TYPED.as_bytes())
                })
                .expect("Bo's withdrawal");
            let at = bytes
                .windows(3)
                .position(|w| w == b"Bo\"")
                .unwrap_or_else(|| {
                    bytes
                        .windows(2)
                        .position(|w| w == b"Bo")
                        .expect("Bo in the reason")
                });
            bytes[at] = b'X';
            events.insert(position, bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let tampered = rows(&db);
    let error = Store::open(&db, &StoreOptions::default())
        .err()
        .expect("refused");
    assert!(
        matches!(error, StoreError::UpgradeRefused { from: 2, to: 3, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("the hash chain is broken at position 206"),
        "{error}"
    );
    // Still format 2: its events as they were, the idempotency keys as that release kept them.
    assert_eq!(rows(&db), tampered, "left as it was");
    let file = redb::Database::create(&db).unwrap();
    let txn = file.begin_read().unwrap();
    let format = txn.open_table(META).unwrap();
    assert_eq!(format.get("format_version").unwrap().unwrap().value(), 2);
    let commands = txn.open_table(COMMANDS_V2).unwrap();
    assert!(
        commands
            .get("withdraw-ana.erased@example.org")
            .unwrap()
            .is_some()
    );
}

/// Format 2's idempotency records: the key as sent → record.
const COMMANDS_V2: TableDefinition<&str, &[u8]> = TableDefinition::new("commands");

/// Every row of the `events` table.
fn rows(db: &Path) -> Vec<(u64, Vec<u8>)> {
    let file = redb::Database::create(db).unwrap();
    let txn = file.begin_read().unwrap();
    txn.open_table(EVENTS_V1)
        .unwrap()
        .iter()
        .unwrap()
        .map(|row| {
            let (k, v) = row.unwrap();
            (k.value(), v.value().to_vec())
        })
        .collect()
}

/// An export written by release 0.2.0 shows an erased learner's reasons as `sha256:…` text
/// (the one its erasure skipped as typed): its import stores them as erased notes, as the
/// format upgrade does — the same history, with the upgraded file's chain head.
#[test]
fn a_release_0_2_0_export_imports_with_the_erased_learners_reasons_erased() {
    let dir = tempfile::tempdir().unwrap();
    let export = release_dir("0.2.0").join("export.jsonl");
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(text.contains(ANAS_TYPED) && text.contains(BOS_TYPED));
    let imported = dir.path().join("imported.redb");
    rollbook::transfer::import(&export, &imported, |_, _| {}).expect("imports and verifies");
    assert!(
        !holds(&imported, ANAS_TYPED),
        "Ana's typed reason is erased"
    );
    assert!(holds(&imported, BOS_TYPED), "Bo's stays text");

    let (_fixture_dir, upgraded) = fixture_0_2_0_copy();
    drop(Store::open(&upgraded, &StoreOptions::default()).unwrap());
    let (a, b) = (
        verify(&imported, |_, _| {}).unwrap(),
        verify(&upgraded, |_, _| {}).unwrap(),
    );
    assert_eq!((a.events, a.chain_head), (b.events, b.chain_head));

    let mut lines = Vec::new();
    rollbook::transfer::export(&imported, &mut lines, Path::new("memory"), |_, _| {}).unwrap();
    let lines = String::from_utf8(lines).unwrap();
    assert_eq!(
        lines.matches("\"reason_erased\":true").count(),
        2,
        "{lines}"
    );
    assert!(!lines.contains("sha256:typed by staff, Ana"));
}

/// After the upgrade, Bo's withdrawal is still stored at schema 2 (text). Erasing Bo rewrites it
/// at schema 3 as an erased note, and the chain head stays what it was: the digest of an event
/// with a note does not depend on the schema it is stored at, nor on whether it is erased.
#[test]
fn erasing_a_reason_stored_at_an_older_schema_keeps_the_chain_head() {
    let (_dir, db) = fixture_0_2_0_copy();
    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    let bos = |store: &Store| {
        store
            .read()
            .unwrap()
            .events_after(0, 1000)
            .unwrap()
            .into_iter()
            .find(|e| e.position == 206)
            .unwrap()
    };
    let before = bos(&store);
    assert_eq!(before.schema_version, 2);
    assert_eq!(
        before.event.note().and_then(rollbook::domain::Note::text),
        Some(BOS_TYPED)
    );
    drop(store);
    let head = verify(&db, |_, _| {}).unwrap().chain_head;

    let store = Store::open(&db, &StoreOptions::default()).unwrap();
    let record = rollbook::store::ErasureRecord {
        erased_at: ts(FIXTURE_0_2_0_NOW),
        actor: rollbook::store::Actor::local(),
    };
    let erased = store
        .erase_learner("bo.kept@example.org", &record)
        .unwrap()
        .expect("Bo is filed");
    assert_eq!(erased.events_rewritten, 1);
    let after = bos(&store);
    assert_eq!(after.schema_version, 3);
    assert!(
        after
            .event
            .note()
            .is_some_and(rollbook::domain::Note::is_erased)
    );
    drop(store);
    assert_eq!(verify(&db, |_, _| {}).unwrap().chain_head, head);
}
