//! The tamper-evident chain: every stored event is linked to the one before it by a hash over
//! the previous link, its position, and a digest of the event. The digest covers every field of
//! the envelope, with a free-text note (withdrawal and waitlist reasons) entering only as its
//! own SHA-256, so that personal text can later be erased (the note becomes
//! [`Note::Erased`] with that hash) without breaking the chain.

use sha2::{Digest as _, Sha256};

use super::codec::{self, CodecError};
use super::envelope::Envelope;
use crate::domain::{Event, Note};

/// The link before position 1.
pub const GENESIS: [u8; 32] = [0; 32];

/// Lower-case hex of bytes: the one hex writer (hashes, secrets, fixtures).
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// What the chain covers of a note: the SHA-256 of its text, or the digest an erased note kept.
#[must_use]
pub fn note_digest(note: &Note) -> [u8; 32] {
    match note {
        Note::Text(text) => Sha256::digest(text.as_bytes()).into(),
        Note::Erased(digest) => *digest,
    }
}

/// The note erased: only its digest is left, so the event's digest does not change.
#[must_use]
pub fn erased(note: &Note) -> Note {
    Note::Erased(note_digest(note))
}

/// The 32 bytes of a digest written as 64 lower-case hex digits ([`show`]); `None` for
/// anything else.
#[must_use]
pub fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let value = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (value(pair[0])? << 4) | value(pair[1])?;
    }
    Some(out)
}

/// What store format 2 (and exports of it) stored in place of an erased learner's reason:
/// `sha256:` and the hex of the text's SHA-256.
pub const FORMAT2_ERASED_PREFIX: &str = "sha256:";

/// The erased note for a reason text of an erased learner as format 2 kept it: the digest
/// format 2's erasure left (`sha256:<64 hex>`), or the text it skipped (a typed text that
/// started with `sha256:`), erased now.
#[must_use]
pub fn erase_format2_text(text: &str) -> Note {
    match text
        .strip_prefix(FORMAT2_ERASED_PREFIX)
        .and_then(parse_digest)
    {
        Some(digest) => Note::Erased(digest),
        None => Note::Erased(Sha256::digest(text.as_bytes()).into()),
    }
}

/// The schema version an event's digest is taken at: for an event with a note, the first
/// version that can hold an erased note (`student.withdrawn` 3, `waitlist.left` 2), whatever
/// version it is stored at, so that erasing a note of an older event (which rewrites it at that
/// version) leaves its digest as it was. Frozen: a later schema still digests at these.
const fn digest_schema_version(event: &Event, stored: u16) -> u16 {
    match event {
        Event::StudentWithdrawn { .. } => 3,
        Event::WaitlistLeft { .. } => 2,
        _ => stored,
    }
}

/// The event's digest: SHA-256 of its encoded envelope, with its note (if any) in erased form
/// (so a text and its erasure digest alike) at [`digest_schema_version`].
pub fn digest(envelope: &Envelope) -> Result<[u8; 32], CodecError> {
    if envelope.event.note().is_none() {
        return Ok(Sha256::digest(codec::encode_envelope(envelope)?).into());
    }
    let mut form = envelope.clone();
    form.schema_version = digest_schema_version(&form.event, form.schema_version);
    if let Some(note) = form.event.note_mut() {
        *note = erased(note);
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
