//! Interners: values mapped to dense `u32` codes, so the read models keep a cohort, learner,
//! actor or reason once and refer to it by 4 bytes.

use std::hash::Hash;

use super::FastMap;

/// Values mapped to dense codes in first-seen order (so live and replayed indexes agree).
#[derive(Clone, Debug)]
pub(super) struct Interner<T: Hash + Eq> {
    /// The values, by code.
    pub(super) values: Vec<T>,
    codes: FastMap<T, u32>,
    /// The code the last `intern` returned: consecutive events mostly share their cohort and
    /// actor, and then cost one comparison.
    recent: Option<u32>,
}

impl<T: Hash + Eq> Default for Interner<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            codes: FastMap::default(),
            recent: None,
        }
    }
}

impl<T: Hash + Eq> PartialEq for Interner<T> {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl<T: Hash + Eq> Eq for Interner<T> {}

impl<T: Hash + Eq + Clone> Interner<T> {
    /// The code of `value`, assigning the next one if new; and whether it was new.
    pub(super) fn intern(&mut self, value: &T) -> (u32, bool) {
        if let Some(code) = self.recent {
            if self.values[code as usize] == *value {
                return (code, false);
            }
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "codes are u32: fewer distinct values than events, whose positions fit"
        )]
        let next = self.values.len() as u32;
        let code = *self.codes.entry(value.clone()).or_insert(next);
        self.recent = Some(code);
        if code == next {
            self.values.push(value.clone());
        }
        (code, code == next)
    }

    pub(super) fn code<Q: Hash + Eq + ?Sized>(&self, value: &Q) -> Option<u32>
    where
        T: std::borrow::Borrow<Q>,
    {
        self.codes.get(value).copied()
    }

    pub(super) fn get(&self, code: u32) -> Option<&T> {
        self.values.get(code as usize)
    }
}
