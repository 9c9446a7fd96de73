//! Which coroutine is running on this thread.
//!
//! Each running generator body owns a [`Frame`] on its own stack. A
//! thread-local pointer names the innermost one: a generator's body sets it
//! when it starts and whenever it comes back from a yield, and `send`
//! restores the caller's frame when the body suspends or finishes. It serves
//! three purposes:
//! - `Co::yield_` checks that the handle belongs to the coroutine that is
//!   actually running (a handle borrowed into a nested generator must not
//!   switch stacks from the wrong one);
//! - the stack overflow handler reads it to name the coroutine and its
//!   stack size;
//! - the runtime parks a task from any depth: [`suspend_current`] switches
//!   out of the innermost coroutine, and a generator that sees its body
//!   park parks its own caller in turn, up to the task (see `gen`).

use std::cell::Cell;
use std::ptr;

use corosensei::Yielder;

/// What corio knows about a running coroutine. Lives on that coroutine's
/// stack for as long as its body runs.
pub(crate) struct Frame {
    /// Lowest address of the stack mapping, guard page included.
    pub(crate) stack_limit: usize,
    /// Usable bytes of the stack.
    pub(crate) stack_size: usize,
    /// The name given by the builder, if any.
    pub(crate) name: Option<Box<str>>,
    /// How to switch out of this coroutine to whoever resumed it, marked
    /// as a park rather than a yield (see [`suspend_current`]).
    pub(crate) park: Park,
    /// Calls in progress in this coroutine that hold on to the task running
    /// it (see [`TaskScope`]); a generator must not yield while any is.
    pub(crate) task_scopes: Cell<u32>,
}

/// Marks, for as long as it lives, a call that keeps the running task (and
/// its runtime) across code it does not control: a `timeout`'s work, a
/// `block_on`'s future, an I/O operation's closure. If that code yielded
/// the generator it runs in, the generator could be resumed later by
/// another task, or after the runtime has ended, and the call would go on
/// with a task that is not the running one. `Co::yield_` refuses to yield
/// while a scope is open in its generator.
pub(crate) struct TaskScope(*const Frame);

impl TaskScope {
    /// Opens a scope in the running coroutine (none on a thread's own
    /// stack, where there is nothing to yield).
    pub(crate) fn open() -> TaskScope {
        let frame = current();
        // SAFETY: a non-null current frame belongs to the coroutine running
        // this code and lives on its stack while its body runs, which
        // outlasts this scope: the scope is a local of code running in that
        // body, the body cannot yield while it is open, and a park returns
        // to exactly this point.
        if let Some(frame) = unsafe { frame.as_ref() } {
            frame.task_scopes.set(frame.task_scopes.get() + 1);
        }
        TaskScope(frame)
    }
}

impl Drop for TaskScope {
    fn drop(&mut self) {
        // SAFETY: as in `open`: the frame outlives the scope, which drops on
        // the same stack (also when it unwinds).
        if let Some(frame) = unsafe { self.0.as_ref() } {
            frame.task_scopes.set(frame.task_scopes.get() - 1);
        }
    }
}

/// How a running coroutine parks.
pub(crate) enum Park {
    /// A runtime task: it suspends its own coroutine, through its yielder,
    /// inline at the park site.
    Task(*const Yielder<(), ()>),
    /// A generator body: a function that switches out of it, and its
    /// argument (the body's corosensei yielder).
    Body(unsafe fn(*const ()), *const ()),
}

thread_local! {
    // A const-initialised `Cell` of a raw pointer has no destructor and no
    // lazy initialisation, so reading it is a plain thread-local load, which
    // is also safe from a signal handler.
    static CURRENT: Cell<*const Frame> = const { Cell::new(ptr::null()) };
}

/// The current frame while a generator body suspends to park: null, which
/// a running body never has (its frame is on its stack), and which the
/// stack overflow handler reads as "no coroutine". See `gen::Out`.
pub(crate) const PARKED: *const Frame = ptr::null();

/// The frame of the innermost running coroutine, or null on a thread's own
/// stack.
#[inline]
pub(crate) fn current() -> *const Frame {
    CURRENT.with(Cell::get)
}

#[inline]
pub(crate) fn set_current(frame: *const Frame) {
    CURRENT.with(|c| c.set(frame));
}

/// Restores the saved frame pointer when dropped, also when a panic
/// unwinds out of a resumed coroutine.
pub(crate) struct Restore(pub(crate) *const Frame);

impl Drop for Restore {
    #[inline]
    fn drop(&mut self) {
        set_current(self.0);
    }
}

/// Parks the innermost running coroutine: it switches to its parent, which
/// (if it is a generator's caller) parks its own coroutine in turn, up to a
/// runtime task, whose scheduler runs something else. Returns when the task
/// is resumed and every level has switched back down.
///
/// # Panics
///
/// Panics when no coroutine is running on this thread.
#[inline]
pub(crate) fn suspend_current() {
    let frame = current();
    assert!(
        !frame.is_null(),
        "corio: cannot park outside a coroutine (no task is running on this thread)"
    );
    // SAFETY: a non-null current frame belongs to the coroutine running on
    // this thread and lives on its stack while its body runs.
    let frame = unsafe { &*frame };
    match frame.park {
        // A task, parked by the task itself (the common case): the suspend
        // is inlined here, with no call around the switch, because a return
        // crossing a stack switch is a mispredicted return.
        Park::Task(yielder) => {
            // SAFETY: the task's own yielder (`rt::core`), valid while the
            // task runs, which it does: its frame is the current one.
            let yielder = unsafe { &*yielder };
            // Back on this stack, this frame is the running one again.
            let _running = Restore(frame);
            yielder.suspend(());
        }
        // SAFETY: the function and its argument were set together by the
        // generator body that owns the frame, and stay valid while it runs.
        Park::Body(park, ctx) => unsafe { park(ctx) },
    }
}
