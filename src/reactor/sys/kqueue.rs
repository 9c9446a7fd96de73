//! macOS/BSD backend: a kqueue with one `EV_CLEAR` (edge-triggered) filter
//! per direction for every fd, and an `EVFILT_USER` event for notifications
//! from other threads.
//!
//! This file mirrors `epoll.rs` call for call and follows the same
//! [contract](super). It is written against nix's kqueue wrappers
//! (`nix::sys::event`) for Apple targets, FreeBSD and DragonFly BSD. This
//! repository's machines and CI run Linux only, so it has never run: it was
//! type-checked and linted (clippy) from Linux for `x86_64-apple-darwin` and
//! `x86_64-unknown-freebsd`, nothing more. The contract tests in
//! `sys/mod.rs` are what to run first on a Mac or a BSD.

use std::ffi::c_int;
use std::fmt;
use std::io::{self, ErrorKind};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::event::{EvFlags, EventFilter, FilterFlag, KEvent, Kqueue};
use nix::sys::time::TimeSpec;

use super::{Event, NOTIFY_TOKEN};

/// The ident of the notification event. `EVFILT_USER` idents are a name
/// space of their own, unrelated to fd numbers.
const NOTIFY_IDENT: usize = 0;

/// Longest single wait, in seconds (about three years).
const MAX_TIMEOUT_SECS: u64 = 100_000_000;

/// A kqueue with its notification event. See the [contract](super).
pub(crate) struct Poller {
    kq: Kqueue,
    /// True from the `notify` that triggered the user event until the `wait`
    /// that received it (which resets it, thanks to `EV_CLEAR`). While it is
    /// set, further `notify` calls skip the system call.
    notified: AtomicBool,
}

/// Builds a change or an empty event slot.
fn kevent(
    ident: usize,
    filter: EventFilter,
    flags: EvFlags,
    fflags: FilterFlag,
    token: usize,
) -> KEvent {
    // The token is an integer carried in the pointer-sized user data; it is
    // never dereferenced. nix zeroes the fields it takes no argument for.
    KEvent::new(ident, filter, flags, fflags, 0, token as isize)
}

impl Poller {
    /// Opens the kqueue (close-on-exec) and adds the notification event.
    pub(crate) fn new() -> io::Result<Poller> {
        let kq = Kqueue::new()?;
        // macOS has no `kqueue1`: set close-on-exec separately.
        fcntl(&kq, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        let poller = Poller {
            kq,
            notified: AtomicBool::new(false),
        };
        poller.apply(
            [kevent(
                NOTIFY_IDENT,
                EventFilter::EVFILT_USER,
                EvFlags::EV_ADD | EvFlags::EV_CLEAR | EvFlags::EV_RECEIPT,
                FilterFlag::empty(),
                NOTIFY_TOKEN,
            )],
            &[],
        )?;
        Ok(poller)
    }

    /// Submits `changes`, each of which must carry `EV_RECEIPT`, and returns
    /// the first error among the receipts whose errno is not in `ignore`.
    fn apply<const N: usize>(&self, changes: [KEvent; N], ignore: &[Errno]) -> io::Result<()> {
        // With `EV_RECEIPT` on every change the kernel writes exactly one
        // receipt per change into the event list, never more than `N`. C
        // callers may pass the same array as both lists; nix borrows the
        // change list shared and the event list exclusively, so the receipts
        // get an array of their own (a copy of the changes, on the stack).
        let mut receipts = changes;
        // A zero timeout only keeps the call from waiting for unrelated
        // events.
        let zero = *TimeSpec::new(0, 0).as_ref();
        let n = match self.kq.kevent(&changes, &mut receipts, Some(zero)) {
            Ok(n) => n,
            // kevent(2): on EINTR the change list has been applied.
            Err(Errno::EINTR) => return Ok(()),
            Err(err) => return Err(err.into()),
        };
        for receipt in &receipts[..n] {
            let errno = receipt.data() as c_int;
            if receipt.flags().contains(EvFlags::EV_ERROR)
                && errno != 0
                && !ignore.iter().any(|&e| e as c_int == errno)
            {
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
            return Err(Errno::EBADF.into());
        }
        let flags = EvFlags::EV_ADD | EvFlags::EV_CLEAR | EvFlags::EV_RECEIPT;
        let none = FilterFlag::empty();
        let ident = fd as usize;
        // Adding an existing filter just updates it on kqueue, where epoll
        // says EEXIST; the contract follows epoll, and the reactor never adds
        // an fd twice, so this backend does not check.
        self.apply(
            [
                kevent(ident, EventFilter::EVFILT_READ, flags, none, token),
                kevent(ident, EventFilter::EVFILT_WRITE, flags, none, token),
            ],
            // macOS refuses a write filter on a pipe whose reader is gone
            // with EPIPE; the fd is then already at end of file and the read
            // filter reports that.
            &[Errno::EPIPE],
        )
    }

    /// Removes both filters of `fd`; the fd itself stays open.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        if fd < 0 {
            return Err(Errno::EBADF.into());
        }
        let flags = EvFlags::EV_DELETE | EvFlags::EV_RECEIPT;
        let none = FilterFlag::empty();
        let ident = fd as usize;
        self.apply(
            [
                kevent(ident, EventFilter::EVFILT_READ, flags, none, 0),
                kevent(ident, EventFilter::EVFILT_WRITE, flags, none, 0),
            ],
            &[],
        )
    }

    /// Waits for events, a notification, a signal or the timeout.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.len = 0;
        // kqueue takes nanoseconds: no rounding needed, only clamping. Some
        // BSD interfaces refuse very long timeouts (macOS's select(2) rejects
        // more than 10^8 seconds); three years is as good as forever.
        let ts = timeout.map(|t| {
            let t = Duration::new(t.as_secs().min(MAX_TIMEOUT_SECS), t.subsec_nanos());
            *TimeSpec::from_duration(t).as_ref()
        });
        // No changes; the kernel writes at most `events.buf.len()` events
        // into the buffer, which nix lends it as is.
        let n = match self.kq.kevent(&[], &mut events.buf, ts) {
            Ok(n) => n,
            Err(Errno::EINTR) => return Ok(()),
            Err(err) => return Err(err.into()),
        };
        // Keep the fd events, consume the notification (it is not reported;
        // `EV_CLEAR` already reset it when the kernel returned it).
        let mut kept = 0;
        for i in 0..n {
            let event = events.buf[i];
            if event.filter() == Ok(EventFilter::EVFILT_USER) {
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
            [kevent(
                NOTIFY_IDENT,
                EventFilter::EVFILT_USER,
                EvFlags::EV_RECEIPT,
                FilterFlag::NOTE_TRIGGER,
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
            .field("kqueue", &self.kq.as_fd().as_raw_fd())
            .finish()
    }
}

/// A buffer for the events of one `wait`. nix's `KEvent` is `Send` (its
/// user data is only ever read as an integer), so this is too.
pub(crate) struct Events {
    buf: Box<[KEvent]>,
    len: usize,
}

impl Events {
    /// Room for `capacity` events per `wait` (at least one).
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        // At most `c_int::MAX`: nix passes the slice's length as a `c_int`.
        let capacity = capacity.clamp(1, c_int::MAX as usize);
        // The slots' contents do not matter (the kernel overwrites those it
        // reports, and only those are read); nix needs some filter.
        let empty = kevent(
            0,
            EventFilter::EVFILT_READ,
            EvFlags::empty(),
            FilterFlag::empty(),
            0,
        );
        Events {
            buf: vec![empty; capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// The events of the last `wait`. Each filter is reported separately,
    /// so one fd can appear twice (once readable, once writable).
    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.buf[..self.len].iter().map(|raw| {
            let flags = raw.flags();
            let eof = flags.contains(EvFlags::EV_EOF);
            // With EV_EOF, `fflags` holds the socket's pending error, if any.
            let error = flags.contains(EvFlags::EV_ERROR) || (eof && raw.fflags().bits() != 0);
            let mut event = Event {
                token: raw.udata() as usize,
                error,
                ..Event::default()
            };
            match raw.filter() {
                Ok(EventFilter::EVFILT_READ) => {
                    event.readable = true;
                    event.read_closed = eof;
                }
                Ok(EventFilter::EVFILT_WRITE) => {
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
