//! Sources: what drives a pipeline.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Error, FileError, Sink};

/// Sends every item of `items` to `target`, then closes it.
///
/// Stops early, without an error, if the target finishes (its body
/// returned); the target is closed all the same. An error raised by the
/// target is returned at once; the target is then dropped, which closes it.
///
/// ```
/// let mut out = Vec::new();
/// corio::pipe::from_iter(1..=3, &mut out).unwrap();
/// assert_eq!(out, [1, 2, 3]);
/// ```
pub fn from_iter<T, S: Sink<T>>(
    items: impl IntoIterator<Item = T>,
    mut target: S,
) -> Result<(), Error> {
    for item in items {
        target.send(item)?;
        if target.is_finished() {
            break;
        }
    }
    target.close()
}

/// Sends each line of `input` (with its `"\n"`) to `target`, then closes it,
/// like the seed's `source_read`.
///
/// Line ends are read as Python's text mode reads them: `"\r\n"` and a lone
/// `"\r"` end a line and arrive as `"\n"`. A last line without a line end
/// is sent as it is. A line that is not UTF-8 ends the source with an error
/// naming the line. See [`from_iter`] for how the target's errors and
/// finishing are handled.
pub fn from_lines<S: Sink<String>>(input: impl BufRead, target: S) -> Result<(), Error> {
    lines_from(input, None, target)
}

/// Opens the file at `path` and sends its lines to `target`, as
/// [`from_lines`] does. Errors name the file (and the line, for a line that
/// is not UTF-8).
pub fn read_lines<S: Sink<String>>(path: impl AsRef<Path>, target: S) -> Result<(), Error> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::file(path, e))?;
    lines_from(BufReader::new(file), Some(path), target)
}

fn lines_from<S: Sink<String>>(
    mut input: impl BufRead,
    path: Option<&Path>,
    mut target: S,
) -> Result<(), Error> {
    let mut reader = LineReader::default();
    loop {
        let n = input
            .read_until(b'\n', &mut reader.pending)
            .map_err(|e| io_error(path, None, e))?;
        let at_eof = n == 0;
        if !reader.flush(path, at_eof, &mut target)? || at_eof {
            break;
        }
    }
    target.close()
}

fn io_error(path: Option<&Path>, line: Option<u64>, error: io::Error) -> Error {
    match path {
        Some(path) => Error::new(FileError {
            path: path.to_path_buf(),
            line,
            source: error,
        }),
        None if line.is_some() => Error::msg(format!("line {}: {error}", line.unwrap_or(0))),
        None => Error::new(error),
    }
}

/// Splits raw bytes into text lines with universal line ends.
#[derive(Default)]
struct LineReader {
    /// Bytes read and not yet sent (an incomplete last line).
    pending: Vec<u8>,
    /// Lines sent so far, for error messages.
    line: u64,
    /// The last byte sent was a `\r`; a `\n` right after it belongs to it.
    after_cr: bool,
}

impl LineReader {
    /// Sends the complete lines in `pending` (all of it if `at_eof`).
    /// Returns false if the target finished.
    fn flush<S: Sink<String>>(
        &mut self,
        path: Option<&Path>,
        at_eof: bool,
        target: &mut S,
    ) -> Result<bool, Error> {
        let mut start = 0;
        if self.after_cr && self.pending.first() == Some(&b'\n') {
            start = 1;
        }
        if start == self.pending.len() {
            self.pending.clear();
            return Ok(!target.is_finished());
        }
        self.after_cr = false;
        let mut i = start;
        let bytes = std::mem::take(&mut self.pending);
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'\n' || b == b'\r' {
                let mut text = self.decode(path, &bytes[start..i])?;
                text.push('\n');
                let mut next = i + 1;
                if b == b'\r' {
                    if next == bytes.len() {
                        self.after_cr = true;
                    } else if bytes[next] == b'\n' {
                        next += 1;
                    }
                }
                target.send(text)?;
                if target.is_finished() {
                    return Ok(false);
                }
                start = next;
                i = next;
            } else {
                i += 1;
            }
        }
        if at_eof && start < bytes.len() {
            let text = self.decode(path, &bytes[start..])?;
            target.send(text)?;
        } else {
            self.pending.extend_from_slice(&bytes[start..]);
        }
        Ok(!target.is_finished())
    }

    fn decode(&mut self, path: Option<&Path>, bytes: &[u8]) -> Result<String, Error> {
        self.line += 1;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(io_error(
                path,
                Some(self.line),
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line is not UTF-8: {e}"),
                ),
            )),
        }
    }
}

/// A source that follows a file as it grows, like `tail -f`.
///
/// It sends the file's lines to the target (from the start, or only those
/// appended later with [`from_end`](Follow::from_end)), then waits for more:
/// it sleeps for the poll interval between looks at the file, so it never
/// busy-loops, and a line appended in pieces is sent once it is complete. If
/// the file shrinks (it was truncated), reading starts again at its
/// beginning.
///
/// The sleep is [`corio::sleep`](crate::sleep): inside a runtime task it
/// parks only that task, and the runtime's other tasks run meanwhile (a
/// [`timeout`](crate::timeout) or a cancellation can end the wait); on a
/// thread outside a runtime it sleeps the thread. Reading the file itself
/// is a plain, blocking read of a regular file.
///
/// [`run`](Follow::run) returns when the target finishes (its body
/// returns) or raises an error, or with [`stop_at_eof`](Follow::stop_at_eof)
/// when the end of the file is reached; otherwise it runs for ever.
///
/// ```no_run
/// use corio::pipe::{self, Follow};
///
/// // Print the lines appended to a log that mention an error.
/// let printer = pipe::sink_fn(|line: String| {
///     print!("{line}");
///     Ok(())
/// });
/// Follow::new("/var/log/app.log")
///     .from_end(true)
///     .run(pipe::filter(|l: &String| l.contains("error"), printer))?;
/// # Ok::<(), pipe::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Follow {
    path: PathBuf,
    poll: Duration,
    from_end: bool,
    follow: bool,
}

impl Follow {
    /// Follows the file at `path`, from its start, looking for new lines
    /// every 100 ms.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Follow {
            path: path.as_ref().to_path_buf(),
            poll: Duration::from_millis(100),
            from_end: false,
            follow: true,
        }
    }

    /// How long to sleep (park the task, inside a runtime) when no new line
    /// is there (default 100 ms, as in Beazley's `follow`).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll = interval;
        self
    }

    /// Skips what the file holds now and sends only lines appended later
    /// (Beazley's `f.seek(0, 2)`). Default: false.
    pub fn from_end(mut self, yes: bool) -> Self {
        self.from_end = yes;
        self
    }

    /// Returns at the end of the file instead of waiting for more (then the
    /// source is [`read_lines`]). Default: false.
    pub fn stop_at_eof(mut self, yes: bool) -> Self {
        self.follow = !yes;
        self
    }

    /// Runs the source: sends lines to `target` until it finishes or
    /// raises, then closes it. Lines are read as in [`from_lines`].
    pub fn run<S: Sink<String>>(self, mut target: S) -> Result<(), Error> {
        let path = self.path.as_path();
        let file = File::open(path).map_err(|e| Error::file(path, e))?;
        let mut input = BufReader::new(file);
        let mut pos = 0;
        if self.from_end {
            pos = input
                .seek(SeekFrom::End(0))
                .map_err(|e| Error::file(path, e))?;
        }
        let mut reader = LineReader::default();
        loop {
            let n = input
                .read_until(b'\n', &mut reader.pending)
                .map_err(|e| io_error(Some(path), None, e))?;
            pos += n as u64;
            if n > 0 {
                if !reader.flush(Some(path), false, &mut target)? {
                    break;
                }
                continue;
            }
            // At the end of the file for now.
            if !self.follow {
                reader.flush(Some(path), true, &mut target)?;
                break;
            }
            let len = input
                .get_ref()
                .metadata()
                .map_err(|e| Error::file(path, e))?
                .len();
            if len < pos {
                // Truncated: start again from the top.
                pos = input
                    .seek(SeekFrom::Start(0))
                    .map_err(|e| Error::file(path, e))?;
                reader.pending.clear();
                continue;
            }
            if len == pos {
                // Parks only this task inside a runtime.
                crate::rt::sleep(self.poll);
            }
        }
        target.close()
    }
}
