//! Confirmation pages for the cohort commands that cannot be undone, or that stop a cohort:
//! withdrawing a learner, removing one from the waitlist, closing enrollment. Each is a `GET` on
//! the same path as the command's `POST` (whose handler is unchanged): it says what the command
//! would do, in plain words with the event codes after them, and offers the form that posts it;
//! where the rules would refuse, it says why and offers no button. Works without JavaScript.
//!
//! What it says comes from the writer's [`Preview`](crate::writer::Preview) — the dry run the
//! API's `?dry_run=true` runs: the cohort staged now, the request decided as the writer would
//! decide it. No rule is repeated here, and nothing is written.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;

use super::AppState;
use super::error::{PageError, describe};
use super::extract::{Acting, PagePath, PageQuery};
use super::input;
use super::nav::Nav;
use super::zone::{When, Zone};
use crate::auth::Principal;
use crate::domain::{Cohort, CohortId, Event, LearnerId, ReasonCode, RuleViolation};
use crate::learner_key::LearnerKey;
use crate::projections::Directory;
use crate::writer::{CommandError, Request};

/// One sentence of a confirmation page: plain words, optionally a time (shown with the `when`
/// macro) and words after it, then the event code it stands for.
pub struct Line {
    /// The words before the time (or all of them).
    pub words: String,
    /// A time in the sentence.
    pub when: Option<When>,
    /// The words after the time.
    pub after: String,
    /// The event this line foretells (or the refusal's code), shown small after it.
    pub code: Option<&'static str>,
}

impl Line {
    fn says(words: impl Into<String>) -> Self {
        Self {
            words: words.into(),
            when: None,
            after: String::new(),
            code: None,
        }
    }

    fn event(words: impl Into<String>, code: &'static str) -> Self {
        Self {
            code: Some(code),
            ..Self::says(words)
        }
    }

    fn at(mut self, when: When, after: impl Into<String>) -> Self {
        self.when = Some(when);
        self.after = after.into();
        self
    }
}

/// Which command a page confirms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Withdraw,
    LeaveWaitlist,
    Close,
}

impl Kind {
    /// The last segment of the command's path (the form's action).
    const fn action(self) -> &'static str {
        match self {
            Self::Withdraw => "withdraw",
            Self::LeaveWaitlist => "leave-waitlist",
            Self::Close => "close",
        }
    }
}

/// A confirmation page.
#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    nav: Nav,
    /// The cohort's id and name.
    id: String,
    cohort_name: String,
    /// Where the form posts: `/cohorts/{id}/<action>`.
    action: &'static str,
    /// The heading: the question ("Withdraw Ana Lima (ana@example.org) from Rust 101?").
    title: String,
    /// What cannot be asked, or why the rules would refuse: no button then.
    problem: Option<Line>,
    /// What the command would do, in order.
    outcomes: Vec<Line>,
    /// When the dry run decided it.
    decided_at: When,
    /// The learner's key, for the hidden field ("" for close).
    learner: String,
    /// Ask a reason code (required, none preselected) and details (optional): withdraw.
    asks_code: bool,
    /// Ask an optional reason: withdraw (as "details") and leave-waitlist.
    asks_reason: bool,
    /// The code and details the link carried, kept in the form.
    reason_code: String,
    reason: String,
    /// The submit button's words.
    button: String,
}

impl ConfirmPage {
    /// Every reason code, in the order forms list them.
    #[expect(
        clippy::unused_self,
        reason = "called from the template as self.reason_codes()"
    )]
    const fn reason_codes(&self) -> [ReasonCode; 5] {
        ReasonCode::ALL
    }
}

/// The query of the withdraw and leave-waitlist pages (all optional: a missing learner is said
/// on the page).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmQuery {
    learner: String,
    reason_code: String,
    reason: String,
}

/// A learner as a sentence names them: the display name, or the key when none is on file.
fn short(directory: &Directory, id: LearnerId) -> String {
    let name = directory.name_of(id);
    if name.is_empty() {
        directory.label_of(id)
    } else {
        name.to_owned()
    }
}

/// A learner as a heading names them: "Ana Lima (ana@example.org)", or the key alone.
fn full(directory: &Directory, id: LearnerId) -> String {
    let name = directory.name_of(id);
    let key = directory.label_of(id);
    if name.is_empty() || name == key {
        key
    } else {
        format!("{name} ({key})")
    }
}

/// "1 learner" / "3 learners".
fn learners(n: usize) -> String {
    if n == 1 {
        "1 learner".to_owned()
    } else {
        format!("{n} learners")
    }
}

/// The cohort's name, or a 404 page.
fn cohort_name(state: &AppState, cohort: CohortId) -> Result<String, PageError> {
    state
        .read
        .read()
        .catalog
        .get(cohort)
        .map(|v| v.state.name.clone())
        .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))
}

/// The page before anything is decided: no problem, no outcome, no learner.
fn blank(
    state: &AppState,
    principal: &Principal,
    cohort: CohortId,
    name: String,
    kind: Kind,
    now: Timestamp,
) -> ConfirmPage {
    ConfirmPage {
        nav: Nav::of(principal, &state.zone),
        id: cohort.to_string(),
        cohort_name: name,
        action: kind.action(),
        title: String::new(),
        problem: None,
        outcomes: Vec::new(),
        decided_at: state.zone.when(now, now),
        learner: String::new(),
        asks_code: kind == Kind::Withdraw,
        asks_reason: kind != Kind::Close,
        reason_code: String::new(),
        reason: String::new(),
        button: String::new(),
    }
}

/// The learner the query names, or the page saying what is wrong (422).
fn named_learner(page: &mut ConfirmPage, raw: &str) -> Option<LearnerKey> {
    let raw = raw.trim();
    let problem = if raw.is_empty() {
        "No learner was named. Choose the learner on the cohort page.".to_owned()
    } else {
        match input::learner("learner", raw) {
            Ok(key) => return Some(key),
            Err(e) => {
                format!("{raw:?} is not a learner key: {e}. Choose the learner on the cohort page.")
            }
        }
    };
    page.problem = Some(Line::says(problem));
    None
}

/// A refusal in plain words, its code after them: `who` names the learner (`None` for close).
fn refusal(
    state: &AppState,
    page: &ConfirmPage,
    violation: &RuleViolation,
    who: Option<&str>,
    now: Timestamp,
) -> Line {
    let cohort = &page.cohort_name;
    let someone = who.unwrap_or("The learner");
    let when = |t| state.zone.when(t, now);
    let line = match violation {
        RuleViolation::CohortCancelled => Line::says(format!(
            "{cohort} was cancelled: its learners were released, and it takes no command."
        )),
        RuleViolation::WithdrawalDeadlinePassed { deadline, .. } => {
            Line::says("Too late: the withdrawal deadline passed")
                .at(when(*deadline), format!(". {someone} stays enrolled."))
        }
        RuleViolation::NotEnrolled { .. } => Line::says(format!(
            "{someone} is not in {cohort}: not enrolled, not waiting, holding no offer. There \
             is nobody to withdraw."
        )),
        RuleViolation::NotWaitlisted { .. } => Line::says(format!(
            "{someone} is not on the waitlist of {cohort}, so there is nothing to remove."
        )),
        RuleViolation::OfferExpired { expired_at, .. } => Line::says(format!(
            "The seat offered to {someone} was no longer held: the offer ran out"
        ))
        .at(
            when(*expired_at),
            ". There is nothing left to withdraw from.",
        ),
        RuleViolation::EnrollmentClosed => Line::says(format!(
            "Enrollment is already closed for {cohort}. It can be reopened from the cohort page."
        )),
        other => {
            let text = describe(other, who);
            let mut chars = text.chars();
            let text = chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            });
            Line::says(format!("{}.", text.trim_end_matches('.')))
        }
    };
    Line {
        code: Some(violation.code()),
        ..line
    }
}

/// What a dry run's events would do, in plain words: `before` is the cohort as it is now.
fn outcomes(
    zone: &Zone,
    before: &Cohort,
    events: &[Event],
    directory: &Directory,
    now: Timestamp,
) -> Vec<Line> {
    let mut lines = Vec::new();
    // Whether the command's own event (a seat given up) came yet: fills after it fill that seat.
    let mut freed = false;
    let mut filled = false;
    let place = |id: LearnerId| {
        before
            .waitlist_place(id)
            .map_or_else(String::new, |p| format!(" (place {p} on the waitlist)"))
    };
    let lead = |freed: bool| if freed { "Frees a seat: " } else { "" };
    for event in events {
        match event {
            Event::OfferExpired { learner } => {
                let expired = before.offer_of(*learner).map(|o| o.expires_at);
                let line = Line::event(
                    format!(
                        "First, the seat held for {} is let go: their offer ran out",
                        short(directory, *learner)
                    ),
                    "offer.expired",
                );
                lines.push(match expired {
                    Some(t) => line.at(zone.when(t, now), ""),
                    None => line,
                });
            }
            Event::StudentWithdrawn { learner, .. } => {
                freed = true;
                lines.push(Line::event(
                    format!("{} gives up their seat.", short(directory, *learner)),
                    "student.withdrawn",
                ));
            }
            Event::OfferDeclined { learner, .. } => {
                freed = true;
                lines.push(Line::event(
                    format!(
                        "{} turns down the seat offered to them.",
                        short(directory, *learner)
                    ),
                    "offer.declined",
                ));
            }
            Event::WaitlistLeft { learner, .. } => {
                lines.push(leaves_waitlist(before, directory, *learner));
            }
            Event::WaitlistPromoted { learner } => {
                filled |= freed;
                lines.push(Line::event(
                    format!(
                        "{}{}{} will be promoted to it.",
                        lead(freed),
                        short(directory, *learner),
                        place(*learner)
                    ),
                    "waitlist.promoted",
                ));
            }
            Event::WaitlistOffered {
                learner,
                expires_at,
                ..
            } => {
                filled |= freed;
                lines.push(
                    Line::event(
                        format!(
                            "{}{}{} will be offered the seat, held until",
                            lead(freed),
                            short(directory, *learner),
                            place(*learner)
                        ),
                        "waitlist.offered",
                    )
                    .at(zone.when(*expires_at, now), "."),
                );
            }
            Event::EnrollmentClosed => lines.push(Line::event(
                "Nobody can enroll any more: new enrollments are refused.",
                "enrollment.closed",
            )),
            other => lines.push(Line::event(
                other
                    .learner()
                    .map_or_else(String::new, |l| short(directory, l)),
                other.type_name(),
            )),
        }
    }
    if freed && !filled {
        lines.push(stays_empty(before.waitlist.len()));
    }
    lines
}

/// A waitlisted learner leaves: their place, and how many move up behind them.
fn leaves_waitlist(before: &Cohort, directory: &Directory, learner: LearnerId) -> Line {
    let place = before.waitlist_place(learner).unwrap_or(0);
    let behind = before
        .waitlist
        .len()
        .saturating_sub(usize::try_from(place).unwrap_or(usize::MAX));
    let moving = match behind {
        0 => "nobody is behind them".to_owned(),
        1 => "1 learner behind moves up".to_owned(),
        n => format!("{} behind move up", learners(n)),
    };
    Line::event(
        format!(
            "{} leaves the waitlist (place {place}); {moving}.",
            short(directory, learner)
        ),
        "waitlist.left",
    )
}

/// A seat given up that nobody takes: nobody waits, or enrollment is closed (`waiting` wait).
fn stays_empty(waiting: usize) -> Line {
    Line::says(if waiting == 0 {
        "The seat stays empty: nobody is waiting.".to_owned()
    } else {
        format!(
            "The seat stays empty: enrollment is closed, so the {} waiting {} not promoted.",
            learners(waiting),
            if waiting == 1 { "is" } else { "are" }
        )
    })
}

/// Decides `request` on the cohort as it is now and fills the page: its outcomes, or why not.
/// `who` names the learner in a refusal. Answers the cohort as the command would leave it.
fn decide(
    state: &AppState,
    page: &mut ConfirmPage,
    request: &Request,
    who: Option<&str>,
    now: Timestamp,
) -> Result<Option<Cohort>, PageError> {
    let preview = state.preview();
    let mut staged = preview.now(request.cohort(), now);
    let Some(before) = staged.state().cloned() else {
        return Err(PageError::NotFound(format!(
            "no cohort {}",
            request.cohort()
        )));
    };
    page.decided_at = state.zone.when(staged.now(), now);
    match preview.decide(&mut staged, request, None) {
        Ok(predicted) => {
            let read = state.read.read();
            page.outcomes = outcomes(
                &state.zone,
                &before,
                &predicted.events,
                &read.directory,
                now,
            );
            Ok(staged.state().cloned())
        }
        Err(CommandError::Rejected(RuleViolation::CohortNotFound { cohort })) => {
            Err(PageError::NotFound(format!("no cohort {cohort}")))
        }
        Err(CommandError::Rejected(violation)) => {
            page.problem = Some(refusal(state, page, &violation, who, now));
            Ok(None)
        }
        Err(e) => Err(PageError::internal("confirmation: dry run", &e)),
    }
}

/// How the page answers: 422 when the query named no usable learner, else 200.
fn answer(page: ConfirmPage, bad_query: bool) -> Response {
    if bad_query {
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    } else {
        page.into_response()
    }
}

/// The learner's names for the page (filed or not): (short, full).
fn names(state: &AppState, key: &LearnerKey) -> (String, String) {
    let read = state.read.read();
    read.directory.id_of(key.as_str()).map_or_else(
        || (key.to_string(), key.to_string()),
        |id| (short(&read.directory, id), full(&read.directory, id)),
    )
}

/// `GET /cohorts/{id}/withdraw?learner=K[&reason_code=…&reason=…]`: what withdrawing the
/// learner would do, and the form that does it (reason code required, none preselected).
pub async fn withdraw(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    PageQuery(q): PageQuery<ConfirmQuery>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let name = cohort_name(&state, cohort)?;
    let now = state.clock.now();
    let mut page = blank(&state, &principal, cohort, name, Kind::Withdraw, now);
    page.title = format!("Withdraw a learner from {}", page.cohort_name);
    let Some(key) = named_learner(&mut page, &q.learner) else {
        return Ok(answer(page, true));
    };
    let (who, full_name) = names(&state, &key);
    page.title = format!("Withdraw {full_name} from {}?", page.cohort_name);
    page.button = format!("Withdraw {who}");
    page.learner = key.to_string();
    let code = q.reason_code.trim().parse::<ReasonCode>().ok();
    page.reason_code = code.map(|c| c.as_str().to_owned()).unwrap_or_default();
    page.reason.clone_from(&q.reason);
    let request = Request::Withdraw {
        cohort,
        learner: key,
        reason_code: code.unwrap_or_default(),
        reason: String::new(),
    };
    decide(&state, &mut page, &request, Some(&who), now)?;
    Ok(answer(page, false))
}

/// `GET /cohorts/{id}/leave-waitlist?learner=K`: the learner's place, who moves up, and the
/// form that removes them.
pub async fn leave_waitlist(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    PageQuery(q): PageQuery<ConfirmQuery>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let name = cohort_name(&state, cohort)?;
    let now = state.clock.now();
    let mut page = blank(&state, &principal, cohort, name, Kind::LeaveWaitlist, now);
    page.title = format!("Remove a learner from the waitlist of {}", page.cohort_name);
    let Some(key) = named_learner(&mut page, &q.learner) else {
        return Ok(answer(page, true));
    };
    let (who, _) = names(&state, &key);
    page.title = format!("Remove {who} from the waitlist?");
    page.button = format!("Remove {who} from the waitlist");
    page.learner = key.to_string();
    page.reason.clone_from(&q.reason);
    let request = Request::LeaveWaitlist {
        cohort,
        learner: key,
        reason: String::new(),
    };
    decide(&state, &mut page, &request, Some(&who), now)?;
    Ok(answer(page, false))
}

/// `GET /cohorts/{id}/close`: what closing enrollment does to those waiting and holding offers
/// (and that it can be reopened), and the form that closes it.
pub async fn close(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let name = cohort_name(&state, cohort)?;
    let now = state.clock.now();
    let mut page = blank(&state, &principal, cohort, name, Kind::Close, now);
    page.title = format!("Close enrollment for {}?", page.cohort_name);
    "Close enrollment".clone_into(&mut page.button);
    // Counted on the cohort as closing leaves it (offers that ran out expired, seats filled).
    let Some(after) = decide(&state, &mut page, &Request::Close { cohort }, None, now)? else {
        return Ok(answer(page, false));
    };
    page.outcomes.push(Line::says(match after.waitlist.len() {
        0 => "Nobody is waiting.".to_owned(),
        1 => "The learner waiting stays on the list but is not promoted while enrollment is \
              closed — not even when a seat frees up."
            .to_owned(),
        n => format!(
            "The {n} learners waiting stay on the list, in order, but are not promoted while \
             enrollment is closed — not even when a seat frees up."
        ),
    }));
    let offers = after.offers.len();
    if offers > 0 {
        page.outcomes.push(Line::says(match offers {
            1 => "The seat already offered may still be accepted or declined until its offer \
                  runs out."
                .to_owned(),
            n => format!(
                "The {n} seats already offered may still be accepted or declined until their \
                 offers run out."
            ),
        }));
    }
    page.outcomes.push(Line::says(
        "It can be reopened later from the cohort page, with a reason.",
    ));
    Ok(answer(page, false))
}

#[cfg(test)]
mod tests {
    //! The words of an outcome the HTTP tests cannot stage without racing the offer scheduler:
    //! an offer that ran out, expired by the command's own decision before its events.

    use jiff::{SignedDuration, Timestamp};
    use uuid::Uuid;

    use super::{Line, outcomes};
    use crate::domain::{
        Capacity, Cohort, CohortCommand, CohortId, LearnerId, NewCohort, PromotionPolicy,
        ReasonCode,
    };
    use crate::projections::Directory;
    use crate::store::LearnerRecord;
    use crate::web::zone::Zone;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Decides `command` on `cohort` at `now` and applies its events.
    fn run(cohort: &mut Cohort, command: &CohortCommand, now: Timestamp) {
        for event in Cohort::decide(Some(cohort), cohort.id, command, now).unwrap() {
            cohort.apply(&event);
        }
    }

    fn text(line: &Line) -> String {
        let when = line
            .when
            .as_ref()
            .map(|w| format!(" {}", w.text))
            .unwrap_or_default();
        let code = line.code.map(|c| format!(" [{c}]")).unwrap_or_default();
        format!("{}{when}{}{code}", line.words, line.after)
    }

    #[test]
    fn an_offer_that_ran_out_is_let_go_first_and_its_seat_offered_on() {
        let id = CohortId(Uuid::now_v7());
        let new = NewCohort {
            name: "Lapse".to_owned(),
            course: "L-1".to_owned(),
            instructor: "Ada".to_owned(),
            capacity: Capacity::new(1).unwrap(),
            starts_at: at("2026-04-01T09:00:00Z"),
            enrollment_deadline: at("2026-03-20T00:00:00Z"),
            withdrawal_deadline: at("2026-04-10T00:00:00Z"),
            promotion: PromotionPolicy::offer(SignedDuration::from_hours(24)).unwrap(),
            waitlist_cap: None,
            ends_at: None,
        };
        let created = Cohort::decide(
            None,
            id,
            &CohortCommand::Create(new),
            at("2026-03-01T09:00:00Z"),
        )
        .unwrap();
        let mut cohort = Cohort::replay(id, &created).unwrap();
        let mut directory = Directory::default();
        let names = ["Ana Lima", "Ben Okafor", "Cy Diallo"];
        let learners: Vec<LearnerId> = names
            .iter()
            .map(|name| {
                let learner = LearnerId(Uuid::now_v7());
                directory.upsert(
                    learner,
                    LearnerRecord {
                        key: format!("{}@example.org", name.to_lowercase().replace(' ', ".")),
                        name: (*name).to_owned(),
                    },
                );
                learner
            })
            .collect();
        let t0 = at("2026-03-01T10:00:00Z");
        for learner in &learners {
            run(
                &mut cohort,
                &CohortCommand::Enroll { learner: *learner },
                t0,
            );
        }
        // Ana withdraws: Ben is offered her seat until 10:00 the next day.
        run(
            &mut cohort,
            &CohortCommand::Withdraw {
                learner: learners[0],
                reason_code: ReasonCode::Personal,
                reason: String::new(),
            },
            t0,
        );
        // Two days on, closing first lets Ben's lapsed offer go and offers the seat to Cy.
        let now = at("2026-03-03T10:00:00Z");
        let events =
            Cohort::decide(Some(&cohort), id, &CohortCommand::CloseEnrollment, now).unwrap();
        let lines: Vec<String> = outcomes(&Zone::default(), &cohort, &events, &directory, now)
            .iter()
            .map(text)
            .collect();
        assert_eq!(
            lines,
            [
                "First, the seat held for Ben Okafor is let go: their offer ran out \
                 2026-03-02 10:00 UTC [offer.expired]",
                "Cy Diallo (place 1 on the waitlist) will be offered the seat, held until \
                 2026-03-04 10:00 UTC. [waitlist.offered]",
                "Nobody can enroll any more: new enrollments are refused. [enrollment.closed]",
            ]
        );
    }
}
