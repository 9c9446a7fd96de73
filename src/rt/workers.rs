//! The worker threads of a multi-worker runtime: worker 0 is the thread
//! that calls `Runtime::run`; `start` launches the others.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;

use super::core::{Core, RuntimeShared, WorkerCtx};
use super::pool::Pool;
use crate::reactor::Reactor;

/// The threads of workers 1 to n-1. Dropping this (also while unwinding)
/// shuts the runtime down and joins them.
pub(crate) struct WorkerThreads {
    pool: Arc<Pool>,
    handles: Vec<thread::JoinHandle<()>>,
}

/// Starts workers 1 to `n - 1`, each with its own reactor; returns worker
/// 0's context (for the caller's core, on `shared`) and the threads.
///
/// # Panics
///
/// When a reactor or a thread cannot be created; the workers already
/// started are shut down and joined first.
pub(crate) fn start(
    shared: Arc<RuntimeShared>,
    n: usize,
    stack_size: usize,
) -> (WorkerCtx, WorkerThreads) {
    let mut shareds = vec![shared];
    for _ in 1..n {
        let reactor = Reactor::new()
            .unwrap_or_else(|e| panic!("corio::run: cannot create a worker's reactor: {e}"));
        shareds.push(Arc::new(RuntimeShared::new(reactor)));
    }
    let (pool, mut locals) = Pool::new(shareds.clone());
    let mut threads = WorkerThreads {
        pool: pool.clone(),
        handles: Vec::with_capacity(n - 1),
    };
    let local0 = locals.remove(0);
    for (offset, local) in locals.into_iter().enumerate() {
        let index = offset + 1;
        let worker = WorkerCtx::new(pool.clone(), index, local);
        let shared = shareds[index].clone();
        let handle = thread::Builder::new()
            .name(format!("corio-worker-{index}"))
            .spawn(move || run_worker(shared, stack_size, worker))
            .unwrap_or_else(|e| panic!("corio::run: cannot start worker thread {index}: {e}"));
        threads.handles.push(handle);
    }
    let worker0 = WorkerCtx::new(pool, 0, local0);
    (worker0, threads)
}

/// A worker thread's life: run groups until the runtime shuts down, then
/// take part in the shutdown until no task is left anywhere.
fn run_worker(shared: Arc<RuntimeShared>, stack_size: usize, worker: WorkerCtx) {
    let pool = worker.pool.clone();
    let index = worker.index;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let core = Core::new(shared, stack_size, Some(worker));
        let _entered = core.enter();
        core.run_until(|_| pool.is_shutting_down());
        core.shutdown();
    }));
    if let Err(payload) = result {
        pool.worker_panicked(payload);
    }
    pool.leave(index);
}

impl WorkerThreads {
    /// Joins the worker threads of a runtime that has shut down, and raises
    /// the first panic that escaped one of them.
    pub(crate) fn join(mut self) {
        self.join_all();
        if let Some(payload) = self.pool.take_panic() {
            resume_unwind(payload);
        }
    }

    fn join_all(&mut self) {
        self.pool.begin_shutdown();
        for handle in self.handles.drain(..) {
            // A worker's own panics are caught in `run_worker`.
            let _ = handle.join();
        }
    }
}

impl Drop for WorkerThreads {
    fn drop(&mut self) {
        self.join_all();
    }
}
