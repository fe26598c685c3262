//! Running the application's request handler: its future is polled once in place on
//! the connection's task, and only a future that is still pending gets a task of its
//! own.
//!
//! Most handlers answer at once (`res.end(…)` without waiting for anything): polling
//! them inline saves the task allocation, the spawn and the extra wake-ups, and lets
//! the connection write the answers of a whole pipelined batch in one go. Each
//! connection keeps one reusable slot per handler, so a handler that completes in its
//! first poll costs no allocation; a pending one takes its slot along to its task and
//! the connection makes a new slot for the next request.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use courier_rt::{IncomingMessage, ServerResponse};

/// A request handler (`'request'`, `'checkContinue'`, `'checkExpectation'`).
pub(crate) trait RequestHandler: Send + Sync + 'static {
    /// A runner for one connection.
    fn runner(self: Arc<Self>) -> Box<dyn Runner>;
}

/// Runs a handler for the requests of one connection.
pub(crate) trait Runner: Send {
    /// Calls the handler for one request and polls its future once with `cx` (the
    /// connection task's context); a future still pending continues on a task of its
    /// own. A panic in the handler is caught (and reported by the panic hook, as
    /// tokio reports a panicking task): the future and its handles are dropped, so an
    /// unended response destroys its connection, as a dropped response always does.
    fn run(&mut self, req: IncomingMessage, res: ServerResponse, cx: &mut Context<'_>);
}

/// The application's closure as a [`RequestHandler`].
pub(crate) struct FnHandler<H>(pub(crate) H);

impl<H, F> RequestHandler for FnHandler<H>
where
    H: Fn(IncomingMessage, ServerResponse) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    fn runner(self: Arc<Self>) -> Box<dyn Runner> {
        Box::new(FnRunner::<H, F> {
            handler: self,
            slot: None,
        })
    }
}

/// A place for the handler's future that does not move once it is polled.
type Slot<F> = Pin<Box<Option<F>>>;

struct FnRunner<H, F> {
    handler: Arc<FnHandler<H>>,
    /// Reused while the handler's futures complete in their first poll.
    slot: Option<Slot<F>>,
}

impl<H, F> Runner for FnRunner<H, F>
where
    H: Fn(IncomingMessage, ServerResponse) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    fn run(&mut self, req: IncomingMessage, res: ServerResponse, cx: &mut Context<'_>) {
        let handler = &self.handler.0;
        let slot = self.slot.get_or_insert_with(|| Box::pin(None));
        let polled = catch_unwind(AssertUnwindSafe(|| {
            slot.set(Some(handler(req, res)));
            match slot.as_mut().as_pin_mut() {
                Some(f) => f.poll(cx),
                None => Poll::Ready(()),
            }
        }));
        match polled {
            Ok(Poll::Ready(())) => {
                // Empty the slot for the next request (the finished future owns
                // nothing any more, but drop it in place all the same).
                let emptied = catch_unwind(AssertUnwindSafe(|| slot.set(None)));
                if emptied.is_err() {
                    self.slot = None;
                }
            }
            Ok(Poll::Pending) => {
                if let Some(slot) = self.slot.take() {
                    tokio::spawn(Spawned(slot));
                }
            }
            Err(_panic) => {
                // Drop the future (and the handles it holds); a panic while dropping
                // is swallowed as well, as tokio does for a task.
                let slot = self.slot.take();
                let _ = catch_unwind(AssertUnwindSafe(move || drop(slot)));
            }
        }
    }
}

/// A handler's future that went pending in its first poll, on a task of its own.
struct Spawned<F>(Slot<F>);

impl<F: Future<Output = ()>> Future for Spawned<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.get_mut().0.as_mut().as_pin_mut() {
            Some(f) => f.poll(cx),
            None => Poll::Ready(()),
        }
    }
}
