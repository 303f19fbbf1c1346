//! The dashboard's signals: near-full cohorts, seats free while learners wait, dates coming
//! up, offers falling due, and totals over every cohort, kept as small indexes so a dashboard costs only what it
//! shows. Queries take `now`; the model never reads the clock.

use std::collections::BTreeSet;

use jiff::Timestamp;
use uuid::Uuid;

use super::catalog::Catalog;
use super::counters::{Counters, Totals};
use super::{Applied, Projection};
use crate::domain::{Cohort, CohortId, CohortStatus, Event, LearnerId};
use crate::store::Envelope;

/// A cohort is near full at this share of its seats taken, in percent.
pub const NEAR_FULL_PERCENT: u64 = 90;

/// Which date of a cohort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeadlineKind {
    /// No enrollment after it.
    Enrollment,
    /// No withdrawal after it.
    Withdrawal,
    /// The first session.
    Start,
}

impl DeadlineKind {
    /// The label pages show for it, e.g. "enrollment deadline".
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Enrollment => "enrollment deadline",
            Self::Withdrawal => "withdrawal deadline",
            Self::Start => "starts",
        }
    }
}

/// The next date of `cohort` at or after `now`: its enrollment deadline (unless enrollment is
/// closed), withdrawal deadline, or start, whichever comes first.
#[must_use]
pub fn next_deadline(cohort: &Cohort, now: Timestamp) -> Option<(DeadlineKind, Timestamp)> {
    [
        (DeadlineKind::Enrollment, cohort.enrollment_deadline),
        (DeadlineKind::Withdrawal, cohort.withdrawal_deadline),
        (DeadlineKind::Start, cohort.starts_at),
    ]
    .into_iter()
    .filter(|(kind, at)| {
        *at >= now && !(*kind == DeadlineKind::Enrollment && cohort.status == CohortStatus::Closed)
    })
    .min_by_key(|(kind, at)| (*at, *kind))
}

/// Whether `cohort` is open with at least [`NEAR_FULL_PERCENT`] of its seats taken (a seat
/// held for an offer is taken).
#[must_use]
pub fn is_near_full(cohort: &Cohort) -> bool {
    cohort.status == CohortStatus::Open
        && u64::from(cohort.seats_taken()) * 100
            >= u64::from(cohort.capacity.seats()) * NEAR_FULL_PERCENT
}

/// Whether `cohort` is open with a free seat while learners wait: the rules promote at once, so
/// this should never hold.
#[must_use]
pub fn seat_free_while_waiting(cohort: &Cohort) -> bool {
    cohort.status == CohortStatus::Open
        && cohort.seats_remaining() > 0
        && !cohort.waitlist.is_empty()
}

/// A deadline in the index: when, whose, which.
pub type Deadline = (Timestamp, CohortId, DeadlineKind);

/// What the dashboard shows above the list, kept as small indexes so it costs per request only
/// what it shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// Near-full cohorts by enrollment deadline.
    near_full: BTreeSet<(Timestamp, CohortId)>,
    /// Open cohorts with a free seat and a waitlist.
    seat_free_while_waiting: BTreeSet<CohortId>,
    /// Every date of every cohort (a closed cohort's enrollment deadline is dropped; a
    /// cancelled cohort has none).
    deadlines: BTreeSet<Deadline>,
    /// Outstanding offers by expiry: what falls due next, and when.
    offers: BTreeSet<(Timestamp, CohortId, LearnerId)>,
    totals: Totals,
    position: u64,
}

fn keep<T: Ord>(set: &mut BTreeSet<T>, item: T, wanted: bool) {
    if wanted {
        set.insert(item);
    } else {
        set.remove(&item);
    }
}

impl Projection for Signals {
    const NAME: &'static str = "signals";
    /// The catalog, for the cohort's dates and status and the counters around the event.
    type Reads<'a> = Applied<'a, Catalog>;

    fn apply(&mut self, envelope: &Envelope, catalog: Applied<'_, Catalog>) {
        let (before, after) = (catalog.change().before, catalog.change().after);
        self.position = envelope.position;
        self.totals.shift(before, after);
        let Some(view) = catalog.get(envelope.cohort) else {
            return;
        };
        let cohort = &view.state;
        match &envelope.event {
            // The dates move (or stop mattering): the cohort's entries keyed by them are
            // dropped and filed again from its state.
            Event::CohortRescheduled { .. }
            | Event::EnrollmentReopened { .. }
            | Event::CohortCancelled { .. } => {
                self.deadlines.retain(|(_, id, _)| *id != cohort.id);
                self.near_full.retain(|(_, id)| *id != cohort.id);
                self.seat_free_while_waiting.remove(&cohort.id);
                if cohort.status != CohortStatus::Cancelled {
                    self.file_dates(cohort);
                }
                keep(
                    &mut self.near_full,
                    (cohort.enrollment_deadline, cohort.id),
                    is_near_full(cohort),
                );
                keep(
                    &mut self.seat_free_while_waiting,
                    cohort.id,
                    seat_free_while_waiting(cohort),
                );
                return;
            }
            Event::WaitlistOffered {
                learner,
                expires_at,
                ..
            } => {
                self.offers.insert((*expires_at, cohort.id, *learner));
            }
            Event::OfferAccepted { learner }
            | Event::OfferDeclined { learner, .. }
            | Event::OfferExpired { learner }
            | Event::StudentReleased { learner }
            | Event::StudentTransferredOut { learner, .. } => {
                let (id, learner) = (cohort.id, *learner);
                self.offers.retain(|(_, c, l)| (*c, *l) != (id, learner));
            }
            _ => {}
        }
        if before.capacity == 0 {
            self.file_dates(cohort);
        }
        if cohort.status == CohortStatus::Closed {
            self.deadlines.remove(&(
                cohort.enrollment_deadline,
                cohort.id,
                DeadlineKind::Enrollment,
            ));
        }
        // The sets change only when a predicate flips; the counters around the event tell
        // which did, without a lookup (a cohort enters the sets only once it exists).
        let near_full = |c: Counters| {
            c.capacity > 0
                && c.open
                && u64::from(c.taken()) * 100 >= u64::from(c.capacity) * NEAR_FULL_PERCENT
        };
        let free_while_waiting =
            |c: Counters| c.capacity > 0 && c.open && c.capacity > c.taken() && c.waitlist > 0;
        if near_full(before) != near_full(after) {
            keep(
                &mut self.near_full,
                (cohort.enrollment_deadline, cohort.id),
                is_near_full(cohort),
            );
        }
        if free_while_waiting(before) != free_while_waiting(after) {
            keep(
                &mut self.seat_free_while_waiting,
                cohort.id,
                seat_free_while_waiting(cohort),
            );
        }
    }

    fn position(&self) -> u64 {
        self.position
    }
}

impl Signals {
    /// Files the three dates of `cohort` (its enrollment deadline only while not closed).
    fn file_dates(&mut self, cohort: &Cohort) {
        if cohort.status == CohortStatus::Open {
            self.deadlines.insert((
                cohort.enrollment_deadline,
                cohort.id,
                DeadlineKind::Enrollment,
            ));
        }
        self.deadlines.extend([
            (
                cohort.withdrawal_deadline,
                cohort.id,
                DeadlineKind::Withdrawal,
            ),
            (cohort.starts_at, cohort.id, DeadlineKind::Start),
        ]);
    }

    /// Outstanding offers expiring at or before `until`, soonest first: (expires at, cohort,
    /// learner). An offer already past its expiry is still listed until `offer.expired` is
    /// recorded.
    pub fn offers_due_by(
        &self,
        until: Timestamp,
    ) -> impl Iterator<Item = (Timestamp, CohortId, LearnerId)> + '_ {
        self.offers
            .iter()
            .take_while(move |(at, _, _)| *at <= until)
            .copied()
    }

    /// When the next outstanding offer expires, if any.
    #[must_use]
    pub fn next_offer_expiry(&self) -> Option<Timestamp> {
        self.offers.first().map(|(at, _, _)| *at)
    }

    /// Sums over every cohort.
    #[must_use]
    pub const fn totals(&self) -> Totals {
        self.totals
    }

    /// Near-full cohorts still taking enrollments at `now`, soonest enrollment deadline first.
    pub fn near_full(&self, now: Timestamp) -> impl Iterator<Item = CohortId> + '_ {
        self.near_full
            .range((now, CohortId(Uuid::nil()))..)
            .map(|(_, id)| *id)
    }

    /// Open cohorts with a free seat while learners wait.
    pub fn seat_free_while_waiting(&self) -> impl Iterator<Item = CohortId> + '_ {
        self.seat_free_while_waiting.iter().copied()
    }

    /// Dates from `from` to `to` (both included), soonest first.
    pub fn deadlines_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Iterator<Item = Deadline> + '_ {
        let range = if from <= to {
            self.deadlines.range(
                (from, CohortId(Uuid::nil()), DeadlineKind::Enrollment)
                    ..=(to, CohortId(Uuid::max()), DeadlineKind::Start),
            )
        } else {
            self.deadlines.range(
                ..(
                    Timestamp::MIN,
                    CohortId(Uuid::nil()),
                    DeadlineKind::Enrollment,
                ),
            )
        };
        range.copied()
    }
}
