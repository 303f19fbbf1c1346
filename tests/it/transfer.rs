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
