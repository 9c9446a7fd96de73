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

mod builder;
mod co;
mod error;
#[cfg(feature = "nightly")]
mod nightly;
mod resume;

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use corosensei::{Coroutine, Yielder};

pub use builder::Builder;
pub use co::Co;
pub use error::{Error, Interrupt};

use crate::coro;
use crate::stack::{PooledStack, StackError};

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

/// How a body ended, as the caller will see it: its return value, or the
/// error it raised (`Raised`), passed on (`Closed`), or the close a
/// sub-generator ignored below a `yield_from` (`IgnoredClose`).
type Outcome<R, E> = Result<R, Error<E>>;
type Inner<I, Y, R, E> = Coroutine<Resume<I, E>, Out<Y>, Outcome<R, E>, PooledStack>;
type GenYielder<I, Y, E> = Yielder<Resume<I, E>, Out<Y>>;

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

impl<'a, I, Y, R, E> Generator<'a, I, Y, R, E> {
    /// Creates a generator with the default stack size. The body does not
    /// run until the first [`send`](Self::send), whose value becomes its
    /// second argument.
    ///
    /// # Panics
    ///
    /// Panics if no stack can be mapped (see [`StackError`]); use
    /// [`Builder::build`] to handle that case. The panic names the caller's
    /// line.
    #[inline]
    #[track_caller]
    pub fn new<F>(body: F) -> Self
    where
        F: FnOnce(&Co<I, Y, E>, I) -> Result<R, Interrupt<E>> + 'a,
    {
        match Builder::new().build(body) {
            Ok(gen) => gen,
            Err(e) => no_stack("Generator::new", e),
        }
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
                Some(Err(e)) => Err(e),
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
    /// A generator that has not started, or has finished (returned, raised,
    /// was closed, or was finished by a panic), does not run: the error
    /// comes straight back as `Error::Raised(error)`, as Python re-raises
    /// an exception thrown into a finished generator, so that the value is
    /// never lost. A fresh generator is finished without running its body
    /// (as in Python). [`send`](Self::send) is what tells a panicked
    /// generator apart: it returns [`Error::Panicked`].
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), and `Error::Raised(error)` when the
    /// generator is not suspended.
    pub fn throw(&mut self, error: E) -> Result<GeneratorState<Y, R>, Error<E>> {
        match self.state() {
            State::Suspended => self.resume(Resume::Throw(error)),
            State::Panicked => Err(Error::Raised(error)),
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
    ///   is finished either way. Also when a generator the body delegates
    ///   to through [`Co::yield_from`] ignored the close, at any depth of
    ///   delegation, and the body then finished without raising an error
    ///   (see there).
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
                    Some(Err(Error::Closed)) | None => Ok(None),
                    Some(Err(e)) => Err(e),
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
        self.outcome.take()
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
    /// handle that; the panic names the caller's line), and propagates a
    /// panic of the body before its first yield.
    #[track_caller]
    pub fn primed<F>(body: F) -> Self
    where
        F: FnOnce(&Co<I, (), E>) -> Result<R, Interrupt<E>> + 'a,
    {
        match Builder::new().build_primed(body) {
            Ok(gen) => gen,
            Err(e) => no_stack("Generator::primed", e),
        }
    }
}

/// No stack could be mapped for a new generator: panics at the caller of
/// `new` or `primed`. Out of line, so that `new` stays small, and not in a
/// closure, which `#[track_caller]` does not reach into.
#[cold]
#[inline(never)]
#[track_caller]
fn no_stack(call: &str, error: StackError) -> ! {
    panic!("corio: {call}: {error}")
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
            Err(e @ (Error::Raised(_) | Error::Closed | Error::IgnoredClose)) => {
                self.outcome = Some(Err(e));
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
