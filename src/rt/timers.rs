//! A runtime thread's timers: a heap of deadlines, each waking one task.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::time::{Duration, Instant};

use super::task::TaskKey;

/// A timer in the heap: its deadline and its sequence number, unique within
/// the runtime thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerId {
    pub(crate) at: Instant,
    pub(crate) seq: u64,
}

/// The timers of one runtime thread.
pub(crate) struct Timers {
    heap: RefCell<BinaryHeap<Reverse<(Instant, u64, TaskKey)>>>,
    /// Timers withdrawn before they fired, by sequence number; each is
    /// still in `heap` and is skipped when it comes up.
    cancelled: RefCell<HashSet<u64>>,
    seq: Cell<u64>,
    /// When timers were last fired: every timer due by then has fired.
    checked: Cell<Instant>,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            heap: RefCell::new(BinaryHeap::new()),
            cancelled: RefCell::new(HashSet::new()),
            seq: Cell::new(0),
            checked: Cell::new(Instant::now()),
        }
    }

    /// Wakes the task of `key` once `at` has passed.
    pub(crate) fn add(&self, at: Instant, key: TaskKey) -> TimerId {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        self.heap.borrow_mut().push(Reverse((at, seq, key)));
        TimerId { at, seq }
    }

    /// When timers were last fired. A timer whose deadline is not after
    /// this instant has fired; a task woken by its timer sees this instant
    /// at or past its deadline, with no clock read of its own.
    pub(crate) fn checked(&self) -> Instant {
        self.checked.get()
    }

    /// Withdraws a timer that is no longer wanted (its sleep or timeout
    /// ended otherwise), so that it never wakes its task and the heap stays
    /// proportional to the live timers: a loop of short `timeout`s with
    /// long deadlines would otherwise grow the heap until the deadlines
    /// passed. The entry stays in the heap, skipped, until it reaches the
    /// top or withdrawn entries make up half the heap.
    pub(crate) fn cancel(&self, timer: TimerId) {
        if timer.at <= self.checked.get() {
            return; // It has fired and left the heap.
        }
        let mut cancelled = self.cancelled.borrow_mut();
        cancelled.insert(timer.seq);
        let mut heap = self.heap.borrow_mut();
        if cancelled.len() >= 64 && cancelled.len() * 2 >= heap.len() {
            heap.retain(|Reverse((_, seq, _))| !cancelled.contains(seq));
            cancelled.clear();
        }
    }

    /// Calls `wake` for the task of every timer that is due; returns how
    /// long until the next one is. `wake` must not touch the timers.
    #[inline]
    pub(crate) fn fire(&self, mut wake: impl FnMut(TaskKey)) -> Option<Duration> {
        let mut heap = self.heap.borrow_mut();
        if heap.is_empty() {
            return None;
        }
        let now = Instant::now();
        self.checked.set(now);
        let mut cancelled = self.cancelled.borrow_mut();
        while let Some(Reverse((at, seq, key))) = heap.peek().copied() {
            // A withdrawn timer leaves when it reaches the top, due or not,
            // so that its deadline does not cut the thread's sleep short.
            if !cancelled.is_empty() && cancelled.remove(&seq) {
                heap.pop();
                continue;
            }
            if at > now {
                return Some(at - now);
            }
            heap.pop();
            wake(key);
        }
        None
    }

    /// Timers that have neither fired nor been withdrawn.
    pub(crate) fn pending(&self) -> usize {
        self.heap.borrow().len() - self.cancelled.borrow().len()
    }
}
