//! The cohorts-by-instructor report: per instructor, their cohorts with fill rate, waitlist and
//! next deadline, as a page and as CSV.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::super::AppState;
use super::super::csv;
use super::super::error::PageError;
use super::super::extract::{Acting, PageQuery};
use super::super::name_match::InstructorFilter;
use super::super::nav::Nav;
use super::super::views::{CohortRow, PageLinks};
use super::super::zone::When;
use crate::projections::{Projections, Totals, next_deadline};

use super::{CSV_CHUNK, Chunks, PAGE_SIZE, Tab, page_number, query_link};

/// Sums over an instructor's cohorts, ready to show.
pub struct TotalsRow {
    pub cohorts: u64,
    pub open: u64,
    pub seats: u64,
    pub enrolled: u64,
    pub waitlisted: u64,
    pub fill_percent: u64,
}

impl TotalsRow {
    fn of(totals: Totals) -> Self {
        Self {
            cohorts: totals.cohorts,
            open: totals.open,
            seats: totals.seats,
            enrolled: totals.enrolled,
            waitlisted: totals.waitlisted,
            fill_percent: totals.fill_percent(),
        }
    }
}

/// One cohort of an instructor.
pub struct InstructorCohort {
    pub row: CohortRow,
    /// What comes next and when, or "".
    pub next_kind: &'static str,
    pub next_at: When,
}

/// One instructor's part of the page.
pub struct InstructorGroup {
    pub name: String,
    pub totals: TotalsRow,
    pub cohorts: Vec<InstructorCohort>,
    /// The group began on an earlier page.
    pub continued: bool,
}

/// The cohorts-by-instructor page.
#[derive(Template, WebTemplate)]
#[template(path = "reports_instructors.html")]
pub struct InstructorsPage {
    pub nav: Nav,
    pub tab: Tab,
    pub groups: Vec<InstructorGroup>,
    pub instructors: Vec<String>,
    pub instructor: String,
    /// How the instructor typed was read, or why nothing is shown.
    pub instructor_note: Option<String>,
    /// The instructor typed matched none or several: nothing is shown.
    pub unresolved: bool,
    /// Instructors to pick instead: (name, link).
    pub instructor_choices: Vec<(String, String)>,
    pub pages: PageLinks,
    pub csv: String,
}

/// `?instructor=&page=`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InstructorsQuery {
    instructor: String,
    page: String,
}

/// The instructors offered: those with at least one cohort (one whose cohorts all moved to
/// another by a details change is no longer offered).
fn offered(read: &Projections) -> Vec<String> {
    read.instructors
        .iter()
        .filter(|e| !e.cohorts.is_empty())
        .map(|e| e.name.clone())
        .collect()
}

/// `GET /reports/instructors`: per instructor, their cohorts with fill rate, waitlist and next
/// deadline. Costs one step per instructor (to find the page) plus one per row shown.
pub async fn instructors(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(q): PageQuery<InstructorsQuery>,
) -> Result<InstructorsPage, PageError> {
    let now = state.clock.now();
    let page = page_number(&q.page);
    let offset = (page - 1) * PAGE_SIZE;
    let read = state.read.read();
    let instructors = offered(&read);
    let who = InstructorFilter::of(&instructors, &q.instructor);
    let filter = who.name.as_deref();
    let (rows, total) = if who.unresolved {
        (Vec::new(), 0)
    } else {
        read.instructors.page(filter, offset, PAGE_SIZE)
    };
    // The instructor of the row before this page: their group continues here.
    let previous = offset.checked_sub(1).and_then(|before| {
        let (row, _) = read.instructors.page(filter, before, 1);
        row.first().map(|(entry, _)| entry.name.clone())
    });
    let shown = rows.len();
    let mut groups: Vec<InstructorGroup> = Vec::new();
    for (entry, id) in rows {
        let Some(view) = read.catalog.get(id) else {
            continue;
        };
        let next = next_deadline(&view.state, now);
        let cohort = InstructorCohort {
            row: CohortRow::of(view, &state.zone, now),
            next_kind: next.map_or("", |(kind, _)| kind.label()),
            next_at: next
                .map(|(_, at)| state.zone.when(at, now))
                .unwrap_or_default(),
        };
        match groups.last_mut() {
            Some(group) if group.name == entry.name => group.cohorts.push(cohort),
            _ => groups.push(InstructorGroup {
                name: entry.name.clone(),
                totals: TotalsRow::of(entry.totals),
                continued: groups.is_empty() && previous.as_deref() == Some(entry.name.as_str()),
                cohorts: vec![cohort],
            }),
        }
    }
    drop(read);
    let instructor = who
        .name
        .clone()
        .unwrap_or_else(|| q.instructor.trim().to_owned());
    let instructor_choices = who
        .choices
        .iter()
        .map(|name| {
            (
                name.clone(),
                query_link("/reports/instructors", &[("instructor", name)]),
            )
        })
        .collect();
    let link = |p: usize| {
        query_link(
            "/reports/instructors",
            &[("instructor", &instructor), ("page", &p.to_string())],
        )
    };
    let pages = PageLinks {
        previous: (page > 1).then(|| link(page - 1)),
        next: (offset + shown < total).then(|| link(page + 1)),
        first_shown: if shown == 0 { 0 } else { offset + 1 },
        last_shown: offset + shown,
        total,
    };
    Ok(InstructorsPage {
        nav: Nav::of(&principal, &state.zone),
        tab: Tab::Instructors,
        groups,
        instructors,
        csv: query_link("/reports/instructors.csv", &[("instructor", &instructor)]),
        instructor,
        instructor_note: who.note,
        unresolved: who.unresolved,
        instructor_choices,
        pages,
    })
}

/// `GET /reports/instructors.csv`: every row of the report (for one instructor if asked).
pub async fn instructors_csv(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<InstructorsQuery>,
) -> Response {
    let now = state.clock.now();
    let who = InstructorFilter::of(&offered(&state.read.read()), &q.instructor);
    if who.unresolved {
        return PageError::BadRequest(who.note.unwrap_or_default()).into_response();
    }
    let instructor = who.name;
    let mut offset = 0;
    let rows = Chunks::new(state.read.clone(), move |read: &Projections| {
        let (rows, _) = read
            .instructors
            .page(instructor.as_deref(), offset, CSV_CHUNK);
        offset += rows.len();
        rows.into_iter()
            .filter_map(|(entry, id)| {
                let view = read.catalog.get(id)?;
                let c = &view.state;
                let next = next_deadline(c, now);
                let row = CohortRow::of(view, &state.zone, now);
                Some(vec![
                    entry.name.clone(),
                    c.id.to_string(),
                    c.name.clone(),
                    c.course.clone(),
                    c.status.as_str().to_owned(),
                    row.capacity.to_string(),
                    row.enrolled.to_string(),
                    row.fill_percent.to_string(),
                    row.waitlist.to_string(),
                    next.map(|(kind, _)| kind.label().to_owned())
                        .unwrap_or_default(),
                    next.map(|(_, at)| at.to_string()).unwrap_or_default(),
                ])
            })
            .collect()
    });
    csv::download(
        "cohorts-by-instructor.csv",
        &[
            "instructor",
            "cohort_id",
            "cohort",
            "course",
            "status",
            "capacity",
            "enrolled",
            "fill_percent",
            "waitlist",
            "next_deadline",
            "next_deadline_at",
        ],
        rows,
    )
}
