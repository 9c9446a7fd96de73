//! A thread pool for calls that cannot be made cooperative (Python's
//! `run_in_executor`).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use super::dump::WaitReason;
use super::task::{JoinError, JoinInner};

/// Most threads the pool starts; further calls queue until one is free.
pub const MAX_BLOCKING_THREADS: usize = 64;

/// How long an idle pool thread waits for work before it exits.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState {
            queue: VecDeque::new(),
            threads: 0,
            idle: 0,
        }),
        work: Condvar::new(),
    })
}

impl Pool {
    fn submit(&'static self, job: Job) {
        let mut state = crate::util::lock(&self.state);
        state.queue.push_back(job);
        if state.idle > 0 {
            self.work.notify_one();
        }
        // A notified worker counts as idle until it wakes and takes a job:
        // start a thread unless enough idle ones are there for every queued
        // job, so that a burst of jobs runs at once, not one after another.
        if state.idle >= state.queue.len() || state.threads >= MAX_BLOCKING_THREADS {
            return;
        }
        state.threads += 1;
        drop(state);
        let spawned = std::thread::Builder::new()
            .name("corio-blocking".into())
            .spawn(move || self.worker());
        if spawned.is_err() {
            // The job waits for a running thread; with none at all, for the
            // next successful start.
            crate::util::lock(&self.state).threads -= 1;
        }
    }

    fn worker(&self) {
        let mut state = crate::util::lock(&self.state);
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // A job never unwinds out (see `spawn_blocking`); this is a
                // second line of defence so that a worker is never lost.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                state = crate::util::lock(&self.state);
                continue;
            }
            state.idle += 1;
            let (next, timeout) = self
                .work
                .wait_timeout(state, KEEP_ALIVE)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

/// Runs `f` on the blocking thread pool and returns a handle to its result.
///
/// Use it for calls that block the thread and have no cooperative version
/// (a C library, a blocking DNS lookup, heavy computation): the calling
/// task parks in [`BlockingHandle::join`] while the pool thread works, and
/// the runtime goes on running other tasks. The pool starts threads on
/// demand, up to [`MAX_BLOCKING_THREADS`]; idle threads exit after ten
/// seconds. Works outside a runtime too.
///
/// ```
/// corio::run(|| {
///     let handles: Vec<_> = (1..=3u64)
///         .map(|n| corio::task::spawn_blocking(move || n * n))
///         .collect();
///     let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
///     assert_eq!(squares, [1, 4, 9]);
/// });
/// ```
pub fn spawn_blocking<F, T>(f: F) -> BlockingHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let inner = Arc::new(JoinInner::new());
    let done = inner.clone();
    // Neither the call nor its completion may take the pool thread down.
    pool().submit(Box::new(move || done.run_and_complete(f)));
    BlockingHandle { inner }
}

/// The result of a [`spawn_blocking`] call: `join` it, or `.await` it.
/// A call on the pool cannot be cancelled; dropping the handle discards its
/// result.
pub struct BlockingHandle<T> {
    inner: Arc<JoinInner<T>>,
}

impl<T> BlockingHandle<T> {
    /// Waits for the call to finish (parks the task; blocks a plain
    /// thread).
    ///
    /// # Errors
    ///
    /// [`JoinError::Panicked`] if the call panicked.
    pub fn join(self) -> Result<T, JoinError> {
        super::park::block_on_as(self, WaitReason::Blocking)
    }

    /// Whether the call has finished.
    pub fn is_finished(&self) -> bool {
        self.inner.is_done()
    }
}

impl<T> Future for BlockingHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.poll_result(cx)
    }
}

impl<T> fmt::Debug for BlockingHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
