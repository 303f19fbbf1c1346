//! What to write to whom: which committed events mail which learners ([`plan`]), and the
//! words of each message, rendered from the templates in `templates/mail/` (the subject, the
//! plain text and the HTML, all from one [`MailContext`]). The wording lives in those templates
//! only; this module gathers the facts (names, places, times in the deployment's zone).

use askama::Template;
use jiff::Timestamp;
use lettre::Address;

use crate::domain::{CohortId, Event, LearnerId};
use crate::projections::Projections;
use crate::store::Envelope;

use super::{OfferLinkPair, OfferLinkSource};

/// Everything a message's templates may say.
#[derive(Clone, Debug, Default)]
pub struct MailContext {
    /// Which message: `enrolled`, `waitlisted`, `promoted`, `offered`, `offer_reminder`,
    /// `offer_expired`, `offer_accepted`, `offer_declined`, `withdrawn`, `left_waitlist`,
    /// `transferred`, `released` (cohort cancelled), `rescheduled`.
    pub kind: &'static str,
    /// The learner's name, or empty.
    pub name: String,
    /// The cohort's name.
    pub cohort: String,
    /// Its course.
    pub course: String,
    /// A waitlist place (waitlisted; transferred onto the waitlist).
    pub place: u32,
    /// An offer's deadline, in the deployment's zone.
    pub deadline: String,
    /// The cohort a transferred learner came from.
    pub from_cohort: String,
    /// Whether a transferred learner joined the waitlist (at `place`).
    pub waitlisted: bool,
    /// The cohort's first session, in the deployment's zone.
    pub starts_at: String,
    /// Its last session, when known.
    pub ends_at: String,
    /// Its enrollment deadline.
    pub enrollment_deadline: String,
    /// Its withdrawal deadline.
    pub withdrawal_deadline: String,
    /// Accept and decline links of an offer (with `--public-url`).
    pub links: Option<OfferLinkPair>,
}

#[derive(Template)]
#[template(path = "mail/subject.txt")]
struct Subject<'a> {
    m: &'a MailContext,
}

#[derive(Template)]
#[template(path = "mail/body.txt")]
struct TextBody<'a> {
    m: &'a MailContext,
}

#[derive(Template)]
#[template(path = "mail/body.html")]
struct HtmlBody<'a> {
    m: &'a MailContext,
}

/// A message's words: subject, plain text, HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// One line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl MailContext {
    /// Renders the three parts from the templates.
    pub fn render(&self) -> Result<Rendered, askama::Error> {
        let subject = Subject { m: self }.render()?;
        Ok(Rendered {
            // One line, whatever the template's white space.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: TextBody { m: self }.render()?,
            html: HtmlBody { m: self }.render()?,
        })
    }
}

/// One e-mail to write: to whom, about what.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The learner.
    pub learner: LearnerId,
    /// The cohort it is about.
    pub cohort: CohortId,
    /// The learner's address, when their key is one (`None`: skipped, no address on file).
    pub address: Option<Address>,
    /// The facts for the templates.
    pub context: MailContext,
}

/// The learner's e-mail address: their key, when it is one (a student number is not).
#[must_use]
pub fn address_of(key: &str) -> Option<Address> {
    if !key.contains('@') {
        return None;
    }
    key.parse().ok()
}

/// Facts of the cohort for every message about it.
fn cohort_context(
    read: &Projections,
    cohort: CohortId,
    show: &dyn Fn(Timestamp) -> String,
    kind: &'static str,
) -> MailContext {
    let mut context = MailContext {
        kind,
        ..MailContext::default()
    };
    if let Some(view) = read.catalog.get(cohort) {
        let state = &view.state;
        context.cohort.clone_from(&state.name);
        context.course.clone_from(&state.course);
        context.starts_at = show(state.starts_at);
        context.ends_at = state.ends_at.map(show).unwrap_or_default();
        context.enrollment_deadline = show(state.enrollment_deadline);
        context.withdrawal_deadline = show(state.withdrawal_deadline);
    }
    context
}

/// The e-mail of `kind` to `learner` about `cohort`, with its address and name from the
/// directory (an erased learner has neither).
fn to_learner(
    read: &Projections,
    learner: LearnerId,
    cohort: CohortId,
    mut context: MailContext,
) -> Planned {
    let (address, name) = read
        .directory
        .get(learner)
        .map_or((None, String::new()), |r| {
            (address_of(&r.key), r.name.clone())
        });
    context.name = name;
    Planned {
        learner,
        cohort,
        address,
        context,
    }
}

/// The e-mails a committed event asks for, in a fixed order (by learner id). The cohort's
/// facts and the learners' addresses are read from the projections as they are now (after the
/// event): a message sent late says the cohort's current name. A reschedule mails everyone the
/// cohort holds (enrolled, offered, waiting) now.
#[must_use]
pub fn plan(
    envelope: &Envelope,
    read: &Projections,
    show: &dyn Fn(Timestamp) -> String,
    links: Option<&OfferLinkSource>,
) -> Vec<Planned> {
    let cohort = envelope.cohort;
    let one = |learner: LearnerId, kind: &'static str, f: &dyn Fn(&mut MailContext)| {
        let mut context = cohort_context(read, cohort, show, kind);
        f(&mut context);
        vec![to_learner(read, learner, cohort, context)]
    };
    match &envelope.event {
        Event::StudentEnrolled { learner } => one(*learner, "enrolled", &|_| {}),
        Event::StudentWaitlisted { learner, position } => {
            one(*learner, "waitlisted", &|c| c.place = *position)
        }
        Event::WaitlistPromoted { learner } => one(*learner, "promoted", &|_| {}),
        Event::WaitlistOffered {
            learner,
            expires_at,
            ..
        } => one(*learner, "offered", &|c| {
            c.deadline = show(*expires_at);
            c.links = links.and_then(|f| f(cohort, *learner, envelope.position, *expires_at));
        }),
        Event::OfferAccepted { learner } => one(*learner, "offer_accepted", &|_| {}),
        Event::OfferDeclined { learner, .. } => one(*learner, "offer_declined", &|_| {}),
        Event::OfferExpired { learner } => one(*learner, "offer_expired", &|_| {}),
        Event::StudentWithdrawn { learner, .. } => one(*learner, "withdrawn", &|_| {}),
        Event::WaitlistLeft { learner, .. } => one(*learner, "left_waitlist", &|_| {}),
        Event::StudentTransferredIn {
            learner,
            from,
            waitlisted_at,
        } => one(*learner, "transferred", &|c| {
            c.from_cohort = read
                .catalog
                .get(*from)
                .map(|v| v.state.name.clone())
                .unwrap_or_default();
            c.waitlisted = waitlisted_at.is_some();
            c.place = waitlisted_at.unwrap_or(0);
        }),
        Event::StudentReleased { learner } => one(*learner, "released", &|_| {}),
        Event::CohortRescheduled { .. } => {
            let Some(view) = read.catalog.get(cohort) else {
                return Vec::new();
            };
            let state = &view.state;
            let mut learners: Vec<LearnerId> = state
                .enrolled
                .iter()
                .copied()
                .chain(state.offers.iter().map(|o| o.learner))
                .chain(state.waitlist.iter().map(|w| w.learner))
                .collect();
            learners.sort_unstable();
            learners.dedup();
            learners
                .into_iter()
                .map(|learner| {
                    to_learner(
                        read,
                        learner,
                        cohort,
                        cohort_context(read, cohort, show, "rescheduled"),
                    )
                })
                .collect()
        }
        // Transferred out: the learner hears once, from the cohort they joined.
        Event::StudentTransferredOut { .. }
        | Event::CohortCreated(_)
        | Event::CapacityChanged { .. }
        | Event::EnrollmentClosed
        | Event::EnrollmentReopened { .. }
        | Event::CohortDetailsChanged { .. }
        | Event::CohortCancelled { .. }
        | Event::PolicyChanged { .. } => Vec::new(),
    }
}

/// The reminder of an outstanding offer that expires at `expires_at` (`offer_position`: the
/// position of its `waitlist.offered`, for its links).
#[must_use]
pub fn reminder(
    read: &Projections,
    show: &dyn Fn(Timestamp) -> String,
    links: Option<&OfferLinkSource>,
    (cohort, learner, expires_at): (CohortId, LearnerId, Timestamp),
    offer_position: u64,
) -> Planned {
    let mut context = cohort_context(read, cohort, show, "offer_reminder");
    context.deadline = show(expires_at);
    context.links = links.and_then(|f| f(cohort, learner, offer_position, expires_at));
    to_learner(read, learner, cohort, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(links: Option<OfferLinkPair>) -> MailContext {
        MailContext {
            kind: "offered",
            name: "Ana Lima".to_owned(),
            cohort: "Rust 101 — March".to_owned(),
            course: "RUST-101".to_owned(),
            deadline: "2026-03-03 09:00 WET".to_owned(),
            links,
            ..MailContext::default()
        }
    }

    #[test]
    fn every_kind_has_a_subject_and_both_bodies() {
        for kind in [
            "enrolled",
            "waitlisted",
            "promoted",
            "offered",
            "offer_reminder",
            "offer_expired",
            "offer_accepted",
            "offer_declined",
            "withdrawn",
            "left_waitlist",
            "transferred",
            "released",
            "rescheduled",
        ] {
            let context = MailContext {
                kind,
                ..offered(None)
            };
            let r = context.render().unwrap();
            assert!(r.subject.contains("Rust 101"), "{kind}: {}", r.subject);
            assert!(!r.subject.contains('\n'));
            assert!(r.text.contains("Ana Lima"), "{kind}: {}", r.text);
            assert!(r.html.contains("Ana Lima"), "{kind}: {}", r.html);
            assert!(!r.text.contains("{{"), "{kind}");
        }
    }

    #[test]
    fn the_offer_carries_its_deadline_and_links_in_both_bodies() {
        let links = OfferLinkPair {
            accept: "https://rollbook.example.org/offers/accept?t=abc&x=1".to_owned(),
            decline: "https://rollbook.example.org/offers/decline?t=abc&x=1".to_owned(),
        };
        let r = offered(Some(links.clone())).render().unwrap();
        assert!(r.text.contains("2026-03-03 09:00 WET"));
        assert!(r.html.contains("2026-03-03 09:00 WET"));
        assert!(r.text.contains(&links.accept) && r.text.contains(&links.decline));
        // In HTML the `&` of a link is escaped, as an attribute must be.
        assert!(
            r.html
                .contains("href=\"https://rollbook.example.org/offers/accept?t=abc&#38;x=1\"")
                || r.html
                    .contains("href=\"https://rollbook.example.org/offers/accept?t=abc&amp;x=1\""),
            "{}",
            r.html
        );
        let without = offered(None).render().unwrap();
        assert!(!without.text.contains("https://"));
        assert!(!without.html.contains("href="));
    }

    #[test]
    fn names_are_escaped_in_html_and_only_addresses_are_addresses() {
        let r = MailContext {
            kind: "enrolled",
            name: "<b>Ana</b>".to_owned(),
            ..offered(None)
        }
        .render()
        .unwrap();
        assert!(!r.html.contains("<b>Ana</b>"));
        assert!(address_of("ana@example.org").is_some());
        assert!(address_of("s1234567").is_none());
        assert!(address_of("@example.org").is_none());
    }
}
