//! The Admin page's "Learner e-mail" section: whether mail is on, the server (never its
//! credentials), the outbox position and lag, the last error, counts since start, and the
//! recent refusals (learners erased since are left out).

use super::AppState;

/// The section.
#[derive(Default)]
pub struct MailAdmin {
    /// Whether `--smtp-url` is set.
    pub configured: bool,
    /// The server, without credentials.
    pub server: String,
    /// The sender.
    pub from: String,
    /// The outbox position.
    pub position: u64,
    /// Events committed after it.
    pub lag: u64,
    /// The last error: when, and what.
    pub last_error: Option<(String, String)>,
    /// When the server last accepted a message.
    pub last_sent: String,
    /// Since start: sent, refused, skipped, retried.
    pub counts: (u64, u64, u64, u64),
    /// Recent refusals: when, learner, subject, the server's answer.
    pub failures: Vec<(String, String, String, String)>,
}

/// The section as the page shows it now.
pub fn section(state: &AppState) -> MailAdmin {
    let Some(mail) = state.mail.as_ref().filter(|m| m.is_configured()) else {
        return MailAdmin::default();
    };
    let status = mail.status();
    let read = state.read.read();
    MailAdmin {
        configured: true,
        server: status.server,
        from: status.from,
        position: status.position,
        lag: status.lag,
        last_error: status.last_error.map(|(at, e)| (state.zone.show(at), e)),
        last_sent: status
            .last_sent
            .map_or_else(String::new, |t| state.zone.show(t)),
        counts: (status.sent, status.failed, status.skipped, status.retried),
        failures: status
            .failures
            .into_iter()
            .filter(|f| {
                !read
                    .directory
                    .is_erased(crate::domain::LearnerId(f.learner))
            })
            .map(|f| {
                (
                    state.zone.show(f.at),
                    read.directory.label_of(crate::domain::LearnerId(f.learner)),
                    f.subject,
                    f.detail,
                )
            })
            .collect(),
    }
}
