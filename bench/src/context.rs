//! Everything a workload needs: the options and sizes, the binaries, the pinning, and the
//! results it adds to.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::{Options, Sizes};
use crate::process::{Pinning, pinned};
use crate::results::Results;

/// The shared state of one run.
pub struct Ctx {
    /// The command line.
    pub options: Options,
    /// Sizes for this mode.
    pub sizes: Sizes,
    /// `target/release/rollbook`.
    pub rollbook: PathBuf,
    /// This crate's `store-peer` and `fsync-probe` binaries.
    pub store_peer: PathBuf,
    /// See above.
    pub fsync_probe: PathBuf,
    /// `bench/lua`.
    pub lua: PathBuf,
    /// Cores.
    pub pin: Pinning,
    /// Figures so far.
    pub results: Results,
    /// Seconds spent waiting for a quiet machine so far (at most [`WAIT_BUDGET`] in all).
    pub waited: f64,
    /// The most other processes took of the server's core in any measured run of this round.
    pub round_contention: f64,
}

/// A round during which other processes took more than this share (percent) of the server's
/// core in any measured run is run again.
pub const CONTENTION_LIMIT: f64 = 10.0;
/// At most this many rounds of a section are run again.
pub const MAX_REDONE: usize = 3;

/// The most a run waits for other processes to leave the CPU, in all.
pub const WAIT_BUDGET: f64 = 300.0;

impl Ctx {
    /// A rollbook CLI command pinned to the server core.
    #[must_use]
    pub fn rollbook(&self) -> Command {
        pinned(self.pin.server, &self.rollbook)
    }

    /// A `store-peer` command pinned to the server core.
    #[must_use]
    pub fn store_peer(&self) -> Command {
        pinned(self.pin.server, &self.store_peer)
    }

    /// A file or directory in the work dir.
    #[must_use]
    pub fn work(&self, name: &str) -> PathBuf {
        self.options.work_dir.join(name)
    }

    /// Prints a progress line (stderr, so it shows while stdout is piped).
    pub fn say(&self, text: &str) {
        eprintln!("[bench] {text}");
    }

    /// Measures, for one second while the suite is idle, how busy the machine is with other
    /// work; while that is over 15%, waits (up to `--wait-quiet`) and measures again. Records
    /// the last measure (percent of all cores) under `background.busy_percent`.
    pub fn quiet_check(&mut self, label: &str) {
        let started = std::time::Instant::now();
        let mut busy;
        loop {
            busy = crate::machine::busy_share(std::time::Duration::from_secs(1)) * 100.0;
            let waited = started.elapsed().as_secs();
            if busy.is_nan()
                || busy <= 15.0
                || waited >= self.options.wait_quiet
                || self.waited + started.elapsed().as_secs_f64() >= WAIT_BUDGET
            {
                break;
            }
            if waited <= 1 {
                self.say(&format!(
                    "other processes keep {busy:.0}% of the CPU busy ({label}); waiting up to {} s",
                    self.options.wait_quiet
                ));
            }
        }
        let waited = started.elapsed().as_secs_f64() - 1.0;
        self.waited += waited;
        if waited >= 1.0 {
            self.results.fact(
                format!("background.{label}.waited"),
                format!("{waited:.0} s"),
            );
        }
        if busy.is_finite() {
            self.results.push("background.busy_percent", busy);
            self.results
                .fact(format!("background.{label}"), format!("{busy:.0}%"));
            if busy > 15.0 {
                self.say(&format!(
                    "warning: other processes keep {busy:.0}% of the CPU busy ({label}); figures will be noisy"
                ));
            }
        }
    }

    /// Runs `body` for rounds 1..=rounds. A round during which other processes took more than
    /// [`CONTENTION_LIMIT`] of the server's core in any measured run is thrown away (its figures
    /// rolled back) and run again, at most [`MAX_REDONE`] times per section; the report counts
    /// them (`SECTION.redone_rounds`).
    pub fn rounds(
        &mut self,
        section: &str,
        mut body: impl FnMut(&mut Self, usize) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let (mut round, mut redone) = (1, 0);
        while round <= self.options.rounds {
            let before = self.results.clone();
            self.round_contention = 0.0;
            body(self, round)?;
            let worst = self.round_contention;
            if worst > CONTENTION_LIMIT && redone < MAX_REDONE {
                self.results = before;
                redone += 1;
                self.results
                    .fact(format!("{section}.redone_rounds"), redone.to_string());
                self.results
                    .push("contention.discarded_round_percent", worst);
                self.say(&format!(
                    "{section} round {round} thrown away: other processes took up to {worst:.0}% \
                     of the server's core; running it again"
                ));
                self.quiet_check(&format!("{section}.redo{redone}"));
                continue;
            }
            round += 1;
        }
        Ok(())
    }

    /// Runs `run` (a wrk run against the server `server_pid`) and records how much of the
    /// server's core other processes took meanwhile, under `contention.server_core_percent`.
    pub fn on_server_core<T>(
        &mut self,
        server_pid: u32,
        run: impl FnOnce(&Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let Some(core) = self.pin.server else {
            return run(self);
        };
        let share = crate::machine::CoreShare::start(core, server_pid);
        let out = run(self)?;
        if let Some(percent) = share.and_then(|s| s.others_percent()) {
            self.results.push("contention.server_core_percent", percent);
            self.round_contention = self.round_contention.max(percent);
        }
        Ok(out)
    }

    /// Runs the fsync probe in the work dir and records it under `fsync.{label}`; returns
    /// fsyncs per second.
    pub fn fsync_probe(&mut self, label: &str) -> anyhow::Result<f64> {
        let mut command = pinned(self.pin.server, &self.fsync_probe);
        command
            .arg(&self.options.work_dir)
            .arg(self.sizes.fsync_seconds.to_string());
        let (value, _) = crate::process::run_json(&mut command)?;
        let rate = crate::process::number(&value, "per_second")?;
        self.results.push("fsync.per_second", rate);
        self.results.push(format!("fsync.{label}"), rate);
        if let Some(p99) = value.get("p99_us").and_then(serde_json::Value::as_f64) {
            self.results.push("fsync.p99_us", p99);
        }
        self.say(&format!("fsync probe ({label}): {rate:.0}/s"));
        Ok(rate)
    }
}

/// Removes a file if it exists.
pub fn remove(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}
