//! courier's behavioural test suite, written once and run against every runtime
//! adapter (tokio, async-std/smol, blocking).
//!
//! An adapter's test crate implements [`Adapter`]: start a server on 127.0.0.1 that
//! runs the suite's application ([`app`]) with the listeners a [`ServerSpec`] asks
//! for. Then one line generates every scenario as a `#[test]` for that adapter:
//!
//! ```ignore
//! courier_suite::server_suite!(MyAdapter);
//! ```
//!
//! The scenarios drive the server with raw `std::net` clients ([`server`], and
//! [`events`] for the listeners, timeouts and shutdown: [`Events`] records what the
//! listeners saw, [`Controls`] calls `close()` and friends) and with real peers
//! ([`peers`]: Node v20's client, a raw Node socket, curl); the client scenarios
//! ([`client`], [`agent`], and [`peers`] against Node v20's server) carry out an
//! [`client::Exchange`] with the adapter's `request()`. Exact bytes are asserted where
//! Node's are known, so a behaviour that passes on one runtime and fails on another is
//! a defect of the adapter that fails. Rule ids refer to `spec/node-http.md`. The
//! peer scenarios need `node` (v20) and `curl` on `PATH`.
#![forbid(unsafe_code)]

pub mod agent;
pub mod app;
pub mod async_app;
pub mod async_client;
pub mod client;
pub mod events;
pub mod peers;
pub mod server;
pub mod wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use courier_rt::ServerOptions;

/// Which of the Server's optional listeners the adapter registers (each one changes
/// Node's default behaviour, so scenarios choose).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listeners {
    /// `'checkContinue'`: [`app::check_continue`].
    pub check_continue: bool,
    /// `'checkExpectation'`: answered like a request by [`app::reply`].
    pub check_expectation: bool,
    /// `'upgrade'`: [`app::UPGRADE_101`], the head, then an echo.
    pub upgrade: bool,
    /// `'connect'`: [`app::connect_reply`], the head, then an echo.
    pub connect: bool,
    /// `'clientError'`: [`app::client_error_reply`] on the handed-over socket.
    pub client_error: bool,
    /// `'timeout'`: counts in [`Events::timeouts`] and keeps the socket (SRV-19).
    pub timeout: bool,
}

/// What the server's listeners saw. The adapter always registers the listeners
/// that do not change Node's behaviour (`'dropRequest'`, `'connection'`, `'close'`)
/// and records here, as does the request handler and the `'timeout'` listener when
/// [`Listeners::timeout`] asks for it.
#[derive(Debug, Default)]
pub struct Events {
    /// `'request'` handler calls (not `'checkContinue'`/`'checkExpectation'`).
    pub requests: AtomicUsize,
    /// `req.url` of each `'dropRequest'`.
    pub dropped: Mutex<Vec<String>>,
    /// `(remote, local)` addresses of each `'connection'` socket.
    pub connections: Mutex<Vec<(Option<SocketAddr>, Option<SocketAddr>)>>,
    /// `'timeout'` listener calls.
    pub timeouts: AtomicUsize,
    /// The `'timeout'` listener destroys the socket it is given (`socket.destroy()`).
    pub destroy_on_timeout: std::sync::atomic::AtomicBool,
    /// `'close'` listener calls.
    pub closes: AtomicUsize,
    /// What the handler of a scripted route ([`app::Script`]) observed, one line per
    /// exchange.
    pub notes: Mutex<Vec<String>>,
}

impl Events {
    /// Records a `'request'`.
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }

    /// Records a `'dropRequest'` for `url`.
    pub fn drop_request(&self, url: &str) {
        self.dropped.lock().unwrap().push(url.to_owned());
    }

    /// Records a `'connection'`.
    pub fn connection(&self, remote: Option<SocketAddr>, local: Option<SocketAddr>) {
        self.connections.lock().unwrap().push((remote, local));
    }

    /// Records a `'timeout'`.
    pub fn timeout(&self) {
        self.timeouts.fetch_add(1, Ordering::SeqCst);
    }

    /// Records a `'close'`.
    pub fn close(&self) {
        self.closes.fetch_add(1, Ordering::SeqCst);
    }

    /// Records what a scripted handler observed.
    pub fn note(&self, line: String) {
        self.notes.lock().unwrap().push(line);
    }

    /// Waits for the first note and returns it.
    pub fn first_note(&self) -> String {
        wait_until("the handler's note", || {
            !self.notes.lock().unwrap().is_empty()
        });
        self.notes.lock().unwrap()[0].clone()
    }
}

/// Waits until `cond` holds, failing the scenario after [`wire::SAFETY_TIMEOUT`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < wire::SAFETY_TIMEOUT, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The [`Running::addr`] of a server listening on a Unix socket: no scenario
/// connects to it.
pub const UNIX_SERVER_ADDR: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    0,
));

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct ServerSpec {
    /// The server's options.
    pub options: ServerOptions,
    /// The listeners to register.
    pub listeners: Listeners,
    /// Where the listeners record what they saw.
    pub events: Arc<Events>,
}

impl ServerSpec {
    /// Default options, no optional listeners.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `listeners`.
    pub fn listeners(mut self, listeners: Listeners) -> Self {
        self.listeners = listeners;
        self
    }

    /// With `options` changed by `f`.
    pub fn options(mut self, f: impl FnOnce(&mut ServerOptions)) -> Self {
        f(&mut self.options);
        self
    }
}

/// The server's methods a scenario calls while it runs (each adapter's `Server`
/// methods of the same names).
pub struct Controls {
    /// `server.close()`.
    pub close: Box<dyn Fn() + Send + Sync>,
    /// `server.closeIdleConnections()`.
    pub close_idle_connections: Box<dyn Fn() + Send + Sync>,
    /// Open connections (handed-over sockets included).
    pub connection_count: Box<dyn Fn() -> usize + Send + Sync>,
    /// `server.listening`.
    pub listening: Box<dyn Fn() -> bool + Send + Sync>,
    /// `server.closeAllConnections()`.
    pub close_all_connections: Box<dyn Fn() + Send + Sync>,
}

/// [`Controls`] calling the methods of the same names on (clones of) `$server`, an
/// adapter's `Server` handle: every adapter's `Server` names them as Node does.
#[macro_export]
macro_rules! controls {
    ($server:expr) => {{
        let server = $server;
        $crate::Controls {
            close: $crate::controls!(@call server, close),
            close_idle_connections: $crate::controls!(@call server, close_idle_connections),
            connection_count: $crate::controls!(@call server, connection_count),
            listening: $crate::controls!(@call server, listening),
            close_all_connections: $crate::controls!(@call server, close_all_connections),
        }
    }};
    (@call $server:ident, $method:ident) => {{
        let s = $server.clone();
        ::std::boxed::Box::new(move || s.$method())
    }};
}

/// Registers on `$server` (an adapter's `Server`; each names these methods as Node
/// does) the listeners that record in `$spec`'s [`Events`]: `'dropRequest'`,
/// `'connection'`, `'close'`, and `'timeout'` when [`Listeners::timeout`] asks for it.
#[macro_export]
macro_rules! record_events {
    ($server:expr, $spec:expr) => {{
        let server = &$server;
        let spec: &$crate::ServerSpec = $spec;
        let ev = ::std::sync::Arc::clone(&spec.events);
        server.on_drop_request(move |req, _socket| ev.drop_request(&req.url()));
        let ev = ::std::sync::Arc::clone(&spec.events);
        server
            .on_connection(move |socket| ev.connection(socket.remote_addr(), socket.local_addr()));
        let ev = ::std::sync::Arc::clone(&spec.events);
        server.on_close(move || ev.close());
        if spec.listeners.timeout {
            let ev = ::std::sync::Arc::clone(&spec.events);
            server.on_timeout(move |socket| {
                ev.timeout();
                if ev
                    .destroy_on_timeout
                    .load(::std::sync::atomic::Ordering::SeqCst)
                {
                    socket.destroy();
                }
            });
        }
    }};
}

/// A server an adapter started; stopped (closed, every connection destroyed) when
/// dropped.
pub struct Running {
    addr: SocketAddr,
    controls: Controls,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Running {
    /// A server listening on `addr`, driven by `controls`; `stop` closes it, destroys
    /// every connection and waits for it to end.
    pub fn new(addr: SocketAddr, controls: Controls, stop: impl FnOnce() + Send + 'static) -> Self {
        Self {
            addr,
            controls,
            stop: Some(Box::new(stop)),
        }
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `server.close()`.
    pub fn close(&self) {
        (self.controls.close)();
    }

    /// `server.closeIdleConnections()`.
    pub fn close_idle_connections(&self) {
        (self.controls.close_idle_connections)();
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        (self.controls.connection_count)()
    }

    /// `server.listening`.
    pub fn listening(&self) -> bool {
        (self.controls.listening)()
    }

    /// `server.closeAllConnections()`.
    pub fn close_all_connections(&self) {
        (self.controls.close_all_connections)();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

impl core::fmt::Debug for Running {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// A runtime adapter under test.
pub trait Adapter {
    /// Starts a server on `127.0.0.1:0` running [`app`] with `spec`'s options and
    /// listeners; returns once it listens.
    fn start(spec: ServerSpec) -> Running;

    /// The same, listening on the Unix socket `path` instead (`server.listen(path)`);
    /// the [`Running::addr`] of such a server is unspecified.
    fn start_unix(spec: ServerSpec, path: &std::path::Path) -> Running;
}

/// Generates every server scenario of [`server`], [`peers`] and [`events`] as a
/// `#[test]` for `$adapter`.
#[macro_export]
macro_rules! server_suite {
    ($adapter:ty) => {
        $crate::server_suite!(@tests $adapter; server;
            hello_has_nodes_exact_bytes,
            keep_alive_and_pipelining_answer_in_order,
            content_length_body_is_echoed,
            chunked_body_and_trailers_are_echoed,
            a_chunked_response_with_trailers,
            head_response_has_no_body,
            a_large_response_arrives_whole,
            a_bad_request_gets_nodes_400_and_close,
            a_header_overflow_gets_nodes_431,
            expect_100_continue_is_automatic_without_a_listener,
            check_continue_listener_answers_before_the_body,
            without_a_check_expectation_listener_the_answer_is_417,
            check_expectation_listener_gets_the_request,
            upgrade_hands_over_the_socket_with_head,
            without_an_upgrade_listener_the_request_is_ordinary,
            connect_opens_a_tunnel,
            without_a_connect_listener_the_socket_closes_silently,
            a_client_error_listener_writes_its_own_reply,
            over_max_requests_per_socket_gets_nodes_503,
            an_idle_keep_alive_connection_closes_after_the_timeout,
            a_response_dropped_unsent_is_ended_as_node_ends_it,
            a_response_dropped_mid_body_destroys_the_connection,
            connection_close_is_honoured,
            http_1_0_closes_after_the_response,
            keep_alive_timeout_zero_sends_no_keep_alive_field,
            http_1_0_keep_alive_with_an_end_body_still_closes,
            the_max_header_size_option_bounds_the_head,
            listens_on_a_unix_socket,
            a_unix_socket_upgrade_hands_over_the_socket,
        );
        $crate::server_suite!(@tests $adapter; peers;
            node_client_keep_alive_agent_reuses_one_connection,
            node_raw_socket_pipelining_answers_in_order,
            node_client_chunked_upload,
            node_client_expect_100_continue,
            node_client_trailers_both_ways,
            node_client_upgrade,
            node_client_connect_tunnel,
            curl_keep_alive_reuse,
            curl_chunked_upload,
            curl_expect_100_continue,
        );
        $crate::server_suite!(@tests $adapter; events;
            a_request_over_max_requests_per_socket_goes_to_drop_request,
            the_connection_event_gets_the_addresses,
            close_waits_for_an_active_connection_before_the_close_event,
            the_close_event_fires_at_once_without_connections,
            a_timeout_listener_keeps_the_inactive_socket,
            a_timeout_listener_may_destroy_the_socket,
            without_a_timeout_listener_the_inactive_socket_is_destroyed,
            a_timeout_listener_keeps_an_idle_keep_alive_connection,
            an_incomplete_head_gets_nodes_408,
            a_trickling_body_gets_nodes_408_at_the_request_timeout,
            a_bad_request_pipelined_behind_a_request_gets_only_the_400,
            close_idle_connections_spares_an_active_request,
            an_upgrade_waits_for_the_earlier_pipelined_response,
            no_body_responses_have_no_framing,
            a_large_request_body_arrives_whole,
            a_client_error_listener_gets_the_socket_after_earlier_responses,
            a_request_timeout_goes_to_the_client_error_listener,
            an_upgrade_requests_body_is_part_of_head,
            a_handed_over_socket_counts_until_dropped,
            a_panicking_handler_destroys_only_its_connection,
            a_request_body_not_read_stops_the_server_reading,
            a_response_timeout_without_a_listener_destroys_the_socket,
            a_response_timeout_listener_keeps_the_socket,
            a_request_timeout_without_a_listener_destroys_the_socket,
            a_request_timeout_listener_keeps_the_socket_while_receiving,
            a_response_reports_finish_once_written,
            a_response_reports_close_when_the_client_leaves,
            destroying_an_unread_request_destroys_the_socket,
            destroying_a_fully_read_request_keeps_the_socket,
            a_chunked_request_body_streams_to_the_handler,
            the_response_header_store_and_its_views,
            destroying_a_response_closes_the_connection,
            a_response_ended_on_another_thread_is_written,
            close_all_connections_ends_an_active_connection,
            a_peer_that_does_not_read_blocks_neither_close_nor_close_all,
        );
    };
    (@tests $adapter:ty; $module:ident; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::$module::$name::<$adapter>();
            }
        )*
    };
}
