//! `core::ops::Coroutine` for `Generator` (feature `nightly`).

use core::ops::{Coroutine, CoroutineState};
use core::pin::Pin;

use super::{Error, Generator, GeneratorState};

/// Lets generic code drive a corio generator like a compiler-built
/// stackless coroutine. Every outcome of [`Generator::send`] maps onto
/// `CoroutineState`: a yield stays a yield; a return, an escaped error, or
/// resuming a finished generator completes with `Ok(r)` or `Err(error)`, so
/// nothing panics and nothing is lost.
impl<I, Y, R, E> Coroutine<I> for Generator<'_, I, Y, R, E> {
    type Yield = Y;
    type Return = Result<R, Error<E>>;

    fn resume(self: Pin<&mut Self>, arg: I) -> CoroutineState<Y, Self::Return> {
        // `Generator` is `Unpin`: its coroutine state lives on its own stack.
        match self.get_mut().send(arg) {
            Ok(GeneratorState::Yielded(y)) => CoroutineState::Yielded(y),
            Ok(GeneratorState::Complete(r)) => CoroutineState::Complete(Ok(r)),
            Err(e) => CoroutineState::Complete(Err(e)),
        }
    }
}
