//! [`Consumer`], a stage whose body is a generator, and its [`Inbox`].

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use super::{Error, Sink, StageError, StageResult};
use crate::generator::{self, Builder, Co, Generator, Interrupt};
use crate::stack::StackError;

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
