//! Cohort history: for every event of each cohort, the counters it left behind, plus what the
//! event index does not hold (withdrawal reasons, and which event freed a promoted learner's
//! seat). 24 bytes per event; the rest of a line (type, time, actor, learner) is read from the
//! event index when a page shows it, so the history does not keep every event decoded.

use std::ops::Range;

use uuid::Uuid;

use super::FastMap;
use super::browse::EventIndex;
use super::catalog::CohortView;
use super::interner::Interner;
use crate::domain::{CohortId, CohortStatus, Event, LearnerId};
use crate::store::Envelope;

/// The counters an event may change, before and after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counters {
    /// Seats taken.
    pub enrolled: u32,
    /// Learners waiting.
    pub waitlist: u32,
    /// Seats in all.
    pub capacity: u32,
    /// Whether enrollment is open.
    pub open: bool,
}

impl Counters {
    /// The counters of a view (all zero before creation).
    #[must_use]
    pub fn of(view: Option<&CohortView>) -> Self {
        view.map_or_else(Self::default, |v| Self {
            enrolled: v.state.enrolled_count(),
            waitlist: v.state.waitlist.len() as u32,
            capacity: v.state.capacity.seats(),
            open: v.state.status == CohortStatus::Open,
        })
    }
}

/// What the history keeps of one event: where it is and the counters after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Global position.
    pub position: u64,
    /// Counters after the event.
    pub after: Counters,
}

/// One line of a cohort's history, as a page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Global position.
    pub position: u64,
    /// Stream version.
    pub version: u64,
    /// Stable event name.
    pub event_type: &'static str,
    /// When it was decided.
    pub occurred_at: jiff::Timestamp,
    /// Who acted.
    pub actor: String,
    /// The learner it concerns.
    pub learner: Option<LearnerId>,
    /// Free text (withdrawal reasons).
    pub reason: Option<String>,
    /// Counters before the event.
    pub before: Counters,
    /// Counters after the event.
    pub after: Counters,
    /// For a promotion: what freed the seat — the withdrawal or capacity change of the same
    /// command, as (position, event type); `None` for a manual promotion.
    pub freed_by: Option<(u64, &'static str)>,
}

/// The last event of a cohort, as far as the next one's provenance needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Last {
    command: Uuid,
    /// The seat-freeing event a promotion right after this one (same command) owes its seat
    /// to: this event if it freed seats, else whatever freed the seat this one took.
    frees: Option<u64>,
}

/// Per-cohort history, in stream order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    steps: FastMap<CohortId, Vec<Step>>,
    /// Reasons of withdrawals and of leaving the waitlist, by position.
    reasons: FastMap<u64, u32>,
    /// Each distinct reason text once (staff pick from a few reasons far more often than they
    /// write new ones), by the code `reasons` holds.
    reason_texts: Interner<Box<str>>,
    /// The seat-freeing event of each automatic promotion, by the promotion's position.
    freed_by: FastMap<u64, u64>,
    last: FastMap<CohortId, Last>,
    position: u64,
}

impl History {
    /// Records `envelope`, given the cohort's counters after it.
    pub fn apply(&mut self, envelope: &Envelope, after: Counters) {
        self.position = envelope.position;
        let position = envelope.position;
        let command = envelope.meta.command_id;
        let previous = self.last.get(&envelope.cohort).copied();
        let frees = match &envelope.event {
            Event::StudentWithdrawn { reason, .. } => {
                let code = self.reason_code(reason);
                self.reasons.insert(position, code);
                Some(position)
            }
            Event::WaitlistLeft { reason, .. } => {
                let code = self.reason_code(reason);
                self.reasons.insert(position, code);
                None
            }
            Event::CapacityChanged { .. } => Some(position),
            // A promotion is caused by the seat-freeing event just before it in the same
            // command (or, for the second of several promotions, by the same event as the
            // one before it).
            Event::WaitlistPromoted { .. } => {
                let cause = previous
                    .filter(|p| p.command == command)
                    .and_then(|p| p.frees);
                if let Some(cause) = cause {
                    self.freed_by.insert(position, cause);
                }
                cause
            }
            _ => None,
        };
        self.last.insert(envelope.cohort, Last { command, frees });
        self.steps
            .entry(envelope.cohort)
            .or_default()
            .push(Step { position, after });
    }

    /// Gives back what the per-cohort lists grew past their length (after a replay: the
    /// doubling growth leaves a fifth of them unused on average).
    pub fn shrink(&mut self) {
        self.steps.values_mut().for_each(Vec::shrink_to_fit);
    }

    /// Global position of the last event applied.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    fn reason_code(&mut self, reason: &str) -> u32 {
        self.reason_texts
            .code(reason)
            .unwrap_or_else(|| self.reason_texts.intern(&reason.into()).0)
    }

    /// The reason given with the withdrawal or waitlist departure at `position`.
    #[must_use]
    pub fn reason(&self, position: u64) -> Option<&str> {
        self.reasons
            .get(&position)
            .and_then(|code| self.reason_texts.get(*code))
            .map(AsRef::as_ref)
    }

    /// A cohort's steps, oldest first (step `i` is stream version `i + 1`).
    #[must_use]
    pub fn of(&self, cohort: CohortId) -> &[Step] {
        self.steps.get(&cohort).map_or(&[], Vec::as_slice)
    }

    /// The whole lines of a cohort's steps in `range` (indexes into [`Self::of`]), oldest
    /// first, with what the event index knows of each.
    #[must_use]
    pub fn entries(
        &self,
        cohort: CohortId,
        range: Range<usize>,
        index: &EventIndex,
    ) -> Vec<HistoryEntry> {
        let steps = self.of(cohort);
        let range = range.start.min(steps.len())..range.end.min(steps.len());
        range.filter_map(|i| self.entry(steps, i, index)).collect()
    }

    /// The whole line of the step at `position` of `cohort`.
    #[must_use]
    pub fn entry_at(
        &self,
        cohort: CohortId,
        position: u64,
        index: &EventIndex,
    ) -> Option<HistoryEntry> {
        let steps = self.of(cohort);
        let i = steps.binary_search_by_key(&position, |s| s.position).ok()?;
        self.entry(steps, i, index)
    }

    fn entry(&self, steps: &[Step], i: usize, index: &EventIndex) -> Option<HistoryEntry> {
        let step = steps.get(i)?;
        let event = index.event(step.position)?;
        let before = i
            .checked_sub(1)
            .map_or_else(Counters::default, |j| steps[j].after);
        Some(HistoryEntry {
            position: step.position,
            version: i as u64 + 1,
            event_type: event.event_type,
            occurred_at: event.occurred_at,
            actor: event.actor,
            learner: event.learner,
            reason: self.reason(step.position).map(str::to_owned),
            before,
            after: step.after,
            freed_by: self.freed_by.get(&step.position).and_then(|cause| {
                index
                    .event(*cause)
                    .map(|freeing| (*cause, freeing.event_type))
            }),
        })
    }
}
