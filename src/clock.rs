//! The clock: the one place the current time is read, so the domain never does and tests can
//! fix the time.

use std::sync::Mutex;

use jiff::Timestamp;
use tokio::sync::watch;

/// A source of "now".
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;

    /// For a clock that jumps (a test clock): a receiver told each time it is moved, so that
    /// tasks waiting for a time (the offer scheduler) look again. `None` for a clock that runs.
    fn changes(&self) -> Option<watch::Receiver<Timestamp>> {
        None
    }
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until told otherwise: for tests and deterministic tools.
#[derive(Debug)]
pub struct FixedClock {
    at: Mutex<Timestamp>,
    /// Tells waiting tasks (see [`Clock::changes`]) that the clock moved.
    moved: watch::Sender<Timestamp>,
}

impl FixedClock {
    /// A clock showing `at`.
    #[must_use]
    pub fn new(at: Timestamp) -> Self {
        Self {
            at: Mutex::new(at),
            moved: watch::Sender::new(at),
        }
    }

    /// Moves the clock to `at`, and tells the tasks waiting on [`Clock::changes`].
    pub fn set(&self, at: Timestamp) {
        *self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
        self.moved.send_replace(at);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn changes(&self) -> Option<watch::Receiver<Timestamp>> {
        Some(self.moved.subscribe())
    }
}
