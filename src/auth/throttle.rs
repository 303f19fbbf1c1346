//! Login throttling: after repeated failures, further attempts are refused (429) for a delay
//! that doubles with each failure, up to a cap. Counted per (name, address) — the main brake —,
//! per address (one client guessing across many names) and per name with a high limit (so that
//! locking a real user out takes many visible failures from many addresses, logged as a
//! warning). An attempt is counted *before* its password is checked, so a burst cannot pass
//! the throttle before its failures are counted.
//!
//! The tables are bounded: names are cut to [`MAX_NAME_BYTES`] before they are stored and each
//! table keeps at most [`MAX_ENTRIES`] entries, the oldest evicted first.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};

/// Failures allowed for one name from one address before delays start.
const FREE_FAILURES_PER_PAIR: u32 = 5;
/// Failures allowed from one address (across names) before delays start.
const FREE_FAILURES_PER_ADDRESS: u32 = 10;
/// Failures allowed for one name (across addresses) before delays start for everyone: high, so
/// that a lockout of a real user needs a large, visible number of failures.
const FREE_FAILURES_PER_NAME: u32 = 100;
/// The longest delay.
const MAX_DELAY: SignedDuration = SignedDuration::from_mins(15);
/// Entries quiet for this long are forgotten.
const FORGET_AFTER: SignedDuration = SignedDuration::from_hours(1);
/// Names are cut to this many bytes before they are stored (account names are at most 64).
pub const MAX_NAME_BYTES: usize = 64;
/// The most entries one table keeps.
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Timestamp,
}

impl Failures {
    /// When the next attempt is allowed, if it is not now.
    fn locked_until(self, free: u32) -> Option<Timestamp> {
        let over = self.count.checked_sub(free)?;
        let delay = SignedDuration::from_secs(1i64 << over.min(20)).min(MAX_DELAY);
        Some(self.last + delay)
    }
}

/// Failure counts with a bounded number of entries.
#[derive(Debug)]
struct Table<K> {
    entries: HashMap<K, Failures>,
    free: u32,
}

impl<K: Eq + Hash + Clone> Table<K> {
    fn new(free: u32) -> Self {
        Self {
            entries: HashMap::new(),
            free,
        }
    }

    fn locked_until(&self, key: &K) -> Option<Timestamp> {
        self.entries
            .get(key)
            .and_then(|f| f.locked_until(self.free))
    }

    /// Counts a failure; returns the new count.
    fn bump(&mut self, key: &K, now: Timestamp) -> u32 {
        if !self.entries.contains_key(key) {
            self.make_room(now);
        }
        let f = self.entries.entry(key.clone()).or_insert(Failures {
            count: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
        f.count
    }

    /// Takes one failure back (an attempt that was counted but never checked).
    fn undo(&mut self, key: &K) {
        if let Some(f) = self.entries.get_mut(key) {
            f.count = f.count.saturating_sub(1);
            if f.count == 0 {
                self.entries.remove(key);
            }
        }
    }

    fn make_room(&mut self, now: Timestamp) {
        if self.entries.len() < MAX_ENTRIES {
            return;
        }
        self.entries
            .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        if self.entries.len() < MAX_ENTRIES {
            return;
        }
        // A linear scan, only when the table is full of recent entries: rare, and bounded.
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, f)| f.last)
            .map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            self.entries.remove(&oldest);
        }
    }
}

/// The key a name is counted under: at most [`MAX_NAME_BYTES`] bytes of it.
fn name_key(name: &str) -> String {
    let mut end = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// Failure counts by (name, address), by address and by name.
#[derive(Debug)]
pub struct Throttle {
    pairs: Table<(String, IpAddr)>,
    addresses: Table<IpAddr>,
    names: Table<String>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            pairs: Table::new(FREE_FAILURES_PER_PAIR),
            addresses: Table::new(FREE_FAILURES_PER_ADDRESS),
            names: Table::new(FREE_FAILURES_PER_NAME),
        }
    }
}

impl Throttle {
    /// How long the caller must wait before trying `name` from `address` again, if at all.
    pub fn wait(&self, name: &str, address: IpAddr, now: Timestamp) -> Option<SignedDuration> {
        let name = name_key(name);
        let until = [
            self.pairs.locked_until(&(name.clone(), address)),
            self.addresses.locked_until(&address),
            self.names.locked_until(&name),
        ]
        .into_iter()
        .flatten()
        .max()?;
        (until > now).then(|| until.duration_since(now))
    }

    /// Counts an attempt as failed, before its password is checked: [`Throttle::succeeded`]
    /// or [`Throttle::undo`] take it back.
    pub fn failed(&mut self, name: &str, address: IpAddr, now: Timestamp) {
        let name = name_key(name);
        self.pairs.bump(&(name.clone(), address), now);
        self.addresses.bump(&address, now);
        let for_name = self.names.bump(&name, now);
        if for_name >= FREE_FAILURES_PER_NAME && for_name % FREE_FAILURES_PER_NAME == 0 {
            let addresses = self
                .pairs
                .entries
                .keys()
                .filter(|(n, _)| *n == name)
                .count();
            tracing::warn!(
                name = %name,
                failures = for_name,
                addresses,
                last_address = %address,
                "many failed logins for one account name: it is throttled from every address"
            );
        }
    }

    /// Takes back an attempt counted by [`Throttle::failed`] whose password was never checked
    /// (the server was too busy to check it).
    pub fn undo(&mut self, name: &str, address: IpAddr) {
        let name = name_key(name);
        self.pairs.undo(&(name.clone(), address));
        self.addresses.undo(&address);
        self.names.undo(&name);
    }

    /// After a successful login: clears the name's failures (from this address and overall)
    /// and takes back this attempt's count from the address, which keeps its earlier failures
    /// (so one good account does not launder guesses at others).
    pub fn succeeded(&mut self, name: &str, address: IpAddr) {
        let name = name_key(name);
        self.pairs.entries.remove(&(name.clone(), address));
        self.names.entries.remove(&name);
        self.addresses.undo(&address);
    }

    /// Entries held, all tables together.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.pairs.entries.len() + self.addresses.entries.len() + self.names.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn at() -> Timestamp {
        "2026-03-01T09:00:00Z".parse().unwrap()
    }

    #[test]
    fn delays_start_after_free_failures_and_grow() {
        let mut t = Throttle::default();
        let a = ip("127.0.0.1");
        let now = at();
        for _ in 0..FREE_FAILURES_PER_PAIR {
            assert_eq!(t.wait("ana", a, now), None);
            t.failed("ana", a, now);
        }
        assert_eq!(t.wait("ana", a, now), Some(SignedDuration::from_secs(1)));
        t.failed("ana", a, now);
        assert_eq!(t.wait("ana", a, now), Some(SignedDuration::from_secs(2)));
        assert_eq!(t.wait("ana", a, now + SignedDuration::from_secs(2)), None);
        // Another name from another address is not affected.
        assert_eq!(t.wait("ben", ip("10.0.0.1"), now), None);
        t.succeeded("ana", a);
        assert_eq!(t.wait("ana", a, now), None);
    }

    #[test]
    fn failures_from_one_address_do_not_lock_the_name_out_elsewhere() {
        let mut t = Throttle::default();
        let now = at();
        for _ in 0..FREE_FAILURES_PER_PAIR * 3 {
            t.failed("admin", ip("203.0.113.9"), now);
        }
        assert!(t.wait("admin", ip("203.0.113.9"), now).is_some());
        assert_eq!(t.wait("admin", ip("198.51.100.7"), now), None);
    }

    #[test]
    fn a_name_is_throttled_everywhere_only_after_many_failures() {
        let mut t = Throttle::default();
        let now = at();
        // Four failures from each of 25 addresses: no pair or address is over its limit.
        for i in 0..FREE_FAILURES_PER_NAME {
            let address = IpAddr::from([10, 0, u8::try_from(i / 4).unwrap(), 1]);
            assert_eq!(t.wait("admin", address, now), None, "failure {i}");
            t.failed("admin", address, now);
        }
        assert!(t.wait("admin", ip("198.51.100.7"), now).is_some());
        assert_eq!(t.wait("ben", ip("198.51.100.7"), now), None);
    }

    #[test]
    fn one_address_guessing_across_names_is_throttled_by_its_own_count() {
        let mut t = Throttle::default();
        let a = ip("203.0.113.9");
        let now = at();
        // One failure per name: neither a pair nor a name is anywhere near its limit.
        for i in 0..FREE_FAILURES_PER_ADDRESS {
            let name = format!("user{i}");
            assert_eq!(t.wait(&name, a, now), None);
            t.failed(&name, a, now);
        }
        assert!(t.wait("someone-else", a, now).is_some());
        assert_eq!(t.wait("someone-else", ip("198.51.100.7"), now), None);
    }

    #[test]
    fn an_attempt_never_checked_is_taken_back() {
        let mut t = Throttle::default();
        let a = ip("203.0.113.9");
        let now = at();
        for _ in 0..FREE_FAILURES_PER_PAIR * 4 {
            t.failed("ana", a, now);
            t.undo("ana", a);
        }
        assert_eq!(t.wait("ana", a, now), None);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_success_takes_back_its_own_count_but_keeps_the_address_s_failures() {
        let mut t = Throttle::default();
        let a = ip("203.0.113.9");
        let now = at();
        for i in 0..FREE_FAILURES_PER_ADDRESS - 1 {
            t.failed(&format!("user{i}"), a, now);
        }
        // Counted before the check, then succeeded: the address is back to its 9 failures.
        t.failed("ana", a, now);
        t.succeeded("ana", a);
        assert_eq!(t.wait("ben", a, now), None);
        t.failed("ben", a, now);
        assert!(t.wait("ben", a, now).is_some());
    }

    #[test]
    fn long_names_are_cut_before_they_are_stored() {
        let mut t = Throttle::default();
        let now = at();
        let long = "x".repeat(60_000);
        t.failed(&long, ip("203.0.113.9"), now);
        let stored: usize = t.names.entries.keys().map(String::len).sum();
        assert_eq!(stored, MAX_NAME_BYTES);
        let pair: usize = t.pairs.entries.keys().map(|(n, _)| n.len()).sum();
        assert_eq!(pair, MAX_NAME_BYTES);
        // Multi-byte characters are cut at a character boundary.
        assert_eq!(name_key(&"é".repeat(40)).len(), 64);
        assert_eq!(name_key(&format!("x{}", "é".repeat(40))).len(), 63);
    }

    #[test]
    fn the_tables_are_bounded_and_evict_the_oldest() {
        let mut t = Throttle::default();
        let start = at();
        for i in 0..MAX_ENTRIES + 500 {
            let now = start + SignedDuration::from_millis(i64::try_from(i).unwrap());
            t.failed(&format!("n{i}"), ip("203.0.113.9"), now);
        }
        assert_eq!(t.names.entries.len(), MAX_ENTRIES);
        assert_eq!(t.pairs.entries.len(), MAX_ENTRIES);
        assert!(!t.names.entries.contains_key("n0"), "the oldest went first");
        assert!(
            t.names
                .entries
                .contains_key(&format!("n{}", MAX_ENTRIES + 499))
        );
    }
}
