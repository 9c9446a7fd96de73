//! Parking the running task, and what it finds when it wakes: cancellation
//! and expired timeouts.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::core::{current_core, current_task, Core};
use super::dump::{TaskStatus, WaitReason};
use super::task::{Cancelled, Deadline, Task};
use super::timers::TimerId;
use crate::coro::{self, NoYieldScope};

/// Parks `task`, the task running on this thread, until its waker is
/// called.
///
/// May return spuriously (a wake-up meant for an earlier wait): callers
/// check their condition in a loop. When the task has been cancelled, or a
/// `timeout` around it has expired, this unwinds instead of returning.
#[inline]
fn park_task(task: &Task, reason: WaitReason) {
    if std::thread::panicking() {
        // Switching away mid-unwind would leave the thread's panic count
        // raised for whatever runs next; wait on this stack instead. A
        // running task implies its runtime is entered on this thread.
        let core = current_core().expect("a running task has its runtime entered");
        return park_while_unwinding(core, task, reason);
    }
    // A task cancelled (or timed out) while it ran must not wait for a
    // wake-up that already happened.
    check_interrupts(task);
    if !task.notified.replace(false) {
        task.waiting_on.set(reason);
        task.state.set(TaskStatus::Parked);
        coro::suspend_current();
        task.waiting_on.set(WaitReason::Nothing);
    }
    check_interrupts(task);
}

/// Waits for this task's waker without switching to other tasks: the
/// reactor and timers run, and wake-ups of other tasks queue up for later.
fn park_while_unwinding(core: &Core, task: &Task, reason: WaitReason) {
    if task.notified.replace(false) {
        return;
    }
    if !matches!(
        reason,
        WaitReason::Sleep(_)
            | WaitReason::Readable(_)
            | WaitReason::Writable(_)
            | WaitReason::Process(_)
            | WaitReason::Blocking
    ) {
        // What it waits for may need another task of this runtime, and none
        // runs until this one has unwound.
        eprintln!(
            "corio: task {} ({}) waits on {reason} while it unwinds; other tasks do not \
             run until it has unwound, so this wait may never end",
            task.handle.id,
            task.name.as_deref().unwrap_or("unnamed"),
        );
    }
    while !task.notified.replace(false) {
        core.poll_once_for(task);
    }
}

/// Unwinds the running task if it was cancelled or a timeout expired.
#[inline]
fn check_interrupts(task: &Task) {
    if task.handle.is_cancelled() {
        cancelled();
    }
    if !task.deadlines.borrow().is_empty() {
        check_deadlines(task);
    }
}

#[cold]
fn cancelled() -> ! {
    resume_unwind(Box::new(Cancelled))
}

#[cold]
fn check_deadlines(task: &Task) {
    let mut deadlines = task.deadlines.borrow_mut();
    let now = Instant::now();
    // The outermost expired scope wins, so an inner `timeout` cannot
    // swallow an outer one's expiry.
    if let Some(deadline) = deadlines.iter_mut().find(|d| !d.fired && d.timer.at <= now) {
        deadline.fired = true;
        let id = deadline.timer.seq;
        drop(deadlines);
        resume_unwind(Box::new(TimeoutUnwind { id }));
    }
}

/// Gives other tasks a turn: the running task goes to the back of the run
/// queue. Outside a runtime, yields the thread.
pub fn yield_now() {
    match (current_core(), current_task()) {
        (Some(core), Some(task)) if !std::thread::panicking() => {
            core.reschedule(task);
            task.waiting_on.set(WaitReason::Yield);
            coro::suspend_current();
            task.waiting_on.set(WaitReason::Nothing);
            check_interrupts(task);
        }
        _ => std::thread::yield_now(),
    }
}

/// Suspends the running task for `duration`; other tasks run meanwhile.
/// Outside a runtime, sleeps the thread.
pub fn sleep(duration: Duration) {
    if duration.is_zero() {
        return;
    }
    let now = Instant::now();
    match now.checked_add(duration) {
        Some(deadline) => sleep_past(now, deadline),
        None => loop {
            park_or_block(WaitReason::Sleep(now));
        },
    }
}

/// Suspends the running task until `deadline`. Outside a runtime, sleeps
/// the thread.
pub fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        sleep_past(now, deadline);
    }
}

/// Sleeps from `now` until `deadline`, which is later.
fn sleep_past(now: Instant, deadline: Instant) {
    let (Some(core), Some(task)) = (current_core(), current_task()) else {
        std::thread::sleep(deadline - now);
        return;
    };
    let timer = TimerGuard::arm(core, deadline, task);
    // The timer wakes the task only once the runtime's timer clock has
    // passed the deadline; any earlier wake-up is spurious.
    while core.timers.checked() < deadline {
        park_task(task, WaitReason::Sleep(deadline));
    }
    drop(timer);
}

/// Withdraws a timer when its wait ends, including by unwinding. It finds
/// the runtime anew when it drops rather than keeping a reference: it may
/// drop while the runtime itself is being torn down (after a panic in the
/// scheduler), and then there is nothing to withdraw from.
struct TimerGuard {
    runtime: u64,
    timer: TimerId,
}

impl TimerGuard {
    /// Arms a timer waking `task` at `at`.
    fn arm(core: &Core, at: Instant, task: &Task) -> TimerGuard {
        TimerGuard {
            runtime: core.shared.id(),
            timer: core.timers.add(at, task.key),
        }
    }
}

impl Drop for TimerGuard {
    fn drop(&mut self) {
        if let Some(core) = current_core() {
            if core.shared.id() == self.runtime {
                core.timers.cancel(self.timer);
            }
        }
    }
}

fn park_or_block(reason: WaitReason) {
    match current_task() {
        Some(task) => park_task(task, reason),
        None => std::thread::park(),
    }
}

/// The payload that unwinds a task out of an expired `timeout` scope.
struct TimeoutUnwind {
    id: u64,
}

/// The error of [`timeout`]: the deadline passed before the work finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    after: Duration,
}

impl Elapsed {
    /// The duration the work was given.
    pub fn duration(&self) -> Duration {
        self.after
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deadline of {:?} elapsed", self.after)
    }
}

impl std::error::Error for Elapsed {}

/// Runs `work` in the running task with a deadline. If `work` is still
/// suspended when `duration` has passed, it is unwound from its suspension
/// point (its destructors run) and `timeout` returns `Err(Elapsed)`.
///
/// Cancellation is cooperative: work that never suspends runs to its end.
/// Scopes nest; the outermost expired one is the one that fires.
///
/// # Panics
///
/// Panics outside a task: there is no runtime to interrupt the work. Inside
/// a generator's body, `work` must not yield that generator (see
/// [`Co::yield_`](crate::generator::Co::yield_)).
pub fn timeout<T>(duration: Duration, work: impl FnOnce() -> T) -> Result<T, Elapsed> {
    let (Some(core), Some(task)) = (current_core(), current_task()) else {
        panic!("corio::timeout needs a running corio task");
    };
    // `work` runs while `core` and `task` are held.
    let _scope = NoYieldScope::open();
    let now = Instant::now();
    let at = now
        .checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 100));
    let timer = TimerGuard::arm(core, at, task);
    let id = timer.timer.seq;
    task.deadlines.borrow_mut().push(Deadline {
        timer: timer.timer,
        fired: false,
    });
    let result = catch_unwind(AssertUnwindSafe(work));
    task.deadlines.borrow_mut().retain(|d| d.timer.seq != id);
    drop(timer);
    match result {
        Ok(value) => Ok(value),
        Err(payload) => match payload.downcast::<TimeoutUnwind>() {
            Ok(unwind) if unwind.id == id => Err(Elapsed { after: duration }),
            Ok(unwind) => resume_unwind(unwind),
            Err(other) => resume_unwind(other),
        },
    }
}

/// Wakes a thread blocked in `block_on` outside any runtime.
struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Waits for a `Future`: inside a task, the task parks and the future's
/// waker reschedules it; on a plain thread, the thread blocks.
///
/// Inside a task, the future must not yield the generator whose body calls
/// `block_on` (see [`Co::yield_`](crate::generator::Co::yield_)).
///
/// ```
/// let answer = corio::run(|| {
///     let handle = corio::spawn(|| 6 * 7);
///     corio::block_on(handle).unwrap() // a JoinHandle is a Future too
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    // The future is user code, polled while the running task is held.
    let _scope = current_task().is_some().then(NoYieldScope::open);
    block_on_as(future, WaitReason::Future)
}

// Inlined so that the future is built in place: moved into a call, it
// would be copied with wider loads than the stores that built it, which
// stalls on store forwarding on every wait.
#[inline(always)]
pub(crate) fn block_on_as<F: Future>(future: F, reason: WaitReason) -> F::Output {
    let mut future = pin!(future);
    // A running task implies its runtime (`Core::run_task`).
    match current_task() {
        Some(task) => {
            let mut cx = Context::from_waker(&task.waker);
            loop {
                if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                    return value;
                }
                park_task(task, reason);
            }
        }
        None => {
            let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
            let mut cx = Context::from_waker(&waker);
            loop {
                if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                    return value;
                }
                std::thread::park();
            }
        }
    }
}
