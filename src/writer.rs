//! The writer: the only code that appends to the store.
//!
//! One thread takes queued commands in batches, decides each in order against the current
//! state (including events decided earlier in the same batch), appends the whole batch in one
//! durable redb transaction, publishes the committed events to the projections, and only then
//! answers each caller. Two staff racing for the last seat cannot both win, and many
//! concurrent commands share one fsync.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest as _, Sha256};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::{
    Capacity, Cohort, CohortCommand, CohortId, Event, LearnerId, NewCohort, ReasonCode,
    RuleViolation,
};
use crate::learner_key::LearnerKey;
use crate::metrics::{CommandKind, Metrics, Outcome};
use crate::projections::ReadModel;
use crate::store::{
    Actor, Batch, CommandMeta, CommandOutcome, CommandRecord, Envelope, Erasure, ErasureRecord,
    JournalEntry, LearnerRecord, Reader, Store, StoreError, StreamAppend, idempotency_key,
};

/// What a caller asks of one cohort, with learners named by key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Create a cohort under a fresh id.
    Create {
        /// The id to create (a UUID v7 chosen by the caller).
        cohort: CohortId,
        /// Its data.
        new: NewCohort,
    },
    /// Enroll (or waitlist) a learner, filing them in the directory if new.
    Enroll {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
        /// Display name to file (kept as is when `None`).
        name: Option<String>,
    },
    /// Withdraw an enrolled learner, or take a waitlisted one off the waitlist.
    Withdraw {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
        /// Why, as a code (kept for a seat given up; not for a waitlist place).
        reason_code: ReasonCode,
        /// Staff's free text.
        reason: String,
    },
    /// Take a learner off the waitlist.
    LeaveWaitlist {
        /// The cohort.
        cohort: CohortId,
        /// Who.
        learner: LearnerKey,
        /// Staff's free text.
        reason: String,
    },
    /// Promote the waitlist head.
    Promote {
        /// The cohort.
        cohort: CohortId,
    },
    /// Change the number of seats.
    ChangeCapacity {
        /// The cohort.
        cohort: CohortId,
        /// New seats.
        capacity: Capacity,
    },
    /// Close enrollment.
    Close {
        /// The cohort.
        cohort: CohortId,
    },
}

impl Request {
    /// The cohort addressed.
    #[must_use]
    pub const fn cohort(&self) -> CohortId {
        match self {
            Self::Create { cohort, .. }
            | Self::Enroll { cohort, .. }
            | Self::Withdraw { cohort, .. }
            | Self::LeaveWaitlist { cohort, .. }
            | Self::Promote { cohort }
            | Self::ChangeCapacity { cohort, .. }
            | Self::Close { cohort } => *cohort,
        }
    }

    /// What was asked, in words, without personal data (for the rejected-command journal).
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Create { new, .. } => format!("create with {} seats", new.capacity),
            Self::Enroll { .. } => "enroll".to_owned(),
            Self::Withdraw { .. } => "withdraw".to_owned(),
            Self::LeaveWaitlist { .. } => "leave the waitlist".to_owned(),
            Self::Promote { .. } => "promote the waitlist head".to_owned(),
            Self::ChangeCapacity { capacity, .. } => format!("change seats to {capacity}"),
            Self::Close { .. } => "close enrollment".to_owned(),
        }
    }

    /// The kind of command, for metrics.
    #[must_use]
    pub const fn kind(&self) -> CommandKind {
        match self {
            Self::Create { .. } => CommandKind::Create,
            Self::Enroll { .. } => CommandKind::Enroll,
            Self::Withdraw { .. } => CommandKind::Withdraw,
            Self::LeaveWaitlist { .. } => CommandKind::LeaveWaitlist,
            Self::Promote { .. } => CommandKind::Promote,
            Self::ChangeCapacity { .. } => CommandKind::ChangeCapacity,
            Self::Close { .. } => CommandKind::Close,
        }
    }

    /// The learner named, for learner commands.
    #[must_use]
    pub const fn learner_key(&self) -> Option<&LearnerKey> {
        match self {
            Self::Enroll { learner, .. }
            | Self::Withdraw { learner, .. }
            | Self::LeaveWaitlist { learner, .. } => Some(learner),
            Self::Create { .. }
            | Self::Promote { .. }
            | Self::ChangeCapacity { .. }
            | Self::Close { .. } => None,
        }
    }

    /// The request's fingerprint, stored with its idempotency key so a key reused for a
    /// different request is refused: the SHA-256 of its canonical text, so that no personal
    /// data (keys, names, reasons) is kept with it.
    fn fingerprint(&self) -> String {
        format!(
            "sha256:{}",
            crate::store::chain::show(&Sha256::digest(self.canonical().as_bytes()).into())
        )
    }

    /// A canonical text of the request. The fields form a JSON array, so no text in one field
    /// can pass for another. Create is fingerprinted without its generated id.
    fn canonical(&self) -> String {
        let fields: Vec<String> = match self {
            Self::Create { new, .. } => vec![
                "create".into(),
                new.name.clone(),
                new.course.clone(),
                new.instructor.clone(),
                new.capacity.to_string(),
                new.starts_at.to_string(),
                new.enrollment_deadline.to_string(),
                new.withdrawal_deadline.to_string(),
            ],
            Self::Enroll {
                cohort,
                learner,
                name,
            } => vec![
                "enroll".into(),
                cohort.to_string(),
                learner.to_string(),
                name.clone().unwrap_or_default(),
            ],
            Self::Withdraw {
                cohort,
                learner,
                reason_code,
                reason,
            } => {
                let mut fields = vec![
                    "withdraw".into(),
                    cohort.to_string(),
                    learner.to_string(),
                    reason.clone(),
                ];
                // Without a code, the text of requests made before codes existed: a retry of
                // one still matches its record.
                if *reason_code != ReasonCode::Other {
                    fields.push(reason_code.as_str().to_owned());
                }
                fields
            }
            Self::LeaveWaitlist {
                cohort,
                learner,
                reason,
            } => {
                vec![
                    "leave".into(),
                    cohort.to_string(),
                    learner.to_string(),
                    reason.clone(),
                ]
            }
            Self::Promote { cohort } => vec!["promote".into(), cohort.to_string()],
            Self::ChangeCapacity { cohort, capacity } => {
                vec!["capacity".into(), cohort.to_string(), capacity.to_string()]
            }
            Self::Close { cohort } => vec!["close".into(), cohort.to_string()],
        };
        serde_json::to_string(&fields).unwrap_or_default()
    }

    fn command(&self, learner: Option<LearnerId>) -> CohortCommand {
        let who = || learner.expect("learner resolved for learner commands");
        match self {
            // Times are decided at the precision they are stored at, so that what is answered
            // and shown now is what a replay shows.
            Self::Create { new, .. } => CohortCommand::Create(NewCohort {
                starts_at: stored_precision(new.starts_at),
                enrollment_deadline: stored_precision(new.enrollment_deadline),
                withdrawal_deadline: stored_precision(new.withdrawal_deadline),
                ..new.clone()
            }),
            Self::Enroll { .. } => CohortCommand::Enroll { learner: who() },
            Self::Withdraw {
                reason_code,
                reason,
                ..
            } => CohortCommand::Withdraw {
                learner: who(),
                reason_code: *reason_code,
                reason: reason.clone(),
            },
            Self::LeaveWaitlist { reason, .. } => CohortCommand::LeaveWaitlist {
                learner: who(),
                reason: reason.clone(),
            },
            Self::Promote { .. } => CohortCommand::Promote,
            Self::ChangeCapacity { capacity, .. } => CohortCommand::ChangeCapacity {
                capacity: *capacity,
            },
            Self::Close { .. } => CohortCommand::CloseEnrollment,
        }
    }
}

/// A request with everything the writer records about it.
#[derive(Clone, Debug)]
pub struct Submission {
    /// What to do.
    pub request: Request,
    /// `If-Match`: refuse unless the cohort is at this version.
    pub expected_version: Option<u64>,
    /// `Idempotency-Key`: a repeat answers the first outcome and writes nothing.
    pub idempotency_key: Option<String>,
    /// Who acts.
    pub actor: Actor,
    /// Groups commands of one flow; defaults to the command id.
    pub correlation_id: Option<Uuid>,
    /// What caused the command; defaults to the command id.
    pub causation_id: Option<Uuid>,
    /// The command's id; the writer mints one (a version 7 UUID) when none is given. For tools that
    /// must write the same history twice (`rollbook generate`); it must be unique.
    pub command_id: Option<Uuid>,
    /// The id to file the command's learner under if their key is new; minted when none is
    /// given. Same purpose and rule as `command_id`.
    pub new_learner_id: Option<LearnerId>,
}

impl Submission {
    /// A submission with no preconditions, acting as `actor`.
    #[must_use]
    pub const fn new(request: Request, actor: Actor) -> Self {
        Self {
            request,
            expected_version: None,
            idempotency_key: None,
            actor,
            correlation_id: None,
            causation_id: None,
            command_id: None,
            new_learner_id: None,
        }
    }
}

/// A command the writer committed (or had committed before, for an idempotent repeat).
#[derive(Clone, Debug)]
pub struct Committed {
    /// The cohort.
    pub cohort: CohortId,
    /// Its stream version after the command.
    pub version: u64,
    /// The events the command stored, in order.
    pub events: Vec<Envelope>,
    /// True when this answers a repeated idempotency key.
    pub replayed: bool,
}

impl Committed {
    /// Position of the command's last event.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.events.last().map_or(0, |e| e.position)
    }
}

/// Why a command was not committed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// A business rule refused it.
    #[error(transparent)]
    Rejected(RuleViolation),
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

type Reply = oneshot::Sender<Result<Committed, CommandError>>;
type ErasureReply = oneshot::Sender<Result<Option<Erasure>, CommandError>>;

/// Work for the writer thread.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "commands are the common case: boxing them would allocate per command for a rare erasure"
)]
enum Job {
    /// A command, batched with those queued beside it.
    Command(Submission, Reply),
    /// A learner's erasure, done between batches.
    Erase(LearnerKey, Actor, ErasureReply),
}

/// A cheap, cloneable handle to submit commands to the writer.
#[derive(Clone, Debug)]
pub struct WriterHandle {
    tx: mpsc::Sender<Job>,
    /// Set once a commit failed on storage: redb refuses further writes until reopened.
    storage_failed: Arc<std::sync::atomic::AtomicBool>,
}

impl WriterHandle {
    /// Whether the writer thread still takes commands.
    #[must_use]
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Whether storage failed a commit since the start (the server then needs a restart: redb
    /// refuses further writes after an I/O error; health checks report it).
    #[must_use]
    pub fn storage_failed(&self) -> bool {
        self.storage_failed
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queues a submission and waits until it is durably committed or refused.
    pub async fn submit(&self, submission: Submission) -> Result<Committed, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Command(submission, reply))
            .await
            .map_err(|_| CommandError::Stopped)?;
        answer.await.map_err(|_| CommandError::Stopped)?
    }

    /// Erases the personal data of the learner filed under `key` (see
    /// [`Store::erase_learner`]), rewrites the file without it, and rebuilds the projections;
    /// `None` when no learner has that key. Commands queued meanwhile wait.
    pub async fn erase(
        &self,
        key: LearnerKey,
        actor: Actor,
    ) -> Result<Option<Erasure>, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Erase(key, actor, reply))
            .await
            .map_err(|_| CommandError::Stopped)?;
        answer.await.map_err(|_| CommandError::Stopped)?
    }
}

/// The running writer thread.
#[derive(Debug)]
pub struct WriterThread {
    thread: JoinHandle<()>,
}

impl WriterThread {
    /// Waits until the writer has drained its queue and stopped. It stops once every
    /// [`WriterHandle`] is dropped.
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("writer thread panicked");
        }
    }
}

/// Starts the writer thread over `store`, publishing to `read_model`.
pub fn spawn(
    store: Arc<Store>,
    read_model: Arc<ReadModel>,
    clock: Arc<dyn Clock>,
    options: WriterOptions,
) -> std::io::Result<(WriterHandle, WriterThread)> {
    let (tx, mut rx) = mpsc::channel::<Job>(options.max_batch * 8);
    let mut core = Writer::new(store, clock, options);
    let storage_failed = core.storage_failed.clone();
    let thread = std::thread::Builder::new()
        .name("rollbook-writer".to_owned())
        .spawn(move || {
            let max = core.options.max_batch;
            let mut queue = Vec::with_capacity(max);
            let mut next = None;
            loop {
                let Some(first) = next.take().or_else(|| rx.blocking_recv()) else {
                    break;
                };
                // An erasure waits for nothing queued after it, and a batch for no erasure.
                let (submission, reply) = match first {
                    Job::Erase(key, actor, reply) => {
                        let _ = reply.send(core.erase(&key, actor, &read_model));
                        continue;
                    }
                    Job::Command(submission, reply) => (submission, reply),
                };
                queue.push((submission, reply));
                while queue.len() < max {
                    match rx.try_recv() {
                        Ok(Job::Command(submission, reply)) => queue.push((submission, reply)),
                        Ok(erase) => {
                            next = Some(erase);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let (submissions, replies): (Vec<_>, Vec<_>) = queue.drain(..).unzip();
                let results = core.process_and_publish(submissions, &read_model);
                core.prune_journal_if_due(&read_model);
                for (reply, result) in replies.into_iter().zip(results) {
                    // A caller that gave up waiting is no reason to stop.
                    let _ = reply.send(result);
                }
            }
            tracing::debug!("writer stopped: queue closed and drained");
        })?;
    Ok((WriterHandle { tx, storage_failed }, WriterThread { thread }))
}

/// What one batch did: an answer per submission, and what to publish.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// One result per submission, in order.
    pub results: Vec<Result<Committed, CommandError>>,
    /// Every envelope committed, in position order.
    pub envelopes: Vec<Envelope>,
    /// Learner directory entries written.
    pub learners: Vec<(LearnerId, LearnerRecord)>,
    /// Refused commands written to the journal.
    pub journal: Vec<(u64, JournalEntry)>,
}

/// How a submission of the batch is answered once the batch is committed.
enum Pending {
    Done(Result<Committed, CommandError>),
    /// Refused, with the refusal recorded under its idempotency key by this batch.
    Recorded(RuleViolation),
    /// The index of its append in the batch.
    Appended(usize),
    /// A repeat, within the batch, of the append at this index.
    Repeat(usize),
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
    /// The command kinds of the batch in progress (kept to reuse its allocation).
    kinds: Vec<CommandKind>,
}

impl Writer {
    /// Processes a batch and publishes what it committed. A panic while deciding (a bug, never
    /// an input) does not stop the writer: every cached state is forgotten, the projections are
    /// brought up to whatever the store holds, and the batch is answered with an error.
    fn process_and_publish(
        &mut self,
        submissions: Vec<Submission>,
        read_model: &ReadModel,
    ) -> Vec<Result<Committed, CommandError>> {
        let count = submissions.len();
        // The kinds are noted before the submissions are consumed, in a buffer kept between
        // batches so that counting allocates nothing.
        let mut kinds = std::mem::take(&mut self.kinds);
        kinds.clear();
        if self.options.metrics.is_some() {
            kinds.extend(submissions.iter().map(|s| s.request.kind()));
        }
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.process(submissions)));
        let results = if let Ok(outcome) = outcome {
            read_model.publish(&outcome.learners, &outcome.journal, &outcome.envelopes);
            outcome.results
        } else {
            tracing::error!("the writer panicked deciding a batch; recovering");
            self.cache.clear();
            if let Err(e) = read_model.catch_up(&self.store) {
                tracing::error!(error = %e, "projections could not catch up after a writer panic");
            }
            (0..count).map(|_| Err(CommandError::Internal)).collect()
        };
        if let Some(metrics) = &self.options.metrics {
            metrics.batch(count);
            for (kind, result) in kinds.iter().zip(&results) {
                let (outcome, code) = outcome_of(result);
                metrics.command(*kind, outcome, code);
            }
        }
        self.kinds = kinds;
        results
    }

    /// Erases a learner's personal data, rewrites the file without it, and rebuilds the
    /// projections from what remains.
    pub fn erase(
        &mut self,
        key: &LearnerKey,
        actor: Actor,
        read_model: &ReadModel,
    ) -> Result<Option<Erasure>, CommandError> {
        let record = ErasureRecord {
            erased_at: stored_precision(self.clock.now()),
            actor,
        };
        let erased = self
            .store
            .erase_learner(key.as_str(), &record)
            .map_err(|e| CommandError::Store(Arc::new(e)))?;
        let Some(erased) = erased else {
            return Ok(None);
        };
        tracing::info!(
            learner = %erased.learner,
            events_rewritten = erased.events_rewritten,
            by = %record.actor.name,
            "learner erased; rewriting the database file without the old pages"
        );
        self.store.rewrite_file().map_err(|e| {
            tracing::error!(error = %e, "the erasure is stored, but the file could not be rewritten");
            CommandError::Store(Arc::new(e))
        })?;
        read_model
            .reload(&self.store)
            .map_err(|e| CommandError::Store(Arc::new(e)))?;
        Ok(Some(erased))
    }

    /// Prunes journal entries older than the retention period, at most once a day.
    pub fn prune_journal_if_due(&mut self, read_model: &ReadModel) {
        let now = self.clock.now();
        if self
            .last_prune
            .is_some_and(|t| now.duration_since(t) < SignedDuration::from_hours(24))
        {
            return;
        }
        self.last_prune = Some(now);
        let cutoff = now - self.options.journal_retention;
        match self.store.prune_journal(cutoff) {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "pruned the rejected-command journal"),
            Err(e) => tracing::warn!(error = %e, "could not prune the rejected-command journal"),
        }
        read_model.prune_journal(cutoff);
    }

    /// A writer over `store`.
    #[must_use]
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>, options: WriterOptions) -> Self {
        let cache = CohortCache::new(options.cache_capacity);
        Self {
            store,
            clock,
            options,
            cache,
            last_prune: None,
            storage_failed: Arc::default(),
            kinds: Vec::new(),
        }
    }

    /// Decides every submission in order, commits the decided events in one durable
    /// transaction, and answers each. On a storage failure nothing is kept, in the store or in
    /// the writer's state, and every submission that would have written is answered with it.
    pub fn process(&mut self, submissions: Vec<Submission>) -> BatchOutcome {
        let now = stored_precision(self.clock.now());
        let reader = match self.store.read() {
            Ok(reader) => reader,
            Err(e) => return fail_all(submissions.len(), &Arc::new(e)),
        };
        let journal_next = match reader.last_journal_id() {
            Ok(id) => id,
            Err(e) => return fail_all(submissions.len(), &Arc::new(e)),
        };
        let mut work = BatchWork {
            journal_next,
            ..BatchWork::default()
        };
        let mut pending = Vec::with_capacity(submissions.len());
        for submission in submissions {
            let answer = match self.decide_one(&reader, &mut work, submission, now) {
                Ok(answer) => answer,
                Err(e) => Pending::Done(Err(CommandError::Store(Arc::new(e)))),
            };
            pending.push(answer);
        }
        drop(reader);

        let committed = if work.batch.is_empty() {
            Ok(Vec::new())
        } else {
            let started = Instant::now();
            let committed = self.store.commit(&work.batch, now);
            if let Some(metrics) = &self.options.metrics {
                metrics.commit(started.elapsed());
            }
            committed
        };
        let per_append = match committed {
            Ok(per_append) => per_append,
            Err(e) => {
                // The states decided in this batch were taken out of the cache and are dropped
                // with it: the cache holds only committed states.
                tracing::error!(error = %e, "batch commit failed; nothing of it was stored");
                if matches!(e, StoreError::Redb(_) | StoreError::Io { .. }) {
                    self.storage_failed
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                let e = Arc::new(e);
                let results = pending
                    .into_iter()
                    .map(|p| match p {
                        Pending::Done(result) => result,
                        Pending::Recorded(_) | Pending::Appended(_) | Pending::Repeat(_) => {
                            Err(CommandError::Store(e.clone()))
                        }
                    })
                    .collect();
                return BatchOutcome {
                    results,
                    ..BatchOutcome::default()
                };
            }
        };
        for (cohort, (state, version)) in work.states {
            if let Some(state) = state {
                self.cache.insert(cohort, state, version);
            }
        }
        let envelopes = per_append.iter().flatten().cloned().collect();
        let results = pending
            .into_iter()
            .map(|p| match p {
                Pending::Done(result) => result,
                Pending::Recorded(violation) => Err(CommandError::Rejected(violation)),
                Pending::Appended(i) | Pending::Repeat(i) => {
                    let events = per_append[i].clone();
                    Ok(Committed {
                        cohort: work.batch.appends[i].cohort,
                        version: events.last().map_or(0, |e| e.version),
                        events,
                        replayed: matches!(p, Pending::Repeat(_)),
                    })
                }
            })
            .collect();
        BatchOutcome {
            results,
            envelopes,
            learners: work.batch.learners,
            journal: work.batch.journal,
        }
    }

    fn decide_one(
        &mut self,
        reader: &Reader,
        work: &mut BatchWork,
        submission: Submission,
        now: Timestamp,
    ) -> Result<Pending, StoreError> {
        let request = &submission.request;
        let fingerprint = request.fingerprint();
        // Filed hashed with the acting account: the key is never stored as sent, and another
        // account's same key is another key.
        let key = submission
            .idempotency_key
            .as_deref()
            .map(|key| idempotency_key(submission.actor.id, key));
        if let Some(key) = &key {
            if let Some(answer) = Self::repeat(reader, work, key, &fingerprint)? {
                return Ok(answer);
            }
        }

        let cohort = request.cohort();
        let learner = match request.learner_key() {
            Some(key) => Some(Self::resolve_learner(
                reader,
                work,
                key,
                submission.new_learner_id,
            )?),
            None => None,
        };
        self.load_state(reader, work, cohort)?;
        let (state, version) = work.states.get_mut(&cohort).expect("loaded above");
        let exists = state.is_some() || matches!(request, Request::Create { .. });
        if let (true, Some(expected)) = (exists, submission.expected_version) {
            if expected != *version {
                return Ok(Pending::Done(Err(CommandError::VersionConflict {
                    expected,
                    actual: *version,
                })));
            }
        }
        let command = request.command(learner.as_ref().map(|(id, _)| *id));
        let events = match Cohort::decide(state.as_ref(), cohort, &command, now) {
            Ok(events) => events,
            Err(violation) => {
                let learner = learner.as_ref().map(|(id, known)| (*id, known.is_some()));
                return Ok(refuse(
                    work,
                    &submission,
                    key,
                    learner,
                    fingerprint,
                    violation,
                    now,
                ));
            }
        };

        let expected_version = *version;
        let snapshot_every = self.options.snapshot_every;
        fold(
            cohort,
            state,
            version,
            &events,
            snapshot_every,
            &mut work.batch,
        );
        if let (
            Some((id, known)),
            Request::Enroll {
                learner: key, name, ..
            },
        ) = (learner, request)
        {
            let record = LearnerRecord {
                key: key.as_str().to_owned(),
                name: name
                    .clone()
                    .or_else(|| known.as_ref().map(|r| r.name.clone()))
                    .unwrap_or_default(),
            };
            if known.as_ref() != Some(&record) {
                work.learners
                    .insert(key.clone(), (id, Some(record.clone())));
                work.batch.learners.push((id, record));
            }
        }

        let command_id = submission.command_id.unwrap_or_else(Uuid::now_v7);
        let index = work.batch.appends.len();
        if let Some(key) = key {
            work.keys
                .insert(key, (KeyUse::Appended(index), fingerprint.clone()));
        }
        work.batch.appends.push(StreamAppend {
            cohort,
            expected_version,
            events,
            occurred_at: now,
            meta: CommandMeta {
                actor: submission.actor,
                command_id,
                correlation_id: submission.correlation_id.unwrap_or(command_id),
                causation_id: submission.causation_id.unwrap_or(command_id),
            },
            idempotency: key.map(|key| (key, fingerprint)),
        });
        Ok(Pending::Appended(index))
    }

    /// The answer to a repeated idempotency key (earlier in this batch, or recorded), if it is
    /// one.
    fn repeat(
        reader: &Reader,
        work: &BatchWork,
        key: &[u8; 32],
        fingerprint: &str,
    ) -> Result<Option<Pending>, StoreError> {
        if let Some((earlier, earlier_fingerprint)) = work.keys.get(key) {
            if earlier_fingerprint != fingerprint {
                return Ok(Some(Pending::Done(Err(CommandError::IdempotencyKeyReused))));
            }
            return Ok(Some(match earlier {
                KeyUse::Appended(i) => Pending::Repeat(*i),
                KeyUse::Rejected(violation) => {
                    Pending::Done(Err(CommandError::Rejected(violation.clone())))
                }
            }));
        }
        let Some(record) = reader.command_record(key)? else {
            return Ok(None);
        };
        if record.fingerprint != fingerprint {
            return Ok(Some(Pending::Done(Err(CommandError::IdempotencyKeyReused))));
        }
        Ok(Some(Pending::Done(match record.outcome {
            CommandOutcome::Rejected(violation) => Err(CommandError::Rejected(violation)),
            CommandOutcome::Committed {
                cohort,
                version,
                first_position,
                last_position,
            } => {
                let positions: Vec<u64> = (first_position..=last_position).collect();
                Ok(Committed {
                    cohort,
                    version,
                    events: reader.events_at(&positions)?,
                    replayed: true,
                })
            }
        })))
    }

    /// Makes `work.states` hold the cohort's state and version as of everything decided so far
    /// in this batch. On first touch the state moves from the cache (or the store) into the
    /// batch's work, so deciding never clones a roster; it goes back into the cache only once
    /// the batch is committed.
    fn load_state(
        &mut self,
        reader: &Reader,
        work: &mut BatchWork,
        cohort: CohortId,
    ) -> Result<(), StoreError> {
        if !work.states.contains_key(&cohort) {
            let loaded = match self.cache.take(cohort) {
                Some((state, version)) => (Some(state), version),
                None => match reader.load_cohort(cohort)? {
                    Some(loaded) => {
                        if loaded.snapshot_unreadable {
                            // Rebuild the cache that could not be read.
                            work.batch.snapshots.push((
                                cohort,
                                loaded.version,
                                loaded.state.clone(),
                            ));
                        }
                        (Some(loaded.state), loaded.version)
                    }
                    None => (None, 0),
                },
            };
            work.states.insert(cohort, loaded);
        }
        Ok(())
    }

    /// The learner filed under `key` (as of this batch), or a fresh id not yet filed (`fresh`
    /// when given).
    fn resolve_learner(
        reader: &Reader,
        work: &BatchWork,
        key: &LearnerKey,
        fresh: Option<LearnerId>,
    ) -> Result<(LearnerId, Option<LearnerRecord>), StoreError> {
        if let Some((id, record)) = work.learners.get(key) {
            return Ok((*id, record.clone()));
        }
        Ok(match reader.learner_by_key(key.as_str())? {
            Some((id, record)) => (id, Some(record)),
            None => (fresh.unwrap_or_else(|| LearnerId(Uuid::now_v7())), None),
        })
    }
}

/// Records a refusal: in the journal (filing a new learner an enrollment named, so their page
/// can say why they could not enroll), and under the idempotency key if there is one.
fn refuse(
    work: &mut BatchWork,
    submission: &Submission,
    key: Option<[u8; 32]>,
    learner: Option<(LearnerId, bool)>,
    fingerprint: String,
    violation: RuleViolation,
    now: Timestamp,
) -> Pending {
    let request = &submission.request;
    if !matches!(violation, RuleViolation::CohortNotFound { .. }) {
        let filed = match (learner, request) {
            (
                Some((id, false)),
                Request::Enroll {
                    learner: key, name, ..
                },
            ) => {
                if !work.learners.contains_key(key) {
                    let record = LearnerRecord {
                        key: key.as_str().to_owned(),
                        name: name.clone().unwrap_or_default(),
                    };
                    work.learners
                        .insert(key.clone(), (id, Some(record.clone())));
                    work.batch.learners.push((id, record));
                }
                Some(id)
            }
            (Some((id, true)), _) => Some(id),
            _ => None,
        };
        work.journal_next += 1;
        let entry = JournalEntry {
            at: now,
            actor: submission.actor.clone(),
            cohort: request.cohort(),
            learner: filed,
            command: request.describe(),
            violation: violation.clone(),
        };
        work.batch.journal.push((work.journal_next, entry));
    }
    let Some(key) = key else {
        return Pending::Done(Err(CommandError::Rejected(violation)));
    };
    let record = CommandRecord {
        fingerprint: fingerprint.clone(),
        recorded_at: now,
        outcome: CommandOutcome::Rejected(violation.clone()),
    };
    work.keys
        .insert(key, (KeyUse::Rejected(violation.clone()), fingerprint));
    work.batch.rejections.push((key, record));
    Pending::Recorded(violation)
}

/// Applies decided events to the state in place, noting snapshots due at every N-th version.
fn fold(
    cohort: CohortId,
    state: &mut Option<Cohort>,
    version: &mut u64,
    events: &[Event],
    snapshot_every: u64,
    batch: &mut Batch,
) {
    for event in events {
        match (&mut *state, event) {
            (None, Event::CohortCreated(data)) => *state = Some(Cohort::created(cohort, data)),
            (Some(s), event) => s.apply(event),
            (None, _) => {}
        }
        *version += 1;
        if snapshot_every > 0 && *version % snapshot_every == 0 {
            if let Some(s) = state.as_ref() {
                batch.snapshots.push((cohort, *version, s.clone()));
            }
        }
    }
}

/// How an idempotency key was used earlier in the batch.
enum KeyUse {
    Appended(usize),
    Rejected(RuleViolation),
}

/// What a batch has decided so far.
#[derive(Default)]
struct BatchWork {
    batch: Batch,
    /// Cohort states after this batch's events (taken out of the cache until committed).
    states: HashMap<CohortId, (Option<Cohort>, u64)>,
    /// Learners filed by this batch.
    learners: HashMap<LearnerKey, (LearnerId, Option<LearnerRecord>)>,
    /// Idempotency keys used in this batch, as filed (hashed with the account) → (how,
    /// fingerprint).
    keys: HashMap<[u8; 32], (KeyUse, String)>,
    /// The id of the last journal entry (stored or of this batch).
    journal_next: u64,
}

/// A time truncated to the microseconds the store keeps, so what the projections see live is
/// exactly what a replay will see.
fn stored_precision(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

/// How a result is counted: its outcome, and a refusal's rule code.
fn outcome_of(result: &Result<Committed, CommandError>) -> (Outcome, Option<&'static str>) {
    match result {
        Ok(committed) if committed.replayed => (Outcome::Replayed, None),
        Ok(_) => (Outcome::Accepted, None),
        Err(CommandError::Rejected(violation)) => (Outcome::Rejected, Some(violation.code())),
        Err(CommandError::VersionConflict { .. }) => (Outcome::VersionConflict, None),
        Err(CommandError::IdempotencyKeyReused) => (Outcome::IdempotencyKeyReused, None),
        Err(CommandError::Store(_)) => (Outcome::StorageFailed, None),
        Err(CommandError::Stopped | CommandError::Internal) => (Outcome::Internal, None),
    }
}

fn fail_all(n: usize, error: &Arc<StoreError>) -> BatchOutcome {
    BatchOutcome {
        results: (0..n)
            .map(|_| Err(CommandError::Store(error.clone())))
            .collect(),
        ..BatchOutcome::default()
    }
}

/// A bounded cache of cohort states; the least recently used are evicted, in bulk.
struct CohortCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<CohortId, (Cohort, u64, u64)>,
}

impl CohortCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
        }
    }

    fn take(&mut self, cohort: CohortId) -> Option<(Cohort, u64)> {
        self.entries
            .remove(&cohort)
            .map(|(state, version, _)| (state, version))
    }

    fn clear(&mut self) {
        self.entries.clear();
    }

    fn insert(&mut self, cohort: CohortId, state: Cohort, version: u64) {
        self.tick += 1;
        self.entries.insert(cohort, (state, version, self.tick));
        if self.entries.len() > self.capacity {
            // Evict the least recently used eighth at once, so eviction costs O(1) amortised.
            let mut ages: Vec<u64> = self.entries.values().map(|(_, _, used)| *used).collect();
            let cut = (self.entries.len() / 8).max(1);
            let (_, threshold, _) = ages.select_nth_unstable(cut - 1);
            let threshold = *threshold;
            self.entries.retain(|_, (_, _, used)| *used > threshold);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The writer's idempotency, driven through [`Writer::process`] directly: keys used twice
    //! within one batch, and keys filed per account.

    use super::*;
    use crate::clock::FixedClock;
    use crate::domain::{Capacity, NewCohort};
    use crate::store::StoreOptions;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn writer(dir: &tempfile::TempDir) -> (Arc<Store>, Writer) {
        let store =
            Arc::new(Store::open(&dir.path().join("db.redb"), &StoreOptions::default()).unwrap());
        let clock = Arc::new(FixedClock::new(at("2026-03-01T09:00:00Z")));
        let writer = Writer::new(store.clone(), clock, WriterOptions::default());
        (store, writer)
    }

    fn actor(name: &str, n: u128) -> Actor {
        Actor {
            id: Uuid::from_u128(n),
            name: name.to_owned(),
        }
    }

    fn create(writer: &mut Writer, capacity: u64) -> CohortId {
        let cohort = CohortId(Uuid::now_v7());
        let new = NewCohort {
            name: "Idempotency".to_owned(),
            course: "ID-1".to_owned(),
            instructor: "Ada".to_owned(),
            capacity: Capacity::new(capacity).unwrap(),
            starts_at: at("2026-04-01T09:00:00Z"),
            enrollment_deadline: at("2026-03-20T00:00:00Z"),
            withdrawal_deadline: at("2026-04-10T00:00:00Z"),
        };
        let request = Request::Create { cohort, new };
        let outcome = writer.process(vec![Submission::new(request, Actor::local())]);
        assert!(outcome.results[0].is_ok());
        cohort
    }

    fn enroll(cohort: CohortId, key: &str) -> Request {
        Request::Enroll {
            cohort,
            learner: LearnerKey::parse(key).unwrap(),
            name: None,
        }
    }

    fn keyed(request: Request, key: &str, by: &Actor) -> Submission {
        Submission {
            idempotency_key: Some(key.to_owned()),
            ..Submission::new(request, by.clone())
        }
    }

    /// A key's second use in the same batch, for a different request, is refused — not
    /// answered with the first one's outcome (and dropped).
    #[test]
    fn a_key_reused_in_the_same_batch_for_another_request_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut writer) = writer(&dir);
        let cohort = create(&mut writer, 5);
        let staff = actor("staff", 1);

        let outcome = writer.process(vec![
            keyed(enroll(cohort, "ana@x.org"), "k", &staff),
            keyed(enroll(cohort, "ben@x.org"), "k", &staff),
            keyed(enroll(cohort, "ana@x.org"), "k", &staff),
        ]);
        let first = outcome.results[0].as_ref().unwrap();
        assert!(!first.replayed);
        assert!(
            matches!(outcome.results[1], Err(CommandError::IdempotencyKeyReused)),
            "{:?}",
            outcome.results[1]
        );
        let repeat = outcome.results[2].as_ref().unwrap();
        assert!(
            repeat.replayed,
            "the same request under the key is a repeat"
        );
        assert_eq!(repeat.events, first.events);
        // Only Ana's enrollment was written; Ben is nowhere.
        let reader = store.read().unwrap();
        assert_eq!(reader.head_position().unwrap(), 2);
        assert!(reader.learner_by_key("ben@x.org").unwrap().is_none());

        // The same after a rule's refusal recorded in the batch.
        let outcome = writer.process(vec![
            keyed(Request::Promote { cohort }, "p", &staff),
            keyed(enroll(cohort, "cy@x.org"), "p", &staff),
        ]);
        assert!(matches!(
            outcome.results[0],
            Err(CommandError::Rejected(RuleViolation::WaitlistEmpty))
        ));
        assert!(
            matches!(outcome.results[1], Err(CommandError::IdempotencyKeyReused)),
            "{:?}",
            outcome.results[1]
        );
        assert_eq!(store.read().unwrap().head_position().unwrap(), 2);
    }

    /// A key is one account's: another account's same key is another key (within a batch and
    /// across batches), and the key is stored only as a hash with the account.
    #[test]
    fn a_key_belongs_to_the_account_that_sent_it_and_is_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut writer) = writer(&dir);
        let cohort = create(&mut writer, 5);
        let (staff1, staff2) = (actor("staff1", 1), actor("staff2", 2));
        let key = "enroll-ana@x.org";

        let outcome = writer.process(vec![
            keyed(enroll(cohort, "ana@x.org"), key, &staff1),
            keyed(enroll(cohort, "ana@x.org"), key, &staff2),
        ]);
        assert!(!outcome.results[0].as_ref().unwrap().replayed);
        assert!(
            matches!(
                outcome.results[1],
                Err(CommandError::Rejected(
                    RuleViolation::AlreadyEnrolled { .. }
                ))
            ),
            "staff2's request is decided on its own: {:?}",
            outcome.results[1]
        );

        // Later batches: staff2 reusing staff1's key for another request is not refused as a
        // reuse, nor given staff1's answer; staff1's retry is.
        let outcome = writer.process(vec![keyed(enroll(cohort, "ben@x.org"), key, &staff2)]);
        assert!(
            matches!(outcome.results[0], Err(CommandError::IdempotencyKeyReused)),
            "staff2's own key, from its refusal above: {:?}",
            outcome.results[0]
        );
        let outcome = writer.process(vec![keyed(enroll(cohort, "ben@x.org"), "k2", &staff2)]);
        assert!(!outcome.results[0].as_ref().unwrap().replayed);
        let outcome = writer.process(vec![
            keyed(enroll(cohort, "cy@x.org"), "k2", &staff1),
            keyed(enroll(cohort, "ana@x.org"), key, &staff1),
        ]);
        let cy = outcome.results[0].as_ref().unwrap();
        assert!(!cy.replayed, "staff1's k2 is not staff2's");
        assert!(outcome.results[1].as_ref().unwrap().replayed);

        let reader = store.read().unwrap();
        assert!(
            reader
                .command_record(&idempotency_key(staff1.id, key))
                .unwrap()
                .is_some()
        );
        assert!(
            reader
                .command_record(&idempotency_key(staff2.id, key))
                .unwrap()
                .is_some()
        );
        assert!(
            reader
                .command_record(&idempotency_key(Uuid::nil(), key))
                .unwrap()
                .is_none()
        );
        drop(reader);
        drop(writer);
        drop(store);
        let bytes = std::fs::read(dir.path().join("db.redb")).unwrap();
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "the key is not stored as sent"
        );
    }
}
