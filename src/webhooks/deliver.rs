//! One delivery task per subscription: it reads the committed events after the subscription's
//! position (from the store, on the blocking pool), skips those its filters leave out, posts the
//! others one at a time in position order, and advances the stored position after each 2xx.
//! Failures wait with exponential backoff and jitter; a subscription that has failed for
//! longer than `pause_after` is paused with its last error.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::{DeliveryLine, Entry, LOG_LINES, Webhooks, blocking};
use crate::store::{Envelope, WebhookRecord};

/// Most events read from the store at once.
const BATCH: usize = 64;

pub(super) fn spawn(hooks: &Arc<Webhooks>, entry: Arc<Entry>) {
    let task_hooks = hooks.clone();
    let task = tokio::spawn(async move { run(&task_hooks, &entry).await });
    let mut tasks = hooks
        .tasks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tasks.retain(|t| !t.is_finished());
    tasks.push(task);
}

/// What the task does next.
enum Next {
    /// Look again at once.
    Again,
    /// Wait for a new commit, an admin change or the stop.
    Idle,
    /// Wait this long (after a failure), or for an admin change or the stop.
    Backoff(Duration),
    /// The subscription is gone or the server stops.
    Stop,
}

async fn run(hooks: &Arc<Webhooks>, entry: &Arc<Entry>) {
    let mut heads = hooks.read.applied_positions();
    let mut stop = hooks.stop.subscribe();
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        // A stop drops an attempt under way: its event stays after the stored position and is
        // sent again (same `webhook-id`) after a restart.
        let next = tokio::select! {
            next = step(hooks, entry, &mut failures) => next,
            _ = stop.changed() => Next::Stop,
        };
        match next {
            Next::Again => {}
            Next::Stop => return,
            Next::Idle => {
                tokio::select! {
                    _ = heads.changed() => {}
                    () = entry.wake.notified() => {}
                    _ = stop.changed() => {}
                }
            }
            Next::Backoff(wait) => {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = entry.wake.notified() => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// One round: deliver what is due, or say why not.
async fn step(hooks: &Arc<Webhooks>, entry: &Arc<Entry>, failures: &mut u32) -> Next {
    let (record, position, generation) = {
        let state = entry.state();
        if state.deleted {
            return Next::Stop;
        }
        (
            state.stored.record.clone(),
            state.stored.position,
            state.generation,
        )
    };
    if record.paused {
        return Next::Idle;
    }
    // Only what the projections have applied: committed, and with its learners in the
    // directory.
    let head = hooks.head();
    if position >= head {
        return Next::Idle;
    }
    let history = hooks.history.clone();
    let batch = match blocking(move || history.read()?.events_after(position, BATCH)).await {
        Ok(batch) => batch,
        Err(e) => {
            tracing::error!(error = %e, "webhook delivery cannot read the events");
            return Next::Backoff(hooks.options.backoff_max);
        }
    };
    let batch: Vec<Envelope> = batch.into_iter().filter(|e| e.position <= head).collect();
    if batch.is_empty() {
        return Next::Idle;
    }
    entry.state().lag_since = batch.first().map(|e| e.recorded_at);
    let mut skipped_to = None;
    for envelope in &batch {
        if !wanted(&record, envelope) {
            skipped_to = Some(envelope.position);
            continue;
        }
        let body = {
            let read = hooks.read.read();
            serde_json::to_vec(&(hooks.render)(envelope, &read.directory)).unwrap_or_default()
        };
        let outcome = post(hooks, &record, envelope.position, body).await;
        let now = hooks.clock.now();
        log(entry, now, envelope.position, &outcome);
        match outcome {
            Ok(_) => {
                *failures = 0;
                if !advance(hooks, entry, generation, envelope.position, Some(now)).await {
                    return Next::Again;
                }
                skipped_to = None;
            }
            Err(error) => {
                if let Some(to) = skipped_to {
                    advance(hooks, entry, generation, to, None).await;
                }
                fail(hooks, entry, generation, &record, error, now).await;
                *failures = failures.saturating_add(1);
                return Next::Backoff(backoff(hooks, *failures));
            }
        }
    }
    if let Some(to) = skipped_to {
        advance(hooks, entry, generation, to, None).await;
    }
    Next::Again
}

/// Whether the subscription's filters take this event.
fn wanted(record: &WebhookRecord, envelope: &Envelope) -> bool {
    (record.event_types.is_empty()
        || record
            .event_types
            .iter()
            .any(|t| t == envelope.event.type_name()))
        && (record.cohorts.is_empty() || record.cohorts.contains(&envelope.cohort.0))
}

/// Posts one event; the status on a 2xx, or what went wrong.
async fn post(
    hooks: &Webhooks,
    record: &WebhookRecord,
    position: u64,
    body: Vec<u8>,
) -> Result<u16, String> {
    let url = super::target::parse_url(&record.url).map_err(|e| e.to_string())?;
    // Again at each delivery: an address literal never reaches the client's resolver.
    super::target::check_url(&url, hooks.options.allow_private)
        .await
        .map_err(|e| e.to_string())?;
    let id = super::webhook_id(position);
    let timestamp = hooks.clock.now().as_second();
    let signature = super::signature(&record.secret, &id, timestamp, &body);
    let answer = hooks
        .client
        .post(
            &url,
            &[
                ("webhook-id", id),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature),
            ],
            body,
        )
        .await?;
    let status = answer.status;
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let redirect = if status.is_redirection() {
        " (redirects are not followed)"
    } else {
        ""
    };
    Err(format!("HTTP {status}{redirect}{}", answer.excerpt))
}

fn log(entry: &Entry, at: Timestamp, position: u64, outcome: &Result<u16, String>) {
    let line = DeliveryLine {
        at,
        position,
        ok: outcome.is_ok(),
        outcome: match outcome {
            Ok(status) => format!("HTTP {status}"),
            Err(e) => e.clone(),
        },
    };
    let mut state = entry.state();
    if line.ok {
        state.succeeded += 1;
    } else {
        state.failed += 1;
    }
    if state.log.len() >= LOG_LINES {
        state.log.pop_front();
    }
    state.log.push_back(line);
}

/// Stores the position (after a 2xx, or past filtered-out events) unless an admin changed the
/// subscription meanwhile; whether it did.
async fn advance(
    hooks: &Webhooks,
    entry: &Entry,
    generation: u64,
    position: u64,
    success: Option<Timestamp>,
) -> bool {
    let _writing = entry.write.lock().await;
    if entry.state().generation != generation {
        return false;
    }
    let (id, cleared) = {
        let state = entry.state();
        let record = &state.stored.record;
        let cleared = (success.is_some()
            && (record.failing_since.is_some() || record.last_error.is_some()))
        .then(|| WebhookRecord {
            last_error: None,
            failing_since: None,
            ..record.clone()
        });
        (state.stored.id, cleared)
    };
    let store = hooks.store.clone();
    let to_store = cleared.clone();
    let written = blocking(move || {
        if let Some(record) = &to_store {
            store.update_webhook(id, record)?;
        }
        store.set_webhook_position(id, position)
    })
    .await;
    match written {
        Ok(true) => {
            let mut state = entry.state();
            state.stored.position = position;
            if let Some(record) = cleared {
                state.stored.record = record;
            }
            if success.is_some() {
                state.last_success = success;
            }
            true
        }
        Ok(false) => false,
        Err(e) => {
            tracing::error!(error = %e, "cannot store a webhook position");
            false
        }
    }
}

/// Records a failure; pauses the subscription when it has failed for longer than allowed.
async fn fail(
    hooks: &Webhooks,
    entry: &Entry,
    generation: u64,
    record: &WebhookRecord,
    error: String,
    now: Timestamp,
) {
    let _writing = entry.write.lock().await;
    if entry.state().generation != generation {
        return;
    }
    let failing_since = record.failing_since.unwrap_or(now);
    let paused = now.duration_since(failing_since) >= hooks.options.pause_after;
    let updated = WebhookRecord {
        last_error: Some(error),
        failing_since: Some(failing_since),
        paused,
        ..record.clone()
    };
    let id = entry.state().stored.id;
    if paused {
        tracing::warn!(%id, error = ?updated.last_error, "webhook subscription paused after failing since {failing_since}");
    }
    let store = hooks.store.clone();
    let to_store = updated.clone();
    match blocking(move || store.update_webhook(id, &to_store)).await {
        Ok(true) => entry.state().stored.record = updated,
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, "cannot store a webhook failure"),
    }
}

/// The wait after `failures` failures in a row (see [`crate::backoff`]).
fn backoff(hooks: &Webhooks, failures: u32) -> Duration {
    crate::backoff::backoff(
        hooks.options.backoff_min,
        hooks.options.backoff_max,
        failures,
    )
}
