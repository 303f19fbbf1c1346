//! `rollbook serve --demo`: a lively term seeded through the real rules, on an empty database
//! only, the same for the same end.

use std::process::Command;

use rollbook::projections::{CatalogFilter, ReadModel};
use rollbook::store::{Store, StoreOptions};

use crate::helpers::ts;

#[test]
fn the_demo_term_is_lively_and_the_same_for_the_same_end() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.redb"), dir.path().join("b.redb"));
    let end = ts("2026-11-27T10:00:00Z");
    let summary = rollbook::demo::seed(&a, end).unwrap();
    assert_eq!(summary.cohorts, 40);
    assert!(
        summary.learners >= 300,
        "several hundred learners: {summary:?}"
    );
    assert_eq!(summary.refused, 0, "every command passed the rules");
    // Every kind of event, transfers included.
    let missing: Vec<&str> = rollbook::domain::Event::TYPE_NAMES
        .iter()
        .zip(summary.by_type)
        .filter(|(_, n)| *n == 0)
        .map(|(name, _)| *name)
        .collect();
    assert!(
        missing.is_empty(),
        "no {missing:?} in {:?}",
        summary.by_type
    );
    assert!(summary.start < end && summary.last <= end, "a past term");

    rollbook::demo::seed(&b, end).unwrap();
    let export = |path: &std::path::Path| {
        let mut out = Vec::new();
        rollbook::transfer::export(path, &mut out, path, |_, _| {}).unwrap();
        out
    };
    assert_eq!(export(&a), export(&b), "the same term for the same end");

    let store = Store::open(&a, &StoreOptions::default()).unwrap();
    let (model, _) = ReadModel::rebuild(&store).unwrap();
    let read = model.read();
    let (views, total) = read.catalog.list(&CatalogFilter::default(), 0, 1000);
    assert_eq!(total, 40);
    let instructors: std::collections::HashSet<&str> =
        views.iter().map(|v| v.state.instructor.as_str()).collect();
    let courses: std::collections::HashSet<&str> =
        views.iter().map(|v| v.state.course.as_str()).collect();
    assert!(instructors.len() > 1 && courses.len() > 1);
    let still_open = views
        .iter()
        .filter(|v| v.state.enrollment_deadline > end)
        .count();
    assert!(
        still_open >= 3,
        "cohorts a newcomer can enroll into: {still_open}"
    );
    let near_full = views
        .iter()
        .filter(|v| {
            let seats = u64::from(v.state.capacity.seats());
            u64::from(v.state.enrolled_count()) * 10 >= seats * 9
        })
        .count();
    assert!(near_full >= 3, "a few cohorts near full: {near_full}");
    assert!(views.iter().any(|v| !v.state.waitlist.is_empty()));
}

#[test]
fn serve_demo_refuses_a_database_that_holds_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("used.redb");
    rollbook::demo::seed(&db, ts("2026-11-27T10:00:00Z")).unwrap();
    let before = std::fs::read(&db).unwrap();
    let output = Command::new(crate::helpers::process::BIN)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--demo seeds an empty database only") && stderr.contains("events"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}
