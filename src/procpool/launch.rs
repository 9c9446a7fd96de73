//! How corio starts a child process of its own: the current binary,
//! executed again, told by an environment variable what to be. That is a
//! pool worker, serving the [`Pool`](super::Pool) that started it, or a
//! registered *child entry*, which higher layers declare (the pipeline
//! stage `pipe::to_process` runs the rest of a pipeline in one).
//!
//! A child is never a bare `fork` of the parent: a forked child of a
//! multi-threaded process inherits locks that other threads held and none
//! of those threads. The binary starts afresh and calls [`init`] first
//! thing in `main`, which turns it into what it was started for. A test
//! binary has no `main` of its own;
//! [`procpool_test_worker!`](crate::procpool_test_worker) declares a test
//! that calls [`init`], and the child is the test binary run with
//! arguments that select that test alone.
//!
//! The child's standard input is a socket to its parent, which the child
//! moves elsewhere (standard input becomes `/dev/null`) before it serves;
//! standard output and error are the parent's.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::unistd::{getpid, getppid};

use crate::process::{Command, Stdio};

/// Set in a child's environment to `<parent pid>` (a pool worker) or
/// `<parent pid> <entry name>` (a child entry): only a direct child of the
/// process that set it acts on it, not a grandchild that inherits the
/// variable.
const CHILD_ENV: &str = "CORIO_CHILD";

/// Set once [`init`] has taken this process over as a child: code that
/// the child runs may start children of its own.
static SERVING: AtomicBool = AtomicBool::new(false);

/// A test binary's worker entry, registered by
/// [`procpool_test_worker!`](crate::procpool_test_worker): the module path
/// the macro was expanded in.
#[doc(hidden)]
pub struct TestEntry(pub &'static str);

inventory::collect!(TestEntry);

/// What a child entry runs: given the socket to its parent, it returns the
/// process's exit code. Made by the macros of higher layers, which bind a
/// typed function behind it.
pub type ChildMain = fn(OwnedFd) -> i32;

/// A program a child process started by corio can run, registered under
/// a name; made by macros such as `corio::child_pipeline!`, not by hand.
#[doc(hidden)]
pub struct ChildEntry {
    name: &'static str,
    main: ChildMain,
}

impl ChildEntry {
    #[doc(hidden)]
    pub const fn __new(name: &'static str, main: ChildMain) -> ChildEntry {
        ChildEntry { name, main }
    }
}

inventory::collect!(ChildEntry);

/// What a started child is for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Role<'a> {
    /// A worker of a [`Pool`](super::Pool).
    PoolWorker,
    /// The registered [`ChildEntry`] of this name.
    Entry(&'a str),
}

/// Makes this process what its parent started it for, if corio started
/// it, and never returns then; otherwise returns at once. Call it first
/// thing in `main` of every binary that starts processes through corio (a
/// [`Pool`](super::Pool), a `pipe::to_process` stage), as Python's
/// `multiprocessing.freeze_support()`:
///
/// ```no_run
/// # #[allow(clippy::needless_doctest_main)]
/// fn main() {
///     corio::procpool::init();
///     // ... the program, which may create pools and process stages ...
/// }
/// ```
///
/// Test binaries use [`procpool_test_worker!`](crate::procpool_test_worker)
/// instead.
pub fn init() {
    let Some(value) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let Some(value) = value.to_str() else {
        return;
    };
    let (parent, entry) = match value.split_once(' ') {
        Some((parent, entry)) => (parent, Role::Entry(entry)),
        None => (value, Role::PoolWorker),
    };
    if parent.parse::<i32>().ok() != Some(getppid().as_raw()) {
        return;
    }
    SERVING.store(true, Ordering::SeqCst);
    let code = match entry {
        Role::PoolWorker => match super::worker::serve() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("corio: procpool worker {}: {e}", getpid());
                1
            }
        },
        Role::Entry(name) => match (lookup(name), take_stdin()) {
            (Some(main), Ok(socket)) => main(socket),
            (None, _) => {
                eprintln!(
                    "corio: child process {}: no child entry {name:?} is registered in this binary",
                    getpid()
                );
                2
            }
            (_, Err(e)) => {
                eprintln!(
                    "corio: child process {}: cannot take its socket: {e}",
                    getpid()
                );
                1
            }
        },
    };
    // Output a child printed is flushed: the process ends without
    // unwinding.
    let _ = io::Write::flush(&mut io::stdout());
    std::process::exit(code);
}

/// Takes the socket to the parent off fd 0, and puts /dev/null there, so
/// that code reading standard input cannot eat the protocol (a pool
/// worker does the same itself).
fn take_stdin() -> io::Result<OwnedFd> {
    let socket = io::stdin().as_fd().try_clone_to_owned()?;
    let null = std::fs::File::open("/dev/null")?;
    nix::unistd::dup2_stdin(&null)?;
    Ok(socket)
}

/// The registered child entry called `name`.
fn lookup(name: &str) -> Option<ChildMain> {
    inventory::iter::<ChildEntry>
        .into_iter()
        .find(|entry| entry.name == name)
        .map(|entry| entry.main)
}

/// The command that starts one pool worker, with `socket` as its standard
/// input.
pub(super) fn worker_command(socket: OwnedFd) -> io::Result<Command> {
    child_command(Role::PoolWorker, socket)
}

/// The command that starts a child for `role`, with `socket` as its
/// standard input.
///
/// # Errors
///
/// When the binary cannot be found, or when this process was itself
/// started as a child but its `main` did not call [`init`]: starting
/// children from there would start the same program again and again.
pub(crate) fn child_command(role: Role<'_>, socket: OwnedFd) -> io::Result<Command> {
    if !SERVING.load(Ordering::SeqCst) {
        if let Some(parent) = std::env::var_os(CHILD_ENV) {
            let parent = parent
                .to_str()
                .and_then(|v| v.split(' ').next()?.parse::<i32>().ok());
            if parent == Some(getppid().as_raw()) {
                return Err(io::Error::other(
                    "corio: this process was started by corio as a child process, but its \
                     main did not call corio::procpool::init() first thing (a test binary: \
                     corio::procpool_test_worker!()), so it cannot start children of its own",
                ));
            }
        }
    }
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
    let value = match role {
        Role::PoolWorker => getpid().to_string(),
        Role::Entry(name) => format!("{} {name}", getpid()),
    };
    cmd.env(CHILD_ENV, value).stdin(Stdio::from(socket));
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

/// Declares the test through which a test binary serves as a child
/// process that corio starts (a pool worker, or the child of a
/// `pipe::to_process` stage): use it once, at the top level or in a
/// module, of every test binary that creates a
/// [`Pool`](crate::procpool::Pool) or a process stage (a test binary's
/// `main` belongs to the test harness, so it cannot call
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
