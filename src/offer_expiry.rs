//! The offer scheduler: the task inside the server that expires waitlist offers when their hold
//! runs out. It learns when the next offer falls due from the projections (the dashboard's
//! index of outstanding offers, announced after each commit that changes it), sleeps until then
//! or until a commit (or a test clock) changes that time, and then submits `ExpireOffers`
//! through the writer for each cohort with an offer due, as the [`Actor::system`] actor. The
//! decision itself expires overdue offers before any other command, so a refusal
//! (`no_offer_due`: a command got there first) is expected and ignored. After a restart the
//! projections are replayed before the task starts, so what fell due while the server was down
//! is expired at once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::domain::{CohortId, RuleViolation};
use crate::projections::ReadModel;
use crate::store::Actor;
use crate::writer::{CommandError, Request, Submission, WriterHandle};

/// How long the scheduler waits before trying again an expiry the writer could not record
/// (storage failed, the writer is stopping); a commit or a clock change wakes it sooner.
const RETRY: Duration = Duration::from_secs(30);

/// What one [`OfferExpiry::tick`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// Cohorts whose overdue offers were expired (and the next in line offered).
    pub expired: Vec<CohortId>,
    /// Cohorts where a command had already expired them (`no_offer_due`).
    pub already_done: Vec<CohortId>,
    /// Cohorts the writer could not record the expiry for (tried again later).
    pub failed: Vec<CohortId>,
}

/// The offer scheduler (see the module comment).
#[derive(Clone)]
pub struct OfferExpiry {
    read: Arc<ReadModel>,
    writer: WriterHandle,
    clock: Arc<dyn Clock>,
}

impl OfferExpiry {
    /// A scheduler reading `read`, submitting through `writer`, on `clock`.
    #[must_use]
    pub fn new(read: Arc<ReadModel>, writer: WriterHandle, clock: Arc<dyn Clock>) -> Self {
        Self {
            read,
            writer,
            clock,
        }
    }

    /// One step: expires the offers due at `now`, one `ExpireOffers` per cohort (soonest due
    /// first), as the system actor.
    pub async fn tick(&self, now: Timestamp) -> Tick {
        let due: Vec<CohortId> = {
            let read = self.read.read();
            let mut seen = BTreeSet::new();
            read.signals
                .offers_due_by(now)
                .filter_map(|(_, cohort, _)| seen.insert(cohort).then_some(cohort))
                .collect()
        };
        let mut tick = Tick::default();
        for cohort in due {
            let submission = Submission::new(Request::ExpireOffers { cohort }, Actor::system());
            match self.writer.submit(submission).await {
                Ok(committed) => {
                    tracing::info!(
                        cohort = %cohort.0,
                        version = committed.version,
                        "offers expired: their hold ran out"
                    );
                    tick.expired.push(cohort);
                }
                Err(CommandError::Rejected(RuleViolation::NoOfferDue { .. })) => {
                    tick.already_done.push(cohort);
                }
                Err(e) => {
                    tracing::warn!(cohort = %cohort.0, error = %e, "cannot expire offers; will retry");
                    tick.failed.push(cohort);
                }
            }
        }
        tick
    }

    /// Runs until `stop` says so (or its sender is dropped): a [`OfferExpiry::tick`] at the
    /// start and whenever the next expiry falls due, the projections announce a new next expiry,
    /// or the clock is moved (a test clock).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut next_offer = self.read.next_offer_changes();
        let mut clock_moved = self.clock.changes();
        loop {
            if *stop.borrow_and_update() {
                return;
            }
            next_offer.borrow_and_update();
            if let Some(moved) = clock_moved.as_mut() {
                moved.borrow_and_update();
            }
            let tick = self.tick(self.clock.now()).await;
            let wait = self.wait(!tick.expired.is_empty());
            let clock_change = async {
                if let Some(moved) = clock_moved.as_mut()
                    && moved.changed().await.is_ok()
                {
                    return;
                }
                std::future::pending::<()>().await;
            };
            let due = async {
                match wait {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => {}
                changed = next_offer.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = clock_change => {}
                () = due => {}
            }
        }
    }

    /// How long to sleep before the next tick: until the next offer falls due (`None`: no
    /// offer outstanding, wait for a commit). An offer still due after a tick that expired
    /// something fell due meanwhile: at once; after a tick that expired nothing (the writer
    /// could not record it), [`RETRY`], so a failing store is not hammered.
    fn wait(&self, progress: bool) -> Option<Duration> {
        let next = self.read.read().signals.next_offer_expiry()?;
        let ahead = next.duration_since(self.clock.now());
        if ahead.is_positive() {
            // Rounded up to the millisecond, so a wake-up never comes just before it is due.
            let millis = u64::try_from(ahead.as_millis()).unwrap_or(u64::MAX);
            Some(Duration::from_millis(millis.saturating_add(1)))
        } else if progress {
            Some(Duration::ZERO)
        } else {
            Some(RETRY)
        }
    }
}
