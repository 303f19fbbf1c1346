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
    /// After the last session (`None`: not known).
    pub ends_at: Option<When>,
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
            ends_at: c.ends_at.map(|t| zone.when(t, now)),
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
    /// Since when they hold the seat or their place.
    pub since: When,
    /// Place in the waitlist now (waitlist only).
    pub place: usize,
    /// Place when they joined (waitlist only).
    pub joined_at_place: u32,
    /// The learner the page was opened for (`?learner=K`): marked in words and style.
    pub highlight: bool,
}

/// Roster or waitlist rows the cohort page lists before "Show all N".
pub const ROSTER_SHOWN: usize = 50;

/// A cohort with its roster and waitlist.
pub struct CohortDetail {
    pub row: CohortRow,
    /// The roster, the first [`ROSTER_SHOWN`] unless all were asked for.
    pub enrolled: Vec<PersonRow>,
    /// Learners enrolled in all.
    pub enrolled_total: usize,
    /// The waitlist, the first [`ROSTER_SHOWN`] unless all were asked for.
    pub waitlist: Vec<PersonRow>,
    /// Learners waiting in all.
    pub waitlist_total: usize,
    /// What the waitlist section says when nobody waits, true for the cohort's phase.
    pub empty_waitlist: &'static str,
    /// Set when the waitlist cannot move now: nobody on it will be promoted, and why.
    pub waitlist_stuck: &'static str,
}

impl CohortDetail {
    /// The detail of `view` at `now`: every row when `all`, else the first [`ROSTER_SHOWN`]
    /// of each list (all, too, when `highlight` names a learner, so their row shows).
    pub fn of(
        view: &CohortView,
        read: &Projections,
        zone: &Zone,
        now: Timestamp,
        all: bool,
        highlight: &str,
    ) -> Self {
        let directory = &read.directory;
        let since = |l| {
            read.since(view, l)
                .map(|t| zone.when(t, now))
                .unwrap_or_default()
        };
        let shown = if all || !highlight.is_empty() {
            usize::MAX
        } else {
            ROSTER_SHOWN
        };
        let c = &view.state;
        let phase = Phase::of(c, now);
        let moves = Phase::waitlist_moves(c, now);
        let empty_waitlist = match phase {
            Phase::Open => {
                "Nobody is waiting. When every seat is taken, new enrollments join the waitlist here, in order."
            }
            Phase::Closed => {
                "Nobody is waiting, and nobody can join: enrollment is closed unless it is reopened."
            }
            Phase::EnrollmentEnded | Phase::Running => {
                "Nobody is waiting, and nobody can join: the enrollment deadline has passed."
            }
            Phase::Finished | Phase::Cancelled => "Nobody is waiting.",
        };
        let waitlist_stuck = match (moves, phase) {
            (true, _) => "",
            (false, Phase::Finished) => {
                "The cohort has finished: nobody on this list will be promoted."
            }
            (false, Phase::Cancelled) => {
                "The cohort was cancelled: nobody on this list will be promoted."
            }
            (false, _) => {
                "Enrollment is closed: nobody on this list will be promoted unless it is reopened."
            }
        };
        Self {
            row: CohortRow::of(view, zone, now),
            enrolled: c
                .enrolled
                .iter()
                .take(shown)
                .map(|l| {
                    let key = directory.key_of(*l);
                    PersonRow {
                        highlight: !highlight.is_empty() && key == highlight,
                        key,
                        name: directory.name_of(*l).to_owned(),
                        since: since(*l),
                        place: 0,
                        joined_at_place: 0,
                    }
                })
                .collect(),
            enrolled_total: c.enrolled.len(),
            waitlist: c
                .waitlist
                .iter()
                .take(shown)
                .enumerate()
                .map(|(i, e)| {
                    let key = directory.key_of(e.learner);
                    PersonRow {
                        highlight: !highlight.is_empty() && key == highlight,
                        key,
                        name: directory.name_of(e.learner).to_owned(),
                        since: since(e.learner),
                        place: i + 1,
                        joined_at_place: e.joined_at_place,
                    }
                })
                .collect(),
            waitlist_total: c.waitlist.len(),
            empty_waitlist,
            waitlist_stuck,
        }
    }
}

/// One line of a cohort's history, ready to show.
pub struct HistoryRow {
    pub position: u64,
    pub version: u64,
    pub event_type: &'static str,
    /// When it happened (without the relative part when built by [`HistoryRow::of`]).
    pub time: When,
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
    /// The line of `entry`, its time without how long ago (see [`HistoryRow::at`]).
    pub fn of(entry: &HistoryEntry, directory: &Directory, zone: &Zone) -> Self {
        let mut row = Self::at(entry, directory, zone, entry.occurred_at);
        row.time.relative = String::new();
        row
    }

    /// The line of `entry`, its time also said relative to `now` ("3 days ago").
    pub fn at(entry: &HistoryEntry, directory: &Directory, zone: &Zone, now: Timestamp) -> Self {
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
            time: zone.when(entry.occurred_at, now),
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
                ends_at,
            }),
        ) => format!(
            "Rescheduled: starts {}, enrollment deadline {}, withdrawal deadline {}{}",
            zone.show(*starts_at),
            zone.show(*enrollment_deadline),
            zone.show(*withdrawal_deadline),
            ends_at
                .map(|t| format!(", ends {}", zone.show(t)))
                .unwrap_or_default()
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
    pub time: When,
    pub actor: String,
    pub cohort_id: String,
    pub cohort_name: String,
    pub learner: String,
    pub command: String,
    pub message: String,
    pub code: &'static str,
}

impl JournalRow {
    pub fn of(entry: &JournalEntry, read: &Projections, zone: &Zone, now: Timestamp) -> Self {
        let learner = entry.learner.map(|l| read.directory.key_of(l));
        Self {
            time: zone.when(entry.at, now),
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
    /// Every form, for reading one back from its name.
    pub const ALL: [Self; 12] = [
        Self::Enroll,
        Self::Withdraw,
        Self::LeaveWaitlist,
        Self::Promote,
        Self::Capacity,
        Self::Close,
        Self::Reopen,
        Self::Reschedule,
        Self::Details,
        Self::Cancel,
        Self::Policy,
        Self::Offer,
    ];

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

    /// Whether the form's first field takes the focus when the page comes back to it
    /// (`autofocus`); the others are scrolled to by a `#fragment` (browsers skip `autofocus` on
    /// a page opened at one, so a form gets one or the other).
    #[must_use]
    pub const fn takes_focus(self) -> bool {
        matches!(
            self,
            Self::Enroll
                | Self::Withdraw
                | Self::Capacity
                | Self::Reopen
                | Self::Reschedule
                | Self::Details
                | Self::Cancel
                | Self::Policy
        )
    }

    /// Where the page comes back to after this form: `#anchor` when it takes no focus.
    #[must_use]
    pub fn fragment(self) -> String {
        if self.takes_focus() {
            String::new()
        } else {
            format!("#{}", self.anchor())
        }
    }
}

/// What the staff typed into the cohort page's forms, kept when one is refused (and shown in
/// that form only).
#[derive(Default)]
pub struct CommandValues {
    pub learner: String,
    pub name: String,
    pub capacity: String,
    /// What was typed into a term form (reopen, reschedule, details, cancel, policy), by field.
    pub term: Vec<(&'static str, String)>,
}

/// The banner of a cohort shown as it was: when, and just after what.
pub struct AsOfBanner {
    /// The moment shown: the time asked for, or the time of the event asked for.
    pub when: When,
    /// The newest event shown, in plain words ("Ana Lima was enrolled"), with its number.
    pub after: String,
    /// Its position, for the link to it in the history.
    pub position: u64,
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
    pub as_of: Option<AsOfBanner>,
    pub as_of_input: String,
    /// The refused form and its message.
    pub error: Option<(CommandForm, String)>,
    pub values: CommandValues,
    /// The command just done in plain words ("Ana Lima is enrolled — 12 of 20 seats taken"),
    /// and whether it is not what was asked (amber).
    pub headline: Headline,
    /// The form used just before (done or refused): its first field takes the focus.
    pub focus: Option<CommandForm>,
    /// For a closed cohort: who closed it and when (its newest `enrollment.closed`).
    pub closed_by: Option<(String, When)>,
    /// Every roster row is listed (`?roster=all`).
    pub roster_all: bool,
    /// The learner the page was opened for (`?learner=K`), as a query suffix for links.
    pub learner_query: String,
    /// The term forms: which show, and what they hold.
    pub term: TermForms,
    /// A bulk enrollment just applied: its summary.
    pub bulk: Option<super::bulk::Applied>,
}

impl CohortPage {
    /// Whether the form named `form` takes the focus (it was just used).
    pub fn focus(&self, form: &str) -> bool {
        self.focus.is_some_and(|f| f.name() == form)
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
    /// The e-mails sent to the learner.
    pub mail: super::learner_mail::MailSection,
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
/// of them the rules allow now, and their fields pre-filled (times as pages show them, without
/// the zone: `2026-03-01 09:00`, in the page's zone), or as typed when one was refused.
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
    pub ends_at: String,
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
            zone.field(week.min(c.withdrawal_deadline))
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
            starts_at: pick("starts_at", zone.field(c.starts_at)),
            enrollment_deadline: pick("enrollment_deadline", zone.field(c.enrollment_deadline)),
            withdrawal_deadline: pick("withdrawal_deadline", zone.field(c.withdrawal_deadline)),
            ends_at: pick(
                "ends_at",
                c.ends_at.map(|t| zone.field(t)).unwrap_or_default(),
            ),
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

/// One event of a command just done, as its headline reads it: its type, who it concerns (as
/// pages name them), and the cohort's counters right after it.
pub struct DoneFact<'a> {
    pub event_type: &'a str,
    pub who: &'a str,
    pub after: crate::projections::Counters,
}

/// The confirmation of a command just done: a sentence in plain words, and whether it is not
/// what was asked (a waitlisting instead of a seat), shown amber (`notice warn`), not green.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Headline {
    /// "Ana Lima is enrolled — 12 of 20 seats taken"; empty when the event list says it all.
    pub text: String,
    /// Recorded, but not what was asked.
    pub warn: bool,
}

/// "Ana Lima", "Ana Lima and Bo Chen", "3 learners".
fn names(who: &[&str]) -> String {
    match who {
        [one] => (*one).to_owned(),
        [a, b] => format!("{a} and {b}"),
        more => learners(more.len()),
    }
}

/// The headline of a command just done, from its events in order.
#[must_use]
pub fn headline(events: &[DoneFact<'_>]) -> Headline {
    let of = |t: &str| -> Vec<&str> {
        events
            .iter()
            .filter(|e| e.event_type == t)
            .map(|e| e.who)
            .collect()
    };
    let first = |t: &str| events.iter().find(|e| e.event_type == t);
    let has = |t: &str| first(t).is_some();
    let count = |t: &str| of(t).len();
    let (promoted, offered) = (of("waitlist.promoted"), of("waitlist.offered"));
    let fills = match (promoted.len(), offered.len()) {
        (0, 0) => String::new(),
        (1, 0) => format!(" — {} was promoted from the waitlist", promoted[0]),
        (p, 0) => format!(" — {} promoted from the waitlist", learners(p)),
        (0, 1) => format!(" — {} is offered the seat", offered[0]),
        (0, o) => format!(" — {} offered a seat", learners(o)),
        (p, o) => format!(
            " — {} promoted from the waitlist, {} offered a seat",
            learners(p),
            learners(o)
        ),
    };
    let seats = |c: crate::projections::Counters| {
        format!(" — {} of {} seats taken", c.enrolled, c.capacity)
    };
    let ok = |text: String| Headline { text, warn: false };
    if has("cohort.created") {
        Headline::default()
    } else if has("cohort.cancelled") {
        ok(format!(
            "Cohort cancelled — {} released",
            learners(count("student.released"))
        ))
    } else if has("enrollment.reopened") {
        let moved = if has("cohort.rescheduled") {
            ", with a new enrollment deadline"
        } else {
            ""
        };
        ok(format!("Enrollment reopened{moved}{fills}"))
    } else if has("cohort.rescheduled") {
        ok("Cohort rescheduled".to_owned())
    } else if has("cohort.details_changed") {
        ok("Details changed".to_owned())
    } else if has("cohort.policy_changed") {
        ok(format!("Policy saved{fills}"))
    } else if let Some(e) = first("student.waitlisted") {
        Headline {
            text: format!(
                "Cohort full — {} joined the waitlist at place {}",
                e.who, e.after.waitlist
            ),
            warn: true,
        }
    } else if let Some(e) = first("student.enrolled") {
        ok(format!("{} is enrolled{}", e.who, seats(e.after)))
    } else if let Some(e) = first("student.withdrawn") {
        let after = events.last().map_or(e.after, |l| l.after);
        let rest = if fills.is_empty() {
            seats(after)
        } else {
            fills
        };
        ok(format!("{} withdrew{rest}", e.who))
    } else if let Some(e) = first("waitlist.left") {
        ok(format!(
            "{} left the waitlist — {} still waiting",
            e.who, e.after.waitlist
        ))
    } else if has("enrollment.closed") {
        ok("Enrollment closed — nobody can enroll until it is reopened".to_owned())
    } else if let Some(e) = first("cohort.capacity_changed") {
        ok(format!(
            "Seats set to {} — {} taken{fills}",
            e.after.capacity, e.after.enrolled
        ))
    } else if let Some(e) = first("offer.accepted") {
        ok(format!("{} accepted the seat{}", e.who, seats(e.after)))
    } else if let Some(e) = first("offer.declined") {
        ok(format!("{} declined the seat{fills}", e.who))
    } else if !promoted.is_empty() {
        ok(format!(
            "{} {} promoted from the waitlist",
            names(&promoted),
            if promoted.len() == 1 { "was" } else { "were" }
        ))
    } else {
        Headline::default()
    }
}

#[cfg(test)]
mod term_tests {
    use super::{DoneFact, Headline, headline};
    use crate::projections::Counters;

    fn fact<'a>(event_type: &'a str, who: &'a str, counts: (u32, u32, u32)) -> DoneFact<'a> {
        DoneFact {
            event_type,
            who,
            after: Counters {
                enrolled: counts.0,
                capacity: counts.1,
                waitlist: counts.2,
                ..Counters::default()
            },
        }
    }

    fn ok(text: &str) -> Headline {
        Headline {
            text: text.to_owned(),
            warn: false,
        }
    }

    /// The headline says what a term command did, fills included; a creation (whose policy
    /// event is part of it) keeps the plain "Recorded." list.
    #[test]
    fn the_headline_words_the_command_and_its_fills() {
        let reopened = [
            fact("enrollment.reopened", "", (0, 2, 2)),
            fact("waitlist.promoted", "Ana", (1, 2, 1)),
            fact("waitlist.promoted", "Bo", (2, 2, 0)),
        ];
        assert_eq!(
            headline(&reopened),
            ok("Enrollment reopened — 2 learners promoted from the waitlist")
        );
        let cancelled = [
            fact("cohort.cancelled", "", (0, 2, 0)),
            fact("student.released", "Ana", (0, 2, 0)),
        ];
        assert_eq!(
            headline(&cancelled),
            ok("Cohort cancelled — 1 learner released")
        );
        let created = [
            fact("cohort.created", "", (0, 2, 0)),
            fact("cohort.policy_changed", "", (0, 2, 0)),
        ];
        assert_eq!(headline(&created), Headline::default());
    }

    /// Each cohort-page command leads with a sentence; a waitlisting is amber (not what was
    /// asked), the others are not.
    #[test]
    fn each_command_has_its_sentence_and_a_waitlisting_is_amber() {
        let enrolled = [fact("student.enrolled", "Ana Lima", (12, 20, 0))];
        assert_eq!(
            headline(&enrolled),
            ok("Ana Lima is enrolled — 12 of 20 seats taken")
        );
        let waitlisted = [fact("student.waitlisted", "Ana Lima", (20, 20, 3))];
        assert_eq!(
            headline(&waitlisted),
            Headline {
                text: "Cohort full — Ana Lima joined the waitlist at place 3".to_owned(),
                warn: true
            }
        );
        let withdrew = [
            fact("student.withdrawn", "Ana Lima", (19, 20, 1)),
            fact("waitlist.promoted", "Ben Okafor", (20, 20, 0)),
        ];
        assert_eq!(
            headline(&withdrew),
            ok("Ana Lima withdrew — Ben Okafor was promoted from the waitlist")
        );
        let alone = [fact("student.withdrawn", "Ana Lima", (11, 20, 0))];
        assert_eq!(
            headline(&alone),
            ok("Ana Lima withdrew — 11 of 20 seats taken")
        );
        let closed = [fact("enrollment.closed", "", (11, 20, 0))];
        assert_eq!(
            headline(&closed),
            ok("Enrollment closed — nobody can enroll until it is reopened")
        );
        let seats = [
            fact("cohort.capacity_changed", "", (20, 21, 1)),
            fact("waitlist.promoted", "Ben Okafor", (21, 21, 0)),
        ];
        assert_eq!(
            headline(&seats),
            ok("Seats set to 21 — 20 taken — Ben Okafor was promoted from the waitlist")
        );
        let left = [fact("waitlist.left", "Ben Okafor", (20, 20, 2))];
        assert_eq!(
            headline(&left),
            ok("Ben Okafor left the waitlist — 2 still waiting")
        );
        let promoted = [fact("waitlist.promoted", "Ben Okafor", (20, 20, 0))];
        assert_eq!(
            headline(&promoted),
            ok("Ben Okafor was promoted from the waitlist")
        );
    }
}
