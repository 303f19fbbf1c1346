//! Cohort history: for every event of each cohort, its position and the counters it left
//! behind, plus what the event index does not hold (withdrawal reasons, and which event freed a
//! promoted learner's seat). The rest of a line (type, time, actor, learner) is read from the
//! event index when a page shows it, so the history does not keep every event decoded.
//!
//! About 5 bytes per event: a 4-byte position, and the counters only where they do not follow
//! from the step before by the event's type alone (creation, capacity changes) plus every
//! [`CHECKPOINT`]-th step, so a line's counters are folded from at most that many steps.

use std::ops::Range;

use uuid::Uuid;

use super::catalog::Catalog;
use super::counters::Counters;
use super::detail::EventDetail;
use super::event_index::EventIndex;
use super::interner::Interner;
use super::positions::PositionList;
use super::{Applied, FastMap, Projection};
use crate::domain::{CohortId, Event, LearnerId, Note, ReasonCode};
use crate::store::Envelope;

/// The counters of every `CHECKPOINT`-th step of a cohort are kept whole: reading a line's
/// counters folds at most this many steps, 16 bytes kept per this many events.
const CHECKPOINT: usize = 16;

/// One cohort's steps: the positions of its events, and enough counters to tell the counters
/// after each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Steps {
    /// Global positions, ascending (step `i` is stream version `i + 1`).
    positions: PositionList,
    /// The counters after steps 0, [`CHECKPOINT`], 2 × [`CHECKPOINT`], ...
    checkpoints: Vec<Counters>,
    /// The counters after every other step whose counters do not follow from the step before
    /// by its type ([`Counters::follow`]), by step index, ascending.
    exceptions: Vec<(usize, Counters)>,
    /// The last step, as far as the next one needs it.
    last: Option<Last>,
}

impl Steps {
    /// The counters kept for step `i`, if any.
    fn kept(&self, i: usize) -> Option<Counters> {
        if i % CHECKPOINT == 0 {
            return self.checkpoints.get(i / CHECKPOINT).copied();
        }
        self.exceptions
            .binary_search_by_key(&i, |(step, _)| *step)
            .ok()
            .map(|at| self.exceptions[at].1)
    }

    /// The counters after step `i`, given those after step `i - 1`.
    fn next(&self, i: usize, before: Counters, index: &EventIndex) -> Counters {
        self.kept(i).unwrap_or_else(|| {
            self.positions
                .get(i)
                .and_then(|p| index.kind(p))
                .and_then(|kind| before.follow(kind))
                .unwrap_or(before)
        })
    }

    /// The counters after step `i`: folded from the nearest kept counters at or before it.
    fn after(&self, i: usize, index: &EventIndex) -> Counters {
        let mut from = (i / CHECKPOINT) * CHECKPOINT;
        let mut counters = self
            .checkpoints
            .get(i / CHECKPOINT)
            .copied()
            .unwrap_or_default();
        let e = self.exceptions.partition_point(|(step, _)| *step <= i);
        if let Some(&(step, kept)) = e.checked_sub(1).map(|e| &self.exceptions[e]) {
            if step > from {
                (from, counters) = (step, kept);
            }
        }
        for step in from + 1..=i {
            counters = self.next(step, counters, index);
        }
        counters
    }

    /// The counters before step `i` (all zero before the first).
    fn before(&self, i: usize, index: &EventIndex) -> Counters {
        i.checked_sub(1)
            .map_or_else(Counters::default, |j| self.after(j, index))
    }
}

/// One line of a cohort's history, as a page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The event's global position in the log.
    pub position: u64,
    /// The event's version in its cohort's stream (1 for `cohort.created`).
    pub version: u64,
    /// The event's stable type name, e.g. `student.enrolled`.
    pub event_type: &'static str,
    /// When the writer decided it (the command's time).
    pub occurred_at: jiff::Timestamp,
    /// The account name recorded on the event.
    pub actor: String,
    /// The learner it concerns.
    pub learner: Option<LearnerId>,
    /// Free text (withdrawal reasons); `None` once erased.
    pub reason: Option<String>,
    /// True when the event's reason was erased with the learner's personal data.
    pub reason_erased: bool,
    /// A withdrawal's reason code.
    pub reason_code: Option<ReasonCode>,
    /// Counters before the event.
    pub before: Counters,
    /// Counters after the event.
    pub after: Counters,
    /// For a promotion or offer: what freed the seat — the withdrawal, capacity change,
    /// declined or expired offer, transfer or reopening of the same command, as (position,
    /// event type); `None` for a manual promotion.
    pub freed_by: Option<(u64, &'static str)>,
    /// What the event index does not hold of the events of issue 15 (dates, names, policy,
    /// an offer's expiry, a transfer's other cohort, how many a cancellation released).
    pub detail: Option<EventDetail>,
}

/// The last event of a cohort, as far as the next one's counters and provenance need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Last {
    command: Uuid,
    /// The seat-freeing event a promotion right after this one (same command) owes its seat
    /// to: this event if it freed seats, else whatever freed the seat this one took.
    frees: Option<u64>,
    /// The counters after it.
    after: Counters,
}

/// Per-cohort history, in stream order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    steps: FastMap<CohortId, Steps>,
    /// Positions of withdrawals and of leaving the waitlist, ascending; `reason_ids[i]` is
    /// the reason text given at `reason_positions[i]` ([`ERASED`] once erased), and
    /// `reason_kinds[i]` its reason code
    /// ([`ReasonCode::to_u8`]; 0 for leaving the waitlist, which has none).
    reason_positions: PositionList,
    reason_ids: Vec<u32>,
    reason_kinds: Vec<u8>,
    /// Each distinct reason text once (staff pick from a few reasons far more often than they
    /// write new ones), by the id `reason_ids` holds.
    reason_texts: Interner<Box<str>>,
    /// Positions of automatic promotions, ascending; `freed_by[i]` is the seat-freeing event
    /// of `promotions[i]`.
    promotions: PositionList,
    freed_by: PositionList,
    /// The data history lines show of the events that carry more than counters and a
    /// learner, by position.
    details: FastMap<u64, EventDetail>,
    position: u64,
}

/// The id `reason_ids` holds for an erased reason (no text is kept for it).
const ERASED: u32 = u32::MAX;

static NO_STEPS: Steps = Steps {
    positions: PositionList::new(),
    checkpoints: Vec::new(),
    exceptions: Vec::new(),
    last: None,
};

impl Projection for History {
    const NAME: &'static str = "history";
    /// The catalog, for the cohort's counters after the event.
    type Reads<'a> = Applied<'a, Catalog>;

    fn apply(&mut self, envelope: &Envelope, catalog: Applied<'_, Catalog>) {
        let after = catalog.change().after;
        self.position = envelope.position;
        let position = envelope.position;
        let command = envelope.meta.command_id;
        let steps = self.steps.entry(envelope.cohort).or_default();
        let previous = steps.last;
        let frees = match &envelope.event {
            Event::StudentWithdrawn {
                reason,
                reason_code,
                ..
            } => {
                let id = Self::intern_reason(&mut self.reason_texts, reason);
                self.reason_positions.push(position);
                self.reason_ids.push(id);
                self.reason_kinds.push(reason_code.to_u8());
                Some(position)
            }
            Event::WaitlistLeft { reason, .. } | Event::CohortCancelled { reason } => {
                let id = Self::intern_reason(&mut self.reason_texts, reason);
                self.reason_positions.push(position);
                self.reason_ids.push(id);
                self.reason_kinds.push(0);
                None
            }
            // Seat-freeing events that carry a reason.
            Event::OfferDeclined { reason, .. }
            | Event::StudentTransferredOut { reason, .. }
            | Event::EnrollmentReopened { reason } => {
                let id = Self::intern_reason(&mut self.reason_texts, reason);
                self.reason_positions.push(position);
                self.reason_ids.push(id);
                self.reason_kinds.push(0);
                Some(position)
            }
            Event::CapacityChanged { .. } | Event::OfferExpired { .. } => Some(position),
            // A promotion is caused by the seat-freeing event just before it in the same
            // command (or, for the second of several promotions, by the same event as the
            // one before it).
            Event::WaitlistPromoted { .. } | Event::WaitlistOffered { .. } => {
                let cause = previous
                    .filter(|p| p.command == command)
                    .and_then(|p| p.frees);
                if let Some(cause) = cause {
                    self.promotions.push(position);
                    self.freed_by.push(cause);
                }
                cause
            }
            _ => None,
        };
        if let Some(detail) = detail_of(envelope, &catalog, previous.map(|p| p.after)) {
            self.details.insert(position, detail);
        }
        let i = steps.positions.len();
        steps.positions.push(position);
        if i % CHECKPOINT == 0 {
            steps.checkpoints.push(after);
        } else {
            let before = previous.map_or_else(Counters::default, |p| p.after);
            if before.follow(envelope.event.type_index()) != Some(after) {
                steps.exceptions.push((i, after));
            }
        }
        steps.last = Some(Last {
            command,
            frees,
            after,
        });
    }

    /// Gives back what the lists grew past their length (after a replay: the doubling growth
    /// leaves a fifth of them unused on average).
    fn shrink(&mut self) {
        for steps in self.steps.values_mut() {
            steps.positions.shrink_to_fit();
            steps.checkpoints.shrink_to_fit();
            steps.exceptions.shrink_to_fit();
        }
        self.reason_positions.shrink_to_fit();
        self.reason_ids.shrink_to_fit();
        self.reason_kinds.shrink_to_fit();
        self.promotions.shrink_to_fit();
        self.freed_by.shrink_to_fit();
        self.details.shrink_to_fit();
    }

    fn position(&self) -> u64 {
        self.position
    }

    /// One line per cohort whose history differs, with both lengths.
    fn differences(&self, rebuilt: &Self) -> Vec<String> {
        let mut ids: Vec<CohortId> = self
            .steps
            .keys()
            .chain(rebuilt.steps.keys())
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out: Vec<String> = ids
            .into_iter()
            .filter(|id| self.of(*id) != rebuilt.of(*id))
            .map(|id| {
                format!(
                    "history: cohort {id}: live {} entries / rebuilt {}",
                    self.of(id).len(),
                    rebuilt.of(id).len()
                )
            })
            .collect();
        if out.is_empty() && self != rebuilt {
            out.push("history: live differs from rebuilt".to_owned());
        }
        out
    }
}

impl History {
    fn intern_reason(texts: &mut Interner<Box<str>>, reason: &Note) -> u32 {
        let Some(reason) = reason.text() else {
            return ERASED;
        };
        texts
            .code(reason)
            .unwrap_or_else(|| texts.intern(&reason.into()).0)
    }

    fn reason_id(&self, position: u64) -> Option<u32> {
        let i = self.reason_positions.partition_point(|p| p < position);
        (self.reason_positions.get(i) == Some(position))
            .then(|| self.reason_ids.get(i).copied())
            .flatten()
    }

    /// The reason given with the withdrawal or waitlist departure at `position`, unless it
    /// was erased ([`Self::reason_erased`]).
    #[must_use]
    pub fn reason(&self, position: u64) -> Option<&str> {
        self.reason_id(position)
            .filter(|id| *id != ERASED)
            .and_then(|id| self.reason_texts.get(id))
            .map(AsRef::as_ref)
    }

    /// True when the reason of the withdrawal or waitlist departure at `position` was erased.
    #[must_use]
    pub fn reason_erased(&self, position: u64) -> bool {
        self.reason_id(position) == Some(ERASED)
    }

    /// The reason code of the withdrawal at `position` (`None` for anything else, leaving the
    /// waitlist included).
    #[must_use]
    pub fn reason_code(&self, position: u64) -> Option<ReasonCode> {
        let i = self.reason_positions.partition_point(|p| p < position);
        (self.reason_positions.get(i) == Some(position))
            .then(|| self.reason_kinds.get(i))
            .flatten()
            .and_then(|kind| ReasonCode::from_u8(*kind))
    }

    /// The seat-freeing event of the automatic promotion at `position`.
    fn freed_by(&self, position: u64) -> Option<u64> {
        let i = self.promotions.partition_point(|p| p < position);
        (self.promotions.get(i) == Some(position))
            .then(|| self.freed_by.get(i))
            .flatten()
    }

    fn steps(&self, cohort: CohortId) -> &Steps {
        self.steps.get(&cohort).unwrap_or(&NO_STEPS)
    }

    /// The positions of a cohort's events, oldest first (index `i` is stream version `i + 1`).
    #[must_use]
    pub fn of(&self, cohort: CohortId) -> &PositionList {
        &self.steps(cohort).positions
    }

    /// The whole lines of a cohort's steps in `range` (indexes into [`Self::of`]), oldest
    /// first, with what the event index knows of each.
    #[must_use]
    pub fn entries(
        &self,
        cohort: CohortId,
        range: Range<usize>,
        index: &EventIndex,
    ) -> Vec<HistoryEntry> {
        let steps = self.steps(cohort);
        let len = steps.positions.len();
        let range = range.start.min(len)..range.end.min(len);
        let mut before = steps.before(range.start, index);
        let mut out = Vec::with_capacity(range.len());
        for i in range {
            let after = steps.next(i, before, index);
            out.extend(self.entry(steps, i, before, after, index));
            before = after;
        }
        out
    }

    /// The whole line of the step at `position` of `cohort`.
    #[must_use]
    pub fn entry_at(
        &self,
        cohort: CohortId,
        position: u64,
        index: &EventIndex,
    ) -> Option<HistoryEntry> {
        let steps = self.steps(cohort);
        let i = steps.positions.partition_point(|p| p < position);
        if steps.positions.get(i) != Some(position) {
            return None;
        }
        let before = steps.before(i, index);
        let after = steps.next(i, before, index);
        self.entry(steps, i, before, after, index)
    }

    fn entry(
        &self,
        steps: &Steps,
        i: usize,
        before: Counters,
        after: Counters,
        index: &EventIndex,
    ) -> Option<HistoryEntry> {
        let position = steps.positions.get(i)?;
        let event = index.event(position)?;
        Some(HistoryEntry {
            position,
            version: i as u64 + 1,
            event_type: event.event_type,
            occurred_at: event.occurred_at,
            actor: event.actor,
            learner: event.learner,
            reason: self.reason(position).map(str::to_owned),
            reason_erased: self.reason_erased(position),
            reason_code: self.reason_code(position),
            before,
            after,
            freed_by: self.freed_by(position).and_then(|cause| {
                index
                    .event(cause)
                    .map(|freeing| (cause, freeing.event_type))
            }),
            detail: self.details.get(&position).cloned(),
        })
    }
}

/// What a history line shows of `envelope`'s data beyond counters and learner; `before` is the
/// cohort's counters before it.
fn detail_of(
    envelope: &Envelope,
    catalog: &Catalog,
    before: Option<Counters>,
) -> Option<EventDetail> {
    let name_of = |id: CohortId| {
        catalog
            .get(id)
            .map_or_else(|| id.to_string(), |v| v.state.name.clone())
    };
    Some(match &envelope.event {
        Event::CohortRescheduled {
            starts_at,
            enrollment_deadline,
            withdrawal_deadline,
            ends_at,
        } => EventDetail::Rescheduled {
            starts_at: *starts_at,
            enrollment_deadline: *enrollment_deadline,
            withdrawal_deadline: *withdrawal_deadline,
            ends_at: *ends_at,
        },
        Event::CohortDetailsChanged {
            name,
            course,
            instructor,
        } => EventDetail::DetailsChanged {
            name: name.clone(),
            course: course.clone(),
            instructor: instructor.clone(),
        },
        Event::CohortCancelled { .. } => EventDetail::Cancelled {
            released: before.map_or(0, |b| {
                b.enrolled
                    .saturating_add(b.offers)
                    .saturating_add(b.waitlist)
            }),
        },
        Event::PolicyChanged {
            promotion,
            waitlist_cap,
        } => EventDetail::Policy {
            promotion: *promotion,
            waitlist_cap: *waitlist_cap,
        },
        Event::WaitlistOffered { expires_at, .. } => EventDetail::Offered {
            expires_at: *expires_at,
        },
        Event::StudentTransferredOut { to, .. } => EventDetail::TransferredOut {
            to: *to,
            to_name: name_of(*to),
        },
        Event::StudentTransferredIn {
            from,
            waitlisted_at,
            ..
        } => EventDetail::TransferredIn {
            from: *from,
            from_name: name_of(*from),
            waitlisted_at: *waitlisted_at,
        },
        _ => return None,
    })
}
