//! Read-only access to the history: the capability the web layer and the projections hold.
//!
//! [`History`] reads (a consistent view, streams, time travel, snapshots, a backup copy) and
//! has no method that writes: appending, erasing and rewriting the file are methods of
//! [`Store`], which only the writer thread and the startup hold (offline tools hold an
//! [`super::OfflineStore`], the accounts an [`super::AccountStore`]). Like redb's own
//! split of `Database` and `ReadOnlyDatabase` behind its `ReadableDatabase` trait, code that only
//! reads takes a [`ReadableStore`], and the server hands out a [`History`].
//!
//! ```compile_fail
//! // A history handle cannot append, erase, rewrite the file or write accounts.
//! fn append(history: &rollbook::store::History, batch: &rollbook::store::Batch) {
//!     history.commit(batch, jiff::Timestamp::UNIX_EPOCH);
//! }
//! ```
//!
//! ```compile_fail
//! fn erase(history: &rollbook::store::History) {
//!     history.rewrite_file();
//! }
//! ```
//!
//! ```compile_fail
//! // Nor can it be turned back into the store it reads.
//! fn widen(history: rollbook::store::History) -> std::sync::Arc<rollbook::store::Store> {
//!     history.store
//! }
//! ```

use std::path::Path;
use std::sync::Arc;

use super::copy::{CopyInfo, copy_to};
use super::{ReadOnlyStore, Reader, Store, StoreError};

/// Anything the history can be read from: the open store, a [`History`] handle of it, or a
/// file opened read-only.
pub trait ReadableStore: Send + Sync {
    /// A consistent view of the store as of now (an MVCC snapshot).
    fn read(&self) -> Result<Reader, StoreError>;

    /// Writes a consistent copy of the whole database to `dest` (see [`Store::copy_to`]).
    fn copy_to(&self, dest: &Path) -> Result<CopyInfo, StoreError> {
        copy_to(|| self.read(), dest)
    }
}

impl ReadableStore for Store {
    fn read(&self) -> Result<Reader, StoreError> {
        Self::read(self)
    }
}

impl ReadableStore for ReadOnlyStore {
    fn read(&self) -> Result<Reader, StoreError> {
        Self::read(self)
    }
}

impl<T: ReadableStore + ?Sized> ReadableStore for Arc<T> {
    fn read(&self) -> Result<Reader, StoreError> {
        (**self).read()
    }
}

impl<T: ReadableStore + ?Sized> ReadableStore for &T {
    fn read(&self) -> Result<Reader, StoreError> {
        (**self).read()
    }
}

/// A read-only, cheaply cloned handle to the open store: what request handlers get.
#[derive(Clone)]
pub struct History {
    store: Arc<Store>,
}

impl History {
    /// A read-only handle to `store`.
    #[must_use]
    pub const fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// A consistent view of the store as of now (an MVCC snapshot). Blocking: keep it off the
    /// async worker threads.
    pub fn read(&self) -> Result<Reader, StoreError> {
        self.store.read()
    }

    /// The file the store was opened from.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Writes a consistent copy of the whole database to `dest` (see [`Store::copy_to`]).
    pub fn copy_to(&self, dest: &Path) -> Result<CopyInfo, StoreError> {
        self.store.copy_to(dest)
    }
}

impl ReadableStore for History {
    fn read(&self) -> Result<Reader, StoreError> {
        Self::read(self)
    }
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("path", &self.store.path())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    //! The compile-time half is the `compile_fail` examples above ([`History`] has no write
    //! method and does not give its store away); this checks the other half: that the web
    //! layer's own code never names the store type, so a handler could not be given one.

    /// Whether `text` names the type `Store` itself (not `StoreError`, `ReadableStore`, nor an
    /// error variant `Store(..)`).
    fn names_store(text: &str) -> bool {
        let bytes = text.as_bytes();
        text.match_indices("Store").any(|(at, _)| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + "Store".len()).copied();
            let ident = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
            !ident(before) && !ident(after) && after != Some(b'(')
        })
    }

    #[test]
    fn the_web_layer_never_names_the_store_type() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
        let mut checked = 0;
        // Every file below src/web, its sub-folders (the API's) included.
        let mut folders = vec![dir.clone()];
        let mut files = Vec::new();
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may open a store to wire a state by hand; the handlers may not.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let offending: Vec<&str> = code
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .filter(|line| names_store(line))
                .collect();
            assert!(
                offending.is_empty(),
                "{} names the store type: {offending:?}",
                path.display()
            );
            checked += 1;
        }
        assert!(checked > 10, "only {checked} files under {}", dir.display());
    }

    #[test]
    fn the_check_finds_the_type_and_only_it() {
        assert!(names_store("state: Arc<Store>,"));
        assert!(names_store("use crate::store::{Store, StoreError};"));
        assert!(names_store("let store = Store::open(path, &options)?;"));
        assert!(!names_store(
            "use crate::store::{History, StoreError, ReadableStore};"
        ));
        assert!(!names_store("Err(AuthError::Store(e)) => {}"));
    }
}
