//! Waiting on several channels at once.
//!
//! A [`Select`] has one arm per receiver, each with a closure that turns
//! what the arm received into the select's result. [`Select::wait`] takes
//! exactly one message (or one "closed" error) from one of the channels:
//! it parks once, registered as a blocked receiver on every channel, and
//! the first channel to hand it a message wins; the other registrations
//! are withdrawn. When several arms are ready at once, the one tried first
//! rotates from call to call, so no ready channel is starved.
//!
//! ```
//! use corio::sync::channel;
//! use corio::sync::select::Select;
//!
//! enum Msg {
//!     Number(i32),
//!     Word(&'static str),
//!     Closed,
//! }
//!
//! corio::run(|| {
//!     let (ntx, nrx) = channel::unbounded();
//!     let (wtx, wrx) = channel::unbounded();
//!     corio::spawn(move || {
//!         corio::sleep(std::time::Duration::from_millis(5));
//!         wtx.send("hello").unwrap();
//!     });
//!     // Parks until the word arrives.
//!     let msg = Select::new()
//!         .recv(&nrx, |r| r.map_or(Msg::Closed, Msg::Number))
//!         .recv(&wrx, |r| r.map_or(Msg::Closed, Msg::Word))
//!         .wait();
//!     assert!(matches!(msg, Msg::Word("hello")));
//!     drop(ntx);
//! });
//! ```
//!
//! Only receives can be selected on; a send that must not block forever
//! goes in its own task, or under [`corio::timeout`](crate::timeout),
//! which also bounds a select:
//! `corio::timeout(d, || sel.wait())`.

use std::cell::Cell;
use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};

use super::channel::{Receiver, RecvError, SelectPoll};
use crate::rt::{block_on_as, WaitReason};

/// One arm of a select, with its message type erased.
trait Arm<R> {
    /// Looks at the channel: `Some(true)` when the arm won (its result is
    /// stored), `Some(false)` when the select was already claimed by
    /// another arm, `None` when nothing is ready (and the arm registered
    /// itself, given a waker).
    fn poll(&mut self, claim: &Arc<AtomicBool>, waker: Option<&Waker>) -> Option<bool>;
    /// Picks up a message handed to this arm by its channel.
    fn take_delivered(&mut self) -> bool;
    /// Withdraws the arm's registration; a message handed to it goes back.
    fn unregister(&mut self);
    /// Runs the arm's closure on what it received.
    fn fire(self: Box<Self>) -> R;
}

struct RecvArm<'a, T, F> {
    rx: &'a Receiver<T>,
    f: F,
    id: Option<u64>,
    result: Option<Result<T, RecvError>>,
}

impl<T, R, F> Arm<R> for RecvArm<'_, T, F>
where
    F: FnOnce(Result<T, RecvError>) -> R,
{
    fn poll(&mut self, claim: &Arc<AtomicBool>, waker: Option<&Waker>) -> Option<bool> {
        match self.rx.chan.poll_select(&mut self.id, claim, waker) {
            SelectPoll::Ready(r) => {
                self.result = Some(r);
                Some(true)
            }
            SelectPoll::ClaimedElsewhere => Some(false),
            SelectPoll::Pending => None,
        }
    }

    fn take_delivered(&mut self) -> bool {
        match self.rx.chan.take_delivered(&mut self.id) {
            Some(v) => {
                self.result = Some(Ok(v));
                true
            }
            None => false,
        }
    }

    fn unregister(&mut self) {
        self.rx.chan.unregister_receiver(&mut self.id);
    }

    fn fire(self: Box<Self>) -> R {
        let this = *self;
        let result = this.result.expect("a select arm fired without a result");
        (this.f)(result)
    }
}

thread_local! {
    /// Rotates the arm tried first, for fairness between ready arms.
    static START: Cell<usize> = const { Cell::new(0) };
}

fn next_start() -> usize {
    START.with(|s| {
        let n = s.get();
        s.set(n.wrapping_add(1));
        n
    })
}

/// Waits on several receivers at once and takes one message; see the
/// [module docs](self).
///
/// `R` is the select's result: every arm's closure returns one.
pub struct Select<'a, R> {
    arms: Vec<Box<dyn Arm<R> + 'a>>,
}

impl<'a, R> Default for Select<'a, R> {
    fn default() -> Self {
        Select { arms: Vec::new() }
    }
}

impl<R> fmt::Debug for Select<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("arms", &self.arms.len())
            .finish()
    }
}

/// Withdraws every arm when a select ends, by return or by unwinding (a
/// cancelled or timed-out task), so no channel keeps a stale registration
/// and no message handed to the select is lost.
struct Registered<'s, 'a, R> {
    arms: &'s mut Vec<Box<dyn Arm<R> + 'a>>,
}

impl<R> Drop for Registered<'_, '_, R> {
    fn drop(&mut self) {
        for arm in self.arms.iter_mut() {
            arm.unregister();
        }
    }
}

impl<'a, R> Select<'a, R> {
    /// A select with no arms yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an arm receiving from `rx`; `f` turns the message, or
    /// [`RecvError`] if the channel is empty and closed, into the result.
    /// A closed channel counts as ready.
    pub fn recv<T: 'a>(
        mut self,
        rx: &'a Receiver<T>,
        f: impl FnOnce(Result<T, RecvError>) -> R + 'a,
    ) -> Self {
        self.arms.push(Box::new(RecvArm {
            rx,
            f,
            id: None,
            result: None,
        }));
        self
    }

    /// Waits until one arm is ready, takes its message and returns what
    /// its closure makes of it. Inside a task it parks the task; on a
    /// plain thread it blocks the thread.
    ///
    /// # Panics
    ///
    /// Panics if the select has no arms (it would wait forever).
    pub fn wait(mut self) -> R {
        assert!(
            !self.arms.is_empty(),
            "corio::sync::Select::wait with no arms would wait forever"
        );
        let n = self.arms.len();
        let start = next_start() % n;
        let claim = Arc::new(AtomicBool::new(false));
        let won = {
            let guard = Registered {
                arms: &mut self.arms,
            };
            let arms = &mut *guard.arms;
            block_on_as(
                poll_fn(|cx| {
                    if claim.load(Ordering::Acquire) {
                        return Poll::Ready(find_delivered(arms));
                    }
                    for k in 0..n {
                        let i = (start + k) % n;
                        match arms[i].poll(&claim, Some(cx.waker())) {
                            Some(true) => return Poll::Ready(i),
                            Some(false) => return Poll::Ready(find_delivered(arms)),
                            None => {}
                        }
                    }
                    Poll::Pending
                }),
                WaitReason::Channel,
            )
            // `guard` withdraws the other arms here.
        };
        self.arms.swap_remove(won).fire()
    }

    /// Takes a message from an arm that is ready now, without waiting.
    ///
    /// # Errors
    ///
    /// Gives the select back when no arm is ready.
    ///
    /// ```
    /// use corio::sync::{channel, select::Select};
    ///
    /// let (tx, rx) = channel::unbounded::<u8>();
    /// let sel = Select::new().recv(&rx, |r| r.ok());
    /// let sel = sel.try_wait().unwrap_err(); // nothing there yet
    /// tx.send(7).unwrap();
    /// assert_eq!(sel.try_wait().ok(), Some(Some(7)));
    /// ```
    pub fn try_wait(mut self) -> Result<R, Self> {
        let n = self.arms.len();
        if n == 0 {
            return Err(self);
        }
        let start = next_start() % n;
        let claim = Arc::new(AtomicBool::new(false));
        for k in 0..n {
            let i = (start + k) % n;
            if self.arms[i].poll(&claim, None) == Some(true) {
                return Ok(self.arms.swap_remove(i).fire());
            }
        }
        Err(self)
    }
}

/// The arm a channel handed a message to, once the select was claimed.
fn find_delivered<R>(arms: &mut [Box<dyn Arm<R> + '_>]) -> usize {
    // The channel that claimed the select stored the message under its
    // lock in the same step, so it is there to be found.
    arms.iter_mut()
        .position(|arm| arm.take_delivered())
        .expect("a claimed select has a delivered message")
}

/// Receives from whichever of `receivers` has a message first: its index
/// and what it received ([`RecvError`] if that channel is empty and
/// closed).
///
/// ```
/// use corio::sync::{channel, select};
///
/// let (tx1, rx1) = channel::unbounded::<i32>();
/// let (tx2, rx2) = channel::unbounded::<i32>();
/// tx2.send(2).unwrap();
/// assert_eq!(select::select(&[&rx1, &rx2]), (1, Ok(2)));
/// drop(tx1);
/// assert_eq!(select::select(&[&rx1, &rx2]).0, 0); // rx1 is closed: ready
/// ```
///
/// # Panics
///
/// Panics if `receivers` is empty.
pub fn select<T>(receivers: &[&Receiver<T>]) -> (usize, Result<T, RecvError>) {
    receivers
        .iter()
        .enumerate()
        .fold(Select::new(), |sel, (i, rx)| sel.recv(rx, move |r| (i, r)))
        .wait()
}
