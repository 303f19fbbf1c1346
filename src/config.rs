//! The command line and the typed settings it produces: the clap types (flags, or environment
//! variables), parsed once, and the conversion of `serve`'s flags into the [`AppConfig`] the
//! server starts with. Running the subcommands is [`crate::cli`]'s business.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use jiff::SignedDuration;

use crate::app::AppConfig;
use crate::auth::Role;
use crate::logs::LogFormat;
use crate::web::{AllowList, IpRange};

/// rollbook: the enrollment history of live learning cohorts, as an event-sourced ledger.
#[derive(Debug, Parser)]
#[command(name = "rollbook", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log lines on standard error as `text` (coloured on a terminal) or `json` (one object
    /// per line, for log collectors).
    #[arg(
        long,
        env = "ROLLBOOK_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once at startup; boxing `serve`'s flags would buy nothing"
)]
pub enum Command {
    /// Open (or create) the database, replay it, and serve the web UI and JSON API.
    Serve(ServeArgs),
    /// Check a database or a backup end to end: redb integrity, every event, the hash chain,
    /// versions, snapshots, invariants and the learner directory. Exits non-zero on the first
    /// problem.
    Verify {
        /// The database (or backup) file.
        #[command(flatten)]
        db: DbArg,
    },
    /// Write a verified, consistent backup: through the running server (`--server`, `--token`),
    /// or straight from the database file when no server holds it.
    Backup {
        /// The database (when no server runs).
        #[command(flatten)]
        db: DbArg,
        /// The backup file to write (must not exist; never written through a symbolic link).
        /// With `--server`, a file name (no path) in the server's backup folder (`--backup-dir`).
        #[arg(long)]
        out: PathBuf,
        /// The running server, e.g. `http://127.0.0.1:8080`.
        #[arg(long, env = "ROLLBOOK_SERVER")]
        server: Option<String>,
        /// An admin's API token, for `--server`.
        #[arg(long, env = "ROLLBOOK_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Replace a database with a backup, after verifying the backup. The replaced file is kept
    /// beside it. Refuses while a server holds the database.
    Restore {
        /// The backup to restore.
        #[arg(long)]
        from: PathBuf,
        /// The database to replace.
        #[command(flatten)]
        db: DbArg,
    },
    /// For benchmarks: read every event of a database, read-only, and print one JSON line
    /// with the count and rate. Without `--decode` the bytes are only touched, not decoded.
    #[command(hide = true)]
    Scan {
        /// The database file.
        #[command(flatten)]
        db: DbArg,
        /// Decode every event too.
        #[arg(long)]
        decode: bool,
    },
    /// Write a realistic synthetic history into a new database, for benchmarks and demos:
    /// cohorts, enrollments, waitlists, withdrawals, capacity changes and closings over the 12
    /// weeks ending at `--end`, through the real writer. The same seed, flags and `--end` give
    /// the same history. Refuses a database that already holds events.
    Generate(GenerateArgs),
    /// Write every event as JSON Lines (envelope and data, learners as their key and name, an
    /// erased learner as their opaque id), in the current event schema, with a progress bar on a
    /// terminal. Reads the file without changing it, so the server must be stopped: export a
    /// backup of a running server instead.
    Export {
        /// The database (or backup) to export.
        #[command(flatten)]
        db: DbArg,
        /// The file to write (must not exist); standard output without it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load an export into a new database: every event with its original position, ids and
    /// times, checked end to end before the file appears. Accounts are not part of an export.
    Import {
        /// The export (JSON Lines) to load.
        file: PathBuf,
        /// The new database to create (must not exist).
        #[arg(long, env = "ROLLBOOK_DB")]
        db: PathBuf,
    },
    /// Manage staff accounts (while the server is stopped).
    User {
        /// The database.
        #[command(flatten)]
        db: DbArg,
        /// What to do.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage learners' personal data (while the server is stopped; admins can also erase from
    /// the Admin page of a running server).
    Learner {
        /// The database.
        #[command(flatten)]
        db: DbArg,
        /// What to do.
        #[command(subcommand)]
        command: LearnerCommand,
    },
    /// Manage API tokens (while the server is stopped).
    Token {
        /// The database.
        #[command(flatten)]
        db: DbArg,
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// The database file, for commands that work on it directly.
#[derive(Debug, Clone, Args)]
pub struct DbArg {
    /// The database file.
    #[arg(
        long,
        env = "ROLLBOOK_DB",
        default_value = "rollbook.redb",
        global = true
    )]
    pub db: PathBuf,
}

/// `rollbook user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is asked for (or read from standard input).
    Add {
        /// Login name (letters, digits, dots, dashes, underscores).
        name: String,
        /// admin, staff or viewer.
        #[arg(long)]
        role: Role,
        /// Read the password from standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password (ends its sessions).
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Disable an account: it can no longer log in, and its sessions and tokens stop working.
    Disable {
        /// Login name.
        name: String,
    },
}

/// `rollbook learner …`
#[derive(Debug, Subcommand)]
pub enum LearnerCommand {
    /// Erase a learner's personal data (right to erasure): their key and name leave the
    /// directory, the withdrawal and waitlist reasons of their events are replaced by their
    /// hash, and an erasure record (who, when; no personal data) is kept. The history keeps the
    /// opaque id, and the hash chain still verifies. The file is then rewritten without the old
    /// bytes. Backups made earlier still hold them: rotate them out.
    Erase {
        /// The learner's key (email or student number).
        key: String,
        /// Do not ask for confirmation (required when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

/// `rollbook token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token acting as an account; it is printed once and only its hash is kept.
    Create {
        /// The account it acts as.
        name: String,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id: it stops working at once.
    Revoke {
        /// The token's id (from `token list`).
        id: String,
    },
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
    /// The address people use to reach rollbook (e.g. `https://rollbook.example.org`). With
    /// https, session cookies are marked Secure; form posts must come from this origin; offer
    /// links (accept / decline without an account) are made under it, and only with it.
    #[arg(long, env = "ROLLBOOK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Log out sessions idle for this many hours.
    #[arg(long, env = "ROLLBOOK_SESSION_IDLE_HOURS", default_value_t = 12)]
    pub session_idle_hours: u32,
    /// Keep a snapshot of a cohort every N events of its stream (0 disables snapshots).
    #[arg(long, env = "ROLLBOOK_SNAPSHOT_EVERY", default_value_t = 100)]
    pub snapshot_every: u64,
    /// Write a verified backup into this directory on a schedule.
    #[arg(long, env = "ROLLBOOK_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// How often to back up, e.g. `6h`, `30m`, `1d`.
    #[arg(long, env = "ROLLBOOK_BACKUP_EVERY", default_value = "6h")]
    pub backup_every: String,
    /// How many scheduled backups to keep.
    #[arg(long, env = "ROLLBOOK_BACKUP_KEEP", default_value_t = 14)]
    pub backup_keep: usize,
    /// Keep refused commands in the journal for this many days.
    #[arg(long, env = "ROLLBOOK_JOURNAL_RETENTION_DAYS", default_value_t = 365)]
    pub journal_retention_days: u32,
    /// The time zone pages show times in and read form times in: an IANA name such as
    /// `Europe/Lisbon`, or `UTC`. Reports by ISO week stay in UTC.
    #[arg(long, env = "ROLLBOOK_TIMEZONE", default_value = "UTC")]
    pub timezone: String,
    /// First seed an empty database with a demo term (about 40 cohorts and 500 learners over
    /// the past 12 weeks, through the real rules); refused when the database holds events.
    #[arg(long, env = "ROLLBOOK_DEMO")]
    pub demo: bool,
    /// Addresses that may read `/metrics` without signing in (admins always may): IP addresses
    /// or CIDR ranges, comma-separated, e.g. `127.0.0.1,10.0.0.0/8`. The connection's own peer
    /// address is checked: behind a reverse proxy, never list the proxy's address.
    #[arg(long, env = "ROLLBOOK_METRICS_ALLOW", value_delimiter = ',')]
    pub metrics_allow: Vec<IpRange>,
    /// The most connections one client address may hold at once (IPv6: per /64); a connection
    /// beyond it is closed at once. Behind a reverse proxy every connection comes from the
    /// proxy: raise it to the global cap (1024).
    #[arg(
        long,
        env = "ROLLBOOK_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_connections_per_address: u32,
    /// Host names (besides localhost, the listen address and `--public-url`'s host) that
    /// requests may name in their `Host` header, comma-separated, e.g.
    /// `rollbook.lan,rollbook.example.org:8443`; without a port any port matches. `*` accepts
    /// any host (no protection against DNS rebinding).
    #[arg(long, env = "ROLLBOOK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// The most live-feed streams (`GET /api/v1/events/stream`) open at once; one more is
    /// refused with 503 `too_many_streams`.
    #[arg(
        long,
        env = "ROLLBOOK_MAX_STREAMS",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_streams: u32,
    /// Let webhooks reach loopback, link-local and other private addresses (refused by
    /// default: a webhook URL must not become a way into the server's own network).
    #[arg(long, env = "ROLLBOOK_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// Pause a webhook subscription that has failed for this long, e.g. `24h`, `30m`.
    #[arg(long, env = "ROLLBOOK_WEBHOOK_PAUSE_AFTER", default_value = "24h")]
    pub webhook_pause_after: String,
    /// A PEM file of certificate authorities to trust for https webhook receivers besides the
    /// system's (for receivers behind a private CA).
    #[arg(long, env = "ROLLBOOK_WEBHOOK_CA_FILE")]
    pub webhook_ca_file: Option<PathBuf>,
    /// Send learners e-mail through this SMTP server (off without it), e.g.
    /// `smtp://127.0.0.1:2525`, `smtp://mail.example.org?tls=required` (STARTTLS) or
    /// `smtps://user:password@mail.example.org` (TLS). Credentials in it are never shown.
    #[arg(long, env = "ROLLBOOK_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of learner e-mail, e.g. `"Rollbook <noreply@example.org>"` (needed with
    /// `--smtp-url`).
    #[arg(long, env = "ROLLBOOK_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Where learners' answers to e-mail go, when not to the sender.
    #[arg(long, env = "ROLLBOOK_MAIL_REPLY_TO")]
    pub mail_reply_to: Option<String>,
    /// For benchmarks only: commit each command on its own instead of grouping concurrent
    /// commands into one commit (the baseline group commit is measured against).
    #[arg(long, hide = true)]
    pub commit_per_command: bool,
}

/// A `serve` flag whose value cannot be used, found before anything is opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `--backup-every` is not a period.
    #[error("--backup-every {value:?}: use e.g. 6h, 30m or 1d")]
    BackupEvery {
        /// What was given.
        value: String,
        /// Why it is not a period.
        #[source]
        source: jiff::Error,
    },
    /// `--backup-every` is under a minute.
    #[error("--backup-every must be at least 1m")]
    BackupEveryTooShort,
    /// `--webhook-pause-after` is not a period.
    #[error("--webhook-pause-after {value:?}: use e.g. 24h, 30m or 1d")]
    WebhookPauseAfter {
        /// What was given.
        value: String,
        /// Why it is not a period.
        #[source]
        source: jiff::Error,
    },
    /// `--timezone` names no known zone.
    #[error(transparent)]
    TimeZone(#[from] crate::web::UnknownZone),
    /// `--webhook-ca-file` cannot be read or holds no certificate.
    #[error(transparent)]
    WebhookCaFile(#[from] crate::webhooks::client::ClientError),
    /// `--public-url` is not an absolute http(s) address links can be made from.
    #[error(transparent)]
    PublicUrl(#[from] crate::offer_links::PublicUrlError),
    /// A mail flag cannot be used.
    #[error(transparent)]
    Mail(#[from] crate::mail::MailConfigError),
}

impl TryFrom<&ServeArgs> for AppConfig {
    type Error = ConfigError;

    /// The server's settings from `serve`'s flags; the defaults of [`AppConfig::new`] stay for
    /// what no flag sets. (`--demo` acts before the server starts: see
    /// [`crate::cli::serve`].)
    fn try_from(args: &ServeArgs) -> Result<Self, ConfigError> {
        let mut config = AppConfig::new(args.db.clone(), args.listen);
        config.writer.snapshot_every = args.snapshot_every;
        if args.commit_per_command {
            config.writer.max_batch = 1;
        }
        config.writer.journal_retention =
            SignedDuration::from_hours(24 * i64::from(args.journal_retention_days.max(1)));
        config.public_url = args
            .public_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
            .map(crate::offer_links::public_base)
            .transpose()?;
        config.metrics_allow = AllowList::new(args.metrics_allow.clone());
        config.max_connections_per_address = args.max_connections_per_address as usize;
        config.live_feed.max_streams = args.max_streams as usize;
        config.allowed_hosts.clone_from(&args.allowed_hosts);
        config.webhooks.allow_private = args.webhook_allow_private;
        config.webhooks.pause_after =
            args.webhook_pause_after
                .parse()
                .map_err(|source| ConfigError::WebhookPauseAfter {
                    value: args.webhook_pause_after.clone(),
                    source,
                })?;
        if let Some(path) = &args.webhook_ca_file {
            // Read now, so a bad file stops the start before anything is opened.
            crate::webhooks::client::read_ca_file(path)?;
            config.webhooks.ca_file = Some(path.clone());
        }
        if let Some(dir) = &args.backup_dir {
            let every: SignedDuration =
                args.backup_every
                    .parse()
                    .map_err(|source| ConfigError::BackupEvery {
                        value: args.backup_every.clone(),
                        source,
                    })?;
            if every < SignedDuration::from_mins(1) {
                return Err(ConfigError::BackupEveryTooShort);
            }
            config.backup = Some(crate::backup::Schedule {
                dir: dir.clone(),
                every,
                keep: args.backup_keep,
            });
        }
        config.session_idle = SignedDuration::from_hours(i64::from(args.session_idle_hours.max(1)));
        config.zone = crate::web::Zone::parse(&args.timezone)?;
        config.mail = crate::mail::MailConfig::from_flags(
            args.smtp_url.as_deref(),
            args.mail_from.as_deref(),
            args.mail_reply_to.as_deref(),
        )?;
        Ok(config)
    }
}

/// Settings of `rollbook generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// The database file to create (or an empty one); refused when it holds events.
    #[arg(long, env = "ROLLBOOK_DB")]
    pub db: PathBuf,
    /// Cohorts to create (courses: about one per 20, instructors: one per 50).
    #[arg(long, env = "ROLLBOOK_GENERATE_COHORTS", default_value_t = 1000)]
    pub cohorts: u32,
    /// Size of the learner pool enrollments draw from.
    #[arg(long, env = "ROLLBOOK_GENERATE_LEARNERS", default_value_t = 20_000)]
    pub learners: u32,
    /// Events to write; the result is within one batch of it (the exact count is printed).
    #[arg(long, env = "ROLLBOOK_GENERATE_EVENTS", default_value_t = 100_000)]
    pub events: u64,
    /// Seed of every random choice.
    #[arg(long, env = "ROLLBOOK_GENERATE_SEED", default_value_t = 1)]
    pub seed: u64,
    /// When the history ends (RFC 3339, e.g. `2026-03-01T09:00:00Z`); it starts 12 weeks
    /// earlier. Default: now, to the second (printed, to repeat the run).
    #[arg(long, env = "ROLLBOOK_GENERATE_END")]
    pub end: Option<jiff::Timestamp>,
    /// Also print one JSON line with the figures on standard output (the human summary then goes
    /// to standard error).
    #[arg(long)]
    pub json: bool,
    /// Commands per writer batch (for tuning; changes the history's timing).
    #[arg(long, hide = true)]
    pub batch: Option<usize>,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn serve_args(flags: &[&str]) -> ServeArgs {
        let command_line = ["rollbook", "serve"].iter().chain(flags);
        match Cli::try_parse_from(command_line).unwrap().command {
            Command::Serve(args) => args,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn serve_flags_become_the_app_config() {
        let config = AppConfig::try_from(&serve_args(&[
            "--commit-per-command",
            "--snapshot-every",
            "7",
            "--journal-retention-days",
            "0",
            "--session-idle-hours",
            "0",
            "--backup-dir",
            "/backups",
            "--backup-every",
            "30m",
            "--backup-keep",
            "3",
            "--max-connections-per-address",
            "5",
            "--max-streams",
            "7",
            "--allowed-hosts",
            "rollbook.lan,example.org:8443",
            "--public-url",
            "https://rollbook.example.org",
        ]))
        .unwrap();
        assert_eq!(config.writer.max_batch, 1);
        assert_eq!(config.writer.snapshot_every, 7);
        // Zero is read as the least that makes sense: one day, one hour.
        assert_eq!(
            config.writer.journal_retention,
            SignedDuration::from_hours(24)
        );
        assert_eq!(config.session_idle, SignedDuration::from_hours(1));
        let backup = config.backup.unwrap();
        assert_eq!(backup.dir, PathBuf::from("/backups"));
        assert_eq!(backup.every, SignedDuration::from_mins(30));
        assert_eq!(backup.keep, 3);
        assert_eq!(config.max_connections_per_address, 5);
        assert_eq!(config.live_feed.max_streams, 7);
        assert_eq!(config.allowed_hosts, ["rollbook.lan", "example.org:8443"]);
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://rollbook.example.org")
        );
    }

    #[test]
    fn the_public_url_is_checked_at_startup() {
        let trimmed = AppConfig::try_from(&serve_args(&[
            "--public-url",
            "https://rollbook.example.org/",
        ]))
        .unwrap();
        assert_eq!(
            trimmed.public_url.as_deref(),
            Some("https://rollbook.example.org")
        );
        for bad in [
            "rollbook.example.org",
            "https://x.org/?a=1",
            "https://u@x.org",
        ] {
            let error = AppConfig::try_from(&serve_args(&["--public-url", bad]))
                .err()
                .unwrap();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("--public-url {bad:?}: ")),
                "{error}"
            );
        }
    }

    #[test]
    fn the_backup_period_is_checked_when_backups_are_on() {
        let defaults = AppConfig::try_from(&serve_args(&["--backup-every", "banana"])).unwrap();
        assert!(defaults.backup.is_none());
        assert!(defaults.writer.max_batch > 1);
        for (every, message) in [
            (
                "banana",
                "--backup-every \"banana\": use e.g. 6h, 30m or 1d",
            ),
            ("59s", "--backup-every must be at least 1m"),
        ] {
            let error = AppConfig::try_from(&serve_args(&[
                "--backup-dir",
                "/backups",
                "--backup-every",
                every,
            ]))
            .err()
            .unwrap();
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn the_time_zone_is_parsed_with_the_flags() {
        let zoned = AppConfig::try_from(&serve_args(&["--timezone", "Europe/Lisbon"])).unwrap();
        assert_eq!(zoned.zone.name(), "Europe/Lisbon");
        assert_eq!(
            AppConfig::try_from(&serve_args(&[])).unwrap().zone.name(),
            "UTC"
        );
        let error = AppConfig::try_from(&serve_args(&["--timezone", "Mars/Olympus_Mons"]))
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "unknown time zone \"Mars/Olympus_Mons\": use an IANA name such as Europe/Lisbon, or UTC"
        );
    }

    #[test]
    fn a_webhook_ca_file_is_read_at_startup_and_a_bad_one_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let error = AppConfig::try_from(&serve_args(&[
            "--webhook-ca-file",
            missing.to_str().unwrap(),
        ]))
        .err()
        .unwrap();
        assert!(
            error
                .to_string()
                .starts_with(&format!("--webhook-ca-file {}: ", missing.display())),
            "{error}"
        );
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let error = AppConfig::try_from(&serve_args(&[
            "--webhook-ca-file",
            not_pem.to_str().unwrap(),
        ]))
        .err()
        .unwrap();
        assert!(
            error.to_string().contains("no certificate in it"),
            "{error}"
        );
        let defaults = AppConfig::try_from(&serve_args(&[])).unwrap();
        assert_eq!(defaults.webhooks.ca_file, None);
    }

    #[test]
    fn mail_flags_turn_mail_on_and_a_bad_one_is_a_startup_error_without_the_password() {
        let off = AppConfig::try_from(&serve_args(&[])).unwrap();
        assert!(off.mail.is_none());
        let on = AppConfig::try_from(&serve_args(&[
            "--smtp-url",
            "smtps://mailer:s3cret@mail.example.org",
            "--mail-from",
            "Rollbook <noreply@example.org>",
            "--mail-reply-to",
            "help@example.org",
        ]))
        .unwrap();
        let mail = on.mail.expect("mail on");
        assert_eq!(mail.smtp_url.shown(), "smtps://***@mail.example.org");
        assert_eq!(mail.from.email.to_string(), "noreply@example.org");
        let Err(e) = AppConfig::try_from(&serve_args(&[
            "--smtp-url",
            "imap://mailer:s3cret@mail.example.org",
            "--mail-from",
            "noreply@example.org",
        ])) else {
            panic!("an IMAP URL is refused");
        };
        let text = e.to_string();
        assert!(
            text.starts_with("--smtp-url imap://***@mail.example.org"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }
}
