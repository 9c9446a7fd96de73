//! Blocking-style I/O on file descriptors: reads and writes park the task.
//!
//! corio's I/O types implement [`std::io::Read`] and [`std::io::Write`], so
//! they work with everything written for those traits
//! ([`BufReader`](std::io::BufReader), `read_to_string`, `write_all`,
//! `io::copy`). Inside a runtime task an operation that would block parks
//! the task until the reactor reports the fd ready, and other tasks run
//! meanwhile; outside a runtime the same calls block the thread, as the
//! std types do.
//!
//! - [`Fd`]: the generic wrapper of any fd-backed object, with
//!   [`read_with`](Fd::read_with) / [`write_with`](Fd::write_with) to turn
//!   a non-blocking call into a parking one. The sockets of
//!   [`crate::net`], the pipes here and the child process streams of
//!   [`crate::process`] are built on it.
//! - [`pipe`]: an anonymous pipe, as a [`PipeReader`] and a [`PipeWriter`].
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//!
//! corio::run(|| {
//!     let (reader, mut writer) = corio::io::pipe().unwrap();
//!     let producer = corio::spawn(move || {
//!         for i in 0..3 {
//!             writeln!(writer, "line {i}").unwrap();
//!             corio::yield_now();
//!         }
//!         // Dropping the writer ends the reader's input.
//!     });
//!     let lines: Vec<String> = BufReader::new(reader).lines().map(Result::unwrap).collect();
//!     assert_eq!(lines, ["line 0", "line 1", "line 2"]);
//!     producer.join().unwrap();
//! });
//! ```

/// `Read` and `Write` for a type whose `fd` field is an [`Fd`], on the
/// type and on a shared reference to it (so that a reader and a writer can
/// share one stream), forwarding every call, vectored ones included.
macro_rules! read_write_via_fd {
    (Read for $($ty:ty),*) => {$(
        impl std::io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &self.fd, buf)
            }
            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut &self.fd, bufs)
            }
        }
    )*};
    (Write for $($ty:ty),*) => {$(
        impl std::io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut &self.fd, buf)
            }
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut &self.fd, bufs)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    )*};
}
pub(crate) use read_write_via_fd;

mod fd;
mod pipe;

pub use fd::Fd;
pub use pipe::{pipe, PipeReader, PipeWriter};

pub(crate) use fd::in_runtime;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) use fd::set_nonblocking;
