//! Generators: Python's generator protocol on stackful coroutines.
//!
//! A [`Generator`] runs a closure (its *body*) on a stack of its own. The
//! body receives a handle, [`Co`], through which it yields values to the
//! caller and receives the values the caller sends. Because the body has a
//! real stack, any function it calls can take the handle and yield: no
//! function needs to be written as a generator itself.
//!
//! | Python                     | corio                                     |
//! |----------------------------|-------------------------------------------|
//! | `x = yield v`              | `let x = co.yield_(v)?;`                  |
//! | `next(g)` / `for v in g`   | [`Iterator`] when the input type is `()`  |
//! | `g.send(x)`                | [`Generator::send`]                       |
//! | `g.throw(e)`               | [`Generator::throw`]                      |
//! | `g.close()`                | [`Generator::close`]                      |
//! | `except GeneratorExit`     | `Err(Interrupt::Closed)` from `yield_`    |
//! | `return r` / `StopIteration(r)` | [`GeneratorState::Complete`]         |
//! | `r = yield from sub`       | `let r = co.yield_from(sub, first)?;`     |
//! | `@coroutine` priming       | [`Generator::primed`]                     |
//!
//! # Types
//!
//! `Generator<'a, I, Y, R, E>` takes inputs of type `I`, yields `Y`, returns
//! `R` and can be thrown errors of type `E`. Its body has the signature
//! `FnOnce(&Co<I, Y, E>, I) -> Result<R, Interrupt<E>>`: the first `send`
//! starts the body and its value becomes the body's second argument (as with
//! `core::ops::Coroutine`; Python's first `send(None)` is `send(())`).
//! `yield_` returns `Err(Interrupt::Thrown(e))` when the caller throws and
//! `Err(Interrupt::Closed)` when it closes, so `?` propagates both, and the
//! body raises an error of its own with `Err(Interrupt::Thrown(e))` (or
//! `Err(e)?`). The body may borrow data that outlives `'a`.
//!
//! # Example
//!
//! ```
//! use corio::generator::{Generator, GeneratorState};
//!
//! // A running average: send numbers in, get the average so far out.
//! let mut avg = Generator::new(|co, mut x: f64| {
//!     let (mut sum, mut n) = (0.0, 0.0);
//!     loop {
//!         sum += x;
//!         n += 1.0;
//!         x = co.yield_(sum / n)?;
//!     }
//! });
//! # let _: &Generator<f64, f64, ()> = &avg;
//! assert_eq!(avg.send(10.0).unwrap(), GeneratorState::Yielded(10.0));
//! assert_eq!(avg.send(20.0).unwrap(), GeneratorState::Yielded(15.0));
//! assert_eq!(avg.close().unwrap(), None);
//! ```
//!
//! # Threads
//!
//! A generator never leaves the thread that created it: its stack may hold
//! `!Send` values (an `Rc`, a `MutexGuard`) and addresses of thread-locals
//! across a yield, so moving it would be unsound. `Generator` and `Co` are
//! therefore neither `Send` nor `Sync`:
//!
//! ```compile_fail,E0277
//! let gen = corio::generator::Generator::<(), i32>::new(|co, ()| { co.yield_(1)?; Ok(()) });
//! std::thread::spawn(move || drop(gen)); // error: `Generator` is not `Send`
//! ```
//!
//! ```compile_fail,E0277
//! fn shared_between_threads<T: Sync>() {}
//! shared_between_threads::<corio::generator::Generator<(), i32>>(); // error: not `Sync`
//! ```
//!
//! ```compile_fail,E0277
//! fn sent_to_another_thread<T: Send>() {}
//! sent_to_another_thread::<corio::generator::Co<(), i32>>(); // error: `Co` is not `Send`
//! ```
//!
//! ```compile_fail,E0277
//! let _gen = corio::generator::Generator::<(), i32>::new(|co, ()| {
//!     // error: `Co` is not `Sync`, so `&Co` cannot go to another thread
//!     std::thread::scope(|s| { s.spawn(|| co.yield_(1)); });
//!     Ok(())
//! });
//! ```
//!
//! A generator cannot resume itself: `send` takes `&mut self`, and a body
//! cannot hold a unique reference to the generator that runs it. Shared
//! through `Rc<RefCell<Generator>>`, the attempt panics with `RefCell`'s
//! "already borrowed" while the outer `send` holds the borrow; the panic
//! reaches that outer `send` and the generator is finished.

mod error;
#[cfg(feature = "nightly")]
mod nightly;

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use corosensei::{Coroutine, CoroutineResult, Yielder};

pub use error::{Error, Interrupt};

use crate::coro::{self, Frame, FrameSpec, Park};
use crate::stack::{self, PooledStack, StackError};

/// What a resumed generator did: yielded a value or returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GeneratorState<Y, R> {
    /// The body suspended at `yield_` with this value.
    Yielded(Y),
    /// The body returned this value and is finished.
    Complete(R),
}

/// What the caller passes into a suspended body.
enum Resume<I, E> {
    /// Start a primed body, which takes no input.
    Start,
    Send(I),
    Throw(E),
    Close,
    /// The task the body parked has been resumed (answers a park; see
    /// [`Out`]).
    Unpark,
}

/// What a body hands out when it suspends: a bare `Y`, so that a small
/// value travels in a register, not through memory.
///
/// A park is told apart out of band: the body suspends with no value
/// (zeroed bytes) after setting the thread's current frame to null
/// ([`coro::PARKED`]), which a normal yield never does (`yield_` suspends
/// only while its own, non-null frame is current). `resume_inner` reads the
/// current frame back anyway, to restore the caller's, so telling the two
/// apart costs one compare. The value is read only when the frame was not
/// null, i.e. when `yield_` put a real `Y` there.
type Out<Y> = MaybeUninit<Y>;

type Outcome<R, E> = Result<R, Interrupt<E>>;
type Inner<I, Y, R, E> = Coroutine<Resume<I, E>, Out<Y>, Outcome<R, E>, PooledStack>;
type GenYielder<I, Y, E> = Yielder<Resume<I, E>, Out<Y>>;

/// How a resumed body suspended.
enum Suspended<Y, R, E> {
    /// It yielded this value.
    Value(Y),
    /// It parked (the current frame was null; see [`Out`]): the caller must
    /// park its own task, then resume the body with `Resume::Unpark`.
    Park,
    /// It returned (or raised).
    Return(Outcome<R, E>),
}

/// Where a generator stands; derived from its coroutine, never stored, so
/// `send` has nothing to keep up to date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Created, body not started.
    Fresh,
    /// Suspended at a yield.
    Suspended,
    /// A panic escaped the body: corosensei marks a coroutine done while it
    /// runs, and it stays so when the panic unwinds out of `resume`.
    Panicked,
    /// Returned or raised; the stack is back in the pool.
    Done,
}

/// A stackful generator with Python's protocol: `send`, `throw`, `close`,
/// `yield_from`, iteration.
///
/// See the [module documentation](self) for the full picture.
pub struct Generator<'a, I, Y, R = (), E = Infallible> {
    inner: Option<Inner<I, Y, R, E>>,
    /// How the body ended, when nobody has seen it yet: a primed body that
    /// returned before its first yield, or the end of an iteration.
    outcome: Option<Outcome<R, E>>,
    /// Ties the generator to what its body borrows, and keeps it on its
    /// thread: a raw pointer makes it neither `Send` nor `Sync`.
    _borrows: PhantomData<(&'a (), *const ())>,
}

/// The handle a generator body yields through.
///
/// It lives on the generator's own stack for as long as the body runs; the
/// body gets `&Co` and may pass it to any function it calls, at any depth.
pub struct Co<I, Y, E = Infallible> {
    frame: Frame,
    yielder: *const GenYielder<I, Y, E>,
}

/// Creates generators with a name and a stack size.
///
/// ```
/// use corio::generator::{Builder, Generator};
///
/// let gen: Generator<(), i32> = Builder::new()
///     .name("deep")
///     .stack_size(4 << 20)
///     .build(|co, ()| {
///         co.yield_(1)?;
///         Ok(())
///     })
///     .expect("stack allocation");
/// assert_eq!(gen.collect::<Vec<i32>>(), [1]);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    name: Option<Box<str>>,
    stack_size: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder with no name and [`stack::DEFAULT_STACK_SIZE`].
    pub fn new() -> Self {
        Builder {
            name: None,
            stack_size: stack::DEFAULT_STACK_SIZE,
        }
    }

    /// Names the generator; the name appears in stack overflow reports.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Sets the usable stack size in bytes (rounded up to whole pages, at
    /// least [`stack::MIN_STACK_SIZE`]).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Creates a generator whose body starts at the first `send`.
    pub fn build<'a, I, Y, R, E, F>(self, body: F) -> Result<Generator<'a, I, Y, R, E>, StackError>
    where
        F: FnOnce(&Co<I, Y, E>, I) -> Result<R, Interrupt<E>> + 'a,
    {
        self.spawn(move |co, first| match first {
            Resume::Send(input) => body(co, input),
            // `Generator` settles throw and close on a fresh generator
            // without starting it, and only primed bodies start with `Start`.
            _ => unreachable!("a fresh generator is always started by send"),
        })
    }

    /// Creates a generator and runs its body to the first `yield_`, like
    /// Python's `@coroutine` decorator. See [`Generator::primed`].
    pub fn build_primed<'a, I, R, E, F>(
        self,
        body: F,
    ) -> Result<Generator<'a, I, (), R, E>, StackError>
    where
        F: FnOnce(&Co<I, (), E>) -> Result<R, Interrupt<E>> + 'a,
    {
        let mut gen = self.spawn(move |co, _start| body(co))?;
        match gen.resume(Resume::Start) {
            Ok(GeneratorState::Yielded(())) => {}
            Ok(GeneratorState::Complete(r)) => gen.outcome = Some(Ok(r)),
            Err(Error::Raised(e)) => gen.outcome = Some(Err(Interrupt::Thrown(e))),
            Err(_) => gen.outcome = Some(Err(Interrupt::Closed)),
        }
        Ok(gen)
    }

    fn spawn<'a, I, Y, R, E, F>(self, body: F) -> Result<Generator<'a, I, Y, R, E>, StackError>
    where
        F: FnOnce(&Co<I, Y, E>, Resume<I, E>) -> Result<R, Interrupt<E>> + 'a,
    {
        coro::ensure_handler();
        let stack = PooledStack::take(self.stack_size)?;
        let spec = FrameSpec::new(&stack, self.name);
        let wrapper = move |yielder: &GenYielder<I, Y, E>, first: Resume<I, E>| {
            let co = Co {
                frame: spec.into_frame(Park::Relay(
                    park_body::<I, Y, E>,
                    (yielder as *const GenYielder<I, Y, E>).cast(),
                )),
                yielder,
            };
            coro::set_current(&co.frame);
            body(&co, first)
        };
        // SAFETY: `with_stack_unchecked` drops the `'static` bounds of
        // `with_stack`. They are upheld by `Generator<'a, ..>` instead: the
        // body and the input, yield and return types may only borrow data
        // that outlives `'a`, and the generator cannot outlive `'a`. If the
        // generator is dropped, its coroutine is unwound (or finished) before
        // the borrows end; if it is leaked with `mem::forget`, its stack is
        // owned by the leaked value and never runs or gets reused again.
        let inner = unsafe { Coroutine::with_stack_unchecked(stack, wrapper) };
        Ok(Generator {
            inner: Some(inner),
            outcome: None,
            _borrows: PhantomData,
        })
    }
}

impl<'a, I, Y, R, E> Generator<'a, I, Y, R, E> {
    /// Creates a generator with the default stack size. The body does not
    /// run until the first [`send`](Self::send), whose value becomes its
    /// second argument.
    ///
    /// # Panics
    ///
    /// Panics if no stack can be mapped (see [`StackError`]); use
    /// [`Builder::build`] to handle that case.
    pub fn new<F>(body: F) -> Self
    where
        F: FnOnce(&Co<I, Y, E>, I) -> Result<R, Interrupt<E>> + 'a,
    {
        Builder::new().build(body).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Creates a builder, to set a name or stack size.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Resumes the body with `input`: the value becomes the result of the
    /// pending `yield_`, or, on the first call, the body's second argument.
    ///
    /// Returns the next yielded value, or the return value if the body
    /// finished.
    ///
    /// # Errors
    ///
    /// - [`Error::Raised`]: an error escaped the body;
    /// - [`Error::Closed`]: the body returned `Err(Interrupt::Closed)` on its
    ///   own (it passed on a close it received from elsewhere);
    /// - [`Error::Finished`]: the generator had already finished;
    /// - [`Error::Panicked`]: a panic escaped the body earlier.
    ///
    /// # Panics
    ///
    /// A panic in the body propagates out of `send`; the generator is then
    /// finished and later calls return [`Error::Panicked`].
    #[inline(always)]
    pub fn send(&mut self, input: I) -> Result<GeneratorState<Y, R>, Error<E>> {
        if matches!(&self.inner, Some(inner) if !inner.done()) {
            return self.resume(Resume::Send(input));
        }
        self.send_finished()
    }

    /// `send` to a generator whose coroutine is gone or dead.
    #[cold]
    fn send_finished(&mut self) -> Result<GeneratorState<Y, R>, Error<E>> {
        match self.state() {
            State::Fresh | State::Suspended => unreachable!("checked by send"),
            State::Done => match self.outcome.take() {
                // A primed body that finished before its first yield, or
                // the end an iteration already saw.
                Some(Ok(r)) => Ok(GeneratorState::Complete(r)),
                Some(Err(e)) => Err(e.into()),
                None => Err(Error::Finished),
            },
            State::Panicked => Err(Error::Panicked),
        }
    }

    /// Raises `error` at the pending `yield_` (it returns
    /// `Err(Interrupt::Thrown(error))` there). The body may handle it and
    /// yield again, or return; if it propagates the error, `throw` hands it
    /// back as [`Error::Raised`].
    ///
    /// A generator that has not started, or has finished, does not run: the
    /// error comes straight back as `Error::Raised(error)`, and a fresh
    /// generator is finished without running its body (as in Python).
    pub fn throw(&mut self, error: E) -> Result<GeneratorState<Y, R>, Error<E>> {
        match self.state() {
            State::Suspended => self.resume(Resume::Throw(error)),
            State::Panicked => Err(Error::Panicked),
            State::Fresh | State::Done => {
                self.finish();
                Err(Error::Raised(error))
            }
        }
    }

    /// Closes the generator: the pending `yield_` returns
    /// `Err(Interrupt::Closed)` (Python's `GeneratorExit`), and the body
    /// must finish, with or without cleanup.
    ///
    /// Returns `Ok(Some(r))` if the body returned `r` after the close,
    /// `Ok(None)` if it passed the close on (or had not started, or had
    /// already finished).
    ///
    /// # Errors
    ///
    /// - [`Error::IgnoredClose`]: the body yielded again instead of
    ///   finishing (Python's "generator ignored GeneratorExit"). corio then
    ///   unwinds the body's stack, running its destructors, so the generator
    ///   is finished either way.
    /// - [`Error::Raised`]: the body raised another error while closing.
    pub fn close(&mut self) -> Result<Option<R>, Error<E>> {
        match self.state() {
            State::Suspended => match self.resume(Resume::Close) {
                Ok(GeneratorState::Yielded(_)) => {
                    // Dropping a suspended corosensei coroutine unwinds it.
                    self.finish();
                    Err(Error::IgnoredClose)
                }
                Ok(GeneratorState::Complete(r)) => Ok(Some(r)),
                Err(Error::Closed) => Ok(None),
                Err(e) => Err(e),
            },
            State::Panicked => Ok(None),
            State::Fresh | State::Done => {
                self.finish();
                match self.outcome.take() {
                    Some(Ok(r)) => Ok(Some(r)),
                    Some(Err(Interrupt::Thrown(e))) => Err(Error::Raised(e)),
                    Some(Err(Interrupt::Closed)) | None => Ok(None),
                }
            }
        }
    }

    /// Whether the body has been started.
    pub fn is_started(&self) -> bool {
        self.state() != State::Fresh
    }

    /// Whether the body has finished (returned, raised, panicked or been
    /// closed). A finished generator can no longer yield.
    pub fn is_finished(&self) -> bool {
        matches!(self.state(), State::Done | State::Panicked)
    }

    /// Takes how the body ended when iteration consumed the end: its return
    /// value, or the error that escaped it. `None` if the generator is not
    /// finished, or the outcome was already handed out.
    ///
    /// ```
    /// use corio::generator::Generator;
    ///
    /// let mut gen = Generator::<(), i32, &str>::new(|co, ()| {
    ///     co.yield_(1)?;
    ///     Ok("done")
    /// });
    /// assert_eq!(gen.by_ref().collect::<Vec<_>>(), [1]);
    /// assert_eq!(gen.take_result().unwrap().unwrap(), "done");
    /// ```
    pub fn take_result(&mut self) -> Option<Result<R, Error<E>>> {
        if !self.is_finished() {
            return None;
        }
        self.outcome
            .take()
            .map(|outcome| outcome.map_err(Error::from))
    }

    fn state(&self) -> State {
        match &self.inner {
            None => State::Done,
            Some(inner) if inner.done() => State::Panicked,
            Some(inner) if !inner.started() => State::Fresh,
            Some(_) => State::Suspended,
        }
    }

    /// Drops the coroutine (unwinding it if suspended), which returns its
    /// stack to the pool.
    fn finish(&mut self) {
        // Unwinding a suspended body switches to its stack, which marks it
        // as the running frame; the caller's frame is current again after.
        let _restore = coro::Restore(coro::current());
        self.inner = None;
    }

    // Only the yield path is inline: parking and returning are out of line,
    // so that `send` inlines into its caller's loop.
    #[inline(always)]
    fn resume(&mut self, input: Resume<I, E>) -> Result<GeneratorState<Y, R>, Error<E>> {
        let Some(inner) = self.inner.as_mut() else {
            return Err(Error::Finished);
        };
        let result = match resume_inner(inner, input) {
            Suspended::Value(y) => CoroutineResult::Yield(y),
            Suspended::Park => park_until_settled(inner),
            Suspended::Return(outcome) => CoroutineResult::Return(outcome),
        };
        match result {
            CoroutineResult::Yield(y) => Ok(GeneratorState::Yielded(y)),
            CoroutineResult::Return(outcome) => self.complete(outcome),
        }
    }

    /// The body returned: drop the coroutine and hand out its outcome.
    #[inline(never)]
    fn complete(&mut self, outcome: Outcome<R, E>) -> Result<GeneratorState<Y, R>, Error<E>> {
        self.finish();
        match outcome {
            Ok(r) => Ok(GeneratorState::Complete(r)),
            Err(e) => Err(e.into()),
        }
    }
}

/// Resumes the coroutine; the caller's frame is current again afterwards.
#[inline(always)]
fn resume_inner<I, Y, R, E>(
    inner: &mut Inner<I, Y, R, E>,
    input: Resume<I, E>,
) -> Suspended<Y, R, E> {
    // The guard restores the caller's frame if a panic unwinds out of the
    // body; on the normal path it is restored below, after the park check.
    let restore = coro::Restore(coro::current());
    let result = inner.resume(input);
    let parked = coro::current() == coro::PARKED;
    drop(restore);
    match result {
        CoroutineResult::Yield(_) if parked => Suspended::Park,
        // SAFETY: the body suspended with a value: only `park_body` sets the
        // current frame to `PARKED` before suspending, and only `yield_`
        // suspends otherwise, with `MaybeUninit::new(value)` and its own
        // non-null frame current (it checks that just before).
        CoroutineResult::Yield(y) => Suspended::Value(unsafe { y.assume_init() }),
        CoroutineResult::Return(outcome) => Suspended::Return(outcome),
    }
}

/// The body waits for the runtime: park our own caller (up to the task),
/// then let the body continue, until it yields a value or returns.
#[cold]
#[inline(never)]
fn park_until_settled<I, Y, R, E>(
    inner: &mut Inner<I, Y, R, E>,
) -> CoroutineResult<Y, Outcome<R, E>> {
    loop {
        coro::suspend_current();
        match resume_inner(inner, Resume::Unpark) {
            Suspended::Park => {}
            Suspended::Value(y) => return CoroutineResult::Yield(y),
            Suspended::Return(outcome) => return CoroutineResult::Return(outcome),
        }
    }
}

impl<'a, I, R, E> Generator<'a, I, (), R, E> {
    /// Creates a generator and runs its body up to its first `yield_`, so
    /// that it is ready for `send`, like the seed's `@coroutine` decorator.
    /// The body takes no start value: every input arrives through `yield_`.
    ///
    /// If the body returns before it yields, the next `send` or `close`
    /// reports that outcome.
    ///
    /// ```
    /// use corio::generator::Generator;
    ///
    /// let mut seen = Vec::new();
    /// let mut sink = Generator::<&str, (), ()>::primed(|co| {
    ///     loop {
    ///         let line = co.yield_(())?;
    ///         seen.push(line.len());
    ///     }
    /// });
    /// sink.send("four").unwrap();
    /// sink.send("three").unwrap();
    /// sink.close().unwrap();
    /// drop(sink);
    /// assert_eq!(seen, [4, 5]);
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if no stack can be mapped (use [`Builder::build_primed`] to
    /// handle that), and propagates a panic of the body before its first
    /// yield.
    pub fn primed<F>(body: F) -> Self
    where
        F: FnOnce(&Co<I, (), E>) -> Result<R, Interrupt<E>> + 'a,
    {
        Builder::new()
            .build_primed(body)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Iterates over the yielded values; the end of iteration is the end of the
/// body. Its return value, or an error that escaped it, is kept for
/// [`Generator::take_result`].
impl<'a, Y, R, E> Iterator for Generator<'a, (), Y, R, E> {
    type Item = Y;

    fn next(&mut self) -> Option<Y> {
        match self.send(()) {
            Ok(GeneratorState::Yielded(y)) => Some(y),
            Ok(GeneratorState::Complete(r)) => {
                self.outcome = Some(Ok(r));
                None
            }
            Err(Error::Raised(e)) => {
                self.outcome = Some(Err(Interrupt::Thrown(e)));
                None
            }
            Err(Error::Closed) => {
                self.outcome = Some(Err(Interrupt::Closed));
                None
            }
            Err(_) => None,
        }
    }
}

// Nothing ever pins a generator's fields: the coroutine's state lives on its
// own stack, which does not move when the `Generator` value does.
impl<I, Y, R, E> Unpin for Generator<'_, I, Y, R, E> {}

impl<I, Y, R, E> Drop for Generator<'_, I, Y, R, E> {
    /// Dropping a suspended generator closes it, as Python's garbage
    /// collector does: the body sees `Interrupt::Closed` at its `yield_` and
    /// can clean up. If it yields again, or the thread is already panicking,
    /// its stack is unwound instead. Either way every destructor on the
    /// generator's stack runs. Errors raised while closing are discarded;
    /// call [`close`](Generator::close) first to see them.
    fn drop(&mut self) {
        if self.state() == State::Suspended && !std::thread::panicking() {
            let _ = self.close();
        }
        // A coroutine still suspended is unwound by corosensei's own drop.
        self.finish();
    }
}

impl<I, Y, R, E> fmt::Debug for Generator<'_, I, Y, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state() {
            State::Fresh => "fresh",
            State::Suspended => "suspended",
            State::Panicked => "panicked",
            State::Done => "finished",
        };
        f.debug_struct("Generator").field("state", &state).finish()
    }
}

impl<I, Y, E> Co<I, Y, E> {
    /// Suspends the body and hands `value` to the caller of `send`; returns
    /// the next value sent in.
    ///
    /// # Errors
    ///
    /// `Err(Interrupt::Thrown(e))` when the caller threw `e`, and
    /// `Err(Interrupt::Closed)` when it closed the generator (the body must
    /// then finish).
    ///
    /// # Panics
    ///
    /// Panics if this handle belongs to a generator other than the one
    /// running, i.e. it was captured by a nested generator's body. Use
    /// [`yield_from`](Self::yield_from) to pass values up through a nested
    /// generator.
    ///
    /// Panics, inside a runtime task, if called within a
    /// [`timeout`](crate::timeout), a [`block_on`](crate::block_on) or an
    /// [`Fd`](crate::io::Fd) I/O closure opened in this generator's body:
    /// those belong to the task running the generator, which may be
    /// another one (or none) when the generator resumes. A `timeout` around
    /// the code that drives the generator is fine.
    #[inline]
    pub fn yield_(&self, value: Y) -> Result<I, Interrupt<E>> {
        if !std::ptr::eq(coro::current(), &self.frame) {
            wrong_coroutine();
        }
        if self.frame.no_yield_scopes.get() != 0 {
            yield_in_no_yield_scope();
        }
        let resumed = {
            // Back on this stack, this frame is the running one again: on
            // return, and also when the suspend unwinds because the
            // generator is being dropped (its destructors then run here).
            let _running = coro::Restore(&self.frame);
            // SAFETY: `yielder` points to corosensei's yielder for this body,
            // which stays valid while the body runs, and `self` is borrowed
            // from inside the body. The check above ensures we are running
            // on this generator's stack, the only place where suspending it
            // is valid.
            unsafe { &*self.yielder }.suspend(MaybeUninit::new(value))
        };
        match resumed {
            Resume::Send(input) => Ok(input),
            Resume::Throw(e) => Err(Interrupt::Thrown(e)),
            Resume::Close => Err(Interrupt::Closed),
            Resume::Start | Resume::Unpark => {
                unreachable!("Start and Unpark never answer a yield")
            }
        }
    }

    /// Delegates to `sub` until it finishes, and returns its return value
    /// (Python's `yield from`, PEP 380).
    ///
    /// First `first` is sent to `sub` (Python sends `None`; use `()` for
    /// generators without input). From then on, every value `sub` yields is
    /// yielded from here, and what the caller sends, throws or closes goes
    /// to `sub`. An error that escapes `sub` is returned as
    /// `Err(Interrupt::Thrown(e))`; when the caller closes, `sub` is closed
    /// first and `Err(Interrupt::Closed)` is returned.
    ///
    /// # Panics
    ///
    /// Panics if `sub` has already finished (there is no return value to
    /// give), and propagates panics of `sub`.
    pub fn yield_from<R2>(
        &self,
        mut sub: Generator<'_, I, Y, R2, E>,
        first: I,
    ) -> Result<R2, Interrupt<E>> {
        let mut step = sub.send(first);
        loop {
            let yielded = match step {
                Ok(GeneratorState::Yielded(y)) => y,
                Ok(GeneratorState::Complete(r)) => return Ok(r),
                Err(Error::Raised(e)) => return Err(Interrupt::Thrown(e)),
                Err(Error::Closed) => return Err(Interrupt::Closed),
                Err(Error::Panicked) => panic!("yield_from: the sub-generator panicked earlier"),
                Err(_) => panic!("yield_from: the sub-generator had already finished"),
            };
            step = match self.yield_(yielded) {
                Ok(input) => sub.send(input),
                Err(Interrupt::Thrown(e)) => sub.throw(e),
                Err(Interrupt::Closed) => {
                    return match sub.close() {
                        Err(Error::Raised(e)) => Err(Interrupt::Thrown(e)),
                        _ => Err(Interrupt::Closed),
                    };
                }
            };
        }
    }

    /// The name given to this generator by its [`Builder`], if any.
    pub fn name(&self) -> Option<&str> {
        self.frame.name.as_deref()
    }

    /// Usable bytes of this generator's stack.
    pub fn stack_size(&self) -> usize {
        self.frame.stack_size
    }
}

/// A generator body's park (`Park::Relay`): suspends the body marked as a
/// park (see [`Out`]); `Generator::resume` then parks its own caller and
/// answers `Unpark`.
///
/// # Safety
///
/// `ctx` must be the yielder of the generator body running on this thread.
unsafe fn park_body<I, Y, E>(ctx: *const ()) {
    // SAFETY: the caller passes the running body's own yielder, which lives
    // on its stack for as long as the body runs.
    let yielder = unsafe { &*ctx.cast::<GenYielder<I, Y, E>>() };
    let frame = coro::current();
    let resumed = {
        let _running = coro::Restore(frame);
        // Marks this suspend as a park for `resume_inner`, which reads the
        // current frame right after the switch and restores its own.
        coro::set_current(coro::PARKED);
        // Zeroed, not uninitialised: corosensei moves the value through an
        // integer register when it fits, and `resume_inner` never reads it.
        yielder.suspend(MaybeUninit::zeroed())
    };
    debug_assert!(matches!(resumed, Resume::Unpark));
}

#[cold]
#[inline(never)]
fn yield_in_no_yield_scope() -> ! {
    panic!(
        "corio: a generator yielded inside a `timeout`, `block_on` or I/O closure opened in its \
         body; those hold on to the task running the generator, which may be another one (or \
         none) when it resumes: finish them before yielding"
    )
}

#[cold]
#[inline(never)]
fn wrong_coroutine() -> ! {
    panic!(
        "corio: yield_ on the handle of a generator that is not the one running; \
         a nested generator must yield through its own handle (use yield_from to delegate)"
    )
}

impl<I, Y, E> fmt::Debug for Co<I, Y, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Co")
            .field("name", &self.name())
            .field("stack_size", &self.frame.stack_size)
            .finish()
    }
}
