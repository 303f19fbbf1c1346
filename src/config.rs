//! The command line: parsed once into typed settings (flags, or environment variables).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// rollbook: the enrollment history of live learning cohorts, as an event-sourced ledger.
#[derive(Debug, Parser)]
#[command(name = "rollbook", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open (or create) the database, replay it, and serve the web UI and JSON API.
    Serve(ServeArgs),
}

/// Settings of `rollbook serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The database file; created when missing.
    #[arg(long, env = "ROLLBOOK_DB", default_value = "rollbook.redb")]
    pub db: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "ROLLBOOK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Keep a snapshot of a cohort every N events of its stream (0 disables snapshots).
    #[arg(long, env = "ROLLBOOK_SNAPSHOT_EVERY", default_value_t = 100)]
    pub snapshot_every: u64,
}
