//! A redb storage backend over a file opened read-only, with every write redb makes kept in
//! memory: the precheck of an existing file (integrity check and crash recovery) runs on this
//! private copy-on-write view, so a file that is refused is left exactly as it was.

use std::fs::File;
use std::io::Read as _;

/// The file read-only, with redb's writes kept in memory.
#[derive(Debug)]
pub(super) struct CopyOnWrite {
    file: std::sync::Mutex<File>,
    file_len: std::sync::Mutex<u64>,
    len: std::sync::Mutex<u64>,
    writes: std::sync::Mutex<Vec<(u64, Vec<u8>)>>,
}

impl redb::StorageBackend for CopyOnWrite {
    fn len(&self) -> std::io::Result<u64> {
        Ok(*lock(&self.len))
    }

    #[allow(
        clippy::cast_possible_truncation,
        reason = "every span cast is within `out` or a stored write, both in memory: usize"
    )]
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        use std::io::{Seek as _, SeekFrom};
        let end = offset.saturating_add(out.len() as u64);
        if end > *lock(&self.len) {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        out.fill(0);
        let in_file = lock(&self.file_len)
            .saturating_sub(offset)
            .min(out.len() as u64);
        if in_file > 0 {
            let mut file = lock(&self.file);
            file.seek(SeekFrom::Start(offset))?;
            file.read_exact(&mut out[..in_file as usize])?;
        }
        for (at, data) in lock(&self.writes).iter() {
            let (from, to) = (offset.max(*at), end.min(*at + data.len() as u64));
            if from < to {
                out[(from - offset) as usize..(to - offset) as usize]
                    .copy_from_slice(&data[(from - at) as usize..(to - at) as usize]);
            }
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut file_len = lock(&self.file_len);
        *file_len = (*file_len).min(len);
        *lock(&self.len) = len;
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut len = lock(&self.len);
        *len = (*len).max(offset + data.len() as u64);
        lock(&self.writes).push((offset, data.to_vec()));
        Ok(())
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CopyOnWrite {
    /// A view of `file`, `len` bytes long, that nothing has written to yet.
    pub(super) fn new(file: File, len: u64) -> Self {
        Self {
            file: std::sync::Mutex::new(file),
            file_len: std::sync::Mutex::new(len),
            len: std::sync::Mutex::new(len),
            writes: std::sync::Mutex::new(Vec::new()),
        }
    }
}
