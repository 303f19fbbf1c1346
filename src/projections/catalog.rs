//! The cohort catalog: every cohort's summary, roster and waitlist, with filters, phases and
//! sorted listings, the names, courses and instructors in use (for suggestions and duplicate
//! warnings), and the counters around the last event it applied (what the history and the
//! report models read).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use jiff::Timestamp;

use super::counters::{Change, Counters};
use super::{FastMap, Projection};
use crate::domain::{Cohort, CohortId, CohortStatus, Event, Phase};
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
    /// Cohort ids by their name's [`fold_key`], in the order the names were given: the
    /// new-cohort form warns of a duplicate without a scan.
    names: BTreeMap<String, Vec<CohortId>>,
    /// Course names by their [`fold_key`] (the first spelling seen), sorted.
    courses: BTreeMap<String, String>,
    /// The same course names as one shared list, remade only when a course is added.
    course_list: std::sync::Arc<[String]>,
}

/// The key cohort and course names are compared under for duplicates: trimmed, runs of white
/// space as one space, lower case.
#[must_use]
pub fn fold_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A column a listing is sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Creation order (the default: newest first).
    #[default]
    Created,
    /// The cohort's name, ignoring case.
    Name,
    /// The first session.
    Starts,
    /// Seats taken, as a share of the seats.
    Fill,
    /// Learners waiting.
    Waitlist,
    /// The enrollment deadline.
    Deadline,
}

impl SortKey {
    /// The columns a person can pick, as the `sort` parameter names them.
    pub const PICKABLE: [Self; 5] = [
        Self::Name,
        Self::Starts,
        Self::Fill,
        Self::Waitlist,
        Self::Deadline,
    ];

    /// The `sort` parameter's value (`""` for creation order).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "",
            Self::Name => "name",
            Self::Starts => "starts",
            Self::Fill => "fill",
            Self::Waitlist => "waitlist",
            Self::Deadline => "deadline",
        }
    }

    /// The direction a first click sorts in: the fullest and longest waitlists first, the
    /// rest from the smallest (A, the soonest).
    #[must_use]
    pub const fn descending_first(self) -> bool {
        matches!(self, Self::Created | Self::Fill | Self::Waitlist)
    }

    fn compare(self, a: &Cohort, b: &Cohort) -> Ordering {
        match self {
            Self::Created => Ordering::Equal,
            // The catalog lists by name from its index of names; this is the same order.
            Self::Name => fold_key(&a.name).cmp(&fold_key(&b.name)),
            Self::Starts => a.starts_at.cmp(&b.starts_at),
            Self::Fill => (u64::from(a.enrolled_count()) * u64::from(b.capacity.seats().max(1)))
                .cmp(&(u64::from(b.enrolled_count()) * u64::from(a.capacity.seats().max(1)))),
            Self::Waitlist => a.waitlist.len().cmp(&b.waitlist.len()),
            Self::Deadline => a.enrollment_deadline.cmp(&b.enrollment_deadline),
        }
    }
}

impl std::str::FromStr for SortKey {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim() {
            "" => Ok(Self::Created),
            raw => Self::PICKABLE
                .into_iter()
                .find(|k| k.as_str() == raw)
                .ok_or_else(|| {
                    format!(
                        "sort: must be one of name, starts, fill, waitlist, deadline; got {raw:?}"
                    )
                }),
        }
    }
}

/// The order of a listing: a column and a direction. Cohorts equal in the column stay newest
/// first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogSort {
    /// The column.
    pub key: SortKey,
    /// Largest (latest, Z) first.
    pub descending: bool,
}

impl Default for CatalogSort {
    fn default() -> Self {
        Self {
            key: SortKey::Created,
            descending: true,
        }
    }
}

/// What a sorted listing shows: a [`CatalogFilter`], and the phase cohorts must be in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogQuery {
    /// Instructor (and stored status, usually `None`).
    pub filter: CatalogFilter,
    /// The phase at the listing's instant; `None` for every phase.
    pub phase: Option<Phase>,
    /// The order.
    pub sort: CatalogSort,
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
            let before_name = if matches!(envelope.event, Event::CohortDetailsChanged { .. }) {
                view.state.name.clone()
            } else {
                String::new()
            };
            view.apply(envelope);
            self.change = Change {
                before,
                after: Counters::of(Some(&view.state)),
            };
            // A renamed instructor joins the list (the old name stays: other cohorts, and
            // this one's past, may carry it).
            if let Event::CohortDetailsChanged {
                instructor,
                course,
                ..
            } = &envelope.event
            {
                if let std::collections::btree_map::Entry::Vacant(entry) =
                    self.instructors.entry(instructor.to_lowercase())
                {
                    entry.insert(instructor.clone());
                    self.instructor_list = self.instructors.values().cloned().collect();
                }
                let (old, new) = (fold_key(&before_name), fold_key(&view.state.name));
                if old != new {
                    let id = envelope.cohort;
                    if let Some(ids) = self.names.get_mut(&old) {
                        ids.retain(|i| *i != id);
                        if ids.is_empty() {
                            self.names.remove(&old);
                        }
                    }
                    self.names.entry(new).or_default().push(id);
                }
                self.file_course(course);
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
            let course = view.state.course.clone();
            self.file_course(&course);
            self.names
                .entry(fold_key(&view.state.name))
                .or_default()
                .push(envelope.cohort);
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

    /// The cohorts whose name is `name` under [`fold_key`] (ignoring case and spacing),
    /// oldest first.
    pub fn named(&self, name: &str) -> impl Iterator<Item = &CohortView> + '_ {
        self.names
            .get(&fold_key(name))
            .into_iter()
            .flatten()
            .filter_map(|id| self.cohorts.get(id))
    }

    /// How an instructor already on file spells `name` when it differs from `name` only in
    /// case (`Ada Lovelace` for `ada lovelace`); `None` when nobody matches or the spelling is
    /// the same.
    #[must_use]
    pub fn instructor_spelling(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        self.instructors
            .get(&name.to_lowercase())
            .map(String::as_str)
            .filter(|known| *known != name)
    }

    /// Every course with at least one cohort, sorted (shared, not copied).
    #[must_use]
    pub fn courses(&self) -> std::sync::Arc<[String]> {
        self.course_list.clone()
    }

    fn file_course(&mut self, course: &str) {
        if let std::collections::btree_map::Entry::Vacant(entry) =
            self.courses.entry(fold_key(course))
        {
            entry.insert(course.to_owned());
            self.course_list = self.courses.values().cloned().collect();
        }
    }

    /// A page of the cohorts matching `query` at `now` in name order, from the index of names
    /// (no sort): a pass over the index, which stops once the page is full when nothing is
    /// filtered. Equal names stay newest first.
    fn by_name(
        &self,
        query: &CatalogQuery,
        descending: bool,
        now: Timestamp,
        offset: usize,
        limit: usize,
    ) -> (Vec<&CohortView>, usize) {
        let groups: Box<dyn Iterator<Item = &Vec<CohortId>>> = if descending {
            Box::new(self.names.values().rev())
        } else {
            Box::new(self.names.values())
        };
        let matching = groups
            .flat_map(|ids| ids.iter().rev())
            .filter_map(|id| self.cohorts.get(id))
            .filter(|v| {
                query.filter.matches(v)
                    && query.phase.is_none_or(|p| Phase::of(&v.state, now) == p)
            });
        let unfiltered = query.filter == CatalogFilter::default() && query.phase.is_none();
        if unfiltered {
            return (matching.skip(offset).take(limit).collect(), self.order.len());
        }
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

    /// A page of the cohorts matching `query` at `now`, in its order, and how many match in
    /// all. Creation order unfiltered is a slice; anything else is one pass over the cohorts
    /// (not the events) and, for a column order, a partial selection of the first
    /// `offset + limit` before sorting only those.
    #[must_use]
    pub fn query(
        &self,
        query: &CatalogQuery,
        now: Timestamp,
        offset: usize,
        limit: usize,
    ) -> (Vec<&CohortView>, usize) {
        let phase_ok =
            |v: &CohortView| query.phase.is_none_or(|p| Phase::of(&v.state, now) == p);
        let sort = query.sort;
        if sort == CatalogSort::default() && query.phase.is_none() {
            return self.list(&query.filter, offset, limit);
        }
        if sort.key == SortKey::Name {
            return self.by_name(query, sort.descending, now, offset, limit);
        }
        let mut matching: Vec<(usize, &CohortView)> = self
            .order
            .iter()
            .enumerate()
            .filter_map(|(i, id)| Some((i, self.cohorts.get(id)?)))
            .filter(|(_, v)| query.filter.matches(v) && phase_ok(v))
            .collect();
        let total = matching.len();
        let compare = |a: &(usize, &CohortView), b: &(usize, &CohortView)| {
            let by_key = sort.key.compare(&a.1.state, &b.1.state);
            let by_key = if sort.descending {
                by_key.reverse()
            } else {
                by_key
            };
            let newest_first = b.0.cmp(&a.0);
            let created = if sort.key == SortKey::Created && !sort.descending {
                newest_first.reverse()
            } else {
                newest_first
            };
            by_key.then(created)
        };
        let end = offset.saturating_add(limit).min(total);
        if end == 0 {
            return (Vec::new(), total);
        }
        if end < total {
            matching.select_nth_unstable_by(end - 1, compare);
            matching.truncate(end);
        }
        matching.sort_unstable_by(compare);
        let page = matching
            .into_iter()
            .skip(offset)
            .map(|(_, v)| v)
            .collect();
        (page, total)
    }
}

