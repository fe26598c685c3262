//! The incremental message-stream parser: bytes in, events out.
//!
//! One [`Parser`] reads one direction of one connection: requests on a server,
//! responses on a client. It keeps a receive buffer, parses heads (on httparse, with a
//! Node-exact scanner behind it for errors and for what httparse does not accept),
//! decodes bodies and hands body data out as zero-copy [`Bytes`] slices.

use bytes::{Bytes, BytesMut};

use crate::config::ParserConfig;
use crate::error::Error;
use crate::head::{RequestHead, ResponseHead};
use crate::headers::Headers;

/// Which messages a parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Requests (a server's parser).
    Request,
    /// Responses (a client's parser).
    Response,
}

/// What a response answers, which changes its framing (PRS-17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseContext {
    /// The request was `HEAD`: the response has no body.
    pub head: bool,
    /// The request was `CONNECT`: a 2xx response switches to a tunnel.
    pub connect: bool,
}

/// One parser event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request head is complete (server side).
    Request(Box<RequestHead>),
    /// A response head is complete (client side); 1xx heads are reported too, each
    /// followed by [`Event::End`].
    Response(Box<ResponseHead>),
    /// A piece of body, de-chunked, as a slice of the receive buffer.
    Data(Bytes),
    /// The message is complete; the trailers (empty when there were none).
    End(Headers),
}

/// The incremental parser for one direction of a connection.
#[derive(Debug)]
pub struct Parser {
    kind: Kind,
    cfg: ParserConfig,
    buf: BytesMut,
}

impl Parser {
    /// A parser for requests (a server connection).
    pub fn request(cfg: ParserConfig) -> Self {
        Self::new(Kind::Request, cfg)
    }

    /// A parser for responses (a client connection).
    pub fn response(cfg: ParserConfig) -> Self {
        Self::new(Kind::Response, cfg)
    }

    /// A parser of the given kind.
    pub fn new(kind: Kind, cfg: ParserConfig) -> Self {
        Self {
            kind,
            cfg,
            buf: BytesMut::new(),
        }
    }

    /// Which messages this parser reads.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The configuration.
    pub fn config(&self) -> &ParserConfig {
        &self.cfg
    }

    /// Appends received bytes (copies them into the receive buffer).
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Signals the end of input (the peer half-closed).
    pub fn feed_eof(&mut self) {}

    /// Returns the next event, `Ok(None)` when more input is needed (or the parser is
    /// paused), or the error that ended parsing. After an error every call returns it.
    pub fn poll(&mut self) -> Result<Option<Event>, Error> {
        Ok(None)
    }

    /// Sets what the next response answers (client side; PRS-17). Call it before the
    /// response head is parsed; it applies to one final response.
    pub fn set_response_context(&mut self, ctx: ResponseContext) {
        let _ = ctx;
    }

    /// Whether the parser is paused: after the head of an upgrade candidate (PRS-27)
    /// until [`Parser::resume`] or [`Parser::take_leftover`].
    pub fn is_paused(&self) -> bool {
        false
    }

    /// Declines a pending upgrade: the message is read as an ordinary one (SRV-8
    /// without an `upgrade` listener).
    pub fn resume(&mut self) {}

    /// Switches protocols: returns every byte received after the head (Node's `head`
    /// buffer, SRV-8/SRV-9/CLI-16). The parser produces no more events afterwards.
    pub fn take_leftover(&mut self) -> Bytes {
        self.buf.split().freeze()
    }

    /// Bytes received and not yet consumed by parsing.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Total bytes fed so far (error offsets count from the start of this stream).
    pub fn bytes_fed(&self) -> u64 {
        0
    }
}
