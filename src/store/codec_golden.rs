//! Golden-bytes fixtures: every stored format, at every schema version, pinned to committed
//! bytes in `tests/fixtures/codec/`. A change to a stored shape fails here; it must become a
//! new schema version (with an upcast) instead. To write the fixtures of a *new* version, run
//! with `ROLLBOOK_BLESS=1`; never re-bless an existing one.

use std::path::PathBuf;

use jiff::Timestamp;
use uuid::Uuid;

use super::*;
use crate::domain::{
    Capacity, Cohort, CohortCreated, CohortId, CohortStatus, Event, LearnerId, Note, Offer,
    PromotionPolicy, ReasonCode, RuleViolation, WaitlistEntry,
};
use crate::store::chain::hex;
use crate::store::envelope::{Actor, CommandMeta, Envelope};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/codec")
        .join(format!("{name}.hex"))
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
    let mut events = vec![
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
                ends_at: None,
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
                reason: "schedule conflict".into(),
            },
        ),
        (
            "event-waitlist.left-v1",
            Event::WaitlistLeft {
                learner: ana(),
                reason: "found another cohort".into(),
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
    ];
    events.extend(term_events_v1());
    events
}

/// The events of issue 15 (a term's corrections, offers and transfers), at schema 1.
fn term_events_v1() -> Vec<(&'static str, Event)> {
    vec![
        (
            "event-enrollment.reopened-v1",
            Event::EnrollmentReopened {
                reason: "closed by mistake".into(),
            },
        ),
        (
            "event-cohort.rescheduled-v1",
            Event::CohortRescheduled {
                starts_at: at("2026-03-22T09:00:00Z"),
                enrollment_deadline: at("2026-03-17T00:00:00Z"),
                withdrawal_deadline: at("2026-03-27T00:00:00Z"),
                ends_at: None,
            },
        ),
        (
            "event-cohort.details_changed-v1",
            Event::CohortDetailsChanged {
                name: "Rust in Practice — evenings".to_owned(),
                course: "RUST-202".to_owned(),
                instructor: "Grace Hopper".to_owned(),
            },
        ),
        (
            "event-cohort.cancelled-v1",
            Event::CohortCancelled {
                reason: "too few learners".into(),
            },
        ),
        (
            "event-student.released-v1",
            Event::StudentReleased { learner: ana() },
        ),
        (
            "event-cohort.policy_changed-v1",
            Event::PolicyChanged {
                promotion: PromotionPolicy::Offer {
                    hold: jiff::SignedDuration::from_hours(48),
                },
                waitlist_cap: Some(12),
            },
        ),
        (
            "event-waitlist.offered-v1",
            Event::WaitlistOffered {
                learner: ana(),
                offered_at: at("2026-03-05T10:14:00Z"),
                expires_at: at("2026-03-07T10:14:00Z"),
            },
        ),
        (
            "event-offer.accepted-v1",
            Event::OfferAccepted { learner: ana() },
        ),
        (
            "event-offer.declined-v1",
            Event::OfferDeclined {
                learner: ana(),
                reason: "took a job".into(),
            },
        ),
        (
            "event-offer.expired-v1",
            Event::OfferExpired { learner: ana() },
        ),
        (
            "event-student.transferred_out-v1",
            Event::StudentTransferredOut {
                learner: ana(),
                to: CohortId(Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_0c02)),
                reason: "evenings suit better".into(),
            },
        ),
        (
            "event-student.transferred_in-v1",
            Event::StudentTransferredIn {
                learner: ana(),
                from: cohort_id(),
                waitlisted_at: Some(4),
            },
        ),
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

/// Schema 2 changed `student.withdrawn`: it gained a reason code (and `waitlist.left` a typed
/// note, below). Every other type is still written at 1 (pinned above).
#[test]
fn every_event_type_at_schema_2_matches_its_fixture_and_decodes() {
    for (name, event) in every_event_v1() {
        let current = event_schema_version(&event);
        if event.note().is_none() {
            assert_eq!(current, 1);
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
            reason: "schedule conflict".into(),
        };
        let name = format!("event-student.withdrawn-v2-{}", code.as_str());
        let bytes = golden(&name, &encode_event_at(&event, 2).unwrap());
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
            reason: "schedule conflict".into(),
        }
    );
    // Read back as stored, it writes the same bytes (its hash in the chain stays true)...
    let upcast = decode_event("student.withdrawn", 1, &v1).unwrap();
    assert_eq!(encode_event_at(&upcast, 1).unwrap(), v1);
    // ...but a code other than `other` has no place in schema 1.
    let coded = Event::StudentWithdrawn {
        learner: ana(),
        reason_code: ReasonCode::Financial,
        reason: Note::default(),
    };
    assert!(encode_event_at(&coded, 1).is_err());
    assert!(matches!(
        decode_event("student.withdrawn", 2, &[0; 3]),
        Err(CodecError::Malformed { .. })
    ));
    assert!(matches!(
        decode_event("student.withdrawn", 4, &v1),
        Err(CodecError::UnknownEvent {
            schema_version: 4,
            ..
        })
    ));
}

/// What an erased note becomes: the SHA-256 of "moved away" (any 32 bytes would do).
fn erased_digest() -> [u8; 32] {
    crate::store::chain::note_digest(&Note::Text("moved away".to_owned()))
}

/// A typed text that looks exactly like what store format 2 left of an erased reason.
fn lookalike() -> String {
    format!("sha256:{}", crate::store::chain::show(&erased_digest()))
}

/// Schema 3 of `student.withdrawn` and schema 2 of `waitlist.left` hold the reason as a typed
/// note: text (whatever it says) or erased, each with its own variant tag.
#[test]
fn noted_events_at_their_newest_schema_match_their_fixtures_and_decode() {
    let cases = [
        (
            "event-student.withdrawn-v3-text",
            Event::StudentWithdrawn {
                learner: ana(),
                reason_code: ReasonCode::Personal,
                reason: Note::Text(lookalike()),
            },
        ),
        (
            "event-student.withdrawn-v3-erased",
            Event::StudentWithdrawn {
                learner: ana(),
                reason_code: ReasonCode::Personal,
                reason: Note::Erased(erased_digest()),
            },
        ),
        (
            "event-waitlist.left-v2-text",
            Event::WaitlistLeft {
                learner: ana(),
                reason: Note::Text(lookalike()),
            },
        ),
        (
            "event-waitlist.left-v2-erased",
            Event::WaitlistLeft {
                learner: ana(),
                reason: Note::Erased(erased_digest()),
            },
        ),
    ];
    for (name, event) in cases {
        let version = event_schema_version(&event);
        assert_eq!(version, if name.contains("withdrawn") { 3 } else { 2 });
        let bytes = golden(name, &encode_event(&event).unwrap());
        assert_eq!(
            decode_event(event.type_name(), version, &bytes).unwrap(),
            event,
            "{name}"
        );
        // An erased note has no form in the older schemas: never a text standing for it.
        if event.note().is_some_and(Note::is_erased) {
            for older in 1..version {
                assert!(encode_event_at(&event, older).is_err(), "{name} at {older}");
            }
        }
    }
    // The variant tag, not the text, says what a note is: the text and the erased note of the
    // same digest are told apart in the bytes.
    let text = encode_event(&Event::WaitlistLeft {
        learner: ana(),
        reason: Note::Text(lookalike()),
    })
    .unwrap();
    let erased = encode_event(&Event::WaitlistLeft {
        learner: ana(),
        reason: Note::Erased(erased_digest()),
    })
    .unwrap();
    assert_eq!((text[16], erased[16]), (0, 1), "the note's variant tag");
}

/// Older schemas stored the reason as a string: it reads as text, even one that looks like
/// what format 2 left of an erased reason.
#[test]
fn a_reason_of_an_older_schema_is_text_whatever_it_says() {
    let withdrawn = Event::StudentWithdrawn {
        learner: ana(),
        reason_code: ReasonCode::Other,
        reason: Note::Text(lookalike()),
    };
    for version in [1, 2] {
        let bytes = encode_event_at(&withdrawn, version).unwrap();
        assert_eq!(
            decode_event("student.withdrawn", version, &bytes).unwrap(),
            withdrawn
        );
    }
    let left = Event::WaitlistLeft {
        learner: ana(),
        reason: Note::Text(lookalike()),
    };
    let bytes = encode_event_at(&left, 1).unwrap();
    assert_eq!(decode_event("waitlist.left", 1, &bytes).unwrap(), left);
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
            reason: "moved".into(),
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

    // The same withdrawal with a code, as schema 2 wrote it.
    let envelope = Envelope {
        schema_version: 2,
        event: Event::StudentWithdrawn {
            learner: ana(),
            reason_code: ReasonCode::Personal,
            reason: "moved".into(),
        },
        ..envelope
    };
    let bytes = golden("envelope-v2", &encode_envelope(&envelope).unwrap());
    assert_eq!(decode_envelope(&bytes).unwrap(), envelope);

    // As written now (schema 3), its reason erased.
    let envelope = Envelope {
        schema_version: EVENT_SCHEMA_VERSION,
        event: Event::StudentWithdrawn {
            learner: ana(),
            reason_code: ReasonCode::Personal,
            reason: Note::Erased(erased_digest()),
        },
        ..envelope
    };
    let bytes = golden("envelope-v3", &encode_envelope(&envelope).unwrap());
    assert_eq!(decode_envelope(&bytes).unwrap(), envelope);
}

/// Snapshot schema 1 is no longer read (its stream is replayed instead), but its bytes stay
/// pinned: they are what older stores hold.
#[test]
fn the_snapshot_of_schema_1_still_matches_its_fixture_and_is_not_read() {
    let stored = SnapshotV1 {
        name: "Rust in Practice".to_owned(),
        course: "RUST-201".to_owned(),
        instructor: "Ada Lovelace".to_owned(),
        capacity: 1,
        starts_at: micros(at("2026-03-15T09:00:00Z")),
        enrollment_deadline: micros(at("2026-03-10T00:00:00Z")),
        withdrawal_deadline: micros(at("2026-03-20T00:00:00Z")),
        closed: true,
        enrolled: vec![*ana().0.as_bytes()],
        waitlist: vec![(*Uuid::from_u128(0xb0b).as_bytes(), 1)],
    };
    let bytes = golden("snapshot-v1", &encode_framed("snapshot", &stored).unwrap());
    assert!(matches!(
        decode_snapshot(cohort_id(), 1, &bytes),
        Err(CodecError::Malformed { .. })
    ));
}

#[test]
fn the_snapshot_matches_its_fixture_and_decodes() {
    let mut cohort = Cohort {
        id: cohort_id(),
        name: "Rust in Practice".to_owned(),
        course: "RUST-201".to_owned(),
        instructor: "Ada Lovelace".to_owned(),
        capacity: Capacity::new(2).unwrap(),
        starts_at: at("2026-03-15T09:00:00Z"),
        enrollment_deadline: at("2026-03-10T00:00:00Z"),
        withdrawal_deadline: at("2026-03-20T00:00:00Z"),
        status: CohortStatus::Closed,
        enrolled: vec![ana()],
        waitlist: std::collections::VecDeque::new(),
        promotion: PromotionPolicy::Offer {
            hold: jiff::SignedDuration::from_hours(48),
        },
        waitlist_cap: Some(10),
        offers: vec![Offer {
            learner: LearnerId(Uuid::from_u128(0xca7)),
            offered_at: at("2026-03-05T10:14:00Z"),
            expires_at: at("2026-03-07T10:14:00Z"),
        }],
        ends_at: None,
    };
    cohort.waitlist.push_back(WaitlistEntry {
        learner: LearnerId(Uuid::from_u128(0xb0b)),
        joined_at_place: 1,
    });
    // Schema 2 is no longer read (its stream is replayed instead), but its bytes stay pinned.
    let v2 = golden(
        "snapshot-v2",
        &encode_framed("snapshot", &snapshot_v2(&cohort)).unwrap(),
    );
    assert!(matches!(
        decode_snapshot(cohort_id(), 2, &v2),
        Err(CodecError::Malformed { .. })
    ));
    cohort.ends_at = Some(at("2026-05-10T17:00:00Z"));
    assert_eq!(SNAPSHOT_SCHEMA_VERSION, 3);
    let bytes = golden("snapshot-v3", &encode_snapshot(&cohort).unwrap());
    assert_eq!(
        decode_snapshot(cohort_id(), SNAPSHOT_SCHEMA_VERSION, &bytes).unwrap(),
        cohort
    );
    // Every status has its own tag; a cancelled cohort reads back cancelled.
    for status in [
        CohortStatus::Open,
        CohortStatus::Closed,
        CohortStatus::Cancelled,
    ] {
        let cohort = Cohort {
            status,
            promotion: PromotionPolicy::Automatic,
            waitlist_cap: None,
            ..cohort.clone()
        };
        let bytes = encode_snapshot(&cohort).unwrap();
        assert_eq!(
            decode_snapshot(cohort_id(), SNAPSHOT_SCHEMA_VERSION, &bytes).unwrap(),
            cohort
        );
    }
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
fn the_webhook_subscription_matches_its_fixture_and_decodes() {
    let webhook = WebhookRecord {
        name: "crm".to_owned(),
        url: "https://crm.example.org/hooks/rollbook".to_owned(),
        event_types: vec![
            "student.enrolled".to_owned(),
            "waitlist.promoted".to_owned(),
        ],
        cohorts: vec![cohort_id().0],
        secret: (0u8..24).collect(),
        paused: true,
        last_error: Some("HTTP 500 Internal Server Error".to_owned()),
        failing_since: Some(at("2026-03-05T10:14:00.125Z")),
        created_at: at("2026-03-01T09:00:00Z"),
    };
    let bytes = golden("webhook-v1", &encode_webhook(&webhook).unwrap());
    assert_eq!(decode_webhook(&bytes).unwrap(), webhook);

    let plain = WebhookRecord {
        event_types: Vec::new(),
        cohorts: Vec::new(),
        paused: false,
        last_error: None,
        failing_since: None,
        ..webhook
    };
    let bytes = golden("webhook-plain-v1", &encode_webhook(&plain).unwrap());
    assert_eq!(decode_webhook(&bytes).unwrap(), plain);
}

#[test]
fn the_mail_log_line_matches_its_fixture_and_decodes() {
    let line = MailLogRecord {
        at: at("2026-03-05T10:14:00.125Z"),
        learner: ana().0,
        cohort: cohort_id().0,
        position: 42,
        kind: "waitlisted".to_owned(),
        subject: "You are on the waitlist for Rust 101, place 3".to_owned(),
        outcome: MailOutcome::Failed,
        detail: "550 5.1.1 the learner's address: no such mailbox".to_owned(),
    };
    let bytes = golden("mail-log-v1", &encode_mail_log(&line).unwrap());
    assert_eq!(decode_mail_log(&bytes).unwrap(), line);
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
        RuleViolation::NotClosed,
        RuleViolation::CohortCancelled,
        RuleViolation::DeadlineInPast {
            deadline: t,
            now: t,
        },
        RuleViolation::WaitlistFull { cap: 4, waiting: 4 },
        RuleViolation::NoOffer { learner: ana() },
        RuleViolation::OfferExpired {
            learner: ana(),
            expired_at: t,
        },
        RuleViolation::SameCohort,
        RuleViolation::NothingChanged,
        RuleViolation::AlreadyOffered {
            learner: ana(),
            expires_at: t,
        },
        RuleViolation::NoOfferDue {
            now: t,
            next: Some(t),
        },
        RuleViolation::NoOfferDue { now: t, next: None },
    ];
    let mut codes: Vec<&str> = violations.iter().map(RuleViolation::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(
        codes.len(),
        violations.len() - 1,
        "one of each kind (no_offer_due twice)"
    );
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

/// The other shapes of the events of issue 15 at schema 1: the automatic policy without a cap,
/// a transfer that took a seat, and every reason erased (a typed note from their first schema).
#[test]
fn the_other_shapes_of_the_new_events_match_their_fixtures_and_decode() {
    let cases = [
        (
            "event-cohort.policy_changed-v1-automatic",
            Event::PolicyChanged {
                promotion: PromotionPolicy::Automatic,
                waitlist_cap: None,
            },
        ),
        (
            "event-student.transferred_in-v1-seat",
            Event::StudentTransferredIn {
                learner: ana(),
                from: cohort_id(),
                waitlisted_at: None,
            },
        ),
        (
            "event-offer.declined-v1-erased",
            Event::OfferDeclined {
                learner: ana(),
                reason: Note::Erased(erased_digest()),
            },
        ),
        (
            "event-student.transferred_out-v1-erased",
            Event::StudentTransferredOut {
                learner: ana(),
                to: cohort_id(),
                reason: Note::Erased(erased_digest()),
            },
        ),
        (
            "event-cohort.cancelled-v1-erased",
            Event::CohortCancelled {
                reason: Note::Erased(erased_digest()),
            },
        ),
        (
            "event-enrollment.reopened-v1-erased",
            Event::EnrollmentReopened {
                reason: Note::Erased(erased_digest()),
            },
        ),
    ];
    for (name, event) in cases {
        assert_eq!(event_schema_version(&event), 1, "{name}");
        let bytes = golden(name, &encode_event(&event).unwrap());
        assert_eq!(
            decode_event(event.type_name(), 1, &bytes).unwrap(),
            event,
            "{name}"
        );
        assert!(
            encode_event_at(&event, 2).is_err(),
            "{name} has no schema 2"
        );
    }
    // A hold is stored as whole seconds: 48 h is 172 800 s.
    let policy = Event::PolicyChanged {
        promotion: PromotionPolicy::Offer {
            hold: jiff::SignedDuration::from_hours(48),
        },
        waitlist_cap: None,
    };
    let bytes = encode_event(&policy).unwrap();
    let stored: PolicyChangedV1 = decode_native("event payload", &bytes).unwrap();
    assert!(matches!(
        stored.promotion,
        PromotionV1::Offer {
            hold_seconds: 172_800
        }
    ));
}

/// Schema 2 of `cohort.created` and `cohort.rescheduled` added the end date; an event without one
/// is still written at 1, byte for byte as before, and one with it cannot be written at 1.
#[test]
fn events_with_an_end_date_are_written_at_schema_2() {
    let cap = Capacity::new(30).unwrap();
    let ends = Some(at("2026-05-10T17:00:00Z"));
    let created = CohortCreated {
        name: "Rust in Practice".to_owned(),
        course: "RUST-201".to_owned(),
        instructor: "Ada Lovelace".to_owned(),
        capacity: cap,
        starts_at: at("2026-03-15T09:00:00Z"),
        enrollment_deadline: at("2026-03-10T00:00:00Z"),
        withdrawal_deadline: at("2026-03-20T00:00:00Z"),
        ends_at: ends,
    };
    let cases = [
        (
            "event-cohort.created-v2",
            Event::CohortCreated(created.clone()),
        ),
        (
            "event-cohort.rescheduled-v2",
            Event::CohortRescheduled {
                starts_at: at("2026-03-22T09:00:00Z"),
                enrollment_deadline: at("2026-03-17T00:00:00Z"),
                withdrawal_deadline: at("2026-03-27T00:00:00Z"),
                ends_at: ends,
            },
        ),
    ];
    for (name, event) in cases {
        assert_eq!(event_schema_version(&event), 2, "{name}");
        let bytes = golden(name, &encode_event(&event).unwrap());
        assert_eq!(decode_event(event.type_name(), 2, &bytes).unwrap(), event);
        assert!(
            encode_event_at(&event, 1).is_err(),
            "{name} loses its end at 1"
        );
    }
    let without = Event::CohortCreated(CohortCreated {
        ends_at: None,
        ..created
    });
    assert_eq!(event_schema_version(&without), 1);
    assert_eq!(
        encode_event(&without).unwrap(),
        golden(
            "event-cohort.created-v1",
            &encode_event_at(&without, 1).unwrap()
        )
    );
}
