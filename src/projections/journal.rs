//! The rejected-command journal as the read side sees it: refused commands by cohort and by
//! learner, newest first, so "why couldn't Ana enroll on 3 March?" has an answer. Loaded from the
//! store's journal table (it is not part of the history) and kept current by the writer.

use jiff::Timestamp;

use super::FastMap;
use crate::domain::{CohortId, LearnerId};
use crate::store::JournalEntry;

/// Refused commands, indexed by cohort and learner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journal {
    entries: FastMap<u64, JournalEntry>,
    by_cohort: FastMap<CohortId, Vec<u64>>,
    by_learner: FastMap<LearnerId, Vec<u64>>,
}

impl Journal {
    /// Adds an entry (ids ascend).
    pub fn add(&mut self, id: u64, entry: JournalEntry) {
        self.by_cohort.entry(entry.cohort).or_default().push(id);
        if let Some(learner) = entry.learner {
            self.by_learner.entry(learner).or_default().push(id);
        }
        self.entries.insert(id, entry);
    }

    /// Forgets entries recorded before `cutoff` (the retention period).
    pub fn prune(&mut self, cutoff: Timestamp) {
        self.entries.retain(|_, e| e.at >= cutoff);
        let entries = &self.entries;
        self.by_cohort.retain(|_, ids| {
            ids.retain(|id| entries.contains_key(id));
            !ids.is_empty()
        });
        self.by_learner.retain(|_, ids| {
            ids.retain(|id| entries.contains_key(id));
            !ids.is_empty()
        });
    }

    /// How many refused commands are kept (within the retention period).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn newest<'a>(
        &'a self,
        ids: Option<&'a Vec<u64>>,
        limit: usize,
    ) -> Vec<(u64, &'a JournalEntry)> {
        ids.map(|ids| {
            ids.iter()
                .rev()
                .filter_map(|id| self.entries.get(id).map(|e| (*id, e)))
                .take(limit)
                .collect()
        })
        .unwrap_or_default()
    }

    /// A cohort's refused commands, newest first.
    #[must_use]
    pub fn of_cohort(&self, cohort: CohortId, limit: usize) -> Vec<(u64, &JournalEntry)> {
        self.newest(self.by_cohort.get(&cohort), limit)
    }

    /// A learner's refused commands, newest first.
    #[must_use]
    pub fn of_learner(&self, learner: LearnerId, limit: usize) -> Vec<(u64, &JournalEntry)> {
        self.newest(self.by_learner.get(&learner), limit)
    }
}
