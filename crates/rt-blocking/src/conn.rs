//! One server connection on its thread: the blocking I/O loop and the pump the
//! handler's blocking calls run.
//!
//! The loop is rt's (see `courier_rt::conn`), one step at a time:
//! handle the driver's events, write its output (blocking, the write timeout at the
//! next deadline), hand over or close, then either read (blocking, the read timeout
//! at the next deadline: a timeout runs the driver's timers) or, when the driver does
//! not want input, park until a handle wakes the thread or the deadline passes.
//!
//! The request handler runs on this thread between steps. When it waits (a body
//! chunk, room to write, the end of its response), [`Pump::block_on`] polls the rt
//! future and, while it is pending, runs steps: the handler's own thread reads the
//! socket and writes its output. Requests that arrive meanwhile (pipelining) are
//! queued and handled in order after the handler returns.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Read};
use std::net::Shutdown;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Instant, SystemTime};

use courier_rt::{Close, ConnEvent, Connection, Handover, Socket};

use crate::io::{
    IoWaker, READ_CHUNK, Stream, Writer, block_on, install_foreign_flush, is_timeout, lock,
    read_timeout,
};
use crate::message::{BlockingRequest, BlockingResponse};
use crate::server::Handlers;

/// How the connection ended.
enum End {
    /// The socket is closed (or to be dropped).
    Closed,
    /// The socket leaves HTTP.
    Handover(Handover),
}

/// What the connection's thread owns.
struct State {
    stream: Option<Stream>,
    /// Events for the application, handled in order between handler calls.
    events: VecDeque<ConnEvent>,
    end: Option<End>,
    buf: Vec<u8>,
}

/// The connection as its handles see it: they pump it through [`Pump::block_on`].
pub(crate) struct Pump {
    conn: Connection,
    waker: Arc<IoWaker>,
    /// The waker as a [`Waker`].
    task_waker: Waker,
    handlers: Arc<Handlers>,
    state: Mutex<State>,
    /// Set once the socket was handed over: a foreign wake must not touch it.
    detached: Arc<AtomicBool>,
    /// The socket's one writer at a time.
    writer: Arc<Writer>,
}

impl core::fmt::Debug for Pump {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pump").finish_non_exhaustive()
    }
}

/// Serves one connection on the current thread until its socket is closed (`None`)
/// or handed over: then the handover and the stream are returned, the output before
/// it written.
pub(crate) fn serve(
    stream: Stream,
    conn: Connection,
    handlers: Arc<Handlers>,
) -> Option<(Handover, Stream)> {
    let waker = IoWaker::current();
    let detached = Arc::new(AtomicBool::new(false));
    let writer = Arc::new(Writer::default());
    install_foreign_flush(&waker, &conn, &stream, &writer, &detached);
    let pump = Arc::new(Pump {
        conn,
        task_waker: Waker::from(Arc::clone(&waker)),
        waker,
        handlers,
        state: Mutex::new(State {
            stream: Some(stream),
            events: VecDeque::new(),
            end: None,
            buf: vec![0; READ_CHUNK],
        }),
        detached,
        writer,
    });
    pump.run();
    pump.waker.set_flush(None);
    let mut st = lock(&pump.state);
    let stream = st.stream.take();
    match st.end.take() {
        Some(End::Handover(h)) => stream.map(|s| (h, s)),
        _ => None,
    }
}

impl Pump {
    /// The connection's main loop: steps, and the application's events in between.
    fn run(self: &Arc<Self>) {
        loop {
            let event = {
                let mut st = lock(&self.state);
                match st.events.pop_front() {
                    Some(e) => Some(e),
                    None if st.end.is_some() => return,
                    None => {
                        self.step(&mut st, true);
                        None
                    }
                }
            };
            if let Some(e) = event {
                self.dispatch(e);
            }
        }
    }

    /// Gives the application one event, on this thread.
    fn dispatch(self: &Arc<Self>, event: ConnEvent) {
        let h = &self.handlers;
        match event {
            ConnEvent::Request { kind, req, res } => {
                let (_, handler) = h.request_handler(kind);
                let req = BlockingRequest::new(req, Some(Arc::clone(self)));
                let res = BlockingResponse::new(res, Some(Arc::clone(self)));
                // A panicking handler ends its own request only (its response is
                // dropped: rt's drop behaviour), as a panicking task does on tokio.
                let _ = catch_unwind(AssertUnwindSafe(|| handler(req, res)));
            }
            ConnEvent::DropRequest { req } => h.emit_drop_request(req),
            ConnEvent::Timeout { socket } => self.fire_timeout(&socket),
        }
    }

    fn fire_timeout(&self, socket: &Socket) {
        self.handlers.emit_timeout(socket);
    }

    /// Runs `fut` to completion. On the connection's thread, while it is pending, the
    /// thread drives the connection; elsewhere the thread parks and the connection's
    /// own thread (or the flush of the thread that wakes it) makes progress.
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> F::Output {
        if self.waker.is_owner() {
            if let Ok(mut st) = self.state.try_lock() {
                let mut fut = pin!(fut);
                let mut cx = Context::from_waker(&self.task_waker);
                loop {
                    if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                        return v;
                    }
                    if st.end.is_some() {
                        // The connection is gone: the handles were woken and fail;
                        // wait for the wake rather than spin.
                        self.waker
                            .park(Some(Instant::now() + core::time::Duration::from_millis(50)));
                    } else {
                        self.step(&mut st, false);
                    }
                }
            }
        }
        block_on(fut)
    }

    /// One step of the loop. `dispatching`: the main loop runs it (queued events are
    /// handled before blocking); otherwise a handler pumps it (events wait).
    fn step(&self, st: &mut State, dispatching: bool) {
        let Some(stream) = st.stream.as_ref() else {
            st.end.get_or_insert(End::Closed);
            return;
        };
        let mut timeouts = Vec::new();
        {
            let mut d = self.conn.lock();
            d.register(&self.task_waker);
            d.set_wall_clock(SystemTime::now());

            // 1. events for the application
            while let Some(event) = d.next_event() {
                match event {
                    ConnEvent::Timeout { socket } => timeouts.push(socket),
                    e => st.events.push_back(e),
                }
            }
        }

        // 2. write, without the connection's lock
        match self.writer.flush(stream, || self.conn.lock(), true) {
            Ok(()) => {}
            Err(e) if is_timeout(&e) => {
                // The deadline came while the peer was not reading: run the timers,
                // then write again at the next step (never read with output pending).
                self.conn.lock().handle_timeout(Instant::now());
                for s in &timeouts {
                    self.fire_timeout(s);
                }
                return;
            }
            Err(_) => self.conn.lock().socket_error(),
        }
        let mut d = self.conn.lock();

        // 3. the socket leaving HTTP, once the output before it is written
        if let Some(h) = d.take_handover() {
            self.detached.store(true, Ordering::Release);
            drop(d);
            st.end = Some(End::Handover(h));
            return;
        }

        // 4. close
        let close = match d.wants_close() {
            Some(Close::Now) => Some(false),
            Some(Close::AfterFlush) if d.outgoing().is_empty() => Some(true),
            _ => None,
        };
        if let Some(shutdown) = close {
            if shutdown {
                let _ = stream.shutdown(Shutdown::Write);
            }
            d.finish();
            drop(d);
            st.stream = None;
            st.end = Some(End::Closed);
            return;
        }

        // 5. timers due, or something to do before blocking
        let now = Instant::now();
        let deadline = d.poll_timeout();
        if deadline.is_some_and(|t| t <= now) {
            d.handle_timeout(now);
            drop(d);
            for s in &timeouts {
                self.fire_timeout(s);
            }
            return;
        }
        // The wakes this step scheduled run when the lock is released.
        let read = d.wants_read();
        drop(d);
        if !timeouts.is_empty()
            || (dispatching && !st.events.is_empty())
            || self.waker.take_notified()
        {
            for s in &timeouts {
                self.fire_timeout(s);
            }
            return;
        }

        // 6. block: read until the deadline, or park until a wake or the deadline
        if !read {
            self.waker.park(deadline);
            return;
        }
        let _ = stream.set_read_timeout(read_timeout(deadline, now));
        let mut reader = stream;
        let result = reader.read(&mut st.buf);
        let now = Instant::now();
        let mut d = self.conn.lock();
        match result {
            Ok(n) => {
                d.recv_buf().extend_from_slice(&st.buf[..n]);
                d.received(now, n);
            }
            Err(e) if is_timeout(&e) => d.handle_timeout(now),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => d.socket_error(),
        }
    }
}
