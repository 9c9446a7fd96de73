//! Creating tasks: on this worker at once (`spawn_local`, the main task,
//! `spawn` on a single-thread runtime), or as an unstarted group that any
//! worker may start (`spawn` on several workers).

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;

use corosensei::{Coroutine, Yielder};

use super::core::{current_task, Core, WorkerCtx, GROUP_MARK};
use super::dump::{TaskStatus, WaitReason};
use super::group::Group;
use super::task::{
    Home, JoinError, JoinHandle, JoinInner, Task, TaskCoroutine, TaskHandle, TaskId, TaskKey,
};
use super::waker::TaskWaker;
use crate::coro::{self, Frame, Park};
use crate::stack::{PooledStack, StackError};

impl Core {
    /// Creates a task on this worker. `body` runs on its own stack; its
    /// result goes to the returned handle.
    pub(crate) fn spawn<T, F>(
        &self,
        name: Option<Box<str>>,
        stack_size: usize,
        spawned_at: &'static Location<'static>,
        body: F,
    ) -> Result<JoinHandle<T>, StackError>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        // SAFETY: `F` and `T` are `'static`, so the body borrows nothing
        // that could end before the coroutine does.
        unsafe { self.spawn_here(name, stack_size, spawned_at, body) }
    }

    /// Creates the main task of `run`, whose body may borrow from the
    /// caller of `run`.
    ///
    /// # Safety
    ///
    /// The caller must drive the task to completion, or drop it through
    /// [`Core::shutdown`], before the data `body` borrows goes away.
    #[track_caller]
    pub(crate) unsafe fn spawn_main<'a, T, F>(&self, body: F) -> Result<JoinHandle<T>, StackError>
    where
        F: FnOnce() -> T + 'a,
        T: 'a,
    {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            self.spawn_here(
                Some("main".into()),
                self.stack_size,
                Location::caller(),
                body,
            )
        }
    }

    /// Queues a `Send` task as an unstarted group on this worker's deque,
    /// where any worker may take it; its stack is mapped when it starts.
    pub(crate) fn spawn_group<T, F>(
        &self,
        worker: &WorkerCtx,
        name: Option<Box<str>>,
        stack_size: usize,
        spawned_at: &'static Location<'static>,
        body: F,
    ) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let handle = Arc::new(TaskHandle::unstarted(self.next_id()));
        let join = Arc::new(JoinInner::new());
        let group = Group::new(
            handle.clone(),
            join.clone(),
            name,
            stack_size,
            spawned_at,
            body,
        );
        worker.pool.task_added(worker.index);
        worker.local.push(group);
        self.run_queue.borrow_mut().push_back(GROUP_MARK);
        worker.pool.queued(worker.index);
        JoinHandle {
            inner: join,
            task: handle,
        }
    }

    #[inline]
    pub(super) fn next_id(&self) -> TaskId {
        let n = self.next_task_id.get();
        self.next_task_id.set(n + 1);
        // Ids are unique per runtime: worker `i` of `w` hands out
        // `n * w + i`, without sharing a counter.
        match &self.worker {
            Some(w) => TaskId(n * w.pool.size() as u64 + w.index as u64),
            None => TaskId(n),
        }
    }

    /// Allocates the stack and coroutine of a task and enters it in the
    /// task table and the run queue.
    ///
    /// # Safety
    ///
    /// The task's coroutine must be driven to completion or dropped before
    /// anything `body` borrows goes away.
    pub(super) unsafe fn spawn_here<'a, T, F>(
        &self,
        name: Option<Box<str>>,
        stack_size: usize,
        spawned_at: &'static Location<'static>,
        body: F,
    ) -> Result<JoinHandle<T>, StackError>
    where
        F: FnOnce() -> T + 'a,
        T: 'a,
    {
        coro::ensure_handler();
        let stack = PooledStack::take(stack_size)?;
        let key = self.reserve_slot();
        let home = self.home(key);
        // A task spawned while `run` shuts down (by a cancelled task's
        // destructor, say) is cancelled from birth, so shutdown ends.
        let handle = Arc::new(TaskHandle::started(
            self.next_id(),
            home,
            self.shutting_down.get(),
        ));
        let join = Arc::new(JoinInner::new());
        let task_join = join.clone();
        let body = move |failed: Option<JoinError>| match failed {
            None => task_join.run_and_complete(body),
            Some(err) => task_join.complete_caught(Err(err)),
        };
        if let Some(worker) = &self.worker {
            worker.pool.task_added(worker.index);
        }
        // SAFETY: forwarded from this function's contract.
        unsafe { self.install_task(stack, key, handle.clone(), name, spawned_at, body) };
        self.run_queue.borrow_mut().push_back(key);
        Ok(JoinHandle {
            inner: join,
            task: handle,
        })
    }

    /// Where a task in slot `key` of this worker lives.
    #[inline]
    fn home(&self, key: TaskKey) -> Home {
        Home {
            key,
            worker: self.shared.clone(),
        }
    }

    /// Starts an unstarted group here: maps its stack and enters it in the
    /// task table. `None` if it was cancelled first or the runtime shuts
    /// down (then no stack is mapped), or if its stack cannot be mapped
    /// (then its join handle reports that as a panic).
    pub(super) fn start_group(&self, group: Group) -> Option<TaskKey> {
        let worker = self
            .worker
            .as_ref()
            .expect("groups exist on worker threads only");
        if worker.pool.is_shutting_down() {
            group.discard();
            worker.pool.task_done(worker.index);
            return None;
        }
        let key = self.reserve_slot();
        if !group.handle.start(self.home(key)) {
            // Cancelled before it started: its canceller completed it.
            self.free_slot(key);
            drop(group);
            worker.pool.task_done(worker.index);
            return None;
        }
        coro::ensure_handler();
        let stack = match PooledStack::take(group.stack_size) {
            Ok(stack) => stack,
            Err(err) => {
                self.free_slot(key);
                let message = format!("corio: cannot start a spawned task: {err}");
                (group.body)(Some(JoinError::Panicked(Box::new(message))));
                worker.pool.task_done(worker.index);
                return None;
            }
        };
        // SAFETY: a group's body is `'static`: it borrows nothing.
        unsafe {
            self.install_task(
                stack,
                key,
                group.handle,
                group.name,
                group.spawned_at,
                group.body,
            )
        };
        Some(key)
    }

    /// Builds a task's coroutine on `stack` and puts the task in slot
    /// `key`. `body` runs the task (`None`) or completes it with an error
    /// without running it; it runs on the task's own stack.
    ///
    /// # Safety
    ///
    /// The task's coroutine must be driven to completion or dropped before
    /// anything `body` borrows goes away.
    #[inline(always)]
    pub(super) unsafe fn install_task<'a>(
        &self,
        stack: PooledStack,
        key: TaskKey,
        handle: Arc<TaskHandle>,
        name: Option<Box<str>>,
        spawned_at: &'static Location<'static>,
        body: impl FnOnce(Option<JoinError>) + 'a,
    ) {
        let bounds = Frame::bounds(&stack);
        let frame_name = name.clone();
        let entry = move |yielder: &Yielder<(), ()>, ()| {
            let frame = Frame::new(bounds, frame_name, Park::Inline(yielder));
            coro::set_current(&frame);
            // `run_task` made this task the current one before resuming it.
            let cancelled = current_task().is_some_and(|task| task.handle.is_cancelled());
            // Completed on the task's own stack while its frame is still
            // current.
            body(cancelled.then_some(JoinError::Cancelled));
        };
        // SAFETY: forwarded from this function's contract: the coroutine
        // is driven to completion or dropped before the body's borrows end.
        let coroutine: TaskCoroutine = unsafe { Coroutine::with_stack_unchecked(stack, entry) };
        // SAFETY: the waker is kept in the task beside `handle`, which
        // outlives it (see `Task::waker`).
        let waker = unsafe { TaskWaker::borrowing(&handle) };
        let task = Rc::new(Task {
            handle,
            waker,
            key,
            name,
            spawned_at,
            state: Cell::new(TaskStatus::Runnable),
            notified: Cell::new(false),
            waiting_on: Cell::new(WaitReason::Nothing),
            coroutine: RefCell::new(Some(coroutine)),
            deadlines: RefCell::new(Vec::new()),
        });
        self.slots.borrow_mut()[key.index as usize].task = Some(task);
        self.live.set(self.live.get() + 1);
    }
}
