//! One batch: decide every submission in order against the state as of everything decided
//! before it, commit what was decided in one durable transaction, answer each submission.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use uuid::Uuid;

use super::idempotency::{BatchKeys, KeyUse, Repeat};
use super::request::{Committed, Decided, Request, Submission};
use super::{CommandError, Writer, stored_precision};
use crate::domain::{Cohort, CohortId, Event, LearnerId, RuleViolation};
use crate::learner_key::LearnerKey;
use crate::store::{
    Batch, CommandMeta, CommandOutcome, CommandRecord, Envelope, JournalEntry, LearnerRecord,
    Reader, StoreError, StreamAppend, idempotency_key,
};

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
pub(super) enum Pending {
    Done(Result<Committed, CommandError>),
    /// Refused, with the refusal recorded under its idempotency key by this batch (and, for a
    /// transfer, the cohort whose rule refused it).
    Recorded(RuleViolation, Option<CohortId>),
    /// The indexes of its appends in the batch (two for a transfer, one for any other).
    Appended(Range<usize>),
    /// A repeat, within the batch, of the appends at these indexes.
    Repeat(Range<usize>),
}

impl Writer {
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
                if e.is_storage_failure() {
                    self.storage_failed
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                let e = Arc::new(e);
                let results = pending
                    .into_iter()
                    .map(|p| match p {
                        Pending::Done(result) => result,
                        Pending::Recorded(..) | Pending::Appended(_) | Pending::Repeat(_) => {
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
        if let Some(last) = per_append.iter().flatten().next_back() {
            self.head
                .store(last.position, std::sync::atomic::Ordering::Release);
        }
        let (results, envelopes) = answer(pending, per_append, &work.batch.appends);
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
        // Filed hashed with the acting account: the key is never stored as sent, and another
        // account's same key is another key. The fingerprint is taken only for a request that
        // has a key.
        let idempotency = submission.idempotency_key.as_deref().map(|key| {
            (
                idempotency_key(submission.actor.id, key),
                request.fingerprint(),
            )
        });
        if let Some(repeat) = self.repeated(reader, work, request, idempotency.as_ref())? {
            return Ok(repeat);
        }

        let cohort = request.cohort();
        let mut learner = None;
        let decided = request.command(|key| {
            let resolved = Self::resolve_learner(reader, work, key, submission.new_learner_id)?;
            let id = resolved.0;
            learner = Some(resolved);
            Ok::<_, StoreError>(id)
        })?;
        let command = match decided {
            Decided::Cohort(command) => command,
            Decided::Transfer(transfer) => {
                let learner = learner.map(|(id, known)| (id, known.is_some()));
                return self.decide_transfer(
                    reader,
                    work,
                    &submission,
                    idempotency,
                    learner,
                    &transfer,
                    now,
                );
            }
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
        let events = match Cohort::decide(state.as_ref(), cohort, &command, now) {
            Ok(events) => events,
            Err(violation) => {
                let learner = learner.as_ref().map(|(id, known)| (*id, known.is_some()));
                return Ok(refuse(
                    work,
                    &submission,
                    idempotency,
                    learner,
                    (violation, None),
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
            work.file_enrolled(key, name.as_ref(), id, known.as_ref());
        }

        let command_id = submission.command_id.unwrap_or_else(Uuid::now_v7);
        let index = work.batch.appends.len();
        if let Some((key, fingerprint)) = &idempotency {
            work.keys.insert(
                *key,
                (KeyUse::Appended(index..index + 1), fingerprint.clone()),
            );
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
            idempotency,
        });
        Ok(Pending::Appended(index..index + 1))
    }

    /// The answer to a repeated idempotency key, if `idempotency` is one (a transfer's refusal
    /// naming its cohort again).
    fn repeated(
        &mut self,
        reader: &Reader,
        work: &mut BatchWork,
        request: &Request,
        idempotency: Option<&([u8; 32], String)>,
    ) -> Result<Option<Pending>, StoreError> {
        let Some((key, fingerprint)) = idempotency else {
            return Ok(None);
        };
        let Some(repeat) = Self::repeat(reader, &work.keys, key, fingerprint)? else {
            return Ok(None);
        };
        Ok(Some(match repeat {
            Repeat::Answer(Err(CommandError::Rejected(violation)))
                if request.other_cohort().is_some() =>
            {
                Pending::Done(Err(
                    self.repeated_transfer_refusal(reader, work, request, violation)?
                ))
            }
            Repeat::Answer(result) => Pending::Done(result),
            Repeat::Append(i) => Pending::Repeat(i),
        }))
    }

    /// Makes `work.states` hold the cohort's state and version as of everything decided so far
    /// in this batch. On first touch the state moves from the cache (or the store) into the
    /// batch's work, so deciding never clones a roster; it goes back into the cache only once
    /// the batch is committed.
    pub(super) fn load_state(
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
    pub(super) fn resolve_learner(
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

/// The answer to each submission of a committed batch, and the envelopes to publish.
fn answer(
    pending: Vec<Pending>,
    per_append: Vec<Vec<Envelope>>,
    appends: &[StreamAppend],
) -> (Vec<Result<Committed, CommandError>>, Vec<Envelope>) {
    // Where each append's envelopes sit in the batch's.
    let spans: Vec<(usize, usize)> = per_append
        .iter()
        .scan(0, |at, events| {
            let span = (*at, *at + events.len());
            *at = span.1;
            Some(span)
        })
        .collect();
    // The one copy of the committed envelopes, for the projections; each answer takes its
    // append's own (a repeat within the batch, rare, copies its first answer's).
    let envelopes: Vec<Envelope> = per_append.iter().flatten().cloned().collect();
    let mut per_append = per_append;
    // A command's answer: the cohort it addresses (a transfer's first, the one left) at its
    // version after the command, and every event it stored (of both streams, for a transfer).
    let committed = |range: Range<usize>, events: Vec<Envelope>, replayed: bool| {
        let cohort = appends[range.start].cohort;
        Ok(Committed {
            cohort,
            version: events
                .iter()
                .rev()
                .find(|e| e.cohort == cohort)
                .map_or(0, |e| e.version),
            events,
            replayed,
        })
    };
    let results = pending
        .into_iter()
        .map(|p| match p {
            Pending::Done(result) => result,
            Pending::Recorded(violation, None) => Err(CommandError::Rejected(violation)),
            Pending::Recorded(violation, Some(cohort)) => Err(CommandError::TransferRefused(
                crate::domain::TransferRefused { cohort, violation },
            )),
            Pending::Appended(range) => {
                let events = range
                    .clone()
                    .flat_map(|i| std::mem::take(&mut per_append[i]))
                    .collect();
                committed(range, events, false)
            }
            Pending::Repeat(range) => {
                let (from, to) = (spans[range.start].0, spans[range.end - 1].1);
                committed(range, envelopes[from..to].to_vec(), true)
            }
        })
        .collect();
    (results, envelopes)
}

/// Records a refusal: in the journal (filing a new learner an enrollment named, so their page
/// can say why they could not enroll), and under the idempotency key if there is one. A
/// transfer's refusal names the cohort whose rule refused it (`side`); the journal files it
/// under that cohort.
pub(super) fn refuse(
    work: &mut BatchWork,
    submission: &Submission,
    idempotency: Option<([u8; 32], String)>,
    learner: Option<(LearnerId, bool)>,
    (violation, side): (RuleViolation, Option<CohortId>),
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
            cohort: side.unwrap_or_else(|| request.cohort()),
            learner: filed,
            command: request.describe(),
            violation: violation.clone(),
        };
        work.batch.journal.push((work.journal_next, entry));
    }
    let Some((key, fingerprint)) = idempotency else {
        return Pending::Done(Err(match side {
            None => CommandError::Rejected(violation),
            Some(cohort) => {
                CommandError::TransferRefused(crate::domain::TransferRefused { cohort, violation })
            }
        }));
    };
    let record = CommandRecord {
        fingerprint: fingerprint.clone(),
        recorded_at: now,
        outcome: CommandOutcome::Rejected(violation.clone()),
    };
    work.keys
        .insert(key, (KeyUse::Rejected(violation.clone()), fingerprint));
    work.batch.rejections.push((key, record));
    Pending::Recorded(violation, side)
}

/// Applies decided events to the state in place, noting snapshots due at every N-th version.
pub(super) fn fold(
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

/// What a batch has decided so far.
#[derive(Default)]
pub(super) struct BatchWork {
    pub(super) batch: Batch,
    /// Cohort states after this batch's events (taken out of the cache until committed).
    pub(super) states: HashMap<CohortId, (Option<Cohort>, u64)>,
    /// Learners filed by this batch.
    pub(super) learners: HashMap<LearnerKey, (LearnerId, Option<LearnerRecord>)>,
    /// Idempotency keys used in this batch.
    pub(super) keys: BatchKeys,
    /// The id of the last journal entry (stored or of this batch).
    journal_next: u64,
}

impl BatchWork {
    /// Files the learner an accepted enrollment named under `key` with `name` (kept as filed
    /// when `None`), unless the directory already holds exactly that.
    pub(super) fn file_enrolled(
        &mut self,
        key: &LearnerKey,
        name: Option<&String>,
        id: LearnerId,
        known: Option<&LearnerRecord>,
    ) {
        let record = LearnerRecord {
            key: key.as_str().to_owned(),
            name: name
                .cloned()
                .or_else(|| known.map(|r| r.name.clone()))
                .unwrap_or_default(),
        };
        if known != Some(&record) {
            self.learners
                .insert(key.clone(), (id, Some(record.clone())));
            self.batch.learners.push((id, record));
        }
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
