//! The worker process: reads jobs from its socket, runs them one at a time
//! as tasks of a corio runtime, writes their results back.
//!
//! Three threads, so that talking to the parent never waits for a job: a
//! reader thread takes jobs off the socket into the inbox and answers
//! revocations at once (even while a CPU-bound job holds the runtime's
//! thread), a writer thread sends replies in batches, and the main thread
//! runs the jobs in a runtime. A job may spawn coroutines and do I/O there.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{mpsc, Arc, Mutex};
use std::{fs, thread};

use super::job::{self, FailureCause};
use super::wire::{self, Decoder, Failure, FromWorker, ToWorker};
use crate::sync::channel;
use crate::util::lock;

/// A job received and not yet started.
struct Queued {
    id: u64,
    name: String,
    args: Vec<u8>,
    report_start: bool,
}

/// Serves the parent on the socket that is this process's standard input,
/// until the parent closes it.
pub(super) fn serve() -> io::Result<()> {
    // Take the socket off fd 0, and put /dev/null there, so that a job
    // reading standard input cannot eat the protocol.
    let socket = UnixStream::from(io::stdin().as_fd().try_clone_to_owned()?);
    let null = fs::File::open("/dev/null")?;
    nix::unistd::dup2_stdin(&null)?;
    drop(null);
    // The parent made the socket non-blocking; here it is read by plain
    // threads.
    socket.set_nonblocking(false)?;

    let (replies, outbox) = mpsc::channel::<Vec<u8>>();
    let inbox = Arc::new(Mutex::new(VecDeque::<Queued>::new()));
    let (doorbell, rings) = channel::unbounded::<()>();

    let mut hello = Vec::new();
    wire::encode(
        &FromWorker::Hello {
            pid: std::process::id(),
        },
        &mut hello,
    );
    (&socket).write_all(&hello)?;

    let writer = socket.try_clone()?;
    thread::Builder::new()
        .name("corio-procpool-writer".into())
        .spawn(move || write_replies(writer, outbox))?;
    let reader = socket;
    let reader_inbox = Arc::clone(&inbox);
    let reader_replies = replies.clone();
    thread::Builder::new()
        .name("corio-procpool-reader".into())
        .spawn(move || read_jobs(reader, reader_inbox, doorbell, reader_replies))?;

    crate::rt::run(|| {
        // Each ring announces one job; a revoked job leaves its ring
        // behind with nothing to take.
        while rings.recv().is_ok() {
            let Some(job) = lock(&inbox).pop_front() else {
                continue;
            };
            if job.report_start {
                // Sent before the job runs: the parent's timer starts now.
                let mut started = Vec::new();
                wire::encode(&FromWorker::Started { id: job.id }, &mut started);
                if replies.send(started).is_err() {
                    break;
                }
            }
            let mut frame = Vec::new();
            let reply = match run_job(job.name, job.args) {
                Ok(output) => FromWorker::Done { id: job.id, output },
                Err(failure) => FromWorker::Failed {
                    id: job.id,
                    failure,
                },
            };
            wire::encode(&reply, &mut frame);
            if replies.send(frame).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// Runs one job as a task and waits for it, catching its panic.
fn run_job(name: String, args: Vec<u8>) -> Result<Vec<u8>, Failure> {
    let Some(run) = job::lookup(&name) else {
        return Err(Failure::Unregistered(name));
    };
    match crate::rt::spawn(move || run(&args)).join() {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(FailureCause(failure))) => Err(failure),
        Err(e) => Err(Failure::Panicked(panic_message(e.into_panic()))),
    }
}

fn panic_message(payload: Option<Box<dyn std::any::Any + Send>>) -> String {
    match payload {
        Some(payload) => match payload.downcast::<String>() {
            Ok(msg) => *msg,
            Err(payload) => match payload.downcast::<&'static str>() {
                Ok(msg) => (*msg).to_owned(),
                Err(_) => "a panic with a non-string payload".to_owned(),
            },
        },
        None => "the job was cancelled".to_owned(),
    }
}

/// The reader thread: jobs into the inbox, revocations answered at once.
/// The parent closing the socket ends the worker.
fn read_jobs(
    mut socket: UnixStream,
    inbox: Arc<Mutex<VecDeque<Queued>>>,
    doorbell: channel::Sender<()>,
    replies: mpsc::Sender<Vec<u8>>,
) {
    let mut decoder = Decoder::default();
    loop {
        let msg = wire::read_msg::<ToWorker>(&mut decoder, |buf| socket.read(buf));
        match msg {
            Ok(Some(ToWorker::Run {
                id,
                name,
                args,
                report_start,
            })) => {
                lock(&inbox).push_back(Queued {
                    id,
                    name,
                    args,
                    report_start,
                });
                let _ = doorbell.send(());
            }
            Ok(Some(ToWorker::Revoke { id })) => {
                let mut queue = lock(&inbox);
                if let Some(at) = queue.iter().position(|job| job.id == id) {
                    queue.remove(at);
                    drop(queue);
                    let mut frame = Vec::new();
                    wire::encode(&FromWorker::Revoked { id }, &mut frame);
                    let _ = replies.send(frame);
                }
            }
            Ok(None) => exit(0),
            Err(e) => {
                eprintln!("corio: procpool worker {}: {e}", std::process::id());
                exit(1);
            }
        }
    }
}

/// The writer thread: every reply waiting goes out in one write.
fn write_replies(mut socket: UnixStream, outbox: mpsc::Receiver<Vec<u8>>) {
    let mut batch = Vec::new();
    while let Ok(frame) = outbox.recv() {
        batch.extend_from_slice(&frame);
        while let Ok(frame) = outbox.try_recv() {
            batch.extend_from_slice(&frame);
        }
        if socket.write_all(&batch).is_err() {
            // The parent is gone.
            exit(0);
        }
        batch.clear();
    }
}

/// Ends the worker process. Output a job printed is flushed first: the
/// process ends without unwinding the job's thread.
fn exit(code: i32) -> ! {
    let _ = io::stdout().flush();
    std::process::exit(code)
}
