//! The public parsers of staff input: learner keys, points in history (`as_of`) and times.
//! Besides never panicking, each must be stable: what it produces parses again to itself.

use jiff::Timestamp;
use rollbook::learner_key::LearnerKey;
use rollbook::projections::AsOf;

/// Parses `data` (as text) every way staff input is parsed outside the web forms.
pub fn parsers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = LearnerKey::parse(&text) {
        // A normalised key is a valid key, and normalising it again changes nothing.
        assert_eq!(
            LearnerKey::parse(key.as_str()).as_ref(),
            Ok(&key),
            "normalised key {:?} of {text:?} does not parse to itself",
            key.as_str()
        );
    }
    if let Ok(as_of) = text.parse::<AsOf>() {
        let shown = match as_of {
            AsOf::Position(p) => p.to_string(),
            AsOf::Time(t) => t.to_string(),
        };
        assert_eq!(
            shown.parse::<AsOf>(),
            Ok(as_of),
            "as_of {text:?} shown as {shown:?}"
        );
    }
    if let Ok(t) = text.trim().parse::<Timestamp>() {
        assert_eq!(t.to_string().parse::<Timestamp>().ok(), Some(t));
    }
}
