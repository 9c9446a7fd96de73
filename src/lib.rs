//! corio: stackful coroutines for Rust.
//!
//! corio gives Rust what Python programmers get from generators: a
//! [`Generator`] with the whole protocol (`send`, `throw`,
//! `close`, `yield from`) on a coroutine with its own stack, so that a body
//! can suspend from any depth of its call stack and no function has to be
//! written in a special style.
//!
//! - [`gen`]: generators and the handle their bodies yield through.
//! - [`pipe`]: push pipelines of coroutines (sources, filters, broadcast,
//!   sinks) and XML event sources, as in the seed's pipeline examples.
//! - [`rt`]: the runtime: `run`, `spawn`, `sleep`, `timeout`, cancellation,
//!   the runtime dump; [`task`] for spawning and the blocking pool.
//! - [`reactor`]: readiness of file descriptors (epoll, kqueue), the
//!   low-level layer under the runtime's I/O.
//! - [`io`]: blocking-style I/O on file descriptors (reads and writes park
//!   the task): the [`Fd`](io::Fd) wrapper for any fd, and pipes.
//! - [`net`]: TCP, UDP and Unix domain sockets implementing `Read`/`Write`.
//! - [`process`]: child processes whose pipes and `wait` park the task.
//! - [`sync`]: channels and `select`, an asyncio-style `Queue`, `Mutex`,
//!   `Semaphore`, `Event` and `WaitGroup`, all parking tasks, not threads.
//! - [`stack`]: stack sizes, the per-thread stack pool, limits and stack
//!   overflow reports.
//!
//! With the `nightly` feature, `Generator` also implements
//! `core::ops::Coroutine`, so generic code drives corio generators and the
//! compiler's stackless coroutines alike.
#![cfg_attr(feature = "nightly", feature(coroutine_trait))]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod gen;
pub mod io;
pub mod net;
pub mod pipe;
pub mod process;
pub mod reactor;
pub mod stack;
pub mod sync;

pub mod rt;

/// Tasks: spawning, joining, the blocking thread pool.
pub mod task {
    pub use crate::rt::{
        join_all, spawn, spawn_blocking, spawn_local, BlockingHandle, JoinError, JoinHandle,
        TaskBuilder as Builder, TaskId, MAX_BLOCKING_THREADS,
    };
}

pub use gen::{Co, Generator, GeneratorState, Interrupt};
pub use rt::{
    block_on, run, sleep, sleep_until, spawn, spawn_local, timeout, yield_now, JoinHandle, Runtime,
};

/// The README's code blocks run as doctests, so it cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
