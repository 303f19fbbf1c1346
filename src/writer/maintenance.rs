//! Work the writer does between batches: erasing a learner's personal data, and pruning the
//! rejected-command journal.

use std::sync::Arc;

use jiff::SignedDuration;

use super::{CommandError, Writer, stored_precision};
use crate::learner_key::LearnerKey;
use crate::projections::ReadModel;
use crate::store::{Actor, Erasure, ErasureRecord, Store, StoreError};

impl Writer {
    /// Erases a learner's personal data, rewrites the file without it, and rebuilds the
    /// projections from what remains.
    pub fn erase(
        &mut self,
        key: &LearnerKey,
        actor: Actor,
        read_model: &ReadModel,
    ) -> Result<Option<Erasure>, CommandError> {
        let record = ErasureRecord {
            erased_at: stored_precision(self.clock.now()),
            actor,
        };
        let Some(erased) = erase_learner(&self.store, key, &record)
            .map_err(|e| CommandError::Store(Arc::new(e.into_store_error())))?
        else {
            return Ok(None);
        };
        read_model
            .reload(&self.store)
            .map_err(|e| CommandError::Store(Arc::new(e)))?;
        Ok(Some(erased))
    }

    /// Prunes journal entries older than the retention period, at most once a day.
    pub fn prune_journal_if_due(&mut self, read_model: &ReadModel) {
        let now = self.clock.now();
        if self
            .last_prune
            .is_some_and(|t| now.duration_since(t) < SignedDuration::from_hours(24))
        {
            return;
        }
        self.last_prune = Some(now);
        let cutoff = now - self.options.journal_retention;
        match self.store.prune_journal(cutoff) {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "pruned the rejected-command journal"),
            Err(e) => tracing::warn!(error = %e, "could not prune the rejected-command journal"),
        }
        read_model.prune_journal(cutoff);
    }
}

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

/// The erasure steps, for the writer thread and the offline `rollbook learner erase` alike:
/// erases the personal data of the learner filed under `key` in one durable transaction, then
/// rewrites the file without the old pages. `None` when no learner has that key. The caller
/// rebuilds what it derived from the text (the server: its projections).
pub fn erase_learner(
    store: &Store,
    key: &LearnerKey,
    record: &ErasureRecord,
) -> Result<Option<Erasure>, ErasureError> {
    let Some(erased) = store
        .erase_learner(key.as_str(), record)
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
    store.rewrite_file().map_err(|e| {
        tracing::error!(error = %e, "the erasure is stored, but the file could not be rewritten");
        ErasureError::Rewrite(e)
    })?;
    Ok(Some(erased))
}
