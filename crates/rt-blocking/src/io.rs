//! The blocking pieces both sides share: the stream, the wakers, waiting on a
//! future by parking the thread, and writing a driver's output.

use core::time::Duration;
use std::future::Future;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread, ThreadId};
use std::time::Instant;

use bytes::Buf;
use courier_net::MaybeTcp;
use courier_proto::conn::{Close, OutQueue};

/// Segments handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// Bytes read from a socket at once.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connected stream: TCP or a Unix socket.
#[derive(Debug)]
pub enum Stream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix socket connection.
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Stream {
    /// Another handle on the same socket.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(match self {
            Self::Tcp(s) => Self::Tcp(s.try_clone()?),
            #[cfg(unix)]
            Self::Unix(s) => Self::Unix(s.try_clone()?),
        })
    }

    /// Shuts down the read side, the write side or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Self::Unix(s) => s.shutdown(how),
        }
    }

    /// The read timeout (`None` blocks without limit).
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_read_timeout(t),
            #[cfg(unix)]
            Self::Unix(s) => s.set_read_timeout(t),
        }
    }

    /// The write timeout (`None` blocks without limit).
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_write_timeout(t),
            #[cfg(unix)]
            Self::Unix(s) => s.set_write_timeout(t),
        }
    }

    /// The peer's address (TCP only).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.tcp_peer_addr()
    }

    /// The local address (TCP only).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp_local_addr()
    }

    /// `setNoDelay`; a Unix socket ignores it.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.tcp_set_no_delay(on)
    }

    /// `setKeepAlive(enable, initialDelay)`; a Unix socket ignores it.
    pub fn set_keep_alive(&self, enable: bool, initial_delay: Duration) -> io::Result<()> {
        self.tcp_set_keep_alive(enable, initial_delay)
    }
}

impl courier_net::MaybeTcp for Stream {
    fn tcp(&self) -> Option<socket2::SockRef<'_>> {
        match self {
            Self::Tcp(s) => Some(s.into()),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Self::Unix(s) => s.read(buf),
        }
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => (&*s).write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).write_vectored(bufs),
            #[cfg(unix)]
            Stream::Unix(s) => (&*s).write_vectored(bufs),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Whether an I/O error is a socket timeout (`SO_RCVTIMEO` / `SO_SNDTIMEO`).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The socket timeout that ends at `deadline` (`None`: no deadline, block). Never
/// zero, which the standard library refuses.
pub(crate) fn timeout_until(deadline: Option<Instant>, now: Instant) -> Option<Duration> {
    deadline.map(|t| {
        t.saturating_duration_since(now)
            .max(Duration::from_millis(1))
    })
}

/// The longest a connection's thread blocks in a read before it looks at its
/// deadlines again. A read in progress cannot be shortened, and another thread may
/// bring a deadline forward (`setTimeout` on a handle used elsewhere): that deadline
/// is then honoured at most this late. Wakes that need the thread sooner (output,
/// a close) do not wait for it: see [`IoWaker`].
pub(crate) const RECHECK: Duration = Duration::from_millis(100);

/// The read timeout of a blocking read: until `deadline`, at most [`RECHECK`].
pub(crate) fn read_timeout(deadline: Option<Instant>, now: Instant) -> Option<Duration> {
    Some(timeout_until(deadline, now).map_or(RECHECK, |t| t.min(RECHECK)))
}

/// What the blocking loops need from a locked driver (server and client alike).
pub(crate) trait Output {
    fn out(&mut self) -> &OutQueue;
    fn sent(&mut self, now: Instant, n: usize);
    fn deadline(&self) -> Option<Instant>;
    fn close(&mut self) -> Option<Close>;
    fn timers(&mut self, now: Instant);
    /// A write failed.
    fn write_failed(&mut self, e: &io::Error);
    /// The connection is destroyed: its output is dropped, nothing more to write.
    fn dead(&mut self) -> bool {
        self.close() == Some(Close::Now)
    }
}

/// `Output` for a driver type whose methods have the same names on both sides;
/// `$failed` is what a failed write does to the driver `$d`.
macro_rules! driver_output {
    ($ty:ty, |$d:ident, $e:ident| $failed:expr) => {
        impl Output for $ty {
            fn out(&mut self) -> &OutQueue {
                self.outgoing()
            }
            fn sent(&mut self, now: Instant, n: usize) {
                self.transmitted(now, n);
            }
            fn deadline(&self) -> Option<Instant> {
                self.poll_timeout()
            }
            fn close(&mut self) -> Option<Close> {
                self.wants_close()
            }
            fn timers(&mut self, now: Instant) {
                self.handle_timeout(now);
            }
            fn write_failed(&mut self, $e: &io::Error) {
                let $d = self;
                $failed;
            }
        }
    };
}

driver_output!(courier_rt::Driver<'_>, |d, _e| d.socket_error());
driver_output!(courier_rt::client::ClientDriver<'_>, |d, e| d
    .socket_error(courier_rt::client::sys::sys_error("write", e, "")));

/// A connection whose driver the blocking loops lock.
pub(crate) trait Lockable: Send + 'static {
    type Locked<'a>: Output
    where
        Self: 'a;
    fn lock_driver(&self) -> Self::Locked<'_>;
}

impl Lockable for courier_rt::Connection {
    type Locked<'a> = courier_rt::Driver<'a>;
    fn lock_driver(&self) -> Self::Locked<'_> {
        self.lock()
    }
}

impl Lockable for courier_rt::client::ClientConnection {
    type Locked<'a> = courier_rt::client::ClientDriver<'a>;
    fn lock_driver(&self) -> Self::Locked<'_> {
        self.lock()
    }
}

/// The [`IoWaker`] flush of a connection: on a wake from another thread, that thread
/// writes the output and, when the connection wants to close, shuts the socket down
/// so that a read blocked on the connection's thread returns. Nothing once the socket
/// was handed over (`detached`).
pub(crate) fn foreign_flush_fn<C: Lockable>(
    conn: C,
    stream: Stream,
    writer: Arc<Writer>,
    detached: Arc<AtomicBool>,
) -> Box<dyn Fn() + Send> {
    Box::new(move || {
        if close_if_wanted(&conn, &stream, &detached) {
            return;
        }
        if let Err(e) = writer.flush(&stream, || conn.lock_driver(), false) {
            let mut d = conn.lock_driver();
            if is_timeout(&e) {
                d.timers(Instant::now());
            } else {
                d.write_failed(&e);
            }
        }
        close_if_wanted(&conn, &stream, &detached);
    })
}

/// Shuts the socket down if the connection wants it closed now (or after its output,
/// which is all written); true when there is nothing more to do on it.
fn close_if_wanted<C: Lockable>(conn: &C, stream: &Stream, detached: &AtomicBool) -> bool {
    let mut d = conn.lock_driver();
    if detached.load(Ordering::Acquire) {
        return true;
    }
    let close = match d.close() {
        Some(Close::Now) => true,
        Some(Close::AfterFlush) => d.out().is_empty(),
        None => false,
    };
    if close {
        let _ = stream.shutdown(Shutdown::Both);
    }
    close
}

/// Bytes copied out of the output queue for one write.
const WRITE_CHUNK: usize = 64 * 1024;

/// How long a reader waits for a write in progress to be reported
/// ([`Writer::settle_in_flight`]).
const SETTLE_WAIT: Duration = Duration::from_millis(20);

/// The one writer of a connection's socket at a time.
///
/// Writes happen without the connection's lock (a peer that does not read must not
/// block every handle of the connection, nor `server.close()`): the writer copies
/// the front of the output queue under the lock, writes it unlocked, and reports it
/// under the lock. Whoever holds the writer (the connection's thread or a thread
/// whose wake flushes) drains the queue; a thread that finds it held marks it dirty
/// and the holder drains again before letting go.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    lock: Mutex<()>,
    dirty: AtomicBool,
}

impl Writer {
    /// Waits (at most [`SETTLE_WAIT`]) for a write in progress on another thread to
    /// be reported, so that bytes just read are fed to the driver after the bytes
    /// written before them: the peer answered what it received, and Node reports
    /// `'finish'` before any response to it. Bounded, because a peer that stops
    /// reading while it sends must not leave the reader waiting on a blocked write.
    pub(crate) fn settle_in_flight(&self) {
        let start = Instant::now();
        loop {
            match self.lock.try_lock() {
                Ok(_) | Err(std::sync::TryLockError::Poisoned(_)) => return,
                Err(std::sync::TryLockError::WouldBlock) if start.elapsed() < SETTLE_WAIT => {
                    std::thread::sleep(Duration::from_micros(50));
                }
                Err(std::sync::TryLockError::WouldBlock) => return,
            }
        }
    }

    /// Writes the driver's whole output queue with blocking writes, the socket's
    /// write timeout set to the driver's next deadline. `wait`: wait for the writer
    /// when another thread holds it (otherwise leave the work to that thread).
    ///
    /// A timeout comes back as an error for which [`is_timeout`] holds: the caller
    /// runs the driver's timers and goes on.
    pub(crate) fn flush<D: Output>(
        &self,
        stream: &Stream,
        mut lock_driver: impl FnMut() -> D,
        wait: bool,
    ) -> io::Result<()> {
        self.dirty.store(true, Ordering::Release);
        loop {
            let guard = if wait {
                lock(&self.lock)
            } else {
                match self.lock.try_lock() {
                    Ok(g) => g,
                    Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
                }
            };
            while self.dirty.swap(false, Ordering::AcqRel) {
                if let Err(e) = drain(stream, &mut lock_driver) {
                    // Whoever comes next retries what is left.
                    self.dirty.store(true, Ordering::Release);
                    return Err(e);
                }
            }
            drop(guard);
            if !self.dirty.load(Ordering::Acquire) {
                return Ok(());
            }
        }
    }
}

/// Writes until the output queue is empty (see [`Writer::flush`]).
fn drain<D: Output>(stream: &Stream, lock_driver: &mut impl FnMut() -> D) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut armed = false;
    let result = loop {
        let now = Instant::now();
        let timeout = {
            let mut d = lock_driver();
            if d.dead() {
                break Ok(());
            }
            let out = d.out();
            if out.is_empty() {
                break Ok(());
            }
            buf.clear();
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let n = out.chunks_vectored(&mut slices);
            for s in &slices[..n] {
                let room = WRITE_CHUNK.saturating_sub(buf.len());
                if room == 0 {
                    break;
                }
                buf.extend_from_slice(&s[..s.len().min(room)]);
            }
            timeout_until(d.deadline(), now)
        };
        if timeout.is_some() || armed {
            if let Err(e) = stream.set_write_timeout(timeout) {
                break Err(e);
            }
            armed = timeout.is_some();
        }
        match (&*stream).write(&buf) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                let mut d = lock_driver();
                if !d.dead() {
                    d.sent(Instant::now(), n);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    if armed {
        let _ = stream.set_write_timeout(None);
    }
    result
}

/// Wakes a parked thread.
#[derive(Debug)]
pub(crate) struct Unpark {
    thread: Thread,
    notified: AtomicBool,
}

impl Unpark {
    pub(crate) fn current() -> Arc<Self> {
        Arc::new(Self {
            thread: thread::current(),
            notified: AtomicBool::new(false),
        })
    }

    fn park(&self) {
        while !self.notified.swap(false, Ordering::AcqRel) {
            thread::park();
        }
    }
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.notified.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Runs `fut` to completion on this thread, parking while it is pending. The
/// connection's own thread (or a flush done by the waking thread) makes progress.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let unpark = Unpark::current();
    let waker = Waker::from(Arc::clone(&unpark));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        unpark.park();
    }
}

/// The waker a connection's thread registers with its driver.
///
/// Woken on the connection's own thread it only records the wake. Woken on another
/// thread (a handle used there: a response moved to a worker, `server.close()`, a
/// client request written by the calling thread) it first runs the connection's
/// `flush`: the waking thread writes the pending output itself and shuts the socket
/// down when the connection wants it closed, so that the connection's thread, maybe
/// blocked in a read, sees it. Then it unparks the connection's thread.
pub(crate) struct IoWaker {
    owner: ThreadId,
    thread: Thread,
    notified: AtomicBool,
    /// A foreign wake asked for a flush.
    dirty: AtomicBool,
    flush: Mutex<Option<Box<dyn Fn() + Send>>>,
}

impl IoWaker {
    /// A waker for the current thread.
    pub(crate) fn current() -> Arc<Self> {
        let thread = thread::current();
        Arc::new(Self {
            owner: thread.id(),
            thread,
            notified: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
            flush: Mutex::new(None),
        })
    }

    /// Whether the current thread is the connection's.
    pub(crate) fn is_owner(&self) -> bool {
        thread::current().id() == self.owner
    }

    /// Sets (or with `None`, clears: it breaks the waker's reference cycle with the
    /// connection) what a foreign wake runs.
    pub(crate) fn set_flush(&self, f: Option<Box<dyn Fn() + Send>>) {
        *lock(&self.flush) = f;
    }

    /// Whether a wake came since the last call.
    pub(crate) fn take_notified(&self) -> bool {
        self.notified.swap(false, Ordering::AcqRel)
    }

    /// Parks the connection's thread until a wake or `deadline`.
    pub(crate) fn park(&self, deadline: Option<Instant>) {
        if self.take_notified() {
            return;
        }
        match deadline {
            Some(t) => {
                let now = Instant::now();
                if t > now {
                    thread::park_timeout(t - now);
                }
            }
            None => thread::park(),
        }
    }
}

impl Wake for IoWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.is_owner() {
            // Whoever holds the flush (another thread, or this one further up the
            // stack) sees `dirty` and flushes again before letting go.
            self.dirty.store(true, Ordering::Release);
            while let Ok(f) = self.flush.try_lock() {
                while self.dirty.swap(false, Ordering::AcqRel) {
                    if let Some(f) = f.as_ref() {
                        f();
                    }
                }
                drop(f);
                if !self.dirty.load(Ordering::Acquire) {
                    break;
                }
            }
        }
        self.notified.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// `Read` over a message body read in chunks: the `pending` bytes first, then the
/// next chunks `next` gives (`None` at the end: `Ok(0)`).
pub(crate) fn read_chunks(
    pending: &mut bytes::Bytes,
    buf: &mut [u8],
    mut next: impl FnMut() -> Option<io::Result<bytes::Bytes>>,
) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    while pending.is_empty() {
        match next() {
            Some(Ok(b)) => *pending = b,
            Some(Err(e)) => return Err(e),
            None => return Ok(0),
        }
    }
    let n = buf.len().min(pending.len());
    buf[..n].copy_from_slice(&pending[..n]);
    bytes::Buf::advance(pending, n);
    Ok(n)
}

/// The blocking loops' flush from other threads: when the stream can be cloned,
/// `waker` writes `conn`'s output through `writer` on that clone.
pub(crate) fn install_foreign_flush<C: Lockable + Clone>(
    waker: &IoWaker,
    conn: &C,
    stream: &Stream,
    writer: &Arc<Writer>,
    detached: &Arc<AtomicBool>,
) {
    if let Ok(stream2) = stream.try_clone() {
        waker.set_flush(Some(foreign_flush_fn(
            conn.clone(),
            stream2,
            Arc::clone(writer),
            Arc::clone(detached),
        )));
    }
}
