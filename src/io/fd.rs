//! [`Fd`]: any file descriptor, driven by the runtime's reactor.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::coro::NoYieldScope;
use crate::reactor::{Direction, Reactor, Registration};
use crate::rt::{block_on_as, current_io, IoContext, WaitReason};
use crate::util::lock;

/// An I/O object built on a file descriptor, whose reads and writes park
/// the calling task instead of blocking the thread: the building block of
/// corio's sockets, pipes and child process streams, and the way to wrap
/// any other pollable fd a program owns (a tty, a FIFO, an eventfd, a
/// socket made by another library).
///
/// `Fd` owns the object `T` (a [`File`](std::fs::File), an
/// [`OwnedFd`](std::os::fd::OwnedFd), a std socket...). Its operations take
/// a closure that performs *one non-blocking attempt* of the I/O call;
/// [`read_with`](Fd::read_with) and [`write_with`](Fd::write_with) repeat it
/// until it stops failing with [`WouldBlock`](io::ErrorKind::WouldBlock),
/// parking the task in between until the reactor reports the fd ready.
/// Every other result, success or error, is returned as is.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// use corio::io::Fd;
///
/// corio::run(|| {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (a, b) = (Fd::new(a).unwrap(), Fd::new(b).unwrap());
///     let reader = corio::spawn(move || {
///         let mut buf = [0u8; 5];
///         // Parks this task until the other one has written.
///         b.read_with(|mut s| s.read(&mut buf)).unwrap();
///         buf
///     });
///     corio::sleep(std::time::Duration::from_millis(10));
///     a.write_with(|mut s| s.write(b"hello")).unwrap();
///     assert_eq!(&reader.join().unwrap(), b"hello");
/// });
/// ```
///
/// # Inside and outside a runtime
///
/// - Nothing is registered when the object is created. The first
///   operation made by a runtime task switches the fd to non-blocking mode
///   (unless corio created it so) and registers it with the poller of that
///   task's worker, so an object created on one worker (or outside any
///   runtime) and used by a task on another is served where it is used.
/// - Used by tasks of two workers or runtimes in turn, the object is
///   registered with each poller where a task is still waiting on it; a
///   poller nobody waits in is left when a task elsewhere next registers.
/// - Operations made outside any runtime (a plain thread, a
///   [`spawn_blocking`](crate::task::spawn_blocking) call, after `run`
///   returned) block the thread, like the std types: the call is made, and
///   if the fd is non-blocking and not ready, the thread waits in `poll(2)`
///   and tries again. Nothing hangs for lack of a scheduler.
/// - An fd that the reactor cannot watch (a regular file: epoll refuses
///   them) is always ready: its operations are just made, and may block the
///   thread for the time of a disk access.
///
/// # Several tasks at once
///
/// Reads and writes are independent: one task can be parked in a read while
/// another writes, through `&Fd` (for example in an `Arc`). Several tasks
/// may even wait in the same direction (two tasks accepting on one
/// listener); each readiness event wakes them all, and those that find
/// nothing to do park again (see the reactor's
/// [wakers](crate::reactor#wakers)).
///
/// # Cancellation
///
/// A task cancelled (or timed out) while parked in an operation unwinds out
/// of it: no data has been transferred by the interrupted attempt, and the
/// object can be used by another task right away.
///
/// # Non-blocking mode is shared
///
/// `O_NONBLOCK` belongs to the open file description, which `dup`ed fds
/// and forked processes share. Wrap only fds that nothing else expects to
/// be blocking (not the process's inherited stdin, say);
/// [`into_inner`](Fd::into_inner) restores blocking mode if `Fd` changed it.
pub struct Fd<T> {
    // Declared before `io`: the registration must drop before the fd closes.
    driver: Driver,
    io: T,
}

/// The registration state of an [`Fd`], apart from the object so that
/// `&mut T` can be lent while it is used.
struct Driver {
    state: Mutex<State>,
}

struct State {
    binding: Binding,
    /// Whether `Fd` switched the fd to non-blocking mode (and should switch
    /// it back in `into_inner`).
    made_nonblocking: bool,
}

enum Binding {
    /// Not registered (not used by a task yet).
    Unbound,
    /// Registered with the reactors of the workers whose tasks use it (the
    /// registration knows which); usually one.
    Bound(Vec<Arc<Registration>>),
    /// The reactor cannot watch this fd: operations are made directly.
    Unpollable,
}

/// Whether the caller is a task of a corio runtime (so that waits park).
pub(crate) fn in_runtime() -> bool {
    current_io().is_some()
}

/// Sets or clears `O_NONBLOCK`; returns whether it was set before.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<bool> {
    // Every flag is kept, the unnamed ones too: F_SETFL gets them back.
    let mut flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    let was = flags.contains(OFlag::O_NONBLOCK);
    if was != nonblocking {
        flags.set(OFlag::O_NONBLOCK, nonblocking);
        fcntl(fd, FcntlArg::F_SETFL(flags))?;
    }
    Ok(was)
}

/// Withdraws the running task's waker from the registration when its wait
/// unwinds (the task was cancelled or a timeout expired), so that a quiet
/// fd does not collect the wakers of every task that gave up on it.
struct AbandonedWait<'a> {
    registration: &'a Registration,
    direction: Direction,
    waker: &'a Waker,
}

impl Drop for AbandonedWait<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.registration.remove_waker(self.direction, self.waker);
        }
    }
}

/// Blocks the thread until `fd` is ready in `direction` (or in error).
fn wait_ready(fd: RawFd, direction: Direction) -> io::Result<()> {
    if fd == -1 {
        return Err(Errno::EBADF.into());
    }
    // SAFETY: `fd` is not -1, and it is the fd of the object that the
    // `Fd` calling this holds (and so keeps open) for the whole wait.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let events = match direction {
        Direction::Read => PollFlags::POLLIN,
        Direction::Write => PollFlags::POLLOUT,
    };
    let mut pollfds = [PollFd::new(fd, events)];
    loop {
        match poll(&mut pollfds, PollTimeout::NONE) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
}

impl Driver {
    fn new() -> Driver {
        Driver {
            state: Mutex::new(State {
                binding: Binding::Unbound,
                made_nonblocking: false,
            }),
        }
    }

    /// The registration with `reactor`, made now if needed; `None` if the
    /// fd cannot be watched. A new registration puts the fd in non-blocking
    /// mode, unless it is known to be (`Fd` made it so, or this crate
    /// created it so).
    fn registration(&self, fd: RawFd, reactor: &Reactor) -> io::Result<Option<Arc<Registration>>> {
        let mut state = lock(&self.state);
        // The steady state: registered with this reactor already.
        if let Binding::Bound(registrations) = &state.binding {
            if let Some(found) = registrations.iter().find(|r| r.is_with(reactor)) {
                return Ok(Some(Arc::clone(found)));
            }
        }
        self.register(&mut state, fd, reactor)
    }

    /// The slow path of [`registration`](Self::registration): a new
    /// registration with `reactor`.
    #[cold]
    fn register(
        &self,
        state: &mut State,
        fd: RawFd,
        reactor: &Reactor,
    ) -> io::Result<Option<Arc<Registration>>> {
        if matches!(state.binding, Binding::Unpollable) {
            return Ok(None);
        }
        let registration = match reactor.register(fd) {
            Ok(registration) => registration,
            // epoll refuses regular files (and directories) with EPERM:
            // they are always ready.
            Err(err) if err.raw_os_error() == Some(Errno::EPERM as i32) => {
                state.binding = Binding::Unpollable;
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        if !state.made_nonblocking {
            // SAFETY: the reactor has just registered `fd`, so it is open
            // (not -1); it is the fd of the object of the `Fd` this driver
            // belongs to, which the caller holds during this call.
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            state.made_nonblocking = !set_nonblocking(borrowed, true)?;
        }
        let registration = Arc::new(registration);
        let mut registrations = match std::mem::replace(&mut state.binding, Binding::Unbound) {
            Binding::Bound(registrations) => registrations,
            _ => Vec::new(),
        };
        // Leave the pollers nobody waits in, and keep those where a task
        // of another worker (or runtime) is still parked: registering
        // there again later would fail with EEXIST.
        registrations.retain(|r| Arc::strong_count(r) > 1);
        registrations.push(Arc::clone(&registration));
        state.binding = Binding::Bound(registrations);
        Ok(Some(registration))
    }

    /// Runs `op` until it stops failing with `WouldBlock`, parking the task
    /// (inside a runtime) or blocking the thread (outside) in between.
    fn drive<R>(
        &self,
        fd: RawFd,
        direction: Direction,
        reason: Option<WaitReason>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        if let Some(IoContext { reactor, waker }) = current_io() {
            if let Some(registration) = self.registration(fd, reactor)? {
                let reason = reason.unwrap_or(match direction {
                    Direction::Read => WaitReason::Readable(fd),
                    Direction::Write => WaitReason::Writable(fd),
                });
                // `op` is user code, run while the task is held.
                let _scope = NoYieldScope::open();
                let _abandon = AbandonedWait {
                    registration: &registration,
                    direction,
                    waker,
                };
                let wait = poll_fn(|cx| registration.poll_io(cx, direction, &mut op));
                return block_on_as(wait, reason);
            }
        }
        loop {
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => wait_ready(fd, direction)?,
                result => return result,
            }
        }
    }
}

impl<T: AsRawFd> Fd<T> {
    /// Wraps `io`. Nothing is registered yet: the first operation made by
    /// a runtime task switches the fd to non-blocking mode and registers
    /// it with the poller of that task's worker, so an object created on
    /// one worker and handed to a task on another is served where it is
    /// used.
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for checks of `io`.
    pub fn new(io: T) -> io::Result<Fd<T>> {
        Ok(Fd {
            driver: Driver::new(),
            io,
        })
    }

    /// Wraps `io`, whose fd this crate has just created in non-blocking
    /// mode: registering it skips the `fcntl` calls of [`Fd::new`], and
    /// `into_inner` will make it blocking, as the std types expect.
    pub(crate) fn new_nonblocking(io: T) -> io::Result<Fd<T>> {
        let fd = Fd {
            driver: Driver::new(),
            io,
        };
        lock(&fd.driver.state).made_nonblocking = true;
        Ok(fd)
    }

    /// Wraps `io`, whose fd this crate has just created: as
    /// [`new_nonblocking`](Fd::new_nonblocking) if it made it non-blocking,
    /// else as [`new`](Fd::new).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn new_created(io: T, nonblocking: bool) -> io::Result<Fd<T>> {
        if nonblocking {
            Fd::new_nonblocking(io)
        } else {
            Fd::new(io)
        }
    }

    /// The wrapped object. Making I/O calls on it directly bypasses the
    /// waiting: inside a runtime they can fail with `WouldBlock`.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The wrapped object, mutably. It must keep the same fd.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Deregisters the fd, switches it back to blocking mode if `Fd` made
    /// it non-blocking, and returns the object.
    pub fn into_inner(self) -> T {
        let Fd { driver, io } = self;
        let state = driver
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        drop(state.binding);
        let raw = io.as_raw_fd();
        if state.made_nonblocking && raw != -1 {
            // SAFETY: `raw` is not -1, and it is the fd of `io`, which is
            // owned here and so keeps it open during the call.
            let fd = unsafe { BorrowedFd::borrow_raw(raw) };
            // Best effort: the fd is valid, so this fails only in theory.
            let _ = set_nonblocking(fd, false);
        }
        io
    }

    /// Runs a read-side operation: `op` is called with the object, and
    /// called again whenever it fails with `WouldBlock`, once the fd is
    /// readable. Use it for reads, `accept`, `recv_from`, or any call that
    /// waits for input.
    ///
    /// # Errors
    ///
    /// The first error of `op` that is not `WouldBlock`, or a failure to
    /// register the fd.
    ///
    /// # Panics
    ///
    /// If `op` yields the generator it runs in (see [`Co::yield_`]).
    ///
    /// [`Co::yield_`]: crate::generator::Co::yield_
    pub fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.driver
            .drive(self.io.as_raw_fd(), Direction::Read, None, || op(&self.io))
    }

    /// Runs a write-side operation, like [`read_with`](Fd::read_with) but
    /// waiting for the fd to be writable: writes, `send_to`, the end of a
    /// non-blocking `connect`.
    ///
    /// # Errors
    ///
    /// As [`read_with`](Fd::read_with).
    pub fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.driver
            .drive(self.io.as_raw_fd(), Direction::Write, None, || op(&self.io))
    }

    /// [`read_with`](Fd::read_with) for objects that need `&mut` to do I/O.
    ///
    /// # Errors
    ///
    /// As [`read_with`](Fd::read_with).
    pub fn read_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let fd = self.io.as_raw_fd();
        let io = &mut self.io;
        self.driver.drive(fd, Direction::Read, None, || op(io))
    }

    /// [`write_with`](Fd::write_with) for objects that need `&mut` to do
    /// I/O.
    ///
    /// # Errors
    ///
    /// As [`read_with`](Fd::read_with).
    pub fn write_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let fd = self.io.as_raw_fd();
        let io = &mut self.io;
        self.driver.drive(fd, Direction::Write, None, || op(io))
    }

    /// `read_with` recording another reason in the runtime dump.
    pub(crate) fn read_with_reason<R>(
        &self,
        reason: WaitReason,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.driver
            .drive(self.io.as_raw_fd(), Direction::Read, Some(reason), || {
                op(&self.io)
            })
    }
}

impl<T: AsRawFd> AsRawFd for Fd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl<T: AsFd> AsFd for Fd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl<T: fmt::Debug> fmt::Debug for Fd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registered = matches!(lock(&self.driver.state).binding, Binding::Bound { .. });
        f.debug_struct("Fd")
            .field("io", &self.io)
            .field("registered", &registered)
            .finish()
    }
}

impl<T: AsRawFd> Read for Fd<T>
where
    for<'a> &'a T: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl<T: AsRawFd> Read for &Fd<T>
where
    for<'a> &'a T: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|mut io| io.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.read_with(|mut io| io.read_vectored(bufs))
    }
}

impl<T: AsRawFd> Write for Fd<T>
where
    for<'a> &'a T: Write,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl<T: AsRawFd> Write for &Fd<T>
where
    for<'a> &'a T: Write,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_with(|mut io| io.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.write_with(|mut io| io.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_with(|mut io| io.flush())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    use super::{Binding, Fd};
    use crate::reactor::Direction;
    use crate::util::lock;

    /// Wakers waiting to read `fd`.
    fn readers_waiting(fd: &Fd<UnixStream>) -> usize {
        match &lock(&fd.driver.state).binding {
            Binding::Bound(registrations) => registrations
                .iter()
                .map(|r| r.waiting(Direction::Read))
                .sum(),
            _ => panic!("not registered"),
        }
    }

    #[test]
    fn tasks_that_give_up_waiting_leave_no_waker_behind() {
        crate::run(|| {
            let (_a, b) = UnixStream::pair().unwrap();
            let b = std::rc::Rc::new(Fd::new(b).unwrap());
            let mut buf = [0u8; 8];
            // Timeouts in this task; cancellations in 50 others below.
            for _ in 0..3 {
                let r = crate::timeout(Duration::from_millis(1), || {
                    b.read_with(|mut s| std::io::Read::read(&mut s, &mut buf))
                });
                assert!(r.is_err());
            }
            let waiters: Vec<_> = (0..50)
                .map(|_| {
                    let b = b.clone();
                    crate::spawn_local(move || {
                        let mut buf = [0u8; 8];
                        b.read_with(|mut s| std::io::Read::read(&mut s, &mut buf))
                    })
                })
                .collect();
            crate::yield_now();
            assert_eq!(readers_waiting(&b), 50);
            // Cancelled.
            for w in &waiters {
                w.cancel();
            }
            for w in waiters {
                assert!(w.join().unwrap_err().is_cancelled());
            }
            assert_eq!(readers_waiting(&b), 0);
        });
    }
}
