//! The learner directory as the read side sees it: id ↔ key and display name. Loaded from the
//! store's directory table (not from events) and updated by the writer after each commit.

use std::collections::HashMap;

use super::FastMap;
use crate::domain::LearnerId;
use crate::store::LearnerRecord;

/// Learner ids, keys and names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    by_id: FastMap<LearnerId, LearnerRecord>,
    by_key: HashMap<String, LearnerId>,
}

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

    /// The display name of an id (may be empty).
    #[must_use]
    pub fn name_of(&self, id: LearnerId) -> &str {
        self.by_id.get(&id).map_or("", |r| r.name.as_str())
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = (LearnerId, &LearnerRecord)> {
        self.by_id.iter().map(|(id, r)| (*id, r))
    }

    /// Number of learners on file.
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
