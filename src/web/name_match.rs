//! Filters that take what people know: a cohort by its name, a learner by key or name, an
//! instructor by part of their name. Each answers one match (the filter applies), several (they
//! are offered, none applied) or none (the nearest names are offered). Reads the search index
//! and the catalog's newest cohorts; never scans the event log.

use crate::domain::{CohortId, LearnerId};
use crate::projections::{CatalogFilter, Projections, Rank, nearest, rank_text};

/// Most matches or nearest names offered.
pub const MAX_OFFERED: usize = 10;
/// Most cohort names a page suggests (`<datalist>`), newest first.
pub const MAX_SUGGESTED: usize = 200;
/// Cohorts the search index returns per lookup.
const LOOKUP: usize = 200;

/// What a name typed into a filter found.
#[derive(Debug, PartialEq, Eq)]
pub enum Match<T> {
    /// Exactly one: the filter applies to it.
    One(T),
    /// Several equally good: none is applied; they are offered.
    Several(Vec<T>),
    /// None: the nearest are offered (maybe none).
    Nothing(Vec<T>),
}

/// The cohort `raw` names: its id, its whole name or the beginning of exactly one name
/// (ignoring case).
#[must_use]
pub fn cohort(read: &Projections, raw: &str) -> Match<CohortId> {
    if let Some(id) = super::input::cohort_id(raw) {
        return Match::One(id);
    }
    let hits = read.search.search(raw, LOOKUP).cohorts;
    let names: Vec<CohortId> = hits.iter().filter(|h| h.field == 0).map(|h| h.id).collect();
    let of_rank = |rank: Rank| -> Vec<CohortId> {
        hits.iter()
            .filter(|h| h.field == 0 && h.rank == rank)
            .map(|h| h.id)
            .collect()
    };
    for rank in [Rank::Exact, Rank::Prefix] {
        let mut found = of_rank(rank);
        match found.len() {
            0 => {}
            1 => return Match::One(found[0]),
            _ => {
                found.truncate(MAX_OFFERED);
                return Match::Several(found);
            }
        }
    }
    // Nothing begins with it: offer names containing it, else the nearest names.
    if !names.is_empty() {
        return Match::Nothing(names.into_iter().take(MAX_OFFERED).collect());
    }
    let (newest, _) = read.catalog.list(&CatalogFilter::default(), 0, 5_000);
    let near = nearest(raw, newest.iter().map(|v| v.state.name.as_str()), 5);
    let mut ids: Vec<CohortId> = Vec::new();
    for name in near {
        ids.extend(
            newest
                .iter()
                .filter(|v| v.state.name == name)
                .map(|v| v.state.id)
                .take(MAX_OFFERED.saturating_sub(ids.len())),
        );
    }
    Match::Nothing(ids)
}

/// The learner `raw` names: their key (or id), their whole name, or the beginning of the name
/// or key of exactly one learner.
#[must_use]
pub fn learner(read: &Projections, raw: &str) -> Match<LearnerId> {
    if let Some(id) = super::find_learner(&read.directory, raw) {
        if read.directory.get(id).is_some() || !read.timelines.of(id).is_empty() {
            return Match::One(id);
        }
    }
    let hits = read.search.search(raw, LOOKUP).learners;
    let exact: Vec<LearnerId> = hits
        .iter()
        .filter(|h| h.rank == Rank::Exact)
        .map(|h| h.id)
        .collect();
    let pick = |mut found: Vec<LearnerId>| {
        if found.len() == 1 {
            Match::One(found[0])
        } else {
            found.truncate(MAX_OFFERED);
            Match::Several(found)
        }
    };
    if !exact.is_empty() {
        return pick(exact);
    }
    let begins: Vec<LearnerId> = hits
        .iter()
        .filter(|h| matches!(h.rank, Rank::Prefix | Rank::WordPrefix))
        .map(|h| h.id)
        .collect();
    if !begins.is_empty() {
        return pick(begins);
    }
    Match::Nothing(hits.iter().map(|h| h.id).take(MAX_OFFERED).collect())
}

/// The instructor of `names` that `raw` names: the whole name, or the beginning of the name or
/// of one of its words, for exactly one instructor (ignoring case).
#[must_use]
pub fn instructor(names: &[String], raw: &str) -> Match<String> {
    let ranked: Vec<(Rank, &String)> = names
        .iter()
        .filter_map(|n| rank_text(n, raw).map(|r| (r, n)))
        .collect();
    for ranks in [
        &[Rank::Exact][..],
        &[Rank::Prefix, Rank::WordPrefix],
        &[Rank::Substring],
    ] {
        let mut found: Vec<String> = ranked
            .iter()
            .filter(|(r, _)| ranks.contains(r))
            .map(|(_, n)| (*n).clone())
            .collect();
        match found.len() {
            0 => {}
            1 => return Match::One(found.remove(0)),
            _ => {
                found.truncate(MAX_OFFERED);
                return Match::Several(found);
            }
        }
    }
    Match::Nothing(
        nearest(raw, names.iter().map(String::as_str), 5)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    )
}

/// The newest cohorts' names, for a `<datalist>` (each once).
#[must_use]
pub fn cohort_suggestions(read: &Projections) -> Vec<String> {
    let (newest, _) = read
        .catalog
        .list(&CatalogFilter::default(), 0, MAX_SUGGESTED);
    let mut names: Vec<String> = Vec::with_capacity(newest.len());
    for v in newest {
        if !names.contains(&v.state.name) {
            names.push(v.state.name.clone());
        }
    }
    names
}

/// An instructor filter as typed, resolved against the instructors on file.
#[derive(Debug, Default)]
pub struct InstructorFilter {
    /// The instructor to filter by (`None`: no filter, or nothing resolved).
    pub name: Option<String>,
    /// True when a name was typed that matched none or several: nothing is shown.
    pub unresolved: bool,
    /// What to say: how the typed text was read, or why nothing is shown.
    pub note: Option<String>,
    /// Names to pick instead.
    pub choices: Vec<String>,
}

impl InstructorFilter {
    /// Resolves `typed` against `names` ([`instructor`]).
    #[must_use]
    pub fn of(names: &[String], typed: &str) -> Self {
        let typed = typed.trim();
        if typed.is_empty() {
            return Self::default();
        }
        match instructor(names, typed) {
            Match::One(name) => Self {
                note: (!name.eq_ignore_ascii_case(typed))
                    .then(|| format!("Instructor \u{201c}{typed}\u{201d} read as {name}.")),
                name: Some(name),
                ..Self::default()
            },
            Match::Several(choices) => Self {
                unresolved: true,
                note: Some(format!(
                    "Several instructors match \u{201c}{typed}\u{201d}: pick one."
                )),
                choices,
                ..Self::default()
            },
            Match::Nothing(choices) => Self {
                unresolved: true,
                note: Some(if choices.is_empty() {
                    format!("No instructor matches \u{201c}{typed}\u{201d}.")
                } else {
                    format!("No instructor matches \u{201c}{typed}\u{201d}. Nearest names:")
                }),
                choices,
                ..Self::default()
            },
        }
    }
}
