//! Lists of global positions at 4 bytes a position: what the history, timelines and withdrawal
//! indexes keep per cohort, learner or name instead of 8-byte positions.
//!
//! A list holds `u32`s while every position it was given fits one, and widens itself to `u64`
//! the first time one does not (past 4,294,967,295 events). So there is no limit, only a
//! cost: a store that large pays 8 bytes a position again, and only in the lists that reach
//! it. Whether a list is wide depends on nothing but its contents, so a list built live equals
//! the same list rebuilt.

use std::ops::Range;

/// Positions, in the order they were pushed or inserted (the owner keeps the order it needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionList(Repr);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Repr {
    /// Every position fits a `u32`.
    Narrow(Vec<u32>),
    /// Some position did not.
    Wide(Vec<u64>),
}

impl Default for PositionList {
    fn default() -> Self {
        Self::new()
    }
}

impl PositionList {
    /// An empty list.
    #[must_use]
    pub const fn new() -> Self {
        Self(Repr::Narrow(Vec::new()))
    }

    /// Appends `position`.
    pub fn push(&mut self, position: u64) {
        let len = self.len();
        self.insert(len, position);
    }

    /// Inserts `position` at index `at` (at most [`Self::len`]).
    pub fn insert(&mut self, at: usize, position: u64) {
        match (&mut self.0, u32::try_from(position)) {
            (Repr::Narrow(list), Ok(narrow)) => list.insert(at, narrow),
            (Repr::Narrow(list), Err(_)) => {
                let mut wide: Vec<u64> = list.iter().map(|p| u64::from(*p)).collect();
                wide.insert(at, position);
                self.0 = Repr::Wide(wide);
            }
            (Repr::Wide(list), _) => list.insert(at, position),
        }
    }

    /// How many positions the list holds.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Narrow(list) => list.len(),
            Repr::Wide(list) => list.len(),
        }
    }

    /// Whether the list holds no position.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The position at index `i`.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<u64> {
        match &self.0 {
            Repr::Narrow(list) => list.get(i).map(|p| u64::from(*p)),
            Repr::Wide(list) => list.get(i).copied(),
        }
    }

    /// The position pushed or inserted at the end; `None` when empty.
    #[must_use]
    pub fn last(&self) -> Option<u64> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// The index of the first position for which `pred` is false, the list being partitioned
    /// by it (all true, then all false), as [`slice::partition_point`].
    pub fn partition_point(&self, mut pred: impl FnMut(u64) -> bool) -> usize {
        match &self.0 {
            Repr::Narrow(list) => list.partition_point(|p| pred(u64::from(*p))),
            Repr::Wide(list) => list.partition_point(|p| pred(*p)),
        }
    }

    /// Whether `position` is in the list, which must be ascending.
    #[must_use]
    pub fn contains_sorted(&self, position: u64) -> bool {
        let i = self.partition_point(|p| p < position);
        self.get(i) == Some(position)
    }

    /// The positions at indexes `range` (clamped to the list), in order.
    #[must_use]
    pub fn range(&self, range: Range<usize>) -> PositionIter<'_> {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        match &self.0 {
            Repr::Narrow(list) => PositionIter::Narrow(list[start..end].iter()),
            Repr::Wide(list) => PositionIter::Wide(list[start..end].iter()),
        }
    }

    /// Every position, in order.
    #[must_use]
    pub fn iter(&self) -> PositionIter<'_> {
        self.range(0..self.len())
    }

    /// Gives back what the list grew past its length.
    pub fn shrink_to_fit(&mut self) {
        match &mut self.0 {
            Repr::Narrow(list) => list.shrink_to_fit(),
            Repr::Wide(list) => list.shrink_to_fit(),
        }
    }
}

/// The positions of a [`PositionList`], as `u64`.
#[derive(Clone, Debug)]
pub enum PositionIter<'a> {
    /// Of a narrow list.
    Narrow(std::slice::Iter<'a, u32>),
    /// Of a wide list.
    Wide(std::slice::Iter<'a, u64>),
}

impl Iterator for PositionIter<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        match self {
            Self::Narrow(it) => it.next().map(|p| u64::from(*p)),
            Self::Wide(it) => it.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len();
        (n, Some(n))
    }
}

impl DoubleEndedIterator for PositionIter<'_> {
    fn next_back(&mut self) -> Option<u64> {
        match self {
            Self::Narrow(it) => it.next_back().map(|p| u64::from(*p)),
            Self::Wide(it) => it.next_back().copied(),
        }
    }
}

impl ExactSizeIterator for PositionIter<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Narrow(it) => it.len(),
            Self::Wide(it) => it.len(),
        }
    }
}

impl<'a> IntoIterator for &'a PositionList {
    type Item = u64;
    type IntoIter = PositionIter<'a>;

    fn into_iter(self) -> PositionIter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_widens_at_the_first_position_past_u32_and_keeps_every_position() {
        let big = u64::from(u32::MAX) + 1;
        let mut list = PositionList::default();
        list.push(1);
        list.push(u64::from(u32::MAX));
        assert!(matches!(list.0, Repr::Narrow(_)));
        list.push(big + 5);
        assert!(matches!(list.0, Repr::Wide(_)), "widened");
        list.insert(2, big);
        assert_eq!(
            list.iter().collect::<Vec<_>>(),
            [1, u64::from(u32::MAX), big, big + 5]
        );
        assert_eq!(list.iter().next_back(), Some(big + 5));
        assert_eq!(list.partition_point(|p| p < big), 2);
        assert!(list.contains_sorted(big) && !list.contains_sorted(big + 1));
        assert_eq!(
            (list.get(2), list.last(), list.len()),
            (Some(big), Some(big + 5), 4)
        );
        assert_eq!(
            list.range(1..3).collect::<Vec<_>>(),
            [u64::from(u32::MAX), big]
        );
        assert_eq!(list.range(3..99).collect::<Vec<_>>(), [big + 5]);
    }

    #[test]
    fn the_same_positions_give_equal_lists_however_they_were_added() {
        let big = u64::from(u32::MAX) + 7;
        let mut pushed = PositionList::default();
        for p in [3, 9, big] {
            pushed.push(p);
        }
        let mut inserted = PositionList::default();
        inserted.push(big);
        inserted.insert(0, 9);
        inserted.insert(0, 3);
        assert_eq!(pushed, inserted);
        let mut narrow = PositionList::default();
        narrow.insert(0, 9);
        narrow.insert(0, 3);
        assert_ne!(narrow, pushed);
        assert!(PositionList::default().is_empty());
    }
}
