//! Where a redirect may go: only a path on this site (the login form's `next`, the access
//! check's sign-in redirect).

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
