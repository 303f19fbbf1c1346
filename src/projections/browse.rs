//! Browsing the ledger: a compact index of the event log for the event browser, a word index of
//! cohorts and learners for the search box, and what changed in a cohort between two points.
//!
//! Both indexes are projections like the others: folded from envelopes in position order,
//! rebuilt from scratch at startup, equal whether built live or replayed. They answer queries
//! from memory and never read or write the store; the web layer only renders what they find.
//! Their contents are canonical (sorted lists, maps), never dependent on the order of updates,
//! so a rename applied live equals the same learner indexed once on replay.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher as _;
use std::hash::Hash;
use std::ops::Bound;

use jiff::Timestamp;
use uuid::Uuid;

use super::FastMap;
use super::catalog::CohortView;
use super::codes::{CodeColumn, NONE};
use super::interner::Interner;
use super::positions::PositionList;
use super::{History, Timelines};
use crate::domain::{CohortId, CohortStatus, Event, LearnerId};
use crate::store::{Envelope, LearnerRecord};

/// The type code of a position no event was applied at (the store's positions are gapless, so
/// this only marks what a broken store would leave out).
const GAP: u8 = u8::MAX;

/// What the event browser filters on, with every name already resolved to an id. `None` means
/// "any"; the filters combine with "and".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// A stable event name (one of [`Event::TYPE_NAMES`]).
    pub event_type: Option<&'static str>,
    /// One cohort.
    pub cohort: Option<CohortId>,
    /// One learner.
    pub learner: Option<LearnerId>,
    /// The account name recorded on the event (exact, or failing that case-insensitive).
    pub actor: Option<String>,
    /// Occurred at or after this instant.
    pub from: Option<Timestamp>,
    /// Occurred at or before this instant.
    pub to: Option<Timestamp>,
    /// The events of one correlation id (one command and what it caused).
    pub correlation: Option<Uuid>,
}

/// Where a page of the event log starts (keyset pagination by position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// The newest events.
    Newest,
    /// The newest events with a position below this one.
    Before(u64),
    /// The oldest events with a position above this one (shown newest first all the same).
    After(u64),
}

/// One page of matching positions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventPage {
    /// Matching positions, newest first.
    pub positions: Vec<u64>,
    /// Whether a matching event newer than the page exists.
    pub newer: bool,
    /// Whether a matching event older than the page exists.
    pub older: bool,
}

/// One indexed event, as the index knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedEvent {
    /// Global position.
    pub position: u64,
    /// Stable event name.
    pub event_type: &'static str,
    /// Its cohort.
    pub cohort: CohortId,
    /// The learner it concerns.
    pub learner: Option<LearnerId>,
    /// Who acted.
    pub actor: String,
    /// When it was decided (to the microsecond the store keeps).
    pub occurred_at: Timestamp,
    /// Its command's correlation id.
    pub correlation: Uuid,
}

/// The event log as columns, one row per position (row `i` is position `i + 1`): 9 bytes per
/// event for the time and type, and 1, 2 or 4 for each of cohort, learner and actor, as their
/// codes need (14 bytes with fewer than 65,535 cohorts and learners and 255 actors). Plus about
/// 26 bytes per run of consecutive events of one correlation id (about one run per command:
/// where it starts, the id, a slot of the id table) and about 40 per cohort, learner and
/// actor. Filters walk these columns, or a cohort's history, a learner's timeline or a
/// correlation's runs when one narrows the search, never the store. The history, timelines
/// and withdrawals read their lines from here rather than keeping copies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventIndex {
    /// `occurred_at` in microseconds.
    at: Vec<i64>,
    /// Index into [`Event::TYPE_NAMES`], or [`GAP`].
    kind: Vec<u8>,
    /// Cohort code, or [`NONE`] at a gap.
    cohort: CodeColumn,
    /// Learner code or [`NONE`].
    learner: CodeColumn,
    /// Actor code, or [`NONE`] at a gap.
    actor: CodeColumn,
    /// Where each run of consecutive positions with one correlation id starts, ascending. A
    /// command's events are consecutive and share its correlation id, so this is about one
    /// entry per command rather than per event.
    runs: PositionList,
    /// Each run's correlation id.
    run_correlation: Vec<Uuid>,
    /// The newest run of each correlation id.
    newest_run: RunTable,
    /// For a run whose correlation id had a run before it (a caller's id spanning several
    /// commands): that run. A chain, so a correlation's events are found without a scan.
    previous_run: FastMap<u32, u32>,
    cohorts: Interner<CohortId>,
    learners: Interner<LearnerId>,
    actors: Interner<String>,
    position: u64,
}

/// Run numbers hashed by their correlation id (kept once, in `run_correlation`), so the table
/// costs 4 bytes and a control byte a slot. Derived from the runs: it takes no part in
/// comparing two indexes.
#[derive(Clone, Debug, Default)]
struct RunTable {
    runs: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl PartialEq for RunTable {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for RunTable {}

impl RunTable {
    /// The newest run of `id`.
    fn get(&self, id: &Uuid, ids: &[Uuid]) -> Option<u32> {
        self.runs
            .find(self.hasher.hash_one(id), |r| ids[*r as usize] == *id)
            .copied()
    }

    /// Makes `run` the newest run of its id (`ids[run]`); returns the run it replaces.
    fn set(&mut self, run: u32, ids: &[Uuid]) -> Option<u32> {
        let id = &ids[run as usize];
        let hash = self.hasher.hash_one(id);
        if let Some(newest) = self.runs.find_mut(hash, |r| ids[*r as usize] == *id) {
            return Some(std::mem::replace(newest, run));
        }
        let hasher = &self.hasher;
        self.runs
            .insert_unique(hash, run, |r| hasher.hash_one(ids[*r as usize]));
        None
    }
}

/// A filter with its names turned into the index's codes.
struct Compiled {
    kind: Option<u8>,
    cohort: Option<u32>,
    learner: Option<u32>,
    actor: Option<u32>,
    from: i64,
    to: i64,
}

/// Where candidate positions come from: the narrowest list a filter allows.
enum Source<'a> {
    /// Every position up to the index's head.
    All(u64),
    /// A correlation's positions, ascending.
    Chain(Vec<u64>),
    /// A cohort's history or a learner's timeline, ascending.
    List(&'a PositionList),
}

type Positions<'a> = Box<dyn Iterator<Item = u64> + 'a>;

impl Source<'_> {
    fn down(&self, below: u64) -> Positions<'_> {
        match self {
            Self::All(head) => Box::new((1..below.min(head.saturating_add(1))).rev()),
            Self::Chain(positions) => {
                let end = positions.partition_point(|p| *p < below);
                Box::new(positions[..end].iter().rev().copied())
            }
            Self::List(list) => {
                let end = list.partition_point(|p| p < below);
                Box::new(list.range(0..end).rev())
            }
        }
    }

    fn up(&self, above: u64) -> Positions<'_> {
        match self {
            Self::All(head) => Box::new(above.saturating_add(1)..=*head),
            Self::Chain(positions) => {
                let start = positions.partition_point(|p| *p <= above);
                Box::new(positions[start..].iter().copied())
            }
            Self::List(list) => {
                let start = list.partition_point(|p| p <= above);
                Box::new(list.range(start..list.len()))
            }
        }
    }
}

impl EventIndex {
    /// Indexes one envelope; one at or below the current position is ignored.
    pub fn apply(&mut self, envelope: &Envelope) {
        if envelope.position <= self.position {
            return;
        }
        while (self.kind.len() as u64) + 1 < envelope.position {
            self.push_row(0, GAP, NONE, NONE, NONE);
        }
        let kind = envelope.event.type_index();
        let (cohort, _) = self.cohorts.intern(&envelope.cohort);
        let learner = envelope
            .event
            .learner()
            .map_or(NONE, |l| self.learners.intern(&l).0);
        let (actor, _) = self.actors.intern(&envelope.meta.actor.name);
        let correlation = envelope.meta.correlation_id;
        if self.run_correlation.last() != Some(&correlation) {
            // Run numbers are 32-bit like every code of the index: four billion commands
            // would take far more memory than the index is ever given.
            let run = u32::try_from(self.run_correlation.len())
                .expect("fewer than 2^32 runs of correlated events");
            self.runs.push(envelope.position);
            self.run_correlation.push(correlation);
            if let Some(previous) = self.newest_run.set(run, &self.run_correlation) {
                self.previous_run.insert(run, previous);
            }
        }
        self.push_row(
            envelope.occurred_at.as_microsecond(),
            kind,
            cohort,
            learner,
            actor,
        );
        self.position = envelope.position;
    }

    fn push_row(&mut self, at: i64, kind: u8, cohort: u32, learner: u32, actor: u32) {
        self.at.push(at);
        self.kind.push(kind);
        self.cohort.push(cohort);
        self.learner.push(learner);
        self.actor.push(actor);
    }

    /// Global position of the last event applied.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Number of positions indexed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.kind.len()
    }

    /// Whether nothing is indexed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }

    /// The event at `position`, as indexed.
    #[must_use]
    pub fn event(&self, position: u64) -> Option<IndexedEvent> {
        let i = self.row(position)?;
        Some(IndexedEvent {
            position,
            event_type: Event::TYPE_NAMES.get(usize::from(self.kind[i]))?,
            cohort: *self.cohorts.get(self.cohort.get(i))?,
            learner: self.learners.get(self.learner.get(i)).copied(),
            actor: self.actors.get(self.actor.get(i))?.clone(),
            occurred_at: Timestamp::from_microsecond(self.at[i]).ok()?,
            correlation: *self.run_correlation.get(self.run_of(position)?)?,
        })
    }

    /// When a learner took the seat or waitlist place they hold in `cohort` as of position
    /// `up_to`, from their timeline (`positions`, ascending): the newest enrollment,
    /// waitlisting or promotion there, unless they left after it.
    #[must_use]
    pub fn joined_at(
        &self,
        positions: &PositionList,
        cohort: CohortId,
        up_to: u64,
    ) -> Option<Timestamp> {
        let code = self.cohorts.code(&cohort)?;
        let end = positions.partition_point(|p| p <= up_to);
        for position in positions.range(0..end).rev() {
            let Some(i) = self.row(position) else {
                continue;
            };
            if self.cohort.get(i) != code {
                continue;
            }
            match Event::TYPE_NAMES.get(usize::from(self.kind[i])).copied() {
                Some("student.enrolled" | "student.waitlisted" | "waitlist.promoted") => {
                    return Timestamp::from_microsecond(self.at[i]).ok();
                }
                Some("student.withdrawn" | "waitlist.left") => return None,
                _ => {}
            }
        }
        None
    }

    /// When the event at `position` occurred (to the microsecond the store keeps).
    #[must_use]
    pub fn occurred_at(&self, position: u64) -> Option<Timestamp> {
        self.row(position)
            .and_then(|i| Timestamp::from_microsecond(self.at[i]).ok())
    }

    /// The type of the event at `position` (an index into [`Event::TYPE_NAMES`]).
    #[must_use]
    pub fn kind(&self, position: u64) -> Option<u8> {
        self.row(position).map(|i| self.kind[i])
    }

    fn row(&self, position: u64) -> Option<usize> {
        let i = usize::try_from(position.checked_sub(1)?).ok()?;
        (i < self.kind.len() && self.kind[i] != GAP).then_some(i)
    }

    /// The run the event at `position` belongs to.
    fn run_of(&self, position: u64) -> Option<usize> {
        self.runs
            .partition_point(|start| start <= position)
            .checked_sub(1)
    }

    /// How many events share the correlation id of the event at `position` (0 if none there).
    #[must_use]
    pub fn correlated(&self, position: u64) -> usize {
        self.row(position)
            .and_then(|_| self.run_correlation.get(self.run_of(position)?))
            .and_then(|id| self.newest_run.get(id, &self.run_correlation))
            .map_or(0, |newest| self.chain(newest).len())
    }

    /// The positions of the correlation id of run `newest` and of every run of the same id
    /// before it, ascending.
    fn chain(&self, newest: u32) -> Vec<u64> {
        let mut out = Vec::new();
        let mut run = Some(newest);
        while let Some(r) = run {
            let r = r as usize;
            let (Some(start), end) = (
                self.runs.get(r),
                self.runs.get(r + 1).unwrap_or(self.kind.len() as u64 + 1),
            ) else {
                break;
            };
            // Only the positions an event was applied at (a broken store's gaps are not).
            out.extend((start..end).rev().filter(|p| self.row(*p).is_some()));
            run = self.previous_run.get(&(r as u32)).copied();
        }
        out.reverse();
        out
    }

    /// The filter in codes, or `None` when it names something never seen (nothing matches).
    fn compile(&self, filter: &EventFilter) -> Option<Compiled> {
        let kind = match filter.event_type {
            None => None,
            Some(name) => Some(Event::TYPE_NAMES.iter().position(|n| *n == name)? as u8),
        };
        let cohort = match filter.cohort {
            None => None,
            Some(id) => Some(self.cohorts.code(&id)?),
        };
        let learner = match filter.learner {
            None => None,
            Some(id) => Some(self.learners.code(&id)?),
        };
        let actor = match filter.actor.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(self.actors.code(name).or_else(|| {
                self.actors
                    .values
                    .iter()
                    .position(|a| a.eq_ignore_ascii_case(name))
                    .map(|i| i as u32)
            })?),
        };
        Some(Compiled {
            kind,
            cohort,
            learner,
            actor,
            from: filter.from.map_or(i64::MIN, Timestamp::as_microsecond),
            to: filter.to.map_or(i64::MAX, Timestamp::as_microsecond),
        })
    }

    /// The narrowest list of candidates the filter allows.
    fn source<'a>(
        &self,
        filter: &EventFilter,
        history: &'a History,
        timelines: &'a Timelines,
    ) -> Option<Source<'a>> {
        if let Some(id) = filter.correlation {
            let newest = self.newest_run.get(&id, &self.run_correlation)?;
            return Some(Source::Chain(self.chain(newest)));
        }
        let cohort = filter.cohort.map(|c| history.of(c));
        let learner = filter.learner.map(|l| timelines.of(l));
        Some(match (cohort, learner) {
            (Some(c), Some(l)) if c.len() < l.len() => Source::List(c),
            (_, Some(l)) | (Some(l), None) => Source::List(l),
            (None, None) => Source::All(self.kind.len() as u64),
        })
    }

    fn matches(&self, position: u64, c: &Compiled) -> bool {
        let Some(i) = self.row(position) else {
            return false;
        };
        c.kind.is_none_or(|k| self.kind[i] == k)
            && c.cohort.is_none_or(|k| self.cohort.get(i) == k)
            && c.learner.is_none_or(|k| self.learner.get(i) == k)
            && c.actor.is_none_or(|k| self.actor.get(i) == k)
            && (c.from..=c.to).contains(&self.at[i])
    }

    /// Up to `limit` matching positions from `cursor` on, in walk order: descending for
    /// [`Cursor::Newest`] and [`Cursor::Before`], ascending for [`Cursor::After`].
    #[must_use]
    pub fn walk(
        &self,
        filter: &EventFilter,
        cursor: Cursor,
        limit: usize,
        history: &History,
        timelines: &Timelines,
    ) -> Vec<u64> {
        let (Some(compiled), Some(source)) = (
            self.compile(filter),
            self.source(filter, history, timelines),
        ) else {
            return Vec::new();
        };
        Self::collect(self, &compiled, &source, cursor, limit)
    }

    fn collect(&self, c: &Compiled, source: &Source<'_>, cursor: Cursor, limit: usize) -> Vec<u64> {
        let candidates = match cursor {
            Cursor::Newest => source.down(u64::MAX),
            Cursor::Before(below) => source.down(below),
            Cursor::After(above) => source.up(above),
        };
        candidates
            .filter(|p| self.matches(*p, c))
            .take(limit)
            .collect()
    }

    /// One page of matching positions, newest first, and whether there are more either side.
    #[must_use]
    pub fn page(
        &self,
        filter: &EventFilter,
        cursor: Cursor,
        limit: usize,
        history: &History,
        timelines: &Timelines,
    ) -> EventPage {
        let (Some(c), Some(source)) = (
            self.compile(filter),
            self.source(filter, history, timelines),
        ) else {
            return EventPage::default();
        };
        let limit = limit.max(1);
        let mut positions = self.collect(&c, &source, cursor, limit + 1);
        let more = positions.len() > limit;
        positions.truncate(limit);
        match cursor {
            Cursor::Newest => EventPage {
                positions,
                newer: false,
                older: more,
            },
            Cursor::Before(below) => EventPage {
                positions,
                newer: !self
                    .collect(&c, &source, Cursor::After(below.saturating_sub(1)), 1)
                    .is_empty(),
                older: more,
            },
            Cursor::After(above) => {
                positions.reverse();
                EventPage {
                    positions,
                    newer: more,
                    older: !self
                        .collect(&c, &source, Cursor::Before(above.saturating_add(1)), 1)
                        .is_empty(),
                }
            }
        }
    }
}

// ---- search ---------------------------------------------------------------------------------

/// How well a text matches a query, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// The whole field is the query.
    Exact,
    /// The field starts with the query.
    Prefix,
    /// A word of the field starts with the query.
    WordPrefix,
    /// The query occurs inside the field.
    Substring,
}

impl Rank {
    /// In words, for the results page.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Prefix => "starts with",
            Self::WordPrefix => "word starts with",
            Self::Substring => "contains",
        }
    }
}

/// One search result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit<Id> {
    /// The cohort or learner found.
    pub id: Id,
    /// How well it matched.
    pub rank: Rank,
    /// Which field matched best (an index into [`COHORT_FIELDS`] or [`LEARNER_FIELDS`]).
    pub field: usize,
}

/// The fields of a cohort that search looks at.
pub const COHORT_FIELDS: [&str; 3] = ["name", "course", "instructor"];
/// The fields of a learner that search looks at.
pub const LEARNER_FIELDS: [&str; 2] = ["key", "name"];

/// What a search found, best first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchResults {
    /// Cohorts by name, course or instructor.
    pub cohorts: Vec<Hit<CohortId>>,
    /// Learners by key or name.
    pub learners: Vec<Hit<LearnerId>>,
    /// More cohorts matched than were returned.
    pub more_cohorts: bool,
    /// More learners matched than were returned.
    pub more_learners: bool,
}

/// Queries shorter than this (in characters) are not looked for inside words: too many hits
/// to be useful, and the one case that scans every text.
pub const MIN_SUBSTRING: usize = 3;

/// Lower case with runs of white space as one space: what texts and queries are compared as.
#[must_use]
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of a normalised text: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Whether `raw` normalises to `normalised`, without allocating: the common case when a
/// learner enrolls again under the key and name they already have.
fn same_text(raw: &str, normalised: &str) -> bool {
    let mut expected = normalised.chars();
    for (i, word) in raw.split_whitespace().enumerate() {
        if i > 0 && expected.next() != Some(' ') {
            return false;
        }
        if !word
            .chars()
            .flat_map(char::to_lowercase)
            .all(|c| expected.next() == Some(c))
        {
            return false;
        }
    }
    expected.next().is_none()
}

/// The first occurrence of `needle` in `hay` at or after byte `from`. Fields are short, so a
/// scan for the first byte beats a general searcher's set-up; UTF-8 never matches a valid
/// needle in the middle of a character, so every match is at a character boundary.
fn find(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = needle.split_first() else {
        return Some(from);
    };
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut i = from;
    while i <= last_start {
        let at = i + hay[i..=last_start].iter().position(|b| *b == first)?;
        if hay[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// How `field` matches `query` (both normalised). Most fields do not contain the query at all,
/// so one substring search rejects them before anything else is looked at.
fn rank_field(field: &str, query: &str) -> Option<Rank> {
    let mut at = find(field, query, 0)?;
    if at == 0 {
        return Some(if field.len() == query.len() {
            Rank::Exact
        } else {
            Rank::Prefix
        });
    }
    // Every occurrence, overlapping ones included: is one at the start of a word?
    loop {
        if field[..at]
            .chars()
            .next_back()
            .is_some_and(|c| !c.is_alphanumeric())
        {
            return Some(Rank::WordPrefix);
        }
        match find(field, query, at + 1) {
            Some(next) => at = next,
            None => return Some(Rank::Substring),
        }
    }
}

/// One kind of searchable thing: each one's normalised fields, and an index from every word
/// to who has it. Ids are coded in the order they were filed and word lists are sorted by code;
/// two corpora filing the same ids under the same texts compare equal whatever that order was
/// (learners are filed in id order on replay, in commit order live).
#[derive(Clone, Debug)]
struct Corpus<Id: Hash + Eq, const N: usize> {
    ids: Interner<Id>,
    /// Normalised fields, by code, joined by [`FIELD_END`] (one allocation per code).
    texts: Vec<Box<str>>,
    /// A hash of the raw fields each code was last filed under: the same fields again (a
    /// learner enrolling once more) cost one hash, not a normalisation.
    raw: Vec<u64>,
    words: BTreeMap<Box<str>, Vec<u32>>,
}

/// Two corpora are equal when they file the same ids under the same texts, whatever the order
/// they were filed in (a replay files learners in id order, live updates in commit order).
impl<Id: Hash + Eq + Clone, const N: usize> PartialEq for Corpus<Id, N> {
    fn eq(&self, other: &Self) -> bool {
        self.texts.len() == other.texts.len()
            && self.ids.values.iter().zip(&self.texts).all(|(id, texts)| {
                other
                    .ids
                    .code(id)
                    .is_some_and(|code| other.texts[code as usize] == *texts)
            })
    }
}

impl<Id: Hash + Eq + Clone, const N: usize> Eq for Corpus<Id, N> {}

/// What separates a code's normalised fields in its text: white space, which a normalised
/// field never holds but as a single space.
const FIELD_END: char = '\n';

/// A code's normalised fields, in order.
fn fields_of(text: &str) -> std::str::Split<'_, char> {
    text.split(FIELD_END)
}

/// The hash of raw fields (fixed seed: two indexes built apart must agree).
fn raw_hash<const N: usize>(fields: &[&str; N]) -> u64 {
    foldhash::fast::FixedState::with_seed(0).hash_one(fields)
}

impl<Id: Hash + Eq, const N: usize> Default for Corpus<Id, N> {
    fn default() -> Self {
        Self {
            ids: Interner::default(),
            texts: Vec::new(),
            raw: Vec::new(),
            words: BTreeMap::new(),
        }
    }
}

impl<Id: Hash + Eq + Copy, const N: usize> Corpus<Id, N> {
    /// Files `id` under `fields` (raw), replacing what it was filed under before.
    fn set(&mut self, id: Id, fields: [&str; N]) {
        let (code, new) = self.ids.intern(&id);
        let hash = raw_hash(&fields);
        if !new {
            if self.raw[code as usize] == hash {
                return;
            }
            self.raw[code as usize] = hash;
            let old = &self.texts[code as usize];
            if fields_of(old)
                .zip(fields)
                .all(|(old, raw)| same_text(raw, old))
            {
                return;
            }
        }
        let fields: Box<str> = fields.map(normalise).join(&FIELD_END.to_string()).into();
        if new {
            self.texts.push(fields);
            self.raw.push(hash);
        } else {
            let old = std::mem::replace(&mut self.texts[code as usize], fields);
            for word in Self::word_set(&old) {
                if let Some(codes) = self.words.get_mut(word) {
                    if let Ok(i) = codes.binary_search(&code) {
                        codes.remove(i);
                    }
                    if codes.is_empty() {
                        self.words.remove(word);
                    }
                }
            }
        }
        for word in Self::word_set(&self.texts[code as usize]) {
            let codes = self.words.entry(word.into()).or_default();
            if let Err(i) = codes.binary_search(&code) {
                codes.insert(i, code);
            }
        }
    }

    fn word_set(text: &str) -> BTreeSet<&str> {
        // The field separator is not a letter or digit: it ends a word like any other.
        words(text).collect()
    }

    /// How well the fields match: the best rank, and the field it was in.
    fn rank(text: &str, query: &str) -> Option<(Rank, usize)> {
        fields_of(text)
            .enumerate()
            .filter_map(|(field, text)| rank_field(text, query).map(|rank| (rank, field)))
            .min()
    }

    /// The best `limit` matches of a normalised query, and whether there were more.
    ///
    /// Every exact, prefix and word-prefix match has a word starting with the query's first
    /// word, so those come from a range of the word index; matches inside words need a scan
    /// of the texts, done only when the better matches do not fill the page, and stopped as
    /// soon as it does.
    fn search(&self, query: &str, limit: usize) -> (Vec<Hit<Id>>, bool) {
        let mut seen = vec![false; self.texts.len()];
        // (rank, field, the field's text, code): the order results are shown in.
        let mut hits: Vec<(Rank, usize, &str, u32)> = Vec::new();
        let consider = |code: u32, hits: &mut Vec<_>| {
            let text = &self.texts[code as usize];
            if let Some((rank, field)) = Self::rank(text, query) {
                let shown = fields_of(text).nth(field).unwrap_or_default();
                hits.push((rank, field, shown, code));
            }
        };
        if let Some(first) = words(query).next() {
            let range = self
                .words
                .range::<str, _>((Bound::Included(first), Bound::Unbounded))
                .take_while(|(word, _)| word.starts_with(first));
            for (_, codes) in range {
                for &code in codes {
                    if !std::mem::replace(&mut seen[code as usize], true) {
                        consider(code, &mut hits);
                    }
                }
            }
        }
        if hits.len() <= limit && query.chars().count() >= MIN_SUBSTRING {
            for code in 0..self.texts.len() as u32 {
                if hits.len() > limit {
                    break;
                }
                if !seen[code as usize] {
                    consider(code, &mut hits);
                }
            }
        }
        // Only the first `limit + 1` need sorting (one more tells whether there were more).
        if hits.len() > limit + 1 {
            hits.select_nth_unstable(limit);
            hits.truncate(limit + 1);
        }
        hits.sort_unstable();
        let more = hits.len() > limit;
        hits.truncate(limit);
        let hits = hits
            .into_iter()
            .filter_map(|(rank, field, _, code)| {
                Some(Hit {
                    id: *self.ids.get(code)?,
                    rank,
                    field,
                })
            })
            .collect();
        (hits, more)
    }
}

/// The search box's index: cohorts by name, course and instructor; learners by key and name.
/// Each one's normalised texts (in one allocation), a code, and 4 bytes per word it has, plus
/// each distinct word once: about 300 bytes per learner or cohort when the texts were kept
/// field by field (measured: 35 MB for 100,000 learners and 10,000 cohorts); one or two
/// allocations fewer now (replay RSS at 1M events fell by 3.8 MB with 60,000 of them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchIndex {
    cohorts: Corpus<CohortId, 3>,
    learners: Corpus<LearnerId, 2>,
    position: u64,
}

impl SearchIndex {
    /// Indexes a new cohort.
    pub fn apply(&mut self, envelope: &Envelope) {
        if envelope.position <= self.position {
            return;
        }
        self.position = envelope.position;
        if let Event::CohortCreated(data) = &envelope.event {
            self.cohorts.set(
                envelope.cohort,
                [&data.name, &data.course, &data.instructor],
            );
        }
    }

    /// Files a learner as the directory has them (called for every directory entry loaded or
    /// upserted, so a rename replaces what they were found by).
    pub fn file_learner(&mut self, id: LearnerId, record: &LearnerRecord) {
        self.learners.set(id, [&record.key, &record.name]);
    }

    /// Global position of the last event applied.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Cohorts and learners matching `query`, at most `limit` of each, best first: exact
    /// before prefix before word prefix before substring, then by field (name first), then
    /// alphabetically. An empty query finds nothing.
    #[must_use]
    pub fn search(&self, query: &str, limit: usize) -> SearchResults {
        let query = normalise(query);
        if query.is_empty() || limit == 0 {
            return SearchResults::default();
        }
        let (cohorts, more_cohorts) = self.cohorts.search(&query, limit);
        let (learners, more_learners) = self.learners.search(&query, limit);
        SearchResults {
            cohorts,
            learners,
            more_cohorts,
            more_learners,
        }
    }
}

// ---- diff -----------------------------------------------------------------------------------

/// What changed in a cohort between two points of its history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CohortDiff {
    /// The cohort did not exist yet at the first point.
    pub created: bool,
    /// Seats, then and now (0 before creation).
    pub capacity: (u32, u32),
    /// Status then (`None` before creation) and now.
    pub status: (Option<CohortStatus>, CohortStatus),
    /// Seats taken, then and now.
    pub enrolled: (u32, u32),
    /// Learners waiting, then and now.
    pub waitlist: (usize, usize),
    /// Got a seat without having waited at the first point, in roster order.
    pub seated: Vec<LearnerId>,
    /// Waited at the first point and hold a seat at the second.
    pub promoted: Vec<LearnerId>,
    /// Held a seat at the first point and no longer do.
    pub unseated: Vec<LearnerId>,
    /// Joined the waitlist, with their place at the second point.
    pub joined: Vec<(LearnerId, u32)>,
    /// Left the waitlist without a seat, with their place at the first point.
    pub left: Vec<(LearnerId, u32)>,
    /// Still waiting at a different place: (learner, place then, place now).
    pub moved: Vec<(LearnerId, u32, u32)>,
}

impl CohortDiff {
    /// The difference from `from` (`None`: before the cohort existed) to `to`.
    #[must_use]
    pub fn between(from: Option<&CohortView>, to: &CohortView) -> Self {
        let places = |view: Option<&CohortView>| -> HashMap<LearnerId, u32> {
            view.map(|v| {
                v.state
                    .waitlist
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.learner, i as u32 + 1))
                    .collect()
            })
            .unwrap_or_default()
        };
        let (then_places, now_places) = (places(from), places(Some(to)));
        let then_seated: BTreeSet<LearnerId> = from
            .map(|v| v.state.enrolled.iter().copied().collect())
            .unwrap_or_default();
        let now = &to.state;
        let (mut seated, mut promoted) = (Vec::new(), Vec::new());
        for learner in &now.enrolled {
            if then_seated.contains(learner) {
                continue;
            }
            if then_places.contains_key(learner) {
                promoted.push(*learner);
            } else {
                seated.push(*learner);
            }
        }
        let unseated = from
            .map(|v| {
                v.state
                    .enrolled
                    .iter()
                    .filter(|l| !now.is_enrolled(**l))
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        let mut joined = Vec::new();
        let mut moved = Vec::new();
        for (i, entry) in now.waitlist.iter().enumerate() {
            let place = i as u32 + 1;
            match then_places.get(&entry.learner) {
                None => joined.push((entry.learner, place)),
                Some(&then) if then != place => moved.push((entry.learner, then, place)),
                Some(_) => {}
            }
        }
        let left = from
            .map(|v| {
                v.state
                    .waitlist
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| {
                        !now_places.contains_key(&e.learner) && !now.is_enrolled(e.learner)
                    })
                    .map(|(i, e)| (e.learner, i as u32 + 1))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            created: from.is_none(),
            capacity: (
                from.map_or(0, |v| v.state.capacity.seats()),
                now.capacity.seats(),
            ),
            status: (from.map(|v| v.state.status), now.status),
            enrolled: (
                from.map_or(0, |v| v.state.enrolled_count()),
                now.enrolled_count(),
            ),
            waitlist: (
                from.map_or(0, |v| v.state.waitlist.len()),
                now.waitlist.len(),
            ),
            seated,
            promoted,
            unseated,
            joined,
            left,
            moved,
        }
    }

    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.created
            && self.capacity.0 == self.capacity.1
            && self.status.0 == Some(self.status.1)
            && self.seated.is_empty()
            && self.promoted.is_empty()
            && self.unseated.is_empty()
            && self.joined.is_empty()
            && self.left.is_empty()
            && self.moved.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::super::directory::Directory;
    use super::*;
    use crate::domain::{Capacity, CohortCreated};
    use crate::store::{Actor, CommandMeta};

    fn id(n: u128) -> CohortId {
        CohortId(Uuid::from_u128(n))
    }

    fn who(n: u128) -> LearnerId {
        LearnerId(Uuid::from_u128(0x1000 + n))
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_772_355_600 + minute * 60).unwrap()
    }

    fn created(name: &str, course: &str, instructor: &str) -> Event {
        Event::CohortCreated(CohortCreated {
            name: name.to_owned(),
            course: course.to_owned(),
            instructor: instructor.to_owned(),
            capacity: Capacity::new(1).unwrap(),
            starts_at: at(0),
            enrollment_deadline: at(0),
            withdrawal_deadline: at(0),
        })
    }

    /// A little log: (cohort, event, actor, correlation), one minute apart.
    fn log(events: &[(u128, Event, &str, u128)]) -> Vec<Envelope> {
        let mut versions: HashMap<u128, u64> = HashMap::new();
        events
            .iter()
            .enumerate()
            .map(|(i, (cohort, event, actor, correlation))| {
                let version = versions.entry(*cohort).or_default();
                *version += 1;
                Envelope {
                    position: i as u64 + 1,
                    cohort: id(*cohort),
                    version: *version,
                    schema_version: 1,
                    event: event.clone(),
                    occurred_at: at(i64::try_from(i).unwrap()),
                    recorded_at: at(i64::try_from(i).unwrap()),
                    meta: CommandMeta {
                        actor: Actor {
                            id: Uuid::nil(),
                            name: (*actor).to_owned(),
                        },
                        command_id: Uuid::from_u128(*correlation),
                        correlation_id: Uuid::from_u128(*correlation),
                        causation_id: Uuid::from_u128(*correlation),
                    },
                }
            })
            .collect()
    }

    fn scripted() -> (EventIndex, History, Timelines) {
        let seat = |n| Event::StudentEnrolled { learner: who(n) };
        let envelopes = log(&[
            (1, created("A", "C", "I"), "ada", 1),
            (2, created("B", "C", "I"), "ada", 2),
            (1, seat(1), "bob", 3),
            (2, seat(1), "bob", 4),
            (
                1,
                Event::StudentWithdrawn {
                    learner: who(1),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                },
                "Ada",
                5,
            ),
            (1, Event::WaitlistPromoted { learner: who(2) }, "Ada", 5),
            (2, Event::EnrollmentClosed, "bob", 6),
        ]);
        let mut index = EventIndex::default();
        let mut history = History::default();
        let mut timelines = Timelines::default();
        for e in &envelopes {
            index.apply(e);
            history.apply(e, super::super::Counters::default());
            timelines.apply(e);
        }
        (index, history, timelines)
    }

    fn all(index: &EventIndex, h: &History, t: &Timelines, filter: &EventFilter) -> Vec<u64> {
        index.walk(filter, Cursor::Newest, usize::MAX, h, t)
    }

    #[test]
    fn each_filter_narrows_the_log() {
        let (index, h, t) = scripted();
        let f = EventFilter::default;
        assert_eq!(all(&index, &h, &t, &f()), [7, 6, 5, 4, 3, 2, 1]);
        let by_type = EventFilter {
            event_type: Some("student.enrolled"),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &by_type), [4, 3]);
        let by_cohort = EventFilter {
            cohort: Some(id(2)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &by_cohort), [7, 4, 2]);
        let by_learner = EventFilter {
            learner: Some(who(1)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &by_learner), [5, 4, 3]);
        let both = EventFilter {
            learner: Some(who(1)),
            cohort: Some(id(1)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &both), [5, 3]);
        let by_actor = EventFilter {
            actor: Some("bob".to_owned()),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &by_actor), [7, 4, 3]);
        let case_insensitive = EventFilter {
            actor: Some("ADA".to_owned()),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &case_insensitive), [2, 1]);
        let window = EventFilter {
            from: Some(at(2)),
            to: Some(at(4)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &window), [5, 4, 3]);
        let correlation = EventFilter {
            correlation: Some(Uuid::from_u128(5)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &correlation), [6, 5]);
        assert_eq!(index.correlated(6), 2);
        assert_eq!(index.correlated(1), 1);
        let unknown = EventFilter {
            learner: Some(who(99)),
            ..f()
        };
        assert!(all(&index, &h, &t, &unknown).is_empty());
        let event = index.event(6).unwrap();
        assert_eq!(
            (
                event.event_type,
                event.cohort,
                event.learner,
                event.actor.as_str()
            ),
            ("waitlist.promoted", id(1), Some(who(2)), "Ada")
        );
        assert_eq!(event.occurred_at, at(5));
    }

    #[test]
    fn a_correlation_id_spanning_several_commands_finds_all_its_events_and_no_gap() {
        let seat = |n| Event::StudentEnrolled { learner: who(n) };
        let envelopes = log(&[
            (1, created("A", "C", "I"), "ada", 1),
            (1, seat(1), "ada", 2),
            (1, seat(2), "ada", 1),
            (1, seat(3), "bob", 1),
            (1, seat(4), "bob", 3),
            (1, seat(5), "bob", 2),
            (1, seat(6), "bob", 1),
        ]);
        let mut index = EventIndex::default();
        let (history, timelines) = (History::default(), Timelines::default());
        // Position 6 never reaches the index (a broken store's gap).
        for e in envelopes.iter().filter(|e| e.position != 6) {
            index.apply(e);
        }
        let chain = |n: u128| {
            let filter = EventFilter {
                correlation: Some(Uuid::from_u128(n)),
                ..EventFilter::default()
            };
            index.walk(&filter, Cursor::Newest, usize::MAX, &history, &timelines)
        };
        assert_eq!(chain(1), [7, 4, 3, 1]);
        assert_eq!(chain(2), [2], "the gap at 6 is no event");
        assert_eq!(chain(3), [5]);
        assert!(chain(4).is_empty());
        assert_eq!(
            [1, 2, 3, 4, 5, 6, 7].map(|p| index.correlated(p)),
            [4, 1, 4, 4, 1, 0, 4]
        );
        assert_eq!(
            [1, 2, 3, 4, 5, 7].map(|p| index.event(p).unwrap().correlation),
            [1, 2, 1, 1, 3, 1].map(Uuid::from_u128)
        );
        assert!(index.event(6).is_none());
    }

    #[test]
    fn pages_go_both_ways_and_cover_every_match_once() {
        let (index, h, t) = scripted();
        let f = EventFilter::default();
        let first = index.page(&f, Cursor::Newest, 3, &h, &t);
        assert_eq!(first.positions, [7, 6, 5]);
        assert!(!first.newer && first.older);
        let second = index.page(&f, Cursor::Before(5), 3, &h, &t);
        assert_eq!(second.positions, [4, 3, 2]);
        assert!(second.newer && second.older);
        let third = index.page(&f, Cursor::Before(2), 3, &h, &t);
        assert_eq!(third.positions, [1]);
        assert!(third.newer && !third.older);
        let back = index.page(&f, Cursor::After(1), 3, &h, &t);
        assert_eq!(back.positions, [4, 3, 2]);
        assert!(back.newer && back.older);
        let cohort = EventFilter {
            cohort: Some(id(1)),
            ..f
        };
        let page = index.page(&cohort, Cursor::Before(6), 1, &h, &t);
        assert_eq!(page.positions, [5]);
        assert!(page.newer && page.older);
    }

    #[test]
    fn search_ranks_exact_before_prefix_before_word_prefix_before_substring() {
        let mut search = SearchIndex::default();
        let envelopes = log(&[
            (1, created("Rustacean Basics", "RUST-101", "Ferris"), "a", 1),
            (2, created("rust", "X", "Y"), "a", 2),
            (3, created("Advanced Rust", "R2", "Z"), "a", 3),
            (4, created("Trust and Safety", "T", "W"), "a", 4),
            (5, created("Go", "G", "Q"), "a", 5),
        ]);
        for e in &envelopes {
            search.apply(e);
        }
        let found = search.search("  RUST ", 10);
        let ids: Vec<(CohortId, Rank)> = found.cohorts.iter().map(|h| (h.id, h.rank)).collect();
        assert_eq!(
            ids,
            [
                (id(2), Rank::Exact),
                (id(1), Rank::Prefix),
                (id(3), Rank::WordPrefix),
                (id(4), Rank::Substring),
            ]
        );
        assert_eq!(
            found.cohorts[1].field, 0,
            "the name matched, not the course"
        );
        assert!(search.search("", 10).cohorts.is_empty());
        assert!(search.search("nothing like it", 10).cohorts.is_empty());
        assert_eq!(search.search("rust", 2).cohorts.len(), 2);
        assert!(search.search("rust", 2).more_cohorts);
    }

    #[test]
    fn a_renamed_learner_is_found_by_the_new_name_only() {
        let mut directory = Directory::default();
        let record = |name: &str| LearnerRecord {
            key: "ana@example.org".to_owned(),
            name: name.to_owned(),
        };
        directory.upsert(who(1), record("Ana Lopez"));
        let envelopes = log(&[
            (1, created("A", "C", "I"), "a", 1),
            (1, Event::StudentEnrolled { learner: who(1) }, "a", 2),
            (
                1,
                Event::StudentWithdrawn {
                    learner: who(1),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                },
                "a",
                3,
            ),
            (1, Event::StudentEnrolled { learner: who(1) }, "a", 4),
        ]);
        let mut live = SearchIndex::default();
        for e in &envelopes {
            live.apply(e);
        }
        live.file_learner(who(1), directory.get(who(1)).unwrap());
        assert_eq!(live.search("lopez", 5).learners.len(), 1);
        directory.upsert(who(1), record("Ana Smith"));
        live.file_learner(who(1), directory.get(who(1)).unwrap());
        assert!(live.search("lopez", 5).learners.is_empty());
        assert_eq!(live.search("smith", 5).learners[0].id, who(1));
        let mut replayed = SearchIndex::default();
        for e in &envelopes {
            replayed.apply(e);
        }
        for (id, record) in directory.entries() {
            replayed.file_learner(id, record);
        }
        assert_eq!(live, replayed, "renames leave no trace a replay would not");
    }

    #[test]
    fn a_diff_names_every_roster_and_waitlist_move() {
        let learner = |n| who(n);
        let waitlisted = |n, place| Event::StudentWaitlisted {
            learner: who(n),
            position: place,
        };
        let envelopes = log(&[
            (1, created("A", "C", "I"), "a", 1),
            (
                1,
                Event::StudentEnrolled {
                    learner: learner(1),
                },
                "a",
                2,
            ),
            (1, waitlisted(2, 1), "a", 3),
            (1, waitlisted(3, 2), "a", 4),
            (1, waitlisted(4, 3), "a", 5),
            (
                1,
                Event::StudentWithdrawn {
                    learner: learner(1),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                },
                "a",
                6,
            ),
            (
                1,
                Event::WaitlistPromoted {
                    learner: learner(2),
                },
                "a",
                6,
            ),
            (
                1,
                Event::WaitlistLeft {
                    learner: learner(4),
                    reason: crate::domain::Note::default(),
                },
                "a",
                7,
            ),
            (1, waitlisted(5, 2), "a", 8),
            (1, Event::EnrollmentClosed, "a", 9),
        ]);
        let then = CohortView::fold(&envelopes[..5]).unwrap();
        let now = CohortView::fold(&envelopes).unwrap();
        let diff = CohortDiff::between(Some(&then), &now);
        assert!(!diff.created);
        assert_eq!(diff.promoted, [learner(2)]);
        assert!(diff.seated.is_empty());
        assert_eq!(diff.unseated, [learner(1)]);
        assert_eq!(diff.joined, [(learner(5), 2)]);
        assert_eq!(diff.left, [(learner(4), 3)]);
        assert_eq!(diff.moved, [(learner(3), 2, 1)]);
        assert_eq!(
            diff.status,
            (Some(CohortStatus::Open), CohortStatus::Closed)
        );
        assert_eq!(
            (diff.enrolled, diff.waitlist, diff.capacity),
            ((1, 1), (3, 2), (1, 1))
        );
        let from_nothing = CohortDiff::between(None, &then);
        assert!(from_nothing.created);
        assert_eq!(from_nothing.seated, [learner(1)]);
        assert_eq!(from_nothing.joined.len(), 3);
        assert!(CohortDiff::between(Some(&now), &now).is_empty());
    }

    #[test]
    fn words_are_found_whatever_punctuation_surrounds_them() {
        assert_eq!(
            rank_field("ana.lopez@example.org", "lopez"),
            Some(Rank::WordPrefix)
        );
        assert_eq!(
            rank_field("ana.lopez@example.org", "@example"),
            Some(Rank::Substring)
        );
        assert_eq!(
            rank_field("ana.lopez@example.org", "pez"),
            Some(Rank::Substring)
        );
        assert_eq!(
            rank_field("ana.lopez@example.org", "ana."),
            Some(Rank::Prefix)
        );
        assert_eq!(rank_field("a  -b", "-b"), Some(Rank::WordPrefix));
        assert_eq!(rank_field("abc", "abcd"), None);
        assert_eq!(rank_field("abc", "abc"), Some(Rank::Exact));
        assert_eq!(rank_field("aab-ab", "ab"), Some(Rank::WordPrefix));
        assert_eq!(rank_field("ñandú ñu", "ñu"), Some(Rank::WordPrefix));
        assert_eq!(rank_field("ñandú", "dú"), Some(Rank::Substring));
        assert!(same_text("  Ana   LÓPEZ ", "ana lópez"));
        assert!(!same_text("Ana Lopez", "ana lópez"));
        assert!(!same_text("Ana", "ana lópez"));
        assert!(!same_text("Ana Lopez x", "ana lopez"));
        assert!(same_text("", ""));
    }
}
