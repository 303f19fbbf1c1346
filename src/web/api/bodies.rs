//! The JSON bodies of the API as types: what a request sends (deserialised, unknown fields
//! refused) and what an answer carries (serialised). Their `OpenAPI` schemas are derived from
//! these declarations (`schemars`), with each input constraint the server enforces stated on
//! its field, so the document cannot say less than the handlers check.
//!
//! Answers keep the wire shape they had when built as `json!` maps: fields are declared in
//! alphabetical order, which is the order those maps serialised in.

use std::collections::BTreeMap;

use jiff::Timestamp;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::domain::Capacity;

/// What one line of text (a name) accepts: no control characters and no text-direction
/// embeddings, overrides or isolates (see `web::input::line`).
const LINE: &str = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$";
/// [`LINE`] with at least one character that is not white space (trimmed, it is not empty).
const REQUIRED_LINE: &str = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*[^\s\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069][^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$";
/// Free text: [`LINE`], but line breaks and tabs allowed.
const TEXT: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$";
/// A learner key: no white space, control or invisible characters (see
/// `learner_key::is_invisible`), spelled here in the Basic Multilingual Plane only.
pub(in crate::web) const LEARNER_KEY: &str = r"^[!-~\u00a1-\u00ac\u00ae-\u034e\u0350-\u061b\u061d-\u115e\u1161-\u167f\u1681-\u17b3\u17b6-\u180a\u1810-\u1fff\u2010-\u2027\u2030-\u205e\u2070-\u2fff\u3001-\u3163\u3165-\ud7ff\ue000-\ufdff\ufe10-\ufefe\uff00-\uff9f\uffa1-\uffef]+$";
/// A backup's file name (see `backup::BackupName`).
const BACKUP_NAME: &str = r"^[A-Za-z0-9_][A-Za-z0-9._-]*$";

/// A required single line of at most 200 characters.
fn required_line(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": REQUIRED_LINE})
}

/// An optional single line of at most 200 characters.
fn line(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "maxLength": 200, "pattern": LINE})
}

/// A learner key (100 characters always fit: the limit is 200 once lower-cased).
fn learner_key(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string", "minLength": 1, "maxLength": 100, "pattern": LEARNER_KEY,
        "description": "The learner's key: an email or student number (trimmed, lower-cased).",
    })
}

/// A number of seats.
fn seats(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "minimum": 1, "maximum": Capacity::MAX, "description": "Seats."})
}

/// An RFC 3339 instant.
fn time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time"})
}

/// An RFC 3339 instant, or `null`.
fn time_or_null(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": ["string", "null"], "format": "date-time"})
}

/// A withdrawal's reason code.
fn reason_code(_: &mut SchemaGenerator) -> Schema {
    let codes: Vec<&str> = crate::domain::ReasonCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    json_schema!({"type": "string", "enum": codes, "default": "other"})
}

/// A backup's file name.
fn backup_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string", "minLength": 1, "maxLength": crate::backup::MAX_NAME_LEN,
        "pattern": BACKUP_NAME,
    })
}

/// A cohort's status as answers show it: `open`, `closed` or `cancelled`.
fn status(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["open", "closed", "cancelled"]})
}

/// `domain::Phase` as the API spells it.
fn phase(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["open", "enrollment_ended", "closed", "running", "finished", "cancelled"]})
}

/// A whole number as JSON Schema's `integer` has it: `30` or `30.0` (a number whose fraction is
/// zero is an integer there), never `30.5` or a negative.
fn whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    /// Above 2^53 a JSON reader's floating point is no longer exact.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(n) = number.as_u64() {
        return Ok(n);
    }
    match number.as_f64() {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked: whole, not negative, and exact"
        )]
        Some(f) if f.fract() == 0.0 && (0.0..=EXACT).contains(&f) => Ok(f as u64),
        _ => Err(serde::de::Error::custom(format!(
            "invalid value: {number}, expected a whole number"
        ))),
    }
}

/// An optional request field is `#[serde(default)]` (so the schema does not require it); this
/// drops the `"default": null` that would then be published for it.
fn no_null_defaults(schema: &mut Schema) {
    let properties = schema
        .as_object_mut()
        .and_then(|s| s.get_mut("properties"))
        .and_then(serde_json::Value::as_object_mut);
    for property in properties.into_iter().flat_map(|p| p.values_mut()) {
        if let Some(property) = property.as_object_mut() {
            if property.get("default") == Some(&serde_json::Value::Null) {
                property.remove("default");
            }
        }
    }
}

/// A cohort to create.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults, transform = hold_with_offer)]
pub struct NewCohort {
    #[schemars(schema_with = "required_line")]
    pub name: String,
    #[schemars(schema_with = "required_line")]
    pub course: String,
    #[schemars(schema_with = "required_line")]
    pub instructor: String,
    #[serde(deserialize_with = "whole")]
    #[schemars(schema_with = "seats")]
    pub capacity: u64,
    #[schemars(schema_with = "time")]
    pub starts_at: String,
    #[schemars(schema_with = "time")]
    pub enrollment_deadline: String,
    #[schemars(schema_with = "time")]
    pub withdrawal_deadline: String,
    /// When the last session ends (optional): after it the cohort's phase is `finished`.
    #[serde(default)]
    #[schemars(schema_with = "optional_time")]
    pub ends_at: Option<String>,
    /// How freed seats are filled (default `automatic`).
    #[serde(default)]
    #[schemars(schema_with = "promotion")]
    pub promotion: Option<String>,
    /// With `promotion: "offer"` (and only then): how long an offer is held.
    #[serde(default)]
    #[schemars(schema_with = "offer_hold")]
    pub offer_hold: Option<String>,
    /// The most learners that may wait; absent or `null` for no limit.
    #[serde(default, deserialize_with = "whole_cap")]
    #[schemars(schema_with = "waitlist_cap")]
    pub waitlist_cap: Option<u32>,
}

/// A learner to enroll.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults)]
pub struct Enrollment {
    #[schemars(schema_with = "learner_key")]
    pub learner: String,
    /// Updates the learner directory.
    #[serde(default)]
    #[schemars(schema_with = "line")]
    pub name: Option<String>,
}

/// A learner to withdraw (or take off the waitlist).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults)]
pub struct Withdrawal {
    #[schemars(schema_with = "learner_key")]
    pub learner: String,
    #[serde(default)]
    #[schemars(schema_with = "reason_code")]
    pub reason_code: Option<String>,
    /// Free text, at most 1000 characters.
    #[serde(default)]
    #[schemars(schema_with = "reason")]
    pub reason: Option<String>,
}

/// Free text of at most 1000 characters.
fn reason(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "maxLength": 1000, "pattern": TEXT, "description": "Free text."})
}

/// A new capacity.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityChange {
    #[serde(deserialize_with = "whole")]
    #[schemars(schema_with = "seats")]
    pub capacity: u64,
}

/// A backup to make: give exactly one of `name` and `out`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1), transform = no_null_defaults)]
pub struct BackupRequest {
    /// The backup's file name in the backup folder.
    #[serde(default)]
    #[schemars(
        schema_with = "backup_name",
        description = "The backup's file name in the server's backup folder (`--backup-dir`); not a path. It must not exist, nor `<name>.manifest.json`. Give `name` or `out`."
    )]
    pub name: Option<String>,
    /// The same as `name`, for old clients.
    #[serde(default)]
    #[schemars(
        schema_with = "backup_name",
        description = "The same as `name` (the field's first name, kept for old clients). Once an absolute path on the server; now a bare file name in the backup folder."
    )]
    pub out: Option<String>,
}

/// `enrolled` or `waitlisted`.
fn enroll_outcome(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["enrolled", "waitlisted"]})
}

/// `withdrawn` or `left_waitlist`.
fn withdraw_outcome(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["withdrawn", "left_waitlist"]})
}

/// A cohort was created.
#[derive(Serialize, JsonSchema)]
pub struct Created {
    pub id: Uuid,
    pub position: u64,
    pub version: u64,
}

/// Whether an enrollment took a seat or joined the waitlist.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollOutcome {
    Enrolled,
    Waitlisted,
}

/// A learner was enrolled or waitlisted.
#[derive(Serialize, JsonSchema)]
pub struct Enrolled {
    #[schemars(schema_with = "enroll_outcome")]
    pub outcome: EnrollOutcome,
    pub position: u64,
    pub version: u64,
}

/// Whether a withdrawal freed a seat or a waitlist place.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawOutcome {
    Withdrawn,
    LeftWaitlist,
}

/// A learner was withdrawn or left the waitlist.
#[derive(Serialize, JsonSchema)]
pub struct Withdrawn {
    #[schemars(schema_with = "withdraw_outcome")]
    pub outcome: WithdrawOutcome,
    pub position: u64,
    /// The learner promoted into the freed seat, if any.
    #[schemars(schema_with = "nullable::<String>", required)]
    pub promoted: Option<String>,
    pub version: u64,
}

// ---- transfers (`POST /api/v1/transfers`) ----

/// A learner to move from one cohort to another, in one append across both.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults)]
pub struct TransferRequest {
    #[schemars(schema_with = "learner_key")]
    pub learner: String,
    /// The cohort the learner leaves (enrolled, waitlisted or holding an offer there).
    pub from: Uuid,
    /// The cohort the learner joins.
    pub to: Uuid,
    /// When `to` has no free seat: join its waitlist (`true`), or refuse the transfer
    /// (`false`, the default: 422 `no_seat_free`, nothing changes).
    #[serde(default)]
    pub allow_waitlist: Option<bool>,
    /// Free text, at most 1000 characters.
    #[serde(default)]
    #[schemars(schema_with = "reason")]
    pub reason: Option<String>,
    /// Refuse with 409 `version_conflict` unless `from` is at this version (`If-Match` names
    /// one cohort; a transfer has two).
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schemars(schema_with = "version")]
    pub expected_from_version: Option<u64>,
    /// Refuse with 409 `version_conflict` unless `to` is at this version.
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schemars(schema_with = "version")]
    pub expected_to_version: Option<u64>,
}

/// A stream version a request expects.
fn version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "minimum": 0, "maximum": (1_u64 << 53) - 1})
}

/// [`whole`], for an optional field.
fn whole_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    whole(deserializer).map(Some)
}

/// Where a transferred learner landed in the cohort joined.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    Enrolled,
    Waitlisted,
}

fn transfer_outcome(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["enrolled", "waitlisted"]})
}

/// A learner was moved: where they landed in `to`, who the seat freed in `from` went to, and
/// both cohorts' versions after the one append.
#[derive(Serialize, JsonSchema)]
pub struct Transferred {
    /// The version of the cohort left, after the transfer.
    pub from_version: u64,
    /// The learner offered the seat freed in the cohort left, if any.
    #[schemars(schema_with = "nullable::<String>", required)]
    pub offered: Option<String>,
    #[schemars(schema_with = "transfer_outcome")]
    pub outcome: TransferOutcome,
    /// The position of the transfer's last event.
    pub position: u64,
    /// The learner promoted into the seat freed in the cohort left, if any.
    #[schemars(schema_with = "nullable::<String>", required)]
    pub promoted: Option<String>,
    /// The version of the cohort joined, after the transfer.
    pub to_version: u64,
}

/// The waitlist head was promoted.
#[derive(Serialize, JsonSchema)]
#[allow(
    clippy::struct_field_names,
    reason = "`promoted` is the field's name on the wire"
)]
pub struct Promoted {
    pub position: u64,
    #[schemars(schema_with = "nullable::<String>", required)]
    pub promoted: Option<String>,
    pub version: u64,
}

/// The capacity changed.
#[derive(Serialize, JsonSchema)]
pub struct CapacityChanged {
    pub position: u64,
    /// Learners promoted into new seats.
    pub promoted: Vec<String>,
    pub version: u64,
}

/// Enrollment was closed.
#[derive(Serialize, JsonSchema)]
pub struct Closed {
    pub position: u64,
    pub version: u64,
}

/// A cohort as lists show it.
#[derive(Serialize, JsonSchema)]
pub struct CohortSummary {
    pub capacity: u32,
    pub course: String,
    pub enrolled_count: u32,
    pub id: Uuid,
    pub instructor: String,
    pub name: String,
    /// Where the cohort stands now: its status read with its dates.
    #[schemars(schema_with = "phase")]
    pub phase: &'static str,
    pub seats_remaining: u32,
    #[schemars(schema_with = "status")]
    pub status: &'static str,
    pub version: u64,
    pub waitlist_count: usize,
}

/// A page of cohorts and the total matching.
#[derive(Serialize, JsonSchema)]
pub struct CohortList {
    pub cohorts: Vec<CohortSummary>,
    pub total: usize,
}

/// A learner on a roster or waitlist.
#[derive(Serialize, JsonSchema)]
pub struct Person {
    /// The learner's key, or opaque id once erased.
    pub learner: String,
    /// Empty when not on file.
    pub name: String,
    #[schemars(schema_with = "time_or_null", required)]
    pub since: Option<Timestamp>,
}

/// A cohort with its roster and waitlist.
#[derive(Serialize, JsonSchema)]
pub struct CohortDetail {
    pub capacity: u32,
    pub course: String,
    pub enrolled: Vec<Person>,
    pub enrolled_count: u32,
    #[schemars(schema_with = "time")]
    pub enrollment_deadline: Timestamp,
    /// When the last session ends, or `null` when not known.
    #[schemars(schema_with = "time_or_null", required)]
    pub ends_at: Option<Timestamp>,
    /// Where the cohort stands now: its status (as shown) read with its dates and today's.
    #[schemars(schema_with = "phase")]
    pub phase: &'static str,
    pub id: Uuid,
    pub instructor: String,
    pub name: String,
    /// The hold of an offer policy (`48h`), else `null`.
    #[schemars(schema_with = "nullable::<String>", required)]
    pub offer_hold: Option<String>,
    /// Seats offered and held, in the order made.
    pub offers: Vec<OfferRow>,
    pub position: u64,
    #[schemars(schema_with = "promotion_answer")]
    pub promotion: &'static str,
    /// Free seats: a seat held by an offer counts as taken.
    pub seats_remaining: u32,
    #[schemars(schema_with = "time")]
    pub starts_at: Timestamp,
    #[schemars(schema_with = "status")]
    pub status: &'static str,
    pub version: u64,
    pub waitlist: Vec<Person>,
    #[schemars(schema_with = "nullable_cap", required)]
    pub waitlist_cap: Option<u32>,
    pub waitlist_count: usize,
    #[schemars(schema_with = "time")]
    pub withdrawal_deadline: Timestamp,
}

/// A waitlist cap, or `null` for none.
fn nullable_cap(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": ["integer", "null"], "minimum": 0})
}

/// A count or position: a whole number.
fn count(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "minimum": 0})
}

/// A number of any kind.
fn number(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "number"})
}

/// A UUID.
fn uuid(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "uuid"})
}

/// `T`'s schema written inline, or `null` (always present, as the old answers had it).
fn nullable<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = T::json_schema(generator);
    if let Some(object) = schema.as_object_mut() {
        let kind = object
            .get("type")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        object.insert("type".into(), serde_json::json!([kind, "null"]));
    }
    schema
}

/// An event's type name.
fn event_type(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": crate::domain::Event::TYPE_NAMES})
}

/// An event's own fields.
fn event_data(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "object", "description": "Always in the current schema; its fields depend on `type` (see API.md)."})
}

/// An event as the API shows it: learner keys, not internal ids.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Event")]
pub struct EventBody {
    pub actor: String,
    #[schemars(schema_with = "uuid")]
    pub actor_id: Uuid,
    #[schemars(schema_with = "uuid")]
    pub causation_id: Uuid,
    #[schemars(schema_with = "uuid")]
    pub cohort: Uuid,
    #[schemars(schema_with = "uuid")]
    pub command_id: Uuid,
    #[schemars(schema_with = "uuid")]
    pub correlation_id: Uuid,
    #[schemars(schema_with = "event_data")]
    pub data: serde_json::Value,
    #[schemars(schema_with = "time")]
    pub occurred_at: Timestamp,
    #[schemars(schema_with = "count")]
    pub position: u64,
    #[schemars(schema_with = "time")]
    pub recorded_at: Timestamp,
    #[schemars(schema_with = "count")]
    pub schema_version: u16,
    #[serde(rename = "type")]
    #[schemars(schema_with = "event_type")]
    pub kind: &'static str,
    #[schemars(schema_with = "count")]
    pub version: u64,
}

/// A cohort's stream.
#[derive(Serialize, JsonSchema)]
pub struct EventList {
    pub events: Vec<EventBody>,
}

/// A page of the global feed.
#[derive(Serialize, JsonSchema)]
pub struct Feed {
    pub events: Vec<EventBody>,
    #[schemars(schema_with = "count")]
    pub head: u64,
    #[schemars(schema_with = "count")]
    pub next_after: u64,
}

/// A learner's events.
#[derive(Serialize, JsonSchema)]
pub struct Timeline {
    pub events: Vec<EventBody>,
    pub learner: String,
    pub name: String,
}

/// One projection's position.
#[derive(Serialize, JsonSchema)]
#[schemars(inline)]
pub struct ProjectionRow {
    #[schemars(schema_with = "count")]
    pub lag: u64,
    pub name: &'static str,
    #[schemars(schema_with = "count")]
    pub position: u64,
}

/// The last rebuild of the read side.
#[derive(Serialize, JsonSchema)]
pub struct LastRebuild {
    #[schemars(schema_with = "count")]
    pub events: u64,
    #[schemars(schema_with = "number")]
    pub events_per_second: f64,
    #[schemars(schema_with = "time")]
    pub finished_at: Timestamp,
    #[schemars(schema_with = "number")]
    pub seconds: f64,
}

/// How far a job under way has come.
#[derive(Serialize, JsonSchema)]
pub struct JobProgress {
    #[schemars(schema_with = "count")]
    pub done: u64,
    #[schemars(schema_with = "count")]
    pub total: u64,
}

/// The last shadow check.
#[derive(Serialize, JsonSchema)]
pub struct LastCheck {
    #[schemars(schema_with = "time")]
    pub at: Timestamp,
    pub differences: Vec<String>,
    #[schemars(schema_with = "count")]
    pub position: u64,
}

/// The read side's status.
#[derive(Serialize, JsonSchema)]
pub struct ProjectionStatus {
    #[schemars(schema_with = "nullable::<JobProgress>", required)]
    pub checking: Option<JobProgress>,
    #[schemars(schema_with = "count")]
    pub events_applied: u64,
    #[schemars(schema_with = "count")]
    pub head: u64,
    #[schemars(schema_with = "nullable::<LastCheck>", required)]
    pub last_check: Option<LastCheck>,
    #[schemars(schema_with = "nullable::<String>", required)]
    pub last_error: Option<String>,
    #[schemars(schema_with = "nullable::<LastRebuild>", required)]
    pub last_rebuild: Option<LastRebuild>,
    pub projections: Vec<ProjectionRow>,
    #[schemars(schema_with = "nullable::<JobProgress>", required)]
    pub rebuilding: Option<JobProgress>,
}

/// What `GET /healthz` answers.
#[derive(Serialize, JsonSchema)]
pub struct Health {
    #[schemars(schema_with = "count")]
    pub position: u64,
    /// Each projection's applied position, by name.
    pub projections: BTreeMap<&'static str, u64>,
    #[schemars(schema_with = "health_status")]
    pub status: HealthStatus,
}

/// Whether the server takes commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// The writer runs.
    Ok,
    /// The writer no longer takes commands.
    WriterStopped,
    /// A commit failed on storage: no more commands until a restart.
    StorageFailed,
}

/// `ok`, `writer_stopped` or `storage_failed`.
fn health_status(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["ok", "writer_stopped", "storage_failed"]})
}

/// A backup's manifest, as the API answers it.
#[derive(Serialize, JsonSchema)]
pub struct BackupManifest {
    pub chain_head: String,
    #[schemars(schema_with = "time")]
    pub created_at: Timestamp,
    pub file: std::path::PathBuf,
    #[schemars(schema_with = "count")]
    pub position: u64,
    pub rollbook_version: String,
    pub sha256: String,
    pub verified: bool,
}

impl From<crate::backup::Manifest> for BackupManifest {
    fn from(m: crate::backup::Manifest) -> Self {
        Self {
            chain_head: m.chain_head,
            created_at: m.created_at,
            file: m.file,
            position: m.position,
            rollbook_version: m.rollbook_version,
            sha256: m.sha256,
            verified: m.verified,
        }
    }
}

// ---- issue 15: reopen, reschedule, details, cancel, policy ----

/// Free text of at most 1000 characters with at least one that is not white space.
const REQUIRED_TEXT: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*[^\s\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$";

/// A required reason: free text, not blank, at most 1000 characters.
fn required_reason(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string", "minLength": 1, "maxLength": 1000, "pattern": REQUIRED_TEXT,
        "description": "Why, in free text (not blank).",
    })
}

/// An optional RFC 3339 instant.
fn optional_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time"})
}

/// An optional required line: when given, not blank.
fn optional_line(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": REQUIRED_LINE})
}

/// `automatic` or `offer`.
fn promotion(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string", "enum": ["automatic", "offer"],
        "description": "`automatic`: a freed seat goes to the waitlist head at once; `offer`: it \
                        is offered to the head and held for `offer_hold`.",
    })
}

/// A hold period as the schema states it (the server also reads combined forms such as `1h30m`).
fn offer_hold(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": "^(?:[1-9][0-9]{0,6}s|[1-9][0-9]{0,4}m|[1-9][0-9]{0,2}h|[1-7][0-9]{3}h)$",
        "description": "How long an offer is held: a duration such as `48h`, `90m` or `30s`, \
                        at least 1 s and at most 365 days. Required with `promotion: \"offer\"`, \
                        refused otherwise.",
    })
}

/// A waitlist cap, or `null` for none.
fn waitlist_cap(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["integer", "null"], "minimum": 0, "maximum": u32::MAX,
        "description": "The most learners that may wait (0: nobody waits); `null` or absent: no \
                        limit.",
    })
}

/// A cap: a whole number (`5` or `5.0`) that fits in 32 bits, or `null`.
fn whole_cap<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole")] u64);
    Option::<Whole>::deserialize(deserializer)?
        .map(|Whole(n)| {
            u32::try_from(n).map_err(|_| {
                serde::de::Error::custom(format!(
                    "invalid value: {n}, expected at most {}",
                    u32::MAX
                ))
            })
        })
        .transpose()
}

/// `offer_hold` is required when `promotion` is `offer`, and refused otherwise.
fn hold_with_offer(schema: &mut Schema) {
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "if".into(),
            serde_json::json!({"properties": {"promotion": {"const": "offer"}}, "required": ["promotion"]}),
        );
        object.insert(
            "then".into(),
            serde_json::json!({"required": ["offer_hold"]}),
        );
        object.insert(
            "else".into(),
            serde_json::json!({"not": {"required": ["offer_hold"]}}),
        );
    }
}

/// Reopen enrollment.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults)]
pub struct Reopen {
    #[schemars(schema_with = "required_reason")]
    pub reason: String,
    /// A new enrollment deadline; it must lie ahead. Without it, the current one must.
    #[serde(default)]
    #[schemars(schema_with = "optional_time")]
    pub enrollment_deadline: Option<String>,
}

/// Move the start and/or either deadline; a field left out keeps its value.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults)]
pub struct Schedule {
    #[serde(default)]
    #[schemars(schema_with = "optional_time")]
    pub starts_at: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "optional_time")]
    pub enrollment_deadline: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "optional_time")]
    pub withdrawal_deadline: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "optional_time")]
    pub ends_at: Option<String>,
}

/// Change the name, course or instructor; a field left out keeps its value.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults)]
pub struct Details {
    #[serde(default)]
    #[schemars(schema_with = "optional_line")]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "optional_line")]
    pub course: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "optional_line")]
    pub instructor: Option<String>,
}

/// Cancel the cohort.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    #[schemars(schema_with = "required_reason")]
    pub reason: String,
}

/// The cohort's whole policy: a cap left out means no cap.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults, transform = hold_with_offer)]
pub struct Policy {
    #[schemars(schema_with = "promotion")]
    pub promotion: String,
    #[serde(default)]
    #[schemars(schema_with = "offer_hold")]
    pub offer_hold: Option<String>,
    #[serde(default, deserialize_with = "whole_cap")]
    #[schemars(schema_with = "waitlist_cap")]
    pub waitlist_cap: Option<u32>,
}

/// Enrollment was reopened.
#[derive(Serialize, JsonSchema)]
pub struct Reopened {
    /// Learners offered a freed seat in the same append (offer policy).
    pub offered: Vec<String>,
    pub position: u64,
    /// Learners promoted into free seats in the same append.
    pub promoted: Vec<String>,
    pub version: u64,
}

/// The schedule was changed.
#[derive(Serialize, JsonSchema)]
pub struct Rescheduled {
    pub position: u64,
    pub version: u64,
}

/// The details were changed.
#[derive(Serialize, JsonSchema)]
pub struct DetailsChanged {
    pub position: u64,
    pub version: u64,
}

/// The cohort was cancelled.
#[derive(Serialize, JsonSchema)]
pub struct Cancelled {
    pub position: u64,
    /// Every learner it held, released: enrolled first, then offers, then the waitlist.
    pub released: Vec<String>,
    pub version: u64,
}

/// The policy was set.
#[derive(Serialize, JsonSchema)]
pub struct PolicySet {
    pub position: u64,
    pub version: u64,
}

/// A seat offered and held for a learner.
#[derive(Serialize, JsonSchema)]
pub struct OfferRow {
    #[schemars(schema_with = "time")]
    pub expires_at: Timestamp,
    /// The learner's key, or opaque id once erased.
    pub learner: String,
    /// Empty when not on file.
    pub name: String,
    #[schemars(schema_with = "time")]
    pub offered_at: Timestamp,
}

/// `automatic` or `offer`.
fn promotion_answer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["automatic", "offer"]})
}

// ---- issue 17: webhook subscriptions ----

/// A position a request may name (`0` … 2^53 − 1).
fn webhook_position(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "minimum": 0, "maximum": (1_u64 << 53) - 1})
}

/// `POST /api/v1/admin/webhooks`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults)]
pub struct NewWebhookBody {
    /// A name for people.
    #[schemars(
        length(min = 1, max = 100),
        description = "A name for people (1 to 100 characters)."
    )]
    pub name: String,
    /// The target URL.
    #[schemars(
        length(min = 1, max = 2000),
        description = "Where events are posted: an absolute http or https URL."
    )]
    pub url: String,
    /// Only these event types (all when absent or empty).
    #[serde(default)]
    #[schemars(
        length(max = 100),
        description = "Deliver only these event types (all when absent or empty)."
    )]
    pub event_types: Vec<String>,
    /// Only these cohorts (all when absent or empty).
    #[serde(default)]
    #[schemars(
        length(max = 100),
        description = "Deliver only events of these cohorts (all when absent or empty)."
    )]
    pub cohorts: Vec<Uuid>,
    /// Where to start; the head when absent.
    #[serde(default, deserialize_with = "whole_or_null")]
    #[schemars(
        schema_with = "webhook_position",
        description = "Deliver the events after this position; the newest event's position (the head) when absent."
    )]
    pub from_position: Option<u64>,
}

/// A created subscription: the secret is shown only here.
#[derive(Serialize, JsonSchema)]
pub struct WebhookCreated {
    #[schemars(schema_with = "uuid")]
    pub id: Uuid,
    /// The position it starts after.
    #[schemars(schema_with = "count")]
    pub position: u64,
    /// `whsec_` and the base64 of the signing key.
    pub secret: String,
}

/// `active` or `paused`.
fn webhook_status(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["active", "paused"]})
}

/// One subscription (never its secret).
#[derive(Serialize, JsonSchema)]
pub struct WebhookItem {
    pub cohorts: Vec<Uuid>,
    pub event_types: Vec<String>,
    #[schemars(schema_with = "uuid")]
    pub id: Uuid,
    /// The last delivery failure (cleared by a success).
    pub last_error: Option<String>,
    /// Events committed after its position.
    #[schemars(schema_with = "count")]
    pub lag: u64,
    pub name: String,
    /// The last event delivered (or skipped by its filters).
    #[schemars(schema_with = "count")]
    pub position: u64,
    #[schemars(schema_with = "webhook_status")]
    pub status: &'static str,
    pub url: String,
}

/// `GET /api/v1/admin/webhooks`.
#[derive(Serialize, JsonSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookItem>,
}

/// `POST /api/v1/admin/webhooks/{id}/position`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPosition {
    /// Deliver the events after this position (0 replays everything).
    #[serde(deserialize_with = "whole")]
    #[schemars(
        schema_with = "webhook_position",
        description = "Deliver the events after this position: 0 replays everything, the head skips to now."
    )]
    pub position: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backup answer is the manifest exactly as `json!(manifest)` wrote it (keys sorted); the
    /// page recorder does not make backups, so this holds it byte for byte.
    #[test]
    fn a_backup_manifest_answers_as_the_json_map_did() {
        let manifest = crate::backup::Manifest {
            file: "/backups/b1".into(),
            created_at: "2026-03-01T10:00:00Z".parse().unwrap(),
            position: 42,
            chain_head: "ab".repeat(32),
            sha256: "cd".repeat(32),
            rollbook_version: "0.2.0".into(),
            verified: true,
        };
        let before = serde_json::to_string(&serde_json::json!(manifest)).unwrap();
        let after = serde_json::to_string(&BackupManifest::from(manifest)).unwrap();
        assert_eq!(after, before);
    }

    /// `/healthz` answers as its `json!` map did (keys sorted), in each status: the page
    /// recorder only sees `ok`.
    #[test]
    fn health_answers_as_the_json_map_did() {
        let positions = [("history", 7), ("catalog", 9), ("event index", 0)];
        for (status, name) in [
            (HealthStatus::Ok, "ok"),
            (HealthStatus::WriterStopped, "writer_stopped"),
            (HealthStatus::StorageFailed, "storage_failed"),
        ] {
            let before = serde_json::json!({
                "status": name,
                "position": 9,
                "projections": positions
                    .iter()
                    .map(|(model, position)| ((*model).to_owned(), serde_json::json!(position)))
                    .collect::<serde_json::Map<_, _>>(),
            });
            let after = Health {
                position: 9,
                projections: positions.into_iter().collect(),
                status,
            };
            assert_eq!(
                serde_json::to_string(&after).unwrap(),
                serde_json::to_string(&before).unwrap()
            );
        }
    }

    /// Schemathesis' case: `2775.0` is an integer in JSON Schema, so a schema-valid capacity.
    #[test]
    fn a_capacity_with_a_zero_fraction_is_a_whole_number() {
        let body: CapacityChange = serde_json::from_str(r#"{"capacity": 2775.0}"#).unwrap();
        assert_eq!(body.capacity, 2775);
        for bad in ["2775.5", "-3", "1e300", r#""3""#] {
            let json = format!(r#"{{"capacity": {bad}}}"#);
            assert!(
                serde_json::from_str::<CapacityChange>(&json).is_err(),
                "{bad}"
            );
        }
    }
}

// ---- waitlist offers (issue 15): the answers to an offer ----

/// A decline's body.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = no_null_defaults)]
pub struct OfferDecline {
    /// Why, in the learner's or staff's words.
    #[serde(default)]
    #[schemars(schema_with = "reason")]
    pub reason: Option<String>,
}

/// What answering an offer did.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferOutcome {
    Enrolled,
    Declined,
}

/// An offer was accepted or declined.
#[derive(Serialize, JsonSchema)]
pub struct OfferAnswered {
    #[schemars(schema_with = "offer_outcome")]
    pub outcome: OfferOutcome,
    /// The learner offered the seat in the same append (the next in line, after a decline).
    #[schemars(schema_with = "nullable::<String>", required)]
    pub offered: Option<String>,
    pub position: u64,
    pub version: u64,
}

fn offer_outcome(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["enrolled", "declined"]})
}
