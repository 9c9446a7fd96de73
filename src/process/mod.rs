//! Child processes whose pipes and exit park the task, not the thread.
//!
//! [`Command`] wraps [`std::process::Command`]: the same builder, but the
//! [`Child`] it spawns has pipes ([`ChildStdin`], [`ChildStdout`],
//! [`ChildStderr`]) whose reads and writes park the calling task, and a
//! [`wait`](Child::wait) that parks until the child exits.
//!
//! ```
//! use std::io::{BufRead, BufReader};
//!
//! use corio::process::{Command, Stdio};
//!
//! corio::run(|| {
//!     let mut child = Command::new("echo")
//!         .arg("hello from a child")
//!         .stdout(Stdio::piped())
//!         .spawn()
//!         .unwrap();
//!     let mut line = String::new();
//!     BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
//!     assert_eq!(line, "hello from a child\n");
//!     assert!(child.wait().unwrap().success());
//! });
//! ```
//!
//! # How `wait` waits
//!
//! Inside a runtime, `wait` opens a *pidfd* for the child (`pidfd_open`,
//! Linux 5.3 and later), which becomes readable when the child exits, and
//! parks the task on it like on a socket; then it reaps the child. Where
//! pidfds are unavailable (an older kernel, another system, a sandbox that
//! filters the call, no fd left), a call on the
//! [blocking pool](crate::task::spawn_blocking) waits for the exit with
//! `waitid(WNOWAIT)`, which does not reap, while the task parks; the task
//! then reaps the child itself. Neither way polls in a loop. In the
//! fallback, a task cancelled while waiting leaves that pool thread
//! waiting until the child exits.
//!
//! Outside a runtime every call blocks the thread, as in std.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process;

pub use std::process::{ExitStatus, Output, Stdio};

use crate::io::{in_runtime, Fd, PipeReader, PipeWriter};
use crate::rt::WaitReason;

/// The child's standard input, when it was created with
/// [`Stdio::piped`]: a [`PipeWriter`], whose writes park while the pipe is
/// full. Drop it (or let [`Child::wait`] drop it) to send end of file.
pub type ChildStdin = PipeWriter;

/// The child's standard output, when it was created with
/// [`Stdio::piped`]: a [`PipeReader`], whose reads park until the child
/// writes or exits.
pub type ChildStdout = PipeReader;

/// The child's standard error, when it was created with [`Stdio::piped`]:
/// a [`PipeReader`].
pub type ChildStderr = PipeReader;

/// A process builder, as [`std::process::Command`], spawning a [`Child`]
/// whose pipes and exit park the task.
///
/// ```
/// use corio::process::Command;
///
/// corio::run(|| {
///     let output = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]).output().unwrap();
///     assert_eq!(output.stdout, b"out\n");
///     assert_eq!(output.stderr, b"err\n");
///     assert_eq!(output.status.code(), Some(3));
/// });
/// ```
pub struct Command {
    inner: process::Command,
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl Command {
    /// A command to run `program`, as [`std::process::Command::new`].
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable of the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env(key, value);
        self
    }

    /// Sets environment variables of the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Clears the child's environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// Configures the child's standard input (inherited by default for
    /// `spawn` and `status`, null for `output`).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.inner.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Configures the child's standard output (inherited by default for
    /// `spawn` and `status`, piped for `output`).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.inner.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// Configures the child's standard error (inherited by default for
    /// `spawn` and `status`, piped for `output`).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.inner.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// The std command, to read its configuration.
    pub fn as_std(&self) -> &process::Command {
        &self.inner
    }

    /// The std command, for settings this type does not forward
    /// (`std::os::unix::process::CommandExt`: `uid`, `process_group`...).
    /// Stdio set here is not seen by `output`'s defaults.
    pub fn as_std_mut(&mut self) -> &mut process::Command {
        &mut self.inner
    }

    /// Starts the child. Its piped stdio are wrapped as corio pipes.
    ///
    /// # Errors
    ///
    /// As std's `spawn` (program not found...), or when a pipe cannot be
    /// registered.
    pub fn spawn(&mut self) -> io::Result<Child> {
        Child::from_std(self.inner.spawn()?)
    }

    /// Runs the child to its end and collects its output: stdin null and
    /// stdout and stderr piped unless configured otherwise. Both pipes are
    /// read at once (stderr by a helper task, or a thread outside a
    /// runtime), so a child that fills one while the other is read does
    /// not deadlock.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn), or a read or wait error.
    pub fn output(&mut self) -> io::Result<Output> {
        self.default_stdio(Stdio::null, Stdio::piped);
        let child = self.spawn();
        // Back to `spawn`'s defaults.
        self.default_stdio(Stdio::inherit, Stdio::inherit);
        child?.wait_with_output()
    }

    /// Sets the standard streams the caller did not set: stdin from
    /// `input`, stdout and stderr from `output`.
    fn default_stdio(&mut self, input: fn() -> Stdio, output: fn() -> Stdio) {
        if !self.stdin_set {
            self.inner.stdin(input());
        }
        if !self.stdout_set {
            self.inner.stdout(output());
        }
        if !self.stderr_set {
            self.inner.stderr(output());
        }
    }

    /// Runs the child to its end (stdio inherited unless configured) and
    /// returns its exit status.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn) and [`Child::wait`].
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait()
    }
}

/// Wraps a std command; stdio it configured are not seen by `output`'s
/// defaults.
impl From<process::Command> for Command {
    fn from(inner: process::Command) -> Command {
        Command {
            inner,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// A running (or exited) child process.
///
/// As with std, dropping a `Child` neither kills nor reaps it: [`wait`]
/// for it (or [`kill`] and then wait), or it stays a zombie until this
/// process exits.
///
/// [`wait`]: Child::wait
/// [`kill`]: Child::kill
pub struct Child {
    /// The child's stdin, if piped. Taken and dropped by
    /// [`wait`](Child::wait).
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
    pidfd: PidFd,
    inner: process::Child,
}

enum PidFd {
    /// Not opened yet (no wait inside a runtime so far).
    Untried,
    Open(Fd<OwnedFd>),
    /// `pidfd_open` failed: use the blocking-pool fallback.
    Unavailable,
}

impl Child {
    /// Wraps a child spawned by std, turning its piped stdio into corio
    /// pipes.
    ///
    /// # Errors
    ///
    /// When a pipe cannot be registered.
    pub fn from_std(mut child: process::Child) -> io::Result<Child> {
        let stdin = child
            .stdin
            .take()
            .map(|p| PipeWriter::new(p.into()))
            .transpose()?;
        let stdout = child
            .stdout
            .take()
            .map(|p| PipeReader::new(p.into()))
            .transpose()?;
        let stderr = child
            .stderr
            .take()
            .map(|p| PipeReader::new(p.into()))
            .transpose()?;
        Ok(Child {
            stdin,
            stdout,
            stderr,
            pidfd: PidFd::Untried,
            inner: child,
        })
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    /// Sends `SIGKILL` to the child (if it has not been reaped yet). Call
    /// [`wait`](Child::wait) afterwards to reap it.
    ///
    /// ```
    /// use corio::process::Command;
    ///
    /// corio::run(|| {
    ///     let mut child = Command::new("sleep").arg("60").spawn().unwrap();
    ///     child.kill().unwrap();
    ///     let status = child.wait().unwrap();
    ///     assert!(!status.success());
    /// });
    /// ```
    ///
    /// # Errors
    ///
    /// As `kill(2)`.
    pub fn kill(&mut self) -> io::Result<()> {
        self.inner.kill()
    }

    /// The exit status if the child has exited (reaping it), else `None`;
    /// never waits.
    ///
    /// # Errors
    ///
    /// As `waitpid(2)`.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Closes the child's stdin (so that a child reading it sees end of
    /// file), then waits for the child to exit and returns its status.
    /// Inside a runtime the task parks (see the [module docs](self) for
    /// how); outside, the thread blocks. Calling it again returns the same
    /// status.
    ///
    /// # Errors
    ///
    /// As `waitpid(2)`.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        if let Some(status) = self.inner.try_wait()? {
            return Ok(status);
        }
        if !in_runtime() {
            return self.inner.wait();
        }
        let pid = self.inner.id();
        if let PidFd::Untried = self.pidfd {
            self.pidfd = match pidfd_open(pid).and_then(Fd::new) {
                Ok(fd) => PidFd::Open(fd),
                Err(_) => PidFd::Unavailable,
            };
        }
        match &self.pidfd {
            PidFd::Open(pidfd) => {
                let child = &mut self.inner;
                pidfd.read_with_reason(WaitReason::Process(pid), |_| match child.try_wait() {
                    Ok(Some(status)) => Ok(status),
                    Ok(None) => Err(io::ErrorKind::WouldBlock.into()),
                    Err(err) => Err(err),
                })
            }
            _ => {
                crate::rt::block_on_as(
                    crate::task::spawn_blocking(move || wait_for_exit(pid)),
                    WaitReason::Process(pid),
                )
                .unwrap_or_else(|e| Err(e.into_io_error("wait on the blocking pool")))?;
                // Exited: this reaps without blocking.
                self.inner.wait()
            }
        }
    }

    /// Closes stdin, reads stdout and stderr to their ends (at once, as
    /// [`Command::output`] does), and waits for the child.
    ///
    /// # Errors
    ///
    /// A read or wait error.
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = read_both(self.stdout.take(), self.stderr.take())?;
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// The std child (its stdio fields are always `None`: they are the
    /// fields of this type).
    pub fn as_std(&self) -> &process::Child {
        &self.inner
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.inner.id())
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

fn read_all(pipe: Option<PipeReader>) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut data)?;
    }
    Ok(data)
}

/// Reads two pipes to their ends at once.
fn read_both(out: Option<PipeReader>, err: Option<PipeReader>) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let (out, err) = match (out, err) {
        (Some(out), Some(err)) => (out, err),
        // At most one: no need for a helper.
        (out, err) => return Ok((read_all(out)?, read_all(err)?)),
    };
    let (out, err) = if in_runtime() {
        let helper = crate::spawn(move || read_all(Some(err)));
        let out = read_all(Some(out));
        let err = helper
            .join()
            .unwrap_or_else(|e| Err(e.into_io_error("stderr reader")));
        (out, err)
    } else {
        let helper = std::thread::spawn(move || read_all(Some(err)));
        let out = read_all(Some(out));
        let err = helper
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        (out, err)
    };
    Ok((out?, err?))
}

#[cfg(test)]
/// How many tests want the pidfd-less fallback (a count, so that two such
/// tests running at once do not turn it off for each other).
static NO_PIDFD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(any(target_os = "linux", target_os = "android"))]
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    use std::os::fd::{FromRawFd, RawFd};

    #[cfg(test)]
    if NO_PIDFD.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        return Err(nix::errno::Errno::ENOSYS.into());
    }
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // libc: nix has no wrapper for pidfd_open.
    // SAFETY: pidfd_open takes a pid and flags (none) and returns a new
    // fd, or -1 with errno (ENOSYS before Linux 5.3).
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new fd, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn pidfd_open(_pid: u32) -> io::Result<OwnedFd> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Blocks until the child `pid` has exited, without reaping it.
fn wait_for_exit(pid: u32) -> io::Result<()> {
    let pid = libc::id_t::from(pid);
    loop {
        // SAFETY: siginfo_t is plain old data; all zeroes is valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // libc: nix's waitid decodes the status into a `WaitStatus`, and
        // fails with EINVAL for a child killed by a signal its `Signal`
        // lacks (a real-time one), although the wait succeeded.
        // SAFETY: `info` is valid for writes for the duration of the call.
        let rc =
            unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// Makes `wait` use the fallback while it lives.
    struct NoPidfd;

    impl NoPidfd {
        fn new() -> NoPidfd {
            NO_PIDFD.fetch_add(1, Ordering::Relaxed);
            NoPidfd
        }
    }

    impl Drop for NoPidfd {
        fn drop(&mut self) {
            NO_PIDFD.fetch_sub(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn wait_without_pidfd_uses_the_blocking_pool() {
        let _no_pidfd = NoPidfd::new();
        let status = crate::run(|| {
            let mut child = Command::new("sh")
                .args(["-c", "sleep 0.05; exit 7"])
                .spawn()
                .unwrap();
            let ticker = crate::spawn(|| {
                // Runs while the main task waits: the wait parks.
                crate::sleep(std::time::Duration::from_millis(1));
                true
            });
            let status = child.wait().unwrap();
            assert!(ticker.join().unwrap());
            assert_eq!(
                child.wait().unwrap(),
                status,
                "a second wait returns the same status"
            );
            status
        });
        assert_eq!(status.code(), Some(7));
    }

    /// The fallback's `waitid` must not fail on a child killed by a signal
    /// that has no name (a real-time one), which a decoding wrapper would
    /// reject.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn wait_without_pidfd_for_a_child_killed_by_a_real_time_signal() {
        use std::os::unix::process::ExitStatusExt;

        let _no_pidfd = NoPidfd::new();
        let status = crate::run(|| {
            let mut child = Command::new("sh")
                .args(["-c", "kill -40 $$"])
                .spawn()
                .unwrap();
            child.wait().unwrap()
        });
        assert_eq!(status.signal(), Some(40));
    }
}
