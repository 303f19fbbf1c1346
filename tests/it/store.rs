//! The event store and the writer core, without HTTP: version checks, idempotency, reopening,
//! snapshots, and refusing files that are not rollbook databases.

use std::path::Path;
use std::sync::Arc;

use redb::{ReadableTable as _, TableDefinition};
use rollbook::clock::FixedClock;
use rollbook::domain::{Capacity, Cohort, CohortId, Event, NewCohort};
use rollbook::learner_key::LearnerKey;
use rollbook::store::{Actor, Batch, CommandMeta, Store, StoreError, StoreOptions, StreamAppend};
use rollbook::writer::{CommandError, Committed, Request, Submission, Writer, WriterOptions};
use uuid::Uuid;

use crate::helpers::*;

fn open(path: &Path) -> Arc<Store> {
    Arc::new(Store::open(path, &StoreOptions::default()).expect("store opens"))
}

fn writer(store: &Arc<Store>, snapshot_every: u64) -> Writer {
    let options = WriterOptions {
        snapshot_every,
        ..WriterOptions::default()
    };
    Writer::new(store.clone(), Arc::new(FixedClock::new(ts(NOW))), options)
}

fn new_cohort(capacity: u64) -> NewCohort {
    NewCohort {
        name: "Store test".to_owned(),
        course: "ST-1".to_owned(),
        instructor: "Ada".to_owned(),
        capacity: Capacity::new(capacity).unwrap(),
        starts_at: ts(STARTS_AT),
        enrollment_deadline: ts(ENROLLMENT_DEADLINE),
        withdrawal_deadline: ts(WITHDRAWAL_DEADLINE),
        promotion: rollbook::domain::PromotionPolicy::Automatic,
        waitlist_cap: None,
        ends_at: None,
    }
}

fn submit(writer: &mut Writer, request: Request) -> Result<Committed, CommandError> {
    writer
        .process(vec![Submission::new(request, Actor::local())])
        .results
        .remove(0)
}

fn enroll(cohort: CohortId, key: &str) -> Request {
    Request::Enroll {
        cohort,
        learner: LearnerKey::parse(key).unwrap(),
        name: None,
    }
}

fn create(writer: &mut Writer, capacity: u64) -> CohortId {
    let cohort = CohortId(Uuid::now_v7());
    submit(
        writer,
        Request::Create {
            cohort,
            new: new_cohort(capacity),
        },
    )
    .expect("created");
    cohort
}

fn meta() -> CommandMeta {
    let id = Uuid::now_v7();
    CommandMeta {
        actor: Actor::local(),
        command_id: id,
        correlation_id: id,
        causation_id: id,
    }
}

#[test]
fn an_append_with_a_stale_expected_version_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("db.redb"));
    let mut w = writer(&store, 100);
    let cohort = create(&mut w, 3);

    let stale = Batch {
        appends: vec![StreamAppend {
            cohort,
            expected_version: 0,
            events: vec![Event::EnrollmentClosed],
            occurred_at: ts(NOW),
            meta: meta(),
            idempotency: None,
        }],
        ..Batch::default()
    };
    let error = store.commit(&stale, ts(NOW)).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::StreamConflict {
                expected: 0,
                actual: 1,
                ..
            }
        ),
        "{error}"
    );
    let reader = store.read().unwrap();
    assert_eq!(reader.head_position().unwrap(), 1);
    assert_eq!(reader.stream_version(cohort).unwrap(), 1);
}

#[test]
fn the_writer_checks_expected_versions_including_earlier_commands_of_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("db.redb"));
    let mut w = writer(&store, 100);
    let cohort = create(&mut w, 3);
    let with_version = |request, version| Submission {
        expected_version: Some(version),
        ..Submission::new(request, Actor::local())
    };
    let outcome = w.process(vec![
        with_version(enroll(cohort, "a"), 1),
        with_version(enroll(cohort, "b"), 1),
        with_version(enroll(cohort, "c"), 2),
    ]);
    assert!(outcome.results[0].is_ok());
    assert!(matches!(
        outcome.results[1],
        Err(CommandError::VersionConflict {
            expected: 1,
            actual: 2
        })
    ));
    assert_eq!(outcome.results[2].as_ref().unwrap().version, 3);
    assert_eq!(store.read().unwrap().head_position().unwrap(), 3);
}

#[test]
fn an_idempotency_key_answers_the_first_outcome_across_batches_and_within_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("db.redb"));
    let mut w = writer(&store, 100);
    let cohort = create(&mut w, 3);
    let keyed = |request, key: &str| Submission {
        idempotency_key: Some(key.to_owned()),
        ..Submission::new(request, Actor::local())
    };

    let first = w.process(vec![
        keyed(enroll(cohort, "a"), "k1"),
        keyed(enroll(cohort, "a"), "k1"),
    ]);
    let (one, two) = (
        first.results[0].as_ref().unwrap(),
        first.results[1].as_ref().unwrap(),
    );
    assert!(!one.replayed);
    assert!(two.replayed);
    assert_eq!(one.events, two.events);

    let later = submit(&mut w, enroll(cohort, "a"));
    assert!(
        matches!(later, Err(CommandError::Rejected(_))),
        "without the key, it is decided anew"
    );
    let again = w
        .process(vec![keyed(enroll(cohort, "a"), "k1")])
        .results
        .remove(0)
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.events, one.events);
    assert_eq!(again.version, 2);

    let other = w
        .process(vec![keyed(enroll(cohort, "b"), "k1")])
        .results
        .remove(0);
    assert!(matches!(other, Err(CommandError::IdempotencyKeyReused)));
    assert_eq!(store.read().unwrap().head_position().unwrap(), 2);
}

#[test]
fn events_and_the_directory_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let (cohort, before) = {
        let store = open(&path);
        let mut w = writer(&store, 100);
        let cohort = create(&mut w, 1);
        submit(&mut w, enroll(cohort, "ana@x.org")).unwrap();
        submit(&mut w, enroll(cohort, "ben@x.org")).unwrap();
        let before = store.read().unwrap().events_after(0, 100).unwrap();
        (cohort, before)
    };
    let store = open(&path);
    let reader = store.read().unwrap();
    assert_eq!(reader.events_after(0, 100).unwrap(), before);
    assert_eq!(reader.stream_version(cohort).unwrap(), 3);
    let (id, record) = reader.learner_by_key("ben@x.org").unwrap().expect("filed");
    assert_eq!(record.key, "ben@x.org");
    assert_eq!(
        before[2].event,
        Event::StudentWaitlisted {
            learner: id,
            position: 1
        }
    );
}

/// Replays a cohort's whole stream, ignoring snapshots.
fn full_replay(store: &Store, cohort: CohortId) -> Cohort {
    let events: Vec<Event> = store
        .read()
        .unwrap()
        .stream(cohort, 1, u64::MAX)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    Cohort::replay(cohort, &events).expect("cohort exists")
}

fn busy_cohort(w: &mut Writer) -> CohortId {
    let cohort = create(w, 2);
    for key in ["a", "b", "c", "d", "e"] {
        submit(w, enroll(cohort, key)).unwrap();
    }
    for key in ["a", "b"] {
        submit(
            w,
            Request::Withdraw {
                cohort,
                learner: LearnerKey::parse(key).unwrap(),
                reason_code: rollbook::domain::ReasonCode::Other,
                reason: String::new(),
            },
        )
        .unwrap();
    }
    cohort
}

#[test]
fn a_snapshot_plus_the_tail_equals_the_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("db.redb"));
    let mut w = writer(&store, 3);
    let cohort = busy_cohort(&mut w);
    let reader = store.read().unwrap();
    // created, 5 enrollments, 2 × (withdrawn + promoted) = 10 events: snapshots at 3, 6, 9.
    assert_eq!(reader.stream_version(cohort).unwrap(), 10);
    assert_eq!(reader.snapshot_versions(cohort).unwrap(), [3, 6, 9]);
    let loaded = reader.load_cohort(cohort).unwrap().unwrap();
    assert_eq!(loaded.version, 10);
    assert!(!loaded.snapshot_unreadable);
    assert_eq!(loaded.state, full_replay(&store, cohort));
}

const SNAPSHOTS: TableDefinition<(Uuid, u64), (u16, &[u8])> = TableDefinition::new("snapshots");

#[test]
fn undecodable_snapshots_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let cohort = {
        let store = open(&path);
        let mut w = writer(&store, 3);
        busy_cohort(&mut w)
    };
    {
        // Damage the two newest snapshots behind rollbook's back: garbage bytes, and a schema
        // version from the future.
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(SNAPSHOTS).unwrap();
            table
                .insert((cohort.0, 9), (1u16, &b"\x01garbage"[..]))
                .unwrap();
            let good = table
                .get((cohort.0, 6))
                .unwrap()
                .unwrap()
                .value()
                .1
                .to_vec();
            table
                .insert((cohort.0, 6), (99u16, good.as_slice()))
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let store = open(&path);
    let loaded = store.read().unwrap().load_cohort(cohort).unwrap().unwrap();
    assert_eq!(loaded.state, full_replay(&store, cohort));
    assert!(loaded.snapshot_unreadable);

    // The writer, loading through the damaged snapshots, still decides correctly, and rebuilds
    // the snapshot it could not read (at the version it loaded).
    let mut w = writer(&store, 3);
    let done = submit(&mut w, enroll(cohort, "f")).unwrap();
    assert_eq!(done.version, 11);
    assert!(matches!(
        done.events[0].event,
        Event::StudentWaitlisted { position: 2, .. }
    ));
    let reader = store.read().unwrap();
    assert_eq!(reader.snapshot_versions(cohort).unwrap(), [3, 6, 9, 10]);
    let reloaded = reader.load_cohort(cohort).unwrap().unwrap();
    assert!(
        !reloaded.snapshot_unreadable,
        "the fresh snapshot is the newest and reads"
    );
    assert_eq!(reloaded.state, full_replay(&store, cohort));
}

/// What a snapshot schema bump does to the snapshots already stored: every one of the old
/// schema is ignored (even when its bytes would still decode), the cohort is rebuilt from its
/// events, and the writer writes a snapshot of the current schema the next time it touches it.
#[test]
fn snapshots_of_an_older_schema_are_ignored_and_rewritten() {
    let older = rollbook::store::SNAPSHOT_SCHEMA_VERSION - 1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let cohort = {
        let store = open(&path);
        let mut w = writer(&store, 3);
        busy_cohort(&mut w)
    };
    {
        // Every stored snapshot relabelled as the schema before this one, bytes unchanged.
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(SNAPSHOTS).unwrap();
            let rows: Vec<((Uuid, u64), Vec<u8>)> = table
                .iter()
                .unwrap()
                .map(|row| {
                    let (key, value) = row.unwrap();
                    (key.value(), value.value().1.to_vec())
                })
                .collect();
            assert_eq!(rows.len(), 3);
            for (key, bytes) in rows {
                table.insert(key, (older, bytes.as_slice())).unwrap();
            }
        }
        txn.commit().unwrap();
    }
    let store = open(&path);
    let loaded = store.read().unwrap().load_cohort(cohort).unwrap().unwrap();
    assert!(loaded.snapshot_unreadable, "no stored snapshot is used");
    assert_eq!(loaded.state, full_replay(&store, cohort));
    // `verify` does not compare snapshots it would not use.
    drop(store);
    assert_eq!(
        rollbook::store::verify(&path, |_, _| {}).unwrap().events,
        10
    );

    let store = open(&path);
    let mut w = writer(&store, 3);
    let done = submit(&mut w, enroll(cohort, "f")).unwrap();
    assert_eq!(done.version, 11);
    let reader = store.read().unwrap();
    assert_eq!(reader.snapshot_versions(cohort).unwrap(), [3, 6, 9, 10]);
    let reloaded = reader.load_cohort(cohort).unwrap().unwrap();
    assert!(
        !reloaded.snapshot_unreadable,
        "the rewritten snapshot reads"
    );
    assert_eq!(reloaded.state, full_replay(&store, cohort));
    drop(reader);
    drop(w);
    drop(store);
    let db = redb::Database::create(&path).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
    let table = txn.open_table(SNAPSHOTS).unwrap();
    assert_eq!(
        table.get((cohort.0, 10)).unwrap().unwrap().value().0,
        rollbook::store::SNAPSHOT_SCHEMA_VERSION
    );
}

#[test]
fn a_file_that_is_not_a_rollbook_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let bytes = b"these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &bytes).unwrap();
    let error = Store::open(&path, &StoreOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(error, StoreError::NotRollbook { .. }), "{error}");
    assert!(error.to_string().contains("not a rollbook database"));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_redb_file_of_another_program_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let table: TableDefinition<&str, u64> = TableDefinition::new("inventory");
            txn.open_table(table).unwrap().insert("apples", 3).unwrap();
        }
        txn.commit().unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let error = Store::open(&path, &StoreOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(error, StoreError::NotRollbook { .. }), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_database_of_a_newer_format_is_refused_untouched_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.redb");
    drop(open(&path));
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
    let before = std::fs::read(&path).unwrap();
    let error = Store::open(&path, &StoreOptions::default())
        .err()
        .expect("refused");
    assert!(
        matches!(
            error,
            StoreError::NewerFormat {
                found: 99,
                supported: rollbook::store::STORE_FORMAT_VERSION,
                ..
            }
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("99")
            && message.contains(&format!("format {}", rollbook::store::STORE_FORMAT_VERSION)),
        "{message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_database_open_elsewhere_is_reported_as_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let _held = open(&path);
    let error = Store::open(&path, &StoreOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(error, StoreError::InUse { .. }), "{error}");
}

/// What a crash while rollbook first created its database leaves: a redb file with no tables.
/// It holds nothing, so it is initialised, not refused forever.
#[test]
fn a_redb_file_with_no_tables_at_all_is_initialised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half-made.redb");
    drop(redb::Database::create(&path).unwrap());
    let store = Store::open(&path, &StoreOptions::default()).expect("initialised");
    let mut w = writer(&Arc::new(store), 100);
    let cohort = create(&mut w, 2);
    submit(&mut w, enroll(cohort, "a")).unwrap();
}
