//! Page templates and the view models they render, copied out of the projections so no lock is
//! held while rendering.

use askama::Template;
use askama_web::WebTemplate;

use super::nav::Nav;
use super::zone::{When, Zone};
use crate::domain::{CohortStatus, Phase, PromotionPolicy, ReasonCode, RuleViolation, format_hold};
use crate::projections::{
    CohortView, Directory, EventDetail, HistoryEntry, Projections, TimelineEntry,
};
use crate::store::JournalEntry;
use jiff::Timestamp;

/// One cohort in a listing.
pub struct CohortRow {
    pub id: String,
    pub name: String,
    pub course: String,
    pub instructor: String,
    pub capacity: u32,
    pub enrolled: u32,
    pub waitlist: usize,
    /// Seats held for an offer (taken, not yet enrolled).
    pub offers: usize,
    pub seats_remaining: u32,
    pub open: bool,
    /// Cancelled: holds nobody and takes no command.
    pub cancelled: bool,
    pub starts_at: When,
    pub enrollment_deadline: When,
    pub withdrawal_deadline: When,
    /// Where it stands: its status and its dates together.
    pub phase: Phase,
    /// Seats taken, in percent (0–100), for the fill bar.
    pub fill_percent: u32,
    pub version: u64,
}

impl CohortRow {
    pub fn of(view: &CohortView, zone: &Zone, now: Timestamp) -> Self {
        let c = &view.state;
        let capacity = c.capacity.seats();
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            course: c.course.clone(),
            instructor: c.instructor.clone(),
            capacity,
            enrolled: c.enrolled_count(),
            waitlist: c.waitlist.len(),
            offers: c.offers.len(),
            seats_remaining: c.seats_remaining(),
            open: c.status == CohortStatus::Open,
            cancelled: c.status == CohortStatus::Cancelled,
            starts_at: zone.when(c.starts_at, now),
            enrollment_deadline: zone.when(c.enrollment_deadline, now),
            withdrawal_deadline: zone.when(c.withdrawal_deadline, now),
            phase: Phase::of(c, now),
            fill_percent: u32::try_from(
                u64::from(c.enrolled_count()) * 100 / u64::from(capacity.max(1)),
            )
            .unwrap_or(u32::MAX),
            version: view.version,
        }
    }

    /// The phase as a CSS class and filter value (`enrollment_ended`).
    pub fn status(&self) -> &'static str {
        self.phase.as_str()
    }
}

/// A learner in a roster or waitlist.
pub struct PersonRow {
    pub key: String,
    pub name: String,
    pub since: String,
    /// Place in the waitlist now (waitlist only).
    pub place: usize,
    /// Place when they joined (waitlist only).
    pub joined_at_place: u32,
}

/// A cohort with its roster and waitlist.
pub struct CohortDetail {
    pub row: CohortRow,
    pub enrolled: Vec<PersonRow>,
    pub waitlist: Vec<PersonRow>,
}

impl CohortDetail {
    pub fn of(view: &CohortView, read: &Projections, zone: &Zone, now: Timestamp) -> Self {
        let directory = &read.directory;
        let since = |l| {
            read.since(view, l)
                .map(|t| zone.show(t))
                .unwrap_or_default()
        };
        Self {
            row: CohortRow::of(view, zone, now),
            enrolled: view
                .state
                .enrolled
                .iter()
                .map(|l| PersonRow {
                    key: directory.key_of(*l),
                    name: directory.name_of(*l).to_owned(),
                    since: since(*l),
                    place: 0,
                    joined_at_place: 0,
                })
                .collect(),
            waitlist: view
                .state
                .waitlist
                .iter()
                .enumerate()
                .map(|(i, e)| PersonRow {
                    key: directory.key_of(e.learner),
                    name: directory.name_of(e.learner).to_owned(),
                    since: since(e.learner),
                    place: i + 1,
                    joined_at_place: e.joined_at_place,
                })
                .collect(),
        }
    }
}

/// One line of a cohort's history, ready to show.
pub struct HistoryRow {
    pub position: u64,
    pub version: u64,
    pub event_type: &'static str,
    pub time: String,
    pub actor: String,
    /// The learner's key, or opaque id: for links.
    pub learner: String,
    /// What to show for the learner (see [`Directory::label_of`]).
    pub learner_label: String,
    /// A withdrawal's reason code, as pages name it ("" for other events).
    pub reason_label: &'static str,
    pub reason: String,
    /// What changed, e.g. "enrolled 29 → 30".
    pub changes: Vec<String>,
    /// For a promotion: the event that freed the seat, as (position, type).
    pub freed_by: Option<(u64, &'static str)>,
    /// A promotion with nothing freeing a seat in its command: a manual one.
    pub manual_promotion: bool,
    /// What happened in plain words, for the events that need more than their counters
    /// ("Ana was offered a seat until …"); "" for the others.
    pub summary: String,
}

impl HistoryRow {
    pub fn of(entry: &HistoryEntry, directory: &Directory, zone: &Zone) -> Self {
        let (b, a) = (entry.before, entry.after);
        let mut changes = Vec::new();
        let mut diff = |label: &str, from: u32, to: u32| {
            if from != to {
                changes.push(format!("{label} {from} → {to}"));
            }
        };
        diff("enrolled", b.enrolled, a.enrolled);
        diff("waitlist", b.waitlist, a.waitlist);
        diff("seats", b.capacity, a.capacity);
        diff("offers", b.offers, a.offers);
        if !b.cancelled && a.cancelled {
            changes.push("cohort cancelled".to_owned());
        } else if b.open && !a.open {
            changes.push("enrollment open → closed".to_owned());
        } else if !b.open && a.open && b.capacity > 0 {
            changes.push("enrollment closed → open".to_owned());
        }
        Self {
            position: entry.position,
            version: entry.version,
            event_type: entry.event_type,
            time: zone.show(entry.occurred_at),
            actor: entry.actor.clone(),
            learner: entry
                .learner
                .map(|l| directory.key_of(l))
                .unwrap_or_default(),
            learner_label: entry
                .learner
                .map(|l| directory.label_of(l))
                .unwrap_or_default(),
            reason_label: entry.reason_code.map_or("", ReasonCode::label),
            reason: shown_reason(
                entry.reason.as_deref().unwrap_or_default(),
                entry.reason_erased,
            ),
            changes,
            freed_by: entry.freed_by,
            manual_promotion: entry.event_type == "waitlist.promoted" && entry.freed_by.is_none(),
            summary: summary(entry, directory, zone),
        }
    }
}

/// A history line in plain words, for the events whose counters do not say it all.
fn summary(entry: &HistoryEntry, directory: &Directory, zone: &Zone) -> String {
    let who = entry
        .learner
        .map(|l| directory.label_of(l))
        .unwrap_or_default();
    let reason = entry
        .reason
        .as_deref()
        .filter(|r| !r.is_empty())
        .map(|r| format!(" — {r}"))
        .unwrap_or_default();
    match (entry.event_type, &entry.detail) {
        ("enrollment.reopened", _) => format!("Enrollment reopened{reason}"),
        (
            _,
            Some(EventDetail::Rescheduled {
                starts_at,
                enrollment_deadline,
                withdrawal_deadline,
            }),
        ) => format!(
            "Rescheduled: starts {}, enrollment deadline {}, withdrawal deadline {}",
            zone.show(*starts_at),
            zone.show(*enrollment_deadline),
            zone.show(*withdrawal_deadline)
        ),
        (
            _,
            Some(EventDetail::DetailsChanged {
                name,
                course,
                instructor,
            }),
        ) => format!("Details changed: {name} ({course}), taught by {instructor}"),
        (_, Some(EventDetail::Cancelled { released })) => format!(
            "Cohort cancelled — {released} learner{} released",
            if *released == 1 { "" } else { "s" }
        ),
        ("student.released", _) => format!("{who} was released: the cohort was cancelled"),
        (
            _,
            Some(EventDetail::Policy {
                promotion,
                waitlist_cap,
            }),
        ) => {
            let promotion = match promotion {
                PromotionPolicy::Automatic => {
                    "freed seats go to the waitlist head at once".to_owned()
                }
                PromotionPolicy::Offer { hold } => {
                    format!("freed seats are offered and held {}", format_hold(*hold))
                }
            };
            let cap = waitlist_cap.map_or_else(
                || "no waitlist cap".to_owned(),
                |cap| format!("waitlist capped at {cap}"),
            );
            format!("Policy: {promotion}; {cap}")
        }
        (_, Some(EventDetail::Offered { expires_at })) => {
            format!("{who} was offered a seat until {}", zone.show(*expires_at))
        }
        ("offer.accepted", _) => format!("{who} accepted the seat offered"),
        ("offer.declined", _) => format!("{who} declined the seat offered{reason}"),
        ("offer.expired", _) => format!("{who}'s offer expired unanswered"),
        (_, Some(EventDetail::TransferredOut { to_name, .. })) => {
            format!("{who} transferred to {to_name}{reason}")
        }
        (
            _,
            Some(EventDetail::TransferredIn {
                from_name,
                waitlisted_at,
                ..
            }),
        ) => match waitlisted_at {
            None => format!("{who} transferred in from {from_name} and took a seat"),
            Some(place) => format!(
                "{who} transferred in from {from_name} and joined the waitlist at place {place}"
            ),
        },
        _ => String::new(),
    }
}

/// One refused command, ready to show.
pub struct JournalRow {
    pub time: String,
    pub actor: String,
    pub cohort_id: String,
    pub cohort_name: String,
    pub learner: String,
    pub command: String,
    pub message: String,
    pub code: &'static str,
}

impl JournalRow {
    pub fn of(entry: &JournalEntry, read: &Projections, zone: &Zone) -> Self {
        let learner = entry.learner.map(|l| read.directory.key_of(l));
        Self {
            time: zone.show(entry.at),
            actor: entry.actor.name.clone(),
            cohort_id: entry.cohort.to_string(),
            cohort_name: read
                .catalog
                .get(entry.cohort)
                .map_or_else(|| entry.cohort.to_string(), |c| c.state.name.clone()),
            message: super::error::describe(&entry.violation, learner.as_deref()),
            learner: learner.unwrap_or_default(),
            command: entry.command.clone(),
            code: entry.violation.code(),
        }
    }
}

/// One line of a learner's timeline, ready to show.
pub struct TimelineRow {
    pub position: u64,
    pub cohort_id: String,
    pub cohort_name: String,
    pub event_type: &'static str,
    pub time: When,
    pub actor: String,
}

impl TimelineRow {
    pub fn of(entry: &TimelineEntry, read: &Projections, zone: &Zone, now: Timestamp) -> Self {
        Self {
            position: entry.position,
            cohort_id: entry.cohort.to_string(),
            cohort_name: read
                .catalog
                .get(entry.cohort)
                .map_or_else(|| entry.cohort.to_string(), |c| c.state.name.clone()),
            event_type: entry.event_type,
            time: zone.when(entry.occurred_at, now),
            actor: entry.actor.clone(),
        }
    }
}

/// Link to the next or previous page of a listing.
pub struct PageLinks {
    pub previous: Option<String>,
    pub next: Option<String>,
    pub first_shown: usize,
    pub last_shown: usize,
    pub total: usize,
}

/// Values and messages of the create-cohort form.
#[derive(Default)]
pub struct CohortForm {
    pub name: String,
    pub course: String,
    pub instructor: String,
    pub capacity: String,
    pub starts_at: String,
    pub enrollment_deadline: String,
    pub withdrawal_deadline: String,
    /// `automatic` (empty: automatic) or `offer`.
    pub promotion: String,
    pub offer_hold: String,
    pub waitlist_cap: String,
    /// (field, message) pairs.
    pub errors: Vec<(&'static str, String)>,
}

impl CohortForm {
    /// The message for `field`, or "".
    pub fn error(&self, field: &str) -> &str {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("", |(_, m)| m.as_str())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "cohort_new.html")]
pub struct NewCohortPage {
    pub nav: Nav,
    pub form: CohortForm,
}

/// Which command form of the cohort page a message belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandForm {
    Enroll,
    Withdraw,
    LeaveWaitlist,
    Promote,
    Capacity,
    Close,
    Reopen,
    Reschedule,
    Details,
    Cancel,
    Policy,
    /// Accepting or declining an offer (issue 15).
    Offer,
}

impl CommandForm {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Enroll => "enroll",
            Self::Withdraw => "withdraw",
            Self::LeaveWaitlist => "leave-waitlist",
            Self::Promote => "promote",
            Self::Capacity => "capacity",
            Self::Close => "close",
            Self::Reopen => "reopen",
            Self::Reschedule => "reschedule",
            Self::Details => "details",
            Self::Cancel => "cancel",
            Self::Policy => "policy",
            Self::Offer => "offer",
        }
    }

    /// Where on the cohort page the form is (a refusal links to it).
    #[must_use]
    pub const fn anchor(self) -> &'static str {
        match self {
            Self::LeaveWaitlist => "waitlist-h",
            Self::Offer => "offers-h",
            other => other.name(),
        }
    }
}

/// What the staff typed into the cohort page's forms, kept when one is refused.
#[derive(Default)]
pub struct CommandValues {
    pub learner: String,
    pub name: String,
    /// The reason code chosen (empty: `other`).
    pub reason_code: String,
    pub reason: String,
    pub capacity: String,
    /// What was typed into a term form (reopen, reschedule, details, cancel, policy), by field.
    pub term: Vec<(&'static str, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "cohort.html")]
pub struct CohortPage {
    pub nav: Nav,
    /// Refused commands, newest first.
    pub refused: Vec<JournalRow>,
    pub cohort: CohortDetail,
    /// Outstanding offers and the confirmation of an answer (issue 15).
    pub offers: super::offer_views::OfferPanel,
    pub recent: Vec<HistoryRow>,
    /// Events of the command just done (Post/Redirect/Get), to confirm it.
    pub done: Vec<HistoryRow>,
    /// Set when showing the past: what point, in words.
    pub as_of: Option<String>,
    pub as_of_input: String,
    /// The refused form and its message.
    pub error: Option<(CommandForm, String)>,
    pub values: CommandValues,
    /// The command just done in plain words ("Enrollment reopened — 2 learners promoted from
    /// the waitlist"); empty for the commands the event list says enough about.
    pub headline: String,
    /// The term forms: which show, and what they hold.
    pub term: TermForms,
    /// A bulk enrollment just applied: its summary.
    pub bulk: Option<super::bulk::Applied>,
}

impl CohortPage {
    /// The reason codes the withdrawal form offers.
    #[allow(
        clippy::unused_self,
        reason = "called from the template as self.reason_codes()"
    )]
    pub const fn reason_codes(&self) -> [crate::domain::ReasonCode; 5] {
        crate::domain::ReasonCode::ALL
    }

    /// The message for the form named `form`, or "".
    pub fn error_for(&self, form: &str) -> &str {
        match &self.error {
            Some((f, message)) if f.name() == form => message.as_str(),
            _ => "",
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub nav: Nav,
    pub id: String,
    pub name: String,
    pub rows: Vec<HistoryRow>,
    /// Position to show older events before, if there are any.
    pub older: Option<u64>,
    /// Whether this is not the newest page.
    pub newest_link: bool,
    /// Events of the cohort in all.
    pub total: usize,
    /// What-if links for the learners' rows of this page, newest first.
    pub what_if: Vec<super::what_if::WhatIfLink>,
}

#[derive(Template, WebTemplate)]
#[template(path = "learner.html")]
pub struct LearnerPage {
    pub nav: Nav,
    /// Refused commands, newest first.
    pub refused: Vec<JournalRow>,
    pub key: String,
    pub name: String,
    pub enrolled_in: Vec<(String, String)>,
    /// Waiting in: id, name, and the place where the waitlist can still move (`None`: it
    /// cannot, so no place is shown).
    pub waitlisted_in: Vec<(String, String, Option<usize>)>,
    /// Per cohort joined: when they tried, how full it was, what changed, what happens next.
    pub stories: Vec<super::seat_story::SeatStory>,
    /// Seats offered to the learner (issue 15).
    pub offered_in: Vec<super::offer_views::LearnerOffer>,
    pub rows: Vec<TimelineRow>,
    /// What-if links: each refused enrollment, and an enrollment in each cohort.
    pub what_if: Vec<super::what_if::WhatIfLink>,
    /// The cohorts the learner could be moved out of, each with where to.
    pub moves: Vec<super::moves::MoveOut>,
    /// A move previewed (or refused, with the form's values).
    pub preview: Option<super::moves::MovePreview>,
    /// A move just done, in plain words.
    pub moved: Option<String>,
    /// A move refused, in plain words (shown at the top).
    pub move_error: Option<String>,
}

/// A reason as pages show it: the text as typed (whatever it looks like), or "(erased)" for a
/// reason erased with the learner's personal data.
#[must_use]
pub fn shown_reason(text: &str, erased: bool) -> String {
    if erased {
        "(erased)".to_owned()
    } else {
        text.to_owned()
    }
}

/// Renders a large page into a buffer sized for it up front (`capacity` bytes): the default
/// rendering starts from the template's static text and regrows the buffer, copying it, several
/// times on pages of many rows.
pub fn render_sized(page: &impl askama::Template, capacity: usize) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut body = String::with_capacity(capacity);
    match page.render_into(&mut body) {
        Ok(()) => axum::response::Html(body).into_response(),
        Err(e) => super::error::PageError::internal("rendering a page", &e).into_response(),
    }
}

// ---- the term forms of the cohort page (issue 15) ----

/// What the cohort page's term forms (reopen, reschedule, details, cancel, policy) show: which
/// of them the rules allow now, and their fields pre-filled (times as `datetime-local` reads
/// them, in the page's zone), or as typed when one was refused.
#[derive(Default)]
pub struct TermForms {
    /// Set for a cancelled cohort: "Cancelled — reason". No form shows then.
    pub cancelled: Option<String>,
    /// The reopen form shows (closed, not cancelled, and a deadline ahead is possible).
    pub can_reopen: bool,
    /// Closed, but reopening needs the withdrawal deadline moved first: why.
    pub reopen_blocked: String,
    /// The current enrollment deadline has passed: reopening must move it.
    pub deadline_passed: bool,
    /// The current enrollment deadline, as pages show it.
    pub current_deadline: String,
    /// The reopen form's fields.
    pub reason: String,
    pub reopen_deadline: String,
    /// The reschedule form's fields.
    pub starts_at: String,
    pub enrollment_deadline: String,
    pub withdrawal_deadline: String,
    /// The details form's fields.
    pub name: String,
    pub course: String,
    pub instructor: String,
    /// The cancel form: its reason, and whom cancelling releases (by the dry run), as
    /// (enrolled, offered, waiting).
    pub cancel_reason: String,
    pub releases: (usize, usize, usize),
    /// The policy form's fields.
    pub promotion: String,
    pub offer_hold: String,
    pub waitlist_cap: String,
    /// Why no enrollment would be taken now (closed, or its deadline passed), in plain words;
    /// empty while the cohort takes enrollments. The enroll forms show only then.
    pub enrollment_stops: String,
}

impl TermForms {
    /// The forms for `view` at `now`, typed values from `typed` overriding the pre-filled ones.
    #[must_use]
    pub fn of(
        view: &CohortView,
        zone: &Zone,
        now: jiff::Timestamp,
        typed: &[(&'static str, String)],
    ) -> Self {
        let c = &view.state;
        let pick = |field: &str, default: String| {
            typed
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(default, |(_, v)| v.clone())
        };
        let deadline_passed = c.enrollment_deadline <= now;
        let withdrawal_passed = c.withdrawal_deadline <= now;
        let closed = c.status == CohortStatus::Closed;
        // A new enrollment deadline must lie ahead and not after the withdrawal deadline: a
        // week from now, or the withdrawal deadline if sooner.
        let suggested = if deadline_passed && !withdrawal_passed {
            let week = now
                .checked_add(jiff::SignedDuration::from_hours(24 * 7))
                .unwrap_or(now);
            zone.input(week.min(c.withdrawal_deadline))
        } else {
            String::new()
        };
        Self {
            cancelled: None,
            can_reopen: closed && !(deadline_passed && withdrawal_passed),
            reopen_blocked: if closed && deadline_passed && withdrawal_passed {
                format!(
                    "To reopen enrollment, first move the withdrawal deadline ({}) past now: \
                     the enrollment deadline must lie ahead and not after it.",
                    zone.show(c.withdrawal_deadline)
                )
            } else {
                String::new()
            },
            deadline_passed,
            current_deadline: zone.show(c.enrollment_deadline),
            reason: pick("reason", String::new()),
            reopen_deadline: pick("reopen_deadline", suggested),
            starts_at: pick("starts_at", zone.input(c.starts_at)),
            enrollment_deadline: pick("enrollment_deadline", zone.input(c.enrollment_deadline)),
            withdrawal_deadline: pick("withdrawal_deadline", zone.input(c.withdrawal_deadline)),
            name: pick("name", c.name.clone()),
            course: pick("course", c.course.clone()),
            instructor: pick("instructor", c.instructor.clone()),
            cancel_reason: pick("cancel_reason", String::new()),
            releases: (c.enrolled.len(), c.offers.len(), c.waitlist.len()),
            promotion: pick("promotion", c.promotion.as_str().to_owned()),
            offer_hold: pick(
                "offer_hold",
                c.promotion.hold().map(format_hold).unwrap_or_default(),
            ),
            waitlist_cap: pick(
                "waitlist_cap",
                c.waitlist_cap.map(|n| n.to_string()).unwrap_or_default(),
            ),
            // The domain's own rule, asked: no second copy of it here.
            enrollment_stops: match c.check_joinable(now) {
                Ok(()) => String::new(),
                Err(RuleViolation::EnrollmentClosed) => {
                    "Enrollment is closed: reopen it (below) to enroll learners again.".to_owned()
                }
                Err(RuleViolation::EnrollmentDeadlinePassed { deadline, .. }) => format!(
                    "The enrollment deadline passed on {}: move it (Reschedule, below) to enroll \
                     learners again.",
                    zone.show(deadline)
                ),
                Err(other) => other.to_string(),
            },
        }
    }

    /// How many learners cancelling releases, in all.
    #[must_use]
    pub const fn releases_total(&self) -> usize {
        self.releases.0 + self.releases.1 + self.releases.2
    }
}

/// A count of learners in words: "1 learner", "3 learners".
#[must_use]
pub fn learners(n: usize) -> String {
    format!("{n} learner{}", if n == 1 { "" } else { "s" })
}

/// The headline of a command just done, from its events' types, for the commands of issue 15
/// (and the fills they cause); empty for the others.
#[must_use]
pub fn headline(types: &[&str]) -> String {
    let count = |t: &str| types.iter().filter(|x| **x == t).count();
    let promoted = count("waitlist.promoted");
    let offered = count("waitlist.offered");
    let fills = match (promoted, offered) {
        (0, 0) => String::new(),
        (p, 0) => format!(" — {} promoted from the waitlist", learners(p)),
        (0, o) => format!(" — {} offered a seat", learners(o)),
        (p, o) => format!(
            " — {} promoted from the waitlist, {} offered a seat",
            learners(p),
            learners(o)
        ),
    };
    if types.contains(&"cohort.created") {
        String::new()
    } else if types.contains(&"cohort.cancelled") {
        format!(
            "Cohort cancelled — {} released",
            learners(count("student.released"))
        )
    } else if types.contains(&"enrollment.reopened") {
        let moved = if types.contains(&"cohort.rescheduled") {
            ", with a new enrollment deadline"
        } else {
            ""
        };
        format!("Enrollment reopened{moved}{fills}")
    } else if types.contains(&"cohort.rescheduled") {
        "Cohort rescheduled".to_owned()
    } else if types.contains(&"cohort.details_changed") {
        "Details changed".to_owned()
    } else if types.contains(&"cohort.policy_changed") {
        format!("Policy saved{fills}")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod term_tests {
    use super::headline;

    /// The headline says what a term command did, fills included; a creation (whose policy
    /// event is part of it) and the older commands keep the plain "Recorded." list.
    #[test]
    fn the_headline_words_the_command_and_its_fills() {
        let reopened = [
            "enrollment.reopened",
            "waitlist.promoted",
            "waitlist.promoted",
        ];
        assert_eq!(
            headline(&reopened),
            "Enrollment reopened — 2 learners promoted from the waitlist"
        );
        let cancelled = ["cohort.cancelled", "student.released"];
        assert_eq!(
            headline(&cancelled),
            "Cohort cancelled — 1 learner released"
        );
        assert_eq!(headline(&["cohort.created", "cohort.policy_changed"]), "");
        assert_eq!(headline(&["student.enrolled"]), "");
    }
}
