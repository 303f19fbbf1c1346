//! The learner page's "seat story": for each cohort a learner joined, in plain words, when they
//! tried, how full the cohort was then, what they got (a seat, or a place on the waitlist), what
//! changed while they waited (who got a seat before them and what freed it, seats added, enrollment
//! closed) and what happens next, worded by the cohort's phase so a place never reads as a promise
//! where no seat can come.
//!
//! Read from the projections kept current after each commit: the learner's timeline, the
//! cohort's history (counters before and after each event, what freed a promoted seat) and the
//! event index. Only the cohort's own events after the learner joined are walked, never the log.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::domain::{CohortId, LearnerId, Phase, PromotionPolicy};
use crate::projections::{EventDetail, HistoryEntry, Projections, TimelineEntry};
use crate::web::zone::{When, Zone};

/// Most changes a story lists (the newest); the rest are counted.
const MAX_CHANGES: usize = 8;
/// Most of a cohort's events walked after the learner joined it.
const MAX_WALK: usize = 20_000;

/// One cohort's seat story.
pub struct SeatStory {
    /// The cohort: id and name.
    pub cohort_id: String,
    pub cohort_name: String,
    /// Its phase now (the badge).
    pub phase: Phase,
    /// When the learner tried.
    pub tried: When,
    /// How full it was then: "20 of 20 seats taken, 3 waiting".
    pub fullness: String,
    /// What they got: "Cohort full — joined the waitlist at place 4".
    pub outcome: String,
    /// The event code of the outcome, shown small.
    pub outcome_code: &'static str,
    /// True when the outcome was a waitlist place (amber, not green).
    pub waitlisted: bool,
    /// What changed since, oldest first (at most [`MAX_CHANGES`]).
    pub changes: Vec<StoryChange>,
    /// Changes before those listed (not shown).
    pub earlier_changes: usize,
    /// How their place moved: "Moved up from place 4 to place 2." (empty when it did not).
    pub moved: String,
    /// What happens next, in words that depend on the phase.
    pub next: String,
    /// `ok` (holds a seat or a place that moves), `warn` (waiting where no seat will come),
    /// `end` (left, released): the CSS class of the "next" line.
    pub next_kind: &'static str,
    /// The cohort as it was just after they tried, with them highlighted.
    pub as_of_href: String,
}

/// One change in a story.
pub struct StoryChange {
    /// When it happened.
    pub when: When,
    /// In words: "Ben Okafor got a seat — freed by Carl Diaz's withdrawal (#12)".
    pub words: String,
    /// The event code, shown small.
    pub code: &'static str,
}

/// How the learner came into the cohort at their latest attempt.
enum Joined {
    Seat,
    Waitlist(u32),
}

/// The stories of `learner` in every cohort of `timeline` they joined, the most recently tried
/// first; `key` is their key escaped for a query string (the links name them).
#[must_use]
pub fn stories(
    read: &Projections,
    learner: LearnerId,
    key: &str,
    timeline: &[TimelineEntry],
    zone: &Zone,
    now: Timestamp,
) -> Vec<SeatStory> {
    let mut cohorts: Vec<CohortId> = Vec::new();
    for e in timeline.iter().rev() {
        if !cohorts.contains(&e.cohort) {
            cohorts.push(e.cohort);
        }
    }
    let ctx = Context {
        read,
        learner,
        who: person(read, learner),
        zone,
        now,
    };
    cohorts
        .into_iter()
        .filter_map(|cohort| {
            let mine: Vec<&TimelineEntry> =
                timeline.iter().filter(|e| e.cohort == cohort).collect();
            ctx.story(cohort, key, &mine)
        })
        .collect()
}

/// What every story of one page needs.
struct Context<'a> {
    read: &'a Projections,
    learner: LearnerId,
    /// The learner as the story names them.
    who: String,
    zone: &'a Zone,
    now: Timestamp,
}

impl Context<'_> {
    /// The story of one cohort, from the learner's events in it (oldest first); `None` when
    /// they never joined it (only offers or releases without a join on file).
    fn story(&self, cohort: CohortId, key: &str, mine: &[&TimelineEntry]) -> Option<SeatStory> {
        let read = self.read;
        let view = read.catalog.get(cohort)?;
        let at = mine.iter().rposition(|e| {
            matches!(
                e.event_type,
                "student.enrolled" | "student.waitlisted" | "student.transferred_in"
            )
        })?;
        let join = read
            .history
            .entry_at(cohort, mine[at].position, &read.events)?;
        let joined = match (&join.detail, join.event_type) {
            (
                Some(EventDetail::TransferredIn {
                    waitlisted_at: Some(place),
                    ..
                }),
                _,
            ) => Joined::Waitlist(*place),
            (_, "student.waitlisted") => Joined::Waitlist(join.after.waitlist),
            _ => Joined::Seat,
        };
        let before = join.before;
        let mut fullness = format!("{} of {} seats taken", before.taken(), before.capacity);
        if before.waitlist > 0 {
            let _ = write!(fullness, ", {} waiting", before.waitlist);
        }
        let came = match &join.detail {
            Some(EventDetail::TransferredIn { from_name, .. }) => {
                format!("Moved in from {from_name}")
            }
            _ => String::new(),
        };
        let (outcome, waitlisted) = match joined {
            Joined::Seat if came.is_empty() && before.taken() + 1 == before.capacity => {
                ("Took the last seat".to_owned(), false)
            }
            Joined::Seat if came.is_empty() => ("Took a seat".to_owned(), false),
            Joined::Seat => (format!("{came} — took a seat"), false),
            Joined::Waitlist(place) if came.is_empty() => (
                format!("Cohort full — joined the waitlist at place {place}"),
                true,
            ),
            Joined::Waitlist(place) => (
                format!("{came} — cohort full, joined the waitlist at place {place}"),
                true,
            ),
        };
        let (changes, earlier_changes) = if waitlisted {
            self.changes_since(cohort, &join)
        } else {
            (Vec::new(), 0)
        };
        let state = &view.state;
        let place_now = state.waitlist_place(self.learner);
        let moved = match (&joined, place_now) {
            (Joined::Waitlist(first), Some(now)) if now < *first => {
                format!("Moved up from place {first} to place {now}.")
            }
            _ => String::new(),
        };
        let last = mine.last().copied();
        let (next, next_kind) = self.next(view, place_now, last);
        Some(SeatStory {
            cohort_id: cohort.to_string(),
            cohort_name: state.name.clone(),
            phase: Phase::of(state, self.now),
            tried: self.zone.when(join.occurred_at, self.now),
            fullness,
            outcome,
            outcome_code: join.event_type,
            waitlisted,
            changes,
            earlier_changes,
            moved,
            next,
            next_kind,
            as_of_href: format!("/cohorts/{cohort}?as_of={}&learner={key}", join.position),
        })
    }

    /// What changed in `cohort` after `join` while the learner waited: up to and including the
    /// event that ended their wait (a seat, an offer, leaving), or up to now.
    fn changes_since(&self, cohort: CohortId, join: &HistoryEntry) -> (Vec<StoryChange>, usize) {
        let read = self.read;
        let steps = read.history.of(cohort);
        let from = steps.partition_point(|p| p <= join.position);
        let end = steps.len().min(from.saturating_add(MAX_WALK));
        let mut notable = Vec::new();
        for p in steps.range(from..end) {
            let Some(kind) = read.events.kind(p) else {
                continue;
            };
            let code = crate::domain::Event::TYPE_NAMES
                .get(usize::from(kind))
                .copied()
                .unwrap_or("");
            let notable_kind = matches!(
                code,
                "waitlist.promoted"
                    | "waitlist.offered"
                    | "waitlist.left"
                    | "student.withdrawn"
                    | "student.transferred_out"
                    | "cohort.capacity_changed"
                    | "enrollment.closed"
                    | "enrollment.reopened"
                    | "cohort.rescheduled"
                    | "cohort.cancelled"
                    | "cohort.policy_changed"
                    | "student.released"
                    | "offer.declined"
                    | "offer.expired"
            );
            if !notable_kind {
                continue;
            }
            let Some(entry) = read.history.entry_at(cohort, p, &read.events) else {
                continue;
            };
            let mine = entry.learner == Some(self.learner);
            // Seats freed without a promotion show in the promotion they cause; others'
            // releases are part of the cancellation.
            let words = match (code, mine) {
                // A seat freed while enrollment is closed is not filled: say so.
                ("student.withdrawn" | "student.transferred_out", false) if !entry.after.open => {
                    format!(
                        "{} — enrollment is closed, so the seat was not filled",
                        self.words(&entry, false)
                    )
                }
                (
                    "student.withdrawn"
                    | "offer.declined"
                    | "offer.expired"
                    | "student.released"
                    | "student.transferred_out",
                    false,
                ) => continue,
                _ => self.words(&entry, mine),
            };
            notable.push(StoryChange {
                when: self.zone.when(entry.occurred_at, self.now),
                words,
                code: entry.event_type,
            });
            // Their wait is over: a seat, an offer, or leaving.
            if mine
                && matches!(
                    code,
                    "waitlist.promoted"
                        | "waitlist.left"
                        | "student.released"
                        | "student.transferred_out"
                        | "student.withdrawn"
                )
            {
                break;
            }
        }
        let earlier = notable.len().saturating_sub(MAX_CHANGES);
        notable.drain(..earlier);
        (notable, earlier)
    }

    /// One change in words.
    fn words(&self, entry: &HistoryEntry, mine: bool) -> String {
        let name =
            |l: Option<LearnerId>| l.map_or_else(|| "someone".to_owned(), |l| person(self.read, l));
        let subject = if mine {
            self.who.clone()
        } else {
            name(entry.learner)
        };
        match entry.event_type {
            "waitlist.promoted" => format!("{subject} got a seat{}", self.freed(entry)),
            "waitlist.offered" => format!("{subject} was offered a seat{}", self.freed(entry)),
            "waitlist.left" => format!("{subject} left the waitlist"),
            "student.withdrawn" => format!("{subject} withdrew"),
            "student.released" => format!("{subject} was released: the cohort was cancelled"),
            "student.transferred_out" => format!("{subject} moved to another cohort"),
            "offer.declined" => format!("{subject} declined the offered seat"),
            "offer.expired" => format!("{subject}'s offered seat expired"),
            "cohort.capacity_changed" => format!(
                "Seats changed from {} to {} by {}",
                entry.before.capacity, entry.after.capacity, entry.actor
            ),
            "enrollment.closed" => format!("Enrollment closed by {}", entry.actor),
            "enrollment.reopened" => format!("Enrollment reopened by {}", entry.actor),
            "cohort.rescheduled" => format!("Dates changed by {}", entry.actor),
            "cohort.cancelled" => format!("Cohort cancelled by {}", entry.actor),
            "cohort.policy_changed" => {
                format!("How freed seats are filled changed by {}", entry.actor)
            }
            other => other.to_owned(),
        }
    }

    /// What freed the seat a promotion or offer filled: " — seat freed by Carl Diaz's
    /// withdrawal (#12)", or " — promoted by hand by ana" for a manual promotion.
    fn freed(&self, entry: &HistoryEntry) -> String {
        let Some((cause, code)) = entry.freed_by else {
            return format!(" — promoted by hand by {}", entry.actor);
        };
        let by = self
            .read
            .events
            .event(cause)
            .and_then(|e| e.learner)
            .map(|l| person(self.read, l));
        let what = match (code, by) {
            ("student.withdrawn", Some(by)) => format!("{by}'s withdrawal"),
            ("offer.declined", Some(by)) => format!("{by} declining an offered seat"),
            ("offer.expired", Some(by)) => format!("{by}'s offer running out"),
            ("student.transferred_out", Some(by)) => format!("{by} moving to another cohort"),
            ("cohort.capacity_changed", _) => "seats added".to_owned(),
            ("enrollment.reopened", _) => "enrollment reopening".to_owned(),
            (other, _) => other.to_owned(),
        };
        format!(" — seat freed by {what} (#{cause})")
    }

    /// What happens next for the learner in `view`, in words, and how it reads (`ok`, `warn`,
    /// `end`); `last` is their newest event in the cohort.
    fn next(
        &self,
        view: &crate::projections::CohortView,
        place: Option<u32>,
        last: Option<&TimelineEntry>,
    ) -> (String, &'static str) {
        let c = &view.state;
        let who = &self.who;
        let zone = self.zone;
        let phase = Phase::of(c, self.now);
        if c.is_enrolled(self.learner) {
            let text = match phase {
                Phase::Open | Phase::EnrollmentEnded | Phase::Closed => format!(
                    "{who} has a seat. Classes start {}.",
                    zone.show(c.starts_at)
                ),
                Phase::Finished => format!("{who} had a seat; the cohort has finished."),
                _ => format!("{who} has a seat."),
            };
            return (text, "ok");
        }
        if let Some(offer) = c.offer_of(self.learner) {
            return (
                format!(
                    "A seat is held for {who} until {}: accept or decline it.",
                    zone.show(offer.expires_at)
                ),
                "ok",
            );
        }
        if let Some(place) = place {
            let waiting = c.waitlist.len();
            if Phase::waitlist_moves(c, self.now) {
                let verb = match c.promotion {
                    PromotionPolicy::Automatic => "goes to",
                    PromotionPolicy::Offer { .. } => "is offered to",
                };
                let head = c
                    .waitlist
                    .front()
                    .map(|e| person(self.read, e.learner))
                    .unwrap_or_default();
                let text = match place {
                    1 => format!("Place 1 of {waiting} — the next freed seat {verb} {who}."),
                    2 => format!(
                        "Place 2 of {waiting} — the next freed seat {verb} {head}, then to {who}."
                    ),
                    n => format!(
                        "Place {n} of {waiting} — the next freed seat {verb} {head}; {n} seats must free up before one reaches {who}."
                    ),
                };
                let text = if phase == Phase::Open {
                    text
                } else {
                    format!(
                        "{text} (No one new can join: {}; freed seats still go to the waitlist.)",
                        phase.label().to_lowercase()
                    )
                };
                return (text, "ok");
            }
            let text = match phase {
                Phase::Finished => format!(
                    "The cohort has finished: the waitlist no longer moves, so {who} will not get a seat."
                ),
                Phase::Running => format!(
                    "Classes began on {} and enrollment is closed: {who} will not get a seat unless it is reopened.",
                    zone.show(c.starts_at)
                ),
                _ => format!(
                    "Enrollment is closed: {who} will not get a seat unless it is reopened."
                ),
            };
            return (text, "warn");
        }
        let when = last.map(|e| zone.show(e.occurred_at)).unwrap_or_default();
        let text = match (phase, last.map(|e| e.event_type)) {
            (_, Some("student.released")) | (Phase::Cancelled, _) => {
                format!("Cancelled on {when} — {who} was released.")
            }
            (_, Some("student.withdrawn")) => format!("{who} withdrew on {when}."),
            (_, Some("waitlist.left")) => format!("{who} left the waitlist on {when}."),
            (_, Some("student.transferred_out")) => {
                format!("{who} moved to another cohort on {when}.")
            }
            (_, Some("offer.declined")) => format!("{who} declined the offered seat on {when}."),
            (_, Some("offer.expired")) => {
                format!("The seat offered to {who} expired on {when}.")
            }
            _ => format!("{who} holds no seat or place here now."),
        };
        (text, "end")
    }
}

/// A learner as a story names them: their name, else their key.
fn person(read: &Projections, learner: LearnerId) -> String {
    let name = read.directory.name_of(learner);
    if name.is_empty() {
        read.directory.label_of(learner)
    } else {
        name.to_owned()
    }
}
