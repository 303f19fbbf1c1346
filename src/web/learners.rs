//! The learner page: where a learner stands in each cohort, and their timeline across cohorts.

use axum::extract::State;

use super::AppState;
use super::error::PageError;
use super::extract::{Acting, PagePath};
use super::nav::Nav;
use super::views::{JournalRow, LearnerPage, TimelineRow};
use crate::domain::CohortId;

/// `GET /learners/{learner}`: where the learner stands, and their timeline across cohorts.
pub async fn learner(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(raw): PagePath,
) -> Result<LearnerPage, PageError> {
    let read = state.read.read();
    let id = super::find_learner(&read.directory, &raw)
        .filter(|id| read.directory.get(*id).is_some() || !read.timelines.of(*id).is_empty())
        .ok_or_else(|| PageError::NotFound(format!("no learner {raw:?}")))?;
    let timeline = read.timeline(id);
    let mut cohorts: Vec<CohortId> = timeline.iter().map(|e| e.cohort).collect();
    cohorts.sort_unstable();
    cohorts.dedup();
    let mut enrolled_in = Vec::new();
    let mut waitlisted_in = Vec::new();
    for &cohort in &cohorts {
        if let Some(view) = read.catalog.get(cohort) {
            let entry = (cohort.to_string(), view.state.name.clone());
            if view.state.is_enrolled(id) {
                enrolled_in.push(entry);
            } else if let Some(place) = view.state.waitlist_place(id) {
                waitlisted_in.push((entry.0, entry.1, place as usize));
            }
        }
    }
    let offered_in =
        super::offer_views::offers_of(&read, id, &cohorts, &state.zone, state.clock.now());
    let refused = read
        .journal
        .of_learner(id, 50)
        .into_iter()
        .map(|(_, e)| JournalRow::of(e, &read, &state.zone))
        .collect();
    let what_if = super::what_if::learner_links(id, &read, &state.zone);
    Ok(LearnerPage {
        what_if,
        nav: Nav::of(&principal, &state.zone),
        refused,
        key: read.directory.key_of(id),
        name: read.directory.name_of(id).to_owned(),
        enrolled_in,
        waitlisted_in,
        offered_in,
        rows: timeline
            .iter()
            .rev()
            .map(|e| TimelineRow::of(e, &read, &state.zone))
            .collect(),
    })
}
