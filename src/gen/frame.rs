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

/// What corio knows about a running coroutine. Lives on that coroutine's
/// stack for as long as its body runs.
pub(crate) struct Frame {
    /// Lowest address of the stack mapping, guard page included.
    pub(crate) stack_limit: usize,
    /// Usable bytes of the stack.
    pub(crate) stack_size: usize,
    /// The name given by the builder, if any.
    pub(crate) name: Option<Box<str>>,
    /// Switches out of this coroutine to whoever resumed it, marked as a
    /// park rather than a yield, and returns when it is resumed again.
    pub(crate) park: unsafe fn(*const ()),
    /// The argument for `park`: the coroutine's corosensei yielder.
    pub(crate) park_ctx: *const (),
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
pub(crate) fn suspend_current() {
    let frame = current();
    assert!(
        !frame.is_null(),
        "corio: cannot park outside a coroutine (no task is running on this thread)"
    );
    // SAFETY: a non-null current frame belongs to the coroutine running on
    // this thread; its `park` function and context were set together by
    // that coroutine's body, and stay valid while the body runs.
    unsafe {
        let frame = &*frame;
        (frame.park)(frame.park_ctx);
    }
}
