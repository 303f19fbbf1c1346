//! What changed in a cohort between two points of its history (the diff page): who got a
//! seat, was promoted, lost a seat, joined, left or moved in the waitlist. Computed from two
//! views of the cohort on request; it keeps nothing.

use std::collections::{BTreeSet, HashMap};

use super::catalog::CohortView;
use crate::domain::{CohortStatus, LearnerId};

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
                    .map(|(i, e)| (e.learner, place(i)))
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
            let place = place(i);
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
                    .map(|(i, e)| (e.learner, place(i)))
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

/// The waitlist place (from 1) of index `i`, saturating.
fn place(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}
