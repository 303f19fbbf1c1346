//! Consistent copies of a live database: every table copied from ONE read transaction (an MVCC
//! snapshot, so writers keep going) into a fresh file, which is then synced and renamed into
//! place. Never a raw copy of a file being written.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, TableDefinition};

use super::tables::{
    ACCOUNTS, COMMANDS, DIRECTORY, ERASURES, EVENTS, JOURNAL, MAIL_DONE, MAIL_FAILURES, MAIL_LOG,
    MAIL_REMINDERS, MAIL_STATE, META, OFFER_LINK_KEY, OFFER_LINKS_USED, SESSIONS, SNAPSHOTS,
    STREAM_INDEX, TOKENS, WEBHOOK_POSITIONS, WEBHOOKS,
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

/// Writes every table `reader` sees into a new owner-only file at `path` (a leftover of a killed
/// run is replaced), synced (not renamed).
pub(super) fn write_copy(reader: &Reader, path: &Path) -> Result<(), StoreError> {
    let file = crate::private_file::create_temporary(path).map_err(io(path))?;
    let copy = redb::backends::FileBackend::new(file)
        .and_then(|backend| {
            Database::builder()
                .set_cache_size(16 << 20)
                .create_with_backend(backend)
        })
        .map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
    let txn = copy.begin_write()?;
    copy_tables!(reader.txn, txn;
        META, EVENTS, STREAM_INDEX, SNAPSHOTS, COMMANDS, DIRECTORY, ERASURES, JOURNAL, ACCOUNTS,
        TOKENS, SESSIONS, WEBHOOKS, WEBHOOK_POSITIONS, OFFER_LINK_KEY, OFFER_LINKS_USED, MAIL_STATE,
        MAIL_LOG, MAIL_FAILURES, MAIL_DONE, MAIL_REMINDERS);
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
    /// Writes a consistent copy of the whole database to `dest`, owner-only: copied from one read
    /// transaction into a temporary file beside it, synced, then renamed over `dest`. `dest` is
    /// claimed first with an exclusive create, so an existing file or a symbolic link there is
    /// refused ([`std::io::ErrorKind::AlreadyExists`]) and never written through; on failure
    /// nothing is left behind.
    pub fn copy_to(&self, dest: &Path) -> Result<CopyInfo, StoreError> {
        copy_to(|| self.read(), dest)
    }
}

/// [`Store::copy_to`] from whatever `read` opens a read transaction on.
pub(super) fn copy_to(
    read: impl FnOnce() -> Result<Reader, StoreError>,
    dest: &Path,
) -> Result<CopyInfo, StoreError> {
    let claim = crate::private_file::create_new(dest).map_err(io(dest))?;
    drop(claim);
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dest.with_file_name(format!(".{file_name}.partial-{}", std::process::id()));
    let result = (|| {
        let reader = read()?;
        let position = reader.head_position()?;
        let chain_head = reader.chain_head()?.map(|(_, h)| h);
        write_copy(&reader, &temporary)?;
        drop(reader);
        // Over the claimed (empty, owner-only) file: a rename replaces whatever is at the
        // name itself, a symbolic link included, and never follows one.
        fs::rename(&temporary, dest).map_err(io(dest))?;
        sync_parent(dest)?;
        Ok((position, chain_head))
    })();
    match result {
        Ok((position, chain_head)) => Ok(CopyInfo {
            path: dest.to_owned(),
            position,
            chain_head,
        }),
        Err(e) => {
            let _ = fs::remove_file(&temporary);
            let _ = fs::remove_file(dest);
            Err(e)
        }
    }
}

/// The chain head of a copy, for people.
#[must_use]
pub fn show_head(info: &CopyInfo) -> String {
    info.chain_head
        .as_ref()
        .map_or_else(|| "none".to_owned(), chain::show)
}
