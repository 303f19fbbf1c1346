//! A database written by an older release keeps working with this one.
//!
//! `tests/fixtures/release-0.1.0/` holds a database written by rollbook 0.1.0 at commit f6ec729
//! (store format 1, event schema 1), the API tokens of its seeded accounts, and the JSON answers
//! that release gave over it. See the README there for how they were made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rollbook::auth::Role;
use rollbook::clock::FixedClock;
use serde_json::Value;

use crate::helpers::{Credentials, TestApp, seed, ts};

/// The instant the fixture's history ends, and the clock its answers were recorded at.
const FIXTURE_NOW: &str = "2026-11-27T00:00:00Z";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release-0.1.0")
}

/// Every GET the answers cover, given the cohort ids and learner keys the fixture holds.
fn paths(cohorts: &[String], learners: &[String]) -> Vec<String> {
    let mut out = vec![
        "/api/v1/cohorts?limit=1000".to_owned(),
        "/api/v1/events?limit=1000".to_owned(),
    ];
    for id in cohorts {
        out.push(format!("/api/v1/cohorts/{id}"));
        out.push(format!("/api/v1/cohorts/{id}/events"));
        out.push(format!("/api/v1/cohorts/{id}?as_of=2026-10-15T00:00:00Z"));
        out.push(format!("/api/v1/cohorts/{id}?as_of=200"));
    }
    for key in learners {
        out.push(format!("/api/v1/learners/{key}/timeline"));
    }
    out
}

async fn answers(app: &TestApp) -> BTreeMap<String, Value> {
    let (status, list) = app.get_json("/api/v1/cohorts?limit=1000").await;
    assert_eq!(status, 200, "{list}");
    let cohorts: Vec<String> = list["cohorts"]
        .as_array()
        .expect("cohorts")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    let (status, feed) = app.get_json("/api/v1/events?limit=1000").await;
    assert_eq!(status, 200, "{feed}");
    let mut learners: Vec<String> = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["data"]["learner"].as_str().map(str::to_owned))
        .collect();
    learners.sort();
    learners.dedup();
    let mut out = BTreeMap::new();
    for path in paths(&cohorts, &learners) {
        let (status, body) = app.get_json(&path).await;
        out.insert(path, serde_json::json!({"status": status, "body": body}));
    }
    out
}

/// Records the fixture's credentials and answers. Run once, on the release the fixture is
/// from (`ROLLBOOK_RECORD_FIXTURE=1 cargo test record_release_fixture -- --ignored`); any
/// later release would record its own answers, which is not what the fixture is for.
#[tokio::test]
#[ignore = "records the fixture; only meaningful on the release that wrote it"]
async fn record_release_fixture() {
    assert_eq!(
        std::env::var("ROLLBOOK_RECORD_FIXTURE").as_deref(),
        Ok("1"),
        "set ROLLBOOK_RECORD_FIXTURE=1 to overwrite the recorded answers"
    );
    let dir = fixture_dir();
    let db = dir.join("rollbook.redb");
    let clock = Arc::new(FixedClock::new(ts(FIXTURE_NOW)));
    let credentials = seed(&db, clock.clone());
    let tokens: BTreeMap<String, String> = Role::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), credentials.token(*r).to_owned()))
        .collect();
    std::fs::write(
        dir.join("credentials.json"),
        serde_json::to_string_pretty(&tokens).unwrap() + "\n",
    )
    .unwrap();
    let app = TestApp::spawn_on(db, clock, credentials).await;
    let recorded = answers(&app).await;
    app.stop().await;
    std::fs::write(
        dir.join("answers.json"),
        serde_json::to_string(&recorded).unwrap() + "\n",
    )
    .unwrap();
}

#[allow(dead_code, reason = "used once the current release reads the fixture")]
fn credentials() -> Credentials {
    let raw = std::fs::read_to_string(fixture_dir().join("credentials.json")).unwrap();
    let by_name: BTreeMap<String, String> = serde_json::from_str(&raw).unwrap();
    Credentials {
        tokens: Role::ALL
            .iter()
            .map(|r| (*r, by_name[r.as_str()].clone()))
            .collect(),
    }
}
