//! Switching into a generator's body and back: the hot path of `send`,
//! and the relay of a park out to the caller's task.

use corosensei::CoroutineResult;

use super::{Error, Generator, GeneratorState, Inner, Outcome, Resume};
use crate::coro;

/// How a resumed body suspended.
enum Suspended<Y, R, E> {
    /// It yielded this value.
    Value(Y),
    /// It parked (the current frame was null; see [`Out`](super::Out)): the
    /// caller must park its own task, then resume the body with
    /// `Resume::Unpark`.
    Park,
    /// It returned (or raised).
    Return(Outcome<R, E>),
}

impl<I, Y, R, E> Generator<'_, I, Y, R, E> {
    // Only the yield path is inline: parking and returning are out of line,
    // so that `send` inlines into its caller's loop.
    #[inline(always)]
    pub(super) fn resume(&mut self, input: Resume<I, E>) -> Result<GeneratorState<Y, R>, Error<E>> {
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
        outcome.map(GeneratorState::Complete)
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
