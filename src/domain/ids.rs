//! Identifiers and quantities of the domain, as newtypes so a signature says what it takes.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Identifies one cohort (its event stream). A UUID v7, so ids sort by creation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CohortId(pub Uuid);

impl CohortId {
    /// A fresh id; the caller supplies the UUID so the domain never reads the clock.
    #[must_use]
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
}

impl fmt::Display for CohortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An opaque learner reference. Events carry only this; the learner's key and name live in the
/// learner directory, so personal data can be erased without rewriting history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LearnerId(pub Uuid);

impl fmt::Display for LearnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The number of seats of a cohort: at least 1, at most [`Capacity::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Capacity(u32);

/// Why a number is not a valid capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CapacityError {
    /// Zero seats.
    #[error("capacity must be at least 1")]
    Zero,
    /// More seats than one cohort may have.
    #[error("capacity must be at most {max}, got {got}")]
    TooLarge {
        /// What was asked for.
        got: u64,
        /// The limit.
        max: u32,
    },
}

impl Capacity {
    /// The largest cohort rollbook accepts.
    pub const MAX: u32 = 100_000;

    /// Checks that `seats` is a usable capacity.
    pub fn new(seats: u64) -> Result<Self, CapacityError> {
        match u32::try_from(seats) {
            Ok(0) => Err(CapacityError::Zero),
            Ok(n) if n <= Self::MAX => Ok(Self(n)),
            _ => Err(CapacityError::TooLarge {
                got: seats,
                max: Self::MAX,
            }),
        }
    }

    /// The number of seats.
    #[must_use]
    pub const fn seats(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
