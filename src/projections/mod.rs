//! Read models: plain structs folded from the events, kept in memory.
//!
//! They are rebuilt from position 1 at startup and updated by the writer after every commit.
//! They can be thrown away and rebuilt at any time: replaying the store must give exactly the
//! projections that were built incrementally (a property test checks this). They never write.

mod browse;
mod catalog;
mod codes;
mod directory;
mod history;
mod interner;
mod journal;
mod positions;
mod reports;
mod status;
mod time_travel;
mod timeline;

use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

pub use browse::{
    COHORT_FIELDS, CohortDiff, Cursor, EventFilter, EventIndex, EventPage, Hit, IndexedEvent,
    LEARNER_FIELDS, MIN_SUBSTRING, Rank, SearchIndex, SearchResults,
};
pub use catalog::{Catalog, CatalogFilter, CohortView};
pub use directory::Directory;
pub use history::{Counters, History, HistoryEntry};
pub use journal::Journal;
pub use positions::{PositionIter, PositionList};
pub use reports::{
    Deadline, DeadlineKind, InstructorEntry, Instructors, NEAR_FULL_PERCENT, Reports, SeatWeeks,
    Signals, Totals, WeekCounts, WeekPage, Withdrawal, WithdrawalFilter, WithdrawalKey,
    WithdrawalKind, Withdrawals, is_near_full, next_deadline, seat_free_while_waiting, week_of,
    week_page,
};
pub use status::{CheckOutcome, Progress, RebuildInfo, Status};
pub use time_travel::{AsOf, AsOfError, cohort_as_of};
pub use timeline::{TimelineEntry, Timelines};

use crate::domain::{CohortId, LearnerId};
use crate::store::{Envelope, JournalEntry, LearnerRecord, ReadableStore, StoreError};

/// A hash map with a fast hasher, for keys the server makes (random ids, positions) rather than
/// text people type.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

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
    /// Refused commands (from their own table, within the retention period).
    pub journal: Journal,
    // ---- reports: projections of src/projections/reports.rs ----
    /// Cohorts by instructor, withdrawals, seat changes per week, dashboard signals.
    pub reports: Reports,
    // ---- browse: projections of src/projections/browse.rs ----
    /// The event browser's index of every position.
    pub events: EventIndex,
    /// The search box's index of cohorts and learners.
    pub search: SearchIndex,
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
        // ---- browse: apply ----
        // The event index first: the withdrawals read their times from it.
        self.events.apply(envelope);
        self.search.apply(envelope);
        self.history.apply(envelope, after);
        self.timelines.apply(envelope);
        // ---- reports: apply ----
        self.reports.apply(
            envelope,
            self.catalog.get(envelope.cohort),
            before,
            after,
            &self.events,
        );
        self.position = envelope.position;
        self.events_applied += 1;
    }

    /// Gives back memory the replay's growth left unused.
    fn shrink(&mut self) {
        self.history.shrink();
        self.timelines.shrink();
        self.reports.shrink();
    }

    /// The whole lines of a cohort's history in `range` (indexes into `history.of`).
    #[must_use]
    pub fn history_entries(
        &self,
        cohort: CohortId,
        range: std::ops::Range<usize>,
    ) -> Vec<HistoryEntry> {
        self.history.entries(cohort, range, &self.events)
    }

    /// When `learner` got the seat or waitlist place they hold in `view` (a current or past
    /// view of a cohort), read from their timeline.
    #[must_use]
    pub fn since(&self, view: &CohortView, learner: LearnerId) -> Option<jiff::Timestamp> {
        self.events
            .joined_at(self.timelines.of(learner), view.state.id, view.position)
    }

    /// The withdrawals matching `filter`, newest first, after `before` when given (see
    /// [`Withdrawals::newest`]).
    #[must_use]
    pub fn withdrawals<'a>(
        &'a self,
        filter: &WithdrawalFilter,
        before: Option<WithdrawalKey>,
    ) -> Box<dyn Iterator<Item = Withdrawal> + 'a> {
        self.reports
            .withdrawals
            .newest(filter, before, &self.events, &self.history)
    }

    /// A learner's whole timeline, oldest first.
    #[must_use]
    pub fn timeline(&self, learner: LearnerId) -> Vec<TimelineEntry> {
        self.timelines.entries(learner, &self.events)
    }

    /// Loads what is kept in tables rather than folded from events: the learner directory (every
    /// entry upserted) and the rejected-command journal (replaced whole).
    pub fn load_tables(&mut self, reader: &crate::store::Reader) -> Result<(), StoreError> {
        for (id, record) in reader.learners()? {
            self.search.file_learner(id, &record);
            self.directory.upsert(id, record);
        }
        for (id, erasure) in reader.erasures()? {
            self.directory.mark_erased(id, erasure);
        }
        let mut journal = Journal::default();
        for (id, entry) in reader.journal()? {
            journal.add(id, entry);
        }
        self.journal = journal;
        Ok(())
    }

    /// Each projection's name and the global position it has applied.
    #[must_use]
    pub fn positions(&self) -> [(&'static str, u64); 9] {
        [
            ("catalog", self.catalog.position()),
            ("history", self.history.position()),
            ("timelines", self.timelines.position()),
            ("instructors", self.reports.instructors.position()),
            ("withdrawals", self.reports.withdrawals.position()),
            ("seat changes", self.reports.seat_weeks.position()),
            ("signals", self.reports.signals.position()),
            ("event index", self.events.position()),
            ("search", self.search.position()),
        ]
    }

    /// Rebuilds every projection from the store: the learner directory table, then every event
    /// from position 1.
    ///
    /// Reading and decoding run on their own thread, a chunk ahead of applying: on a machine
    /// with a core to spare the two overlap. Chunks are small: the decoded envelopes waiting
    /// in the queue are freed right after, but the memory they took stays with the process.
    pub fn rebuild(store: &dyn ReadableStore) -> Result<Self, StoreError> {
        Self::rebuild_reporting(store, &|_| {})
    }

    /// [`Projections::rebuild`], calling `progress` with the events applied every few thousand.
    pub fn rebuild_reporting(
        store: &dyn ReadableStore,
        progress: &dyn Fn(u64),
    ) -> Result<Self, StoreError> {
        const CHUNK: usize = 256;
        let reader = store.read()?;
        let mut projections = Self::default();
        projections.load_tables(&reader)?;
        std::thread::scope(|scope| {
            let (chunks, received) = std::sync::mpsc::sync_channel::<Vec<Envelope>>(4);
            let decoding = std::thread::Builder::new()
                .name("rollbook-replay".to_owned())
                .spawn_scoped(scope, move || {
                    let mut chunk = Vec::with_capacity(CHUNK);
                    reader.for_each_event(|envelope| {
                        chunk.push(envelope);
                        if chunk.len() == CHUNK {
                            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                            // The receiver only hangs up if applying panicked; that panic is
                            // what the caller sees.
                            let _ = chunks.send(full);
                        }
                    })?;
                    let _ = chunks.send(chunk);
                    Ok::<(), StoreError>(())
                })
                .map_err(|source| StoreError::Io {
                    path: "(the replay's reading thread)".into(),
                    source,
                })?;
            for chunk in received {
                for envelope in &chunk {
                    projections.apply(envelope);
                }
                if projections.events_applied % 8192 < CHUNK as u64 {
                    progress(projections.events_applied);
                }
            }
            decoding
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })?;
        projections.shrink();
        Ok(projections)
    }

    /// Rebuilds from the store up to global position `up_to`, reporting progress (events done)
    /// every few thousand events: for a rebuild or check while the server runs.
    pub fn rebuild_until(
        store: &dyn ReadableStore,
        up_to: u64,
        progress: &dyn Fn(u64),
    ) -> Result<Self, StoreError> {
        let reader = store.read()?;
        let mut projections = Self::default();
        projections.load_tables(&reader)?;
        loop {
            let chunk = reader.events_after(projections.position, 4096)?;
            let Some(last) = chunk.last().map(|e| e.position) else {
                break;
            };
            for envelope in chunk.iter().take_while(|e| e.position <= up_to) {
                projections.apply(envelope);
            }
            progress(projections.events_applied);
            if last >= up_to {
                break;
            }
        }
        projections.shrink();
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
    status: std::sync::Mutex<status::Status>,
}

impl ReadModel {
    /// Rebuilds from the store and reports what it took.
    pub fn rebuild(store: &dyn ReadableStore) -> Result<(Self, ReplaySummary), StoreError> {
        Self::rebuild_reporting(store, &|_| {})
    }

    /// [`ReadModel::rebuild`], calling `progress` with the events applied now and then.
    pub fn rebuild_reporting(
        store: &dyn ReadableStore,
        progress: &dyn Fn(u64),
    ) -> Result<(Self, ReplaySummary), StoreError> {
        let started = Instant::now();
        let projections = Projections::rebuild_reporting(store, progress)?;
        let summary = ReplaySummary {
            events: projections.events_applied,
            cohorts: projections.catalog.len(),
            elapsed: started.elapsed(),
        };
        let model = Self {
            inner: RwLock::new(projections),
            status: std::sync::Mutex::default(),
        };
        model.status().last_rebuild = Some(status::RebuildInfo::of(&summary));
        Ok((model, summary))
    }

    /// Read access. Hold the guard only to copy out what a page needs, never across I/O.
    pub fn read(&self) -> RwLockReadGuard<'_, Projections> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies what one commit stored: directory entries, journal entries, then events in
    /// order.
    pub fn publish(
        &self,
        learners: &[(LearnerId, LearnerRecord)],
        journal: &[(u64, JournalEntry)],
        envelopes: &[Envelope],
    ) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        for (id, record) in learners {
            inner.search.file_learner(*id, record);
            inner.directory.upsert(*id, record.clone());
        }
        for (id, entry) in journal {
            inner.journal.add(*id, entry.clone());
        }
        for envelope in envelopes {
            inner.apply(envelope);
        }
    }

    /// Brings the projections up to the store: reloads the learner directory and applies every
    /// event after the current position. For recovery when a publish may have been missed.
    pub fn catch_up(&self, store: &dyn ReadableStore) -> Result<(), StoreError> {
        let reader = store.read()?;
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.load_tables(&reader)?;
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

    /// Forgets journal entries recorded before `cutoff`.
    pub fn prune_journal(&self, cutoff: jiff::Timestamp) {
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .journal
            .prune(cutoff);
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
        let lines = p.history_entries(view.state.id, 0..2);
        assert_eq!((lines[1].before.enrolled, lines[1].after.enrolled), (0, 1));
        assert_eq!(lines[1].event_type, "student.enrolled");
        assert_eq!(p.timelines.of(ana).len(), 1);
    }

    #[test]
    fn history_lines_show_the_counters_the_catalog_had_around_every_event() {
        // Capacity 1 (from `created`): enrollments, a waitlist, capacity changes up and down
        // (counters not implied by the type) and a closing, over several checkpoints.
        let who = |n: u128| crate::domain::LearnerId(Uuid::from_u128(0x100 + n));
        let capacity = |from: u64, to: u64| Event::CapacityChanged {
            from: Capacity::new(from).unwrap(),
            to: Capacity::new(to).unwrap(),
        };
        let mut events = vec![created(), Event::StudentEnrolled { learner: who(0) }];
        for n in 1..=20 {
            events.push(Event::StudentWaitlisted {
                learner: who(n),
                position: n as u32,
            });
        }
        events.push(capacity(1, 5));
        for n in 1..=4 {
            events.push(Event::WaitlistPromoted { learner: who(n) });
        }
        events.push(Event::StudentWithdrawn {
            learner: who(0),
            reason_code: crate::domain::ReasonCode::Other,
            reason: "moved".into(),
        });
        events.push(Event::WaitlistPromoted { learner: who(5) });
        events.push(Event::WaitlistLeft {
            learner: who(9),
            reason: crate::domain::Note::default(),
        });
        events.push(capacity(5, 7));
        for n in 6..=7 {
            events.push(Event::WaitlistPromoted { learner: who(n) });
        }
        events.push(Event::EnrollmentClosed);
        let mut p = Projections::default();
        let mut expected = Vec::new();
        for (i, event) in events.into_iter().enumerate() {
            let n = i as u64 + 1;
            let before = Counters::of(p.catalog.get(CohortId(Uuid::from_u128(1))));
            p.apply(&envelope(n, n, event));
            let after = Counters::of(p.catalog.get(CohortId(Uuid::from_u128(1))));
            expected.push((before, after));
        }
        let cohort = CohortId(Uuid::from_u128(1));
        let lines = p.history_entries(cohort, 0..expected.len());
        let shown: Vec<(Counters, Counters)> = lines.iter().map(|l| (l.before, l.after)).collect();
        assert_eq!(shown, expected);
        for (i, (before, after)) in expected.iter().enumerate() {
            let start = p.history_entries(cohort, i..i + 1);
            assert_eq!(
                (start[0].before, start[0].after),
                (*before, *after),
                "step {i}"
            );
            let at = p.history.entry_at(cohort, i as u64 + 1, &p.events).unwrap();
            assert_eq!((at.before, at.after), (*before, *after), "step {i}");
        }
        let last = expected.last().unwrap().1;
        assert_eq!(
            (last.enrolled, last.waitlist, last.capacity, last.open),
            (7, 12, 7, false)
        );
    }
}
