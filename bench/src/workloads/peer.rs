//! Workload 4 (and the disk side of 5): rollbook's store against `SQLite` doing the same work with
//! the same encoded events — single durable appends, batched appends, full scans raw and
//! decoded — in `store-peer` processes pinned to the server core. Appends run both engines in
//! one process taking turns (see `peer::append_pair`); scans are one process per engine, the
//! order alternating between rounds.

use crate::context::{Ctx, remove};
use crate::datasets::Dataset;
use crate::process::{number, run_json};
use std::fmt::Write as _;

/// Runs the peer rounds against the largest dataset.
pub fn run(ctx: &mut Ctx, ds: &Dataset) -> anyhow::Result<()> {
    let sqlite = ctx.work(&format!("peer-{}.sqlite", ds.events));
    ctx.say(&format!("loading {} events into SQLite", ds.events));
    let (prepared, _) = run_json(
        ctx.store_peer()
            .arg("prepare")
            .arg("--src")
            .arg(&ds.path)
            .arg("--out")
            .arg(&sqlite),
    )?;
    let (versions, _) = run_json(ctx.store_peer().arg("versions"))?;
    ctx.results.fact(
        "peer.sqlite_version",
        versions["sqlite"].as_str().unwrap_or("?"),
    );
    ctx.results
        .fact("peer.decoder", versions["decoder"].as_str().unwrap_or("?"));
    ctx.results.fact("peer.scan_events", ds.events.to_string());
    let n = ds.events as f64;
    ctx.results.push(
        "disk.sqlite.bytes_per_event",
        number(&prepared, "file_bytes")? / n,
    );
    ctx.results.push(
        "disk.rollbook.bytes_per_event",
        std::fs::metadata(&ds.path)?.len() as f64 / n,
    );

    let appends = [
        ("single", ctx.sizes.single_appends, 1),
        ("batched", ctx.sizes.batched_appends, ctx.sizes.batch),
    ];
    for round in 1..=ctx.options.rounds {
        if round > 1 {
            ctx.quiet_check(&format!("peer.round{round}"));
        }
        let engines = if round % 2 == 1 {
            ["rollbook", "sqlite"]
        } else {
            ["sqlite", "rollbook"]
        };
        let mut line = format!("round {round}:");
        for (mode, events, batch) in appends {
            // Turns of about 1/20 of the run each: short enough that a swing of the disk's
            // fsync rate lands on both engines.
            let slice = (events / batch / 20).max(1);
            let (v, _) = run_json(
                ctx.store_peer()
                    .arg("append")
                    .arg("--src")
                    .arg(&ds.path)
                    .args(["--events", &events.to_string()])
                    .args(["--batch", &batch.to_string()])
                    .args(["--slice", &slice.to_string(), "--dir"])
                    .arg(&ctx.options.work_dir),
            )?;
            for engine in ["rollbook", "sqlite"] {
                let rate = number(&v[engine], "events_per_second")?;
                ctx.results
                    .push(format!("peer.{mode}.{engine}.events_per_second"), rate);
                ctx.results.push(
                    format!("peer.{mode}.{engine}.bytes_per_event"),
                    number(&v[engine], "file_bytes")? / events as f64,
                );
                let _ = write!(line, " {mode} {engine} {rate:.0}/s;");
            }
        }
        for decode in [false, true] {
            let mode = if decode { "scan_decode" } else { "scan_raw" };
            for engine in engines {
                let file = if engine == "rollbook" {
                    &ds.path
                } else {
                    &sqlite
                };
                let mut command = ctx.store_peer();
                command
                    .args(["scan", "--engine", engine, "--file"])
                    .arg(file);
                if decode {
                    command.arg("--decode");
                }
                let (v, _) = run_json(&mut command)?;
                anyhow::ensure!(
                    number(&v, "events")? as u64 == ds.events,
                    "{engine} scan read {} of {} events",
                    v["events"],
                    ds.events
                );
                let rate = number(&v, "events_per_second")?;
                ctx.results
                    .push(format!("peer.{mode}.{engine}.events_per_second"), rate);
                let _ = write!(line, " {mode} {engine} {rate:.0}/s;");
            }
        }
        ctx.say(&line);
    }
    remove(&sqlite)?;
    Ok(())
}
