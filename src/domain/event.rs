//! Domain events: facts in the past tense, the truth the ledger stores.
//!
//! Each variant has a stable name (`student.enrolled`). How an event is stored (its schema
//! version and bytes) is the business of `store::codec`, not of this module.

use jiff::Timestamp;

use super::ids::{Capacity, LearnerId};
use super::note::Note;
use super::reason::ReasonCode;

/// The payload of `cohort.created`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CohortCreated {
    /// Display name.
    pub name: String,
    /// Course taught.
    pub course: String,
    /// Who teaches it.
    pub instructor: String,
    /// Seats at creation.
    pub capacity: Capacity,
    /// First session.
    pub starts_at: Timestamp,
    /// Enrollment deadline.
    pub enrollment_deadline: Timestamp,
    /// Withdrawal deadline.
    pub withdrawal_deadline: Timestamp,
}

/// Everything that can happen to a cohort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `cohort.created`
    CohortCreated(CohortCreated),
    /// `student.enrolled`: took a free seat.
    StudentEnrolled {
        /// Who.
        learner: LearnerId,
    },
    /// `student.waitlisted`: every seat was taken; joined the back of the waitlist.
    StudentWaitlisted {
        /// Who.
        learner: LearnerId,
        /// 1-based place in the waitlist when they joined.
        position: u32,
    },
    /// `student.withdrawn`: an enrolled learner gave up their seat.
    StudentWithdrawn {
        /// Who.
        learner: LearnerId,
        /// Why, as a code (schema 2; `other` for withdrawals stored before).
        reason_code: ReasonCode,
        /// Staff's free text (schema 3 can hold it erased).
        reason: Note,
    },
    /// `waitlist.left`: a waitlisted learner left the waitlist.
    WaitlistLeft {
        /// Who.
        learner: LearnerId,
        /// Staff's free text (schema 2 can hold it erased).
        reason: Note,
    },
    /// `waitlist.promoted`: the waitlist head took a free seat.
    WaitlistPromoted {
        /// Who.
        learner: LearnerId,
    },
    /// `cohort.capacity_changed`
    CapacityChanged {
        /// Seats before.
        from: Capacity,
        /// Seats after.
        to: Capacity,
    },
    /// `enrollment.closed`
    EnrollmentClosed,
}

impl Event {
    /// The stable name stored with the event and shown in the API.
    #[must_use]
    pub const fn type_name(&self) -> &'static str {
        match self {
            Self::CohortCreated(_) => "cohort.created",
            Self::StudentEnrolled { .. } => "student.enrolled",
            Self::StudentWaitlisted { .. } => "student.waitlisted",
            Self::StudentWithdrawn { .. } => "student.withdrawn",
            Self::WaitlistLeft { .. } => "waitlist.left",
            Self::WaitlistPromoted { .. } => "waitlist.promoted",
            Self::CapacityChanged { .. } => "cohort.capacity_changed",
            Self::EnrollmentClosed => "enrollment.closed",
        }
    }

    /// The index of this event's name in [`Self::TYPE_NAMES`].
    #[must_use]
    pub const fn type_index(&self) -> u8 {
        match self {
            Self::CohortCreated(_) => 0,
            Self::StudentEnrolled { .. } => 1,
            Self::StudentWaitlisted { .. } => 2,
            Self::StudentWithdrawn { .. } => 3,
            Self::WaitlistLeft { .. } => 4,
            Self::WaitlistPromoted { .. } => 5,
            Self::CapacityChanged { .. } => 6,
            Self::EnrollmentClosed => 7,
        }
    }

    /// Every stable event name, for filters and documentation.
    pub const TYPE_NAMES: [&'static str; 8] = [
        "cohort.created",
        "student.enrolled",
        "student.waitlisted",
        "student.withdrawn",
        "waitlist.left",
        "waitlist.promoted",
        "cohort.capacity_changed",
        "enrollment.closed",
    ];

    /// The free-text note this event carries (its reason), if any.
    #[must_use]
    pub const fn note(&self) -> Option<&Note> {
        match self {
            Self::StudentWithdrawn { reason, .. } | Self::WaitlistLeft { reason, .. } => {
                Some(reason)
            }
            _ => None,
        }
    }

    /// The note this event carries, to change (erase) it.
    pub const fn note_mut(&mut self) -> Option<&mut Note> {
        match self {
            Self::StudentWithdrawn { reason, .. } | Self::WaitlistLeft { reason, .. } => {
                Some(reason)
            }
            _ => None,
        }
    }

    /// The learner this event is about, if any.
    #[must_use]
    pub const fn learner(&self) -> Option<LearnerId> {
        match self {
            Self::StudentEnrolled { learner }
            | Self::StudentWaitlisted { learner, .. }
            | Self::StudentWithdrawn { learner, .. }
            | Self::WaitlistLeft { learner, .. }
            | Self::WaitlistPromoted { learner } => Some(*learner),
            Self::CohortCreated(_) | Self::CapacityChanged { .. } | Self::EnrollmentClosed => None,
        }
    }
}
