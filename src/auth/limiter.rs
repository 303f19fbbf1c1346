//! Bounds password hashing: at most `permits` argon2 computations at once (one per core by
//! default), each in a memory block taken from a pool and given back afterwards, with a short
//! queue in front. A login that finds the queue full is refused at once, without hashing.
//!
//! Without it, every login in a burst held its own 19 MiB of argon2 memory on its own blocking
//! thread: 256 parallel failed logins took the process from 156 MiB to 7.2 GiB, and the
//! allocator kept it. With it, at most `permits × memory` bytes of hash memory ever exist.
//!
//! It never hashes anything itself and knows nothing of accounts or HTTP.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use argon2::Block;

/// Waiting places per permit.
const QUEUE_PER_PERMIT: usize = 2;

/// Too many password checks are running or waiting: try again in a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy checking other passwords; try again in a moment")]
pub struct Busy;

/// What the limiter has seen, for `/metrics` and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashStats {
    /// Hashes allowed to run at once.
    pub permits: usize,
    /// Callers allowed to wait for a permit.
    pub queue: usize,
    /// Hashes computing now.
    pub running: usize,
    /// The most hashes that ever computed at once (measured around the computation itself).
    pub peak: usize,
    /// Hashes computed since the start.
    pub hashed: u64,
    /// Checks refused because every permit and waiting place was taken (nothing hashed).
    pub refused_busy: u64,
}

#[derive(Debug, Default)]
struct Slots {
    /// Permits handed out.
    taken: usize,
    /// Callers waiting for one.
    waiting: usize,
    /// Memory given back by finished hashes, reused by the next.
    pool: Vec<Vec<Block>>,
}

/// At most `permits` hashes at once, a queue of `queue` callers, and a pool of hash memory.
#[derive(Debug)]
pub struct HashLimiter {
    permits: usize,
    queue: usize,
    /// Memory blocks (1 KiB each) one hash needs with the configured parameters.
    blocks: usize,
    slots: Mutex<Slots>,
    freed: Condvar,
    computing: AtomicUsize,
    peak: AtomicUsize,
    hashed: AtomicU64,
    refused_busy: AtomicU64,
}

impl HashLimiter {
    /// A limiter for hashes of `blocks` memory blocks: `permits` at once (at least one), and
    /// `queue` callers waiting.
    #[must_use]
    pub fn new(permits: usize, queue: usize, blocks: usize) -> Self {
        Self {
            permits: permits.max(1),
            queue,
            blocks,
            slots: Mutex::default(),
            freed: Condvar::new(),
            computing: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            hashed: AtomicU64::new(0),
            refused_busy: AtomicU64::new(0),
        }
    }

    /// One permit per core the process may use, and two waiting places per permit.
    #[must_use]
    pub fn per_core(blocks: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Self::new(cores, cores * QUEUE_PER_PERMIT, blocks)
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A permit now, or after waiting in the queue if it has room; [`Busy`] at once otherwise.
    /// Blocks the calling thread while it waits: call it on the blocking pool.
    pub fn try_acquire(&self) -> Result<Permit<'_>, Busy> {
        let mut slots = self.slots();
        if slots.taken >= self.permits {
            if slots.waiting >= self.queue {
                drop(slots);
                self.refused_busy.fetch_add(1, Relaxed);
                return Err(Busy);
            }
            slots.waiting += 1;
            slots = self
                .freed
                .wait_while(slots, |s| s.taken >= self.permits)
                .unwrap_or_else(PoisonError::into_inner);
            slots.waiting -= 1;
        }
        Ok(self.grant(slots))
    }

    /// A permit, waiting as long as it takes (however long the queue): for account changes an
    /// admin makes, which must not fail because of a login burst. Blocks the calling thread.
    pub fn acquire(&self) -> Permit<'_> {
        let slots = self
            .freed
            .wait_while(self.slots(), |s| s.taken >= self.permits)
            .unwrap_or_else(PoisonError::into_inner);
        self.grant(slots)
    }

    fn grant(&self, mut slots: MutexGuard<'_, Slots>) -> Permit<'_> {
        slots.taken += 1;
        let memory = slots.pool.pop();
        drop(slots);
        // Allocated only the first time a permit is used; given back to the pool afterwards,
        // so at most `permits` of these ever exist.
        let memory = memory.unwrap_or_else(|| vec![Block::new(); self.blocks]);
        Permit {
            limiter: self,
            memory,
        }
    }

    /// What the limiter has seen so far.
    #[must_use]
    pub fn stats(&self) -> HashStats {
        HashStats {
            permits: self.permits,
            queue: self.queue,
            running: self.computing.load(Relaxed),
            peak: self.peak.load(Relaxed),
            hashed: self.hashed.load(Relaxed),
            refused_busy: self.refused_busy.load(Relaxed),
        }
    }
}

/// The right to run one hash, with the memory to run it in. Dropping it gives both back.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a HashLimiter,
    memory: Vec<Block>,
}

impl Permit<'_> {
    /// Runs one hash computation `f` in this permit's memory (at least `blocks` blocks; a
    /// larger, temporary buffer if a stored hash asks for more), counting it as running.
    pub fn compute<T>(&mut self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let limiter = self.limiter;
        let now = limiter.computing.fetch_add(1, Relaxed) + 1;
        limiter.peak.fetch_max(now, Relaxed);
        let out = if blocks <= self.memory.len() {
            f(&mut self.memory)
        } else {
            // Only hashes stored with costlier parameters than the configured ones get here.
            f(&mut vec![Block::new(); blocks])
        };
        limiter.computing.fetch_sub(1, Relaxed);
        limiter.hashed.fetch_add(1, Relaxed);
        out
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        let mut slots = self.limiter.slots();
        slots.taken -= 1;
        if memory.len() == self.limiter.blocks {
            slots.pool.push(memory);
        }
        drop(slots);
        self.limiter.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_beyond_the_permits_and_the_queue_are_refused_at_once() {
        let limiter = HashLimiter::new(2, 0, 4);
        let a = limiter.try_acquire().expect("first permit");
        let _b = limiter.try_acquire().expect("second permit");
        assert_eq!(limiter.try_acquire().map(|_| ()), Err(Busy));
        assert_eq!(limiter.stats().refused_busy, 1);
        drop(a);
        assert!(
            limiter.try_acquire().is_ok(),
            "a freed permit is handed out again"
        );
    }

    #[test]
    fn a_queued_caller_gets_the_next_free_permit() {
        let limiter = HashLimiter::new(1, 1, 4);
        let held = limiter.try_acquire().expect("permit");
        std::thread::scope(|s| {
            let waiter = s.spawn(|| limiter.try_acquire().map(|_| ()));
            while limiter.slots().waiting == 0 {
                std::thread::yield_now();
            }
            assert_eq!(limiter.try_acquire().map(|_| ()), Err(Busy), "queue full");
            drop(held);
            assert_eq!(waiter.join().expect("waiter"), Ok(()));
        });
    }

    #[test]
    fn memory_is_reused_and_the_peak_measured_around_the_computation() {
        let limiter = HashLimiter::new(2, 0, 4);
        let mut first = limiter.try_acquire().expect("permit");
        let address = first.compute(4, |m| m.as_ptr());
        drop(first);
        let mut second = limiter.try_acquire().expect("permit");
        assert_eq!(
            second.compute(4, |m| m.as_ptr()),
            address,
            "the same memory"
        );
        let mut third = limiter.try_acquire().expect("permit");
        second.compute(4, |_| third.compute(4, |_| ()));
        let stats = limiter.stats();
        assert_eq!((stats.peak, stats.hashed, stats.running), (2, 4, 0));
    }
}
