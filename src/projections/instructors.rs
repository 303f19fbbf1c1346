//! Cohorts grouped by instructor (in name order, ignoring ASCII case), each with the sums over
//! their cohorts: the instructors report, paged without scanning the catalog.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::catalog::{Catalog, name_key};
use super::counters::{Counters, Totals};
use super::{Applied, FastMap, Projection};
use crate::domain::{CohortId, Event};
use crate::store::Envelope;

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

impl Projection for Instructors {
    const NAME: &'static str = "instructors";
    /// The catalog, for a new cohort's instructor and the counters around the event.
    type Reads<'a> = Applied<'a, Catalog>;

    fn apply(&mut self, envelope: &Envelope, catalog: Applied<'_, Catalog>) {
        self.position = envelope.position;
        let index = if let Some(index) = self.of_cohort.get(&envelope.cohort) {
            *index
        } else {
            let Some(view) = catalog.get(envelope.cohort) else {
                return;
            };
            self.file(&view.state)
        };
        let change = catalog.change();
        let moved = matches!(
            envelope.event,
            Event::CohortDetailsChanged { .. } | Event::CohortRescheduled { .. }
        );
        match catalog.get(envelope.cohort) {
            Some(view) if moved => {
                // The cohort leaves its instructor's list and joins its (new) instructor's at
                // its (new) first session, with its counters.
                let entry = &mut self.entries[index];
                entry.cohorts.retain(|(_, id)| *id != envelope.cohort);
                entry.totals.shift(change.before, Counters::default());
                self.of_cohort.remove(&envelope.cohort);
                let index = self.file(&view.state);
                self.entries[index]
                    .totals
                    .shift(Counters::default(), change.after);
            }
            _ => self.entries[index]
                .totals
                .shift(change.before, change.after),
        }
    }

    fn position(&self) -> u64 {
        self.position
    }
}

impl Instructors {
    /// Files `cohort` under its instructor at its first session; returns the instructor's
    /// index.
    fn file(&mut self, cohort: &crate::domain::Cohort) -> usize {
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
    }

    /// How many distinct instructors (names ignoring ASCII case) have a cohort.
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
