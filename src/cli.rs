//! The account and token subcommands: they open the database file directly, so they run while
//! the server is stopped (a running server holds the file, and they say so).

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use jiff::SignedDuration;

use crate::auth::{Auth, Passwords};
use crate::clock::SystemClock;
use crate::config::{TokenCommand, UserCommand};
use crate::store::{Store, StoreOptions};

fn open(db: &Path) -> anyhow::Result<Auth> {
    let store = Store::open(db, &StoreOptions::default())
        .with_context(|| format!("cannot open {}", db.display()))?;
    Ok(Auth::load(
        Arc::new(store),
        Passwords::owasp(),
        Arc::new(SystemClock),
        SignedDuration::from_hours(12),
    )?)
}

/// Reads a new password: one line of standard input, or asked twice on the terminal.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to ask for the password on: pass it on standard input with --password-stdin"
        );
    }
    let first = rpassword::prompt_password("New password: ")?;
    let second = rpassword::prompt_password("Again: ")?;
    if first != second {
        bail!("the passwords do not match; nothing was changed");
    }
    Ok(first)
}

/// Runs `rollbook user …`.
pub fn user(db: &Path, command: UserCommand) -> anyhow::Result<()> {
    let auth = open(db)?;
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            auth.create_account(&name, role, &password)?;
            println!("created account {} ({role})", name.trim().to_lowercase());
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            auth.set_password(&name, &password)?;
            println!("password changed; the account's sessions were ended");
        }
        UserCommand::List => {
            println!(
                "{:<24} {:<8} {:<9} {:<22} last login",
                "name", "role", "status", "created"
            );
            for a in auth.accounts() {
                let status = if a.disabled { "disabled" } else { "active" };
                let last = a.last_login.map_or_else(
                    || "never".to_owned(),
                    |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                );
                let created = a.created_at.strftime("%Y-%m-%d %H:%M UTC").to_string();
                println!(
                    "{:<24} {:<8} {:<9} {:<22} {last}",
                    a.name,
                    a.role.as_str(),
                    status,
                    created
                );
            }
        }
        UserCommand::Disable { name } => {
            auth.set_disabled(&name, true)?;
            println!(
                "disabled {}; its sessions ended and its tokens stopped working",
                name.trim().to_lowercase()
            );
        }
    }
    Ok(())
}

/// Runs `rollbook token …`.
pub fn token(db: &Path, command: TokenCommand) -> anyhow::Result<()> {
    let auth = open(db)?;
    match command {
        TokenCommand::Create { name, label } => {
            let (id, secret) = auth.create_token(&name, &label)?;
            println!("{secret}");
            eprintln!(
                "token {id} acts as {}; it is shown only now: store it safely",
                name.trim().to_lowercase()
            );
        }
        TokenCommand::List => {
            println!("{:<36} {:<24} {:<22} label", "id", "account", "created");
            for t in auth.tokens() {
                let created = t.created_at.strftime("%Y-%m-%d %H:%M UTC").to_string();
                println!("{:<36} {:<24} {:<22} {}", t.id, t.account, created, t.label);
            }
        }
        TokenCommand::Revoke { id } => {
            auth.revoke_token(&id)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// Runs `rollbook verify`: a progress line on a terminal, a summary on success.
pub fn verify(db: &Path) -> anyhow::Result<()> {
    let terminal = std::io::stderr().is_terminal();
    let report = crate::store::verify(db, |done, total| {
        if terminal {
            eprint!("\rverifying {}: {done} of {total} events", db.display());
        }
    });
    if terminal {
        eprintln!();
    }
    let report = report.with_context(|| format!("{} failed verification", db.display()))?;
    let head = report.chain_head.map_or_else(
        || "none (no events)".to_owned(),
        |(position, hash)| {
            format!(
                "{} at position {position}",
                crate::store::chain::show(&hash)
            )
        },
    );
    println!(
        "{}: OK — {} events, {} cohorts, {} snapshots checked; chain head {head}; {:.2} s",
        db.display(),
        report.events,
        report.cohorts,
        report.snapshots,
        report.elapsed.as_secs_f64()
    );
    Ok(())
}
