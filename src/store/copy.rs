//! Consistent copies of a live database: every table copied from ONE read transaction (an MVCC
//! snapshot, so writers keep going) into a fresh file, which is then synced and renamed into
//! place. Never a raw copy of a file being written.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, TableDefinition};

use super::tables::{
    ACCOUNTS, COMMANDS, DIRECTORY, ERASURES, EVENTS, JOURNAL, META, SESSIONS, SNAPSHOTS,
    STREAM_INDEX, TOKENS,
};
use super::{Reader, Store, StoreError, chain};

/// What a copy holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyInfo {
    /// The file written.
    pub path: PathBuf,
    /// The position of its newest event.
    pub position: u64,
    /// Its chain head hash.
    pub chain_head: Option<[u8; 32]>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

macro_rules! copy_tables {
    ($reader:expr, $writer:expr; $($table:expr),+ $(,)?) => {$(
        copy_table(&$reader, &$writer, $table)?;
    )+};
}

fn copy_table<K, V>(
    from: &redb::ReadTransaction,
    to: &redb::WriteTransaction,
    definition: TableDefinition<K, V>,
) -> Result<(), StoreError>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
    for<'a> K::SelfType<'a>: std::borrow::Borrow<K::SelfType<'a>>,
    for<'a> V::SelfType<'a>: std::borrow::Borrow<V::SelfType<'a>>,
{
    let source = match from.open_table(definition) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut target = to.open_table(definition)?;
    for row in source.iter()? {
        let (key, value) = row?;
        target.insert(key.value(), value.value())?;
    }
    Ok(())
}

/// Writes every table `reader` sees into a new file at `path`, synced (not renamed).
pub(super) fn write_copy(reader: &Reader, path: &Path) -> Result<(), StoreError> {
    let copy = Database::builder()
        .set_cache_size(16 << 20)
        .create(path)
        .map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
    let txn = copy.begin_write()?;
    copy_tables!(reader.txn, txn;
        META, EVENTS, STREAM_INDEX, SNAPSHOTS, COMMANDS, DIRECTORY, ERASURES, JOURNAL, ACCOUNTS,
        TOKENS, SESSIONS);
    txn.commit()?;
    drop(copy);
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))
}

/// Syncs a folder, so that a rename in it is durable.
pub(super) fn sync_parent(path: &Path) -> Result<(), StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io(parent))?;
    }
    Ok(())
}

impl Store {
    /// Writes a consistent copy of the whole database to `dest` (which must not exist): copied
    /// from one read transaction into a temporary file beside it, synced, then renamed.
    pub fn copy_to(&self, dest: &Path) -> Result<CopyInfo, StoreError> {
        if dest.exists() {
            return Err(StoreError::Io {
                path: dest.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "refusing to overwrite an existing file",
                ),
            });
        }
        let file_name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = dest.with_file_name(format!(".{file_name}.partial-{}", std::process::id()));
        let reader = self.read()?;
        let position = reader.head_position()?;
        let chain_head = reader.chain_head()?.map(|(_, h)| h);
        let result = write_copy(&reader, &temporary)
            .and_then(|()| fs::rename(&temporary, dest).map_err(io(dest)))
            .and_then(|()| sync_parent(dest));
        if result.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        result?;
        Ok(CopyInfo {
            path: dest.to_owned(),
            position,
            chain_head,
        })
    }
}

/// The chain head of a copy, for people.
#[must_use]
pub fn show_head(info: &CopyInfo) -> String {
    info.chain_head
        .as_ref()
        .map_or_else(|| "none".to_owned(), chain::show)
}
