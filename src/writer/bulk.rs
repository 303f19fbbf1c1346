//! Bulk enrollment: many enrollments into one cohort, each decided in file order by the same
//! [`Request::Enroll`] → [`Cohort::decide`] path as a single enrollment (on the state the rows
//! before it leave), and the accepted ones committed as **one** append: one transaction, one
//! expected version, one command id. It runs alone on the writer thread, between batches, like
//! an erasure, so that nothing else reaches the cohort between its rows.
//!
//! A row the rules refuse is answered with its violation and written nowhere (not in the
//! refused-command journal either: the caller gets the list of refused rows back).

use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;

use super::batch::{BatchWork, fold};
use super::request::{Decided, Request};
use super::{CommandError, Writer, stored_precision};
use jiff::Timestamp;

use crate::domain::{Cohort, CohortId, Event, LearnerId, RuleViolation};
use crate::learner_key::LearnerKey;
use crate::store::{Actor, CommandMeta, Envelope, LearnerRecord, Reader, StoreError, StreamAppend};

/// One row of a bulk enrollment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkRow {
    /// Who.
    pub learner: LearnerKey,
    /// Display name to file (kept as filed when `None`).
    pub name: Option<String>,
}

/// Enroll many learners into one cohort as one append, if the cohort is still at
/// `expected_version`.
#[derive(Clone, Debug)]
pub struct BulkEnroll {
    /// The cohort.
    pub cohort: CohortId,
    /// The rows, in the order they are decided.
    pub rows: Vec<BulkRow>,
    /// `If-Match`: required, as the rows were previewed against this version.
    pub expected_version: u64,
    /// Who acts.
    pub actor: Actor,
    /// Groups commands of one flow; defaults to the command id.
    pub correlation_id: Option<Uuid>,
    /// What caused the command; defaults to the command id.
    pub causation_id: Option<Uuid>,
}

/// What a bulk enrollment did.
#[derive(Clone, Debug)]
pub struct BulkCommitted {
    /// The cohort.
    pub cohort: CohortId,
    /// Its stream version after the append (unchanged when no row was accepted).
    pub version: u64,
    /// Per row, in order: the events it appended, or the rule that refused it.
    pub rows: Vec<Result<Vec<Envelope>, RuleViolation>>,
}

/// A committed bulk enrollment and what the projections must be told of it.
pub(super) struct BulkOutcome {
    pub(super) committed: BulkCommitted,
    pub(super) learners: Vec<(LearnerId, LearnerRecord)>,
    pub(super) envelopes: Vec<Envelope>,
}

fn store_error(e: StoreError) -> CommandError {
    CommandError::Store(Arc::new(e))
}

impl Writer {
    /// Decides every row in order and commits the accepted ones as one append with the
    /// expected version. A version conflict, an unknown cohort or a storage failure writes
    /// nothing.
    pub(super) fn bulk_enroll(&mut self, bulk: BulkEnroll) -> Result<BulkOutcome, CommandError> {
        let now = stored_precision(self.clock.now());
        let cohort = bulk.cohort;
        let reader = self.store.read().map_err(store_error)?;
        let mut work = BatchWork::default();
        self.load_state(&reader, &mut work, cohort)
            .map_err(store_error)?;
        let (mut state, mut version) = work.states.remove(&cohort).expect("loaded above");
        let Some(_) = &state else {
            return Err(CommandError::Rejected(RuleViolation::CohortNotFound {
                cohort,
            }));
        };
        if version != bulk.expected_version {
            if let Some(state) = state {
                self.cache.insert(cohort, state, version);
            }
            return Err(CommandError::VersionConflict {
                expected: bulk.expected_version,
                actual: version,
            });
        }
        let expected_version = version;
        let decided = self.decide_rows(&reader, &mut work, &bulk, &mut state, &mut version, now);
        let (counts, events) = match decided {
            Ok(decided) => decided,
            Err(e) => {
                self.return_state(cohort, state, version, expected_version);
                return Err(store_error(e));
            }
        };
        drop(reader);
        if events.is_empty() {
            self.return_state(cohort, state, version, version);
            return Ok(BulkOutcome {
                committed: BulkCommitted {
                    cohort,
                    version,
                    rows: counts.into_iter().map(|c| c.map(|_| Vec::new())).collect(),
                },
                learners: Vec::new(),
                envelopes: Vec::new(),
            });
        }
        let command_id = Uuid::now_v7();
        work.batch.appends.push(StreamAppend {
            cohort,
            expected_version,
            events,
            occurred_at: now,
            meta: CommandMeta {
                actor: bulk.actor,
                command_id,
                correlation_id: bulk.correlation_id.unwrap_or(command_id),
                causation_id: bulk.causation_id.unwrap_or(command_id),
            },
            idempotency: None,
        });
        let started = Instant::now();
        let committed = self.store.commit(&work.batch, now);
        if let Some(metrics) = &self.options.metrics {
            metrics.commit(started.elapsed());
        }
        let envelopes: Vec<Envelope> = match committed {
            Ok(per_append) => per_append.into_iter().flatten().collect(),
            Err(e) => {
                // The state decided here was taken out of the cache and is dropped with it.
                tracing::error!(error = %e, "bulk enrollment commit failed; nothing of it was stored");
                if e.is_storage_failure() {
                    self.storage_failed
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                return Err(store_error(e));
            }
        };
        if let Some(state) = state {
            self.cache.insert(cohort, state, version);
        }
        if let Some(last) = envelopes.last() {
            self.head
                .store(last.position, std::sync::atomic::Ordering::Release);
        }
        let mut rest = envelopes.as_slice();
        let rows = counts
            .into_iter()
            .map(|count| {
                count.map(|n| {
                    let (mine, after) = rest.split_at(n.min(rest.len()));
                    rest = after;
                    mine.to_vec()
                })
            })
            .collect();
        Ok(BulkOutcome {
            committed: BulkCommitted {
                cohort,
                version,
                rows,
            },
            learners: work.batch.learners,
            envelopes,
        })
    }

    /// Decides each row in order on `state` (moved on past each accepted row's events, noted in
    /// `work`): per row the number of events it appended or its violation, and every event.
    #[allow(clippy::type_complexity, reason = "one use, read right below")]
    fn decide_rows(
        &self,
        reader: &Reader,
        work: &mut BatchWork,
        bulk: &BulkEnroll,
        state: &mut Option<Cohort>,
        version: &mut u64,
        now: Timestamp,
    ) -> Result<(Vec<Result<usize, RuleViolation>>, Vec<Event>), StoreError> {
        let cohort = bulk.cohort;
        let mut counts = Vec::with_capacity(bulk.rows.len());
        let mut events = Vec::new();
        for row in &bulk.rows {
            let request = Request::Enroll {
                cohort,
                learner: row.learner.clone(),
                name: row.name.clone(),
            };
            let mut learner = None;
            let Decided::Cohort(command) = request.command(|key| {
                let resolved = Self::resolve_learner(reader, work, key, None)?;
                let id = resolved.0;
                learner = Some(resolved);
                Ok::<_, StoreError>(id)
            })?
            else {
                unreachable!("an enrollment is a command of its own cohort")
            };
            match Cohort::decide(state.as_ref(), cohort, &command, now) {
                Ok(decided) => {
                    fold(
                        cohort,
                        state,
                        version,
                        &decided,
                        self.options.snapshot_every,
                        &mut work.batch,
                    );
                    if let Some((id, known)) = learner {
                        work.file_enrolled(&row.learner, row.name.as_ref(), id, known.as_ref());
                    }
                    counts.push(Ok(decided.len()));
                    events.extend(decided);
                }
                Err(violation) => counts.push(Err(violation)),
            }
        }
        Ok((counts, events))
    }

    /// Puts a state taken out for a bulk enrollment back into the cache, unless what was
    /// decided on it is not committed (then it is dropped and reloaded on next use).
    fn return_state(
        &mut self,
        cohort: CohortId,
        state: Option<Cohort>,
        version: u64,
        committed_version: u64,
    ) {
        if let (Some(state), true) = (state, version == committed_version) {
            self.cache.insert(cohort, state, version);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The bulk enrollment against the writer itself: the expected version is checked where
    //! the append is made (so a cohort that moved after the web layer's check still writes
    //! nothing), and the accepted rows land as one append.

    use std::sync::Arc;

    use jiff::Timestamp;
    use uuid::Uuid;

    use super::{BulkEnroll, BulkRow, CommandError, Writer};
    use crate::clock::FixedClock;
    use crate::domain::{Capacity, CohortId, NewCohort, PromotionPolicy};
    use crate::learner_key::LearnerKey;
    use crate::store::{Actor, Store, StoreOptions};
    use crate::writer::{Request, Submission, WriterOptions};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn row(key: &str, name: &str) -> BulkRow {
        BulkRow {
            learner: LearnerKey::parse(key).unwrap(),
            name: Some(name.to_owned()),
        }
    }

    #[test]
    fn the_rows_land_as_one_append_only_at_the_expected_version() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&dir.path().join("db.redb"), &StoreOptions::default()).unwrap());
        let clock = Arc::new(FixedClock::new(at("2026-03-01T09:00:00Z")));
        let mut writer = Writer::new(store.clone(), clock, WriterOptions::default());
        let cohort = CohortId(Uuid::now_v7());
        let new = NewCohort {
            name: "Bulk".to_owned(),
            course: "B-1".to_owned(),
            instructor: "Ada".to_owned(),
            capacity: Capacity::new(1).unwrap(),
            starts_at: at("2026-04-01T09:00:00Z"),
            enrollment_deadline: at("2026-03-20T00:00:00Z"),
            withdrawal_deadline: at("2026-04-10T00:00:00Z"),
            promotion: PromotionPolicy::Automatic,
            waitlist_cap: None,
            ends_at: None,
        };
        let created = writer.process(vec![Submission::new(
            Request::Create { cohort, new },
            Actor::local(),
        )]);
        assert!(created.results[0].is_ok());
        let bulk = |expected_version| BulkEnroll {
            cohort,
            rows: vec![
                row("ana@x.org", "Ana"),
                row("bo@x.org", "Bo"),
                row("ana@x.org", "A"),
            ],
            expected_version,
            actor: Actor::local(),
            correlation_id: None,
            causation_id: None,
        };
        let head = || store.read().unwrap().head_position().unwrap();

        let moved = writer.bulk_enroll(bulk(0));
        assert!(
            matches!(
                moved,
                Err(CommandError::VersionConflict {
                    expected: 0,
                    actual: 1
                })
            ),
            "{:?}",
            moved.err()
        );
        assert_eq!(head(), 1, "nothing written");

        let done = writer.bulk_enroll(bulk(1)).unwrap();
        assert_eq!(done.committed.version, 3);
        assert_eq!(head(), 3);
        let rows = &done.committed.rows;
        assert_eq!(rows[0].as_ref().unwrap()[0].version, 2);
        assert_eq!(rows[1].as_ref().unwrap()[0].version, 3);
        assert_eq!(rows[2].as_ref().unwrap_err().code(), "already_enrolled");
        let ids: Vec<Uuid> = done.envelopes.iter().map(|e| e.meta.command_id).collect();
        assert_eq!(ids, [ids[0], ids[0]], "one command: one append");
        let names: Vec<&str> = done.learners.iter().map(|(_, r)| r.name.as_str()).collect();
        assert_eq!(names, ["Ana", "Bo"], "new learners filed with their names");
    }
}
