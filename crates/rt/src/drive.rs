//! The connection I/O loops, written once for every async runtime: the server's
//! ([`serve_connection`]) and the client's ([`drive_client_connection`]).
//!
//! The loops only call traits the adapter implements, so nothing here touches a
//! socket, a timer or a spawn itself:
//!
//! * the stream is a [`Transport`]: a read into the driver's receive buffer (a
//!   runtime with readiness, as tokio, reads straight into the spare capacity; a
//!   futures-io stream reads into an initialised slice), vectored and plain writes,
//!   shutdown;
//! * the [`Runtime`] gives the clock ([`Runtime::now`]), a [`Timer`] set to proto's
//!   deadlines, and spawns the handler futures that do not complete in their first
//!   poll.
//!
//! The server loop is the one described in [`crate::conn`]: events to the
//! application (request handlers first polled inline on the connection's task),
//! output written gathered or vectored, handover, close, read (the receive buffer
//! sized by the reads and freed while idle), timers.

use std::future::Future;
use std::io::{self, IoSlice};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Instant, SystemTime};

use bytes::{Buf, BytesMut};
use courier_proto::client::Close as ClientClose;

use crate::client::{ClientConnection, ClientError, sys::sys_error};
use crate::conn::{Found, RequestParts, Shared};
use crate::handle_ref::{HandleRef, Lending};
use crate::registry::Handlers;
use crate::{Close, ConnEvent, Connection, Driver, Handover, IncomingMessage, ServerResponse};

pub use crate::client::Transport;

/// A timer the loops set to proto's deadlines.
pub trait Timer: Send + Unpin + 'static {
    /// Sets the timer to fire at `deadline` (replacing any earlier setting).
    fn reset(&mut self, deadline: Instant);
    /// `Ready` once the deadline it was last set to has passed (registering `cx`'s
    /// waker otherwise).
    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
    /// Whether the timer has fired since it was last set, when the runtime can tell
    /// at a look (no waker registered). A runtime whose [`Runtime::now`] may give a
    /// reading older than the wake-up (a cached loop time) says so here: the loop then
    /// polls a timer it already registered although the reading has not reached the
    /// deadline. The default, `false`, suits a clock read at every call.
    fn has_fired(&self) -> bool {
        false
    }
}

/// What the loops need from a runtime: its clock, its timers and a spawner. The
/// executor stays the application's: the adapter decides where a spawned future runs.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// The runtime's timer.
    type Timer: Timer;
    /// The clock (a runtime with virtual time returns its own).
    fn now(&self) -> Instant;
    /// A timer, not yet set.
    fn timer(&self) -> Self::Timer;
    /// Runs `future` on a task of its own.
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F);
}

// ------------------------------------------------------------------ handlers --

/// A request handler (`'request'`, `'checkContinue'`, `'checkExpectation'`) of an
/// async server.
pub trait RequestHandler<R>: Send + Sync + 'static {
    /// A runner for one connection, spawning on `rt`.
    fn runner(self: Arc<Self>, rt: &R) -> Box<dyn Runner>;
}

/// Runs a handler for the requests of one connection.
pub trait Runner: Send {
    /// Calls the handler for one request (its [`IncomingMessage`] made from `req` as
    /// the handler's argument) and polls its future once with `cx` (the connection
    /// task's context); a future still pending continues on a task of its own. A
    /// panic in the handler is caught (and reported by the panic hook): the future
    /// and its handles are dropped, so an unended response destroys its connection,
    /// as a dropped response always does.
    fn run(&mut self, req: NewRequest, res: ServerResponse, cx: &mut Context<'_>);
}

/// What a request's [`IncomingMessage`] is made of, for a [`Runner`]. The handle is
/// made as the handler's argument: one made earlier, larger, would be copied on its
/// way there.
pub struct NewRequest {
    parts: RequestParts,
    shared: HandleRef,
}

/// A request handler as the async loops take it.
pub type Handler<R> = Arc<dyn RequestHandler<R>>;

/// The application's closure as a [`RequestHandler`].
pub struct FnHandler<H>(pub H);

/// An async server's request handler (Node's `'request'` listener, and
/// `'checkContinue'` / `'checkExpectation'`): a closure `|req, res| async { … }`.
/// Implemented for every such closure.
pub trait RequestFn<F>: Fn(IncomingMessage, ServerResponse) -> F + Send + Sync + 'static {}

impl<T, F> RequestFn<F> for T where
    T: Fn(IncomingMessage, ServerResponse) -> F + Send + Sync + 'static
{
}

/// The application's closure as a [`Handler`].
pub fn request_handler<R, H, F>(handler: H) -> Handler<R>
where
    R: Runtime,
    H: RequestFn<F>,
    F: Future<Output = ()> + Send + 'static,
{
    Arc::new(FnHandler(handler))
}

impl<R, H, F> RequestHandler<R> for FnHandler<H>
where
    R: Runtime,
    H: Fn(IncomingMessage, ServerResponse) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    fn runner(self: Arc<Self>, rt: &R) -> Box<dyn Runner> {
        Box::new(FnRunner::<R, H, F> {
            handler: self,
            rt: rt.clone(),
            slot: None,
        })
    }
}

/// A place for the handler's future that does not move once it is polled.
type Slot<F> = Pin<Box<Option<F>>>;

/// Most handlers answer at once (`res.end(…)` without waiting for anything):
/// polling them inline saves the task allocation, the spawn and the extra wake-ups,
/// and lets the connection write the answers of a whole pipelined batch in one go.
/// Each connection keeps one reusable slot per handler, so a handler that completes
/// in its first poll costs no allocation; a pending one takes its slot along to its
/// task and the connection makes a new slot for the next request.
struct FnRunner<R, H, F> {
    handler: Arc<FnHandler<H>>,
    rt: R,
    /// Reused while the handler's futures complete in their first poll.
    slot: Option<Slot<F>>,
}

impl<R, H, F> Runner for FnRunner<R, H, F>
where
    R: Runtime,
    H: RequestFn<F>,
    F: Future<Output = ()> + Send + 'static,
{
    fn run(&mut self, req: NewRequest, res: ServerResponse, cx: &mut Context<'_>) {
        let handler = &self.handler.0;
        let slot = self.slot.get_or_insert_with(|| Box::pin(None));
        let polled = catch_unwind(AssertUnwindSafe(|| {
            let NewRequest { parts, shared } = req;
            slot.set(Some(handler(parts.request(shared), res)));
            match slot.as_mut().as_pin_mut() {
                Some(f) => f.poll(cx),
                None => Poll::Ready(()),
            }
        }));
        match polled {
            Ok(Poll::Ready(())) => {
                // Empty the slot for the next request (the finished future owns
                // nothing any more, but drop it in place all the same).
                let emptied = catch_unwind(AssertUnwindSafe(|| slot.set(None)));
                if emptied.is_err() {
                    self.slot = None;
                }
            }
            Ok(Poll::Pending) => {
                if let Some(slot) = self.slot.take() {
                    self.rt.spawn(Spawned(slot));
                }
            }
            Err(_panic) => {
                // Drop the future (and the handles it holds); a panic while dropping
                // is swallowed as well, as an executor does for a task.
                let slot = self.slot.take();
                let _ = catch_unwind(AssertUnwindSafe(move || drop(slot)));
            }
        }
    }
}

/// A handler's future that went pending in its first poll, on a task of its own.
struct Spawned<F>(Slot<F>);

impl<F: Future<Output = ()>> Future for Spawned<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.get_mut().0.as_mut().as_pin_mut() {
            Some(f) => f.poll(cx),
            None => Poll::Ready(()),
        }
    }
}

/// A boxed future of a handover listener.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An `'upgrade'` or `'connect'` listener of an async server, given the handed-over
/// stream `U`.
pub type UpgradeHandler<U> =
    Arc<dyn Fn(IncomingMessage, U, bytes::Bytes) -> BoxFuture + Send + Sync>;

/// An `'upgrade'` or `'connect'` listener from an async closure.
pub fn upgrade_handler<U, H, F>(handler: H) -> UpgradeHandler<U>
where
    H: Fn(IncomingMessage, U, bytes::Bytes) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |req, io, head| box_future(handler(req, io, head)))
}

/// A `'clientError'` listener of an async server, given the handed-over stream `U`.
pub type ClientErrorHandler<U> = Arc<dyn Fn(crate::ClientErrorEvent, U) -> BoxFuture + Send + Sync>;

/// The listeners of an async server on runtime `R` handing over streams `U`.
pub type AsyncHandlers<R, U> = Handlers<Handler<R>, UpgradeHandler<U>, ClientErrorHandler<U>>;

/// The shared state of an async server on runtime `R` handing over streams `U`.
pub type AsyncState<R, U> =
    crate::serving::ServerState<Handler<R>, UpgradeHandler<U>, ClientErrorHandler<U>>;

/// The registry of an async server on runtime `R` handing over streams `U`.
pub type AsyncRegistry<R, U> =
    crate::registry::Registry<Handler<R>, UpgradeHandler<U>, ClientErrorHandler<U>>;

/// What an async adapter's `Server` holds: the shared state, the options (for the
/// accepted sockets' setup) and the runtime its connections run on.
pub struct AsyncServer<R: Runtime, U> {
    /// The listeners, connections and listening sockets.
    pub state: Arc<AsyncState<R, U>>,
    /// The options it was made with.
    pub options: crate::ServerOptions,
    /// The runtime.
    pub rt: R,
}

/// How an adapter makes its handed-over stream `U` of a socket that leaves HTTP: the
/// transport, its remote and local addresses, and the guard that keeps it counted
/// as open.
pub type MakeUpgraded<T, U> = fn(
    T,
    Option<std::net::SocketAddr>,
    Option<std::net::SocketAddr>,
    crate::serving::HandoverGuard,
) -> U;

impl<R: Runtime, U: Send + 'static> AsyncServer<R, U> {
    /// `http.createServer(options, handler)` on `rt` ([`async_state`]).
    pub fn new<H, F>(
        options: crate::ServerOptions,
        rt: R,
        handler: H,
    ) -> Result<Self, crate::ConfigError>
    where
        H: RequestFn<F>,
        F: Future<Output = ()> + Send + 'static,
    {
        Ok(Self {
            state: async_state(&options, handler)?,
            options,
            rt,
        })
    }

    /// Serves an accepted stream ([`serve_accepted`]).
    pub fn serve<T: Transport + Send + 'static>(
        &self,
        io: T,
        remote: Option<std::net::SocketAddr>,
        local: Option<std::net::SocketAddr>,
        upgraded: MakeUpgraded<T, U>,
    ) {
        serve_accepted(&self.rt, &self.state, io, remote, local, upgraded);
    }
}

/// `http.createServer(options, handler)`'s state on an async runtime: the options
/// validated (Node's `ERR_INVALID_ARG_*` as a [`ConfigError`](crate::ConfigError)),
/// `handler` as the `'request'` listener, not listening.
pub fn async_state<R, U, H, F>(
    options: &crate::ServerOptions,
    handler: H,
) -> Result<Arc<AsyncState<R, U>>, crate::ConfigError>
where
    R: Runtime,
    U: 'static,
    H: RequestFn<F>,
    F: Future<Output = ()> + Send + 'static,
{
    let base = options.to_config()?;
    Ok(Arc::new(AsyncState::new(AsyncRegistry::new(
        base,
        request_handler(handler),
    ))))
}

/// Gives a socket that left HTTP to its listener, on a task of its own.
pub fn hand_over<R: Runtime, U>(
    rt: &R,
    handlers: &AsyncHandlers<R, U>,
    handover: Handover,
    upgraded: U,
) {
    match handlers.route(handover) {
        Some(crate::registry::Route::Upgrade { handler, req, head }) => {
            rt.spawn(handler(req, upgraded, head));
        }
        Some(crate::registry::Route::ClientError { handler, err }) => {
            rt.spawn(handler(err, upgraded));
        }
        None => {}
    }
}

/// Serves an accepted stream: registers it with `state` (an open connection, with
/// its addresses), emits `'connection'` and spawns its I/O loop on `rt`. A socket
/// that leaves HTTP is made the handed-over stream `U` by `upgraded` (it stays
/// counted as open through the guard) and goes to its listener.
pub fn serve_accepted<R, T, U>(
    rt: &R,
    state: &Arc<AsyncState<R, U>>,
    io: T,
    remote: Option<std::net::SocketAddr>,
    local: Option<std::net::SocketAddr>,
    upgraded: MakeUpgraded<T, U>,
) where
    R: Runtime,
    T: Transport + Send + 'static,
    U: Send + 'static,
{
    let handlers = state.registry().snapshot();
    let now = rt.now();
    let conn = Connection::new(Arc::clone(handlers.config()), now, state.origin(now));
    conn.set_addresses(remote, local);
    let key = state.add_connection(conn.clone());
    handlers.emit_connection(&conn.socket());
    let state = Arc::clone(state);
    let rt2 = rt.clone();
    rt.spawn(async move {
        let handover = serve_connection(io, conn, &handlers, &rt2).await;
        // A handed-over socket stays counted: take it over before the connection
        // leaves the list.
        let app = handover.map(|(h, io)| {
            let open = state.handover_guard();
            (h, upgraded(io, remote, local, open))
        });
        state.remove_connection(key);
        if let Some((h, up)) = app {
            hand_over(&rt2, &handlers, h, up);
        }
    });
}

/// Node's accept loop: each connection `accept` gives goes to `serve`; an accept
/// error goes to `on_error` (the server's `'error'`) and accepting goes on after a
/// 10 ms pause, which keeps a persistent failure (`EMFILE`) from spinning. It ends
/// when `accept` gives `None` (the listener was closed), or with its task.
pub async fn accept_loop<R, S, F>(
    rt: &R,
    mut accept: impl FnMut() -> F,
    mut serve: impl FnMut(S),
    on_error: impl Fn(io::Error),
) where
    R: Runtime,
    F: Future<Output = Option<io::Result<S>>>,
{
    let mut pause = rt.timer();
    while let Some(next) = accept().await {
        match next {
            Ok(s) => serve(s),
            Err(e) => {
                on_error(e);
                pause.reset(rt.now() + std::time::Duration::from_millis(10));
                core::future::poll_fn(|cx| pause.poll_fired(cx)).await;
            }
        }
    }
}

/// Declares an async adapter's `impl Server { … }` of event listeners (SRV-24) with
/// [`async_server_methods!`](crate::async_server_methods), for a `Server` whose `inner.state` is its
/// `Arc<AsyncState<R, U>>`.
#[macro_export]
macro_rules! async_server_impl {
    ($server:ident, $rt:ty, $upgraded:ty) => {
        /// Event listeners (SRV-24).
        ///
        /// Listeners that receive the connection's socket or requests (`'checkContinue'`,
        /// `'checkExpectation'`, `'upgrade'`, `'connect'`, `'clientError'`, `'dropRequest'`,
        /// `'timeout'`, `'connection'`) and `set_timeout` apply to connections accepted
        /// **after** the call: register them before [`Server::listen`]. A connection keeps the
        /// listeners it was accepted with. Where Node's defaults depend on whether a listener
        /// exists (SRV-6, SRV-8, SRV-9, SRV-11, SRV-19) the connection behaves as Node does
        /// with or without one. Handlers given a request, a response or a socket that left
        /// HTTP return a future that runs on a task of its own (the request handlers' futures
        /// are first polled on the connection's task); a
        /// second registration replaces the first. The plain callbacks (`Fn(Socket)` and the
        /// like) run on the connection's task and must not block; each registration adds one.
        impl $server {
            fn state(&self) -> &$crate::drive::AsyncState<$rt, $upgraded> {
                &self.inner.state
            }

            $crate::async_server_methods!($rt, $upgraded);
        }
    };
}

/// Generates the methods an async adapter's `Server` shares with the others, inside
/// its `impl Server { … }`: the event listeners (Node's `server.on(…)`, SRV-24),
/// `close*`, `closed`, the addresses. The adapter provides a method
/// `fn state(&self) -> &AsyncState<R, U>` and names its runtime `R` and its
/// handed-over stream type `U`.
#[macro_export]
macro_rules! async_server_methods {
    ($rt:ty, $upgraded:ty) => {
        fn registry(&self) -> &$crate::drive::AsyncRegistry<$rt, $upgraded> {
            self.state().registry()
        }

        /// `server.address()` for the first TCP listener.
        pub fn local_addr(&self) -> ::core::option::Option<::std::net::SocketAddr> {
            self.state().local_addr()
        }

        /// Every address the server listens on.
        pub fn addresses(&self) -> ::std::vec::Vec<$crate::serving::ListenAddr> {
            self.state().addresses()
        }

        /// `server.listening`.
        pub fn listening(&self) -> bool {
            self.state().listening()
        }

        /// Open connections, handed-over sockets included.
        pub fn connection_count(&self) -> usize {
            self.state().open_count()
        }

        /// `server.close()` (SRV-21): stops accepting, removes Unix socket files,
        /// destroys idle connections; active ones finish their requests (without the
        /// request timeout checks) and then end by the keep-alive timeout. Use
        /// `closed()` to wait for the last one; `on_close` listeners run then
        /// (handed-over sockets count until dropped).
        pub fn close(&self) {
            self.state().close();
        }

        /// Resolves when no connection is open, handed-over sockets included (Node's
        /// `'close'` after `close()`).
        pub async fn closed(&self) {
            ::core::future::poll_fn(|cx| self.state().poll_closed(cx)).await;
        }

        /// `server.closeIdleConnections()` (SRV-23): destroys every connection with no
        /// request in progress and no response unfinished.
        pub fn close_idle_connections(&self) {
            self.state().close_idle_connections();
        }

        /// `server.closeAllConnections()` (SRV-22): destroys every connection now.
        pub fn close_all_connections(&self) {
            self.state().close_all_connections();
        }

        /// `server.on('checkContinue', (req, res) => …)`: requests with
        /// `Expect: 100-continue` go to `handler` instead of the request handler, and no
        /// `100 Continue` is written automatically: call
        /// `ServerResponse::write_continue` to get the body, or answer at once (SRV-6,
        /// SRV-7).
        pub fn on_check_continue<H, F>(&self, handler: H) -> &Self
        where
            H: $crate::drive::RequestFn<F>,
            F: ::core::future::Future<Output = ()> + Send + 'static,
        {
            self.registry()
                .set_check_continue($crate::drive::request_handler(handler));
            self
        }

        /// `server.on('checkExpectation', (req, res) => …)`: requests with an `Expect`
        /// value other than `100-continue` go to `handler` instead of being answered `417`
        /// (SRV-6).
        pub fn on_check_expectation<H, F>(&self, handler: H) -> &Self
        where
            H: $crate::drive::RequestFn<F>,
            F: ::core::future::Future<Output = ()> + Send + 'static,
        {
            self.registry()
                .set_check_expectation($crate::drive::request_handler(handler));
            self
        }

        /// `server.on('upgrade', (req, socket, head) => …)`: a request with
        /// `Connection: upgrade` and `Upgrade` leaves HTTP (SRV-8). Once the responses
        /// before it are written, `handler` gets the request, the socket and `head`: every
        /// byte already received after the request head. Nothing is written for it: the
        /// handler writes its own `101` (or refusal) on the socket. Without this listener
        /// such a request is an ordinary request (Node v20).
        pub fn on_upgrade<H, F>(&self, handler: H) -> &Self
        where
            H: Fn($crate::IncomingMessage, $upgraded, $crate::drive::Bytes) -> F
                + Send
                + Sync
                + 'static,
            F: ::core::future::Future<Output = ()> + Send + 'static,
        {
            self.registry()
                .set_upgrade($crate::drive::upgrade_handler(handler));
            self
        }

        /// `server.on('connect', (req, socket, head) => …)`: a `CONNECT` request leaves
        /// HTTP and goes to `handler` like an upgrade (SRV-9). Without this listener the
        /// connection is closed with no bytes written.
        pub fn on_connect<H, F>(&self, handler: H) -> &Self
        where
            H: Fn($crate::IncomingMessage, $upgraded, $crate::drive::Bytes) -> F
                + Send
                + Sync
                + 'static,
            F: ::core::future::Future<Output = ()> + Send + 'static,
        {
            self.registry()
                .set_connect($crate::drive::upgrade_handler(handler));
            self
        }

        /// `server.on('clientError', (err, socket) => …)`: on a parse error or request
        /// timeout nothing is written and the socket goes to `handler` once the output
        /// before the error is written (SRV-11); it may write a raw reply and close.
        /// Without this listener Node's default reply is sent and the connection closed
        /// (SRV-12).
        pub fn on_client_error<H, F>(&self, handler: H) -> &Self
        where
            H: Fn($crate::ClientErrorEvent, $upgraded) -> F + Send + Sync + 'static,
            F: ::core::future::Future<Output = ()> + Send + 'static,
        {
            let h: $crate::drive::ClientErrorHandler<$upgraded> =
                ::std::sync::Arc::new(move |err, io| $crate::drive::box_future(handler(err, io)));
            self.registry().set_client_error(h);
            self
        }

        $crate::plain_listener_methods!();
    };
}

/// Boxes a handover listener's future.
pub fn box_future<F: Future<Output = ()> + Send + 'static>(f: F) -> BoxFuture {
    Box::pin(f)
}

#[doc(hidden)]
pub use bytes::Bytes;

// ---------------------------------------------------------------- the server --

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

/// Writes `slices` (`total` bytes): one slice with a plain write (`send`, as hyper
/// does: cheaper for the kernel than a `writev` of one vector), several gathered into
/// one buffer when they are small, vectored otherwise.
fn poll_write_out<T: Transport>(
    io: &mut T,
    cx: &mut Context<'_>,
    slices: &[IoSlice<'_>],
    total: usize,
) -> Poll<io::Result<usize>> {
    if let [one] = slices {
        return io.poll_write(cx, one);
    }
    if slices.len() > GATHER_MIN_SEGMENTS && total <= COALESCE_MAX {
        let gathered = GATHER.with(|g| {
            let Ok(mut buf) = g.try_borrow_mut() else {
                return None;
            };
            buf.clear();
            for s in slices {
                buf.extend_from_slice(s);
            }
            Some(io.poll_write(cx, &buf))
        });
        if let Some(poll) = gathered {
            return poll;
        }
    }
    io.poll_write_vectored(cx, slices)
}

/// Serves one connection until its socket is closed (`None`) or handed over: then
/// the handover and the stream are returned, the output before it written.
pub async fn serve_connection<T, R, U>(
    io: T,
    conn: Connection,
    handlers: &AsyncHandlers<R, U>,
    rt: &R,
) -> Option<(Handover, T)>
where
    T: Transport,
    R: Runtime,
{
    let mut state = ServerLoop {
        io,
        conn: &conn,
        handlers,
        rt,
        timer: rt.timer(),
        armed: None,
        timer_polled: false,
        read_size: READ_MIN,
        read_direct: false,
        drained: false,
        ready: Vec::new(),
        runners: [None, None, None],
        handover: None,
        kept_refs: Vec::new(),
    };
    core::future::poll_fn(|cx| state.poll(cx)).await;
    match state.handover.take() {
        Some(h) => Some((*h, state.io)),
        None => {
            conn.lock().finish();
            None
        }
    }
}

struct ServerLoop<'h, T, R: Runtime, U> {
    io: T,
    conn: &'h Connection,
    handlers: &'h AsyncHandlers<R, U>,
    rt: &'h R,
    timer: R::Timer,
    /// The deadline `timer` is set to: never later than the machine's next deadline
    /// (it is moved only when that one comes earlier; a timer that fires before the
    /// machine's deadline is simply set again).
    armed: Option<Instant>,
    /// `timer` was polled (its waker registered) since it was last set.
    timer_polled: bool,
    /// The spare capacity to read into: grows when a read fills it (pipelined
    /// batches, bodies), so a connection reading small requests keeps a small buffer.
    read_size: usize,
    /// The next read is the wake-up's first: tried at once ([`Transport::try_read_buf`]).
    read_direct: bool,
    /// The last read filled less than the spare capacity: the socket was drained, and
    /// the next read asks for readiness first.
    drained: bool,
    /// Events found under the lock, handed to the application after it is released.
    ready: Vec<Found>,
    /// The runners of the `'request'`, `'checkContinue'` and `'checkExpectation'`
    /// handlers, made at their first request.
    runners: [Option<Box<dyn Runner>>; 3],
    /// The socket's handover, once due (boxed: a rare, large value kept out of the
    /// loop's state, which a wake-up reads).
    handover: Option<Box<Handover>>,
    /// References to the connection that handles dropped while a wake-up handed out
    /// its events gave back, for the next handles ([`crate::handle_ref`]).
    kept_refs: Vec<Arc<Shared>>,
}

/// What one step decided.
enum Step {
    /// Something changed: run another step.
    Again,
    /// Nothing to do until a waker fires.
    Wait,
    /// Shut the write side down, then end.
    Shutdown,
    /// The socket leaves HTTP (its handover is in `handover`): end without closing it.
    Handover,
    /// End now.
    Done,
}

/// Gives the application one event (with the connection's lock released).
fn dispatch<R: Runtime, U>(
    runners: &mut [Option<Box<dyn Runner>>; 3],
    kept_refs: &mut Vec<Arc<Shared>>,
    h: &AsyncHandlers<R, U>,
    conn: &Connection,
    rt: &R,
    event: Found,
    cx: &mut Context<'_>,
) {
    let shared = conn.shared();
    match event {
        Found::Request { kind, parts } => {
            let (slot, handler) = h.request_handler(kind);
            // The handles are made here, as the handler's arguments.
            let res = ServerResponse::new(HandleRef::take(kept_refs, shared), parts.id);
            let req = NewRequest {
                parts,
                shared: HandleRef::take(kept_refs, shared),
            };
            runners[slot]
                .get_or_insert_with(|| Arc::clone(handler).runner(rt))
                .run(req, res, cx);
        }
        other => match other.into_event(shared) {
            ConnEvent::DropRequest { req } => h.emit_drop_request(req),
            ConnEvent::Timeout { socket } => h.emit_timeout(&socket),
            ConnEvent::Request { .. } => {}
        },
    }
}

impl<T: Transport, R: Runtime, U> ServerLoop<'_, T, R, U> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // The monotonic clock is read once per wake-up; the wall clock only when the
        // Date value's second has ended (`Driver::set_clocks`).
        let now = self.rt.now();
        let mut first = true;
        self.read_direct = true;
        loop {
            let step = self.step(cx, now, std::mem::take(&mut first));
            if !self.ready.is_empty() {
                // Drained in place: the vector keeps its capacity for the next batch.
                let (handlers, conn, rt) = (self.handlers, self.conn, self.rt);
                let lending = Lending::start(conn.shared());
                for event in self.ready.drain(..) {
                    let kept = &mut self.kept_refs;
                    dispatch(&mut self.runners, kept, handlers, conn, rt, event, cx);
                }
                lending.finish(&mut self.kept_refs);
            }
            match step {
                Step::Handover => return Poll::Ready(()),
                Step::Again => {}
                Step::Wait => return Poll::Pending,
                Step::Done => return Poll::Ready(()),
                Step::Shutdown => {
                    // A failed shutdown changes nothing: the socket is dropped next.
                    return self.io.poll_shutdown(cx).map(|_| ());
                }
            }
        }
    }

    /// Reads into the receive buffer: the bytes read and the spare capacity there
    /// was. The first read of a wake-up is tried at once (the wake-up usually comes
    /// from the socket's readiness; a socket not known to be readable answers without
    /// a system call); the others, and a read after one that drained the socket, ask
    /// for readiness first (registering the task's waker, spending its budget), unless
    /// the transport's read does that itself. The receive buffer comes from the
    /// thread's pool only for a read that may fill it.
    #[inline]
    fn read(
        &mut self,
        d: &mut Driver<'_>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(usize, usize)>> {
        let direct = std::mem::take(&mut self.read_direct);
        let ask_ready = !self.io.read_waits_for_ready() || self.drained;
        if !direct && ask_ready {
            ready!(self.io.poll_read_ready(cx))?;
        }
        let buf = d.recv_buf_with(self.read_size);
        let spare = buf.capacity() - buf.len();
        if direct {
            if let Some(r) = self.io.try_read_buf(buf) {
                return Poll::Ready(r.map(|n| (n, spare)));
            }
            if ask_ready {
                ready!(self.io.poll_read_ready(cx))?;
            }
        }
        self.io.poll_read_buf(cx, buf).map_ok(|n| (n, spare))
    }

    fn step(&mut self, cx: &mut Context<'_>, now: Instant, first: bool) -> Step {
        let conn = self.conn;
        let mut d = conn.lock();
        // Handles used while this task runs (a handler polled inline) need not wake
        // it: another step follows every step that made progress.
        d.set_driving(true);
        if first {
            // The waker is the same for every step of a wake-up.
            d.register(cx.waker());
            d.set_clocks(now, SystemTime::now);
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
        if d.found_into(&mut self.ready) {
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
                let first = out.chunk();
                if first.len() == out.len() {
                    // One contiguous slice (the usual responses of a pipelined run
                    // are rendered into one buffer): a plain write.
                    self.io.poll_write(cx, first)
                } else {
                    let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                    let n = out.chunks_vectored(&mut slices);
                    let total = slices[..n].iter().map(|s| s.len()).sum();
                    poll_write_out(&mut self.io, cx, &slices[..n], total)
                }
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
            self.handover = Some(Box::new(h));
            return Step::Handover;
        }

        // 4. close
        match d.wants_close() {
            Some(Close::Now) => return Step::Done,
            Some(Close::AfterFlush) if d.outgoing().is_empty() => return Step::Shutdown,
            _ => {}
        }

        // 5. read
        if d.wants_read() {
            match self.read(d, cx) {
                Poll::Ready(Ok((n, spare))) => {
                    // A read that filled less than the spare capacity drained the
                    // socket: the next one asks for readiness first.
                    self.drained = n < spare;
                    if n == spare && self.read_size < READ_MAX {
                        self.read_size = (self.read_size * 8).min(READ_MAX);
                    }
                    d.received(now, n);
                    progress = true;
                }
                Poll::Ready(Err(_)) => {
                    d.socket_error();
                    return Step::Done;
                }
                // Nothing to read: an idle connection keeps no receive buffer.
                Poll::Pending => d.release_recv_buf(),
            }
        }

        // 6. timers, in a step that found nothing else to do (every wake-up ends with
        // one: a step that made progress is followed by another). Compare with the
        // clock before polling the timer, so an expired deadline is handled even when
        // the task's budget makes the timer pend.
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
                    self.timer.reset(t);
                    self.armed = Some(t);
                    self.timer_polled = false;
                }
                // A timer already registered cannot have fired before its deadline,
                // which a reading older than the wake-up (a cached loop time) may not
                // have reached yet: the runtime then tells whether it fired.
                let due = self.armed.is_some_and(|a| a <= now) || self.timer.has_fired();
                if (due || !self.timer_polled) && self.timer.poll_fired(cx).is_ready() {
                    // Fired at the armed time: the machine's deadline or earlier.
                    if self.armed.take() == Some(t) {
                        d.handle_timeout(now.max(t));
                    }
                    progress = true;
                } else {
                    self.timer_polled = true;
                }
            }
            None if !progress => self.armed = None,
            None => {}
        }

        // 7. events again: requests just read, responses the write retired.
        if d.found_into(&mut self.ready) {
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

// ---------------------------------------------------------------- the client --

/// Drives one client connection until its socket is closed or handed over (an
/// upgrade takes the transport). However it ends, also when the executor drops the
/// future, the connection is finished: its request fails and the agent forgets the
/// socket.
pub async fn drive_client_connection<R: Runtime>(
    io: Box<dyn Transport>,
    conn: ClientConnection,
    rt: R,
) {
    let guard = FinishGuard(Some(conn.clone()), rt.clone());
    let mut state = ClientLoop {
        io: ClientIo::new(io, conn),
        timer: rt.timer(),
        rt,
        armed: None,
    };
    core::future::poll_fn(|cx| state.poll(cx)).await;
    drop(state);
    drop(guard);
}

struct FinishGuard<R: Runtime>(Option<ClientConnection>, R);

impl<R: Runtime> Drop for FinishGuard<R> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            conn.lock().finish();
            conn.settle(self.1.now());
        }
    }
}

struct ClientLoop<R: Runtime> {
    io: ClientIo,
    rt: R,
    timer: R::Timer,
    armed: Option<Instant>,
}

/// A client connection's socket work without a runtime: one [`ClientIo::step`]
/// routes the machine's events, hands an upgrade over, applies socket options,
/// writes, reads and runs the due timers. The async loop adds a timer; the
/// blocking adapter parks its thread until the next deadline.
pub struct ClientIo {
    io: Option<Box<dyn Transport>>,
    conn: ClientConnection,
    read_error: bool,
}

impl core::fmt::Debug for ClientIo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientIo")
            .field("open", &self.io.is_some())
            .finish()
    }
}

/// What a [`ClientIo::step`] leaves to its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStep {
    /// Something happened: step again.
    Again,
    /// Nothing to do until the transport or a handle wakes the task, or the
    /// connection's next deadline (`ClientConnection::poll_timeout`).
    Wait,
    /// Shut the write side down ([`ClientIo::poll_shutdown`]), then stop.
    Shutdown,
    /// The connection is over (closed, failed or upgraded).
    Done,
}

impl<R: Runtime> ClientLoop<R> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            // One clock reading serves the step, its settle and the timer check.
            let now = self.rt.now();
            let step = self.io.step(cx, now);
            self.io.conn.settle_step(|| now);
            match step {
                ClientStep::Again => {}
                ClientStep::Wait => {
                    // The agent's free-socket deadline may have moved meanwhile.
                    if self.arm(cx, now) {
                        continue;
                    }
                    return Poll::Pending;
                }
                ClientStep::Done => return Poll::Ready(()),
                ClientStep::Shutdown => return self.io.poll_shutdown(cx),
            }
        }
    }

    /// Arms the timer for the connection's next deadline; true when it is due at
    /// `now` (or fires at once).
    fn arm(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        match self.io.conn.poll_timeout() {
            Some(t) if t <= now => true,
            Some(t) => {
                if self.armed != Some(t) {
                    self.timer.reset(t);
                    self.armed = Some(t);
                }
                if self.timer.poll_fired(cx).is_ready() {
                    self.armed = None;
                    true
                } else {
                    false
                }
            }
            None => {
                self.armed = None;
                false
            }
        }
    }
}

impl ClientIo {
    /// The socket work of `conn` over `io`.
    pub fn new(io: Box<dyn Transport>, conn: ClientConnection) -> Self {
        Self {
            io: Some(io),
            conn,
            read_error: false,
        }
    }

    /// Shuts the write side down (after [`ClientStep::Shutdown`]).
    pub fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.io.as_mut() {
            Some(io) => io.poll_shutdown(cx).map(|_| ()),
            None => Poll::Ready(()),
        }
    }

    /// One step at `now`, registering `cx`'s waker with the connection and the
    /// transport. Call [`ClientConnection::settle_step`] after each step: a socket
    /// released during the step is reported to the agent (and the application
    /// woken) there.
    pub fn step(&mut self, cx: &mut Context<'_>, now: Instant) -> ClientStep {
        let Some(io) = self.io.as_mut() else {
            return ClientStep::Done;
        };
        let mut d = self.conn.lock_step();
        d.register(cx.waker());
        let mut progress = false;

        // 1. route the machine's events (`take_upgrade` does, then looks for an
        // upgrade); an upgrade takes the socket
        if let Some(h) = d.take_upgrade() {
            drop(d);
            if let Some(io) = self.io.take() {
                h.complete(io);
            }
            return ClientStep::Done;
        }

        // 2. socket options (CLI-26)
        if let Some(opts) = d.take_socket_options() {
            if let Some(on) = opts.no_delay {
                let _ = io.set_no_delay(on);
            }
            if let Some((on, delay)) = opts.keep_alive {
                let _ = io.set_keep_alive(on, delay);
            }
        }

        // 3. write
        loop {
            let written = {
                let out = d.outgoing();
                if out.is_empty() {
                    break;
                }
                let first = out.chunk();
                if first.len() == out.remaining() {
                    // One piece (a request head, say): a plain `write`, which
                    // costs the kernel less than a `writev` of one vector, and no
                    // slice array to fill first.
                    io.poll_write(cx, first)
                } else {
                    let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                    let n = out.chunks_vectored(&mut slices);
                    io.poll_write_vectored(cx, &slices[..n])
                }
            };
            match written {
                Poll::Ready(Ok(n)) if n > 0 => {
                    d.transmitted(now, n);
                    progress = true;
                }
                Poll::Ready(Ok(_)) => {
                    d.socket_error(ClientError::io("EPIPE", "write EPIPE"));
                    return ClientStep::Done;
                }
                Poll::Ready(Err(e)) => {
                    d.socket_error(sys_error("write", &e, ""));
                    return ClientStep::Done;
                }
                Poll::Pending => break,
            }
        }

        // 4. close
        match d.wants_close() {
            Some(ClientClose::Now) => return ClientStep::Done,
            Some(ClientClose::AfterFlush) if d.outgoing().is_empty() => {
                return ClientStep::Shutdown;
            }
            _ => {}
        }

        // 5. read (idle sockets too: a close or stray bytes take them out of the
        // pool, AGT-9)
        // Reads go on while there are bytes: a step that ends with the read
        // registered (or not wanted) needs no confirming step.
        let mut reads_settled = true;
        while !self.read_error && d.wants_read() {
            let read = match io.poll_read_ready(cx) {
                Poll::Ready(Ok(())) => io.poll_read_buf(cx, d.recv_buf()),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            };
            match read {
                Poll::Ready(Ok(n)) => {
                    d.received(now, n);
                    progress = true;
                    if n == 0 {
                        reads_settled = false;
                        break;
                    }
                }
                Poll::Ready(Err(e)) => {
                    self.read_error = true;
                    d.socket_error(sys_error("read", &e, ""));
                    return ClientStep::Done;
                }
                Poll::Pending => break,
            }
        }

        // 6. the connection's own timers
        if d.poll_timeout().is_some_and(|t| t <= now) {
            d.handle_timeout(now);
            progress = true;
            reads_settled = false;
        }
        // Progress by writing and reading alone: with the events routed, no
        // upgrade, nothing more to write and no close wanted, another step would
        // find nothing to do (the read is registered or not wanted, handles wake
        // the loop, `arm` covers the timers).
        if progress && reads_settled {
            d.process();
            if !d.upgrade_pending() && d.outgoing().is_empty() && d.wants_close().is_none() {
                return ClientStep::Wait;
            }
        }
        drop(d);
        if !progress && self.conn.poll_timeout().is_some_and(|t| t <= now) {
            // A due deadline of the agent's: settle expires the free sockets.
            self.conn.settle(now);
            let mut d = self.conn.lock();
            d.handle_timeout(now);
            progress = true;
        }
        if progress {
            ClientStep::Again
        } else {
            ClientStep::Wait
        }
    }
}

/// The scratch buffer's size: the largest single read (the server loop's receive
/// buffer grows to 16 KiB).
const SCRATCH_LEN: usize = 16 * 1024;

std::thread_local! {
    /// Where [`poll_read_into_slice`]'s reads land before they are copied to a
    /// receive buffer: zeroed once per thread, so that no read zeroes its slice.
    static SCRATCH: core::cell::RefCell<Box<[u8]>> =
        core::cell::RefCell::new(vec![0; SCRATCH_LEN].into_boxed_slice());
}

/// A [`Transport`] over any futures-io style stream: `read` (the stream's
/// `poll_read`) fills an initialised slice, since safe code cannot hand it
/// uninitialised memory. The slice is the thread's scratch buffer (at most the
/// spare capacity of `buf`, reserved first when there is none), and only the bytes
/// received are appended to `buf`: a copy of what came instead of a `memset` of the
/// whole slice read into ([`poll_read_into_slice_upto`], the fallback while the
/// thread's locals are being destroyed).
pub fn poll_read_into_slice(
    buf: &mut BytesMut,
    read: impl FnOnce(&mut [u8]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<usize>> {
    if buf.capacity() == buf.len() {
        buf.reserve(8 * 1024);
    }
    let room = buf.capacity() - buf.len();
    if SCRATCH.try_with(|_| ()).is_err() {
        return poll_read_into_slice_upto(buf, room, read);
    }
    SCRATCH.with(|scratch| {
        let Ok(mut scratch) = scratch.try_borrow_mut() else {
            // Not reached (nothing reads while a read is in progress): zero a slice.
            return poll_read_into_slice_upto(buf, room, read);
        };
        let want = room.min(scratch.len());
        let r = read(&mut scratch[..want]);
        if let Poll::Ready(Ok(n)) = r {
            buf.extend_from_slice(&scratch[..n.min(want)]);
        }
        r
    })
}

/// [`poll_read_into_slice`] into at most `max` bytes of the spare capacity (at
/// least one): what is zeroed per read is bounded by what the caller expects the
/// read to bring.
pub fn poll_read_into_slice_upto(
    buf: &mut BytesMut,
    max: usize,
    read: impl FnOnce(&mut [u8]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<usize>> {
    if buf.capacity() == buf.len() {
        buf.reserve(8 * 1024);
    }
    let len = buf.len();
    let room = (buf.capacity() - len).min(max.max(1));
    buf.resize(len + room, 0);
    let r = read(&mut buf[len..]);
    let n = match &r {
        Poll::Ready(Ok(n)) => *n,
        _ => 0,
    };
    buf.truncate(len + n);
    r
}

/// Inside an adapter's `impl Transport for S { … }`: the writes, flush and
/// shutdown, passed to `S`'s own `AsyncWrite`, tokio's (`tokio`) or futures-io's
/// (`futures`, where shutdown is `poll_close`: for sockets, a write-side shutdown).
/// The adapter's crate depends on the I/O crate named.
#[macro_export]
macro_rules! transport_writes {
    (tokio) => {
        $crate::transport_writes!(@writes tokio::io::AsyncWrite, poll_shutdown);
    };
    (futures) => {
        $crate::transport_writes!(@writes futures_io::AsyncWrite, poll_close);
    };
    (@writes $($io:ident)::+, $shutdown:ident) => {
        fn poll_write(
            &mut self,
            cx: &mut ::core::task::Context<'_>,
            buf: &[u8],
        ) -> ::core::task::Poll<::std::io::Result<usize>> {
            ::$($io)::+::poll_write(::core::pin::Pin::new(self), cx, buf)
        }

        fn poll_write_vectored(
            &mut self,
            cx: &mut ::core::task::Context<'_>,
            bufs: &[::std::io::IoSlice<'_>],
        ) -> ::core::task::Poll<::std::io::Result<usize>> {
            ::$($io)::+::poll_write_vectored(::core::pin::Pin::new(self), cx, bufs)
        }

        fn poll_flush(
            &mut self,
            cx: &mut ::core::task::Context<'_>,
        ) -> ::core::task::Poll<::std::io::Result<()>> {
            ::$($io)::+::poll_flush(::core::pin::Pin::new(self), cx)
        }

        fn poll_shutdown(
            &mut self,
            cx: &mut ::core::task::Context<'_>,
        ) -> ::core::task::Poll<::std::io::Result<()>> {
            ::$($io)::+::$shutdown(::core::pin::Pin::new(self), cx)
        }
    };
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn a_read_appends_only_what_came_and_reserves_when_full() {
        // Full buffer: room is reserved, and the read sees at most that room.
        let mut buf = BytesMut::from(&b"GET"[..]);
        let mut offered = 0;
        let r = poll_read_into_slice(&mut buf, |slice| {
            offered = slice.len();
            slice[..5].copy_from_slice(b" / HT");
            Poll::Ready(Ok(5))
        });
        assert!(matches!(r, Poll::Ready(Ok(5))));
        assert_eq!(&buf[..], b"GET / HT");
        assert!(offered > 0 && offered <= SCRATCH_LEN);
        // Pending and errors append nothing.
        let before = buf.clone();
        assert!(poll_read_into_slice(&mut buf, |_| Poll::Pending).is_pending());
        let e = poll_read_into_slice(&mut buf, |_| Poll::Ready(Err(io::ErrorKind::Other.into())));
        assert!(matches!(e, Poll::Ready(Err(_))));
        assert_eq!(buf, before);
        // A small spare capacity bounds the slice offered.
        let mut small = BytesMut::with_capacity(4);
        let cap = small.capacity();
        let mut offered = 0;
        let _ = poll_read_into_slice(&mut small, |slice| {
            offered = slice.len();
            Poll::Ready(Ok(0))
        });
        assert_eq!(offered, cap);
        assert!(small.is_empty());
    }
}
