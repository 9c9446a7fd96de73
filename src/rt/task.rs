//! Tasks: the handle their wakers point at, and the join state.

use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use corosensei::Coroutine;

use super::core::RuntimeShared;
use super::dump::{TaskStatus, WaitReason};
use super::timers::TimerId;
use super::waker::TaskWaker;
use crate::stack::PooledStack;

/// Where a task lives in its runtime's task table. The generation tells a
/// reused slot from the task that had it before, so a late wake-up of a
/// finished task cannot wake its successor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TaskKey {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// A task's identity, unique within its runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Set in [`TaskHandle::state`] once a worker has started the task.
const STARTED: u8 = 1;
/// Set in [`TaskHandle::state`] once the task has been cancelled.
const CANCELLED: u8 = 2;

/// Where a started task lives: its slot in the task table of the worker
/// that started it, and that worker's wake-up queue.
pub(crate) struct Home {
    pub(crate) key: TaskKey,
    pub(crate) worker: Arc<RuntimeShared>,
}

/// The part of a task other threads may touch: wakers point here, and
/// `JoinHandle::cancel` sets its cancel bit.
pub(crate) struct TaskHandle {
    pub(crate) id: TaskId,
    /// `STARTED` and `CANCELLED`. One word settles a cancel racing with a
    /// start (or a steal): whichever sets its bit first decides.
    state: AtomicU8,
    /// Written once, before `STARTED` is set (at creation for a task started
    /// at once, by the worker that starts a group otherwise), and read only
    /// once `STARTED` is seen. (A `OnceLock` would cost a `Once` call on
    /// every spawn.)
    home: UnsafeCell<Option<Home>>,
}

// SAFETY: the only field that is not `Sync` is `home`, and no thread reads
// it while another writes it: it is written once, either before the handle
// is shared at all or by the one worker that owns the unstarted group,
// before that worker sets `STARTED` with release ordering; it is read only
// after `STARTED` has been seen with acquire ordering, and never written
// again.
unsafe impl Sync for TaskHandle {}

impl TaskHandle {
    /// A task started at once on the spawning worker.
    #[inline]
    pub(crate) fn started(id: TaskId, home: Home, cancelled: bool) -> TaskHandle {
        TaskHandle {
            id,
            state: AtomicU8::new(if cancelled {
                STARTED | CANCELLED
            } else {
                STARTED
            }),
            home: UnsafeCell::new(Some(home)),
        }
    }

    /// A task queued unstarted, to be started by whichever worker takes it.
    #[inline]
    pub(crate) fn unstarted(id: TaskId) -> TaskHandle {
        TaskHandle {
            id,
            state: AtomicU8::new(0),
            home: UnsafeCell::new(None),
        }
    }

    /// Records where the task starts and marks it started. Returns `false`
    /// if it was cancelled first: then it must not run, and the canceller
    /// has completed its join slot.
    ///
    /// Called once, by the worker that took the unstarted group.
    #[inline]
    pub(crate) fn start(&self, home: Home) -> bool {
        debug_assert_eq!(self.state.load(Ordering::Relaxed) & STARTED, 0);
        // SAFETY: nobody reads `home` before `STARTED` is set, which happens
        // below, and only the worker that owns the group calls `start`,
        // once (see the `Sync` impl).
        unsafe { *self.home.get() = Some(home) };
        // Release: whoever sees STARTED sees `home` too.
        self.state.fetch_or(STARTED, Ordering::AcqRel) & CANCELLED == 0
    }

    /// Where the task lives, once it has started.
    #[inline]
    fn home(&self) -> Option<&Home> {
        if self.state.load(Ordering::Acquire) & STARTED == 0 {
            return None;
        }
        // SAFETY: `STARTED` is set, so `home` was written before it (seen
        // through the acquire load) and is never written again.
        unsafe { (*self.home.get()).as_ref() }
    }

    /// Sets the cancel bit and wakes the task if it runs somewhere. Returns
    /// `true` when the task had neither started nor been cancelled: it will
    /// never run, and the caller completes its join slot.
    pub(crate) fn cancel(&self) -> bool {
        let previous = self.state.fetch_or(CANCELLED, Ordering::AcqRel);
        if previous & STARTED != 0 {
            self.wake_task();
        }
        previous == 0
    }

    /// Whether the task has been cancelled.
    #[inline]
    pub(crate) fn is_cancelled(&self) -> bool {
        self.state.load(Ordering::Acquire) & CANCELLED != 0
    }

    /// Wakes the task where it lives, if it has started.
    pub(crate) fn wake_task(&self) {
        if let Some(home) = self.home() {
            home.worker.wake(home.key);
        }
    }
}

/// A pending `timeout` of a task: its timer, whose sequence number also
/// names the scope.
pub(crate) struct Deadline {
    pub(crate) timer: TimerId,
    pub(crate) fired: bool,
}

pub(crate) type TaskCoroutine = Coroutine<(), (), (), PooledStack>;

/// A task as its runtime's thread sees it.
pub(crate) struct Task {
    pub(crate) handle: Arc<TaskHandle>,
    /// Its slot in this worker's task table (also in `handle`'s home).
    pub(crate) key: TaskKey,
    /// A waker for `handle` that shares `handle`'s reference, so a wait
    /// lends it instead of cloning an `Arc` each time. It lives exactly as
    /// long as `handle` (same struct, neither is ever replaced); its drop
    /// gives nothing back.
    pub(crate) waker: TaskWaker,
    pub(crate) name: Option<Box<str>>,
    pub(crate) spawned_at: &'static Location<'static>,
    /// Runnable (in the run queue), running, or parked.
    pub(crate) state: Cell<TaskStatus>,
    /// Woken while running: its next park returns at once.
    pub(crate) notified: Cell<bool>,
    pub(crate) waiting_on: Cell<WaitReason>,
    pub(crate) coroutine: RefCell<Option<TaskCoroutine>>,
    /// Active `timeout` scopes, outermost first.
    pub(crate) deadlines: RefCell<Vec<Deadline>>,
}

/// Why a task did not produce its value.
pub enum JoinError {
    /// The task panicked; this is the panic's payload.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The task was cancelled before it finished.
    Cancelled,
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// The panic payload, if the task panicked.
    pub fn into_panic(self) -> Option<Box<dyn Any + Send + 'static>> {
        match self {
            JoinError::Panicked(payload) => Some(payload),
            JoinError::Cancelled => None,
        }
    }

    /// For a helper whose failure is the caller's I/O error: a panic goes
    /// on unwinding in the caller, a cancellation becomes an error saying
    /// `what` was cancelled.
    pub(crate) fn into_io_error(self, what: &str) -> std::io::Error {
        match self {
            JoinError::Panicked(payload) => std::panic::resume_unwind(payload),
            JoinError::Cancelled => std::io::Error::other(format!("{what} was cancelled")),
        }
    }

    fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(p) => p
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            JoinError::Cancelled => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
            JoinError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(_) => match self.panic_message() {
                Some(msg) => write!(f, "task panicked: {msg}"),
                None => f.write_str("task panicked"),
            },
            JoinError::Cancelled => f.write_str("task was cancelled"),
        }
    }
}

impl std::error::Error for JoinError {}

/// The panic payload that unwinds a cancelled task from its park point.
pub(crate) struct Cancelled;

/// Set in [`JoinInner::state`] once the result is written.
const COMPLETE: u8 = 1;
/// Set in [`JoinInner::state`] while a waiter's waker is stored.
const WAITER: u8 = 2;

/// Where a task leaves its result for its `JoinHandle`: a one-shot slot
/// with one writer (the task, or the canceller of a task that never
/// started) and one reader (the handle).
///
/// One state word orders them, as in `async-task`: the writer owns
/// `result` until it sets `COMPLETE`, the reader owns it after; the reader
/// owns `waiter` while `WAITER` is clear, the writer may read it once it has
/// set `COMPLETE` and seen `WAITER` (it wakes it in place). No lock: a spawn and join costs
/// a handful of atomic operations, not four lock round trips.
pub(crate) struct JoinInner<T> {
    state: AtomicU8,
    result: UnsafeCell<Option<Result<T, JoinError>>>,
    waiter: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are handed between the two sides by `state` (see the
// type's docs), never accessed by both at once; the result may be dropped
// or taken on either thread, hence `T: Send`. The waker is `Send + Sync`.
unsafe impl<T: Send> Send for JoinInner<T> {}
// SAFETY: as for `Send`: `&JoinInner` gives access to the cells only
// through the protocol on `state`.
unsafe impl<T: Send> Sync for JoinInner<T> {}

impl<T> JoinInner<T> {
    pub(crate) fn new() -> Self {
        JoinInner {
            state: AtomicU8::new(0),
            result: UnsafeCell::new(None),
            waiter: UnsafeCell::new(None),
        }
    }

    /// Writes the result and wakes the waiter. Called once, by the one
    /// writer.
    pub(crate) fn complete(&self, result: Result<T, JoinError>) {
        // SAFETY: `COMPLETE` is not set yet, so the writer (this call, the
        // only one) owns `result`.
        unsafe { *self.result.get() = Some(result) };
        // Release: the reader that sees COMPLETE sees the result. Acquire:
        // if WAITER was set, the waker written before it is visible.
        let previous = self.state.fetch_or(COMPLETE, Ordering::AcqRel);
        if previous & WAITER != 0 {
            // SAFETY: WAITER was set and COMPLETE is now, so the reader
            // never writes `waiter` again (its attempts to clear WAITER fail
            // on COMPLETE); it may still read it, as this does. The waker
            // stays in place and drops with the slot.
            if let Some(waiter) = unsafe { (*self.waiter.get()).as_ref() } {
                waiter.wake_by_ref();
            }
        }
    }

    /// Runs `body` and hands its result to the join slot: a panic becomes
    /// `JoinError::Panicked` (or `Cancelled`, for corio's cancellation
    /// unwind). Completing may drop the result (nobody holds the handle any
    /// more) or run a waker, both user code: a panic from there must not
    /// escape the task or the pool thread, so it is caught and reported by
    /// the panic hook only.
    pub(crate) fn run_and_complete(self: Arc<Self>, body: impl FnOnce() -> T) {
        self.complete_caught(run_catching(body));
    }

    /// Hands `result` to the join slot, catching a panic from dropping it
    /// or from the waiter's waker (see [`run_and_complete`](Self::run_and_complete)).
    pub(crate) fn complete_caught(self: Arc<Self>, result: Result<T, JoinError>) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            self.complete(result);
            drop(self);
        }));
    }

    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) & COMPLETE != 0
    }

    /// Takes the result, if it is in and was not taken yet. Reader side
    /// only.
    pub(crate) fn take(&self) -> Option<Result<T, JoinError>> {
        if !self.is_done() {
            return None;
        }
        // SAFETY: COMPLETE is set (acquire), so the writer is done with
        // `result` and the reader (the caller) owns it.
        unsafe { (*self.result.get()).take() }
    }

    /// `Future::poll` for the reader of this slot.
    pub(crate) fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        let state = self.state.load(Ordering::Acquire);
        if state & COMPLETE == 0 && self.store_waker(state, cx.waker()) {
            return Poll::Pending;
        }
        Poll::Ready(
            self.take()
                .expect("a join handle polled again after it returned"),
        )
    }

    /// Leaves `waker` for the writer. Returns `false` if the result came
    /// in meanwhile (then no waker is left behind).
    fn store_waker(&self, state: u8, waker: &Waker) -> bool {
        if state & WAITER != 0 {
            // SAFETY: while WAITER is set nobody writes `waiter`: the
            // writer only reads it (to wake it), and the reader writes it
            // only after clearing WAITER below.
            if unsafe { (*self.waiter.get()).as_ref() }.is_some_and(|w| w.will_wake(waker)) {
                return true;
            }
            // Take the waker back before replacing it; fails once
            // COMPLETE is set (the writer owns the old waker then).
            if self
                .state
                .compare_exchange(WAITER, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return false;
            }
        }
        // SAFETY: WAITER is clear, so the reader owns `waiter`.
        unsafe { *self.waiter.get() = Some(waker.clone()) };
        // Release: the writer that sees WAITER sees the waker.
        match self
            .state
            .compare_exchange(0, WAITER, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(_) => {
                // COMPLETE came in: the waker is not needed.
                // SAFETY: WAITER is still clear, so the reader owns it.
                drop(unsafe { (*self.waiter.get()).take() });
                false
            }
        }
    }
}

/// Owns the right to a task's result: [`join`](JoinHandle::join) it (or
/// `.await` it: `JoinHandle` is a `Future`), or [`cancel`](JoinHandle::cancel)
/// it. Dropping the handle detaches the task; it keeps running.
///
/// `JoinHandle<T>` is `Send` when `T` is, so a result can be awaited from
/// another thread.
pub struct JoinHandle<T> {
    pub(crate) inner: Arc<JoinInner<T>>,
    pub(crate) task: Arc<TaskHandle>,
}

impl<T> Drop for JoinHandle<T> {
    /// A result nobody took is dropped here if the task has finished (or by
    /// the task when it finishes). Which one happens depends on timing, so
    /// a panic from that drop is caught here as it is in the task: it is
    /// reported by the panic hook and does not reach the dropper.
    fn drop(&mut self) {
        if self.inner.is_done() {
            let inner = &self.inner;
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(inner.take())));
        }
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the task to finish and returns its value. Inside a task
    /// this parks the calling task; on a plain thread it blocks the thread.
    ///
    /// # Errors
    ///
    /// [`JoinError::Panicked`] with the payload if the task panicked,
    /// [`JoinError::Cancelled`] if it was cancelled.
    pub fn join(self) -> Result<T, JoinError> {
        let reason = WaitReason::Join(self.task.id);
        super::park::block_on_as(self, reason)
    }

    /// Cancels the task: at its next suspension point (or at once, if it
    /// is suspended now) it unwinds, running its destructors, and its
    /// result becomes [`JoinError::Cancelled`]. A task that already
    /// finished keeps its result. Cancelling is idempotent and may be done
    /// from any thread.
    pub fn cancel(&self) {
        if self.task.cancel() {
            // It had not started: it never will, and nothing else
            // completes it.
            Arc::clone(&self.inner).complete_caught(Err(JoinError::Cancelled));
        }
    }

    /// Whether the task has finished (returned, panicked or been
    /// cancelled).
    pub fn is_finished(&self) -> bool {
        self.inner.is_done()
    }

    /// The task's id, as the runtime dump shows it.
    pub fn id(&self) -> TaskId {
        self.task.id
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.poll_result(cx)
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.task.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Waits for every task in turn and collects their results, in order:
/// gevent's `joinall`, asyncio's `gather(..., return_exceptions=True)`.
/// The tasks run concurrently; waiting for them one by one costs nothing
/// extra.
///
/// ```
/// corio::run(|| {
///     let tasks = (1..=3).map(|n| corio::spawn(move || n * 10));
///     let results = corio::task::join_all(tasks);
///     assert_eq!(results.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [10, 20, 30]);
/// });
/// ```
pub fn join_all<T>(handles: impl IntoIterator<Item = JoinHandle<T>>) -> Vec<Result<T, JoinError>> {
    handles.into_iter().map(JoinHandle::join).collect()
}

/// Runs a body, turning a panic into its `JoinError`.
fn run_catching<T>(body: impl FnOnce() -> T) -> Result<T, JoinError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).map_err(|payload| {
        if payload.is::<Cancelled>() {
            JoinError::Cancelled
        } else {
            JoinError::Panicked(payload)
        }
    })
}
