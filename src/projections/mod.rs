//! Read models: plain structs folded from the events, kept in memory.
//!
//! Each read model implements [`Projection`] in a file of its own and is registered once, in
//! the `registry!` call below, which makes it a field of [`Projections`]. Replay at startup,
//! catch-up, the live updates after each commit, rebuilds, the status (positions) and the
//! shadow check all go through that registry. They can be thrown away and rebuilt at any time:
//! replaying the store must give exactly the projections that were built incrementally (a
//! property test checks this). They never write.

mod codes;
mod counters;
mod detail;
mod diff;
mod directory;
mod interner;
mod journal;
mod positions;
#[macro_use]
mod registry;
mod status;
#[cfg(test)]
mod tests;
mod time_travel;

use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

pub use catalog::{CatalogFilter, CatalogQuery, CatalogSort, CohortView, SortKey, fold_key};
pub use counters::{Change, Counters, Totals};
pub use detail::EventDetail;
pub use diff::CohortDiff;
pub use directory::Directory;
pub use event_index::{Cursor, EventFilter, EventPage, IndexedEvent, Narrowing};
pub use history::HistoryEntry;
pub use instructors::InstructorEntry;
pub use journal::Journal;
pub use positions::{PositionIter, PositionList};
pub use registry::{Applied, Projection};
pub use search::{
    COHORT_FIELDS, Hit, LEARNER_FIELDS, MIN_SUBSTRING, Rank, SearchResults, nearest, rank_text,
};
pub use seat_weeks::{WeekCounts, WeekPage, week_of, week_page};
pub use signals::{
    Deadline, DeadlineKind, NEAR_FULL_PERCENT, is_near_full, next_deadline, seat_free_while_waiting,
};
pub use status::{CheckOutcome, Progress, RebuildInfo, Status};
pub use time_travel::{AsOf, AsOfError, cohort_as_of};
pub use timeline::TimelineEntry;
pub use withdrawals::{Withdrawal, WithdrawalFilter, WithdrawalKey, WithdrawalKind};

use crate::domain::{CohortId, LearnerId};
use crate::store::{Envelope, JournalEntry, LearnerRecord, ReadableStore, StoreError};

/// A hash map with a fast hasher, for keys the server makes (random ids, positions) rather than
/// text people type.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

// Every read model folded from the events, once, in the order the status lists them:
// `field: module::Type`, which declares the module (`src/projections/module.rs`), re-exports the
// type and makes it a field of `Projections`; `reads (…)` names the models its `apply` reads
// (see `Projection::Reads`).
registry! {
    /// Cohort summaries, rosters and waitlists.
    catalog: catalog::Catalog,
    /// Per-cohort history.
    history: history::History reads (catalog),
    /// Per-learner timelines.
    timelines: timeline::Timelines,
    /// Cohorts by instructor.
    instructors: instructors::Instructors reads (catalog),
    /// Withdrawals and waitlist departures, by time, instructor and course.
    withdrawals: withdrawals::Withdrawals reads (catalog, events),
    /// Seat changes per ISO week.
    seat_weeks: seat_weeks::SeatWeeks,
    /// The dashboard's signals and totals.
    signals: signals::Signals reads (catalog),
    /// The event browser's index of every position.
    events: event_index::EventIndex,
    /// The search box's index of cohorts and learners.
    search: search::SearchIndex,
}

impl Projections {
    /// The whole lines of a cohort's history in `range` (indexes into `history.of`).
    #[must_use]
    pub fn history_entries(
        &self,
        cohort: CohortId,
        range: std::ops::Range<usize>,
    ) -> Vec<HistoryEntry> {
        self.history.entries(cohort, range, &self.events)
    }

    /// One page of the events matching `filter`, newest first (see [`EventIndex::page`]).
    #[must_use]
    pub fn event_page(&self, filter: &EventFilter, cursor: Cursor, limit: usize) -> EventPage {
        let lists = narrowing(filter, &self.history, &self.timelines);
        self.events.page(filter, cursor, limit, lists)
    }

    /// Up to `limit` positions of the events matching `filter` from `cursor` on, in walk order
    /// (see [`EventIndex::walk`]).
    #[must_use]
    pub fn walk_events(&self, filter: &EventFilter, cursor: Cursor, limit: usize) -> Vec<u64> {
        let lists = narrowing(filter, &self.history, &self.timelines);
        self.events.walk(filter, cursor, limit, lists)
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
        self.withdrawals
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

/// The positions the event index may walk for `filter`: its cohort's history and its learner's
/// timeline, when it names them.
fn narrowing<'a>(
    filter: &EventFilter,
    history: &'a History,
    timelines: &'a Timelines,
) -> Narrowing<'a> {
    Narrowing {
        cohort: filter.cohort.map(|c| history.of(c)),
        learner: filter.learner.map(|l| timelines.of(l)),
    }
}

/// What a startup replay did.
#[derive(Clone, Copy, Debug)]
pub struct ReplaySummary {
    /// Events applied by the replay.
    pub events: u64,
    /// Cohorts in the catalog after it.
    pub cohorts: usize,
    /// Wall time of the whole replay, tables and events.
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
    /// When the next outstanding offer expires, announced after each publish that changed it
    /// (the offer scheduler waits on it).
    next_offer: tokio::sync::watch::Sender<Option<jiff::Timestamp>>,
    /// The position applied, announced after each publish that advanced it (webhook delivery
    /// waits on it).
    head: tokio::sync::watch::Sender<u64>,
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
        let next_offer = tokio::sync::watch::Sender::new(projections.signals.next_offer_expiry());
        let head = tokio::sync::watch::Sender::new(projections.position);
        let model = Self {
            inner: RwLock::new(projections),
            status: std::sync::Mutex::default(),
            next_offer,
            head,
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
        self.announce_next_offer(&inner);
        self.announce_head(&inner);
    }

    /// A receiver of the position applied, told each time a commit advances it.
    #[must_use]
    pub fn head_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.head.subscribe()
    }

    fn announce_head(&self, inner: &Projections) {
        let position = inner.position;
        self.head.send_if_modified(|current| {
            let changed = *current != position;
            *current = position;
            changed
        });
    }

    /// A receiver of when the next outstanding offer expires, told each time a commit changes
    /// it (see [`Signals::next_offer_expiry`]).
    #[must_use]
    pub fn next_offer_changes(&self) -> tokio::sync::watch::Receiver<Option<jiff::Timestamp>> {
        self.next_offer.subscribe()
    }

    fn announce_next_offer(&self, inner: &Projections) {
        let next = inner.signals.next_offer_expiry();
        self.next_offer.send_if_modified(|current| {
            let changed = *current != next;
            *current = next;
            changed
        });
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
                self.announce_next_offer(&inner);
                self.announce_head(&inner);
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
