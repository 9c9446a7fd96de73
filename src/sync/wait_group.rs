//! Waiting for a group of tasks to finish (Go's `sync.WaitGroup`).

use std::fmt;
use std::sync::{Arc, Mutex};

use super::waiters::{wait_at_gate, Gate, Wakers};
use crate::rt::WaitReason;
use crate::util::lock;

/// A counter of outstanding work: [`add`](WaitGroup::add) before starting
/// work, [`done`](WaitGroup::done) when a piece finishes,
/// [`wait`](WaitGroup::wait) until the count is zero. Clones share the
/// counter. A waiter released when the count reached zero returns even if
/// the count rises again before it runs.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use corio::sync::WaitGroup;
///
/// let finished = corio::run(|| {
///     let wg = WaitGroup::new();
///     let finished = Arc::new(AtomicUsize::new(0));
///     for n in 0..4 {
///         wg.add(1);
///         let (wg, finished) = (wg.clone(), finished.clone());
///         corio::spawn(move || {
///             corio::sleep(std::time::Duration::from_millis(n));
///             finished.fetch_add(1, Ordering::SeqCst);
///             wg.done();
///         });
///     }
///     wg.wait();
///     finished.load(Ordering::SeqCst)
/// });
/// assert_eq!(finished, 4);
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<Mutex<State>>,
}

struct State {
    count: usize,
    /// Opened whenever the count drops to zero.
    gate: Gate,
}

impl WaitGroup {
    /// A group with a count of zero.
    pub fn new() -> Self {
        WaitGroup {
            inner: Arc::new(Mutex::new(State {
                count: 0,
                gate: Gate::new(),
            })),
        }
    }

    /// Adds `n` to the count.
    ///
    /// # Panics
    ///
    /// When the count would overflow `usize`.
    pub fn add(&self, n: usize) {
        let mut st = lock(&self.inner);
        st.count = st
            .count
            .checked_add(n)
            .expect("corio::sync::WaitGroup: count overflow");
    }

    /// Takes one from the count; at zero, wakes every waiter.
    ///
    /// # Panics
    ///
    /// When the count is already zero (Go panics with "negative WaitGroup
    /// counter").
    pub fn done(&self) {
        let mut wakers = Wakers::new();
        {
            let mut st = lock(&self.inner);
            assert!(
                st.count > 0,
                "corio::sync::WaitGroup::done called more times than add"
            );
            st.count -= 1;
            if st.count == 0 {
                st.gate.open(&mut wakers);
            }
        }
        wakers.wake();
    }

    /// The count now.
    pub fn count(&self) -> usize {
        lock(&self.inner).count
    }

    /// Waits until the count is zero (returns at once if it is). Inside a
    /// task it parks the task; on a plain thread it blocks the thread.
    pub fn wait(&self) {
        wait_at_gate(
            &self.inner,
            WaitReason::WaitGroup,
            |st| st.count == 0,
            |st| &mut st.gate,
        );
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}
