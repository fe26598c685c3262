//! The server's listener registry, shared by every adapter: the listeners of
//! `'request'`, `'checkContinue'`, `'checkExpectation'`, `'upgrade'`, `'connect'`,
//! `'clientError'`, `'dropRequest'`, `'timeout'`, `'connection'`, `'close'` and
//! `'error'`, the snapshot each connection is served with, proto's
//! [`Listeners`] derived from them, and where a socket that leaves HTTP goes.
//!
//! Generic over the handler types, which differ by runtime (a future-returning
//! closure on an async runtime, a blocking closure on threads): `Req` for the request
//! handlers, `Up` for `'upgrade'` / `'connect'`, `Err` for `'clientError'`.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use courier_proto::server::{Listeners, ServerConfig};

use crate::{ClientErrorEvent, Handover, IncomingMessage, RequestKind, Socket};

/// A listener given the connection's socket (`'connection'`, `'timeout'`).
pub type SocketListener = Arc<dyn Fn(Socket) + Send + Sync>;
/// A `'dropRequest'` listener.
pub type DropListener = Arc<dyn Fn(IncomingMessage, Socket) + Send + Sync>;
/// A `'close'` listener.
pub type CloseListener = Arc<dyn Fn() + Send + Sync>;
/// An `'error'` listener.
pub type ErrorListener = Arc<dyn Fn(io::Error) + Send + Sync>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The listeners a connection is served with: a snapshot taken at accept.
#[derive(Clone)]
pub struct Handlers<Req, Up, Err> {
    /// `'request'`.
    pub request: Req,
    /// `'checkContinue'`.
    pub check_continue: Option<Req>,
    /// `'checkExpectation'`.
    pub check_expectation: Option<Req>,
    /// `'upgrade'`.
    pub upgrade: Option<Up>,
    /// `'connect'`.
    pub connect: Option<Up>,
    /// `'clientError'`.
    pub client_error: Option<Err>,
    /// `'dropRequest'`.
    pub drop_request: Option<DropListener>,
    /// `'timeout'`.
    pub timeout: Vec<SocketListener>,
    /// `'connection'`.
    pub connection: Vec<SocketListener>,
    /// `server.setTimeout(ms)`, over the option.
    timeout_ms: Option<Duration>,
    /// The machine's configuration, with these listeners.
    config: Arc<ServerConfig>,
}

/// Where a socket that left HTTP goes ([`Handlers::route`]).
pub enum Route<'a, Up, Err> {
    /// To the `'upgrade'` or `'connect'` listener.
    Upgrade {
        /// The listener.
        handler: &'a Up,
        /// The upgrade or CONNECT request.
        req: IncomingMessage,
        /// Every byte received after the request head.
        head: Bytes,
    },
    /// To the `'clientError'` listener.
    ClientError {
        /// The listener.
        handler: &'a Err,
        /// The error.
        err: ClientErrorEvent,
    },
}

impl<Req, Up, Err> Handlers<Req, Up, Err> {
    /// The machine's configuration for a connection served with these listeners.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// The handler of a request of `kind` and its slot (0 `'request'`, 1
    /// `'checkContinue'`, 2 `'checkExpectation'`): a kind without its own listener
    /// goes to `'request'`.
    pub fn request_handler(&self, kind: RequestKind) -> (usize, &Req) {
        match kind {
            RequestKind::Request => (0, &self.request),
            RequestKind::CheckContinue => match &self.check_continue {
                Some(c) => (1, c),
                None => (0, &self.request),
            },
            RequestKind::CheckExpectation => match &self.check_expectation {
                Some(c) => (2, c),
                None => (0, &self.request),
            },
        }
    }

    /// Emits `'connection'`.
    pub fn emit_connection(&self, socket: &Socket) {
        for cb in &self.connection {
            cb(socket.clone());
        }
    }

    /// Emits `'timeout'`.
    pub fn emit_timeout(&self, socket: &Socket) {
        for cb in &self.timeout {
            cb(socket.clone());
        }
    }

    /// Emits `'dropRequest'` (dropping `req` discards its body).
    pub fn emit_drop_request(&self, req: IncomingMessage) {
        if let Some(cb) = &self.drop_request {
            let socket = req.socket();
            cb(req, socket);
        }
    }

    /// The listener a handed-over socket goes to. The machine hands over only with a
    /// listener; `None` (the socket is dropped, as Node destroys an untaken CONNECT,
    /// SRV-9) only if it was removed.
    pub fn route(&self, handover: Handover) -> Option<Route<'_, Up, Err>> {
        match handover {
            Handover::Upgrade { req, head, connect } => {
                let handler = if connect {
                    self.connect.as_ref()
                } else {
                    self.upgrade.as_ref()
                };
                handler.map(|handler| Route::Upgrade { handler, req, head })
            }
            Handover::ClientError(err) => self
                .client_error
                .as_ref()
                .map(|handler| Route::ClientError { handler, err }),
        }
    }

    /// Recomputes the machine's configuration from the listeners (SRV-6, SRV-8,
    /// SRV-9, SRV-11, SRV-19).
    fn reconfigure(&mut self, base: &ServerConfig) {
        let mut cfg = base.clone();
        cfg.listeners = Listeners {
            check_continue: self.check_continue.is_some(),
            check_expectation: self.check_expectation.is_some(),
            upgrade: self.upgrade.is_some(),
            connect: self.connect.is_some(),
            client_error: self.client_error.is_some(),
            timeout: !self.timeout.is_empty(),
        };
        if let Some(t) = self.timeout_ms {
            cfg.timeout = t;
        }
        self.config = Arc::new(cfg);
    }
}

/// A server's listeners: the connection listeners new connections take a snapshot
/// of, and the server-level `'close'` and `'error'` listeners.
pub struct Registry<Req, Up, Err> {
    base: ServerConfig,
    current: Mutex<Arc<Handlers<Req, Up, Err>>>,
    close: Mutex<Vec<CloseListener>>,
    error: Mutex<Option<ErrorListener>>,
}

impl<Req: Clone, Up: Clone, Err: Clone> Registry<Req, Up, Err> {
    /// A registry with the `'request'` handler only, over the options'
    /// configuration `base`.
    pub fn new(base: ServerConfig, request: Req) -> Self {
        let mut h = Handlers {
            request,
            check_continue: None,
            check_expectation: None,
            upgrade: None,
            connect: None,
            client_error: None,
            drop_request: None,
            timeout: Vec::new(),
            connection: Vec::new(),
            timeout_ms: None,
            config: Arc::new(base.clone()),
        };
        h.reconfigure(&base);
        Self {
            base,
            current: Mutex::new(Arc::new(h)),
            close: Mutex::new(Vec::new()),
            error: Mutex::new(None),
        }
    }

    /// The listeners a connection accepted now is served with.
    pub fn snapshot(&self) -> Arc<Handlers<Req, Up, Err>> {
        Arc::clone(&lock(&self.current))
    }

    fn update(&self, f: impl FnOnce(&mut Handlers<Req, Up, Err>)) {
        let mut slot = lock(&self.current);
        let mut h = Handlers::clone(&slot);
        f(&mut h);
        h.reconfigure(&self.base);
        *slot = Arc::new(h);
    }

    /// `'checkContinue'` (replaces).
    pub fn set_check_continue(&self, h: Req) {
        self.update(|s| s.check_continue = Some(h));
    }

    /// `'checkExpectation'` (replaces).
    pub fn set_check_expectation(&self, h: Req) {
        self.update(|s| s.check_expectation = Some(h));
    }

    /// `'upgrade'` (replaces).
    pub fn set_upgrade(&self, h: Up) {
        self.update(|s| s.upgrade = Some(h));
    }

    /// `'connect'` (replaces).
    pub fn set_connect(&self, h: Up) {
        self.update(|s| s.connect = Some(h));
    }

    /// `'clientError'` (replaces).
    pub fn set_client_error(&self, h: Err) {
        self.update(|s| s.client_error = Some(h));
    }

    /// `'dropRequest'` (replaces).
    pub fn set_drop_request(&self, l: DropListener) {
        self.update(|s| s.drop_request = Some(l));
    }

    /// `'timeout'` (adds).
    pub fn add_timeout(&self, l: SocketListener) {
        self.update(|s| s.timeout.push(l));
    }

    /// `server.setTimeout(ms, cb)`: the inactivity timeout of new connections and a
    /// `'timeout'` listener.
    pub fn set_timeout(&self, timeout: Duration, l: SocketListener) {
        self.update(|s| {
            s.timeout_ms = Some(timeout);
            s.timeout.push(l);
        });
    }

    /// `'connection'` (adds).
    pub fn add_connection(&self, l: SocketListener) {
        self.update(|s| s.connection.push(l));
    }

    /// `'close'` (adds).
    pub fn add_close(&self, l: CloseListener) {
        lock(&self.close).push(l);
    }

    /// `'error'` (replaces).
    pub fn set_error(&self, l: ErrorListener) {
        *lock(&self.error) = Some(l);
    }

    /// Emits `'close'` (the listeners run with no lock held).
    pub fn emit_close(&self) {
        let listeners = lock(&self.close).clone();
        for cb in listeners {
            cb();
        }
    }

    /// Emits `'error'`.
    pub fn emit_error(&self, e: io::Error) {
        let cb = lock(&self.error).clone();
        if let Some(cb) = cb {
            cb(e);
        }
    }
}

/// Generates a `Server`'s registration methods for the listeners that are plain
/// callbacks, the same in every adapter (`'dropRequest'`, `'timeout'`,
/// `setTimeout`, `'connection'`, `'close'`, `'error'`), inside its `impl Server`.
/// The adapter provides `fn registry(&self) -> &Registry<…>`. The callbacks run on
/// the connection's task (its thread, in the blocking adapter; `'connection'` and
/// `'error'` on the accept loop's) and must not block.
#[macro_export]
macro_rules! plain_listener_methods {
    () => {
        /// `server.on('dropRequest', (req, socket) => …)`: a request over
        /// `maxRequestsPerSocket`, already answered `503` (SRV-5). Dropping `req`
        /// discards its body.
        pub fn on_drop_request(
            &self,
            listener: impl Fn($crate::IncomingMessage, $crate::Socket) + Send + Sync + 'static,
        ) -> &Self {
            self.registry()
                .set_drop_request(::std::sync::Arc::new(listener));
            self
        }

        /// `server.on('timeout', socket => …)`: socket inactivity (SRV-19). With this
        /// listener an expired socket is no longer destroyed: the listener decides
        /// (for example `Socket::destroy`). That includes idle keep-alive connections.
        pub fn on_timeout(
            &self,
            listener: impl Fn($crate::Socket) + Send + Sync + 'static,
        ) -> &Self {
            self.registry().add_timeout(::std::sync::Arc::new(listener));
            self
        }

        /// `server.setTimeout(ms, cb)` (SRV-20): the inactivity timeout of new connections
        /// (zero turns it off) and a `'timeout'` listener, as `Server::on_timeout`.
        pub fn set_timeout(
            &self,
            timeout: ::core::time::Duration,
            listener: impl Fn($crate::Socket) + Send + Sync + 'static,
        ) -> &Self {
            self.registry()
                .set_timeout(timeout, ::std::sync::Arc::new(listener));
            self
        }

        /// `server.on('connection', socket => …)`: every accepted connection, before its
        /// first byte is read.
        pub fn on_connection(
            &self,
            listener: impl Fn($crate::Socket) + Send + Sync + 'static,
        ) -> &Self {
            self.registry()
                .add_connection(::std::sync::Arc::new(listener));
            self
        }

        /// `server.on('close', …)`: after `Server::close`, once the last connection
        /// (handed-over sockets included) is gone (SRV-21). Runs once, where the last
        /// connection closed, or within `close()` when nothing was open.
        pub fn on_close(&self, listener: impl Fn() + Send + Sync + 'static) -> &Self {
            self.registry().add_close(::std::sync::Arc::new(listener));
            self
        }

        /// `server.on('error', err => …)`: an accept failed (for example `EMFILE`); the
        /// server goes on accepting. A second registration replaces the first.
        pub fn on_error(
            &self,
            listener: impl Fn(::std::io::Error) + Send + Sync + 'static,
        ) -> &Self {
            self.registry().set_error(::std::sync::Arc::new(listener));
            self
        }
    };
}
