//! Bulk enrollment from a CSV (`learner,name`), for the cohort page and the API alike: reading
//! the file (header required, UTF-8, at most [`MAX_ROWS`] rows, malformed rows named by line),
//! the **preview** (each row run in file order through the writer's [`Preview`] on one
//! [`Stage`], as a dry run: no second copy of the rules), and the **apply** (the rows the
//! preview accepted, handed to the writer as one [`BulkEnroll`]: one append with the expected
//! version). Also the page flow: the preview page, its Apply button, the summary shown on the
//! cohort page after Post/Redirect/Get, and the download of the refused rows as CSV. The
//! summaries are kept in memory, bounded ([`KEPT`] of them, for [`KEPT_FOR`]), for the account
//! that applied.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex, PoisonError};

use askama::Template;
use askama_web::WebTemplate;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::AppState;
use super::error::{PageError, describe};
use super::extract::{Acting, PagePath, PageQuery};
use super::input;
use super::nav::Nav;
use crate::auth::Principal;
use crate::domain::{CohortId, Event, RuleViolation};
use crate::learner_key::LearnerKey;
use crate::writer::{BulkEnroll, BulkRow, CommandError, Preview, Request, Stage};

/// Most data rows a file may have.
pub const MAX_ROWS: usize = 5_000;
/// Largest CSV body the API takes: 5,000 rows of a long key and name each (~400 bytes).
pub const API_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Largest bulk form the pages take (see [`super::body_limit`]).
pub const FORM_BODY_LIMIT: usize = super::BULK_FORM_LIMIT;
/// Summaries of applied files kept for the cohort page and the refused-rows download.
const KEPT: usize = 64;
/// How long a summary is kept.
const KEPT_FOR: SignedDuration = SignedDuration::from_hours(1);

/// Why a file cannot be read at all (no row of it is previewed).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Not UTF-8.
    #[error(
        "the file is not UTF-8 text (line {line} has a byte that is not): save it as CSV UTF-8"
    )]
    NotUtf8 {
        /// The line of the first bad byte.
        line: usize,
    },
    /// No header line.
    #[error("the file is empty: it needs the header line learner,name and one row per learner")]
    Empty,
    /// The first line is not the header.
    #[error("the first line must be the header learner,name (found {found:?})")]
    BadHeader {
        /// What was there.
        found: String,
    },
    /// More than [`MAX_ROWS`] rows.
    #[error(
        "the file has more than {MAX_ROWS} rows (found at least {rows}): split it into files of at most {MAX_ROWS}"
    )]
    TooManyRows {
        /// Rows counted before stopping.
        rows: usize,
    },
    /// The CSV reader failed.
    #[error("the file could not be read as CSV: {0}")]
    Unreadable(String),
}

impl FileError {
    /// The API's error code.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotUtf8 { .. } => "not_utf8",
            Self::Empty | Self::BadHeader { .. } => "invalid_csv_header",
            Self::TooManyRows { .. } => "too_many_rows",
            Self::Unreadable(_) => "unreadable_csv",
        }
    }
}

/// Why one row is refused: its code and a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Stable code: a malformed row's (`invalid_learner`, `missing_name_column`,
    /// `extra_column`, `duplicate_learner`, `too_long`, `invalid_name`) or the rule's.
    pub code: &'static str,
    /// In words.
    pub message: String,
}

/// A row of the file as read.
#[derive(Clone, Debug)]
pub struct FileRow {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    /// The learner cell as written.
    pub learner: String,
    /// The name cell as written.
    pub name: String,
    /// The row, or why it is malformed.
    pub parsed: Result<BulkRow, RowError>,
}

/// Reads a bulk file: the header `learner,name` (any case, a UTF-8 BOM allowed), then one
/// learner per line; blank lines are skipped.
pub fn read_file(bytes: &[u8]) -> Result<Vec<FileRow>, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FileError::NotUtf8 {
        line: std::str::from_utf8(&bytes[..e.valid_up_to()])
            .map_or(0, |valid| valid.matches('\n').count())
            + 1,
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Line ends as LF: the reader counts a CRLF file's lines one short (browsers send CRLF).
    let text = text.replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = records
        .next()
        .ok_or(FileError::Empty)?
        .map_err(|e| FileError::Unreadable(e.to_string()))?;
    let cells: Vec<String> = header
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    if cells != ["learner", "name"] {
        return Err(FileError::BadHeader {
            found: header.iter().collect::<Vec<_>>().join(","),
        });
    }
    let mut rows = Vec::new();
    let mut seen: HashMap<LearnerKey, u64> = HashMap::new();
    for record in records {
        let record = record.map_err(|e| FileError::Unreadable(e.to_string()))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(FileError::TooManyRows { rows: MAX_ROWS + 1 });
        }
        let line = record.position().map_or(0, csv::Position::line);
        let learner = record.get(0).unwrap_or_default().to_owned();
        let name = record.get(1).unwrap_or_default().to_owned();
        let parsed = parse_row(&record, line, &mut seen);
        rows.push(FileRow {
            line,
            learner,
            name,
            parsed,
        });
    }
    Ok(rows)
}

fn parse_row(
    record: &csv::StringRecord,
    line: u64,
    seen: &mut HashMap<LearnerKey, u64>,
) -> Result<BulkRow, RowError> {
    let refuse = |code, message: String| Err(RowError { code, message });
    let learner = match input::learner("learner", record.get(0).unwrap_or_default()) {
        Ok(key) => key,
        Err(e) => return refuse("invalid_learner", e.to_string()),
    };
    if record.len() < 2 {
        return refuse(
            "missing_name_column",
            "the name column is missing (write learner,name; the name may be empty)".to_owned(),
        );
    }
    if record.len() > 2 {
        return refuse(
            "extra_column",
            format!(
                "{} columns where two are expected (learner,name): quote a name that holds a comma",
                record.len()
            ),
        );
    }
    let name = match input::line("name", record.get(1).unwrap_or_default(), input::MAX_TEXT) {
        Ok(name) => name,
        Err(e) if e.to_string().contains("at most") => return refuse("too_long", e.to_string()),
        Err(e) => return refuse("invalid_name", e.to_string()),
    };
    if let Some(first) = seen.get(&learner) {
        return refuse(
            "duplicate_learner",
            format!("{learner} is already on line {first} of this file"),
        );
    }
    seen.insert(learner.clone(), line);
    Ok(BulkRow {
        learner,
        name: Some(name).filter(|n| !n.is_empty()),
    })
}

/// What a row did, or would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Took a free seat.
    Enrolled,
    /// Joined the waitlist at this place.
    Waitlisted(u32),
    /// Was offered a seat.
    Offered,
}

impl Outcome {
    /// What the learner's row says, from the learner's own event of a decision (the last: any
    /// offers expired first come before it).
    fn of(events: &[&Event]) -> Option<Self> {
        match events.last()? {
            Event::StudentEnrolled { .. } => Some(Self::Enrolled),
            Event::StudentWaitlisted { position, .. } => Some(Self::Waitlisted(*position)),
            Event::WaitlistOffered { .. } => Some(Self::Offered),
            _ => None,
        }
    }
}

/// A row with its outcome.
#[derive(Clone, Debug)]
pub struct RowOutcome {
    /// The row as read.
    pub row: FileRow,
    /// What it did or would do, or why not.
    pub outcome: Result<Outcome, RowError>,
}

/// A preview or an applied file: the cohort's version and every row.
#[derive(Clone, Debug)]
pub struct Outcomes {
    /// For a preview, the version it was decided at (send it as `If-Match`); once applied, the
    /// version after the append.
    pub version: u64,
    /// Every row, in file order.
    pub rows: Vec<RowOutcome>,
}

impl Outcomes {
    /// (enrolled, waitlisted, offered, refused).
    #[must_use]
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut counts = (0, 0, 0, 0);
        for row in &self.rows {
            match row.outcome {
                Ok(Outcome::Enrolled) => counts.0 += 1,
                Ok(Outcome::Waitlisted(_)) => counts.1 += 1,
                Ok(Outcome::Offered) => counts.2 += 1,
                Err(_) => counts.3 += 1,
            }
        }
        counts
    }
}

fn rule_error(violation: &RuleViolation, learner: &LearnerKey) -> RowError {
    RowError {
        code: violation.code(),
        message: describe(violation, Some(learner.as_str())),
    }
}

/// Why a file could not be previewed or applied as a whole.
#[derive(Debug)]
pub enum BulkError {
    /// No such cohort.
    NoCohort(CohortId),
    /// The cohort is not at the version the caller previewed.
    Moved {
        /// What the caller expected.
        expected: u64,
        /// Where the cohort is.
        actual: u64,
    },
    /// The writer failed.
    Command(CommandError),
}

/// Previews `rows` on `stage` in file order: each accepted row moves the stage on, as the
/// writer would. Writes nothing.
pub fn preview(
    preview: &Preview,
    stage: &mut Stage,
    rows: Vec<FileRow>,
) -> Result<Outcomes, BulkError> {
    let cohort = stage.cohort();
    if stage.state().is_none() {
        return Err(BulkError::NoCohort(cohort));
    }
    let version = stage.version();
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in rows {
        let outcome = match &row.parsed {
            Err(e) => Err(e.clone()),
            Ok(parsed) => {
                let request = Request::Enroll {
                    cohort,
                    learner: parsed.learner.clone(),
                    name: parsed.name.clone(),
                };
                match preview.decide(stage, &request, None) {
                    Ok(predicted) => {
                        let events: Vec<&Event> = predicted.events.iter().collect();
                        Outcome::of(&events).ok_or_else(|| RowError {
                            code: "internal",
                            message: "the preview could not tell the outcome".to_owned(),
                        })
                    }
                    Err(CommandError::Rejected(v)) => Err(rule_error(&v, &parsed.learner)),
                    Err(e) => return Err(BulkError::Command(e)),
                }
            }
        };
        outcomes.push(RowOutcome { row, outcome });
    }
    Ok(Outcomes {
        version,
        rows: outcomes,
    })
}

/// Applies `rows` to the cohort if it is still at `expected`: previews them on the cohort now,
/// then hands the rows the preview accepted, in file order, to the writer as one append with
/// `expected` as its version. A version conflict writes nothing.
pub async fn apply(
    state: &AppState,
    principal: &Principal,
    cohort: CohortId,
    expected: u64,
    rows: Vec<FileRow>,
    correlation: (Option<uuid::Uuid>, Option<uuid::Uuid>),
) -> Result<Outcomes, BulkError> {
    let dry = state.preview();
    let mut now = dry.now(cohort, state.clock.now());
    if now.state().is_some() && now.version() != expected {
        return Err(BulkError::Moved {
            expected,
            actual: now.version(),
        });
    }
    let mut previewed = preview(&dry, &mut now, rows)?;
    let accepted: Vec<usize> = (0..previewed.rows.len())
        .filter(|&i| previewed.rows[i].outcome.is_ok())
        .collect();
    let bulk = BulkEnroll {
        cohort,
        rows: accepted
            .iter()
            .filter_map(|&i| previewed.rows[i].row.parsed.clone().ok())
            .collect(),
        expected_version: expected,
        actor: principal.actor(),
        correlation_id: correlation.0,
        causation_id: correlation.1,
    };
    let done = state.writer.bulk_enroll(bulk).await.map_err(|e| match e {
        CommandError::VersionConflict { expected, actual } => BulkError::Moved { expected, actual },
        CommandError::Rejected(RuleViolation::CohortNotFound { cohort }) => {
            BulkError::NoCohort(cohort)
        }
        e => BulkError::Command(e),
    })?;
    for (&i, result) in accepted.iter().zip(done.rows) {
        let row = &mut previewed.rows[i];
        row.outcome = match result {
            Ok(envelopes) => {
                let events: Vec<&Event> = envelopes.iter().map(|e| &e.event).collect();
                Outcome::of(&events).ok_or_else(|| RowError {
                    code: "internal",
                    message: "the outcome could not be told".to_owned(),
                })
            }
            Err(v) => {
                let key = row.row.parsed.as_ref().map(|r| r.learner.clone());
                match key {
                    Ok(key) => Err(rule_error(&v, &key)),
                    Err(e) => Err(e.clone()),
                }
            }
        };
    }
    previewed.version = done.version;
    Ok(previewed)
}

// ---- the pages ----

/// A row of the preview page or the refused-rows download, in words.
pub struct RowView {
    pub line: u64,
    pub learner: String,
    pub name: String,
    /// "would take a seat", "refused — …".
    pub words: String,
    pub refused: bool,
    pub code: &'static str,
}

fn row_views(outcomes: &Outcomes, applied: bool) -> Vec<RowView> {
    outcomes
        .rows
        .iter()
        .map(|r| {
            let (words, code) = match (&r.outcome, applied) {
                (Ok(Outcome::Enrolled), false) => ("would take a seat".to_owned(), ""),
                (Ok(Outcome::Waitlisted(place)), false) => {
                    (format!("would join the waitlist at place {place}"), "")
                }
                (Ok(Outcome::Offered), false) => ("would be offered a seat".to_owned(), ""),
                (Ok(Outcome::Enrolled), true) => ("took a seat".to_owned(), ""),
                (Ok(Outcome::Waitlisted(place)), true) => {
                    (format!("joined the waitlist at place {place}"), "")
                }
                (Ok(Outcome::Offered), true) => ("was offered a seat".to_owned(), ""),
                (Err(e), _) => (format!("refused — {}", e.message), e.code),
            };
            RowView {
                line: r.row.line,
                learner: r.row.learner.clone(),
                name: r.row.name.clone(),
                refused: r.outcome.is_err(),
                words,
                code,
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "bulk_preview.html")]
pub struct PreviewPage {
    pub nav: Nav,
    pub id: String,
    pub name: String,
    /// Above the table: why the preview is shown again, or why the file cannot be read.
    pub message: Option<String>,
    /// The file as sent (the Apply form sends it again; the form to fix it shows it).
    pub csv: String,
    pub version: u64,
    pub rows: Vec<RowView>,
    /// (take a seat, join the waitlist, be offered, refused).
    pub counts: (usize, usize, usize, usize),
}

/// The bulk form: the file's text (and, to apply, the version previewed).
#[derive(Deserialize, Default)]
#[serde(default)]
struct BulkForm {
    csv: String,
    version: String,
}

/// Reads the bulk form within [`FORM_BODY_LIMIT`] (the access guard has checked its CSRF
/// token and the UTF-8 check its fields).
async fn read_form(body: Body) -> Result<BulkForm, PageError> {
    let bytes = to_bytes(body, FORM_BODY_LIMIT)
        .await
        .map_err(|_| PageError::TooLarge)?;
    serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| PageError::BadRequest(format!("the form could not be read: {e}")))
}

fn cohort_name(state: &AppState, cohort: CohortId) -> Result<String, PageError> {
    state
        .read
        .read()
        .catalog
        .get(cohort)
        .map(|v| v.state.name.clone())
        .ok_or_else(|| PageError::NotFound(format!("no cohort {cohort}")))
}

fn page_error(e: BulkError) -> PageError {
    match e {
        BulkError::NoCohort(cohort) => PageError::NotFound(format!("no cohort {cohort}")),
        BulkError::Moved { .. } => PageError::internal("bulk", &"unexpected version conflict"),
        BulkError::Command(CommandError::Stopped) => PageError::Unavailable,
        BulkError::Command(CommandError::Store(_)) => PageError::StorageUnavailable,
        BulkError::Command(e) => PageError::internal("bulk enrollment", &e),
    }
}

/// The preview page of `csv` on the cohort now, with `message` above it; a file that cannot be
/// read is shown with its reason and nothing to apply (422).
fn preview_page(
    state: &AppState,
    principal: &Principal,
    cohort: CohortId,
    csv: &str,
    message: Option<String>,
) -> Result<Response, PageError> {
    let name = cohort_name(state, cohort)?;
    let page = |message, version, rows, counts| PreviewPage {
        nav: Nav::of(principal, &state.zone),
        id: cohort.to_string(),
        name: name.clone(),
        message,
        csv: csv.to_owned(),
        version,
        rows,
        counts,
    };
    let rows = match read_file(csv.as_bytes()) {
        Ok(rows) => rows,
        Err(e) => {
            let page = page(
                Some(format!("Nothing to preview: {e}.")),
                0,
                Vec::new(),
                (0, 0, 0, 0),
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let dry = state.preview();
    let mut now = dry.now(cohort, state.clock.now());
    let outcomes = preview(&dry, &mut now, rows).map_err(page_error)?;
    let counts = outcomes.counts();
    let status = if message.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let page = page(
        message,
        outcomes.version,
        row_views(&outcomes, false),
        counts,
    );
    Ok((status, page).into_response())
}

/// `POST /cohorts/{id}/bulk/preview`: every row with what it would do, and an Apply button.
pub async fn preview_form(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    body: Body,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let form = read_form(body).await?;
    preview_page(&state, &principal, cohort, &form.csv, None)
}

/// `POST /cohorts/{id}/bulk/apply`: applies the file if the cohort is still at the version
/// previewed (then Post/Redirect/Get to the cohort page with the summary); if it moved,
/// nothing is written and a fresh preview is shown (409).
pub async fn apply_form(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
    body: Body,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let form = read_form(body).await?;
    let Ok(expected) = form.version.trim().parse::<u64>() else {
        return Err(PageError::BadRequest(
            "the form lacks the version it was previewed at: preview the file again".to_owned(),
        ));
    };
    let Ok(rows) = read_file(form.csv.as_bytes()) else {
        return preview_page(&state, &principal, cohort, &form.csv, None);
    };
    match apply(&state, &principal, cohort, expected, rows, (None, None)).await {
        Ok(outcomes) => {
            let token = keep(&principal, cohort, &outcomes, state.clock.now());
            Ok(Redirect::to(&format!("/cohorts/{cohort}?bulk={token}")).into_response())
        }
        Err(BulkError::Moved { actual, .. }) => {
            let message = format!(
                "Nothing was enrolled: the cohort changed since the preview (it is now at version \
                 {actual}). Here is a fresh preview; check it and apply again."
            );
            preview_page(&state, &principal, cohort, &form.csv, Some(message))
        }
        Err(e) => Err(page_error(e)),
    }
}

// ---- what was applied, for the cohort page and the download ----

struct Kept {
    token: String,
    account: String,
    cohort: CohortId,
    at: Timestamp,
    summary: String,
    refused: Vec<RowView>,
}

static APPLIED: LazyLock<Mutex<VecDeque<Kept>>> = LazyLock::new(Mutex::default);

/// Keeps the summary of an applied file; returns its token.
fn keep(principal: &Principal, cohort: CohortId, outcomes: &Outcomes, now: Timestamp) -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        bytes = uuid::Uuid::now_v7().into_bytes();
    }
    let token = bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    let (enrolled, waitlisted, offered, refused) = outcomes.counts();
    let mut summary = format!("Enrolled {enrolled}, waitlisted {waitlisted}");
    if offered > 0 {
        let _ = write!(summary, ", offered {offered}");
    }
    let _ = match refused {
        1 => write!(summary, ", 1 row refused."),
        n => write!(summary, ", {n} rows refused."),
    };
    let refused = row_views(outcomes, true)
        .into_iter()
        .filter(|r| r.refused)
        .collect();
    let mut kept = APPLIED.lock().unwrap_or_else(PoisonError::into_inner);
    kept.retain(|k| now.duration_since(k.at) < KEPT_FOR);
    while kept.len() >= KEPT {
        kept.pop_front();
    }
    kept.push_back(Kept {
        token: token.clone(),
        account: principal.name.clone(),
        cohort,
        at: now,
        summary,
        refused,
    });
    token
}

/// A bulk enrollment just applied, as the cohort page shows it.
pub struct Applied {
    /// "Enrolled 180, waitlisted 15, 5 rows refused."
    pub summary: String,
    /// Rows refused.
    pub refused: usize,
    /// The download of the refused rows.
    pub token: String,
}

/// The summary of an applied file for the cohort page, for the account that applied it,
/// while kept.
#[must_use]
pub fn applied(token: &str, principal: &Principal, cohort: CohortId) -> Option<Applied> {
    if token.is_empty() {
        return None;
    }
    let kept = APPLIED.lock().unwrap_or_else(PoisonError::into_inner);
    kept.iter()
        .find(|k| k.token == token && k.account == principal.name && k.cohort == cohort)
        .map(|k| Applied {
            summary: k.summary.clone(),
            refused: k.refused.len(),
            token: k.token.clone(),
        })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RefusedQuery {
    token: String,
}

/// `GET /cohorts/{id}/bulk/refused.csv?token=…`: the rows an applied file had refused, with
/// their line, code and reason (formulas defused as in every download).
pub async fn refused_csv(
    Acting(principal): Acting,
    PagePath(id): PagePath,
    PageQuery(q): PageQuery<RefusedQuery>,
) -> Result<Response, PageError> {
    let cohort = input::parse_cohort::<PageError>(&id)?;
    let rows: Vec<Vec<String>> = {
        let kept = APPLIED.lock().unwrap_or_else(PoisonError::into_inner);
        let found = kept
            .iter()
            .find(|k| k.token == q.token && k.account == principal.name && k.cohort == cohort)
            .ok_or_else(|| {
                PageError::NotFound(
                    "no such bulk enrollment (the refused rows are kept for an hour)".to_owned(),
                )
            })?;
        found
            .refused
            .iter()
            .map(|r| {
                vec![
                    r.line.to_string(),
                    r.learner.clone(),
                    r.name.clone(),
                    r.code.to_owned(),
                    r.words.trim_start_matches("refused — ").to_owned(),
                ]
            })
            .collect()
    };
    Ok(super::csv::download(
        &format!("refused-{cohort}.csv"),
        &["line", "learner", "name", "code", "reason"],
        rows.into_iter(),
    ))
}
