//! The scheduler loop of one worker: run the queue, fire timers, start
//! groups, sleep in the reactor; and shutdown.

use std::rc::Rc;
use std::time::Duration;

use super::core::{Core, CurrentTask, CURRENT_TASK, GROUP_MARK, IO_POLL_INTERVAL};
use super::group::Group;
use super::pool::{Found, LONE_GROUP_WAIT};
use super::task::Task;
use crate::coro;

impl Core {
    pub(super) fn drain_remote(&self) {
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
                let found = match worker.pool.find_group(worker) {
                    Found::Nothing => worker.pool.sleep_or_find(worker),
                    found => found,
                };
                match found {
                    Found::Group(group) => {
                        self.start_and_queue(group);
                        continue;
                    }
                    Found::Later => {
                        let wait = next_timer.map_or(LONE_GROUP_WAIT, |t| t.min(LONE_GROUP_WAIT));
                        self.turn(Some(wait));
                    }
                    Found::Nothing => {
                        self.turn(next_timer);
                        worker.pool.woke(worker.index);
                    }
                }
            } else {
                self.turn(next_timer);
            }
            since_io = 0;
        }
    }

    /// Starts the oldest group of this worker's deque and runs it at once,
    /// in the place of the run queue entry that stood for it.
    pub(super) fn start_next_group(&self) {
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
    pub(super) fn start_and_queue(&self, group: Group) {
        if let Some(key) = self.start_group(group) {
            self.run_queue.borrow_mut().push_back(key);
        }
    }

    pub(super) fn turn(&self, timeout: Option<Duration>) {
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
                worker.pool.discard_groups(worker);
                self.run_until(|core| core.live.get() == 0 && worker.pool.live() == 0);
                worker.pool.leave(worker.index);
            }
        }
    }

    /// Unwinds every task left in the table, with this core still entered
    /// and each task marked as running, so that a destructor that waits
    /// finds its runtime (after a panic in the scheduler itself).
    pub(super) fn unwind_remaining(&self) {
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
                worker.pool.task_done(worker.index);
            }
        }
        if let Some(worker) = &self.worker {
            worker.pool.discard_groups(worker);
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
}
