//! Time travel: a cohort as it was at a position or an instant, folded from its stream.

use std::str::FromStr;

use jiff::Timestamp;

use super::catalog::CohortView;
use crate::domain::CohortId;
use crate::store::{ReadableStore, StoreError};

/// A point in history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOf {
    /// After the event at this global position.
    Position(u64),
    /// After every event that occurred at or before this instant.
    Time(Timestamp),
}

/// Why a text is not a point in history.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "as_of must be an event position (e.g. 42) or an RFC 3339 time (e.g. 2026-03-01T10:00:00Z), got {0:?}"
)]
pub struct AsOfError(pub String);

impl FromStr for AsOf {
    type Err = AsOfError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if let Ok(position) = raw.parse::<u64>() {
            return Ok(Self::Position(position));
        }
        raw.parse::<Timestamp>()
            .map(Self::Time)
            .map_err(|_| AsOfError(raw.to_owned()))
    }
}

/// The cohort as it was at `as_of` (`None` if it did not exist yet), looking no further than
/// global position `published` (what the projections have applied). Reads one stream.
pub fn cohort_as_of(
    store: &dyn ReadableStore,
    cohort: CohortId,
    as_of: AsOf,
    published: u64,
) -> Result<Option<CohortView>, StoreError> {
    let reader = store.read()?;
    let envelopes = match as_of {
        AsOf::Position(position) => reader.stream(cohort, 1, position.min(published))?,
        AsOf::Time(at) => {
            let mut stream = reader.stream(cohort, 1, published)?;
            // A prefix of the stream, never a selection: were the clock ever set back, a later
            // event with an earlier time must not appear without the events before it.
            let keep = stream.iter().take_while(|e| e.occurred_at <= at).count();
            stream.truncate(keep);
            stream
        }
    };
    Ok(CohortView::fold(&envelopes))
}
