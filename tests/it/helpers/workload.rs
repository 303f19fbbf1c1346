//! A scripted workload for the writer core, and the writer, reopening and integrity checks the
//! crash and bad-file tests run it with. `store.rs` keeps request builders of its own (other
//! names and fields); they join these once the writer's `Request` has its new shape.

use std::path::Path;
use std::sync::Arc;

use rollbook::clock::FixedClock;
use rollbook::domain::{Capacity, CohortId, NewCohort, RuleViolation};
use rollbook::learner_key::LearnerKey;
use rollbook::store::{Actor, Store, StoreOptions};
use rollbook::writer::{CommandError, Request, Submission, Writer, WriterOptions};
use uuid::Uuid;

use crate::helpers::{ENROLLMENT_DEADLINE, NOW, STARTS_AT, WITHDRAWAL_DEADLINE, ts};

use super::backends::*;

pub fn cohort_id(n: u128) -> CohortId {
    CohortId(Uuid::from_u128(n))
}

pub fn key(raw: &str) -> LearnerKey {
    LearnerKey::parse(raw).expect("learner key")
}

pub fn create(cohort: CohortId, capacity: u64) -> Request {
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
            promotion: rollbook::domain::PromotionPolicy::Automatic,
            waitlist_cap: None,
            ends_at: None,
        },
    }
}

pub fn enroll(cohort: CohortId, learner: &str) -> Request {
    Request::Enroll {
        cohort,
        learner: key(learner),
        name: Some(format!("Learner {learner}")),
    }
}

pub fn withdraw(cohort: CohortId, learner: &str) -> Request {
    Request::Withdraw {
        cohort,
        learner: key(learner),
        reason_code: rollbook::domain::ReasonCode::Personal,
        reason: "changed plans".to_owned(),
    }
}

pub fn plain(request: Request) -> Submission {
    Submission::new(request, Actor::local())
}

pub fn keyed(request: Request, idempotency_key: &str) -> Submission {
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
pub fn test_writer(store: &Arc<Store>) -> Writer {
    let options = WriterOptions {
        snapshot_every: 3,
        ..WriterOptions::default()
    };
    Writer::new(store.clone(), Arc::new(FixedClock::new(ts(NOW))), options)
}

pub fn reopen(image: Vec<u8>) -> Result<Store, String> {
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
pub fn redb_integrity(image: Vec<u8>) -> Result<(), String> {
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
pub fn check_writable(store: Store) -> Result<(), String> {
    let store = Arc::new(store);
    let mut writer = test_writer(&store);
    let outcome = writer.process(vec![plain(create(cohort_id(0xF00D), 1))]);
    match &outcome.results[0] {
        Ok(_) | Err(CommandError::Rejected(RuleViolation::CohortAlreadyExists { .. })) => Ok(()),
        Err(e) => Err(format!("the recovered store refuses a new command: {e}")),
    }
}
