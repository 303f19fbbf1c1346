//! Workload 7: delivery (issue 17). (a) Webhook deliveries per second: a history from
//! `rollbook generate`, a server with `--webhook-allow-private`, a receiver on loopback in this
//! process (answers `200` at once, counts requests), and per round a new subscription from
//! position 0, timed from its creation until the admin API reports lag 0; every event must have
//! reached the receiver. Each delivery stores its position durably (one fsync per event), so
//! the fsync rate is its baseline. (b) Durable commands/s (the enrollments of workload 1 at 64
//! clients) with no live-feed stream open, with 100 streams that follow the whole feed, and
//! with 100 streams whose filter matches nothing (`type=enrollment.closed`): the issue asks for
//! at most 10 % below without. The stream clients run in this process, on the load core with
//! wrk, and only count the bytes they read.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;

use crate::context::{Ctx, remove};
use crate::datasets::credentials;
use crate::http;
use crate::process::{Server, run_ok};
use crate::wrk;

/// Live-feed streams open during the "with streams" runs.
pub const STREAMS: usize = 100;
/// Clients of the command runs.
pub const CLIENTS: u32 = 64;
/// Runs so far (learner names are unique per run).
static RUNS: AtomicU64 = AtomicU64::new(0);
/// A type filter no event of the enrollment runs has.
const NOTHING: &str = "enrollment.closed";

/// Runs both parts.
pub fn run(ctx: &mut Ctx) -> anyhow::Result<()> {
    webhooks(ctx)?;
    streams(ctx)
}

// ---- (a) webhook deliveries ---------------------------------------------------------------

/// A receiver on loopback: one thread per connection (keep-alive), `200` to every `POST`.
struct Receiver {
    port: u16,
    received: Arc<AtomicU64>,
}

impl Receiver {
    fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(AtomicU64::new(0));
        let counter = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &counter);
                });
            }
        });
        Ok(Self { port, received })
    }
}

fn serve(stream: TcpStream, counter: &AtomicU64) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        let mut length = 0usize;
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        counter.fetch_add(1, Ordering::Relaxed);
        writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")?;
    }
}

/// Adds an admin account to `db` and returns its API token (webhooks are an admin's).
fn admin_token(ctx: &Ctx, db: &std::path::Path) -> anyhow::Result<String> {
    run_ok(
        ctx.rollbook()
            .args([
                "user",
                "add",
                "bench-admin",
                "--role",
                "admin",
                "--password-stdin",
                "--db",
            ])
            .arg(db),
        Some("bench-admin-password-0123\n"),
    )?;
    let out = run_ok(
        ctx.rollbook()
            .args(["token", "create", "bench-admin", "--label", "bench", "--db"])
            .arg(db),
        None,
    )?;
    out.split_whitespace()
        .find(|w| w.starts_with("rb_"))
        .map(str::to_owned)
        .with_context(|| format!("`rollbook token create` printed no token: {out:?}"))
}

fn webhooks(ctx: &mut Ctx) -> anyhow::Result<()> {
    let events = ctx.sizes.webhook_events;
    let db = ctx.work("delivery-webhooks.redb");
    remove(&db)?;
    ctx.say(&format!("webhooks: generating {events} events"));
    run_ok(
        ctx.rollbook()
            .arg("generate")
            .arg("--db")
            .arg(&db)
            .args(["--cohorts", &(events / 100).max(1).to_string()])
            .args(["--learners", &(events / 20).max(10).to_string()])
            .args(["--events", &events.to_string()])
            .args(["--seed", "42", "--end", &ctx.options.history_end, "--json"]),
        None,
    )?;
    let token = admin_token(ctx, &db)?;
    let log = ctx.work("serve-delivery-webhooks.log");
    let mut server = Server::start(
        &ctx.rollbook,
        ctx.pin.server,
        &db,
        &["--webhook-allow-private"],
        &log,
    )?;
    server.wait_ready(Duration::from_mins(1))?;
    let receiver = Receiver::start()?;
    ctx.fsync_probe("delivery.before")?;
    ctx.rounds("delivery.webhooks", |ctx, round| {
        let before = receiver.received.load(Ordering::Relaxed);
        let (seconds, id) = ctx.on_server_core(server.pid(), |_| {
            deliver_all(server.port, &token, receiver.port, round)
        })?;
        let got = receiver.received.load(Ordering::Relaxed) - before;
        let head = position(server.port)?;
        ctx.results.fact("delivery.webhook.events", head.to_string());
        if got < head {
            bail!("the receiver got {got} deliveries of {head} events");
        }
        let rate = head as f64 / seconds;
        ctx.results.push("delivery.webhook.per_second", rate);
        ctx.say(&format!(
            "round {round}: {head} webhook deliveries in {seconds:.2} s: {rate:.0}/s ({got} requests)"
        ));
        let r = http::request(
            server.port,
            "DELETE",
            &format!("/api/v1/admin/webhooks/{id}"),
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )?;
        if r.status != 200 {
            bail!("deleting the subscription answered {}", r.status);
        }
        ctx.fsync_probe(&format!("delivery.round{round}"))?;
        Ok(())
    })?;
    server.stop()?;
    remove(&db)?;
    Ok(())
}

/// Subscribes the receiver from position 0 and waits until the admin API reports lag 0:
/// the seconds that took, and the subscription's id.
fn deliver_all(
    port: u16,
    token: &str,
    receiver: u16,
    round: usize,
) -> anyhow::Result<(f64, String)> {
    let body = json!({
        "name": format!("bench {round}"),
        "url": format!("http://127.0.0.1:{receiver}/hook"),
        "from_position": 0,
    });
    let started = Instant::now();
    let created = http::json(port, "POST", "/api/v1/admin/webhooks", token, &body)?;
    if created.status != 201 {
        bail!(
            "creating a subscription answered {}: {}",
            created.status,
            String::from_utf8_lossy(&created.body)
        );
    }
    let id = created.json()?["id"].as_str().context("no id")?.to_owned();
    let auth = format!("Bearer {token}");
    loop {
        let listed = http::request(
            port,
            "GET",
            "/api/v1/admin/webhooks",
            &[("Authorization", &auth)],
            b"",
        )?
        .json()?;
        let item = listed["webhooks"]
            .as_array()
            .and_then(|all| all.iter().find(|w| w["id"] == id.as_str()))
            .with_context(|| format!("subscription {id} not listed: {listed}"))?;
        if !item["last_error"].is_null() {
            bail!("a delivery failed: {item}");
        }
        if item["lag"] == 0 {
            return Ok((started.elapsed().as_secs_f64(), id));
        }
        if started.elapsed() > Duration::from_mins(10) {
            bail!("the subscription did not catch up in 10 minutes: {item}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// CPU time (user + system) the process `pid` has used, in seconds (100 ticks a second).
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (in parentheses): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').context("no command name")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}

fn position(port: u16) -> anyhow::Result<u64> {
    let health = http::request(port, "GET", "/healthz", &[], b"")?.json()?;
    health["position"]
        .as_u64()
        .with_context(|| format!("no position in /healthz: {health}"))
}

// ---- (b) commands with streams open -------------------------------------------------------

/// Live-feed clients that read and count what they get until stopped.
struct Streams {
    sockets: Vec<TcpStream>,
    threads: Vec<std::thread::JoinHandle<u64>>,
    stop: Arc<AtomicBool>,
}

impl Streams {
    /// Opens `n` streams from the head (`query` added), each answered `200` before it returns.
    fn open(port: u16, token: &str, n: usize, query: &str) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut sockets = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        let after = position(port)?;
        for _ in 0..n {
            let mut stream = TcpStream::connect(("127.0.0.1", port))?;
            write!(
                stream,
                "GET /api/v1/events/stream?after={after}{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                 Authorization: Bearer {token}\r\n\r\n"
            )?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            let mut head = [0u8; 12];
            stream.read_exact(&mut head)?;
            if &head != b"HTTP/1.1 200" {
                bail!("a stream was answered {:?}", String::from_utf8_lossy(&head));
            }
            sockets.push(stream.try_clone()?);
            let stop = stop.clone();
            threads.push(std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                let mut total = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => total += n as u64,
                    }
                }
                total
            }));
        }
        Ok(Self {
            sockets,
            threads,
            stop,
        })
    }

    /// Closes every stream; the bytes each read.
    fn close(self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        for socket in &self.sockets {
            let _ = socket.shutdown(Shutdown::Both);
        }
        self.threads
            .into_iter()
            .map(|t| t.join().unwrap_or(0))
            .collect()
    }
}

fn streams(ctx: &mut Ctx) -> anyhow::Result<()> {
    let db = ctx.work("delivery-streams.redb");
    remove(&db)?;
    let token = credentials(ctx, &db)?;
    let log = ctx.work("serve-delivery-streams.log");
    let mut server = Server::start(&ctx.rollbook, ctx.pin.server, &db, &[], &log)?;
    server.wait_ready(Duration::from_mins(1))?;
    let n = ctx.sizes.command_cohorts;
    ctx.say(&format!("streams: creating {n} cohorts"));
    let ids = crate::workloads::commands::create_cohorts(server.port, &token, n)?;
    let cohorts_file = ctx.work("cohorts-delivery.txt");
    std::fs::write(&cohorts_file, ids.join("\n") + "\n")?;
    let seconds = ctx.sizes.wrk_seconds;
    // One wrk run; records the server's CPU time per command under `label` (unless `None`).
    let run = |ctx: &mut Ctx, label: Option<&str>, tag: &str| -> anyhow::Result<wrk::Outcome> {
        let before = position(server.port)?;
        let spec = wrk::Spec {
            connections: CLIENTS,
            seconds,
            url: format!("http://127.0.0.1:{}/", server.port),
            headers: vec![format!("Authorization: Bearer {token}")],
            script: Some((
                ctx.lua.join("enroll.lua"),
                vec![cohorts_file.display().to_string(), tag.to_owned()],
            )),
        };
        let cpu = cpu_seconds(server.pid())?;
        let outcome = ctx.on_server_core(server.pid(), |ctx| wrk::run(ctx.pin.load, &spec))?;
        let cpu = cpu_seconds(server.pid())? - cpu;
        if let Some(label) = label {
            ctx.results.push(
                format!("delivery.streams.{label}.server_cpu_us_per_command"),
                cpu * 1e6 / outcome.requests as f64,
            );
        }
        let appended = position(server.port)? - before;
        if appended < outcome.requests {
            bail!(
                "wrk counted {} enrollments, the store grew by {appended}",
                outcome.requests
            );
        }
        Ok(outcome)
    };
    run(ctx, None, "warm")?;
    ctx.rounds("delivery.streams", |ctx, round| {
        // Each round in another order, so a drift in the machine's speed hits every variant.
        let mut variants = [("none", ""), ("all", ""), ("filtered", "&type=")];
        variants.rotate_left(round % 3);
        let mut line = format!("round {round}, c={CLIENTS}:");
        for (label, query) in variants {
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("{query}{NOTHING}")
            };
            let streams = if label == "none" {
                None
            } else {
                Some(Streams::open(server.port, &token, STREAMS, &query)?)
            };
            // Learners are unique per run, also when a round is run again.
            let tag = format!("s{label}-r{round}-{}", RUNS.fetch_add(1, Ordering::Relaxed));
            let o = run(ctx, Some(label), &tag)?;
            if let Some(streams) = streams {
                let bytes = streams.close();
                let least = bytes.iter().copied().min().unwrap_or(0);
                if label == "all" && least == 0 {
                    bail!("a stream following the whole feed received nothing");
                }
                ctx.results.push(
                    format!("delivery.streams.{label}.bytes_per_stream"),
                    bytes.iter().sum::<u64>() as f64 / bytes.len() as f64,
                );
            }
            let key = format!("delivery.streams.{label}");
            ctx.results.push(format!("{key}.rps"), o.rps);
            ctx.results.push(format!("{key}.p50_ms"), o.p50_ms);
            ctx.results.push(format!("{key}.p99_ms"), o.p99_ms);
            let _ = write!(line, " {label} {:.0}/s p99 {:.2} ms;", o.rps, o.p99_ms);
        }
        ctx.say(&line);
        Ok(())
    })?;
    server.stop()?;
    remove(&db)?;
    remove(&cohorts_file)?;
    Ok(())
}
