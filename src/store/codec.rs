//! The codec: the only module that knows how stored bytes look.
//!
//! Every stored value starts with a codec id byte, so a future codec can be added without
//! rewriting history. Codec 1 is bincode 2.0.1 (`config::standard()`: little-endian, varints)
//! with a size limit. bincode is not self-describing: field order is the schema. So each stored
//! shape below is a frozen `…V1` struct, fields and variants are only ever appended, a changed
//! shape becomes a new schema version, and older versions are upcast here on read. Golden-bytes
//! tests at the bottom pin every format.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use super::envelope::{Actor, CommandMeta, Envelope};
use crate::domain::{
    Capacity, Cohort, CohortCreated, CohortId, CohortStatus, Event, LearnerId, Note, Offer,
    PromotionPolicy, ReasonCode, RuleViolation, ScheduleProblem, WaitlistEntry,
};

/// Codec id of bincode 2.0.1, standard configuration.
pub const CODEC_BINCODE2: u8 = 1;
/// The newest schema version of any event type. Each type has its own
/// ([`event_schema_version`]): `student.withdrawn` is at 3 (2 gained a reason code, 3 a typed
/// note that can be erased), `waitlist.left` at 2 (the typed note); `cohort.created` and
/// `cohort.rescheduled` at 2 when they carry an end date (2 added it) and 1 otherwise, so a
/// cohort without one is stored as before; every other type at 1.
pub const EVENT_SCHEMA_VERSION: u16 = 3;

/// The schema version an event of this type is written at now.
#[must_use]
pub const fn event_schema_version(event: &Event) -> u16 {
    match event {
        Event::StudentWithdrawn { .. } => 3,
        Event::WaitlistLeft { .. }
        | Event::CohortCreated(CohortCreated {
            ends_at: Some(_), ..
        })
        | Event::CohortRescheduled {
            ends_at: Some(_), ..
        } => 2,
        _ => 1,
    }
}
/// Current schema version of cohort snapshots. Snapshots of any other version are ignored (the
/// stream is replayed instead). 2 added the promotion policy, the waitlist cap, the offers and
/// the cancelled status; 3 the end date.
pub const SNAPSHOT_SCHEMA_VERSION: u16 = 3;
/// Largest value the codec encodes or decodes: a guard against corrupt length prefixes. It
/// holds a snapshot of a cohort of about three million learners; events are far smaller.
pub const MAX_VALUE_BYTES: usize = 64 << 20;

const fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_VALUE_BYTES>,
> {
    bincode::config::standard().with_limit::<MAX_VALUE_BYTES>()
}

/// Why stored bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The value is empty: no codec id.
    #[error("stored value is empty")]
    Empty,
    /// Written by a codec this build does not know.
    #[error("unknown codec id {0}")]
    UnknownCodec(u8),
    /// An event type or schema version this build does not know.
    #[error("unknown event type {event_type:?} at schema version {schema_version}")]
    UnknownEvent {
        /// Stored type name.
        event_type: String,
        /// Stored schema version.
        schema_version: u16,
    },
    /// The bytes do not decode as the expected shape.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which shape.
        what: &'static str,
        /// bincode's or the validation's words.
        detail: String,
    },
    /// Encoding failed (only on values larger than the limit).
    #[error("cannot encode {what}: {detail}")]
    Encode {
        /// Which shape.
        what: &'static str,
        /// bincode's words.
        detail: String,
    },
}

/// bincode's limit guards decoding only: refuse to store what could not be read back.
fn within_limit(what: &'static str, bytes: Vec<u8>) -> Result<Vec<u8>, CodecError> {
    if bytes.len() > MAX_VALUE_BYTES {
        return Err(CodecError::Encode {
            what,
            detail: format!(
                "{} bytes exceed the limit of {MAX_VALUE_BYTES}",
                bytes.len()
            ),
        });
    }
    Ok(bytes)
}

fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    let (value, read) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| CodecError::Malformed {
            what,
            detail: e.to_string(),
        })?;
    if read != bytes.len() {
        return Err(CodecError::Malformed {
            what,
            detail: format!("{} trailing bytes", bytes.len() - read),
        });
    }
    Ok(value)
}

/// Decodes with bincode's own derive (see [`EnvelopeV1Ref`]): the same format, read faster.
fn decode_native<T: bincode::Decode<()>>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, CodecError> {
    let (value, read) =
        bincode::decode_from_slice(bytes, config()).map_err(|e| CodecError::Malformed {
            what,
            detail: e.to_string(),
        })?;
    if read != bytes.len() {
        return Err(CodecError::Malformed {
            what,
            detail: format!("{} trailing bytes", bytes.len() - read),
        });
    }
    Ok(value)
}

/// Encodes with bincode's own derive: the same bytes as the serde path for the event shapes
/// (byte arrays, integers, strings), written without a call per array element. The golden
/// tests pin the bytes.
fn encode_native<T: bincode::Encode>(what: &'static str, value: &T) -> Result<Vec<u8>, CodecError> {
    let bytes = bincode::encode_to_vec(value, config()).map_err(|e| CodecError::Encode {
        what,
        detail: e.to_string(),
    })?;
    within_limit(what, bytes)
}

/// [`encode_native`] behind the codec id byte.
fn encode_framed_native<T: bincode::Encode>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![CODEC_BINCODE2];
    bincode::encode_into_std_write(value, &mut out, config()).map_err(|e| CodecError::Encode {
        what,
        detail: e.to_string(),
    })?;
    within_limit(what, out)
}

/// Encodes `value` behind the codec id byte.
fn encode_framed<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![CODEC_BINCODE2];
    bincode::serde::encode_into_std_write(value, &mut out, config()).map_err(|e| {
        CodecError::Encode {
            what,
            detail: e.to_string(),
        }
    })?;
    within_limit(what, out)
}

/// Strips and checks the codec id.
fn unframe(bytes: &[u8]) -> Result<&[u8], CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&CODEC_BINCODE2, body)) => Ok(body),
        Some((&other, _)) => Err(CodecError::UnknownCodec(other)),
    }
}

fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn from_micros(what: &'static str, us: i64) -> Result<Timestamp, CodecError> {
    Timestamp::from_microsecond(us).map_err(|e| CodecError::Malformed {
        what,
        detail: e.to_string(),
    })
}

fn capacity(what: &'static str, seats: u32) -> Result<Capacity, CodecError> {
    Capacity::new(u64::from(seats)).map_err(|e| CodecError::Malformed {
        what,
        detail: e.to_string(),
    })
}

// ---- envelope ---------------------------------------------------------------------------------

/// Stored envelope, version 1. Field order is the format.
#[derive(Serialize, Deserialize, bincode::Encode)]
struct EnvelopeV1 {
    position: u64,
    stream: [u8; 16],
    version: u64,
    event_type: String,
    schema_version: u16,
    occurred_at: i64,
    recorded_at: i64,
    actor_id: [u8; 16],
    actor_name: String,
    command_id: [u8; 16],
    correlation_id: [u8; 16],
    causation_id: [u8; 16],
    payload: Vec<u8>,
}

/// Encodes an envelope for the `events` table, its event at the envelope's schema version: new
/// events at [`event_schema_version`]; a stored one read back (to hash it, or to erase text in
/// it) at the version it was stored with, so its bytes keep their shape.
pub fn encode_envelope(env: &Envelope) -> Result<Vec<u8>, CodecError> {
    let stored = EnvelopeV1 {
        position: env.position,
        stream: *env.cohort.0.as_bytes(),
        version: env.version,
        event_type: env.event.type_name().to_owned(),
        schema_version: env.schema_version,
        occurred_at: micros(env.occurred_at),
        recorded_at: micros(env.recorded_at),
        actor_id: *env.meta.actor.id.as_bytes(),
        actor_name: env.meta.actor.name.clone(),
        command_id: *env.meta.command_id.as_bytes(),
        correlation_id: *env.meta.correlation_id.as_bytes(),
        causation_id: *env.meta.causation_id.as_bytes(),
        payload: encode_event_at(&env.event, env.schema_version)?,
    };
    encode_framed_native("envelope", &stored)
}

/// The stored envelope read in place: the same format as [`EnvelopeV1`], with the type name,
/// actor name and payload borrowed from the stored bytes rather than copied (bincode writes a
/// `Vec<u8>` as a length and raw bytes, which a borrowed slice reads in one step). It uses
/// bincode's own derive, whose encoding of these field types is the same as its serde
/// encoding's but reads byte arrays whole instead of one element at a time; the golden-bytes
/// tests hold the two to the same format.
#[derive(bincode::BorrowDecode)]
struct EnvelopeV1Ref<'a> {
    position: u64,
    stream: [u8; 16],
    version: u64,
    event_type: &'a str,
    schema_version: u16,
    occurred_at: i64,
    recorded_at: i64,
    actor_id: [u8; 16],
    actor_name: &'a str,
    command_id: [u8; 16],
    correlation_id: [u8; 16],
    causation_id: [u8; 16],
    payload: &'a [u8],
}

/// Decodes a value of the `events` table, upcasting its event to the current shape.
pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope, CodecError> {
    let what = "envelope";
    let body = unframe(bytes)?;
    let (stored, read): (EnvelopeV1Ref<'_>, usize) =
        bincode::borrow_decode_from_slice(body, config()).map_err(|e| CodecError::Malformed {
            what,
            detail: e.to_string(),
        })?;
    if read != body.len() {
        return Err(CodecError::Malformed {
            what,
            detail: format!("{} trailing bytes", body.len() - read),
        });
    }
    let event = decode_event(stored.event_type, stored.schema_version, stored.payload)?;
    Ok(Envelope {
        position: stored.position,
        cohort: CohortId(Uuid::from_bytes(stored.stream)),
        version: stored.version,
        schema_version: stored.schema_version,
        event,
        occurred_at: from_micros(what, stored.occurred_at)?,
        recorded_at: from_micros(what, stored.recorded_at)?,
        meta: CommandMeta {
            actor: Actor {
                id: Uuid::from_bytes(stored.actor_id),
                name: stored.actor_name.to_owned(),
            },
            command_id: Uuid::from_bytes(stored.command_id),
            correlation_id: Uuid::from_bytes(stored.correlation_id),
            causation_id: Uuid::from_bytes(stored.causation_id),
        },
    })
}

// ---- event payloads ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct CohortCreatedV1 {
    name: String,
    course: String,
    instructor: String,
    capacity: u32,
    starts_at: i64,
    enrollment_deadline: i64,
    withdrawal_deadline: i64,
}

/// `cohort.created` at schema 2: schema 1 and the end date.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct CohortCreatedV2 {
    created: CohortCreatedV1,
    ends_at: i64,
}

#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct LearnerV1 {
    learner: [u8; 16],
}

#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct WaitlistedV1 {
    learner: [u8; 16],
    position: u32,
}

#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct LearnerReasonV1 {
    learner: [u8; 16],
    reason: String,
}

/// `student.withdrawn` at schema 2: the reason code (see [`ReasonCode::to_u8`]) before the text.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct WithdrawnV2 {
    learner: [u8; 16],
    reason_code: u8,
    reason: String,
}

/// A free-text note as stored from `student.withdrawn` 3 and `waitlist.left` 2 on: its own
/// variant tag says whether it is text or erased, whatever the text says. Variants are only
/// ever appended.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
enum NoteV1 {
    Text(String),
    Erased([u8; 32]),
}

impl From<&Note> for NoteV1 {
    fn from(note: &Note) -> Self {
        match note {
            Note::Text(text) => Self::Text(text.clone()),
            Note::Erased(digest) => Self::Erased(*digest),
        }
    }
}

impl From<NoteV1> for Note {
    fn from(note: NoteV1) -> Self {
        match note {
            NoteV1::Text(text) => Self::Text(text),
            NoteV1::Erased(digest) => Self::Erased(digest),
        }
    }
}

/// `student.withdrawn` at schema 3: the reason as a typed note.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct WithdrawnV3 {
    learner: [u8; 16],
    reason_code: u8,
    reason: NoteV1,
}

/// `waitlist.left` at schema 2: the reason as a typed note.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct WaitlistLeftV2 {
    learner: [u8; 16],
    reason: NoteV1,
}

#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct CapacityChangedV1 {
    from: u32,
    to: u32,
}

/// `enrollment.reopened` and `cohort.cancelled`: the reason as a typed note.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct ReasonV1 {
    reason: NoteV1,
}

/// `cohort.rescheduled`: the three dates after the change.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct RescheduledV1 {
    starts_at: i64,
    enrollment_deadline: i64,
    withdrawal_deadline: i64,
}

/// `cohort.rescheduled` at schema 2: schema 1 and the end date.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct RescheduledV2 {
    dates: RescheduledV1,
    ends_at: i64,
}

/// `cohort.details_changed`: the three texts after the change.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct DetailsChangedV1 {
    name: String,
    course: String,
    instructor: String,
}

/// A promotion policy as stored; the hold in whole seconds. Variants are only ever appended.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
enum PromotionV1 {
    Automatic,
    Offer { hold_seconds: u64 },
}

impl From<PromotionPolicy> for PromotionV1 {
    fn from(policy: PromotionPolicy) -> Self {
        match policy {
            PromotionPolicy::Automatic => Self::Automatic,
            PromotionPolicy::Offer { hold } => Self::Offer {
                // The rules store whole, positive seconds (`PromotionPolicy::normalized`).
                hold_seconds: u64::try_from(hold.as_secs()).unwrap_or(0),
            },
        }
    }
}

impl PromotionV1 {
    fn upcast(self, what: &'static str) -> Result<PromotionPolicy, CodecError> {
        Ok(match self {
            Self::Automatic => PromotionPolicy::Automatic,
            Self::Offer { hold_seconds } => PromotionPolicy::Offer {
                hold: i64::try_from(hold_seconds)
                    .map(SignedDuration::from_secs)
                    .map_err(|_| CodecError::Malformed {
                        what,
                        detail: format!("offer hold of {hold_seconds} s"),
                    })?,
            },
        })
    }
}

/// `cohort.policy_changed`.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct PolicyChangedV1 {
    promotion: PromotionV1,
    waitlist_cap: Option<u32>,
}

/// `waitlist.offered`.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct OfferedV1 {
    learner: [u8; 16],
    offered_at: i64,
    expires_at: i64,
}

/// `offer.declined`: the learner and the reason as a typed note.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct LearnerNoteV1 {
    learner: [u8; 16],
    reason: NoteV1,
}

/// `student.transferred_out`.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct TransferredOutV1 {
    learner: [u8; 16],
    to: [u8; 16],
    reason: NoteV1,
}

/// `student.transferred_in`: `waitlisted_at` is `None` for a seat taken.
#[derive(Serialize, Deserialize, bincode::Encode, bincode::Decode)]
struct TransferredInV1 {
    learner: [u8; 16],
    from: [u8; 16],
    waitlisted_at: Option<u32>,
}

/// `cohort.created` or `cohort.rescheduled` with an end date: at schema 2 only (1 has no room
/// for it), and only with one.
fn encode_with_end(event: &Event, schema_version: u16) -> Result<Vec<u8>, CodecError> {
    let what = "event payload";
    let refuse = || CodecError::Encode {
        what,
        detail: format!(
            "{} {} an end date cannot be written at schema version {schema_version}",
            event.type_name(),
            if schema_version == 2 {
                "without"
            } else {
                "with"
            }
        ),
    };
    match event {
        Event::CohortCreated(c) if schema_version == 2 => encode_native(
            what,
            &CohortCreatedV2 {
                created: created_v1(c),
                ends_at: micros(c.ends_at.ok_or_else(refuse)?),
            },
        ),
        Event::CohortRescheduled {
            starts_at,
            enrollment_deadline,
            withdrawal_deadline,
            ends_at,
        } if schema_version == 2 => encode_native(
            what,
            &RescheduledV2 {
                dates: RescheduledV1 {
                    starts_at: micros(*starts_at),
                    enrollment_deadline: micros(*enrollment_deadline),
                    withdrawal_deadline: micros(*withdrawal_deadline),
                },
                ends_at: micros(ends_at.ok_or_else(refuse)?),
            },
        ),
        _ => Err(refuse()),
    }
}

fn created_v1(c: &CohortCreated) -> CohortCreatedV1 {
    CohortCreatedV1 {
        name: c.name.clone(),
        course: c.course.clone(),
        instructor: c.instructor.clone(),
        capacity: c.capacity.seats(),
        starts_at: micros(c.starts_at),
        enrollment_deadline: micros(c.enrollment_deadline),
        withdrawal_deadline: micros(c.withdrawal_deadline),
    }
}

fn created_of(c: CohortCreatedV1, ends_at: Option<Timestamp>) -> Result<CohortCreated, CodecError> {
    let what = "event payload";
    Ok(CohortCreated {
        name: c.name,
        course: c.course,
        instructor: c.instructor,
        capacity: capacity(what, c.capacity)?,
        starts_at: from_micros(what, c.starts_at)?,
        enrollment_deadline: from_micros(what, c.enrollment_deadline)?,
        withdrawal_deadline: from_micros(what, c.withdrawal_deadline)?,
        ends_at,
    })
}

fn rescheduled_of(p: &RescheduledV1, ends_at: Option<Timestamp>) -> Result<Event, CodecError> {
    let what = "event payload";
    Ok(Event::CohortRescheduled {
        starts_at: from_micros(what, p.starts_at)?,
        enrollment_deadline: from_micros(what, p.enrollment_deadline)?,
        withdrawal_deadline: from_micros(what, p.withdrawal_deadline)?,
        ends_at,
    })
}

fn learner_bytes(id: LearnerId) -> [u8; 16] {
    *id.0.as_bytes()
}

fn learner(bytes: [u8; 16]) -> LearnerId {
    LearnerId(Uuid::from_bytes(bytes))
}

/// Encodes an event's payload at the current schema version of its type.
#[cfg(test)]
pub fn encode_event(event: &Event) -> Result<Vec<u8>, CodecError> {
    encode_event_at(event, event_schema_version(event))
}

/// Encodes an event's payload at `schema_version` of its type: the current one, or an older one
/// the event can still be written at without losing anything (an upcast event read back).
pub fn encode_event_at(event: &Event, schema_version: u16) -> Result<Vec<u8>, CodecError> {
    let what = "event payload";
    match event {
        Event::StudentWithdrawn {
            learner: l,
            reason_code,
            reason,
        } => return encode_withdrawn(*l, *reason_code, reason, schema_version),
        Event::WaitlistLeft { learner: l, reason } => {
            return encode_left(*l, reason, schema_version);
        }
        Event::CohortCreated(CohortCreated { ends_at, .. })
        | Event::CohortRescheduled { ends_at, .. }
            if schema_version == 2 || ends_at.is_some() =>
        {
            return encode_with_end(event, schema_version);
        }
        _ if schema_version != 1 => {
            return Err(CodecError::Encode {
                what,
                detail: format!(
                    "{} has no schema version {schema_version}",
                    event.type_name()
                ),
            });
        }
        _ => {}
    }
    match event {
        Event::CohortCreated(c) => encode_native(what, &created_v1(c)),
        Event::StudentEnrolled { learner: l }
        | Event::WaitlistPromoted { learner: l }
        | Event::StudentReleased { learner: l }
        | Event::OfferAccepted { learner: l }
        | Event::OfferExpired { learner: l } => encode_native(
            what,
            &LearnerV1 {
                learner: learner_bytes(*l),
            },
        ),
        Event::StudentWaitlisted {
            learner: l,
            position,
        } => encode_native(
            what,
            &WaitlistedV1 {
                learner: learner_bytes(*l),
                position: *position,
            },
        ),
        Event::StudentWithdrawn { .. } | Event::WaitlistLeft { .. } => {
            unreachable!("encoded above at every version")
        }
        Event::CapacityChanged { from, to } => encode_native(
            what,
            &CapacityChangedV1 {
                from: from.seats(),
                to: to.seats(),
            },
        ),
        Event::EnrollmentClosed => Ok(Vec::new()),
        Event::EnrollmentReopened { .. }
        | Event::CohortRescheduled { .. }
        | Event::CohortDetailsChanged { .. }
        | Event::CohortCancelled { .. }
        | Event::PolicyChanged { .. }
        | Event::WaitlistOffered { .. }
        | Event::OfferDeclined { .. }
        | Event::StudentTransferredOut { .. }
        | Event::StudentTransferredIn { .. } => encode_term_event(event),
    }
}

/// The payloads of the events of issue 15 (a term's corrections, offers and transfers), all at
/// schema 1.
fn encode_term_event(event: &Event) -> Result<Vec<u8>, CodecError> {
    let what = "event payload";
    match event {
        Event::EnrollmentReopened { reason } | Event::CohortCancelled { reason } => encode_native(
            what,
            &ReasonV1 {
                reason: reason.into(),
            },
        ),
        Event::CohortRescheduled {
            starts_at,
            enrollment_deadline,
            withdrawal_deadline,
            ends_at: _,
        } => encode_native(
            what,
            &RescheduledV1 {
                starts_at: micros(*starts_at),
                enrollment_deadline: micros(*enrollment_deadline),
                withdrawal_deadline: micros(*withdrawal_deadline),
            },
        ),
        Event::CohortDetailsChanged {
            name,
            course,
            instructor,
        } => encode_native(
            what,
            &DetailsChangedV1 {
                name: name.clone(),
                course: course.clone(),
                instructor: instructor.clone(),
            },
        ),
        Event::PolicyChanged {
            promotion,
            waitlist_cap,
        } => encode_native(
            what,
            &PolicyChangedV1 {
                promotion: (*promotion).into(),
                waitlist_cap: *waitlist_cap,
            },
        ),
        Event::WaitlistOffered {
            learner: l,
            offered_at,
            expires_at,
        } => encode_native(
            what,
            &OfferedV1 {
                learner: learner_bytes(*l),
                offered_at: micros(*offered_at),
                expires_at: micros(*expires_at),
            },
        ),
        Event::OfferDeclined { learner: l, reason } => encode_native(
            what,
            &LearnerNoteV1 {
                learner: learner_bytes(*l),
                reason: reason.into(),
            },
        ),
        Event::StudentTransferredOut {
            learner: l,
            to,
            reason,
        } => encode_native(
            what,
            &TransferredOutV1 {
                learner: learner_bytes(*l),
                to: *to.0.as_bytes(),
                reason: reason.into(),
            },
        ),
        Event::StudentTransferredIn {
            learner: l,
            from,
            waitlisted_at,
        } => encode_native(
            what,
            &TransferredInV1 {
                learner: learner_bytes(*l),
                from: *from.0.as_bytes(),
                waitlisted_at: *waitlisted_at,
            },
        ),
        _ => unreachable!("encoded by `encode_event_at`"),
    }
}

/// `student.withdrawn` at schema 3; at 2 or 1 (an upcast read back) only while its reason is
/// text, and at 1 only when its code is `other`: an erased note has no form before 3.
fn encode_withdrawn(
    l: LearnerId,
    reason_code: ReasonCode,
    reason: &Note,
    schema_version: u16,
) -> Result<Vec<u8>, CodecError> {
    let what = "event payload";
    match (schema_version, reason_code, reason) {
        (3, _, _) => encode_native(
            what,
            &WithdrawnV3 {
                learner: learner_bytes(l),
                reason_code: reason_code.to_u8(),
                reason: reason.into(),
            },
        ),
        (2, _, Note::Text(text)) => encode_native(
            what,
            &WithdrawnV2 {
                learner: learner_bytes(l),
                reason_code: reason_code.to_u8(),
                reason: text.clone(),
            },
        ),
        (1, ReasonCode::Other, Note::Text(text)) => encode_native(
            what,
            &LearnerReasonV1 {
                learner: learner_bytes(l),
                reason: text.clone(),
            },
        ),
        _ => Err(CodecError::Encode {
            what,
            detail: format!(
                "student.withdrawn with its reason code and note cannot be written at schema \
                 version {schema_version}"
            ),
        }),
    }
}

/// `waitlist.left` at schema 2; at 1 (an upcast read back) only while its reason is text.
fn encode_left(l: LearnerId, reason: &Note, schema_version: u16) -> Result<Vec<u8>, CodecError> {
    let what = "event payload";
    match (schema_version, reason) {
        (2, _) => encode_native(
            what,
            &WaitlistLeftV2 {
                learner: learner_bytes(l),
                reason: reason.into(),
            },
        ),
        (1, Note::Text(text)) => encode_native(
            what,
            &LearnerReasonV1 {
                learner: learner_bytes(l),
                reason: text.clone(),
            },
        ),
        _ => Err(CodecError::Encode {
            what,
            detail: format!(
                "waitlist.left with its note cannot be written at schema version {schema_version}"
            ),
        }),
    }
}

fn reason_code(code: u8) -> Result<ReasonCode, CodecError> {
    ReasonCode::from_u8(code).ok_or_else(|| CodecError::Malformed {
        what: "event payload",
        detail: format!("unknown reason code {code}"),
    })
}

/// Decodes a payload stored as `event_type` at `schema_version`, upcasting it to the current
/// [`Event`].
pub fn decode_event(
    event_type: &str,
    schema_version: u16,
    payload: &[u8],
) -> Result<Event, CodecError> {
    let what = "event payload";
    let event = match (event_type, schema_version) {
        ("cohort.created", 1) => {
            let c: CohortCreatedV1 = decode_native(what, payload)?;
            Event::CohortCreated(created_of(c, None)?)
        }
        ("cohort.created", 2) => {
            let c: CohortCreatedV2 = decode_native(what, payload)?;
            let ends_at = from_micros(what, c.ends_at)?;
            Event::CohortCreated(created_of(c.created, Some(ends_at))?)
        }
        ("student.enrolled", 1) => {
            let p: LearnerV1 = decode_native(what, payload)?;
            Event::StudentEnrolled {
                learner: learner(p.learner),
            }
        }
        ("student.waitlisted", 1) => {
            let p: WaitlistedV1 = decode_native(what, payload)?;
            Event::StudentWaitlisted {
                learner: learner(p.learner),
                position: p.position,
            }
        }
        // Upcast: withdrawals stored before reason codes existed read as `other`; the reason of
        // every schema before 3 is text, whatever it says.
        ("student.withdrawn", 1) => {
            let p: LearnerReasonV1 = decode_native(what, payload)?;
            Event::StudentWithdrawn {
                learner: learner(p.learner),
                reason_code: ReasonCode::Other,
                reason: Note::Text(p.reason),
            }
        }
        ("student.withdrawn", 2) => {
            let p: WithdrawnV2 = decode_native(what, payload)?;
            Event::StudentWithdrawn {
                learner: learner(p.learner),
                reason_code: reason_code(p.reason_code)?,
                reason: Note::Text(p.reason),
            }
        }
        ("student.withdrawn", 3) => {
            let p: WithdrawnV3 = decode_native(what, payload)?;
            Event::StudentWithdrawn {
                learner: learner(p.learner),
                reason_code: reason_code(p.reason_code)?,
                reason: p.reason.into(),
            }
        }
        // Upcast: a reason stored before schema 2 is text, whatever it says.
        ("waitlist.left", 1) => {
            let p: LearnerReasonV1 = decode_native(what, payload)?;
            Event::WaitlistLeft {
                learner: learner(p.learner),
                reason: Note::Text(p.reason),
            }
        }
        ("waitlist.left", 2) => {
            let p: WaitlistLeftV2 = decode_native(what, payload)?;
            Event::WaitlistLeft {
                learner: learner(p.learner),
                reason: p.reason.into(),
            }
        }
        ("waitlist.promoted", 1) => {
            let p: LearnerV1 = decode_native(what, payload)?;
            Event::WaitlistPromoted {
                learner: learner(p.learner),
            }
        }
        ("cohort.capacity_changed", 1) => {
            let p: CapacityChangedV1 = decode_native(what, payload)?;
            Event::CapacityChanged {
                from: capacity(what, p.from)?,
                to: capacity(what, p.to)?,
            }
        }
        ("enrollment.closed", 1) if payload.is_empty() => Event::EnrollmentClosed,
        _ => return decode_term_event(event_type, schema_version, payload),
    };
    Ok(event)
}

/// Decodes the events of issue 15 (all at schema 1); any other type or version is unknown.
fn decode_term_event(
    event_type: &str,
    schema_version: u16,
    payload: &[u8],
) -> Result<Event, CodecError> {
    let what = "event payload";
    let event = match (event_type, schema_version) {
        ("enrollment.reopened", 1) => {
            let p: ReasonV1 = decode_native(what, payload)?;
            Event::EnrollmentReopened {
                reason: p.reason.into(),
            }
        }
        ("cohort.rescheduled", 1) => {
            let p: RescheduledV1 = decode_native(what, payload)?;
            rescheduled_of(&p, None)?
        }
        ("cohort.rescheduled", 2) => {
            let p: RescheduledV2 = decode_native(what, payload)?;
            rescheduled_of(&p.dates, Some(from_micros(what, p.ends_at)?))?
        }
        ("cohort.details_changed", 1) => {
            let p: DetailsChangedV1 = decode_native(what, payload)?;
            Event::CohortDetailsChanged {
                name: p.name,
                course: p.course,
                instructor: p.instructor,
            }
        }
        ("cohort.cancelled", 1) => {
            let p: ReasonV1 = decode_native(what, payload)?;
            Event::CohortCancelled {
                reason: p.reason.into(),
            }
        }
        ("student.released", 1) => {
            let p: LearnerV1 = decode_native(what, payload)?;
            Event::StudentReleased {
                learner: learner(p.learner),
            }
        }
        ("cohort.policy_changed", 1) => {
            let p: PolicyChangedV1 = decode_native(what, payload)?;
            Event::PolicyChanged {
                promotion: p.promotion.upcast(what)?,
                waitlist_cap: p.waitlist_cap,
            }
        }
        ("waitlist.offered", 1) => {
            let p: OfferedV1 = decode_native(what, payload)?;
            Event::WaitlistOffered {
                learner: learner(p.learner),
                offered_at: from_micros(what, p.offered_at)?,
                expires_at: from_micros(what, p.expires_at)?,
            }
        }
        ("offer.accepted", 1) => {
            let p: LearnerV1 = decode_native(what, payload)?;
            Event::OfferAccepted {
                learner: learner(p.learner),
            }
        }
        ("offer.declined", 1) => {
            let p: LearnerNoteV1 = decode_native(what, payload)?;
            Event::OfferDeclined {
                learner: learner(p.learner),
                reason: p.reason.into(),
            }
        }
        ("offer.expired", 1) => {
            let p: LearnerV1 = decode_native(what, payload)?;
            Event::OfferExpired {
                learner: learner(p.learner),
            }
        }
        ("student.transferred_out", 1) => {
            let p: TransferredOutV1 = decode_native(what, payload)?;
            Event::StudentTransferredOut {
                learner: learner(p.learner),
                to: CohortId(Uuid::from_bytes(p.to)),
                reason: p.reason.into(),
            }
        }
        ("student.transferred_in", 1) => {
            let p: TransferredInV1 = decode_native(what, payload)?;
            Event::StudentTransferredIn {
                learner: learner(p.learner),
                from: CohortId(Uuid::from_bytes(p.from)),
                waitlisted_at: p.waitlisted_at,
            }
        }
        _ => {
            return Err(CodecError::UnknownEvent {
                event_type: event_type.to_owned(),
                schema_version,
            });
        }
    };
    Ok(event)
}

// ---- snapshots --------------------------------------------------------------------------------

/// Snapshot schema 1, frozen: no longer written or read (a stream whose snapshot is at 1 is
/// replayed), kept so its golden fixture still pins what older stores hold.
#[cfg(test)]
#[derive(Serialize, Deserialize)]
struct SnapshotV1 {
    name: String,
    course: String,
    instructor: String,
    capacity: u32,
    starts_at: i64,
    enrollment_deadline: i64,
    withdrawal_deadline: i64,
    closed: bool,
    enrolled: Vec<[u8; 16]>,
    /// (learner, place when joined), head first.
    waitlist: Vec<([u8; 16], u32)>,
}

/// The status as snapshot schema 2 stores it. Variants are only ever appended.
#[derive(Serialize, Deserialize)]
enum StatusV2 {
    Open,
    Closed,
    Cancelled,
}

/// Snapshot schema 2: schema 1's fields (the status as [`StatusV2`]) and the promotion
/// policy, the waitlist cap and the offers.
#[derive(Serialize, Deserialize)]
struct SnapshotV2 {
    name: String,
    course: String,
    instructor: String,
    capacity: u32,
    starts_at: i64,
    enrollment_deadline: i64,
    withdrawal_deadline: i64,
    status: StatusV2,
    enrolled: Vec<[u8; 16]>,
    /// (learner, place when joined), head first.
    waitlist: Vec<([u8; 16], u32)>,
    promotion: PromotionV1,
    waitlist_cap: Option<u32>,
    /// (learner, offered at, expires at), in the order made.
    offers: Vec<([u8; 16], i64, i64)>,
}

/// Snapshot schema 3: schema 2's fields and the end date.
#[derive(Serialize, Deserialize)]
struct SnapshotV3 {
    v2: SnapshotV2,
    ends_at: Option<i64>,
}

/// Encodes a cohort snapshot at [`SNAPSHOT_SCHEMA_VERSION`].
pub fn encode_snapshot(cohort: &Cohort) -> Result<Vec<u8>, CodecError> {
    let stored = SnapshotV3 {
        v2: snapshot_v2(cohort),
        ends_at: cohort.ends_at.map(micros),
    };
    encode_framed("snapshot", &stored)
}

/// The fields of a snapshot at schema 2.
fn snapshot_v2(cohort: &Cohort) -> SnapshotV2 {
    SnapshotV2 {
        name: cohort.name.clone(),
        course: cohort.course.clone(),
        instructor: cohort.instructor.clone(),
        capacity: cohort.capacity.seats(),
        starts_at: micros(cohort.starts_at),
        enrollment_deadline: micros(cohort.enrollment_deadline),
        withdrawal_deadline: micros(cohort.withdrawal_deadline),
        status: match cohort.status {
            CohortStatus::Open => StatusV2::Open,
            CohortStatus::Closed => StatusV2::Closed,
            CohortStatus::Cancelled => StatusV2::Cancelled,
        },
        enrolled: cohort.enrolled.iter().map(|l| learner_bytes(*l)).collect(),
        waitlist: cohort
            .waitlist
            .iter()
            .map(|e| (learner_bytes(e.learner), e.joined_at_place))
            .collect(),
        promotion: cohort.promotion.into(),
        waitlist_cap: cohort.waitlist_cap,
        offers: cohort
            .offers
            .iter()
            .map(|o| {
                (
                    learner_bytes(o.learner),
                    micros(o.offered_at),
                    micros(o.expires_at),
                )
            })
            .collect(),
    }
}

/// Decodes a snapshot stored at `schema_version`; any other version than the current one is an
/// error, and the caller falls back to replaying the stream.
pub fn decode_snapshot(
    id: CohortId,
    schema_version: u16,
    bytes: &[u8],
) -> Result<Cohort, CodecError> {
    let what = "snapshot";
    if schema_version != SNAPSHOT_SCHEMA_VERSION {
        return Err(CodecError::Malformed {
            what,
            detail: format!(
                "schema version {schema_version}, current is {SNAPSHOT_SCHEMA_VERSION}"
            ),
        });
    }
    let SnapshotV3 { v2: s, ends_at } = decode(what, unframe(bytes)?)?;
    Ok(Cohort {
        id,
        name: s.name,
        course: s.course,
        instructor: s.instructor,
        capacity: capacity(what, s.capacity)?,
        starts_at: from_micros(what, s.starts_at)?,
        enrollment_deadline: from_micros(what, s.enrollment_deadline)?,
        withdrawal_deadline: from_micros(what, s.withdrawal_deadline)?,
        ends_at: ends_at.map(|t| from_micros(what, t)).transpose()?,
        status: match s.status {
            StatusV2::Open => CohortStatus::Open,
            StatusV2::Closed => CohortStatus::Closed,
            StatusV2::Cancelled => CohortStatus::Cancelled,
        },
        enrolled: s.enrolled.into_iter().map(learner).collect(),
        waitlist: s
            .waitlist
            .into_iter()
            .map(|(l, place)| WaitlistEntry {
                learner: learner(l),
                joined_at_place: place,
            })
            .collect(),
        promotion: s.promotion.upcast(what)?,
        waitlist_cap: s.waitlist_cap,
        offers: s
            .offers
            .into_iter()
            .map(|(l, offered_at, expires_at)| {
                Ok(Offer {
                    learner: learner(l),
                    offered_at: from_micros(what, offered_at)?,
                    expires_at: from_micros(what, expires_at)?,
                })
            })
            .collect::<Result<_, CodecError>>()?,
    })
}

// ---- idempotency records and the learner directory -------------------------------------------

/// What the `commands` table remembers of a command, to answer a repeat of its idempotency key
/// with the first outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRecord {
    /// A canonical description of the request, to refuse a key reused for another request.
    pub fingerprint: String,
    /// When it was recorded, for pruning.
    pub recorded_at: Timestamp,
    /// What happened.
    pub outcome: CommandOutcome,
}

/// The first outcome of a command: committed events, or a rule's refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Committed: the events at these positions.
    Committed {
        /// The cohort it addressed.
        cohort: CohortId,
        /// Stream version after it.
        version: u64,
        /// Its first event's position.
        first_position: u64,
        /// Its last event's position.
        last_position: u64,
    },
    /// Refused by a business rule (version conflicts and failures are not recorded: a retry
    /// may succeed).
    Rejected(RuleViolation),
}

#[derive(Serialize, Deserialize)]
struct CommandRecordV1 {
    fingerprint: String,
    recorded_at: i64,
    outcome: OutcomeV1,
}

#[derive(Serialize, Deserialize)]
enum OutcomeV1 {
    Committed {
        cohort: [u8; 16],
        version: u64,
        first_position: u64,
        last_position: u64,
    },
    Rejected(ViolationV1),
}

/// A rule violation as stored. Variants are only ever appended.
#[derive(Serialize, Deserialize)]
enum ViolationV1 {
    CohortNotFound {
        cohort: [u8; 16],
    },
    CohortAlreadyExists {
        cohort: [u8; 16],
    },
    EnrollmentClosed,
    EnrollmentDeadlinePassed {
        deadline: i64,
        now: i64,
    },
    WithdrawalDeadlinePassed {
        deadline: i64,
        now: i64,
    },
    AlreadyEnrolled {
        learner: [u8; 16],
    },
    AlreadyWaitlisted {
        learner: [u8; 16],
        position: u32,
        waitlist_len: u32,
    },
    NotEnrolled {
        learner: [u8; 16],
    },
    NotWaitlisted {
        learner: [u8; 16],
    },
    WaitlistEmpty,
    NoSeatFree {
        enrolled: u32,
        capacity: u32,
    },
    CapacityBelowEnrolled {
        requested: u32,
        enrolled: u32,
    },
    CapacityUnchanged {
        capacity: u32,
    },
    WithdrawalBeforeEnrollment {
        withdrawal: i64,
        enrollment: i64,
    },
    NotClosed,
    CohortCancelled,
    DeadlineInPast {
        deadline: i64,
        now: i64,
    },
    WaitlistFull {
        cap: u32,
        waiting: u32,
    },
    NoOffer {
        learner: [u8; 16],
    },
    OfferExpired {
        learner: [u8; 16],
        expired_at: i64,
    },
    SameCohort,
    NothingChanged,
    AlreadyOffered {
        learner: [u8; 16],
        expires_at: i64,
    },
    NoOfferDue {
        now: i64,
        next: Option<i64>,
    },
    EndsBeforeStart {
        ends: i64,
        starts: i64,
    },
}

impl From<&RuleViolation> for ViolationV1 {
    fn from(v: &RuleViolation) -> Self {
        use RuleViolation as R;
        match v {
            R::CohortNotFound { cohort } => Self::CohortNotFound {
                cohort: *cohort.0.as_bytes(),
            },
            R::CohortAlreadyExists { cohort } => Self::CohortAlreadyExists {
                cohort: *cohort.0.as_bytes(),
            },
            R::EnrollmentClosed => Self::EnrollmentClosed,
            R::EnrollmentDeadlinePassed { deadline, now } => Self::EnrollmentDeadlinePassed {
                deadline: micros(*deadline),
                now: micros(*now),
            },
            R::WithdrawalDeadlinePassed { deadline, now } => Self::WithdrawalDeadlinePassed {
                deadline: micros(*deadline),
                now: micros(*now),
            },
            R::AlreadyEnrolled { learner: l } => Self::AlreadyEnrolled {
                learner: learner_bytes(*l),
            },
            R::AlreadyWaitlisted {
                learner: l,
                position,
                waitlist_len,
            } => Self::AlreadyWaitlisted {
                learner: learner_bytes(*l),
                position: *position,
                waitlist_len: *waitlist_len,
            },
            R::NotEnrolled { learner: l } => Self::NotEnrolled {
                learner: learner_bytes(*l),
            },
            R::NotWaitlisted { learner: l } => Self::NotWaitlisted {
                learner: learner_bytes(*l),
            },
            R::WaitlistEmpty => Self::WaitlistEmpty,
            R::NoSeatFree { enrolled, capacity } => Self::NoSeatFree {
                enrolled: *enrolled,
                capacity: *capacity,
            },
            R::CapacityBelowEnrolled {
                requested,
                enrolled,
            } => Self::CapacityBelowEnrolled {
                requested: *requested,
                enrolled: *enrolled,
            },
            R::CapacityUnchanged { capacity } => Self::CapacityUnchanged {
                capacity: *capacity,
            },
            R::InvalidSchedule(ScheduleProblem::WithdrawalBeforeEnrollment {
                withdrawal,
                enrollment,
            }) => Self::WithdrawalBeforeEnrollment {
                withdrawal: micros(*withdrawal),
                enrollment: micros(*enrollment),
            },
            R::InvalidSchedule(ScheduleProblem::EndsBeforeStart { ends, starts }) => {
                Self::EndsBeforeStart {
                    ends: micros(*ends),
                    starts: micros(*starts),
                }
            }
            R::NotClosed => Self::NotClosed,
            R::CohortCancelled => Self::CohortCancelled,
            R::DeadlineInPast { deadline, now } => Self::DeadlineInPast {
                deadline: micros(*deadline),
                now: micros(*now),
            },
            R::WaitlistFull { cap, waiting } => Self::WaitlistFull {
                cap: *cap,
                waiting: *waiting,
            },
            R::NoOffer { learner: l } => Self::NoOffer {
                learner: learner_bytes(*l),
            },
            R::OfferExpired {
                learner: l,
                expired_at,
            } => Self::OfferExpired {
                learner: learner_bytes(*l),
                expired_at: micros(*expired_at),
            },
            R::SameCohort => Self::SameCohort,
            R::NothingChanged => Self::NothingChanged,
            R::AlreadyOffered {
                learner: l,
                expires_at,
            } => Self::AlreadyOffered {
                learner: learner_bytes(*l),
                expires_at: micros(*expires_at),
            },
            R::NoOfferDue { now, next } => Self::NoOfferDue {
                now: micros(*now),
                next: next.map(micros),
            },
        }
    }
}

impl ViolationV1 {
    fn upcast(self) -> Result<RuleViolation, CodecError> {
        use RuleViolation as R;
        let t = |us| from_micros("command record", us);
        let cohort = |b| CohortId(Uuid::from_bytes(b));
        Ok(match self {
            Self::CohortNotFound { cohort: c } => R::CohortNotFound { cohort: cohort(c) },
            Self::CohortAlreadyExists { cohort: c } => R::CohortAlreadyExists { cohort: cohort(c) },
            Self::EnrollmentClosed => R::EnrollmentClosed,
            Self::EnrollmentDeadlinePassed { deadline, now } => R::EnrollmentDeadlinePassed {
                deadline: t(deadline)?,
                now: t(now)?,
            },
            Self::WithdrawalDeadlinePassed { deadline, now } => R::WithdrawalDeadlinePassed {
                deadline: t(deadline)?,
                now: t(now)?,
            },
            Self::AlreadyEnrolled { learner: l } => R::AlreadyEnrolled {
                learner: learner(l),
            },
            Self::AlreadyWaitlisted {
                learner: l,
                position,
                waitlist_len,
            } => R::AlreadyWaitlisted {
                learner: learner(l),
                position,
                waitlist_len,
            },
            Self::NotEnrolled { learner: l } => R::NotEnrolled {
                learner: learner(l),
            },
            Self::NotWaitlisted { learner: l } => R::NotWaitlisted {
                learner: learner(l),
            },
            Self::WaitlistEmpty => R::WaitlistEmpty,
            Self::NoSeatFree { enrolled, capacity } => R::NoSeatFree { enrolled, capacity },
            Self::CapacityBelowEnrolled {
                requested,
                enrolled,
            } => R::CapacityBelowEnrolled {
                requested,
                enrolled,
            },
            Self::CapacityUnchanged { capacity } => R::CapacityUnchanged { capacity },
            Self::WithdrawalBeforeEnrollment {
                withdrawal,
                enrollment,
            } => R::InvalidSchedule(ScheduleProblem::WithdrawalBeforeEnrollment {
                withdrawal: t(withdrawal)?,
                enrollment: t(enrollment)?,
            }),
            Self::EndsBeforeStart { ends, starts } => {
                R::InvalidSchedule(ScheduleProblem::EndsBeforeStart {
                    ends: t(ends)?,
                    starts: t(starts)?,
                })
            }
            Self::NotClosed => R::NotClosed,
            Self::CohortCancelled => R::CohortCancelled,
            Self::DeadlineInPast { deadline, now } => R::DeadlineInPast {
                deadline: t(deadline)?,
                now: t(now)?,
            },
            Self::WaitlistFull { cap, waiting } => R::WaitlistFull { cap, waiting },
            Self::NoOffer { learner: l } => R::NoOffer {
                learner: learner(l),
            },
            Self::OfferExpired {
                learner: l,
                expired_at,
            } => R::OfferExpired {
                learner: learner(l),
                expired_at: t(expired_at)?,
            },
            Self::SameCohort => R::SameCohort,
            Self::NothingChanged => R::NothingChanged,
            Self::AlreadyOffered {
                learner: l,
                expires_at,
            } => R::AlreadyOffered {
                learner: learner(l),
                expires_at: t(expires_at)?,
            },
            Self::NoOfferDue { now, next } => R::NoOfferDue {
                now: t(now)?,
                next: next.map(t).transpose()?,
            },
        })
    }
}

/// Encodes an idempotency record.
pub fn encode_command_record(record: &CommandRecord) -> Result<Vec<u8>, CodecError> {
    let outcome = match &record.outcome {
        CommandOutcome::Committed {
            cohort,
            version,
            first_position,
            last_position,
        } => OutcomeV1::Committed {
            cohort: *cohort.0.as_bytes(),
            version: *version,
            first_position: *first_position,
            last_position: *last_position,
        },
        CommandOutcome::Rejected(violation) => OutcomeV1::Rejected(violation.into()),
    };
    let stored = CommandRecordV1 {
        fingerprint: record.fingerprint.clone(),
        recorded_at: micros(record.recorded_at),
        outcome,
    };
    encode_framed("command record", &stored)
}

/// Decodes an idempotency record.
pub fn decode_command_record(bytes: &[u8]) -> Result<CommandRecord, CodecError> {
    let stored: CommandRecordV1 = decode("command record", unframe(bytes)?)?;
    let outcome = match stored.outcome {
        OutcomeV1::Committed {
            cohort,
            version,
            first_position,
            last_position,
        } => CommandOutcome::Committed {
            cohort: CohortId(Uuid::from_bytes(cohort)),
            version,
            first_position,
            last_position,
        },
        OutcomeV1::Rejected(violation) => CommandOutcome::Rejected(violation.upcast()?),
    };
    Ok(CommandRecord {
        fingerprint: stored.fingerprint,
        recorded_at: from_micros("command record", stored.recorded_at)?,
        outcome,
    })
}

/// One learner directory entry: the personal data kept outside the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerRecord {
    /// The key staff type (email or student number), normalised.
    pub key: String,
    /// Display name; may be empty.
    pub name: String,
}

/// Encodes a learner directory entry.
pub fn encode_learner(record: &LearnerRecord) -> Result<Vec<u8>, CodecError> {
    encode_framed("learner", record)
}

/// Decodes a learner directory entry.
pub fn decode_learner(bytes: &[u8]) -> Result<LearnerRecord, CodecError> {
    decode("learner", unframe(bytes)?)
}

// ---- the rejected-command journal -------------------------------------------------------------

/// A command the rules refused, as the journal keeps it. No personal data: the learner is the
/// opaque id, and free text (reasons) is not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    /// When it was refused.
    pub at: Timestamp,
    /// Who tried.
    pub actor: Actor,
    /// The cohort addressed.
    pub cohort: CohortId,
    /// The learner concerned, if any.
    pub learner: Option<LearnerId>,
    /// What was tried, e.g. `enroll` or `change capacity to 25`.
    pub command: String,
    /// The rule that refused it, with the facts it checked.
    pub violation: RuleViolation,
}

#[derive(Serialize, Deserialize)]
struct JournalV1 {
    at: i64,
    actor_id: [u8; 16],
    actor_name: String,
    cohort: [u8; 16],
    learner: Option<[u8; 16]>,
    command: String,
    violation: ViolationV1,
}

/// Encodes a journal entry.
pub fn encode_journal(e: &JournalEntry) -> Result<Vec<u8>, CodecError> {
    encode_framed(
        "journal entry",
        &JournalV1 {
            at: micros(e.at),
            actor_id: *e.actor.id.as_bytes(),
            actor_name: e.actor.name.clone(),
            cohort: *e.cohort.0.as_bytes(),
            learner: e.learner.map(learner_bytes),
            command: e.command.clone(),
            violation: (&e.violation).into(),
        },
    )
}

/// Decodes a journal entry.
pub fn decode_journal(bytes: &[u8]) -> Result<JournalEntry, CodecError> {
    let e: JournalV1 = decode("journal entry", unframe(bytes)?)?;
    Ok(JournalEntry {
        at: from_micros("journal entry", e.at)?,
        actor: Actor {
            id: Uuid::from_bytes(e.actor_id),
            name: e.actor_name,
        },
        cohort: CohortId(Uuid::from_bytes(e.cohort)),
        learner: e.learner.map(learner),
        command: e.command,
        violation: e.violation.upcast()?,
    })
}

// ---- erasures --------------------------------------------------------------------------------

/// That a learner's personal data was erased: when and by whom, and nothing about the learner
/// but the opaque id it is filed under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureRecord {
    /// When.
    pub erased_at: Timestamp,
    /// Who erased it.
    pub actor: Actor,
}

#[derive(Serialize, Deserialize)]
struct ErasureV1 {
    erased_at: i64,
    actor_id: [u8; 16],
    actor_name: String,
}

/// Encodes an erasure record.
pub fn encode_erasure(e: &ErasureRecord) -> Result<Vec<u8>, CodecError> {
    encode_framed(
        "erasure record",
        &ErasureV1 {
            erased_at: micros(e.erased_at),
            actor_id: *e.actor.id.as_bytes(),
            actor_name: e.actor.name.clone(),
        },
    )
}

/// Decodes an erasure record.
pub fn decode_erasure(bytes: &[u8]) -> Result<ErasureRecord, CodecError> {
    let e: ErasureV1 = decode("erasure record", unframe(bytes)?)?;
    Ok(ErasureRecord {
        erased_at: from_micros("erasure record", e.erased_at)?,
        actor: Actor {
            id: Uuid::from_bytes(e.actor_id),
            name: e.actor_name,
        },
    })
}

// ---- accounts, tokens and sessions ----------------------------------------------------------

/// A staff account as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRecord {
    /// Login name, unique, lower-case.
    pub name: String,
    /// `admin`, `staff` or `viewer`.
    pub role: String,
    /// argon2id hash in PHC string form.
    pub password_hash: String,
    /// A disabled account cannot log in, and its sessions and tokens stop working.
    pub disabled: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last logged in.
    pub last_login: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
struct AccountV1 {
    name: String,
    role: String,
    password_hash: String,
    disabled: bool,
    created_at: i64,
    last_login: Option<i64>,
}

/// Encodes an account.
pub fn encode_account(a: &AccountRecord) -> Result<Vec<u8>, CodecError> {
    encode_framed(
        "account",
        &AccountV1 {
            name: a.name.clone(),
            role: a.role.clone(),
            password_hash: a.password_hash.clone(),
            disabled: a.disabled,
            created_at: micros(a.created_at),
            last_login: a.last_login.map(micros),
        },
    )
}

/// Decodes an account.
pub fn decode_account(bytes: &[u8]) -> Result<AccountRecord, CodecError> {
    let a: AccountV1 = decode("account", unframe(bytes)?)?;
    Ok(AccountRecord {
        name: a.name,
        role: a.role,
        password_hash: a.password_hash,
        disabled: a.disabled,
        created_at: from_micros("account", a.created_at)?,
        last_login: a
            .last_login
            .map(|t| from_micros("account", t))
            .transpose()?,
    })
}

/// An API token as stored: never the secret, only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// The account it acts as.
    pub account: Uuid,
    /// What it is for, as given at creation.
    pub label: String,
    /// SHA-256 of the secret.
    pub hash: [u8; 32],
    /// When it was created.
    pub created_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct TokenV1 {
    account: [u8; 16],
    label: String,
    hash: [u8; 32],
    created_at: i64,
}

/// Encodes a token.
pub fn encode_token(t: &TokenRecord) -> Result<Vec<u8>, CodecError> {
    encode_framed(
        "token",
        &TokenV1 {
            account: *t.account.as_bytes(),
            label: t.label.clone(),
            hash: t.hash,
            created_at: micros(t.created_at),
        },
    )
}

/// Decodes a token.
pub fn decode_token(bytes: &[u8]) -> Result<TokenRecord, CodecError> {
    let t: TokenV1 = decode("token", unframe(bytes)?)?;
    Ok(TokenRecord {
        account: Uuid::from_bytes(t.account),
        label: t.label,
        hash: t.hash,
        created_at: from_micros("token", t.created_at)?,
    })
}

/// A login session as stored (keyed by the SHA-256 of its id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The account logged in.
    pub account: Uuid,
    /// The secret every form of this session must carry.
    pub csrf: [u8; 32],
    /// When it was created (at login).
    pub created_at: Timestamp,
    /// When it was last used (refreshed lazily).
    pub last_seen: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct SessionV1 {
    account: [u8; 16],
    csrf: [u8; 32],
    created_at: i64,
    last_seen: i64,
}

/// Encodes a session.
pub fn encode_session(s: &SessionRecord) -> Result<Vec<u8>, CodecError> {
    encode_framed(
        "session",
        &SessionV1 {
            account: *s.account.as_bytes(),
            csrf: s.csrf,
            created_at: micros(s.created_at),
            last_seen: micros(s.last_seen),
        },
    )
}

/// Decodes a session.
pub fn decode_session(bytes: &[u8]) -> Result<SessionRecord, CodecError> {
    let s: SessionV1 = decode("session", unframe(bytes)?)?;
    Ok(SessionRecord {
        account: Uuid::from_bytes(s.account),
        csrf: s.csrf,
        created_at: from_micros("session", s.created_at)?,
        last_seen: from_micros("session", s.last_seen)?,
    })
}

// ---- webhook subscriptions ------------------------------------------------------------------

/// A webhook subscription as stored (its position is kept apart, in its own table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRecord {
    /// What the admin called it.
    pub name: String,
    /// Where events are posted (http or https).
    pub url: String,
    /// Only events of these types are delivered (all when empty).
    pub event_types: Vec<String>,
    /// Only events of these cohorts are delivered (all when empty).
    pub cohorts: Vec<Uuid>,
    /// The signing secret's bytes (HMAC-SHA256 key; shown once, as `whsec_` + base64).
    pub secret: Vec<u8>,
    /// Paused by an admin or after failing too long: nothing is delivered.
    pub paused: bool,
    /// The last delivery failure, in words.
    pub last_error: Option<String>,
    /// Since when deliveries have failed without a success in between.
    pub failing_since: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct WebhookV1 {
    name: String,
    url: String,
    event_types: Vec<String>,
    cohorts: Vec<[u8; 16]>,
    secret: Vec<u8>,
    paused: bool,
    last_error: Option<String>,
    failing_since: Option<i64>,
    created_at: i64,
}

/// Encodes a webhook subscription.
pub fn encode_webhook(w: &WebhookRecord) -> Result<Vec<u8>, CodecError> {
    encode_framed(
        "webhook",
        &WebhookV1 {
            name: w.name.clone(),
            url: w.url.clone(),
            event_types: w.event_types.clone(),
            cohorts: w.cohorts.iter().map(|c| *c.as_bytes()).collect(),
            secret: w.secret.clone(),
            paused: w.paused,
            last_error: w.last_error.clone(),
            failing_since: w.failing_since.map(micros),
            created_at: micros(w.created_at),
        },
    )
}

/// Decodes a webhook subscription.
pub fn decode_webhook(bytes: &[u8]) -> Result<WebhookRecord, CodecError> {
    let w: WebhookV1 = decode("webhook", unframe(bytes)?)?;
    Ok(WebhookRecord {
        name: w.name,
        url: w.url,
        event_types: w.event_types,
        cohorts: w.cohorts.into_iter().map(Uuid::from_bytes).collect(),
        secret: w.secret,
        paused: w.paused,
        last_error: w.last_error,
        failing_since: w
            .failing_since
            .map(|t| from_micros("webhook", t))
            .transpose()?,
        created_at: from_micros("webhook", w.created_at)?,
    })
}

// ---- learner e-mail log ---------------------------------------------------------------------

/// What became of one learner e-mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailOutcome {
    /// The SMTP server accepted it.
    Sent,
    /// The SMTP server refused it for good (a 5xx answer): not tried again.
    Failed,
    /// Not attempted (no e-mail address on file).
    Skipped,
}

/// One line of a learner's e-mail log: never the address, never the learner's name (an SMTP
/// answer that names the address has it replaced before it is stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailLogRecord {
    /// When it was sent, refused or skipped.
    pub at: Timestamp,
    /// The learner (opaque id).
    pub learner: Uuid,
    /// The cohort it is about.
    pub cohort: Uuid,
    /// The event it is about (for a reminder: the offer's event).
    pub position: u64,
    /// Which message (`enrolled`, `waitlisted`, `offer_reminder`…).
    pub kind: String,
    /// Its subject.
    pub subject: String,
    /// Sent, failed or skipped.
    pub outcome: MailOutcome,
    /// The SMTP answer or why it was skipped.
    pub detail: String,
}

#[derive(Serialize, Deserialize)]
struct MailLogV1 {
    at: i64,
    learner: [u8; 16],
    cohort: [u8; 16],
    position: u64,
    kind: String,
    subject: String,
    /// 0 sent, 1 failed, 2 skipped.
    outcome: u8,
    detail: String,
}

/// Encodes a mail log line.
pub fn encode_mail_log(m: &MailLogRecord) -> Result<Vec<u8>, CodecError> {
    encode_framed(
        "mail log",
        &MailLogV1 {
            at: micros(m.at),
            learner: *m.learner.as_bytes(),
            cohort: *m.cohort.as_bytes(),
            position: m.position,
            kind: m.kind.clone(),
            subject: m.subject.clone(),
            outcome: match m.outcome {
                MailOutcome::Sent => 0,
                MailOutcome::Failed => 1,
                MailOutcome::Skipped => 2,
            },
            detail: m.detail.clone(),
        },
    )
}

/// Decodes a mail log line.
pub fn decode_mail_log(bytes: &[u8]) -> Result<MailLogRecord, CodecError> {
    let m: MailLogV1 = decode("mail log", unframe(bytes)?)?;
    Ok(MailLogRecord {
        at: from_micros("mail log", m.at)?,
        learner: Uuid::from_bytes(m.learner),
        cohort: Uuid::from_bytes(m.cohort),
        position: m.position,
        kind: m.kind,
        subject: m.subject,
        outcome: match m.outcome {
            0 => MailOutcome::Sent,
            1 => MailOutcome::Failed,
            2 => MailOutcome::Skipped,
            other => {
                return Err(CodecError::Malformed {
                    what: "mail log",
                    detail: format!("unknown outcome {other}"),
                });
            }
        },
        detail: m.detail,
    })
}

#[cfg(test)]
#[path = "codec_golden.rs"]
mod golden;
