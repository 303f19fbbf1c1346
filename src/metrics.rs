//! Operational metrics: a small registry of counters, gauges and fixed-bucket histograms that
//! the writer and the web layer record into, rendered in the Prometheus text exposition format
//! (version 0.0.4) for `GET /metrics`.
//!
//! Hand-rolled rather than `prometheus-client`: the set of metrics is fixed and small, and
//! recording must cost next to nothing on the writer's hot path. Command outcomes and the
//! writer's histograms are plain atomics indexed by enums (no lock, no allocation); the label
//! sets that are only known at run time (refusals by rule code, HTTP requests by route and
//! status) sit in maps behind a mutex held for one lookup, and allocate only the first time a
//! label set is seen. Label values are always `&'static str` taken from closed sets (command
//! kinds, rule codes, the route table), so a client cannot grow the cardinality.
//!
//! It never does I/O, never reads the domain's clock, and knows nothing of HTTP or redb: the
//! values that live elsewhere (projection positions, the store's head) are passed to
//! [`Metrics::render`] by its caller.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Upper bounds of the writer's batch-size histogram (commands per batch).
const BATCH_BOUNDS: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
/// Upper bounds of the commit-latency histogram, in microseconds (0.5 ms … 2.5 s).
const COMMIT_BOUNDS_US: &[u64] = &[
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000,
];
/// Upper bounds of the HTTP request-duration histogram, in microseconds (1 ms … 10 s).
const REQUEST_BOUNDS_US: &[u64] = &[
    1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

/// The kind of a writer command, a label of the command counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    /// Create a cohort.
    Create,
    /// Enroll or waitlist a learner.
    Enroll,
    /// Withdraw a learner.
    Withdraw,
    /// Take a learner off the waitlist.
    LeaveWaitlist,
    /// Promote the waitlist head.
    Promote,
    /// Change the number of seats.
    ChangeCapacity,
    /// Close enrollment.
    Close,
}

impl CommandKind {
    const ALL: [Self; 7] = [
        Self::Create,
        Self::Enroll,
        Self::Withdraw,
        Self::LeaveWaitlist,
        Self::Promote,
        Self::ChangeCapacity,
        Self::Close,
    ];

    /// The label value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Enroll => "enroll",
            Self::Withdraw => "withdraw",
            Self::LeaveWaitlist => "leave_waitlist",
            Self::Promote => "promote",
            Self::ChangeCapacity => "change_capacity",
            Self::Close => "close",
        }
    }
}

/// How the writer answered a command, a label of the command counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed.
    Accepted,
    /// A repeated idempotency key, answered with the first outcome; nothing written.
    Replayed,
    /// Refused by a business rule (see the refusals by code).
    Rejected,
    /// `If-Match` named another version.
    VersionConflict,
    /// An idempotency key reused for a different request.
    IdempotencyKeyReused,
    /// The store failed the commit.
    StorageFailed,
    /// A bug in the writer (it recovered).
    Internal,
}

impl Outcome {
    const ALL: [Self; 7] = [
        Self::Accepted,
        Self::Replayed,
        Self::Rejected,
        Self::VersionConflict,
        Self::IdempotencyKeyReused,
        Self::StorageFailed,
        Self::Internal,
    ];

    /// The label value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Replayed => "replayed",
            Self::Rejected => "rejected",
            Self::VersionConflict => "version_conflict",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::StorageFailed => "storage_failed",
            Self::Internal => "internal",
        }
    }
}

const KINDS: usize = CommandKind::ALL.len();
const OUTCOMES: usize = Outcome::ALL.len();

/// A histogram with fixed upper bounds, in integer units (counts or microseconds).
#[derive(Debug)]
struct Histogram {
    bounds: &'static [u64],
    /// Observations per bucket (not cumulative); the last is above every bound.
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [u64]) -> Self {
        Self {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: u64) {
        let bucket = self.bounds.partition_point(|&bound| bound < value);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum.fetch_add(value, Relaxed);
    }

    /// Writes the `_bucket`, `_sum` and `_count` samples; `scale` divides bounds and sum (1 for
    /// counts, 1e6 for microseconds shown as seconds). The count is the buckets' total, so a
    /// scrape racing an observation stays self-consistent.
    #[allow(
        clippy::cast_precision_loss,
        reason = "bounds and sums are far below 2^52"
    )]
    fn write(&self, out: &mut String, name: &str, labels: &str, scale: f64) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Relaxed);
            let le = self
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| fmt_f64(*b as f64 / scale));
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let sum = self.sum.load(Relaxed) as f64 / scale;
        let _ = writeln!(out, "{name}_sum{braces} {}", fmt_f64(sum));
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Per route and method: responses by status, and the request-duration histogram.
#[derive(Debug)]
struct RouteStats {
    statuses: BTreeMap<u16, u64>,
    duration: Histogram,
}

/// What happened since the process started, shared by the writer and the web layer.
#[derive(Debug)]
pub struct Metrics {
    started: SystemTime,
    commands: [[AtomicU64; OUTCOMES]; KINDS],
    /// Refusals by (command kind, rule code).
    rejected: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    batch_size: Histogram,
    commit_seconds: Histogram,
    replay_micros: AtomicU64,
    replay_events: AtomicU64,
    /// By (route template, method).
    http: Mutex<BTreeMap<(&'static str, &'static str), RouteStats>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The values [`Metrics::render`] reads from elsewhere at scrape time.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Each projection's name and the position it has applied.
    pub projections: Vec<(&'static str, u64)>,
    /// The position the projections have published.
    pub published_position: u64,
    /// The store's newest event, if it could be read.
    pub store_head: Option<u64>,
    /// Whether the writer takes commands.
    pub writer_running: bool,
    /// Whether a commit failed on storage since the start.
    pub storage_failed: bool,
    /// The password-hash limiter's counts.
    pub password_hashes: PasswordHashes,
}

/// What the password-hash limiter has seen (login, account creation, password changes).
#[derive(Clone, Copy, Debug, Default)]
pub struct PasswordHashes {
    /// Hashes allowed at once.
    pub permits: u64,
    /// Hashes computing now.
    pub running: u64,
    /// The most that ever computed at once.
    pub peak: u64,
    /// Hashes computed since the start.
    pub hashed: u64,
    /// Login checks refused at once because the limiter and its queue were full.
    pub refused_busy: u64,
}

impl Metrics {
    /// An empty registry; the process start time is now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            started: SystemTime::now(),
            commands: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            rejected: Mutex::default(),
            batch_size: Histogram::new(BATCH_BOUNDS),
            commit_seconds: Histogram::new(COMMIT_BOUNDS_US),
            replay_micros: AtomicU64::new(0),
            replay_events: AtomicU64::new(0),
            http: Mutex::default(),
        }
    }

    /// Counts a command's outcome; a refusal also by its rule's code.
    pub fn command(&self, kind: CommandKind, outcome: Outcome, rule_code: Option<&'static str>) {
        self.commands[kind as usize][outcome as usize].fetch_add(1, Relaxed);
        if let Some(code) = rule_code {
            *self
                .rejected
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry((kind.as_str(), code))
                .or_default() += 1;
        }
    }

    /// Records a batch of `commands` handed to the writer at once.
    pub fn batch(&self, commands: usize) {
        self.batch_size.observe(commands as u64);
    }

    /// Records how long one durable commit took.
    pub fn commit(&self, took: Duration) {
        self.commit_seconds.observe(micros(took));
    }

    /// Records the startup replay.
    pub fn replay(&self, events: u64, took: Duration) {
        self.replay_events.store(events, Relaxed);
        self.replay_micros.store(micros(took), Relaxed);
    }

    /// Counts an HTTP response. `route` is the matched route template (or a fixed word for
    /// none), never the raw path.
    pub fn request(&self, route: &'static str, method: &'static str, status: u16, took: Duration) {
        let mut http = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        let series = http.entry((route, method)).or_insert_with(|| RouteStats {
            statuses: BTreeMap::new(),
            duration: Histogram::new(REQUEST_BOUNDS_US),
        });
        *series.statuses.entry(status).or_default() += 1;
        series.duration.observe(micros(took));
    }

    /// The whole registry in the Prometheus text format 0.0.4, with `snapshot`'s values.
    #[must_use]
    #[allow(
        clippy::cast_precision_loss,
        reason = "times in seconds for display; far below 2^52 microseconds"
    )]
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::with_capacity(16 * 1024);
        header(
            &mut out,
            "rollbook_build_info",
            "gauge",
            "Always 1; the version as a label.",
        );
        let _ = writeln!(
            out,
            "rollbook_build_info{{version=\"{}\"}} 1",
            escape_label(env!("CARGO_PKG_VERSION"))
        );
        let started = self
            .started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        gauge(
            &mut out,
            "rollbook_process_start_time_seconds",
            "When the server started, in seconds since the Unix epoch.",
            started,
        );

        self.render_commands(&mut out);
        self.render_writer(&mut out, snapshot);
        self.render_positions(&mut out, snapshot);
        self.render_http(&mut out);
        render_password_hashes(&mut out, &snapshot.password_hashes);
        out
    }

    fn render_commands(&self, out: &mut String) {
        header(
            out,
            "rollbook_commands_total",
            "counter",
            "Commands the writer answered, by kind and outcome.",
        );
        for kind in CommandKind::ALL {
            for outcome in Outcome::ALL {
                let n = self.commands[kind as usize][outcome as usize].load(Relaxed);
                let _ = writeln!(
                    out,
                    "rollbook_commands_total{{kind=\"{}\",outcome=\"{}\"}} {n}",
                    kind.as_str(),
                    outcome.as_str()
                );
            }
        }
        header(
            out,
            "rollbook_commands_rejected_total",
            "counter",
            "Commands refused by a business rule, by kind and the rule's stable code.",
        );
        let rejected = self
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for ((kind, code), n) in rejected {
            let _ = writeln!(
                out,
                "rollbook_commands_rejected_total{{kind=\"{}\",code=\"{}\"}} {n}",
                escape_label(kind),
                escape_label(code)
            );
        }
    }

    fn render_writer(&self, out: &mut String, snapshot: &Snapshot) {
        header(
            out,
            "rollbook_writer_batch_commands",
            "histogram",
            "Commands per writer batch.",
        );
        self.batch_size
            .write(out, "rollbook_writer_batch_commands", "", 1.0);
        header(
            out,
            "rollbook_store_commit_duration_seconds",
            "histogram",
            "Time of each durable commit of a writer batch.",
        );
        self.commit_seconds
            .write(out, "rollbook_store_commit_duration_seconds", "", 1e6);
        gauge(
            out,
            "rollbook_writer_running",
            "1 while the writer takes commands.",
            f64::from(u8::from(snapshot.writer_running)),
        );
        gauge(
            out,
            "rollbook_writer_storage_failed",
            "1 once a commit failed on storage (the server then needs a restart).",
            f64::from(u8::from(snapshot.storage_failed)),
        );
    }

    #[allow(
        clippy::cast_precision_loss,
        reason = "times in seconds for display; far below 2^52 microseconds"
    )]
    fn render_positions(&self, out: &mut String, snapshot: &Snapshot) {
        gauge(
            out,
            "rollbook_replay_duration_seconds",
            "How long the startup replay of the events into the projections took.",
            self.replay_micros.load(Relaxed) as f64 / 1e6,
        );
        gauge(
            out,
            "rollbook_replay_events",
            "Events replayed into the projections at startup.",
            self.replay_events.load(Relaxed) as f64,
        );
        if let Some(head) = snapshot.store_head {
            gauge(
                out,
                "rollbook_store_head_position",
                "Global position of the newest stored event.",
                head as f64,
            );
        }
        gauge(
            out,
            "rollbook_projections_published_position",
            "Global position the projections have published to readers.",
            snapshot.published_position as f64,
        );
        header(
            out,
            "rollbook_projection_position",
            "gauge",
            "Global position each projection has applied.",
        );
        for (name, position) in &snapshot.projections {
            let _ = writeln!(
                out,
                "rollbook_projection_position{{projection=\"{}\"}} {position}",
                escape_label(name)
            );
        }
    }

    fn render_http(&self, out: &mut String) {
        let http = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        header(
            out,
            "rollbook_http_requests_total",
            "counter",
            "HTTP responses, by route template, method and status.",
        );
        for ((route, method), stats) in http.iter() {
            for (status, n) in &stats.statuses {
                let _ = writeln!(
                    out,
                    "rollbook_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    escape_label(route),
                    escape_label(method)
                );
            }
        }
        header(
            out,
            "rollbook_http_request_duration_seconds",
            "histogram",
            "Time from a request's routing to its response, by route template and method.",
        );
        for ((route, method), stats) in http.iter() {
            let labels = format!(
                "route=\"{}\",method=\"{}\"",
                escape_label(route),
                escape_label(method)
            );
            stats
                .duration
                .write(out, "rollbook_http_request_duration_seconds", &labels, 1e6);
        }
    }
}

#[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn render_password_hashes(out: &mut String, hashes: &PasswordHashes) {
    gauge(
        out,
        "rollbook_password_hash_permits",
        "Password hashes allowed to compute at once (one per core).",
        hashes.permits as f64,
    );
    gauge(
        out,
        "rollbook_password_hashes_in_flight",
        "Password hashes computing now.",
        hashes.running as f64,
    );
    gauge(
        out,
        "rollbook_password_hashes_peak",
        "The most password hashes that ever computed at once since the start.",
        hashes.peak as f64,
    );
    header(
        out,
        "rollbook_password_hashes_total",
        "counter",
        "Password hashes computed (logins, new accounts, password changes).",
    );
    let _ = writeln!(out, "rollbook_password_hashes_total {}", hashes.hashed);
    header(
        out,
        "rollbook_logins_refused_busy_total",
        "counter",
        "Logins refused at once, without hashing, because every hash permit and queue place was taken.",
    );
    let _ = writeln!(
        out,
        "rollbook_logins_refused_busy_total {}",
        hashes.refused_busy
    );
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {}", fmt_f64(value));
}

/// A sample value: integers without a fraction, others in Rust's shortest round-trip form
/// (which Prometheus parses).
fn fmt_f64(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    format!("{v}")
}

/// A label value as the text format wants it: backslash, double quote and line feed escaped.
#[must_use]
pub fn escape_label(value: &str) -> String {
    escape(value, true)
}

/// `# HELP` text: backslash and line feed escaped (quotes stay).
fn escape_help(text: &str) -> String {
    escape(text, false)
}

fn escape(text: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("line\nbreak"), r"line\nbreak");
        assert_eq!(escape_label("plain /cohorts/{id}"), "plain /cohorts/{id}");
        assert_eq!(escape_help("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
    }

    #[test]
    fn an_escaped_label_is_rendered_inside_quotes() {
        let metrics = Metrics::new();
        metrics.request("/we\"ird\\", "GET", 200, Duration::from_millis(2));
        let text = metrics.render(&Snapshot::default());
        assert!(
            text.contains(
                r#"rollbook_http_requests_total{route="/we\"ird\\",method="GET",status="200"} 1"#
            ),
            "{text}"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let metrics = Metrics::new();
        for size in [1, 1, 3, 600] {
            metrics.batch(size);
        }
        metrics.commit(Duration::from_micros(750));
        let text = metrics.render(&Snapshot::default());
        for line in [
            r#"rollbook_writer_batch_commands_bucket{le="1"} 2"#,
            r#"rollbook_writer_batch_commands_bucket{le="2"} 2"#,
            r#"rollbook_writer_batch_commands_bucket{le="4"} 3"#,
            r#"rollbook_writer_batch_commands_bucket{le="512"} 3"#,
            r#"rollbook_writer_batch_commands_bucket{le="+Inf"} 4"#,
            "rollbook_writer_batch_commands_sum 605",
            "rollbook_writer_batch_commands_count 4",
            r#"rollbook_store_commit_duration_seconds_bucket{le="0.0005"} 0"#,
            r#"rollbook_store_commit_duration_seconds_bucket{le="0.001"} 1"#,
            "rollbook_store_commit_duration_seconds_sum 0.00075",
            "rollbook_store_commit_duration_seconds_count 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let metrics = Metrics::new();
        metrics.command(
            CommandKind::Enroll,
            Outcome::Rejected,
            Some("already_enrolled"),
        );
        metrics.request("/", "GET", 200, Duration::ZERO);
        let text = metrics.render(&Snapshot {
            projections: vec![("catalog", 3)],
            store_head: Some(3),
            ..Snapshot::default()
        });
        let mut typed = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                typed.insert(name.to_owned());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains(*f)))
                    .unwrap_or(name);
                assert!(typed.contains(family), "{name} has no # TYPE before it");
            }
        }
        assert!(text.contains(
            r#"rollbook_commands_rejected_total{kind="enroll",code="already_enrolled"} 1"#
        ));
        assert!(text.contains(r#"rollbook_commands_total{kind="enroll",outcome="rejected"} 1"#));
        assert!(text.ends_with('\n'));
    }
}
