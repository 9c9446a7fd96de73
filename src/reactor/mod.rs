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

mod sys;

use std::fmt;
use std::io;
use std::mem;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::util::lock;

use sys::{Events, Poller};

/// A direction of I/O on a registered fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading, or accepting connections.
    Read,
    /// Writing, or completing a connect.
    Write,
}

// The readiness word of a registration: four readiness bits, and above them
// a tick that counts the events dispatched to it (wrapping).
const READABLE: usize = 1;
const WRITABLE: usize = 1 << 1;
const READ_CLOSED: usize = 1 << 2;
const WRITE_CLOSED: usize = 1 << 3;
const READINESS_MASK: usize = 0b1111;
const TICK_ONE: usize = 1 << 4;
const TICK_MASK: usize = !READINESS_MASK;

impl Direction {
    /// The readiness bits that let an operation in this direction proceed
    /// (to data, to end of file, or to an error).
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED,
            Direction::Write => WRITABLE | WRITE_CLOSED,
        }
    }
}

/// Readiness of one direction of a registration, as seen by
/// [`Registration::poll_ready`]: proof that the next I/O call is worth
/// trying, and the ticket to [`Registration::clear_readiness`] if it fails
/// with `WouldBlock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    direction: Direction,
    /// The readiness word's tick when this was observed.
    tick: usize,
    /// The readiness bits when this was observed.
    ready: usize,
}

impl ReadyEvent {
    /// The direction this readiness is for.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The read side has been shut down (the peer closed or shut down its
    /// write side): reads will return end of file once the buffered data is
    /// consumed.
    pub fn is_read_closed(&self) -> bool {
        self.ready & READ_CLOSED != 0
    }

    /// The connection has hung up: writes will fail.
    pub fn is_write_closed(&self) -> bool {
        self.ready & WRITE_CLOSED != 0
    }
}

/// The readiness word and the wakers of one registration, shared by the
/// [`Registration`] and the reactor's registry.
struct IoState {
    /// `READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED` in the low bits, a
    /// wrapping tick in the rest: `dispatch` adds one to it with every event.
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

/// The wakers waiting in each direction. The lists keep their capacity
/// from one wait to the next.
#[derive(Default)]
struct Waiters {
    readers: Vec<Waker>,
    writers: Vec<Waker>,
}

impl Waiters {
    fn list(&mut self, direction: Direction) -> &mut Vec<Waker> {
        match direction {
            Direction::Read => &mut self.readers,
            Direction::Write => &mut self.writers,
        }
    }
}

impl IoState {
    fn new() -> IoState {
        IoState {
            // Presumed ready both ways: see "Edge-triggered" in the module
            // documentation.
            readiness: AtomicUsize::new(READABLE | WRITABLE),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    fn ready(&self, direction: Direction) -> Option<ReadyEvent> {
        let word = self.readiness.load(Ordering::Acquire);
        (word & direction.mask() != 0).then_some(ReadyEvent {
            direction,
            tick: word & TICK_MASK,
            ready: word & READINESS_MASK,
        })
    }

    /// Records an event from the poller and collects the wakers it concerns.
    fn dispatch(&self, event: &sys::Event, wakers: &mut Vec<Waker>) {
        let mut bits = 0;
        if event.readable {
            bits |= READABLE;
        }
        if event.writable {
            bits |= WRITABLE;
        }
        if event.read_closed {
            bits |= READ_CLOSED;
        }
        if event.write_closed {
            bits |= WRITE_CLOSED;
        }
        if event.error {
            // The next read or write returns the error: let both try.
            bits |= READABLE | WRITABLE;
        }
        if bits == 0 {
            return;
        }
        // New bits and a new tick in one atomic step. The update must come
        // before the waiters are taken below: see `poll_ready_with`.
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                Some(word.wrapping_add(TICK_ONE) | bits)
            });
        let mut waiters = lock(&self.waiters);
        for direction in [Direction::Read, Direction::Write] {
            if bits & direction.mask() != 0 {
                wakers.append(waiters.list(direction));
            }
        }
    }
}

/// Slots of registrations, indexed by the low bits of their tokens.
#[derive(Default)]
struct Registry {
    slots: Vec<Slot>,
    /// Indices of free slots, reused last-freed first.
    free: Vec<usize>,
}

struct Slot {
    /// Bumped when the slot is freed, so stale tokens do not match.
    generation: usize,
    io: Option<Arc<IoState>>,
}

/// Token layout: index in the low `INDEX_BITS`, generation above it, top bit
/// clear so no token collides with the poller's reserved `usize::MAX`.
const INDEX_BITS: u32 = if usize::BITS >= 64 { 32 } else { 24 };
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
const GENERATION_MASK: usize = usize::MAX >> (INDEX_BITS + 1);

impl Registry {
    fn insert(&mut self, io: Arc<IoState>) -> io::Result<usize> {
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.slots.len() <= INDEX_MASK => {
                self.slots.push(Slot {
                    generation: 0,
                    io: None,
                });
                self.slots.len() - 1
            }
            None => return Err(io::Error::other("too many registrations in one reactor")),
        };
        let slot = &mut self.slots[index];
        slot.io = Some(io);
        Ok(slot.generation << INDEX_BITS | index)
    }

    fn get(&self, token: usize) -> Option<&Arc<IoState>> {
        let slot = self.slots.get(token & INDEX_MASK)?;
        if slot.generation == token >> INDEX_BITS {
            slot.io.as_ref()
        } else {
            None
        }
    }

    fn remove(&mut self, token: usize) -> Option<Arc<IoState>> {
        let index = token & INDEX_MASK;
        let slot = self.slots.get_mut(index)?;
        if slot.generation != token >> INDEX_BITS {
            return None;
        }
        let io = slot.io.take()?;
        slot.generation = (slot.generation + 1) & GENERATION_MASK;
        self.free.push(index);
        Some(io)
    }

    fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

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

/// An fd's registration with a [`Reactor`]: its readiness and the wakers of
/// the tasks waiting for it.
///
/// Dropping it removes the fd from the poller. Drop it *before* closing the
/// fd: an I/O type declares its `Registration` field before its `OwnedFd`
/// field, so that the fields drop in that order. (Closed first, the fd's
/// number could be reused by a new fd, whose registration the late drop
/// would then remove.) Its methods take `&self`, so it can be shared
/// through an `Arc` and used by several tasks at once, in either direction
/// or the same one.
pub struct Registration {
    io: Arc<IoState>,
    reactor: Arc<Inner>,
    token: usize,
    fd: RawFd,
    registered: bool,
}

impl Registration {
    /// The registered fd.
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// Whether this is a registration with `reactor`.
    pub fn is_with(&self, reactor: &Reactor) -> bool {
        Arc::ptr_eq(&self.reactor, &reactor.inner)
    }

    /// Returns the readiness of `direction` if it is set; otherwise adds
    /// the context's waker to those the reactor's next event for that
    /// direction wakes (unless an equal one waits already), and returns
    /// `Pending`.
    pub fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<ReadyEvent> {
        self.poll_ready_with(cx.waker(), direction)
    }

    /// [`poll_ready`](Registration::poll_ready) for callers that hold a
    /// [`Waker`] rather than a [`Context`], such as a stackful task about to
    /// park.
    pub fn poll_ready_with(&self, waker: &Waker, direction: Direction) -> Poll<ReadyEvent> {
        if let Some(ready) = self.io.ready(direction) {
            return Poll::Ready(ready);
        }
        let mut waiters = lock(&self.io.waiters);
        // Look again, under the lock. `dispatch` sets the bits *before* it
        // takes the lock to collect wakers. If it took the lock before us,
        // its bits are visible now and we return Ready; if after us, it will
        // find the waker we store below. Either way the event is not lost.
        if let Some(ready) = self.io.ready(direction) {
            return Poll::Ready(ready);
        }
        let list = waiters.list(direction);
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
        Poll::Pending
    }

    /// Withdraws `waker` (or an equal one, by [`Waker::will_wake`]) from
    /// those waiting in `direction`, for a wait given up before the fd
    /// became ready: a cancelled task, an expired timeout, a dropped
    /// future. Otherwise the waker stays in the list until the next event
    /// in that direction, which on a quiet fd may be long.
    pub fn remove_waker(&self, direction: Direction, waker: &Waker) {
        let removed = {
            let mut waiters = lock(&self.io.waiters);
            let list = waiters.list(direction);
            list.iter()
                .position(|w| w.will_wake(waker))
                .map(|i| list.swap_remove(i))
        };
        // Dropped outside the lock: a waker's `drop` is user code.
        drop(removed);
    }

    /// How many wakers wait in `direction`.
    #[cfg(test)]
    pub(crate) fn waiting(&self, direction: Direction) -> usize {
        lock(&self.io.waiters).list(direction).len()
    }

    /// Forgets the readiness in `ready` after an I/O call in its direction
    /// failed with `WouldBlock`, so that the next
    /// [`poll_ready`](Registration::poll_ready) waits for a new event.
    ///
    /// `ready` must come from the `poll_ready` that preceded the failed call.
    /// If an event was dispatched since then, nothing is cleared.
    pub fn clear_readiness(&self, ready: ReadyEvent) {
        // Why the tick. With edge-triggered polling, the kernel reports new
        // data once. Take this order of things, the scheduler's turn running
        // on another thread:
        //
        //   1. task: poll_ready -> Ready (tick t)
        //   2. task: read() -> WouldBlock
        //   3. data arrives; the turn dispatches it: READABLE, tick t+1
        //   4. task: clear_readiness
        //
        // Clearing READABLE unconditionally in step 4 would erase the only
        // report of the data from step 3; the task would park and never be
        // woken. So the bits are cleared only if the tick is still t, that
        // is, if no event was dispatched after the `poll_ready` that came
        // before the failed call. An event dispatched in between leaves the
        // bits set and the task simply tries again. The closed bits of the
        // direction are cleared too: `WouldBlock` is the kernel saying the
        // fd is no longer at end of file, and leaving them set would make a
        // retry loop spin. The tick wraps; a clear could only go wrong if
        // exactly a multiple of 2^(usize::BITS - 4) events arrived between
        // steps 1 and 4.
        let clear = ready.direction.mask();
        let _ = self
            .io
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                (word & TICK_MASK == ready.tick).then_some(word & !clear)
            });
    }

    /// Runs a non-blocking I/O operation when `direction` is ready, the way
    /// an `AsyncRead`/`AsyncWrite` implementation would: on `WouldBlock` it
    /// clears readiness and tries again if an event arrived meanwhile, else
    /// stores the waker and returns `Pending`. Any other result, error or
    /// not, is returned.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ready = std::task::ready!(self.poll_ready(cx, direction));
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ready),
                result => return Poll::Ready(result),
            }
        }
    }

    /// Runs a non-blocking I/O operation in a blocking style, for stackful
    /// tasks: whenever the fd is not ready, it stores `waker` and calls
    /// `park`, then tries again. Returns the first result that is not
    /// `WouldBlock`.
    ///
    /// `park` must return once `waker` has been woken, and must not miss a
    /// wake-up that happened after the waker was stored but before `park`
    /// was called (a scheduler typically keeps a "notified" flag per task,
    /// as [`std::thread::park`] keeps a token). Returning spuriously is fine.
    pub fn blocking_io<R>(
        &self,
        direction: Direction,
        waker: &Waker,
        mut park: impl FnMut(),
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            match self.poll_ready_with(waker, direction) {
                Poll::Ready(ready) => match op() {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        self.clear_readiness(ready)
                    }
                    result => return result,
                },
                Poll::Pending => park(),
            }
        }
    }

    /// Removes the fd from the poller now, reporting failure (for instance
    /// `EBADF` if the fd was closed too early). Dropping the registration
    /// does the same, ignoring errors.
    pub fn deregister(mut self) -> io::Result<()> {
        self.release()
    }

    fn release(&mut self) -> io::Result<()> {
        if !mem::replace(&mut self.registered, false) {
            return Ok(());
        }
        let result = self.reactor.poller.delete(self.fd);
        // The slot is freed even if the poller failed: the fd is unusable
        // either way, and a stale event cannot reach a new owner of the slot
        // (other generation).
        let removed = lock(&self.reactor.registry).remove(self.token);
        // Dropped outside the registry lock: a stored waker's `drop` is user
        // code.
        drop(removed);
        result
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.io.readiness.load(Ordering::Relaxed);
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .field("token", &self.token)
            .field("readable", &(word & READABLE != 0))
            .field("writable", &(word & WRITABLE != 0))
            .field("read_closed", &(word & READ_CLOSED != 0))
            .field("write_closed", &(word & WRITE_CLOSED != 0))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_generations_and_never_collide_with_the_notify_token() {
        let mut registry = Registry::default();
        let a = registry.insert(Arc::new(IoState::new())).unwrap();
        assert_eq!(a, 0);
        assert!(registry.remove(a).is_some());
        let b = registry.insert(Arc::new(IoState::new())).unwrap();
        assert_eq!(b & INDEX_MASK, a & INDEX_MASK, "slot reused");
        assert_ne!(a, b, "new generation");
        assert!(registry.get(a).is_none(), "stale token ignored");
        assert!(registry.get(b).is_some());
        assert!(registry.remove(a).is_none(), "stale token cannot remove");
        assert_eq!(registry.len(), 1);

        // The largest token has its top bit clear.
        let last = GENERATION_MASK << INDEX_BITS | INDEX_MASK;
        assert_eq!(last >> (usize::BITS - 1), 0);
        assert_ne!(last, sys::NOTIFY_TOKEN);
    }

    #[test]
    fn generation_wraps_to_zero() {
        let mut registry = Registry::default();
        let t = registry.insert(Arc::new(IoState::new())).unwrap();
        registry.remove(t);
        registry.slots[0].generation = GENERATION_MASK;
        let t = registry.insert(Arc::new(IoState::new())).unwrap();
        assert_eq!(t >> INDEX_BITS, GENERATION_MASK);
        registry.remove(t);
        assert_eq!(registry.slots[0].generation, 0);
    }

    /// Wakers that count their wake-ups.
    fn counting() -> (Arc<std::sync::atomic::AtomicUsize>, Waker) {
        struct Count(Arc<AtomicUsize>);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(AtomicUsize::new(0));
        (
            Arc::clone(&count),
            Waker::from(Arc::new(Count(Arc::clone(&count)))),
        )
    }

    /// Parks a reader and a writer on a fresh state, dispatches `event`, and
    /// returns which were collected for waking.
    fn wakes(event: sys::Event) -> (bool, bool) {
        let io = IoState::new();
        io.readiness.store(0, Ordering::Relaxed);
        let (reads, reader) = counting();
        let (writes, writer) = counting();
        io.waiters.lock().unwrap().readers.push(reader);
        io.waiters.lock().unwrap().writers.push(writer);
        let mut wakers = Vec::new();
        io.dispatch(&event, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
        (
            reads.load(Ordering::SeqCst) == 1,
            writes.load(Ordering::SeqCst) == 1,
        )
    }

    #[test]
    fn dispatch_wakes_the_directions_an_event_concerns() {
        let none = sys::Event::default();
        assert_eq!(wakes(none), (false, false));
        let readable = sys::Event {
            readable: true,
            ..none
        };
        assert_eq!(wakes(readable), (true, false));
        let writable = sys::Event {
            writable: true,
            ..none
        };
        assert_eq!(wakes(writable), (false, true));
        let half_closed = sys::Event {
            read_closed: true,
            ..none
        };
        assert_eq!(wakes(half_closed), (true, false));
        let hangup = sys::Event {
            read_closed: true,
            write_closed: true,
            ..none
        };
        assert_eq!(wakes(hangup), (true, true));
        let error = sys::Event {
            error: true,
            ..none
        };
        assert_eq!(wakes(error), (true, true));
    }

    #[test]
    fn tick_wraps_without_touching_readiness_bits() {
        let io = IoState::new();
        io.readiness
            .store(TICK_MASK | WRITE_CLOSED, Ordering::Relaxed);
        let event = sys::Event {
            readable: true,
            ..sys::Event::default()
        };
        io.dispatch(&event, &mut Vec::new());
        assert_eq!(
            io.readiness.load(Ordering::Relaxed),
            READABLE | WRITE_CLOSED
        );
    }
}
