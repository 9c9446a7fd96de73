//! UDP sockets.

use std::io;
use std::net::{self, SocketAddr, ToSocketAddrs};

use crate::io::Fd;

/// A UDP socket; receiving parks the task until a datagram arrives, and
/// sending parks it while the send buffer is full.
///
/// ```
/// use corio::net::UdpSocket;
///
/// corio::run(|| {
///     let server = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let addr = server.local_addr().unwrap();
///     let echo = corio::spawn(move || {
///         let mut buf = [0; 64];
///         let (n, from) = server.recv_from(&mut buf).unwrap();
///         server.send_to(&buf[..n], from).unwrap();
///     });
///     let client = UdpSocket::bind("127.0.0.1:0").unwrap();
///     client.send_to(b"marco", addr).unwrap();
///     let mut buf = [0; 64];
///     let (n, from) = client.recv_from(&mut buf).unwrap();
///     assert_eq!((&buf[..n], from), (&b"marco"[..], addr));
///     echo.join().unwrap();
/// });
/// ```
pub struct UdpSocket {
    fd: Fd<net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr`, as [`std::net::UdpSocket::bind`].
    ///
    /// # Errors
    ///
    /// As std's `bind`.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        UdpSocket::from_std(net::UdpSocket::bind(addr)?)
    }

    /// Wraps a std socket (see [`Fd::new`]).
    ///
    /// # Errors
    ///
    /// As [`Fd::new`].
    pub fn from_std(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            fd: Fd::new(socket)?,
        })
    }

    /// The std socket, deregistered and blocking again if corio made it
    /// non-blocking.
    pub fn into_std(self) -> net::UdpSocket {
        self.fd.into_inner()
    }

    /// A second handle to the socket, with its own registration.
    ///
    /// # Errors
    ///
    /// When the fd cannot be duplicated or registered.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        UdpSocket::from_std(self.fd.get_ref().try_clone()?)
    }

    /// Sets the default peer: `send` goes there, and only its datagrams are
    /// received. (A UDP connect never waits.)
    ///
    /// # Errors
    ///
    /// As `connect(2)`.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.fd.get_ref().connect(addr)
    }

    /// Sends a datagram to `addr`, returning the bytes sent.
    ///
    /// # Errors
    ///
    /// As `sendto(2)`; `InvalidInput` if `addr` resolves to nothing.
    pub fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to send to"))?;
        self.fd.write_with(|s| s.send_to(buf, addr))
    }

    /// Receives a datagram, returning its length (truncated to `buf`) and
    /// sender.
    ///
    /// # Errors
    ///
    /// As `recvfrom(2)`.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.fd.read_with(|s| s.recv_from(buf))
    }

    /// Like [`recv_from`](UdpSocket::recv_from), leaving the datagram queued.
    ///
    /// # Errors
    ///
    /// As `recvfrom(2)`.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.fd.read_with(|s| s.peek_from(buf))
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// As `send(2)`; `ConnectionRefused` may report an ICMP error of an
    /// earlier datagram.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd.write_with(|s| s.send(buf))
    }

    /// Receives a datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// As `recv(2)`.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.read_with(|s| s.recv(buf))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if `connect` was not called.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().peer_addr()
    }

    /// Allows or forbids sending to broadcast addresses.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.fd.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.fd.get_ref().broadcast()
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

fd_traits!(UdpSocket);
