//! Full reads of the events table, for benchmarks: the baseline a startup replay is measured
//! against. The file is opened read-only, so a scan never changes it.

use std::path::Path;
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase as _, ReadableTable as _};

use super::tables::EVENTS;
use super::{StoreError, StoreOptions, decode_at, open_error, precheck_existing};

/// What a scan read.
#[derive(Clone, Copy, Debug)]
pub struct ScanSummary {
    /// Events read.
    pub events: u64,
    /// Bytes of stored event values read.
    pub bytes: u64,
    /// Wall time of the scan (after opening the file).
    pub elapsed: Duration,
}

/// Reads every event in position order. Without `decode`, each stored value is only touched (its
/// bytes summed, so the read cannot be optimised away); with it, each is decoded as replay does.
pub fn scan(path: &Path, decode: bool) -> Result<ScanSummary, StoreError> {
    precheck_existing(path, &StoreOptions::default())?;
    let db = Database::builder()
        .set_cache_size(StoreOptions::default().cache_size)
        .open_read_only(path)
        .map_err(|source| open_error(path, source))?;
    let started = Instant::now();
    let txn = db.begin_read()?;
    let events = txn.open_table(EVENTS)?;
    let (mut count, mut bytes, mut touched) = (0u64, 0u64, 0u8);
    for row in events.iter()? {
        let (key, value) = row?;
        let value = value.value();
        if decode {
            std::hint::black_box(decode_at(key.value(), value)?);
        } else {
            touched = value.iter().fold(touched, |a, b| a.wrapping_add(*b));
        }
        count += 1;
        bytes += value.len() as u64;
    }
    std::hint::black_box(touched);
    Ok(ScanSummary {
        events: count,
        bytes,
        elapsed: started.elapsed(),
    })
}
