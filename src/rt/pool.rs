//! The runtime-wide part of a multi-worker runtime: the queues of
//! unstarted groups, the sleeping workers, the live count and shutdown.
//!
//! Each worker owns a FIFO deque of unstarted groups (`spawn` pushes onto
//! the spawning worker's). A worker with nothing runnable takes from its
//! own deque, then steals a batch from a sibling. (Every group is
//! spawned by a worker, so there is no global queue: nothing spawns from
//! outside the workers yet.) With nothing found it sleeps in its poller, after announcing
//! itself as sleeping and looking at the queues once more; a spawn that
//! sees a sleeper wakes one (and one only: the sleeper's flag is taken
//! with a swap, which coalesces wake-ups).

use std::any::Any;
use std::sync::atomic::{fence, AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_deque::{Steal, Stealer, Worker};
use crossbeam_utils::CachePadded;

use std::task::{Poll, Waker};

use super::core::{RuntimeShared, WorkerCtx};
use super::dump::Dump;
use super::group::Group;
use crate::util::lock;

/// How long a thief leaves a sibling's lone, newly queued group alone
/// (see [`Pool::steal_group`]).
pub(crate) const LONE_GROUP_WAIT: Duration = Duration::from_millis(1);

/// What a worker looking for a group found.
pub(crate) enum Found {
    /// A group to start.
    Group(Group),
    /// Only a sibling's lone, newly queued group: look again after
    /// [`LONE_GROUP_WAIT`], without being marked as sleeping.
    Later,
    /// No group anywhere.
    Nothing,
}

/// What all workers of one runtime share.
pub(crate) struct Pool {
    stealers: Box<[Stealer<Group>]>,
    /// Each worker's wake-up side (its remote queue and reactor).
    pub(crate) workers: Box<[Arc<RuntimeShared>]>,
    /// Per worker: asleep in its poller, or about to be, and not yet woken.
    sleeping: Box<[AtomicBool]>,
    sleepers: CachePadded<AtomicUsize>,
    /// Per worker: how many groups it has queued (wrapping), written by
    /// that worker only. Tells a thief whether a lone group it saw before
    /// is still the same one.
    queued: Box<[CachePadded<AtomicUsize>]>,
    /// Per worker: tasks it created minus tasks it finished (so one may be
    /// negative); their sum is the runtime's tasks not yet finished,
    /// started or not. One padded counter per worker, so that a spawn
    /// touches no cache line another worker writes.
    live: Box<[CachePadded<AtomicIsize>]>,
    shutdown: AtomicBool,
    /// The first panic that escaped a worker's scheduler.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Per worker: dump requests it has to answer, and whether it has left
    /// (answers nothing more).
    dumps: Box<[Mutex<DumpQueue>]>,
    dumps_pending: Box<[AtomicBool]>,
}

#[derive(Default)]
struct DumpQueue {
    requests: Vec<Arc<DumpRequest>>,
    left: bool,
}

/// A dump collected from every worker: each adds its part from its own
/// thread, where reading its task table is sound.
struct DumpRequest {
    state: Mutex<(Dump, usize, Option<Waker>)>,
}

impl DumpRequest {
    fn add(&self, part: Dump) {
        let waker = {
            let mut state = lock(&self.state);
            state.0.merge(part);
            state.1 -= 1;
            if state.1 == 0 {
                state.2.take()
            } else {
                None
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Pool {
    /// A pool for these workers, and the local deque of each.
    pub(crate) fn new(workers: Vec<Arc<RuntimeShared>>) -> (Arc<Pool>, Vec<Worker<Group>>) {
        let locals: Vec<Worker<Group>> = workers.iter().map(|_| Worker::new_fifo()).collect();
        let pool = Pool {
            stealers: locals.iter().map(Worker::stealer).collect(),
            sleeping: workers.iter().map(|_| AtomicBool::new(false)).collect(),
            dumps: workers.iter().map(|_| Mutex::default()).collect(),
            dumps_pending: workers.iter().map(|_| AtomicBool::new(false)).collect(),
            live: workers.iter().map(|_| CachePadded::default()).collect(),
            queued: workers.iter().map(|_| CachePadded::default()).collect(),
            workers: workers.into_boxed_slice(),
            sleepers: CachePadded::new(AtomicUsize::new(0)),
            shutdown: AtomicBool::new(false),
            panic: Mutex::new(None),
        };
        (Arc::new(pool), locals)
    }

    /// How many workers the runtime has.
    pub(crate) fn size(&self) -> usize {
        self.workers.len()
    }

    /// After a group was queued: wakes one sleeping worker, if any sleeps,
    /// so that it can take the group.
    #[inline]
    pub(crate) fn queued(&self, index: usize) {
        // Only worker `index` writes its count; other workers read it.
        let count = &self.queued[index];
        count.store(
            count.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        // Pairs with the fence in `sleep_or_find`: either the sleeper sees
        // the group or this sees the sleeper.
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Relaxed) > 0 {
            self.wake_one();
        }
    }

    #[cold]
    fn wake_one(&self) {
        for (index, flag) in self.sleeping.iter().enumerate() {
            if flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::AcqRel) {
                self.sleepers.fetch_sub(1, Ordering::Relaxed);
                // A failed notify leaves the worker asleep until its next
                // timer or event; the group is still there to take.
                let _ = self.workers[index].reactor.notify();
                return;
            }
        }
    }

    /// Takes a group for `worker`: its own deque first, then a batch stolen
    /// from a sibling.
    pub(crate) fn find_group(&self, worker: &WorkerCtx) -> Found {
        if let Some(group) = worker.local.pop() {
            return Found::Group(group);
        }
        self.steal_group(worker)
    }

    /// Steals a batch from a sibling into `worker`'s deque, and takes one
    /// of it. Siblings are tried in turn, starting after this worker, so
    /// that thieves spread over their victims.
    fn steal_group(&self, worker: &WorkerCtx) -> Found {
        let n = self.stealers.len();
        // A runtime that shuts down wants every group found, lone or not.
        let patient = !self.is_shutting_down();
        loop {
            let (mut retry, mut later) = (false, false);
            for k in 1..n {
                let victim = (worker.index + k) % n;
                let stealer = &self.stealers[victim];
                if stealer.is_empty() {
                    continue;
                }
                if patient && self.is_fresh_lone_group(worker, victim) {
                    later = true;
                    continue;
                }
                match stealer.steal_batch_and_pop(&worker.local) {
                    Steal::Success(group) => return Found::Group(group),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return if later { Found::Later } else { Found::Nothing };
            }
        }
    }

    /// Whether `victim` is awake with exactly one queued group that
    /// `worker` has not seen there before. Such a group is left alone for
    /// [`LONE_GROUP_WAIT`]: its worker most likely starts it in a moment
    /// (a spawn followed by a join does), and taking it would make that
    /// join wait across threads, through a sleep and a wake-up. If no
    /// group was queued there in the meantime, the next look takes it, so
    /// a group behind a worker stuck in a long computation still moves.
    fn is_fresh_lone_group(&self, worker: &WorkerCtx, victim: usize) -> bool {
        if self.stealers[victim].len() != 1 || self.sleeping[victim].load(Ordering::Relaxed) {
            return false;
        }
        let queued = self.queued[victim].load(Ordering::Relaxed);
        worker.lone_seen[victim].replace(queued) != queued
    }

    /// Whether any group waits anywhere.
    fn has_groups(&self, local: &Worker<Group>) -> bool {
        !local.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Marks `worker` as about to sleep, then looks at the queues once
    /// more. [`Found::Nothing`] means sleep (then call
    /// [`woke`](Self::woke)); otherwise the worker is not marked any more.
    pub(crate) fn sleep_or_find(&self, worker: &WorkerCtx) -> Found {
        loop {
            self.sleeping[worker.index].store(true, Ordering::Relaxed);
            self.sleepers.fetch_add(1, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if !self.has_groups(&worker.local) {
                return Found::Nothing;
            }
            self.woke(worker.index);
            match self.find_group(worker) {
                // Taken by another worker meanwhile: mark this one as
                // sleeping again, or no spawn would wake it.
                Found::Nothing => continue,
                found => return found,
            }
        }
    }

    /// Worker `index` is awake (by a notification, a timer or I/O).
    pub(crate) fn woke(&self, index: usize) {
        if self.sleeping[index].swap(false, Ordering::AcqRel) {
            self.sleepers.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Worker `index` created a task or group.
    #[inline]
    pub(crate) fn task_added(&self, index: usize) {
        // Only worker `index` writes its counter: a plain load and store
        // would do but for the readers, which `fetch_add` orders.
        self.live[index].fetch_add(1, Ordering::SeqCst);
    }

    /// Worker `index` finished a task, or discarded a group. The last one
    /// of a runtime that shuts down wakes every worker, so that they can
    /// leave.
    #[inline]
    pub(crate) fn task_done(&self, index: usize) {
        // SeqCst: of two workers finishing the last two tasks at once, the
        // later one's sum sees both decrements.
        self.live[index].fetch_sub(1, Ordering::SeqCst);
        if self.is_shutting_down() && self.live() == 0 {
            self.notify_all();
        }
    }

    /// Tasks of the runtime not yet finished.
    pub(crate) fn live(&self) -> usize {
        let sum: isize = self.live.iter().map(|c| c.load(Ordering::SeqCst)).sum();
        debug_assert!(sum >= 0, "more tasks finished than created");
        sum.max(0) as usize
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Starts the runtime-wide shutdown and wakes every worker to take part.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        self.notify_all();
    }

    fn notify_all(&self) {
        for worker in self.workers.iter() {
            let _ = worker.reactor.notify();
        }
    }

    /// Discards every queued group (without mapping a stack).
    pub(crate) fn discard_groups(&self, worker: &WorkerCtx) {
        while let Found::Group(group) = self.find_group(worker) {
            group.discard();
            self.task_done(worker.index);
        }
    }

    /// Records a panic that escaped a worker's scheduler and shuts the
    /// runtime down; the first one is raised again by `run`.
    pub(crate) fn worker_panicked(&self, payload: Box<dyn Any + Send>) {
        lock(&self.panic).get_or_insert(payload);
        self.begin_shutdown();
    }

    pub(crate) fn take_panic(&self) -> Option<Box<dyn Any + Send>> {
        lock(&self.panic).take()
    }

    /// The dump of every worker, asked for by worker `index` (which gives
    /// `own`, its part): the others add theirs from their own threads. A
    /// worker busy in a long computation answers when it next schedules.
    pub(crate) fn dump(&self, index: usize, own: Dump) -> Dump {
        let request = Arc::new(DumpRequest {
            state: Mutex::new((own, 1, None)),
        });
        for (other, queue) in self.dumps.iter().enumerate() {
            if other == index {
                continue;
            }
            let mut queue = lock(queue);
            if !queue.left {
                lock(&request.state).1 += 1;
                queue.requests.push(request.clone());
                self.dumps_pending[other].store(true, Ordering::Release);
                let _ = self.workers[other].reactor.notify();
            }
        }
        // This worker's own part is in: one fewer to wait for.
        request.add(Dump::default());
        crate::rt::block_on(std::future::poll_fn(|cx| {
            let mut state = lock(&request.state);
            if state.1 == 0 {
                let mut dump = std::mem::take(&mut state.0);
                dump.tasks.sort_by_key(|t| t.id);
                return Poll::Ready(dump);
            }
            state.2 = Some(cx.waker().clone());
            Poll::Pending
        }))
    }

    /// Answers the dump requests waiting for worker `index`.
    #[inline]
    pub(crate) fn serve_dumps(&self, index: usize, part: impl Fn() -> Dump) {
        if self.dumps_pending[index].load(Ordering::Relaxed) {
            self.serve_dumps_slow(index, &part);
        }
    }

    #[cold]
    fn serve_dumps_slow(&self, index: usize, part: &dyn Fn() -> Dump) {
        self.dumps_pending[index].store(false, Ordering::Relaxed);
        let requests = std::mem::take(&mut lock(&self.dumps[index]).requests);
        for request in requests {
            request.add(part());
        }
    }

    /// Worker `index` stops scheduling: it answers pending dump requests
    /// with nothing and takes no more.
    pub(crate) fn leave(&self, index: usize) {
        let requests = {
            let mut queue = lock(&self.dumps[index]);
            queue.left = true;
            std::mem::take(&mut queue.requests)
        };
        for request in requests {
            request.add(Dump::default());
        }
    }
}
