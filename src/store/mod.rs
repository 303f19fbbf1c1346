//! The event store on redb: events are the truth, snapshots a disposable cache.
//!
//! This module is the narrow interface the rest of rollbook sees: open a file, commit a batch
//! of appends in one durable transaction, and read (a range of positions, one stream, a
//! cohort's state from its newest snapshot plus the tail, idempotency records, the learner
//! directory). Every call blocks: callers keep it off async worker threads.
//!
//! Who may write depends on the handle held. The server's startup opens the [`Store`] and gives
//! it to the writer thread, the only code that appends, erases or rewrites the file; the
//! accounts get it as an [`AccountStore`] (account, token and session tables only); the web
//! layer gets a read-only [`History`]. Offline tools open an [`OfflineStore`], which holds the
//! file exclusively and writes only what they need; tools that only read open a
//! [`ReadOnlyStore`].

mod accounts;
pub mod chain;
mod codec;
mod copy;
mod copy_on_write;
mod envelope;
mod erasure;
mod error;
mod history;
mod mail;
mod offer_links;
mod offline;
mod read_only;
mod scan;
mod tables;
mod upgrade;
mod verify;
mod webhooks;

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use jiff::Timestamp;
use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableHandle,
};
use uuid::Uuid;

pub use accounts::{AccountStore, AccountsSnapshot};
/// For the benchmark suite's `SQLite` peer, which decodes the very bytes rollbook stores.
#[doc(hidden)]
pub use codec::decode_envelope;
pub use codec::{
    AccountRecord, CODEC_BINCODE2, CodecError, CommandOutcome, CommandRecord, EVENT_SCHEMA_VERSION,
    ErasureRecord, JournalEntry, LearnerRecord, MAX_VALUE_BYTES, MailLogRecord, MailOutcome,
    SNAPSHOT_SCHEMA_VERSION, SessionRecord, TokenRecord, WebhookRecord, event_schema_version,
};
pub use copy::{CopyInfo, show_head};
pub use envelope::{Actor, CommandMeta, Envelope};
pub use erasure::{Erasure, ErasureError};
pub use error::StoreError;
pub use history::{History, ReadableStore};
pub use mail::{MailMark, MailStore};
pub use offer_links::{OfferLinkStore, UsedOfferLink};
pub use offline::OfflineStore;
pub use read_only::ReadOnlyStore;
pub use scan::{ScanSummary, scan};
pub use upgrade::file_sha256;
pub use verify::{VerifyError, VerifyReport, verify};
pub use webhooks::{StoredWebhook, WebhookStore};

use crate::domain::{Cohort, CohortId, Event, LearnerId};
pub use tables::idempotency_key;
use tables::{
    ACCOUNTS, COMMANDS, DIRECTORY, ERASURES, EVENTS, JOURNAL, MAIL_DONE, MAIL_FAILURES, MAIL_LOG,
    MAIL_REMINDERS, MAIL_STATE, META, META_FORMAT_VERSION, OFFER_LINK_KEY, OFFER_LINKS_USED,
    SESSIONS, SNAPSHOTS, STREAM_INDEX, TOKENS, WEBHOOK_POSITIONS, WEBHOOKS,
};

/// The store format this build writes and the newest it reads. Older formats are upgraded in
/// place when opened for writing, after a verified backup (see `upgrade`).
pub const STORE_FORMAT_VERSION: u64 = 3;

/// The first bytes of every redb file.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// Tunables of the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// redb's page cache, in bytes. redb's default (1 GiB) grows RSS on full scans: a
    /// replay would leave about 150 MB of event pages cached per million events. 8 MiB holds
    /// the B-trees' upper levels (about 4 MB of branch pages at a million events) and the
    /// pages appends touch; scans and appends run as fast as with more (pages outside it come
    /// from the OS page cache).
    pub cache_size: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_size: 8 << 20,
        }
    }
}

/// An open rollbook database.
pub struct Store {
    /// redb's page cache for the file (kept for [`Store::rewrite_file`]).
    cache_size: usize,
    /// Swapped whole only by [`Store::rewrite_file`]; every write transaction holds the read
    /// guard from begin to commit, so none can land in a file being replaced.
    db: RwLock<Database>,
    path: PathBuf,
}

/// A cohort loaded for deciding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedCohort {
    /// Its current state.
    pub state: Cohort,
    /// Its stream's head version.
    pub version: u64,
    /// A snapshot newer than the one used could not be read: write a fresh one.
    pub snapshot_unreadable: bool,
}

/// One command's events, to be appended to its cohort's stream.
#[derive(Clone, Debug)]
pub struct StreamAppend {
    /// The stream.
    pub cohort: CohortId,
    /// The stream's version before these events (0 for a new stream).
    pub expected_version: u64,
    /// The events, in order.
    pub events: Vec<Event>,
    /// When the command was decided.
    pub occurred_at: Timestamp,
    /// Who, and the command's ids.
    pub meta: CommandMeta,
    /// Idempotency key as filed ([`idempotency_key`]: hashed with the acting account) and
    /// request fingerprint, remembered with the outcome.
    pub idempotency: Option<([u8; 32], String)>,
}

/// Everything one write transaction stores.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Appends, in decision order.
    pub appends: Vec<StreamAppend>,
    /// Learner directory entries to insert or update.
    pub learners: Vec<(LearnerId, LearnerRecord)>,
    /// Snapshots to keep: (cohort, stream version, state at that version).
    pub snapshots: Vec<(CohortId, u64, Cohort)>,
    /// Idempotency keys of commands the rules refused, with their records.
    pub rejections: Vec<([u8; 32], CommandRecord)>,
    /// Refused commands for the journal, with the ids the writer gave them.
    pub journal: Vec<(u64, JournalEntry)>,
    /// The schema version to store each event of each append at, when not the current one of
    /// its type: an import keeps the versions it was given (empty: current, for every append).
    pub schema_versions: Vec<Vec<u16>>,
}

impl Batch {
    /// Whether committing it would store nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.appends.is_empty()
            && self.learners.is_empty()
            && self.snapshots.is_empty()
            && self.rejections.is_empty()
            && self.journal.is_empty()
    }
}

impl Store {
    /// Opens the database at `path`, creating it when the file is missing or empty. A file that
    /// is not a rollbook database, or of a newer store format, is refused and left untouched.
    ///
    /// A file of an older store format is first copied to a verified backup beside it (named
    /// after its format), then upgraded in place in one transaction; both are logged.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        let fresh = is_missing_or_empty(path)?;
        let mut backup = None;
        if !fresh
            && let Some(found) = precheck_existing(path, options)?
            && found < STORE_FORMAT_VERSION
        {
            // The precheck ran in the condition, for every existing file.
            let copy = upgrade::backup_before(path, found, options)?;
            tracing::info!(
                path = %path.display(),
                from = found,
                to = STORE_FORMAT_VERSION,
                backup = %copy.display(),
                "upgrading the store format; a verified backup of the old file was written first"
            );
            backup = Some(copy);
        }
        let mut builder = Database::builder();
        builder.set_cache_size(options.cache_size);
        let db = if fresh && !path.exists() {
            create_private(&builder, path)?
        } else {
            builder
                .create(path)
                .map_err(|source| open_error(path, source))?
        };
        let store = Self {
            cache_size: options.cache_size,
            db: RwLock::new(db),
            path: path.to_owned(),
        };
        store.initialise(fresh)?;
        if let Some(backup) = backup {
            // The upgrade erased what the old format kept (a reason of an erased learner that
            // its erasure skipped, idempotency keys as sent): the pages that held them are only
            // freed, so the file is rewritten from its live data, as after an erasure.
            store.rewrite_file()?;
            tracing::info!(
                path = %path.display(),
                format = STORE_FORMAT_VERSION,
                backup = %backup.display(),
                "store format upgraded; keep the backup until you no longer need to go back"
            );
        }
        Ok(store)
    }

    /// Opens (or creates, when `fresh`) a store over any redb storage backend: for tests that
    /// simulate power loss or failing storage. `label` stands in for the file name in messages.
    pub fn open_with_backend(
        backend: impl redb::StorageBackend,
        label: &Path,
        fresh: bool,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(options.cache_size)
            .create_with_backend(backend)
            .map_err(|source| open_error(label, source))?;
        let store = Self {
            cache_size: options.cache_size,
            db: RwLock::new(db),
            path: label.to_owned(),
        };
        store.initialise(fresh)?;
        Ok(store)
    }

    /// The file this store was opened from.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the tables and format version of a new database, or checks an existing one
    /// (again, after a repair the precheck could not look behind) and upgrades an older format.
    fn initialise(&self, fresh: bool) -> Result<(), StoreError> {
        let db = self.database();
        if !fresh {
            let txn = db.begin_read()?;
            match check_format(&txn, &self.path)? {
                Some(found) if found < STORE_FORMAT_VERSION => {
                    drop(txn);
                    return upgrade::migrate(&db, found, &self.path);
                }
                Some(_) => {
                    // A database that has every table is not written to.
                    let present: Vec<String> =
                        txn.list_tables()?.map(|t| t.name().to_owned()).collect();
                    if table_names().iter().all(|t| present.contains(t)) {
                        return Ok(());
                    }
                }
                None => {}
            }
        }
        let txn = db.begin_write()?;
        create_tables(&txn)?;
        txn.commit()?;
        Ok(())
    }

    /// The open database. Hold the guard across a whole write transaction.
    fn database(&self) -> RwLockReadGuard<'_, Database> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// A consistent view of the store as of now (an MVCC snapshot).
    pub fn read(&self) -> Result<Reader, StoreError> {
        Ok(Reader {
            txn: self.database().begin_read()?,
        })
    }

    /// Appends a whole batch in one write transaction with a durable commit, and returns the
    /// stored envelopes of each append, in order. Nothing is stored if anything fails.
    pub fn commit(
        &self,
        batch: &Batch,
        recorded_at: Timestamp,
    ) -> Result<Vec<Vec<Envelope>>, StoreError> {
        // The acknowledgement of every command depends on the data being on disk when `commit`
        // returns: said here rather than left to redb's default.
        self.commit_with(batch, recorded_at, Durability::Immediate)
    }

    /// [`Store::commit`] without waiting for the disk: for filling a new file that is made
    /// durable with [`Store::sync`] and checked before anyone uses it (an import, through
    /// [`OfflineStore`] only).
    fn commit_unsynced(
        &self,
        batch: &Batch,
        recorded_at: Timestamp,
    ) -> Result<Vec<Vec<Envelope>>, StoreError> {
        self.commit_with(batch, recorded_at, Durability::None)
    }

    /// Makes every earlier commit durable (for [`OfflineStore`] only).
    fn sync(&self) -> Result<(), StoreError> {
        let db = self.database();
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.commit()?;
        Ok(())
    }

    fn commit_with(
        &self,
        batch: &Batch,
        recorded_at: Timestamp,
        durability: Durability,
    ) -> Result<Vec<Vec<Envelope>>, StoreError> {
        let db = self.database();
        let mut txn = db.begin_write()?;
        txn.set_durability(durability)?;
        let mut committed = Vec::with_capacity(batch.appends.len());
        {
            // Tables a batch does not need are not opened: each one written costs its pages in
            // the commit.
            let mut events = txn.open_table(EVENTS)?;
            let mut index = txn.open_table(STREAM_INDEX)?;
            let mut commands = if batch.rejections.is_empty()
                && batch.appends.iter().all(|a| a.idempotency.is_none())
            {
                None
            } else {
                Some(txn.open_table(COMMANDS)?)
            };

            if !batch.learners.is_empty() {
                let mut directory = txn.open_table(DIRECTORY)?;
                for (id, record) in &batch.learners {
                    let bytes = codec::encode_learner(record).map_err(StoreError::Encode)?;
                    directory.insert(
                        record.key.as_str(),
                        tables::directory_value(id.0, &bytes).as_slice(),
                    )?;
                }
            }

            let (mut position, mut previous) = match events.last()? {
                Some((key, value)) => (key.value(), link_at(key.value(), value.value())?),
                None => (0, chain::GENESIS),
            };
            // Where the command of the append under way began: a command appending to two
            // streams (a transfer) is two adjacent appends sharing a command id, and its
            // idempotency record (on its last append) spans both.
            let mut command_start: Option<(uuid::Uuid, u64)> = None;
            for (nth_append, append) in batch.appends.iter().enumerate() {
                let versions = batch.schema_versions.get(nth_append);
                let command_first = match command_start {
                    Some((id, first)) if id == append.meta.command_id => first,
                    _ => position + 1,
                };
                command_start = Some((append.meta.command_id, command_first));
                let stream = append.cohort.0;
                let actual = head_version(&index, stream)?;
                if actual != append.expected_version {
                    return Err(StoreError::StreamConflict {
                        cohort: append.cohort,
                        expected: append.expected_version,
                        actual,
                    });
                }
                let mut version = actual;
                let mut envelopes = Vec::with_capacity(append.events.len());
                for (nth, event) in append.events.iter().enumerate() {
                    position += 1;
                    version += 1;
                    let envelope = Envelope {
                        position,
                        cohort: append.cohort,
                        version,
                        schema_version: versions
                            .and_then(|v| v.get(nth).copied())
                            .unwrap_or_else(|| codec::event_schema_version(event)),
                        event: event.clone(),
                        occurred_at: append.occurred_at,
                        recorded_at,
                        meta: append.meta.clone(),
                    };
                    let bytes = codec::encode_envelope(&envelope).map_err(StoreError::Encode)?;
                    let digest = chain::digest(&envelope).map_err(StoreError::Encode)?;
                    previous = chain::link(&previous, position, &digest);
                    events.insert(position, tables::event_value(&previous, &bytes).as_slice())?;
                    index.insert((stream, version), position)?;
                    envelopes.push(envelope);
                }
                if let (Some((key, fingerprint)), Some(last)) =
                    (&append.idempotency, envelopes.last())
                {
                    let record = CommandRecord {
                        fingerprint: fingerprint.clone(),
                        recorded_at,
                        outcome: CommandOutcome::Committed {
                            cohort: append.cohort,
                            version,
                            first_position: command_first,
                            last_position: last.position,
                        },
                    };
                    let bytes =
                        codec::encode_command_record(&record).map_err(StoreError::Encode)?;
                    if let Some(commands) = commands.as_mut() {
                        commands.insert(key, bytes.as_slice())?;
                    }
                }
                committed.push(envelopes);
            }
            if let Some(commands) = commands.as_mut() {
                for (key, record) in &batch.rejections {
                    let bytes = codec::encode_command_record(record).map_err(StoreError::Encode)?;
                    commands.insert(key, bytes.as_slice())?;
                }
            }
        }
        write_journal_and_snapshots(&txn, batch)?;
        txn.commit()?;
        Ok(committed)
    }
}

impl Store {
    /// Deletes journal entries recorded before `cutoff`; returns how many.
    pub fn prune_journal(&self, cutoff: Timestamp) -> Result<usize, StoreError> {
        let stale: Vec<u64> = self
            .read()?
            .journal()?
            .into_iter()
            .take_while(|(_, e)| e.at < cutoff)
            .map(|(id, _)| id)
            .collect();
        if stale.is_empty() {
            return Ok(0);
        }
        let db = self.database();
        let txn = db.begin_write()?;
        {
            let mut table = txn.open_table(JOURNAL)?;
            for id in &stale {
                table.remove(*id)?;
            }
        }
        txn.commit()?;
        Ok(stale.len())
    }
}

/// A read transaction with typed accessors. Holding one pins the pages it sees: keep it short.
pub struct Reader {
    pub(crate) txn: ReadTransaction,
}

impl Reader {
    /// The position of the newest event (0 when empty).
    pub fn head_position(&self) -> Result<u64, StoreError> {
        let events = self.txn.open_table(EVENTS)?;
        Ok(events.last()?.map_or(0, |(k, _)| k.value()))
    }

    /// The number of events stored.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(EVENTS)?.len()?)
    }

    /// Up to `limit` events after position `after`, in order.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Envelope>, StoreError> {
        let events = self.txn.open_table(EVENTS)?;
        let mut out = Vec::with_capacity(limit.min(1024));
        for row in events.range(after.saturating_add(1)..)?.take(limit) {
            let (key, value) = row?;
            out.push(decode_at(key.value(), value.value())?);
        }
        Ok(out)
    }

    /// Calls `f` with every event in position order: the startup replay.
    pub fn for_each_event(&self, mut f: impl FnMut(Envelope)) -> Result<(), StoreError> {
        let events = self.txn.open_table(EVENTS)?;
        for row in events.iter()? {
            let (key, value) = row?;
            f(decode_at(key.value(), value.value())?);
        }
        Ok(())
    }

    /// The events at the given positions, in the order given (missing positions skipped).
    pub fn events_at(&self, positions: &[u64]) -> Result<Vec<Envelope>, StoreError> {
        let events = self.txn.open_table(EVENTS)?;
        let mut out = Vec::with_capacity(positions.len());
        for &position in positions {
            if let Some(value) = events.get(position)? {
                out.push(decode_at(position, value.value())?);
            }
        }
        Ok(out)
    }

    /// The head version of a cohort's stream (0 when it does not exist).
    pub fn stream_version(&self, cohort: CohortId) -> Result<u64, StoreError> {
        head_version(&self.txn.open_table(STREAM_INDEX)?, cohort.0)
    }

    /// A cohort's events from stream version `from_version` on, stopping after global position
    /// `up_to` (inclusive).
    pub fn stream(
        &self,
        cohort: CohortId,
        from_version: u64,
        up_to: u64,
    ) -> Result<Vec<Envelope>, StoreError> {
        let index = self.txn.open_table(STREAM_INDEX)?;
        let events = self.txn.open_table(EVENTS)?;
        let mut out = Vec::new();
        for row in index.range((cohort.0, from_version.max(1))..=(cohort.0, u64::MAX))? {
            let (_, position) = row?;
            let position = position.value();
            if position > up_to {
                break;
            }
            let value = events.get(position)?.ok_or_else(|| StoreError::Corrupt {
                what: format!("stream {cohort}"),
                source: CodecError::Empty,
            })?;
            out.push(decode_at(position, value.value())?);
        }
        Ok(out)
    }

    /// A cohort's current state and version, from its newest readable snapshot plus the events
    /// after it (or the whole stream when no snapshot reads). `None` when it does not exist.
    pub fn load_cohort(&self, cohort: CohortId) -> Result<Option<LoadedCohort>, StoreError> {
        let head = self.stream_version(cohort)?;
        if head == 0 {
            return Ok(None);
        }
        let (snapshot, unreadable) = self.newest_snapshot(cohort, head)?;
        let (mut state, from) = match snapshot {
            Some((state, version)) => (Some(state), version),
            None => (None, 0),
        };
        let tail = self.stream(cohort, from + 1, u64::MAX)?;
        for envelope in &tail {
            match (&mut state, &envelope.event) {
                (None, Event::CohortCreated(data)) => state = Some(Cohort::created(cohort, data)),
                (Some(s), event) => s.apply(event),
                (None, _) => {}
            }
        }
        Ok(state.map(|state| LoadedCohort {
            state,
            version: head,
            snapshot_unreadable: unreadable,
        }))
    }

    /// The newest snapshot at or before `version` that decodes, and whether a newer one did
    /// not (it is a cache: the caller rebuilds it).
    fn newest_snapshot(
        &self,
        cohort: CohortId,
        version: u64,
    ) -> Result<(Option<(Cohort, u64)>, bool), StoreError> {
        let snapshots = self.txn.open_table(SNAPSHOTS)?;
        let mut unreadable = false;
        for row in snapshots.range((cohort.0, 0)..=(cohort.0, version))?.rev() {
            let (key, value) = row?;
            let (_, snap_version) = key.value();
            let (schema, bytes) = value.value();
            match codec::decode_snapshot(cohort, schema, bytes) {
                Ok(state) => return Ok((Some((state, snap_version)), unreadable)),
                Err(e) => {
                    unreadable = true;
                    tracing::warn!(%cohort, version = snap_version, error = %e, "ignoring unreadable snapshot");
                }
            }
        }
        Ok((None, unreadable))
    }

    /// The recorded outcome of an idempotency key, as filed ([`idempotency_key`]).
    pub fn command_record(&self, key: &[u8; 32]) -> Result<Option<CommandRecord>, StoreError> {
        let commands = self.txn.open_table(COMMANDS)?;
        let Some(value) = commands.get(key)? else {
            return Ok(None);
        };
        codec::decode_command_record(value.value())
            .map(Some)
            .map_err(|source| StoreError::Corrupt {
                what: format!("idempotency record {}", chain::show(key)),
                source,
            })
    }

    /// The learner filed under a normalised key.
    pub fn learner_by_key(
        &self,
        key: &str,
    ) -> Result<Option<(LearnerId, LearnerRecord)>, StoreError> {
        let directory = self.txn.open_table(DIRECTORY)?;
        let Some(value) = directory.get(key)? else {
            return Ok(None);
        };
        decode_directory(key, value.value()).map(Some)
    }

    /// The whole learner directory, in learner id order.
    pub fn learners(&self) -> Result<Vec<(LearnerId, LearnerRecord)>, StoreError> {
        let directory = self.txn.open_table(DIRECTORY)?;
        let mut out = Vec::with_capacity(usize::try_from(directory.len()?).unwrap_or(0));
        for row in directory.iter()? {
            let (key, value) = row?;
            out.push(decode_directory(key.value(), value.value())?);
        }
        out.sort_unstable_by_key(|(id, _)| *id);
        Ok(out)
    }

    /// The whole rejected-command journal, oldest first.
    pub fn journal(&self) -> Result<Vec<(u64, JournalEntry)>, StoreError> {
        let table = self.txn.open_table(JOURNAL)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (id, bytes) = row?;
            let id = id.value();
            let entry =
                codec::decode_journal(bytes.value()).map_err(|source| StoreError::Corrupt {
                    what: format!("journal entry {id}"),
                    source,
                })?;
            out.push((id, entry));
        }
        Ok(out)
    }

    /// The chain head: (position, hash), or `None` before the first event.
    pub fn chain_head(&self) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        let events = self.txn.open_table(EVENTS)?;
        let Some((key, value)) = events.last()? else {
            return Ok(None);
        };
        Ok(Some((key.value(), link_at(key.value(), value.value())?)))
    }

    /// The id of the newest journal entry (0 when empty).
    pub fn last_journal_id(&self) -> Result<u64, StoreError> {
        Ok(self
            .txn
            .open_table(JOURNAL)?
            .last()?
            .map_or(0, |(k, _)| k.value()))
    }

    /// Every erasure record, by learner.
    pub fn erasures(&self) -> Result<Vec<(LearnerId, ErasureRecord)>, StoreError> {
        let table = self.txn.open_table(ERASURES)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (id, bytes) = row?;
            let id = id.value();
            let record =
                codec::decode_erasure(bytes.value()).map_err(|source| StoreError::Corrupt {
                    what: format!("erasure record of {id}"),
                    source,
                })?;
            out.push((LearnerId(id), record));
        }
        Ok(out)
    }

    /// The snapshot versions kept for a cohort (for tests and operations).
    pub fn snapshot_versions(&self, cohort: CohortId) -> Result<Vec<u64>, StoreError> {
        let snapshots = self.txn.open_table(SNAPSHOTS)?;
        let mut out = Vec::new();
        for row in snapshots.range((cohort.0, 0)..=(cohort.0, u64::MAX))? {
            out.push(row?.0.value().1);
        }
        Ok(out)
    }
}

/// Whether `event` can be stored at `schema_version` of its type without losing anything.
#[must_use]
pub fn storable_at(event: &Event, schema_version: u16) -> bool {
    codec::encode_event_at(event, schema_version).is_ok()
}

/// The refused commands and snapshots of a batch, in tables opened only when it has some.
fn write_journal_and_snapshots(
    txn: &redb::WriteTransaction,
    batch: &Batch,
) -> Result<(), StoreError> {
    if !batch.journal.is_empty() {
        let mut journal = txn.open_table(JOURNAL)?;
        for (id, entry) in &batch.journal {
            let bytes = codec::encode_journal(entry).map_err(StoreError::Encode)?;
            journal.insert(*id, bytes.as_slice())?;
        }
    }
    if !batch.snapshots.is_empty() {
        let mut snapshots = txn.open_table(SNAPSHOTS)?;
        for (cohort, version, state) in &batch.snapshots {
            let bytes = codec::encode_snapshot(state).map_err(StoreError::Encode)?;
            snapshots.insert(
                (cohort.0, *version),
                (SNAPSHOT_SCHEMA_VERSION, bytes.as_slice()),
            )?;
        }
    }
    Ok(())
}

/// The names of every table of the current format, created with a new database.
fn table_names() -> Vec<String> {
    [
        EVENTS.name(),
        STREAM_INDEX.name(),
        SNAPSHOTS.name(),
        COMMANDS.name(),
        DIRECTORY.name(),
        ERASURES.name(),
        ACCOUNTS.name(),
        TOKENS.name(),
        SESSIONS.name(),
        WEBHOOKS.name(),
        WEBHOOK_POSITIONS.name(),
        OFFER_LINK_KEY.name(),
        OFFER_LINKS_USED.name(),
        MAIL_STATE.name(),
        MAIL_LOG.name(),
        MAIL_FAILURES.name(),
        MAIL_DONE.name(),
        MAIL_REMINDERS.name(),
        JOURNAL.name(),
        META.name(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Creates every table of the current format that is missing, and the format version.
fn create_tables(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(EVENTS)?;
    txn.open_table(STREAM_INDEX)?;
    txn.open_table(SNAPSHOTS)?;
    txn.open_table(COMMANDS)?;
    txn.open_table(DIRECTORY)?;
    txn.open_table(ERASURES)?;
    txn.open_table(ACCOUNTS)?;
    txn.open_table(TOKENS)?;
    txn.open_table(SESSIONS)?;
    txn.open_table(WEBHOOKS)?;
    txn.open_table(WEBHOOK_POSITIONS)?;
    txn.open_table(OFFER_LINK_KEY)?;
    txn.open_table(OFFER_LINKS_USED)?;
    txn.open_table(MAIL_STATE)?;
    txn.open_table(MAIL_LOG)?;
    txn.open_table(MAIL_FAILURES)?;
    txn.open_table(MAIL_DONE)?;
    txn.open_table(MAIL_REMINDERS)?;
    txn.open_table(JOURNAL)?;
    let mut meta = txn.open_table(META)?;
    if meta.get(META_FORMAT_VERSION)?.is_none() {
        meta.insert(META_FORMAT_VERSION, STORE_FORMAT_VERSION)?;
    }
    Ok(())
}

/// The head version of a stream: its last index entry (0 when it has none).
fn head_version(
    index: &impl ReadableTable<(Uuid, u64), u64>,
    stream: Uuid,
) -> Result<u64, StoreError> {
    Ok(index
        .range((stream, 0)..=(stream, u64::MAX))?
        .next_back()
        .transpose()?
        .map_or(0, |(key, _)| key.value().1))
}

fn corrupt_event(position: u64) -> StoreError {
    StoreError::Corrupt {
        what: format!("event at position {position}"),
        source: CodecError::Empty,
    }
}

/// The chain link a stored event value starts with.
fn link_at(position: u64, value: &[u8]) -> Result<[u8; 32], StoreError> {
    tables::split_event(value)
        .map(|(link, _)| link)
        .ok_or_else(|| corrupt_event(position))
}

/// The envelope of a stored event value.
fn decode_at(position: u64, value: &[u8]) -> Result<Envelope, StoreError> {
    let (_, bytes) = tables::split_event(value).ok_or_else(|| corrupt_event(position))?;
    codec::decode_envelope(bytes).map_err(|source| StoreError::Corrupt {
        what: format!("event at position {position}"),
        source,
    })
}

/// A directory row: the learner filed under `key`.
fn decode_directory(key: &str, value: &[u8]) -> Result<(LearnerId, LearnerRecord), StoreError> {
    let corrupt = |source| StoreError::Corrupt {
        what: format!("learner {key:?} in the directory"),
        source,
    };
    let (id, bytes) = tables::split_directory(value).ok_or_else(|| corrupt(CodecError::Empty))?;
    let record = codec::decode_learner(bytes).map_err(corrupt)?;
    Ok((LearnerId(id), record))
}

/// A new, empty redb database in a new owner-only file at `path` (see [`crate::private_file`]):
/// created exclusively, so an existing file or a symbolic link there is refused, not opened.
fn create_private(builder: &redb::Builder, path: &Path) -> Result<Database, StoreError> {
    let file = crate::private_file::create_new(path).map_err(|source| StoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    redb::backends::FileBackend::new(file)
        .and_then(|backend| builder.create_with_backend(backend))
        .map_err(|source| open_error(path, source))
}

fn is_missing_or_empty(path: &Path) -> Result<bool, StoreError> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.len() == 0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(source) => Err(StoreError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Looks at an existing file without writing to it: is it a redb file whose every page still
/// matches its checksum (after crash recovery, if it needs one), and is it a rollbook database of
/// a format this build reads? redb runs its check and any repair on a private copy-on-write view
/// of the file, so a file that is refused is left exactly as it was; the plain open that follows
/// trusts only a file that passed. Holding the file open read-only meanwhile keeps a writer out,
/// and says so when one holds it.
/// Returns the store format found (`None` for a redb file without tables, treated as new).
fn precheck_existing(path: &Path, options: &StoreOptions) -> Result<Option<u64>, StoreError> {
    let io_error = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        return Err(StoreError::NotRollbook {
            path: path.to_owned(),
            detail: "it is a directory".to_owned(),
        });
    }
    let mut file = File::open(path).map_err(io_error)?;
    let mut magic = [0u8; REDB_MAGIC.len()];
    let read = file.read(&mut magic).map_err(io_error)?;
    if read < magic.len() || magic != REDB_MAGIC {
        return Err(StoreError::NotRollbook {
            path: path.to_owned(),
            detail: "not a redb file".to_owned(),
        });
    }
    let cache_size = options.cache_size.min(4 << 20);
    let _held = match Database::builder()
        .set_cache_size(cache_size)
        .open_read_only(path)
    {
        Ok(db) => Some(db),
        // It needs crash recovery, which the check below performs on its private view.
        Err(redb::DatabaseError::RepairAborted) => None,
        Err(source) => return Err(open_error(path, source)),
    };
    let len = file.metadata().map_err(io_error)?.len();
    let view = copy_on_write::CopyOnWrite::new(file, len);
    let db = Database::builder()
        .set_cache_size(cache_size)
        .set_check_integrity_on_open(true)
        .create_with_backend(view)
        .map_err(|source| open_error(path, source))?;
    let txn = db.begin_read()?;
    check_format(&txn, path)
}

/// The store format of an open file (`None` when it holds no tables at all), refusing a file
/// that is not a rollbook database or is of a newer format.
fn check_format(txn: &ReadTransaction, path: &Path) -> Result<Option<u64>, StoreError> {
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            // A redb file with no tables at all holds nothing: it is what a crash while
            // rollbook was first creating the database leaves. It is initialised as new.
            if txn.list_tables()?.next().is_none() && txn.list_multimap_tables()?.next().is_none() {
                return Ok(None);
            }
            return Err(StoreError::NotRollbook {
                path: path.to_owned(),
                detail: "a redb file without rollbook's tables".to_owned(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let Some(found) = meta.get(META_FORMAT_VERSION)?.map(|v| v.value()) else {
        return Err(StoreError::NotRollbook {
            path: path.to_owned(),
            detail: "no store format version".to_owned(),
        });
    };
    if found > STORE_FORMAT_VERSION {
        return Err(StoreError::NewerFormat {
            path: path.to_owned(),
            found,
            supported: STORE_FORMAT_VERSION,
        });
    }
    Ok(Some(found))
}

/// The error of a failed open, in words a person can act on.
fn open_error(path: &Path, source: redb::DatabaseError) -> StoreError {
    use redb::{DatabaseError, StorageError};
    use std::io::ErrorKind;
    let plain = |message: &str| DatabaseError::Storage(StorageError::Corrupted(message.to_owned()));
    let source = match source {
        DatabaseError::DatabaseAlreadyOpen => {
            return StoreError::InUse {
                path: path.to_owned(),
            };
        }
        DatabaseError::Storage(StorageError::Io(e)) => match e.kind() {
            ErrorKind::IsADirectory => {
                return StoreError::NotRollbook {
                    path: path.to_owned(),
                    detail: "it is a directory".to_owned(),
                };
            }
            ErrorKind::UnexpectedEof => plain(
                "the file ends before its data does: it was truncated; restore it from a backup",
            ),
            ErrorKind::PermissionDenied => {
                DatabaseError::Storage(StorageError::Io(std::io::Error::new(
                    ErrorKind::PermissionDenied,
                    "permission denied: rollbook must write to the database file, and it is \
                     read-only for this user (or its folder is)",
                )))
            }
            ErrorKind::ReadOnlyFilesystem => {
                DatabaseError::Storage(StorageError::Io(std::io::Error::new(
                    ErrorKind::ReadOnlyFilesystem,
                    "the file system is read-only, and rollbook must write to the database",
                )))
            }
            _ => DatabaseError::Storage(StorageError::Io(e)),
        },
        DatabaseError::Storage(StorageError::Corrupted(detail)) => plain(&format!(
            "{detail}; the file was damaged, restore it from a backup"
        )),
        source => source,
    };
    StoreError::Open {
        path: path.to_owned(),
        source,
    }
}
