//! The runtime-neutral layer under courier's runtime adapters.
//!
//! Everything an adapter would otherwise repeat lives here, and nothing here touches a
//! socket, a timer or a spawn:
//!
//! * [`ServerOptions`]: every `http.createServer` option, validated as Node validates
//!   them, mapped onto the machine's [`ServerConfig`](courier_proto::server::ServerConfig);
//! * [`IncomingMessage`] and [`ServerResponse`]: the handles the application gets
//!   ([`Received`]: what a request and the client's response share);
//! * [`Connection`] / [`Driver`]: the per-connection driver core that owns the
//!   [`ServerConn`](courier_proto::server::ServerConn), routes its events to the
//!   handles and carries back-pressure both ways;
//! * [`DateCache`]: the per-second `Date` value;
//! * [`client`]: Node's `http` client (options, `ClientRequest`, the response,
//!   `Agent`) and its per-connection driver core;
//! * [`body`]: the bounded body queue between a connection and a message handle (the
//!   request's and the response's);
//! * [`registry`]: the server's listeners, the snapshot each connection is served
//!   with and where a handed-over socket goes;
//! * [`drive`]: the server and client I/O loops of the async adapters, over small
//!   traits (stream, timer, clock, spawner) each adapter implements.
//!
//! An adapter is then only its I/O loop: accept, read into [`Driver::recv_buf`], write
//! [`Driver::outgoing`] vectored, sleep until [`Driver::poll_timeout`], spawn the
//! handler for each [`Driver::next_event`], and give the transport away at
//! [`Driver::take_handover`]. See [`conn`] for the loop's steps. An async adapter does
//! not even write that loop: [`drive::serve_connection`] and
//! [`drive::drive_client_connection`] are it, over the adapter's stream, timer and
//! spawner, and [`serving::ServerState`] with `async_server_methods!` is the rest of
//! its `Server`.
//!
//! Wakers are plain [`std::task::Waker`]s and locks are `std::sync::Mutex`es held only
//! for a synchronous step, so the handles work under any executor.
#![forbid(unsafe_code)]

/// The shared part of every adapter's public API, which each re-exports whole
/// (`pub use courier_rt::api::*`): the server's messages and options, and the
/// client's requests, responses, agents and connector traits.
pub mod api {
    pub use crate::client::{
        Agent, AgentChoice, AgentOptions, AgentOptionsError, ClientError, ClientOptions,
        ClientOptionsError, ClientRequest, ClientResponse, ClientUpgrade, ConnectFuture,
        ConnectTarget, Connector, PoolOptions, RequestEvent, RequestHeaders, RequestOptions,
        Scheduling, SocketInfo, Transport, global_agent,
    };
    pub use crate::{
        ClientErrorEvent, ConfigError, DateCache, HeaderValue, IncomingMessage, OutgoingError,
        ReqId, ResponseEvents, ServerOptions, ServerResponse, Socket, TimeoutListener,
    };
}
pub mod body;
pub mod client;
pub mod conn;
mod date;
pub mod drive;
mod events;
mod handle_ref;
mod message;
mod options;
mod received;
pub mod registry;
mod response;
pub mod serving;

pub use conn::{Connection, Driver};
pub use date::DateCache;
pub use events::{
    ClientErrorEvent, ConnEvent, Handover, RequestKind, ResponseEvents, Socket, TimeoutListener,
};
pub use message::IncomingMessage;
pub use options::ServerOptions;
pub use received::{Received, ReceivedHead};
pub use response::ServerResponse;

pub use courier_proto::outgoing::{HeaderValue, OutgoingError};
pub use courier_proto::server::{Close, ConfigError, Listeners, ReqId};

/// The header-store reads of Node's `OutgoingMessage` (RES-3, CLI-25) for a handle
/// whose method `$read` runs a closure on the live proto message (`None` once gone).
macro_rules! header_read_methods {
    ($read:ident) => {
        /// `getHeader(name)`: case-insensitive, the value as stored (RES-3).
        pub fn get_header(&self, name: &str) -> Option<HeaderValue> {
            self.$read(|r| r.get_header(name).cloned()).flatten()
        }

        /// `hasHeader(name)` (RES-3).
        pub fn has_header(&self, name: &str) -> bool {
            self.$read(|r| r.has_header(name)).unwrap_or(false)
        }

        /// `getHeaderNames()`: lower-cased, in the order set (RES-3).
        pub fn get_header_names(&self) -> Vec<String> {
            self.$read(|r| {
                r.get_header_names()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
        }

        /// `getRawHeaderNames()`: each name in the casing of its last `set_header`, in
        /// the order set (RES-3, CLI-25).
        pub fn get_raw_header_names(&self) -> Vec<String> {
            self.$read(|r| {
                r.get_raw_header_names()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
        }

        /// `getHeaders()`: `(lower-cased name, value)` pairs in the order set (RES-3).
        pub fn get_headers(&self) -> Vec<(String, HeaderValue)> {
            self.$read(|r| {
                r.get_headers()
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value.clone()))
                    .collect()
            })
            .unwrap_or_default()
        }
    };
}
pub(crate) use header_read_methods;
