//! The handler's request and response: rt's handles, with blocking calls that pump
//! the connection on the handler's thread.

use core::time::Duration;
use std::borrow::Cow;
use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use courier_proto::head::RequestHead;
use courier_proto::{Headers, NodeDistinct, NodeHeaders, Version};
use courier_rt::{
    HeaderValue, IncomingMessage, OutgoingError, ReqId, ResponseEvents, ServerResponse, Socket,
    TimeoutListener,
};

use crate::conn::Pump;
use crate::io::block_on;

fn run<F: Future>(pump: Option<&Arc<Pump>>, fut: F) -> F::Output {
    match pump {
        Some(p) => p.block_on(fut),
        None => block_on(fut),
    }
}

/// A request as the handler gets it (Node's `IncomingMessage`): rt's
/// [`IncomingMessage`] with a blocking body.
///
/// The body is read with [`std::io::Read`], [`BlockingRequest::chunk`] or
/// [`BlockingRequest::read_body`]. On the connection's thread (the handler's) a read
/// that finds no data reads the socket itself; elsewhere it waits for the
/// connection's thread.
#[derive(Debug)]
pub struct BlockingRequest {
    inner: IncomingMessage,
    pump: Option<Arc<Pump>>,
    /// Body bytes taken from the queue but not yet returned by `read`.
    pending: Bytes,
}

impl BlockingRequest {
    pub(crate) fn new(inner: IncomingMessage, pump: Option<Arc<Pump>>) -> Self {
        Self {
            inner,
            pump,
            pending: Bytes::new(),
        }
    }

    /// rt's handle.
    pub fn inner(&self) -> &IncomingMessage {
        &self.inner
    }

    /// rt's handle, mutable (its async methods need an executor: use the blocking
    /// ones here instead).
    pub fn inner_mut(&mut self) -> &mut IncomingMessage {
        &mut self.inner
    }

    /// rt's handle, giving up the blocking wrapper.
    pub fn into_inner(self) -> IncomingMessage {
        self.inner
    }

    /// `req.method`, e.g. `"GET"`.
    pub fn method(&self) -> &str {
        self.inner.method()
    }

    /// `req.url`: the request-target as sent.
    pub fn url(&self) -> Cow<'_, str> {
        self.inner.url()
    }

    /// `req.httpVersion`, e.g. `"1.1"`.
    pub fn http_version(&self) -> String {
        self.inner.http_version()
    }

    /// The version as a value.
    pub fn version(&self) -> Version {
        self.inner.version()
    }

    /// `req.headers` (MSG-3, MSG-4).
    pub fn headers(&self) -> &NodeHeaders {
        self.inner.headers()
    }

    /// `req.headersDistinct`.
    pub fn headers_distinct(&self) -> &NodeDistinct {
        self.inner.headers_distinct()
    }

    /// `req.rawHeaders`.
    pub fn raw_headers(&self) -> Vec<Bytes> {
        self.inner.raw_headers()
    }

    /// The header fields in wire order.
    pub fn header_fields(&self) -> &Headers {
        self.inner.header_fields()
    }

    /// The whole parsed head.
    pub fn head(&self) -> &RequestHead {
        self.inner.head()
    }

    /// The request's id on its connection.
    pub fn id(&self) -> ReqId {
        self.inner.id()
    }

    /// `req.trailers` once the body ended (`None` before).
    pub fn trailers(&self) -> Option<NodeHeaders> {
        self.inner.trailers()
    }

    /// `req.rawTrailers` once the body ended (`None` before).
    pub fn raw_trailers(&self) -> Option<Vec<Bytes>> {
        self.inner.raw_trailers()
    }

    /// `req.complete`.
    pub fn complete(&self) -> bool {
        self.inner.complete()
    }

    /// `req.aborted`.
    pub fn aborted(&self) -> bool {
        self.inner.aborted()
    }

    /// `req.socket`.
    pub fn socket(&self) -> Socket {
        self.inner.socket()
    }

    /// `req.setTimeout(ms)` (SRV-19).
    pub fn set_timeout(&self, timeout: Duration) {
        self.inner.set_timeout(timeout);
    }

    /// `req.setTimeout(ms, cb)`: see [`IncomingMessage::set_timeout_notify`].
    pub fn set_timeout_notify(&self, timeout: Duration) -> TimeoutListener {
        self.inner.set_timeout_notify(timeout)
    }

    /// `req.destroy(err)` (MSG-10).
    pub fn destroy(&mut self, err: Option<io::Error>) {
        self.pending = Bytes::new();
        self.inner.destroy(err);
    }

    /// The next piece of the body, blocking; `None` at its end.
    pub fn chunk(&mut self) -> Option<io::Result<Bytes>> {
        if !self.pending.is_empty() {
            return Some(Ok(core::mem::take(&mut self.pending)));
        }
        let inner = &mut self.inner;
        run(self.pump.as_ref(), inner.chunk())
    }

    /// Reads the rest of the body into one buffer, blocking.
    pub fn read_body(&mut self) -> io::Result<Bytes> {
        let pending = core::mem::take(&mut self.pending);
        let inner = &mut self.inner;
        let rest = run(self.pump.as_ref(), inner.read_body())?;
        if pending.is_empty() {
            return Ok(rest);
        }
        let mut all = Vec::with_capacity(pending.len() + rest.len());
        all.extend_from_slice(&pending);
        all.extend_from_slice(&rest);
        Ok(all.into())
    }
}

impl Read for BlockingRequest {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pending.is_empty() {
            match self.chunk() {
                Some(Ok(b)) => self.pending = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        Ok(n)
    }
}

/// The handler's response (Node's `ServerResponse`): rt's [`ServerResponse`] with
/// blocking writes.
///
/// [`BlockingResponse::write`] and [`BlockingResponse::end`] block while the
/// connection holds more than the high-water mark of unsent bytes; on the
/// connection's thread they write the socket themselves. It is also
/// [`std::io::Write`] (each `write` is one `res.write(chunk)`). Dropping it before
/// `end` is rt's drop behaviour.
#[derive(Debug)]
pub struct BlockingResponse {
    inner: ServerResponse,
    pump: Option<Arc<Pump>>,
}

fn to_io(e: OutgoingError) -> io::Error {
    io::Error::other(e)
}

impl BlockingResponse {
    pub(crate) fn new(inner: ServerResponse, pump: Option<Arc<Pump>>) -> Self {
        Self { inner, pump }
    }

    /// rt's handle.
    pub fn inner(&self) -> &ServerResponse {
        &self.inner
    }

    /// rt's handle, mutable (its non-blocking methods work from any thread).
    pub fn inner_mut(&mut self) -> &mut ServerResponse {
        &mut self.inner
    }

    /// rt's handle, giving up the blocking wrapper.
    pub fn into_inner(self) -> ServerResponse {
        self.inner
    }

    /// `'finish'` / `'close'`: see [`ServerResponse::events`].
    pub fn events(&self) -> ResponseEvents {
        self.inner.events()
    }

    /// Blocks until the response finished (`true`: its last byte was written,
    /// Node's `'finish'`) or closed without finishing (`false`).
    pub fn wait_finished(&self) -> bool {
        run(self.pump.as_ref(), self.inner.events())
    }

    /// `res.socket`.
    pub fn socket(&self) -> Socket {
        self.inner.socket()
    }

    /// `res.setTimeout(ms)`.
    pub fn set_timeout(&self, timeout: Duration) {
        self.inner.set_timeout(timeout);
    }

    /// `res.setTimeout(ms, cb)`: see [`ServerResponse::set_timeout_notify`].
    pub fn set_timeout_notify(&self, timeout: Duration) -> TimeoutListener {
        self.inner.set_timeout_notify(timeout)
    }

    /// The response's id on its connection.
    pub fn id(&self) -> ReqId {
        self.inner.id()
    }

    /// `res.statusCode`.
    pub fn status_code(&self) -> u16 {
        self.inner.status_code()
    }

    /// `res.statusCode = code`.
    pub fn set_status_code(&mut self, code: u16) -> Result<(), OutgoingError> {
        self.inner.set_status_code(code)
    }

    /// `res.statusMessage = message`.
    pub fn set_status_message(&mut self, message: &str) -> Result<(), OutgoingError> {
        self.inner.set_status_message(message)
    }

    /// `res.sendDate = on`.
    pub fn set_send_date(&mut self, on: bool) -> Result<(), OutgoingError> {
        self.inner.set_send_date(on)
    }

    /// `res.strictContentLength = on`.
    pub fn set_strict_content_length(&mut self, on: bool) -> Result<(), OutgoingError> {
        self.inner.set_strict_content_length(on)
    }

    /// `res.setHeader(name, value)`.
    pub fn set_header(
        &mut self,
        name: &str,
        value: impl Into<HeaderValue>,
    ) -> Result<&mut Self, OutgoingError> {
        self.inner.set_header(name, value)?;
        Ok(self)
    }

    /// `res.appendHeader(name, value)`.
    pub fn append_header(
        &mut self,
        name: &str,
        value: impl Into<HeaderValue>,
    ) -> Result<&mut Self, OutgoingError> {
        self.inner.append_header(name, value)?;
        Ok(self)
    }

    /// `res.removeHeader(name)`.
    pub fn remove_header(&mut self, name: &str) -> Result<&mut Self, OutgoingError> {
        self.inner.remove_header(name)?;
        Ok(self)
    }

    /// `res.getHeader(name)`.
    pub fn get_header(&self, name: &str) -> Option<HeaderValue> {
        self.inner.get_header(name)
    }

    /// `res.hasHeader(name)`.
    pub fn has_header(&self, name: &str) -> bool {
        self.inner.has_header(name)
    }

    /// `res.getHeaderNames()`.
    pub fn get_header_names(&self) -> Vec<String> {
        self.inner.get_header_names()
    }

    /// `res.getRawHeaderNames()`.
    pub fn get_raw_header_names(&self) -> Vec<String> {
        self.inner.get_raw_header_names()
    }

    /// `res.getHeaders()`.
    pub fn get_headers(&self) -> Vec<(String, HeaderValue)> {
        self.inner.get_headers()
    }

    /// `res.setHeaders(headers)`.
    pub fn set_headers<'a>(
        &mut self,
        headers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<&mut Self, OutgoingError> {
        self.inner.set_headers(headers)?;
        Ok(self)
    }

    /// `res.statusMessage`.
    pub fn status_message(&self) -> Option<String> {
        self.inner.status_message()
    }

    /// `res.sendDate`.
    pub fn send_date(&self) -> bool {
        self.inner.send_date()
    }

    /// `res.strictContentLength`.
    pub fn strict_content_length(&self) -> bool {
        self.inner.strict_content_length()
    }

    /// `res.writableFinished`.
    pub fn writable_finished(&self) -> bool {
        self.inner.writable_finished()
    }

    /// `res.destroy()`.
    pub fn destroy(&mut self) {
        self.inner.destroy();
    }

    /// `res.writeHead(status, reason, headers)`.
    pub fn write_head<'a>(
        &mut self,
        status: u16,
        reason: Option<&str>,
        headers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<&mut Self, OutgoingError> {
        self.inner.write_head(status, reason, headers)?;
        Ok(self)
    }

    /// `res.headersSent`.
    pub fn headers_sent(&self) -> bool {
        self.inner.headers_sent()
    }

    /// `res.writableEnded`.
    pub fn writable_ended(&self) -> bool {
        self.inner.writable_ended()
    }

    /// `res.flushHeaders()` (RES-21).
    pub fn flush_headers(&mut self) -> Result<(), OutgoingError> {
        self.inner.flush_headers()
    }

    /// `res.addTrailers(headers)` (RES-20).
    pub fn add_trailers<'a>(
        &mut self,
        trailers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<(), OutgoingError> {
        self.inner.add_trailers(trailers)
    }

    /// `res.writeContinue()` (SRV-7).
    pub fn write_continue(&mut self) -> Result<(), OutgoingError> {
        self.inner.write_continue()
    }

    /// `res.writeProcessing()`.
    pub fn write_processing(&mut self) -> Result<(), OutgoingError> {
        self.inner.write_processing()
    }

    /// `res.writeEarlyHints(hints)`.
    pub fn write_early_hints<'l, 'e>(
        &mut self,
        links: impl IntoIterator<Item = &'l str>,
        extra: impl IntoIterator<Item = (&'e str, HeaderValue)>,
    ) -> Result<(), OutgoingError> {
        self.inner.write_early_hints(links, extra)
    }

    /// `res.write(chunk)` (RES-23), then blocks while the connection holds more than
    /// the high-water mark of unsent bytes (Node's `'drain'`).
    pub fn write(&mut self, chunk: impl Into<Bytes>) -> Result<(), OutgoingError> {
        let inner = &mut self.inner;
        run(self.pump.as_ref(), inner.write(chunk))
    }

    /// `res.write(chunk)` without blocking: `Ok(false)` means wait for
    /// [`Self::drained`] before writing more.
    pub fn write_now(&mut self, chunk: impl Into<Bytes>) -> Result<bool, OutgoingError> {
        self.inner.write_now(chunk)
    }

    /// `res.end(chunk)` (RES-24), then blocks like [`Self::write`].
    pub fn end(&mut self, chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        let inner = &mut self.inner;
        run(self.pump.as_ref(), inner.end(chunk))
    }

    /// `res.end(chunk)` without blocking.
    pub fn end_now(&mut self, chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        self.inner.end_now(chunk)
    }

    /// Blocks until the unsent bytes are below the high-water mark (Node's
    /// `'drain'`).
    pub fn drained(&self) {
        run(self.pump.as_ref(), self.inner.drained());
    }
}

impl Write for BlockingResponse {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        BlockingResponse::write(self, Bytes::copy_from_slice(buf)).map_err(to_io)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drained();
        Ok(())
    }
}
