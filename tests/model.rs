//! Model-based test of the cohort aggregate.
//!
//! A small reference model of a cohort, written from the rules in the design (not from the
//! domain code), runs side by side with `Cohort::decide` + `apply` over thousands of random
//! command sequences: creations, enrollments, withdrawals, waitlist departures, promotions,
//! capacity changes, closings, and clock moves across both deadlines (exactly-at-deadline
//! instants included), over two cohorts and a small pool of learners. After every step the
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
    NewCohort, ReasonCode, RuleViolation, ScheduleProblem,
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

/// Where the clock may move: the start, each deadline, one tick either side of it, and long
/// after everything.
fn clock_points() -> Vec<i64> {
    let mut points = vec![0, 10_000 * 1_000_000];
    for i in 0..DEADLINE_GRID_SECS.len() {
        let d = deadline(i);
        points.extend([d - TICK, d, d + TICK]);
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
    /// Move the clock to this many microseconds after [`base`] (forwards or back).
    Clock(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let cohort = 0..COHORTS;
    let learner = 0..LEARNERS;
    let grid = 0..DEADLINE_GRID_SECS.len();
    let reason = 0..REASONS.len();
    prop_oneof![
        1 => (cohort.clone(), 1..=MAX_SEATS, grid.clone(), grid).prop_map(
            |(cohort, seats, enrollment, withdrawal)| Op::Create { cohort, seats, enrollment, withdrawal }
        ),
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
    ]
}

/// A sequence: cohort 0 is created first with a valid schedule (so most steps meet a cohort),
/// then random operations.
fn sequence() -> impl Strategy<Value = Vec<Op>> {
    let grid = 0..DEADLINE_GRID_SECS.len();
    (
        1..=MAX_SEATS,
        grid.clone(),
        grid,
        prop::collection::vec(op(), 1..80),
    )
        .prop_map(|(seats, a, b, rest)| {
            let first = Op::Create {
                cohort: 0,
                seats,
                enrollment: a.min(b),
                withdrawal: a.max(b),
            };
            std::iter::once(first).chain(rest).collect()
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
    enrollment_deadline: i64,
    withdrawal_deadline: i64,
    /// In the order they got their seat.
    enrolled: Vec<usize>,
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
}

impl Refusal {
    /// The API's code for the rule (issue 2's list).
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
        }
    }
}

type Outcome = Result<Vec<Effect>, Refusal>;

impl ModelCohort {
    fn count(&self) -> u32 {
        u32::try_from(self.enrolled.len()).unwrap()
    }

    fn place_of(&self, learner: usize) -> Option<u32> {
        let index = self.waitlist.iter().position(|&(l, _)| l == learner)?;
        Some(u32::try_from(index + 1).unwrap())
    }

    fn leave_waitlist(&mut self, learner: usize, reason: &str) -> Vec<Effect> {
        self.waitlist.retain(|&(l, _)| l != learner);
        vec![Effect::LeftWaitlist {
            learner,
            reason: reason.to_owned(),
        }]
    }

    /// While open with a seat free, the waitlist head takes it, strictly in order.
    fn fill_from_waitlist(&mut self, effects: &mut Vec<Effect>) {
        while self.open && self.count() < self.seats {
            let Some((head, _)) = self.waitlist.pop_front() else {
                break;
            };
            self.enrolled.push(head);
            effects.push(Effect::Promoted(head));
        }
    }

    fn enroll(&mut self, learner: usize, now: i64) -> Outcome {
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
        if self.count() < self.seats {
            self.enrolled.push(learner);
            Ok(vec![Effect::Enrolled(learner)])
        } else {
            let place = u32::try_from(self.waitlist.len() + 1).unwrap();
            self.waitlist.push_back((learner, place));
            Ok(vec![Effect::Waitlisted { learner, place }])
        }
    }

    fn withdraw(&mut self, learner: usize, reason: &str, now: i64) -> Outcome {
        // A waitlisted learner holds no seat: withdrawing them is leaving the waitlist, which no
        // deadline limits.
        if self.place_of(learner).is_some() {
            return Ok(self.leave_waitlist(learner, reason));
        }
        if !self.enrolled.contains(&learner) {
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
        self.fill_from_waitlist(&mut effects);
        Ok(effects)
    }

    /// The rules of design.md, in the order they are listed there; mutates only on success.
    fn step(&mut self, op: &Op, now: i64) -> Outcome {
        match *op {
            Op::Create { cohort, .. } => Err(Refusal::AlreadyExists(cohort)),
            Op::Enroll { learner, .. } => self.enroll(learner, now),
            Op::Withdraw {
                learner, reason, ..
            } => self.withdraw(learner, REASONS[reason], now),
            Op::LeaveWaitlist {
                learner, reason, ..
            } => {
                if self.place_of(learner).is_none() {
                    return Err(Refusal::NotWaitlisted(learner));
                }
                Ok(self.leave_waitlist(learner, REASONS[reason]))
            }
            Op::Promote { .. } => {
                if !self.open {
                    return Err(Refusal::Closed);
                }
                let Some(&(head, _)) = self.waitlist.front() else {
                    return Err(Refusal::WaitlistEmpty);
                };
                if self.count() >= self.seats {
                    return Err(Refusal::NoSeatFree {
                        enrolled: self.count(),
                        seats: self.seats,
                    });
                }
                self.waitlist.pop_front();
                self.enrolled.push(head);
                Ok(vec![Effect::Promoted(head)])
            }
            Op::ChangeCapacity { seats, .. } => {
                if seats == self.seats {
                    return Err(Refusal::Unchanged(seats));
                }
                if seats < self.count() {
                    return Err(Refusal::BelowEnrolled {
                        requested: seats,
                        enrolled: self.count(),
                    });
                }
                let mut effects = vec![Effect::CapacityChanged {
                    from: self.seats,
                    to: seats,
                }];
                self.seats = seats;
                self.fill_from_waitlist(&mut effects);
                Ok(effects)
            }
            Op::Close { .. } => {
                if !self.open {
                    return Err(Refusal::Closed);
                }
                self.open = false;
                Ok(vec![Effect::Closed])
            }
            Op::Clock(_) => unreachable!("clock moves are not commands"),
        }
    }
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
                ..
            },
        ) => {
            let (enrollment_deadline, withdrawal_deadline) =
                (deadline(enrollment), deadline(withdrawal));
            if withdrawal_deadline < enrollment_deadline {
                return Err(Refusal::InvalidSchedule {
                    withdrawal: withdrawal_deadline,
                    enrollment: enrollment_deadline,
                });
            }
            *cohort = Some(ModelCohort {
                seats,
                open: true,
                enrollment_deadline,
                withdrawal_deadline,
                enrolled: Vec::new(),
                waitlist: VecDeque::new(),
            });
            Ok(vec![Effect::Created {
                seats,
                enrollment_deadline,
                withdrawal_deadline,
            }])
        }
        (None, op) => Err(Refusal::NotFound(target(op))),
        (Some(model), op) => model.step(op, now),
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
        | Op::Close { cohort } => cohort,
        Op::Clock(_) => unreachable!("clock moves are not commands"),
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
            ..
        } => CohortCommand::Create(NewCohort {
            name: "Model cohort".to_owned(),
            course: "RUST-101".to_owned(),
            instructor: "Ada".to_owned(),
            capacity: seats(n),
            starts_at: instant(deadline(DEADLINE_GRID_SECS.len() - 1) + 1_000_000),
            enrollment_deadline: instant(deadline(enrollment)),
            withdrawal_deadline: instant(deadline(withdrawal)),
            promotion: rollbook::domain::PromotionPolicy::Automatic,
            waitlist_cap: None,
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
        Op::Clock(_) => unreachable!("clock moves are not commands"),
    }
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
        // The model issues only the commands above, under the automatic policy without a cap,
        // and never cancels or transfers: the rules decide none of these for it.
        other @ (Event::EnrollmentReopened { .. }
        | Event::CohortRescheduled { .. }
        | Event::CohortDetailsChanged { .. }
        | Event::CohortCancelled { .. }
        | Event::StudentReleased { .. }
        | Event::PolicyChanged { .. }
        | Event::WaitlistOffered { .. }
        | Event::OfferAccepted { .. }
        | Event::OfferDeclined { .. }
        | Event::OfferExpired { .. }
        | Event::StudentTransferredOut { .. }
        | Event::StudentTransferredIn { .. }) => {
            panic!("the model's commands never decide {}", other.type_name())
        }
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
        other => panic!("a rule the model does not know: {other:?}"),
    }
}

/// The domain's state in the model's terms.
fn view(cohort: &Cohort) -> ModelCohort {
    ModelCohort {
        seats: cohort.capacity.seats(),
        open: cohort.status == CohortStatus::Open,
        enrollment_deadline: micros_of(cohort.enrollment_deadline),
        withdrawal_deadline: micros_of(cohort.withdrawal_deadline),
        enrolled: cohort.enrolled.iter().map(|l| learner_index(*l)).collect(),
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
                match op {
                    Op::Enroll { .. } if self.now == before.enrollment_deadline => {
                        self.seen.insert("enrolled exactly at the deadline");
                    }
                    Op::Withdraw { .. } => {
                        let left = matches!(effects[0], Effect::LeftWaitlist { .. });
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
    for _ in 0..1000 {
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
    ];
    let missing: Vec<_> = expected.iter().filter(|s| !seen.contains(*s)).collect();
    assert!(missing.is_empty(), "never exercised: {missing:?}");
}
