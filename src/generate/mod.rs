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
//!   "Rust 101", "Applied Data Engineering", …) taught by `cohorts / 50 + 1` instructors (both
//!   can be set instead, as the demo does)
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
//! - **Offers and corrections** (module `corrections`, from seed streams of their own): a quarter
//!   of the cohorts are created holding freed seats as offers (24, 48 or 72 h) with a waitlist
//!   cap of `capacity / 3 + 3` (an enrollment that would pass the cap is not asked). A command
//!   chosen for a cohort holding offers answers one 40 % of the time (accepted 75 %, otherwise
//!   declined and the seat offered to the next in line); unanswered offers expire: at each step,
//!   before anything else, the offers due are expired by the `system` actor (as the scheduler
//!   does) and the next in line offered. One-offs: the first scheduled closing that leaves time
//!   before the start is followed 2 h later by a reopening (enrollment deadline moved to an hour
//!   before the start); the least popular cohort created 8 days or more before the end is
//!   cancelled 7 days after its creation (everyone it holds released); one cohort is
//!   rescheduled (start and withdrawal deadline a week later) 2 days after its creation, one
//!   gets the next instructor after a day, and one automatic cohort switches to offers held
//!   48 h (with a cap) after 3 days.
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

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jiff::Timestamp;

use crate::clock::FixedClock;
use crate::config::GenerateArgs;
use crate::domain::Event;
use crate::store::{Actor, Store, StoreError, StoreOptions};
use crate::writer::{BatchOutcome, CommandError, Submission, Writer, WriterOptions};

mod corrections;
mod names;
mod rng;
mod sim;
mod special;

use names::STAFF;
use rng::Rng;
use sim::Schedule;

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
    /// Courses, instead of one per 20 cohorts.
    pub courses: Option<u32>,
    /// Instructors, instead of one per 50 cohorts (plus one).
    pub instructors: Option<u32>,
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
            courses: None,
            instructors: None,
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
    pub by_type: [u64; Event::TYPE_NAMES.len()],
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
#[allow(clippy::cast_possible_truncation, reason = "1440 minutes")]
const MAX_STEP_SLOTS: usize = (DAY_MS / SLOT_MS) as usize;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("simulated instants are checked to be in range")
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
    let mut staff: Vec<Actor> = STAFF
        .iter()
        .map(|name| Actor {
            id: ids.uuid_at(start_ms),
            name: (*name).to_owned(),
        })
        .collect();
    // Rollbook itself (index `sim::SYSTEM`), which expires offers as its scheduler does.
    staff.push(Actor {
        id: uuid::Uuid::max(),
        name: "system".to_owned(),
    });
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
    by_type: [u64; Event::TYPE_NAMES.len()],
    last_ms: i64,
}

impl Tally {
    /// Counts what a batch decided at `t` wrote; a failure of the store (or the writer) ends
    /// the generation.
    fn record(&mut self, outcome: BatchOutcome, t: i64) -> Result<(), GenerateError> {
        for result in outcome.results {
            match result {
                Ok(_) => {}
                Err(
                    CommandError::Rejected(violation)
                    | CommandError::TransferRefused(crate::domain::TransferRefused {
                        violation, ..
                    }),
                ) => {
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
