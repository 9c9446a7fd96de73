//! [`Threaded`]: a stage that runs the rest of a pipeline on another thread
//! (the seed's `cothread.py`).

mod handoff;

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::thread::{JoinHandle, Scope, ScopedJoinHandle};

use handoff::{Feeder, Intake, Msg};

use super::{Error, Sink, StageError};
use crate::sync::channel::{self, Receiver, Sender};

/// Items per batch unless [`ThreadBuilder::batch`] says otherwise.
const DEFAULT_BATCH: usize = 256;
/// Batches in flight unless [`ThreadBuilder::capacity`] says otherwise.
const DEFAULT_CAPACITY: usize = 8;

/// A sink that hands its items, in batches, to a target running on a thread
/// of its own: the seed's `threaded` coroutine, which feeds a coroutine on
/// another thread through a queue.
///
/// Made by [`threaded`] (a thread of its own, items and target `'static`),
/// [`threaded_scoped`] (a thread of a [`std::thread::scope`], so items may
/// borrow what outlives the scope, such as a document) or a
/// [`ThreadBuilder`]. The target is built *on* the new thread by the
/// closure given, since corio's generators stay on the thread that made
/// them; only the closure and the items cross.
///
/// ```
/// use corio::pipe;
///
/// let stage = pipe::threaded(|| {
///     // Runs on the new thread: the target is made there.
///     let mut seen = Vec::new();
///     pipe::sink_fn(move |n: u64| {
///         seen.push(n);
///         Ok(())
///     })
/// });
/// pipe::from_iter(1..=1000, stage).unwrap(); // sends, then closes: flushes and joins
/// ```
///
/// # Batches
///
/// A `send` puts the item in a batch; a full batch (256 items unless
/// [`ThreadBuilder::batch`] says otherwise) goes to the thread as one
/// message, so the cost of the hand-over (a lock, and the cache lines of
/// the counters the two sides share) is paid once per batch.
/// [`flush`](Threaded::flush), [`throw`](Sink::throw) and
/// [`close`](Sink::close) send the partial batch at once. Items therefore
/// wait until their batch is full: a source that may idle (a followed
/// file, a socket) should `flush` when it has nothing more for a while, or
/// use small batches.
///
/// At most [`ThreadBuilder::capacity`] batches wait in the channel; when it
/// is full, `send` waits until the thread has taken half of them. Inside a
/// corio task it parks the task, elsewhere it blocks the thread.
///
/// The thread, out of work, first waits awake for a few microseconds (the
/// next batch of a steady stream comes sooner than a sleeping thread could
/// be woken), then sleeps; the stage wakes it for every flush, throw or
/// close, and otherwise once half the channel is full or, at the latest,
/// after a millisecond. The awake wait shrinks to nothing when it does not
/// pay, for instance when the machine has no core to spare for it.
///
/// # Errors and panics come back
///
/// The target runs on its own, so an error it raises cannot come out of the
/// `send` that caused it. The thread then ends (dropping, so closing, its
/// target), and the error comes out of the next `send`, `flush`, `throw` or
/// `close`, unchanged (so [`Error::io_kind`] still sees a closed standard
/// output); the items sent in between are dropped. A panic on the thread
/// comes back the same way, as a [`ThreadPanic`] error. After that the
/// stage is finished: `send` gives [`StageError::Finished`], `close` gives
/// `Ok(())`.
///
/// The target may also finish on its own (a stage whose body returns). The
/// stage learns it after the fact: the `send` that does drops its item, as
/// the items in flight were dropped, and returns `Ok(())`; from then on
/// [`is_finished`](Sink::is_finished) is true (so a source stops there),
/// and a later `send` gives [`StageError::Finished`].
///
/// [`throw`](Sink::throw) waits for the thread: the error is thrown into
/// the target after the items sent before it, and the target's answer comes
/// back (`Ok(())` if it handled the error).
///
/// # Close and drop
///
/// `close` sends the partial batch, closes the target on its thread, joins
/// the thread and returns the target's error, if any. Dropping the stage
/// without closing it does the same, without the error: the thread never
/// outlives its stage (unless the stage is leaked with `mem::forget`; then
/// the thread waits for items forever, and a scope that holds it never
/// ends).
pub struct Threaded<'scope, T> {
    /// The batch being filled.
    batch: Vec<T>,
    batch_size: usize,
    /// The channel to the thread.
    feeder: Feeder<T>,
    /// The target's answers to throws.
    replies: Receiver<Result<(), Error>>,
    /// `None` once joined.
    handle: Option<Handle<'scope>>,
    /// Whether the caller has been told that the stage is finished (by
    /// `is_finished`, or an error).
    told_finished: Cell<bool>,
}

enum Handle<'scope> {
    Owned(JoinHandle<Result<(), Error>>),
    Scoped(ScopedJoinHandle<'scope, Result<(), Error>>),
}

impl Handle<'_> {
    fn thread(&self) -> &std::thread::Thread {
        match self {
            Handle::Owned(h) => h.thread(),
            Handle::Scoped(h) => h.thread(),
        }
    }

    fn join(self) -> Result<(), Error> {
        let joined = match self {
            Handle::Owned(h) => h.join(),
            Handle::Scoped(h) => h.join(),
        };
        joined.unwrap_or_else(|payload| Err(Error::new(ThreadPanic::from_payload(&*payload))))
    }
}

/// A panic on the thread of a [`Threaded`] stage, as the error that comes
/// back to the sending side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadPanic {
    message: String,
}

impl ThreadPanic {
    fn from_payload(payload: &(dyn Any + Send)) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic with a non-string payload".to_string()
        };
        ThreadPanic { message }
    }

    /// The panic's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ThreadPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pipeline thread panicked: {}", self.message)
    }
}

impl std::error::Error for ThreadPanic {}

/// Starts a thread, builds the target there with `make_target`, and
/// returns the sink that feeds it (see [`Threaded`]). Python's
/// `threaded(target)`, except that the target is made on the thread.
///
/// # Panics
///
/// If the thread cannot be started (as [`std::thread::spawn`]); use
/// [`ThreadBuilder::spawn`] to handle that.
pub fn threaded<T, S, F>(make_target: F) -> Threaded<'static, T>
where
    T: Send + 'static,
    S: Sink<T>,
    F: FnOnce() -> S + Send + 'static,
{
    ThreadBuilder::new()
        .spawn(make_target)
        .unwrap_or_else(|e| panic!("cannot start a pipeline thread: {e}"))
}

/// As [`threaded`], on a thread of `scope`: the items and `make_target` may
/// borrow anything that outlives the scope, such as the document whose
/// events are sent, so that nothing is copied to cross threads.
///
/// ```
/// use corio::pipe::{self, xml::{self, Event}};
///
/// let doc = String::from("<a><b>text</b><b>more</b></a>");
/// let mut texts = Vec::new();
/// std::thread::scope(|scope| {
///     let texts = &mut texts;
///     // Events borrow from `doc` as they cross to the other thread.
///     let stage = pipe::threaded_scoped(scope, move || {
///         pipe::sink_fn(move |ev: Event<'_>| {
///             if let Event::Text(t) = ev {
///                 texts.push(t.into_cow());
///             }
///             Ok(())
///         })
///     });
///     xml::parse_str(&doc, stage).unwrap();
/// });
/// assert_eq!(texts, ["text", "more"]);
/// ```
///
/// # Panics
///
/// If the thread cannot be started (as [`Scope::spawn`]).
pub fn threaded_scoped<'scope, 'env, T, S, F>(
    scope: &'scope Scope<'scope, 'env>,
    make_target: F,
) -> Threaded<'scope, T>
where
    T: Send + 'scope,
    S: Sink<T>,
    F: FnOnce() -> S + Send + 'scope,
{
    ThreadBuilder::new()
        .spawn_scoped(scope, make_target)
        .unwrap_or_else(|e| panic!("cannot start a pipeline thread: {e}"))
}

/// Options for a [`Threaded`] stage: batch size, batches in flight, the
/// thread's name.
///
/// ```
/// use std::io::Write;
///
/// use corio::pipe::{self, ThreadBuilder};
///
/// let stage = ThreadBuilder::new()
///     .batch(256)
///     .capacity(4)
///     .name("printer")
///     .spawn(|| {
///         let mut out = std::io::sink(); // made on, and used by, the new thread
///         pipe::sink_fn(move |line: String| {
///             assert_eq!(std::thread::current().name(), Some("printer"));
///             writeln!(out, "{line}")?;
///             Ok(())
///         })
///     })?;
/// pipe::from_iter(["a", "b"].map(String::from), stage)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ThreadBuilder {
    batch: usize,
    capacity: usize,
    name: Option<String>,
}

impl Default for ThreadBuilder {
    fn default() -> Self {
        ThreadBuilder::new()
    }
}

impl ThreadBuilder {
    /// Batches of 256 items, up to 8 batches in flight, an unnamed thread.
    pub fn new() -> Self {
        ThreadBuilder {
            batch: DEFAULT_BATCH,
            capacity: DEFAULT_CAPACITY,
            name: None,
        }
    }

    /// Items per batch (at least 1; 1 sends every item at once).
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// Full batches that may wait for the thread before `send` waits (at
    /// least 1).
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// The thread's name (shown in panic messages and debuggers).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn thread(&self) -> std::thread::Builder {
        let builder = std::thread::Builder::new();
        match &self.name {
            Some(name) => builder.name(name.clone()),
            None => builder,
        }
    }

    /// Starts the thread and builds the target there (see [`threaded`]).
    ///
    /// # Errors
    ///
    /// The system's error if the thread cannot be started.
    pub fn spawn<T, S, F>(self, make_target: F) -> std::io::Result<Threaded<'static, T>>
    where
        T: Send + 'static,
        S: Sink<T>,
        F: FnOnce() -> S + Send + 'static,
    {
        let (stage, worker) = self.parts();
        let handle = self.thread().spawn(move || worker.run(make_target))?;
        Ok(stage.started(Handle::Owned(handle)))
    }

    /// Starts a thread of `scope` and builds the target there (see
    /// [`threaded_scoped`]).
    ///
    /// # Errors
    ///
    /// The system's error if the thread cannot be started.
    pub fn spawn_scoped<'scope, 'env, T, S, F>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        make_target: F,
    ) -> std::io::Result<Threaded<'scope, T>>
    where
        T: Send + 'scope,
        S: Sink<T>,
        F: FnOnce() -> S + Send + 'scope,
    {
        let (stage, worker) = self.parts();
        let handle = self
            .thread()
            .spawn_scoped(scope, move || worker.run(make_target))?;
        Ok(stage.started(Handle::Scoped(handle)))
    }

    /// The two ends: the stage (its thread not started yet) and the
    /// thread's work.
    fn parts<'scope, T>(&self) -> (Threaded<'scope, T>, Worker<T>) {
        let (feeder, intake) = handoff::handoff(self.capacity);
        let (reply_tx, replies) = channel::unbounded();
        let stage = Threaded {
            batch: Vec::with_capacity(self.batch),
            batch_size: self.batch,
            feeder,
            replies,
            handle: None,
            told_finished: Cell::new(false),
        };
        let worker = Worker {
            intake,
            replies: reply_tx,
        };
        (stage, worker)
    }
}

/// The thread's side.
struct Worker<T> {
    intake: Intake<T>,
    replies: Sender<Result<(), Error>>,
}

impl<T> Worker<T> {
    /// Builds the target and feeds it until the channel closes or the
    /// target finishes; returns the target's error, if any. On return (or
    /// a panic) the target drops first, then the intake, which marks the
    /// work done.
    fn run<S: Sink<T>>(mut self, make_target: impl FnOnce() -> S) -> Result<(), Error> {
        let mut target = make_target();
        while let Some(msg) = self.intake.next() {
            match msg {
                Msg::Items(mut items) => {
                    for item in items.drain(..) {
                        target.send(item)?;
                        if target.is_finished() {
                            return target.close();
                        }
                    }
                    self.intake.give_back(items);
                }
                Msg::Throw(error) => {
                    let answer = target.throw(error);
                    let _ = self.replies.send(answer);
                    if target.is_finished() {
                        return target.close();
                    }
                }
            }
        }
        target.close()
    }
}

impl<'scope, T> Threaded<'scope, T> {
    /// The stage, its thread started.
    fn started(mut self, handle: Handle<'scope>) -> Self {
        self.feeder.set_thread(handle.thread().clone());
        self.handle = Some(handle);
        self
    }

    /// Sends the partial batch to the thread now, and wakes the thread to
    /// take it.
    ///
    /// # Errors
    ///
    /// The target's error (or a [`ThreadPanic`]) if the thread has ended
    /// with one; the partial batch is then dropped.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.hand_over(true)
    }

    /// Posts the batch; `urgent` wakes the thread at once.
    fn hand_over(&mut self, urgent: bool) -> Result<(), Error> {
        if self.feeder.is_finished() {
            // The thread has ended (or is ending): the batch has no one to
            // go to.
            return self.join();
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        let next = self.feeder.empty_batch(self.batch_size);
        let full = std::mem::replace(&mut self.batch, next);
        if self.feeder.post(Msg::Items(full), urgent) {
            Ok(())
        } else {
            // The thread has ended: what ended it.
            self.join()
        }
    }

    /// Closes the channel (the thread then closes its target and ends),
    /// drops the partial batch and joins the thread. Returns how the
    /// thread ended, once; `Ok(())` after that.
    fn join(&mut self) -> Result<(), Error> {
        self.feeder.close();
        self.batch.clear();
        match self.handle.take() {
            Some(handle) => {
                // Wait for the thread's work to end where a corio task
                // parks (the thread may have batches to finish); the join
                // then only waits for the thread to exit. (Not while
                // unwinding: a task then waits on its own stack anyway.)
                if !std::thread::panicking() {
                    self.feeder.wait_for_the_end();
                }
                handle.join()
            }
            None => Ok(()),
        }
    }

    /// Why a finished stage takes no more: the thread's error, else
    /// [`StageError::Finished`].
    #[cold]
    #[inline(never)]
    fn finished_error(&mut self) -> Error {
        self.told_finished.set(true);
        match self.join() {
            Err(e) => e,
            Ok(()) => Error::new(StageError::Finished),
        }
    }

    /// `send` to a stage whose thread has ended: the thread's error; or,
    /// if the target finished on its own and the caller has not been told
    /// yet, `Ok(())` (the item is dropped, as those in flight were, and
    /// `is_finished` says it from now on); else [`StageError::Finished`].
    #[cold]
    #[inline(never)]
    fn send_after_the_end(&mut self) -> Result<(), Error> {
        let told = self.told_finished.replace(true);
        match self.join() {
            Err(e) => Err(e),
            Ok(()) if told => Err(Error::new(StageError::Finished)),
            Ok(()) => Ok(()),
        }
    }
}

impl<T> Sink<T> for Threaded<'_, T> {
    #[inline]
    fn send(&mut self, item: T) -> Result<(), Error> {
        if self.feeder.is_finished() {
            return self.send_after_the_end();
        }
        self.batch.push(item);
        if self.batch.len() >= self.batch_size {
            self.hand_over(false)
        } else {
            Ok(())
        }
    }

    fn throw(&mut self, error: Error) -> Result<(), Error> {
        self.flush()?;
        if !self.feeder.post(Msg::Throw(error), true) {
            return Err(self.finished_error());
        }
        match self.replies.recv() {
            Ok(answer) => answer,
            // The thread ended (a panic) before it answered.
            Err(_) => Err(self.finished_error()),
        }
    }

    fn close(&mut self) -> Result<(), Error> {
        let flushed = self.flush();
        // After a failed flush the thread is joined and this is `Ok`.
        let joined = self.join();
        flushed.and(joined)
    }

    #[inline]
    fn is_finished(&self) -> bool {
        let finished = self.feeder.is_finished();
        if finished {
            self.told_finished.set(true);
        }
        finished
    }
}

impl<T> Drop for Threaded<'_, T> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = self.flush();
        }
        let _ = self.join();
    }
}

impl<T> fmt::Debug for Threaded<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Threaded")
            .field("queued", &self.batch.len())
            .field("batch", &self.batch_size)
            .field("finished", &self.feeder.is_finished())
            .finish()
    }
}
