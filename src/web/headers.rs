//! Security headers sent with every response: a Content-Security-Policy that allows only our
//! own stylesheet (the UI has no script and no inline style), no MIME sniffing, no framing, and
//! no referrer sent to other sites. It sets headers and never touches a status or a body.

use axum::http::HeaderValue;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, HeaderName, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::Response;

/// The headers and their values. A page that needs an inline style or a script breaks this
/// policy: move the style into `static/style.css` rather than loosening it.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    ),
    (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
];

/// Adds the security headers to a response, replacing any value a handler set, so no route
/// can weaken them; only a stricter `Referrer-Policy: no-referrer` is kept (the offer link
/// pages, whose address holds a token). Use it as the outermost layer, so errors and
/// fallbacks get them too: `router.layer(axum::middleware::map_response(security_headers))`.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let no_referrer = headers
        .get(REFERRER_POLICY)
        .is_some_and(|v| v.as_bytes() == b"no-referrer");
    for (name, value) in SECURITY_HEADERS {
        if !(no_referrer && name == REFERRER_POLICY) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::middleware::map_response;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn every_header_is_set_and_overrides_a_handlers_value() {
        async fn framable() -> ([(HeaderName, &'static str); 1], &'static str) {
            ([(X_FRAME_OPTIONS, "ALLOWALL")], "hi")
        }
        let app = Router::new()
            .route("/", get(framable))
            .layer(map_response(security_headers));
        for path in ["/", "/missing"] {
            let response = app
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let headers = response.headers();
            assert_eq!(headers.get_all(X_FRAME_OPTIONS).iter().count(), 1);
            for (name, value) in SECURITY_HEADERS {
                assert_eq!(headers.get(&name), Some(&value), "{name} on {path}");
            }
        }
    }

    #[tokio::test]
    async fn only_a_stricter_referrer_policy_is_kept() {
        async fn strict() -> ([(HeaderName, &'static str); 1], &'static str) {
            ([(REFERRER_POLICY, "no-referrer")], "token page")
        }
        async fn loose() -> ([(HeaderName, &'static str); 1], &'static str) {
            ([(REFERRER_POLICY, "unsafe-url")], "leaky")
        }
        let app = Router::new()
            .route("/strict", get(strict))
            .route("/loose", get(loose))
            .layer(map_response(security_headers));
        for (path, expected) in [("/strict", "no-referrer"), ("/loose", "same-origin")] {
            let response = app
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.headers()[REFERRER_POLICY], expected, "{path}");
        }
    }
}
