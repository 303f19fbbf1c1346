//! Export and import: every event as JSON Lines, and a new database loaded from such a file.
//!
//! An export is the history in the current event schema (older events upcast), one
//! [`Line`] per event in position order, learners resolved to their key and name. An import
//! writes those events, with their original positions, ids, times and metadata, into a new
//! file beside the target, verifies it end to end, and only then renames it into place: the
//! same export gives the same database answers, and a refused import leaves nothing behind.
//! Accounts, tokens and sessions are not part of an export. An erased learner appears by id
//! only, and is filed as erased again by an import.

mod line;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;

pub use line::{ActorLine, EventLine, LearnerLine, Line};

use crate::domain::{CohortId, LearnerId, Note};
use crate::store::{
    Actor, Batch, ErasureRecord, LearnerRecord, OfflineStore, ReadOnlyStore, StoreError,
    StoreOptions, StreamAppend, VerifyError, chain, event_schema_version, storable_at, verify,
};

/// Events read per store read while exporting, and at most per commit while importing.
const CHUNK: usize = 4096;

/// What can go wrong exporting or importing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The database could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of the import file is not a valid event of the history.
    #[error("{path} line {line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The target of an import already holds something.
    #[error("{0} already exists; import writes a new database (choose another path)")]
    TargetExists(PathBuf),
    /// The imported history does not verify; nothing was kept.
    #[error("the imported history does not verify, so it was not kept: {0}")]
    Verify(#[from] VerifyError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TransferError + '_ {
    move |source| TransferError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What an export or import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Events written.
    pub events: u64,
    /// Learners in the directory.
    pub learners: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Writes every event of the database at `db` to `out`, one JSON line each, calling
/// `progress(done, total)` now and then. Reads without changing the file.
pub fn export(
    db: &Path,
    out: &mut impl Write,
    out_name: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<Summary, TransferError> {
    let started = Instant::now();
    let store = ReadOnlyStore::open(db, &StoreOptions::default())?;
    let reader = store.read()?;
    let directory: HashMap<LearnerId, LearnerRecord> = reader.learners()?.into_iter().collect();
    let total = reader.event_count()?;
    let (mut after, mut line) = (0, Vec::with_capacity(512));
    loop {
        let chunk = reader.events_after(after, CHUNK)?;
        let Some(last) = chunk.last() else { break };
        after = last.position;
        for envelope in &chunk {
            line.clear();
            serde_json::to_writer(&mut line, &Line::of(envelope, &directory))
                .map_err(|e| io(out_name)(e.into()))?;
            line.push(b'\n');
            out.write_all(&line).map_err(io(out_name))?;
        }
        progress(after, total);
    }
    out.flush().map_err(io(out_name))?;
    Ok(Summary {
        events: after,
        learners: directory.len() as u64,
        elapsed: started.elapsed(),
    })
}

/// Loads the export at `file` into a new database at `db`, calling `progress(bytes read,
/// file size)` now and then. `db` must not exist (or be empty).
pub fn import(
    file: &Path,
    db: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<Summary, TransferError> {
    let started = Instant::now();
    if std::fs::metadata(db).is_ok_and(|m| m.len() > 0) {
        return Err(TransferError::TargetExists(db.to_owned()));
    }
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = db.with_file_name(format!(".{name}.import-{}", std::process::id()));
    let _ = std::fs::remove_file(&partial);
    let outcome = (|| {
        let loaded = load(file, &partial, &mut progress)?;
        verify(&partial, |_, _| {})?;
        std::fs::rename(&partial, db).map_err(io(db))?;
        if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(io(parent))?;
        }
        Ok::<_, TransferError>(loaded)
    })();
    if outcome.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    let (events, learners) = outcome?;
    Ok(Summary {
        events,
        learners,
        elapsed: started.elapsed(),
    })
}

/// Why a line was not taken.
enum Refused {
    /// The line is not a valid next event of the history: what is wrong, in words.
    Line(String),
    /// Writing the batch before it failed.
    Store(StoreError),
}

/// Batches being built from the lines, in order.
struct Loader {
    /// The new file, held exclusively.
    store: OfflineStore,
    batch: Batch,
    batch_events: usize,
    recorded_at: Option<Timestamp>,
    versions: HashMap<CohortId, u64>,
    keys: HashMap<String, LearnerId>,
    known: HashMap<LearnerId, Option<String>>,
    erased: Vec<LearnerId>,
    position: u64,
}

impl Loader {
    fn flush(&mut self) -> Result<(), StoreError> {
        if let Some(at) = self.recorded_at.take() {
            self.store
                .commit_unsynced(&std::mem::take(&mut self.batch), at)?;
            self.batch_events = 0;
        }
        Ok(())
    }

    /// Takes one line in.
    fn take(&mut self, line: &Line) -> Result<(), Refused> {
        if line.position != self.position + 1 {
            return Err(Refused::Line(format!(
                "position {} where {} was expected (an export lists every event in order)",
                line.position,
                self.position + 1
            )));
        }
        let version = self.versions.get(&line.cohort).copied().unwrap_or(0);
        if line.version != version + 1 {
            return Err(Refused::Line(format!(
                "cohort {} version {} where {} was expected",
                line.cohort,
                line.version,
                version + 1
            )));
        }
        let mut event = line.event().map_err(Refused::Line)?;
        let mut schema_version = line.schema_version;
        // An erased learner's reason is erased. Exports written before erasure was a type
        // (store format 2) show it as `sha256:<hex>` text (or as the text that erasure
        // skipped): it becomes the erased note, at the first schema that holds one.
        if line.learner().is_some_and(|l| l.key.is_none()) {
            if let Some(note) = event.note_mut() {
                if let Note::Text(text) = note {
                    *note = chain::erase_format2_text(text);
                    schema_version = event_schema_version(&event);
                }
            }
        }
        if !storable_at(&event, schema_version) {
            return Err(Refused::Line(format!(
                "{} cannot be stored at schema version {}",
                event.type_name(),
                schema_version
            )));
        }
        if let Some(learner) = line.learner() {
            self.learner(learner).map_err(Refused::Line)?;
        }
        if self.recorded_at != Some(line.recorded_at) || self.batch_events >= CHUNK {
            self.flush().map_err(Refused::Store)?;
            self.recorded_at = Some(line.recorded_at);
        }
        let meta = line.meta();
        let continues = self.batch.appends.last().is_some_and(|a| {
            a.cohort == line.cohort && a.meta == meta && a.occurred_at == line.occurred_at
        });
        if continues {
            if let Some(append) = self.batch.appends.last_mut() {
                append.events.push(event);
            }
            if let Some(versions) = self.batch.schema_versions.last_mut() {
                versions.push(schema_version);
            }
        } else {
            self.batch.schema_versions.push(vec![schema_version]);
            self.batch.appends.push(StreamAppend {
                cohort: line.cohort,
                expected_version: version,
                events: vec![event],
                occurred_at: line.occurred_at,
                meta,
                idempotency: None,
            });
        }
        self.batch_events += 1;
        self.versions.insert(line.cohort, line.version);
        self.position = line.position;
        Ok(())
    }

    /// Files a learner in the directory the first time they appear.
    fn learner(&mut self, learner: &LearnerLine) -> Result<(), String> {
        if let Some(seen) = self.known.get(&learner.id) {
            return if *seen == learner.key {
                Ok(())
            } else {
                Err(format!(
                    "learner {} appears with two keys ({seen:?} and {:?})",
                    learner.id, learner.key
                ))
            };
        }
        let Some(key) = &learner.key else {
            // An erased learner: known by id only, filed as erased.
            self.known.insert(learner.id, None);
            self.erased.push(learner.id);
            return Ok(());
        };
        if let Some(other) = self.keys.insert(key.clone(), learner.id) {
            return Err(format!(
                "the key {key:?} belongs to two learners ({other} and {})",
                learner.id
            ));
        }
        self.known.insert(learner.id, learner.key.clone());
        self.batch.learners.push((
            learner.id,
            LearnerRecord {
                key: key.clone(),
                name: learner.name.clone().unwrap_or_default(),
            },
        ));
        Ok(())
    }
}

/// Writes every line of `file` into a new store at `target`; returns (events, learners).
fn load(
    file: &Path,
    target: &Path,
    progress: &mut impl FnMut(u64, u64),
) -> Result<(u64, u64), TransferError> {
    let input = File::open(file).map_err(io(file))?;
    let size = input.metadata().map_err(io(file))?.len();
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut loader = Loader {
        store: OfflineStore::open(target, &StoreOptions::default())?,
        batch: Batch::default(),
        batch_events: 0,
        recorded_at: None,
        versions: HashMap::new(),
        keys: HashMap::new(),
        known: HashMap::new(),
        erased: Vec::new(),
        position: 0,
    };
    let (mut text, mut number, mut read) = (String::new(), 0u64, 0u64);
    loop {
        text.clear();
        let n = reader.read_line(&mut text).map_err(io(file))?;
        if n == 0 {
            break;
        }
        number += 1;
        read += n as u64;
        if text.trim().is_empty() {
            continue;
        }
        let problem = |message: String| TransferError::Line {
            path: file.to_owned(),
            line: number,
            message,
        };
        let line: Line = serde_json::from_str(&text).map_err(|e| problem(e.to_string()))?;
        loader.take(&line).map_err(|e| match e {
            Refused::Line(message) => problem(message),
            Refused::Store(store) => TransferError::Store(store),
        })?;
        if number % 10_000 == 0 {
            progress(read, size);
        }
    }
    loader.flush()?;
    let import = ErasureRecord {
        erased_at: Timestamp::now(),
        actor: Actor {
            id: uuid::Uuid::nil(),
            name: "rollbook import (erased before the export)".to_owned(),
        },
    };
    let erased: Vec<_> = loader
        .erased
        .iter()
        .map(|id| (*id, import.clone()))
        .collect();
    loader.store.record_erasures(&erased)?;
    loader.store.sync()?;
    progress(read, size);
    Ok((loader.position, loader.known.len() as u64))
}
