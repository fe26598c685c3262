//! A server's shared state, for the adapters whose connections are tasks: the
//! listener registry, the open connections and handed-over sockets, the listening
//! sockets, and `close()` / `'close'` (SRV-21).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::Connection;
use crate::registry::Registry;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
}

struct Listening {
    addr: ListenAddr,
    /// Stops its accept loop.
    stop: Box<dyn FnOnce() + Send>,
}

/// Unblocks whatever serves a connection when the connection is destroyed from
/// outside (a thread blocked reading its socket: the blocking adapter shuts the
/// socket down).
pub type Abort = Arc<dyn Fn() + Send + Sync>;

/// An open connection and how to unblock it.
struct Open {
    conn: Connection,
    abort: Option<Abort>,
}

/// A server's state shared by its handle, accept loops and connections.
pub struct ServerState<Req, Up, Err> {
    registry: Registry<Req, Up, Err>,
    /// Handed-over sockets still open.
    handed_over: AtomicUsize,
    /// `close()` was called: `'close'` fires when the last connection is gone.
    closing: AtomicBool,
    close_emitted: AtomicBool,
    /// The `'close'` listeners have run (they run once, after `close_emitted`).
    close_done: AtomicBool,
    conns: Mutex<HashMap<u64, Open>>,
    next_conn: AtomicU64,
    listening: Mutex<Vec<Listening>>,
    /// When the server first started listening: the request-timeout checker's origin.
    origin: Mutex<Option<Instant>>,
    /// Waiting for no connection to be open.
    closed_waiters: Mutex<Vec<Waker>>,
}

impl<Req, Up, Err> ServerState<Req, Up, Err>
where
    Req: Clone + Send + Sync + 'static,
    Up: Clone + Send + Sync + 'static,
    Err: Clone + Send + Sync + 'static,
{
    /// A server with these listeners, not listening.
    pub fn new(registry: Registry<Req, Up, Err>) -> Self {
        Self {
            registry,
            handed_over: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            close_emitted: AtomicBool::new(false),
            close_done: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            listening: Mutex::new(Vec::new()),
            origin: Mutex::new(None),
            closed_waiters: Mutex::new(Vec::new()),
        }
    }

    /// The listeners.
    pub fn registry(&self) -> &Registry<Req, Up, Err> {
        &self.registry
    }

    /// The request-timeout checker's origin: `now` the first time it is asked.
    pub fn origin(&self, now: Instant) -> Instant {
        *lock(&self.origin).get_or_insert(now)
    }

    /// Open connections: HTTP ones and handed-over sockets.
    pub fn open_count(&self) -> usize {
        lock(&self.conns).len() + self.handed_over.load(Ordering::SeqCst)
    }

    /// Counts an accepted connection as open; the key removes it.
    pub fn add_connection(&self, conn: Connection) -> u64 {
        self.insert(Open { conn, abort: None })
    }

    /// [`ServerState::add_connection`] for a connection served by a blocking
    /// thread: `closeAllConnections()` calls `abort` before destroying it, so that
    /// the thread, maybe blocked in a read, returns.
    pub fn add_connection_with_abort(&self, conn: Connection, abort: Abort) -> u64 {
        self.insert(Open {
            conn,
            abort: Some(abort),
        })
    }

    fn insert(&self, open: Open) -> u64 {
        let key = self.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&self.conns).insert(key, open);
        key
    }

    /// `close()` was called.
    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// The connection of `key` is gone (its socket closed or handed over: take a
    /// [`ServerState::handover_guard`] first, so that the socket stays counted).
    pub fn remove_connection(&self, key: u64) {
        lock(&self.conns).remove(&key);
        self.check_closed();
    }

    /// Counts a handed-over socket as open until the guard is dropped.
    pub fn handover_guard(self: &Arc<Self>) -> HandoverGuard {
        self.handed_over.fetch_add(1, Ordering::SeqCst);
        HandoverGuard(Arc::clone(self) as Arc<dyn Counted>)
    }

    /// Starts listening on `addr`: the timeout checker's origin at `now` (before the
    /// first connection), then `start` begins accepting and gives what ends its
    /// accept loop at `close()`.
    pub fn listen<S: FnOnce() + Send + 'static>(
        &self,
        now: Instant,
        addr: ListenAddr,
        start: impl FnOnce() -> S,
    ) {
        self.origin(now);
        let stop = start();
        self.add_listener(addr, stop);
    }

    /// Records a listening socket; `stop` ends its accept loop at `close()`.
    pub fn add_listener(&self, addr: ListenAddr, stop: impl FnOnce() + Send + 'static) {
        lock(&self.listening).push(Listening {
            addr,
            stop: Box::new(stop),
        });
    }

    /// `server.address()` for the first TCP listener.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        lock(&self.listening).iter().find_map(|l| match l.addr {
            ListenAddr::Tcp(a) => Some(a),
            ListenAddr::Unix(_) => None,
        })
    }

    /// Every address the server listens on.
    pub fn addresses(&self) -> Vec<ListenAddr> {
        lock(&self.listening)
            .iter()
            .map(|l| l.addr.clone())
            .collect()
    }

    /// `server.listening`.
    pub fn listening(&self) -> bool {
        !lock(&self.listening).is_empty()
    }

    fn connections(&self) -> Vec<Connection> {
        lock(&self.conns).values().map(|o| o.conn.clone()).collect()
    }

    /// `server.close()` (SRV-21): stops accepting, removes Unix socket files, closes
    /// idle connections and lets active ones finish.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let listening: Vec<Listening> = lock(&self.listening).drain(..).collect();
        for l in listening {
            (l.stop)();
            if let ListenAddr::Unix(path) = l.addr {
                let _ = std::fs::remove_file(path);
            }
        }
        for c in self.connections() {
            c.server_close();
        }
        self.check_closed();
    }

    /// `server.closeIdleConnections()` (SRV-23).
    pub fn close_idle_connections(&self) {
        for c in self.connections() {
            c.close_if_idle();
        }
    }

    /// `server.closeAllConnections()` (SRV-22).
    pub fn close_all_connections(&self) {
        let open: Vec<(Connection, Option<Abort>)> = lock(&self.conns)
            .values()
            .map(|o| (o.conn.clone(), o.abort.clone()))
            .collect();
        for (c, abort) in open {
            if let Some(abort) = abort {
                abort();
            }
            c.destroy();
        }
    }

    /// `Ready` once no connection is open (handed-over sockets included) and, if
    /// `close()` was called, the `'close'` listeners have run (on whichever thread
    /// closed the last connection).
    pub fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_closed_when(cx, false)
    }

    /// `Ready` once `close()` was called and [`ServerState::poll_closed`] is: what
    /// a program's `main` waits for after listening.
    pub fn poll_shut_down(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_closed_when(cx, true)
    }

    fn poll_closed_when(&self, cx: &mut Context<'_>, need_close: bool) -> Poll<()> {
        {
            let mut waiters = lock(&self.closed_waiters);
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
        }
        if self.open_count() != 0 || (need_close && !self.closing()) {
            return Poll::Pending;
        }
        // The last connection may be between leaving the list and running the
        // `'close'` listeners: make sure they run, or wait for the thread that runs
        // them (it wakes the waiters when they are done).
        self.check_closed();
        if self.close_emitted.load(Ordering::SeqCst) && !self.close_done.load(Ordering::SeqCst) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

trait Counted: Send + Sync {
    fn release(&self);
}

impl<Req, Up, Err> Counted for ServerState<Req, Up, Err>
where
    Req: Clone + Send + Sync + 'static,
    Up: Clone + Send + Sync + 'static,
    Err: Clone + Send + Sync + 'static,
{
    fn release(&self) {
        self.handed_over.fetch_sub(1, Ordering::SeqCst);
        self.check_closed();
    }
}

impl<Req, Up, Err> ServerState<Req, Up, Err>
where
    Req: Clone + Send + Sync + 'static,
    Up: Clone + Send + Sync + 'static,
    Err: Clone + Send + Sync + 'static,
{
    /// Wakes the waiters and emits `'close'` once nothing is open after `close()`.
    fn check_closed(&self) {
        if self.open_count() != 0 {
            return;
        }
        if self.closing.load(Ordering::SeqCst) && !self.close_emitted.swap(true, Ordering::SeqCst) {
            self.registry.emit_close();
            self.close_done.store(true, Ordering::SeqCst);
        }
        for w in std::mem::take(&mut *lock(&self.closed_waiters)) {
            w.wake();
        }
    }
}

/// Keeps a handed-over socket counted among the server's open connections until
/// dropped.
pub struct HandoverGuard(Arc<dyn Counted>);

impl core::fmt::Debug for HandoverGuard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HandoverGuard")
    }
}

impl Drop for HandoverGuard {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A `Server`'s `Debug`, the same in every adapter: its addresses and how many
/// connections it has open, from its `addresses()` and `connection_count()`.
#[macro_export]
macro_rules! server_debug {
    ($server:ident) => {
        impl ::core::fmt::Debug for $server {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(::core::stringify!($server))
                    .field("addresses", &self.addresses())
                    .field("connections", &self.connection_count())
                    .finish_non_exhaustive()
            }
        }
    };
}

/// Declares an adapter's handed-over socket type (the `socket` of Node's
/// `'upgrade'`, `'connect'` and `'clientError'` events) with what every adapter's
/// shares: the stream, the peer's and local addresses, and a guard that keeps it
/// counted among the server's open connections until it is dropped or
/// `into_inner` takes the stream out. The adapter writes the struct's docs and its
/// I/O trait impls (which read and write the `stream` field).
///
/// ```ignore
/// courier_rt::handed_over_socket! {
///     /// A socket that left HTTP.
///     pub struct Upgraded(RawStream, HandoverGuard);
/// }
/// ```
#[macro_export]
macro_rules! handed_over_socket {
    ($(#[$meta:meta])* $vis:vis struct $name:ident($stream:ty, $guard:ty);) => {
        $(#[$meta])*
        $vis struct $name {
            stream: $stream,
            remote: ::core::option::Option<::std::net::SocketAddr>,
            local: ::core::option::Option<::std::net::SocketAddr>,
            _open: $guard,
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(::core::stringify!($name))
                    .field("stream", &self.stream)
                    .finish_non_exhaustive()
            }
        }

        impl $name {
            pub(crate) fn new(
                stream: $stream,
                remote: ::core::option::Option<::std::net::SocketAddr>,
                local: ::core::option::Option<::std::net::SocketAddr>,
                open: $guard,
            ) -> Self {
                Self {
                    stream,
                    remote,
                    local,
                    _open: open,
                }
            }

            /// The peer's address (`socket.remoteAddress`/`remotePort`); `None` on a
            /// Unix socket.
            pub fn remote_addr(&self) -> ::core::option::Option<::std::net::SocketAddr> {
                self.remote
            }

            /// The local address (`socket.localAddress`/`localPort`); `None` on a
            /// Unix socket.
            pub fn local_addr(&self) -> ::core::option::Option<::std::net::SocketAddr> {
                self.local
            }

            /// The stream.
            pub fn get_ref(&self) -> &$stream {
                &self.stream
            }

            /// The stream, mutably.
            pub fn get_mut(&mut self) -> &mut $stream {
                &mut self.stream
            }

            /// Takes the stream out. From then on the server no longer counts it as an
            /// open connection.
            pub fn into_inner(self) -> $stream {
                self.stream
            }
        }
    };
}

/// Implements the I/O traits of a type declared with
/// [`handed_over_socket!`](crate::handed_over_socket) by
/// passing each call to its stream: `tokio` (tokio's `AsyncRead` + `AsyncWrite`),
/// `futures` (futures-io's) or `std` (`Read` + `Write`; `flush` is a no-op, the
/// stream writes through). The adapter's crate depends on the I/O crate named.
#[macro_export]
macro_rules! handed_over_io {
    (tokio, $name:ident) => {
        impl ::tokio::io::AsyncRead for $name {
            fn poll_read(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
                buf: &mut ::tokio::io::ReadBuf<'_>,
            ) -> ::core::task::Poll<::std::io::Result<()>> {
                ::tokio::io::AsyncRead::poll_read(::core::pin::Pin::new(&mut self.get_mut().stream), cx, buf)
            }
        }

        impl ::tokio::io::AsyncWrite for $name {
            $crate::handed_over_io!(@writes tokio::io::AsyncWrite);

            fn is_write_vectored(&self) -> bool {
                ::tokio::io::AsyncWrite::is_write_vectored(&self.stream)
            }

            fn poll_shutdown(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
            ) -> ::core::task::Poll<::std::io::Result<()>> {
                ::tokio::io::AsyncWrite::poll_shutdown(::core::pin::Pin::new(&mut self.get_mut().stream), cx)
            }
        }
    };
    (futures, $name:ident) => {
        impl ::futures_io::AsyncRead for $name {
            fn poll_read(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::core::task::Poll<::std::io::Result<usize>> {
                ::futures_io::AsyncRead::poll_read(::core::pin::Pin::new(&mut self.get_mut().stream), cx, buf)
            }
        }

        impl ::futures_io::AsyncWrite for $name {
            $crate::handed_over_io!(@writes futures_io::AsyncWrite);

            fn poll_close(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
            ) -> ::core::task::Poll<::std::io::Result<()>> {
                ::futures_io::AsyncWrite::poll_close(::core::pin::Pin::new(&mut self.get_mut().stream), cx)
            }
        }
    };
    (std, $name:ident) => {
        impl ::std::io::Read for $name {
            fn read(&mut self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                ::std::io::Read::read(&mut self.stream, buf)
            }
        }

        impl ::std::io::Write for $name {
            fn write(&mut self, buf: &[u8]) -> ::std::io::Result<usize> {
                ::std::io::Write::write(&mut self.stream, buf)
            }

            fn write_vectored(
                &mut self,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::io::Result<usize> {
                ::std::io::Write::write_vectored(&mut self.stream, bufs)
            }

            fn flush(&mut self) -> ::std::io::Result<()> {
                Ok(())
            }
        }
    };
    // The writes tokio's and futures-io's `AsyncWrite` share.
    (@writes $($io:ident)::+) => {
        fn poll_write(
            self: ::core::pin::Pin<&mut Self>,
            cx: &mut ::core::task::Context<'_>,
            buf: &[u8],
        ) -> ::core::task::Poll<::std::io::Result<usize>> {
            ::$($io)::+::poll_write(::core::pin::Pin::new(&mut self.get_mut().stream), cx, buf)
        }

        fn poll_write_vectored(
            self: ::core::pin::Pin<&mut Self>,
            cx: &mut ::core::task::Context<'_>,
            bufs: &[::std::io::IoSlice<'_>],
        ) -> ::core::task::Poll<::std::io::Result<usize>> {
            ::$($io)::+::poll_write_vectored(::core::pin::Pin::new(&mut self.get_mut().stream), cx, bufs)
        }

        fn poll_flush(
            self: ::core::pin::Pin<&mut Self>,
            cx: &mut ::core::task::Context<'_>,
        ) -> ::core::task::Poll<::std::io::Result<()>> {
            ::$($io)::+::poll_flush(::core::pin::Pin::new(&mut self.get_mut().stream), cx)
        }
    };
}
