//! Node.js v20's `http` server and client on `std::net`, with no async runtime: the
//! adapter for tools and tests that want no runtime.
//!
//! Every HTTP decision is `courier-proto`'s and every runtime-neutral piece (options,
//! the message handles, event routing, back-pressure, the client core and its Agent)
//! is `courier-rt`'s; this crate is only blocking I/O loops:
//!
//! * **Server**: each connection is served by a thread of its own, from a bounded pool
//!   ([`Server::set_max_threads`], default [`DEFAULT_MAX_THREADS`]; connections past
//!   it wait in the listen backlog). The request handler runs synchronously on that
//!   thread; its blocking calls pump the connection there: reading the body
//!   ([`BlockingRequest`] is [`std::io::Read`]) reads the socket when nothing is
//!   queued, writing above the high-water mark or `end`
//!   ([`BlockingResponse`] is [`std::io::Write`]) writes it. Pipelined requests are
//!   handled in order after the handler returns. Timeouts are proto's deadlines,
//!   applied as socket read/write timeouts.
//! * **Client**: [`request`] / [`get`] through rt's [`Agent`]s: a thread per agent
//!   connection reads it (idle pooled sockets too); the calling thread writes and
//!   blocks (parks) while it waits for the response or body.
//!
//! ```
//! use std::io::Read;
//! use courier_rt_blocking::{ServerOptions, create_server, get};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = create_server(ServerOptions::default(), |req, mut res| {
//!     let _ = res.set_header("Content-Type", "text/plain");
//!     let _ = res.end(Some(format!("you asked for {}", req.url()).into()));
//! })?;
//! let addr = server.listen("127.0.0.1:0")?;
//!
//! let mut req = get(format!("http://{addr}/hello"))?;
//! let mut res = req.response()?;
//! assert_eq!(res.status_code(), 200);
//! let mut body = String::new();
//! res.read_to_string(&mut body)?;
//! assert_eq!(body, "you asked for /hello");
//!
//! server.close();
//! server.close_all_connections(); // the client's agent keeps its socket alive
//! server.wait();
//! # Ok(())
//! # }
//! ```
//!
//! An upgrade, a CONNECT or a client error taken by a listener hands the socket over
//! as an [`Upgraded`] std stream, on the connection's thread:
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use courier_rt_blocking::{ServerOptions, create_server};
//!
//! # fn run() -> std::io::Result<()> {
//! let server = create_server(ServerOptions::default(), |_req, mut res| {
//!     let _ = res.end(Some("plain HTTP".into()));
//! })
//! .expect("valid options");
//! server
//!     .on_upgrade(|_req, mut socket, head| {
//!         let _ = socket.write_all(
//!             b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
//!         );
//!         let _ = socket.write_all(&head); // bytes that came with the head
//!         let mut buf = [0u8; 4096];
//!         while let Ok(n @ 1..) = socket.read(&mut buf) {
//!             let _ = socket.write_all(&buf[..n]);
//!         }
//!     })
//!     .on_client_error(|err, mut socket| {
//!         let reply = format!("HTTP/1.1 400 Bad Request\r\nX-Error: {}\r\n\r\n", err.code());
//!         let _ = socket.write_all(reply.as_bytes());
//!     });
//! server.listen("127.0.0.1:8080")?;
//! server.wait();
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod client;
mod conn;
mod io;
mod message;
mod server;
mod upgraded;

pub use client::{
    BlockingClientRequest, BlockingClientResponse, BlockingConnector, BlockingRuntime,
    BlockingUpgrade, get, request,
};
pub use courier_rt::api::*;
pub use io::Stream;
pub use message::{BlockingRequest, BlockingResponse};
pub use server::{DEFAULT_BACKLOG, DEFAULT_MAX_THREADS, ListenAddr, Server, create_server};
pub use upgraded::Upgraded;
