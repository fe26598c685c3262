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
//! The scenarios ([`server`]) drive the server with raw `std::net` clients and assert
//! exact bytes where Node's are known, so a behaviour that passes on one runtime and
//! fails on another is a defect of the adapter that fails. Rule ids refer to
//! `spec/node-http.md`.
#![forbid(unsafe_code)]

pub mod app;
pub mod client;
pub mod peers;
pub mod server;
pub mod wire;

use std::net::SocketAddr;

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
}

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct ServerSpec {
    /// The server's options.
    pub options: ServerOptions,
    /// The listeners to register.
    pub listeners: Listeners,
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

/// A server an adapter started; stopped (closed, every connection destroyed) when
/// dropped.
pub struct Running {
    addr: SocketAddr,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Running {
    /// A server listening on `addr`; `stop` closes it and waits for it to end.
    pub fn new(addr: SocketAddr, stop: impl FnOnce() + Send + 'static) -> Self {
        Self {
            addr,
            stop: Some(Box::new(stop)),
        }
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
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
}

/// Generates every server scenario of [`server`] as a `#[test]` for `$adapter`.
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
