//! Rendering an outgoing header block and choosing the body framing (RES-11 …
//! RES-18, RES-20): the first line, the user fields, then `Date`, `Connection`,
//! `Keep-Alive` and `Content-Length` or `Transfer-Encoding`.
//!
//! Everything a message decides here (chunked or not, whether the connection ends
//! after it, the Content-Length it compares against) comes back in [`Rendered`]; the
//! caller commits it only when rendering succeeded, so a failed render changes
//! nothing. No CR, LF or NUL can reach the wire from a field: `writeHead` fields
//! rendered directly are checked as they are written, and the header store checks
//! every name and value on the way in and holds nothing unchecked (debug builds
//! check them again here).

use bytes::{Bytes, BytesMut};

use super::error::{OutgoingError, js_to_number};
use super::output::Sink;
use super::store::HeaderStore;
use super::value::{HeaderValue, join};
use crate::headers::Headers;
use crate::validate::{
    HEADER_CONTENT, TRAILER_CONTENT, TRAILER_NAME, validate_header_name, validate_token,
    validate_value_bytes,
};

/// Where the user fields come from (RES-8).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fields<'a> {
    /// The header store, in store order.
    Store(&'a HeaderStore),
    /// `writeHead` headers rendered directly, in the given order, duplicates kept.
    Direct(&'a [(&'a str, HeaderValue)]),
}

/// The persistent effects of `removeHeader` (RES-4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Removed {
    /// `removeHeader('connection')`: no automatic Connection field.
    pub(crate) connection: bool,
    /// `removeHeader('content-length')`: no automatic Content-Length.
    pub(crate) content_length: bool,
    /// `removeHeader('transfer-encoding')`: no automatic chunked coding.
    pub(crate) transfer_encoding: bool,
}

impl Removed {
    /// Records `removeHeader(name)`'s persistent effect, if `name` has one.
    pub(crate) fn note(&mut self, name: &str) {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("connection") {
            self.connection = true;
        } else if is("content-length") {
            self.content_length = true;
        } else if is("transfer-encoding") {
            self.transfer_encoding = true;
        }
    }
}

/// What the message knows when it renders.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy<'a> {
    /// Names whose list values are joined with `"; "` (`uniqueHeaders`, RES-12).
    pub(crate) unique: &'a [Box<str>],
    /// The automatic `Date` field's whole line (`Date: …\r\n`), when `sendDate` is
    /// on and a clock date is known.
    pub(crate) date: Option<&'a [u8]>,
    /// `shouldKeepAlive`.
    pub(crate) keep_alive: bool,
    /// `_last` before rendering.
    pub(crate) last: bool,
    /// `removeHeader` effects so far.
    pub(crate) removed: Removed,
    /// The message may carry a body (RES-16).
    pub(crate) has_body: bool,
    /// `useChunkedEncodingByDefault` (RES-18).
    pub(crate) chunked_by_default: bool,
    /// A client request on an agent (RES-14); always false for a response.
    pub(crate) agent: bool,
    /// The body length when `end()` renders the block (RES-15 case 3).
    pub(crate) known_length: Option<u64>,
    /// Status 204 or 304: a user `Transfer-Encoding: chunked` is sent but not applied,
    /// and the message becomes non-persistent (RES-17).
    pub(crate) no_chunked_status: bool,
    /// `keepAliveTimeout` in milliseconds (0: no Keep-Alive field).
    pub(crate) keep_alive_timeout_ms: u64,
    /// `maxRequestsPerSocket` (`max=` when > 0).
    pub(crate) max_requests: u32,
    /// The `maxRequestsPerSocket` limit was reached (SRV-5).
    pub(crate) limit_reached: bool,
}

/// A rendered header block and the decisions taken with it.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// The whole block, first line to the empty line.
    pub(crate) head: BytesMut,
    /// The body uses chunked coding.
    pub(crate) chunked: bool,
    /// The connection ends after this message (`_last`).
    pub(crate) last: bool,
    /// `shouldKeepAlive` after rendering.
    pub(crate) keep_alive: bool,
    /// `removeHeader` effects after rendering (a user field clears its flag).
    pub(crate) removed: Removed,
    /// `_contentLength`: the user field's value (`+value`), else the known length.
    pub(crate) content_length: Option<f64>,
    /// The user sent an `Expect` field: the block is to be sent at once.
    pub(crate) expect: bool,
    /// The block was rendered into a lent buffer (a server connection's).
    pub(crate) lent: bool,
}

/// Which fields the user supplied (Node's `state` in `_storeHeader`).
#[derive(Debug, Default)]
struct Seen {
    connection: bool,
    content_length: bool,
    transfer_encoding: bool,
    date: bool,
    expect: bool,
    trailer: bool,
    /// A `Keep-Alive` field: no automatic one (Node's `_defaultKeepAlive = false`).
    keep_alive: bool,
}

struct Render<'p> {
    out: &'p mut BytesMut,
    seen: Seen,
    policy: &'p Policy<'p>,
    last: bool,
    keep_alive: bool,
    chunked: bool,
    removed: Removed,
    content_length: Option<f64>,
    /// `out` came with capacity (a connection's buffer lent for rendering).
    lent: bool,
    /// Bytes to keep free behind the block.
    room: usize,
}

/// `(?:^|\W)word(?:$|\W)`, case-insensitive: `word` as a whole word anywhere in `value`
/// (Node's tests for `close` and `chunked`).
pub(crate) fn has_word(value: &[u8], word: &[u8]) -> bool {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let n = word.len();
    if n == 0 || value.len() < n {
        return false;
    }
    (0..=value.len() - n).any(|i| {
        value[i..i + n].eq_ignore_ascii_case(word)
            && (i == 0 || !is_word(value[i - 1]))
            && value.get(i + n).is_none_or(|&b| !is_word(b))
    })
}

/// Whether `name` is listed in `uniqueHeaders` (case-insensitive).
pub(crate) fn is_unique(unique: &[Box<str>], name: &str) -> bool {
    unique.iter().any(|u| u.eq_ignore_ascii_case(name))
}

impl Render<'_> {
    /// One header as Node's `processHeader`: list values become one line per element,
    /// except `cookie` with two or more elements and `uniqueHeaders` names, which are
    /// joined with `"; "` (RES-12).
    ///
    /// `checked`: the name and value were validated on their way into the header
    /// store (VAL-1, VAL-2), which holds nothing else, so they are not checked
    /// again; `writeHead` headers rendered directly are checked here.
    fn header(
        &mut self,
        name: &str,
        value: &HeaderValue,
        checked: bool,
    ) -> Result<(), OutgoingError> {
        if checked {
            debug_assert!(super::store::check_header(name, value).is_ok());
        } else {
            validate_header_name(name)?;
        }
        match value {
            HeaderValue::Text(b) => self.line(name, b, checked),
            HeaderValue::Int(n) => {
                self.line(name, itoa::Buffer::new().format(*n).as_bytes(), checked)
            }
            HeaderValue::List(items) => {
                let cookie = items.len() >= 2 && name.eq_ignore_ascii_case("cookie");
                if cookie || is_unique(self.policy.unique, name) {
                    self.line(name, &join(items, b"; "), checked)
                } else {
                    items
                        .iter()
                        .try_for_each(|item| self.line(name, item, checked))
                }
            }
        }
    }

    /// `name: value\r\n` after checking the value (unless `checked`), then Node's
    /// `matchHeader`.
    fn line(&mut self, name: &str, value: &[u8], checked: bool) -> Result<(), OutgoingError> {
        if !checked {
            validate_value_bytes(HEADER_CONTENT, name.as_bytes(), value)?;
        }
        self.out.reserve(name.len() + value.len() + 4);
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b": ");
        self.out.extend_from_slice(value);
        self.out.extend_from_slice(b"\r\n");
        self.matched(name, value);
        Ok(())
    }

    /// What a user field means for persistence and framing (RES-14, RES-15, RES-20).
    fn matched(&mut self, name: &str, value: &[u8]) {
        if !(4..=17).contains(&name.len()) {
            return;
        }
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("connection") {
            self.seen.connection = true;
            self.removed.connection = false;
            if has_word(value, b"close") {
                self.last = true;
            } else {
                self.keep_alive = true;
            }
        } else if is("transfer-encoding") {
            self.seen.transfer_encoding = true;
            self.removed.transfer_encoding = false;
            if has_word(value, b"chunked") {
                self.chunked = true;
            }
        } else if is("content-length") {
            self.seen.content_length = true;
            self.content_length = Some(js_to_number(value));
            self.removed.content_length = false;
        } else if is("date") {
            self.seen.date = true;
        } else if is("expect") {
            self.seen.expect = true;
        } else if is("trailer") {
            self.seen.trailer = true;
        } else if is("keep-alive") {
            self.seen.keep_alive = true;
        }
    }

    /// The automatic fields and the framing decision (RES-13 … RES-18, RES-20).
    fn finish(mut self) -> Result<Rendered, OutgoingError> {
        let p = self.policy;
        if !self.seen.date {
            if let Some(line) = p.date {
                self.out.extend_from_slice(line);
            }
        }
        // RES-17: no chunk coding for 204/304, and no persistence either.
        if self.chunked && p.no_chunked_status {
            self.chunked = false;
            self.keep_alive = false;
        }
        // RES-14: persistence.
        if self.removed.connection {
            self.last = !self.keep_alive;
        } else if !self.seen.connection {
            let persist =
                self.keep_alive && (self.seen.content_length || p.chunked_by_default || p.agent);
            if persist && p.limit_reached {
                self.out.extend_from_slice(b"Connection: close\r\n");
            } else if persist {
                let timeout_ms = if self.seen.keep_alive {
                    0
                } else {
                    p.keep_alive_timeout_ms
                };
                keep_alive_fields(self.out, timeout_ms, p.max_requests);
            } else {
                self.last = true;
                self.out.extend_from_slice(b"Connection: close\r\n");
            }
        }
        // RES-15: framing when the user gave neither Content-Length nor Transfer-Encoding.
        if !self.seen.content_length && !self.seen.transfer_encoding {
            if !p.has_body {
                self.chunked = false;
            } else if !p.chunked_by_default {
                self.last = true;
            } else if let (false, false, Some(n)) = (
                self.seen.trailer,
                self.removed.content_length,
                p.known_length,
            ) {
                content_length_field(self.out, n);
            } else if !self.removed.transfer_encoding {
                self.out
                    .extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                self.chunked = true;
            } else {
                self.last = true;
            }
        }
        // RES-20: a Trailer field needs chunked coding.
        if self.seen.trailer && !self.chunked {
            return Err(OutgoingError::TrailerInvalid);
        }
        self.out.extend_from_slice(b"\r\n");
        // From a lent buffer (a connection's rendering arena) the block is split off
        // with `room` more bytes of capacity behind it: no allocation and no copy
        // while the arena has room (it is shared by the blocks cut from it and
        // reclaimed once they are all written).
        let head = if self.lent {
            let len = self.out.len();
            self.out.reserve(self.room);
            let rest = self.out.split_off(len + self.room);
            core::mem::replace(self.out, rest)
        } else {
            core::mem::take(self.out)
        };
        Ok(Rendered {
            head,
            chunked: self.chunked,
            last: self.last,
            keep_alive: self.keep_alive,
            removed: self.removed,
            content_length: self.content_length,
            expect: self.seen.expect,
            lent: self.lent,
        })
    }
}

/// A persistent message's automatic `Connection: keep-alive`, and with a non-zero
/// `timeout_ms` (`keepAliveTimeout`) `Keep-Alive: timeout=<whole seconds>` (with
/// `, max=…` when `max_requests` is set), RES-14.
pub(crate) fn keep_alive_fields(out: &mut impl Sink, timeout_ms: u64, max_requests: u32) {
    if timeout_ms > 0 {
        let secs = timeout_ms / 1000;
        if secs == 5 && max_requests == 0 {
            // Node's default keepAliveTimeout: one copy for both fields.
            out.put(b"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n");
        } else {
            out.put(b"Connection: keep-alive\r\nKeep-Alive: timeout=");
            out.put(itoa::Buffer::new().format(secs).as_bytes());
            if max_requests > 0 {
                out.put(b", max=");
                out.put(itoa::Buffer::new().format(max_requests).as_bytes());
            }
            out.put(b"\r\n");
        }
    } else {
        out.put(b"Connection: keep-alive\r\n");
    }
}

/// The automatic `Content-Length: n\r\n`, put together on the stack and copied
/// once.
fn content_length_field(out: &mut BytesMut, n: u64) {
    const PREFIX: &[u8] = b"Content-Length: ";
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n).as_bytes();
    // A u64 has at most 20 digits.
    let mut line = [0u8; PREFIX.len() + 20 + 2];
    let end = PREFIX.len() + digits.len();
    line[..PREFIX.len()].copy_from_slice(PREFIX);
    line[PREFIX.len()..end].copy_from_slice(digits);
    line[end..end + 2].copy_from_slice(b"\r\n");
    out.extend_from_slice(&line[..end + 2]);
}

/// Renders the first line (the concatenation of `first_line`, already checked,
/// ending in CRLF), the user fields and the automatic fields into one buffer, and
/// takes Node's framing and persistence decisions.
///
/// `out` (cleared first) is where the block is written. An `out` with capacity is
/// a lent buffer (an arena kept for later blocks): the block is split off it with
/// `room` more bytes of capacity (for a small body, [`super::output::Output::body`])
/// and `out` keeps the rest. An `out` without capacity is taken whole.
/// On failure `out` is left empty.
pub(crate) fn render(
    out: &mut BytesMut,
    first_line: &[&[u8]],
    fields: Fields<'_>,
    policy: &Policy<'_>,
    room: usize,
) -> Result<Rendered, OutgoingError> {
    out.clear();
    let lent = out.capacity() > 0;
    let line_len: usize = first_line.iter().map(|p| p.len()).sum();
    // Room for the usual automatic fields (Date, Connection, Keep-Alive,
    // Content-Length: about 120 bytes) plus a few short user fields.
    out.reserve(line_len + 232 + room);
    let mut r = Render {
        out,
        lent,
        room,
        seen: Seen::default(),
        policy,
        last: policy.last,
        keep_alive: policy.keep_alive,
        chunked: false,
        removed: policy.removed,
        content_length: policy.known_length.map(|n| n as f64),
    };
    for part in first_line {
        r.out.extend_from_slice(part);
    }
    let fields = match fields {
        Fields::Store(store) => store
            .iter()
            .try_for_each(|(name, value)| r.header(name, value, true)),
        Fields::Direct(list) => list
            .iter()
            .try_for_each(|(name, value)| r.header(name, value, false)),
    };
    let done = fields.and_then(|()| r.finish());
    if done.is_err() {
        out.clear();
    }
    done
}

/// The least free capacity a connection's rendering arena is lent with: a usual
/// header block and a small body (see [`ARENA_IDLE`]).
pub(crate) const LENT_BLOCK: usize = 384;

/// The size of the rendering arena a connection keeps between requests: blocks are
/// cut from it without allocating, and it is reused once they were all written.
pub(crate) const ARENA_IDLE: usize = 512;

/// The largest arena a connection allocates for a run of pipelined responses;
/// it is given back when the connection goes idle.
pub(crate) const ARENA_MAX: usize = 4096;

/// `addTrailers(headers)` (RES-20): the trailer fields to write, names checked with
/// the label `Trailer name` and values with `trailer content`; a list is one line per
/// element, or one `"; "`-joined line for `uniqueHeaders`.
pub(crate) fn trailer_fields<'a>(
    unique: &[Box<str>],
    trailers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
) -> Result<Headers, OutgoingError> {
    let mut t = Headers::new();
    for (name, value) in trailers {
        validate_token(TRAILER_NAME, name)?;
        let key = Bytes::copy_from_slice(name.as_bytes());
        match value {
            HeaderValue::List(items) if items.len() > 1 && !is_unique(unique, name) => {
                for item in items {
                    validate_value_bytes(TRAILER_CONTENT, name.as_bytes(), &item)?;
                    t.push_unchecked(key.clone(), item);
                }
            }
            other => {
                let v = other.joined(b"; ");
                validate_value_bytes(TRAILER_CONTENT, name.as_bytes(), &v)?;
                t.push_unchecked(key, v);
            }
        }
    }
    Ok(t)
}

/// Node's `strictContentLength(msg)`: the Content-Length a strict message must
/// match, when strictness applies (RES-28).
pub(crate) fn strict_target(
    strict: bool,
    content_length: Option<f64>,
    has_body: bool,
    removed_content_length: bool,
    chunked: bool,
    has_te_field: bool,
) -> Option<f64> {
    if strict && has_body && !removed_content_length && !chunked && !has_te_field {
        content_length
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words() {
        assert!(has_word(b"close", b"close"));
        assert!(has_word(b"Keep-Alive, CLOSE", b"close"));
        assert!(has_word(b"x-close", b"close"));
        assert!(has_word(b"\xe9close", b"close"));
        assert!(!has_word(b"closed", b"close"));
        assert!(!has_word(b"_close", b"close"));
        assert!(!has_word(b"closeclose", b"close"));
        assert!(has_word(b"closex close", b"close"));
        assert!(!has_word(b"clos", b"close"));
        assert!(has_word(b"gzip, chunked", b"chunked"));
    }
}
