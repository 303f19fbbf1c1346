//! Why a learner gave up their seat, as a code reports can group by (next to staff's free text).

use std::fmt;
use std::str::FromStr;

/// The structured reason of a withdrawal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReasonCode {
    /// The sessions clash with something else.
    ScheduleConflict,
    /// Money: fees, funding withdrawn.
    Financial,
    /// Health, family, other personal circumstances.
    Personal,
    /// Moved to another cohort or course.
    Transferred,
    /// Anything else; also what withdrawals recorded before codes existed read as.
    #[default]
    Other,
}

impl ReasonCode {
    /// Every code, in the order forms and reports list them.
    pub const ALL: [Self; 5] = [
        Self::ScheduleConflict,
        Self::Financial,
        Self::Personal,
        Self::Transferred,
        Self::Other,
    ];

    /// The stable name used in the API, exports and URLs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ScheduleConflict => "schedule_conflict",
            Self::Financial => "financial",
            Self::Personal => "personal",
            Self::Transferred => "transferred",
            Self::Other => "other",
        }
    }

    /// How pages name it.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::ScheduleConflict => "Schedule conflict",
            Self::Financial => "Financial",
            Self::Personal => "Personal",
            Self::Transferred => "Transferred",
            Self::Other => "Other",
        }
    }

    /// The stored number (never reused).
    #[must_use]
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::ScheduleConflict => 1,
            Self::Financial => 2,
            Self::Personal => 3,
            Self::Transferred => 4,
            Self::Other => 5,
        }
    }

    /// The code stored as `n`.
    #[must_use]
    pub const fn from_u8(n: u8) -> Option<Self> {
        Some(match n {
            1 => Self::ScheduleConflict,
            2 => Self::Financial,
            3 => Self::Personal,
            4 => Self::Transferred,
            5 => Self::Other,
            _ => return None,
        })
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason code that is not one of [`ReasonCode::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown reason code {0:?}: use one of schedule_conflict, financial, personal, transferred, other"
)]
pub struct UnknownReasonCode(pub String);

impl FromStr for ReasonCode {
    type Err = UnknownReasonCode;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| UnknownReasonCode(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_name_and_its_number() {
        for code in ReasonCode::ALL {
            assert_eq!(code.as_str().parse::<ReasonCode>(), Ok(code));
            assert_eq!(ReasonCode::from_u8(code.to_u8()), Some(code));
        }
        assert!("moving".parse::<ReasonCode>().is_err());
        assert_eq!(ReasonCode::from_u8(0), None);
        assert_eq!(ReasonCode::default(), ReasonCode::Other);
    }
}
