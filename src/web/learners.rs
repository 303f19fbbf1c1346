//! The learner page: where a learner stands in each cohort, the seat story of each (see
//! `seat_story`), their timeline across cohorts, and moving them to another cohort (a preview
//! line first, then Post/Redirect/Get with the move in plain words).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::error::PageError;
use super::extract::{Acting, PagePath, PageQuery};
use super::input;
use super::moves::{self, MovePreview};
use super::nav::Nav;
use super::views::{JournalRow, LearnerPage, TimelineRow};
use crate::auth::Principal;
use crate::domain::CohortId;
use crate::learner_key::LearnerKey;
use crate::writer::{CommandError, Request};

/// The learner page's query: a move to preview (`move_from`, `move_to`, `allow_waitlist`), or
/// the positions of a move just done (`moved=F-L`).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LearnerQuery {
    move_from: String,
    move_to: String,
    allow_waitlist: String,
    moved: String,
}

/// `GET /learners/{learner}`: where the learner stands, and their timeline across cohorts.
pub async fn learner(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(raw): PagePath,
    PageQuery(q): PageQuery<LearnerQuery>,
) -> Result<Response, PageError> {
    let mut page = render(&state, &principal, &raw)?;
    let learner = super::find_learner(&state.read.read().directory, &raw);
    if let Some(learner) = learner {
        page.mail = super::learner_mail::section(&state, learner, &page.key).await;
    }
    if let (Some(from), Some(to)) = (input::cohort_id(&q.move_from), input::cohort_id(&q.move_to)) {
        if let Ok(key) = LearnerKey::parse(&page.key) {
            page.preview = Some(moves::preview(
                &state,
                &key,
                (from, to),
                checked(&q.allow_waitlist),
            ));
        }
    }
    if let Some((first, last)) = moved_range(&q.moved) {
        let positions: Vec<u64> = (first..=last).collect();
        let events = state
            .read_store(move |s| s.read()?.events_at(&positions))
            .await
            .map_err(|e| PageError::internal("store read", &e))?;
        page.moved = moves::done_words(&state.read.read(), &events);
    }
    Ok(page.into_response())
}

/// A checkbox's value: checked when sent at all (browsers send `on`).
fn checked(raw: &str) -> bool {
    matches!(raw.trim(), "on" | "true" | "1")
}

/// Reads `moved=F-L`: a short range (a transfer appends a handful of events).
fn moved_range(raw: &str) -> Option<(u64, u64)> {
    let (first, last) = raw.trim().split_once('-')?;
    let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
    (first <= last && last - first < 64).then_some((first, last))
}

/// The page of the learner named by `raw` (a key or an id), without a preview or a flash.
fn render(state: &AppState, principal: &Principal, raw: &str) -> Result<LearnerPage, PageError> {
    let read = state.read.read();
    let id = super::find_learner(&read.directory, raw)
        .filter(|id| read.directory.get(*id).is_some() || !read.timelines.of(*id).is_empty())
        .ok_or_else(|| PageError::NotFound(format!("no learner {raw:?}")))?;
    let timeline = read.timeline(id);
    let now = state.clock.now();
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
                // A place is shown only where the waitlist can still move.
                let place = crate::domain::Phase::waitlist_moves(&view.state, now)
                    .then_some(place as usize);
                waitlisted_in.push((entry.0, entry.1, place));
            }
        }
    }
    let offered_in =
        super::offer_views::offers_of(&read, id, &cohorts, &state.zone, state.clock.now());
    let nav = Nav::of(principal, &state.zone);
    // Only staff see the move forms: the open cohorts are listed only for them.
    let moves = if nav.can_act {
        moves::moves_out(&read, id, &cohorts, state.clock.now(), &state.zone)
    } else {
        Vec::new()
    };
    let refused = read
        .journal
        .of_learner(id, 50)
        .into_iter()
        .map(|(_, e)| JournalRow::of(e, &read, &state.zone, state.clock.now()))
        .collect();
    let what_if = super::what_if::learner_links(id, &read, &state.zone);
    let key = read.directory.key_of(id);
    let stories =
        super::seat_story::stories(&read, id, &urlencoding(&key), &timeline, &state.zone, now);
    Ok(LearnerPage {
        stories,
        what_if,
        nav,
        refused,
        key,
        name: read.directory.name_of(id).to_owned(),
        enrolled_in,
        waitlisted_in,
        offered_in,
        rows: timeline
            .iter()
            .rev()
            .map(|e| TimelineRow::of(e, &read, &state.zone, now))
            .collect(),
        moves,
        preview: None,
        moved: None,
        move_error: None,
        mail: super::learner_mail::MailSection::default(),
    })
}

/// The move form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MoveForm {
    from: String,
    to: String,
    allow_waitlist: String,
    reason: String,
}

/// `POST /learners/{learner}/transfer`: move the learner; redirect to their page saying what was
/// done, or render it again (422) with the refusal at the top and beside the form.
pub async fn transfer(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(raw): PagePath,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(f) =
        form.map_err(|e| PageError::BadRequest(format!("the form could not be read: {e}")))?;
    let page = render(&state, &principal, &raw)?;
    let key = LearnerKey::parse(&page.key)
        .map_err(|_| PageError::NotFound(format!("no learner {raw:?}")))?;
    let (Some(from), Some(to)) = (input::cohort_id(&f.from), input::cohort_id(&f.to)) else {
        return Ok(refused(
            page,
            &f,
            "Choose the cohort to move to.".to_owned(),
        ));
    };
    let reason = match input::text("reason", &f.reason, input::MAX_REASON) {
        Ok(reason) => reason,
        Err(e) => return Ok(refused(page, &f, e.to_string())),
    };
    let request = Request::Transfer {
        cohort: from,
        to,
        learner: key.clone(),
        allow_waitlist: checked(&f.allow_waitlist),
        reason,
    };
    match state.submit_request(&principal, request).await {
        Ok(done) => {
            let first = done.events.first().map_or(0, |e| e.position);
            let url = format!(
                "/learners/{}?moved={first}-{}",
                urlencoding(key.as_str()),
                done.position()
            );
            Ok(Redirect::to(&url).into_response())
        }
        Err(e @ (CommandError::TransferRefused(_) | CommandError::Rejected(_))) => {
            let who = if page.name.is_empty() {
                page.key.clone()
            } else {
                page.name.clone()
            };
            let message = moves::refusal(&state.read.read(), &e, &who);
            Ok(refused(page, &f, message))
        }
        Err(CommandError::Stopped) => Err(PageError::Unavailable),
        Err(CommandError::Store(e)) if e.is_storage_failure() => {
            tracing::error!(error = %e, "transfer not stored");
            Err(PageError::StorageUnavailable)
        }
        Err(e) => Err(PageError::internal("transfer", &e)),
    }
}

/// The page again, 422, with the refusal at the top and the move form's values kept.
fn refused(mut page: LearnerPage, f: &MoveForm, message: String) -> Response {
    page.move_error = Some(message.clone());
    page.preview = Some(MovePreview {
        from: f.from.clone(),
        to: f.to.clone(),
        allow_waitlist: checked(&f.allow_waitlist),
        words: message,
        allowed: false,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// A learner key as a path segment (`@` and every other reserved character escaped).
fn urlencoding(key: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'.')
        .remove(b'-')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(key, SEGMENT).to_string()
}
