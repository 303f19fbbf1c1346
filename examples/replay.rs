//! Measures the startup replay: writes a synthetic history through the real writer (rules,
//! encoding, group commits), then times a full rebuild of the projections from the file.
//!
//! `cargo run --release --example replay -- [COHORTS] [DB]` (default 20000 cohorts ≈ 1 M events).
//! Each cohort: created with 30 seats, 40 enrollments (10 waitlisted), 5 withdrawals that each
//! promote the waitlist head: 51 events. A measuring tool, not a test; the performance issue
//! replaces it with the benchmark suite.

#![allow(clippy::cast_precision_loss, reason = "rates for printing")]

use std::sync::Arc;
use std::time::Instant;

use rollbook::clock::FixedClock;
use rollbook::domain::{Capacity, CohortId, NewCohort};
use rollbook::learner_key::LearnerKey;
use rollbook::projections::ReadModel;
use rollbook::store::{Actor, Store, StoreOptions};
use rollbook::writer::{Request, Submission, Writer, WriterOptions};
use uuid::Uuid;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let cohorts: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let path = args
        .next()
        .map_or_else(|| dir.path().join("replay.redb"), Into::into);

    let at = |s: &str| s.parse::<jiff::Timestamp>();
    let clock = Arc::new(FixedClock::new(at("2026-03-01T09:00:00Z")?));
    let store = Arc::new(Store::open(&path, &StoreOptions::default())?);
    let mut writer = Writer::new(store.clone(), clock, WriterOptions::default());
    let learner = |i: usize| LearnerKey::parse(&format!("learner-{i}@example.org"));

    let started = Instant::now();
    let mut batch = Vec::new();
    for c in 0..cohorts {
        let cohort = CohortId(Uuid::now_v7());
        let mut requests = vec![Request::Create {
            cohort,
            new: NewCohort {
                name: format!("Cohort {c}"),
                course: format!("COURSE-{}", c % 50),
                instructor: format!("Instructor {}", c % 200),
                capacity: Capacity::new(30)?,
                starts_at: at("2026-04-01T09:00:00Z")?,
                enrollment_deadline: at("2026-03-20T00:00:00Z")?,
                withdrawal_deadline: at("2026-04-10T00:00:00Z")?,
            },
        }];
        for i in 0..40 {
            requests.push(Request::Enroll {
                cohort,
                learner: learner((c * 7 + i) % 50_000)?,
                name: None,
            });
        }
        for i in 0..5 {
            requests.push(Request::Withdraw {
                cohort,
                learner: learner((c * 7 + i) % 50_000)?,
                reason: "schedule conflict".to_owned(),
            });
        }
        batch.extend(
            requests
                .into_iter()
                .map(|r| Submission::new(r, Actor::local())),
        );
        if batch.len() >= 2048 {
            writer.process(std::mem::take(&mut batch));
        }
    }
    writer.process(batch);
    let written = store.read()?.head_position()?;
    let write_secs = started.elapsed().as_secs_f64();
    println!(
        "wrote {written} events through the writer in {write_secs:.1} s ({:.0} events/s)",
        written as f64 / write_secs
    );
    drop(writer);
    drop(store);

    let store = Store::open(&path, &StoreOptions::default())?;
    let started = Instant::now();
    let mut count = 0u64;
    store.read()?.for_each_event(|_| count += 1)?;
    let scan = started.elapsed().as_secs_f64();
    println!(
        "scan + decode of {count} events: {scan:.2} s ({:.0} events/s)",
        count as f64 / scan
    );
    let (_read_model, summary) = ReadModel::rebuild(&store)?;
    println!(
        "replay into the projections: {} events, {} cohorts, {:.2} s ({:.0} events/s)",
        summary.events,
        summary.cohorts,
        summary.elapsed.as_secs_f64(),
        summary.rate()
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!("peak RSS: {}", line.trim_start_matches("VmHWM:").trim());
        }
    }
    println!("database file: {} bytes", std::fs::metadata(&path)?.len());
    Ok(())
}
