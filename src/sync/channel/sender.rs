//! The sending half.

use std::fmt;
use std::sync::Arc;

use super::capacity;
use super::chan::Chan;
use super::error::{SendError, TrySendError};
use crate::rt::WaitReason;
use crate::sync::waiters::Wakers;

/// The sending half of a channel. Clone it for more producers; the channel
/// closes when the last one is dropped.
///
/// ```
/// let (tx, rx) = corio::sync::channel::unbounded();
/// let tx2 = tx.clone();
/// tx.send("a").unwrap();
/// tx2.send("b").unwrap();
/// drop((tx, tx2));
/// assert_eq!(rx.iter().collect::<Vec<_>>(), ["a", "b"]);
/// ```
pub struct Sender<T> {
    pub(super) chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends a message, waiting while the channel is full (for a
    /// rendezvous channel: until a receiver takes it). Inside a task it
    /// parks the task; on a plain thread it blocks the thread.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message when every receiver is gone or the
    /// channel was closed, also if that happens while the send waits.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.send(value, WaitReason::Channel)
    }

    /// Sends a message if that needs no waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when the channel is full (a rendezvous
    /// channel is full unless a receiver is blocked in `recv`),
    /// [`TrySendError::Disconnected`] when it is closed; both give the
    /// message back.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Closes the channel for every handle: later and blocked sends fail
    /// with their message, and receivers drain what is buffered, then get
    /// [`RecvError`](super::RecvError).
    ///
    /// ```
    /// let (tx, rx) = corio::sync::channel::bounded(4);
    /// tx.send(1).unwrap();
    /// tx.close();
    /// assert_eq!(tx.send(2).unwrap_err().into_inner(), 2);
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&self) {
        self.chan.close();
    }

    /// Whether sends fail now: the channel was closed or every receiver is
    /// gone.
    pub fn is_closed(&self) -> bool {
        self.chan.lock().tx_closed()
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

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.lock().senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakers = Wakers::new();
        {
            let mut st = self.chan.lock();
            st.senders -= 1;
            if st.senders == 0 {
                st.wake_everyone(&mut wakers);
            }
        }
        wakers.wake();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}
