//! Webhook subscriptions: the registry admins manage (create, list, pause, resume, move,
//! delete) and the delivery tasks that post committed events to each subscription's URL,
//! signed as the Standard Webhooks specification says.
//!
//! Each subscription keeps its position in the database ([`crate::store::WebhookStore`]) and
//! advances it only after its receiver answered 2xx: at-least-once, in position order, one
//! request in flight per subscription, with a `webhook-id` that names the event so receivers
//! can drop duplicates. Deliveries read committed events from the store (off the async
//! threads), never the writer's queue, so a slow receiver never slows a command.

pub mod client;
mod deliver;
pub mod target;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit as _, Mac as _};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::clock::Clock;
use crate::projections::ReadModel;
use crate::store::{History, StoreError, StoredWebhook, WebhookRecord, WebhookStore};
use target::TargetError;

/// How webhooks are delivered.
#[derive(Clone, Debug)]
pub struct WebhookOptions {
    /// Whether targets may be loopback, link-local or other private addresses
    /// (`--webhook-allow-private`).
    pub allow_private: bool,
    /// How long a subscription may keep failing before it is paused (`--webhook-pause-after`).
    pub pause_after: SignedDuration,
    /// The longest one request may take, connecting included.
    pub timeout: Duration,
    /// The first wait after a failure; it doubles each time, with jitter.
    pub backoff_min: Duration,
    /// The longest wait between attempts.
    pub backoff_max: Duration,
    /// A PEM file of certificate authorities trusted for https receivers besides the
    /// platform's (`--webhook-ca-file`), for receivers behind a private CA.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            allow_private: false,
            pause_after: SignedDuration::from_hours(24),
            timeout: Duration::from_secs(10),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            ca_file: None,
        }
    }
}

/// Renders an event as the feed shows it (the web layer's `feed_event_json`), handed in by
/// the application so this module does not depend on the web layer.
pub type RenderEvent =
    fn(&crate::store::Envelope, &crate::projections::Directory) -> serde_json::Value;

/// Bytes of a new signing secret (the specification asks for 24 to 64).
pub const SECRET_BYTES: usize = 32;
/// Most subscriptions a server keeps.
pub const MAX_SUBSCRIPTIONS: usize = 100;
/// Most filter entries (event types, cohorts) of one subscription.
pub const MAX_FILTERS: usize = 100;
/// Most lines of a subscription's recent delivery log (kept in memory).
pub const LOG_LINES: usize = 50;
/// Most bytes read of a receiver's answer (for the error message).
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// A secret as shown once: `whsec_` and the base64 of its bytes.
#[must_use]
pub fn secret_text(bytes: &[u8]) -> String {
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` value of a delivery: `v1,` and the base64 of the HMAC-SHA256, keyed
/// with the secret's bytes, of `{id}.{timestamp}.{body}`.
#[must_use]
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-id` of the event at `position`: the same on every attempt and after restarts.
#[must_use]
pub fn webhook_id(position: u64) -> String {
    format!("evt_{position}")
}

/// Why a webhook operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No subscription has that id.
    #[error("no webhook subscription {0}")]
    NotFound(Uuid),
    /// A field is not acceptable (the message names it).
    #[error("{0}")]
    Invalid(String),
    /// The target URL is refused.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A position past the head.
    #[error("position {asked} is past the newest event ({head})")]
    PositionOutOfRange {
        /// The position asked for.
        asked: u64,
        /// The newest event's.
        head: u64,
    },
    /// Too many subscriptions.
    #[error("this server keeps at most {MAX_SUBSCRIPTIONS} webhook subscriptions")]
    TooMany,
    /// The store failed.
    #[error("webhook storage: {0}")]
    Store(#[from] StoreError),
    /// A blocking task failed.
    #[error("webhook task failed: {0}")]
    Task(String),
    /// The HTTP client cannot be built (the CA file, the TLS configuration).
    #[error(transparent)]
    Client(#[from] client::ClientError),
}

/// What an admin asks for when creating a subscription.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    /// A name for people.
    pub name: String,
    /// The target URL.
    pub url: String,
    /// Event types to deliver (all when empty).
    pub event_types: Vec<String>,
    /// Cohorts to deliver (all when empty).
    pub cohorts: Vec<Uuid>,
    /// Where to start: the head when absent.
    pub from_position: Option<u64>,
}

/// A created subscription: its id, the secret (shown only now), its position.
#[derive(Clone, Debug)]
pub struct CreatedWebhook {
    /// Its id.
    pub id: Uuid,
    /// `whsec_…`.
    pub secret: String,
    /// Its starting position.
    pub position: u64,
}

/// One line of a subscription's recent delivery log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryLine {
    /// When the attempt ended.
    pub at: Timestamp,
    /// The event's position.
    pub position: u64,
    /// Whether the receiver answered 2xx.
    pub ok: bool,
    /// The status, or what went wrong.
    pub outcome: String,
}

/// A subscription as admins see it (never the secret).
#[derive(Clone, Debug)]
pub struct WebhookView {
    /// Its id.
    pub id: Uuid,
    /// Its settings.
    pub record: WebhookRecord,
    /// The last event delivered (or skipped).
    pub position: u64,
    /// Events committed after its position.
    pub lag: u64,
    /// When its oldest undelivered event was recorded, if it lags.
    pub lag_since: Option<Timestamp>,
    /// When a receiver last answered 2xx (since this server started).
    pub last_success: Option<Timestamp>,
    /// Recent attempts, newest first.
    pub log: Vec<DeliveryLine>,
    /// Attempts answered 2xx since this server started.
    pub succeeded: u64,
    /// Attempts that failed since this server started.
    pub failed: u64,
}

struct EntryState {
    stored: StoredWebhook,
    /// Bumped by every admin change, so a delivery that started before it does not undo it.
    generation: u64,
    deleted: bool,
    last_success: Option<Timestamp>,
    /// When the event after the position was recorded (for the lag in time).
    lag_since: Option<Timestamp>,
    log: VecDeque<DeliveryLine>,
    /// Attempts answered 2xx, and failed ones, since the start (for `/metrics`).
    succeeded: u64,
    failed: u64,
}

struct Entry {
    state: Mutex<EntryState>,
    /// Serialises position and settings writes of this subscription.
    write: tokio::sync::Mutex<()>,
    /// Wakes its delivery task (resumed, moved, deleted).
    wake: Notify,
}

impl Entry {
    fn state(&self) -> std::sync::MutexGuard<'_, EntryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The subscriptions and their delivery tasks.
pub struct Webhooks {
    store: Arc<dyn WebhookStore>,
    history: History,
    read: Arc<ReadModel>,
    clock: Arc<dyn Clock>,
    options: WebhookOptions,
    client: client::WebhookClient,
    render: RenderEvent,
    entries: Mutex<HashMap<Uuid, Arc<Entry>>>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, WebhookError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WebhookError::Task(e.to_string()))?
        .map_err(WebhookError::from)
}

impl Webhooks {
    /// Loads the subscriptions and builds the HTTP client (reading the CA file: blocking, call
    /// it off the async threads). Delivery starts with [`Webhooks::start`].
    pub fn load(
        store: Arc<dyn WebhookStore>,
        history: History,
        read: Arc<ReadModel>,
        clock: Arc<dyn Clock>,
        options: WebhookOptions,
        render: RenderEvent,
    ) -> Result<Self, WebhookError> {
        let client = client::WebhookClient::new(&options)?;
        let stored = store.load_webhooks()?;
        let entries = stored
            .into_iter()
            .map(|w| (w.id, Arc::new(new_entry(w))))
            .collect();
        Ok(Self {
            store,
            history,
            read,
            clock,
            options,
            client,
            render,
            entries: Mutex::new(entries),
            stop: watch::Sender::new(false),
            tasks: Mutex::default(),
        })
    }

    /// The delivery options.
    #[must_use]
    pub fn options(&self) -> &WebhookOptions {
        &self.options
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Entry>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn entry(&self, id: Uuid) -> Result<Arc<Entry>, WebhookError> {
        self.entries()
            .get(&id)
            .cloned()
            .ok_or(WebhookError::NotFound(id))
    }

    fn head(&self) -> u64 {
        self.read.read().position
    }

    /// Starts a delivery task for every subscription (and, later, for each one created).
    pub fn start(self: &Arc<Self>) {
        let entries: Vec<Arc<Entry>> = self.entries().values().cloned().collect();
        for entry in entries {
            deliver::spawn(self, entry);
        }
    }

    /// Stops the delivery tasks (an attempt under way is dropped: its event is delivered again
    /// after a restart, with the same `webhook-id`).
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!("webhook delivery task failed: {e}");
            }
        }
    }

    /// Creates a subscription after checking its name, URL (and the addresses it resolves to),
    /// filters and starting position.
    pub async fn create(self: &Arc<Self>, new: NewWebhook) -> Result<CreatedWebhook, WebhookError> {
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(WebhookError::Invalid(
                "name: give 1 to 100 characters, without control characters".to_owned(),
            ));
        }
        let url = target::parse_url(&new.url)?;
        target::check_url(&url, self.options.allow_private).await?;
        let event_types = dedup(new.event_types);
        if let Some(unknown) = event_types
            .iter()
            .find(|t| !crate::domain::Event::TYPE_NAMES.contains(&t.as_str()))
        {
            return Err(WebhookError::Invalid(format!(
                "event_types: {unknown:?} is not an event type; known: {}",
                crate::domain::Event::TYPE_NAMES.join(", ")
            )));
        }
        let cohorts = dedup(new.cohorts);
        if event_types.len() > MAX_FILTERS || cohorts.len() > MAX_FILTERS {
            return Err(WebhookError::Invalid(format!(
                "event_types, cohorts: at most {MAX_FILTERS} each"
            )));
        }
        let head = self.head();
        let position = match new.from_position {
            None => head,
            Some(asked) if asked > head => {
                return Err(WebhookError::PositionOutOfRange { asked, head });
            }
            Some(asked) => asked,
        };
        if self.entries().len() >= MAX_SUBSCRIPTIONS {
            return Err(WebhookError::TooMany);
        }
        let mut secret = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut secret)
            .map_err(|e| WebhookError::Task(format!("no random source: {e}")))?;
        let stored = StoredWebhook {
            id: Uuid::now_v7(),
            record: WebhookRecord {
                name,
                url: url.to_string(),
                event_types,
                cohorts,
                secret: secret.clone(),
                paused: false,
                last_error: None,
                failing_since: None,
                created_at: self.clock.now(),
            },
            position,
        };
        let id = stored.id;
        let store = self.store.clone();
        let to_store = stored.clone();
        blocking(move || store.create_webhook(&to_store)).await?;
        let entry = Arc::new(new_entry(stored));
        self.entries().insert(id, entry.clone());
        if !*self.stop.borrow() {
            deliver::spawn(self, entry);
        }
        Ok(CreatedWebhook {
            id,
            secret: secret_text(&secret),
            position,
        })
    }

    /// Every subscription, oldest first.
    #[must_use]
    pub fn list(&self) -> Vec<WebhookView> {
        let head = self.head();
        let entries: Vec<Arc<Entry>> = self.entries().values().cloned().collect();
        let mut views: Vec<WebhookView> = entries
            .iter()
            .map(|entry| {
                let state = entry.state();
                let lag = head.saturating_sub(state.stored.position);
                WebhookView {
                    id: state.stored.id,
                    record: state.stored.record.clone(),
                    position: state.stored.position,
                    lag,
                    lag_since: if lag > 0 { state.lag_since } else { None },
                    last_success: state.last_success,
                    log: state.log.iter().rev().cloned().collect(),
                    succeeded: state.succeeded,
                    failed: state.failed,
                }
            })
            .collect();
        views.sort_by_key(|v| (v.record.created_at, v.id));
        views
    }

    /// One subscription as admins see it.
    pub fn view(&self, id: Uuid) -> Result<WebhookView, WebhookError> {
        self.list()
            .into_iter()
            .find(|v| v.id == id)
            .ok_or(WebhookError::NotFound(id))
    }

    /// Pauses a subscription: nothing more is sent until it is resumed.
    pub async fn pause(&self, id: Uuid) -> Result<WebhookView, WebhookError> {
        self.change(id, |record| record.paused = true).await
    }

    /// Resumes a subscription from its stored position, with a fresh allowance of failing time.
    pub async fn resume(&self, id: Uuid) -> Result<WebhookView, WebhookError> {
        self.change(id, |record| {
            record.paused = false;
            record.failing_since = None;
        })
        .await
    }

    async fn change(
        &self,
        id: Uuid,
        f: impl FnOnce(&mut WebhookRecord),
    ) -> Result<WebhookView, WebhookError> {
        let entry = self.entry(id)?;
        let _writing = entry.write.lock().await;
        let mut record = entry.state().stored.record.clone();
        f(&mut record);
        let store = self.store.clone();
        let to_store = record.clone();
        if !blocking(move || store.update_webhook(id, &to_store)).await? {
            return Err(WebhookError::NotFound(id));
        }
        {
            let mut state = entry.state();
            state.stored.record = record;
            state.generation += 1;
        }
        entry.wake.notify_one();
        self.view(id)
    }

    /// Moves a subscription's position: back to replay, or to the head to skip.
    pub async fn move_to(&self, id: Uuid, position: u64) -> Result<WebhookView, WebhookError> {
        let head = self.head();
        if position > head {
            return Err(WebhookError::PositionOutOfRange {
                asked: position,
                head,
            });
        }
        let entry = self.entry(id)?;
        let _writing = entry.write.lock().await;
        let store = self.store.clone();
        if !blocking(move || store.set_webhook_position(id, position)).await? {
            return Err(WebhookError::NotFound(id));
        }
        {
            let mut state = entry.state();
            state.stored.position = position;
            state.lag_since = None;
            state.generation += 1;
        }
        entry.wake.notify_one();
        self.view(id)
    }

    /// Deletes a subscription; its task stops.
    pub async fn delete(&self, id: Uuid) -> Result<(), WebhookError> {
        let entry = self.entry(id)?;
        let _writing = entry.write.lock().await;
        let store = self.store.clone();
        blocking(move || store.delete_webhook(id)).await?;
        self.entries().remove(&id);
        {
            let mut state = entry.state();
            state.deleted = true;
            state.generation += 1;
        }
        entry.wake.notify_one();
        Ok(())
    }
}

fn new_entry(stored: StoredWebhook) -> Entry {
    Entry {
        state: Mutex::new(EntryState {
            stored,
            generation: 0,
            deleted: false,
            last_success: None,
            lag_since: None,
            log: VecDeque::with_capacity(LOG_LINES),
            succeeded: 0,
            failed: 0,
        }),
        write: tokio::sync::Mutex::new(()),
        wake: Notify::new(),
    }
}

fn dedup<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort_unstable();
    items.dedup();
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn the_signature_matches_the_specifications_example() {
        let secret = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_is_whsec_and_base64() {
        let text = secret_text(&[0xff; 24]);
        assert_eq!(text, "whsec_////////////////////////////////");
    }
}
