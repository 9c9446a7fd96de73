//! A fair mutual-exclusion lock that parks tasks, not threads.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::TryLockError;

use super::waiters::Permits;
use crate::rt::WaitReason;

/// A mutual-exclusion lock for data shared by tasks (and threads): a task
/// waiting for it parks, so other tasks run meanwhile.
///
/// - **Fair**: the lock is handed over in FIFO order. An unlock gives it
///   straight to the oldest waiter; `lock` and `try_lock` never barge past
///   waiters.
/// - **Cancellation**: a task cancelled (or timed out) while it holds a
///   guard unwinds and drops the guard, which releases the lock. A task
///   cancelled while it waits leaves the queue; if the lock had already
///   been handed to it, it passes it on to the next waiter.
/// - **No poisoning**: a guard dropped by a panic or a cancellation
///   releases the lock normally. The data is whatever the unwound task
///   left, possibly half-updated; code that cares should update it so that
///   every suspension point (any park: a channel operation, a sleep) leaves
///   it consistent.
/// - The [`MutexGuard`] is `!Send`: it stays with the thread (and the
///   task, since corio tasks never migrate) that locked. Holding it across
///   a park is fine: other tasks that want the lock park until it is
///   released.
///
/// ```
/// use std::sync::Arc;
/// use corio::sync::Mutex;
///
/// let total = corio::run(|| {
///     let counter = Arc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let counter = counter.clone();
///             corio::spawn(move || {
///                 let mut n = counter.lock();
///                 let seen = *n;
///                 corio::yield_now(); // others run, and wait for the lock
///                 *n = seen + 1;
///             })
///         })
///         .collect();
///     tasks.into_iter().for_each(|t| t.join().unwrap());
///     let n = *counter.lock();
///     n
/// });
/// assert_eq!(total, 10);
/// ```
pub struct Mutex<T: ?Sized> {
    permit: Permits,
    // Our permit is what serialises access: this lock is only ever taken
    // by the permit's holder, so it never blocks. It gives safe access to
    // the data without `unsafe`.
    data: std::sync::Mutex<T>,
}

/// Exclusive access to a [`Mutex`]'s data; the lock is released when the
/// guard is dropped.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    // `Some` until the guard drops (the data lock must go before the
    // permit).
    data: Option<std::sync::MutexGuard<'a, T>>,
}

impl<T> Mutex<T> {
    /// A new, unlocked mutex.
    pub fn new(value: T) -> Self {
        Mutex {
            permit: Permits::new(1),
            data: std::sync::Mutex::new(value),
        }
    }

    /// The data, from an owned mutex.
    pub fn into_inner(self) -> T {
        self.data
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting (in FIFO order) while another holder has
    /// it. Inside a task it parks the task; on a plain thread it blocks the
    /// thread.
    ///
    /// Not reentrant: locking again while holding a guard waits forever
    /// (a task can be cancelled out of it).
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.permit.acquire(WaitReason::Lock);
        self.guard()
    }

    /// Locks the mutex if it is free and nobody waits for it.
    ///
    /// ```
    /// let m = corio::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert_eq!(*m.try_lock().unwrap(), 1);
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.permit.try_acquire().then(|| self.guard())
    }

    /// Whether the mutex is held (or handed to a waiter) now.
    pub fn is_locked(&self) -> bool {
        self.permit.available() == 0
    }

    /// The data, through a unique reference (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn guard(&self) -> MutexGuard<'_, T> {
        let data = match self.data.try_lock() {
            Ok(g) => g,
            // A guard dropped by an unwinding task: no poisoning here.
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                unreachable!("the holder of the permit has the data to itself")
            }
        };
        MutexGuard {
            mutex: self,
            data: Some(data),
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.data.as_deref().expect("a live guard holds the data")
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.data
            .as_deref_mut()
            .expect("a live guard holds the data")
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.data = None;
        self.mutex.permit.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}
