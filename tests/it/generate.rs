//! `rollbook generate`: the same seed gives the same history, the history holds every kind of
//! event with about the number of events asked for, replaying it keeps every cohort's
//! invariants, and a database that already holds events is refused and left untouched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::process::BIN;
use jiff::{SignedDuration, Timestamp};
use rollbook::domain::{Event, LearnerId};
use rollbook::generate::{GenerateOptions, GenerateSummary, generate};
use rollbook::projections::Projections;
use rollbook::store::{Envelope, Store, StoreOptions};
use tempfile::TempDir;
use uuid::Uuid;

const END: &str = "2026-03-01T09:00:00Z";
const EVENTS: u64 = 4000;
const BATCH: usize = 512;

fn options(seed: u64) -> GenerateOptions {
    let mut options = GenerateOptions::new(40, 300, EVENTS, seed, END.parse().unwrap());
    options.batch = BATCH;
    options
}

/// Generates into a fresh file of a fresh directory.
fn generated(options: &GenerateOptions) -> (TempDir, PathBuf, GenerateSummary) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generated.redb");
    let summary = generate(&path, options, &|_| {}).expect("generates");
    (dir, path, summary)
}

fn events(path: &Path) -> Vec<Envelope> {
    let store = Store::open(path, &StoreOptions::default()).unwrap();
    let mut events = Vec::new();
    store
        .read()
        .unwrap()
        .for_each_event(|e| events.push(e))
        .unwrap();
    events
}

/// Renumbers the ids the writer still mints itself (command ids and learner ids, with
/// `Uuid::now_v7`) by order of first appearance; everything else is kept as stored.
fn canonical(events: &[Envelope]) -> Vec<Envelope> {
    fn renumber(map: &mut HashMap<Uuid, Uuid>, id: Uuid) -> Uuid {
        let next = Uuid::from_u128(map.len() as u128 + 1);
        *map.entry(id).or_insert(next)
    }
    let (mut commands, mut learners) = (HashMap::new(), HashMap::new());
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.meta.command_id = renumber(&mut commands, e.meta.command_id);
            let mut who = |l: LearnerId| LearnerId(renumber(&mut learners, l.0));
            e.event = match e.event {
                Event::StudentEnrolled { learner } => Event::StudentEnrolled {
                    learner: who(learner),
                },
                Event::StudentWaitlisted { learner, position } => Event::StudentWaitlisted {
                    learner: who(learner),
                    position,
                },
                Event::StudentWithdrawn {
                    learner,
                    reason_code,
                    reason,
                } => Event::StudentWithdrawn {
                    learner: who(learner),
                    reason_code,
                    reason,
                },
                Event::WaitlistLeft { learner, reason } => Event::WaitlistLeft {
                    learner: who(learner),
                    reason,
                },
                Event::WaitlistPromoted { learner } => Event::WaitlistPromoted {
                    learner: who(learner),
                },
                Event::StudentReleased { learner } => Event::StudentReleased {
                    learner: who(learner),
                },
                Event::WaitlistOffered {
                    learner,
                    offered_at,
                    expires_at,
                } => Event::WaitlistOffered {
                    learner: who(learner),
                    offered_at,
                    expires_at,
                },
                Event::OfferAccepted { learner } => Event::OfferAccepted {
                    learner: who(learner),
                },
                Event::OfferDeclined { learner, reason } => Event::OfferDeclined {
                    learner: who(learner),
                    reason,
                },
                Event::OfferExpired { learner } => Event::OfferExpired {
                    learner: who(learner),
                },
                Event::StudentTransferredOut {
                    learner,
                    to,
                    reason,
                } => Event::StudentTransferredOut {
                    learner: who(learner),
                    to,
                    reason,
                },
                Event::StudentTransferredIn {
                    learner,
                    from,
                    waitlisted_at,
                } => Event::StudentTransferredIn {
                    learner: who(learner),
                    from,
                    waitlisted_at,
                },
                other @ (Event::CohortCreated(_)
                | Event::CapacityChanged { .. }
                | Event::EnrollmentClosed
                | Event::EnrollmentReopened { .. }
                | Event::CohortRescheduled { .. }
                | Event::CohortDetailsChanged { .. }
                | Event::CohortCancelled { .. }
                | Event::PolicyChanged { .. }) => other,
            };
            e
        })
        .collect()
}

/// Asserts two histories are equal, showing only the first difference.
fn assert_same(a: &[Envelope], b: &[Envelope]) {
    if let Some(i) = (0..a.len().min(b.len())).find(|&i| a[i] != b[i]) {
        panic!(
            "histories differ first at position {}:\n{:?}\n{:?}",
            i + 1,
            a[i],
            b[i]
        );
    }
    assert_eq!(a.len(), b.len(), "histories of different lengths");
}

/// The learner directory without its ids: (key, name), sorted.
fn directory(path: &Path) -> Vec<(String, String)> {
    let store = Store::open(path, &StoreOptions::default()).unwrap();
    let mut entries: Vec<(String, String)> = store
        .read()
        .unwrap()
        .learners()
        .unwrap()
        .into_iter()
        .map(|(_, record)| (record.key, record.name))
        .collect();
    entries.sort();
    entries
}

#[test]
fn the_same_seed_gives_the_same_history_and_another_seed_another() {
    let (_a, first, summary) = generated(&options(7));
    let (_b, second, _) = generated(&options(7));
    let (_c, other, _) = generated(&options(8));
    let (first, second, other) = (
        (events(&first), directory(&first)),
        (events(&second), directory(&second)),
        (events(&other), directory(&other)),
    );
    assert_eq!(first.0.len() as u64, summary.events);
    assert_same(&canonical(&first.0), &canonical(&second.0));
    assert_eq!(first.1, second.1, "the same learners, keys and names");
    assert_ne!(canonical(&first.0), canonical(&other.0));
    // Cohort ids, times and correlation ids come from the seed, not from the clock.
    assert_eq!(first.0[0].cohort, second.0[0].cohort);
    assert_ne!(first.0[0].cohort, other.0[0].cohort);
}

#[test]
fn the_same_seed_gives_identical_envelopes() {
    let (_a, first, _) = generated(&options(7));
    let (_b, second, _) = generated(&options(7));
    assert_same(&events(&first), &events(&second));
}

#[test]
fn the_history_holds_every_kind_of_event_and_about_the_events_asked_for() {
    let (_dir, path, summary) = generated(&options(1));
    let events = events(&path);
    let n = events.len() as u64;
    assert_eq!(n, summary.events);
    assert!(
        (EVENTS..EVENTS + BATCH as u64).contains(&n),
        "{n} events for {EVENTS} asked"
    );
    assert_eq!(
        summary.refused, 0,
        "the generator only asks what the rules allow"
    );
    assert_eq!(summary.cohorts, 40);
    let mut by_type: HashMap<&str, u64> = HashMap::new();
    for e in &events {
        *by_type.entry(e.event.type_name()).or_default() += 1;
    }
    // Every type of event, transfers included.
    for name in Event::TYPE_NAMES {
        assert!(
            by_type.get(name).copied().unwrap_or(0) > 0,
            "no {name} in {by_type:?}"
        );
    }
    assert_eq!(by_type["cohort.created"], 40);
    let counted: Vec<u64> = Event::TYPE_NAMES
        .iter()
        .map(|t| by_type.get(t).copied().unwrap_or(0))
        .collect();
    assert_eq!(counted, summary.by_type);

    // Spread over the 12 weeks before the end, in time order.
    let end: Timestamp = END.parse().unwrap();
    let start = end - SignedDuration::from_hours(12 * 7 * 24);
    assert!(
        events
            .windows(2)
            .all(|w| w[0].occurred_at <= w[1].occurred_at)
    );
    assert!(events[0].occurred_at >= start && events[events.len() - 1].occurred_at <= end);
    let days: std::collections::HashSet<i64> = events
        .iter()
        .map(|e| e.occurred_at.as_second() / 86_400)
        .collect();
    assert!(days.len() > 40, "events on {} days only", days.len());
}

#[test]
fn replaying_the_history_keeps_every_cohorts_invariants() {
    let (_dir, path, summary) = generated(&options(3));
    let created_with: HashMap<_, _> = events(&path)
        .into_iter()
        .filter_map(|e| match e.event {
            Event::CohortCreated(data) => Some((e.cohort, data.capacity)),
            _ => None,
        })
        .collect();
    let store = Store::open(&path, &StoreOptions::default()).unwrap();
    let projections = Projections::rebuild(&store).unwrap();
    assert_eq!(projections.events_applied, summary.events);
    assert_eq!(projections.catalog.len(), 40);
    let (mut waiting, mut closed, mut changed) = (0, 0, 0);
    for id in projections.catalog.ids() {
        let view = projections.catalog.get(id).unwrap();
        let cohort = &view.state;
        assert_eq!(cohort.check_invariants(), Ok(()), "cohort {id}");
        assert!(cohort.enrolled_count() <= cohort.capacity.seats());
        assert!(cohort.enrollment_deadline <= cohort.starts_at);
        assert!(cohort.starts_at <= cohort.withdrawal_deadline);
        waiting += usize::from(!cohort.waitlist.is_empty());
        closed += usize::from(cohort.status == rollbook::domain::CohortStatus::Closed);
        changed += usize::from(cohort.capacity != created_with[&id]);
    }
    assert!(waiting > 0 && closed > 0 && changed > 0);
    assert_eq!(
        projections.directory.len() as u64,
        summary.learners,
        "every learner enrolled is filed once"
    );
}

#[test]
fn the_binary_refuses_a_database_that_holds_events_and_leaves_it_untouched() {
    let mut small = options(1);
    small.cohorts = 5;
    small.events = 200;
    let (_dir, path, _) = generated(&small);
    let before = std::fs::read(&path).unwrap();
    let out = Command::new(BIN)
        .args([
            "generate",
            "--cohorts",
            "5",
            "--learners",
            "50",
            "--events",
            "200",
        ])
        .args(["--seed", "2", "--end", END, "--db"])
        .arg(&path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already holds"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is unchanged"
    );
}

#[test]
fn the_binary_writes_a_new_database_and_reports_one_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.redb");
    let out = Command::new(BIN)
        .args([
            "generate",
            "--cohorts",
            "5",
            "--learners",
            "50",
            "--events",
            "300",
        ])
        .args(["--seed", "2", "--end", END, "--json"])
        .env("ROLLBOOK_DB", &path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    let written = line["events"].as_u64().unwrap();
    assert!(written >= 300, "{line}");
    assert_eq!(line["cohorts"], 5);
    assert_eq!(
        line["bytes"].as_u64(),
        Some(std::fs::metadata(&path).unwrap().len())
    );
    for key in [
        "seconds",
        "events_per_second",
        "bytes_per_event",
        "learners",
    ] {
        assert!(line[key].is_number(), "{key} in {line}");
    }
    assert_eq!(events(&path).len() as u64, written);
}
