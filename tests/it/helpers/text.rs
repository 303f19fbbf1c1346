//! Page text: fetching a page as text with askama's character references respelled, and cutting
//! a piece of HTML out of it.

use super::TestApp;

/// Status and body text of a response. Askama writes character references in numeric form
/// (`&#60;`); they are respelled with their usual names (`&lt;`) so assertions read naturally.
/// Only the spelling of references changes: nothing is decoded, so a raw `<` in a body is
/// still a raw `<`.
pub async fn text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body = response.text().await.expect("body text");
    (status, named_references(&body))
}

/// `html` with the numeric references of `<`, `>`, `"` and `&` respelled by name.
pub fn named_references(html: &str) -> String {
    html.replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#34;", "&quot;")
        .replace("&#38;", "&amp;")
}

/// Status and body of a GET (see [`text`]).
pub async fn page(app: &TestApp, path: &str) -> (u16, String) {
    text(app.get(path).await).await
}

/// The HTML from `start` up to (not including) the next `end`.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in page:\n{html}"));
    let rest = &html[from..];
    let to = rest[start.len()..]
        .find(end)
        .map_or(rest.len(), |i| i + start.len());
    &rest[..to]
}
