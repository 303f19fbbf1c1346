//! The tamper-evident chain: every stored event is linked to the one before it by a hash over
//! the previous link, its position, and a digest of the event. The digest covers every field of
//! the envelope, with free text (withdrawal reasons) entering only as its own SHA-256, so that
//! personal text can later be erased (replaced by its recorded hash) without breaking the chain.

use sha2::{Digest as _, Sha256};

use super::codec::{self, CodecError};
use super::envelope::Envelope;
use crate::domain::Event;

/// The link before position 1.
pub const GENESIS: [u8; 32] = [0; 32];

/// Marks free text that was replaced by its hash.
pub const HASHED_TEXT_PREFIX: &str = "sha256:";

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Free text as it enters the digest: its SHA-256, unless it already is one. Erasure stores
/// this in place of the text, which leaves the event's digest, and so the chain, unchanged.
#[must_use]
pub fn text_digest(text: &str) -> String {
    if text.starts_with(HASHED_TEXT_PREFIX) {
        text.to_owned()
    } else {
        format!(
            "{HASHED_TEXT_PREFIX}{}",
            hex(&Sha256::digest(text.as_bytes()))
        )
    }
}

/// The event's digest: SHA-256 of its encoded envelope, free text hashed first.
pub fn digest(envelope: &Envelope) -> Result<[u8; 32], CodecError> {
    let mut form = envelope.clone();
    match &mut form.event {
        Event::StudentWithdrawn { reason, .. } | Event::WaitlistLeft { reason, .. } => {
            *reason = text_digest(reason);
        }
        _ => {}
    }
    Ok(Sha256::digest(codec::encode_envelope(&form)?).into())
}

/// The link of `position`, given the previous link.
#[must_use]
pub fn link(previous: &[u8; 32], position: u64, digest: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(position.to_le_bytes());
    hasher.update(digest);
    hasher.finalize().into()
}

/// Lower-case hex of a hash, for people.
#[must_use]
pub fn show(hash: &[u8; 32]) -> String {
    hex(hash)
}
