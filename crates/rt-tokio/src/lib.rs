//! Node.js v20's `http` server and client over tokio.
//!
//! The adapter is only an I/O loop: accept, read into the connection's receive
//! buffer, write its output vectored, sleep until its next deadline, run each request's
//! handler (polled once on the connection's task, on a task of its own only if it
//! waits). Every HTTP decision is `courier-proto`'s, and everything runtime-neutral
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
//! The other server events are registered on the [`Server`] (before listening: a
//! connection keeps the listeners it was accepted with). Upgrades, CONNECT and client
//! errors taken by a listener hand the socket over as an [`Upgraded`] stream:
//!
//! ```no_run
//! use courier_rt_tokio::{ServerOptions, create_server};
//! use tokio::io::AsyncWriteExt;
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = create_server(ServerOptions::default(), |_req, mut res| async move {
//!     let _ = res.end(Some("plain HTTP".into())).await;
//! })
//! .expect("valid options");
//! server
//!     .on_upgrade(|_req, mut socket, head| async move {
//!         let _ = socket
//!             .write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
//!             .await;
//!         let _ = socket.write_all(&head).await; // bytes that came with the head
//!         let (mut rd, mut wr) = tokio::io::split(socket);
//!         let _ = tokio::io::copy(&mut rd, &mut wr).await;
//!     })
//!     .on_client_error(|err, mut socket| async move {
//!         let reply = format!("HTTP/1.1 400 Bad Request\r\nX-Error: {}\r\n\r\n", err.code());
//!         let _ = socket.write_all(reply.as_bytes()).await;
//!     })
//!     .set_timeout(std::time::Duration::from_secs(30), |socket| socket.destroy());
//! server.listen("127.0.0.1:8080").await?;
//! # Ok(())
//! # }
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
mod upgraded;

pub use client::{TokioConnector, TokioRuntime, TokioSocket, get, request};
pub use courier_rt::api::*;
pub use server::{DEFAULT_BACKLOG, ListenAddr, Server, create_server};
pub use upgraded::{RawStream, Upgraded};
