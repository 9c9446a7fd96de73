//! A flag that tasks can wait for (asyncio's `Event`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use super::waiters::{lock, WaitList, Wakers};
use crate::rt::{block_on_as, WaitReason};

/// A flag, initially clear: [`wait`](Event::wait) parks until it is
/// [`set`](Event::set). Setting it wakes every waiter; like asyncio's, a
/// waiter released by a `set` returns even if the flag is cleared again
/// before it runs.
///
/// ```
/// use std::sync::Arc;
/// use corio::sync::Event;
///
/// corio::run(|| {
///     let ready = Arc::new(Event::new());
///     let waiter = {
///         let ready = ready.clone();
///         corio::spawn(move || {
///             ready.wait();
///             "released"
///         })
///     };
///     corio::yield_now();
///     assert!(!waiter.is_finished());
///     ready.set();
///     assert_eq!(waiter.join().unwrap(), "released");
/// });
/// ```
pub struct Event {
    state: Mutex<State>,
}

struct State {
    set: bool,
    /// Bumped by every `set` of a clear flag.
    generation: u64,
    waiters: WaitList,
}

impl Event {
    /// A clear event.
    pub fn new() -> Self {
        Event {
            state: Mutex::new(State {
                set: false,
                generation: 0,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        let mut wakers = Wakers::new();
        {
            let mut st = lock(&self.state);
            if !st.set {
                st.set = true;
                st.generation += 1;
                st.waiters.take_all(&mut wakers);
            }
        }
        wakers.wake();
    }

    /// Clears the flag: later `wait`s park again.
    pub fn clear(&self) {
        lock(&self.state).set = false;
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        lock(&self.state).set
    }

    /// Waits until the flag is set (returns at once if it is). Inside a
    /// task it parks the task; on a plain thread it blocks the thread.
    pub fn wait(&self) {
        block_on_as(
            Wait {
                event: self,
                id: None,
                generation: None,
            },
            WaitReason::Event,
        );
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}

struct Wait<'a> {
    event: &'a Event,
    id: Option<u64>,
    generation: Option<u64>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut st = lock(&this.event.state);
        let generation = *this.generation.get_or_insert(st.generation);
        if st.set || st.generation != generation {
            if let Some(id) = this.id.take() {
                st.waiters.remove(id);
            }
            return Poll::Ready(());
        }
        st.waiters.register(&mut this.id, cx.waker());
        Poll::Pending
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            lock(&self.event.state).waiters.remove(id);
        }
    }
}
