//! The runtime dump on a signal: `kill -USR1 <pid>` prints every runtime's
//! tasks to standard error.
//!
//! A signal handler may do almost nothing safely, so the work is split:
//! the handler bumps a counter and writes a byte to a pipe; a watcher
//! thread reading that pipe notifies every running runtime's reactor; each
//! runtime, woken, sees the new counter value and prints its own dump from
//! its own thread, where reading its task table is safe.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::reactor::Reactor;

/// Bumped by the signal handler; runtimes compare it with what they saw.
static DUMP_EPOCH: AtomicU64 = AtomicU64::new(0);
/// The write end of the watcher's pipe, or -1 before installation.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// Reactors of the runtimes running now, by runtime id.
fn running() -> &'static Mutex<Vec<(u64, Reactor)>> {
    static RUNNING: OnceLock<Mutex<Vec<(u64, Reactor)>>> = OnceLock::new();
    RUNNING.get_or_init(|| Mutex::new(Vec::new()))
}

/// Records a runtime as running, so that a dump signal reaches it.
pub(crate) fn register(id: u64, reactor: &Reactor) {
    crate::util::lock(running()).push((id, reactor.clone()));
}

pub(crate) fn unregister(id: u64) {
    crate::util::lock(running()).retain(|(rid, _)| *rid != id);
}

/// The current dump request count; a runtime prints a dump when it grows.
pub(crate) fn dump_epoch() -> u64 {
    DUMP_EPOCH.load(Ordering::Relaxed)
}

extern "C" fn on_dump_signal(_: libc::c_int) {
    DUMP_EPOCH.fetch_add(1, Ordering::Relaxed);
    let fd = WAKE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: errno is thread-local and valid to read and write; we
        // restore it so the interrupted code never sees our write's errno.
        // write(2) is async-signal-safe and `byte` is valid for one byte; a
        // full pipe just drops the byte, a wake-up being pending anyway.
        unsafe {
            let errno = errno_location();
            let saved = *errno;
            libc::write(fd, (&byte as *const u8).cast(), 1);
            *errno = saved;
        }
    }
}

/// This thread's `errno`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: no preconditions; returns this thread's errno.
    unsafe { libc::__errno_location() }
}

/// This thread's `errno`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: no preconditions; returns this thread's errno.
    unsafe { libc::__error() }
}

/// Prints the runtime dump of every running corio runtime to standard
/// error whenever the process receives `signal` (e.g. `libc::SIGUSR1`).
/// Each runtime prints from its own thread at its next scheduling point,
/// so a runtime whose task never parks prints once that task does.
///
/// # Errors
///
/// When the watcher's pipe or thread cannot be created, or the handler
/// cannot be installed (an invalid signal number).
pub fn dump_on_signal(signal: libc::c_int) -> std::io::Result<()> {
    if signal == libc::SIGSEGV || signal == libc::SIGBUS {
        // Those report coroutine stack overflows.
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "SIGSEGV and SIGBUS are reserved for stack overflow reports",
        ));
    }
    static WATCHER: OnceLock<std::io::Result<()>> = OnceLock::new();
    let started = WATCHER.get_or_init(start_watcher);
    if let Err(e) = started {
        return Err(std::io::Error::new(e.kind(), e.to_string()));
    }
    // SAFETY: a zeroed sigaction is valid to fill in; the handler only
    // touches atomics and calls write(2).
    let installed = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_dump_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut())
    };
    if installed != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn start_watcher() -> std::io::Result<()> {
    let (reader, writer) = std::io::pipe()?;
    let reader: OwnedFd = reader.into();
    let writer: OwnedFd = writer.into();
    // The handler must never block on a full pipe.
    // SAFETY: F_SETFL on a valid fd we own.
    unsafe {
        libc::fcntl(writer.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
    }
    std::thread::Builder::new()
        .name("corio-dump-signal".into())
        .spawn(move || {
            let mut byte = [0u8; 64];
            loop {
                // SAFETY: reading into a valid buffer from a fd we own.
                let n =
                    unsafe { libc::read(reader.as_raw_fd(), byte.as_mut_ptr().cast(), byte.len()) };
                if n == 0 {
                    return;
                }
                for (_, reactor) in crate::util::lock(running()).iter() {
                    let _ = reactor.notify();
                }
            }
        })?;
    // The write end stays open for the life of the process.
    WAKE_FD.store(
        std::os::fd::IntoRawFd::into_raw_fd(writer),
        Ordering::Relaxed,
    );
    Ok(())
}
