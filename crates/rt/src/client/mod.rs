//! Node's `http` client, runtime-neutral: [`ClientOptions`] (every `http.request`
//! option, validated as Node validates them), the [`ClientRequest`] and
//! [`ClientResponse`] handles, the [`Agent`] (Node's `http.Agent` over proto's
//! [`Pool`](courier_proto::agent::Pool)) and the per-connection driver core
//! ([`ClientConnection`] / [`ClientDriver`]).
//!
//! Nothing here opens a socket, reads a clock or spawns: a runtime adapter supplies a
//! [`ClientRuntime`] (spawn a connection, the clock), a default [`Connector`] and the
//! I/O loop, which is the client twin of the server's loop (see [`conn`]):
//!
//! 1. [`ClientDriver::register`] the task's waker and [`ClientDriver::process`] the
//!    machine's events (they go to the request and response handles);
//! 2. hand the socket over on [`ClientDriver::take_upgrade`];
//! 3. apply [`ClientDriver::take_socket_options`];
//! 4. write [`ClientDriver::outgoing`], report [`ClientDriver::transmitted`];
//! 5. honour [`ClientDriver::wants_close`];
//! 6. while [`ClientDriver::wants_read`], read into [`ClientDriver::recv_buf`] and
//!    report [`ClientDriver::received`] (0 = end of input);
//! 7. sleep until [`ClientConnection::poll_timeout`], then
//!    [`ClientDriver::handle_timeout`];
//! 8. after every step, with the lock released, [`ClientConnection::settle`] (the
//!    agent hears what became of the socket); when the socket is gone,
//!    [`ClientDriver::finish`] and a last `settle`.
//!
//! Lock order: a request's state may be locked while its connection is locked, never
//! the other way round; the agent's lock is only ever held alone. Wakers are called
//! after the locks are released.

pub mod conn;
pub mod sys;

mod agent;
mod options;
mod request;
mod response;

use core::time::Duration;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;

pub use agent::{Agent, ConnectTask, SocketInfo, global_agent};
pub use conn::{ClientConnection, ClientDriver, UpgradeHandoff};
pub use options::{AgentChoice, ClientOptions, ClientOptionsError, UrlArg, parse_url, url_parts};
pub use request::{ClientRequest, RequestEvent};
pub use response::{ClientResponse, ClientUpgrade};

pub use courier_proto::agent::{AgentOptions, AgentOptionsError, PoolOptions, Scheduling};
pub use courier_proto::client::ClientError;
pub use courier_proto::outgoing::{RequestHeaders, RequestOptions};

/// A connected byte stream the client drives: TCP, a Unix socket, or whatever a
/// [`Connector`] returns. Poll-based, so that any runtime can implement it.
pub trait Transport: Send + Unpin + 'static {
    /// Reads into the spare capacity of `buf` (appending); `Ready(Ok(0))` is the end
    /// of input.
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>>;

    /// `Ready` when a read may find bytes (registering `cx`'s waker otherwise): a
    /// runtime with readiness reports it here, so that the server allocates its
    /// receive buffer only for a read that may fill it. `Ready` by default (the read
    /// itself then waits).
    fn poll_read_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Whether [`Transport::poll_read_buf`] itself waits for the readiness that
    /// [`Transport::poll_read_ready`] reports (registering `cx`'s waker, with no
    /// system call, when the socket is known to be drained): the server loop then
    /// reads without asking for readiness first, one readiness check per read less.
    /// `false` by default.
    fn read_waits_for_ready(&self) -> bool {
        false
    }

    /// Reads into the spare capacity of `buf` at once if the socket is known to be
    /// readable, without waiting, registering a waker or spending the runtime's task
    /// budget: `None` when it is not known to be (the caller then goes through
    /// [`Transport::poll_read_ready`] / [`Transport::poll_read_buf`]), otherwise what
    /// the read gave (`Ok(0)`: the end of input). Like `poll_read_buf` on a runtime
    /// with readiness, a read that fills less than the spare capacity marks the socket
    /// drained. The server loop reads this way once per wake-up (the wake-up usually
    /// comes from the socket's readiness). `None` by default.
    fn try_read_buf(&mut self, _buf: &mut BytesMut) -> Option<io::Result<usize>> {
        None
    }

    /// Writes some of `buf` (by default a vectored write of one slice).
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    /// Writes some of `bufs`, in order.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Flushes buffered output (a no-op for plain sockets).
    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts the write side down.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// `socket.setNoDelay(on)`; transports without Nagle ignore it.
    fn set_no_delay(&self, _on: bool) -> io::Result<()> {
        Ok(())
    }

    /// `socket.setKeepAlive(enable, initialDelay)`; transports without TCP ignore it.
    fn set_keep_alive(&self, _enable: bool, _initial_delay: Duration) -> io::Result<()> {
        Ok(())
    }

    /// The transport as [`Any`](core::any::Any), so that an adapter can recognise its
    /// own stream type in a [`ClientUpgrade`] (`None` by default).
    fn as_any(&self) -> Option<&(dyn core::any::Any + Send)> {
        None
    }

    /// The transport as a boxed [`Any`](core::any::Any), so that an adapter can take
    /// its own stream back out of a [`ClientUpgrade`] (`None` by default: the
    /// transport is dropped).
    fn into_any(self: Box<Self>) -> Option<Box<dyn core::any::Any + Send>> {
        None
    }
}

/// A boxed future of a [`Connector`].
pub type ConnectFuture =
    Pin<Box<dyn Future<Output = Result<Box<dyn Transport>, ClientError>> + Send>>;

/// Node's `createConnection`: opens the socket of a new agent connection
/// ([`Agent::set_connector`]). Errors carry Node's code and message
/// (`ClientError::io("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1")`).
pub trait Connector: Send + Sync + 'static {
    /// Opens a connection to `target`.
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture;
}

/// Where and how to connect (the connection options of `http.request`, CLI-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTarget {
    /// The target host (`hostname || host || 'localhost'`), without IPv6 brackets.
    pub host: String,
    /// The target port.
    pub port: u16,
    /// `socketPath`: connect to this Unix socket instead.
    pub socket_path: Option<String>,
    /// `localAddress`: bind the socket to this address first.
    pub local_address: Option<IpAddr>,
    /// `family`: 4 or 6 restricts the resolved addresses; `None` (or 0) takes any.
    pub family: Option<u8>,
    /// Disable Nagle (`noDelay`, the agent's default true).
    pub no_delay: bool,
    /// TCP keep-alive with this initial delay (the agent's `keepAlive` /
    /// `keepAliveMsecs`, AGT-5).
    pub keep_alive: Option<Duration>,
}

/// What a runtime adapter supplies to the client core.
pub trait ClientRuntime: Send + Sync + 'static {
    /// The clock (a runtime with virtual time returns its own).
    fn now(&self) -> Instant;

    /// Opens the connection of `task` on a task of its own: connect with
    /// [`ConnectTask::connector`] (or the adapter's default), then report
    /// [`ConnectTask::connected`] and drive the connection, or
    /// [`ConnectTask::failed`].
    fn open(&self, task: ConnectTask);
}
