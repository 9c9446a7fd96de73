//! TCP listeners and streams.

use std::io;
use std::net::{self, Shutdown, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use nix::sys::socket::{AddressFamily, SockType, SockaddrIn, SockaddrIn6, SockaddrLike};

use crate::io::{in_runtime, Fd};

/// A TCP server socket; [`accept`](TcpListener::accept) parks the task
/// until a client connects.
///
/// ```
/// use corio::net::{TcpListener, TcpStream};
///
/// corio::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = corio::spawn(move || TcpStream::connect(addr).unwrap().local_addr().unwrap());
///     let (_stream, peer) = listener.accept().unwrap();
///     assert_eq!(peer, client.join().unwrap());
/// });
/// ```
pub struct TcpListener {
    fd: Fd<net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to `addr` (the first of its addresses that works),
    /// as [`std::net::TcpListener::bind`]. Port 0 picks a free port; see
    /// [`local_addr`](TcpListener::local_addr).
    ///
    /// # Errors
    ///
    /// As std's `bind` (address in use, permission denied...).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::from_std(net::TcpListener::bind(addr)?)
    }

    /// Wraps a std listener (see [`Fd::new`]).
    ///
    /// # Errors
    ///
    /// As [`Fd::new`].
    pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            fd: Fd::new(listener)?,
        })
    }

    /// The std listener, deregistered and blocking again if corio made it
    /// non-blocking.
    pub fn into_std(self) -> net::TcpListener {
        self.fd.into_inner()
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// # Errors
    ///
    /// Any error of `accept(2)` but `WouldBlock`. With `EMFILE`/`ENFILE`
    /// (out of file descriptors) the connection stays queued and the next
    /// call tries again at once, so a server should log the error and
    /// [`sleep`](crate::sleep) a little before accepting again rather than
    /// retry in a tight loop.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use std::os::fd::AsFd;
            // Accepted non-blocking inside a runtime: no fcntl calls.
            let nonblocking = in_runtime();
            let (socket, addr) = self
                .fd
                .read_with(|listener| super::accept_inet(listener.as_fd(), nonblocking))?;
            let fd = Fd::new_created(net::TcpStream::from(socket), nonblocking)?;
            Ok((TcpStream { fd }, addr))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let (stream, addr) = self.fd.read_with(|listener| listener.accept())?;
            Ok((TcpStream::from_std(stream)?, addr))
        }
    }

    /// An endless iterator of [`accept`](TcpListener::accept) results.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }

    /// Sets the IP time-to-live of accepted sockets.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.fd.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.fd.get_ref().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.fd.get_ref().take_error()
    }
}

/// The iterator of [`TcpListener::incoming`]: each item is one `accept`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}

/// A TCP connection. Reads and writes park the task; `&TcpStream` is
/// `Read` and `Write` too, so one task can read while another writes.
///
/// ```
/// use std::io::{Read, Write};
/// use std::sync::Arc;
///
/// use corio::net::{TcpListener, TcpStream};
///
/// corio::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     corio::spawn(move || {
///         let (mut conn, _) = listener.accept().unwrap();
///         let mut buf = [0; 4];
///         conn.read_exact(&mut buf).unwrap();
///         conn.write_all(&buf).unwrap(); // echo
///     });
///     let stream = Arc::new(TcpStream::connect(addr).unwrap());
///     let reader = {
///         let stream = Arc::clone(&stream);
///         corio::spawn(move || {
///             let mut echo = Vec::new();
///             (&*stream).read_to_end(&mut echo).unwrap();
///             echo
///         })
///     };
///     (&*stream).write_all(b"ping").unwrap();
///     assert_eq!(reader.join().unwrap(), b"ping");
/// });
/// ```
pub struct TcpStream {
    fd: Fd<net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each of its addresses in turn. Inside a
    /// runtime the connection is made without blocking the thread (a
    /// non-blocking `connect`, then a wait for writability, then
    /// `SO_ERROR`); outside, this is [`std::net::TcpStream::connect`].
    ///
    /// # Errors
    ///
    /// The error of the last address tried (`ConnectionRefused`, ...), or
    /// `InvalidInput` if `addr` resolves to nothing.
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        if !in_runtime() {
            return TcpStream::from_std(net::TcpStream::connect(addr)?);
        }
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_addr(&addr) {
                Ok(stream) => return Ok(stream),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any addresses",
            )
        }))
    }

    fn connect_addr(addr: &SocketAddr) -> io::Result<TcpStream> {
        let (v4, v6);
        let (domain, sockaddr): (_, &dyn SockaddrLike) = match *addr {
            SocketAddr::V4(addr) => {
                v4 = SockaddrIn::from(addr);
                (AddressFamily::Inet, &v4)
            }
            SocketAddr::V6(addr) => {
                v6 = SockaddrIn6::from(addr);
                (AddressFamily::Inet6, &v6)
            }
        };
        let socket = super::socket(domain, SockType::Stream)?;
        let connected = super::start_connect(&socket, sockaddr)?;
        let fd = Fd::new_nonblocking(net::TcpStream::from(socket))?;
        if !connected {
            fd.write_with(|s| super::finish_connect(s.take_error(), s.peer_addr().map(drop)))?;
        }
        Ok(TcpStream { fd })
    }

    /// Wraps a connected std stream (see [`Fd::new`]).
    ///
    /// # Errors
    ///
    /// As [`Fd::new`].
    pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            fd: Fd::new(stream)?,
        })
    }

    /// The std stream, deregistered and blocking again if corio made it
    /// non-blocking.
    pub fn into_std(self) -> net::TcpStream {
        self.fd.into_inner()
    }

    /// A second handle to the same connection (a `dup` of the socket), with
    /// its own registration: give one to a reader task and the other to a
    /// writer task.
    ///
    /// # Errors
    ///
    /// When the fd cannot be duplicated or registered.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        TcpStream::from_std(self.fd.get_ref().try_clone()?)
    }

    /// Shuts down the read side, the write side or both. After
    /// `Shutdown::Write` the peer reads end of file, and this side can
    /// still read what the peer sends.
    ///
    /// # Errors
    ///
    /// As `shutdown(2)` (`NotConnected`...).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.fd.get_ref().shutdown(how)
    }

    /// The address of the peer.
    ///
    /// # Errors
    ///
    /// As `getpeername(2)`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().peer_addr()
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when true).
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.fd.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.fd.get_ref().nodelay()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes closing the socket
    /// reset the connection (the peer gets `ConnectionReset`) instead of
    /// shutting it down gracefully.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        super::set_linger(self.fd.get_ref(), linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        super::linger(self.fd.get_ref())
    }

    /// Sets the IP time-to-live.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.fd.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.fd.get_ref().ttl()
    }

    /// Reads without consuming: the data stays for the next read. Parks
    /// until some data (or end of file) is there.
    ///
    /// # Errors
    ///
    /// As [`Read::read`](std::io::Read::read).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.read_with(|s| s.peek(buf))
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.fd.get_ref().take_error()
    }
}

crate::io::read_write_via_fd!(Read for TcpStream, &TcpStream);
stream_write!(TcpStream, &TcpStream);

fd_traits!(TcpListener, TcpStream);
