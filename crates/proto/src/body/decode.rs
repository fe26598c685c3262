//! Body decoders: the incremental chunked decoder (PRS-19) and the Content-Length
//! counter.
//!
//! # The chunked decoder
//!
//! [`ChunkedDecoder`] is a byte-level state machine that follows llhttp 9.3.1 (the
//! parser inside Node v20) transition for transition, so that every input is accepted
//! or rejected exactly as Node does, with the same error code, reason and offset.
//! The grammar it implements, with llhttp's quirks:
//!
//! * chunk size: one or more hex digits, either case. The value is accumulated in a
//!   `u64`; the digit that makes it overflow fails with `Chunk size overflow` (so
//!   `FFFFFFFFFFFFFFFF` is accepted and leading zeros never overflow).
//! * after the size: SP or HTAB fail (lenient `spaces_after_chunk_size`: skipped),
//!   `;` starts the extensions, CR ends the line, a bare LF fails (lenient
//!   `optional_cr_before_lf`: taken as the CR).
//! * extensions: `;name[=value]`, repeated. A name is a (possibly empty) run of
//!   tchars; a value is a run of tchars in which a `"` opens a quoted string with
//!   backslash escapes, after whose closing `"` only `;` or the line end may follow.
//!   No whitespace is allowed around `;` or `=` (only lenient
//!   `spaces_after_chunk_size` lets spaces sit between the size and the first `;`).
//!   Extensions are checked, counted against the budget and discarded.
//! * after the CR of the size line: LF (lenient `optional_lf_after_cr`: any other
//!   byte ends the line without being consumed).
//! * after the data: CRLF. A CR followed by anything else fails on that byte; a bare
//!   LF fails (lenient `optional_cr_before_lf`: accepted); anything else fails
//!   (lenient `optional_crlf_after_chunk`: the byte starts the next size line).
//!
//! # Error offsets
//!
//! Offsets are absolute stream offsets (`base` plus the index in `buf`), chosen to be
//! llhttp's offset for the same input delivered in one piece. They never depend on how
//! the input was split, with one documented exception of scope: the
//! chunk-extension budget (below).
//!
//! # The chunk-extension budget (PRS-19, CONST-5)
//!
//! Node counts the bytes of every extension name and value span (a quoted value with
//! its quotes and backslashes) of one chunk-size line and fails with
//! `HPE_CHUNK_EXTENSIONS_OVERFLOW` once the sum exceeds the budget (16384 by default:
//! 16384 bytes pass, 16385 fail). Node only checks when a span ends, so for input that
//! arrives in one piece the error is reported where the span that crossed the budget
//! ends: just past the byte that ended it, or at the LF when a bare LF ended it. We
//! report at that same offset. Node also checks at the end of every socket read, so a
//! span that never ends is still stopped; to stay split-invariant we instead stop a
//! span that is still open [`OVERFLOW_REPORT_WINDOW`] bytes after the crossing, at that
//! byte's offset.

use crate::chars::is_tchar;
use crate::config::{Lenient, ParserConfig};
use crate::error::{Error, ErrorKind};

/// How far an extension span may run past the budget before the overflow is reported
/// without waiting for the span to end: 64 KiB, the largest socket read Node's
/// runtime performs, so Node would have reported the error by then too.
pub(crate) const OVERFLOW_REPORT_WINDOW: u64 = 64 * 1024;

/// What one call to [`ChunkedDecoder::decode`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Body data at `buf[start..start + len]` (`len > 0`). The bytes consumed include
    /// any framing before the data and end with the data.
    Data { start: usize, len: usize },
    /// All of `buf` was consumed (framing bytes only); more input is needed.
    NeedMore,
    /// The zero-size chunk's line was consumed: a trailer section follows, which the
    /// caller parses with the field scanner. Later calls return `Last` again and
    /// consume nothing.
    Last,
}

/// Where the decoder is inside the chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first digit of a chunk size.
    SizeStart,
    /// Inside the chunk-size digits.
    Size,
    /// After SP/HTAB following the size (lenient `spaces_after_chunk_size` only).
    SizeSpaces,
    /// Just after a `;`.
    ExtStart,
    /// Inside an extension name.
    ExtName,
    /// Inside an unquoted extension value (just after `=` included).
    ExtValue,
    /// Inside a quoted extension value.
    ExtQuoted,
    /// After a backslash inside a quoted value.
    ExtQuotedPair,
    /// After the closing quote of a quoted value.
    ExtQuotedDone,
    /// After the CR of the size line (or a lenient bare LF): expecting LF.
    SizeLf,
    /// Inside chunk data; `ChunkedDecoder::remaining` bytes to go.
    Data,
    /// After chunk data: expecting CRLF.
    DataEnd,
    /// After chunk data and a CR: expecting LF.
    DataCr,
    /// The last-chunk line was consumed.
    Done,
}

/// What the test hook records (chunk sizes and extension spans, absolute offsets).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trace {
    /// A chunk-size line was complete; the chunk's size.
    ChunkHeader(u64),
    /// A non-empty extension name span `start..end`.
    ExtName(u64, u64),
    /// A non-empty extension value span `start..end` (quotes included).
    ExtValue(u64, u64),
}

/// The chunked body decoder: a byte-level state machine (PRS-19).
///
/// Feed it the unconsumed input again and again; it never looks at a byte twice and
/// never copies data: data comes back as ranges of the caller's buffer.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: State,
    /// The chunk size being parsed, then the data bytes left in the current chunk.
    remaining: u64,
    /// Extension bytes counted on the current size line.
    ext_used: u64,
    /// The budget for `ext_used` (PRS-19).
    ext_max: u64,
    /// Offset of the extension byte that crossed the budget, while its span is open.
    overflow_at: Option<u64>,
    lenient: Lenient,
    /// The error returned, which every later call returns again.
    error: Option<Error>,
    #[cfg(test)]
    span_start: u64,
    #[cfg(test)]
    pub(crate) trace: Vec<Trace>,
}

/// `qdtext`: HTAB, SP, `!`, `#`–`[`, `]`–`~` and obs-text.
const fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | b'!' | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

/// What may follow a backslash in a quoted value: HTAB, SP, VCHAR, obs-text.
const fn is_quoted_pair(b: u8) -> bool {
    matches!(b, b'\t' | 0x20..=0x7e | 0x80..=0xff)
}

const fn hex_value(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some((b - b'0') as u64),
        b'a'..=b'f' => Some((b - b'a' + 10) as u64),
        b'A'..=b'F' => Some((b - b'A' + 10) as u64),
        _ => None,
    }
}

const INVALID_SIZE: &str = "Invalid character in chunk size";

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub(crate) fn new(cfg: &ParserConfig) -> Self {
        Self {
            state: State::SizeStart,
            remaining: 0,
            ext_used: 0,
            ext_max: u64::try_from(cfg.max_chunk_extensions).unwrap_or(u64::MAX),
            overflow_at: None,
            lenient: cfg.lenient,
            error: None,
            #[cfg(test)]
            span_start: 0,
            #[cfg(test)]
            trace: Vec::new(),
        }
    }

    #[cfg(test)]
    /// Whether the last-chunk line has been consumed.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `buf`, the unconsumed input, which starts at stream offset `base`
    /// (for error offsets). Returns how many bytes of `buf` were consumed (for
    /// `Chunk::Data`, up to and including the data) and what was found.
    ///
    /// After an error every call returns the same error.
    pub(crate) fn decode(&mut self, buf: &[u8], base: u64) -> Result<(usize, Chunk), Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut i = 0;
        while i < buf.len() {
            match self.state {
                State::Data => {
                    // Fast path: the whole available part of the chunk in one piece.
                    let avail = buf.len() - i;
                    let len = match usize::try_from(self.remaining) {
                        Ok(r) if r < avail => r,
                        _ => avail,
                    };
                    self.remaining -= len as u64;
                    if self.remaining == 0 {
                        self.state = State::DataEnd;
                    }
                    return Ok((i + len, Chunk::Data { start: i, len }));
                }
                State::Done => return Ok((i, Chunk::Last)),
                _ => {}
            }
            let b = buf[i];
            let off = base + i as u64;
            match self.step(b, off)? {
                Step::Consume => i += 1,
                Step::Stay => {}
                Step::HeaderDone { consumed } => {
                    if consumed {
                        i += 1;
                    }
                    if self.header_done() {
                        return Ok((i, Chunk::Last));
                    }
                }
            }
        }
        if self.state == State::Done {
            return Ok((i, Chunk::Last));
        }
        Ok((i, Chunk::NeedMore))
    }

    /// The size line is complete: starts the data, or ends the body. Returns whether
    /// this was the last chunk.
    fn header_done(&mut self) -> bool {
        #[cfg(test)]
        self.trace.push(Trace::ChunkHeader(self.remaining));
        self.ext_used = 0;
        self.overflow_at = None;
        if self.remaining == 0 {
            self.state = State::Done;
            true
        } else {
            self.state = State::Data;
            false
        }
    }

    /// Records an error and returns it.
    fn fail(&mut self, kind: ErrorKind, reason: &'static str, offset: u64) -> Error {
        let e = Error::new(kind, reason, offset);
        self.error = Some(e.clone());
        e
    }

    /// Counts one byte of an extension span at `off` against the budget.
    fn count_ext(&mut self, off: u64) -> Result<(), Error> {
        self.ext_used += 1;
        match self.overflow_at {
            None if self.ext_used > self.ext_max => {
                self.overflow_at = Some(off);
                Ok(())
            }
            Some(at) if off - at >= OVERFLOW_REPORT_WINDOW => Err(self.overflow(off)),
            _ => Ok(()),
        }
    }

    fn overflow(&mut self, off: u64) -> Error {
        self.fail(
            ErrorKind::ChunkExtensionsOverflow,
            "Chunk extensions overflow",
            off,
        )
    }

    /// An extension span ends; `report` is where Node reports a budget overflow.
    fn end_span(&mut self, report: u64, _end: u64, _value: bool) -> Result<(), Error> {
        #[cfg(test)]
        if _end > self.span_start {
            self.trace.push(if _value {
                Trace::ExtValue(self.span_start, _end)
            } else {
                Trace::ExtName(self.span_start, _end)
            });
        }
        if self.overflow_at.is_some() {
            return Err(self.overflow(report));
        }
        Ok(())
    }

    fn start_span(&mut self, _off: u64) {
        #[cfg(test)]
        {
            self.span_start = _off;
        }
    }

    /// One transition on byte `b` at stream offset `off`.
    fn step(&mut self, b: u8, off: u64) -> Result<Step, Error> {
        use ErrorKind::{CrExpected, InvalidChunkSize, Strict};
        let lenient = self.lenient;
        let next = off + 1;
        match self.state {
            State::SizeStart => match hex_value(b) {
                Some(d) => {
                    self.remaining = d;
                    self.state = State::Size;
                    Ok(Step::Consume)
                }
                None => Err(self.fail(InvalidChunkSize, INVALID_SIZE, off)),
            },
            State::Size => match hex_value(b) {
                Some(d) => match self
                    .remaining
                    .checked_mul(16)
                    .and_then(|v| v.checked_add(d))
                {
                    Some(v) => {
                        self.remaining = v;
                        Ok(Step::Consume)
                    }
                    None => Err(self.fail(InvalidChunkSize, "Chunk size overflow", next)),
                },
                None => self.after_size(b, off),
            },
            State::SizeSpaces => self.after_size(b, off),
            State::ExtStart => match b {
                b' ' | b'\r' => {
                    Err(self.fail(Strict, "Invalid character in chunk extensions", next))
                }
                _ => {
                    self.start_span(off);
                    self.state = State::ExtName;
                    Ok(Step::Stay)
                }
            },
            State::ExtName => {
                if is_tchar(b) {
                    self.count_ext(off)?;
                    return Ok(Step::Consume);
                }
                self.end_ext_token(b, off, next, false)
            }
            State::ExtValue => {
                if b == b'"' {
                    self.count_ext(off)?;
                    self.state = State::ExtQuoted;
                    return Ok(Step::Consume);
                }
                if is_tchar(b) {
                    self.count_ext(off)?;
                    return Ok(Step::Consume);
                }
                self.end_ext_token(b, off, next, true)
            }
            State::ExtQuoted => {
                if is_qdtext(b) {
                    self.count_ext(off)?;
                    return Ok(Step::Consume);
                }
                match b {
                    b'"' => {
                        self.count_ext(off)?;
                        self.end_span(next, next, true)?;
                        self.state = State::ExtQuotedDone;
                        Ok(Step::Consume)
                    }
                    b'\\' => {
                        self.count_ext(off)?;
                        self.state = State::ExtQuotedPair;
                        Ok(Step::Consume)
                    }
                    _ => {
                        self.end_span(next, off, true)?;
                        Err(self.fail(
                            Strict,
                            "Invalid character in chunk extensions quoted value",
                            next,
                        ))
                    }
                }
            }
            State::ExtQuotedPair => {
                if is_quoted_pair(b) {
                    self.count_ext(off)?;
                    self.state = State::ExtQuoted;
                    return Ok(Step::Consume);
                }
                self.end_span(next, off, true)?;
                Err(self.fail(
                    Strict,
                    "Invalid quoted-pair in chunk extensions quoted value",
                    next,
                ))
            }
            State::ExtQuotedDone => match b {
                b';' => {
                    self.state = State::ExtStart;
                    Ok(Step::Consume)
                }
                b'\r' => {
                    self.state = State::SizeLf;
                    Ok(Step::Consume)
                }
                b'\n' => {
                    self.bare_lf_in_line(off, "Missing expected CR after chunk extension value")
                }
                _ => Err(self.fail(
                    Strict,
                    "Invalid character in chunk extensions quote value",
                    off,
                )),
            },
            State::SizeLf => {
                if b == b'\n' {
                    Ok(Step::HeaderDone { consumed: true })
                } else if lenient.optional_lf_after_cr {
                    Ok(Step::HeaderDone { consumed: false })
                } else {
                    Err(self.fail(Strict, "Expected LF after chunk size", off))
                }
            }
            State::DataEnd => match b {
                b'\r' => {
                    self.state = State::DataCr;
                    Ok(Step::Consume)
                }
                b'\n' if lenient.optional_cr_before_lf => {
                    self.state = State::SizeStart;
                    Ok(Step::Consume)
                }
                b'\n' => Err(self.fail(CrExpected, "Missing expected CR after chunk data", next)),
                _ => self.missing_data_crlf(off),
            },
            State::DataCr => {
                if b == b'\n' {
                    self.state = State::SizeStart;
                    Ok(Step::Consume)
                } else {
                    self.missing_data_crlf(off)
                }
            }
            // `decode` handles these before looking at bytes.
            State::Data | State::Done => Ok(Step::Stay),
        }
    }

    /// The byte after the size digits (or after lenient spaces).
    fn after_size(&mut self, b: u8, off: u64) -> Result<Step, Error> {
        match b {
            b' ' | b'\t' if self.lenient.spaces_after_chunk_size => {
                self.state = State::SizeSpaces;
                Ok(Step::Consume)
            }
            b' ' | b'\t' => Err(self.fail(ErrorKind::InvalidChunkSize, INVALID_SIZE, off + 1)),
            b'\r' => {
                self.state = State::SizeLf;
                Ok(Step::Consume)
            }
            b'\n' if self.lenient.optional_cr_before_lf => {
                // llhttp takes this LF as the CR and still looks for an LF after it.
                self.state = State::SizeLf;
                Ok(Step::Consume)
            }
            b'\n' => Err(self.fail(
                ErrorKind::CrExpected,
                "Missing expected CR after chunk size",
                off + 1,
            )),
            b';' => {
                self.state = State::ExtStart;
                Ok(Step::Consume)
            }
            _ => Err(self.fail(ErrorKind::InvalidChunkSize, INVALID_SIZE, off)),
        }
    }

    /// An extension name (or, with `value`, an unquoted value) ends at byte `b`, which is
    /// not a token byte: `=` starts the value (names only), `;` the next extension, CR
    /// the end of the size line; a bare LF or anything else is an error (PRS-19).
    fn end_ext_token(&mut self, b: u8, off: u64, next: u64, value: bool) -> Result<Step, Error> {
        if b == b'\n' {
            self.end_span(off, off, value)?;
            let reason = if value {
                "Missing expected CR after chunk extension value"
            } else {
                "Missing expected CR after chunk extension name"
            };
            return self.bare_lf_in_line(off, reason);
        }
        self.end_span(next, off, value)?;
        match b {
            b'=' if !value => {
                self.start_span(next);
                self.state = State::ExtValue;
                Ok(Step::Consume)
            }
            b';' => {
                self.state = State::ExtStart;
                Ok(Step::Consume)
            }
            b'\r' => {
                self.state = State::SizeLf;
                Ok(Step::Consume)
            }
            _ => {
                let reason = if value {
                    "Invalid character in chunk extensions value"
                } else {
                    "Invalid character in chunk extensions name"
                };
                Err(self.fail(ErrorKind::Strict, reason, next))
            }
        }
    }

    /// A bare LF ends an extension: lenient `optional_cr_before_lf` lets the LF itself
    /// end the line (it is not consumed here; the LF state takes it).
    fn bare_lf_in_line(&mut self, off: u64, reason: &'static str) -> Result<Step, Error> {
        if self.lenient.optional_cr_before_lf {
            self.state = State::SizeLf;
            Ok(Step::Stay)
        } else {
            Err(self.fail(ErrorKind::CrExpected, reason, off))
        }
    }

    /// Chunk data not followed by CRLF: lenient `optional_crlf_after_chunk` lets the
    /// byte start the next chunk-size line.
    fn missing_data_crlf(&mut self, off: u64) -> Result<Step, Error> {
        if self.lenient.optional_crlf_after_chunk {
            self.state = State::SizeStart;
            Ok(Step::Stay)
        } else {
            Err(self.fail(ErrorKind::Strict, "Expected LF after chunk data", off))
        }
    }
}

/// The outcome of one transition.
enum Step {
    /// The byte was consumed.
    Consume,
    /// The byte is looked at again in the new state.
    Stay,
    /// The size line is complete; `consumed` says whether this byte belonged to it.
    HeaderDone { consumed: bool },
}

/// The Content-Length body counter: how many of the next bytes are body.
///
/// Close-delimited bodies need no decoder: every byte until EOF is body, which the
/// parser hands out directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LengthDecoder {
    remaining: u64,
}

impl LengthDecoder {
    /// A decoder for a body of `len` bytes.
    pub(crate) fn new(len: u64) -> Self {
        Self { remaining: len }
    }

    /// How many leading bytes of `buf` are body (`buf[..n]`); they count as consumed.
    pub(crate) fn decode(&mut self, buf: &[u8]) -> usize {
        let n = match usize::try_from(self.remaining) {
            Ok(r) if r < buf.len() => r,
            _ => buf.len(),
        };
        self.remaining -= n as u64;
        n
    }

    /// Body bytes still expected.
    #[cfg(test)]
    pub(crate) fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Whether the whole body has been seen.
    pub(crate) fn is_done(&self) -> bool {
        self.remaining == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What Node did with a body (see `testdata/gen_node_cases.py`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum NodeExpect {
        /// The message completed with this body.
        Complete(&'static [u8]),
        /// Node was still waiting for bytes.
        Incomplete,
        /// A parse error: code, reason, offset from the start of the body.
        Fails(&'static str, &'static str, u64),
    }
    use NodeExpect::{Complete, Fails, Incomplete};

    /// One byte swept through 0..=255 between a prefix and a suffix: (prefix, suffix,
    /// insecureHTTPParser, the distinct outcomes, each byte's outcome as a letter).
    type Sweep = (
        &'static [u8],
        &'static [u8],
        bool,
        &'static [NodeExpect],
        &'static [u8; 256],
    );

    /// An error as (code, reason, offset).
    type ErrorTriple = Option<(&'static str, &'static str, u64)>;

    include!("testdata/node_cases.rs");

    /// Everything a decoder run produced; equal for every split of the same input.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Outcome {
        data: Vec<u8>,
        /// Offset just past the last-chunk line, when it was reached.
        last: Option<u64>,
        error: Option<Error>,
        trace: Vec<Trace>,
    }

    /// Feeds `input` (starting at stream offset `base`) in pieces cut at `cuts`, the
    /// way the parser does: unconsumed bytes stay at the front of the buffer.
    fn run_split(cfg: &ParserConfig, input: &[u8], base: u64, cuts: &[usize]) -> Outcome {
        let mut dec = ChunkedDecoder::new(cfg);
        let mut out = Outcome {
            data: Vec::new(),
            last: None,
            error: None,
            trace: Vec::new(),
        };
        let mut buf: Vec<u8> = Vec::new();
        let mut pos = base;
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
        cuts.sort_unstable();
        cuts.push(input.len());
        let mut from = 0;
        'feed: for cut in cuts {
            buf.extend_from_slice(&input[from..cut]);
            from = cut;
            loop {
                match dec.decode(&buf, pos) {
                    Err(e) => {
                        assert_eq!(dec.decode(&buf, pos), Err(e.clone()), "errors are sticky");
                        out.error = Some(e);
                        break 'feed;
                    }
                    Ok((n, chunk)) => {
                        assert!(n <= buf.len());
                        match chunk {
                            Chunk::Data { start, len } => {
                                assert!(len > 0 && start + len == n);
                                out.data.extend_from_slice(&buf[start..start + len]);
                            }
                            Chunk::NeedMore => assert_eq!(n, buf.len(), "NeedMore consumes all"),
                            Chunk::Last => {}
                        }
                        buf.drain(..n);
                        pos += n as u64;
                        match chunk {
                            Chunk::Last => {
                                assert_eq!(dec.decode(&buf, pos), Ok((0, Chunk::Last)));
                                assert!(dec.is_done());
                                out.last = Some(pos);
                                break 'feed;
                            }
                            Chunk::NeedMore => break,
                            Chunk::Data { .. } => {}
                        }
                    }
                }
            }
        }
        out.trace = dec.trace;
        out
    }

    fn run(cfg: &ParserConfig, input: &[u8], base: u64) -> Outcome {
        run_split(cfg, input, base, &[])
    }

    /// Single piece, one byte at a time, and every cut in two must agree.
    fn run_checked(cfg: &ParserConfig, input: &[u8], base: u64) -> Outcome {
        let whole = run(cfg, input, base);
        let bytewise: Vec<usize> = (1..input.len()).collect();
        assert_eq!(
            run_split(cfg, input, base, &bytewise),
            whole,
            "byte-by-byte: {input:?}"
        );
        if input.len() <= 300 {
            for cut in 1..input.len() {
                assert_eq!(
                    run_split(cfg, input, base, &[cut]),
                    whole,
                    "cut {cut}: {input:?}"
                );
            }
        }
        whole
    }

    fn strict() -> ParserConfig {
        ParserConfig::default()
    }

    fn insecure() -> ParserConfig {
        ParserConfig::insecure()
    }

    /// Compares a run with what Node did (offsets relative to the body).
    fn check_node(input: &[u8], insecure_mode: bool, expect: NodeExpect) {
        let cfg = if insecure_mode { insecure() } else { strict() };
        // A non-zero base shows that offsets are absolute.
        let base = 1000;
        let got = run_checked(&cfg, input, base);
        let ctx = format!("input {input:?} insecure {insecure_mode}: {got:?}");
        match expect {
            Complete(body) => {
                assert_eq!(got.error, None, "{ctx}");
                assert!(got.last.is_some(), "{ctx}");
                assert_eq!(got.data, body, "{ctx}");
            }
            Incomplete => assert_eq!(got.error, None, "{ctx}"),
            Fails(code, reason, off) => match (&got.error, got.last) {
                (Some(e), _) => {
                    assert_eq!(
                        (e.code(), e.reason(), e.offset()),
                        (code, reason, base + off),
                        "{ctx}"
                    );
                }
                // Node failed in the trailer section, which is not the decoder's.
                (None, Some(last)) => assert!(base + off >= last, "{ctx}"),
                (None, None) => panic!("expected {code} {reason} at {off}: {ctx}"),
            },
        }
    }

    #[test]
    fn matches_node_on_hand_written_bodies() {
        // PRS-19, PRS-30: each case was run through Node v20 in both modes.
        for &(input, insecure_mode, expect) in NODE_CASES {
            check_node(input, insecure_mode, expect);
        }
        assert!(NODE_CASES.len() >= 180);
    }

    #[test]
    fn matches_node_for_every_byte_in_every_position() {
        // PRS-19, PRS-30: extension names, token and quoted values, quoted pairs, the
        // byte after the size and the byte after the data, all 256 values each.
        for &(prefix, suffix, insecure_mode, outcomes, index) in NODE_SWEEPS {
            for (byte, &letter) in index.iter().enumerate() {
                let mut input = prefix.to_vec();
                input.push(byte as u8);
                input.extend_from_slice(suffix);
                check_node(&input, insecure_mode, outcomes[usize::from(letter - b'a')]);
            }
        }
    }

    // ---- the llhttp corpus ----------------------------------------------------

    fn corpus_dir() -> Option<std::path::PathBuf> {
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let candidates = [
            std::env::var_os("COURIER_LLHTTP_CORPUS").map(std::path::PathBuf::from),
            std::env::var_os("COURIER_SHARED")
                .map(|s| std::path::PathBuf::from(s).join("conformance/llhttp")),
            // `shared/` beside the project root, as on every machine and in CI.
            Some(manifest.join("../../../shared/conformance/llhttp")),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|d| d.join("request-transfer-encoding.jsonl").is_file())
    }

    fn lenient_from(names: &[serde_json::Value]) -> Lenient {
        let mut l = Lenient::STRICT;
        for n in names {
            match n.as_str().unwrap_or_default() {
                "headers" => l.headers = true,
                "chunked-length" => l.chunked_length = true,
                "keep-alive" => l.keep_alive = true,
                "transfer-encoding" => l.transfer_encoding = true,
                "version" => l.version = true,
                "data-after-close" => l.data_after_close = true,
                "optional-lf-after-cr" => l.optional_lf_after_cr = true,
                "optional-cr-before-lf" => l.optional_cr_before_lf = true,
                "optional-crlf-after-chunk" => l.optional_crlf_after_chunk = true,
                "spaces-after-chunk-size" => l.spaces_after_chunk_size = true,
                _ => {}
            }
        }
        l
    }

    /// Checks every chunked body of one corpus case; returns how many were checked.
    fn check_corpus_case(case: &serde_json::Value) -> usize {
        use base64::Engine as _;
        let id = case["id"].as_str().unwrap_or_default();
        let mode = &case["mode"];
        if mode["skip_body"].as_bool() == Some(true) || mode["skip"].as_bool() == Some(true) {
            return 0;
        }
        let input = base64::engine::general_purpose::STANDARD
            .decode(case["input_b64"].as_str().unwrap_or_default())
            .unwrap_or_default();
        let cfg = ParserConfig {
            lenient: lenient_from(case["lenient"].as_array().map_or(&[][..], |v| &v[..])),
            ..ParserConfig::default()
        };
        let events = case["expected"].as_array().cloned().unwrap_or_default();
        let num = |e: &serde_json::Value, k: &str| e[k].as_u64().unwrap_or(0);
        let mut checked = 0;
        for (h, hc) in events.iter().enumerate() {
            let flags = hc["flags"].as_array().cloned().unwrap_or_default();
            let has = |f: &str| flags.iter().any(|v| v.as_str() == Some(f));
            if hc["ev"] != "headers_complete" || !has("chunked") || has("skipbody") {
                continue;
            }
            let body_start = num(hc, "off");
            let mut want = Outcome {
                data: Vec::new(),
                last: None,
                error: None,
                trace: Vec::new(),
            };
            let mut want_error = None;
            let mut framed = false;
            for e in &events[h + 1..] {
                let (off, len) = (num(e, "off"), num(e, "len"));
                match e["ev"].as_str().unwrap_or_default() {
                    "message_begin" | "message_complete" => break,
                    "chunk_header" => {
                        framed = true;
                        let size = num(e, "size");
                        want.trace.push(Trace::ChunkHeader(size));
                        if size == 0 {
                            want.last = Some(off);
                            break;
                        }
                    }
                    "chunk_extension_name" if len > 0 => {
                        want.trace.push(Trace::ExtName(off, off + len));
                    }
                    "chunk_extension_value" if len > 0 => {
                        want.trace.push(Trace::ExtValue(off, off + len));
                    }
                    "body" => {
                        let (s, l) = (off as usize, len as usize);
                        want.data.extend_from_slice(&input[s..s + l]);
                    }
                    "error" => {
                        framed = true;
                        let code = e["code"].as_str().unwrap_or_default().to_owned();
                        let reason = e["reason"].as_str().unwrap_or_default().to_owned();
                        want_error = Some((code, reason, off));
                        break;
                    }
                    _ => {}
                }
            }
            if !framed {
                continue; // no body was parsed (e.g. a 304), or the input ends first
            }
            let mut got = run_checked(&cfg, &input[body_start as usize..], body_start);
            let got_error = got
                .error
                .take()
                .map(|e| (e.code().to_owned(), e.reason().to_owned(), e.offset()));
            assert_eq!(got_error, want_error, "{id}");
            // llhttp reports the last chunk header where its line ends, which is where
            // our `Last` leaves the input.
            assert_eq!(got, want, "{id}");
            checked += 1;
        }
        checked
    }

    #[test]
    fn llhttp_corpus_chunked_cases() {
        // PRS-19, PRS-30: every chunked body in llhttp's test corpus (v9.4.2; no case
        // touching chunked bodies differs in Node 20's llhttp 9.3.1).
        let dir = corpus_dir().expect(
            "llhttp corpus not found: ../shared beside the project root, or set COURIER_SHARED",
        );
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if !(name.starts_with("request-") || name.starts_with("response-"))
                || !name.ends_with(".jsonl")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let case: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                checked += check_corpus_case(&case);
            }
        }
        eprintln!("{checked} chunked bodies checked in {dir:?}");
        assert!(
            checked >= 30,
            "only {checked} chunked bodies checked in {dir:?}"
        );
    }

    // ---- chunk sizes ------------------------------------------------------------

    #[test]
    fn sixteen_hex_digits_are_accepted_without_allocating() {
        // PRS-19: `FFFFFFFFFFFFFFFF` is a valid size; the decoder only counts it down.
        for size in [
            &b"FFFFFFFFFFFFFFFF"[..],
            b"ffffffffffffffff",
            b"0000000000000000000003",
        ] {
            let mut input = size.to_vec();
            input.extend_from_slice(b"\r\nabc");
            let got = run_checked(&strict(), &input, 0);
            assert_eq!(got.error, None);
            assert_eq!(got.data, b"abc");
        }
        let mut dec = ChunkedDecoder::new(&strict());
        assert_eq!(
            dec.decode(b"FFFFFFFFFFFFFFFF\r\n", 0),
            Ok((18, Chunk::NeedMore))
        );
        assert_eq!(dec.remaining, u64::MAX);
        assert_eq!(
            dec.decode(b"xyz", 18),
            Ok((3, Chunk::Data { start: 0, len: 3 }))
        );
        assert_eq!(dec.remaining, u64::MAX - 3);
    }

    #[test]
    fn a_seventeenth_significant_digit_overflows() {
        // PRS-19: reported just past the digit that overflows (Node: 17).
        for input in [&b"10000000000000000\r\n"[..], b"FFFFFFFFFFFFFFFFF\r\n"] {
            let got = run_checked(&strict(), input, 5);
            let e = got.error.unwrap_or_else(|| panic!("{input:?}"));
            assert_eq!(e.kind(), ErrorKind::InvalidChunkSize);
            assert_eq!((e.reason(), e.offset()), ("Chunk size overflow", 5 + 17));
        }
    }

    #[test]
    fn size_line_errors_match_node() {
        // PRS-19: `0x3` and a space after the size (strict) are invalid characters.
        let cases: &[(&[u8], &str, u64)] = &[
            (b"0x3\r\n", "Invalid character in chunk size", 1),
            (
                b"3 \r\nfoo\r\n0\r\n\r\n",
                "Invalid character in chunk size",
                2,
            ),
            (b";a\r\n", "Invalid character in chunk size", 0),
        ];
        for &(input, reason, off) in cases {
            let e = run_checked(&strict(), input, 0)
                .error
                .unwrap_or_else(|| panic!("{input:?}"));
            assert_eq!(
                (e.code(), e.reason(), e.offset()),
                ("HPE_INVALID_CHUNK_SIZE", reason, off)
            );
        }
        // Lenient `spaces_after_chunk_size` (PRS-30) accepts the spaces.
        let cfg = ParserConfig {
            lenient: Lenient {
                spaces_after_chunk_size: true,
                ..Lenient::STRICT
            },
            ..strict()
        };
        let got = run_checked(&cfg, b"3 \t \r\nfoo\r\n0\r\n", 0);
        assert_eq!((got.data.as_slice(), got.last), (&b"foo"[..], Some(14)));
    }

    #[test]
    fn missing_crlf_after_data_is_strict_unless_lenient() {
        // PRS-19: `Expected LF after chunk data`; lenient `optional_crlf_after_chunk`
        // takes the next byte as the start of the next size line.
        let input = b"5\r\nABCDE0\r\n\r\n";
        let e = run_checked(&strict(), input, 76)
            .error
            .unwrap_or_else(|| panic!());
        assert_eq!(
            (e.kind(), e.reason(), e.offset()),
            (ErrorKind::Strict, "Expected LF after chunk data", 84)
        );
        let cfg = ParserConfig {
            lenient: Lenient {
                optional_crlf_after_chunk: true,
                ..Lenient::STRICT
            },
            ..strict()
        };
        let got = run_checked(&cfg, input, 76);
        assert_eq!(
            (got.data.as_slice(), got.error, got.last),
            (&b"ABCDE"[..], None, Some(76 + 11))
        );
    }

    #[test]
    fn extensions_are_accepted_and_discarded() {
        // PRS-19: names, token values and quoted values with escapes.
        let input = b"5;ilovew3=\"I \\\"love\\\"; \\\\extensions\\\\\";somuchlove=x;blah\r\nhello\r\n0;a=b\r\n";
        let got = run_checked(&strict(), input, 0);
        assert_eq!(got.error, None);
        assert_eq!(got.data, b"hello");
        assert_eq!(got.last, Some(input.len() as u64));
    }

    // ---- the chunk-extension budget (PRS-19, CONST-5) ---------------------------

    fn ext_case(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn overflow(off: u64) -> ErrorTriple {
        Some((
            "HPE_CHUNK_EXTENSIONS_OVERFLOW",
            "Chunk extensions overflow",
            off,
        ))
    }

    fn error_of(o: &Outcome) -> ErrorTriple {
        o.error.as_ref().map(|e| (e.code(), e.reason(), e.offset()))
    }

    #[test]
    fn extension_budget_is_16384_bytes_per_chunk() {
        // PRS-19, CONST-5: names and values (quotes included) of one size line count;
        // 16384 bytes pass, 16385 fail with 413's error. Offsets are Node's.
        let a = |n: usize| vec![b'a'; n];
        let b = |n: usize| vec![b'b'; n];
        let rest: &[u8] = b"\r\nx\r\n0\r\n\r\n";
        let cases: Vec<(Vec<u8>, ErrorTriple)> = vec![
            (ext_case(&[b"1;", &a(16384), rest]), None),
            (ext_case(&[b"1;", &a(16385), rest]), overflow(16388)),
            // A longer span is reported where it ends.
            (ext_case(&[b"1;", &a(20000), rest]), overflow(20003)),
            (ext_case(&[b"1;", &a(20000), b"\"", rest]), overflow(20003)),
            (ext_case(&[b"1;", &a(10000), b"=", &b(6384), rest]), None),
            (
                ext_case(&[b"1;", &a(10000), b"=", &b(6385), rest]),
                overflow(16389),
            ),
            (ext_case(&[b"1;", &a(16384), b"=", rest]), None),
            (ext_case(&[b"1;", &a(16384), b"=b", rest]), overflow(16389)),
            (
                ext_case(&[b"1;", &a(16384), b";", rest]),
                Some(("HPE_STRICT", "Invalid character in chunk extensions", 16388)),
            ),
            (ext_case(&[b"1;", &a(16384), b";b", rest]), overflow(16389)),
            (ext_case(&[b"1;", &a(8000), b";", &b(8384), rest]), None),
            (
                ext_case(&[b"1;", &a(8000), b";", &b(8385), rest]),
                overflow(16389),
            ),
            (ext_case(&[b"1;a=\"", &b(16381), b"\"", rest]), None),
            (
                ext_case(&[b"1;a=\"", &b(16382), b"\"", rest]),
                overflow(16388),
            ),
            (
                ext_case(&[b"1;a=\"", &b(16382), rest]),
                Some((
                    "HPE_STRICT",
                    "Invalid character in chunk extensions quoted value",
                    16388,
                )),
            ),
            (
                ext_case(&[b"1;a=\"", &b(16382), b"\"x", rest]),
                overflow(16388),
            ),
            // The count restarts with every size line, the last one included.
            (
                ext_case(&[
                    b"1;",
                    &a(16000),
                    b"\r\nx\r\n1;",
                    &a(16000),
                    b"\r\ny\r\n0\r\n\r\n",
                ]),
                None,
            ),
            (
                ext_case(&[b"1;", &a(16000), b"\r\nx\r\n0;", &a(16000), b"\r\n\r\n"]),
                None,
            ),
            (ext_case(&[b"0;", &a(16385), b"\r\n\r\n"]), overflow(16388)),
            // A bare LF ends the span: Node reports at the LF itself.
            (
                ext_case(&[b"1;", &a(16384), b"\nx\r\n0\r\n\r\n"]),
                Some((
                    "HPE_CR_EXPECTED",
                    "Missing expected CR after chunk extension name",
                    16386,
                )),
            ),
            (
                ext_case(&[b"1;", &a(16385), b"\nx\r\n0\r\n\r\n"]),
                overflow(16387),
            ),
            (
                ext_case(&[b"1;", &a(16385), b"\rx\r\n0\r\n\r\n"]),
                overflow(16388),
            ),
        ];
        for (input, want) in cases {
            let whole = run(&strict(), &input, 0);
            assert_eq!(error_of(&whole), want, "{} bytes", input.len());
            // Split invariance on a few cuts around the interesting region.
            for cut in [
                1, 2, 3, 8000, 16385, 16386, 16387, 16388, 16389, 20002, 20003,
            ] {
                assert_eq!(run_split(&strict(), &input, 0, &[cut]), whole, "cut {cut}");
            }
        }
    }

    #[test]
    fn an_endless_extension_is_stopped_after_the_report_window() {
        // PRS-19: memory stays bounded and the error comes even if the span never
        // ends: at the byte OVERFLOW_REPORT_WINDOW past the one that crossed the budget.
        let mut input = b"1;".to_vec();
        input.resize(2 + 16385 + OVERFLOW_REPORT_WINDOW as usize + 100, b'a');
        let whole = run(&strict(), &input, 7);
        let crossing = 7 + 2 + 16384;
        assert_eq!(
            error_of(&whole),
            overflow(crossing + OVERFLOW_REPORT_WINDOW)
        );
        let cuts: Vec<usize> = (1..input.len()).step_by(997).collect();
        assert_eq!(run_split(&strict(), &input, 7, &cuts), whole);
        // Just short of the window the decoder still waits for the span's end.
        input.truncate(2 + 16384 + OVERFLOW_REPORT_WINDOW as usize);
        assert_eq!(error_of(&run(&strict(), &input, 7)), None);
    }

    #[test]
    fn extension_budget_follows_the_config() {
        // PRS-19: `max_chunk_extensions` is the budget.
        let cfg = ParserConfig {
            max_chunk_extensions: 4,
            ..strict()
        };
        assert_eq!(
            error_of(&run_checked(&cfg, b"1;ab=cd\r\nx\r\n0\r\n", 0)),
            None
        );
        assert_eq!(
            error_of(&run_checked(&cfg, b"1;ab=cde\r\nx\r\n0\r\n", 0)),
            overflow(9)
        );
        assert_eq!(
            error_of(&run_checked(&cfg, b"1;ab;c;d;e\r\nx\r\n0\r\n", 0)),
            overflow(11)
        );
        let zero = ParserConfig {
            max_chunk_extensions: 0,
            ..strict()
        };
        assert_eq!(
            error_of(&run_checked(&zero, b"1;\"\r\n", 0)),
            Some((
                "HPE_STRICT",
                "Invalid character in chunk extensions name",
                3
            ))
        );
        assert_eq!(error_of(&run_checked(&zero, b"1;=\r\nx\r\n0\r\n", 0)), None);
        assert_eq!(error_of(&run_checked(&zero, b"1;a\r\n", 0)), overflow(4));
    }

    // ---- the Content-Length counter ------------------------------------------

    #[test]
    fn length_decoder_counts_down() {
        let mut dec = LengthDecoder::new(5);
        assert_eq!(dec.decode(b""), 0);
        assert_eq!(dec.decode(b"abc"), 3);
        assert_eq!(dec.remaining(), 2);
        assert!(!dec.is_done());
        assert_eq!(dec.decode(b"defgh"), 2);
        assert!(dec.is_done());
        assert_eq!(dec.decode(b"more"), 0);
        let mut huge = LengthDecoder::new(u64::MAX);
        assert_eq!(huge.decode(&[0; 10]), 10);
        assert_eq!(huge.remaining(), u64::MAX - 10);
    }

    // ---- properties ---------------------------------------------------------------

    /// Fragments that chunked bodies, valid or not, are made of.
    fn fragment() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::sample::select(vec![
                &b"0"[..],
                b"1",
                b"5",
                b"a",
                b"F",
                b"000",
                b"\r",
                b"\n",
                b"\r\n",
                b" ",
                b"\t",
                b";",
                b"=",
                b"\"",
                b"\\",
                b"x",
                b"abc",
                b"hello",
                b"0\r\n\r\n",
                b"\x7f",
                b"\x80",
                b"\x00",
                b"5\r\nhello\r\n",
                b";a=b",
                b";q=\"x y\"",
            ])
            .prop_map(<[u8]>::to_vec),
            prop::collection::vec(any::<u8>(), 1..4),
        ]
    }

    fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
    }

    fn any_config() -> impl Strategy<Value = ParserConfig> {
        (
            any::<[bool; 4]>(),
            prop::sample::select(vec![0usize, 1, 3, 8, 16384]),
            any::<bool>(),
        )
            .prop_map(|(f, max, all)| {
                let lenient = if all {
                    Lenient::node_insecure()
                } else {
                    Lenient {
                        optional_lf_after_cr: f[0],
                        optional_cr_before_lf: f[1],
                        optional_crlf_after_chunk: f[2],
                        spaces_after_chunk_size: f[3],
                        ..Lenient::STRICT
                    }
                };
                ParserConfig {
                    max_chunk_extensions: max,
                    lenient,
                    ..ParserConfig::default()
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_split_gives_the_same_result(
            cfg in any_config(),
            input in body_bytes(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
            base in 0u64..1_000_000,
        ) {
            // PRS-19: same data, same `Last`, same error (kind, reason, offset).
            let whole = run(&cfg, &input, base);
            let cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
            prop_assert_eq!(run_split(&cfg, &input, base, &cuts), whole.clone());
            if let Some(e) = &whole.error {
                prop_assert!(e.offset() >= base && e.offset() <= base + input.len() as u64);
            }
            if let Some(last) = whole.last {
                prop_assert!(last <= base + input.len() as u64);
            }
        }

        #[test]
        fn random_bytes_never_panic(
            cfg in any_config(),
            input in prop::collection::vec(any::<u8>(), 0..256),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        ) {
            let whole = run(&cfg, &input, 0);
            let cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
            prop_assert_eq!(run_split(&cfg, &input, 0, &cuts), whole);
        }
    }

    /// A random extension: a token name and maybe a value (token or not).
    fn extension() -> impl Strategy<Value = (Vec<u8>, Option<Vec<u8>>)> {
        let name = prop::collection::vec(
            prop::sample::select(b"abcXYZ09!#$%&'*+-.^_`|~".to_vec()),
            1..6,
        );
        let value = prop::collection::vec(
            prop_oneof![
                prop::sample::select(b"az09-\"\\; =\t".to_vec()),
                0x20u8..0x7f,
                0x80u8..=0xff,
            ],
            0..8,
        );
        (name, prop::option::of(value))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn encode_then_decode_round_trips(
            chunks in prop::collection::vec(
                (prop::collection::vec(any::<u8>(), 0..80), prop::collection::vec(extension(), 0..3)),
                0..10,
            ),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
            insecure_mode in any::<bool>(),
        ) {
            // RES-19 against PRS-19: whatever our encoder writes, the decoder reads back.
            use crate::body::encode::Encoder;
            let mut enc = Encoder::Chunked;
            let mut wire = Vec::new();
            let mut want = Vec::new();
            let mut sizes = Vec::new();
            for (data, exts) in &chunks {
                let exts: Vec<(&[u8], Option<&[u8]>)> =
                    exts.iter().map(|(n, v)| (&n[..], v.as_deref())).collect();
                let segs = enc
                    .encode_with_extensions(bytes::Bytes::from(data.clone()), &exts)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                for s in &segs {
                    wire.extend_from_slice(s);
                }
                want.extend_from_slice(data);
                if !data.is_empty() {
                    sizes.push(data.len() as u64);
                }
            }
            for s in enc.finish(None).map_err(|e| TestCaseError::fail(e.to_string()))? {
                wire.extend_from_slice(&s);
            }
            sizes.push(0);
            let cfg = if insecure_mode { insecure() } else { strict() };
            let cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            let got = run_split(&cfg, &wire, 0, &cuts);
            prop_assert_eq!(got.error, None);
            prop_assert_eq!(got.data, want);
            // The final CRLF is the (empty) trailer section: the parser's, not ours.
            prop_assert_eq!(got.last, Some(wire.len() as u64 - 2));
            let got_sizes: Vec<u64> = got
                .trace
                .iter()
                .filter_map(|t| match t {
                    Trace::ChunkHeader(n) => Some(*n),
                    _ => None,
                })
                .collect();
            prop_assert_eq!(got_sizes, sizes);
        }
    }

    #[test]
    fn large_chunks_round_trip_in_one_data_event() {
        // PRS-19 fast path: a whole chunk that is in the buffer comes out as one range.
        use crate::body::encode::Encoder;
        let data = bytes::Bytes::from(vec![7u8; 70_000]);
        let mut wire = Vec::new();
        let mut enc = Encoder::Chunked;
        for s in enc
            .encode(data.clone())
            .iter()
            .chain(enc.finish(None).unwrap_or_default().iter())
        {
            wire.extend_from_slice(s);
        }
        assert!(wire.starts_with(b"11170\r\n"));
        let mut dec = ChunkedDecoder::new(&strict());
        assert_eq!(
            dec.decode(&wire, 0),
            Ok((
                70_007,
                Chunk::Data {
                    start: 7,
                    len: 70_000
                }
            ))
        );
        assert_eq!(dec.decode(&wire[70_007..], 70_007), Ok((5, Chunk::Last)));
        assert_eq!(&wire[70_012..], b"\r\n");
    }
}
