//! The cohort aggregate: its state, the rules that decide events (`decide`), and the fold that
//! applies them (`apply`).

use std::collections::VecDeque;

use jiff::Timestamp;

use super::command::{CohortCommand, NewCohort};
use super::event::{CohortCreated, Event};
use super::ids::{Capacity, CohortId, LearnerId};
use super::note::Note;
use super::reason::ReasonCode;
use super::violation::{RuleViolation, ScheduleProblem};

/// Whether the cohort still takes enrollments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CohortStatus {
    /// Enrollments and promotions allowed (subject to the deadline).
    Open,
    /// Closed by staff: no enrollments or promotions.
    Closed,
}

impl CohortStatus {
    /// `"open"` or `"closed"`, as the API spells it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// A learner waiting for a seat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitlistEntry {
    /// Who.
    pub learner: LearnerId,
    /// Their 1-based place in the waitlist when they joined.
    pub joined_at_place: u32,
}

/// The state of one cohort, derived entirely from its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cohort {
    /// Which cohort.
    pub id: CohortId,
    /// Creation data: name, course, instructor, schedule.
    pub name: String,
    /// Course taught.
    pub course: String,
    /// Who teaches it.
    pub instructor: String,
    /// Seats now.
    pub capacity: Capacity,
    /// First session.
    pub starts_at: Timestamp,
    /// No enrollment after this instant.
    pub enrollment_deadline: Timestamp,
    /// No withdrawal after this instant.
    pub withdrawal_deadline: Timestamp,
    /// Open or closed.
    pub status: CohortStatus,
    /// Learners holding a seat, in the order they got it.
    pub enrolled: Vec<LearnerId>,
    /// Learners waiting, head first.
    pub waitlist: VecDeque<WaitlistEntry>,
}

/// A broken invariant: something the rules should have made impossible.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvariantBroken {
    /// More learners enrolled than seats.
    #[error("{enrolled} enrolled exceeds capacity {capacity}")]
    OverCapacity {
        /// Seats taken.
        enrolled: usize,
        /// Seats in all.
        capacity: u32,
    },
    /// A learner appears twice, or both enrolled and waitlisted.
    #[error("learner {0} appears more than once in roster and waitlist")]
    Duplicate(LearnerId),
    /// An open cohort has a free seat while learners wait.
    #[error("open cohort has {free} free seats and {waiting} waiting")]
    SeatFreeWhileWaiting {
        /// Free seats.
        free: u32,
        /// Learners waiting.
        waiting: usize,
    },
}

impl Cohort {
    /// The state right after `cohort.created`.
    #[must_use]
    pub fn created(id: CohortId, data: &CohortCreated) -> Self {
        Self {
            id,
            name: data.name.clone(),
            course: data.course.clone(),
            instructor: data.instructor.clone(),
            capacity: data.capacity,
            starts_at: data.starts_at,
            enrollment_deadline: data.enrollment_deadline,
            withdrawal_deadline: data.withdrawal_deadline,
            status: CohortStatus::Open,
            enrolled: Vec::new(),
            waitlist: VecDeque::new(),
        }
    }

    /// Seats taken.
    #[must_use]
    pub fn enrolled_count(&self) -> u32 {
        count(self.enrolled.len())
    }

    /// Seats free (never negative).
    #[must_use]
    pub fn seats_remaining(&self) -> u32 {
        self.capacity.seats().saturating_sub(self.enrolled_count())
    }

    /// Whether `learner` holds a seat.
    #[must_use]
    pub fn is_enrolled(&self, learner: LearnerId) -> bool {
        self.enrolled.contains(&learner)
    }

    /// `learner`'s 1-based place in the waitlist, if waiting.
    #[must_use]
    pub fn waitlist_place(&self, learner: LearnerId) -> Option<u32> {
        self.waitlist
            .iter()
            .position(|e| e.learner == learner)
            .map(|i| count(i).saturating_add(1))
    }

    /// Decides which events `command` produces against `state` (`None` before creation) at
    /// `now`, or which rule refuses it. Every business rule of a cohort lives here.
    pub fn decide(
        state: Option<&Self>,
        id: CohortId,
        command: &CohortCommand,
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        let cohort = match (state, command) {
            (None, CohortCommand::Create(new)) => return decide_create(new),
            (Some(_), CohortCommand::Create(_)) => {
                return Err(RuleViolation::CohortAlreadyExists { cohort: id });
            }
            (None, _) => return Err(RuleViolation::CohortNotFound { cohort: id }),
            (Some(cohort), _) => cohort,
        };
        match command {
            CohortCommand::Create(_) => unreachable!("handled above"),
            CohortCommand::Enroll { learner } => cohort.decide_enroll(*learner, now),
            CohortCommand::Withdraw {
                learner,
                reason_code,
                reason,
            } => cohort.decide_withdraw(*learner, *reason_code, reason, now),
            CohortCommand::LeaveWaitlist { learner, reason } => {
                if cohort.waitlist_place(*learner).is_none() {
                    return Err(RuleViolation::NotWaitlisted { learner: *learner });
                }
                Ok(vec![Event::WaitlistLeft {
                    learner: *learner,
                    reason: Note::Text(reason.clone()),
                }])
            }
            CohortCommand::Promote => cohort.decide_promote(),
            CohortCommand::ChangeCapacity { capacity } => cohort.decide_capacity(*capacity),
            CohortCommand::CloseEnrollment => match cohort.status {
                CohortStatus::Closed => Err(RuleViolation::EnrollmentClosed),
                CohortStatus::Open => Ok(vec![Event::EnrollmentClosed]),
            },
        }
    }

    fn decide_enroll(
        &self,
        learner: LearnerId,
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        if self.status == CohortStatus::Closed {
            return Err(RuleViolation::EnrollmentClosed);
        }
        if now > self.enrollment_deadline {
            return Err(RuleViolation::EnrollmentDeadlinePassed {
                deadline: self.enrollment_deadline,
                now,
            });
        }
        if self.is_enrolled(learner) {
            return Err(RuleViolation::AlreadyEnrolled { learner });
        }
        if let Some(position) = self.waitlist_place(learner) {
            return Err(RuleViolation::AlreadyWaitlisted {
                learner,
                position,
                waitlist_len: count(self.waitlist.len()),
            });
        }
        if self.seats_remaining() > 0 {
            Ok(vec![Event::StudentEnrolled { learner }])
        } else {
            Ok(vec![Event::StudentWaitlisted {
                learner,
                position: count(self.waitlist.len()).saturating_add(1),
            }])
        }
    }

    /// A waitlisted learner leaves the waitlist (the code is for seats given up, and is not
    /// kept); an enrolled one gives up their seat before the withdrawal deadline.
    fn decide_withdraw(
        &self,
        learner: LearnerId,
        reason_code: ReasonCode,
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        if self.waitlist_place(learner).is_some() {
            return Ok(vec![Event::WaitlistLeft {
                learner,
                reason: Note::Text(reason.to_owned()),
            }]);
        }
        if !self.is_enrolled(learner) {
            return Err(RuleViolation::NotEnrolled { learner });
        }
        if now > self.withdrawal_deadline {
            return Err(RuleViolation::WithdrawalDeadlinePassed {
                deadline: self.withdrawal_deadline,
                now,
            });
        }
        let withdrawn = Event::StudentWithdrawn {
            learner,
            reason_code,
            reason: Note::Text(reason.to_owned()),
        };
        Ok(self.then_promote(vec![withdrawn]))
    }

    fn decide_promote(&self) -> Result<Vec<Event>, RuleViolation> {
        if self.status == CohortStatus::Closed {
            return Err(RuleViolation::EnrollmentClosed);
        }
        let Some(head) = self.waitlist.front() else {
            return Err(RuleViolation::WaitlistEmpty);
        };
        if self.seats_remaining() == 0 {
            return Err(RuleViolation::NoSeatFree {
                enrolled: self.enrolled_count(),
                capacity: self.capacity.seats(),
            });
        }
        Ok(vec![Event::WaitlistPromoted {
            learner: head.learner,
        }])
    }

    fn decide_capacity(&self, capacity: Capacity) -> Result<Vec<Event>, RuleViolation> {
        if capacity == self.capacity {
            return Err(RuleViolation::CapacityUnchanged {
                capacity: capacity.seats(),
            });
        }
        if capacity.seats() < self.enrolled_count() {
            return Err(RuleViolation::CapacityBelowEnrolled {
                requested: capacity.seats(),
                enrolled: self.enrolled_count(),
            });
        }
        let changed = Event::CapacityChanged {
            from: self.capacity,
            to: capacity,
        };
        Ok(self.then_promote(vec![changed]))
    }

    /// Appends to `events` the promotions they make due: while the cohort is open, seats are
    /// free and learners wait, the waitlist head is promoted, strictly in order.
    fn then_promote(&self, mut events: Vec<Event>) -> Vec<Event> {
        let mut after = self.clone();
        for event in &events {
            after.apply(event);
        }
        while after.status == CohortStatus::Open && after.seats_remaining() > 0 {
            let Some(head) = after.waitlist.front() else {
                break;
            };
            let promoted = Event::WaitlistPromoted {
                learner: head.learner,
            };
            after.apply(&promoted);
            events.push(promoted);
        }
        events
    }

    /// Folds one event into the state. Holds no rules and cannot fail: an event is a fact.
    /// `cohort.created` is handled by [`Cohort::created`]; applied again it is ignored.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::CohortCreated(_) => {}
            Event::StudentEnrolled { learner } => self.enrolled.push(*learner),
            Event::StudentWaitlisted { learner, position } => {
                self.waitlist.push_back(WaitlistEntry {
                    learner: *learner,
                    joined_at_place: *position,
                });
            }
            Event::StudentWithdrawn { learner, .. } => self.enrolled.retain(|l| l != learner),
            Event::WaitlistLeft { learner, .. } => self.waitlist.retain(|e| e.learner != *learner),
            Event::WaitlistPromoted { learner } => {
                // Promotion is always of the head: O(1), so raising capacity by thousands of
                // seats stays linear. Any other place is still removed correctly.
                if self.waitlist.front().is_some_and(|e| e.learner == *learner) {
                    self.waitlist.pop_front();
                } else {
                    self.waitlist.retain(|e| e.learner != *learner);
                }
                self.enrolled.push(*learner);
            }
            Event::CapacityChanged { to, .. } => self.capacity = *to,
            Event::EnrollmentClosed => self.status = CohortStatus::Closed,
        }
    }

    /// Folds a whole stream (starting with `cohort.created`) into a state.
    #[must_use]
    pub fn replay<'a>(id: CohortId, events: impl IntoIterator<Item = &'a Event>) -> Option<Self> {
        let mut state: Option<Self> = None;
        for event in events {
            match (&mut state, event) {
                (None, Event::CohortCreated(data)) => state = Some(Self::created(id, data)),
                (Some(cohort), event) => cohort.apply(event),
                (None, _) => {}
            }
        }
        state
    }

    /// Checks what the rules promise always holds.
    pub fn check_invariants(&self) -> Result<(), InvariantBroken> {
        if self.enrolled.len() > self.capacity.seats() as usize {
            return Err(InvariantBroken::OverCapacity {
                enrolled: self.enrolled.len(),
                capacity: self.capacity.seats(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        let everyone = self
            .enrolled
            .iter()
            .copied()
            .chain(self.waitlist.iter().map(|e| e.learner));
        for learner in everyone {
            if !seen.insert(learner) {
                return Err(InvariantBroken::Duplicate(learner));
            }
        }
        if self.status == CohortStatus::Open
            && self.seats_remaining() > 0
            && !self.waitlist.is_empty()
        {
            return Err(InvariantBroken::SeatFreeWhileWaiting {
                free: self.seats_remaining(),
                waiting: self.waitlist.len(),
            });
        }
        Ok(())
    }
}

fn decide_create(new: &NewCohort) -> Result<Vec<Event>, RuleViolation> {
    if new.withdrawal_deadline < new.enrollment_deadline {
        return Err(RuleViolation::InvalidSchedule(
            ScheduleProblem::WithdrawalBeforeEnrollment {
                withdrawal: new.withdrawal_deadline,
                enrollment: new.enrollment_deadline,
            },
        ));
    }
    Ok(vec![Event::CohortCreated(CohortCreated {
        name: new.name.clone(),
        course: new.course.clone(),
        instructor: new.instructor.clone(),
        capacity: new.capacity,
        starts_at: new.starts_at,
        enrollment_deadline: new.enrollment_deadline,
        withdrawal_deadline: new.withdrawal_deadline,
    })])
}

/// A count of learners as the events and rules carry it: seats are bounded by
/// [`super::Capacity::MAX`], and a waitlist of four billion is out of reach (saturates).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
