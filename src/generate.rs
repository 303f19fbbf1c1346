//! `rollbook generate`: writes a realistic, reproducible synthetic history into a new database,
//! for benchmarks and demos.
//!
//! This module owns the simulation: a plan of cohorts fixed by the seed, a mirror of each
//! cohort's roster and waitlist (so it only asks what the rules allow), and a small PRNG. It
//! never writes to the store itself: every command goes through the real
//! [`Writer`](crate::writer::Writer) (rules, learner directory, encoding, hash chain, snapshots)
//! in large batches, on a [`FixedClock`] moved forward as simulated time passes. It refuses a
//! database that already holds events.
//!
//! # The history (the exact mix)
//!
//! - **Span**: the 12 weeks ending at `end`. Time moves in steps of at most a day, shorter where
//!   activity is dense, so that one step is about one writer batch (`batch` submissions). Every
//!   command of a step is decided at the step's end, grouped by cohort; its ids carry an instant
//!   inside the step.
//! - **Catalogue**: `cohorts` cohorts of `max(1, cohorts / 20)` courses (a topic in a format:
//!   "Rust 101", "Applied Data Engineering", …) taught by `cohorts / 50 + 1` instructors
//!   (first and last names, some titled). Each cohort is created at a uniformly random instant of
//!   the span but its last day, with 8–60 seats (triangular, most around 34); its enrollment
//!   deadline is 14–35 days later (at 23:59), its first session 1–7 days after that (at 09:00 or
//!   18:00), its withdrawal deadline 3–14 days after the first session (at 23:59). A cohort's
//!   popularity is log-normal, clamped to 0.25–4.
//! - **Each step**, in order: the cohorts due are created (`cohort.created`); the scheduled
//!   closings fall due (`enrollment.closed`: 55 % of cohorts, 0–72 hours after their enrollment
//!   deadline); then random commands, spread over the live cohorts in proportion to popularity ×
//!   phase (full weight until the enrollment deadline, 10 % until the withdrawal deadline, none
//!   after). How many per step is recomputed every step from the events still wanted and the
//!   activity still ahead, so the history ends at `end` with about `events` events. With many
//!   events per cohort, each cohort simply sees more churn.
//! - **A random command** for a cohort still taking enrollments: 3 % a capacity change (only
//!   before the first session, within 6–80 seats: up 1–6 seats when it cannot go down or 60 % of
//!   the time, otherwise down to between `max(enrolled, 2/3 of the seats)` and one seat fewer;
//!   going up promotes from the waitlist); for the 8 % of cohorts whose staff close early, a
//!   closing (one chance in five) once full with at least two waiting; 20 % — always, once `capacity / 4 + 2` learners wait — a departure (a waitlisted
//!   learner leaves the waitlist 30 % of the time, otherwise an enrolled learner withdraws and
//!   the waitlist head is promoted automatically); otherwise an enrollment of a learner not in
//!   the cohort (a quarter of them from the busiest tenth of the pool), enrolled or, when full,
//!   waitlisted. After the enrollment deadline: 6 % a capacity change (before the first
//!   session), otherwise a withdrawal (70 %) or a departure from the waitlist, until the
//!   withdrawal deadline and at most `capacity / 6` (at least 1) of them per cohort, so most
//!   learners stay. The generator mirrors each cohort, so no command is refused.
//! - **People**: learners are `learner-000123@example.org`, named from 48 × 48 first and last
//!   names, filed in the directory at their first enrollment; withdrawals carry one of 12
//!   reasons, departures from a waitlist one of 6; each command is issued by one of six staff
//!   actors (names in history, not accounts).
//! - **Ids**: cohort, command, correlation, causation and learner ids are version 7 UUIDs built
//!   from simulated time and PRNG bytes and handed to the writer, so the same seed, options and
//!   `end` write the same events, byte for byte.

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "simulation arithmetic: counts and milliseconds far below 2^52, rates rounded back"
)]

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jiff::Timestamp;
use uuid::{Builder, Uuid};

use crate::clock::FixedClock;
use crate::config::GenerateArgs;
use crate::domain::{Capacity, CohortId, Event, NewCohort};
use crate::learner_key::LearnerKey;
use crate::store::{Actor, Store, StoreError, StoreOptions};
use crate::writer::{BatchOutcome, CommandError, Request, Submission, Writer, WriterOptions};

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Cohorts to create.
    pub cohorts: u32,
    /// Size of the learner pool.
    pub learners: u32,
    /// Events to write (the result is within one batch of it).
    pub events: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// The instant the history ends at (it starts 12 weeks earlier).
    pub end: Timestamp,
    /// Submissions per writer call (about one simulated step).
    pub batch: usize,
    /// The writer's snapshot interval.
    pub snapshot_every: u64,
}

impl GenerateOptions {
    /// The default batch size: larger batches amortise each durable commit further.
    pub const DEFAULT_BATCH: usize = 8192;

    /// Options with the default batch size and snapshot interval.
    #[must_use]
    pub fn new(cohorts: u32, learners: u32, events: u64, seed: u64, end: Timestamp) -> Self {
        Self {
            cohorts,
            learners,
            events,
            seed,
            end,
            batch: Self::DEFAULT_BATCH,
            snapshot_every: WriterOptions::default().snapshot_every,
        }
    }
}

/// What a generation wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateSummary {
    /// Events written.
    pub events: u64,
    /// Cohorts created.
    pub cohorts: u64,
    /// Learners filed in the directory.
    pub learners: u64,
    /// Commands the rules refused (none, unless the mirror and the rules disagree).
    pub refused: u64,
    /// Writer calls made.
    pub batches: u64,
    /// Events per type, in the order of [`Event::TYPE_NAMES`].
    pub by_type: [u64; 8],
    /// The first instant of the history.
    pub start: Timestamp,
    /// The instant the last batch was decided at.
    pub last: Timestamp,
    /// Wall time, from opening the file to the last commit.
    pub elapsed: Duration,
    /// Size of the database file afterwards.
    pub bytes: u64,
}

impl GenerateSummary {
    /// Events written per second of wall time.
    #[must_use]
    pub fn events_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.events as f64 / seconds
        } else {
            0.0
        }
    }

    /// File bytes per event.
    #[must_use]
    pub fn bytes_per_event(&self) -> f64 {
        if self.events == 0 {
            0.0
        } else {
            self.bytes as f64 / self.events as f64
        }
    }
}

/// Why nothing (or not everything) was generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The database already holds events; it was not written to.
    #[error(
        "{path} already holds {events} events; generate writes only into a new or empty \
         database, so nothing was written (choose another --db)"
    )]
    NotEmpty {
        /// The file.
        path: PathBuf,
        /// Events it holds.
        events: u64,
    },
    /// No cohorts or no learners asked for.
    #[error("--cohorts and --learners must be at least 1")]
    Empty,
    /// Fewer events than cohorts: each cohort's creation is an event.
    #[error(
        "--events ({events}) must be at least --cohorts ({cohorts}): each cohort's creation is an event"
    )]
    TooFewEvents {
        /// Events asked for.
        events: u64,
        /// Cohorts asked for.
        cohorts: u32,
    },
    /// `end` too close to 1970 or too far in the future for the schedule.
    #[error(
        "--end {end} is out of range: the 12 weeks before it must start after 1970, and it must be before 9999"
    )]
    EndOutOfRange {
        /// What was asked for.
        end: Timestamp,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer failed a batch (storage, or a bug); what was committed before stays.
    #[error("writing a batch failed: {0}")]
    Write(CommandError),
}

// ---- time ----

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The history spans 12 weeks.
const SPAN_MS: i64 = 84 * DAY_MS;
/// Exposure is integrated per minute; a step is at most a day.
const SLOT_MS: i64 = MINUTE_MS;
const MAX_STEP_SLOTS: usize = (DAY_MS / SLOT_MS) as usize;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("simulated instants are checked to be in range")
}

// ---- names ----

const TOPICS: [&str; 24] = [
    "Rust",
    "Data Engineering",
    "Machine Learning",
    "Web Development",
    "Cloud Architecture",
    "UX Research",
    "Product Management",
    "Statistics",
    "Cybersecurity",
    "Mobile Development",
    "DevOps",
    "SQL",
    "Distributed Systems",
    "Technical Writing",
    "Python",
    "Go",
    "Kubernetes",
    "Public Speaking",
    "Financial Accounting",
    "Spanish",
    "Photography",
    "Design Systems",
    "Project Management",
    "Data Visualisation",
];

const FORMATS: [&str; 8] = [
    "{} 101",
    "Introduction to {}",
    "{} Fundamentals",
    "Applied {}",
    "Advanced {}",
    "{} in Practice",
    "{} Bootcamp",
    "{} for Teams",
];

const FIRST_NAMES: [&str; 48] = [
    "Ana",
    "Bruno",
    "Chen",
    "Dara",
    "Emeka",
    "Fatima",
    "Gustavo",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samir",
    "Tamar",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aisha",
    "Ben",
    "Carla",
    "Diego",
    "Elif",
    "Finn",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Keiko",
    "Luca",
    "Maya",
    "Nils",
    "Olga",
    "Pablo",
    "Rin",
    "Sofia",
    "Tomas",
    "Valentina",
    "William",
    "Yara",
];

const LAST_NAMES: [&str; 48] = [
    "Lima",
    "Okafor",
    "Nguyen",
    "Schmidt",
    "Kowalski",
    "Haddad",
    "Silva",
    "Tanaka",
    "Petrov",
    "Moreau",
    "Mensah",
    "Johansson",
    "García",
    "Rahman",
    "O'Brien",
    "Patel",
    "Dubois",
    "Rossi",
    "Kaya",
    "Cohen",
    "Iyer",
    "Novak",
    "Zhang",
    "Hernández",
    "Demir",
    "Fischer",
    "Ali",
    "Andersen",
    "Costa",
    "Romero",
    "Yilmaz",
    "Berg",
    "Walker",
    "Lefebvre",
    "Ferreira",
    "Weber",
    "Sato",
    "Bianchi",
    "Kim",
    "Larsen",
    "Ivanova",
    "Torres",
    "Mori",
    "Santos",
    "Horvat",
    "Castillo",
    "Murphy",
    "Adeyemi",
];

const VARIANTS: [&str; 8] = [
    "evenings",
    "mornings",
    "weekends",
    "online",
    "on campus",
    "intensive",
    "part-time",
    "hybrid",
];

const WITHDRAWAL_REASONS: [&str; 12] = [
    "schedule conflict",
    "moved to another cohort",
    "changed jobs",
    "course too advanced",
    "course too basic",
    "health reasons",
    "employer withdrew funding",
    "relocating",
    "family commitments",
    "enrolled by mistake",
    "no longer needed for role",
    "",
];

const WAITLIST_REASONS: [&str; 6] = [
    "found a seat elsewhere",
    "no longer interested",
    "will take the next cohort",
    "schedule conflict",
    "asked to be removed",
    "",
];

const STAFF: [&str; 6] = [
    "ana.lima",
    "bruno.silva",
    "chen.wei",
    "dara.okafor",
    "emeka.mensah",
    "fatima.haddad",
];

// ---- randomness ----

/// splitmix64: tiny, fast, and good enough for synthetic data; the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Self(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform index into a non-empty collection of `len` items.
    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    fn bytes10(&mut self) -> [u8; 10] {
        let a = self.next_u64().to_le_bytes();
        let b = self.next_u64().to_le_bytes();
        [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1]]
    }

    /// A version 7 UUID at `ms` with random bits from this generator.
    fn uuid_at(&mut self, ms: i64) -> Uuid {
        Builder::from_unix_timestamp_millis(ms.max(0) as u64, &self.bytes10()).into_uuid()
    }
}

/// The splitmix64 finaliser.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn learner_key(index: u32) -> LearnerKey {
    LearnerKey::parse(&format!("learner-{index:06}@example.org"))
        .expect("generated learner keys are valid")
}

fn learner_name(seed: u64, index: u32) -> String {
    let h = mix(seed ^ 0x6C65_6172_6E65_7273 ^ u64::from(index).wrapping_mul(0x9E37_79B9));
    let first = FIRST_NAMES[(h % FIRST_NAMES.len() as u64) as usize];
    let last = LAST_NAMES[((h >> 32) % LAST_NAMES.len() as u64) as usize];
    format!("{first} {last}")
}

fn course_name(index: usize, offset: usize) -> String {
    let n = index + offset;
    let topic = TOPICS[n % TOPICS.len()];
    let format = FORMATS[(n / TOPICS.len()) % FORMATS.len()];
    let name = format.replace("{}", topic);
    let round = n / (TOPICS.len() * FORMATS.len());
    if round == 0 {
        name
    } else {
        format!("{name} (track {})", round + 1)
    }
}

fn instructor_name(rng: &mut Rng) -> String {
    let first = rng.pick(&FIRST_NAMES);
    let last = rng.pick(&LAST_NAMES);
    if rng.chance(0.15) {
        format!("Dr. {first} {last}")
    } else {
        format!("{first} {last}")
    }
}

// ---- the plan and the mirror ----

/// One cohort: its plan (fixed by the seed) and a mirror of its state.
struct SimCohort {
    id: CohortId,
    created_ms: i64,
    enroll_by_ms: i64,
    first_session_ms: i64,
    withdraw_by_ms: i64,
    weight: f64,
    course: u32,
    instructor: u32,
    variant: u8,
    initial_capacity: u32,
    // The mirror.
    created: bool,
    closed: bool,
    capacity: u32,
    enrolled: Vec<u32>,
    waitlist: VecDeque<u32>,
    /// Departures after the enrollment deadline so far.
    late_departures: u32,
    /// Staff close this cohort early once it is full and learners wait.
    closes_when_full: bool,
}

impl SimCohort {
    /// Random commands' weight at `t`: popularity × phase.
    fn weight_at(&self, t: i64) -> f64 {
        if !self.created || t > self.withdraw_by_ms {
            0.0
        } else if t <= self.enroll_by_ms {
            self.weight
        } else {
            self.weight * POST_DEADLINE_WEIGHT
        }
    }

    fn holds(&self, learner: u32) -> bool {
        self.enrolled.contains(&learner) || self.waitlist.contains(&learner)
    }

    /// Promotes the waitlist head into free seats while open, as the rules do; returns how many.
    fn promote(&mut self) -> u64 {
        let mut promoted = 0;
        while !self.closed && (self.enrolled.len() as u32) < self.capacity {
            let Some(head) = self.waitlist.pop_front() else {
                break;
            };
            self.enrolled.push(head);
            promoted += 1;
        }
        promoted
    }
}

const POST_DEADLINE_WEIGHT: f64 = 0.1;
/// Capacity changes stay within these seats.
const MIN_SEATS: u32 = 6;
const MAX_SEATS: u32 = 80;
const SHARE_CLOSED_AFTER_DEADLINE: f64 = 0.55;
const SHARE_CLOSED_WHEN_FULL: f64 = 0.08;

/// The simulation: plan, mirror, and the randomness driving commands.
struct Sim {
    seed: u64,
    learners: u32,
    cohorts: Vec<SimCohort>,
    courses: Vec<String>,
    instructors: Vec<String>,
    /// Indices of created cohorts not yet past their withdrawal deadline.
    active: Vec<u32>,
    max_weight: f64,
    /// Learners filed in the directory.
    filed: Vec<bool>,
    filed_count: u64,
    rng: Rng,
}

/// A command of a step, before it gets its ids.
struct Planned {
    request: Request,
    actor: u8,
}

impl Sim {
    fn plan(options: &GenerateOptions, start_ms: i64) -> Self {
        let mut rng = Rng::new(options.seed, 1);
        let n = options.cohorts as usize;
        let course_count = (n / 20).max(1);
        let course_offset = rng.index(TOPICS.len());
        let courses = (0..course_count)
            .map(|i| course_name(i, course_offset))
            .collect();
        let instructor_count = n / 50 + 1;
        let instructors = (0..instructor_count)
            .map(|_| instructor_name(&mut rng))
            .collect();
        // Creation instants first, in order, so cohort ids sort by creation as v7 ids should.
        let mut created: Vec<i64> = (0..n)
            .map(|_| start_ms + rng.below((SPAN_MS - DAY_MS) as u64) as i64)
            .collect();
        created.sort_unstable();
        let day_floor = |ms: i64| ms - ms.rem_euclid(DAY_MS);
        let cohorts: Vec<SimCohort> = created
            .into_iter()
            .map(|created_ms| {
                let enroll_by_ms = day_floor(created_ms + rng.range(14, 35) as i64 * DAY_MS)
                    + 23 * HOUR_MS
                    + 59 * MINUTE_MS;
                let hour = if rng.chance(0.5) { 9 } else { 18 };
                let first_session_ms =
                    day_floor(enroll_by_ms) + rng.range(1, 7) as i64 * DAY_MS + hour * HOUR_MS;
                let withdraw_by_ms = day_floor(first_session_ms)
                    + rng.range(3, 14) as i64 * DAY_MS
                    + 23 * HOUR_MS
                    + 59 * MINUTE_MS;
                // Roughly normal (sum of three uniforms), so popularity is log-normal.
                let z = (rng.unit() + rng.unit() + rng.unit() - 1.5) * 2.0;
                let weight = (0.7 * z).exp().clamp(0.25, 4.0);
                let capacity = u64::midpoint(rng.range(8, 60), rng.range(8, 60)) as u32;
                let closes_when_full = rng.chance(SHARE_CLOSED_WHEN_FULL);
                SimCohort {
                    id: CohortId(rng.uuid_at(created_ms)),
                    created_ms,
                    enroll_by_ms,
                    first_session_ms,
                    withdraw_by_ms,
                    weight,
                    course: rng.index(course_count) as u32,
                    instructor: rng.index(instructor_count) as u32,
                    variant: rng.index(VARIANTS.len()) as u8,
                    initial_capacity: capacity,
                    created: false,
                    closed: false,
                    capacity,
                    enrolled: Vec::new(),
                    waitlist: VecDeque::new(),
                    late_departures: 0,
                    closes_when_full,
                }
            })
            .collect();
        let max_weight = cohorts.iter().map(|c| c.weight).fold(0.0, f64::max);
        Self {
            seed: options.seed,
            learners: options.learners,
            cohorts,
            courses,
            instructors,
            active: Vec::new(),
            max_weight,
            filed: vec![false; options.learners as usize],
            filed_count: 0,
            rng: Rng::new(options.seed, 2),
        }
    }

    /// The scheduled closings: (instant, cohort), in time order.
    fn closings(&mut self) -> Vec<(i64, u32)> {
        let mut rng = Rng::new(self.seed, 3);
        let mut closings: Vec<(i64, u32)> = self
            .cohorts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let delay = rng.below((72 * HOUR_MS) as u64) as i64;
                rng.chance(SHARE_CLOSED_AFTER_DEADLINE)
                    .then_some((c.enroll_by_ms + delay, i as u32))
            })
            .collect();
        closings.sort_unstable();
        closings
    }

    /// The request creating cohort `i`; marks it created.
    fn create(&mut self, i: u32) -> Request {
        let c = &mut self.cohorts[i as usize];
        c.created = true;
        self.active.push(i);
        let course = &self.courses[c.course as usize];
        let month = at(c.first_session_ms).strftime("%B %Y");
        let new = NewCohort {
            name: format!("{course} — {month}, {}", VARIANTS[c.variant as usize]),
            course: course.clone(),
            instructor: self.instructors[c.instructor as usize].clone(),
            capacity: Capacity::new(u64::from(c.initial_capacity)).expect("8–60 seats"),
            starts_at: at(c.first_session_ms),
            enrollment_deadline: at(c.enroll_by_ms),
            withdrawal_deadline: at(c.withdraw_by_ms),
        };
        Request::Create { cohort: c.id, new }
    }

    /// Forgets cohorts past their withdrawal deadline: no command is chosen for them any more.
    fn retire(&mut self, t: i64) {
        let cohorts = &self.cohorts;
        self.active
            .retain(|&i| t <= cohorts[i as usize].withdraw_by_ms);
    }

    /// Chooses one random command at `t`, applies it to the mirror, and returns it with the
    /// number of events it will write; `None` when no live cohort has anything sensible to do.
    fn random_command(&mut self, t: i64) -> Option<(Request, u64)> {
        if self.active.is_empty() {
            return None;
        }
        for _ in 0..64 {
            let i = self.active[self.rng.index(self.active.len())];
            let weight = self.cohorts[i as usize].weight_at(t);
            if self.rng.unit() * self.max_weight >= weight {
                continue;
            }
            if let Some(chosen) = self.command_for(i, t) {
                return Some(chosen);
            }
        }
        None
    }

    fn command_for(&mut self, i: u32, t: i64) -> Option<(Request, u64)> {
        let c = &self.cohorts[i as usize];
        let id = c.id;
        let taking_enrollments = !c.closed && t <= c.enroll_by_ms;
        let before_start = t <= c.first_session_ms;
        let can_withdraw = t <= c.withdraw_by_ms && !c.enrolled.is_empty();
        let waiting = !c.waitlist.is_empty();
        let u = self.rng.unit();
        if taking_enrollments {
            let full = c.enrolled.len() as u32 >= c.capacity;
            let crowded = c.waitlist.len() as u32 >= c.capacity / 4 + 2;
            if u < 0.03 && before_start {
                return self.change_capacity(i);
            }
            if c.closes_when_full && full && c.waitlist.len() >= 2 && self.rng.chance(0.2) {
                self.cohorts[i as usize].closed = true;
                return Some((Request::Close { cohort: id }, 1));
            }
            if crowded || u < 0.23 {
                if waiting && (!can_withdraw || self.rng.chance(0.3)) {
                    return Some(self.leave_waitlist(i));
                }
                if can_withdraw {
                    return Some(self.withdraw(i));
                }
            }
            return self.enroll(i);
        }
        // After the enrollment deadline most learners stay: late departures are capped.
        let late_quota_left = c.late_departures < (c.capacity / 6).max(1);
        if u < 0.06 && before_start {
            return self.change_capacity(i);
        }
        if !late_quota_left {
            return None;
        }
        let departure = if can_withdraw && (!waiting || self.rng.chance(0.7)) {
            self.withdraw(i)
        } else if waiting {
            self.leave_waitlist(i)
        } else {
            return None;
        };
        self.cohorts[i as usize].late_departures += 1;
        Some(departure)
    }

    fn enroll(&mut self, i: u32) -> Option<(Request, u64)> {
        let busy = (self.learners / 10).max(1);
        for _ in 0..8 {
            let learner = if self.rng.chance(0.25) {
                self.rng.below(u64::from(busy)) as u32
            } else {
                self.rng.below(u64::from(self.learners)) as u32
            };
            let c = &mut self.cohorts[i as usize];
            if c.holds(learner) {
                continue;
            }
            if (c.enrolled.len() as u32) < c.capacity {
                c.enrolled.push(learner);
            } else {
                c.waitlist.push_back(learner);
            }
            let cohort = c.id;
            if !self.filed[learner as usize] {
                self.filed[learner as usize] = true;
                self.filed_count += 1;
            }
            let request = Request::Enroll {
                cohort,
                learner: learner_key(learner),
                name: Some(learner_name(self.seed, learner)),
            };
            return Some((request, 1));
        }
        None
    }

    fn withdraw(&mut self, i: u32) -> (Request, u64) {
        let at = self.rng.index(self.cohorts[i as usize].enrolled.len());
        let reason = self.rng.pick(&WITHDRAWAL_REASONS).to_owned();
        let c = &mut self.cohorts[i as usize];
        let learner = c.enrolled.swap_remove(at);
        let events = 1 + c.promote();
        let request = Request::Withdraw {
            cohort: c.id,
            learner: learner_key(learner),
            reason,
        };
        (request, events)
    }

    fn leave_waitlist(&mut self, i: u32) -> (Request, u64) {
        let at = self.rng.index(self.cohorts[i as usize].waitlist.len());
        let reason = self.rng.pick(&WAITLIST_REASONS).to_owned();
        let c = &mut self.cohorts[i as usize];
        let learner = c.waitlist.remove(at).expect("index within the waitlist");
        let request = Request::LeaveWaitlist {
            cohort: c.id,
            learner: learner_key(learner),
            reason,
        };
        (request, 1)
    }

    fn change_capacity(&mut self, i: u32) -> Option<(Request, u64)> {
        let c = &self.cohorts[i as usize];
        let enrolled = c.enrolled.len() as u32;
        let low = enrolled.max(c.capacity * 2 / 3).max(MIN_SEATS);
        let up = match (c.capacity < MAX_SEATS, low < c.capacity) {
            (false, false) => return None,
            (true, true) => self.rng.chance(0.6),
            (up, _) => up,
        };
        let capacity = if up {
            (c.capacity + self.rng.range(1, 6) as u32).min(MAX_SEATS)
        } else {
            self.rng.range(u64::from(low), u64::from(c.capacity - 1)) as u32
        };
        let new = Capacity::new(u64::from(capacity)).ok()?;
        let c = &mut self.cohorts[i as usize];
        c.capacity = capacity;
        let events = 1 + c.promote();
        Some((
            Request::ChangeCapacity {
                cohort: c.id,
                capacity: new,
            },
            events,
        ))
    }
}

/// The end instants of the simulated steps: each holds about the same amount of activity (so
/// about one batch), and none is longer than a day.
fn plan_steps(cohorts: &[SimCohort], start_ms: i64, end_ms: i64, target_steps: usize) -> Vec<Step> {
    let slots = ((end_ms - start_ms) / SLOT_MS) as usize;
    let slot_of = |ms: i64| (((ms - start_ms) / SLOT_MS).max(0) as usize).min(slots);
    let mut delta = vec![0.0f64; slots + 1];
    for c in cohorts {
        delta[slot_of(c.created_ms)] += c.weight;
        delta[slot_of(c.enroll_by_ms)] -= c.weight * (1.0 - POST_DEADLINE_WEIGHT);
        delta[slot_of(c.withdraw_by_ms)] -= c.weight * POST_DEADLINE_WEIGHT;
    }
    let mut level = 0.0;
    let exposure: Vec<f64> = delta[..slots]
        .iter()
        .map(|d| {
            level += d;
            level.max(0.0)
        })
        .collect();
    let total: f64 = exposure.iter().sum();
    let per_step = total / target_steps.max(1) as f64;
    let mut out = Vec::new();
    let (mut sum, mut width) = (0.0, 0);
    for (slot, e) in exposure.iter().enumerate() {
        sum += e;
        width += 1;
        if sum >= per_step || width >= MAX_STEP_SLOTS || slot + 1 == slots {
            let end = if slot + 1 == slots {
                end_ms
            } else {
                start_ms + (slot as i64 + 1) * SLOT_MS
            };
            out.push(Step {
                end_ms: end,
                exposure: sum,
            });
            (sum, width) = (0.0, 0);
        }
    }
    out
}

/// One simulated step.
#[derive(Clone, Copy)]
struct Step {
    end_ms: i64,
    /// Popularity × phase × minutes of the live cohorts in the step.
    exposure: f64,
}

/// What to write, step by step: the plan, the mirror, and where the simulation stands.
struct Schedule {
    sim: Sim,
    /// Scheduled closings within the history: (instant, cohort), in time order.
    closings: Vec<(i64, u32)>,
    steps: Vec<Step>,
    next_step: usize,
    /// Exposure of the steps not taken yet.
    exposure_ahead: f64,
    next_create: usize,
    next_close: usize,
    end_ms: i64,
    target: u64,
    max_commands: usize,
    tally: Tally,
}

impl Schedule {
    fn new(options: &GenerateOptions, start_ms: i64, end_ms: i64) -> Self {
        let batch = options.batch.max(1);
        let mut sim = Sim::plan(options, start_ms);
        let mut closings = sim.closings();
        closings.retain(|&(t, _)| t <= end_ms);
        // About 1.1 events per submission (promotions ride along with withdrawals).
        let target_steps = (options.events as f64 / 1.1 / batch as f64).ceil() as usize;
        let steps = plan_steps(&sim.cohorts, start_ms, end_ms, target_steps);
        Self {
            exposure_ahead: steps.iter().map(|s| s.exposure).sum(),
            sim,
            closings,
            steps,
            next_step: 0,
            next_create: 0,
            next_close: 0,
            end_ms,
            target: options.events,
            max_commands: batch * 2,
            tally: Tally::default(),
        }
    }

    /// The next step: its instant, whether it lies past the planned steps (topping up at the
    /// end), and its commands, grouped by cohort.
    fn next(&mut self) -> (i64, bool, Vec<Planned>) {
        let step = self.steps.get(self.next_step).copied();
        self.next_step += 1;
        let t = step.map_or(self.end_ms, |s| s.end_ms);
        let mut planned = Vec::new();
        self.due(t, &mut planned);
        self.sim.retire(t);
        self.random_commands(step, t, &mut planned);
        // All of a step is decided at one instant, so its order across cohorts is free: grouped
        // by cohort (stable, so each cohort's own commands keep their order), a batch touches
        // each cohort's pages in the store once, in key order, which makes commits markedly
        // cheaper.
        planned.sort_by_key(|p| p.request.cohort());
        (t, step.is_none(), planned)
    }

    fn push(&mut self, planned: &mut Vec<Planned>, request: Request, events: u64) {
        let actor = self.sim.rng.index(STAFF.len()) as u8;
        planned.push(Planned { request, actor });
        self.tally.predicted += events;
    }

    /// The creations and scheduled closings due by `t`.
    fn due(&mut self, t: i64, planned: &mut Vec<Planned>) {
        while self.next_create < self.sim.cohorts.len()
            && self.sim.cohorts[self.next_create].created_ms <= t
            && self.tally.predicted < self.target
        {
            let request = self.sim.create(self.next_create as u32);
            self.push(planned, request, 1);
            self.next_create += 1;
        }
        while self.next_close < self.closings.len() && self.closings[self.next_close].0 <= t {
            let i = self.closings[self.next_close].1;
            self.next_close += 1;
            let c = &mut self.sim.cohorts[i as usize];
            if c.created && !c.closed && self.tally.predicted < self.target {
                c.closed = true;
                let cohort = c.id;
                self.push(planned, Request::Close { cohort }, 1);
            }
        }
    }

    /// The step's random commands: the events still wanted (less the creations and closings
    /// still to come), spread over the activity still ahead, at the events per command seen.
    fn random_commands(&mut self, step: Option<Step>, t: i64, planned: &mut Vec<Planned>) {
        let fixed_ahead =
            (self.sim.cohorts.len() - self.next_create) + (self.closings.len() - self.next_close);
        let wanted = self
            .target
            .saturating_sub(self.tally.predicted + fixed_ahead as u64) as f64;
        let per_command = self.tally.events_per_command();
        let commands = match step {
            Some(s) if self.exposure_ahead > 0.0 => {
                let share = s.exposure / self.exposure_ahead;
                self.exposure_ahead -= s.exposure;
                (wanted / per_command * share).round()
            }
            _ => (wanted / per_command).ceil(),
        };
        let mut misses = 0;
        for _ in 0..(commands as usize).min(self.max_commands) {
            if self.tally.predicted >= self.target {
                break;
            }
            let Some((request, events)) = self.sim.random_command(t) else {
                // Nothing sensible found among the live cohorts: try a few times, then leave
                // the rest to the steps ahead.
                misses += 1;
                if misses >= 4 {
                    break;
                }
                continue;
            };
            misses = 0;
            self.push(planned, request, events);
            self.tally.command_events += events;
            self.tally.commands += 1;
        }
    }
}

/// Checks the options; returns the history's first and last instant, in milliseconds.
fn span(options: &GenerateOptions) -> Result<(i64, i64), GenerateError> {
    if options.cohorts == 0 || options.learners == 0 {
        return Err(GenerateError::Empty);
    }
    if options.events < u64::from(options.cohorts) {
        return Err(GenerateError::TooFewEvents {
            events: options.events,
            cohorts: options.cohorts,
        });
    }
    let end_ms = options.end.as_millisecond();
    let start_ms = end_ms - SPAN_MS;
    // Version 7 UUIDs cannot hold instants before 1970; deadlines reach ~10 weeks past the end.
    if start_ms < 0 || end_ms > Timestamp::MAX.as_millisecond() - 365 * DAY_MS {
        return Err(GenerateError::EndOutOfRange { end: options.end });
    }
    Ok((start_ms, end_ms))
}

/// Opens (creating) the database, refusing one that holds events without writing to it.
fn open_empty(path: &Path) -> Result<Store, GenerateError> {
    let missing_or_empty = match std::fs::metadata(path) {
        Ok(meta) => meta.len() == 0,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    };
    if !missing_or_empty {
        // Looked at read-only first: opening a database for writing touches the file, and a
        // refused one must be left exactly as it was.
        let existing = crate::store::scan(path, false)?.events;
        if existing > 0 {
            return Err(GenerateError::NotEmpty {
                path: path.to_owned(),
                events: existing,
            });
        }
    }
    Ok(Store::open(path, &StoreOptions::default())?)
}

/// Writes a synthetic history into `path` (created when missing; refused when it holds events),
/// calling `progress` with the number of events written after every batch.
pub fn generate(
    path: &Path,
    options: &GenerateOptions,
    progress: &dyn Fn(u64),
) -> Result<GenerateSummary, GenerateError> {
    let (start_ms, end_ms) = span(options)?;
    let started = Instant::now();
    let store = Arc::new(open_empty(path)?);
    let clock = Arc::new(FixedClock::new(at(start_ms)));
    let batch = options.batch.max(1);
    let mut writer = Writer::new(
        store.clone(),
        clock.clone(),
        WriterOptions {
            snapshot_every: options.snapshot_every,
            max_batch: batch * 2,
            cache_capacity: (options.cohorts as usize).max(WriterOptions::default().cache_capacity),
            ..WriterOptions::default()
        },
    );

    let mut schedule = Schedule::new(options, start_ms, end_ms);
    let mut ids = Rng::new(options.seed, 4);
    let staff: Vec<Actor> = STAFF
        .iter()
        .map(|name| Actor {
            id: ids.uuid_at(start_ms),
            name: (*name).to_owned(),
        })
        .collect();
    let mut previous_ms = start_ms;
    let mut idle_after_end = 0;
    while schedule.tally.predicted < options.events {
        let (t, past_end, planned) = schedule.next();
        if planned.is_empty() {
            if past_end {
                // Past the end with nothing left that the rules allow: stop short.
                idle_after_end += 1;
                if idle_after_end > 2 {
                    break;
                }
            }
            previous_ms = t;
            continue;
        }
        // Ids carry instants spread over the step, in issue order.
        let count = planned.len() as i64;
        let submissions: Vec<Submission> = planned
            .into_iter()
            .enumerate()
            .map(|(j, p)| {
                let issued = previous_ms + (t - previous_ms) * (j as i64 + 1) / (count + 1);
                let id = Some(ids.uuid_at(issued));
                Submission {
                    correlation_id: id,
                    causation_id: id,
                    command_id: id,
                    new_learner_id: Some(crate::domain::LearnerId(ids.uuid_at(issued))),
                    ..Submission::new(p.request, staff[p.actor as usize].clone())
                }
            })
            .collect();
        clock.set(at(t));
        schedule.tally.record(writer.process(submissions), t)?;
        progress(schedule.tally.written);
        previous_ms = t;
    }
    drop(writer);
    drop(store);
    let elapsed = started.elapsed();
    let bytes = std::fs::metadata(path)
        .map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?
        .len();
    let Schedule {
        tally,
        next_create,
        sim,
        ..
    } = schedule;
    Ok(GenerateSummary {
        events: tally.written,
        cohorts: next_create as u64,
        learners: sim.filed_count,
        refused: tally.refused,
        batches: tally.batches,
        by_type: tally.by_type,
        start: at(start_ms),
        last: at(tally.last_ms.max(start_ms)),
        elapsed,
        bytes,
    })
}

/// Running counts of a generation.
#[derive(Default)]
struct Tally {
    /// Events the mirror expects once everything planned is committed.
    predicted: u64,
    /// Events committed.
    written: u64,
    commands: u64,
    command_events: u64,
    refused: u64,
    batches: u64,
    by_type: [u64; 8],
    last_ms: i64,
}

impl Tally {
    /// Counts what a batch decided at `t` wrote; a failure of the store (or the writer) ends
    /// the generation.
    fn record(&mut self, outcome: BatchOutcome, t: i64) -> Result<(), GenerateError> {
        for result in outcome.results {
            match result {
                Ok(_) => {}
                Err(CommandError::Rejected(violation)) => {
                    tracing::warn!(%violation, "generate: a command was refused");
                    self.refused += 1;
                }
                Err(e) => return Err(GenerateError::Write(e)),
            }
        }
        for envelope in &outcome.envelopes {
            let kind = envelope.event.type_name();
            if let Some(n) = Event::TYPE_NAMES.iter().position(|name| *name == kind) {
                self.by_type[n] += 1;
            }
        }
        self.written += outcome.envelopes.len() as u64;
        self.batches += 1;
        self.last_ms = t;
        Ok(())
    }

    /// Events per random command so far (1.1 before any).
    fn events_per_command(&self) -> f64 {
        if self.commands < 100 {
            1.1
        } else {
            self.command_events as f64 / self.commands as f64
        }
    }
}

/// Runs `rollbook generate`: a progress bar on a terminal, then a summary (and, with `--json`,
/// one JSON line on standard output for scripts).
pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    let end = args.end.unwrap_or_else(|| {
        Timestamp::from_second(Timestamp::now().as_second()).unwrap_or_else(|_| Timestamp::now())
    });
    let mut options =
        GenerateOptions::new(args.cohorts, args.learners, args.events, args.seed, end);
    if let Some(batch) = args.batch {
        options.batch = batch;
    }
    let bar = indicatif::ProgressBar::new(options.events);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "generating [{bar:40}] {human_pos}/{human_len} events  {per_sec:0}  eta {eta}",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let summary = generate(&args.db, &options, &|written| bar.set_position(written));
    bar.finish_and_clear();
    let summary = summary.with_context(|| format!("cannot generate into {}", args.db.display()))?;

    let mut text = format!(
        "generated {} events ({} cohorts, {} learners) in {:.2} s: {:.0} events/s\n\
         history: {} to {} (seed {}; repeat with --end {})\n\
         {}: {} bytes, {:.1} bytes per event\n",
        summary.events,
        summary.cohorts,
        summary.learners,
        summary.elapsed.as_secs_f64(),
        summary.events_per_second(),
        summary.start,
        summary.last,
        options.seed,
        options.end,
        args.db.display(),
        summary.bytes,
        summary.bytes_per_event(),
    );
    for (name, count) in Event::TYPE_NAMES.iter().zip(summary.by_type) {
        writeln!(text, "  {name:<24} {count}")?;
    }
    if summary.refused > 0 {
        writeln!(text, "  {:<24} {}", "refused commands", summary.refused)?;
    }
    if args.json {
        eprint!("{text}");
        let types: serde_json::Map<String, serde_json::Value> = Event::TYPE_NAMES
            .iter()
            .zip(summary.by_type)
            .map(|(name, count)| ((*name).to_owned(), count.into()))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "events": summary.events,
                "cohorts": summary.cohorts,
                "learners": summary.learners,
                "refused": summary.refused,
                "batches": summary.batches,
                "seconds": summary.elapsed.as_secs_f64(),
                "events_per_second": summary.events_per_second().round(),
                "bytes": summary.bytes,
                "bytes_per_event": summary.bytes_per_event(),
                "seed": options.seed,
                "end": options.end.to_string(),
                "types": types,
            })
        );
    } else {
        print!("{text}");
    }
    Ok(())
}
