//! Node.js v20's `http` server and client on `std::net`, with no async runtime.
#![forbid(unsafe_code)]

mod conn;
mod io;
mod message;
mod server;
mod upgraded;

pub use courier_rt::{
    ClientErrorEvent, ConfigError, DateCache, HeaderValue, IncomingMessage, OutgoingError, ReqId,
    ResponseEvents, ServerOptions, ServerResponse, Socket, TimeoutListener,
};
pub use io::Stream;
pub use message::{BlockingRequest, BlockingResponse};
pub use server::{DEFAULT_BACKLOG, DEFAULT_MAX_THREADS, ListenAddr, Server, create_server};
pub use upgraded::Upgraded;
