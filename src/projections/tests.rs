//! Tests of the projections folded together through the registry (`Projections::apply`):
//! positions and replays, the history's counters, the event browser's filters and pages,
//! search, diffs, and the report models. Tests of one model's internals sit in its file.

/// Positions, replays and the counters the history reads from the catalog.
mod registry {
    use jiff::Timestamp;
    use uuid::Uuid;

    use crate::domain::{Capacity, CohortCreated, CohortId, Event};
    use crate::projections::*;
    use crate::store::Envelope;
    use crate::store::{Actor, CommandMeta};

    fn envelope(position: u64, version: u64, event: Event) -> Envelope {
        let at: Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
        Envelope {
            position,
            cohort: CohortId(Uuid::from_u128(1)),
            version,
            schema_version: 1,
            event,
            occurred_at: at,
            recorded_at: at,
            meta: CommandMeta {
                actor: Actor::local(),
                command_id: Uuid::from_u128(position.into()),
                correlation_id: Uuid::from_u128(position.into()),
                causation_id: Uuid::from_u128(position.into()),
            },
        }
    }

    fn created() -> Event {
        let at: Timestamp = "2026-03-10T00:00:00Z".parse().unwrap();
        Event::CohortCreated(CohortCreated {
            name: "P".to_owned(),
            course: "C".to_owned(),
            instructor: "I".to_owned(),
            capacity: Capacity::new(1).unwrap(),
            starts_at: at,
            enrollment_deadline: at,
            withdrawal_deadline: at,
            ends_at: None,
        })
    }

    #[test]
    fn every_projection_knows_its_position_and_ignores_what_it_already_applied() {
        let ana = crate::domain::LearnerId(Uuid::from_u128(0xa));
        let mut p = Projections::default();
        p.apply(&envelope(1, 1, created()));
        p.apply(&envelope(2, 2, Event::StudentEnrolled { learner: ana }));
        assert_eq!(
            (
                p.position,
                p.catalog.position(),
                p.history.position(),
                p.timelines.position()
            ),
            (2, 2, 2, 2)
        );
        let once = p.clone();
        p.apply(&envelope(2, 2, Event::StudentEnrolled { learner: ana }));
        assert_eq!(p, once, "a replayed envelope changes nothing");
        let view = p.catalog.get(CohortId(Uuid::from_u128(1))).unwrap();
        assert_eq!(view.state.enrolled, [ana]);
        assert_eq!(p.history.of(view.state.id).len(), 2);
        let lines = p.history_entries(view.state.id, 0..2);
        assert_eq!((lines[1].before.enrolled, lines[1].after.enrolled), (0, 1));
        assert_eq!(lines[1].event_type, "student.enrolled");
        assert_eq!(p.timelines.of(ana).len(), 1);
    }

    #[test]
    fn history_lines_show_the_counters_the_catalog_had_around_every_event() {
        // Capacity 1 (from `created`): enrollments, a waitlist, capacity changes up and down
        // (counters not implied by the type) and a closing, over several checkpoints.
        let who = |n: u128| crate::domain::LearnerId(Uuid::from_u128(0x100 + n));
        let capacity = |from: u64, to: u64| Event::CapacityChanged {
            from: Capacity::new(from).unwrap(),
            to: Capacity::new(to).unwrap(),
        };
        let mut events = vec![created(), Event::StudentEnrolled { learner: who(0) }];
        for n in 1..=20 {
            events.push(Event::StudentWaitlisted {
                learner: who(n),
                position: u32::try_from(n).unwrap(),
            });
        }
        events.push(capacity(1, 5));
        for n in 1..=4 {
            events.push(Event::WaitlistPromoted { learner: who(n) });
        }
        events.push(Event::StudentWithdrawn {
            learner: who(0),
            reason_code: crate::domain::ReasonCode::Other,
            reason: "moved".into(),
        });
        events.push(Event::WaitlistPromoted { learner: who(5) });
        events.push(Event::WaitlistLeft {
            learner: who(9),
            reason: crate::domain::Note::default(),
        });
        events.push(capacity(5, 7));
        for n in 6..=7 {
            events.push(Event::WaitlistPromoted { learner: who(n) });
        }
        events.push(Event::EnrollmentClosed);
        let mut p = Projections::default();
        let mut expected = Vec::new();
        for (i, event) in events.into_iter().enumerate() {
            let n = i as u64 + 1;
            let before = Counters::of(
                p.catalog
                    .get(CohortId(Uuid::from_u128(1)))
                    .map(|v| &v.state),
            );
            p.apply(&envelope(n, n, event));
            let after = Counters::of(
                p.catalog
                    .get(CohortId(Uuid::from_u128(1)))
                    .map(|v| &v.state),
            );
            expected.push((before, after));
        }
        let cohort = CohortId(Uuid::from_u128(1));
        let lines = p.history_entries(cohort, 0..expected.len());
        let shown: Vec<(Counters, Counters)> = lines.iter().map(|l| (l.before, l.after)).collect();
        assert_eq!(shown, expected);
        for (i, (before, after)) in expected.iter().enumerate() {
            let start = p.history_entries(cohort, i..i + 1);
            assert_eq!(
                (start[0].before, start[0].after),
                (*before, *after),
                "step {i}"
            );
            let at = p.history.entry_at(cohort, i as u64 + 1, &p.events).unwrap();
            assert_eq!((at.before, at.after), (*before, *after), "step {i}");
        }
        let last = expected.last().unwrap().1;
        assert_eq!(
            (last.enrolled, last.waitlist, last.capacity, last.open),
            (7, 12, 7, false)
        );
    }
}

/// The event index, search and diff.
mod browse {
    use std::collections::HashMap;

    use jiff::Timestamp;
    use uuid::Uuid;

    use crate::domain::{Capacity, CohortCreated, CohortId, CohortStatus, Event, LearnerId};
    use crate::projections::*;
    use crate::store::{Actor, CommandMeta};
    use crate::store::{Envelope, LearnerRecord};

    fn id(n: u128) -> CohortId {
        CohortId(Uuid::from_u128(n))
    }

    fn who(n: u128) -> LearnerId {
        LearnerId(Uuid::from_u128(0x1000 + n))
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_772_355_600 + minute * 60).unwrap()
    }

    fn created(name: &str, course: &str, instructor: &str) -> Event {
        Event::CohortCreated(CohortCreated {
            name: name.to_owned(),
            course: course.to_owned(),
            instructor: instructor.to_owned(),
            capacity: Capacity::new(1).unwrap(),
            starts_at: at(0),
            enrollment_deadline: at(0),
            withdrawal_deadline: at(0),
            ends_at: None,
        })
    }

    /// A little log: (cohort, event, actor, correlation), one minute apart.
    fn log(events: &[(u128, Event, &str, u128)]) -> Vec<Envelope> {
        let mut versions: HashMap<u128, u64> = HashMap::new();
        events
            .iter()
            .enumerate()
            .map(|(i, (cohort, event, actor, correlation))| {
                let version = versions.entry(*cohort).or_default();
                *version += 1;
                Envelope {
                    position: i as u64 + 1,
                    cohort: id(*cohort),
                    version: *version,
                    schema_version: 1,
                    event: event.clone(),
                    occurred_at: at(i64::try_from(i).unwrap()),
                    recorded_at: at(i64::try_from(i).unwrap()),
                    meta: CommandMeta {
                        actor: Actor {
                            id: Uuid::nil(),
                            name: (*actor).to_owned(),
                        },
                        command_id: Uuid::from_u128(*correlation),
                        correlation_id: Uuid::from_u128(*correlation),
                        causation_id: Uuid::from_u128(*correlation),
                    },
                }
            })
            .collect()
    }

    fn scripted() -> (EventIndex, History, Timelines) {
        let seat = |n| Event::StudentEnrolled { learner: who(n) };
        let envelopes = log(&[
            (1, created("A", "C", "I"), "ada", 1),
            (2, created("B", "C", "I"), "ada", 2),
            (1, seat(1), "bob", 3),
            (2, seat(1), "bob", 4),
            (
                1,
                Event::StudentWithdrawn {
                    learner: who(1),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                },
                "Ada",
                5,
            ),
            (1, Event::WaitlistPromoted { learner: who(2) }, "Ada", 5),
            (2, Event::EnrollmentClosed, "bob", 6),
        ]);
        let mut p = Projections::default();
        for e in &envelopes {
            p.apply(e);
        }
        (p.events, p.history, p.timelines)
    }

    fn all(index: &EventIndex, h: &History, t: &Timelines, filter: &EventFilter) -> Vec<u64> {
        index.walk(filter, Cursor::Newest, usize::MAX, narrowing(filter, h, t))
    }

    #[test]
    fn each_filter_narrows_the_log() {
        let (index, h, t) = scripted();
        let f = EventFilter::default;
        assert_eq!(all(&index, &h, &t, &f()), [7, 6, 5, 4, 3, 2, 1]);
        let by_type = EventFilter {
            event_type: Some("student.enrolled"),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &by_type), [4, 3]);
        let by_cohort = EventFilter {
            cohort: Some(id(2)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &by_cohort), [7, 4, 2]);
        let by_learner = EventFilter {
            learner: Some(who(1)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &by_learner), [5, 4, 3]);
        let both = EventFilter {
            learner: Some(who(1)),
            cohort: Some(id(1)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &both), [5, 3]);
        let by_actor = EventFilter {
            actor: Some("bob".to_owned()),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &by_actor), [7, 4, 3]);
        let case_insensitive = EventFilter {
            actor: Some("ADA".to_owned()),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &case_insensitive), [2, 1]);
        let window = EventFilter {
            from: Some(at(2)),
            to: Some(at(4)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &window), [5, 4, 3]);
        let correlation = EventFilter {
            correlation: Some(Uuid::from_u128(5)),
            ..f()
        };
        assert_eq!(all(&index, &h, &t, &correlation), [6, 5]);
        assert_eq!(index.correlated(6), 2);
        assert_eq!(index.correlated(1), 1);
        let unknown = EventFilter {
            learner: Some(who(99)),
            ..f()
        };
        assert!(all(&index, &h, &t, &unknown).is_empty());
        let event = index.event(6).unwrap();
        assert_eq!(
            (
                event.event_type,
                event.cohort,
                event.learner,
                event.actor.as_str()
            ),
            ("waitlist.promoted", id(1), Some(who(2)), "Ada")
        );
        assert_eq!(event.occurred_at, at(5));
    }

    #[test]
    fn a_correlation_id_spanning_several_commands_finds_all_its_events_and_no_gap() {
        let seat = |n| Event::StudentEnrolled { learner: who(n) };
        let envelopes = log(&[
            (1, created("A", "C", "I"), "ada", 1),
            (1, seat(1), "ada", 2),
            (1, seat(2), "ada", 1),
            (1, seat(3), "bob", 1),
            (1, seat(4), "bob", 3),
            (1, seat(5), "bob", 2),
            (1, seat(6), "bob", 1),
        ]);
        let mut index = EventIndex::default();
        let (history, timelines) = (History::default(), Timelines::default());
        // Position 6 never reaches the index (a broken store's gap).
        for e in envelopes.iter().filter(|e| e.position != 6) {
            index.apply(e, ());
        }
        let chain = |n: u128| {
            let filter = EventFilter {
                correlation: Some(Uuid::from_u128(n)),
                ..EventFilter::default()
            };
            index.walk(
                &filter,
                Cursor::Newest,
                usize::MAX,
                narrowing(&filter, &history, &timelines),
            )
        };
        assert_eq!(chain(1), [7, 4, 3, 1]);
        assert_eq!(chain(2), [2], "the gap at 6 is no event");
        assert_eq!(chain(3), [5]);
        assert!(chain(4).is_empty());
        assert_eq!(
            [1, 2, 3, 4, 5, 6, 7].map(|p| index.correlated(p)),
            [4, 1, 4, 4, 1, 0, 4]
        );
        assert_eq!(
            [1, 2, 3, 4, 5, 7].map(|p| index.event(p).unwrap().correlation),
            [1, 2, 1, 1, 3, 1].map(Uuid::from_u128)
        );
        assert!(index.event(6).is_none());
    }

    #[test]
    fn pages_go_both_ways_and_cover_every_match_once() {
        let (index, h, t) = scripted();
        let f = EventFilter::default();
        let first = index.page(&f, Cursor::Newest, 3, narrowing(&f, &h, &t));
        assert_eq!(first.positions, [7, 6, 5]);
        assert!(!first.newer && first.older);
        let second = index.page(&f, Cursor::Before(5), 3, narrowing(&f, &h, &t));
        assert_eq!(second.positions, [4, 3, 2]);
        assert!(second.newer && second.older);
        let third = index.page(&f, Cursor::Before(2), 3, narrowing(&f, &h, &t));
        assert_eq!(third.positions, [1]);
        assert!(third.newer && !third.older);
        let back = index.page(&f, Cursor::After(1), 3, narrowing(&f, &h, &t));
        assert_eq!(back.positions, [4, 3, 2]);
        assert!(back.newer && back.older);
        let cohort = EventFilter {
            cohort: Some(id(1)),
            ..f
        };
        let page = index.page(&cohort, Cursor::Before(6), 1, narrowing(&cohort, &h, &t));
        assert_eq!(page.positions, [5]);
        assert!(page.newer && page.older);
    }

    #[test]
    fn search_ranks_exact_before_prefix_before_word_prefix_before_substring() {
        let mut search = SearchIndex::default();
        let envelopes = log(&[
            (1, created("Rustacean Basics", "RUST-101", "Ferris"), "a", 1),
            (2, created("rust", "X", "Y"), "a", 2),
            (3, created("Advanced Rust", "R2", "Z"), "a", 3),
            (4, created("Trust and Safety", "T", "W"), "a", 4),
            (5, created("Go", "G", "Q"), "a", 5),
        ]);
        for e in &envelopes {
            search.apply(e, ());
        }
        let found = search.search("  RUST ", 10);
        let ids: Vec<(CohortId, Rank)> = found.cohorts.iter().map(|h| (h.id, h.rank)).collect();
        assert_eq!(
            ids,
            [
                (id(2), Rank::Exact),
                (id(1), Rank::Prefix),
                (id(3), Rank::WordPrefix),
                (id(4), Rank::Substring),
            ]
        );
        assert_eq!(
            found.cohorts[1].field, 0,
            "the name matched, not the course"
        );
        assert!(search.search("", 10).cohorts.is_empty());
        assert!(search.search("nothing like it", 10).cohorts.is_empty());
        assert_eq!(search.search("rust", 2).cohorts.len(), 2);
        assert!(search.search("rust", 2).more_cohorts);
    }

    #[test]
    fn a_renamed_learner_is_found_by_the_new_name_only() {
        let mut directory = Directory::default();
        let record = |name: &str| LearnerRecord {
            key: "ana@example.org".to_owned(),
            name: name.to_owned(),
        };
        directory.upsert(who(1), record("Ana Lopez"));
        let envelopes = log(&[
            (1, created("A", "C", "I"), "a", 1),
            (1, Event::StudentEnrolled { learner: who(1) }, "a", 2),
            (
                1,
                Event::StudentWithdrawn {
                    learner: who(1),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                },
                "a",
                3,
            ),
            (1, Event::StudentEnrolled { learner: who(1) }, "a", 4),
        ]);
        let mut live = SearchIndex::default();
        for e in &envelopes {
            live.apply(e, ());
        }
        live.file_learner(who(1), directory.get(who(1)).unwrap());
        assert_eq!(live.search("lopez", 5).learners.len(), 1);
        directory.upsert(who(1), record("Ana Smith"));
        live.file_learner(who(1), directory.get(who(1)).unwrap());
        assert!(live.search("lopez", 5).learners.is_empty());
        assert_eq!(live.search("smith", 5).learners[0].id, who(1));
        let mut replayed = SearchIndex::default();
        for e in &envelopes {
            replayed.apply(e, ());
        }
        for (id, record) in directory.entries() {
            replayed.file_learner(id, record);
        }
        assert_eq!(live, replayed, "renames leave no trace a replay would not");
    }

    #[test]
    fn a_diff_names_every_roster_and_waitlist_move() {
        let learner = |n| who(n);
        let waitlisted = |n, place| Event::StudentWaitlisted {
            learner: who(n),
            position: place,
        };
        let envelopes = log(&[
            (1, created("A", "C", "I"), "a", 1),
            (
                1,
                Event::StudentEnrolled {
                    learner: learner(1),
                },
                "a",
                2,
            ),
            (1, waitlisted(2, 1), "a", 3),
            (1, waitlisted(3, 2), "a", 4),
            (1, waitlisted(4, 3), "a", 5),
            (
                1,
                Event::StudentWithdrawn {
                    learner: learner(1),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                },
                "a",
                6,
            ),
            (
                1,
                Event::WaitlistPromoted {
                    learner: learner(2),
                },
                "a",
                6,
            ),
            (
                1,
                Event::WaitlistLeft {
                    learner: learner(4),
                    reason: crate::domain::Note::default(),
                },
                "a",
                7,
            ),
            (1, waitlisted(5, 2), "a", 8),
            (1, Event::EnrollmentClosed, "a", 9),
        ]);
        let then = CohortView::fold(&envelopes[..5]).unwrap();
        let now = CohortView::fold(&envelopes).unwrap();
        let diff = CohortDiff::between(Some(&then), &now);
        assert!(!diff.created);
        assert_eq!(diff.promoted, [learner(2)]);
        assert!(diff.seated.is_empty());
        assert_eq!(diff.unseated, [learner(1)]);
        assert_eq!(diff.joined, [(learner(5), 2)]);
        assert_eq!(diff.left, [(learner(4), 3)]);
        assert_eq!(diff.moved, [(learner(3), 2, 1)]);
        assert_eq!(
            diff.status,
            (Some(CohortStatus::Open), CohortStatus::Closed)
        );
        assert_eq!(
            (diff.enrolled, diff.waitlist, diff.capacity),
            ((1, 1), (3, 2), (1, 1))
        );
        let from_nothing = CohortDiff::between(None, &then);
        assert!(from_nothing.created);
        assert_eq!(from_nothing.seated, [learner(1)]);
        assert_eq!(from_nothing.joined.len(), 3);
        assert!(CohortDiff::between(Some(&now), &now).is_empty());
    }
}

/// Cohorts by instructor, withdrawals, seats by week and the dashboard signals.
mod reports {
    use jiff::SignedDuration;

    use std::collections::BTreeMap;

    use jiff::Timestamp;
    use uuid::Uuid;

    use crate::domain::{Capacity, CohortCreated};
    use crate::domain::{CohortId, Event, LearnerId};
    use crate::projections::*;
    use crate::store::Envelope;
    use crate::store::{Actor, CommandMeta};

    const COHORT: CohortId = CohortId(Uuid::from_u128(1));

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn learner(n: u128) -> LearnerId {
        LearnerId(Uuid::from_u128(0x100 + n))
    }

    /// Folds events into fresh projections: each inner list is one command at `when`.
    struct Script {
        projections: Projections,
        position: u64,
        versions: std::collections::HashMap<CohortId, u64>,
    }

    impl Script {
        fn new() -> Self {
            Self {
                projections: Projections::default(),
                position: 0,
                versions: std::collections::HashMap::new(),
            }
        }

        fn command(&mut self, when: &str, events: Vec<Event>) {
            self.command_on(COHORT, when, events);
        }

        fn command_on(&mut self, cohort: CohortId, when: &str, events: Vec<Event>) {
            let command_id = Uuid::from_u128(u128::from(self.position) + 1_000);
            for event in events {
                self.position += 1;
                let version = self.versions.entry(cohort).or_default();
                *version += 1;
                self.projections.apply(&Envelope {
                    position: self.position,
                    cohort,
                    version: *version,
                    schema_version: 1,
                    event,
                    occurred_at: at(when),
                    recorded_at: at(when),
                    meta: CommandMeta {
                        actor: Actor::local(),
                        command_id,
                        correlation_id: command_id,
                        causation_id: command_id,
                    },
                });
            }
        }
    }

    fn created(capacity: u64) -> Event {
        Event::CohortCreated(CohortCreated {
            name: "P".to_owned(),
            course: "Rust-1".to_owned(),
            instructor: "Ada".to_owned(),
            capacity: Capacity::new(capacity).unwrap(),
            starts_at: at("2026-03-15T09:00:00Z"),
            enrollment_deadline: at("2026-03-10T00:00:00Z"),
            withdrawal_deadline: at("2026-03-20T00:00:00Z"),
            ends_at: None,
        })
    }

    fn capacity(from: u64, to: u64) -> Event {
        Event::CapacityChanged {
            from: Capacity::new(from).unwrap(),
            to: Capacity::new(to).unwrap(),
        }
    }

    #[test]
    fn a_seat_free_while_learners_wait_is_signalled_and_cleared() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(1)]);
        s.command(
            "2026-03-02T10:00:00Z",
            vec![Event::StudentEnrolled {
                learner: learner(1),
            }],
        );
        s.command(
            "2026-03-02T11:00:00Z",
            vec![Event::StudentWaitlisted {
                learner: learner(2),
                position: 1,
            }],
        );
        let signals = &s.projections.signals;
        assert_eq!(signals.seat_free_while_waiting().count(), 0);
        assert_eq!(
            signals
                .near_full(at("2026-03-02T12:00:00Z"))
                .collect::<Vec<_>>(),
            [COHORT]
        );
        // A capacity change stored without the promotion the rules would add.
        s.command("2026-03-03T09:00:00Z", vec![capacity(1, 2)]);
        let signals = &s.projections.signals;
        assert_eq!(
            signals.seat_free_while_waiting().collect::<Vec<_>>(),
            [COHORT]
        );
        assert_eq!(signals.near_full(at("2026-03-03T12:00:00Z")).count(), 0);
        s.command(
            "2026-03-03T10:00:00Z",
            vec![Event::WaitlistPromoted {
                learner: learner(2),
            }],
        );
        let signals = &s.projections.signals;
        assert_eq!(signals.seat_free_while_waiting().count(), 0);
        assert_eq!(
            signals.totals(),
            Totals {
                cohorts: 1,
                open: 1,
                seats: 2,
                enrolled: 2,
                waitlisted: 0,
                offers: 0,
                cancelled: 0,
            }
        );
        // Past its enrollment deadline a near-full cohort is no longer a signal.
        assert_eq!(signals.near_full(at("2026-03-10T00:00:00Z")).count(), 1);
        assert_eq!(signals.near_full(at("2026-03-10T00:00:01Z")).count(), 0);
    }

    #[test]
    fn closing_drops_the_enrollment_deadline_and_the_near_full_signal() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(1)]);
        s.command(
            "2026-03-02T10:00:00Z",
            vec![Event::StudentEnrolled {
                learner: learner(1),
            }],
        );
        let now = at("2026-03-05T00:00:00Z");
        let week = now + SignedDuration::from_hours(24 * 7);
        let kinds = |s: &Script| {
            s.projections
                .signals
                .deadlines_between(now, week)
                .map(|(_, _, k)| k)
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(&s), [DeadlineKind::Enrollment]);
        s.command("2026-03-04T00:00:00Z", vec![Event::EnrollmentClosed]);
        assert!(kinds(&s).is_empty());
        let signals = &s.projections.signals;
        assert_eq!(signals.near_full(now).count(), 0);
        assert_eq!(signals.totals().open, 0);
        let cohort = &s.projections.catalog.get(COHORT).unwrap().state;
        assert_eq!(
            next_deadline(cohort, now),
            Some((DeadlineKind::Start, at("2026-03-15T09:00:00Z")))
        );
        assert_eq!(next_deadline(cohort, at("2026-03-21T00:00:00Z")), None);
        assert!(signals.deadlines_between(week, now).next().is_none());
    }

    #[test]
    fn a_promotion_is_credited_only_to_the_withdrawal_of_its_own_command() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(1)]);
        s.command(
            "2026-03-02T10:00:00Z",
            vec![Event::StudentEnrolled {
                learner: learner(1),
            }],
        );
        s.command(
            "2026-03-02T11:00:00Z",
            vec![Event::StudentWaitlisted {
                learner: learner(2),
                position: 1,
            }],
        );
        s.command(
            "2026-03-03T09:00:00Z",
            vec![
                Event::StudentWithdrawn {
                    learner: learner(1),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: "moved".into(),
                },
                Event::WaitlistPromoted {
                    learner: learner(2),
                },
            ],
        );
        s.command(
            "2026-03-04T09:00:00Z",
            vec![Event::StudentWithdrawn {
                learner: learner(2),
                reason_code: crate::domain::ReasonCode::Other,
                reason: crate::domain::Note::default(),
            }],
        );
        // A promotion of a later command (an explicit promote) is not the withdrawal's.
        s.command(
            "2026-03-04T09:00:00Z",
            vec![Event::WaitlistPromoted {
                learner: learner(3),
            }],
        );
        let all: Vec<_> = s
            .projections
            .withdrawals(&WithdrawalFilter::default(), None)
            .map(|w| (w.learner, w.promoted))
            .collect();
        assert_eq!(all, [(learner(2), None), (learner(1), Some(learner(2)))]);
    }

    #[test]
    fn withdrawals_recorded_while_the_clock_went_back_are_still_listed_by_time() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(3)]);
        for n in 1..=3 {
            s.command(
                "2026-03-02T10:00:00Z",
                vec![Event::StudentEnrolled {
                    learner: learner(n),
                }],
            );
        }
        // Learner 2 leaves last by position but first by time.
        for (n, when) in [(1, "2026-03-05"), (3, "2026-03-07"), (2, "2026-03-04")] {
            s.command(
                &format!("{when}T10:00:00Z"),
                vec![Event::StudentWithdrawn {
                    learner: learner(n),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                }],
            );
        }
        let w = &s.projections;
        for filter in [
            WithdrawalFilter::default(),
            WithdrawalFilter {
                course: Some("rust-1".to_owned()),
                instructor: Some("Ada".to_owned()),
                ..WithdrawalFilter::default()
            },
        ] {
            let listed: Vec<(LearnerId, WithdrawalKey)> = w
                .withdrawals(&filter, None)
                .map(|w| (w.learner, w.key()))
                .collect();
            assert_eq!(
                listed.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
                [learner(3), learner(1), learner(2)]
            );
            let after_first = w.withdrawals(&filter, Some(listed[0].1)).next().unwrap();
            assert_eq!(after_first.learner, learner(1));
        }
    }

    #[test]
    fn withdrawals_filter_by_time_course_instructor_and_resume_after_a_key() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(3)]);
        for (n, day) in [(1, "02"), (2, "03"), (3, "04")] {
            s.command(
                &format!("2026-03-{day}T10:00:00Z"),
                vec![Event::StudentEnrolled {
                    learner: learner(n),
                }],
            );
        }
        for (n, day) in [(1, "05"), (2, "06"), (3, "07")] {
            s.command(
                &format!("2026-03-{day}T10:00:00Z"),
                vec![Event::StudentWithdrawn {
                    learner: learner(n),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: crate::domain::Note::default(),
                }],
            );
        }
        let w = &s.projections;
        let learners = |filter: &WithdrawalFilter, before| {
            w.withdrawals(filter, before)
                .map(|w| w.learner)
                .collect::<Vec<_>>()
        };
        let all = WithdrawalFilter::default();
        assert_eq!(learners(&all, None), [learner(3), learner(2), learner(1)]);
        let window = WithdrawalFilter {
            from: Some(at("2026-03-06T00:00:00Z")),
            to: Some(at("2026-03-06T10:00:00Z")),
            ..WithdrawalFilter::default()
        };
        assert_eq!(learners(&window, None), [learner(2)]);
        let by_name = WithdrawalFilter {
            course: Some("RUST-1".to_owned()),
            instructor: Some(" ada ".to_owned()),
            ..WithdrawalFilter::default()
        };
        let newest = w.withdrawals(&by_name, None).next().unwrap().key();
        assert_eq!(learners(&by_name, Some(newest)), [learner(2), learner(1)]);
        let other = WithdrawalFilter {
            course: Some("Go-1".to_owned()),
            ..WithdrawalFilter::default()
        };
        assert!(learners(&other, None).is_empty());
        let inverted = WithdrawalFilter {
            from: Some(at("2026-03-07T00:00:00Z")),
            to: Some(at("2026-03-06T00:00:00Z")),
            ..WithdrawalFilter::default()
        };
        assert!(learners(&inverted, None).is_empty());
    }

    #[test]
    fn seat_changes_are_counted_per_iso_week_and_paged_with_empty_weeks_filled() {
        let mut s = Script::new();
        // 2025-12-29 is the Monday of 2026-W01; 2026-01-12 of W03.
        s.command("2025-12-31T09:00:00Z", vec![created(1)]);
        s.command(
            "2025-12-31T10:00:00Z",
            vec![Event::StudentEnrolled {
                learner: learner(1),
            }],
        );
        s.command("2026-01-13T10:00:00Z", vec![capacity(1, 4)]);
        s.command("2026-01-14T10:00:00Z", vec![capacity(4, 3)]);
        let weeks = s.projections.seat_weeks.of(COHORT);
        assert_eq!(
            weeks.keys().map(ToString::to_string).collect::<Vec<_>>(),
            ["2025-12-29", "2026-01-12"]
        );
        let page = week_page(weeks, 1, 10);
        assert_eq!(page.pages, 1);
        assert_eq!(page.weeks.len(), 3);
        assert_eq!(page.weeks[1].1, WeekCounts::default());
        assert_eq!(
            page.weeks[2].1,
            WeekCounts {
                capacity_changes: 2,
                seats_added: 3,
                seats_removed: 1,
                ..WeekCounts::default()
            }
        );
        let latest = week_page(weeks, 1, 2);
        assert_eq!((latest.pages, latest.weeks.len()), (2, 2));
        let earliest = week_page(weeks, 2, 2);
        assert_eq!(earliest.weeks[0].1.enrolled, 1);
        assert!(week_page(weeks, 3, 2).weeks.is_empty());
        assert_eq!(week_page(&BTreeMap::new(), 1, 2), WeekPage::default());
        assert_eq!(
            s.projections.seat_weeks.overall(),
            s.projections.seat_weeks.of(COHORT)
        );
    }

    #[test]
    fn cohorts_are_grouped_by_instructor_and_paged_across_groups() {
        let mut p = Projections::default();
        let names = ["Bea", "ada", "Ada", "Cy"];
        for (i, instructor) in names.iter().enumerate() {
            let n = i as u64 + 1;
            let when = at("2026-03-01T00:00:00Z");
            p.apply(&Envelope {
                position: n,
                cohort: CohortId(Uuid::from_u128(u128::from(n))),
                version: 1,
                schema_version: 1,
                event: Event::CohortCreated(CohortCreated {
                    name: format!("c{n}"),
                    course: "C".to_owned(),
                    instructor: (*instructor).to_owned(),
                    capacity: Capacity::new(n).unwrap(),
                    starts_at: when + SignedDuration::from_hours(i64::try_from(n).unwrap()),
                    enrollment_deadline: when,
                    withdrawal_deadline: when,
                    ends_at: None,
                }),
                occurred_at: when,
                recorded_at: when,
                meta: CommandMeta {
                    actor: Actor::local(),
                    command_id: Uuid::nil(),
                    correlation_id: Uuid::nil(),
                    causation_id: Uuid::nil(),
                },
            });
        }
        let instructors = &p.instructors;
        assert_eq!(instructors.len(), 3);
        let ada = instructors.get("ADA").unwrap();
        assert_eq!((ada.name.as_str(), ada.totals.seats), ("ada", 5));
        let ids = |rows: Vec<(&InstructorEntry, CohortId)>| {
            rows.into_iter()
                .map(|(e, id)| format!("{}:{}", e.name, id.0.as_u128()))
                .collect::<Vec<_>>()
        };
        let (rows, total) = instructors.page(None, 0, 10);
        assert_eq!(total, 4);
        assert_eq!(ids(rows), ["ada:3", "ada:2", "Bea:1", "Cy:4"]);
        let (rows, _) = instructors.page(None, 1, 2);
        assert_eq!(ids(rows), ["ada:2", "Bea:1"]);
        let (rows, total) = instructors.page(Some("cy"), 0, 10);
        assert_eq!((ids(rows), total), (vec!["Cy:4".to_owned()], 1));
        assert_eq!(instructors.page(Some("nobody"), 0, 10).1, 0);
        assert!(instructors.page(None, usize::MAX, 10).0.is_empty());
    }

    // ---- issue 15 ----------------------------------------------------------------------------

    const OTHER: CohortId = CohortId(Uuid::from_u128(2));

    fn offer_policy() -> Event {
        Event::PolicyChanged {
            promotion: crate::domain::PromotionPolicy::Offer {
                hold: SignedDuration::from_hours(48),
            },
            waitlist_cap: None,
        }
    }

    fn enroll(n: u128) -> Event {
        Event::StudentEnrolled {
            learner: learner(n),
        }
    }

    fn waitlist(n: u128, position: u32) -> Event {
        Event::StudentWaitlisted {
            learner: learner(n),
            position,
        }
    }

    /// Two seats under 48-hour offers: learner 2 enrolled, 4 waiting, 3 offered 1's seat
    /// (until the returned instant).
    fn offer_made() -> (Script, Timestamp) {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(2), offer_policy()]);
        s.command("2026-03-02T10:00:00Z", vec![enroll(1), enroll(2)]);
        s.command("2026-03-02T11:00:00Z", vec![waitlist(3, 1), waitlist(4, 2)]);
        let expires = at("2026-03-05T12:00:00Z");
        s.command(
            "2026-03-03T12:00:00Z",
            vec![
                Event::StudentWithdrawn {
                    learner: learner(1),
                    reason_code: crate::domain::ReasonCode::Other,
                    reason: "moved".into(),
                },
                Event::WaitlistOffered {
                    learner: learner(3),
                    offered_at: at("2026-03-03T12:00:00Z"),
                    expires_at: expires,
                },
            ],
        );
        (s, expires)
    }

    #[test]
    fn offers_count_as_taken_and_fall_due_by_expiry() {
        let (s, expires) = offer_made();
        let signals = &s.projections.signals;
        let totals = signals.totals();
        assert_eq!(
            (
                totals.enrolled,
                totals.offers,
                totals.waitlisted,
                totals.seats
            ),
            (1, 1, 1, 2)
        );
        assert_eq!(
            signals.seat_free_while_waiting().count(),
            0,
            "a held seat is taken"
        );
        assert_eq!(
            signals
                .near_full(at("2026-03-03T13:00:00Z"))
                .collect::<Vec<_>>(),
            [COHORT],
            "two of two seats taken, one of them held"
        );
        assert!(
            signals
                .offers_due_by(at("2026-03-05T11:59:59Z"))
                .next()
                .is_none()
        );
        assert_eq!(
            signals.offers_due_by(expires).collect::<Vec<_>>(),
            [(expires, COHORT, learner(3))]
        );
        let lines = s.projections.history_entries(COHORT, 0..20);
        let offer = lines.last().unwrap();
        assert_eq!(offer.event_type, "waitlist.offered");
        assert_eq!(
            offer.detail,
            Some(EventDetail::Offered {
                expires_at: expires
            })
        );
        assert_eq!(offer.freed_by.map(|(_, t)| t), Some("student.withdrawn"));
        assert_eq!((offer.after.offers, offer.after.waitlist), (1, 1));
    }

    #[test]
    fn a_cancellation_releases_everyone_and_removes_the_seats_dates_and_offers() {
        let (mut s, expires) = offer_made();
        s.command(
            "2026-03-04T09:00:00Z",
            vec![
                Event::CohortCancelled {
                    reason: "too few".into(),
                },
                Event::StudentReleased {
                    learner: learner(2),
                },
                Event::StudentReleased {
                    learner: learner(3),
                },
                Event::StudentReleased {
                    learner: learner(4),
                },
            ],
        );
        let signals = &s.projections.signals;
        let totals = signals.totals();
        assert_eq!(
            (
                totals.cohorts,
                totals.cancelled,
                totals.open,
                totals.seats,
                totals.enrolled,
                totals.offers,
                totals.waitlisted
            ),
            (1, 1, 0, 0, 0, 0, 0)
        );
        assert!(signals.offers_due_by(expires).next().is_none());
        assert!(
            signals
                .deadlines_between(at("2026-03-01T00:00:00Z"), at("2026-04-01T00:00:00Z"))
                .next()
                .is_none(),
            "a cancelled cohort has no dates coming up"
        );
        assert_eq!(signals.near_full(at("2026-03-04T10:00:00Z")).count(), 0);
        let lines = s.projections.history_entries(COHORT, 0..20);
        let cancelled = lines
            .iter()
            .find(|l| l.event_type == "cohort.cancelled")
            .unwrap();
        assert_eq!(
            cancelled.detail,
            Some(EventDetail::Cancelled { released: 3 })
        );
        assert_eq!(cancelled.reason.as_deref(), Some("too few"));
        let last = lines.last().unwrap();
        assert_eq!(
            (last.after.enrolled, last.after.offers, last.after.waitlist),
            (0, 0, 0)
        );
        // Every learner's timeline shows the release.
        let timeline = s.projections.timeline(learner(3));
        assert_eq!(
            timeline.iter().map(|t| t.event_type).collect::<Vec<_>>(),
            ["student.waitlisted", "waitlist.offered", "student.released"]
        );
    }

    #[test]
    fn a_reschedule_moves_the_dates_and_reopening_brings_the_enrollment_deadline_back() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(1)]);
        s.command("2026-03-02T10:00:00Z", vec![Event::EnrollmentClosed]);
        let dates = |s: &Script| {
            s.projections
                .signals
                .deadlines_between(at("2026-03-01T00:00:00Z"), at("2026-04-01T00:00:00Z"))
                .map(|(t, _, k)| (t, k))
                .collect::<Vec<_>>()
        };
        assert!(
            !dates(&s)
                .iter()
                .any(|(_, k)| *k == DeadlineKind::Enrollment)
        );
        let moved = at("2026-03-12T00:00:00Z");
        s.command(
            "2026-03-03T09:00:00Z",
            vec![
                Event::CohortRescheduled {
                    starts_at: at("2026-03-15T09:00:00Z"),
                    enrollment_deadline: moved,
                    withdrawal_deadline: at("2026-03-20T00:00:00Z"),
                    ends_at: None,
                },
                Event::EnrollmentReopened {
                    reason: "closed by mistake".into(),
                },
            ],
        );
        assert_eq!(
            dates(&s),
            [
                (moved, DeadlineKind::Enrollment),
                (at("2026-03-15T09:00:00Z"), DeadlineKind::Start),
                (at("2026-03-20T00:00:00Z"), DeadlineKind::Withdrawal),
            ]
        );
        assert_eq!(s.projections.signals.totals().open, 1);
        let lines = s.projections.history_entries(COHORT, 0..20);
        let reopened = lines.last().unwrap();
        assert_eq!(reopened.reason.as_deref(), Some("closed by mistake"));
        assert!(!reopened.before.open && reopened.after.open);
    }

    #[test]
    fn changed_details_move_the_cohort_to_its_new_instructor_and_search_finds_the_new_name() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(3)]);
        s.command("2026-03-02T10:00:00Z", vec![enroll(1)]);
        s.command(
            "2026-03-03T09:00:00Z",
            vec![Event::CohortDetailsChanged {
                name: "Evening Rust".to_owned(),
                course: "Rust-1".to_owned(),
                instructor: "Grace".to_owned(),
            }],
        );
        let instructors = &s.projections.instructors;
        let grace = instructors.get("grace").unwrap();
        assert_eq!(grace.cohorts.len(), 1);
        assert_eq!((grace.totals.seats, grace.totals.enrolled), (3, 1));
        let ada = instructors.get("ada").unwrap();
        assert!(ada.cohorts.is_empty());
        assert_eq!((ada.totals.cohorts, ada.totals.seats), (0, 0));
        assert!(
            s.projections
                .catalog
                .instructors()
                .iter()
                .any(|i| i == "Grace")
        );
        let found = s.projections.search.search("evening", 5);
        assert_eq!(found.cohorts.len(), 1);
        let lines = s.projections.history_entries(COHORT, 0..20);
        assert!(matches!(
            lines.last().unwrap().detail,
            Some(EventDetail::DetailsChanged { ref instructor, .. }) if instructor == "Grace"
        ));
    }

    #[test]
    fn a_transfer_counts_as_its_own_kind_of_withdrawal_and_shows_in_the_learners_timeline() {
        let mut s = Script::new();
        s.command("2026-03-02T09:00:00Z", vec![created(1)]);
        s.command_on(OTHER, "2026-03-02T09:30:00Z", vec![created(2)]);
        s.command("2026-03-02T10:00:00Z", vec![enroll(1)]);
        s.command("2026-03-02T11:00:00Z", vec![waitlist(2, 1)]);
        // One command over both streams (the writer appends them together).
        s.command(
            "2026-03-03T09:00:00Z",
            vec![
                Event::StudentTransferredOut {
                    learner: learner(1),
                    to: OTHER,
                    reason: "evenings".into(),
                },
                Event::WaitlistPromoted {
                    learner: learner(2),
                },
            ],
        );
        s.command_on(
            OTHER,
            "2026-03-03T09:00:00Z",
            vec![Event::StudentTransferredIn {
                learner: learner(1),
                from: COHORT,
                waitlisted_at: None,
            }],
        );
        let all: Vec<_> = s
            .projections
            .withdrawals(&WithdrawalFilter::default(), None)
            .map(|w| (w.learner, w.kind, w.reason, w.promoted))
            .collect();
        assert_eq!(
            all,
            [(
                learner(1),
                WithdrawalKind::Transfer,
                "evenings".to_owned(),
                Some(learner(2))
            )]
        );
        assert_eq!(
            s.projections
                .timeline(learner(1))
                .iter()
                .map(|t| (t.cohort, t.event_type))
                .collect::<Vec<_>>(),
            [
                (COHORT, "student.enrolled"),
                (COHORT, "student.transferred_out"),
                (OTHER, "student.transferred_in"),
            ]
        );
        let other = s.projections.catalog.get(OTHER).unwrap();
        assert_eq!(other.state.enrolled, [learner(1)]);
        assert!(s.projections.since(other, learner(1)).is_some());
        let lines = s.projections.history_entries(OTHER, 0..20);
        assert_eq!(
            lines.last().unwrap().detail,
            Some(EventDetail::TransferredIn {
                from: COHORT,
                from_name: "P".to_owned(),
                waitlisted_at: None,
            })
        );
    }
}
