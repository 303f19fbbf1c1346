//! Read models: plain structs folded from the events, kept in memory.
//!
//! They are rebuilt from position 1 at startup and updated by the writer after every commit.
//! They can be thrown away and rebuilt at any time: replaying the store must give exactly the
//! projections that were built incrementally (a property test checks this). They never write.

mod catalog;
mod directory;
mod history;
mod time_travel;
mod timeline;

use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

pub use catalog::{Catalog, CatalogFilter, CohortView};
pub use directory::Directory;
pub use history::{Counters, History, HistoryEntry};
pub use time_travel::{AsOf, AsOfError, cohort_as_of};
pub use timeline::{TimelineEntry, Timelines};

use crate::domain::LearnerId;
use crate::store::{Envelope, LearnerRecord, Store, StoreError};

/// All projections, at one position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Projections {
    /// Global position of the last event applied to every projection below.
    pub position: u64,
    /// Events applied since startup's replay began.
    pub events_applied: u64,
    /// Cohort summaries, rosters and waitlists.
    pub catalog: Catalog,
    /// Per-cohort history.
    pub history: History,
    /// Per-learner timelines.
    pub timelines: Timelines,
    /// Learner keys and names.
    pub directory: Directory,
}

impl Projections {
    /// Folds one envelope into every projection. Envelopes must come in position order; one
    /// already applied is ignored, so replays and live updates may overlap safely.
    pub fn apply(&mut self, envelope: &Envelope) {
        if envelope.position <= self.position {
            return;
        }
        let before = Counters::of(self.catalog.get(envelope.cohort));
        self.catalog.apply(envelope);
        let after = Counters::of(self.catalog.get(envelope.cohort));
        self.history.apply(envelope, before, after);
        self.timelines.apply(envelope);
        self.position = envelope.position;
        self.events_applied += 1;
    }

    /// Rebuilds every projection from the store: the learner directory table, then every event
    /// from position 1.
    pub fn rebuild(store: &Store) -> Result<Self, StoreError> {
        let reader = store.read()?;
        let mut projections = Self::default();
        for (id, record) in reader.learners()? {
            projections.directory.upsert(id, record);
        }
        reader.for_each_event(|envelope| projections.apply(&envelope))?;
        Ok(projections)
    }
}

/// What a startup replay did.
#[derive(Clone, Copy, Debug)]
pub struct ReplaySummary {
    /// Events replayed.
    pub events: u64,
    /// Cohorts found.
    pub cohorts: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl ReplaySummary {
    /// Events per second (0 when nothing was replayed).
    #[must_use]
    #[allow(clippy::cast_precision_loss, reason = "a rate for a log line; 2^52 events is far off")]
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.events as f64 / secs } else { 0.0 }
    }
}

/// The shared, lockable projections the web reads and the writer updates.
#[derive(Debug, Default)]
pub struct ReadModel {
    inner: RwLock<Projections>,
}

impl ReadModel {
    /// Rebuilds from the store and reports what it took.
    pub fn rebuild(store: &Store) -> Result<(Self, ReplaySummary), StoreError> {
        let started = Instant::now();
        let projections = Projections::rebuild(store)?;
        let summary = ReplaySummary {
            events: projections.events_applied,
            cohorts: projections.catalog.len(),
            elapsed: started.elapsed(),
        };
        Ok((
            Self {
                inner: RwLock::new(projections),
            },
            summary,
        ))
    }

    /// Read access. Hold the guard only to copy out what a page needs, never across I/O.
    pub fn read(&self) -> RwLockReadGuard<'_, Projections> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies what one commit stored: directory entries, then events in order.
    pub fn publish(&self, learners: &[(LearnerId, LearnerRecord)], envelopes: &[Envelope]) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        for (id, record) in learners {
            inner.directory.upsert(*id, record.clone());
        }
        for envelope in envelopes {
            inner.apply(envelope);
        }
    }

    /// A copy of the current projections (for tests and consistency checks).
    #[must_use]
    pub fn snapshot(&self) -> Projections {
        self.read().clone()
    }
}
