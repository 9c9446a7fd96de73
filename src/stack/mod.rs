//! Coroutine stacks: guard-paged, recycled through a per-thread pool.
//!
//! Every coroutine in corio runs on its own stack, allocated by `corosensei`
//! with `mmap` and a guard page below it. Mapping and unmapping a stack costs
//! several microseconds (three system calls), so a finished coroutine hands
//! its stack back to a per-thread [pool](pool_stats) (up to [`MAX_POOLED`]
//! stacks), and the next coroutine of the same stack size takes it from
//! there without a system call. Pooled stacks keep the pages they touched,
//! so after a burst of coroutines the pool holds the burst's stack memory;
//! [`trim_pool`] gives it back.
//!
//! # Stack size
//!
//! [`DEFAULT_STACK_SIZE`] is 256 KiB. Only the pages a coroutine touches use
//! memory; the rest is address space. 256 KiB is enough for ordinary code
//! (formatting, parsers, std I/O) to run at a few dozen frames of depth,
//! while a million suspended coroutines still fit in a quarter of a
//! terabyte of the 128 TiB user address space. Deeply recursive code
//! should ask for more with `Builder::stack_size` when the coroutine
//! is created.
//!
//! # Limits
//!
//! Each stack is two memory mappings (the guard page and the usable part).
//! Linux refuses new mappings past `vm.max_map_count` (65530 by default),
//! which caps a process at about 32,700 live stacks. At that point stack
//! allocation fails with [`StackError::MapLimit`], whose message names the
//! sysctl that raises the limit:
//!
//! ```text
//! sysctl -w vm.max_map_count=2000000
//! ```
//!
//! # Overflow
//!
//! A coroutine that overflows its stack hits the guard page. corio installs a
//! `SIGSEGV` handler (chained to the previous one) that recognises a guard
//! page hit in a corio stack, prints which coroutine overflowed and how big
//! its stack was, and aborts the process, as the standard library does for
//! thread stack overflows. Unwinding from the fault is not possible soundly,
//! so there is no error to catch.

mod pool;

use std::fmt;
use std::io;

pub(crate) use pool::PooledStack;
pub use pool::{pool_stats, trim_pool, PoolStats, MAX_POOLED};

/// Stack size given to a coroutine unless its builder asks for another.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Smallest stack size corio accepts; smaller requests are rounded up.
pub const MIN_STACK_SIZE: usize = 16 * 1024;

/// Why a coroutine stack could not be allocated.
#[derive(Debug)]
#[non_exhaustive]
pub enum StackError {
    /// The kernel refused another memory mapping: the process has reached
    /// `vm.max_map_count` (each stack takes two mappings) or is out of
    /// memory.
    MapLimit {
        /// The limit read from `/proc/sys/vm/max_map_count`, when readable.
        max_map_count: Option<u64>,
        /// Live corio stacks on this thread when the allocation failed.
        live_stacks: usize,
    },
    /// Any other failure of `mmap` or `mprotect`.
    Os(io::Error),
}

impl StackError {
    pub(crate) fn from_os(err: io::Error, live_stacks: usize) -> Self {
        if err.raw_os_error() == Some(nix::errno::Errno::ENOMEM as i32) {
            StackError::MapLimit {
                max_map_count: read_max_map_count(),
                live_stacks,
            }
        } else {
            StackError::Os(err)
        }
    }
}

fn read_max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::MapLimit {
                max_map_count,
                live_stacks,
            } => {
                write!(
                    f,
                    "cannot map a coroutine stack ({live_stacks} live on this thread): \
                     the kernel refused another memory mapping (ENOMEM)"
                )?;
                if let Some(limit) = max_map_count {
                    write!(f, "; vm.max_map_count is {limit}")?;
                }
                write!(
                    f,
                    ". Each coroutine stack takes two mappings; raise the limit with \
                     `sysctl -w vm.max_map_count=N` (as root) or run fewer coroutines at once"
                )
            }
            StackError::Os(err) => write!(f, "cannot allocate a coroutine stack: {err}"),
        }
    }
}

impl std::error::Error for StackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StackError::Os(err) => Some(err),
            StackError::MapLimit { .. } => None,
        }
    }
}

/// Rounds a requested stack size to what corio allocates.
#[inline]
pub(crate) fn normalize_size(size: usize) -> usize {
    // Page sizes are powers of two, so rounding up is a mask.
    let page_mask = page_size() - 1;
    size.max(MIN_STACK_SIZE).saturating_add(page_mask) & !page_mask
}

#[inline]
pub(crate) fn page_size() -> usize {
    use std::sync::atomic::Ordering;
    match PAGE.load(Ordering::Relaxed) {
        0 => read_page_size(),
        page => page,
    }
}

static PAGE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The first call of `page_size`: out of line, so that the inlined fast
/// path stays a load and a compare.
#[cold]
#[inline(never)]
fn read_page_size() -> usize {
    use nix::unistd::{sysconf, SysconfVar};
    let page = sysconf(SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|page| usize::try_from(page).ok())
        .unwrap_or(4096);
    PAGE.store(page, std::sync::atomic::Ordering::Relaxed);
    page
}
