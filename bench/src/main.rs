//! `rollbook-bench`: runs every workload of the performance issue against the release binary
//! and writes BENCHMARKS.md with SVG charts. `bench/run.sh` installs the tools, builds, and runs
//! this; see `rollbook-bench --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    match rollbook_bench::driver::run(std::env::args().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("[bench] FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}
