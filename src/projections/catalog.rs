//! The cohort catalog: every cohort's summary, roster and waitlist, with filters, and the
//! counters around the last event it applied (what the history and the report models read).

use jiff::Timestamp;

use super::counters::{Change, Counters};
use super::{FastMap, Projection};
use crate::domain::{Cohort, CohortId, CohortStatus, Event};
use crate::store::Envelope;

/// One cohort as the read side sees it: the aggregate's state, its version and position.
/// When each learner got where they are is read from their timeline
/// ([`super::Projections::since`]), not kept per cohort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CohortView {
    /// The folded state (roster, waitlist, schedule, status).
    pub state: Cohort,
    /// The cohort's stream version after the last event applied (its count of events).
    pub version: u64,
    /// Global position of the last event applied.
    pub position: u64,
    /// When the cohort was created.
    pub created_at: Timestamp,
}

impl CohortView {
    /// Starts a view from its `cohort.created` envelope; `None` for any other event.
    #[must_use]
    pub fn start(envelope: &Envelope) -> Option<Self> {
        let Event::CohortCreated(data) = &envelope.event else {
            return None;
        };
        Some(Self {
            state: Cohort::created(envelope.cohort, data),
            version: envelope.version,
            position: envelope.position,
            created_at: envelope.occurred_at,
        })
    }

    /// Folds one later event of the same stream.
    pub fn apply(&mut self, envelope: &Envelope) {
        self.state.apply(&envelope.event);
        self.version = envelope.version;
        self.position = envelope.position;
    }

    /// Folds a stream (first event `cohort.created`) into a view: time travel uses this.
    #[must_use]
    pub fn fold<'a>(envelopes: impl IntoIterator<Item = &'a Envelope>) -> Option<Self> {
        let mut view: Option<Self> = None;
        for envelope in envelopes {
            match &mut view {
                None => view = Self::start(envelope),
                Some(v) => v.apply(envelope),
            }
        }
        view
    }
}

/// Which cohorts a listing shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogFilter {
    /// Instructor name, matched case-insensitively; `None` for all.
    pub instructor: Option<String>,
    /// Open or closed; `None` for both.
    pub status: Option<CohortStatus>,
}

impl CatalogFilter {
    fn matches(&self, view: &CohortView) -> bool {
        self.status.is_none_or(|s| s == view.state.status)
            && self
                .instructor
                .as_ref()
                .is_none_or(|i| view.state.instructor.eq_ignore_ascii_case(i.trim()))
    }
}

/// Every cohort, in creation order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    cohorts: FastMap<CohortId, CohortView>,
    order: Vec<CohortId>,
    position: u64,
    /// Instructor names by their lower-case form (the first spelling seen), sorted.
    instructors: std::collections::BTreeMap<String, String>,
    /// The same names as one shared list, remade only when an instructor is added: every
    /// dashboard view lists them.
    instructor_list: std::sync::Arc<[String]>,
    /// The counters of the cohort of the last envelope applied, around it.
    change: Change,
}

/// The key names are filed under: instructors and courses match ignoring ASCII case, as the
/// catalog's filter does.
pub(super) fn name_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

impl Projection for Catalog {
    const NAME: &'static str = "catalog";
    type Reads<'a> = ();

    fn apply(&mut self, envelope: &Envelope, (): ()) {
        self.position = envelope.position;
        if let Some(view) = self.cohorts.get_mut(&envelope.cohort) {
            let before = Counters::of(Some(&view.state));
            view.apply(envelope);
            self.change = Change {
                before,
                after: Counters::of(Some(&view.state)),
            };
            // A renamed instructor joins the list (the old name stays: other cohorts, and
            // this one's past, may carry it).
            if let Event::CohortDetailsChanged { instructor, .. } = &envelope.event {
                if let std::collections::btree_map::Entry::Vacant(entry) =
                    self.instructors.entry(instructor.to_lowercase())
                {
                    entry.insert(instructor.clone());
                    self.instructor_list = self.instructors.values().cloned().collect();
                }
            }
        } else if let Some(view) = CohortView::start(envelope) {
            self.change = Change {
                before: Counters::default(),
                after: Counters::of(Some(&view.state)),
            };
            self.order.push(envelope.cohort);
            let name = &view.state.instructor;
            if let std::collections::btree_map::Entry::Vacant(entry) =
                self.instructors.entry(name.to_lowercase())
            {
                entry.insert(name.clone());
                self.instructor_list = self.instructors.values().cloned().collect();
            }
            self.cohorts.insert(envelope.cohort, view);
        } else {
            self.change = Change::default();
        }
    }

    fn position(&self) -> u64 {
        self.position
    }

    /// One line per cohort that differs, with both versions' counters.
    fn differences(&self, rebuilt: &Self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for id in self.ids().chain(rebuilt.ids()) {
            let (a, b) = (self.get(id), rebuilt.get(id));
            if a != b && !out.iter().any(|d| d.contains(&id.to_string())) {
                let describe = |v: Option<&CohortView>| {
                    v.map_or_else(
                        || "absent".to_owned(),
                        |v| {
                            format!(
                                "v{} {} enrolled, {} waiting, capacity {}, {}",
                                v.version,
                                v.state.enrolled.len(),
                                v.state.waitlist.len(),
                                v.state.capacity,
                                v.state.status.as_str()
                            )
                        },
                    )
                };
                out.push(format!(
                    "catalog: cohort {id}: live {} / rebuilt {}",
                    describe(a),
                    describe(b)
                ));
            }
        }
        if out.is_empty() && self != rebuilt {
            out.push("catalog: live differs from rebuilt".to_owned());
        }
        out
    }
}

impl Catalog {
    /// The counters of the cohort of the last envelope applied, before and after it.
    #[must_use]
    pub const fn change(&self) -> Change {
        self.change
    }

    /// Every cohort id, in creation order.
    pub fn ids(&self) -> impl Iterator<Item = CohortId> + '_ {
        self.order.iter().copied()
    }

    /// The view of cohort `id`; `None` when no `cohort.created` was applied for it.
    #[must_use]
    pub fn get(&self, id: CohortId) -> Option<&CohortView> {
        self.cohorts.get(&id)
    }

    /// How many cohorts were created (none is ever removed).
    #[must_use]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no cohort was created yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// A page of the cohorts matching `filter`, newest first, and how many match in all.
    #[must_use]
    pub fn list(
        &self,
        filter: &CatalogFilter,
        offset: usize,
        limit: usize,
    ) -> (Vec<&CohortView>, usize) {
        if filter.instructor.is_none() && filter.status.is_none() {
            // Unfiltered: a slice of the creation order, no scan.
            let page = self
                .order
                .iter()
                .rev()
                .skip(offset)
                .take(limit)
                .filter_map(|id| self.cohorts.get(id))
                .collect();
            return (page, self.order.len());
        }
        let matching = self
            .order
            .iter()
            .rev()
            .filter_map(|id| self.cohorts.get(id))
            .filter(|v| filter.matches(v));
        let mut total = 0;
        let mut page = Vec::with_capacity(limit.min(256));
        for view in matching {
            if total >= offset && page.len() < limit {
                page.push(view);
            }
            total += 1;
        }
        (page, total)
    }

    /// Every instructor with at least one cohort, sorted (shared, not copied).
    #[must_use]
    pub fn instructors(&self) -> std::sync::Arc<[String]> {
        self.instructor_list.clone()
    }
}
