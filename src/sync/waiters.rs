//! Waiter lists shared by the sync types, and the FIFO hand-off permits
//! under `Mutex` and `Semaphore`.
//!
//! Every waiter is a future polled by `block_on_as`: it registers its
//! `Waker` under an id, in id order (FIFO). Ids are never reused, so a
//! waiter that re-registers after a spurious wake-up keeps its place.
//! Wakers are collected while the state lock is held and called after it
//! is released ([`Wakers`]), so a waker never runs under a sync type's
//! lock.

use super::id_map::{IdMap, IdSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::rt::{block_on_as, WaitReason};
use crate::util::lock;

/// Wakers to call once the state lock is released.
pub(crate) struct Wakers {
    one: Option<Waker>,
    more: Vec<Waker>,
}

// The methods are inlined into the sync types' hot paths: passed by value
// to a call, the struct would be copied with wider loads than the stores
// that filled it, and such a copy stalls on store forwarding.
impl Wakers {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Wakers {
            one: None,
            more: Vec::new(),
        }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, waker: Waker) {
        match self.one {
            None => self.one = Some(waker),
            Some(_) => self.more.push(waker),
        }
    }

    /// Calls every collected waker. Call it after dropping the lock.
    #[inline(always)]
    pub(crate) fn wake(self) {
        let Wakers { one, more } = self;
        if let Some(w) = one {
            w.wake();
        }
        // Usually empty: no iterator to set up then.
        if !more.is_empty() {
            wake_all(more);
        }
    }
}

#[inline(never)]
fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// A FIFO list of parked waiters, keyed by a never-reused id.
#[derive(Default)]
pub(crate) struct WaitList {
    next_id: u64,
    waiting: IdMap<Waker>,
}

impl WaitList {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Enters the waiter (allocating its id on first use) or refreshes its
    /// waker. A waiter removed by `take_all` re-enters at its old place.
    pub(crate) fn register(&mut self, id: &mut Option<u64>, waker: &Waker) {
        let id = *id.get_or_insert_with(|| {
            self.next_id += 1;
            self.next_id
        });
        match self.waiting.get_mut(&id) {
            Some(w) => w.clone_from(waker),
            None => {
                self.waiting.insert(id, waker.clone());
            }
        }
    }

    /// Removes a waiter; whether it was still in the list.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        self.waiting.remove(&id).is_some()
    }

    /// The oldest waiter, removed from the list.
    pub(crate) fn pop_first(&mut self) -> Option<(u64, Waker)> {
        self.waiting.pop_first()
    }

    /// Removes every waiter into `wakers`.
    pub(crate) fn take_all(&mut self, wakers: &mut Wakers) {
        for (_, w) in self.waiting.drain() {
            wakers.push(w);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// Counted permits handed over in FIFO order: a released permit goes
/// straight to the oldest waiter (which then owns it even before it runs),
/// so a newcomer cannot barge past the queue.
pub(crate) struct Permits {
    state: Mutex<PermitState>,
}

struct PermitState {
    available: usize,
    waiters: WaitList,
    /// Waiters that were handed a permit and have not yet picked it up.
    granted: IdSet,
}

impl PermitState {
    /// Gives back `n` permits: to the oldest waiters first, the rest to
    /// the free count.
    ///
    /// # Panics
    ///
    /// When the free count would overflow `usize`.
    fn release(&mut self, mut n: usize, wakers: &mut Wakers) {
        while n > 0 {
            let Some((id, waker)) = self.waiters.pop_first() else {
                break;
            };
            self.granted.insert(id);
            wakers.push(waker);
            n -= 1;
        }
        self.available = self
            .available
            .checked_add(n)
            .expect("corio::sync: too many permits (usize overflow)");
    }
}

impl Permits {
    pub(crate) fn new(available: usize) -> Self {
        Permits {
            state: Mutex::new(PermitState {
                available,
                waiters: WaitList::new(),
                granted: IdSet::new(),
            }),
        }
    }

    /// Takes a permit if one is free and nobody queues for one.
    pub(crate) fn try_acquire(&self) -> bool {
        let mut st = lock(&self.state);
        if st.available > 0 && st.waiters.is_empty() {
            st.available -= 1;
            true
        } else {
            false
        }
    }

    /// Waits for a permit.
    pub(crate) fn acquire(&self, reason: WaitReason) {
        block_on_as(
            Acquire {
                permits: self,
                id: None,
            },
            reason,
        );
    }

    /// Gives back `n` permits (see [`PermitState::release`]).
    pub(crate) fn release(&self, n: usize) {
        let mut wakers = Wakers::new();
        lock(&self.state).release(n, &mut wakers);
        wakers.wake();
    }

    pub(crate) fn available(&self) -> usize {
        lock(&self.state).available
    }
}

/// Waiting for a permit. Dropped while waiting (its task was cancelled or
/// timed out), it leaves the queue; if a permit had already been handed to
/// it, the permit goes on to the next waiter.
struct Acquire<'a> {
    permits: &'a Permits,
    id: Option<u64>,
}

impl Future for Acquire<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut st = lock(&this.permits.state);
        if let Some(id) = this.id {
            if st.granted.remove(&id) {
                this.id = None;
                return Poll::Ready(());
            }
        } else if st.available > 0 && st.waiters.is_empty() {
            st.available -= 1;
            return Poll::Ready(());
        }
        st.waiters.register(&mut this.id, cx.waker());
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let mut wakers = Wakers::new();
        {
            let mut st = lock(&self.permits.state);
            // Handed a permit it will not use: it goes on to the next
            // waiter, under the same lock.
            if !st.waiters.remove(id) && st.granted.remove(&id) {
                st.release(1, &mut wakers);
            }
        }
        wakers.wake();
    }
}

/// Where many waiters wait for one condition and are all released when it
/// comes true: an `Event` set, a `WaitGroup` at zero, a `Queue` joined.
/// Each opening starts a new generation, so a waiter released by it
/// returns even if the condition is false again before the waiter runs
/// (asyncio's semantics).
#[derive(Default)]
pub(crate) struct Gate {
    generation: u64,
    waiters: WaitList,
}

impl Gate {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Releases every waiter.
    pub(crate) fn open(&mut self, wakers: &mut Wakers) {
        self.generation += 1;
        self.waiters.take_all(wakers);
    }
}

/// Waits until `ready` holds for the state behind `state`, or the gate that
/// `gate` finds in it opens. Parks the task (blocks a plain thread).
pub(crate) fn wait_at_gate<S>(
    state: &Mutex<S>,
    reason: WaitReason,
    ready: fn(&S) -> bool,
    gate: fn(&mut S) -> &mut Gate,
) {
    block_on_as(
        GateWait {
            state,
            ready,
            gate,
            id: None,
            generation: None,
        },
        reason,
    );
}

struct GateWait<'a, S> {
    state: &'a Mutex<S>,
    ready: fn(&S) -> bool,
    gate: fn(&mut S) -> &mut Gate,
    id: Option<u64>,
    /// The gate's generation when the wait began.
    generation: Option<u64>,
}

impl<S> Future for GateWait<'_, S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut st = lock(this.state);
        let ready = (this.ready)(&st);
        let gate = (this.gate)(&mut st);
        let started = *this.generation.get_or_insert(gate.generation);
        if ready || gate.generation != started {
            if let Some(id) = this.id.take() {
                gate.waiters.remove(id);
            }
            return Poll::Ready(());
        }
        gate.waiters.register(&mut this.id, cx.waker());
        Poll::Pending
    }
}

impl<S> Drop for GateWait<'_, S> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            (self.gate)(&mut lock(self.state)).waiters.remove(id);
        }
    }
}
