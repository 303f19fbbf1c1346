//! The scaling curves and comparisons as SVG files, drawn from the medians of a run.

use std::path::Path;

use anyhow::Context as _;

use crate::config::Sizes;
use crate::results::Results;
use crate::svg::{BarChart, LineChart, Series};

/// The page names measured, in report order.
pub const PAGES: [&str; 5] = ["dashboard", "cohort", "learner", "events", "seats"];

/// A chart file name, its caption, its SVG.
type Chart = (&'static str, &'static str, String);

/// Writes every chart that has data into `dir` (removing older `.svg` files there); returns
/// (file name, caption) of each.
pub fn write_all(dir: &Path, r: &Results, sizes: &Sizes) -> anyhow::Result<Vec<(String, String)>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Charts of an earlier run must not sit beside this run's report.
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "svg") {
            std::fs::remove_file(&path)?;
        }
    }
    let mut written = Vec::new();
    for (name, caption, svg) in commands(r, sizes)
        .into_iter()
        .chain(replay(r, sizes))
        .chain(pages(r, sizes))
        .chain(peer(r, sizes))
    {
        std::fs::write(dir.join(name), svg)?;
        written.push((name.to_owned(), caption.to_owned()));
    }
    Ok(written)
}

/// The medians of `key(x)` for each x, scaled, as a line.
fn series(r: &Results, name: &str, xs: &[f64], key: impl Fn(f64) -> String, scale: f64) -> Series {
    Series {
        name: name.to_owned(),
        points: xs
            .iter()
            .filter_map(|&x| r.median(&key(x)).map(|v| (x, v * scale)))
            .collect(),
        dashed: false,
    }
}

/// A horizontal dashed line (a baseline or a goal).
fn flat(name: &str, xs: &[f64], value: f64) -> Series {
    Series {
        name: name.to_owned(),
        points: xs.iter().map(|&x| (x, value)).collect(),
        dashed: true,
    }
}

fn dashed(mut s: Series) -> Series {
    s.dashed = true;
    s
}

fn commands(r: &Results, sizes: &Sizes) -> Vec<Chart> {
    if r.median("commands.group.c64.rps").is_none() {
        return Vec::new();
    }
    let conc: Vec<f64> = sizes.concurrency.iter().map(|&c| f64::from(c)).collect();
    let fsync = r.median("fsync.bracket.per_second").unwrap_or(f64::NAN);
    let throughput = LineChart {
        title: "Durable enrollments over HTTP".into(),
        x_label: "concurrent clients".into(),
        y_label: "commands/s (log)".into(),
        x_log: true,
        y_log: true,
        series: vec![
            series(
                r,
                "group commit",
                &conc,
                |c| format!("commands.group.c{c}.rps"),
                1.0,
            ),
            series(
                r,
                "commit per command",
                &conc,
                |c| format!("commands.per_command.c{c}.rps"),
                1.0,
            ),
            flat("fsync rate (probe)", &conc, fsync),
            dashed(series(
                r,
                "plain GET rps",
                &conc,
                |c| format!("commands.plain.c{c}.rps"),
                1.0,
            )),
        ],
    };
    let p99 = LineChart {
        title: "Durable enrollments: p99 latency".into(),
        x_label: "concurrent clients".into(),
        y_label: "p99 latency, ms (log)".into(),
        x_log: true,
        y_log: true,
        series: vec![
            series(
                r,
                "group commit",
                &conc,
                |c| format!("commands.group.c{c}.p99_ms"),
                1.0,
            ),
            series(
                r,
                "commit per command",
                &conc,
                |c| format!("commands.per_command.c{c}.p99_ms"),
                1.0,
            ),
            flat("goal at 64 clients: 5 ms", &conc, 5.0),
        ],
    };
    vec![
        (
            "commands-throughput.svg",
            "Command throughput by concurrency: rollbook (group commit) against commit-per-command, the disk's fsync rate and the same server's plain GET rate",
            throughput.render(),
        ),
        (
            "commands-p99.svg",
            "p99 latency of durable enrollments by concurrency",
            p99.render(),
        ),
    ]
}

fn replay(r: &Results, sizes: &Sizes) -> Vec<Chart> {
    if r.median(&format!("replay.{}.seconds", sizes.largest()))
        .is_none()
    {
        return Vec::new();
    }
    let xs: Vec<f64> = sizes.replay_events.iter().map(|&n| n as f64).collect();
    let time = LineChart {
        title: "Startup replay against a plain scan".into(),
        x_label: "events in the file".into(),
        y_label: "seconds (log)".into(),
        x_log: true,
        y_log: true,
        series: vec![
            series(
                r,
                "serve (until /healthz)",
                &xs,
                |n| format!("replay.{n}.seconds"),
                1.0,
            ),
            dashed(series(
                r,
                "rollbook scan (raw)",
                &xs,
                |n| format!("replay.{n}.scan_raw.seconds"),
                1.0,
            )),
            dashed(series(
                r,
                "rollbook scan --decode",
                &xs,
                |n| format!("replay.{n}.scan_decode.seconds"),
                1.0,
            )),
        ],
    };
    let rss = LineChart {
        title: "Resident memory after replay".into(),
        x_label: "events in the file".into(),
        y_label: "MB".into(),
        x_log: true,
        y_log: false,
        series: vec![
            series(
                r,
                "RSS after replay",
                &xs,
                |n| format!("replay.{n}.rss_bytes"),
                1e-6,
            ),
            series(
                r,
                "peak RSS (VmHWM)",
                &xs,
                |n| format!("replay.{n}.peak_rss_bytes"),
                1e-6,
            ),
            flat("goal at 1M events: 150 MB", &xs, 150.0),
        ],
    };
    vec![
        (
            "replay-time.svg",
            "Replay time by history size, next to raw and decoding scans",
            time.render(),
        ),
        (
            "replay-rss.svg",
            "Resident memory of the server after replay, by history size",
            rss.render(),
        ),
    ]
}

fn pages(r: &Results, sizes: &Sizes) -> Vec<Chart> {
    if r.median("pages.plain.c16.rps").is_none() {
        return Vec::new();
    }
    let mut groups: Vec<String> = PAGES.iter().map(|p| (*p).to_owned()).collect();
    groups.push("plain GET".into());
    let per_client = |metric: &str| -> Vec<(String, Vec<f64>)> {
        sizes
            .page_concurrency
            .iter()
            .map(|&c| {
                let values = PAGES
                    .iter()
                    .map(|p| format!("pages.{p}.c{c}.{metric}"))
                    .chain(std::iter::once(format!("pages.plain.c{c}.{metric}")))
                    .map(|k| r.median(&k).unwrap_or(f64::NAN))
                    .collect();
                (format!("{c} clients"), values)
            })
            .collect()
    };
    let rps = BarChart {
        title: "Pages: requests/s".into(),
        y_label: "requests/s (log)".into(),
        groups: groups.clone(),
        series: per_client("rps"),
        y_log: true,
    };
    let p99 = BarChart {
        title: "Pages: p99 latency".into(),
        y_label: "p99, ms (log)".into(),
        groups,
        series: per_client("p99_ms"),
        y_log: true,
    };
    vec![
        (
            "pages-rps.svg",
            "Page throughput at 16 and 64 clients, next to the plain GET",
            rps.render(),
        ),
        (
            "pages-p99.svg",
            "Page p99 latency at 16 and 64 clients",
            p99.render(),
        ),
    ]
}

fn peer(r: &Results, sizes: &Sizes) -> Vec<Chart> {
    if r.median("peer.single.rollbook.events_per_second").is_none() {
        return Vec::new();
    }
    let modes = ["single", "batched", "scan_raw", "scan_decode"];
    let values = |engine: &str| -> Vec<f64> {
        modes
            .iter()
            .map(|m| {
                r.median(&format!("peer.{m}.{engine}.events_per_second"))
                    .unwrap_or(f64::NAN)
            })
            .collect()
    };
    let chart = BarChart {
        title: "Store level: rollbook against SQLite".into(),
        y_label: "events/s (log)".into(),
        groups: vec![
            "1 event/txn".into(),
            format!("{} events/txn", sizes.batch),
            "scan raw".into(),
            "scan + decode".into(),
        ],
        series: vec![
            ("rollbook (redb)".into(), values("rollbook")),
            ("SQLite (WAL, FULL)".into(), values("sqlite")),
        ],
        y_log: true,
    };
    vec![(
        "peer.svg",
        "rollbook's store against SQLite on the same events",
        chart.render(),
    )]
}
