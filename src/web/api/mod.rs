//! The JSON API under `/api/v1`: commands and queries for scripts and integrations. Its shapes
//! are documented in `API.md` and kept stable.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

pub(super) mod bodies;
pub(super) mod bulk;
pub(super) mod dry_run;
pub(super) mod feed;
pub(super) mod live;
pub(super) mod offers;
pub(super) mod term;
pub(super) mod transfers;
pub(super) mod webhooks;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiActing, ApiJson, ApiPath, ApiQuery};
use super::input::{self, RawCohort, RawNumber};
use crate::auth::Principal;
use crate::domain::{CohortId, Event, LearnerId, Phase};
use crate::projections::{AsOf, CatalogFilter, CohortView, Directory, Projections};
use crate::store::Envelope;
use crate::writer::{Request, Submission};
use bodies::{
    BackupManifest, BackupRequest, CapacityChange, CapacityChanged, Closed, CohortDetail,
    CohortList, CohortSummary, Created, EnrollOutcome, Enrolled, Enrollment, EventBody, EventList,
    Health, HealthStatus, JobProgress, LastCheck, LastRebuild, NewCohort, Person, ProjectionRow,
    ProjectionStatus, Promoted, Timeline, WithdrawOutcome, Withdrawal, Withdrawn,
};
use dry_run::{Done, DryRunQuery, Mode};

/// Most items one page of a listing returns.
pub(super) const MAX_LIMIT: usize = 1000;

/// `GET /healthz`: 200 once the replay is done (the server only listens after it) while the
/// writer runs; 503 if the writer has stopped.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let storage_failed = state.writer.storage_failed();
    let writer = state.writer.is_running() && !storage_failed;
    let read = state.read.read();
    let body = Health {
        position: read.position,
        projections: read.positions().into_iter().collect(),
        status: if storage_failed {
            HealthStatus::StorageFailed
        } else if writer {
            HealthStatus::Ok
        } else {
            HealthStatus::WriterStopped
        },
    };
    let status = if writer {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

fn field_error(e: &input::FieldError) -> ApiError {
    ApiError::bad_request("invalid_field", e.to_string())
}

/// Submits `request` with the command headers, or with `?dry_run=true` runs it as a dry run
/// (writing nothing); errors name `learner`.
pub(super) async fn execute(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    query: &DryRunQuery,
    request: Request,
    learner: Option<&str>,
) -> Result<Done, ApiError> {
    let h = input::command_headers(headers).map_err(|e| field_error(&e))?;
    if let Mode::DryRun(as_of) = query.mode()? {
        // The Idempotency-Key and correlation headers are read (a malformed one is still
        // refused) but nothing is recorded under them.
        return dry_run::run(state, request, h.expected_version, as_of, learner)
            .await
            .map(Done::Predicted);
    }
    let submission = Submission {
        expected_version: h.expected_version,
        idempotency_key: h.idempotency_key,
        correlation_id: h.correlation_id,
        causation_id: h.causation_id,
        ..Submission::new(request, principal.actor())
    };
    state
        .submit(principal, submission)
        .await
        .map(Done::Committed)
        .map_err(|e| ApiError::from_command(e, learner))
}

pub(super) async fn create_cohort(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<NewCohort>,
) -> Result<Response, ApiError> {
    let raw = RawCohort {
        name: &body.name,
        course: &body.course,
        instructor: &body.instructor,
        capacity: RawNumber::Number(body.capacity),
        starts_at: &body.starts_at,
        enrollment_deadline: &body.enrollment_deadline,
        withdrawal_deadline: &body.withdrawal_deadline,
    };
    let mut new = input::new_cohort(&raw, &state.zone).map_err(|errors| field_error(&errors[0]))?;
    new.promotion = term::policy(body.promotion.as_deref(), body.offer_hold.as_deref())
        .map_err(|e| field_error(&e))?;
    new.waitlist_cap = body.waitlist_cap;
    new.ends_at = term::optional_time(&state, "ends_at", body.ends_at.as_deref())?;
    let request = Request::Create {
        cohort: CohortId(Uuid::now_v7()),
        new,
    };
    let done = execute(&state, &principal, &headers, &query, request, None).await?;
    let body = Created {
        id: done.cohort().0,
        position: done.position(),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::CREATED, &body, &state.read.read().directory))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    instructor: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

fn number_param(name: &'static str, raw: Option<&str>, default: usize) -> Result<usize, ApiError> {
    match raw {
        None | Some("") => Ok(default),
        Some(v) => v.parse::<usize>().map_err(|_| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("{name}: must be a whole number"),
            )
        }),
    }
}

pub(super) async fn list_cohorts(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<CohortList>, ApiError> {
    let status = input::status_param(q.status.as_deref())
        .map_err(|m| ApiError::bad_request("invalid_parameter", m))?;
    let limit = number_param("limit", q.limit.as_deref(), 50)?.min(MAX_LIMIT);
    let offset = number_param("offset", q.offset.as_deref(), 0)?;
    let filter = CatalogFilter {
        instructor: q.instructor.filter(|i| !i.trim().is_empty()),
        status,
    };
    let read = state.read.read();
    let (page, total) = read.catalog.list(&filter, offset, limit);
    let now = state.clock.now();
    let cohorts = page.into_iter().map(|view| summary(view, now)).collect();
    Ok(Json(CohortList { cohorts, total }))
}

fn summary(view: &CohortView, now: jiff::Timestamp) -> CohortSummary {
    let c = &view.state;
    CohortSummary {
        phase: Phase::of(c, now).as_str(),
        capacity: c.capacity.seats(),
        course: c.course.clone(),
        enrolled_count: c.enrolled_count(),
        id: c.id.0,
        instructor: c.instructor.clone(),
        name: c.name.clone(),
        seats_remaining: c.seats_remaining(),
        status: c.status.as_str(),
        version: view.version,
        waitlist_count: c.waitlist.len(),
    }
}

fn detail(view: &CohortView, read: &Projections, now: jiff::Timestamp) -> CohortDetail {
    let offers = view
        .state
        .offers
        .iter()
        .map(|o| bodies::OfferRow {
            expires_at: o.expires_at,
            learner: read.directory.key_of(o.learner),
            name: read.directory.name_of(o.learner).to_owned(),
            offered_at: o.offered_at,
        })
        .collect();
    let c = &view.state;
    let directory = &read.directory;
    let person = |learner: LearnerId| Person {
        learner: directory.key_of(learner),
        name: directory.name_of(learner).to_owned(),
        since: read.since(view, learner),
    };
    CohortDetail {
        capacity: c.capacity.seats(),
        course: c.course.clone(),
        enrolled: c.enrolled.iter().map(|l| person(*l)).collect(),
        enrolled_count: c.enrolled_count(),
        enrollment_deadline: c.enrollment_deadline,
        ends_at: c.ends_at,
        phase: Phase::of(c, now).as_str(),
        id: c.id.0,
        instructor: c.instructor.clone(),
        name: c.name.clone(),
        offer_hold: c.promotion.hold().map(crate::domain::format_hold),
        offers,
        position: view.position,
        promotion: c.promotion.as_str(),
        seats_remaining: c.seats_remaining(),
        starts_at: c.starts_at,
        status: c.status.as_str(),
        version: view.version,
        waitlist: c.waitlist.iter().map(|e| person(e.learner)).collect(),
        waitlist_cap: c.waitlist_cap,
        waitlist_count: c.waitlist.len(),
        withdrawal_deadline: c.withdrawal_deadline,
    }
}

/// An `as_of` query parameter: a global position or an RFC 3339 time; absent or empty for none.
fn as_of_param(raw: Option<&str>) -> Result<Option<AsOf>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => raw
            .parse::<AsOf>()
            .map(Some)
            .map_err(|e| ApiError::bad_request("invalid_parameter", e.to_string())),
    }
}

#[derive(Deserialize)]
pub(super) struct AsOfQuery {
    as_of: Option<String>,
}

pub(super) async fn cohort(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
    ApiQuery(q): ApiQuery<AsOfQuery>,
) -> Result<Json<CohortDetail>, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let past = match as_of_param(q.as_of.as_deref())? {
        None => None,
        Some(as_of) => {
            let view = state
                .cohort_as_of(cohort, as_of)
                .await
                .map_err(|e| ApiError::internal("time travel", &e))?;
            Some(view.ok_or_else(|| ApiError {
                status: StatusCode::NOT_FOUND,
                code: "cohort_not_found",
                message: format!("cohort {id} did not exist yet at that point"),
            })?)
        }
    };
    let read = state.read.read();
    let view = match &past {
        Some(view) => view,
        None => read
            .catalog
            .get(cohort)
            .ok_or_else(|| ApiError::cohort_not_found(&id))?,
    };
    Ok(Json(detail(view, &read, state.clock.now())))
}

/// An event as the API shows it: learner keys, not internal ids.
fn event_json(env: &Envelope, directory: &Directory) -> EventBody {
    EventBody {
        actor: env.meta.actor.name.clone(),
        actor_id: env.meta.actor.id,
        causation_id: env.meta.causation_id,
        cohort: env.cohort.0,
        command_id: env.meta.command_id,
        correlation_id: env.meta.correlation_id,
        data: event_data(&env.event, &|l| directory.key_of(l)),
        occurred_at: env.occurred_at,
        position: env.position,
        recorded_at: env.recorded_at,
        schema_version: env.schema_version,
        kind: env.event.type_name(),
        version: env.version,
    }
}

/// [`event_json`] as a JSON value.
pub(super) fn feed_event_json(env: &Envelope, directory: &Directory) -> serde_json::Value {
    serde_json::to_value(event_json(env, directory)).unwrap_or_default()
}

/// An event's own fields as the API shows them, its learners named by `key_of` (their keys).
fn event_data(event: &Event, key_of: &dyn Fn(LearnerId) -> String) -> serde_json::Value {
    let key = |l: &LearnerId| key_of(*l);
    match event {
        Event::CohortCreated(c) => json!({
            "name": c.name, "course": c.course, "instructor": c.instructor,
            "capacity": c.capacity.seats(), "starts_at": c.starts_at,
            "enrollment_deadline": c.enrollment_deadline, "withdrawal_deadline": c.withdrawal_deadline,
            "ends_at": c.ends_at,
        }),
        Event::StudentEnrolled { learner }
        | Event::WaitlistPromoted { learner }
        | Event::StudentReleased { learner }
        | Event::OfferAccepted { learner }
        | Event::OfferExpired { learner } => json!({"learner": key(learner)}),
        Event::StudentWaitlisted { learner, position } => {
            json!({"learner": key(learner), "position": position})
        }
        Event::StudentWithdrawn {
            learner,
            reason_code,
            reason,
        } => {
            json!({"learner": key(learner), "reason_code": reason_code.as_str(),
                   "reason": reason.text(), "reason_erased": reason.is_erased()})
        }
        Event::WaitlistLeft { learner, reason } | Event::OfferDeclined { learner, reason } => {
            json!({"learner": key(learner), "reason": reason.text(),
                   "reason_erased": reason.is_erased()})
        }
        Event::CapacityChanged { from, to } => json!({"from": from.seats(), "to": to.seats()}),
        Event::EnrollmentClosed => json!({}),
        Event::EnrollmentReopened { reason } | Event::CohortCancelled { reason } => {
            json!({"reason": reason.text(), "reason_erased": reason.is_erased()})
        }
        Event::CohortRescheduled {
            starts_at,
            enrollment_deadline,
            withdrawal_deadline,
            ends_at,
        } => json!({"starts_at": starts_at, "enrollment_deadline": enrollment_deadline,
                    "withdrawal_deadline": withdrawal_deadline, "ends_at": ends_at}),
        Event::CohortDetailsChanged {
            name,
            course,
            instructor,
        } => json!({"name": name, "course": course, "instructor": instructor}),
        Event::PolicyChanged {
            promotion,
            waitlist_cap,
        } => json!({"promotion": promotion.as_str(),
                    "offer_hold": promotion.hold().map(crate::domain::format_hold),
                    "waitlist_cap": waitlist_cap}),
        Event::WaitlistOffered {
            learner,
            offered_at,
            expires_at,
        } => json!({"learner": key(learner), "offered_at": offered_at, "expires_at": expires_at}),
        Event::StudentTransferredOut {
            learner,
            to,
            reason,
        } => json!({"learner": key(learner), "to": to.0, "reason": reason.text(),
                    "reason_erased": reason.is_erased()}),
        Event::StudentTransferredIn {
            learner,
            from,
            waitlisted_at,
        } => json!({"learner": key(learner), "from": from.0, "waitlisted_at": waitlisted_at}),
    }
}

fn events_json(envelopes: &[Envelope], directory: &Directory) -> Vec<EventBody> {
    envelopes.iter().map(|e| event_json(e, directory)).collect()
}

pub(super) async fn cohort_events(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
) -> Result<Json<EventList>, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    if state.read.read().catalog.get(cohort).is_none() {
        return Err(ApiError::cohort_not_found(&id));
    }
    let published = state.read.read().position;
    let envelopes = state
        .read_store(move |s| s.read()?.stream(cohort, 1, published))
        .await
        .map_err(|e| ApiError::internal("store read", &e))?;
    let read = state.read.read();
    Ok(Json(EventList {
        events: events_json(&envelopes, &read.directory),
    }))
}

pub(super) async fn timeline(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath,
) -> Result<Json<Timeline>, ApiError> {
    let (learner, positions) = {
        let read = state.read.read();
        let learner = super::find_learner(&read.directory, &raw)
            .filter(|id| read.directory.get(*id).is_some() || !read.timelines.of(*id).is_empty())
            .ok_or_else(|| ApiError::learner_not_found(&raw))?;
        let positions: Vec<u64> = read.timelines.of(learner).iter().collect();
        (learner, positions)
    };
    let envelopes = state
        .read_store(move |s| s.read()?.events_at(&positions))
        .await
        .map_err(|e| ApiError::internal("store read", &e))?;
    let read = state.read.read();
    Ok(Json(Timeline {
        events: events_json(&envelopes, &read.directory),
        learner: read.directory.key_of(learner),
        name: read.directory.name_of(learner).to_owned(),
    }))
}

pub(super) async fn enroll(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<Enrollment>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let learner = input::learner("learner", &body.learner).map_err(|e| field_error(&e))?;
    let name = body
        .name
        .map(|n| input::line("name", &n, input::MAX_TEXT))
        .transpose()
        .map_err(|e| field_error(&e))?
        .filter(|n| !n.is_empty());
    let key = learner.to_string();
    let request = Request::Enroll {
        cohort,
        learner,
        name,
    };
    let done = execute(&state, &principal, &headers, &query, request, Some(&key)).await?;
    let outcome = match done.events().next() {
        Some(Event::StudentWaitlisted { .. }) => EnrollOutcome::Waitlisted,
        _ => EnrollOutcome::Enrolled,
    };
    let body = Enrolled {
        outcome,
        position: done.position(),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &state.read.read().directory))
}

fn promoted_keys(done: &Done, directory: &Directory) -> Vec<String> {
    done.events()
        .filter_map(|e| match e {
            Event::WaitlistPromoted { learner } => Some(directory.key_of(*learner)),
            _ => None,
        })
        .collect()
}

pub(super) async fn withdraw(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<Withdrawal>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let learner = input::learner("learner", &body.learner).map_err(|e| field_error(&e))?;
    let reason = input::text(
        "reason",
        body.reason.as_deref().unwrap_or(""),
        input::MAX_REASON,
    )
    .map_err(|e| field_error(&e))?;
    let reason_code = input::reason_code("reason_code", body.reason_code.as_deref().unwrap_or(""))
        .map_err(|e| field_error(&e))?;
    let key = learner.to_string();
    let request = Request::Withdraw {
        cohort,
        learner,
        reason_code,
        reason,
    };
    let done = execute(&state, &principal, &headers, &query, request, Some(&key)).await?;
    let outcome = match done.events().next() {
        Some(Event::WaitlistLeft { .. }) => WithdrawOutcome::LeftWaitlist,
        _ => WithdrawOutcome::Withdrawn,
    };
    let read = state.read.read();
    let promoted = promoted_keys(&done, &read.directory).into_iter().next();
    let body = Withdrawn {
        outcome,
        position: done.position(),
        promoted,
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &read.directory))
}

pub(super) async fn promote(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let request = Request::Promote { cohort };
    let done = execute(&state, &principal, &headers, &query, request, None).await?;
    let read = state.read.read();
    let promoted = promoted_keys(&done, &read.directory).into_iter().next();
    let body = Promoted {
        position: done.position(),
        promoted,
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &read.directory))
}

pub(super) async fn change_capacity(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
    ApiJson(body): ApiJson<CapacityChange>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let capacity = input::capacity("capacity", RawNumber::Number(body.capacity))
        .map_err(|e| field_error(&e))?;
    let request = Request::ChangeCapacity { cohort, capacity };
    let done = execute(&state, &principal, &headers, &query, request, None).await?;
    let read = state.read.read();
    let body = CapacityChanged {
        position: done.position(),
        promoted: promoted_keys(&done, &read.directory),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &read.directory))
}

pub(super) async fn close(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DryRunQuery>,
) -> Result<Response, ApiError> {
    let cohort = input::parse_cohort::<ApiError>(&id)?;
    let request = Request::Close { cohort };
    let done = execute(&state, &principal, &headers, &query, request, None).await?;
    let body = Closed {
        position: done.position(),
        version: done.version(),
    };
    Ok(done.respond(StatusCode::OK, &body, &state.read.read().directory))
}

/// `GET /api/v1/projections`: each projection's position against the store head, the last
/// rebuild and shadow check, and any job under way.
pub(super) async fn projections(
    State(state): State<AppState>,
) -> Result<Json<ProjectionStatus>, ApiError> {
    let head = state
        .read_store(|s| s.read()?.head_position())
        .await
        .map_err(|e| ApiError::internal("store read", &e))?;
    let read = state.read.read();
    let rows = read.positions();
    let events_applied = read.events_applied;
    drop(read);
    let status = state.read.status();
    let progress = |p: &crate::projections::Progress| JobProgress {
        done: p.done.load(std::sync::atomic::Ordering::Relaxed),
        total: p.total,
    };
    Ok(Json(ProjectionStatus {
        checking: status.checking.as_deref().map(progress),
        events_applied,
        head,
        last_check: status.last_check.as_ref().map(|c| LastCheck {
            at: c.at,
            differences: c.differences.clone(),
            position: c.position,
        }),
        last_error: status.last_error.clone(),
        last_rebuild: status.last_rebuild.as_ref().map(|r| LastRebuild {
            events: r.events,
            events_per_second: r.events_per_second,
            finished_at: r.finished_at,
            seconds: r.seconds,
        }),
        projections: rows
            .iter()
            .map(|&(name, position)| ProjectionRow {
                lag: head.saturating_sub(position),
                name,
                position,
            })
            .collect(),
        rebuilding: status.rebuilding.as_deref().map(progress),
    }))
}

/// `POST /api/v1/admin/backups`: writes a consistent copy of the live database (one read
/// transaction; the server keeps serving) to a new file of the given name in the backup folder,
/// verifies it, writes its manifest, and answers the manifest. Nothing outside the backup
/// folder is ever looked at, so the answer tells nothing about other paths.
pub(super) async fn create_backup(
    State(state): State<AppState>,
    ApiActing(principal): ApiActing,
    ApiJson(body): ApiJson<BackupRequest>,
) -> Result<Response, ApiError> {
    let Some(dir) = state.last_backup.dir().map(std::path::Path::to_owned) else {
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            code: "backup_dir_not_configured",
            message: "this server has no backup folder: start it with --backup-dir DIR (or \
                      ROLLBOOK_BACKUP_DIR=DIR), then name the backup file with \
                      {\"name\": \"FILE\"}; backups on request go only there"
                .to_owned(),
        });
    };
    let raw = match (body.name, body.out) {
        (Some(name), None) | (None, Some(name)) => name,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_field",
                "name: give the backup's file name as name (or out), not both",
            ));
        }
        (None, None) => String::new(),
    };
    let name = crate::backup::BackupName::parse(&raw)
        .map_err(|e| ApiError::bad_request("invalid_field", format!("name: {e}")))?;
    tracing::info!(by = %principal.name, %name, dir = %dir.display(), "backup requested");
    let (history, now) = (state.history.clone(), state.clock.now());
    let wanted = name.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        crate::backup::backup_into(&history, &dir, &wanted, now)
    })
    .await
    .map_err(|e| ApiError::internal("backup task failed", &e))?;
    // A name already taken is the request's mistake, not a failed backup.
    if !matches!(outcome, Err(crate::backup::BackupError::Exists { .. })) {
        crate::backup::record(&state.last_backup, &outcome);
    }
    match outcome {
        Ok(manifest) => {
            Ok((StatusCode::CREATED, Json(BackupManifest::from(manifest))).into_response())
        }
        Err(crate::backup::BackupError::Exists { .. }) => Err(ApiError {
            status: StatusCode::CONFLICT,
            code: "exists",
            message: format!(
                "the backup folder already holds {name} or {name}.manifest.json; a backup never \
                 overwrites a file: choose another name"
            ),
        }),
        Err(e) => {
            tracing::error!("backup failed: {e:#}");
            Err(ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "backup_failed",
                message: format!("{e:#}"),
            })
        }
    }
}
