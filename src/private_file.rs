//! Files rollbook creates: readable and writable by their owner only (mode 0600, folders 0700),
//! and created exclusively. The database, backups and their manifests, exports, import targets,
//! upgrade copies and every scratch or temporary copy are made here, because they hold password
//! hashes and personal data.
//!
//! Exclusive means `O_CREAT|O_EXCL` ([`OpenOptions::create_new`]): an existing file at the name
//! is refused, never truncated, and so is a symbolic link, dangling or not. POSIX requires that
//! of `O_EXCL` ("if path names a symbolic link, `open()` shall fail … regardless of the contents of
//! the symbolic link"), so `O_NOFOLLOW` would add nothing and no platform constant (or `libc`) is
//! needed. This module never opens an existing file for writing.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The mode of every file rollbook creates.
pub const FILE_MODE: u32 = 0o600;

/// The mode of every folder rollbook creates.
pub const DIR_MODE: u32 = 0o700;

/// Creates a new file at `path`, owner-only, open for reading and writing. Fails with
/// [`io::ErrorKind::AlreadyExists`] when anything is there, a symbolic link included.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}

/// [`create_new`] for a temporary name only rollbook uses (a leftover of an earlier run that
/// was killed is removed first: removing a symbolic link never touches what it points at).
pub fn create_temporary(path: &Path) -> io::Result<File> {
    match create_new(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            create_new(path)
        }
        other => other,
    }
}

/// Creates `dir` and any missing parents, owner-only (existing folders keep their mode).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Copies the bytes of `from` into a new owner-only file at `to` ([`create_temporary`]), synced,
/// and returns it open for reading and writing. Unlike [`std::fs::copy`], the source's
/// permission bits are not copied. On any failure (a full disk, say) the partial copy is
/// removed before the error is returned.
pub fn copy_new(from: &Path, to: &Path) -> io::Result<File> {
    let mut source = File::open(from)?;
    let mut target = create_temporary(to)?;
    match io::copy(&mut source, &mut target).and_then(|_| target.sync_all()) {
        Ok(()) => Ok(target),
        Err(e) => {
            drop(target);
            let _ = std::fs::remove_file(to);
            Err(e)
        }
    }
}

/// A scratch copy of a file, beside it, removed when dropped: redb's crash recovery, its
/// integrity check and format upgrades write, and they run here, never on the file itself.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
    file: Option<File>,
}

impl Scratch {
    /// Copies `of` to `.<name>.<purpose>-<pid>` beside it. A failed copy leaves nothing behind.
    pub fn copy_of(of: &Path, purpose: &str) -> Result<Self, ScratchError> {
        let name = of
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = of.with_file_name(format!(".{name}.{purpose}-{}", std::process::id()));
        match copy_new(of, &path) {
            Ok(file) => Ok(Self {
                path,
                file: Some(file),
            }),
            Err(source) => Err(ScratchError {
                needed: std::fs::metadata(of).map_or(0, |m| m.len()),
                path,
                source,
            }),
        }
    }

    /// The copy, open for reading and writing (once; `None` afterwards).
    pub fn take_file(&mut self) -> Option<File> {
        self.file.take()
    }

    /// Where the copy is.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A scratch copy that could not be made (it was removed).
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot make the scratch copy {} ({}; it was removed): the folder of the file needs \
     {needed} bytes free and writable by this user",
    path.display(),
    source
)]
pub struct ScratchError {
    /// Where it was being written.
    pub path: PathBuf,
    /// The size of the file copied.
    pub needed: u64,
    /// What failed.
    pub source: io::Error,
}
