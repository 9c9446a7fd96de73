//! The channel proper: its lock, and the operations the handles, `Queue`
//! and `Select` build on.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use super::error::{RecvError, SendError, TryRecvError, TrySendError};
use super::state::{RecvEntry, Slot, State, Wants};
use super::wait::{RecvFut, SendFut};
use crate::rt::{block_on_as, WaitReason};
use crate::sync::id_map::{IdMap, IdSet};
use crate::sync::waiters::{Gate, Wakers};
use crate::util::lock;

/// The channel proper, shared by the handles (and by `Queue`).
pub(crate) struct Chan<T> {
    state: Mutex<State<T>>,
}

impl<T> Chan<T> {
    /// A channel with one sender and one receiver handle.
    pub(crate) fn new(cap: usize) -> Self {
        Chan {
            state: Mutex::new(State {
                buf: VecDeque::new(),
                cap,
                recv_waiters: IdMap::new(),
                send_waiters: IdMap::new(),
                delivered: IdMap::new(),
                sent: IdSet::new(),
                next_id: 0,
                senders: 1,
                receivers: 1,
                closed: false,
                unfinished: 0,
                join_gate: Gate::new(),
            }),
        }
    }

    /// The state's mutex itself, for waits that take the lock themselves.
    pub(crate) fn state(&self) -> &Mutex<State<T>> {
        &self.state
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }

    pub(crate) fn cap(&self) -> usize {
        self.lock().cap
    }

    pub(crate) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        // The guard drops at the end of this statement: wake after it.
        let woken = self.lock().offer(value)?;
        if let Some(waker) = woken {
            waker.wake();
        }
        Ok(())
    }

    pub(crate) fn send(&self, value: T, reason: WaitReason) -> Result<(), SendError<T>> {
        // Most sends need no wait: try once, without setting up a wait.
        let value = match self.try_send(value) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(value)) => return Err(SendError(value)),
            Err(TrySendError::Full(value)) => value,
        };
        block_on_as(
            SendFut {
                chan: self,
                value: Some(value),
                id: None,
            },
            reason,
        )
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut wakers = Wakers::new();
        let r = {
            let mut st = self.lock();
            match st.take(&mut wakers) {
                Some(v) => Ok(v),
                None if st.rx_closed() => Err(TryRecvError::Disconnected),
                None => Err(TryRecvError::Empty),
            }
        };
        wakers.wake();
        r
    }

    pub(crate) fn recv(&self, reason: WaitReason) -> Result<T, RecvError> {
        // Declared before the future, so dropped after it: see `Slot`.
        let slot = Slot::new();
        block_on_as(
            RecvFut {
                chan: self,
                id: None,
                slot: &slot,
            },
            reason,
        )
    }

    /// One look at the channel for a select arm: the message (or the
    /// closed error) if the arm wins, else registers the arm (when
    /// `waker` is given).
    pub(crate) fn poll_select(
        &self,
        id: &mut Option<u64>,
        claim: &Arc<AtomicBool>,
        waker: Option<&Waker>,
    ) -> SelectPoll<T> {
        let mut wakers = Wakers::new();
        let r = {
            let mut st = self.lock();
            if let Some(v) = id.and_then(|i| st.delivered.remove(&i)) {
                *id = None;
                SelectPoll::Ready(Ok(v))
            } else if st.has_message() || st.rx_closed() {
                if claim.swap(true, Ordering::AcqRel) {
                    SelectPoll::ClaimedElsewhere
                } else {
                    if let Some(i) = id.take() {
                        st.recv_waiters.remove(&i);
                    }
                    SelectPoll::Ready(st.take(&mut wakers).ok_or(RecvError))
                }
            } else {
                if let Some(waker) = waker {
                    let i = *id.get_or_insert_with(|| st.next_id());
                    match st.recv_waiters.get_mut(&i) {
                        Some(e) => e.waker.clone_from(waker),
                        None => {
                            st.recv_waiters.insert(
                                i,
                                RecvEntry {
                                    waker: waker.clone(),
                                    wants: Wants::Select(claim.clone()),
                                },
                            );
                        }
                    }
                }
                SelectPoll::Pending
            }
        };
        wakers.wake();
        r
    }

    /// The message handed to a select arm, if any.
    pub(crate) fn take_delivered(&self, id: &mut Option<u64>) -> Option<T> {
        let i = (*id)?;
        let v = self.lock().delivered.remove(&i);
        if v.is_some() {
            *id = None;
        }
        v
    }

    /// Withdraws a blocked select arm; a message already handed to it goes
    /// back into the channel. (A plain `recv` withdraws in
    /// `RecvFut::drop`.)
    pub(crate) fn unregister_receiver(&self, id: &mut Option<u64>) {
        let Some(i) = id.take() else { return };
        let mut wakers = Wakers::new();
        {
            let mut st = self.lock();
            st.recv_waiters.remove(&i);
            if let Some(v) = st.delivered.remove(&i) {
                st.reinject(v, &mut wakers);
            }
        }
        wakers.wake();
    }

    pub(super) fn close(&self) {
        let mut wakers = Wakers::new();
        {
            let mut st = self.lock();
            if !st.closed {
                st.closed = true;
                st.wake_everyone(&mut wakers);
            }
        }
        wakers.wake();
    }
}

pub(crate) enum SelectPoll<T> {
    Ready(Result<T, RecvError>),
    ClaimedElsewhere,
    Pending,
}
