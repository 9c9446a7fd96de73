//! The child's side of a process stage: [`ChildPipeline`], the
//! [`child_pipeline!`](crate::child_pipeline) macro that registers one, and
//! the source that feeds it (the seed's `recvfrom`).

use std::fmt;
use std::io::Write;
use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::DeserializeOwned;

use super::wire::{self, FromChild, Outcome, ToChild, WireError};
use crate::net::UnixStream;
use crate::pipe::{Error, Sink};
use crate::procpool::wire::{self as frames, Decoder};

/// A pipeline that a child process can run: the entry point of a
/// [`ToProcess`](super::ToProcess) stage's child, which takes items `T`
/// and whose target is built from arguments `A`. Declared with
/// [`child_pipeline!`](crate::child_pipeline), which binds it to a
/// function that builds the target and registers it under the path of its
/// `static`; the child, the same binary started again, finds it there.
pub struct ChildPipeline<T, A = ()> {
    name: &'static str,
    _types: PhantomData<fn(A, T)>,
}

impl<T, A> ChildPipeline<T, A> {
    #[doc(hidden)]
    pub const fn __declare(name: &'static str) -> ChildPipeline<T, A> {
        ChildPipeline {
            name,
            _types: PhantomData,
        }
    }

    /// The name it is registered under (the path of its `static`).
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<T, A> fmt::Debug for ChildPipeline<T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChildPipeline").field(&self.name).finish()
    }
}

/// Declares a [`ChildPipeline`](crate::pipe::ChildPipeline): a `static`
/// naming the pipeline that a [`to_process`](crate::pipe::to_process)
/// stage runs in its child process, bound to the function that builds the
/// pipeline's target there. The items `T` must be `DeserializeOwned` (the
/// stage sends them `Serialize`d).
///
/// `ChildPipeline<T>` takes a `fn() -> S`; `ChildPipeline<T, A>` takes a
/// `fn(A) -> S`, where `A: DeserializeOwned` is sent by the stage when it
/// starts the child. `S` is any [`Sink<T>`](crate::pipe::Sink).
///
/// ```
/// use corio::pipe::{self, Sink};
///
/// fn printer() -> impl Sink<String> {
///     pipe::sink_fn(|line: String| {
///         println!("{line}");
///         Ok(())
///     })
/// }
/// corio::child_pipeline!(static PRINTER: ChildPipeline<String> = printer);
///
/// /// Lines that contain the pattern, counted.
/// fn counter(pattern: String) -> impl Sink<String> {
///     let mut n = 0;
///     pipe::sink_fn(move |line: String| {
///         n += usize::from(line.contains(&pattern));
///         Ok(())
///     })
/// }
/// corio::child_pipeline!(pub static COUNTER: ChildPipeline<String, String> = counter);
///
/// assert!(PRINTER.name().ends_with("::PRINTER"));
/// ```
#[macro_export]
macro_rules! child_pipeline {
    ($(#[$attr:meta])* $vis:vis static $name:ident: ChildPipeline<$item:ty> = $func:path $(;)?) => {
        $(#[$attr])*
        $vis static $name: $crate::pipe::ChildPipeline<$item, ()> =
            $crate::pipe::ChildPipeline::__declare(concat!(module_path!(), "::", stringify!($name)));

        $crate::procpool::__inventory::submit! {
            $crate::procpool::ChildEntry::__new(
                concat!(module_path!(), "::", stringify!($name)),
                |socket: ::std::os::fd::OwnedFd| {
                    $crate::pipe::__serve_child::<$item, (), _, _>(socket, |()| $func())
                },
            )
        }
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: ChildPipeline<$item:ty, $args:ty> = $func:path $(;)?) => {
        $(#[$attr])*
        $vis static $name: $crate::pipe::ChildPipeline<$item, $args> =
            $crate::pipe::ChildPipeline::__declare(concat!(module_path!(), "::", stringify!($name)));

        $crate::procpool::__inventory::submit! {
            $crate::procpool::ChildEntry::__new(
                concat!(module_path!(), "::", stringify!($name)),
                |socket: ::std::os::fd::OwnedFd| {
                    $crate::pipe::__serve_child::<$item, $args, _, _>(socket, $func)
                },
            )
        }
    };
}

/// The child's main: serves the stage on `socket` with the target that
/// `make_target` builds, and returns the exit code (0 when the pipeline
/// ended cleanly). Runs a corio runtime, so that the target may do I/O,
/// sleep and spawn tasks.
#[doc(hidden)]
pub fn __serve_child<T, A, S, F>(socket: OwnedFd, make_target: F) -> i32
where
    T: DeserializeOwned,
    A: DeserializeOwned,
    S: Sink<T>,
    F: FnOnce(A) -> S,
{
    let pid = std::process::id();
    crate::rt::run(move || {
        let stream = match UnixStream::from_std(socket.into()) {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("corio: child process {pid}: {e}");
                return 1;
            }
        };
        // If the stage is gone, the first read finds out.
        report(&stream, &FromChild::Hello { pid });
        let mut decoder = Decoder::default();
        let args = match read_args::<A>(&stream, &mut decoder) {
            Ok(Some(args)) => args,
            // The stage went away before it sent them.
            Ok(None) => return 1,
            Err(e) => {
                report_end(&stream, Outcome::Raised(WireError::from_error(&e)));
                return 1;
            }
        };
        let ran = catch_unwind(AssertUnwindSafe(|| {
            receive(make_target(args), &stream, &mut decoder)
        }));
        let outcome = match ran {
            Ok(Ok(())) => Outcome::Done,
            Ok(Err(e)) => Outcome::Raised(WireError::from_error(&e)),
            Err(payload) => Outcome::Panicked(panic_message(&*payload)),
        };
        let code = i32::from(!matches!(outcome, Outcome::Done));
        report_end(&stream, outcome);
        code
    })
}

/// Sends `msg` to the stage. A stage that has gone away is not an error
/// here: the child finds out when it reads.
fn report(stream: &UnixStream, msg: &FromChild) -> bool {
    let mut frame = Vec::new();
    frames::encode(msg, &mut frame);
    (&*stream).write_all(&frame).is_ok()
}

/// Sends how the pipeline ended; says it on standard error when the stage
/// cannot hear it.
fn report_end(stream: &UnixStream, outcome: Outcome) {
    let said = match &outcome {
        Outcome::Done => None,
        Outcome::Raised(e) => Some(format!("{}", e.clone().into_remote())),
        Outcome::Panicked(msg) => Some(format!("panicked: {msg}")),
    };
    if !report(stream, &FromChild::Ended(outcome)) {
        if let Some(said) = said {
            eprintln!("corio: child process {}: {said}", std::process::id());
        }
    }
}

/// Reads the next frame's bytes; `None` at the end of the stream. The
/// frame stays in `decoder` until it is consumed.
fn next_frame<'d>(
    stream: &UnixStream,
    decoder: &'d mut Decoder,
) -> Result<Option<&'d [u8]>, Error> {
    if !wire::fill(decoder, stream)? {
        return Ok(None);
    }
    Ok(decoder.next_frame()?)
}

/// The first frame: the arguments of the target's builder.
fn read_args<A: DeserializeOwned>(
    stream: &UnixStream,
    decoder: &mut Decoder,
) -> Result<Option<A>, Error> {
    let Some(body) = next_frame(stream, decoder)? else {
        return Ok(None);
    };
    let args = match postcard::take_from_bytes::<ToChild>(body) {
        Ok((ToChild::Args, rest)) => postcard::from_bytes(rest).map_err(|e| {
            bad_data(format!(
                "the arguments did not deserialize as {}: {e}",
                std::any::type_name::<A>()
            ))
        })?,
        Ok((other, _)) => return Err(bad_data(format!("{other:?} came before the arguments"))),
        Err(e) => return Err(bad_data(e.to_string())),
    };
    decoder.consume();
    Ok(Some(args))
}

/// The seed's `recvfrom`: sends each item that arrives into `target`,
/// raises each error thrown in, and closes it at the end of the stream.
/// Stops early, closing the target, when the target finishes.
fn receive<T: DeserializeOwned, S: Sink<T>>(
    mut target: S,
    stream: &UnixStream,
    decoder: &mut Decoder,
) -> Result<(), Error> {
    while let Some(body) = next_frame(stream, decoder)? {
        let (header, mut items) =
            postcard::take_from_bytes::<ToChild>(body).map_err(|e| bad_data(e.to_string()))?;
        match header {
            ToChild::Items => {
                while !items.is_empty() {
                    let (item, rest) = postcard::take_from_bytes::<T>(items).map_err(|e| {
                        bad_data(format!(
                            "an item did not deserialize as {}: {e}",
                            std::any::type_name::<T>()
                        ))
                    })?;
                    items = rest;
                    target.send(item)?;
                    if target.is_finished() {
                        return target.close();
                    }
                }
            }
            ToChild::Throw(error) => {
                let thrown = error.into_remote();
                let answer = match target.throw(Error::new(thrown.clone())) {
                    Ok(()) => Ok(()),
                    Err(e) if e.downcast_ref::<super::RemoteError>() == Some(&thrown) => Err(None),
                    Err(e) => Err(Some(WireError::from_error(&e))),
                };
                report(stream, &FromChild::Answer(answer));
                if target.is_finished() {
                    return target.close();
                }
            }
            ToChild::Args => return Err(bad_data("a second Args frame".to_owned())),
        }
        decoder.consume();
    }
    target.close()
}

fn bad_data(what: String) -> Error {
    Error::from(wire::invalid(what))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}
