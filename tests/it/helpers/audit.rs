//! The store audit the crash and bad-file tests share: a seeded generator, and the checks that
//! a recovered store holds every acknowledged command whole, with no command half-applied.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use rollbook::domain::{
    Cohort, CohortCommand, CohortId, Event, LearnerId, NewCohort, PromotionPolicy, decide_transfer,
};
use rollbook::store::{Envelope, Store};
use rollbook::writer::Committed;

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
// Auditing a store
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
    pub fn command_at(&self, position: u64) -> Option<&Range<usize>> {
        let index = usize::try_from(position).ok()?.checked_sub(1)?;
        let found = self.commands.partition_point(|r| r.end <= index);
        self.commands.get(found).filter(|r| r.contains(&index))
    }

    pub fn head(&self) -> u64 {
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
        let span = format!(
            "the command at positions {}..={}",
            first.position,
            first.position + stored.len() as u64 - 1
        );
        if let Some(split) = stored.iter().position(|e| e.cohort != first.cohort) {
            audit_transfer(&mut streams, &stored[..split], &stored[split..], &span)?;
            continue;
        }
        let (state, version) = streams.entry(first.cohort).or_default();
        check_versions(stored, *version)?;
        let events_of: Vec<Event> = stored.iter().map(|e| e.event.clone()).collect();
        let decided = match command_of(&events_of) {
            Some(command) => {
                Cohort::decide(state.as_ref(), first.cohort, &command, first.occurred_at)
            }
            None => {
                return Err(format!(
                    "{span} is half a transfer: it appends to one stream only"
                ));
            }
        };
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

/// A stream's events of one command continue its versions (`version` before them) without gaps.
fn check_versions(stored: &[Envelope], version: u64) -> Result<(), String> {
    for (offset, envelope) in stored.iter().enumerate() {
        if envelope.version != version + offset as u64 + 1 {
            return Err(format!(
                "stream {} jumps to version {} at position {}",
                envelope.cohort, envelope.version, envelope.position
            ));
        }
    }
    Ok(())
}

/// A transfer: the cohort left's events (`out`), then the cohort joined's (`into`), exactly what
/// `decide_transfer` decides from both states before it (with `allow_waitlist` as the stored
/// place says: a learner who took a seat would have taken it either way); both streams advance
/// and keep their invariants.
fn audit_transfer(
    streams: &mut HashMap<CohortId, (Option<Cohort>, u64)>,
    out: &[Envelope],
    into: &[Envelope],
    span: &str,
) -> Result<(), String> {
    let (from, to) = (out[0].cohort, into[0].cohort);
    let stored_out: Vec<Event> = out.iter().map(|e| e.event.clone()).collect();
    let stored_in: Vec<Event> = into.iter().map(|e| e.event.clone()).collect();
    let left = stored_out.iter().find_map(|e| match e {
        Event::StudentTransferredOut {
            learner,
            to: named,
            reason,
        } if *named == to => Some((*learner, reason.text().unwrap_or_default().to_owned())),
        _ => None,
    });
    let arrived = stored_in.iter().find_map(|e| match e {
        Event::StudentTransferredIn {
            learner,
            from: named,
            waitlisted_at,
        } if *named == from => Some((*learner, *waitlisted_at)),
        _ => None,
    });
    let (Some((learner, reason)), Some((joiner, waitlisted_at))) = (left, arrived) else {
        return Err(format!(
            "{span} spans two streams but is not a transfer from {from} to {to}"
        ));
    };
    if learner != joiner {
        return Err(format!("{span} moves one learner out and another in"));
    }
    let (Some(Some(a)), Some(Some(b))) = (
        streams.get(&from).map(|s| s.0.clone()),
        streams.get(&to).map(|s| s.0.clone()),
    ) else {
        return Err(format!("{span} transfers between cohorts not yet created"));
    };
    let decided = decide_transfer(
        &a,
        &b,
        learner,
        waitlisted_at.is_some(),
        &reason,
        out[0].occurred_at,
    )
    .map_err(|refused| format!("{span} breaks a rule: {refused}"))?;
    if decided.from_events != stored_out || decided.to_events != stored_in {
        return Err(format!(
            "{span} is half-applied or invented: stored {stored_out:?} and {stored_in:?}, the \
             rules decide {decided:?}"
        ));
    }
    for (cohort, stored) in [(from, out), (to, into)] {
        let (state, version) = streams.get_mut(&cohort).expect("checked above");
        check_versions(stored, *version)?;
        *version += stored.len() as u64;
        let state = state.as_mut().expect("checked above");
        for envelope in stored {
            state.apply(&envelope.event);
        }
        state
            .check_invariants()
            .map_err(|broken| format!("{span} leaves cohort {cohort} broken: {broken:?}"))?;
    }
    Ok(())
}

/// Splits the events into commands (runs of one command id) and checks each run is the only one
/// of its command and shares its command's metadata. A transfer's run holds two streams' events,
/// one stream after the other.
pub fn command_ranges(events: &[Envelope]) -> Result<Vec<Range<usize>>, String> {
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
        let streams_in_run = events[range.clone()]
            .windows(2)
            .filter(|pair| pair[0].cohort != pair[1].cohort)
            .count();
        if streams_in_run > 1 {
            return Err(format!(
                "command {} goes back and forth between streams",
                first.meta.command_id
            ));
        }
        for e in &events[range.clone()] {
            if e.meta != first.meta
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

/// The events of a command after the offers it expired first and the seats they refilled;
/// `None` when that is all it did (the scheduler's expiry).
fn past_expiries(events: &[Event]) -> Option<&[Event]> {
    let expiries = events
        .iter()
        .take_while(|e| matches!(e, Event::OfferExpired { .. }))
        .count();
    let rest = &events[expiries..];
    if expiries == 0 {
        return Some(rest);
    }
    let fills = rest
        .iter()
        .take_while(|e| {
            matches!(
                e,
                Event::WaitlistPromoted { .. } | Event::WaitlistOffered { .. }
            )
        })
        .count();
    Some(&rest[fills..]).filter(|rest| !rest.is_empty())
}

/// The command that decided a command's events (on one stream): read from its first event
/// once the offers it expired first (and the seats they refilled) are set aside. `None` for a
/// transfer, which is decided over two streams.
pub fn command_of(events: &[Event]) -> Option<CohortCommand> {
    let Some(rest) = past_expiries(events) else {
        return Some(CohortCommand::ExpireOffers);
    };
    let text = |note: &rollbook::domain::Note| note.text().unwrap_or_default().to_owned();
    Some(match rest.first()? {
        Event::CohortCreated(data) => {
            let (promotion, waitlist_cap) = match rest.get(1) {
                Some(Event::PolicyChanged {
                    promotion,
                    waitlist_cap,
                }) => (*promotion, *waitlist_cap),
                _ => (PromotionPolicy::Automatic, None),
            };
            CohortCommand::Create(NewCohort {
                name: data.name.clone(),
                course: data.course.clone(),
                instructor: data.instructor.clone(),
                capacity: data.capacity,
                starts_at: data.starts_at,
                enrollment_deadline: data.enrollment_deadline,
                withdrawal_deadline: data.withdrawal_deadline,
                promotion,
                waitlist_cap,
                ends_at: data.ends_at,
            })
        }
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
            reason: text(reason),
        },
        Event::WaitlistLeft { learner, reason } => CohortCommand::LeaveWaitlist {
            learner: *learner,
            reason: text(reason),
        },
        Event::WaitlistPromoted { .. } | Event::WaitlistOffered { .. } => CohortCommand::Promote,
        Event::CapacityChanged { to, .. } => CohortCommand::ChangeCapacity { capacity: *to },
        Event::EnrollmentClosed => CohortCommand::CloseEnrollment,
        Event::EnrollmentReopened { reason } => CohortCommand::Reopen {
            reason: text(reason),
            enrollment_deadline: None,
        },
        Event::CohortRescheduled {
            starts_at,
            enrollment_deadline,
            withdrawal_deadline,
            ends_at,
        } => match rest.get(1) {
            Some(Event::EnrollmentReopened { reason }) => CohortCommand::Reopen {
                reason: text(reason),
                enrollment_deadline: Some(*enrollment_deadline),
            },
            _ => CohortCommand::Reschedule {
                starts_at: Some(*starts_at),
                enrollment_deadline: Some(*enrollment_deadline),
                withdrawal_deadline: Some(*withdrawal_deadline),
                ends_at: *ends_at,
            },
        },
        Event::CohortDetailsChanged {
            name,
            course,
            instructor,
        } => CohortCommand::ChangeDetails {
            name: Some(name.clone()),
            course: Some(course.clone()),
            instructor: Some(instructor.clone()),
        },
        Event::CohortCancelled { reason } => CohortCommand::Cancel {
            reason: text(reason),
        },
        Event::PolicyChanged {
            promotion,
            waitlist_cap,
        } => CohortCommand::SetPolicy {
            promotion: *promotion,
            waitlist_cap: *waitlist_cap,
        },
        Event::OfferAccepted { learner } => CohortCommand::AcceptOffer { learner: *learner },
        // A withdrawal of an offer holder decides the same events.
        Event::OfferDeclined { learner, reason } => CohortCommand::DeclineOffer {
            learner: *learner,
            reason: text(reason),
        },
        Event::StudentTransferredOut { .. } | Event::StudentTransferredIn { .. } => return None,
        // Never first (a release follows `cohort.cancelled`, expiries are set aside above): a
        // command no rule decides this way, so the check reports the run.
        Event::StudentReleased { .. } | Event::OfferExpired { .. } => CohortCommand::ExpireOffers,
    })
}

/// Stream heads, the stream index and snapshot-based loading agree with the replay.
pub fn check_streams(
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
