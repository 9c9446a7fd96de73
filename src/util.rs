//! Crate-internal helpers that every layer may use.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks one of corio's internal mutexes (the sync types, the scheduler's
/// queues, the reactor, the blocking pool, join slots), ignoring poisoning.
/// The only user code that can run while corio holds one is a waker's
/// `clone` or `drop`, and every critical section leaves its data consistent
/// at each point where those could panic, so a poisoned lock still holds
/// consistent data.
pub(crate) fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
