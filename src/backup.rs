//! Backups that can be trusted: a consistent copy from one read transaction, synced and renamed
//! into place, then verified end to end, with a manifest beside it (position, chain head,
//! SHA-256 of the file, rollbook version). Also scheduled backups with rotation, and restore.
//!
//! A backup and its manifest are owner-only files (0600) created exclusively: an existing file
//! or a symbolic link at either name is refused, never overwritten or followed (see
//! [`crate::private_file`]). Backups a server makes go only into its backup folder
//! (`--backup-dir`), under a [`BackupName`]: a bare file name, never a path.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LockResult, Mutex, MutexGuard, PoisonError};

use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::private_file;
use crate::store::{ReadableStore, StoreError, VerifyError, chain, file_sha256, verify};

/// The longest backup name accepted, in bytes (the file system's limit is 255, and the
/// manifest and temporary names add to it).
pub const MAX_NAME_LEN: usize = 128;

/// The file name of a backup in the server's backup folder: 1 to [`MAX_NAME_LEN`] ASCII
/// letters, digits, `.`, `-` and `_`, not starting with `.` or `-`. So never a path (no `/`,
/// no `..`), never hidden, never a control character or a newline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupName(String);

/// Why a backup name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadName {
    /// Nothing was given.
    #[error("a backup file name is required, e.g. \"nightly-2026-12-07.redb\"")]
    Empty,
    /// Too long.
    #[error("a backup name has at most {MAX_NAME_LEN} characters")]
    TooLong,
    /// Starts with `.` or `-`.
    #[error("a backup name cannot start with '.' or '-'")]
    BadStart,
    /// A character other than ASCII letters, digits, `.`, `-`, `_` (a path separator, say).
    #[error(
        "a backup name is a file name in the server's backup folder, not a path: only letters, \
         digits, '.', '-' and '_' (found {0:?})"
    )]
    BadCharacter(char),
}

impl BackupName {
    /// Checks a name as sent.
    pub fn parse(raw: &str) -> Result<Self, BadName> {
        if raw.is_empty() {
            return Err(BadName::Empty);
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        {
            return Err(BadName::BadCharacter(bad));
        }
        if raw.len() > MAX_NAME_LEN {
            return Err(BadName::TooLong);
        }
        if raw.starts_with(['.', '-']) {
            return Err(BadName::BadStart);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BackupName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a backup was not made. Nothing it created is left behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Something (a file, a symbolic link) is already at the backup's or its manifest's name.
    #[error(
        "{} already exists (or is a symbolic link); a backup never overwrites or follows one",
        path.display()
    )]
    Exists {
        /// The name taken.
        path: PathBuf,
    },
    /// The copy could not be written.
    #[error("cannot write the backup {}: {source}", path.display())]
    Write {
        /// The backup.
        path: PathBuf,
        /// What failed.
        source: StoreError,
    },
    /// The copy did not verify.
    #[error("the backup {} failed verification: {source}", path.display())]
    Verify {
        /// The backup.
        path: PathBuf,
        /// The first problem found.
        source: VerifyError,
    },
    /// Another file operation failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            BackupError::Exists {
                path: path.to_owned(),
            }
        } else {
            BackupError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}

/// What a backup is, written beside it as `<file>.manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The backup file.
    pub file: PathBuf,
    /// When it was made.
    pub created_at: Timestamp,
    /// The position of its newest event.
    pub position: u64,
    /// Its chain head (hex), empty without events.
    pub chain_head: String,
    /// SHA-256 of the file (hex).
    pub sha256: String,
    /// The rollbook version that made it.
    pub rollbook_version: String,
    /// Verified end to end (`rollbook verify`) after it was written.
    pub verified: bool,
}

/// Where a backup's manifest goes.
#[must_use]
pub fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(".manifest.json");
    file.with_file_name(name)
}

/// Makes a verified backup of `store` at `dest` (which must not exist), with its manifest.
pub fn backup(
    store: &dyn ReadableStore,
    dest: &Path,
    now: Timestamp,
) -> Result<Manifest, BackupError> {
    backup_reporting(store, dest, now, |_, _| {})
}

/// [`backup`], calling `progress(done, total)` as the copy is verified.
///
/// Both names are claimed before any work, exclusively and owner-only: the manifest's, then
/// the backup's (by [`Store::copy_to`]). Anything at either name, a symbolic link included, is
/// refused ([`BackupError::Exists`]) and left as it is. On any failure what this call created
/// is removed: a backup that did not verify is not left looking like one.
pub fn backup_reporting(
    store: &dyn ReadableStore,
    dest: &Path,
    now: Timestamp,
    progress: impl FnMut(u64, u64),
) -> Result<Manifest, BackupError> {
    let manifest_at = manifest_path(dest);
    let manifest_file = private_file::create_new(&manifest_at).map_err(io_error(&manifest_at))?;
    let copy = match store.copy_to(dest) {
        Ok(copy) => copy,
        Err(e) => {
            drop(manifest_file);
            let _ = fs::remove_file(&manifest_at);
            return Err(match e {
                StoreError::Io { source, .. }
                    if source.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    BackupError::Exists {
                        path: dest.to_owned(),
                    }
                }
                source => BackupError::Write {
                    path: dest.to_owned(),
                    source,
                },
            });
        }
    };
    let finished = finish(dest, &copy, manifest_file, now, progress);
    if finished.is_err() {
        let _ = fs::remove_file(dest);
        let _ = fs::remove_file(&manifest_at);
    }
    finished
}

/// Verifies a written backup and fills in its (claimed, empty) manifest.
fn finish(
    dest: &Path,
    copy: &crate::store::CopyInfo,
    mut manifest_file: File,
    now: Timestamp,
    progress: impl FnMut(u64, u64),
) -> Result<Manifest, BackupError> {
    let report = verify(dest, progress).map_err(|source| BackupError::Verify {
        path: dest.to_owned(),
        source,
    })?;
    let sha256 = file_sha256(dest).map_err(|source| BackupError::Write {
        path: dest.to_owned(),
        source,
    })?;
    let manifest = Manifest {
        file: dest.to_owned(),
        created_at: now,
        position: copy.position,
        chain_head: report
            .chain_head
            .map(|(_, h)| chain::show(&h))
            .unwrap_or_default(),
        sha256: chain::show(&sha256),
        rollbook_version: env!("CARGO_PKG_VERSION").to_owned(),
        verified: true,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io {
        path: manifest_path(dest),
        source: e.into(),
    })?;
    manifest_file
        .write_all(&json)
        .and_then(|()| manifest_file.sync_all())
        .map_err(io_error(&manifest_path(dest)))?;
    Ok(manifest)
}

/// Replaces the database at `db` with the backup `from`, after verifying the backup. Refuses
/// while a server holds `db`; keeps the replaced file aside and returns where.
pub fn restore(from: &Path, db: &Path, now: Timestamp) -> anyhow::Result<Option<PathBuf>> {
    verify(from, |_, _| {}).with_context(|| {
        format!(
            "the backup {} failed verification; nothing was changed",
            from.display()
        )
    })?;
    let replaced = if db.exists() {
        // Checked read-only: the file being replaced is kept aside exactly as it was. A damaged
        // or foreign file is exactly what a restore may replace.
        if let Err(redb::DatabaseError::DatabaseAlreadyOpen) =
            redb::Database::builder().open_read_only(db)
        {
            let e = StoreError::InUse {
                path: db.to_owned(),
            };
            bail!("{e}; stop the server before restoring");
        }
        let stamp = now.strftime("%Y%m%dT%H%M%SZ");
        let mut name = db
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_default();
        name.push(format!(".replaced-{stamp}"));
        let aside = db.with_file_name(name);
        fs::rename(db, &aside).with_context(|| format!("cannot move {} aside", db.display()))?;
        Some(aside)
    } else {
        None
    };
    let mut name = db
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(".restoring");
    let temporary = db.with_file_name(name);
    // Owner-only and synced; `fs::copy` would carry over the backup's mode.
    private_file::copy_new(from, &temporary)
        .with_context(|| format!("cannot copy {}", from.display()))?;
    if let Err(e) = fs::rename(&temporary, db) {
        let _ = fs::remove_file(&temporary);
        return Err(e)
            .with_context(|| format!("cannot move the restored copy to {}", db.display()));
    }
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(parent).and_then(|d| d.sync_all())?;
    }
    Ok(replaced)
}

/// Scheduled backups: every `every`, into `dir`, keeping the newest `keep`.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Where backups go.
    pub dir: PathBuf,
    /// How often.
    pub every: SignedDuration,
    /// How many to keep.
    pub keep: usize,
}

/// The outcome of a backup, as the admin page shows it.
pub type Outcome = Option<Result<Manifest, String>>;

/// Backups made by a running server: the folder backups on request go to (`--backup-dir`;
/// none without it), and how the last backup went (shown on the admin page).
#[derive(Debug, Default)]
pub struct ServerBackups {
    dir: Option<PathBuf>,
    last: Mutex<Outcome>,
}

impl ServerBackups {
    /// Backups into `dir`, when configured.
    #[must_use]
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            last: Mutex::default(),
        }
    }

    /// The backup folder, when configured.
    #[must_use]
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The last backup's outcome.
    pub fn lock(&self) -> LockResult<MutexGuard<'_, Outcome>> {
        self.last.lock()
    }
}

/// What a server shares about its backups.
pub type LastBackup = Arc<ServerBackups>;

/// Makes a backup named `name` in `dir` (created owner-only if missing).
pub fn backup_into(
    store: &dyn ReadableStore,
    dir: &Path,
    name: &BackupName,
    now: Timestamp,
) -> Result<Manifest, BackupError> {
    private_file::create_dir_all(dir).map_err(|source| BackupError::Io {
        path: dir.to_owned(),
        source,
    })?;
    backup(store, &dir.join(name.as_str()), now)
}

/// Makes one scheduled backup and removes the oldest beyond `keep`.
pub fn scheduled_backup(
    store: &dyn ReadableStore,
    schedule: &Schedule,
    now: Timestamp,
) -> anyhow::Result<Manifest> {
    private_file::create_dir_all(&schedule.dir)
        .with_context(|| format!("cannot create {}", schedule.dir.display()))?;
    let name = format!("rollbook-{}.redb", now.strftime("%Y%m%dT%H%M%S%.6fZ"));
    let manifest = backup(store, &schedule.dir.join(name), now)?;
    let mut backups: Vec<PathBuf> = fs::read_dir(&schedule.dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("rollbook-")
                    && Path::new(n)
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("redb"))
            })
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(schedule.keep.max(1));
    for old in &backups[..excess] {
        let _ = fs::remove_file(old);
        let _ = fs::remove_file(manifest_path(old));
    }
    Ok(manifest)
}

/// Records an outcome as the last backup.
pub fn record<E: std::fmt::Display>(last: &LastBackup, outcome: &Result<Manifest, E>) {
    let value = match outcome {
        Ok(m) => Ok(m.clone()),
        Err(e) => Err(format!("{e:#}")),
    };
    *last.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
}

#[cfg(test)]
mod tests {
    use super::{BackupName, BadName, MAX_NAME_LEN};

    #[test]
    fn a_backup_name_is_a_plain_file_name() {
        for good in ["nightly.redb", "rollbook-2026-12-07T10.redb", "a", "_x.1"] {
            assert_eq!(BackupName::parse(good).unwrap().as_str(), good);
        }
        let long = "x".repeat(MAX_NAME_LEN);
        assert!(BackupName::parse(&long).is_ok());
        assert_eq!(
            BackupName::parse(&format!("{long}x")),
            Err(BadName::TooLong)
        );
        assert_eq!(BackupName::parse(""), Err(BadName::Empty));
        for (bad, found) in [
            ("../x", '/'),
            ("/etc/passwd", '/'),
            ("a/b", '/'),
            ("a\\b", '\\'),
            ("x\nssh-ed25519 AAAA", '\n'),
            ("x\0", '\0'),
            ("x y", ' '),
            ("x\u{202e}", '\u{202e}'),
            ("é", 'é'),
        ] {
            assert_eq!(
                BackupName::parse(bad),
                Err(BadName::BadCharacter(found)),
                "{bad:?}"
            );
        }
        for bad in ["..", ".", ".hidden", "-rf"] {
            assert_eq!(BackupName::parse(bad), Err(BadName::BadStart), "{bad:?}");
        }
    }
}
