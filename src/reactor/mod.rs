//! The reactor: readiness of file descriptors, turned into task wake-ups.
//!
//! This is corio's low-level I/O layer, public for programs that use corio
//! as a runtime toolkit. A [`Reactor`] wraps the operating system's poller
//! (epoll on Linux, kqueue on macOS and the BSDs). An I/O object
//! [registers](Reactor::register) its non-blocking fd once and gets a
//! [`Registration`]; when an operation on the fd fails with `WouldBlock`, the
//! task parks its [`Waker`] in the registration, and the thread that runs the
//! scheduler calls [`Reactor::turn`] when it has nothing else to do, which
//! sleeps in the poller and wakes every task whose fd became ready.
//! [`Reactor::notify`] interrupts that sleep from any thread.
//!
//! ```
//! use corio::reactor::{Direction, Reactor};
//! use std::io::{Read, Write};
//! use std::os::fd::AsRawFd;
//! use std::os::unix::net::UnixStream;
//! use std::task::{Context, Poll, Waker};
//!
//! # fn main() -> std::io::Result<()> {
//! let reactor = Reactor::new()?;
//! let (mut a, b) = UnixStream::pair()?;
//! b.set_nonblocking(true)?;
//! let reg = reactor.register(b.as_raw_fd())?;
//!
//! // A real task passes its own waker; this example polls by hand.
//! let mut cx = Context::from_waker(Waker::noop());
//! let mut buf = [0u8; 16];
//! let mut read = |cx: &mut Context<'_>| reg.poll_io(cx, Direction::Read, || (&b).read(&mut buf));
//!
//! assert!(read(&mut cx).is_pending()); // nothing sent yet: the waker is parked
//! a.write_all(b"hello")?;
//! let n = loop {
//!     match read(&mut cx) {
//!         Poll::Ready(n) => break n?,
//!         Poll::Pending => {
//!             reactor.turn(None)?; // sleeps until `b` is readable
//!         }
//!     }
//! };
//! assert_eq!(n, 5);
//! # Ok(())
//! # }
//! ```
//!
//! # Edge-triggered, registered once
//!
//! Every fd is registered once, for reading and writing at the same time,
//! *edge-triggered* (epoll `EPOLLET`, kqueue `EV_CLEAR`): the poller reports
//! a change of readiness (new data, new buffer space, a hangup) once, not for
//! as long as it lasts. In exchange, the steady state needs no system call
//! besides the reads and writes themselves: nothing is re-armed after an
//! event (as oneshot registration would require) and nothing is modified
//! when a task switches between reading and writing.
//!
//! The price is a rule for the I/O code, which [`Registration::poll_io`] and
//! [`Registration::blocking_io`] follow: after readiness is reported, keep
//! doing I/O until the kernel says `WouldBlock`, and only then wait. The
//! registration remembers readiness in atomic bits, so an edge that arrives
//! while nobody waits is not lost; a `WouldBlock` clears the bit for that
//! direction ([`Registration::clear_readiness`]).
//!
//! A new registration starts out *ready in both directions*: the first read
//! or write is simply attempted, without waiting for the poller to confirm
//! what is usually true (a fresh socket is writable) or to report data that
//! is already there. The event the kernel delivers for the initial state
//! only confirms it.
//!
//! # Tokens
//!
//! Each registration lives in a slot of the reactor's registry. Its token,
//! which the poller hands back with every event, is the slot index in the
//! low bits and the slot's generation (bumped whenever the slot is freed) in
//! the high bits, with the top bit always clear (the poller reserves
//! `usize::MAX` for its own notifications). An event that was already
//! fetched from the kernel when its registration was dropped, on another
//! thread, therefore finds a slot of another generation and is ignored
//! instead of waking whoever reuses the slot.
//!
//! # Wakers
//!
//! A registration keeps a list of wakers per direction: a read half and a
//! write half of one socket can be used by two tasks at once, and several
//! tasks may wait in the same direction (two tasks accepting on one
//! listener). An event wakes every waker waiting in the directions it
//! concerns and empties their lists; those that find nothing to do wait
//! again. A waker equal to one already waiting ([`Waker::will_wake`]) is
//! not added twice, so a task that polls again before the event keeps one
//! entry. A caller that gives up a wait before its event should withdraw
//! its waker with [`Registration::remove_waker`] (`io::Fd` does so when its
//! task is cancelled or times out); the registration does not do it by
//! itself, and a waker left behind stays until the next event in its
//! direction. A hangup wakes both directions, an error wakes both, and a
//! peer's half-close (its write side shut down) wakes the reader only,
//! since writing still works.
//!
//! # Platforms
//!
//! The epoll backend (Linux, Android) is the one the test suite runs. The
//! kqueue backend (macOS, iOS, FreeBSD, DragonFly BSD) mirrors it call for
//! call and has been type-checked for macOS and FreeBSD, but it has never
//! run: this repository's CI runs Linux.

mod readiness;
mod registration;
mod registry;
mod sys;

use std::fmt;
use std::io;
use std::mem;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use crate::util::lock;

use readiness::IoState;
use registry::Registry;
use sys::{Events, Poller};

pub use readiness::{Direction, ReadyEvent};
pub use registration::Registration;

struct Inner {
    poller: Poller,
    registry: Mutex<Registry>,
    turn: Mutex<TurnState>,
}

/// Buffers reused from one turn to the next.
struct TurnState {
    events: Events,
    wakers: Vec<Waker>,
}

/// A poller and the registrations of the fds it watches.
///
/// One reactor serves one scheduler thread, which calls
/// [`turn`](Reactor::turn) when it has nothing runnable. The handle is cheap to
/// clone and is `Send + Sync`, so other threads can keep one to
/// [`notify`](Reactor::notify) the scheduler, and I/O objects on any
/// thread can [`register`](Reactor::register). The OS resources are
/// released when the last handle and the last [`Registration`] are gone.
#[derive(Clone)]
pub struct Reactor {
    inner: Arc<Inner>,
}

impl Reactor {
    /// Opens a poller that returns up to 1024 events per turn.
    pub fn new() -> io::Result<Reactor> {
        Reactor::with_event_capacity(sys::DEFAULT_EVENT_CAPACITY)
    }

    /// Opens a poller that returns up to `capacity` events per turn (at least
    /// one). Events beyond it are not lost: they stay queued in the kernel
    /// for the next turn.
    pub fn with_event_capacity(capacity: usize) -> io::Result<Reactor> {
        Ok(Reactor {
            inner: Arc::new(Inner {
                poller: Poller::new()?,
                registry: Mutex::new(Registry::default()),
                turn: Mutex::new(TurnState {
                    events: Events::with_capacity(capacity),
                    wakers: Vec::new(),
                }),
            }),
        })
    }

    /// Registers `fd` for readiness in both directions, edge-triggered.
    ///
    /// The fd should be in non-blocking mode, and must stay open until the
    /// returned [`Registration`] is dropped or
    /// [deregistered](Registration::deregister): it is borrowed, not owned,
    /// and the reactor never closes it. An fd can be registered with one
    /// reactor once at a time.
    ///
    /// Fails if the fd is invalid or already registered (on Linux), or if
    /// the fd kind cannot be polled (a regular file under epoll).
    pub fn register(&self, fd: RawFd) -> io::Result<Registration> {
        let io = Arc::new(IoState::new());
        let token = lock(&self.inner.registry).insert(Arc::clone(&io))?;
        if let Err(err) = self.inner.poller.add(fd, token) {
            lock(&self.inner.registry).remove(token);
            return Err(err);
        }
        Ok(Registration {
            io,
            reactor: Arc::clone(&self.inner),
            token,
            fd,
            registered: true,
        })
    }

    /// Waits once for I/O readiness, then wakes every task whose fd became
    /// ready, and returns how many wakers it woke.
    ///
    /// `timeout` is how long to sleep at most when nothing is ready: `None`
    /// sleeps until an event or a [`notify`](Reactor::notify),
    /// `Some(Duration::ZERO)` only collects what is already there. A
    /// scheduler passes the time until its next timer; the sleep is never
    /// shortened by rounding, so that timer is not early. The call can also
    /// return earlier (a notification, a signal): the caller re-checks its
    /// run queue and timers either way.
    ///
    /// Wakers run after the reactor has released all its locks, so a waker
    /// may use the reactor (register, drop a registration, notify, even
    /// turn). Turns from several threads at once are serialized.
    pub fn turn(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let mut wakers = {
            let mut state = lock(&self.inner.turn);
            let TurnState { events, wakers } = &mut *state;
            self.inner.poller.wait(events, timeout)?;
            let registry = lock(&self.inner.registry);
            for event in events.iter() {
                if let Some(io) = registry.get(event.token) {
                    io.dispatch(&event, wakers);
                }
            }
            mem::take(wakers)
        };
        let woken = wakers.len();
        for waker in wakers.drain(..) {
            waker.wake();
        }
        // Hand the empty buffer back so the next turn does not allocate.
        let mut state = lock(&self.inner.turn);
        if state.wakers.capacity() < wakers.capacity() {
            state.wakers = wakers;
        }
        Ok(woken)
    }

    /// Makes a [`turn`](Reactor::turn) that is sleeping on another thread
    /// return now, or, if none is sleeping, the next one return at once.
    /// Callable from any thread; notifications that no turn has consumed yet
    /// are merged into one. Typical use: push a task on the scheduler's
    /// queue, then notify.
    pub fn notify(&self) -> io::Result<()> {
        self.inner.poller.notify()
    }

    /// How many registrations are alive.
    pub fn registrations(&self) -> usize {
        lock(&self.inner.registry).len()
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("poller", &self.inner.poller)
            .field("registrations", &self.registrations())
            .finish()
    }
}
