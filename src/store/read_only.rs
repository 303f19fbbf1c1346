//! Reading a database without changing it: for export and other tools that must work on a
//! backup or a stopped server's file as it is. A file of an older store format is read through
//! an upgraded scratch copy beside it, removed when the store is dropped.

use std::path::{Path, PathBuf};

use redb::{Database, ReadOnlyDatabase, ReadableDatabase as _};

use super::{Reader, STORE_FORMAT_VERSION, Store, StoreError, StoreOptions, open_error};

/// A database opened read-only.
pub struct ReadOnlyStore {
    db: Opened,
    scratch: Option<PathBuf>,
}

/// The file itself, read-only; or the upgraded scratch copy of an older one.
enum Opened {
    File(ReadOnlyDatabase),
    Scratch(Database),
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
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let scratch = path.with_file_name(format!(".{name}.read-{}", std::process::id()));
            std::fs::copy(path, &scratch).map_err(|source| StoreError::Io {
                path: scratch.clone(),
                source,
            })?;
            let upgraded = (|| {
                let db = Database::builder()
                    .set_cache_size(options.cache_size)
                    .create(&scratch)
                    .map_err(|source| open_error(path, source))?;
                let store = Store {
                    cache_size: options.cache_size,
                    db: std::sync::RwLock::new(db),
                    path: path.to_owned(),
                };
                store.initialise(false)?;
                Ok(store
                    .db
                    .into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner))
            })();
            return match upgraded {
                Ok(db) => Ok(Self {
                    db: Opened::Scratch(db),
                    scratch: Some(scratch),
                }),
                Err(e) => {
                    let _ = std::fs::remove_file(&scratch);
                    Err(e)
                }
            };
        }
        let db = Database::builder()
            .set_cache_size(options.cache_size)
            .open_read_only(path)
            .map_err(|source| open_error(path, source))?;
        Ok(Self {
            db: Opened::File(db),
            scratch: None,
        })
    }

    /// A consistent view of the store.
    pub fn read(&self) -> Result<Reader, StoreError> {
        let txn = match &self.db {
            Opened::File(db) => db.begin_read()?,
            Opened::Scratch(db) => db.begin_read()?,
        };
        Ok(Reader { txn })
    }
}

impl Drop for ReadOnlyStore {
    fn drop(&mut self) {
        if let Some(scratch) = &self.scratch {
            let _ = std::fs::remove_file(scratch);
        }
    }
}
