//! Incremental chunked decoder (PRS-19). Filled in by the body-codec work.

use crate::config::ParserConfig;
use crate::error::Error;

/// What one call to [`ChunkedDecoder::decode`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Body data at `buf[start..start + len]`.
    Data { start: usize, len: usize },
    /// All of `buf` was consumed (framing bytes only); more input is needed.
    NeedMore,
    /// The zero-size chunk's line was consumed: a trailer section follows, which the
    /// caller parses with the field scanner.
    Last,
}

/// The chunked body decoder: a byte-level state machine.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    _cfg: ParserConfig,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub(crate) fn new(cfg: &ParserConfig) -> Self {
        Self { _cfg: *cfg }
    }

    /// Decodes from `buf`, the unconsumed input, which starts at stream offset `base`
    /// (for error offsets). Returns how many bytes of `buf` were consumed (for
    /// `Chunk::Data`, up to and including the data) and what was found.
    pub(crate) fn decode(&mut self, buf: &[u8], base: u64) -> Result<(usize, Chunk), Error> {
        let _ = (buf, base);
        Ok((0, Chunk::NeedMore))
    }
}
