//! Rule tests: given events, when a command, then events or a violation.

use jiff::Timestamp;
use uuid::Uuid;

use super::{
    Capacity, Cohort, CohortCommand, CohortCreated, CohortId, CohortStatus, Event, InvariantBroken,
    LearnerId, NewCohort, Offer, PromotionPolicy, ReasonCode, RuleViolation, ScheduleProblem,
    WaitlistEntry, decide_transfer,
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
        ALICE, BOB, CARLA, COHORT, Cohort, CohortCommand, DAN, ERIN, Event, LearnerId, Timestamp,
        at, change_capacity, enroll, leave_waitlist, new_cohort, now, withdraw,
    };

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
        ]
    }

    /// Before both deadlines, between them, or after both.
    fn instant() -> impl Strategy<Value = Timestamp> {
        prop::sample::select(vec![
            now(),
            at("2026-03-04T12:00:00Z"),
            at("2026-03-09T12:00:00Z"),
        ])
    }

    proptest! {
        #[test]
        fn accepted_commands_keep_the_invariants_and_replay_to_the_same_state(
            capacity in 1_u64..=3,
            steps in prop::collection::vec((command(), instant()), 0..40),
        ) {
            let mut history = Cohort::decide(
                None,
                COHORT,
                &CohortCommand::Create(new_cohort(capacity)),
                now(),
            )
            .expect("a valid cohort is created");
            let mut state = Cohort::replay(COHORT, &history).expect("created");
            for (command, at) in &steps {
                // Refusals are fine here; the rule tests above check which ones are right.
                let Ok(events) = Cohort::decide(Some(&state), COHORT, command, *at) else {
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
