//! Random operations on a channel, a `Queue`, a `Mutex` and a `Semaphore`
//! by tasks of one runtime, with tasks cancelled at random points, checked
//! against what the types guarantee:
//!
//! - channel and queue: no message is lost or duplicated (every send that
//!   returned `Ok` is received exactly once, a cancelled receiver gives
//!   back a message handed to it), and each receiver gets one sender's
//!   messages in the order they were sent;
//! - `Queue::task_done` balances every item taken;
//! - `Mutex`: one holder at a time, blocked tasks served first come, first
//!   served, the lock free at the end;
//! - `Semaphore`: never more holders than permits, blocked tasks served in
//!   order, every permit back at the end.
//!
//! A receiver cancelled after messages were handed to it gives them back
//! to the front of the channel in the order the cancellations run, so
//! after such a cancellation the order across senders' messages is no
//! longer checked (see the channel's documentation); set
//! `CORIO_FUZZ_STRICT_ORDER=1` to check it anyway.
#![no_main]

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use arbitrary::Arbitrary;
use corio::sync::{channel, Event, Mutex, Queue, Semaphore};
use corio::JoinHandle;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    /// 0 to 3, or unbounded.
    capacity: u8,
    /// 0 (no bound) to 3.
    queue_size: u8,
    permits: u8,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Sender { count: u8 },
    Receiver { count: u8 },
    TrySend,
    TryRecv,
    Putter { count: u8 },
    Getter { count: u8 },
    PutNowait,
    GetNowait,
    Locker,
    Acquirer,
    Release { task: u8 },
    Cancel { task: u8 },
    Settle { yields: u8 },
}

const MAX_OPS: usize = 64;
const MAX_TASKS: usize = 24;
/// The main task, as a sender and as a receiver.
const MAIN: usize = usize::MAX;

/// A message: who sent it, and its number among that sender's.
type Msg = (usize, u32);

#[derive(Default)]
struct Flow {
    /// `(receiver, message)`, in the order they were received.
    received: Vec<(usize, Msg)>,
    /// Messages whose send returned `Ok`.
    sent: HashSet<Msg>,
    /// Messages offered, sent or not.
    offered: HashSet<Msg>,
    /// A receiver was cancelled while it could hold a handed message.
    receiver_cancelled: bool,
}

#[derive(Default)]
struct Lock {
    holders: usize,
    /// Tasks that found it taken, in the order they started to wait.
    waiting: VecDeque<usize>,
    cancelled: HashSet<usize>,
}

impl Lock {
    /// `task` got it: it must be the first of the waiting tasks still
    /// waiting, if it waited.
    fn acquired(&mut self, task: usize, limit: usize) {
        self.holders += 1;
        assert!(
            self.holders <= limit,
            "{} holders, at most {limit}",
            self.holders
        );
        if let Some(at) = self.waiting.iter().position(|&t| t == task) {
            let first = self.waiting.iter().find(|t| !self.cancelled.contains(t));
            assert_eq!(first, Some(&task), "served out of turn: {:?}", self.waiting);
            self.waiting.remove(at);
        }
    }
}

#[derive(Default)]
struct Log {
    chan: Flow,
    queue: Flow,
    mutex: Lock,
    sem: Lock,
    task_done: usize,
}

type Shared = Rc<RefCell<Log>>;

/// Lowers a count when dropped, by a task that ends or is cancelled.
struct Holding(Shared, fn(&mut Log) -> &mut Lock);

impl Drop for Holding {
    fn drop(&mut self) {
        (self.1)(&mut self.0.borrow_mut()).holders -= 1;
    }
}

struct Task {
    handle: JoinHandle<()>,
    release: Arc<Event>,
    receiver: Option<fn(&mut Log) -> &mut Flow>,
}

fn chan(log: &mut Log) -> &mut Flow {
    &mut log.chan
}
fn queue(log: &mut Log) -> &mut Flow {
    &mut log.queue
}
fn mutex(log: &mut Log) -> &mut Lock {
    &mut log.mutex
}
fn sem(log: &mut Log) -> &mut Lock {
    &mut log.sem
}

fn settle(yields: u8) {
    for _ in 0..yields % 16 + 1 {
        corio::yield_now();
    }
}

fn run(input: &Input) {
    let log: Shared = Rc::default();
    let (tx, rx) = match input.capacity % 5 {
        4 => channel::unbounded::<Msg>(),
        cap => channel::bounded::<Msg>(usize::from(cap)),
    };
    let q = Rc::new(Queue::<Msg>::new(usize::from(input.queue_size % 4)));
    let m = Rc::new(Mutex::new(()));
    let permits = usize::from(input.permits % 4) + 1;
    let s = Rc::new(Semaphore::new(permits));
    let mut tasks: Vec<Task> = Vec::new();
    let mut main_seq = 0u32;
    for op in input.ops.iter().take(MAX_OPS) {
        let id = tasks.len();
        let release = Arc::new(Event::new());
        let (log2, rel) = (log.clone(), release.clone());
        let (tx2, rx2, q2, m2, s2) = (tx.clone(), rx.clone(), q.clone(), m.clone(), s.clone());
        let spawned: Option<(JoinHandle<()>, _)> = match *op {
            Op::Sender { .. }
            | Op::Receiver { .. }
            | Op::Putter { .. }
            | Op::Getter { .. }
            | Op::Locker
            | Op::Acquirer
                if tasks.len() >= MAX_TASKS =>
            {
                None
            }
            Op::Sender { count } => Some((
                corio::spawn_local(move || {
                    for seq in 0..u32::from(count % 8) {
                        log2.borrow_mut().chan.offered.insert((id, seq));
                        if tx2.send((id, seq)).is_err() {
                            return;
                        }
                        log2.borrow_mut().chan.sent.insert((id, seq));
                    }
                }),
                None,
            )),
            Op::Receiver { count } => Some((
                corio::spawn_local(move || {
                    for _ in 0..count % 8 {
                        let Ok(msg) = rx2.recv() else { return };
                        log2.borrow_mut().chan.received.push((id, msg));
                    }
                }),
                Some(chan as fn(&mut Log) -> &mut Flow),
            )),
            Op::Putter { count } => Some((
                corio::spawn_local(move || {
                    for seq in 0..u32::from(count % 8) {
                        log2.borrow_mut().queue.offered.insert((id, seq));
                        q2.put((id, seq));
                        log2.borrow_mut().queue.sent.insert((id, seq));
                    }
                }),
                None,
            )),
            Op::Getter { count } => Some((
                corio::spawn_local(move || {
                    for _ in 0..count % 8 {
                        let msg = q2.get();
                        let mut log = log2.borrow_mut();
                        log.queue.received.push((id, msg));
                        q2.task_done().expect("an item was taken");
                        log.task_done += 1;
                    }
                }),
                Some(queue as fn(&mut Log) -> &mut Flow),
            )),
            Op::Locker => Some((
                corio::spawn_local(move || {
                    let guard = m2.try_lock().unwrap_or_else(|| {
                        log2.borrow_mut().mutex.waiting.push_back(id);
                        m2.lock()
                    });
                    log2.borrow_mut().mutex.acquired(id, 1);
                    let _holding = Holding(log2.clone(), mutex);
                    rel.wait();
                    drop(guard);
                }),
                None,
            )),
            Op::Acquirer => Some((
                corio::spawn_local(move || {
                    let permit = s2.try_acquire().unwrap_or_else(|| {
                        log2.borrow_mut().sem.waiting.push_back(id);
                        s2.acquire()
                    });
                    log2.borrow_mut().sem.acquired(id, permits);
                    let _holding = Holding(log2.clone(), sem);
                    rel.wait();
                    drop(permit);
                }),
                None,
            )),
            Op::TrySend => {
                let msg = (MAIN, main_seq);
                main_seq += 1;
                let mut l = log.borrow_mut();
                l.chan.offered.insert(msg);
                if tx.try_send(msg).is_ok() {
                    l.chan.sent.insert(msg);
                }
                None
            }
            Op::TryRecv => {
                if let Ok(msg) = rx.try_recv() {
                    log.borrow_mut().chan.received.push((MAIN, msg));
                }
                None
            }
            Op::PutNowait => {
                let msg = (MAIN, main_seq);
                main_seq += 1;
                let mut l = log.borrow_mut();
                l.queue.offered.insert(msg);
                if q.put_nowait(msg).is_ok() {
                    l.queue.sent.insert(msg);
                }
                None
            }
            Op::GetNowait => {
                if let Ok(msg) = q.get_nowait() {
                    let mut l = log.borrow_mut();
                    l.queue.received.push((MAIN, msg));
                    q.task_done().expect("an item was taken");
                    l.task_done += 1;
                }
                None
            }
            Op::Release { task } => {
                if let Some(t) = tasks.get(usize::from(task) % tasks.len().max(1)) {
                    t.release.set();
                }
                None
            }
            Op::Cancel { task } => {
                let at = usize::from(task) % tasks.len().max(1);
                if let Some(t) = tasks.get(at).filter(|t| !t.handle.is_finished()) {
                    t.handle.cancel();
                    let mut l = log.borrow_mut();
                    if let Some(flow) = t.receiver {
                        flow(&mut l).receiver_cancelled = true;
                    }
                    l.mutex.cancelled.insert(at);
                    l.sem.cancelled.insert(at);
                }
                None
            }
            Op::Settle { yields } => {
                settle(yields);
                None
            }
        };
        if let Some((handle, receiver)) = spawned {
            tasks.push(Task {
                handle,
                release,
                receiver,
            });
            // Lets the new task run to its first wait, so that tasks start
            // waiting in the order they were made.
            settle(0);
        }
    }
    // Every task ends: cancelled unless it is done.
    for t in &tasks {
        if !t.handle.is_finished() {
            t.handle.cancel();
            if let Some(flow) = t.receiver {
                flow(&mut log.borrow_mut()).receiver_cancelled = true;
            }
        }
    }
    for t in tasks {
        if let Err(e) = t.handle.join() {
            assert!(e.is_cancelled(), "a task failed: {e:?}");
        }
    }
    while let Ok(msg) = rx.try_recv() {
        log.borrow_mut().chan.received.push((MAIN, msg));
    }
    while let Ok(msg) = q.get_nowait() {
        log.borrow_mut().queue.received.push((MAIN, msg));
        q.task_done().expect("an item was taken");
    }
    let log = log.borrow();
    check_flow("channel", &log.chan);
    check_flow("queue", &log.queue);
    assert_eq!(
        q.unfinished_tasks(),
        0,
        "queue: task_done left items unfinished"
    );
    assert!(q.task_done().is_err(), "queue: more task_done than items");
    assert_eq!(log.mutex.holders, 0);
    assert!(m.try_lock().is_some(), "the mutex is free at the end");
    assert_eq!(log.sem.holders, 0);
    assert_eq!(s.available_permits(), permits, "every permit is back");
}

fn check_flow(what: &str, flow: &Flow) {
    let mut seen = BTreeSet::new();
    for (_, msg) in &flow.received {
        assert!(seen.insert(*msg), "{what}: {msg:?} received twice");
        assert!(flow.offered.contains(msg), "{what}: {msg:?} never offered");
    }
    for msg in &flow.sent {
        assert!(seen.contains(msg), "{what}: {msg:?} sent and lost");
    }
    let strict = std::env::var_os("CORIO_FUZZ_STRICT_ORDER").is_some_and(|v| v == "1");
    if flow.receiver_cancelled && !strict {
        return;
    }
    let mut last: std::collections::HashMap<(usize, usize), u32> = Default::default();
    for &(receiver, (sender, seq)) in &flow.received {
        if let Some(&before) = last.get(&(receiver, sender)) {
            assert!(
                before < seq,
                "{what}: receiver {receiver} got {sender}'s message {seq} after {before}: {:?}",
                flow.received
            );
        }
        last.insert((receiver, sender), seq);
    }
}

fuzz_target!(|input: Input| {
    if std::env::var_os("CORIO_FUZZ_DEBUG").is_some() {
        eprintln!("{input:?}");
    }
    corio::run(|| run(&input));
});
