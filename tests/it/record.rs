//! A byte-for-byte recorder of every page and API answer of a generated history, to show that a
//! restructuring changed nothing a client can see.
//!
//! It generates a deterministic history through the library (`rollbook generate`'s simulation:
//! every event type, withdrawals with reasons, waitlists, promotions, closings, capacity
//! changes), erases one learner, seeds the test accounts, starts the real application at the
//! fixed test clock, and fetches as anonymous, viewer, staff and admin every page reachable by
//! following same-origin links from the dashboard (breadth first, sorted, at most
//! [`MAX_PAGES`] per role and [`MAX_PER_PATH`] links per path) plus an explicit list of pages (filters, `as_of` views, 404s) and
//! every JSON `GET` of `/api/v1` for the history's ids. Each answer is written to
//! `$ROLLBOOK_RECORD_DIR/<role>/<sanitised url>.txt` as its status, content type, location and
//! body.
//!
//! What differs between runs is masked the same way every time: the server's address, CSRF
//! tokens and API tokens, and the UUIDs that are not in the generated history (account and token
//! ids, minted from randomness) become `<uuid-N>`, numbered per file by first appearance; the
//! database's temporary path becomes `<db>`; the last projection rebuild's duration, rate and
//! (wall-clock) finishing time become `<masked>`; `/metrics` keeps only its metric names and
//! labels (its values hold timings).
//!
//! Run it (it is ignored by `cargo test`, and does nothing without the variable):
//!
//! ```text
//! ROLLBOOK_RECORD_DIR=/tmp/rec-a cargo test --test it record -- --ignored
//! ```
//!
//! and compare two recordings (the base commit's and a branch's, or two runs of one commit):
//!
//! ```text
//! diff -r /tmp/rec-a /tmp/rec-b && echo identical
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rollbook::clock::FixedClock;
use rollbook::generate::{GenerateOptions, generate};
use rollbook::store::{Actor, ErasureRecord, Store, StoreOptions};
use uuid::Uuid;

use rollbook::auth::{Auth, Passwords, Role};

use crate::helpers::{Credentials, NOW, TestApp, password_of, ts};

/// Pages fetched by following links, per role.
const MAX_PAGES: usize = 2000;
/// Links followed per path (query strings aside), so that time travel and paging through one
/// cohort's history do not crowd out the other pages.
const MAX_PER_PATH: usize = 12;
/// The generated history: cohorts, learner pool, events, seed.
const COHORTS: u32 = 24;
const LEARNERS: u32 = 220;
const EVENTS: u64 = 3000;
const SEED: u64 = 14;

#[tokio::test]
#[ignore = "a recorder, not a check: run with ROLLBOOK_RECORD_DIR set (see the module comment)"]
async fn record() {
    let Some(out) = std::env::var_os("ROLLBOOK_RECORD_DIR").map(PathBuf::from) else {
        eprintln!("ROLLBOOK_RECORD_DIR is not set: nothing recorded");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("rollbook.redb");
    let (known, learners, erased) = history(&db);
    let clock = Arc::new(FixedClock::new(ts(NOW)));
    let credentials = seed_in_order(&db, &clock);
    let mut app = TestApp::spawn_on_with(db, clock, credentials, |config| {
        config.max_connections_per_address = 10_000;
    })
    .await;
    app.keep(dir);

    let mut recorder = Recorder {
        out,
        known,
        secrets: Vec::new(),
        addr: app.addr.to_string(),
        db: app.db.display().to_string(),
        written: 0,
    };
    std::fs::create_dir_all(&recorder.out).expect("record dir");
    for role in Role::ALL {
        recorder.secrets.push((
            app.credentials.token(role).to_owned(),
            format!("<token:{role}>"),
        ));
    }

    let cohorts = cohort_ids(&app).await;
    let head = head_position(&app).await;

    // Anonymous: the login page, the pages that send to it, the public files.
    let anonymous = app.anonymous();
    let mut urls: BTreeSet<String> = [
        "/",
        "/login",
        "/login?next=%2Fevents",
        "/api",
        "/healthz",
        "/metrics",
        "/static/app.css",
        "/no-such-page",
        "/api/v1/cohorts",
        "/api/v1/nope",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    urls.insert(format!("/cohorts/{}", cohorts[0]));
    recorder
        .fetch_all(&app, &anonymous, "anonymous", urls)
        .await;

    for role in [Role::Viewer, Role::Staff, Role::Admin] {
        let (client, csrf) = app.page_client(role).await;
        recorder.secrets.push((csrf, "<csrf>".to_owned()));
        let pages = page_urls(&cohorts, &learners, &erased, head);
        recorder
            .crawl(&app, &client, &role.to_string(), pages)
            .await;
        let api = app.api_client(role);
        let urls = api_urls(&cohorts, &learners, &erased, head);
        recorder
            .fetch_all(&app, &api, &format!("{role}-api"), urls)
            .await;
    }
    eprintln!(
        "recorded {} answers into {}",
        recorder.written,
        recorder.out.display()
    );
}

/// Generates the history into `db` and erases one learner. Returns the UUIDs the history holds
/// (all deterministic), the learner keys (sorted) and the erased learner's key.
fn history(db: &Path) -> (HashSet<String>, Vec<String>, String) {
    let mut options = GenerateOptions::new(COHORTS, LEARNERS, EVENTS, SEED, ts(NOW));
    options.batch = 256;
    generate(db, &options, &|_| {}).expect("generates");
    let store = Store::open(db, &StoreOptions::default()).expect("store opens");
    let mut learners: Vec<String> = store
        .read()
        .unwrap()
        .learners()
        .unwrap()
        .into_iter()
        .map(|(_, record)| record.key)
        .collect();
    learners.sort();
    let erased = learners[7].clone();
    let record = ErasureRecord {
        erased_at: ts(NOW),
        actor: Actor {
            id: Uuid::from_u128(0x0e5a_5e00),
            name: "recorder".to_owned(),
        },
    };
    store
        .erase_learner(&erased, &record)
        .expect("erases")
        .expect("the learner exists");
    store.rewrite_file().expect("rewrites");
    let mut known = HashSet::new();
    store
        .read()
        .unwrap()
        .for_each_event(|e| known.extend(uuids(&format!("{e:?}"))))
        .unwrap();
    (known, learners, erased)
}

/// Seeds the test accounts and tokens (`helpers::seed`) a minute apart, ending at [`NOW`]: the admin
/// page lists tokens newest first and leaves ties in hash-map order, which would differ between
/// runs.
fn seed_in_order(db: &Path, clock: &Arc<FixedClock>) -> Credentials {
    let mut tokens = HashMap::new();
    let roles = Role::ALL;
    for (i, role) in roles.into_iter().enumerate() {
        let minutes_before = i64::try_from(roles.len() - 1 - i).expect("few roles");
        clock.set(ts(NOW) - jiff::SignedDuration::from_mins(minutes_before));
        let options = StoreOptions::default();
        let store = Arc::new(Store::open(db, &options).expect("store opens"));
        let auth = Auth::load(
            store,
            Passwords::cheap_for_tests(),
            clock.clone(),
            jiff::SignedDuration::from_hours(12),
        )
        .expect("auth loads");
        auth.create_account(role.as_str(), role, &password_of(role))
            .expect("account created");
        let (_, token) = auth
            .create_token(role.as_str(), "tests")
            .expect("token created");
        tokens.insert(role, token);
    }
    clock.set(ts(NOW));
    Credentials { tokens }
}

/// Every cohort id, in the API's order.
async fn cohort_ids(app: &TestApp) -> Vec<String> {
    let (status, body) = app.get_json("/api/v1/cohorts?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    let list = body
        .as_array()
        .or_else(|| body["cohorts"].as_array())
        .or_else(|| body["items"].as_array())
        .unwrap_or_else(|| panic!("a list of cohorts: {body}"));
    let ids: Vec<String> = list
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), COHORTS as usize, "every cohort is listed");
    ids
}

/// The position of the last event.
async fn head_position(app: &TestApp) -> u64 {
    let (status, body) = app.get_json("/api/v1/events?limit=1").await;
    assert_eq!(status, 200, "{body}");
    body["head"]
        .as_u64()
        .unwrap_or_else(|| panic!("a head: {body}"))
}

/// Pages the links from the dashboard may not reach: filters, time travel, errors.
fn page_urls(cohorts: &[String], learners: &[String], erased: &str, head: u64) -> BTreeSet<String> {
    let mut urls: BTreeSet<String> = [
        "/",
        "/?status=open",
        "/?status=closed",
        "/?status=full",
        "/?page=2",
        "/?instructor=nobody",
        "/?as_of=1",
        "/cohorts.csv",
        "/cohorts/new",
        "/reports/instructors",
        "/reports/instructors.csv",
        "/reports/instructors?page=2",
        "/reports/withdrawals",
        "/reports/withdrawals.csv",
        "/reports/seats",
        "/reports/seats.csv",
        "/events",
        "/events.csv",
        "/events?type=student.withdrawn",
        "/events?type=student.waitlisted",
        "/events?type=waitlist.promoted",
        "/events?type=waitlist.left",
        "/events?type=capacity.changed",
        "/events?type=enrollment.closed",
        "/events?type=cohort.created",
        "/events?type=student.enrolled&limit=5",
        "/events?after=100&limit=50",
        "/events?before=200",
        "/events?from=2026-01-01&to=2026-02-01",
        "/events?type=nonsense",
        "/search?q=learner-0001",
        "/search?q=rust",
        "/search?q=",
        "/search?q=%3Cscript%3E",
        "/api",
        "/admin",
        "/admin?done=x",
        "/login",
        "/cohorts/not-a-uuid",
        "/cohorts/00000000-0000-7000-8000-000000000000",
        "/learners/nobody@example.org",
        "/no-such-page",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    urls.insert(format!("/?as_of={}", head / 2));
    urls.insert("/?as_of=2026-02-01T00:00:00Z".to_owned());
    urls.insert(format!("/learners/{erased}"));
    urls.insert(format!("/admin/erase?key={}", learners[0]));
    urls.insert(format!("/search?q={}", learners[1]));
    for (i, id) in cohorts.iter().enumerate() {
        urls.insert(format!("/cohorts/{id}"));
        urls.insert(format!("/cohorts/{id}/history"));
        urls.insert(format!("/cohorts/{id}/seats"));
        urls.insert(format!("/cohorts/{id}/seats.csv"));
        urls.insert(format!("/cohorts/{id}/roster.csv"));
        urls.insert(format!("/cohorts/{id}?as_of={}", head / 3));
        urls.insert(format!("/cohorts/{id}?as_of=2026-02-15T12:00:00Z"));
        urls.insert(format!("/cohorts/{id}/diff?from=1&to={head}"));
        urls.insert(format!("/events?cohort={id}"));
        if i < 3 {
            urls.insert(format!("/cohorts/{id}/diff?from=2026-01-01&to=2026-02-20"));
            urls.insert(format!("/cohorts/{id}?as_of=nonsense"));
            urls.insert(format!("/reports/instructors?instructor={i}"));
        }
    }
    for key in learners.iter().step_by(10) {
        urls.insert(format!("/learners/{key}"));
        urls.insert(format!("/events?learner={key}"));
    }
    urls
}

/// Every JSON `GET` of `/api/v1` for the history's ids.
fn api_urls(cohorts: &[String], learners: &[String], erased: &str, head: u64) -> BTreeSet<String> {
    let mut urls: BTreeSet<String> = [
        "/api/v1/openapi.json",
        "/api/v1/cohorts",
        "/api/v1/cohorts?limit=5",
        "/api/v1/cohorts?limit=5&offset=5",
        "/api/v1/cohorts?status=open",
        "/api/v1/cohorts?status=closed",
        "/api/v1/cohorts?status=nonsense",
        "/api/v1/cohorts?limit=x",
        "/api/v1/cohorts?instructor=nobody",
        "/api/v1/cohorts/not-a-uuid",
        "/api/v1/cohorts/00000000-0000-7000-8000-000000000000",
        "/api/v1/events",
        "/api/v1/events?after=x",
        "/api/v1/projections",
        "/api/v1/learners/nobody@example.org/timeline",
        "/api/v1/nope",
        "/healthz",
        "/metrics",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let mut after = 0;
    while after < head {
        urls.insert(format!("/api/v1/events?after={after}&limit=1000"));
        after += 1000;
    }
    for id in cohorts {
        urls.insert(format!("/api/v1/cohorts/{id}"));
        urls.insert(format!("/api/v1/cohorts/{id}/events"));
        urls.insert(format!("/api/v1/cohorts/{id}?as_of={}", head / 2));
        urls.insert(format!("/api/v1/cohorts/{id}?as_of=2026-02-15T12:00:00Z"));
        urls.insert(format!("/api/v1/cohorts/{id}?as_of=nonsense"));
    }
    urls.insert(format!("/api/v1/learners/{erased}/timeline"));
    for key in learners.iter().step_by(5) {
        urls.insert(format!("/api/v1/learners/{key}/timeline"));
    }
    urls
}

struct Recorder {
    out: PathBuf,
    /// UUIDs of the generated history: kept as they are.
    known: HashSet<String>,
    /// Values that differ between runs, and what they are written as.
    secrets: Vec<(String, String)>,
    addr: String,
    /// The database's path (a temporary directory).
    db: String,
    written: usize,
}

impl Recorder {
    /// Fetches and records each of `urls` as `client`.
    async fn fetch_all(
        &mut self,
        app: &TestApp,
        client: &reqwest::Client,
        role: &str,
        urls: BTreeSet<String>,
    ) {
        for url in urls {
            self.fetch(app, client, role, &url).await;
        }
    }

    /// Fetches `start`, then follows same-origin links breadth first (each level in sorted
    /// order) up to [`MAX_PAGES`] pages, recording every answer.
    async fn crawl(
        &mut self,
        app: &TestApp,
        client: &reqwest::Client,
        role: &str,
        start: BTreeSet<String>,
    ) {
        let mut seen: BTreeSet<String> = start.clone();
        let mut per_path: HashMap<String, usize> = HashMap::new();
        let mut level = start;
        let mut fetched = 0;
        while !level.is_empty() && fetched < MAX_PAGES {
            let mut next = BTreeSet::new();
            for url in level {
                if fetched >= MAX_PAGES {
                    break;
                }
                fetched += 1;
                let (content_type, body) = self.fetch(app, client, role, &url).await;
                if !content_type.starts_with("text/html") {
                    continue;
                }
                for link in links(&body) {
                    if seen.contains(&link) {
                        continue;
                    }
                    let path = link.split('?').next().unwrap_or_default().to_owned();
                    let count = per_path.entry(path).or_default();
                    if *count < MAX_PER_PATH {
                        *count += 1;
                        seen.insert(link.clone());
                        next.insert(link);
                    }
                }
            }
            level = next;
        }
    }

    /// Fetches one URL and writes its answer; returns its content type and (unmasked) text.
    async fn fetch(
        &mut self,
        app: &TestApp,
        client: &reqwest::Client,
        role: &str,
        url: &str,
    ) -> (String, String) {
        let response = client.get(app.url(url)).send().await.expect("GET");
        let status = response.status();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or("<not text>").to_owned())
                .unwrap_or_default()
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let location = header(reqwest::header::LOCATION);
        let bytes = response.bytes().await.expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let path = url.split('?').next().unwrap_or_default();
        let body = if path == "/metrics" {
            metric_names(&text)
        } else {
            text.clone()
        };
        let mut record = format!("GET {url}\nHTTP {status}\ncontent-type: {content_type}\n");
        if !location.is_empty() {
            let _ = writeln!(record, "location: {location}");
        }
        record.push('\n');
        record.push_str(&body);
        let record = self.mask(&record);
        let file = self.out.join(role).join(file_name(&self.mask(url)));
        std::fs::create_dir_all(file.parent().expect("parent")).expect("role dir");
        assert!(!file.exists(), "two URLs map to {}", file.display());
        std::fs::write(&file, record).expect("record written");
        self.written += 1;
        (content_type, text)
    }

    /// Replaces what differs between runs by stable placeholders.
    fn mask(&self, text: &str) -> String {
        let mut text = text.replace(&self.addr, "<addr>").replace(&self.db, "<db>");
        // The last projection rebuild's duration, rate and wall-clock time.
        text = mask_between(&text, " events in ", " UTC.");
        for key in ["events_per_second", "finished_at", "seconds"] {
            text = mask_json_value(&text, key);
        }
        for (secret, placeholder) in &self.secrets {
            text = text.replace(secret.as_str(), placeholder);
        }
        let mut numbers: HashMap<String, usize> = HashMap::new();
        for id in uuids(&text) {
            if !self.known.contains(&id) {
                let n = numbers.len() + 1;
                numbers.entry(id).or_insert(n);
            }
        }
        for (id, n) in numbers {
            text = text.replace(&id, &format!("<uuid-{n}>"));
        }
        text
    }
}

/// `text` with whatever lies between each `start` and the next `end` replaced by `<masked>`.
fn mask_between(text: &str, start: &str, end: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(start) {
        let after = &rest[i + start.len()..];
        let Some(j) = after.find(end) else { break };
        out.push_str(&rest[..i + start.len()]);
        out.push_str("<masked>");
        rest = &after[j..];
    }
    out.push_str(rest);
    out
}

/// `text` with the (scalar) value of every JSON member named `key` replaced by `"<masked>"`.
fn mask_json_value(text: &str, key: &str) -> String {
    let start = format!("\"{key}\":");
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(&start) {
        let after = &rest[i + start.len()..];
        let end = after.find([',', '}']).unwrap_or(after.len());
        out.push_str(&rest[..i + start.len()]);
        out.push_str("\"<masked>\"");
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The metric names and labels of a Prometheus text page, without their values (timings).
fn metric_names(text: &str) -> String {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let name = if line.starts_with('#') {
            line
        } else {
            line.rsplit_once(' ').map_or(line, |(name, _)| name)
        };
        names.insert(name.to_owned());
    }
    names.into_iter().collect::<Vec<_>>().join("\n")
}

/// The same-origin links (`href="/…"`) of a page, without fragments, HTML entities decoded.
fn links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for part in html.split("href=\"").skip(1) {
        let Some(link) = part.split('"').next() else {
            continue;
        };
        let link = link.replace("&amp;", "&").replace("&#x2F;", "/");
        let link = link.split('#').next().unwrap_or_default().to_owned();
        if link.starts_with('/') && !link.starts_with("//") && link != "/logout" {
            links.push(link);
        }
    }
    links
}

/// The UUIDs (lower-case, hyphenated) in `text`, in order.
fn uuids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 36 <= bytes.len() {
        let candidate = &bytes[i..i + 36];
        let shaped = candidate.iter().enumerate().all(|(j, b)| match j {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(b),
        });
        if shaped {
            found.push(String::from_utf8_lossy(candidate).into_owned());
            i += 36;
        } else {
            i += 1;
        }
    }
    found
}

/// A file name for `url`: bytes outside `[A-Za-z0-9._-]` as `~XX`; long names cut and
/// suffixed with a hash of the whole URL.
fn file_name(url: &str) -> String {
    let mut name = String::new();
    for b in url.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
            name.push(char::from(b));
        } else {
            let _ = write!(name, "~{b:02X}");
        }
    }
    if name.len() > 180 {
        // FNV-1a: stable across runs and platforms.
        let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        name.truncate(160);
        let _ = write!(name, "~{hash:016x}");
    }
    name.push_str(".txt");
    name
}
