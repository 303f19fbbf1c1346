//! Every redb table of a rollbook database, defined in one place with typed keys.

use redb::TableDefinition;
use uuid::Uuid;

/// Global position (gapless, from 1) → codec id byte + encoded envelope. The truth.
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// (cohort, stream version) → global position.
pub const STREAM_INDEX: TableDefinition<(Uuid, u64), u64> = TableDefinition::new("stream_index");
/// Cohort → head version of its stream.
pub const STREAMS: TableDefinition<Uuid, u64> = TableDefinition::new("streams");
/// (cohort, version) → (snapshot schema version, bytes). A disposable cache.
pub const SNAPSHOTS: TableDefinition<(Uuid, u64), (u16, &[u8])> = TableDefinition::new("snapshots");
/// Idempotency key → encoded record of the first outcome.
pub const COMMANDS: TableDefinition<&str, &[u8]> = TableDefinition::new("commands");
/// Learner id → encoded directory entry (key, display name). Mutable, outside the history.
pub const LEARNERS: TableDefinition<Uuid, &[u8]> = TableDefinition::new("learners");
/// Normalised learner key → learner id.
pub const LEARNER_KEYS: TableDefinition<&str, Uuid> = TableDefinition::new("learner_keys");
/// Store-wide facts: the store format version.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Key in [`META`] of the store format version.
pub const META_FORMAT_VERSION: &str = "format_version";

/// Account id → encoded account (name, role, password hash, disabled, times).
pub const ACCOUNTS: TableDefinition<Uuid, &[u8]> = TableDefinition::new("accounts");
/// API token id → encoded token (account, label, SHA-256 of the secret, created).
pub const TOKENS: TableDefinition<Uuid, &[u8]> = TableDefinition::new("tokens");
/// SHA-256 of a session id → encoded session (account, CSRF secret, times).
pub const SESSIONS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("sessions");

/// Journal id (ascending) → encoded rejected command: who tried what, and the rule that refused
/// it. Not history: pruned after a retention period.
pub const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("journal");

/// Global position → chain hash: SHA-256(previous chain hash ‖ position ‖ the event's digest).
/// A history rewritten or reordered behind rollbook's back no longer chains.
pub const CHAIN: TableDefinition<u64, [u8; 32]> = TableDefinition::new("chain");
/// Store-wide facts that are bytes: the chain head (position and hash).
pub const META_BYTES: TableDefinition<&str, &[u8]> = TableDefinition::new("meta_bytes");

/// Key in [`META_BYTES`] of the chain head: position (8 bytes, little-endian) ‖ hash (32 bytes).
pub const META_CHAIN_HEAD: &str = "chain_head";
