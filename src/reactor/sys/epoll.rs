//! Linux backend: an edge-triggered epoll instance, and an eventfd for
//! notifications from other threads.

use std::fmt;
use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::{Event, NOTIFY_TOKEN};

/// What every fd is registered for, once: both directions, peer half-close,
/// edge-triggered. `EPOLLERR` and `EPOLLHUP` are always reported.
const INTEREST: EpollFlags = EpollFlags::EPOLLIN
    .union(EpollFlags::EPOLLOUT)
    .union(EpollFlags::EPOLLRDHUP)
    .union(EpollFlags::EPOLLET);

/// An epoll instance with its notification eventfd. See the
/// [contract](super).
pub(crate) struct Poller {
    epoll: Epoll,
    /// The eventfd. It is registered level-triggered under
    /// [`NOTIFY_TOKEN`]: it stays readable until `wait` drains it, so a
    /// notification that no `wait` has seen yet is never lost.
    eventfd: EventFd,
    /// True from the `notify` that wrote the eventfd until the `wait` that
    /// saw it readable. While it is set, further `notify` calls skip the
    /// `write`: one pending wake-up is as good as many, so a burst of
    /// cross-thread wakes costs one system call.
    notified: AtomicBool,
}

impl Poller {
    /// Opens the epoll instance and the eventfd, both close-on-exec.
    pub(crate) fn new() -> io::Result<Poller> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let eventfd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        epoll.add(
            &eventfd,
            EpollEvent::new(EpollFlags::EPOLLIN, NOTIFY_TOKEN as u64),
        )?;
        Ok(Poller {
            epoll,
            eventfd,
            notified: AtomicBool::new(false),
        })
    }

    /// Registers `fd` once, for both directions, edge-triggered.
    pub(crate) fn add(&self, fd: RawFd, token: usize) -> io::Result<()> {
        if token == NOTIFY_TOKEN {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "token usize::MAX is reserved for the poller's notifications",
            ));
        }
        with_borrowed(fd, |fd| {
            self.epoll.add(fd, EpollEvent::new(INTEREST, token as u64))
        })
    }

    /// Removes the registration of `fd`; the fd itself stays open.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        // nix passes a null event for `EPOLL_CTL_DEL`, which Linux accepts
        // since 2.6.9 (Rust's own minimum is far newer).
        with_borrowed(fd, |fd| self.epoll.delete(fd))
    }

    /// Waits for events, a notification, a signal or the timeout.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.len = 0;
        // The buffer is reused as is: `EpollEvent` is a transparent wrapper
        // of `epoll_event`, and nix hands the slice to the kernel directly.
        let n = match self.epoll.wait(&mut events.buf, timeout_ms(timeout)) {
            Ok(n) => n,
            Err(Errno::EINTR) => return Ok(()),
            Err(err) => return Err(err.into()),
        };
        // Keep the fd events, consume the notification (it is not reported).
        let mut kept = 0;
        for i in 0..n {
            let event = events.buf[i];
            if event.data() == NOTIFY_TOKEN as u64 {
                self.drain_notification();
            } else {
                events.buf[kept] = event;
                kept += 1;
            }
        }
        events.len = kept;
        Ok(())
    }

    /// Resets the eventfd after `wait` saw it readable.
    fn drain_notification(&self) {
        // Read first, then clear the flag. Clearing first would lose a
        // wake-up: a `notify` between the clear and the read sets the flag
        // and writes, our read swallows the write, and the flag stays set
        // with an empty eventfd, so every later `notify` skips its write
        // and a `wait` without timeout sleeps for ever. In this order, a
        // `notify` before the clear finds the flag set and skips its write,
        // but it pushed its work before notifying, and the caller looks for
        // work after `wait` returns; a `notify` after the clear writes, and
        // the next `wait` returns at once. The swap's Acquire pairs with the
        // Release in `notify`.
        //
        // Non-blocking: `EAGAIN` only if a concurrent `wait` on another
        // thread drained it first, which is just as good.
        let _ = self.eventfd.read();
        self.notified.swap(false, Ordering::AcqRel);
    }

    /// Makes a concurrent or the next `wait` return. Any thread.
    pub(crate) fn notify(&self) -> io::Result<()> {
        if self.notified.swap(true, Ordering::AcqRel) {
            // A wake-up is already pending and no `wait` has consumed it.
            return Ok(());
        }
        loop {
            match self.eventfd.write(1) {
                Ok(_) => return Ok(()),
                Err(Errno::EINTR) => continue,
                // The counter is at its maximum, hence readable: the waiter
                // wakes up all the same.
                Err(Errno::EAGAIN) => return Ok(()),
                Err(err) => {
                    self.notified.store(false, Ordering::Release);
                    return Err(err.into());
                }
            }
        }
    }
}

/// Lends the caller's fd to one nix call, which takes an `AsFd`.
fn with_borrowed(fd: RawFd, op: impl FnOnce(BorrowedFd<'_>) -> nix::Result<()>) -> io::Result<()> {
    if fd < 0 {
        // What `epoll_ctl` answers for a negative fd. It must not get that
        // far: a `BorrowedFd` cannot hold -1.
        return Err(Errno::EBADF.into());
    }
    // SAFETY: `fd` is not -1, the one value a `BorrowedFd` cannot hold. The
    // borrow does not outlive `op`, which passes it to a single `epoll_ctl`.
    // The fd belongs to the caller, whom `Reactor::register` requires to
    // keep it open until the registration is dropped. A caller who closes
    // it too early anyway gets only what the number itself gives: the
    // kernel refuses a closed fd with `EBADF`, and a number already reused
    // by another file adds or removes that file in this epoll set (the
    // hazard `Registration`'s documentation warns about); no memory is
    // reached through the number.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(op(fd)?)
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poller")
            .field("epoll", &self.epoll.0.as_raw_fd())
            .field("eventfd", &self.eventfd.as_raw_fd())
            .finish()
    }
}

/// Converts a timeout for `epoll_wait`: none for none, otherwise whole
/// milliseconds rounded *up* (so a wait never ends before its deadline
/// because of rounding), clamped to `i32::MAX` (about 24 days).
fn timeout_ms(timeout: Option<Duration>) -> EpollTimeout {
    match timeout {
        None => EpollTimeout::NONE,
        Some(t) => {
            EpollTimeout::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(EpollTimeout::MAX)
        }
    }
}

/// A buffer for the events of one `wait`.
pub(crate) struct Events {
    buf: Box<[EpollEvent]>,
    len: usize,
}

impl Events {
    /// Room for `capacity` events per `wait` (at least one).
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        // At most `i32::MAX`: nix passes the slice's length as a `c_int`.
        let capacity = capacity.clamp(1, i32::MAX as usize);
        Events {
            buf: vec![EpollEvent::empty(); capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// The events of the last `wait`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.len].iter().map(|raw| {
            let (flags, token) = (raw.events(), raw.data() as usize);
            Event {
                token,
                readable: flags.intersects(EpollFlags::EPOLLIN),
                writable: flags.intersects(EpollFlags::EPOLLOUT),
                read_closed: flags.intersects(EpollFlags::EPOLLRDHUP | EpollFlags::EPOLLHUP),
                write_closed: flags.intersects(EpollFlags::EPOLLHUP),
                error: flags.intersects(EpollFlags::EPOLLERR),
            }
        })
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        let ms = |n: u32| EpollTimeout::try_from(n).unwrap();
        assert_eq!(timeout_ms(None), EpollTimeout::NONE);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), ms(0));
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), ms(1));
        assert_eq!(timeout_ms(Some(Duration::from_micros(999))), ms(1));
        assert_eq!(timeout_ms(Some(Duration::from_millis(1))), ms(1));
        assert_eq!(timeout_ms(Some(Duration::from_micros(1001))), ms(2));
        assert_eq!(timeout_ms(Some(Duration::from_secs(3))), ms(3000));
        assert_eq!(
            timeout_ms(Some(Duration::from_secs(1 << 40))),
            EpollTimeout::MAX
        );
        assert_eq!(timeout_ms(Some(Duration::MAX)), EpollTimeout::MAX);
        assert_eq!(EpollTimeout::MAX, ms(i32::MAX as u32));
    }

    #[test]
    fn notification_is_coalesced_into_one_eventfd_write() {
        let poller = Poller::new().unwrap();
        for _ in 0..10 {
            poller.notify().unwrap();
        }
        // One write of 1, not ten: the counter reads 1.
        assert_eq!(poller.eventfd.read().unwrap(), 1);
    }

    #[test]
    fn adding_twice_is_refused() {
        use std::os::unix::net::UnixStream;
        let poller = Poller::new().unwrap();
        let (a, _b) = UnixStream::pair().unwrap();
        poller.add(a.as_raw_fd(), 1).unwrap();
        let err = poller.add(a.as_raw_fd(), 2).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::EEXIST as i32));
    }

    #[test]
    fn negative_fds_are_refused_with_ebadf() {
        let poller = Poller::new().unwrap();
        for fd in [-1, -2, RawFd::MIN] {
            let err = poller.add(fd, 1).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(Errno::EBADF as i32));
            let err = poller.delete(fd).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(Errno::EBADF as i32));
        }
    }

    #[test]
    fn events_capacity_is_at_least_one() {
        assert_eq!(Events::with_capacity(0).buf.len(), 1);
    }

    #[test]
    fn event_buffer_is_the_kernel_layout() {
        // `wait` lends the buffer to the kernel as an `epoll_event` array.
        assert_eq!(
            std::mem::size_of::<EpollEvent>(),
            std::mem::size_of::<libc::epoll_event>()
        );
        assert_eq!(
            std::mem::align_of::<EpollEvent>(),
            std::mem::align_of::<libc::epoll_event>()
        );
    }
}
