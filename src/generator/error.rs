//! What can interrupt a body, and what can go wrong for the caller.

use std::fmt;

/// What a suspended body receives instead of a value: the result of
/// `Co::yield_` is `Err(Interrupt)` when the caller throws or closes.
///
/// A body also returns `Err(Interrupt::Thrown(e))` to raise an error of its
/// own (`Err(e)?` converts through `From`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interrupt<E> {
    /// The caller threw this error in with [`Generator::throw`](super::Generator::throw).
    Thrown(E),
    /// The caller closed the generator (Python's `GeneratorExit`): the body
    /// must finish; it may clean up first.
    Closed,
}

impl<E> From<E> for Interrupt<E> {
    fn from(error: E) -> Self {
        Interrupt::Thrown(error)
    }
}

/// Why a `send`, `throw` or `close` did not produce a value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error<E> {
    /// An error escaped the body: it raised it, or did not handle one
    /// thrown in. The error is handed back.
    Raised(E),
    /// The body returned `Err(Interrupt::Closed)` without being closed (it
    /// passed on a close it received from elsewhere).
    Closed,
    /// The generator had already finished.
    Finished,
    /// A panic escaped the body earlier; the generator is finished.
    Panicked,
    /// The body yielded after `close` instead of finishing (Python's
    /// "generator ignored GeneratorExit"). Its stack has been unwound.
    IgnoredClose,
}

impl<E> From<Interrupt<E>> for Error<E> {
    fn from(interrupt: Interrupt<E>) -> Self {
        match interrupt {
            Interrupt::Thrown(e) => Error::Raised(e),
            Interrupt::Closed => Error::Closed,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Raised(e) => f.debug_tuple("Raised").field(e).finish(),
            Error::Closed => f.write_str("Closed"),
            Error::Finished => f.write_str("Finished"),
            Error::Panicked => f.write_str("Panicked"),
            Error::IgnoredClose => f.write_str("IgnoredClose"),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Raised(e) => write!(f, "generator raised: {e}"),
            Error::Closed => f.write_str("generator exited with a close signal it was not sent"),
            Error::Finished => f.write_str("generator already finished"),
            Error::Panicked => f.write_str("generator finished by a panic"),
            Error::IgnoredClose => f.write_str("generator ignored close (yielded after close)"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for Error<E> {}
