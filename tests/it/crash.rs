//! Crash safety, tested three ways: the real binary killed with SIGKILL under load; simulated
//! power loss through a redb storage backend that keeps what was synced apart from what was
//! written; and storage that fails after N operations. In every case each acknowledged command's
//! events survive, no command appears half-applied, and the store reopens and serves.
//!
//! The harness it shares with `bad_files.rs` (the seeded generator, the store audit, the
//! in-memory and fault-injecting backends, the scripted workload, the `rollbook serve` child
//! process) lives in `helpers/`.

use std::collections::{HashMap, HashSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redb::StorageBackend;
use rollbook::domain::{Event, LearnerId};
use rollbook::store::{Envelope, Store, StoreOptions};
use rollbook::writer::Committed;
use serde_json::{Value, json};

use crate::helpers::keys;

use crate::helpers::audit::*;
use crate::helpers::backends::*;
use crate::helpers::faults::*;
use crate::helpers::process::*;
use crate::helpers::workload::*;

// ---------------------------------------------------------------------------------------------
// a. kill -9 of the real binary under load
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Create,
    Enroll,
    Withdraw,
}

/// A command the server answered 2xx: it must be in the store from then on.
#[derive(Clone, Debug)]
struct Ack {
    op: Op,
    cohort: String,
    learner: String,
    position: u64,
}

const COHORTS: usize = 3;
const LEARNERS_PER_COHORT: u64 = 10;
const CLIENTS: u64 = 6;

fn api_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn create_cohorts(
    client: &reqwest::Client,
    server: &ServerProcess,
) -> (Vec<String>, Vec<Ack>) {
    let mut ids = Vec::new();
    let mut acks = Vec::new();
    for n in 0..COHORTS {
        // The binary runs on the system clock: deadlines far ahead.
        let body = json!({
            "name": format!("Kill {n}"),
            "course": "KILL-9",
            "instructor": "Ada Lovelace",
            "capacity": 3,
            "starts_at": "2099-03-15T09:00:00Z",
            "enrollment_deadline": "2099-03-10T00:00:00Z",
            "withdrawal_deadline": "2099-03-20T00:00:00Z",
        });
        let response = client
            .post(server.url("/api/v1/cohorts"))
            .json(&body)
            .send()
            .await
            .expect("create");
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.expect("JSON");
        let id = created["id"].as_str().expect("id").to_owned();
        acks.push(Ack {
            op: Op::Create,
            cohort: id.clone(),
            learner: String::new(),
            position: created["position"].as_u64().expect("position"),
        });
        ids.push(id);
    }
    (ids, acks)
}

/// One client: enrolls and withdraws random learners until the server stops answering (or a
/// cap, so a kill that never comes cannot hang the test). Sends each acknowledgement as it
/// arrives; returns any answer no client should ever get (a 5xx, or an unknown status).
async fn client_loop(
    client: reqwest::Client,
    base: String,
    cohorts: Arc<Vec<String>>,
    mut rng: Rng,
    acks: tokio::sync::mpsc::UnboundedSender<Ack>,
    killed: Arc<AtomicBool>,
) -> Vec<String> {
    let mut anomalies = Vec::new();
    for _ in 0..2_000 {
        let index = rng.below(cohorts.len() as u64);
        let cohort = cohorts[usize::try_from(index).unwrap()].clone();
        let learner = format!(
            "learner-{index}-{}@example.org",
            rng.below(LEARNERS_PER_COHORT)
        );
        let op = if rng.chance(60) {
            Op::Enroll
        } else {
            Op::Withdraw
        };
        let path = match op {
            Op::Enroll => "enrollments",
            _ => "withdrawals",
        };
        let sent = client
            .post(format!("{base}/api/v1/cohorts/{cohort}/{path}"))
            .json(&json!({"learner": learner}))
            .send()
            .await;
        let Ok(response) = sent else { break };
        let status = response.status().as_u16();
        let Ok(body) = response.json::<Value>().await else {
            break;
        };
        match status {
            200 => {
                let position = body["position"].as_u64().expect("position");
                let ack = Ack {
                    op,
                    cohort,
                    learner,
                    position,
                };
                if acks.send(ack).is_err() {
                    break;
                }
            }
            404 | 409 | 422 => {}
            other if killed.load(Ordering::Acquire) => {
                anomalies.push(format!("after the kill: {other} {body}"));
            }
            other => anomalies.push(format!("{other} {body}")),
        }
    }
    anomalies
}

/// Checks each acknowledgement against an audited store: the event at the answered position is
/// the last of a command of that cohort, and that command did what was answered to the learner.
fn check_acks(audit: &Audit, acks: &[Ack]) -> Result<(), String> {
    let ids: HashMap<&str, LearnerId> = audit
        .learners
        .iter()
        .map(|(id, key)| (key.as_str(), *id))
        .collect();
    let mut positions = HashSet::new();
    for ack in acks {
        if !positions.insert(ack.position) {
            return Err(format!(
                "two acknowledgements name position {}",
                ack.position
            ));
        }
        let range = audit.command_at(ack.position).ok_or_else(|| {
            format!(
                "acknowledged {:?} of {} at position {} is lost (head {})",
                ack.op,
                ack.learner,
                ack.position,
                audit.head()
            )
        })?;
        let events = &audit.events[range.clone()];
        let last = events.last().expect("a command has events");
        if last.position != ack.position || last.cohort.to_string() != ack.cohort {
            return Err(format!(
                "position {} is not the last event of the acknowledged command in {}",
                ack.position, ack.cohort
            ));
        }
        let did = match ack.op {
            Op::Create => matches!(events[0].event, Event::CohortCreated(_)),
            Op::Enroll | Op::Withdraw => {
                let learner = *ids
                    .get(ack.learner.as_str())
                    .ok_or_else(|| format!("acknowledged learner {} is not filed", ack.learner))?;
                match (&events[0].event, ack.op) {
                    (
                        Event::StudentEnrolled { learner: l }
                        | Event::StudentWaitlisted { learner: l, .. },
                        Op::Enroll,
                    )
                    | (
                        Event::StudentWithdrawn { learner: l, .. }
                        | Event::WaitlistLeft { learner: l, .. },
                        Op::Withdraw,
                    ) => *l == learner,
                    _ => false,
                }
            }
        };
        if !did {
            return Err(format!(
                "the command at position {} is not the acknowledged {:?} of {}",
                ack.position, ack.op, ack.learner
            ));
        }
    }
    Ok(())
}

/// The restarted server serves exactly the audited state of every cohort.
async fn check_served(
    client: &reqwest::Client,
    server: &ServerProcess,
    audit: &Audit,
) -> Result<(), String> {
    let health = client
        .get(server.url("/healthz"))
        .send()
        .await
        .map_err(|e| format!("health: {e}"))?;
    if !health.status().is_success() {
        return Err(format!("health answers {}", health.status()));
    }
    for (id, cohort) in &audit.cohorts {
        let body: Value = client
            .get(server.url(&format!("/api/v1/cohorts/{id}")))
            .send()
            .await
            .map_err(|e| format!("cohort {id}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("cohort {id}: {e}"))?;
        let key_of = |l: &LearnerId| audit.learners.get(l).cloned().unwrap_or_default();
        let enrolled: Vec<String> = cohort.enrolled.iter().map(key_of).collect();
        let waitlist: Vec<String> = cohort.waitlist.iter().map(|e| key_of(&e.learner)).collect();
        if keys(&body, "enrolled") != enrolled || keys(&body, "waitlist") != waitlist {
            return Err(format!(
                "cohort {id} is served as {body} but the store holds enrolled {enrolled:?}, \
                 waitlist {waitlist:?}"
            ));
        }
    }
    Ok(())
}

/// Figures of a kill -9 run.
#[derive(Debug, Default)]
struct KillFigures {
    cycles: usize,
    acknowledged_commands: usize,
    acknowledged_events: usize,
    stored_events: u64,
    /// Commands stored but never answered: in flight when the kill landed.
    unanswered_but_stored: usize,
    lost: usize,
}

async fn audit_file(db: PathBuf) -> Result<Audit, String> {
    tokio::task::spawn_blocking(move || {
        let store = Store::open(&db, &StoreOptions::default())
            .map_err(|e| format!("the killed server's file does not open: {e}"))?;
        let audit = audit(&store)?;
        drop(store);
        let mut redb = redb::Database::open(&db).map_err(|e| format!("redb: {e}"))?;
        match redb.check_integrity() {
            Ok(true) => {}
            other => return Err(format!("redb's integrity check: {other:?}")),
        }
        drop(redb);
        let verified = rollbook_cli(&db, &["verify"], "");
        if !verified.status.success() {
            return Err(format!(
                "rollbook verify fails: {}{}",
                String::from_utf8_lossy(&verified.stdout),
                String::from_utf8_lossy(&verified.stderr)
            ));
        }
        Ok(audit)
    })
    .await
    .expect("audit task")
}

/// Runs `cycles` of: (re)start the binary, check it serves what the store holds, load it from
/// several clients, SIGKILL it once a seeded random number of commands were acknowledged (plus
/// a seeded delay under 3 ms), and audit the file against every acknowledgement so far.
async fn kill_nine_cycles(cycles: usize, seed: u64) -> KillFigures {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("kill9.redb");
    let token = staff_token(&db, "crash");
    let client = api_client(&token);
    let mut rng = Rng::new(seed);
    let mut acks: Vec<Ack> = Vec::new();
    let mut cohorts = Vec::new();
    let mut figures = KillFigures::default();
    let mut last_audit: Option<Audit> = None;
    for cycle in 0..=cycles {
        let path = db.clone();
        let mut server = tokio::task::spawn_blocking(move || ServerProcess::start(&path))
            .await
            .expect("start task");
        if let Some(audit) = &last_audit {
            if let Err(e) = check_served(&client, &server, audit).await {
                panic!("seed {seed}, restart after cycle {cycle}: {e}");
            }
        }
        if cycle == cycles {
            break;
        }
        if cohorts.is_empty() {
            let (ids, created) = create_cohorts(&client, &server).await;
            cohorts = ids;
            acks.extend(created);
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let killed = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(cohorts.clone());
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..CLIENTS {
            tasks.spawn(client_loop(
                client.clone(),
                format!("http://{}", server.addr),
                shared.clone(),
                Rng::new(rng.next_u64() ^ n),
                tx.clone(),
                killed.clone(),
            ));
        }
        drop(tx);
        let trigger = 1 + rng.below(300);
        let delay = Duration::from_micros(rng.below(3_000));
        let mut acknowledged_now = 0;
        while acknowledged_now < trigger {
            let Some(ack) = rx.recv().await else { break };
            acks.push(ack);
            acknowledged_now += 1;
        }
        tokio::time::sleep(delay).await;
        killed.store(true, Ordering::Release);
        let status = server.kill_9();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "the server died of SIGKILL, not on its own: {status}"
        );
        while let Some(ack) = rx.recv().await {
            acks.push(ack);
        }
        while let Some(anomalies) = tasks.join_next().await {
            let anomalies = anomalies.expect("client task");
            assert!(
                anomalies.is_empty(),
                "seed {seed}, cycle {cycle}: {anomalies:#?}"
            );
        }
        let audit = match audit_file(db.clone()).await {
            Ok(audit) => audit,
            Err(e) => panic!("seed {seed}, after kill {cycle}: {e}"),
        };
        figures.lost += acks
            .iter()
            .filter(|a| audit.command_at(a.position).is_none())
            .count();
        if let Err(e) = check_acks(&audit, &acks) {
            panic!("seed {seed}, after kill {cycle}: {e}");
        }
        figures.cycles += 1;
        last_audit = Some(audit);
    }
    let audit = last_audit.expect("at least one cycle");
    figures.acknowledged_commands = acks.len();
    figures.acknowledged_events = acks
        .iter()
        .map(|a| {
            audit
                .command_at(a.position)
                .map_or(0, ExactSizeIterator::len)
        })
        .sum();
    figures.stored_events = audit.head();
    figures.unanswered_but_stored = audit.commands.len() - acks.len();
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_under_load_loses_no_acknowledged_command_in_twenty_cycles() {
    let seed = seed();
    let figures = kill_nine_cycles(20, seed).await;
    eprintln!("kill -9 (seed {seed}): {figures:?}");
    assert_eq!(figures.cycles, 20);
    assert_eq!(figures.lost, 0);
    assert!(figures.acknowledged_commands >= 20 * 2);
}

/// The soak: `ROLLBOOK_SOAK_CYCLES` cycles (default 200); run by `scripts/soak.sh`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a long soak; run it with scripts/soak.sh"]
async fn kill_nine_soak() {
    let cycles = std::env::var("ROLLBOOK_SOAK_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let seed = seed();
    let figures = kill_nine_cycles(cycles, seed).await;
    eprintln!("kill -9 soak (seed {seed}): {figures:?}");
    assert_eq!(figures.cycles, cycles);
    assert_eq!(figures.lost, 0);
}

// ---------------------------------------------------------------------------------------------
// b. simulated power loss
// ---------------------------------------------------------------------------------------------

/// What the store was doing when a sync happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Creating the database.
    Opening,
    /// Committing the workload's batch with this index.
    Batch(usize),
    /// Closing the database after the workload.
    Closing,
}

#[derive(Debug)]
enum StorageOp {
    Write(u64, Vec<u8>),
    SetLen(u64),
    Sync(Phase),
}

#[derive(Debug)]
struct Recording {
    live: Vec<u8>,
    log: Vec<StorageOp>,
    phase: Phase,
}

/// Records every write, length change and sync in order, so any crash image can be rebuilt
/// afterwards: the durable image at a sync point is every operation before the previous sync.
#[derive(Clone, Debug)]
struct RecordingBackend(Arc<Mutex<Recording>>);

impl RecordingBackend {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Recording {
            live: Vec::new(),
            log: Vec::new(),
            phase: Phase::Opening,
        })))
    }

    fn set_phase(&self, phase: Phase) {
        self.0.lock().unwrap().phase = phase;
    }
}

impl StorageBackend for RecordingBackend {
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.0.lock().unwrap().live.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        read_at(&self.0.lock().unwrap().live, offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        state.live.resize(usize::try_from(len).expect("fits"), 0);
        state.log.push(StorageOp::SetLen(len));
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        let phase = state.phase;
        state.log.push(StorageOp::Sync(phase));
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        write_at(&mut state.live, offset, data);
        state.log.push(StorageOp::Write(offset, data.to_vec()));
        Ok(())
    }
}

fn apply_op(image: &mut Vec<u8>, op: &StorageOp) {
    match op {
        StorageOp::Write(offset, data) => write_at(image, *offset, data),
        StorageOp::SetLen(len) => image.resize(usize::try_from(*len).expect("fits"), 0),
        StorageOp::Sync(_) => {}
    }
}

/// The workload run once over a recording backend.
struct RecordedRun {
    log: Vec<StorageOp>,
    /// Commands acknowledged by each batch.
    acknowledged: Vec<Vec<Committed>>,
    /// Head position after each batch.
    heads: Vec<u64>,
    /// Every event of the finished run.
    events: Vec<Envelope>,
}

fn record_workload() -> RecordedRun {
    let backend = RecordingBackend::new();
    let store = Arc::new(
        Store::open_with_backend(
            backend.clone(),
            Path::new("power.redb"),
            true,
            &StoreOptions::default(),
        )
        .expect("store opens"),
    );
    let mut writer = test_writer(&store);
    let mut acknowledged = Vec::new();
    let mut heads = Vec::new();
    for (index, batch) in workload().into_iter().enumerate() {
        backend.set_phase(Phase::Batch(index));
        let outcome = writer.process(batch);
        acknowledged.push(outcome.results.into_iter().filter_map(Result::ok).collect());
        heads.push(store.read().unwrap().head_position().unwrap());
    }
    let events = audit(&store).expect("the finished run audits").events;
    backend.set_phase(Phase::Closing);
    drop(writer);
    drop(store);
    let log = std::mem::take(&mut backend.0.lock().unwrap().log);
    RecordedRun {
        log,
        acknowledged,
        heads,
        events,
    }
}

/// Which unsynced operations a crash image keeps.
#[derive(Clone, Copy, Debug)]
enum Keep {
    /// None: only what was synced.
    Nothing,
    /// All: the whole live image.
    Everything,
    /// Each with even odds.
    Random,
    /// Each with even odds, and one kept write torn: only its first sectors (512 bytes each)
    /// reached the disk.
    Torn,
}

/// Builds a crash image: the durable image plus the unsynced operations `keep` chooses (in
/// order). Returns it with the operations kept, by index.
fn crash_image(
    durable: &[u8],
    pending: &[&StorageOp],
    keep: Keep,
    rng: &mut Rng,
) -> (Vec<u8>, Vec<String>) {
    let chosen: Vec<usize> = (0..pending.len())
        .filter(|_| match keep {
            Keep::Nothing => false,
            Keep::Everything => true,
            Keep::Random | Keep::Torn => rng.chance(50),
        })
        .collect();
    let writes: Vec<usize> = chosen
        .iter()
        .copied()
        .filter(|&n| matches!(pending[n], StorageOp::Write(..)))
        .collect();
    let torn = match keep {
        Keep::Torn if !writes.is_empty() => {
            Some(writes[usize::try_from(rng.below(writes.len() as u64)).unwrap()])
        }
        _ => None,
    };
    let mut image = durable.to_vec();
    let mut kept = Vec::new();
    for n in chosen {
        match (pending[n], torn == Some(n)) {
            (StorageOp::Write(offset, data), true) => {
                let sectors = data.len().div_ceil(512) as u64;
                let reached = (usize::try_from(rng.below(sectors)).unwrap() * 512).min(data.len());
                write_at(&mut image, *offset, &data[..reached]);
                kept.push(format!("{n} (torn)"));
            }
            (op, _) => {
                apply_op(&mut image, op);
                kept.push(n.to_string());
            }
        }
    }
    (image, kept)
}

/// Checks one crash image taken during `phase`: it reopens (redb repairs it), passes the audit
/// and redb's integrity check, holds every command acknowledged before the crash, holds either
/// all or none of the batch in flight and nothing after it, equals what was written, and takes
/// new commands. Returns the recovered head position.
fn check_crash_image(run: &RecordedRun, phase: Phase, image: Vec<u8>) -> Result<u64, String> {
    let (before, in_flight) = match phase {
        Phase::Opening => (0, 0),
        Phase::Batch(index) => (index, index + 1),
        Phase::Closing => (run.heads.len(), run.heads.len()),
    };
    let head_after = |batches: usize| batches.checked_sub(1).map_or(0, |i| run.heads[i]);
    let backend = ImageBackend::with(image);
    let fresh = backend.image().is_empty();
    let store = Store::open_with_backend(
        backend.clone(),
        Path::new("recovered.redb"),
        fresh,
        &StoreOptions::default(),
    )
    .map_err(|e| format!("the recovered image does not open: {e}"))?;
    let audit = audit(&store)?;
    let acknowledged: Vec<Committed> = run.acknowledged[..before].concat();
    check_acknowledged(&audit, &acknowledged)?;
    let head = audit.head();
    if head != head_after(before) && head != head_after(in_flight) {
        return Err(format!(
            "recovered head {head} is neither {} (before the batch in flight) nor {} (after it)",
            head_after(before),
            head_after(in_flight)
        ));
    }
    if audit.events[..] != run.events[..audit.events.len()] {
        return Err("recovered events differ from what was written".to_owned());
    }
    drop(store);
    let repaired = backend.image();
    redb_integrity(repaired.clone())?;
    check_writable(reopen(repaired)?)?;
    Ok(head)
}

#[test]
fn power_loss_at_every_sync_point_keeps_every_acknowledged_command() {
    let seed = seed();
    let mut rng = Rng::new(seed);
    let run = record_workload();
    let mut durable = Vec::new();
    let mut pending: Vec<&StorageOp> = Vec::new();
    let (mut sync_points, mut images, mut in_flight_kept) = (0, 0, 0);
    let mut opening_refusals = Vec::new();
    for op in &run.log {
        let StorageOp::Sync(phase) = op else {
            pending.push(op);
            continue;
        };
        sync_points += 1;
        let mut variants = vec![Keep::Nothing, Keep::Everything];
        variants.extend([Keep::Random; 6]);
        variants.extend([Keep::Torn; 6]);
        for keep in variants {
            let (image, kept) = crash_image(&durable, &pending, keep, &mut rng);
            images += 1;
            match (check_crash_image(&run, *phase, image), phase) {
                (Ok(head), Phase::Batch(index)) => {
                    let before = index.checked_sub(1).map_or(0, |i| run.heads[i]);
                    in_flight_kept += usize::from(head > before);
                }
                (Ok(_), _) => {}
                // A crash while the file is first created, before anything was acknowledged,
                // may leave a file that is refused (not yet redb's, or without rollbook's
                // tables): nothing is lost, and the refusal says what it is.
                (Err(e), Phase::Opening)
                    if e.contains("not a rollbook database")
                        || e.contains("Not a redb database") =>
                {
                    opening_refusals.push(e);
                }
                (Err(e), _) => panic!(
                    "seed {seed}: crash at sync {sync_points} ({phase:?}), keeping {keep:?} \
                     unsynced operations {kept:?} of {}: {e}",
                    pending.len()
                ),
            }
        }
        for op in pending.drain(..) {
            apply_op(&mut durable, op);
        }
    }
    eprintln!(
        "power loss (seed {seed}): {sync_points} sync points over {} batches, {images} crash \
         images, {in_flight_kept} of them kept the batch in flight whole; {} images of the \
         first creation of the file refused: {:?}",
        run.heads.len(),
        opening_refusals.len(),
        opening_refusals.iter().collect::<HashSet<_>>()
    );
    assert!(sync_points > run.heads.len(), "every commit syncs");
    assert!(
        in_flight_kept > 0,
        "some crash images hold the batch in flight"
    );
}

// ---------------------------------------------------------------------------------------------
// c. I/O fault injection (the scenarios are in helpers/faults.rs)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_one_shot_fault_at_any_operation_is_never_acknowledged_and_loses_nothing() {
    let figures = every_fault_point(Fault::OneShot, Faulty::All, ErrorKind::Other);
    eprintln!("one-shot faults: {figures:?}");
    assert!(figures.points > 50, "{figures:?}");
    assert_eq!(
        figures.fired, figures.points,
        "every fault point was reached"
    );
    assert!(figures.refused >= figures.points, "{figures:?}");
}

#[test]
fn a_persistent_fault_at_any_operation_is_never_acknowledged_and_loses_nothing() {
    let figures = every_fault_point(Fault::Persistent, Faulty::All, ErrorKind::Other);
    eprintln!("persistent faults: {figures:?}");
    assert_eq!(
        figures.fired, figures.points,
        "every fault point was reached"
    );
    assert!(figures.refused >= figures.points, "{figures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_answers_503_and_stores_nothing_of_the_command() {
    for fault in [Fault::OneShot, Fault::Persistent] {
        let app = FaultyApp::start();
        let cohort = app.create_cohort().await;
        let (status, body) = app.enroll(&cohort, "before@example.org").await;
        assert_eq!(status, 200, "{body}");

        app.backend.arm(1, fault, Faulty::All, ErrorKind::Other);
        let (status, body) = app.enroll(&cohort, "during@example.org").await;
        assert_eq!(status, 503, "{fault:?}: {body}");
        assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("may not have been stored")),
            "{body}"
        );
        app.backend.disarm();
        // redb refuses writes after an I/O error until reopened: the health check says so,
        // so a supervisor restarts the server.
        let (status, health) = app.health().await;
        assert_eq!(status, 503, "{health}");
        assert_eq!(health["status"], "storage_failed", "{health}");

        let backend = app.stop().await;
        for image in [backend.live(), backend.durable()] {
            let learners = stored_learners(image);
            assert_eq!(learners, ["before@example.org"], "{fault:?}");
        }
    }
}
