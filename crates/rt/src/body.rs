//! The bounded body queue of a received message (the server's `IncomingMessage`, the
//! client's `ClientResponse`): one producer (the connection's driver) and one consumer
//! (the application's message handle).
//!
//! The producer pushes body pieces as the machine parses them and stops reading from
//! the socket while [`BodySender::is_full`]; the consumer pops them, and the producer's
//! waker is called as soon as the queue drops below the high-water mark again. The
//! queue ends with the message's trailers, or fails (Node's `aborted`, MSG-10).
//!
//! Dropping the consumer discards everything queued and everything pushed later
//! (Node reads and discards a body nobody listens to, MSG-12, MSG-13); the producer
//! then never stops for it.
//!
//! The queue has a lock of its own, held only for a push or a pop, and wakers are
//! called after it is released, so either side may hold any other lock meanwhile (the
//! `_deferred` calls return the waker instead, for a producer that wakes only after
//! releasing its own lock).
//!
//! A message known to have no body gets [`BodyReceiver::empty`]: complete, no
//! trailers, and no queue (nothing is allocated).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use courier_proto::Headers;
use futures_core::Stream;

/// How the body ended.
#[derive(Debug, Clone)]
enum End {
    /// Complete, with its trailers (empty without).
    Complete(Headers),
    /// Cut short: the error the consumer gets once the queue is empty.
    Failed(io::ErrorKind, &'static str),
}

/// The queued pieces, oldest first. The oldest sits inline: a body that arrives in
/// one piece (most do) queues nothing on the heap.
#[derive(Debug, Default)]
struct Pieces {
    /// The oldest piece; `None` only when `rest` is empty too, or after a pop.
    first: Option<Bytes>,
    /// The pieces after `first`.
    rest: VecDeque<Bytes>,
}

impl Pieces {
    fn push_back(&mut self, piece: Bytes) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(piece);
        } else {
            self.rest.push_back(piece);
        }
    }

    fn pop_front(&mut self) -> Option<Bytes> {
        self.first.take().or_else(|| self.rest.pop_front())
    }

    fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }
}

#[derive(Debug)]
pub(crate) struct Queue {
    pieces: Pieces,
    queued: usize,
    high_water: usize,
    end: Option<End>,
    consumer_gone: bool,
    producer_gone: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

fn lock(q: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    q.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A new body queue that holds up to `high_water` unread bytes before
/// [`BodySender::is_full`] says stop (a single piece may exceed it).
pub fn channel(high_water: usize) -> (BodySender, BodyReceiver) {
    let q = Arc::new(Mutex::new(Queue::new(high_water)));
    (BodySender { q: Arc::clone(&q) }, BodyReceiver::new(Some(q)))
}

impl Queue {
    fn new(high_water: usize) -> Self {
        Self {
            pieces: Pieces::default(),
            queued: 0,
            high_water: high_water.max(1),
            end: None,
            consumer_gone: false,
            producer_gone: false,
            reader: None,
            writer: None,
        }
    }
}

/// The memory of the last queue [`channel_reusing`] made, kept by a connection for
/// its next message.
#[derive(Debug, Default)]
pub struct BodySpare(Option<Arc<Mutex<Queue>>>);

/// [`channel`], reusing the allocation of the queue `spare` made last when both of
/// its halves are gone (a new queue otherwise); `spare` then remembers the new one.
/// The queue behaves exactly as a new one.
pub fn channel_reusing(spare: &mut BodySpare, high_water: usize) -> (BodySender, BodyReceiver) {
    let reused = spare.0.take().and_then(|mut q| {
        let m = Arc::get_mut(&mut q)?;
        *m.get_mut().unwrap_or_else(PoisonError::into_inner) = Queue::new(high_water);
        Some(q)
    });
    let q = reused.unwrap_or_else(|| Arc::new(Mutex::new(Queue::new(high_water))));
    spare.0 = Some(Arc::clone(&q));
    (BodySender { q: Arc::clone(&q) }, BodyReceiver::new(Some(q)))
}

/// A body queue's receiving end before its [`BodyReceiver`] is made: the queue
/// (`None` for a body known to be empty). One word, where the receiver is several:
/// a request's parts travel through the server loop in this form.
#[derive(Debug, Default)]
pub(crate) struct QueueRef(Option<Arc<Mutex<Queue>>>);

impl QueueRef {
    /// The receiver reading this queue.
    pub(crate) fn receiver(mut self) -> BodyReceiver {
        BodyReceiver::new(self.0.take())
    }
}

impl Drop for QueueRef {
    fn drop(&mut self) {
        // Never read: discarded as a dropped receiver's queue is.
        if let Some(q) = self.0.take() {
            drop(BodyReceiver::new(Some(q)));
        }
    }
}

/// [`channel`], with the receiving end not made yet.
pub(crate) fn channel_ref(high_water: usize) -> (BodySender, QueueRef) {
    let (tx, mut rx) = channel(high_water);
    (tx, QueueRef(rx.q.take()))
}

/// The producing half of a body queue.
#[derive(Debug)]
pub struct BodySender {
    q: Arc<Mutex<Queue>>,
}

impl BodySender {
    /// Queues a piece. Discarded when the consumer is gone or the body ended.
    pub fn push(&self, piece: Bytes) {
        if let Some(w) = self.push_deferred(piece) {
            w.wake();
        }
    }

    /// [`Self::push`], returning the consumer's waker instead of calling it.
    pub fn push_deferred(&self, piece: Bytes) -> Option<Waker> {
        if piece.is_empty() {
            return None;
        }
        let mut q = lock(&self.q);
        if q.consumer_gone || q.end.is_some() {
            return None;
        }
        q.queued += piece.len();
        q.pieces.push_back(piece);
        q.reader.take()
    }

    /// The body is complete, with `trailers` (MSG-8, MSG-9).
    pub fn end(&self, trailers: Headers) {
        self.finish(End::Complete(trailers));
    }

    /// The body was cut short: after the queued pieces the consumer reads one error
    /// of `kind` with `message` (Node's `ECONNRESET` / `aborted`, MSG-10).
    pub fn fail(&self, kind: io::ErrorKind, message: &'static str) {
        self.finish(End::Failed(kind, message));
    }

    /// [`Self::fail`], returning the consumer's waker instead of calling it.
    pub fn fail_deferred(&self, kind: io::ErrorKind, message: &'static str) -> Option<Waker> {
        self.finish_deferred(End::Failed(kind, message))
    }

    /// [`Self::end`], returning the consumer's waker instead of calling it, for a
    /// caller that must finish other bookkeeping first (the client releases the
    /// socket to its agent before the application sees the end).
    pub fn end_deferred(&self, trailers: Headers) -> Option<Waker> {
        self.finish_deferred(End::Complete(trailers))
    }

    fn finish(&self, end: End) {
        if let Some(w) = self.finish_deferred(end) {
            w.wake();
        }
    }

    fn finish_deferred(&self, end: End) -> Option<Waker> {
        let mut q = lock(&self.q);
        if q.end.is_some() {
            return None;
        }
        q.end = Some(end);
        q.reader.take()
    }

    /// Whether the consumer holds `high_water` unread bytes or more: stop reading.
    pub fn is_full(&self) -> bool {
        self.poll_full(None)
    }

    /// [`Self::is_full`], registering `waker` (if any) to be woken when the queue
    /// drains below the mark (or the consumer goes away).
    pub fn poll_full(&self, waker: Option<&Waker>) -> bool {
        let mut q = lock(&self.q);
        let full = !q.consumer_gone && q.queued >= q.high_water;
        if let (true, Some(waker)) = (full, waker) {
            match &q.writer {
                Some(w) if w.will_wake(waker) => {}
                _ => q.writer = Some(waker.clone()),
            }
        }
        full
    }

    /// Whether the body ended (completely or not).
    pub fn is_ended(&self) -> bool {
        lock(&self.q).end.is_some()
    }

    /// Whether the consumer was dropped.
    pub fn is_discarding(&self) -> bool {
        lock(&self.q).consumer_gone
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        let waker = {
            let mut q = lock(&self.q);
            q.producer_gone = true;
            q.reader.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The consuming half of a body queue: a [`Stream`] of pieces (also
/// `tokio::io::AsyncRead` with the `tokio-io` feature) that ends with `None` after a
/// complete body and yields one error after a cut-short one.
#[derive(Debug)]
pub struct BodyReceiver {
    /// `None`: a body known to be empty ([`Self::empty`]).
    q: Option<Arc<Mutex<Queue>>>,
    /// The stream returned its end (or its error).
    done: bool,
    /// The stream returned its end (Node's `readableEnded`).
    read_ended: bool,
    /// Destroyed before its end was read ([`Self::destroy`]).
    destroyed_early: bool,
    /// The error given to [`Self::destroy`], returned by the next read.
    destroy_error: Option<io::Error>,
    /// The unread rest of a piece partly consumed through `AsyncRead` (never empty).
    /// Boxed: a request handle is moved around whole, and 128 bytes or less move
    /// without a call to `memcpy`.
    pending: Option<Box<Bytes>>,
}

impl BodyReceiver {
    /// The body of a message that has none: complete, without trailers, and
    /// allocating nothing.
    pub fn empty() -> Self {
        Self::new(None)
    }

    fn new(q: Option<Arc<Mutex<Queue>>>) -> Self {
        Self {
            q,
            done: false,
            read_ended: false,
            destroyed_early: false,
            destroy_error: None,
            pending: None,
        }
    }

    /// The next piece; `Ready(None)` at the end of a complete body.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        if let Some(e) = self.destroy_error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        if let Some(rest) = self.pending.take() {
            return Poll::Ready(Some(Ok(*rest)));
        }
        if self.done {
            return Poll::Ready(None);
        }
        let Some(q) = &self.q else {
            self.done = true;
            self.read_ended = true;
            return Poll::Ready(None);
        };
        let (out, waker) = {
            let mut q = lock(q);
            if let Some(piece) = q.pieces.pop_front() {
                let was_full = q.queued >= q.high_water;
                q.queued -= piece.len();
                let w = if was_full && q.queued < q.high_water {
                    q.writer.take()
                } else {
                    None
                };
                (Poll::Ready(Some(Ok(piece))), w)
            } else {
                match &q.end {
                    Some(End::Complete(_)) => {
                        self.done = true;
                        self.read_ended = true;
                        (Poll::Ready(None), None)
                    }
                    Some(End::Failed(kind, msg)) => {
                        self.done = true;
                        (Poll::Ready(Some(Err(io::Error::new(*kind, *msg)))), None)
                    }
                    None if q.producer_gone => {
                        self.done = true;
                        let e = io::Error::new(io::ErrorKind::ConnectionReset, "aborted");
                        (Poll::Ready(Some(Err(e))), None)
                    }
                    None => {
                        match &q.reader {
                            Some(w) if w.will_wake(cx.waker()) => {}
                            _ => q.reader = Some(cx.waker().clone()),
                        }
                        (Poll::Pending, None)
                    }
                }
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
        out
    }

    /// The next piece; `None` at the end of a complete body.
    pub async fn chunk(&mut self) -> Option<io::Result<Bytes>> {
        core::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Reads the rest of the body into one buffer (no copy when it is one piece).
    pub async fn read_all(&mut self) -> io::Result<Bytes> {
        let mut first: Option<Bytes> = None;
        let mut all = BytesMut::new();
        while let Some(piece) = self.chunk().await {
            let piece = piece?;
            if let Some(f) = first.take() {
                all.extend_from_slice(&f);
            }
            if all.is_empty() {
                first = Some(piece);
            } else {
                all.extend_from_slice(&piece);
            }
        }
        Ok(first.unwrap_or_else(|| all.freeze()))
    }

    /// Runs `f` on the trailers once the body is complete (`None` before and after a
    /// failure; empty fields without trailers).
    pub fn with_trailers<R>(&self, f: impl FnOnce(&Headers) -> R) -> Option<R> {
        let Some(q) = &self.q else {
            return Some(f(&Headers::new()));
        };
        match &lock(q).end {
            Some(End::Complete(t)) => Some(f(t)),
            _ => None,
        }
    }

    /// The trailers, once the body is complete (`None` before and after a failure).
    pub fn trailers(&self) -> Option<Headers> {
        self.with_trailers(Headers::clone)
    }

    /// Whether the whole body was received (Node's `complete`, MSG-9).
    pub fn is_complete(&self) -> bool {
        match &self.q {
            None => true,
            Some(q) => matches!(lock(q).end, Some(End::Complete(_))),
        }
    }

    /// Whether the body was cut short (Node's `aborted`, MSG-10): by the producer, or
    /// by `IncomingMessage::destroy` before its end was read.
    pub fn is_aborted(&self) -> bool {
        if self.destroyed_early {
            return true;
        }
        let Some(q) = &self.q else { return false };
        let q = lock(q);
        matches!(q.end, Some(End::Failed(..))) || (q.end.is_none() && q.producer_gone)
    }

    /// Unread bytes in the queue.
    pub fn queued(&self) -> usize {
        let queued = self.q.as_ref().map_or(0, |q| lock(q).queued);
        queued + self.pending.as_ref().map_or(0, |rest| rest.len())
    }

    /// Node's `destroy(err)` on the readable side: nothing more is read (the unread
    /// pieces are discarded, the producer never stops for this body again); the next
    /// read returns `err` (if given), then the end. Returns whether the body was cut
    /// short, i.e. its end had not been read: it is then [aborted](Self::is_aborted)
    /// (Node's `IncomingMessage._destroy`, MSG-10).
    pub(crate) fn destroy(&mut self, err: Option<io::Error>) -> bool {
        let early = !self.read_ended;
        if early {
            self.destroyed_early = true;
            self.discard();
        }
        self.pending = None;
        self.done = true;
        self.destroy_error = err;
        early
    }

    /// The consumer reads no more: queued and later pieces are dropped and a producer
    /// held back by this body may go on. Inlined: a request without a body has no
    /// queue, and its drop is then this one test.
    #[inline]
    fn discard(&self) {
        if let Some(q) = &self.q {
            Self::discard_queue(q);
        }
    }

    /// [`Self::discard`] for a body with a queue.
    #[inline(never)]
    fn discard_queue(q: &Arc<Mutex<Queue>>) {
        let waker = {
            let mut q = lock(q);
            q.consumer_gone = true;
            q.pieces.clear();
            q.queued = 0;
            q.writer.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// `AsyncRead` over pieces: copies the front of `held` (bytes taken earlier, not read
/// yet) into `buf`, as much as fits; when nothing is held, first takes the next piece
/// from `next`, which is told how much `buf` has room for (`None`: the end).
#[cfg(feature = "tokio-io")]
pub(crate) fn poll_read_held(
    held: &mut Bytes,
    buf: &mut tokio::io::ReadBuf<'_>,
    next: impl FnOnce(usize) -> Poll<Option<io::Result<Bytes>>>,
) -> Poll<io::Result<()>> {
    if held.is_empty() {
        match next(buf.remaining()) {
            Poll::Ready(Some(Ok(piece))) => *held = piece,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
            Poll::Ready(None) => return Poll::Ready(Ok(())),
            Poll::Pending => return Poll::Pending,
        }
    }
    let n = held.len().min(buf.remaining());
    buf.put_slice(&held.split_to(n));
    Poll::Ready(Ok(()))
}

impl Stream for BodyReceiver {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for BodyReceiver {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut held = this.pending.take().map_or_else(Bytes::new, |rest| *rest);
        let read = poll_read_held(&mut held, buf, |_| this.poll_chunk(cx));
        this.pending = (!held.is_empty()).then(|| Box::new(held));
        read
    }
}

impl Drop for BodyReceiver {
    fn drop(&mut self) {
        self.discard();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn back_pressure_and_end() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let mut cx = Context::from_waker(&waker);
        let (tx, mut rx) = channel(4);
        tx.push(Bytes::from_static(b"abc"));
        assert!(!tx.poll_full(Some(&waker)));
        tx.push(Bytes::from_static(b"de"));
        assert!(tx.poll_full(Some(&waker)));
        assert!(matches!(rx.poll_chunk(&mut cx), Poll::Ready(Some(Ok(b))) if b == "abc"));
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "the producer is woken below the mark"
        );
        assert!(!tx.is_full());
        tx.end(Headers::new());
        assert!(matches!(rx.poll_chunk(&mut cx), Poll::Ready(Some(Ok(b))) if b == "de"));
        assert!(matches!(rx.poll_chunk(&mut cx), Poll::Ready(None)));
        assert!(rx.is_complete() && !rx.is_aborted());
    }

    #[test]
    fn failure_and_discard() {
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let (tx, mut rx) = channel(4);
        tx.push(Bytes::from_static(b"x"));
        tx.fail(io::ErrorKind::ConnectionReset, "aborted");
        assert!(matches!(rx.poll_chunk(&mut cx), Poll::Ready(Some(Ok(_)))));
        let Poll::Ready(Some(Err(e))) = rx.poll_chunk(&mut cx) else {
            panic!("an error")
        };
        assert_eq!(e.to_string(), "aborted");
        assert!(rx.is_aborted());

        let (tx, rx) = channel(1);
        drop(rx);
        tx.push(Bytes::from_static(b"never held"));
        assert!(!tx.is_full() && tx.is_discarding());
    }

    #[test]
    fn empty_and_destroy() {
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let mut rx = BodyReceiver::empty();
        assert!(rx.is_complete() && !rx.is_aborted());
        assert_eq!(rx.trailers().map(|t| t.len()), Some(0));
        assert!(rx.destroy(None), "its end was not read yet: cut short");
        assert!(
            rx.is_aborted() && rx.is_complete(),
            "Node: aborted, still complete"
        );

        let mut rx = BodyReceiver::empty();
        assert!(matches!(rx.poll_chunk(&mut cx), Poll::Ready(None)));
        assert!(!rx.destroy(Some(io::Error::other("late"))));
        assert!(!rx.is_aborted(), "read to its end first");
        assert!(matches!(rx.poll_chunk(&mut cx), Poll::Ready(Some(Err(_)))));
        assert!(matches!(rx.poll_chunk(&mut cx), Poll::Ready(None)));

        let (tx, mut rx) = channel(2);
        tx.push(Bytes::from_static(b"abc"));
        assert!(tx.is_full());
        assert!(rx.destroy(None));
        assert!(!tx.is_full() && tx.is_discarding(), "the producer goes on");
        assert!(matches!(rx.poll_chunk(&mut cx), Poll::Ready(None)));
    }
}
