//! How a cohort fills a freed seat (its promotion policy), the offers that policy makes, and
//! how a hold period reads and writes as text ("48h").

use std::fmt;

use jiff::{SignedDuration, Timestamp};

use super::ids::LearnerId;

/// What happens to a freed seat while learners wait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PromotionPolicy {
    /// The waitlist head takes the seat at once (`waitlist.promoted`).
    #[default]
    Automatic,
    /// The seat is offered to the waitlist head and held for `hold` (`waitlist.offered`);
    /// the learner accepts, declines, or lets it expire.
    Offer {
        /// How long an offer is held: whole seconds, at least [`PromotionPolicy::MIN_HOLD`].
        hold: SignedDuration,
    },
}

/// Why a hold period is not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    /// Not a duration such as `48h`, `90m` or `30s`.
    #[error("{0:?} is not a duration such as 48h, 90m or 30s")]
    Unreadable(String),
    /// Shorter than one second, or not whole seconds.
    #[error("an offer must be held for whole seconds, at least 1s")]
    TooShort,
    /// Longer than [`PromotionPolicy::MAX_HOLD`].
    #[error("an offer may be held for at most 365 days")]
    TooLong,
}

impl PromotionPolicy {
    /// The shortest hold: one second.
    pub const MIN_HOLD: SignedDuration = SignedDuration::from_secs(1);
    /// The longest hold: 365 days (an offer held longer is a seat given away).
    pub const MAX_HOLD: SignedDuration = SignedDuration::from_hours(365 * 24);

    /// `"automatic"` or `"offer"`, as the API spells it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "automatic",
            Self::Offer { .. } => "offer",
        }
    }

    /// The hold of an offer policy.
    #[must_use]
    pub const fn hold(self) -> Option<SignedDuration> {
        match self {
            Self::Automatic => None,
            Self::Offer { hold } => Some(hold),
        }
    }

    /// An offer policy holding for `hold`, checked: whole seconds within
    /// [`Self::MIN_HOLD`]..=[`Self::MAX_HOLD`].
    pub fn offer(hold: SignedDuration) -> Result<Self, HoldError> {
        if hold < Self::MIN_HOLD || hold.subsec_nanos() != 0 {
            return Err(HoldError::TooShort);
        }
        if hold > Self::MAX_HOLD {
            return Err(HoldError::TooLong);
        }
        Ok(Self::Offer { hold })
    }

    /// The policy as the rules may store it: a hold of whole seconds, at least one second and
    /// at most [`Self::MAX_HOLD`] (the stored form keeps whole seconds only, so what is decided
    /// must already be what a replay reads back).
    #[must_use]
    pub fn normalized(self) -> Self {
        match self {
            Self::Automatic => Self::Automatic,
            Self::Offer { hold } => Self::Offer {
                hold: SignedDuration::from_secs(hold.as_secs())
                    .clamp(Self::MIN_HOLD, Self::MAX_HOLD),
            },
        }
    }
}

/// Reads a hold period as the API and forms write it: `48h`, `90m`, `30s`, `1h30m` (jiff's
/// friendly format), whole seconds within [`PromotionPolicy::MIN_HOLD`]..=
/// [`PromotionPolicy::MAX_HOLD`].
pub fn parse_hold(text: &str) -> Result<SignedDuration, HoldError> {
    let hold: SignedDuration = text
        .trim()
        .parse()
        .map_err(|_| HoldError::Unreadable(text.to_owned()))?;
    PromotionPolicy::offer(hold).map(|_| hold)
}

/// A hold period in its short form: `48h`, `1h 30m`, `30s`.
#[must_use]
pub fn format_hold(hold: SignedDuration) -> String {
    format!("{hold:#}")
}

/// A freed seat held for a learner until they answer or the hold runs out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    /// Who was offered the seat.
    pub learner: LearnerId,
    /// When the offer was made.
    pub offered_at: Timestamp,
    /// When it lapses unless accepted or declined.
    pub expires_at: Timestamp,
}

impl fmt::Display for PromotionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Automatic => f.write_str("automatic"),
            Self::Offer { hold } => write!(f, "offer, held {}", format_hold(*hold)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_read_in_the_short_forms_and_write_back_in_them() {
        assert_eq!(parse_hold("48h"), Ok(SignedDuration::from_hours(48)));
        assert_eq!(parse_hold("90m"), Ok(SignedDuration::from_mins(90)));
        assert_eq!(parse_hold("30s"), Ok(SignedDuration::from_secs(30)));
        assert_eq!(format_hold(SignedDuration::from_hours(48)), "48h");
        assert_eq!(format_hold(SignedDuration::from_secs(30)), "30s");
        assert_eq!(format_hold(SignedDuration::from_mins(90)), "1h 30m");
    }

    #[test]
    fn holds_below_a_second_or_fractional_or_beyond_a_year_or_unreadable_are_refused() {
        assert_eq!(parse_hold("0s"), Err(HoldError::TooShort));
        assert_eq!(parse_hold("500ms"), Err(HoldError::TooShort));
        assert_eq!(parse_hold("1.5s"), Err(HoldError::TooShort));
        assert_eq!(parse_hold("-5m"), Err(HoldError::TooShort));
        assert_eq!(parse_hold("8761h"), Err(HoldError::TooLong));
        assert!(parse_hold("8760h").is_ok());
        assert!(matches!(parse_hold("soon"), Err(HoldError::Unreadable(_))));
    }

    #[test]
    fn normalizing_keeps_whole_seconds_within_the_bounds() {
        let odd = PromotionPolicy::Offer {
            hold: SignedDuration::from_millis(1500),
        };
        assert_eq!(odd.normalized().hold(), Some(SignedDuration::from_secs(1)));
        let zero = PromotionPolicy::Offer {
            hold: SignedDuration::ZERO,
        };
        assert_eq!(zero.normalized().hold(), Some(PromotionPolicy::MIN_HOLD));
        assert_eq!(
            PromotionPolicy::Automatic.normalized(),
            PromotionPolicy::Automatic
        );
    }
}
