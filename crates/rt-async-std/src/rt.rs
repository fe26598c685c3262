//! The executor is the application's: a [`Spawn`] runs the adapter's futures (one
//! per connection, the handlers that wait). async-io's reactor and timers serve every
//! executor, smol's and async-std's alike.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use courier_rt::drive::{Runtime, Timer};

/// A boxed future handed to a [`Spawn`].
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs futures on the application's executor: each on a task of its own, detached
/// (the adapter never waits for one). Implemented for every
/// `Fn(BoxFuture) + Send + Sync` closure, for example
/// `|f| { async_std::task::spawn(f); }` or `move |f| executor.spawn(f).detach()`.
pub trait Spawn: Send + Sync + 'static {
    /// Runs `future` to completion on a task of its own.
    fn spawn(&self, future: BoxFuture);
}

impl<F> Spawn for F
where
    F: Fn(BoxFuture) + Send + Sync + 'static,
{
    fn spawn(&self, future: BoxFuture) {
        self(future)
    }
}

/// smol's global executor: `smol::spawn(future).detach()`.
#[cfg(feature = "smol")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SmolSpawner;

#[cfg(feature = "smol")]
impl Spawn for SmolSpawner {
    fn spawn(&self, future: BoxFuture) {
        smol::spawn(future).detach();
    }
}

/// The shared loops' runtime: the system clock, async-io timers and the
/// application's spawner.
#[derive(Clone)]
pub(crate) struct AsyncRt {
    spawner: Arc<dyn Spawn>,
}

impl fmt::Debug for AsyncRt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncRt").finish_non_exhaustive()
    }
}

impl AsyncRt {
    pub(crate) fn new(spawner: Arc<dyn Spawn>) -> Self {
        Self { spawner }
    }

    /// The runtime spawning on smol's global executor.
    #[cfg(feature = "smol")]
    pub(crate) fn smol() -> Self {
        static RT: std::sync::OnceLock<AsyncRt> = std::sync::OnceLock::new();
        RT.get_or_init(|| Self::new(Arc::new(SmolSpawner))).clone()
    }
}

/// An async-io timer, set to each deadline.
pub(crate) struct AsyncTimer(async_io::Timer);

impl Timer for AsyncTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0.set_at(deadline);
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Runtime for AsyncRt {
    type Timer = AsyncTimer;

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn timer(&self) -> AsyncTimer {
        AsyncTimer(async_io::Timer::never())
    }

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        self.spawner.spawn(Box::pin(future));
    }
}
