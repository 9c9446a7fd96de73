//! The [`Sink`] trait, its impls for references, boxes and `Vec`, and
//! [`sink_fn`].

use super::{Error, StageResult};
use crate::generator::Interrupt;

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
