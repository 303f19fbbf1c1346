//! Who may reach which route: one table declares every route's required role, and one guard
//! enforces it, deny by default. Pages authenticate by session cookie (with CSRF checks on
//! every state-changing form); the JSON API by `Authorization: Bearer` token; `/metrics` by
//! either, or by the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::error::{ApiError, PageError};
use super::route::{Access, Route, required};
use crate::auth::{Principal, Role, secret};
use crate::serve::LocalAddr;

use Access::Scrape;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "rollbook_session";

/// How cookies are set and which origin forms must come from, from `--public-url`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CookiePolicy {
    /// Mark cookies `Secure` (the public URL is https).
    pub secure: bool,
    /// The origin (`scheme://host[:port]`) forms must come from; without a public URL, the
    /// request's own `Host`.
    pub origin: Option<String>,
}

impl CookiePolicy {
    /// Reads `--public-url`.
    pub fn from_public_url(url: Option<&str>) -> anyhow::Result<Self> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Self::default());
        };
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(s, _)| *s == "http" || *s == "https")
            .ok_or_else(|| {
                anyhow::anyhow!("--public-url must start with http:// or https://, got {url:?}")
            })?;
        let host = rest.split('/').next().unwrap_or_default();
        anyhow::ensure!(!host.is_empty(), "--public-url has no host: {url:?}");
        Ok(Self {
            secure: scheme == "https",
            origin: Some(format!("{scheme}://{host}")),
        })
    }

    /// The `Set-Cookie` value that opens a session.
    #[must_use]
    pub fn session_cookie(&self, value: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}")
    }

    /// The `Set-Cookie` value that ends it.
    #[must_use]
    pub fn cleared_cookie(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    }
}

/// The session cookie's value, if the request has one.
#[must_use]
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// Refuses a state-changing request from another site: `Sec-Fetch-Site: cross-site`, or an
/// `Origin` that is not rollbook's own: scheme, host and port all compared (a missing port is
/// the scheme's default). Rollbook's own origin is `--public-url`'s, or without it plain
/// `http://` and the request's `Host` (behind a TLS proxy, set `--public-url`).
pub fn same_origin(headers: &HeaderMap, policy: &CookiePolicy) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Browsers send Origin on cross-origin posts; its absence is a same-site or non-browser
        // client, which the CSRF token still covers.
        return true;
    };
    // `null` (an opaque origin: a sandboxed frame, a redirect chain) never matches.
    let Some(origin) = origin.to_str().ok().and_then(Origin::parse) else {
        return false;
    };
    let expected = match &policy.origin {
        Some(expected) => Origin::parse(expected),
        None => headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(|host| Authority::parse(host, 80))
            .map(|authority| Origin {
                scheme: "http",
                authority,
            }),
    };
    expected.is_some_and(|expected| expected == origin)
}

/// A web origin, normalised for comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin {
    /// `http` or `https`.
    scheme: &'static str,
    authority: Authority,
}

impl Origin {
    /// Reads `scheme://host[:port]`, as an `Origin` header or `--public-url`'s origin has it;
    /// anything else (another scheme, a path, user info, `null`) is `None`.
    fn parse(raw: &str) -> Option<Self> {
        let (scheme, rest) = raw.split_once("://")?;
        let (scheme, default_port) = if scheme.eq_ignore_ascii_case("http") {
            ("http", 80)
        } else if scheme.eq_ignore_ascii_case("https") {
            ("https", 443)
        } else {
            return None;
        };
        if rest.contains(['/', '?', '#', '@']) {
            return None;
        }
        Some(Self {
            scheme,
            authority: Authority::parse(rest, default_port)?,
        })
    }
}

/// `host[:port]` normalised: the host in lower case without a trailing dot, an IP address in its
/// canonical form (IPv6 in brackets), the port explicit.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Authority {
    host: String,
    port: u16,
}

impl Authority {
    /// Reads `host[:port]` (a `Host` header, an origin's authority), with `default_port` when
    /// none is given. An empty host, an unbalanced bracket or a bad port is `None`.
    fn parse(raw: &str, default_port: u16) -> Option<Self> {
        let (host, port) = Self::split(raw)?;
        let port = match port {
            None => default_port,
            Some(port) => port.parse().ok()?,
        };
        Some(Self { host, port })
    }

    /// The normalised host and the port text, if any.
    fn split(raw: &str) -> Option<(String, Option<&str>)> {
        let raw = raw.trim();
        let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
            let (inside, after) = rest.split_once(']')?;
            let ip: std::net::Ipv6Addr = inside.parse().ok()?;
            let port = match after {
                "" => None,
                after => Some(after.strip_prefix(':')?),
            };
            return Some((format!("[{ip}]"), port));
        } else {
            match raw.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (raw, None),
            }
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        {
            return None;
        }
        let host = match host.parse::<std::net::Ipv4Addr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => host.to_ascii_lowercase(),
        };
        Some((host, port))
    }

    /// The authority of a socket address, as a `Host` header names it.
    fn of(addr: SocketAddr) -> Self {
        let host = match addr.ip().to_canonical() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        Self {
            host,
            port: addr.port(),
        }
    }
}

/// Which `Host` a request may name, against DNS rebinding: a page on a name the attacker owns,
/// re-pointed at rollbook's address, would otherwise reach it from a victim's browser with the
/// victim's network position. Accepted: `localhost`, `127.0.0.1` and `[::1]` with the listen
/// port; the address the connection reached (with the listen port); `--public-url`'s host and the
/// `--allowed-hosts` names (on any port unless one is given: a proxy may forward the public
/// port or none). An IP address as `Host` is never a rebinding (the browser's origin is then
/// that address); names are what must be declared.
#[derive(Clone, Debug)]
pub struct HostPolicy {
    /// Accept any host (`--allowed-hosts '*'`).
    any: bool,
    /// Host and port pairs accepted.
    exact: Vec<Authority>,
    /// Hosts accepted on any port.
    any_port: Vec<String>,
    /// The port the server listens on.
    port: u16,
    /// Listening on every address with no name configured (see [`HostPolicy::warning`]).
    addresses_only: bool,
}

impl HostPolicy {
    /// The policy of a server bound to `listen` (the bound address: its real port), with
    /// `--public-url` and `--allowed-hosts`. A malformed `--allowed-hosts` entry is an error.
    pub fn new(
        listen: SocketAddr,
        public_url: Option<&str>,
        allowed: &[String],
    ) -> anyhow::Result<Self> {
        let port = listen.port();
        let mut exact: Vec<Authority> = ["localhost", "127.0.0.1", "[::1]"]
            .into_iter()
            .map(|host| Authority {
                host: host.to_owned(),
                port,
            })
            .collect();
        if !listen.ip().is_unspecified() {
            exact.push(Authority::of(listen));
        }
        let mut any_port = Vec::new();
        if let Some(origin) = CookiePolicy::from_public_url(public_url)?.origin {
            let origin = Origin::parse(&origin)
                .ok_or_else(|| anyhow::anyhow!("--public-url has no usable host: {origin:?}"))?;
            any_port.push(origin.authority.host);
        }
        let mut any = false;
        for entry in allowed.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if entry == "*" {
                any = true;
                continue;
            }
            let (host, entry_port) = Authority::split(entry).ok_or_else(|| {
                anyhow::anyhow!(
                    "--allowed-hosts: {entry:?} is not a host name or address (with an optional \
                     :port)"
                )
            })?;
            match entry_port {
                None => any_port.push(host),
                Some(p) => exact.push(Authority {
                    host,
                    port: p.parse().map_err(|_| {
                        anyhow::anyhow!("--allowed-hosts: {entry:?} has a bad port")
                    })?,
                }),
            }
        }
        let addresses_only = listen.ip().is_unspecified() && !any && any_port.is_empty();
        Ok(Self {
            any,
            exact,
            any_port,
            port,
            addresses_only,
        })
    }

    /// Whether a request naming `host` (a `Host` header), arriving on a connection to `local`,
    /// is for this server.
    #[must_use]
    pub fn allows(&self, host: &str, local: Option<SocketAddr>) -> bool {
        if self.any {
            return true;
        }
        let Some(authority) = Authority::parse(host, 80) else {
            return false;
        };
        self.exact.contains(&authority)
            || self.any_port.contains(&authority.host)
            || local.is_some_and(|local| {
                authority.port == self.port && Authority::of(local) == authority
            })
    }

    /// What to warn about at startup: listening on every address with no name declared, only
    /// addresses and `localhost` reach rollbook.
    #[must_use]
    pub fn warning(&self) -> Option<&'static str> {
        self.addresses_only.then_some(
            "listening on every address with neither --public-url nor --allowed-hosts: requests \
             must name this machine by an IP address or localhost; to reach rollbook by a host \
             name, list it in --allowed-hosts",
        )
    }
}

/// Refuses (421 Misdirected Request) a request whose `Host` this server does not answer to,
/// before any route sees it; see [`HostPolicy`].
pub async fn check_host(
    State(policy): State<std::sync::Arc<HostPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let local = request
        .extensions()
        .get::<LocalAddr>()
        .map(|LocalAddr(addr)| *addr);
    // An absolute-form request target carries the authority the client means; else `Host`.
    let host = match request.uri().authority() {
        Some(authority) => Some(authority.as_str()),
        None => request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok()),
    };
    if host.is_some_and(|host| policy.allows(host, local)) {
        return next.run(request).await;
    }
    tracing::info!(
        host = host.unwrap_or_default(),
        "request for another host refused"
    );
    let message = format!(
        "this server does not answer to the host {:?}; an operator can add it with \
         --allowed-hosts",
        host.unwrap_or_default()
    );
    if is_api(request.uri().path()) {
        ApiError {
            status: StatusCode::MISDIRECTED_REQUEST,
            code: "unknown_host",
            message,
        }
        .into_response()
    } else {
        (StatusCode::MISDIRECTED_REQUEST, message).into_response()
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

fn unauthorized() -> Response {
    let mut response = ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthorized",
        message:
            "send a valid API token: Authorization: Bearer <token> (see `rollbook token create`)"
                .to_owned(),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn forbidden_api(role: Role) -> Response {
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: "forbidden",
        message: format!("this needs the {role} role"),
    }
    .into_response()
}

/// The guard every request passes: looks up the route's access, authenticates, checks the role,
/// and for state-changing page requests checks the origin and the form's CSRF token. The
/// principal is handed to the handler as a request extension.
pub async fn guard(
    state: AppState,
    routes: &'static [Route],
    request: Request,
    next: Next,
) -> Response {
    let Some(path) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
    else {
        // No route matched: the fallback answers 404 or 405 without revealing anything (to a
        // signed-in person, with their navigation).
        let viewer = session_cookie(request.headers())
            .and_then(|c| state.auth.authenticate_session(c))
            .map(|(principal, _)| principal);
        let mut response = next.run(request).await;
        if let Some(principal) = viewer {
            super::error::shown_to(&mut response, &principal);
        }
        return response;
    };
    let method = request.method().clone();
    let Some(access) = required(routes, &method, &path) else {
        if routes.iter().any(|r| r.path == path) {
            // A declared path asked with an undeclared method: 405, and the handler (if the
            // router had one) is never reached.
            return if is_api(&path) {
                ApiError {
                    status: StatusCode::METHOD_NOT_ALLOWED,
                    code: "method_not_allowed",
                    message: format!("{method} is not allowed on this route; see API.md"),
                }
                .into_response()
            } else {
                PageError::MethodNotAllowed(format!(
                    "{method} is not allowed on {}",
                    request.uri().path()
                ))
                .into_response()
            };
        }
        tracing::error!(%method, %path, "route has no declared access; refused");
        return if is_api(&path) {
            forbidden_api(Role::Admin)
        } else {
            PageError::Forbidden.into_response()
        };
    };
    if access == Scrape {
        return scrape(&state, request, next).await;
    }
    let Access::Role(role) = access else {
        return next.run(request).await;
    };
    if is_api(&path) {
        let principal = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .and_then(|token| state.auth.authenticate_token(token));
        let Some(principal) = principal else {
            return unauthorized();
        };
        if !principal.role.allows(role) {
            return forbidden_api(role);
        }
        return run_as(principal, request, next).await;
    }

    let found = session_cookie(request.headers()).and_then(|c| state.auth.authenticate_session(c));
    let Some((principal, touch_due)) = found else {
        let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
        // Only a path that may be a redirect target, and not too long, is reflected.
        let next_param = if method == Method::GET {
            super::redirect::safe_next(target)
        } else {
            "/"
        };
        let query = serde_urlencoded::to_string([("next", next_param)]).unwrap_or_default();
        return Redirect::to(&format!("/login?{query}")).into_response();
    };
    if touch_due {
        if let Some(session) = &principal.session {
            // Queued to the session write-back thread: no store write here.
            state.auth.persist_session(session.key);
        }
    }
    if !principal.role.allows(role) {
        let mut response = PageError::Forbidden.into_response();
        super::error::shown_to(&mut response, &principal);
        return response;
    }
    if method == Method::GET || method == Method::HEAD {
        return run_page_as(principal, request, next).await;
    }
    match check_csrf(&state, &principal, request).await {
        Ok(request) => run_page_as(principal, request, next).await,
        Err(mut response) => {
            super::error::shown_to(&mut response, &principal);
            response
        }
    }
}

/// Admits a client from an allowed address as is, and otherwise an admin by bearer token (when
/// the request sends one) or by session.
async fn scrape(state: &AppState, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if peer.is_some_and(|ip| state.metrics_allow.allows(ip)) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let principal = match headers.get(header::AUTHORIZATION) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .and_then(|token| state.auth.authenticate_token(token)),
        None => session_cookie(headers)
            .and_then(|c| state.auth.authenticate_session(c))
            .map(|(principal, _)| principal),
    };
    let Some(principal) = principal else {
        return unauthorized();
    };
    if !principal.role.allows(Role::Admin) {
        return forbidden_api(Role::Admin);
    }
    run_as(principal, request, next).await
}

/// [`run_as`] for a page: an error page it answers keeps the principal's navigation.
async fn run_page_as(principal: Principal, mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(principal.clone());
    let mut response = next.run(request).await;
    super::error::shown_to(&mut response, &principal);
    response
}

async fn run_as(principal: Principal, mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Checks a state-changing page request: same origin, and the form's `csrf` field equal to the
/// session's token. Reads the (bounded) body to do so, and hands the request on with it.
async fn check_csrf(
    state: &AppState,
    principal: &Principal,
    request: Request,
) -> Result<Request, Response> {
    if !same_origin(request.headers(), &state.cookies) {
        tracing::warn!(account = %principal.name, "cross-site form post refused");
        return Err(PageError::Forbidden.into_response());
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, super::body_limit(parts.uri.path()))
        .await
        .map_err(|_| PageError::TooLarge.into_response())?;
    let sent = form_urlencoded_field(&bytes, "csrf");
    let expected = principal
        .session
        .as_ref()
        .map(|s| s.csrf.as_str())
        .unwrap_or_default();
    if expected.is_empty()
        || !sent
            .as_deref()
            .is_some_and(|s| secret::constant_time_eq(s.as_bytes(), expected.as_bytes()))
    {
        tracing::warn!(account = %principal.name, "form post without a valid CSRF token refused");
        return Err(PageError::Forbidden.into_response());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A route the table does not declare is refused, whoever asks: deny by default.
    #[tokio::test]
    async fn an_undeclared_route_is_refused_even_to_an_admin() {
        use std::sync::Arc;

        use axum::Router;
        use axum::routing::get;
        use tower::ServiceExt as _;

        use crate::auth::{Auth, Passwords};
        use crate::clock::SystemClock;
        use crate::projections::ReadModel;
        use crate::store::{Store, StoreOptions};
        use crate::writer::{self, WriterOptions};

        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&dir.path().join("t.redb"), &StoreOptions::default()).unwrap());
        let read = Arc::new(ReadModel::default());
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(SystemClock);
        let (writer, _thread) = writer::spawn(
            store.clone(),
            read.clone(),
            clock.clone(),
            WriterOptions::default(),
        )
        .unwrap();
        let auth = Auth::load(
            store.clone(),
            Passwords::cheap_for_tests(),
            clock.clone(),
            jiff::SignedDuration::from_hours(1),
        )
        .unwrap();
        auth.create_account("root", Role::Admin, "a long enough password")
            .unwrap();
        let (_, token) = auth.create_token("root", "").unwrap();
        let webhooks = crate::webhooks::Webhooks::load(
            store.clone(),
            crate::store::History::new(store.clone()),
            read.clone(),
            clock.clone(),
            crate::webhooks::WebhookOptions::default(),
            crate::web::feed_event_json,
        )
        .unwrap();
        let offer_links = crate::offer_links::OfferLinks::load(store.clone(), None).unwrap();
        let state = AppState {
            offer_links,
            webhooks: Arc::new(webhooks),
            history: crate::store::History::new(store),
            read,
            writer,
            clock,
            auth: Arc::new(auth),
            cookies: CookiePolicy::default(),
            last_backup: Arc::default(),
            metrics: Arc::new(crate::metrics::Metrics::new(
                crate::writer::CommandKind::LABELS,
            )),
            metrics_allow: crate::web::AllowList::default(),
            zone: crate::web::Zone::default(),
            live: Arc::default(),
            mail: None,
        };
        let app: Router = Router::new()
            .route("/api/v1/undeclared", get(|| async { "secret" }))
            .route("/api/v1/events", get(|| async { "declared" }))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                |State(state): State<AppState>, request: Request, next: Next| {
                    guard(state, crate::web::ROUTES, request, next)
                },
            ))
            .with_state(state);
        let ask = |path: &str| {
            axum::http::Request::get(path)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap()
        };
        let refused = app
            .clone()
            .oneshot(ask("/api/v1/undeclared"))
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let admitted = app.oneshot(ask("/api/v1/events")).await.unwrap();
        assert_eq!(admitted.status(), StatusCode::OK);
    }

    #[test]
    fn routes_are_declared_once() {
        let mut seen = std::collections::HashSet::new();
        for Route { method, path, .. } in crate::web::ROUTES {
            assert!(
                seen.insert((method.clone(), *path)),
                "{method} {path} declared twice"
            );
        }
    }

    #[test]
    fn the_public_url_sets_secure_cookies_and_the_origin() {
        let policy =
            CookiePolicy::from_public_url(Some("https://rollbook.example.org/app")).unwrap();
        assert!(policy.secure);
        assert_eq!(
            policy.origin.as_deref(),
            Some("https://rollbook.example.org")
        );
        assert!(policy.session_cookie("x").contains("; Secure"));
        let plain = CookiePolicy::from_public_url(None).unwrap();
        assert!(!plain.session_cookie("x").contains("Secure"));
        assert!(CookiePolicy::from_public_url(Some("ftp://x")).is_err());
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        let policy = CookiePolicy::default();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h, &policy));
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h, &policy));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h, &policy));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&h, &policy));
    }

    #[test]
    fn origins_match_by_scheme_host_and_port() {
        let check = |policy: &CookiePolicy, host: &str, origin: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, host.parse().unwrap());
            h.insert(header::ORIGIN, origin.parse().unwrap());
            same_origin(&h, policy)
        };
        let plain = CookiePolicy::default();
        assert!(check(&plain, "127.0.0.1:8080", "http://127.0.0.1:8080"));
        assert!(check(&plain, "Rollbook.LAN", "http://rollbook.lan:80"));
        assert!(check(&plain, "[::1]:8080", "http://[0:0::1]:8080"));
        assert!(!check(&plain, "127.0.0.1:8080", "https://127.0.0.1:8080"));
        assert!(!check(&plain, "127.0.0.1:8080", "http://127.0.0.1:8081"));
        assert!(!check(&plain, "127.0.0.1:8080", "http://127.0.0.1"));
        assert!(!check(&plain, "127.0.0.1:8080", "null"));
        assert!(!check(&plain, "127.0.0.1:8080", "http://x@127.0.0.1:8080"));

        let public = CookiePolicy::from_public_url(Some("https://rollbook.example.org")).unwrap();
        for same in [
            "https://rollbook.example.org",
            "HTTPS://Rollbook.Example.org:443",
        ] {
            assert!(check(&public, "127.0.0.1:8080", same), "{same}");
        }
        for other in [
            "http://rollbook.example.org",
            "https://rollbook.example.org:8443",
            "https://rollbook.example.org.evil.example",
            "http://127.0.0.1:8080",
        ] {
            assert!(!check(&public, "127.0.0.1:8080", other), "{other}");
        }
    }

    #[test]
    fn hosts_are_the_loopback_names_the_local_address_and_the_declared_ones() {
        let bound: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let policy = HostPolicy::new(bound, None, &[]).unwrap();
        assert!(policy.warning().is_none());
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "[::1]:8080",
            "LOCALHOST.:8080",
        ] {
            assert!(policy.allows(host, Some(bound)), "{host}");
        }
        for host in [
            "localhost",
            "127.0.0.1:8081",
            "evil.example:8080",
            "localhost.evil.example:8080",
            "localhost:8080:8080",
            "[::1",
            "",
        ] {
            assert!(!policy.allows(host, Some(bound)), "{host}");
        }

        // On every address: the address a client reached is its host, with the port; a name
        // needs declaring, and the server says so at startup.
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let policy = HostPolicy::new(any, None, &[]).unwrap();
        assert!(policy.warning().is_some());
        let lan: SocketAddr = "10.1.2.3:8080".parse().unwrap();
        assert!(policy.allows("10.1.2.3:8080", Some(lan)));
        assert!(!policy.allows("10.1.2.4:8080", Some(lan)));
        assert!(!policy.allows("10.1.2.3:9090", Some(lan)));
        assert!(!policy.allows("0.0.0.0:8080", Some(lan)));
        assert!(!policy.allows("rollbook.lan:8080", Some(lan)));
        let declared = HostPolicy::new(any, None, &["rollbook.lan".to_owned()]).unwrap();
        assert!(declared.warning().is_none());
        assert!(declared.allows("rollbook.lan:8080", Some(lan)));
        let open = HostPolicy::new(any, None, &["*".to_owned()]).unwrap();
        assert!(open.allows("anything.example", Some(lan)));

        assert!(HostPolicy::new(bound, None, &["http://x".to_owned()]).is_err());
        assert!(HostPolicy::new(bound, None, &["x:port".to_owned()]).is_err());
    }
}
