//! Node.js v20's `http` server and client over futures-io, async-io and async-net:
//! one adapter for smol and async-std alike (both run on async-io's reactor).
//!
//! The adapter is only I/O glue: accept loops, the sockets (TCP and Unix, as
//! futures-io `AsyncRead` + `AsyncWrite`), async-io timers and a spawner. The
//! connection loops are `courier-rt`'s ([`courier_rt::drive`]), shared with the tokio
//! adapter; every HTTP decision is `courier-proto`'s.
//!
//! The executor belongs to the application: with the `smol` feature (default)
//! [`create_server`], [`request`] and [`get`] spawn with
//! `smol::spawn(..).detach()`; [`create_server_with`] and [`Client::new`] take any
//! [`Spawn`] (a closure such as `|f| { async_std::task::spawn(f); }`).
//!
//! ```no_run
//! use courier_rt_async_std::{ServerOptions, create_server};
//!
//! fn main() -> std::io::Result<()> {
//!     smol::block_on(async {
//!         let server = create_server(ServerOptions::default(), |mut req, mut res| async move {
//!             let body = req.read_body().await.unwrap_or_default();
//!             let _ = res.set_header("Content-Type", "text/plain");
//!             let _ = res.end(Some(body)).await;
//!         })
//!         .expect("valid options");
//!         server.listen("127.0.0.1:8080").await?;
//!         server.closed().await;
//!         Ok(())
//!     })
//! }
//! ```
//!
//! Upgrades, CONNECT and client errors taken by a listener hand the socket over as
//! an [`Upgraded`] futures-io stream:
//!
//! ```no_run
//! use courier_rt_async_std::{ServerOptions, create_server};
//! use futures_lite::AsyncWriteExt;
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
//!         let _ = socket.write_all(&head).await;
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
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut req = courier_rt_async_std::get("http://127.0.0.1:8080/")?;
//! let mut res = req.response().await?;
//! println!("{} {:?}", res.status_code(), res.read_body().await?);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod client;
mod rt;
mod server;
mod stream;

pub use client::{AsyncConnector, Client};
#[cfg(feature = "smol")]
pub use client::{get, request};
pub use courier_rt::api::*;
#[cfg(feature = "smol")]
pub use rt::SmolSpawner;
pub use rt::{BoxFuture, Spawn};
#[cfg(feature = "smol")]
pub use server::create_server;
pub use server::{DEFAULT_BACKLOG, ListenAddr, Server, create_server_with};
pub use stream::{AsyncSocket, ClientStream, Upgraded};
