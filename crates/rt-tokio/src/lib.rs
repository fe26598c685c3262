//! Node.js v20's `http` server and client over tokio.
//!
//! The adapter is only an I/O loop: accept, read into the connection's receive
//! buffer, write its output vectored, sleep until its next deadline, spawn a task per
//! request. Every HTTP decision is `courier-proto`'s, and everything runtime-neutral
//! (options, message handles, event routing, back-pressure, the `Date` cache) is
//! `courier-rt`'s, re-exported here.
//!
//! ```no_run
//! use courier_rt_tokio::{ServerOptions, create_server};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let server = create_server(ServerOptions::default(), |mut req, mut res| async move {
//!         let body = req.read_body().await.unwrap_or_default();
//!         let _ = res.set_header("Content-Type", "text/plain");
//!         let _ = res.end(Some(body)).await;
//!     })
//!     .expect("valid options");
//!     server.listen("127.0.0.1:8080").await?;
//!     server.closed().await;
//!     Ok(())
//! }
//! ```
//!
//! The client ([`request`], [`get`], [`Agent`]) is Node's `http.request`:
//!
//! ```no_run
//! use courier_rt_tokio::get;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut req = get("http://127.0.0.1:8080/")?;
//! let mut res = req.response().await?;
//! println!("{} {:?}", res.status_code(), res.read_body().await?);
//! assert!(!req.reused_socket());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod client;
mod drive;
mod server;

pub use client::{TokioConnector, TokioRuntime, TokioSocket, get, request};
pub use courier_rt::client::{
    Agent, AgentChoice, AgentOptions, AgentOptionsError, ClientError, ClientOptions,
    ClientOptionsError, ClientRequest, ClientResponse, ConnectTarget, Connector, PoolOptions,
    RequestEvent, RequestHeaders, RequestOptions, Scheduling, SocketInfo, Transport, Upgraded,
    global_agent,
};
pub use courier_rt::{
    ConfigError, DateCache, HeaderValue, IncomingMessage, OutgoingError, ReqId, ServerOptions,
    ServerResponse,
};
pub use server::{DEFAULT_BACKLOG, ListenAddr, Server, create_server};
