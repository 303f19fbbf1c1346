//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). Hashing is
//! slow by design: callers run it on a blocking thread, never on an async worker. Every hash
//! runs under the [`HashLimiter`]: a few at once, in memory reused from hash to hash.

use std::sync::Arc;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};

use super::limiter::{Busy, HashLimiter, HashStats, Permit};
use super::secret;

/// Hashes and verifies passwords with fixed parameters, a bounded number at a time. Clones share
/// one limiter.
#[derive(Clone, Debug)]
pub struct Passwords {
    params: Params,
    limiter: Arc<HashLimiter>,
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

    /// argon2id with OWASP's recommended parameters: what the shipped binary uses. One hash per
    /// core at a time.
    #[must_use]
    pub fn owasp() -> Self {
        Self::with_params(Params::DEFAULT)
    }

    /// Deliberately cheap parameters, for test suites that log in hundreds of times. Never used
    /// by the `rollbook` binary.
    #[must_use]
    pub fn cheap_for_tests() -> Self {
        Self::with_params(Params::new(64, 1, 1, None).expect("valid argon2 parameters"))
    }

    fn with_params(params: Params) -> Self {
        let limiter = Arc::new(HashLimiter::per_core(params.block_count()));
        Self { params, limiter }
    }

    /// The same parameters with `permits` hashes at once and `queue` waiting places.
    #[must_use]
    pub fn with_limit(self, permits: usize, queue: usize) -> Self {
        let limiter = Arc::new(HashLimiter::new(permits, queue, self.params.block_count()));
        Self { limiter, ..self }
    }

    /// The limiter every hash runs under (shared by clones).
    #[must_use]
    pub fn limiter(&self) -> &HashLimiter {
        &self.limiter
    }

    /// What the limiter has seen.
    #[must_use]
    pub fn stats(&self) -> HashStats {
        self.limiter.stats()
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

    /// The PHC string of a new hash of `password`, with a fresh random salt. Waits for a permit
    /// however busy the server is (an admin's change must not fail because of a login burst).
    #[must_use]
    pub fn hash(&self, password: &str) -> String {
        let mut permit = self.limiter.acquire();
        self.hash_in(&mut permit, password)
    }

    fn hash_in(&self, permit: &mut Permit<'_>, password: &str) -> String {
        let salt = Salt::new(&secret::random_bytes()[..Salt::RECOMMENDED_LENGTH])
            .expect("a 16-byte salt is valid");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        permit
            .compute(self.params.block_count(), |memory| {
                argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
            })
            .expect("argon2 hashes any password of bounded length");
        PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).expect("the parameters encode"),
            salt: Some(salt),
            hash: Some(Output::new(&out).expect("a 32-byte output is valid")),
        }
        .to_string()
    }

    /// Whether `password` matches the PHC string `hash` (parameters are read from the hash).
    /// Waits in the limiter's queue if it has room; [`Busy`] at once, without hashing, if not.
    pub fn verify(&self, password: &str, hash: &str) -> Result<bool, Busy> {
        let mut permit = self.limiter.try_acquire()?;
        Ok(Self::verify_in(&mut permit, password, hash))
    }

    fn verify_in(permit: &mut Permit<'_>, password: &str, hash: &str) -> bool {
        if password.len() > Self::MAX_LEN * 4 {
            return false;
        }
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return false;
        };
        let Ok(version) = Version::try_from(parsed.version.unwrap_or(Version::V0x13.into())) else {
            return false;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let blocks = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        let computed = permit.compute(blocks, |memory: &mut [Block]| {
            argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
        });
        // `Output`'s comparison takes constant time.
        computed.is_ok() && Output::new(&out).is_ok_and(|out| &out == expected)
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher as _;

    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let p = Passwords::cheap_for_tests();
        let hash = p.hash("correct horse battery");
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(p.verify("correct horse battery", &hash), Ok(true));
        assert_eq!(p.verify("correct horse batterY", &hash), Ok(false));
        assert_eq!(p.verify("anything", "not a hash"), Ok(false));
        // Hashes made by the crate's own allocating API verify too (existing accounts).
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, p.params.clone())
            .hash_password(b"correct horse battery")
            .expect("hash")
            .to_string();
        assert_eq!(p.verify("correct horse battery", &theirs), Ok(true));
        assert_eq!(p.verify("correct horse batterx", &theirs), Ok(false));
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
