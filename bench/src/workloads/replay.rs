//! Workloads 2, 5 and 6 (replay side): startup replay of generated histories — time from
//! launching `rollbook serve` until `/healthz` answers, events/s, resident memory after the
//! replay and its peak — each round next to its baseline, `rollbook scan` of the same file by
//! the same binary (raw, then decoded).

use std::time::Duration;

use anyhow::Context as _;

use crate::context::Ctx;
use crate::datasets::Dataset;
use crate::http;
use crate::process::{Server, number, run_json};

/// Runs the replay rounds over every dataset.
pub fn run(ctx: &mut Ctx, datasets: &[Dataset]) -> anyhow::Result<()> {
    // One untimed read of each file first, so every round finds it equally in the page cache.
    for ds in datasets {
        scan(ctx, ds, false)?;
    }
    for round in 1..=ctx.options.rounds {
        if round > 1 {
            ctx.quiet_check(&format!("replay.round{round}"));
        }
        for ds in datasets {
            // Figures are named by the size asked for; rates use the events actually written.
            let (n, events) = (ds.nominal, ds.events);
            let (raw_wall, raw_rate) = scan(ctx, ds, false)?;
            ctx.results
                .push(format!("replay.{n}.scan_raw.seconds"), raw_wall);
            ctx.results.push(
                format!("replay.{n}.scan_raw.events_per_second"),
                events as f64 / raw_wall,
            );
            ctx.results.push(
                format!("replay.{n}.scan_raw.internal_events_per_second"),
                raw_rate,
            );

            let log = ctx.work(&format!("serve-replay-{n}.log"));
            let mut server = Server::start(&ctx.rollbook, ctx.pin.server, &ds.path, &[], &log)?;
            let ready = server.wait_ready(Duration::from_mins(15))?.as_secs_f64();
            let memory = server.memory()?;
            let health = http::request(server.port, "GET", "/healthz", &[], b"")?.json()?;
            let position = health.get("position").and_then(serde_json::Value::as_u64);
            anyhow::ensure!(
                position == Some(events),
                "after replay /healthz says position {position:?}, the file holds {events} events"
            );
            server.stop()?;
            ctx.results.push(format!("replay.{n}.seconds"), ready);
            ctx.results.push(
                format!("replay.{n}.events_per_second"),
                events as f64 / ready,
            );
            ctx.results
                .push(format!("replay.{n}.rss_bytes"), memory.rss as f64);
            ctx.results
                .push(format!("replay.{n}.peak_rss_bytes"), memory.peak as f64);

            let (decode_wall, decode_rate) = scan(ctx, ds, true)?;
            ctx.results
                .push(format!("replay.{n}.scan_decode.seconds"), decode_wall);
            ctx.results.push(
                format!("replay.{n}.scan_decode.events_per_second"),
                events as f64 / decode_wall,
            );
            ctx.results.push(
                format!("replay.{n}.scan_decode.internal_events_per_second"),
                decode_rate,
            );
            ctx.say(&format!(
                "round {round}: {n} events: replay {ready:.3} s ({:.0}/s, RSS {:.1} MB, peak {:.1} MB); \
                 scan raw {raw_wall:.3} s, decode {decode_wall:.3} s",
                events as f64 / ready,
                memory.rss as f64 / 1e6,
                memory.peak as f64 / 1e6,
            ));
        }
    }
    Ok(())
}

/// `rollbook scan [--decode]`: (wall seconds launch to exit, the rate it reports itself).
fn scan(ctx: &Ctx, ds: &Dataset, decode: bool) -> anyhow::Result<(f64, f64)> {
    let mut command = ctx.rollbook();
    command.arg("scan").arg("--db").arg(&ds.path);
    if decode {
        command.arg("--decode");
    }
    let (value, wall) = run_json(&mut command)?;
    let events = number(&value, "events")? as u64;
    anyhow::ensure!(
        events == ds.events,
        "rollbook scan read {events} events of {}",
        ds.events
    );
    Ok((
        wall.as_secs_f64(),
        number(&value, "events_per_second").context("rollbook scan")?,
    ))
}
