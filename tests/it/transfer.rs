//! `rollbook export` and `rollbook import`: every event as JSON Lines, and a new database loaded
//! from them that gives the same export and the same answers. A bad file leaves nothing behind.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rollbook::clock::FixedClock;
use rollbook::transfer::{TransferError, export, import};

use crate::helpers::{TestApp, seed, ts};
use crate::old_release::{FIXTURE_NOW, answers, credentials, fixture_copy};

fn exported(db: &Path) -> String {
    let mut out = Vec::new();
    export(db, &mut out, Path::new("memory"), |_, _| {}).expect("export");
    String::from_utf8(out).expect("UTF-8")
}

#[tokio::test]
async fn export_import_export_gives_the_same_lines_and_the_same_answers() {
    let (dir, source) = fixture_copy();
    let before = std::fs::read(&source).unwrap();
    let first = exported(&source);
    assert_eq!(
        std::fs::read(&source).unwrap(),
        before,
        "export reads without writing (even a file of an older format)"
    );
    assert_eq!(first.lines().count(), 400);
    let file = dir.path().join("history.jsonl");
    std::fs::write(&file, &first).unwrap();

    let copy = dir.path().join("copy.redb");
    let summary = import(&file, &copy, |_, _| {}).expect("import");
    assert_eq!((summary.events, summary.learners), (400, 50));
    assert_eq!(exported(&copy), first);

    let clock = Arc::new(FixedClock::new(ts(FIXTURE_NOW)));
    let original = TestApp::spawn_on(source, clock.clone(), credentials()).await;
    let expected = answers(&original).await;
    original.stop().await;
    // An export holds no accounts: the copy gets its own.
    let imported_credentials = seed(&copy, clock.clone());
    let imported = TestApp::spawn_on(copy, clock, imported_credentials).await;
    let got = answers(&imported).await;
    imported.stop().await;
    assert_eq!(got.len(), expected.len());
    for (path, answer) in &expected {
        assert_eq!(&got[path], answer, "{path}");
    }
}

#[test]
fn a_large_generated_history_round_trips_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (source, copy) = (dir.path().join("a.redb"), dir.path().join("b.redb"));
    let bin = crate::helpers::process::BIN;
    let generated = Command::new(bin)
        .args([
            "generate",
            "--cohorts",
            "40",
            "--learners",
            "600",
            "--events",
            "12000",
        ])
        .args(["--seed", "3", "--end", "2026-11-27T00:00:00Z", "--db"])
        .arg(&source)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let file = dir.path().join("a.jsonl");
    let out = Command::new(bin)
        .args(["export", "--db"])
        .arg(&source)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("exported"));
    let lines = std::fs::read_to_string(&file).unwrap();
    assert!(lines.lines().count() >= 12_000);

    let loaded = Command::new(bin)
        .arg("import")
        .arg(&file)
        .arg("--db")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{loaded:?}");
    assert!(String::from_utf8_lossy(&loaded.stderr).contains("verified end to end"));
    // To standard output, the same lines as to a file.
    let again = Command::new(bin)
        .args(["export", "--db"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(String::from_utf8(again.stdout).unwrap(), lines);

    // Neither command overwrites.
    let refused = Command::new(bin)
        .args(["export", "--db"])
        .arg(&source)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already exists"));
    let refused = Command::new(bin)
        .arg("import")
        .arg(&file)
        .arg("--db")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already exists"));
}

/// Imports `lines` into a new file and returns the error; nothing may be left behind.
fn refused(lines: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(&file, lines).unwrap();
    let target = dir.path().join("new.redb");
    let error = import(&file, &target, |_, _| {}).expect_err("refused");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        ["bad.jsonl"],
        "a refused import leaves nothing behind"
    );
    if let TransferError::Line { line, .. } = &error {
        assert!(*line >= 1);
    }
    error.to_string()
}

#[test]
fn a_damaged_or_impossible_export_is_refused_with_the_line_and_leaves_nothing() {
    let (_dir, source) = fixture_copy();
    let good = exported(&source);
    let lines: Vec<&str> = good.lines().collect();

    let message = refused("{not json\n");
    assert!(message.contains("bad.jsonl line 1:"), "{message}");

    // An event missing from the middle.
    let gap = [lines[0], lines[1], lines[3]].join("\n");
    let message = refused(&gap);
    assert!(
        message.contains("line 3: position 4 where 3 was expected"),
        "{message}"
    );

    // A capacity the rules do not allow.
    let zero = lines[0].replacen("\"capacity\":49", "\"capacity\":0", 1);
    assert_ne!(zero, lines[0]);
    let message = refused(&zero);
    assert!(message.contains("line 1:"), "{message}");

    // Valid lines whose history breaks a rule: the cohort created with one seat, then
    // enrollments beyond it. The store takes them; the verification refuses them.
    let one_seat = lines[0].replacen("\"capacity\":49", "\"capacity\":1", 1);
    let mut crowded = vec![one_seat];
    crowded.extend(lines[1..].iter().map(|l| (*l).to_owned()));
    let message = refused(&crowded.join("\n"));
    assert!(
        message.contains("does not verify") && message.contains("invariant broken"),
        "{message}"
    );
}

/// A history written by the rules themselves: each command decided against the folded states
/// and committed as the writer would (one batch per command, both streams of a transfer in it).
struct Term {
    store: rollbook::store::Store,
    states: std::collections::HashMap<rollbook::domain::CohortId, rollbook::domain::Cohort>,
    events: Vec<rollbook::domain::Event>,
    commands: u128,
}

impl Term {
    fn commit(
        &mut self,
        appends: Vec<(rollbook::domain::CohortId, Vec<rollbook::domain::Event>)>,
        when: &str,
        learners: Vec<(rollbook::domain::LearnerId, rollbook::store::LearnerRecord)>,
    ) {
        use rollbook::store::{Actor, Batch, CommandMeta, StreamAppend};
        self.commands += 1;
        let id = uuid::Uuid::from_u128(0xc000 + self.commands);
        let meta = CommandMeta {
            actor: Actor::local(),
            command_id: id,
            correlation_id: id,
            causation_id: id,
        };
        let mut batch = Batch {
            learners,
            ..Batch::default()
        };
        for (cohort, events) in appends {
            let version = self.store.read().unwrap().stream_version(cohort).unwrap();
            for event in &events {
                if let Some(state) = self.states.get_mut(&cohort) {
                    state.apply(event);
                } else {
                    let state = rollbook::domain::Cohort::replay(cohort, [event]).unwrap();
                    self.states.insert(cohort, state);
                }
            }
            self.events.extend(events.iter().cloned());
            batch.appends.push(StreamAppend {
                cohort,
                expected_version: version,
                events,
                occurred_at: ts(when),
                meta: meta.clone(),
                idempotency: None,
            });
        }
        self.store.commit(&batch, ts(when)).unwrap();
    }

    fn run(
        &mut self,
        cohort: rollbook::domain::CohortId,
        command: &rollbook::domain::CohortCommand,
        when: &str,
    ) {
        let events =
            rollbook::domain::Cohort::decide(self.states.get(&cohort), cohort, command, ts(when))
                .unwrap_or_else(|v| panic!("{command:?} refused: {v}"));
        self.commit(vec![(cohort, events)], when, Vec::new());
    }
}

/// B's commands after the transfer: closed, reopened with a later deadline, rescheduled,
/// renamed, its policy set, then cancelled.
fn closing_to_cancelled(
    offers: rollbook::domain::PromotionPolicy,
) -> [rollbook::domain::CohortCommand; 6] {
    use rollbook::domain::CohortCommand;
    [
        CohortCommand::CloseEnrollment,
        CohortCommand::Reopen {
            reason: "closed by mistake".to_owned(),
            enrollment_deadline: Some(ts("2026-03-21T00:00:00Z")),
        },
        CohortCommand::Reschedule {
            starts_at: Some(ts("2026-04-02T09:00:00Z")),
            enrollment_deadline: None,
            withdrawal_deadline: None,
            ends_at: None,
        },
        CohortCommand::ChangeDetails {
            name: Some("Term — evenings".to_owned()),
            course: None,
            instructor: Some("Grace".to_owned()),
        },
        CohortCommand::SetPolicy {
            promotion: offers,
            waitlist_cap: None,
        },
        CohortCommand::Cancel {
            reason: "too few".to_owned(),
        },
    ]
}

/// A store holding every event type of issue 15, each decided by the rules: offers made,
/// accepted, declined and expired, a transfer, a reopening, a reschedule, changed details, a
/// policy and a cancellation. Returns the events in order.
fn issue15_history(db: &Path) -> Vec<rollbook::domain::Event> {
    use rollbook::domain::{
        Capacity, CohortCommand, CohortId, LearnerId, NewCohort, PromotionPolicy, ReasonCode,
        decide_transfer,
    };
    use rollbook::store::{LearnerRecord, Store, StoreOptions};
    use uuid::Uuid;

    let mut term = Term {
        store: Store::open(db, &StoreOptions::default()).unwrap(),
        states: std::collections::HashMap::new(),
        events: Vec::new(),
        commands: 0,
    };
    let (a, b) = (
        CohortId(Uuid::from_u128(0xa)),
        CohortId(Uuid::from_u128(0xb)),
    );
    let learner = |n: u128| LearnerId(Uuid::from_u128(0x100 + n));
    let learners = (1..=6)
        .map(|n| {
            let record = LearnerRecord {
                key: format!("l{n}@example.org"),
                name: format!("Learner {n}"),
            };
            (learner(n), record)
        })
        .collect();
    term.commit(Vec::new(), "2026-03-01T08:00:00Z", learners);
    let offers = PromotionPolicy::Offer {
        hold: jiff::SignedDuration::from_hours(48),
    };
    let t0 = "2026-03-01T09:00:00Z";
    for (cohort, seats, promotion) in [(a, 2, offers), (b, 3, PromotionPolicy::Automatic)] {
        let new = NewCohort {
            name: "Term".to_owned(),
            course: "T-1".to_owned(),
            instructor: "Ada".to_owned(),
            capacity: Capacity::new(seats).unwrap(),
            starts_at: ts("2026-04-01T09:00:00Z"),
            enrollment_deadline: ts("2026-03-20T00:00:00Z"),
            withdrawal_deadline: ts("2026-03-25T00:00:00Z"),
            promotion,
            waitlist_cap: Some(10),
            ends_at: None,
        };
        term.run(cohort, &CohortCommand::Create(new), t0);
    }
    for n in 1..=5 {
        term.run(
            a,
            &CohortCommand::Enroll {
                learner: learner(n),
            },
            t0,
        );
    }
    // 1, 2 enrolled; 3, 4, 5 waiting. 1 withdraws: 3 is offered the seat and accepts.
    let t1 = "2026-03-02T09:00:00Z";
    let withdraw = CohortCommand::Withdraw {
        learner: learner(1),
        reason_code: ReasonCode::Personal,
        reason: "moved".to_owned(),
    };
    term.run(a, &withdraw, t1);
    term.run(
        a,
        &CohortCommand::AcceptOffer {
            learner: learner(3),
        },
        t1,
    );
    // 2 transfers to B: 4 is offered the freed seat and declines; 5 lets the next run out.
    let transfer = decide_transfer(
        &term.states[&a],
        &term.states[&b],
        learner(2),
        false,
        "evenings",
        ts(t1),
    )
    .unwrap();
    term.commit(
        vec![(a, transfer.from_events), (b, transfer.to_events)],
        t1,
        Vec::new(),
    );
    let decline = CohortCommand::DeclineOffer {
        learner: learner(4),
        reason: "took a job".to_owned(),
    };
    term.run(a, &decline, t1);
    let t2 = "2026-03-05T09:00:00Z";
    term.run(a, &CohortCommand::ExpireOffers, t2);
    // B: closed, reopened with a later deadline, rescheduled, renamed, its policy set, then
    // cancelled (releasing 2).
    let b_commands = closing_to_cancelled(offers);
    for command in b_commands {
        term.run(b, &command, t2);
    }
    term.events
}

#[test]
fn every_event_type_of_issue_15_round_trips_through_export_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let (source, copy) = (dir.path().join("a.redb"), dir.path().join("b.redb"));
    let events = issue15_history(&source);
    let types: std::collections::BTreeSet<&str> = events
        .iter()
        .map(rollbook::domain::Event::type_name)
        .collect();
    for name in rollbook::domain::Event::TYPE_NAMES.iter().skip(8) {
        assert!(types.contains(name), "the history holds a {name}");
    }
    let first = exported(&source);
    for name in rollbook::domain::Event::TYPE_NAMES {
        let wanted = format!("\"type\":\"{name}\"");
        assert!(
            first.contains(&wanted) || !types.contains(name),
            "export names {name}"
        );
    }
    let file = dir.path().join("history.jsonl");
    std::fs::write(&file, &first).unwrap();
    let summary = import(&file, &copy, |_, _| {}).expect("import");
    assert_eq!(summary.events, events.len() as u64);
    assert_eq!(
        exported(&copy),
        first,
        "export → import → export is the same"
    );
    let store =
        rollbook::store::Store::open(&copy, &rollbook::store::StoreOptions::default()).unwrap();
    let mut imported = Vec::new();
    store
        .read()
        .unwrap()
        .for_each_event(|e| imported.push(e.event))
        .unwrap();
    assert_eq!(imported, events, "import gives back the same events");
}
