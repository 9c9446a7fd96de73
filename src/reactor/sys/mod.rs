//! The readiness backend: one thin wrapper per OS around its poller.
//!
//! # Contract
//!
//! Every backend exports the same three types with the same behaviour; the
//! rest of the reactor is written against this contract only.
//!
//! - [`Poller::new`] opens the OS poller and the notification channel
//!   (Linux: an epoll instance and an eventfd; macOS/BSD: a kqueue with an
//!   `EVFILT_USER` event). Both are opened close-on-exec and closed when the
//!   `Poller` is dropped. `Poller` is `Send + Sync`.
//! - [`Poller::add`]`(fd, token)` registers `fd` **once**, for read and write
//!   readiness together, **edge-triggered** (epoll: `EPOLLIN | EPOLLOUT |
//!   EPOLLRDHUP | EPOLLET`; kqueue: `EVFILT_READ` and `EVFILT_WRITE` with
//!   `EV_CLEAR`). Edge-triggered means an event is delivered when readiness
//!   *changes* (new data, new buffer space, a hangup), not as long as it
//!   lasts; the consumer must therefore do I/O until it gets `WouldBlock`
//!   before it waits again, and in exchange no system call is needed to
//!   re-arm the fd between two reads or writes. `token` is returned with
//!   every event for `fd`; [`NOTIFY_TOKEN`] is reserved and refused with
//!   `InvalidInput`. The fd stays owned by the caller. Adding an fd that is
//!   already registered is not part of the contract (epoll refuses it with
//!   `EEXIST`, kqueue updates the registration); the reactor never does.
//! - [`Poller::delete`]`(fd)` removes the registration. Call it *before*
//!   closing the fd: the poller never closes a registered fd, and on Linux
//!   an fd closed while still registered (with a `dup` alive) keeps
//!   reporting under its old token.
//! - [`Poller::wait`]`(events, timeout)` blocks until at least one event,
//!   a notification, a signal or the timeout, and replaces the contents of
//!   `events` with what arrived (at most its capacity; the rest stays queued
//!   in the kernel for the next call). `None` waits without limit; a timeout
//!   is never cut short by rounding (epoll's millisecond resolution rounds
//!   *up*), so a timer that the caller derived it from never fires early.
//!   `EINTR` is not an error: `wait` returns `Ok` with no events. The
//!   notification itself is never reported as an event. One fd can appear
//!   more than once in a batch (kqueue reports its two filters separately);
//!   consumers merge by token.
//! - [`Poller::notify`]`()` may be called from any thread. It makes a
//!   concurrent `wait` return, or, if none is blocked, the next one. The
//!   notification is consumed inside `wait`, so it causes one early return,
//!   not a spin. Notifications that arrive before a `wait` consumes one are
//!   coalesced.
//! - [`Events::with_capacity`]`(n)` makes a buffer for up to `n` events per
//!   `wait` (at least one); [`Events::iter`] yields [`Event`]s.
//!
//! The epoll backend is the one the test suite runs on. The kqueue backend
//! mirrors it call for call; it is compiled only on Apple targets, FreeBSD
//! and DragonFly BSD, and has been type-checked for macOS and FreeBSD but
//! never run (this repository's machines and CI run Linux). The contract
//! tests below use only this module's API, so they run unchanged on a Mac
//! or a BSD.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod epoll;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use epoll::{Events, Poller};

#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly"
))]
mod kqueue;
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly"
))]
pub(crate) use kqueue::{Events, Poller};

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly"
)))]
compile_error!(
    "corio's reactor supports Linux/Android (epoll) and macOS/iOS/FreeBSD/DragonFly (kqueue) only"
);

/// The token reserved for the poller's own notification channel; `add`
/// refuses it. The reactor's tokens never have the top bit set.
pub(crate) const NOTIFY_TOKEN: usize = usize::MAX;

/// Events a backend allocates room for when the caller has no opinion.
pub(crate) const DEFAULT_EVENT_CAPACITY: usize = 1024;

/// One readiness report for a registered fd, platform-neutral.
///
/// `read_closed` means the read side reached end of file (the peer shut down
/// writing, or the whole connection hung up); `write_closed` means writes
/// can no longer succeed (full hangup). `error` means the fd has a pending
/// error that the next read or write will return. None of these flags
/// excludes the others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Event {
    /// The token the fd was registered with.
    pub(crate) token: usize,
    /// Data (or end of file) can be read.
    pub(crate) readable: bool,
    /// Buffer space is available for writing.
    pub(crate) writable: bool,
    /// The read side is shut down: reads return end of file.
    pub(crate) read_closed: bool,
    /// The write side is shut down: writes fail.
    pub(crate) write_closed: bool,
    /// The fd has an error pending.
    pub(crate) error: bool,
}

impl Event {
    /// Merges another report for the same fd into this one.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn merge(&mut self, other: &Event) {
        debug_assert_eq!(self.token, other.token);
        self.readable |= other.readable;
        self.writable |= other.writable;
        self.read_closed |= other.read_closed;
        self.write_closed |= other.write_closed;
        self.error |= other.error;
    }
}

#[cfg(test)]
mod tests {
    //! Contract tests: only `Poller`, `Events` and `Event` are used, so they
    //! hold for every backend.
    use super::*;
    use std::io::{ErrorKind, Read, Write};
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    use std::thread;
    use std::time::Duration;

    fn pair() -> (UnixStream, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    /// Waits until some event for `token` arrives and returns all reports
    /// for it merged. Events for other tokens are ignored. Each `wait` has
    /// a generous limit so a broken backend fails instead of hanging.
    fn wait_for(poller: &Poller, events: &mut Events, token: usize) -> Event {
        for _ in 0..100 {
            poller
                .wait(events, Some(Duration::from_millis(100)))
                .unwrap();
            let mut merged: Option<Event> = None;
            for ev in events.iter().filter(|ev| ev.token == token) {
                match &mut merged {
                    Some(m) => m.merge(&ev),
                    None => merged = Some(ev),
                }
            }
            if let Some(ev) = merged {
                return ev;
            }
        }
        panic!("no event for token {token}");
    }

    /// Waits once without blocking and returns the events for `token`.
    fn poll_now(poller: &Poller, events: &mut Events, token: usize) -> Vec<Event> {
        poller.wait(events, Some(Duration::ZERO)).unwrap();
        events.iter().filter(|ev| ev.token == token).collect()
    }

    fn drain(s: &mut UnixStream) -> usize {
        let mut buf = [0u8; 4096];
        let mut total = 0;
        loop {
            match s.read(&mut buf) {
                Ok(0) => return total,
                Ok(n) => total += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return total,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    #[test]
    fn poller_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Poller>();
    }

    #[test]
    fn write_makes_peer_readable_under_its_token() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (mut a, b) = pair();
        poller.add(b.as_raw_fd(), 42).unwrap();
        a.write_all(b"ping").unwrap();
        let ev = wait_for(&poller, &mut events, 42);
        assert!(ev.readable);
        assert!(!ev.read_closed);
        poller.delete(b.as_raw_fd()).unwrap();
    }

    #[test]
    fn fresh_registration_reports_writable() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (a, _b) = pair();
        poller.add(a.as_raw_fd(), 7).unwrap();
        let ev = wait_for(&poller, &mut events, 7);
        assert!(ev.writable);
        assert!(!ev.readable);
    }

    #[test]
    fn edge_triggered_reports_once_per_change() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (mut a, mut b) = pair();
        poller.add(b.as_raw_fd(), 1).unwrap();
        a.write_all(b"one").unwrap();
        assert!(wait_for(&poller, &mut events, 1).readable);
        // Data is still unread, but nothing changed: no new event.
        assert!(poll_now(&poller, &mut events, 1).is_empty());
        assert!(poll_now(&poller, &mut events, 1).is_empty());
        // New data is a new edge, even though the old data is still there.
        a.write_all(b"two").unwrap();
        assert!(wait_for(&poller, &mut events, 1).readable);
        assert_eq!(drain(&mut b), 6);
        assert!(poll_now(&poller, &mut events, 1).is_empty());
    }

    #[test]
    fn timeout_returns_with_no_events() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        poller
            .wait(&mut events, Some(Duration::from_millis(5)))
            .unwrap();
        assert!(events.iter().next().is_none());
        // Sub-millisecond and zero timeouts are fine too.
        poller
            .wait(&mut events, Some(Duration::from_nanos(1)))
            .unwrap();
        assert!(events.iter().next().is_none());
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.iter().next().is_none());
        // Huge timeouts are clamped, not rejected (returns at once here,
        // thanks to the pending notification).
        poller.notify().unwrap();
        poller.wait(&mut events, Some(Duration::MAX)).unwrap();
    }

    #[test]
    fn notify_from_another_thread_wakes_a_blocked_wait() {
        let poller = Arc::new(Poller::new().unwrap());
        let returned = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let waiter = {
            let poller = Arc::clone(&poller);
            let returned = Arc::clone(&returned);
            thread::spawn(move || {
                let mut events = Events::with_capacity(8);
                tx.send(()).unwrap();
                poller.wait(&mut events, None).unwrap();
                returned.store(true, Ordering::SeqCst);
                // The notification is not an event.
                events.iter().count()
            })
        };
        rx.recv().unwrap();
        // Whether the waiter is already blocked or about to block, the
        // notification makes its `wait` return.
        poller.notify().unwrap();
        assert_eq!(waiter.join().unwrap(), 0);
        assert!(returned.load(Ordering::SeqCst));
    }

    #[test]
    fn notify_before_wait_is_kept_then_consumed() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        poller.notify().unwrap();
        poller.notify().unwrap(); // coalesced with the first
        poller.wait(&mut events, None).unwrap(); // returns: notified
        assert_eq!(events.iter().count(), 0);
        // Consumed: a zero-timeout wait finds nothing, so a scheduler that
        // waits again does not spin on a stale notification.
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.iter().count(), 0);
        // And a later notification works again.
        poller.notify().unwrap();
        poller.wait(&mut events, None).unwrap();
    }

    #[test]
    fn delete_stops_events() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (mut a, b) = pair();
        poller.add(b.as_raw_fd(), 5).unwrap();
        let _ = wait_for(&poller, &mut events, 5); // initial writable edge
        poller.delete(b.as_raw_fd()).unwrap();
        a.write_all(b"late").unwrap();
        assert!(poll_now(&poller, &mut events, 5).is_empty());
        // Deleted means really gone: adding it again is accepted.
        poller.add(b.as_raw_fd(), 6).unwrap();
        assert!(wait_for(&poller, &mut events, 6).readable);
        // Deleting twice is an error.
        poller.delete(b.as_raw_fd()).unwrap();
        assert!(poller.delete(b.as_raw_fd()).is_err());
    }

    #[test]
    fn reserved_token_and_bad_fd_are_refused() {
        let poller = Poller::new().unwrap();
        let (a, _b) = pair();
        let err = poller.add(a.as_raw_fd(), NOTIFY_TOKEN).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(poller.add(-1, 3).is_err());
    }

    #[test]
    fn peer_close_reports_hangup() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (a, b) = pair();
        poller.add(b.as_raw_fd(), 9).unwrap();
        let _ = wait_for(&poller, &mut events, 9); // initial writable edge
        drop(a);
        let ev = wait_for(&poller, &mut events, 9);
        // Both directions: a full hangup.
        assert!(ev.read_closed, "{ev:?}");
        assert!(ev.write_closed, "{ev:?}");
    }

    #[test]
    fn half_close_reports_read_closed_only() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (a, b) = pair();
        poller.add(b.as_raw_fd(), 10).unwrap();
        let _ = wait_for(&poller, &mut events, 10); // initial writable edge
        a.shutdown(std::net::Shutdown::Write).unwrap();
        let ev = wait_for(&poller, &mut events, 10);
        assert!(ev.read_closed, "{ev:?}");
        assert!(!ev.write_closed, "{ev:?}");
    }

    /// A pipe as two owned, close-on-exec fds (kept out of any child a
    /// concurrent test spawns, so the writer really closes when dropped).
    fn pipe() -> (OwnedFd, OwnedFd) {
        let (read, write) = std::io::pipe().expect("pipe");
        (read.into(), write.into())
    }

    #[test]
    fn pipe_writer_close_reports_read_closed() {
        let (r, w) = pipe();
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        poller.add(r.as_raw_fd(), 11).unwrap();
        drop(w);
        assert!(wait_for(&poller, &mut events, 11).read_closed);
    }

    #[test]
    fn more_ready_fds_than_capacity_are_delivered_over_several_waits() {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(2);
        let pairs: Vec<_> = (0..5).map(|_| pair()).collect();
        for (i, (mut a, b)) in pairs.iter().map(|(a, b)| (a, b)).enumerate() {
            poller.add(b.as_raw_fd(), i).unwrap();
            a.write_all(b"x").unwrap();
        }
        let mut seen = [false; 5];
        for _ in 0..100 {
            poller
                .wait(&mut events, Some(Duration::from_millis(100)))
                .unwrap();
            assert!(events.iter().count() <= 2);
            for ev in events.iter() {
                if ev.readable {
                    seen[ev.token] = true;
                }
            }
            if seen.iter().all(|s| *s) {
                return;
            }
        }
        panic!("not every fd was reported: {seen:?}");
    }

    #[test]
    fn signal_interrupting_wait_is_not_an_error() {
        use std::os::unix::thread::JoinHandleExt;

        use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

        extern "C" fn on_signal(_: std::ffi::c_int) {}

        // No flags, an empty mask, and a handler that does nothing.
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler does nothing, which is async-signal-safe.
        // Installing it for SIGUSR2, which nothing else in this test process
        // uses, cannot disturb other tests.
        unsafe { sigaction(Signal::SIGUSR2, &action) }.unwrap();

        let poller = Arc::new(Poller::new().unwrap());
        let done = Arc::new(AtomicBool::new(false));
        let waiter = {
            let poller = Arc::clone(&poller);
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let mut events = Events::with_capacity(8);
                // Without a timeout and without notifications, only a signal
                // can make this return; the contract says it returns Ok with
                // no events.
                let result = poller.wait(&mut events, None);
                done.store(true, Ordering::SeqCst);
                result.map(|()| events.iter().count())
            })
        };
        let pthread = waiter.as_pthread_t();
        // The signal may land before the thread is blocked in the kernel, in
        // which case it only runs the handler: keep sending until the wait
        // returns.
        for _ in 0..10_000 {
            if done.load(Ordering::SeqCst) {
                break;
            }
            // libc: nix's `pthread_kill` is behind its `pthread` feature, which
            // the crate does not otherwise need.
            // SAFETY: `pthread` names a thread that is still joinable (we join
            // it below), so the id is valid; the handler installed above makes
            // SIGUSR2 harmless.
            unsafe { libc::pthread_kill(pthread, libc::SIGUSR2) };
            thread::sleep(Duration::from_millis(2));
        }
        if !done.load(Ordering::SeqCst) {
            // Do not leave the thread blocked forever before failing.
            poller.notify().unwrap();
            panic!("wait was not interrupted by the signal");
        }
        assert_eq!(waiter.join().unwrap().unwrap(), 0);
    }
}
