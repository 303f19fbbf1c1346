//! Decoding stored event bytes outside the store: what the `SQLite` peer does with every row,
//! with rollbook's own decoder, so both engines pay the same decoding cost.

use rollbook::store::Envelope;

/// Which decoder this build uses, for the report.
pub const DECODER: &str = "rollbook::store::decode_envelope";

/// Decodes one value of the `events` table.
pub fn decode(bytes: &[u8]) -> anyhow::Result<Envelope> {
    Ok(rollbook::store::decode_envelope(bytes)?)
}
