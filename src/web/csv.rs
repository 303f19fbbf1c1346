//! CSV downloads of table views: the `csv` crate's RFC 4180 quoting and CRLF line ends,
//! spreadsheet formulas neutralised (a cell starting with `=`, `+`, `-`, `@`, tab or carriage
//! return is prefixed with `'`, as OWASP advises), streamed row by row so large results never
//! sit in memory whole.

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// A CSV download named `filename`: the header row, then each row as it is produced.
pub fn download<I>(filename: &str, header_row: &[&str], rows: I) -> Response
where
    I: Iterator<Item = Vec<String>> + Send + Unpin + 'static,
{
    let mut writer = RowWriter::new();
    let first = writer.row(header_row);
    let body = Body::from_stream(Rows {
        first: Some(first),
        rest: rows,
        writer,
    });
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

/// A cell a spreadsheet would run as a formula, prefixed with `'` so it shows as text.
fn defuse(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// Writes rows one at a time, each taken out as the bytes of one line.
struct RowWriter {
    csv: csv::Writer<Line>,
    line: Line,
}

impl RowWriter {
    fn new() -> Self {
        let line = Line::default();
        let csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            // Every row has the header's cells; a short one is written as it is, not refused
            // half-way through a download.
            .flexible(true)
            .from_writer(line.clone());
        Self { csv, line }
    }

    /// One row, quoted where needed and defused, with its CRLF. Written into memory with
    /// `flexible` on, it does not fail in practice; if it did, the download would end there.
    fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<Bytes, csv::Error> {
        for cell in cells {
            self.csv.write_field(defuse(cell.as_ref()).as_bytes())?;
        }
        self.csv.write_record(None::<&[u8]>)?;
        self.csv.flush()?;
        Ok(Bytes::from(std::mem::take(
            &mut *self.line.0.lock().unwrap_or_else(PoisonError::into_inner),
        )))
    }
}

/// Where the CSV writer puts a line, shared with the [`RowWriter`] that takes it out (the
/// writer owns its output and only lends it for reading).
#[derive(Clone, Default)]
struct Line(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The body's stream: the header line, then one line per row, each written when polled.
struct Rows<I> {
    first: Option<Result<Bytes, csv::Error>>,
    rest: I,
    writer: RowWriter,
}

impl<I: Iterator<Item = Vec<String>> + Unpin> futures_core::Stream for Rows<I> {
    type Item = Result<Bytes, csv::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let next = this
            .first
            .take()
            .or_else(|| this.rest.next().map(|row| this.writer.row(&row)));
        Poll::Ready(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<S: AsRef<str>>(cells: &[S]) -> String {
        String::from_utf8(RowWriter::new().row(cells).unwrap().to_vec()).unwrap()
    }

    fn cell(value: &str) -> String {
        line(&[value]).strip_suffix("\r\n").unwrap().to_owned()
    }

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

    #[test]
    fn one_writer_writes_each_row_on_its_own() {
        let mut writer = RowWriter::new();
        let mut row = |cells: &[&str]| writer.row(cells).unwrap();
        assert_eq!(&row(&["id", "name"])[..], b"id,name\r\n");
        assert_eq!(&row(&["1", "a\rb"])[..], b"1,\"a\rb\"\r\n");
        assert_eq!(&row(&["2", "\tx"])[..], b"2,'\tx\r\n");
    }
}
