//! I/O fault injection: the workload with a fault at every operation, and the web app over a
//! fault-injecting backend, driven without a socket.

use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;

use rollbook::clock::FixedClock;
use rollbook::domain::Event;
use rollbook::store::{Store, StoreOptions};
use rollbook::writer::{CommandError, Committed, WriterThread};
use serde_json::{Value, json};

use crate::helpers::wired::wire;
use crate::helpers::{NOW, ts};

use super::audit::*;
use super::backends::*;
use super::workload::*;

/// How a workload submission was answered, comparably between runs (ids differ).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Stored(usize),
    /// An idempotent repeat: answered from the first outcome, writing nothing.
    Replayed(usize),
    Refused(&'static str),
    StorageFailed,
    Other(String),
}

pub fn answer(result: &Result<Committed, CommandError>) -> Answer {
    match result {
        Ok(committed) if committed.replayed => Answer::Replayed(committed.events.len()),
        Ok(committed) => Answer::Stored(committed.events.len()),
        Err(CommandError::Rejected(violation)) => Answer::Refused(violation.code()),
        Err(CommandError::Store(_)) => Answer::StorageFailed,
        Err(other) => Answer::Other(other.to_string()),
    }
}

/// Where the armed part of the workload starts: the batches before it build a store worth
/// failing on.
pub const ARMED_FROM: usize = 8;

/// One fault scenario's figures.
#[derive(Debug, Default)]
pub struct FaultFigures {
    /// Operations the armed part performs without a fault (the fault points).
    pub points: u64,
    /// Scenarios in which the fault fired.
    pub fired: u64,
    /// Commands answered with a storage error.
    pub refused: u64,
    /// Scenarios in which the command in flight was stored after all (unacknowledged).
    pub in_flight_stored: u64,
}

pub fn answers_of(outcome: &[Result<Committed, CommandError>]) -> Vec<Answer> {
    outcome.iter().map(answer).collect()
}

/// The workload without faults: each batch's answers.
pub fn reference_answers(backend: &FaultBackend) -> Vec<Vec<Answer>> {
    let store = Arc::new(
        Store::open_with_backend(
            backend.clone(),
            Path::new("reference.redb"),
            true,
            &StoreOptions::default(),
        )
        .expect("opens"),
    );
    let mut writer = test_writer(&store);
    workload()
        .into_iter()
        .map(|batch| answers_of(&writer.process(batch).results))
        .collect()
}

/// Runs the workload with a fault armed at operation `n` of the armed part, then checks: the
/// process did not panic (a panic fails the test), every answer is the reference answer or a
/// storage error, and both the live image and the durable one (a power loss right after) reopen
/// with every acknowledged command, the batch in flight whole or absent, nothing later, and
/// take new commands. Returns whether the fault fired, the storage errors answered, and
/// whether the batch in flight was stored although unacknowledged.
pub fn fault_scenario(
    reference: &[Vec<Answer>],
    n: u64,
    fault: Fault,
    faulty: Faulty,
    kind: ErrorKind,
) -> Result<(bool, u64, bool), String> {
    let backend = FaultBackend::default();
    let store = Arc::new(
        Store::open_with_backend(
            backend.clone(),
            Path::new("faulty.redb"),
            true,
            &StoreOptions::default(),
        )
        .map_err(|e| e.to_string())?,
    );
    let mut writer = test_writer(&store);
    let mut acknowledged = Vec::new();
    let mut acked_head = 0;
    let mut in_flight: Option<u64> = None;
    let mut refused = 0;
    for (index, batch) in workload().into_iter().enumerate() {
        if index == ARMED_FROM {
            backend.arm(n, fault, faulty, kind);
        }
        let failures_before = backend.failures();
        let head_before = acked_head;
        let results = writer.process(batch).results;
        let answers = answers_of(&results);
        // Until the fault fires the answers are the reference's; from then on the state may
        // differ (commands failed), but an answer is still a storage error, a refusal, or a
        // stored command (checked to survive below), never anything else.
        let fired_now = in_flight.is_none() && backend.failures() > failures_before;
        let diverged = in_flight.is_some() || fired_now;
        for (got, expected) in answers.iter().zip(&reference[index]) {
            match got {
                Answer::StorageFailed => refused += 1,
                // The batch the fault hit acknowledges none of its changes.
                Answer::Stored(_) if fired_now => {
                    return Err(format!(
                        "batch {index}, hit by the fault, acknowledged a command: {got:?}"
                    ));
                }
                Answer::Stored(_) | Answer::Refused(_) if diverged => {}
                _ if got == expected => {}
                _ => {
                    return Err(format!(
                        "batch {index} answered {got:?} where {expected:?} was due"
                    ));
                }
            }
        }
        let stored: u64 = answers
            .iter()
            .map(|a| match a {
                Answer::Stored(n) => *n as u64,
                _ => 0,
            })
            .sum();
        for committed in results.into_iter().flatten() {
            if !committed.replayed {
                acked_head = acked_head.max(committed.position());
            }
            acknowledged.push(committed);
        }
        if fired_now {
            let due: u64 = reference[index]
                .iter()
                .map(|a| match a {
                    Answer::Stored(n) => *n as u64,
                    _ => 0,
                })
                .sum();
            // The batch during which the fault fired: what it could have stored at most.
            in_flight = Some(head_before + due.max(stored));
        }
    }
    // The fault stays through closing the store, then storage works again.
    drop(writer);
    drop(store);
    let fired = backend.failures() > 0;
    backend.disarm();
    let limit = in_flight.unwrap_or(acked_head);
    let mut in_flight_stored = false;
    for (what, image) in [("live", backend.live()), ("durable", backend.durable())] {
        let store = reopen(image).map_err(|e| format!("{what} image: {e}"))?;
        let audit = audit(&store).map_err(|e| format!("{what} image: {e}"))?;
        check_acknowledged(&audit, &acknowledged).map_err(|e| format!("{what} image: {e}"))?;
        let head = audit.head();
        if head != acked_head && head != limit {
            return Err(format!(
                "{what} image: head {head}, but {acked_head} was acknowledged and the batch in \
                 flight ends at {limit}"
            ));
        }
        if head > acked_head {
            // Stored although answered with an error: only a failed sync leaves the outcome
            // unknown (every write reached the file); a failed write must never commit.
            let failed = backend.last_failed();
            if failed != "sync" {
                return Err(format!(
                    "{what} image holds the batch in flight although a {failed} failed"
                ));
            }
        }
        in_flight_stored |= head > acked_head;
        check_writable(store).map_err(|e| format!("{what} image: {e}"))?;
    }
    Ok((fired, refused, in_flight_stored))
}

/// Runs a fault at every operation of the armed part of the workload.
pub fn every_fault_point(fault: Fault, faulty: Faulty, kind: ErrorKind) -> FaultFigures {
    let probe = FaultBackend::default();
    let reference = reference_answers(&probe);
    // Count the armed part's operations: arm far beyond reach, run, read the count.
    let counting = FaultBackend::default();
    {
        let store = Arc::new(
            Store::open_with_backend(
                counting.clone(),
                Path::new("count.redb"),
                true,
                &StoreOptions::default(),
            )
            .expect("opens"),
        );
        let mut writer = test_writer(&store);
        for (index, batch) in workload().into_iter().enumerate() {
            if index == ARMED_FROM {
                counting.arm(u64::MAX, fault, faulty, kind);
            }
            writer.process(batch);
        }
    }
    let mut figures = FaultFigures {
        points: counting.counted(),
        ..FaultFigures::default()
    };
    for n in 1..=figures.points {
        match fault_scenario(&reference, n, fault, faulty, kind) {
            Ok((fired, refused, in_flight_stored)) => {
                figures.fired += u64::from(fired);
                figures.refused += refused;
                figures.in_flight_stored += u64::from(in_flight_stored);
            }
            Err(e) => panic!("{fault:?} {faulty:?} {kind:?} fault at operation {n}: {e}"),
        }
    }
    figures
}

/// The web app over a store on a fault-injecting backend, driven without a socket.
pub struct FaultyApp {
    router: Option<axum::Router>,
    writer: Option<WriterThread>,
    token: String,
    pub backend: FaultBackend,
}

impl FaultyApp {
    pub fn start() -> Self {
        let backend = FaultBackend::default();
        let store = Arc::new(
            Store::open_with_backend(
                backend.clone(),
                Path::new("faulty.redb"),
                true,
                &StoreOptions::default(),
            )
            .expect("opens"),
        );
        let clock = Arc::new(FixedClock::new(ts(NOW)));
        let wired = wire(&store, &clock, "faults");
        Self {
            router: Some(wired.router),
            writer: Some(wired.writer),
            token: wired.token,
            backend,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        use tower::ServiceExt as _;
        let request = axum::http::Request::post(path)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        let router = self.router.clone().expect("running");
        let response = router.oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn create_cohort(&self) -> String {
        let (status, body) = self
            .post("/api/v1/cohorts", &crate::helpers::cohort_body("Faulty", 2))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// `GET /healthz`: status and body.
    pub async fn health(&self) -> (u16, Value) {
        use tower::ServiceExt as _;
        let request = axum::http::Request::get("/healthz")
            .body(axum::body::Body::empty())
            .expect("request");
        let router = self.router.clone().expect("running");
        let response = router.oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn enroll(&self, cohort: &str, learner: &str) -> (u16, Value) {
        self.post(
            &format!("/api/v1/cohorts/{cohort}/enrollments"),
            &json!({"learner": learner}),
        )
        .await
    }

    /// Stops the app (the writer drains and the store closes) and returns the backend.
    pub async fn stop(mut self) -> FaultBackend {
        drop(self.router.take());
        let thread = self.writer.take().expect("running");
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .expect("writer joined");
        self.backend.clone()
    }
}

/// The learner keys enrolled or waitlisted in a reopened image, by event.
pub fn stored_learners(image: Vec<u8>) -> Vec<String> {
    let store = reopen(image).expect("reopens");
    let audit = audit(&store).expect("audits");
    audit
        .events
        .iter()
        .filter_map(|e| match e.event {
            Event::StudentEnrolled { learner } | Event::StudentWaitlisted { learner, .. } => {
                audit.learners.get(&learner).cloned()
            }
            _ => None,
        })
        .collect()
}
