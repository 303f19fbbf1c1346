//! Login throttling: after repeated failures for an account name or from an address, further
//! attempts are refused (429) for a delay that doubles with each failure, up to a cap.

use std::collections::HashMap;
use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};

/// Failures allowed for one account name before delays start.
const FREE_FAILURES_PER_NAME: u32 = 5;
/// Failures allowed from one address (across names) before delays start.
const FREE_FAILURES_PER_ADDRESS: u32 = 10;
/// The longest delay.
const MAX_DELAY: SignedDuration = SignedDuration::from_mins(15);
/// Entries quiet for this long are forgotten.
const FORGET_AFTER: SignedDuration = SignedDuration::from_hours(1);

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

/// Failure counts by account name and by client address.
#[derive(Debug, Default)]
pub struct Throttle {
    by_name: HashMap<String, Failures>,
    by_address: HashMap<IpAddr, Failures>,
}

impl Throttle {
    /// How long the caller must wait before trying `name` from `address` again, if at all.
    pub fn wait(&mut self, name: &str, address: IpAddr, now: Timestamp) -> Option<SignedDuration> {
        self.forget_old(now);
        let by_name = self
            .by_name
            .get(name)
            .and_then(|f| f.locked_until(FREE_FAILURES_PER_NAME));
        let by_address = self
            .by_address
            .get(&address)
            .and_then(|f| f.locked_until(FREE_FAILURES_PER_ADDRESS));
        let until = by_name.into_iter().chain(by_address).max()?;
        (until > now).then(|| until.duration_since(now))
    }

    /// Counts a failed attempt.
    pub fn failed(&mut self, name: &str, address: IpAddr, now: Timestamp) {
        let bump = |f: &mut Failures| {
            f.count = f.count.saturating_add(1);
            f.last = now;
        };
        bump(self.by_name.entry(name.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
        }));
        bump(self.by_address.entry(address).or_insert(Failures {
            count: 0,
            last: now,
        }));
    }

    /// Clears the name's failures after a successful login (the address keeps its count, so one
    /// good account does not launder guesses at others).
    pub fn succeeded(&mut self, name: &str) {
        self.by_name.remove(name);
    }

    fn forget_old(&mut self, now: Timestamp) {
        if self.by_name.len() + self.by_address.len() < 10_000 {
            return;
        }
        self.by_name
            .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        self.by_address
            .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_free_failures_and_grow() {
        let mut t = Throttle::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let now: Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
        for _ in 0..FREE_FAILURES_PER_NAME {
            assert_eq!(t.wait("ana", ip, now), None);
            t.failed("ana", ip, now);
        }
        assert_eq!(t.wait("ana", ip, now), Some(SignedDuration::from_secs(1)));
        t.failed("ana", ip, now);
        assert_eq!(t.wait("ana", ip, now), Some(SignedDuration::from_secs(2)));
        assert_eq!(t.wait("ana", ip, now + SignedDuration::from_secs(2)), None);
        // Another name from another address is not affected.
        assert_eq!(t.wait("ben", "10.0.0.1".parse().unwrap(), now), None);
        t.succeeded("ana");
        assert_eq!(t.wait("ana", "10.0.0.2".parse().unwrap(), now), None);
    }
}
