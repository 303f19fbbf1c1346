//! Stored bytes: the fuzzer's bytes become one stored envelope or one snapshot of a small real
//! rollbook database held in memory, which is then opened and read through the public
//! [`Store`] API, so they reach the codec's `decode_envelope` and `decode_snapshot` exactly as
//! a corrupt or hostile file would. (The codec module itself is private to the store.)
//!
//! The tables are written by name: their names and key/value types are the file format, frozen
//! like the bytes in them (see `src/store/tables.rs`).

use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use jiff::Timestamp;
use redb::{Database, StorageBackend, TableDefinition};
use rollbook::domain::{Capacity, Cohort, CohortCreated, CohortId, Event, LearnerId, ReasonCode};
use rollbook::store::{
    Actor, Batch, CommandMeta, SNAPSHOT_SCHEMA_VERSION, Store, StoreOptions, StreamAppend,
};
use uuid::Uuid;

/// Global position → codec id byte + encoded envelope.
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// (cohort, stream version) → (snapshot schema version, bytes).
const SNAPSHOTS: TableDefinition<(Uuid, u64), (u16, &[u8])> = TableDefinition::new("snapshots");

/// The cohort of the template database.
const COHORT: CohortId = CohortId(Uuid::from_u128(0xF0_22));
/// The position whose envelope the fuzzer replaces (a `student.enrolled` in the template).
const FUZZED_POSITION: u64 = 2;
/// The stream version whose snapshot the fuzzer replaces; events follow it, so the decoded
/// snapshot also has the stream's tail applied to it.
const SNAPSHOT_VERSION: u64 = 3;

/// Replaces one stored event of a valid database with `data`, then opens the database and
/// reads the events back every way the store offers. Decoding must fail cleanly or succeed.
pub fn envelope(data: &[u8]) {
    let image = with_value(|db| {
        let txn = db.begin_write()?;
        txn.open_table(EVENTS)?.insert(FUZZED_POSITION, data)?;
        txn.commit()?;
        Ok(())
    });
    let Some(store) = open(image) else { return };
    let Ok(reader) = store.read() else { return };
    let after = reader.events_after(0, 16);
    let at = reader.events_at(&[FUZZED_POSITION]);
    let stream = reader.stream(COHORT, 1, u64::MAX);
    // What decodes must be the same whichever way it is read.
    if let (Ok(after), Ok(at)) = (&after, &at) {
        assert_eq!(
            after.get(usize::try_from(FUZZED_POSITION - 1).unwrap()),
            at.first(),
            "events_after and events_at disagree"
        );
    }
    if let (Ok(after), Ok(stream)) = (&after, &stream) {
        assert_eq!(after, stream, "events_after and stream disagree");
    }
    let _ = reader.load_cohort(COHORT);
    let mut count = 0;
    let _ = reader.for_each_event(|_| count += 1);
}

/// Replaces the stored snapshot of a valid database with `data`, then loads the cohort: from
/// the snapshot plus the events after it when it decodes, by replaying the stream when not.
pub fn snapshot(data: &[u8]) {
    let image = with_value(|db| {
        let txn = db.begin_write()?;
        txn.open_table(SNAPSHOTS)?.insert(
            (COHORT.0, SNAPSHOT_VERSION),
            (SNAPSHOT_SCHEMA_VERSION, data),
        )?;
        txn.commit()?;
        Ok(())
    });
    let Some(store) = open(image) else { return };
    let Ok(reader) = store.read() else { return };
    if let Ok(Some(loaded)) = reader.load_cohort(COHORT) {
        assert_eq!(loaded.version, template_events().len() as u64);
        if loaded.snapshot_unreadable {
            // Fell back to replaying the stream: the state is the template's own.
            let replayed = Cohort::replay(COHORT, &template_events());
            assert_eq!(Some(loaded.state), replayed, "replay after a bad snapshot");
        }
    }
}

/// A copy of the template database with one value changed by `write`.
fn with_value(write: impl FnOnce(&Database) -> Result<(), redb::Error>) -> SharedImage {
    let image = SharedImage::new(template().clone());
    let db = Database::builder()
        .create_with_backend(image.clone())
        .expect("the template database opens");
    write(&db).expect("the fuzzed value is written");
    drop(db);
    image
}

fn open(image: SharedImage) -> Option<Store> {
    Store::open_with_backend(image, Path::new("fuzz.redb"), false, &options()).ok()
}

fn options() -> StoreOptions {
    StoreOptions {
        cache_size: 1 << 20,
    }
}

/// The template's stream: created (2 seats), enrolled, enrolled, waitlisted, withdrawn and
/// promoted.
fn template_events() -> Vec<Event> {
    let learner = |n: u128| LearnerId(Uuid::from_u128(n));
    let at = |s: &str| -> Timestamp { s.parse().expect("valid instant") };
    vec![
        Event::CohortCreated(CohortCreated {
            name: "Fuzzing in practice".to_owned(),
            course: "SEC-101".to_owned(),
            instructor: "Ada".to_owned(),
            capacity: Capacity::new(2).expect("valid capacity"),
            starts_at: at("2026-03-15T09:00:00Z"),
            enrollment_deadline: at("2026-03-10T00:00:00Z"),
            withdrawal_deadline: at("2026-03-20T00:00:00Z"),
            ends_at: None,
        }),
        Event::StudentEnrolled {
            learner: learner(1),
        },
        Event::StudentEnrolled {
            learner: learner(2),
        },
        Event::StudentWaitlisted {
            learner: learner(3),
            position: 1,
        },
        Event::StudentWithdrawn {
            learner: learner(1),
            reason_code: ReasonCode::Personal,
            reason: "moved".into(),
        },
        Event::WaitlistPromoted {
            learner: learner(3),
        },
    ]
}

/// The bytes of a valid database holding [`template_events`] and a snapshot at
/// [`SNAPSHOT_VERSION`], built once.
fn template() -> &'static Vec<u8> {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let image = SharedImage::new(Vec::new());
        let store =
            Store::open_with_backend(image.clone(), Path::new("fuzz.redb"), true, &options())
                .expect("a fresh store opens");
        let events = template_events();
        let snapshot = Cohort::replay(
            COHORT,
            &events[..usize::try_from(SNAPSHOT_VERSION).unwrap()],
        )
        .expect("the template stream starts with its creation");
        let batch = Batch {
            appends: vec![StreamAppend {
                cohort: COHORT,
                expected_version: 0,
                events,
                occurred_at: "2026-03-01T09:00:00Z".parse().expect("valid instant"),
                meta: CommandMeta {
                    actor: Actor::local(),
                    command_id: Uuid::from_u128(1),
                    correlation_id: Uuid::from_u128(1),
                    causation_id: Uuid::from_u128(1),
                },
                idempotency: None,
            }],
            snapshots: vec![(COHORT, SNAPSHOT_VERSION, snapshot)],
            ..Batch::default()
        };
        store
            .commit(
                &batch,
                "2026-03-01T09:00:00Z".parse().expect("valid instant"),
            )
            .expect("the template commits");
        drop(store);
        image.bytes()
    })
}

/// In-memory storage that several databases, one after the other, can open: redb's own
/// in-memory backend is consumed by the database that opens it.
#[derive(Clone, Debug)]
struct SharedImage(Arc<RwLock<Vec<u8>>>);

impl SharedImage {
    fn new(bytes: Vec<u8>) -> Self {
        Self(Arc::new(RwLock::new(bytes)))
    }

    fn bytes(&self) -> Vec<u8> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn out_of_range() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "offset out of range")
}

impl StorageBackend for SharedImage {
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.read().unwrap_or_else(PoisonError::into_inner).len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let bytes = self.0.read().unwrap_or_else(PoisonError::into_inner);
        let start = usize::try_from(offset).map_err(|_| out_of_range())?;
        let source = bytes
            .get(start..start + out.len())
            .ok_or_else(out_of_range)?;
        out.copy_from_slice(source);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| out_of_range())?;
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .resize(len, 0);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut bytes = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let start = usize::try_from(offset).map_err(|_| out_of_range())?;
        bytes
            .get_mut(start..start + data.len())
            .ok_or_else(out_of_range)?
            .copy_from_slice(data);
        Ok(())
    }
}
