//! The fsync probe: how many durable 4 KiB writes per second the disk under the work dir takes.
//! It overwrites one of 256 blocks of a preallocated 1 MiB file and fsyncs, in a loop: the cost
//! a database pays per durable commit, with no database around it.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::stats::quantile;

/// Runs the probe in `dir` for `seconds`; returns `{"fsyncs","seconds","per_second","p50_us","p99_us"}`.
pub fn probe(dir: &Path, seconds: f64) -> anyhow::Result<Value> {
    let path = dir.join("fsync-probe.bin");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    file.write_all(&vec![0u8; 1 << 20])?;
    file.sync_all()?;
    let block = vec![0xA5u8; 4096];
    let limit = Duration::from_secs_f64(seconds);
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut i = 0u64;
    while started.elapsed() < limit {
        let t = Instant::now();
        file.write_all_at(&block, (i % 256) * 4096)?;
        file.sync_all()?;
        latencies.push(t.elapsed().as_secs_f64() * 1e6);
        i += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path)?;
    let count = latencies.len();
    Ok(json!({
        "fsyncs": count,
        "seconds": elapsed,
        "per_second": count as f64 / elapsed,
        "p50_us": quantile(&mut latencies, 0.5),
        "p99_us": quantile(&mut latencies, 0.99),
    }))
}
