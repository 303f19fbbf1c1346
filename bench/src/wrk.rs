//! Runs wrk (pinned to the load core) and reads its summary: requests/s, latency percentiles,
//! errors. A run with errors is refused loudly: a benchmark of 4xx answers measures nothing.

use std::path::PathBuf;

use anyhow::{Context as _, bail};

use crate::process::{pinned, run_ok};

/// One wrk invocation.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Open connections (concurrent clients).
    pub connections: u32,
    /// Seconds.
    pub seconds: u32,
    /// The URL (its path is used unless the script builds requests itself).
    pub url: String,
    /// Extra headers (`Name: value`).
    pub headers: Vec<String>,
    /// A Lua script and its arguments.
    pub script: Option<(PathBuf, Vec<String>)>,
}

/// What one wrk run measured.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Completed requests per second.
    pub rps: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Completed requests.
    pub requests: u64,
    /// Responses outside 2xx/3xx.
    pub non_2xx: u64,
    /// Connect, read, write errors and timeouts.
    pub socket_errors: u64,
}

/// Runs wrk; fails if any request failed.
pub fn run(load_core: Option<usize>, spec: &Spec) -> anyhow::Result<Outcome> {
    // One thread per connection up to two: wrk is pinned to one core, where more threads only
    // take turns (and -t must not exceed -c).
    let threads = spec.connections.min(2);
    let mut command = pinned(load_core, "wrk");
    command
        .arg(format!("-t{threads}"))
        .arg(format!("-c{}", spec.connections))
        .arg(format!("-d{}s", spec.seconds))
        .arg("--timeout")
        .arg("10s")
        .arg("--latency");
    for header in &spec.headers {
        command.arg("-H").arg(header);
    }
    if let Some((script, _)) = &spec.script {
        command.arg("-s").arg(script);
    }
    command.arg(&spec.url);
    if let Some((_, args)) = &spec.script {
        command.arg("--").args(args);
    }
    let text = run_ok(&mut command, None)?;
    let outcome = parse(&text).with_context(|| format!("cannot read wrk's output:\n{text}"))?;
    if outcome.non_2xx > 0 || outcome.socket_errors > 0 || outcome.requests == 0 {
        bail!(
            "wrk run against {} had {} non-2xx responses and {} socket errors of {} requests:\n{text}",
            spec.url,
            outcome.non_2xx,
            outcome.socket_errors,
            outcome.requests
        );
    }
    Ok(outcome)
}

/// Parses wrk 4's summary (with `--latency`).
pub fn parse(text: &str) -> anyhow::Result<Outcome> {
    let mut out = Outcome::default();
    let mut p50 = None;
    let mut p99 = None;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => p50 = Some(millis(value)?),
            ["99%", value] => p99 = Some(millis(value)?),
            ["Requests/sec:", value] => out.rps = value.parse()?,
            [count, "requests", "in", ..] => out.requests = count.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => out.non_2xx = n.parse()?,
            ["Socket", "errors:", rest @ ..] => {
                out.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    out.p50_ms = p50.context("no 50% latency")?;
    out.p99_ms = p99.context("no 99% latency")?;
    anyhow::ensure!(out.rps > 0.0, "no Requests/sec");
    Ok(out)
}

/// wrk prints latencies as `812.00us`, `1.23ms`, `2.01s` or `1.50m`.
fn millis(text: &str) -> anyhow::Result<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        bail!("unknown latency unit in {text:?}")
    };
    Ok(number.parse::<f64>()? * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 2s test @ http://127.0.0.1:8080/healthz
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.34us  120.11us   3.20ms   80.00%
    Req/Sec    19.01k     1.20k   21.00k    70.00%
  Latency Distribution
     50%  400.00us
     75%  450.00us
     90%  500.00us
     99%    1.10ms
  75800 requests in 2.00s, 10.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  37900.50
Transfer/sec:      5.00MB
";

    #[test]
    fn reads_the_summary() {
        let o = parse(SAMPLE).unwrap();
        assert!((o.rps - 37900.5).abs() < 1e-9);
        assert!((o.p50_ms - 0.4).abs() < 1e-9);
        assert!((o.p99_ms - 1.1).abs() < 1e-9);
        assert_eq!(o.requests, 75800);
        assert_eq!(o.non_2xx, 4);
        assert_eq!(o.socket_errors, 3);
    }
}
