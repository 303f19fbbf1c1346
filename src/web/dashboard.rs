//! The dashboard (`GET /`) and its list as CSV (`GET /cohorts.csv`): every cohort, filterable by
//! instructor and phase (the status read with the dates), sortable by column, and the signals
//! shown with the list (near-full cohorts, seats free while learners wait, deadlines ahead,
//! totals).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::AppState;
use super::csv;
use super::error::PageError;
use super::extract::{Acting, PageQuery};
use super::nav::Nav;
use super::views::{CohortRow, PageLinks};
use super::zone::Zone;
use crate::domain::{CohortId, Phase};
use crate::projections::{
    CatalogFilter, CatalogQuery, CatalogSort, CohortView, Projections, SortKey, Totals,
};

/// Cohorts per dashboard page.
const PAGE_SIZE: usize = 50;
/// The last dashboard page number honoured; beyond it every page is empty anyway.
const MAX_PAGE: usize = 1 << 32;
/// Cohorts or dates each dashboard signal lists before saying how many more there are.
const SIGNAL_ROWS: usize = 10;
/// How far past the shown rows a signal's list is counted.
const MAX_COUNTED: usize = 1000;
/// How far ahead the dashboard looks for deadlines.
const SIGNAL_DAYS: i64 = 7;

/// The dashboard page.
#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub nav: Nav,
    pub cohorts: Vec<CohortRow>,
    pub instructors: std::sync::Arc<[String]>,
    pub instructor: String,
    /// The phase filter's value (`""` for every phase).
    pub status: String,
    /// The phases the filter offers.
    pub phases: [Phase; 6],
    /// The sort as the links carry it (`""` for newest first).
    pub sort: &'static str,
    pub dir: &'static str,
    /// The sortable header cells, by column.
    pub headers: SortHeaders,
    /// Seats taken (percent) from which the fill bar turns amber and says how many are left.
    pub near_full_percent: u32,
    pub pages: PageLinks,
    pub total_cohorts: usize,
    pub error: Option<String>,
    /// Near-full cohorts, seats free while learners wait, deadlines ahead, totals.
    pub signals: DashboardSignals,
    /// Offers falling due in the next 24 hours, and how many more (issue 15).
    pub offers_due: (Vec<super::offer_views::DueOffer>, usize),
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DashboardQuery {
    instructor: String,
    /// A phase (`open`, `enrollment_ended`, `closed`, `running`, `finished`, `cancelled`).
    /// The old stored-status values `open`, `closed` and `cancelled` are phase names too, so
    /// links made before phases keep working (they now mean the phase of the same name).
    status: String,
    sort: String,
    dir: String,
    page: String,
}

/// The dashboard's query read: the catalog query, and a message for each part that was not
/// understood (that part is then ignored, so the page still lists cohorts).
struct ReadQuery {
    query: CatalogQuery,
    errors: Vec<String>,
}

impl DashboardQuery {
    fn read(&self) -> ReadQuery {
        let mut errors = Vec::new();
        let phase = match self.status.trim() {
            "" => None,
            raw => match raw.parse::<Phase>() {
                Ok(p) => Some(p),
                Err(message) => {
                    errors.push(format!("status: {message}"));
                    None
                }
            },
        };
        let key = self.sort.parse::<SortKey>().unwrap_or_else(|message| {
            errors.push(format!("{message}; showing newest first"));
            SortKey::Created
        });
        let descending = match self.dir.trim() {
            "" => key.descending_first(),
            "asc" => false,
            "desc" => true,
            other => {
                errors.push(format!("dir: must be asc or desc; got {other:?}"));
                key.descending_first()
            }
        };
        ReadQuery {
            query: CatalogQuery {
                filter: CatalogFilter {
                    instructor: Some(self.instructor.trim().to_owned()).filter(|i| !i.is_empty()),
                    status: None,
                },
                phase,
                sort: CatalogSort { key, descending },
            },
            errors,
        }
    }
}

/// A header cell that sorts by its column: the link, and where the list stands.
pub struct SortHeader {
    /// The list sorted by this column (the other direction when it already is).
    pub href: String,
    /// `ascending` or `descending` when the list is sorted by this column, else `""`.
    pub aria_sort: &'static str,
    /// ▲ or ▼ beside the sorted column's name, else `""`.
    pub arrow: &'static str,
}

/// The dashboard's sortable columns.
pub struct SortHeaders {
    pub name: SortHeader,
    pub fill: SortHeader,
    pub waitlist: SortHeader,
    pub starts: SortHeader,
    pub deadline: SortHeader,
}

/// The dashboard's address for these filters, sort and page; the sort and page are left out
/// where they are the defaults.
fn dashboard_link(instructor: &str, status: &str, sort: CatalogSort, page: usize) -> String {
    let mut pairs = vec![("instructor", instructor), ("status", status)];
    let dir = if sort.descending { "desc" } else { "asc" };
    if sort != CatalogSort::default() {
        pairs.push(("sort", sort.key.as_str()));
        pairs.push(("dir", dir));
    }
    let page = page.to_string();
    pairs.push(("page", &page));
    format!(
        "/?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

impl SortHeaders {
    fn of(instructor: &str, status: &str, current: CatalogSort) -> Self {
        let header = |key: SortKey| {
            let sorted = current.key == key;
            let next = CatalogSort {
                key,
                descending: if sorted {
                    !current.descending
                } else {
                    key.descending_first()
                },
            };
            SortHeader {
                href: dashboard_link(instructor, status, next, 1),
                aria_sort: match (sorted, current.descending) {
                    (false, _) => "",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
                arrow: match (sorted, current.descending) {
                    (false, _) => "",
                    (true, false) => " ▲",
                    (true, true) => " ▼",
                },
            }
        };
        Self {
            name: header(SortKey::Name),
            fill: header(SortKey::Fill),
            waitlist: header(SortKey::Waitlist),
            starts: header(SortKey::Starts),
            deadline: header(SortKey::Deadline),
        }
    }
}

/// `GET /`: every cohort, filterable by instructor and phase, sortable by column.
pub async fn dashboard(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(q): PageQuery<DashboardQuery>,
) -> Result<Response, PageError> {
    let ReadQuery { query, errors } = q.read();
    let error = (!errors.is_empty()).then(|| errors.join(". "));
    let page = q
        .page
        .trim()
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, MAX_PAGE);
    let now = state.clock.now();
    let read = state.read.read();
    let offset = (page - 1) * PAGE_SIZE;
    let (views, total) = read.catalog.query(&query, now, offset, PAGE_SIZE);
    let cohorts: Vec<CohortRow> = views
        .into_iter()
        .map(|view| CohortRow::of(view, &state.zone, now))
        .collect();
    let instructor = q.instructor.trim();
    let status = query.phase.map_or("", Phase::as_str);
    let link = |p: usize| dashboard_link(instructor, status, query.sort, p);
    let pages = PageLinks {
        previous: (page > 1).then(|| link(page - 1)),
        next: (offset + cohorts.len() < total).then(|| link(page + 1)),
        first_shown: if cohorts.is_empty() { 0 } else { offset + 1 },
        last_shown: offset + cohorts.len(),
        total,
    };
    let page = DashboardPage {
        nav: Nav::of(&principal, &state.zone),
        cohorts,
        instructors: read.catalog.instructors(),
        instructor: instructor.to_owned(),
        status: status.to_owned(),
        phases: Phase::ALL,
        sort: if query.sort == CatalogSort::default() {
            ""
        } else {
            query.sort.key.as_str()
        },
        dir: match (query.sort == CatalogSort::default(), query.sort.descending) {
            (true, _) => "",
            (false, true) => "desc",
            (false, false) => "asc",
        },
        headers: SortHeaders::of(instructor, status, query.sort),
        near_full_percent: u32::try_from(crate::projections::NEAR_FULL_PERCENT).unwrap_or(90),
        pages,
        total_cohorts: read.catalog.len(),
        error,
        signals: signals(&read, now, &state.zone),
        offers_due: super::offer_views::due_soon(&read, now),
    };
    drop(read);
    Ok(super::views::render_sized(&page, 96 << 10))
}

/// `GET /cohorts.csv`: the dashboard's list, with the same filters, as CSV.
pub async fn dashboard_csv(
    PageQuery(q): PageQuery<DashboardQuery>,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let ReadQuery { query, errors } = q.read();
    if !errors.is_empty() {
        return Err(PageError::BadRequest(errors.join(". ")));
    }
    let now = state.clock.now();
    let rows: Vec<Vec<String>> = {
        let read = state.read.read();
        let (views, _) = read.catalog.query(&query, now, 0, usize::MAX);
        views
            .into_iter()
            .map(|v: &CohortView| {
                let c = &v.state;
                vec![
                    c.id.to_string(),
                    c.name.clone(),
                    c.course.clone(),
                    c.instructor.clone(),
                    c.capacity.to_string(),
                    c.enrolled_count().to_string(),
                    c.waitlist.len().to_string(),
                    c.seats_remaining().to_string(),
                    c.status.as_str().to_owned(),
                    Phase::of(c, now).as_str().to_owned(),
                    c.starts_at.to_string(),
                    c.enrollment_deadline.to_string(),
                    c.withdrawal_deadline.to_string(),
                ]
            })
            .collect()
    };
    Ok(csv::download(
        "cohorts.csv",
        &[
            "id",
            "name",
            "course",
            "instructor",
            "capacity",
            "enrolled",
            "waitlisted",
            "seats_free",
            "status",
            "phase",
            "starts_at",
            "enrollment_deadline",
            "withdrawal_deadline",
        ],
        rows.into_iter(),
    ))
}

/// A cohort named by a signal.
pub struct SignalCohort {
    pub id: String,
    pub name: String,
    pub enrolled: u32,
    pub capacity: u32,
    pub waitlist: usize,
    pub fill_percent: u32,
    pub enrollment_deadline: super::zone::When,
}

impl SignalCohort {
    fn of(read: &Projections, id: CohortId, zone: &Zone, now: jiff::Timestamp) -> Option<Self> {
        let row = CohortRow::of(read.catalog.get(id)?, zone, now);
        Some(Self {
            id: row.id,
            name: row.name,
            enrolled: row.enrolled,
            capacity: row.capacity,
            waitlist: row.waitlist,
            fill_percent: row.fill_percent,
            enrollment_deadline: row.enrollment_deadline,
        })
    }
}

/// A date coming up.
pub struct SignalDeadline {
    pub id: String,
    pub name: String,
    pub what: &'static str,
    pub time: super::zone::When,
}

/// Up to [`SIGNAL_ROWS`] items and how many more there are.
pub struct Listed<T> {
    pub items: Vec<T>,
    pub more: usize,
    /// Counting stopped at [`MAX_COUNTED`]: there are more than `more`.
    pub more_capped: bool,
}

impl<T> Listed<T> {
    /// The first [`SIGNAL_ROWS`] items shown, and the rest counted up to [`MAX_COUNTED`], so a
    /// dashboard costs the same however many cohorts are near full.
    fn of<I>(ids: impl Iterator<Item = I>, mut show: impl FnMut(I) -> Option<T>) -> Self {
        let mut items = Vec::new();
        let mut more = 0;
        for id in ids {
            if items.len() < SIGNAL_ROWS {
                items.extend(show(id));
            } else if more < MAX_COUNTED {
                more += 1;
            } else {
                return Self {
                    items,
                    more,
                    more_capped: true,
                };
            }
        }
        Self {
            items,
            more,
            more_capped: false,
        }
    }

    /// "12", or "1000+" when counting stopped.
    pub fn more_words(&self) -> String {
        if self.more_capped {
            format!("{}+", self.more)
        } else {
            self.more.to_string()
        }
    }
}

/// What the dashboard shows above the cohort list.
pub struct DashboardSignals {
    pub totals: Totals,
    /// Learners on file.
    pub learners: usize,
    pub near_full_percent: u64,
    pub near_full: Listed<SignalCohort>,
    pub seat_free_while_waiting: Listed<SignalCohort>,
    pub deadlines: Listed<SignalDeadline>,
    pub days: i64,
}

/// The dashboard's signals at `now`. Costs one step per near-full cohort still taking
/// enrollments, per open cohort with a seat free while learners wait, and per date in the next
/// seven days (each from its own index); at most [`SIGNAL_ROWS`] of each are copied out. Times
/// are shown in `zone`.
#[must_use]
pub fn signals(read: &Projections, now: Timestamp, zone: &Zone) -> DashboardSignals {
    let signals = &read.signals;
    let horizon = now + SignedDuration::from_hours(24 * SIGNAL_DAYS);
    DashboardSignals {
        totals: signals.totals(),
        learners: read.directory.len(),
        near_full_percent: crate::projections::NEAR_FULL_PERCENT,
        near_full: Listed::of(signals.near_full(now), |id| {
            SignalCohort::of(read, id, zone, now)
        }),
        seat_free_while_waiting: Listed::of(signals.seat_free_while_waiting(), |id| {
            SignalCohort::of(read, id, zone, now)
        }),
        deadlines: Listed::of(signals.deadlines_between(now, horizon), |(at, id, kind)| {
            let view = read.catalog.get(id)?;
            Some(SignalDeadline {
                id: id.to_string(),
                name: view.state.name.clone(),
                what: kind.label(),
                time: zone.when(at, now),
            })
        }),
        days: SIGNAL_DAYS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_list_shows_its_first_rows_and_counts_the_rest_up_to_a_cap() {
        let few = Listed::of(0..15, Some);
        assert_eq!(
            (few.items.len(), few.more, few.more_words()),
            (10, 5, "5".to_owned())
        );
        let many = Listed::of(0..5000, Some);
        assert_eq!(many.items, (0..10).collect::<Vec<_>>());
        assert_eq!(many.more_words(), format!("{MAX_COUNTED}+"));
        let exactly = Listed::of(0..(SIGNAL_ROWS + MAX_COUNTED), Some);
        assert_eq!(exactly.more_words(), MAX_COUNTED.to_string());
    }
}
