//! Databases the workloads run on: synthetic histories from `rollbook generate`, and the bench
//! account (staff) with its API token and password in every database a server serves.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::context::{Ctx, remove};
use crate::process::{number, run_json, run_ok};

/// The bench account's name and password (a local throwaway database).
pub const ACCOUNT: &str = "bench";
/// See [`ACCOUNT`].
pub const PASSWORD: &str = "bench-password-0123";

/// A generated history.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Events asked for: the name of its figures (`replay.100000.…`).
    pub nominal: u64,
    /// Events in it (within one writer batch of `nominal`).
    pub events: u64,
    /// Cohorts in it.
    pub cohorts: u64,
    /// The file.
    pub path: PathBuf,
    /// An API token of the bench account.
    pub token: String,
}

/// Adds the bench account (staff) to `db` (created if missing) and returns a new API token of
/// it. Needs the server stopped.
pub fn credentials(ctx: &Ctx, db: &std::path::Path) -> anyhow::Result<String> {
    run_ok(
        ctx.rollbook()
            .args([
                "user",
                "add",
                ACCOUNT,
                "--role",
                "staff",
                "--password-stdin",
                "--db",
            ])
            .arg(db),
        Some(&format!("{PASSWORD}\n")),
    )?;
    let out = run_ok(
        ctx.rollbook()
            .args(["token", "create", ACCOUNT, "--label", "bench", "--db"])
            .arg(db),
        None,
    )?;
    out.split_whitespace()
        .find(|w| w.starts_with("rb_"))
        .map(str::to_owned)
        .with_context(|| format!("`rollbook token create` printed no token: {out:?}"))
}

/// Generates a history of `events` events (one cohort per 100 events, one learner per 20) with
/// a fixed seed and end into `WORK/data-EVENTS.redb`, and adds the bench account.
pub fn generate(ctx: &mut Ctx, events: u64) -> anyhow::Result<Dataset> {
    let path = ctx.work(&format!("data-{events}.redb"));
    remove(&path)?;
    let cohorts = (events / 100).max(1);
    let learners = (events / 20).max(10);
    ctx.say(&format!("generating {events} events ({cohorts} cohorts)"));
    let (summary, _) = run_json(
        ctx.rollbook()
            .arg("generate")
            .arg("--db")
            .arg(&path)
            .args(["--cohorts", &cohorts.to_string()])
            .args(["--learners", &learners.to_string()])
            .args(["--events", &events.to_string()])
            .args(["--seed", "42", "--end", &ctx.options.history_end, "--json"]),
    )?;
    let written = number(&summary, "events")? as u64;
    if let Some(end) = summary.get("end").and_then(serde_json::Value::as_str) {
        ctx.results.fact(format!("generate.{events}.end"), end);
    }
    ctx.results
        .fact(format!("generate.{events}.events"), written.to_string());
    ctx.results.push(
        format!("generate.{events}.events_per_second"),
        number(&summary, "events_per_second")?,
    );
    let token = credentials(ctx, &path)?;
    Ok(Dataset {
        nominal: events,
        events: written,
        cohorts,
        path,
        token,
    })
}
