//! The receiving half.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use super::capacity;
use super::chan::Chan;
use super::error::{RecvError, TryRecvError};
use super::iter::{Iter, TryIter};
use crate::rt::WaitReason;
use crate::sync::waiters::Wakers;

/// The receiving half of a channel. Clone it for more consumers: each
/// message goes to exactly one of them.
///
/// ```
/// let (tx, rx) = corio::sync::channel::bounded(0);
/// let got = corio::run(|| {
///     corio::spawn(move || {
///         for word in ["ping", "pong"] {
///             tx.send(word).unwrap(); // waits for the receiver each time
///         }
///     });
///     rx.iter().collect::<Vec<_>>()
/// });
/// assert_eq!(got, ["ping", "pong"]);
/// ```
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Receives the next message, waiting while the channel is empty.
    /// Inside a task it parks the task; on a plain thread it blocks the
    /// thread. Bound the wait with [`corio::timeout`](crate::timeout).
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is empty and closed.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.chan.recv(WaitReason::Channel)
    }

    /// Receives a message if one is ready.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when none is,
    /// [`TryRecvError::Disconnected`] when the channel is empty and
    /// closed.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// A blocking iterator over the messages; it ends when the channel is
    /// empty and closed.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the messages ready now.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Whether no message will ever arrive again once the buffer is
    /// drained: the channel was closed or every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.chan.lock().rx_closed()
    }

    /// The number of buffered messages.
    pub fn len(&self) -> usize {
        self.chan.lock().len()
    }

    /// Whether no message is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound, or `None` for an unbounded channel.
    pub fn capacity(&self) -> Option<usize> {
        capacity(&self.chan)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.lock().receivers += 1;
        Receiver {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut wakers = Wakers::new();
        let dropped = {
            let mut st = self.chan.lock();
            st.receivers -= 1;
            if st.receivers == 0 {
                st.wake_everyone(&mut wakers);
                std::mem::take(&mut st.buf)
            } else {
                VecDeque::new()
            }
        };
        wakers.wake();
        // Messages nobody can receive any more drop outside the lock.
        drop(dropped);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}
