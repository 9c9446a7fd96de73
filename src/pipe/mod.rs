//! Push pipelines of coroutines: sources, filters, broadcast, sinks.
//!
//! This is the "Pipeline Processing" and "Event Dispatching" part of
//! Beazley's coroutine course, in Rust. A pipeline is a chain of *stages*: a
//! source pushes items into its target with [`Sink::send`]; each stage does
//! something with the item and pushes results on to its own target(s); the
//! last stage (the sink) consumes them.
//!
//! ```text
//! source ──send──▶ filter ──send──▶ map ──send──▶ broadcast ─┬─▶ sink
//!                                                            └─▶ sink
//! ```
//!
//! - [`Sink`] is anything you can `send` items into, `throw` an error into
//!   and `close`. A [`Consumer`] is a sink whose body is a corio
//!   [`Generator`]: it runs on its own stack and takes each item with
//!   `inbox.recv()`, exactly like `line = (yield)` in Python. Plain
//!   closures are sinks too ([`sink_fn`]), and so is a `Vec` (it collects).
//! - Stages are plain functions that take their target and return a sink:
//!   [`filter`], [`map`], [`broadcast`], or your own, written like the
//!   Python originals.
//! - Sources drive a target: [`from_iter`] (any `Iterator`), [`from_lines`]
//!   (any `BufRead`), [`read_lines`] (a file), [`Follow`] (a file followed as
//!   it grows, like `tail -f`), and the XML sources of [`xml`].
//! - [`Shared`] lets several stages feed one sink; [`bus`] has the record
//!   type and a test-data generator for the bus-feed examples.
//!
//! # Close and errors travel downstream
//!
//! As in the seed: when a source ends it closes its target; a stage that is
//! closed or thrown into closes or throws into its targets ([`Sink::forward`]
//! does both), and broadcast forwards to all. A stage whose body returns, for
//! instance through `?` on a close, drops its target, and dropping a
//! [`Consumer`] closes it, so a close is never lost. An error raised by a
//! stage comes back out of the `send` that caused it, up to the source,
//! which returns it.
//!
//! # A stage written once runs behind any source
//!
//! ```
//! use corio::pipe::{self, Consumer, Sink};
//!
//! /// Python's `grep` coroutine: pass on the lines that contain `pattern`.
//! fn grep<'a>(pattern: &'a str, mut target: impl Sink<String> + 'a) -> Consumer<'a, String> {
//!     Consumer::<String>::new(move |inbox| loop {
//!         match inbox.recv() {
//!             Ok(line) if line.contains(pattern) => target.send(line)?,
//!             Ok(_) => {}
//!             // closed or thrown into: close or throw into the target
//!             Err(interrupt) => target.forward(interrupt)?,
//!         }
//!     })
//! }
//!
//! // Behind an iterator:
//! let mut found = Vec::new();
//! let lines = ["python rocks\n", "perl\n", "python again\n"].map(String::from);
//! pipe::from_iter(lines, grep("python", &mut found)).unwrap();
//! assert_eq!(found, ["python rocks\n", "python again\n"]);
//!
//! // Behind any BufRead (a file, stdin, a socket), unchanged:
//! let mut found = Vec::new();
//! let input = std::io::Cursor::new("a\npython b\nc\n");
//! pipe::from_lines(input, grep("python", &mut found)).unwrap();
//! assert_eq!(found, ["python b\n"]);
//!
//! // Behind a followed file (runs until the sink finishes):
//! # fn follow(path: &std::path::Path) -> Result<(), pipe::Error> {
//! let printer = pipe::sink_fn(|line: String| {
//!     print!("{line}");
//!     Ok(())
//! });
//! pipe::Follow::new(path).run(grep("python", printer))
//! # }
//! ```
//!
//! # Cost
//!
//! A `send` into a [`Consumer`] is one switch to the stage's stack and back
//! (a few nanoseconds in a tight loop, more when both sides do real work
//! between switches); a [`sink_fn`] is a plain call. Both kinds of stage mix
//! freely. [`Consumer::with_batch`] queues items and switches once per
//! batch; that pays when switches dominate, but queueing an item costs
//! about as much as a switch when the items are large (see the README for
//! measured figures). Items can borrow: a pipeline of `&str` or of
//! [`xml::Event<'doc>`](xml::Event) borrowing from a document copies no
//! text. Stages own nothing global, so any number of pipelines can run in
//! one program, on one thread or on many (a pipeline stays on the thread
//! that built it).
//!
//! [`Generator`]: crate::generator::Generator

pub mod bus;
mod error;
mod source;
pub mod xml;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use crate::generator::{self, Builder, Co, Generator, Interrupt};
use crate::stack::StackError;

pub use error::{Error, FileError, StageError};
pub use source::{from_iter, from_lines, read_lines, Follow};

/// What a stage body returns: `Ok(())` when it ends on its own, or the
/// interrupt (a close, or an error) that ended it.
pub type StageResult = Result<(), Interrupt<Error>>;

/// Something items can be pushed into: the target of a source or a stage.
///
/// The three operations are Python's generator methods `send`, `throw` and
/// `close`, with the same meaning for a pipeline.
pub trait Sink<T> {
    /// Pushes one item in. An error means the item was not handled: the
    /// sink, or a stage after it, raised it, or the sink had finished.
    fn send(&mut self, item: T) -> Result<(), Error>;

    /// Raises `error` in the sink. `Ok(())` if the sink handled it and goes
    /// on (or finished cleanly); otherwise the error that came out, usually
    /// `error` itself. The default does not handle errors: it hands `error`
    /// back.
    fn throw(&mut self, error: Error) -> Result<(), Error> {
        Err(error)
    }

    /// Tells the sink that no more items come, so that it finishes (and
    /// closes what it feeds). The default does nothing. Closing twice is
    /// harmless.
    fn close(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Whether the sink has finished and takes no more items. Sources stop
    /// early when their target finishes. The default is `false`.
    fn is_finished(&self) -> bool {
        false
    }

    /// Passes an interrupt that a stage received on to this sink, its
    /// target: a close closes it, an error is thrown into it. This is what
    /// Python's stages do in `except GeneratorExit: target.close()`.
    ///
    /// Returns `Err(Interrupt::Closed)` after a close (the stage then
    /// finishes), `Ok(())` if this sink handled a thrown error (the stage
    /// may go on), or the error this sink raised. Written for `?` in a stage
    /// body: `Err(interrupt) => target.forward(interrupt)?`.
    fn forward(&mut self, interrupt: Interrupt<Error>) -> StageResult {
        match interrupt {
            Interrupt::Closed => {
                self.close()?;
                Err(Interrupt::Closed)
            }
            Interrupt::Thrown(error) => {
                self.throw(error)?;
                Ok(())
            }
        }
    }
}

impl<T, S: Sink<T> + ?Sized> Sink<T> for &mut S {
    #[inline]
    fn send(&mut self, item: T) -> Result<(), Error> {
        (**self).send(item)
    }
    fn throw(&mut self, error: Error) -> Result<(), Error> {
        (**self).throw(error)
    }
    fn close(&mut self) -> Result<(), Error> {
        (**self).close()
    }
    fn is_finished(&self) -> bool {
        (**self).is_finished()
    }
    fn forward(&mut self, interrupt: Interrupt<Error>) -> StageResult {
        (**self).forward(interrupt)
    }
}

impl<T, S: Sink<T> + ?Sized> Sink<T> for Box<S> {
    #[inline]
    fn send(&mut self, item: T) -> Result<(), Error> {
        (**self).send(item)
    }
    fn throw(&mut self, error: Error) -> Result<(), Error> {
        (**self).throw(error)
    }
    fn close(&mut self) -> Result<(), Error> {
        (**self).close()
    }
    fn is_finished(&self) -> bool {
        (**self).is_finished()
    }
    fn forward(&mut self, interrupt: Interrupt<Error>) -> StageResult {
        (**self).forward(interrupt)
    }
}

/// A `Vec` collects what is sent into it (handy at the end of a pipeline
/// and in tests).
impl<T> Sink<T> for Vec<T> {
    #[inline]
    fn send(&mut self, item: T) -> Result<(), Error> {
        self.push(item);
        Ok(())
    }
}

/// A stage whose body is a corio [`Generator`]: it runs on its own stack,
/// and takes each item where it calls [`inbox.recv()`](Inbox::recv), as a
/// Python coroutine takes it at `item = (yield)`.
///
/// The body runs up to its first `recv` when the consumer is created (it is
/// *primed*, like the seed's `@coroutine`), so code before the loop runs at
/// once. `recv` returns `Err(Interrupt::Closed)` when the consumer is closed
/// and `Err(Interrupt::Thrown(e))` when an error is thrown in; the body may
/// catch them (Python's `except GeneratorExit`), and `?` ends the body and
/// passes them on.
///
/// ```
/// use corio::pipe::{Consumer, Sink};
///
/// let mut log = Vec::new();
/// let mut printer = Consumer::<String>::new(|inbox| {
///     log.push("ready".to_string()); // runs at creation: the consumer is primed
///     loop {
///         match inbox.recv() {
///             Ok(line) => log.push(line),
///             Err(_closed) => {
///                 log.push("Going away. Goodbye!".to_string());
///                 return Ok(());
///             }
///         }
///     }
/// });
/// printer.send("python generators rock!".to_string()).unwrap();
/// printer.close().unwrap();
/// drop(printer);
/// assert_eq!(log, ["ready", "python generators rock!", "Going away. Goodbye!"]);
/// ```
///
/// # Batches
///
/// By default every `send` switches to the stage's stack and back (a few
/// nanoseconds), and returns after the stage has handled the item, as in
/// Python. [`with_batch(n)`](Consumer::with_batch) trades that for fewer
/// switches: items are queued, and the stage runs once per `n` items,
/// taking them from its inbox without a switch (each item is then moved
/// into the queue and out again, so small items gain most). Each stage still sees every item, in order,
/// and the queue is handed over before a close or a thrown error, so a
/// pipeline's output is the same; what changes is *when*: an error the
/// stage raises comes back from a later `send` (or the `close`), and side
/// effects of different stages interleave differently.
///
/// # Errors raised before a call
///
/// An error the body raises while it is primed (before its first `recv`),
/// or while [`with_batch`](Consumer::with_batch) hands over the queued
/// items, has no call to return from. It is kept and returned by the next
/// call, whichever it is (`send`, `flush`, `throw` or `close`): the
/// stage's own failure is never lost. The body has ended by then, so an
/// error thrown in by that `throw` has no one to reach and is dropped, as
/// an item sent to a finished stage is.
///
/// Dropping a consumer hands over the queued items, then closes it (see
/// [`Generator`]'s `Drop`).
pub struct Consumer<'a, T> {
    /// The body takes `Some(item)` at its pending `recv`, or `None`: "take
    /// the queued batch".
    gen: Generator<'a, Option<T>, (), (), Error>,
    /// Items sent and not yet handed to the body (only with batches).
    queue: VecDeque<T>,
    /// Where a batch is handed over: the consumer puts its queue here and
    /// wakes the body, which swaps it for its own emptied buffer; the
    /// consumer takes that back as its next queue. So a batch costs one
    /// switch and no allocation.
    handoff: Rc<Cell<VecDeque<T>>>,
    batch: usize,
    /// An error to report at the next call: raised by the body before its
    /// first `recv`, or while a batch was handed over by `with_batch`.
    pending_error: Option<Error>,
}

/// What a [`Consumer`]'s body receives items from.
pub struct Inbox<'c, T> {
    co: &'c Co<Option<T>, (), Error>,
    /// Where the consumer hands over batches.
    handoff: Rc<Cell<VecDeque<T>>>,
    /// The rest of the batch being taken.
    items: VecDeque<T>,
}

impl<T> Inbox<'_, T> {
    /// Takes the next item: Python's `item = (yield)`. Suspends the body
    /// until one is sent (or, with batches, takes it from those already
    /// handed over).
    ///
    /// # Errors
    ///
    /// `Err(Interrupt::Closed)` when the consumer is closed, and
    /// `Err(Interrupt::Thrown(e))` when `e` is thrown into it; both come
    /// after every item sent before them.
    #[inline(always)]
    pub fn recv(&mut self) -> Result<T, Interrupt<Error>> {
        if let Some(item) = self.items.pop_front() {
            return Ok(item);
        }
        // Without batches the item comes with the switch: it moves once,
        // through no queue.
        match self.co.yield_(())? {
            Some(item) => Ok(item),
            None => self.recv_batch(),
        }
    }

    /// `recv` woken to take the queued batch.
    #[inline(never)]
    fn recv_batch(&mut self) -> Result<T, Interrupt<Error>> {
        loop {
            self.items = self.handoff.replace(std::mem::take(&mut self.items));
            if let Some(item) = self.items.pop_front() {
                return Ok(item);
            }
            // An empty batch (never sent, but harmless): wait for the next.
            if let Some(item) = self.co.yield_(())? {
                return Ok(item);
            }
        }
    }

    /// The name given to the consumer's generator by its [`Builder`].
    pub fn name(&self) -> Option<&str> {
        self.co.name()
    }
}

impl<T> std::fmt::Debug for Inbox<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("queued", &self.items.len())
            .finish()
    }
}

impl<'a, T: 'a> Consumer<'a, T> {
    /// Creates a consumer with the default stack size and primes it.
    ///
    /// # Panics
    ///
    /// Panics if no stack can be mapped (use [`Consumer::build`] to handle
    /// that), and propagates a panic of the body before its first `recv`.
    pub fn new<F>(body: F) -> Self
    where
        F: FnOnce(&mut Inbox<'_, T>) -> StageResult + 'a,
    {
        Self::build(Builder::new(), body).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Creates a consumer from a generator [`Builder`] (to name it, or to
    /// give it a larger stack) and primes it.
    pub fn build<F>(builder: Builder, body: F) -> Result<Self, StackError>
    where
        F: FnOnce(&mut Inbox<'_, T>) -> StageResult + 'a,
    {
        let handoff = Rc::new(Cell::new(VecDeque::new()));
        let body_handoff = Rc::clone(&handoff);
        let gen = builder.build(move |co, _prime: Option<T>| {
            let mut inbox = Inbox {
                co,
                handoff: body_handoff,
                items: VecDeque::new(),
            };
            body(&mut inbox)
        })?;
        let mut consumer = Consumer {
            gen,
            queue: VecDeque::new(),
            handoff,
            batch: 1,
            pending_error: None,
        };
        // Prime: run the body to its first `recv`. (Not
        // `Builder::build_primed`: its generator keeps a priming error for
        // the next `send` or `close` only, and a consumer reports it to a
        // `throw` as well.)
        if let Err(e) = consumer.gen.send(None) {
            consumer.pending_error = Some(e.into());
        }
        Ok(consumer)
    }
}

impl<'a, T> Consumer<'a, T> {
    /// Queues up to `n` items before running the stage (see
    /// [Batches](Consumer#batches)); `1`, the default, runs it on every
    /// `send`. Items already queued are handed over first.
    pub fn with_batch(mut self, n: usize) -> Self {
        if let Err(e) = self.flush() {
            self.pending_error = Some(e);
        }
        self.batch = n.max(1);
        if self.batch > 1 {
            self.queue.reserve(self.batch);
        }
        self
    }

    /// Hands the queued items to the body now.
    pub fn flush(&mut self) -> Result<(), Error> {
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        if self.queue.is_empty() {
            return Ok(());
        }
        if self.gen.is_finished() {
            self.queue.clear();
            return Ok(());
        }
        self.handoff.set(std::mem::take(&mut self.queue));
        let result = self.gen.send(None);
        // The body's emptied buffer (or, if it finished without taking the
        // batch, the batch itself, whose items are then dropped).
        self.queue = self.handoff.take();
        self.queue.clear();
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `send` to a consumer whose generator has finished.
    #[cold]
    #[inline(never)]
    fn finished_error(&mut self) -> Error {
        self.pending_error
            .take()
            .unwrap_or_else(|| Error::new(StageError::Finished))
    }

    /// `send` with batches: a push, and a switch once per batch.
    #[inline]
    fn send_queued(&mut self, item: T) -> Result<(), Error> {
        if self.gen.is_finished() {
            return Err(self.finished_error());
        }
        self.queue.push_back(item);
        if self.queue.len() >= self.batch {
            self.flush()
        } else {
            Ok(())
        }
    }
}

impl<T> Sink<T> for Consumer<'_, T> {
    #[inline(always)]
    fn send(&mut self, item: T) -> Result<(), Error> {
        if self.batch > 1 {
            return self.send_queued(item);
        }
        // One item, one switch: straight into the pending `recv`.
        match self.gen.send(Some(item)) {
            Ok(_) => Ok(()),
            Err(generator::Error::Finished | generator::Error::Panicked) => {
                Err(self.finished_error())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn throw(&mut self, error: Error) -> Result<(), Error> {
        self.flush()?;
        match self.gen.throw(error) {
            Ok(_) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn close(&mut self) -> Result<(), Error> {
        self.flush()?;
        match self.gen.close() {
            Ok(_) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn is_finished(&self) -> bool {
        self.gen.is_finished()
    }
}

impl<T> Drop for Consumer<'_, T> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = self.flush();
        }
        // Then the generator's own drop closes the body.
    }
}

impl<T> std::fmt::Debug for Consumer<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("gen", &self.gen)
            .field("queued", &self.queue.len())
            .field("batch", &self.batch)
            .finish()
    }
}

/// A sink that calls a closure for each item: a stage with no coroutine,
/// for work that keeps no state between items (see [`sink_fn`]).
pub struct FnSink<F> {
    f: F,
}

/// A sink that calls `f` for each item sent in. Close and throw use the
/// [`Sink`] defaults: nothing to clean up, errors are not handled.
///
/// ```
/// use corio::pipe::{self, sink_fn};
///
/// let mut total = 0;
/// pipe::from_iter(1..=4, sink_fn(|x: i32| {
///     total += x;
///     Ok(())
/// }))
/// .unwrap();
/// assert_eq!(total, 10);
/// ```
pub fn sink_fn<T, F: FnMut(T) -> Result<(), Error>>(f: F) -> FnSink<F> {
    FnSink { f }
}

impl<T, F: FnMut(T) -> Result<(), Error>> Sink<T> for FnSink<F> {
    #[inline]
    fn send(&mut self, item: T) -> Result<(), Error> {
        (self.f)(item)
    }
}

/// Passes on the items for which `pred` is true. Closes and errors are
/// forwarded to `target`; when `target` finishes, so does the filter.
///
/// ```
/// use corio::pipe;
///
/// let mut odd = Vec::new();
/// pipe::from_iter(1..=6, pipe::filter(|x: &i32| x % 2 == 1, &mut odd)).unwrap();
/// assert_eq!(odd, [1, 3, 5]);
/// ```
pub fn filter<'a, T: 'a>(
    mut pred: impl FnMut(&T) -> bool + 'a,
    mut target: impl Sink<T> + 'a,
) -> Consumer<'a, T> {
    Consumer::new(move |inbox| loop {
        match inbox.recv() {
            Ok(item) => {
                if pred(&item) {
                    target.send(item)?;
                    if target.is_finished() {
                        // Nothing more to feed: finish too.
                        return Ok(());
                    }
                }
            }
            Err(interrupt) => target.forward(interrupt)?,
        }
    })
}

/// Passes on `f(item)` for every item. Closes and errors are forwarded to
/// `target`; when `target` finishes, so does the map.
///
/// ```
/// use corio::pipe;
///
/// let mut lens = Vec::new();
/// pipe::from_iter(["a", "bcd"], pipe::map(str::len, &mut lens)).unwrap();
/// assert_eq!(lens, [1, 3]);
/// ```
pub fn map<'a, T: 'a, U: 'a>(
    mut f: impl FnMut(T) -> U + 'a,
    mut target: impl Sink<U> + 'a,
) -> Consumer<'a, T> {
    Consumer::new(move |inbox| loop {
        match inbox.recv() {
            Ok(item) => {
                target.send(f(item))?;
                if target.is_finished() {
                    return Ok(());
                }
            }
            Err(interrupt) => target.forward(interrupt)?,
        }
    })
}

/// Sends every item to all `targets`, in order (the last one gets the item
/// itself, the others clones).
///
/// A close closes every target; an error thrown in is thrown into every
/// target, and the broadcast goes on if they all handled it. If a target
/// raises, the others still get the close or the error, and the first error
/// raised is passed on. An error raised by a target on `send` stops the
/// broadcast (the targets after it do not get that item) and comes back to
/// the sender. When every target has finished, so does the broadcast.
///
/// ```
/// use corio::pipe;
///
/// let (mut a, mut b) = (Vec::new(), Vec::new());
/// pipe::from_iter(["x", "y"], pipe::broadcast(vec![&mut a, &mut b])).unwrap();
/// assert_eq!((a, b), (vec!["x", "y"], vec!["x", "y"]));
/// ```
pub fn broadcast<'a, T: Clone + 'a, S: Sink<T> + 'a>(
    targets: impl IntoIterator<Item = S>,
) -> Consumer<'a, T> {
    let mut targets: Vec<S> = targets.into_iter().collect();
    Consumer::new(move |inbox: &mut Inbox<'_, T>| loop {
        match inbox.recv() {
            Ok(item) => {
                if let Some((last, rest)) = targets.split_last_mut() {
                    for target in rest {
                        target.send(item.clone())?;
                    }
                    last.send(item)?;
                }
                if targets.iter().all(|t| t.is_finished()) {
                    return Ok(());
                }
            }
            Err(interrupt) => {
                let mut first_error = None;
                for target in &mut targets {
                    let result = match &interrupt {
                        Interrupt::Closed => target.close(),
                        Interrupt::Thrown(e) => target.throw(e.clone()),
                    };
                    if let Err(e) = result {
                        first_error.get_or_insert(e);
                    }
                }
                if let Some(e) = first_error {
                    return Err(Interrupt::Thrown(e));
                }
                if let Interrupt::Closed = interrupt {
                    return Err(Interrupt::Closed);
                }
            }
        }
    })
}

/// A handle to a sink that several stages feed, like the one printer that
/// the three greps of `cobroadcast` share.
///
/// Clone the handle for each upstream stage. The sink is closed when the
/// last handle is closed or dropped, so it sees one close after all its
/// upstreams have finished (Python's seed closes it once per upstream and
/// crashes on the second; see the README).
///
/// Sending into the shared sink from inside itself (a cycle) is an error,
/// not a panic.
///
/// ```
/// use corio::pipe::{self, Shared};
///
/// let mut out = Vec::new();
/// let shared = Shared::new(&mut out);
/// let targets = vec![
///     pipe::filter(|s: &&str| s.contains('a'), shared.clone()),
///     pipe::filter(|s: &&str| s.contains('b'), shared),
/// ];
/// pipe::from_iter(["ab", "b", "c"], pipe::broadcast(targets)).unwrap();
/// assert_eq!(out, ["ab", "ab", "b"]);
/// ```
pub struct Shared<S> {
    inner: Rc<SharedInner<S>>,
    open: bool,
}

struct SharedInner<S> {
    sink: RefCell<S>,
    open_handles: Cell<usize>,
}

impl<S> Shared<S> {
    /// Shares `sink`; this is the first handle.
    pub fn new(sink: S) -> Self {
        Shared {
            inner: Rc::new(SharedInner {
                sink: RefCell::new(sink),
                open_handles: Cell::new(1),
            }),
            open: true,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut S) -> Result<R, Error>) -> Result<R, Error> {
        match self.inner.sink.try_borrow_mut() {
            Ok(mut sink) => f(&mut sink),
            Err(_) => Err(Error::msg(
                "shared sink re-entered: a stage sent into a sink it feeds",
            )),
        }
    }

    /// Marks this handle closed; true if it was the last open one.
    fn release(&mut self) -> bool {
        if !self.open {
            return false;
        }
        self.open = false;
        let n = self.inner.open_handles.get() - 1;
        self.inner.open_handles.set(n);
        n == 0
    }
}

impl<S> Clone for Shared<S> {
    /// A new open handle to the same sink.
    fn clone(&self) -> Self {
        self.inner
            .open_handles
            .set(self.inner.open_handles.get() + 1);
        Shared {
            inner: Rc::clone(&self.inner),
            open: true,
        }
    }
}

impl<T, S: Sink<T>> Sink<T> for Shared<S> {
    fn send(&mut self, item: T) -> Result<(), Error> {
        if !self.open {
            return Err(Error::new(StageError::Finished));
        }
        self.with(|sink| sink.send(item))
    }

    fn throw(&mut self, error: Error) -> Result<(), Error> {
        self.with(|sink| sink.throw(error))
    }

    fn close(&mut self) -> Result<(), Error> {
        if self.release() {
            self.with(|sink| sink.close())
        } else {
            Ok(())
        }
    }

    fn is_finished(&self) -> bool {
        !self.open
            || self
                .inner
                .sink
                .try_borrow()
                .map(|sink| sink.is_finished())
                .unwrap_or(false)
    }
}

impl<S> Drop for Shared<S> {
    /// Dropping an open handle counts as closing it: the sink itself is
    /// dropped (and so, if it is a [`Consumer`], closed) with the last one.
    fn drop(&mut self) {
        self.release();
    }
}

impl<S> std::fmt::Debug for Shared<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("open", &self.open)
            .field("open_handles", &self.inner.open_handles.get())
            .finish()
    }
}
