//! Decoding stored event bytes outside the store: what the `SQLite` peer does with every row,
//! with rollbook's own decoder, so both engines pay the same decoding cost.

use rollbook::store::Envelope;

/// Which decoder this build uses, for the report.
pub const DECODER: &str = "rollbook::store::decode_envelope";

/// Decodes an encoded envelope (a value of the `events` table after its chain link).
pub fn decode(bytes: &[u8]) -> anyhow::Result<Envelope> {
    Ok(rollbook::store::decode_envelope(bytes)?)
}

/// The encoded envelope of a stored event value: after its 32-byte chain link (store format 2).
pub fn envelope_bytes(value: &[u8]) -> anyhow::Result<&[u8]> {
    value
        .get(32..)
        .ok_or_else(|| anyhow::anyhow!("a stored event value of {} bytes", value.len()))
}
