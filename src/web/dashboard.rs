//! The dashboard's view model: the page's fields and the signals shown above the cohort list
//! (near-full cohorts, seats free while learners wait, deadlines ahead, totals).
#![warn(clippy::cast_possible_truncation)]

use askama::Template;
use askama_web::WebTemplate;
use jiff::{SignedDuration, Timestamp};

use super::input::display_time;
use super::nav::Nav;
use super::views::{CohortRow, PageLinks};
use crate::domain::CohortId;
use crate::projections::{Projections, Totals};

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
    pub status: String,
    pub pages: PageLinks,
    pub total_cohorts: usize,
    pub error: Option<String>,
    /// Near-full cohorts, seats free while learners wait, deadlines ahead, totals.
    pub signals: DashboardSignals,
}

/// A cohort named by a signal.
pub struct SignalCohort {
    pub id: String,
    pub name: String,
    pub enrolled: u32,
    pub capacity: u32,
    pub waitlist: usize,
    pub fill_percent: u32,
    pub enrollment_deadline: String,
}

impl SignalCohort {
    fn of(read: &Projections, id: CohortId) -> Option<Self> {
        let row = CohortRow::of(read.catalog.get(id)?);
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
    pub time: String,
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
/// seven days (each from its own index); at most [`SIGNAL_ROWS`] of each are copied out.
#[must_use]
pub fn signals(read: &Projections, now: Timestamp) -> DashboardSignals {
    let signals = &read.signals;
    let horizon = now + SignedDuration::from_hours(24 * SIGNAL_DAYS);
    DashboardSignals {
        totals: signals.totals(),
        learners: read.directory.len(),
        near_full_percent: crate::projections::NEAR_FULL_PERCENT,
        near_full: Listed::of(signals.near_full(now), |id| SignalCohort::of(read, id)),
        seat_free_while_waiting: Listed::of(signals.seat_free_while_waiting(), |id| {
            SignalCohort::of(read, id)
        }),
        deadlines: Listed::of(signals.deadlines_between(now, horizon), |(at, id, kind)| {
            let view = read.catalog.get(id)?;
            Some(SignalDeadline {
                id: id.to_string(),
                name: view.state.name.clone(),
                what: kind.label(),
                time: display_time(at),
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
