//! Free text staff type about a learner (a withdrawal or waitlist-departure reason), and what is
//! left of it once the learner's personal data is erased. Erased is a state of the type, never a
//! pattern inside the text: any text staff type, even one that looks like a digest, is text.

/// A free-text note about a learner, or its erased remains.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Note {
    /// The text as staff typed it (possibly empty).
    Text(String),
    /// Erased with the learner's personal data: only the SHA-256 of the text is left, which is
    /// what the hash chain covers, so erasing changes no event's digest.
    Erased([u8; 32]),
}

impl Note {
    /// The text, unless it was erased.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Erased(_) => None,
        }
    }

    /// True once erased.
    #[must_use]
    pub const fn is_erased(&self) -> bool {
        matches!(self, Self::Erased(_))
    }
}

impl Default for Note {
    fn default() -> Self {
        Self::Text(String::new())
    }
}

impl From<String> for Note {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Note {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}
