//! Operational metrics: what the writer and the web layer record, kept in the official
//! `prometheus-client` crate's metric types and written by its encoder in the Prometheus text
//! exposition format (version 0.0.4) for `GET /metrics`.
//!
//! Recording stays cheap on the writer's hot path: the counter of every (command kind, outcome)
//! pair is created up front and kept by handle, so counting a command is one atomic add. The
//! label sets only known at run time (refusals by rule code, HTTP requests by route and status)
//! are `prometheus-client` families, which lock a map for one lookup. Label values are always
//! `&'static str` from closed sets (command kinds, rule codes, the route table), so a client
//! cannot grow the cardinality.
//!
//! It never does I/O, never reads the domain's clock, and knows nothing of HTTP or redb: the
//! values that live elsewhere (projection positions, the store's head) are passed to
//! [`Metrics::render`] by its caller.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The media type of what [`Metrics::render`] writes: the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds of the writer's batch-size histogram (commands per batch).
const BATCH_BOUNDS: [f64; 10] = [1., 2., 4., 8., 16., 32., 64., 128., 256., 512.];
/// Upper bounds of the commit-latency histogram, in seconds (0.5 ms … 2.5 s).
const COMMIT_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1., 2.5,
];
/// Upper bounds of the HTTP request-duration histogram, in seconds (1 ms … 10 s).
const REQUEST_BOUNDS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1., 2.5, 5., 10.,
];

/// How the writer answered a command, a label of the command counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

const OUTCOMES: usize = Outcome::ALL.len();

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    kind: &'static str,
    outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectedLabels {
    kind: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectionLabels {
    projection: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubscriptionLabels {
    subscription: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    subscription: String,
    name: String,
    outcome: &'static str,
}

/// A family declared (`# HELP`, `# TYPE`) even before its first series, as a scraper has
/// always seen it: the encoder leaves out a family that reports itself empty.
#[derive(Debug)]
struct Declared<F>(F);

impl<F: EncodeMetric> EncodeMetric for Declared<F> {
    fn encode(&self, encoder: MetricEncoder) -> std::fmt::Result {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }
}

/// A gauge of whole numbers (positions, counts), written without a fraction.
type WholeGauge = Gauge<u64, AtomicU64>;
/// A gauge of seconds.
type SecondsGauge = Gauge<f64, AtomicU64>;
/// Request durations by route, each a histogram with [`REQUEST_BOUNDS`].
type RouteHistograms = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// What happened since the process started, shared by the writer and the web layer. Cloning
/// the metric handles shares their values (they are reference-counted).
#[derive(Debug)]
pub struct Metrics {
    started: f64,
    /// The family of `commands`, which holds a handle to each of its counters.
    command_family: Family<CommandLabels, Counter>,
    /// The label of each command kind, in the order the writer declares them.
    command_kinds: &'static [&'static str],
    /// The counter of each (kind, outcome), indexed like `command_kinds` and [`Outcome`].
    commands: Vec<[Counter; OUTCOMES]>,
    rejected: Family<RejectedLabels, Counter>,
    batch_size: Histogram,
    commit_seconds: Histogram,
    replay_seconds: SecondsGauge,
    replay_events: WholeGauge,
    http_requests: Family<ResponseLabels, Counter>,
    http_seconds: RouteHistograms,
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
    /// Each webhook subscription's deliveries (at most `webhooks::MAX_SUBSCRIPTIONS`, so
    /// the label sets stay few; a deleted subscription's series go with it).
    pub webhooks: Vec<WebhookDelivery>,
    /// The live feed's streams and frames.
    pub live_feed: LiveFeedCounts,
}

/// One webhook subscription's delivery, read at scrape time.
#[derive(Clone, Debug, Default)]
pub struct WebhookDelivery {
    /// Its id (a label).
    pub id: String,
    /// Its name (a label: admins read the series by it).
    pub name: String,
    /// Deliveries its receiver answered with a 2xx since the start.
    pub succeeded: u64,
    /// Attempts that failed (an answer other than 2xx, no answer, a refused address) since
    /// the start; each retry counts.
    pub failed: u64,
    /// The last event delivered (or skipped by its filters).
    pub position: u64,
    /// Events applied after its position.
    pub lag_events: u64,
    /// Age of its oldest undelivered event, in seconds (0 when it does not lag).
    pub lag_seconds: f64,
    /// Whether it is paused.
    pub paused: bool,
}

/// The live feed's counts, read at scrape time.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveFeedCounts {
    /// Streams open now.
    pub open: u64,
    /// Streams cut since the start because their client fell too far behind.
    pub cut_slow: u64,
    /// Events handed to clients' connections since the start.
    pub frames_sent: u64,
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
    /// An empty registry; the process start time is now. `command_kinds` labels the writer's
    /// commands, in the order it declares them (`writer::CommandKind::LABELS`); a command is
    /// counted by its index in it.
    #[must_use]
    pub fn new(command_kinds: &'static [&'static str]) -> Self {
        let command_family = Family::<CommandLabels, Counter>::default();
        // Every (kind, outcome) series exists from the start, at zero.
        let commands = command_kinds
            .iter()
            .map(|&kind| {
                Outcome::ALL.map(|outcome| {
                    command_family.get_or_create_owned(&CommandLabels { kind, outcome })
                })
            })
            .collect();
        Self {
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64(),
            command_family,
            command_kinds,
            commands,
            rejected: Family::default(),
            batch_size: Histogram::new(BATCH_BOUNDS),
            commit_seconds: Histogram::new(COMMIT_BOUNDS),
            replay_seconds: Gauge::default(),
            replay_events: Gauge::default(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(|| Histogram::new(REQUEST_BOUNDS)),
        }
    }

    /// Counts a command's outcome, `kind` being its index in the kinds given to [`Self::new`]
    /// (an unknown index is not counted); a refusal also by its rule's code.
    pub fn command(&self, kind: usize, outcome: Outcome, rule_code: Option<&'static str>) {
        let (Some(counters), Some(&kind)) = (self.commands.get(kind), self.command_kinds.get(kind))
        else {
            return;
        };
        counters[outcome as usize].inc();
        if let Some(code) = rule_code {
            self.rejected
                .get_or_create(&RejectedLabels { kind, code })
                .inc();
        }
    }

    /// Records a batch of `commands` handed to the writer at once.
    #[allow(
        clippy::cast_precision_loss,
        reason = "a batch holds far fewer than 2^52 commands"
    )]
    pub fn batch(&self, commands: usize) {
        self.batch_size.observe(commands as f64);
    }

    /// Records how long one durable commit took.
    pub fn commit(&self, took: Duration) {
        self.commit_seconds.observe(took.as_secs_f64());
    }

    /// Records the startup replay.
    pub fn replay(&self, events: u64, took: Duration) {
        self.replay_events.set(events);
        self.replay_seconds.set(took.as_secs_f64());
    }

    /// Counts an HTTP response. `route` is the matched route template (or a fixed word for
    /// none), never the raw path.
    pub fn request(&self, route: &'static str, method: &'static str, status: u16, took: Duration) {
        self.http_requests
            .get_or_create(&ResponseLabels {
                route,
                method,
                status,
            })
            .inc();
        self.http_seconds
            .get_or_create(&RouteLabels { route, method })
            .observe(took.as_secs_f64());
    }

    /// The whole registry in the Prometheus text format 0.0.4 ([`CONTENT_TYPE`]), with
    /// `snapshot`'s values.
    ///
    /// The registry is assembled for each scrape from handles to the recorded metrics (which
    /// share their values) and the snapshot's values, so that the families come in one fixed
    /// order, and a value that could not be read (the store's head) is left out rather than
    /// shown stale.
    #[must_use]
    pub fn render(&self, snapshot: &Snapshot) -> String {
        // prometheus-client ends every help text with a period: the texts below have none.
        let mut registry = Registry::default();
        registry.register(
            "rollbook_build",
            "Always 1; the version as a label",
            Info::new(VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        registry.register(
            "rollbook_process_start_time_seconds",
            "When the server started, in seconds since the Unix epoch",
            ConstGauge::new(self.started),
        );
        self.register_commands(&mut registry);
        self.register_writer(&mut registry, snapshot);
        self.register_positions(&mut registry, snapshot);
        self.register_http(&mut registry);
        register_password_hashes(&mut registry, &snapshot.password_hashes);
        register_webhooks(&mut registry, &snapshot.webhooks);
        register_live_feed(&mut registry, snapshot.live_feed);
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
            .expect("writing into a String cannot fail");
        out
    }

    fn register_commands(&self, registry: &mut Registry) {
        registry.register(
            "rollbook_commands",
            "Commands the writer answered, by kind and outcome",
            self.command_family.clone(),
        );
        registry.register(
            "rollbook_commands_rejected",
            "Commands refused by a business rule, by kind and the rule's stable code",
            Declared(self.rejected.clone()),
        );
    }

    fn register_writer(&self, registry: &mut Registry, snapshot: &Snapshot) {
        registry.register(
            "rollbook_writer_batch_commands",
            "Commands per writer batch",
            self.batch_size.clone(),
        );
        registry.register(
            "rollbook_store_commit_duration_seconds",
            "Time of each durable commit of a writer batch",
            self.commit_seconds.clone(),
        );
        registry.register(
            "rollbook_writer_running",
            "1 while the writer takes commands",
            ConstGauge::new(u64::from(snapshot.writer_running)),
        );
        registry.register(
            "rollbook_writer_storage_failed",
            "1 once a commit failed on storage (the server then needs a restart)",
            ConstGauge::new(u64::from(snapshot.storage_failed)),
        );
    }

    fn register_positions(&self, registry: &mut Registry, snapshot: &Snapshot) {
        registry.register(
            "rollbook_replay_duration_seconds",
            "How long the startup replay of the events into the projections took",
            self.replay_seconds.clone(),
        );
        registry.register(
            "rollbook_replay_events",
            "Events replayed into the projections at startup",
            self.replay_events.clone(),
        );
        if let Some(head) = snapshot.store_head {
            registry.register(
                "rollbook_store_head_position",
                "Global position of the newest stored event",
                ConstGauge::new(head),
            );
        }
        registry.register(
            "rollbook_projections_published_position",
            "Global position the projections have published to readers",
            ConstGauge::new(snapshot.published_position),
        );
        let projections = Family::<ProjectionLabels, WholeGauge>::default();
        for &(projection, position) in &snapshot.projections {
            projections
                .get_or_create(&ProjectionLabels { projection })
                .set(position);
        }
        registry.register(
            "rollbook_projection_position",
            "Global position each projection has applied",
            Declared(projections),
        );
    }

    fn register_http(&self, registry: &mut Registry) {
        registry.register(
            "rollbook_http_requests",
            "HTTP responses, by route template, method and status",
            Declared(self.http_requests.clone()),
        );
        registry.register(
            "rollbook_http_request_duration_seconds",
            "Time from a request's routing to its response, by route template and method",
            Declared(self.http_seconds.clone()),
        );
    }
}

fn register_password_hashes(registry: &mut Registry, hashes: &PasswordHashes) {
    registry.register(
        "rollbook_password_hash_permits",
        "Password hashes allowed to compute at once (one per core)",
        ConstGauge::new(hashes.permits),
    );
    registry.register(
        "rollbook_password_hashes_in_flight",
        "Password hashes computing now",
        ConstGauge::new(hashes.running),
    );
    registry.register(
        "rollbook_password_hashes_peak",
        "The most password hashes that ever computed at once since the start",
        ConstGauge::new(hashes.peak),
    );
    registry.register(
        "rollbook_password_hashes",
        "Password hashes computed (logins, new accounts, password changes)",
        ConstCounter::new(hashes.hashed),
    );
    registry.register(
        "rollbook_logins_refused_busy",
        "Logins refused at once, without hashing, because every hash permit and queue place was taken",
        ConstCounter::new(hashes.refused_busy),
    );
}

fn register_webhooks(registry: &mut Registry, webhooks: &[WebhookDelivery]) {
    let deliveries = Family::<DeliveryLabels, Counter>::default();
    let position = Family::<SubscriptionLabels, WholeGauge>::default();
    let lag_events = Family::<SubscriptionLabels, WholeGauge>::default();
    let lag_seconds = Family::<SubscriptionLabels, SecondsGauge>::default();
    let paused = Family::<SubscriptionLabels, WholeGauge>::default();
    for hook in webhooks {
        let labels = SubscriptionLabels {
            subscription: hook.id.clone(),
            name: hook.name.clone(),
        };
        for (outcome, n) in [("succeeded", hook.succeeded), ("failed", hook.failed)] {
            deliveries
                .get_or_create(&DeliveryLabels {
                    subscription: hook.id.clone(),
                    name: hook.name.clone(),
                    outcome,
                })
                .inc_by(n);
        }
        position.get_or_create(&labels).set(hook.position);
        lag_events.get_or_create(&labels).set(hook.lag_events);
        lag_seconds.get_or_create(&labels).set(hook.lag_seconds);
        paused.get_or_create(&labels).set(u64::from(hook.paused));
    }
    registry.register(
        "rollbook_webhook_deliveries",
        "Webhook delivery attempts since the start, by subscription and outcome (succeeded: a 2xx answer; failed: anything else, each retry counted)",
        Declared(deliveries),
    );
    registry.register(
        "rollbook_webhook_position",
        "Global position of the last event each webhook subscription delivered or skipped",
        Declared(position),
    );
    registry.register(
        "rollbook_webhook_lag_events",
        "Events applied after each webhook subscription's position",
        Declared(lag_events),
    );
    registry.register(
        "rollbook_webhook_lag_seconds",
        "Age of each webhook subscription's oldest undelivered event (0 when it does not lag)",
        Declared(lag_seconds),
    );
    registry.register(
        "rollbook_webhook_paused",
        "1 while a webhook subscription is paused",
        Declared(paused),
    );
}

fn register_live_feed(registry: &mut Registry, live: LiveFeedCounts) {
    registry.register(
        "rollbook_live_streams_open",
        "Live feed streams (GET /api/v1/events/stream) open now",
        ConstGauge::new(live.open),
    );
    registry.register(
        "rollbook_live_streams_cut_slow",
        "Live feed streams cut because their client fell too far behind (slow_consumer)",
        ConstCounter::new(live.cut_slow),
    );
    registry.register(
        "rollbook_live_frames_sent",
        "Events the live feed handed to its clients' connections (one per event per stream)",
        ConstCounter::new(live.frames_sent),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer's command kinds, as it declares them.
    const KINDS: &[&str] = &[
        "create",
        "enroll",
        "withdraw",
        "leave_waitlist",
        "promote",
        "change_capacity",
        "close",
    ];

    #[test]
    fn label_values_and_help_are_escaped() {
        let metrics = Metrics::new(KINDS);
        for route in [r#"a\b"c"#, "line\nbreak", "plain /cohorts/{id}"] {
            metrics.request(route, "GET", 200, Duration::ZERO);
        }
        let text = metrics.render(&Snapshot::default());
        for label in [
            r#"route="a\\b\"c""#,
            r#"route="line\nbreak""#,
            r#"route="plain /cohorts/{id}""#,
        ] {
            assert!(text.contains(label), "missing {label} in\n{text}");
        }
        // Help texts are the encoder's to escape: backslash and line feed, quotes stay.
        let mut registry = Registry::default();
        registry.register("x", "say \"hi\"\\\n", ConstGauge::new(1_u64));
        let mut help = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut help, &registry).unwrap();
        assert!(
            help.lines().any(|l| l == "# HELP x say \"hi\"\\\\\\n."),
            "{help}"
        );
    }

    #[test]
    fn families_are_declared_before_their_first_series() {
        let text = Metrics::new(KINDS).render(&Snapshot::default());
        for declared in [
            "# TYPE rollbook_commands_rejected_total counter",
            "# TYPE rollbook_http_requests_total counter",
            "# TYPE rollbook_http_request_duration_seconds histogram",
            "# TYPE rollbook_projection_position gauge",
        ] {
            assert!(text.lines().any(|l| l == declared), "{declared} in\n{text}");
        }
    }

    #[test]
    fn an_escaped_label_is_rendered_inside_quotes() {
        let metrics = Metrics::new(KINDS);
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
        let metrics = Metrics::new(KINDS);
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
            // The encoder writes every sum as a float.
            "rollbook_writer_batch_commands_sum 605.0",
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
    fn webhook_and_live_feed_series_carry_their_subscription() {
        let text = Metrics::new(KINDS).render(&Snapshot {
            webhooks: vec![WebhookDelivery {
                id: "0193-a".into(),
                name: "crm \"eu\"".into(),
                succeeded: 7,
                failed: 2,
                position: 40,
                lag_events: 3,
                lag_seconds: 12.5,
                paused: true,
            }],
            live_feed: LiveFeedCounts {
                open: 4,
                cut_slow: 1,
                frames_sent: 99,
            },
            ..Snapshot::default()
        });
        let labels = r#"subscription="0193-a",name="crm \"eu\"""#;
        for line in [
            format!(r#"rollbook_webhook_deliveries_total{{{labels},outcome="succeeded"}} 7"#),
            format!(r#"rollbook_webhook_deliveries_total{{{labels},outcome="failed"}} 2"#),
            format!("rollbook_webhook_position{{{labels}}} 40"),
            format!("rollbook_webhook_lag_events{{{labels}}} 3"),
            format!("rollbook_webhook_lag_seconds{{{labels}}} 12.5"),
            format!("rollbook_webhook_paused{{{labels}}} 1"),
            "rollbook_live_streams_open 4".to_owned(),
            "rollbook_live_streams_cut_slow_total 1".to_owned(),
            "rollbook_live_frames_sent_total 99".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let metrics = Metrics::new(KINDS);
        metrics.command(
            1, // enroll
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

// ---- Learner e-mail (issue 17): a self-contained block ----------------------------------------

/// Learner e-mail's figures at scrape time ([`crate::mail::MailStatus`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct MailMetrics {
    /// Messages the SMTP server accepted since start.
    pub sent: u64,
    /// Messages refused for good (5xx) since start.
    pub failed: u64,
    /// Messages not sent (no e-mail address on file) since start.
    pub skipped: u64,
    /// Attempts to retry (connection failures, 4xx) since start.
    pub retried: u64,
    /// The outbox position.
    pub position: u64,
    /// Events committed after it.
    pub lag: u64,
}

/// `rendered` (the output of [`Metrics::render`]) with the mail families added before its end
/// marker.
#[must_use]
pub fn with_mail(rendered: &str, mail: &MailMetrics) -> String {
    const END: &str = "# EOF\n";
    let mut registry = Registry::default();
    let outcomes = Family::<MailOutcomeLabels, Counter>::default();
    for (outcome, value) in [
        ("sent", mail.sent),
        ("refused", mail.failed),
        ("skipped", mail.skipped),
        ("retried", mail.retried),
    ] {
        outcomes
            .get_or_create(&MailOutcomeLabels { outcome })
            .inc_by(value);
    }
    registry.register(
        "rollbook_mail_messages",
        "Learner e-mails since start: sent (accepted by the SMTP server), refused (5xx, not retried), skipped (no address on file), retried (attempts that failed and will be tried again)",
        outcomes,
    );
    registry.register(
        "rollbook_mail_outbox_position",
        "The last event whose learner e-mails were all handled",
        ConstGauge::new(mail.position),
    );
    registry.register(
        "rollbook_mail_outbox_lag",
        "Events committed after the mail outbox position",
        ConstGauge::new(mail.lag),
    );
    let mut block = String::with_capacity(1024);
    prometheus_client::encoding::prometheus_text::encode(&mut block, &registry)
        .expect("writing into a String cannot fail");
    let block = block.strip_suffix(END).unwrap_or(&block);
    match rendered.strip_suffix(END) {
        Some(head) => format!("{head}{block}{END}"),
        None => format!("{rendered}{block}"),
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct MailOutcomeLabels {
    outcome: &'static str,
}
