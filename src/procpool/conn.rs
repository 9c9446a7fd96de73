//! The parent's connection to one worker process: starting it, reading
//! from its socket, and making sure it is reaped.

use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::launch::worker_command;
use super::wire::{self, Decoder, FromWorker};
use crate::net::UnixStream;
use crate::process::Child;
use crate::rt;

/// How long a starting worker may take to say hello.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A started worker process and the parent's end of its socket.
pub(super) struct Conn {
    child: Child,
    pub(super) stream: UnixStream,
    pub(super) decoder: Decoder,
    pub(super) pid: u32,
    /// The child has been waited for.
    reaped: bool,
}

impl Conn {
    /// Reads from the socket into the decoder; `false` at end of stream.
    pub(super) fn fill(&mut self) -> io::Result<bool> {
        const CHUNK: usize = 64 * 1024;
        let n = (&self.stream).read(self.decoder.space(CHUNK));
        self.decoder.filled(*n.as_ref().unwrap_or(&0), CHUNK);
        Ok(n? > 0)
    }

    /// Waits for the worker's exit (parking the task).
    pub(super) fn reap(&mut self) -> io::Result<std::process::ExitStatus> {
        let status = self.child.wait();
        self.reaped = true;
        status
    }
}

impl Drop for Conn {
    /// A worker whose slot task unwinds (its runtime shut down) is killed
    /// and reaped on the spot: no zombie, no orphan.
    fn drop(&mut self) {
        if !self.reaped {
            let pid = Pid::from_raw(self.pid as i32);
            let _ = kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
    }
}

/// Starts a worker process and waits for its hello.
pub(super) fn start_worker() -> io::Result<Conn> {
    let (stream, theirs) = UnixStream::pair()?;
    let theirs = OwnedFd::from(theirs.into_std());
    let child = worker_command(theirs)?.spawn()?;
    let mut conn = Conn {
        pid: child.id(),
        child,
        stream,
        decoder: Decoder::default(),
        reaped: false,
    };
    let hello = rt::timeout(START_TIMEOUT, || -> io::Result<Option<String>> {
        loop {
            if let Some(frame) = conn.decoder.next_frame()? {
                let said = match wire::decode::<FromWorker<'_>>(frame)? {
                    FromWorker::Hello { .. } => None,
                    other => Some(format!("it sent {other:?} first")),
                };
                conn.decoder.consume();
                return Ok(said);
            }
            if !conn.fill()? {
                return Ok(Some("it exited before it said hello".to_owned()));
            }
        }
    });
    let said = match hello {
        Ok(Ok(None)) => return Ok(conn),
        Ok(Ok(Some(said))) => said,
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("it did not say hello within {START_TIMEOUT:?}"),
    };
    let _ = conn.child.kill();
    let status = conn.reap();
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
