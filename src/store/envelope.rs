//! The envelope: one stored event with its position, stream version and metadata.

use jiff::Timestamp;
use uuid::Uuid;

use crate::domain::{CohortId, Event};

/// Who acted: recorded on every event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Stable id of the account (nil for the local actor).
    pub id: Uuid,
    /// Name shown in history.
    pub name: String,
}

impl Actor {
    /// The single actor every request acts as until accounts exist.
    #[must_use]
    pub fn local() -> Self {
        Self {
            id: Uuid::nil(),
            name: "local".to_owned(),
        }
    }

    /// The id of [`Actor::system`]: no account has it (accounts get random v4/v7 ids).
    pub const SYSTEM_ID: Uuid = Uuid::max();

    /// rollbook itself, for what it records on its own, such as an offer expiring when its
    /// hold runs out. Shown as "system" in history.
    #[must_use]
    pub fn system() -> Self {
        Self {
            id: Self::SYSTEM_ID,
            name: "system".to_owned(),
        }
    }

    /// The name of [`Actor::learner`]: no account may take it (account names have no spaces
    /// or brackets).
    pub const LEARNER_NAME: &str = "learner (offer link)";

    /// A learner answering their own offer through an offer link: the learner's opaque id as
    /// the actor id, and a fixed name that holds no personal data (so an erasure leaves
    /// nothing about them in the history).
    #[must_use]
    pub fn learner(learner: crate::domain::LearnerId) -> Self {
        Self {
            id: learner.0,
            name: Self::LEARNER_NAME.to_owned(),
        }
    }
}

/// Metadata shared by every event one command produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandMeta {
    /// Who issued the command.
    pub actor: Actor,
    /// Unique id of this command.
    pub command_id: Uuid,
    /// Groups the commands of one flow (from the caller, or the command id).
    pub correlation_id: Uuid,
    /// What caused this command (from the caller, or the command id).
    pub causation_id: Uuid,
}

/// A stored event, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Global position: gapless, from 1.
    pub position: u64,
    /// The cohort whose stream holds it.
    pub cohort: CohortId,
    /// Version of that stream after this event (from 1).
    pub version: u64,
    /// Schema version the payload was stored with (before upcasting).
    pub schema_version: u16,
    /// The domain event (upcast to the current shape).
    pub event: Event,
    /// When the command was decided.
    pub occurred_at: Timestamp,
    /// When the batch holding it was written.
    pub recorded_at: Timestamp,
    /// Command metadata.
    pub meta: CommandMeta,
}
