//! Child processes: CPU pinning, one-shot commands that print a JSON line, and rollbook servers
//! that are always stopped, even when the driver fails half-way (`Drop`).

use std::fs::File;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::http;

/// Which core the measured process and the load generator run on (`None`: not pinned).
#[derive(Clone, Copy, Debug)]
pub struct Pinning {
    /// Servers, scans, store-level runs, the fsync probe.
    pub server: Option<usize>,
    /// wrk.
    pub load: Option<usize>,
}

impl Pinning {
    /// Core 0 for the server and core 1 for the load when there are two cores or more and
    /// `taskset` exists; nothing otherwise.
    #[must_use]
    pub fn detect() -> Self {
        let cores = online_cores();
        let taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if cores >= 2 && taskset {
            Self {
                server: Some(0),
                load: Some(1),
            }
        } else {
            Self {
                server: None,
                load: None,
            }
        }
    }
}

/// CPUs online on the machine (not only those this process may run on: `run.sh` pins the
/// driver itself to the load core).
#[must_use]
pub fn online_cores() -> usize {
    let count = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    if count > 0 {
        count
    } else {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    }
}

/// A command for `program`, run through `taskset -c CORE` when `core` is set.
pub fn pinned(core: Option<usize>, program: impl AsRef<std::ffi::OsStr>) -> Command {
    match core {
        Some(core) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(core.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Runs `command` to completion; fails loudly (with its stderr) unless it exits 0. Returns its
/// stdout.
pub fn run_ok(command: &mut Command, stdin: Option<&str>) -> anyhow::Result<String> {
    let described = format!("{command:?}");
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {described}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "{described} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `command` and parses the last line of its stdout as JSON. Also returns the wall time
/// from launch to exit.
pub fn run_json(command: &mut Command) -> anyhow::Result<(Value, Duration)> {
    let started = Instant::now();
    let stdout = run_ok(command, None)?;
    let wall = started.elapsed();
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("{command:?} printed no JSON line:\n{stdout}"))?;
    let value = serde_json::from_str(line).with_context(|| format!("bad JSON line {line:?}"))?;
    Ok((value, wall))
}

/// A number field of a JSON object.
pub fn number(value: &Value, field: &str) -> anyhow::Result<f64> {
    value
        .get(field)
        .and_then(Value::as_f64)
        .with_context(|| format!("no number {field:?} in {value}"))
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Resident memory of a process, from `/proc/PID/status`.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// `VmRSS`: resident now, bytes.
    pub rss: u64,
    /// `VmHWM`: the peak resident size, bytes.
    pub peak: u64,
}

/// Reads [`Memory`] of `pid`.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        let kib: u64 = line
            .trim_start_matches(name)
            .trim_start_matches(':')
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib * 1024)
    };
    Ok(Memory {
        rss: field("VmRSS")?,
        peak: field("VmHWM")?,
    })
}

/// Process ids of the servers running now, for the signal handler.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// On SIGINT or SIGTERM, stops every running server (SIGTERM, up to 10 s each) and exits 130:
/// `Drop` does not run when a signal ends the process, and a server left running would hold
/// its port, its file and a core.
pub fn stop_servers_on_signal() -> anyhow::Result<()> {
    ctrlc::set_handler(|| {
        eprintln!("[bench] interrupted: stopping the servers it started");
        let pids = RUNNING.lock().map(|p| p.clone()).unwrap_or_default();
        for pid in &pids {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && pids
                .iter()
                .any(|pid| Path::new(&format!("/proc/{pid}")).exists())
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::process::exit(130);
    })?;
    Ok(())
}

/// A running `rollbook serve`. Dropping it stops it (SIGTERM, then SIGKILL after 30 s).
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    started: Instant,
    log: PathBuf,
    stopped: bool,
}

impl Server {
    /// Launches `rollbook serve --db DB --listen 127.0.0.1:PORT EXTRA…` pinned to `core`, its
    /// output going to `log`. Returns at once: call [`Server::wait_ready`].
    pub fn start(
        rollbook: &Path,
        core: Option<usize>,
        db: &Path,
        extra: &[&str],
        log: &Path,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let out = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone()?;
        let mut command = pinned(core, rollbook);
        command
            .arg("serve")
            .arg("--db")
            .arg(db)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            // Every wrk connection comes from 127.0.0.1, as behind a reverse proxy: the
            // per-address limit (64 by default) would close the 65th of the 256 clients.
            .args(["--max-connections-per-address", "1024"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let started = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {command:?}"))?;
        if let Ok(mut running) = RUNNING.lock() {
            running.push(child.id());
        }
        Ok(Self {
            child,
            port,
            started,
            log: log.to_owned(),
            stopped: false,
        })
    }

    /// Polls `GET /healthz` every millisecond until it answers 200; returns the time since
    /// launch. Fails with the server's log if it exits or `timeout` passes.
    pub fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<Duration> {
        loop {
            if let Ok(response) = http::request(self.port, "GET", "/healthz", &[], b"")
                && response.status == 200
            {
                return Ok(self.started.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                self.stopped = true;
                let pid = self.pid();
                if let Ok(mut running) = RUNNING.lock() {
                    running.retain(|p| *p != pid);
                }
                bail!(
                    "the server exited during startup ({status}); its log ({}):\n{}",
                    self.log.display(),
                    tail(&self.log)
                );
            }
            if self.started.elapsed() > timeout {
                bail!(
                    "the server was not ready after {timeout:?}; its log:\n{}",
                    tail(&self.log)
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The server's process id (taskset execs it, so this is rollbook's own).
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its memory now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        memory(self.pid())
    }

    /// Stops it gracefully (SIGTERM: it finishes the writer's batch and exits 0), so the next
    /// open of the file needs no repair. SIGKILL after 30 s.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let pid = self.pid();
        if let Ok(mut running) = RUNNING.lock() {
            running.retain(|p| *p != pid);
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!(
                        "the server exited with {status} on SIGTERM; its log:\n{}",
                        tail(&self.log)
                    );
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("the server did not stop within 30 s of SIGTERM; killed");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("warning: {e:#}");
        }
    }
}

/// The last lines of a log file.
#[must_use]
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
