//! What the parent and a worker process say to each other over their
//! socket: serde enums encoded with postcard, each frame preceded by its
//! length (a little-endian `u32`), so that a reader can tell where one
//! message ends in a stream and many frames can go out in one write.

use std::io;

use serde::{Deserialize, Serialize};

/// Largest frame either side accepts: a length beyond it means the stream
/// is not speaking this protocol (or is corrupt), not that a job is big.
const MAX_FRAME: usize = 1 << 30;

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
    Done { id: u64, output: &'a [u8] },
    /// A job did not return a result.
    Failed { id: u64, failure: Failure },
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

/// Appends `msg` as one frame to `out`.
pub(super) fn encode<T: Serialize>(msg: &T, out: &mut Vec<u8>) {
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
pub(super) struct Decoder {
    buf: Vec<u8>,
    /// Where the next undecoded frame starts in `buf`.
    at: usize,
}

impl Decoder {
    /// Room to read into: at least `min` bytes at the end of the buffer,
    /// to be committed with [`filled`](Self::filled).
    pub(super) fn space(&mut self, min: usize) -> &mut [u8] {
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
    pub(super) fn filled(&mut self, n: usize, asked: usize) {
        let len = self.buf.len();
        self.buf.truncate(len - asked + n);
    }

    /// The next whole frame's body, if one has arrived; it stays in the
    /// buffer until [`consume`](Self::consume).
    pub(super) fn next_frame(&mut self) -> io::Result<Option<&[u8]>> {
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
    pub(super) fn consume(&mut self) {
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
