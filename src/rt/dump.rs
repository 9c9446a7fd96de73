//! The runtime dump: every live task, what it waits on, where it came from.
//!
//! A stackful runtime knows each suspended task as a real stack with a
//! recorded reason for parking, so it can list them all at any moment.

use std::fmt;
use std::os::fd::RawFd;
use std::panic::Location;
use std::time::Instant;

use super::task::TaskId;

/// What a parked task waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// Not waiting (runnable or running).
    Nothing,
    /// `sleep` until this instant.
    Sleep(Instant),
    /// `yield_now`: runnable again at once.
    Yield,
    /// Another task's end.
    Join(TaskId),
    /// A file descriptor becoming readable.
    Readable(RawFd),
    /// A file descriptor becoming writable.
    Writable(RawFd),
    /// A child process's exit.
    Process(u32),
    /// A channel, to receive from or to have room to send.
    Channel,
    /// A `Mutex` lock.
    Lock,
    /// A `Semaphore` permit.
    Permit,
    /// An `Event` to be set.
    Event,
    /// A `WaitGroup` to reach zero.
    WaitGroup,
    /// A `Queue`: an item, room, or `join`.
    Queue,
    /// A call running on the blocking thread pool.
    Blocking,
    /// Any `Future`.
    Future,
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReason::Nothing => f.write_str("-"),
            WaitReason::Sleep(until) => {
                let left = until.saturating_duration_since(Instant::now());
                write!(f, "sleep ({left:?} left)")
            }
            WaitReason::Yield => f.write_str("yield"),
            WaitReason::Join(id) => write!(f, "join task {id}"),
            WaitReason::Readable(fd) => write!(f, "readable fd {fd}"),
            WaitReason::Writable(fd) => write!(f, "writable fd {fd}"),
            WaitReason::Process(pid) => write!(f, "exit of process {pid}"),
            WaitReason::Channel => f.write_str("channel"),
            WaitReason::Lock => f.write_str("mutex"),
            WaitReason::Permit => f.write_str("semaphore"),
            WaitReason::Event => f.write_str("event"),
            WaitReason::WaitGroup => f.write_str("wait group"),
            WaitReason::Queue => f.write_str("queue"),
            WaitReason::Blocking => f.write_str("blocking pool"),
            WaitReason::Future => f.write_str("future"),
        }
    }
}

/// A task's state, as the dump shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// In the run queue.
    Runnable,
    /// Running now (the task that asked for the dump).
    Running,
    /// Parked, waiting.
    Parked,
}

/// One line of the runtime dump.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// Its name, if it was given one.
    pub name: Option<String>,
    /// Runnable, running or parked.
    pub status: TaskStatus,
    /// What it waits for.
    pub waiting_on: WaitReason,
    /// The `spawn` call that created it.
    pub spawned_at: &'static Location<'static>,
    /// The worker thread it runs on (0 is the thread that called `run`).
    pub worker: usize,
}

/// A snapshot of every live task of a runtime.
#[derive(Clone, Debug, Default)]
pub struct Dump {
    /// The tasks, by id.
    pub tasks: Vec<TaskInfo>,
    /// Timers armed by `sleep` and `timeout` that have not fired yet. A
    /// sleep or timeout that ends early withdraws its timer.
    pub pending_timers: usize,
    /// How many worker threads the runtime has. Unstarted groups (spawned
    /// but not yet taken by a worker) are not listed.
    pub workers: usize,
}

impl Dump {
    /// Adds another worker's part.
    pub(crate) fn merge(&mut self, part: Dump) {
        self.tasks.extend(part.tasks);
        self.pending_timers += part.pending_timers;
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "corio runtime: {} live task(s), {} pending timer(s)",
            self.tasks.len(),
            self.pending_timers
        )?;
        if self.workers > 1 {
            write!(f, ", {} workers", self.workers)?;
        }
        writeln!(f)?;
        for t in &self.tasks {
            let status = match t.status {
                TaskStatus::Runnable => "runnable",
                TaskStatus::Running => "running",
                TaskStatus::Parked => "parked",
            };
            let worker = if self.workers > 1 {
                format!("worker {:<3} ", t.worker)
            } else {
                String::new()
            };
            writeln!(
                f,
                "  {worker}task {:<5} {:<16} {:<8} waiting on {:<24} spawned at {}",
                t.id.to_string(),
                t.name.as_deref().unwrap_or("-"),
                status,
                t.waiting_on.to_string(),
                t.spawned_at
            )?;
        }
        Ok(())
    }
}
