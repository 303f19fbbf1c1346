//! The application: opens the store, replays the projections, starts the writer, binds the
//! listener and serves until asked to stop. Tests build it on port 0 with a temporary database.
//! It also wraps the web layer in the per-request limits: a time limit and security headers.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use tokio::net::TcpListener;

use jiff::SignedDuration;

use crate::auth::{Auth, Passwords, Role, secret};
use crate::clock::{Clock, SystemClock};
use crate::metrics::Metrics;
use crate::offer_expiry::OfferExpiry;
use crate::projections::ReadModel;
use crate::serve::{self, Limits};
use crate::store::{History, Store, StoreOptions};
use crate::web::{self, AppState, CookiePolicy};
use crate::writer::{self, WriterOptions, WriterThread};

/// Everything needed to start rollbook.
#[derive(Clone)]
pub struct AppConfig {
    /// The database file.
    pub db: PathBuf,
    /// Where to listen (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Store tunables.
    pub store: StoreOptions,
    /// Writer tunables.
    pub writer: WriterOptions,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// How long a client may take to send a request's headers; also how long an idle
    /// kept-alive connection stays open. Slow-header ("slowloris") clients are cut off by it.
    pub header_read_timeout: Duration,
    /// How long a request may take from its headers to its response, reading its body
    /// included; past it the client gets a 503.
    pub request_timeout: Duration,
    /// The most connections served at once; clients beyond it wait until one closes.
    pub max_connections: usize,
    /// The most connections one client address holds at once; beyond it a new connection is
    /// closed at once, so one client cannot take every slot of `max_connections`.
    pub max_connections_per_address: usize,
    /// Host names accepted in `Host` besides the loopback names, the listen address and the
    /// public URL's host (`*`: any); see [`web::HostPolicy`].
    pub allowed_hosts: Vec<String>,
    /// Password hashing (OWASP argon2id; tests may use cheaper parameters).
    pub passwords: Passwords,
    /// Sessions idle this long are logged out.
    pub session_idle: SignedDuration,
    /// The address people use to reach rollbook, e.g. `https://rollbook.example.org`: with
    /// https, cookies are `Secure`; form posts must come from its origin; offer links are made
    /// under it (none without it).
    pub public_url: Option<String>,
    /// Scheduled backups, if configured.
    pub backup: Option<crate::backup::Schedule>,
    /// Addresses that may read `/metrics` without signing in.
    pub metrics_allow: web::AllowList,
    /// The time zone pages show times in and read form times in (UTC by default).
    pub zone: web::Zone,
    /// The live feed's limits (`GET /api/v1/events/stream`).
    pub live_feed: web::LiveFeedOptions,
    /// How webhooks are delivered.
    pub webhooks: crate::webhooks::WebhookOptions,
    /// Learner e-mail (`--smtp-url`…; `None`: off).
    pub mail: Option<crate::mail::MailConfig>,
}

impl AppConfig {
    /// Defaults for a database file, listening on `listen`.
    #[must_use]
    pub fn new(db: PathBuf, listen: SocketAddr) -> Self {
        Self {
            db,
            listen,
            store: StoreOptions::default(),
            writer: WriterOptions::default(),
            clock: Arc::new(SystemClock),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_connections_per_address: 64,
            allowed_hosts: Vec::new(),
            passwords: Passwords::owasp(),
            session_idle: SignedDuration::from_hours(12),
            public_url: None,
            backup: None,
            metrics_allow: web::AllowList::default(),
            zone: web::Zone::default(),
            live_feed: web::LiveFeedOptions::default(),
            webhooks: crate::webhooks::WebhookOptions::default(),
            mail: None,
        }
    }
}

/// The opened store, replayed projections and running writer, without HTTP.
pub struct Core {
    /// What handlers share.
    pub state: AppState,
    /// The writer thread, to join at shutdown.
    pub writer: WriterThread,
    /// Set on a first start: the generated password of the `admin` account, to show once.
    pub initial_admin_password: Option<String>,
}

impl Core {
    /// Opens the store and replays every event into the projections (blocking work, run off the
    /// async threads), then starts the writer.
    #[allow(
        clippy::too_many_lines,
        reason = "the startup steps in order, each a blocking task or a helper's call"
    )]
    pub async fn open(config: &AppConfig) -> anyhow::Result<Self> {
        let db = config.db.clone();
        let options = config.store.clone();
        let passwords = config.passwords.clone();
        let (clock, idle) = (config.clock.clone(), config.session_idle);
        let metrics = Arc::new(Metrics::new(writer::CommandKind::LABELS));
        let replay_metrics = metrics.clone();
        let (store, read_model, auth, initial_admin_password) =
            tokio::task::spawn_blocking(move || {
                let store = Arc::new(Store::open(&db, &options)?);
                let auth = Auth::load(store.clone(), passwords, clock, idle)?;
                // A first start gets an admin with a random password, shown once; never a default.
                let initial_admin_password = if auth.has_accounts() {
                    None
                } else {
                    let password = secret::readable_password();
                    auth.create_account("admin", Role::Admin, &password)?;
                    Some(password)
                };
                tracing::info!(db = %db.display(), "replaying events into the projections");
                // A progress bar on a terminal (hidden otherwise).
                let bar = indicatif::ProgressBar::new(store.read()?.head_position()?);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "replaying [{bar:40}] {human_pos}/{human_len} events",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                let (read_model, summary) =
                    ReadModel::rebuild_reporting(&store, &|done| bar.set_position(done))?;
                bar.finish_and_clear();
                tracing::info!(
                    events = summary.events,
                    cohorts = summary.cohorts,
                    seconds = format!("{:.3}", summary.elapsed.as_secs_f64()),
                    events_per_second = format!("{:.0}", summary.rate()),
                    "replay done"
                );
                replay_metrics.replay(summary.events, summary.elapsed);
                Ok::<_, anyhow::Error>((
                    store,
                    Arc::new(read_model),
                    Arc::new(auth),
                    initial_admin_password,
                ))
            })
            .await
            .context("startup task failed")??;
        let writer_options = WriterOptions {
            metrics: Some(metrics.clone()),
            ..config.writer.clone()
        };
        // Blocking: the writer reads the store's head before it starts.
        let (writer_store, writer_read, writer_clock) =
            (store.clone(), read_model.clone(), config.clock.clone());
        let (handle, writer) = tokio::task::spawn_blocking(move || {
            writer::spawn(writer_store, writer_read, writer_clock, writer_options)
        })
        .await
        .context("startup task failed")?
        .context("cannot start the writer thread")?;
        let applied = read_model.read().position;
        let (hook_store, hook_history, hook_read, hook_clock, hook_options) = (
            store.clone(),
            History::new(store.clone()),
            read_model.clone(),
            config.clock.clone(),
            config.webhooks.clone(),
        );
        let webhooks = tokio::task::spawn_blocking(move || {
            crate::webhooks::Webhooks::load(
                hook_store,
                hook_history,
                hook_read,
                hook_clock,
                hook_options,
                web::feed_event_json,
            )
        })
        .await
        .context("startup task failed")?
        .context("cannot load the webhook subscriptions")?;
        let offer_links = load_offer_links(store.clone(), config.public_url.clone()).await?;
        let mail = load_mail(config, &store, &read_model, &offer_links).await?;
        let state = AppState {
            offer_links,
            mail: Some(Arc::new(mail)),
            webhooks: Arc::new(webhooks),
            history: History::new(store),
            read: read_model,
            writer: handle,
            clock: config.clock.clone(),
            auth,
            cookies: CookiePolicy::from_public_url(config.public_url.as_deref())?,
            last_backup: Arc::new(crate::backup::ServerBackups::new(
                config.backup.as_ref().map(|schedule| schedule.dir.clone()),
            )),
            metrics,
            metrics_allow: config.metrics_allow.clone(),
            zone: config.zone.clone(),
            live: Arc::new(web::LiveFeed::starting_at(config.live_feed, applied)),
        };
        Ok(Self {
            state,
            writer,
            initial_admin_password,
        })
    }
}

/// The offer links' key, made on a first start and kept in the database (blocking: run on the
/// blocking pool).
async fn load_offer_links(
    store: Arc<Store>,
    public_url: Option<String>,
) -> anyhow::Result<crate::offer_links::OfferLinks> {
    Ok(tokio::task::spawn_blocking(move || {
        crate::offer_links::OfferLinks::load(store, public_url.as_deref())
    })
    .await
    .context("startup task failed")??)
}

/// Learner e-mail as configured (off without `--smtp-url`), loaded off the async threads.
async fn load_mail(
    config: &AppConfig,
    store: &Arc<Store>,
    read_model: &Arc<ReadModel>,
    offer_links: &crate::offer_links::OfferLinks,
) -> anyhow::Result<crate::mail::Mail> {
    let zone = config.zone.clone();
    let show_time: crate::mail::ShowTime = Arc::new(move |t| zone.show(t));
    let (mail_store, mail_history, mail_read, mail_clock) = (
        store.clone(),
        History::new(store.clone()),
        read_model.clone(),
        config.clock.clone(),
    );
    // An offer's e-mail carries its accept and decline links (none without `--public-url`).
    let links = offer_links.clone();
    let offer_links: crate::mail::OfferLinkSource =
        Arc::new(move |cohort, learner, at, expires| {
            links
                .urls(cohort, learner, at, expires)
                .map(|urls| crate::mail::OfferLinkPair {
                    accept: urls.accept,
                    decline: urls.decline,
                })
        });
    let mail_config = config.mail.clone();
    tokio::task::spawn_blocking(move || {
        crate::mail::Mail::load(
            mail_config,
            mail_store,
            mail_history,
            mail_read,
            mail_clock,
            show_time,
            Some(offer_links),
        )
    })
    .await
    .context("startup task failed")?
    .context("cannot start learner e-mail")
}

/// A bound, ready-to-serve rollbook.
pub struct Application {
    listener: TcpListener,
    core: Core,
    limits: Limits,
    request_timeout: Duration,
    hosts: Arc<web::HostPolicy>,
    backup_schedule: Option<crate::backup::Schedule>,
}

impl Application {
    /// Opens and replays the database, starts the writer and binds the listener. The server
    /// accepts requests only once this returns, so it never answers from a partial replay.
    pub async fn build(config: &AppConfig) -> anyhow::Result<Self> {
        // Offer links are made under the public URL: an unusable one stops the start before
        // anything is opened (and before a first start shows the admin's password).
        crate::offer_links::OfferLinks::from_key([0; 32], config.public_url.as_deref())?;
        let core = Core::open(config).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let limits = Limits {
            header_read_timeout: config.header_read_timeout,
            max_connections: config.max_connections,
            max_connections_per_address: config.max_connections_per_address,
            // The longest a request already started at shutdown may legitimately take: the
            // rest of its headers, then its time limit.
            shutdown_grace: config.header_read_timeout + config.request_timeout,
        };
        let hosts = web::HostPolicy::new(
            listener.local_addr()?,
            config.public_url.as_deref(),
            &config.allowed_hosts,
        )?;
        if let Some(warning) = hosts.warning() {
            tracing::warn!("{warning}");
        }
        Ok(Self {
            listener,
            core,
            limits,
            request_timeout: config.request_timeout,
            hosts: Arc::new(hosts),
            backup_schedule: config.backup.clone(),
        })
    }

    /// On a first start, the generated password of the `admin` account (to print once).
    #[must_use]
    pub fn initial_admin_password(&self) -> Option<&str> {
        self.core.initial_admin_password.as_deref()
    }

    /// The accounts (for `serve --demo`, which gives the demo's staff accounts).
    #[must_use]
    pub fn auth(&self) -> Arc<crate::auth::Auth> {
        self.core.state.auth.clone()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes; then stops accepting, lets in-flight requests finish,
    /// lets the writer drain and commit what is queued, and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            core,
            limits,
            request_timeout,
            hosts,
            backup_schedule,
        } = self;
        let Core { state, writer, .. } = core;
        let scheduler = backup_schedule.map(|schedule| {
            let (history, clock, last) = (
                state.history.clone(),
                state.clock.clone(),
                state.last_backup.clone(),
            );
            tokio::spawn(run_backups(schedule, history, clock, last))
        });
        // The offer scheduler: started after the replay (so what fell due while the server
        // was down is expired at once), stopped before the writer.
        // Webhook deliveries: after the replay, stopped with the server.
        state.webhooks.start();
        let webhooks = state.webhooks.clone();
        // Learner e-mail: after the replay, stopped with the server.
        let mail = state.mail.clone();
        if let Some(mail) = &mail {
            mail.start();
        }
        let (stop_offers, offers_stopped) = tokio::sync::watch::channel(false);
        let offers = tokio::spawn(
            OfferExpiry::new(
                state.read.clone(),
                state.writer.clone(),
                state.clock.clone(),
            )
            .run(offers_stopped),
        );
        // The live feed's hub: follows the applied position until stopped after the server.
        let (stop_live, live_stopped) = tokio::sync::watch::channel(false);
        let live = state.live.clone();
        let hub = tokio::spawn(live.clone().run(
            state.read.clone(),
            state.history.clone(),
            live_stopped,
        ));
        // At shutdown the streams end first (each with a last `shutting_down` event), so the
        // graceful stop does not wait for them.
        let shutdown = async move {
            shutdown.await;
            live.close();
        };
        // The headers layer is outermost, so time-limit answers carry the headers too; requests
        // are counted outside the time limit, so its 503s are counted too.
        let metrics = state.metrics.clone();
        let auth = state.auth.clone();
        let zone = state.zone.clone();
        // Innermost: form bodies are checked for UTF-8 within the time limit, and only for a
        // host rollbook answers to.
        let router = web::router(state)
            .layer(middleware::from_fn(web::strict_form_bodies))
            .layer(middleware::from_fn_with_state(hosts, web::check_host))
            // The checks above answer with error pages too: rendered with the zone here.
            .layer(middleware::map_response_with_state(
                zone,
                web::render_error_pages,
            ))
            .layer(middleware::from_fn_with_state(request_timeout, time_limit))
            .layer(middleware::from_fn_with_state(metrics, web::count_requests))
            .layer(middleware::map_response(web::security_headers));
        serve::serve(listener, router, limits, shutdown).await;
        // It holds a handle to the store: let it go before the writer stops.
        stop_live.send_replace(true);
        if let Err(e) = hub.await {
            tracing::error!("live feed hub failed: {e}");
        }
        // It holds a handle to the writer: let it finish its step and go first.
        stop_offers.send_replace(true);
        // The delivery tasks hold handles to the store: let them go before the writer stops.
        webhooks.stop().await;
        drop(webhooks);
        if let Some(mail) = mail {
            mail.stop().await;
        }
        if let Err(e) = offers.await {
            tracing::error!("offer scheduler failed: {e}");
        }
        if let Some(scheduler) = scheduler {
            scheduler.abort();
            // The backup task holds a handle to the store; let it go before the writer stops.
            let _ = scheduler.await;
        }
        // Sessions touched by the last requests are written back, and the write-back thread lets
        // go of the store, before the server says it stopped.
        tokio::task::spawn_blocking(move || auth.stop_write_back())
            .await
            .context("session write-back join failed")?;
        // Every handle to the writer was dropped with the router: it drains and stops.
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .context("writer join failed")?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Makes a verified backup every `schedule.every`, keeping the newest `schedule.keep`.
async fn run_backups(
    schedule: crate::backup::Schedule,
    history: History,
    clock: Arc<dyn Clock>,
    last: crate::backup::LastBackup,
) {
    let period = Duration::try_from(schedule.every).unwrap_or(Duration::from_secs(6 * 3600));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (history, schedule2, now) = (history.clone(), schedule.clone(), clock.now());
        let outcome = tokio::task::spawn_blocking(move || {
            crate::backup::scheduled_backup(&history, &schedule2, now)
        })
        .await
        .unwrap_or_else(|e| Err(anyhow::anyhow!("backup task failed: {e}")));
        match &outcome {
            Ok(m) => {
                tracing::info!(file = %m.file.display(), position = m.position, "scheduled backup written and verified");
            }
            Err(e) => tracing::error!("scheduled backup failed: {e:#}"),
        }
        crate::backup::record(&last, &outcome);
    }
}

/// Answers a request that is not done within `limit` with a 503 (the API's JSON error under
/// `/api/`, plain text elsewhere) and drops its handler. 503 rather than 408: browsers resend
/// a request answered 408 on their own, and a command may have been committed even though its
/// answer came too late, which the message says.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // An offer link's token is a capability: never logged.
    let path = crate::offer_links::redacted_path(request.uri().path()).into_owned();
    let Ok(response) = tokio::time::timeout(limit, next.run(request)).await else {
        tracing::warn!(%method, %path, "request timed out");
        let message = format!(
            "the request took longer than {} s; if it was a change, check whether it was \
             applied before retrying",
            limit.as_secs_f64()
        );
        return if path.starts_with("/api/") {
            web::ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "timeout",
                message,
            }
            .into_response()
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
        };
    };
    response
}
