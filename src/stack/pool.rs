//! The per-thread stack pool.

use std::cell::RefCell;
use std::mem::ManuallyDrop;

use corosensei::stack::{DefaultStack, Stack, StackPointer};

use super::{normalize_size, StackError};

/// Stacks kept per thread for reuse; a finished coroutine beyond this count
/// unmaps its stack. A burst of thousands of short tasks then costs no
/// mapping in steady state.
pub const MAX_POOLED: usize = 16 * 1024;

#[derive(Default)]
struct Pool {
    /// Free stacks, bucketed by usable size. Almost every program uses one
    /// or two sizes, so a short vector beats a map.
    free: Vec<(usize, Vec<DefaultStack>)>,
    pooled: usize,
    stats: PoolStats,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// Counters of this thread's stack pool, for tests and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Stacks that belong to coroutines alive on this thread.
    pub live: usize,
    /// Finished stacks waiting in the pool for reuse.
    pub pooled: usize,
    /// Stacks this thread has mapped from the kernel so far.
    pub mapped: u64,
    /// Stack requests served from the pool without a system call.
    pub reused: u64,
}

/// Unmaps every stack waiting in the calling thread's pool, returning its
/// memory and mappings to the kernel (after a burst of coroutines, say).
/// Returns how many stacks were released.
pub fn trim_pool() -> usize {
    let free = POOL
        .try_with(|pool| {
            let mut pool = pool.borrow_mut();
            pool.pooled = 0;
            std::mem::take(&mut pool.free)
        })
        .unwrap_or_default();
    free.iter().map(|(_, stacks)| stacks.len()).sum()
}

/// Returns the counters of the calling thread's stack pool.
pub fn pool_stats() -> PoolStats {
    POOL.try_with(|pool| {
        let pool = pool.borrow();
        PoolStats {
            pooled: pool.pooled,
            ..pool.stats
        }
    })
    .unwrap_or_default()
}

/// A guard-paged stack that returns to its thread's pool when dropped.
pub(crate) struct PooledStack {
    stack: ManuallyDrop<DefaultStack>,
    size: usize,
}

impl PooledStack {
    /// Takes a stack of at least `size` usable bytes from the pool, or maps
    /// a new one.
    pub(crate) fn take(size: usize) -> Result<Self, StackError> {
        let size = normalize_size(size);
        let reused = POOL
            .try_with(|pool| {
                let mut pool = pool.borrow_mut();
                let stack = pool
                    .free
                    .iter_mut()
                    .find(|(s, _)| *s == size)
                    .and_then(|(_, stacks)| stacks.pop());
                if stack.is_some() {
                    pool.pooled -= 1;
                    pool.stats.reused += 1;
                    pool.stats.live += 1;
                }
                stack
            })
            .ok()
            .flatten();
        let stack = match reused {
            Some(stack) => stack,
            None => {
                let live = pool_stats().live;
                let stack =
                    DefaultStack::new(size).map_err(|err| StackError::from_os(err, live))?;
                let _ = POOL.try_with(|pool| {
                    let mut pool = pool.borrow_mut();
                    pool.stats.mapped += 1;
                    pool.stats.live += 1;
                });
                stack
            }
        };
        Ok(PooledStack {
            stack: ManuallyDrop::new(stack),
            size,
        })
    }

    /// Usable bytes of this stack (without the guard page).
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

impl Drop for PooledStack {
    fn drop(&mut self) {
        // SAFETY: `stack` is never used again after this take.
        let stack = unsafe { ManuallyDrop::take(&mut self.stack) };
        let size = self.size;
        // During thread teardown the pool may be gone; the stack is then
        // simply unmapped.
        let _ = POOL.try_with(move |pool| {
            let mut pool = pool.borrow_mut();
            pool.stats.live -= 1;
            if pool.pooled >= MAX_POOLED {
                return; // `stack` drops here and is unmapped.
            }
            pool.pooled += 1;
            match pool.free.iter_mut().find(|(s, _)| *s == size) {
                Some((_, stacks)) => stacks.push(stack),
                None => pool.free.push((size, vec![stack])),
            }
        });
    }
}

// SAFETY: `PooledStack` forwards to a `DefaultStack`, which has a guard page
// and at least `MIN_STACK_SIZE` usable bytes. A stack is only put back in the
// pool when the coroutine that used it has been dropped (corosensei unwinds
// or finishes it first), so no live frame is ever on a pooled stack.
unsafe impl Stack for PooledStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.stack.base()
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        self.stack.limit()
    }
}
