//! The scheduler of one runtime thread: task table, run queue, and the loop
//! that runs tasks, fires timers and sleeps in the reactor.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::Location;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::dump::{Dump, TaskInfo, TaskStatus, WaitReason};
use super::group::Group;
use super::pool::Pool;
use super::task::{
    Home, JoinError, JoinHandle, JoinInner, Task, TaskCoroutine, TaskHandle, TaskId, TaskKey,
};
use super::timers::Timers;
use crate::coro::{self, FrameSpec, Park};
use crate::reactor::Reactor;
use crate::stack::{PooledStack, StackError};

/// Tasks run between two non-blocking looks at the reactor when the run
/// queue never empties, so I/O readiness is not starved by busy tasks.
const IO_POLL_INTERVAL: u32 = 61;

static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

/// The part of a runtime other threads reach: wakers push here and nudge
/// the reactor.
pub(crate) struct RuntimeShared {
    id: u64,
    /// Wake-ups from other threads; `None` once the runtime (or worker) has
    /// ended, so that a waker outliving it queues nothing.
    remote: Mutex<Option<Vec<TaskKey>>>,
    pub(crate) reactor: Reactor,
}

impl RuntimeShared {
    pub(crate) fn new(reactor: Reactor) -> Self {
        RuntimeShared {
            id: NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed),
            remote: Mutex::new(Some(Vec::new())),
            reactor,
        }
    }

    /// The runtime's id, unique in the process.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Makes a task runnable; from the runtime's own thread directly, from
    /// elsewhere through the remote queue and a reactor notification.
    pub(crate) fn wake(&self, key: TaskKey) {
        if let Some(core) = current_core() {
            if core.shared.id == self.id {
                core.wake_local(key);
                return;
            }
        }
        match &mut *crate::util::lock(&self.remote) {
            Some(queue) => queue.push(key),
            None => return, // Ended: nothing to wake.
        }
        // A failed notify leaves the wake-up in the queue for the next turn.
        let _ = self.reactor.notify();
    }

    /// The runtime (or this worker) has ended: later wake-ups are dropped.
    pub(crate) fn close(&self) {
        crate::util::lock(&self.remote).take();
    }
}

struct Slot {
    generation: u32,
    task: Option<Rc<Task>>,
}

/// A run queue entry that is no task: start the next group of this
/// worker's deque here, so that groups start in spawn order among the
/// tasks that became runnable around them.
const GROUP_MARK: TaskKey = TaskKey {
    index: u32::MAX,
    generation: u32::MAX,
};

/// What a worker of a multi-worker runtime has besides its core.
pub(crate) struct WorkerCtx {
    pub(crate) pool: Arc<Pool>,
    pub(crate) index: usize,
    /// Unstarted groups spawned here, and stolen batches.
    pub(crate) local: crossbeam_deque::Worker<Group>,
}

/// A runtime's thread-local state (one worker's, in a multi-worker
/// runtime).
pub(crate) struct Core {
    pub(crate) shared: Arc<RuntimeShared>,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    run_queue: RefCell<VecDeque<TaskKey>>,
    /// The remote queue's previous buffer, empty, for the next swap.
    remote_drained: Cell<Vec<TaskKey>>,
    pub(crate) timers: Timers,
    next_task_id: Cell<u64>,
    /// Tasks of this worker not yet finished.
    live: Cell<usize>,
    /// `None` for a single-thread runtime.
    pub(crate) worker: Option<WorkerCtx>,
    pub(crate) stack_size: usize,
    shutting_down: Cell<bool>,
}

thread_local! {
    static CORE: Cell<*const Core> = const { Cell::new(ptr::null()) };
    static CURRENT_TASK: Cell<*const Task> = const { Cell::new(ptr::null()) };
}

/// The runtime running on this thread, if any.
#[inline]
pub(crate) fn current_core() -> Option<&'static Core> {
    let core = CORE.with(Cell::get);
    // SAFETY: CORE is set by `Core::enter` and cleared when the guard it
    // returns drops; the guard borrows the core, so the core outlives it.
    // The reference is only used on this thread while the runtime runs.
    unsafe { core.as_ref() }
}

/// The task running on this thread, if any.
#[inline]
pub(crate) fn current_task() -> Option<&'static Task> {
    let task = CURRENT_TASK.with(Cell::get);
    // SAFETY: CURRENT_TASK is set by `Core::run_task` while it holds an
    // `Rc` of that task, and restored before the `Rc` is released. Code
    // that keeps the reference across a switch out of the task runs on the
    // task's own stack, so it runs only while the task's coroutine exists,
    // which the task table's `Rc` of the task owns.
    unsafe { task.as_ref() }
}

/// Restores the running-task pointer when a task switches out, also if a
/// panic escapes it, so the pointer never outlives the task.
struct CurrentTask(*const Task);

impl Drop for CurrentTask {
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.0));
    }
}

/// Clears the thread's runtime pointer when `run` ends, even by a panic.
pub(crate) struct EnterGuard<'core>(&'core Core);

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The scheduler itself unwinds: unwind the tasks while the
            // runtime is still reachable from their destructors.
            self.0.unwind_remaining();
        }
        super::signal::unregister(self.0.shared.id);
        self.0.shared.close();
        CORE.with(|c| c.set(ptr::null()));
    }
}

impl Core {
    pub(crate) fn new(
        shared: Arc<RuntimeShared>,
        stack_size: usize,
        worker: Option<WorkerCtx>,
    ) -> Self {
        Core {
            shared,
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            run_queue: RefCell::new(VecDeque::new()),
            remote_drained: Cell::new(Vec::new()),
            timers: Timers::new(),
            next_task_id: Cell::new(1),
            live: Cell::new(0),
            worker,
            stack_size,
            shutting_down: Cell::new(false),
        }
    }

    /// Makes this core the thread's runtime until the guard drops.
    ///
    /// # Panics
    ///
    /// Panics if a runtime already runs on this thread.
    pub(crate) fn enter(&self) -> EnterGuard<'_> {
        CORE.with(|c| {
            assert!(
                c.get().is_null(),
                "corio: a runtime is already running on this thread (corio::run cannot nest)"
            );
            c.set(self);
        });
        super::signal::register(self.shared.id, &self.shared.reactor);
        EnterGuard(self)
    }

    fn task(&self, key: TaskKey) -> Option<Rc<Task>> {
        let slots = self.slots.borrow();
        let slot = slots.get(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.task.clone()
    }

    pub(crate) fn wake_local(&self, key: TaskKey) {
        let slots = self.slots.borrow();
        let Some(task) = slots
            .get(key.index as usize)
            .filter(|slot| slot.generation == key.generation)
            .and_then(|slot| slot.task.as_deref())
        else {
            return;
        };
        match task.state.get() {
            TaskStatus::Parked => {
                task.state.set(TaskStatus::Runnable);
                self.run_queue.borrow_mut().push_back(key);
            }
            TaskStatus::Running => task.notified.set(true),
            TaskStatus::Runnable => {}
        }
    }

    /// Puts the running task at the back of the run queue.
    pub(crate) fn reschedule(&self, task: &Task) {
        task.state.set(TaskStatus::Runnable);
        self.run_queue.borrow_mut().push_back(task.key);
    }

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
        worker.pool.task_added();
        worker.local.push(group);
        self.run_queue.borrow_mut().push_back(GROUP_MARK);
        worker.pool.queued();
        JoinHandle {
            inner: join,
            task: handle,
        }
    }

    fn next_id(&self) -> TaskId {
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
    unsafe fn spawn_here<'a, T, F>(
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
        let home = Home {
            key,
            worker: self.shared.clone(),
        };
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
            worker.pool.task_added();
        }
        // SAFETY: forwarded from this function's contract.
        unsafe { self.install_task(stack, key, handle.clone(), name, spawned_at, body) };
        self.run_queue.borrow_mut().push_back(key);
        Ok(JoinHandle {
            inner: join,
            task: handle,
        })
    }

    /// Starts an unstarted group here: maps its stack and enters it in the
    /// task table. `None` if it was cancelled first or the runtime shuts
    /// down (then no stack is mapped), or if its stack cannot be mapped
    /// (then its join handle reports that as a panic).
    fn start_group(&self, group: Group) -> Option<TaskKey> {
        let worker = self
            .worker
            .as_ref()
            .expect("groups exist on worker threads only");
        if worker.pool.is_shutting_down() {
            group.discard();
            worker.pool.task_done();
            return None;
        }
        let key = self.reserve_slot();
        let home = Home {
            key,
            worker: self.shared.clone(),
        };
        if !group.handle.start(home) {
            // Cancelled before it started: its canceller completed it.
            self.free_slot(key);
            drop(group);
            worker.pool.task_done();
            return None;
        }
        coro::ensure_handler();
        let stack = match PooledStack::take(group.stack_size) {
            Ok(stack) => stack,
            Err(err) => {
                self.free_slot(key);
                let message = format!("corio: cannot start a spawned task: {err}");
                (group.body)(Some(JoinError::Panicked(Box::new(message))));
                worker.pool.task_done();
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
    unsafe fn install_task<'a>(
        &self,
        stack: PooledStack,
        key: TaskKey,
        handle: Arc<TaskHandle>,
        name: Option<Box<str>>,
        spawned_at: &'static Location<'static>,
        body: impl FnOnce(Option<JoinError>) + 'a,
    ) {
        let spec = FrameSpec::new(&stack, name.clone());
        let task_handle = handle.clone();
        let entry = move |yielder: &Yielder<(), ()>, ()| {
            let frame = spec.into_frame(Park::Inline(yielder));
            coro::set_current(&frame);
            // Completed on the task's own stack while its frame is still
            // current.
            body(task_handle.is_cancelled().then_some(JoinError::Cancelled));
        };
        // SAFETY: forwarded from this function's contract: the coroutine
        // is driven to completion or dropped before the body's borrows end.
        let coroutine: TaskCoroutine = unsafe { Coroutine::with_stack_unchecked(stack, entry) };
        let task = Rc::new(Task {
            waker: Waker::from(handle.clone()),
            handle,
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

    fn reserve_slot(&self) -> TaskKey {
        let mut slots = self.slots.borrow_mut();
        match self.free.borrow_mut().pop() {
            Some(index) => TaskKey {
                index,
                generation: slots[index as usize].generation,
            },
            None => {
                slots.push(Slot {
                    generation: 0,
                    task: None,
                });
                TaskKey {
                    index: (slots.len() - 1) as u32,
                    generation: 0,
                }
            }
        }
    }

    /// Gives back a slot reserved for a task that was never installed.
    fn free_slot(&self, key: TaskKey) {
        let mut slots = self.slots.borrow_mut();
        let slot = &mut slots[key.index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        self.free.borrow_mut().push(key.index);
    }

    fn release_slot(&self, key: TaskKey) {
        let task = {
            let mut slots = self.slots.borrow_mut();
            let slot = &mut slots[key.index as usize];
            slot.generation = slot.generation.wrapping_add(1);
            slot.task.take()
        };
        self.free.borrow_mut().push(key.index);
        if task.is_some() {
            self.live.set(self.live.get() - 1);
            if let Some(worker) = &self.worker {
                worker.pool.task_done();
            }
        }
        // The task (and its finished coroutine's stack) drops here, outside
        // the borrow of the table.
        drop(task);
    }

    /// Resumes one task until it parks, yields or finishes.
    #[inline(always)]
    fn run_task(&self, task: Rc<Task>) {
        if task.state.get() != TaskStatus::Runnable {
            return; // A stale queue entry.
        }
        task.state.set(TaskStatus::Running);
        let _current = CurrentTask(CURRENT_TASK.with(|c| c.replace(Rc::as_ptr(&task))));
        let result = {
            let _restore = coro::Restore(coro::current());
            let mut coroutine = task.coroutine.borrow_mut();
            let coroutine = coroutine
                .as_mut()
                .expect("a scheduled task has a coroutine");
            coroutine.resume(())
        };
        drop(_current);
        match result {
            CoroutineResult::Yield(()) => {
                // The task set its own state (parked or rescheduled) before
                // switching out.
            }
            CoroutineResult::Return(()) => self.release_slot(task.key),
        }
    }

    fn drain_remote(&self) {
        // Swapped with a buffer kept from the last drain, so neither side
        // allocates in the steady state.
        let mut keys = self.remote_drained.take();
        if let Some(queue) = &mut *crate::util::lock(&self.shared.remote) {
            std::mem::swap(&mut keys, queue);
        }
        for &key in &keys {
            self.wake_local(key);
        }
        keys.clear();
        self.remote_drained.set(keys);
    }

    /// Runs tasks until `done` says so, sleeping in the reactor whenever
    /// nothing is runnable.
    pub(crate) fn run_until(&self, done: impl Fn(&Core) -> bool) {
        let mut since_io = 0u32;
        let mut dumps_seen = super::signal::dump_epoch();
        loop {
            self.drain_remote();
            loop {
                let dumps = super::signal::dump_epoch();
                if dumps != dumps_seen {
                    dumps_seen = dumps;
                    eprint!("{}", self.dump());
                }
                if let Some(worker) = &self.worker {
                    worker.pool.serve_dumps(worker.index, || self.dump());
                }
                let next = self.run_queue.borrow_mut().pop_front();
                let Some(key) = next else { break };
                if key == GROUP_MARK {
                    self.start_next_group();
                } else if let Some(task) = self.task(key) {
                    self.run_task(task);
                }
                if done(self) {
                    return;
                }
                since_io += 1;
                if since_io >= IO_POLL_INTERVAL {
                    since_io = 0;
                    self.timers.fire(|key| self.wake_local(key));
                    // Without registered fds there is no I/O to look at,
                    // and wake-ups from other threads are in the remote
                    // queue already: spare the system call.
                    if self.shared.reactor.registrations() > 0 {
                        self.turn(Some(Duration::ZERO));
                    }
                    self.drain_remote();
                    // Groups queued from outside the workers must not wait
                    // for this worker to run dry.
                    if let Some(worker) = &self.worker {
                        if let Some(group) = worker.pool.take_injected(&worker.local) {
                            self.start_and_queue(group);
                        }
                    }
                }
            }
            let next_timer = self.timers.fire(|key| self.wake_local(key));
            if !self.run_queue.borrow().is_empty() {
                continue;
            }
            if done(self) {
                return;
            }
            if let Some(worker) = &self.worker {
                // Nothing runnable here: start a group from any queue, and
                // only when there is none, sleep.
                let found = worker
                    .pool
                    .find_group(worker.index, &worker.local)
                    .or_else(|| worker.pool.sleep_or_find(worker.index, &worker.local));
                if let Some(group) = found {
                    self.start_and_queue(group);
                    continue;
                }
                self.turn(next_timer);
                worker.pool.woke(worker.index);
            } else {
                self.turn(next_timer);
            }
            since_io = 0;
        }
    }

    /// Starts the oldest group of this worker's deque and runs it at once,
    /// in the place of the run queue entry that stood for it.
    fn start_next_group(&self) {
        let Some(worker) = &self.worker else { return };
        // The group may have been stolen: then this entry starts the next
        // one, or nothing.
        if let Some(group) = worker.local.pop() {
            if let Some(task) = self.start_group(group).and_then(|key| self.task(key)) {
                self.run_task(task);
            }
        }
    }

    /// Starts a group taken from a queue and puts it in the run queue.
    fn start_and_queue(&self, group: Group) {
        if let Some(key) = self.start_group(group) {
            self.run_queue.borrow_mut().push_back(key);
        }
    }

    fn turn(&self, timeout: Option<Duration>) {
        if let Err(err) = self.shared.reactor.turn(timeout) {
            // The poller failing is not recoverable for the runtime.
            panic!("corio: the reactor failed: {err}");
        }
    }

    /// Cancels every remaining task and runs them until they have unwound.
    /// Each park of a cancelled task raises the cancellation again, so a
    /// task that catches it still ends at its next park.
    pub(crate) fn shutdown(&self) {
        self.shutting_down.set(true);
        let tasks: Vec<Rc<Task>> = self
            .slots
            .borrow()
            .iter()
            .filter_map(|s| s.task.clone())
            .collect();
        for task in &tasks {
            task.handle.cancel();
            self.wake_local(task.key);
        }
        drop(tasks);
        match &self.worker {
            None => self.run_until(|core| core.live.get() == 0),
            Some(worker) => {
                // Unstarted groups are given up without mapping a stack;
                // the workers keep turning until the last task anywhere has
                // unwound, as it may wait on I/O or on another worker.
                worker.pool.discard_groups(worker.index, &worker.local);
                self.run_until(|core| core.live.get() == 0 && worker.pool.live() == 0);
                worker.pool.leave(worker.index);
            }
        }
    }

    /// Unwinds every task left in the table, with this core still entered
    /// and each task marked as running, so that a destructor that waits
    /// finds its runtime (after a panic in the scheduler itself).
    fn unwind_remaining(&self) {
        let tasks: Vec<_> = self
            .slots
            .borrow_mut()
            .iter_mut()
            .filter_map(|s| s.task.take())
            .collect();
        self.live.set(0);
        for task in tasks {
            task.handle.cancel();
            let _current = CurrentTask(CURRENT_TASK.with(|c| c.replace(Rc::as_ptr(&task))));
            let _restore = coro::Restore(coro::current());
            // The coroutine is taken out before it drops, so the task's own
            // code finds the table consistent.
            let coroutine = task.coroutine.borrow_mut().take();
            drop(coroutine);
            drop(_restore);
            drop(_current);
            if let Some(worker) = &self.worker {
                worker.pool.task_done();
            }
        }
        if let Some(worker) = &self.worker {
            worker.pool.discard_groups(worker.index, &worker.local);
        }
    }

    /// One round of the reactor and timers for a task that waits without
    /// switching away (see `park`): returns once something may have woken
    /// it.
    pub(crate) fn poll_once_for(&self, task: &Task) {
        self.drain_remote();
        let next_timer = self.timers.fire(|key| self.wake_local(key));
        if task.notified.get() {
            return;
        }
        self.turn(next_timer);
        self.drain_remote();
    }

    /// This worker's part of the runtime dump.
    pub(crate) fn dump(&self) -> Dump {
        let mut tasks: Vec<TaskInfo> = self
            .slots
            .borrow()
            .iter()
            .filter_map(|s| s.task.as_ref())
            .map(|t| TaskInfo {
                id: t.handle.id,
                name: t.name.as_deref().map(str::to_owned),
                status: t.state.get(),
                waiting_on: t.waiting_on.get(),
                spawned_at: t.spawned_at,
                worker: self.worker.as_ref().map_or(0, |w| w.index),
            })
            .collect();
        tasks.sort_by_key(|t| t.id);
        let pending_timers = self.timers.pending();
        Dump {
            tasks,
            pending_timers,
            workers: self.worker.as_ref().map_or(1, |w| w.pool.size()),
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // Unwinds whatever is left (only after a panic in the scheduler
        // itself): the coroutines drop with the table.
        let tasks: Vec<_> = self
            .slots
            .get_mut()
            .drain(..)
            .filter_map(|s| s.task)
            .collect();
        for task in tasks {
            let _restore = coro::Restore(coro::current());
            task.coroutine.borrow_mut().take();
        }
    }
}
