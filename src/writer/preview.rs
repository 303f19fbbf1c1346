//! Dry runs: what a command would do, decided by the writer's own rules and written nowhere.
//!
//! A [`Preview`] is a read-only capability, like [`History`]: it holds the projections and the
//! history, never the store nor the writer's queue, so nothing done through it can append an
//! event, journal a refusal or remember an idempotency key. It turns a [`Request`] into its
//! domain command with the same [`Request::command`] the writer uses (learners are resolved
//! read-only, from the directory; a key nobody has filed gets a provisional id, kept for the
//! rest of the dry run), checks `If-Match` as the writer does, and decides with the same
//! [`Cohort::decide`]. There is no second copy of a rule here.
//!
//! It decides on a [`Stage`]: the cohort as it is now (the catalog's state, already in memory:
//! no store read) at the current time, or as it was at a point in history (its stream folded up
//! to there, read through [`History`]) at that point's time. A request that succeeds moves its
//! stage on, so a preview of many requests (a bulk enrollment) decides each on the state the
//! ones before it leave, as one batch of the writer would.
//!
//! What it answers is a prediction: the version and positions the events would take if they
//! were appended now; a real command may find the cohort moved on.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use jiff::Timestamp;
use uuid::Uuid;

use super::request::{Decided, Request};
use super::{CommandError, stored_precision};
use crate::domain::{Cohort, CohortId, Event, LearnerId};
use crate::learner_key::LearnerKey;
use crate::projections::{AsOf, ReadModel, cohort_as_of};
use crate::store::{History, StoreError};

/// What dry runs need, and nothing that writes: the read side and the read-only history.
/// Cheap to clone.
///
/// ```compile_fail
/// // A preview cannot commit: it has no store to commit to.
/// fn commit(preview: &rollbook::writer::Preview, batch: &rollbook::store::Batch) {
///     preview.store.commit(batch, jiff::Timestamp::UNIX_EPOCH);
/// }
/// ```
///
/// ```compile_fail
/// // Nor submit to the writer.
/// async fn submit(preview: &rollbook::writer::Preview, s: rollbook::writer::Submission) {
///     preview.writer.submit(s).await;
/// }
/// ```
#[derive(Clone)]
pub struct Preview {
    history: History,
    read: Arc<ReadModel>,
}

/// A cohort as a dry run finds it: its state and version, the time rules are checked at, and
/// where the next event would land.
#[derive(Clone, Debug)]
pub struct Stage {
    cohort: CohortId,
    state: Option<Cohort>,
    version: u64,
    /// The global position the events decided so far end at (the read side's head to begin
    /// with).
    head: u64,
    now: Timestamp,
    /// Learners named by a key nobody has filed, with the id this dry run gave them.
    provisional: HashMap<LearnerKey, LearnerId>,
}

impl Stage {
    /// The cohort.
    #[must_use]
    pub const fn cohort(&self) -> CohortId {
        self.cohort
    }

    /// Its state (`None` before it was created).
    #[must_use]
    pub const fn state(&self) -> Option<&Cohort> {
        self.state.as_ref()
    }

    /// Its stream version.
    #[must_use]
    pub const fn version(&self) -> u64 {
        self.version
    }

    /// The time its rules are checked at.
    #[must_use]
    pub const fn now(&self) -> Timestamp {
        self.now
    }

    /// The key of a learner this dry run gave a provisional id.
    #[must_use]
    pub fn provisional_key(&self, id: LearnerId) -> Option<&LearnerKey> {
        self.provisional
            .iter()
            .find_map(|(key, known)| (*known == id).then_some(key))
    }
}

/// What a request would do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predicted {
    /// The cohort.
    pub cohort: CohortId,
    /// The events that would be appended, in order.
    pub events: Vec<Event>,
    /// The cohort's stream version after them.
    pub version: u64,
    /// The global position the last of them would take if appended now (the head the
    /// stage started from, plus every event decided on it so far).
    pub position: u64,
    /// The time the rules were checked at.
    pub decided_at: Timestamp,
    /// The learner the request names, when nobody has filed their key: the provisional id the
    /// events carry, and the key.
    pub provisional: Option<(LearnerId, LearnerKey)>,
}

/// Why a point in history cannot be staged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// `as_of` names a position no event holds (yet).
    #[error("as_of position {position} names no event: positions run from 1 to {head}, the newest")]
    NoSuchPosition {
        /// What was asked.
        position: u64,
        /// The newest position the read side has.
        head: u64,
    },
    /// The history could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Preview {
    /// A preview over the read side `read` and the history it was built from.
    #[must_use]
    pub const fn new(history: History, read: Arc<ReadModel>) -> Self {
        Self { history, read }
    }

    /// The cohort now, its rules checked at `now`. From memory: reads no store.
    #[must_use]
    pub fn now(&self, cohort: CohortId, now: Timestamp) -> Stage {
        let read = self.read.read();
        let view = read.catalog.get(cohort);
        Stage {
            cohort,
            state: view.map(|v| v.state.clone()),
            version: view.map_or(0, |v| v.version),
            head: read.position,
            now: stored_precision(now),
            provisional: HashMap::new(),
        }
    }

    /// The cohort as it was at `as_of`, at that time: for a position, right after that event,
    /// at the time it was decided (its `occurred_at`, which every command of its batch was
    /// decided at); for a time, after every event that occurred by then, at that time. Sees no
    /// further than the read side has applied. Blocking: reads one stream.
    pub fn as_of(&self, cohort: CohortId, as_of: AsOf) -> Result<Stage, StageError> {
        let head = self.read.read().position;
        let now = match as_of {
            AsOf::Position(position) => {
                let event = match position {
                    0 => None,
                    p if p > head => None,
                    p => self.history.read()?.events_at(&[p])?.pop(),
                };
                event
                    .ok_or(StageError::NoSuchPosition { position, head })?
                    .occurred_at
            }
            AsOf::Time(at) => at,
        };
        let view = cohort_as_of(&self.history, cohort, as_of, head)?;
        Ok(Stage {
            cohort,
            version: view.as_ref().map_or(0, |v| v.version),
            state: view.map(|v| v.state),
            head,
            now: stored_precision(now),
            provisional: HashMap::new(),
        })
    }

    /// Decides `request` on `stage` as the writer would, with `If-Match` (`expected_version`)
    /// checked the same way, and writes nothing. On success the stage moves on past the
    /// events. A refusal is the writer's: a rule's violation or a version conflict.
    pub fn decide(
        &self,
        stage: &mut Stage,
        request: &Request,
        expected_version: Option<u64>,
    ) -> Result<Predicted, CommandError> {
        if request.cohort() != stage.cohort {
            tracing::error!(
                staged = %stage.cohort.0,
                asked = %request.cohort().0,
                "a dry run was asked of another cohort than its stage"
            );
            return Err(CommandError::Internal);
        }
        let Decided::Cohort(command) = self.command_of(stage, request) else {
            // A transfer addresses two cohorts: `decide_transfer` stages both.
            tracing::error!("a transfer's dry run was asked of one stage");
            return Err(CommandError::Internal);
        };
        let provisional = request
            .learner_key()
            .and_then(|key| stage.provisional.get(key).map(|id| (*id, key.clone())));
        // As the writer checks it: only on a cohort that exists or is being created.
        let exists = stage.state.is_some() || matches!(request, Request::Create { .. });
        if let (true, Some(expected)) = (exists, expected_version) {
            if expected != stage.version {
                return Err(CommandError::VersionConflict {
                    expected,
                    actual: stage.version,
                });
            }
        }
        let events = Cohort::decide(stage.state.as_ref(), stage.cohort, &command, stage.now)
            .map_err(CommandError::Rejected)?;
        Ok(stage.advance(events, provisional))
    }

    /// The request made ready for the rules, its learner resolved read-only: from the
    /// directory, or a provisional id kept on `stage` for a key nobody has filed.
    pub(super) fn command_of(&self, stage: &mut Stage, request: &Request) -> Decided {
        let read = self.read.read();
        let command = request.command(|key| {
            if let Some(filed) = read.directory.id_of(key.as_str()) {
                return Ok::<_, Infallible>(filed);
            }
            Ok(*stage
                .provisional
                .entry(key.clone())
                .or_insert_with(|| LearnerId(Uuid::now_v7())))
        });
        let Ok(command) = command;
        command
    }
}

impl Stage {
    /// Moves the stage on past `events` decided on it, and answers what they predict.
    pub(super) fn advance(
        &mut self,
        events: Vec<Event>,
        provisional: Option<(LearnerId, LearnerKey)>,
    ) -> Predicted {
        for event in &events {
            match (&mut self.state, event) {
                (None, Event::CohortCreated(data)) => {
                    self.state = Some(Cohort::created(self.cohort, data));
                }
                (Some(cohort), event) => cohort.apply(event),
                (None, _) => {}
            }
        }
        let count = events.len() as u64;
        self.version += count;
        self.head += count;
        Predicted {
            cohort: self.cohort,
            events,
            version: self.version,
            position: self.head,
            decided_at: self.now,
            provisional,
        }
    }

    /// Takes on where `other`'s events end, for events appended after them (a transfer's two
    /// cohorts, staged apart, in one append).
    pub(super) const fn follow(&mut self, other: &Self) {
        self.head = other.head;
    }
}

impl std::fmt::Debug for Preview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preview")
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    //! The preview against the writer itself: requests previewed in order on one stage foretell
    //! what one batch of the writer then commits, and the preview writes nothing.

    use std::sync::Arc;

    use jiff::Timestamp;
    use uuid::Uuid;

    use super::{Preview, Request};
    use crate::clock::FixedClock;
    use crate::domain::{Capacity, CohortId, Event, NewCohort, ReasonCode};
    use crate::learner_key::LearnerKey;
    use crate::projections::{AsOf, ReadModel};
    use crate::store::{Actor, History, Store, StoreOptions};
    use crate::writer::{CommandError, Submission, Writer, WriterOptions};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Each request's outcome as compared: its events shown, version and position, or the
    /// refusal's text.
    type Outcome = Result<(Vec<String>, u64, u64), String>;

    fn key(s: &str) -> LearnerKey {
        LearnerKey::parse(s).unwrap()
    }

    /// An event, its learner (if any) shown by `name`: ids differ between a preview (provisional)
    /// and the writer (minted), keys do not.
    fn shown(event: &Event, name: &dyn Fn(crate::domain::LearnerId) -> String) -> String {
        let mut text = format!("{event:?}");
        if let Some(learner) = event.learner() {
            text = text.replace(&format!("{learner:?}"), &name(learner));
        }
        text
    }

    /// Create a cohort of two seats, fill it, refuse one, free a seat, grow, close, refuse.
    fn requests(cohort: CohortId) -> Vec<Request> {
        let create = Request::Create {
            cohort,
            new: NewCohort {
                name: "Preview".to_owned(),
                course: "PV-1".to_owned(),
                instructor: "Ada".to_owned(),
                capacity: Capacity::new(2).unwrap(),
                starts_at: at("2026-04-01T09:00:00Z"),
                enrollment_deadline: at("2026-03-20T00:00:00Z"),
                withdrawal_deadline: at("2026-04-10T00:00:00Z"),
                promotion: crate::domain::PromotionPolicy::Automatic,
                waitlist_cap: None,
                ends_at: None,
            },
        };
        let enroll = |learner: &str| Request::Enroll {
            cohort,
            learner: key(learner),
            name: None,
        };
        let withdraw = |learner: &str| Request::Withdraw {
            cohort,
            learner: key(learner),
            reason_code: ReasonCode::Personal,
            reason: "moved".to_owned(),
        };
        vec![
            create,
            enroll("ana@x.org"),
            enroll("ben@x.org"),
            enroll("cy@x.org"),
            enroll("ana@x.org"),
            withdraw("ana@x.org"),
            Request::ChangeCapacity {
                cohort,
                capacity: Capacity::new(3).unwrap(),
            },
            enroll("dee@x.org"),
            Request::Close { cohort },
            enroll("eve@x.org"),
        ]
    }

    #[test]
    fn a_preview_of_several_requests_foretells_the_batch_that_commits_them() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&dir.path().join("db.redb"), &StoreOptions::default()).unwrap());
        let now = at("2026-03-01T09:00:00Z");
        let mut writer = Writer::new(
            store.clone(),
            Arc::new(FixedClock::new(now)),
            WriterOptions::default(),
        );
        let cohort = CohortId(Uuid::now_v7());
        let requests = requests(cohort);
        let (read, _) = ReadModel::rebuild(&*store).unwrap();
        let read = Arc::new(read);
        let preview = Preview::new(History::new(store.clone()), read.clone());
        let mut stage = preview.now(cohort, now);
        let foretold: Vec<Outcome> = requests
            .iter()
            .map(|request| {
                preview
                    .decide(&mut stage, request, None)
                    .map(|p| {
                        let name = |id| stage.provisional_key(id).unwrap().to_string();
                        let events = p.events.iter().map(|e| shown(e, &name)).collect();
                        (events, p.version, p.position)
                    })
                    .map_err(|e| e.to_string())
            })
            .collect();
        assert_eq!(
            store.read().unwrap().head_position().unwrap(),
            0,
            "the preview wrote nothing"
        );
        assert!(matches!(foretold[4], Err(ref e) if e.contains("already enrolled")));

        let enroll_cy = requests[3].clone();
        let outcome = writer.process(
            requests
                .into_iter()
                .map(|r| Submission::new(r, Actor::local()))
                .collect(),
        );
        read.publish(&outcome.learners, &outcome.journal, &outcome.envelopes);
        let directory = &read.read().directory;
        let committed: Vec<Outcome> = outcome
            .results
            .iter()
            .map(|result| match result {
                Ok(done) => {
                    let name = |id| directory.key_of(id);
                    let events = done.events.iter().map(|e| shown(&e.event, &name)).collect();
                    Ok((events, done.version, done.position()))
                }
                Err(e) => Err(e.to_string()),
            })
            .collect();
        assert_eq!(foretold, committed);

        // As of position 2 (ana's enrollment), cy would still have had a seat; asked of
        // another cohort, the stage refuses rather than deciding on the wrong state.
        let mut then = preview.as_of(cohort, AsOf::Position(2)).unwrap();
        assert_eq!(then.version(), 2);
        let seat = preview.decide(&mut then, &enroll_cy, None).unwrap();
        assert!(matches!(seat.events[..], [Event::StudentEnrolled { .. }]));
        let other = Request::Close {
            cohort: CohortId(Uuid::now_v7()),
        };
        assert!(matches!(
            preview.decide(&mut then, &other, None),
            Err(CommandError::Internal)
        ));
    }
}
