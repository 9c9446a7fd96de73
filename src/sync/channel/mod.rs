//! Multi-producer, multi-consumer channels, bounded (including rendezvous)
//! and unbounded, in the manner of Go's channels.
//!
//! ```
//! use corio::sync::channel;
//!
//! let total = corio::run(|| {
//!     let (tx, rx) = channel::bounded(2);
//!     for id in 0..3 {
//!         let tx = tx.clone();
//!         corio::spawn(move || {
//!             for n in 0..10 {
//!                 tx.send(id * 100 + n).unwrap();
//!             }
//!         });
//!     }
//!     drop(tx); // the channel closes once the three producers are done
//!     rx.iter().sum::<i32>()
//! });
//! assert_eq!(total, 3 * 45 + 1000 + 2000);
//! ```
//!
//! # Semantics
//!
//! - Messages from one sender arrive in the order they were sent, except
//!   for a message given back by a cancelled receiver (see below).
//! - A blocked receiver is handed the next message directly, oldest
//!   receiver first; blocked senders complete in the order they blocked.
//! - `bounded(0)` is a rendezvous channel: `send` returns once a receiver
//!   has taken the message (or, when a receiver was already waiting, once
//!   the message is handed to it).
//! - Dropping the last [`Sender`], or [`Sender::close`], closes the
//!   channel: receivers get the messages still buffered, then
//!   [`RecvError`]. Blocked senders get their message back.
//! - Dropping the last [`Receiver`] disconnects the channel: buffered
//!   messages are dropped, and every send, blocked or not, gets its
//!   message back in a [`SendError`].
//!
//! # Cancellation
//!
//! A task cancelled (or timed out) in `send` has not sent: its message is
//! withdrawn and dropped with the unwinding task, unless a receiver took it
//! first, in which case the send happened. A task cancelled in `recv`
//! after a message was handed to it, but before it ran, gives the message
//! back: it goes to the next blocked receiver or to the front of the
//! buffer (even past the capacity), so nothing is lost.
//!
//! Such a message keeps its place in no order: it may be received after
//! later messages of its sender that another receiver took in the
//! meantime, and messages given back by several receivers reach the front
//! of the buffer in the order the receivers unwind, so the last one given
//! back is received first. Only a cancellation of a receiver that was
//! handed a message does this; without one, each sender's messages arrive
//! in order.

mod chan;
mod error;
mod iter;
mod receiver;
mod sender;
mod state;
mod wait;

use std::sync::Arc;

pub(crate) use chan::{Chan, SelectPoll};
pub use error::{RecvError, SendError, TryRecvError, TrySendError};
pub use iter::{IntoIter, Iter, TryIter};
pub use receiver::Receiver;
pub use sender::Sender;

/// Creates a channel holding at most `cap` messages; senders wait while it
/// is full. `cap == 0` makes a rendezvous channel (Go's unbuffered
/// channel): each send waits for a receiver.
///
/// ```
/// use corio::sync::channel::{self, TrySendError};
///
/// let (tx, rx) = channel::bounded(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    pair(Chan::new(cap))
}

/// Creates a channel without a bound: `send` never waits.
///
/// ```
/// let (tx, rx) = corio::sync::channel::unbounded();
/// for n in 0..1000 {
///     tx.send(n).unwrap();
/// }
/// drop(tx);
/// assert_eq!(rx.iter().count(), 1000);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    pair(Chan::new(usize::MAX))
}

fn pair<T>(chan: Chan<T>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(chan);
    (Sender { chan: chan.clone() }, Receiver { chan })
}

fn capacity<T>(chan: &Chan<T>) -> Option<usize> {
    Some(chan.cap()).filter(|&c| c != usize::MAX)
}
