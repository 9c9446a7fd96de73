//! The state behind the channel's lock: the buffer, the waiting lists,
//! and the slot through which a blocked `recv` is handed its message.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Waker;

use super::error::TrySendError;
use crate::sync::id_map::{IdMap, IdSet};
use crate::sync::waiters::{Gate, Wakers};

/// A blocked receiver.
pub(super) struct RecvEntry<T> {
    pub(super) waker: Waker,
    pub(super) wants: Wants<T>,
}

/// How a blocked receiver takes its message.
pub(super) enum Wants<T> {
    /// A plain `recv`, in its [`Slot`] on the waiting side, so that it
    /// needs no second look under the lock.
    Recv(SlotPtr<T>),
    /// An arm of a `Select`, from `State::delivered`. The first channel to
    /// swap the claim to `true` is the one whose message the select takes;
    /// entries whose claim is already taken are skipped.
    Select(Arc<AtomicBool>),
}

/// A registered [`Slot`], reachable from the channel's waiting list.
pub(super) struct SlotPtr<T>(pub(super) NonNull<Slot<T>>);

// SAFETY: a `SlotPtr` is used by one sender at most, once, under the
// channel's lock, right after it removed the entry holding it; the slot is
// alive until then (its owner cannot return before it sees `full`, or
// before it removed its own entry under the same lock), and the sender does
// not touch it after setting `full` (see `SlotPtr::fill`). What crosses
// threads through it is one `T`, hence `T: Send`, as for the rest of the
// channel.
unsafe impl<T: Send> Send for SlotPtr<T> {}

impl<T> SlotPtr<T> {
    /// Fills the slot and hands it back to its owner.
    ///
    /// # Safety
    ///
    /// The caller holds the channel's lock and has just removed the entry
    /// holding this pointer from the waiting list: the slot is then alive,
    /// and empty (its owner took the previous value before registering
    /// again), and no other sender can reach it.
    unsafe fn fill(self, value: T) {
        let slot = self.0.as_ptr();
        // SAFETY: per the contract, the slot is alive and only we write to
        // it; its owner reads `value` only after it sees `full`, which is
        // still false. Nothing touches the slot after the `Release` store:
        // from then on its owner may take the value and free the slot.
        unsafe {
            *(*slot).value.get() = Some(value);
            (*slot).full.store(true, Ordering::Release);
        }
    }
}

/// The message handed to one blocked `recv`. It lives in the frame of
/// `Chan::recv`, below the future that registers it, so it outlives that
/// future, whose `Drop` removes the waiting-list entry pointing here.
///
/// Protocol: a sender that pops the entry (under the channel's lock) writes
/// the value, then sets `full` with `Release`; from then on only the owner
/// touches the slot, after seeing `full` with `Acquire`. An entry is in the
/// list at most once, so at most one sender fills a slot per registration.
pub(super) struct Slot<T> {
    full: AtomicBool,
    value: UnsafeCell<Option<T>>,
}

impl<T> Slot<T> {
    pub(super) fn new() -> Self {
        Slot {
            full: AtomicBool::new(false),
            value: UnsafeCell::new(None),
        }
    }

    /// The value a sender left, if any. Only the slot's owner calls this.
    pub(super) fn take(&self) -> Option<T> {
        if !self.full.load(Ordering::Acquire) {
            return None;
        }
        self.full.store(false, Ordering::Relaxed);
        // SAFETY: `full` was set by a sender after its write (Release,
        // paired with the Acquire above), and that sender removed the entry,
        // so nobody else writes here until the owner registers again, which
        // only the owner (this thread, now) can do.
        unsafe { (*self.value.get()).take() }
    }
}

/// A blocked sender and the message it offers.
pub(super) struct SendEntry<T> {
    pub(super) value: T,
    pub(super) waker: Waker,
}

pub(crate) struct State<T> {
    pub(super) buf: VecDeque<T>,
    /// `usize::MAX` for an unbounded channel.
    pub(super) cap: usize,
    pub(super) recv_waiters: IdMap<RecvEntry<T>>,
    pub(super) send_waiters: IdMap<SendEntry<T>>,
    /// Messages handed to blocked select arms that have not picked them up
    /// (a plain `recv` gets its message in its `Slot`).
    pub(super) delivered: IdMap<T>,
    /// Blocked senders whose message was taken.
    pub(super) sent: IdSet,
    pub(super) next_id: u64,
    pub(super) senders: usize,
    pub(super) receivers: usize,
    pub(super) closed: bool,
    /// Messages accepted and not yet marked done (`Queue::task_done`).
    pub(crate) unfinished: usize,
    /// Opened whenever `unfinished` drops to zero (`Queue::join`).
    pub(crate) join_gate: Gate,
}

impl<T> State<T> {
    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// No message will ever arrive once the buffer is drained.
    pub(super) fn rx_closed(&self) -> bool {
        self.closed || self.senders == 0
    }

    /// Sends fail.
    pub(super) fn tx_closed(&self) -> bool {
        self.closed || self.receivers == 0
    }

    /// A message can be taken now.
    pub(crate) fn has_message(&self) -> bool {
        !self.buf.is_empty() || (!self.closed && !self.send_waiters.is_empty())
    }

    fn accept(&mut self) {
        self.unfinished = self.unfinished.wrapping_add(1);
    }

    /// Takes the next message: from the buffer (refilling it from the
    /// oldest blocked sender), or from a blocked sender directly.
    pub(crate) fn take(&mut self, wakers: &mut Wakers) -> Option<T> {
        if let Some(v) = self.buf.pop_front() {
            if self.buf.len() < self.cap && !self.closed {
                if let Some((id, e)) = self.send_waiters.pop_first() {
                    self.buf.push_back(e.value);
                    self.sent.insert(id);
                    self.accept();
                    wakers.push(e.waker);
                }
            }
            return Some(v);
        }
        if self.closed {
            return None;
        }
        let (id, e) = self.send_waiters.pop_first()?;
        self.sent.insert(id);
        self.accept();
        wakers.push(e.waker);
        Some(e.value)
    }

    /// Hands `value` to the oldest blocked receiver that can still take
    /// it, and returns that receiver's waker, to be called once the lock is
    /// released.
    ///
    /// The waker is returned rather than pushed on a `Wakers`: on the send
    /// path it then stays in registers, where a struct filled here and
    /// copied out later stalls on store forwarding.
    #[inline(always)]
    fn deliver(&mut self, value: T) -> Result<Waker, T> {
        while let Some((id, e)) = self.recv_waiters.pop_first() {
            match e.wants {
                // SAFETY: we hold the lock and popped the entry just now, as
                // `SlotPtr::fill` requires.
                Wants::Recv(slot) => unsafe { slot.fill(value) },
                Wants::Select(claim) if !claim.swap(true, Ordering::AcqRel) => {
                    self.delivered.insert(id, value);
                }
                // A select that already took another of its arms: drop it.
                Wants::Select(_) => continue,
            }
            return Ok(e.waker);
        }
        Err(value)
    }

    /// A send that does not wait. On success, the waker of the receiver
    /// that was handed the message, if one was.
    #[inline(always)]
    pub(crate) fn offer(&mut self, value: T) -> Result<Option<Waker>, TrySendError<T>> {
        if self.tx_closed() {
            return Err(TrySendError::Disconnected(value));
        }
        let value = match self.deliver(value) {
            Ok(waker) => {
                self.accept();
                return Ok(Some(waker));
            }
            Err(v) => v,
        };
        if self.send_waiters.is_empty() && self.buf.len() < self.cap {
            self.buf.push_back(value);
            self.accept();
            Ok(None)
        } else {
            Err(TrySendError::Full(value))
        }
    }

    /// Puts back a message that was handed to a receiver which went away
    /// without it: to the next receiver, else to the front of the buffer.
    pub(super) fn reinject(&mut self, value: T, wakers: &mut Wakers) {
        match self.deliver(value) {
            Ok(waker) => wakers.push(waker),
            Err(v) => self.buf.push_front(v),
        }
    }

    /// Wakes every blocked receiver and sender to look at the channel
    /// again (it closed).
    pub(super) fn wake_everyone(&mut self, wakers: &mut Wakers) {
        for e in self.recv_waiters.values() {
            wakers.push(e.waker.clone());
        }
        for e in self.send_waiters.values() {
            wakers.push(e.waker.clone());
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }
}
