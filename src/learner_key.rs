//! Learner keys: what staff type to name a learner (an email or a student number), checked and
//! normalised once at the edge.

use std::fmt;

/// A normalised learner key: trimmed, lower-case, 1–200 printable characters.
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
}

impl LearnerKey {
    /// The longest key accepted, in characters.
    pub const MAX_LEN: usize = 200;

    /// Checks and normalises what staff typed.
    pub fn parse(raw: &str) -> Result<Self, LearnerKeyError> {
        // Lower-cased first: some letters become two characters (İ → i̇), and the limits hold
        // for the key as stored.
        let key = raw.trim().to_lowercase();
        if key.is_empty() {
            return Err(LearnerKeyError::Empty);
        }
        if key.chars().count() > Self::MAX_LEN {
            return Err(LearnerKeyError::TooLong);
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(LearnerKeyError::BadCharacter);
        }
        Ok(Self(key))
    }

    /// The normalised key.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
}
