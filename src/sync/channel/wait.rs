//! The futures of a send or a receive that has to wait.

use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use super::chan::Chan;
use super::error::{RecvError, SendError, TrySendError};
use super::state::{RecvEntry, SendEntry, Slot, SlotPtr, Wants};
use crate::sync::waiters::Wakers;

/// A blocked send. Dropped while blocked (cancellation), it withdraws its
/// message, unless a receiver already took it.
pub(super) struct SendFut<'a, T> {
    pub(super) chan: &'a Chan<T>,
    pub(super) value: Option<T>,
    pub(super) id: Option<u64>,
}

impl<T> Future for SendFut<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut wakers = Wakers::new();
        let r = {
            let mut st = this.chan.lock();
            match this.id {
                Some(id) if st.sent.remove(&id) => {
                    this.id = None;
                    Poll::Ready(Ok(()))
                }
                Some(id) if st.tx_closed() => {
                    this.id = None;
                    let e = st
                        .send_waiters
                        .remove(&id)
                        .expect("a blocked sender is in the list until taken");
                    Poll::Ready(Err(SendError(e.value)))
                }
                Some(id) => {
                    if let Some(e) = st.send_waiters.get_mut(&id) {
                        e.waker.clone_from(cx.waker());
                    }
                    Poll::Pending
                }
                None => {
                    let value = this.value.take().expect("a send polled after it finished");
                    match st.offer(value) {
                        Ok(waker) => {
                            if let Some(w) = waker {
                                wakers.push(w);
                            }
                            Poll::Ready(Ok(()))
                        }
                        Err(TrySendError::Disconnected(v)) => Poll::Ready(Err(SendError(v))),
                        Err(TrySendError::Full(value)) => {
                            let id = st.next_id();
                            st.send_waiters.insert(
                                id,
                                SendEntry {
                                    value,
                                    waker: cx.waker().clone(),
                                },
                            );
                            this.id = Some(id);
                            Poll::Pending
                        }
                    }
                }
            }
        };
        wakers.wake();
        r
    }
}

// Nothing in a send is address-sensitive: the message is only ever moved
// out of the `Option` by value.
impl<T> Unpin for SendFut<'_, T> {}

impl<T> Drop for SendFut<'_, T> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let withdrawn = {
            let mut st = self.chan.lock();
            st.sent.remove(&id);
            st.send_waiters.remove(&id)
        };
        // The message drops here, outside the channel's lock.
        drop(withdrawn);
    }
}

/// A blocked receive. Dropped while blocked, it leaves the list and gives
/// back a message already handed to it.
pub(super) struct RecvFut<'a, T> {
    pub(super) chan: &'a Chan<T>,
    /// Its entry in the waiting list, while it has one.
    pub(super) id: Option<u64>,
    pub(super) slot: &'a Slot<T>,
}

impl<T> Future for RecvFut<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        // Woken by a sender that handed us its message: no lock needed.
        if let Some(v) = this.slot.take() {
            this.id = None;
            return Poll::Ready(Ok(v));
        }
        let mut wakers = Wakers::new();
        let r = {
            let mut st = this.chan.lock();
            if let Some(v) = this.slot.take() {
                // Handed over between the look above and the lock.
                this.id = None;
                Poll::Ready(Ok(v))
            } else if let Some(v) = st.take(&mut wakers) {
                if let Some(id) = this.id.take() {
                    st.recv_waiters.remove(&id);
                }
                Poll::Ready(Ok(v))
            } else if st.rx_closed() {
                if let Some(id) = this.id.take() {
                    st.recv_waiters.remove(&id);
                }
                Poll::Ready(Err(RecvError))
            } else {
                let entry = match this.id {
                    Some(id) => st.recv_waiters.get_mut(&id),
                    None => None,
                };
                match entry {
                    Some(e) => e.waker.clone_from(cx.waker()),
                    None => {
                        // The first wait: a fresh id goes to the back of
                        // the list, with no search.
                        let id = *this.id.get_or_insert_with(|| st.next_id());
                        st.recv_waiters.insert(
                            id,
                            RecvEntry {
                                waker: cx.waker().clone(),
                                wants: Wants::Recv(SlotPtr(NonNull::from(this.slot))),
                            },
                        );
                    }
                }
                Poll::Pending
            }
        };
        wakers.wake();
        r
    }
}

impl<T> Drop for RecvFut<'_, T> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let mut wakers = Wakers::new();
        {
            let mut st = self.chan.lock();
            // Out of the list first: after this no sender can reach the slot.
            st.recv_waiters.remove(&id);
            if let Some(v) = self.slot.take() {
                st.reinject(v, &mut wakers);
            }
        }
        wakers.wake();
    }
}
