//! The driver's command line, parsed once into [`Options`], and the sizes each mode runs at.

use std::path::PathBuf;

use anyhow::{Context as _, bail};

/// Which parts of the suite to run (all by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Startup replay, RSS, replay scaling (workloads 2, 5, 6).
    Replay,
    /// Pages (workload 3).
    Pages,
    /// The `SQLite` peer at the store level (workload 4).
    Peer,
    /// Durable commands over HTTP (workload 1).
    Commands,
    /// Webhook deliveries and commands with live-feed streams open (workload 7).
    Delivery,
}

impl Section {
    /// Every section, in the order they run.
    pub const ALL: [Section; 5] = [
        Section::Replay,
        Section::Pages,
        Section::Peer,
        Section::Commands,
        Section::Delivery,
    ];

    fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "replay" => Self::Replay,
            "pages" => Self::Pages,
            "peer" => Self::Peer,
            "commands" => Self::Commands,
            "delivery" => Self::Delivery,
            other => bail!("unknown section {other:?} (replay, pages, peer, commands, delivery)"),
        })
    }
}

/// The end of every generated history unless `--history-end` says otherwise. `rollbook
/// generate` gives the same bytes for the same seed and end, and a different history (counts,
/// who is enrolled where) for another end, so it is fixed.
pub const DEFAULT_HISTORY_END: &str = "2026-11-27T00:00:00Z";

/// The checked command line.
#[derive(Clone, Debug)]
pub struct Options {
    /// One round, small sizes.
    pub quick: bool,
    /// Rounds per figure (median taken).
    pub rounds: usize,
    /// Databases, logs, raw results.
    pub work_dir: PathBuf,
    /// The repository root (where `target/release/rollbook` and `.git` are).
    pub repo: PathBuf,
    /// The markdown report to write.
    pub out: PathBuf,
    /// Where the SVG charts go.
    pub charts: PathBuf,
    /// The sections to run.
    pub sections: Vec<Section>,
    /// The rollbook binary (default `REPO/target/release/rollbook`).
    pub rollbook: PathBuf,
    /// Before each section and round, wait up to this many seconds for other processes to
    /// leave the CPU (0: do not wait).
    pub wait_quiet: u64,
    /// `rollbook generate --end`: fixed, so every run generates byte-identical histories.
    pub history_end: String,
}

const USAGE: &str = "\
usage: rollbook-bench [--quick] [--rounds N] [--work-dir DIR] [--out FILE] [--charts DIR]
                      [--only replay,pages,peer,commands,delivery] [--wait-quiet SECONDS]
                      [--history-end RFC3339] [--repo DIR] [--rollbook BIN]

  --quick      one round at small sizes, to try the suite out (report goes to the work dir)
  --rounds N   rounds per figure, the median is reported (default 3; 1 with --quick)
  --work-dir   databases, logs and raw results (default bench/work)
  --out        the report (default BENCHMARKS.md at the repo root; WORK/BENCHMARKS-quick.md
               with --quick, WORK/BENCHMARKS-partial.md with --only)
  --charts     SVG charts (default bench/charts; WORK/charts with --quick or --only)
  --only       run only these sections (the report marks the rest as not run)
  --wait-quiet before each section and round, wait up to this long (default 60 s; 5 min in
               all) while other processes keep more than 15% of the CPU busy; 0: never wait
  --history-end  when the generated histories end (default 2026-11-27T00:00:00Z: the same
               bytes every run; `rollbook generate` varies with it)
  --repo       the rollbook repository (default: the parent of bench/)
  --rollbook   the binary to measure (default REPO/target/release/rollbook)";

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Self> {
        let mut args = args.into_iter();
        let mut quick = false;
        let mut rounds = None;
        let mut work_dir = None;
        let mut out = None;
        let mut charts = None;
        let mut repo = None;
        let mut rollbook = None;
        let mut wait_quiet = 60;
        let mut history_end = DEFAULT_HISTORY_END.to_owned();
        let mut sections = Section::ALL.to_vec();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .with_context(|| format!("{name} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--quick" => quick = true,
                "--rounds" => {
                    let n: usize = value("--rounds")?.parse().context("--rounds: a number")?;
                    anyhow::ensure!(n >= 1, "--rounds must be at least 1");
                    rounds = Some(n);
                }
                "--work-dir" => work_dir = Some(PathBuf::from(value("--work-dir")?)),
                "--out" => out = Some(PathBuf::from(value("--out")?)),
                "--charts" => charts = Some(PathBuf::from(value("--charts")?)),
                "--repo" => repo = Some(PathBuf::from(value("--repo")?)),
                "--rollbook" => rollbook = Some(PathBuf::from(value("--rollbook")?)),
                "--history-end" => history_end = value("--history-end")?,
                "--wait-quiet" => {
                    wait_quiet = value("--wait-quiet")?
                        .parse()
                        .context("--wait-quiet: seconds")?;
                }
                "--only" => {
                    sections = value("--only")?
                        .split(',')
                        .map(|s| Section::parse(s.trim()))
                        .collect::<anyhow::Result<_>>()?;
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        let repo = match repo {
            Some(r) => r,
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .context("bench/ has no parent")?
                .to_owned(),
        };
        let repo = repo
            .canonicalize()
            .with_context(|| format!("no repository at {}", repo.display()))?;
        let work_dir = work_dir.unwrap_or_else(|| repo.join("bench").join("work"));
        std::fs::create_dir_all(&work_dir)
            .with_context(|| format!("cannot create {}", work_dir.display()))?;
        let work_dir = work_dir.canonicalize()?;
        // Only a full run of every section replaces the committed report and charts.
        let partial = quick || sections.len() < Section::ALL.len();
        let out = out.unwrap_or_else(|| match (quick, partial) {
            (true, _) => work_dir.join("BENCHMARKS-quick.md"),
            (false, true) => work_dir.join("BENCHMARKS-partial.md"),
            (false, false) => repo.join("BENCHMARKS.md"),
        });
        let charts = charts.unwrap_or_else(|| {
            if partial {
                work_dir.join("charts")
            } else {
                repo.join("bench").join("charts")
            }
        });
        Ok(Self {
            quick,
            rounds: rounds.unwrap_or(if quick { 1 } else { 3 }),
            work_dir,
            repo: repo.clone(),
            out,
            charts,
            sections,
            rollbook: rollbook
                .unwrap_or_else(|| repo.join("target").join("release").join("rollbook")),
            wait_quiet,
            history_end,
        })
    }

    /// Whether `section` runs.
    #[must_use]
    pub fn runs(&self, section: Section) -> bool {
        self.sections.contains(&section)
    }

    /// The sizes of this mode.
    #[must_use]
    pub fn sizes(&self) -> Sizes {
        if self.quick {
            Sizes {
                replay_events: vec![10_000, 100_000],
                wrk_seconds: 2,
                command_cohorts: 100,
                concurrency: vec![1, 16, 64, 256],
                page_concurrency: vec![16, 64],
                single_appends: 300,
                batched_appends: 20_000,
                batch: 100,
                fsync_seconds: 1.0,
                webhook_events: 2_000,
            }
        } else {
            Sizes {
                replay_events: vec![10_000, 100_000, 1_000_000],
                wrk_seconds: 6,
                command_cohorts: 1_000,
                concurrency: vec![1, 16, 64, 256],
                page_concurrency: vec![16, 64],
                single_appends: 2_000,
                batched_appends: 100_000,
                batch: 100,
                fsync_seconds: 3.0,
                webhook_events: 20_000,
            }
        }
    }
}

/// How big each workload is.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Generated histories (events) for replay and memory; the largest serves pages and the
    /// store-level scans.
    pub replay_events: Vec<u64>,
    /// Length of every wrk run.
    pub wrk_seconds: u32,
    /// Cohorts created before the command runs.
    pub command_cohorts: usize,
    /// Concurrent clients of the command runs.
    pub concurrency: Vec<u32>,
    /// Concurrent clients of the page runs.
    pub page_concurrency: Vec<u32>,
    /// Events appended one transaction each, per engine and round.
    pub single_appends: u64,
    /// Events appended in batches, per engine and round.
    pub batched_appends: u64,
    /// Events per transaction of the batched appends.
    pub batch: u64,
    /// Length of one fsync probe.
    pub fsync_seconds: f64,
    /// Events of the history a webhook subscription delivers from position 0 each round.
    pub webhook_events: u64,
}

impl Sizes {
    /// The largest generated history.
    #[must_use]
    pub fn largest(&self) -> u64 {
        self.replay_events.iter().copied().max().unwrap_or(0)
    }
}
