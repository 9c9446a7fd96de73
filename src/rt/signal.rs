//! The runtime dump on a signal: `kill -USR1 <pid>` prints every runtime's
//! tasks to standard error.
//!
//! A signal handler may do almost nothing safely, so the work is split:
//! the handler bumps a counter and writes a byte to a pipe; a watcher
//! thread reading that pipe notifies every running runtime's reactor; each
//! runtime, woken, sees the new counter value and prints its own dump from
//! its own thread, where reading its task table is safe.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};

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

extern "C" fn on_dump_signal(_: std::ffi::c_int) {
    DUMP_EPOCH.fetch_add(1, Ordering::Relaxed);
    let fd = WAKE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: `WAKE_FD` is -1 (excluded just above) or the write end of
        // the watcher's pipe, whose ownership `start_watcher` gave up for
        // the life of the process: it is never closed, so the borrow cannot
        // outlive it.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        // Saving and restoring errno keeps the interrupted code from seeing
        // our write's errno. write(2) is async-signal-safe, and so is what
        // nix does around it (no allocation, no lock); a full pipe just
        // drops the byte, a wake-up being pending anyway.
        let saved = Errno::last_raw();
        let _ = nix::unistd::write(fd, &[1u8]);
        Errno::set_raw(saved);
    }
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
    if signal == Signal::SIGSEGV as libc::c_int || signal == Signal::SIGBUS as libc::c_int {
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
    let action: libc::sigaction = SigAction::new(
        SigHandler::Handler(on_dump_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    )
    .into();
    // libc: nix's `sigaction` takes a `Signal`, which has no real-time
    // signals (SIGRTMIN..=SIGRTMAX); this function accepts any number.
    // SAFETY: `action` is a complete `sigaction` built by nix, valid for the
    // call; the old action is not asked for (null). The handler only
    // touches atomics and errno and calls write(2), all async-signal-safe.
    let installed = unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
    Errno::result(installed)?;
    Ok(())
}

fn start_watcher() -> std::io::Result<()> {
    let (reader, writer) = std::io::pipe()?;
    let reader: OwnedFd = reader.into();
    let writer: OwnedFd = writer.into();
    // The handler must never block on a full pipe.
    let _ = fcntl(&writer, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    std::thread::Builder::new()
        .name("corio-dump-signal".into())
        .spawn(move || {
            let mut byte = [0u8; 64];
            loop {
                // End of file ends the watcher; anything else, an error
                // (EINTR) included, counts as a wake-up.
                if let Ok(0) = nix::unistd::read(&reader, &mut byte) {
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
