//! What every connection machine shares: the queue of bytes to write and the way a
//! connection asks to be closed.

use std::collections::VecDeque;

use bytes::Bytes;

/// How the connection should be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// Write everything in the connection's outgoing queue, then close (Node's `end`).
    AfterFlush,
    /// Close now; unsent bytes are dropped (Node's `destroy`).
    Now,
}

/// The bytes waiting to be written, in order; a `bytes::Buf` for vectored writes.
#[derive(Debug, Default)]
pub struct OutQueue {
    segs: VecDeque<Bytes>,
    len: usize,
}

impl OutQueue {
    pub(crate) fn push(&mut self, b: Bytes) {
        if !b.is_empty() {
            self.len += b.len();
            self.segs.push_back(b);
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
    /// The segments in order.
    pub fn iter(&self) -> impl Iterator<Item = &Bytes> {
        self.segs.iter()
    }
    pub(crate) fn clear(&mut self) {
        self.segs.clear();
        self.len = 0;
    }
}

impl bytes::Buf for OutQueue {
    fn remaining(&self) -> usize {
        self.len
    }
    fn chunk(&self) -> &[u8] {
        self.segs.front().map_or(&[], |b| &b[..])
    }
    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.len, "advance past the end of the queue");
        self.len -= cnt;
        while cnt > 0 {
            let Some(front) = self.segs.front_mut() else {
                break;
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
        for (slot, seg) in dst.iter_mut().zip(self.segs.iter()) {
            *slot = std::io::IoSlice::new(seg);
            n += 1;
        }
        n
    }
}
