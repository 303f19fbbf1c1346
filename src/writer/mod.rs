//! The writer: the only code that appends to the store.
//!
//! One thread takes queued commands in batches, decides each in order against the current
//! state (including events decided earlier in the same batch), appends the whole batch in one
//! durable redb transaction, publishes the committed events to the projections, and only then
//! answers each caller. Two staff racing for the last seat cannot both win, and many
//! concurrent commands share one fsync.
//!
//! Its parts: [`request`] (what callers submit and get back), [`batch`] (deciding and
//! committing one batch), [`idempotency`] (fingerprints and repeated keys), [`cache`] (cohort
//! states kept between batches), [`maintenance`] (erasure and journal pruning, between
//! batches), [`bulk`] (many enrollments into one cohort as one append, between batches) and
//! [`thread`] (the queue, the thread and its handle). Apart from them,
//! [`preview`] decides without committing (dry runs), and holds nothing that could write.

mod batch;
mod bulk;
mod cache;
mod idempotency;
mod maintenance;
mod preview;
mod request;
mod thread;
mod transfer;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::clock::Clock;
use crate::domain::{RuleViolation, TransferRefused};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

pub use batch::BatchOutcome;
pub use bulk::{BulkCommitted, BulkEnroll, BulkRow};
pub use preview::{Predicted, Preview, Stage, StageError};
pub use request::{CommandKind, Committed, Request, Submission};
pub use thread::{WriterHandle, WriterThread, spawn};
pub use transfer::{PredictedTransfer, TransferSummary, refused_cohort, transfer_events};

use cache::CohortCache;

/// Why a command was not committed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// A business rule refused it.
    #[error(transparent)]
    Rejected(RuleViolation),
    /// A business rule of one of the two cohorts of a transfer refused it: which one, and why.
    #[error(transparent)]
    TransferRefused(TransferRefused),
    /// `If-Match` named another version than the cohort's.
    #[error("cohort is at version {actual}, the request expected {expected}")]
    VersionConflict {
        /// What the caller expected.
        expected: u64,
        /// The cohort's version.
        actual: u64,
    },
    /// The idempotency key was used before for a different request.
    #[error("idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// The store failed; nothing of this batch was stored.
    #[error("storage failure: {0}")]
    Store(#[from] Arc<StoreError>),
    /// The writer has stopped (the server is shutting down).
    #[error("the writer has stopped")]
    Stopped,
    /// The writer hit a bug deciding this batch; nothing of the batch was answered as stored.
    #[error("internal error in the writer")]
    Internal,
}

/// Tunables of the writer.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Keep a snapshot of a cohort at every N-th stream version.
    pub snapshot_every: u64,
    /// Most commands decided and committed together.
    pub max_batch: usize,
    /// Most cohort states kept in memory.
    pub cache_capacity: usize,
    /// How long refused commands stay in the journal.
    pub journal_retention: SignedDuration,
    /// Where the writer thread counts command outcomes, batch sizes and commit times; nothing
    /// is counted without it.
    pub metrics: Option<Arc<Metrics>>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            snapshot_every: 100,
            max_batch: 512,
            cache_capacity: 10_000,
            journal_retention: SignedDuration::from_hours(24 * 365),
            metrics: None,
        }
    }
}

/// The writer's synchronous core: decides and commits batches. The thread in [`spawn`] drives
/// it; tests may drive it directly.
pub struct Writer {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    options: WriterOptions,
    cache: CohortCache,
    last_prune: Option<Timestamp>,
    storage_failed: Arc<std::sync::atomic::AtomicBool>,
    /// The position of the newest stored event, for handlers that show it without reading
    /// the store (the writer is the only appender, so it always knows).
    head: Arc<std::sync::atomic::AtomicU64>,
    /// The command kinds of the batch in progress (kept to reuse its allocation).
    kinds: Vec<CommandKind>,
}

impl CommandError {
    /// The rule that refused the command, if one did (of either cohort of a transfer).
    #[must_use]
    pub const fn violation(&self) -> Option<&RuleViolation> {
        match self {
            Self::Rejected(violation)
            | Self::TransferRefused(TransferRefused { violation, .. }) => Some(violation),
            _ => None,
        }
    }
}

impl Writer {
    /// A writer over `store`.
    #[must_use]
    /// Blocking: reads the store's head position.
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>, options: WriterOptions) -> Self {
        let cache = CohortCache::new(options.cache_capacity);
        let head = store
            .read()
            .and_then(|reader| reader.head_position())
            .inspect_err(|e| tracing::warn!(error = %e, "writer: cannot read the store's head"))
            .unwrap_or_default();
        Self {
            store,
            clock,
            options,
            cache,
            last_prune: None,
            storage_failed: Arc::default(),
            head: Arc::new(std::sync::atomic::AtomicU64::new(head)),
            kinds: Vec::new(),
        }
    }
}

/// A time truncated to the microseconds the store keeps, so what the projections see live is
/// exactly what a replay will see.
fn stored_precision(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

#[cfg(test)]
mod tests;
