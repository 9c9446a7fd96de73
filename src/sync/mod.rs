//! Synchronisation and communication between tasks: channels, `select`,
//! an asyncio-style work [`Queue`], [`Mutex`], [`Semaphore`], [`Event`]
//! and [`WaitGroup`].
//!
//! Everything here parks the calling *task* when it has to wait, so other
//! tasks of the runtime keep running; on a plain thread (outside any
//! runtime) the same calls block the thread. The types are `Send + Sync`
//! (when their contents are `Send`) and wake-up based, so they also work
//! between tasks of runtimes on different threads, and between tasks and
//! plain threads.
//!
//! ```
//! use corio::sync::channel;
//!
//! let (tx, rx) = channel::bounded(1);
//! // A plain thread produces; a task of a runtime consumes.
//! let producer = std::thread::spawn(move || {
//!     for n in 1..=3 {
//!         tx.send(n).unwrap();
//!     }
//! });
//! let sum: i32 = corio::run(|| rx.iter().sum());
//! producer.join().unwrap();
//! assert_eq!(sum, 6);
//! ```
//!
//! # Every blocking call has a non-blocking twin
//!
//! `send`/`try_send`, `recv`/`try_recv`, `put`/`put_nowait`,
//! `get`/`get_nowait`, `lock`/`try_lock`, `acquire`/`try_acquire`,
//! `wait`/`try_wait` (select), `is_set` (event), `count` (wait group). A
//! blocking call is bounded with [`corio::timeout`](crate::timeout).
//!
//! # Fairness
//!
//! Waiters are served in FIFO order and woken one at a time where one is
//! enough (a message, a permit, the lock): a release hands the resource
//! straight to the oldest waiter, so a newcomer cannot overtake it. Only
//! [`Event::set`], [`WaitGroup`] reaching zero, [`Queue::join`] and a
//! closing channel wake all their waiters, since all of them can go on.
//!
//! # Cancellation
//!
//! A task cancelled (or timed out) while it waits unwinds out of the wait,
//! and the wait undoes itself: it leaves the waiter list, and whatever was
//! already handed to it (a message, a queue item, the lock, a permit) goes
//! on to the next waiter or back where it came from. Nothing is lost and
//! no other waiter misses its wake-up (a message or queue item given back
//! this way loses its place in the FIFO order; see [`channel`]). A task
//! cancelled while holding a [`MutexGuard`] or [`SemaphorePermit`]
//! releases it as it unwinds.

pub mod channel;
mod event;
mod id_map;
mod mutex;
mod queue;
pub mod select;
mod semaphore;
mod wait_group;
mod waiters;

pub use channel::{bounded, unbounded, Receiver, RecvError, SendError, Sender};
pub use event::Event;
pub use mutex::{Mutex, MutexGuard};
pub use queue::{Queue, QueueEmpty, QueueFull, TaskDoneError};
pub use select::{select, Select};
pub use semaphore::{Semaphore, SemaphorePermit};
pub use wait_group::WaitGroup;
