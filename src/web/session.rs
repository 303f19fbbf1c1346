//! Logging in and out: the login form, password check (on the blocking pool, throttled), the
//! session cookie, and ending the session server-side.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::access::{same_origin, session_cookie};
use super::error::PageError;
use super::extract::{Acting, PageQuery};
use super::nav::Nav;
use super::redirect::safe_next;
use crate::auth::LoginError;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    nav: Nav,
    error: String,
    name: String,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: String,
}

/// A typed name as logged: at most 64 bytes of it (longer ones are never account names).
fn logged(name: &str) -> &str {
    let name = name.trim();
    let mut end = name.len().min(64);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// `GET /login`.
pub async fn form(State(state): State<AppState>, PageQuery(q): PageQuery<LoginQuery>) -> LoginPage {
    LoginPage {
        nav: Nav::anonymous(&state.zone),
        error: String::new(),
        name: String::new(),
        next: safe_next(&q.next).to_owned(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    name: String,
    password: String,
    next: String,
}

/// `POST /login`: a new session (a fresh id: never one the client brought) and a redirect.
pub async fn login(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    if !same_origin(&headers, &state.cookies) {
        return Err(PageError::Forbidden);
    }
    let Form(f) = form.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let address = connect.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(a))| a.ip(),
    );
    let previous = session_cookie(&headers).map(str::to_owned);
    let auth = state.auth.clone();
    let (name, password) = (f.name.clone(), f.password);
    let outcome = tokio::task::spawn_blocking(move || {
        auth.login(&name, &password, address, previous.as_deref())
    })
    .await
    .map_err(|e| PageError::internal("login task failed", &e))?;
    let refused = |error: String| LoginPage {
        nav: Nav::anonymous(&state.zone),
        error,
        name: f.name.clone(),
        next: safe_next(&f.next).to_owned(),
    };
    match outcome {
        Ok((cookie, principal)) => {
            tracing::info!(account = %principal.name, %address, "logged in");
            let mut response = Redirect::to(safe_next(&f.next)).into_response();
            let value = HeaderValue::from_str(&state.cookies.session_cookie(&cookie))
                .map_err(|e| PageError::internal("session cookie", &e))?;
            response.headers_mut().insert(header::SET_COOKIE, value);
            Ok(response)
        }
        Err(LoginError::Invalid) => {
            tracing::warn!(name = %logged(&f.name), %address, "failed login");
            Ok((
                StatusCode::UNAUTHORIZED,
                refused(LoginError::Invalid.to_string()),
            )
                .into_response())
        }
        Err(e @ LoginError::Busy(_)) => {
            tracing::warn!(name = %logged(&f.name), %address, "login refused: too many password checks at once");
            let page = refused(e.to_string());
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, page).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
            Ok(response)
        }
        Err(LoginError::Throttled(wait)) => {
            tracing::warn!(name = %logged(&f.name), %address, "login throttled");
            let seconds = wait.as_secs().max(1);
            let page = refused(LoginError::Throttled(wait).to_string());
            let mut response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            Ok(response)
        }
        Err(e @ LoginError::Store(_)) => Err(PageError::internal("login failed", &e)),
    }
}

/// `POST /logout`: ends the session on the server and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    Acting(principal): Acting,
) -> Result<Response, PageError> {
    if let Some(session) = principal.session {
        let auth = state.auth.clone();
        tokio::task::spawn_blocking(move || auth.logout(session.key))
            .await
            .map_err(|e| PageError::internal("logout task failed", &e))?
            .map_err(|e| PageError::internal("logout failed", &e))?;
    }
    let mut response = Redirect::to("/login").into_response();
    let value = HeaderValue::from_str(&state.cookies.cleared_cookie())
        .map_err(|e| PageError::internal("cookie", &e))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}
