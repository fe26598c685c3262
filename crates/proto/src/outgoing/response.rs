//! STUB — the interface the server connection machine relies on. To be implemented.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::head::Version;

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

/// A header value as the application set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// One value.
    Text(Bytes),
    /// A number (kept as a number for `get_header`, printed in decimal).
    Int(i64),
    /// Several values (one line each, RES-12).
    List(Vec<Bytes>),
}

/// A misuse of the response, with Node's code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutgoingError {
    /// `ERR_HTTP_HEADERS_SENT`.
    HeadersSent,
}

impl OutgoingError {
    /// Node's code.
    pub fn code(&self) -> &'static str {
        "ERR_HTTP_HEADERS_SENT"
    }
}

/// Node's `ServerResponse` as a pure state object.
#[derive(Debug)]
pub struct ServerResponse {
    setup: ResponseSetup,
    out: VecDeque<Bytes>,
}

impl ServerResponse {
    /// A fresh response (RES-1).
    pub fn new(setup: ResponseSetup) -> Self {
        Self {
            setup,
            out: VecDeque::new(),
        }
    }
    /// The date value (IMF-fixdate) used for the automatic `Date` field.
    pub fn set_clock_date(&mut self, _imf_fixdate: Bytes) {}
    /// `statusCode`.
    pub fn status_code(&self) -> u16 {
        200
    }
    /// `statusCode = code`.
    pub fn set_status_code(&mut self, _code: u16) {}
    /// `sendDate = on`.
    pub fn set_send_date(&mut self, _on: bool) {}
    /// `setHeader`.
    pub fn set_header(
        &mut self,
        _name: &str,
        _value: impl Into<HeaderValue>,
    ) -> Result<&mut Self, OutgoingError> {
        Ok(self)
    }
    /// `writeHead(status, reason, headers)`.
    pub fn write_head<'a>(
        &mut self,
        _status: u16,
        _reason: Option<&str>,
        _headers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<&mut Self, OutgoingError> {
        let _ = &self.setup;
        Ok(self)
    }
    /// `write(chunk)`.
    pub fn write(&mut self, _chunk: Bytes) -> Result<(), OutgoingError> {
        Ok(())
    }
    /// `end(chunk)`.
    pub fn end(&mut self, _chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        Ok(())
    }
    /// `flushHeaders()`.
    pub fn flush_headers(&mut self) -> Result<(), OutgoingError> {
        Ok(())
    }
    /// `writeContinue()`.
    pub fn write_continue(&mut self) -> Result<(), OutgoingError> {
        Ok(())
    }
    /// `headersSent`.
    pub fn headers_sent(&self) -> bool {
        false
    }
    /// `writableEnded`.
    pub fn writable_ended(&self) -> bool {
        false
    }
    /// A `100 Continue` was written (SRV-7).
    pub fn sent_continue(&self) -> bool {
        false
    }
    /// The connection ends after this response (RES-14, RES-15, RES-17, RES-18).
    /// Meaningful once the header block is rendered.
    pub fn is_last(&self) -> bool {
        false
    }
    /// The rendered header block has been queued for output (Node's `_headerSent`:
    /// it left the response, as opposed to `headers_sent`, which is true once rendered).
    pub fn header_flushed(&self) -> bool {
        false
    }
    /// Bytes queued and not yet taken.
    pub fn buffered_len(&self) -> usize {
        self.out.iter().map(Bytes::len).sum()
    }
    /// Moves every queued wire segment to `dst`, in order.
    pub fn take_output(&mut self, dst: &mut VecDeque<Bytes>) {
        dst.extend(self.out.drain(..));
    }
    /// Ended, and every byte taken: the connection may treat it as finished.
    pub fn is_complete(&self) -> bool {
        false
    }
    /// Marks the response destroyed (the connection died).
    pub fn destroy(&mut self) {}
}

impl From<&str> for HeaderValue {
    fn from(s: &str) -> Self {
        Self::Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}
