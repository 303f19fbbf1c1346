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
use super::views::Nav;
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

/// The longest `next` reflected into a redirect or a form; a longer one becomes `/`.
pub const MAX_NEXT: usize = 2048;

/// Only a path on this site may be a redirect target: never another site, never a header value
/// that cannot be sent. Anything else is `/`.
pub fn safe_next(next: &str) -> &str {
    if is_local_path(next) { next } else { "/" }
}

/// Whether `next` is a same-origin path: visible ASCII only (browsers drop tabs and newlines,
/// so `/\t/evil.example` reads as `//evil.example`; control characters cannot go in a header),
/// no backslash (read as `/`), one leading slash (two make a network-path reference), no `.`
/// or `..` segment (`/.//evil` normalises to `//evil`), the same for the path once
/// percent-decoded, and a URI with neither scheme nor authority.
fn is_local_path(next: &str) -> bool {
    let shaped = next.len() <= MAX_NEXT
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && next.starts_with('/')
        && !next.starts_with("//");
    if !shaped {
        return false;
    }
    // The path, once decoded (the query may hold anything a form field may).
    let path: Vec<u8> =
        percent_encoding::percent_decode_str(next.split(['?', '#']).next().unwrap_or_default())
            .collect();
    let decoded_ok = path.iter().all(|b| b.is_ascii_graphic() || *b >= 0x80)
        && !path.contains(&b'\\')
        && !path.starts_with(b"//")
        && !path.split(|b| *b == b'/').any(|s| s == b"." || s == b"..");
    decoded_ok
        && next
            .parse::<axum::http::Uri>()
            .is_ok_and(|uri| uri.scheme().is_none() && uri.authority().is_none())
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
pub async fn form(PageQuery(q): PageQuery<LoginQuery>) -> LoginPage {
    LoginPage {
        nav: Nav::anonymous(),
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
        nav: Nav::anonymous(),
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

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        for ok in [
            "/",
            "/cohorts/x?as_of=3",
            "/learners?q=a%40b.org&page=2",
            "/search?q=a%20b%09c",
            "/cohorts/018f?next=//not-a-target-here",
            "/events?since=2026-03-01T09:00:00Z",
        ] {
            assert_eq!(safe_next(ok), ok);
        }
        for bad in [
            "",
            "//evil.example/",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/\r\nSet-Cookie: x=1",
            "/\0",
            "/\u{b}/evil",
            "/\u{c}/evil",
            "/\u{7f}",
            "/ /evil.example",
            "/%09/evil.example/",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%0d%0aSet-Cookie:%20x=1",
            "/.//evil.example",
            "/./",
            "/a/../../evil",
            "/%2e%2e/evil",
            "/caf\u{e9}",
            "/\u{202e}evil",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
        let long = format!("/{}", "a".repeat(super::MAX_NEXT));
        assert_eq!(safe_next(&long), "/");
        assert_eq!(
            safe_next(&long[..super::MAX_NEXT]),
            &long[..super::MAX_NEXT]
        );
    }
}
