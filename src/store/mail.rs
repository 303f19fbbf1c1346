//! Learner e-mail in the database: the outbox position (the last event whose e-mails were all
//! handled), the per-learner mail log (sent, failed or skipped, with the SMTP answer; never the
//! address or the name), the marks that say which e-mails of a partly handled event, and which
//! offer reminders, were already handled, so that a restart sends none twice. Beside the events,
//! never in them. The [`MailStore`] trait is the boundary: callers see records and positions,
//! never redb.

use redb::{Durability, ReadableTable as _};
use uuid::Uuid;

use super::codec::{self, MailLogRecord, MailOutcome};
use super::tables::{ERASURES, MAIL_DONE, MAIL_FAILURES, MAIL_LOG, MAIL_REMINDERS, MAIL_STATE};
use super::{Store, StoreError};

/// Key in [`MAIL_STATE`] of the outbox position.
const POSITION: &str = "position";
/// Key in [`MAIL_STATE`] of the last log number.
const LOG_SEQ: &str = "log_seq";

/// What a mail log line marks as handled, in the same transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MailMark {
    /// The e-mail of the event at this position to this learner.
    Event {
        /// The event's position.
        position: u64,
        /// The learner.
        learner: Uuid,
    },
    /// The reminder of an offer (cohort, learner, expiry in microseconds).
    Reminder {
        /// The cohort.
        cohort: Uuid,
        /// The learner.
        learner: Uuid,
        /// The offer's expiry, in microseconds since the epoch.
        expires_at: i64,
    },
}

/// Where the outbox position, the mail log and the marks are kept. The server's open
/// [`Store`] is one; a second backend (`PostgreSQL`) implements the same methods.
pub trait MailStore: Send + Sync {
    /// The outbox position; when none is stored yet (mail configured for the first time),
    /// stores `head` first, durably, so that the history before it is never mailed.
    fn mail_position_or(&self, head: u64) -> Result<u64, StoreError>;

    /// Stores the outbox position, durably, and drops the marks of events at or before it.
    fn set_mail_position(&self, position: u64) -> Result<(), StoreError>;

    /// Whether `mark` was already handled (its line is in the log).
    fn mail_marked(&self, mark: MailMark) -> Result<bool, StoreError>;

    /// Appends a line to the learner's log and records `mark`, durably, in one transaction
    /// (only the mark for a learner erased by then: their log is gone and stays gone).
    fn record_mail(&self, line: &MailLogRecord, mark: MailMark) -> Result<(), StoreError>;

    /// The learner's log, newest first, at most `limit` lines.
    fn mail_log(&self, learner: Uuid, limit: usize) -> Result<Vec<MailLogRecord>, StoreError>;

    /// The newest refusals across learners, newest first, at most `limit`.
    fn mail_failures(&self, limit: usize) -> Result<Vec<MailLogRecord>, StoreError>;
}

impl MailStore for Store {
    fn mail_position_or(&self, head: u64) -> Result<u64, StoreError> {
        if let Some(position) = self
            .read()?
            .txn
            .open_table(MAIL_STATE)?
            .get(POSITION)?
            .map(|v| v.value())
        {
            return Ok(position);
        }
        let mut stored = head;
        self.write_mail(|txn| {
            let mut state = txn.open_table(MAIL_STATE)?;
            // Another caller may have stored it meanwhile: keep theirs.
            let existing = state.get(POSITION)?.map(|v| v.value());
            match existing {
                Some(position) => stored = position,
                None => {
                    state.insert(POSITION, head)?;
                }
            }
            Ok(())
        })?;
        Ok(stored)
    }

    fn set_mail_position(&self, position: u64) -> Result<(), StoreError> {
        self.write_mail(|txn| {
            txn.open_table(MAIL_STATE)?.insert(POSITION, position)?;
            let mut done = txn.open_table(MAIL_DONE)?;
            let stale: Vec<(u64, Uuid)> = done
                .range((0, Uuid::nil())..=(position, Uuid::max()))?
                .map(|row| row.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            for key in stale {
                done.remove(key)?;
            }
            Ok(())
        })
    }

    fn mail_marked(&self, mark: MailMark) -> Result<bool, StoreError> {
        let reader = self.read()?;
        Ok(match mark {
            MailMark::Event { position, learner } => reader
                .txn
                .open_table(MAIL_DONE)?
                .get((position, learner))?
                .is_some(),
            MailMark::Reminder {
                cohort,
                learner,
                expires_at,
            } => reader
                .txn
                .open_table(MAIL_REMINDERS)?
                .get((cohort, learner, expires_at))?
                .is_some(),
        })
    }

    fn record_mail(&self, line: &MailLogRecord, mark: MailMark) -> Result<(), StoreError> {
        let bytes = codec::encode_mail_log(line).map_err(StoreError::Encode)?;
        self.write_mail(|txn| {
            // A learner erased meanwhile (after the message was planned) keeps no log line:
            // only the mark, of opaque ids, so the message is not tried again. Checked in the
            // write transaction, which the erasure's own cannot interleave with.
            let erased = txn.open_table(ERASURES)?.get(line.learner)?.is_some();
            let seq = if erased {
                0
            } else {
                let mut state = txn.open_table(MAIL_STATE)?;
                let seq = state.get(LOG_SEQ)?.map_or(0, |v| v.value()) + 1;
                state.insert(LOG_SEQ, seq)?;
                txn.open_table(MAIL_LOG)?
                    .insert((line.learner, seq), bytes.as_slice())?;
                if line.outcome == MailOutcome::Failed {
                    txn.open_table(MAIL_FAILURES)?.insert(seq, line.learner)?;
                }
                seq
            };
            match mark {
                MailMark::Event { position, learner } => {
                    txn.open_table(MAIL_DONE)?
                        .insert((position, learner), seq)?;
                }
                MailMark::Reminder {
                    cohort,
                    learner,
                    expires_at,
                } => {
                    txn.open_table(MAIL_REMINDERS)?
                        .insert((cohort, learner, expires_at), seq)?;
                }
            }
            Ok(())
        })
    }

    fn mail_log(&self, learner: Uuid, limit: usize) -> Result<Vec<MailLogRecord>, StoreError> {
        let reader = self.read()?;
        let table = match reader.txn.open_table(MAIL_LOG) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        table
            .range((learner, 0)..=(learner, u64::MAX))?
            .rev()
            .take(limit)
            .map(|row| {
                let (key, value) = row?;
                decode(key.value().1, value.value())
            })
            .collect()
    }

    fn mail_failures(&self, limit: usize) -> Result<Vec<MailLogRecord>, StoreError> {
        let reader = self.read()?;
        let (failures, log) = match (
            reader.txn.open_table(MAIL_FAILURES),
            reader.txn.open_table(MAIL_LOG),
        ) {
            (Ok(failures), Ok(log)) => (failures, log),
            (Err(redb::TableError::TableDoesNotExist(_)), _)
            | (_, Err(redb::TableError::TableDoesNotExist(_))) => return Ok(Vec::new()),
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for row in failures.iter()?.rev().take(limit) {
            let (seq, learner) = row?;
            let seq = seq.value();
            if let Some(value) = log.get((learner.value(), seq))? {
                out.push(decode(seq, value.value())?);
            }
        }
        Ok(out)
    }
}

fn decode(seq: u64, bytes: &[u8]) -> Result<MailLogRecord, StoreError> {
    codec::decode_mail_log(bytes).map_err(|source| StoreError::Corrupt {
        what: format!("mail log line {seq}"),
        source,
    })
}

impl Store {
    /// One small durable write transaction of the mail tables.
    fn write_mail(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let db = self.database();
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        f(&txn)?;
        txn.commit()?;
        Ok(())
    }
}

/// Removes every mail log line of `learner` (and its refusals' index entries) inside an
/// erasure's transaction; how many lines.
pub(super) fn erase_mail_log(
    txn: &redb::WriteTransaction,
    learner: Uuid,
) -> Result<usize, StoreError> {
    let mut log = txn.open_table(MAIL_LOG)?;
    let keys: Vec<(Uuid, u64)> = log
        .range((learner, 0)..=(learner, u64::MAX))?
        .map(|row| row.map(|(k, _)| k.value()))
        .collect::<Result<_, _>>()?;
    let mut failures = txn.open_table(MAIL_FAILURES)?;
    for key in &keys {
        log.remove(*key)?;
        failures.remove(key.1)?;
    }
    Ok(keys.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    fn line(learner: Uuid, position: u64, outcome: MailOutcome) -> MailLogRecord {
        MailLogRecord {
            at: jiff::Timestamp::UNIX_EPOCH,
            learner,
            cohort: Uuid::from_u128(9),
            position,
            kind: "enrolled".to_owned(),
            subject: "You are enrolled in Rust 101".to_owned(),
            outcome,
            detail: String::new(),
        }
    }

    #[test]
    fn the_position_starts_at_the_head_once_and_marks_go_when_it_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.redb");
        let (ana, ben) = (Uuid::from_u128(1), Uuid::from_u128(2));
        {
            let store = Store::open(&path, &StoreOptions::default()).unwrap();
            assert_eq!(store.mail_position_or(7).unwrap(), 7);
            // Once stored, a later head does not move it.
            assert_eq!(store.mail_position_or(9).unwrap(), 7);
            let mark = MailMark::Event {
                position: 8,
                learner: ana,
            };
            assert!(!store.mail_marked(mark).unwrap());
            store
                .record_mail(&line(ana, 8, MailOutcome::Sent), mark)
                .unwrap();
            store
                .record_mail(
                    &line(ben, 8, MailOutcome::Failed),
                    MailMark::Event {
                        position: 8,
                        learner: ben,
                    },
                )
                .unwrap();
            assert!(store.mail_marked(mark).unwrap());
        }
        let store = Store::open(&path, &StoreOptions::default()).unwrap();
        let mark = MailMark::Event {
            position: 8,
            learner: ana,
        };
        assert!(store.mail_marked(mark).unwrap(), "marks survive a reopen");
        assert_eq!(store.mail_log(ana, 10).unwrap().len(), 1);
        assert_eq!(store.mail_failures(10).unwrap()[0].learner, ben);
        store.set_mail_position(8).unwrap();
        assert!(
            !store.mail_marked(mark).unwrap(),
            "passed marks are dropped"
        );
        assert_eq!(store.mail_position_or(0).unwrap(), 8);
        assert_eq!(store.mail_log(ana, 10).unwrap().len(), 1, "the log stays");
    }
}
