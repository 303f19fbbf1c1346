//! `GET /metrics`: the registry of [`crate::metrics`] in Prometheus' text format 0.0.4, with the
//! positions read at scrape time (the layer that counts responses is [`super::request_count`]),
//! each webhook subscription's deliveries and lag, and the live feed's streams.
//! Who may read it is the access table's business.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse as _, Response};

use super::AppState;
use crate::auth::HashStats;
use crate::metrics::{CONTENT_TYPE, PasswordHashes, Snapshot, WebhookDelivery};
use crate::webhooks::WebhookView;

/// The metrics, for a scraper.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let hooks = state.webhooks.list();
    // The oldest undelivered event of each lagging subscription: the one after its position.
    let oldest: Vec<u64> = hooks
        .iter()
        .filter(|h| h.lag > 0)
        .map(|h| h.position + 1)
        .collect();
    let (store_head, oldest) = match state
        .read_store(move |history| {
            let read = history.read()?;
            let recorded: Vec<_> = read
                .events_at(&oldest)?
                .into_iter()
                .map(|e| (e.position, e.recorded_at))
                .collect();
            Ok((read.head_position()?, recorded))
        })
        .await
    {
        Ok((head, oldest)) => (Some(head), oldest),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read the store");
            (None, Vec::new())
        }
    };
    let now = state.clock.now();
    let webhooks = hooks
        .iter()
        .map(|hook| webhook_delivery(hook, &oldest, now))
        .collect();
    let snapshot = {
        let read = state.read.read();
        Snapshot {
            projections: read.positions().to_vec(),
            published_position: read.position,
            store_head,
            writer_running: state.writer.is_running(),
            storage_failed: state.writer.storage_failed(),
            password_hashes: password_hashes(state.auth.hash_stats()),
            webhooks,
            live_feed: state.live.counts(),
        }
    };
    let mut body = state.metrics.render(&snapshot);
    if let Some(mail) = state.mail.as_ref().filter(|m| m.is_configured()) {
        let s = mail.status();
        let figures = crate::metrics::MailMetrics {
            sent: s.sent,
            failed: s.failed,
            skipped: s.skipped,
            retried: s.retried,
            position: s.position,
            lag: s.lag,
        };
        body = crate::metrics::with_mail(&body, &figures);
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

fn password_hashes(stats: HashStats) -> PasswordHashes {
    let n = |v: usize| v as u64;
    PasswordHashes {
        permits: n(stats.permits),
        running: n(stats.running),
        peak: n(stats.peak),
        hashed: stats.hashed,
        refused_busy: stats.refused_busy,
    }
}

/// A subscription's delivery figures; its lag in time from its oldest undelivered event as
/// stored (`oldest`: position and recording time), or as its delivery task last saw it.
fn webhook_delivery(
    hook: &WebhookView,
    oldest: &[(u64, jiff::Timestamp)],
    now: jiff::Timestamp,
) -> WebhookDelivery {
    let since = if hook.lag == 0 {
        None
    } else {
        oldest
            .iter()
            .find(|(p, _)| *p == hook.position + 1)
            .map(|(_, at)| *at)
            .or(hook.lag_since)
    };
    WebhookDelivery {
        id: hook.id.to_string(),
        name: hook.record.name.clone(),
        succeeded: hook.succeeded,
        failed: hook.failed,
        position: hook.position,
        lag_events: hook.lag,
        lag_seconds: since.map_or(0.0, |at| now.duration_since(at).as_secs_f64().max(0.0)),
        paused: hook.record.paused,
    }
}
