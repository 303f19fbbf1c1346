//! Backups that can be trusted: a consistent copy from one read transaction, synced and renamed
//! into place, then verified end to end, with a manifest beside it (position, chain head,
//! SHA-256 of the file, rollbook version). Also scheduled backups with rotation, and restore.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError, chain, file_sha256, verify};

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
pub fn backup(store: &Store, dest: &Path, now: Timestamp) -> anyhow::Result<Manifest> {
    backup_reporting(store, dest, now, |_, _| {})
}

/// [`backup`], calling `progress(done, total)` as the copy is verified.
pub fn backup_reporting(
    store: &Store,
    dest: &Path,
    now: Timestamp,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<Manifest> {
    let copy = store
        .copy_to(dest)
        .with_context(|| format!("cannot write the backup {}", dest.display()))?;
    let report = verify(dest, progress)
        .with_context(|| format!("the backup {} failed verification", dest.display()))?;
    let manifest = Manifest {
        file: dest.to_owned(),
        created_at: now,
        position: copy.position,
        chain_head: report
            .chain_head
            .map(|(_, h)| chain::show(&h))
            .unwrap_or_default(),
        sha256: chain::show(&file_sha256(dest)?),
        rollbook_version: env!("CARGO_PKG_VERSION").to_owned(),
        verified: true,
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    let path = manifest_path(dest);
    fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    File::open(&path).and_then(|f| f.sync_all())?;
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
    fs::copy(from, &temporary).with_context(|| format!("cannot copy {}", from.display()))?;
    File::open(&temporary).and_then(|f| f.sync_all())?;
    fs::rename(&temporary, db)?;
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

/// The last backup made by this server (shown on the admin page).
pub type LastBackup = Arc<Mutex<Option<Result<Manifest, String>>>>;

/// Makes one scheduled backup and removes the oldest beyond `keep`.
pub fn scheduled_backup(
    store: &Store,
    schedule: &Schedule,
    now: Timestamp,
) -> anyhow::Result<Manifest> {
    fs::create_dir_all(&schedule.dir)
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
pub fn record(last: &LastBackup, outcome: &anyhow::Result<Manifest>) {
    let value = match outcome {
        Ok(m) => Ok(m.clone()),
        Err(e) => Err(format!("{e:#}")),
    };
    *last.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
}
