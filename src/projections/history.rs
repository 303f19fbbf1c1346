//! Cohort history: every event of each cohort with who did it and what it changed.

use std::collections::HashMap;

use jiff::Timestamp;

use super::catalog::CohortView;
use crate::domain::{CohortId, CohortStatus, LearnerId};
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

/// One line of a cohort's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Global position.
    pub position: u64,
    /// Stream version.
    pub version: u64,
    /// Stable event name.
    pub event_type: &'static str,
    /// When it was decided.
    pub occurred_at: Timestamp,
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
    /// The command that caused the event.
    pub command_id: uuid::Uuid,
}

/// Per-cohort history, in stream order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    entries: HashMap<CohortId, Vec<HistoryEntry>>,
    position: u64,
}

impl History {
    /// Records `envelope`, given the cohort's counters before and after it.
    pub fn apply(&mut self, envelope: &Envelope, before: Counters, after: Counters) {
        use crate::domain::Event;
        self.position = envelope.position;
        let reason = match &envelope.event {
            Event::StudentWithdrawn { reason, .. } | Event::WaitlistLeft { reason, .. } => {
                Some(reason.clone())
            }
            _ => None,
        };
        let entries = self.entries.entry(envelope.cohort).or_default();
        // A promotion is caused by the seat-freeing event just before it in the same command
        // (or, for the second of several promotions, by the same event as the one before).
        let freed_by = match (&envelope.event, entries.last()) {
            (Event::WaitlistPromoted { .. }, Some(previous))
                if previous.command_id == envelope.meta.command_id =>
            {
                match previous.event_type {
                    "student.withdrawn" | "cohort.capacity_changed" => {
                        Some((previous.position, previous.event_type))
                    }
                    _ => previous.freed_by,
                }
            }
            _ => None,
        };
        entries.push(HistoryEntry {
            position: envelope.position,
            version: envelope.version,
            event_type: envelope.event.type_name(),
            occurred_at: envelope.occurred_at,
            actor: envelope.meta.actor.name.clone(),
            learner: envelope.event.learner(),
            reason,
            before,
            after,
            freed_by,
            command_id: envelope.meta.command_id,
        });
    }

    /// Global position of the last event applied.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// A cohort's history, oldest first.
    #[must_use]
    pub fn of(&self, cohort: CohortId) -> &[HistoryEntry] {
        self.entries.get(&cohort).map_or(&[], Vec::as_slice)
    }
}
