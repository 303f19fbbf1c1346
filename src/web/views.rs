//! Page templates and the view models they render, copied out of the projections so no lock is
//! held while rendering.

use askama::Template;
use askama_web::WebTemplate;

use super::nav::Nav;
use super::zone::Zone;
use crate::domain::{CohortStatus, PromotionPolicy, ReasonCode, format_hold};
use crate::projections::{
    CohortView, Directory, EventDetail, HistoryEntry, Projections, TimelineEntry,
};
use crate::store::JournalEntry;

/// One cohort in a listing.
pub struct CohortRow {
    pub id: String,
    pub name: String,
    pub course: String,
    pub instructor: String,
    pub capacity: u32,
    pub enrolled: u32,
    pub waitlist: usize,
    pub seats_remaining: u32,
    pub open: bool,
    pub starts_at: String,
    pub enrollment_deadline: String,
    pub withdrawal_deadline: String,
    /// Seats taken, in percent (0–100), for the fill bar.
    pub fill_percent: u32,
    pub version: u64,
}

impl CohortRow {
    pub fn of(view: &CohortView, zone: &Zone) -> Self {
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
            seats_remaining: c.seats_remaining(),
            open: c.status == CohortStatus::Open,
            starts_at: zone.show(c.starts_at),
            enrollment_deadline: zone.show(c.enrollment_deadline),
            withdrawal_deadline: zone.show(c.withdrawal_deadline),
            fill_percent: u32::try_from(
                u64::from(c.enrolled_count()) * 100 / u64::from(capacity.max(1)),
            )
            .unwrap_or(u32::MAX),
            version: view.version,
        }
    }

    pub fn status(&self) -> &'static str {
        if self.open { "open" } else { "closed" }
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
    pub fn of(view: &CohortView, read: &Projections, zone: &Zone) -> Self {
        let directory = &read.directory;
        let since = |l| {
            read.since(view, l)
                .map(|t| zone.show(t))
                .unwrap_or_default()
        };
        Self {
            row: CohortRow::of(view, zone),
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
    pub time: String,
    pub actor: String,
}

impl TimelineRow {
    pub fn of(entry: &TimelineEntry, read: &Projections, zone: &Zone) -> Self {
        Self {
            position: entry.position,
            cohort_id: entry.cohort.to_string(),
            cohort_name: read
                .catalog
                .get(entry.cohort)
                .map_or_else(|| entry.cohort.to_string(), |c| c.state.name.clone()),
            event_type: entry.event_type,
            time: zone.show(entry.occurred_at),
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
        }
    }

    /// Where on the cohort page the form is (a refusal links to it).
    #[must_use]
    pub const fn anchor(self) -> &'static str {
        match self {
            Self::LeaveWaitlist => "waitlist-h",
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
}

#[derive(Template, WebTemplate)]
#[template(path = "cohort.html")]
pub struct CohortPage {
    pub nav: Nav,
    /// Refused commands, newest first.
    pub refused: Vec<JournalRow>,
    pub cohort: CohortDetail,
    pub recent: Vec<HistoryRow>,
    /// Events of the command just done (Post/Redirect/Get), to confirm it.
    pub done: Vec<HistoryRow>,
    /// Set when showing the past: what point, in words.
    pub as_of: Option<String>,
    pub as_of_input: String,
    /// The refused form and its message.
    pub error: Option<(CommandForm, String)>,
    pub values: CommandValues,
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
    pub waitlisted_in: Vec<(String, String, usize)>,
    pub rows: Vec<TimelineRow>,
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
