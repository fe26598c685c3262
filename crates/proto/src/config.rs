//! Parser limits and leniency flags, with Node v20's defaults.

/// The default for [`ParserConfig::max_header_size`]: Node's `http.maxHeaderSize` (CONST-3).
pub const MAX_HEADER_SIZE: usize = 16384;

/// The default header-line count limit (CONST-4, MSG-6).
pub const DEFAULT_MAX_HEADERS_COUNT: usize = 1000;

/// The default chunk-extension budget per chunk, in bytes (CONST-5, PRS-19).
pub const DEFAULT_MAX_CHUNK_EXTENSIONS: usize = 16384;

/// Leniencies of llhttp, each off by default.
///
/// [`Lenient::node_insecure`] is the set Node's `insecureHTTPParser` turns on (PRS-30).
/// None of them relaxes duplicate Content-Length, whitespace before a colon or an
/// unknown method: Node never relaxes those either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lenient {
    /// Control characters in header values are accepted (`"a\x01b"`); obs-fold is joined with one SP.
    pub headers: bool,
    /// Content-Length together with Transfer-Encoding is accepted; Transfer-Encoding wins.
    pub chunked_length: bool,
    /// A message that asked to close does not end the connection for the parser.
    pub keep_alive: bool,
    /// A request Transfer-Encoding without a final `chunked` reads the body until EOF.
    pub transfer_encoding: bool,
    /// Any `HTTP/d.d` version is accepted (`HTTP/1.2` → `1.2`).
    pub version: bool,
    /// Bytes after a message that closes the connection are ignored instead of failing.
    pub data_after_close: bool,
    /// A CR not followed by LF is taken as a line ending.
    pub optional_lf_after_cr: bool,
    /// A bare LF is taken as a line ending.
    pub optional_cr_before_lf: bool,
    /// The CRLF after chunk data may be missing.
    pub optional_crlf_after_chunk: bool,
    /// Spaces between a chunk size and the end of its line are tolerated.
    pub spaces_after_chunk_size: bool,
}

impl Lenient {
    /// No leniency: Node's default.
    pub const STRICT: Self = Self {
        headers: false,
        chunked_length: false,
        keep_alive: false,
        transfer_encoding: false,
        version: false,
        data_after_close: false,
        optional_lf_after_cr: false,
        optional_cr_before_lf: false,
        optional_crlf_after_chunk: false,
        spaces_after_chunk_size: false,
    };

    /// Every leniency Node turns on for `insecureHTTPParser: true` (PRS-30).
    pub const fn node_insecure() -> Self {
        Self {
            headers: true,
            chunked_length: true,
            keep_alive: true,
            transfer_encoding: true,
            version: true,
            data_after_close: true,
            optional_lf_after_cr: true,
            optional_cr_before_lf: true,
            optional_crlf_after_chunk: true,
            spaces_after_chunk_size: true,
        }
    }

    /// Whether any flag is on.
    pub const fn any(&self) -> bool {
        self.headers
            || self.chunked_length
            || self.keep_alive
            || self.transfer_encoding
            || self.version
            || self.data_after_close
            || self.optional_lf_after_cr
            || self.optional_cr_before_lf
            || self.optional_crlf_after_chunk
            || self.spaces_after_chunk_size
    }
}

/// Limits and flags for one parser. `Default` is Node v20's default server/client parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserConfig {
    /// Header byte budget, counted as Node counts it (PRS-21): the request-target or
    /// reason phrase plus every field name and value. The parse fails when the sum
    /// reaches this value. Trailers get a fresh budget (PRS-22). Default 16384.
    pub max_header_size: usize,
    /// Maximum number of header lines (and, separately, trailer lines); `0` = unlimited.
    /// More lines fail with [`crate::ErrorKind::TooManyHeaders`] (a deviation from
    /// Node, which silently ignores them: see `docs/deviations.md`). Default 1000.
    pub max_headers_count: usize,
    /// Byte budget for the extension names and values of one chunk (PRS-19). Default 16384.
    pub max_chunk_extensions: usize,
    /// llhttp leniencies; all off by default.
    pub lenient: Lenient,
}

impl Default for ParserConfig {
    fn default() -> Self {
        Self {
            max_header_size: MAX_HEADER_SIZE,
            max_headers_count: DEFAULT_MAX_HEADERS_COUNT,
            max_chunk_extensions: DEFAULT_MAX_CHUNK_EXTENSIONS,
            lenient: Lenient::STRICT,
        }
    }
}

impl ParserConfig {
    /// Node's parser with `insecureHTTPParser: true`.
    pub fn insecure() -> Self {
        Self {
            lenient: Lenient::node_insecure(),
            ..Self::default()
        }
    }

    /// Applies Node's rule for the `maxHeaderSize` option: `0` means the default (CONST-3).
    pub fn with_max_header_size(mut self, n: usize) -> Self {
        self.max_header_size = if n == 0 { MAX_HEADER_SIZE } else { n };
        self
    }
}
