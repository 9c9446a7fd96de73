//! [`Shared`]: one sink fed by several stages.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::{Error, Sink, StageError};

/// A handle to a sink that several stages feed, like the one printer that
/// the three greps of `cobroadcast` share.
///
/// Clone the handle for each upstream stage. The sink is closed when the
/// last handle is closed or dropped, so it sees one close after all its
/// upstreams have finished (Python's seed closes it once per upstream and
/// crashes on the second; see the README).
///
/// Sending into the shared sink from inside itself (a cycle) is an error,
/// not a panic.
///
/// ```
/// use corio::pipe::{self, Shared};
///
/// let mut out = Vec::new();
/// let shared = Shared::new(&mut out);
/// let targets = vec![
///     pipe::filter(|s: &&str| s.contains('a'), shared.clone()),
///     pipe::filter(|s: &&str| s.contains('b'), shared),
/// ];
/// pipe::from_iter(["ab", "b", "c"], pipe::broadcast(targets)).unwrap();
/// assert_eq!(out, ["ab", "ab", "b"]);
/// ```
pub struct Shared<S> {
    inner: Rc<SharedInner<S>>,
    open: bool,
}

struct SharedInner<S> {
    sink: RefCell<S>,
    open_handles: Cell<usize>,
}

impl<S> Shared<S> {
    /// Shares `sink`; this is the first handle.
    pub fn new(sink: S) -> Self {
        Shared {
            inner: Rc::new(SharedInner {
                sink: RefCell::new(sink),
                open_handles: Cell::new(1),
            }),
            open: true,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut S) -> Result<R, Error>) -> Result<R, Error> {
        match self.inner.sink.try_borrow_mut() {
            Ok(mut sink) => f(&mut sink),
            Err(_) => Err(Error::msg(
                "shared sink re-entered: a stage sent into a sink it feeds",
            )),
        }
    }

    /// Marks this handle closed; true if it was the last open one.
    fn release(&mut self) -> bool {
        if !self.open {
            return false;
        }
        self.open = false;
        let n = self.inner.open_handles.get() - 1;
        self.inner.open_handles.set(n);
        n == 0
    }
}

impl<S> Clone for Shared<S> {
    /// A new open handle to the same sink.
    fn clone(&self) -> Self {
        self.inner
            .open_handles
            .set(self.inner.open_handles.get() + 1);
        Shared {
            inner: Rc::clone(&self.inner),
            open: true,
        }
    }
}

impl<T, S: Sink<T>> Sink<T> for Shared<S> {
    fn send(&mut self, item: T) -> Result<(), Error> {
        if !self.open {
            return Err(Error::new(StageError::Finished));
        }
        self.with(|sink| sink.send(item))
    }

    fn throw(&mut self, error: Error) -> Result<(), Error> {
        self.with(|sink| sink.throw(error))
    }

    fn close(&mut self) -> Result<(), Error> {
        if self.release() {
            self.with(|sink| sink.close())
        } else {
            Ok(())
        }
    }

    fn is_finished(&self) -> bool {
        !self.open
            || self
                .inner
                .sink
                .try_borrow()
                .map(|sink| sink.is_finished())
                .unwrap_or(false)
    }
}

impl<S> Drop for Shared<S> {
    /// Dropping an open handle counts as closing it: the sink itself is
    /// dropped (and so, if it is a [`Consumer`](super::Consumer), closed)
    /// with the last one.
    fn drop(&mut self) {
        self.release();
    }
}

impl<S> std::fmt::Debug for Shared<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("open", &self.open)
            .field("open_handles", &self.inner.open_handles.get())
            .finish()
    }
}
