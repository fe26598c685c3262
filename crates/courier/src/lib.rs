#![doc = include_str!("../../../README.md")]
//!
//! ## This crate
//!
//! The facade: today it re-exports the sans-IO core, [`proto`]; the runtime adapters
//! (tokio, async-std/smol, blocking `std::net`) will appear behind the features
//! `tokio`, `async-std` and `blocking`.
#![forbid(unsafe_code)]

pub use courier_proto as proto;
pub use courier_proto::{
    Error, ErrorKind, Headers, MAX_HEADER_SIZE, METHODS, ParserConfig, STATUS_CODES,
};
