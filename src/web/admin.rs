//! Admin pages: accounts (list, create, reset password, disable), API tokens (create, revoke),
//! webhook subscriptions (their state; the forms are [`super::admin_webhooks`]') and an
//! operations summary. Every change goes through [`crate::auth::Auth`].

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::error::PageError;
use super::extract::{Acting, PagePath, PageQuery};
use super::nav::Nav;
use crate::auth::{Auth, AuthError, Principal, Role};
use crate::projections::Projection as _;

/// An account row.
pub struct AccountRow {
    name: String,
    role: &'static str,
    disabled: bool,
    created: String,
    last_login: String,
}

/// A token row.
pub struct TokenRow {
    id: String,
    account: String,
    label: String,
    created: String,
}

/// One projection's status row.
pub struct ProjectionRow {
    name: &'static str,
    position: u64,
    lag: u64,
}

/// The read side's maintenance status, ready to show.
pub struct Maintenance {
    head: u64,
    rows: Vec<ProjectionRow>,
    events_applied: u64,
    last_rebuild: String,
    rebuilding: Option<String>,
    checking: Option<String>,
    last_check: Option<(String, Vec<String>)>,
    last_error: String,
}

impl Maintenance {
    /// Whether a background job is running (the page then refreshes itself).
    fn busy(&self) -> bool {
        self.rebuilding.is_some() || self.checking.is_some()
    }
}

fn progress_text(p: &crate::projections::Progress) -> String {
    let done = p.done.load(std::sync::atomic::Ordering::Relaxed);
    format!("{done} of {} events", p.total)
}

/// The projections' positions and the last rebuild and check.
pub fn maintenance(state: &AppState) -> Maintenance {
    // From the writer's memory: no store read on an async thread.
    let head = state.writer.store_head();
    let read = state.read.read();
    let rows = read
        .positions()
        .into_iter()
        .map(|(name, position)| ProjectionRow {
            name,
            position,
            lag: head.saturating_sub(position),
        })
        .collect();
    let events_applied = read.events_applied;
    drop(read);
    let status = state.read.status();
    Maintenance {
        head,
        rows,
        events_applied,
        last_rebuild: status.last_rebuild.as_ref().map_or_else(String::new, |r| {
            format!(
                "{} events in {:.2} s ({:.0} events/s), finished {}",
                r.events,
                r.seconds,
                r.events_per_second,
                state.zone.show(r.finished_at)
            )
        }),
        rebuilding: status.rebuilding.as_deref().map(progress_text),
        checking: status.checking.as_deref().map(progress_text),
        last_check: status.last_check.as_ref().map(|c| {
            (
                format!("at event {}, {}", c.position, state.zone.show(c.at)),
                c.differences.clone(),
            )
        }),
        last_error: status.last_error.clone().unwrap_or_default(),
    }
}

/// The operations summary.
pub struct Stats {
    db: String,
    position: u64,
    cohorts: usize,
    learners: usize,
    projections: String,
    writer_running: bool,
}

/// One subscription as the Admin page lists it.
pub struct WebhookRow {
    pub id: String,
    pub name: String,
    pub url: String,
    pub filters: String,
    pub paused: bool,
    pub position: u64,
    pub lag: u64,
    pub lag_since: String,
    pub last_success: String,
    pub last_error: String,
    pub log: Vec<(String, u64, bool, String)>,
}

/// Every webhook subscription, for the page's Webhooks section.
pub fn webhook_rows(state: &AppState) -> Vec<WebhookRow> {
    state
        .webhooks
        .list()
        .into_iter()
        .map(|v| {
            let mut filters = Vec::new();
            if !v.record.event_types.is_empty() {
                filters.push(v.record.event_types.join(", "));
            }
            if !v.record.cohorts.is_empty() {
                let read = state.read.read();
                let names: Vec<String> = v
                    .record
                    .cohorts
                    .iter()
                    .map(|id| {
                        read.catalog
                            .get(crate::domain::CohortId(*id))
                            .map_or_else(|| id.to_string(), |c| c.state.name.clone())
                    })
                    .collect();
                filters.push(names.join(", "));
            }
            WebhookRow {
                id: v.id.to_string(),
                name: v.record.name.clone(),
                url: v.record.url.clone(),
                filters: if filters.is_empty() {
                    "every event".to_owned()
                } else {
                    filters.join("; ")
                },
                paused: v.record.paused,
                position: v.position,
                lag: v.lag,
                lag_since: v.lag_since.map_or_else(String::new, |t| state.zone.show(t)),
                last_success: v
                    .last_success
                    .map_or_else(String::new, |t| state.zone.show(t)),
                last_error: v.record.last_error.clone().unwrap_or_default(),
                log: v
                    .log
                    .iter()
                    .map(|l| (state.zone.show(l.at), l.position, l.ok, l.outcome.clone()))
                    .collect(),
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "admin.html")]
pub struct AdminPage {
    /// Erasures, newest first: (opaque id, when, by whom).
    erasures: Vec<(String, String, String)>,
    nav: Nav,
    message: String,
    failed: bool,
    new_token: Option<(String, String)>,
    stats: Stats,
    accounts: Vec<AccountRow>,
    tokens: Vec<TokenRow>,
    maintenance: Maintenance,
    /// The last backup this server made: (ok, text).
    last_backup: Option<(bool, String)>,
    webhooks: Vec<WebhookRow>,
    /// A subscription just created: its id and secret, shown once.
    pub(super) new_webhook: Option<(String, String)>,
    /// Learner e-mail.
    mail: super::admin_mail::MailAdmin,
}

pub(super) fn page(
    state: &AppState,
    principal: &Principal,
    message: String,
    failed: bool,
    new_token: Option<(String, String)>,
) -> AdminPage {
    let read = state.read.read();
    let summary = Stats {
        db: state.history.path().display().to_string(),
        position: read.position,
        cohorts: read.catalog.len(),
        learners: read.directory.len(),
        projections: format!(
            "catalog {}, history {}, timelines {}",
            read.catalog.position(),
            read.history.position(),
            read.timelines.position()
        ),
        writer_running: state.writer.is_running(),
    };
    let erasures = read
        .directory
        .erasures()
        .into_iter()
        .map(|(id, e)| {
            (
                id.to_string(),
                state.zone.show(e.erased_at),
                e.actor.name.clone(),
            )
        })
        .collect();
    drop(read);
    let maintenance = maintenance(state);
    let last_backup = state
        .last_backup
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .map(|outcome| match outcome {
            Ok(m) => (
                true,
                format!(
                    "{} — {}, up to event {}, verified, SHA-256 {}",
                    m.file.display(),
                    state.zone.show(m.created_at),
                    m.position,
                    m.sha256
                ),
            ),
            Err(e) => (false, e.clone()),
        });
    AdminPage {
        mail: super::admin_mail::section(state),
        webhooks: webhook_rows(state),
        new_webhook: None,
        erasures,
        last_backup,
        maintenance,
        nav: Nav::of(principal, &state.zone),
        message,
        failed,
        new_token,
        stats: summary,
        accounts: state
            .auth
            .accounts()
            .into_iter()
            .map(|a| AccountRow {
                name: a.name,
                role: a.role.as_str(),
                disabled: a.disabled,
                created: state.zone.show(a.created_at),
                last_login: a
                    .last_login
                    .map_or_else(|| "never".to_owned(), |t| state.zone.show(t)),
            })
            .collect(),
        tokens: state
            .auth
            .tokens()
            .into_iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                account: t.account,
                label: t.label,
                created: state.zone.show(t.created_at),
            })
            .collect(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

/// `GET /admin`.
pub async fn overview(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PageQuery(q): PageQuery<DoneQuery>,
) -> AdminPage {
    // Only fixed messages come back through the URL: nobody can make this page say anything.
    let message = match q.done.as_str() {
        "created" => "Account created.",
        "password" => "Password set; the account's sessions were ended.",
        "disabled" => "Account disabled; its sessions ended and its tokens stopped working.",
        "enabled" => "Account enabled.",
        "revoked" => "Token revoked.",
        "rebuilding" => "Rebuilding the projections in the background; the live ones keep serving.",
        "checking" => "Shadow check started: a fresh copy is being rebuilt for comparison.",
        "busy" => "That job is already running.",
        "webhook-paused" => "Webhook subscription paused.",
        "webhook-resumed" => "Webhook subscription resumed from its position.",
        "webhook-moved" => "Webhook subscription moved.",
        "webhook-deleted" => "Webhook subscription deleted.",
        "erased" => {
            "The learner's personal data was erased and the database file rewritten without it. \
             Backups made before now still hold it: rotate them out."
        }
        _ => "",
    };
    page(&state, &principal, message.to_owned(), false, None)
}

/// Runs an account change on the blocking pool (it may hash a password), then redirects with a
/// fixed message, or shows the page again with the refusal.
async fn change(
    state: &AppState,
    principal: &Principal,
    done: &'static str,
    f: impl FnOnce(&Auth) -> Result<(), AuthError> + Send + 'static,
) -> Result<Response, PageError> {
    let auth = state.auth.clone();
    let outcome = tokio::task::spawn_blocking(move || f(&auth))
        .await
        .map_err(|e| PageError::internal("admin task failed", &e))?;
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/admin?done={done}")).into_response()),
        Err(AuthError::Store(e)) => Err(PageError::internal("admin change failed", &e)),
        Err(refused) => {
            let page = page(state, principal, refused.to_string(), true, None);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// A form's fields, or a 400 saying what is wrong with them.
pub(super) fn read_form<T>(form: Result<Form<T>, FormRejection>) -> Result<T, PageError> {
    form.map(|Form(f)| f)
        .map_err(|e| PageError::BadRequest(e.body_text()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewAccount {
    name: String,
    role: String,
    password: String,
}

/// `POST /admin/accounts`.
pub async fn create_account(
    State(state): State<AppState>,
    Acting(principal): Acting,
    form: Result<Form<NewAccount>, FormRejection>,
) -> Result<Response, PageError> {
    let f = read_form(form)?;
    let role: Role = match f.role.parse() {
        Ok(role) => role,
        Err(e) => {
            let page = page(&state, &principal, e.to_string(), true, None);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    tracing::info!(by = %principal.name, name = %f.name, %role, "creating account");
    change(&state, &principal, "created", move |auth| {
        auth.create_account(&f.name, role, &f.password).map(|_| ())
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewPassword {
    password: String,
}

/// `POST /admin/accounts/{name}/password`.
pub async fn reset_password(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(name): PagePath,
    form: Result<Form<NewPassword>, FormRejection>,
) -> Result<Response, PageError> {
    let f = read_form(form)?;
    tracing::info!(by = %principal.name, %name, "resetting password");
    change(&state, &principal, "password", move |auth| {
        auth.set_password(&name, &f.password)
    })
    .await
}

/// `POST /admin/accounts/{name}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(name): PagePath,
) -> Result<Response, PageError> {
    if name.trim().eq_ignore_ascii_case(&principal.name) {
        let page = page(
            &state,
            &principal,
            "You cannot disable your own account.".to_owned(),
            true,
            None,
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    tracing::info!(by = %principal.name, %name, "disabling account");
    change(&state, &principal, "disabled", move |auth| {
        auth.set_disabled(&name, true)
    })
    .await
}

/// `POST /admin/accounts/{name}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(name): PagePath,
) -> Result<Response, PageError> {
    tracing::info!(by = %principal.name, %name, "enabling account");
    change(&state, &principal, "enabled", move |auth| {
        auth.set_disabled(&name, false)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewToken {
    account: String,
    label: String,
}

/// `POST /admin/tokens`: the secret is shown on this response only (it is never stored).
pub async fn create_token(
    State(state): State<AppState>,
    Acting(principal): Acting,
    form: Result<Form<NewToken>, FormRejection>,
) -> Result<Response, PageError> {
    let f = read_form(form)?;
    tracing::info!(by = %principal.name, account = %f.account, "creating API token");
    let auth = state.auth.clone();
    let created = tokio::task::spawn_blocking(move || auth.create_token(&f.account, &f.label))
        .await
        .map_err(|e| PageError::internal("token task failed", &e))?;
    match created {
        Ok((id, secret)) => Ok(page(
            &state,
            &principal,
            String::new(),
            false,
            Some((id.to_string(), secret)),
        )
        .into_response()),
        Err(AuthError::Store(e)) => Err(PageError::internal("token creation failed", &e)),
        Err(refused) => {
            let page = page(&state, &principal, refused.to_string(), true, None);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `POST /admin/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    Acting(principal): Acting,
    PagePath(id): PagePath,
) -> Result<Response, PageError> {
    tracing::info!(by = %principal.name, token = %id, "revoking API token");
    change(&state, &principal, "revoked", move |auth| {
        auth.revoke_token(&id)
    })
    .await
}

/// `POST /admin/projections/rebuild`: rebuild in the background, swap in when done.
pub async fn rebuild(State(state): State<AppState>, Acting(principal): Acting) -> Redirect {
    tracing::info!(by = %principal.name, "projection rebuild requested");
    let started = state.read.rebuild_in_background(state.history.clone());
    Redirect::to(if started {
        "/admin?done=rebuilding#projections"
    } else {
        "/admin?done=busy#projections"
    })
}

/// `POST /admin/projections/check`: the shadow check, in the background.
pub async fn check(State(state): State<AppState>, Acting(principal): Acting) -> Redirect {
    tracing::info!(by = %principal.name, "projection shadow check requested");
    let started = state.read.check_in_background(state.history.clone());
    Redirect::to(if started {
        "/admin?done=checking#projections"
    } else {
        "/admin?done=busy#projections"
    })
}
