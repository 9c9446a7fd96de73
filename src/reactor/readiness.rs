//! The readiness word and the waker lists of one registration.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::Waker;

use crate::util::lock;

use super::sys;
#[cfg(doc)]
use super::Registration;

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
pub(super) const READABLE: usize = 1;
pub(super) const WRITABLE: usize = 1 << 1;
pub(super) const READ_CLOSED: usize = 1 << 2;
pub(super) const WRITE_CLOSED: usize = 1 << 3;
pub(super) const READINESS_MASK: usize = 0b1111;
pub(super) const TICK_ONE: usize = 1 << 4;
pub(super) const TICK_MASK: usize = !READINESS_MASK;

impl Direction {
    /// The readiness bits that let an operation in this direction proceed
    /// (to data, to end of file, or to an error).
    pub(super) fn mask(self) -> usize {
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
    pub(super) direction: Direction,
    /// The readiness word's tick when this was observed.
    pub(super) tick: usize,
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
pub(super) struct IoState {
    /// `READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED` in the low bits, a
    /// wrapping tick in the rest: `dispatch` adds one to it with every event.
    pub(super) readiness: AtomicUsize,
    pub(super) waiters: Mutex<Waiters>,
}

/// The wakers waiting in each direction. The lists keep their capacity
/// from one wait to the next.
#[derive(Default)]
pub(super) struct Waiters {
    readers: Vec<Waker>,
    writers: Vec<Waker>,
}

impl Waiters {
    pub(super) fn list(&mut self, direction: Direction) -> &mut Vec<Waker> {
        match direction {
            Direction::Read => &mut self.readers,
            Direction::Write => &mut self.writers,
        }
    }
}

impl IoState {
    pub(super) fn new() -> IoState {
        IoState {
            // Presumed ready both ways: see "Edge-triggered" in the module
            // documentation.
            readiness: AtomicUsize::new(READABLE | WRITABLE),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    pub(super) fn ready(&self, direction: Direction) -> Option<ReadyEvent> {
        let word = self.readiness.load(Ordering::Acquire);
        (word & direction.mask() != 0).then_some(ReadyEvent {
            direction,
            tick: word & TICK_MASK,
            ready: word & READINESS_MASK,
        })
    }

    /// Records an event from the poller and collects the wakers it concerns.
    pub(super) fn dispatch(&self, event: &sys::Event, wakers: &mut Vec<Waker>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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
