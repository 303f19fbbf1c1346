//! Every redb table of a rollbook database, defined in one place with typed keys.
//!
//! Store format 2 keeps what one append touches to three tables (events, stream index, and the
//! directory for a new learner): a stream's head version is its last index entry, the chain
//! link rides in the event's value, and the chain head is the last event's link. The tables
//! only formats 1 and 2 had are at the end, for the upgrade. Format 3 files idempotency records
//! under a hash of the acting account and the key, in a table of its own.

use redb::TableDefinition;
use uuid::Uuid;

/// Global position (gapless, from 1) → chain link (32 bytes) ‖ codec id byte ‖ encoded
/// envelope. The truth.
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// (cohort, stream version) → global position. A stream's last entry is its head version.
pub const STREAM_INDEX: TableDefinition<(Uuid, u64), u64> = TableDefinition::new("stream_index");
/// (cohort, version) → (snapshot schema version, bytes). A disposable cache.
pub const SNAPSHOTS: TableDefinition<(Uuid, u64), (u16, &[u8])> = TableDefinition::new("snapshots");
/// SHA-256 of (acting account id ‖ `Idempotency-Key`) ([`idempotency_key`]) → encoded record
/// of the first outcome. Keys are never stored as sent (a client may put anything in one, an
/// email included), and one account's key never answers another's request. Since format 3.
pub const COMMANDS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("idempotency");
/// Normalised learner key → learner id (16 bytes) ‖ encoded directory entry (key, display
/// name). Mutable, outside the history.
pub const DIRECTORY: TableDefinition<&str, &[u8]> = TableDefinition::new("directory");
/// Learner id → encoded erasure record (when, by whom; no personal data): the learners whose
/// directory entry and free text were erased.
pub const ERASURES: TableDefinition<Uuid, &[u8]> = TableDefinition::new("erasures");
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

/// Webhook subscription id → encoded subscription (name, URL, filters, signing secret,
/// paused or not, last error, created). Managed by admins; not history.
pub const WEBHOOKS: TableDefinition<Uuid, &[u8]> = TableDefinition::new("webhooks");
/// Webhook subscription id → the position of the last event it delivered (answered with a
/// 2xx). Apart from [`WEBHOOKS`] so that advancing it is a small write.
pub const WEBHOOK_POSITIONS: TableDefinition<Uuid, u64> = TableDefinition::new("webhook_positions");

/// Name → the key offer links are signed with (32 random bytes, made once). Not history; a
/// backup carries it, so links mailed before a restore still work after it.
pub const OFFER_LINK_KEY: TableDefinition<&str, [u8; 32]> = TableDefinition::new("offer_link_key");
/// Position of a `waitlist.offered` → (1 accepted or 2 declined, when, in microseconds): the
/// offers answered through an offer link. No personal data.
pub const OFFER_LINKS_USED: TableDefinition<u64, (u8, i64)> =
    TableDefinition::new("offer_links_used");
/// Learner e-mail state: the outbox position (`position`: the last event whose e-mails were all
/// handled) and the last mail log number (`log_seq`).
pub const MAIL_STATE: TableDefinition<&str, u64> = TableDefinition::new("mail_state");
/// (learner id, log number) → encoded mail log line (no address, no name). Erased with the
/// learner.
pub const MAIL_LOG: TableDefinition<(Uuid, u64), &[u8]> = TableDefinition::new("mail_log");
/// Log number → learner id, for the lines that record a refusal (the Admin page's recent
/// failures).
pub const MAIL_FAILURES: TableDefinition<u64, Uuid> = TableDefinition::new("mail_failures");
/// (event position, learner id) → log number: the e-mails of events past the outbox position
/// already handled (an event can mail several learners); dropped when the position passes.
pub const MAIL_DONE: TableDefinition<(u64, Uuid), u64> = TableDefinition::new("mail_done");
/// (cohort id, learner id, the offer's expiry in microseconds) → log number: the offer
/// reminders handled, so a restart does not send one twice.
pub const MAIL_REMINDERS: TableDefinition<(Uuid, Uuid, i64), u64> =
    TableDefinition::new("mail_reminders");

/// Journal id (ascending) → encoded rejected command: who tried what, and the rule that refused
/// it. Not history: pruned after a retention period.
pub const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("journal");

/// Where the `Idempotency-Key` `key` sent by `account` is filed in [`COMMANDS`]: the SHA-256 of
/// the account's 16 bytes, then the key's bytes (the account's fixed length keeps the two
/// apart).
#[must_use]
pub fn idempotency_key(account: Uuid, key: &str) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(account.as_bytes());
    hasher.update(key.as_bytes());
    hasher.finalize().into()
}

/// Format 2 tables, read only by the upgrade to format 3.
pub mod format2 {
    use redb::TableDefinition;

    /// `Idempotency-Key` as sent → encoded record of the first outcome.
    pub const COMMANDS: TableDefinition<&str, &[u8]> = TableDefinition::new("commands");
}

/// Format 1 tables, read only by the upgrade to format 2 (format 1's `events` held the encoded
/// envelope alone, without its link).
pub mod format1 {
    use redb::TableDefinition;
    use uuid::Uuid;

    /// Cohort → head version of its stream.
    pub const STREAMS: TableDefinition<Uuid, u64> = TableDefinition::new("streams");
    /// Learner id → encoded directory entry.
    pub const LEARNERS: TableDefinition<Uuid, &[u8]> = TableDefinition::new("learners");
    /// Normalised learner key → learner id.
    pub const LEARNER_KEYS: TableDefinition<&str, Uuid> = TableDefinition::new("learner_keys");
    /// Global position → chain link.
    pub const CHAIN: TableDefinition<u64, [u8; 32]> = TableDefinition::new("chain");
    /// Store-wide facts that are bytes: the chain head.
    pub const META_BYTES: TableDefinition<&str, &[u8]> = TableDefinition::new("meta_bytes");
}

/// The chain link (SHA-256 of the previous link ‖ position ‖ the event's digest) a stored event
/// value starts with, and the encoded envelope after it.
pub fn split_event(value: &[u8]) -> Option<([u8; 32], &[u8])> {
    let (link, envelope) = value.split_first_chunk::<32>()?;
    Some((*link, envelope))
}

/// A stored event value: its chain link, then its encoded envelope.
pub fn event_value(link: &[u8; 32], envelope: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(32 + envelope.len());
    value.extend_from_slice(link);
    value.extend_from_slice(envelope);
    value
}

/// A stored directory value: the learner id, then the encoded entry.
pub fn directory_value(id: Uuid, record: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(16 + record.len());
    value.extend_from_slice(id.as_bytes());
    value.extend_from_slice(record);
    value
}

/// The learner id and encoded entry of a stored directory value.
pub fn split_directory(value: &[u8]) -> Option<(Uuid, &[u8])> {
    let (id, record) = value.split_first_chunk::<16>()?;
    Some((Uuid::from_bytes(*id), record))
}
