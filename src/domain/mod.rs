//! The pure domain: the cohort aggregate, its commands, events and rules.
//!
//! Nothing here performs I/O, reads the clock or knows about redb, axum, askama or tokio.
//! `decide` holds every business rule; `apply` holds none and cannot fail.

mod cohort;
mod command;
mod event;
mod ids;
mod note;
mod phase;
mod policy;
mod reason;
mod time_format;
mod violation;

pub use cohort::{
    Cohort, CohortStatus, InvariantBroken, Transfer, TransferRefused, WaitlistEntry,
    decide_transfer,
};
pub use command::{CohortCommand, NewCohort};
pub use event::{CohortCreated, Event};
pub use ids::{Capacity, CapacityError, CohortId, LearnerId};
pub use note::Note;
pub use phase::Phase;
pub use policy::{HoldError, Offer, PromotionPolicy, format_hold, parse_hold};
pub use reason::{ReasonCode, UnknownReasonCode};
pub use time_format::{UTC_MINUTE, utc_minute};
pub use violation::{RuleViolation, ScheduleProblem};

#[cfg(test)]
mod tests;
