//! macOS/BSD backend: a kqueue with one `EV_CLEAR` (edge-triggered) filter
//! per direction for every fd, and an `EVFILT_USER` event for notifications
//! from other threads.
//!
//! This file mirrors `epoll.rs` call for call and follows the same
//! [contract](super). It is written against the `libc` crate's definitions
//! for Apple targets, FreeBSD and DragonFly BSD. This repository's machines
//! and CI run Linux only, so it has never run: it was type-checked and
//! linted (clippy) on Linux against a copy of `libc` 0.2's Apple and
//! FreeBSD 12+ kqueue declarations, nothing more. The contract tests in
//! `sys/mod.rs` are what to run first on a Mac or a BSD.

use std::fmt;
use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use libc::c_int;

use super::{cvt, Event, NOTIFY_TOKEN};

/// The ident of the notification event. `EVFILT_USER` idents are a name
/// space of their own, unrelated to fd numbers.
const NOTIFY_IDENT: usize = 0;

/// Longest single wait, in seconds (about three years).
const MAX_TIMEOUT_SECS: u64 = 100_000_000;

/// A kqueue with its notification event. See the [contract](super).
pub(crate) struct Poller {
    kq: OwnedFd,
    /// True from the `notify` that triggered the user event until the `wait`
    /// that received it (which resets it, thanks to `EV_CLEAR`). While it is
    /// set, further `notify` calls skip the system call.
    notified: AtomicBool,
}

/// Builds a change or an empty event slot.
fn kevent(ident: usize, filter: i16, flags: u16, fflags: u32, token: usize) -> libc::kevent {
    // SAFETY: `kevent` is a plain C struct of integers and one raw pointer
    // (plus, on FreeBSD 12+, an array of integers); all-zero bits are a
    // valid value for every field, and the null pointer for `udata`.
    let mut ev: libc::kevent = unsafe { std::mem::zeroed() };
    ev.ident = ident as libc::uintptr_t;
    ev.filter = filter;
    ev.flags = flags;
    ev.fflags = fflags;
    // The token is an integer carried in the pointer-sized user data; it is
    // never dereferenced.
    ev.udata = ptr::without_provenance_mut(token);
    ev
}

impl Poller {
    /// Opens the kqueue (close-on-exec) and adds the notification event.
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: `kqueue` takes no arguments; its result is checked.
        let fd = cvt(unsafe { libc::kqueue() })?;
        // SAFETY: `fd` was just returned by the kernel and nothing else owns
        // it, so `OwnedFd` may take it over (and close it on drop).
        let kq = unsafe { OwnedFd::from_raw_fd(fd) };
        // macOS has no `kqueue1`: set close-on-exec separately.
        // SAFETY: `F_SETFD` takes an int argument; `kq` is open.
        cvt(unsafe { libc::fcntl(kq.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
        let poller = Poller {
            kq,
            notified: AtomicBool::new(false),
        };
        poller.apply(
            &mut [kevent(
                NOTIFY_IDENT,
                libc::EVFILT_USER,
                libc::EV_ADD | libc::EV_CLEAR | libc::EV_RECEIPT,
                0,
                NOTIFY_TOKEN,
            )],
            &[],
        )?;
        Ok(poller)
    }

    /// Submits `changes`, each of which must carry `EV_RECEIPT`, and returns
    /// the first error among the receipts whose errno is not in `ignore`.
    fn apply(&self, changes: &mut [libc::kevent], ignore: &[c_int]) -> io::Result<()> {
        let n = c_int::try_from(changes.len()).expect("a handful of changes");
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // One pointer for both lists: kevent(2) allows the change list and
        // the event list to be the same array.
        let list = changes.as_mut_ptr();
        // SAFETY: `list` points to `n` initialised kevents, exclusively
        // borrowed for the call; with `EV_RECEIPT` on every change the kernel
        // writes exactly one receipt per change back into the same array,
        // never more than `n`. `zero` lives across the call (it only keeps
        // the call from waiting for unrelated events). The kqueue is open.
        let rc = unsafe { libc::kevent(self.kq.as_raw_fd(), list, n, list, n, &zero) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            // kevent(2): on EINTR the change list has been applied.
            return match err.kind() {
                ErrorKind::Interrupted => Ok(()),
                _ => Err(err),
            };
        }
        for receipt in &changes[..rc as usize] {
            let errno = receipt.data as c_int;
            if receipt.flags & libc::EV_ERROR != 0 && errno != 0 && !ignore.contains(&errno) {
                return Err(io::Error::from_raw_os_error(errno));
            }
        }
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
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let flags = libc::EV_ADD | libc::EV_CLEAR | libc::EV_RECEIPT;
        let ident = fd as usize;
        // Adding an existing filter just updates it on kqueue, where epoll
        // says EEXIST; the contract follows epoll, and the reactor never adds
        // an fd twice, so this backend does not check.
        self.apply(
            &mut [
                kevent(ident, libc::EVFILT_READ, flags, 0, token),
                kevent(ident, libc::EVFILT_WRITE, flags, 0, token),
            ],
            // macOS refuses a write filter on a pipe whose reader is gone
            // with EPIPE; the fd is then already at end of file and the read
            // filter reports that.
            &[libc::EPIPE],
        )
    }

    /// Removes both filters of `fd`; the fd itself stays open.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let flags = libc::EV_DELETE | libc::EV_RECEIPT;
        let ident = fd as usize;
        self.apply(
            &mut [
                kevent(ident, libc::EVFILT_READ, flags, 0, 0),
                kevent(ident, libc::EVFILT_WRITE, flags, 0, 0),
            ],
            &[],
        )
    }

    /// Waits for events, a notification, a signal or the timeout.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.len = 0;
        let max = c_int::try_from(events.buf.len()).unwrap_or(c_int::MAX);
        // kqueue takes nanoseconds: no rounding needed, only clamping. Some
        // BSD interfaces refuse very long timeouts (macOS's select(2) rejects
        // more than 10^8 seconds); three years is as good as forever.
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(MAX_TIMEOUT_SECS) as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(ptr::null(), |ts| ts as *const libc::timespec);
        // SAFETY: no changes are passed (null, 0). `events.buf` is an
        // initialised, writable array of at least `max` kevents, exclusively
        // borrowed for the call; the kernel writes at most `max` into it.
        // `ts_ptr` is null or points to `ts`, which outlives the call. The
        // kqueue is open.
        let n = unsafe {
            libc::kevent(
                self.kq.as_raw_fd(),
                ptr::null(),
                0,
                events.buf.as_mut_ptr(),
                max,
                ts_ptr,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                ErrorKind::Interrupted => Ok(()),
                _ => Err(err),
            };
        }
        // Keep the fd events, consume the notification (it is not reported;
        // `EV_CLEAR` already reset it when the kernel returned it).
        let mut kept = 0;
        for i in 0..n as usize {
            let event = events.buf[i];
            if event.filter == libc::EVFILT_USER {
                // Same ordering argument as the epoll backend: a `notify`
                // after this clear triggers the event again.
                self.notified.swap(false, Ordering::AcqRel);
            } else {
                events.buf[kept] = event;
                kept += 1;
            }
        }
        events.len = kept;
        Ok(())
    }

    /// Makes a concurrent or the next `wait` return. Any thread.
    pub(crate) fn notify(&self) -> io::Result<()> {
        if self.notified.swap(true, Ordering::AcqRel) {
            // A wake-up is already pending and no `wait` has consumed it.
            return Ok(());
        }
        let result = self.apply(
            &mut [kevent(
                NOTIFY_IDENT,
                libc::EVFILT_USER,
                libc::EV_RECEIPT,
                libc::NOTE_TRIGGER,
                NOTIFY_TOKEN,
            )],
            &[],
        );
        if result.is_err() {
            self.notified.store(false, Ordering::Release);
        }
        result
    }
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poller")
            .field("kqueue", &self.kq.as_raw_fd())
            .finish()
    }
}

/// A buffer for the events of one `wait`.
pub(crate) struct Events {
    buf: Box<[libc::kevent]>,
    len: usize,
}

// SAFETY: the only field of `kevent` that is not `Send` is `udata`, a raw
// pointer that here only ever carries an integer token and is never
// dereferenced; the buffer is plain owned data.
unsafe impl Send for Events {}

impl Events {
    /// Room for `capacity` events per `wait` (at least one).
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.clamp(1, c_int::MAX as usize);
        Events {
            buf: vec![kevent(0, 0, 0, 0, 0); capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// The events of the last `wait`. Each filter is reported separately,
    /// so one fd can appear twice (once readable, once writable).
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.len].iter().map(|raw| {
            let eof = raw.flags & libc::EV_EOF != 0;
            // With EV_EOF, `fflags` holds the socket's pending error, if any.
            let error = raw.flags & libc::EV_ERROR != 0 || (eof && raw.fflags != 0);
            let mut event = Event {
                token: raw.udata.addr(),
                error,
                ..Event::default()
            };
            match raw.filter {
                libc::EVFILT_READ => {
                    event.readable = true;
                    event.read_closed = eof;
                }
                libc::EVFILT_WRITE => {
                    event.writable = true;
                    event.write_closed = eof;
                }
                _ => {}
            }
            event
        })
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
