//! The outbox task: reads the committed events after the stored outbox position (from the store,
//! on the blocking pool; never past what the projections applied), sends each event's messages
//! in a fixed order, records each one as it is handled, and stores the position once an
//! event's messages are all handled. A failure to retry waits with backoff and starts again
//! from the stored position; messages already handled are recognised by their marks.

use std::sync::Arc;
use std::time::Duration;

use super::{Mail, Retry, blocking, message};
use crate::store::{Envelope, MailMark};

/// Most events read from the store at once.
const BATCH: usize = 64;

enum Next {
    Again,
    Idle,
    Backoff(Duration),
    Stop,
}

pub(super) async fn run(mail: Arc<Mail>) {
    let mut heads = mail.read.applied_positions();
    let mut stop = mail.stop.subscribe();
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        // A stop does not cut a message under way (the SMTP server may have accepted it
        // already): the step checks for it between messages, so at most one exchange (bounded
        // by the SMTP timeout) delays the shutdown.
        let next = step(&mail, &mut failures).await;
        match next {
            Next::Again => {}
            Next::Stop => return,
            Next::Idle => {
                tokio::select! {
                    _ = heads.changed() => {}
                    _ = stop.changed() => {}
                }
            }
            Next::Backoff(wait) => {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// Stores the outbox position; whether it could.
async fn advance(mail: &Mail, position: u64) -> Result<(), Retry> {
    let store = mail.store.clone();
    blocking(move || store.set_mail_position(position))
        .await
        .map_err(Retry)?;
    mail.state().position = position;
    mail.outbox_moved.send_replace(position);
    Ok(())
}

async fn step(mail: &Arc<Mail>, failures: &mut u32) -> Next {
    let position = mail.state().position;
    // Only what the projections have applied: committed, and with its learners in the
    // directory.
    let head = mail.read.read().position;
    if position >= head {
        return Next::Idle;
    }
    let history = mail.history.clone();
    let batch = match blocking(move || history.read()?.events_after(position, BATCH)).await {
        Ok(batch) => batch,
        Err(e) => {
            tracing::error!(error = %e, "the mail outbox cannot read the events");
            *failures = failures.saturating_add(1);
            return Next::Backoff(mail.backoff(*failures));
        }
    };
    let batch: Vec<Envelope> = batch.into_iter().filter(|e| e.position <= head).collect();
    let Some(last) = batch.last().map(|e| e.position) else {
        return Next::Idle;
    };
    let mut passed = position;
    for envelope in &batch {
        let planned = {
            let read = mail.read.read();
            message::plan(envelope, &read, &*mail.show_time, mail.links.as_ref())
        };
        for p in &planned {
            if *mail.stop.borrow() {
                return Next::Stop;
            }
            let mark = MailMark::Event {
                position: envelope.position,
                learner: p.learner.0,
            };
            let id = mail.message_id(&format!("{}.{}", envelope.position, p.learner.0.simple()));
            if let Err(Retry(error)) = mail.deliver(p, mark, envelope.position, id).await {
                if passed > position {
                    // What went before is done: keep it done.
                    let _ = advance(mail, passed).await;
                }
                tracing::warn!(error = %error, position = envelope.position, "e-mail not sent; will retry");
                *failures = failures.saturating_add(1);
                return Next::Backoff(mail.backoff(*failures));
            }
        }
        passed = envelope.position;
        if !planned.is_empty() {
            if let Err(Retry(error)) = advance(mail, passed).await {
                tracing::error!(error = %error, "cannot store the mail outbox position");
                *failures = failures.saturating_add(1);
                return Next::Backoff(mail.backoff(*failures));
            }
        }
    }
    if mail.state().position < last {
        if let Err(Retry(error)) = advance(mail, last).await {
            tracing::error!(error = %error, "cannot store the mail outbox position");
            *failures = failures.saturating_add(1);
            return Next::Backoff(mail.backoff(*failures));
        }
    }
    *failures = 0;
    Next::Again
}
