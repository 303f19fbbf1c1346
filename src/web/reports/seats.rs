//! The seat-changes report: seat changes per ISO week, overall and per cohort, as a table with
//! the SVG chart of [`super::super::chart`], and as CSV.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;

use super::super::AppState;
use super::super::chart::Chart;
use super::super::csv;
use super::super::error::PageError;
use super::super::extract::{Acting, PagePath, PageQuery};
use super::super::input;
use super::super::nav::Nav;
use crate::projections::{WeekCounts, week_of, week_page};

/// Weeks per page of a seat-change report (half a year).
const WEEKS_PER_PAGE: usize = 26;

use super::{Tab, page_number, query_link};

/// One week, ready to show.
pub struct WeekRow {
    /// `2026-W10`.
    pub label: String,
    /// Its Monday, `2026-03-02`.
    pub monday: String,
    pub counts: WeekCounts,
    /// The week is still under way (it holds "now"): its counts are so far.
    pub so_far: bool,
}

impl WeekRow {
    fn of(monday: Date, counts: WeekCounts, this_week: Date) -> Self {
        Self {
            label: week_label(monday),
            monday: monday.to_string(),
            counts,
            so_far: monday == this_week,
        }
    }

    fn cells(&self) -> Vec<String> {
        let c = &self.counts;
        vec![
            self.label.clone(),
            self.monday.clone(),
            c.enrolled.to_string(),
            c.withdrawn.to_string(),
            c.promoted.to_string(),
            c.capacity_changes.to_string(),
            c.seats_added.to_string(),
            c.seats_removed.to_string(),
        ]
    }
}

const WEEK_HEADER: [&str; 8] = [
    "week",
    "week_start",
    "enrolled",
    "withdrawn",
    "promoted",
    "capacity_changes",
    "seats_added",
    "seats_removed",
];

/// `2026-W10`.
fn week_label(monday: Date) -> String {
    let week = monday.iso_week_date();
    format!("{}-W{:02}", week.year(), week.week())
}

/// The cohort a seat page is about.
pub struct SeatsCohort {
    pub id: String,
    pub name: String,
}

/// A seat-changes page, overall or of one cohort.
#[derive(Template, WebTemplate)]
#[template(path = "reports_seats.html")]
pub struct SeatsPage {
    pub nav: Nav,
    pub tab: Tab,
    pub cohort: Option<SeatsCohort>,
    pub rows: Vec<WeekRow>,
    pub chart: Option<Chart>,
    /// Whether any week had a change.
    pub has_data: bool,
    /// Links to earlier and later weeks.
    pub earlier: Option<String>,
    pub later: Option<String>,
    pub csv: String,
}

/// `?page=` (1 = the latest weeks).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SeatsQuery {
    page: String,
}

fn seats_page(
    nav: Nav,
    cohort: Option<SeatsCohort>,
    weeks: &std::collections::BTreeMap<Date, WeekCounts>,
    page: usize,
    this_week: Date,
) -> SeatsPage {
    let window = week_page(weeks, page, WEEKS_PER_PAGE);
    let rows: Vec<WeekRow> = window
        .weeks
        .into_iter()
        .map(|(monday, counts)| WeekRow::of(monday, counts, this_week))
        .collect();
    let path = cohort.as_ref().map_or_else(
        || "/reports/seats".to_owned(),
        |c| format!("/cohorts/{}/seats", c.id),
    );
    let link = |p: usize| query_link(&path, &[("page", &p.to_string())]);
    let subject = cohort
        .as_ref()
        .map_or_else(|| "all cohorts".to_owned(), |c| c.name.clone());
    SeatsPage {
        nav,
        tab: Tab::Seats,
        chart: Chart::of(
            &rows
                .iter()
                .map(|r| (r.label.as_str(), r.counts, r.so_far))
                .collect::<Vec<_>>(),
            &subject,
        ),
        rows,
        has_data: window.pages > 0,
        earlier: (page < window.pages).then(|| link(page + 1)),
        later: (page > 1 && window.pages > 0).then(|| link((page - 1).min(window.pages))),
        csv: format!("{path}.csv"),
        cohort,
    }
}

/// `GET /reports/seats`: seat changes per ISO week over every cohort, 26 weeks a page, latest
/// first. Costs one lookup per week shown.
pub async fn seats(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(q): PageQuery<SeatsQuery>,
) -> SeatsPage {
    let read = state.read.read();
    seats_page(
        Nav::of(&principal, &state.zone),
        None,
        read.seat_weeks.overall(),
        page_number(&q.page),
        week_of(state.clock.now()),
    )
}

/// `GET /cohorts/{id}/seats`: one cohort's seat changes per ISO week. Costs one lookup per week
/// shown.
pub async fn cohort_seats(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    PageQuery(q): PageQuery<SeatsQuery>,
) -> Result<SeatsPage, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let read = state.read.read();
    let view = read
        .catalog
        .get(cohort)
        .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))?;
    let subject = SeatsCohort {
        id: cohort.to_string(),
        name: view.state.name.clone(),
    };
    Ok(seats_page(
        Nav::of(&principal, &state.zone),
        Some(subject),
        read.seat_weeks.of(cohort),
        page_number(&q.page),
        week_of(state.clock.now()),
    ))
}

/// Every week from the first change to the last, zeros filled in, oldest first.
fn all_weeks(weeks: &std::collections::BTreeMap<Date, WeekCounts>) -> Vec<Vec<String>> {
    week_page(weeks, 1, usize::MAX)
        .weeks
        .into_iter()
        .map(|(monday, counts)| WeekRow::of(monday, counts, Date::MAX).cells())
        .collect()
}

/// `GET /reports/seats.csv`: every week of the overall report.
pub async fn seats_csv(State(state): State<AppState>) -> Response {
    let rows = all_weeks(state.read.read().seat_weeks.overall());
    csv::download("seat-changes.csv", &WEEK_HEADER, rows.into_iter())
}

/// `GET /cohorts/{id}/seats.csv`: every week of one cohort.
pub async fn cohort_seats_csv(
    State(state): State<AppState>,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let rows = {
        let read = state.read.read();
        if read.catalog.get(cohort).is_none() {
            return Err(PageError::NotFound(format!("no cohort {cohort}")));
        }
        all_weeks(read.seat_weeks.of(cohort))
    };
    Ok(csv::download(
        &format!("cohort-{cohort}-seat-changes.csv"),
        &WEEK_HEADER,
        rows.into_iter(),
    ))
}
