//! Verifying a database (live or a backup) end to end: redb's own integrity, every envelope
//! decoding, gapless positions, per-cohort versions and their index, the hash chain, every
//! business invariant at every command boundary of every cohort's history, snapshots equal to
//! the replay, and the learner directory (or an erasure record) covering every learner the
//! events name. Stops at the
//! first problem with a precise message.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use redb::ReadableTable;
use uuid::Uuid;

use super::codec;
use super::tables::{self, DIRECTORY, EVENTS, SNAPSHOTS, STREAM_INDEX};
use super::{ReadOnlyStore, StoreError, StoreOptions, chain};
use crate::domain::{Cohort, CohortId, Event};

/// What a successful verification saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Cohorts (streams) checked.
    pub cohorts: usize,
    /// Snapshots compared with the replay.
    pub snapshots: usize,
    /// The chain head: position and hash.
    pub chain_head: Option<(u64, [u8; 32])>,
    /// Wall time.
    pub elapsed: Duration,
}

/// The first problem found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The file could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// redb's own integrity check failed.
    #[error("the database file is damaged (redb integrity check failed)")]
    Damaged,
    /// A precise problem in the history.
    #[error("position {position}: {problem}")]
    At {
        /// Where.
        position: u64,
        /// What is wrong.
        problem: String,
    },
    /// A problem not tied to one position.
    #[error("{0}")]
    Other(String),
}

fn at(position: u64, problem: impl Into<String>) -> VerifyError {
    VerifyError::At {
        position,
        problem: problem.into(),
    }
}

fn redb_error(e: impl Into<redb::Error>) -> VerifyError {
    VerifyError::Store(StoreError::Redb(e.into()))
}

/// State carried from one event to the next while walking the history.
struct Walk {
    states: HashMap<CohortId, (Option<Cohort>, u64)>,
    previous_link: [u8; 32],
    expected: u64,
    /// The command being replayed, the cohort it touched and its last position: invariants
    /// hold between commands (inside one, a withdrawal frees a seat just before its promotion).
    open_command: Option<(Uuid, CohortId, u64)>,
    snapshots: HashMap<(Uuid, u64), (u16, Vec<u8>)>,
    learners: HashSet<Uuid>,
}

impl Walk {
    fn check_invariants(&self, cohort: CohortId, position: u64) -> Result<(), VerifyError> {
        if let Some((Some(state), _)) = self.states.get(&cohort) {
            state
                .check_invariants()
                .map_err(|e| at(position, format!("cohort {cohort}: invariant broken: {e}")))?;
        }
        Ok(())
    }

    fn close_command(&self) -> Result<(), VerifyError> {
        match self.open_command {
            Some((_, cohort, last)) => self.check_invariants(cohort, last),
            None => Ok(()),
        }
    }

    /// Snapshots of the current schema must equal the replay; older ones are ignored by the
    /// store and rewritten.
    fn check_snapshot(
        &self,
        cohort: CohortId,
        version: u64,
        position: u64,
    ) -> Result<(), VerifyError> {
        let Some((schema, bytes)) = self.snapshots.get(&(cohort.0, version)) else {
            return Ok(());
        };
        if *schema != super::SNAPSHOT_SCHEMA_VERSION {
            return Ok(());
        }
        let snapshot = codec::decode_snapshot(cohort, *schema, bytes).map_err(|e| {
            at(
                position,
                format!("cohort {cohort}: snapshot at version {version} does not decode: {e}"),
            )
        })?;
        let replayed = self.states.get(&cohort).and_then(|(s, _)| s.as_ref());
        if replayed != Some(&snapshot) {
            return Err(at(
                position,
                format!("cohort {cohort}: snapshot at version {version} differs from the replay"),
            ));
        }
        Ok(())
    }

    /// Checks one stored event and folds it in.
    fn step(
        &mut self,
        position: u64,
        value: &[u8],
        index: &impl ReadableTable<(Uuid, u64), u64>,
    ) -> Result<(), VerifyError> {
        if position != self.expected {
            return Err(at(
                self.expected,
                format!("missing: the next stored position is {position}"),
            ));
        }
        let (stored, bytes) =
            tables::split_event(value).ok_or_else(|| at(position, "no chain link"))?;
        let envelope = codec::decode_envelope(bytes)
            .map_err(|e| at(position, format!("does not decode: {e}")))?;
        if envelope.position != position {
            return Err(at(
                position,
                format!("envelope says position {}", envelope.position),
            ));
        }
        let digest =
            chain::digest(&envelope).map_err(|e| at(position, format!("cannot re-encode: {e}")))?;
        let link = chain::link(&self.previous_link, position, &digest);
        if stored != link {
            return Err(at(
                position,
                "the hash chain is broken: the event or an earlier one was altered, removed or reordered",
            ));
        }
        self.previous_link = link;

        let cohort = envelope.cohort;
        if self
            .open_command
            .is_some_and(|(command, _, _)| command != envelope.meta.command_id)
        {
            self.close_command()?;
        }
        let (state, version) = self.states.entry(cohort).or_insert((None, 0));
        if envelope.version != *version + 1 {
            return Err(at(
                position,
                format!(
                    "cohort {cohort}: version {} follows {version}",
                    envelope.version
                ),
            ));
        }
        *version = envelope.version;
        let indexed = index
            .get((cohort.0, envelope.version))
            .map_err(redb_error)?
            .map(|v| v.value());
        if indexed != Some(position) {
            return Err(at(
                position,
                format!(
                    "cohort {cohort} version {}: the stream index says {indexed:?}",
                    envelope.version
                ),
            ));
        }
        match (state.as_mut(), &envelope.event) {
            (None, Event::CohortCreated(data)) => *state = Some(Cohort::created(cohort, data)),
            (Some(s), Event::CohortCreated(_)) => {
                return Err(at(position, format!("cohort {} created twice", s.id)));
            }
            (Some(s), event) => s.apply(event),
            (None, _) => {
                return Err(at(
                    position,
                    format!("cohort {cohort}: an event before its creation"),
                ));
            }
        }
        if let Some(learner) = envelope.event.learner() {
            if !self.learners.contains(&learner.0) {
                return Err(at(
                    position,
                    format!("learner {learner} is neither in the learner directory nor erased"),
                ));
            }
        }
        self.check_snapshot(cohort, envelope.version, position)?;
        self.open_command = Some((envelope.meta.command_id, cohort, position));
        self.expected += 1;
        Ok(())
    }
}

/// Verifies the database at `path`, calling `progress(done, total)` now and then.
///
/// redb's own page-level check rebuilds redb's allocator state and commits, so it runs on a
/// scratch copy beside the file (owner-only, removed afterwards whatever happens, a full disk
/// included), and so does everything after it: verifying never changes the file verified (a
/// backup's SHA-256 in its manifest stays true). A file a killed process left needing crash
/// recovery is recovered on the copy, as `serve` would recover the file; a file of an older
/// format is read as its upgrade leaves it (the upgrade itself refuses a broken chain).
pub fn verify(path: &Path, progress: impl FnMut(u64, u64)) -> Result<VerifyReport, VerifyError> {
    let started = Instant::now();
    if super::is_missing_or_empty(path)? {
        return Err(VerifyError::Other(format!(
            "{} does not exist or is empty",
            path.display()
        )));
    }
    // Read-only checks that it is a rollbook database of a readable format; a database a
    // server holds is refused without being touched.
    super::precheck_existing(path, &StoreOptions::default())?;
    let (store, intact) =
        ReadOnlyStore::through_scratch(path, &StoreOptions::default(), "verify", true)?;
    if !intact {
        return Err(VerifyError::Damaged);
    }
    walk(&store.read()?.txn, started, progress)
}

/// Walks every event of a database of the current format.
fn walk(
    txn: &redb::ReadTransaction,
    started: Instant,
    mut progress: impl FnMut(u64, u64),
) -> Result<VerifyReport, VerifyError> {
    let events = txn.open_table(EVENTS).map_err(redb_error)?;
    let index = txn.open_table(STREAM_INDEX).map_err(redb_error)?;
    let total = redb::ReadableTableMetadata::len(&events).map_err(redb_error)?;

    let mut walk = Walk {
        states: HashMap::new(),
        previous_link: chain::GENESIS,
        expected: 1,
        open_command: None,
        snapshots: HashMap::new(),
        learners: HashSet::new(),
    };
    for row in txn
        .open_table(SNAPSHOTS)
        .map_err(redb_error)?
        .iter()
        .map_err(redb_error)?
    {
        let (key, value) = row.map_err(redb_error)?;
        let (schema, bytes) = value.value();
        walk.snapshots.insert(key.value(), (schema, bytes.to_vec()));
    }
    for row in txn
        .open_table(DIRECTORY)
        .map_err(redb_error)?
        .iter()
        .map_err(redb_error)?
    {
        let (key, value) = row.map_err(redb_error)?;
        let (id, _) = tables::split_directory(value.value()).ok_or_else(|| {
            VerifyError::Other(format!(
                "learner {:?}: a damaged directory entry",
                key.value()
            ))
        })?;
        walk.learners.insert(id);
    }
    // An erased learner is known by id only.
    for row in txn
        .open_table(tables::ERASURES)
        .map_err(redb_error)?
        .iter()
        .map_err(redb_error)?
    {
        walk.learners.insert(row.map_err(redb_error)?.0.value());
    }
    for row in events.iter().map_err(redb_error)? {
        let (key, value) = row.map_err(redb_error)?;
        let position = key.value();
        walk.step(position, value.value(), &index)?;
        if position % 10_000 == 0 {
            progress(position, total);
        }
    }
    walk.close_command()?;
    let last = walk.expected - 1;
    // Every event has its index entry (checked per event); an index with more entries points
    // at events that are gone: a history cut short behind rollbook's back.
    let indexed = redb::ReadableTableMetadata::len(&index).map_err(redb_error)?;
    if indexed != last {
        let stray = stray_index_entry(&index, &walk.states)?;
        return Err(VerifyError::Other(format!(
            "the stream index holds {indexed} entries for {last} events{}",
            stray.map_or_else(String::new, |(cohort, version, position)| format!(
                ": cohort {cohort} version {version} points at position {position}, past the \
                 events"
            ))
        )));
    }
    let chain_head = (last > 0).then_some((last, walk.previous_link));
    progress(last, total);
    Ok(VerifyReport {
        events: last,
        cohorts: walk.states.len(),
        snapshots: walk.snapshots.len(),
        chain_head,
        elapsed: started.elapsed(),
    })
}

/// The first index entry beyond the versions the events reach.
fn stray_index_entry(
    index: &impl ReadableTable<(Uuid, u64), u64>,
    states: &HashMap<CohortId, (Option<Cohort>, u64)>,
) -> Result<Option<(CohortId, u64, u64)>, VerifyError> {
    for row in index.iter().map_err(redb_error)? {
        let (key, position) = row.map_err(redb_error)?;
        let (cohort, version) = key.value();
        let cohort = CohortId(cohort);
        let reached = states.get(&cohort).map_or(0, |(_, v)| *v);
        if version > reached {
            return Ok(Some((cohort, version, position.value())));
        }
    }
    Ok(None)
}
