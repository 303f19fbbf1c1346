//! Property test: random command sequences through the real writer and store. After every
//! batch no invariant is broken; at the end, the projections built incrementally equal the
//! projections rebuilt from the store, and the writer's states equal full replays.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use rollbook::clock::FixedClock;
use rollbook::domain::{Capacity, Cohort, CohortId, NewCohort};
use rollbook::learner_key::LearnerKey;
use rollbook::projections::{Projections, ReadModel};
use rollbook::store::{Actor, Store, StoreOptions};
use rollbook::writer::{Request, Submission, Writer, WriterOptions};
use uuid::Uuid;

use crate::helpers::*;

#[derive(Clone, Debug)]
enum Op {
    Create(u64),
    Enroll(usize, usize),
    Withdraw(usize, usize),
    LeaveWaitlist(usize, usize),
    Promote(usize),
    Capacity(usize, u64),
    Close(usize),
    /// Let time pass (hours), so deadlines are crossed.
    Wait(i64),
    /// Let a little time pass (nanoseconds), so times are not whole microseconds.
    WaitNanos(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (1u64..5).prop_map(Op::Create),
        8 => (0usize..4, 0usize..12).prop_map(|(c, l)| Op::Enroll(c, l)),
        4 => (0usize..4, 0usize..12).prop_map(|(c, l)| Op::Withdraw(c, l)),
        2 => (0usize..4, 0usize..12).prop_map(|(c, l)| Op::LeaveWaitlist(c, l)),
        2 => (0usize..4).prop_map(Op::Promote),
        2 => (0usize..4, 1u64..7).prop_map(|(c, n)| Op::Capacity(c, n)),
        1 => (0usize..4).prop_map(Op::Close),
        1 => (1i64..120).prop_map(Op::Wait),
        1 => (1i64..1_000_000).prop_map(Op::WaitNanos),
    ]
}

fn learner(i: usize) -> LearnerKey {
    LearnerKey::parse(&format!("learner-{i}@example.org")).unwrap()
}

fn to_request(op: &Op, cohorts: &[CohortId], now: Timestamp) -> Option<Request> {
    let pick = |i: usize| cohorts.get(i % cohorts.len().max(1)).copied();
    Some(match *op {
        Op::Create(capacity) => Request::Create {
            cohort: CohortId(Uuid::now_v7()),
            new: NewCohort {
                name: format!("cohort {}", cohorts.len()),
                course: "PROP".to_owned(),
                instructor: "Prop Tester".to_owned(),
                capacity: Capacity::new(capacity).unwrap(),
                starts_at: now + SignedDuration::from_hours(200),
                enrollment_deadline: now + SignedDuration::from_hours(100),
                withdrawal_deadline: now + SignedDuration::from_hours(150),
                promotion: rollbook::domain::PromotionPolicy::Automatic,
                waitlist_cap: None,
            },
        },
        Op::Enroll(c, l) => Request::Enroll {
            cohort: pick(c)?,
            learner: learner(l),
            name: None,
        },
        Op::Withdraw(c, l) => Request::Withdraw {
            cohort: pick(c)?,
            learner: learner(l),
            reason_code: rollbook::domain::ReasonCode::ALL[l % 5],
            reason: "prop".to_owned(),
        },
        Op::LeaveWaitlist(c, l) => Request::LeaveWaitlist {
            cohort: pick(c)?,
            learner: learner(l),
            reason: String::new(),
        },
        Op::Promote(c) => Request::Promote { cohort: pick(c)? },
        Op::Capacity(c, n) => Request::ChangeCapacity {
            cohort: pick(c)?,
            capacity: Capacity::new(n).unwrap(),
        },
        Op::Close(c) => Request::Close { cohort: pick(c)? },
        Op::Wait(_) | Op::WaitNanos(_) => return None,
    })
}

fn run(batches: &[Vec<Op>]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(Store::open(&dir.path().join("prop.redb"), &StoreOptions::default()).unwrap());
    let clock = Arc::new(FixedClock::new(ts(NOW)));
    let options = WriterOptions {
        snapshot_every: 4,
        cache_capacity: 2,
        ..WriterOptions::default()
    };
    let mut writer = Writer::new(store.clone(), clock.clone(), options);
    let read_model = ReadModel::default();
    let mut now = ts(NOW);
    let mut cohorts: Vec<CohortId> = Vec::new();

    for batch in batches {
        let mut submissions = Vec::new();
        for op in batch {
            if let Op::Wait(hours) = op {
                now += SignedDuration::from_hours(*hours);
                clock.set(now);
            } else if let Op::WaitNanos(nanos) = op {
                now += SignedDuration::from_nanos(*nanos);
                clock.set(now);
            } else if let Some(request) = to_request(op, &cohorts, now) {
                if let Request::Create { cohort, .. } = &request {
                    cohorts.push(*cohort);
                }
                submissions.push(Submission::new(request, Actor::local()));
            }
        }
        if submissions.is_empty() {
            continue;
        }
        let outcome = writer.process(submissions);
        read_model.publish(&outcome.learners, &outcome.journal, &outcome.envelopes);

        let live = read_model.snapshot();
        for cohort in &cohorts {
            if let Some(view) = live.catalog.get(*cohort) {
                prop_assert_eq!(view.state.check_invariants(), Ok(()), "cohort {}", cohort);
            }
        }
    }

    let live = read_model.snapshot();
    let rebuilt = Projections::rebuild(&store).unwrap();
    prop_assert_eq!(
        &live,
        &rebuilt,
        "incremental projections equal a rebuild from the store"
    );

    let reader = store.read().unwrap();
    for cohort in &cohorts {
        let Some(loaded) = reader.load_cohort(*cohort).unwrap() else {
            continue;
        };
        let (loaded, version) = (loaded.state, loaded.version);
        let events: Vec<_> = reader
            .stream(*cohort, 1, u64::MAX)
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        prop_assert_eq!(version, events.len() as u64);
        let replayed = Cohort::replay(*cohort, &events);
        prop_assert_eq!(Some(&loaded), replayed.as_ref());
        prop_assert_eq!(Some(&loaded), live.catalog.get(*cohort).map(|v| &v.state));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_keep_invariants_and_projections_match_a_rebuild(
        first in prop::collection::vec(op(), 1..4),
        batches in prop::collection::vec(prop::collection::vec(op(), 1..8), 1..12),
    ) {
        // Start every history with at least one cohort so most commands have a target.
        let mut all = vec![vec![Op::Create(2)]];
        all.push(first);
        all.extend(batches);
        run(&all)?;
    }
}
