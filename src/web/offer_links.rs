//! The offer link pages (issue 17, item 4), public (no account): `GET /offers/{token}` shows
//! the offer and what accepting or declining does, and changes nothing; `POST /offers/{token}`
//! (the confirmation, with the action named in the form) records `offer.accepted` or
//! `offer.declined` through the writer as [`Actor::learner`], decided at the cohort version
//! the check saw, then redirects to the result. A used, expired, tampered, superseded or
//! unknown link gets a page saying so (400, 404 or 410) and changes nothing.
//!
//! The signed token is the capability; a post from another site is refused all the same
//! (`Origin` / `Sec-Fetch-Site`, as for the login form; see [`from_own_page`]). What the link may still do is read
//! from the ledger ([`OfferLinks::state`]), never trusted from the token. The pages name the
//! cohort only: no learner's name or key. Responses are `Cache-Control: no-store` with
//! `Referrer-Policy: no-referrer`, since the token is in the address.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde::Deserialize;

use super::AppState;
use super::access::{CookiePolicy, same_origin};
use super::nav::Nav;
use super::zone::When;
use crate::learner_key::LearnerKey;
use crate::offer_links::{
    MAX_TOKEN_LEN, OfferAction, OfferLink, OfferLinks, OfferState, OpenOffer,
};
use crate::store::{Actor, UsedOfferLink};
use crate::writer::{CommandError, Request, Submission};

/// How often a confirmation is decided again when the cohort changed between the check and the
/// writer (each time from what the ledger then says).
const ATTEMPTS: usize = 3;

#[derive(Template, WebTemplate)]
#[template(path = "offer_link.html")]
pub struct OfferLinkPage {
    nav: Nav,
    title: &'static str,
    /// The held offer and its two forms, or `None` for an outcome page.
    open: Option<OpenView>,
    /// An outcome page's sentence.
    lead: String,
    /// `ok`, `warn`, `error` or `cancelled`: the outcome's colour.
    tone: &'static str,
    /// More sentences.
    more: Vec<String>,
}

pub struct OpenView {
    cohort: String,
    course: String,
    until: When,
    starts: When,
    /// The action of the link followed first.
    forms: Vec<ActionForm>,
}

pub struct ActionForm {
    action: &'static str,
    token: String,
    heading: &'static str,
    says: String,
    button: &'static str,
}

/// What a page says besides the offer: its status, title, sentence and colour.
struct Outcome {
    status: StatusCode,
    title: &'static str,
    lead: String,
    tone: &'static str,
    more: Vec<String>,
}

impl Outcome {
    fn new(status: StatusCode, title: &'static str, lead: String, tone: &'static str) -> Self {
        Self {
            status,
            title,
            lead,
            tone,
            more: Vec::new(),
        }
    }

    fn nothing_changed(mut self) -> Self {
        self.more
            .push("Nothing was changed. If you think this is wrong, reply to the e-mail that brought you here.".to_owned());
        self
    }

    fn render(self, state: &AppState) -> Response {
        let page = OfferLinkPage {
            nav: Nav::anonymous(&state.zone),
            title: self.title,
            open: None,
            lead: self.lead,
            tone: self.tone,
            more: self.more,
        };
        private((self.status, page).into_response())
    }
}

/// No cache keeps the page, and no referrer carries its address (the token) anywhere.
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn invalid_link() -> Outcome {
    Outcome::new(
        StatusCode::BAD_REQUEST,
        "This link is not valid",
        "The link was changed or cut short, so it cannot be used. Open it again from the e-mail, \
         whole."
            .to_owned(),
        "error",
    )
    .nothing_changed()
}

/// Whether a confirmation comes from rollbook's own page: as for every form
/// ([`same_origin`]), except that `Origin: null` is taken when the browser says
/// `Sec-Fetch-Site: same-origin`. Under the page's `Referrer-Policy: no-referrer` browsers send
/// `Origin: null` on its own form posts; a page of another site cannot make its post
/// `same-origin` (scripts cannot set `Sec-Fetch-*`), and a sandboxed or cross-site `null` is
/// sent with `cross-site`, or by browsers without `Sec-Fetch-Site`, and stays refused.
fn from_own_page(headers: &HeaderMap, policy: &CookiePolicy) -> bool {
    let same_origin_fetch = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"same-origin");
    let null_origin = headers
        .get(header::ORIGIN)
        .is_some_and(|v| v.as_bytes() == b"null");
    (same_origin_fetch && null_origin) || same_origin(headers, policy)
}

/// The token of the path, verified.
fn verified(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
) -> Result<(String, OfferLink), Outcome> {
    let Ok(Path(token)) = path else {
        return Err(invalid_link());
    };
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid_link());
    }
    let link = state
        .offer_links
        .verify(&token)
        .map_err(|_| invalid_link())?;
    Ok((token, link))
}

/// The page of an offer that is no longer open (or never was), from the ledger.
fn closed(state: &AppState, found: &OfferState) -> Outcome {
    let when = |at: Timestamp| state.zone.show(at);
    let gone = StatusCode::GONE;
    let outcome = match found {
        OfferState::Open(_) => {
            return Outcome::new(
                StatusCode::CONFLICT,
                "Please try again",
                "The cohort changed while your answer was being recorded. Open the link again \
                 to see the offer as it is now."
                    .to_owned(),
                "warn",
            )
            .nothing_changed();
        }
        OfferState::Accepted { cohort_name, at } => Outcome::new(
            gone,
            "This offer was already answered",
            format!(
                "The seat in {cohort_name} was accepted on {}: it is taken, and this link cannot \
                 be used again.",
                when(*at)
            ),
            "ok",
        ),
        OfferState::Declined {
            cohort_name, at, ..
        } => Outcome::new(
            gone,
            "This offer was already answered",
            format!(
                "The seat in {cohort_name} was declined on {}, and this link cannot be used \
                 again.",
                when(*at)
            ),
            "warn",
        ),
        OfferState::Expired { cohort_name, at } => Outcome::new(
            gone,
            "This offer has expired",
            format!(
                "The seat in {cohort_name} was held for you until {}. That time has passed, so \
                 the offer can no longer be answered.",
                when(*at)
            ),
            "past",
        ),
        OfferState::Cancelled { cohort_name, at } => Outcome::new(
            gone,
            "This cohort was cancelled",
            format!(
                "{cohort_name} was cancelled on {}, and the offer ended with it.",
                when(*at)
            ),
            "cancelled",
        ),
        OfferState::Ended { cohort_name, at } => Outcome::new(
            gone,
            "This offer is no longer open",
            format!(
                "The offer of a seat in {cohort_name} ended on {}.",
                when(*at)
            ),
            "warn",
        ),
        OfferState::Erased => Outcome::new(
            gone,
            "This link no longer works",
            "The details this link was made for have been removed.".to_owned(),
            "cancelled",
        ),
        OfferState::Unknown => Outcome::new(
            StatusCode::NOT_FOUND,
            "No such offer",
            "rollbook holds no offer for this link.".to_owned(),
            "error",
        ),
    };
    outcome.nothing_changed()
}

/// The page of an open offer: the offer, and a form per action (the one followed first).
fn open_page(state: &AppState, link: &OfferLink, offer: &OpenOffer, now: Timestamp) -> Response {
    let form = |link: OfferLink| {
        let token = state.offer_links.token(link);
        match link.action {
            OfferAction::Accept => ActionForm {
                action: "accept",
                token,
                heading: "Take the seat",
                says: format!(
                    "You are enrolled in {} and the seat is yours.",
                    offer.cohort_name
                ),
                button: "Accept the seat",
            },
            OfferAction::Decline => ActionForm {
                action: "decline",
                token,
                heading: "Turn it down",
                says: format!(
                    "You give up the seat and leave the waitlist of {}; the seat {}. This cannot \
                     be undone.",
                    offer.cohort_name,
                    offer.seat_if_declined.words()
                ),
                button: "Decline the seat",
            },
        }
    };
    let page = OfferLinkPage {
        nav: Nav::anonymous(&state.zone),
        title: "A seat is held for you",
        open: Some(OpenView {
            cohort: offer.cohort_name.clone(),
            course: offer.course.clone(),
            until: state.zone.when(offer.expires_at, now),
            starts: state.zone.when(offer.starts_at, now),
            forms: vec![form(*link), form(link.other())],
        }),
        lead: String::new(),
        tone: "",
        more: Vec::new(),
    };
    private(page.into_response())
}

/// The ledger's word on `link` at `now`.
fn state_of(state: &AppState, link: &OfferLink) -> (OfferState, Timestamp) {
    let now = state.clock.now();
    let read = state.read.read();
    (OfferLinks::state(&read, link, now), now)
}

/// Whether the offer was answered through a link, read on the blocking pool.
async fn used(state: &AppState, link: &OfferLink) -> Result<Option<UsedOfferLink>, Outcome> {
    let (links, position) = (state.offer_links.clone(), link.offer_position);
    tokio::task::spawn_blocking(move || links.used(position))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|error| {
            tracing::error!(%error, "cannot read whether an offer link was used");
            unavailable()
        })
}

fn unavailable() -> Outcome {
    Outcome::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again later",
        "rollbook could not take your answer just now.".to_owned(),
        "error",
    )
    .nothing_changed()
}

/// `GET /offers/{token}`: the offer and what each answer does, or what became of it. Reads
/// only. After a confirmation (`?done`), the result of the answer this link recorded.
pub async fn page(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let (_, link) = match verified(&state, path) {
        Ok(found) => found,
        Err(outcome) => return outcome.render(&state),
    };
    let (found, now) = state_of(&state, &link);
    if let OfferState::Open(offer) = &found {
        return open_page(&state, &link, offer, now);
    }
    if query.as_deref() == Some("done") {
        let answered_here = match used(&state, &link).await {
            Ok(used) => used.is_some_and(|u| u.accepted == (link.action == OfferAction::Accept)),
            Err(outcome) => return outcome.render(&state),
        };
        if answered_here && let Some(outcome) = result(&state, &found) {
            return outcome.render(&state);
        }
    }
    closed(&state, &found).render(&state)
}

/// The page after a confirmation this link recorded.
fn result(state: &AppState, found: &OfferState) -> Option<Outcome> {
    let when = |at: Timestamp| state.zone.show(at);
    match found {
        OfferState::Accepted { cohort_name, at } => Some(Outcome::new(
            StatusCode::OK,
            "You have the seat",
            format!(
                "You accepted the seat in {cohort_name} on {}: you are enrolled.",
                when(*at)
            ),
            "ok",
        )),
        OfferState::Declined {
            cohort_name,
            at,
            seat,
        } => Some(Outcome::new(
            StatusCode::OK,
            "You turned the offer down",
            format!(
                "You declined the seat in {cohort_name} on {}; the seat {}.",
                when(*at),
                seat.words()
            ),
            "warn",
        )),
        _ => None,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    action: String,
}

/// `POST /offers/{token}`: the confirmation. Records the link's action (named again in the
/// form) as the learner, if the ledger says the offer is still open, then redirects to the
/// result (`GET …?done`).
pub async fn answer(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    if !from_own_page(&headers, &state.cookies) {
        return Outcome::new(
            StatusCode::FORBIDDEN,
            "Refused",
            "Answers are taken only from rollbook's own page. Open the link from the e-mail \
             again and press the button there."
                .to_owned(),
            "error",
        )
        .nothing_changed()
        .render(&state);
    }
    let (_, link) = match verified(&state, path) {
        Ok(found) => found,
        Err(outcome) => return outcome.render(&state),
    };
    let named = form.ok().and_then(|Form(f)| OfferAction::parse(&f.action));
    if named != Some(link.action) {
        return Outcome::new(
            StatusCode::BAD_REQUEST,
            "This answer does not match the link",
            "The button pressed is not the one this link is for. Open the link again and \
             press a button on its page."
                .to_owned(),
            "error",
        )
        .nothing_changed()
        .render(&state);
    }
    match used(&state, &link).await {
        Ok(None) => {}
        Ok(Some(_)) => {
            // Answered through a link before: the ledger says how.
            let (found, _) = state_of(&state, &link);
            return closed(&state, &found).render(&state);
        }
        Err(outcome) => return outcome.render(&state),
    }
    for _ in 0..ATTEMPTS {
        let (found, _) = state_of(&state, &link);
        let OfferState::Open(offer) = &found else {
            return closed(&state, &found).render(&state);
        };
        let Ok(learner) = LearnerKey::parse(&offer.learner_key) else {
            return closed(&state, &OfferState::Unknown).render(&state);
        };
        let cohort = link.cohort;
        let request = match link.action {
            OfferAction::Accept => Request::AcceptOffer { cohort, learner },
            OfferAction::Decline => Request::DeclineOffer {
                cohort,
                learner,
                reason: String::new(),
            },
        };
        let mut submission = Submission::new(request, Actor::learner(link.learner));
        // Decided at the version checked: a link never answers an offer made after its own.
        submission.expected_version = Some(offer.version);
        match state.writer.submit(submission).await {
            Ok(committed) => {
                let used = UsedOfferLink {
                    accepted: link.action == OfferAction::Accept,
                    at: committed
                        .events
                        .first()
                        .map_or_else(|| state.clock.now(), |e| e.occurred_at),
                };
                let (links, position) = (state.offer_links.clone(), link.offer_position);
                // The ledger holds the answer already; the record is the link's own note of it.
                match tokio::task::spawn_blocking(move || links.mark_used(position, used)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        tracing::error!(%error, "cannot record that an offer link was used");
                    }
                    Err(error) => {
                        tracing::error!(%error, "cannot record that an offer link was used");
                    }
                }
                tracing::info!(
                    cohort = %link.cohort,
                    offer = link.offer_position,
                    action = link.action.as_str(),
                    "offer answered through its link"
                );
                // Relative: the page's own address, under whatever path `--public-url` has.
                return private(Redirect::to("?done").into_response());
            }
            // The cohort moved on, or the rules refused: decide again from what the ledger
            // now says (answered, expired, cancelled…).
            Err(CommandError::VersionConflict { .. } | CommandError::Rejected(_)) => {}
            Err(error) => {
                tracing::error!(%error, "cannot record an answer through an offer link");
                return unavailable().render(&state);
            }
        }
    }
    let (found, _) = state_of(&state, &link);
    closed(&state, &found).render(&state)
}
