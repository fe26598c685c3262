//! Node's `ServerResponse` as a pure state object (RES-1 … RES-28).
//!
//! Every failing call leaves the response as it was: it renders nothing, queues
//! nothing and changes no state, except where Node itself keeps a side effect that a
//! caller can see (the header block rendered by a `write` that then fails with
//! `ERR_HTTP_BODY_NOT_ALLOWED`, RES-16).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::OutgoingError;
use super::hints::{inspect_str, is_link};
use super::output::{MERGE_MAX, Output, Sink, Staged};
use super::render::{
    Fields, Policy, Removed, Rendered, keep_alive_fields, render, strict_target, trailer_fields,
};
use super::store::{HeaderStore, HeldFields, check_header, header_store_methods};
use super::value::{HeaderValue, latin1_bytes};
use crate::chars::is_field_value_byte;
use crate::generated::status_text;
use crate::head::Version;
use crate::head::framing::response_body_allowed;
use crate::headers::Headers;
use crate::validate::{
    HEADER_CONTENT, validate_header_name, validate_status_message, validate_value_bytes,
};

/// What a response knows about its request and its server (RES-1).
#[derive(Debug, Clone)]
pub struct ResponseSetup {
    /// The request method was `HEAD` (RES-16).
    pub head_request: bool,
    /// The request's version (RES-18: chunked by default only for HTTP/1.1).
    pub version: Version,
    /// The parser's `shouldKeepAlive` for the request (PRS-25).
    pub keep_alive: bool,
    /// The request had a `TE` field holding the token `chunked` (RES-18).
    pub te_chunked: bool,
    /// The server's `keepAliveTimeout` in milliseconds (RES-14; 0 = no Keep-Alive field).
    pub keep_alive_timeout_ms: u64,
    /// The server's `maxRequestsPerSocket` (0 = unlimited; RES-14 `max=`).
    pub max_requests_per_socket: u32,
    /// This request reached the `maxRequestsPerSocket` limit: `Connection: close` is
    /// written but the connection is not marked last (SRV-5).
    pub requests_limit_reached: bool,
    /// The request asked for `100-continue` (SRV-7).
    pub expect_continue: bool,
    /// The `uniqueHeaders` option, lower-cased (RES-12).
    pub unique_headers: Arc<[Box<str>]>,
    /// `rejectNonStandardBodyWrites` (RES-16).
    pub reject_non_standard_body_writes: bool,
}

impl Default for ResponseSetup {
    fn default() -> Self {
        Self {
            head_request: false,
            version: Version::HTTP_11,
            keep_alive: true,
            te_chunked: false,
            keep_alive_timeout_ms: 5000,
            max_requests_per_socket: 0,
            requests_limit_reached: false,
            expect_continue: false,
            unique_headers: Arc::from(Vec::new()),
            reject_non_standard_body_writes: false,
        }
    }
}

impl ResponseSetup {
    /// Node's `useChunkedEncodingByDefault` (RES-18): HTTP/1.1 requests, and others
    /// whose `TE` field holds `chunked`.
    fn chunked_by_default(&self) -> bool {
        let v = self.version;
        !(v.major < 1 || v.minor < 1) || self.te_chunked
    }

    /// Whether the setup allows the usual case of a one-pass `end`
    /// ([`ServerResponse::usual_reason`]) whatever the response does: a body is
    /// allowed (not `HEAD`), chunked coding would be used by default, the request
    /// limit is not reached and no `100 Continue` is expected.
    fn usual(&self) -> bool {
        !self.head_request
            && self.chunked_by_default()
            && !self.requests_limit_reached
            && !self.expect_continue
    }
}

/// A header block ready to be committed.
struct Head {
    status: u16,
    reason: Cow<'static, str>,
    has_body: bool,
    /// The store with `writeHead`'s headers applied (RES-8), when they went through it
    /// (boxed: rare, and a `Head` is returned by value).
    store: Option<Box<HeaderStore>>,
    rendered: Rendered,
}

/// Node's `ServerResponse` as a pure state object.
///
/// The application sets a status and headers, then writes body pieces; the response
/// renders Node's exact header block and queues wire segments, which the connection
/// takes with [`ServerResponse::take_output`].
///
/// ```
/// use std::collections::VecDeque;
/// use bytes::Bytes;
/// use courier_proto::outgoing::{HeaderValue, ResponseSetup, ServerResponse};
///
/// let mut res = ServerResponse::new(ResponseSetup::default());
/// res.set_clock_date(Bytes::from_static(b"Sun, 06 Nov 1994 08:49:37 GMT"));
/// res.write_head(200, None, [("Content-Type", HeaderValue::from("text/plain"))])?;
/// assert!(res.headers_sent());
/// assert_eq!(res.buffered_len(), 0); // held back until the body (RES-21)
/// res.end(Some(Bytes::from_static(b"hi")))?;
///
/// let mut wire = VecDeque::new();
/// res.take_output(&mut wire);
/// assert_eq!(
///     wire.iter().flat_map(|b| b.iter().copied()).collect::<Vec<u8>>(),
///     b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
///       Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nConnection: keep-alive\r\n\
///       Keep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n\
///       2\r\nhi\r\n0\r\n\r\n"
/// );
/// assert!(res.is_complete() && !res.is_last());
/// # Ok::<(), courier_proto::outgoing::OutgoingError>(())
/// ```
#[derive(Debug)]
pub struct ServerResponse {
    setup: ResponseSetup,
    /// What `setup` allows of the usual case of [`ServerResponse::usual_reason`]
    /// (see [`ResponseSetup::usual`]).
    setup_usual: bool,
    store: HeaderStore,
    status_code: u16,
    status_message: Option<Cow<'static, str>>,
    send_date: bool,
    /// The automatic field's whole line, `Date: <IMF-fixdate>\r\n` (one copy when
    /// rendered).
    clock_date: Option<Bytes>,
    strict_content_length: bool,
    removed: Removed,
    /// `shouldKeepAlive`.
    keep_alive: bool,
    /// `_hasBody`.
    has_body: bool,
    /// `chunkedEncoding`.
    chunked: bool,
    /// `_last`.
    last: bool,
    /// The header block was rendered (`headersSent`).
    rendered: bool,
    /// `_contentLength`.
    content_length: Option<f64>,
    /// `kBytesWritten` (counted while `strictContentLength` is on).
    bytes_written: u64,
    /// `addTrailers`' fields (boxed: rare, and a response is moved around).
    trailers: Option<Box<Headers>>,
    ended: bool,
    destroyed: bool,
    sent_continue: bool,
    out: Output,
    /// A buffer lent by the connection to render into (empty when none).
    lent: BytesMut,
}

impl ServerResponse {
    /// A fresh response (RES-1): status 200, no status message, `sendDate` on,
    /// nothing rendered, `strictContentLength` off.
    pub fn new(setup: ResponseSetup) -> Self {
        let keep_alive = setup.keep_alive;
        let has_body = !setup.head_request;
        let setup_usual = setup.usual();
        Self {
            setup,
            setup_usual,
            store: HeaderStore::new(),
            status_code: 200,
            status_message: None,
            send_date: true,
            clock_date: None,
            strict_content_length: false,
            removed: Removed::default(),
            keep_alive,
            has_body,
            chunked: false,
            last: false,
            rendered: false,
            content_length: None,
            bytes_written: 0,
            trailers: None,
            ended: false,
            destroyed: false,
            sent_continue: false,
            out: Output::default(),
            lent: BytesMut::new(),
        }
    }

    /// Puts a finished response back in the state of [`ServerResponse::new`]`(setup)`
    /// in place, keeping its header store's room, except for the clock date, which
    /// stays as it is (the connection sets it: nothing is done when it is the same).
    /// A response is too large to drop and build anew for every request. Returns the
    /// old setup's `uniqueHeaders` list (for the next reset: a move, not a clone).
    pub(crate) fn reset(&mut self, setup: ResponseSetup) -> Arc<[Box<str>]> {
        // Every field named: a new one cannot be forgotten here.
        let Self {
            setup: old_setup,
            setup_usual,
            store,
            status_code,
            status_message,
            send_date,
            clock_date: _,
            strict_content_length,
            removed,
            keep_alive,
            has_body,
            chunked,
            last,
            rendered,
            content_length,
            bytes_written,
            trailers,
            ended,
            destroyed,
            sent_continue,
            out,
            lent,
        } = self;
        *keep_alive = setup.keep_alive;
        *has_body = !setup.head_request;
        *setup_usual = setup.usual();
        let old_unique = core::mem::replace(old_setup, setup).unique_headers;
        store.clear_for_reuse();
        *status_code = 200;
        if status_message.is_some() {
            *status_message = None;
        }
        *send_date = true;
        *strict_content_length = false;
        *removed = Removed::default();
        *chunked = false;
        *last = false;
        *rendered = false;
        *content_length = None;
        *bytes_written = 0;
        if trailers.is_some() {
            *trailers = None;
        }
        *ended = false;
        *destroyed = false;
        *sent_continue = false;
        out.reset();
        if !lent.is_empty() || lent.capacity() > 0 {
            *lent = BytesMut::new();
        }
        old_unique
    }

    /// Whether the clock date is `date` already (the same bytes, not a copy).
    pub(crate) fn has_clock_date(&self, date: Option<&Bytes>) -> bool {
        match (&self.clock_date, date) {
            (Some(a), Some(b)) => a.as_ptr() == b.as_ptr() && a.len() == b.len(),
            (None, None) => true,
            _ => false,
        }
    }

    /// The date value (IMF-fixdate, CONST-10) used for the automatic `Date` field
    /// (RES-13). Without one there is no automatic `Date`. A value holding a byte
    /// that no field value may hold is ignored.
    pub fn set_clock_date(&mut self, imf_fixdate: Bytes) {
        self.clock_date = Self::checked_clock_date(imf_fixdate);
    }

    /// What [`Self::set_clock_date`] keeps of `imf_fixdate`: the automatic field's
    /// line, when every byte may be in a field value.
    pub(crate) fn checked_clock_date(imf_fixdate: Bytes) -> Option<Bytes> {
        if !imf_fixdate.iter().all(|&b| is_field_value_byte(b)) {
            return None;
        }
        let mut line = Vec::with_capacity(imf_fixdate.len() + 8);
        line.extend_from_slice(b"Date: ");
        line.extend_from_slice(&imf_fixdate);
        line.extend_from_slice(b"\r\n");
        Some(Bytes::from(line))
    }

    /// [`Self::set_clock_date`] with a value [`Self::checked_clock_date`] returned.
    pub(crate) fn set_clock_date_checked(&mut self, date: Option<Bytes>) {
        self.clock_date = date;
    }

    // ----- status and flags (RES-1) -----

    /// `statusCode`.
    pub fn status_code(&self) -> u16 {
        self.status_code
    }

    /// `statusCode = code`. Checked when the header block is rendered (RES-10).
    pub fn set_status_code(&mut self, code: u16) {
        self.status_code = code;
    }

    /// `statusMessage`: `None` until set or until the header block is rendered.
    pub fn status_message(&self) -> Option<&str> {
        self.status_message.as_deref()
    }

    /// `statusMessage = message` (`None` = `undefined`). An empty message counts as
    /// unset when the reason phrase is chosen (RES-7).
    pub fn set_status_message(&mut self, message: Option<&str>) {
        self.status_message = message.map(|m| Cow::Owned(m.to_owned()));
    }

    /// `sendDate`.
    pub fn send_date(&self) -> bool {
        self.send_date
    }

    /// `sendDate = on`.
    pub fn set_send_date(&mut self, on: bool) {
        self.send_date = on;
    }

    /// `strictContentLength`.
    pub fn strict_content_length(&self) -> bool {
        self.strict_content_length
    }

    /// `strictContentLength = on` (RES-28).
    pub fn set_strict_content_length(&mut self, on: bool) {
        self.strict_content_length = on;
    }

    // ----- header store (RES-2 … RES-6) -----

    header_store_methods!();

    /// `removeHeader(name)` (RES-4). Removing `connection`, `content-length`,
    /// `transfer-encoding` or `date` also turns off the matching automatic field,
    /// even when no such header was set (`date`: `sendDate = false`).
    pub fn remove_header(&mut self, name: &str) -> Result<&mut Self, OutgoingError> {
        if self.rendered {
            return Err(OutgoingError::HeadersSentRemove);
        }
        self.removed.note(name);
        if name.eq_ignore_ascii_case("date") {
            self.send_date = false;
        }
        self.store.remove(name);
        Ok(self)
    }

    // ----- the header block (RES-7 … RES-18) -----

    /// Renders a header block without changing anything (see [`Self::commit`]).
    fn prepare(
        &self,
        buf: &mut BytesMut,
        status: u16,
        reason: Option<&str>,
        headers: &[(&str, HeaderValue)],
        known_length: Option<u64>,
    ) -> Result<Head, OutgoingError> {
        if !(100..=999).contains(&status) {
            return Err(OutgoingError::InvalidStatusCode(status));
        }
        let reason: Cow<'static, str> = match (reason, &self.status_message) {
            (Some(r), _) => Cow::Owned(r.to_owned()),
            (None, Some(m)) if !m.is_empty() => m.clone(),
            (None, _) => Cow::Borrowed(status_text(status).unwrap_or("unknown")),
        };
        // RES-8: through the store once it was used, else rendered as given.
        let through_store = self.store.was_used();
        let mut store = None;
        if through_store && !headers.is_empty() {
            let named = headers.iter().filter(|(n, _)| !n.is_empty());
            for (name, value) in named.clone() {
                check_header(name, value)?;
            }
            let mut s = self.store.clone();
            for (name, value) in named {
                s.set_unchecked(name, value.clone());
            }
            store = Some(Box::new(s));
        }
        if let Cow::Owned(r) = &reason {
            // STATUS_CODES' texts (the borrowed case) are valid as they are.
            validate_status_message(r)?;
        }

        // `HTTP/1.1 NNN reason\r\n`, rendered straight into the header block.
        let mut prefix = *b"HTTP/1.1 000 ";
        prefix[9] += (status / 100) as u8;
        prefix[10] += (status / 10 % 10) as u8;
        prefix[11] += (status % 10) as u8;
        let latin1;
        let reason_bytes: &[u8] = if reason.is_ascii() {
            reason.as_bytes()
        } else {
            latin1 = latin1_bytes(&reason);
            &latin1
        };

        let has_body = response_body_allowed(status, self.setup.head_request);
        // SRV-7: a final status before any 100 Continue ends the connection.
        let continue_pending = self.setup.expect_continue && !self.sent_continue;
        let policy = Policy {
            unique: &self.setup.unique_headers,
            date: self.clock_date.as_deref().filter(|_| self.send_date),
            keep_alive: self.keep_alive && !continue_pending,
            last: self.last,
            removed: self.removed,
            has_body,
            chunked_by_default: self.setup.chunked_by_default(),
            agent: false,
            known_length,
            no_chunked_status: status == 204 || status == 304,
            keep_alive_timeout_ms: self.setup.keep_alive_timeout_ms,
            max_requests: self.setup.max_requests_per_socket,
            limit_reached: self.setup.requests_limit_reached,
        };
        let fields = if through_store {
            Fields::Store(store.as_deref().unwrap_or(&self.store))
        } else {
            Fields::Direct(headers)
        };
        // Room for a body that `end()` will copy behind the block (Output::body).
        let room = match known_length {
            Some(n) if has_body && n <= MERGE_MAX as u64 => n as usize,
            _ => 0,
        };
        let rendered = render(
            buf,
            &[&prefix, reason_bytes, b"\r\n"],
            fields,
            &policy,
            room,
        )?;
        Ok(Head {
            status,
            reason,
            has_body,
            store,
            rendered,
        })
    }

    /// [`Self::prepare`] into the lent buffer, if any (see [`Self::lend_buf`]).
    fn prepare_lent(
        &mut self,
        status: u16,
        reason: Option<&str>,
        headers: &[(&str, HeaderValue)],
        known_length: Option<u64>,
    ) -> Result<Head, OutgoingError> {
        let mut buf = core::mem::take(&mut self.lent);
        let head = self.prepare(&mut buf, status, reason, headers, known_length);
        self.lent = buf;
        head
    }

    /// Lends a reusable buffer to render the header block into (the block is then
    /// copied into an allocation of its exact size); [`Self::take_lent_buf`] gives
    /// it back, so that a connection renders every response in one scratch buffer.
    pub(crate) fn lend_buf(&mut self, buf: BytesMut) {
        self.lent = buf;
    }

    /// Takes back the buffer given to [`Self::lend_buf`].
    pub(crate) fn take_lent_buf(&mut self) -> BytesMut {
        core::mem::take(&mut self.lent)
    }

    /// Takes the state a successful render decided.
    fn commit(&mut self, head: Head) {
        let r = head.rendered;
        self.status_code = head.status;
        self.status_message = Some(head.reason);
        self.has_body = head.has_body;
        if let Some(store) = head.store {
            self.store = *store;
        }
        self.chunked = r.chunked;
        self.last = r.last;
        self.keep_alive = r.keep_alive;
        self.removed = r.removed;
        self.content_length = r.content_length;
        self.rendered = true;
        self.out.hold_head(r.head, r.lent);
        if r.expect {
            self.out.release_head();
        }
    }

    /// The strict Content-Length a prepared head would apply.
    fn strict_target_of(&self, head: &Head) -> Option<f64> {
        if !self.strict_content_length {
            return None;
        }
        let has_te = match &head.store {
            Some(s) => s.contains("transfer-encoding"),
            None => self.store.contains("transfer-encoding"),
        };
        strict_target(
            self.strict_content_length,
            head.rendered.content_length,
            head.has_body,
            head.rendered.removed.content_length,
            head.rendered.chunked,
            has_te,
        )
    }

    /// The strict Content-Length in force (Node's `strictContentLength(msg)`).
    fn strict_now(&self) -> Option<f64> {
        if !self.strict_content_length {
            // Not strict: no target, and no need to look for Transfer-Encoding.
            return None;
        }
        strict_target(
            self.strict_content_length,
            self.content_length,
            self.has_body,
            self.removed.content_length,
            self.chunked,
            self.store.contains("transfer-encoding"),
        )
    }

    /// `writeHead(status, reason, headers)` (RES-7, RES-8, RES-9).
    ///
    /// * `status` outside 100..=999 → `ERR_HTTP_INVALID_STATUS_CODE`;
    /// * `reason`: `Some` is used as is (even `""`); `None` takes the status message
    ///   if non-empty, else `STATUS_CODES`, else `unknown`; checked for field-value
    ///   chars (`Invalid character in statusMessage`);
    /// * `headers` go through the store (validated, same name replaces, empty names
    ///   skipped) once `set_header`/`append_header` was used, else they are rendered
    ///   in the given order with duplicates kept.
    ///
    /// The header block is rendered now and held back until the first body bytes,
    /// `end()` or `flush_headers()` (RES-21).
    pub fn write_head<'a>(
        &mut self,
        status: u16,
        reason: Option<&str>,
        headers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<&mut Self, OutgoingError> {
        if self.rendered {
            return Err(OutgoingError::HeadersSentWrite);
        }
        let headers: Vec<(&str, HeaderValue)> = headers.into_iter().collect();
        let head = self.prepare_lent(status, reason, &headers, None)?;
        self.commit(head);
        Ok(self)
    }

    /// Renders the implicit header block (RES-10) if there is none yet.
    fn implicit_head(&mut self) -> Result<(), OutgoingError> {
        if !self.rendered {
            let head = self.prepare_lent(self.status_code, None, &[], None)?;
            self.commit(head);
        }
        Ok(())
    }

    // ----- body (RES-15 … RES-21, RES-23 … RES-28) -----

    /// `write(chunk)` (RES-23). Renders the implicit header block first (the length
    /// is then unknown: chunked, RES-15). A response without body (HEAD, 1xx, 204,
    /// 304) drops the bytes, or fails with `ERR_HTTP_BODY_NOT_ALLOWED` when
    /// `rejectNonStandardBodyWrites` is set (after rendering, as Node does). An
    /// empty chunk writes no body bytes but releases a held-back header block.
    pub fn write(&mut self, chunk: Bytes) -> Result<(), OutgoingError> {
        if self.ended {
            return Err(OutgoingError::WriteAfterEnd);
        }
        if self.destroyed {
            return Err(OutgoingError::Destroyed);
        }
        let len = chunk.len() as u64;
        if let Some(cl) = self.strict_now() {
            let total = self.bytes_written.saturating_add(len);
            if total as f64 > cl {
                return Err(OutgoingError::length_mismatch(total, cl));
            }
        }
        self.implicit_head()?;
        if self.strict_content_length {
            self.bytes_written = self.bytes_written.saturating_add(len);
        }
        if !self.has_body {
            return if self.setup.reject_non_standard_body_writes {
                Err(OutgoingError::BodyNotAllowed)
            } else {
                Ok(())
            };
        }
        self.out.body(chunk, self.chunked);
        Ok(())
    }

    /// `end(chunk)` (RES-24). With the header block not yet rendered, the body length
    /// is known: `Content-Length` of the chunk (0 without one) where the framing rules
    /// allow it (RES-15). Then the last chunk and trailers when chunked. A second
    /// `end(None)` is a no-op; `end(Some(..))` after `end` fails with
    /// `ERR_STREAM_WRITE_AFTER_END`. An empty chunk counts as none (Node's `end('')`).
    pub fn end(&mut self, chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        match chunk.filter(|c| !c.is_empty()) {
            Some(data) => {
                if self.ended {
                    return Err(OutgoingError::WriteAfterEnd);
                }
                if self.destroyed {
                    return Err(OutgoingError::Destroyed);
                }
                if !self.rendered && self.end_plain(&data) {
                    self.ended = true;
                    return Ok(());
                }
                let len = data.len() as u64;
                let total = self.bytes_written.saturating_add(len);
                if self.rendered {
                    if let Some(cl) = self.strict_now() {
                        if total as f64 != cl {
                            return Err(OutgoingError::length_mismatch(total, cl));
                        }
                    }
                } else {
                    let head = self.prepare_lent(self.status_code, None, &[], Some(len))?;
                    // Node throws only after queuing; nothing is queued here (RES-28).
                    if let Some(cl) = self.strict_target_of(&head) {
                        if total as f64 != cl {
                            return Err(OutgoingError::length_mismatch(total, cl));
                        }
                    }
                    self.commit(head);
                }
                if self.strict_content_length {
                    self.bytes_written = total;
                }
                if !self.has_body {
                    if self.setup.reject_non_standard_body_writes {
                        return Err(OutgoingError::BodyNotAllowed);
                    }
                } else {
                    self.out.body(data, self.chunked);
                }
            }
            None => {
                if self.ended {
                    return Ok(());
                }
                if self.destroyed {
                    self.ended = true;
                    return Ok(());
                }
                if !self.rendered {
                    let head = self.prepare_lent(self.status_code, None, &[], Some(0))?;
                    if let Some(cl) = self.strict_target_of(&head) {
                        if self.bytes_written as f64 != cl {
                            return Err(OutgoingError::length_mismatch(self.bytes_written, cl));
                        }
                    }
                    self.commit(head);
                }
            }
        }
        if let Some(cl) = self.strict_now() {
            if self.bytes_written as f64 != cl {
                return Err(OutgoingError::length_mismatch(self.bytes_written, cl));
            }
        }
        if self.has_body && self.chunked {
            let none = Headers::new();
            self.out
                .last_chunk(self.trailers.as_deref().unwrap_or(&none));
        } else {
            self.out.release_head();
        }
        self.ended = true;
        Ok(())
    }

    /// `end(data)` on a response with nothing rendered yet, in the usual case, in one
    /// pass: the header block and `data` straight into the lent buffer and out as one
    /// segment, the state set as [`Self::prepare`] and [`Self::commit`] would set it
    /// (see [`Self::render_usual`]). Returns `false`, having changed nothing but the
    /// lent buffer's bytes (which every render clears), in any other case.
    fn end_plain(&mut self, data: &Bytes) -> bool {
        if self.lent.capacity() == 0 {
            return false;
        }
        let mut out = core::mem::take(&mut self.lent);
        out.clear();
        let reason = self.render_usual(&mut out, data);
        if let Some(reason) = reason {
            let block = out.split().freeze();
            self.commit_usual(reason, data.len());
            self.out.push_head(block);
        }
        self.lent = out;
        reason.is_some()
    }

    /// `end(data)` on a fresh response whose bytes may go straight to the socket (it
    /// is the first in its connection's queue): in the usual case (see
    /// [`Self::render_usual`]) the header block and `data` are appended to `out`, the
    /// connection's output, and the response is ended as [`Self::end`] would end it,
    /// with nothing left to take. The block is copied from `last`, the connection's
    /// last such block, when it would be rendered the same, and rendered into it
    /// otherwise. Returns `false`, having changed nothing, in any other case (a
    /// response that was rendered, ended, destroyed, or holds output; an empty
    /// `data`).
    pub(crate) fn end_into(
        &mut self,
        data: &Bytes,
        out: &mut Vec<u8>,
        last: &mut LastHead,
    ) -> bool {
        if self.rendered
            || self.ended
            || self.destroyed
            || data.is_empty()
            || !self.out.is_drained()
        {
            return false;
        }
        let Some(reason) = self.usual_reason(data) else {
            return false;
        };
        if !last.renders(self, data.len()) && !last.render(self, reason, data.len()) {
            return false;
        }
        last.copy_with(data, out);
        self.commit_usual(reason, data.len());
        self.out.mark_head_released();
        self.ended = true;
        true
    }

    /// The reason phrase of the header block of `end(data)` on a fresh response, in
    /// the usual case: a body a final status allows and small enough to join its
    /// block ([`MERGE_MAX`]), the standard reason phrase, a persistent HTTP/1.1
    /// connection, no `removeHeader` effects, no strict length, no pending
    /// `100 Continue`. `None` in any other case.
    #[inline(always)]
    fn usual_reason(&self, data: &Bytes) -> Option<&'static str> {
        // The most usual of all: status 200 under a setup that allows it, whatever
        // the response does (what the checks below find then, fewer of them).
        if self.setup_usual
            && self.status_code == 200
            && data.len() <= MERGE_MAX
            && self.status_message.is_none()
            && !self.strict_content_length
            && !self.last
            && self.keep_alive
            && self.removed == Removed::default()
        {
            return Some("OK");
        }
        self.usual_reason_full(data)
    }

    /// [`Self::usual_reason`] in full.
    #[inline(never)]
    fn usual_reason_full(&self, data: &Bytes) -> Option<&'static str> {
        let status = self.status_code;
        let s = &self.setup;
        if data.len() > MERGE_MAX
            || self.status_message.is_some()
            || self.strict_content_length
            || self.last
            || !self.keep_alive
            || self.removed != Removed::default()
            || !response_body_allowed(status, s.head_request)
            || status == 204
            || status == 304
            || !s.chunked_by_default()
            || s.requests_limit_reached
            || (s.expect_continue && !self.sent_continue)
        {
            return None;
        }
        // Also rules out a status outside 100..=999 (checked by `prepare`).
        if status == 200 {
            Some("OK")
        } else {
            status_text(status)
        }
    }

    /// Appends the header block of `end(data)` on a fresh response, followed by
    /// `data`, to `out` and returns the reason phrase, in the usual case (see
    /// [`Self::usual_reason`]) with stored fields that change nothing but the block
    /// (see [`HeaderStore::render_plain`]). What the general path renders then, byte
    /// for byte. `None` in any other case, with some bytes appended or none.
    fn render_usual(&self, out: &mut impl Sink, data: &Bytes) -> Option<&'static str> {
        let reason = self.usual_reason(data)?;
        out.reserve_more(232 + reason.len() + data.len());
        let mut out = Staged::new(out);
        if !self.render_usual_block(&mut out, reason, data.len()) {
            return None;
        }
        out.put(data);
        out.finish();
        Some(reason)
    }

    /// The header block of [`Self::render_usual`] (without the body, of length
    /// `len`) into `out`. `false` when the stored fields are not plain, with some
    /// bytes appended or none.
    #[inline(always)]
    fn render_usual_block(&self, out: &mut impl Sink, reason: &'static str, len: usize) -> bool {
        let status = self.status_code;
        if status == 200 {
            out.put(b"HTTP/1.1 200 OK\r\n");
        } else {
            let mut line = *b"HTTP/1.1 000 ";
            line[9] += (status / 100) as u8;
            line[10] += (status / 10 % 10) as u8;
            line[11] += (status % 10) as u8;
            out.put(&line);
            out.put(reason.as_bytes());
            out.put(b"\r\n");
        }
        let Some(user_connection) = self.store.render_plain(out) else {
            return false;
        };
        if let Some(date) = self.usual_date() {
            out.put(date);
        }
        let s = &self.setup;
        let (timeout_ms, max) = (s.keep_alive_timeout_ms, s.max_requests_per_socket);
        if user_connection {
            // The application's own `Connection` field (kept persistent, as the usual
            // case is): no automatic `Connection` or `Keep-Alive` field (RES-14).
            out.put(b"Content-Length: ");
        } else if timeout_ms / 1000 == 5 && max == 0 {
            // Node's defaults, with the name of the length field.
            out.put(DEFAULT_KEEP_ALIVE_LENGTH);
        } else {
            keep_alive_fields(out, timeout_ms, max);
            out.put(b"Content-Length: ");
        }
        small_length_tail(out, len);
        true
    }

    /// The automatic `Date` line a rendered block holds.
    #[inline(always)]
    fn usual_date(&self) -> Option<&Bytes> {
        self.clock_date.as_ref().filter(|_| self.send_date)
    }

    /// The state [`Self::commit`] sets for a block [`Self::render_usual`] rendered.
    fn commit_usual(&mut self, reason: &'static str, len: usize) {
        self.status_message = Some(Cow::Borrowed(reason));
        self.has_body = true;
        // At most `MERGE_MAX`: a 32-bit integer converts in one instruction.
        debug_assert!(len <= MERGE_MAX);
        self.content_length = Some(f64::from(len.min(MERGE_MAX) as u32));
        self.rendered = true;
    }

    /// `flushHeaders()` (RES-21): renders the implicit header block if needed (length
    /// unknown: chunked) and releases it to the output at once.
    pub fn flush_headers(&mut self) -> Result<(), OutgoingError> {
        self.implicit_head()?;
        self.out.release_head();
        Ok(())
    }

    /// `addTrailers(headers)` (RES-20): replaces earlier trailers. Names are checked
    /// with the label `Trailer name`, values with `trailer content`. A list of two or
    /// more values gives one line each (joined with `"; "` for `uniqueHeaders`
    /// names); a shorter list is joined. Trailers are written only with chunked
    /// coding.
    pub fn add_trailers<'a>(
        &mut self,
        trailers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<(), OutgoingError> {
        let t = trailer_fields(&self.setup.unique_headers, trailers)?;
        self.trailers = (!t.is_empty()).then(|| Box::new(t));
        Ok(())
    }

    // ----- interim responses (RES-22) -----

    /// Queues an interim response, allowed until the final header block left.
    fn interim(&mut self, bytes: Bytes) -> Result<(), OutgoingError> {
        if self.out.head_released() || self.ended {
            return Err(OutgoingError::HeadersSentWrite);
        }
        self.out.push(bytes);
        Ok(())
    }

    /// `writeContinue()`: `"HTTP/1.1 100 Continue\r\n\r\n"`, and records that a 100
    /// was sent (SRV-7). Interim responses go out before a held-back header block;
    /// once that block left (or after `end`) they fail with `ERR_HTTP_HEADERS_SENT`
    /// (Node would write them into the body).
    pub fn write_continue(&mut self) -> Result<(), OutgoingError> {
        self.interim(Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n"))?;
        self.sent_continue = true;
        Ok(())
    }

    /// `writeProcessing()`: `"HTTP/1.1 102 Processing\r\n\r\n"`.
    pub fn write_processing(&mut self) -> Result<(), OutgoingError> {
        self.interim(Bytes::from_static(b"HTTP/1.1 102 Processing\r\n\r\n"))
    }

    /// `writeEarlyHints({ link, ...extra })`: with no link nothing is written; each
    /// link must match Node's format (`ERR_INVALID_ARG_VALUE`); then
    /// `"HTTP/1.1 103 Early Hints\r\nLink: " + links joined with ", " + "\r\n"`, one
    /// `"name: value\r\n"` per extra pair, and `"\r\n"`.
    ///
    /// Node writes the link and the extra pairs without checking their characters;
    /// here a link with a character no field value may hold fails with
    /// `ERR_INVALID_CHAR` (`header content ["Link"]`), and extra pairs are checked as
    /// headers are, so that nothing can break the framing.
    ///
    /// ```
    /// use courier_proto::outgoing::{HeaderValue, ResponseSetup, ServerResponse};
    ///
    /// let mut res = ServerResponse::new(ResponseSetup::default());
    /// res.write_early_hints(["</a.css>; rel=preload"], [("x-foo", HeaderValue::from("bar"))])?;
    /// let err = res.write_early_hints(["bad link"], []).unwrap_err();
    /// assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE");
    /// assert!(err.to_string().ends_with("Received 'bad link'"));
    /// # Ok::<(), courier_proto::outgoing::OutgoingError>(())
    /// ```
    pub fn write_early_hints<'l, 'e>(
        &mut self,
        links: impl IntoIterator<Item = &'l str>,
        extra: impl IntoIterator<Item = (&'e str, HeaderValue)>,
    ) -> Result<(), OutgoingError> {
        if self.out.head_released() || self.ended {
            return Err(OutgoingError::HeadersSentWrite);
        }
        let links: Vec<&str> = links.into_iter().collect();
        if links.is_empty() {
            return Ok(());
        }
        if let Some(bad) = links.iter().find(|l| !is_link(l)) {
            return Err(OutgoingError::InvalidHints {
                received: inspect_str(bad),
            });
        }
        let link = latin1_bytes(&links.join(", "));
        validate_value_bytes(HEADER_CONTENT, b"Link", &link)?;
        let mut block = BytesMut::with_capacity(40 + link.len());
        block.put_slice(b"HTTP/1.1 103 Early Hints\r\nLink: ");
        block.put_slice(&link);
        block.put_slice(b"\r\n");
        for (name, value) in extra {
            validate_header_name(name)?;
            let v = value.joined(b",");
            validate_value_bytes(HEADER_CONTENT, name.as_bytes(), &v)?;
            block.put_slice(name.as_bytes());
            block.put_slice(b": ");
            block.put_slice(&v);
            block.put_slice(b"\r\n");
        }
        block.put_slice(b"\r\n");
        self.interim(block.freeze())
    }

    // ----- state -----

    /// `headersSent` (RES-26): the header block was rendered (it may still be held back).
    pub fn headers_sent(&self) -> bool {
        self.rendered
    }

    /// The rendered header block left the response for the output queue (Node's
    /// `_headerSent`), as opposed to [`Self::headers_sent`].
    pub fn header_flushed(&self) -> bool {
        self.out.head_released()
    }

    /// `writableEnded`: `end()` was called (successfully).
    pub fn writable_ended(&self) -> bool {
        self.ended
    }

    /// `finished` (same as `writableEnded`).
    pub fn finished(&self) -> bool {
        self.ended
    }

    /// `destroyed`: [`Self::destroy`] was called.
    pub fn destroyed(&self) -> bool {
        self.destroyed
    }

    /// `chunkedEncoding`: the body uses chunked coding (decided at rendering).
    pub fn chunked_encoding(&self) -> bool {
        self.chunked
    }

    /// `shouldKeepAlive` as it stands (rendering may change it, RES-14, RES-17, SRV-7).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// A `100 Continue` was written (SRV-7).
    pub fn sent_continue(&self) -> bool {
        self.sent_continue
    }

    /// The connection ends after this response (RES-14, RES-15, RES-17, RES-18).
    /// Meaningful once the header block is rendered.
    pub fn is_last(&self) -> bool {
        self.last
    }

    /// Marks this response as the connection's last (Node sets `_last` when the
    /// client half-closed with `httpAllowHalfOpen`, SRV-16).
    pub fn mark_last(&mut self) {
        self.last = true;
    }

    /// Bytes queued and not yet taken (a held-back header block is not counted).
    pub fn buffered_len(&self) -> usize {
        self.out.len()
    }

    /// Moves every queued wire segment to `dst`, in order.
    pub fn take_output(&mut self, dst: &mut VecDeque<Bytes>) {
        self.out.take(dst);
    }

    /// Hands every queued wire segment to `f`, in order.
    pub(crate) fn take_output_each(&mut self, f: impl FnMut(Bytes)) {
        self.out.take_each(f);
    }

    /// Ended, and every byte taken: the connection may treat it as finished once its
    /// socket flushed them (`writableFinished`, RES-27).
    pub fn is_complete(&self) -> bool {
        self.ended && self.out.is_drained()
    }

    /// Marks the response destroyed (the connection died): queued output is dropped,
    /// later writes fail with `ERR_STREAM_DESTROYED` and nothing more is queued.
    pub fn destroy(&mut self) {
        self.destroyed = true;
        self.out.close();
    }
}

/// The header block a connection's last one-pass `end` rendered
/// ([`ServerResponse::end_into`]), with what decided its bytes: the next response
/// that would render the same block copies it instead. Most responses of a
/// connection have the same status, fields and length, and the date changes once
/// a second.
#[derive(Debug, Default)]
pub(crate) struct LastHead {
    /// The block, status line to empty line (empty: none yet).
    block: Vec<u8>,
    /// The stored fields it was rendered from.
    fields: HeldFields,
    status: u16,
    /// The `Date` line it holds: held here, the same pointer means the same bytes.
    date: Option<Bytes>,
    /// `block` followed by a copy of the body it was last sent with, at most
    /// [`BODY_BLOCK_MAX`] bytes (empty when none). A copy, compared byte for byte:
    /// holding the application's `Bytes` would keep alive whatever buffer it is a
    /// slice of (a receive buffer, a file) for as long as the connection lives.
    body_block: Vec<u8>,
    keep_alive_timeout_ms: u64,
    max_requests: u32,
    len: usize,
    /// The fields above describe `block`.
    valid: bool,
}

/// The largest block [`LastHead`] keeps.
const LAST_HEAD_MAX: usize = 1024;

/// The largest body [`LastHead`] keeps after its block.
const BODY_BLOCK_MAX: usize = 256;

impl LastHead {
    /// Whether `res`'s usual block for a body of `len` bytes (see
    /// [`ServerResponse::usual_reason`]) is `self.block`, byte for byte.
    #[inline(always)]
    fn renders(&self, res: &ServerResponse, len: usize) -> bool {
        let same_date = match (&self.date, res.usual_date()) {
            (Some(a), Some(b)) => a.as_ptr() == b.as_ptr() && a.len() == b.len(),
            (None, None) => true,
            _ => false,
        };
        self.valid
            && self.status == res.status_code
            && self.len == len
            && same_date
            && self.keep_alive_timeout_ms == res.setup.keep_alive_timeout_ms
            && self.max_requests == res.setup.max_requests_per_socket
            && res.store.same_fields(&self.fields)
    }

    /// Appends the block and then `data` to `out`: in one copy when `data` is the
    /// body the block was last sent with (most responses of a connection send the
    /// same static body), and keeping them together for the next one otherwise
    /// (when small).
    #[inline(always)]
    fn copy_with(&mut self, data: &Bytes, out: &mut Vec<u8>) {
        // `data` is never empty here, so neither is a `body_block` of this length.
        let n = self.block.len();
        if self.body_block.len() == n + data.len()
            && crate::chars::same_bytes(&self.body_block[n..], data)
        {
            out.extend_from_slice(&self.body_block);
            return;
        }
        self.copy_new_body(data, out);
    }

    /// [`Self::copy_with`] for a body other than the last one.
    #[inline(never)]
    fn copy_new_body(&mut self, data: &Bytes, out: &mut Vec<u8>) {
        out.reserve(self.block.len() + data.len());
        out.extend_from_slice(&self.block);
        out.extend_from_slice(data);
        self.body_block.clear();
        if self.valid && data.len() <= BODY_BLOCK_MAX {
            self.body_block.extend_from_slice(&self.block);
            self.body_block.extend_from_slice(data);
        }
    }

    /// Renders `res`'s usual block for a body of `len` bytes into `self.block`;
    /// `false`, keeping none, when the stored fields are not plain.
    #[inline(never)]
    fn render(&mut self, res: &ServerResponse, reason: &'static str, len: usize) -> bool {
        let mut block = core::mem::take(&mut self.block);
        block.clear();
        let mut stage = Staged::new(&mut block);
        let rendered = res.render_usual_block(&mut stage, reason, len);
        stage.finish();
        let mut fields = core::mem::take(&mut self.fields);
        fields.clear();
        // No body follows the new block yet.
        let mut body_block = core::mem::take(&mut self.body_block);
        body_block.clear();
        if !rendered {
            // Nothing kept but the room: the block is not whole.
            block.clear();
            *self = Self {
                block,
                fields,
                body_block,
                ..Self::default()
            };
            return false;
        }
        if block.len() <= LAST_HEAD_MAX {
            res.store.hold_fields(&mut fields);
            *self = Self {
                block,
                fields,
                status: res.status_code,
                date: res.usual_date().cloned(),
                body_block,
                keep_alive_timeout_ms: res.setup.keep_alive_timeout_ms,
                max_requests: res.setup.max_requests_per_socket,
                len,
                valid: true,
            };
        } else {
            // Used once (`valid` is off: the next one renders again).
            *self = Self {
                block,
                fields,
                body_block,
                ..Self::default()
            };
        }
        true
    }

    /// Whether [`Self::shrink_idle`] has anything to do: the room is kept up to a few
    /// blocks' worth (a connection whose blocks are too large to keep still renders
    /// them there, without allocating for each).
    #[inline]
    pub(crate) fn is_large(&self) -> bool {
        self.block.capacity() > 4 * LAST_HEAD_MAX
    }

    /// Lets go of a large block (an idle connection keeps a small one).
    pub(crate) fn shrink_idle(&mut self) {
        if self.is_large() {
            *self = Self::default();
        }
    }
}

/// The automatic fields of a persistent response under Node's default
/// `keepAliveTimeout` (5 s) and no `maxRequestsPerSocket`, with the name of the
/// length field that follows them.
const DEFAULT_KEEP_ALIVE_LENGTH: &[u8] =
    b"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: ";

/// Appends the value of `Content-Length: len` (its name is there already) and the
/// empty line that ends the block. `len` is at most [`MERGE_MAX`] (three digits).
#[inline(always)]
fn small_length_tail(out: &mut impl Sink, len: usize) {
    const _: () = assert!(MERGE_MAX < 1000);
    debug_assert!(len <= MERGE_MAX);
    if len < 10 {
        out.put(&[b'0' + len as u8]);
    } else if len < 100 {
        out.put(&[b'0' + (len / 10) as u8, b'0' + (len % 10) as u8]);
    } else {
        let len = len.min(999);
        out.put(&[
            b'0' + (len / 100) as u8,
            b'0' + (len / 10 % 10) as u8,
            b'0' + (len % 10) as u8,
        ]);
    }
    out.put(b"\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything `end` leaves behind that anyone can see: the wire segments and
    /// the state.
    /// The bytes `end(body)` puts on the wire and the state it leaves, through
    /// [`ServerResponse::end_into`] with `last` (falling back to `end` where it
    /// declines, having changed nothing), or through `end` alone.
    fn wire_and_state(
        mut res: ServerResponse,
        body: &'static [u8],
        last: Option<&mut LastHead>,
    ) -> (Vec<u8>, String) {
        let data = Bytes::from_static(body);
        let mut out = b"before".to_vec();
        let before = format!("{res:?}");
        let into = last.is_some_and(|last| res.end_into(&data, &mut out, last));
        let result = if into {
            Ok(())
        } else {
            assert_eq!(out, b"before", "a declining end_into appends nothing");
            assert_eq!(
                format!("{res:?}"),
                before,
                "a declining end_into changes nothing"
            );
            res.end(Some(data))
        };
        let mut wire = VecDeque::new();
        res.take_output(&mut wire);
        for seg in wire {
            out.extend_from_slice(&seg);
        }
        let state = format!("{result:?} {}", state_of(&res, res.status_message()));
        (out, state)
    }

    /// What a response shows of its state after `end`, with `msg` for its status
    /// message.
    fn state_of(res: &ServerResponse, msg: Option<&str>) -> String {
        format!(
            "sent={} ended={} last={} ka={} chunked={} status={} msg={msg:?} \
             complete={} flushed={} strict={:?}",
            res.headers_sent(),
            res.writable_ended(),
            res.is_last(),
            res.keep_alive(),
            res.chunked_encoding(),
            res.status_code(),
            res.is_complete(),
            res.header_flushed(),
            res.strict_now(),
        )
    }

    fn ended(mut res: ServerResponse, body: &'static [u8]) -> String {
        let result = res.end(Some(Bytes::from_static(body)));
        let mut wire = VecDeque::new();
        res.take_output(&mut wire);
        // The general path's marker (see below) stays when rendering fails.
        let msg = res.status_message().filter(|m| !m.is_empty());
        format!("{result:?} {wire:?} {}", state_of(&res, msg))
    }

    /// The block cache copies what it compares: the application's body and header
    /// values (slices, perhaps, of a receive buffer or a file) are not kept alive by
    /// the connection once their response is out.
    #[test]
    fn the_block_cache_holds_no_application_bytes() {
        let mut last = LastHead::default();
        for _ in 0..3 {
            let body = Bytes::from(b"Hello, World!".to_vec());
            let value = Bytes::from(b"text/plain".to_vec());
            let mut res = ServerResponse::new(ResponseSetup::default());
            res.set_header("Content-Type", value.clone()).unwrap();
            let mut out = Vec::new();
            assert!(res.end_into(&body, &mut out, &mut last));
            assert!(out.ends_with(b"\r\n\r\nHello, World!"));
            drop(res);
            assert!(body.is_unique(), "the body is held");
            assert!(value.is_unique(), "the header value is held");
        }
    }

    /// An application's own `Connection: keep-alive` keeps the one-pass `end`: the
    /// block holds that field where Node puts it (with the other stored fields,
    /// before `Date`) and no automatic `Connection` or `Keep-Alive` field (RES-14);
    /// the connection stays persistent, and the block is copied from then on.
    #[test]
    fn a_user_connection_field_keeps_the_one_pass_end() {
        let mut last = LastHead::default();
        let want: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
            Connection: keep-alive\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
            Content-Length: 13\r\n\r\nHello, World!";
        // One date line for every response, as a connection's date cache gives.
        let date = ServerResponse::checked_clock_date(Bytes::from_static(
            b"Sun, 06 Nov 1994 08:49:37 GMT",
        ));
        for round in 0..3 {
            let mut res = ServerResponse::new(ResponseSetup::default());
            res.set_clock_date_checked(date.clone());
            res.set_header("Content-Type", "text/plain").unwrap();
            res.set_header("Connection", "keep-alive").unwrap();
            assert_eq!(last.renders(&res, 13), round > 0, "round {round}");
            let mut out = Vec::new();
            let body = Bytes::from_static(b"Hello, World!");
            assert!(res.end_into(&body, &mut out, &mut last), "one pass");
            assert_eq!(out, want, "round {round}");
            assert!(res.keep_alive() && !res.is_last());
        }
        // Asking to close is the general path's to decide.
        let mut res = ServerResponse::new(ResponseSetup::default());
        res.set_header("Connection", "close").unwrap();
        let mut out = Vec::new();
        let body = Bytes::from_static(b"Hello, World!");
        assert!(!res.end_into(&body, &mut out, &mut last));
        assert!(out.is_empty());
    }

    /// `end(data)` on a fresh response gives the same bytes and state in one pass
    /// ([`ServerResponse::end_plain`]) as through `prepare` and `commit`, in every
    /// case the one pass takes and in its neighbours.
    #[test]
    fn the_one_pass_end_matches_the_general_one() {
        type Tweak = fn(&mut ServerResponse);
        let setups: &[fn(&mut ResponseSetup)] = &[
            |_| {},
            |s| s.version = Version { major: 1, minor: 0 },
            |s| {
                s.version = Version { major: 1, minor: 0 };
                s.te_chunked = true;
            },
            |s| s.keep_alive = false,
            |s| s.head_request = true,
            |s| s.expect_continue = true,
            |s| s.requests_limit_reached = true,
            |s| s.keep_alive_timeout_ms = 0,
            |s| s.keep_alive_timeout_ms = 7500,
            |s| s.max_requests_per_socket = 3,
            |s| s.reject_non_standard_body_writes = true,
            |s| s.unique_headers = Arc::from(vec![Box::from("x-list")]),
        ];
        let tweaks: &[Tweak] = &[
            |_| {},
            |r| r.set_status_code(201),
            |r| r.set_status_code(204),
            |r| r.set_status_code(304),
            |r| r.set_status_code(404),
            |r| r.set_status_code(599),
            |r| r.set_status_code(306),
            |r| r.set_status_code(103),
            |r| r.set_status_code(42),
            |r| r.set_status_code(1000),
            |r| r.set_status_message(Some("Fine")),
            |r| r.set_send_date(false),
            |r| r.set_strict_content_length(true),
            |r| r.mark_last(),
            |r| {
                let _ = r.write_continue();
            },
            |r| {
                let _ = r.set_header("Content-Type", Bytes::from_static(b"text/plain"));
                let _ = r.set_header("X-Num", 42);
            },
            |r| {
                let _ = r.set_header("x-a", "1");
                let _ = r.remove_header("x-a");
            },
            |r| {
                let _ = r.set_header("X-List", vec!["a", "b"]);
            },
            |r| {
                // Longer than the rendering stage, between two short ones.
                let _ = r.set_header("X-A", "a");
                let _ = r.set_header("X-Long", vec![b'v'; 300]);
                let _ = r.set_header("X-B", 7);
            },
            |r| {
                // Fills the stage up to the body.
                let _ = r.set_header("X-Mid", vec![b'w'; 120]);
            },
            |r| {
                let _ = r.set_header("Set-Cookie", vec!["a=1"]);
            },
            |r| {
                let _ = r.remove_header("Content-Length");
            },
            |r| {
                let _ = r.remove_header("connection");
            },
            |r| {
                let _ = r.remove_header("Transfer-Encoding");
            },
            |r| {
                let _ = r.remove_header("Date");
            },
        ];
        let fields: &[(&str, &str)] = &[
            ("Connection", "close"),
            ("connection", "keep-alive"),
            ("CONNECTION", "Keep-Alive, Upgrade"),
            ("Connection", "keep-alive, Close"),
            ("Connection", "closed, x-close"),
            ("Connection", "upgrade"),
            ("Content-Length", "4"),
            ("Content-Length", "13"),
            ("Transfer-Encoding", "chunked"),
            ("Date", "yesterday"),
            ("Expect", "x"),
            ("Trailer", "x"),
            ("Keep-Alive", "timeout=9"),
            ("X-Other", "v"),
        ];
        let bodies: &[&'static [u8]] = &[
            b"x",
            b"Hello, World!",
            // The same length, other bytes: not the body the block was last sent with.
            b"Hello, Earth!",
            &[b'y'; MERGE_MAX],
            &[b'z'; MERGE_MAX + 1],
        ];
        let mut cases = 0;
        let mut hits = 0;
        for setup in setups {
            let mut s = ResponseSetup::default();
            setup(&mut s);
            let mut last = LastHead::default();
            for field in fields.iter().map(Some).chain([None]) {
                for tweak in tweaks {
                    for body in bodies {
                        for (date, lent) in [(true, true), (false, true), (true, false)] {
                            let fresh = || {
                                let mut r = ServerResponse::new(s.clone());
                                if date {
                                    r.set_clock_date(Bytes::from_static(
                                        b"Sun, 06 Nov 1994 08:49:37 GMT",
                                    ));
                                }
                                if lent {
                                    r.lend_buf(BytesMut::with_capacity(512));
                                }
                                if let Some((n, v)) = field {
                                    let _ = r.set_header(n, *v);
                                }
                                tweak(&mut r);
                                r
                            };
                            let general = {
                                let mut r = fresh();
                                // An empty message means the standard one, but is
                                // not the usual case: the general path.
                                if r.status_message().is_none() {
                                    r.set_status_message(Some(""));
                                }
                                ended(r, body)
                            };
                            assert_eq!(ended(fresh(), body), general);
                            // Straight into a connection's output, twice: from the
                            // block of the case before, then from its own.
                            let want = wire_and_state(fresh(), body, None);
                            for _ in 0..2 {
                                let r = fresh();
                                hits += usize::from(last.renders(&r, body.len()));
                                let got = wire_and_state(r, body, Some(&mut last));
                                assert_eq!(got, want);
                            }
                            cases += 1;
                        }
                    }
                }
            }
        }
        // The copied block was used where it was valid.
        assert!(hits > 500, "{hits} copies");
        assert!(cases > 10_000);
    }
}
