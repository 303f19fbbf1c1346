//! The global event feed, `GET /api/v1/events`, and the filters it shares with the live feed
//! (`GET /api/v1/events/stream`): `after`, `limit`, and the repeatable `type` and `cohort`.
//! Filtered pages are found in the projections' event index (a cohort's history, the type
//! column), never by reading the store beyond the page.

use axum::Json;
use axum::extract::{RawQuery, State};

use super::super::AppState;
use super::super::error::ApiError;
use super::bodies::Feed;
use super::{MAX_LIMIT, events_json};
use crate::domain::{CohortId, Event};
use crate::store::Envelope;

/// Most values one of the repeatable filters (`type`, `cohort`) takes.
pub(in crate::web) const MAX_FILTER_VALUES: usize = 100;

/// What a feed request asks for, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct FeedParams {
    /// Events after this global position.
    pub after: u64,
    /// Most events in a page (the stream ignores it).
    pub limit: usize,
    /// Event types wanted (indexes into [`Event::TYPE_NAMES`]); any when empty.
    pub kinds: Vec<u8>,
    /// Cohorts wanted; any when empty.
    pub cohorts: Vec<CohortId>,
}

fn invalid(message: String) -> ApiError {
    ApiError::bad_request("invalid_parameter", message)
}

fn whole(name: &str, value: &str) -> Result<u64, ApiError> {
    value
        .parse::<u64>()
        .map_err(|_| invalid(format!("{name}: must be a whole number")))
}

impl FeedParams {
    /// Reads the query string: `after` and `limit` (whole numbers; empty means the default),
    /// `type` (an event type name) and `cohort` (a cohort id), each repeatable. Other names are
    /// ignored, as on every API route.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| invalid(format!("the query could not be read: {e}")))?;
        let mut params = Self {
            limit: 100,
            ..Self::default()
        };
        for single in ["after", "limit"] {
            if pairs.iter().filter(|(name, _)| name == single).count() > 1 {
                return Err(invalid(format!("{single}: given more than once")));
            }
        }
        for (name, value) in &pairs {
            match name.as_str() {
                "after" if !value.is_empty() => params.after = whole("after", value)?,
                "limit" if !value.is_empty() => {
                    let limit = whole("limit", value)?;
                    params.limit = usize::try_from(limit)
                        .unwrap_or(MAX_LIMIT)
                        .clamp(1, MAX_LIMIT);
                }
                "type" => {
                    let kind = Event::TYPE_NAMES
                        .iter()
                        .position(|n| *n == value.trim())
                        .and_then(|i| u8::try_from(i).ok())
                        .ok_or_else(|| {
                            invalid(format!(
                                "type: {value:?} is not an event type; one of {}",
                                Event::TYPE_NAMES.join(", ")
                            ))
                        })?;
                    if !params.kinds.contains(&kind) {
                        params.kinds.push(kind);
                    }
                }
                "cohort" => {
                    let cohort = uuid::Uuid::parse_str(value.trim())
                        .map(CohortId)
                        .map_err(|_| invalid(format!("cohort: {value:?} is not a cohort id")))?;
                    if !params.cohorts.contains(&cohort) {
                        params.cohorts.push(cohort);
                    }
                }
                _ => {}
            }
        }
        if params.kinds.len() > MAX_FILTER_VALUES || params.cohorts.len() > MAX_FILTER_VALUES {
            return Err(invalid(format!(
                "at most {MAX_FILTER_VALUES} values each of type and cohort"
            )));
        }
        Ok(params)
    }

    /// Whether `type` or `cohort` narrows the feed.
    pub fn is_filtered(&self) -> bool {
        !self.kinds.is_empty() || !self.cohorts.is_empty()
    }

    /// Whether the filters let `envelope` through.
    pub fn matches(&self, envelope: &Envelope) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&envelope.event.type_index()))
            && (self.cohorts.is_empty() || self.cohorts.contains(&envelope.cohort))
    }
}

/// `GET /api/v1/events`.
pub(in crate::web) async fn events(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Feed>, ApiError> {
    let params = FeedParams::parse(query.as_deref())?;
    let (after, limit) = (params.after, params.limit);
    // Serve only what the projections have applied: the learner directory then knows every
    // learner the events name, and `head` never runs ahead of what the pages show.
    let (head, positions) = {
        let read = state.read.read();
        let positions = params
            .is_filtered()
            .then(|| read.feed_positions(after, &params.kinds, &params.cohorts, limit));
        (read.position, positions)
    };
    let mut envelopes = match positions {
        None => {
            state
                .read_store(move |s| s.read()?.events_after(after, limit))
                .await
        }
        Some(positions) => {
            state
                .read_store(move |s| s.read()?.events_at(&positions))
                .await
        }
    }
    .map_err(|e| ApiError::internal("store read", &e))?;
    envelopes.retain(|e| e.position <= head);
    let read = state.read.read();
    let next = match envelopes.last() {
        // A filtered page that is not full has looked at every position up to the head.
        _ if params.is_filtered() && envelopes.len() < limit => head.max(after),
        Some(last) => last.position,
        None => after,
    };
    Ok(Json(Feed {
        events: events_json(&envelopes, &read.directory),
        head,
        next_after: next,
    }))
}
