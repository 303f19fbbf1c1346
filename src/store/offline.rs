//! Write access for the offline tools: the subcommands that change a database file while no
//! server runs (`user`, `token`, `learner erase`, `import`, and `backup` of a file). An
//! [`OfflineStore`] is only had by opening the file: redb locks it for as long as the handle
//! lives, so opening fails ([`StoreError::InUse`]) while a server or another tool holds the
//! file, and no server can start on it meanwhile. It writes exactly what those tools need and
//! nothing else: accounts, tokens and sessions ([`AccountStore`]), a learner's erasure with the
//! file rewritten after it, and an import's filling of a new file. A running server writes
//! through its writer thread instead; it never holds one of these.
//!
//! ```compile_fail
//! // It cannot be made from the server's store, only by opening a file no one holds.
//! fn offline(store: rollbook::store::Store) -> rollbook::store::OfflineStore {
//!     rollbook::store::OfflineStore { store }
//! }
//! ```
//!
//! ```compile_fail
//! // Nor does it give the whole store away.
//! fn widen(offline: rollbook::store::OfflineStore) -> rollbook::store::Store {
//!     offline.store
//! }
//! ```
//!
//! ```compile_fail
//! // Nor does it append decided commands beside a writer: an import fills a new file only.
//! fn append(offline: &rollbook::store::OfflineStore, batch: &rollbook::store::Batch) {
//!     offline.commit(batch, jiff::Timestamp::UNIX_EPOCH);
//! }
//! ```
//!
//! ```compile_fail
//! // And what only an import does (filling a new file without waiting for the disk) is its
//! // alone: the writer's store cannot.
//! fn fill(store: &rollbook::store::Store, batch: &rollbook::store::Batch) {
//!     store.commit_unsynced(batch, jiff::Timestamp::UNIX_EPOCH);
//! }
//! ```

use std::path::Path;

use jiff::Timestamp;
use uuid::Uuid;

use super::{
    AccountRecord, AccountStore, AccountsSnapshot, Batch, Envelope, Erasure, ErasureError,
    ErasureRecord, ReadableStore, Reader, SessionRecord, Store, StoreError, StoreOptions,
    TokenRecord,
};
use crate::domain::LearnerId;

/// A database file opened exclusively by an offline tool (see the module's documentation).
pub struct OfflineStore {
    store: Store,
}

impl OfflineStore {
    /// Opens the database at `path` as [`Store::open`] does (creating it when missing, upgrading
    /// an older format after a verified backup), holding it exclusively: while a server holds
    /// the file this fails with [`StoreError::InUse`].
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        Ok(Self {
            store: Store::open(path, options)?,
        })
    }

    /// The file this was opened from.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// A consistent view of the file as of now.
    pub fn read(&self) -> Result<Reader, StoreError> {
        self.store.read()
    }

    /// `rollbook learner erase`: the writer's very erasure steps ([`Store::erase_and_rewrite`]):
    /// erases the personal data of the learner filed under the normalised `key`, durably, then
    /// rewrites the file without the old pages. `None` when no learner has that key.
    pub fn erase_learner(
        &self,
        key: &str,
        record: &ErasureRecord,
    ) -> Result<Option<Erasure>, ErasureError> {
        self.store.erase_and_rewrite(key, record)
    }

    /// An import's fill of a new file: appends a batch without waiting for the disk. The file
    /// is made durable with [`OfflineStore::sync`] and verified before anyone uses it.
    pub fn commit_unsynced(
        &self,
        batch: &Batch,
        recorded_at: Timestamp,
    ) -> Result<Vec<Vec<Envelope>>, StoreError> {
        self.store.commit_unsynced(batch, recorded_at)
    }

    /// Files erasure records for learners the directory never held (an import of a history
    /// with erased learners), durably.
    pub fn record_erasures(
        &self,
        erasures: &[(LearnerId, ErasureRecord)],
    ) -> Result<(), StoreError> {
        self.store.record_erasures(erasures)
    }

    /// Makes every earlier commit durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.store.sync()
    }
}

impl ReadableStore for OfflineStore {
    fn read(&self) -> Result<Reader, StoreError> {
        Self::read(self)
    }
}

impl AccountStore for OfflineStore {
    fn path(&self) -> &Path {
        self.store.path()
    }

    fn load_accounts(&self) -> Result<AccountsSnapshot, StoreError> {
        self.store.load_accounts()
    }

    fn put_account(&self, id: Uuid, record: &AccountRecord) -> Result<(), StoreError> {
        self.store.put_account(id, record)
    }

    fn put_token(&self, id: Uuid, record: &TokenRecord) -> Result<(), StoreError> {
        self.store.put_token(id, record)
    }

    fn delete_token(&self, id: Uuid) -> Result<bool, StoreError> {
        self.store.delete_token(id)
    }

    fn put_session(
        &self,
        key: [u8; 32],
        record: &SessionRecord,
        durable: bool,
    ) -> Result<(), StoreError> {
        self.store.put_session(key, record, durable)
    }

    fn delete_sessions(&self, keys: &[[u8; 32]]) -> Result<(), StoreError> {
        self.store.delete_sessions(keys)
    }

    fn write_sessions(
        &self,
        touched: &[([u8; 32], SessionRecord)],
        deleted: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        self.store.write_sessions(touched, deleted)
    }
}

impl std::fmt::Debug for OfflineStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineStore")
            .field("path", &self.store.path())
            .finish()
    }
}
