//! Property test: random command sequences through the real writer and store. After every
//! batch no invariant is broken; at the end, the projections built incrementally equal the
//! projections rebuilt from the store, and the writer's states equal full replays. The commands
//! include those of issue 15 (reopen, reschedule, details, cancel, policy with offers and a
//! cap, accept, decline, expire, transfers between the cohorts — enrolled, waitlisted and
//! offered learners, waiting allowed or not, into the same, a closed or a cancelled cohort),
//! with time passing so that offers fall due.

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
    /// Seats, and offers held this many hours (`None`: automatic promotion).
    Create(u64, Option<i64>),
    Enroll(usize, usize),
    Withdraw(usize, usize),
    LeaveWaitlist(usize, usize),
    Promote(usize),
    Capacity(usize, u64),
    Close(usize),
    /// Reopen; with `Some(hours)`, the enrollment deadline moved to that many hours ahead.
    Reopen(usize, Option<i64>),
    /// Move the start, enrollment and withdrawal deadlines to these hours from now (`None`:
    /// unchanged).
    Reschedule(usize, Option<i64>, Option<i64>, Option<i64>),
    Details(usize, u8),
    Cancel(usize),
    /// Offers held this many hours (`None`: automatic), and a waitlist cap.
    Policy(usize, Option<i64>, Option<u32>),
    Accept(usize, usize),
    Decline(usize, usize),
    Expire(usize),
    /// Move a learner from one cohort to another (the same one now and then), joining the
    /// waitlist of a full target only when allowed.
    Transfer(usize, usize, usize, bool),
    /// Let time pass (hours), so deadlines are crossed.
    Wait(i64),
    /// Let a little time pass (nanoseconds), so times are not whole microseconds.
    WaitNanos(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (1u64..5, prop::option::of(1i64..48)).prop_map(|(n, h)| Op::Create(n, h)),
        1 => (0usize..4, prop::option::of(1i64..140)).prop_map(|(c, h)| Op::Reopen(c, h)),
        1 => (
            0usize..4,
            prop::option::of(1i64..300),
            prop::option::of(1i64..140),
            prop::option::of(1i64..200),
        )
            .prop_map(|(c, s, e, w)| Op::Reschedule(c, s, e, w)),
        1 => (0usize..4, 0u8..3).prop_map(|(c, d)| Op::Details(c, d)),
        1 => (0usize..8).prop_map(Op::Cancel),
        1 => (0usize..4, prop::option::of(1i64..48), prop::option::of(0u32..3))
            .prop_map(|(c, h, cap)| Op::Policy(c, h, cap)),
        3 => (0usize..4, 0usize..8).prop_map(|(c, l)| Op::Accept(c, l)),
        2 => (0usize..4, 0usize..8).prop_map(|(c, l)| Op::Decline(c, l)),
        1 => (0usize..4).prop_map(Op::Expire),
        5 => (0usize..4, 0usize..4, 0usize..8, any::<bool>())
            .prop_map(|(a, b, l, w)| Op::Transfer(a, b, l, w)),
        8 => (0usize..4, 0usize..8).prop_map(|(c, l)| Op::Enroll(c, l)),
        6 => (0usize..4, 0usize..8).prop_map(|(c, l)| Op::Withdraw(c, l)),
        2 => (0usize..4, 0usize..8).prop_map(|(c, l)| Op::LeaveWaitlist(c, l)),
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

/// Offers held `hold` hours, or automatic promotion.
fn offers(hold: Option<i64>) -> rollbook::domain::PromotionPolicy {
    hold.map_or(rollbook::domain::PromotionPolicy::Automatic, |h| {
        rollbook::domain::PromotionPolicy::Offer {
            hold: SignedDuration::from_hours(h),
        }
    })
}

fn to_request(op: &Op, cohorts: &[CohortId], now: Timestamp) -> Option<Request> {
    let pick = |i: usize| cohorts.get(i % cohorts.len().max(1)).copied();
    Some(match *op {
        Op::Create(capacity, hold) => Request::Create {
            cohort: CohortId(Uuid::now_v7()),
            new: NewCohort {
                name: format!("cohort {}", cohorts.len()),
                course: "PROP".to_owned(),
                instructor: "Prop Tester".to_owned(),
                capacity: Capacity::new(capacity).unwrap(),
                starts_at: now + SignedDuration::from_hours(200),
                enrollment_deadline: now + SignedDuration::from_hours(100),
                withdrawal_deadline: now + SignedDuration::from_hours(150),
                promotion: offers(hold),
                waitlist_cap: None,
                ends_at: None,
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
        Op::Reopen(c, hours) => Request::Reopen {
            cohort: pick(c)?,
            reason: "prop".to_owned(),
            enrollment_deadline: hours.map(|h| now + SignedDuration::from_hours(h)),
        },
        Op::Reschedule(c, starts, enrollment, withdrawal) => {
            let hours = |h: Option<i64>| h.map(|h| now + SignedDuration::from_hours(h));
            Request::Reschedule {
                cohort: pick(c)?,
                starts_at: hours(starts),
                enrollment_deadline: hours(enrollment),
                withdrawal_deadline: hours(withdrawal),
                ends_at: None,
            }
        }
        Op::Details(c, d) => Request::ChangeDetails {
            cohort: pick(c)?,
            name: (d == 0).then(|| format!("renamed {d}")),
            course: (d == 1).then(|| "PROP-2".to_owned()),
            instructor: (d == 2).then(|| "Another Tester".to_owned()),
        },
        // Cancels only now and then: indexes past the cohorts cancel nothing.
        Op::Cancel(c) => Request::Cancel {
            cohort: cohorts.get(c).copied()?,
            reason: "prop".to_owned(),
        },
        Op::Policy(c, hold, cap) => Request::SetPolicy {
            cohort: pick(c)?,
            promotion: offers(hold),
            waitlist_cap: cap,
        },
        Op::Accept(c, l) => Request::AcceptOffer {
            cohort: pick(c)?,
            learner: learner(l),
        },
        Op::Decline(c, l) => Request::DeclineOffer {
            cohort: pick(c)?,
            learner: learner(l),
            reason: "prop".to_owned(),
        },
        Op::Expire(c) => Request::ExpireOffers { cohort: pick(c)? },
        Op::Transfer(from, to, l, allow_waitlist) => Request::Transfer {
            cohort: pick(from)?,
            to: pick(to)?,
            learner: learner(l),
            allow_waitlist,
            reason: "prop".to_owned(),
        },
        Op::Wait(_) | Op::WaitNanos(_) => return None,
    })
}

/// What the transfers of a history did: accepted into a seat, onto the waitlist, or refused
/// with these codes.
#[derive(Debug, Default)]
struct Transfers {
    enrolled: usize,
    waitlisted: usize,
    refused: std::collections::BTreeSet<&'static str>,
}

fn run(batches: &[Vec<Op>]) -> Result<Transfers, TestCaseError> {
    let mut transfers = Transfers::default();
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
        let mut is_transfer = Vec::new();
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
                is_transfer.push(matches!(request, Request::Transfer { .. }));
                submissions.push(Submission::new(request, Actor::local()));
            }
        }
        if submissions.is_empty() {
            continue;
        }
        let outcome = writer.process(submissions);
        read_model.publish(&outcome.learners, &outcome.journal, &outcome.envelopes);
        for (result, _) in outcome
            .results
            .iter()
            .zip(&is_transfer)
            .filter(|(_, t)| **t)
        {
            if let Err(rollbook::writer::CommandError::TransferRefused(refused)) = result {
                transfers.refused.insert(refused.violation.code());
            }
        }
        for envelope in &outcome.envelopes {
            if let rollbook::domain::Event::StudentTransferredIn { waitlisted_at, .. } =
                &envelope.event
            {
                if waitlisted_at.is_some() {
                    transfers.waitlisted += 1;
                } else {
                    transfers.enrolled += 1;
                }
            }
        }

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
    Ok(transfers)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_keep_invariants_and_projections_match_a_rebuild(
        first in prop::collection::vec(op(), 1..4),
        batches in prop::collection::vec(prop::collection::vec(op(), 1..8), 1..12),
    ) {
        run(&history(first, batches))?;
    }
}

/// Every history starts with two cohorts so most commands have a target and transfers have
/// somewhere to go: the first has two seats held as offers for a day, two learners enrolled
/// and two waiting, so that a withdrawal, a capacity change or a reopening offers a seat; the
/// second promotes automatically and its one seat is taken.
fn history(first: Vec<Op>, batches: Vec<Vec<Op>>) -> Vec<Vec<Op>> {
    let mut all = vec![vec![
        Op::Create(2, Some(24)),
        Op::Enroll(0, 0),
        Op::Enroll(0, 1),
        Op::Enroll(0, 2),
        Op::Enroll(0, 3),
        Op::Create(1, None),
        Op::Enroll(1, 4),
    ]];
    all.push(first);
    all.extend(batches);
    all
}

/// The random histories do transfer: into a seat, onto a waitlist, and refused by each rule a
/// transfer meets (so the property above compares projections after transfers, not only after
/// refusals).
#[test]
fn random_histories_reach_every_kind_of_transfer() {
    use proptest::strategy::ValueTree as _;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (
        prop::collection::vec(op(), 1..4),
        prop::collection::vec(prop::collection::vec(op(), 1..8), 1..12),
    );
    let mut seen = Transfers::default();
    for _ in 0..32 {
        let (first, batches) = strategy.new_tree(&mut runner).unwrap().current();
        let transfers = run(&history(first, batches)).unwrap();
        seen.enrolled += transfers.enrolled;
        seen.waitlisted += transfers.waitlisted;
        seen.refused.extend(transfers.refused);
    }
    assert!(seen.enrolled > 0, "no transfer took a seat: {seen:?}");
    assert!(
        seen.waitlisted > 0,
        "no transfer joined a waitlist: {seen:?}"
    );
    for code in [
        "same_cohort",
        "no_seat_free",
        "cohort_cancelled",
        "enrollment_closed",
        "not_enrolled",
    ] {
        assert!(
            seen.refused.contains(code),
            "no transfer refused by {code}: {seen:?}"
        );
    }
}
