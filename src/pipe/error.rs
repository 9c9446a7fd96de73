//! The error that travels through a pipeline.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ChildError, RemoteError};
use crate::generator;

/// An error raised in a pipeline: by a source (a file that cannot be read,
/// malformed XML), by a stage, or thrown in by the caller.
///
/// It is cheap to clone (one reference count), because
/// [`broadcast`](super::broadcast) throws the same error into every target,
/// as Python throws the same exception object. Any `std::error::Error` can
/// be wrapped with [`Error::new`] and recovered with
/// [`downcast_ref`](Error::downcast_ref).
#[derive(Clone)]
pub struct Error(Arc<dyn StdError + Send + Sync + 'static>);

impl Error {
    /// Wraps any error.
    pub fn new<E: StdError + Send + Sync + 'static>(error: E) -> Self {
        Error(Arc::new(error))
    }

    /// An error that is just a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error::new(Message(message.to_string()))
    }

    /// An I/O error on the file at `path`; its message names the file.
    pub fn file(path: impl AsRef<Path>, error: io::Error) -> Self {
        Error::new(FileError {
            path: path.as_ref().to_path_buf(),
            line: None,
            source: error,
        })
    }

    /// The wrapped error, if it has type `E`.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }

    /// The I/O error kind, if this is (or wraps) an I/O error. Lets a program
    /// tell a closed output (`BrokenPipe`) from a real failure.
    /// An I/O error raised in a child process (a [`ChildError`] or a
    /// [`RemoteError`]) keeps its kind.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        if let Some(e) = self.downcast_ref::<io::Error>() {
            return Some(e.kind());
        }
        if let Some(e) = self.downcast_ref::<ChildError>() {
            return e.io_kind();
        }
        if let Some(e) = self.downcast_ref::<RemoteError>() {
            return e.io_kind();
        }
        self.downcast_ref::<FileError>().map(|e| e.source.kind())
    }

    /// The stage error, if a stage could not take the item (see
    /// [`StageError`]).
    pub fn stage_error(&self) -> Option<StageError> {
        self.downcast_ref::<StageError>().copied()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Error::new(error)
    }
}

impl From<generator::Error<Error>> for Error {
    /// What went wrong in a stage's generator, as a pipeline error: an error
    /// the body raised comes back as it was; the other cases become a
    /// [`StageError`].
    fn from(error: generator::Error<Error>) -> Self {
        match error {
            generator::Error::Raised(e) => e,
            generator::Error::Closed => Error::new(StageError::Closed),
            generator::Error::Panicked => Error::new(StageError::Panicked),
            generator::Error::IgnoredClose => Error::new(StageError::IgnoredClose),
            _ => Error::new(StageError::Finished),
        }
    }
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Message {}

/// An I/O error on a named file, with the line where it happened if known
/// (for example a line that is not UTF-8).
#[derive(Debug)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line, when the error concerns one line.
    pub line: Option<u64>,
    /// What went wrong.
    pub source: io::Error,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.source),
            None => write!(f, "{}: {}", self.path.display(), self.source),
        }
    }
}

impl StdError for FileError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

/// Why a stage could not take an item, other than an error of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StageError {
    /// The stage had already finished (its body returned, or it was closed).
    Finished,
    /// The stage's body passed on a close that it was not sent.
    Closed,
    /// A panic escaped the stage earlier.
    Panicked,
    /// The stage yielded again after being closed.
    IgnoredClose,
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StageError::Finished => "pipeline stage has already finished",
            StageError::Closed => "pipeline stage exited with a close it was not sent",
            StageError::Panicked => "pipeline stage was finished by a panic",
            StageError::IgnoredClose => "pipeline stage ignored close",
        })
    }
}

impl StdError for StageError {}

impl From<io::Error> for generator::Interrupt<Error> {
    /// Lets a stage body use `?` on I/O results (a printer's writes): the
    /// I/O error is raised as a pipeline error.
    fn from(error: io::Error) -> Self {
        generator::Interrupt::Thrown(Error::from(error))
    }
}
