//! # courier-proto
//!
//! Sans-IO HTTP/1.1 with the behaviour of Node.js v20's `http` module. Nothing in this
//! crate performs I/O, reads a clock or spawns: bytes go in, events come out, and the
//! same inputs always give the same outputs. Runtime adapters (`courier-rt-*`) drive it
//! over real sockets.
//!
//! Rule ids such as `PRS-7` refer to the project's Node v20 behaviour specification.
#![forbid(unsafe_code)]

pub mod agent;
pub mod body;
mod chars;
pub mod client;
pub mod config;
pub mod conn;
pub mod error;
mod generated;
pub mod head;
pub mod headers;
pub mod outgoing;
pub mod parser;
pub mod server;
pub mod testing;
pub mod validate;

pub use config::{Lenient, MAX_HEADER_SIZE, ParserConfig};
pub use error::{Error, ErrorKind};
pub use generated::{METHODS, STATUS_CODES, method_index, status_text};
pub use head::{
    BodyKind, ConnectionTokens, MessageInfo, Method, RequestHead, ResponseHead, Version,
};
pub use headers::{Field, Headers, NodeDistinct, NodeHeaders, NodeValue};
pub use parser::{Event, Kind, Parser, ResponseContext};

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
