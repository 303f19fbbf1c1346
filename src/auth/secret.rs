//! Random secrets (session ids, CSRF tokens, API tokens, first passwords) and their hashes.
//!
//! Secrets are 256 random bits from the OS. Only their SHA-256 is stored and looked up: a slow
//! password hash is for low-entropy passwords, not for these.

use sha2::{Digest, Sha256};

/// 32 random bytes from the operating system.
#[must_use]
pub fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}

pub use crate::store::chain::hex;

/// SHA-256 of a secret's text.
#[must_use]
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares two byte strings in time independent of where they differ.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A password people can type: 20 characters from an alphabet without look-alikes (≈ 110 bits).
#[must_use]
pub fn readable_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679";
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        for b in random_bytes() {
            // Rejection sampling keeps the choice uniform.
            let limit = 256 - 256 % ALPHABET.len();
            if usize::from(b) < limit && out.len() < 20 {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        assert_ne!(random_bytes(), random_bytes());
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(digest("x"), digest("x"));
        assert_ne!(digest("x"), digest("y"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        let p = readable_password();
        assert_eq!(p.len(), 20);
        assert_ne!(p, readable_password());
    }
}
