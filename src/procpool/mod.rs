//! A pool of worker processes, each running a corio runtime, fed with
//! serialized jobs: Python's `multiprocessing.Pool` and
//! `concurrent.futures.ProcessPoolExecutor`.
//!
//! ```
//! use corio::procpool::Pool;
//!
//! fn square(n: u64) -> u64 {
//!     n * n
//! }
//! corio::job!(static SQUARE: Job<u64, u64> = square);
//!
//! // First thing in `main` (a test binary: `corio::procpool_test_worker!()`).
//! corio::procpool::init();
//!
//! let pool = Pool::builder().workers(2).build().unwrap();
//! let nine = pool.submit(&SQUARE, 3);
//! assert_eq!(nine.join(), Ok(9));
//! let squares: Vec<u64> = pool.map(&SQUARE, 1..=4).map(Result::unwrap).collect();
//! assert_eq!(squares, [1, 4, 9, 16]);
//! ```
//!
//! # Jobs
//!
//! A job is a plain function `fn(A) -> R` declared with
//! [`job!`](crate::job), where the arguments `A` and the result `R` are
//! serde types; they cross the process boundary encoded with postcard. The
//! macro registers the function under the path of its `static`, and a
//! worker finds it there by name: the workers run the same binary as the
//! parent, so they know the same jobs. A job runs as a task of the
//! worker's runtime, so it may spawn coroutines, sleep and do I/O; each
//! worker runs one job at a time.
//!
//! # Starting workers
//!
//! Workers are the current binary started again (never a bare `fork` of a
//! process that may have threads), so every binary that creates a pool
//! calls [`init`] first thing in `main`, which makes a worker out of a
//! process that a pool started, and does nothing otherwise. A test binary
//! declares its worker entry with
//! [`procpool_test_worker!`](crate::procpool_test_worker). A worker's
//! standard output and error are the parent's; its standard input is
//! `/dev/null`.
//!
//! # Distribution
//!
//! A job goes to the least busy worker. Each worker holds at most
//! [`prefetch`](Builder::prefetch) jobs queued behind the one it runs, so
//! the next job is already there when one finishes; when a worker is idle
//! while another still has jobs queued, the driver takes the last queued
//! one back and gives it to the idle worker.
//!
//! # Faults
//!
//! Each failure fails one job, with a [`JobError`], and the pool goes on:
//! a panic in a job ([`JobError::Panicked`] with its message); a worker
//! killed by a signal or exiting ([`JobError::WorkerDied`], naming the
//! signal; the worker is replaced and the jobs queued on it go to other
//! workers); a job past its timeout ([`Pool::submit_timeout`]:
//! [`JobError::TimedOut`], its worker killed and replaced); an unknown job
//! name or arguments of the wrong type ([`JobError::Unregistered`],
//! [`JobError::BadArgs`]).
//!
//! # The driver
//!
//! The parent side runs on a thread of its own, a corio runtime whose
//! tasks start the workers, write jobs to them and read results through
//! corio's reactor. Submitting is a message to that thread; waiting for a
//! result ([`JobHandle::join`], or `.await`) parks the calling task, or
//! blocks a plain thread. Dropping the pool lets the submitted jobs finish,
//! then shuts the workers down and reaps them; [`Pool::terminate`] kills
//! them at once.

mod driver;
mod error;
mod handle;
mod job;
mod launch;
mod wire;
mod worker;

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::JobError;
pub use handle::{as_completed, AsCompleted, JobHandle};
pub use job::Job;
#[doc(hidden)]
pub use job::{__run_erased, JobEntry};
pub use launch::init;
#[doc(hidden)]
pub use launch::TestEntry;

#[doc(hidden)]
pub use inventory as __inventory;

use crate::sync::channel::{self, Sender};
use crate::sync::Event;
use driver::{Command, Config, Pending};
use handle::Slot;

/// Jobs a worker holds queued unless [`Builder::prefetch`] says otherwise.
const DEFAULT_PREFETCH: usize = 4;

/// Configures a [`Pool`].
#[derive(Clone, Debug)]
pub struct Builder {
    workers: Option<usize>,
    prefetch: usize,
}

impl Builder {
    /// A builder with default settings.
    pub fn new() -> Builder {
        Builder {
            workers: None,
            prefetch: DEFAULT_PREFETCH,
        }
    }

    /// The number of worker processes (at least 1; default: the available
    /// parallelism).
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n.max(1));
        self
    }

    /// How many jobs a worker may hold queued behind the one it runs
    /// (default 4). More helps many small jobs (fewer round trips); queued
    /// jobs move to an idle worker either way.
    pub fn prefetch(mut self, jobs: usize) -> Builder {
        self.prefetch = jobs;
        self
    }

    /// Starts the worker processes and waits until each is ready: inside a
    /// task, the task parks.
    ///
    /// # Errors
    ///
    /// When a worker cannot be started or does not report for work (the
    /// message says why; most often the binary does not call [`init`]).
    pub fn build(self) -> io::Result<Pool> {
        let workers = self
            .workers
            .unwrap_or_else(|| thread::available_parallelism().map_or(1, NonZeroUsize::get));
        let config = Config {
            workers,
            prefetch: self.prefetch,
        };
        let (commands, inbox) = channel::unbounded();
        let (ready_tx, ready) = channel::bounded(1);
        let finished = Arc::new(Event::new());
        let done = Arc::clone(&finished);
        let driver = thread::Builder::new()
            .name("corio-procpool".into())
            .spawn(move || {
                // Set also if the driver panics, so that no one waits for
                // ever.
                let _done = SetOnDrop(done);
                crate::rt::run(|| driver::drive(config, inbox, ready_tx));
            })?;
        let pool = Pool {
            commands: Some(commands),
            next_id: AtomicU64::new(0),
            workers,
            finished,
            driver: Some(driver),
        };
        match ready.recv() {
            Ok(Ok(())) => Ok(pool),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::other(
                "corio: the procpool driver thread panicked",
            )),
        }
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

struct SetOnDrop(Arc<Event>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// A pool of worker processes. See the [module docs](self).
pub struct Pool {
    commands: Option<Sender<Command>>,
    next_id: AtomicU64,
    workers: usize,
    finished: Arc<Event>,
    driver: Option<thread::JoinHandle<()>>,
}

impl Pool {
    /// A pool with one worker per available core.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Pool> {
        Builder::new().build()
    }

    /// A builder, to set the number of workers or the prefetch.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The number of worker processes.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Runs `job` on `args` in a worker process; returns at once with a
    /// handle to its result.
    pub fn submit<A: Serialize, R: DeserializeOwned>(
        &self,
        job: &Job<A, R>,
        args: A,
    ) -> JobHandle<R> {
        self.submit_with(job, &args, None)
    }

    /// As [`submit`](Pool::submit), with a limit on the job's running time
    /// (counted from when its worker starts it). A job past its limit fails
    /// with [`JobError::TimedOut`], and its worker is killed and replaced.
    pub fn submit_timeout<A: Serialize, R: DeserializeOwned>(
        &self,
        job: &Job<A, R>,
        args: A,
        limit: Duration,
    ) -> JobHandle<R> {
        self.submit_with(job, &args, Some(limit))
    }

    /// Runs `job` on every item of `args`; the iterator returned yields the
    /// results in the order of the arguments (`multiprocessing.Pool.map`).
    /// Every job is submitted before this returns.
    pub fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        job: &Job<A, R>,
        args: impl IntoIterator<Item = A>,
    ) -> Map<R> {
        let handles: Vec<_> = args.into_iter().map(|a| self.submit(job, a)).collect();
        Map {
            handles: handles.into_iter(),
        }
    }

    /// The process ids of the live workers.
    pub fn pids(&self) -> Vec<u32> {
        let (tx, rx) = channel::bounded(1);
        if self.command(Command::Pids(tx)).is_err() {
            return Vec::new();
        }
        rx.recv().unwrap_or_default()
    }

    /// Kills the workers at once and reaps them; every job not finished
    /// fails with [`JobError::PoolClosed`].
    pub fn terminate(self) {
        let _ = self.command(Command::Terminate);
    }

    fn submit_with<A: Serialize, R: DeserializeOwned>(
        &self,
        job: &Job<A, R>,
        args: &A,
        timeout: Option<Duration>,
    ) -> JobHandle<R> {
        let slot = Arc::new(Slot::default());
        match postcard::to_stdvec(args) {
            Ok(args) => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let pending = Pending::new(id, job.name(), args, timeout, Arc::clone(&slot));
                if self.command(Command::Submit(pending)).is_err() {
                    slot.complete(Err(JobError::PoolClosed(
                        "the pool's driver thread has stopped".to_owned(),
                    )));
                }
            }
            Err(e) => slot.complete(Err(JobError::BadArgs(e.to_string()))),
        }
        JobHandle {
            slot,
            _result: PhantomData,
        }
    }

    fn command(&self, command: Command) -> Result<(), ()> {
        let commands = self.commands.as_ref().expect("present until drop");
        commands.send(command).map_err(|_| ())
    }
}

impl Drop for Pool {
    /// Lets every submitted job finish, then shuts the workers down and
    /// reaps them. Inside a task, the task parks meanwhile.
    fn drop(&mut self) {
        drop(self.commands.take());
        self.finished.wait();
        if let Some(driver) = self.driver.take() {
            // It has finished (or panicked, which was reported to the jobs).
            let _ = driver.join();
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.workers)
            .finish()
    }
}

/// The iterator of [`Pool::map`]: each job's result, in order.
pub struct Map<R> {
    handles: std::vec::IntoIter<JobHandle<R>>,
}

impl<R: DeserializeOwned> Iterator for Map<R> {
    type Item = Result<R, JobError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.handles.next().map(JobHandle::join)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.handles.size_hint()
    }
}

impl<R> fmt::Debug for Map<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("left", &self.handles.len())
            .finish()
    }
}
