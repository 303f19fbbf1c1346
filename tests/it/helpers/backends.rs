//! In-memory redb storage backends: a plain image, and one that fails after N operations.

use std::io::ErrorKind;
use std::sync::{Arc, Mutex};

use redb::StorageBackend;

pub fn write_at(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let offset = usize::try_from(offset).expect("offset fits");
    if offset + data.len() > image.len() {
        image.resize(offset + data.len(), 0);
    }
    image[offset..offset + data.len()].copy_from_slice(data);
}

pub fn read_at(image: &[u8], offset: u64, out: &mut [u8]) -> std::io::Result<()> {
    let offset = usize::try_from(offset).expect("offset fits");
    let Some(bytes) = image.get(offset..offset + out.len()) else {
        return Err(ErrorKind::UnexpectedEof.into());
    };
    out.copy_from_slice(bytes);
    Ok(())
}

/// A file image in memory, shared between clones: reopen the same bytes after a store is gone.
#[derive(Clone, Debug, Default)]
pub struct ImageBackend(Arc<Mutex<Vec<u8>>>);

impl ImageBackend {
    pub fn with(image: Vec<u8>) -> Self {
        Self(Arc::new(Mutex::new(image)))
    }

    pub fn image(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl StorageBackend for ImageBackend {
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.0.lock().unwrap().len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        read_at(&self.0.lock().unwrap(), offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let len = usize::try_from(len).expect("length fits");
        self.0.lock().unwrap().resize(len, 0);
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        write_at(&mut self.0.lock().unwrap(), offset, data);
        Ok(())
    }
}

/// How a fault behaves once it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Only the N-th operation fails.
    OneShot,
    /// The N-th operation and every later one fail until disarmed.
    Persistent,
}

/// Which operations count towards N and may fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Faulty {
    /// Every operation: length, read, write, set length, sync.
    All,
    /// Writes and growing the file (a full disk).
    Writes,
}

#[derive(Debug)]
pub struct FaultState {
    live: Vec<u8>,
    /// The image as of the last successful sync.
    durable: Vec<u8>,
    counted: u64,
    fail_at: Option<u64>,
    fault: Fault,
    faulty: Faulty,
    kind: ErrorKind,
    failures: u64,
    last_failed: &'static str,
}

/// Storage that fails after N operations, keeping both the live image and the durable one (as
/// of the last sync that succeeded).
#[derive(Clone, Debug)]
pub struct FaultBackend(Arc<Mutex<FaultState>>);

impl Default for FaultBackend {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(FaultState {
            live: Vec::new(),
            durable: Vec::new(),
            counted: 0,
            fail_at: None,
            fault: Fault::OneShot,
            faulty: Faulty::All,
            kind: ErrorKind::Other,
            failures: 0,
            last_failed: "",
        })))
    }
}

impl FaultBackend {
    /// From now on, the `n`-th operation of kind `faulty` (1-based) fails with `kind`.
    pub fn arm(&self, n: u64, fault: Fault, faulty: Faulty, kind: ErrorKind) {
        let mut state = self.0.lock().unwrap();
        state.counted = 0;
        state.fail_at = Some(n);
        state.fault = fault;
        state.faulty = faulty;
        state.kind = kind;
    }

    /// Storage works again.
    pub fn disarm(&self) {
        self.0.lock().unwrap().fail_at = None;
    }

    /// Operations counted since armed.
    pub fn counted(&self) -> u64 {
        self.0.lock().unwrap().counted
    }

    /// The kind of the last operation that failed.
    pub fn last_failed(&self) -> &'static str {
        self.0.lock().unwrap().last_failed
    }

    /// Operations that failed so far.
    pub fn failures(&self) -> u64 {
        self.0.lock().unwrap().failures
    }

    /// What a process that survives sees: every write.
    pub fn live(&self) -> Vec<u8> {
        self.0.lock().unwrap().live.clone()
    }

    /// What a power loss now would leave: the image as of the last successful sync.
    pub fn durable(&self) -> Vec<u8> {
        self.0.lock().unwrap().durable.clone()
    }

    /// Counts an operation of kind `write`; fails it if due.
    fn check(
        &self,
        state: &mut FaultState,
        write: bool,
        what: &'static str,
    ) -> std::io::Result<()> {
        let _ = self;
        if state.faulty == Faulty::Writes && !write {
            return Ok(());
        }
        state.counted += 1;
        let due = match (state.fail_at, state.fault) {
            (Some(n), Fault::OneShot) => state.counted == n,
            (Some(n), Fault::Persistent) => state.counted >= n,
            (None, _) => false,
        };
        if due {
            state.failures += 1;
            state.last_failed = what;
            return Err(std::io::Error::new(state.kind, "injected storage fault"));
        }
        Ok(())
    }
}

impl StorageBackend for FaultBackend {
    fn len(&self) -> std::io::Result<u64> {
        let mut state = self.0.lock().unwrap();
        self.check(&mut state, false, "len")?;
        Ok(state.live.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        self.check(&mut state, false, "read")?;
        read_at(&state.live, offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        let grows = len > state.live.len() as u64;
        self.check(&mut state, grows, "set_len")?;
        state
            .live
            .resize(usize::try_from(len).expect("length fits"), 0);
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        self.check(&mut state, false, "sync")?;
        let state = &mut *state;
        state.durable.clone_from(&state.live);
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        self.check(
            &mut state,
            true,
            if offset == 0 { "write-header" } else { "write" },
        )?;
        write_at(&mut state.live, offset, data);
        Ok(())
    }
}
