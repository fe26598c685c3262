//! The handler's request and response: rt's handles, with blocking calls that pump
//! the connection on the handler's thread.

use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::Arc;

use bytes::Bytes;
use courier_rt::{IncomingMessage, OutgoingError, ServerResponse, TimeoutListener};

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

    /// Blocks until `listener` (from `set_timeout_notify`: Node's
    /// `req.setTimeout(ms, callback)`) fires, pumping the connection meanwhile.
    pub fn wait_timeout(&self, listener: &mut TimeoutListener) {
        run(self.pump.as_ref(), listener.fired());
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

/// Every other `IncomingMessage` accessor (`method`, `url`, `headers`, `trailers`,
/// `socket`, `set_timeout`, …) is rt's, reached through `Deref`; only the body
/// calls block here.
impl core::ops::Deref for BlockingRequest {
    type Target = IncomingMessage;
    fn deref(&self) -> &IncomingMessage {
        &self.inner
    }
}

impl core::ops::DerefMut for BlockingRequest {
    fn deref_mut(&mut self) -> &mut IncomingMessage {
        &mut self.inner
    }
}

impl Read for BlockingRequest {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // `pending` is read first, so each further chunk is the body's next.
        let (inner, pump) = (&mut self.inner, self.pump.as_ref());
        crate::io::read_chunks(&mut self.pending, buf, || run(pump, inner.chunk()))
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

    /// Blocks until the response finished (`true`: its last byte was written,
    /// Node's `'finish'`) or closed without finishing (`false`).
    pub fn wait_finished(&self) -> bool {
        run(self.pump.as_ref(), self.inner.events())
    }

    /// Blocks until `listener` (from `set_timeout_notify`: Node's
    /// `res.setTimeout(ms, callback)`) fires, pumping the connection meanwhile.
    pub fn wait_timeout(&self, listener: &mut TimeoutListener) {
        run(self.pump.as_ref(), listener.fired());
    }

    /// `res.write(chunk)` (RES-23), then blocks while the connection holds more than
    /// the high-water mark of unsent bytes (Node's `'drain'`).
    pub fn write(&mut self, chunk: impl Into<Bytes>) -> Result<(), OutgoingError> {
        let inner = &mut self.inner;
        run(self.pump.as_ref(), inner.write(chunk))
    }

    /// `res.end(chunk)` (RES-24), then blocks like [`Self::write`].
    pub fn end(&mut self, chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        let inner = &mut self.inner;
        run(self.pump.as_ref(), inner.end(chunk))
    }

    /// Blocks until the unsent bytes are below the high-water mark (Node's
    /// `'drain'`).
    pub fn drained(&self) {
        run(self.pump.as_ref(), self.inner.drained());
    }
}

/// Every non-blocking `ServerResponse` method (`set_header`, `write_head`,
/// `add_trailers`, `write_continue`, `write_now`, `end_now`, `socket`, …) is rt's,
/// reached through `Deref`. Those that return the handle for chaining return rt's
/// `ServerResponse`, whose `write` / `end` are `async`: call the blocking ones on
/// this wrapper.
impl core::ops::Deref for BlockingResponse {
    type Target = ServerResponse;
    fn deref(&self) -> &ServerResponse {
        &self.inner
    }
}

impl core::ops::DerefMut for BlockingResponse {
    fn deref_mut(&mut self) -> &mut ServerResponse {
        &mut self.inner
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
