//! Model-based test of the cohort aggregate.
//!
//! A small reference model of a cohort, written from the rules in the design (not from the
//! domain code), runs side by side with `Cohort::decide` + `apply` over thousands of random
//! command sequences: creations, enrollments, withdrawals, waitlist departures, promotions,
//! capacity changes, closings, reopenings, reschedules, changes of details, cancellations,
//! policy changes (offers held for a while, waitlist caps), offers accepted, declined and
//! expired (by any command reaching an overdue offer, or by the scheduler's expiry), transfers
//! between the two cohorts (checked against `decide_transfer`: the same refusal naming the same
//! cohort, or the same events on both streams), and clock
//! moves across both deadlines and offers' expiry (exactly-at instants included), over two
//! cohorts and a small pool of learners. After every step the
//! decision (accepted, or refused with which rule and facts), the events, the resulting state
//! and the aggregate's invariants must agree; at the end, replaying each stream must give the
//! state built step by step.

use std::collections::{BTreeSet, VecDeque};

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{TestCaseError, TestRunner};
use rollbook::domain::{
    Capacity, Cohort, CohortCommand, CohortCreated, CohortId, CohortStatus, Event, LearnerId,
    NewCohort, PromotionPolicy, ReasonCode, RuleViolation, ScheduleProblem, decide_transfer,
};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// The world: a few cohorts, a few learners, a few instants
// ---------------------------------------------------------------------------------------------

const COHORTS: usize = 2;
const LEARNERS: usize = 6;
/// Capacities drawn for creations and changes: small, so cohorts fill and waitlists form.
const MAX_SEATS: u32 = 5;
/// Deadlines are drawn from this grid (seconds after [`base`]).
const DEADLINE_GRID_SECS: [i64; 3] = [100, 200, 300];
/// One microsecond: the store keeps microseconds, so this is the smallest step that matters.
const TICK: i64 = 1;
const REASONS: [&str; 3] = ["", "moved away", "changé d’avis"];
/// Offer holds drawn for policies (seconds).
const HOLD_SECS: [i64; 2] = [50, 120];
/// Waitlist caps drawn for policies: small, so they are reached.
const MAX_CAP: u32 = 2;
/// Names, courses and instructors a change of details draws from (the first is the creation's).
const NAMES: [&str; 2] = ["Model cohort", "Renamed cohort"];
const COURSES: [&str; 2] = ["RUST-101", "RUST-102"];
const INSTRUCTORS: [&str; 2] = ["Ada", "Grace"];

/// Instants are microseconds after this one: 2026-03-01T00:00:00Z.
fn base() -> Timestamp {
    Timestamp::from_second(1_772_323_200).expect("valid base instant")
}

fn instant(micros: i64) -> Timestamp {
    base() + SignedDuration::from_micros(micros)
}

fn micros_of(t: Timestamp) -> i64 {
    t.as_microsecond() - base().as_microsecond()
}

fn deadline(grid_index: usize) -> i64 {
    DEADLINE_GRID_SECS[grid_index] * 1_000_000
}

fn hold(index: usize) -> i64 {
    HOLD_SECS[index] * 1_000_000
}

/// Where the clock may move: the start, each deadline, one tick either side of it, the expiry
/// of an offer made at the start or at a deadline (and one tick before it), and long after
/// everything.
fn clock_points() -> Vec<i64> {
    let mut points = vec![0, 10_000 * 1_000_000];
    let mut bases = vec![0];
    for i in 0..DEADLINE_GRID_SECS.len() {
        let d = deadline(i);
        points.extend([d - TICK, d, d + TICK]);
        bases.push(d);
    }
    for base in bases {
        for h in 0..HOLD_SECS.len() {
            points.extend([base + hold(h) - TICK, base + hold(h)]);
        }
    }
    points
}

fn cohort_id(index: usize) -> CohortId {
    CohortId(Uuid::from_u128(0xC0_0000 + index as u128))
}

fn learner_id(index: usize) -> LearnerId {
    LearnerId(Uuid::from_u128(0x1E_0000 + index as u128))
}

fn learner_index(id: LearnerId) -> usize {
    let index = id.0.as_u128().wrapping_sub(0x1E_0000);
    assert!(
        index < LEARNERS as u128,
        "event names an unknown learner {id}"
    );
    index as usize
}

// ---------------------------------------------------------------------------------------------
// Operations, as generated
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Create {
        cohort: usize,
        seats: u32,
        enrollment: usize,
        withdrawal: usize,
        /// Offers held `HOLD_SECS[i]` (`None`: automatic), and a waitlist cap.
        hold: Option<usize>,
        cap: Option<u32>,
    },
    Enroll {
        cohort: usize,
        learner: usize,
    },
    Withdraw {
        cohort: usize,
        learner: usize,
        reason: usize,
    },
    LeaveWaitlist {
        cohort: usize,
        learner: usize,
        reason: usize,
    },
    Promote {
        cohort: usize,
    },
    ChangeCapacity {
        cohort: usize,
        seats: u32,
    },
    Close {
        cohort: usize,
    },
    /// Reopen, moving the enrollment deadline to a grid point if given.
    Reopen {
        cohort: usize,
        deadline: Option<usize>,
        reason: usize,
    },
    /// Grid points (starts on the grid too), `None` unchanged.
    Reschedule {
        cohort: usize,
        starts: Option<usize>,
        enrollment: Option<usize>,
        withdrawal: Option<usize>,
    },
    /// Indexes into NAMES, COURSES, INSTRUCTORS, `None` unchanged.
    Details {
        cohort: usize,
        name: Option<usize>,
        course: Option<usize>,
        instructor: Option<usize>,
    },
    Cancel {
        cohort: usize,
        reason: usize,
    },
    SetPolicy {
        cohort: usize,
        hold: Option<usize>,
        cap: Option<u32>,
    },
    Accept {
        cohort: usize,
        learner: usize,
    },
    Decline {
        cohort: usize,
        learner: usize,
        reason: usize,
    },
    Expire {
        cohort: usize,
    },
    /// Move a learner from cohort `from` to cohort `to` (the same one now and then), joining
    /// a full target's waitlist only if `allow_waitlist`.
    Transfer {
        from: usize,
        to: usize,
        learner: usize,
        allow_waitlist: bool,
        reason: usize,
    },
    /// Move the clock to this many microseconds after [`base`] (forwards or back).
    Clock(i64),
    /// Move the clock forward by `HOLD_SECS[i]`: exactly to the expiry of the offers just made.
    Wait(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let cohort = 0..COHORTS;
    let learner = 0..LEARNERS;
    let grid = 0..DEADLINE_GRID_SECS.len();
    let reason = 0..REASONS.len();
    let holds = 0..HOLD_SECS.len();
    let two = 0..2usize;
    prop_oneof![
        1 => (
            cohort.clone(),
            1..=MAX_SEATS,
            grid.clone(),
            grid.clone(),
            prop::option::of(holds.clone()),
            prop::option::of(0..=MAX_CAP),
        )
            .prop_map(|(cohort, seats, enrollment, withdrawal, hold, cap)| Op::Create {
                cohort,
                seats,
                enrollment,
                withdrawal,
                hold,
                cap,
            }),
        1 => (cohort.clone(), prop::option::of(grid.clone()), reason.clone())
            .prop_map(|(cohort, deadline, reason)| Op::Reopen { cohort, deadline, reason }),
        1 => (
            cohort.clone(),
            prop::option::of(0..=DEADLINE_GRID_SECS.len()),
            prop::option::of(grid.clone()),
            prop::option::of(grid.clone()),
        )
            .prop_map(|(cohort, starts, enrollment, withdrawal)| Op::Reschedule {
                cohort,
                starts,
                enrollment,
                withdrawal,
            }),
        1 => (
            cohort.clone(),
            prop::option::of(two.clone()),
            prop::option::of(two.clone()),
            prop::option::of(two),
        )
            .prop_map(|(cohort, name, course, instructor)| Op::Details {
                cohort,
                name,
                course,
                instructor,
            }),
        1 => (cohort.clone(), 0..8usize, reason.clone())
            // A cancellation only one time in four: it ends the cohort's sequence.
            .prop_map(|(cohort, roll, reason)| if roll < 2 {
                Op::Cancel { cohort, reason }
            } else {
                Op::Close { cohort }
            }),
        2 => (cohort.clone(), prop::option::of(holds), prop::option::of(0..=MAX_CAP))
            .prop_map(|(cohort, hold, cap)| Op::SetPolicy { cohort, hold, cap }),
        4 => (cohort.clone(), learner.clone())
            .prop_map(|(cohort, learner)| Op::Accept { cohort, learner }),
        2 => (cohort.clone(), learner.clone(), reason.clone())
            .prop_map(|(cohort, learner, reason)| Op::Decline { cohort, learner, reason }),
        1 => cohort.clone().prop_map(|cohort| Op::Expire { cohort }),
        8 => (cohort.clone(), cohort.clone(), learner.clone(), any::<bool>(), reason.clone())
            .prop_map(|(from, to, learner, allow_waitlist, reason)| Op::Transfer {
                from,
                to,
                learner,
                allow_waitlist,
                reason,
            }),
        10 => (cohort.clone(), learner.clone())
            .prop_map(|(cohort, learner)| Op::Enroll { cohort, learner }),
        5 => (cohort.clone(), learner.clone(), reason.clone())
            .prop_map(|(cohort, learner, reason)| Op::Withdraw { cohort, learner, reason }),
        2 => (cohort.clone(), learner, reason)
            .prop_map(|(cohort, learner, reason)| Op::LeaveWaitlist { cohort, learner, reason }),
        2 => cohort.clone().prop_map(|cohort| Op::Promote { cohort }),
        3 => (cohort.clone(), 1..=MAX_SEATS)
            .prop_map(|(cohort, seats)| Op::ChangeCapacity { cohort, seats }),
        1 => cohort.prop_map(|cohort| Op::Close { cohort }),
        4 => prop::sample::select(clock_points()).prop_map(Op::Clock),
        2 => (0..HOLD_SECS.len()).prop_map(Op::Wait),
    ]
}

/// A valid creation of `cohort`: deadlines in order.
fn valid_creation(cohort: usize) -> impl Strategy<Value = Op> {
    let grid = 0..DEADLINE_GRID_SECS.len();
    (
        1..=MAX_SEATS,
        grid.clone(),
        grid,
        prop::option::of(0..HOLD_SECS.len()),
        prop::option::of(0..=MAX_CAP),
    )
        .prop_map(move |(seats, a, b, hold, cap)| Op::Create {
            cohort,
            seats,
            enrollment: a.min(b),
            withdrawal: a.max(b),
            hold,
            cap,
        })
}

/// A sequence: cohort 0 is created first with a valid schedule (so most steps meet a cohort),
/// and most often cohort 1 too (so transfers have somewhere to go), then random operations.
fn sequence() -> impl Strategy<Value = Vec<Op>> {
    (
        valid_creation(0),
        prop::option::weighted(0.75, valid_creation(1)),
        prop::collection::vec(op(), 1..80),
    )
        .prop_map(|(first, second, rest)| {
            std::iter::once(first).chain(second).chain(rest).collect()
        })
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

/// A cohort as the rules describe it. Learners are indices into the pool; times are
/// microseconds after [`base`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct ModelCohort {
    seats: u32,
    open: bool,
    cancelled: bool,
    name: String,
    course: String,
    instructor: String,
    starts: i64,
    enrollment_deadline: i64,
    withdrawal_deadline: i64,
    /// How long a freed seat is held as an offer (`None`: promoted at once).
    hold: Option<i64>,
    cap: Option<u32>,
    /// In the order they got their seat.
    enrolled: Vec<usize>,
    /// Outstanding offers, in the order made: (learner, offered at, expires at).
    offers: Vec<(usize, i64, i64)>,
    /// Head first, with the 1-based place each joined at.
    waitlist: VecDeque<(usize, u32)>,
}

/// What an accepted command did, in the model's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Effect {
    Created {
        seats: u32,
        enrollment_deadline: i64,
        withdrawal_deadline: i64,
    },
    Enrolled(usize),
    Waitlisted {
        learner: usize,
        place: u32,
    },
    Withdrawn {
        learner: usize,
        reason: String,
    },
    LeftWaitlist {
        learner: usize,
        reason: String,
    },
    Promoted(usize),
    CapacityChanged {
        from: u32,
        to: u32,
    },
    Closed,
    Reopened(String),
    Rescheduled {
        starts: i64,
        enrollment: i64,
        withdrawal: i64,
    },
    DetailsChanged {
        name: String,
        course: String,
        instructor: String,
    },
    Cancelled(String),
    Released(usize),
    PolicyChanged {
        hold: Option<i64>,
        cap: Option<u32>,
    },
    Offered {
        learner: usize,
        offered_at: i64,
        expires_at: i64,
    },
    Accepted(usize),
    Declined {
        learner: usize,
        reason: String,
    },
    Expired(usize),
    TransferredOut {
        learner: usize,
        to: usize,
        reason: String,
    },
    TransferredIn {
        learner: usize,
        from: usize,
        waitlisted_at: Option<u32>,
    },
}

/// Why a command is refused, with the facts the rule checked.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Refusal {
    NotFound(usize),
    AlreadyExists(usize),
    Closed,
    EnrollmentDeadlinePassed {
        deadline: i64,
        now: i64,
    },
    WithdrawalDeadlinePassed {
        deadline: i64,
        now: i64,
    },
    AlreadyEnrolled(usize),
    AlreadyWaitlisted {
        learner: usize,
        place: u32,
        len: u32,
    },
    NotEnrolled(usize),
    NotWaitlisted(usize),
    WaitlistEmpty,
    NoSeatFree {
        enrolled: u32,
        seats: u32,
    },
    BelowEnrolled {
        requested: u32,
        enrolled: u32,
    },
    Unchanged(u32),
    InvalidSchedule {
        withdrawal: i64,
        enrollment: i64,
    },
    NotClosed,
    Cancelled,
    DeadlineInPast {
        deadline: i64,
        now: i64,
    },
    WaitlistFull {
        cap: u32,
        waiting: u32,
    },
    NoOffer(usize),
    OfferExpired {
        learner: usize,
        expired_at: i64,
    },
    NothingChanged,
    AlreadyOffered {
        learner: usize,
        expires_at: i64,
    },
    NoOfferDue {
        now: i64,
        next: Option<i64>,
    },
    SameCohort,
}

impl Refusal {
    /// The API's code for the rule (issue 2's list, and issue 15's).
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "cohort_not_found",
            Self::AlreadyExists(_) => "cohort_exists",
            Self::Closed => "enrollment_closed",
            Self::EnrollmentDeadlinePassed { .. } => "enrollment_deadline_passed",
            Self::WithdrawalDeadlinePassed { .. } => "withdrawal_deadline_passed",
            Self::AlreadyEnrolled(_) => "already_enrolled",
            Self::AlreadyWaitlisted { .. } => "already_waitlisted",
            Self::NotEnrolled(_) => "not_enrolled",
            Self::NotWaitlisted(_) => "not_waitlisted",
            Self::WaitlistEmpty => "waitlist_empty",
            Self::NoSeatFree { .. } => "no_seat_free",
            Self::BelowEnrolled { .. } => "capacity_below_enrolled",
            Self::Unchanged(_) => "capacity_unchanged",
            Self::InvalidSchedule { .. } => "invalid_schedule",
            Self::NotClosed => "not_closed",
            Self::Cancelled => "cohort_cancelled",
            Self::DeadlineInPast { .. } => "deadline_in_past",
            Self::WaitlistFull { .. } => "waitlist_full",
            Self::NoOffer(_) => "no_offer",
            Self::OfferExpired { .. } => "offer_expired",
            Self::NothingChanged => "nothing_changed",
            Self::AlreadyOffered { .. } => "already_offered",
            Self::NoOfferDue { .. } => "no_offer_due",
            Self::SameCohort => "same_cohort",
        }
    }
}

type Outcome = Result<Vec<Effect>, Refusal>;

/// A transfer decided by the model: the effects on the cohort left and on the cohort joined,
/// or the refusal and the index of the cohort it names.
type TransferOutcome = Result<(Vec<Effect>, Vec<Effect>), (usize, Refusal)>;

impl ModelCohort {
    fn count(&self) -> u32 {
        u32::try_from(self.enrolled.len()).unwrap()
    }

    /// Seats enrolled or held by an offer: a held seat counts as taken.
    fn taken(&self) -> u32 {
        u32::try_from(self.enrolled.len() + self.offers.len()).unwrap()
    }

    fn place_of(&self, learner: usize) -> Option<u32> {
        let index = self.waitlist.iter().position(|&(l, _)| l == learner)?;
        Some(u32::try_from(index + 1).unwrap())
    }

    fn offer_of(&self, learner: usize) -> Option<(usize, i64, i64)> {
        self.offers.iter().copied().find(|&(l, _, _)| l == learner)
    }

    fn leave_waitlist(&mut self, learner: usize, reason: &str) -> Vec<Effect> {
        self.waitlist.retain(|&(l, _)| l != learner);
        vec![Effect::LeftWaitlist {
            learner,
            reason: reason.to_owned(),
        }]
    }

    /// The waitlist head takes a free seat: at once, or as an offer held from `now`.
    fn give_head_the_seat(&mut self, now: i64, effects: &mut Vec<Effect>) {
        let Some((head, _)) = self.waitlist.pop_front() else {
            return;
        };
        match self.hold {
            None => {
                self.enrolled.push(head);
                effects.push(Effect::Promoted(head));
            }
            Some(hold) => {
                self.offers.push((head, now, now + hold));
                effects.push(Effect::Offered {
                    learner: head,
                    offered_at: now,
                    expires_at: now + hold,
                });
            }
        }
    }

    /// While open with a seat free (offers count as taken), the waitlist head takes it,
    /// strictly in order.
    fn fill_from_waitlist(&mut self, now: i64, effects: &mut Vec<Effect>) {
        while self.open && self.taken() < self.seats && !self.waitlist.is_empty() {
            self.give_head_the_seat(now, effects);
        }
    }

    /// Offers whose hold ran out by `now` lapse, in the order made; the seats they free are
    /// filled. Returns the lapsed offers.
    fn expire(&mut self, now: i64, effects: &mut Vec<Effect>) -> Vec<(usize, i64, i64)> {
        let lapsed: Vec<_> = self
            .offers
            .iter()
            .copied()
            .filter(|&(_, _, expires)| expires <= now)
            .collect();
        self.offers.retain(|&(_, _, expires)| expires > now);
        for &(learner, _, _) in &lapsed {
            effects.push(Effect::Expired(learner));
        }
        if !lapsed.is_empty() {
            self.fill_from_waitlist(now, effects);
        }
        lapsed
    }

    fn enroll(&mut self, learner: usize, now: i64) -> Outcome {
        self.check_join(learner, now)?;
        if self.taken() < self.seats {
            self.enrolled.push(learner);
            return Ok(vec![Effect::Enrolled(learner)]);
        }
        let waiting = u32::try_from(self.waitlist.len()).unwrap();
        if let Some(cap) = self.cap.filter(|&cap| waiting >= cap) {
            return Err(Refusal::WaitlistFull { cap, waiting });
        }
        let place = waiting + 1;
        self.waitlist.push_back((learner, place));
        Ok(vec![Effect::Waitlisted { learner, place }])
    }

    /// The learner may join (enroll, or transfer in): open, before the enrollment deadline,
    /// not already held here.
    fn check_join(&self, learner: usize, now: i64) -> Result<(), Refusal> {
        if !self.open {
            return Err(Refusal::Closed);
        }
        if now > self.enrollment_deadline {
            return Err(Refusal::EnrollmentDeadlinePassed {
                deadline: self.enrollment_deadline,
                now,
            });
        }
        if self.enrolled.contains(&learner) {
            return Err(Refusal::AlreadyEnrolled(learner));
        }
        if let Some(place) = self.place_of(learner) {
            return Err(Refusal::AlreadyWaitlisted {
                learner,
                place,
                len: u32::try_from(self.waitlist.len()).unwrap(),
            });
        }
        if let Some((_, _, expires_at)) = self.offer_of(learner) {
            return Err(Refusal::AlreadyOffered {
                learner,
                expires_at,
            });
        }
        Ok(())
    }

    fn withdraw(
        &mut self,
        learner: usize,
        reason: &str,
        lapsed: &[(usize, i64, i64)],
        now: i64,
    ) -> Outcome {
        // A waitlisted learner holds no seat: withdrawing them is leaving the waitlist, which no
        // deadline limits.
        if self.place_of(learner).is_some() {
            return Ok(self.leave_waitlist(learner, reason));
        }
        // Holding an offer: withdrawing declines it.
        if self.offer_of(learner).is_some() {
            return Ok(self.decline(learner, reason, now));
        }
        if !self.enrolled.contains(&learner) {
            if let Some(&(_, _, expired_at)) = lapsed.iter().find(|o| o.0 == learner) {
                return Err(Refusal::OfferExpired {
                    learner,
                    expired_at,
                });
            }
            return Err(Refusal::NotEnrolled(learner));
        }
        if now > self.withdrawal_deadline {
            return Err(Refusal::WithdrawalDeadlinePassed {
                deadline: self.withdrawal_deadline,
                now,
            });
        }
        self.enrolled.retain(|&l| l != learner);
        let mut effects = vec![Effect::Withdrawn {
            learner,
            reason: reason.to_owned(),
        }];
        self.fill_from_waitlist(now, &mut effects);
        Ok(effects)
    }

    fn decline(&mut self, learner: usize, reason: &str, now: i64) -> Vec<Effect> {
        self.offers.retain(|o| o.0 != learner);
        let mut effects = vec![Effect::Declined {
            learner,
            reason: reason.to_owned(),
        }];
        self.fill_from_waitlist(now, &mut effects);
        effects
    }

    /// The learner's offer can be answered: not just lapsed, and held.
    fn answerable(&self, learner: usize, lapsed: &[(usize, i64, i64)]) -> Result<(), Refusal> {
        if let Some(&(_, _, expired_at)) = lapsed.iter().find(|o| o.0 == learner) {
            return Err(Refusal::OfferExpired {
                learner,
                expired_at,
            });
        }
        if self.offer_of(learner).is_none() {
            return Err(Refusal::NoOffer(learner));
        }
        Ok(())
    }

    fn check_schedule(enrollment: i64, withdrawal: i64) -> Result<(), Refusal> {
        if withdrawal < enrollment {
            return Err(Refusal::InvalidSchedule {
                withdrawal,
                enrollment,
            });
        }
        Ok(())
    }

    fn reopen(&mut self, deadline: Option<i64>, reason: &str, now: i64) -> Outcome {
        if self.open {
            return Err(Refusal::NotClosed);
        }
        let d = deadline.unwrap_or(self.enrollment_deadline);
        if d <= now {
            return Err(Refusal::DeadlineInPast { deadline: d, now });
        }
        Self::check_schedule(d, self.withdrawal_deadline)?;
        let mut effects = Vec::new();
        if d != self.enrollment_deadline {
            self.enrollment_deadline = d;
            effects.push(Effect::Rescheduled {
                starts: self.starts,
                enrollment: d,
                withdrawal: self.withdrawal_deadline,
            });
        }
        self.open = true;
        effects.push(Effect::Reopened(reason.to_owned()));
        self.fill_from_waitlist(now, &mut effects);
        Ok(effects)
    }

    fn reschedule(
        &mut self,
        starts: Option<i64>,
        enrollment: Option<i64>,
        withdrawal: Option<i64>,
        now: i64,
    ) -> Outcome {
        let s = starts.unwrap_or(self.starts);
        let e = enrollment.unwrap_or(self.enrollment_deadline);
        let w = withdrawal.unwrap_or(self.withdrawal_deadline);
        if (s, e, w)
            == (
                self.starts,
                self.enrollment_deadline,
                self.withdrawal_deadline,
            )
        {
            return Err(Refusal::NothingChanged);
        }
        for (before, after) in [(self.enrollment_deadline, e), (self.withdrawal_deadline, w)] {
            if after != before && after <= now {
                return Err(Refusal::DeadlineInPast {
                    deadline: after,
                    now,
                });
            }
        }
        Self::check_schedule(e, w)?;
        (
            self.starts,
            self.enrollment_deadline,
            self.withdrawal_deadline,
        ) = (s, e, w);
        Ok(vec![Effect::Rescheduled {
            starts: s,
            enrollment: e,
            withdrawal: w,
        }])
    }

    fn cancel(&mut self, reason: &str) -> Vec<Effect> {
        let mut effects = vec![Effect::Cancelled(reason.to_owned())];
        let held = self
            .enrolled
            .iter()
            .copied()
            .chain(self.offers.iter().map(|o| o.0))
            .chain(self.waitlist.iter().map(|w| w.0));
        effects.extend(held.map(Effect::Released));
        self.enrolled.clear();
        self.offers.clear();
        self.waitlist.clear();
        self.cancelled = true;
        self.open = false;
        effects
    }

    /// The rules of design.md and issue 15's design; mutates only on success (the caller
    /// restores the state on a refusal).
    fn step(&mut self, op: &Op, now: i64) -> Outcome {
        if let Op::Create { cohort, .. } = *op {
            return Err(Refusal::AlreadyExists(cohort));
        }
        if self.cancelled {
            return Err(Refusal::Cancelled);
        }
        // First, as every decision does: overdue offers lapse and their seats are filled.
        let mut effects = Vec::new();
        let lapsed = self.expire(now, &mut effects);
        let more = self.decide(op, &lapsed, now)?;
        effects.extend(more);
        Ok(effects)
    }

    fn promote(&mut self, now: i64) -> Outcome {
        if !self.open {
            return Err(Refusal::Closed);
        }
        if self.waitlist.is_empty() {
            return Err(Refusal::WaitlistEmpty);
        }
        if self.taken() >= self.seats {
            return Err(Refusal::NoSeatFree {
                enrolled: self.taken(),
                seats: self.seats,
            });
        }
        let mut effects = Vec::new();
        self.give_head_the_seat(now, &mut effects);
        Ok(effects)
    }

    fn change_capacity(&mut self, seats: u32, now: i64) -> Outcome {
        if seats == self.seats {
            return Err(Refusal::Unchanged(seats));
        }
        if seats < self.taken() {
            return Err(Refusal::BelowEnrolled {
                requested: seats,
                enrolled: self.taken(),
            });
        }
        let mut effects = vec![Effect::CapacityChanged {
            from: self.seats,
            to: seats,
        }];
        self.seats = seats;
        self.fill_from_waitlist(now, &mut effects);
        Ok(effects)
    }

    fn details(
        &mut self,
        name: Option<usize>,
        course: Option<usize>,
        instructor: Option<usize>,
    ) -> Outcome {
        let after = (
            name.map_or_else(|| self.name.clone(), |i| NAMES[i].to_owned()),
            course.map_or_else(|| self.course.clone(), |i| COURSES[i].to_owned()),
            instructor.map_or_else(|| self.instructor.clone(), |i| INSTRUCTORS[i].to_owned()),
        );
        if after
            == (
                self.name.clone(),
                self.course.clone(),
                self.instructor.clone(),
            )
        {
            return Err(Refusal::NothingChanged);
        }
        (self.name, self.course, self.instructor) = after.clone();
        Ok(vec![Effect::DetailsChanged {
            name: after.0,
            course: after.1,
            instructor: after.2,
        }])
    }

    fn set_policy(&mut self, hold: Option<i64>, cap: Option<u32>, now: i64) -> Outcome {
        if (hold, cap) == (self.hold, self.cap) {
            return Err(Refusal::NothingChanged);
        }
        (self.hold, self.cap) = (hold, cap);
        let mut effects = vec![Effect::PolicyChanged { hold, cap }];
        self.fill_from_waitlist(now, &mut effects);
        Ok(effects)
    }

    fn decide(&mut self, op: &Op, lapsed: &[(usize, i64, i64)], now: i64) -> Outcome {
        match *op {
            Op::Create { .. } | Op::Clock(_) | Op::Wait(_) | Op::Transfer { .. } => {
                unreachable!("not decided here")
            }
            Op::Enroll { learner, .. } => self.enroll(learner, now),
            Op::Withdraw {
                learner, reason, ..
            } => self.withdraw(learner, REASONS[reason], lapsed, now),
            Op::LeaveWaitlist {
                learner, reason, ..
            } => {
                if self.place_of(learner).is_none() {
                    return Err(Refusal::NotWaitlisted(learner));
                }
                Ok(self.leave_waitlist(learner, REASONS[reason]))
            }
            Op::Promote { .. } => self.promote(now),
            Op::ChangeCapacity { seats, .. } => self.change_capacity(seats, now),
            Op::Close { .. } => {
                if !self.open {
                    return Err(Refusal::Closed);
                }
                self.open = false;
                Ok(vec![Effect::Closed])
            }
            Op::Reopen {
                deadline: d,
                reason,
                ..
            } => self.reopen(d.map(deadline), REASONS[reason], now),
            Op::Reschedule {
                starts,
                enrollment,
                withdrawal,
                ..
            } => self.reschedule(
                starts.map(start_point),
                enrollment.map(deadline),
                withdrawal.map(deadline),
                now,
            ),
            Op::Details {
                name,
                course,
                instructor,
                ..
            } => self.details(name, course, instructor),
            Op::Cancel { reason, .. } => Ok(self.cancel(REASONS[reason])),
            Op::SetPolicy { hold: h, cap, .. } => self.set_policy(h.map(hold), cap, now),
            Op::Accept { learner, .. } => {
                self.answerable(learner, lapsed)?;
                self.offers.retain(|o| o.0 != learner);
                self.enrolled.push(learner);
                Ok(vec![Effect::Accepted(learner)])
            }
            Op::Decline {
                learner, reason, ..
            } => {
                self.answerable(learner, lapsed)?;
                Ok(self.decline(learner, REASONS[reason], now))
            }
            Op::Expire { .. } => {
                if lapsed.is_empty() {
                    return Err(Refusal::NoOfferDue {
                        now,
                        next: self.offers.iter().map(|o| o.2).min(),
                    });
                }
                Ok(Vec::new())
            }
        }
    }
}

/// A transfer from cohort `from` to cohort `to`, by the README's rules: an enrolled learner
/// leaves A only until A's withdrawal deadline, a waitlisted or offered one at any time; B
/// must be open, before its enrollment deadline and not hold the learner; the learner takes a
/// free seat in B (offers count as taken), or joins B's waitlist only if allowed and under its
/// cap; the seat freed in A is filled. Each side first lets its overdue offers lapse. Both
/// cohorts are changed only on success.
fn model_transfer(
    cohorts: &mut [Option<ModelCohort>; COHORTS],
    (from, to): (usize, usize),
    learner: usize,
    allow_waitlist: bool,
    reason: &str,
    now: i64,
) -> TransferOutcome {
    if from == to {
        return Err((from, Refusal::SameCohort));
    }
    let mut a = cohorts[from].clone().expect("both cohorts exist");
    let mut b = cohorts[to].clone().expect("both cohorts exist");
    if a.cancelled {
        return Err((from, Refusal::Cancelled));
    }
    let mut out = Vec::new();
    let lapsed = a.expire(now, &mut out);
    if a.enrolled.contains(&learner) {
        if now > a.withdrawal_deadline {
            return Err((
                from,
                Refusal::WithdrawalDeadlinePassed {
                    deadline: a.withdrawal_deadline,
                    now,
                },
            ));
        }
    } else if a.place_of(learner).is_none() && a.offer_of(learner).is_none() {
        let refusal = match lapsed.iter().find(|o| o.0 == learner) {
            Some(&(_, _, expired_at)) => Refusal::OfferExpired {
                learner,
                expired_at,
            },
            None => Refusal::NotEnrolled(learner),
        };
        return Err((from, refusal));
    }
    if b.cancelled {
        return Err((to, Refusal::Cancelled));
    }
    let mut into = Vec::new();
    b.expire(now, &mut into);
    // Joining B is an enrollment into B, except that a full B is refused unless waiting is
    // allowed.
    b.check_join(learner, now).map_err(|r| (to, r))?;
    if b.taken() >= b.seats && !allow_waitlist {
        return Err((
            to,
            Refusal::NoSeatFree {
                enrolled: b.taken(),
                seats: b.seats,
            },
        ));
    }
    let waitlisted_at = match b.enroll(learner, now).map_err(|r| (to, r))?.as_slice() {
        [Effect::Enrolled(_)] => None,
        [Effect::Waitlisted { place, .. }] => Some(*place),
        other => unreachable!("an enrollment is one effect: {other:?}"),
    };
    into.push(Effect::TransferredIn {
        learner,
        from,
        waitlisted_at,
    });
    a.enrolled.retain(|&l| l != learner);
    a.offers.retain(|o| o.0 != learner);
    a.waitlist.retain(|w| w.0 != learner);
    out.push(Effect::TransferredOut {
        learner,
        to,
        reason: reason.to_owned(),
    });
    a.fill_from_waitlist(now, &mut out);
    cohorts[from] = Some(a);
    cohorts[to] = Some(b);
    Ok((out, into))
}

/// The first session on the grid: the deadline grid, and one point after it.
fn start_point(index: usize) -> i64 {
    (DEADLINE_GRID_SECS.get(index).copied().unwrap_or(400)) * 1_000_000
}

/// A command against a cohort that may not exist yet.
fn model_step(cohort: &mut Option<ModelCohort>, op: &Op, now: i64) -> Outcome {
    match (cohort.as_mut(), op) {
        (
            None,
            &Op::Create {
                seats,
                enrollment,
                withdrawal,
                hold: h,
                cap,
                ..
            },
        ) => {
            let (enrollment_deadline, withdrawal_deadline) =
                (deadline(enrollment), deadline(withdrawal));
            ModelCohort::check_schedule(enrollment_deadline, withdrawal_deadline)?;
            let h = h.map(hold);
            *cohort = Some(ModelCohort {
                seats,
                open: true,
                cancelled: false,
                name: NAMES[0].to_owned(),
                course: COURSES[0].to_owned(),
                instructor: INSTRUCTORS[0].to_owned(),
                starts: start_point(DEADLINE_GRID_SECS.len()),
                enrollment_deadline,
                withdrawal_deadline,
                hold: h,
                cap,
                enrolled: Vec::new(),
                offers: Vec::new(),
                waitlist: VecDeque::new(),
            });
            let mut effects = vec![Effect::Created {
                seats,
                enrollment_deadline,
                withdrawal_deadline,
            }];
            if (h, cap) != (None, None) {
                effects.push(Effect::PolicyChanged { hold: h, cap });
            }
            Ok(effects)
        }
        (None, op) => Err(Refusal::NotFound(target(op))),
        (Some(model), op) => {
            let before = model.clone();
            let outcome = model.step(op, now);
            if outcome.is_err() {
                *model = before;
            }
            outcome
        }
    }
}

fn target(op: &Op) -> usize {
    match *op {
        Op::Create { cohort, .. }
        | Op::Enroll { cohort, .. }
        | Op::Withdraw { cohort, .. }
        | Op::LeaveWaitlist { cohort, .. }
        | Op::Promote { cohort }
        | Op::ChangeCapacity { cohort, .. }
        | Op::Close { cohort }
        | Op::Reopen { cohort, .. }
        | Op::Reschedule { cohort, .. }
        | Op::Details { cohort, .. }
        | Op::Cancel { cohort, .. }
        | Op::SetPolicy { cohort, .. }
        | Op::Accept { cohort, .. }
        | Op::Decline { cohort, .. }
        | Op::Expire { cohort } => cohort,
        Op::Clock(_) | Op::Wait(_) => unreachable!("clock moves are not commands"),
        Op::Transfer { .. } => unreachable!("a transfer addresses two cohorts"),
    }
}

// ---------------------------------------------------------------------------------------------
// Translating between the model and the domain
// ---------------------------------------------------------------------------------------------

fn seats(n: u32) -> Capacity {
    Capacity::new(u64::from(n)).expect("generated capacities are valid")
}

fn command(op: &Op) -> CohortCommand {
    match *op {
        Op::Create {
            seats: n,
            enrollment,
            withdrawal,
            hold: h,
            cap,
            ..
        } => CohortCommand::Create(NewCohort {
            name: NAMES[0].to_owned(),
            course: COURSES[0].to_owned(),
            instructor: INSTRUCTORS[0].to_owned(),
            capacity: seats(n),
            starts_at: instant(start_point(DEADLINE_GRID_SECS.len())),
            enrollment_deadline: instant(deadline(enrollment)),
            withdrawal_deadline: instant(deadline(withdrawal)),
            promotion: policy(h),
            waitlist_cap: cap,
            ends_at: None,
        }),
        Op::Enroll { learner, .. } => CohortCommand::Enroll {
            learner: learner_id(learner),
        },
        Op::Withdraw {
            learner, reason, ..
        } => CohortCommand::Withdraw {
            learner: learner_id(learner),
            reason_code: ReasonCode::ALL[reason % ReasonCode::ALL.len()],
            reason: REASONS[reason].to_owned(),
        },
        Op::LeaveWaitlist {
            learner, reason, ..
        } => CohortCommand::LeaveWaitlist {
            learner: learner_id(learner),
            reason: REASONS[reason].to_owned(),
        },
        Op::Promote { .. } => CohortCommand::Promote,
        Op::ChangeCapacity { seats: n, .. } => CohortCommand::ChangeCapacity { capacity: seats(n) },
        Op::Close { .. } => CohortCommand::CloseEnrollment,
        Op::Reopen {
            deadline: d,
            reason,
            ..
        } => CohortCommand::Reopen {
            reason: REASONS[reason].to_owned(),
            enrollment_deadline: d.map(|d| instant(deadline(d))),
        },
        Op::Reschedule {
            starts,
            enrollment,
            withdrawal,
            ..
        } => CohortCommand::Reschedule {
            starts_at: starts.map(|i| instant(start_point(i))),
            enrollment_deadline: enrollment.map(|i| instant(deadline(i))),
            withdrawal_deadline: withdrawal.map(|i| instant(deadline(i))),
            ends_at: None,
        },
        Op::Details {
            name,
            course,
            instructor,
            ..
        } => CohortCommand::ChangeDetails {
            name: name.map(|i| NAMES[i].to_owned()),
            course: course.map(|i| COURSES[i].to_owned()),
            instructor: instructor.map(|i| INSTRUCTORS[i].to_owned()),
        },
        Op::Cancel { reason, .. } => CohortCommand::Cancel {
            reason: REASONS[reason].to_owned(),
        },
        Op::SetPolicy { hold: h, cap, .. } => CohortCommand::SetPolicy {
            promotion: policy(h),
            waitlist_cap: cap,
        },
        Op::Accept { learner, .. } => CohortCommand::AcceptOffer {
            learner: learner_id(learner),
        },
        Op::Decline {
            learner, reason, ..
        } => CohortCommand::DeclineOffer {
            learner: learner_id(learner),
            reason: REASONS[reason].to_owned(),
        },
        Op::Expire { .. } => CohortCommand::ExpireOffers,
        Op::Clock(_) | Op::Wait(_) => unreachable!("clock moves are not commands"),
        Op::Transfer { .. } => unreachable!("a transfer is decided by decide_transfer"),
    }
}

/// The policy of a hold index: offers held that long, or automatic promotion.
fn policy(h: Option<usize>) -> PromotionPolicy {
    h.map_or(PromotionPolicy::Automatic, |h| PromotionPolicy::Offer {
        hold: SignedDuration::from_secs(HOLD_SECS[h]),
    })
}

/// A policy in the model's terms: the hold in microseconds.
fn hold_of(promotion: PromotionPolicy) -> Option<i64> {
    match promotion {
        PromotionPolicy::Automatic => None,
        PromotionPolicy::Offer { hold } => Some(i64::try_from(hold.as_micros()).unwrap()),
    }
}

fn text_of(note: &rollbook::domain::Note) -> String {
    note.text().expect("decided as text").to_owned()
}

fn effect_of(event: &Event) -> Effect {
    match event {
        Event::CohortCreated(CohortCreated {
            capacity,
            enrollment_deadline,
            withdrawal_deadline,
            ..
        }) => Effect::Created {
            seats: capacity.seats(),
            enrollment_deadline: micros_of(*enrollment_deadline),
            withdrawal_deadline: micros_of(*withdrawal_deadline),
        },
        Event::StudentEnrolled { learner } => Effect::Enrolled(learner_index(*learner)),
        Event::StudentWaitlisted { learner, position } => Effect::Waitlisted {
            learner: learner_index(*learner),
            place: *position,
        },
        Event::StudentWithdrawn {
            learner,
            reason_code,
            reason,
        } => {
            // The code travels with the command unchanged (the model checks the rules).
            assert_eq!(
                REASONS
                    .iter()
                    .position(|r| Some(*r) == reason.text())
                    .map(|i| ReasonCode::ALL[i % 5]),
                Some(*reason_code)
            );
            Effect::Withdrawn {
                learner: learner_index(*learner),
                reason: reason.text().expect("decided as text").to_owned(),
            }
        }
        Event::WaitlistLeft { learner, reason } => Effect::LeftWaitlist {
            learner: learner_index(*learner),
            reason: reason.text().expect("decided as text").to_owned(),
        },
        Event::WaitlistPromoted { learner } => Effect::Promoted(learner_index(*learner)),
        Event::CapacityChanged { from, to } => Effect::CapacityChanged {
            from: from.seats(),
            to: to.seats(),
        },
        Event::EnrollmentClosed => Effect::Closed,
        Event::EnrollmentReopened { reason } => Effect::Reopened(text_of(reason)),
        Event::CohortRescheduled {
            starts_at,
            enrollment_deadline,
            withdrawal_deadline,
            ends_at: _,
        } => Effect::Rescheduled {
            starts: micros_of(*starts_at),
            enrollment: micros_of(*enrollment_deadline),
            withdrawal: micros_of(*withdrawal_deadline),
        },
        Event::CohortDetailsChanged {
            name,
            course,
            instructor,
        } => Effect::DetailsChanged {
            name: name.clone(),
            course: course.clone(),
            instructor: instructor.clone(),
        },
        Event::CohortCancelled { reason } => Effect::Cancelled(text_of(reason)),
        Event::StudentReleased { learner } => Effect::Released(learner_index(*learner)),
        Event::PolicyChanged {
            promotion,
            waitlist_cap,
        } => Effect::PolicyChanged {
            hold: hold_of(*promotion),
            cap: *waitlist_cap,
        },
        Event::WaitlistOffered {
            learner,
            offered_at,
            expires_at,
        } => Effect::Offered {
            learner: learner_index(*learner),
            offered_at: micros_of(*offered_at),
            expires_at: micros_of(*expires_at),
        },
        Event::OfferAccepted { learner } => Effect::Accepted(learner_index(*learner)),
        Event::OfferDeclined { learner, reason } => Effect::Declined {
            learner: learner_index(*learner),
            reason: text_of(reason),
        },
        Event::OfferExpired { learner } => Effect::Expired(learner_index(*learner)),
        transfer @ (Event::StudentTransferredOut { .. } | Event::StudentTransferredIn { .. }) => {
            transfer_effect_of(transfer)
        }
    }
}

/// The two events of a transfer, in the model's terms.
fn transfer_effect_of(event: &Event) -> Effect {
    match event {
        Event::StudentTransferredOut {
            learner,
            to,
            reason,
        } => Effect::TransferredOut {
            learner: learner_index(*learner),
            to: cohort_index(*to),
            reason: text_of(reason),
        },
        Event::StudentTransferredIn {
            learner,
            from,
            waitlisted_at,
        } => Effect::TransferredIn {
            learner: learner_index(*learner),
            from: cohort_index(*from),
            waitlisted_at: *waitlisted_at,
        },
        other => unreachable!("not a transfer's event: {}", other.type_name()),
    }
}

fn cohort_index(id: CohortId) -> usize {
    (0..COHORTS)
        .find(|&i| cohort_id(i) == id)
        .expect("violation names a known cohort")
}

fn refusal_of(violation: &RuleViolation) -> Refusal {
    match violation {
        RuleViolation::CohortNotFound { cohort } => Refusal::NotFound(cohort_index(*cohort)),
        RuleViolation::CohortAlreadyExists { cohort } => {
            Refusal::AlreadyExists(cohort_index(*cohort))
        }
        RuleViolation::EnrollmentClosed => Refusal::Closed,
        RuleViolation::EnrollmentDeadlinePassed { deadline, now } => {
            Refusal::EnrollmentDeadlinePassed {
                deadline: micros_of(*deadline),
                now: micros_of(*now),
            }
        }
        RuleViolation::WithdrawalDeadlinePassed { deadline, now } => {
            Refusal::WithdrawalDeadlinePassed {
                deadline: micros_of(*deadline),
                now: micros_of(*now),
            }
        }
        RuleViolation::AlreadyEnrolled { learner } => {
            Refusal::AlreadyEnrolled(learner_index(*learner))
        }
        RuleViolation::AlreadyWaitlisted {
            learner,
            position,
            waitlist_len,
        } => Refusal::AlreadyWaitlisted {
            learner: learner_index(*learner),
            place: *position,
            len: *waitlist_len,
        },
        RuleViolation::NotEnrolled { learner } => Refusal::NotEnrolled(learner_index(*learner)),
        RuleViolation::NotWaitlisted { learner } => Refusal::NotWaitlisted(learner_index(*learner)),
        RuleViolation::WaitlistEmpty => Refusal::WaitlistEmpty,
        RuleViolation::NoSeatFree { enrolled, capacity } => Refusal::NoSeatFree {
            enrolled: *enrolled,
            seats: *capacity,
        },
        RuleViolation::CapacityBelowEnrolled {
            requested,
            enrolled,
        } => Refusal::BelowEnrolled {
            requested: *requested,
            enrolled: *enrolled,
        },
        RuleViolation::CapacityUnchanged { capacity } => Refusal::Unchanged(*capacity),
        RuleViolation::InvalidSchedule(ScheduleProblem::WithdrawalBeforeEnrollment {
            withdrawal,
            enrollment,
        }) => Refusal::InvalidSchedule {
            withdrawal: micros_of(*withdrawal),
            enrollment: micros_of(*enrollment),
        },
        RuleViolation::NotClosed => Refusal::NotClosed,
        RuleViolation::CohortCancelled => Refusal::Cancelled,
        RuleViolation::DeadlineInPast { deadline, now } => Refusal::DeadlineInPast {
            deadline: micros_of(*deadline),
            now: micros_of(*now),
        },
        RuleViolation::WaitlistFull { cap, waiting } => Refusal::WaitlistFull {
            cap: *cap,
            waiting: *waiting,
        },
        RuleViolation::NoOffer { learner } => Refusal::NoOffer(learner_index(*learner)),
        RuleViolation::OfferExpired {
            learner,
            expired_at,
        } => Refusal::OfferExpired {
            learner: learner_index(*learner),
            expired_at: micros_of(*expired_at),
        },
        RuleViolation::NothingChanged => Refusal::NothingChanged,
        RuleViolation::SameCohort => Refusal::SameCohort,
        RuleViolation::AlreadyOffered {
            learner,
            expires_at,
        } => Refusal::AlreadyOffered {
            learner: learner_index(*learner),
            expires_at: micros_of(*expires_at),
        },
        RuleViolation::NoOfferDue { now, next } => Refusal::NoOfferDue {
            now: micros_of(*now),
            next: next.map(micros_of),
        },
        other => panic!("a rule the model does not know: {other:?}"),
    }
}

/// The domain's state in the model's terms.
fn view(cohort: &Cohort) -> ModelCohort {
    ModelCohort {
        seats: cohort.capacity.seats(),
        open: cohort.status == CohortStatus::Open,
        cancelled: cohort.status == CohortStatus::Cancelled,
        name: cohort.name.clone(),
        course: cohort.course.clone(),
        instructor: cohort.instructor.clone(),
        starts: micros_of(cohort.starts_at),
        enrollment_deadline: micros_of(cohort.enrollment_deadline),
        withdrawal_deadline: micros_of(cohort.withdrawal_deadline),
        hold: hold_of(cohort.promotion),
        cap: cohort.waitlist_cap,
        enrolled: cohort.enrolled.iter().map(|l| learner_index(*l)).collect(),
        offers: cohort
            .offers
            .iter()
            .map(|o| {
                (
                    learner_index(o.learner),
                    micros_of(o.offered_at),
                    micros_of(o.expires_at),
                )
            })
            .collect(),
        waitlist: cohort
            .waitlist
            .iter()
            .map(|e| (learner_index(e.learner), e.joined_at_place))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Running a sequence through both
// ---------------------------------------------------------------------------------------------

/// The model and the domain side by side.
struct Run {
    now: i64,
    model: [Option<ModelCohort>; COHORTS],
    domain: [Option<Cohort>; COHORTS],
    streams: [Vec<Event>; COHORTS],
    /// Kinds of outcome seen, to check that the generator reaches every rule.
    seen: BTreeSet<&'static str>,
}

impl Run {
    fn new() -> Self {
        Self {
            now: 0,
            model: Default::default(),
            domain: Default::default(),
            streams: Default::default(),
            seen: BTreeSet::new(),
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        if let Op::Clock(to) = *op {
            self.now = to;
            return Ok(());
        }
        if let Op::Wait(h) = *op {
            self.now += hold(h);
            return Ok(());
        }
        if let Op::Transfer {
            from,
            to,
            learner,
            allow_waitlist,
            reason,
        } = *op
        {
            return self.transfer((from, to), learner, allow_waitlist, reason);
        }
        let i = target(op);
        let before = self.model[i].clone();
        let expected = model_step(&mut self.model[i], op, self.now);
        let decided = Cohort::decide(
            self.domain[i].as_ref(),
            cohort_id(i),
            &command(op),
            instant(self.now),
        );
        match &decided {
            Ok(events) => {
                prop_assert!(!events.is_empty(), "an accepted command produced no event");
                let effects: Vec<Effect> = events.iter().map(effect_of).collect();
                prop_assert_eq!(Ok(effects), expected.clone(), "decision for {:?}", op);
                for event in events {
                    match (&mut self.domain[i], event) {
                        (None, Event::CohortCreated(data)) => {
                            self.domain[i] = Some(Cohort::created(cohort_id(i), data));
                        }
                        (Some(state), event) => state.apply(event),
                        (None, event) => {
                            return Err(TestCaseError::fail(format!(
                                "{event:?} for a cohort that does not exist"
                            )));
                        }
                    }
                }
                self.streams[i].extend(events.iter().cloned());
            }
            Err(violation) => {
                let refusal = expected.clone().expect_err("the model accepted it");
                prop_assert_eq!(violation.code(), refusal.code(), "rule for {:?}", op);
                prop_assert_eq!(refusal_of(violation), refusal, "facts for {:?}", op);
                prop_assert_eq!(&self.model[i], &before, "the model changed on a refusal");
            }
        }
        let domain_view = self.domain[i].as_ref().map(view);
        prop_assert_eq!(&domain_view, &self.model[i], "state after {:?}", op);
        if let Some(state) = &self.domain[i] {
            prop_assert_eq!(
                state.check_invariants(),
                Ok(()),
                "invariants after {:?}",
                op
            );
        }
        self.note(op, before.as_ref(), &expected);
        Ok(())
    }

    /// A transfer through the model and `decide_transfer`: the same refusal naming the same
    /// cohort, or the same events on both sides, and the same states after.
    fn transfer(
        &mut self,
        (from, to): (usize, usize),
        learner: usize,
        allow_waitlist: bool,
        reason: usize,
    ) -> Result<(), TestCaseError> {
        // The writer refuses a transfer naming a cohort that does not exist before deciding.
        let (Some(a), Some(b)) = (&self.domain[from], &self.domain[to]) else {
            prop_assert!(self.model[from].is_none() || self.model[to].is_none());
            return Ok(());
        };
        let before = self.model.clone();
        let before_a = before[from].clone().expect("exists");
        let expected = model_transfer(
            &mut self.model,
            (from, to),
            learner,
            allow_waitlist,
            REASONS[reason],
            self.now,
        );
        let decided = decide_transfer(
            a,
            b,
            learner_id(learner),
            allow_waitlist,
            REASONS[reason],
            instant(self.now),
        );
        let what = format!("transfer of {learner} from {from} to {to} (waiting {allow_waitlist})");
        match decided {
            Ok(transfer) => {
                let effects = (
                    transfer.from_events.iter().map(effect_of).collect(),
                    transfer.to_events.iter().map(effect_of).collect(),
                );
                prop_assert_eq!(Ok(effects), expected.clone(), "decision for {}", &what);
                for (i, events) in [(from, &transfer.from_events), (to, &transfer.to_events)] {
                    let state = self.domain[i].as_mut().expect("exists");
                    for event in events {
                        state.apply(event);
                    }
                    self.streams[i].extend(events.iter().cloned());
                }
            }
            Err(refused) => {
                let (cohort, refusal) = expected.clone().expect_err("the model accepted it");
                prop_assert_eq!(
                    refused.violation.code(),
                    refusal.code(),
                    "rule for {}",
                    &what
                );
                prop_assert_eq!(
                    refusal_of(&refused.violation),
                    refusal,
                    "facts for {}",
                    &what
                );
                prop_assert_eq!(
                    cohort_index(refused.cohort),
                    cohort,
                    "cohort named for {}",
                    &what
                );
                prop_assert_eq!(&self.model, &before, "the model changed on a refusal");
            }
        }
        for i in [from, to] {
            let state = self.domain[i].as_ref().expect("exists");
            prop_assert_eq!(
                Some(view(state)),
                self.model[i].clone(),
                "state after {}",
                &what
            );
            prop_assert_eq!(
                state.check_invariants(),
                Ok(()),
                "invariants after {}",
                &what
            );
        }
        self.note_transfer(&before_a, learner, from, &expected);
        Ok(())
    }

    /// Records what kind of transfer this step exercised.
    fn note_transfer(
        &mut self,
        before_a: &ModelCohort,
        learner: usize,
        from: usize,
        outcome: &TransferOutcome,
    ) {
        match outcome {
            Err((cohort, refusal)) => {
                let side = if *cohort == from { "left" } else { "joined" };
                let code = refusal.code();
                self.seen.insert(code);
                self.seen.insert(match (code, side) {
                    ("same_cohort", _) => "transfer refused: same_cohort",
                    ("no_seat_free", "joined") => "transfer refused: no_seat_free (joined)",
                    ("withdrawal_deadline_passed", "left") => {
                        "transfer refused: withdrawal_deadline_passed (left)"
                    }
                    ("enrollment_deadline_passed", "joined") => {
                        "transfer refused: enrollment_deadline_passed (joined)"
                    }
                    ("enrollment_closed", "joined") => {
                        "transfer refused: enrollment_closed (joined)"
                    }
                    ("cohort_cancelled", "left") => "transfer refused: cohort_cancelled (left)",
                    ("cohort_cancelled", "joined") => "transfer refused: cohort_cancelled (joined)",
                    ("not_enrolled", "left") => "transfer refused: not_enrolled (left)",
                    ("offer_expired", "left") => "transfer refused: offer_expired (left)",
                    ("waitlist_full", "joined") => "transfer refused: waitlist_full (joined)",
                    (_, "joined") => "transfer refused: learner already held (joined)",
                    _ => "transfer refused: another rule",
                });
            }
            Ok((out, into)) => {
                for effect in out.iter().chain(into) {
                    self.seen.insert(effect_name(effect));
                }
                if into.iter().any(|e| {
                    matches!(
                        e,
                        Effect::TransferredIn {
                            waitlisted_at: Some(_),
                            ..
                        }
                    )
                }) {
                    self.seen.insert("transfer waitlisted");
                } else {
                    self.seen.insert("transfer took a seat");
                }
                if before_a.place_of(learner).is_some() {
                    self.seen.insert("transfer of a waitlisted learner");
                }
                if before_a.offer_of(learner).is_some() {
                    self.seen.insert("transfer of a learner holding an offer");
                }
                if out
                    .iter()
                    .any(|e| matches!(e, Effect::Promoted(_) | Effect::Offered { .. }))
                {
                    self.seen.insert("transfer freed a seat that was filled");
                }
                if self.now > before_a.enrollment_deadline
                    && self.now <= before_a.withdrawal_deadline
                {
                    self.seen
                        .insert("transfer out after A's enrollment deadline, before its withdrawal deadline");
                }
            }
        }
    }

    /// Replaying each stream from scratch gives the state built step by step.
    fn finish(&self) -> Result<(), TestCaseError> {
        for i in 0..COHORTS {
            let replayed = Cohort::replay(cohort_id(i), &self.streams[i]);
            prop_assert_eq!(&replayed, &self.domain[i], "replay of cohort {}", i);
        }
        Ok(())
    }

    /// Records what kind of situation this step exercised.
    fn note(&mut self, op: &Op, before: Option<&ModelCohort>, outcome: &Outcome) {
        match outcome {
            Err(refusal) => {
                self.seen.insert(refusal.code());
            }
            Ok(effects) => {
                for effect in effects {
                    self.seen.insert(effect_name(effect));
                }
                let Some(before) = before else { return };
                let promoted = effects.iter().any(|e| matches!(e, Effect::Promoted(_)));
                for effect in effects {
                    if let Effect::Expired(learner) = effect {
                        if !matches!(op, Op::Expire { .. }) {
                            self.seen
                                .insert("an offer expired first by another command");
                        }
                        if before.offer_of(*learner).is_some_and(|o| o.2 == self.now) {
                            self.seen.insert("an offer expired exactly at its expiry");
                        }
                    }
                }
                if matches!(op, Op::Accept { .. })
                    && (!before.open || self.now > before.enrollment_deadline)
                {
                    self.seen
                        .insert("an offer accepted once enrollment closed or its deadline passed");
                }
                match op {
                    Op::Enroll { .. } if self.now == before.enrollment_deadline => {
                        self.seen.insert("enrolled exactly at the deadline");
                    }
                    Op::Withdraw { .. } => {
                        let left = effects
                            .iter()
                            .any(|e| matches!(e, Effect::LeftWaitlist { .. }));
                        if left && self.now > before.withdrawal_deadline {
                            self.seen
                                .insert("left the waitlist after the withdrawal deadline");
                        }
                        if !left && self.now == before.withdrawal_deadline {
                            self.seen.insert("withdrew exactly at the deadline");
                        }
                        if promoted && self.now > before.enrollment_deadline {
                            self.seen.insert("promoted after the enrollment deadline");
                        }
                    }
                    Op::ChangeCapacity { .. } if promoted => {
                        self.seen.insert("promoted by a capacity increase");
                    }
                    _ => {}
                }
            }
        }
    }
}

fn effect_name(effect: &Effect) -> &'static str {
    match effect {
        Effect::Created { .. } => "cohort.created",
        Effect::Enrolled(_) => "student.enrolled",
        Effect::Waitlisted { .. } => "student.waitlisted",
        Effect::Withdrawn { .. } => "student.withdrawn",
        Effect::LeftWaitlist { .. } => "waitlist.left",
        Effect::Promoted(_) => "waitlist.promoted",
        Effect::CapacityChanged { .. } => "cohort.capacity_changed",
        Effect::Closed => "enrollment.closed",
        Effect::Reopened(_) => "enrollment.reopened",
        Effect::Rescheduled { .. } => "cohort.rescheduled",
        Effect::DetailsChanged { .. } => "cohort.details_changed",
        Effect::Cancelled(_) => "cohort.cancelled",
        Effect::Released(_) => "student.released",
        Effect::PolicyChanged { .. } => "cohort.policy_changed",
        Effect::Offered { .. } => "waitlist.offered",
        Effect::Accepted(_) => "offer.accepted",
        Effect::Declined { .. } => "offer.declined",
        Effect::Expired(_) => "offer.expired",
        Effect::TransferredOut { .. } => "student.transferred_out",
        Effect::TransferredIn { .. } => "student.transferred_in",
    }
}

fn run(ops: &[Op]) -> Result<Run, TestCaseError> {
    let mut run = Run::new();
    for op in ops {
        run.step(op)?;
    }
    run.finish()?;
    Ok(run)
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/// Sequences per run of [`domain_agrees_with_the_model`]: about 40 steps each.
const CASES: u32 = 4096;

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn domain_agrees_with_the_model(ops in sequence()) {
        run(&ops)?;
    }
}

/// The lesson's example, through both: capacity 2; alice, bob enrolled; carla waitlisted;
/// alice withdraws; carla promoted.
#[test]
fn lesson_example_agrees() {
    let (alice, bob, carla) = (0, 1, 2);
    let ops = [
        Op::Create {
            cohort: 0,
            seats: 2,
            enrollment: 0,
            withdrawal: 1,
            hold: None,
            cap: None,
        },
        Op::Enroll {
            cohort: 0,
            learner: alice,
        },
        Op::Enroll {
            cohort: 0,
            learner: bob,
        },
        Op::Enroll {
            cohort: 0,
            learner: carla,
        },
        Op::Withdraw {
            cohort: 0,
            learner: alice,
            reason: 0,
        },
    ];
    let run = run(&ops).expect("model and domain agree");
    let model = run.model[0].as_ref().expect("created");
    assert_eq!(model.enrolled, vec![bob, carla]);
    assert!(model.waitlist.is_empty());
    assert_eq!(model.seats - model.count(), 0);
}

/// The generator reaches every rule and every edge the model test is meant to cover; without
/// this, a skewed generator could pass while testing little.
#[test]
fn random_sequences_reach_every_rule_and_deadline_edge() {
    let mut runner = TestRunner::deterministic();
    let strategy = sequence();
    let mut seen = BTreeSet::new();
    for _ in 0..3000 {
        let ops = strategy
            .new_tree(&mut runner)
            .expect("a sequence")
            .current();
        seen.extend(run(&ops).expect("model and domain agree").seen);
    }
    let expected = [
        "cohort_not_found",
        "cohort_exists",
        "enrollment_closed",
        "enrollment_deadline_passed",
        "withdrawal_deadline_passed",
        "already_enrolled",
        "already_waitlisted",
        "not_enrolled",
        "not_waitlisted",
        "waitlist_empty",
        "no_seat_free",
        "capacity_below_enrolled",
        "capacity_unchanged",
        "invalid_schedule",
        "cohort.created",
        "student.enrolled",
        "student.waitlisted",
        "student.withdrawn",
        "waitlist.left",
        "waitlist.promoted",
        "cohort.capacity_changed",
        "enrollment.closed",
        "enrolled exactly at the deadline",
        "withdrew exactly at the deadline",
        "left the waitlist after the withdrawal deadline",
        "promoted after the enrollment deadline",
        "promoted by a capacity increase",
        "not_closed",
        "cohort_cancelled",
        "deadline_in_past",
        "waitlist_full",
        "no_offer",
        "offer_expired",
        "nothing_changed",
        "already_offered",
        "no_offer_due",
        "enrollment.reopened",
        "cohort.rescheduled",
        "cohort.details_changed",
        "cohort.cancelled",
        "student.released",
        "cohort.policy_changed",
        "waitlist.offered",
        "offer.accepted",
        "offer.declined",
        "offer.expired",
        "an offer expired first by another command",
        "an offer expired exactly at its expiry",
        "an offer accepted once enrollment closed or its deadline passed",
        "student.transferred_out",
        "student.transferred_in",
        "transfer took a seat",
        "transfer waitlisted",
        "transfer of a waitlisted learner",
        "transfer of a learner holding an offer",
        "transfer freed a seat that was filled",
        "transfer refused: same_cohort",
        "transfer refused: no_seat_free (joined)",
        "transfer refused: withdrawal_deadline_passed (left)",
        "transfer refused: enrollment_deadline_passed (joined)",
        "transfer refused: enrollment_closed (joined)",
        "transfer refused: cohort_cancelled (left)",
        "transfer refused: cohort_cancelled (joined)",
        "transfer refused: not_enrolled (left)",
        "transfer refused: waitlist_full (joined)",
        "transfer refused: learner already held (joined)",
    ];
    let missing: Vec<_> = expected.iter().filter(|s| !seen.contains(*s)).collect();
    assert!(missing.is_empty(), "never exercised: {missing:?}");
}
