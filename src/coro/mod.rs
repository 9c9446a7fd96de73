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
    current, set_current, suspend_current, Frame, NoYieldScope, Park, Restore, PARKED,
};
pub(crate) use overflow::ensure_handler;

/// What a builder records about the coroutine it will create: the part that
/// generator and task builders share.
#[derive(Clone, Debug, Default)]
pub(crate) struct CoroutineOptions {
    /// Shown in stack overflow reports (and, for tasks, in the dump).
    pub(crate) name: Option<Box<str>>,
    /// Usable stack bytes asked for; `None` takes the creator's default.
    pub(crate) stack_size: Option<usize>,
}

impl CoroutineOptions {
    #[inline]
    pub(crate) fn set_name(&mut self, name: impl Into<String>) {
        self.name = Some(name.into().into_boxed_str());
    }

    #[inline]
    pub(crate) fn set_stack_size(&mut self, bytes: usize) {
        self.stack_size = Some(bytes);
    }

    /// The stack size asked for, or `default`.
    #[inline]
    pub(crate) fn stack_size_or(&self, default: usize) -> usize {
        self.stack_size.unwrap_or(default)
    }
}
