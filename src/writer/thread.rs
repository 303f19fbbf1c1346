//! The writer thread: its queue, the handle callers submit through, and the loop that drains
//! the queue in batches (an erasure runs alone, between batches).

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use super::bulk::{BulkCommitted, BulkEnroll};
use super::request::{CommandKind, Committed, Submission};
use super::{CommandError, Writer, WriterOptions};
use crate::clock::Clock;
use crate::learner_key::LearnerKey;
use crate::metrics::Outcome;
use crate::projections::ReadModel;
use crate::store::{Actor, Erasure, Store};

type Reply = oneshot::Sender<Result<Committed, CommandError>>;
type ErasureReply = oneshot::Sender<Result<Option<Erasure>, CommandError>>;
type BulkReply = oneshot::Sender<Result<BulkCommitted, CommandError>>;

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
    /// A bulk enrollment (one append), done between batches.
    Bulk(BulkEnroll, BulkReply),
}

/// A cheap, cloneable handle to submit commands to the writer.
#[derive(Clone, Debug)]
pub struct WriterHandle {
    tx: mpsc::Sender<Job>,
    /// Set once a commit failed on storage: redb refuses further writes until reopened.
    storage_failed: Arc<std::sync::atomic::AtomicBool>,
    /// The position of the newest stored event, as the writer last committed it.
    head: Arc<std::sync::atomic::AtomicU64>,
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

    /// The position of the newest event in the store, as of the writer's last commit: read
    /// from memory, never from the store, so it is safe on an async thread.
    #[must_use]
    pub fn store_head(&self) -> u64 {
        self.head.load(std::sync::atomic::Ordering::Acquire)
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

    /// Queues a bulk enrollment and waits until its one append is durably committed, or the
    /// whole of it refused (a version conflict, an unknown cohort).
    pub async fn bulk_enroll(&self, bulk: BulkEnroll) -> Result<BulkCommitted, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Bulk(bulk, reply))
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
    let head = core.head.clone();
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
                    Job::Bulk(bulk, reply) => {
                        let _ = reply.send(core.bulk_and_publish(bulk, &read_model));
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
    Ok((
        WriterHandle {
            tx,
            storage_failed,
            head,
        },
        WriterThread { thread },
    ))
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
                metrics.command(kind.index(), outcome, code);
            }
        }
        self.kinds = kinds;
        results
    }
}

impl Writer {
    /// Runs a bulk enrollment and publishes what it committed; a panic while deciding is
    /// recovered from as in [`Self::process_and_publish`]. Metrics count each row as one
    /// `enroll` command (accepted or refused with its rule), and the append as one batch.
    fn bulk_and_publish(
        &mut self,
        bulk: BulkEnroll,
        read_model: &ReadModel,
    ) -> Result<BulkCommitted, CommandError> {
        let rows = bulk.rows.len();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.bulk_enroll(bulk)));
        let result = match outcome {
            Ok(Ok(done)) => {
                read_model.publish(&done.learners, &[], &done.envelopes);
                Ok(done.committed)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => {
                tracing::error!("the writer panicked deciding a bulk enrollment; recovering");
                self.cache.clear();
                if let Err(e) = read_model.catch_up(&self.store) {
                    tracing::error!(error = %e, "projections could not catch up after a writer panic");
                }
                Err(CommandError::Internal)
            }
        };
        if let Some(metrics) = &self.options.metrics {
            metrics.batch(1);
            let kind = CommandKind::Enroll.index();
            match &result {
                Ok(done) => {
                    for row in &done.rows {
                        match row {
                            Ok(_) => metrics.command(kind, Outcome::Accepted, None),
                            Err(v) => metrics.command(kind, Outcome::Rejected, Some(v.code())),
                        }
                    }
                }
                Err(e) => {
                    let (outcome, code) = match e {
                        CommandError::Rejected(v) => (Outcome::Rejected, Some(v.code())),
                        CommandError::VersionConflict { .. } => (Outcome::VersionConflict, None),
                        CommandError::Store(_) => (Outcome::StorageFailed, None),
                        _ => (Outcome::Internal, None),
                    };
                    for _ in 0..rows {
                        metrics.command(kind, outcome, code);
                    }
                }
            }
        }
        result
    }
}

/// How a result is counted: its outcome, and a refusal's rule code.
fn outcome_of(result: &Result<Committed, CommandError>) -> (Outcome, Option<&'static str>) {
    match result {
        Ok(committed) if committed.replayed => (Outcome::Replayed, None),
        Ok(_) => (Outcome::Accepted, None),
        Err(
            CommandError::Rejected(violation)
            | CommandError::TransferRefused(crate::domain::TransferRefused { violation, .. }),
        ) => (Outcome::Rejected, Some(violation.code())),
        Err(CommandError::VersionConflict { .. }) => (Outcome::VersionConflict, None),
        Err(CommandError::IdempotencyKeyReused) => (Outcome::IdempotencyKeyReused, None),
        Err(CommandError::Store(_)) => (Outcome::StorageFailed, None),
        Err(CommandError::Stopped | CommandError::Internal) => (Outcome::Internal, None),
    }
}
