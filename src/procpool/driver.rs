//! The parent's side of the pool: a set of tasks on one runtime thread that
//! start the worker processes, hand them jobs, read their results, move
//! queued jobs from busy workers to idle ones, enforce timeouts and
//! replace workers that die. Every read and write with a worker goes
//! through corio's reactor, so waiting parks a task, never the thread.
//!
//! All of the driver's state lives on its thread, in one `RefCell` that no
//! task holds across a park.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::Shutdown;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::conn::{start_worker, Conn};
use super::handle::Slot;
use super::wire::{self, FromWorker, ToWorker};
use super::JobError;
use crate::net::UnixStream;
use crate::rt::{self, JoinHandle};
use crate::sync::channel::{self, Receiver, Sender};
use crate::sync::Event;

/// A job on its way through the pool.
pub(super) struct Pending {
    pub(super) id: u64,
    /// The whole `Run` frame, encoded once by the submitter and sent again
    /// as it is if the job moves to another worker.
    pub(super) frame: Vec<u8>,
    pub(super) timeout: Option<Duration>,
    pub(super) slot: Arc<Slot>,
    /// A revocation was sent for it and not yet answered.
    revoking: bool,
}

impl Pending {
    pub(super) fn new(
        id: u64,
        name: &str,
        args: &[u8],
        timeout: Option<Duration>,
        slot: Arc<Slot>,
    ) -> Pending {
        let mut frame = Vec::with_capacity(16 + name.len() + args.len());
        let run = ToWorker::Run {
            id,
            name,
            args,
            report_start: timeout.is_some(),
        };
        wire::encode(&run, &mut frame);
        Pending {
            id,
            frame,
            timeout,
            slot,
            revoking: false,
        }
    }
}

/// What the [`Pool`](super::Pool) asks of its driver.
pub(super) enum Command {
    Submit(Pending),
    /// The pids of the live workers.
    Pids(Sender<Vec<u32>>),
    /// Kill the workers now; fail every job not finished.
    Terminate,
}

/// The pool's settings.
#[derive(Clone, Copy, Debug)]
pub(super) struct Config {
    pub(super) workers: usize,
    /// Jobs a worker may hold beyond the one it runs.
    pub(super) prefetch: usize,
}

/// A live worker process, as the driver sees it.
struct Worker {
    pid: u32,
    /// Bytes for its writer task, which the doorbell wakes.
    out: Vec<u8>,
    doorbell: Sender<()>,
    /// Jobs sent to it and not finished, in the order sent: the first is
    /// the one it runs (or will run next).
    jobs: VecDeque<Pending>,
    /// The timer of the job that reported its start, if it has a timeout.
    timer: Option<(u64, JoinHandle<()>)>,
    /// The job whose timeout killed this worker.
    timed_out: Option<(u64, Duration)>,
}

impl Worker {
    fn send(&mut self, frame: &[u8]) {
        if self.out.is_empty() {
            // A full doorbell has already rung; a closed one means the
            // worker is dying, and its slot task will settle its jobs.
            let _ = self.doorbell.try_send(());
        }
        self.out.extend_from_slice(frame);
    }

    /// Jobs queued behind the running one that are not being revoked.
    fn spare(&self) -> usize {
        self.jobs.iter().skip(1).filter(|job| !job.revoking).count()
    }
}

struct State {
    config: Config,
    workers: Vec<Option<Worker>>,
    pending: VecDeque<Pending>,
    /// No more submissions: finish what was submitted, then stop.
    closing: bool,
    /// Set once closing and no job is left anywhere.
    drained: Rc<Event>,
    /// Why the last worker start failed, for the jobs that then cannot run.
    start_error: Option<String>,
    /// How long jobs have been taking, which sets the prefetch.
    job_time: JobTime,
}

/// Queued work a worker may hold behind the job it runs, in time: enough
/// that a worker never waits for the parent between short jobs, little
/// enough that no worker sits on a backlog another could be running.
const BACKLOG: Duration = Duration::from_millis(1);

/// A moving average of how long jobs run.
struct JobTime {
    average_us: f64,
}

impl JobTime {
    fn record(&mut self, ran_us: u64) {
        self.average_us += (ran_us as f64 - self.average_us) / 8.0;
    }

    /// Jobs a worker may hold queued: about [`BACKLOG`] of them at the
    /// average job time, at least 1 and at most `max`.
    fn prefetch(&self, max: usize) -> usize {
        let fit = BACKLOG.as_micros() as f64 / self.average_us.max(1.0);
        (fit as usize).clamp(1, max.max(1))
    }
}

type Shared = Rc<RefCell<State>>;

impl State {
    fn outstanding(&self) -> usize {
        self.pending.len()
            + self
                .workers
                .iter()
                .flatten()
                .map(|w| w.jobs.len())
                .sum::<usize>()
    }

    /// Hands pending jobs to workers with room, least loaded first, then
    /// moves queued jobs from busy workers to idle ones.
    fn pump(&mut self) {
        let capacity = 1 + self.job_time.prefetch(self.config.prefetch);
        while !self.pending.is_empty() {
            let Some(worker) = self
                .workers
                .iter_mut()
                .flatten()
                .filter(|w| w.jobs.len() < capacity)
                .min_by_key(|w| w.jobs.len())
            else {
                break;
            };
            let job = self.pending.pop_front().expect("not empty");
            worker.send(&job.frame);
            worker.jobs.push_back(job);
        }
        if self.pending.is_empty() {
            self.rebalance();
        }
        if self.workers.iter().all(Option::is_none) && self.start_error.is_some() {
            let why = self.start_error.clone().expect("checked");
            for job in self.pending.drain(..) {
                job.slot.complete(Err(JobError::PoolClosed(why.clone())));
            }
        }
        if self.closing && self.outstanding() == 0 {
            // Dropping a worker closes its writer, which closes the socket:
            // the worker exits and its slot task reaps it. A slot task that
            // starts (or restarts) its worker after this lands here too.
            for worker in self.workers.iter_mut() {
                *worker = None;
            }
            self.drained.set();
        }
    }

    /// For each idle worker, asks the busiest worker for its last queued
    /// job back; the answer (`Revoked`) puts it in `pending` for the idle
    /// one.
    fn rebalance(&mut self) {
        let idle = self
            .workers
            .iter()
            .flatten()
            .filter(|w| w.jobs.is_empty())
            .count();
        for _ in 0..idle {
            let Some(busiest) = self
                .workers
                .iter_mut()
                .flatten()
                .filter(|w| w.spare() > 0)
                .max_by_key(|w| w.spare())
            else {
                return;
            };
            let job = busiest
                .jobs
                .iter_mut()
                .skip(1)
                .rev()
                .find(|job| !job.revoking)
                .expect("spare() counted one");
            job.revoking = true;
            let mut frame = Vec::new();
            wire::encode(&ToWorker::Revoke { id: job.id }, &mut frame);
            busiest.send(&frame);
        }
    }

    fn worker(&mut self, index: usize) -> Option<&mut Worker> {
        self.workers[index].as_mut()
    }
}

/// Runs the driver until the pool is dropped (its command channel closes)
/// and every submitted job has finished, or until it is terminated.
/// `ready` gets the outcome of starting the first workers.
pub(super) fn drive(config: Config, commands: Receiver<Command>, ready: Sender<io::Result<()>>) {
    let state: Shared = Rc::new(RefCell::new(State {
        config,
        workers: (0..config.workers).map(|_| None).collect(),
        pending: VecDeque::new(),
        closing: false,
        drained: Rc::new(Event::new()),
        start_error: None,
        // Until jobs have been timed, they are taken to be long: one
        // queued job per worker.
        job_time: JobTime {
            average_us: BACKLOG.as_micros() as f64,
        },
    }));
    let _cleanup = FailOnUnwind(Rc::clone(&state));
    let starts: Vec<_> = (0..config.workers)
        .map(|_| rt::spawn_local(start_worker))
        .collect();
    let mut started = Vec::new();
    let mut failure = None;
    for result in rt::join_all(starts) {
        match result.expect("starting a worker does not panic") {
            Ok(conn) => started.push(conn),
            Err(e) => failure = Some(e),
        }
    }
    if let Some(e) = failure {
        // Dropping them kills and reaps them.
        drop(started);
        let _ = ready.send(Err(e));
        return;
    }
    let _ = ready.send(Ok(()));
    let slots: Vec<_> = started
        .into_iter()
        .enumerate()
        .map(|(index, conn)| {
            let rings = install(&state, index, &conn);
            let state = Rc::clone(&state);
            rt::spawn_local(move || worker_slot(&state, index, conn, rings))
        })
        .collect();

    let mut terminated = false;
    while let Ok(command) = commands.recv() {
        match command {
            Command::Submit(job) => {
                let mut st = state.borrow_mut();
                st.pending.push_back(job);
                st.pump();
            }
            Command::Pids(reply) => {
                let pids = state
                    .borrow()
                    .workers
                    .iter()
                    .flatten()
                    .map(|w| w.pid)
                    .collect();
                let _ = reply.send(pids);
            }
            Command::Terminate => {
                terminated = true;
                break;
            }
        }
    }
    let drained = {
        let mut st = state.borrow_mut();
        st.closing = true;
        if terminated {
            terminate(&mut st);
        }
        st.pump();
        Rc::clone(&st.drained)
    };
    drained.wait();
    rt::join_all(slots);
}

/// Fails every job still in the driver's hands if the driver unwinds: its
/// runtime was shut down under it (the pool outlived the runtime it was
/// made in). The worker processes are killed and reaped by their slot
/// tasks' `Conn`s as those unwind too.
struct FailOnUnwind(Shared);

impl Drop for FailOnUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(mut st) = self.0.try_borrow_mut() {
                let why = "the runtime running the pool's driver ended";
                let fail =
                    |job: Pending| job.slot.complete(Err(JobError::PoolClosed(why.to_owned())));
                st.pending.drain(..).for_each(fail);
                for worker in st.workers.iter_mut().flatten() {
                    worker.jobs.drain(..).for_each(fail);
                }
            }
        }
    }
}

/// Kills every worker and fails every job not finished.
fn terminate(st: &mut State) {
    let why = || JobError::PoolClosed("the pool was terminated".to_owned());
    for job in st.pending.drain(..) {
        job.slot.complete(Err(why()));
    }
    for worker in st.workers.iter_mut() {
        if let Some(worker) = worker.take() {
            let _ = kill(Pid::from_raw(worker.pid as i32), Signal::SIGKILL);
            for job in worker.jobs {
                job.slot.complete(Err(why()));
            }
        }
    }
}

/// Enters the worker of `conn` in slot `index`; returns the doorbell its
/// writer task waits on. Done before anything else runs, so that a
/// command never finds a started worker missing.
fn install(state: &Shared, index: usize, conn: &Conn) -> Receiver<()> {
    let (doorbell, rings) = channel::bounded::<()>(1);
    state.borrow_mut().workers[index] = Some(Worker {
        pid: conn.pid,
        out: Vec::new(),
        doorbell,
        jobs: VecDeque::new(),
        timer: None,
        timed_out: None,
    });
    rings
}

/// Serves worker slot `index` for the life of the pool: runs a worker,
/// and when it dies settles its jobs and starts another, unless the pool
/// is closing.
fn worker_slot(state: &Shared, index: usize, mut conn: Conn, mut rings: Receiver<()>) {
    loop {
        let writer = match conn.stream.try_clone() {
            Ok(stream) => {
                let state = Rc::clone(state);
                rt::spawn_local(move || write_frames(&state, index, stream, rings))
            }
            Err(_) => rt::spawn_local(|| {}),
        };
        state.borrow_mut().pump();
        read_results(state, index, &mut conn);
        // Unblock the writer (it may be waiting on a full socket).
        let _ = conn.stream.shutdown(Shutdown::Both);
        let status = conn.reap();
        writer.cancel();
        let _ = writer.join();
        settle_dead_worker(state, index, conn.pid, status);
        if state.borrow().closing {
            return;
        }
        conn = loop {
            match start_worker() {
                Ok(conn) => {
                    rings = install(state, index, &conn);
                    break conn;
                }
                Err(e) => {
                    let mut st = state.borrow_mut();
                    st.start_error = Some(e.to_string());
                    st.pump();
                    if st.closing || st.workers.iter().all(Option::is_none) {
                        return;
                    }
                    drop(st);
                    // Another worker is alive: try again later.
                    rt::sleep(Duration::from_secs(1));
                }
            }
        };
    }
}

/// Writes what the driver queues for worker `index`, all that has gathered
/// in one write. Ends when the driver drops the worker (closing the
/// doorbell); then closes the socket's write half, which tells the worker
/// to exit.
fn write_frames(state: &Shared, index: usize, stream: UnixStream, rings: Receiver<()>) {
    let mut batch = Vec::new();
    while rings.recv().is_ok() {
        if let Some(worker) = state.borrow_mut().worker(index) {
            std::mem::swap(&mut batch, &mut worker.out);
        }
        if (&stream).write_all(&batch).is_err() {
            return;
        }
        batch.clear();
    }
    let _ = stream.shutdown(Shutdown::Write);
}

/// Reads a worker's replies until its socket closes.
fn read_results(state: &Shared, index: usize, conn: &mut Conn) {
    loop {
        match conn.fill() {
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
        let mut st = state.borrow_mut();
        let st = &mut *st;
        let Some(worker) = st.workers[index].as_mut() else {
            return;
        };
        loop {
            let frame = match conn.decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(_) => return,
            };
            let Ok(msg) = wire::decode::<FromWorker<'_>>(frame) else {
                return;
            };
            match msg {
                FromWorker::Hello { .. } => {}
                FromWorker::Started { id } => start_timer(state, index, worker, id),
                FromWorker::Done { id, output, ran_us } => {
                    st.job_time.record(ran_us);
                    finish(worker, id, Ok(output.to_vec()));
                }
                FromWorker::Failed {
                    id,
                    failure,
                    ran_us,
                } => {
                    st.job_time.record(ran_us);
                    finish(worker, id, Err(failure.into()));
                }
                FromWorker::Revoked { id } => {
                    if let Some(at) = worker.jobs.iter().position(|job| job.id == id) {
                        let mut job = worker.jobs.remove(at).expect("found");
                        job.revoking = false;
                        st.pending.push_front(job);
                    }
                }
            }
            conn.decoder.consume();
        }
        st.pump();
    }
}

/// Starts the timer of job `id`, which has begun on `worker`, if it has a
/// timeout.
fn start_timer(state: &Shared, index: usize, worker: &mut Worker, id: u64) {
    let limit = worker
        .jobs
        .iter()
        .find(|job| job.id == id)
        .and_then(|job| job.timeout);
    if let Some(limit) = limit {
        let state = Rc::clone(state);
        let timer = rt::spawn_local(move || {
            rt::sleep(limit);
            expire(&state, index, id, limit);
        });
        worker.timer = Some((id, timer));
    }
}

/// Completes job `id` of `worker`.
fn finish(worker: &mut Worker, id: u64, outcome: Result<Vec<u8>, JobError>) {
    if let Some(at) = worker.jobs.iter().position(|job| job.id == id) {
        let job = worker.jobs.remove(at).expect("found");
        job.slot.complete(outcome);
    }
    if let Some((timed, timer)) = worker.timer.take() {
        if timed == id {
            timer.cancel();
        } else {
            worker.timer = Some((timed, timer));
        }
    }
}

/// A job's timer ran out: if it still runs, kill its worker.
fn expire(state: &Shared, index: usize, id: u64, limit: Duration) {
    let mut st = state.borrow_mut();
    if let Some(worker) = st.worker(index) {
        if worker.jobs.front().is_some_and(|job| job.id == id) {
            worker.timed_out = Some((id, limit));
            worker.timer = None;
            let _ = kill(Pid::from_raw(worker.pid as i32), Signal::SIGKILL);
        }
    }
}

/// A worker's process is gone: its running job fails, the jobs queued
/// behind it go back to the front of `pending`, in order.
fn settle_dead_worker(
    state: &Shared,
    index: usize,
    pid: u32,
    status: io::Result<std::process::ExitStatus>,
) {
    let mut st = state.borrow_mut();
    let Some(mut worker) = st.workers[index].take() else {
        return;
    };
    if let Some((_, timer)) = worker.timer.take() {
        timer.cancel();
    }
    if let Some(running) = worker.jobs.pop_front() {
        let error = match worker.timed_out {
            Some((id, limit)) if id == running.id => JobError::TimedOut(limit),
            _ => {
                use std::os::unix::process::ExitStatusExt;
                let status = status.ok();
                JobError::WorkerDied {
                    pid,
                    signal: status.and_then(|s| s.signal()),
                    code: status.and_then(|s| s.code()),
                }
            }
        };
        running.slot.complete(Err(error));
    }
    for mut job in worker.jobs.into_iter().rev() {
        job.revoking = false;
        st.pending.push_front(job);
    }
    st.pump();
}
