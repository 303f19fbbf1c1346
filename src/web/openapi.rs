//! The `OpenAPI` 3.1 description of the JSON API under `/api/v1`, built from the route table
//! ([`super::routes::ROUTES`]): each API route's method, path and role come from its entry, and
//! its [`Operation`] (one function here per operation) says what it takes and answers. It is
//! built once, served at `GET /api/v1/openapi.json`, and rendered by the API page. The tests
//! here check it against the table, and `tests/it/openapi.rs` calls every operation on a running
//! server and checks the answers against it.
//!
//! Built from code rather than kept as a static JSON file so that the roles cannot drift from
//! the table. Every request and answer body is a serde type whose schema is derived
//! (`web::api::bodies`, and `web::error::ErrorBody` for errors); written here are only the
//! parameters, the command headers and this document's own shape.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};

use super::api::bodies::{
    BackupManifest, BackupRequest, CapacityChange, CapacityChanged, Closed, CohortDetail,
    CohortList, Created, Enrolled, Enrollment, EventList, Feed, LEARNER_KEY, NewCohort,
    ProjectionStatus, Promoted, Timeline, Withdrawal, Withdrawn,
};
use super::api::bodies::{
    Cancel, Cancelled, Details, DetailsChanged, Policy, PolicySet, Reopen, Reopened, Rescheduled,
    Schedule,
};
use super::api::bodies::{
    NewWebhookBody, WebhookCreated, WebhookItem, WebhookList, WebhookPosition,
};
use super::api::bodies::{OfferAnswered, OfferDecline};
use super::api::bodies::{TransferRequest, Transferred};
use super::api::bulk::BulkAnswer;
use super::api::dry_run::DryRunFields;
use super::error::ErrorBody;
use super::route::{Access, Operation, Route, Shape};

/// Errors of every authenticated operation.
const AUTH: &[(u16, &str)] = &[(401, "unauthorized"), (403, "forbidden")];
/// Errors of reading a JSON body.
const BODY: &[(u16, &str)] = &[
    (400, "malformed_json"),
    (400, "invalid_field"),
    (413, "payload_too_large"),
    (415, "unsupported_media_type"),
];
/// Errors of a `{id}` path segment.
const COHORT_PATH: &[(u16, &str)] = &[(400, "invalid_path"), (404, "cohort_not_found")];
/// Errors of handing a command to the writer (bad headers are `invalid_field`).
const COMMAND: &[(u16, &str)] = &[
    (400, "invalid_field"),
    (422, "idempotency_key_reused"),
    (500, "internal"),
    (503, "shutting_down"),
    (503, "storage_unavailable"),
];
/// Errors of a cohort command (one on an existing stream).
const COHORT_COMMAND: &[(u16, &str)] = &[(409, "version_conflict")];
/// A failed read of the store.
const INTERNAL: &[(u16, &str)] = &[(500, "internal")];
/// Errors of `dry_run` and `as_of`, which every command takes.
const DRY_RUN: &[(u16, &str)] = &[
    (400, "invalid_parameter"),
    (422, "as_of_needs_dry_run"),
    (422, "as_of_out_of_range"),
];

fn errors(groups: &[&[(u16, &'static str)]]) -> Vec<(u16, &'static str)> {
    let mut all: Vec<(u16, &'static str)> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

fn rules(codes: &[&'static str]) -> Vec<(u16, &'static str)> {
    codes.iter().map(|c| (422, *c)).collect()
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    let mut param =
        json!({"name": name, "in": "path", "required": true, "description": description});
    param["schema"] = schema;
    param
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    let mut param =
        json!({"name": name, "in": "query", "required": false, "description": description});
    param["schema"] = schema;
    param
}

fn cohort_id() -> Value {
    path_param(
        "id",
        "The cohort's id.",
        json!({"type": "string", "format": "uuid"}),
    )
}

/// The largest whole number a query parameter takes (2^53 - 1: exact in every JSON reader).
const MAX_WHOLE: u64 = (1 << 53) - 1;

/// A whole-number query parameter: `name`, what it means, its default.
fn whole(name: &str, description: &str, default: u64) -> Value {
    query_param(
        name,
        description,
        json!({"type": "integer", "minimum": 0, "maximum": MAX_WHOLE, "default": default}),
    )
}

/// The feeds' repeatable `type` filter.
fn event_types() -> Value {
    let mut param = query_param(
        "type",
        "Only events of this type; repeat for several (any of them).",
        json!({
            "type": "array",
            "maxItems": super::api::feed::MAX_FILTER_VALUES,
            "items": {"type": "string", "enum": crate::domain::Event::TYPE_NAMES},
        }),
    );
    param["style"] = json!("form");
    param["explode"] = json!(true);
    param
}

/// The feeds' repeatable `cohort` filter.
fn cohorts() -> Value {
    let mut param = query_param(
        "cohort",
        "Only events of this cohort (its id); repeat for several (any of them).",
        json!({
            "type": "array",
            "maxItems": super::api::feed::MAX_FILTER_VALUES,
            "items": {"type": "string", "format": "uuid"},
        }),
    );
    param["style"] = json!("form");
    param["explode"] = json!(true);
    param
}

// ---- the operations, one per `/api/v1` route of the table ----

/// `POST /api/v1/cohorts`.
pub(super) fn create_cohort() -> Operation {
    Operation {
        id: "createCohort",
        summary: "Create a cohort",
        description: "Creates an open cohort with a new id.",
        command: true,
        if_match: false,
        parameters: vec![],
        body: Some(Shape::Typed(typed::<NewCohort>)),
        success: (
            201,
            Shape::Typed(typed::<Created>),
            "The cohort was created.",
        ),
        errors: errors(&[AUTH, BODY, COMMAND, &rules(&["invalid_schedule"])]),
    }
}

/// `GET /api/v1/cohorts`.
pub(super) fn list_cohorts() -> Operation {
    let max = super::api::MAX_LIMIT;
    Operation {
        id: "listCohorts",
        summary: "List cohorts",
        description: "Newest first, one page at a time.",
        command: false,
        if_match: false,
        parameters: vec![
            query_param(
                "instructor",
                "Only this instructor's cohorts (case-insensitive).",
                json!({"type": "string"}),
            ),
            query_param(
                "status",
                "Only open, only closed or only cancelled cohorts.",
                json!({"type": "string", "enum": ["open", "closed", "cancelled"]}),
            ),
            whole(
                "limit",
                &format!("Most cohorts to return; more than {max} count as {max}."),
                50,
            ),
            whole("offset", "Cohorts to skip.", 0),
        ],
        body: None,
        success: (
            200,
            Shape::Typed(typed::<CohortList>),
            "A page of cohorts and the total matching.",
        ),
        errors: errors(&[AUTH, &[(400, "invalid_parameter")]]),
    }
}

/// `GET /api/v1/cohorts/{id}`.
pub(super) fn get_cohort() -> Operation {
    Operation {
        id: "getCohort",
        summary: "Read a cohort",
        description: "The cohort now, or as it was at a past point with `as_of`.",
        command: false,
        if_match: false,
        parameters: vec![
            cohort_id(),
            query_param(
                "as_of",
                "A global position, or an RFC 3339 time: the cohort right after that event, or \
                 after every event that occurred at or before that time (404 if it did not \
                 exist yet).",
                json!({"type": "string", "anyOf": [
                    {"pattern": "^[0-9]{1,19}$"},
                    {"format": "date-time"},
                ]}),
            ),
        ],
        body: None,
        success: (
            200,
            Shape::Typed(typed::<CohortDetail>),
            "The cohort with its roster and waitlist.",
        ),
        errors: errors(&[AUTH, COHORT_PATH, &[(400, "invalid_parameter")], INTERNAL]),
    }
}

/// `GET /api/v1/cohorts/{id}/events`.
pub(super) fn cohort_events() -> Operation {
    Operation {
        id: "cohortEvents",
        summary: "A cohort's events",
        description: "Every event of the cohort's stream, oldest first.",
        command: false,
        if_match: false,
        parameters: vec![cohort_id()],
        body: None,
        success: (
            200,
            Shape::Typed(typed::<EventList>),
            "The cohort's stream.",
        ),
        errors: errors(&[AUTH, COHORT_PATH, INTERNAL]),
    }
}

/// `POST /api/v1/cohorts/{id}/enrollments`.
pub(super) fn enroll() -> Operation {
    Operation {
        id: "enroll",
        summary: "Enroll a learner",
        description: "Enrolls the learner into a free seat, or puts them on the waitlist.",
        command: true,
        if_match: true,
        parameters: vec![cohort_id()],
        body: Some(Shape::Typed(typed::<Enrollment>)),
        success: (
            200,
            Shape::Typed(typed::<Enrolled>),
            "The learner was enrolled or waitlisted.",
        ),
        errors: errors(&[
            AUTH,
            BODY,
            COHORT_PATH,
            COMMAND,
            COHORT_COMMAND,
            &rules(&[
                "enrollment_closed",
                "enrollment_deadline_passed",
                "already_enrolled",
                "already_waitlisted",
                CANCELLED,
                "waitlist_full",
            ]),
        ]),
    }
}

/// `POST /api/v1/cohorts/{id}/enrollments/bulk`.
pub(super) fn bulk_enroll() -> Operation {
    let mut parameters = vec![cohort_id()];
    parameters.push(json!({
        // Required: applying needs it (428 without); a dry run may leave it out, which the
        // document cannot say of one operation, so it states the stricter rule.
        "name": "If-Match", "in": "header", "required": true,
        "description": "Required to apply (without it: 428 precondition_required; a dry run may \
                        leave it out): the version the preview (`dry_run=true`) answered, e.g. \
                        \"3\" (quotes included). If the cohort moved since, 409 \
                        version_conflict and nothing is written.",
        "schema": {"type": "string", "pattern": "^\"[0-9]{1,19}\"$"},
    }));
    for name in ["X-Correlation-Id", "X-Causation-Id"] {
        parameters.push(json!({
            "name": name, "in": "header", "required": false,
            "description": "Recorded on the events (default: the command's own id).",
            "schema": {"type": "string", "format": "uuid"},
        }));
    }
    parameters.extend(dry_run_params());
    Operation {
        id: "bulk_enroll",
        summary: "Enroll learners from a CSV file",
        description: "A `text/csv` body: the header `learner,name`, then at most 5,000 rows \
                      (UTF-8; at most 2 MiB). With `dry_run=true`: every row with what it would \
                      do, decided in file order on the cohort now (or `as_of`), and the version \
                      that was decided at; nothing is written. Without: needs `If-Match` with \
                      that version, and appends every row the preview accepts, in file order, \
                      as one append; answers the same shape for what it did. Malformed rows \
                      (`invalid_learner`, `missing_name_column`, `extra_column`, \
                      `duplicate_learner`, `too_long`, `invalid_name`) and rows a rule refuses \
                      (its 422 code) are answered with their line and never written. Takes no \
                      `Idempotency-Key` (400 `idempotency_key_not_supported`): `If-Match` makes \
                      a retry safe.",
        command: false,
        if_match: false,
        parameters,
        body: Some(Shape::Csv),
        success: (
            200,
            Shape::Typed(typed::<BulkAnswer>),
            "Every row of the file: what it did, or would do with `dry_run=true`, or why not.",
        ),
        errors: errors(&[
            AUTH,
            COHORT_PATH,
            COMMAND,
            COHORT_COMMAND,
            DRY_RUN,
            &[
                (400, "idempotency_key_not_supported"),
                (400, "invalid_csv_header"),
                (400, "not_utf8"),
                (400, "unreadable_csv"),
                (413, "payload_too_large"),
                (413, "too_many_rows"),
                (415, "unsupported_media_type"),
                (428, "precondition_required"),
            ],
        ]),
    }
}

/// `POST /api/v1/cohorts/{id}/withdrawals`.
pub(super) fn withdraw() -> Operation {
    Operation {
        id: "withdraw",
        summary: "Withdraw a learner",
        description: "Withdraws an enrolled learner (promoting the waitlist head in the same \
                      append while enrollment is open), or takes a waitlisted one off the \
                      waitlist.",
        command: true,
        if_match: true,
        parameters: vec![cohort_id()],
        body: Some(Shape::Typed(typed::<Withdrawal>)),
        success: (
            200,
            Shape::Typed(typed::<Withdrawn>),
            "The learner was withdrawn or left the waitlist.",
        ),
        errors: errors(&[
            AUTH,
            BODY,
            COHORT_PATH,
            COMMAND,
            COHORT_COMMAND,
            &rules(&["not_enrolled", "withdrawal_deadline_passed", CANCELLED]),
        ]),
    }
}

/// `POST /api/v1/cohorts/{id}/promotions`.
pub(super) fn promote() -> Operation {
    Operation {
        id: "promote",
        summary: "Promote the waitlist head",
        description: "No body. Promotes the head of the waitlist into a free seat.",
        command: true,
        if_match: true,
        parameters: vec![cohort_id()],
        body: None,
        success: (
            200,
            Shape::Typed(typed::<Promoted>),
            "The waitlist head was promoted.",
        ),
        errors: errors(&[
            AUTH,
            COHORT_PATH,
            COMMAND,
            COHORT_COMMAND,
            &rules(&[
                "enrollment_closed",
                "waitlist_empty",
                "no_seat_free",
                CANCELLED,
            ]),
        ]),
    }
}

/// `POST /api/v1/cohorts/{id}/capacity`.
pub(super) fn change_capacity() -> Operation {
    Operation {
        id: "changeCapacity",
        summary: "Change the capacity",
        description: "Sets the number of seats; new free seats promote the waitlist while \
                      enrollment is open.",
        command: true,
        if_match: true,
        parameters: vec![cohort_id()],
        body: Some(Shape::Typed(typed::<CapacityChange>)),
        success: (
            200,
            Shape::Typed(typed::<CapacityChanged>),
            "The capacity was changed.",
        ),
        errors: errors(&[
            AUTH,
            BODY,
            COHORT_PATH,
            COMMAND,
            COHORT_COMMAND,
            &rules(&["capacity_unchanged", "capacity_below_enrolled", CANCELLED]),
        ]),
    }
}

/// `POST /api/v1/cohorts/{id}/close`.
pub(super) fn close_enrollment() -> Operation {
    Operation {
        id: "closeEnrollment",
        summary: "Close enrollment",
        description: "No body. Closes enrollment.",
        command: true,
        if_match: true,
        parameters: vec![cohort_id()],
        body: None,
        success: (200, Shape::Typed(typed::<Closed>), "Enrollment was closed."),
        errors: errors(&[
            AUTH,
            COHORT_PATH,
            COMMAND,
            COHORT_COMMAND,
            &rules(&["enrollment_closed", CANCELLED]),
        ]),
    }
}

/// `POST /api/v1/transfers`.
pub(super) fn transfer() -> Operation {
    Operation {
        id: "transfer",
        summary: "Move a learner to another cohort",
        description: "Moves a learner (enrolled, waitlisted, or holding an offer) from cohort \
                      `from` to cohort `to` in one append across both streams, both events \
                      sharing the command's correlation id: the seat freed in `from` is filled \
                      (promoted or offered) in the same append; the learner takes a free seat \
                      in `to`, or, when `to` is full, joins its waitlist only if \
                      `allow_waitlist` is true. A refusal changes neither cohort and names the \
                      one whose rule refused it in `error.cohort`. `If-Match` is not taken (a \
                      transfer has two versions): give `expected_from_version` and \
                      `expected_to_version` in the body. A dry run's `events` are those of \
                      `from`, then those of `to`.",
        command: true,
        if_match: false,
        parameters: vec![],
        body: Some(Shape::Typed(typed::<TransferRequest>)),
        success: (
            200,
            Shape::Typed(typed::<Transferred>),
            "The learner was moved.",
        ),
        errors: errors(&[
            AUTH,
            BODY,
            COMMAND,
            COHORT_COMMAND,
            &[(404, "cohort_not_found")],
            &rules(&[
                "same_cohort",
                "not_enrolled",
                "withdrawal_deadline_passed",
                "offer_expired",
                "cohort_cancelled",
                "enrollment_closed",
                "enrollment_deadline_passed",
                "already_enrolled",
                "already_waitlisted",
                "already_offered",
                "no_seat_free",
                "waitlist_full",
            ]),
        ]),
    }
}

/// `GET /api/v1/events`.
pub(super) fn events() -> Operation {
    let max = super::api::MAX_LIMIT;
    Operation {
        id: "events",
        summary: "The global event feed",
        description: "Events after a position, oldest first; pass `next_after` as `after` for \
                      the next page. Serves exactly what the read side has applied. `type` and \
                      `cohort` (each repeatable) keep only events of those types and cohorts; \
                      a filtered page that is not full has looked up to `head`, and its \
                      `next_after` is `head`.",
        command: false,
        if_match: false,
        parameters: vec![
            whole("after", "Events after this global position.", 0),
            whole(
                "limit",
                &format!("Most events to return; 0 counts as 1, more than {max} as {max}."),
                100,
            ),
            event_types(),
            cohorts(),
        ],
        body: None,
        success: (200, Shape::Typed(typed::<Feed>), "A page of the feed."),
        errors: errors(&[AUTH, &[(400, "invalid_parameter")], INTERNAL]),
    }
}

/// `GET /api/v1/events/stream`.
pub(super) fn event_stream() -> Operation {
    Operation {
        id: "eventStream",
        summary: "The live feed (Server-Sent Events)",
        description: "The global feed as Server-Sent Events: the events after `after` (or the \
                      `Last-Event-ID` header, which wins), then each event as it commits, \
                      filtered by `type` and `cohort` as the feed is. `id:` is the position, \
                      `event:` the type, `data:` the feed's JSON of the event; a `: keep-alive` \
                      comment follows 15 s without an event. A client that falls too far \
                      behind gets a last `event: error` (`slow_consumer`) and the stream ends; \
                      reconnect with `Last-Event-ID` to resume.",
        command: false,
        if_match: false,
        parameters: vec![
            whole("after", "Events after this global position.", 0),
            event_types(),
            cohorts(),
            json!({
                "name": "Last-Event-ID", "in": "header", "required": false,
                "description": "Resume after this position (the `id:` of the last event \
                                received); wins over `after`.",
                "schema": {"type": "string", "pattern": "^ *[0-9]{1,19} *$"},
            }),
        ],
        body: None,
        success: (
            200,
            Shape::EventStream,
            "The stream (it does not end on its own).",
        ),
        errors: errors(&[
            AUTH,
            &[
                (400, "invalid_parameter"),
                (503, "shutting_down"),
                (503, "too_many_streams"),
            ],
        ]),
    }
}

/// `GET /api/v1/projections`.
pub(super) fn projections() -> Operation {
    Operation {
        id: "projections",
        summary: "Projection status",
        description: "Each projection's applied position against the store head, the last \
                      rebuild and shadow check, and any job under way.",
        command: false,
        if_match: false,
        parameters: vec![],
        body: None,
        success: (
            200,
            Shape::Typed(typed::<ProjectionStatus>),
            "The read side's status.",
        ),
        errors: errors(&[AUTH, INTERNAL]),
    }
}

/// `POST /api/v1/admin/backups`.
pub(super) fn create_backup() -> Operation {
    Operation {
        id: "createBackup",
        summary: "Back up the database",
        description: "Writes a consistent copy of the live database to a new file of the \
                      given name in the server's backup folder (`--backup-dir`), verifies \
                      it, writes its manifest beside it, and answers the manifest. The \
                      server keeps serving meanwhile. Both files are created owner-only \
                      (0600) and exclusively: an existing file or a symbolic link at either \
                      name is refused, never overwritten or followed.",
        command: false,
        if_match: false,
        parameters: vec![],
        body: Some(Shape::Typed(typed::<BackupRequest>)),
        success: (
            201,
            Shape::Typed(typed::<BackupManifest>),
            "The backup was written and verified.",
        ),
        errors: errors(&[
            AUTH,
            BODY,
            &[
                (409, "exists"),
                (409, "backup_dir_not_configured"),
                (500, "backup_failed"),
                (500, "internal"),
            ],
        ]),
    }
}

/// The `{id}` of a webhook subscription.
fn webhook_path() -> Value {
    path_param(
        "id",
        "The subscription's id.",
        json!({"type": "string", "format": "uuid"}),
    )
}

/// Errors of a webhook `{id}` path segment.
const WEBHOOK_PATH: &[(u16, &str)] = &[(400, "invalid_path"), (404, "webhook_not_found")];

/// `POST /api/v1/admin/webhooks`.
pub(super) fn create_webhook() -> Operation {
    Operation {
        id: "createWebhook",
        summary: "Subscribe a URL to events",
        description: "Creates a webhook subscription: committed events after its position are \
                      posted to `url` one at a time, in position order, signed as Standard \
                      Webhooks says (`webhook-id`, `webhook-timestamp`, `webhook-signature`). \
                      The answer holds the signing secret, shown only here. The position starts \
                      at the head unless `from_position` is given. The URL's host may not be, or \
                      resolve to, a loopback, link-local, unspecified or metadata address unless \
                      the server runs with `--webhook-allow-private`.",
        command: false,
        if_match: false,
        parameters: vec![],
        body: Some(Shape::Typed(typed::<NewWebhookBody>)),
        success: (
            201,
            Shape::Typed(typed::<WebhookCreated>),
            "The subscription, with its secret.",
        ),
        errors: errors(&[
            AUTH,
            BODY,
            INTERNAL,
            &[
                (409, "too_many_webhooks"),
                (422, "invalid_webhook"),
                (422, "invalid_url"),
                (422, "url_not_allowed"),
                (422, "url_unresolved"),
                (422, "position_out_of_range"),
            ],
        ]),
    }
}

/// `GET /api/v1/admin/webhooks`.
pub(super) fn list_webhooks() -> Operation {
    Operation {
        id: "listWebhooks",
        summary: "Webhook subscriptions",
        description: "Every subscription with its position, lag (events committed after its \
                      position), status and last error; never its secret.",
        command: false,
        if_match: false,
        parameters: vec![],
        body: None,
        success: (
            200,
            Shape::Typed(typed::<WebhookList>),
            "The subscriptions, oldest first.",
        ),
        errors: errors(&[AUTH]),
    }
}

fn webhook_change(
    id: &'static str,
    summary: &'static str,
    description: &'static str,
    body: Option<Shape>,
) -> Operation {
    let mut codes: Vec<&[(u16, &'static str)]> = vec![AUTH, WEBHOOK_PATH, INTERNAL];
    if body.is_some() {
        codes.push(BODY);
        codes.push(&[(422, "position_out_of_range")]);
    }
    Operation {
        id,
        summary,
        description,
        command: false,
        if_match: false,
        parameters: vec![webhook_path()],
        body,
        success: (
            200,
            Shape::Typed(typed::<WebhookItem>),
            "The subscription as it is now.",
        ),
        errors: errors(&codes),
    }
}

/// `POST /api/v1/admin/webhooks/{id}/pause`.
pub(super) fn pause_webhook() -> Operation {
    webhook_change(
        "pauseWebhook",
        "Pause a webhook subscription",
        "Nothing more is sent until it is resumed; its position is kept.",
        None,
    )
}

/// `POST /api/v1/admin/webhooks/{id}/resume`.
pub(super) fn resume_webhook() -> Operation {
    webhook_change(
        "resumeWebhook",
        "Resume a webhook subscription",
        "Delivery continues from the stored position, with a fresh allowance of failing time \
         (`--webhook-pause-after`).",
        None,
    )
}

/// `POST /api/v1/admin/webhooks/{id}/position`.
pub(super) fn move_webhook() -> Operation {
    webhook_change(
        "moveWebhook",
        "Move a webhook subscription's position",
        "Delivery continues after the given position: back to replay events, or the head to \
         skip to now.",
        Some(Shape::Typed(typed::<WebhookPosition>)),
    )
}

/// `DELETE /api/v1/admin/webhooks/{id}`.
pub(super) fn delete_webhook() -> Operation {
    webhook_change(
        "deleteWebhook",
        "Delete a webhook subscription",
        "Stops its deliveries and forgets it (and its secret); answers it as it was.",
        None,
    )
}

/// `GET /api/v1/learners/{learner}/timeline`.
pub(super) fn learner_timeline() -> Operation {
    Operation {
        id: "learnerTimeline",
        summary: "A learner's timeline",
        description: "Every event about the learner, across cohorts, oldest first.",
        command: false,
        if_match: false,
        parameters: vec![path_param(
            "learner",
            "The learner's key (URL-encoded) or opaque id.",
            json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": LEARNER_KEY}),
        )],
        body: None,
        success: (
            200,
            Shape::Typed(typed::<Timeline>),
            "The learner's events.",
        ),
        errors: errors(&[
            AUTH,
            &[(400, "invalid_path"), (404, "learner_not_found")],
            INTERNAL,
        ]),
    }
}

// ---- waitlist offers (issue 15) ----

fn offer_params() -> Vec<Value> {
    vec![
        cohort_id(),
        path_param(
            "learner",
            "The key of the learner holding the offer (URL-encoded).",
            json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": LEARNER_KEY}),
        ),
    ]
}

/// Refusals of answering an offer.
const OFFER_RULES: &[&str] = &["cohort_cancelled", "no_offer", "offer_expired"];

/// `POST /api/v1/cohorts/{id}/offers/{learner}/accept`.
pub(super) fn accept_offer() -> Operation {
    Operation {
        id: "acceptOffer",
        summary: "Accept a seat offered",
        description: "No body. The learner takes the seat held for them (`offer.accepted`). \
                      Refused with `no_offer` when they hold none, `offer_expired` when its \
                      hold ran out (overdue offers expire before any command).",
        command: true,
        if_match: true,
        parameters: offer_params(),
        body: None,
        success: (
            200,
            Shape::Typed(typed::<OfferAnswered>),
            "The learner is enrolled.",
        ),
        errors: errors(&[
            AUTH,
            COHORT_PATH,
            COMMAND,
            COHORT_COMMAND,
            &rules(OFFER_RULES),
        ]),
    }
}

/// `POST /api/v1/cohorts/{id}/offers/{learner}/decline`.
pub(super) fn decline_offer() -> Operation {
    Operation {
        id: "declineOffer",
        summary: "Decline a seat offered",
        description: "The learner turns the seat down (`offer.declined`, with the reason); the \
                      next in line is offered it in the same append (`offered`).",
        command: true,
        if_match: true,
        parameters: offer_params(),
        body: Some(Shape::Typed(typed::<OfferDecline>)),
        success: (
            200,
            Shape::Typed(typed::<OfferAnswered>),
            "The offer was declined.",
        ),
        errors: errors(&[
            AUTH,
            BODY,
            COHORT_PATH,
            COMMAND,
            COHORT_COMMAND,
            &rules(OFFER_RULES),
        ]),
    }
}

/// `GET /api/v1/openapi.json`.
pub(super) fn openapi() -> Operation {
    Operation {
        id: "openapi",
        summary: "This document",
        description: "The OpenAPI description of the API. Needs no token.",
        command: false,
        if_match: false,
        parameters: vec![],
        body: None,
        success: (200, Shape::Named("OpenApi"), "The OpenAPI document."),
        errors: vec![],
    }
}

// ---- running a term (issue 15): reopen, reschedule, details, cancel, policy ----

/// The refusal every command on an existing cohort may meet once it is cancelled.
const CANCELLED: &str = "cohort_cancelled";

/// A term command's operation: a body, an answer, and its rules' codes.
fn term_operation(
    id: &'static str,
    summary: &'static str,
    description: &'static str,
    body: Shape,
    success: (Shape, &'static str),
    codes: &[&'static str],
) -> Operation {
    Operation {
        id,
        summary,
        description,
        command: true,
        if_match: true,
        parameters: vec![cohort_id()],
        body: Some(body),
        success: (200, success.0, success.1),
        errors: errors(&[
            AUTH,
            BODY,
            COHORT_PATH,
            COMMAND,
            COHORT_COMMAND,
            &rules(codes),
        ]),
    }
}

/// `POST /api/v1/cohorts/{id}/reopen`.
pub(super) fn reopen() -> Operation {
    term_operation(
        "reopenEnrollment",
        "Reopen enrollment",
        "Reopens a closed cohort's enrollment, with a reason. The enrollment deadline must then \
         lie ahead: give a new one (it must be after now) or keep one that does. Free seats are \
         filled from the waitlist in the same append (promoted, or offered under the offer \
         policy).",
        Shape::Typed(typed::<Reopen>),
        (Shape::Typed(typed::<Reopened>), "Enrollment was reopened."),
        &[
            "not_closed",
            CANCELLED,
            "deadline_in_past",
            "invalid_schedule",
        ],
    )
}

/// `POST /api/v1/cohorts/{id}/schedule`.
pub(super) fn reschedule() -> Operation {
    term_operation(
        "reschedule",
        "Reschedule a cohort",
        "Moves the start and/or either deadline; a field left out keeps its value. A deadline \
         that changes must lie ahead, and the withdrawal deadline may not come before the \
         enrollment deadline.",
        Shape::Typed(typed::<Schedule>),
        (
            Shape::Typed(typed::<Rescheduled>),
            "The cohort was rescheduled.",
        ),
        &[
            "nothing_changed",
            CANCELLED,
            "deadline_in_past",
            "invalid_schedule",
        ],
    )
}

/// `POST /api/v1/cohorts/{id}/details`.
pub(super) fn change_details() -> Operation {
    term_operation(
        "changeDetails",
        "Edit a cohort's details",
        "Changes the name, course and/or instructor; a field left out keeps its value. The \
         instructor report follows the change from then on.",
        Shape::Typed(typed::<Details>),
        (
            Shape::Typed(typed::<DetailsChanged>),
            "The details were changed.",
        ),
        &["nothing_changed", CANCELLED],
    )
}

/// `POST /api/v1/cohorts/{id}/cancel`.
pub(super) fn cancel() -> Operation {
    term_operation(
        "cancelCohort",
        "Cancel a cohort",
        "Cancels the cohort, with a reason, releasing every learner it holds (enrolled, offered \
         and waiting) in the same append. Cannot be undone: the cohort accepts no command \
         afterwards.",
        Shape::Typed(typed::<Cancel>),
        (
            Shape::Typed(typed::<Cancelled>),
            "The cohort was cancelled.",
        ),
        &[CANCELLED],
    )
}

/// `POST /api/v1/cohorts/{id}/policy`.
pub(super) fn set_policy() -> Operation {
    term_operation(
        "setPolicy",
        "Set the promotion policy and waitlist cap",
        "Sets how freed seats are filled (`automatic`, or `offer` held for `offer_hold`) and the \
         waitlist cap (`null` or absent: none). Offers already made stay until answered or \
         expired; a cap below the current waitlist removes nobody.",
        Shape::Typed(typed::<Policy>),
        (Shape::Typed(typed::<PolicySet>), "The policy was set."),
        &["nothing_changed", CANCELLED],
    )
}

/// The role a route requires: `None` for a public route.
fn role_of(access: Access) -> Option<&'static str> {
    match access {
        Access::Public => None,
        Access::Role(role) => Some(role.as_str()),
        // Admins, or a configured scraper address (only `/metrics`, outside this API).
        Access::Scrape => Some("admin"),
    }
}

fn command_headers(if_match: bool) -> Vec<Value> {
    let mut headers = vec![json!({
        "name": "Idempotency-Key", "in": "header", "required": false,
        "description": "1 to 200 characters, the acting account's own (another account's same \
                        key is another key). A repeat with the same key and the same request \
                        returns the first response and writes nothing (a success or a rule's \
                        refusal alike); the same key with a different request is refused \
                        (422 idempotency_key_reused). Version conflicts and server errors are not \
                        remembered.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
    })];
    if if_match {
        headers.push(json!({
            "name": "If-Match", "in": "header", "required": false,
            "description": "Refuse with 409 version_conflict unless the cohort is at this version, \
                            e.g. \"3\" (quotes included).",
            "schema": {"type": "string", "pattern": "^\"[0-9]{1,19}\"$"},
        }));
    }
    for name in ["X-Correlation-Id", "X-Causation-Id"] {
        headers.push(json!({
            "name": name, "in": "header", "required": false,
            "description": "Recorded on the events (default: the command's own id).",
            "schema": {"type": "string", "format": "uuid"},
        }));
    }
    headers
}

/// `dry_run` and `as_of`, which every command takes.
fn dry_run_params() -> Vec<Value> {
    vec![
        query_param(
            "dry_run",
            "`true`: answer what the command would do (200, its usual fields and `dry_run`, \
             `decided_at`, `events`), or the refusal it would meet, and write nothing: no event, \
             no journal entry, no idempotency record (an `Idempotency-Key` is not recorded). \
             `version` and `position` are predictions: what the cohort and the log would reach \
             were the events appended now.",
            json!({"type": "boolean", "default": false}),
        ),
        query_param(
            "as_of",
            "Only with `dry_run=true` (else 422 `as_of_needs_dry_run`): run against the cohort as \
             it was then, at that time. A global position (the cohort right after that event, \
             decided at the time that event was; 422 `as_of_out_of_range` unless an event holds \
             it), or an RFC 3339 time (after every event that occurred by then, decided at that \
             time). 404 if the cohort did not exist yet.",
            json!({"type": "string", "anyOf": [
                {"pattern": "^[0-9]{1,19}$"},
                {"format": "date-time"},
            ]}),
        ),
    ]
}

/// The name of the schema of `answer`'s dry run: its fields and [`DryRunFields`]'.
fn dry_run_name(answer: &str) -> String {
    format!("{answer}DryRun")
}

/// A type's schema: a reference to its definition, which the generator keeps.
fn typed<T: JsonSchema>(generator: &mut SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<T>()
}

/// The schema of a body or answer.
fn shape(shape: Shape, generator: &mut SchemaGenerator) -> Value {
    match shape {
        Shape::Typed(schema) => schema(generator).to_value(),
        Shape::Named(name) => json!({"$ref": format!("#/components/schemas/{name}")}),
        Shape::Csv => json!({
            "type": "string",
            "description": "CSV (UTF-8): the header `learner,name`, then one learner per line.",
            "pattern": "^learner,name(\r?\n|$)",
            "maxLength": super::bulk::API_BODY_LIMIT,
        }),
        Shape::EventStream => json!({
            "type": "string",
            "description": "Server-Sent Events: per event `id:` (its position), `event:` (its \
                            type) and `data:` (the feed's JSON of it); `: keep-alive` comments; \
                            a last `event: error` with `{\"code\",\"message\"}` when the server \
                            ends the stream.",
        }),
    }
}

fn operation_json(route: &Route, op: &Operation, generator: &mut SchemaGenerator) -> Value {
    let role = role_of(route.access);
    let mut parameters = op.parameters.clone();
    if op.command {
        parameters.extend(command_headers(op.if_match));
        parameters.extend(dry_run_params());
    }
    let needs = role.map_or_else(
        || "Public: needs no token.".to_owned(),
        |r| format!("Needs the `{r}` role."),
    );
    let (status, success, description) = op.success;
    let mut responses = Map::new();
    let success = shape(success, generator);
    // A command's dry run answers 200: the usual answer's fields and the dry run's.
    let dry_run = success["$ref"]
        .as_str()
        .filter(|_| op.command)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .map(|name| json!({"$ref": format!("#/components/schemas/{}", dry_run_name(name))}));
    let success = match &dry_run {
        Some(dry_run) if status == 200 => json!({"anyOf": [success, dry_run]}),
        _ => success,
    };
    let media = if matches!(op.success.1, Shape::EventStream) {
        "text/event-stream"
    } else {
        "application/json"
    };
    responses.insert(
        status.to_string(),
        json!({
            "description": description,
            "content": {media: {"schema": success}},
        }),
    );
    if let (Some(dry_run), false) = (&dry_run, status == 200) {
        responses.insert(
            "200".to_owned(),
            json!({
                "description": "With `dry_run=true`: what the command would do; nothing was written.",
                "content": {"application/json": {"schema": dry_run}},
            }),
        );
    }
    let error = typed::<ErrorBody>(generator).to_value();
    let mut errors = op.errors.clone();
    if op.command {
        errors.extend_from_slice(DRY_RUN);
        errors.sort_unstable();
        errors.dedup();
    }
    let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for (status, code) in &errors {
        by_status.entry(*status).or_default().push(code);
    }
    for (status, codes) in by_status {
        let listed = codes
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        responses.insert(
            status.to_string(),
            json!({
                "description": format!("Error: {listed}."),
                "x-error-codes": codes,
                "content": {"application/json": {"schema": error.clone()}},
            }),
        );
    }
    let mut operation = json!({
        "operationId": op.id,
        "summary": op.summary,
        "description": format!("{} {needs}", op.description),
        "x-required-role": role,
        "security": match role {
            None => json!([]),
            Some(_) => json!([{"bearer": []}]),
        },
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = op.body {
        let media = if matches!(body, Shape::Csv) {
            "text/csv"
        } else {
            "application/json"
        };
        operation["requestBody"] = json!({
            "required": true,
            "content": {media: {"schema": shape(body, generator)}},
        });
    }
    operation
}

/// The shapes written by hand (only this document's own), the `derived` ones (definitions
/// of the typed bodies), and those of the dry runs of the answers named in `dry_runs`: each the
/// answer's properties and [`DryRunFields`]' together.
fn schemas(mut derived: Map<String, Value>, dry_runs: &BTreeSet<String>) -> Value {
    let fields = derived.get("DryRun").cloned().unwrap_or_default();
    for name in dry_runs {
        let Some(answer) = derived.get(name) else {
            continue;
        };
        let mut merged = answer.clone();
        for key in ["properties", "required"] {
            match (&mut merged[key], &fields[key]) {
                (Value::Object(mine), Value::Object(more)) => {
                    mine.extend(more.clone());
                }
                (Value::Array(mine), Value::Array(more)) => {
                    mine.extend(more.iter().cloned());
                }
                (mine @ Value::Null, more) => *mine = more.clone(),
                _ => {}
            }
        }
        merged["description"] = json!(format!(
            "What the command would do (`dry_run=true`): its usual answer ({name}) and the dry \
             run's fields; nothing was written."
        ));
        derived.insert(dry_run_name(name), merged);
    }
    let mut schemas = json!({
        "OpenApi": {"type": "object", "required": ["openapi", "info", "paths"]},
    });
    if let Value::Object(map) = &mut schemas {
        map.extend(derived);
    }
    schemas
}

/// The document of the `/api/v1` routes of `routes` (those that declare an operation).
pub fn build(routes: &[Route]) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut paths = Map::new();
    // The answers whose dry runs the commands declare.
    let mut dry_runs = BTreeSet::new();
    typed::<DryRunFields>(&mut generator);
    for route in routes {
        let Some(op) = route.api else { continue };
        let op = op();
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        let operation = operation_json(route, &op, &mut generator);
        if op.command {
            let answer = &operation["responses"][op.success.0.to_string()]["content"]["application/json"]
                ["schema"];
            let reference = answer["$ref"]
                .as_str()
                .or_else(|| answer["anyOf"][0]["$ref"].as_str());
            if let Some(name) = reference.and_then(|r| r.strip_prefix("#/components/schemas/")) {
                dry_runs.insert(name.to_owned());
            }
        }
        item[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "rollbook JSON API",
            "version": "1",
            "description": "Commands and queries for scripts and integrations; API.md is the prose \
                            companion. Every operation but this document needs \
                            `Authorization: Bearer <token>` (made on the Admin page or with \
                            `rollbook token create`); it acts as the token's account, whose role \
                            (viewer < staff < admin) must be at least the operation's. Times are \
                            RFC 3339 and returned in UTC. Fields may be added, never removed or \
                            renamed. Any other path under /api/v1 answers 404 `not_found`, and a \
                            known path asked with another method 405 `method_not_allowed`. A \
                            request whose `Host` the server does not answer to gets 421 \
                            `unknown_host`.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token; roles viewer, staff and admin (each allows what the one before does).",
                },
            },
            "schemas": schemas(generator.take_definitions(true), &dry_runs),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::web::routes::{ROUTES, document};

    fn spec_operations() -> BTreeSet<(String, String)> {
        let doc = document();
        doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .map(move |method| (method.to_ascii_uppercase(), path.clone()))
            })
            .collect()
    }

    #[test]
    fn it_is_openapi_3_and_serialises() {
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let text = serde_json::to_string(doc).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, doc);
    }

    /// Every `/api/v1` route of the access table is described, and nothing else is.
    #[test]
    fn it_describes_exactly_the_api_routes_of_the_access_table() {
        let declared: BTreeSet<(String, String)> = ROUTES
            .iter()
            .filter(|r| r.path.starts_with("/api/v1/"))
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
            .collect();
        assert_eq!(spec_operations(), declared);
    }

    /// Public routes declare no security; the others the bearer scheme and the table's role.
    #[test]
    fn every_operation_declares_the_role_of_the_access_table() {
        let doc = document();
        for Route {
            method,
            path,
            access,
            ..
        } in ROUTES.iter().filter(|r| r.path.starts_with("/api/v1/"))
        {
            let op = &doc["paths"][*path][method.as_str().to_ascii_lowercase()];
            match access {
                Access::Public => {
                    assert_eq!(op["security"], json!([]), "{method} {path}");
                    assert_eq!(op["x-required-role"], Value::Null, "{method} {path}");
                }
                Access::Role(role) => {
                    assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
                    assert_eq!(op["x-required-role"], role.as_str(), "{method} {path}");
                    assert!(
                        op["responses"]["401"]["x-error-codes"]
                            .as_array()
                            .is_some_and(|c| c.contains(&json!("unauthorized"))),
                        "{method} {path} lists 401"
                    );
                }
                Access::Scrape => panic!("{method} {path}: scrape access is for /metrics only"),
            }
        }
    }

    /// Every `$ref` points at a schema that exists.
    #[test]
    fn every_reference_resolves() {
        fn walk(doc: &Value, value: &Value) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let name = target
                            .strip_prefix("#/components/schemas/")
                            .expect("a schema reference");
                        assert!(
                            doc["components"]["schemas"].get(name).is_some(),
                            "{target} does not resolve"
                        );
                    }
                    map.values().for_each(|v| walk(doc, v));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(doc, v)),
                _ => {}
            }
        }
        let doc = document();
        walk(doc, doc);
    }

    /// The prose documentation names every operation and every error code the document
    /// declares, so the two cannot drift apart silently.
    #[test]
    fn api_md_names_every_operation_and_error_code() {
        let prose = include_str!("../../API.md");
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let named = format!("{} {path}", method.to_ascii_uppercase());
                assert!(prose.contains(&named), "API.md does not name {named}");
                for response in op["responses"].as_object().unwrap().values() {
                    for code in response["x-error-codes"].as_array().into_iter().flatten() {
                        let code = format!("`{}`", code.as_str().unwrap());
                        assert!(
                            prose.contains(&code),
                            "API.md does not list {code} ({named})"
                        );
                    }
                }
            }
        }
    }

    /// A request body's schema requires exactly the fields the server requires, refuses unknown
    /// ones, and publishes no `null` default (the server would take `null` as absent).
    #[test]
    fn request_bodies_require_exactly_what_the_server_requires() {
        let doc = document();
        let cohort = [
            "capacity",
            "course",
            "enrollment_deadline",
            "instructor",
            "name",
            "starts_at",
            "withdrawal_deadline",
        ];
        for (name, want) in [
            ("NewCohort", &cohort[..]),
            ("Enrollment", &["learner"][..]),
            ("Withdrawal", &["learner"][..]),
            ("CapacityChange", &["capacity"][..]),
            ("BackupRequest", &[][..]),
        ] {
            let schema = &doc["components"]["schemas"][name];
            let mut required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            required.sort_unstable();
            assert_eq!(required, want, "{name}");
            assert_eq!(schema["additionalProperties"], json!(false), "{name}");
            for (field, property) in schema["properties"].as_object().unwrap() {
                assert!(
                    property.get("default") != Some(&Value::Null),
                    "{name}.{field}"
                );
            }
        }
        let backup = &doc["components"]["schemas"]["BackupRequest"];
        assert_eq!(
            (
                backup["minProperties"].as_u64(),
                backup["maxProperties"].as_u64()
            ),
            (Some(1), Some(1))
        );
    }

    /// Path parameters and the path's `{…}` segments agree.
    #[test]
    fn path_parameters_match_the_path() {
        for (path, item) in document()["paths"].as_object().unwrap() {
            let segments: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            for (method, op) in item.as_object().unwrap() {
                let params: BTreeSet<&str> = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                assert_eq!(params, segments, "{method} {path}");
            }
        }
    }
}
