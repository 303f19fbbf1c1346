//! Where a cohort stands for people: its status (open, closed, cancelled) read together with its
//! dates, so a page never calls a cohort "open" whose enrollment deadline has passed or whose
//! classes have begun. One derivation, used by every page and answer that shows a status.

use jiff::Timestamp;

use super::cohort::{Cohort, CohortStatus};

/// A cohort's phase at an instant: its status and its dates together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Taking enrollments: open and before the enrollment deadline.
    Open,
    /// Open, but the enrollment deadline has passed: nobody can join until it moves.
    EnrollmentEnded,
    /// Closed by staff before it started: nobody can join until it is reopened.
    Closed,
    /// Classes have begun (the first session is past).
    Running,
    /// The last session is past.
    Finished,
    /// Cancelled: holds nobody and takes no command.
    Cancelled,
}

impl Phase {
    /// Every phase, in the order a term moves through them.
    pub const ALL: [Self; 6] = [
        Self::Open,
        Self::EnrollmentEnded,
        Self::Closed,
        Self::Running,
        Self::Finished,
        Self::Cancelled,
    ];

    /// The phase of `cohort` at `now`.
    #[must_use]
    pub fn of(cohort: &Cohort, now: Timestamp) -> Self {
        match cohort.status {
            CohortStatus::Cancelled => Self::Cancelled,
            _ if cohort.ends_at.is_some_and(|end| now >= end) => Self::Finished,
            _ if now >= cohort.starts_at => Self::Running,
            CohortStatus::Closed => Self::Closed,
            CohortStatus::Open if now > cohort.enrollment_deadline => Self::EnrollmentEnded,
            CohortStatus::Open => Self::Open,
        }
    }

    /// The phase as a machine reads it (`open`, `enrollment_ended`, `closed`, `running`,
    /// `finished`, `cancelled`): CSS classes, filters, the API's `phase` field.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::EnrollmentEnded => "enrollment_ended",
            Self::Closed => "closed",
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
        }
    }

    /// The phase in words, for a badge (`Enrollment ended`).
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::EnrollmentEnded => "Enrollment ended",
            Self::Closed => "Closed",
            Self::Running => "Running",
            Self::Finished => "Finished",
            Self::Cancelled => "Cancelled",
        }
    }

    /// Whether the waitlist of `cohort` can still move at `now`: promotions happen only while
    /// enrollment is open (a freed or added seat goes to the head), never once closed,
    /// cancelled or finished. Where it cannot, a place in the queue means no seat will come.
    #[must_use]
    pub fn waitlist_moves(cohort: &Cohort, now: Timestamp) -> bool {
        cohort.status == CohortStatus::Open && Self::of(cohort, now) != Self::Finished
    }
}

impl std::str::FromStr for Phase {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw.trim())
            .ok_or_else(|| {
                format!(
                    "must be one of open, enrollment_ended, closed, running, finished, cancelled; got {raw:?}"
                )
            })
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}
