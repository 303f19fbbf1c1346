//! What a history line shows of the events whose data the event index does not hold: the new
//! dates, names or policy, an offer's expiry, the other cohort of a transfer, how many a
//! cancellation released. Kept per position by the history; worded by the pages.

use jiff::Timestamp;

use crate::domain::{CohortId, PromotionPolicy};

/// The data of one event that its history line shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventDetail {
    /// `cohort.rescheduled`: the dates after.
    Rescheduled {
        /// First session.
        starts_at: Timestamp,
        /// Enrollment deadline.
        enrollment_deadline: Timestamp,
        /// Withdrawal deadline.
        withdrawal_deadline: Timestamp,
        /// Last session, if known.
        ends_at: Option<Timestamp>,
    },
    /// `cohort.details_changed`: the texts after.
    DetailsChanged {
        /// Display name.
        name: String,
        /// Course.
        course: String,
        /// Instructor.
        instructor: String,
    },
    /// `cohort.cancelled`: how many learners it released.
    Cancelled {
        /// Enrolled, offered and waiting when it was cancelled.
        released: u32,
    },
    /// `cohort.policy_changed`.
    Policy {
        /// Automatic or offers.
        promotion: PromotionPolicy,
        /// The waitlist cap.
        waitlist_cap: Option<u32>,
    },
    /// `waitlist.offered`: until when the seat is held.
    Offered {
        /// When the offer lapses.
        expires_at: Timestamp,
    },
    /// `student.transferred_out`: where to.
    TransferredOut {
        /// The cohort joined.
        to: CohortId,
        /// Its name when the transfer was recorded.
        to_name: String,
    },
    /// `student.transferred_in`: where from, and whether a seat was taken.
    TransferredIn {
        /// The cohort left.
        from: CohortId,
        /// Its name when the transfer was recorded.
        from_name: String,
        /// `None`: took a seat; `Some(place)`: joined the waitlist there.
        waitlisted_at: Option<u32>,
    },
}
