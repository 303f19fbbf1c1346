//! Withdrawals from a seat (`student.withdrawn`), a waitlist (`waitlist.left`) or to another
//! cohort (`student.transferred_out`), ordered by
//! time and indexed by instructor and by course, with the learner a freed seat went to: the
//! withdrawals report and its reason counts, read without scanning the event log.

use std::collections::HashMap;
use std::ops::Bound;

use jiff::Timestamp;
use uuid::Uuid;

use super::catalog::{Catalog, CohortView, name_key};
use super::event_index::EventIndex;
use super::history::History;
use super::positions::PositionList;
use super::{Applied, Projection};
use crate::domain::{CohortId, Event, LearnerId, ReasonCode};
use crate::store::Envelope;

/// What was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WithdrawalKind {
    /// `student.withdrawn`: a seat.
    Seat,
    /// `waitlist.left`: a place in the waitlist.
    Waitlist,
    /// `student.transferred_out`: a seat, offer or waitlist place left for another cohort.
    Transfer,
}

impl WithdrawalKind {
    /// The event's stable name.
    #[must_use]
    pub const fn event_type(self) -> &'static str {
        match self {
            Self::Seat => "student.withdrawn",
            Self::Waitlist => "waitlist.left",
            Self::Transfer => "student.transferred_out",
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

impl Projection for Withdrawals {
    const NAME: &'static str = "withdrawals";
    /// The catalog, for the cohort's instructor and course; the event index, for the times of
    /// the withdrawals already listed (to keep the lists in time order).
    type Reads<'a> = (Applied<'a, Catalog>, Applied<'a, EventIndex>);

    fn apply(
        &mut self,
        envelope: &Envelope,
        (catalog, events): (Applied<'_, Catalog>, Applied<'_, EventIndex>),
    ) {
        let events = &*events;
        self.position = envelope.position;
        let awaiting = self.awaiting_promotion.take();
        match &envelope.event {
            Event::StudentWithdrawn { reason_code, .. } => {
                self.by_code[code_index(*reason_code)] += 1;
                self.record(
                    envelope,
                    catalog.get(envelope.cohort),
                    WithdrawalKind::Seat,
                    events,
                );
            }
            Event::WaitlistLeft { .. } => {
                self.record(
                    envelope,
                    catalog.get(envelope.cohort),
                    WithdrawalKind::Waitlist,
                    events,
                );
            }
            Event::StudentTransferredOut { .. } => {
                self.record(
                    envelope,
                    catalog.get(envelope.cohort),
                    WithdrawalKind::Transfer,
                    events,
                );
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
            | Event::EnrollmentClosed
            | Event::EnrollmentReopened { .. }
            | Event::CohortRescheduled { .. }
            | Event::CohortDetailsChanged { .. }
            | Event::CohortCancelled { .. }
            | Event::StudentReleased { .. }
            | Event::PolicyChanged { .. }
            | Event::WaitlistOffered { .. }
            | Event::OfferAccepted { .. }
            | Event::OfferDeclined { .. }
            | Event::OfferExpired { .. }
            | Event::StudentTransferredIn { .. } => {}
        }
    }

    fn shrink(&mut self) {
        self.entries.shrink_to_fit();
        self.promoted.shrink_to_fit();
        self.by_instructor
            .values_mut()
            .chain(self.by_course.values_mut())
            .for_each(PositionList::shrink_to_fit);
    }

    fn position(&self) -> u64 {
        self.position
    }
}

impl Withdrawals {
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
        if matches!(kind, WithdrawalKind::Seat | WithdrawalKind::Transfer) {
            self.awaiting_promotion = Some((envelope.position, envelope.meta.command_id));
        }
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
                } else if event.event_type == WithdrawalKind::Transfer.event_type() {
                    WithdrawalKind::Transfer
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
