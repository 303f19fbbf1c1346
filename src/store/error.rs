//! Errors of the event store.

use std::path::PathBuf;

use super::codec::CodecError;
use crate::domain::CohortId;

/// What can go wrong opening, reading or writing the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file exists but is not a rollbook database; it was left untouched.
    #[error("{path} is not a rollbook database ({detail}); it was left untouched")]
    NotRollbook {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        detail: String,
    },
    /// The file was written by a newer rollbook; it was left untouched.
    #[error(
        "{path} uses store format {found}, but this rollbook reads format {supported} at most; \
         upgrade rollbook (the file was left untouched)"
    )]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// Format in the file.
        found: u64,
        /// Newest format this build reads.
        supported: u64,
    },
    /// An older store format could not be upgraded; the file was left as it was.
    #[error(
        "cannot upgrade {path} from store format {from} to format {to}: {detail}; the file was \
         left as it was"
    )]
    UpgradeRefused {
        /// The file.
        path: PathBuf,
        /// Format in the file.
        from: u64,
        /// Format this build writes.
        to: u64,
        /// Why.
        detail: String,
    },
    /// Another process holds the database open.
    #[error("{path} is in use by another process (is a rollbook server running on it?)")]
    InUse {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// redb's error.
        source: redb::DatabaseError,
    },
    /// A redb operation failed.
    #[error("database error: {0}")]
    Redb(#[from] redb::Error),
    /// Stored bytes did not decode.
    #[error("corrupt {what}: {source}")]
    Corrupt {
        /// Which value (e.g. "event at position 12").
        what: String,
        /// The codec's error.
        source: CodecError,
    },
    /// A value could not be encoded.
    #[error(transparent)]
    Encode(CodecError),
    /// An append expected another stream version than the stored one: a writer bug, never a
    /// user error (the writer checks versions before appending).
    #[error("stream {cohort} is at version {actual}, append expected {expected}")]
    StreamConflict {
        /// The stream.
        cohort: CohortId,
        /// What the append expected.
        expected: u64,
        /// What was stored.
        actual: u64,
    },
    /// A scratch copy (for crash recovery, an integrity check or an upgrade) could not be made;
    /// nothing was left behind.
    #[error(transparent)]
    Scratch(#[from] crate::private_file::ScratchError),
    /// Reading or writing a file failed.
    #[error("cannot read or write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the storage failed (a full disk, an I/O error, the file unavailable) rather than
    /// the data or rollbook's own logic: callers answer 503, worth retrying once it is fixed
    /// (and redb refuses further writes after a failed commit). Bytes that do not decode, a
    /// value that does not encode, or an append the writer got wrong are not: retrying will not
    /// help (500). The one classification every layer uses.
    #[must_use]
    pub const fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            Self::Redb(_)
                | Self::Io { .. }
                | Self::Open { .. }
                | Self::InUse { .. }
                | Self::Scratch(_)
        )
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Redb(e.into())
            }
        }
    )*};
}

from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
