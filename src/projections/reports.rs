//! Read models behind the support reports: cohorts by instructor, recent withdrawals, seat
//! changes per ISO week, and the dashboard's signals (near-full cohorts, seats free while
//! learners wait, deadlines coming up, totals).
//!
//! Each is a small index folded from the envelopes, so a page reads only the rows it shows and
//! never scans the event log, nor the whole catalog, per request. Like every projection they hold
//! no rules, never write, never read the clock (queries take `now`), and rebuilt from the store
//! they equal what was built incrementally.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use uuid::Uuid;

use super::FastMap;
use super::browse::EventIndex;
use super::catalog::CohortView;
use super::history::{Counters, History};
use super::positions::PositionList;
use crate::domain::{Cohort, CohortId, CohortStatus, Event, LearnerId, ReasonCode};
use crate::store::Envelope;

/// A cohort is near full at this share of its seats taken, in percent.
pub const NEAR_FULL_PERCENT: u64 = 90;

/// The report projections, folded together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reports {
    /// Cohorts grouped by instructor, with per-instructor totals.
    pub instructors: Instructors,
    /// Withdrawals and waitlist departures, newest first, with their filter indexes.
    pub withdrawals: Withdrawals,
    /// Seat changes per ISO week, overall and per cohort.
    pub seat_weeks: SeatWeeks,
    /// The dashboard's signals and totals.
    pub signals: Signals,
}

impl Reports {
    /// Folds one envelope. `view` is the cohort after the envelope was applied to the catalog;
    /// `before` and `after` are its counters around the event.
    /// The event index must have indexed the envelope already.
    pub fn apply(
        &mut self,
        envelope: &Envelope,
        view: Option<&CohortView>,
        before: Counters,
        after: Counters,
        events: &EventIndex,
    ) {
        self.instructors.apply(envelope, view, before, after);
        self.withdrawals.apply(envelope, view, events);
        self.seat_weeks.apply(envelope);
        self.signals.apply(envelope, view, before, after);
    }

    /// Gives back what the replay's growth left unused.
    pub fn shrink(&mut self) {
        self.withdrawals.shrink();
    }
}

/// The key names are filed under: instructors and courses match ignoring ASCII case, as the
/// catalog's filter does.
fn name_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

// ---------------------------------------------------------------------------------------------
// Totals
// ---------------------------------------------------------------------------------------------

/// Sums over a set of cohorts, kept up to date from each event's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Cohorts.
    pub cohorts: u64,
    /// Cohorts still open for enrollment.
    pub open: u64,
    /// Seats in all.
    pub seats: u64,
    /// Seats taken.
    pub enrolled: u64,
    /// Learners waiting (a learner waiting for two cohorts counts twice).
    pub waitlisted: u64,
}

impl Totals {
    /// Moves the sums by what one event changed in one cohort. A cohort exists once its
    /// capacity is non-zero (a capacity is at least 1).
    fn shift(&mut self, before: Counters, after: Counters) {
        fn by(total: &mut u64, before: u32, after: u32) {
            // Adding first never underflows: the total includes what `before` contributed.
            *total = (*total + u64::from(after)).saturating_sub(u64::from(before));
        }
        by(
            &mut self.cohorts,
            u32::from(before.capacity > 0),
            u32::from(after.capacity > 0),
        );
        by(
            &mut self.open,
            u32::from(before.open),
            u32::from(after.open),
        );
        by(&mut self.seats, before.capacity, after.capacity);
        by(&mut self.enrolled, before.enrolled, after.enrolled);
        by(&mut self.waitlisted, before.waitlist, after.waitlist);
    }

    /// Seats taken, in percent of all seats (0 when there are none).
    #[must_use]
    pub fn fill_percent(&self) -> u64 {
        self.enrolled * 100 / self.seats.max(1)
    }
}

// ---------------------------------------------------------------------------------------------
// Cohorts by instructor
// ---------------------------------------------------------------------------------------------

/// One instructor: their cohorts and the sums over them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstructorEntry {
    /// The name as first spelled.
    pub name: String,
    /// Their cohorts by first session, oldest first.
    pub cohorts: Vec<(Timestamp, CohortId)>,
    /// Sums over their cohorts.
    pub totals: Totals,
}

/// Cohorts grouped by instructor, instructors in name order (ignoring ASCII case).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Instructors {
    entries: Vec<InstructorEntry>,
    /// Name key → index into `entries`, in name order.
    by_key: BTreeMap<String, usize>,
    /// Cohort → index of its instructor, so an event costs no string work.
    of_cohort: FastMap<CohortId, usize>,
    position: u64,
}

impl Instructors {
    fn apply(
        &mut self,
        envelope: &Envelope,
        view: Option<&CohortView>,
        before: Counters,
        after: Counters,
    ) {
        self.position = envelope.position;
        let Some(view) = view else {
            return;
        };
        let cohort = &view.state;
        let index = if let Some(index) = self.of_cohort.get(&cohort.id) {
            *index
        } else {
            let next = self.entries.len();
            let index = *self
                .by_key
                .entry(name_key(&cohort.instructor))
                .or_insert(next);
            if index == next {
                self.entries.push(InstructorEntry {
                    name: cohort.instructor.clone(),
                    ..InstructorEntry::default()
                });
            }
            self.of_cohort.insert(cohort.id, index);
            let item = (cohort.starts_at, cohort.id);
            let cohorts = &mut self.entries[index].cohorts;
            let at = cohorts.partition_point(|c| *c < item);
            cohorts.insert(at, item);
            index
        };
        self.entries[index].totals.shift(before, after);
    }

    /// Global position of the last event applied.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Number of instructors.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no cohort exists yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One instructor, by name ignoring ASCII case.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&InstructorEntry> {
        self.by_key.get(&name_key(name)).map(|i| &self.entries[*i])
    }

    /// Every instructor, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &InstructorEntry> {
        self.by_key.values().map(|i| &self.entries[*i])
    }

    /// A page of (instructor, cohort) rows: instructors in name order, each one's cohorts
    /// latest first session first; only `instructor`'s when given. Returns the rows and how many
    /// there are in all. Costs one step per instructor plus one per row returned.
    #[must_use]
    pub fn page(
        &self,
        instructor: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> (Vec<(&InstructorEntry, CohortId)>, usize) {
        let entries: Box<dyn Iterator<Item = &InstructorEntry>> = match instructor {
            Some(name) => Box::new(self.get(name).into_iter()),
            None => Box::new(self.iter()),
        };
        let end = offset.saturating_add(limit);
        let mut total = 0;
        let mut rows = Vec::new();
        for entry in entries {
            let n = entry.cohorts.len();
            let first = offset.saturating_sub(total).min(n);
            let last = end.saturating_sub(total).min(n);
            rows.extend(
                entry
                    .cohorts
                    .iter()
                    .rev()
                    .skip(first)
                    .take(last - first)
                    .map(|(_, id)| (entry, *id)),
            );
            total += n;
        }
        (rows, total)
    }
}

// ---------------------------------------------------------------------------------------------
// Withdrawals
// ---------------------------------------------------------------------------------------------

/// What was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WithdrawalKind {
    /// `student.withdrawn`: a seat.
    Seat,
    /// `waitlist.left`: a place in the waitlist.
    Waitlist,
}

impl WithdrawalKind {
    /// The event's stable name.
    #[must_use]
    pub const fn event_type(self) -> &'static str {
        match self {
            Self::Seat => "student.withdrawn",
            Self::Waitlist => "waitlist.left",
        }
    }
}

/// Where a withdrawal sorts: by time, then position.
pub type WithdrawalKey = (Timestamp, u64);

/// One withdrawal from a seat or the waitlist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    /// Global position of the event.
    pub position: u64,
    /// Which cohort.
    pub cohort: CohortId,
    /// Who left.
    pub learner: LearnerId,
    /// A seat or a waitlist place.
    pub kind: WithdrawalKind,
    /// Why, as a code (for a seat; `None` for a waitlist place).
    pub reason_code: Option<ReasonCode>,
    /// Staff's free text (empty once erased).
    pub reason: String,
    /// True when the reason was erased with the learner's personal data.
    pub reason_erased: bool,
    /// Who recorded it.
    pub actor: String,
    /// When it was decided.
    pub occurred_at: Timestamp,
    /// The waitlisted learner the freed seat went to, in the same command.
    pub promoted: Option<LearnerId>,
}

impl Withdrawal {
    /// Where it sorts.
    #[must_use]
    pub const fn key(&self) -> WithdrawalKey {
        (self.occurred_at, self.position)
    }
}

/// Which withdrawals a listing shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WithdrawalFilter {
    /// At or after this instant.
    pub from: Option<Timestamp>,
    /// At or before this instant.
    pub to: Option<Timestamp>,
    /// Of cohorts of this course (ignoring ASCII case).
    pub course: Option<String>,
    /// Of cohorts of this instructor (ignoring ASCII case).
    pub instructor: Option<String>,
    /// Seats given up for this reason code (leaving a waitlist has none).
    pub reason_code: Option<ReasonCode>,
}

static NO_POSITIONS: PositionList = PositionList::new();

/// Where `code` sits in [`ReasonCode::ALL`].
fn code_index(code: ReasonCode) -> usize {
    ReasonCode::ALL.iter().position(|c| *c == code).unwrap_or(0)
}

/// Every withdrawal (`student.withdrawn` and `waitlist.left`), ordered by time, indexed by
/// instructor and by course: 4 bytes per withdrawal in each of the three lists. A withdrawal's
/// time is read from the event index, both to keep the lists in order and to list them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Withdrawals {
    /// Each withdrawal's position, ordered by [`WithdrawalKey`]. The rest of a [`Withdrawal`]
    /// is read from the event index and the history's reasons when listed.
    entries: PositionList,
    /// The seat withdrawals whose freed seat went to a waitlisted learner in the same command,
    /// ascending: the promotion is the event right after the withdrawal.
    promoted: PositionList,
    by_instructor: HashMap<String, PositionList>,
    by_course: HashMap<String, PositionList>,
    /// The seat withdrawal just recorded and its command: a `waitlist.promoted` right after it
    /// in the same command took the seat it freed.
    awaiting_promotion: Option<(u64, Uuid)>,
    /// Seats given up per reason code, in [`ReasonCode::ALL`] order.
    by_code: [u64; 5],
    position: u64,
}

/// Where the withdrawal at `position` sorts, its time read from the index.
fn key_of(events: &EventIndex, position: u64) -> WithdrawalKey {
    (
        events.occurred_at(position).unwrap_or(Timestamp::MIN),
        position,
    )
}

/// Puts `position` (sorting at `key`) into `list` in key order: at the end, unless the clock
/// went back.
fn insert_by_key(list: &mut PositionList, key: WithdrawalKey, events: &EventIndex) {
    if list.last().is_none_or(|last| key_of(events, last) <= key) {
        list.push(key.1);
    } else {
        let at = list.partition_point(|p| key_of(events, p) < key);
        list.insert(at, key.1);
    }
}

/// The indexes of `list` whose keys lie between `lower` and `upper`.
fn key_range(
    list: &PositionList,
    lower: Bound<WithdrawalKey>,
    upper: Bound<WithdrawalKey>,
    events: &EventIndex,
) -> std::ops::Range<usize> {
    let start = match lower {
        Bound::Unbounded => 0,
        Bound::Included(k) => list.partition_point(|p| key_of(events, p) < k),
        Bound::Excluded(k) => list.partition_point(|p| key_of(events, p) <= k),
    };
    let end = match upper {
        Bound::Unbounded => list.len(),
        Bound::Included(k) => list.partition_point(|p| key_of(events, p) <= k),
        Bound::Excluded(k) => list.partition_point(|p| key_of(events, p) < k),
    };
    start..end.max(start)
}

impl Withdrawals {
    fn apply(&mut self, envelope: &Envelope, view: Option<&CohortView>, events: &EventIndex) {
        self.position = envelope.position;
        let awaiting = self.awaiting_promotion.take();
        match &envelope.event {
            Event::StudentWithdrawn { reason_code, .. } => {
                self.by_code[code_index(*reason_code)] += 1;
                self.record(envelope, view, WithdrawalKind::Seat, events);
            }
            Event::WaitlistLeft { .. } => {
                self.record(envelope, view, WithdrawalKind::Waitlist, events);
            }
            Event::WaitlistPromoted { .. } => {
                if let Some((withdrawn, command)) = awaiting {
                    if withdrawn + 1 == envelope.position && command == envelope.meta.command_id {
                        self.promoted.push(withdrawn);
                    }
                }
            }
            Event::CohortCreated(_)
            | Event::StudentEnrolled { .. }
            | Event::StudentWaitlisted { .. }
            | Event::CapacityChanged { .. }
            | Event::EnrollmentClosed => {}
        }
    }

    fn record(
        &mut self,
        envelope: &Envelope,
        view: Option<&CohortView>,
        kind: WithdrawalKind,
        events: &EventIndex,
    ) {
        let key = (envelope.occurred_at, envelope.position);
        if let Some(view) = view {
            insert_by_key(
                self.by_instructor
                    .entry(name_key(&view.state.instructor))
                    .or_default(),
                key,
                events,
            );
            insert_by_key(
                self.by_course
                    .entry(name_key(&view.state.course))
                    .or_default(),
                key,
                events,
            );
        }
        insert_by_key(&mut self.entries, key, events);
        if kind == WithdrawalKind::Seat {
            self.awaiting_promotion = Some((envelope.position, envelope.meta.command_id));
        }
    }

    /// Gives back what the lists grew past their length (after a replay).
    fn shrink(&mut self) {
        self.entries.shrink_to_fit();
        self.promoted.shrink_to_fit();
        self.by_instructor
            .values_mut()
            .chain(self.by_course.values_mut())
            .for_each(PositionList::shrink_to_fit);
    }

    /// Global position of the last event applied.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Number of withdrawals recorded.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The withdrawals matching `filter`, newest first, starting after `before` (a key from an
    /// earlier call) when given. Costs a logarithmic seek, then one step per withdrawal of the
    /// narrowest index (instructor or course, when filtered) until the caller stops.
    #[must_use]
    pub fn newest<'a>(
        &'a self,
        filter: &WithdrawalFilter,
        before: Option<WithdrawalKey>,
        events: &'a EventIndex,
        history: &'a History,
    ) -> Box<dyn Iterator<Item = Withdrawal> + 'a> {
        let code = filter.reason_code;
        let whole = move |position: u64| {
            if code.is_some() && history.reason_code(position) != code {
                return None;
            }
            let event = events.event(position)?;
            let promoted = if self.promoted.contains_sorted(position) {
                events.event(position + 1).and_then(|e| e.learner)
            } else {
                None
            };
            Some(Withdrawal {
                position,
                cohort: event.cohort,
                learner: event.learner?,
                kind: if event.event_type == WithdrawalKind::Seat.event_type() {
                    WithdrawalKind::Seat
                } else {
                    WithdrawalKind::Waitlist
                },
                reason_code: history.reason_code(position),
                reason: history.reason(position).unwrap_or_default().to_owned(),
                reason_erased: history.reason_erased(position),
                actor: event.actor,
                occurred_at: event.occurred_at,
                promoted,
            })
        };
        Box::new(self.positions(filter, before, events).filter_map(whole))
    }

    /// How many seats were given up for each reason code among the withdrawals `filter`
    /// matches (its own code aside), in [`ReasonCode::ALL`] order. Unfiltered it is counted as
    /// events arrive; filtered, it costs a step per matching withdrawal.
    #[must_use]
    pub fn reason_counts(
        &self,
        filter: &WithdrawalFilter,
        events: &EventIndex,
        history: &History,
    ) -> [u64; 5] {
        let unfiltered = WithdrawalFilter {
            reason_code: None,
            ..filter.clone()
        };
        if unfiltered == WithdrawalFilter::default() {
            return self.by_code;
        }
        let mut counts = [0; 5];
        for position in self.positions(&unfiltered, None, events) {
            if let Some(code) = history.reason_code(position) {
                counts[code_index(code)] += 1;
            }
        }
        counts
    }

    /// The positions of the withdrawals matching `filter` but its code, newest first.
    fn positions<'a>(
        &'a self,
        filter: &WithdrawalFilter,
        before: Option<WithdrawalKey>,
        events: &'a EventIndex,
    ) -> Box<dyn Iterator<Item = u64> + 'a> {
        let lower = filter
            .from
            .map_or(Bound::Unbounded, |t| Bound::Included((t, 0)));
        let to = filter
            .to
            .map_or(Bound::Unbounded, |t| Bound::Included((t, u64::MAX)));
        let upper = match (to, before) {
            (Bound::Included(t), Some(b)) if t < b => Bound::Included(t),
            (_, Some(b)) => Bound::Excluded(b),
            (to, None) => to,
        };
        let index = |by: &'a HashMap<String, PositionList>, name: &Option<String>| {
            name.as_deref()
                .map(|n| by.get(&name_key(n)).unwrap_or(&NO_POSITIONS))
        };
        match (
            index(&self.by_instructor, &filter.instructor),
            index(&self.by_course, &filter.course),
        ) {
            (None, None) => Box::new(
                self.entries
                    .range(key_range(&self.entries, lower, upper, events))
                    .rev(),
            ),
            (Some(one), None) | (None, Some(one)) => {
                Box::new(one.range(key_range(one, lower, upper, events)).rev())
            }
            (Some(a), Some(b)) => {
                let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
                Box::new(
                    small
                        .range(key_range(small, lower, upper, events))
                        .rev()
                        .filter(move |p| {
                            let key = key_of(events, *p);
                            let at = large.partition_point(|q| key_of(events, q) < key);
                            large.get(at) == Some(*p)
                        }),
                )
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Seat changes per ISO week
// ---------------------------------------------------------------------------------------------

/// What happened to seats in one week.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WeekCounts {
    /// `student.enrolled` events.
    pub enrolled: u64,
    /// `student.withdrawn` events.
    pub withdrawn: u64,
    /// `waitlist.promoted` events.
    pub promoted: u64,
    /// `cohort.capacity_changed` events.
    pub capacity_changes: u64,
    /// Seats added by capacity changes.
    pub seats_added: u64,
    /// Seats removed by capacity changes.
    pub seats_removed: u64,
}

impl WeekCounts {
    fn add(&mut self, other: Self) {
        self.enrolled += other.enrolled;
        self.withdrawn += other.withdrawn;
        self.promoted += other.promoted;
        self.capacity_changes += other.capacity_changes;
        self.seats_added += other.seats_added;
        self.seats_removed += other.seats_removed;
    }

    /// What one event counts for (all zero for events that do not touch seats).
    fn of(event: &Event) -> Self {
        let mut counts = Self::default();
        match event {
            Event::StudentEnrolled { .. } => counts.enrolled = 1,
            Event::StudentWithdrawn { .. } => counts.withdrawn = 1,
            Event::WaitlistPromoted { .. } => counts.promoted = 1,
            Event::CapacityChanged { from, to } => {
                counts.capacity_changes = 1;
                counts.seats_added = u64::from(to.seats().saturating_sub(from.seats()));
                counts.seats_removed = u64::from(from.seats().saturating_sub(to.seats()));
            }
            Event::CohortCreated(_)
            | Event::StudentWaitlisted { .. }
            | Event::WaitlistLeft { .. }
            | Event::EnrollmentClosed => {}
        }
        counts
    }

    /// The largest of the four charted counts.
    #[must_use]
    pub fn peak(&self) -> u64 {
        self.enrolled
            .max(self.withdrawn)
            .max(self.promoted)
            .max(self.capacity_changes)
    }
}

/// The Monday (UTC) of the ISO week `at` falls in.
#[must_use]
pub fn week_of(at: Timestamp) -> Date {
    let date = TimeZone::UTC.to_datetime(at).date();
    date.iso_week_date()
        .first_of_week()
        .map_or(date, jiff::civil::ISOWeekDate::date)
}

/// Seat changes per ISO week (weeks keyed by their Monday, UTC), overall and per cohort. Only
/// weeks with a change are stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeatWeeks {
    overall: BTreeMap<Date, WeekCounts>,
    per_cohort: FastMap<CohortId, BTreeMap<Date, WeekCounts>>,
    last_week: LastWeek,
    position: u64,
}

/// The week the previous event fell in, as microsecond bounds: events come in time order, so
/// most fall in the same week and skip the calendar arithmetic. A cache, not state: it takes
/// no part in comparing two projections.
#[derive(Clone, Copy, Debug, Default)]
struct LastWeek(Option<(i64, i64, Date)>);

impl PartialEq for LastWeek {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for LastWeek {}

impl LastWeek {
    fn of(&mut self, at: Timestamp) -> Date {
        let micros = at.as_microsecond();
        if let Some((from, to, week)) = self.0 {
            if (from..to).contains(&micros) {
                return week;
            }
        }
        let week = week_of(at);
        let start = TimeZone::UTC
            .to_timestamp(week.to_datetime(jiff::civil::Time::midnight()))
            .ok()
            .map(Timestamp::as_microsecond);
        if let Some(start) = start {
            self.0 = Some((start, start + 7 * 86_400_000_000, week));
        }
        week
    }
}

static NO_WEEKS: BTreeMap<Date, WeekCounts> = BTreeMap::new();

impl SeatWeeks {
    fn apply(&mut self, envelope: &Envelope) {
        self.position = envelope.position;
        let counts = WeekCounts::of(&envelope.event);
        if counts == WeekCounts::default() {
            return;
        }
        let week = self.last_week.of(envelope.occurred_at);
        self.overall.entry(week).or_default().add(counts);
        self.per_cohort
            .entry(envelope.cohort)
            .or_default()
            .entry(week)
            .or_default()
            .add(counts);
    }

    /// Global position of the last event applied.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Every cohort together.
    #[must_use]
    pub fn overall(&self) -> &BTreeMap<Date, WeekCounts> {
        &self.overall
    }

    /// One cohort (empty when nothing changed its seats yet).
    #[must_use]
    pub fn of(&self, cohort: CohortId) -> &BTreeMap<Date, WeekCounts> {
        self.per_cohort.get(&cohort).unwrap_or(&NO_WEEKS)
    }
}

/// A run of consecutive weeks, with the weeks that had no change filled in with zeros.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeekPage {
    /// (Monday, counts), oldest first.
    pub weeks: Vec<(Date, WeekCounts)>,
    /// Pages in all (0 when no week had a change).
    pub pages: usize,
}

/// Page `page` (1 = the latest) of `per_page` consecutive weeks, from the first week with a
/// change to the last. Costs one lookup per week shown.
#[must_use]
pub fn week_page(weeks: &BTreeMap<Date, WeekCounts>, page: usize, per_page: usize) -> WeekPage {
    let (Some((&first, _)), Some((&last, _))) = (weeks.first_key_value(), weeks.last_key_value())
    else {
        return WeekPage::default();
    };
    let per_page = per_page.max(1);
    let days = first.until(last).map_or(0, |span| span.get_days());
    let count = usize::try_from(days / 7).unwrap_or(0) + 1;
    let pages = count.div_ceil(per_page);
    let skipped = page.max(1).saturating_sub(1).saturating_mul(per_page);
    let Some(end) = count.checked_sub(skipped + 1) else {
        return WeekPage {
            weeks: Vec::new(),
            pages,
        };
    };
    let start = end.saturating_sub(per_page - 1);
    let weeks = (start..=end)
        .filter_map(|i| {
            let monday = Span::new()
                .try_weeks(i64::try_from(i).ok()?)
                .ok()
                .and_then(|span| first.checked_add(span).ok())?;
            Some((monday, weeks.get(&monday).copied().unwrap_or_default()))
        })
        .collect();
    WeekPage { weeks, pages }
}

// ---------------------------------------------------------------------------------------------
// Dashboard signals
// ---------------------------------------------------------------------------------------------

/// Which date of a cohort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeadlineKind {
    /// No enrollment after it.
    Enrollment,
    /// No withdrawal after it.
    Withdrawal,
    /// The first session.
    Start,
}

impl DeadlineKind {
    /// In words.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Enrollment => "enrollment deadline",
            Self::Withdrawal => "withdrawal deadline",
            Self::Start => "starts",
        }
    }
}

/// The next date of `cohort` at or after `now`: its enrollment deadline (unless enrollment is
/// closed), withdrawal deadline, or start, whichever comes first.
#[must_use]
pub fn next_deadline(cohort: &Cohort, now: Timestamp) -> Option<(DeadlineKind, Timestamp)> {
    [
        (DeadlineKind::Enrollment, cohort.enrollment_deadline),
        (DeadlineKind::Withdrawal, cohort.withdrawal_deadline),
        (DeadlineKind::Start, cohort.starts_at),
    ]
    .into_iter()
    .filter(|(kind, at)| {
        *at >= now && !(*kind == DeadlineKind::Enrollment && cohort.status == CohortStatus::Closed)
    })
    .min_by_key(|(kind, at)| (*at, *kind))
}

/// Whether `cohort` is open with at least [`NEAR_FULL_PERCENT`] of its seats taken.
#[must_use]
pub fn is_near_full(cohort: &Cohort) -> bool {
    cohort.status == CohortStatus::Open
        && u64::from(cohort.enrolled_count()) * 100
            >= u64::from(cohort.capacity.seats()) * NEAR_FULL_PERCENT
}

/// Whether `cohort` is open with a free seat while learners wait: the rules promote at once, so
/// this should never hold.
#[must_use]
pub fn seat_free_while_waiting(cohort: &Cohort) -> bool {
    cohort.status == CohortStatus::Open
        && cohort.seats_remaining() > 0
        && !cohort.waitlist.is_empty()
}

/// A deadline in the index: when, whose, which.
pub type Deadline = (Timestamp, CohortId, DeadlineKind);

/// What the dashboard shows above the list, kept as small indexes so it costs per request only
/// what it shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// Near-full cohorts by enrollment deadline.
    near_full: BTreeSet<(Timestamp, CohortId)>,
    /// Open cohorts with a free seat and a waitlist.
    seat_free_while_waiting: BTreeSet<CohortId>,
    /// Every date of every cohort (a closed cohort's enrollment deadline is dropped).
    deadlines: BTreeSet<Deadline>,
    totals: Totals,
    position: u64,
}

fn keep<T: Ord>(set: &mut BTreeSet<T>, item: T, wanted: bool) {
    if wanted {
        set.insert(item);
    } else {
        set.remove(&item);
    }
}

impl Signals {
    fn apply(
        &mut self,
        envelope: &Envelope,
        view: Option<&CohortView>,
        before: Counters,
        after: Counters,
    ) {
        self.position = envelope.position;
        self.totals.shift(before, after);
        let Some(view) = view else {
            return;
        };
        let cohort = &view.state;
        if before.capacity == 0 {
            self.deadlines.extend([
                (
                    cohort.enrollment_deadline,
                    cohort.id,
                    DeadlineKind::Enrollment,
                ),
                (
                    cohort.withdrawal_deadline,
                    cohort.id,
                    DeadlineKind::Withdrawal,
                ),
                (cohort.starts_at, cohort.id, DeadlineKind::Start),
            ]);
        }
        if cohort.status == CohortStatus::Closed {
            self.deadlines.remove(&(
                cohort.enrollment_deadline,
                cohort.id,
                DeadlineKind::Enrollment,
            ));
        }
        // The sets change only when a predicate flips; the counters around the event tell
        // which did, without a lookup (a cohort enters the sets only once it exists).
        let near_full = |c: Counters| {
            c.capacity > 0
                && c.open
                && u64::from(c.enrolled) * 100 >= u64::from(c.capacity) * NEAR_FULL_PERCENT
        };
        let free_while_waiting =
            |c: Counters| c.capacity > 0 && c.open && c.capacity > c.enrolled && c.waitlist > 0;
        if near_full(before) != near_full(after) {
            keep(
                &mut self.near_full,
                (cohort.enrollment_deadline, cohort.id),
                is_near_full(cohort),
            );
        }
        if free_while_waiting(before) != free_while_waiting(after) {
            keep(
                &mut self.seat_free_while_waiting,
                cohort.id,
                seat_free_while_waiting(cohort),
            );
        }
    }

    /// Global position of the last event applied.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Sums over every cohort.
    #[must_use]
    pub const fn totals(&self) -> Totals {
        self.totals
    }

    /// Near-full cohorts still taking enrollments at `now`, soonest enrollment deadline first.
    pub fn near_full(&self, now: Timestamp) -> impl Iterator<Item = CohortId> + '_ {
        self.near_full
            .range((now, CohortId(Uuid::nil()))..)
            .map(|(_, id)| *id)
    }

    /// Open cohorts with a free seat while learners wait.
    pub fn seat_free_while_waiting(&self) -> impl Iterator<Item = CohortId> + '_ {
        self.seat_free_while_waiting.iter().copied()
    }

    /// Dates from `from` to `to` (both included), soonest first.
    pub fn deadlines_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Iterator<Item = Deadline> + '_ {
        let range = if from <= to {
            self.deadlines.range(
                (from, CohortId(Uuid::nil()), DeadlineKind::Enrollment)
                    ..=(to, CohortId(Uuid::max()), DeadlineKind::Start),
            )
        } else {
            self.deadlines.range(
                ..(
                    Timestamp::MIN,
                    CohortId(Uuid::nil()),
                    DeadlineKind::Enrollment,
                ),
            )
        };
        range.copied()
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::domain::{Capacity, CohortCreated};
    use crate::projections::Projections;
    use crate::store::{Actor, CommandMeta};

    const COHORT: CohortId = CohortId(Uuid::from_u128(1));

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn learner(n: u128) -> LearnerId {
        LearnerId(Uuid::from_u128(0x100 + n))
    }

    /// Folds events into fresh projections: each inner list is one command at `when`.
    struct Script {
        projections: Projections,
        position: u64,
        version: u64,
    }

    impl Script {
        fn new() -> Self {
            Self {
                projections: Projections::default(),
                position: 0,
                version: 0,
            }
        }

        fn command(&mut self, when: &str, events: Vec<Event>) {
            let command_id = Uuid::from_u128(u128::from(self.position) + 1_000);
            for event in events {
                self.position += 1;
                self.version += 1;
                self.projections.apply(&Envelope {
                    position: self.position,
                    cohort: COHORT,
                    version: self.version,
                    schema_version: 1,
                    event,
                    occurred_at: at(when),
                    recorded_at: at(when),
                    meta: CommandMeta {
                        actor: Actor::local(),
                        command_id,
                        correlation_id: command_id,
                        causation_id: command_id,
                    },
                });
            }
        }
    }

    fn created(capacity: u64) -> Event {
        Event::CohortCreated(CohortCreated {
            name: "P".to_owned(),
            course: "Rust-1".to_owned(),
            instructor: "Ada".to_owned(),
            capacity: Capacity::new(capacity).unwrap(),
            starts_at: at("2026-03-15T09:00:00Z"),
            enrollment_deadline: at("2026-03-10T00:00:00Z"),
            withdrawal_deadline: at("2026-03-20T00:00:00Z"),
        })
    }

    fn capacity(from: u64, to: u64) -> Event {
        Event::CapacityChanged {
            from: Capacity::new(from).unwrap(),
            to: Capacity::new(to).unwrap(),
        }
    }

    #[test]
    fn a_seat_free_while_learners_wait_is_signalled_and_cleared() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(1)]);
        s.command(
            "2026-03-02T10:00:00Z",
            vec![Event::StudentEnrolled {
                learner: learner(1),
            }],
        );
        s.command(
            "2026-03-02T11:00:00Z",
            vec![Event::StudentWaitlisted {
                learner: learner(2),
                position: 1,
            }],
        );
        let signals = &s.projections.reports.signals;
        assert_eq!(signals.seat_free_while_waiting().count(), 0);
        assert_eq!(
            signals
                .near_full(at("2026-03-02T12:00:00Z"))
                .collect::<Vec<_>>(),
            [COHORT]
        );
        // A capacity change stored without the promotion the rules would add.
        s.command("2026-03-03T09:00:00Z", vec![capacity(1, 2)]);
        let signals = &s.projections.reports.signals;
        assert_eq!(
            signals.seat_free_while_waiting().collect::<Vec<_>>(),
            [COHORT]
        );
        assert_eq!(signals.near_full(at("2026-03-03T12:00:00Z")).count(), 0);
        s.command(
            "2026-03-03T10:00:00Z",
            vec![Event::WaitlistPromoted {
                learner: learner(2),
            }],
        );
        let signals = &s.projections.reports.signals;
        assert_eq!(signals.seat_free_while_waiting().count(), 0);
        assert_eq!(
            signals.totals(),
            Totals {
                cohorts: 1,
                open: 1,
                seats: 2,
                enrolled: 2,
                waitlisted: 0
            }
        );
        // Past its enrollment deadline a near-full cohort is no longer a signal.
        assert_eq!(signals.near_full(at("2026-03-10T00:00:00Z")).count(), 1);
        assert_eq!(signals.near_full(at("2026-03-10T00:00:01Z")).count(), 0);
    }

    #[test]
    fn closing_drops_the_enrollment_deadline_and_the_near_full_signal() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(1)]);
        s.command(
            "2026-03-02T10:00:00Z",
            vec![Event::StudentEnrolled {
                learner: learner(1),
            }],
        );
        let now = at("2026-03-05T00:00:00Z");
        let week = now + SignedDuration::from_hours(24 * 7);
        let kinds = |s: &Script| {
            s.projections
                .reports
                .signals
                .deadlines_between(now, week)
                .map(|(_, _, k)| k)
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(&s), [DeadlineKind::Enrollment]);
        s.command("2026-03-04T00:00:00Z", vec![Event::EnrollmentClosed]);
        assert!(kinds(&s).is_empty());
        let signals = &s.projections.reports.signals;
        assert_eq!(signals.near_full(now).count(), 0);
        assert_eq!(signals.totals().open, 0);
        let cohort = &s.projections.catalog.get(COHORT).unwrap().state;
        assert_eq!(
            next_deadline(cohort, now),
            Some((DeadlineKind::Start, at("2026-03-15T09:00:00Z")))
        );
        assert_eq!(next_deadline(cohort, at("2026-03-21T00:00:00Z")), None);
        assert!(signals.deadlines_between(week, now).next().is_none());
    }

    #[test]
    fn a_promotion_is_credited_only_to_the_withdrawal_of_its_own_command() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(1)]);
        s.command(
            "2026-03-02T10:00:00Z",
            vec![Event::StudentEnrolled {
                learner: learner(1),
            }],
        );
        s.command(
            "2026-03-02T11:00:00Z",
            vec![Event::StudentWaitlisted {
                learner: learner(2),
                position: 1,
            }],
        );
        s.command(
            "2026-03-03T09:00:00Z",
            vec![
                Event::StudentWithdrawn {
                    learner: learner(1),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: "moved".into(),
                },
                Event::WaitlistPromoted {
                    learner: learner(2),
                },
            ],
        );
        s.command(
            "2026-03-04T09:00:00Z",
            vec![Event::StudentWithdrawn {
                learner: learner(2),
                reason_code: crate::domain::ReasonCode::Other,
                reason: crate::domain::Note::default(),
            }],
        );
        // A promotion of a later command (an explicit promote) is not the withdrawal's.
        s.command(
            "2026-03-04T09:00:00Z",
            vec![Event::WaitlistPromoted {
                learner: learner(3),
            }],
        );
        let all: Vec<_> = s
            .projections
            .withdrawals(&WithdrawalFilter::default(), None)
            .map(|w| (w.learner, w.promoted))
            .collect();
        assert_eq!(all, [(learner(2), None), (learner(1), Some(learner(2)))]);
    }

    #[test]
    fn withdrawals_recorded_while_the_clock_went_back_are_still_listed_by_time() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(3)]);
        for n in 1..=3 {
            s.command(
                "2026-03-02T10:00:00Z",
                vec![Event::StudentEnrolled {
                    learner: learner(n),
                }],
            );
        }
        // Learner 2 leaves last by position but first by time.
        for (n, when) in [(1, "2026-03-05"), (3, "2026-03-07"), (2, "2026-03-04")] {
            s.command(
                &format!("{when}T10:00:00Z"),
                vec![Event::StudentWithdrawn {
                    learner: learner(n),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                }],
            );
        }
        let w = &s.projections;
        for filter in [
            WithdrawalFilter::default(),
            WithdrawalFilter {
                course: Some("rust-1".to_owned()),
                instructor: Some("Ada".to_owned()),
                ..WithdrawalFilter::default()
            },
        ] {
            let listed: Vec<(LearnerId, WithdrawalKey)> = w
                .withdrawals(&filter, None)
                .map(|w| (w.learner, w.key()))
                .collect();
            assert_eq!(
                listed.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
                [learner(3), learner(1), learner(2)]
            );
            let after_first = w.withdrawals(&filter, Some(listed[0].1)).next().unwrap();
            assert_eq!(after_first.learner, learner(1));
        }
    }

    #[test]
    fn withdrawals_filter_by_time_course_instructor_and_resume_after_a_key() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(3)]);
        for (n, day) in [(1, "02"), (2, "03"), (3, "04")] {
            s.command(
                &format!("2026-03-{day}T10:00:00Z"),
                vec![Event::StudentEnrolled {
                    learner: learner(n),
                }],
            );
        }
        for (n, day) in [(1, "05"), (2, "06"), (3, "07")] {
            s.command(
                &format!("2026-03-{day}T10:00:00Z"),
                vec![Event::StudentWithdrawn {
                    learner: learner(n),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                }],
            );
        }
        let w = &s.projections;
        let learners = |filter: &WithdrawalFilter, before| {
            w.withdrawals(filter, before)
                .map(|w| w.learner)
                .collect::<Vec<_>>()
        };
        let all = WithdrawalFilter::default();
        assert_eq!(learners(&all, None), [learner(3), learner(2), learner(1)]);
        let window = WithdrawalFilter {
            from: Some(at("2026-03-06T00:00:00Z")),
            to: Some(at("2026-03-06T10:00:00Z")),
            ..WithdrawalFilter::default()
        };
        assert_eq!(learners(&window, None), [learner(2)]);
        let by_name = WithdrawalFilter {
            course: Some("RUST-1".to_owned()),
            instructor: Some(" ada ".to_owned()),
            ..WithdrawalFilter::default()
        };
        let newest = w.withdrawals(&by_name, None).next().unwrap().key();
        assert_eq!(learners(&by_name, Some(newest)), [learner(2), learner(1)]);
        let other = WithdrawalFilter {
            course: Some("Go-1".to_owned()),
            ..WithdrawalFilter::default()
        };
        assert!(learners(&other, None).is_empty());
        let inverted = WithdrawalFilter {
            from: Some(at("2026-03-07T00:00:00Z")),
            to: Some(at("2026-03-06T00:00:00Z")),
            ..WithdrawalFilter::default()
        };
        assert!(learners(&inverted, None).is_empty());
    }

    #[test]
    fn seat_changes_are_counted_per_iso_week_and_paged_with_empty_weeks_filled() {
        let mut s = Script::new();
        // 2025-12-29 is the Monday of 2026-W01; 2026-01-12 of W03.
        s.command("2025-12-31T09:00:00Z", vec![created(1)]);
        s.command(
            "2025-12-31T10:00:00Z",
            vec![Event::StudentEnrolled {
                learner: learner(1),
            }],
        );
        s.command("2026-01-13T10:00:00Z", vec![capacity(1, 4)]);
        s.command("2026-01-14T10:00:00Z", vec![capacity(4, 3)]);
        let weeks = s.projections.reports.seat_weeks.of(COHORT);
        assert_eq!(
            weeks.keys().map(ToString::to_string).collect::<Vec<_>>(),
            ["2025-12-29", "2026-01-12"]
        );
        let page = week_page(weeks, 1, 10);
        assert_eq!(page.pages, 1);
        assert_eq!(page.weeks.len(), 3);
        assert_eq!(page.weeks[1].1, WeekCounts::default());
        assert_eq!(
            page.weeks[2].1,
            WeekCounts {
                capacity_changes: 2,
                seats_added: 3,
                seats_removed: 1,
                ..WeekCounts::default()
            }
        );
        let latest = week_page(weeks, 1, 2);
        assert_eq!((latest.pages, latest.weeks.len()), (2, 2));
        let earliest = week_page(weeks, 2, 2);
        assert_eq!(earliest.weeks[0].1.enrolled, 1);
        assert!(week_page(weeks, 3, 2).weeks.is_empty());
        assert_eq!(week_page(&BTreeMap::new(), 1, 2), WeekPage::default());
        assert_eq!(
            s.projections.reports.seat_weeks.overall(),
            s.projections.reports.seat_weeks.of(COHORT)
        );
    }

    #[test]
    fn cohorts_are_grouped_by_instructor_and_paged_across_groups() {
        let mut p = Projections::default();
        let names = ["Bea", "ada", "Ada", "Cy"];
        for (i, instructor) in names.iter().enumerate() {
            let n = i as u64 + 1;
            let when = at("2026-03-01T00:00:00Z");
            p.apply(&Envelope {
                position: n,
                cohort: CohortId(Uuid::from_u128(u128::from(n))),
                version: 1,
                schema_version: 1,
                event: Event::CohortCreated(CohortCreated {
                    name: format!("c{n}"),
                    course: "C".to_owned(),
                    instructor: (*instructor).to_owned(),
                    capacity: Capacity::new(n).unwrap(),
                    starts_at: when + SignedDuration::from_hours(i64::try_from(n).unwrap()),
                    enrollment_deadline: when,
                    withdrawal_deadline: when,
                }),
                occurred_at: when,
                recorded_at: when,
                meta: CommandMeta {
                    actor: Actor::local(),
                    command_id: Uuid::nil(),
                    correlation_id: Uuid::nil(),
                    causation_id: Uuid::nil(),
                },
            });
        }
        let instructors = &p.reports.instructors;
        assert_eq!(instructors.len(), 3);
        let ada = instructors.get("ADA").unwrap();
        assert_eq!((ada.name.as_str(), ada.totals.seats), ("ada", 5));
        let ids = |rows: Vec<(&InstructorEntry, CohortId)>| {
            rows.into_iter()
                .map(|(e, id)| format!("{}:{}", e.name, id.0.as_u128()))
                .collect::<Vec<_>>()
        };
        let (rows, total) = instructors.page(None, 0, 10);
        assert_eq!(total, 4);
        assert_eq!(ids(rows), ["ada:3", "ada:2", "Bea:1", "Cy:4"]);
        let (rows, _) = instructors.page(None, 1, 2);
        assert_eq!(ids(rows), ["ada:2", "Bea:1"]);
        let (rows, total) = instructors.page(Some("cy"), 0, 10);
        assert_eq!((ids(rows), total), (vec!["Cy:4".to_owned()], 1));
        assert_eq!(instructors.page(Some("nobody"), 0, 10).1, 0);
        assert!(instructors.page(None, usize::MAX, 10).0.is_empty());
    }
}
