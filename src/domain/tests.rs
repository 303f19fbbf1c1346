//! Rule tests: given events, when a command, then events or a violation.

use jiff::Timestamp;
use uuid::Uuid;

use super::{
    Capacity, Cohort, CohortCommand, CohortCreated, CohortId, CohortStatus, Event, InvariantBroken,
    LearnerId, NewCohort, Offer, Phase, PromotionPolicy, ReasonCode, RuleViolation,
    ScheduleProblem, WaitlistEntry, decide_transfer,
};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const COHORT: CohortId = CohortId(Uuid::from_u128(0xC0));
const ALICE: LearnerId = LearnerId(Uuid::from_u128(1));
const BOB: LearnerId = LearnerId(Uuid::from_u128(2));
const CARLA: LearnerId = LearnerId(Uuid::from_u128(3));
const DAN: LearnerId = LearnerId(Uuid::from_u128(4));
const ERIN: LearnerId = LearnerId(Uuid::from_u128(5));

fn at(time: &str) -> Timestamp {
    time.parse().expect("test timestamps are valid")
}

/// Well before both deadlines.
fn now() -> Timestamp {
    at("2026-02-20T09:00:00Z")
}

fn enrollment_deadline() -> Timestamp {
    at("2026-03-01T00:00:00Z")
}

fn withdrawal_deadline() -> Timestamp {
    at("2026-03-08T00:00:00Z")
}

fn seats(n: u64) -> Capacity {
    Capacity::new(n).expect("test capacities are valid")
}

fn new_cohort(capacity: u64) -> NewCohort {
    NewCohort {
        name: "Rust in Practice — spring".to_owned(),
        course: "RUST-201".to_owned(),
        instructor: "Ferris".to_owned(),
        capacity: seats(capacity),
        starts_at: at("2026-03-02T09:00:00Z"),
        enrollment_deadline: enrollment_deadline(),
        withdrawal_deadline: withdrawal_deadline(),
        promotion: PromotionPolicy::Automatic,
        waitlist_cap: None,
        ends_at: None,
    }
}

// Events, spelled as the rules would produce them.

fn created(capacity: u64) -> Event {
    let new = new_cohort(capacity);
    Event::CohortCreated(CohortCreated {
        name: new.name,
        course: new.course,
        instructor: new.instructor,
        capacity: new.capacity,
        starts_at: new.starts_at,
        enrollment_deadline: new.enrollment_deadline,
        withdrawal_deadline: new.withdrawal_deadline,
        ends_at: None,
    })
}

fn enrolled(learner: LearnerId) -> Event {
    Event::StudentEnrolled { learner }
}

fn waitlisted(learner: LearnerId, position: u32) -> Event {
    Event::StudentWaitlisted { learner, position }
}

fn withdrawn(learner: LearnerId) -> Event {
    Event::StudentWithdrawn {
        learner,
        reason_code: ReasonCode::Other,
        reason: crate::domain::Note::default(),
    }
}

fn left(learner: LearnerId) -> Event {
    Event::WaitlistLeft {
        learner,
        reason: crate::domain::Note::default(),
    }
}

fn promoted(learner: LearnerId) -> Event {
    Event::WaitlistPromoted { learner }
}

fn capacity_changed(from: u64, to: u64) -> Event {
    Event::CapacityChanged {
        from: seats(from),
        to: seats(to),
    }
}

// Commands.

fn enroll(learner: LearnerId) -> CohortCommand {
    CohortCommand::Enroll { learner }
}

fn withdraw(learner: LearnerId) -> CohortCommand {
    CohortCommand::Withdraw {
        learner,
        reason_code: ReasonCode::Other,
        reason: String::new(),
    }
}

fn leave_waitlist(learner: LearnerId) -> CohortCommand {
    CohortCommand::LeaveWaitlist {
        learner,
        reason: String::new(),
    }
}

fn change_capacity(to: u64) -> CohortCommand {
    CohortCommand::ChangeCapacity {
        capacity: seats(to),
    }
}

// Given / when / then.

/// The state after `events`, folded one at a time.
///
/// The invariants are checked once, at the end: they hold between commands, not between the
/// events of one command (after `student.withdrawn` and before the `waitlist.promoted` that the
/// same decision emits, a seat is briefly free while learners wait).
fn given(events: &[Event]) -> Option<Cohort> {
    let mut state: Option<Cohort> = None;
    for event in events {
        match (&mut state, event) {
            (None, Event::CohortCreated(data)) => state = Some(Cohort::created(COHORT, data)),
            (Some(cohort), event) => cohort.apply(event),
            (None, other) => panic!("history must start with cohort.created, got {other:?}"),
        }
    }
    if let Some(cohort) = &state {
        assert_eq!(cohort.check_invariants(), Ok(()), "given {events:?}");
    }
    state
}

fn when(
    state: Option<&Cohort>,
    command: &CohortCommand,
    now: Timestamp,
) -> Result<Vec<Event>, RuleViolation> {
    Cohort::decide(state, COHORT, command, now)
}

/// `state` with one decision's `events` applied; the invariants must hold afterwards.
fn then_state(mut state: Cohort, events: &[Event]) -> Cohort {
    for event in events {
        state.apply(event);
    }
    assert_eq!(state.check_invariants(), Ok(()), "after {events:?}");
    state
}

/// Decides `command` and applies what it emits, failing the test on a violation.
fn accept(state: Cohort, command: &CohortCommand) -> Cohort {
    let events =
        when(Some(&state), command, now()).unwrap_or_else(|v| panic!("{command:?} refused: {v}"));
    then_state(state, &events)
}

fn cohort(events: &[Event]) -> Cohort {
    given(events).expect("history creates the cohort")
}

fn waitlist_of(cohort: &Cohort) -> Vec<LearnerId> {
    cohort.waitlist.iter().map(|e| e.learner).collect()
}

// ---------------------------------------------------------------------------------------------
// The lesson's example
// ---------------------------------------------------------------------------------------------

#[test]
fn withdrawing_from_a_full_cohort_promotes_the_waitlist_head_into_the_freed_seat() {
    let mut history = Vec::new();
    let mut state: Option<Cohort> = None;
    let mut run = |command: CohortCommand| -> Vec<Event> {
        let events = when(state.as_ref(), &command, now())
            .unwrap_or_else(|v| panic!("{command:?} refused: {v}"));
        history.extend(events.iter().cloned());
        state = given(&history);
        events
    };

    assert_eq!(run(CohortCommand::Create(new_cohort(2))), [created(2)]);
    assert_eq!(run(enroll(ALICE)), [enrolled(ALICE)]);
    assert_eq!(run(enroll(BOB)), [enrolled(BOB)]);
    assert_eq!(run(enroll(CARLA)), [waitlisted(CARLA, 1)]);
    assert_eq!(run(withdraw(ALICE)), [withdrawn(ALICE), promoted(CARLA)]);

    let after = state.expect("cohort exists");
    assert_eq!(after.enrolled, [BOB, CARLA]);
    assert!(after.waitlist.is_empty());
    assert_eq!(after.seats_remaining(), 0);
    let names: Vec<_> = history.iter().map(Event::type_name).collect();
    assert_eq!(
        names,
        [
            "cohort.created",
            "student.enrolled",
            "student.enrolled",
            "student.waitlisted",
            "student.withdrawn",
            "waitlist.promoted",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------------

#[test]
fn create_emits_cohort_created_with_the_given_data() {
    let events = when(None, &CohortCommand::Create(new_cohort(30)), now());

    assert_eq!(events, Ok(vec![created(30)]));
    let state = cohort(&[created(30)]);
    assert_eq!(state.status, CohortStatus::Open);
    assert_eq!(state.seats_remaining(), 30);
    assert_eq!(state.name, "Rust in Practice — spring");
}

#[test]
fn create_on_an_existing_cohort_is_refused() {
    let state = given(&[created(2)]);

    let result = when(state.as_ref(), &CohortCommand::Create(new_cohort(2)), now());

    assert_eq!(
        result,
        Err(RuleViolation::CohortAlreadyExists { cohort: COHORT })
    );
}

#[test]
fn create_with_withdrawal_deadline_before_enrollment_deadline_is_an_invalid_schedule() {
    let mut new = new_cohort(2);
    new.withdrawal_deadline = at("2026-02-28T00:00:00Z");

    let result = when(None, &CohortCommand::Create(new), now());

    assert_eq!(
        result,
        Err(RuleViolation::InvalidSchedule(
            ScheduleProblem::WithdrawalBeforeEnrollment {
                withdrawal: at("2026-02-28T00:00:00Z"),
                enrollment: enrollment_deadline(),
            }
        ))
    );
}

#[test]
fn create_with_both_deadlines_at_the_same_instant_is_allowed() {
    let mut new = new_cohort(2);
    new.withdrawal_deadline = new.enrollment_deadline;

    assert!(when(None, &CohortCommand::Create(new), now()).is_ok());
}

#[test]
fn every_other_command_on_a_cohort_that_does_not_exist_is_cohort_not_found() {
    let commands = [
        enroll(ALICE),
        withdraw(ALICE),
        leave_waitlist(ALICE),
        CohortCommand::Promote,
        change_capacity(3),
        CohortCommand::CloseEnrollment,
    ];
    for command in &commands {
        assert_eq!(
            when(None, command, now()),
            Err(RuleViolation::CohortNotFound { cohort: COHORT }),
            "{command:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Enroll
// ---------------------------------------------------------------------------------------------

#[test]
fn enroll_takes_a_free_seat() {
    let state = given(&[created(2), enrolled(ALICE)]);

    let events = when(state.as_ref(), &enroll(BOB), now());

    assert_eq!(events, Ok(vec![enrolled(BOB)]));
    let after = then_state(state.unwrap(), &events.unwrap());
    assert_eq!(after.enrolled, [ALICE, BOB]);
}

#[test]
fn enroll_in_a_full_cohort_joins_the_back_of_the_waitlist() {
    let state = given(&[created(1), enrolled(ALICE)]);
    assert_eq!(
        when(state.as_ref(), &enroll(BOB), now()),
        Ok(vec![waitlisted(BOB, 1)])
    );

    let state = given(&[created(1), enrolled(ALICE), waitlisted(BOB, 1)]);
    assert_eq!(
        when(state.as_ref(), &enroll(CARLA), now()),
        Ok(vec![waitlisted(CARLA, 2)])
    );

    let after = then_state(state.unwrap(), &[waitlisted(CARLA, 2)]);
    assert_eq!(waitlist_of(&after), [BOB, CARLA]);
    assert_eq!(after.waitlist_place(CARLA), Some(2));
}

#[test]
fn enroll_after_close_is_refused() {
    let state = given(&[created(2), Event::EnrollmentClosed]);

    assert_eq!(
        when(state.as_ref(), &enroll(ALICE), now()),
        Err(RuleViolation::EnrollmentClosed)
    );
}

#[test]
fn enroll_after_the_deadline_is_refused_with_the_deadline_and_now() {
    let state = given(&[created(2)]);
    let late = at("2026-03-01T00:00:01Z");

    assert_eq!(
        when(state.as_ref(), &enroll(ALICE), late),
        Err(RuleViolation::EnrollmentDeadlinePassed {
            deadline: enrollment_deadline(),
            now: late,
        })
    );
}

#[test]
fn enroll_exactly_at_the_deadline_is_allowed() {
    let state = given(&[created(2)]);

    assert_eq!(
        when(state.as_ref(), &enroll(ALICE), enrollment_deadline()),
        Ok(vec![enrolled(ALICE)])
    );
}

#[test]
fn enroll_twice_is_already_enrolled() {
    let state = given(&[created(2), enrolled(ALICE)]);

    assert_eq!(
        when(state.as_ref(), &enroll(ALICE), now()),
        Err(RuleViolation::AlreadyEnrolled { learner: ALICE })
    );
}

#[test]
fn enroll_while_waitlisted_is_already_waitlisted_with_place_and_length() {
    let state = given(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        waitlisted(CARLA, 2),
        waitlisted(DAN, 3),
    ]);

    assert_eq!(
        when(state.as_ref(), &enroll(CARLA), now()),
        Err(RuleViolation::AlreadyWaitlisted {
            learner: CARLA,
            position: 2,
            waitlist_len: 3,
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Withdraw
// ---------------------------------------------------------------------------------------------

#[test]
fn withdraw_after_the_withdrawal_deadline_is_refused_with_the_deadline_and_now() {
    let state = given(&[created(2), enrolled(ALICE)]);
    let late = at("2026-03-08T00:00:01Z");

    assert_eq!(
        when(state.as_ref(), &withdraw(ALICE), late),
        Err(RuleViolation::WithdrawalDeadlinePassed {
            deadline: withdrawal_deadline(),
            now: late,
        })
    );
}

#[test]
fn withdraw_exactly_at_the_withdrawal_deadline_is_allowed() {
    let state = given(&[created(2), enrolled(ALICE)]);

    assert_eq!(
        when(state.as_ref(), &withdraw(ALICE), withdrawal_deadline()),
        Ok(vec![withdrawn(ALICE)])
    );
}

#[test]
fn withdraw_a_stranger_is_not_enrolled() {
    let state = given(&[created(2), enrolled(ALICE)]);

    assert_eq!(
        when(state.as_ref(), &withdraw(BOB), now()),
        Err(RuleViolation::NotEnrolled { learner: BOB })
    );
}

#[test]
fn withdraw_a_waitlisted_learner_takes_them_off_the_waitlist_without_promoting_anyone() {
    let state = given(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        waitlisted(CARLA, 2),
    ]);
    let command = CohortCommand::Withdraw {
        learner: BOB,
        reason_code: ReasonCode::Personal,
        reason: "moved away".to_owned(),
    };

    let events = when(state.as_ref(), &command, now());

    assert_eq!(
        events,
        Ok(vec![Event::WaitlistLeft {
            learner: BOB,
            reason: "moved away".into(),
        }])
    );
    let after = then_state(state.unwrap(), &events.unwrap());
    assert_eq!(after.enrolled, [ALICE]);
    assert_eq!(waitlist_of(&after), [CARLA]);
}

#[test]
fn withdraw_carries_the_reason_and_its_code() {
    let state = given(&[created(2), enrolled(ALICE)]);
    let command = CohortCommand::Withdraw {
        learner: ALICE,
        reason_code: ReasonCode::ScheduleConflict,
        reason: "schedule clash".to_owned(),
    };

    assert_eq!(
        when(state.as_ref(), &command, now()),
        Ok(vec![Event::StudentWithdrawn {
            learner: ALICE,
            reason_code: ReasonCode::ScheduleConflict,
            reason: "schedule clash".into(),
        }])
    );
}

#[test]
fn withdraw_from_a_closed_cohort_frees_the_seat_but_promotes_nobody() {
    let state = given(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        Event::EnrollmentClosed,
    ]);

    let events = when(state.as_ref(), &withdraw(ALICE), now());

    assert_eq!(events, Ok(vec![withdrawn(ALICE)]));
    let after = then_state(state.unwrap(), &events.unwrap());
    assert_eq!(after.seats_remaining(), 1);
    assert_eq!(waitlist_of(&after), [BOB]);
}

#[test]
fn withdraw_with_an_empty_waitlist_only_frees_the_seat() {
    let state = given(&[created(2), enrolled(ALICE), enrolled(BOB)]);

    let events = when(state.as_ref(), &withdraw(ALICE), now());

    assert_eq!(events, Ok(vec![withdrawn(ALICE)]));
    let after = then_state(state.unwrap(), &events.unwrap());
    assert_eq!(after.enrolled, [BOB]);
    assert_eq!(after.seats_remaining(), 1);
}

// ---------------------------------------------------------------------------------------------
// Leave waitlist
// ---------------------------------------------------------------------------------------------

#[test]
fn leave_waitlist_takes_a_waitlisted_learner_off() {
    let state = given(&[created(1), enrolled(ALICE), waitlisted(BOB, 1)]);

    assert_eq!(
        when(state.as_ref(), &leave_waitlist(BOB), now()),
        Ok(vec![left(BOB)])
    );
}

#[test]
fn leave_waitlist_for_someone_not_waiting_is_not_waitlisted() {
    let state = given(&[created(1), enrolled(ALICE), waitlisted(BOB, 1)]);

    // Neither the enrolled learner nor a stranger is on the waitlist.
    for learner in [ALICE, CARLA] {
        assert_eq!(
            when(state.as_ref(), &leave_waitlist(learner), now()),
            Err(RuleViolation::NotWaitlisted { learner })
        );
    }
}

#[test]
fn leaving_the_waitlist_keeps_everyone_else_in_order() {
    let state = cohort(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        waitlisted(CARLA, 2),
        waitlisted(DAN, 3),
    ]);

    let after = accept(state, &leave_waitlist(CARLA));

    assert_eq!(waitlist_of(&after), [BOB, DAN]);
    assert_eq!(after.waitlist_place(BOB), Some(1));
    assert_eq!(after.waitlist_place(DAN), Some(2));
    // The next to join goes behind DAN.
    assert_eq!(
        when(Some(&after), &enroll(ERIN), now()),
        Ok(vec![waitlisted(ERIN, 3)])
    );
}

// ---------------------------------------------------------------------------------------------
// Promote
// ---------------------------------------------------------------------------------------------

/// An open cohort with a free seat and learners waiting.
///
/// The rules never produce this state: every event that frees a seat on an open cohort promotes
/// at once, and a closed cohort (where a seat can stay free while learners wait) cannot be
/// reopened. So the only way to test a successful manual promote is to build the state by hand.
fn free_seat_with_waitlist() -> Cohort {
    let mut state = cohort(&[created(2), enrolled(ALICE)]);
    state.waitlist.push_back(WaitlistEntry {
        learner: CARLA,
        joined_at_place: 1,
    });
    state.waitlist.push_back(WaitlistEntry {
        learner: DAN,
        joined_at_place: 2,
    });
    state
}

#[test]
fn promote_moves_only_the_waitlist_head_into_a_free_seat() {
    let state = free_seat_with_waitlist();

    let events = when(Some(&state), &CohortCommand::Promote, now());

    assert_eq!(events, Ok(vec![promoted(CARLA)]));
    let after = then_state(state, &events.unwrap());
    assert_eq!(after.enrolled, [ALICE, CARLA]);
    assert_eq!(waitlist_of(&after), [DAN]);
}

#[test]
fn promote_with_nobody_waiting_is_waitlist_empty() {
    let state = given(&[created(2), enrolled(ALICE)]);

    assert_eq!(
        when(state.as_ref(), &CohortCommand::Promote, now()),
        Err(RuleViolation::WaitlistEmpty)
    );
}

#[test]
fn promote_with_every_seat_taken_is_no_seat_free_with_the_count() {
    let state = given(&[
        created(2),
        enrolled(ALICE),
        enrolled(BOB),
        waitlisted(CARLA, 1),
    ]);

    let result = when(state.as_ref(), &CohortCommand::Promote, now());

    assert_eq!(
        result,
        Err(RuleViolation::NoSeatFree {
            enrolled: 2,
            capacity: 2,
        })
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "no seat free: 2 of 2 seats taken"
    );
}

#[test]
fn promote_on_a_closed_cohort_is_enrollment_closed_even_with_a_free_seat() {
    // Reachable by the rules: closing, then withdrawing, leaves a seat free and BOB waiting.
    let state = given(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        Event::EnrollmentClosed,
        withdrawn(ALICE),
    ]);

    assert_eq!(
        when(state.as_ref(), &CohortCommand::Promote, now()),
        Err(RuleViolation::EnrollmentClosed)
    );
}

// ---------------------------------------------------------------------------------------------
// Change capacity
// ---------------------------------------------------------------------------------------------

#[test]
fn capacity_below_the_enrolled_count_is_refused_with_the_facts() {
    let state = given(&[created(3), enrolled(ALICE), enrolled(BOB)]);

    assert_eq!(
        when(state.as_ref(), &change_capacity(1), now()),
        Err(RuleViolation::CapacityBelowEnrolled {
            requested: 1,
            enrolled: 2,
        })
    );
}

#[test]
fn capacity_change_to_the_current_capacity_is_capacity_unchanged() {
    let state = given(&[created(3)]);

    assert_eq!(
        when(state.as_ref(), &change_capacity(3), now()),
        Err(RuleViolation::CapacityUnchanged { capacity: 3 })
    );
}

#[test]
fn capacity_increase_promotes_from_the_head_while_seats_are_free_in_waitlist_order() {
    let state = cohort(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        waitlisted(CARLA, 2),
        waitlisted(DAN, 3),
    ]);

    let events = when(Some(&state), &change_capacity(3), now());

    assert_eq!(
        events,
        Ok(vec![capacity_changed(1, 3), promoted(BOB), promoted(CARLA)])
    );
    let after = then_state(state, &events.unwrap());
    assert_eq!(after.enrolled, [ALICE, BOB, CARLA]);
    assert_eq!(waitlist_of(&after), [DAN]);
    assert_eq!(after.seats_remaining(), 0);
}

#[test]
fn capacity_increase_larger_than_the_waitlist_promotes_everyone_waiting() {
    let state = cohort(&[created(1), enrolled(ALICE), waitlisted(BOB, 1)]);

    let events = when(Some(&state), &change_capacity(5), now());

    assert_eq!(events, Ok(vec![capacity_changed(1, 5), promoted(BOB)]));
    let after = then_state(state, &events.unwrap());
    assert!(after.waitlist.is_empty());
    assert_eq!(after.seats_remaining(), 3);
}

#[test]
fn capacity_decrease_to_exactly_the_enrolled_count_is_allowed() {
    let state = cohort(&[created(3), enrolled(ALICE), enrolled(BOB)]);

    let events = when(Some(&state), &change_capacity(2), now());

    assert_eq!(events, Ok(vec![capacity_changed(3, 2)]));
    let after = then_state(state, &events.unwrap());
    assert_eq!(after.capacity, seats(2));
    assert_eq!(after.seats_remaining(), 0);
}

#[test]
fn capacity_increase_on_a_closed_cohort_promotes_nobody() {
    let state = cohort(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        Event::EnrollmentClosed,
    ]);

    let events = when(Some(&state), &change_capacity(2), now());

    assert_eq!(events, Ok(vec![capacity_changed(1, 2)]));
    let after = then_state(state, &events.unwrap());
    assert_eq!(after.enrolled, [ALICE]);
    assert_eq!(waitlist_of(&after), [BOB]);
}

// ---------------------------------------------------------------------------------------------
// Close enrollment
// ---------------------------------------------------------------------------------------------

#[test]
fn close_enrollment_emits_enrollment_closed() {
    let state = cohort(&[created(2)]);

    let events = when(Some(&state), &CohortCommand::CloseEnrollment, now());

    assert_eq!(events, Ok(vec![Event::EnrollmentClosed]));
    let after = then_state(state, &events.unwrap());
    assert_eq!(after.status, CohortStatus::Closed);
}

#[test]
fn closing_twice_is_enrollment_closed() {
    let state = given(&[created(2), Event::EnrollmentClosed]);

    assert_eq!(
        when(state.as_ref(), &CohortCommand::CloseEnrollment, now()),
        Err(RuleViolation::EnrollmentClosed)
    );
}

// ---------------------------------------------------------------------------------------------
// Apply, replay and invariants
// ---------------------------------------------------------------------------------------------

#[test]
fn replaying_decided_events_gives_the_same_state_as_applying_them_one_by_one() {
    let commands = [
        CohortCommand::Create(new_cohort(2)),
        enroll(ALICE),
        enroll(BOB),
        enroll(CARLA),
        enroll(DAN),
        enroll(ERIN),
        leave_waitlist(DAN),
        withdraw(ALICE),
        change_capacity(4),
        CohortCommand::CloseEnrollment,
        withdraw(BOB),
    ];
    let mut history: Vec<Event> = Vec::new();
    let mut state: Option<Cohort> = None;
    for command in &commands {
        let events = when(state.as_ref(), command, now())
            .unwrap_or_else(|v| panic!("{command:?} refused: {v}"));
        for event in &events {
            match &mut state {
                None => {
                    let Event::CohortCreated(data) = event else {
                        panic!("first event must be cohort.created, got {event:?}");
                    };
                    state = Some(Cohort::created(COHORT, data));
                }
                Some(cohort) => cohort.apply(event),
            }
        }
        // Invariants hold after each command (not between the events of one decision).
        let cohort = state.as_ref().expect("created first");
        assert_eq!(cohort.check_invariants(), Ok(()), "after {command:?}");
        history.extend(events);
    }

    let replayed = Cohort::replay(COHORT, &history);

    assert_eq!(replayed, state);
    // Sanity: the scenario did something worth comparing.
    let end = replayed.expect("cohort exists");
    assert_eq!(end.enrolled, [CARLA, ERIN]);
    assert_eq!(end.status, CohortStatus::Closed);
}

#[test]
fn replay_of_nothing_is_no_cohort() {
    assert_eq!(Cohort::replay(COHORT, &[]), None);
}

#[test]
fn applying_cohort_created_again_changes_nothing() {
    let state = cohort(&[created(2), enrolled(ALICE)]);
    let mut again = state.clone();

    again.apply(&created(5));

    assert_eq!(again, state);
}

#[test]
fn invariants_detect_more_enrolled_than_seats() {
    let mut state = cohort(&[created(1), enrolled(ALICE)]);
    state.enrolled.push(BOB);

    assert_eq!(
        state.check_invariants(),
        Err(InvariantBroken::OverCapacity {
            enrolled: 2,
            capacity: 1,
        })
    );
}

#[test]
fn invariants_detect_a_learner_enrolled_twice() {
    let mut state = cohort(&[created(3), enrolled(ALICE)]);
    state.enrolled.push(ALICE);

    assert_eq!(
        state.check_invariants(),
        Err(InvariantBroken::Duplicate(ALICE))
    );
}

#[test]
fn invariants_detect_a_learner_both_enrolled_and_waitlisted() {
    let mut state = cohort(&[created(1), enrolled(ALICE)]);
    state.waitlist.push_back(WaitlistEntry {
        learner: ALICE,
        joined_at_place: 1,
    });

    assert_eq!(
        state.check_invariants(),
        Err(InvariantBroken::Duplicate(ALICE))
    );
}

#[test]
fn invariants_detect_a_free_seat_while_learners_wait_on_an_open_cohort() {
    let state = free_seat_with_waitlist();

    assert_eq!(
        state.check_invariants(),
        Err(InvariantBroken::SeatFreeWhileWaiting {
            free: 1,
            waiting: 2,
        })
    );
}

#[test]
fn invariants_allow_a_free_seat_while_learners_wait_on_a_closed_cohort() {
    let mut state = free_seat_with_waitlist();
    state.status = CohortStatus::Closed;

    assert_eq!(state.check_invariants(), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Codes and messages
// ---------------------------------------------------------------------------------------------

#[test]
fn violations_have_the_codes_the_api_promises() {
    let t = now();
    let cases = [
        (RuleViolation::EnrollmentClosed, "enrollment_closed"),
        (
            RuleViolation::EnrollmentDeadlinePassed {
                deadline: t,
                now: t,
            },
            "enrollment_deadline_passed",
        ),
        (
            RuleViolation::WithdrawalDeadlinePassed {
                deadline: t,
                now: t,
            },
            "withdrawal_deadline_passed",
        ),
        (
            RuleViolation::AlreadyEnrolled { learner: ALICE },
            "already_enrolled",
        ),
        (
            RuleViolation::AlreadyWaitlisted {
                learner: ALICE,
                position: 1,
                waitlist_len: 1,
            },
            "already_waitlisted",
        ),
        (
            RuleViolation::NotEnrolled { learner: ALICE },
            "not_enrolled",
        ),
        (RuleViolation::WaitlistEmpty, "waitlist_empty"),
        (
            RuleViolation::NoSeatFree {
                enrolled: 1,
                capacity: 1,
            },
            "no_seat_free",
        ),
        (
            RuleViolation::CapacityBelowEnrolled {
                requested: 1,
                enrolled: 2,
            },
            "capacity_below_enrolled",
        ),
    ];
    for (violation, code) in cases {
        assert_eq!(violation.code(), code, "{violation:?}");
    }
}

#[test]
fn deadline_messages_carry_both_times_in_utc_to_the_minute() {
    let state = given(&[created(2), enrolled(ALICE)]);

    let enroll_late = when(state.as_ref(), &enroll(BOB), at("2026-03-01T09:00:00Z"));
    let withdraw_late = when(state.as_ref(), &withdraw(ALICE), at("2026-03-08T17:30:45Z"));

    assert_eq!(
        enroll_late.unwrap_err().to_string(),
        "enrollment deadline 2026-03-01 00:00 UTC passed at 2026-03-01 09:00 UTC"
    );
    assert_eq!(
        withdraw_late.unwrap_err().to_string(),
        "withdrawal deadline 2026-03-08 00:00 UTC passed at 2026-03-08 17:30 UTC"
    );
}

#[test]
fn other_messages_carry_their_facts() {
    let already_waitlisted = RuleViolation::AlreadyWaitlisted {
        learner: CARLA,
        position: 2,
        waitlist_len: 3,
    };
    let below = RuleViolation::CapacityBelowEnrolled {
        requested: 1,
        enrolled: 2,
    };
    let schedule = RuleViolation::InvalidSchedule(ScheduleProblem::WithdrawalBeforeEnrollment {
        withdrawal: at("2026-02-28T00:00:00Z"),
        enrollment: enrollment_deadline(),
    });

    assert_eq!(
        already_waitlisted.to_string(),
        "learner is already waitlisted, at place 2 of 3"
    );
    assert_eq!(
        below.to_string(),
        "capacity 1 is below the 2 learners enrolled"
    );
    assert_eq!(
        schedule.to_string(),
        "the withdrawal deadline 2026-02-28 00:00 UTC is before the enrollment deadline \
         2026-03-01 00:00 UTC"
    );
}

// ---------------------------------------------------------------------------------------------
// Any sequence of commands
// ---------------------------------------------------------------------------------------------

mod any_sequence {
    use proptest::prelude::*;

    use super::{
        ALICE, BOB, CARLA, COHORT, Cohort, CohortCommand, DAN, ERIN, Event, LearnerId, NewCohort,
        OTHER, PromotionPolicy, Timestamp, accept_offer, at, change_capacity, decide_transfer,
        decline_offer, enroll, leave_waitlist, new_cohort, now, offer_48h, reopen, withdraw,
    };

    fn policy() -> impl Strategy<Value = (PromotionPolicy, Option<u32>)> {
        prop::sample::select(vec![
            (PromotionPolicy::Automatic, None),
            (PromotionPolicy::Automatic, Some(1)),
            (offer_48h(), None),
            (offer_48h(), Some(2)),
        ])
    }

    fn learner() -> impl Strategy<Value = LearnerId> {
        prop::sample::select(vec![ALICE, BOB, CARLA, DAN, ERIN])
    }

    fn command() -> impl Strategy<Value = CohortCommand> {
        prop_oneof![
            4 => learner().prop_map(enroll),
            2 => learner().prop_map(withdraw),
            1 => learner().prop_map(leave_waitlist),
            1 => Just(CohortCommand::Promote),
            2 => (1_u64..=5).prop_map(change_capacity),
            1 => Just(CohortCommand::CloseEnrollment),
            1 => Just(reopen("", None)),
            1 => Just(reopen("", Some(at("2026-03-05T00:00:00Z")))),
            1 => policy().prop_map(|(promotion, waitlist_cap)| CohortCommand::SetPolicy {
                promotion,
                waitlist_cap,
            }),
            2 => learner().prop_map(accept_offer),
            1 => learner().prop_map(decline_offer),
            1 => Just(CohortCommand::ExpireOffers),
            1 => Just(CohortCommand::Reschedule {
                starts_at: None,
                enrollment_deadline: Some(at("2026-03-06T00:00:00Z")),
                withdrawal_deadline: Some(at("2026-03-10T00:00:00Z")),
                ends_at: None,
            }),
            1 => Just(CohortCommand::Reschedule {
                starts_at: None,
                enrollment_deadline: None,
                withdrawal_deadline: None,
                ends_at: Some(at("2026-04-20T17:00:00Z")),
            }),
            1 => Just(CohortCommand::ChangeDetails {
                name: Some("renamed".to_owned()),
                course: None,
                instructor: None,
            }),
            // A transfer out, against a fresh cohort with one seat (only A's side is kept).
            1 => learner().prop_map(|learner| CohortCommand::LeaveWaitlist {
                learner,
                reason: "transfer".to_owned(),
            }),
        ]
    }

    /// Before both deadlines, between them, or after both.
    fn instant() -> impl Strategy<Value = Timestamp> {
        prop::sample::select(vec![
            now(),
            at("2026-02-23T12:00:00Z"),
            at("2026-02-26T12:00:00Z"),
            at("2026-03-04T12:00:00Z"),
            at("2026-03-09T12:00:00Z"),
        ])
    }

    proptest! {
        #[test]
        fn accepted_commands_keep_the_invariants_and_replay_to_the_same_state(
            capacity in 1_u64..=3,
            (promotion, waitlist_cap) in policy(),
            steps in prop::collection::vec((command(), instant(), any::<bool>()), 0..40),
            cancel_at_end in any::<bool>(),
        ) {
            let new = NewCohort { promotion, waitlist_cap, ..new_cohort(capacity) };
            let mut history = Cohort::decide(None, COHORT, &CohortCommand::Create(new), now())
                .expect("a valid cohort is created");
            let mut state = Cohort::replay(COHORT, &history).expect("created");
            let elsewhere = Cohort::replay(OTHER, &Cohort::decide(
                None, OTHER, &CohortCommand::Create(new_cohort(1)), now(),
            ).expect("created")).expect("created");
            let mut steps = steps;
            if cancel_at_end {
                steps.push((CohortCommand::Cancel { reason: String::new() }, now(), false));
            }
            for (command, at, as_transfer) in &steps {
                // Refusals are fine here; the rule tests above check which ones are right.
                let decided = match command {
                    CohortCommand::LeaveWaitlist { learner, .. } if *as_transfer => {
                        decide_transfer(&state, &elsewhere, *learner, true, "", *at)
                            .map(|t| t.from_events)
                            .map_err(|r| r.violation)
                    }
                    command => Cohort::decide(Some(&state), COHORT, command, *at),
                };
                let Ok(events) = decided else {
                    continue;
                };
                for event in &events {
                    prop_assert!(!matches!(event, Event::CohortCreated(_)));
                    state.apply(event);
                }
                prop_assert_eq!(state.check_invariants(), Ok(()), "after {:?}", command);
                history.extend(events);
            }
            prop_assert_eq!(Cohort::replay(COHORT, &history), Some(state));
        }
    }
}

/// Waitlisted learners asked before the enrollment deadline: a seat freed after it (while
/// withdrawals are still allowed and enrollment is not closed) still goes to the head of the
/// waitlist. Closing enrollment is what stops promotions.
#[test]
fn a_seat_freed_after_the_enrollment_deadline_still_promotes_the_waitlist_head() {
    let state = given(&[created(1), enrolled(ALICE), waitlisted(BOB, 1)]).unwrap();
    let after_enrollment_deadline = at("2026-03-03T00:00:00Z");
    assert!(after_enrollment_deadline > enrollment_deadline());
    assert!(after_enrollment_deadline < withdrawal_deadline());
    assert_eq!(
        when(Some(&state), &withdraw(ALICE), after_enrollment_deadline),
        Ok(vec![withdrawn(ALICE), promoted(BOB)])
    );
}

#[test]
fn promoting_the_head_takes_it_off_the_front_and_keeps_the_rest_in_order() {
    let mut state = given(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        waitlisted(CARLA, 2),
        waitlisted(DAN, 3),
    ])
    .unwrap();
    state.apply(&withdrawn(ALICE));
    state.apply(&promoted(BOB));
    assert_eq!(waitlist_of(&state), [CARLA, DAN]);
    // A promotion of someone not at the head (never decided, but `apply` cannot fail) still
    // removes exactly that learner.
    state.apply(&promoted(DAN));
    assert_eq!(waitlist_of(&state), [CARLA]);
    assert_eq!(state.enrolled, [BOB, DAN]);
}

// ---------------------------------------------------------------------------------------------
// Issue 15: reopen, reschedule, details, cancel, policy, offers, cap, transfers
// ---------------------------------------------------------------------------------------------

const OTHER: CohortId = CohortId(Uuid::from_u128(0xC1));

fn hours(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_hours(n)
}

/// Offers held for 48 hours.
fn offer_48h() -> PromotionPolicy {
    PromotionPolicy::Offer { hold: hours(48) }
}

fn policy_changed(promotion: PromotionPolicy, waitlist_cap: Option<u32>) -> Event {
    Event::PolicyChanged {
        promotion,
        waitlist_cap,
    }
}

/// The 48-hour offer made to `learner` at `at`.
fn offered(learner: LearnerId, at: Timestamp) -> Event {
    Event::WaitlistOffered {
        learner,
        offered_at: at,
        expires_at: at.checked_add(hours(48)).unwrap(),
    }
}

fn expired(learner: LearnerId) -> Event {
    Event::OfferExpired { learner }
}

fn released(learner: LearnerId) -> Event {
    Event::StudentReleased { learner }
}

fn reopen(reason: &str, enrollment_deadline: Option<Timestamp>) -> CohortCommand {
    CohortCommand::Reopen {
        reason: reason.to_owned(),
        enrollment_deadline,
    }
}

fn reschedule(
    starts_at: Option<Timestamp>,
    enrollment_deadline: Option<Timestamp>,
    withdrawal_deadline: Option<Timestamp>,
) -> CohortCommand {
    CohortCommand::Reschedule {
        starts_at,
        enrollment_deadline,
        withdrawal_deadline,
        ends_at: None,
    }
}

fn accept_offer(learner: LearnerId) -> CohortCommand {
    CohortCommand::AcceptOffer { learner }
}

fn decline_offer(learner: LearnerId) -> CohortCommand {
    CohortCommand::DeclineOffer {
        learner,
        reason: "took a job".to_owned(),
    }
}

fn rescheduled(enrollment: Timestamp, withdrawal: Timestamp) -> Event {
    Event::CohortRescheduled {
        starts_at: at("2026-03-02T09:00:00Z"),
        enrollment_deadline: enrollment,
        withdrawal_deadline: withdrawal,
        ends_at: None,
    }
}

/// One seat, offers held 48 h: ALICE enrolled, BOB and CARLA waiting.
fn full_offer_cohort() -> Cohort {
    cohort(&[
        created(1),
        policy_changed(offer_48h(), None),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        waitlisted(CARLA, 2),
    ])
}

/// `full_offer_cohort` after ALICE withdrew at `now()`: BOB holds the seat until now + 48 h.
fn offer_held_by_bob() -> Cohort {
    let state = full_offer_cohort();
    let events = when(Some(&state), &withdraw(ALICE), now()).unwrap();
    assert_eq!(events, [withdrawn(ALICE), offered(BOB, now())]);
    then_state(state, &events)
}

fn bobs_expiry() -> Timestamp {
    now().checked_add(hours(48)).unwrap()
}

// ---- create with a policy ----

#[test]
fn create_with_the_default_policy_emits_only_cohort_created() {
    assert_eq!(
        when(None, &CohortCommand::Create(new_cohort(2)), now()),
        Ok(vec![created(2)])
    );
}

#[test]
fn create_with_offers_or_a_cap_also_emits_the_policy() {
    let new = NewCohort {
        promotion: offer_48h(),
        waitlist_cap: Some(3),
        ..new_cohort(2)
    };
    assert_eq!(
        when(None, &CohortCommand::Create(new), now()),
        Ok(vec![created(2), policy_changed(offer_48h(), Some(3))])
    );
}

// ---- reopen ----

#[test]
fn reopen_an_open_cohort_is_not_closed() {
    let state = cohort(&[created(2)]);
    assert_eq!(
        when(Some(&state), &reopen("oops", None), now()),
        Err(RuleViolation::NotClosed)
    );
}

#[test]
fn reopen_after_the_enrollment_deadline_without_a_new_one_is_deadline_in_past() {
    let state = cohort(&[created(2), Event::EnrollmentClosed]);
    let later = at("2026-03-03T00:00:00Z");
    assert_eq!(
        when(Some(&state), &reopen("oops", None), later),
        Err(RuleViolation::DeadlineInPast {
            deadline: enrollment_deadline(),
            now: later,
        })
    );
    // A deadline exactly now has passed for this rule too.
    assert_eq!(
        when(Some(&state), &reopen("oops", Some(later)), later),
        Err(RuleViolation::DeadlineInPast {
            deadline: later,
            now: later,
        })
    );
}

#[test]
fn reopen_with_a_deadline_after_the_withdrawal_deadline_is_invalid_schedule() {
    let state = cohort(&[created(2), Event::EnrollmentClosed]);
    let too_late = at("2026-03-09T00:00:00Z");
    assert_eq!(
        when(Some(&state), &reopen("oops", Some(too_late)), now()),
        Err(RuleViolation::InvalidSchedule(
            ScheduleProblem::WithdrawalBeforeEnrollment {
                withdrawal: withdrawal_deadline(),
                enrollment: too_late,
            }
        ))
    );
}

#[test]
fn reopen_promotes_waiting_learners_into_seats_freed_while_closed_in_the_same_append() {
    let state = cohort(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        waitlisted(CARLA, 2),
        Event::EnrollmentClosed,
        withdrawn(ALICE),
    ]);
    let events = when(Some(&state), &reopen("closed by mistake", None), now()).unwrap();
    assert_eq!(
        events,
        [
            Event::EnrollmentReopened {
                reason: "closed by mistake".into()
            },
            promoted(BOB),
        ]
    );
    let after = then_state(state, &events);
    assert_eq!(after.status, CohortStatus::Open);
    assert_eq!(waitlist_of(&after), [CARLA]);
}

#[test]
fn reopen_with_a_new_deadline_moves_it_first_then_reopens_then_offers_under_the_offer_policy() {
    let state = cohort(&[
        created(1),
        policy_changed(offer_48h(), None),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        Event::EnrollmentClosed,
        withdrawn(ALICE),
    ]);
    let later = at("2026-03-03T00:00:00Z");
    let moved = at("2026-03-06T00:00:00Z");
    let events = when(Some(&state), &reopen("", Some(moved)), later).unwrap();
    assert_eq!(
        events,
        [
            rescheduled(moved, withdrawal_deadline()),
            Event::EnrollmentReopened { reason: "".into() },
            offered(BOB, later),
        ]
    );
    let after = then_state(state, &events);
    assert_eq!(after.enrollment_deadline, moved);
    assert_eq!(after.seats_remaining(), 0, "a held seat is taken");
}

// ---- reschedule and details ----

#[test]
fn reschedule_to_the_current_dates_is_nothing_changed() {
    let state = cohort(&[created(2)]);
    assert_eq!(
        when(Some(&state), &reschedule(None, None, None), now()),
        Err(RuleViolation::NothingChanged)
    );
    assert_eq!(
        when(
            Some(&state),
            &reschedule(None, Some(enrollment_deadline()), None),
            now()
        ),
        Err(RuleViolation::NothingChanged)
    );
}

#[test]
fn reschedule_emits_all_three_dates_after_the_change() {
    let state = cohort(&[created(2)]);
    let later = at("2026-03-05T00:00:00Z");
    let events = when(Some(&state), &reschedule(None, Some(later), None), now()).unwrap();
    assert_eq!(events, [rescheduled(later, withdrawal_deadline())]);
    assert_eq!(then_state(state, &events).enrollment_deadline, later);
}

#[test]
fn reschedule_a_deadline_to_a_time_already_past_is_deadline_in_past() {
    let state = cohort(&[created(2)]);
    let past = at("2026-02-19T00:00:00Z");
    assert_eq!(
        when(Some(&state), &reschedule(None, Some(past), None), now()),
        Err(RuleViolation::DeadlineInPast {
            deadline: past,
            now: now(),
        })
    );
    assert_eq!(
        when(Some(&state), &reschedule(None, None, Some(now())), now()),
        Err(RuleViolation::DeadlineInPast {
            deadline: now(),
            now: now(),
        })
    );
}

#[test]
fn reschedule_keeps_an_unchanged_deadline_that_has_passed_and_the_start_may_be_anything() {
    let state = cohort(&[created(2)]);
    let later = at("2026-03-04T00:00:00Z");
    assert!(later > enrollment_deadline());
    let start = at("2026-01-01T09:00:00Z");
    let events = when(
        Some(&state),
        &reschedule(Some(start), None, Some(at("2026-03-10T00:00:00Z"))),
        later,
    )
    .unwrap();
    assert_eq!(
        events,
        [Event::CohortRescheduled {
            starts_at: start,
            enrollment_deadline: enrollment_deadline(),
            withdrawal_deadline: at("2026-03-10T00:00:00Z"),
            ends_at: None,
        }]
    );
}

#[test]
fn reschedule_that_puts_withdrawals_before_enrollment_is_invalid_schedule() {
    let state = cohort(&[created(2)]);
    let late = at("2026-03-09T00:00:00Z");
    assert_eq!(
        when(Some(&state), &reschedule(None, Some(late), None), now()),
        Err(RuleViolation::InvalidSchedule(
            ScheduleProblem::WithdrawalBeforeEnrollment {
                withdrawal: withdrawal_deadline(),
                enrollment: late,
            }
        ))
    );
}

#[test]
fn change_details_emits_all_three_after_and_nothing_changed_is_refused() {
    let state = cohort(&[created(2)]);
    let same = CohortCommand::ChangeDetails {
        name: None,
        course: Some("RUST-201".to_owned()),
        instructor: None,
    };
    assert_eq!(
        when(Some(&state), &same, now()),
        Err(RuleViolation::NothingChanged)
    );
    let change = CohortCommand::ChangeDetails {
        name: None,
        course: None,
        instructor: Some("Grace".to_owned()),
    };
    let events = when(Some(&state), &change, now()).unwrap();
    assert_eq!(
        events,
        [Event::CohortDetailsChanged {
            name: "Rust in Practice — spring".to_owned(),
            course: "RUST-201".to_owned(),
            instructor: "Grace".to_owned(),
        }]
    );
    assert_eq!(then_state(state, &events).instructor, "Grace");
}

// ---- cancel ----

#[test]
fn cancel_releases_everyone_enrolled_then_offered_then_waiting_in_the_same_append() {
    let state = then_state(
        offer_held_by_bob(),
        &[waitlisted(DAN, 2), waitlisted(ERIN, 3)],
    );
    let events = when(Some(&state), &change_capacity(2), now()).unwrap();
    let state = then_state(state, &events);
    // CARLA holds the second seat's offer now; DAN and ERIN wait; nobody is enrolled.
    let state = then_state(state, &[Event::OfferAccepted { learner: BOB }]);
    let events = when(
        Some(&state),
        &CohortCommand::Cancel {
            reason: "too few".to_owned(),
        },
        now(),
    )
    .unwrap();
    assert_eq!(
        events,
        [
            Event::CohortCancelled {
                reason: "too few".into()
            },
            released(BOB),
            released(CARLA),
            released(DAN),
            released(ERIN),
        ]
    );
    let after = then_state(state, &events);
    assert_eq!(after.status, CohortStatus::Cancelled);
    assert_eq!(after.held_count(), 0);
}

#[test]
fn every_command_on_a_cancelled_cohort_is_cohort_cancelled() {
    let state = cohort(&[
        created(1),
        enrolled(ALICE),
        Event::CohortCancelled { reason: "".into() },
        released(ALICE),
    ]);
    let commands = [
        enroll(BOB),
        withdraw(ALICE),
        leave_waitlist(ALICE),
        CohortCommand::Promote,
        change_capacity(5),
        CohortCommand::CloseEnrollment,
        reopen("", None),
        reschedule(None, Some(at("2026-02-25T00:00:00Z")), None),
        CohortCommand::ChangeDetails {
            name: Some("x".to_owned()),
            course: None,
            instructor: None,
        },
        CohortCommand::Cancel {
            reason: String::new(),
        },
        CohortCommand::SetPolicy {
            promotion: offer_48h(),
            waitlist_cap: None,
        },
        accept_offer(ALICE),
        decline_offer(ALICE),
        CohortCommand::ExpireOffers,
    ];
    for command in commands {
        assert_eq!(
            when(Some(&state), &command, now()),
            Err(RuleViolation::CohortCancelled),
            "{command:?}"
        );
    }
    assert_eq!(
        decide_transfer(&state, &other(&[created(1)]), ALICE, true, "", now()),
        Err(super::TransferRefused {
            cohort: COHORT,
            violation: RuleViolation::CohortCancelled
        })
    );
}

// ---- policy and cap ----

#[test]
fn set_policy_to_the_current_one_is_nothing_changed() {
    let state = cohort(&[created(1)]);
    assert_eq!(
        when(
            Some(&state),
            &CohortCommand::SetPolicy {
                promotion: PromotionPolicy::Automatic,
                waitlist_cap: None,
            },
            now()
        ),
        Err(RuleViolation::NothingChanged)
    );
}

#[test]
fn set_policy_stores_whole_seconds_and_a_cap_below_the_waitlist_removes_nobody() {
    let state = cohort(&[
        created(1),
        enrolled(ALICE),
        waitlisted(BOB, 1),
        waitlisted(CARLA, 2),
    ]);
    let events = when(
        Some(&state),
        &CohortCommand::SetPolicy {
            promotion: PromotionPolicy::Offer {
                hold: jiff::SignedDuration::from_millis(90_500),
            },
            waitlist_cap: Some(1),
        },
        now(),
    )
    .unwrap();
    let stored = PromotionPolicy::Offer {
        hold: jiff::SignedDuration::from_secs(90),
    };
    assert_eq!(events, [policy_changed(stored, Some(1))]);
    let after = then_state(state, &events);
    assert_eq!(waitlist_of(&after), [BOB, CARLA]);
    assert_eq!(
        when(Some(&after), &enroll(DAN), now()),
        Err(RuleViolation::WaitlistFull { cap: 1, waiting: 2 })
    );
}

#[test]
fn enroll_beyond_the_waitlist_cap_is_waitlist_full_with_the_numbers() {
    let state = cohort(&[
        created(1),
        policy_changed(PromotionPolicy::Automatic, Some(2)),
        enrolled(ALICE),
        waitlisted(BOB, 1),
    ]);
    assert_eq!(
        when(Some(&state), &enroll(CARLA), now()),
        Ok(vec![waitlisted(CARLA, 2)])
    );
    let state = then_state(state, &[waitlisted(CARLA, 2)]);
    assert_eq!(
        when(Some(&state), &enroll(DAN), now()),
        Err(RuleViolation::WaitlistFull { cap: 2, waiting: 2 })
    );
}

#[test]
fn a_cap_of_zero_still_lets_learners_take_free_seats() {
    let state = cohort(&[
        created(1),
        policy_changed(PromotionPolicy::Automatic, Some(0)),
    ]);
    assert_eq!(
        when(Some(&state), &enroll(ALICE), now()),
        Ok(vec![enrolled(ALICE)])
    );
    let state = then_state(state, &[enrolled(ALICE)]);
    assert_eq!(
        when(Some(&state), &enroll(BOB), now()),
        Err(RuleViolation::WaitlistFull { cap: 0, waiting: 0 })
    );
}

// ---- offers ----

#[test]
fn under_the_offer_policy_a_freed_seat_is_offered_and_held_not_promoted() {
    let state = offer_held_by_bob();
    assert_eq!(state.offers.len(), 1);
    assert_eq!(state.offer_of(BOB).unwrap().expires_at, bobs_expiry());
    assert_eq!(waitlist_of(&state), [CARLA]);
    assert!(state.enrolled.is_empty());
    assert_eq!(state.seats_remaining(), 0, "the held seat counts as taken");
    // So a newcomer waits behind CARLA rather than taking the held seat.
    assert_eq!(
        when(Some(&state), &enroll(DAN), now()),
        Ok(vec![waitlisted(DAN, 2)])
    );
    assert_eq!(
        when(Some(&state), &CohortCommand::Promote, now()),
        Err(RuleViolation::NoSeatFree {
            enrolled: 1,
            capacity: 1
        })
    );
}

#[test]
fn promote_under_the_offer_policy_offers_the_head() {
    // A free seat while BOB waits cannot arise from the rules (they fill it themselves); it is
    // made by hand, as `free_seat_with_waitlist` does, to test the command alone.
    let mut state = cohort(&[
        created(1),
        policy_changed(offer_48h(), None),
        enrolled(ALICE),
        waitlisted(BOB, 1),
    ]);
    state.enrolled.clear();
    assert_eq!(
        when(Some(&state), &CohortCommand::Promote, now()),
        Ok(vec![offered(BOB, now())])
    );
}

#[test]
fn accepting_an_offer_enrolls_the_learner_even_after_close_and_the_enrollment_deadline() {
    let state = then_state(offer_held_by_bob(), &[Event::EnrollmentClosed]);
    let later = at("2026-02-21T09:00:00Z");
    let events = when(Some(&state), &accept_offer(BOB), later).unwrap();
    assert_eq!(events, [Event::OfferAccepted { learner: BOB }]);
    let after = then_state(state, &events);
    assert_eq!(after.enrolled, [BOB]);
    assert!(after.offers.is_empty());
}

#[test]
fn accept_or_decline_without_an_offer_is_no_offer() {
    let state = offer_held_by_bob();
    for command in [accept_offer(CARLA), decline_offer(CARLA), accept_offer(DAN)] {
        let (CohortCommand::AcceptOffer { learner } | CohortCommand::DeclineOffer { learner, .. }) =
            command
        else {
            unreachable!()
        };
        assert_eq!(
            when(Some(&state), &command, now()),
            Err(RuleViolation::NoOffer { learner })
        );
    }
}

#[test]
fn declining_an_offer_offers_the_seat_to_the_next_in_line() {
    let state = offer_held_by_bob();
    let later = at("2026-02-21T09:00:00Z");
    let events = when(Some(&state), &decline_offer(BOB), later).unwrap();
    assert_eq!(
        events,
        [
            Event::OfferDeclined {
                learner: BOB,
                reason: "took a job".into()
            },
            offered(CARLA, later),
        ]
    );
    let after = then_state(state, &events);
    assert!(after.waitlist.is_empty());
    assert_eq!(after.offer_of(CARLA).unwrap().offered_at, later);
}

#[test]
fn withdrawing_a_learner_who_holds_an_offer_declines_it_and_offers_the_next() {
    let state = offer_held_by_bob();
    let events = when(Some(&state), &withdraw(BOB), now()).unwrap();
    assert_eq!(
        events,
        [
            Event::OfferDeclined {
                learner: BOB,
                reason: "".into()
            },
            offered(CARLA, now()),
        ]
    );
}

#[test]
fn enrolling_a_learner_who_holds_an_offer_is_already_offered() {
    let state = offer_held_by_bob();
    assert_eq!(
        when(Some(&state), &enroll(BOB), now()),
        Err(RuleViolation::AlreadyOffered {
            learner: BOB,
            expires_at: bobs_expiry(),
        })
    );
}

#[test]
fn expire_offers_before_any_is_due_is_no_offer_due_with_the_next_expiry() {
    let state = offer_held_by_bob();
    let just_before = at("2026-02-22T08:59:59Z");
    assert_eq!(
        when(Some(&state), &CohortCommand::ExpireOffers, just_before),
        Err(RuleViolation::NoOfferDue {
            now: just_before,
            next: Some(bobs_expiry()),
        })
    );
    assert_eq!(
        when(
            Some(&cohort(&[created(1)])),
            &CohortCommand::ExpireOffers,
            now()
        ),
        Err(RuleViolation::NoOfferDue {
            now: now(),
            next: None
        })
    );
}

#[test]
fn an_offer_expires_at_its_expiry_and_the_next_in_line_is_offered_from_then() {
    let state = offer_held_by_bob();
    let events = when(Some(&state), &CohortCommand::ExpireOffers, bobs_expiry()).unwrap();
    assert_eq!(events, [expired(BOB), offered(CARLA, bobs_expiry())]);
    let after = then_state(state, &events);
    // CARLA's offer lapses in turn; nobody is left to offer the seat to.
    let carlas_expiry = after.offer_of(CARLA).unwrap().expires_at;
    let events = when(Some(&after), &CohortCommand::ExpireOffers, carlas_expiry).unwrap();
    assert_eq!(events, [expired(CARLA)]);
    let last = then_state(after, &events);
    assert_eq!(last.seats_remaining(), 1);
    assert!(last.waitlist.is_empty() && last.offers.is_empty());
}

#[test]
fn a_command_reaching_a_cohort_with_an_overdue_offer_expires_it_first_in_the_same_append() {
    let state = offer_held_by_bob();
    let late = at("2026-02-23T12:00:00Z");
    assert!(late > bobs_expiry());
    let events = when(Some(&state), &enroll(DAN), late).unwrap();
    assert_eq!(
        events,
        [expired(BOB), offered(CARLA, late), waitlisted(DAN, 1)]
    );
    then_state(state, &events);
}

#[test]
fn accepting_an_offer_that_ran_out_is_offer_expired_and_writes_nothing() {
    let state = offer_held_by_bob();
    for command in [accept_offer(BOB), decline_offer(BOB), withdraw(BOB)] {
        assert_eq!(
            when(Some(&state), &command, bobs_expiry()),
            Err(RuleViolation::OfferExpired {
                learner: BOB,
                expired_at: bobs_expiry(),
            }),
            "{command:?}"
        );
    }
}

#[test]
fn switching_to_automatic_leaves_the_outstanding_offer_and_promotes_on_the_next_fill() {
    let state = offer_held_by_bob();
    let events = when(
        Some(&state),
        &CohortCommand::SetPolicy {
            promotion: PromotionPolicy::Automatic,
            waitlist_cap: None,
        },
        now(),
    )
    .unwrap();
    assert_eq!(events, [policy_changed(PromotionPolicy::Automatic, None)]);
    let after = then_state(state, &events);
    assert_eq!(after.offers.len(), 1, "BOB's offer stands");
    assert_eq!(
        when(Some(&after), &decline_offer(BOB), now()),
        Ok(vec![
            Event::OfferDeclined {
                learner: BOB,
                reason: "took a job".into()
            },
            promoted(CARLA),
        ])
    );
}

#[test]
fn capacity_below_enrolled_plus_offers_is_refused() {
    let state = offer_held_by_bob();
    let events = when(Some(&state), &change_capacity(2), now()).unwrap();
    let state = then_state(state, &events);
    // BOB and CARLA hold offers: two seats taken.
    assert_eq!(
        when(Some(&state), &change_capacity(1), now()),
        Err(RuleViolation::CapacityBelowEnrolled {
            requested: 1,
            enrolled: 2,
        })
    );
}

#[test]
fn invariants_count_offers_as_taken_and_a_cancelled_cohort_holds_nobody() {
    let mut state = offer_held_by_bob();
    state.offers.push(Offer {
        learner: DAN,
        offered_at: now(),
        expires_at: now(),
    });
    assert_eq!(
        state.check_invariants(),
        Err(InvariantBroken::OverCapacity {
            enrolled: 2,
            capacity: 1
        })
    );
    let mut state = offer_held_by_bob();
    state.waitlist.push_back(WaitlistEntry {
        learner: BOB,
        joined_at_place: 2,
    });
    assert_eq!(
        state.check_invariants(),
        Err(InvariantBroken::Duplicate(BOB))
    );
    let mut state = offer_held_by_bob();
    state.status = CohortStatus::Cancelled;
    assert_eq!(
        state.check_invariants(),
        Err(InvariantBroken::CancelledHoldsLearners { held: 2 })
    );
}

// ---- transfers ----

fn other(events: &[Event]) -> Cohort {
    Cohort::replay(OTHER, events).expect("history creates the cohort")
}

fn refused(
    cohort: CohortId,
    violation: RuleViolation,
) -> Result<super::Transfer, super::TransferRefused> {
    Err(super::TransferRefused { cohort, violation })
}

#[test]
fn a_transfer_to_the_same_cohort_is_same_cohort() {
    let a = cohort(&[created(2), enrolled(ALICE)]);
    assert_eq!(
        decide_transfer(&a, &a, ALICE, true, "", now()),
        refused(COHORT, RuleViolation::SameCohort)
    );
}

#[test]
fn a_transfer_moves_the_learner_into_a_free_seat_and_promotes_in_the_cohort_left() {
    let a = cohort(&[created(1), enrolled(ALICE), waitlisted(BOB, 1)]);
    let b = other(&[created(2)]);
    let transfer = decide_transfer(&a, &b, ALICE, false, "evenings", now()).unwrap();
    assert_eq!(
        transfer.from_events,
        [
            Event::StudentTransferredOut {
                learner: ALICE,
                to: OTHER,
                reason: "evenings".into()
            },
            promoted(BOB),
        ]
    );
    assert_eq!(
        transfer.to_events,
        [Event::StudentTransferredIn {
            learner: ALICE,
            from: COHORT,
            waitlisted_at: None
        }]
    );
    let a = then_state(a, &transfer.from_events);
    let mut b = b;
    for e in &transfer.to_events {
        b.apply(e);
    }
    assert_eq!(a.enrolled, [BOB]);
    assert_eq!(b.enrolled, [ALICE]);
}

#[test]
fn a_transfer_into_a_full_cohort_waitlists_only_when_allowed_and_the_cap_permits() {
    let a = cohort(&[created(2), enrolled(ALICE)]);
    let b = other(&[created(1), enrolled(BOB), waitlisted(CARLA, 1)]);
    assert_eq!(
        decide_transfer(&a, &b, ALICE, false, "", now()),
        refused(
            OTHER,
            RuleViolation::NoSeatFree {
                enrolled: 1,
                capacity: 1
            }
        )
    );
    let transfer = decide_transfer(&a, &b, ALICE, true, "", now()).unwrap();
    assert_eq!(
        transfer.to_events,
        [Event::StudentTransferredIn {
            learner: ALICE,
            from: COHORT,
            waitlisted_at: Some(2)
        }]
    );
    let capped = other(&[
        created(1),
        policy_changed(PromotionPolicy::Automatic, Some(1)),
        enrolled(BOB),
        waitlisted(CARLA, 1),
    ]);
    assert_eq!(
        decide_transfer(&a, &capped, ALICE, true, "", now()),
        refused(OTHER, RuleViolation::WaitlistFull { cap: 1, waiting: 1 })
    );
}

#[test]
fn transfer_deadlines_a_seat_is_left_before_the_withdrawal_deadline_a_place_at_any_time() {
    let a = cohort(&[created(1), enrolled(ALICE), waitlisted(BOB, 1)]);
    let b = other(&[
        created(2),
        Event::CohortRescheduled {
            starts_at: at("2026-04-01T09:00:00Z"),
            enrollment_deadline: at("2026-03-20T00:00:00Z"),
            withdrawal_deadline: at("2026-03-25T00:00:00Z"),
            ends_at: None,
        },
    ]);
    let after_withdrawals = at("2026-03-09T00:00:00Z");
    assert_eq!(
        decide_transfer(&a, &b, ALICE, false, "", after_withdrawals),
        refused(
            COHORT,
            RuleViolation::WithdrawalDeadlinePassed {
                deadline: withdrawal_deadline(),
                now: after_withdrawals,
            }
        )
    );
    // A waitlisted learner may leave for another cohort whatever A's deadlines say.
    assert!(decide_transfer(&a, &b, BOB, false, "", after_withdrawals).is_ok());
    // The cohort joined must still take enrollments.
    let after_b = at("2026-03-21T00:00:00Z");
    assert_eq!(
        decide_transfer(&a, &b, BOB, false, "", after_b),
        refused(
            OTHER,
            RuleViolation::EnrollmentDeadlinePassed {
                deadline: at("2026-03-20T00:00:00Z"),
                now: after_b,
            }
        )
    );
}

#[test]
fn a_transfer_is_refused_naming_the_cohort_whose_rule_refuses_it() {
    let a = cohort(&[created(2), enrolled(ALICE)]);
    assert_eq!(
        decide_transfer(&a, &other(&[created(2)]), BOB, false, "", now()),
        refused(COHORT, RuleViolation::NotEnrolled { learner: BOB })
    );
    assert_eq!(
        decide_transfer(
            &a,
            &other(&[created(2), Event::EnrollmentClosed]),
            ALICE,
            false,
            "",
            now()
        ),
        refused(OTHER, RuleViolation::EnrollmentClosed)
    );
    assert_eq!(
        decide_transfer(
            &a,
            &other(&[created(2), Event::CohortCancelled { reason: "".into() }]),
            ALICE,
            false,
            "",
            now()
        ),
        refused(OTHER, RuleViolation::CohortCancelled)
    );
    assert_eq!(
        decide_transfer(
            &a,
            &other(&[created(2), enrolled(ALICE)]),
            ALICE,
            false,
            "",
            now()
        ),
        refused(OTHER, RuleViolation::AlreadyEnrolled { learner: ALICE })
    );
}

#[test]
fn a_transfer_expires_overdue_offers_in_both_cohorts_first() {
    // A: BOB's offer is overdue, CARLA waits; ALICE waits too? No: ALICE is enrolled in a
    // second seat.
    let a = cohort(&[
        created(2),
        policy_changed(offer_48h(), None),
        enrolled(ALICE),
        enrolled(DAN),
        waitlisted(BOB, 1),
        waitlisted(CARLA, 2),
        withdrawn(DAN),
        offered(BOB, now()),
    ]);
    let b = other(&[
        created(1),
        policy_changed(offer_48h(), None),
        enrolled(ERIN),
        waitlisted(DAN, 1),
        withdrawn(ERIN),
        offered(DAN, now()),
    ]);
    let late = at("2026-02-23T12:00:00Z");
    let transfer = decide_transfer(&a, &b, ALICE, false, "", late).unwrap();
    assert_eq!(
        transfer.from_events,
        [
            expired(BOB),
            offered(CARLA, late),
            Event::StudentTransferredOut {
                learner: ALICE,
                to: OTHER,
                reason: "".into()
            },
        ]
    );
    assert_eq!(
        transfer.to_events,
        [
            expired(DAN),
            Event::StudentTransferredIn {
                learner: ALICE,
                from: COHORT,
                waitlisted_at: None
            },
        ]
    );
}

#[test]
fn transferring_an_offer_holder_out_offers_the_seat_to_the_next_in_line() {
    let a = offer_held_by_bob();
    let b = other(&[created(2)]);
    let transfer = decide_transfer(&a, &b, BOB, false, "", now()).unwrap();
    assert_eq!(
        transfer.from_events,
        [
            Event::StudentTransferredOut {
                learner: BOB,
                to: OTHER,
                reason: "".into()
            },
            offered(CARLA, now()),
        ]
    );
    // An offer that ran out cannot be transferred.
    assert_eq!(
        decide_transfer(&a, &b, BOB, false, "", bobs_expiry()),
        refused(
            COHORT,
            RuleViolation::OfferExpired {
                learner: BOB,
                expired_at: bobs_expiry()
            }
        )
    );
}

#[test]
fn new_violations_have_the_codes_the_api_promises() {
    let t = now();
    let cases = [
        (RuleViolation::NotClosed, "not_closed"),
        (RuleViolation::CohortCancelled, "cohort_cancelled"),
        (
            RuleViolation::DeadlineInPast {
                deadline: t,
                now: t,
            },
            "deadline_in_past",
        ),
        (
            RuleViolation::WaitlistFull { cap: 1, waiting: 1 },
            "waitlist_full",
        ),
        (RuleViolation::NoOffer { learner: ALICE }, "no_offer"),
        (
            RuleViolation::OfferExpired {
                learner: ALICE,
                expired_at: t,
            },
            "offer_expired",
        ),
        (RuleViolation::SameCohort, "same_cohort"),
        (RuleViolation::NothingChanged, "nothing_changed"),
        (
            RuleViolation::AlreadyOffered {
                learner: ALICE,
                expires_at: t,
            },
            "already_offered",
        ),
        (
            RuleViolation::NoOfferDue { now: t, next: None },
            "no_offer_due",
        ),
    ];
    for (violation, code) in cases {
        assert_eq!(violation.code(), code);
    }
    assert_eq!(
        RuleViolation::WaitlistFull { cap: 3, waiting: 3 }.to_string(),
        "the waitlist is full: 3 waiting, cap 3"
    );
    assert_eq!(
        RuleViolation::OfferExpired {
            learner: ALICE,
            expired_at: at("2026-03-02T09:30:00Z")
        }
        .to_string(),
        "the offer expired at 2026-03-02 09:30 UTC"
    );
}

// ---------------------------------------------------------------------------------------------
// The phase a page shows: status and dates together
// ---------------------------------------------------------------------------------------------

#[test]
fn an_open_cohort_is_open_only_until_its_enrollment_deadline() {
    let c = cohort(&[created(2)]);
    assert_eq!(Phase::of(&c, now()), Phase::Open);
    assert_eq!(Phase::of(&c, enrollment_deadline()), Phase::Open);
    let after = at("2026-03-01T00:01:00Z");
    assert_eq!(Phase::of(&c, after), Phase::EnrollmentEnded);
    assert!(
        c.check_joinable(after).is_err(),
        "the phase agrees with the rule"
    );
}

#[test]
fn a_closed_cohort_is_closed_until_it_starts_and_running_after() {
    let c = cohort(&[created(2), Event::EnrollmentClosed]);
    assert_eq!(Phase::of(&c, now()), Phase::Closed);
    assert_eq!(Phase::of(&c, at("2026-03-02T09:00:00Z")), Phase::Running);
    assert!(
        !Phase::waitlist_moves(&c, now()),
        "a closed cohort promotes nobody"
    );
}

#[test]
fn a_cancelled_cohort_stays_cancelled_whatever_the_date() {
    let c = cohort(&[
        created(2),
        Event::CohortCancelled {
            reason: super::Note::Text("instructor ill".to_owned()),
        },
    ]);
    for t in [
        now(),
        at("2026-03-05T00:00:00Z"),
        at("2027-01-01T00:00:00Z"),
    ] {
        assert_eq!(Phase::of(&c, t), Phase::Cancelled);
    }
    assert!(!Phase::waitlist_moves(&c, now()));
}

#[test]
fn the_waitlist_of_an_open_cohort_still_moves_after_its_enrollment_deadline() {
    let c = cohort(&[created(2)]);
    assert!(Phase::waitlist_moves(&c, at("2026-03-03T00:00:00Z")));
}

#[test]
fn phases_read_back_from_their_names() {
    for p in Phase::ALL {
        assert_eq!(p.as_str().parse::<Phase>(), Ok(p));
    }
    assert!("opened".parse::<Phase>().is_err());
}

#[test]
fn a_cohort_with_an_end_is_finished_once_it_has_passed() {
    let ends = at("2026-04-20T17:00:00Z");
    let events = when(
        None,
        &CohortCommand::Create(NewCohort {
            ends_at: Some(ends),
            ..new_cohort(2)
        }),
        now(),
    )
    .unwrap();
    let c = cohort(&events);
    assert_eq!(c.ends_at, Some(ends));
    assert_eq!(Phase::of(&c, at("2026-03-10T00:00:00Z")), Phase::Running);
    assert_eq!(Phase::of(&c, ends), Phase::Finished);
    assert!(
        !Phase::waitlist_moves(&c, ends),
        "nobody is promoted into a finished cohort"
    );
    // Without an end, a cohort runs on.
    let open_ended = cohort(&[created(2)]);
    assert_eq!(
        Phase::of(&open_ended, at("2030-01-01T00:00:00Z")),
        Phase::Running
    );
}

#[test]
fn an_end_must_come_after_the_start() {
    let starts = new_cohort(2).starts_at;
    for ends in [starts, at("2026-03-01T09:00:00Z")] {
        let refused = when(
            None,
            &CohortCommand::Create(NewCohort {
                ends_at: Some(ends),
                ..new_cohort(2)
            }),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            refused,
            RuleViolation::InvalidSchedule(ScheduleProblem::EndsBeforeStart { ends, starts })
        );
    }
    let c = cohort(&[created(2)]);
    let moved = reschedule_end(at("2026-03-01T00:00:00Z"));
    assert!(matches!(
        when(Some(&c), &moved, now()),
        Err(RuleViolation::InvalidSchedule(
            ScheduleProblem::EndsBeforeStart { .. }
        ))
    ));
    let set = reschedule_end(at("2026-04-20T17:00:00Z"));
    let state = accept(c, &set);
    assert_eq!(state.ends_at, Some(at("2026-04-20T17:00:00Z")));
    assert_eq!(
        when(Some(&state), &set, now()),
        Err(RuleViolation::NothingChanged),
        "the same end again changes nothing"
    );
}

fn reschedule_end(ends: Timestamp) -> CohortCommand {
    CohortCommand::Reschedule {
        starts_at: None,
        enrollment_deadline: None,
        withdrawal_deadline: None,
        ends_at: Some(ends),
    }
}

#[test]
fn a_freed_seat_goes_to_the_head_by_the_policy_and_to_nobody_while_closed() {
    let waiting = cohort(&[created(1), enrolled(ALICE), waitlisted(BOB, 1)]);
    assert_eq!(
        waiting.freed_seat_goes(now()),
        Some(Event::WaitlistPromoted { learner: BOB })
    );
    let offering = full_offer_cohort();
    assert!(matches!(
        offering.freed_seat_goes(now()),
        Some(Event::WaitlistOffered { learner: BOB, .. })
    ));
    let closed = accept(waiting, &CohortCommand::CloseEnrollment);
    assert_eq!(closed.freed_seat_goes(now()), None);
    assert_eq!(cohort(&[created(1)]).freed_seat_goes(now()), None);
}
