//! The bounded cache of cohort states the writer keeps between batches.

use std::collections::HashMap;

use crate::domain::{Cohort, CohortId};

/// A bounded cache of cohort states; the least recently used are evicted, in bulk.
pub(super) struct CohortCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<CohortId, (Cohort, u64, u64)>,
}

impl CohortCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
        }
    }

    pub(super) fn take(&mut self, cohort: CohortId) -> Option<(Cohort, u64)> {
        self.entries
            .remove(&cohort)
            .map(|(state, version, _)| (state, version))
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(super) fn insert(&mut self, cohort: CohortId, state: Cohort, version: u64) {
        self.tick += 1;
        self.entries.insert(cohort, (state, version, self.tick));
        if self.entries.len() > self.capacity {
            // Evict the least recently used eighth at once, so eviction costs O(1) amortised.
            let mut ages: Vec<u64> = self.entries.values().map(|(_, _, used)| *used).collect();
            let cut = (self.entries.len() / 8).max(1);
            let (_, threshold, _) = ages.select_nth_unstable(cut - 1);
            let threshold = *threshold;
            self.entries.retain(|_, (_, _, used)| *used > threshold);
        }
    }
}
