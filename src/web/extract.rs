//! Extractors that turn axum's rejections into rollbook's errors: a JSON error for the API, an
//! error page for the HTML side. Never axum's plain-text defaults. Also the check that a form
//! body is UTF-8 text, which axum's `Form` (like `serde_urlencoded`) would otherwise decode
//! lossily, turning bad bytes into U+FFFD.

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request as HttpRequest};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use percent_encoding::percent_decode;
use serde::de::DeserializeOwned;

use super::error::{ApiError, PageError};

/// A JSON body whose rejections are API errors naming what is wrong.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: HttpRequest, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => ApiError {
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    code: "unsupported_media_type",
                    message: "send the body as JSON with Content-Type: application/json".to_owned(),
                },
                JsonRejection::JsonDataError(e) => {
                    ApiError::bad_request("invalid_field", e.body_text())
                }
                JsonRejection::JsonSyntaxError(e) => {
                    ApiError::bad_request("malformed_json", e.body_text())
                }
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError {
                        status: StatusCode::PAYLOAD_TOO_LARGE,
                        code: "payload_too_large",
                        message: format!(
                            "the body is larger than {} KiB",
                            super::BODY_LIMIT / 1024
                        ),
                    }
                }
                JsonRejection::BytesRejection(e) => ApiError {
                    status: e.status(),
                    code: "unreadable_body",
                    message: e.body_text(),
                },
                other => ApiError::bad_request("malformed_json", other.body_text()),
            }),
        }
    }
}

/// One path segment of an API route; an unreadable one is a JSON 400.
pub struct ApiPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ApiPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(segment)| Self(segment))
            .map_err(|e| ApiError::bad_request("invalid_path", e.body_text()))
    }
}

/// One path segment of a page route; an unreadable one is a 400 page.
pub struct PagePath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PagePath {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(segment)| Self(segment))
            .map_err(|e| {
                PageError::BadRequest(format!("the address could not be read: {}", e.body_text()))
            })
    }
}

/// Query parameters of an API route; unreadable ones are a JSON 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Self(q))
            .map_err(|e: QueryRejection| ApiError::bad_request("invalid_parameter", e.body_text()))
    }
}

/// Query parameters of a page; unreadable ones are a 400 page.
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Self(q))
            .map_err(|e: QueryRejection| {
                PageError::BadRequest(format!("the query could not be read: {}", e.body_text()))
            })
    }
}

/// The authenticated caller, put there by the access guard. A handler that takes it refuses
/// (403) any request the guard did not authenticate: it fails closed.
pub struct Acting(pub crate::auth::Principal);

impl<S: Send + Sync> FromRequestParts<S> for Acting {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<crate::auth::Principal>()
            .cloned()
            .map(Self)
            .ok_or(PageError::Forbidden)
    }
}

/// [`Acting`] for the API: refuses with a JSON 403.
pub struct ApiActing(pub crate::auth::Principal);

impl<S: Send + Sync> FromRequestParts<S> for ApiActing {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<crate::auth::Principal>()
            .cloned()
            .map(Self)
            .ok_or(ApiError {
                status: StatusCode::FORBIDDEN,
                code: "forbidden",
                message: "not authenticated for this route".to_owned(),
            })
    }
}

/// Refuses (400, naming the field) a form body (`application/x-www-form-urlencoded`) in which a
/// field's name or value, once percent-decoded, is not UTF-8; hands any other request on as is.
/// Runs before the handlers' `Form` extractors, which would replace bad bytes with U+FFFD and
/// let the command through. Reads the body within the same 64 KiB limit as the router. The API
/// takes only JSON (a form there is a 415), which `serde_json` already reads strictly.
pub async fn strict_form_bodies(request: HttpRequest, next: Next) -> Response {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form || request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let limit = super::body_limit(parts.uri.path());
    let Ok(bytes) = to_bytes(body, limit).await else {
        return PageError::TooLarge.into_response();
    };
    if let Err(field) = form_is_utf8(&bytes) {
        let message = format!("the form field {field:?} is not valid UTF-8 text");
        tracing::debug!(%message, "form refused");
        return PageError::BadRequest(message).into_response();
    }
    next.run(HttpRequest::from_parts(parts, Body::from(bytes)))
        .await
}

/// Checks every `name=value` pair of a form body; on a pair that is not UTF-8 once
/// percent-decoded, the field's name (lossily, if the name itself is the culprit).
fn form_is_utf8(body: &[u8]) -> Result<(), String> {
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        // `+` stands for a space, which changes nothing about UTF-8: only `%XX` escapes matter.
        let name = percent_decode(name);
        if name.clone().decode_utf8().is_err() || percent_decode(value).decode_utf8().is_err() {
            return Err(name.decode_utf8_lossy().into_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_checked_field_by_field_after_decoding() {
        assert_eq!(
            form_is_utf8(b"learner=ana%40x.org&name=Jos%C3%A9+M"),
            Ok(())
        );
        assert_eq!(form_is_utf8(b"a=%zz&b=%&c=100%25&&flag"), Ok(()));
        assert_eq!(
            form_is_utf8(b"csrf=t&learner=%FF"),
            Err("learner".to_owned())
        );
        assert_eq!(form_is_utf8(b"name=Jos%C3"), Err("name".to_owned()));
        assert_eq!(form_is_utf8(b"name=\xff"), Err("name".to_owned()));
        assert_eq!(form_is_utf8(b"n%FFme=x"), Err("n\u{fffd}me".to_owned()));
        // A `%` without two hex digits stands for itself, as browsers send it.
        assert_eq!(form_is_utf8(b"a=b%41%4"), Ok(()));
    }
}
