//! Seat changes per ISO week (enrollments, withdrawals, promotions, capacity changes), overall
//! and per cohort, and the paging of consecutive weeks the seat-change reports and chart show.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use super::{FastMap, Projection};
use crate::domain::{CohortId, Event};
use crate::store::Envelope;

/// What happened to seats in one week.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WeekCounts {
    /// `student.enrolled` events, and `student.transferred_in` that took a seat.
    pub enrolled: u64,
    /// `student.withdrawn` events.
    pub withdrawn: u64,
    /// `waitlist.promoted` and `offer.accepted` events: a waitlisted learner took a seat.
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
            Event::StudentEnrolled { .. }
            | Event::StudentTransferredIn {
                waitlisted_at: None,
                ..
            } => counts.enrolled = 1,
            Event::StudentWithdrawn { .. } => counts.withdrawn = 1,
            Event::WaitlistPromoted { .. } | Event::OfferAccepted { .. } => counts.promoted = 1,
            Event::CapacityChanged { from, to } => {
                counts.capacity_changes = 1;
                counts.seats_added = u64::from(to.seats().saturating_sub(from.seats()));
                counts.seats_removed = u64::from(from.seats().saturating_sub(to.seats()));
            }
            Event::CohortCreated(_)
            | Event::StudentWaitlisted { .. }
            | Event::WaitlistLeft { .. }
            | Event::EnrollmentClosed
            // Seats given up by a transfer or a cancellation are not withdrawals: the event
            // alone does not say whether a seat or a waitlist place was left.
            | Event::EnrollmentReopened { .. }
            | Event::CohortRescheduled { .. }
            | Event::CohortDetailsChanged { .. }
            | Event::CohortCancelled { .. }
            | Event::StudentReleased { .. }
            | Event::PolicyChanged { .. }
            | Event::WaitlistOffered { .. }
            | Event::OfferDeclined { .. }
            | Event::OfferExpired { .. }
            | Event::StudentTransferredOut { .. }
            | Event::StudentTransferredIn { .. } => {}
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

impl Projection for SeatWeeks {
    const NAME: &'static str = "seat changes";
    type Reads<'a> = ();

    fn apply(&mut self, envelope: &Envelope, (): ()) {
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

    fn position(&self) -> u64 {
        self.position
    }
}

impl SeatWeeks {
    /// The weeks with a seat change in any cohort, summed over every cohort.
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
