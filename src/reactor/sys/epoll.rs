//! Linux backend: an edge-triggered epoll instance, and an eventfd for
//! notifications from other threads.

use std::fmt;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use libc::c_int;

use super::{cvt, Event, NOTIFY_TOKEN};

/// What every fd is registered for, once: both directions, peer half-close,
/// edge-triggered. `EPOLLERR` and `EPOLLHUP` are always reported.
const INTEREST: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

/// An epoll instance with its notification eventfd. See the
/// [contract](super).
pub(crate) struct Poller {
    epoll: OwnedFd,
    /// The eventfd, held as a `File` so that reading and writing its counter
    /// needs no `unsafe`. It is registered level-triggered under
    /// [`NOTIFY_TOKEN`]: it stays readable until `wait` drains it, so a
    /// notification that no `wait` has seen yet is never lost.
    eventfd: File,
    /// True from the `notify` that wrote the eventfd until the `wait` that
    /// saw it readable. While it is set, further `notify` calls skip the
    /// `write`: one pending wake-up is as good as many, so a burst of
    /// cross-thread wakes costs one system call.
    notified: AtomicBool,
}

impl Poller {
    /// Opens the epoll instance and the eventfd, both close-on-exec.
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: `epoll_create1` takes no pointers; its result is checked.
        let epfd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `epfd` was just returned by the kernel and nothing else
        // owns it, so `OwnedFd` may take it over (and close it on drop).
        let epoll = unsafe { OwnedFd::from_raw_fd(epfd) };
        // SAFETY: `eventfd` takes no pointers; its result is checked.
        let efd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: as above, a fresh fd that nothing else owns.
        let eventfd = File::from(unsafe { OwnedFd::from_raw_fd(efd) });
        let poller = Poller {
            epoll,
            eventfd,
            notified: AtomicBool::new(false),
        };
        poller.ctl(
            libc::EPOLL_CTL_ADD,
            poller.eventfd.as_raw_fd(),
            libc::EPOLLIN as u32,
            NOTIFY_TOKEN,
        )?;
        Ok(poller)
    }

    fn ctl(&self, op: c_int, fd: RawFd, events: u32, token: usize) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events,
            u64: token as u64,
        };
        // SAFETY: `event` is a valid `epoll_event` that lives across the
        // call (the kernel copies it; for `EPOLL_CTL_DEL` it is ignored but
        // must be non-null on old kernels). The epoll fd is open as long as
        // `self` is. `fd` is only looked up by the kernel, which rejects an
        // invalid one with `EBADF`; no memory is reached through it.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Registers `fd` once, for both directions, edge-triggered.
    pub(crate) fn add(&self, fd: RawFd, token: usize) -> io::Result<()> {
        if token == NOTIFY_TOKEN {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "token usize::MAX is reserved for the poller's notifications",
            ));
        }
        self.ctl(libc::EPOLL_CTL_ADD, fd, INTEREST, token)
    }

    /// Removes the registration of `fd`; the fd itself stays open.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Waits for events, a notification, a signal or the timeout.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.len = 0;
        let max = c_int::try_from(events.buf.len()).unwrap_or(c_int::MAX);
        // SAFETY: `events.buf` is an initialised, writable array of at least
        // `max` `epoll_event`s, exclusively borrowed for the call; the kernel
        // writes at most `max` entries into it. The epoll fd is open.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.buf.as_mut_ptr(),
                max,
                timeout_ms(timeout),
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                ErrorKind::Interrupted => Ok(()),
                _ => Err(err),
            };
        }
        // Keep the fd events, consume the notification (it is not reported).
        let mut kept = 0;
        for i in 0..n as usize {
            let event = events.buf[i];
            // Braces copy the field: `epoll_event` is packed on x86-64.
            if { event.u64 } == NOTIFY_TOKEN as u64 {
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
        let mut counter = [0u8; 8];
        // Non-blocking: `WouldBlock` only if a concurrent `wait` on another
        // thread drained it first, which is just as good.
        let _ = (&self.eventfd).read(&mut counter);
        self.notified.swap(false, Ordering::AcqRel);
    }

    /// Makes a concurrent or the next `wait` return. Any thread.
    pub(crate) fn notify(&self) -> io::Result<()> {
        if self.notified.swap(true, Ordering::AcqRel) {
            // A wake-up is already pending and no `wait` has consumed it.
            return Ok(());
        }
        loop {
            match (&self.eventfd).write(&1u64.to_ne_bytes()) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // The counter is at its maximum, hence readable: the waiter
                // wakes up all the same.
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => {
                    self.notified.store(false, Ordering::Release);
                    return Err(e);
                }
            }
        }
    }
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poller")
            .field("epoll", &self.epoll.as_raw_fd())
            .field("eventfd", &self.eventfd.as_raw_fd())
            .finish()
    }
}

/// Converts a timeout for `epoll_wait`: `-1` for none, otherwise whole
/// milliseconds rounded *up* (so a wait never ends before its deadline
/// because of rounding), clamped to `c_int::MAX` (about 24 days).
fn timeout_ms(timeout: Option<Duration>) -> c_int {
    match timeout {
        None => -1,
        Some(t) => c_int::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(c_int::MAX),
    }
}

/// A buffer for the events of one `wait`.
pub(crate) struct Events {
    buf: Box<[libc::epoll_event]>,
    len: usize,
}

impl Events {
    /// Room for `capacity` events per `wait` (at least one).
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.clamp(1, c_int::MAX as usize);
        Events {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// The events of the last `wait`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.len].iter().map(|raw| {
            // Copy the fields out: `epoll_event` is packed on x86-64.
            let (flags, token) = (raw.events as c_int, raw.u64 as usize);
            Event {
                token,
                readable: flags & libc::EPOLLIN != 0,
                writable: flags & libc::EPOLLOUT != 0,
                read_closed: flags & (libc::EPOLLRDHUP | libc::EPOLLHUP) != 0,
                write_closed: flags & libc::EPOLLHUP != 0,
                error: flags & libc::EPOLLERR != 0,
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
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(999))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_millis(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1001))), 2);
        assert_eq!(timeout_ms(Some(Duration::from_secs(3))), 3000);
        assert_eq!(timeout_ms(Some(Duration::from_secs(1 << 40))), c_int::MAX);
        assert_eq!(timeout_ms(Some(Duration::MAX)), c_int::MAX);
    }

    #[test]
    fn notification_is_coalesced_into_one_eventfd_write() {
        let poller = Poller::new().unwrap();
        for _ in 0..10 {
            poller.notify().unwrap();
        }
        // One write of 1, not ten: the counter reads 1.
        let mut counter = [0u8; 8];
        (&poller.eventfd).read_exact(&mut counter).unwrap();
        assert_eq!(u64::from_ne_bytes(counter), 1);
    }

    #[test]
    fn adding_twice_is_refused() {
        use std::os::unix::net::UnixStream;
        let poller = Poller::new().unwrap();
        let (a, _b) = UnixStream::pair().unwrap();
        poller.add(a.as_raw_fd(), 1).unwrap();
        let err = poller.add(a.as_raw_fd(), 2).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
    }

    #[test]
    fn events_capacity_is_at_least_one() {
        assert_eq!(Events::with_capacity(0).buf.len(), 1);
    }
}
