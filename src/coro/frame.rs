//! Which coroutine is running on this thread.
//!
//! Each running coroutine (a generator body or a runtime task) owns a
//! [`Frame`] on its own stack. A thread-local pointer names the innermost
//! one: a coroutine sets it when it starts and whenever it comes back from a
//! switch, and whoever resumed it restores its own frame when it suspends or
//! finishes. It serves three purposes:
//! - `Co::yield_` checks that the handle belongs to the coroutine that is
//!   actually running (a handle borrowed into a nested generator must not
//!   switch stacks from the wrong one);
//! - the stack overflow handler reads it to name the coroutine and its
//!   stack size;
//! - the runtime parks a task from any depth: [`suspend_current`] switches
//!   out of the innermost coroutine, and a generator that sees its body
//!   park parks its own caller in turn, up to the task (see `generator`).

use std::cell::Cell;
use std::ptr;

use corosensei::Yielder;

use crate::stack::PooledStack;

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
    /// Calls in progress in this coroutine during which it must not yield
    /// (see [`NoYieldScope`]).
    pub(crate) no_yield_scopes: Cell<u32>,
}

impl Frame {
    /// The bounds of `stack` that a frame records: its lowest address (guard
    /// page included) and its usable size. Read before the coroutine
    /// starts, where the stack is at hand.
    #[inline(always)]
    pub(crate) fn bounds(stack: &PooledStack) -> (usize, usize) {
        (corosensei::stack::Stack::limit(stack).get(), stack.size())
    }

    /// The frame of a coroutine, built on its own stack when its body
    /// starts. The one place a frame is made, for generators and tasks.
    #[inline(always)]
    pub(crate) fn new(bounds: (usize, usize), name: Option<Box<str>>, park: Park) -> Frame {
        Frame {
            stack_limit: bounds.0,
            stack_size: bounds.1,
            name,
            park,
            no_yield_scopes: Cell::new(0),
        }
    }
}

/// Marks, for as long as it lives, a call during which the running
/// coroutine must not yield to its resumer, only park. The runtime opens
/// one around code it does not control that runs while it holds on to the
/// running task (and its runtime): a `timeout`'s work, a `block_on`'s
/// future, an I/O operation's closure. If that code yielded the generator
/// it runs in, the generator could be resumed later by another task, or
/// after the runtime has ended, and the call would go on with a task that
/// is not the running one. `Co::yield_` refuses to yield while a scope is
/// open in its generator.
pub(crate) struct NoYieldScope(*const Frame);

impl NoYieldScope {
    /// Opens a scope in the running coroutine (none on a thread's own
    /// stack, where there is nothing to yield).
    pub(crate) fn open() -> NoYieldScope {
        let frame = current();
        // SAFETY: a non-null current frame belongs to the coroutine running
        // this code and lives on its stack while its body runs, which
        // outlasts this scope: the scope is a local of code running in that
        // body, the body cannot yield while it is open, and a park returns
        // to exactly this point.
        if let Some(frame) = unsafe { frame.as_ref() } {
            frame.no_yield_scopes.set(frame.no_yield_scopes.get() + 1);
        }
        NoYieldScope(frame)
    }
}

impl Drop for NoYieldScope {
    fn drop(&mut self) {
        // SAFETY: as in `open`: the frame outlives the scope, which drops on
        // the same stack (also when it unwinds).
        if let Some(frame) = unsafe { self.0.as_ref() } {
            frame.no_yield_scopes.set(frame.no_yield_scopes.get() - 1);
        }
    }
}

/// How a running coroutine parks.
pub(crate) enum Park {
    /// The outermost coroutine (a runtime task): it suspends itself through
    /// its yielder, inline at the park site, back to its scheduler.
    Inline(*const Yielder<(), ()>),
    /// A nested coroutine (a generator body): a function that switches out
    /// of it marked as a park, and its argument (the body's yielder); its
    /// resumer then parks in turn, up to the outermost coroutine.
    Relay(unsafe fn(*const ()), *const ()),
}

thread_local! {
    // A const-initialised `Cell` of a raw pointer has no destructor and no
    // lazy initialisation, so reading it is a plain thread-local load, which
    // is also safe from a signal handler.
    static CURRENT: Cell<*const Frame> = const { Cell::new(ptr::null()) };
}

/// The current frame while a generator body suspends to park: null, which
/// a running body never has (its frame is on its stack), and which the
/// stack overflow handler reads as "no coroutine". See `generator::Out`.
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
        Park::Inline(yielder) => {
            // SAFETY: the coroutine's own yielder, set when its frame was
            // built and valid while it runs, which it does: its frame is the
            // current one.
            let yielder = unsafe { &*yielder };
            // Back on this stack, this frame is the running one again.
            let _running = Restore(frame);
            yielder.suspend(());
        }
        // SAFETY: the function and its argument were set together by the
        // generator body that owns the frame, and stay valid while it runs.
        Park::Relay(park, ctx) => unsafe { park(ctx) },
    }
}
