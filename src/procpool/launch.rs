//! How a worker process starts: the current binary, executed again, told
//! by an environment variable to serve the pool that started it.
//!
//! A worker is never a bare `fork` of the parent: a forked child of a
//! multi-threaded process inherits locks that other threads held and none
//! of those threads. The binary starts afresh and calls [`init`] first
//! thing in `main`, which turns it into a worker. A test binary has no
//! `main` of its own; [`procpool_test_worker!`](crate::procpool_test_worker)
//! declares a test that calls [`init`], and the pool runs the test binary
//! with arguments that select that test alone.

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::unistd::{getpid, getppid};

use crate::process::{Command, Stdio};

/// Set in a worker's environment to the parent's pid: only a direct child
/// of the process that set it becomes a worker, not a grandchild that
/// inherits the variable.
pub(super) const WORKER_ENV: &str = "CORIO_PROCPOOL_WORKER";

/// A test binary's worker entry, registered by
/// [`procpool_test_worker!`](crate::procpool_test_worker): the module path
/// the macro was expanded in.
#[doc(hidden)]
pub struct TestEntry(pub &'static str);

inventory::collect!(TestEntry);

/// Makes this process a pool worker if a [`Pool`](super::Pool) started it,
/// and never returns then; otherwise returns at once. Call it first thing
/// in `main` of every binary that uses a [`Pool`](super::Pool), as Python's
/// `multiprocessing.freeze_support()`:
///
/// ```no_run
/// # #[allow(clippy::needless_doctest_main)]
/// fn main() {
///     corio::procpool::init();
///     // ... the program, which may create pools ...
/// }
/// ```
///
/// Test binaries use [`procpool_test_worker!`](crate::procpool_test_worker)
/// instead.
pub fn init() {
    let Some(parent) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    if parent.to_str().and_then(|p| p.parse::<i32>().ok()) != Some(getppid().as_raw()) {
        return;
    }
    let code = match super::worker::serve() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("corio: procpool worker {}: {e}", getpid());
            1
        }
    };
    std::process::exit(code);
}

/// The command that starts one worker, with `socket` as its standard input.
pub(super) fn worker_command(socket: OwnedFd) -> io::Result<Command> {
    let mut cmd = Command::new(current_binary()?);
    if let Some(test) = test_name() {
        cmd.args([
            test.as_str(),
            "--exact",
            "--nocapture",
            "-q",
            "--test-threads=1",
        ]);
    }
    cmd.env(WORKER_ENV, getpid().to_string())
        .stdin(Stdio::from(socket));
    Ok(cmd)
}

/// The running binary. On Linux `/proc/self/exe` names the very file this
/// process runs, even if the path it was started from has been replaced.
fn current_binary() -> io::Result<PathBuf> {
    let proc_exe = PathBuf::from("/proc/self/exe");
    if cfg!(target_os = "linux") && proc_exe.exists() {
        return Ok(proc_exe);
    }
    std::env::current_exe()
}

/// The name libtest knows the worker test by, in a test binary that
/// declared one: the macro's module path without the crate's name.
fn test_name() -> Option<String> {
    let entry = inventory::iter::<TestEntry>.into_iter().next()?;
    Some(match entry.0.split_once("::") {
        Some((_crate, module)) => format!("{module}::corio_procpool_worker"),
        None => "corio_procpool_worker".to_owned(),
    })
}

/// Declares the test through which a test binary serves as a pool worker:
/// use it once, at the top level or in a module, of every test binary
/// that creates a [`Pool`](crate::procpool::Pool) (a test binary's `main`
/// belongs to the test harness, so it cannot call
/// [`init`](crate::procpool::init) itself). It adds a test named
/// `corio_procpool_worker` that passes at once in a normal run.
///
/// ```no_run
/// // tests/jobs.rs
/// corio::procpool_test_worker!();
/// ```
#[macro_export]
macro_rules! procpool_test_worker {
    () => {
        #[test]
        fn corio_procpool_worker() {
            $crate::procpool::init();
        }

        $crate::procpool::__inventory::submit! {
            $crate::procpool::TestEntry(module_path!())
        }
    };
}
