//! `?dry_run=true` (with `as_of`) on every API command: reading the two query parameters, running
//! the command's request through the writer's [`Preview`] instead of the writer, and the fields a
//! dry run adds to the command's usual answer. Which rules apply is the preview's business (it
//! decides as the writer does); this module only reads the query and shapes the answer.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::AppState;
use super::super::error::ApiError;
use crate::domain::{CohortId, Event, LearnerId};
use crate::projections::{AsOf, Directory};
use crate::writer::{Committed, Predicted, Preview, Request, Stage, StageError};

/// The query parameters of a command.
#[derive(Debug, Default, Deserialize)]
pub(in crate::web) struct DryRunQuery {
    dry_run: Option<String>,
    as_of: Option<String>,
}

/// How a command is to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// For real: through the writer.
    Commit,
    /// A dry run, now or at a point in history.
    DryRun(Option<AsOf>),
}

impl DryRunQuery {
    /// How the command runs: `dry_run` is `true` or `false` (absent: `false`); `as_of` (the
    /// syntax of `GET /api/v1/cohorts/{id}`'s) only with `dry_run=true`, as no command can be
    /// written into the past.
    pub(super) fn mode(&self) -> Result<Mode, ApiError> {
        let dry_run = match self.dry_run.as_deref().map(str::trim) {
            None | Some("" | "false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    "dry_run: must be true or false",
                ));
            }
        };
        match (dry_run, super::as_of_param(self.as_of.as_deref())?) {
            (false, None) => Ok(Mode::Commit),
            (false, Some(_)) => Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "as_of_needs_dry_run",
                message: "as_of is only for a dry run (add dry_run=true): a command cannot be \
                          written into the past"
                    .to_owned(),
            }),
            (true, as_of) => Ok(Mode::DryRun(as_of)),
        }
    }
}

/// Runs `request` as a dry run: on the cohort now, or as it was at `as_of`. Writes nothing.
/// Refusals are answered as the real command's are (`learner` names the learner in them).
pub(super) async fn run(
    app: &AppState,
    request: Request,
    expected_version: Option<u64>,
    as_of: Option<AsOf>,
    learner: Option<&str>,
) -> Result<Predicted, ApiError> {
    let preview = app.preview();
    let mut stage = stage(app, &preview, request.cohort(), as_of).await?;
    preview
        .decide(&mut stage, &request, expected_version)
        .map_err(|e| ApiError::from_command(e, learner))
}

/// The cohort a dry run decides on: as it is now, or as it was at `as_of`.
pub(super) async fn stage(
    app: &AppState,
    preview: &Preview,
    cohort: CohortId,
    as_of: Option<AsOf>,
) -> Result<Stage, ApiError> {
    Ok(match as_of {
        None => preview.now(cohort, app.clock.now()),
        Some(as_of) => {
            let staged = {
                let preview = preview.clone();
                tokio::task::spawn_blocking(move || preview.as_of(cohort, as_of)).await
            };
            match staged {
                Ok(Ok(staged)) => staged,
                Ok(Err(e @ StageError::NoSuchPosition { .. })) => {
                    return Err(ApiError {
                        status: StatusCode::UNPROCESSABLE_ENTITY,
                        code: "as_of_out_of_range",
                        message: e.to_string(),
                    });
                }
                Ok(Err(e)) => return Err(ApiError::internal("dry run: history read", &e)),
                Err(e) => return Err(ApiError::internal("dry run: history read task", &e)),
            }
        }
    })
}

/// What a command did, or would do: what every command's answer is built from.
pub(in crate::web) enum Done {
    /// The writer committed it.
    Committed(Committed),
    /// A dry run predicted it.
    Predicted(Predicted),
}

impl Done {
    /// The cohort.
    pub(in crate::web) const fn cohort(&self) -> CohortId {
        match self {
            Self::Committed(c) => c.cohort,
            Self::Predicted(p) => p.cohort,
        }
    }

    /// The cohort's version after the command.
    pub(in crate::web) const fn version(&self) -> u64 {
        match self {
            Self::Committed(c) => c.version,
            Self::Predicted(p) => p.version,
        }
    }

    /// The position of the command's last event.
    pub(in crate::web) fn position(&self) -> u64 {
        match self {
            Self::Committed(c) => c.position(),
            Self::Predicted(p) => p.position,
        }
    }

    /// The command's events, in order.
    pub(in crate::web) fn events(&self) -> Box<dyn Iterator<Item = &Event> + '_> {
        match self {
            Self::Committed(c) => Box::new(c.events.iter().map(|e| &e.event)),
            Self::Predicted(p) => Box::new(p.events.iter()),
        }
    }

    /// The answer: `body` with `status` for a committed command; for a dry run, 200 with
    /// `body`'s fields and [`DryRunFields`]'.
    pub(in crate::web) fn respond<T: Serialize>(
        &self,
        status: StatusCode,
        body: &T,
        directory: &Directory,
    ) -> Response {
        let Self::Predicted(predicted) = self else {
            return (status, Json(body)).into_response();
        };
        let key_of = |id: LearnerId| match &predicted.provisional {
            Some((provisional, key)) if *provisional == id => key.to_string(),
            _ => directory.key_of(id),
        };
        let fields = DryRunFields {
            decided_at: predicted.decided_at,
            dry_run: true,
            events: predicted
                .events
                .iter()
                .map(|event| PlannedEvent {
                    data: super::event_data(event, &key_of),
                    kind: event.type_name(),
                })
                .collect(),
        };
        let mut answer: BTreeMap<String, Value> = match serde_json::to_value(body) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        if let Ok(Value::Object(map)) = serde_json::to_value(&fields) {
            answer.extend(map);
        }
        (StatusCode::OK, Json(answer)).into_response()
    }
}

/// The fields a dry run adds to the command's usual answer.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "DryRun")]
pub struct DryRunFields {
    /// The time the rules were checked at: now, or the `as_of` point's.
    #[schemars(schema_with = "time")]
    pub decided_at: Timestamp,
    /// Always `true`: nothing was written.
    #[schemars(schema_with = "always_true")]
    pub dry_run: bool,
    /// The events the command would append, in order.
    pub events: Vec<PlannedEvent>,
}

/// An event a dry run would append.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "PlannedEvent")]
pub struct PlannedEvent {
    /// Its fields, as in the event feed.
    #[schemars(schema_with = "event_data")]
    pub data: Value,
    /// Its type.
    #[serde(rename = "type")]
    #[schemars(schema_with = "event_type")]
    pub kind: &'static str,
}

fn time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time"})
}

fn always_true(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "boolean", "enum": [true]})
}

fn event_data(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "object", "description": "As in the event feed (see API.md)."})
}

fn event_type(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": Event::TYPE_NAMES})
}
