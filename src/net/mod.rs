//! Networking: TCP, UDP and Unix domain sockets whose operations park the
//! task.
//!
//! The types mirror `std::net` and `std::os::unix::net`. The streams,
//! [`TcpStream`] and [`UnixStream`], implement [`Read`](std::io::Read) and
//! [`Write`](std::io::Write), for the type and for a shared reference to it
//! (as std does for `&TcpStream`), so a read half and a write half can be
//! used by two tasks at once (of one runtime or of two) through an `Arc` or
//! a [`try_clone`](TcpStream::try_clone); the listeners and [`UdpSocket`]
//! have std's methods (`accept`, `send_to`, `recv_from`...). `connect`, `accept`, reads
//! and writes park the calling task until the reactor reports the socket
//! ready; outside a runtime they block the thread like the std types. See
//! [`crate::io::Fd`] for the rules they share.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//!
//! use corio::net::{TcpListener, TcpStream};
//!
//! corio::run(|| {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let server = corio::spawn(move || {
//!         let (stream, _peer) = listener.accept().unwrap();
//!         let mut line = String::new();
//!         BufReader::new(&stream).read_line(&mut line).unwrap();
//!         (&stream).write_all(line.to_uppercase().as_bytes()).unwrap();
//!     });
//!     let mut client = TcpStream::connect(addr).unwrap();
//!     client.write_all(b"hello\n").unwrap();
//!     let mut reply = String::new();
//!     BufReader::new(&client).read_line(&mut reply).unwrap();
//!     assert_eq!(reply, "HELLO\n");
//!     server.join().unwrap();
//! });
//! ```
//!
//! # Errors worth knowing
//!
//! - `accept` returns the errors of `accept(2)` other than `WouldBlock`
//!   (`EMFILE` when the process is out of fds, `ECONNABORTED`...). The
//!   pending connection stays queued, so a server logs the error, gives
//!   the system a moment (`corio::sleep`) and accepts again; the
//!   `echo_server` example does exactly that.
//! - A peer that resets the connection makes reads fail with
//!   `ConnectionReset`; writes to a closed peer fail with `BrokenPipe` or
//!   `ConnectionReset`. Stream writes are sent with `MSG_NOSIGNAL`, so
//!   they never raise `SIGPIPE`, even in a process that does not ignore it
//!   as Rust programs do (a C host, `-Zon-broken-pipe=kill`); a pipe's
//!   writes ([`crate::io::pipe`]) have no such flag and count on the
//!   ignored signal, as std's do.
//! - Name resolution (`ToSocketAddrs` on a host name) blocks the thread, as
//!   in std; pass socket addresses, or resolve on the blocking pool.

/// The traits every socket type forwards to its [`Fd`](crate::io::Fd):
/// `Debug` shows the std socket, `AsRawFd` and `AsFd` lend the descriptor.
macro_rules! fd_traits {
    ($($ty:ident),*) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(self.fd.get_ref(), f)
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.fd.as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.fd.as_fd()
            }
        }
    )*};
}

/// `Write` for a stream socket type whose `fd` field is an
/// [`Fd`](crate::io::Fd), on the type and on a shared reference to it:
/// every write is a `send(2)` or `sendmsg(2)` with `MSG_NOSIGNAL` (where
/// the system has it), so a write to a closed peer fails with `BrokenPipe`
/// even in a process that does not ignore `SIGPIPE` (std's streams send
/// plain writes with it too, but their vectored writes are `writev`s,
/// which raise the signal).
macro_rules! stream_write {
    ($($ty:ty),*) => {$(
        impl std::io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.fd.write_with(|socket| super::send(socket, buf))
            }
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.fd.write_with(|socket| super::send_vectored(socket, bufs))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    )*};
}

mod tcp;
mod udp;
mod unix;

pub use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, ToSocketAddrs};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{self as sys, sockopt, AddressFamily, SockType, SockaddrLike};

/// The flags of every stream write: no `SIGPIPE` for a closed peer, where
/// the system has `MSG_NOSIGNAL` (elsewhere, as for std's types, a Rust
/// program's ignored `SIGPIPE` keeps it alive).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
const SEND_FLAGS: sys::MsgFlags = sys::MsgFlags::MSG_NOSIGNAL;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
const SEND_FLAGS: sys::MsgFlags = sys::MsgFlags::empty();

/// One `send(2)` of `buf` on a connected stream socket.
fn send(socket: &impl AsRawFd, buf: &[u8]) -> io::Result<usize> {
    Ok(sys::send(socket.as_raw_fd(), buf, SEND_FLAGS)?)
}

/// One `sendmsg(2)` of `bufs` on a connected stream socket.
fn send_vectored(socket: &impl AsRawFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    Ok(sys::sendmsg::<()>(
        socket.as_raw_fd(),
        bufs,
        &[],
        SEND_FLAGS,
        None,
    )?)
}

/// A new socket of `domain` and `kind`, non-blocking and close-on-exec.
fn socket(domain: AddressFamily, kind: SockType) -> io::Result<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let flags = sys::SockFlag::SOCK_NONBLOCK | sys::SockFlag::SOCK_CLOEXEC;
        Ok(sys::socket(domain, kind, flags, None)?)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        let fd = sys::socket(domain, kind, sys::SockFlag::empty(), None)?;
        fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        crate::io::set_nonblocking(fd.as_fd(), true)?;
        Ok(fd)
    }
}

/// The flags of a socket accepted or created to be wrapped at once:
/// close-on-exec, and non-blocking inside a runtime (where the `Fd` would
/// switch it at once); outside one, blocking, as std makes them.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn new_socket_flags(nonblocking: bool) -> sys::SockFlag {
    if nonblocking {
        sys::SockFlag::SOCK_CLOEXEC | sys::SockFlag::SOCK_NONBLOCK
    } else {
        sys::SockFlag::SOCK_CLOEXEC
    }
}

/// Accepts a connection on the IPv4 or IPv6 `listener` with `accept4`, as
/// std does but non-blocking if `nonblocking` (see [`new_socket_flags`]),
/// and returns it with the peer's address.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn accept_inet(
    listener: std::os::fd::BorrowedFd<'_>,
    nonblocking: bool,
) -> io::Result<(OwnedFd, std::net::SocketAddr)> {
    use std::mem::{self, MaybeUninit};
    use std::os::fd::FromRawFd;

    let flags = new_socket_flags(nonblocking).bits();
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let (fd, len) = loop {
        let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // libc: nix's accept4 does not return the peer's address, and
        // getpeername afterwards would be one more system call, failing
        // with ENOTCONN once the peer has reset the connection.
        // SAFETY: `storage` is valid for writes of `len` bytes, `len` is
        // valid for a write, and `listener` is an open fd.
        let fd = unsafe {
            libc::accept4(
                listener.as_raw_fd(),
                storage.as_mut_ptr().cast(),
                &mut len,
                flags,
            )
        };
        match Errno::result(fd) {
            Ok(fd) => break (fd, len),
            // Retried, as std does.
            Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno.into()),
        }
    };
    // SAFETY: accept4 has just returned this new fd; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `storage` is initialized (zeroed, then written by accept4),
    // and `from_raw` reads at most `len` bytes of it: none if `len` is
    // larger than its size.
    let addr = unsafe { sys::SockaddrStorage::from_raw(storage.as_ptr().cast(), Some(len)) };
    let addr = addr.and_then(|addr| {
        if let Some(&v4) = addr.as_sockaddr_in() {
            Some(std::net::SocketAddr::from(v4))
        } else {
            addr.as_sockaddr_in6().map(|&v6| v6.into())
        }
    });
    match addr {
        Some(addr) => Ok((fd, addr)),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid argument",
        )),
    }
}

/// Starts connecting `fd` to `addr`: `Ok(true)` if connected already,
/// `Ok(false)` if the connection is in progress (wait for writability,
/// then check `SO_ERROR`).
fn start_connect(fd: &OwnedFd, addr: &dyn SockaddrLike) -> io::Result<bool> {
    match sys::connect(fd.as_raw_fd(), addr) {
        Ok(()) => Ok(true),
        // EINTR: the connection goes on asynchronously, as for EINPROGRESS.
        Err(Errno::EINPROGRESS | Errno::EINTR) => Ok(false),
        Err(errno) => Err(errno.into()),
    }
}

/// The result of a non-blocking connect once the socket reports writable:
/// `WouldBlock` while it is still in progress.
fn finish_connect(
    take_error: io::Result<Option<io::Error>>,
    peer: io::Result<()>,
) -> io::Result<()> {
    if let Some(err) = take_error? {
        return Err(err);
    }
    match peer {
        Err(err) if err.kind() == io::ErrorKind::NotConnected => {
            Err(io::ErrorKind::WouldBlock.into())
        }
        other => other,
    }
}

/// Sets `SO_LINGER` on a socket.
fn set_linger(fd: &impl AsFd, linger: Option<Duration>) -> io::Result<()> {
    let value = libc::linger {
        l_onoff: linger.is_some().into(),
        l_linger: linger.map_or(0, |d| {
            libc::c_int::try_from(d.as_secs()).unwrap_or(libc::c_int::MAX)
        }),
    };
    Ok(sys::setsockopt(fd, sockopt::Linger, &value)?)
}

/// Reads `SO_LINGER` of a socket.
fn linger(fd: &impl AsFd) -> io::Result<Option<Duration>> {
    let value = sys::getsockopt(fd, sockopt::Linger)?;
    Ok((value.l_onoff != 0).then(|| Duration::from_secs(value.l_linger as u64)))
}
