//! Learner keys: what staff type to name a learner (an email or a student number), checked and
//! normalised once at the edge. Two keys that look the same are the same key or one is refused:
//! keys are NFC-normalised (a precomposed `é` and `e` + U+0301 are one learner), and invisible
//! characters (zero-width, bidi controls and the other default-ignorable code points) are
//! refused rather than stripped, so `base1\u{200b}@x.org` can never pass for `base1@x.org`.

use std::fmt;

use unicode_normalization::UnicodeNormalization as _;

/// A normalised learner key: trimmed, NFC, lower-case, 1–200 visible characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LearnerKey(String);

/// Why a text is not a learner key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LearnerKeyError {
    /// Nothing but white space.
    #[error("learner is required (an email or a student number)")]
    Empty,
    /// Longer than [`LearnerKey::MAX_LEN`] characters.
    #[error("learner key is longer than {} characters", LearnerKey::MAX_LEN)]
    TooLong,
    /// Contains white space or control characters inside.
    #[error("learner key must not contain spaces or control characters")]
    BadCharacter,
    /// Contains an invisible character (zero-width, a bidi control, a soft hyphen…) that would
    /// make it look like another key.
    #[error(
        "learner key must not contain invisible characters (zero-width or text-direction \
         controls, found U+{0:04X})"
    )]
    Invisible(u32),
}

impl LearnerKey {
    /// The longest key accepted, in characters.
    pub const MAX_LEN: usize = 200;

    /// Checks and normalises what staff typed.
    pub fn parse(raw: &str) -> Result<Self, LearnerKeyError> {
        let raw = raw.trim();
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(LearnerKeyError::BadCharacter);
        }
        if let Some(c) = raw.chars().find(|&c| is_invisible(c)) {
            return Err(LearnerKeyError::Invisible(u32::from(c)));
        }
        // Lower-cased and normalised before the limits: some letters become two characters
        // (İ → i̇), and the limits hold for the key as stored. NFC before and after lower-casing,
        // so canonically equivalent spellings meet whichever way they were typed.
        let key: String = raw.nfc().collect::<String>().to_lowercase().nfc().collect();
        if key.is_empty() {
            return Err(LearnerKeyError::Empty);
        }
        if key.chars().count() > Self::MAX_LEN {
            return Err(LearnerKeyError::TooLong);
        }
        Ok(Self(key))
    }

    /// The normalised key.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters that show nothing (or only change how neighbours show) and so let two different
/// keys look alike: Unicode's default-ignorable code points (zero-width space and joiners, word
/// joiner, BOM, soft hyphen, bidi marks, embeddings, overrides and isolates, invisible
/// operators, variation selectors, tags, Hangul fillers, interlinear annotation marks…).
#[must_use]
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

impl fmt::Display for LearnerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_trimmed_and_lower_cased() {
        assert_eq!(
            LearnerKey::parse("  Ana@Example.ORG ").unwrap().as_str(),
            "ana@example.org"
        );
    }

    #[test]
    fn empty_long_and_spaced_keys_are_refused() {
        assert_eq!(LearnerKey::parse("   "), Err(LearnerKeyError::Empty));
        assert_eq!(
            LearnerKey::parse(&"a".repeat(201)),
            Err(LearnerKeyError::TooLong)
        );
        assert_eq!(
            LearnerKey::parse("ana maria"),
            Err(LearnerKeyError::BadCharacter)
        );
        assert!(LearnerKey::parse(&"a".repeat(200)).is_ok());
        // Found by fuzzing: İ lower-cases to two characters, so this key is 201 long as stored.
        let grows = format!("İ{}", "a".repeat(199));
        assert_eq!(LearnerKey::parse(&grows), Err(LearnerKeyError::TooLong));
    }

    #[test]
    fn invisible_characters_are_refused_not_stripped() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200E}',
            '\u{200F}',
            '\u{061C}',
            '\u{FE0F}',
            '\u{E0041}',
        ] {
            assert_eq!(
                LearnerKey::parse(&format!("base1{c}@x.org")),
                Err(LearnerKeyError::Invisible(u32::from(c))),
                "U+{:04X}",
                u32::from(c)
            );
        }
        // Also at the ends, where trimming does not take them.
        assert!(LearnerKey::parse("\u{FEFF}base1@x.org").is_err());
        assert!(LearnerKey::parse("base1@x.org\u{200B}").is_err());
        // Visible non-ASCII keys stay welcome.
        assert!(LearnerKey::parse("zoë@example.org").is_ok());
        assert!(LearnerKey::parse("학생-2026").is_ok());
    }

    #[test]
    fn canonically_equivalent_keys_are_one_key() {
        let composed = LearnerKey::parse("Jos\u{00C9}@x.org").unwrap();
        let decomposed = LearnerKey::parse("Jose\u{0301}@x.org").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(composed.as_str(), "jos\u{00E9}@x.org");
        // Lower-casing that yields a combining mark still gives NFC.
        let dotted = LearnerKey::parse("\u{0130}x").unwrap();
        assert_eq!(dotted.as_str(), "i\u{0307}x");
    }
}
