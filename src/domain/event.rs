//! Domain events: facts in the past tense, the truth the ledger stores.
//!
//! Each variant has a stable name (`student.enrolled`). How an event is stored (its schema
//! version and bytes) is the business of `store::codec`, not of this module.

use jiff::Timestamp;

use super::ids::{Capacity, CohortId, LearnerId};
use super::note::Note;
use super::policy::PromotionPolicy;
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
    /// Last session, when known (a cohort without one is never finished).
    pub ends_at: Option<Timestamp>,
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
    /// `enrollment.reopened`: a closed cohort takes enrollments again.
    EnrollmentReopened {
        /// Staff's free text.
        reason: Note,
    },
    /// `cohort.rescheduled`: the schedule after the change (all its dates).
    CohortRescheduled {
        /// First session.
        starts_at: Timestamp,
        /// Enrollment deadline.
        enrollment_deadline: Timestamp,
        /// Withdrawal deadline.
        withdrawal_deadline: Timestamp,
        /// Last session (`None`: not known).
        ends_at: Option<Timestamp>,
    },
    /// `cohort.details_changed`: name, course and instructor after the change.
    CohortDetailsChanged {
        /// Display name.
        name: String,
        /// Course taught.
        course: String,
        /// Who teaches it.
        instructor: String,
    },
    /// `cohort.cancelled`: the cohort will not run; `student.released` follows for everyone
    /// it held.
    CohortCancelled {
        /// Staff's free text.
        reason: Note,
    },
    /// `student.released`: a learner let go because the cohort was cancelled.
    StudentReleased {
        /// Who.
        learner: LearnerId,
    },
    /// `cohort.policy_changed`: how freed seats are filled, and the waitlist cap.
    PolicyChanged {
        /// Automatic promotion, or offers held for a while.
        promotion: PromotionPolicy,
        /// The most learners that may wait (`None`: no limit).
        waitlist_cap: Option<u32>,
    },
    /// `waitlist.offered`: the waitlist head was offered a freed seat, held until `expires_at`.
    WaitlistOffered {
        /// Who.
        learner: LearnerId,
        /// When the offer was made.
        offered_at: Timestamp,
        /// When it lapses.
        expires_at: Timestamp,
    },
    /// `offer.accepted`: the learner took the seat held for them.
    OfferAccepted {
        /// Who.
        learner: LearnerId,
    },
    /// `offer.declined`: the learner (or staff for them) turned the offer down.
    OfferDeclined {
        /// Who.
        learner: LearnerId,
        /// Staff's free text.
        reason: Note,
    },
    /// `offer.expired`: the hold ran out unanswered.
    OfferExpired {
        /// Who.
        learner: LearnerId,
    },
    /// `student.transferred_out`: the learner left this cohort for cohort `to`, in the same
    /// append as their `student.transferred_in` there.
    StudentTransferredOut {
        /// Who.
        learner: LearnerId,
        /// The cohort they moved to.
        to: CohortId,
        /// Staff's free text.
        reason: Note,
    },
    /// `student.transferred_in`: the learner came from cohort `from`.
    StudentTransferredIn {
        /// Who.
        learner: LearnerId,
        /// The cohort they came from.
        from: CohortId,
        /// `None`: took a seat; `Some(place)`: joined the waitlist at that 1-based place.
        waitlisted_at: Option<u32>,
    },
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
            Self::EnrollmentReopened { .. } => "enrollment.reopened",
            Self::CohortRescheduled { .. } => "cohort.rescheduled",
            Self::CohortDetailsChanged { .. } => "cohort.details_changed",
            Self::CohortCancelled { .. } => "cohort.cancelled",
            Self::StudentReleased { .. } => "student.released",
            Self::PolicyChanged { .. } => "cohort.policy_changed",
            Self::WaitlistOffered { .. } => "waitlist.offered",
            Self::OfferAccepted { .. } => "offer.accepted",
            Self::OfferDeclined { .. } => "offer.declined",
            Self::OfferExpired { .. } => "offer.expired",
            Self::StudentTransferredOut { .. } => "student.transferred_out",
            Self::StudentTransferredIn { .. } => "student.transferred_in",
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
            Self::EnrollmentReopened { .. } => 8,
            Self::CohortRescheduled { .. } => 9,
            Self::CohortDetailsChanged { .. } => 10,
            Self::CohortCancelled { .. } => 11,
            Self::StudentReleased { .. } => 12,
            Self::PolicyChanged { .. } => 13,
            Self::WaitlistOffered { .. } => 14,
            Self::OfferAccepted { .. } => 15,
            Self::OfferDeclined { .. } => 16,
            Self::OfferExpired { .. } => 17,
            Self::StudentTransferredOut { .. } => 18,
            Self::StudentTransferredIn { .. } => 19,
        }
    }

    /// Every stable event name, for filters and documentation. Only ever appended: the index
    /// of a name is [`Self::type_index`].
    pub const TYPE_NAMES: [&'static str; 20] = [
        "cohort.created",
        "student.enrolled",
        "student.waitlisted",
        "student.withdrawn",
        "waitlist.left",
        "waitlist.promoted",
        "cohort.capacity_changed",
        "enrollment.closed",
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
        "student.transferred_out",
        "student.transferred_in",
    ];

    /// The free-text note this event carries (its reason), if any.
    #[must_use]
    pub const fn note(&self) -> Option<&Note> {
        match self {
            Self::StudentWithdrawn { reason, .. }
            | Self::WaitlistLeft { reason, .. }
            | Self::EnrollmentReopened { reason }
            | Self::CohortCancelled { reason }
            | Self::OfferDeclined { reason, .. }
            | Self::StudentTransferredOut { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The note this event carries, to change (erase) it.
    pub const fn note_mut(&mut self) -> Option<&mut Note> {
        match self {
            Self::StudentWithdrawn { reason, .. }
            | Self::WaitlistLeft { reason, .. }
            | Self::EnrollmentReopened { reason }
            | Self::CohortCancelled { reason }
            | Self::OfferDeclined { reason, .. }
            | Self::StudentTransferredOut { reason, .. } => Some(reason),
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
            | Self::WaitlistPromoted { learner }
            | Self::StudentReleased { learner }
            | Self::WaitlistOffered { learner, .. }
            | Self::OfferAccepted { learner }
            | Self::OfferDeclined { learner, .. }
            | Self::OfferExpired { learner }
            | Self::StudentTransferredOut { learner, .. }
            | Self::StudentTransferredIn { learner, .. } => Some(*learner),
            Self::CohortCreated(_)
            | Self::CapacityChanged { .. }
            | Self::EnrollmentClosed
            | Self::EnrollmentReopened { .. }
            | Self::CohortRescheduled { .. }
            | Self::CohortDetailsChanged { .. }
            | Self::CohortCancelled { .. }
            | Self::PolicyChanged { .. } => None,
        }
    }
}
