//! The runtime: a cooperative scheduler of stackful tasks, on one thread or
//! on several worker threads.
//!
//! [`run`] starts a runtime on the calling thread and runs its closure as
//! the *main task*. Tasks are coroutines with their own stacks, so code in
//! them is ordinary blocking-style Rust: when it would block ([`sleep`],
//! [`JoinHandle::join`], corio's I/O and sync types), the task parks and the
//! scheduler runs another one. Nothing is coloured `async`, and a task can
//! park from any call depth, even inside a [`Generator`](crate::Generator)
//! it drives: the park passes up through each generator level to the task,
//! and the task later resumes the generator exactly there.
//!
//! ```
//! use std::time::Duration;
//!
//! let total = corio::run(|| {
//!     let workers: Vec<_> = (1..=3u64)
//!         .map(|n| corio::spawn(move || {
//!             corio::sleep(Duration::from_millis(10 * n));
//!             n
//!         }))
//!         .collect();
//!     workers.into_iter().map(|w| w.join().unwrap()).sum::<u64>()
//! });
//! assert_eq!(total, 6);
//! ```
//!
//! # Scheduling
//!
//! - Tasks run in FIFO order until they park, yield or finish.
//! - When nothing is runnable, the thread sleeps in the reactor (epoll or
//!   kqueue) until an I/O event, the next timer, or a wake-up from another
//!   thread, which arrives through the reactor's notification (eventfd,
//!   `EVFILT_USER`): the scheduler never busy-waits.
//! - While tasks keep the run queue busy, the reactor is still checked
//!   every 61 task switches (when any fd is registered), so I/O is not
//!   starved.
//!
//! # Panics, cancellation, shutdown
//!
//! - A panic in a task ends that task only; its [`JoinHandle`] returns
//!   [`JoinError::Panicked`] with the payload. A panic in the main task
//!   propagates out of `run` once the other tasks are shut down.
//! - [`JoinHandle::cancel`] unwinds the task from its suspension point,
//!   running its destructors (locks it holds are released); `join` then
//!   returns [`JoinError::Cancelled`]. Every later park of a cancelled task
//!   unwinds again, so it cannot linger.
//! - [`timeout`] bounds a piece of work inside a task the same way.
//! - A [`sleep`] or [`timeout`] that ends early (its work finished, its
//!   task was cancelled) withdraws its timer at once, so short work under
//!   long deadlines neither piles up timers nor wakes its task for nothing.
//! - When the main task returns, `run` cancels every task still alive and
//!   runs them until they have unwound, then returns the main task's value:
//!   nothing is leaked and nothing keeps `run` waiting except a task that
//!   never parks.
//! - A task that must wait while it unwinds (a destructor that sleeps or
//!   does I/O during cancellation) waits on its own stack, without letting
//!   other tasks run meanwhile: switching away mid-unwind is not sound with
//!   the standard library's per-thread panic count.
//!
//! # Several worker threads
//!
//! [`Runtime::multi_thread`] (or [`Builder::workers`]) runs tasks on several
//! threads, each with its own scheduler, timers and poller; [`run`] and
//! [`Runtime::builder`] keep to the calling thread. The thread that calls
//! [`Runtime::run`] is worker 0, so the main task may borrow from its
//! caller and need not be `Send`.
//!
//! A started coroutine never changes thread: its stack may hold `!Send`
//! values (an `Rc`, a `MutexGuard`) and thread-local addresses across a
//! park, so moving it would be unsound. What moves is the *group*:
//! - [`spawn`] takes a `Send` closure and makes a new group, queued
//!   unstarted on the spawning worker's deque. An idle worker takes it
//!   from there (its own deque first, then a batch stolen from another
//!   worker) and maps its stack when it starts it.
//! - [`spawn_local`] takes any closure; the task starts on the current
//!   worker, in the current group, and stays there.
//!
//! The compiler holds the line: what crosses to another worker must be
//! `Send`, the closure and its result alike.
//!
//! ```compile_fail,E0277
//! corio::run(|| {
//!     let shared = std::rc::Rc::new(1);
//!     corio::spawn(move || drop(shared)); // error: `Rc` is not `Send`
//! });
//! ```
//!
//! ```compile_fail,E0277
//! corio::run(|| {
//!     corio::spawn(|| std::rc::Rc::new(1)); // error: the result must be `Send` too
//! });
//! ```
//!
//! ```compile_fail,E0277
//! fn to_another_thread<T: Send>(_: T) {}
//! corio::run(|| {
//!     let handle = corio::spawn_local(|| std::rc::Rc::new(1));
//!     to_another_thread(handle); // error: `JoinHandle<Rc<_>>` is not `Send`
//! });
//! ```
//!
//! ```
//! use std::rc::Rc;
//!
//! corio::Runtime::builder().workers(2).build().unwrap().run(|| {
//!     let local = Rc::new(5); // `!Send` data stays on this worker
//!     let task = corio::spawn_local(move || *local * 2);
//!     assert_eq!(task.join().unwrap(), 10);
//!     let group = corio::spawn(|| 21 * 2); // may run on any worker
//!     assert_eq!(group.join().unwrap(), 42);
//! });
//! ```
//!
//! More about the model:
//! - One atomic word per task records whether it has started and whether
//!   it has been cancelled; it settles a cancel racing with a start or a
//!   steal. A group cancelled before it starts never maps a stack; its
//!   join reports the cancellation at once. A group whose stack cannot be
//!   mapped when it starts reports that through its join handle as a
//!   panic (a single-thread runtime returns the [`StackError`] from
//!   [`TaskBuilder::spawn`] instead).
//! - An idle worker sleeps in its poller. A spawn wakes one sleeping
//!   worker, and only if one sleeps; a worker announces that it is about
//!   to sleep before its last look at the queues, so no group is missed.
//! - A worker that blocks its thread (a long computation without a park)
//!   stalls only the tasks it has started; the groups waiting in its deque
//!   are taken by the other workers.
//! - Timers belong to the worker of the task that sleeps. Channels and the
//!   other [`sync`](crate::sync) types wake tasks on any worker.
//! - An I/O object registers with the poller of the worker whose task
//!   first uses it, so a socket accepted on one worker and handed to a
//!   group started on another is served by the other's poller. Used by
//!   tasks on two workers, it is registered with both while a task of each
//!   waits on it; each worker's poller wakes its own tasks.
//! - Task ids are unique within the runtime; [`dump`] lists every task of
//!   every worker with its worker number (the other workers add their part
//!   from their own threads, so a worker busy in a long computation
//!   answers when it next schedules).
//! - Shutdown is runtime-wide: when the main task returns, groups not yet
//!   started are given up without mapping a stack, started tasks are
//!   cancelled and unwound on their own workers, and every worker keeps
//!   its poller turning until no task is left anywhere (an unwinding task
//!   may wait on I/O or on another worker). Then the worker threads are
//!   joined; a panic that escaped a worker's scheduler is raised again by
//!   `run`.
//! - A waker that outlives its runtime wakes nothing: the runtime's
//!   wake-up queue closes when it ends.
//!
//! # Outside a runtime
//!
//! [`sleep`], [`yield_now`], [`block_on`] and `JoinHandle::join` block the
//! thread when called outside a runtime; [`spawn`] and [`timeout`] panic
//! with a message saying a runtime is needed.
//!
//! # Runtime dump
//!
//! [`dump`] lists every live task: id, name, state, what it waits on and
//! where it was spawned, and counts the pending timers. [`dump_on_signal`]
//! prints it for every running runtime when the process gets a signal
//! (`kill -USR1 <pid>`).

mod blocking;
mod core;
mod dump;
mod group;
mod park;
mod pool;
mod scheduler;
mod signal;
mod spawn;
mod task;
mod timers;
mod waker;
mod workers;

use std::io;
use std::panic::{resume_unwind, Location};
use std::sync::Arc;

pub use blocking::{spawn_blocking, BlockingHandle, MAX_BLOCKING_THREADS};
pub use dump::{Dump, TaskInfo, TaskStatus, WaitReason};
/// Waits for a future with a recorded reason: the building block of every
/// blocking-style wait in corio (sync types, I/O). Inside a task it parks
/// the task; on a plain thread it blocks the thread.
pub(crate) use park::block_on_as;
pub use park::{block_on, sleep, sleep_until, timeout, yield_now, Elapsed};
pub use signal::dump_on_signal;
pub use task::{join_all, JoinError, JoinHandle, TaskId};

use self::core::{current_core, current_task, Core, RuntimeShared};
use crate::coro::CoroutineOptions;
use crate::reactor::Reactor;
use crate::stack::{self, StackError};

/// What the I/O layer needs of the runtime that runs the calling task: the
/// reactor to register fds with, and the task's waker.
pub(crate) struct IoContext {
    pub(crate) reactor: &'static Reactor,
    pub(crate) waker: &'static std::task::Waker,
}

/// The I/O context of the calling task, or `None` when the caller is not a
/// runtime task (outside a runtime, on a blocking-pool thread, in the
/// scheduler itself), where I/O blocks the thread instead.
///
/// This is the I/O layer's one way into the runtime. The references are
/// valid while the calling task runs, which is as long as its caller keeps
/// them: it cannot hold them across the task's end.
#[inline]
pub(crate) fn current_io() -> Option<IoContext> {
    let task = current_task()?;
    let core = current_core()?;
    Some(IoContext {
        reactor: &core.shared.reactor,
        waker: &task.waker,
    })
}

/// A runtime, configured by [`Runtime::builder`]. [`run`] is the shortcut
/// for a default one.
pub struct Runtime {
    /// The reactor made by `build`, for the first `run`; a `run` that finds
    /// it taken (another thread runs this runtime now) makes its own, so
    /// two schedulers never share a poller.
    reactor: std::sync::Mutex<Option<Reactor>>,
    stack_size: usize,
    workers: usize,
}

/// Configures a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Builder {
    stack_size: usize,
    workers: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            stack_size: stack::DEFAULT_STACK_SIZE,
            workers: 1,
        }
    }
}

impl Builder {
    /// Sets how many worker threads run the runtime's tasks (at least 1;
    /// [`Runtime::builder`] starts with 1, [`Runtime::multi_thread`] with
    /// the machine's available parallelism). The thread that calls
    /// [`Runtime::run`] is worker 0; the others are started by `run` and
    /// joined before it returns.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Sets the default stack size of this runtime's tasks (a task's own
    /// builder may override it).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Creates the runtime and its reactor.
    ///
    /// # Errors
    ///
    /// When the poller cannot be created (out of file descriptors).
    pub fn build(self) -> io::Result<Runtime> {
        Ok(Runtime {
            reactor: std::sync::Mutex::new(Some(Reactor::new()?)),
            stack_size: self.stack_size,
            workers: self.workers,
        })
    }
}

impl Runtime {
    /// A builder for a configured runtime, with one worker thread (the
    /// caller of `run`) unless [`Builder::workers`] says otherwise.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A builder for a runtime with one worker thread per available CPU
    /// ([`std::thread::available_parallelism`]).
    pub fn multi_thread() -> Builder {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Builder::default().workers(cpus)
    }

    /// How many worker threads `run` uses.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Runs `main` as the main task of this runtime on the calling thread,
    /// with every task it spawns, and returns its value once it and then
    /// the remaining tasks (cancelled) have finished.
    ///
    /// # Panics
    ///
    /// Propagates a panic of the main task; panics if a runtime is already
    /// running on this thread, or if the main task's stack cannot be
    /// mapped.
    #[track_caller]
    pub fn run<T>(&self, main: impl FnOnce() -> T) -> T {
        let stored = crate::util::lock(&self.reactor).take();
        let reactor = match stored {
            Some(reactor) => reactor,
            None => match Reactor::new() {
                Ok(reactor) => reactor,
                Err(e) => fail("corio::run: cannot create a reactor", e),
            },
        };
        // Give the reactor back for the next `run`, also after a panic.
        struct GiveBack<'a>(&'a std::sync::Mutex<Option<Reactor>>, Option<Reactor>);
        impl Drop for GiveBack<'_> {
            fn drop(&mut self) {
                let mut slot = crate::util::lock(self.0);
                if slot.is_none() {
                    *slot = self.1.take();
                }
            }
        }
        let _give_back = GiveBack(&self.reactor, Some(reactor.clone()));
        let shared = Arc::new(RuntimeShared::new(reactor));
        // Declared before the core, so that it joins the other workers
        // after worker 0 has shut down (or unwound).
        let mut threads = None;
        let worker = if self.workers > 1 {
            let (worker, started) = workers::start(shared.clone(), self.workers, self.stack_size);
            threads = Some(started);
            Some(worker)
        } else {
            None
        };
        let core = Core::new(shared, self.stack_size, worker);
        let _entered = core.enter();
        // SAFETY: the main task is run to completion by `run_until` below;
        // if the scheduler itself panics first, `_entered` unwinds every
        // task (the main one included) as it drops during the unwind, still
        // inside this call, before anything `main` borrows goes away.
        let main_task = match unsafe { core.spawn_main(main) } {
            Ok(task) => task,
            Err(e) => fail("corio::run", e),
        };
        core.run_until(|_| main_task.is_finished());
        if let Some(worker) = &core.worker {
            worker.pool.begin_shutdown();
        }
        core.shutdown();
        drop(_entered);
        if let Some(threads) = threads.take() {
            threads.join();
        }
        match main_task.inner.take() {
            Some(Ok(value)) => value,
            Some(Err(JoinError::Panicked(payload))) => resume_unwind(payload),
            Some(Err(JoinError::Cancelled)) | None => {
                unreachable!("the main task cannot be cancelled")
            }
        }
    }
}

/// Runs `main` on a new runtime on this thread; see [`Runtime::run`].
///
/// # Panics
///
/// As [`Runtime::run`], and if the runtime cannot be created.
#[track_caller]
pub fn run<T>(main: impl FnOnce() -> T) -> T {
    match Runtime::builder().build() {
        Ok(runtime) => runtime.run(main),
        Err(e) => fail("corio::run: cannot create the runtime", e),
    }
}

/// Spawns a task on the current runtime; it starts when the scheduler gets
/// to it. The closure must be `Send` so that the task can later be placed
/// on any worker thread; [`spawn_local`] takes closures that are not.
///
/// # Panics
///
/// Panics outside a runtime, or if no stack can be mapped (see
/// [`TaskBuilder::spawn`] to handle that).
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match TaskBuilder::new().spawn(f) {
        Ok(handle) => handle,
        Err(e) => fail("corio::spawn", e),
    }
}

/// Spawns a task that stays on this thread, so its closure and result may
/// be `!Send` (an `Rc`, a `RefCell`).
///
/// # Panics
///
/// As [`spawn`].
#[track_caller]
pub fn spawn_local<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    match TaskBuilder::new().spawn_local(f) {
        Ok(handle) => handle,
        Err(e) => fail("corio::spawn_local", e),
    }
}

/// Panics with `what: error` at the caller of the public function that
/// failed: out of line, and not in a closure, where the panic would report
/// a line of this file (`#[track_caller]` does not reach into closures).
#[cold]
#[inline(never)]
#[track_caller]
fn fail(what: &str, error: impl std::fmt::Display) -> ! {
    panic!("{what}: {error}")
}

/// Configures a task before spawning it: a name (shown by [`dump`] and in
/// stack overflow reports) and a stack size.
#[derive(Clone, Debug, Default)]
pub struct TaskBuilder {
    options: CoroutineOptions,
}

impl TaskBuilder {
    /// A builder with no name and the runtime's stack size.
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the task.
    #[inline]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options.set_name(name);
        self
    }

    /// Sets the task's stack size in bytes.
    #[inline]
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.options.set_stack_size(bytes);
        self
    }

    /// Spawns a `Send` task; see [`spawn`].
    ///
    /// # Errors
    ///
    /// [`StackError`] if its stack cannot be mapped.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> Result<JoinHandle<T>, StackError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_send(f)
    }

    /// Spawns a task that stays on this thread; see [`spawn_local`].
    ///
    /// # Errors
    ///
    /// [`StackError`] if its stack cannot be mapped.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime.
    #[track_caller]
    pub fn spawn_local<F, T>(self, f: F) -> Result<JoinHandle<T>, StackError>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let location = Location::caller();
        let core = current_core().expect("corio: spawn needs a running runtime (use corio::run)");
        let stack_size = self.options.stack_size_or(core.stack_size);
        core.spawn(self.options.name, stack_size, location, f)
    }

    /// Spawns a `Send` task: on a multi-worker runtime, a new group queued
    /// unstarted, which any worker may take; its stack is mapped when it
    /// starts, and a failure to map it is reported by its join handle as a
    /// panic.
    #[track_caller]
    fn spawn_send<F, T>(self, f: F) -> Result<JoinHandle<T>, StackError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let location = Location::caller();
        let core = current_core().expect("corio: spawn needs a running runtime (use corio::run)");
        let stack_size = self.options.stack_size_or(core.stack_size);
        match &core.worker {
            Some(worker) => {
                Ok(core.spawn_group(worker, self.options.name, stack_size, location, f))
            }
            None => core.spawn(self.options.name, stack_size, location, f),
        }
    }
}

/// A snapshot of every live task of the runtime on this thread, or `None`
/// outside a runtime.
///
/// ```
/// corio::run(|| {
///     let sleeper = corio::task::Builder::new()
///         .name("sleeper")
///         .spawn(|| corio::sleep(std::time::Duration::from_secs(60)))
///         .unwrap();
///     corio::yield_now(); // let it start and park
///     let dump = corio::rt::dump().unwrap();
///     println!("{dump}");
///     assert!(dump.tasks.iter().any(|t| t.name.as_deref() == Some("sleeper")));
///     sleeper.cancel();
/// });
/// ```
pub fn dump() -> Option<Dump> {
    let core = current_core()?;
    let own = core.dump();
    Some(match &core.worker {
        // The other workers' tables can be read on their own threads only;
        // a plain wait (not a task's) happens only in the scheduler.
        Some(worker) if current_task().is_some() => worker.pool.dump(worker.index, own),
        _ => own,
    })
}
