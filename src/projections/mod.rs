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
    /// Global position of the last event applied to all the projections below (each also knows
    /// its own; they move together, under one lock).
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
    // ---- reports: projections of src/projections/reports.rs ----
    // ---- browse: projections of src/projections/browse.rs ----
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
        // ---- reports: apply ----
        // ---- browse: apply ----
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
    #[allow(
        clippy::cast_precision_loss,
        reason = "a rate for a log line; 2^52 events is far off"
    )]
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.events as f64 / secs
        } else {
            0.0
        }
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

    /// Brings the projections up to the store: reloads the learner directory and applies every
    /// event after the current position. For recovery when a publish may have been missed.
    pub fn catch_up(&self, store: &Store) -> Result<(), StoreError> {
        let reader = store.read()?;
        let learners = reader.learners()?;
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        for (id, record) in learners {
            inner.directory.upsert(id, record);
        }
        loop {
            let batch = reader.events_after(inner.position, 4096)?;
            if batch.is_empty() {
                return Ok(());
            }
            for envelope in &batch {
                inner.apply(envelope);
            }
        }
    }

    /// A copy of the current projections (for tests and consistency checks).
    #[must_use]
    pub fn snapshot(&self) -> Projections {
        self.read().clone()
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use uuid::Uuid;

    use super::*;
    use crate::domain::{Capacity, CohortCreated, CohortId, Event};
    use crate::store::{Actor, CommandMeta};

    fn envelope(position: u64, version: u64, event: Event) -> Envelope {
        let at: Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
        Envelope {
            position,
            cohort: CohortId(Uuid::from_u128(1)),
            version,
            schema_version: 1,
            event,
            occurred_at: at,
            recorded_at: at,
            meta: CommandMeta {
                actor: Actor::local(),
                command_id: Uuid::from_u128(position.into()),
                correlation_id: Uuid::from_u128(position.into()),
                causation_id: Uuid::from_u128(position.into()),
            },
        }
    }

    fn created() -> Event {
        let at: Timestamp = "2026-03-10T00:00:00Z".parse().unwrap();
        Event::CohortCreated(CohortCreated {
            name: "P".to_owned(),
            course: "C".to_owned(),
            instructor: "I".to_owned(),
            capacity: Capacity::new(1).unwrap(),
            starts_at: at,
            enrollment_deadline: at,
            withdrawal_deadline: at,
        })
    }

    #[test]
    fn every_projection_knows_its_position_and_ignores_what_it_already_applied() {
        let ana = crate::domain::LearnerId(Uuid::from_u128(0xa));
        let mut p = Projections::default();
        p.apply(&envelope(1, 1, created()));
        p.apply(&envelope(2, 2, Event::StudentEnrolled { learner: ana }));
        assert_eq!(
            (
                p.position,
                p.catalog.position(),
                p.history.position(),
                p.timelines.position()
            ),
            (2, 2, 2, 2)
        );
        let once = p.clone();
        p.apply(&envelope(2, 2, Event::StudentEnrolled { learner: ana }));
        assert_eq!(p, once, "a replayed envelope changes nothing");
        let view = p.catalog.get(CohortId(Uuid::from_u128(1))).unwrap();
        assert_eq!(view.state.enrolled, [ana]);
        assert_eq!(p.history.of(view.state.id).len(), 2);
        assert_eq!(p.history.of(view.state.id)[1].after.enrolled, 1);
        assert_eq!(p.timelines.of(ana).len(), 1);
    }
}
