//! What callers submit to the writer and what they get back: a [`Request`] for one cohort
//! (learners named by key), the [`Submission`] around it, and the [`Committed`] answer.

use uuid::Uuid;

use super::stored_precision;
use crate::domain::{Capacity, CohortCommand, CohortId, LearnerId, NewCohort, ReasonCode};
use crate::learner_key::LearnerKey;
use crate::metrics::CommandKind;
use crate::store::{Actor, Envelope};

/// What a caller asks of one cohort, with learners named by key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Create a cohort under a fresh id.
    Create {
        /// The id to create (a UUID v7 chosen by the caller).
        cohort: CohortId,
        /// Its data.
        new: NewCohort,
    },
    /// Enroll (or waitlist) a learner, filing them in the directory if new.
    Enroll {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
        /// Display name to file (kept as is when `None`).
        name: Option<String>,
    },
    /// Withdraw an enrolled learner, or take a waitlisted one off the waitlist.
    Withdraw {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
        /// Why, as a code (kept for a seat given up; not for a waitlist place).
        reason_code: ReasonCode,
        /// Staff's free text.
        reason: String,
    },
    /// Take a learner off the waitlist.
    LeaveWaitlist {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
        /// Staff's free text.
        reason: String,
    },
    /// Promote the waitlist head.
    Promote {
        /// The cohort.
        cohort: CohortId,
    },
    /// Change the number of seats.
    ChangeCapacity {
        /// The cohort.
        cohort: CohortId,
        /// New seats.
        capacity: Capacity,
    },
    /// Close enrollment.
    Close {
        /// The cohort.
        cohort: CohortId,
    },
}

impl Request {
    /// The cohort addressed.
    #[must_use]
    pub const fn cohort(&self) -> CohortId {
        match self {
            Self::Create { cohort, .. }
            | Self::Enroll { cohort, .. }
            | Self::Withdraw { cohort, .. }
            | Self::LeaveWaitlist { cohort, .. }
            | Self::Promote { cohort }
            | Self::ChangeCapacity { cohort, .. }
            | Self::Close { cohort } => *cohort,
        }
    }

    /// What was asked, in words, without personal data (for the rejected-command journal).
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Create { new, .. } => format!("create with {} seats", new.capacity),
            Self::Enroll { .. } => "enroll".to_owned(),
            Self::Withdraw { .. } => "withdraw".to_owned(),
            Self::LeaveWaitlist { .. } => "leave the waitlist".to_owned(),
            Self::Promote { .. } => "promote the waitlist head".to_owned(),
            Self::ChangeCapacity { capacity, .. } => format!("change seats to {capacity}"),
            Self::Close { .. } => "close enrollment".to_owned(),
        }
    }

    /// The kind of command, for metrics.
    #[must_use]
    pub const fn kind(&self) -> CommandKind {
        match self {
            Self::Create { .. } => CommandKind::Create,
            Self::Enroll { .. } => CommandKind::Enroll,
            Self::Withdraw { .. } => CommandKind::Withdraw,
            Self::LeaveWaitlist { .. } => CommandKind::LeaveWaitlist,
            Self::Promote { .. } => CommandKind::Promote,
            Self::ChangeCapacity { .. } => CommandKind::ChangeCapacity,
            Self::Close { .. } => CommandKind::Close,
        }
    }

    /// The learner named, for learner commands.
    #[must_use]
    pub const fn learner_key(&self) -> Option<&LearnerKey> {
        match self {
            Self::Enroll { learner, .. }
            | Self::Withdraw { learner, .. }
            | Self::LeaveWaitlist { learner, .. } => Some(learner),
            Self::Create { .. }
            | Self::Promote { .. }
            | Self::ChangeCapacity { .. }
            | Self::Close { .. } => None,
        }
    }

    pub(super) fn command(&self, learner: Option<LearnerId>) -> CohortCommand {
        let who = || learner.expect("learner resolved for learner commands");
        match self {
            // Times are decided at the precision they are stored at, so that what is answered
            // and shown now is what a replay shows.
            Self::Create { new, .. } => CohortCommand::Create(NewCohort {
                starts_at: stored_precision(new.starts_at),
                enrollment_deadline: stored_precision(new.enrollment_deadline),
                withdrawal_deadline: stored_precision(new.withdrawal_deadline),
                ..new.clone()
            }),
            Self::Enroll { .. } => CohortCommand::Enroll { learner: who() },
            Self::Withdraw {
                reason_code,
                reason,
                ..
            } => CohortCommand::Withdraw {
                learner: who(),
                reason_code: *reason_code,
                reason: reason.clone(),
            },
            Self::LeaveWaitlist { reason, .. } => CohortCommand::LeaveWaitlist {
                learner: who(),
                reason: reason.clone(),
            },
            Self::Promote { .. } => CohortCommand::Promote,
            Self::ChangeCapacity { capacity, .. } => CohortCommand::ChangeCapacity {
                capacity: *capacity,
            },
            Self::Close { .. } => CohortCommand::CloseEnrollment,
        }
    }
}


/// A request with everything the writer records about it.
#[derive(Clone, Debug)]
pub struct Submission {
    /// What to do.
    pub request: Request,
    /// `If-Match`: refuse unless the cohort is at this version.
    pub expected_version: Option<u64>,
    /// `Idempotency-Key`: a repeat answers the first outcome and writes nothing.
    pub idempotency_key: Option<String>,
    /// Who acts.
    pub actor: Actor,
    /// Groups commands of one flow; defaults to the command id.
    pub correlation_id: Option<Uuid>,
    /// What caused the command; defaults to the command id.
    pub causation_id: Option<Uuid>,
    /// The command's id; the writer mints one (a version 7 UUID) when none is given. For tools that
    /// must write the same history twice (`rollbook generate`); it must be unique.
    pub command_id: Option<Uuid>,
    /// The id to file the command's learner under if their key is new; minted when none is
    /// given. Same purpose and rule as `command_id`.
    pub new_learner_id: Option<LearnerId>,
}

impl Submission {
    /// A submission with no preconditions, acting as `actor`.
    #[must_use]
    pub const fn new(request: Request, actor: Actor) -> Self {
        Self {
            request,
            expected_version: None,
            idempotency_key: None,
            actor,
            correlation_id: None,
            causation_id: None,
            command_id: None,
            new_learner_id: None,
        }
    }
}

/// A command the writer committed (or had committed before, for an idempotent repeat).
#[derive(Clone, Debug)]
pub struct Committed {
    /// The cohort.
    pub cohort: CohortId,
    /// Its stream version after the command.
    pub version: u64,
    /// The events the command stored, in order.
    pub events: Vec<Envelope>,
    /// True when this answers a repeated idempotency key.
    pub replayed: bool,
}

impl Committed {
    /// Position of the command's last event.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.events.last().map_or(0, |e| e.position)
    }
}

