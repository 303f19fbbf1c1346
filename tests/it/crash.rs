//! Crash safety, tested three ways: the real binary killed with SIGKILL under load; simulated
//! power loss through a redb storage backend that keeps what was synced apart from what was
//! written; and storage that fails after N operations. In every case each acknowledged command's
//! events survive, no command appears half-applied, and the store reopens and serves.
//!
//! Also home to what `bad_files.rs` shares: the seeded generator, the store audit, the in-memory
//! and fault-injecting backends, and the `rollbook serve` child process.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead as _, BufReader, ErrorKind};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use jiff::SignedDuration;
use redb::StorageBackend;
use rollbook::auth::{Auth, Passwords, Role};
use rollbook::clock::FixedClock;
use rollbook::domain::{
    Capacity, Cohort, CohortCommand, CohortId, Event, LearnerId, NewCohort, RuleViolation,
};
use rollbook::learner_key::LearnerKey;
use rollbook::projections::ReadModel;
use rollbook::store::{Actor, Envelope, Store, StoreOptions};
use rollbook::web::{self, AppState, CookiePolicy};
use rollbook::writer::{
    self, CommandError, Committed, Request, Submission, Writer, WriterOptions, WriterThread,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ENROLLMENT_DEADLINE, NOW, STARTS_AT, WITHDRAWAL_DEADLINE, keys, ts};

const BIN: &str = env!("CARGO_BIN_EXE_rollbook");

// ---------------------------------------------------------------------------------------------
// Shared: seeded randomness
// ---------------------------------------------------------------------------------------------

/// A small seeded generator (`SplitMix64`): every random choice of these tests is reproducible
/// from the seed printed with a failure.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with the given chance, in percent.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The seed of this run: `ROLLBOOK_CRASH_SEED` to replay a failure, else a fixed one.
pub fn seed() -> u64 {
    std::env::var("ROLLBOOK_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2026)
}

// ---------------------------------------------------------------------------------------------
// Shared: auditing a store
// ---------------------------------------------------------------------------------------------

/// What an audit found in a store that passed it.
pub struct Audit {
    /// Every event, in position order (position `i + 1` at index `i`).
    pub events: Vec<Envelope>,
    /// Each command's events, as index ranges into `events`, in order.
    pub commands: Vec<Range<usize>>,
    /// Each cohort's state, replayed from its stream.
    pub cohorts: HashMap<CohortId, Cohort>,
    /// The learner directory: id → key.
    pub learners: HashMap<LearnerId, String>,
}

impl Audit {
    /// The index range of the command holding the event at `position`.
    fn command_at(&self, position: u64) -> Option<&Range<usize>> {
        let index = usize::try_from(position).ok()?.checked_sub(1)?;
        let found = self.commands.partition_point(|r| r.end <= index);
        self.commands.get(found).filter(|r| r.contains(&index))
    }

    fn head(&self) -> u64 {
        self.events.len() as u64
    }
}

/// Reads the whole store and checks it: every event decodes; positions are gapless; each
/// command's events are consecutive and exactly what the rules decide for that command from the
/// state before it (so a withdrawal is never stored without the promotion it causes, and nothing
/// is invented); stream versions run from 1 without gaps and match the stream index and head;
/// each cohort's invariants hold after every command; the cohort loaded through snapshots equals
/// the replay.
pub fn audit(store: &Store) -> Result<Audit, String> {
    let reader = store
        .read()
        .map_err(|e| format!("no read transaction: {e}"))?;
    let mut events = Vec::new();
    reader
        .for_each_event(|e| events.push(e))
        .map_err(|e| format!("an event does not read back: {e}"))?;
    for (index, envelope) in events.iter().enumerate() {
        if envelope.position != index as u64 + 1 {
            return Err(format!(
                "positions are not gapless: position {} where {} was due",
                envelope.position,
                index + 1
            ));
        }
    }
    let head = reader.head_position().map_err(|e| e.to_string())?;
    if head != events.len() as u64 {
        return Err(format!("head {head} but {} events", events.len()));
    }
    let commands = command_ranges(&events)?;
    let mut streams: HashMap<CohortId, (Option<Cohort>, u64)> = HashMap::new();
    for range in &commands {
        let stored = &events[range.clone()];
        let first = &stored[0];
        let (state, version) = streams.entry(first.cohort).or_default();
        for (offset, envelope) in stored.iter().enumerate() {
            if envelope.version != *version + offset as u64 + 1 {
                return Err(format!(
                    "stream {} jumps to version {} at position {}",
                    first.cohort, envelope.version, envelope.position
                ));
            }
        }
        let events_of: Vec<Event> = stored.iter().map(|e| e.event.clone()).collect();
        let decided = Cohort::decide(
            state.as_ref(),
            first.cohort,
            &command_of(&first.event),
            first.occurred_at,
        );
        let span = format!(
            "the command at positions {}..={}",
            first.position,
            first.position + stored.len() as u64 - 1
        );
        match decided {
            Ok(decided) if decided == events_of => {}
            Ok(decided) => {
                return Err(format!(
                    "{span} is half-applied or invented: stored {events_of:?}, the rules decide \
                     {decided:?}"
                ));
            }
            Err(violation) => {
                return Err(format!("{span} breaks a rule: {violation}"));
            }
        }
        for event in &events_of {
            match state {
                Some(cohort) => cohort.apply(event),
                None => {
                    if let Event::CohortCreated(data) = event {
                        *state = Some(Cohort::created(first.cohort, data));
                    }
                }
            }
        }
        *version += stored.len() as u64;
        let Some(cohort) = state.as_ref() else {
            return Err(format!("{span} is not preceded by the cohort's creation"));
        };
        if let Err(broken) = cohort.check_invariants() {
            return Err(format!(
                "{span} leaves cohort {} broken: {broken:?}",
                first.cohort
            ));
        }
    }
    check_streams(&reader, &events, &streams)?;
    let learners = reader
        .learners()
        .map_err(|e| format!("the learner directory does not read: {e}"))?
        .into_iter()
        .map(|(id, record)| (id, record.key))
        .collect();
    let cohorts = streams
        .into_iter()
        .filter_map(|(id, (state, _))| state.map(|s| (id, s)))
        .collect();
    Ok(Audit {
        events,
        commands,
        cohorts,
        learners,
    })
}

/// Splits the events into commands (runs of one command id) and checks each run is the only one
/// of its command and shares its command's metadata.
fn command_ranges(events: &[Envelope]) -> Result<Vec<Range<usize>>, String> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for index in 1..=events.len() {
        if index == events.len() || events[index].meta.command_id != events[start].meta.command_id {
            ranges.push(start..index);
            start = index;
        }
    }
    let mut seen = HashSet::new();
    for range in &ranges {
        let first = &events[range.start];
        if !seen.insert(first.meta.command_id) {
            return Err(format!(
                "command {} has events apart from each other (again at position {})",
                first.meta.command_id, first.position
            ));
        }
        for e in &events[range.clone()] {
            if e.cohort != first.cohort
                || e.meta != first.meta
                || e.occurred_at != first.occurred_at
                || e.recorded_at != first.recorded_at
            {
                return Err(format!(
                    "the events of command {} disagree at position {}",
                    first.meta.command_id, e.position
                ));
            }
        }
    }
    Ok(ranges)
}

/// The command that decided a command's first event.
fn command_of(first: &Event) -> CohortCommand {
    match first {
        Event::CohortCreated(data) => CohortCommand::Create(NewCohort {
            name: data.name.clone(),
            course: data.course.clone(),
            instructor: data.instructor.clone(),
            capacity: data.capacity,
            starts_at: data.starts_at,
            enrollment_deadline: data.enrollment_deadline,
            withdrawal_deadline: data.withdrawal_deadline,
        }),
        Event::StudentEnrolled { learner } | Event::StudentWaitlisted { learner, .. } => {
            CohortCommand::Enroll { learner: *learner }
        }
        Event::StudentWithdrawn {
            learner,
            reason_code,
            reason,
        } => CohortCommand::Withdraw {
            learner: *learner,
            reason_code: *reason_code,
            reason: reason.text().unwrap_or_default().to_owned(),
        },
        Event::WaitlistLeft { learner, reason } => CohortCommand::LeaveWaitlist {
            learner: *learner,
            reason: reason.text().unwrap_or_default().to_owned(),
        },
        Event::WaitlistPromoted { .. } => CohortCommand::Promote,
        Event::CapacityChanged { to, .. } => CohortCommand::ChangeCapacity { capacity: *to },
        Event::EnrollmentClosed => CohortCommand::CloseEnrollment,
    }
}

/// Stream heads, the stream index and snapshot-based loading agree with the replay.
fn check_streams(
    reader: &rollbook::store::Reader,
    events: &[Envelope],
    streams: &HashMap<CohortId, (Option<Cohort>, u64)>,
) -> Result<(), String> {
    for (&cohort, (state, version)) in streams {
        let head = reader.stream_version(cohort).map_err(|e| e.to_string())?;
        if head != *version {
            return Err(format!(
                "stream {cohort} head is {head} but it has {version} events"
            ));
        }
        let indexed: Vec<u64> = reader
            .stream(cohort, 1, u64::MAX)
            .map_err(|e| format!("stream {cohort} does not read: {e}"))?
            .iter()
            .map(|e| e.position)
            .collect();
        let expected: Vec<u64> = events
            .iter()
            .filter(|e| e.cohort == cohort)
            .map(|e| e.position)
            .collect();
        if indexed != expected {
            return Err(format!("stream {cohort} index disagrees with the events"));
        }
        let loaded = reader
            .load_cohort(cohort)
            .map_err(|e| format!("cohort {cohort} does not load: {e}"))?
            .map(|l| l.state);
        if loaded != *state {
            return Err(format!(
                "cohort {cohort} loaded through its snapshot differs from its replay"
            ));
        }
    }
    Ok(())
}

/// Every acknowledged command's events are stored exactly as they were answered.
pub fn check_acknowledged(audit: &Audit, acknowledged: &[Committed]) -> Result<usize, String> {
    let mut events = 0;
    for committed in acknowledged {
        for envelope in &committed.events {
            let stored = usize::try_from(envelope.position)
                .ok()
                .and_then(|p| audit.events.get(p.wrapping_sub(1)));
            if stored != Some(envelope) {
                return Err(format!(
                    "acknowledged event at position {} ({}) is {}",
                    envelope.position,
                    envelope.event.type_name(),
                    if stored.is_some() {
                        "different"
                    } else {
                        "missing"
                    }
                ));
            }
            events += 1;
        }
    }
    Ok(events)
}

// ---------------------------------------------------------------------------------------------
// Shared: in-memory backends
// ---------------------------------------------------------------------------------------------

fn write_at(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let offset = usize::try_from(offset).expect("offset fits");
    if offset + data.len() > image.len() {
        image.resize(offset + data.len(), 0);
    }
    image[offset..offset + data.len()].copy_from_slice(data);
}

fn read_at(image: &[u8], offset: u64, out: &mut [u8]) -> std::io::Result<()> {
    let offset = usize::try_from(offset).expect("offset fits");
    let Some(bytes) = image.get(offset..offset + out.len()) else {
        return Err(ErrorKind::UnexpectedEof.into());
    };
    out.copy_from_slice(bytes);
    Ok(())
}

/// A file image in memory, shared between clones: reopen the same bytes after a store is gone.
#[derive(Clone, Debug, Default)]
pub struct ImageBackend(Arc<Mutex<Vec<u8>>>);

impl ImageBackend {
    pub fn with(image: Vec<u8>) -> Self {
        Self(Arc::new(Mutex::new(image)))
    }

    pub fn image(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl StorageBackend for ImageBackend {
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.0.lock().unwrap().len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        read_at(&self.0.lock().unwrap(), offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let len = usize::try_from(len).expect("length fits");
        self.0.lock().unwrap().resize(len, 0);
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        write_at(&mut self.0.lock().unwrap(), offset, data);
        Ok(())
    }
}

/// How a fault behaves once it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Only the N-th operation fails.
    OneShot,
    /// The N-th operation and every later one fail until disarmed.
    Persistent,
}

/// Which operations count towards N and may fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Faulty {
    /// Every operation: length, read, write, set length, sync.
    All,
    /// Writes and growing the file (a full disk).
    Writes,
}

#[derive(Debug)]
struct FaultState {
    live: Vec<u8>,
    /// The image as of the last successful sync.
    durable: Vec<u8>,
    counted: u64,
    fail_at: Option<u64>,
    fault: Fault,
    faulty: Faulty,
    kind: ErrorKind,
    failures: u64,
    last_failed: &'static str,
}

/// Storage that fails after N operations, keeping both the live image and the durable one (as
/// of the last sync that succeeded).
#[derive(Clone, Debug)]
pub struct FaultBackend(Arc<Mutex<FaultState>>);

impl Default for FaultBackend {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(FaultState {
            live: Vec::new(),
            durable: Vec::new(),
            counted: 0,
            fail_at: None,
            fault: Fault::OneShot,
            faulty: Faulty::All,
            kind: ErrorKind::Other,
            failures: 0,
            last_failed: "",
        })))
    }
}

impl FaultBackend {
    /// From now on, the `n`-th operation of kind `faulty` (1-based) fails with `kind`.
    pub fn arm(&self, n: u64, fault: Fault, faulty: Faulty, kind: ErrorKind) {
        let mut state = self.0.lock().unwrap();
        state.counted = 0;
        state.fail_at = Some(n);
        state.fault = fault;
        state.faulty = faulty;
        state.kind = kind;
    }

    /// Storage works again.
    pub fn disarm(&self) {
        self.0.lock().unwrap().fail_at = None;
    }

    /// Operations counted since armed.
    pub fn counted(&self) -> u64 {
        self.0.lock().unwrap().counted
    }

    /// The kind of the last operation that failed.
    pub fn last_failed(&self) -> &'static str {
        self.0.lock().unwrap().last_failed
    }

    /// Operations that failed so far.
    pub fn failures(&self) -> u64 {
        self.0.lock().unwrap().failures
    }

    /// What a process that survives sees: every write.
    pub fn live(&self) -> Vec<u8> {
        self.0.lock().unwrap().live.clone()
    }

    /// What a power loss now would leave: the image as of the last successful sync.
    pub fn durable(&self) -> Vec<u8> {
        self.0.lock().unwrap().durable.clone()
    }

    /// Counts an operation of kind `write`; fails it if due.
    fn check(
        &self,
        state: &mut FaultState,
        write: bool,
        what: &'static str,
    ) -> std::io::Result<()> {
        let _ = self;
        if state.faulty == Faulty::Writes && !write {
            return Ok(());
        }
        state.counted += 1;
        let due = match (state.fail_at, state.fault) {
            (Some(n), Fault::OneShot) => state.counted == n,
            (Some(n), Fault::Persistent) => state.counted >= n,
            (None, _) => false,
        };
        if due {
            state.failures += 1;
            state.last_failed = what;
            return Err(std::io::Error::new(state.kind, "injected storage fault"));
        }
        Ok(())
    }
}

impl StorageBackend for FaultBackend {
    fn len(&self) -> std::io::Result<u64> {
        let mut state = self.0.lock().unwrap();
        self.check(&mut state, false, "len")?;
        Ok(state.live.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        self.check(&mut state, false, "read")?;
        read_at(&state.live, offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        let grows = len > state.live.len() as u64;
        self.check(&mut state, grows, "set_len")?;
        state
            .live
            .resize(usize::try_from(len).expect("length fits"), 0);
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        self.check(&mut state, false, "sync")?;
        let state = &mut *state;
        state.durable.clone_from(&state.live);
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let mut state = self.0.lock().unwrap();
        self.check(
            &mut state,
            true,
            if offset == 0 { "write-header" } else { "write" },
        )?;
        write_at(&mut state.live, offset, data);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Shared: a scripted workload for the writer core
// ---------------------------------------------------------------------------------------------

fn cohort_id(n: u128) -> CohortId {
    CohortId(Uuid::from_u128(n))
}

fn key(raw: &str) -> LearnerKey {
    LearnerKey::parse(raw).expect("learner key")
}

fn create(cohort: CohortId, capacity: u64) -> Request {
    Request::Create {
        cohort,
        new: NewCohort {
            name: format!("Crash {cohort}"),
            course: "CR-1".to_owned(),
            instructor: "Grace Hopper".to_owned(),
            capacity: Capacity::new(capacity).expect("capacity"),
            starts_at: ts(STARTS_AT),
            enrollment_deadline: ts(ENROLLMENT_DEADLINE),
            withdrawal_deadline: ts(WITHDRAWAL_DEADLINE),
        },
    }
}

fn enroll(cohort: CohortId, learner: &str) -> Request {
    Request::Enroll {
        cohort,
        learner: key(learner),
        name: Some(format!("Learner {learner}")),
    }
}

fn withdraw(cohort: CohortId, learner: &str) -> Request {
    Request::Withdraw {
        cohort,
        learner: key(learner),
        reason_code: rollbook::domain::ReasonCode::Personal,
        reason: "changed plans".to_owned(),
    }
}

fn plain(request: Request) -> Submission {
    Submission::new(request, Actor::local())
}

fn keyed(request: Request, idempotency_key: &str) -> Submission {
    Submission {
        idempotency_key: Some(idempotency_key.to_owned()),
        ..plain(request)
    }
}

/// A few dozen commands in batches of one to four: creations, enrollments onto seats and the
/// waitlist, withdrawals that promote, capacity changes that promote several, leaving the
/// waitlist, idempotent repeats, refusals (journal entries) and closing enrollment.
pub fn workload() -> Vec<Vec<Submission>> {
    let (a, b, c) = (cohort_id(0xA), cohort_id(0xB), cohort_id(0xC));
    let mut batches = vec![
        vec![plain(create(a, 2))],
        vec![plain(create(b, 1)), plain(create(c, 3))],
        vec![plain(enroll(a, "a1"))],
        vec![
            plain(enroll(a, "a2")),
            plain(enroll(a, "a3")),
            plain(enroll(a, "a4")),
        ],
        vec![plain(withdraw(a, "a1"))],
        vec![keyed(enroll(b, "b1"), "key-b1")],
        vec![keyed(enroll(b, "b1"), "key-b1"), plain(enroll(b, "b2"))],
        vec![plain(enroll(b, "b1"))],
        vec![plain(Request::ChangeCapacity {
            cohort: a,
            capacity: Capacity::new(4).expect("capacity"),
        })],
        vec![plain(Request::LeaveWaitlist {
            cohort: b,
            learner: key("b2"),
            reason: "found another cohort".to_owned(),
        })],
        vec![
            plain(enroll(a, "a5")),
            plain(enroll(a, "a6")),
            plain(enroll(a, "a7")),
        ],
        vec![plain(withdraw(a, "a2")), plain(withdraw(a, "a3"))],
        vec![plain(Request::Promote { cohort: b })],
        vec![plain(Request::Close { cohort: a })],
        vec![plain(enroll(a, "a8"))],
        vec![
            plain(enroll(b, "b3")),
            plain(enroll(b, "b4")),
            plain(enroll(b, "b5")),
        ],
        vec![keyed(withdraw(b, "b1"), "key-w-b1")],
        vec![plain(Request::ChangeCapacity {
            cohort: b,
            capacity: Capacity::new(3).expect("capacity"),
        })],
    ];
    for n in 1..=8 {
        batches.push(vec![plain(enroll(c, &format!("c{n}")))]);
    }
    batches.push(vec![plain(withdraw(c, "c1")), plain(withdraw(c, "c2"))]);
    batches
}

/// A writer over `store` with a fixed clock and frequent snapshots (so the audit's
/// snapshot-against-replay check bites).
fn test_writer(store: &Arc<Store>) -> Writer {
    let options = WriterOptions {
        snapshot_every: 3,
        ..WriterOptions::default()
    };
    Writer::new(store.clone(), Arc::new(FixedClock::new(ts(NOW))), options)
}

fn reopen(image: Vec<u8>) -> Result<Store, String> {
    let fresh = image.is_empty();
    Store::open_with_backend(
        ImageBackend::with(image),
        Path::new("recovered.redb"),
        fresh,
        &StoreOptions::default(),
    )
    .map_err(|e| format!("the recovered image does not open: {e}"))
}

/// redb's own integrity check of an image (after the crash repair a reopen performs).
fn redb_integrity(image: Vec<u8>) -> Result<(), String> {
    let mut db = redb::Database::builder()
        .create_with_backend(ImageBackend::with(image))
        .map_err(|e| format!("redb does not open the image: {e}"))?;
    match db.check_integrity() {
        Ok(true) => Ok(()),
        Ok(false) => Err("redb's integrity check had to repair the image".to_owned()),
        Err(e) => Err(format!("redb's integrity check failed: {e}")),
    }
}

/// The recovered store still takes commands.
fn check_writable(store: Store) -> Result<(), String> {
    let store = Arc::new(store);
    let mut writer = test_writer(&store);
    let outcome = writer.process(vec![plain(create(cohort_id(0xF00D), 1))]);
    match &outcome.results[0] {
        Ok(_) | Err(CommandError::Rejected(RuleViolation::CohortAlreadyExists { .. })) => Ok(()),
        Err(e) => Err(format!("the recovered store refuses a new command: {e}")),
    }
}

// ---------------------------------------------------------------------------------------------
// a. kill -9 of the real binary under load
// ---------------------------------------------------------------------------------------------

/// What launching `rollbook serve` led to.
pub enum Launch {
    /// It is serving.
    Serving(ServerProcess),
    /// It exited before serving.
    Exited { status: ExitStatus, log: String },
}

/// A `rollbook serve` child process, killed (SIGKILL) and reaped when dropped, so a failing
/// test leaves no server behind.
pub struct ServerProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
    /// `host:port` it listens on.
    pub addr: String,
}

impl ServerProcess {
    /// Starts `rollbook serve` on `db` and waits (on its log, not a timer) until it listens or
    /// exits. The timeout only guards against a hung test.
    pub fn launch(db: &Path) -> Launch {
        Self::launch_with(db, &[])
    }

    /// [`ServerProcess::launch`] through a wrapper command (e.g. `setpriv …` to run it as
    /// another user).
    pub fn launch_with(db: &Path, wrapper: &[&str]) -> Launch {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(BIN);
                command
            }
            None => Command::new(BIN),
        };
        let mut child = command
            .arg("serve")
            .env("ROLLBOOK_DB", db)
            .env("ROLLBOOK_LISTEN", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("rollbook starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            lines,
            log: Vec::new(),
            addr: String::new(),
        };
        loop {
            match server.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let listening = line.split("listening on http://").nth(1).map(|rest| {
                        rest.chars()
                            .take_while(|c| !c.is_whitespace() && *c != '\u{1b}')
                            .collect::<String>()
                    });
                    server.log.push(line);
                    if let Some(addr) = listening {
                        server.addr = addr;
                        return Launch::Serving(server);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait().expect("reaped");
                    let log = server.log.join("\n");
                    return Launch::Exited { status, log };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("rollbook neither served nor exited; log: {:#?}", server.log)
                }
            }
        }
    }

    /// Starts `rollbook serve` on `db`, which must serve.
    pub fn start(db: &Path) -> Self {
        match Self::launch(db) {
            Launch::Serving(server) => server,
            Launch::Exited { status, log } => panic!("rollbook exited with {status}: {log}"),
        }
    }

    /// SIGKILL, then reap; returns how it ended.
    pub fn kill_9(&mut self) -> ExitStatus {
        // `Child::kill` sends SIGKILL on Unix: the same signal as `kill -KILL pid`, without the
        // milliseconds of spawning `kill` between the chosen moment and the signal.
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("reaped")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `rollbook ARGS --db DB` with `stdin` as standard input.
pub fn rollbook_cli(db: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rollbook runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("rollbook ends")
}

/// Adds the staff account `ops` with the CLI and returns an API token made by the CLI.
pub fn staff_token(db: &Path) -> String {
    let added = rollbook_cli(
        db,
        &["user", "add", "ops", "--role", "staff", "--password-stdin"],
        "a long enough password\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = rollbook_cli(db, &["token", "create", "ops", "--label", "crash"], "");
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    String::from_utf8(token.stdout)
        .expect("token text")
        .trim()
        .to_owned()
}

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
        let cohort = cohorts[index as usize].clone();
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
    let token = staff_token(&db);
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
        Keep::Torn if !writes.is_empty() => Some(writes[rng.below(writes.len() as u64) as usize]),
        _ => None,
    };
    let mut image = durable.to_vec();
    let mut kept = Vec::new();
    for n in chosen {
        match (pending[n], torn == Some(n)) {
            (StorageOp::Write(offset, data), true) => {
                let sectors = data.len().div_ceil(512) as u64;
                let reached = (rng.below(sectors) as usize * 512).min(data.len());
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
// c. I/O fault injection
// ---------------------------------------------------------------------------------------------

/// How a workload submission was answered, comparably between runs (ids differ).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Stored(usize),
    /// An idempotent repeat: answered from the first outcome, writing nothing.
    Replayed(usize),
    Refused(&'static str),
    StorageFailed,
    Other(String),
}

fn answer(result: &Result<Committed, CommandError>) -> Answer {
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
const ARMED_FROM: usize = 8;

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

fn answers_of(outcome: &[Result<Committed, CommandError>]) -> Vec<Answer> {
    outcome.iter().map(answer).collect()
}

/// The workload without faults: each batch's answers.
fn reference_answers(backend: &FaultBackend) -> Vec<Vec<Answer>> {
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
fn fault_scenario(
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
        let auth = Auth::load(
            store.clone(),
            Passwords::cheap_for_tests(),
            clock.clone(),
            SignedDuration::from_hours(12),
        )
        .expect("auth loads");
        auth.create_account("staff", Role::Staff, "staff password, long enough")
            .expect("account");
        let (_, token) = auth.create_token("staff", "faults").expect("token");
        let (read, _) = ReadModel::rebuild(&store).expect("replay");
        let read = Arc::new(read);
        let (handle, thread) = writer::spawn(
            store.clone(),
            read.clone(),
            clock.clone(),
            WriterOptions::default(),
        )
        .expect("writer");
        let state = AppState {
            history: rollbook::store::History::new(store),
            read,
            writer: handle,
            clock,
            auth: Arc::new(auth),
            cookies: CookiePolicy::default(),
            last_backup: Arc::default(),
            metrics: Arc::default(),
            metrics_allow: rollbook::web::AllowList::default(),
        };
        Self {
            router: Some(web::router(state)),
            writer: Some(thread),
            token,
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
