//! Rule violations: why the cohort refused a command, with the facts that were checked.

use jiff::Timestamp;

use super::ids::{CohortId, LearnerId};

/// A command the rules refuse. Each variant carries the facts it checked so staff can be told
/// exactly why ("cohort full: 30 of 30 seats").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleViolation {
    /// The command names a cohort that was never created.
    #[error("cohort {cohort} does not exist")]
    CohortNotFound {
        /// The id asked for.
        cohort: CohortId,
    },
    /// `Create` for a cohort id that already has a stream.
    #[error("cohort {cohort} already exists")]
    CohortAlreadyExists {
        /// The id asked for.
        cohort: CohortId,
    },
    /// Enrollment was closed for this cohort.
    #[error("enrollment is closed for this cohort")]
    EnrollmentClosed,
    /// The enrollment deadline had passed when the command was decided.
    #[error("enrollment deadline {} passed at {}", fmt_time(*.deadline), fmt_time(*.now))]
    EnrollmentDeadlinePassed {
        /// The cohort's enrollment deadline.
        deadline: Timestamp,
        /// When the command was decided.
        now: Timestamp,
    },
    /// The withdrawal deadline had passed when the command was decided.
    #[error("withdrawal deadline {} passed at {}", fmt_time(*.deadline), fmt_time(*.now))]
    WithdrawalDeadlinePassed {
        /// The cohort's withdrawal deadline.
        deadline: Timestamp,
        /// When the command was decided.
        now: Timestamp,
    },
    /// The learner already holds a seat.
    #[error("learner is already enrolled")]
    AlreadyEnrolled {
        /// Who.
        learner: LearnerId,
    },
    /// The learner is already on the waitlist.
    #[error("learner is already waitlisted, at place {position} of {waitlist_len}")]
    AlreadyWaitlisted {
        /// Who.
        learner: LearnerId,
        /// Their current 1-based place.
        position: u32,
        /// How many are waiting.
        waitlist_len: u32,
    },
    /// The learner is neither enrolled nor waitlisted.
    #[error("learner is not enrolled in this cohort")]
    NotEnrolled {
        /// Who.
        learner: LearnerId,
    },
    /// The learner is not on the waitlist.
    #[error("learner is not on the waitlist")]
    NotWaitlisted {
        /// Who.
        learner: LearnerId,
    },
    /// Promotion asked for, but nobody is waiting.
    #[error("the waitlist is empty")]
    WaitlistEmpty,
    /// Promotion asked for, but every seat is taken.
    #[error("no seat free: {enrolled} of {capacity} seats taken")]
    NoSeatFree {
        /// Seats taken.
        enrolled: u32,
        /// Seats in all.
        capacity: u32,
    },
    /// A capacity below the number already enrolled.
    #[error("capacity {requested} is below the {enrolled} learners enrolled")]
    CapacityBelowEnrolled {
        /// What was asked for.
        requested: u32,
        /// Seats taken.
        enrolled: u32,
    },
    /// A capacity change to the capacity the cohort already has.
    #[error("capacity is already {capacity}")]
    CapacityUnchanged {
        /// The current capacity.
        capacity: u32,
    },
    /// Deadlines that cannot hold together.
    #[error("{0}")]
    InvalidSchedule(ScheduleProblem),
    /// Reopen asked for, but enrollment is open.
    #[error("enrollment is not closed")]
    NotClosed,
    /// The cohort was cancelled: it accepts no command.
    #[error("the cohort was cancelled")]
    CohortCancelled,
    /// A deadline that would already have passed.
    #[error("the deadline {} is not after now ({})", fmt_time(*.deadline), fmt_time(*.now))]
    DeadlineInPast {
        /// The deadline asked for (or kept).
        deadline: Timestamp,
        /// When the command was decided.
        now: Timestamp,
    },
    /// Every seat is taken and the waitlist is at its cap.
    #[error("the waitlist is full: {waiting} waiting, cap {cap}")]
    WaitlistFull {
        /// The cohort's waitlist cap.
        cap: u32,
        /// How many wait now.
        waiting: u32,
    },
    /// The learner holds no offer in this cohort.
    #[error("learner holds no offer in this cohort")]
    NoOffer {
        /// Who.
        learner: LearnerId,
    },
    /// The learner's offer ran out before they answered.
    #[error("the offer expired at {}", fmt_time(*.expired_at))]
    OfferExpired {
        /// Who.
        learner: LearnerId,
        /// When the hold ran out.
        expired_at: Timestamp,
    },
    /// A transfer from a cohort to itself.
    #[error("a learner cannot be transferred to the cohort they are in")]
    SameCohort,
    /// The values given are the cohort's current ones.
    #[error("nothing would change: the values given are the current ones")]
    NothingChanged,
    /// The learner already holds an offer of a seat.
    #[error("learner already holds an offer of a seat, until {}", fmt_time(*.expires_at))]
    AlreadyOffered {
        /// Who.
        learner: LearnerId,
        /// When the offer lapses.
        expires_at: Timestamp,
    },
    /// Expiry asked for, but no offer is due.
    #[error("no offer is due at {}", fmt_time(*.now))]
    NoOfferDue {
        /// When the command was decided.
        now: Timestamp,
        /// When the next offer falls due, if any is outstanding.
        next: Option<Timestamp>,
    },
}

/// What is wrong with a new cohort's dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleProblem {
    /// Withdrawals would close before enrollment does.
    #[error("the withdrawal deadline {} is before the enrollment deadline {}", fmt_time(*.withdrawal), fmt_time(*.enrollment))]
    WithdrawalBeforeEnrollment {
        /// The withdrawal deadline given.
        withdrawal: Timestamp,
        /// The enrollment deadline given.
        enrollment: Timestamp,
    },
    /// The cohort would end before it starts.
    #[error("the end {} is not after the start {}", fmt_time(*.ends), fmt_time(*.starts))]
    EndsBeforeStart {
        /// The end given.
        ends: Timestamp,
        /// The start.
        starts: Timestamp,
    },
}

impl RuleViolation {
    /// A stable, machine-readable code for the API.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::CohortNotFound { .. } => "cohort_not_found",
            Self::CohortAlreadyExists { .. } => "cohort_exists",
            Self::EnrollmentClosed => "enrollment_closed",
            Self::EnrollmentDeadlinePassed { .. } => "enrollment_deadline_passed",
            Self::WithdrawalDeadlinePassed { .. } => "withdrawal_deadline_passed",
            Self::AlreadyEnrolled { .. } => "already_enrolled",
            Self::AlreadyWaitlisted { .. } => "already_waitlisted",
            Self::NotEnrolled { .. } => "not_enrolled",
            Self::NotWaitlisted { .. } => "not_waitlisted",
            Self::WaitlistEmpty => "waitlist_empty",
            Self::NoSeatFree { .. } => "no_seat_free",
            Self::CapacityBelowEnrolled { .. } => "capacity_below_enrolled",
            Self::CapacityUnchanged { .. } => "capacity_unchanged",
            Self::InvalidSchedule(_) => "invalid_schedule",
            Self::NotClosed => "not_closed",
            Self::CohortCancelled => "cohort_cancelled",
            Self::DeadlineInPast { .. } => "deadline_in_past",
            Self::WaitlistFull { .. } => "waitlist_full",
            Self::NoOffer { .. } => "no_offer",
            Self::OfferExpired { .. } => "offer_expired",
            Self::SameCohort => "same_cohort",
            Self::NothingChanged => "nothing_changed",
            Self::AlreadyOffered { .. } => "already_offered",
            Self::NoOfferDue { .. } => "no_offer_due",
        }
    }
}

/// Times in messages: minute precision, always UTC and saying so.
fn fmt_time(t: Timestamp) -> String {
    super::utc_minute(t)
}
