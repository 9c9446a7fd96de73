//! [`JobError`]: why a submitted job gave no result.

use std::fmt;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::wire::Failure;

/// Why a job gave no result. Every failure fails only its own job: the
/// pool and its other jobs go on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobError {
    /// The job panicked in its worker; the panic message.
    Panicked(String),
    /// The worker process running the job died (killed by a signal, or
    /// exited); it has been replaced.
    WorkerDied {
        /// The worker's process id.
        pid: u32,
        /// The signal that killed it, if one did.
        signal: Option<i32>,
        /// Its exit code, if it exited.
        code: Option<i32>,
    },
    /// The job ran longer than the timeout it was submitted with; its
    /// worker was killed and replaced.
    TimedOut(Duration),
    /// No job of this name is registered in the binary the workers run.
    Unregistered(String),
    /// The arguments did not deserialize as the job's argument type.
    BadArgs(String),
    /// The job's result did not serialize in the worker, or did not
    /// deserialize as the result type in the parent.
    BadResult(String),
    /// The pool can run no more jobs: it was terminated, or no worker
    /// process could be started (the message says why).
    PoolClosed(String),
}

impl From<Failure> for JobError {
    fn from(failure: Failure) -> JobError {
        match failure {
            Failure::Panicked(msg) => JobError::Panicked(msg),
            Failure::Unregistered(name) => JobError::Unregistered(name),
            Failure::BadArgs(msg) => JobError::BadArgs(msg),
            Failure::BadOutput(msg) => JobError::BadResult(msg),
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Panicked(msg) => write!(f, "the job panicked: {msg}"),
            JobError::WorkerDied { pid, signal, code } => {
                write!(f, "worker process {pid} died while running the job")?;
                match (signal, code) {
                    (Some(sig), _) => match Signal::try_from(*sig) {
                        Ok(name) => write!(f, " (killed by {name})"),
                        Err(_) => write!(f, " (killed by signal {sig})"),
                    },
                    (None, Some(code)) => write!(f, " (exit code {code})"),
                    (None, None) => Ok(()),
                }
            }
            JobError::TimedOut(limit) => {
                write!(
                    f,
                    "the job ran past its timeout of {limit:?}; its worker was killed"
                )
            }
            JobError::Unregistered(name) => write!(
                f,
                "no job named {name:?} is registered in this binary (declare it with corio::job!)"
            ),
            JobError::BadArgs(msg) => write!(f, "the job's arguments did not deserialize: {msg}"),
            JobError::BadResult(msg) => write!(f, "the job's result did not (de)serialize: {msg}"),
            JobError::PoolClosed(why) => write!(f, "the process pool is closed: {why}"),
        }
    }
}

impl std::error::Error for JobError {}
