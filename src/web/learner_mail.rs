//! The learner page's "E-mails" section: what rollbook sent the learner, in plain words (sent,
//! refused by the mail server and why, or not sent because no address is on file), newest first,
//! from the mail log ([`crate::mail`]).

use super::AppState;
use super::zone::When;
use crate::domain::LearnerId;
use crate::store::MailOutcome;

/// Lines shown.
const LINES: usize = 50;

/// One e-mail as the learner page lists it.
pub struct MailRow {
    /// When it was sent (or refused, or skipped).
    pub when: When,
    /// Its subject.
    pub subject: String,
    /// `sent`, `failed` or `skipped` (a CSS class too).
    pub outcome: &'static str,
    /// What happened, in words.
    pub words: String,
}

/// The section.
#[derive(Default)]
pub struct MailSection {
    /// Whether learner e-mail is on.
    pub configured: bool,
    /// Whether the learner's key is an e-mail address.
    pub has_address: bool,
    /// Newest first.
    pub rows: Vec<MailRow>,
    /// The log could not be read.
    pub unreadable: bool,
}

/// The section of `learner` (key `key`).
pub async fn section(state: &AppState, learner: LearnerId, key: &str) -> MailSection {
    let Some(mail) = state.mail.as_ref().filter(|m| m.is_configured()) else {
        return MailSection::default();
    };
    let mut section = MailSection {
        configured: true,
        has_address: crate::mail::address_of(key).is_some(),
        ..MailSection::default()
    };
    match mail.log_of(learner, LINES).await {
        Ok(lines) => {
            let now = state.clock.now();
            section.rows = lines
                .into_iter()
                .map(|line| {
                    let (outcome, words) = match line.outcome {
                        MailOutcome::Sent => ("sent", "Sent".to_owned()),
                        MailOutcome::Failed => (
                            "failed",
                            format!("Not sent: the mail server refused it ({})", line.detail),
                        ),
                        MailOutcome::Skipped => ("skipped", format!("Not sent: {}", line.detail)),
                    };
                    MailRow {
                        when: state.zone.when(line.at, now),
                        subject: line.subject,
                        outcome,
                        words,
                    }
                })
                .collect();
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read a learner's mail log");
            section.unreadable = true;
        }
    }
    section
}
