//! Staff accounts, API tokens and sessions in the database: who may act, kept beside the events
//! (never in them). Secrets are stored only as SHA-256 hashes; passwords only as argon2id hashes.

use std::path::Path;

use redb::{Durability, ReadableTable};
use uuid::Uuid;

use super::codec::{self, AccountRecord, SessionRecord, TokenRecord};
use super::tables::{ACCOUNTS, SESSIONS, TOKENS};
use super::{Store, StoreError};

/// Everything about accounts, loaded at once (they are few).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountsSnapshot {
    /// Accounts by id.
    pub accounts: Vec<(Uuid, AccountRecord)>,
    /// API tokens by id.
    pub tokens: Vec<(Uuid, TokenRecord)>,
    /// Sessions by the SHA-256 of their id.
    pub sessions: Vec<([u8; 32], SessionRecord)>,
}

fn corrupt(what: String, source: codec::CodecError) -> StoreError {
    StoreError::Corrupt { what, source }
}

/// Where accounts, API tokens and sessions are kept: all that [`crate::auth`] may write. The
/// server's open [`Store`] is one (its request-caused session writes go through the write-back
/// thread), and so is an [`super::OfflineStore`] (the `user` and `token` subcommands). Nothing
/// holding only this can touch the history.
pub trait AccountStore: Send + Sync {
    /// The database file, for messages.
    fn path(&self) -> &Path;

    /// Every account, token and session.
    fn load_accounts(&self) -> Result<AccountsSnapshot, StoreError>;

    /// Inserts or replaces an account, durably.
    fn put_account(&self, id: Uuid, record: &AccountRecord) -> Result<(), StoreError>;

    /// Inserts or replaces an API token, durably.
    fn put_token(&self, id: Uuid, record: &TokenRecord) -> Result<(), StoreError>;

    /// Deletes an API token, durably; whether it existed.
    fn delete_token(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Stores a session. Creating one is durable (a login must survive a restart); refreshing
    /// its last-seen time need not be (`durable: false` rides on the next durable commit).
    fn put_session(
        &self,
        key: [u8; 32],
        record: &SessionRecord,
        durable: bool,
    ) -> Result<(), StoreError>;

    /// Deletes sessions, durably (logout, expiry, a disabled account).
    fn delete_sessions(&self, keys: &[[u8; 32]]) -> Result<(), StoreError>;

    /// Stores refreshed sessions and deletes others, in one transaction: durable when it
    /// deletes (an expired session must stay gone), otherwise riding on the next durable commit.
    fn write_sessions(
        &self,
        touched: &[([u8; 32], SessionRecord)],
        deleted: &[[u8; 32]],
    ) -> Result<(), StoreError>;
}

impl AccountStore for Store {
    fn path(&self) -> &Path {
        Self::path(self)
    }

    fn load_accounts(&self) -> Result<AccountsSnapshot, StoreError> {
        let reader = self.read()?;
        let txn = &reader.txn;
        let mut out = AccountsSnapshot::default();
        for row in txn.open_table(ACCOUNTS)?.iter()? {
            let (id, bytes) = row?;
            let id = id.value();
            let record = codec::decode_account(bytes.value())
                .map_err(|e| corrupt(format!("account {id}"), e))?;
            out.accounts.push((id, record));
        }
        for row in txn.open_table(TOKENS)?.iter()? {
            let (id, bytes) = row?;
            let id = id.value();
            let record = codec::decode_token(bytes.value())
                .map_err(|e| corrupt(format!("token {id}"), e))?;
            out.tokens.push((id, record));
        }
        for row in txn.open_table(SESSIONS)?.iter()? {
            let (key, bytes) = row?;
            let record = codec::decode_session(bytes.value())
                .map_err(|e| corrupt("session".to_owned(), e))?;
            out.sessions.push((key.value(), record));
        }
        Ok(out)
    }

    fn put_account(&self, id: Uuid, record: &AccountRecord) -> Result<(), StoreError> {
        let bytes = codec::encode_account(record).map_err(StoreError::Encode)?;
        self.write_small(Durability::Immediate, |txn| {
            txn.open_table(ACCOUNTS)?.insert(id, bytes.as_slice())?;
            Ok(())
        })
    }

    fn put_token(&self, id: Uuid, record: &TokenRecord) -> Result<(), StoreError> {
        let bytes = codec::encode_token(record).map_err(StoreError::Encode)?;
        self.write_small(Durability::Immediate, |txn| {
            txn.open_table(TOKENS)?.insert(id, bytes.as_slice())?;
            Ok(())
        })
    }

    fn delete_token(&self, id: Uuid) -> Result<bool, StoreError> {
        let mut existed = false;
        self.write_small(Durability::Immediate, |txn| {
            existed = txn.open_table(TOKENS)?.remove(id)?.is_some();
            Ok(())
        })?;
        Ok(existed)
    }

    fn put_session(
        &self,
        key: [u8; 32],
        record: &SessionRecord,
        durable: bool,
    ) -> Result<(), StoreError> {
        let bytes = codec::encode_session(record).map_err(StoreError::Encode)?;
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        self.write_small(durability, |txn| {
            txn.open_table(SESSIONS)?.insert(key, bytes.as_slice())?;
            Ok(())
        })
    }

    fn delete_sessions(&self, keys: &[[u8; 32]]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.write_small(Durability::Immediate, |txn| {
            let mut table = txn.open_table(SESSIONS)?;
            for key in keys {
                table.remove(*key)?;
            }
            Ok(())
        })
    }

    fn write_sessions(
        &self,
        touched: &[([u8; 32], SessionRecord)],
        deleted: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        if touched.is_empty() && deleted.is_empty() {
            return Ok(());
        }
        let mut encoded = Vec::with_capacity(touched.len());
        for (key, record) in touched {
            encoded.push((
                *key,
                codec::encode_session(record).map_err(StoreError::Encode)?,
            ));
        }
        let durability = if deleted.is_empty() {
            Durability::None
        } else {
            Durability::Immediate
        };
        self.write_small(durability, |txn| {
            let mut table = txn.open_table(SESSIONS)?;
            for (key, bytes) in &encoded {
                table.insert(*key, bytes.as_slice())?;
            }
            for key in deleted {
                table.remove(*key)?;
            }
            Ok(())
        })
    }
}

impl Store {
    /// One small write transaction of the account tables.
    fn write_small(
        &self,
        durability: Durability,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let db = self.database();
        let mut txn = db.begin_write()?;
        txn.set_durability(durability)?;
        f(&txn)?;
        txn.commit()?;
        Ok(())
    }
}
