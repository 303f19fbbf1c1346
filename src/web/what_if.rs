//! The what-if page: "had Ana enrolled at 10:02 on the 3rd, would she have had a seat?" —
//! the dry run of an enrollment or a withdrawal against a cohort as it was at a time, answered
//! in plain words with the events it would have appended, and the links to it (with the facts
//! filled in) from a cohort's history and a learner's page.
//!
//! The answer is the writer's [`Preview`](crate::writer::Preview): the cohort staged at the time
//! (`Preview::as_of`) and the request decided as the writer would (`Preview::decide`), the same
//! mechanism as the API's `?dry_run=true&as_of=…`. No rule is repeated here; nothing is written.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::AppState;
use super::error::{PageError, describe};
use super::extract::{Acting, PagePath, PageQuery};
use super::input;
use super::nav::Nav;
use super::zone::Zone;
use crate::domain::{CohortId, Event, LearnerId, ReasonCode};
use crate::learner_key::LearnerKey;
use crate::projections::{AsOf, HistoryEntry, Projections};
use crate::writer::{CommandError, Request};

/// The command a what-if asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    Enroll,
    Withdraw,
}

impl Asked {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Enroll => "enroll",
            Self::Withdraw => "withdraw",
        }
    }

    const fn verb(self) -> &'static str {
        match self {
            Self::Enroll => "enrolled",
            Self::Withdraw => "withdrawn",
        }
    }
}

/// The link to the what-if page of `cohort` for `learner` (a key), `command` at `at`.
fn link(cohort: CohortId, learner: &str, command: Asked, at: Timestamp) -> String {
    let query = serde_urlencoded::to_string([
        ("learner", learner),
        ("at", &at.to_string()),
        ("command", command.as_str()),
    ])
    .unwrap_or_default();
    format!("/cohorts/{cohort}/what-if?{query}")
}

/// The question a link asks, in words.
fn question(who: &str, command: Asked, at: Timestamp, zone: &Zone) -> String {
    format!(
        "What if {who} had {} at {}?",
        match command {
            Asked::Enroll => "enrolled",
            Asked::Withdraw => "withdrawn",
        },
        zone.show(at)
    )
}

/// One link to the what-if page, with its question.
pub struct WhatIfLink {
    /// Where it leads.
    pub href: String,
    /// The question, e.g. "What if ana@example.org had enrolled at 2026-03-03 10:02 UTC?".
    pub question: String,
    /// What it is about, e.g. "#123 student.waitlisted" or a cohort's name.
    pub about: String,
}

/// The instant just before `t` (one microsecond, the stored precision): the cohort as it was
/// when the learner's own command was decided, before its events.
fn just_before(t: Timestamp) -> Timestamp {
    t.checked_sub(SignedDuration::from_micros(1)).unwrap_or(t)
}

/// The what-if links of a page of a cohort's history: for each enrollment, waitlisting or
/// offer (what if they had enrolled then?) and each withdrawal or departure from the waitlist
/// (what if they had withdrawn then?), at the instant before the event.
pub fn history_links(
    cohort: CohortId,
    entries: &[HistoryEntry],
    read: &Projections,
    zone: &Zone,
) -> Vec<WhatIfLink> {
    entries
        .iter()
        .rev()
        .filter_map(|entry| {
            let learner = entry.learner?;
            let command = match entry.event_type {
                "student.enrolled" | "student.waitlisted" | "waitlist.offered" => Asked::Enroll,
                "student.withdrawn" | "waitlist.left" | "offer.declined" => Asked::Withdraw,
                _ => return None,
            };
            // An erased learner has no key to ask about.
            read.directory.get(learner)?;
            let key = read.directory.key_of(learner);
            let at = just_before(entry.occurred_at);
            Some(WhatIfLink {
                href: link(cohort, &key, command, at),
                question: question(&key, command, at, zone),
                about: format!("#{} {}", entry.position, entry.event_type),
            })
        })
        .collect()
}

/// The what-if links of a learner's page: for each refused enrollment, at the time it was
/// refused; and for each cohort of their timeline, an enrollment just before their first event
/// there.
pub fn learner_links(learner: LearnerId, read: &Projections, zone: &Zone) -> Vec<WhatIfLink> {
    let key = read.directory.key_of(learner);
    let name_of = |cohort: CohortId| {
        read.catalog
            .get(cohort)
            .map_or_else(|| cohort.to_string(), |v| v.state.name.clone())
    };
    let mut links: Vec<WhatIfLink> = read
        .journal
        .of_learner(learner, 50)
        .into_iter()
        .filter(|(_, e)| e.command == "enroll")
        .map(|(_, e)| WhatIfLink {
            href: link(e.cohort, &key, Asked::Enroll, e.at),
            question: question(&key, Asked::Enroll, e.at, zone),
            about: format!("{} (refused)", name_of(e.cohort)),
        })
        .collect();
    let mut seen = Vec::new();
    for entry in read.timeline(learner) {
        if seen.contains(&entry.cohort) {
            continue;
        }
        seen.push(entry.cohort);
        let at = just_before(entry.occurred_at);
        links.push(WhatIfLink {
            href: link(entry.cohort, &key, Asked::Enroll, at),
            question: question(&key, Asked::Enroll, at, zone),
            about: name_of(entry.cohort),
        });
    }
    links
}

/// The query of the what-if page: every field as typed (all optional: the page without them
/// is the empty form).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WhatIfQuery {
    learner: String,
    at: String,
    command: String,
}

/// One event the dry run would have appended, as the page lists it.
pub struct WhatIfEvent {
    /// Its stable type name.
    pub event_type: &'static str,
    /// What it says, in words ("ana@example.org, place 3").
    pub detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "what_if.html")]
pub struct WhatIfPage {
    pub nav: Nav,
    pub id: String,
    pub name: String,
    /// The form's values, as typed.
    pub learner: String,
    pub at: String,
    pub command: &'static str,
    /// What is wrong with the form, if anything.
    pub error: Option<String>,
    /// The answer in plain words, once asked.
    pub answer: Option<String>,
    /// Whether the rules would have refused it.
    pub refused: bool,
    /// The events it would have appended.
    pub events: Vec<WhatIfEvent>,
}

/// `GET /cohorts/{id}/what-if?learner=…&at=…&command=enroll|withdraw`: the dry run, at that
/// time, of that command; without the fields, the form alone. Writes nothing.
pub async fn what_if(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    PageQuery(q): PageQuery<WhatIfQuery>,
) -> Result<WhatIfPage, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let name = {
        let read = state.read.read();
        read.catalog
            .get(cohort)
            .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))?
            .state
            .name
            .clone()
    };
    let command = match q.command.trim() {
        "" | "enroll" => Ok(Asked::Enroll),
        "withdraw" => Ok(Asked::Withdraw),
        other => Err(format!(
            "command: {other:?} is not one a what-if can ask; choose enroll or withdraw"
        )),
    };
    let mut page = WhatIfPage {
        nav: Nav::of(&principal, &state.zone),
        id: cohort.to_string(),
        name,
        learner: q.learner.trim().to_owned(),
        at: q.at.trim().to_owned(),
        command: command.as_ref().map_or("enroll", |c| c.as_str()),
        error: None,
        answer: None,
        refused: false,
        events: Vec::new(),
    };
    if page.learner.is_empty() && page.at.is_empty() {
        return Ok(page);
    }
    let asked = command.and_then(|command| {
        let key = input::learner("learner", &page.learner).map_err(|e| e.to_string())?;
        let at = input::parse_time("at", &page.at, &state.zone).map_err(|e| e.to_string())?;
        Ok((command, key, at))
    });
    let (command, key, at) = match asked {
        Ok(asked) => asked,
        Err(message) => {
            page.error = Some(message);
            return Ok(page);
        }
    };
    answer(&state, &mut page, cohort, command, &key, at).await?;
    Ok(page)
}

/// Runs the dry run and fills in the page's answer and events.
async fn answer(
    app: &AppState,
    page: &mut WhatIfPage,
    cohort: CohortId,
    command: Asked,
    key: &LearnerKey,
    at: Timestamp,
) -> Result<(), PageError> {
    let preview = app.preview();
    let staged = {
        let preview = preview.clone();
        tokio::task::spawn_blocking(move || preview.as_of(cohort, AsOf::Time(at))).await
    };
    let mut stage = match staged {
        Ok(Ok(stage)) => stage,
        Ok(Err(e)) => return Err(PageError::internal("what-if: history read", &e)),
        Err(e) => return Err(PageError::internal("what-if: history read task", &e)),
    };
    let when = app.zone.show(stage.now());
    let read = app.read.read();
    let who = read
        .directory
        .id_of(key.as_str())
        .map(|id| read.directory.name_of(id))
        .filter(|name| !name.is_empty())
        .map_or_else(|| key.to_string(), str::to_owned);
    let Some(before) = stage.state().cloned() else {
        page.refused = true;
        page.answer = Some(format!(
            "{} did not exist yet at {when}: nobody could have {} then.",
            page.name,
            command.verb()
        ));
        return Ok(());
    };
    let request = match command {
        Asked::Enroll => Request::Enroll {
            cohort,
            learner: key.clone(),
            name: None,
        },
        Asked::Withdraw => Request::Withdraw {
            cohort,
            learner: key.clone(),
            reason_code: ReasonCode::Other,
            reason: String::new(),
        },
    };
    let predicted = match preview.decide(&mut stage, &request, None) {
        Ok(predicted) => predicted,
        Err(CommandError::Rejected(violation)) => {
            page.refused = true;
            page.answer = Some(format!(
                "{who} would have been refused at {when}: {}.",
                describe(&violation, Some(key.as_str())).trim_end_matches('.')
            ));
            return Ok(());
        }
        Err(e) => return Err(PageError::internal("what-if: dry run", &e)),
    };
    let label = |id: LearnerId| {
        if predicted
            .provisional
            .as_ref()
            .is_some_and(|(p, _)| *p == id)
        {
            key.to_string()
        } else {
            read.directory.label_of(id)
        }
    };
    let mine = |id: &LearnerId| label(*id) == key.as_str();
    let own = predicted
        .events
        .iter()
        .find(|e| e.learner().as_ref().is_some_and(mine));
    let seats = (before.seats_remaining(), before.capacity.seats());
    page.answer = Some(plain_words(own, &who, seats, &when));
    page.events = predicted
        .events
        .iter()
        .map(|event| WhatIfEvent {
            event_type: event.type_name(),
            detail: match event {
                Event::StudentWaitlisted { learner, position } => {
                    format!("{}, place {position}", label(*learner))
                }
                Event::WaitlistOffered {
                    learner,
                    expires_at,
                    ..
                } => format!("{}, until {}", label(*learner), app.zone.show(*expires_at)),
                event => event.learner().map(label).unwrap_or_default(),
            },
        })
        .collect();
    Ok(())
}

/// What the learner's own event says, in words: `seats` is (free, capacity) before it.
fn plain_words(own: Option<&Event>, who: &str, seats: (u32, u32), when: &str) -> String {
    let (free, capacity) = seats;
    match own {
        Some(Event::StudentEnrolled { .. }) => {
            format!("{who} would have taken a seat — {free} of {capacity} were free at {when}.")
        }
        Some(Event::StudentWaitlisted { position, .. }) => format!(
            "{who} would have joined the waitlist at place {position} — all {capacity} seats \
             were taken at {when}."
        ),
        Some(Event::StudentWithdrawn { .. }) => {
            format!("{who} would have given up their seat at {when}.")
        }
        Some(Event::WaitlistLeft { .. }) => {
            format!("{who} would have left the waitlist at {when}.")
        }
        Some(Event::OfferDeclined { .. }) => {
            format!("{who} would have turned down the seat offered to them at {when}.")
        }
        _ => format!("The rules would have accepted it at {when}."),
    }
}
