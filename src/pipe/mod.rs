//! Push pipelines of coroutines: sources, filters, broadcast, sinks.
//!
//! This is the "Pipeline Processing" and "Event Dispatching" part of
//! Beazley's coroutine course, in Rust. A pipeline is a chain of *stages*: a
//! source pushes items into its target with [`Sink::send`]; each stage does
//! something with the item and pushes results on to its own target(s); the
//! last stage (the sink) consumes them.
//!
//! ```text
//! source ──send──▶ filter ──send──▶ map ──send──▶ broadcast ─┬─▶ sink
//!                                                            └─▶ sink
//! ```
//!
//! - [`Sink`] is anything you can `send` items into, `throw` an error into
//!   and `close`. A [`Consumer`] is a sink whose body is a corio
//!   [`Generator`]: it runs on its own stack and takes each item with
//!   `inbox.recv()`, exactly like `line = (yield)` in Python. Plain
//!   closures are sinks too ([`sink_fn`]), and so is a `Vec` (it collects).
//! - Stages are plain functions that take their target and return a sink:
//!   [`filter`], [`map`], [`broadcast`], or your own, written like the
//!   Python originals.
//! - Sources drive a target: [`from_iter`] (any `Iterator`), [`from_lines`]
//!   (any `BufRead`), [`read_lines`] (a file), [`Follow`] (a file followed as
//!   it grows, like `tail -f`), and the XML sources of [`xml`].
//! - [`Shared`] lets several stages feed one sink; [`bus`] has the record
//!   type and a test-data generator for the bus-feed examples.
//! - [`threaded`] (and [`threaded_scoped`], [`ThreadBuilder`]) runs the rest
//!   of a pipeline on another thread: a sink that hands items over in
//!   batches to a target built on that thread.
//! - [`to_process`] (and [`ProcessBuilder`]) runs the rest of a pipeline in
//!   a child process: a sink that serializes items, in frames, to a
//!   [`ChildPipeline`] declared with [`child_pipeline!`](crate::child_pipeline),
//!   whose target is built in the child (see [`ToProcess`]).
//!
//! # Close and errors travel downstream
//!
//! As in the seed: when a source ends it closes its target; a stage that is
//! closed or thrown into closes or throws into its targets ([`Sink::forward`]
//! does both), and broadcast forwards to all. A stage whose body returns, for
//! instance through `?` on a close, drops its target, and dropping a
//! [`Consumer`] closes it, so a close is never lost. An error raised by a
//! stage comes back out of the `send` that caused it, up to the source,
//! which returns it.
//!
//! # A stage written once runs behind any source
//!
//! ```
//! use corio::pipe::{self, Consumer, Sink};
//!
//! /// Python's `grep` coroutine: pass on the lines that contain `pattern`.
//! fn grep<'a>(pattern: &'a str, mut target: impl Sink<String> + 'a) -> Consumer<'a, String> {
//!     Consumer::<String>::new(move |inbox| loop {
//!         match inbox.recv() {
//!             Ok(line) if line.contains(pattern) => target.send(line)?,
//!             Ok(_) => {}
//!             // closed or thrown into: close or throw into the target
//!             Err(interrupt) => target.forward(interrupt)?,
//!         }
//!     })
//! }
//!
//! // Behind an iterator:
//! let mut found = Vec::new();
//! let lines = ["python rocks\n", "perl\n", "python again\n"].map(String::from);
//! pipe::from_iter(lines, grep("python", &mut found)).unwrap();
//! assert_eq!(found, ["python rocks\n", "python again\n"]);
//!
//! // Behind any BufRead (a file, stdin, a socket), unchanged:
//! let mut found = Vec::new();
//! let input = std::io::Cursor::new("a\npython b\nc\n");
//! pipe::from_lines(input, grep("python", &mut found)).unwrap();
//! assert_eq!(found, ["python b\n"]);
//!
//! // Behind a followed file (runs until the sink finishes):
//! # fn follow(path: &std::path::Path) -> Result<(), pipe::Error> {
//! let printer = pipe::sink_fn(|line: String| {
//!     print!("{line}");
//!     Ok(())
//! });
//! pipe::Follow::new(path).run(grep("python", printer))
//! # }
//! ```
//!
//! # Cost
//!
//! A `send` into a [`Consumer`] is one switch to the stage's stack and back
//! (a few nanoseconds in a tight loop, more when both sides do real work
//! between switches); a [`sink_fn`] is a plain call. Both kinds of stage mix
//! freely. [`Consumer::with_batch`] queues items and switches once per
//! batch; that pays when switches dominate, but queueing an item costs
//! about as much as a switch when the items are large (see the README for
//! measured figures). Items can borrow: a pipeline of `&str` or of
//! [`xml::Event<'doc>`](xml::Event) borrowing from a document copies no
//! text. Stages own nothing global, so any number of pipelines can run in
//! one program, on one thread or on many (a pipeline stays on the thread
//! that built it; [`threaded`] starts a new part of it on another thread).
//!
//! [`Generator`]: crate::generator::Generator

pub mod bus;
mod consumer;
mod error;
mod process;
mod shared;
mod sink;
mod source;
mod stages;
mod thread;
pub mod xml;

use crate::generator::Interrupt;

pub use consumer::{Consumer, Inbox};
pub use error::{Error, FileError, StageError};
#[doc(hidden)]
pub use process::__serve_child;
pub use process::{to_process, ChildError, ChildPipeline, ProcessBuilder, RemoteError, ToProcess};
pub use shared::Shared;
pub use sink::{sink_fn, FnSink, Sink};
pub use source::{from_iter, from_lines, read_lines, Follow};
pub use stages::{broadcast, filter, map};
pub use thread::{threaded, threaded_scoped, ThreadBuilder, ThreadPanic, Threaded};

/// What a stage body returns: `Ok(())` when it ends on its own, or the
/// interrupt (a close, or an error) that ended it.
pub type StageResult = Result<(), Interrupt<Error>>;
