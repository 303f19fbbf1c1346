//! The reminder task: an offer about to lapse is not an event, so this task looks at the
//! outstanding offers the projections hold (the same index the offer scheduler reads) and mails
//! each learner once when a quarter of the hold, or 12 hours, remains, whichever is shorter
//! ([`super::reminder_at`]). A reminder is recorded with a mark of (cohort, learner, expiry)
//! in the store, so a restart does not send it twice; it waits until the outbox has sent the
//! offer's own message. It wakes at the next reminder's time, after each commit, and when a test
//! clock moves.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::{Mail, Retry, message, reminder_at};
use crate::domain::{CohortId, LearnerId};
use crate::store::MailMark;

/// A reminder due now: the offer (cohort, learner, expiry) and its `waitlist.offered` position.
type Due = ((CohortId, LearnerId, Timestamp), u64);

/// The reminders due at `now` not yet known to be handled, and when the next one falls due.
fn due(mail: &Mail, now: Timestamp) -> (Vec<Due>, Option<Timestamp>) {
    let outbox = mail.state().position;
    let reminded = mail.state().reminded.clone();
    let read = mail.read.read();
    let mut due = Vec::new();
    let mut next: Option<Timestamp> = None;
    for (expires_at, cohort, learner) in read.signals.offers_due_by(Timestamp::MAX) {
        if expires_at <= now || reminded.contains(&(cohort, learner, expires_at)) {
            continue;
        }
        let Some(offer) = read
            .catalog
            .get(cohort)
            .and_then(|v| v.state.offer_of(learner).copied())
        else {
            continue;
        };
        let at = reminder_at(offer.offered_at, expires_at);
        if at > now {
            next = Some(next.map_or(at, |n| n.min(at)));
            continue;
        }
        let Some(offered) = read
            .timeline(learner)
            .iter()
            .rev()
            .find(|e| e.cohort == cohort && e.event_type == "waitlist.offered")
            .map(|e| e.position)
        else {
            continue;
        };
        // The offer's own message first.
        if offered > outbox {
            continue;
        }
        due.push(((cohort, learner, expires_at), offered));
    }
    (due, next)
}

pub(super) async fn run(mail: Arc<Mail>) {
    let mut heads = mail.read.applied_positions();
    // A reminder waits for the offer's own message: the outbox's progress wakes it too.
    let mut outbox = mail.outbox_moved.subscribe();
    let mut clock_moved = mail.clock.changes();
    let mut stop = mail.stop.subscribe();
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        heads.borrow_and_update();
        outbox.borrow_and_update();
        if let Some(moved) = clock_moved.as_mut() {
            moved.borrow_and_update();
        }
        let now = mail.clock.now();
        let (due, next) = due(&mail, now);
        let mut retry = None;
        for (offer, offered) in due {
            let (cohort, learner, expires_at) = offer;
            let planned = {
                let read = mail.read.read();
                message::reminder(&read, &*mail.show_time, mail.links.as_ref(), offer, offered)
            };
            let mark = MailMark::Reminder {
                cohort: cohort.0,
                learner: learner.0,
                expires_at: expires_at.as_microsecond(),
            };
            let id = mail.message_id(&format!(
                "reminder.{offered}.{}.{}",
                learner.0.simple(),
                expires_at.as_microsecond()
            ));
            // Not cut by a stop (see the outbox); checked between reminders.
            if *stop.borrow() {
                return;
            }
            match mail.deliver(&planned, mark, offered, id).await {
                Ok(()) => {
                    mail.state().reminded.insert(offer);
                }
                Err(Retry(error)) => {
                    tracing::warn!(error = %error, "offer reminder not sent; will retry");
                    failures = failures.saturating_add(1);
                    retry = Some(mail.backoff(failures));
                    break;
                }
            }
        }
        if retry.is_none() {
            failures = 0;
        }
        let wait = retry.or_else(|| {
            next.map(|at| {
                let ahead = at.duration_since(mail.clock.now());
                let millis = u64::try_from(ahead.as_millis()).unwrap_or(0);
                Duration::from_millis(millis.saturating_add(1))
            })
        });
        let clock_change = async {
            if let Some(moved) = clock_moved.as_mut()
                && moved.changed().await.is_ok()
            {
                return;
            }
            std::future::pending::<()>().await;
        };
        let timer = async {
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.changed() => {}
            _ = heads.changed() => {}
            _ = outbox.changed() => {}
            () = clock_change => {}
            () = timer => {}
        }
    }
}
