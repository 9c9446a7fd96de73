//! A flag that tasks can wait for (asyncio's `Event`).

use std::fmt;
use std::sync::Mutex;

use super::waiters::{wait_at_gate, Gate, Wakers};
use crate::rt::WaitReason;
use crate::util::lock;

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
    /// Opened by every `set` of a clear flag.
    gate: Gate,
}

impl Event {
    /// A clear event.
    pub fn new() -> Self {
        Event {
            state: Mutex::new(State {
                set: false,
                gate: Gate::new(),
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
                st.gate.open(&mut wakers);
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
        wait_at_gate(
            &self.state,
            WaitReason::Event,
            |st| st.set,
            |st| &mut st.gate,
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
