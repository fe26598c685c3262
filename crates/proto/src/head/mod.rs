//! Parsed message heads: request line or status line, plus header fields.

use bytes::Bytes;

use crate::headers::Headers;

pub mod encode;
pub mod framing;
mod raw;
pub(crate) mod scan;

pub use raw::HeadParser;

/// An HTTP version as `major.minor` digits (PRS-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// `httpVersionMajor`.
    pub major: u8,
    /// `httpVersionMinor`.
    pub minor: u8,
}

impl Version {
    /// HTTP/0.9 (a request line without a version).
    pub const HTTP_09: Self = Self { major: 0, minor: 9 };
    /// HTTP/1.0.
    pub const HTTP_10: Self = Self { major: 1, minor: 0 };
    /// HTTP/1.1.
    pub const HTTP_11: Self = Self { major: 1, minor: 1 };

    /// Whether Node treats this as HTTP/1.1 for persistence: major > 0 and minor > 0 (PRS-25).
    pub const fn is_keep_alive_default(self) -> bool {
        self.major > 0 && self.minor > 0
    }

    /// Node's `httpVersion` string, e.g. `"1.1"`.
    pub fn to_node_string(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "HTTP/{}.{}", self.major, self.minor)
    }
}

/// The tokens of every `Connection` field, as the parser sees them (PRS-24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionTokens {
    /// A `close` token is present.
    pub close: bool,
    /// A `keep-alive` token is present.
    pub keep_alive: bool,
    /// An `upgrade` token is present.
    pub upgrade: bool,
}

/// How the body of an incoming message is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding, ended by a zero-size chunk and trailers.
    Chunked,
    /// All bytes until the connection closes.
    CloseDelimited,
}

/// What the parser decided about a message when its head was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageInfo {
    /// llhttp's `shouldKeepAlive` (PRS-25).
    pub keep_alive: bool,
    /// An upgrade candidate (PRS-27): the parser pauses after the head until the
    /// owner decides to switch protocols or to read it as an ordinary message.
    pub upgrade: bool,
    /// How the body is delimited.
    pub body: BodyKind,
    /// The `Connection` tokens.
    pub connection: ConnectionTokens,
    /// A `Content-Length` field was present (its value is in `body` when it frames it).
    pub has_content_length: bool,
    /// A `Transfer-Encoding` field was present.
    pub has_transfer_encoding: bool,
    /// A `Host` field was present (any case; what a server's `requireHostHeader`
    /// looks for, SRV-3).
    pub has_host: bool,
    /// An `Expect` field was present (any case; SRV-4).
    pub has_expect: bool,
}

/// A request method: one of [`crate::METHODS`] for parsed requests; any token for
/// requests built by the application (CLI-6).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Method(Bytes);

impl Method {
    /// A method from its token bytes (not validated).
    pub fn from_bytes(b: Bytes) -> Self {
        Self(b)
    }
    /// A method from a static string (not validated).
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }
    /// The token.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
    /// The token bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// `HEAD`?
    pub fn is_head(&self) -> bool {
        &self.0[..] == b"HEAD"
    }
    /// `CONNECT`?
    pub fn is_connect(&self) -> bool {
        &self.0[..] == b"CONNECT"
    }
}

impl core::fmt::Debug for Method {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed request head (Node's IncomingMessage before the body).
#[derive(Clone)]
pub struct RequestHead {
    /// The method (MSG-1 `method`).
    pub method: Method,
    /// The request-target ([`RequestHead::url`]).
    target: Target,
    /// The version.
    pub version: Version,
    /// The header fields in wire order. On a head the parser made, the request-target
    /// is a range of this list's buffer: a list put in its place comes with
    /// [`RequestHead::set_url`].
    pub headers: Headers,
    /// Framing and persistence decided by the parser.
    pub info: MessageInfo,
}

/// Where a request-target is: a range of the head's field buffer (the received head,
/// which the fields hold already: the target takes no reference count of its own,
/// two atomic operations per request fewer), or bytes of its own.
#[derive(Clone)]
enum Target {
    InHead { start: usize, end: usize },
    Own(Bytes),
}

impl RequestHead {
    /// A head of the given parts.
    pub fn new(
        method: Method,
        url: Bytes,
        version: Version,
        headers: Headers,
        info: MessageInfo,
    ) -> Self {
        Self {
            method,
            target: Target::Own(url),
            version,
            headers,
            info,
        }
    }

    /// The request-target, verbatim (PRS-4; MSG-1 `url`).
    #[inline]
    pub fn url(&self) -> &[u8] {
        match &self.target {
            Target::InHead { start, end } => {
                self.headers.buf().get(*start..*end).unwrap_or_default()
            }
            Target::Own(url) => url,
        }
    }

    /// The request-target as [`Bytes`]: a slice of the received head (no copy).
    pub fn url_bytes(&self) -> Bytes {
        match &self.target {
            Target::InHead { start, end } => {
                let buf = self.headers.buf();
                if *start <= *end && *end <= buf.len() {
                    buf.slice(*start..*end)
                } else {
                    Bytes::new()
                }
            }
            Target::Own(url) => url.clone(),
        }
    }

    /// Replaces the request-target.
    pub fn set_url(&mut self, url: Bytes) {
        self.target = Target::Own(url);
    }

    /// The request-target is `start..end` of the field buffer (the parser's).
    #[inline]
    pub(crate) fn set_url_in_head(&mut self, start: usize, end: usize) {
        self.target = Target::InHead { start, end };
    }
}

impl PartialEq for RequestHead {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.url() == other.url()
            && self.version == other.version
            && self.headers == other.headers
            && self.info == other.info
    }
}

impl Eq for RequestHead {}

impl core::fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("url", &self.url_bytes())
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("info", &self.info)
            .finish()
    }
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The version.
    pub version: Version,
    /// The status code (any three digits the parser took).
    pub status: u16,
    /// The reason phrase, `""` when absent (MSG-1 `statusMessage`).
    pub reason: Bytes,
    /// The header fields in wire order.
    pub headers: Headers,
    /// Framing and persistence decided by the parser.
    pub info: MessageInfo,
}
