//! Anonymous pipes.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Stdio;

use super::Fd;

/// Creates an anonymous pipe: bytes written to the [`PipeWriter`] are read
/// from the [`PipeReader`]. Both ends are close-on-exec. Reads return end of
/// file once every writer is dropped; writes fail with `BrokenPipe` once
/// the reader is dropped.
///
/// ```
/// use std::io::{Read, Write};
///
/// let (mut reader, mut writer) = corio::io::pipe().unwrap();
/// // Outside a runtime, a pipe behaves like a plain blocking one.
/// writer.write_all(b"ping").unwrap();
/// drop(writer);
/// let mut text = String::new();
/// reader.read_to_string(&mut text).unwrap();
/// assert_eq!(text, "ping");
/// ```
///
/// # Errors
///
/// When the process or the system is out of file descriptors.
pub fn pipe() -> io::Result<(PipeReader, PipeWriter)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use nix::fcntl::OFlag;
        // Made non-blocking inside a runtime, which saves the `Fd`'s
        // fcntl calls; blocking outside, as std makes them.
        let nonblocking = super::in_runtime();
        let flags = if nonblocking {
            OFlag::O_CLOEXEC | OFlag::O_NONBLOCK
        } else {
            OFlag::O_CLOEXEC
        };
        let (read, write) = nix::unistd::pipe2(flags)?;
        Ok((
            PipeReader {
                fd: Fd::new_created(File::from(read), nonblocking)?,
            },
            PipeWriter {
                fd: Fd::new_created(File::from(write), nonblocking)?,
            },
        ))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let (read, write) = io::pipe()?;
        Ok((
            PipeReader::new(read.into())?,
            PipeWriter::new(write.into())?,
        ))
    }
}

macro_rules! pipe_end {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            fd: Fd<File>,
        }

        impl $name {
            /// Wraps an owned pipe end (or any fd of a stream kind: a FIFO,
            /// a tty, a socket), which is then registered with the runtime
            /// as [`Fd::new`] describes.
            ///
            /// # Errors
            ///
            /// As [`Fd::new`].
            pub fn new(fd: OwnedFd) -> io::Result<$name> {
                Ok($name {
                    fd: Fd::new(File::from(fd))?,
                })
            }

            /// Deregisters the fd, makes it blocking again if it was made
            /// non-blocking, and returns it.
            pub fn into_owned_fd(self) -> OwnedFd {
                self.fd.into_inner().into()
            }
        }

        impl TryFrom<OwnedFd> for $name {
            type Error = io::Error;

            fn try_from(fd: OwnedFd) -> io::Result<$name> {
                $name::new(fd)
            }
        }

        impl From<$name> for OwnedFd {
            fn from(end: $name) -> OwnedFd {
                end.into_owned_fd()
            }
        }

        /// For a child process's stdio: the fd is made blocking again, as
        /// programs expect.
        impl From<$name> for Stdio {
            fn from(end: $name) -> Stdio {
                Stdio::from(end.into_owned_fd())
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.fd.as_raw_fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.fd.as_fd()
            }
        }
    };
}

pipe_end! {
    /// The reading end of a [`pipe`]; reads park the task until data or end
    /// of file arrives.
    PipeReader
}

pipe_end! {
    /// The writing end of a [`pipe`]; writes park the task while the pipe is
    /// full.
    PipeWriter
}

super::read_write_via_fd!(Read for PipeReader, &PipeReader);
super::read_write_via_fd!(Write for PipeWriter, &PipeWriter);
