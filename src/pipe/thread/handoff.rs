//! The hand-over between a threaded stage and its thread: a bounded channel
//! of messages, and when the thread sleeps and who wakes it.
//!
//! A hand-over through a channel is cheap (a lock); waking a sleeping
//! thread is not (a system call on the sending side, a context switch on
//! the other). When the thread keeps up with the stage, it runs out of work
//! after every batch, so waking it per batch would cost more than the
//! batch saves. Hence:
//!
//! 1. Out of work, the thread first waits awake for a while ("spins",
//!    yielding the core to anything else that wants it): in a steady
//!    stream the next batch comes within microseconds, and nobody sleeps.
//!    After several such waits in a row that were in vain (batches come
//!    slowly), it stops waiting awake, and tries again now and then.
//! 2. Then it *naps*: it sleeps up to [`NAP`], and the stage wakes it only
//!    once half the channel is full, or at once for a flush, throw or
//!    close. So a wake-up carries several batches, and a batch never waits
//!    more than about a nap while the thread sleeps.
//! 3. After a nap with nothing posted it sleeps until the next message,
//!    which wakes it at once: an idle stage costs nothing.
//!
//! The other way round, when the thread is the slower side and the channel
//! fills up, the stage waits until the thread has emptied half of it, not
//! just one place: otherwise the two sides would take turns per batch
//! (and, on a machine with no core to spare, switch the core between them
//! per batch). It waits on a corio channel, so a stage fed from a corio
//! task parks the task, not its thread.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::Arc;
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::super::Error;
use crate::sync::channel::{self, Receiver, Sender, TryRecvError, TrySendError};

/// What the stage sends to its thread. A close is the channel's close.
pub(super) enum Msg<T> {
    Items(Vec<T>),
    Throw(Error),
}

/// The longest the thread sleeps with batches waiting for it.
const NAP: Duration = Duration::from_millis(1);
/// How long the thread waits awake for the next message.
const SPIN: Duration = Duration::from_micros(50);
/// After this many awake waits in a row in vain, it sleeps at once...
const SPINS_IN_VAIN: u32 = 8;
/// ... for this many waits, then tries an awake wait again.
const SLEEPS_BEFORE_SPIN: u32 = 64;

/// The thread's states, as the stage sees them.
const AWAKE: u8 = 0;
const NAPPING: u8 = 1;
const SLEEPING: u8 = 2;

/// What both ends share besides the channels. The counters that one side
/// writes all the time are kept apart, so that writing one does not take
/// the other side's cache line away from it.
struct Shared {
    /// Messages posted, and the close: the thread has work while this is
    /// more than `taken`. Written by the stage.
    posted: Padded<AtomicU64>,
    /// Messages the thread has taken. Written by the thread.
    taken: Padded<AtomicU64>,
    /// `AWAKE`, `NAPPING` or `SLEEPING`.
    state: AtomicU8,
    /// Set when the thread's work has ended, whatever ended it.
    done: AtomicBool,
    /// The stage waits for room in the channel: the thread says when
    /// half of it is free, on `room`.
    wants_room: AtomicBool,
    /// The stage waiting for room goes on when at most this many messages
    /// wait: half the channel, rounded down.
    room_at: u64,
    /// A napping thread is woken when this many wait: half the channel,
    /// at least one.
    wake_at: u64,
}

/// A value alone on its cache line (two lines: x86 fetches lines in
/// pairs).
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Shared {
    /// Messages posted and not taken (the close counts as one).
    fn waiting(&self) -> u64 {
        self.posted
            .load(SeqCst)
            .saturating_sub(self.taken.load(SeqCst))
    }
}

/// The stage's end.
pub(super) struct Feeder<T> {
    /// `None` once closed.
    tx: Option<Sender<Msg<T>>>,
    /// Emptied batches coming back, so that batches are not allocated on
    /// one thread and freed on the other.
    empties: Receiver<Vec<T>>,
    shared: Arc<Shared>,
    /// The thread to wake (set once it is started).
    thread: Option<Thread>,
    /// Where the thread says there is room again.
    room: Receiver<()>,
}

/// The thread's end. Dropping it marks the thread's work done.
pub(super) struct Intake<T> {
    rx: Receiver<Msg<T>>,
    empties: Sender<Vec<T>>,
    room: Sender<()>,
    shared: Arc<Shared>,
    /// Messages taken (the thread's copy of `shared.taken`).
    taken: u64,
    /// Awake waits in vain in a row; past [`SPINS_IN_VAIN`], the waits
    /// without one since.
    in_vain: u32,
}

/// A channel holding up to `capacity` messages, and its two ends.
pub(super) fn handoff<T>(capacity: usize) -> (Feeder<T>, Intake<T>) {
    let (tx, rx) = channel::bounded(capacity);
    // Room for every batch that can be in flight and the one being filled:
    // giving an emptied batch back never waits.
    let (empty_tx, empties) = channel::bounded(capacity.saturating_add(2));
    let (room_tx, room) = channel::bounded(1);
    let shared = Arc::new(Shared {
        posted: Padded(AtomicU64::new(0)),
        taken: Padded(AtomicU64::new(0)),
        state: AtomicU8::new(AWAKE),
        done: AtomicBool::new(false),
        wants_room: AtomicBool::new(false),
        room_at: capacity as u64 / 2,
        wake_at: (capacity as u64 / 2).max(1),
    });
    let feeder = Feeder {
        tx: Some(tx),
        empties,
        shared: Arc::clone(&shared),
        thread: None,
        room,
    };
    let intake = Intake {
        rx,
        empties: empty_tx,
        room: room_tx,
        shared,
        taken: 0,
        in_vain: 0,
    };
    (feeder, intake)
}

impl<T> Feeder<T> {
    /// Names the thread to wake.
    pub(super) fn set_thread(&mut self, thread: Thread) {
        self.thread = Some(thread);
    }

    /// Whether the thread's work has ended or the channel is closed.
    #[inline]
    pub(super) fn is_finished(&self) -> bool {
        self.tx.is_none() || self.shared.done.load(SeqCst)
    }

    /// An empty batch: one the thread gave back, or a new one.
    pub(super) fn empty_batch(&self, batch_size: usize) -> Vec<T> {
        self.empties
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(batch_size))
    }

    /// Posts `msg`, waiting while the channel is full. `urgent`: wake the
    /// thread now, even from a nap. `false` if the thread is gone (or the
    /// channel closed); `msg` is then dropped.
    pub(super) fn post(&mut self, mut msg: Msg<T>, urgent: bool) -> bool {
        let Some(tx) = &self.tx else { return false };
        loop {
            match tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => msg = back,
            }
            // Full: wait until the thread has emptied half the channel.
            // Paired with `Intake::took` (all `SeqCst`): either the thread
            // sees the wish, or this sees the room it made.
            self.shared.wants_room.store(true, SeqCst);
            // (The channel is full, so this holds unless the thread has
            // just taken half of it.)
            if self.shared.waiting() > self.shared.room_at {
                self.wake();
                if self.room.recv().is_err() {
                    return false; // the thread has ended
                }
            }
            self.shared.wants_room.store(false, SeqCst);
        }
        // Paired with `Intake::sleep`: either the thread sees this post, or
        // this sees it asleep.
        self.shared.posted.fetch_add(1, SeqCst);
        match self.shared.state.load(SeqCst) {
            AWAKE => {}
            NAPPING => {
                if urgent || self.shared.waiting() >= self.shared.wake_at {
                    self.wake();
                }
            }
            _ => self.wake(),
        }
        true
    }

    /// Closes the channel and wakes the thread, which then ends.
    pub(super) fn close(&mut self) {
        if self.tx.take().is_some() {
            self.shared.posted.fetch_add(1, SeqCst);
            self.wake();
        }
    }

    /// Waits until the thread's end of the hand-over is gone: its work
    /// has ended. Inside a corio task this parks the task.
    pub(super) fn wait_for_the_end(&self) {
        // `room` gives a stale token or two, then fails once the intake
        // (its only sender) is dropped.
        while self.room.recv().is_ok() {}
    }

    fn wake(&self) {
        if let Some(thread) = &self.thread {
            thread.unpark();
        }
    }
}

impl<T> Intake<T> {
    /// The next message, or `None` once the stage has closed the channel.
    pub(super) fn next(&mut self) -> Option<Msg<T>> {
        loop {
            match self.rx.try_recv() {
                Ok(msg) => {
                    self.took();
                    return Some(msg);
                }
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            if !self.has_work() {
                self.wait();
            }
        }
    }

    /// Gives an emptied batch back to the stage.
    pub(super) fn give_back(&self, batch: Vec<T>) {
        debug_assert!(batch.is_empty());
        // If the stage has gone, or has batches enough, it just drops.
        let _ = self.empties.try_send(batch);
    }

    /// Counts a message taken; tells a stage waiting for room when half
    /// the channel is free.
    fn took(&mut self) {
        self.taken += 1;
        self.shared.taken.store(self.taken, SeqCst);
        if self.shared.wants_room.load(SeqCst)
            && self.shared.waiting() <= self.shared.room_at
            && self.shared.wants_room.swap(false, SeqCst)
        {
            let _ = self.room.try_send(());
        }
    }

    fn has_work(&self) -> bool {
        self.shared.posted.load(SeqCst) > self.taken
    }

    /// Waits until something is posted (or, rarely, a little less).
    fn wait(&mut self) {
        if self.spin_wait() {
            return;
        }
        if self.sleep(NAPPING) {
            return;
        }
        self.sleep(SLEEPING);
    }

    /// Waits awake up to [`SPIN`], unless that has been in vain lately.
    fn spin_wait(&mut self) -> bool {
        if self.in_vain >= SPINS_IN_VAIN {
            self.in_vain += 1;
            if self.in_vain < SPINS_IN_VAIN + SLEEPS_BEFORE_SPIN {
                return false;
            }
            // Try again: perhaps the stream is steady now.
            self.in_vain = SPINS_IN_VAIN - 1;
        }
        let start = Instant::now();
        loop {
            for _ in 0..32 {
                if self.has_work() {
                    self.in_vain = 0;
                    return true;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() >= SPIN {
                self.in_vain += 1;
                return false;
            }
            // Let whatever else wants this core run (perhaps the stage's
            // own thread, on a busy machine).
            std::thread::yield_now();
        }
    }

    /// Sleeps in `state`: a nap ends after [`NAP`] at the latest; a sleep
    /// only when something is posted. True if something was.
    fn sleep(&self, state: u8) -> bool {
        self.shared.state.store(state, SeqCst);
        if state == NAPPING {
            if !self.has_work() {
                std::thread::park_timeout(NAP);
            }
        } else {
            // `park` may return for no reason, or for a wake-up meant for
            // the target's own waits on this thread: check.
            while !self.has_work() {
                std::thread::park();
            }
        }
        self.shared.state.store(AWAKE, SeqCst);
        self.has_work()
    }
}

impl<T> Drop for Intake<T> {
    fn drop(&mut self) {
        self.shared.done.store(true, SeqCst);
    }
}
