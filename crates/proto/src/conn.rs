//! What every connection machine shares: the queue of bytes to write and the way a
//! connection asks to be closed.

use std::collections::VecDeque;

use bytes::{Buf, Bytes};

/// How the connection should be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// Write everything in the connection's outgoing queue, then close (Node's `end`).
    AfterFlush,
    /// Close now; unsent bytes are dropped (Node's `destroy`).
    Now,
}

/// The bytes waiting to be written, in order; a `bytes::Buf` for vectored writes.
///
/// Segments ([`Bytes`], never copied) are followed by a buffer the machine may
/// render small messages into directly (a server's responses in the usual case):
/// a run of pipelined responses is then one contiguous slice.
#[derive(Debug, Default)]
pub struct OutQueue {
    segs: VecDeque<Bytes>,
    /// Bytes after every segment; those before `tail_at` are written.
    tail: Vec<u8>,
    tail_at: usize,
    len: usize,
}

/// The capacity of the buffer an idle queue keeps (see [`OutQueue::shrink_idle`]),
/// and the least it grows by.
const TAIL_IDLE: usize = 512;

/// The free capacity below which [`OutQueue::append`] grows the buffer first.
const TAIL_ROOM: usize = 256;

impl OutQueue {
    pub(crate) fn push(&mut self, b: Bytes) {
        if !b.is_empty() {
            if self.tail_at < self.tail.len() {
                // The rendered bytes go first (the buffer with them).
                let mut rendered = Bytes::from(core::mem::take(&mut self.tail));
                rendered.advance(self.tail_at);
                self.tail_at = 0;
                self.segs.push_back(rendered);
            }
            self.len += b.len();
            self.segs.push_back(b);
        }
    }

    /// Appends through `f` to the buffer behind the segments (what `f` appends is
    /// queued). With less than a small message's room left, the buffer first grows
    /// by `room` (at least [`TAIL_IDLE`]): a caller that knows a run of messages is
    /// coming sizes the buffer for all of them at once.
    pub(crate) fn append<R>(&mut self, room: usize, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        if self.tail.capacity() - self.tail.len() < TAIL_ROOM {
            self.tail.reserve(room.max(TAIL_IDLE));
        }
        let before = self.tail.len();
        let r = f(&mut self.tail);
        self.len = self.len + self.tail.len() - before;
        r
    }

    /// Lets go of a large buffer once everything was written (an idle connection
    /// keeps a small one).
    pub(crate) fn shrink_idle(&mut self) {
        if self.len == 0 && self.tail.capacity() > TAIL_IDLE {
            self.tail = Vec::new();
        }
    }

    /// The buffer behind the segments, when nothing waits and it has room.
    #[inline]
    pub(crate) fn take_idle_buf(&mut self) -> Option<Vec<u8>> {
        if self.len == 0 && self.tail.capacity() > 0 {
            self.tail_at = 0;
            let mut buf = core::mem::take(&mut self.tail);
            buf.clear();
            Some(buf)
        } else {
            None
        }
    }

    /// Whether there is a buffer behind the segments.
    #[inline]
    pub(crate) fn has_buf(&self) -> bool {
        self.tail.capacity() > 0
    }

    /// Takes `buf` (emptied) as the buffer behind the segments when the queue has
    /// none with room; gives it back otherwise.
    #[inline]
    pub(crate) fn give_buf(&mut self, mut buf: Vec<u8>) -> Result<(), Vec<u8>> {
        if self.tail.capacity() == 0 {
            buf.clear();
            self.tail = buf;
            self.tail_at = 0;
            Ok(())
        } else {
            Err(buf)
        }
    }

    /// Bytes waiting.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The pieces in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let tail = &self.tail[self.tail_at..];
        let tail = (!tail.is_empty()).then_some(tail);
        self.segs.iter().map(|b| &b[..]).chain(tail)
    }
    pub(crate) fn clear(&mut self) {
        self.segs.clear();
        self.tail.clear();
        self.tail_at = 0;
        self.len = 0;
    }
}

impl bytes::Buf for OutQueue {
    fn remaining(&self) -> usize {
        self.len
    }
    fn chunk(&self) -> &[u8] {
        match self.segs.front() {
            Some(b) => b,
            None => &self.tail[self.tail_at..],
        }
    }
    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.len, "advance past the end of the queue");
        self.len -= cnt;
        while cnt > 0 {
            let Some(front) = self.segs.front_mut() else {
                self.tail_at += cnt;
                if self.tail_at == self.tail.len() {
                    // All written: the whole buffer is free again.
                    self.tail.clear();
                    self.tail_at = 0;
                }
                return;
            };
            if cnt < front.len() {
                front.advance(cnt);
                break;
            }
            cnt -= front.len();
            self.segs.pop_front();
        }
    }
    fn chunks_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, seg) in dst.iter_mut().zip(self.iter()) {
            *slot = std::io::IoSlice::new(seg);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(q: &OutQueue) -> Vec<u8> {
        q.iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn rendered_bytes_and_segments_keep_their_order() {
        let mut q = OutQueue::default();
        q.append(0, |b| b.extend_from_slice(b"ab"));
        q.append(0, |b| b.extend_from_slice(b"cd"));
        assert_eq!(q.iter().count(), 1, "appended bytes are one slice");
        q.push(Bytes::from_static(b"EF"));
        q.append(0, |b| b.extend_from_slice(b"gh"));
        q.push(Bytes::new());
        assert_eq!((q.len(), wire(&q)), (8, b"abcdEFgh".to_vec()));
        let mut slices = [std::io::IoSlice::new(&[]); 8];
        assert_eq!(q.chunks_vectored(&mut slices), 3);
        q.advance(5);
        assert_eq!((q.chunk(), wire(&q)), (&b"F"[..], b"Fgh".to_vec()));
        q.advance(2);
        assert_eq!((q.chunk(), q.len()), (&b"h"[..], 1));
        q.advance(1);
        assert!(q.is_empty() && q.chunk().is_empty());
        q.append(0, |b| b.extend_from_slice(b"ij"));
        assert_eq!(wire(&q), b"ij");
        q.clear();
        assert!(q.is_empty() && q.iter().next().is_none());
    }

    #[test]
    fn an_idle_queue_keeps_a_small_buffer() {
        let mut q = OutQueue::default();
        q.append(0, |b| b.extend_from_slice(&[b'x'; 4000]));
        assert!(q.tail.capacity() >= 4000);
        q.shrink_idle();
        assert_eq!(q.len(), 4000, "nothing is dropped while waiting");
        q.advance(4000);
        q.shrink_idle();
        assert_eq!(q.tail.capacity(), 0, "the large buffer is gone");
        q.append(0, |b| b.extend_from_slice(b"small"));
        q.advance(5);
        q.shrink_idle();
        assert!(q.tail.capacity() >= 5, "a small one stays");
    }

    #[test]
    fn the_buffer_of_an_idle_queue_can_be_lent_out_and_back() {
        let mut q = OutQueue::default();
        assert!(!q.has_buf() && q.take_idle_buf().is_none());
        q.append(0, |b| b.extend_from_slice(b"abc"));
        assert!(q.take_idle_buf().is_none(), "not while bytes wait");
        q.advance(2);
        assert!(q.take_idle_buf().is_none(), "not while bytes wait");
        q.advance(1);
        let buf = q.take_idle_buf().expect("idle, with a buffer");
        assert!(buf.is_empty() && buf.capacity() >= 3);
        assert!(!q.has_buf() && q.is_empty() && q.iter().next().is_none());
        // Without a buffer the queue makes one.
        q.append(0, |b| b.extend_from_slice(b"de"));
        assert_eq!(wire(&q), b"de");
        let mut other = vec![b'z'; 7];
        other.clear();
        assert_eq!(
            q.give_buf(other).map_err(|b| b.capacity()),
            Err(7),
            "it has one"
        );
        q.advance(2);
        let mine = q.take_idle_buf().unwrap();
        // A lent buffer is used from its start, whatever it held.
        q.give_buf(vec![b'q'; 5]).unwrap();
        assert!(q.has_buf() && q.is_empty());
        q.append(0, |b| b.extend_from_slice(b"fg"));
        assert_eq!((q.len(), wire(&q)), (2, b"fg".to_vec()));
        drop(mine);
    }
}
