//! [`Co`], the handle a generator body yields through.

use std::cell::Cell;
use std::convert::Infallible;
use std::fmt;
use std::mem::MaybeUninit;

use super::{Error, GenYielder, Generator, GeneratorState, Interrupt, Outcome, Resume};
use crate::coro::{self, Frame};

/// The handle a generator body yields through.
///
/// It lives on the generator's own stack for as long as the body runs; the
/// body gets `&Co` and may pass it to any function it calls, at any depth.
pub struct Co<I, Y, E = Infallible> {
    pub(super) frame: Frame,
    pub(super) yielder: *const GenYielder<I, Y, E>,
    /// A generator this body delegated to through `yield_from` ignored the
    /// close passed down to it; the close of this generator reports it.
    pub(super) sub_ignored_close: Cell<bool>,
    /// Whether the thread was already panicking when the body was last
    /// resumed (started, or back from a yield): its caller drives it from a
    /// destructor during an unwind. The body may then yield back while
    /// `std::thread::panicking()` holds; otherwise that means a panic is
    /// unwinding the body itself, and `yield_` refuses to switch.
    pub(super) resumed_panicking: Cell<bool>,
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
    /// `Err(Interrupt::Closed)` also, at once and without suspending, when
    /// a panic is unwinding the body's stack: a destructor that yields
    /// (Python's `finally: yield`), in a panic of the body or while a
    /// dropped generator's stack is unwound. Switching away mid-unwind would
    /// carry the panic, still in flight, off to the caller (whose thread
    /// would then count as panicking: its task could never park again, and
    /// dropping the generator would abort the process). Instead `value` is
    /// dropped, a `corio:` message goes to standard error, and the unwind
    /// goes on to the caller of `send` (or to the drop) as if the yield had
    /// not been there. A yield is allowed when the thread was already
    /// panicking as the body was resumed (a destructor of the caller's
    /// drives the generator during its own unwind); a body panicking again
    /// inside such a resume is not told apart and may still yield.
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
    // Always inlined into the body: a call around the stack switch would
    // end in a return that crosses the switch, which the CPU mispredicts
    // (that costs more than the rest of a round trip).
    #[inline(always)]
    pub fn yield_(&self, value: Y) -> Result<I, Interrupt<E>> {
        if !std::ptr::eq(coro::current(), &self.frame) {
            wrong_coroutine();
        }
        if self.frame.no_yield_scopes.get() != 0 {
            yield_in_no_yield_scope();
        }
        if std::thread::panicking() && !self.resumed_panicking.get() {
            return Err(yield_while_unwinding());
        }
        let unwound = Unwound(self);
        // SAFETY: `yielder` points to corosensei's yielder for this body,
        // which stays valid while the body runs, and `self` is borrowed
        // from inside the body. The check above ensures we are running on
        // this generator's stack, the only place where suspending it is
        // valid.
        let resumed = unsafe { &*self.yielder }.suspend(MaybeUninit::new(value));
        // Back on this stack by a resume, not by the unwind of a drop.
        std::mem::forget(unwound);
        coro::set_current(&self.frame);
        self.resumed_panicking.set(std::thread::panicking());
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
    /// If `sub` ignores that close (it yields again; its stack is then
    /// unwound), `Err(Interrupt::Closed)` is returned all the same, and the
    /// close of this generator reports [`Error::IgnoredClose`] however the
    /// body then finishes, unless it raises an error of its own, which is
    /// reported instead. This is Python's `RuntimeError("generator ignored
    /// GeneratorExit")` raised at the `yield from`: handling the close (as
    /// `except GeneratorExit` does) does not hide it, and it reaches the
    /// outermost `close` through any number of delegating generators.
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
                Err(Error::IgnoredClose) => return Err(self.ignored_close()),
                Err(Error::Panicked) => panic!("yield_from: the sub-generator panicked earlier"),
                Err(_) => panic!("yield_from: the sub-generator had already finished"),
            };
            step = match self.yield_(yielded) {
                Ok(input) => sub.send(input),
                Err(Interrupt::Thrown(e)) => sub.throw(e),
                Err(Interrupt::Closed) => {
                    return match sub.close() {
                        Err(Error::Raised(e)) => Err(Interrupt::Thrown(e)),
                        Err(Error::IgnoredClose) => Err(self.ignored_close()),
                        _ => Err(Interrupt::Closed),
                    };
                }
            };
        }
    }

    /// A sub-generator ignored the close passed down to it: remember it for
    /// this generator's own close, and pass the close on.
    #[cold]
    fn ignored_close(&self) -> Interrupt<E> {
        self.sub_ignored_close.set(true);
        Interrupt::Closed
    }

    /// How a body that delegated to a generator which ignored a close ended
    /// for the caller: an error it raised, or else the ignored close (its
    /// return value, if it returned one, is dropped).
    #[cold]
    #[inline(never)]
    pub(super) fn ignored_close_below<R>(&self, outcome: Result<R, Interrupt<E>>) -> Outcome<R, E> {
        match outcome {
            Err(Interrupt::Thrown(e)) => Err(Error::Raised(e)),
            Ok(_) | Err(Interrupt::Closed) => Err(Error::IgnoredClose),
        }
    }

    /// The name given to this generator by its
    /// [`Builder`](super::Builder), if any.
    pub fn name(&self) -> Option<&str> {
        self.frame.name.as_deref()
    }

    /// Usable bytes of this generator's stack.
    pub fn stack_size(&self) -> usize {
        self.frame.stack_size
    }
}

/// A generator body's park (`Park::Relay`): suspends the body marked as a
/// park (see [`Out`](super::Out)); `Generator::resume` then parks its own
/// caller and answers `Unpark`.
///
/// # Safety
///
/// `ctx` must be the yielder of the generator body running on this thread.
pub(super) unsafe fn park_body<I, Y, E>(ctx: *const ()) {
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

/// Runs only when a suspend in `yield_` unwinds, because the generator is
/// being dropped: its destructors run next, on this stack, so this frame is
/// the running one again, and a yield in one of them is made during an
/// unwind of the body's own (see `resumed_panicking`).
struct Unwound<'c, I, Y, E>(&'c Co<I, Y, E>);

impl<I, Y, E> Drop for Unwound<'_, I, Y, E> {
    fn drop(&mut self) {
        coro::set_current(&self.0.frame);
        self.0.resumed_panicking.set(false);
    }
}

/// `yield_` while a panic unwinds the body: refused (see its docs).
#[cold]
#[inline(never)]
fn yield_while_unwinding<E>() -> Interrupt<E> {
    eprintln!(
        "corio: a generator body yielded while a panic was unwinding its stack (a destructor \
         that yields, like Python's `finally: yield`); the yield is refused: it returns \
         Err(Interrupt::Closed) without suspending, its value is dropped, and the unwind goes on"
    );
    Interrupt::Closed
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
