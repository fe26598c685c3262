#![doc = include_str!("../../../README.md")]
//!
//! ## This crate
//!
//! The facade. Always: the sans-IO core as [`proto`], the runtime-neutral layer as
//! [`rt`], and Node's module-level functions and constants at the root
//! ([`STATUS_CODES`], [`METHODS`], [`MAX_HEADER_SIZE`], [`validate_header_name`],
//! [`validate_header_value`]). With the `tokio` feature: the tokio adapter as
//! `courier::tokio`, and its `create_server`, `request`, `get`, `Agent` and
//! `global_agent` at the root. With the `blocking` feature: the `std::net` adapter as
//! `courier::blocking` (no async runtime). With the `async-std` feature: the
//! futures-io adapter for smol and async-std as `courier::async_std`.
//! `docs/node-mapping.md` maps every API of Node's `http` module to its courier name.
#![forbid(unsafe_code)]

pub use courier_proto as proto;
pub use courier_proto::validate::{InvalidHeader, validate_header_name, validate_header_value};
pub use courier_proto::{
    Error, ErrorKind, Headers, MAX_HEADER_SIZE, METHODS, ParserConfig, STATUS_CODES, status_text,
};
pub use courier_rt as rt;
pub use courier_rt::{IncomingMessage, ServerOptions, ServerResponse};

/// The tokio adapter (`courier-rt-tokio`): Node's `http` over tokio's sockets.
#[cfg(feature = "tokio")]
pub use courier_rt_tokio as tokio;
#[cfg(feature = "tokio")]
pub use courier_rt_tokio::{
    Agent, AgentOptions, ClientOptions, ClientRequest, ClientResponse, Server, create_server, get,
    global_agent, request,
};

/// The blocking adapter (`courier-rt-blocking`): Node's `http` on `std::net`, no
/// async runtime.
#[cfg(feature = "blocking")]
pub use courier_rt_blocking as blocking;

/// The futures-io adapter (`courier-rt-async-std`): Node's `http` over async-io and
/// async-net, for smol and async-std alike.
#[cfg(feature = "async-std")]
pub use courier_rt_async_std as async_std;
