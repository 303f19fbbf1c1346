//! `fsync-probe DIR [SECONDS]`: prints one JSON line (see `rollbook_bench::fsync`).

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| ".".to_owned()));
    let seconds: f64 = args.next().map_or(Ok(3.0), |s| s.parse())?;
    println!("{}", rollbook_bench::fsync::probe(&dir, seconds)?);
    Ok(())
}
