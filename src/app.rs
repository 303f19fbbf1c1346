//! The application: opens the store, replays the projections, starts the writer, binds the
//! listener and serves until asked to stop. Tests build it on port 0 with a temporary database.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::projections::ReadModel;
use crate::store::{Store, StoreOptions};
use crate::web::{self, AppState};
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
        }
    }
}

/// The opened store, replayed projections and running writer, without HTTP.
pub struct Core {
    /// What handlers share.
    pub state: AppState,
    /// The writer thread, to join at shutdown.
    pub writer: WriterThread,
}

impl Core {
    /// Opens the store and replays every event into the projections (blocking work, run off the
    /// async threads), then starts the writer.
    pub async fn open(config: &AppConfig) -> anyhow::Result<Self> {
        let db = config.db.clone();
        let options = config.store.clone();
        let (store, read_model) = tokio::task::spawn_blocking(move || {
            let store = Store::open(&db, &options)?;
            tracing::info!(db = %db.display(), "replaying events into the projections");
            let (read_model, summary) = ReadModel::rebuild(&store)?;
            tracing::info!(
                events = summary.events,
                cohorts = summary.cohorts,
                seconds = format!("{:.3}", summary.elapsed.as_secs_f64()),
                events_per_second = format!("{:.0}", summary.rate()),
                "replay done"
            );
            Ok::<_, anyhow::Error>((Arc::new(store), Arc::new(read_model)))
        })
        .await
        .context("startup task failed")??;
        let (handle, writer) = writer::spawn(
            store.clone(),
            read_model.clone(),
            config.clock.clone(),
            config.writer.clone(),
        )
        .context("cannot start the writer thread")?;
        let state = AppState {
            store,
            read: read_model,
            writer: handle,
            clock: config.clock.clone(),
        };
        Ok(Self { state, writer })
    }
}

/// A bound, ready-to-serve rollbook.
pub struct Application {
    listener: TcpListener,
    core: Core,
}

impl Application {
    /// Opens and replays the database, starts the writer and binds the listener. The server
    /// accepts requests only once this returns, so it never answers from a partial replay.
    pub async fn build(config: &AppConfig) -> anyhow::Result<Self> {
        let core = Core::open(config).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        Ok(Self { listener, core })
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
        let Self { listener, core } = self;
        let Core { state, writer } = core;
        let router = web::router(state);
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("server failed")?;
        // Every handle to the writer was dropped with the router: it drains and stops.
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .context("writer join failed")?;
        tracing::info!("stopped");
        Ok(())
    }
}
