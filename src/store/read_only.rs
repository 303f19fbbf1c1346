//! Reading a database without changing it: for export, verify and other tools that must work on
//! a backup or a stopped server's file as it is. Two kinds of file are read through a private
//! scratch copy beside them (owner-only, removed when the store is dropped, and removed on any
//! failure, a full disk included) instead: one of an older store format (upgraded on the copy),
//! and one that a process killed while writing left needing crash recovery, which redb performs
//! on the copy exactly as `serve` would on the file. The file itself is never written.

use std::path::Path;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase as _};

use super::{Reader, STORE_FORMAT_VERSION, Store, StoreError, StoreOptions, open_error};
use crate::private_file::Scratch;

/// A database opened read-only.
pub struct ReadOnlyStore {
    db: Opened,
}

/// The file itself, read-only; or a recovered or upgraded scratch copy of it.
enum Opened {
    File(ReadOnlyDatabase),
    /// The database is declared before its file, so it is closed before the file is removed.
    Scratch {
        db: Database,
        _copy: Scratch,
    },
}

impl ReadOnlyStore {
    /// Opens `path` for reading. Like [`Store::open`], refuses what is not a rollbook database
    /// or is of a newer format, and a file a server holds; unlike it, never writes to the file.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        if super::is_missing_or_empty(path)? {
            return Err(StoreError::NotRollbook {
                path: path.to_owned(),
                detail: "the file does not exist or is empty".to_owned(),
            });
        }
        let found = super::precheck_existing(path, options)?;
        Self::open_checked(path, options, found)
    }

    /// [`ReadOnlyStore::open`] of a file the precheck found to be of format `found`.
    pub(super) fn open_checked(
        path: &Path,
        options: &StoreOptions,
        found: Option<u64>,
    ) -> Result<Self, StoreError> {
        if found.is_some_and(|f| f < STORE_FORMAT_VERSION) {
            return Ok(Self::through_scratch(path, options, "read", false)?.0);
        }
        match Database::builder()
            .set_cache_size(options.cache_size)
            .open_read_only(path)
        {
            Ok(db) => Ok(Self {
                db: Opened::File(db),
            }),
            Err(redb::DatabaseError::RepairAborted) => {
                tracing::info!(
                    path = %path.display(),
                    "the file needs crash recovery (a process writing it was stopped): reading a \
                     recovered scratch copy; the file itself is left as it is"
                );
                Ok(Self::through_scratch(path, options, "read", false)?.0)
            }
            Err(source) => Err(open_error(path, source)),
        }
    }

    /// Opens a scratch copy of `path` (`.<name>.<purpose>-<pid>`): redb recovers it from a
    /// crash if needed, checks its integrity when `check_integrity` (then the bool says whether
    /// it was intact), and an older format is upgraded. Whatever fails, the copy is removed.
    pub(super) fn through_scratch(
        path: &Path,
        options: &StoreOptions,
        purpose: &str,
        check_integrity: bool,
    ) -> Result<(Self, bool), StoreError> {
        let mut scratch = Scratch::copy_of(path, purpose)?;
        let file = scratch.take_file().expect("a new scratch copy is open");
        let mut db = redb::backends::FileBackend::new(file)
            .and_then(|backend| {
                Database::builder()
                    .set_cache_size(options.cache_size)
                    .create_with_backend(backend)
            })
            .map_err(|source| open_error(path, source))?;
        let intact = !check_integrity
            || db
                .check_integrity()
                .map_err(|e| StoreError::Redb(e.into()))?;
        let store = Store {
            cache_size: options.cache_size,
            db: std::sync::RwLock::new(db),
            path: path.to_owned(),
        };
        if intact {
            store.initialise(false)?;
        }
        let db = store
            .db
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok((
            Self {
                db: Opened::Scratch { db, _copy: scratch },
            },
            intact,
        ))
    }

    /// A consistent view of the store.
    pub fn read(&self) -> Result<Reader, StoreError> {
        let txn = match &self.db {
            Opened::File(db) => db.begin_read()?,
            Opened::Scratch { db, .. } => db.begin_read()?,
        };
        Ok(Reader { txn })
    }
}
