//! [`Registration`]: one fd's readiness and waiting tasks, and the I/O
//! loops built on them.

use std::fmt;
use std::io;
use std::mem;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::util::lock;

use super::readiness::{
    Direction, IoState, ReadyEvent, READABLE, READ_CLOSED, TICK_MASK, WRITABLE, WRITE_CLOSED,
};
use super::{Inner, Reactor};

/// An fd's registration with a [`Reactor`]: its readiness and the wakers of
/// the tasks waiting for it.
///
/// Dropping it removes the fd from the poller. Drop it *before* closing the
/// fd: an I/O type declares its `Registration` field before its `OwnedFd`
/// field, so that the fields drop in that order. (Closed first, the fd's
/// number could be reused by a new fd, whose registration the late drop
/// would then remove.) Its methods take `&self`, so it can be shared
/// through an `Arc` and used by several tasks at once, in either direction
/// or the same one.
pub struct Registration {
    pub(super) io: Arc<IoState>,
    pub(super) reactor: Arc<Inner>,
    pub(super) token: usize,
    pub(super) fd: RawFd,
    pub(super) registered: bool,
}

impl Registration {
    /// The registered fd.
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// Whether this is a registration with `reactor`.
    pub fn is_with(&self, reactor: &Reactor) -> bool {
        Arc::ptr_eq(&self.reactor, &reactor.inner)
    }

    /// Returns the readiness of `direction` if it is set; otherwise adds
    /// the context's waker to those the reactor's next event for that
    /// direction wakes (unless an equal one waits already), and returns
    /// `Pending`.
    pub fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<ReadyEvent> {
        self.poll_ready_with(cx.waker(), direction)
    }

    /// [`poll_ready`](Registration::poll_ready) for callers that hold a
    /// [`Waker`] rather than a [`Context`], such as a stackful task about to
    /// park.
    pub fn poll_ready_with(&self, waker: &Waker, direction: Direction) -> Poll<ReadyEvent> {
        if let Some(ready) = self.io.ready(direction) {
            return Poll::Ready(ready);
        }
        let mut waiters = lock(&self.io.waiters);
        // Look again, under the lock. `dispatch` sets the bits *before* it
        // takes the lock to collect wakers. If it took the lock before us,
        // its bits are visible now and we return Ready; if after us, it will
        // find the waker we store below. Either way the event is not lost.
        if let Some(ready) = self.io.ready(direction) {
            return Poll::Ready(ready);
        }
        let list = waiters.list(direction);
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
        Poll::Pending
    }

    /// Withdraws `waker` (or an equal one, by [`Waker::will_wake`]) from
    /// those waiting in `direction`, for a wait given up before the fd
    /// became ready: a cancelled task, an expired timeout, a dropped
    /// future. Otherwise the waker stays in the list until the next event
    /// in that direction, which on a quiet fd may be long.
    pub fn remove_waker(&self, direction: Direction, waker: &Waker) {
        let removed = {
            let mut waiters = lock(&self.io.waiters);
            let list = waiters.list(direction);
            list.iter()
                .position(|w| w.will_wake(waker))
                .map(|i| list.swap_remove(i))
        };
        // Dropped outside the lock: a waker's `drop` is user code.
        drop(removed);
    }

    /// How many wakers wait in `direction`.
    #[cfg(test)]
    pub(crate) fn waiting(&self, direction: Direction) -> usize {
        lock(&self.io.waiters).list(direction).len()
    }

    /// Forgets the readiness in `ready` after an I/O call in its direction
    /// failed with `WouldBlock`, so that the next
    /// [`poll_ready`](Registration::poll_ready) waits for a new event.
    ///
    /// `ready` must come from the `poll_ready` that preceded the failed call.
    /// If an event was dispatched since then, nothing is cleared.
    pub fn clear_readiness(&self, ready: ReadyEvent) {
        // Why the tick. With edge-triggered polling, the kernel reports new
        // data once. Take this order of things, the scheduler's turn running
        // on another thread:
        //
        //   1. task: poll_ready -> Ready (tick t)
        //   2. task: read() -> WouldBlock
        //   3. data arrives; the turn dispatches it: READABLE, tick t+1
        //   4. task: clear_readiness
        //
        // Clearing READABLE unconditionally in step 4 would erase the only
        // report of the data from step 3; the task would park and never be
        // woken. So the bits are cleared only if the tick is still t, that
        // is, if no event was dispatched after the `poll_ready` that came
        // before the failed call. An event dispatched in between leaves the
        // bits set and the task simply tries again. The closed bits of the
        // direction are cleared too: `WouldBlock` is the kernel saying the
        // fd is no longer at end of file, and leaving them set would make a
        // retry loop spin. The tick wraps; a clear could only go wrong if
        // exactly a multiple of 2^(usize::BITS - 4) events arrived between
        // steps 1 and 4.
        let clear = ready.direction.mask();
        let _ = self
            .io
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                (word & TICK_MASK == ready.tick).then_some(word & !clear)
            });
    }

    /// Runs a non-blocking I/O operation when `direction` is ready, the way
    /// an `AsyncRead`/`AsyncWrite` implementation would: on `WouldBlock` it
    /// clears readiness and tries again if an event arrived meanwhile, else
    /// stores the waker and returns `Pending`. Any other result, error or
    /// not, is returned.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ready = std::task::ready!(self.poll_ready(cx, direction));
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ready),
                result => return Poll::Ready(result),
            }
        }
    }

    /// Runs a non-blocking I/O operation in a blocking style, for stackful
    /// tasks: whenever the fd is not ready, it stores `waker` and calls
    /// `park`, then tries again. Returns the first result that is not
    /// `WouldBlock`.
    ///
    /// `park` must return once `waker` has been woken, and must not miss a
    /// wake-up that happened after the waker was stored but before `park`
    /// was called (a scheduler typically keeps a "notified" flag per task,
    /// as [`std::thread::park`] keeps a token). Returning spuriously is fine.
    pub fn blocking_io<R>(
        &self,
        direction: Direction,
        waker: &Waker,
        mut park: impl FnMut(),
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            match self.poll_ready_with(waker, direction) {
                Poll::Ready(ready) => match op() {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        self.clear_readiness(ready)
                    }
                    result => return result,
                },
                Poll::Pending => park(),
            }
        }
    }

    /// Removes the fd from the poller now, reporting failure (for instance
    /// `EBADF` if the fd was closed too early). Dropping the registration
    /// does the same, ignoring errors.
    pub fn deregister(mut self) -> io::Result<()> {
        self.release()
    }

    fn release(&mut self) -> io::Result<()> {
        if !mem::replace(&mut self.registered, false) {
            return Ok(());
        }
        let result = self.reactor.poller.delete(self.fd);
        // The slot is freed even if the poller failed: the fd is unusable
        // either way, and a stale event cannot reach a new owner of the slot
        // (other generation).
        let removed = lock(&self.reactor.registry).remove(self.token);
        // Dropped outside the registry lock: a stored waker's `drop` is user
        // code.
        drop(removed);
        result
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.io.readiness.load(Ordering::Relaxed);
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .field("token", &self.token)
            .field("readable", &(word & READABLE != 0))
            .field("writable", &(word & WRITABLE != 0))
            .field("read_closed", &(word & READ_CLOSED != 0))
            .field("write_closed", &(word & WRITE_CLOSED != 0))
            .finish()
    }
}
