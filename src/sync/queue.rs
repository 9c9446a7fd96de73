//! A FIFO work queue with asyncio's `Queue` API: `put`/`get`, and
//! `task_done`/`join` to wait until every item has been processed.

use std::fmt;

use super::channel::{Chan, TrySendError};
use super::waiters::{wait_at_gate, Wakers};
use crate::rt::WaitReason;

/// A FIFO queue shared by producer and consumer tasks (share it by
/// reference or in an `Arc`), with the semantics of Python's
/// `asyncio.Queue`.
///
/// - [`put`](Queue::put) waits while the queue is full,
///   [`get`](Queue::get) while it is empty; blocked getters are served
///   oldest first, blocked putters too.
/// - Every item put counts as an unfinished task until a consumer calls
///   [`task_done`](Queue::task_done) for it; [`join`](Queue::join) waits
///   until there are none left.
/// - A task cancelled in `get` after an item was handed to it gives the
///   item back to the front of the queue (or to the next blocked getter);
///   a task cancelled in `put` before its item was taken has not put it.
///   An item given back loses its place in the FIFO order: it may come
///   out after items put later, and items given back by several getters
///   come out last given back, first.
///
/// ```
/// use std::sync::Arc;
/// use corio::sync::Queue;
///
/// let done = corio::run(|| {
///     let q = Arc::new(Queue::new(2));
///     let worker = {
///         let q = q.clone();
///         corio::spawn(move || loop {
///             let item: u32 = q.get();
///             println!("processing {item}");
///             q.task_done().unwrap();
///         })
///     };
///     for n in 0..5 {
///         q.put(n); // waits while two items are queued
///     }
///     q.join(); // every item processed
///     worker.cancel();
///     worker.join().unwrap_err().is_cancelled()
/// });
/// assert!(done);
/// ```
pub struct Queue<T> {
    chan: Chan<T>,
    maxsize: usize,
}

/// The error of [`Queue::put_nowait`]: the queue is full. It gives the item
/// back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

impl<T> QueueFull<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueFull { .. }")
    }
}

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is full")
    }
}

impl<T> std::error::Error for QueueFull<T> {}

/// The error of [`Queue::get_nowait`]: the queue is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueEmpty;

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is empty")
    }
}

impl std::error::Error for QueueEmpty {}

/// The error of [`Queue::task_done`]: called more times than items were
/// put (asyncio raises `ValueError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items; `0` means no bound.
    pub fn new(maxsize: usize) -> Self {
        let cap = if maxsize == 0 { usize::MAX } else { maxsize };
        Queue {
            chan: Chan::new(cap),
            maxsize,
        }
    }

    /// The bound given to [`new`](Queue::new) (`0`: none).
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// The number of items in the queue.
    pub fn qsize(&self) -> usize {
        self.chan.lock().len()
    }

    /// Whether the queue holds no item.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether the queue holds `maxsize` items (never, without a bound).
    pub fn full(&self) -> bool {
        self.maxsize != 0 && self.qsize() >= self.maxsize
    }

    /// Puts an item at the back, waiting while the queue is full. Inside a
    /// task it parks the task; on a plain thread it blocks the thread.
    pub fn put(&self, item: T) {
        if self.chan.send(item, WaitReason::Queue).is_err() {
            unreachable!("a queue never closes");
        }
    }

    /// Puts an item if there is room now.
    ///
    /// # Errors
    ///
    /// [`QueueFull`] with the item when the queue is full.
    ///
    /// ```
    /// let q = corio::sync::Queue::new(1);
    /// q.put_nowait('a').unwrap();
    /// assert_eq!(q.put_nowait('b').unwrap_err().into_inner(), 'b');
    /// ```
    pub fn put_nowait(&self, item: T) -> Result<(), QueueFull<T>> {
        self.chan.try_send(item).map_err(|e| match e {
            TrySendError::Full(v) | TrySendError::Disconnected(v) => QueueFull(v),
        })
    }

    /// Takes the item at the front, waiting while the queue is empty.
    pub fn get(&self) -> T {
        match self.chan.recv(WaitReason::Queue) {
            Ok(item) => item,
            Err(_) => unreachable!("a queue never closes"),
        }
    }

    /// Takes the item at the front if there is one.
    ///
    /// # Errors
    ///
    /// [`QueueEmpty`] when the queue is empty.
    pub fn get_nowait(&self) -> Result<T, QueueEmpty> {
        self.chan.try_recv().map_err(|_| QueueEmpty)
    }

    /// Marks one item taken by `get` as processed; [`join`](Queue::join)
    /// returns once every item put has been marked.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] when called more times than items were put.
    ///
    /// ```
    /// let q = corio::sync::Queue::new(0);
    /// q.put(1);
    /// q.get();
    /// assert!(q.task_done().is_ok());
    /// assert!(q.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut wakers = Wakers::new();
        {
            let mut st = self.chan.lock();
            if st.unfinished == 0 {
                return Err(TaskDoneError);
            }
            st.unfinished -= 1;
            if st.unfinished == 0 {
                st.join_gate.open(&mut wakers);
            }
        }
        wakers.wake();
        Ok(())
    }

    /// The number of items put and not yet marked by `task_done`.
    pub fn unfinished_tasks(&self) -> usize {
        self.chan.lock().unfinished
    }

    /// Waits until every item put has been marked by
    /// [`task_done`](Queue::task_done); returns at once when none is
    /// pending.
    ///
    /// Nothing marks an item for a consumer that ends between its `get`
    /// and its `task_done` (it panicked, was cancelled, or returned): the
    /// item stays unfinished for ever, and `join` then **waits for ever**,
    /// as Python's `Queue.join` does. The queue cannot tell a consumer
    /// that is slow from one that is gone. So a consumer that may fail
    /// should call `task_done` on every path (from a guard's `Drop`, say),
    /// or the waiter should bound its wait: `join` parks its task, so
    /// [`timeout`](crate::timeout) and [`cancel`](crate::JoinHandle::cancel)
    /// end it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use corio::sync::Queue;
    ///
    /// corio::run(|| {
    ///     let q = std::sync::Arc::new(Queue::new(0));
    ///     q.put(1);
    ///     let consumer = {
    ///         let q = q.clone();
    ///         corio::spawn(move || {
    ///             let _item: i32 = q.get();
    ///             // Gone without `task_done`.
    ///         })
    ///     };
    ///     consumer.join().unwrap();
    ///     assert_eq!(q.unfinished_tasks(), 1);
    ///     // `q.join()` alone would never return.
    ///     let waited = corio::timeout(Duration::from_millis(10), || q.join());
    ///     assert!(waited.is_err());
    /// });
    /// ```
    pub fn join(&self) {
        // Like asyncio's, a join returns once the count has reached zero
        // after it started waiting, even if new items came in before it ran.
        wait_at_gate(
            self.chan.state(),
            WaitReason::Queue,
            |st| st.unfinished == 0,
            |st| &mut st.join_gate,
        );
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.chan.lock();
        f.debug_struct("Queue")
            .field("maxsize", &self.maxsize)
            .field("qsize", &st.len())
            .field("unfinished_tasks", &st.unfinished)
            .finish()
    }
}
