//! One exported event: its envelope and data as a JSON object, learners resolved to their
//! directory entry (or only their opaque id, for an erased learner).

use std::collections::HashMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{
    Capacity, CohortCreated, CohortId, Event, LearnerId, Note, PromotionPolicy, UnknownReasonCode,
};
use crate::store::{Actor, CommandMeta, Envelope, LearnerRecord};

/// An event as a line of an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Global position (gapless, from 1).
    pub position: u64,
    /// The cohort whose stream holds it.
    pub cohort: CohortId,
    /// That stream's version after it.
    pub version: u64,
    /// The schema version the event is stored at (its data is shown in the current schema; an
    /// import stores it at this version again).
    pub schema_version: u16,
    /// When the command was decided.
    pub occurred_at: Timestamp,
    /// When the batch holding it was written.
    pub recorded_at: Timestamp,
    /// Who acted.
    pub actor: ActorLine,
    /// The command's id.
    pub command_id: Uuid,
    /// Its flow.
    pub correlation_id: Uuid,
    /// What caused it.
    pub causation_id: Uuid,
    /// The event, in the current schema.
    pub event: EventLine,
}

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorLine {
    /// Account id (nil for the local actor).
    pub id: Uuid,
    /// Name shown in history.
    pub name: String,
}

/// A learner: the opaque id always, key and name unless erased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerLine {
    /// The id events keep.
    pub id: LearnerId,
    /// The normalised key (email or student number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The event's type and data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", deny_unknown_fields)]
#[allow(
    missing_docs,
    reason = "the fields mirror `domain::Event`, documented there"
)]
pub enum EventLine {
    #[serde(rename = "cohort.created")]
    CohortCreated {
        name: String,
        course: String,
        instructor: String,
        capacity: u64,
        starts_at: Timestamp,
        enrollment_deadline: Timestamp,
        withdrawal_deadline: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ends_at: Option<Timestamp>,
    },
    #[serde(rename = "student.enrolled")]
    StudentEnrolled { learner: LearnerLine },
    #[serde(rename = "student.waitlisted")]
    StudentWaitlisted { learner: LearnerLine, position: u32 },
    #[serde(rename = "student.withdrawn")]
    StudentWithdrawn {
        learner: LearnerLine,
        reason_code: String,
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reason_erased: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_sha256: Option<String>,
    },
    #[serde(rename = "waitlist.left")]
    WaitlistLeft {
        learner: LearnerLine,
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reason_erased: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_sha256: Option<String>,
    },
    #[serde(rename = "waitlist.promoted")]
    WaitlistPromoted { learner: LearnerLine },
    #[serde(rename = "cohort.capacity_changed")]
    CapacityChanged { from: u64, to: u64 },
    #[serde(rename = "enrollment.closed")]
    EnrollmentClosed {},
    #[serde(rename = "enrollment.reopened")]
    EnrollmentReopened {
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reason_erased: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_sha256: Option<String>,
    },
    #[serde(rename = "cohort.rescheduled")]
    CohortRescheduled {
        starts_at: Timestamp,
        enrollment_deadline: Timestamp,
        withdrawal_deadline: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ends_at: Option<Timestamp>,
    },
    #[serde(rename = "cohort.details_changed")]
    CohortDetailsChanged {
        name: String,
        course: String,
        instructor: String,
    },
    #[serde(rename = "cohort.cancelled")]
    CohortCancelled {
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reason_erased: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_sha256: Option<String>,
    },
    #[serde(rename = "student.released")]
    StudentReleased { learner: LearnerLine },
    /// `promotion` is `automatic` or `offer`; an offer's hold is in whole seconds.
    #[serde(rename = "cohort.policy_changed")]
    PolicyChanged {
        promotion: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offer_hold_seconds: Option<u64>,
        waitlist_cap: Option<u32>,
    },
    #[serde(rename = "waitlist.offered")]
    WaitlistOffered {
        learner: LearnerLine,
        offered_at: Timestamp,
        expires_at: Timestamp,
    },
    #[serde(rename = "offer.accepted")]
    OfferAccepted { learner: LearnerLine },
    #[serde(rename = "offer.declined")]
    OfferDeclined {
        learner: LearnerLine,
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reason_erased: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_sha256: Option<String>,
    },
    #[serde(rename = "offer.expired")]
    OfferExpired { learner: LearnerLine },
    #[serde(rename = "student.transferred_out")]
    StudentTransferredOut {
        learner: LearnerLine,
        to: CohortId,
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reason_erased: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_sha256: Option<String>,
    },
    /// `waitlisted_at` is `null` for a seat taken, else the waitlist place joined.
    #[serde(rename = "student.transferred_in")]
    StudentTransferredIn {
        learner: LearnerLine,
        from: CohortId,
        waitlisted_at: Option<u32>,
    },
}

impl Line {
    /// The line of a stored event, learners looked up in `directory`.
    #[must_use]
    pub fn of(envelope: &Envelope, directory: &HashMap<LearnerId, LearnerRecord>) -> Self {
        let learner = |id: &LearnerId| {
            let entry = directory.get(id);
            LearnerLine {
                id: *id,
                key: entry.map(|r| r.key.clone()),
                name: entry.map(|r| r.name.clone()),
            }
        };
        let event = match &envelope.event {
            Event::CohortCreated(c) => EventLine::CohortCreated {
                name: c.name.clone(),
                course: c.course.clone(),
                instructor: c.instructor.clone(),
                capacity: u64::from(c.capacity.seats()),
                starts_at: c.starts_at,
                enrollment_deadline: c.enrollment_deadline,
                withdrawal_deadline: c.withdrawal_deadline,
                ends_at: c.ends_at,
            },
            Event::StudentEnrolled { learner: l } => EventLine::StudentEnrolled {
                learner: learner(l),
            },
            Event::StudentWaitlisted {
                learner: l,
                position,
            } => EventLine::StudentWaitlisted {
                learner: learner(l),
                position: *position,
            },
            Event::StudentWithdrawn {
                learner: l,
                reason_code,
                reason,
            } => EventLine::StudentWithdrawn {
                learner: learner(l),
                reason_code: reason_code.as_str().to_owned(),
                reason: reason.text().map(str::to_owned),
                reason_erased: reason.is_erased(),
                reason_sha256: erased_digest(reason),
            },
            Event::WaitlistLeft { learner: l, reason } => EventLine::WaitlistLeft {
                learner: learner(l),
                reason: reason.text().map(str::to_owned),
                reason_erased: reason.is_erased(),
                reason_sha256: erased_digest(reason),
            },
            Event::WaitlistPromoted { learner: l } => EventLine::WaitlistPromoted {
                learner: learner(l),
            },
            Event::CapacityChanged { from, to } => EventLine::CapacityChanged {
                from: u64::from(from.seats()),
                to: u64::from(to.seats()),
            },
            Event::EnrollmentClosed => EventLine::EnrollmentClosed {},
            term => term_line(term, &learner),
        };
        let meta = &envelope.meta;
        Self {
            position: envelope.position,
            cohort: envelope.cohort,
            version: envelope.version,
            schema_version: envelope.schema_version,
            occurred_at: envelope.occurred_at,
            recorded_at: envelope.recorded_at,
            actor: ActorLine {
                id: meta.actor.id,
                name: meta.actor.name.clone(),
            },
            command_id: meta.command_id,
            correlation_id: meta.correlation_id,
            causation_id: meta.causation_id,
            event,
        }
    }

    /// The command metadata the line carries.
    #[must_use]
    pub fn meta(&self) -> CommandMeta {
        CommandMeta {
            actor: Actor {
                id: self.actor.id,
                name: self.actor.name.clone(),
            },
            command_id: self.command_id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
        }
    }

    /// The learner the event is about, if any.
    #[must_use]
    pub const fn learner(&self) -> Option<&LearnerLine> {
        match &self.event {
            EventLine::StudentEnrolled { learner }
            | EventLine::StudentWaitlisted { learner, .. }
            | EventLine::StudentWithdrawn { learner, .. }
            | EventLine::WaitlistLeft { learner, .. }
            | EventLine::WaitlistPromoted { learner }
            | EventLine::StudentReleased { learner }
            | EventLine::WaitlistOffered { learner, .. }
            | EventLine::OfferAccepted { learner }
            | EventLine::OfferDeclined { learner, .. }
            | EventLine::OfferExpired { learner }
            | EventLine::StudentTransferredOut { learner, .. }
            | EventLine::StudentTransferredIn { learner, .. } => Some(learner),
            EventLine::CohortCreated { .. }
            | EventLine::CapacityChanged { .. }
            | EventLine::EnrollmentClosed {}
            | EventLine::EnrollmentReopened { .. }
            | EventLine::CohortRescheduled { .. }
            | EventLine::CohortDetailsChanged { .. }
            | EventLine::CohortCancelled { .. }
            | EventLine::PolicyChanged { .. } => None,
        }
    }

    /// The domain event; a capacity out of range is refused with a message.
    pub fn event(&self) -> Result<Event, String> {
        let seats = |n: u64| Capacity::new(n).map_err(|e| e.to_string());
        Ok(match &self.event {
            EventLine::CohortCreated {
                name,
                course,
                instructor,
                capacity,
                starts_at,
                enrollment_deadline,
                withdrawal_deadline,
                ends_at,
            } => Event::CohortCreated(CohortCreated {
                name: name.clone(),
                course: course.clone(),
                instructor: instructor.clone(),
                capacity: seats(*capacity)?,
                starts_at: *starts_at,
                enrollment_deadline: *enrollment_deadline,
                withdrawal_deadline: *withdrawal_deadline,
                ends_at: *ends_at,
            }),
            EventLine::StudentEnrolled { learner } => Event::StudentEnrolled {
                learner: learner.id,
            },
            EventLine::StudentWaitlisted { learner, position } => Event::StudentWaitlisted {
                learner: learner.id,
                position: *position,
            },
            EventLine::StudentWithdrawn {
                learner,
                reason_code,
                reason,
                reason_erased,
                reason_sha256,
            } => Event::StudentWithdrawn {
                learner: learner.id,
                reason_code: reason_code
                    .parse()
                    .map_err(|e: UnknownReasonCode| e.to_string())?,
                reason: note(reason.as_deref(), *reason_erased, reason_sha256.as_deref())?,
            },
            EventLine::WaitlistLeft {
                learner,
                reason,
                reason_erased,
                reason_sha256,
            } => Event::WaitlistLeft {
                learner: learner.id,
                reason: note(reason.as_deref(), *reason_erased, reason_sha256.as_deref())?,
            },
            EventLine::WaitlistPromoted { learner } => Event::WaitlistPromoted {
                learner: learner.id,
            },
            EventLine::CapacityChanged { from, to } => Event::CapacityChanged {
                from: seats(*from)?,
                to: seats(*to)?,
            },
            EventLine::EnrollmentClosed {} => Event::EnrollmentClosed,
            term => term.term_event()?,
        })
    }
}

/// The line of an event of issue 15 (a term's corrections, offers and transfers).
fn term_line(event: &Event, learner: &dyn Fn(&LearnerId) -> LearnerLine) -> EventLine {
    match event {
        Event::EnrollmentReopened { reason } => EventLine::EnrollmentReopened {
            reason: reason.text().map(str::to_owned),
            reason_erased: reason.is_erased(),
            reason_sha256: erased_digest(reason),
        },
        Event::CohortRescheduled {
            starts_at,
            enrollment_deadline,
            withdrawal_deadline,
            ends_at,
        } => EventLine::CohortRescheduled {
            starts_at: *starts_at,
            enrollment_deadline: *enrollment_deadline,
            withdrawal_deadline: *withdrawal_deadline,
            ends_at: *ends_at,
        },
        Event::CohortDetailsChanged {
            name,
            course,
            instructor,
        } => EventLine::CohortDetailsChanged {
            name: name.clone(),
            course: course.clone(),
            instructor: instructor.clone(),
        },
        Event::CohortCancelled { reason } => EventLine::CohortCancelled {
            reason: reason.text().map(str::to_owned),
            reason_erased: reason.is_erased(),
            reason_sha256: erased_digest(reason),
        },
        Event::StudentReleased { learner: l } => EventLine::StudentReleased {
            learner: learner(l),
        },
        Event::PolicyChanged {
            promotion,
            waitlist_cap,
        } => EventLine::PolicyChanged {
            promotion: promotion.as_str().to_owned(),
            offer_hold_seconds: promotion
                .hold()
                .and_then(|h| u64::try_from(h.as_secs()).ok()),
            waitlist_cap: *waitlist_cap,
        },
        Event::WaitlistOffered {
            learner: l,
            offered_at,
            expires_at,
        } => EventLine::WaitlistOffered {
            learner: learner(l),
            offered_at: *offered_at,
            expires_at: *expires_at,
        },
        Event::OfferAccepted { learner: l } => EventLine::OfferAccepted {
            learner: learner(l),
        },
        Event::OfferDeclined { learner: l, reason } => EventLine::OfferDeclined {
            learner: learner(l),
            reason: reason.text().map(str::to_owned),
            reason_erased: reason.is_erased(),
            reason_sha256: erased_digest(reason),
        },
        Event::OfferExpired { learner: l } => EventLine::OfferExpired {
            learner: learner(l),
        },
        Event::StudentTransferredOut {
            learner: l,
            to,
            reason,
        } => EventLine::StudentTransferredOut {
            learner: learner(l),
            to: *to,
            reason: reason.text().map(str::to_owned),
            reason_erased: reason.is_erased(),
            reason_sha256: erased_digest(reason),
        },
        Event::StudentTransferredIn {
            learner: l,
            from,
            waitlisted_at,
        } => EventLine::StudentTransferredIn {
            learner: learner(l),
            from: *from,
            waitlisted_at: *waitlisted_at,
        },
        _ => unreachable!("the older events are written by `Line::of`"),
    }
}

impl EventLine {
    /// The domain event of a line of issue 15's events.
    fn term_event(&self) -> Result<Event, String> {
        Ok(match self {
            EventLine::EnrollmentReopened {
                reason,
                reason_erased,
                reason_sha256,
            } => Event::EnrollmentReopened {
                reason: note(reason.as_deref(), *reason_erased, reason_sha256.as_deref())?,
            },
            EventLine::CohortRescheduled {
                starts_at,
                enrollment_deadline,
                withdrawal_deadline,
                ends_at,
            } => Event::CohortRescheduled {
                starts_at: *starts_at,
                enrollment_deadline: *enrollment_deadline,
                withdrawal_deadline: *withdrawal_deadline,
                ends_at: *ends_at,
            },
            EventLine::CohortDetailsChanged {
                name,
                course,
                instructor,
            } => Event::CohortDetailsChanged {
                name: name.clone(),
                course: course.clone(),
                instructor: instructor.clone(),
            },
            EventLine::CohortCancelled {
                reason,
                reason_erased,
                reason_sha256,
            } => Event::CohortCancelled {
                reason: note(reason.as_deref(), *reason_erased, reason_sha256.as_deref())?,
            },
            EventLine::StudentReleased { learner } => Event::StudentReleased {
                learner: learner.id,
            },
            EventLine::PolicyChanged {
                promotion,
                offer_hold_seconds,
                waitlist_cap,
            } => Event::PolicyChanged {
                promotion: policy(promotion, *offer_hold_seconds)?,
                waitlist_cap: *waitlist_cap,
            },
            EventLine::WaitlistOffered {
                learner,
                offered_at,
                expires_at,
            } => Event::WaitlistOffered {
                learner: learner.id,
                offered_at: *offered_at,
                expires_at: *expires_at,
            },
            EventLine::OfferAccepted { learner } => Event::OfferAccepted {
                learner: learner.id,
            },
            EventLine::OfferDeclined {
                learner,
                reason,
                reason_erased,
                reason_sha256,
            } => Event::OfferDeclined {
                learner: learner.id,
                reason: note(reason.as_deref(), *reason_erased, reason_sha256.as_deref())?,
            },
            EventLine::OfferExpired { learner } => Event::OfferExpired {
                learner: learner.id,
            },
            EventLine::StudentTransferredOut {
                learner,
                to,
                reason,
                reason_erased,
                reason_sha256,
            } => Event::StudentTransferredOut {
                learner: learner.id,
                to: *to,
                reason: note(reason.as_deref(), *reason_erased, reason_sha256.as_deref())?,
            },
            EventLine::StudentTransferredIn {
                learner,
                from,
                waitlisted_at,
            } => Event::StudentTransferredIn {
                learner: learner.id,
                from: *from,
                waitlisted_at: *waitlisted_at,
            },
            _ => unreachable!("the older events are read by `Line::event`"),
        })
    }
}

/// The promotion policy of an export line: `automatic` (no hold), or `offer` with its hold in
/// whole seconds (as the rules store it: at least one second, at most a year).
fn policy(promotion: &str, hold_seconds: Option<u64>) -> Result<PromotionPolicy, String> {
    match (promotion, hold_seconds) {
        ("automatic", None) => Ok(PromotionPolicy::Automatic),
        ("offer", Some(seconds)) => i64::try_from(seconds)
            .map_err(|_| format!("offer_hold_seconds {seconds} is out of range"))
            .map(jiff::SignedDuration::from_secs)
            .and_then(|hold| PromotionPolicy::offer(hold).map_err(|e| e.to_string())),
        _ => Err(
            "a promotion policy is `automatic` (no `offer_hold_seconds`) or `offer` with its \
             `offer_hold_seconds`"
                .to_owned(),
        ),
    }
}

/// The digest an erased note kept, in lower-case hex, for the export line.
fn erased_digest(note: &Note) -> Option<String> {
    match note {
        Note::Text(_) => None,
        Note::Erased(digest) => Some(crate::store::chain::show(digest)),
    }
}

/// The note of an export line: its text, or (`reason_erased`) the erased digest it names.
fn note(text: Option<&str>, erased: bool, sha256: Option<&str>) -> Result<Note, String> {
    match (text, erased, sha256) {
        (Some(text), false, None) => Ok(Note::Text(text.to_owned())),
        (None, true, Some(hex)) => crate::store::chain::parse_digest(hex)
            .map(Note::Erased)
            .ok_or_else(|| format!("reason_sha256 {hex:?} is not 64 lower-case hex digits")),
        _ => Err(
            "a reason is either text (`reason`) or erased (`reason: null`, `reason_erased: true` \
             and its `reason_sha256`)"
                .to_owned(),
        ),
    }
}
