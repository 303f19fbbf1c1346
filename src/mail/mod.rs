//! Learner e-mail over SMTP (`--smtp-url`; off without it): the messages committed events ask
//! for (enrolled, waitlisted with the place, promoted, offered with the deadline and links,
//! offer expired, withdrawn, transferred, cohort cancelled or rescheduled), and reminders of
//! offers about to lapse.
//!
//! Delivery works as webhook delivery does: one task reads the committed events after the
//! **outbox position** kept in the database ([`crate::store::MailStore`]), from the store on
//! the blocking pool, and sends each learner's message; each handled message is recorded in the
//! learner's mail log together with a mark of (event position, learner), durably, right after
//! the SMTP server accepted it, and the position passes an event once all its messages are
//! handled. So nothing is sent before its commit, and a restart sends nothing twice — except in
//! the one window no SMTP client can close: the process dying between the server's acceptance
//! and the mark's write. Such a duplicate carries the same `Message-ID` (made of the event's
//! position and the learner's id), so it can be recognised. A connection failure or a 4xx
//! answer is retried with exponential backoff and jitter ([`crate::backoff`]); a 5xx refusal is
//! logged as failed and skipped. Mail configured for the first time starts at the head: the
//! history is never mailed.
//!
//! Nothing here stores an address or a learner's name: the address is the learner's key, read
//! from the directory when the message is written; SMTP answers have it replaced before they
//! are kept. Erasing a learner removes their mail log (`store::erasure`).

mod message;
mod outbox;
mod reminder;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::domain::{CohortId, LearnerId};
use crate::projections::ReadModel;
use crate::store::{History, MailLogRecord, MailMark, MailOutcome, MailStore, StoreError};

pub use message::{MailContext, Planned, Rendered, address_of, plan};

/// The accept and decline links of an offer, for its e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferLinkPair {
    /// Opens the page that confirms taking the seat.
    pub accept: String,
    /// Opens the page that confirms declining it.
    pub decline: String,
}

/// Makes an offer's links: (cohort, learner, the position of its `waitlist.offered`, its
/// expiry) → the pair, or `None` (no `--public-url`). Handed to the mailer at construction.
pub type OfferLinkSource =
    Arc<dyn Fn(CohortId, LearnerId, u64, Timestamp) -> Option<OfferLinkPair> + Send + Sync>;

/// Writes a time as people read it (in the deployment's zone, naming it), handed in by the
/// application so this module does not depend on the web layer.
pub type ShowTime = Arc<dyn Fn(Timestamp) -> String + Send + Sync>;

/// Most recent refusals kept for the Admin page.
pub const RECENT_FAILURES: usize = 20;

/// An SMTP URL as given (`smtp://…`, `smtps://user:pass@host`): it may hold a password, so it
/// is never shown or logged whole; [`SmtpUrl::shown`] is the form without credentials.
#[derive(Clone)]
pub struct SmtpUrl(String);

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpUrl({})", self.shown())
    }
}

impl SmtpUrl {
    /// The URL with any user name and password replaced by `***`.
    #[must_use]
    pub fn shown(&self) -> String {
        redact(&self.0)
    }
}

/// `url` without its credentials (`smtps://***@host:465`).
#[must_use]
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains('@') {
            "***".to_owned()
        } else {
            url.to_owned()
        };
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://***@{}{tail}", &authority[at + 1..]),
        None => url.to_owned(),
    }
}

/// How learner e-mail is sent (`--smtp-url`, `--mail-from`, `--mail-reply-to`).
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The SMTP server (lettre's URL form).
    pub smtp_url: SmtpUrl,
    /// The sender.
    pub from: Mailbox,
    /// Where answers go, when not to the sender.
    pub reply_to: Option<Mailbox>,
    /// The longest one SMTP exchange may take.
    pub timeout: Duration,
    /// The first wait after a failure; it doubles each time, with jitter.
    pub backoff_min: Duration,
    /// The longest wait between attempts.
    pub backoff_max: Duration,
}

/// A mail flag whose value cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    /// `--smtp-url` is not an SMTP URL lettre understands.
    #[error(
        "--smtp-url {shown}: {reason} (use e.g. smtp://127.0.0.1:2525, \
         smtp://mail.example.org?tls=required or smtps://user:password@mail.example.org)"
    )]
    SmtpUrl {
        /// The URL without credentials.
        shown: String,
        /// What is wrong.
        reason: String,
    },
    /// `--smtp-url` without `--mail-from`.
    #[error(
        "--smtp-url needs --mail-from (the sender's address, e.g. \"Rollbook <noreply@example.org>\")"
    )]
    FromMissing,
    /// A sender or reply-to that is not an address.
    #[error(
        "{flag} {value:?} is not an e-mail address (e.g. \"Rollbook <noreply@example.org>\"): {reason}"
    )]
    Address {
        /// `--mail-from` or `--mail-reply-to`.
        flag: &'static str,
        /// What was given.
        value: String,
        /// Why not.
        reason: String,
    },
    /// A mail flag without `--smtp-url`.
    #[error("{0} needs --smtp-url: learner e-mail is off without it")]
    NoServer(&'static str),
}

impl MailConfig {
    /// Checks the flags: `None` when mail is off (no `--smtp-url`).
    pub fn from_flags(
        smtp_url: Option<&str>,
        from: Option<&str>,
        reply_to: Option<&str>,
    ) -> Result<Option<Self>, MailConfigError> {
        let Some(url) = smtp_url.map(str::trim).filter(|u| !u.is_empty()) else {
            if from.is_some() {
                return Err(MailConfigError::NoServer("--mail-from"));
            }
            if reply_to.is_some() {
                return Err(MailConfigError::NoServer("--mail-reply-to"));
            }
            return Ok(None);
        };
        if let Err(e) = AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
            return Err(MailConfigError::SmtpUrl {
                shown: redact(url),
                reason: e.to_string(),
            });
        }
        let mailbox = |flag: &'static str, value: &str| {
            value
                .trim()
                .parse::<Mailbox>()
                .map_err(|e| MailConfigError::Address {
                    flag,
                    value: value.to_owned(),
                    reason: e.to_string(),
                })
        };
        let from = mailbox("--mail-from", from.ok_or(MailConfigError::FromMissing)?)?;
        let reply_to = reply_to
            .map(|r| mailbox("--mail-reply-to", r))
            .transpose()?;
        Ok(Some(Self {
            smtp_url: SmtpUrl(url.to_owned()),
            from,
            reply_to,
            timeout: Duration::from_secs(30),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
        }))
    }
}

/// When an offer's reminder is due: when a quarter of its hold remains, or 12 hours, whichever
/// is shorter (a 48-hour hold: 12 hours before; a 4-hour hold: 1 hour before).
#[must_use]
pub fn reminder_at(offered_at: Timestamp, expires_at: Timestamp) -> Timestamp {
    let hold = expires_at.duration_since(offered_at);
    let lead = (hold / 4).min(SignedDuration::from_hours(12));
    expires_at - lead
}

/// The mail section of the Admin page, and `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct MailStatus {
    /// Whether `--smtp-url` is set.
    pub configured: bool,
    /// The SMTP server, without credentials.
    pub server: String,
    /// The sender.
    pub from: String,
    /// The outbox position.
    pub position: u64,
    /// Events committed after it.
    pub lag: u64,
    /// The last failure (a refusal or a retry), when and what.
    pub last_error: Option<(Timestamp, String)>,
    /// When the SMTP server last accepted a message.
    pub last_sent: Option<Timestamp>,
    /// Messages the SMTP server accepted, since start.
    pub sent: u64,
    /// Messages refused for good, since start.
    pub failed: u64,
    /// Messages skipped (no address), since start.
    pub skipped: u64,
    /// Attempts that will be retried (connection failures, 4xx), since start.
    pub retried: u64,
    /// Recent refusals, newest first.
    pub failures: Vec<MailLogRecord>,
}

struct MailState {
    position: u64,
    last_error: Option<(Timestamp, String)>,
    last_sent: Option<Timestamp>,
    failures: VecDeque<MailLogRecord>,
    /// Reminders known to be handled (saves a store read each round).
    reminded: HashSet<(CohortId, LearnerId, Timestamp)>,
    /// The messages the server has answered 4xx for, and since when (until each is recorded;
    /// the outbox and the reminder task each wait on at most one at a time).
    answered_later: HashMap<MailMark, Timestamp>,
    /// Messages the SMTP server accepted whose line could not be recorded yet: on a retry only
    /// the record is tried again, so a failing store never sends one twice.
    sent_unrecorded: HashMap<MailMark, MailLogRecord>,
}

/// Learner e-mail: the outbox and reminder tasks, and what the pages show of them.
pub struct Mail {
    config: Option<MailConfig>,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    store: Arc<dyn MailStore>,
    history: History,
    read: Arc<ReadModel>,
    clock: Arc<dyn Clock>,
    show_time: ShowTime,
    links: Option<OfferLinkSource>,
    state: Mutex<MailState>,
    sent: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    retried: AtomicU64,
    stop: watch::Sender<bool>,
    /// The outbox position, each time it is stored.
    outbox_moved: watch::Sender<u64>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why a message was not handled: to be tried again.
struct Retry(String);

/// Why one SMTP exchange did not settle a message.
enum Refusal {
    /// No answer about it (cannot connect, timed out, TLS): try again, without limit.
    Retry(String),
    /// The server answered 4xx ("try again later"): try again, for [`GIVE_UP_AFTER`].
    Later(String),
}

/// How long a message the SMTP server keeps answering 4xx for is retried before it is logged
/// as failed and skipped.
pub const GIVE_UP_AFTER: SignedDuration = SignedDuration::from_hours(24);

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("mail storage: {e}")),
        Err(e) => Err(format!("mail task failed: {e}")),
    }
}

/// What lettre's error says, with its causes.
fn describe(error: &lettre::transport::smtp::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `text` with every spelling of `address` replaced, so an SMTP answer that names the learner's
/// address can be kept and shown.
#[must_use]
pub fn scrub(text: &str, address: &str) -> String {
    if address.is_empty() {
        return text.to_owned();
    }
    let lower = text.to_lowercase();
    let needle = address.to_lowercase();
    // Lower-casing may change lengths outside ASCII: then redact the whole answer.
    if lower.len() != text.len() {
        return if lower.contains(&needle) {
            "(the answer named the learner's address; not kept)".to_owned()
        } else {
            text.to_owned()
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    while let Some(found) = lower[rest..].find(&needle) {
        out.push_str(&text[rest..rest + found]);
        out.push_str("(the learner's address)");
        rest += found + needle.len();
    }
    out.push_str(&text[rest..]);
    out
}

impl Mail {
    /// Learner e-mail as configured (`None`: off), reading its position (storing the head as
    /// the position the first time mail is configured) and its recent refusals. Blocking: call
    /// it off the async threads. Delivery starts with [`Mail::start`].
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        config: Option<MailConfig>,
        store: Arc<dyn MailStore>,
        history: History,
        read: Arc<ReadModel>,
        clock: Arc<dyn Clock>,
        show_time: ShowTime,
        links: Option<OfferLinkSource>,
    ) -> Result<Self, StoreError> {
        let (position, failures, transport) = match &config {
            Some(config) => {
                let head = read.read().position;
                let position = store.mail_position_or(head)?;
                let failures = store.mail_failures(RECENT_FAILURES)?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url.0)
                    .map_err(|e| StoreError::Io {
                        path: history.path().to_owned(),
                        source: std::io::Error::other(format!(
                            "cannot set up the SMTP client for {}: {e}",
                            config.smtp_url.shown()
                        )),
                    })?
                    .timeout(Some(config.timeout))
                    .build();
                tracing::info!(
                    server = %config.smtp_url.shown(),
                    from = %config.from,
                    position,
                    "learner e-mail on"
                );
                (position, failures, Some(transport))
            }
            None => (0, Vec::new(), None),
        };
        Ok(Self {
            config,
            transport,
            store,
            history,
            read,
            clock,
            show_time,
            links,
            state: Mutex::new(MailState {
                position,
                last_error: None,
                last_sent: None,
                failures: failures.into(),
                reminded: HashSet::new(),
                answered_later: HashMap::new(),
                sent_unrecorded: HashMap::new(),
            }),
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            stop: watch::Sender::new(false),
            outbox_moved: watch::Sender::new(position),
            tasks: Mutex::default(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MailState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `--smtp-url` is set.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.config.is_some()
    }

    /// Starts the outbox and reminder tasks (nothing when mail is off).
    pub fn start(self: &Arc<Self>) {
        if self.config.is_none() {
            return;
        }
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks.push(tokio::spawn(outbox::run(self.clone())));
        tasks.push(tokio::spawn(reminder::run(self.clone())));
    }

    /// Stops the tasks: a message under way is finished and recorded first (bounded by the
    /// SMTP timeout), so a graceful stop never sends one twice.
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!("mail task failed: {e}");
            }
        }
    }

    /// What the Admin page and `/metrics` show.
    #[must_use]
    pub fn status(&self) -> MailStatus {
        let head = self.read.read().position;
        let state = self.state();
        MailStatus {
            configured: self.config.is_some(),
            server: self
                .config
                .as_ref()
                .map(|c| c.smtp_url.shown())
                .unwrap_or_default(),
            from: self
                .config
                .as_ref()
                .map(|c| c.from.to_string())
                .unwrap_or_default(),
            position: state.position,
            lag: head.saturating_sub(state.position),
            last_error: state.last_error.clone(),
            last_sent: state.last_sent,
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failures: state.failures.iter().cloned().collect(),
        }
    }

    /// The learner's mail log, newest first (at most `limit` lines; read on the blocking pool).
    pub async fn log_of(
        &self,
        learner: LearnerId,
        limit: usize,
    ) -> Result<Vec<MailLogRecord>, String> {
        let store = self.store.clone();
        blocking(move || store.mail_log(learner.0, limit)).await
    }

    /// The `Message-ID` of the e-mail of the event at `position` to `learner`: the same on
    /// every attempt and after a restart.
    fn message_id(&self, what: &str) -> String {
        let domain = self
            .config
            .as_ref()
            .map_or("rollbook.invalid", |c| c.from.email.domain());
        format!("<{what}.rollbook@{domain}>")
    }

    /// Sends (or skips) one planned message and records it with `mark`, unless `mark` was
    /// handled before.
    async fn deliver(
        &self,
        planned: &Planned,
        mark: MailMark,
        position: u64,
        message_id: String,
    ) -> Result<(), Retry> {
        let store = self.store.clone();
        if blocking(move || store.mail_marked(mark))
            .await
            .map_err(Retry)?
        {
            return Ok(());
        }
        let pending = self.state().sent_unrecorded.get(&mark).cloned();
        let line = if let Some(line) = pending {
            line
        } else {
            let line = self.attempt(planned, mark, position, message_id).await?;
            if line.outcome == MailOutcome::Sent {
                self.state().sent_unrecorded.insert(mark, line.clone());
            }
            line
        };
        let store = self.store.clone();
        let to_store = line.clone();
        blocking(move || store.record_mail(&to_store, mark))
            .await
            .map_err(Retry)?;
        {
            let mut state = self.state();
            state.sent_unrecorded.remove(&mark);
            state.answered_later.remove(&mark);
        }
        let counter = match line.outcome {
            MailOutcome::Sent => &self.sent,
            MailOutcome::Failed => &self.failed,
            MailOutcome::Skipped => &self.skipped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut state = self.state();
        match line.outcome {
            MailOutcome::Sent => state.last_sent = Some(line.at),
            MailOutcome::Failed => {
                tracing::warn!(
                    learner = %line.learner,
                    kind = %line.kind,
                    detail = %line.detail,
                    "e-mail refused by the SMTP server; not tried again"
                );
                state.last_error = Some((line.at, line.detail.clone()));
                if state.failures.len() >= RECENT_FAILURES {
                    state.failures.pop_back();
                }
                state.failures.push_front(line);
            }
            MailOutcome::Skipped => {}
        }
        Ok(())
    }

    /// Sends (or skips) one planned message: the line to record, or a failure to retry. A
    /// learner erased since the message was planned is not mailed.
    async fn attempt(
        &self,
        planned: &Planned,
        mark: MailMark,
        position: u64,
        message_id: String,
    ) -> Result<MailLogRecord, Retry> {
        let erased = self.read.read().directory.is_erased(planned.learner);
        let (outcome, detail, subject) = match planned.context.render() {
            Err(e) => (
                MailOutcome::Failed,
                format!("the message could not be written: {e}"),
                String::new(),
            ),
            Ok(rendered) => match &planned.address {
                _ if erased => (
                    MailOutcome::Skipped,
                    "the learner was erased".to_owned(),
                    String::new(),
                ),
                None => (
                    MailOutcome::Skipped,
                    "no e-mail address on file".to_owned(),
                    rendered.subject,
                ),
                Some(address) => {
                    let (outcome, detail) =
                        match self.send(planned, address, &rendered, message_id).await {
                            Ok(done) => done,
                            Err(Refusal::Retry(e)) => {
                                return Err(self.retry(scrub(&e, address.as_ref()), None));
                            }
                            Err(Refusal::Later(e)) => {
                                let e = scrub(&e, address.as_ref());
                                match self.give_up(mark) {
                                    Some(after) => {
                                        (MailOutcome::Failed, format!("gave up after {after}: {e}"))
                                    }
                                    None => return Err(self.retry(e, Some(mark))),
                                }
                            }
                        };
                    (outcome, scrub(&detail, address.as_ref()), rendered.subject)
                }
            },
        };
        let line = MailLogRecord {
            at: self.clock.now(),
            learner: planned.learner.0,
            cohort: planned.cohort.0,
            position,
            kind: planned.context.kind.to_owned(),
            subject,
            outcome,
            detail,
        };
        Ok(line)
    }

    /// Notes a failure to retry (`mark`: the message the server answered 4xx for).
    fn retry(&self, error: String, mark: Option<MailMark>) -> Retry {
        let now = self.clock.now();
        {
            let mut state = self.state();
            state.last_error = Some((now, error.clone()));
            if let Some(mark) = mark {
                state.answered_later.entry(mark).or_insert(now);
            }
        }
        // Counted once noted, so a count read says the wait has started.
        self.retried.fetch_add(1, Ordering::Relaxed);
        Retry(error)
    }

    /// Whether to stop retrying the message `mark`, answered 4xx again: after
    /// [`GIVE_UP_AFTER`] of such answers, so one mailbox that stays busy does not hold up
    /// everyone's mail. The wait, in words.
    fn give_up(&self, mark: MailMark) -> Option<String> {
        let now = self.clock.now();
        let state = self.state();
        let since = *state.answered_later.get(&mark)?;
        (now.duration_since(since) >= GIVE_UP_AFTER)
            .then(|| format!("{} h of \"try again later\"", GIVE_UP_AFTER.as_hours()))
    }

    /// One SMTP exchange: `Ok` with the outcome to record (sent, or refused for good), or a
    /// failure to retry.
    async fn send(
        &self,
        planned: &Planned,
        address: &lettre::Address,
        rendered: &Rendered,
        message_id: String,
    ) -> Result<(MailOutcome, String), Refusal> {
        let (Some(config), Some(transport)) = (&self.config, &self.transport) else {
            return Err(Refusal::Retry("mail is not configured".to_owned()));
        };
        let name = (!planned.context.name.is_empty()).then(|| planned.context.name.clone());
        let mut builder = Message::builder()
            .message_id(Some(message_id))
            .date(
                std::time::SystemTime::UNIX_EPOCH
                    + Duration::from_secs(u64::try_from(self.clock.now().as_second()).unwrap_or(0)),
            )
            .from(config.from.clone())
            .to(Mailbox::new(name, address.clone()))
            .subject(rendered.subject.clone());
        if let Some(reply_to) = &config.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let message = match builder.multipart(MultiPart::alternative_plain_html(
            rendered.text.clone(),
            rendered.html.clone(),
        )) {
            Ok(message) => message,
            Err(e) => {
                return Ok((
                    MailOutcome::Failed,
                    format!("the message could not be built: {e}"),
                ));
            }
        };
        match transport.send(message).await {
            Ok(response) => Ok((
                MailOutcome::Sent,
                format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            )),
            Err(e) if e.is_permanent() => Ok((MailOutcome::Failed, describe(&e))),
            Err(e) if e.is_transient() => Err(Refusal::Later(describe(&e))),
            Err(e) => Err(Refusal::Retry(describe(&e))),
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        self.config.as_ref().map_or(Duration::from_secs(1), |c| {
            crate::backoff::backoff(c.backoff_min, c.backoff_max, failures)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show() {
        assert_eq!(
            redact("smtps://ana:s3cret@mail.example.org:465/x?tls=required"),
            "smtps://***@mail.example.org:465/x?tls=required"
        );
        assert_eq!(redact("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
        let config = MailConfig::from_flags(
            Some("smtps://ana:s3cret@mail.example.org"),
            Some("Rollbook <noreply@example.org>"),
            None,
        )
        .unwrap()
        .unwrap();
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        let err = |url: Option<&str>, from: Option<&str>, reply: Option<&str>| {
            MailConfig::from_flags(url, from, reply)
                .unwrap_err()
                .to_string()
        };
        let e = err(Some("http://user:s3cret@host"), Some("a@b.org"), None);
        assert!(
            e.starts_with("--smtp-url smtp") || e.starts_with("--smtp-url http://***@host"),
            "{e}"
        );
        assert!(!e.contains("s3cret"), "{e}");
        assert!(err(Some("smtp://host"), None, None).contains("--mail-from"));
        assert!(err(Some("smtp://host"), Some("not an address"), None).contains("--mail-from"));
        assert!(
            err(Some("smtp://host"), Some("a@b.org"), Some("nope")).contains("--mail-reply-to")
        );
        assert!(err(None, Some("a@b.org"), None).contains("needs --smtp-url"));
        assert!(MailConfig::from_flags(None, None, None).unwrap().is_none());
    }

    #[test]
    fn answers_lose_the_address() {
        assert_eq!(
            scrub(
                "550 5.1.1 <Ana@Example.org>: no such user",
                "ana@example.org"
            ),
            "550 5.1.1 <(the learner's address)>: no such user"
        );
    }

    #[test]
    fn the_reminder_comes_at_a_quarter_of_the_hold_or_12_hours() {
        let at: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let day2 = at + SignedDuration::from_hours(48);
        assert_eq!(reminder_at(at, day2), day2 - SignedDuration::from_hours(12));
        let four = at + SignedDuration::from_hours(4);
        assert_eq!(reminder_at(at, four), four - SignedDuration::from_hours(1));
        let week = at + SignedDuration::from_hours(24 * 7);
        assert_eq!(reminder_at(at, week), week - SignedDuration::from_hours(12));
    }
}
