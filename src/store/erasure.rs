//! Erasing a learner's personal data (the right to erasure) without breaking the history: the
//! directory entry (key and name) goes, every free-text note the learner's events carry
//! (withdrawal and waitlist-departure reasons) becomes [`crate::domain::Note::Erased`] with the
//! text's SHA-256, which is what the chain hashed all along, the learner's e-mail log goes, and
//! an erasure record without personal data is kept. Events keep the opaque id. (Idempotency records hold no personal data:
//! keys and fingerprints are stored hashed.)
//! Then [`Store::rewrite_file`] copies the live data into a fresh file and swaps it in, so the
//! pages that held the old bytes are no longer part of the file.

use std::fs;

use redb::{Database, Durability, ReadableDatabase as _, ReadableTable as _};

use super::copy::{sync_parent, write_copy};
use super::tables::{self, DIRECTORY, ERASURES, EVENTS};
use super::{ErasureRecord, Reader, Store, StoreError, chain, codec};
use crate::domain::LearnerId;

/// Why an erasure failed.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    /// Nothing was erased.
    #[error(transparent)]
    Erase(StoreError),
    /// The erasure is stored, but the file still holds the old pages: run it again.
    #[error("the erasure is stored, but the file could not be rewritten: {0}")]
    Rewrite(StoreError),
}

impl ErasureError {
    /// The store's error, whichever step failed.
    #[must_use]
    pub fn into_store_error(self) -> StoreError {
        match self {
            Self::Erase(e) | Self::Rewrite(e) => e,
        }
    }
}

/// What an erasure changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Erasure {
    /// The learner's opaque id, which the events keep.
    pub learner: LearnerId,
    /// Events whose free text was replaced by its hash.
    pub events_rewritten: usize,
}

impl Store {
    /// The erasure steps, for the writer thread and the offline `rollbook learner erase` (through
    /// [`super::OfflineStore::erase_learner`]) alike: erases the personal data of the learner
    /// filed under the normalised `key` in one durable transaction, then rewrites the file
    /// without the old pages. `None` when no learner has that key. The caller rebuilds what it
    /// derived from the text (the server: its projections).
    pub fn erase_and_rewrite(
        &self,
        key: &str,
        record: &ErasureRecord,
    ) -> Result<Option<Erasure>, ErasureError> {
        let Some(erased) = self
            .erase_learner(key, record)
            .map_err(ErasureError::Erase)?
        else {
            return Ok(None);
        };
        tracing::info!(
            learner = %erased.learner,
            events_rewritten = erased.events_rewritten,
            by = %record.actor.name,
            "learner erased; rewriting the database file without the old pages"
        );
        self.rewrite_file().map_err(|e| {
            tracing::error!(error = %e, "the erasure is stored, but the file could not be rewritten");
            ErasureError::Rewrite(e)
        })?;
        Ok(Some(erased))
    }

    /// Erases the learner filed under the normalised `key`, in one durable transaction;
    /// `None` when no learner has that key (never filed, or already erased). The caller then
    /// rewrites the file ([`Store::rewrite_file`]) and rebuilds what it derived from the text.
    pub fn erase_learner(
        &self,
        key: &str,
        record: &ErasureRecord,
    ) -> Result<Option<Erasure>, StoreError> {
        let db = self.database();
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let erased = {
            let mut directory = txn.open_table(DIRECTORY)?;
            let Some(id) = directory
                .remove(key)?
                .and_then(|v| tables::split_directory(v.value()).map(|(id, _)| id))
            else {
                return Ok(None);
            };
            let learner = LearnerId(id);
            txn.open_table(ERASURES)?.insert(
                id,
                codec::encode_erasure(record)
                    .map_err(StoreError::Encode)?
                    .as_slice(),
            )?;
            // The learner's e-mail log (what was sent, and SMTP answers) goes with them.
            super::mail::erase_mail_log(&txn, id)?;
            let mut events = txn.open_table(EVENTS)?;
            let mut rewrites = Vec::new();
            for row in events.iter()? {
                let (position, value) = row?;
                let (position, value) = (position.value(), value.value());
                let (link, bytes) =
                    tables::split_event(value).ok_or_else(|| super::corrupt_event(position))?;
                // Only the learner's own events with text are decoded twice; the rest once.
                let mut envelope = super::decode_at(position, value)?;
                if envelope.event.learner() != Some(learner) {
                    continue;
                }
                let Some(note) = envelope.event.note_mut().filter(|n| !n.is_erased()) else {
                    continue;
                };
                *note = chain::erased(note);
                // An erased note exists only from the type's newest schema on; the chain
                // digests every version of a noted event at that shape, so its link holds.
                envelope.schema_version = codec::event_schema_version(&envelope.event);
                let encoded = codec::encode_envelope(&envelope).map_err(StoreError::Encode)?;
                debug_assert_ne!(encoded.as_slice(), bytes);
                rewrites.push((position, tables::event_value(&link, &encoded)));
            }
            for (position, value) in &rewrites {
                events.insert(*position, value.as_slice())?;
            }
            Erasure {
                learner,
                events_rewritten: rewrites.len(),
            }
        };
        txn.commit()?;
        Ok(Some(erased))
    }

    /// Files erasure records for learners the directory never held (an import of a history
    /// with erased learners): for [`super::OfflineStore`] only.
    pub(super) fn record_erasures(
        &self,
        erasures: &[(LearnerId, ErasureRecord)],
    ) -> Result<(), StoreError> {
        let db = self.database();
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut table = txn.open_table(ERASURES)?;
            for (id, record) in erasures {
                let bytes = codec::encode_erasure(record).map_err(StoreError::Encode)?;
                table.insert(id.0, bytes.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Copies the live data into a fresh file beside this one and swaps it in: afterwards the
    /// file holds nothing earlier transactions freed (an erased learner's old pages, say).
    /// Writers wait meanwhile; readers already reading finish on the old file.
    pub fn rewrite_file(&self) -> Result<(), StoreError> {
        let mut db = self
            .db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let fresh_path = self
            .path
            .with_file_name(format!(".{name}.rewrite-{}", std::process::id()));
        let _ = fs::remove_file(&fresh_path);
        let result = (|| {
            let reader = Reader {
                txn: db.begin_read()?,
            };
            write_copy(&reader, &fresh_path)?;
            drop(reader);
            // Opened before the rename, so the swap cannot fail half-way: the open file follows
            // the rename.
            let fresh = Database::builder()
                .set_cache_size(self.cache_size)
                .create(&fresh_path)
                .map_err(|source| super::open_error(&fresh_path, source))?;
            fs::rename(&fresh_path, &self.path).map_err(|source| StoreError::Io {
                path: self.path.clone(),
                source,
            })?;
            sync_parent(&self.path)?;
            Ok(fresh)
        })();
        match result {
            Ok(fresh) => {
                *db = fresh;
                Ok(())
            }
            Err(e) => {
                let _ = fs::remove_file(&fresh_path);
                Err(e)
            }
        }
    }
}
