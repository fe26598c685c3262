//! The wire output of an outgoing message: a queue of [`Bytes`] segments, the
//! rendered header block held back until the first body bytes (RES-21), and body
//! coding through [`crate::body::Encoder`] (RES-19), which never copies the caller's
//! bytes. The one copy: a server connection's response that ends with a small body
//! (at most [`MERGE_MAX`] bytes, unchunked) gets it behind its header block, in the
//! block's allocation (sized for it when `end()` renders the block), so that both
//! go out as one segment.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;

use crate::body::Encoder;
use crate::headers::Headers;

/// A buffer a header block is rendered into: a response's own (lent) [`BytesMut`],
/// or the connection's output ([`crate::conn::OutQueue`]'s `Vec<u8>`).
pub(crate) trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
    /// Makes room for `n` more bytes.
    fn reserve_more(&mut self, n: usize);
}

impl Sink for BytesMut {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline]
    fn reserve_more(&mut self, n: usize) {
        self.reserve(n);
    }
}

impl Sink for Vec<u8> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline(always)]
    fn reserve_more(&mut self, n: usize) {
        self.reserve(n);
    }
}

/// Room of a [`Staged`] sink's stack buffer.
const STAGE: usize = 256;

/// A sink that gathers the pieces of a header block on the stack and hands them to
/// another sink in one piece ([`Staged::finish`]): a block is a dozen small pieces,
/// and appending each to a growable buffer costs more than the copy itself (a
/// constant piece becomes a few stores here). Whatever does not fit is passed on
/// as it comes, in order. Dropped without `finish`, it appends what it holds to
/// nothing.
pub(crate) struct Staged<'a, S: Sink> {
    out: &'a mut S,
    buf: [u8; STAGE],
    at: usize,
}

impl<'a, S: Sink> Staged<'a, S> {
    /// An empty stage in front of `out`.
    #[inline(always)]
    pub(crate) fn new(out: &'a mut S) -> Self {
        Self {
            out,
            buf: [0; STAGE],
            at: 0,
        }
    }

    /// Appends what the stage holds to the sink.
    #[inline(always)]
    pub(crate) fn finish(&mut self) {
        self.out.put(&self.buf[..self.at]);
        self.at = 0;
    }

    /// [`Sink::put`] of a piece that does not fit: what the stage holds goes
    /// first, then the piece, straight to the sink when it is large.
    #[inline(never)]
    fn put_slow(&mut self, bytes: &[u8]) {
        self.out.put(&self.buf[..self.at]);
        self.at = 0;
        if bytes.len() > STAGE {
            self.out.put(bytes);
        } else {
            self.buf[..bytes.len()].copy_from_slice(bytes);
            self.at = bytes.len();
        }
    }
}

impl<S: Sink> Sink for Staged<'_, S> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at.wrapping_add(bytes.len());
        // One check: `at` is at most `STAGE` and `bytes` a slice (no wrap).
        if let Some(dst) = self.buf.get_mut(self.at..end) {
            dst.copy_from_slice(bytes);
            self.at = end;
        } else {
            self.put_slow(bytes);
        }
    }
    #[inline(always)]
    fn reserve_more(&mut self, n: usize) {
        // Room in the sink is made once, by whoever staged (see `finish`); a piece
        // that does not fit is appended with the sink's own growth.
        let _ = n;
    }
}

/// The largest body piece copied behind its header block (see [`Output::body`]).
pub(crate) const MERGE_MAX: usize = 512;

/// Queued segments plus the held-back header block.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// The rendered header block, not yet released (Node's `_header` while
    /// `_headerSent` is false).
    held: Option<BytesMut>,
    /// The header block was released to the queue (Node's `_headerSent`).
    head_released: bool,
    /// A small first body piece may be copied behind the held header block.
    merge: bool,
    /// Inline room for a header block and one body piece: a response that ends
    /// with its body queues nothing on the heap.
    queue: SmallVec<[Bytes; 2]>,
    /// Bytes in `queue`.
    queued: usize,
    /// [`Output::close`] was called: everything is dropped from now on.
    closed: bool,
}

impl Output {
    /// Back to the state of `Output::default()`, keeping the queue's room.
    pub(crate) fn reset(&mut self) {
        let Self {
            held,
            head_released,
            merge,
            queue,
            queued,
            closed,
        } = self;
        if held.is_some() {
            *held = None;
        }
        *head_released = false;
        *merge = false;
        queue.clear();
        *queued = 0;
        *closed = false;
    }

    /// Holds the rendered header block back until [`Output::release_head`].
    /// With `merge`, a small body piece is copied behind it (see [`Output::body`]).
    pub(crate) fn hold_head(&mut self, head: BytesMut, merge: bool) {
        if !self.closed {
            self.held = Some(head);
            self.merge = merge;
        }
    }

    /// Queues the held header block, if any (RES-21).
    pub(crate) fn release_head(&mut self) {
        if let Some(head) = self.held.take() {
            self.head_released = true;
            self.push(head.freeze());
        }
    }

    /// Queues a header block (with any body joined to it) at once: what
    /// [`Output::hold_head`] then [`Output::release_head`] would do.
    pub(crate) fn push_head(&mut self, head: Bytes) {
        if !self.closed {
            self.head_released = true;
            self.push(head);
        }
    }

    /// Records that the header block (with any body joined to it) went to the
    /// connection's output directly, not through this queue.
    pub(crate) fn mark_head_released(&mut self) {
        self.head_released = true;
    }

    /// Whether the header block was released (Node's `_headerSent`).
    pub(crate) fn head_released(&self) -> bool {
        self.head_released
    }

    /// Queues one segment (empty ones are skipped).
    pub(crate) fn push(&mut self, seg: Bytes) {
        if !seg.is_empty() && !self.closed {
            self.queued += seg.len();
            self.queue.push(seg);
        }
    }

    /// Releases the header block, then queues one piece of body: as it is, or as a
    /// chunk (size line, the same `Bytes`, CRLF; nothing for an empty piece).
    ///
    /// When the head was held with `merge` (a server connection's response), a
    /// piece of at most [`MERGE_MAX`] bytes that follows the header block unchunked
    /// is copied behind it: one segment (one `iovec`) instead of two. Otherwise
    /// body bytes are never copied.
    pub(crate) fn body(&mut self, data: Bytes, chunked: bool) {
        if self.merge && !chunked && data.len() <= MERGE_MAX {
            if let Some(head) = &mut self.held {
                head.extend_from_slice(&data);
                self.release_head();
                return;
            }
        }
        self.release_head();
        if chunked {
            for seg in Encoder::Chunked.encode(data) {
                self.push(seg);
            }
        } else {
            self.push(data);
        }
    }

    /// Releases the header block, then queues the last chunk and the trailers
    /// (`"0\r\n" + trailers + "\r\n"`). The trailers were checked when they were
    /// added; the encoder checks them again and the terminator is written without
    /// them if that ever failed, so nothing invalid reaches the wire.
    pub(crate) fn last_chunk(&mut self, trailers: &Headers) {
        self.release_head();
        let segs = Encoder::Chunked
            .finish(Some(trailers))
            .or_else(|_| Encoder::Chunked.finish(None))
            .unwrap_or_default();
        for seg in segs {
            self.push(seg);
        }
    }

    /// Bytes queued and not yet taken.
    pub(crate) fn len(&self) -> usize {
        self.queued
    }

    /// Nothing queued and nothing held.
    pub(crate) fn is_drained(&self) -> bool {
        self.queue.is_empty() && self.held.is_none()
    }

    /// Moves every queued segment to `dst`, in order.
    pub(crate) fn take(&mut self, dst: &mut VecDeque<Bytes>) {
        self.take_each(|seg| dst.push_back(seg));
    }

    /// Hands every queued segment to `f`, in order.
    pub(crate) fn take_each(&mut self, f: impl FnMut(Bytes)) {
        self.queued = 0;
        self.queue.drain(..).for_each(f);
    }

    /// Drops everything queued or held, and everything queued from now on (the
    /// connection is gone).
    pub(crate) fn close(&mut self) {
        self.closed = true;
        self.held = None;
        self.queue.clear();
        self.queued = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_body_joins_the_head() {
        let mut o = Output::default();
        o.hold_head(BytesMut::from(&b"H\r\n\r\n"[..]), true);
        o.body(Bytes::from_static(b"abc"), false);
        assert!(o.head_released());
        o.body(Bytes::from_static(b"def"), false);
        let mut dst = VecDeque::new();
        o.take(&mut dst);
        assert_eq!(dst, [&b"H\r\n\r\nabc"[..], &b"def"[..]]);
        let mut o = Output::default();
        o.hold_head(BytesMut::from(&b"H\r\n\r\n"[..]), true);
        let big = Bytes::from(vec![b'x'; MERGE_MAX + 1]);
        o.body(big.clone(), false);
        o.take(&mut dst);
        assert_eq!(dst.len(), 4);
        assert_eq!(dst[3].as_ptr(), big.as_ptr(), "a large body is not copied");
    }

    #[test]
    fn a_stage_passes_every_piece_on_in_order() {
        // Pieces that fit, one that overflows the stage, one larger than it.
        let pieces: Vec<Vec<u8>> = [3usize, 200, 60, 1, 300, 0, 255, 7]
            .iter()
            .enumerate()
            .map(|(i, &n)| vec![b'a' + i as u8; n])
            .collect();
        let mut out = vec![b'x'];
        let mut st = Staged::new(&mut out);
        for p in &pieces {
            st.put(p);
        }
        st.finish();
        let mut want = vec![b'x'];
        for p in &pieces {
            want.extend_from_slice(p);
        }
        assert_eq!(out, want);
        let mut out = BytesMut::new();
        let mut st = Staged::new(&mut out);
        st.put(b"ab");
        st.put(b"");
        st.put(b"c");
        st.finish();
        assert_eq!(&out[..], b"abc");
    }

    #[test]
    fn head_waits_for_the_body() {
        let mut o = Output::default();
        o.push(Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n"));
        o.hold_head(BytesMut::from(&b"H\r\n\r\n"[..]), true);
        assert_eq!(o.len(), 25);
        assert!(!o.head_released());
        let body = Bytes::from_static(b"abc");
        o.body(body.clone(), true);
        assert!(o.head_released());
        let mut dst = VecDeque::new();
        o.take(&mut dst);
        assert_eq!(dst.len(), 5);
        assert_eq!(&dst[1][..], b"H\r\n\r\n");
        assert_eq!(dst[3].as_ptr(), body.as_ptr(), "the body is not copied");
        assert_eq!(o.len(), 0);
        assert!(o.is_drained());
    }
}
