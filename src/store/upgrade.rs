//! Store format upgrades. A file of an older format is first copied byte for byte to a backup
//! beside it, which is checked (the same SHA-256 as the original, redb's page-level integrity,
//! a rollbook format it reads); then it is upgraded in place in one write transaction, so a
//! crash or a refusal leaves the old file as it was. Every event's chain link is recomputed and
//! compared with the stored one on the way: a tampered history is refused, not carried over.
//!
//! Format 1 → 2: the chain links move from the `chain` table into the event values, the
//! `streams` table (head versions) and the `meta_bytes` chain head go (both are read from what
//! remains), and the two learner tables become one directory keyed by learner key.
//!
//! Format 2 → 3: a reason's erased state becomes a type ([`Note::Erased`]) instead of text
//! starting with `sha256:`. Every reason of an erased learner (the `erasures` table) becomes an
//! erased note, stored at its type's newest schema: the `sha256:<hex>` format 2's erasure left
//! keeps its digest, and a text that erasure skipped because staff had typed it starting with
//! `sha256:` is erased now. Every other reason stays text, however it starts. The chain is
//! checked under format 2's digest, then relinked under format 3's (which digests a note in its
//! erased form), so the head changes once. Idempotency records move to a table keyed by the
//! SHA-256 of (acting account, key): a committed command's account is its events' actor; a
//! rule's refusal names no account, and is dropped (a retry is decided afresh: it committed
//! nothing). Fingerprints from before they were hashed are hashed.

use std::fs::{self, File};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableTable as _};
use sha2::{Digest as _, Sha256};

use super::envelope::Envelope;
use super::tables::{
    self, COMMANDS, DIRECTORY, ERASURES, EVENTS, META, META_FORMAT_VERSION, format1, format2,
};
use super::{STORE_FORMAT_VERSION, StoreError, StoreOptions, chain, codec, create_tables};
use crate::domain::Note;

/// Events rewritten per step of the upgrade (bounded memory on large files).
const CHUNK: usize = 4096;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Where the backup of a file of format `found` goes: `<file>.format<found>.backup`, or with
/// `.2`, `.3`… after it when that exists.
fn backup_path(path: &Path, found: u64) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = path.with_file_name(format!("{name}.format{found}.backup"));
    if !base.exists() {
        return base;
    }
    (2u32..=u32::MAX)
        .map(|n| path.with_file_name(format!("{name}.format{found}.backup.{n}")))
        .find(|p| !p.exists())
        .unwrap_or(base)
}

/// SHA-256 of a whole file.
pub fn file_sha256(path: &Path) -> Result<[u8; 32], StoreError> {
    let mut file = File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(io(path))?;
        if n == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&buffer[..n]);
    }
}

/// Copies the file of format `found` at `path` to a backup beside it and checks the copy.
/// Returns the backup's path. The file is held open read-only meanwhile, which keeps writers
/// out; nothing writes to it.
pub(super) fn backup_before(
    path: &Path,
    found: u64,
    options: &StoreOptions,
) -> Result<PathBuf, StoreError> {
    let refused = |detail: String| StoreError::UpgradeRefused {
        path: path.to_owned(),
        from: found,
        to: STORE_FORMAT_VERSION,
        detail,
    };
    let _held = Database::builder()
        .set_cache_size(options.cache_size.min(4 << 20))
        .open_read_only(path)
        .map_err(|source| super::open_error(path, source))?;
    let backup = backup_path(path, found);
    let partial = backup.with_extension("partial");
    let written = (|| {
        // Owner-only and synced; `fs::copy` would carry over the old file's mode.
        crate::private_file::copy_new(path, &partial).map_err(io(&partial))?;
        fs::rename(&partial, &backup).map_err(io(&backup))?;
        if let Some(parent) = backup.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(io(parent))?;
        }
        Ok::<_, StoreError>(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(refused(format!(
            "the backup {} could not be written ({e})",
            backup.display()
        )));
    }
    if file_sha256(&backup)? != file_sha256(path)? {
        return Err(refused(format!(
            "the backup {} differs from the file after copying",
            backup.display()
        )));
    }
    match super::precheck_existing(&backup, options) {
        Ok(Some(format)) if format == found => Ok(backup),
        Ok(other) => Err(refused(format!(
            "the backup {} reads as format {other:?}",
            backup.display()
        ))),
        Err(e) => Err(refused(format!(
            "the backup {} does not check out ({e})",
            backup.display()
        ))),
    }
}

/// Upgrades the open database from format `found` to the current one, in one durable write
/// transaction.
pub(super) fn migrate(db: &Database, found: u64, path: &Path) -> Result<(), StoreError> {
    let refused = |detail: String| StoreError::UpgradeRefused {
        path: path.to_owned(),
        from: found,
        to: STORE_FORMAT_VERSION,
        detail,
    };
    if !(1..STORE_FORMAT_VERSION).contains(&found) {
        return Err(refused(format!("no upgrade from format {found} exists")));
    }
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    let step = |e| match e {
        Step::Refused(detail) => refused(detail),
        Step::Store(e) => e,
    };
    if found == 1 {
        from_1(&txn).map_err(step)?;
        txn.delete_table(format1::CHAIN)?;
        txn.delete_table(format1::META_BYTES)?;
        txn.delete_table(format1::STREAMS)?;
        txn.delete_table(format1::LEARNERS)?;
        txn.delete_table(format1::LEARNER_KEYS)?;
    }
    from_2(&txn).map_err(step)?;
    txn.delete_table(format2::COMMANDS)?;
    create_tables(&txn)?;
    txn.open_table(META)?
        .insert(META_FORMAT_VERSION, STORE_FORMAT_VERSION)?;
    txn.commit()?;
    Ok(())
}

/// Why a step of the upgrade stopped.
enum Step {
    /// The file's content cannot be carried over as it is.
    Refused(String),
    /// Reading or writing failed.
    Store(StoreError),
}

impl<E: Into<StoreError>> From<E> for Step {
    fn from(e: E) -> Self {
        Self::Store(e.into())
    }
}

/// Format 1 → 2, inside `txn`.
fn from_1(txn: &redb::WriteTransaction) -> Result<(), Step> {
    let links = match txn.open_table(format1::CHAIN) {
        Ok(table) => Some(table),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mut events = txn.open_table(EVENTS)?;
    let (mut previous, mut after) = (chain::GENESIS, 0u64);
    loop {
        let chunk: Vec<(u64, Vec<u8>)> = events
            .range(after.saturating_add(1)..)?
            .take(CHUNK)
            .map(|row| row.map(|(k, v)| (k.value(), v.value().to_vec())))
            .collect::<Result<_, _>>()?;
        let Some(&(last, _)) = chunk.last() else {
            break;
        };
        for (position, bytes) in chunk {
            let (_, digest) = format2_event(after, position, &bytes)?;
            let link = chain::link(&previous, position, &digest);
            let stored = match &links {
                Some(table) => table.get(position)?.map(|v| v.value()),
                None => None,
            };
            if stored.is_some_and(|stored| stored != link) {
                return Err(Step::Refused(format!(
                    "the hash chain is broken at position {position} (run `rollbook verify` \
                     on the backup for details)"
                )));
            }
            events.insert(position, tables::event_value(&link, &bytes).as_slice())?;
            previous = link;
            after = position;
        }
        debug_assert_eq!(after, last);
    }
    drop(links);

    let learners = match txn.open_table(format1::LEARNERS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut directory = txn.open_table(DIRECTORY)?;
    for row in learners.iter()? {
        let (id, bytes) = row?;
        let (id, bytes) = (id.value(), bytes.value());
        let record = codec::decode_learner(bytes)
            .map_err(|e| Step::Refused(format!("learner {id} does not decode: {e}")))?;
        directory.insert(
            record.key.as_str(),
            tables::directory_value(id, bytes).as_slice(),
        )?;
    }
    Ok(())
}

/// The event stored at `position`, which must follow `after` with no gap, decoded, with its
/// digest as store format 2 took it ([`format2_digest`]).
fn format2_event(after: u64, position: u64, bytes: &[u8]) -> Result<(Envelope, [u8; 32]), Step> {
    if position != after + 1 {
        return Err(Step::Refused(format!(
            "position {} is missing from the history",
            after + 1
        )));
    }
    let envelope = codec::decode_envelope(bytes).map_err(|e| {
        Step::Refused(format!(
            "the event at position {position} does not decode: {e}"
        ))
    })?;
    let digest = format2_digest(&envelope).map_err(|e| {
        Step::Refused(format!(
            "the event at position {position} does not encode: {e}"
        ))
    })?;
    Ok((envelope, digest))
}

/// An event's digest as store format 2 took it: its reason (text, in that format) entered as
/// `sha256:<hex of its SHA-256>`, unless it already started with `sha256:` (which format 2 took
/// for erased), at the schema version it is stored at.
fn format2_digest(envelope: &Envelope) -> Result<[u8; 32], codec::CodecError> {
    let mut form = envelope.clone();
    if let Some(Note::Text(text)) = form.event.note_mut() {
        if !text.starts_with(chain::FORMAT2_ERASED_PREFIX) {
            let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            *text = format!("{}{}", chain::FORMAT2_ERASED_PREFIX, chain::show(&digest));
        }
    }
    Ok(Sha256::digest(codec::encode_envelope(&form)?).into())
}

/// Format 2 → 3, inside `txn`: erased reasons become erased notes and the chain is relinked
/// (checked under format 2's digest first), then idempotency records are filed by account.
fn from_2(txn: &redb::WriteTransaction) -> Result<(), Step> {
    let erased: std::collections::HashSet<uuid::Uuid> = txn
        .open_table(ERASURES)?
        .iter()?
        .map(|row| row.map(|(id, _)| id.value()))
        .collect::<Result<_, _>>()?;
    relink(txn, &erased)?;
    refile_idempotency(txn)
}

/// Erases the reasons of `erased` learners as notes and relinks the chain, checking every
/// stored link under format 2's digest on the way.
fn relink(
    txn: &redb::WriteTransaction,
    erased: &std::collections::HashSet<uuid::Uuid>,
) -> Result<(), Step> {
    let mut events = txn.open_table(EVENTS)?;
    let (mut old_previous, mut previous, mut after) = (chain::GENESIS, chain::GENESIS, 0u64);
    loop {
        let chunk: Vec<(u64, Vec<u8>)> = events
            .range(after.saturating_add(1)..)?
            .take(CHUNK)
            .map(|row| row.map(|(k, v)| (k.value(), v.value().to_vec())))
            .collect::<Result<_, _>>()?;
        if chunk.is_empty() {
            break;
        }
        for (position, value) in chunk {
            let (stored_link, bytes) = tables::split_event(&value).ok_or_else(|| {
                Step::Refused(format!("the event at position {position} is truncated"))
            })?;
            let (mut envelope, old_digest) = format2_event(after, position, bytes)?;
            old_previous = chain::link(&old_previous, position, &old_digest);
            if old_previous != stored_link {
                return Err(Step::Refused(format!(
                    "the hash chain is broken at position {position} (run `rollbook verify` \
                     on the backup for details)"
                )));
            }
            let of_erased = envelope
                .event
                .learner()
                .is_some_and(|l| erased.contains(&l.0));
            let mut rewritten = None;
            if of_erased {
                if let Some(note) = envelope.event.note_mut() {
                    if let Note::Text(text) = note {
                        *note = chain::erase_format2_text(text);
                        envelope.schema_version = codec::event_schema_version(&envelope.event);
                        rewritten = Some(codec::encode_envelope(&envelope).map_err(|e| {
                            Step::Refused(format!(
                                "the event at position {position} does not encode: {e}"
                            ))
                        })?);
                    }
                }
            }
            let digest = chain::digest(&envelope).map_err(|e| {
                Step::Refused(format!(
                    "the event at position {position} does not encode: {e}"
                ))
            })?;
            previous = chain::link(&previous, position, &digest);
            let bytes = rewritten.as_deref().unwrap_or(bytes);
            events.insert(position, tables::event_value(&previous, bytes).as_slice())?;
            after = position;
        }
    }
    Ok(())
}

/// Files format 2's idempotency records (key as sent) under SHA-256(account ‖ key), the
/// account being the actor of the command's events; refusals, which name no account, are
/// dropped.
fn refile_idempotency(txn: &redb::WriteTransaction) -> Result<(), Step> {
    let events = txn.open_table(EVENTS)?;
    let old = match txn.open_table(format2::COMMANDS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut commands = txn.open_table(COMMANDS)?;
    for row in old.iter()? {
        let (key, value) = row?;
        let key = key.value();
        let mut record = codec::decode_command_record(value.value())
            .map_err(|e| Step::Refused(format!("an idempotency record does not decode: {e}")))?;
        let codec::CommandOutcome::Committed { first_position, .. } = record.outcome else {
            continue;
        };
        let Some(value) = events.get(first_position)? else {
            return Err(Step::Refused(format!(
                "an idempotency record names position {first_position}, which is missing"
            )));
        };
        let actor = tables::split_event(value.value())
            .ok_or_else(|| Step::Refused(format!("the event at {first_position} is truncated")))
            .and_then(|(_, bytes)| {
                codec::decode_envelope(bytes).map_err(|e| {
                    Step::Refused(format!(
                        "the event at position {first_position} does not decode: {e}"
                    ))
                })
            })?
            .meta
            .actor
            .id;
        if !is_hashed_fingerprint(&record.fingerprint) {
            let digest: [u8; 32] = Sha256::digest(record.fingerprint.as_bytes()).into();
            record.fingerprint = format!("sha256:{}", chain::show(&digest));
        }
        let bytes = codec::encode_command_record(&record).map_err(StoreError::Encode)?;
        commands.insert(tables::idempotency_key(actor, key), bytes.as_slice())?;
    }
    Ok(())
}

/// A fingerprint as the writer stores it: `sha256:` and 64 hex digits (records from before
/// fingerprints were hashed hold the request's canonical text, which names the learner).
fn is_hashed_fingerprint(fingerprint: &str) -> bool {
    fingerprint
        .strip_prefix("sha256:")
        .and_then(chain::parse_digest)
        .is_some()
}
