//! The reference a request's handles hold to their connection.
//!
//! Every request gives the application two handles, an [`IncomingMessage`] and a
//! [`ServerResponse`], each holding a reference to the connection's [`Shared`]
//! state. Taking and releasing those references is an atomic operation each, four
//! per request, which costs more than the rest of a small request's handling put
//! together on some machines. Most handles are dropped by a handler the loop polls
//! inline, on the loop's own thread, while it hands out the events of a wake-up:
//! such a handle gives its reference back to the loop ([`Lending`]), and the loop's
//! next handles take it again rather than a new one. Handles dropped anywhere else
//! (another task, another thread, later) release their reference as usual.
//!
//! [`IncomingMessage`]: crate::IncomingMessage
//! [`ServerResponse`]: crate::ServerResponse

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::conn::Shared;

/// References a loop keeps at most (those of two 64-deep pipelined batches): more
/// are released.
const KEPT: usize = 128;

std::thread_local! {
    /// The connection whose loop is handing out events on this thread (its
    /// [`Shared`]'s address), or 0.
    static LENDING: Cell<usize> = const { Cell::new(0) };
    /// The references its handles gave back meanwhile.
    static RETURNED: RefCell<Vec<Arc<Shared>>> = const { RefCell::new(Vec::new()) };
}

fn address(shared: &Arc<Shared>) -> usize {
    Arc::as_ptr(shared) as usize
}

/// A handle's reference to its connection's [`Shared`] state (see the module docs).
pub(crate) struct HandleRef(Option<Arc<Shared>>);

impl HandleRef {
    /// A reference for a new handle of `shared`'s connection: one of those its
    /// loop kept (`kept`, see [`Lending::finish`]), else a new one.
    #[inline]
    pub(crate) fn take(kept: &mut Vec<Arc<Shared>>, shared: &Arc<Shared>) -> Self {
        HandleRef(Some(kept.pop().unwrap_or_else(|| Arc::clone(shared))))
    }
}

impl From<Arc<Shared>> for HandleRef {
    fn from(shared: Arc<Shared>) -> Self {
        HandleRef(Some(shared))
    }
}

impl core::ops::Deref for HandleRef {
    type Target = Arc<Shared>;

    #[inline]
    fn deref(&self) -> &Arc<Shared> {
        match &self.0 {
            Some(shared) => shared,
            // Taken only by `drop`, after which nothing reads it.
            None => unreachable!("a handle's reference is read after its drop"),
        }
    }
}

impl Drop for HandleRef {
    #[inline]
    fn drop(&mut self) {
        let Some(shared) = self.0.take() else {
            return;
        };
        if LENDING.try_with(Cell::get) != Ok(address(&shared)) {
            return;
        }
        // A reference not kept is released after the thread-local is let go (its
        // release may drop the connection's state, whose own drop may use it).
        let _released = RETURNED.try_with(move |r| match r.try_borrow_mut() {
            Ok(mut r) if r.len() < KEPT => {
                r.push(shared);
                None
            }
            _ => Some(shared),
        });
    }
}

/// A loop handing out a wake-up's events: the references its handles give back
/// meanwhile are collected for it (see the module docs).
pub(crate) struct Lending {
    on: bool,
}

impl Lending {
    /// `shared`'s loop starts handing out events on this thread.
    #[inline]
    pub(crate) fn start(shared: &Arc<Shared>) -> Self {
        let id = address(shared);
        let on = LENDING
            .try_with(|l| {
                let free = l.get() == 0;
                if free {
                    l.set(id);
                }
                free
            })
            .unwrap_or(false);
        Lending { on }
    }

    /// The loop is done handing out events: the references given back go to
    /// `kept`, for its next handles ([`HandleRef::take`]).
    #[inline]
    pub(crate) fn finish(mut self, kept: &mut Vec<Arc<Shared>>) {
        if !self.on {
            return;
        }
        self.on = false;
        let _ = LENDING.try_with(|l| l.set(0));
        let _ = RETURNED.try_with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                // The usual case: the wake-up's handles took every kept reference,
                // and the vectors trade places (no copy).
                if kept.is_empty() {
                    std::mem::swap(kept, &mut *r);
                } else {
                    kept.append(&mut r);
                }
            }
        });
    }
}

impl Drop for Lending {
    fn drop(&mut self) {
        if !self.on {
            return;
        }
        // Not finished (a handler panicked): what was given back is released.
        let _ = LENDING.try_with(|l| l.set(0));
        let returned = RETURNED
            .try_with(|r| r.try_borrow_mut().map(|mut r| std::mem::take(&mut *r)).ok())
            .ok()
            .flatten();
        drop(returned);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::{HandleRef, KEPT, Lending};
    use crate::{Connection, ServerOptions};

    fn connection() -> Connection {
        let now = Instant::now();
        Connection::new(
            Arc::new(ServerOptions::default().to_config().unwrap()),
            now,
            now,
        )
    }

    #[test]
    fn a_handle_dropped_while_its_loop_lends_gives_its_reference_back() {
        let conn = connection();
        let s = conn.shared();
        let base = Arc::strong_count(s);
        let mut kept = Vec::new();

        let lending = Lending::start(s);
        let (a, b) = (HandleRef::take(&mut kept, s), HandleRef::take(&mut kept, s));
        assert_eq!(Arc::strong_count(s), base + 2);
        drop((a, b));
        assert_eq!(Arc::strong_count(s), base + 2, "given back, not released");
        lending.finish(&mut kept);
        assert_eq!(kept.len(), 2);

        // The next wake-up's handles take them: no new reference.
        let lending = Lending::start(s);
        let c = HandleRef::take(&mut kept, s);
        assert_eq!((kept.len(), Arc::strong_count(s)), (1, base + 2));
        drop(c);
        lending.finish(&mut kept);
        assert_eq!(kept.len(), 2);

        drop(kept);
        assert_eq!(Arc::strong_count(s), base, "the loop's end releases them");
    }

    #[test]
    fn a_handle_dropped_outside_a_lending_releases_its_reference() {
        let conn = connection();
        let s = conn.shared();
        let base = Arc::strong_count(s);
        let mut kept = Vec::new();
        let lending = Lending::start(s);
        let a = HandleRef::take(&mut kept, s);
        lending.finish(&mut kept);
        // Kept by the application past the wake-up.
        drop(a);
        assert_eq!(Arc::strong_count(s), base);
        assert!(kept.is_empty());
    }

    #[test]
    fn a_handle_of_another_connection_is_released() {
        let (one, two) = (connection(), connection());
        let (s1, s2) = (one.shared(), two.shared());
        let (base1, base2) = (Arc::strong_count(s1), Arc::strong_count(s2));
        let (mut kept1, mut kept2) = (Vec::new(), Vec::new());
        let other = HandleRef::take(&mut kept2, s2);

        let lending = Lending::start(s1);
        drop(other);
        let own = HandleRef::take(&mut kept1, s1);
        drop(own);
        lending.finish(&mut kept1);

        assert_eq!(Arc::strong_count(s2), base2);
        assert_eq!(kept1.len(), 1);
        assert!(kept1.iter().all(|a| Arc::ptr_eq(a, s1)));
        drop(kept1);
        assert_eq!(Arc::strong_count(s1), base1);
    }

    #[test]
    fn an_unfinished_lending_releases_what_came_back() {
        let (one, two) = (connection(), connection());
        let (s1, s2) = (one.shared(), two.shared());
        let base1 = Arc::strong_count(s1);
        let (mut kept1, mut kept2) = (Vec::new(), Vec::new());
        {
            // As when a handler panics: the lending is dropped, not finished.
            let _lending = Lending::start(s1);
            drop(HandleRef::take(&mut kept1, s1));
        }
        assert_eq!(Arc::strong_count(s1), base1);
        // The next loop on the thread lends afresh and gets only its own.
        let lending = Lending::start(s2);
        drop(HandleRef::take(&mut kept2, s2));
        lending.finish(&mut kept2);
        assert_eq!(kept2.len(), 1);
        assert!(Arc::ptr_eq(&kept2[0], s2));
    }

    #[test]
    fn a_loop_keeps_a_bounded_number() {
        let conn = connection();
        let s = conn.shared();
        let base = Arc::strong_count(s);
        let mut kept = Vec::new();
        let handles: Vec<HandleRef> = (0..KEPT + 10)
            .map(|_| HandleRef::take(&mut kept, s))
            .collect();
        let lending = Lending::start(s);
        drop(handles);
        lending.finish(&mut kept);
        assert_eq!(kept.len(), KEPT);
        assert_eq!(Arc::strong_count(s), base + KEPT);
    }
}
