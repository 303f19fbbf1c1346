//! The search box's index: cohorts by name, course and instructor, learners by key and name,
//! ranked exact, prefix, word prefix, substring. Cohorts are folded from `cohort.created`;
//! learners are filed from the learner directory as it is loaded and updated.
//!
//! Its contents are canonical (sorted lists, maps), never dependent on the order of updates,
//! so a rename applied live equals the same learner indexed once on replay.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher as _;
use std::hash::Hash;
use std::ops::Bound;

use super::Projection;
use super::interner::Interner;
use crate::domain::{CohortId, Event, LearnerId};
use crate::store::{Envelope, LearnerRecord};

/// How well a text matches a query, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// The whole field is the query.
    Exact,
    /// The field starts with the query.
    Prefix,
    /// A word of the field starts with the query.
    WordPrefix,
    /// The query occurs inside the field.
    Substring,
}

impl Rank {
    /// In words, for the results page.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Prefix => "starts with",
            Self::WordPrefix => "word starts with",
            Self::Substring => "contains",
        }
    }
}

/// One search result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit<Id> {
    /// The cohort or learner found.
    pub id: Id,
    /// How well its best field matched.
    pub rank: Rank,
    /// Which field matched best (an index into [`COHORT_FIELDS`] or [`LEARNER_FIELDS`]).
    pub field: usize,
}

/// The fields of a cohort that search looks at.
pub const COHORT_FIELDS: [&str; 3] = ["name", "course", "instructor"];
/// The fields of a learner that search looks at.
pub const LEARNER_FIELDS: [&str; 2] = ["key", "name"];

/// What a search found, best first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchResults {
    /// Cohorts by name, course or instructor.
    pub cohorts: Vec<Hit<CohortId>>,
    /// Learners by key or name.
    pub learners: Vec<Hit<LearnerId>>,
    /// More cohorts matched than were returned.
    pub more_cohorts: bool,
    /// More learners matched than were returned.
    pub more_learners: bool,
}

/// Queries shorter than this (in characters) are not looked for inside words: too many hits
/// to be useful, and the one case that scans every text.
pub const MIN_SUBSTRING: usize = 3;

/// Lower case with runs of white space as one space: what texts and queries are compared as.
#[must_use]
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// How `text` matches `query` as the search box ranks them (both normalised here): for filters
/// that take a name ("chen" finds "Wei Chen" by a word's beginning).
#[must_use]
pub fn rank_text(text: &str, query: &str) -> Option<Rank> {
    let (text, query) = (normalise(text), normalise(query));
    if query.is_empty() {
        return None;
    }
    rank_field(&text, &query)
}

/// The at most `n` of `candidates` nearest to `query`, nearest first: by the fewest letters
/// to change to turn the query into the whole text or into one of its words (ignoring case),
/// and only those within half the query's length of it. For "did you mean" lists when a name
/// matches nothing.
#[must_use]
pub fn nearest<'a>(query: &str, candidates: impl IntoIterator<Item = &'a str>, n: usize) -> Vec<&'a str> {
    let query = normalise(query);
    let q: Vec<char> = query.chars().collect();
    let limit = (q.len() / 2).max(1);
    let mut scored: Vec<(usize, &'a str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let text = normalise(c);
            let whole = edit_distance(&q, &text.chars().collect::<Vec<_>>());
            let best = words(&text)
                .map(|w| edit_distance(&q, &w.chars().collect::<Vec<_>>()))
                .fold(whole, usize::min);
            (best <= limit).then_some((best, c))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

/// The Levenshtein distance between two texts, as characters.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The words of a normalised text: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Whether `raw` normalises to `normalised`, without allocating: the common case when a
/// learner enrolls again under the key and name they already have.
fn same_text(raw: &str, normalised: &str) -> bool {
    let mut expected = normalised.chars();
    for (i, word) in raw.split_whitespace().enumerate() {
        if i > 0 && expected.next() != Some(' ') {
            return false;
        }
        if !word
            .chars()
            .flat_map(char::to_lowercase)
            .all(|c| expected.next() == Some(c))
        {
            return false;
        }
    }
    expected.next().is_none()
}

/// The first occurrence of `needle` in `hay` at or after byte `from`. Fields are short, so a
/// scan for the first byte beats a general searcher's set-up; UTF-8 never matches a valid
/// needle in the middle of a character, so every match is at a character boundary.
fn find(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = needle.split_first() else {
        return Some(from);
    };
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut i = from;
    while i <= last_start {
        let at = i + hay[i..=last_start].iter().position(|b| *b == first)?;
        if hay[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// How `field` matches `query` (both normalised). Most fields do not contain the query at all,
/// so one substring search rejects them before anything else is looked at.
fn rank_field(field: &str, query: &str) -> Option<Rank> {
    let mut at = find(field, query, 0)?;
    if at == 0 {
        return Some(if field.len() == query.len() {
            Rank::Exact
        } else {
            Rank::Prefix
        });
    }
    // Every occurrence, overlapping ones included: is one at the start of a word?
    loop {
        if field[..at]
            .chars()
            .next_back()
            .is_some_and(|c| !c.is_alphanumeric())
        {
            return Some(Rank::WordPrefix);
        }
        match find(field, query, at + 1) {
            Some(next) => at = next,
            None => return Some(Rank::Substring),
        }
    }
}

/// One kind of searchable thing: each one's normalised fields, and an index from every word
/// to who has it. Ids are coded in the order they were filed and word lists are sorted by code;
/// two corpora filing the same ids under the same texts compare equal whatever that order was
/// (learners are filed in id order on replay, in commit order live).
#[derive(Clone, Debug)]
struct Corpus<Id: Hash + Eq, const N: usize> {
    ids: Interner<Id>,
    /// Normalised fields, by code, joined by [`FIELD_END`] (one allocation per code).
    texts: Vec<Box<str>>,
    /// A hash of the raw fields each code was last filed under: the same fields again (a
    /// learner enrolling once more) cost one hash, not a normalisation.
    raw: Vec<u64>,
    words: BTreeMap<Box<str>, Vec<u32>>,
}

/// Two corpora are equal when they file the same ids under the same texts, whatever the order
/// they were filed in (a replay files learners in id order, live updates in commit order).
impl<Id: Hash + Eq + Clone, const N: usize> PartialEq for Corpus<Id, N> {
    fn eq(&self, other: &Self) -> bool {
        self.texts.len() == other.texts.len()
            && self.ids.values.iter().zip(&self.texts).all(|(id, texts)| {
                other
                    .ids
                    .code(id)
                    .is_some_and(|code| other.texts[code as usize] == *texts)
            })
    }
}

impl<Id: Hash + Eq + Clone, const N: usize> Eq for Corpus<Id, N> {}

/// What separates a code's normalised fields in its text: white space, which a normalised
/// field never holds but as a single space.
const FIELD_END: char = '\n';

/// A code's normalised fields, in order.
fn fields_of(text: &str) -> std::str::Split<'_, char> {
    text.split(FIELD_END)
}

/// The hash of raw fields (fixed seed: two indexes built apart must agree).
fn raw_hash<const N: usize>(fields: &[&str; N]) -> u64 {
    foldhash::fast::FixedState::with_seed(0).hash_one(fields)
}

impl<Id: Hash + Eq, const N: usize> Default for Corpus<Id, N> {
    fn default() -> Self {
        Self {
            ids: Interner::default(),
            texts: Vec::new(),
            raw: Vec::new(),
            words: BTreeMap::new(),
        }
    }
}

impl<Id: Hash + Eq + Copy, const N: usize> Corpus<Id, N> {
    /// Files `id` under `fields` (raw), replacing what it was filed under before.
    fn set(&mut self, id: Id, fields: [&str; N]) {
        let (code, new) = self.ids.intern(&id);
        let hash = raw_hash(&fields);
        if !new {
            if self.raw[code as usize] == hash {
                return;
            }
            self.raw[code as usize] = hash;
            let old = &self.texts[code as usize];
            if fields_of(old)
                .zip(fields)
                .all(|(old, raw)| same_text(raw, old))
            {
                return;
            }
        }
        let fields: Box<str> = fields.map(normalise).join(&FIELD_END.to_string()).into();
        if new {
            self.texts.push(fields);
            self.raw.push(hash);
        } else {
            let old = std::mem::replace(&mut self.texts[code as usize], fields);
            for word in Self::word_set(&old) {
                if let Some(codes) = self.words.get_mut(word) {
                    if let Ok(i) = codes.binary_search(&code) {
                        codes.remove(i);
                    }
                    if codes.is_empty() {
                        self.words.remove(word);
                    }
                }
            }
        }
        for word in Self::word_set(&self.texts[code as usize]) {
            let codes = self.words.entry(word.into()).or_default();
            if let Err(i) = codes.binary_search(&code) {
                codes.insert(i, code);
            }
        }
    }

    fn word_set(text: &str) -> BTreeSet<&str> {
        // The field separator is not a letter or digit: it ends a word like any other.
        words(text).collect()
    }

    /// How well the fields match: the best rank, and the field it was in.
    fn rank(text: &str, query: &str) -> Option<(Rank, usize)> {
        fields_of(text)
            .enumerate()
            .filter_map(|(field, text)| rank_field(text, query).map(|rank| (rank, field)))
            .min()
    }

    /// The best `limit` matches of a normalised query, and whether there were more.
    ///
    /// Every exact, prefix and word-prefix match has a word starting with the query's first
    /// word, so those come from a range of the word index; matches inside words need a scan
    /// of the texts, done only when the better matches do not fill the page, and stopped as
    /// soon as it does.
    fn search(&self, query: &str, limit: usize) -> (Vec<Hit<Id>>, bool) {
        let mut seen = vec![false; self.texts.len()];
        // (rank, field, the field's text, code): the order results are shown in.
        let mut hits: Vec<(Rank, usize, &str, u32)> = Vec::new();
        let consider = |code: u32, hits: &mut Vec<_>| {
            let text = &self.texts[code as usize];
            if let Some((rank, field)) = Self::rank(text, query) {
                let shown = fields_of(text).nth(field).unwrap_or_default();
                hits.push((rank, field, shown, code));
            }
        };
        if let Some(first) = words(query).next() {
            let range = self
                .words
                .range::<str, _>((Bound::Included(first), Bound::Unbounded))
                .take_while(|(word, _)| word.starts_with(first));
            for (_, codes) in range {
                for &code in codes {
                    if !std::mem::replace(&mut seen[code as usize], true) {
                        consider(code, &mut hits);
                    }
                }
            }
        }
        if hits.len() <= limit && query.chars().count() >= MIN_SUBSTRING {
            for code in 0..u32::try_from(self.texts.len()).unwrap_or(u32::MAX) {
                if hits.len() > limit {
                    break;
                }
                if !seen[code as usize] {
                    consider(code, &mut hits);
                }
            }
        }
        // Only the first `limit + 1` need sorting (one more tells whether there were more).
        if hits.len() > limit + 1 {
            hits.select_nth_unstable(limit);
            hits.truncate(limit + 1);
        }
        hits.sort_unstable();
        let more = hits.len() > limit;
        hits.truncate(limit);
        let hits = hits
            .into_iter()
            .filter_map(|(rank, field, _, code)| {
                Some(Hit {
                    id: *self.ids.get(code)?,
                    rank,
                    field,
                })
            })
            .collect();
        (hits, more)
    }
}

/// The search box's index: cohorts by name, course and instructor; learners by key and name.
/// Each one's normalised texts (in one allocation), a code, and 4 bytes per word it has, plus
/// each distinct word once: about 300 bytes per learner or cohort when the texts were kept
/// field by field (measured: 35 MB for 100,000 learners and 10,000 cohorts); one or two
/// allocations fewer now (replay RSS at 1M events fell by 3.8 MB with 60,000 of them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchIndex {
    cohorts: Corpus<CohortId, 3>,
    learners: Corpus<LearnerId, 2>,
    position: u64,
}

impl Projection for SearchIndex {
    const NAME: &'static str = "search";
    type Reads<'a> = ();

    /// Indexes a new cohort.
    fn apply(&mut self, envelope: &Envelope, (): ()) {
        if envelope.position <= self.position {
            return;
        }
        self.position = envelope.position;
        match &envelope.event {
            Event::CohortCreated(data) => self.cohorts.set(
                envelope.cohort,
                [&data.name, &data.course, &data.instructor],
            ),
            // Found by what it is called now.
            Event::CohortDetailsChanged {
                name,
                course,
                instructor,
            } => self.cohorts.set(envelope.cohort, [name, course, instructor]),
            _ => {}
        }
    }

    fn position(&self) -> u64 {
        self.position
    }
}

impl SearchIndex {
    /// Files a learner as the directory has them (called for every directory entry loaded or
    /// upserted, so a rename replaces what they were found by).
    pub fn file_learner(&mut self, id: LearnerId, record: &LearnerRecord) {
        self.learners.set(id, [&record.key, &record.name]);
    }

    /// Cohorts and learners matching `query`, at most `limit` of each, best first: exact
    /// before prefix before word prefix before substring, then by field (name first), then
    /// alphabetically. An empty query finds nothing.
    #[must_use]
    pub fn search(&self, query: &str, limit: usize) -> SearchResults {
        let query = normalise(query);
        if query.is_empty() || limit == 0 {
            return SearchResults::default();
        }
        let (cohorts, more_cohorts) = self.cohorts.search(&query, limit);
        let (learners, more_learners) = self.learners.search(&query, limit);
        SearchResults {
            cohorts,
            learners,
            more_cohorts,
            more_learners,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_found_whatever_punctuation_surrounds_them() {
        assert_eq!(
            rank_field("ana.lopez@example.org", "lopez"),
            Some(Rank::WordPrefix)
        );
        assert_eq!(
            rank_field("ana.lopez@example.org", "@example"),
            Some(Rank::Substring)
        );
        assert_eq!(
            rank_field("ana.lopez@example.org", "pez"),
            Some(Rank::Substring)
        );
        assert_eq!(
            rank_field("ana.lopez@example.org", "ana."),
            Some(Rank::Prefix)
        );
        assert_eq!(rank_field("a  -b", "-b"), Some(Rank::WordPrefix));
        assert_eq!(rank_field("abc", "abcd"), None);
        assert_eq!(rank_field("abc", "abc"), Some(Rank::Exact));
        assert_eq!(rank_field("aab-ab", "ab"), Some(Rank::WordPrefix));
        assert_eq!(rank_field("ñandú ñu", "ñu"), Some(Rank::WordPrefix));
        assert_eq!(rank_field("ñandú", "dú"), Some(Rank::Substring));
        assert!(same_text("  Ana   LÓPEZ ", "ana lópez"));
        assert!(!same_text("Ana Lopez", "ana lópez"));
        assert!(!same_text("Ana", "ana lópez"));
        assert!(!same_text("Ana Lopez x", "ana lopez"));
        assert!(same_text("", ""));
    }

    #[test]
    fn names_are_matched_by_a_word_and_the_nearest_are_offered() {
        assert_eq!(rank_text("Wei Chen", "chen"), Some(Rank::WordPrefix));
        assert_eq!(rank_text("Wei Chen", "WEI  chen"), Some(Rank::Exact));
        assert_eq!(rank_text("Wei Chen", "lopez"), None);
        let names = ["Wei Chen", "Ana Lopez", "Cheng Li", "Bo Zhang"];
        assert_eq!(nearest("chem", names, 3), vec!["Wei Chen", "Cheng Li"]);
        assert_eq!(nearest("lopes", names, 3), vec!["Ana Lopez"]);
        assert!(nearest("xxxxxxxx", names, 3).is_empty());
    }
}
