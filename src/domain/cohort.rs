//! The cohort aggregate: its state, the rules that decide events (`decide`), and the fold that
//! applies them (`apply`).

use std::borrow::Cow;
use std::collections::VecDeque;

use jiff::Timestamp;

use super::command::{CohortCommand, NewCohort};
use super::event::{CohortCreated, Event};
use super::ids::{Capacity, CohortId, LearnerId};
use super::note::Note;
use super::policy::{Offer, PromotionPolicy};
use super::reason::ReasonCode;
use super::violation::{RuleViolation, ScheduleProblem};

/// Whether the cohort still takes enrollments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CohortStatus {
    /// Enrollments and promotions allowed (subject to the deadline).
    Open,
    /// Closed by staff: no enrollments or promotions (offers already made may be answered).
    Closed,
    /// Cancelled: holds nobody and accepts no command.
    Cancelled,
}

impl CohortStatus {
    /// `"open"`, `"closed"` or `"cancelled"`, as the API spells it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
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
    /// Last session, when known.
    pub ends_at: Option<Timestamp>,
    /// Open, closed or cancelled.
    pub status: CohortStatus,
    /// Learners holding a seat, in the order they got it.
    pub enrolled: Vec<LearnerId>,
    /// Learners waiting, head first.
    pub waitlist: VecDeque<WaitlistEntry>,
    /// How freed seats are filled.
    pub promotion: PromotionPolicy,
    /// The most learners that may wait (`None`: no limit).
    pub waitlist_cap: Option<u32>,
    /// Seats held for learners (off the waitlist, not yet enrolled), in the order offered. A
    /// held seat counts as taken.
    pub offers: Vec<Offer>,
}

/// A broken invariant: something the rules should have made impossible.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvariantBroken {
    /// More learners enrolled (or holding an offer) than seats.
    #[error("{enrolled} enrolled or offered exceeds capacity {capacity}")]
    OverCapacity {
        /// Seats taken (held offers count).
        enrolled: usize,
        /// Seats in all.
        capacity: u32,
    },
    /// A learner appears twice across roster, offers and waitlist.
    #[error("learner {0} appears more than once in roster, offers and waitlist")]
    Duplicate(LearnerId),
    /// An open cohort has a free seat while learners wait.
    #[error("open cohort has {free} free seats and {waiting} waiting")]
    SeatFreeWhileWaiting {
        /// Free seats.
        free: u32,
        /// Learners waiting.
        waiting: usize,
    },
    /// A cancelled cohort still holds learners.
    #[error("cancelled cohort still holds {held} learners")]
    CancelledHoldsLearners {
        /// Learners enrolled, offered or waiting.
        held: usize,
    },
}

/// One transfer decided: the events of each stream, appended together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// For the cohort the learner leaves: overdue offers expired, `student.transferred_out`,
    /// then the seat it frees filled.
    pub from_events: Vec<Event>,
    /// For the cohort the learner joins: overdue offers expired, then
    /// `student.transferred_in`.
    pub to_events: Vec<Event>,
}

/// A transfer refused, naming the cohort whose rule refused it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cohort {cohort}: {violation}")]
pub struct TransferRefused {
    /// The cohort the refusal concerns (the one left, or the one joined).
    pub cohort: CohortId,
    /// The rule and its facts.
    pub violation: RuleViolation,
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
            ends_at: data.ends_at,
            status: CohortStatus::Open,
            enrolled: Vec::new(),
            waitlist: VecDeque::new(),
            promotion: PromotionPolicy::Automatic,
            waitlist_cap: None,
            offers: Vec::new(),
        }
    }

    /// Seats enrolled (held offers not included).
    #[must_use]
    pub fn enrolled_count(&self) -> u32 {
        count(self.enrolled.len())
    }

    /// Seats taken: enrolled plus held for an offer.
    #[must_use]
    pub fn seats_taken(&self) -> u32 {
        count(self.enrolled.len().saturating_add(self.offers.len()))
    }

    /// Seats free (never negative); a seat held for an offer is taken.
    #[must_use]
    pub fn seats_remaining(&self) -> u32 {
        self.capacity.seats().saturating_sub(self.seats_taken())
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

    /// The offer `learner` holds, if any.
    #[must_use]
    pub fn offer_of(&self, learner: LearnerId) -> Option<&Offer> {
        self.offers.iter().find(|o| o.learner == learner)
    }

    /// How many learners the cohort holds: enrolled, offered and waiting (what cancelling it
    /// releases).
    #[must_use]
    pub fn held_count(&self) -> usize {
        self.enrolled.len() + self.offers.len() + self.waitlist.len()
    }

    /// Decides which events `command` produces against `state` (`None` before creation) at
    /// `now`, or which rule refuses it. Every business rule of a cohort lives here.
    ///
    /// On an existing cohort, offers whose hold ran out by `now` are expired first (and the
    /// seats they free filled); the command is decided against that state and its events follow
    /// in the same decision. A refused command writes nothing, expiries included.
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
        if cohort.status == CohortStatus::Cancelled {
            return Err(RuleViolation::CohortCancelled);
        }
        let mut draft = Draft::new(cohort);
        let expired = draft.expire_overdue(now);
        let more = match command {
            CohortCommand::ExpireOffers if expired.is_empty() => {
                return Err(RuleViolation::NoOfferDue {
                    now,
                    next: cohort.offers.iter().map(|o| o.expires_at).min(),
                });
            }
            CohortCommand::ExpireOffers => Vec::new(),
            command => draft.state.decide_after_expiry(command, &expired, now)?,
        };
        let mut events = draft.events;
        events.extend(more);
        Ok(events)
    }

    /// Decides `command` against a cohort whose overdue offers were just expired (`expired`).
    fn decide_after_expiry(
        &self,
        command: &CohortCommand,
        expired: &[Offer],
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        match command {
            CohortCommand::Create(_) | CohortCommand::ExpireOffers => {
                unreachable!("decided in `decide`")
            }
            CohortCommand::Enroll { learner } => self.decide_enroll(*learner, now),
            CohortCommand::Withdraw {
                learner,
                reason_code,
                reason,
            } => self.decide_withdraw(*learner, *reason_code, reason, expired, now),
            CohortCommand::LeaveWaitlist { learner, reason } => {
                if self.waitlist_place(*learner).is_none() {
                    return Err(RuleViolation::NotWaitlisted { learner: *learner });
                }
                Ok(vec![Event::WaitlistLeft {
                    learner: *learner,
                    reason: Note::Text(reason.clone()),
                }])
            }
            CohortCommand::Promote => self.decide_promote(now),
            CohortCommand::ChangeCapacity { capacity } => self.decide_capacity(*capacity, now),
            CohortCommand::CloseEnrollment => match self.status {
                CohortStatus::Open => Ok(vec![Event::EnrollmentClosed]),
                CohortStatus::Closed | CohortStatus::Cancelled => {
                    Err(RuleViolation::EnrollmentClosed)
                }
            },
            CohortCommand::Reopen {
                reason,
                enrollment_deadline,
            } => self.decide_reopen(reason, *enrollment_deadline, now),
            CohortCommand::Reschedule {
                starts_at,
                enrollment_deadline,
                withdrawal_deadline,
                ends_at,
            } => self.decide_reschedule(
                Schedule {
                    starts: starts_at.unwrap_or(self.starts_at),
                    enrollment: enrollment_deadline.unwrap_or(self.enrollment_deadline),
                    withdrawal: withdrawal_deadline.unwrap_or(self.withdrawal_deadline),
                    ends: ends_at.or(self.ends_at),
                },
                now,
            ),
            CohortCommand::ChangeDetails {
                name,
                course,
                instructor,
            } => self.decide_details(name.as_deref(), course.as_deref(), instructor.as_deref()),
            CohortCommand::Cancel { reason } => Ok(self.decide_cancel(reason)),
            CohortCommand::SetPolicy {
                promotion,
                waitlist_cap,
            } => self.decide_policy(*promotion, *waitlist_cap, now),
            CohortCommand::AcceptOffer { learner } => {
                self.answerable_offer(*learner, expired)?;
                Ok(vec![Event::OfferAccepted { learner: *learner }])
            }
            CohortCommand::DeclineOffer { learner, reason } => {
                self.answerable_offer(*learner, expired)?;
                let mut draft = Draft::new(self);
                draft.push(Event::OfferDeclined {
                    learner: *learner,
                    reason: Note::Text(reason.clone()),
                });
                draft.fill_seats(now);
                Ok(draft.events)
            }
        }
    }

    /// The learner's offer may be answered: it is held, and was not just expired.
    fn answerable_offer(&self, learner: LearnerId, expired: &[Offer]) -> Result<(), RuleViolation> {
        if let Some(lapsed) = expired.iter().find(|o| o.learner == learner) {
            return Err(RuleViolation::OfferExpired {
                learner,
                expired_at: lapsed.expires_at,
            });
        }
        if self.offer_of(learner).is_none() {
            return Err(RuleViolation::NoOffer { learner });
        }
        Ok(())
    }

    /// Refuses a learner this cohort already holds, as enrolling them again would be.
    fn check_not_held(&self, learner: LearnerId) -> Result<(), RuleViolation> {
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
        if let Some(offer) = self.offer_of(learner) {
            return Err(RuleViolation::AlreadyOffered {
                learner,
                expires_at: offer.expires_at,
            });
        }
        Ok(())
    }

    /// Refuses a join (enrollment or transfer in) while closed, cancelled or past the enrollment
    /// deadline at `now`: the rule pages ask before they offer an enroll form.
    pub fn check_joinable(&self, now: Timestamp) -> Result<(), RuleViolation> {
        match self.status {
            CohortStatus::Open => {}
            CohortStatus::Closed => return Err(RuleViolation::EnrollmentClosed),
            CohortStatus::Cancelled => return Err(RuleViolation::CohortCancelled),
        }
        if now > self.enrollment_deadline {
            return Err(RuleViolation::EnrollmentDeadlinePassed {
                deadline: self.enrollment_deadline,
                now,
            });
        }
        Ok(())
    }

    /// Refuses a join to the back of the waitlist once it is at its cap.
    fn check_waitlist_room(&self) -> Result<u32, RuleViolation> {
        let waiting = count(self.waitlist.len());
        match self.waitlist_cap {
            Some(cap) if waiting >= cap => Err(RuleViolation::WaitlistFull { cap, waiting }),
            _ => Ok(waiting.saturating_add(1)),
        }
    }

    fn decide_enroll(
        &self,
        learner: LearnerId,
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        self.check_joinable(now)?;
        self.check_not_held(learner)?;
        if self.seats_remaining() > 0 {
            Ok(vec![Event::StudentEnrolled { learner }])
        } else {
            let position = self.check_waitlist_room()?;
            Ok(vec![Event::StudentWaitlisted { learner, position }])
        }
    }

    /// A waitlisted learner leaves the waitlist (the code is for seats given up, and is not
    /// kept); a learner holding an offer declines it; an enrolled one gives up their seat
    /// before the withdrawal deadline.
    fn decide_withdraw(
        &self,
        learner: LearnerId,
        reason_code: ReasonCode,
        reason: &str,
        expired: &[Offer],
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        if self.waitlist_place(learner).is_some() {
            return Ok(vec![Event::WaitlistLeft {
                learner,
                reason: Note::Text(reason.to_owned()),
            }]);
        }
        let mut draft = Draft::new(self);
        if self.offer_of(learner).is_some() {
            draft.push(Event::OfferDeclined {
                learner,
                reason: Note::Text(reason.to_owned()),
            });
            draft.fill_seats(now);
            return Ok(draft.events);
        }
        if !self.is_enrolled(learner) {
            if let Some(lapsed) = expired.iter().find(|o| o.learner == learner) {
                return Err(RuleViolation::OfferExpired {
                    learner,
                    expired_at: lapsed.expires_at,
                });
            }
            return Err(RuleViolation::NotEnrolled { learner });
        }
        if now > self.withdrawal_deadline {
            return Err(RuleViolation::WithdrawalDeadlinePassed {
                deadline: self.withdrawal_deadline,
                now,
            });
        }
        draft.push(Event::StudentWithdrawn {
            learner,
            reason_code,
            reason: Note::Text(reason.to_owned()),
        });
        draft.fill_seats(now);
        Ok(draft.events)
    }

    fn decide_promote(&self, now: Timestamp) -> Result<Vec<Event>, RuleViolation> {
        if self.status != CohortStatus::Open {
            return Err(RuleViolation::EnrollmentClosed);
        }
        let Some(head) = self.waitlist.front() else {
            return Err(RuleViolation::WaitlistEmpty);
        };
        if self.seats_remaining() == 0 {
            return Err(RuleViolation::NoSeatFree {
                enrolled: self.seats_taken(),
                capacity: self.capacity.seats(),
            });
        }
        Ok(vec![self.fill_event(head.learner, now)])
    }

    fn decide_capacity(
        &self,
        capacity: Capacity,
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        if capacity == self.capacity {
            return Err(RuleViolation::CapacityUnchanged {
                capacity: capacity.seats(),
            });
        }
        if capacity.seats() < self.seats_taken() {
            return Err(RuleViolation::CapacityBelowEnrolled {
                requested: capacity.seats(),
                enrolled: self.seats_taken(),
            });
        }
        let mut draft = Draft::new(self);
        draft.push(Event::CapacityChanged {
            from: self.capacity,
            to: capacity,
        });
        draft.fill_seats(now);
        Ok(draft.events)
    }

    fn decide_reopen(
        &self,
        reason: &str,
        enrollment_deadline: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        if self.status == CohortStatus::Open {
            return Err(RuleViolation::NotClosed);
        }
        let deadline = enrollment_deadline.unwrap_or(self.enrollment_deadline);
        if deadline <= now {
            return Err(RuleViolation::DeadlineInPast { deadline, now });
        }
        check_schedule(deadline, self.withdrawal_deadline)?;
        let mut draft = Draft::new(self);
        if deadline != self.enrollment_deadline {
            draft.push(Event::CohortRescheduled {
                starts_at: self.starts_at,
                enrollment_deadline: deadline,
                withdrawal_deadline: self.withdrawal_deadline,
                ends_at: self.ends_at,
            });
        }
        draft.push(Event::EnrollmentReopened {
            reason: Note::Text(reason.to_owned()),
        });
        draft.fill_seats(now);
        Ok(draft.events)
    }

    fn decide_reschedule(
        &self,
        Schedule {
            starts,
            enrollment,
            withdrawal,
            ends,
        }: Schedule,
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        if (starts, enrollment, withdrawal, ends)
            == (
                self.starts_at,
                self.enrollment_deadline,
                self.withdrawal_deadline,
                self.ends_at,
            )
        {
            return Err(RuleViolation::NothingChanged);
        }
        for (before, after) in [
            (self.enrollment_deadline, enrollment),
            (self.withdrawal_deadline, withdrawal),
        ] {
            if after != before && after <= now {
                return Err(RuleViolation::DeadlineInPast {
                    deadline: after,
                    now,
                });
            }
        }
        check_schedule(enrollment, withdrawal)?;
        check_end(starts, ends)?;
        Ok(vec![Event::CohortRescheduled {
            starts_at: starts,
            enrollment_deadline: enrollment,
            withdrawal_deadline: withdrawal,
            ends_at: ends,
        }])
    }

    fn decide_details(
        &self,
        name: Option<&str>,
        course: Option<&str>,
        instructor: Option<&str>,
    ) -> Result<Vec<Event>, RuleViolation> {
        let name = name.unwrap_or(&self.name);
        let course = course.unwrap_or(&self.course);
        let instructor = instructor.unwrap_or(&self.instructor);
        if (name, course, instructor)
            == (
                self.name.as_str(),
                self.course.as_str(),
                self.instructor.as_str(),
            )
        {
            return Err(RuleViolation::NothingChanged);
        }
        Ok(vec![Event::CohortDetailsChanged {
            name: name.to_owned(),
            course: course.to_owned(),
            instructor: instructor.to_owned(),
        }])
    }

    /// `cohort.cancelled`, then one `student.released` per learner held: the enrolled in
    /// roster order, then the offers in the order made, then the waitlist head first.
    fn decide_cancel(&self, reason: &str) -> Vec<Event> {
        let mut events = Vec::with_capacity(1 + self.held_count());
        events.push(Event::CohortCancelled {
            reason: Note::Text(reason.to_owned()),
        });
        let held = self
            .enrolled
            .iter()
            .copied()
            .chain(self.offers.iter().map(|o| o.learner))
            .chain(self.waitlist.iter().map(|e| e.learner));
        events.extend(held.map(|learner| Event::StudentReleased { learner }));
        events
    }

    fn decide_policy(
        &self,
        promotion: PromotionPolicy,
        waitlist_cap: Option<u32>,
        now: Timestamp,
    ) -> Result<Vec<Event>, RuleViolation> {
        let promotion = promotion.normalized();
        if (promotion, waitlist_cap) == (self.promotion, self.waitlist_cap) {
            return Err(RuleViolation::NothingChanged);
        }
        let mut draft = Draft::new(self);
        draft.push(Event::PolicyChanged {
            promotion,
            waitlist_cap,
        });
        draft.fill_seats(now);
        Ok(draft.events)
    }

    /// The event that gives a free seat to the waitlist head `learner` under the policy.
    /// What a seat freed at `now` turns into: while enrollment is open, the head of the waitlist
    /// promoted to it or offered it, by the cohort's policy; `None` when nobody is waiting or
    /// enrollment is not open (it stays free, or empty). The one rule filling seats follows, so
    /// pages can say where a seat will go before it is freed.
    #[must_use]
    pub fn freed_seat_goes(&self, now: Timestamp) -> Option<Event> {
        if self.status != CohortStatus::Open {
            return None;
        }
        let head = self.waitlist.front()?;
        Some(self.fill_event(head.learner, now))
    }

    fn fill_event(&self, learner: LearnerId, now: Timestamp) -> Event {
        match self.promotion {
            PromotionPolicy::Automatic => Event::WaitlistPromoted { learner },
            PromotionPolicy::Offer { hold } => Event::WaitlistOffered {
                learner,
                offered_at: now,
                expires_at: now.checked_add(hold).unwrap_or(Timestamp::MAX),
            },
        }
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
                self.take_off_waitlist(*learner);
                self.enrolled.push(*learner);
            }
            Event::CapacityChanged { to, .. } => self.capacity = *to,
            Event::EnrollmentClosed => self.status = CohortStatus::Closed,
            Event::EnrollmentReopened { .. } => self.status = CohortStatus::Open,
            Event::CohortRescheduled {
                starts_at,
                enrollment_deadline,
                withdrawal_deadline,
                ends_at,
            } => {
                self.starts_at = *starts_at;
                self.enrollment_deadline = *enrollment_deadline;
                self.withdrawal_deadline = *withdrawal_deadline;
                self.ends_at = *ends_at;
            }
            Event::CohortDetailsChanged {
                name,
                course,
                instructor,
            } => {
                self.name.clone_from(name);
                self.course.clone_from(course);
                self.instructor.clone_from(instructor);
            }
            Event::CohortCancelled { .. } => self.status = CohortStatus::Cancelled,
            Event::StudentReleased { learner } | Event::StudentTransferredOut { learner, .. } => {
                self.release(*learner);
            }
            Event::PolicyChanged {
                promotion,
                waitlist_cap,
            } => {
                self.promotion = *promotion;
                self.waitlist_cap = *waitlist_cap;
            }
            Event::WaitlistOffered {
                learner,
                offered_at,
                expires_at,
            } => {
                self.take_off_waitlist(*learner);
                self.offers.push(Offer {
                    learner: *learner,
                    offered_at: *offered_at,
                    expires_at: *expires_at,
                });
            }
            Event::OfferAccepted { learner } => {
                self.offers.retain(|o| o.learner != *learner);
                self.enrolled.push(*learner);
            }
            Event::OfferDeclined { learner, .. } | Event::OfferExpired { learner } => {
                self.offers.retain(|o| o.learner != *learner);
            }
            Event::StudentTransferredIn {
                learner,
                waitlisted_at,
                ..
            } => match waitlisted_at {
                None => self.enrolled.push(*learner),
                Some(place) => self.waitlist.push_back(WaitlistEntry {
                    learner: *learner,
                    joined_at_place: *place,
                }),
            },
        }
    }

    /// Removes `learner` from the waitlist: O(1) for the head (what promotions and offers
    /// take, so raising capacity by thousands of seats stays linear); any other place is still
    /// removed correctly.
    fn take_off_waitlist(&mut self, learner: LearnerId) {
        if self.waitlist.front().is_some_and(|e| e.learner == learner) {
            self.waitlist.pop_front();
        } else {
            self.waitlist.retain(|e| e.learner != learner);
        }
    }

    /// Removes `learner` from wherever the cohort holds them.
    fn release(&mut self, learner: LearnerId) {
        if let Some(i) = self.enrolled.iter().position(|l| *l == learner) {
            self.enrolled.remove(i);
        } else if let Some(i) = self.offers.iter().position(|o| o.learner == learner) {
            self.offers.remove(i);
        } else {
            self.take_off_waitlist(learner);
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
        if self.seats_taken() > self.capacity.seats() {
            return Err(InvariantBroken::OverCapacity {
                enrolled: self.enrolled.len() + self.offers.len(),
                capacity: self.capacity.seats(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        let everyone = self
            .enrolled
            .iter()
            .copied()
            .chain(self.offers.iter().map(|o| o.learner))
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
        if self.status == CohortStatus::Cancelled && self.held_count() > 0 {
            return Err(InvariantBroken::CancelledHoldsLearners {
                held: self.held_count(),
            });
        }
        Ok(())
    }
}

/// A decision in progress: the events so far and the state they lead to (copied from the
/// cohort only once an event is added).
struct Draft<'a> {
    state: Cow<'a, Cohort>,
    events: Vec<Event>,
}

impl<'a> Draft<'a> {
    fn new(cohort: &'a Cohort) -> Self {
        Self {
            state: Cow::Borrowed(cohort),
            events: Vec::new(),
        }
    }

    fn push(&mut self, event: Event) {
        self.state.to_mut().apply(&event);
        self.events.push(event);
    }

    /// Expires, in the order made, every offer whose hold ran out by `now`, then fills the
    /// seats they free. Returns the offers expired.
    fn expire_overdue(&mut self, now: Timestamp) -> Vec<Offer> {
        let overdue: Vec<Offer> = self
            .state
            .offers
            .iter()
            .filter(|o| o.expires_at <= now)
            .copied()
            .collect();
        for offer in &overdue {
            self.push(Event::OfferExpired {
                learner: offer.learner,
            });
        }
        if !overdue.is_empty() {
            self.fill_seats(now);
        }
        overdue
    }

    /// Fills free seats from the waitlist head, strictly in order, while the cohort is open:
    /// promotions under the automatic policy, offers held from `now` under the offer policy.
    fn fill_seats(&mut self, now: Timestamp) {
        while self.state.seats_remaining() > 0 {
            let Some(event) = self.state.freed_seat_goes(now) else {
                break;
            };
            self.push(event);
        }
    }
}

/// Decides moving `learner` from cohort `from` to cohort `to` at `now`: one decision over
/// both streams, appended together or not at all.
///
/// Each side first has its overdue offers expired. The learner may leave `from` while
/// enrolled (before its withdrawal deadline), waitlisted or holding an offer; they join `to`
/// as an enrollment would (open, before its enrollment deadline, not already held), taking a
/// free seat, or joining its waitlist only if `allow_waitlist` and its cap allow. The seat
/// freed in `from` is filled in the same decision.
pub fn decide_transfer(
    from: &Cohort,
    to: &Cohort,
    learner: LearnerId,
    allow_waitlist: bool,
    reason: &str,
    now: Timestamp,
) -> Result<Transfer, TransferRefused> {
    let refused_by = |cohort: &Cohort| {
        let cohort = cohort.id;
        move |violation| TransferRefused { cohort, violation }
    };
    if from.id == to.id {
        return Err(refused_by(from)(RuleViolation::SameCohort));
    }
    // The side left.
    if from.status == CohortStatus::Cancelled {
        return Err(refused_by(from)(RuleViolation::CohortCancelled));
    }
    let mut out = Draft::new(from);
    let expired = out.expire_overdue(now);
    let a: &Cohort = &out.state;
    if a.is_enrolled(learner) {
        if now > a.withdrawal_deadline {
            return Err(refused_by(from)(RuleViolation::WithdrawalDeadlinePassed {
                deadline: a.withdrawal_deadline,
                now,
            }));
        }
    } else if a.waitlist_place(learner).is_none() && a.offer_of(learner).is_none() {
        let violation = match expired.iter().find(|o| o.learner == learner) {
            Some(lapsed) => RuleViolation::OfferExpired {
                learner,
                expired_at: lapsed.expires_at,
            },
            None => RuleViolation::NotEnrolled { learner },
        };
        return Err(refused_by(from)(violation));
    }
    // The side joined.
    if to.status == CohortStatus::Cancelled {
        return Err(refused_by(to)(RuleViolation::CohortCancelled));
    }
    let mut into = Draft::new(to);
    into.expire_overdue(now);
    let b: &Cohort = &into.state;
    b.check_joinable(now).map_err(refused_by(to))?;
    b.check_not_held(learner).map_err(refused_by(to))?;
    let waitlisted_at = if b.seats_remaining() > 0 {
        None
    } else if allow_waitlist {
        Some(b.check_waitlist_room().map_err(refused_by(to))?)
    } else {
        return Err(refused_by(to)(RuleViolation::NoSeatFree {
            enrolled: b.seats_taken(),
            capacity: b.capacity.seats(),
        }));
    };
    into.push(Event::StudentTransferredIn {
        learner,
        from: from.id,
        waitlisted_at,
    });
    out.push(Event::StudentTransferredOut {
        learner,
        to: to.id,
        reason: Note::Text(reason.to_owned()),
    });
    out.fill_seats(now);
    Ok(Transfer {
        from_events: out.events,
        to_events: into.events,
    })
}

fn check_schedule(enrollment: Timestamp, withdrawal: Timestamp) -> Result<(), RuleViolation> {
    if withdrawal < enrollment {
        return Err(RuleViolation::InvalidSchedule(
            ScheduleProblem::WithdrawalBeforeEnrollment {
                withdrawal,
                enrollment,
            },
        ));
    }
    Ok(())
}

/// A schedule as a reschedule leaves it.
#[derive(Clone, Copy)]
struct Schedule {
    starts: Timestamp,
    enrollment: Timestamp,
    withdrawal: Timestamp,
    ends: Option<Timestamp>,
}

/// Refuses an end that is not after the start.
fn check_end(starts: Timestamp, ends: Option<Timestamp>) -> Result<(), RuleViolation> {
    match ends {
        Some(ends) if ends <= starts => Err(RuleViolation::InvalidSchedule(
            ScheduleProblem::EndsBeforeStart { ends, starts },
        )),
        _ => Ok(()),
    }
}

fn decide_create(new: &NewCohort) -> Result<Vec<Event>, RuleViolation> {
    check_schedule(new.enrollment_deadline, new.withdrawal_deadline)?;
    check_end(new.starts_at, new.ends_at)?;
    let mut events = vec![Event::CohortCreated(CohortCreated {
        name: new.name.clone(),
        course: new.course.clone(),
        instructor: new.instructor.clone(),
        capacity: new.capacity,
        starts_at: new.starts_at,
        enrollment_deadline: new.enrollment_deadline,
        withdrawal_deadline: new.withdrawal_deadline,
        ends_at: new.ends_at,
    })];
    let promotion = new.promotion.normalized();
    if (promotion, new.waitlist_cap) != (PromotionPolicy::Automatic, None) {
        events.push(Event::PolicyChanged {
            promotion,
            waitlist_cap: new.waitlist_cap,
        });
    }
    Ok(events)
}

/// A count of learners as the events and rules carry it: seats are bounded by
/// [`super::Capacity::MAX`], and a waitlist of four billion is out of reach (saturates).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
