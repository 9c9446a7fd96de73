//! A counting semaphore that parks tasks, not threads.

use std::fmt;

use super::waiters::Permits;
use crate::rt::WaitReason;

/// A counting semaphore: at most as many holders as it has permits.
/// Waiters are served in FIFO order; a released permit is handed straight
/// to the oldest waiter. A task cancelled while holding a
/// [`SemaphorePermit`] releases it as it unwinds; one cancelled while
/// waiting leaves the queue, passing on a permit already handed to it.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use corio::sync::Semaphore;
///
/// let most = corio::run(|| {
///     let sem = Arc::new(Semaphore::new(2));
///     let inside = Arc::new(AtomicUsize::new(0));
///     let most = Arc::new(AtomicUsize::new(0));
///     let tasks: Vec<_> = (0..6)
///         .map(|_| {
///             let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
///             corio::spawn(move || {
///                 let _permit = sem.acquire();
///                 let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
///                 most.fetch_max(now, Ordering::SeqCst);
///                 corio::sleep(std::time::Duration::from_millis(1));
///                 inside.fetch_sub(1, Ordering::SeqCst);
///             })
///         })
///         .collect();
///     tasks.into_iter().for_each(|t| t.join().unwrap());
///     most.load(Ordering::SeqCst)
/// });
/// assert_eq!(most, 2);
/// ```
pub struct Semaphore {
    permits: Permits,
}

/// A permit of a [`Semaphore`], given back when dropped.
#[must_use = "the permit is released at once if it is not kept"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
}

impl Semaphore {
    /// A semaphore with `permits` free permits.
    pub fn new(permits: usize) -> Self {
        Semaphore {
            permits: Permits::new(permits),
        }
    }

    /// Takes a permit, waiting (in FIFO order) while none is free. Inside
    /// a task it parks the task; on a plain thread it blocks the thread.
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        self.permits.acquire(WaitReason::Permit);
        SemaphorePermit { sem: self }
    }

    /// Takes a permit if one is free and nobody waits.
    ///
    /// ```
    /// let sem = corio::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        // Not `then_some`: a permit built eagerly would be released on drop.
        self.permits
            .try_acquire()
            .then(|| SemaphorePermit { sem: self })
    }

    /// Adds `n` permits, waking up to `n` waiters.
    ///
    /// # Panics
    ///
    /// When the number of free permits would overflow `usize`.
    ///
    /// ```
    /// let sem = corio::sync::Semaphore::new(0);
    /// sem.add_permits(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.permits.release(n);
    }

    /// The number of free permits now.
    pub fn available_permits(&self) -> usize {
        self.permits.available()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .finish()
    }
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken for good: the semaphore has one permit less.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.permits.release(1);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SemaphorePermit")
    }
}
