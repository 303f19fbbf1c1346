//! Transfers: the one request that addresses two cohorts. The writer decides it with
//! [`decide_transfer`] against both cohorts' states as of everything decided before it in the
//! batch, checks both expected versions, and appends both streams' events as two adjacent
//! appends of one batch (so of one transaction) sharing the command's ids; a refusal names the
//! cohort whose rule refused it and writes to neither stream. A dry run decides the same way on
//! two [`Stage`]s.

use jiff::Timestamp;
use uuid::Uuid;

use super::batch::{BatchWork, Pending, fold, refuse};
use super::idempotency::KeyUse;
use super::preview::{Predicted, Preview, Stage};
use super::request::{Decided, Request, Submission, TransferCommand};
use super::{CommandError, Writer};
use crate::domain::{
    CohortId, CohortStatus, Event, LearnerId, RuleViolation, TransferRefused, decide_transfer,
};
use crate::store::{CommandMeta, Reader, StoreError, StreamAppend};

/// A transfer a dry run predicts: what each cohort would append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PredictedTransfer {
    /// The cohort left: its events (first in the append), version after and last position.
    pub from: Predicted,
    /// The cohort joined: its events (after the first cohort's), version and last position.
    pub to: Predicted,
}

impl Writer {
    /// Decides a transfer (after its idempotency key was checked) and adds both its appends
    /// to the batch, or records its refusal.
    #[allow(
        clippy::too_many_arguments,
        reason = "the same facts decide_one hands a single-cohort command on to its own steps"
    )]
    pub(super) fn decide_transfer(
        &mut self,
        reader: &Reader,
        work: &mut BatchWork,
        submission: &Submission,
        idempotency: Option<([u8; 32], String)>,
        learner: Option<(LearnerId, bool)>,
        transfer: &TransferCommand,
        now: Timestamp,
    ) -> Result<Pending, StoreError> {
        let from = submission.request.cohort();
        let to = transfer.to;
        let refused = |work: &mut BatchWork, idempotency, violation, side| {
            Ok(refuse(
                work,
                submission,
                idempotency,
                learner,
                (violation, Some(side)),
                now,
            ))
        };
        if from == to {
            return refused(work, idempotency, RuleViolation::SameCohort, from);
        }
        self.load_state(reader, work, from)?;
        self.load_state(reader, work, to)?;
        for (cohort, expected) in [
            (from, submission.expected_version),
            (to, submission.expected_other_version),
        ] {
            let (state, version) = &work.states[&cohort];
            if state.is_none() {
                let violation = RuleViolation::CohortNotFound { cohort };
                return refused(work, idempotency, violation, cohort);
            }
            if let Some(expected) = expected.filter(|e| e != version) {
                return Ok(Pending::Done(Err(CommandError::VersionConflict {
                    expected,
                    actual: *version,
                })));
            }
        }
        let decided = {
            let (Some(a), _) = &work.states[&from] else {
                unreachable!("checked above")
            };
            let (Some(b), _) = &work.states[&to] else {
                unreachable!("checked above")
            };
            decide_transfer(
                a,
                b,
                transfer.learner,
                transfer.allow_waitlist,
                &transfer.reason,
                now,
            )
        };
        let decided = match decided {
            Ok(decided) => decided,
            Err(TransferRefused { cohort, violation }) => {
                return refused(work, idempotency, violation, cohort);
            }
        };

        let command_id = submission.command_id.unwrap_or_else(Uuid::now_v7);
        let meta = CommandMeta {
            actor: submission.actor.clone(),
            command_id,
            correlation_id: submission.correlation_id.unwrap_or(command_id),
            causation_id: submission.causation_id.unwrap_or(command_id),
        };
        let first = work.batch.appends.len();
        let snapshot_every = self.options.snapshot_every;
        for (cohort, events) in [(from, decided.from_events), (to, decided.to_events)] {
            let (state, version) = work.states.get_mut(&cohort).expect("loaded above");
            let expected_version = *version;
            fold(
                cohort,
                state,
                version,
                &events,
                snapshot_every,
                &mut work.batch,
            );
            work.batch.appends.push(StreamAppend {
                cohort,
                expected_version,
                events,
                occurred_at: now,
                meta: meta.clone(),
                idempotency: None,
            });
        }
        // The key is filed with the last append, whose record the store makes span both.
        let range = first..first + 2;
        if let Some((key, fingerprint)) = &idempotency {
            work.keys
                .insert(*key, (KeyUse::Appended(range.clone()), fingerprint.clone()));
        }
        if let Some(last) = work.batch.appends.last_mut() {
            last.idempotency = idempotency;
        }
        Ok(Pending::Appended(range))
    }

    /// A refusal of a transfer answered again for its idempotency key, naming its cohort again.
    /// The record keeps the rule and its facts, not the cohort, so the cohort is read off the
    /// rule: the rules of the cohort left name it, those of the cohort joined name that one.
    /// `cohort_cancelled` is either's: the cohort left is checked first, and a cancelled cohort
    /// stays cancelled, so it is the cohort left if that one is cancelled now (a cohort left
    /// cancelled after a refusal for the other one's cancellation is named wrongly: rare, and
    /// the rule said is right).
    pub(super) fn repeated_transfer_refusal(
        &mut self,
        reader: &Reader,
        work: &mut BatchWork,
        request: &Request,
        violation: RuleViolation,
    ) -> Result<CommandError, StoreError> {
        let from = request.cohort();
        let to = request.other_cohort().unwrap_or(from);
        let cohort = match &violation {
            RuleViolation::CohortNotFound { cohort } => *cohort,
            RuleViolation::SameCohort
            | RuleViolation::NotEnrolled { .. }
            | RuleViolation::WithdrawalDeadlinePassed { .. }
            | RuleViolation::OfferExpired { .. } => from,
            RuleViolation::CohortCancelled => {
                self.load_state(reader, work, from)?;
                let left_cancelled = matches!(
                    &work.states[&from],
                    (Some(state), _) if state.status == CohortStatus::Cancelled
                );
                if left_cancelled { from } else { to }
            }
            _ => to,
        };
        Ok(CommandError::TransferRefused(TransferRefused {
            cohort,
            violation,
        }))
    }
}

impl Preview {
    /// Decides a transfer on the stages of both its cohorts as the writer would, with both
    /// expected versions checked the same way, and writes nothing. On success both stages move
    /// on past their events; the positions are those of one append, the cohort left's first.
    pub fn decide_transfer(
        &self,
        from: &mut Stage,
        to: &mut Stage,
        request: &Request,
        expected_versions: (Option<u64>, Option<u64>),
    ) -> Result<PredictedTransfer, CommandError> {
        if request.cohort() != from.cohort() || request.other_cohort() != Some(to.cohort()) {
            tracing::error!("a transfer's dry run was asked of other cohorts than its stages");
            return Err(CommandError::Internal);
        }
        let refused = |cohort, violation| {
            Err(CommandError::TransferRefused(TransferRefused {
                cohort,
                violation,
            }))
        };
        let Decided::Transfer(transfer) = self.command_of(from, request) else {
            return Err(CommandError::Internal);
        };
        if from.cohort() == to.cohort() {
            return refused(from.cohort(), RuleViolation::SameCohort);
        }
        for (stage, expected) in [(&*from, expected_versions.0), (&*to, expected_versions.1)] {
            if stage.state().is_none() {
                let cohort = stage.cohort();
                return refused(cohort, RuleViolation::CohortNotFound { cohort });
            }
            if let Some(expected) = expected.filter(|e| *e != stage.version()) {
                return Err(CommandError::VersionConflict {
                    expected,
                    actual: stage.version(),
                });
            }
        }
        let (Some(a), Some(b)) = (from.state(), to.state()) else {
            unreachable!("checked above")
        };
        let decided = decide_transfer(
            a,
            b,
            transfer.learner,
            transfer.allow_waitlist,
            &transfer.reason,
            from.now(),
        )
        .map_err(CommandError::TransferRefused)?;
        let provisional = from
            .provisional_key(transfer.learner)
            .map(|key| (transfer.learner, key.clone()));
        let from_predicted = from.advance(decided.from_events, provisional.clone());
        to.follow(from);
        let to_predicted = to.advance(decided.to_events, provisional);
        from.follow(to);
        Ok(PredictedTransfer {
            from: from_predicted,
            to: to_predicted,
        })
    }
}

/// A transfer's events in the order the store appends them: the cohort left's, then the
/// cohort joined's.
pub fn transfer_events(transfer: &PredictedTransfer) -> impl Iterator<Item = &Event> {
    transfer.from.events.iter().chain(&transfer.to.events)
}

/// The cohort a transfer's refusal concerns, if the error is one.
#[must_use]
pub const fn refused_cohort(error: &CommandError) -> Option<CohortId> {
    match error {
        CommandError::TransferRefused(TransferRefused { cohort, .. })
        | CommandError::Rejected(RuleViolation::CohortNotFound { cohort }) => Some(*cohort),
        _ => None,
    }
}

/// What a transfer did, read off its events (committed or predicted): where the learner landed
/// in the cohort joined, and who the seat freed in the cohort left went to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferSummary {
    /// `None`: took a seat; `Some(place)`: joined the waitlist at that place.
    pub waitlisted_at: Option<u32>,
    /// The learner promoted into the seat freed in the cohort left.
    pub promoted: Option<LearnerId>,
    /// The learner offered the seat freed in the cohort left.
    pub offered: Option<LearnerId>,
}

impl TransferSummary {
    /// Reads a transfer's events in append order (the cohort left's, then the cohort joined's):
    /// the promotion or offer that follows `student.transferred_out` (not those of offers that
    /// had expired before it), and `student.transferred_in`'s place.
    #[must_use]
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut summary = Self::default();
        let mut left = false;
        for event in events {
            match event {
                Event::StudentTransferredOut { .. } => left = true,
                Event::WaitlistPromoted { learner } if left && summary.promoted.is_none() => {
                    summary.promoted = Some(*learner);
                }
                Event::WaitlistOffered { learner, .. } if left && summary.offered.is_none() => {
                    summary.offered = Some(*learner);
                }
                Event::StudentTransferredIn { waitlisted_at, .. } => {
                    summary.waitlisted_at = *waitlisted_at;
                    left = false;
                }
                _ => {}
            }
        }
        summary
    }
}
