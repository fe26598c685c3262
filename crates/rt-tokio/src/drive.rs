//! The I/O loop of one connection: the only code here that touches a socket.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::{Buf, BytesMut};
use courier_rt::{Close, ConnEvent, Connection, Driver, Handover, RequestKind};
use tokio::io::AsyncWrite;
use tokio::time::Sleep;

use crate::handler::Runner;
use crate::server::Handlers;
use crate::upgraded::RawStream;

/// The smallest read: a small request fits, and an allocation this size is cheap
/// to make again after the buffer was freed while idle (glibc serves it from its
/// per-thread cache).
const READ_MIN: usize = 1000;

/// The largest read the spare capacity grows to.
const READ_MAX: usize = 16 * 1024;

/// Segments handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// Output of more than [`GATHER_MIN_SEGMENTS`] segments up to this size is copied into one buffer and written
/// with a plain `write`: cheaper for the kernel than a `writev` of many small
/// segments (a pipelined batch is two segments per response), and the copy is small.
const COALESCE_MAX: usize = 16 * 1024;

/// One response (head + body, two segments) goes out vectored: for so few segments
/// the copy costs more than it saves.
const GATHER_MIN_SEGMENTS: usize = 2;

std::thread_local! {
    /// The buffer small outputs are gathered in: one per thread, not per connection,
    /// so idle connections hold none.
    static GATHER: core::cell::RefCell<Vec<u8>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Writes `slices` (`total` bytes): gathered into one buffer when there are several
/// and they are small, vectored otherwise.
fn poll_write_out<T: AsyncWrite + Unpin>(
    io: &mut T,
    cx: &mut Context<'_>,
    slices: &[IoSlice<'_>],
    total: usize,
) -> Poll<io::Result<usize>> {
    if slices.len() > GATHER_MIN_SEGMENTS && total <= COALESCE_MAX {
        let gathered = GATHER.with(|g| {
            let Ok(mut buf) = g.try_borrow_mut() else {
                return None;
            };
            buf.clear();
            for s in slices {
                buf.extend_from_slice(s);
            }
            Some(Pin::new(&mut *io).poll_write(cx, &buf))
        });
        if let Some(poll) = gathered {
            return poll;
        }
    }
    Pin::new(io).poll_write_vectored(cx, slices)
}

/// What the loop needs from a stream: readiness plus a read into spare capacity
/// (tokio's own safe `try_read_buf`), and `AsyncWrite`.
pub(crate) trait Transport: AsyncWrite + Unpin + Send + 'static {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize>;
    /// The stream, for a handover to the application.
    fn into_raw(self) -> RawStream;
}

impl Transport for tokio::net::TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::net::TcpStream::poll_read_ready(self, cx)
    }
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        tokio::net::TcpStream::try_read_buf(self, buf)
    }
    fn into_raw(self) -> RawStream {
        RawStream::Tcp(self)
    }
}

#[cfg(unix)]
impl Transport for tokio::net::UnixStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::net::UnixStream::poll_read_ready(self, cx)
    }
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        tokio::net::UnixStream::try_read_buf(self, buf)
    }
    fn into_raw(self) -> RawStream {
        RawStream::Unix(self)
    }
}

/// The clock the loop reads: tokio's, so that `tokio::time::pause` drives it in tests.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Runs one connection until its socket is closed (`None`) or handed over: then the
/// handover and the stream are returned, the output before it written.
pub(crate) async fn drive<T: Transport>(
    io: T,
    conn: Connection,
    handlers: &Handlers,
) -> Option<(Handover, T)> {
    let mut state = Loop {
        io,
        conn: &conn,
        handlers,
        sleep: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
        armed: None,
        sleep_polled: false,
        read_size: READ_MIN,
        ready: Vec::new(),
        runners: [None, None, None],
        handover: None,
    };
    core::future::poll_fn(|cx| state.poll(cx)).await;
    match state.handover.take() {
        Some(h) => Some((h, state.io)),
        None => {
            conn.lock().finish();
            None
        }
    }
}

struct Loop<'h, T> {
    io: T,
    conn: &'h Connection,
    handlers: &'h Handlers,
    sleep: Pin<Box<Sleep>>,
    /// The deadline `sleep` is set to: never later than the machine's next deadline
    /// (it is moved only when that one comes earlier; a sleep that fires before the
    /// machine's deadline is simply set again).
    armed: Option<Instant>,
    /// `sleep` was polled (its waker registered) since it was last set.
    sleep_polled: bool,
    /// The spare capacity to read into: grows when a read fills it (pipelined
    /// batches, bodies), so a connection reading small requests keeps a small buffer.
    read_size: usize,
    /// Events found under the lock, handed to the application after it is released.
    ready: Vec<ConnEvent>,
    /// The runners of the `'request'`, `'checkContinue'` and `'checkExpectation'`
    /// handlers, made at their first request.
    runners: [Option<Box<dyn Runner>>; 3],
    /// The socket's handover, once due.
    handover: Option<Handover>,
}

/// What one step decided.
enum Step {
    /// Something changed: run another step.
    Again,
    /// Nothing to do until a waker fires.
    Wait,
    /// Shut the write side down, then end.
    Shutdown,
    /// The socket leaves HTTP: end without closing it.
    Handover(Handover),
    /// End now.
    Done,
}

impl<T: Transport> Loop<'_, T> {
    /// Gives the application one event (with the connection's lock released).
    fn dispatch(&mut self, event: ConnEvent, cx: &mut Context<'_>) {
        let h = self.handlers;
        match event {
            ConnEvent::Request { kind, req, res } => {
                let (slot, handler) = match kind {
                    RequestKind::Request => (0, &h.request),
                    RequestKind::CheckContinue => match &h.check_continue {
                        Some(c) => (1, c),
                        None => (0, &h.request),
                    },
                    RequestKind::CheckExpectation => match &h.check_expectation {
                        Some(c) => (2, c),
                        None => (0, &h.request),
                    },
                };
                self.runners[slot]
                    .get_or_insert_with(|| Arc::clone(handler).runner())
                    .run(req, res, cx);
            }
            ConnEvent::DropRequest { req } => {
                if let Some(cb) = &h.drop_request {
                    let socket = req.socket();
                    cb(req, socket);
                }
            }
            ConnEvent::Timeout { socket } => {
                for cb in &h.timeout {
                    cb(socket.clone());
                }
            }
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // The clocks are read once per wake-up (the Date value changes once a second).
        let now = now();
        let mut wall = Some(SystemTime::now());
        loop {
            let step = self.step(cx, now, wall.take());
            if !self.ready.is_empty() {
                let mut ready = std::mem::take(&mut self.ready);
                for event in ready.drain(..) {
                    self.dispatch(event, cx);
                }
                // Keep the vector's capacity for the next batch.
                self.ready = ready;
            }
            match step {
                Step::Handover(h) => {
                    self.handover = Some(h);
                    return Poll::Ready(());
                }
                Step::Again => {}
                Step::Wait => return Poll::Pending,
                Step::Done => return Poll::Ready(()),
                Step::Shutdown => {
                    // A failed shutdown changes nothing: the socket is dropped next.
                    return Pin::new(&mut self.io).poll_shutdown(cx).map(|_| ());
                }
            }
        }
    }

    fn step(&mut self, cx: &mut Context<'_>, now: Instant, wall: Option<SystemTime>) -> Step {
        let conn = self.conn;
        let mut d = conn.lock();
        d.register(cx.waker());
        // Handles used while this task runs (a handler polled inline) need not wake
        // it: another step follows every step that made progress.
        d.set_driving(true);
        if let Some(wall) = wall {
            d.set_wall_clock(wall);
        }
        let step = self.step_locked(&mut d, cx, now);
        if !matches!(step, Step::Again) {
            d.set_driving(false);
        }
        step
    }

    fn step_locked(&mut self, d: &mut Driver<'_>, cx: &mut Context<'_>, now: Instant) -> Step {
        let mut progress = false;

        // 1. events for the application
        while let Some(event) = d.next_event() {
            self.ready.push(event);
            progress = true;
        }

        // 2. write. A write alone needs no further step: what it changes (responses
        // retired, the queue emptied) is looked at by the sections below and by the
        // events poll at the end.
        let mut wrote = false;
        let mut write_blocked = false;
        loop {
            let written = {
                let out = d.outgoing();
                if out.is_empty() {
                    break;
                }
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let n = out.chunks_vectored(&mut slices);
                let total = slices[..n].iter().map(|s| s.len()).sum();
                poll_write_out(&mut self.io, cx, &slices[..n], total)
            };
            match written {
                Poll::Ready(Ok(n)) if n > 0 => {
                    d.transmitted(now, n);
                    wrote = true;
                }
                Poll::Ready(_) => {
                    d.socket_error();
                    return Step::Done;
                }
                Poll::Pending => {
                    write_blocked = true;
                    break;
                }
            }
        }

        // 3. the socket leaving HTTP, once the output before it is written
        if let Some(h) = d.take_handover() {
            return Step::Handover(h);
        }

        // 4. close
        match d.wants_close() {
            Some(Close::Now) => return Step::Done,
            Some(Close::AfterFlush) if d.outgoing().is_empty() => return Step::Shutdown,
            _ => {}
        }

        // 5. read
        if d.wants_read() {
            loop {
                match self.io.poll_read_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        let buf = d.recv_buf_with(self.read_size);
                        let spare = buf.capacity() - buf.len();
                        match self.io.try_read_buf(buf) {
                            Ok(n) => {
                                if n == spare && self.read_size < READ_MAX {
                                    self.read_size = (self.read_size * 8).min(READ_MAX);
                                }
                                d.received(now, n);
                                progress = true;
                                break;
                            }
                            // The readiness was stale (tokio cleared it): poll it again,
                            // which registers the waker.
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                            Err(_) => {
                                d.socket_error();
                                return Step::Done;
                            }
                        }
                    }
                    Poll::Ready(Err(_)) => {
                        d.socket_error();
                        return Step::Done;
                    }
                    // Nothing to read: an idle connection keeps no receive buffer.
                    Poll::Pending => {
                        d.release_recv_buf();
                        break;
                    }
                }
            }
        }

        // 6. timers, in a step that found nothing else to do (every wake-up ends with
        // one: a step that made progress is followed by another). Compare with the
        // clock before polling the sleep, so an expired deadline is handled even when
        // the task's budget makes the sleep pend.
        let timers = if progress { None } else { d.poll_timeout() };
        match timers {
            Some(t) if t <= now => {
                d.handle_timeout(now);
                progress = true;
            }
            Some(t) => {
                // Deadlines mostly move later (every request pushes the socket's
                // inactivity deadline): only an earlier one resets the timer.
                if self.armed.is_none_or(|a| t < a) {
                    self.sleep.as_mut().reset(tokio::time::Instant::from_std(t));
                    self.armed = Some(t);
                    self.sleep_polled = false;
                }
                // A sleep already registered cannot have fired before its deadline.
                let due = self.armed.is_some_and(|a| a <= now);
                if (due || !self.sleep_polled) && self.sleep.as_mut().poll(cx).is_ready() {
                    // Fired at the armed time: the machine's deadline or earlier.
                    if self.armed.take() == Some(t) {
                        d.handle_timeout(now.max(t));
                    }
                    progress = true;
                } else {
                    self.sleep_polled = true;
                }
            }
            None if !progress => self.armed = None,
            None => {}
        }

        // 7. events again: requests just read, responses the write retired.
        while let Some(event) = d.next_event() {
            self.ready.push(event);
            progress = true;
        }
        if !progress {
            // Output queued by the machine itself (an automatic reply) while the
            // socket takes more; or, after a write, a close or handover that became
            // due: one more step. Neither can repeat without new output or input.
            progress = (!write_blocked && !d.outgoing().is_empty())
                || (wrote && (d.wants_close().is_some() || d.handover_pending()));
        }

        if progress { Step::Again } else { Step::Wait }
    }
}

/// Boxes the application's future for one request.
pub(crate) fn boxed<F>(f: F) -> Pin<Box<dyn Future<Output = ()> + Send>>
where
    F: Future<Output = ()> + Send + 'static,
{
    Box::pin(f)
}
