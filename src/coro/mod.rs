//! Coroutine plumbing shared by generators and runtime tasks.
//!
//! Both kinds of coroutine run on a corio stack and keep a [`Frame`] on it
//! that says which coroutine is running on the thread. This layer owns that
//! frame pointer, the park protocol that passes a park up through nested
//! generators to the task that runs them, and the stack overflow report,
//! which names the coroutine whose guard page was hit. It sits above
//! [`stack`](crate::stack) and below both [`generator`](crate::generator)
//! and [`rt`](crate::rt), and knows neither.

mod frame;
mod overflow;

pub(crate) use frame::{
    current, set_current, suspend_current, Frame, FrameSpec, NoYieldScope, Park, Restore, PARKED,
};
pub(crate) use overflow::ensure_handler;
