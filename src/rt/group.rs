//! Unstarted coroutine groups: what `spawn` queues on a multi-worker
//! runtime, to be started by whichever worker takes it.
//!
//! A started coroutine never changes thread: its stack may hold `!Send`
//! values and thread-local addresses across a switch. What moves between
//! workers is a group that has not started yet, a `Send` package of the
//! closure, its join slot and how to build the task. The worker that
//! starts it maps its stack; every task the group later adds with
//! `spawn_local` starts on that same worker and stays there.

use std::panic::Location;
use std::sync::Arc;

use super::task::{JoinError, JoinInner, TaskHandle};

/// A task that has not started: everything needed to start it on any
/// worker, and nothing tied to a thread.
pub(crate) struct Group {
    pub(crate) handle: Arc<TaskHandle>,
    pub(crate) name: Option<Box<str>>,
    pub(crate) stack_size: usize,
    pub(crate) spawned_at: &'static Location<'static>,
    /// Runs the body and completes the join slot (`None`), or completes it
    /// with the error without running the body.
    pub(crate) body: Box<dyn FnOnce(Option<JoinError>) + Send>,
}

impl Group {
    /// Packs a `Send` body whose result goes to `join`.
    pub(crate) fn new<F, T>(
        handle: Arc<TaskHandle>,
        join: Arc<JoinInner<T>>,
        name: Option<Box<str>>,
        stack_size: usize,
        spawned_at: &'static Location<'static>,
        f: F,
    ) -> Group
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Group {
            handle,
            name,
            stack_size,
            spawned_at,
            body: Box::new(move |failed| match failed {
                None => join.run_and_complete(f),
                Some(err) => join.complete_caught(Err(err)),
            }),
        }
    }

    /// Gives up a group that will never start (its runtime shuts down):
    /// its join slot says cancelled, unless a `cancel` got there first and
    /// said so already. No stack is mapped. Runs the closure's destructor
    /// on this thread, which its `Send` bound allows.
    pub(crate) fn discard(self) {
        if self.handle.cancel() {
            (self.body)(Some(JoinError::Cancelled));
        }
    }
}
