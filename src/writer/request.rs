//! What callers submit to the writer and what they get back: a [`Request`] for one cohort
//! (learners named by key), its [`CommandKind`] for metrics, the [`Submission`] around it, and
//! the [`Committed`] answer.

use uuid::Uuid;

use super::stored_precision;
use jiff::Timestamp;

use crate::domain::{
    Capacity, CohortCommand, CohortId, LearnerId, NewCohort, PromotionPolicy, ReasonCode,
};
use crate::learner_key::LearnerKey;
use crate::store::{Actor, Envelope};

/// Declares the commands: for each, in one place, its request (the variant of [`Request`] and
/// its fields), its metrics kind, what the journal says it asked, the learner it names (if
/// any), its canonical text for the idempotency fingerprint, and the domain command it
/// becomes once its learner is resolved. Every method of [`Request`] is generated from these.
macro_rules! commands {
    ($(
        $(#[$doc:meta])*
        $variant:ident { $($(#[$field_doc:meta])* $field:ident : $type:ty),* $(,)? }
        kind: $kind:literal;
        describe: $describe:expr;
        learner: $learner:expr;
        fingerprint: $fingerprint:expr;
        decide($resolve:ident): $decide:expr;
    )*) => {
        /// The kind of a command, a label of the command counters in metrics.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum CommandKind {
            $(
                $(#[$doc])*
                $variant,
            )*
        }

        impl CommandKind {
            /// The label of every kind, in declaration order (the order of the counters in
            /// `/metrics`), for `Metrics::new`.
            pub const LABELS: &'static [&'static str] = &[$($kind),*];

            /// Its index in [`Self::LABELS`], by which metrics count it.
            #[must_use]
            pub const fn index(self) -> usize {
                self as usize
            }

            /// The label value.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                Self::LABELS[self.index()]
            }
        }

        /// What a caller asks of one cohort, with learners named by key.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Request {
            $(
                $(#[$doc])*
                $variant { $($(#[$field_doc])* $field: $type),* },
            )*
        }

        impl Request {
            /// The cohort addressed.
            #[must_use]
            pub const fn cohort(&self) -> CohortId {
                match self {
                    $(Self::$variant { cohort, .. } => *cohort,)*
                }
            }

            /// The kind of command, for metrics.
            #[must_use]
            pub const fn kind(&self) -> CommandKind {
                match self {
                    $(Self::$variant { .. } => CommandKind::$variant,)*
                }
            }

            /// What was asked, in words, without personal data (for the rejected-command
            /// journal).
            #[must_use]
            #[allow(unused_variables, reason = "each command uses the fields it names")]
            pub fn describe(&self) -> String {
                match self {
                    $(Self::$variant { $($field),* } => $describe,)*
                }
            }

            /// The learner named, for learner commands.
            #[must_use]
            #[allow(unused_variables, reason = "each command uses the fields it names")]
            pub const fn learner_key(&self) -> Option<&LearnerKey> {
                match self {
                    $(Self::$variant { $($field),* } => $learner,)*
                }
            }

            /// A canonical text of the request, for its fingerprint: the fields form a JSON
            /// array, so no text in one field can pass for another. Frozen: a stored
            /// fingerprint must keep matching a retry of its request.
            #[allow(unused_variables, reason = "each command uses the fields it names")]
            pub(super) fn canonical(&self) -> String {
                let fields: Vec<String> = match self {
                    $(Self::$variant { $($field),* } => $fingerprint,)*
                };
                serde_json::to_string(&fields).unwrap_or_default()
            }

            /// The domain command, its learner resolved by `resolve` (called once, for
            /// learner commands only): a command of one cohort, or a transfer between two.
            #[allow(unused_variables, reason = "each command uses the fields it names")]
            pub(super) fn command<E>(
                &self,
                resolve: impl FnOnce(&LearnerKey) -> Result<LearnerId, E>,
            ) -> Result<Decided, E> {
                match self {
                    $(Self::$variant { $($field),* } => {
                        let $resolve = resolve;
                        Ok(Decided::from($decide))
                    })*
                }
            }
        }
    };
}

commands! {
    /// Create a cohort under a fresh id.
    Create {
        /// The id to create (a UUID v7 chosen by the caller).
        cohort: CohortId,
        /// Its data.
        new: NewCohort,
    }
    kind: "create";
    describe: format!("create with {} seats", new.capacity);
    learner: None;
    // Fingerprinted without its generated id.
    fingerprint: [
        "create".into(),
        new.name.clone(),
        new.course.clone(),
        new.instructor.clone(),
        new.capacity.to_string(),
        new.starts_at.to_string(),
        new.enrollment_deadline.to_string(),
        new.withdrawal_deadline.to_string(),
    ]
    .into_iter()
    .chain(new.ends_at.map(|t| format!("ends {t}")))
    // The policy joins the text only when it is not the default, so that a retry of a request
    // made before policies existed still matches its record.
    .chain(policy_fields(new.promotion, new.waitlist_cap))
    .collect();
    // Times are decided at the precision they are stored at, so that what is answered and
    // shown now is what a replay shows.
    decide(resolve): CohortCommand::Create(NewCohort {
        starts_at: stored_precision(new.starts_at),
        enrollment_deadline: stored_precision(new.enrollment_deadline),
        withdrawal_deadline: stored_precision(new.withdrawal_deadline),
        ends_at: new.ends_at.map(stored_precision),
        ..new.clone()
    });

    /// Enroll (or waitlist) a learner, filing them in the directory if new.
    Enroll {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
        /// Display name to file (kept as is when `None`).
        name: Option<String>,
    }
    kind: "enroll";
    describe: "enroll".to_owned();
    learner: Some(learner);
    fingerprint: vec![
        "enroll".into(),
        cohort.to_string(),
        learner.to_string(),
        name.clone().unwrap_or_default(),
    ];
    decide(resolve): CohortCommand::Enroll {
        learner: resolve(learner)?,
    };

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
    }
    kind: "withdraw";
    describe: "withdraw".to_owned();
    learner: Some(learner);
    fingerprint: {
        let mut fields = vec![
            "withdraw".into(),
            cohort.to_string(),
            learner.to_string(),
            reason.clone(),
        ];
        // Without a code, the text of requests made before codes existed: a retry of one
        // still matches its record.
        if *reason_code != ReasonCode::Other {
            fields.push(reason_code.as_str().to_owned());
        }
        fields
    };
    decide(resolve): CohortCommand::Withdraw {
        learner: resolve(learner)?,
        reason_code: *reason_code,
        reason: reason.clone(),
    };

    /// Take a learner off the waitlist.
    LeaveWaitlist {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
        /// Staff's free text.
        reason: String,
    }
    kind: "leave_waitlist";
    describe: "leave the waitlist".to_owned();
    learner: Some(learner);
    fingerprint: vec![
        "leave".into(),
        cohort.to_string(),
        learner.to_string(),
        reason.clone(),
    ];
    decide(resolve): CohortCommand::LeaveWaitlist {
        learner: resolve(learner)?,
        reason: reason.clone(),
    };

    /// Promote the waitlist head.
    Promote {
        /// The cohort.
        cohort: CohortId,
    }
    kind: "promote";
    describe: "promote the waitlist head".to_owned();
    learner: None;
    fingerprint: vec!["promote".into(), cohort.to_string()];
    decide(resolve): CohortCommand::Promote;

    /// Change the number of seats.
    ChangeCapacity {
        /// The cohort.
        cohort: CohortId,
        /// New seats.
        capacity: Capacity,
    }
    kind: "change_capacity";
    describe: format!("change seats to {capacity}");
    learner: None;
    fingerprint: vec!["capacity".into(), cohort.to_string(), capacity.to_string()];
    decide(resolve): CohortCommand::ChangeCapacity {
        capacity: *capacity,
    };

    /// Close enrollment.
    Close {
        /// The cohort.
        cohort: CohortId,
    }
    kind: "close";
    describe: "close enrollment".to_owned();
    learner: None;
    fingerprint: vec!["close".into(), cohort.to_string()];
    decide(resolve): CohortCommand::CloseEnrollment;

    /// Take enrollments again after closing, moving the enrollment deadline if given.
    Reopen {
        /// The cohort.
        cohort: CohortId,
        /// Staff's free text.
        reason: String,
        /// A new enrollment deadline (it must lie ahead).
        enrollment_deadline: Option<Timestamp>,
    }
    kind: "reopen";
    describe: "reopen enrollment".to_owned();
    learner: None;
    fingerprint: vec![
        "reopen".into(),
        cohort.to_string(),
        reason.clone(),
        time_field(*enrollment_deadline),
    ];
    decide(resolve): CohortCommand::Reopen {
        reason: reason.clone(),
        enrollment_deadline: enrollment_deadline.map(stored_precision),
    };

    /// Move the start and/or either deadline.
    Reschedule {
        /// The cohort.
        cohort: CohortId,
        /// New first session (`None`: unchanged).
        starts_at: Option<Timestamp>,
        /// New enrollment deadline (`None`: unchanged).
        enrollment_deadline: Option<Timestamp>,
        /// New withdrawal deadline (`None`: unchanged).
        withdrawal_deadline: Option<Timestamp>,
        /// New end (`None`: unchanged).
        ends_at: Option<Timestamp>,
    }
    kind: "reschedule";
    describe: "reschedule".to_owned();
    learner: None;
    fingerprint: vec![
        "schedule".into(),
        cohort.to_string(),
        time_field(*starts_at),
        time_field(*enrollment_deadline),
        time_field(*withdrawal_deadline),
    ]
    .into_iter()
    // The end joins the text only when given, so that a retry of a request made before ends
    // existed still matches its record.
    .chain(ends_at.map(|t| t.to_string()))
    .collect();
    decide(resolve): CohortCommand::Reschedule {
        starts_at: starts_at.map(stored_precision),
        enrollment_deadline: enrollment_deadline.map(stored_precision),
        withdrawal_deadline: withdrawal_deadline.map(stored_precision),
        ends_at: ends_at.map(stored_precision),
    };

    /// Change the name, course or instructor.
    ChangeDetails {
        /// The cohort.
        cohort: CohortId,
        /// New display name (`None`: unchanged).
        name: Option<String>,
        /// New course (`None`: unchanged).
        course: Option<String>,
        /// New instructor (`None`: unchanged).
        instructor: Option<String>,
    }
    kind: "change_details";
    describe: "change details".to_owned();
    learner: None;
    fingerprint: vec![
        "details".into(),
        cohort.to_string(),
        serde_json::to_string(&(name, course, instructor)).unwrap_or_default(),
    ];
    decide(resolve): CohortCommand::ChangeDetails {
        name: name.clone(),
        course: course.clone(),
        instructor: instructor.clone(),
    };

    /// Cancel the cohort, releasing everyone it holds.
    Cancel {
        /// The cohort.
        cohort: CohortId,
        /// Staff's free text.
        reason: String,
    }
    kind: "cancel";
    describe: "cancel the cohort".to_owned();
    learner: None;
    fingerprint: vec!["cancel".into(), cohort.to_string(), reason.clone()];
    decide(resolve): CohortCommand::Cancel {
        reason: reason.clone(),
    };

    /// Set how freed seats are filled and the waitlist cap.
    SetPolicy {
        /// The cohort.
        cohort: CohortId,
        /// Automatic promotion, or offers held for a while.
        promotion: PromotionPolicy,
        /// The most learners that may wait (`None`: no limit).
        waitlist_cap: Option<u32>,
    }
    kind: "set_policy";
    describe: format!("set the policy to {}", promotion.as_str());
    learner: None;
    fingerprint: [ "policy".into(), cohort.to_string()]
        .into_iter()
        .chain(policy_fields(*promotion, *waitlist_cap))
        .collect();
    decide(resolve): CohortCommand::SetPolicy {
        promotion: *promotion,
        waitlist_cap: *waitlist_cap,
    };

    /// The learner takes the seat offered to them.
    AcceptOffer {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
    }
    kind: "accept_offer";
    describe: "accept an offer".to_owned();
    learner: Some(learner);
    fingerprint: vec!["accept".into(), cohort.to_string(), learner.to_string()];
    decide(resolve): CohortCommand::AcceptOffer {
        learner: resolve(learner)?,
    };

    /// The learner turns the offer down; the next in line is offered the seat.
    DeclineOffer {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
        /// Staff's free text.
        reason: String,
    }
    kind: "decline_offer";
    describe: "decline an offer".to_owned();
    learner: Some(learner);
    fingerprint: vec![
        "decline".into(),
        cohort.to_string(),
        learner.to_string(),
        reason.clone(),
    ];
    decide(resolve): CohortCommand::DeclineOffer {
        learner: resolve(learner)?,
        reason: reason.clone(),
    };

    /// Expire the offers whose hold has run out (submitted by the offer scheduler).
    ExpireOffers {
        /// The cohort.
        cohort: CohortId,
    }
    kind: "expire_offers";
    describe: "expire overdue offers".to_owned();
    learner: None;
    fingerprint: vec!["expire".into(), cohort.to_string()];
    decide(resolve): CohortCommand::ExpireOffers;

    /// Move a learner (enrolled, waitlisted or holding an offer) from `cohort` to `to`, in one
    /// append across both streams. The only request addressing two cohorts: [`Request::cohort`]
    /// is the one left, [`Request::other_cohort`] the one joined.
    Transfer {
        /// The cohort the learner leaves.
        cohort: CohortId,
        /// The cohort the learner joins.
        to: CohortId,
        /// Who.
        learner: LearnerKey,
        /// When `to` is full: join its waitlist (`true`) or refuse (`false`).
        allow_waitlist: bool,
        /// Staff's free text.
        reason: String,
    }
    kind: "transfer";
    describe: "transfer to another cohort".to_owned();
    learner: Some(learner);
    fingerprint: vec![
        "transfer".into(),
        cohort.to_string(),
        to.to_string(),
        learner.to_string(),
        allow_waitlist.to_string(),
        reason.clone(),
    ];
    decide(resolve): TransferCommand {
        to: *to,
        learner: resolve(learner)?,
        allow_waitlist: *allow_waitlist,
        reason: reason.clone(),
    };
}

/// A request made ready for the rules: a command of one cohort (decided by
/// [`crate::domain::Cohort::decide`]), or a transfer (decided by
/// [`crate::domain::decide_transfer`] against both cohorts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Decided {
    /// A command of the cohort the request addresses.
    Cohort(CohortCommand),
    /// A transfer from the cohort the request addresses.
    Transfer(TransferCommand),
}

/// A transfer's facts once its learner is resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TransferCommand {
    /// The cohort joined.
    pub to: CohortId,
    /// Who moves.
    pub learner: LearnerId,
    /// Whether a full `to` may waitlist them.
    pub allow_waitlist: bool,
    /// Staff's free text.
    pub reason: String,
}

impl From<CohortCommand> for Decided {
    fn from(command: CohortCommand) -> Self {
        Self::Cohort(command)
    }
}

impl From<TransferCommand> for Decided {
    fn from(command: TransferCommand) -> Self {
        Self::Transfer(command)
    }
}

impl Request {
    /// The second cohort a request addresses: a transfer's `to` (`None` for every other).
    #[must_use]
    pub const fn other_cohort(&self) -> Option<CohortId> {
        match self {
            Self::Transfer { to, .. } => Some(*to),
            _ => None,
        }
    }
}

/// A time as a fingerprint field: empty when not given.
fn time_field(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

/// The policy as fingerprint fields: none for the default (automatic, no cap), so that
/// fingerprints of creations made before policies existed still match.
fn policy_fields(promotion: PromotionPolicy, waitlist_cap: Option<u32>) -> Vec<String> {
    if promotion == PromotionPolicy::Automatic && waitlist_cap.is_none() {
        return Vec::new();
    }
    vec![
        promotion.as_str().to_owned(),
        promotion
            .hold()
            .map(|h| h.as_secs().to_string())
            .unwrap_or_default(),
        waitlist_cap.map(|c| c.to_string()).unwrap_or_default(),
    ]
}

/// A request with everything the writer records about it.
#[derive(Clone, Debug)]
pub struct Submission {
    /// What to do.
    pub request: Request,
    /// `If-Match`: refuse unless the cohort is at this version.
    pub expected_version: Option<u64>,
    /// For a request addressing a second cohort (a transfer's `to`): refuse unless that cohort
    /// is at this version. Ignored by requests of one cohort.
    pub expected_other_version: Option<u64>,
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
            expected_other_version: None,
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
