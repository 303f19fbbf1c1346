//! Idempotency: a request's fingerprint, stored with its key so that a key reused for a
//! different request is refused, and the answer to a repeated key (earlier in the batch, or
//! recorded by an earlier one).

use sha2::{Digest as _, Sha256};

use super::batch::{BatchWork, Pending};
use super::request::{Committed, Request};
use super::{CommandError, Writer};
use crate::domain::{ReasonCode, RuleViolation};
use crate::store::{CommandOutcome, Reader, StoreError};

impl Request {
    /// The request's fingerprint, stored with its idempotency key so a key reused for a
    /// different request is refused: the SHA-256 of its canonical text, so that no personal
    /// data (keys, names, reasons) is kept with it.
    pub(super) fn fingerprint(&self) -> String {
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
}

/// How an idempotency key was used earlier in the batch.
pub(super) enum KeyUse {
    Appended(usize),
    Rejected(RuleViolation),
}


impl Writer {
    /// The answer to a repeated idempotency key (earlier in this batch, or recorded), if it is
    /// one.
    pub(super) fn repeat(
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
}
