//! Fuzz harnesses, shared by the `fuzz/` targets and by `tests/corpus_replay.rs`.
//!
//! Every harness takes arbitrary bytes and never returns an error: a broken invariant
//! is an `assert!` failure, which libFuzzer reports as a crash and `cargo test` as a
//! failed replay. See `docs/fuzzing.md` for the list of invariants.
//!
//! # Input layout
//!
//! The first [`KNOB_BYTES`] bytes choose the configuration (llhttp's trick: the fuzzer
//! mutates the configuration together with the message); the rest is the byte stream.
//! A shorter input is padded with zero knobs and an empty stream.
//!
//! | byte | bits | meaning |
//! |---|---|---|
//! | 0 | 0–1 | leniency: 0 and 3 strict, 1 [`ParserConfig::insecure`], 2 the flags in bytes 2–3 |
//! | 0 | 2–3 | `max_header_size`: 0 and 3 default, 1 `64 + 4·b1` (64..=1084), 2 `1 + b1` (1..=256) |
//! | 0 | 4–5 | `max_headers_count`: 0 and 3 default, 1 unlimited (`0`), 2 `1 + (b1 & 7)` |
//! | 0 | 6 | `max_chunk_extensions = 1 + b1` instead of the default |
//! | 0 | 7 | on an upgrade pause: 0 [`Parser::resume`], 1 [`Parser::take_leftover`] |
//! | 1 | all | the size parameter `b1` used above |
//! | 2 | 0–7 | leniency flags 0–7 (in [`Lenient`] field order) when byte 0 selects 2 |
//! | 3 | 0–1 | leniency flags 8–9 |
//! | 3 | 2–7 | responses only: the request each response answers, two bits each for the first, second and every later final response: 0 and 3 `GET`, 1 `HEAD`, 2 `CONNECT` |
//!
//! # Split invariance
//!
//! Each harness parses the stream several times: fed whole, cut at pseudo-random
//! points derived from the input, and (for short streams) one byte at a time, each
//! followed by EOF. The normalized traces (adjacent `Data` merged, see [`Step`]) must
//! be identical, including the final error's kind, reason and offset.

use bytes::Bytes;

use crate::config::{Lenient, ParserConfig};
use crate::error::{Error, ErrorKind};
use crate::head::{BodyKind, MessageInfo, RequestHead, ResponseHead, Version};
use crate::headers::Headers;
use crate::parser::{Event, Kind, Parser, ResponseContext};

/// How many leading input bytes are configuration knobs.
pub const KNOB_BYTES: usize = 4;

/// Streams up to this many bytes are also fed one byte at a time.
pub const BYTEWISE_LIMIT: usize = 256;

/// The head the [`chunked_decode`] harness puts before its input.
pub const CHUNKED_PREFIX: &[u8] =
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

/// A harness: takes one fuzz input, panics on a broken invariant.
pub type Harness = fn(&[u8]);

/// Every harness by fuzz-target name (the file stem under `fuzz/fuzz_targets/` and
/// the directory name under `fuzz/seeds/` and `fuzz/regressions/`).
pub const TARGETS: &[(&str, Harness)] = &[
    ("request_parse", request_stream),
    ("response_parse", response_stream),
    ("chunked_decode", chunked_decode),
    ("server_conn", server_conn),
    ("client_conn", client_conn),
];

/// Parses `data` (after the knob bytes) as a stream of requests, checking every invariant.
pub fn request_stream(data: &[u8]) {
    let (knobs, stream) = Knobs::parse(data);
    check_splits(Kind::Request, &knobs, stream);
}

/// Parses `data` (after the knob bytes) as a stream of responses, checking every
/// invariant. Knob byte 3 says which request method each response answers.
pub fn response_stream(data: &[u8]) {
    let (knobs, stream) = Knobs::parse(data);
    check_splits(Kind::Response, &knobs, stream);
}

/// Parses [`CHUNKED_PREFIX`] followed by `data` (after the knob bytes) as requests, so
/// that the fuzzer works on chunked framing, extensions and trailers. The limits are
/// kept large enough for the prefix to parse; the first event must be its head.
pub fn chunked_decode(data: &[u8]) {
    let (mut knobs, stream) = Knobs::parse(data);
    knobs.cfg.max_header_size = knobs.cfg.max_header_size.max(64);
    if knobs.cfg.max_headers_count != 0 {
        knobs.cfg.max_headers_count = knobs.cfg.max_headers_count.max(2);
    }
    let mut input = Vec::with_capacity(CHUNKED_PREFIX.len() + stream.len());
    input.extend_from_slice(CHUNKED_PREFIX);
    input.extend_from_slice(stream);
    let trace = check_splits(Kind::Request, &knobs, &input);
    match trace.first() {
        Some(Step::Request(head)) => {
            assert_eq!(
                head.info.body,
                BodyKind::Chunked,
                "prefix must frame chunked"
            );
        }
        other => panic!("the chunked prefix did not parse as a request head: {other:?}"),
    }
}

/// One normalized parser observation. Two traces are compared with `==`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// [`Event::Request`].
    Request(Box<RequestHead>),
    /// [`Event::Response`].
    Response(Box<ResponseHead>),
    /// One or more adjacent [`Event::Data`], concatenated.
    Data(Vec<u8>),
    /// [`Event::End`] with its trailers.
    End(Box<Headers>),
    /// The parser paused after an upgrade candidate's head.
    Paused,
    /// [`Parser::take_leftover`] was called: `consumed` bytes had been parsed, and
    /// `rest` is the leftover followed by the bytes not yet fed.
    Leftover {
        /// Stream offset at which the leftover starts.
        consumed: u64,
        /// Every byte after the head.
        rest: Vec<u8>,
    },
    /// The error that ended parsing.
    Error(Error),
}

/// The configuration chosen by the knob bytes.
#[derive(Debug, Clone, Copy)]
struct Knobs {
    cfg: ParserConfig,
    take_leftover: bool,
    contexts: [ResponseContext; 3],
}

impl Knobs {
    fn parse(data: &[u8]) -> (Self, &[u8]) {
        let mut k = [0u8; KNOB_BYTES];
        let n = data.len().min(KNOB_BYTES);
        k[..n].copy_from_slice(&data[..n]);
        let (b0, b1) = (k[0], usize::from(k[1]));

        let mut cfg = ParserConfig {
            lenient: match b0 & 3 {
                1 => Lenient::node_insecure(),
                2 => lenient_from_bits(u16::from(k[2]) | (u16::from(k[3] & 3) << 8)),
                _ => Lenient::STRICT,
            },
            ..ParserConfig::default()
        };
        match (b0 >> 2) & 3 {
            1 => cfg.max_header_size = 64 + 4 * b1,
            2 => cfg.max_header_size = 1 + b1,
            _ => {}
        }
        match (b0 >> 4) & 3 {
            1 => cfg.max_headers_count = 0,
            2 => cfg.max_headers_count = 1 + (b1 & 7),
            _ => {}
        }
        if b0 & 0x40 != 0 {
            cfg.max_chunk_extensions = 1 + b1;
        }
        let ctx = |bits: u8| ResponseContext {
            head: bits & 3 == 1,
            connect: bits & 3 == 2,
        };
        let knobs = Self {
            cfg,
            take_leftover: b0 & 0x80 != 0,
            contexts: [ctx(k[3] >> 2), ctx(k[3] >> 4), ctx(k[3] >> 6)],
        };
        (knobs, &data[n..])
    }

    fn context(&self, index: usize) -> ResponseContext {
        self.contexts[index.min(2)]
    }
}

fn lenient_from_bits(bits: u16) -> Lenient {
    let on = |i: u16| bits & (1 << i) != 0;
    Lenient {
        headers: on(0),
        chunked_length: on(1),
        keep_alive: on(2),
        transfer_encoding: on(3),
        version: on(4),
        data_after_close: on(5),
        optional_lf_after_cr: on(6),
        optional_cr_before_lf: on(7),
        optional_crlf_after_chunk: on(8),
        spaces_after_chunk_size: on(9),
    }
}

/// Runs every feeding schedule over `input`, asserts that the traces agree and
/// returns the normalized trace of the whole feed.
fn check_splits(kind: Kind, knobs: &Knobs, input: &[u8]) -> Vec<Step> {
    let whole = Run::drive(kind, knobs, input, &[], Mode::Views);

    let scanner_only = Run::drive(kind, knobs, input, &[], Mode::NoFastPath);
    assert!(
        whole == scanner_only,
        "the fast path changed the result\n fast:    {whole:?}\n scanner: {scanner_only:?}"
    );

    let cuts = random_cuts(input);
    if !cuts.is_empty() {
        let split = Run::drive(kind, knobs, input, &cuts, Mode::Plain);
        assert!(
            whole == split,
            "split invariance broken for cuts {cuts:?}\n whole: {whole:?}\n split: {split:?}"
        );
    }

    if input.len() > 1 && input.len() <= BYTEWISE_LIMIT {
        let every: Vec<usize> = (1..input.len()).collect();
        let bytewise = Run::drive(kind, knobs, input, &every, Mode::Plain);
        assert!(
            whole == bytewise,
            "split invariance broken when fed byte by byte\n whole: {whole:?}\n bytes: {bytewise:?}"
        );
    }
    whole
}

/// Cut points derived from the input (an FNV-1a seed and a xorshift generator), sorted,
/// distinct and strictly inside the input.
fn random_cuts(input: &[u8]) -> Vec<usize> {
    if input.len() < 2 {
        return Vec::new();
    }
    let mut seed = 0xcbf2_9ce4_8422_2325u64;
    for &b in input {
        seed = (seed ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let count = 1 + (next() % 8) as usize;
    let span = (input.len() - 1) as u64;
    let mut cuts: Vec<usize> = (0..count).map(|_| 1 + (next() % span) as usize).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Extras of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    /// Also build the Node header views of every head.
    Views,
    /// Parse every head with the Node-exact scanner only.
    NoFastPath,
}

/// Where the event grammar stands: between messages or inside one.
#[derive(Debug, Clone, Copy)]
enum Msg {
    Idle,
    Body {
        info: MessageInfo,
        status: Option<u16>,
        data: u64,
    },
}

/// One parse of the input under one feeding schedule.
struct Run<'a> {
    kind: Kind,
    knobs: &'a Knobs,
    input: &'a [u8],
    parser: Parser,
    /// Bytes fed so far.
    fed: usize,
    /// Parsing has ended (error or leftover taken).
    done: bool,
    steps: Vec<Step>,
    msg: Msg,
    /// Final responses seen, for the response context.
    finals: usize,
    /// Events returned, bounded to catch a parser that loops without progress.
    events: usize,
    /// Body bytes delivered in total.
    body_total: u64,
    /// Body data must appear in the input in order: the search resumes here.
    body_cursor: usize,
    /// Exercise the header views on each head (only once per input).
    views: bool,
}

impl<'a> Run<'a> {
    fn drive(
        kind: Kind,
        knobs: &'a Knobs,
        input: &'a [u8],
        cuts: &[usize],
        mode: Mode,
    ) -> Vec<Step> {
        let mut parser = Parser::new(kind, knobs.cfg);
        if mode == Mode::NoFastPath {
            parser.disable_fast_path();
        }
        if kind == Kind::Response {
            parser.set_response_context(knobs.context(0));
        }
        let mut run = Run {
            kind,
            knobs,
            input,
            parser,
            fed: 0,
            done: false,
            steps: Vec::new(),
            msg: Msg::Idle,
            finals: 0,
            events: 0,
            body_total: 0,
            body_cursor: 0,
            views: mode == Mode::Views,
        };
        let mut start = 0;
        for end in cuts.iter().copied().chain([input.len()]) {
            if run.done {
                break;
            }
            run.feed(&input[start..end]);
            run.pump();
            start = end;
        }
        if !run.done {
            run.parser.feed_eof();
            run.pump();
        }
        if !run.done {
            assert_eq!(run.parser.poll(), Ok(None), "poll after the end of input");
        }
        run.steps
    }

    fn feed(&mut self, piece: &[u8]) {
        self.parser.feed(piece);
        self.fed += piece.len();
        assert_eq!(self.parser.bytes_fed(), self.fed as u64, "bytes_fed");
    }

    fn push(&mut self, step: Step) {
        if let (Step::Data(new), Some(Step::Data(prev))) = (&step, self.steps.last_mut()) {
            prev.extend_from_slice(new);
            return;
        }
        self.steps.push(step);
    }

    /// Polls until the parser needs input, handling pauses; records everything.
    fn pump(&mut self) {
        loop {
            assert!(
                self.parser.buffered() <= self.fed,
                "buffered {} > fed {}",
                self.parser.buffered(),
                self.fed
            );
            match self.parser.poll() {
                Ok(Some(event)) => {
                    self.events += 1;
                    assert!(
                        self.events <= 3 * self.input.len() + 16,
                        "too many events ({}) for {} input bytes",
                        self.events,
                        self.input.len()
                    );
                    self.on_event(event);
                }
                Ok(None) if self.parser.is_paused() => {
                    self.on_pause();
                    if self.done {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    self.on_error(e);
                    return;
                }
            }
        }
    }

    fn on_pause(&mut self) {
        let upgrade_head = match self.steps.last() {
            Some(Step::Request(h)) => h.info.upgrade,
            Some(Step::Response(h)) => h.info.upgrade,
            _ => false,
        };
        assert!(
            upgrade_head,
            "paused, but the last step is not an upgrade head: {:?}",
            self.steps.last()
        );
        self.push(Step::Paused);
        if self.knobs.take_leftover {
            let buffered = self.parser.buffered();
            let consumed = self.parser.bytes_fed() - buffered as u64;
            let leftover = self.parser.take_leftover();
            assert_eq!(leftover.len(), buffered, "take_leftover vs buffered");
            let consumed_at = usize::try_from(consumed).unwrap_or(usize::MAX);
            assert!(
                consumed_at <= self.fed,
                "consumed {consumed} > fed {}",
                self.fed
            );
            assert!(
                leftover[..] == self.input[consumed_at..self.fed],
                "leftover is not the unconsumed suffix of what was fed"
            );
            assert_eq!(self.parser.poll(), Ok(None), "poll after take_leftover");
            let mut rest = leftover.to_vec();
            rest.extend_from_slice(&self.input[self.fed..]);
            self.push(Step::Leftover { consumed, rest });
            self.done = true;
        } else {
            self.parser.resume();
            assert!(!self.parser.is_paused(), "still paused after resume()");
        }
    }

    fn on_error(&mut self, e: Error) {
        assert_ne!(e.kind(), ErrorKind::RequestTimeout, "a timeout from input");
        assert!(
            e.offset() <= self.fed as u64,
            "error offset {} beyond the {} bytes fed: {e}",
            e.offset(),
            self.fed
        );
        assert!(!e.reason().is_empty(), "error without reason: {e:?}");
        // Sticky: the same error again, also after more input and EOF.
        assert_eq!(self.parser.poll(), Err(e.clone()), "error not sticky");
        let rest = &self.input[self.fed..];
        self.feed(rest);
        self.parser.feed_eof();
        assert_eq!(
            self.parser.poll(),
            Err(e.clone()),
            "error not sticky after EOF"
        );
        self.push(Step::Error(e));
        self.done = true;
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Request(head) => {
                assert_eq!(
                    self.kind,
                    Kind::Request,
                    "request event from a response parser"
                );
                assert!(matches!(self.msg, Msg::Idle), "head inside a message");
                self.check_request(&head);
                self.msg = Msg::Body {
                    info: head.info,
                    status: None,
                    data: 0,
                };
                self.push(Step::Request(head));
            }
            Event::Response(head) => {
                assert_eq!(
                    self.kind,
                    Kind::Response,
                    "response event from a request parser"
                );
                assert!(matches!(self.msg, Msg::Idle), "head inside a message");
                self.check_response(&head);
                self.msg = Msg::Body {
                    info: head.info,
                    status: Some(head.status),
                    data: 0,
                };
                self.push(Step::Response(head));
            }
            Event::Data(bytes) => self.on_data(&bytes),
            Event::End(trailers) => {
                let trailers = trailers.unwrap_or_default();
                let Msg::Body { info, status, data } = self.msg else {
                    panic!("End outside a message");
                };
                if let BodyKind::Length(n) = info.body {
                    assert_eq!(data, n, "Content-Length body delivered {data} of {n} bytes");
                }
                if !trailers.is_empty() {
                    assert_eq!(
                        info.body,
                        BodyKind::Chunked,
                        "trailers without chunked framing"
                    );
                }
                self.check_fields(&trailers);
                self.msg = Msg::Idle;
                if let Some(status) = status {
                    if !(100..200).contains(&status) || status == 101 {
                        self.finals += 1;
                    }
                    let ctx = self.knobs.context(self.finals);
                    self.parser.set_response_context(ctx);
                }
                self.push(Step::End(trailers));
            }
        }
    }

    fn on_data(&mut self, bytes: &Bytes) {
        assert!(!bytes.is_empty(), "empty Data event");
        let Msg::Body { info, data, .. } = &mut self.msg else {
            panic!("Data outside a message");
        };
        *data += bytes.len() as u64;
        match info.body {
            BodyKind::None => panic!("Data for a message without a body"),
            BodyKind::Length(n) => assert!(*data <= n, "more than Content-Length {n} bytes"),
            BodyKind::Chunked | BodyKind::CloseDelimited => {}
        }
        self.body_total += bytes.len() as u64;
        assert!(
            self.body_total <= self.fed as u64,
            "{} body bytes from {} input bytes",
            self.body_total,
            self.fed
        );
        // Body bytes are slices of the input, in order and without overlap.
        let Some(at) = memchr::memmem::find(&self.input[self.body_cursor..self.fed], bytes) else {
            panic!("Data is not a slice of the input after the previous Data: {bytes:?}");
        };
        self.body_cursor += at + bytes.len();
        self.push(Step::Data(bytes.to_vec()));
    }

    fn strict_headers(&self) -> bool {
        !self.knobs.cfg.lenient.headers
    }

    /// Field syntax (PRS-7, PRS-8): names are non-empty tokens (with header leniency
    /// only their first byte is certain); values never hold LF, and without header
    /// leniency hold only field-vchar, SP and HTAB, trimmed.
    fn check_fields(&self, headers: &Headers) {
        let strict = self.strict_headers();
        for f in headers {
            // Node quirk: with header leniency, a name that starts like one llhttp
            // matches specially (`Connection`, `Content-Length`…) may go on with
            // whitespace and more bytes (`Content-Length x: 1`). Only a token start,
            // and no colon or line break, is certain then.
            let name = f.name();
            let ok = if strict {
                name.iter().all(|&b| is_tchar(b))
            } else {
                name.first().is_some_and(|&b| is_tchar(b))
                    && !name.iter().any(|&b| matches!(b, b':' | b'\r' | b'\n'))
            };
            assert!(ok && !name.is_empty(), "field name is not a token: {f:?}");
            let v = f.value();
            assert!(!v.contains(&b'\n'), "LF in a field value: {f:?}");
            if strict {
                assert!(
                    v.iter()
                        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80),
                    "forbidden byte in a strict field value: {f:?}"
                );
                assert!(
                    !v.first().is_some_and(|&b| b == b' ' || b == b'\t')
                        && !v.last().is_some_and(|&b| b == b' ' || b == b'\t'),
                    "untrimmed field value: {f:?}"
                );
            }
        }
        if self.views {
            let _ = headers.node_view(false);
            let _ = headers.node_view(true);
        }
    }

    fn check_version(&self, v: Version) {
        if !self.knobs.cfg.lenient.version {
            assert!(
                matches!((v.major, v.minor), (0, 9) | (1, 0) | (1, 1) | (2, 0)),
                "version {v} accepted without version leniency"
            );
        }
    }

    fn check_request(&self, h: &RequestHead) {
        let m = h.method.as_bytes();
        assert!(
            !m.is_empty()
                && m.iter()
                    .all(|&b| b.is_ascii_uppercase() || b == b'-' || b == b'_'),
            "method {:?}",
            h.method
        );
        // A CONNECT target may be empty: `CONNECT \r\n\r\n` is an upgrade with url ""
        // in Node v20 (observed with the oracle); llhttp's authority state ends the
        // target at the first CR, LF or SP.
        assert!(!h.url().is_empty() || h.method.is_connect(), "empty url");
        if !self.knobs.cfg.lenient.any() {
            assert!(
                h.url().iter().all(|&b| (0x21..0x7f).contains(&b)),
                "strict url with a byte outside 0x21..0x7e: {:?}",
                h.url()
            );
        }
        self.check_version(h.version);
        self.check_fields(&h.headers);
        let connect = h.method.is_connect();
        if connect {
            assert!(
                h.info.upgrade,
                "CONNECT is always an upgrade candidate (PRS-27)"
            );
        }
        if h.info.upgrade {
            assert!(
                connect || (has_upgrade_field(&h.headers) && h.info.connection.upgrade),
                "upgrade candidate without Upgrade + Connection: upgrade (PRS-27)"
            );
        }
    }

    fn check_response(&self, h: &ResponseHead) {
        assert!(h.status <= 999, "status {}", h.status);
        self.check_version(h.version);
        self.check_fields(&h.headers);
        if h.info.upgrade {
            let ctx = self.knobs.context(self.finals);
            // Node's client treats every response to CONNECT as an upgrade (CLI-16).
            assert!(
                h.status == 101 || ctx.connect,
                "response upgrade on status {} without CONNECT (PRS-27)",
                h.status
            );
        }
    }
}

/// Whether a field is named `Upgrade`, ignoring case; with Node's lenient name quirk
/// (see `check_fields`) the name only has to start with it.
fn has_upgrade_field(headers: &Headers) -> bool {
    headers.iter().any(|(name, _)| {
        name.get(..7)
            .is_some_and(|n| n.eq_ignore_ascii_case(b"upgrade"))
    })
}

/// RFC 9110 tchar.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Drives a server connection machine with `data` (after the knob bytes) as the
/// client's bytes, checking that bad input never panics it and that what it writes
/// is always a well-formed response stream.
///
/// Knobs: byte 0 bits 0–5 turn on the listeners (check_continue, check_expectation,
/// upgrade, connect, client_error, timeout), bit 6 `httpAllowHalfOpen`, bit 7 a
/// pipelining bound of 2; byte 1 is the chunk size (1..=256) the stream arrives in;
/// byte 2 bits 0–1 choose when the handler answers (at `End`, at the head, or with
/// a `write` at the head and `end` at `End`); byte 3 is the virtual milliseconds
/// between chunks (times 100), so that the timers fire too.
pub fn server_conn(data: &[u8]) {
    use crate::server::{Listeners, ServerConfig, ServerEvent};
    use crate::testing::ServerPeer;
    use core::time::Duration;

    let mut k = [0u8; KNOB_BYTES];
    let n = data.len().min(KNOB_BYTES);
    k[..n].copy_from_slice(&data[..n]);
    let stream = &data[n..];
    let bit = |i: u8| k[0] & (1 << i) != 0;
    let cfg = ServerConfig {
        listeners: Listeners {
            check_continue: bit(0),
            check_expectation: bit(1),
            upgrade: bit(2),
            connect: bit(3),
            client_error: bit(4),
            timeout: bit(5),
        },
        http_allow_half_open: bit(6),
        max_pipelined: if bit(7) { 2 } else { 16 },
        headers_timeout: Some(Duration::from_millis(2000)),
        request_timeout: Duration::from_millis(5000),
        connections_checking_interval: Duration::from_millis(500),
        timeout: Duration::from_millis(3000),
        ..ServerConfig::default()
    };
    let chunk = 1 + usize::from(k[1]);
    let mode = k[2] & 3;
    let gap = Duration::from_millis(100 * u64::from(k[3]));
    // Only differences of instants matter, so any start will do.
    let start = std::time::Instant::now();
    let mut peer = ServerPeer::new(cfg, start);
    let answer = |peer: &mut ServerPeer, events: Vec<ServerEvent>| {
        for e in events {
            // A complete request stands for its end too.
            let (id, steps): (_, &[bool]) = match e {
                ServerEvent::Request {
                    id, complete: true, ..
                } => (id, &[false, true]),
                ServerEvent::Request { id, .. } => (id, &[false]),
                ServerEvent::End { id, .. } => (id, &[true]),
                _ => continue,
            };
            for &at_end in steps {
                let Some(mut res) = peer.conn.response(id) else {
                    break;
                };
                match (mode, at_end) {
                    (1, false) | (0 | 3, true) => {
                        let _ = res.end(Some(Bytes::from_static(b"ok")));
                    }
                    (2, false) => {
                        let _ = res.write(Bytes::from_static(b"part"));
                    }
                    (2, true) => {
                        let _ = res.end(None);
                    }
                    _ => {}
                }
            }
        }
    };
    for piece in stream.chunks(chunk) {
        peer.send(piece);
        let ev = peer.events();
        answer(&mut peer, ev);
        peer.pump();
        peer.advance(gap);
        let ev = peer.events();
        answer(&mut peer, ev);
        peer.pump();
    }
    peer.eof();
    for _ in 0..4 {
        let ev = peer.events();
        answer(&mut peer, ev);
        peer.pump();
    }
    peer.advance(Duration::from_secs(60));
    let ev = peer.events();
    answer(&mut peer, ev);
    peer.pump();
    check_response_stream(peer.wire());
}

/// What a server wrote must parse as responses (Node's client parser, lenient about
/// what a client would only see after an upgrade).
fn check_response_stream(wire: &[u8]) {
    let mut p = Parser::response(ParserConfig::default());
    p.feed(wire);
    p.feed_eof();
    loop {
        match p.poll() {
            Ok(Some(Event::Response(head)))
                if head.status == 101
                    || head.status == 200 && head.reason == "Connection Established" =>
            {
                return;
            }
            Ok(Some(_)) => {}
            Ok(None) => return,
            // SRV-12: a client error while a response is in progress closes the
            // connection with that response cut short.
            Err(e) if e.kind() == ErrorKind::InvalidEofState => return,
            Err(e) => panic!(
                "the server wrote a malformed response stream: {e} in {:?}",
                String::from_utf8_lossy(wire)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_decode() {
        let (k, rest) = Knobs::parse(&[0b1001_0101, 10, 0, 0b0110_0000, b'x']);
        assert_eq!(rest, b"x");
        assert!(k.take_leftover);
        assert_eq!(k.cfg.lenient, Lenient::node_insecure());
        assert_eq!(k.cfg.max_header_size, 64 + 40);
        assert_eq!(k.cfg.max_headers_count, 0);
        assert!(!k.context(0).head && !k.context(0).connect);
        assert!(k.context(1).connect);
        assert!(k.context(2).head);
        assert!(k.context(9).head);

        let (k, rest) = Knobs::parse(&[0b0010_1010, 3, 0b0000_0001, 0b10]);
        assert!(rest.is_empty());
        assert!(k.cfg.lenient.headers && k.cfg.lenient.spaces_after_chunk_size);
        assert!(!k.cfg.lenient.version);
        assert_eq!(k.cfg.max_header_size, 4);
        assert_eq!(k.cfg.max_headers_count, 4);
        assert!(!k.take_leftover);
    }

    #[test]
    fn cuts_are_inside_and_sorted() {
        for len in 0..64 {
            let input = vec![b'a'; len];
            let cuts = random_cuts(&input);
            assert!(cuts.windows(2).all(|w| w[0] < w[1]));
            assert!(cuts.iter().all(|&c| c > 0 && c < len));
        }
    }

    #[test]
    fn short_inputs_do_not_panic() {
        for (_, harness) in TARGETS {
            harness(b"");
            harness(b"\x00");
            harness(b"\x00\x00\x00\x00");
        }
    }
}

// ---------------------------------------------------------------------------------
// client_conn

/// The request body of the `POST` + `Expect: 100-continue` knob: unique enough to be
/// searched for on the wire.
const HELD_BODY: &[u8] = b"hold-me";

/// Whether [`client_conn`] checks that a kept exchange left nothing Node would have
/// acted on in the read that completed its response: a second complete head (Node
/// destroys the socket, CLI-17) or bytes that fail to parse (`'error'`, CLI-20).
const CHECK_SAME_READ_AFTER_KEEP: bool = true;

/// Drives a client connection machine with `data` (after the knob bytes) as the
/// server's bytes, checking that no input panics it and that the events it reports
/// follow Node's grammar (CLI-15 … CLI-24).
///
/// Knobs:
///
/// | byte | bits | meaning |
/// |---|---|---|
/// | 0 | 0–1 | the first request: 0 `GET`, 1 `HEAD`, 2 `CONNECT`, 3 `POST` with `Expect: 100-continue` whose body is written (and held) before any response byte |
/// | 0 | 2, 3 | an `'upgrade'`, a `'connect'` listener |
/// | 0 | 4 | `insecureHTTPParser: true` on the requests |
/// | 0 | 5 | after a `Keep`, a `GET` starts on the connection while bytes remain |
/// | 0 | 6–7 | at the cut: 0 EOF, 1 a socket error, 2 `destroy()`, 3 `abort()` |
/// | 1 | all | `maxHeaderSize`: 0 the default, else `32 + 4·b` |
/// | 2 | all | the cut: the stream ends after `⌊len·b/255⌋` bytes, then the action |
/// | 3 | 0–1 | virtual time passing at the time point: none, 500 ms, 1 s, 6 s |
/// | 3 | 2 | request `timeout` of 2 s (CLI-23) |
/// | 3 | 3 | `continue_timeout: None` (no 100-continue hold) |
/// | 3 | 4–7 | the time point: `⌊cut·b/15⌋` bytes into the stream |
///
/// The stream is fed in one read, cut at pseudo-random points, and (when short) one
/// byte at a time, with the time point and the cut forced as read boundaries in every
/// schedule; then EOF, then a minute of virtual time. Node parses the rest of the read
/// that completes a response and ignores later reads, so the schedules must agree on
/// the events up to and including the first `End` (the whole trace when there is
/// none), `Finish` aside (it follows the transport, not the reads). A run cut earlier
/// and ended by EOF must deliver a prefix of the body and of the upgrade leftover.
pub fn client_conn(data: &[u8]) {
    let (plan, stream) = ClientPlan::parse(data);
    let input = &stream[..plan.cut_at(stream.len())];
    let time_at = plan.time_at(input.len());
    let forced = [time_at, input.len()];

    let whole = ClientRun::drive(&plan, input, &forced, time_at, false);
    let cuts = merge_cuts(&random_cuts(input), &forced);
    let split = ClientRun::drive(&plan, input, &cuts, time_at, true);
    compare_client_traces(&whole, &split, &cuts);
    if input.len() > 1 && input.len() <= BYTEWISE_LIMIT {
        let every: Vec<usize> = (1..=input.len()).collect();
        let bytewise = ClientRun::drive(&plan, input, &every, time_at, true);
        compare_client_traces(&whole, &bytewise, &every);
    }

    // Prefix consistency: the stream cut earlier and ended by EOF.
    if !input.is_empty() {
        let y = (fnv64(input) % input.len() as u64) as usize;
        let eof_plan = ClientPlan { action: 0, ..plan };
        let t = time_at.min(y);
        let short = ClientRun::drive(&eof_plan, &input[..y], &[t, y], t, false);
        assert!(
            whole.body.starts_with(&short.body),
            "the body of a shorter stream is not a prefix\n short: {:?}\n whole: {:?}",
            short.body,
            whole.body
        );
        assert!(
            whole.leftover.starts_with(&short.leftover),
            "the upgrade leftover of a shorter stream is not a prefix"
        );
    }
}

/// The configuration chosen by the knob bytes of [`client_conn`].
#[derive(Debug, Clone, Copy)]
struct ClientPlan {
    method: u8,
    upgrade_listener: bool,
    connect_listener: bool,
    insecure: bool,
    reuse: bool,
    action: u8,
    max_header_size: Option<usize>,
    cut: u8,
    step: core::time::Duration,
    timeout: bool,
    hold: bool,
    time_point: u8,
}

impl ClientPlan {
    fn parse(data: &[u8]) -> (Self, &[u8]) {
        use core::time::Duration;
        let mut k = [0u8; KNOB_BYTES];
        let n = data.len().min(KNOB_BYTES);
        k[..n].copy_from_slice(&data[..n]);
        // A missing cut byte means "the whole stream".
        if n < 3 {
            k[2] = 255;
        }
        let plan = Self {
            method: k[0] & 3,
            upgrade_listener: k[0] & 0x04 != 0,
            connect_listener: k[0] & 0x08 != 0,
            insecure: k[0] & 0x10 != 0,
            reuse: k[0] & 0x20 != 0,
            action: k[0] >> 6,
            max_header_size: (k[1] != 0).then(|| 32 + 4 * usize::from(k[1])),
            cut: k[2],
            step: match k[3] & 3 {
                0 => Duration::ZERO,
                1 => Duration::from_millis(500),
                2 => Duration::from_secs(1),
                _ => Duration::from_secs(6),
            },
            timeout: k[3] & 0x04 != 0,
            hold: k[3] & 0x08 == 0,
            time_point: k[3] >> 4,
        };
        (plan, &data[n..])
    }

    fn cut_at(&self, len: usize) -> usize {
        len * usize::from(self.cut) / 255
    }

    fn time_at(&self, len: usize) -> usize {
        len * usize::from(self.time_point) / 15
    }

    fn method(&self, first: bool) -> &'static str {
        match (first, self.method) {
            (false, _) | (true, 0) => "GET",
            (true, 1) => "HEAD",
            (true, 2) => "CONNECT",
            _ => "POST",
        }
    }

    fn request(&self, first: bool) -> crate::outgoing::ClientRequest {
        use crate::outgoing::{ClientRequest, HeaderValue, RequestHeaders, RequestOptions};
        let method = self.method(first);
        let headers = if method == "POST" {
            vec![("Expect".to_owned(), HeaderValue::from("100-continue"))]
        } else {
            Vec::new()
        };
        let req = ClientRequest::new(RequestOptions {
            method: Some(method.into()),
            path: Some(
                if method == "CONNECT" {
                    "example.com:443"
                } else {
                    "/"
                }
                .into(),
            ),
            hostname: Some("127.0.0.1".into()),
            port: Some(8080),
            headers: RequestHeaders::Object(headers),
            timeout: self.timeout.then(|| core::time::Duration::from_secs(2)),
            max_header_size: self.max_header_size,
            insecure_http_parser: self.insecure.then_some(true),
            ..RequestOptions::default()
        });
        req.expect("the harness builds valid requests")
    }
}

/// Sorted, distinct cut points: `a` and `b` together.
fn merge_cuts(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut v: Vec<usize> = a.iter().chain(b).copied().collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn fnv64(input: &[u8]) -> u64 {
    input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What one exchange reported so far.
#[derive(Debug, Default)]
struct ExTrack {
    method: &'static str,
    continues: u32,
    informations: u32,
    response: Option<Box<ResponseHead>>,
    data: u64,
    end: bool,
    finish: u32,
    errors: u32,
    aborts: u32,
    aborted: bool,
    upgraded: bool,
    timeouts: u32,
    closes: u32,
    keep: bool,
    /// A final response came first while the body was held.
    refused: bool,
    /// `abort()` was called on this exchange and returned true.
    abort_called: bool,
    /// The `'abort'` came before any response and any `'error'`: a `socket hang up`
    /// must follow it before `'close'` (CLI-21).
    hang_up_due: bool,
}

/// One run of [`client_conn`] under one read schedule.
struct ClientRun<'a> {
    plan: &'a ClientPlan,
    input: &'a [u8],
    conn: crate::client::ClientConn,
    start: std::time::Instant,
    now: std::time::Instant,
    fed: usize,
    wire: Vec<u8>,
    exchanges: Vec<ExTrack>,
    /// The exchange whose `Close` has not come yet.
    current: Option<usize>,
    /// A `Continue` must be followed by `Information(100)`.
    want_info_100: bool,
    /// An `Upgrade` must be followed by `Close` with `Detached`.
    want_detached: bool,
    poisoned: bool,
    body_cursor: usize,
    /// Normalized events (see [`normalize`]).
    trace: Vec<crate::client::ClientEvent>,
    /// Body bytes of the first exchange.
    body: Vec<u8>,
    /// The first exchange's upgrade leftover.
    leftover: Vec<u8>,
    /// Index in `trace` just after the first `End`.
    first_end: Option<usize>,
    /// Bytes fed when the first exchange's `End` came.
    first_end_fed: usize,
    recv_buf: bool,
    reads: usize,
}

/// The result of one [`ClientRun`].
struct ClientTrace {
    trace: Vec<crate::client::ClientEvent>,
    first_end: Option<usize>,
    body: Vec<u8>,
    leftover: Vec<u8>,
}

impl<'a> ClientRun<'a> {
    fn drive(
        plan: &'a ClientPlan,
        input: &'a [u8],
        cuts: &[usize],
        time_at: usize,
        recv_buf: bool,
    ) -> ClientTrace {
        use crate::client::{ClientConfig, ClientConn};
        use core::time::Duration;

        let start = std::time::Instant::now();
        let cfg = ClientConfig {
            continue_timeout: if plan.hold {
                ClientConfig::default().continue_timeout
            } else {
                None
            },
            ..ClientConfig::default()
        };
        let mut run = ClientRun {
            plan,
            input,
            conn: ClientConn::with_config(cfg, start),
            start,
            now: start,
            fed: 0,
            wire: Vec::new(),
            exchanges: Vec::new(),
            current: None,
            want_info_100: false,
            want_detached: false,
            poisoned: false,
            body_cursor: 0,
            trace: Vec::new(),
            body: Vec::new(),
            leftover: Vec::new(),
            first_end: None,
            first_end_fed: 0,
            recv_buf,
            reads: 0,
        };
        run.start_exchange(true);
        if run.exchanges[0].method == "POST" {
            if let Some(mut r) = run.conn.request() {
                let _ = r.write(Bytes::from_static(HELD_BODY));
                let _ = r.end(None);
            }
            run.settle();
            assert_eq!(
                contains(&run.wire, HELD_BODY),
                !plan.hold,
                "the 100-continue hold (on: {}) and the wire disagree",
                plan.hold
            );
        }

        let mut from = 0;
        let mut timed = false;
        for &to in cuts.iter().filter(|&&c| c <= input.len()) {
            if !timed && from >= time_at {
                timed = true;
                run.advance(plan.step);
            }
            if to > from {
                run.read(&input[from..to]);
                from = to;
            }
        }
        if !timed {
            run.advance(plan.step);
        }
        assert_eq!(from, input.len(), "every byte is fed");

        // The action at the cut.
        match plan.action {
            0 => run.conn.recv_eof(),
            1 => run.conn.socket_error(crate::client::ClientError::io(
                "ECONNRESET",
                "read ECONNRESET",
            )),
            2 => run.conn.destroy(None),
            _ => {
                if run.conn.abort() {
                    let i = run
                        .current
                        .expect("abort() is true only for a running request");
                    run.exchanges[i].abort_called = true;
                }
            }
        }
        run.settle();
        run.conn.recv_eof();
        run.settle();
        assert!(
            run.current.is_none(),
            "an exchange is still open after the end of input"
        );
        run.advance(Duration::from_secs(60));
        run.conn.destroy(None);
        run.settle();
        run.finish()
    }

    fn start_exchange(&mut self, first: bool) {
        use crate::client::Assignment;
        let req = self.plan.request(first);
        let method = self.plan.method(first);
        let assignment = Assignment {
            reused: !first,
            socket_timeout: None,
            upgrade_listener: self.plan.upgrade_listener,
            connect_listener: self.plan.connect_listener,
        };
        let now = self.now;
        assert!(
            self.conn.start(now, req, assignment).is_ok(),
            "an idle connection takes a request"
        );
        self.exchanges.push(ExTrack {
            method,
            ..ExTrack::default()
        });
        self.current = Some(self.exchanges.len() - 1);
        if method != "POST" {
            if let Some(mut r) = self.conn.request() {
                let _ = r.end(None);
            }
        }
        self.settle();
    }

    /// One read of the server's bytes, then whatever the application does next.
    fn read(&mut self, piece: &[u8]) {
        self.reads += 1;
        let via_buf = self.recv_buf && self.reads % 2 == 0;
        let mut done = false;
        if via_buf {
            if let Some(buf) = self.conn.recv_buf() {
                buf.extend_from_slice(piece);
                self.fed += piece.len();
                let now = self.now;
                self.conn.received(now, piece.len());
                done = true;
            }
        }
        if !done {
            self.fed += piece.len();
            let now = self.now;
            self.conn.feed(now, piece);
        }
        self.settle();
        if self.plan.reuse && self.conn.is_idle() && self.current.is_none() && !self.poisoned {
            self.start_exchange(false);
        }
    }

    /// Moves the virtual clock by `d`, firing every deadline on the way.
    fn advance(&mut self, d: core::time::Duration) {
        let end = self.now + d;
        for _ in 0..64 {
            let Some(t) = self.conn.poll_timeout().filter(|t| *t <= end) else {
                break;
            };
            self.now = self.now.max(t);
            let now = self.now;
            self.conn.handle_timeout(now);
            self.settle();
            assert!(
                self.conn.poll_timeout().is_none_or(|next| next > now),
                "handle_timeout({now:?}) left a deadline due"
            );
        }
        self.now = end;
        // The hold's deadline passed: a body still held went out.
        if let Some(i) = self.current {
            let ex = &self.exchanges[i];
            if ex.method == "POST"
                && self.plan.hold
                && ex.response.is_none()
                && ex.continues == 0
                && !ex.upgraded
                && self.now >= self.start + core::time::Duration::from_secs(1)
            {
                assert!(
                    contains(&self.wire, HELD_BODY),
                    "the held body was not released at the deadline"
                );
            }
        }
    }

    /// Writes what the machine wants written and polls every event.
    fn settle(&mut self) {
        use crate::client::Close;
        for _ in 0..8 {
            let now = self.now;
            if self.conn.wants_close() == Some(Close::Now) {
                assert!(
                    self.conn.outgoing().is_empty(),
                    "bytes queued on a connection closing now"
                );
            }
            let out = self.conn.outgoing();
            let n = out.len();
            for seg in out.iter() {
                self.wire.extend_from_slice(seg);
            }
            self.conn.transmitted(now, n);
            let mut any = false;
            while let Some(ev) = self.conn.poll_event() {
                any = true;
                self.on_event(ev);
            }
            if !any && n == 0 {
                break;
            }
        }
        // A `100` released the held body: it is on the wire unless the exchange ended.
        if let Some(i) = self.current {
            let x = &self.exchanges[i];
            if x.method == "POST" && x.continues > 0 {
                assert!(
                    contains(&self.wire, HELD_BODY),
                    "a 100 Continue did not release the held body"
                );
            }
        }
    }

    fn on_event(&mut self, ev: crate::client::ClientEvent) {
        use crate::client::{ClientError, ClientEvent, Disposition};
        assert!(
            self.trace.len() <= 8 * self.input.len() + 64,
            "too many events for {} input bytes",
            self.input.len()
        );
        if self.want_info_100 {
            assert!(
                matches!(&ev, ClientEvent::Information(h) if h.status == 100),
                "Continue not followed by Information(100): {ev:?}"
            );
            self.want_info_100 = false;
        }
        if self.want_detached {
            assert!(
                matches!(
                    &ev,
                    ClientEvent::Close(end) if end.disposition == Disposition::Detached
                ),
                "Upgrade not followed by Close(Detached): {ev:?}"
            );
            self.want_detached = false;
        }
        if let ClientEvent::Poisoned = ev {
            assert!(
                self.current.is_none() && !self.poisoned,
                "Poisoned while an exchange runs, or twice"
            );
            assert!(
                self.exchanges.last().is_some_and(|x| x.keep),
                "Poisoned on a connection that was not kept"
            );
            self.poisoned = true;
            assert!(self.conn.is_closed(), "a poisoned connection stays open");
            self.record(ev);
            return;
        }
        let Some(i) = self.current else {
            panic!("an event outside any exchange: {ev:?}");
        };
        let first = i == 0;
        let x = &mut self.exchanges[i];
        match &ev {
            ClientEvent::Continue => {
                assert!(x.response.is_none(), "Continue after the response");
                x.continues += 1;
                self.want_info_100 = true;
            }
            ClientEvent::Information(h) => {
                assert!(x.response.is_none(), "Information after the response");
                assert!(
                    (100..200).contains(&h.status) && h.status != 101,
                    "Information with status {}",
                    h.status
                );
                x.informations += 1;
            }
            ClientEvent::Response(h) => {
                assert!(x.response.is_none(), "a second Response");
                assert!(!x.upgraded, "Response after Upgrade");
                assert!(
                    !(100..200).contains(&h.status) || h.status == 101,
                    "an interim status as the final response: {}",
                    h.status
                );
                assert!(
                    x.method != "CONNECT",
                    "a response to CONNECT is an upgrade (CLI-16), not a Response"
                );
                if x.method == "POST" && self.plan.hold && x.continues == 0 {
                    let deadline = self.start + core::time::Duration::from_secs(1);
                    if self.now < deadline {
                        x.refused = true;
                    }
                }
                x.response = Some(h.clone());
            }
            ClientEvent::Data(d) => {
                assert!(!d.is_empty(), "an empty Data");
                let Some(h) = &x.response else {
                    panic!("Data before the Response");
                };
                assert!(!x.end, "Data after End");
                assert!(x.method != "HEAD", "Data in a response to HEAD (PRS-17)");
                assert!(
                    !matches!(h.status, 204 | 304),
                    "Data in a {} response",
                    h.status
                );
                x.data += d.len() as u64;
                if let BodyKind::Length(n) = h.info.body {
                    assert!(x.data <= n, "more than Content-Length {n} bytes");
                }
                let Some(at) = memchr::memmem::find(&self.input[self.body_cursor..self.fed], d)
                else {
                    panic!("Data is not a slice of the input after the previous Data: {d:?}");
                };
                self.body_cursor += at + d.len();
                if first {
                    self.body.extend_from_slice(d);
                }
            }
            ClientEvent::End { trailers } => {
                let Some(h) = &x.response else {
                    panic!("End before the Response");
                };
                assert!(!x.end, "End twice");
                if let BodyKind::Length(n) = h.info.body {
                    if x.method != "HEAD" {
                        assert_eq!(x.data, n, "End before Content-Length bytes");
                    }
                }
                if let Some(t) = trailers {
                    assert!(!t.is_empty(), "empty trailers are None");
                    assert_eq!(h.info.body, BodyKind::Chunked, "trailers without chunked");
                }
                x.end = true;
            }
            ClientEvent::Finish => {
                assert_eq!(x.finish, 0, "Finish twice");
                x.finish += 1;
            }
            ClientEvent::Upgrade {
                head,
                leftover,
                connect,
            } => {
                assert!(
                    x.response.is_none() && !x.upgraded,
                    "Upgrade after a response"
                );
                assert_eq!(*connect, x.method == "CONNECT", "connect flag");
                assert!(
                    if *connect {
                        self.plan.connect_listener
                    } else {
                        self.plan.upgrade_listener && head.status == 101
                    },
                    "Upgrade without a listener, or a non-101 upgrade"
                );
                // The leftover is what followed the head in the input.
                assert!(
                    self.input[..self.fed].ends_with(leftover),
                    "the leftover is not the end of what was fed"
                );
                x.upgraded = true;
                self.want_detached = true;
                if first {
                    self.leftover = leftover.to_vec();
                }
            }
            ClientEvent::Timeout => {
                assert!(self.plan.timeout, "Timeout without a timeout");
                assert!(!x.end, "Timeout after the response ended (CLI-23)");
                x.timeouts += 1;
            }
            ClientEvent::Abort => {
                assert!(
                    x.abort_called || self.plan.action == 3,
                    "Abort without abort()"
                );
                assert_eq!(x.aborts, 0, "Abort twice");
                x.aborts += 1;
                x.hang_up_due = x.response.is_none() && x.errors == 0;
            }
            ClientEvent::Aborted { .. } => {
                assert!(x.response.is_some(), "Aborted before the Response");
                assert!(!x.end, "Aborted after End");
                assert!(!x.aborted, "Aborted twice");
                x.aborted = true;
            }
            ClientEvent::Error(e) => {
                assert_eq!(x.errors, 0, "a second Error (CLI-20)");
                // CLI-21: after `abort()` the only `'error'` is `socket hang up`, when
                // no response had arrived (Node v20 on a connected socket).
                assert!(
                    x.aborts == 0 || (x.response.is_none() && e == &ClientError::HangUp),
                    "Error after Abort other than a hang-up before the response (CLI-21): {e:?}"
                );
                x.errors += 1;
            }
            ClientEvent::Close(end) => {
                assert_eq!(x.closes, 0, "Close twice");
                assert!(
                    !x.hang_up_due || x.errors == 1,
                    "abort() before the response closed without 'error' socket hang up (CLI-21)"
                );
                x.closes += 1;
                match end.disposition {
                    Disposition::Keep { .. } => {
                        assert!(x.end && x.finish == 1, "Keep before End and Finish");
                        assert!(x.errors == 0 && !x.aborted, "Keep after a failure");
                        assert!(end.failure.is_none(), "Keep with a failure");
                        assert!(!x.refused, "Keep after the held body was dropped");
                        assert!(!x.upgraded, "Keep after an upgrade");
                        x.keep = true;
                    }
                    Disposition::Detached => assert!(x.upgraded, "Detached without Upgrade"),
                    Disposition::Close => {
                        assert!(!x.upgraded, "Close instead of Detached after Upgrade");
                    }
                }
                if x.errors > 0 || x.aborted {
                    assert!(end.failure.is_some(), "a failed exchange without failure");
                }
                if x.refused {
                    assert!(
                        !contains(&self.wire, HELD_BODY),
                        "the held body went out after a final response came first"
                    );
                }
                let sent: u64 = self.wire.len() as u64;
                assert!(end.request_bytes <= sent, "request_bytes beyond the wire");
                assert!(
                    end.response_bytes <= self.fed as u64,
                    "response_bytes beyond input"
                );
                self.current = None;
            }
            ClientEvent::Poisoned => unreachable!(),
        }
        let keep = matches!(&ev, ClientEvent::Close(e) if matches!(e.disposition, Disposition::Keep { .. }));
        let closed = matches!(&ev, ClientEvent::Close(e) if e.disposition == Disposition::Close);
        let detached =
            matches!(&ev, ClientEvent::Close(e) if e.disposition == Disposition::Detached);
        let end = matches!(&ev, ClientEvent::End { .. });
        self.record(ev);
        if end && first && self.first_end.is_none() {
            self.first_end = Some(self.trace.len());
            self.first_end_fed = self.fed;
        }
        if keep {
            assert!(self.conn.is_idle(), "Keep, but the connection is not idle");
            if first && CHECK_SAME_READ_AFTER_KEEP {
                assert!(
                    !rest_of_read_breaks_keep(self.plan, &self.input[..self.first_end_fed]),
                    "Keep, but the read that completed the response goes on with a second \
                     head or a parse error (CLI-17, CLI-20)"
                );
            }
        }
        if closed {
            assert!(self.conn.is_closed(), "Close, but the connection is open");
        }
        if detached {
            assert!(
                !self.conn.is_idle() && !self.conn.is_closed(),
                "Detached, but the connection is idle or closed"
            );
        }
    }

    /// Appends the normalized event: `Finish` dropped, adjacent `Data` merged, the
    /// read-dependent parts of `Upgrade` and `Close` cleared.
    fn record(&mut self, ev: crate::client::ClientEvent) {
        use crate::client::ClientEvent;
        let ev = match ev {
            ClientEvent::Finish => return,
            ClientEvent::Data(d) => {
                if let Some(ClientEvent::Data(prev)) = self.trace.last_mut() {
                    let mut v = prev.to_vec();
                    v.extend_from_slice(&d);
                    *prev = Bytes::from(v);
                    return;
                }
                ClientEvent::Data(d)
            }
            ClientEvent::Upgrade { head, connect, .. } => ClientEvent::Upgrade {
                head,
                leftover: Bytes::new(),
                connect,
            },
            ClientEvent::Close(mut end) => {
                end.request_bytes = 0;
                end.response_bytes = 0;
                if let Some(f) = end.failure.as_mut() {
                    f.response_bytes_received = false;
                }
                ClientEvent::Close(end)
            }
            other => other,
        };
        self.trace.push(ev);
    }

    fn finish(self) -> ClientTrace {
        for (i, x) in self.exchanges.iter().enumerate() {
            assert_eq!(x.closes, 1, "exchange {i} closed {} times", x.closes);
        }
        ClientTrace {
            trace: self.trace,
            first_end: self.first_end,
            body: self.body,
            leftover: self.leftover,
        }
    }
}

/// Parses `read` (every byte fed up to the end of the read that completed the first
/// response) the way the machine's parser does, and says whether, after the first
/// final response, a second head completes or parsing fails.
fn rest_of_read_breaks_keep(plan: &ClientPlan, read: &[u8]) -> bool {
    let method = plan.method(true);
    let mut cfg = if plan.insecure {
        ParserConfig::insecure()
    } else {
        ParserConfig::default()
    };
    cfg = cfg.with_max_header_size(plan.max_header_size.unwrap_or(0));
    let mut p = Parser::response(cfg);
    p.set_response_context(ResponseContext {
        head: method == "HEAD",
        connect: method == "CONNECT",
    });
    p.feed(read);
    let mut final_seen = false;
    let mut final_ended = false;
    loop {
        match p.poll() {
            Ok(Some(Event::Response(h))) => {
                if final_ended {
                    return true;
                }
                if !(100..200).contains(&h.status) || h.status == 101 {
                    final_seen = true;
                }
            }
            Ok(Some(Event::End(_))) => final_ended |= final_seen,
            Ok(Some(_)) => {}
            Ok(None) => return false,
            Err(_) => return final_ended,
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// The schedules agree up to and including the first `End`, or everywhere when
/// there is none.
fn compare_client_traces(whole: &ClientTrace, split: &ClientTrace, cuts: &[usize]) {
    assert_eq!(
        whole.first_end.is_some(),
        split.first_end.is_some(),
        "End in one schedule only (cuts {cuts:?})\n whole: {:?}\n split: {:?}",
        whole.trace,
        split.trace
    );
    let (a, b) = match (whole.first_end, split.first_end) {
        (Some(x), Some(y)) => (&whole.trace[..x], &split.trace[..y]),
        _ => (&whole.trace[..], &split.trace[..]),
    };
    assert!(
        a == b,
        "the read schedule changed the events (cuts {cuts:?})\n whole: {a:?}\n split: {b:?}"
    );
    assert!(
        whole.leftover.starts_with(&split.leftover),
        "a split read's upgrade leftover is not a prefix of the whole read's"
    );
}
