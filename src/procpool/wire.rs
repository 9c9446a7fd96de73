//! What the parent and a worker process say to each other over their
//! socket: serde enums encoded with postcard, each frame preceded by its
//! length (a little-endian `u32`), so that a reader can tell where one
//! message ends in a stream and many frames can go out in one write.
//!
//! The pipeline stage that feeds a child process (`pipe::to_process`) uses
//! the same frames, holding a header followed by items: [`begin`],
//! [`append`] and [`end`] build a frame in parts, and
//! [`Decoder::next_frame`] hands out a frame's bytes undecoded.

use std::io;

use serde::{Deserialize, Serialize};

/// Largest frame either side accepts: a length beyond it means the stream
/// is not speaking this protocol (or is corrupt), not that a job is big.
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// Parent to worker. Decoded in place: names and bytes borrow from the
/// frame.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum ToWorker<'a> {
    /// Run a job (after the ones already sent, in order).
    Run {
        id: u64,
        name: &'a str,
        args: &'a [u8],
        /// Whether to report [`FromWorker::Started`] (jobs with a timeout).
        report_start: bool,
    },
    /// Give back this job if it has not started, for an idle worker.
    Revoke { id: u64 },
}

/// Worker to parent. Decoded in place, like [`ToWorker`].
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum FromWorker<'a> {
    /// The worker is up and reading jobs.
    Hello { pid: u32 },
    /// A job that asked for it has started.
    Started { id: u64 },
    /// A job returned; its serialized result.
    Done {
        id: u64,
        output: &'a [u8],
        /// How long the job ran, in microseconds.
        ran_us: u64,
    },
    /// A job did not return a result.
    Failed {
        id: u64,
        failure: Failure,
        ran_us: u64,
    },
    /// A revoked job had not started and will not run here.
    Revoked { id: u64 },
}

/// Why a job that reached its worker produced no result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Failure {
    /// The job panicked; the panic message.
    Panicked(String),
    /// No job of this name is registered in the worker's binary.
    Unregistered(String),
    /// The arguments did not deserialize as the job's argument type.
    BadArgs(String),
    /// The result did not serialize.
    BadOutput(String),
}

/// Starts a frame at the end of `out`: room for its length. Returns where
/// the frame starts, for [`end`].
pub(crate) fn begin(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    start
}

/// Appends `value`, postcard-encoded, to the frame being built in `out`.
/// On an error (a `Serialize` impl that fails) `out` is left as it was.
pub(crate) fn append<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> postcard::Result<()> {
    let len = out.len();
    postcard::to_io(value, &mut *out)
        .map(drop)
        .inspect_err(|_| out.truncate(len))
}

/// Ends the frame that [`begin`] started at `start`: writes its length.
///
/// # Panics
///
/// If the frame has grown past the largest frame a reader accepts.
pub(crate) fn end(out: &mut [u8], start: usize) {
    let len = out.len() - start - 4;
    assert!(
        len <= MAX_FRAME,
        "corio: a frame of {len} bytes is too large"
    );
    let len = u32::try_from(len).expect("MAX_FRAME fits in a u32");
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// Appends `msg` as one frame to `out`.
pub(crate) fn encode<T: Serialize>(msg: &T, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    // Serializing into a `Vec` fails only on a type whose `Serialize` impl
    // reports an error, which the protocol's own types never do.
    let mut out_vec = std::mem::take(out);
    out_vec = postcard::to_extend(msg, out_vec).expect("corio: protocol message serializes");
    *out = out_vec;
    let len = u32::try_from(out.len() - start - 4).expect("corio: frame under 4 GiB");
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// Splits a byte stream into frames: bytes go in as they are read, whole
/// messages come out.
#[derive(Default)]
pub(crate) struct Decoder {
    buf: Vec<u8>,
    /// Where the next undecoded frame starts in `buf`.
    at: usize,
}

impl Decoder {
    /// Room to read into: at least `min` bytes at the end of the buffer,
    /// to be committed with [`filled`](Self::filled).
    pub(crate) fn space(&mut self, min: usize) -> &mut [u8] {
        if self.at > 0 && self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        } else if self.at > self.buf.capacity() / 2 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + min, 0);
        &mut self.buf[len..]
    }

    /// Commits `n` of the bytes handed out by [`space`](Self::space) and
    /// gives the rest back.
    pub(crate) fn filled(&mut self, n: usize, asked: usize) {
        let len = self.buf.len();
        self.buf.truncate(len - asked + n);
    }

    /// The next whole frame's body, if one has arrived; it stays in the
    /// buffer until [`consume`](Self::consume).
    pub(crate) fn next_frame(&mut self) -> io::Result<Option<&[u8]>> {
        let rest = &self.buf[self.at..];
        let Some(head) = rest.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_le_bytes(head.try_into().expect("four bytes")) as usize;
        if len > MAX_FRAME {
            return Err(invalid(format!("a frame of {len} bytes")));
        }
        Ok(rest.get(4..4 + len))
    }

    /// Drops the frame [`next_frame`](Self::next_frame) returned.
    pub(crate) fn consume(&mut self) {
        let head = &self.buf[self.at..self.at + 4];
        let len = u32::from_le_bytes(head.try_into().expect("four bytes")) as usize;
        self.at += 4 + len;
    }
}

/// Decodes a frame's body.
pub(super) fn decode<'a, T: Deserialize<'a>>(frame: &'a [u8]) -> io::Result<T> {
    postcard::from_bytes(frame).map_err(|e| invalid(e.to_string()))
}

fn invalid(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corio: procpool protocol error: {what}"),
    )
}
