//! [`ChildError`] and [`RemoteError`]: errors that cross a process
//! boundary.

use std::fmt;
use std::io;

use nix::sys::signal::Signal;

/// An error raised in another process, as it arrives here: its message
/// and, if it was an I/O error, its kind (so that
/// [`Error::io_kind`](crate::pipe::Error::io_kind) still sees a closed
/// standard output). It is what a child's target sees when the stage
/// [throws](crate::pipe::Sink::throw) an error into it, and what a
/// [`ChildError::Raised`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteError {
    message: String,
    io_kind: Option<io::ErrorKind>,
}

impl RemoteError {
    pub(super) fn new(message: String, io_kind: Option<io::ErrorKind>) -> RemoteError {
        RemoteError { message, io_kind }
    }

    /// The error's message (its `Display` in the other process).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The I/O error kind, if the error was (or wrapped) an I/O error.
    /// Kinds that `std` has not stabilised cross as
    /// [`Other`](io::ErrorKind::Other).
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        self.io_kind
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RemoteError {}

/// Why the pipeline in a [`ToProcess`](super::ToProcess) stage's child
/// process did not end cleanly, as the error that comes back to the stage
/// (wrapped in a [`pipe::Error`](crate::pipe::Error); recover it with
/// `downcast_ref::<ChildError>()`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildError {
    /// The child's target raised an error (or an item did not
    /// deserialize there).
    Raised {
        /// The child's process id.
        pid: u32,
        /// The error.
        error: RemoteError,
    },
    /// The child's pipeline panicked; the panic's message.
    Panicked {
        /// The child's process id.
        pid: u32,
        /// The panic's message.
        message: String,
    },
    /// The child exited or was killed before its pipeline ended.
    Died {
        /// The child's process id.
        pid: u32,
        /// The signal that killed it, if one did.
        signal: Option<i32>,
        /// Its exit code, if it exited.
        code: Option<i32>,
    },
    /// The child exited without ever running its pipeline: most often the
    /// binary's `main` does not call [`procpool::init`](crate::procpool::init)
    /// first thing (a test binary lacks
    /// [`procpool_test_worker!`](crate::procpool_test_worker)). A child
    /// killed by a signal before it started is [`Died`](ChildError::Died).
    NotStarted {
        /// The child's process id.
        pid: u32,
        /// The signal that killed it, if one did.
        signal: Option<i32>,
        /// Its exit code, if it exited.
        code: Option<i32>,
    },
}

impl ChildError {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        match self {
            ChildError::Raised { pid, .. }
            | ChildError::Panicked { pid, .. }
            | ChildError::Died { pid, .. }
            | ChildError::NotStarted { pid, .. } => *pid,
        }
    }

    /// The I/O error kind of an error the child's target raised, if it
    /// was one.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            ChildError::Raised { error, .. } => error.io_kind(),
            _ => None,
        }
    }
}

/// ` (killed by SIGKILL)`, ` (exit code 3)`, or nothing.
fn how(f: &mut fmt::Formatter<'_>, signal: Option<i32>, code: Option<i32>) -> fmt::Result {
    match (signal, code) {
        (Some(sig), _) => match Signal::try_from(sig) {
            Ok(name) => write!(f, " (killed by {name})"),
            Err(_) => write!(f, " (killed by signal {sig})"),
        },
        (None, Some(code)) => write!(f, " (exit code {code})"),
        (None, None) => Ok(()),
    }
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Raised { pid, error } => write!(f, "child process {pid}: {error}"),
            ChildError::Panicked { pid, message } => {
                write!(f, "child process {pid} panicked: {message}")
            }
            ChildError::Died { pid, signal, code } => {
                write!(f, "child process {pid} died before its pipeline ended")?;
                how(f, *signal, *code)
            }
            ChildError::NotStarted { pid, signal, code } => {
                write!(
                    f,
                    "child process {pid} ended before it started its pipeline"
                )?;
                how(f, *signal, *code)?;
                f.write_str(
                    "; a binary using pipe::to_process must call corio::procpool::init() \
                     first thing in main (a test binary: corio::procpool_test_worker!())",
                )
            }
        }
    }
}

impl std::error::Error for ChildError {}
