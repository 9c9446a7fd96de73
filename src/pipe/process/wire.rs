//! What a process stage and its child say to each other over their socket,
//! in the frames of `procpool::wire` (a little-endian `u32` length, then
//! postcard).
//!
//! Stage to child: a frame is a [`ToChild`] header, then, for
//! [`ToChild::Args`], the arguments of the entry's target builder, and for
//! [`ToChild::Items`], items back to back up to the end of the frame (so
//! that a frame can be filled one item at a time, each encoded as it is
//! sent, without counting them first). The first frame is always `Args`;
//! the end of the stream (the stage shut its write half) closes the target.
//!
//! Child to stage: [`FromChild`] messages, one per frame: a hello, the
//! answer to each throw, and finally how the pipeline ended.

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use super::RemoteError;
use crate::net::UnixStream;
use crate::pipe::Error;
use crate::procpool::wire::Decoder;

/// The header of a frame from the stage to its child.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum ToChild {
    /// The arguments for the entry's target builder follow.
    Args,
    /// Items follow, to the end of the frame.
    Items,
    /// Raise this error in the target, and answer with
    /// [`FromChild::Answer`].
    Throw(WireError),
}

/// A message from the child to its stage.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum FromChild {
    /// The child runs the entry it was started for; sent first.
    Hello {
        /// Its process id.
        pid: u32,
    },
    /// The target's answer to a throw: handled (`Ok`), or the error that
    /// came out: `None` when it is the thrown error itself.
    Answer(Result<(), Option<WireError>>),
    /// The child's pipeline has ended: it was closed, it finished on its
    /// own, or an error or a panic ended it. The child exits next.
    Ended(Outcome),
}

/// How a child's pipeline ended.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Outcome {
    /// Cleanly: closed, or finished on its own.
    Done,
    /// With an error the target raised (or an item that did not decode).
    Raised(WireError),
    /// With a panic; its message.
    Panicked(String),
}

/// An error as it crosses the process boundary: its message and, for an
/// I/O error, its kind as an index into [`KINDS`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct WireError {
    message: String,
    kind: Option<u8>,
}

/// The I/O error kinds that cross as themselves; any other crosses as
/// `Other`.
const KINDS: &[io::ErrorKind] = &[
    io::ErrorKind::NotFound,
    io::ErrorKind::PermissionDenied,
    io::ErrorKind::ConnectionRefused,
    io::ErrorKind::ConnectionReset,
    io::ErrorKind::ConnectionAborted,
    io::ErrorKind::NotConnected,
    io::ErrorKind::AddrInUse,
    io::ErrorKind::AddrNotAvailable,
    io::ErrorKind::BrokenPipe,
    io::ErrorKind::AlreadyExists,
    io::ErrorKind::WouldBlock,
    io::ErrorKind::InvalidInput,
    io::ErrorKind::InvalidData,
    io::ErrorKind::TimedOut,
    io::ErrorKind::WriteZero,
    io::ErrorKind::Interrupted,
    io::ErrorKind::Unsupported,
    io::ErrorKind::UnexpectedEof,
    io::ErrorKind::OutOfMemory,
    io::ErrorKind::Other,
];

impl WireError {
    /// A pipeline error, to cross to the other process.
    pub(super) fn from_error(error: &Error) -> WireError {
        WireError {
            message: error.to_string(),
            kind: error.io_kind().map(|kind| {
                let other = KINDS.len() - 1;
                KINDS.iter().position(|k| *k == kind).unwrap_or(other) as u8
            }),
        }
    }

    /// The error, on this side.
    pub(super) fn into_remote(self) -> RemoteError {
        let io_kind = self.kind.map(|i| {
            KINDS
                .get(usize::from(i))
                .copied()
                .unwrap_or(io::ErrorKind::Other)
        });
        RemoteError::new(self.message, io_kind)
    }
}

/// Reads from `stream` until a whole frame is buffered in `decoder`
/// (`true`: take it with [`Decoder::next_frame`]), or to the end of the
/// stream (`false`; a frame cut short there is dropped, as the seed's
/// `recvfrom` ends at a truncated pickle).
pub(super) fn fill(decoder: &mut Decoder, stream: &UnixStream) -> io::Result<bool> {
    const CHUNK: usize = 64 * 1024;
    loop {
        if decoder.next_frame()?.is_some() {
            return Ok(true);
        }
        match (&*stream).read(decoder.space(CHUNK)) {
            Ok(n) => {
                decoder.filled(n, CHUNK);
                if n == 0 {
                    return Ok(false);
                }
            }
            Err(e) => {
                decoder.filled(0, CHUNK);
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// The child's next message; `None` at the end of the stream.
pub(super) fn read_report(
    decoder: &mut Decoder,
    stream: &UnixStream,
) -> io::Result<Option<FromChild>> {
    if !fill(decoder, stream)? {
        return Ok(None);
    }
    let body = decoder.next_frame()?.expect("a whole frame is buffered");
    let msg = postcard::from_bytes(body).map_err(|e| invalid(e.to_string()))?;
    decoder.consume();
    Ok(Some(msg))
}

/// A stream that does not follow the protocol.
pub(super) fn invalid(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corio: protocol error between a process stage and its child: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_cross_and_unknown_ones_become_other() {
        let broken = Error::from(io::Error::new(io::ErrorKind::BrokenPipe, "closed"));
        let remote = WireError::from_error(&broken).into_remote();
        assert_eq!(remote.message(), "closed");
        assert_eq!(remote.io_kind(), Some(io::ErrorKind::BrokenPipe));
        let plain = WireError::from_error(&Error::msg("boom")).into_remote();
        assert_eq!(plain.io_kind(), None);
        let odd = Error::from(io::Error::from(io::ErrorKind::IsADirectory));
        let remote = WireError::from_error(&odd).into_remote();
        assert_eq!(remote.io_kind(), Some(io::ErrorKind::Other));
    }
}
