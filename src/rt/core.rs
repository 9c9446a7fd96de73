//! One worker's state: the task table, the run queue, the wake-up queue
//! other threads reach, and running one task. The loop that drives them is
//! in `scheduler.rs`, task creation in `spawn.rs`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use corosensei::CoroutineResult;

use super::dump::{Dump, TaskInfo, TaskStatus};
use super::group::Group;
use super::pool::Pool;
use super::task::{Task, TaskKey};
use super::timers::Timers;
use crate::coro;
use crate::reactor::Reactor;

/// Tasks run between two non-blocking looks at the reactor when the run
/// queue never empties, so I/O readiness is not starved by busy tasks.
pub(super) const IO_POLL_INTERVAL: u32 = 61;

static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

/// The part of a runtime other threads reach: wakers push here and nudge
/// the reactor.
pub(crate) struct RuntimeShared {
    pub(super) id: u64,
    /// Wake-ups from other threads; `None` once the runtime (or worker) has
    /// ended, so that a waker outliving it queues nothing.
    pub(super) remote: Mutex<Option<Vec<TaskKey>>>,
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

pub(super) struct Slot {
    pub(super) generation: u32,
    pub(super) task: Option<Rc<Task>>,
}

/// A run queue entry that is no task: start the next group of this
/// worker's deque here, so that groups start in spawn order among the
/// tasks that became runnable around them.
pub(super) const GROUP_MARK: TaskKey = TaskKey {
    index: u32::MAX,
    generation: u32::MAX,
};

/// What a worker of a multi-worker runtime has besides its core.
pub(crate) struct WorkerCtx {
    pub(crate) pool: Arc<Pool>,
    pub(crate) index: usize,
    /// Unstarted groups spawned here, and stolen batches.
    pub(crate) local: crossbeam_deque::Worker<Group>,
    /// Per sibling: its queued-groups count when this worker last left a
    /// lone group of its alone (see `Pool::find_group`).
    pub(crate) lone_seen: Box<[std::cell::Cell<usize>]>,
}

impl WorkerCtx {
    pub(crate) fn new(
        pool: Arc<Pool>,
        index: usize,
        local: crossbeam_deque::Worker<Group>,
    ) -> Self {
        let lone_seen = (0..pool.size()).map(|_| std::cell::Cell::new(0)).collect();
        WorkerCtx {
            pool,
            index,
            local,
            lone_seen,
        }
    }
}

/// A runtime's thread-local state (one worker's, in a multi-worker
/// runtime).
pub(crate) struct Core {
    pub(crate) shared: Arc<RuntimeShared>,
    pub(super) slots: RefCell<Vec<Slot>>,
    pub(super) free: RefCell<Vec<u32>>,
    pub(super) run_queue: RefCell<VecDeque<TaskKey>>,
    /// The remote queue's previous buffer, empty, for the next swap.
    pub(super) remote_drained: Cell<Vec<TaskKey>>,
    pub(crate) timers: Timers,
    pub(super) next_task_id: Cell<u64>,
    /// Tasks of this worker not yet finished.
    pub(super) live: Cell<usize>,
    /// `None` for a single-thread runtime.
    pub(crate) worker: Option<WorkerCtx>,
    pub(crate) stack_size: usize,
    pub(super) shutting_down: Cell<bool>,
}

thread_local! {
    static CORE: Cell<*const Core> = const { Cell::new(ptr::null()) };
    pub(super) static CURRENT_TASK: Cell<*const Task> = const { Cell::new(ptr::null()) };
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
pub(super) struct CurrentTask(pub(super) *const Task);

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

    pub(super) fn task(&self, key: TaskKey) -> Option<Rc<Task>> {
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

    pub(super) fn reserve_slot(&self) -> TaskKey {
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
    pub(super) fn free_slot(&self, key: TaskKey) {
        let mut slots = self.slots.borrow_mut();
        let slot = &mut slots[key.index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        self.free.borrow_mut().push(key.index);
    }

    pub(super) fn release_slot(&self, key: TaskKey) {
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
                worker.pool.task_done(worker.index);
            }
        }
        // The task (and its finished coroutine's stack) drops here, outside
        // the borrow of the table.
        drop(task);
    }

    /// Resumes one task until it parks, yields or finishes.
    #[inline(always)]
    pub(super) fn run_task(&self, task: Rc<Task>) {
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
        // A fallback: the enter guard unwinds the tasks of a scheduler that
        // panics while the runtime is still entered; anything left now
        // drops with the table.
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
