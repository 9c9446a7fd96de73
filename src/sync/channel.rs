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
//! - Messages from one sender arrive in the order they were sent.
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

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::id_map::{IdMap, IdSet};
use super::waiters::{Gate, Wakers};
use crate::rt::{block_on_as, WaitReason};
use crate::util::lock;

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

// ---------------------------------------------------------------------------
// Errors

/// The error of [`Sender::send`]: every receiver is gone or the channel was
/// closed. It gives the message back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The message that could not be sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError { .. }")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The error of [`Sender::try_send`]; both variants give the message back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full (for a rendezvous channel: no receiver waits).
    Full(T),
    /// Every receiver is gone or the channel was closed.
    Disconnected(T),
}

impl<T> TrySendError<T> {
    /// The message that could not be sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Disconnected(v) => v,
        }
    }

    /// Whether the send failed because the channel was full.
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the send failed because the channel is closed.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TrySendError::Disconnected(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Disconnected(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        TrySendError::Disconnected(e.0)
    }
}

/// The error of [`Receiver::recv`]: the channel is empty and closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on an empty and closed channel")
    }
}

impl std::error::Error for RecvError {}

/// The error of [`Receiver::try_recv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message is ready now.
    Empty,
    /// The channel is empty and closed.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Disconnected => f.write_str("receiving on an empty and closed channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> Self {
        TryRecvError::Disconnected
    }
}

// ---------------------------------------------------------------------------
// The shared state

/// The channel proper, shared by the handles (and by `Queue`).
pub(crate) struct Chan<T> {
    state: Mutex<State<T>>,
}

/// A blocked receiver.
struct RecvEntry<T> {
    waker: Waker,
    wants: Wants<T>,
}

/// How a blocked receiver takes its message.
enum Wants<T> {
    /// A plain `recv`, in its [`Slot`] on the waiting side, so that it
    /// needs no second look under the lock.
    Recv(SlotPtr<T>),
    /// An arm of a `Select`, from `State::delivered`. The first channel to
    /// swap the claim to `true` is the one whose message the select takes;
    /// entries whose claim is already taken are skipped.
    Select(Arc<AtomicBool>),
}

/// A registered [`Slot`], reachable from the channel's waiting list.
struct SlotPtr<T>(NonNull<Slot<T>>);

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
struct Slot<T> {
    full: AtomicBool,
    value: UnsafeCell<Option<T>>,
}

impl<T> Slot<T> {
    fn new() -> Self {
        Slot {
            full: AtomicBool::new(false),
            value: UnsafeCell::new(None),
        }
    }

    /// The value a sender left, if any. Only the slot's owner calls this.
    fn take(&self) -> Option<T> {
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
struct SendEntry<T> {
    value: T,
    waker: Waker,
}

pub(crate) struct State<T> {
    buf: VecDeque<T>,
    /// `usize::MAX` for an unbounded channel.
    cap: usize,
    recv_waiters: IdMap<RecvEntry<T>>,
    send_waiters: IdMap<SendEntry<T>>,
    /// Messages handed to blocked select arms that have not picked them up
    /// (a plain `recv` gets its message in its `Slot`).
    delivered: IdMap<T>,
    /// Blocked senders whose message was taken.
    sent: IdSet,
    next_id: u64,
    senders: usize,
    receivers: usize,
    closed: bool,
    /// Messages accepted and not yet marked done (`Queue::task_done`).
    pub(crate) unfinished: usize,
    /// Opened whenever `unfinished` drops to zero (`Queue::join`).
    pub(crate) join_gate: Gate,
}

impl<T> State<T> {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// No message will ever arrive once the buffer is drained.
    fn rx_closed(&self) -> bool {
        self.closed || self.senders == 0
    }

    /// Sends fail.
    fn tx_closed(&self) -> bool {
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
    fn reinject(&mut self, value: T, wakers: &mut Wakers) {
        match self.deliver(value) {
            Ok(waker) => wakers.push(waker),
            Err(v) => self.buf.push_front(v),
        }
    }

    /// Wakes every blocked receiver and sender to look at the channel
    /// again (it closed).
    fn wake_everyone(&mut self, wakers: &mut Wakers) {
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

    fn close(&self) {
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

// ---------------------------------------------------------------------------
// Waiting

/// A blocked send. Dropped while blocked (cancellation), it withdraws its
/// message, unless a receiver already took it.
struct SendFut<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    id: Option<u64>,
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
struct RecvFut<'a, T> {
    chan: &'a Chan<T>,
    /// Its entry in the waiting list, while it has one.
    id: Option<u64>,
    slot: &'a Slot<T>,
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

// ---------------------------------------------------------------------------
// Handles

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
    chan: Arc<Chan<T>>,
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
    /// [`RecvError`].
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

fn capacity<T>(chan: &Chan<T>) -> Option<usize> {
    Some(chan.cap()).filter(|&c| c != usize::MAX)
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

/// The iterator of [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// The iterator of [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// The owning iterator of a [`Receiver`].
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
