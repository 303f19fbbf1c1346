//! Commands: what staff ask the cohort to do, in the imperative.

use jiff::Timestamp;

use super::ids::{Capacity, LearnerId};
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
}
