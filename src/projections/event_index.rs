//! The event browser's index: the event log as compact columns, one row per position, with
//! the filters and keyset pages the browser and the CSV export walk. The history, timelines
//! and withdrawals read their lines from here rather than keeping copies; so the index never
//! reads them: a filter on one cohort or learner walks the positions its caller hands it.
//!
//! Folded from envelopes in position order like every projection, equal whether built live or
//! replayed; it answers from memory and never reads or writes the store.

use std::hash::BuildHasher as _;

use jiff::Timestamp;
use uuid::Uuid;

use super::codes::{CodeColumn, NONE};
use super::interner::Interner;
use super::positions::PositionList;
use super::{FastMap, Projection};
use crate::domain::{CohortId, Event, LearnerId};
use crate::store::Envelope;

/// The type code of a position no event was applied at (the store's positions are gapless, so
/// this only marks what a broken store would leave out).
const GAP: u8 = u8::MAX;

/// What the event browser filters on, with every name already resolved to an id. `None` means
/// "any"; the filters combine with "and".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// A stable event name (one of [`Event::TYPE_NAMES`]).
    pub event_type: Option<&'static str>,
    /// Events of this cohort only.
    pub cohort: Option<CohortId>,
    /// Events about this learner only.
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

/// The positions a filter naming a cohort or a learner may walk instead of the whole log: the
/// cohort's (its history) and the learner's (their timeline), ascending. Read by the caller
/// from those models, which resolve their own lines through this index. Only a shortcut: every
/// candidate is still checked against the filter, so a list left out gives the same answer,
/// walking more; a list given must be the filter's cohort's or learner's.
#[derive(Clone, Copy, Debug, Default)]
pub struct Narrowing<'a> {
    /// The positions of the filter's cohort.
    pub cohort: Option<&'a PositionList>,
    /// The positions of the filter's learner.
    pub learner: Option<&'a PositionList>,
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
    /// The event's global position in the log (from 1).
    pub position: u64,
    /// The event's stable type name, e.g. `student.enrolled`.
    pub event_type: &'static str,
    /// The cohort whose stream it belongs to.
    pub cohort: CohortId,
    /// The learner it concerns.
    pub learner: Option<LearnerId>,
    /// The account name recorded on the event.
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

impl Projection for EventIndex {
    const NAME: &'static str = "event index";
    type Reads<'a> = ();

    /// Indexes one envelope; one at or below the current position is ignored.
    fn apply(&mut self, envelope: &Envelope, (): ()) {
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

    fn position(&self) -> u64 {
        self.position
    }
}

impl EventIndex {
    fn push_row(&mut self, at: i64, kind: u8, cohort: u32, learner: u32, actor: u32) {
        self.at.push(at);
        self.kind.push(kind);
        self.cohort.push(cohort);
        self.learner.push(learner);
        self.actor.push(actor);
    }

    /// How many positions the index has rows for (its last position: gaps count).
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
    /// waitlisting, promotion, offer, accepted offer or transfer in there, unless they left
    /// after it (withdrawn, left, declined, expired, released or transferred out).
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
                Some(
                    "student.enrolled"
                    | "student.waitlisted"
                    | "waitlist.promoted"
                    | "waitlist.offered"
                    | "offer.accepted"
                    | "student.transferred_in",
                ) => {
                    return Timestamp::from_microsecond(self.at[i]).ok();
                }
                Some(
                    "student.withdrawn"
                    | "waitlist.left"
                    | "offer.declined"
                    | "offer.expired"
                    | "student.released"
                    | "student.transferred_out",
                ) => return None,
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
            run = u32::try_from(r)
                .ok()
                .and_then(|r| self.previous_run.get(&r))
                .copied();
        }
        out.reverse();
        out
    }

    /// The filter in codes, or `None` when it names something never seen (nothing matches).
    fn compile(&self, filter: &EventFilter) -> Option<Compiled> {
        let kind = match filter.event_type {
            None => None,
            Some(name) => {
                Some(u8::try_from(Event::TYPE_NAMES.iter().position(|n| *n == name)?).ok()?)
            }
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
                    .and_then(|i| u32::try_from(i).ok())
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
    fn source<'a>(&self, filter: &EventFilter, lists: Narrowing<'a>) -> Option<Source<'a>> {
        if let Some(id) = filter.correlation {
            let newest = self.newest_run.get(&id, &self.run_correlation)?;
            return Some(Source::Chain(self.chain(newest)));
        }
        Some(match (lists.cohort, lists.learner) {
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
    /// [`Cursor::Newest`] and [`Cursor::Before`], ascending for [`Cursor::After`]; walking
    /// `lists` where the filter names a cohort or a learner.
    #[must_use]
    pub fn walk(
        &self,
        filter: &EventFilter,
        cursor: Cursor,
        limit: usize,
        lists: Narrowing<'_>,
    ) -> Vec<u64> {
        let (Some(compiled), Some(source)) = (self.compile(filter), self.source(filter, lists))
        else {
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

    /// Up to `limit` positions above `after`, ascending, whose type is one of `kinds` (indexes
    /// into [`Event::TYPE_NAMES`]; any type when empty), for the global feed's filters. With
    /// `lists` (the histories of the cohorts asked for), only their positions are walked;
    /// otherwise the type column from `after` on, in memory.
    #[must_use]
    pub fn feed_positions(
        &self,
        after: u64,
        kinds: &[u8],
        lists: Option<&[&PositionList]>,
        limit: usize,
    ) -> Vec<u64> {
        let wanted = |p: &u64| {
            self.row(*p)
                .is_some_and(|i| kinds.is_empty() || kinds.contains(&self.kind[i]))
        };
        let Some(lists) = lists else {
            return Source::All(self.kind.len() as u64)
                .up(after)
                .filter(wanted)
                .take(limit)
                .collect();
        };
        let mut out: Vec<u64> = lists
            .iter()
            .flat_map(|list| {
                let start = list.partition_point(|p| p <= after);
                list.range(start..list.len()).filter(wanted).take(limit)
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out.truncate(limit);
        out
    }

    /// One page of matching positions, newest first, and whether there are more either side;
    /// walking `lists` where the filter names a cohort or a learner.
    #[must_use]
    pub fn page(
        &self,
        filter: &EventFilter,
        cursor: Cursor,
        limit: usize,
        lists: Narrowing<'_>,
    ) -> EventPage {
        let (Some(c), Some(source)) = (self.compile(filter), self.source(filter, lists)) else {
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
