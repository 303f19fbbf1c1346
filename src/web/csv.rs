//! CSV downloads of table views: RFC 4180 quoting, and spreadsheet formulas neutralised (a cell
//! starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`, as OWASP
//! advises), streamed row by row so large results never sit in memory whole.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util_stream::iter_rows;

/// One CSV cell, quoted when needed and defused when a spreadsheet would run it.
#[must_use]
pub fn cell(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r'])
        || defused.starts_with(' ')
        || defused.ends_with(' ')
    {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// One CSV line (with CRLF, as RFC 4180 says).
#[must_use]
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = cells
        .iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// A CSV download named `filename`: the header row, then each row as it is produced.
pub fn download<I>(filename: &str, header_row: &[&str], rows: I) -> Response
where
    I: Iterator<Item = Vec<String>> + Send + Unpin + 'static,
{
    let first = line(header_row);
    let body = Body::from_stream(iter_rows(first, rows.map(|row| line(&row))));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!(
        "attachment; filename=\"{}\"",
        filename.replace(['"', '\\', '\r', '\n'], "")
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A tiny stream over already-computed lines, without pulling in a stream crate.
mod futures_util_stream {
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use axum::body::Bytes;

    pub struct Rows<I> {
        first: Option<String>,
        rest: I,
    }

    pub fn iter_rows<I: Iterator<Item = String>>(first: String, rest: I) -> Rows<I> {
        Rows {
            first: Some(first),
            rest,
        }
    }

    impl<I: Iterator<Item = String> + Unpin> futures_core::Stream for Rows<I> {
        type Item = Result<Bytes, Infallible>;

        fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let next = self.first.take().or_else(|| self.rest.next());
            Poll::Ready(next.map(|s| Ok(Bytes::from(s))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=SUM(A1:A9)"), "'=SUM(A1:A9)");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@cmd"), "'@cmd");
        assert_eq!(cell("=1,2"), "\"'=1,2\"");
        assert_eq!(line(&["a", "b,c"]), "a,\"b,c\"\r\n");
    }
}
