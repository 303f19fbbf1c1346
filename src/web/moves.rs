//! Moving a learner to another cohort from their page: which cohorts they can move out of and
//! into (a cohort whose rules would refuse is not offered, or says why), the preview line (the
//! writer's own preview, deciding the transfer on both cohorts now) and the plain words of a move
//! done. The page and its form handlers are in `learners`.

use jiff::Timestamp;

use super::AppState;
use super::error::describe;
use crate::domain::{CohortId, CohortStatus, Event, LearnerId, RuleViolation};
use crate::learner_key::LearnerKey;
use crate::projections::{CatalogFilter, Projections};
use crate::store::Envelope;
use crate::writer::{CommandError, Request, TransferSummary, refused_cohort};

/// Most cohorts the target list offers.
const MAX_TARGETS: usize = 200;

/// A cohort the learner could be moved out of, with where to.
pub struct MoveOut {
    /// The cohort left: id and name.
    pub from: (String, String),
    /// Why the learner cannot be moved out of it now (the form is then not shown).
    pub closed: Option<String>,
    /// The open cohorts they could join: id and name.
    pub targets: Vec<(String, String)>,
}

/// What moving the learner would do, in plain words.
pub struct MovePreview {
    /// The cohort left, id.
    pub from: String,
    /// The cohort joined, id.
    pub to: String,
    /// Whether the move may waitlist them.
    pub allow_waitlist: bool,
    /// "Ana would take a seat in B; …", or why it would be refused.
    pub words: String,
    /// Whether the rules allow it (the confirm button is shown only then).
    pub allowed: bool,
}

/// The cohorts of `cohorts` (those of the learner's timeline) that `learner` is in (enrolled,
/// waitlisted, or holding an offer), each with the open cohorts they could join, at `now`.
#[must_use]
pub fn moves_out(
    read: &Projections,
    learner: LearnerId,
    cohorts: &[CohortId],
    now: Timestamp,
    zone: &super::zone::Zone,
) -> Vec<MoveOut> {
    let filter = CatalogFilter {
        instructor: None,
        status: Some(CohortStatus::Open),
    };
    let mut held: Vec<_> = cohorts
        .iter()
        .filter_map(|c| read.catalog.get(*c))
        .filter(|v| {
            let c = &v.state;
            c.status != CohortStatus::Cancelled
                && (c.is_enrolled(learner)
                    || c.waitlist_place(learner).is_some()
                    || c.offer_of(learner).is_some())
        })
        .collect();
    if held.is_empty() {
        return Vec::new();
    }
    held.sort_by(|a, b| a.state.name.cmp(&b.state.name));
    let (open, _) = read.catalog.list(&filter, 0, usize::MAX);
    held.into_iter()
        .map(|view| {
            let a = &view.state;
            let closed = (a.is_enrolled(learner) && now > a.withdrawal_deadline).then(|| {
                format!(
                    "Moving out of {} is closed: its withdrawal deadline passed on {}.",
                    a.name,
                    zone.show(a.withdrawal_deadline)
                )
            });
            let targets = open
                .iter()
                .map(|v| &v.state)
                .filter(|b| {
                    b.id != a.id
                        && now <= b.enrollment_deadline
                        && !b.is_enrolled(learner)
                        && b.waitlist_place(learner).is_none()
                        && b.offer_of(learner).is_none()
                })
                .take(MAX_TARGETS)
                .map(|b| (b.id.to_string(), b.name.clone()))
                .collect();
            MoveOut {
                from: (a.id.to_string(), a.name.clone()),
                closed,
                targets,
            }
        })
        .collect()
}

/// What moving `key` from `from` to `to` would do now, decided by the writer's preview.
#[must_use]
pub fn preview(
    state: &AppState,
    key: &LearnerKey,
    (from, to): (CohortId, CohortId),
    allow_waitlist: bool,
) -> MovePreview {
    let preview = state.preview();
    let now = state.clock.now();
    let mut from_stage = preview.now(from, now);
    let mut to_stage = preview.now(to, now);
    let request = Request::Transfer {
        cohort: from,
        to,
        learner: key.clone(),
        allow_waitlist,
        reason: String::new(),
    };
    let decided = preview.decide_transfer(&mut from_stage, &mut to_stage, &request, (None, None));
    let read = state.read.read();
    let (words, allowed) = match decided {
        Ok(predicted) => {
            let events = predicted.from.events.iter().chain(&predicted.to.events);
            (
                words(&read, key, (from, to), TransferSummary::of(events), true),
                true,
            )
        }
        Err(e) => (refusal(&read, &e, &who(&read, key)), false),
    };
    MovePreview {
        from: from.to_string(),
        to: to.to_string(),
        allow_waitlist,
        words,
        allowed,
    }
}

/// A move refused, in plain words, naming the cohort it concerns.
#[must_use]
pub fn refusal(read: &Projections, error: &CommandError, who: &str) -> String {
    let name = refused_cohort(error)
        .and_then(|c| read.catalog.get(c))
        .map(|v| v.state.name.clone());
    let rule = match error {
        CommandError::TransferRefused(refused) => describe(&refused.violation, Some(who)),
        CommandError::Rejected(RuleViolation::CohortNotFound { .. }) => "no such cohort".to_owned(),
        CommandError::Rejected(violation) => describe(violation, Some(who)),
        other => other.to_string(),
    };
    match name {
        Some(name) => format!("{name}: {rule}"),
        None => rule,
    }
}

/// The words of a move done: `events` are the transfer's (the cohort left's, then the cohort
/// joined's); `None` unless they are one transfer.
#[must_use]
pub fn done_words(read: &Projections, events: &[Envelope]) -> Option<String> {
    let (learner, from, to) = events.iter().find_map(|e| match e.event {
        Event::StudentTransferredOut { learner, to, .. } => Some((learner, e.cohort, to)),
        _ => None,
    })?;
    let joined = events.iter().any(|e| {
        e.cohort == to
            && matches!(e.event, Event::StudentTransferredIn { learner: l, from: f, .. } if l == learner && f == from)
    });
    if !joined
        || events
            .iter()
            .any(|e| e.meta.command_id != events[0].meta.command_id)
    {
        return None;
    }
    let key = LearnerKey::parse(&read.directory.key_of(learner)).ok()?;
    let summary = TransferSummary::of(events.iter().map(|e| &e.event));
    Some(words(read, &key, (from, to), summary, false))
}

/// The learner as pages name them: their name, else their key.
fn who(read: &Projections, key: &LearnerKey) -> String {
    read.directory
        .id_of(key.as_str())
        .map(|id| read.directory.name_of(id).to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| key.to_string())
}

/// "Ana would take a seat in B; the head of the waitlist in A, Bo, would be promoted", or, done,
/// "Ana moved from A to B — took a seat; Bo promoted in A".
fn words(
    read: &Projections,
    key: &LearnerKey,
    (from, to): (CohortId, CohortId),
    summary: TransferSummary,
    would: bool,
) -> String {
    let name = |c: CohortId| {
        read.catalog
            .get(c)
            .map_or_else(|| c.to_string(), |v| v.state.name.clone())
    };
    let person = |l: LearnerId| {
        let name = read.directory.name_of(l);
        if name.is_empty() {
            read.directory.key_of(l)
        } else {
            name.to_owned()
        }
    };
    let (a, b, ana) = (name(from), name(to), who(read, key));
    let mut text = match (would, summary.waitlisted_at) {
        (true, None) => format!("{ana} would take a seat in {b}"),
        (true, Some(place)) => format!("{ana} would join the waitlist of {b} at place {place}"),
        (false, None) => format!("{ana} moved from {a} to {b} — took a seat"),
        (false, Some(place)) => {
            format!("{ana} moved from {a} to {b} — joined the waitlist at place {place}")
        }
    };
    let filled = match (would, summary.promoted, summary.offered) {
        (true, Some(l), _) => format!(
            "; the head of the waitlist in {a}, {}, would be promoted",
            person(l)
        ),
        (true, None, Some(l)) => format!(
            "; the head of the waitlist in {a}, {}, would be offered the seat",
            person(l)
        ),
        (false, Some(l), _) => format!("; {} promoted in {a}", person(l)),
        (false, None, Some(l)) => format!("; {} offered the seat in {a}", person(l)),
        (_, None, None) => String::new(),
    };
    text.push_str(&filled);
    text.push('.');
    text
}
