//! The `rollbook` binary: parse the command line, set up logging, run.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use rollbook::app::{AppConfig, Application};
use rollbook::cli;
use rollbook::config::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    rollbook::logs::init(cli.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let shutdown = shutdown_signal().context("cannot listen for Ctrl-C and SIGTERM")?;
            rollbook::web::zone::configure(&args.timezone).map_err(anyhow::Error::msg)?;
            if args.demo {
                let db = args.db.clone();
                let end = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())?;
                let summary =
                    tokio::task::spawn_blocking(move || rollbook::demo::seed(&db, end)).await??;
                tracing::info!(
                    events = summary.events,
                    cohorts = summary.cohorts,
                    learners = summary.learners,
                    "seeded the demo term"
                );
            }
            let mut config = AppConfig::new(args.db.clone(), args.listen);
            config.writer.snapshot_every = args.snapshot_every;
            if args.commit_per_command {
                config.writer.max_batch = 1;
            }
            config.writer.journal_retention = jiff::SignedDuration::from_hours(
                24 * i64::from(args.journal_retention_days.max(1)),
            );
            config.public_url = args.public_url;
            config.metrics_allow = rollbook::web::AllowList::new(args.metrics_allow);
            config.max_connections_per_address = args.max_connections_per_address as usize;
            config.allowed_hosts = args.allowed_hosts;
            if let Some(dir) = args.backup_dir {
                let every: jiff::SignedDuration = args.backup_every.parse().with_context(|| {
                    format!(
                        "--backup-every {:?}: use e.g. 6h, 30m or 1d",
                        args.backup_every
                    )
                })?;
                anyhow::ensure!(
                    every >= jiff::SignedDuration::from_mins(1),
                    "--backup-every must be at least 1m"
                );
                config.backup = Some(rollbook::backup::Schedule {
                    dir,
                    every,
                    keep: args.backup_keep,
                });
            }
            config.session_idle =
                jiff::SignedDuration::from_hours(i64::from(args.session_idle_hours.max(1)));
            let app = Application::build(&config).await?;
            if let Some(password) = app.initial_admin_password() {
                println!(
                    "\nFirst start: created the account \"admin\" with the password\n\n    {password}\n\n\
                     It is shown only now. Log in and change it on the Admin page, or stop the server and run\n    \
                     rollbook user passwd admin --db {}\n",
                    args.db.display()
                );
            }
            tracing::info!("rollbook listening on http://{}", app.local_addr()?);
            app.run_until(shutdown).await
        }
        Command::Backup {
            db,
            out,
            server,
            token,
        } => {
            tokio::task::spawn_blocking(move || {
                cli::backup(&db.db, &out, server.as_deref(), token.as_deref())
            })
            .await?
        }
        Command::Restore { from, db } => {
            tokio::task::spawn_blocking(move || cli::restore(&from, &db.db)).await?
        }
        Command::Scan { db, decode } => {
            tokio::task::spawn_blocking(move || cli::scan(&db.db, decode)).await?
        }
        Command::Generate(args) => {
            tokio::task::spawn_blocking(move || rollbook::generate::run(&args)).await?
        }
        Command::Export { db, out } => {
            tokio::task::spawn_blocking(move || cli::export(&db.db, out.as_deref())).await?
        }
        Command::Import { file, db } => {
            tokio::task::spawn_blocking(move || cli::import(&file, &db)).await?
        }
        Command::Verify { db } => tokio::task::spawn_blocking(move || cli::verify(&db.db)).await?,
        Command::User { db, command } => {
            tokio::task::spawn_blocking(move || cli::user(&db.db, command)).await?
        }
        Command::Learner { db, command } => {
            tokio::task::spawn_blocking(move || cli::learner(&db.db, command)).await?
        }
        Command::Token { db, command } => {
            tokio::task::spawn_blocking(move || cli::token(&db.db, command)).await?
        }
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when it
/// is first awaited, so a signal during startup is not lost (nor does it kill the process
/// half-started): the server stops as soon as it is up.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!(
            "shutting down: no new connections; finishing in-flight requests and the writer's batch"
        );
    })
}
