//! Extractors that turn axum's rejections into rollbook's errors: a JSON error for the API, an
//! error page for the HTML side. Never axum's plain-text defaults.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request as HttpRequest};
use axum::http::StatusCode;
use axum::http::request::Parts;
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
