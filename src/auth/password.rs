//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). Hashing is
//! slow by design: callers run it on a blocking thread, never on an async worker.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

/// Hashes and verifies passwords with fixed parameters.
#[derive(Clone, Debug)]
pub struct Passwords {
    params: Params,
}

/// Why a password is not accepted as a new password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Shorter than [`Passwords::MIN_LEN`].
    #[error("the password must be at least {} characters", Passwords::MIN_LEN)]
    TooShort,
    /// Longer than [`Passwords::MAX_LEN`].
    #[error("the password must be at most {} characters", Passwords::MAX_LEN)]
    TooLong,
}

impl Passwords {
    /// Shortest password accepted.
    pub const MIN_LEN: usize = 10;
    /// Longest password accepted (bounds the work one login can ask for).
    pub const MAX_LEN: usize = 256;

    /// argon2id with OWASP's recommended parameters: what the shipped binary uses.
    #[must_use]
    pub fn owasp() -> Self {
        Self {
            params: Params::DEFAULT,
        }
    }

    /// Deliberately cheap parameters, for test suites that log in hundreds of times. Never used
    /// by the `rollbook` binary.
    #[must_use]
    pub fn cheap_for_tests() -> Self {
        Self {
            params: Params::new(64, 1, 1, None).expect("valid argon2 parameters"),
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Checks a new password's length.
    pub fn check(password: &str) -> Result<(), WeakPassword> {
        let len = password.chars().count();
        if len < Self::MIN_LEN {
            Err(WeakPassword::TooShort)
        } else if len > Self::MAX_LEN {
            Err(WeakPassword::TooLong)
        } else {
            Ok(())
        }
    }

    /// The PHC string of a new hash of `password`, with a fresh random salt.
    #[must_use]
    pub fn hash(&self, password: &str) -> String {
        self.argon2()
            .hash_password(password.as_bytes())
            .expect("argon2 hashes any password of bounded length")
            .to_string()
    }

    /// Whether `password` matches the PHC string `hash` (parameters are read from the hash).
    #[must_use]
    pub fn verify(&self, password: &str, hash: &str) -> bool {
        password.len() <= Self::MAX_LEN * 4
            && self
                .argon2()
                .verify_password(password.as_bytes(), hash)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let p = Passwords::cheap_for_tests();
        let hash = p.hash("correct horse battery");
        assert!(hash.starts_with("$argon2id$"));
        assert!(p.verify("correct horse battery", &hash));
        assert!(!p.verify("correct horse batterY", &hash));
        assert!(!p.verify("anything", "not a hash"));
    }

    #[test]
    fn the_shipped_parameters_are_owasps() {
        let hash = Passwords::owasp().hash("correct horse battery");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    #[test]
    fn new_passwords_have_a_minimum_length() {
        assert_eq!(Passwords::check("short"), Err(WeakPassword::TooShort));
        assert_eq!(Passwords::check("long enough now"), Ok(()));
    }
}
