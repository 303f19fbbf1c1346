//! Decoding stored event bytes outside the store: what the `SQLite` peer does with every row.
//! It is rollbook's own `decode_envelope` when the main crate exports it; otherwise the mirror
//! in `codec_mirror` (the same bincode shapes), which `store-peer prepare` checks against
//! rollbook's own decoding of the same events before any figure is taken.

use rollbook::store::Envelope;

/// Which decoder this build uses, for the report.
pub const DECODER: &str = if cfg!(rollbook_public_codec) {
    "rollbook::store::decode_envelope"
} else {
    "bench/src/codec_mirror.rs (rollbook's codec is not exported by this checkout; checked equal to \
     rollbook's decoding, but about 10–15% faster than it, so the SQLite decode scan is flattered)"
};

/// Decodes one value of the `events` table.
pub fn decode(bytes: &[u8]) -> anyhow::Result<Envelope> {
    #[cfg(rollbook_public_codec)]
    {
        Ok(rollbook::store::decode_envelope(bytes)?)
    }
    #[cfg(not(rollbook_public_codec))]
    {
        crate::codec_mirror::decode_envelope(bytes)
    }
}
