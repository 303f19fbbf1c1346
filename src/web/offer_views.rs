//! What the pages show of waitlist offers (issue 15): the cohort page's outstanding offers and
//! the plain-words line confirming an answer ("Bo declined — Cy is offered the seat until …"),
//! the learner page's "Offered a seat in … until …", and the dashboard's offers falling due in
//! the next 24 hours. Read from the projections at a given `now`; the forms post to
//! [`super::offers`].

use jiff::{SignedDuration, Timestamp};

use super::zone::Zone;
use crate::domain::{CohortId, CohortStatus, Event, LearnerId};
use crate::projections::{CohortView, Directory, Projections};

/// How far ahead the dashboard lists offers falling due.
pub const DUE_WITHIN: SignedDuration = SignedDuration::from_hours(24);
/// Most offers the dashboard lists.
const DUE_ROWS: usize = 20;

/// "in 3 h 20 min", "in 45 s", or "overdue" — how long until `at`, roughly.
#[must_use]
pub fn time_left(now: Timestamp, at: Timestamp) -> String {
    let left = at.duration_since(now);
    if !left.is_positive() {
        return "overdue (expiring now)".to_owned();
    }
    let secs = left.as_secs();
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    if h >= 48 {
        format!("in {} days", h / 24)
    } else if h > 0 {
        format!("in {h} h {m} min")
    } else if m > 0 {
        format!("in {m} min")
    } else {
        format!("in {secs} s")
    }
}

/// One outstanding offer on the cohort page.
pub struct OfferRow {
    pub key: String,
    pub name: String,
    pub offered_at: super::zone::When,
    pub expires_at: super::zone::When,
    /// How long until it expires, to the minute ("in 3 h 20 min").
    pub expires_in: String,
}

/// One event of the command just done, as the confirmation reads it: its type, the learner's
/// key and label, and its history line in words.
pub struct DoneEvent<'a> {
    pub event_type: &'a str,
    pub learner: &'a str,
    pub learner_label: &'a str,
    pub summary: &'a str,
}

/// The cohort page's offers: the outstanding ones, who is next in line, and the line
/// confirming the command just done (when it concerned offers).
#[derive(Default)]
pub struct OfferPanel {
    pub rows: Vec<OfferRow>,
    /// What happens to a seat declined now, in words ("it is offered to Cy Diaz", "the seat
    /// stays empty: enrollment is closed").
    pub after_decline: String,
    /// Whether staff may answer here (the cohort is not cancelled).
    pub can_answer: bool,
    /// "Ana accepted the seat", "Bo declined — Cy is offered the seat until …".
    pub flash: Option<String>,
}

impl OfferPanel {
    /// The panel of `view` at `now`, with the confirmation of `done` (the events of the
    /// command just done).
    #[must_use]
    pub fn of<'a>(
        view: &CohortView,
        read: &Projections,
        zone: &Zone,
        now: Timestamp,
        done: impl IntoIterator<Item = DoneEvent<'a>>,
    ) -> Self {
        let directory = &read.directory;
        let state = &view.state;
        let until = |learner: LearnerId| {
            state
                .offers
                .iter()
                .find(|o| o.learner == learner)
                .map(|o| zone.show(o.expires_at))
        };
        let flash_parts: Vec<String> = done
            .into_iter()
            .filter_map(|row| {
                let who = row.learner_label;
                match row.event_type {
                    "offer.accepted" => Some(format!("{who} accepted the seat")),
                    "offer.declined" => Some(format!("{who} declined the seat")),
                    "offer.expired" => Some(format!("{who}'s offer expired unanswered")),
                    "waitlist.offered" => {
                        let learner = directory.id_of(row.learner);
                        Some(match learner.and_then(until) {
                            Some(time) => format!("{who} is offered the seat until {time}"),
                            None => row.summary.to_owned(),
                        })
                    }
                    _ => None,
                }
            })
            .collect();
        Self {
            rows: state
                .offers
                .iter()
                .map(|o| OfferRow {
                    key: directory.key_of(o.learner),
                    name: directory.name_of(o.learner).to_owned(),
                    offered_at: zone.when(o.offered_at, now),
                    expires_at: zone.when(o.expires_at, now),
                    expires_in: time_left(now, o.expires_at),
                })
                .collect(),
            after_decline: after_decline(state, directory, now),
            can_answer: state.status != CohortStatus::Cancelled,
            flash: (!flash_parts.is_empty()).then(|| flash_parts.join(" — ")),
        }
    }
}

/// A seat offered to the learner, on their page.
pub struct LearnerOffer {
    pub cohort_id: String,
    pub cohort_name: String,
    pub until: String,
    pub expires_in: String,
    /// What happens to the seat if they decline, in words.
    pub after_decline: String,
}

/// What the rules do with a seat declined (or let go) in `cohort` at `now`, in words: the
/// domain's [`crate::domain::Cohort::freed_seat_goes`].
#[must_use]
pub fn after_decline(
    cohort: &crate::domain::Cohort,
    directory: &Directory,
    now: Timestamp,
) -> String {
    match cohort.freed_seat_goes(now) {
        Some(Event::WaitlistPromoted { learner }) => format!(
            "{} (head of the waitlist) is promoted to it",
            directory.label_of(learner)
        ),
        Some(Event::WaitlistOffered { learner, .. }) => format!(
            "it is offered to {} (head of the waitlist)",
            directory.label_of(learner)
        ),
        _ if cohort.status != CohortStatus::Open => {
            "the seat stays empty: enrollment is closed".to_owned()
        }
        _ => "the seat stays free: nobody is waiting".to_owned(),
    }
}

/// The seats offered to `learner`, in cohort order.
#[must_use]
pub fn offers_of(
    read: &Projections,
    learner: LearnerId,
    cohorts: &[CohortId],
    zone: &Zone,
    now: Timestamp,
) -> Vec<LearnerOffer> {
    cohorts
        .iter()
        .filter_map(|id| {
            let view = read.catalog.get(*id)?;
            let offer = view.state.offers.iter().find(|o| o.learner == learner)?;
            Some(LearnerOffer {
                cohort_id: id.to_string(),
                cohort_name: view.state.name.clone(),
                until: zone.show(offer.expires_at),
                expires_in: time_left(now, offer.expires_at),
                after_decline: after_decline(&view.state, &read.directory, now),
            })
        })
        .collect()
}

/// An offer falling due soon, on the dashboard.
pub struct DueOffer {
    pub learner: String,
    pub learner_label: String,
    pub cohort_id: String,
    pub cohort_name: String,
    pub expires_in: String,
}

/// Offers expiring within [`DUE_WITHIN`] of `now`, soonest first (at most [`DUE_ROWS`]), and
/// how many more there are. Costs one step per offer listed (the signals' index of offers).
#[must_use]
pub fn due_soon(read: &Projections, now: Timestamp) -> (Vec<DueOffer>, usize) {
    let mut due = read.signals.offers_due_by(now + DUE_WITHIN);
    let rows = due
        .by_ref()
        .take(DUE_ROWS)
        .filter_map(|(at, cohort, learner)| {
            let view = read.catalog.get(cohort)?;
            Some(DueOffer {
                learner: read.directory.key_of(learner),
                learner_label: read.directory.label_of(learner),
                cohort_id: cohort.to_string(),
                cohort_name: view.state.name.clone(),
                expires_in: time_left(now, at),
            })
        })
        .collect();
    (rows, due.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_in_plain_words() {
        let now: Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
        let later = |s: i64| now + SignedDuration::from_secs(s);
        assert_eq!(time_left(now, later(45)), "in 45 s");
        assert_eq!(time_left(now, later(600)), "in 10 min");
        assert_eq!(time_left(now, later(3 * 3600 + 1200)), "in 3 h 20 min");
        assert_eq!(time_left(now, later(5 * 86_400)), "in 5 days");
        assert_eq!(time_left(now, now), "overdue (expiring now)");
    }
}
