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
                self.push(Step::End(Box::new(trailers)));
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
        assert!(!h.url.is_empty() || h.method.is_connect(), "empty url");
        if !self.knobs.cfg.lenient.any() {
            assert!(
                h.url.iter().all(|&b| (0x21..0x7f).contains(&b)),
                "strict url with a byte outside 0x21..0x7e: {:?}",
                h.url
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
            let (id, at_end) = match e {
                ServerEvent::Request { id, .. } => (id, false),
                ServerEvent::End { id, .. } => (id, true),
                _ => continue,
            };
            let Some(mut res) = peer.conn.response(id) else {
                continue;
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
