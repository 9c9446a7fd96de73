//! [`ToProcess`]: a stage that runs the rest of a pipeline in a child
//! process (the seed's `coprocess.py`: `sendto` in the parent, `recvfrom`
//! in the child).
//!
//! The documentation is on [`ToProcess`].

mod child;
mod error;
mod wire;

use std::cell::Cell;
use std::fmt;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;

use serde::Serialize;

pub use child::{__serve_child, ChildPipeline};
pub use error::{ChildError, RemoteError};

use self::wire::{FromChild, Outcome, ToChild, WireError};
use super::{Error, Sink, StageError};
use crate::net::UnixStream;
use crate::process::Child;
use crate::procpool::wire::{self as frames, Decoder};
use crate::procpool::{child_command, Role};

/// Items per frame unless [`ProcessBuilder::batch`] says otherwise.
const DEFAULT_BATCH: usize = 256;
/// A frame goes out once it holds this many bytes, however few items.
const FRAME_BYTES: usize = 64 * 1024;

/// Starts a child process running `pipeline`, its target built there from
/// `args`, and returns the sink that feeds it (see [`ToProcess`]). The
/// seed's `sendto`, with the child started for it.
///
/// ```
/// use corio::pipe::{self, Sink};
///
/// /// The child's pipeline: prints each number it gets.
/// fn printer(prefix: String) -> impl Sink<u32> {
///     pipe::sink_fn(move |n: u32| {
///         println!("{prefix}{n}");
///         Ok(())
///     })
/// }
/// corio::child_pipeline!(static PRINTER: ChildPipeline<u32, String> = printer);
///
/// // First thing in `main` (a test binary: `corio::procpool_test_worker!()`).
/// corio::procpool::init();
///
/// let stage = pipe::to_process(&PRINTER, "child got ".to_owned())?;
/// pipe::from_iter(1..=3, stage)?; // sends, then closes: waits for the child
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// When the child cannot be started (as [`ProcessBuilder::spawn`]).
pub fn to_process<T: Serialize, A: Serialize>(
    pipeline: &ChildPipeline<T, A>,
    args: A,
) -> io::Result<ToProcess<T>> {
    ProcessBuilder::new().spawn(pipeline, args)
}

/// Options for a [`ToProcess`] stage.
#[derive(Clone, Debug)]
pub struct ProcessBuilder {
    batch: usize,
}

impl Default for ProcessBuilder {
    fn default() -> Self {
        ProcessBuilder::new()
    }
}

impl ProcessBuilder {
    /// Frames of up to 256 items.
    pub fn new() -> Self {
        ProcessBuilder {
            batch: DEFAULT_BATCH,
        }
    }

    /// Items per frame (at least 1; 1 writes every item at once). A frame
    /// also goes out once it holds 64 KiB, whatever the count.
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// Starts the child running `pipeline` and sends it `args` (see
    /// [`to_process`]). Returns at once: the child builds its target while
    /// the stage goes on.
    ///
    /// # Errors
    ///
    /// When the process or socket cannot be made, the arguments do not
    /// serialize, or this process is a child corio started whose `main`
    /// did not call [`procpool::init`](crate::procpool::init).
    pub fn spawn<T: Serialize, A: Serialize>(
        self,
        pipeline: &ChildPipeline<T, A>,
        args: A,
    ) -> io::Result<ToProcess<T>> {
        let mut first = Vec::new();
        let start = frames::begin(&mut first);
        frames::append(&ToChild::Args, &mut first).map_err(io::Error::other)?;
        frames::append(&args, &mut first).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("corio: the child pipeline's arguments do not serialize: {e}"),
            )
        })?;
        frames::end(&mut first, start);

        let (stream, theirs) = UnixStream::pair()?;
        let theirs = OwnedFd::from(theirs.into_std());
        // The command, holding the child's end, is dropped at once: only
        // the child keeps that end, so its exit closes the socket.
        let child = child_command(Role::Entry(pipeline.name()), theirs)?.spawn()?;
        let pid = child.id();
        let written = (&stream).write_all(&first);
        first.clear();
        let mut stage = ToProcess {
            conn: Some(Conn {
                child,
                stream,
                decoder: Decoder::default(),
                hello: false,
                ended: None,
            }),
            pid,
            frame: first,
            open: None,
            items: 0,
            batch: self.batch,
            outcome: None,
            told_finished: Cell::new(false),
            _items: PhantomData,
        };
        if written.is_err() {
            // The child has gone already: the stage is finished, with its
            // error for the first call.
            stage.end();
        }
        Ok(stage)
    }
}

/// A sink that sends its items, serialized, to a pipeline in a child
/// process: the seed's `sendto` (and, in the child, its `recvfrom`). Made
/// by [`to_process`] or a [`ProcessBuilder`].
///
/// ```text
/// parent:  source → … → to_process ─┐ frames of serialized items
/// child:   ┌─────────────────────────┘ (a socket, the child's stdin)
///          └→ recvfrom → target built by the ChildPipeline → …
/// ```
///
/// # Starting the child
///
/// The child is the current binary, started again by the scheme of
/// [`procpool`](crate::procpool) (never a bare `fork`): so every binary
/// that makes a process stage calls
/// [`procpool::init()`](crate::procpool::init) first thing in `main` (a
/// test binary declares
/// [`procpool_test_worker!()`](crate::procpool_test_worker)), the one call
/// that turns any child corio starts into what it was started for. What
/// the child runs is a [`ChildPipeline`], declared with
/// [`child_pipeline!`](crate::child_pipeline): a `static` naming a
/// function that builds the child's target (from arguments the stage
/// sends, if it takes any). Parent and child run the same binary, so the
/// `static` ties the item and argument types of both sides together at
/// compile time.
///
/// The child's standard input is a Unix socket to the stage (then
/// `/dev/null` once the child has taken the socket off it); its standard
/// output and error are the parent's, so a printer in the child prints to
/// the parent's output. The child runs its pipeline inside a corio
/// runtime: its stages may do I/O, sleep and spawn tasks.
///
/// # Items cross in frames
///
/// Each item is serialized with postcard the moment it is sent (the stage
/// keeps bytes, not items), into a frame of the framing the process pool
/// uses (a `u32` length, then postcard); a frame goes to the
/// child when it holds [`ProcessBuilder::batch`] items (256 by default) or
/// 64 KiB, or on [`flush`](ToProcess::flush), [`throw`](Sink::throw) or
/// [`close`](Sink::close). A frame is written with corio's socket type:
/// when the child is slower and the socket is full, a stage fed from a
/// corio task parks the task; outside a runtime it blocks the thread.
///
/// # Errors come back, in the manner of a threaded stage
///
/// The child's pipeline runs on its own, so an error it raises cannot come
/// out of the `send` that caused it. The child reports the error to the
/// stage and exits; the stage learns it when a write fails (the child no
/// longer reads) or when it is closed, reaps the child, and returns a
/// [`ChildError`] from that `send`, `flush`, `throw` or `close`: the
/// error the child's target raised ([`ChildError::Raised`], which keeps an
/// I/O error's kind, so [`Error::io_kind`] still sees a closed standard
/// output), a panic there ([`ChildError::Panicked`]), a child killed or
/// exiting before its pipeline ended ([`ChildError::Died`], naming the
/// signal or exit code), or a child that never started its pipeline
/// ([`ChildError::NotStarted`], which says to call `init`). The items sent
/// in between are dropped. After that the stage is finished: `send` gives
/// [`StageError::Finished`], `close` gives `Ok(())`.
///
/// A child's target may also finish on its own: the child then closes it
/// and exits, and the stage learns it at its next write; that `send`
/// returns `Ok(())` and from then on [`is_finished`](Sink::is_finished) is
/// true, as with [`Threaded`](super::Threaded).
///
/// [`throw`](Sink::throw) waits for the child's answer: the error crosses
/// as a [`RemoteError`] (its message and I/O kind), is thrown into the
/// child's target after the items sent before it, and `Ok(())` comes back
/// if the target handled it, the very error thrown if it came back out, or
/// a [`ChildError::Raised`] if the target raised another.
///
/// # Close and drop
///
/// `close` sends what is left, shuts the socket's write half (the child's
/// source sees the end of the stream and closes its target), reads the
/// child's report, waits for the child to exit and returns how its
/// pipeline ended. Dropping the stage does the same without the error: a
/// child never outlives its stage, and none is left a zombie. The parent
/// prints nothing while it waits, so when only the child prints, the
/// output is the child's, in order. A child whose pipeline never ends
/// keeps `close` waiting, as a thread that never ends keeps a join
/// waiting; [`pid`](ToProcess::pid) names the process to kill.
pub struct ToProcess<T> {
    /// The child and its socket; `None` once it has been reaped.
    conn: Option<Conn>,
    pid: u32,
    /// Frames not written yet: whole ones, then the open one.
    frame: Vec<u8>,
    /// Where the open frame of items starts in `frame`.
    open: Option<usize>,
    /// Items in the open frame.
    items: usize,
    batch: usize,
    /// How the child's pipeline ended, until it has been returned.
    outcome: Option<Result<(), Error>>,
    /// Whether the caller has been told that the stage is finished.
    told_finished: Cell<bool>,
    _items: PhantomData<fn(T)>,
}

/// A live child, as its stage sees it.
struct Conn {
    child: Child,
    stream: UnixStream,
    /// The child's reports.
    decoder: Decoder,
    /// The child has said hello: it runs its pipeline.
    hello: bool,
    /// How the child's pipeline ended, once it has said so.
    ended: Option<Outcome>,
}

/// The child's answer to a throw.
type Answer = Result<(), Option<WireError>>;

impl Conn {
    /// Reads the child's reports up to its next answer to a throw, noting
    /// a hello and how its pipeline ended on the way; `None` at the end of
    /// the stream, or when it cannot be read.
    fn next_answer(&mut self) -> Option<Answer> {
        loop {
            match wire::read_report(&mut self.decoder, &self.stream) {
                Ok(Some(FromChild::Hello { .. })) => self.hello = true,
                Ok(Some(FromChild::Ended(outcome))) => self.ended = Some(outcome),
                Ok(Some(FromChild::Answer(answer))) => return Some(answer),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

impl<T> ToProcess<T> {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends what is queued to the child now.
    ///
    /// # Errors
    ///
    /// The child's [`ChildError`] if it has ended with one; what was queued
    /// is then dropped.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.close_frame();
        let Some(conn) = self.conn.as_mut() else {
            self.frame.clear();
            return self.take_outcome();
        };
        if self.frame.is_empty() {
            return Ok(());
        }
        let written = (&conn.stream).write_all(&self.frame);
        self.frame.clear();
        match written {
            Ok(()) => Ok(()),
            // The child no longer reads: it has ended, or is ending.
            Err(_) => {
                self.end();
                self.take_outcome()
            }
        }
    }

    /// Writes the open frame's length.
    fn close_frame(&mut self) {
        if let Some(start) = self.open.take() {
            frames::end(&mut self.frame, start);
            self.items = 0;
        }
    }

    /// Shuts the child's input, reads its reports to their end, reaps it,
    /// and keeps how its pipeline ended in `outcome`. Does nothing if that
    /// is done already.
    fn end(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        self.frame.clear();
        self.open = None;
        self.items = 0;
        let _ = conn.stream.shutdown(Shutdown::Write);
        while conn.next_answer().is_some() {}
        let status = conn.child.wait().ok();
        let pid = self.pid;
        let signal = status.and_then(|s| s.signal());
        let code = status.and_then(|s| s.code());
        let error = match conn.ended {
            Some(Outcome::Raised(error)) => ChildError::Raised {
                pid,
                error: error.into_remote(),
            },
            Some(Outcome::Panicked(message)) => ChildError::Panicked { pid, message },
            Some(Outcome::Done) if status.is_some_and(|s| s.success()) => {
                self.outcome = Some(Ok(()));
                return;
            }
            // Killed before it said hello: it died all the same.
            _ if !conn.hello && signal.is_none() => ChildError::NotStarted { pid, signal, code },
            _ => ChildError::Died { pid, signal, code },
        };
        self.outcome = Some(Err(Error::new(error)));
    }

    /// How the child ended, once; `Ok(())` after that.
    fn take_outcome(&mut self) -> Result<(), Error> {
        self.told_finished.set(true);
        self.outcome.take().unwrap_or(Ok(()))
    }

    /// `send` to a stage whose child has ended: its error; or, if its
    /// target finished on its own and the caller has not been told yet,
    /// `Ok(())` (the item is dropped); else [`StageError::Finished`].
    #[cold]
    #[inline(never)]
    fn send_after_the_end(&mut self) -> Result<(), Error> {
        let told = self.told_finished.replace(true);
        match self.outcome.take() {
            Some(Err(e)) => Err(e),
            _ if told => Err(Error::new(StageError::Finished)),
            _ => Ok(()),
        }
    }
}

impl<T: Serialize> Sink<T> for ToProcess<T> {
    fn send(&mut self, item: T) -> Result<(), Error> {
        if self.conn.is_none() {
            return self.send_after_the_end();
        }
        if self.open.is_none() {
            let start = frames::begin(&mut self.frame);
            frames::append(&ToChild::Items, &mut self.frame).map_err(io::Error::other)?;
            self.open = Some(start);
        }
        let start = self.open.expect("opened above");
        let before = self.frame.len();
        if let Err(e) = frames::append(&item, &mut self.frame) {
            return Err(Error::from(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("an item for the child process does not serialize: {e}"),
            )));
        }
        if self.frame.len() - start - 4 > frames::MAX_FRAME {
            self.frame.truncate(before);
            return Err(Error::from(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "an item for the child process takes more than the {} bytes a frame may hold",
                    frames::MAX_FRAME
                ),
            )));
        }
        self.items += 1;
        if self.items >= self.batch || self.frame.len() - start >= FRAME_BYTES {
            self.flush()
        } else {
            Ok(())
        }
    }

    fn throw(&mut self, error: Error) -> Result<(), Error> {
        self.flush()?;
        let Some(conn) = self.conn.as_mut() else {
            return Err(self.finished_error());
        };
        let mut frame = Vec::new();
        frames::encode(&ToChild::Throw(WireError::from_error(&error)), &mut frame);
        if (&conn.stream).write_all(&frame).is_ok() {
            match conn.next_answer() {
                Some(Ok(())) => return Ok(()),
                Some(Err(None)) => return Err(error),
                Some(Err(Some(raised))) => {
                    return Err(Error::new(ChildError::Raised {
                        pid: self.pid,
                        error: raised.into_remote(),
                    }))
                }
                // The pipeline ended before it answered.
                None => {}
            }
        }
        Err(self.finished_error())
    }

    fn close(&mut self) -> Result<(), Error> {
        let flushed = self.flush();
        // After a failed flush the child is reaped and this is `Ok`.
        self.end();
        let ended = self.take_outcome();
        flushed.and(ended)
    }

    fn is_finished(&self) -> bool {
        let finished = self.conn.is_none();
        if finished {
            self.told_finished.set(true);
        }
        finished
    }
}

impl<T> ToProcess<T> {
    /// Why a finished stage takes no more: the child's error, else
    /// [`StageError::Finished`].
    #[cold]
    fn finished_error(&mut self) -> Error {
        self.end();
        match self.take_outcome() {
            Err(e) => e,
            Ok(()) => Error::new(StageError::Finished),
        }
    }
}

impl<T> Drop for ToProcess<T> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.close_frame();
            if let Some(conn) = &self.conn {
                let _ = (&conn.stream).write_all(&self.frame);
            }
        }
        self.end();
    }
}

impl<T> fmt::Debug for ToProcess<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToProcess")
            .field("pid", &self.pid)
            .field("queued", &self.items)
            .field("batch", &self.batch)
            .field("finished", &self.conn.is_none())
            .finish()
    }
}
