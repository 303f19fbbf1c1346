//! Commands: what staff ask the cohort to do, in the imperative.

use jiff::Timestamp;

use super::ids::{Capacity, LearnerId};
use super::policy::PromotionPolicy;
use super::reason::ReasonCode;

/// The data needed to create a cohort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCohort {
    /// Display name, e.g. "Rust in Practice — spring".
    pub name: String,
    /// Course code or title the cohort teaches.
    pub course: String,
    /// Who teaches it.
    pub instructor: String,
    /// Seats available.
    pub capacity: Capacity,
    /// When the first session starts.
    pub starts_at: Timestamp,
    /// No enrollment after this instant.
    pub enrollment_deadline: Timestamp,
    /// No withdrawal of an enrolled learner after this instant.
    pub withdrawal_deadline: Timestamp,
    /// When the last session ends, if known: after it the cohort is finished.
    pub ends_at: Option<Timestamp>,
    /// How freed seats are filled (automatic unless said otherwise).
    pub promotion: PromotionPolicy,
    /// The most learners that may wait (`None`: no limit).
    pub waitlist_cap: Option<u32>,
}

/// A command addressed to one cohort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CohortCommand {
    /// Create the cohort (its stream must not exist yet).
    Create(NewCohort),
    /// Enroll a learner, or waitlist them when every seat is taken.
    Enroll {
        /// Who.
        learner: LearnerId,
    },
    /// Withdraw an enrolled learner (promoting the waitlist head), or take a waitlisted learner
    /// off the waitlist.
    Withdraw {
        /// Who.
        learner: LearnerId,
        /// Why, as a code reports group by.
        reason_code: ReasonCode,
        /// Free text given by staff; may be empty.
        reason: String,
    },
    /// Take a learner off the waitlist; refused if they are not on it.
    LeaveWaitlist {
        /// Who.
        learner: LearnerId,
        /// Free text given by staff; may be empty.
        reason: String,
    },
    /// Promote the head of the waitlist into a free seat.
    Promote,
    /// Change the number of seats; an increase promotes from the waitlist head.
    ChangeCapacity {
        /// The new number of seats.
        capacity: Capacity,
    },
    /// Close enrollment: no enrollments or promotions afterwards.
    CloseEnrollment,
    /// Take enrollments again after closing; the enrollment deadline must lie ahead (moved
    /// by `enrollment_deadline` if given). Freed seats fill at once.
    Reopen {
        /// Free text given by staff.
        reason: String,
        /// A new enrollment deadline, if the current one has passed or is to move.
        enrollment_deadline: Option<Timestamp>,
    },
    /// Move the start and/or either deadline (`None`: unchanged).
    Reschedule {
        /// New first session.
        starts_at: Option<Timestamp>,
        /// New enrollment deadline.
        enrollment_deadline: Option<Timestamp>,
        /// New withdrawal deadline.
        withdrawal_deadline: Option<Timestamp>,
        /// New end (last session).
        ends_at: Option<Timestamp>,
    },
    /// Change the name, course or instructor (`None`: unchanged).
    ChangeDetails {
        /// New display name.
        name: Option<String>,
        /// New course.
        course: Option<String>,
        /// New instructor.
        instructor: Option<String>,
    },
    /// Cancel the cohort: everyone it holds is released; no command is accepted afterwards.
    Cancel {
        /// Free text given by staff.
        reason: String,
    },
    /// Set the promotion policy and the waitlist cap.
    SetPolicy {
        /// Automatic promotion, or offers held for a while.
        promotion: PromotionPolicy,
        /// The most learners that may wait (`None`: no limit).
        waitlist_cap: Option<u32>,
    },
    /// The learner takes the seat offered to them.
    AcceptOffer {
        /// Who.
        learner: LearnerId,
    },
    /// The learner turns the offer down; the next in line is offered the seat.
    DeclineOffer {
        /// Who.
        learner: LearnerId,
        /// Free text given by staff; may be empty.
        reason: String,
    },
    /// Expire the offers whose hold has run out (the scheduler's command).
    ExpireOffers,
}
