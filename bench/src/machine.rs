//! What the figures were measured on: CPU, cores, memory, kernel, the disk and file system under
//! the work dir, tool versions, the commit, the date.

use std::path::Path;
use std::process::Command;

/// Facts about the machine and the build, as (label, value) rows for the report.
#[must_use]
pub fn describe(work: &Path) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, v)| v.trim())
        .to_owned();
    let mhz = cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| format!(" @ {:.0} MHz", v.trim().parse::<f64>().unwrap_or(0.0)))
        .unwrap_or_default();
    rows.push(("CPU".into(), format!("{model}{mhz}")));
    let cores = crate::process::online_cores();
    rows.push(("cores".into(), cores.to_string()));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    if let Some(total) = meminfo.lines().find(|l| l.starts_with("MemTotal")) {
        let kib: f64 = total
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        rows.push(("memory".into(), format!("{:.1} GiB", kib / 1024.0 / 1024.0)));
    }
    rows.push((
        "kernel".into(),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    ));
    if let Some(os) = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
    {
        rows.push(("OS".into(), os.trim_matches('"').to_owned()));
    }
    let mount = output(
        Command::new("findmnt")
            .args(["-no", "SOURCE,FSTYPE,OPTIONS", "--target"])
            .arg(work),
    );
    let mount: Vec<&str> = mount.split_whitespace().collect();
    rows.push((
        "work dir".into(),
        format!(
            "`{}` on {} ({}, mounted {})",
            work.display(),
            mount.first().unwrap_or(&"?"),
            mount.get(1).unwrap_or(&"?"),
            mount.get(2).unwrap_or(&"?")
        ),
    ));
    if let Some(source) = mount.first() {
        let disk =
            output(Command::new("lsblk").args(["-ndo", "NAME,SIZE,ROTA,TYPE,MODEL", source]));
        let words: Vec<&str> = disk.split_whitespace().collect();
        if words.len() >= 4 {
            let model = if words.len() > 4 {
                words[4..].join(" ")
            } else {
                "no model reported".into()
            };
            let rotational = if words[2] == "0" {
                "non-rotational"
            } else {
                "reported rotational"
            };
            rows.push((
                "disk".into(),
                format!(
                    "{} ({}, {}), {model}; lsblk ROTA={} ({rotational})",
                    words[0], words[3], words[1], words[2]
                ),
            ));
        }
    }
    rows.push((
        "rustc".into(),
        output(Command::new("rustc").arg("--version"))
            .trim()
            .to_owned(),
    ));
    rows.push((
        "wrk".into(),
        output(Command::new("wrk").arg("--version"))
            .lines()
            .next()
            .unwrap_or_default()
            .split(" Copyright")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
    ));
    rows
}

/// The commit, with `+ uncommitted changes` when the tree is dirty.
#[must_use]
pub fn commit(repo: &Path) -> String {
    let head = output(
        Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["rev-parse", "HEAD"]),
    );
    let head = head.trim();
    if head.is_empty() {
        return "unknown (not a git checkout)".into();
    }
    let dirty = !output(Command::new("git").arg("-C").arg(repo).args([
        "status",
        "--porcelain",
        "--untracked-files=no",
    ]))
    .trim()
    .is_empty();
    if dirty {
        format!("{head} + uncommitted changes")
    } else {
        head.to_owned()
    }
}

fn output(command: &mut Command) -> String {
    command
        .output()
        .map(|o| {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            if text.trim().is_empty() {
                text = String::from_utf8_lossy(&o.stderr).into_owned();
            }
            text
        })
        .unwrap_or_default()
}

/// The share of the whole machine's CPU (0 to 1, all cores) that was busy during `window`, from
/// `/proc/stat`. Taken while the suite itself is idle, it shows whether something else (a build,
/// another test) is competing for the cores.
#[must_use]
pub fn busy_share(window: std::time::Duration) -> f64 {
    fn sample() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let total: u64 = fields.iter().take(8).sum();
        let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
        Some((total, idle))
    }
    let Some((t0, i0)) = sample() else {
        return f64::NAN;
    };
    std::thread::sleep(window);
    let Some((t1, i1)) = sample() else {
        return f64::NAN;
    };
    let total = t1.saturating_sub(t0);
    if total == 0 {
        return f64::NAN;
    }
    1.0 - (i1.saturating_sub(i0)) as f64 / total as f64
}

/// How much of one core went to anything but one process, between two samples: the
/// contention a pinned server met while it was measured.
pub struct CoreShare {
    core: usize,
    pid: u32,
    start: (u64, u64, u64),
}

impl CoreShare {
    /// Samples core `core` and process `pid` now.
    #[must_use]
    pub fn start(core: usize, pid: u32) -> Option<Self> {
        Some(Self {
            core,
            pid,
            start: Self::sample(core, pid)?,
        })
    }

    /// Percent of the core's time since [`CoreShare::start`] used by others: their user and
    /// system time plus time stolen by the hypervisor (interrupt time, which the server's own
    /// network traffic causes, is not counted).
    #[must_use]
    pub fn others_percent(&self) -> Option<f64> {
        let (busy, total, own) = Self::sample(self.core, self.pid)?;
        let total = total.checked_sub(self.start.1).filter(|t| *t > 0)?;
        let busy = busy.saturating_sub(self.start.0);
        let own = own.saturating_sub(self.start.2);
        Some(busy.saturating_sub(own) as f64 * 100.0 / total as f64)
    }

    /// (user + nice + system + steal, all, the process's utime + stime) in clock ticks.
    fn sample(core: usize, pid: u32) -> Option<(u64, u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let name = format!("cpu{core}");
        let fields: Vec<u64> = stat
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let at = |i: usize| fields.get(i).copied().unwrap_or(0);
        let busy = at(0) + at(1) + at(2) + at(7);
        let total: u64 = fields.iter().take(8).sum();
        let own_stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = &own_stat[own_stat.rfind(')')? + 1..];
        let own_fields: Vec<&str> = after_name.split_whitespace().collect();
        // Fields 14 and 15 of /proc/PID/stat; after the name, state is the first.
        let own =
            own_fields.get(11)?.parse::<u64>().ok()? + own_fields.get(12)?.parse::<u64>().ok()?;
        Some((busy, total, own))
    }
}
