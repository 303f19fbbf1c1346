//! Workload 1: durable commands over HTTP. Authenticated JSON enrollments of unique learners
//! into many cohorts at 1, 16, 64 and 256 concurrent clients: throughput, p50, p99. Baselines
//! in the same rounds: the disk's fsync rate (probed at the start of every round and after the
//! last), the same server's smallest authenticated GET (plain rps), and the same workload on a
//! second server started with `--commit-per-command` (one commit per command instead of group
//! commit). Both servers run side by side, pinned to the server core; only one is loaded at a
//! time.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::json;

use crate::context::{Ctx, remove};
use crate::datasets::credentials;
use crate::http;
use crate::process::Server;
use crate::workloads::pages::PLAIN_PATH;
use crate::wrk;

/// A server variant under test.
struct Variant {
    label: &'static str,
    server: Server,
    token: String,
    cohorts_file: PathBuf,
}

/// Runs the command rounds.
pub fn run(ctx: &mut Ctx) -> anyhow::Result<()> {
    let mut variants = Vec::new();
    for (label, flags) in [
        ("group", &[][..]),
        ("per_command", &["--commit-per-command"][..]),
    ] {
        variants.push(start_variant(ctx, label, flags)?);
    }
    ctx.fsync_probe("before")?;
    for v in &variants {
        // Warm-up, not recorded.
        enroll_run(ctx, v, 16, 2, "warm")?;
    }
    ctx.rounds("commands", |ctx, round| {
        if round > 1 {
            ctx.fsync_probe(&format!("round{round}"))?;
        }
        if round > 1 {
            ctx.quiet_check(&format!("commands.round{round}"));
        }
        for &c in &ctx.sizes.concurrency.clone() {
            let spec = wrk::Spec {
                connections: c,
                seconds: ctx.sizes.wrk_seconds,
                url: format!("http://127.0.0.1:{}{PLAIN_PATH}", variants[0].server.port),
                headers: vec![format!("Authorization: Bearer {}", variants[0].token)],
                script: None,
            };
            let plain = ctx.on_server_core(variants[0].server.pid(), |ctx| {
                wrk::run(ctx.pin.load, &spec)
            })?;
            ctx.results
                .push(format!("commands.plain.c{c}.rps"), plain.rps);
            let mut line = format!("round {round}, c={c}: plain {:.0} rps", plain.rps);
            for v in &variants {
                let seconds = ctx.sizes.wrk_seconds;
                let o = ctx.on_server_core(v.server.pid(), |ctx| {
                    enroll_run(ctx, v, c, seconds, &format!("r{round}"))
                })?;
                let key = format!("commands.{}.c{c}", v.label);
                ctx.results.push(format!("{key}.rps"), o.rps);
                ctx.results.push(format!("{key}.p50_ms"), o.p50_ms);
                ctx.results.push(format!("{key}.p99_ms"), o.p99_ms);
                let _ = write!(
                    line,
                    ", {} {:.0}/s p50 {:.2} ms p99 {:.2} ms",
                    v.label, o.rps, o.p50_ms, o.p99_ms
                );
            }
            ctx.say(&line);
        }
        Ok(())
    })?;
    ctx.fsync_probe("after")?;
    // Each round's fsync rate: the mean of the probes just before and just after it.
    let probes = ctx.results.samples("fsync.per_second").to_vec();
    for pair in probes.windows(2) {
        ctx.results
            .push("fsync.bracket.per_second", f64::midpoint(pair[0], pair[1]));
    }
    for mut v in variants {
        v.server.stop()?;
        remove(&ctx.work(&format!("commands-{}.redb", v.label)))?;
        remove(&v.cohorts_file)?;
    }
    Ok(())
}

/// A fresh database with the bench account, a server on it, and its cohorts created.
fn start_variant(ctx: &mut Ctx, label: &'static str, flags: &[&str]) -> anyhow::Result<Variant> {
    let db = ctx.work(&format!("commands-{label}.redb"));
    remove(&db)?;
    let token = credentials(ctx, &db)?;
    let log = ctx.work(&format!("serve-commands-{label}.log"));
    let mut server = Server::start(&ctx.rollbook, ctx.pin.server, &db, flags, &log)?;
    server.wait_ready(Duration::from_mins(1))?;
    let n = ctx.sizes.command_cohorts;
    ctx.say(&format!("{label}: creating {n} cohorts"));
    let ids = create_cohorts(server.port, &token, n)?;
    let cohorts_file = ctx.work(&format!("cohorts-{label}.txt"));
    std::fs::write(&cohorts_file, ids.join("\n") + "\n")?;
    ctx.results.fact("commands.cohorts", n.to_string());
    Ok(Variant {
        label,
        server,
        token,
        cohorts_file,
    })
}

/// Creates `n` open cohorts (100,000 seats, deadlines in 2099) with 8 clients; returns their ids.
pub fn create_cohorts(port: u16, token: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let clients = 8;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|k| {
                s.spawn(move || -> anyhow::Result<Vec<String>> {
                    let mut ids = Vec::new();
                    for i in (k..n).step_by(clients) {
                        let body = json!({
                            "name": format!("Bench cohort {i}"),
                            "course": format!("BENCH-{}", i % 50),
                            "instructor": format!("Instructor {}", i % 20),
                            "capacity": 100_000,
                            "starts_at": "2099-02-01T09:00:00Z",
                            "enrollment_deadline": "2099-01-01T00:00:00Z",
                            "withdrawal_deadline": "2099-03-01T00:00:00Z",
                        });
                        let r = http::json(port, "POST", "/api/v1/cohorts", token, &body)?;
                        if r.status != 201 {
                            bail!(
                                "creating a cohort answered {}: {}",
                                r.status,
                                String::from_utf8_lossy(&r.body)
                            );
                        }
                        let id = r.json()?["id"]
                            .as_str()
                            .context("no id in the create answer")?
                            .to_owned();
                        ids.push(id);
                    }
                    Ok(ids)
                })
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for h in handles {
            all.extend(h.join().expect("a cohort-creating thread panicked")?);
        }
        Ok(all)
    })
}

/// The store position the server reports.
fn position(port: u16) -> anyhow::Result<u64> {
    let health = http::request(port, "GET", "/healthz", &[], b"")?.json()?;
    health["position"]
        .as_u64()
        .with_context(|| format!("no position in /healthz: {health}"))
}

/// One wrk run of enrollments against a variant. Every answered request must be a 2xx (wrk
/// checks) and have appended an event (checked against the server's position).
fn enroll_run(
    ctx: &Ctx,
    v: &Variant,
    connections: u32,
    seconds: u32,
    tag: &str,
) -> anyhow::Result<wrk::Outcome> {
    // Learners are unique per run, also when a round is run again.
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let before = position(v.server.port)?;
    let prefix = format!("{}-{tag}-c{connections}-{run}", v.label.replace('_', ""));
    let outcome = wrk::run(
        ctx.pin.load,
        &wrk::Spec {
            connections,
            seconds,
            url: format!("http://127.0.0.1:{}/", v.server.port),
            headers: vec![format!("Authorization: Bearer {}", v.token)],
            script: Some((
                ctx.lua.join("enroll.lua"),
                vec![v.cohorts_file.display().to_string(), prefix],
            )),
        },
    )?;
    let appended = position(v.server.port)? - before;
    if appended < outcome.requests {
        bail!(
            "{}: wrk counted {} answered enrollments but the store grew by {appended} events",
            v.label,
            outcome.requests
        );
    }
    Ok(outcome)
}
