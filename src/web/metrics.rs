//! `GET /metrics`: the registry of [`crate::metrics`] in Prometheus' text format 0.0.4, with the
//! positions read at scrape time (the layer that counts responses is [`super::request_count`]).
//! Who may read it is the access table's business.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse as _, Response};

use super::AppState;
use crate::auth::HashStats;
use crate::metrics::{CONTENT_TYPE, PasswordHashes, Snapshot};

/// The metrics, for a scraper.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let store_head = state
        .read_store(|history| history.read()?.head_position())
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "metrics: cannot read the store's head"))
        .ok();
    let snapshot = {
        let read = state.read.read();
        Snapshot {
            projections: read.positions().to_vec(),
            published_position: read.position,
            store_head,
            writer_running: state.writer.is_running(),
            storage_failed: state.writer.storage_failed(),
            password_hashes: password_hashes(state.auth.hash_stats()),
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
