//! The writer's idempotency, driven through [`Writer::process`] directly: keys used twice
//! within one batch, and keys filed per account.

use std::sync::Arc;

use jiff::Timestamp;
use uuid::Uuid;

use super::{CommandError, Request, Submission, Writer, WriterOptions};
use crate::clock::FixedClock;
use crate::domain::{Capacity, CohortId, NewCohort, RuleViolation};
use crate::learner_key::LearnerKey;
use crate::store::{Actor, Store, StoreOptions, idempotency_key};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn writer(dir: &tempfile::TempDir) -> (Arc<Store>, Writer) {
    let store =
        Arc::new(Store::open(&dir.path().join("db.redb"), &StoreOptions::default()).unwrap());
    let clock = Arc::new(FixedClock::new(at("2026-03-01T09:00:00Z")));
    let writer = Writer::new(store.clone(), clock, WriterOptions::default());
    (store, writer)
}

fn actor(name: &str, n: u128) -> Actor {
    Actor {
        id: Uuid::from_u128(n),
        name: name.to_owned(),
    }
}

fn create(writer: &mut Writer, capacity: u64) -> CohortId {
    let cohort = CohortId(Uuid::now_v7());
    let new = NewCohort {
        name: "Idempotency".to_owned(),
        course: "ID-1".to_owned(),
        instructor: "Ada".to_owned(),
        capacity: Capacity::new(capacity).unwrap(),
        starts_at: at("2026-04-01T09:00:00Z"),
        enrollment_deadline: at("2026-03-20T00:00:00Z"),
        withdrawal_deadline: at("2026-04-10T00:00:00Z"),
        promotion: crate::domain::PromotionPolicy::Automatic,
        waitlist_cap: None,
        ends_at: None,
    };
    let request = Request::Create { cohort, new };
    let outcome = writer.process(vec![Submission::new(request, Actor::local())]);
    assert!(outcome.results[0].is_ok());
    cohort
}

fn enroll(cohort: CohortId, key: &str) -> Request {
    Request::Enroll {
        cohort,
        learner: LearnerKey::parse(key).unwrap(),
        name: None,
    }
}

fn keyed(request: Request, key: &str, by: &Actor) -> Submission {
    Submission {
        idempotency_key: Some(key.to_owned()),
        ..Submission::new(request, by.clone())
    }
}

/// A key's second use in the same batch, for a different request, is refused — not
/// answered with the first one's outcome (and dropped).
#[test]
fn a_key_reused_in_the_same_batch_for_another_request_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, mut writer) = writer(&dir);
    let cohort = create(&mut writer, 5);
    let staff = actor("staff", 1);

    let outcome = writer.process(vec![
        keyed(enroll(cohort, "ana@x.org"), "k", &staff),
        keyed(enroll(cohort, "ben@x.org"), "k", &staff),
        keyed(enroll(cohort, "ana@x.org"), "k", &staff),
    ]);
    let first = outcome.results[0].as_ref().unwrap();
    assert!(!first.replayed);
    assert!(
        matches!(outcome.results[1], Err(CommandError::IdempotencyKeyReused)),
        "{:?}",
        outcome.results[1]
    );
    let repeat = outcome.results[2].as_ref().unwrap();
    assert!(
        repeat.replayed,
        "the same request under the key is a repeat"
    );
    assert_eq!(repeat.events, first.events);
    // Only Ana's enrollment was written; Ben is nowhere.
    let reader = store.read().unwrap();
    assert_eq!(reader.head_position().unwrap(), 2);
    assert!(reader.learner_by_key("ben@x.org").unwrap().is_none());

    // The same after a rule's refusal recorded in the batch.
    let outcome = writer.process(vec![
        keyed(Request::Promote { cohort }, "p", &staff),
        keyed(enroll(cohort, "cy@x.org"), "p", &staff),
    ]);
    assert!(matches!(
        outcome.results[0],
        Err(CommandError::Rejected(RuleViolation::WaitlistEmpty))
    ));
    assert!(
        matches!(outcome.results[1], Err(CommandError::IdempotencyKeyReused)),
        "{:?}",
        outcome.results[1]
    );
    assert_eq!(store.read().unwrap().head_position().unwrap(), 2);
}

/// A key is one account's: another account's same key is another key (within a batch and
/// across batches), and the key is stored only as a hash with the account.
#[test]
fn a_key_belongs_to_the_account_that_sent_it_and_is_stored_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, mut writer) = writer(&dir);
    let cohort = create(&mut writer, 5);
    let (staff1, staff2) = (actor("staff1", 1), actor("staff2", 2));
    let key = "enroll-ana@x.org";

    let outcome = writer.process(vec![
        keyed(enroll(cohort, "ana@x.org"), key, &staff1),
        keyed(enroll(cohort, "ana@x.org"), key, &staff2),
    ]);
    assert!(!outcome.results[0].as_ref().unwrap().replayed);
    assert!(
        matches!(
            outcome.results[1],
            Err(CommandError::Rejected(
                RuleViolation::AlreadyEnrolled { .. }
            ))
        ),
        "staff2's request is decided on its own: {:?}",
        outcome.results[1]
    );

    // Later batches: staff2 reusing staff1's key for another request is not refused as a
    // reuse, nor given staff1's answer; staff1's retry is.
    let outcome = writer.process(vec![keyed(enroll(cohort, "ben@x.org"), key, &staff2)]);
    assert!(
        matches!(outcome.results[0], Err(CommandError::IdempotencyKeyReused)),
        "staff2's own key, from its refusal above: {:?}",
        outcome.results[0]
    );
    let outcome = writer.process(vec![keyed(enroll(cohort, "ben@x.org"), "k2", &staff2)]);
    assert!(!outcome.results[0].as_ref().unwrap().replayed);
    let outcome = writer.process(vec![
        keyed(enroll(cohort, "cy@x.org"), "k2", &staff1),
        keyed(enroll(cohort, "ana@x.org"), key, &staff1),
    ]);
    let cy = outcome.results[0].as_ref().unwrap();
    assert!(!cy.replayed, "staff1's k2 is not staff2's");
    assert!(outcome.results[1].as_ref().unwrap().replayed);

    let reader = store.read().unwrap();
    assert!(
        reader
            .command_record(&idempotency_key(staff1.id, key))
            .unwrap()
            .is_some()
    );
    assert!(
        reader
            .command_record(&idempotency_key(staff2.id, key))
            .unwrap()
            .is_some()
    );
    assert!(
        reader
            .command_record(&idempotency_key(Uuid::nil(), key))
            .unwrap()
            .is_none()
    );
    drop(reader);
    drop(writer);
    drop(store);
    let bytes = std::fs::read(dir.path().join("db.redb")).unwrap();
    assert!(
        !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
        "the key is not stored as sent"
    );
}
