//! The `rollbook` binary: parse the command line, set up logging, run the subcommand, and turn
//! its outcome into the exit status. The flags are [`rollbook::config`]'s; what each subcommand
//! does is [`rollbook::cli`]'s.

use std::process::ExitCode;

use clap::Parser as _;
use rollbook::cli::{self, blocking};
use rollbook::config::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    rollbook::logs::init(cli.log_format);
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => cli::serve(args).await,
        Command::Backup {
            db,
            out,
            server,
            token,
        } => cli::backup(db.db, out, server, token).await,
        Command::Restore { from, db } => blocking(move || cli::restore(&from, &db.db)).await,
        Command::Scan { db, decode } => blocking(move || cli::scan(&db.db, decode)).await,
        Command::Generate(args) => blocking(move || rollbook::generate::run(&args)).await,
        Command::Export { db, out } => blocking(move || cli::export(&db.db, out.as_deref())).await,
        Command::Import { file, db } => blocking(move || cli::import(&file, &db)).await,
        Command::Verify { db } => blocking(move || cli::verify(&db.db)).await,
        Command::User { db, command } => blocking(move || cli::user(&db.db, command)).await,
        Command::Learner { db, command } => blocking(move || cli::learner(&db.db, command)).await,
        Command::Token { db, command } => blocking(move || cli::token(&db.db, command)).await,
    }
}
