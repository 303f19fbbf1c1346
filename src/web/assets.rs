//! Static assets, embedded in the binary at compile time: nothing is fetched from outside.

use super::extract::PagePath;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::PageError;

const STYLE_CSS: &str = include_str!("../../static/style.css");

/// `GET /static/{file}`.
pub async fn serve(PagePath(file): PagePath) -> Result<Response, PageError> {
    match file.as_str() {
        "style.css" => Ok((
            [
                (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            STYLE_CSS,
        )
            .into_response()),
        _ => Err(PageError::NotFound("no such file".to_owned())),
    }
}
