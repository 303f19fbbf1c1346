//! Running the subcommands that [`crate::config`] parses: `serve` starts the server; the others
//! work on a database file directly, so they run while the server is stopped (a running server
//! holds the file, and they say so), except `backup --server`, which asks the running server
//! over HTTP. What they print is their own output (standard output), apart from the logs.
//!
//! Those that change the file hold an [`OfflineStore`] (the file opened exclusively), never the
//! server's store; those that only read open it read-only ([`crate::store::verify`], `export`).

use std::io::{BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};

use crate::app::{AppConfig, Application};
use crate::auth::{Auth, Passwords};
use crate::clock::SystemClock;
use crate::config::{LearnerCommand, ServeArgs, TokenCommand, UserCommand};
use crate::learner_key::LearnerKey;
use crate::store::{Actor, ErasureError, ErasureRecord, OfflineStore, StoreOptions};

/// Runs `rollbook serve`: checks the flags (the time zone among them), seeds the demo term
/// if asked, then serves until Ctrl-C or SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let shutdown = shutdown_signal().context("cannot listen for Ctrl-C and SIGTERM")?;
    let config = AppConfig::try_from(&args)?;
    let mut demo_staff = Vec::new();
    if args.demo {
        let db = args.db.clone();
        let end = Timestamp::from_second(Timestamp::now().as_second())?;
        let (summary, actors) = tokio::task::spawn_blocking(move || {
            let summary = crate::demo::seed(&db, end)?;
            Ok::<_, anyhow::Error>((summary, crate::demo::actors(&db)?))
        })
        .await??;
        demo_staff = actors;
        tracing::info!(
            events = summary.events,
            cohorts = summary.cohorts,
            learners = summary.learners,
            "seeded the demo term"
        );
    }
    let app = Application::build(&config).await?;
    if !demo_staff.is_empty() {
        let auth = app.auth();
        let created =
            tokio::task::spawn_blocking(move || crate::demo::create_accounts(&auth, &demo_staff))
                .await??;
        println!(
            "\nDemo: the staff the history names have accounts: {}. They are disabled and have no \
             usable password; an admin enables one and sets its password on the Admin page.",
            created.join(", ")
        );
    }
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

/// Runs a subcommand that works on files on the blocking pool (its I/O blocks).
pub async fn blocking(
    run: impl FnOnce() -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(run).await?
}

/// The accounts of a file no server holds.
fn open(db: &Path) -> anyhow::Result<Auth> {
    let store = OfflineStore::open(db, &StoreOptions::default())
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
                let last = a
                    .last_login
                    .map_or_else(|| "never".to_owned(), crate::domain::utc_minute);
                let created = crate::domain::utc_minute(a.created_at);
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

/// Runs `rollbook learner …`.
pub fn learner(db: &Path, command: LearnerCommand) -> anyhow::Result<()> {
    match command {
        LearnerCommand::Erase { key, yes } => {
            let key = LearnerKey::parse(&key).map_err(|e| anyhow::anyhow!("{key:?}: {e}"))?;
            anyhow::ensure!(
                db.exists(),
                "{} does not exist; name the database with --db",
                db.display()
            );
            if !yes {
                anyhow::ensure!(
                    std::io::stdin().is_terminal(),
                    "erasing cannot be undone: confirm with --yes"
                );
                eprint!(
                    "Erase the personal data of {key} from {}? This cannot be undone. Type the key \
                     again to confirm: ",
                    db.display()
                );
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                anyhow::ensure!(
                    answer.trim().to_lowercase() == key.as_str(),
                    "not confirmed; nothing was erased"
                );
            }
            let store = OfflineStore::open(db, &StoreOptions::default())?;
            let record = ErasureRecord {
                erased_at: Timestamp::now(),
                actor: Actor {
                    id: uuid::Uuid::nil(),
                    name: format!("{} (command line)", whoami()),
                },
            };
            // The very steps the server's writer takes.
            let erased = match store.erase_learner(key.as_str(), &record) {
                Ok(erased) => erased,
                Err(ErasureError::Erase(e)) => return Err(e.into()),
                Err(ErasureError::Rewrite(e)) => {
                    return Err(anyhow::Error::new(e).context(
                        "the erasure is stored, but the file could not be rewritten; run the \
                         command again",
                    ));
                }
            };
            let Some(erased) = erased else {
                anyhow::bail!("no learner has the key {key} (never enrolled, or already erased)");
            };
            println!(
                "erased {key}: the history keeps the opaque id {}; {} reasons replaced by their hash; \
                 {} rewritten without the old bytes. Backups made before now still hold them.",
                erased.learner,
                erased.events_rewritten,
                db.display()
            );
            Ok(())
        }
    }
}

/// The operating-system user running the command, for the erasure record.
fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operator".to_owned())
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
                let created = crate::domain::utc_minute(t.created_at);
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

/// Runs `rollbook scan`: one JSON line for the benchmark suite.
#[allow(
    clippy::cast_precision_loss,
    reason = "a rate for a report; 2^52 events is far off"
)]
pub fn scan(db: &Path, decode: bool) -> anyhow::Result<()> {
    let summary =
        crate::store::scan(db, decode).with_context(|| format!("cannot scan {}", db.display()))?;
    let seconds = summary.elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        summary.events as f64 / seconds
    } else {
        0.0
    };
    println!(
        "{}",
        serde_json::json!({
            "events": summary.events,
            "bytes": summary.bytes,
            "seconds": seconds,
            "events_per_second": rate.round(),
            "decode": decode,
        })
    );
    Ok(())
}

/// A progress bar on standard error (drawn only on a terminal).
fn progress_bar(template: &str) -> anyhow::Result<indicatif::ProgressBar> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    Ok(bar)
}

/// Runs `rollbook export`: to `--out` (written beside it, then renamed) or standard output.
pub fn export(db: &Path, out: Option<&Path>) -> anyhow::Result<()> {
    let bar = progress_bar("exporting [{bar:40}] {human_pos}/{human_len} events  eta {eta}")?;
    let progress = |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let summary = match out {
        None => {
            let stdout = std::io::stdout().lock();
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, stdout);
            crate::transfer::export(db, &mut writer, Path::new("standard output"), progress)
        }
        Some(out) => {
            // The name is claimed first, exclusively and owner-only: an existing file or a
            // symbolic link there is refused, never overwritten or followed.
            if let Err(e) = crate::private_file::create_new(out) {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    bail!(
                        "{} already exists (or is a symbolic link); choose another file",
                        out.display()
                    );
                }
                return Err(e).with_context(|| format!("cannot write {}", out.display()));
            }
            let name = out
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let partial = out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
            let summary = crate::private_file::create_temporary(&partial)
                .map_err(|source| crate::transfer::TransferError::Io {
                    path: partial.clone(),
                    source,
                })
                .and_then(|file| {
                    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
                    let summary = crate::transfer::export(db, &mut writer, out, progress)?;
                    let file =
                        writer
                            .into_inner()
                            .map_err(|e| crate::transfer::TransferError::Io {
                                path: out.to_owned(),
                                source: e.into_error(),
                            })?;
                    // Over the claimed file: a rename never follows a symbolic link.
                    file.sync_all()
                        .and_then(|()| std::fs::rename(&partial, out))
                        .map_err(|source| crate::transfer::TransferError::Io {
                            path: out.to_owned(),
                            source,
                        })?;
                    Ok(summary)
                });
            if summary.is_err() {
                let _ = std::fs::remove_file(&partial);
                let _ = std::fs::remove_file(out);
            }
            summary
        }
    };
    bar.finish_and_clear();
    let summary = summary.with_context(|| format!("cannot export {}", db.display()))?;
    eprintln!(
        "exported {} events ({} learners) from {} in {:.2} s{}",
        summary.events,
        summary.learners,
        db.display(),
        summary.elapsed.as_secs_f64(),
        out.map_or_else(String::new, |o| format!(" to {}", o.display()))
    );
    Ok(())
}

/// Runs `rollbook import`.
pub fn import(file: &Path, db: &Path) -> anyhow::Result<()> {
    let bar = progress_bar("importing [{bar:40}] {bytes}/{total_bytes}  eta {eta}")?;
    let summary = crate::transfer::import(file, db, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let summary = summary
        .with_context(|| format!("cannot import {} into {}", file.display(), db.display()))?;
    eprintln!(
        "imported {} events ({} learners) into {} in {:.2} s; it verified end to end. Create \
         accounts with `rollbook user add` (or start the server to get an admin).",
        summary.events,
        summary.learners,
        db.display(),
        summary.elapsed.as_secs_f64()
    );
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

/// Runs `rollbook backup`: through the server when one is named, else from the file.
pub async fn backup(
    db: PathBuf,
    out: PathBuf,
    server: Option<String>,
    token: Option<String>,
) -> anyhow::Result<()> {
    let manifest = if let Some(server) = server {
        let token =
            token.context("--server needs an admin API token: --token or ROLLBOOK_TOKEN")?;
        let name = out
            .to_str()
            .ok_or(crate::backup::BadName::Empty)
            .and_then(crate::backup::BackupName::parse)
            .map_err(|e| {
                anyhow::anyhow!(
                    "with --server, --out is the backup's file name in the server's backup \
                     folder (its --backup-dir), e.g. --out nightly.redb: {e}"
                )
            })?;
        request_backup(&server, &token, &name).await?
    } else {
        tokio::task::spawn_blocking(move || backup_file(&db, &out)).await??
    };
    println!(
        "backup {} written and verified: up to event {}, chain head {}, SHA-256 {}; manifest {}",
        manifest.file.display(),
        manifest.position,
        if manifest.chain_head.is_empty() {
            "none"
        } else {
            &manifest.chain_head
        },
        manifest.sha256,
        crate::backup::manifest_path(&manifest.file).display()
    );
    Ok(())
}

/// A backup straight from a database file no server holds.
fn backup_file(db: &Path, out: &Path) -> anyhow::Result<crate::backup::Manifest> {
    let store = match OfflineStore::open(db, &StoreOptions::default()) {
        Ok(store) => store,
        Err(e @ crate::store::StoreError::InUse { .. }) => {
            bail!(
                "{e}; back up through it instead: rollbook backup --out FILE --server URL --token TOKEN"
            )
        }
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", db.display())),
    };
    let out = std::path::absolute(out).with_context(|| format!("bad path {}", out.display()))?;
    let bar = progress_bar("verifying the backup [{bar:40}] {human_pos}/{human_len} events")?;
    let manifest =
        crate::backup::backup_reporting(&store, &out, jiff::Timestamp::now(), |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        });
    bar.finish_and_clear();
    Ok(manifest?)
}

/// Asks a running server for a backup named `name` (`POST /api/v1/admin/backups` with an admin's
/// token) and returns its manifest. Plain http only, to the operator's own machine or network
/// (a TLS proxy's local address otherwise): the client is built without a TLS stack, and
/// without proxies from the environment, so the request goes straight to `server`.
async fn request_backup(
    server: &str,
    token: &str,
    name: &crate::backup::BackupName,
) -> anyhow::Result<crate::backup::Manifest> {
    let base = server.trim_end_matches('/');
    anyhow::ensure!(
        base.starts_with("http://"),
        "--server must be an http:// address (put a TLS proxy's local address here)"
    );
    let client = reqwest::Client::builder()
        .no_proxy()
        // A large database takes a while to copy and verify before the answer comes.
        .read_timeout(Duration::from_secs(3600))
        .build()
        .context("cannot set up the HTTP client")?;
    let response = client
        .post(format!("{base}/api/v1/admin/backups"))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": name.as_str()}))
        .send()
        .await
        .with_context(|| format!("cannot reach {server}"))?;
    let status = response.status();
    let answer = response
        .text()
        .await
        .context("the server closed the connection")?;
    if status != reqwest::StatusCode::CREATED {
        let message = serde_json::from_str::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(answer);
        bail!(
            "the server refused the backup ({}): {message}",
            status.as_u16()
        );
    }
    serde_json::from_str(&answer).context("the server's answer is not a backup manifest")
}

/// Runs `rollbook restore`.
pub fn restore(from: &Path, db: &Path) -> anyhow::Result<()> {
    let replaced = crate::backup::restore(from, db, jiff::Timestamp::now())?;
    match replaced {
        Some(aside) => println!(
            "restored {} from {}; the replaced file is kept as {}",
            db.display(),
            from.display(),
            aside.display()
        ),
        None => println!("restored {} from {}", db.display(), from.display()),
    }
    Ok(())
}
