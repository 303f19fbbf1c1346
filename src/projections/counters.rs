//! The counters of one cohort (seats taken, learners waiting, offers held, seats, open,
//! cancelled), what one event
//! changed in them, and sums of them over a set of cohorts: what the history, the report
//! models and the dashboard keep instead of whole cohort states.

use crate::domain::{Cohort, CohortStatus, Event};

/// The counters an event may change, before and after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counters {
    /// Seats taken: learners enrolled.
    pub enrolled: u32,
    /// Learners on the waitlist.
    pub waitlist: u32,
    /// Seats in all (0 only before the cohort exists).
    pub capacity: u32,
    /// Whether enrollment is open.
    pub open: bool,
    /// Seats held for an offer.
    pub offers: u32,
    /// Whether the cohort was cancelled (its seats no longer count).
    pub cancelled: bool,
}

impl Counters {
    /// The counters of a cohort's state (all zero before creation).
    #[must_use]
    pub fn of(state: Option<&Cohort>) -> Self {
        state.map_or_else(Self::default, |s| Self {
            enrolled: s.enrolled_count(),
            waitlist: u32::try_from(s.waitlist.len()).unwrap_or(u32::MAX),
            capacity: s.capacity.seats(),
            open: s.status == CohortStatus::Open,
            offers: u32::try_from(s.offers.len()).unwrap_or(u32::MAX),
            cancelled: s.status == CohortStatus::Cancelled,
        })
    }

    /// Seats taken: enrolled plus held for an offer.
    #[must_use]
    pub const fn taken(&self) -> u32 {
        self.enrolled.saturating_add(self.offers)
    }

    /// The seats that count in sums: none once cancelled.
    #[must_use]
    pub const fn live_seats(&self) -> u32 {
        if self.cancelled { 0 } else { self.capacity }
    }

    /// The counters after an event of type `kind` (an index into [`Event::TYPE_NAMES`]), when
    /// they follow from these by the type alone; `None` for creation, capacity changes and
    /// transfers, whose counters depend on the event's data or the learner's place.
    pub(super) fn follow(self, kind: u8) -> Option<Self> {
        let mut next = self;
        match Event::TYPE_NAMES.get(usize::from(kind)).copied()? {
            "student.enrolled" => next.enrolled = next.enrolled.checked_add(1)?,
            "student.waitlisted" => next.waitlist = next.waitlist.checked_add(1)?,
            "student.withdrawn" => next.enrolled = next.enrolled.checked_sub(1)?,
            "waitlist.left" => next.waitlist = next.waitlist.checked_sub(1)?,
            "waitlist.promoted" => {
                next.waitlist = next.waitlist.checked_sub(1)?;
                next.enrolled = next.enrolled.checked_add(1)?;
            }
            "enrollment.closed" => next.open = false,
            "enrollment.reopened" => next.open = true,
            "cohort.rescheduled" | "cohort.details_changed" | "cohort.policy_changed" => {}
            "cohort.cancelled" => {
                next.open = false;
                next.cancelled = true;
            }
            // Released in the order the rules emit: the enrolled, then offers, then waiting.
            "student.released" => {
                if next.enrolled > 0 {
                    next.enrolled -= 1;
                } else if next.offers > 0 {
                    next.offers -= 1;
                } else {
                    next.waitlist = next.waitlist.checked_sub(1)?;
                }
            }
            "waitlist.offered" => {
                next.waitlist = next.waitlist.checked_sub(1)?;
                next.offers = next.offers.checked_add(1)?;
            }
            "offer.accepted" => {
                next.offers = next.offers.checked_sub(1)?;
                next.enrolled = next.enrolled.checked_add(1)?;
            }
            "offer.declined" | "offer.expired" => next.offers = next.offers.checked_sub(1)?,
            _ => return None,
        }
        Some(next)
    }
}

/// The counters of the cohort the catalog's last event touched, before and after that event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// Before the event (all zero when it created the cohort).
    pub before: Counters,
    /// After the event (all zero when the event's cohort does not exist).
    pub after: Counters,
}

/// Sums over a set of cohorts, kept up to date from each event's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Cohorts created.
    pub cohorts: u64,
    /// Cohorts still open for enrollment.
    pub open: u64,
    /// Capacity summed over the cohorts.
    pub seats: u64,
    /// Learners enrolled, summed over the cohorts.
    pub enrolled: u64,
    /// Learners waiting (a learner waiting for two cohorts counts twice).
    pub waitlisted: u64,
    /// Seats held for an offer.
    pub offers: u64,
    /// Cohorts cancelled (still counted in `cohorts`; their seats are not in `seats`).
    pub cancelled: u64,
}

impl Totals {
    /// Moves the sums by what one event changed in one cohort. A cohort exists once its
    /// capacity is non-zero (a capacity is at least 1).
    pub(super) fn shift(&mut self, before: Counters, after: Counters) {
        fn by(total: &mut u64, before: u32, after: u32) {
            // Adding first never underflows: the total includes what `before` contributed.
            *total = (*total + u64::from(after)).saturating_sub(u64::from(before));
        }
        by(
            &mut self.cohorts,
            u32::from(before.capacity > 0),
            u32::from(after.capacity > 0),
        );
        by(
            &mut self.open,
            u32::from(before.open),
            u32::from(after.open),
        );
        by(&mut self.seats, before.live_seats(), after.live_seats());
        by(&mut self.enrolled, before.enrolled, after.enrolled);
        by(&mut self.waitlisted, before.waitlist, after.waitlist);
        by(&mut self.offers, before.offers, after.offers);
        by(
            &mut self.cancelled,
            u32::from(before.cancelled),
            u32::from(after.cancelled),
        );
    }

    /// Seats taken, in percent of all seats (0 when there are none).
    #[must_use]
    pub fn fill_percent(&self) -> u64 {
        self.enrolled * 100 / self.seats.max(1)
    }
}
