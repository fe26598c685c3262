//! `http.request` / `http.get` on std::net: the connector, the client's connection
//! loop and blocking handles over rt's `ClientRequest` / `ClientResponse`.
//!
//! Each agent connection is driven by a thread of its own (it reads the socket, also
//! while the socket idles in the agent's pool, AGT-9, and runs the timers). The
//! thread that uses a request writes: a `write` or `end` wakes the connection, and
//! the wake flushes the output on the calling thread. A call that waits
//! (`response`, a body read, `write` above the high-water mark) parks the calling
//! thread until the connection's thread wakes it.

use core::time::Duration;
use std::borrow::Cow;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use courier_proto::client::Close;
use courier_proto::head::ResponseHead;
use courier_proto::{NodeDistinct, NodeHeaders, Version};
use courier_rt::HeaderValue;
use courier_rt::OutgoingError;
use courier_rt::client::sys::sys_error;
use courier_rt::client::{
    Agent, ClientConnection, ClientError, ClientOptions, ClientOptionsError, ClientRequest,
    ClientResponse, ClientRuntime, ClientUpgrade, ConnectFuture, ConnectTarget, ConnectTask,
    Connector, RequestEvent, Transport,
};
use courier_rt::drive::{ClientIo, ClientStep};

use crate::io::{
    IoWaker, READ_CHUNK, Stream, Writer, block_on, install_foreign_flush, is_timeout, read_timeout,
};

/// `http.request(options)` (CLI-1 … CLI-7): a request bound to its agent's socket at
/// once or when one frees up. Fails as Node's synchronous throws do.
///
/// ```no_run
/// use courier_rt_blocking::request;
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut req = request("http://127.0.0.1:8080/upload")?;
/// req.set_header("Content-Type", "text/plain")?;
/// req.write("hello ")?;
/// req.end(Some("world".into()))?;
/// let mut res = req.response()?;
/// println!("{} {:?}", res.status_code(), res.read_body()?);
/// # Ok(())
/// # }
/// ```
pub fn request(
    options: impl Into<ClientOptions>,
) -> Result<BlockingClientRequest, ClientOptionsError> {
    Ok(BlockingClientRequest {
        inner: ClientRequest::new(options, runtime())?,
    })
}

/// `http.get(options)`: [`request`] with the request ended at once (CLI-1).
pub fn get(options: impl Into<ClientOptions>) -> Result<BlockingClientRequest, ClientOptionsError> {
    Ok(BlockingClientRequest {
        inner: ClientRequest::get(options, runtime())?,
    })
}

fn runtime() -> Arc<dyn ClientRuntime> {
    static RT: OnceLock<Arc<BlockingRuntime>> = OnceLock::new();
    RT.get_or_init(|| Arc::new(BlockingRuntime)).clone()
}

/// The client core's runtime hooks on std: the system clock, one thread per
/// connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockingRuntime;

impl ClientRuntime for BlockingRuntime {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn open(&self, task: ConnectTask) {
        // A thread that cannot start drops the task, which fails it.
        let _ = std::thread::Builder::new()
            .name("courier-client".into())
            .spawn(move || {
                let target = task.target().clone();
                match task.connector() {
                    None => match BlockingConnector::connect_stream(&target) {
                        Ok(stream) => {
                            if let Some(conn) = task.connected(Instant::now()) {
                                drive(stream, conn);
                            }
                        }
                        Err(e) => task.failed(e),
                    },
                    Some(connector) => match block_on(connector.connect(&target)) {
                        Ok(io) => {
                            if let Some(conn) = task.connected(Instant::now()) {
                                drive_transport(io, conn);
                            }
                        }
                        Err(e) => task.failed(e),
                    },
                }
            });
    }
}

/// Node's `net.createConnection` on std: resolves the host (keeping only the
/// `family` asked for), binds `localAddress` when given, connects to each address in
/// turn, then sets `noDelay` and TCP keep-alive as the agent asks (AGT-5). With
/// `socketPath` it connects to that Unix socket. Errors carry Node's codes and
/// messages.
///
/// As a [`Connector`] ([`Agent::set_connector`]) its transport blocks in its reads;
/// the adapter's own connections use [`BlockingConnector::connect_stream`] directly.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockingConnector;

impl BlockingConnector {
    /// Opens the socket for `target`, blocking.
    pub fn connect_stream(target: &ConnectTarget) -> Result<Stream, ClientError> {
        #[cfg(unix)]
        let unix = |path: &str| std::os::unix::net::UnixStream::connect(path).map(Stream::Unix);
        #[cfg(not(unix))]
        let unix = |_: &str| Err(io::ErrorKind::Unsupported.into());
        courier_net::connect_target_blocking(
            target,
            unix,
            |host, port| std::net::ToSocketAddrs::to_socket_addrs(&(host, port)),
            |addr| {
                let s = Self::connect_addr(addr, target)?;
                courier_net::set_client_options((&s).into(), target);
                Ok(Stream::Tcp(s))
            },
        )
    }

    fn connect_addr(addr: SocketAddr, target: &ConnectTarget) -> Result<TcpStream, ClientError> {
        let detail = courier_net::connect_detail(addr);
        let err = |e: io::Error| sys_error("connect", &e, &detail);
        let sock = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .map_err(err)?;
        if let Some(local) = target.local_address {
            sock.bind(&SocketAddr::new(local, 0).into())
                .map_err(|e| sys_error("bind", &e, &local.to_string()))?;
        }
        sock.connect(&addr.into()).map_err(err)?;
        Ok(sock.into())
    }
}

impl Connector for BlockingConnector {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let target = target.clone();
        Box::pin(async move {
            let s = Self::connect_stream(&target)?;
            Ok(Box::new(s) as Box<dyn Transport>)
        })
    }
}

/// The stream as rt's poll-based transport (the handed-over socket of an upgrade, a
/// [`BlockingConnector`] transport): writes block; a read blocks for at most
/// 100 ms, then returns `Pending` with the task already
/// woken, so that a poll loop driving it gets to its other work (output queued by
/// another thread) at least that often.
impl Transport for Stream {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let mut tmp = [0u8; READ_CHUNK];
        let _ = self.set_read_timeout(Some(crate::io::RECHECK));
        loop {
            match self.read(&mut tmp) {
                Ok(n) => {
                    buf.extend_from_slice(&tmp[..n]);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_write_vectored(
        &mut self,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.write_vectored(bufs))
    }

    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }

    fn set_no_delay(&self, on: bool) -> io::Result<()> {
        self.set_nodelay(on)
    }

    fn set_keep_alive(&self, enable: bool, initial_delay: Duration) -> io::Result<()> {
        Stream::set_keep_alive(self, enable, initial_delay)
    }

    fn as_any(&self) -> Option<&(dyn core::any::Any + Send)> {
        Some(self)
    }

    fn into_any(self: Box<Self>) -> Option<Box<dyn core::any::Any + Send>> {
        Some(self)
    }
}

/// Applies the socket options the running request asked for (CLI-26); best effort,
/// as in Node.
fn apply_socket_options(d: &mut courier_rt::client::ClientDriver<'_>, t: &dyn Transport) {
    if let Some(opts) = d.take_socket_options() {
        if let Some(on) = opts.no_delay {
            let _ = t.set_no_delay(on);
        }
        if let Some((on, delay)) = opts.keep_alive {
            let _ = t.set_keep_alive(on, delay);
        }
    }
}

/// Runs one client connection on the current thread until its socket is closed or
/// handed over.
fn drive(stream: Stream, conn: ClientConnection) {
    let waker = IoWaker::current();
    let task_waker = Waker::from(Arc::clone(&waker));
    let detached = Arc::new(AtomicBool::new(false));
    let writer = Arc::new(Writer::default());
    install_foreign_flush(&waker, &conn, &stream, &writer, &detached);
    let mut stream = Some(stream);
    let mut buf = vec![0u8; READ_CHUNK];
    while let Some(s) = stream.as_ref() {
        let now = Instant::now();
        let mut d = conn.lock();
        d.register(&task_waker);
        d.process();

        // 1. an upgrade takes the socket
        if let Some(h) = d.take_upgrade() {
            detached.store(true, Ordering::Release);
            drop(d);
            waker.set_flush(None);
            if let Some(s) = stream.take() {
                let _ = s.set_read_timeout(None);
                let _ = s.set_write_timeout(None);
                h.complete(Box::new(s));
            }
            break;
        }

        // 2. socket options (CLI-26)
        apply_socket_options(&mut d, s);

        drop(d);

        // 3. write, without the connection's lock
        match writer.flush(s, || conn.lock(), true) {
            Ok(()) => {}
            Err(e) if is_timeout(&e) => {
                conn.lock().handle_timeout(Instant::now());
                conn.settle(Instant::now());
                continue;
            }
            Err(e) => {
                conn.lock().socket_error(sys_error("write", &e, ""));
                break;
            }
        }
        let mut d = conn.lock();

        // 4. close
        match d.wants_close() {
            Some(Close::Now) => break,
            Some(Close::AfterFlush) if d.outgoing().is_empty() => {
                let _ = s.shutdown(Shutdown::Write);
                break;
            }
            _ => {}
        }

        // 5. the connection's own timers
        if d.poll_timeout().is_some_and(|t| t <= now) {
            d.handle_timeout(now);
            drop(d);
            conn.settle(now);
            continue;
        }
        let read = d.wants_read();
        drop(d);
        conn.settle(now);
        let deadline = conn.poll_timeout();
        if deadline.is_some_and(|t| t <= now) {
            // A due deadline of the agent's: settle expires the free sockets.
            conn.settle(now);
            conn.lock().handle_timeout(now);
            continue;
        }
        if waker.take_notified() {
            continue;
        }

        // 6. block: read until the deadline, or park until a wake or the deadline
        if !read {
            waker.park(deadline);
            continue;
        }
        let _ = s.set_read_timeout(read_timeout(deadline, now));
        let mut reader = s;
        let result = reader.read(&mut buf);
        if matches!(result, Ok(n) if n > 0) {
            writer.settle_in_flight();
        }
        let now = Instant::now();
        let mut d = conn.lock();
        match result {
            Ok(n) => {
                d.recv_buf().extend_from_slice(&buf[..n]);
                d.received(now, n);
                // Tell the agent at once what became of the socket (a response that
                // ended frees it): the woken caller may ask for it right away.
                drop(d);
                conn.settle(now);
                continue;
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                d.socket_error(sys_error("read", &e, ""));
                break;
            }
        }
    }
    waker.set_flush(None);
    drop(stream);
    conn.lock().finish();
    conn.settle(Instant::now());
}

/// Runs a connection over a custom connector's poll-based transport: rt's
/// runtime-free [`ClientIo`] steps, the thread parked while the transport is
/// pending (it must wake the task's waker, as any runtime's transport does) or
/// until the connection's next deadline.
fn drive_transport(io: Box<dyn Transport>, conn: ClientConnection) {
    let waker = IoWaker::current();
    let task_waker = Waker::from(Arc::clone(&waker));
    let mut cx = Context::from_waker(&task_waker);
    let mut steps = ClientIo::new(io, conn.clone());
    loop {
        let step = steps.step(&mut cx, Instant::now());
        conn.settle_step(Instant::now);
        match step {
            ClientStep::Again => {}
            ClientStep::Wait => {
                let deadline = conn.poll_timeout();
                if deadline.is_none_or(|t| t > Instant::now()) {
                    waker.park(deadline);
                }
            }
            ClientStep::Shutdown => {
                block_on(core::future::poll_fn(|cx| steps.poll_shutdown(cx)));
                break;
            }
            ClientStep::Done => break,
        }
    }
    drop(steps);
    conn.lock().finish();
    conn.settle(Instant::now());
}

/// A client request (Node's `ClientRequest`) with blocking calls: rt's
/// [`ClientRequest`], whose non-blocking methods are here too.
#[derive(Debug)]
pub struct BlockingClientRequest {
    inner: ClientRequest,
}

impl BlockingClientRequest {
    /// rt's handle.
    pub fn inner(&self) -> &ClientRequest {
        &self.inner
    }

    /// rt's handle, mutable.
    pub fn inner_mut(&mut self) -> &mut ClientRequest {
        &mut self.inner
    }

    /// rt's handle, giving up the blocking wrapper.
    pub fn into_inner(self) -> ClientRequest {
        self.inner
    }

    /// `req.setHeader(name, value)`.
    pub fn set_header(
        &mut self,
        name: &str,
        value: impl Into<HeaderValue>,
    ) -> Result<&mut Self, OutgoingError> {
        self.inner.set_header(name, value)?;
        Ok(self)
    }

    /// `req.appendHeader(name, value)`.
    pub fn append_header(
        &mut self,
        name: &str,
        value: impl Into<HeaderValue>,
    ) -> Result<&mut Self, OutgoingError> {
        self.inner.append_header(name, value)?;
        Ok(self)
    }

    /// `req.getHeader(name)`.
    pub fn get_header(&self, name: &str) -> Option<HeaderValue> {
        self.inner.get_header(name)
    }

    /// `req.hasHeader(name)`.
    pub fn has_header(&self, name: &str) -> bool {
        self.inner.has_header(name)
    }

    /// `req.removeHeader(name)`.
    pub fn remove_header(&mut self, name: &str) -> Result<(), OutgoingError> {
        self.inner.remove_header(name)
    }

    /// `req.getHeaderNames()`.
    pub fn get_header_names(&self) -> Vec<String> {
        self.inner.get_header_names()
    }

    /// `req.getHeaders()`.
    pub fn get_headers(&self) -> Vec<(String, HeaderValue)> {
        self.inner.get_headers()
    }

    /// `req.addTrailers(headers)`.
    pub fn add_trailers(&mut self, trailers: &[(&str, &str)]) -> Result<(), OutgoingError> {
        self.inner.add_trailers(trailers)
    }

    /// `req.write(chunk)`, then blocks while more than the high-water mark is unsent
    /// (Node's `'drain'`).
    pub fn write(&mut self, chunk: impl Into<Bytes>) -> Result<(), OutgoingError> {
        block_on(self.inner.write(chunk))
    }

    /// `req.write(chunk)` without blocking; `Ok(false)`: wait for [`Self::drained`].
    pub fn write_now(&mut self, chunk: impl Into<Bytes>) -> Result<bool, OutgoingError> {
        self.inner.write_now(chunk)
    }

    /// Blocks until the unsent bytes are below the high-water mark.
    pub fn drained(&self) {
        block_on(self.inner.drained());
    }

    /// `req.end(chunk)`.
    pub fn end(&mut self, chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        self.inner.end(chunk)
    }

    /// `req.flushHeaders()`.
    pub fn flush_headers(&mut self) -> Result<(), OutgoingError> {
        self.inner.flush_headers()
    }

    /// `req.abort()`.
    pub fn abort(&mut self) {
        self.inner.abort();
    }

    /// `req.destroy()`.
    pub fn destroy(&mut self) {
        self.inner.destroy();
    }

    /// `req.destroy(err)`.
    pub fn destroy_with(&mut self, err: ClientError) {
        self.inner.destroy_with(err);
    }

    /// `req.setTimeout(ms)` (`None` turns it off).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.inner.set_timeout(timeout);
    }

    /// `req.setNoDelay(noDelay)`.
    pub fn set_no_delay(&mut self, no_delay: bool) {
        self.inner.set_no_delay(no_delay);
    }

    /// `req.setSocketKeepAlive(enable, initialDelay)`.
    pub fn set_socket_keep_alive(&mut self, enable: bool, initial_delay: Duration) {
        self.inner.set_socket_keep_alive(enable, initial_delay);
    }

    /// `req.reusedSocket`.
    pub fn reused_socket(&self) -> bool {
        self.inner.reused_socket()
    }

    /// `req.path`.
    pub fn path(&self) -> &str {
        self.inner.path()
    }

    /// `req.method`.
    pub fn method(&self) -> &str {
        self.inner.method()
    }

    /// `req.host`.
    pub fn host(&self) -> &str {
        self.inner.host()
    }

    /// `req.headersSent`.
    pub fn headers_sent(&self) -> bool {
        self.inner.headers_sent()
    }

    /// The request's error, if it failed.
    pub fn error(&self) -> Option<ClientError> {
        self.inner.error()
    }

    /// `req.destroyed`.
    pub fn destroyed(&self) -> bool {
        self.inner.destroyed()
    }

    /// The agent the request goes through.
    pub fn agent(&self) -> &Agent {
        self.inner.agent()
    }

    /// Blocks for the response (`'response'`) or the request's error. Ends the
    /// request first if it was not (Node's `get`).
    pub fn response(&mut self) -> Result<BlockingClientResponse, ClientError> {
        block_on(self.inner.response()).map(|inner| BlockingClientResponse {
            inner,
            pending: Bytes::new(),
        })
    }

    /// Blocks for the connection after a `101` or a CONNECT answer (Node's
    /// `'upgrade'` / `'connect'`, CLI-16).
    pub fn upgrade(&mut self) -> Result<BlockingUpgrade, ClientError> {
        block_on(self.inner.upgrade()).map(BlockingUpgrade)
    }

    /// Blocks for the next event; `None` after [`RequestEvent::Close`].
    pub fn next_event(&mut self) -> Option<RequestEvent> {
        block_on(self.inner.next_event())
    }

    /// Events queued now, without blocking.
    pub fn take_events(&mut self) -> Vec<RequestEvent> {
        self.inner.take_events()
    }
}

/// A response (Node's `IncomingMessage` on the client): rt's [`ClientResponse`] with
/// a blocking body ([`std::io::Read`], [`Self::chunk`], [`Self::read_body`]).
#[derive(Debug)]
pub struct BlockingClientResponse {
    inner: ClientResponse,
    pending: Bytes,
}

impl BlockingClientResponse {
    /// rt's handle.
    pub fn inner(&self) -> &ClientResponse {
        &self.inner
    }

    /// rt's handle, mutable.
    pub fn inner_mut(&mut self) -> &mut ClientResponse {
        &mut self.inner
    }

    /// `res.statusCode`.
    pub fn status_code(&self) -> u16 {
        self.inner.status_code()
    }

    /// `res.statusMessage`.
    pub fn status_message(&self) -> Cow<'_, str> {
        self.inner.status_message()
    }

    /// `res.httpVersion`.
    pub fn http_version(&self) -> String {
        self.inner.http_version()
    }

    /// The version as a value.
    pub fn version(&self) -> Version {
        self.inner.version()
    }

    /// `res.headers`.
    pub fn headers(&self) -> &NodeHeaders {
        self.inner.headers()
    }

    /// `res.headersDistinct`.
    pub fn headers_distinct(&self) -> &NodeDistinct {
        self.inner.headers_distinct()
    }

    /// `res.rawHeaders`.
    pub fn raw_headers(&self) -> Vec<Bytes> {
        self.inner.raw_headers()
    }

    /// The whole parsed head.
    pub fn head(&self) -> &ResponseHead {
        self.inner.head()
    }

    /// `res.trailers` once the body ended.
    pub fn trailers(&self) -> Option<NodeHeaders> {
        self.inner.trailers()
    }

    /// `res.rawTrailers` once the body ended.
    pub fn raw_trailers(&self) -> Option<Vec<Bytes>> {
        self.inner.raw_trailers()
    }

    /// `res.complete`.
    pub fn complete(&self) -> bool {
        self.inner.complete()
    }

    /// `res.aborted`.
    pub fn aborted(&self) -> bool {
        self.inner.aborted()
    }

    /// The next piece of the body, blocking; `None` at its end.
    pub fn chunk(&mut self) -> Option<io::Result<Bytes>> {
        if !self.pending.is_empty() {
            return Some(Ok(core::mem::take(&mut self.pending)));
        }
        block_on(self.inner.chunk())
    }

    /// Reads the rest of the body into one buffer, blocking.
    pub fn read_body(&mut self) -> io::Result<Bytes> {
        let pending = core::mem::take(&mut self.pending);
        let rest = block_on(self.inner.read_body())?;
        if pending.is_empty() {
            return Ok(rest);
        }
        let mut all = Vec::with_capacity(pending.len() + rest.len());
        all.extend_from_slice(&pending);
        all.extend_from_slice(&rest);
        Ok(all.into())
    }
}

impl Read for BlockingClientResponse {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        crate::io::read_chunks(&mut self.pending, buf, || block_on(inner.chunk()))
    }
}

/// The connection after an upgrade or a CONNECT (CLI-16): the socket as a blocking
/// [`Read`] (the bytes that followed the response head first) + [`Write`], and the
/// response head. The [`ClientUpgrade`] it wraps (`head`, `response`,
/// `status_code`) is reached through `Deref`.
#[derive(Debug)]
pub struct BlockingUpgrade(ClientUpgrade);

impl core::ops::Deref for BlockingUpgrade {
    type Target = ClientUpgrade;

    fn deref(&self) -> &ClientUpgrade {
        &self.0
    }
}

impl BlockingUpgrade {
    /// The socket (rt's transport; on this adapter's own connections a [`Stream`])
    /// and the unread `head` bytes.
    pub fn into_parts(self) -> (Box<dyn Transport>, Bytes) {
        self.0.into_parts()
    }

    /// The std stream (`Stream::Tcp` / `Stream::Unix`, blocking, no timeouts set)
    /// and the unread `head` bytes: Node's `'upgrade'` / `'connect'` arguments.
    /// Fails (giving `self` back) when the socket came from a custom
    /// [`Connector`] with a transport of its own.
    pub fn into_stream(self) -> Result<(Stream, Bytes), Self> {
        if !self
            .0
            .transport()
            .as_any()
            .is_some_and(|a| a.is::<Stream>())
        {
            return Err(self);
        }
        let (io, head) = self.0.into_parts();
        let stream = io
            .into_any()
            .and_then(|a| a.downcast::<Stream>().ok())
            .expect("checked to be a Stream");
        let _ = stream.set_read_timeout(None);
        Ok((*stream, head))
    }

    fn poll<R>(&mut self, mut f: impl FnMut(&mut ClientUpgrade, &mut Context<'_>) -> Poll<R>) -> R {
        let up = &mut self.0;
        block_on(core::future::poll_fn(move |cx| f(up, cx)))
    }

    /// Shuts the write side down.
    pub fn shutdown(&mut self) -> io::Result<()> {
        self.poll(|up, cx| up.poll_shutdown(cx))
    }
}

impl Read for BlockingUpgrade {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.poll(|up, cx| up.poll_read_slice(cx, buf))
    }
}

impl Write for BlockingUpgrade {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.poll(|up, cx| up.poll_write(cx, buf))
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.poll(|up, cx| up.poll_write_vectored(cx, bufs))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.poll(|up, cx| up.poll_flush(cx))
    }
}
