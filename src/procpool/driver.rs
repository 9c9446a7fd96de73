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
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::handle::Slot;
use super::launch::worker_command;
use super::wire::{self, Decoder, FromWorker, ToWorker};
use super::JobError;
use crate::net::UnixStream;
use crate::process::Child;
use crate::rt::{self, JoinHandle};
use crate::sync::channel::{self, Receiver, Sender};
use crate::sync::Event;

/// How long a starting worker may take to say hello.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A job on its way through the pool.
pub(super) struct Pending {
    pub(super) id: u64,
    pub(super) name: &'static str,
    pub(super) args: Vec<u8>,
    pub(super) timeout: Option<Duration>,
    pub(super) slot: Arc<Slot>,
    /// A revocation was sent for it and not yet answered.
    revoking: bool,
}

impl Pending {
    pub(super) fn new(
        id: u64,
        name: &'static str,
        args: Vec<u8>,
        timeout: Option<Duration>,
        slot: Arc<Slot>,
    ) -> Pending {
        Pending {
            id,
            name,
            args,
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
    /// Frames for its writer task.
    out: Sender<Vec<u8>>,
    /// Jobs sent to it and not finished, in the order sent: the first is
    /// the one it runs (or will run next).
    jobs: VecDeque<Pending>,
    /// The timer of the job that reported its start, if it has a timeout.
    timer: Option<(u64, JoinHandle<()>)>,
    /// The job whose timeout killed this worker.
    timed_out: Option<(u64, Duration)>,
}

impl Worker {
    fn send(&self, msg: &ToWorker) {
        let mut frame = Vec::new();
        wire::encode(msg, &mut frame);
        // A closed writer means the worker is dying; its reader task will
        // settle its jobs.
        let _ = self.out.send(frame);
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
        let capacity = 1 + self.config.prefetch;
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
            worker.send(&ToWorker::Run {
                id: job.id,
                name: job.name.to_owned(),
                args: job.args.clone(),
                report_start: job.timeout.is_some(),
            });
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
            let id = job.id;
            busiest.send(&ToWorker::Revoke { id });
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
    }));
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
        for conn in started {
            conn.kill_and_reap();
        }
        let _ = ready.send(Err(e));
        return;
    }
    let _ = ready.send(Ok(()));
    let slots: Vec<_> = started
        .into_iter()
        .enumerate()
        .map(|(index, conn)| {
            let state = Rc::clone(&state);
            rt::spawn_local(move || worker_slot(&state, index, conn))
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
    // Closing each worker's writer closes its socket; the worker exits and
    // its slot task reaps it.
    for worker in state.borrow_mut().workers.iter_mut() {
        *worker = None;
    }
    rt::join_all(slots);
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

/// A started worker process and the parent's end of its socket.
struct Conn {
    child: Child,
    stream: UnixStream,
    decoder: Decoder,
    pid: u32,
}

impl Conn {
    fn kill_and_reap(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a worker process and waits for its hello.
fn start_worker() -> io::Result<Conn> {
    let (stream, theirs) = UnixStream::pair()?;
    let theirs = OwnedFd::from(theirs.into_std());
    let child = worker_command(theirs)?.spawn()?;
    let mut conn = Conn {
        pid: child.id(),
        child,
        stream,
        decoder: Decoder::default(),
    };
    let hello = rt::timeout(START_TIMEOUT, || {
        let Conn {
            stream, decoder, ..
        } = &mut conn;
        wire::read_msg::<FromWorker>(decoder, |buf| (&*stream).read(buf))
    });
    match hello {
        Ok(Ok(Some(FromWorker::Hello { .. }))) => Ok(conn),
        outcome => {
            let said = match outcome {
                Ok(Ok(Some(other))) => format!("it sent {other:?} first"),
                Ok(Ok(None)) => "it exited before it said hello".to_owned(),
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("it did not say hello within {START_TIMEOUT:?}"),
            };
            let _ = conn.child.kill();
            let status = conn.child.wait();
            Err(io::Error::other(format!(
                "corio: procpool worker process {} did not start: {said} ({}); a binary \
                 using a Pool must call corio::procpool::init() first thing in main \
                 (a test binary: corio::procpool_test_worker!())",
                conn.pid,
                match status {
                    Ok(status) => status.to_string(),
                    Err(e) => e.to_string(),
                },
            )))
        }
    }
}

/// Serves worker slot `index` for the life of the pool: runs a worker,
/// and when it dies settles its jobs and starts another, unless the pool
/// is closing.
fn worker_slot(state: &Shared, index: usize, mut conn: Conn) {
    loop {
        let (out, frames) = channel::unbounded::<Vec<u8>>();
        state.borrow_mut().workers[index] = Some(Worker {
            pid: conn.pid,
            out,
            jobs: VecDeque::new(),
            timer: None,
            timed_out: None,
        });
        state.borrow_mut().pump();
        let writer = match conn.stream.try_clone() {
            Ok(stream) => rt::spawn_local(move || write_frames(stream, frames)),
            Err(_) => rt::spawn_local(|| {}),
        };
        read_results(state, index, &mut conn);
        // Unblock the writer (it may be waiting on a full socket).
        let _ = conn.stream.shutdown(Shutdown::Both);
        let status = conn.child.wait();
        writer.cancel();
        let _ = writer.join();
        settle_dead_worker(state, index, conn.pid, status);
        if state.borrow().closing {
            return;
        }
        conn = loop {
            match start_worker() {
                Ok(conn) => break conn,
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

/// Frames from the driver to the worker, batched into as few writes as
/// possible. Ends when the driver drops the worker (closing the channel);
/// then closes the socket's write half, which tells the worker to exit.
fn write_frames(stream: UnixStream, frames: Receiver<Vec<u8>>) {
    let mut batch = Vec::new();
    while let Ok(frame) = frames.recv() {
        batch.extend_from_slice(&frame);
        while let Ok(frame) = frames.try_recv() {
            batch.extend_from_slice(&frame);
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
        let Conn {
            stream, decoder, ..
        } = &mut *conn;
        let msg = match wire::read_msg::<FromWorker>(decoder, |buf| (&*stream).read(buf)) {
            Ok(Some(msg)) => msg,
            Ok(None) | Err(_) => return,
        };
        let mut st = state.borrow_mut();
        let Some(worker) = st.worker(index) else {
            return;
        };
        match msg {
            FromWorker::Hello { .. } => {}
            FromWorker::Started { id } => {
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
            FromWorker::Done { id, output } => finish(worker, id, Ok(output)),
            FromWorker::Failed { id, failure } => finish(worker, id, Err(failure.into())),
            FromWorker::Revoked { id } => {
                if let Some(at) = worker.jobs.iter().position(|job| job.id == id) {
                    let mut job = worker.jobs.remove(at).expect("found");
                    job.revoking = false;
                    st.pending.push_front(job);
                }
            }
        }
        st.pump();
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
