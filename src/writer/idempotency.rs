//! Idempotency: a request's fingerprint, stored with its key so that a key reused for a
//! different request is refused, and the answer to a repeated key (earlier in the batch, or
//! recorded by an earlier one).

use std::collections::HashMap;
use std::ops::Range;

use sha2::{Digest as _, Sha256};

use super::request::{Committed, Request};
use super::{CommandError, Writer};
use crate::domain::RuleViolation;
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
}

/// How an idempotency key was used earlier in the batch.
pub(super) enum KeyUse {
    Appended(Range<usize>),
    Rejected(RuleViolation),
}

/// The idempotency keys a batch has used so far, as filed (hashed with the account) → (how,
/// fingerprint).
pub(super) type BatchKeys = HashMap<[u8; 32], (KeyUse, String)>;

/// The answer to a repeated idempotency key.
pub(super) enum Repeat {
    /// Known now: refused, reused for a different request, or committed by an earlier batch.
    Answer(Result<Committed, CommandError>),
    /// The answer of the appends at these indexes of the batch, once they are committed.
    Append(Range<usize>),
}

impl Writer {
    /// The answer to a repeated idempotency key (earlier in this batch, `keys`, or recorded),
    /// if it is one.
    pub(super) fn repeat(
        reader: &Reader,
        keys: &BatchKeys,
        key: &[u8; 32],
        fingerprint: &str,
    ) -> Result<Option<Repeat>, StoreError> {
        if let Some((earlier, earlier_fingerprint)) = keys.get(key) {
            if earlier_fingerprint != fingerprint {
                return Ok(Some(Repeat::Answer(Err(
                    CommandError::IdempotencyKeyReused,
                ))));
            }
            return Ok(Some(match earlier {
                KeyUse::Appended(range) => Repeat::Append(range.clone()),
                KeyUse::Rejected(violation) => {
                    Repeat::Answer(Err(CommandError::Rejected(violation.clone())))
                }
            }));
        }
        let Some(record) = reader.command_record(key)? else {
            return Ok(None);
        };
        if record.fingerprint != fingerprint {
            return Ok(Some(Repeat::Answer(Err(
                CommandError::IdempotencyKeyReused,
            ))));
        }
        Ok(Some(Repeat::Answer(match record.outcome {
            CommandOutcome::Rejected(violation) => Err(CommandError::Rejected(violation)),
            CommandOutcome::Committed {
                cohort,
                version,
                first_position,
                last_position,
            } => {
                let positions: Vec<u64> = (first_position..=last_position).collect();
                let events = reader.events_at(&positions)?;
                // A transfer's record spans both its streams and names the last one: answered,
                // as when it was committed, by the first cohort (the one left) and its version.
                let first = events.first().map_or(cohort, |e| e.cohort);
                let version = events
                    .iter()
                    .rev()
                    .find(|e| e.cohort == first)
                    .map_or(version, |e| e.version);
                Ok(Committed {
                    cohort: first,
                    version,
                    events,
                    replayed: true,
                })
            }
        })))
    }
}
