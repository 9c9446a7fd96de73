//! Networking: TCP, UDP and Unix domain sockets whose operations park the
//! task.
//!
//! The types mirror `std::net` and `std::os::unix::net` and implement
//! [`Read`](std::io::Read) and [`Write`](std::io::Write), for the type and
//! for a shared reference to it (as std does for `&TcpStream`), so a read
//! half and a write half can be used by two tasks at once through an `Arc`
//! or a [`try_clone`](TcpStream::try_clone). `connect`, `accept`, reads
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
//!   `ConnectionReset` (Rust programs ignore `SIGPIPE`).
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

mod tcp;
mod udp;
mod unix;

pub use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, ToSocketAddrs};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};

use std::io;
use std::mem;
use std::os::fd::{FromRawFd, OwnedFd};

/// A new socket of `domain` and `kind`, non-blocking and close-on-exec.
fn socket(domain: libc::c_int, kind: libc::c_int) -> io::Result<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: plain system call on integer arguments.
        let fd =
            unsafe { libc::socket(domain, kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the fd was just opened and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: plain system call on integer arguments.
        let fd = unsafe { libc::socket(domain, kind, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the fd was just opened and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: F_SETFD on an open fd changes only its fd flags.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        crate::io::set_nonblocking(fd.as_raw_fd(), true)?;
        Ok(fd)
    }
}

/// `addr` as a C socket address.
fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data, for which all zeroes is
    // a valid (unspecified-family) value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            // SAFETY: as above, for sockaddr_in.
            let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            // SAFETY: sockaddr_storage is larger than and aligned for every
            // socket address type, sockaddr_in included.
            unsafe {
                (&mut storage as *mut libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in>()
                    .write(sin)
            };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above, for sockaddr_in6.
            let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_flowinfo = v6.flowinfo();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            sin6.sin6_scope_id = v6.scope_id();
            // SAFETY: as above, for sockaddr_in6.
            unsafe {
                (&mut storage as *mut libc::sockaddr_storage)
                    .cast::<libc::sockaddr_in6>()
                    .write(sin6)
            };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Starts connecting `fd` to the socket address `addr` of length `len`:
/// `Ok(true)` if connected already, `Ok(false)` if the connection is in
/// progress (wait for writability, then check `SO_ERROR`).
///
/// # Safety
///
/// `addr` must point to a socket address that is valid for `len` bytes.
unsafe fn start_connect(
    fd: &OwnedFd,
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: `addr` is valid for `len` bytes (this function's contract).
    if unsafe { libc::connect(fd.as_raw_fd(), addr, len) } == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        // EINTR: the connection goes on asynchronously, as for EINPROGRESS.
        Some(libc::EINPROGRESS) | Some(libc::EINTR) => Ok(false),
        _ => Err(err),
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
fn set_linger(
    fd: &impl std::os::fd::AsRawFd,
    linger: Option<std::time::Duration>,
) -> io::Result<()> {
    let value = libc::linger {
        l_onoff: linger.is_some() as libc::c_int,
        l_linger: linger.map_or(0, |d| {
            d.as_secs().min(libc::c_int::MAX as u64) as libc::c_int
        }),
    };
    // SAFETY: `value` is a valid `linger` and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&value as *const libc::linger).cast(),
            mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads `SO_LINGER` of a socket.
fn linger(fd: &impl std::os::fd::AsRawFd) -> io::Result<Option<std::time::Duration>> {
    // SAFETY: `linger` is plain old data.
    let mut value: libc::linger = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::linger>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes, `len` its size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&mut value as *mut libc::linger).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((value.l_onoff != 0).then(|| std::time::Duration::from_secs(value.l_linger as u64)))
}
