//! Refused cohort-page forms kept across a redirect (Post/Redirect/Get after a refusal): the
//! form, its message and what was typed into it, under a random token, for the account that
//! posted, used once, for a few minutes. Bounded: at most [`KEPT`] refusals, the oldest dropped
//! first, so posting refusals in a loop cannot grow memory.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};

use super::views::{CommandForm, CommandValues};
use crate::auth::Principal;
use crate::domain::CohortId;

/// Most refusals kept at once (all accounts together).
pub const KEPT: usize = 512;
/// How long a refusal is kept for the page it redirects to.
pub const KEPT_FOR: SignedDuration = SignedDuration::from_mins(5);

/// A refused form: which, why, and what was typed into it.
pub struct Refusal {
    pub form: CommandForm,
    pub message: String,
    pub values: CommandValues,
}

struct Kept {
    token: String,
    account: uuid::Uuid,
    cohort: CohortId,
    at: Timestamp,
    refusal: Refusal,
}

/// A bounded store of refusals waiting for their page.
#[derive(Default)]
pub struct Flash {
    kept: VecDeque<Kept>,
}

impl Flash {
    /// Keeps `refusal` for `principal` on `cohort`; returns its token. Drops expired ones, and
    /// the oldest when full.
    pub fn keep(
        &mut self,
        principal: &Principal,
        cohort: CohortId,
        refusal: Refusal,
        now: Timestamp,
    ) -> String {
        self.kept.retain(|k| now.duration_since(k.at) < KEPT_FOR);
        while self.kept.len() >= KEPT {
            self.kept.pop_front();
        }
        let token = token();
        self.kept.push_back(Kept {
            token: token.clone(),
            account: principal.account,
            cohort,
            at: now,
            refusal,
        });
        token
    }

    /// Takes (once) the refusal kept under `token` for `principal` on `cohort`, unless expired.
    /// Another account's token, an unknown or an expired one: `None`, and it stays untouched.
    pub fn take(
        &mut self,
        token: &str,
        principal: &Principal,
        cohort: CohortId,
        now: Timestamp,
    ) -> Option<Refusal> {
        if token.is_empty() {
            return None;
        }
        let at = self.kept.iter().position(|k| {
            k.token == token && k.account == principal.account && k.cohort == cohort
        })?;
        let kept = self.kept.remove(at)?;
        (now.duration_since(kept.at) < KEPT_FOR).then_some(kept.refusal)
    }

    /// How many refusals are kept.
    #[cfg(test)]
    #[must_use]
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether none is kept.
    #[cfg(test)]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

/// 128 random bits in hex.
fn token() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        bytes = uuid::Uuid::now_v7().into_bytes();
    }
    bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

static FLASH: LazyLock<Mutex<Flash>> = LazyLock::new(Mutex::default);

/// Keeps a refusal in the process-wide store; returns its token.
pub fn keep(principal: &Principal, cohort: CohortId, refusal: Refusal, now: Timestamp) -> String {
    FLASH
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .keep(principal, cohort, refusal, now)
}

/// Takes a refusal from the process-wide store (see [`Flash::take`]).
pub fn take(
    token: &str,
    principal: &Principal,
    cohort: CohortId,
    now: Timestamp,
) -> Option<Refusal> {
    FLASH
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take(token, principal, cohort, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn principal(name: &str) -> Principal {
        Principal {
            account: uuid::Uuid::now_v7(),
            name: name.to_owned(),
            role: Role::Staff,
            session: None,
        }
    }

    fn refusal(message: &str) -> Refusal {
        Refusal {
            form: CommandForm::Enroll,
            message: message.to_owned(),
            values: CommandValues::default(),
        }
    }

    /// Posting refusals without end keeps at most `KEPT`: the oldest go first.
    #[test]
    fn the_store_stays_bounded() {
        let mut flash = Flash::default();
        let who = principal("ana");
        let cohort = CohortId(uuid::Uuid::now_v7());
        let now = Timestamp::UNIX_EPOCH;
        let first = flash.keep(&who, cohort, refusal("first"), now);
        for i in 0..KEPT * 3 {
            flash.keep(&who, cohort, refusal(&i.to_string()), now);
            assert!(flash.len() <= KEPT);
        }
        assert_eq!(flash.len(), KEPT);
        assert!(
            flash.take(&first, &who, cohort, now).is_none(),
            "oldest dropped"
        );
    }

    /// A token is for its account and cohort, used once, and only for a few minutes.
    #[test]
    fn a_token_is_single_use_bound_and_expires() {
        let mut flash = Flash::default();
        let (ana, bo) = (principal("ana"), principal("bo"));
        let cohort = CohortId(uuid::Uuid::now_v7());
        let now = Timestamp::UNIX_EPOCH;
        let token = flash.keep(&ana, cohort, refusal("no"), now);
        assert!(
            flash.take(&token, &bo, cohort, now).is_none(),
            "other account"
        );
        let other = CohortId(uuid::Uuid::now_v7());
        assert!(
            flash.take(&token, &ana, other, now).is_none(),
            "other cohort"
        );
        let got = flash.take(&token, &ana, cohort, now).expect("kept");
        assert_eq!(got.message, "no");
        assert!(flash.take(&token, &ana, cohort, now).is_none(), "used once");
        let late = flash.keep(&ana, cohort, refusal("late"), now);
        let later = now.checked_add(KEPT_FOR).unwrap();
        assert!(flash.take(&late, &ana, cohort, later).is_none(), "expired");
        assert!(flash.is_empty());
    }
}
