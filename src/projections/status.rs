//! Keeping the read side honest while it serves: its status (positions, last rebuild), a
//! rebuild in the background that swaps in atomically, and a shadow check that rebuilds a fresh
//! copy and compares it with the live one, naming every difference.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Instant;

use jiff::Timestamp;

use super::{Projections, ReadModel, ReplaySummary};
use crate::store::{ReadableStore, StoreError};

/// What the last full rebuild took.
#[derive(Clone, Debug, PartialEq)]
pub struct RebuildInfo {
    /// Events applied by the rebuild.
    pub events: u64,
    /// Wall time of the rebuild, in seconds.
    pub seconds: f64,
    /// `events` over `seconds` (0 when nothing was replayed).
    pub events_per_second: f64,
    /// When it finished (the wall clock, not the application's clock).
    pub finished_at: Timestamp,
}

impl RebuildInfo {
    /// From a replay summary, finished now.
    #[must_use]
    pub fn of(summary: &ReplaySummary) -> Self {
        Self {
            events: summary.events,
            seconds: summary.elapsed.as_secs_f64(),
            events_per_second: summary.rate(),
            finished_at: Timestamp::now(),
        }
    }
}

/// A background job's progress.
#[derive(Debug, Default)]
pub struct Progress {
    /// Events applied so far (updated every few thousand).
    pub done: AtomicU64,
    /// Events to do (the store's head when it started).
    pub total: u64,
}

/// What a shadow check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOutcome {
    /// The position both copies were compared at.
    pub position: u64,
    /// When it finished comparing.
    pub at: Timestamp,
    /// Every difference, precisely; empty when the live projections equal a fresh rebuild.
    pub differences: Vec<String>,
}

/// The read side's maintenance status.
#[derive(Debug, Default)]
pub struct Status {
    /// The last full rebuild (at startup, or on request).
    pub last_rebuild: Option<RebuildInfo>,
    /// A rebuild under way.
    pub rebuilding: Option<Arc<Progress>>,
    /// A shadow check under way.
    pub checking: Option<Arc<Progress>>,
    /// The last shadow check.
    pub last_check: Option<CheckOutcome>,
    /// The last background job's failure.
    pub last_error: Option<String>,
}

impl ReadModel {
    /// The maintenance status, locked: hold it briefly, never across a rebuild.
    pub fn status(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Swaps in a whole set of projections.
    pub fn replace(&self, projections: Projections) {
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = projections;
    }

    /// Starts rebuilding every projection from the store on a background thread while the live
    /// ones keep serving; when done, catches up on what was committed meanwhile and swaps the
    /// fresh ones in atomically. Returns false if a rebuild is already running.
    pub fn rebuild_in_background(self: &Arc<Self>, store: impl ReadableStore + 'static) -> bool {
        let progress = {
            let mut status = self.status();
            if status.rebuilding.is_some() {
                return false;
            }
            let total = store.read().and_then(|r| r.head_position()).unwrap_or(0);
            let progress = Arc::new(Progress {
                done: AtomicU64::new(0),
                total,
            });
            status.rebuilding = Some(progress.clone());
            progress
        };
        let model = self.clone();
        let spawned = std::thread::Builder::new()
            .name("rollbook-rebuild".to_owned())
            .spawn(move || {
                let started = Instant::now();
                let result = model.rebuild_now(&store, &progress);
                let mut status = model.status();
                status.rebuilding = None;
                match result {
                    Ok(events) => {
                        let summary = ReplaySummary {
                            events,
                            cohorts: model.read().catalog.len(),
                            elapsed: started.elapsed(),
                        };
                        tracing::info!(events, seconds = summary.elapsed.as_secs_f64(), "projections rebuilt and swapped in");
                        status.last_rebuild = Some(RebuildInfo::of(&summary));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "projection rebuild failed; the live projections keep serving");
                        status.last_error = Some(format!("rebuild failed: {e}"));
                    }
                }
            });
        if spawned.is_err() {
            self.status().rebuilding = None;
            return false;
        }
        true
    }

    /// Rebuilds from the store now and swaps the result in (after an erasure changed what
    /// the events say).
    pub fn reload(&self, store: &dyn ReadableStore) -> Result<(), StoreError> {
        let progress = Progress {
            done: AtomicU64::new(0),
            total: 0,
        };
        self.rebuild_now(store, &progress).map(|_| ())
    }

    fn rebuild_now(
        &self,
        store: &dyn ReadableStore,
        progress: &Progress,
    ) -> Result<u64, StoreError> {
        let mut fresh = Projections::rebuild_until(store, u64::MAX, &|done| {
            progress.done.store(done, Ordering::Relaxed);
        })?;
        // Swap under the write lock, after applying what was committed during the rebuild (the
        // writer publishes under the same lock, so nothing is missed or applied twice).
        let mut live = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let reader = store.read()?;
        fresh.load_tables(&reader)?;
        loop {
            let chunk = reader.events_after(fresh.position, 4096)?;
            if chunk.is_empty() {
                break;
            }
            for envelope in chunk.iter().take_while(|e| e.position <= live.position) {
                fresh.apply(envelope);
            }
            if chunk.last().is_some_and(|e| e.position >= live.position) {
                break;
            }
        }
        let events = fresh.events_applied;
        *live = fresh;
        Ok(events)
    }

    /// Rebuilds a fresh copy in the background and compares it with the live projections at the
    /// same position, recording every difference. Returns false if a check is already running.
    pub fn check_in_background(self: &Arc<Self>, store: impl ReadableStore + 'static) -> bool {
        let progress = {
            let mut status = self.status();
            if status.checking.is_some() {
                return false;
            }
            let progress = Arc::new(Progress {
                done: AtomicU64::new(0),
                total: self.read().position,
            });
            status.checking = Some(progress.clone());
            progress
        };
        let model = self.clone();
        let spawned = std::thread::Builder::new()
            .name("rollbook-check".to_owned())
            .spawn(move || {
                let result = model.check_now(&store, &progress);
                let mut status = model.status();
                status.checking = None;
                match result {
                    Ok(outcome) => {
                        if outcome.differences.is_empty() {
                            tracing::info!(position = outcome.position, "shadow check: the live projections equal a fresh rebuild");
                        } else {
                            tracing::error!(differences = ?outcome.differences, "shadow check found differences");
                        }
                        status.last_check = Some(outcome);
                    }
                    Err(e) => status.last_error = Some(format!("shadow check failed: {e}")),
                }
            });
        if spawned.is_err() {
            self.status().checking = None;
            return false;
        }
        true
    }

    /// The shadow check itself (blocking): compares the live projections with a fresh rebuild
    /// up to the live position.
    pub fn check_now(
        &self,
        store: &dyn ReadableStore,
        progress: &Progress,
    ) -> Result<CheckOutcome, StoreError> {
        let live = self.snapshot();
        let fresh = Projections::rebuild_until(store, live.position, &|done| {
            progress.done.store(done, Ordering::Relaxed);
        })?;
        Ok(CheckOutcome {
            position: live.position,
            at: Timestamp::now(),
            differences: differences(&live, &fresh),
        })
    }
}

/// Every difference between the live projections and a fresh rebuild at the same position.
/// Learners and journal entries recorded after that position may exist only in the fresh copy
/// (they come from their own tables), so only the live copy's entries are compared.
#[must_use]
pub fn differences(live: &Projections, fresh: &Projections) -> Vec<String> {
    let mut out = Vec::new();
    if live.position != fresh.position {
        out.push(format!(
            "position: live {} / rebuilt {}",
            live.position, fresh.position
        ));
    }
    out.extend(live.model_differences(fresh));
    if live.events_applied != fresh.events_applied {
        out.push(format!(
            "events applied: live {} / rebuilt {}",
            live.events_applied, fresh.events_applied
        ));
    }
    // Learners and journal entries recorded after the compared position exist only in the
    // fresh copy; every live entry must be there, the same.
    let missing_learners = live
        .directory
        .entries()
        .filter(|(id, record)| fresh.directory.get(*id) != Some(*record))
        .count();
    if missing_learners > 0 {
        out.push(format!(
            "learner directory: {missing_learners} live entries differ from the store"
        ));
    }
    out
}
