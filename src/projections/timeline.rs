//! Learner timelines: the positions of every event about a learner, across cohorts. 4 bytes
//! per event; what a page shows of each (cohort, type, time, actor) is read from the event
//! index.

use jiff::Timestamp;

use super::event_index::EventIndex;
use super::positions::PositionList;
use super::{FastMap, Projection};
use crate::domain::{CohortId, LearnerId};
use crate::store::Envelope;

/// One event in a learner's timeline, as a page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// The event's global position in the log.
    pub position: u64,
    /// The cohort it happened in.
    pub cohort: CohortId,
    /// The event's stable type name, e.g. `waitlist.promoted`.
    pub event_type: &'static str,
    /// When the writer decided it (the command's time).
    pub occurred_at: Timestamp,
    /// The account name recorded on the event.
    pub actor: String,
}

/// Per-learner timelines, in position order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timelines {
    positions: FastMap<LearnerId, PositionList>,
    position: u64,
}

impl Projection for Timelines {
    const NAME: &'static str = "timelines";
    type Reads<'a> = ();

    /// Records `envelope` if it concerns a learner.
    fn apply(&mut self, envelope: &Envelope, (): ()) {
        self.position = envelope.position;
        if let Some(learner) = envelope.event.learner() {
            self.positions
                .entry(learner)
                .or_default()
                .push(envelope.position);
        }
    }

    fn shrink(&mut self) {
        self.positions
            .values_mut()
            .for_each(PositionList::shrink_to_fit);
    }

    fn position(&self) -> u64 {
        self.position
    }
}

impl Timelines {
    /// The positions of a learner's events, oldest first.
    #[must_use]
    pub fn of(&self, learner: LearnerId) -> &PositionList {
        static NONE: PositionList = PositionList::new();
        self.positions.get(&learner).unwrap_or(&NONE)
    }

    /// The whole entries of a learner's timeline, oldest first, read from the event index.
    #[must_use]
    pub fn entries(&self, learner: LearnerId, index: &EventIndex) -> Vec<TimelineEntry> {
        self.of(learner)
            .iter()
            .filter_map(|p| {
                let event = index.event(p)?;
                Some(TimelineEntry {
                    position: p,
                    cohort: event.cohort,
                    event_type: event.event_type,
                    occurred_at: event.occurred_at,
                    actor: event.actor,
                })
            })
            .collect()
    }
}
