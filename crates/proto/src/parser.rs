//! The incremental message-stream parser: bytes in, events out.
//!
//! One [`Parser`] reads one direction of one connection: requests on a server,
//! responses on a client. It keeps a receive buffer, parses heads (a one-pass fast path
//! for plain heads, with a Node-exact scanner behind it for errors and for everything
//! else),
//! decodes bodies and hands body data out as zero-copy [`Bytes`] slices of the receive
//! buffer.
//!
//! ```
//! use courier_proto::{Event, Parser, ParserConfig};
//!
//! let mut p = Parser::request(ParserConfig::default());
//! p.feed(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel");
//! let Some(Event::Request(head)) = p.poll().unwrap() else { panic!() };
//! assert_eq!(head.method.as_str(), "POST");
//! assert_eq!(head.url(), b"/upload");
//! assert_eq!(p.poll().unwrap(), Some(Event::Data("hel".into())));
//! assert_eq!(p.poll().unwrap(), None); // waiting for the rest of the body
//! p.feed(b"lo");
//! assert_eq!(p.poll().unwrap(), Some(Event::Data("lo".into())));
//! assert_eq!(p.poll().unwrap(), Some(Event::End(None))); // no trailers
//! ```

use bytes::{Buf, Bytes, BytesMut};

use crate::body::decode::{Chunk, ChunkedDecoder, LengthDecoder};
use crate::config::ParserConfig;
use crate::error::{Error, ErrorKind};
use crate::head::framing::{After, Facts};
use crate::head::scan::{Mode, Scan, Scanner};
use crate::head::{MessageInfo, Method, RequestHead, ResponseHead};
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
    /// The request was `CONNECT`: the response switches the connection to a tunnel
    /// (CLI-16).
    pub connect: bool,
}

/// One parser event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request head is complete (server side).
    Request(Box<RequestHead>),
    /// A response head is complete (client side); interim (1xx) heads are reported
    /// too, each followed by [`Event::End`].
    Response(Box<ResponseHead>),
    /// A piece of body, de-chunked, as a slice of the receive buffer (MSG-11).
    Data(Bytes),
    /// The message is complete; its trailers, `None` when there were none (or the
    /// trailer section was empty, MSG-8). Boxed: most messages have none, and an
    /// inline list would make every event (and every poll's result) as big as it.
    End(Option<Box<Headers>>),
}

#[derive(Debug)]
enum Body {
    Length(LengthDecoder),
    Chunked(ChunkedDecoder),
    Eof,
}

/// (`repr(u8)`: a tag byte of its own, so that the frequent "which phase" tests are
/// one compare rather than decoding a niche in the variants' fields.)
#[derive(Debug)]
#[repr(u8)]
enum Phase {
    /// Reading a head.
    Head,
    /// An upgrade candidate's head was delivered; waiting for `resume` or `take_leftover`.
    Paused,
    /// The head is delivered and the message has no body: `End` is next.
    EndNext,
    /// Reading a body.
    Body(Body),
    /// Reading the trailer section of a chunked body.
    Trailers,
    /// The last message ended the connection: only CR and LF may follow (PRS-26).
    Closed,
    /// Nothing more will be parsed (EOF at a boundary, or the protocol switched).
    Done,
    /// Parsing failed; the error is sticky.
    Failed(Error),
}

/// The incremental parser for one direction of a connection.
#[derive(Debug)]
pub struct Parser {
    kind: Kind,
    cfg: ParserConfig,
    buf: BytesMut,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    phase: Phase,
    scanner: Scanner,
    /// Framing facts of the current message.
    facts: Option<Facts>,
    /// llhttp's upgrade flag for the current message.
    upgrade: bool,
    ctx: ResponseContext,
    eof: bool,
    fast_path: bool,
    /// The current message leaves HTTP when it ends without being an upgrade (a
    /// response 101 without `Upgrade` headers): llhttp's upgrade exit, after which
    /// Node parses nothing more.
    exit_after_end: bool,
    /// Request heads given back by their owner ([`Parser::recycle_head`]), reused for
    /// the next requests instead of a new allocation each (boxed: they are handed
    /// out as boxes).
    #[allow(clippy::vec_box)]
    spare_heads: Vec<Box<RequestHead>>,
}

/// Spare request heads a parser keeps at most: one pipelined batch.
const SPARE_HEADS: usize = 32;

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
            base: 0,
            phase: Phase::Head,
            scanner: Scanner::new(Self::mode(kind), &cfg),
            facts: None,
            upgrade: false,
            ctx: ResponseContext::default(),
            eof: false,
            fast_path: true,
            exit_after_end: false,
            spare_heads: Vec::new(),
        }
    }

    /// Gives back request heads their owner is done with: the next request heads are
    /// made in their memory instead of a new allocation each (a connection then
    /// allocates none per request). `heads` is left empty. A parser keeps a bounded
    /// number of spares and frees the others; what a spare still holds is dropped
    /// when it is reused (empty its `url` and `headers` first to release the receive
    /// buffer they are slices of at once).
    pub fn recycle_heads(&mut self, heads: &mut Vec<Box<RequestHead>>) {
        let room = SPARE_HEADS.saturating_sub(self.spare_heads.len());
        heads.truncate(room);
        self.spare_heads.append(heads);
    }

    /// [`Parser::recycle_heads`] for one head.
    #[inline]
    pub fn recycle_head(&mut self, head: Box<RequestHead>) {
        if self.spare_heads.len() < SPARE_HEADS {
            self.spare_heads.push(head);
        }
    }

    fn mode(kind: Kind) -> Mode {
        match kind {
            Kind::Request => Mode::Request,
            Kind::Response => Mode::Response,
        }
    }

    /// Turns the head fast path off, so every head goes through the Node-exact
    /// scanner. For differential tests and fuzzing: results must not change.
    #[doc(hidden)]
    pub fn disable_fast_path(&mut self) {
        self.fast_path = false;
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

    /// The receive buffer, for adapters that read straight into its spare capacity.
    /// Bytes appended to it are parsed by the next [`Parser::poll`]; bytes already in
    /// it must not be changed.
    pub fn recv_buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Swaps the scanner's field list (always left empty) with `spare`, so that a
    /// connection running one parser after another reuses its memory.
    pub(crate) fn swap_field_storage(&mut self, spare: &mut Vec<crate::headers::Slot>) {
        spare.clear();
        self.scanner.fields.clear();
        core::mem::swap(&mut self.scanner.fields, spare);
    }

    /// Signals the end of input (the peer half-closed).
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Whether [`Parser::feed_eof`] was called.
    pub fn eof_received(&self) -> bool {
        self.eof
    }

    /// Sets what the next response answers (client side; PRS-17). Call it before the
    /// response head is parsed; it stays in force until changed.
    pub fn set_response_context(&mut self, ctx: ResponseContext) {
        self.ctx = ctx;
    }

    /// Whether the parser is paused: after the head of an upgrade candidate (PRS-27)
    /// until [`Parser::resume`] or [`Parser::take_leftover`].
    pub fn is_paused(&self) -> bool {
        matches!(self.phase, Phase::Paused)
    }

    /// Whether the parser is between messages (no byte of a new message seen yet).
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Head) && self.scanner.at_start()
    }

    /// Whether a poll would just wait: between messages, nothing buffered, no EOF.
    #[inline]
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(self.phase, Phase::Head)
            && self.buf.is_empty()
            && self.scanner.at_start()
            && !self.eof
    }

    /// Whether the parser will produce nothing more (EOF at a boundary, switched
    /// protocols, or failed).
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done | Phase::Failed(_))
    }

    /// Takes the end of a message without a body when it is what [`Parser::poll`]
    /// would return next (`Event::End(None)`, parsing nothing): returns whether it did.
    #[inline]
    pub(crate) fn take_end_next(&mut self) -> bool {
        if matches!(self.phase, Phase::EndNext) {
            self.end(None);
            true
        } else {
            false
        }
    }

    /// Declines a pending upgrade: the message is read as an ordinary one (SRV-8
    /// without an `upgrade` listener). Does nothing when not paused.
    pub fn resume(&mut self) {
        if !matches!(self.phase, Phase::Paused) {
            return;
        }
        let Some(facts) = self.facts else { return };
        self.phase = match facts.after_headers(self.upgrade, self.cfg.lenient) {
            Ok(after) => self.body_phase(after),
            Err((kind, reason)) => Phase::Failed(Error::new(kind, reason, self.base)),
        };
    }

    /// Switches protocols: returns every byte received after the head (Node's `head`
    /// buffer, SRV-8/SRV-9/CLI-16). The parser produces no more events afterwards.
    pub fn take_leftover(&mut self) -> Bytes {
        self.phase = Phase::Done;
        self.base += self.buf.len() as u64;
        self.buf.split().freeze()
    }

    /// Gives the receive buffer's memory back when it holds no unparsed byte and no
    /// message is under way (an idle keep-alive connection); the next
    /// [`Parser::recv_buf`] or [`Parser::feed`] starts a new one. Returns whether it
    /// did. Slices handed out earlier (heads, body data) keep their bytes.
    pub fn release_idle_buffer(&mut self) -> bool {
        let idle = self.buf.is_empty()
            && self.buf.capacity() > 0
            && matches!(self.phase, Phase::Head)
            && self.scanner.at_start()
            && self.scanner.pos == 0;
        if idle {
            self.buf = BytesMut::new();
        }
        idle
    }

    /// Bytes received and not yet consumed by parsing.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Total bytes fed so far (error offsets count from the start of this stream).
    pub fn bytes_fed(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Returns the next event, `Ok(None)` when more input is needed (or the parser is
    /// paused or done), or the error that ended parsing. After an error every call
    /// returns it again.
    pub fn poll(&mut self) -> Result<Option<Event>, Error> {
        let r = self.step();
        if let Err(e) = &r {
            self.phase = Phase::Failed(e.clone());
        }
        r
    }

    fn step(&mut self) -> Result<Option<Event>, Error> {
        loop {
            match &mut self.phase {
                Phase::Failed(e) => return Err(e.clone()),
                Phase::Done | Phase::Paused => return Ok(None),
                Phase::Head if self.buf.is_empty() && self.scanner.at_start() => {
                    // Between messages with nothing buffered (the usual look after
                    // the last request was taken): what a scan of no bytes would
                    // conclude.
                    if self.eof {
                        self.phase = Phase::Done;
                    }
                    return Ok(None);
                }
                Phase::Head => return self.head(),
                Phase::EndNext => return Ok(Some(self.end(None))),
                Phase::Body(body) => match Self::body(body, &mut self.buf, &mut self.base)? {
                    BodyStep::Data(d) => return Ok(Some(Event::Data(d))),
                    BodyStep::Complete => return Ok(Some(self.end(None))),
                    BodyStep::Trailers => self.start_trailers(),
                    BodyStep::Wait => {
                        if self.eof && matches!(self.phase, Phase::Body(Body::Eof)) {
                            return Ok(Some(self.end(None)));
                        }
                        return self.at_eof_inside();
                    }
                },
                Phase::Trailers => return self.trailers(),
                Phase::Closed => return self.closed(),
            }
        }
    }

    fn start_trailers(&mut self) {
        let (flags, cl) = self
            .facts
            .map(|f| (f.flags, f.content_length))
            .unwrap_or_default();
        self.scanner.reset(Mode::Trailers);
        self.scanner.flags = flags;
        self.scanner.content_length = cl;
        self.scanner.set_request(self.kind == Kind::Request);
        self.phase = Phase::Trailers;
    }

    fn trailers(&mut self) -> Result<Option<Event>, Error> {
        match self.scanner.scan(&self.buf, self.base)? {
            Scan::Partial => self.at_eof_inside(),
            Scan::Complete(end) => {
                let bytes = self.buf.split_to(end).freeze();
                self.base += end as u64;
                let mut trailers = Headers::new();
                build_headers(&mut trailers, bytes, &mut self.scanner);
                if let Some(f) = &mut self.facts {
                    f.flags = self.scanner.flags;
                }
                let trailers = (!trailers.is_empty()).then(|| Box::new(trailers));
                Ok(Some(self.end(trailers)))
            }
        }
    }

    /// The message is complete: llhttp's `cleanup` decides whether the connection goes
    /// on (PRS-25) or only empty lines may follow (PRS-26).
    fn end(&mut self, trailers: Option<Box<Headers>>) -> Event {
        let keep = self.facts.is_some_and(|f| f.keep_alive());
        self.scanner.reset(Self::mode(self.kind));
        self.phase = if std::mem::take(&mut self.exit_after_end) {
            Phase::Done
        } else if keep || self.cfg.lenient.keep_alive {
            Phase::Head
        } else {
            Phase::Closed
        };
        Event::End(trailers)
    }

    /// After a message that ended the connection (PRS-26).
    fn closed(&mut self) -> Result<Option<Event>, Error> {
        match self.buf.iter().position(|&b| b != b'\r' && b != b'\n') {
            Some(k) if !self.cfg.lenient.data_after_close => Err(Error::new(
                ErrorKind::ClosedConnection,
                "Data after `Connection: close`",
                self.base + k as u64 + 1,
            )),
            _ => {
                self.base += self.buf.len() as u64;
                self.buf.clear();
                if self.eof {
                    self.phase = Phase::Done;
                }
                Ok(None)
            }
        }
    }

    /// Input ran out inside a message: wait, or fail on EOF (PRS-29).
    fn at_eof_inside(&mut self) -> Result<Option<Event>, Error> {
        if self.eof {
            return Err(Error::new(
                ErrorKind::InvalidEofState,
                "Invalid EOF state",
                self.bytes_fed(),
            ));
        }
        Ok(None)
    }

    #[inline(always)]
    fn head(&mut self) -> Result<Option<Event>, Error> {
        if self.kind == Kind::Request && self.fast_path {
            match self.spare_heads.pop() {
                // The fast path writes the fields straight into the spare head they
                // will be delivered in, not into the scanner's list first. (A spare
                // keeps the field storage its earlier heads grew.)
                Some(mut head) => match self
                    .scanner
                    .try_fast_into(&self.buf, head.headers.slots_to_fill())
                {
                    Some(end) => return Ok(Some(self.fast_request(head, end, true))),
                    None => self.spare_heads.push(head),
                },
                // A new head gets its field list allocated at its size, from the
                // scanner's list.
                None => {
                    if let Some(end) = self.scanner.try_fast(&self.buf) {
                        let head = Box::new(RequestHead::new(
                            Method::from_static(""),
                            Bytes::new(),
                            crate::head::Version::HTTP_11,
                            Headers::new(),
                            MessageInfo {
                                keep_alive: false,
                                upgrade: false,
                                body: crate::head::BodyKind::None,
                                connection: crate::head::ConnectionTokens::default(),
                                has_content_length: false,
                                has_transfer_encoding: false,
                                has_host: false,
                                has_expect: false,
                            },
                        ));
                        return Ok(Some(self.fast_request(head, end, false)));
                    }
                }
            }
        } else if self.fast_path {
            if let Some(end) = self.scanner.try_fast(&self.buf) {
                return Ok(Some(self.complete(end, None, false)));
            }
        }
        match self.scanner.scan(&self.buf, self.base)? {
            Scan::Partial => {
                if self.scanner.at_start() {
                    // Empty lines before a message are skipped (PRS-1); drop them.
                    let n = self.scanner.pos;
                    self.buf.advance(n);
                    self.base += n as u64;
                    self.scanner.rebase_at_start(n);
                    if self.eof {
                        self.phase = Phase::Done;
                    }
                    return Ok(None);
                }
                self.at_eof_inside()
            }
            Scan::Complete(end) => {
                let spare = match self.kind {
                    Kind::Request => self.spare_heads.pop(),
                    Kind::Response => None,
                };
                Ok(Some(self.complete(end, spare, false)))
            }
        }
    }

    /// A request head the fast path took, built in `head`; its fields are already there
    /// when `filled`, else in the scanner's list. The usual
    /// request (no `Content-Length`, `Transfer-Encoding` or `Upgrade`; the fast path
    /// takes no `CONNECT`) has no body and is no upgrade candidate, whatever else it
    /// says: only its persistence is left to decide. Anything else takes the general
    /// decision.
    #[inline(always)]
    fn fast_request(&mut self, mut head: Box<RequestHead>, end: usize, filled: bool) -> Event {
        use crate::head::scan::flags as F;
        let sc = &self.scanner;
        if sc.flags & (F::UPGRADE | F::CONTENT_LENGTH | F::TRANSFER_ENCODING) != 0 {
            return self.complete(end, Some(head), filled);
        }
        let bytes = self.buf.split_to(end).freeze();
        self.base += end as u64;
        let facts = Facts {
            request: true,
            flags: sc.flags,
            content_length: 0,
            version: sc.version,
            connect_method: false,
            status: 0,
            skip_body: false,
        };
        // A recycled head nearly always holds the same method already (the same
        // static name: nothing to drop or build).
        let name = sc.method_name();
        let held = head.method.as_bytes();
        if !(held.as_ptr() == name.as_ptr() && held.len() == name.len()) {
            head.method = Method::from_bytes(Bytes::from_static(name));
        }
        // A range of the head the fields keep: no reference of its own.
        head.set_url_in_head(sc.url.0, sc.url.1);
        head.version = sc.version;
        head.info = MessageInfo {
            keep_alive: facts.keep_alive(),
            upgrade: false,
            body: crate::head::BodyKind::None,
            connection: facts.connection(),
            has_content_length: false,
            has_transfer_encoding: false,
            has_host: sc.seen & crate::head::scan::seen::HOST != 0,
            has_expect: sc.seen & crate::head::scan::seen::EXPECT != 0,
        };
        if filled {
            head.headers.set_buf(bytes);
        } else {
            build_headers(&mut head.headers, bytes, &mut self.scanner);
        }
        self.facts = Some(facts);
        self.upgrade = false;
        self.exit_after_end = false;
        self.phase = Phase::EndNext;
        Event::Request(head)
    }

    /// A head the scanner or the fast path took, `end` bytes long. A request head is
    /// built in `spare` when given; its fields are in the scanner's list, or already in
    /// `spare` when `filled` (the fast path wrote them there).
    #[inline(never)]
    fn complete(&mut self, end: usize, spare: Option<Box<RequestHead>>, filled: bool) -> Event {
        let bytes = self.buf.split_to(end).freeze();
        let head_base = self.base;
        self.base += end as u64;
        let sc = &self.scanner;
        let request = self.kind == Kind::Request;
        let status = sc.status;
        // Node's client skips the body of a response to HEAD and of every interim
        // response; 101 is llhttp's upgrade exit, 204/304 llhttp's own rule.
        let skip_body = !request
            && status != 101
            && !crate::head::framing::response_body_allowed(status, self.ctx.head)
            && !matches!(status, 204 | 304);
        let facts = Facts {
            request,
            flags: sc.flags,
            content_length: sc.content_length,
            version: sc.version,
            connect_method: request && sc.method_name() == b"CONNECT",
            status,
            skip_body,
        };
        let upgrade = facts.upgrade() || (!request && self.ctx.connect);
        // llhttp decides framing after Node has seen the head, so a request whose
        // Transfer-Encoding cannot frame it is delivered and then fails (observed).
        let decided = facts
            .after_headers(upgrade, self.cfg.lenient)
            .map_err(|(kind, reason)| Error::new(kind, reason, head_base + end as u64));
        let after = *decided.as_ref().unwrap_or(&After::NoBody);
        let info = MessageInfo {
            keep_alive: facts.keep_alive(),
            upgrade,
            body: Facts::body_kind(after),
            connection: facts.connection(),
            has_content_length: sc.flags & crate::head::scan::flags::CONTENT_LENGTH != 0,
            has_transfer_encoding: sc.flags & crate::head::scan::flags::TRANSFER_ENCODING != 0,
            has_host: false,
            has_expect: false,
        };
        // The head is boxed empty and its fields written in place (a `Headers` holds
        // its first fields inline: building it apart would copy it once more).
        let event = if request {
            let method = Method::from_bytes(Bytes::from_static(sc.method_name()));
            let version = sc.version;
            let mut head = match spare {
                Some(mut head) => {
                    head.method = method;
                    head.version = version;
                    head.info = info;
                    head
                }
                None => Box::new(RequestHead::new(
                    method,
                    Bytes::new(),
                    version,
                    Headers::new(),
                    info,
                )),
            };
            // A range of the head the fields keep: no reference of its own.
            head.set_url_in_head(sc.url.0, sc.url.1);
            if filled {
                head.headers.set_buf(bytes);
            } else {
                build_headers(&mut head.headers, bytes, &mut self.scanner);
            }
            (head.info.has_host, head.info.has_expect) = fields_seen(&head.headers);
            Event::Request(head)
        } else {
            let mut head = Box::new(ResponseHead {
                version: sc.version,
                status,
                reason: bytes.slice(sc.reason.0..sc.reason.1),
                headers: Headers::new(),
                info,
            });
            build_headers(&mut head.headers, bytes, &mut self.scanner);
            (head.info.has_host, head.info.has_expect) = fields_seen(&head.headers);
            Event::Response(head)
        };
        self.facts = Some(facts);
        self.upgrade = upgrade;
        self.exit_after_end = !upgrade && matches!(decided, Ok(After::UpgradeExit));
        self.phase = match decided {
            Err(e) => Phase::Failed(e),
            Ok(_) if upgrade => Phase::Paused,
            Ok(after) => self.body_phase(after),
        };
        event
    }

    fn body_phase(&self, after: After) -> Phase {
        match after {
            After::UpgradeExit | After::NoBody => Phase::EndNext,
            After::Chunked => Phase::Body(Body::Chunked(ChunkedDecoder::new(&self.cfg))),
            After::Length(n) => Phase::Body(Body::Length(LengthDecoder::new(n))),
            After::Eof => Phase::Body(Body::Eof),
        }
    }

    /// Decodes body bytes. Not inlined: the event loops' frames stay small for the
    /// bodyless messages.
    #[inline(never)]
    fn body(body: &mut Body, buf: &mut BytesMut, base: &mut u64) -> Result<BodyStep, Error> {
        match body {
            Body::Length(dec) if dec.is_done() => Ok(BodyStep::Complete),
            Body::Length(dec) => {
                let n = dec.decode(buf);
                if n == 0 {
                    return Ok(BodyStep::Wait);
                }
                *base += n as u64;
                Ok(BodyStep::Data(buf.split_to(n).freeze()))
            }
            Body::Eof => {
                if buf.is_empty() {
                    return Ok(BodyStep::Wait);
                }
                *base += buf.len() as u64;
                Ok(BodyStep::Data(buf.split().freeze()))
            }
            Body::Chunked(dec) => loop {
                if buf.is_empty() {
                    return Ok(BodyStep::Wait);
                }
                let (used, chunk) = dec.decode(buf, *base)?;
                match chunk {
                    Chunk::Data { start, len } => {
                        buf.advance(start);
                        let data = buf.split_to(len).freeze();
                        buf.advance(used - start - len);
                        *base += used as u64;
                        return Ok(BodyStep::Data(data));
                    }
                    Chunk::NeedMore => {
                        buf.advance(used);
                        *base += used as u64;
                        if used == 0 {
                            return Ok(BodyStep::Wait);
                        }
                    }
                    Chunk::Last => {
                        buf.advance(used);
                        *base += used as u64;
                        return Ok(BodyStep::Trailers);
                    }
                }
            },
        }
    }
}

/// What one body-decoding step found.
enum BodyStep {
    Data(Bytes),
    Wait,
    Complete,
    Trailers,
}

/// Number of trailing SP/HTAB bytes.
#[inline]
fn trailing_ows(v: &[u8]) -> usize {
    v.iter()
        .rev()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

/// Whether `headers` has a `Host` field and an `Expect` field (what the fast path
/// records as it reads them, [`crate::head::scan::seen`]).
fn fields_seen(headers: &Headers) -> (bool, bool) {
    headers.fields().fold((false, false), |(host, expect), f| {
        let name = f.name();
        (
            host || name.eq_ignore_ascii_case(b"host"),
            expect || name.eq_ignore_ascii_case(b"expect"),
        )
    })
}

/// Builds the field list of a head or trailer section from the scanner's spans; every
/// name and value is a slice of `bytes` (no copy) except obs-fold values (lenient
/// only), whose pieces are joined.
fn build_headers(h: &mut Headers, bytes: Bytes, sc: &mut Scanner) {
    if sc.folds.is_empty() {
        // The usual case: the list takes the head's bytes over (no reference-count
        // traffic).
        h.set_slots(bytes, sc.fields());
        sc.clear_fields();
    } else {
        h.set_slots(bytes.clone(), sc.fields());
        sc.clear_fields();
        let mut i = 0;
        while i < sc.folds.len() {
            // Node joins the raw pieces and trims the whole value once (PRS-10).
            let field = sc.folds[i].field;
            let mut v = Vec::new();
            while i < sc.folds.len() && sc.folds[i].field == field {
                v.extend_from_slice(&bytes[sc.folds[i].start..sc.folds[i].end]);
                i += 1;
            }
            v.truncate(v.len() - trailing_ows(&v));
            h.set_value_owned(field, Bytes::from(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycled_heads_carry_nothing_over() {
        let mut p = Parser::request(ParserConfig::default());
        p.feed(b"POST /a?b HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nContent-Length: 1\r\n\r\nz");
        let Some(Event::Request(first)) = p.poll().unwrap() else {
            panic!("no head")
        };
        let expected_first = first.clone();
        while !matches!(p.poll().unwrap(), Some(Event::End(_))) {}
        // Given back without being emptied: reuse replaces everything.
        p.recycle_heads(&mut vec![first]);
        p.feed(b"GET / HTTP/1.0\r\nC: 3\r\n\r\n");
        let Some(Event::Request(second)) = p.poll().unwrap() else {
            panic!("no head")
        };
        let mut fresh = Parser::request(ParserConfig::default());
        fresh.feed(b"GET / HTTP/1.0\r\nC: 3\r\n\r\n");
        let Some(Event::Request(expected)) = fresh.poll().unwrap() else {
            panic!("no head")
        };
        assert_eq!(second, expected);
        assert_ne!(*second, *expected_first);
        assert_eq!(second.headers.len(), 1);
    }

    /// Every way a head is completed over a recycled one (fast path, plain or with a
    /// body; scanner after a partial read; scanner for an unusual form) gives what a
    /// fresh parser gives.
    #[test]
    fn heads_built_over_spares_match_fresh_ones() {
        let heads: [&[u8]; 4] = [
            b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"POST /b HTTP/1.0\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nok",
            b"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: v\r\n\r\n",
            b"GET /d HTTP/1.1\r\nHost :x\r\n\r\n",
        ];
        let trace = |p: &mut Parser| {
            let mut out = Vec::new();
            while let Ok(Some(e)) = p.poll() {
                out.push(e);
            }
            out
        };
        for input in heads {
            for split in [input.len(), 5, 20] {
                let mut p = Parser::request(ParserConfig::default());
                p.feed(b"DELETE /old?q HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
                let Some(Event::Request(old)) = p.poll().unwrap() else {
                    panic!("no head")
                };
                assert_eq!(p.poll().unwrap(), Some(Event::End(None)));
                p.recycle_heads(&mut vec![old]);
                let (a, b) = input.split_at(split.min(input.len()));
                p.feed(a);
                let mut got = trace(&mut p);
                p.feed(b);
                got.extend(trace(&mut p));
                let got_err = p.poll().err();
                // The same stream without the recycling.
                let mut fresh = Parser::request(ParserConfig::default());
                fresh.feed(b"DELETE /old?q HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
                assert_eq!(trace(&mut fresh).len(), 2);
                fresh.feed(input);
                let want = trace(&mut fresh);
                assert_eq!(got, want, "{:?}", String::from_utf8_lossy(input));
                assert_eq!(got_err, fresh.poll().err());
            }
        }
    }

    #[test]
    fn spare_heads_are_bounded() {
        let mut p = Parser::request(ParserConfig::default());
        let head = || {
            let mut q = Parser::request(ParserConfig::default());
            q.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            match q.poll().unwrap() {
                Some(Event::Request(h)) => h,
                _ => panic!("no head"),
            }
        };
        let mut heads: Vec<_> = (0..SPARE_HEADS + 5).map(|_| head()).collect();
        p.recycle_heads(&mut heads);
        assert!(heads.is_empty());
        assert_eq!(p.spare_heads.len(), SPARE_HEADS);
        // One at a time, the same bound.
        p.recycle_head(head());
        assert_eq!(p.spare_heads.len(), SPARE_HEADS);
        let mut q = Parser::request(ParserConfig::default());
        q.recycle_head(head());
        assert_eq!(q.spare_heads.len(), 1);
    }
}
