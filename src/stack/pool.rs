//! The per-thread stack pool.

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;

use corosensei::stack::{DefaultStack, Stack, StackPointer};

use super::{normalize_size, StackError};

/// Stacks kept per thread for reuse; a finished coroutine beyond this count
/// unmaps its stack. A burst of thousands of short tasks then costs no
/// mapping in steady state.
pub const MAX_POOLED: usize = 16 * 1024;

/// A thread's free stacks. Everything is a `Cell` or a short `RefCell`
/// borrow, and the most recently freed stack waits in `hot`, so the common
/// create-run-finish cycle touches no vector.
struct Pool {
    /// The last stack freed, with its usable size.
    hot: Cell<Option<(usize, DefaultStack)>>,
    /// Other free stacks, bucketed by usable size. Almost every program
    /// uses one or two sizes, so a short vector beats a map.
    free: RefCell<Vec<(usize, Vec<DefaultStack>)>>,
    pooled: Cell<usize>,
    live: Cell<usize>,
    mapped: Cell<u64>,
    reused: Cell<u64>,
}

thread_local! {
    static POOL: Pool = const {
        Pool {
            hot: Cell::new(None),
            free: RefCell::new(Vec::new()),
            pooled: Cell::new(0),
            live: Cell::new(0),
            mapped: Cell::new(0),
            reused: Cell::new(0),
        }
    };
}

impl Pool {
    fn pop(&self, size: usize) -> Option<DefaultStack> {
        let stack = match self.hot.take() {
            Some((hot_size, stack)) if hot_size == size => Some(stack),
            other => {
                if let Some((hot_size, stack)) = other {
                    self.push_cold(hot_size, stack);
                }
                self.free
                    .borrow_mut()
                    .iter_mut()
                    .find(|(s, _)| *s == size)
                    .and_then(|(_, stacks)| stacks.pop())
            }
        }?;
        self.pooled.set(self.pooled.get() - 1);
        self.reused.set(self.reused.get() + 1);
        self.live.set(self.live.get() + 1);
        Some(stack)
    }

    fn push(&self, size: usize, stack: DefaultStack) {
        self.live.set(self.live.get() - 1);
        if self.pooled.get() >= MAX_POOLED {
            return; // `stack` drops here and is unmapped.
        }
        self.pooled.set(self.pooled.get() + 1);
        if let Some((old_size, old)) = self.hot.replace(Some((size, stack))) {
            self.push_cold(old_size, old);
        }
    }

    fn push_cold(&self, size: usize, stack: DefaultStack) {
        let mut free = self.free.borrow_mut();
        match free.iter_mut().find(|(s, _)| *s == size) {
            Some((_, stacks)) => stacks.push(stack),
            None => free.push((size, vec![stack])),
        }
    }
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
    POOL.try_with(|pool| {
        let released = pool.pooled.replace(0);
        drop(pool.hot.take());
        drop(std::mem::take(&mut *pool.free.borrow_mut()));
        released
    })
    .unwrap_or(0)
}

/// Returns the counters of the calling thread's stack pool.
pub fn pool_stats() -> PoolStats {
    POOL.try_with(|pool| PoolStats {
        live: pool.live.get(),
        pooled: pool.pooled.get(),
        mapped: pool.mapped.get(),
        reused: pool.reused.get(),
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
    #[inline]
    pub(crate) fn take(size: usize) -> Result<Self, StackError> {
        let size = normalize_size(size);
        let stack = match POOL.try_with(|pool| pool.pop(size)) {
            Ok(Some(stack)) => stack,
            _ => Self::map(size)?,
        };
        Ok(PooledStack {
            stack: ManuallyDrop::new(stack),
            size,
        })
    }

    #[cold]
    fn map(size: usize) -> Result<DefaultStack, StackError> {
        let live = pool_stats().live;
        let stack = DefaultStack::new(size).map_err(|err| StackError::from_os(err, live))?;
        let _ = POOL.try_with(|pool| {
            pool.mapped.set(pool.mapped.get() + 1);
            pool.live.set(pool.live.get() + 1);
        });
        Ok(stack)
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
        let _ = POOL.try_with(move |pool| pool.push(size, stack));
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
