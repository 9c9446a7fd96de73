//! The worker process: reads jobs from its socket, runs them one at a time
//! as tasks of a corio runtime, writes their results back.
//!
//! The runtime's main task (the *runner*) does the work on the fast path
//! itself: it parks on the socket, decodes the jobs that arrive, runs
//! them, and writes their results, so a job costs the parent one wake-up
//! of this process and one of its own. A second, plain thread (the
//! *watcher*) is on duty only while a job runs, when the runner cannot
//! look at the socket: it answers revocations at once (so a job queued
//! here goes to an idle worker while a long job holds this one) and sends
//! results that would otherwise wait for the running job to end. Both
//! share the decoder, the inbox and the outgoing bytes under one lock.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use std::{fs, thread};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::job::{self, FailureCause};
use super::wire::{self, Decoder, Failure, FromWorker, ToWorker};
use crate::io::Fd;
use crate::util::lock;

/// Results waiting this long while a job runs are sent by the watcher.
const FLUSH_AFTER: Duration = Duration::from_millis(1);
/// Results the runner collects before it writes them, when more jobs are
/// ready to run.
const FLUSH_EVERY: usize = 32;

/// A job received and not yet started.
struct Queued {
    id: u64,
    name: String,
    args: Vec<u8>,
    report_start: bool,
}

/// What the runner and the watcher share.
#[derive(Default)]
struct Link {
    decoder: Decoder,
    inbox: VecDeque<Queued>,
    /// Bytes to send to the parent.
    out: Vec<u8>,
    /// Replies in `out`.
    unsent: usize,
    /// A job is running: the watcher is on duty.
    running: bool,
    /// The parent closed the socket.
    closed: bool,
}

struct Shared {
    link: Mutex<Link>,
    duty: Condvar,
    socket: Fd<UnixStream>,
}

impl Shared {
    fn link(&self) -> MutexGuard<'_, Link> {
        lock(&self.link)
    }
}

/// Serves the parent on the socket that is this process's standard input,
/// until the parent closes it.
pub(super) fn serve() -> io::Result<()> {
    // Take the socket off fd 0 and put /dev/null there, so that a job
    // reading standard input cannot eat the protocol.
    let socket = UnixStream::from(io::stdin().as_fd().try_clone_to_owned()?);
    nix::unistd::dup2_stdin(fs::File::open("/dev/null")?)?;
    serve_on(socket)
}

/// Serves the parent at the other end of `socket` until it closes.
fn serve_on(socket: UnixStream) -> io::Result<()> {
    socket.set_nonblocking(true)?;
    let shared = Arc::new(Shared {
        link: Mutex::new(Link::default()),
        duty: Condvar::new(),
        socket: Fd::new(socket)?,
    });
    let watcher = Arc::clone(&shared);
    thread::Builder::new()
        .name("corio-procpool-watcher".into())
        .spawn(move || watch(&watcher))?;
    crate::rt::run(|| run_jobs(&shared))
}

/// The runner: take the next job from the inbox, or read more from the
/// socket; run it; collect its reply.
fn run_jobs(shared: &Shared) -> io::Result<()> {
    {
        let mut link = shared.link();
        wire::encode(
            &FromWorker::Hello {
                pid: std::process::id(),
            },
            &mut link.out,
        );
    }
    flush(shared)?;
    loop {
        let next = {
            let mut link = shared.link();
            match link.inbox.pop_front() {
                Some(job) => {
                    if job.report_start {
                        wire::encode(&FromWorker::Started { id: job.id }, &mut link.out);
                    }
                    link.running = true;
                    Some(job)
                }
                None => None,
            }
        };
        let Some(job) = next else {
            // Nothing to run: send what is collected, then wait for more.
            flush(shared)?;
            if !receive(shared)? {
                // The parent is done with us; a reply it no longer waits
                // for may be lost.
                let _ = flush(shared);
                return Ok(());
            }
            continue;
        };
        if job.report_start {
            // The parent's timer for this job starts now.
            flush(shared)?;
        }
        shared.duty.notify_one();
        let id = job.id;
        let began = Instant::now();
        let outcome = run_job(job.name, job.args);
        let ran_us = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
        let full = {
            let mut link = shared.link();
            link.running = false;
            match outcome {
                Ok(output) => wire::encode(
                    &FromWorker::Done {
                        id,
                        output: &output,
                        ran_us,
                    },
                    &mut link.out,
                ),
                Err(failure) => wire::encode(
                    &FromWorker::Failed {
                        id,
                        failure,
                        ran_us,
                    },
                    &mut link.out,
                ),
            }
            link.unsent += 1;
            link.unsent >= FLUSH_EVERY
        };
        if full {
            flush(shared)?;
        }
    }
}

/// Reads what the socket has (parking until it has something) and files it.
/// `false` once the parent has closed the socket.
fn receive(shared: &Shared) -> io::Result<bool> {
    shared.socket.read_with(|socket| {
        let mut link = shared.link();
        if !link.inbox.is_empty() {
            return Ok(());
        }
        read_available(socket, &mut link)?;
        // Replies that the read produced (`Revoked`) must go out before the
        // runner parks: while it is parked, nobody else sends them.
        if link.inbox.is_empty() && !link.closed && link.out.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    })?;
    let link = shared.link();
    Ok(!(link.closed && link.inbox.is_empty()))
}

/// Reads every byte the socket has and handles the messages in them; a
/// would-block read ends it quietly.
fn read_available(mut socket: &UnixStream, link: &mut Link) -> io::Result<()> {
    loop {
        const CHUNK: usize = 64 * 1024;
        let n = match socket.read(link.decoder.space(CHUNK)) {
            Ok(n) => n,
            Err(e) => {
                link.decoder.filled(0, CHUNK);
                match e.kind() {
                    io::ErrorKind::WouldBlock => break,
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
        };
        link.decoder.filled(n, CHUNK);
        if n == 0 {
            link.closed = true;
            break;
        }
    }
    while let Some(frame) = link.decoder.next_frame()? {
        match wire::decode::<ToWorker<'_>>(frame)? {
            ToWorker::Run {
                id,
                name,
                args,
                report_start,
            } => {
                let job = Queued {
                    id,
                    name: name.to_owned(),
                    args: args.to_vec(),
                    report_start,
                };
                link.inbox.push_back(job);
            }
            ToWorker::Revoke { id } => {
                if let Some(at) = link.inbox.iter().position(|job| job.id == id) {
                    link.inbox.remove(at);
                    wire::encode(&FromWorker::Revoked { id }, &mut link.out);
                    link.unsent += 1;
                }
            }
        }
        link.decoder.consume();
    }
    Ok(())
}

/// Writes every byte collected, parking while the socket is full.
fn flush(shared: &Shared) -> io::Result<()> {
    loop {
        let done = shared.socket.write_with(|socket| {
            let mut link = shared.link();
            write_some(socket, &mut link).map(|()| link.out.is_empty())
        })?;
        if done {
            return Ok(());
        }
    }
}

/// Writes what the socket takes now; a would-block is an error for
/// `write_with` to park on.
fn write_some(mut socket: &UnixStream, link: &mut Link) -> io::Result<()> {
    while !link.out.is_empty() {
        match socket.write(&link.out) {
            Ok(n) => {
                link.out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    link.unsent = 0;
    Ok(())
}

/// The watcher: while a job runs, reads the socket (answering revocations
/// and filing new jobs) and sends results that have waited.
fn watch(shared: &Shared) {
    loop {
        let mut link = shared.link();
        while !link.running {
            link = shared.duty.wait(link).unwrap_or_else(|e| e.into_inner());
        }
        let pending = !link.out.is_empty();
        drop(link);
        let socket = shared.socket.get_ref();
        let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
        let timeout = if pending {
            FLUSH_AFTER
        } else {
            Duration::from_millis(10)
        };
        let timeout =
            PollTimeout::try_from(timeout.as_millis().max(1) as u64).unwrap_or(PollTimeout::MAX);
        if poll(&mut fds, timeout).is_err() {
            continue;
        }
        let mut link = shared.link();
        if !link.running {
            continue;
        }
        let outcome =
            read_available(socket, &mut link).and_then(|()| match write_some(socket, &mut link) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                other => other,
            });
        if outcome.is_err() || link.closed {
            // The parent is gone or broke the protocol: nothing more to do.
            drop(link);
            let _ = io::stdout().flush();
            std::process::exit(if link_error(&outcome) { 1 } else { 0 });
        }
    }
}

fn link_error(outcome: &io::Result<()>) -> bool {
    if let Err(e) = outcome {
        eprintln!("corio: procpool worker {}: {e}", std::process::id());
        true
    } else {
        false
    }
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    use super::super::wire::{self, Decoder, FromWorker, ToWorker};

    /// Reads the next frame the worker sends; a generous read timeout
    /// turns a worker that never answers into a failure, not a hang.
    fn next_reply(stream: &mut UnixStream, decoder: &mut Decoder) -> String {
        loop {
            if let Some(frame) = decoder.next_frame().unwrap() {
                let reply = format!("{:?}", wire::decode::<FromWorker<'_>>(frame).unwrap());
                decoder.consume();
                return reply;
            }
            let space = decoder.space(4096);
            let n = stream
                .read(space)
                .expect("the worker answers within the read timeout");
            decoder.filled(n, 4096);
            assert!(n > 0, "the worker closed its socket");
        }
    }

    /// A job and its revocation that arrive in one read, while the worker
    /// is idle, are answered with `Revoked` at once: the parent is
    /// waiting for that answer before it gives the job to another worker.
    #[test]
    fn a_revocation_read_while_idle_is_answered() {
        let (mut parent, child) = UnixStream::pair().unwrap();
        parent
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let worker = std::thread::spawn(move || super::serve_on(child));
        let mut decoder = Decoder::default();
        assert!(next_reply(&mut parent, &mut decoder).starts_with("Hello"));

        let mut frames = Vec::new();
        let run = ToWorker::Run {
            id: 7,
            name: "never::runs",
            args: &[],
            report_start: false,
        };
        wire::encode(&run, &mut frames);
        wire::encode(&ToWorker::Revoke { id: 7 }, &mut frames);
        parent.write_all(&frames).unwrap();
        assert_eq!(next_reply(&mut parent, &mut decoder), "Revoked { id: 7 }");

        drop(parent);
        worker.join().unwrap().unwrap();
    }
}
