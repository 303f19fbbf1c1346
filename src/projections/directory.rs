//! The learner directory as the read side sees it: id ↔ key and display name. Loaded from the
//! store's directory table (not from events) and updated by the writer after each commit.

use std::collections::HashMap;

use super::FastMap;
use crate::domain::LearnerId;
use crate::store::{ErasureRecord, LearnerRecord};

/// Learner ids, keys and names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    by_id: FastMap<LearnerId, LearnerRecord>,
    by_key: HashMap<String, LearnerId>,
    /// Learners whose personal data was erased (known by id only), with when and by whom.
    erased: FastMap<LearnerId, ErasureRecord>,
}

/// What pages show in place of an erased learner's name.
pub const ERASED_LEARNER: &str = "erased learner";

impl Directory {
    /// Inserts or replaces an entry.
    pub fn upsert(&mut self, id: LearnerId, record: LearnerRecord) {
        if let Some(old) = self.by_id.get(&id) {
            if old.key != record.key {
                self.by_key.remove(&old.key);
            }
        }
        self.by_key.insert(record.key.clone(), id);
        self.by_id.insert(id, record);
    }

    /// The entry of an id.
    #[must_use]
    pub fn get(&self, id: LearnerId) -> Option<&LearnerRecord> {
        self.by_id.get(&id)
    }

    /// The id filed under a normalised key.
    #[must_use]
    pub fn id_of(&self, key: &str) -> Option<LearnerId> {
        self.by_key.get(key).copied()
    }

    /// The key to show for an id: the learner's key, or the opaque id when none is on file.
    #[must_use]
    pub fn key_of(&self, id: LearnerId) -> String {
        self.by_id
            .get(&id)
            .map_or_else(|| id.to_string(), |r| r.key.clone())
    }

    /// What pages show for a learner: the key, [`ERASED_LEARNER`] for an erased learner, or
    /// the opaque id when nothing is on file.
    #[must_use]
    pub fn label_of(&self, id: LearnerId) -> String {
        match self.by_id.get(&id) {
            Some(record) => record.key.clone(),
            None if self.is_erased(id) => ERASED_LEARNER.to_owned(),
            None => id.to_string(),
        }
    }

    /// The display name of an id (may be empty); [`ERASED_LEARNER`] for an erased learner.
    #[must_use]
    pub fn name_of(&self, id: LearnerId) -> &str {
        match self.by_id.get(&id) {
            Some(record) => record.name.as_str(),
            None if self.is_erased(id) => ERASED_LEARNER,
            None => "",
        }
    }

    /// Records that a learner's personal data was erased (their entry, if any, goes).
    pub fn mark_erased(&mut self, id: LearnerId, erasure: ErasureRecord) {
        if let Some(record) = self.by_id.remove(&id) {
            self.by_key.remove(&record.key);
        }
        self.erased.insert(id, erasure);
    }

    /// Every erasure, newest first.
    #[must_use]
    pub fn erasures(&self) -> Vec<(LearnerId, &ErasureRecord)> {
        let mut out: Vec<_> = self.erased.iter().map(|(id, r)| (*id, r)).collect();
        out.sort_by(|a, b| b.1.erased_at.cmp(&a.1.erased_at).then(a.0.cmp(&b.0)));
        out
    }

    /// Whether a learner's personal data was erased.
    #[must_use]
    pub fn is_erased(&self, id: LearnerId) -> bool {
        self.erased.contains_key(&id)
    }

    /// How many learners' personal data was erased.
    #[must_use]
    pub fn erased_count(&self) -> usize {
        self.erased.len()
    }

    /// Every learner on file (erased ones are not), in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (LearnerId, &LearnerRecord)> {
        self.by_id.iter().map(|(id, r)| (*id, r))
    }

    /// How many learners are on file (erased ones are not).
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether nobody is on file.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
