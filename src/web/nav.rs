//! The navigation every page carries: who is signed in, what they may do, the CSRF token their
//! forms post back, and the time zone times are shown in.

use super::zone::Zone;
use crate::auth::{Principal, Role};

/// Who is signed in, for the navigation, and the CSRF token every form carries.
#[derive(Clone, Debug, Default)]
pub struct Nav {
    /// Account name ("" when nobody is signed in).
    pub name: String,
    /// Role name.
    pub role: &'static str,
    /// The session's CSRF token.
    pub csrf: String,
    /// May run cohort commands.
    pub can_act: bool,
    /// May administer.
    pub is_admin: bool,
    /// The time zone pages show times in (and read form times in).
    pub zone: Zone,
}

impl Nav {
    /// Nobody signed in; times in `zone`.
    #[must_use]
    pub fn anonymous(zone: &Zone) -> Self {
        Self {
            zone: zone.clone(),
            ..Self::default()
        }
    }

    /// The signed-in principal; times in `zone`.
    #[must_use]
    pub fn of(principal: &Principal, zone: &Zone) -> Self {
        Self {
            name: principal.name.clone(),
            role: principal.role.as_str(),
            csrf: principal
                .session
                .as_ref()
                .map(|s| s.csrf.clone())
                .unwrap_or_default(),
            can_act: principal.role.allows(Role::Staff),
            is_admin: principal.role.allows(Role::Admin),
            zone: zone.clone(),
        }
    }

    /// Whether somebody is signed in.
    #[must_use]
    pub fn signed_in(&self) -> bool {
        !self.name.is_empty()
    }
}
