//! Learner timelines: every event about a learner, across cohorts.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::domain::{CohortId, LearnerId};
use crate::store::Envelope;

/// One event in a learner's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// Global position.
    pub position: u64,
    /// The cohort it happened in.
    pub cohort: CohortId,
    /// Stable event name.
    pub event_type: &'static str,
    /// When it was decided.
    pub occurred_at: Timestamp,
    /// Who acted.
    pub actor: String,
}

/// Per-learner timelines, in position order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timelines {
    entries: HashMap<LearnerId, Vec<TimelineEntry>>,
    position: u64,
}

impl Timelines {
    /// Records `envelope` if it concerns a learner.
    pub fn apply(&mut self, envelope: &Envelope) {
        self.position = envelope.position;
        let Some(learner) = envelope.event.learner() else {
            return;
        };
        self.entries
            .entry(learner)
            .or_default()
            .push(TimelineEntry {
                position: envelope.position,
                cohort: envelope.cohort,
                event_type: envelope.event.type_name(),
                occurred_at: envelope.occurred_at,
                actor: envelope.meta.actor.name.clone(),
            });
    }

    /// Global position of the last event applied.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// A learner's timeline, oldest first.
    #[must_use]
    pub fn of(&self, learner: LearnerId) -> &[TimelineEntry] {
        self.entries.get(&learner).map_or(&[], Vec::as_slice)
    }
}
