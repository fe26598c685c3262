//! The Node-exact head scanner.
//!
//! A byte-level state machine that follows llhttp 9.3.1 (the parser inside Node
//! v20.20.2) state by state: the same accepted inputs, the same error codes and reason
//! texts, and the same error offsets. It is incremental: it keeps its state between
//! calls and only looks at bytes it has not seen, so a head fed one byte at a time
//! costs linear time, and the result does not depend on how the input was split.
//!
//! It is the parser's source of truth. The fast path ([`Scanner::try_fast`], at the end
//! of this file) handles the common complete-in-one-read case in one pass over the
//! bytes, taking only plain forms whose scanner answer is evident, and falls back here
//! for anything else.
//!
//! Spans (method, target, version, reason, field names and values) are recorded as
//! offsets into the caller's buffer, which must keep every byte from the start of the
//! message until the head is complete.

use crate::chars::{is_field_value_byte, is_tchar, is_url_char, is_userinfo};
use crate::config::ParserConfig;
use crate::error::{Error, ErrorKind as K};
use crate::head::Version;
use crate::headers::{FieldSlots, Slot};

/// llhttp's message flags, with llhttp's bit values.
pub(crate) mod flags {
    pub(crate) const CONN_KEEP_ALIVE: u16 = 1 << 0;
    pub(crate) const CONN_CLOSE: u16 = 1 << 1;
    pub(crate) const CONN_UPGRADE: u16 = 1 << 2;
    pub(crate) const CHUNKED: u16 = 1 << 3;
    pub(crate) const UPGRADE: u16 = 1 << 4;
    pub(crate) const CONTENT_LENGTH: u16 = 1 << 5;
    pub(crate) const TRANSFER_ENCODING: u16 = 1 << 9;
}
use flags as F;

/// Fields the server looks for in every request, recorded by the fast path as it
/// reads them ([`Scanner::seen`]).
pub(crate) mod seen {
    /// A `Host` field.
    pub(crate) const HOST: u8 = 1 << 0;
    /// An `Expect` field.
    pub(crate) const EXPECT: u8 = 1 << 1;
}

/// Every method llhttp's request-line matcher knows, HTTP, RTSP and ICE alike.
const METHOD_KEYS: &[&[u8]] = &[
    b"DELETE",
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    b"COPY",
    b"LOCK",
    b"MKCOL",
    b"MOVE",
    b"PROPFIND",
    b"PROPPATCH",
    b"SEARCH",
    b"UNLOCK",
    b"BIND",
    b"REBIND",
    b"UNBIND",
    b"ACL",
    b"REPORT",
    b"MKACTIVITY",
    b"CHECKOUT",
    b"MERGE",
    b"M-SEARCH",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"PATCH",
    b"PURGE",
    b"MKCALENDAR",
    b"LINK",
    b"UNLINK",
    b"SOURCE",
    b"PRI",
    b"DESCRIBE",
    b"ANNOUNCE",
    b"SETUP",
    b"PLAY",
    b"PAUSE",
    b"TEARDOWN",
    b"GET_PARAMETER",
    b"SET_PARAMETER",
    b"REDIRECT",
    b"RECORD",
    b"FLUSH",
    b"QUERY",
];

/// Methods llhttp accepts with `RTSP/x.y`.
const RTSP_METHODS: &[&[u8]] = &[
    b"OPTIONS",
    b"DESCRIBE",
    b"ANNOUNCE",
    b"SETUP",
    b"PLAY",
    b"PAUSE",
    b"TEARDOWN",
    b"GET_PARAMETER",
    b"SET_PARAMETER",
    b"REDIRECT",
    b"RECORD",
    b"FLUSH",
    b"GET",
    b"POST",
];

/// Methods that exist only for RTSP (not allowed with `HTTP/x.y`).
const RTSP_ONLY: &[&[u8]] = &[
    b"DESCRIBE",
    b"ANNOUNCE",
    b"SETUP",
    b"PLAY",
    b"PAUSE",
    b"TEARDOWN",
    b"GET_PARAMETER",
    b"SET_PARAMETER",
    b"REDIRECT",
    b"RECORD",
    b"FLUSH",
];

const PROTOCOLS: &[&[u8]] = &[b"HTTP", b"RTSP", b"ICE"];
/// Lower-case names with special framing meaning.
const SPECIAL: &[&[u8]] = &[
    b"connection",
    b"content-length",
    b"proxy-connection",
    b"transfer-encoding",
    b"upgrade",
];
const CONN_TOKENS: &[&[u8]] = &[b"close", b"upgrade", b"keep-alive"];
const CHUNKED: &[&[u8]] = &[b"chunked"];
const PRI_PREFACE: &[&[u8]] = &[b"\r\n\r\nSM\r\n\r\n"];

/// What a keyword matcher says about one more byte.
enum Kw {
    /// The byte continues some keyword; `Some(k)` when keyword `k` is now complete and
    /// no longer keyword can follow.
    Consume(Option<usize>),
    /// The byte continues no keyword; `Some(k)` when the bytes matched so far are
    /// keyword `k` (the byte is then not consumed), `None` on a mismatch.
    Stop(Option<usize>),
}

#[inline]
fn fold_eq(input: u8, key: u8, fold: bool) -> bool {
    if fold {
        input.to_ascii_lowercase() == key
    } else {
        input == key
    }
}

/// Greedy keyword matching without backtracking, as llparse's tries do.
fn kw_step(keys: &[&[u8]], matched: &[u8], c: u8, fold: bool) -> Kw {
    let n = matched.len();
    let prefix = |k: &[u8]| {
        k.len() >= n
            && k[..n]
                .iter()
                .zip(matched)
                .all(|(&kb, &ib)| fold_eq(ib, kb, fold))
    };
    let mut cont = false;
    let mut done = None;
    let mut longer = false;
    for (i, k) in keys.iter().enumerate() {
        if k.len() > n && prefix(k) && fold_eq(c, k[n], fold) {
            cont = true;
            if k.len() == n + 1 {
                done = Some(i);
            } else {
                longer = true;
            }
        }
    }
    if cont {
        return Kw::Consume(if longer { None } else { done });
    }
    Kw::Stop(keys.iter().position(|k| k.len() == n && prefix(k)))
}

/// Header states of llhttp (which special header the current field is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hs {
    General,
    Connection,
    ContentLength,
    TransferEncoding,
    Upgrade,
    ConnKeepAlive,
    ConnClose,
    ConnUpgrade,
    TeChunked,
}

/// Scanner states, named after llhttp's nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum S {
    Start,
    Method,
    FirstSpace,
    SpacesBeforeUrl,
    UrlStart,
    UrlSchema,
    UrlSchemaDelim,
    UrlServer { at: bool },
    UrlPath,
    UrlQueryOrFragment,
    UrlQuery,
    UrlFragment,
    UrlSkipCrlf,
    HttpStart,
    HttpProto,
    HttpAfterProto,
    HttpMajor,
    HttpDot,
    HttpMinor,
    HttpComplete,
    HttpCompleteCrlf,
    PriPreface,
    ResProto,
    ResAfterProto,
    ResMajor,
    ResDot,
    ResMinor,
    ResAfterVersion,
    ResDigit(u8),
    ResStatusOtherwise,
    ResStatus,
    ResLineAlmostDone,
    HeadersStart,
    FieldStart,
    FieldSpecial,
    FieldColon,
    FieldGeneral,
    ValueDiscardWs,
    ValueDiscardWsAlmostDone,
    ValueDiscardLws,
    ValueStart,
    TeChunked,
    TeChunkedLast,
    TeToken,
    TeTokenOws,
    ContentLength,
    ContentLengthWs,
    Connection,
    ConnectionWs,
    ConnectionToken,
    Value,
    ValueOtherwise,
    ValueLenient,
    ValueAlmostDone,
    ValueLws,
    HeadersAlmostDone,
}

/// One piece of an obs-fold value (lenient mode only): field index and the raw
/// (untrimmed) byte range. The first piece of a folded field is recorded too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fold {
    pub(crate) field: usize,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// The outcome of a scan call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scan {
    /// All bytes were examined; the head is not complete yet.
    Partial,
    /// The head (or trailer section) ends at this offset (exclusive).
    Complete(usize),
}

/// What the scanner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Request,
    Response,
    /// A trailer section after the last chunk (PRS-20).
    Trailers,
}

/// The incremental head scanner. See the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    state: S,
    mode: Mode,
    /// Next byte to examine (offset into the caller's buffer).
    pub(crate) pos: usize,
    /// First byte of the message (after skipped empty lines).
    pub(crate) msg_start: usize,
    kw_start: usize,
    method: &'static [u8],
    pub(crate) url: (usize, usize),
    pub(crate) version: Version,
    pub(crate) status: u16,
    pub(crate) reason: (usize, usize),
    /// The fields, as ranges of the buffer (values trimmed of trailing SP/HTAB).
    pub(crate) fields: Vec<Slot>,
    /// obs-fold pieces (lenient mode only).
    pub(crate) folds: Vec<Fold>,
    /// The untrimmed end of the last value recorded (for a fold that follows).
    last_raw_end: usize,
    name_start: usize,
    name_end: usize,
    value_start: usize,
    hs: Hs,
    pub(crate) flags: u16,
    /// The [`seen`] fields of the head the fast path took (the scanner leaves it 0).
    pub(crate) seen: u8,
    pub(crate) content_length: u64,
    /// Header bytes counted in closed spans (PRS-21). Only meaningful while a head is
    /// being scanned: the fast path does not keep it for heads it completes.
    counted: usize,
    /// Start of the counted span that is open, if any.
    open_span: Option<usize>,
    max_header_size: usize,
    max_headers_count: usize,
    raw_cap: usize,
    lenient: crate::config::Lenient,
    /// No leniency is on (the fast path may run), decided once.
    strict: bool,
    request: bool,
}

/// Whether `name` is allowed with protocol `p` (HTTP, RTSP, ICE).
fn method_allowed(name: &[u8], p: usize) -> bool {
    match p {
        0 => !RTSP_ONLY.contains(&name),
        1 => RTSP_METHODS.contains(&name),
        _ => name == b"SOURCE",
    }
}

impl Scanner {
    /// A scanner at the start of a message (or trailer section).
    pub(crate) fn new(mode: Mode, cfg: &ParserConfig) -> Self {
        let max = cfg.max_header_size.max(1);
        Self {
            state: match mode {
                Mode::Trailers => S::FieldStart,
                _ => S::Start,
            },
            mode,
            pos: 0,
            msg_start: 0,
            kw_start: 0,
            method: b"",
            url: (0, 0),
            version: Version::HTTP_11,
            status: 0,
            reason: (0, 0),
            fields: Vec::new(),
            folds: Vec::new(),
            last_raw_end: 0,
            name_start: 0,
            name_end: 0,
            value_start: 0,
            hs: Hs::General,
            flags: 0,
            seen: 0,
            content_length: 0,
            counted: 0,
            open_span: None,
            max_header_size: max,
            max_headers_count: cfg.max_headers_count,
            raw_cap: max.saturating_mul(5).saturating_add(1024),
            lenient: cfg.lenient,
            strict: !cfg.lenient.any(),
            request: mode == Mode::Request,
        }
    }

    /// The fields of the message just scanned (see [`Scanner::clear_fields`]).
    pub(crate) fn fields(&self) -> &[Slot] {
        &self.fields
    }

    /// Forgets the fields once they were copied out, keeping the storage.
    pub(crate) fn clear_fields(&mut self) {
        self.fields.clear();
    }

    /// Makes the scanner ready for the next message of `mode`, keeping its
    /// configuration and its field storage (no allocation, no large writes).
    pub(crate) fn reset(&mut self, mode: Mode) {
        self.state = match mode {
            Mode::Trailers => S::FieldStart,
            _ => S::Start,
        };
        self.mode = mode;
        self.request = mode == Mode::Request;
        self.pos = 0;
        self.msg_start = 0;
        self.kw_start = 0;
        self.method = b"";
        self.url = (0, 0);
        self.version = Version::HTTP_11;
        self.status = 0;
        self.reason = (0, 0);
        self.fields.clear();
        self.folds.clear();
        self.hs = Hs::General;
        self.flags = 0;
        self.seen = 0;
        self.content_length = 0;
        self.counted = 0;
        self.open_span = None;
    }

    /// Whether no byte of a message has been seen (empty lines before a request line
    /// do not count: PRS-1).
    pub(crate) fn at_start(&self) -> bool {
        self.state == S::Start
    }

    /// Moves every offset back by `n` after the caller dropped `n` leading bytes
    /// (only allowed while [`Scanner::at_start`]).
    pub(crate) fn rebase_at_start(&mut self, n: usize) {
        debug_assert!(self.at_start());
        self.pos -= n;
    }

    /// The method as a `&'static` name.
    pub(crate) fn method_name(&self) -> &'static [u8] {
        self.method
    }

    /// The error for the first problem in stream order: an earlier header overflow in
    /// the open span, or the raw-size cap, win over a later syntax error.
    fn fail(&self, base: u64, kind: K, reason: &'static str, at: usize) -> Error {
        if let Some(o) = self.overflow_point() {
            if o <= at {
                return Error::new(K::HeaderOverflow, "Header overflow", base + o as u64);
            }
        }
        let cap = self.msg_start + self.raw_cap;
        if at > cap {
            return Error::new(K::HeaderOverflow, "Header overflow", base + cap as u64);
        }
        Error::new(kind, reason, base + at as u64)
    }

    /// Offset at which the open span makes the counted total reach the limit.
    fn overflow_point(&self) -> Option<usize> {
        let start = self.open_span?;
        Some(start + (self.max_header_size - self.counted))
    }

    fn open(&mut self, at: usize) {
        self.open_span = Some(at);
    }

    /// Closes the open counted span at `end`.
    fn close(&mut self, base: u64, end: usize) -> Result<(), Error> {
        if let Some(start) = self.open_span.take() {
            let total = self.counted + (end - start);
            if total >= self.max_header_size {
                let o = start + (self.max_header_size - self.counted);
                return Err(Error::new(
                    K::HeaderOverflow,
                    "Header overflow",
                    base + o as u64,
                ));
            }
            self.counted = total;
        }
        Ok(())
    }

    /// Checks limits that must hold whatever comes next: called when a scan call runs
    /// out of input, so that memory stays bounded.
    fn check_partial(&self, base: u64, len: usize) -> Result<(), Error> {
        if let Some(o) = self.overflow_point() {
            if o <= len {
                return Err(Error::new(
                    K::HeaderOverflow,
                    "Header overflow",
                    base + o as u64,
                ));
            }
        }
        let cap = self.msg_start + self.raw_cap;
        if self.state != S::Start && len > cap {
            return Err(Error::new(
                K::HeaderOverflow,
                "Header overflow",
                base + cap as u64,
            ));
        }
        Ok(())
    }

    /// Ends the current value span at `end` (the CR or LF) and records the field (or
    /// the fold continuation).
    fn end_value(&mut self, base: u64, end: usize, buf: &[u8]) -> Result<(), Error> {
        self.close(base, end)?;
        let mut e = end;
        while e > self.value_start && matches!(buf[e - 1], b' ' | b'\t') {
            e -= 1;
        }
        let last = self.fields.len().wrapping_sub(1);
        if self
            .fields
            .last()
            .is_some_and(|f| f.name_start() == self.name_start)
        {
            // An obs-fold continuation of the field just recorded (lenient only). Node
            // joins the raw pieces and trims the whole value once (observed:
            // `"a \r\n b "` gives `"a  b"`), so keep the raw ranges.
            if !self.folds.iter().any(|f| f.field == last) {
                let first = self.fields[last];
                let start = first.value_start();
                self.folds.push(Fold {
                    field: last,
                    start,
                    end: self.last_raw_end,
                });
            }
            self.folds.push(Fold {
                field: last,
                start: self.value_start,
                end,
            });
        } else {
            self.fields.push(Slot::shared(
                self.name_start,
                self.name_end,
                self.value_start,
                e,
            ));
        }
        self.last_raw_end = end;
        Ok(())
    }

    /// llhttp's `setHeaderFlags`: commits the flag of the state the value ended in.
    fn set_header_flags(&mut self) {
        match self.hs {
            Hs::ConnKeepAlive => {
                self.flags |= F::CONN_KEEP_ALIVE;
                self.hs = Hs::Connection;
            }
            Hs::ConnClose => {
                self.flags |= F::CONN_CLOSE;
                self.hs = Hs::Connection;
            }
            Hs::ConnUpgrade => {
                self.flags |= F::CONN_UPGRADE;
                self.hs = Hs::Connection;
            }
            Hs::TeChunked => self.flags |= F::CHUNKED,
            _ => {}
        }
    }
}

/// `CONNECTION_TOKEN_CHARS` of llhttp: field-value bytes except `,`.
#[inline]
fn is_conn_token_char(c: u8) -> bool {
    c != b',' && is_field_value_byte(c)
}

const SPECIAL_STATES: [Hs; 5] = [
    Hs::Connection,
    Hs::ContentLength,
    Hs::Connection,
    Hs::TransferEncoding,
    Hs::Upgrade,
];
const CONN_STATES: [Hs; 3] = [Hs::ConnClose, Hs::ConnUpgrade, Hs::ConnKeepAlive];

fn version_ok(v: Version, lenient: bool) -> bool {
    lenient || matches!((v.major, v.minor), (0, 9) | (1, 0) | (1, 1) | (2, 0))
}

impl Scanner {
    /// Whether the message is a request (trailers inherit their message's kind).
    pub(crate) fn set_request(&mut self, request: bool) {
        self.request = request;
    }

    /// Ends the request-target at `i` (a SP, CR or LF) and moves past it.
    fn url_end(&mut self, base: u64, c: u8, i: usize) -> Result<usize, Error> {
        self.url.1 = i;
        self.close(base, i)?;
        self.state = match c {
            b' ' => S::HttpStart,
            b'\r' => S::UrlSkipCrlf,
            _ => {
                self.version = Version::HTTP_09;
                S::HeadersStart
            }
        };
        Ok(i + 1)
    }

    /// The field name ended at `i` (the colon, not yet consumed).
    fn field_name_done(&mut self, base: u64, i: usize) -> Result<usize, Error> {
        self.name_end = i;
        self.close(base, i)?;
        let i = i + 1;
        let strict_cl = !self.lenient.chunked_length;
        match self.hs {
            Hs::TransferEncoding if strict_cl && self.flags & F::CONTENT_LENGTH != 0 => {
                return Err(self.fail(
                    base,
                    K::InvalidTransferEncoding,
                    "Transfer-Encoding can't be present with Content-Length",
                    i,
                ));
            }
            Hs::ContentLength if strict_cl && self.flags & F::TRANSFER_ENCODING != 0 => {
                return Err(self.fail(
                    base,
                    K::InvalidContentLength,
                    "Content-Length can't be present with Transfer-Encoding",
                    i,
                ));
            }
            _ => {}
        }
        self.state = S::ValueDiscardWs;
        Ok(i)
    }

    /// Scans `buf[self.pos..]`; `base` is the absolute stream offset of `buf[0]`.
    #[allow(clippy::too_many_lines)]
    pub(crate) fn scan(&mut self, buf: &[u8], base: u64) -> Result<Scan, Error> {
        let len = buf.len();
        let mut i = self.pos;
        let lenient = self.lenient;
        macro_rules! fail {
            ($k:ident, $r:expr, $at:expr) => {
                return Err(self.fail(base, K::$k, $r, $at))
            };
        }
        while i < len {
            let c = buf[i];
            match self.state {
                S::Start => {
                    if c == b'\r' || c == b'\n' {
                        i += 1;
                        continue;
                    }
                    self.msg_start = i;
                    self.kw_start = i;
                    self.state = match self.mode {
                        Mode::Request => S::Method,
                        _ => S::ResProto,
                    };
                }
                S::Method => match kw_step(METHOD_KEYS, &buf[self.kw_start..i], c, false) {
                    Kw::Consume(done) => {
                        i += 1;
                        if let Some(m) = done {
                            self.method = METHOD_KEYS[m];
                            self.state = S::FirstSpace;
                        }
                    }
                    Kw::Stop(Some(m)) => {
                        self.method = METHOD_KEYS[m];
                        self.state = S::FirstSpace;
                    }
                    Kw::Stop(None) => fail!(InvalidMethod, "Invalid method encountered", i),
                },
                S::FirstSpace => {
                    if c != b' ' {
                        fail!(InvalidMethod, "Expected space after method", i);
                    }
                    i += 1;
                    self.state = S::SpacesBeforeUrl;
                }
                S::SpacesBeforeUrl => {
                    if c == b' ' {
                        i += 1;
                        continue;
                    }
                    self.url = (i, i);
                    self.open(i);
                    self.state = if self.method == b"CONNECT" {
                        S::UrlServer { at: false }
                    } else {
                        S::UrlStart
                    };
                }
                S::UrlStart => match c {
                    b'/' | b'*' => {
                        i += 1;
                        self.state = S::UrlPath;
                    }
                    b'A'..=b'Z' | b'a'..=b'z' => self.state = S::UrlSchema,
                    b' ' | b'\r' | b'\n' | b'\t' | 0x0c => {
                        fail!(InvalidUrl, "Invalid characters in url", i + 1)
                    }
                    _ => fail!(InvalidUrl, "Unexpected start char in url", i),
                },
                S::UrlSchema => match c {
                    b'A'..=b'Z' | b'a'..=b'z' => i += 1,
                    b':' => {
                        i += 1;
                        self.kw_start = i;
                        self.state = S::UrlSchemaDelim;
                    }
                    b' ' | b'\r' | b'\n' | b'\t' | 0x0c => {
                        fail!(InvalidUrl, "Invalid characters in url", i + 1)
                    }
                    _ => fail!(InvalidUrl, "Unexpected char in url schema", i),
                },
                S::UrlSchemaDelim => {
                    let first = i == self.kw_start;
                    match c {
                        b'/' => {
                            i += 1;
                            if !first {
                                self.state = S::UrlServer { at: false };
                            }
                        }
                        b' ' | b'\r' | b'\n' | b'\t' | 0x0c if first => {
                            fail!(InvalidUrl, "Invalid characters in url", i + 1)
                        }
                        _ => fail!(InvalidUrl, "Unexpected char in url schema", i),
                    }
                }
                S::UrlServer { at } => match c {
                    b'/' => {
                        i += 1;
                        self.state = S::UrlPath;
                    }
                    b'?' => {
                        i += 1;
                        self.state = S::UrlQuery;
                    }
                    b'@' if at => fail!(InvalidUrl, "Double @ in url", i + 1),
                    b'@' => {
                        i += 1;
                        self.state = S::UrlServer { at: true };
                    }
                    b'[' | b']' => {
                        i += 1;
                        self.state = S::UrlServer { at: false };
                    }
                    b' ' | b'\r' | b'\n' => i = self.url_end(base, c, i)?,
                    b'\t' | 0x0c => fail!(InvalidUrl, "Invalid characters in url", i + 1),
                    c if is_userinfo(c) => {
                        i += 1;
                        self.state = S::UrlServer { at: false };
                    }
                    _ => fail!(InvalidUrl, "Unexpected char in url server", i),
                },
                S::UrlPath => {
                    i += crate::chars::run_len(&buf[i..], is_url_char);
                    if i < len {
                        self.state = S::UrlQueryOrFragment;
                    }
                }
                S::UrlQueryOrFragment => match c {
                    b'?' => {
                        i += 1;
                        self.state = S::UrlQuery;
                    }
                    b'#' => {
                        i += 1;
                        self.state = S::UrlFragment;
                    }
                    b' ' | b'\r' | b'\n' => i = self.url_end(base, c, i)?,
                    b'\t' | 0x0c => fail!(InvalidUrl, "Invalid characters in url", i + 1),
                    _ => fail!(InvalidUrl, "Invalid char in url path", i),
                },
                S::UrlQuery => match c {
                    b'#' => {
                        i += 1;
                        self.state = S::UrlFragment;
                    }
                    b'?' => i += 1,
                    c if is_url_char(c) => i += 1,
                    b' ' | b'\r' | b'\n' => i = self.url_end(base, c, i)?,
                    b'\t' | 0x0c => fail!(InvalidUrl, "Invalid characters in url", i + 1),
                    _ => fail!(InvalidUrl, "Invalid char in url query", i),
                },
                S::UrlFragment => match c {
                    b'?' | b'#' => i += 1,
                    c if is_url_char(c) => i += 1,
                    b' ' | b'\r' | b'\n' => i = self.url_end(base, c, i)?,
                    b'\t' | 0x0c => fail!(InvalidUrl, "Invalid characters in url", i + 1),
                    _ => fail!(InvalidUrl, "Invalid char in url fragment start", i),
                },
                S::UrlSkipCrlf => {
                    if c != b'\n' {
                        fail!(InvalidUrl, "Expected CRLF", i);
                    }
                    i += 1;
                    self.version = Version::HTTP_09;
                    self.state = S::HeadersStart;
                }
                S::HttpStart => {
                    if c == b' ' {
                        i += 1;
                    } else {
                        self.kw_start = i;
                        self.state = S::HttpProto;
                    }
                }
                S::HttpProto => match kw_step(PROTOCOLS, &buf[self.kw_start..i], c, false) {
                    Kw::Consume(Some(p)) => {
                        i += 1;
                        if !method_allowed(self.method, p) {
                            let reason = match p {
                                0 => "Invalid method for HTTP/x.x request",
                                1 => "Invalid method for RTSP/x.x request",
                                _ => "Expected SOURCE method for ICE/x.x request",
                            };
                            fail!(InvalidConstant, reason, i);
                        }
                        self.state = S::HttpAfterProto;
                    }
                    Kw::Consume(None) => i += 1,
                    Kw::Stop(_) => fail!(InvalidConstant, "Expected HTTP/, RTSP/ or ICE/", i),
                },
                S::HttpAfterProto | S::ResAfterProto => {
                    if c != b'/' {
                        fail!(InvalidConstant, "Expected HTTP/, RTSP/ or ICE/", i);
                    }
                    i += 1;
                    self.state = if self.state == S::HttpAfterProto {
                        S::HttpMajor
                    } else {
                        S::ResMajor
                    };
                }
                S::HttpMajor | S::ResMajor => {
                    if !c.is_ascii_digit() {
                        fail!(InvalidVersion, "Invalid major version", i);
                    }
                    self.version.major = c - b'0';
                    i += 1;
                    self.state = if self.state == S::HttpMajor {
                        S::HttpDot
                    } else {
                        S::ResDot
                    };
                }
                S::HttpDot | S::ResDot => {
                    if c != b'.' {
                        fail!(InvalidVersion, "Expected dot", i);
                    }
                    i += 1;
                    self.state = if self.state == S::HttpDot {
                        S::HttpMinor
                    } else {
                        S::ResMinor
                    };
                }
                S::HttpMinor | S::ResMinor => {
                    if !c.is_ascii_digit() {
                        fail!(InvalidVersion, "Invalid minor version", i);
                    }
                    self.version.minor = c - b'0';
                    i += 1;
                    if !version_ok(self.version, lenient.version) {
                        fail!(InvalidVersion, "Invalid HTTP version", i);
                    }
                    self.state = if self.state == S::ResMinor {
                        S::ResAfterVersion
                    } else if self.method == b"PRI" {
                        self.kw_start = i;
                        S::PriPreface
                    } else {
                        S::HttpComplete
                    };
                }
                S::HttpComplete => match c {
                    b'\r' => {
                        i += 1;
                        self.state = S::HttpCompleteCrlf;
                    }
                    b'\n' if lenient.optional_cr_before_lf => {
                        i += 1;
                        self.state = S::HeadersStart;
                    }
                    b'\n' => fail!(InvalidVersion, "Expected CRLF after version", i + 1),
                    _ => fail!(InvalidVersion, "Expected CRLF after version", i),
                },
                S::HttpCompleteCrlf => {
                    if c == b'\n' {
                        i += 1;
                    } else if !lenient.optional_lf_after_cr {
                        fail!(Strict, "Expected CRLF after version", i);
                    }
                    self.state = S::HeadersStart;
                }
                S::PriPreface => match kw_step(PRI_PREFACE, &buf[self.kw_start..i], c, false) {
                    Kw::Consume(Some(_)) => fail!(H2Preface, "Pause on PRI/Upgrade", i + 1),
                    Kw::Consume(None) => i += 1,
                    Kw::Stop(_) => {
                        fail!(InvalidVersion, "Expected HTTP/2 Connection Preface", i)
                    }
                },
                S::ResProto => match kw_step(PROTOCOLS, &buf[self.kw_start..i], c, false) {
                    Kw::Consume(Some(_)) => {
                        i += 1;
                        self.state = S::ResAfterProto;
                    }
                    Kw::Consume(None) => i += 1,
                    Kw::Stop(_) => fail!(InvalidConstant, "Expected HTTP/, RTSP/ or ICE/", i),
                },
                S::ResAfterVersion => {
                    if c != b' ' {
                        fail!(InvalidVersion, "Expected space after version", i);
                    }
                    i += 1;
                    self.status = 0;
                    self.state = S::ResDigit(0);
                }
                S::ResDigit(n) => {
                    if !c.is_ascii_digit() {
                        fail!(InvalidStatus, "Invalid status code", i);
                    }
                    self.status = self.status * 10 + u16::from(c - b'0');
                    i += 1;
                    self.state = if n == 2 {
                        S::ResStatusOtherwise
                    } else {
                        S::ResDigit(n + 1)
                    };
                }
                S::ResStatusOtherwise => match c {
                    b' ' => {
                        i += 1;
                        self.reason = (i, i);
                        self.open(i);
                        self.state = S::ResStatus;
                    }
                    b'\r' => {
                        i += 1;
                        self.reason = (i, i);
                        self.state = S::ResLineAlmostDone;
                    }
                    b'\n' if lenient.optional_cr_before_lf => {
                        i += 1;
                        self.reason = (i, i);
                        self.state = S::HeadersStart;
                    }
                    b'\n' => fail!(InvalidStatus, "Invalid response status", i + 1),
                    _ => fail!(InvalidStatus, "Invalid response status", i),
                },
                S::ResStatus => match memchr::memchr2(b'\r', b'\n', &buf[i..]) {
                    None => i = len,
                    Some(k) => {
                        let j = i + k;
                        self.reason.1 = j;
                        self.close(base, j)?;
                        i = j + 1;
                        if buf[j] == b'\r' {
                            self.state = S::ResLineAlmostDone;
                        } else if lenient.optional_cr_before_lf {
                            self.state = S::HeadersStart;
                        } else {
                            fail!(CrExpected, "Missing expected CR after response line", i);
                        }
                    }
                },
                S::ResLineAlmostDone => {
                    if c == b'\n' || c == b'\r' {
                        i += 1;
                    } else if !lenient.optional_lf_after_cr {
                        fail!(Strict, "Expected LF after CR", i);
                    }
                    self.state = S::HeadersStart;
                }
                S::HeadersStart => {
                    if c == b' ' {
                        if !lenient.headers {
                            fail!(UnexpectedSpace, "Unexpected space after start line", i + 1);
                        }
                        i += 1;
                    }
                    self.state = S::FieldStart;
                }
                S::FieldStart => match c {
                    b'\r' => {
                        i += 1;
                        self.state = S::HeadersAlmostDone;
                    }
                    b'\n' if lenient.optional_cr_before_lf => {
                        return self.complete(base, i + 1);
                    }
                    b'\n' => fail!(InvalidHeaderToken, "Invalid header field char", i + 1),
                    b':' => fail!(InvalidHeaderToken, "Invalid header token", i),
                    _ => {
                        if self.max_headers_count > 0 && self.fields.len() >= self.max_headers_count
                        {
                            fail!(TooManyHeaders, "Too many header fields", i);
                        }
                        self.name_start = i;
                        self.kw_start = i;
                        self.open(i);
                        self.state = S::FieldSpecial;
                    }
                },
                S::FieldSpecial => match kw_step(SPECIAL, &buf[self.kw_start..i], c, true) {
                    Kw::Consume(Some(k)) => {
                        i += 1;
                        self.hs = SPECIAL_STATES[k];
                        self.state = S::FieldColon;
                    }
                    Kw::Consume(None) => i += 1,
                    Kw::Stop(Some(k)) => {
                        self.hs = SPECIAL_STATES[k];
                        self.state = S::FieldColon;
                    }
                    Kw::Stop(None) => {
                        self.hs = Hs::General;
                        self.state = S::FieldGeneral;
                    }
                },
                S::FieldColon => match c {
                    b' ' if lenient.headers => i += 1,
                    b' ' => {
                        self.close(base, i)?;
                        fail!(InvalidHeaderToken, "Invalid header field char", i + 1);
                    }
                    b':' => i = self.field_name_done(base, i)?,
                    _ => {
                        self.hs = Hs::General;
                        self.state = S::FieldGeneral;
                    }
                },
                S::FieldGeneral => {
                    i += crate::chars::run_len(&buf[i..], is_tchar);
                    if i < len {
                        if buf[i] != b':' {
                            fail!(InvalidHeaderToken, "Invalid header token", i);
                        }
                        i = self.field_name_done(base, i)?;
                    }
                }
                S::ValueDiscardWs => match c {
                    b' ' | b'\t' => i += 1,
                    b'\r' => {
                        i += 1;
                        self.state = S::ValueDiscardWsAlmostDone;
                    }
                    b'\n' if lenient.optional_cr_before_lf => {
                        i += 1;
                        self.state = S::ValueDiscardLws;
                    }
                    b'\n' => fail!(InvalidHeaderToken, "Invalid header value char", i + 1),
                    _ => {
                        self.value_start = i;
                        self.open(i);
                        self.state = S::ValueStart;
                    }
                },
                S::ValueDiscardWsAlmostDone => {
                    if c == b'\n' {
                        i += 1;
                    } else if !lenient.headers {
                        fail!(Strict, "Expected LF after CR", i);
                    }
                    self.state = S::ValueDiscardLws;
                }
                S::ValueDiscardLws => match c {
                    b' ' | b'\t' if lenient.headers => {
                        i += 1;
                        self.state = S::ValueDiscardWs;
                    }
                    b' ' | b'\t' => fail!(InvalidHeaderToken, "Invalid header value char", i + 1),
                    _ => {
                        // llhttp 9.3.1 rejects an empty Content-Length but, unlike later
                        // releases, takes an empty Transfer-Encoding (it frames nothing).
                        if self.hs == Hs::ContentLength {
                            fail!(InvalidContentLength, "Empty Content-Length", i);
                        }
                        self.set_header_flags();
                        self.value_start = i;
                        self.open(i);
                        self.end_value(base, i, buf)?;
                        self.state = S::FieldStart;
                    }
                },
                S::ValueStart => match self.hs {
                    Hs::Upgrade => {
                        self.flags |= F::UPGRADE;
                        self.hs = Hs::General;
                        self.state = S::Value;
                    }
                    Hs::TransferEncoding => {
                        if self.flags & F::CHUNKED != 0
                            && self.request
                            && !lenient.transfer_encoding
                        {
                            fail!(
                                InvalidTransferEncoding,
                                "Invalid `Transfer-Encoding` header value",
                                i + 1
                            );
                        }
                        self.flags |= F::TRANSFER_ENCODING;
                        self.flags &= !F::CHUNKED;
                        self.kw_start = i;
                        self.state = S::TeChunked;
                    }
                    Hs::ContentLength => {
                        if self.flags & F::CONTENT_LENGTH != 0 {
                            fail!(UnexpectedContentLength, "Duplicate Content-Length", i);
                        }
                        self.content_length = 0;
                        self.state = S::ContentLength;
                    }
                    Hs::Connection => {
                        self.kw_start = i;
                        self.state = S::Connection;
                    }
                    _ => self.state = S::Value,
                },
                S::TeChunked => match kw_step(CHUNKED, &buf[self.kw_start..i], c, true) {
                    Kw::Consume(Some(_)) => {
                        i += 1;
                        self.state = S::TeChunkedLast;
                    }
                    Kw::Consume(None) => i += 1,
                    Kw::Stop(_) => self.state = S::TeToken,
                },
                S::TeChunkedLast => match c {
                    b' ' => i += 1,
                    b'\r' | b'\n' => {
                        self.hs = Hs::TeChunked;
                        self.state = S::ValueOtherwise;
                    }
                    b',' => {
                        if self.request && !lenient.transfer_encoding {
                            fail!(
                                InvalidTransferEncoding,
                                "Invalid `Transfer-Encoding` header value",
                                i + 1
                            );
                        }
                        self.kw_start = i;
                        self.state = S::TeChunked;
                    }
                    _ => self.state = S::TeToken,
                },
                S::TeToken => match c {
                    b',' => {
                        i += 1;
                        self.state = S::TeTokenOws;
                    }
                    c if is_conn_token_char(c) => i += 1,
                    _ => {
                        self.hs = Hs::General;
                        self.state = S::Value;
                    }
                },
                S::TeTokenOws => {
                    if c == b' ' || c == b'\t' {
                        i += 1;
                    } else {
                        self.kw_start = i;
                        self.state = S::TeChunked;
                    }
                }
                S::ContentLength => {
                    if c.is_ascii_digit() {
                        i += 1;
                        match self
                            .content_length
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(u64::from(c - b'0')))
                        {
                            Some(v) => self.content_length = v,
                            None => fail!(InvalidContentLength, "Content-Length overflow", i),
                        }
                    } else {
                        self.state = S::ContentLengthWs;
                    }
                }
                S::ContentLengthWs => match c {
                    b' ' => i += 1,
                    b'\r' | b'\n' => {
                        self.flags |= F::CONTENT_LENGTH;
                        self.state = S::ValueOtherwise;
                    }
                    _ => fail!(
                        InvalidContentLength,
                        "Invalid character in Content-Length",
                        i
                    ),
                },
                S::Connection => {
                    if i == self.kw_start && (c == b' ' || c == b'\t') {
                        i += 1;
                        self.kw_start = i;
                        continue;
                    }
                    match kw_step(CONN_TOKENS, &buf[self.kw_start..i], c, true) {
                        Kw::Consume(Some(k)) => {
                            i += 1;
                            self.hs = CONN_STATES[k];
                            self.state = S::ConnectionWs;
                        }
                        Kw::Consume(None) => i += 1,
                        Kw::Stop(Some(k)) => {
                            self.hs = CONN_STATES[k];
                            self.state = S::ConnectionWs;
                        }
                        Kw::Stop(None) => self.state = S::ConnectionToken,
                    }
                }
                S::ConnectionWs => match c {
                    b',' => {
                        i += 1;
                        self.set_header_flags();
                        self.kw_start = i;
                        self.state = S::Connection;
                    }
                    b' ' => i += 1,
                    b'\r' | b'\n' => self.state = S::ValueOtherwise,
                    _ => {
                        self.hs = Hs::General;
                        self.state = S::ConnectionToken;
                    }
                },
                S::ConnectionToken => match c {
                    b',' => {
                        i += 1;
                        self.kw_start = i;
                        self.state = S::Connection;
                    }
                    c if is_conn_token_char(c) => i += 1,
                    _ => self.state = S::ValueOtherwise,
                },
                S::Value => {
                    i += crate::chars::run_len(&buf[i..], is_field_value_byte);
                    if i < len {
                        self.state = S::ValueOtherwise;
                    }
                }
                S::ValueOtherwise => match c {
                    b'\r' => {
                        self.end_value(base, i, buf)?;
                        i += 1;
                        self.state = S::ValueAlmostDone;
                    }
                    b'\n' => {
                        self.end_value(base, i, buf)?;
                        if !lenient.optional_cr_before_lf {
                            fail!(CrExpected, "Missing expected CR after header value", i);
                        }
                        self.state = S::ValueAlmostDone;
                    }
                    _ if lenient.headers => self.state = S::ValueLenient,
                    _ => fail!(InvalidHeaderToken, "Invalid header value char", i),
                },
                S::ValueLenient => match c {
                    b'\r' => {
                        self.end_value(base, i, buf)?;
                        i += 1;
                        self.state = S::ValueAlmostDone;
                    }
                    b'\n' => {
                        self.end_value(base, i, buf)?;
                        self.state = S::ValueAlmostDone;
                    }
                    _ => i += 1,
                },
                S::ValueAlmostDone => {
                    // Node 20's llhttp requires this LF even with
                    // `optional_lf_after_cr` (oracle: `X: a\rY: b` with
                    // insecureHTTPParser is HPE_LF_EXPECTED).
                    if c != b'\n' {
                        fail!(LfExpected, "Missing expected LF after header value", i);
                    }
                    i += 1;
                    self.state = S::ValueLws;
                }
                S::ValueLws => match c {
                    b' ' | b'\t' if lenient.headers => {
                        if self.hs == Hs::TeChunked {
                            self.hs = Hs::General;
                        }
                        self.value_start = i;
                        self.open(i);
                        self.state = S::ValueStart;
                    }
                    b' ' | b'\t' => fail!(
                        InvalidHeaderToken,
                        "Unexpected whitespace after header value",
                        i
                    ),
                    _ => {
                        self.set_header_flags();
                        self.state = S::FieldStart;
                    }
                },
                S::HeadersAlmostDone => {
                    if c == b'\n' {
                        return self.complete(base, i + 1);
                    }
                    if !lenient.optional_lf_after_cr {
                        fail!(Strict, "Expected LF after headers", i);
                    }
                    return self.complete(base, i);
                }
            }
        }
        self.pos = i;
        self.check_partial(base, len)?;
        Ok(Scan::Partial)
    }

    fn complete(&mut self, base: u64, end: usize) -> Result<Scan, Error> {
        let cap = self.msg_start + self.raw_cap;
        if end > cap {
            return Err(Error::new(
                K::HeaderOverflow,
                "Header overflow",
                base + cap as u64,
            ));
        }
        self.pos = end;
        Ok(Scan::Complete(end))
    }
}

/// Whether a field name of `len` bytes starting with `first` may be one of the framing
/// names (`connection`, `content-length`, `proxy-connection`, `transfer-encoding`,
/// `upgrade`, in any case) or one of the [`seen`] names (`host`, `expect`): first
/// byte and length, the full compare follows.
#[inline]
fn maybe_special(first: u8, len: usize) -> bool {
    let want = match len {
        4 => b'h',
        6 => b'e',
        7 => b'u',
        10 | 14 => b'c',
        16 => b'p',
        17 => b't',
        _ => return false,
    };
    first | 0x20 == want
}

/// `s` without leading and trailing SP.
#[inline]
fn trim_sp(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' '] = s {
        s = rest;
    }
    s
}

/// The CR that ends a field value (or reason phrase) starting at `i`, when every byte
/// before it is a field-value byte (HTAB, SP..=`~`, obs-text); `None` at any other
/// byte, or when the buffer ends first.
#[inline]
fn value_cr(buf: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i = crate::chars::value_run_end(buf, i);
        match *buf.get(i)? {
            b'\r' => return Some(i),
            b'\t' => i += 1,
            _ => return None,
        }
    }
}

/// Where the fast path writes the field list: the scanner's own list, or straight
/// into the list of the head being built (which saves copying it there afterwards).
pub(crate) trait SlotList {
    /// Appends a field.
    fn push_slot(&mut self, slot: Slot);
    /// The fields so far.
    fn slots(&self) -> &[Slot];
    /// Forgets every field.
    fn clear_slots(&mut self);
}

/// [`SlotList`] for the vector types with `push`, `clear` and a slice view.
macro_rules! slot_list_for {
    ($($t:ty),*) => {$(
        impl SlotList for $t {
            #[inline(always)]
            fn push_slot(&mut self, slot: Slot) {
                self.push(slot);
            }
            #[inline(always)]
            fn slots(&self) -> &[Slot] {
                self
            }
            #[inline(always)]
            fn clear_slots(&mut self) {
                self.clear();
            }
        }
    )*};
}
slot_list_for!(Vec<Slot>, FieldSlots);

impl Scanner {
    /// The fast path: parses a complete head in one pass over the bytes, taking only
    /// the plain forms for which the scanner's answer is evident (see
    /// [`Scanner::fast`]), and fills `self` exactly as the scanner would. Returns the
    /// head's end, or `None` when the scanner must decide (partial input, anything
    /// unusual, any error).
    pub(crate) fn try_fast(&mut self, buf: &[u8]) -> Option<usize> {
        let mut fields = core::mem::take(&mut self.fields);
        let r = self.try_fast_into(buf, &mut fields);
        self.fields = fields;
        r
    }

    /// [`Scanner::try_fast`], the fields written to `out` (which must be empty)
    /// instead of the scanner's own list; `out` is left empty when it declines.
    #[inline]
    pub(crate) fn try_fast_into<L: SlotList>(&mut self, buf: &[u8], out: &mut L) -> Option<usize> {
        if self.state != S::Start || self.pos != 0 || !self.strict {
            return None;
        }
        let r = self.fast(buf, out);
        if r.is_none() {
            // Undo whatever the attempt recorded; the scanner starts from scratch.
            out.clear_slots();
            self.flags = 0;
            self.seen = 0;
            self.content_length = 0;
            self.counted = 0;
            self.method = b"";
            self.url = (0, 0);
            self.version = Version::HTTP_11;
            self.status = 0;
            self.reason = (0, 0);
        }
        r
    }

    /// What the fast path takes, each form one the scanner takes with the same spans:
    ///
    /// * a request line `METHOD SP /target SP HTTP/1.x CRLF`, the method one of Node's
    ///   `METHODS` but `CONNECT`, single SPs, the target visible ASCII starting with `/`
    ///   (llhttp's path, query and fragment states take exactly those, PRS-4, PRS-5);
    /// * a status line `HTTP/1.x SP ddd SP reason CRLF`, the reason field-value bytes;
    /// * field lines `name: value CRLF`: the name token bytes, no space before the
    ///   colon, the value non-empty after SP/HTAB, field-value bytes only, no obs-fold;
    ///   framing fields only in the plain forms [`Scanner::fast_special`] checks;
    /// * CRLF after every line, the limits on fields, header bytes and raw size met.
    fn fast<L: SlotList>(&mut self, buf: &[u8], out: &mut L) -> Option<usize> {
        let mut start = 0;
        while matches!(*buf.get(start)?, b'\r' | b'\n') {
            start += 1;
        }
        // A head that ends past the raw-size cap fails in the scanner: cut the buffer
        // there, so that such a head reads as incomplete and nothing past the cap is
        // examined (this also bounds the field list).
        let buf = &buf[..buf.len().min(start.saturating_add(self.raw_cap))];
        let fields_at = match self.mode {
            Mode::Request => self.fast_request_line(buf, start)?,
            Mode::Response => self.fast_status_line(buf, start)?,
            Mode::Trailers => return None,
        };
        let end = self.fast_fields(buf, fields_at, out)?;
        if self.max_headers_count > 0 && out.slots().len() > self.max_headers_count {
            return None;
        }
        // The counted header bytes (PRS-21) are fewer than the head's bytes: only a head
        // longer than the limit needs counting.
        if end - start > self.max_header_size {
            self.counted = self.fast_counted(buf, out.slots());
            if self.counted >= self.max_header_size {
                return None;
            }
        }
        self.msg_start = start;
        self.pos = end;
        Some(end)
    }

    /// The header bytes the scanner would count (PRS-21) for the head just read: the
    /// start line's span (in `self.counted`), then each name and each value up to its
    /// CR.
    #[cold]
    fn fast_counted(&self, buf: &[u8], fields: &[Slot]) -> usize {
        fields.iter().fold(self.counted, |n, s| {
            let (Some(name), Some(value)) = (s.name_range(), s.value_range()) else {
                return n;
            };
            let cr = value.end + buf[value.end..].iter().take_while(|&&b| b != b'\r').count();
            n + name.len() + (cr - value.start)
        })
    }

    /// `METHOD SP /target SP HTTP/1.x CRLF` at `start`; returns where the fields start.
    #[inline(always)]
    fn fast_request_line(&mut self, buf: &[u8], start: usize) -> Option<usize> {
        let msg = buf.get(start..)?;
        let url0 = if msg.starts_with(b"GET ") {
            self.method = b"GET";
            start + 4
        } else {
            // The longest method has 11 bytes.
            let sp = msg.iter().take(12).position(|&b| b == b' ')?;
            let method =
                crate::generated::METHODS[crate::generated::method_index(&msg[..sp])?].as_bytes();
            if method == b"CONNECT" {
                return None;
            }
            self.method = method;
            start + sp + 1
        };
        if *buf.get(url0)? != b'/' {
            return None;
        }
        let url1 = crate::chars::visible_run_end(buf, url0 + 1);
        // ` HTTP/1.` compared as one word, then `.x CRLF` as another (the two overlap
        // at the dot): `x` is 1 or 0.
        let line: &[u8; 11] = buf.get(url1..url1 + 11)?.try_into().ok()?;
        let (&word, _) = line.split_first_chunk::<8>()?;
        let (_, &tail) = line.split_last_chunk::<4>()?;
        if u64::from_le_bytes(word) != u64::from_le_bytes(*b" HTTP/1.") {
            return None;
        }
        let minor = match u32::from_le_bytes(tail) {
            t if t == u32::from_le_bytes(*b".1\r\n") => 1,
            t if t == u32::from_le_bytes(*b".0\r\n") => 0,
            _ => return None,
        };
        self.url = (url0, url1);
        self.counted = url1 - url0;
        self.version = Version { major: 1, minor };
        Some(url1 + 11)
    }

    /// `HTTP/1.x SP ddd SP reason CRLF` at `start`; returns where the fields start.
    #[inline]
    fn fast_status_line(&mut self, buf: &[u8], start: usize) -> Option<usize> {
        let &[
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            b'1',
            b'.',
            minor @ (b'0' | b'1'),
            b' ',
            d0 @ b'0'..=b'9',
            d1 @ b'0'..=b'9',
            d2 @ b'0'..=b'9',
            b' ',
        ] = buf.get(start..start + 13)?
        else {
            return None;
        };
        let r = start + 13;
        let cr = value_cr(buf, r)?;
        if *buf.get(cr + 1)? != b'\n' {
            return None;
        }
        self.version = Version {
            major: 1,
            minor: minor - b'0',
        };
        self.status = u16::from(d0 - b'0') * 100 + u16::from(d1 - b'0') * 10 + u16::from(d2 - b'0');
        self.reason = (r, cr);
        self.counted = cr - r;
        Some(cr + 2)
    }

    /// The field lines from `i` and the empty line after them; returns the head's end.
    ///
    /// A function of its own: inlined into [`Scanner::fast`], the loop ran short of
    /// registers (some 500 more instructions per browser head, mostly reloads).
    #[inline(never)]
    fn fast_fields<L: SlotList>(&mut self, buf: &[u8], mut i: usize, out: &mut L) -> Option<usize> {
        loop {
            let n0 = i;
            if *buf.get(n0)? == b'\r' {
                // The empty line: the head ends after its LF.
                return (*buf.get(n0 + 1)? == b'\n').then_some(n0 + 2);
            }
            let rest = &buf[n0..];
            if rest.first_chunk::<24>().is_some_and(is_keep_alive_line) {
                // The whole line at once: what the steps below conclude for it.
                self.flags |= F::CONN_KEEP_ALIVE;
                out.push_slot(Slot::shared(n0, n0 + 10, n0 + 12, n0 + 22));
                i = n0 + 24;
                continue;
            }
            // `Host: ` and a value that starts there: the name and its OWS at once.
            let host = rest.first_chunk::<8>().is_some_and(is_host_prefix);
            let (n1, v0) = if host {
                (n0 + 4, n0 + 6)
            } else {
                let mut n1 = crate::chars::name_run_end(buf, n0);
                let mut c = *buf.get(n1)?;
                while c != b':' {
                    if !is_tchar(c) {
                        return None;
                    }
                    n1 = crate::chars::name_run_end(buf, n1 + 1);
                    c = *buf.get(n1)?;
                }
                if n1 == n0 {
                    return None;
                }
                let mut v0 = n1 + 1;
                match buf.get(v0..v0 + 2) {
                    // One SP, the usual form: both bytes at once.
                    Some(&[b' ', b]) if b != b' ' && b != b'\t' => v0 += 1,
                    _ => {
                        while matches!(*buf.get(v0)?, b' ' | b'\t') {
                            v0 += 1;
                        }
                    }
                }
                (n1, v0)
            };
            let cr = value_cr(buf, v0)?;
            if cr == v0 || *buf.get(cr + 1)? != b'\n' {
                return None;
            }
            // The value's span ends at the CR; the value itself without trailing OWS
            // (the only ASCII white space `value_cr` lets through are SP and HTAB).
            let v1 = v0 + buf[v0..cr].trim_ascii_end().len();
            if host {
                self.seen |= seen::HOST;
            } else if maybe_special(buf[n0], n1 - n0) {
                // `Host`, in nearly every request, without the call.
                match buf[n0..n1].first_chunk::<4>() {
                    Some(&name) if n1 - n0 == 4 => {
                        if u32::from_le_bytes(name) | 0x2020_2020 == u32::from_le_bytes(*b"host") {
                            self.seen |= seen::HOST;
                        }
                    }
                    _ => self.fast_special(&buf[n0..n1], &buf[v0..cr])?,
                }
            }
            out.push_slot(Slot::shared(n0, n1, v0, v1));
            i = cr + 2;
        }
    }

    /// Framing headers on the fast path: the plain forms only. `name` is a token and
    /// `raw` the value up to the CR, both without CR (as [`eq_folded`] needs).
    #[inline(never)]
    fn fast_special(&mut self, name: &[u8], raw: &[u8]) -> Option<()> {
        match name.len() {
            6 if eq_folded(name, b"expect") => self.seen |= seen::EXPECT,
            7 if eq_folded(name, b"upgrade") => self.flags |= F::UPGRADE,
            10 if eq_folded(name, b"connection") => self.fast_connection(raw)?,
            16 if eq_folded(name, b"proxy-connection") => self.fast_connection(raw)?,
            14 if eq_folded(name, b"content-length") => {
                if self.flags & (F::CONTENT_LENGTH | F::TRANSFER_ENCODING) != 0 {
                    return None;
                }
                let digits = raw.trim_ascii_end();
                if digits.is_empty() || digits.len() > 19 || raw[digits.len()..].contains(&b'\t') {
                    return None;
                }
                let mut n = 0u64;
                for &d in digits {
                    if !d.is_ascii_digit() {
                        return None;
                    }
                    n = n * 10 + u64::from(d - b'0');
                }
                self.content_length = n;
                self.flags |= F::CONTENT_LENGTH;
            }
            17 if eq_folded(name, b"transfer-encoding") => {
                if self.flags & (F::CONTENT_LENGTH | F::TRANSFER_ENCODING) != 0
                    || !raw.trim_ascii_end().eq_ignore_ascii_case(b"chunked")
                    || raw.contains(&b'\t')
                {
                    return None;
                }
                self.flags |= F::TRANSFER_ENCODING | F::CHUNKED;
            }
            _ => {}
        }
        Some(())
    }

    /// The tokens of a `Connection` (or `Proxy-Connection`) value on the fast path:
    /// one token in place, a list out of line.
    #[inline(always)]
    fn fast_connection(&mut self, raw: &[u8]) -> Option<()> {
        // One token and nothing else, the usual form.
        let one = match raw.len() {
            10 if eq_folded(raw, b"keep-alive") => F::CONN_KEEP_ALIVE,
            5 if eq_folded(raw, b"close") => F::CONN_CLOSE,
            7 if eq_folded(raw, b"upgrade") => F::CONN_UPGRADE,
            _ => 0,
        };
        if one != 0 {
            self.flags |= one;
            return Some(());
        }
        self.fast_connection_list(raw)
    }

    /// [`Scanner::fast_connection`] for a value other than one plain token.
    #[inline(never)]
    fn fast_connection_list(&mut self, raw: &[u8]) -> Option<()> {
        for token in raw.split(|&b| b == b',') {
            // Tabs around a token change llhttp 9.3.1's answer: the scanner decides.
            let t = trim_sp(token);
            if t.contains(&b'\t') {
                return None;
            }
            self.flags |= match t.len() {
                5 if eq_folded(t, b"close") => F::CONN_CLOSE,
                7 if eq_folded(t, b"upgrade") => F::CONN_UPGRADE,
                10 if eq_folded(t, b"keep-alive") => F::CONN_KEEP_ALIVE,
                _ => 0,
            };
        }
        Some(())
    }
}

/// `b | 0x20` at the letters of an eight-byte word (`x` marks a letter), other bytes
/// as they are: a letter then equals its lower case for both its cases, and only
/// for them.
const fn fold_mask(letters: &[u8; 8]) -> u64 {
    let mut m = [0u8; 8];
    let mut k = 0;
    while k < 8 {
        if letters[k] == b'x' {
            m[k] = 0x20;
        }
        k += 1;
    }
    u64::from_le_bytes(m)
}

/// Whether `line` is `Connection: keep-alive` CRLF, name and value in any ASCII case:
/// the usual field line of a keep-alive client, compared as three words.
#[inline(always)]
fn is_keep_alive_line(line: &[u8; 24]) -> bool {
    const W0: u64 = u64::from_le_bytes(*b"connecti");
    const W1: u64 = u64::from_le_bytes(*b"on: keep");
    const W2: u64 = u64::from_le_bytes(*b"-alive\r\n");
    const M0: u64 = fold_mask(b"xxxxxxxx");
    const M1: u64 = fold_mask(b"xx..xxxx");
    const M2: u64 = fold_mask(b".xxxxx..");
    let (w0, rest) = line.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
    let (w1, w2) = rest.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
    let w2 = w2.first_chunk::<8>().unwrap_or(&[0; 8]);
    (u64::from_le_bytes(*w0) | M0) == W0
        && ((u64::from_le_bytes(*w1) | M1) ^ W1) | ((u64::from_le_bytes(*w2) | M2) ^ W2) == 0
}

/// Whether `w` starts with `Host: ` (the name in any ASCII case) followed by a byte
/// other than SP or HTAB: the name ends at the colon and the value after the SP.
#[inline(always)]
fn is_host_prefix(w: &[u8; 8]) -> bool {
    const HOST: u64 = u64::from_le_bytes(*b"host: \0\0");
    const M: u64 = fold_mask(b"xxxx....");
    const SIX: u64 = 0x0000_ffff_ffff_ffff;
    ((u64::from_le_bytes(*w) & SIX) | M) == HOST && w[6] != b' ' && w[6] != b'\t'
}

/// Whether `s` is `lower` in any ASCII case, for `lower` made of lower-case letters and
/// `-` and `s` without CR: `b | 0x20` equals a letter only for its two cases, and `-`
/// only for `-` and CR. All `N` bytes are compared at once, without early exit.
#[inline(always)]
fn eq_folded<const N: usize>(s: &[u8], lower: &[u8; N]) -> bool {
    match s.first_chunk::<N>() {
        Some(c) if s.len() == N => {
            c.iter()
                .zip(lower)
                .fold(0, |d, (&a, &b)| d | ((a | 0x20) ^ b))
                == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(mode: Mode, input: &[u8]) -> Option<usize> {
        Scanner::new(mode, &ParserConfig::default()).try_fast(input)
    }

    #[test]
    fn fast_path_takes_the_common_heads() {
        let browser = b"GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\nHost: www.kittyhell.com\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\nAccept-Language: ja,en-us;q=0.7,en;q=0.3\r\nAccept-Encoding: gzip,deflate\r\nAccept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\nKeep-Alive: 115\r\nConnection: keep-alive\r\nCookie: wp_ozh_wsa_visits=2\r\n\r\n";
        assert_eq!(fast(Mode::Request, browser), Some(browser.len()));
        let tiny = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(fast(Mode::Request, tiny), Some(tiny.len()));
        let post = b"\r\nPOST /p HTTP/1.0\r\nContent-Length: 5 \r\nConnection: close\r\n\r\nhello";
        assert_eq!(fast(Mode::Request, post), Some(post.len() - 5));
        let chunked = b"PUT /p HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n";
        assert_eq!(fast(Mode::Request, chunked), Some(chunked.len()));
        let res = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n";
        assert_eq!(fast(Mode::Response, res), Some(res.len()));
    }

    #[test]
    fn fast_path_declines_what_it_cannot_prove() {
        for input in [
            &b"GET / HTTP/1.1\r\nHost: a\n\r\n"[..],
            b"GET / HTTP/1.1\nHost: a\r\n\r\n",
            b"GET /\xe9 HTTP/1.1\r\n\r\n",
            b"CONNECT a:1 HTTP/1.1\r\n\r\n",
            b"FOO / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nX:\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1\t\r\n\r\n",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: close\t\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n",
        ] {
            assert_eq!(
                fast(Mode::Request, input),
                None,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(fast(Mode::Response, b"HTTP/1.1 200\r\n\r\n"), None);
        assert_eq!(fast(Mode::Response, b"HTTP/1.1 200 OK\n\r\n"), None);
    }

    /// When the fast path takes a head, the scanner takes it too, with the same
    /// result: end, start line, every field range, flags and Content-Length. (The fast
    /// path may always decline.) Returns whether the fast path took it.
    fn agrees(mode: Mode, cfg: &ParserConfig, input: &[u8]) -> bool {
        let mut f = Scanner::new(mode, cfg);
        let Some(end) = f.try_fast(input) else {
            return false;
        };
        let mut s = Scanner::new(mode, cfg);
        let shown = || String::from_utf8_lossy(input).into_owned();
        assert_eq!(s.scan(input, 0), Ok(Scan::Complete(end)), "{:?}", shown());
        assert_eq!(
            (f.msg_start, f.pos, f.method, f.url, f.version),
            (s.msg_start, s.pos, s.method, s.url, s.version),
            "{:?}",
            shown()
        );
        assert_eq!((f.status, f.reason), (s.status, s.reason), "{:?}", shown());
        assert_eq!(f.fields, s.fields, "{:?}", shown());
        assert_eq!(
            (f.flags, f.content_length),
            (s.flags, s.content_length),
            "{:?}",
            shown()
        );
        assert!(s.folds.is_empty());
        // The fields the fast path noted are the ones a compare of the names finds.
        let noted = s.fields.iter().fold(0, |acc, slot| {
            let name = &input[slot.name_range().expect("a slice of the input")];
            acc | if name.eq_ignore_ascii_case(b"host") {
                seen::HOST
            } else if name.eq_ignore_ascii_case(b"expect") {
                seen::EXPECT
            } else {
                0
            }
        });
        assert_eq!(f.seen, noted, "{:?}", shown());
        true
    }

    /// Heads that exercise every part of the fast path.
    const SAMPLES: &[(Mode, &[u8])] = &[
        (
            Mode::Request,
            b"GET /a/b?c=d#e HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nX-Tok_en.1~: v a\tl \t\r\nAccept: */*;q=0.8\r\n\r\n",
        ),
        (
            Mode::Request,
            b"\r\nPOST /upload HTTP/1.0\r\ncontent-length: 42\r\nProxy-Connection: close\r\nX: \xe9t\xe9\r\n\r\nbody",
        ),
        (
            Mode::Request,
            b"PUT /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: Keep-Alive\r\n\r\n",
        ),
        (Mode::Request, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        // wrk's head: the whole-line and the `Host: ` shortcuts, in every case.
        (
            Mode::Request,
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: keep-alive\r\n\r\n",
        ),
        (
            Mode::Request,
            b"GET / HTTP/1.1\r\nhOST: h \r\nCONNECTION: Keep-ALIVE\r\nconnection: keep-alive\r\n\r\n",
        ),
        (
            Mode::Request,
            b"GET / HTTP/1.1\r\nhOST: x\r\nExpect: 100-continue\r\nExpecT: y\r\nHosts: z\r\n\r\n",
        ),
        (
            Mode::Response,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\n",
        ),
        (
            Mode::Response,
            b"HTTP/1.0 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\nTransfer-Encoding: CHUNKED \r\n\r\n",
        ),
    ];

    /// Every single-byte substitution, deletion and duplication of each sample: the
    /// fast path either declines or agrees with the scanner.
    #[test]
    fn fast_path_agrees_under_single_byte_edits() {
        let cfg = ParserConfig::default();
        for &(mode, sample) in SAMPLES {
            assert!(
                agrees(mode, &cfg, sample),
                "{:?}",
                String::from_utf8_lossy(sample)
            );
            let mut taken = 0;
            for at in 0..sample.len() {
                let mut m = sample.to_vec();
                for b in 0..=255u8 {
                    m[at] = b;
                    taken += usize::from(agrees(mode, &cfg, &m));
                }
                let mut d = sample.to_vec();
                d.remove(at);
                agrees(mode, &cfg, &d);
                let mut d = sample.to_vec();
                d.insert(at, sample[at]);
                agrees(mode, &cfg, &d);
            }
            // The edits that keep a head plain stay on the fast path.
            assert!(taken > sample.len() * 24, "{taken}");
        }
    }

    /// Random multi-byte edits (bytes from the classes that matter), under the default
    /// limits and tight ones.
    #[test]
    fn fast_path_agrees_under_random_edits() {
        let cfgs = [
            ParserConfig::default(),
            ParserConfig::default().with_max_header_size(40),
            ParserConfig::default().with_max_header_size(64),
            ParserConfig {
                max_headers_count: 2,
                ..ParserConfig::default()
            },
        ];
        let pool = b"\r\n\t :,;-_.~/?#@\"\x00\x01\x0b\x0c\x1f\x7f\x80\xe9\xffaAzZ09kKcCuUeE";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..40_000 {
            let (mode, sample) = SAMPLES[round % SAMPLES.len()];
            let mut m = sample.to_vec();
            for _ in 0..=(next() % 3) {
                let at = (next() % m.len() as u64) as usize;
                let b = pool[(next() % pool.len() as u64) as usize];
                match next() % 4 {
                    0 => m.insert(at, b),
                    1 if m.len() > 1 => {
                        m.remove(at);
                    }
                    _ => m[at] = b,
                }
            }
            for cfg in &cfgs {
                agrees(mode, cfg, &m);
            }
        }
    }

    /// Values and names across the sixteen-byte blocks of the word scans, and heads cut
    /// at every length (the fast path reads past no end).
    #[test]
    fn fast_path_agrees_at_block_edges() {
        let cfg = ParserConfig::default();
        for n in 1..40 {
            for v in 1..40 {
                let head = format!(
                    "GET /{} HTTP/1.1\r\n{}: {} \r\n\r\n",
                    "u".repeat(n),
                    "N".repeat(n),
                    "v".repeat(v)
                );
                assert!(agrees(Mode::Request, &cfg, head.as_bytes()), "{head:?}");
                for cut in 0..head.len() {
                    assert!(!agrees(Mode::Request, &cfg, &head.as_bytes()[..cut]));
                }
            }
        }
    }

    /// Start lines and framing fields in the forms the fast path takes, and in nearby
    /// forms it must leave to the scanner (or take with the same answer).
    #[test]
    fn fast_path_agrees_on_forms() {
        let cfg = ParserConfig::default();
        for line in [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 200 ",
            "HTTP/1.1 200",
            "HTTP/1.1 200 OK ",
            "HTTP/1.1 200 O\tK",
            "HTTP/1.1 200 \u{ff}",
            "HTTP/1.1 200 \u{1}",
            "HTTP/1.0 999 x",
            "HTTP/1.2 200 OK",
            "HTTP/2.0 200 OK",
            "HTTP/1.1 20a OK",
            "HTTP/1.1  200 OK",
        ] {
            let head = format!("{line}\r\nA: b\r\n\r\n");
            agrees(Mode::Response, &cfg, head.as_bytes());
        }
        for line in [
            "GET / HTTP/1.1",
            "GET /?# HTTP/1.1",
            "GET //a?b?c#d#e HTTP/1.1",
            "GET /a\"{}|\\^`[] HTTP/1.0",
            "OPTIONS /x HTTP/1.0",
            "M-SEARCH / HTTP/1.1",
            "UNSUBSCRIBE / HTTP/1.1",
            "PRI / HTTP/1.1",
            "DESCRIBE / HTTP/1.1",
            "get / HTTP/1.1",
            "GETX / HTTP/1.1",
            "GET  / HTTP/1.1",
            "GET / HTTP/1.1 ",
            "GET /  HTTP/1.1",
            "GET * HTTP/1.1",
            "GET http://a/ HTTP/1.1",
            "CONNECT / HTTP/1.1",
            "GET / HTTP/1.2",
            "GET / HTTP/0.9",
            "GET /",
        ] {
            let head = format!("{line}\r\nA: b\r\n\r\n");
            agrees(Mode::Request, &cfg, head.as_bytes());
        }
        let fields = [
            "Content-Length: 0",
            "Content-Length: 007",
            "Content-Length: 12 ",
            "Content-Length: 1844674407370955161",
            "Content-Length: 18446744073709551615",
            "Content-Length: 99999999999999999999",
            "Content-Length: 1 2",
            "Content-Length: +1",
            "Content-Length: 1\t",
            "Transfer-Encoding: chunked",
            "Transfer-Encoding: CHUNKED ",
            "Transfer-Encoding: gzip, chunked",
            "Transfer-Encoding: chunked, gzip",
            "Transfer-Encoding: chunked\t",
            "Connection: close",
            "Connection: Keep-Alive",
            "Connection: UPGRADE",
            "Connection: close, keep-alive",
            "Connection: keep-alive , upgrade",
            "Connection: ,close,",
            "Connection: closed",
            "Connection: close\t",
            "Connection: \tclose",
            "Proxy-Connection: close",
            "Upgrade: websocket",
            "Upgrade-Insecure-Requests: 1",
            "Connectionx: close",
            "Content-Lengthy: 1",
        ];
        for a in fields {
            for b in fields {
                let head = format!("POST / HTTP/1.1\r\n{a}\r\n{b}\r\n\r\n");
                agrees(Mode::Request, &cfg, head.as_bytes());
                let head = format!("HTTP/1.1 200 OK\r\n{a}\r\n{b}\r\n\r\n");
                agrees(Mode::Response, &cfg, head.as_bytes());
            }
        }
    }
}
