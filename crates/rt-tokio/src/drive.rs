//! The tokio side of the shared I/O loops ([`courier_rt::drive`]): tokio's clock,
//! timers and spawn, and the streams' readiness-based reads.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use courier_net::MaybeTcp;
use courier_rt::drive::{Runtime, Timer, Transport};
use tokio::io::Interest;
use tokio::time::Sleep;

use crate::upgraded::RawStream;

/// The largest write [`RawStream`] tries without polling first (see its
/// `Transport::poll_write`): a socket's send buffer takes this much at once unless
/// the peer has stopped reading.
const TRY_WRITE_MAX: usize = 16 * 1024;

/// tokio as the loops' runtime: tokio's clock (so that `tokio::time::pause` drives
/// it in tests), its timers, `tokio::spawn`.
///
/// A value made with [`Tokio::loop_time`] gives its clones made inside a runtime
/// the runtime's cached *loop time* (see [`LoopTime`]): the server's value is cloned
/// onto each connection's task in the accepting task, so every connection's I/O loop
/// reads the cache. A value made with [`Tokio::clock`] (and its clones) reads the
/// clock at every call.
#[derive(Debug, Default)]
pub(crate) struct Tokio {
    /// Whether clones bind to the runtime current where they are made.
    loop_time: bool,
    /// The runtime whose loop time [`Runtime::now`] gives; `None`: the clock.
    bound: Option<Bound>,
}

impl Tokio {
    /// A value that reads the clock at every call, as do its clones.
    pub(crate) fn clock() -> Self {
        Self::default()
    }

    /// A value whose clones made inside a tokio runtime give that runtime's cached
    /// loop time (this value itself, made anywhere, reads the clock).
    pub(crate) fn loop_time() -> Self {
        Self {
            loop_time: true,
            bound: None,
        }
    }

    /// A value giving the loop time of the runtime current on this thread (the
    /// clock outside a runtime, or in one whose park counts cannot be read).
    fn bound_here() -> Self {
        Self {
            loop_time: true,
            bound: Bound::current(),
        }
    }
}

/// A clone of a [`Tokio::loop_time`] value is bound to the runtime current where it
/// is made (the loops clone the runtime value onto the task that uses it), so that a
/// server listening on another runtime than the one it was made on still reads its
/// own runtime's loop time.
impl Clone for Tokio {
    fn clone(&self) -> Self {
        if self.loop_time {
            Self::bound_here()
        } else {
            Self::clock()
        }
    }
}

/// The most workers a runtime may have for its loop time to be cached: the park
/// signal is the sum of every worker's park count (the current worker's index is not
/// public), which a larger runtime changes too often to be worth reading.
const LOOP_TIME_MAX_WORKERS: usize = 8;

/// The most [`Runtime::now`] calls one clock reading answers (the one that read it
/// included): the bound on the cached time's staleness while a runtime is busy and
/// never parks.
const LOOP_TIME_MAX_USES: u32 = 16;

/// A runtime a [`Tokio`] value is bound to: its identity and its park counts.
#[derive(Debug)]
struct Bound {
    /// Tokio's unique id of the runtime (runtimes alternating on one thread never
    /// share a cached time).
    id: tokio::runtime::Id,
    metrics: tokio::runtime::RuntimeMetrics,
    workers: usize,
}

impl Bound {
    /// The runtime current on this thread, if its park counts can be read (64-bit
    /// atomics) and it has at most [`LOOP_TIME_MAX_WORKERS`] workers.
    fn current() -> Option<Self> {
        #[cfg(target_has_atomic = "64")]
        {
            let handle = tokio::runtime::Handle::try_current().ok()?;
            let metrics = handle.metrics();
            let workers = metrics.num_workers();
            (workers <= LOOP_TIME_MAX_WORKERS).then(|| Self {
                id: handle.id(),
                metrics,
                workers,
            })
        }
        #[cfg(not(target_has_atomic = "64"))]
        {
            None
        }
    }

    /// The number of times the runtime's workers have parked so far. tokio counts a
    /// park (and publishes the count) just before a worker that found nothing to run
    /// blocks in its driver, which is also the only place a paused clock
    /// auto-advances. A driver poll that does not block (after a yield, or the
    /// scheduler's periodic look at the driver while busy) is not counted: the cache
    /// then refreshes within [`LOOP_TIME_MAX_USES`] calls.
    #[cfg(target_has_atomic = "64")]
    #[inline]
    fn parks(&self) -> u64 {
        if self.workers == 1 {
            return self.metrics.worker_park_count(0);
        }
        (0..self.workers)
            .map(|w| self.metrics.worker_park_count(w))
            .fold(0, u64::wrapping_add)
    }

    #[cfg(not(target_has_atomic = "64"))]
    fn parks(&self) -> u64 {
        0
    }

    /// The runtime's loop time on this thread.
    #[inline(always)]
    fn now(&self) -> Instant {
        let parks = self.parks();
        LOOP_TIME.with(|t| {
            let left = t.left.get();
            if left > 0 && t.parks.get() == parks && t.runtime.get() == Some(self.id) {
                if let Some(at) = t.at.get() {
                    t.left.set(left - 1);
                    return at;
                }
            }
            t.refresh(self.id, parks)
        })
    }
}

/// A thread's cached *loop time*, as Node's event loop has it (libuv's `uv_now`:
/// the clock is read once per loop iteration, and the socket, keep-alive and headers
/// timeouts are measured against that time). A tokio worker's "iteration" ends when
/// it parks in its driver: the cached reading is given as is until the runtime has
/// parked since it was taken, or until it has answered [`LOOP_TIME_MAX_USES`] calls
/// (a busy runtime that never parks), and only for the runtime that took it.
///
/// A reading is never later than the clock, so the loops stay safe with it: a
/// deadline compared with it is never found due early, and deadlines set from it are
/// early by at most its staleness, as Node's are. A timer may fire before the reading
/// reaches its deadline (tokio fires timers also in driver polls it counts no park
/// for): the server loop then learns it from [`TokioTimer`]'s `has_fired` (without
/// it the wake-up would be lost: the loop skips a timer it registered until the
/// reading reaches its deadline) and handles it at the deadline
/// (`now.max(deadline)` in its timer step, without another step).
struct LoopTime {
    /// The runtime that took the reading.
    runtime: Cell<Option<tokio::runtime::Id>>,
    /// The runtime's park count when the clock was read.
    parks: Cell<u64>,
    /// The calls the reading may still answer.
    left: Cell<u32>,
    at: Cell<Option<Instant>>,
}

impl LoopTime {
    /// Reads the clock for `runtime`, whose park count is `parks`.
    #[cold]
    #[inline(never)]
    fn refresh(&self, runtime: tokio::runtime::Id, parks: u64) -> Instant {
        let at = tokio::time::Instant::now().into_std();
        self.runtime.set(Some(runtime));
        self.parks.set(parks);
        self.left.set(LOOP_TIME_MAX_USES - 1);
        self.at.set(Some(at));
        at
    }
}

std::thread_local! {
    static LOOP_TIME: LoopTime = const {
        LoopTime {
            runtime: Cell::new(None),
            parks: Cell::new(0),
            left: Cell::new(0),
            at: Cell::new(None),
        }
    };
}

/// A tokio `Sleep`, reset to each deadline.
pub(crate) struct TokioTimer(Pin<Box<Sleep>>);

impl Timer for TokioTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }

    /// The loop time may be older than the timer's deadline when the timer's
    /// wake-up comes (tokio fires timers also where it does not count a park): the
    /// `Sleep`'s own state says whether it fired.
    #[inline]
    fn has_fired(&self) -> bool {
        self.0.is_elapsed()
    }
}

impl Runtime for Tokio {
    type Timer = TokioTimer;

    /// The bound runtime's loop time ([`LoopTime`]), or tokio's clock.
    #[inline(always)]
    fn now(&self) -> Instant {
        match &self.bound {
            Some(b) => b.now(),
            None => tokio::time::Instant::now().into_std(),
        }
    }

    fn timer(&self) -> TokioTimer {
        TokioTimer(Box::pin(tokio::time::sleep(Duration::ZERO)))
    }

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        tokio::spawn(future);
    }
}

/// [`Transport::try_read_buf`] on a tokio stream `$s` (a `TcpStream` or a
/// `UnixStream`): its `try_read_buf` inside its `try_io`, so that a read that filled
/// less than the spare capacity of `$buf`, reported to `try_io` as `WouldBlock`,
/// clears the readiness.
macro_rules! try_read_drained {
    ($s:expr, $buf:expr) => {{
        let (s, buf) = ($s, $buf);
        let spare = buf.capacity() - buf.len();
        let mut short = 0;
        let tried = s.try_io(Interest::READABLE, || match s.try_read_buf(buf) {
            Ok(n) if 0 < n && n < spare => {
                short = n;
                Err(io::ErrorKind::WouldBlock.into())
            }
            r => r,
        });
        if short > 0 {
            Some(Ok(short))
        } else {
            match tried {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                r => Some(r),
            }
        }
    }};
}

impl RawStream {
    /// The local address of a TCP socket.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.tcp_local_addr()
    }

    fn poll_ready_read(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_read_ready(cx),
            #[cfg(unix)]
            Self::Unix(s) => s.poll_read_ready(cx),
        }
    }
}

/// tokio's readiness, and tokio's own read straight into the spare capacity.
impl Transport for RawStream {
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready_read(cx)
    }

    /// tokio's `read_buf` polls the registration's readiness first.
    fn read_waits_for_ready(&self) -> bool {
        true
    }

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        if buf.capacity() == buf.len() {
            buf.reserve(8 * 1024);
        }
        // Through `AsyncRead` (polled once; the read is cancel-safe): a read that
        // fills less than the spare capacity also clears the socket's readiness, so
        // the next look parks the task at once instead of trying a read that would
        // block (one `recv` per request rather than two).
        let read = core::pin::pin!(tokio::io::AsyncReadExt::read_buf(self, buf));
        read.poll(cx)
    }

    /// tokio's `try_io` around its `try_read_buf`: a look at the socket's readiness,
    /// no task budget, no waker. A read that fills less than the spare capacity is
    /// reported to the outer `try_io` as `WouldBlock`, which clears the readiness (as
    /// tokio's `poll_read` does), so that the next look parks the task at once.
    fn try_read_buf(&mut self, buf: &mut BytesMut) -> Option<io::Result<usize>> {
        if buf.capacity() == buf.len() {
            buf.reserve(8 * 1024);
        }
        match self {
            Self::Tcp(s) => try_read_drained!(s, buf),
            #[cfg(unix)]
            Self::Unix(s) => try_read_drained!(s, buf),
        }
    }

    /// A small write is tried at once (tokio's `try_write`: a look at the socket's
    /// readiness, no task budget, no waker); only one that would block is polled,
    /// which registers the waker. A larger one goes to `poll_write` directly: it may
    /// be partial, and tokio's `poll_write` then forgets the socket's readiness, so
    /// that the next write waits for the reactor instead of failing with `EAGAIN`.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.len() <= TRY_WRITE_MAX {
            let tried = match self {
                Self::Tcp(s) => s.try_write(buf),
                #[cfg(unix)]
                Self::Unix(s) => s.try_write(buf),
            };
            match tried {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
        }
        tokio::io::AsyncWrite::poll_write(Pin::new(self), cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(self), cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(self), cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(self), cx)
    }

    fn set_no_delay(&self, on: bool) -> io::Result<()> {
        self.tcp_set_no_delay(on)
    }

    fn set_keep_alive(&self, enable: bool, initial_delay: Duration) -> io::Result<()> {
        self.tcp_set_keep_alive(enable, initial_delay)
    }
}

impl courier_net::MaybeTcp for RawStream {
    fn tcp(&self) -> Option<socket2::SockRef<'_>> {
        match self {
            Self::Tcp(s) => Some(s.into()),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A connected pair: the server side as a [`RawStream`], the client side.
    async fn pair() -> (RawStream, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (RawStream::Tcp(server), client)
    }

    async fn readable(s: &mut RawStream) {
        core::future::poll_fn(|cx| s.poll_read_ready(cx))
            .await
            .unwrap();
    }

    /// A paused current-thread runtime: its clock moves only when the test says so
    /// (`advance`, which does not park) or when the runtime parks (auto-advance).
    fn paused() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn loop_time_is_bound_only_inside_a_runtime() {
        let rt = Tokio::loop_time();
        assert!(rt.bound.is_none());
        assert!(rt.clone().bound.is_none());
        paused().block_on(async {
            assert!(rt.bound.is_none());
            assert_eq!(rt.clone().bound.is_some(), cfg!(target_has_atomic = "64"));
            assert!(Tokio::clock().clone().bound.is_none());
        });
    }

    #[cfg(target_has_atomic = "64")]
    #[test]
    fn loop_time_is_refreshed_after_16_uses() {
        paused().block_on(async {
            let rt = Tokio::loop_time().clone();
            let t0 = rt.now();
            // The clock moves without a park: the reading answers 16 calls in all.
            tokio::time::advance(Duration::from_secs(1)).await;
            for _ in 1..LOOP_TIME_MAX_USES {
                assert_eq!(rt.now(), t0);
            }
            let t1 = rt.now();
            assert_eq!(t1, tokio::time::Instant::now().into_std());
            assert_eq!(t1 - t0, Duration::from_secs(1));
            // An unbound value reads the clock every time.
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(Tokio::clock().now() - t1, Duration::from_secs(1));
            assert_eq!(rt.now(), t1);
        });
    }

    #[cfg(target_has_atomic = "64")]
    #[test]
    fn loop_time_is_refreshed_after_a_park() {
        paused().block_on(async {
            let rt = Tokio::loop_time().clone();
            let t0 = rt.now();
            assert_eq!(rt.now(), t0);
            // Sleeping parks the runtime, which auto-advances the paused clock.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let t1 = rt.now();
            assert_eq!(t1 - t0, Duration::from_millis(5));
            assert_eq!(t1, tokio::time::Instant::now().into_std());
            assert_eq!(rt.now(), t1);
        });
    }

    #[cfg(target_has_atomic = "64")]
    #[test]
    fn runtimes_alternating_on_a_thread_keep_their_own_loop_time() {
        let a = paused();
        // `a`'s clock is an hour ahead of `b`'s (`advance` does not park).
        a.block_on(tokio::time::advance(Duration::from_secs(3600)));
        let b = paused();
        let rt_a = a.block_on(async { Tokio::loop_time().clone() });
        let rt_b = b.block_on(async { Tokio::loop_time().clone() });
        let a0 = a.block_on(async { rt_a.now() });
        // Neither runtime has parked: only the runtime's id tells the readings apart.
        let parks = |rt: &tokio::runtime::Runtime| rt.metrics().worker_park_count(0);
        assert_eq!((parks(&a), parks(&b)), (0, 0));
        let b0 = b.block_on(async {
            let b0 = rt_b.now();
            assert_eq!(b0, tokio::time::Instant::now().into_std());
            b0
        });
        assert!(a0 - b0 > Duration::from_secs(3599));
        // Each runtime finds its own time again.
        a.block_on(async { assert_eq!(rt_a.now(), a0) });
        b.block_on(async { assert_eq!(rt_b.now(), b0) });
    }

    #[test]
    fn a_timer_tells_it_fired_without_a_poll() {
        paused().block_on(async {
            let rt = Tokio::loop_time().clone();
            let mut timer = rt.timer();
            timer.reset(rt.now() + Duration::from_secs(1));
            assert!(!timer.has_fired());
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(timer.poll_fired(&mut cx).is_pending());
            // The clock passes the deadline: the timer fires with the driver's turn.
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert!(timer.has_fired());
            assert!(timer.poll_fired(&mut cx).is_ready());
            timer.reset(rt.now() + Duration::from_secs(1));
            assert!(!timer.has_fired());
        });
    }

    #[test]
    fn a_runtime_with_many_workers_reads_the_clock() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(LOOP_TIME_MAX_WORKERS + 1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { assert!(Tokio::loop_time().clone().bound.is_none()) });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let bound = rt.block_on(async { Tokio::loop_time().clone().bound.is_some() });
        assert_eq!(bound, cfg!(target_has_atomic = "64"));
    }

    #[tokio::test]
    async fn try_read_buf_reads_what_came_and_then_waits_for_readiness() {
        let (mut server, mut client) = pair().await;
        let mut buf = BytesMut::with_capacity(64);
        // Nothing came: not known to be readable, nothing read.
        assert!(server.try_read_buf(&mut buf).is_none());
        client.write_all(b"hello").await.unwrap();
        readable(&mut server).await;
        assert_eq!(server.try_read_buf(&mut buf).unwrap().unwrap(), 5);
        assert_eq!(&buf[..], b"hello");
        // The short read cleared the readiness: no read is tried, and the readiness
        // poll pends (registering the waker) instead of finding the socket readable.
        assert!(server.try_read_buf(&mut buf).is_none());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(server.poll_read_ready(&mut cx).is_pending());
        // The end of input.
        drop(client);
        readable(&mut server).await;
        assert_eq!(server.try_read_buf(&mut buf).unwrap().unwrap(), 0);
    }
}
