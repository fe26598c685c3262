//! Node's `ServerResponse` as a handle on the connection.

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use courier_proto::outgoing::{HeaderValue, OutgoingError};
use courier_proto::server::{ReqId, Responder};

use crate::conn::Locked;
use crate::events::{ResponseEvents, Socket, TimeoutListener, TimeoutTarget};
use crate::handle_ref::HandleRef;

/// The response to one request (Node's `ServerResponse`, RES-1 … RES-31).
///
/// Header and status calls take effect at once and fail as Node's do (with Node's
/// error codes, [`OutgoingError::code`]). [`Self::write`] and [`Self::end`] queue
/// the bytes and then wait while the connection holds more than the high-water mark
/// of unsent bytes (Node's `write()` returning `false` until `'drain'`). Responses to
/// pipelined requests may be written in any order: each goes out when the ones
/// before it have finished (RES-30).
///
/// **Dropped without [`Self::end`]**: a Rust handle that is dropped can never be
/// ended later (in Node an unended response holds its socket until a timeout), so
/// the drop ends it as Node's `res.end()` would when nothing of it was sent yet: the
/// status and headers set so far, an empty body (`Content-Length: 0`), and the
/// connection goes on. Once part of it was sent (`headers_sent`), or when the handle
/// is dropped by a panic, ending it would pass a truncated body off as complete, so
/// the connection is destroyed instead, as Node's `res.destroy()` does: unsent bytes
/// are dropped, the client sees the connection close, and requests pipelined behind
/// it are abandoned.
pub struct ServerResponse {
    shared: HandleRef,
    id: ReqId,
    /// `end` succeeded through this handle: dropping it destroys nothing.
    ended: bool,
}

impl core::fmt::Debug for ServerResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerResponse")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ServerResponse {
    pub(crate) fn new(shared: HandleRef, id: ReqId) -> Self {
        Self {
            shared,
            id,
            ended: false,
        }
    }

    /// The response's `'finish'` / `'close'` (RES-27): a future resolving to `true`
    /// once every byte of the response was written to the socket, `false` when it
    /// never will be (connection destroyed, client gone, response dropped unended).
    pub fn events(&self) -> ResponseEvents {
        ResponseEvents::new(self.shared.lock().response_signal(self.id))
    }

    /// `res.socket`: the connection's socket.
    pub fn socket(&self) -> Socket {
        Socket::new(Arc::clone(&self.shared))
    }

    /// `res.setTimeout(ms)` without a callback: sets the socket's inactivity timeout
    /// (zero turns it off, RES-29). With no `'timeout'` listener anywhere, expiry
    /// destroys the connection (SRV-19).
    pub fn set_timeout(&self, timeout: Duration) {
        self.socket().set_timeout(timeout);
    }

    /// `res.setTimeout(ms, cb)` (RES-29): sets the socket's inactivity timeout and
    /// listens for `'timeout'` on this response. While the returned listener lives and
    /// this response is the connection's current one, expiry resolves
    /// [`TimeoutListener::fired`] instead of destroying the connection (SRV-19).
    pub fn set_timeout_notify(&self, timeout: Duration) -> TimeoutListener {
        self.socket().set_timeout(timeout);
        TimeoutListener::register(&self.shared, TimeoutTarget::Response(self.id))
    }

    /// Runs `f` on the machine's response; `ERR_STREAM_DESTROYED` when the response
    /// is gone (finished, or its connection destroyed). `wake` schedules the
    /// connection's task afterwards (the call produced output or ended the response).
    fn with<R>(
        &self,
        wake: bool,
        f: impl FnOnce(&mut Responder<'_>) -> Result<R, OutgoingError>,
    ) -> Result<R, OutgoingError> {
        let mut core = self.shared.lock();
        if core.closed {
            return Err(OutgoingError::Destroyed);
        }
        let result = match core.conn.response(self.id) {
            Some(mut r) => f(&mut r),
            None => Err(OutgoingError::Destroyed),
        };
        if wake {
            core.wake_io();
        }
        result
    }

    /// Changes the response's header store, status or flags: what writes nothing
    /// (see [`courier_proto::server::ServerConn::response_fields`]).
    fn with_fields<R>(
        &self,
        f: impl FnOnce(&mut courier_proto::outgoing::ServerResponse) -> Result<R, OutgoingError>,
    ) -> Result<R, OutgoingError> {
        let mut core = self.shared.lock();
        if core.closed {
            return Err(OutgoingError::Destroyed);
        }
        match core.conn.response_fields(self.id) {
            Some(r) => f(r),
            None => Err(OutgoingError::Destroyed),
        }
    }

    /// Reads the response state (`None` once it is gone).
    fn read<R>(&self, f: impl FnOnce(&courier_proto::outgoing::ServerResponse) -> R) -> Option<R> {
        let core = self.shared.lock();
        core.conn.response_state(self.id).map(f)
    }

    /// The request this response answers.
    pub fn id(&self) -> ReqId {
        self.id
    }

    /// `res.statusCode` (200 until set; the last value once gone).
    pub fn status_code(&self) -> u16 {
        self.read(|r| r.status_code()).unwrap_or(200)
    }

    /// `res.statusCode = code` (checked when the head is rendered, RES-10).
    pub fn set_status_code(&mut self, code: u16) -> Result<(), OutgoingError> {
        self.with_fields(|r| {
            r.set_status_code(code);
            Ok(())
        })
    }

    /// `res.statusMessage = message`.
    pub fn set_status_message(&mut self, message: &str) -> Result<(), OutgoingError> {
        self.with_fields(|r| {
            r.set_status_message(Some(message));
            Ok(())
        })
    }

    /// `res.sendDate = on`: whether the automatic `Date` field is sent.
    pub fn set_send_date(&mut self, on: bool) -> Result<(), OutgoingError> {
        self.with_fields(|r| {
            r.set_send_date(on);
            Ok(())
        })
    }

    /// `res.strictContentLength = on` (RES-28).
    pub fn set_strict_content_length(&mut self, on: bool) -> Result<(), OutgoingError> {
        self.with_fields(|r| {
            r.set_strict_content_length(on);
            Ok(())
        })
    }

    /// `res.setHeader(name, value)` (RES-2).
    pub fn set_header(
        &mut self,
        name: &str,
        value: impl Into<HeaderValue>,
    ) -> Result<&mut Self, OutgoingError> {
        let value = value.into();
        self.with_fields(|r| r.set_header(name, value).map(|_| ()))?;
        Ok(self)
    }

    /// `res.appendHeader(name, value)` (RES-5).
    pub fn append_header(
        &mut self,
        name: &str,
        value: impl Into<HeaderValue>,
    ) -> Result<&mut Self, OutgoingError> {
        let value = value.into();
        self.with_fields(|r| r.append_header(name, value).map(|_| ()))?;
        Ok(self)
    }

    /// `res.removeHeader(name)` (RES-4).
    pub fn remove_header(&mut self, name: &str) -> Result<&mut Self, OutgoingError> {
        self.with_fields(|r| r.remove_header(name).map(|_| ()))?;
        Ok(self)
    }

    crate::header_read_methods!(read);

    /// `res.setHeaders(headers)` (RES-6): every pair is checked before any is applied;
    /// `set-cookie` values are gathered into one list.
    pub fn set_headers<'a>(
        &mut self,
        headers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<&mut Self, OutgoingError> {
        self.with_fields(|r| r.set_headers(headers).map(|_| ()))?;
        Ok(self)
    }

    /// `res.statusMessage`: the reason phrase set so far (`None` = the standard one
    /// for the status code, chosen when the head is rendered).
    pub fn status_message(&self) -> Option<String> {
        self.read(|r| r.status_message().map(str::to_owned))
            .flatten()
    }

    /// `res.sendDate`: whether the automatic `Date` field will be sent.
    pub fn send_date(&self) -> bool {
        self.read(|r| r.send_date()).unwrap_or(true)
    }

    /// `res.strictContentLength` (RES-28).
    pub fn strict_content_length(&self) -> bool {
        self.read(|r| r.strict_content_length()).unwrap_or(false)
    }

    /// `res.writableFinished`: the response was ended and has left the connection's
    /// queue (its bytes were handed to the socket), or its connection is gone.
    pub fn writable_finished(&self) -> bool {
        self.read(|_| false).unwrap_or(true)
    }

    /// `res.destroy()`: abandons the response and destroys its connection (unsent
    /// bytes are dropped, requests pipelined behind it are abandoned).
    pub fn destroy(&mut self) {
        let mut core = self.shared.lock();
        core.conn.destroy();
        core.wake_io();
    }

    /// `res.writeHead(status, reason, headers)` (RES-7 … RES-9). The head is sent with
    /// the first body bytes, `end` or `flush_headers` (RES-21).
    pub fn write_head<'a>(
        &mut self,
        status: u16,
        reason: Option<&str>,
        headers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<&mut Self, OutgoingError> {
        self.with(false, |r| r.write_head(status, reason, headers).map(|_| ()))?;
        Ok(self)
    }

    /// `res.headersSent` (RES-26). True once the response is gone.
    pub fn headers_sent(&self) -> bool {
        self.read(|r| r.headers_sent()).unwrap_or(true)
    }

    /// `res.writableEnded`. True once the response is gone.
    pub fn writable_ended(&self) -> bool {
        self.read(|r| r.writable_ended()).unwrap_or(true)
    }

    /// `res.flushHeaders()` (RES-21).
    pub fn flush_headers(&mut self) -> Result<(), OutgoingError> {
        self.with(true, |r| r.flush_headers())
    }

    /// `res.addTrailers(headers)` (RES-20): sent after a chunked body.
    pub fn add_trailers<'a>(
        &mut self,
        trailers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<(), OutgoingError> {
        self.with(false, |r| r.add_trailers(trailers))
    }

    /// `res.writeContinue()`: `HTTP/1.1 100 Continue` (SRV-7).
    pub fn write_continue(&mut self) -> Result<(), OutgoingError> {
        self.with(true, |r| r.write_continue())
    }

    /// `res.writeProcessing()`: `HTTP/1.1 102 Processing`.
    pub fn write_processing(&mut self) -> Result<(), OutgoingError> {
        self.with(true, |r| r.write_processing())
    }

    /// `res.writeEarlyHints(hints)`: `HTTP/1.1 103 Early Hints`.
    pub fn write_early_hints<'l, 'e>(
        &mut self,
        links: impl IntoIterator<Item = &'l str>,
        extra: impl IntoIterator<Item = (&'e str, HeaderValue)>,
    ) -> Result<(), OutgoingError> {
        self.with(true, |r| r.write_early_hints(links, extra))
    }

    /// `res.write(chunk)` (RES-23), then waits while the connection holds more than
    /// the high-water mark of unsent bytes (Node's `'drain'`).
    pub async fn write(&mut self, chunk: impl Into<Bytes>) -> Result<(), OutgoingError> {
        let chunk = chunk.into();
        let below = self.with(true, |r| r.write(chunk))?;
        if !below {
            self.drained().await;
        }
        Ok(())
    }

    /// `res.write(chunk)` without waiting: `Ok(false)` means the caller should wait
    /// for [`Self::drained`] before writing more (Node's return value).
    pub fn write_now(&mut self, chunk: impl Into<Bytes>) -> Result<bool, OutgoingError> {
        let chunk = chunk.into();
        self.with(true, |r| r.write(chunk))
    }

    /// `res.end(chunk)` (RES-24), then waits like [`Self::write`]. A second `end(None)`
    /// is a no-op.
    pub async fn end(&mut self, chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        // One lock for the end and the first look at the output (`drained`).
        if !self.end_inner(chunk, true)? {
            self.drained().await;
        }
        Ok(())
    }

    /// `res.end(chunk)` without waiting for the output to drain.
    pub fn end_now(&mut self, chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        self.end_inner(chunk, false).map(|_| ())
    }

    /// Ends the response; with `check`, returns whether the output is below the mark
    /// already (what [`Self::drained`] looks at first), else `true`.
    fn end_inner(&mut self, chunk: Option<Bytes>, check: bool) -> Result<bool, OutgoingError> {
        let mut core = self.shared.lock();
        if core.closed {
            return Err(OutgoingError::Destroyed);
        }
        // The usual case: the body went out with the head, nothing of the response
        // is left unsent.
        if let Some(data) = &chunk {
            if core.conn.end_response_usual(self.id, data) {
                return Ok(Self::after_end(
                    &mut self.ended,
                    self.id,
                    &mut core,
                    0,
                    check,
                ));
            }
        }
        let mut chunk = chunk;
        // With the response's own unsent bytes after the end (an upper bound: some
        // may have moved to the connection's queue since).
        let ended = core.conn.end_response_general(self.id, &mut chunk);
        let mut buffered = 0;
        let result = match ended {
            Some((result, unsent)) => {
                buffered = unsent;
                result
            }
            None => {
                // Dropped by a destroyed connection rather than finished?
                let destroyed = core.conn.wants_close() == Some(courier_proto::server::Close::Now)
                    || core.response_outcome(self.id) == Some(false);
                if destroyed {
                    Err(OutgoingError::Destroyed)
                } else if chunk.is_none_or(|c| c.is_empty()) {
                    // Finished already: a second `end` is a no-op unless it carries data.
                    Ok(())
                } else {
                    Err(OutgoingError::WriteAfterEnd)
                }
            }
        };
        if let Err(e) = result {
            core.wake_io();
            return Err(e);
        }
        Ok(Self::after_end(
            &mut self.ended,
            self.id,
            &mut core,
            buffered,
            check,
        ))
    }

    /// After `end` succeeded, with `buffered` of the response's bytes unsent: see
    /// [`Self::end_inner`].
    #[inline(always)]
    fn after_end(
        ended: &mut bool,
        id: ReqId,
        core: &mut Locked<'_>,
        buffered: usize,
        check: bool,
    ) -> bool {
        if !*ended {
            *ended = true;
            // Dropping an ended handle changes nothing: it lets go of its entry now.
            core.response_handle_dropped(id);
        }
        core.wake_io();
        if !check {
            return true;
        }
        // Below the mark even counting those bytes twice: writable without looking the
        // response up again.
        let queued = core.conn.outgoing().len();
        queued + buffered < core.write_high_water || core.writable(id)
    }

    /// Resolves once the unsent bytes ahead of and in this response are below the
    /// high-water mark, or the response or its connection is gone (Node's `'drain'`).
    pub async fn drained(&self) {
        core::future::poll_fn(|cx| {
            let mut core: Locked<'_> = self.shared.lock();
            if core.writable(self.id) {
                return Poll::Ready(());
            }
            core.drain_waiters.push(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

impl Drop for ServerResponse {
    fn drop(&mut self) {
        // Ended through this handle: it stays ended, and `end` let go of the entry
        // already.
        if !self.ended {
            self.drop_unended();
        }
    }
}

impl ServerResponse {
    /// The handle goes without having ended the response (see the type's docs).
    #[inline(never)]
    fn drop_unended(&mut self) {
        let mut core = self.shared.lock();
        let unended = core
            .conn
            .response(self.id)
            .is_some_and(|r| !r.writable_ended());
        if unended {
            // See the type's docs: Node's `res.end()` when nothing was sent yet,
            // Node's `res.destroy()` once part of the response left (or in a panic).
            let fresh = core
                .conn
                .response(self.id)
                .is_some_and(|r| !r.headers_sent());
            let ended = fresh
                && !std::thread::panicking()
                && core
                    .conn
                    .response(self.id)
                    .is_some_and(|mut r| r.end(None).is_ok());
            if !ended {
                core.conn.destroy();
            }
            core.wake_io();
        }
        core.response_handle_dropped(self.id);
    }
}
