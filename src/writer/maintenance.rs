//! Work the writer does between batches: erasing a learner's personal data, and pruning the
//! rejected-command journal.

use std::sync::Arc;

use jiff::SignedDuration;

use super::{CommandError, Writer, stored_precision};
use crate::learner_key::LearnerKey;
use crate::projections::ReadModel;
use crate::store::{Actor, Erasure, ErasureRecord};

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
        let Some(erased) = self
            .store
            .erase_and_rewrite(key.as_str(), &record)
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
