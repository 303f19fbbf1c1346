//! The run: check the tools, generate the histories, run the sections in order (saving the raw
//! results after each), draw the charts, write the report. Servers are stopped on every path,
//! error or not (`process::Server` stops on drop).

use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::config::{Options, Section};
use crate::context::Ctx;
use crate::datasets::{self, Dataset};
use crate::process::Pinning;
use crate::results::Results;
use crate::workloads::{commands, delivery, pages, peer, replay};
use crate::{charts, machine, report};

/// Runs the whole suite with these command-line arguments.
pub fn run(args: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    crate::process::stop_servers_on_signal()?;
    let started = Instant::now();
    let date = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M")
        .to_string();
    let exe = std::env::current_exe()?;
    let bin_dir = exe.parent().context("the driver has no directory")?;
    let pin = Pinning::detect();
    let mut ctx = Ctx {
        sizes: options.sizes(),
        rollbook: options.rollbook.clone(),
        store_peer: bin_dir.join("store-peer"),
        fsync_probe: bin_dir.join("fsync-probe"),
        lua: options.repo.join("bench").join("lua"),
        pin,
        results: Results::default(),
        waited: 0.0,
        round_contention: 0.0,
        options,
    };
    preflight(&ctx)?;
    let pinning = match (ctx.pin.server, ctx.pin.load) {
        (Some(s), Some(l)) => format!(
            "server, scans, store-level runs and fsync probe on core {s} (`taskset -c {s}`); wrk on core {l}"
        ),
        _ => "none: fewer than 2 cores (or no taskset); server and load share the CPU".into(),
    };
    ctx.say(&format!(
        "{} mode, {} round(s), work dir {}; pinning: {pinning}",
        if ctx.options.quick { "quick" } else { "full" },
        ctx.options.rounds,
        ctx.options.work_dir.display()
    ));
    let machine = machine::describe(&ctx.options.work_dir);
    let commit = machine::commit(&ctx.options.repo);
    let results_path = ctx.work("results.json");

    let needs_data = [Section::Replay, Section::Pages, Section::Peer]
        .iter()
        .any(|s| ctx.options.runs(*s));
    let mut histories: Vec<Dataset> = Vec::new();
    if needs_data {
        for events in ctx.sizes.replay_events.clone() {
            histories.push(datasets::generate(&mut ctx, events)?);
        }
    }
    let largest = histories.iter().max_by_key(|d| d.events).cloned();
    for section in Section::ALL {
        if !ctx.options.runs(section) {
            continue;
        }
        let t = Instant::now();
        ctx.say(&format!("=== {section:?} ==="));
        ctx.quiet_check(&format!("{section:?}").to_lowercase());
        match section {
            Section::Replay => replay::run(&mut ctx, &histories)?,
            Section::Pages => pages::run(&mut ctx, largest.as_ref().context("no dataset")?)?,
            Section::Peer => peer::run(&mut ctx, largest.as_ref().context("no dataset")?)?,
            Section::Commands => commands::run(&mut ctx)?,
            Section::Delivery => delivery::run(&mut ctx)?,
        }
        ctx.say(&format!(
            "{section:?} took {:.0} s",
            t.elapsed().as_secs_f64()
        ));
        ctx.results.save(&results_path)?;
    }
    for history in &histories {
        crate::context::remove(&history.path)?;
    }

    let charts = charts::write_all(&ctx.options.charts, &ctx.results, &ctx.sizes)?;
    let header = report::Header {
        options: &ctx.options,
        date,
        commit,
        machine,
        pinning,
        charts,
        minutes: started.elapsed().as_secs_f64() / 60.0,
    };
    report::write(&ctx.options.out, &header, &ctx.results)?;
    ctx.say(&format!(
        "done in {:.1} min: {} (charts in {}, raw results in {})",
        started.elapsed().as_secs_f64() / 60.0,
        ctx.options.out.display(),
        ctx.options.charts.display(),
        results_path.display()
    ));
    Ok(())
}

/// Fails early, and says what to do, when a tool or binary is missing.
fn preflight(ctx: &Ctx) -> anyhow::Result<()> {
    for (path, hint) in [
        (
            &ctx.rollbook,
            "run `cargo build --release` at the repo root",
        ),
        (&ctx.store_peer, "run `cargo build --release` in bench/"),
        (&ctx.fsync_probe, "run `cargo build --release` in bench/"),
    ] {
        if !path.exists() {
            bail!(
                "{} is missing: {hint} (or use bench/run.sh)",
                path.display()
            );
        }
    }
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        bail!("wrk is not installed: apt-get install -y wrk (bench/run.sh does it)");
    }
    let generate = std::process::Command::new(&ctx.rollbook)
        .args(["generate", "--help"])
        .output()?;
    if !generate.status.success() {
        bail!(
            "{} has no `generate` subcommand: the suite needs a rollbook with `generate`, `scan` \
             and `serve --commit-per-command`",
            ctx.rollbook.display()
        );
    }
    Ok(())
}
