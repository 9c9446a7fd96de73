//! corio: stackful coroutines for Rust.
//!
//! corio gives Rust what Python programmers get from generators: a
//! [`Generator`] with the whole protocol (`send`, `throw`,
//! `close`, `yield from`) on a coroutine with its own stack, so that a body
//! can suspend from any depth of its call stack and no function has to be
//! written in a special style.
//!
//! - [`generator`]: generators and the handle their bodies yield through.
//! - [`pipe`]: push pipelines of coroutines (sources, filters, broadcast,
//!   sinks) and XML event sources, as in the pipeline examples.
//! - [`rt`]: the runtime: `run`, `spawn`, `sleep`, `timeout`, cancellation,
//!   the runtime dump; [`task`] for spawning and the blocking pool.
//! - [`reactor`]: readiness of file descriptors (epoll, kqueue), the
//!   low-level layer under the runtime's I/O.
//! - [`io`]: blocking-style I/O on file descriptors (reads and writes park
//!   the task): the [`Fd`](io::Fd) wrapper for any fd, and pipes.
//! - [`net`]: TCP, UDP and Unix domain sockets; the streams implement
//!   `Read`/`Write`.
//! - [`process`]: child processes whose pipes and `wait` park the task.
//! - [`procpool`]: a pool of worker processes running serialized jobs.
//! - [`sync`]: channels and `select`, an asyncio-style `Queue`, `Mutex`,
//!   `Semaphore`, `Event` and `WaitGroup`, all parking tasks, not threads.
//! - [`stack`]: stack sizes, the per-thread stack pool and its limits.
//!
//! With the `nightly` feature, `Generator` also implements
//! `core::ops::Coroutine`, so generic code drives corio generators and the
//! compiler's stackless coroutines alike.
//!
//! # Layers
//!
//! The modules form layers, listed here bottom up. Each imports only the
//! layers listed before it, never one after it, which `tests/layers.rs`
//! checks; `util` (crate-internal helpers such as the poison-ignoring lock)
//! may be used by every layer.
//!
//! 1. `stack`: guard-paged stacks and the per-thread pool.
//! 2. `coro` (crate-internal): the running coroutine's frame, the park
//!    protocol through nested generators, stack overflow reports.
//! 3. `generator`: Python's generator protocol on one coroutine.
//! 4. `reactor`: readiness of file descriptors, one poller per runtime.
//! 5. `rt`: tasks, the scheduler, timers, cancellation, the blocking pool.
//! 6. `sync`: channels, queues, locks and events that park tasks.
//! 7. `io`, then `net` and `process`: blocking-style fds, sockets, child
//!    processes. They reach the runtime through one narrow function
//!    (`rt::current_reactor`), never through the scheduler's internals.
//! 8. `procpool`: a pool of worker processes, each running a runtime.
//! 9. `pipe`: pipelines of generators and their sources, and stages that
//!    hop to another thread or process.
//!
//! The module name `generator` is usable from every edition (`gen` is a
//! keyword from edition 2024 on):
//!
//! ```edition2024
//! use corio::generator::{Generator, GeneratorState};
//!
//! let mut numbers = Generator::<(), i32>::new(|co, ()| {
//!     co.yield_(1)?;
//!     Ok(())
//! });
//! assert_eq!(numbers.send(()).unwrap(), GeneratorState::Yielded(1));
//! ```
#![cfg_attr(feature = "nightly", feature(coroutine_trait))]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod coro;
pub mod generator;
pub mod io;
pub mod net;
pub mod pipe;
pub mod process;
pub mod procpool;
pub mod reactor;
pub mod stack;
pub mod sync;
mod util;

pub mod rt;

/// Tasks: spawning, joining, the blocking thread pool.
pub mod task {
    pub use crate::rt::{
        join_all, spawn, spawn_blocking, spawn_local, BlockingHandle, JoinError, JoinHandle,
        TaskBuilder as Builder, TaskId, MAX_BLOCKING_THREADS,
    };
}

pub use generator::{Co, Generator, GeneratorState, Interrupt};
pub use rt::{
    block_on, run, sleep, sleep_until, spawn, spawn_local, timeout, yield_now, JoinHandle, Runtime,
};

/// The README's code blocks run as doctests, so it cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
