//! Golden-bytes fixtures: every stored format, at every schema version, pinned to committed
//! bytes in `tests/fixtures/codec/`. A change to a stored shape fails here; it must become a
//! new schema version (with an upcast) instead. To write the fixtures of a *new* version, run
//! with `ROLLBOOK_BLESS=1`; never re-bless an existing one.

use std::path::PathBuf;

use jiff::Timestamp;
use uuid::Uuid;

use super::*;
use crate::domain::{
    Capacity, Cohort, CohortCreated, CohortId, CohortStatus, Event, LearnerId, ReasonCode,
    RuleViolation, WaitlistEntry,
};
use crate::store::envelope::{Actor, CommandMeta, Envelope};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/codec")
        .join(format!("{name}.hex"))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("fixture is hex"))
        .collect()
}

/// Compares `bytes` with the committed fixture `name` and returns the fixture's bytes.
fn golden(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = fixture_path(name);
    if std::env::var_os("ROLLBOOK_BLESS").is_some() && !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, hex(bytes) + "\n").unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing fixture {}; a new format is blessed with ROLLBOOK_BLESS=1",
            path.display()
        )
    });
    assert_eq!(
        hex(bytes),
        stored.trim(),
        "the stored format of {name} changed"
    );
    unhex(&stored)
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ana() -> LearnerId {
    LearnerId(Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_00a1))
}

fn cohort_id() -> CohortId {
    CohortId(Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_0c01))
}

fn every_event_v1() -> Vec<(&'static str, Event)> {
    let cap = |n| Capacity::new(n).unwrap();
    vec![
        (
            "event-cohort.created-v1",
            Event::CohortCreated(CohortCreated {
                name: "Rust in Practice".to_owned(),
                course: "RUST-201".to_owned(),
                instructor: "Ada Lovelace".to_owned(),
                capacity: cap(30),
                starts_at: at("2026-03-15T09:00:00Z"),
                enrollment_deadline: at("2026-03-10T00:00:00Z"),
                withdrawal_deadline: at("2026-03-20T00:00:00Z"),
            }),
        ),
        (
            "event-student.enrolled-v1",
            Event::StudentEnrolled { learner: ana() },
        ),
        (
            "event-student.waitlisted-v1",
            Event::StudentWaitlisted {
                learner: ana(),
                position: 3,
            },
        ),
        (
            "event-student.withdrawn-v1",
            Event::StudentWithdrawn {
                learner: ana(),
                reason_code: ReasonCode::Other,
                reason: "schedule conflict".to_owned(),
            },
        ),
        (
            "event-waitlist.left-v1",
            Event::WaitlistLeft {
                learner: ana(),
                reason: "found another cohort".to_owned(),
            },
        ),
        (
            "event-waitlist.promoted-v1",
            Event::WaitlistPromoted { learner: ana() },
        ),
        (
            "event-cohort.capacity_changed-v1",
            Event::CapacityChanged {
                from: cap(30),
                to: cap(35),
            },
        ),
        ("event-enrollment.closed-v1", Event::EnrollmentClosed),
    ]
}

#[test]
fn every_event_type_at_schema_1_matches_its_fixture_and_decodes() {
    let events = every_event_v1();
    assert_eq!(
        events.len(),
        Event::TYPE_NAMES.len(),
        "every event type has a fixture"
    );
    for (name, event) in events {
        let bytes = golden(name, &encode_event_at(&event, 1).unwrap());
        assert_eq!(
            decode_event(event.type_name(), 1, &bytes).unwrap(),
            event,
            "{name}"
        );
    }
}

/// Schema 2 changed `student.withdrawn` only: it gained a reason code. Every other type is
/// still written at 1 (pinned above).
#[test]
fn every_event_type_at_schema_2_matches_its_fixture_and_decodes() {
    for (name, event) in every_event_v1() {
        let current = event_schema_version(&event);
        if current == 1 {
            assert_eq!(
                encode_event(&event).unwrap(),
                encode_event_at(&event, 1).unwrap()
            );
            assert!(
                encode_event_at(&event, 2).is_err(),
                "{name} has no schema 2"
            );
        }
    }
    for code in ReasonCode::ALL {
        let event = Event::StudentWithdrawn {
            learner: ana(),
            reason_code: code,
            reason: "schedule conflict".to_owned(),
        };
        assert_eq!(event_schema_version(&event), 2);
        let name = format!("event-student.withdrawn-v2-{}", code.as_str());
        let bytes = golden(&name, &encode_event(&event).unwrap());
        assert_eq!(
            decode_event("student.withdrawn", 2, &bytes).unwrap(),
            event,
            "{name}"
        );
    }
}

#[test]
fn a_withdrawal_of_schema_1_is_upcast_to_the_code_other_with_its_text() {
    let v1 = unhex(&std::fs::read_to_string(fixture_path("event-student.withdrawn-v1")).unwrap());
    assert_eq!(
        decode_event("student.withdrawn", 1, &v1).unwrap(),
        Event::StudentWithdrawn {
            learner: ana(),
            reason_code: ReasonCode::Other,
            reason: "schedule conflict".to_owned(),
        }
    );
    // Read back as stored, it writes the same bytes (its hash in the chain stays true)...
    let upcast = decode_event("student.withdrawn", 1, &v1).unwrap();
    assert_eq!(encode_event_at(&upcast, 1).unwrap(), v1);
    // ...but a code other than `other` has no place in schema 1.
    let coded = Event::StudentWithdrawn {
        learner: ana(),
        reason_code: ReasonCode::Financial,
        reason: String::new(),
    };
    assert!(encode_event_at(&coded, 1).is_err());
    assert!(matches!(
        decode_event("student.withdrawn", 2, &[0; 3]),
        Err(CodecError::Malformed { .. })
    ));
    assert!(matches!(
        decode_event("student.withdrawn", 3, &v1),
        Err(CodecError::UnknownEvent {
            schema_version: 3,
            ..
        })
    ));
}

#[test]
fn the_envelope_matches_its_fixture_and_decodes() {
    let meta = CommandMeta {
        actor: Actor {
            id: Uuid::from_u128(7),
            name: "support-1".to_owned(),
        },
        command_id: Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_c0de),
        correlation_id: Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_c0a1),
        causation_id: Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_ca05),
    };
    let envelope = Envelope {
        position: 42,
        cohort: cohort_id(),
        version: 7,
        schema_version: 1,
        event: Event::StudentWithdrawn {
            learner: ana(),
            reason_code: ReasonCode::Other,
            reason: "moved".to_owned(),
        },
        occurred_at: at("2026-03-05T10:14:00.123456Z"),
        recorded_at: at("2026-03-05T10:14:00.125Z"),
        meta,
    };
    let bytes = golden("envelope-v1", &encode_envelope(&envelope).unwrap());
    assert_eq!(
        bytes[0], CODEC_BINCODE2,
        "every envelope starts with its codec id"
    );
    assert_eq!(decode_envelope(&bytes).unwrap(), envelope);

    // The same withdrawal with a code, as written now.
    let envelope = Envelope {
        schema_version: EVENT_SCHEMA_VERSION,
        event: Event::StudentWithdrawn {
            learner: ana(),
            reason_code: ReasonCode::Personal,
            reason: "moved".to_owned(),
        },
        ..envelope
    };
    let bytes = golden("envelope-v2", &encode_envelope(&envelope).unwrap());
    assert_eq!(decode_envelope(&bytes).unwrap(), envelope);
}

#[test]
fn the_snapshot_matches_its_fixture_and_decodes() {
    let mut cohort = Cohort {
        id: cohort_id(),
        name: "Rust in Practice".to_owned(),
        course: "RUST-201".to_owned(),
        instructor: "Ada Lovelace".to_owned(),
        capacity: Capacity::new(1).unwrap(),
        starts_at: at("2026-03-15T09:00:00Z"),
        enrollment_deadline: at("2026-03-10T00:00:00Z"),
        withdrawal_deadline: at("2026-03-20T00:00:00Z"),
        status: CohortStatus::Closed,
        enrolled: vec![ana()],
        waitlist: std::collections::VecDeque::new(),
    };
    cohort.waitlist.push_back(WaitlistEntry {
        learner: LearnerId(Uuid::from_u128(0xb0b)),
        joined_at_place: 1,
    });
    let bytes = golden("snapshot-v1", &encode_snapshot(&cohort).unwrap());
    assert_eq!(
        decode_snapshot(cohort_id(), SNAPSHOT_SCHEMA_VERSION, &bytes).unwrap(),
        cohort
    );
}

#[test]
fn the_command_record_and_learner_entry_match_their_fixtures() {
    let committed = CommandRecord {
        fingerprint: r#"["enroll","x","ana@example.org",""]"#.to_owned(),
        recorded_at: at("2026-03-05T10:14:00.125Z"),
        outcome: CommandOutcome::Committed {
            cohort: cohort_id(),
            version: 3,
            first_position: 10,
            last_position: 11,
        },
    };
    let bytes = golden(
        "command-record-committed-v1",
        &encode_command_record(&committed).unwrap(),
    );
    assert_eq!(decode_command_record(&bytes).unwrap(), committed);

    let rejected = CommandRecord {
        fingerprint: r#"["withdraw","x","ana@example.org","moved"]"#.to_owned(),
        recorded_at: at("2026-03-21T00:00:00Z"),
        outcome: CommandOutcome::Rejected(RuleViolation::WithdrawalDeadlinePassed {
            deadline: at("2026-03-20T00:00:00Z"),
            now: at("2026-03-21T00:00:00Z"),
        }),
    };
    let bytes = golden(
        "command-record-rejected-v1",
        &encode_command_record(&rejected).unwrap(),
    );
    assert_eq!(decode_command_record(&bytes).unwrap(), rejected);

    let learner = LearnerRecord {
        key: "ana@example.org".to_owned(),
        name: "Ana Li".to_owned(),
    };
    let bytes = golden("learner-v1", &encode_learner(&learner).unwrap());
    assert_eq!(decode_learner(&bytes).unwrap(), learner);
}

#[test]
fn unknown_codecs_types_and_versions_are_errors_not_panics() {
    assert!(matches!(decode_envelope(&[]), Err(CodecError::Empty)));
    assert!(matches!(
        decode_envelope(&[9, 1, 2]),
        Err(CodecError::UnknownCodec(9))
    ));
    assert!(matches!(
        decode_envelope(&[CODEC_BINCODE2, 0xff]),
        Err(CodecError::Malformed { .. })
    ));
    assert!(matches!(
        decode_event("student.enrolled", 2, &[]),
        Err(CodecError::UnknownEvent {
            schema_version: 2,
            ..
        })
    ));
    assert!(matches!(
        decode_event("student.teleported", 1, &[]),
        Err(CodecError::UnknownEvent { .. })
    ));
    // A length prefix claiming more than the limit is refused, not allocated.
    let huge = [
        CODEC_BINCODE2,
        0xfd,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0x7f,
    ];
    assert!(decode_learner(&huge).is_err());
    // Trailing bytes mean the shape is not what we think it is.
    let mut learner = encode_learner(&LearnerRecord {
        key: "a".to_owned(),
        name: String::new(),
    })
    .unwrap();
    learner.push(0);
    assert!(matches!(
        decode_learner(&learner),
        Err(CodecError::Malformed { .. })
    ));
}

#[test]
fn every_rule_violation_round_trips_through_a_command_record() {
    let t = at("2026-03-21T00:00:00Z");
    let violations = [
        RuleViolation::CohortNotFound {
            cohort: cohort_id(),
        },
        RuleViolation::CohortAlreadyExists {
            cohort: cohort_id(),
        },
        RuleViolation::EnrollmentClosed,
        RuleViolation::EnrollmentDeadlinePassed {
            deadline: t,
            now: t,
        },
        RuleViolation::WithdrawalDeadlinePassed {
            deadline: t,
            now: t,
        },
        RuleViolation::AlreadyEnrolled { learner: ana() },
        RuleViolation::AlreadyWaitlisted {
            learner: ana(),
            position: 2,
            waitlist_len: 5,
        },
        RuleViolation::NotEnrolled { learner: ana() },
        RuleViolation::NotWaitlisted { learner: ana() },
        RuleViolation::WaitlistEmpty,
        RuleViolation::NoSeatFree {
            enrolled: 3,
            capacity: 3,
        },
        RuleViolation::CapacityBelowEnrolled {
            requested: 2,
            enrolled: 3,
        },
        RuleViolation::CapacityUnchanged { capacity: 3 },
        RuleViolation::InvalidSchedule(
            crate::domain::ScheduleProblem::WithdrawalBeforeEnrollment {
                withdrawal: t,
                enrollment: t,
            },
        ),
    ];
    let mut codes: Vec<&str> = violations.iter().map(RuleViolation::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), violations.len(), "one of each kind");
    for violation in violations {
        let record = CommandRecord {
            fingerprint: String::new(),
            recorded_at: t,
            outcome: CommandOutcome::Rejected(violation),
        };
        let bytes = encode_command_record(&record).unwrap();
        assert_eq!(decode_command_record(&bytes).unwrap(), record);
    }
}
