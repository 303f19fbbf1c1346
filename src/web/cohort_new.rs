//! The new-cohort form (`GET /cohorts/new`) and its post (`POST /cohorts`): times typed as pages
//! show them (text fields, prefilled a few weeks ahead), suggestions for course and instructor
//! from the cohorts on file, and a warning (with "Create it anyway") before a cohort named like
//! an existing one, or an instructor spelled like a known one in another case, is created.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::cohorts::{cap_field, command_page_error, done_url, form_or_400, policy_fields};
use super::error::PageError;
use super::extract::Acting;
use super::input::{self, RawCohort, RawNumber};
use super::nav::Nav;
use super::zone::{When, Zone};
use crate::domain::{CohortId, RuleViolation, ScheduleProblem};
use crate::projections::Projections;
use crate::writer::{CommandError, Request};

/// Courses and instructors each suggestion list offers at most.
const MAX_SUGGESTIONS: usize = 500;
/// Existing cohorts a duplicate-name warning names at most.
const MAX_SAME_NAME: usize = 5;
/// How far ahead the blank form's first session lies.
const STARTS_IN_DAYS: i64 = 28;
/// How long before the first session the blank form closes enrollment, in days.
const ENROLLMENT_CLOSES_DAYS_BEFORE: i64 = 7;
/// How long after the first session the blank form allows withdrawals, in days.
const WITHDRAWALS_UNTIL_DAYS_AFTER: i64 = 7;

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
    /// When the last session ends (optional).
    pub ends_at: String,
    /// `automatic` (empty: automatic) or `offer`.
    pub promotion: String,
    pub offer_hold: String,
    pub waitlist_cap: String,
    /// (field, message) pairs.
    pub errors: Vec<(&'static str, String)>,
    /// Cohorts already carrying this name (ignoring case and spacing).
    pub same_name: Vec<SameName>,
    /// How a known instructor spells the name typed in another case (`Ada Lovelace`).
    pub instructor_spelling: Option<String>,
}

/// An existing cohort with the name a new one was given.
pub struct SameName {
    pub id: String,
    pub name: String,
    pub course: String,
    pub starts_at: When,
}

impl CohortForm {
    /// The message for `field`, or "".
    pub fn error(&self, field: &str) -> &str {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("", |(_, m)| m.as_str())
    }

    /// Whether the form waits for "Create it anyway".
    pub fn warned(&self) -> bool {
        !self.same_name.is_empty() || self.instructor_spelling.is_some()
    }

    /// The blank form: times a few weeks ahead, in `zone`, as the fields read them.
    fn blank(zone: &Zone, now: Timestamp) -> Self {
        let day = |days: i64, time: &str| {
            let today = zone.field(now);
            let date = today
                .get(..10)
                .and_then(|d| d.parse::<jiff::civil::Date>().ok())
                .and_then(|d| d.checked_add(SignedDuration::from_hours(24 * days)).ok());
            date.and_then(|d| format!("{d} {time}").parse::<jiff::civil::DateTime>().ok())
                .and_then(|dt| zone.read(dt))
                .map(|t| zone.field(t))
                .unwrap_or_default()
        };
        Self {
            capacity: "20".to_owned(),
            starts_at: day(STARTS_IN_DAYS, "09:00"),
            enrollment_deadline: day(STARTS_IN_DAYS - ENROLLMENT_CLOSES_DAYS_BEFORE, "23:59"),
            withdrawal_deadline: day(STARTS_IN_DAYS + WITHDRAWALS_UNTIL_DAYS_AFTER, "23:59"),
            ..Self::default()
        }
    }
}

/// The new-cohort page.
#[derive(Template, WebTemplate)]
#[template(path = "cohort_new.html")]
pub struct NewCohortPage {
    pub nav: Nav,
    pub form: CohortForm,
    /// Courses on file, for the course field's `<datalist>`.
    pub courses: Vec<String>,
    /// Instructors on file, for the instructor field's `<datalist>`.
    pub instructors: Vec<String>,
}

impl NewCohortPage {
    fn of(read: &Projections, nav: Nav, form: CohortForm) -> Self {
        let catalog = &read.catalog;
        Self {
            nav,
            form,
            courses: catalog
                .courses()
                .iter()
                .take(MAX_SUGGESTIONS)
                .cloned()
                .collect(),
            instructors: catalog
                .instructors()
                .iter()
                .take(MAX_SUGGESTIONS)
                .cloned()
                .collect(),
        }
    }
}

/// `GET /cohorts/new`.
pub async fn new_cohort(State(state): State<AppState>, Acting(principal): Acting) -> NewCohortPage {
    let form = CohortForm::blank(&state.zone, state.clock.now());
    let read = state.read.read();
    NewCohortPage::of(&read, Nav::of(&principal, &state.zone), form)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CreateCohortForm {
    name: String,
    course: String,
    instructor: String,
    capacity: String,
    starts_at: String,
    enrollment_deadline: String,
    withdrawal_deadline: String,
    ends_at: String,
    promotion: String,
    offer_hold: String,
    waitlist_cap: String,
    /// `yes` when the person ticked "Create it anyway" after a duplicate warning.
    create_anyway: String,
}

impl CreateCohortForm {
    /// The form as typed, with these messages.
    fn shown(&self, errors: Vec<(&'static str, String)>) -> CohortForm {
        CohortForm {
            name: self.name.clone(),
            course: self.course.clone(),
            instructor: self.instructor.clone(),
            capacity: self.capacity.clone(),
            starts_at: self.starts_at.clone(),
            enrollment_deadline: self.enrollment_deadline.clone(),
            withdrawal_deadline: self.withdrawal_deadline.clone(),
            ends_at: self.ends_at.clone(),
            promotion: self.promotion.clone(),
            offer_hold: self.offer_hold.clone(),
            waitlist_cap: self.waitlist_cap.clone(),
            errors,
            same_name: Vec::new(),
            instructor_spelling: None,
        }
    }
}

/// The cohorts named `name` and how a known instructor spells `instructor`, from the catalog's
/// indexes (no scan).
fn similar(
    read: &Projections,
    name: &str,
    instructor: &str,
    zone: &Zone,
    now: Timestamp,
) -> (Vec<SameName>, Option<String>) {
    let same_name = read
        .catalog
        .named(name)
        .take(MAX_SAME_NAME)
        .map(|v| SameName {
            id: v.state.id.to_string(),
            name: v.state.name.clone(),
            course: v.state.course.clone(),
            starts_at: zone.when(v.state.starts_at, now),
        })
        .collect();
    let spelling = read
        .catalog
        .instructor_spelling(instructor)
        .map(str::to_owned);
    (same_name, spelling)
}

/// `POST /cohorts`: create, then redirect to the new cohort; or the form again with what is
/// wrong, or with a duplicate warning until "Create it anyway" is ticked.
pub async fn create_cohort(
    State(state): State<AppState>,
    Acting(principal): Acting,
    form: Result<Form<CreateCohortForm>, FormRejection>,
) -> Result<Response, PageError> {
    let f = form_or_400(form)?;
    let raw = RawCohort {
        name: &f.name,
        course: &f.course,
        instructor: &f.instructor,
        capacity: RawNumber::Text(&f.capacity),
        starts_at: &f.starts_at,
        enrollment_deadline: &f.enrollment_deadline,
        withdrawal_deadline: &f.withdrawal_deadline,
    };
    let refused = |form: CohortForm| {
        let read = state.read.read();
        let page = NewCohortPage::of(&read, Nav::of(&principal, &state.zone), form);
        drop(read);
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    let policy = policy_fields(&f.promotion, &f.offer_hold);
    let cap = cap_field(&f.waitlist_cap);
    let ends_at = match f.ends_at.trim() {
        "" => Ok(None),
        raw => input::parse_time("ends_at", raw, &state.zone).map(Some),
    };
    let new = match (input::new_cohort(&raw, &state.zone), ends_at) {
        (Ok(new), Ok(ends_at)) => crate::domain::NewCohort { ends_at, ..new },
        (new, ends_at) => {
            let mut errors: Vec<(&'static str, String)> = new
                .err()
                .unwrap_or_default()
                .into_iter()
                .chain(ends_at.err())
                .map(|e| (e.field, e.message))
                .collect();
            errors.extend(policy.err().map(|m| ("offer_hold", m)));
            errors.extend(cap.err().map(|m| ("waitlist_cap", m)));
            return Ok(refused(f.shown(errors)));
        }
    };
    let new = match (policy, cap) {
        (Ok(promotion), Ok(waitlist_cap)) => crate::domain::NewCohort {
            promotion,
            waitlist_cap,
            ..new
        },
        (Err(message), _) => return Ok(refused(f.shown(vec![("offer_hold", message)]))),
        (_, Err(message)) => return Ok(refused(f.shown(vec![("waitlist_cap", message)]))),
    };
    if f.create_anyway.trim() != "yes" {
        let (same_name, instructor_spelling) = {
            let read = state.read.read();
            similar(
                &read,
                &new.name,
                &new.instructor,
                &state.zone,
                state.clock.now(),
            )
        };
        if !same_name.is_empty() || instructor_spelling.is_some() {
            return Ok(refused(CohortForm {
                same_name,
                instructor_spelling,
                ..f.shown(Vec::new())
            }));
        }
    }
    let request = Request::Create {
        cohort: CohortId(Uuid::now_v7()),
        new,
    };
    match state.submit_request(&principal, request).await {
        Ok(done) => Ok(Redirect::to(&done_url(&done)).into_response()),
        Err(CommandError::Rejected(RuleViolation::InvalidSchedule(problem))) => {
            let field = match problem {
                ScheduleProblem::EndsBeforeStart { .. } => "ends_at",
                ScheduleProblem::WithdrawalBeforeEnrollment { .. } => "withdrawal_deadline",
            };
            Ok(refused(f.shown(vec![(field, problem.to_string())])))
        }
        Err(e) => Err(command_page_error(e)),
    }
}
