//! Unix domain stream sockets.

use std::io;
use std::net::Shutdown;
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockType, UnixAddr};

use crate::io::{in_runtime, Fd};

/// A Unix domain socket server; [`accept`](UnixListener::accept) parks the
/// task until a client connects.
///
/// ```
/// use std::io::{Read, Write};
///
/// use corio::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("corio-doc-unix-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("sock");
/// # let _ = std::fs::remove_file(&path);
/// corio::run(|| {
///     let listener = UnixListener::bind(&path).unwrap();
///     let server = corio::spawn(move || {
///         let (mut conn, _) = listener.accept().unwrap();
///         conn.write_all(b"welcome").unwrap();
///     });
///     let mut client = UnixStream::connect(&path).unwrap();
///     let mut text = String::new();
///     client.read_to_string(&mut text).unwrap();
///     assert_eq!(text, "welcome");
///     server.join().unwrap();
/// });
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct UnixListener {
    fd: Fd<net::UnixListener>,
}

impl UnixListener {
    /// Binds a listener to the socket file `path` (which must not exist).
    ///
    /// # Errors
    ///
    /// As std's `bind` (`AddrInUse` if the file exists...).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_std(net::UnixListener::bind(path)?)
    }

    /// Wraps a std listener (see [`Fd::new`]).
    ///
    /// # Errors
    ///
    /// As [`Fd::new`].
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            fd: Fd::new(listener)?,
        })
    }

    /// The std listener, deregistered and blocking again if corio made it
    /// non-blocking.
    pub fn into_std(self) -> net::UnixListener {
        self.fd.into_inner()
    }

    /// Waits for a connection.
    ///
    /// # Errors
    ///
    /// As [`TcpListener::accept`](super::TcpListener::accept).
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        #[cfg(any(
            target_os = "linux",
            all(
                target_os = "android",
                any(target_arch = "aarch64", target_arch = "x86", target_arch = "x86_64")
            )
        ))]
        {
            use std::os::fd::AsFd;
            let nonblocking = in_runtime();
            let flags = super::new_socket_flags(nonblocking);
            let socket = self.fd.read_with(|listener| loop {
                match nix::sys::socket::accept4(listener.as_fd(), flags) {
                    // Retried, as std does.
                    Err(Errno::EINTR) => {}
                    result => break result.map_err(io::Error::from),
                }
            })?;
            let stream = net::UnixStream::from(socket);
            // nix's accept4 gives no address. (getpeername on an accepted
            // Unix socket works even once the peer is gone.)
            let addr = stream.peer_addr()?;
            let fd = Fd::new_created(stream, nonblocking)?;
            Ok((UnixStream { fd }, addr))
        }
        #[cfg(not(any(
            target_os = "linux",
            all(
                target_os = "android",
                any(target_arch = "aarch64", target_arch = "x86", target_arch = "x86_64")
            )
        )))]
        {
            let (stream, addr) = self.fd.read_with(|listener| listener.accept())?;
            Ok((UnixStream::from_std(stream)?, addr))
        }
    }

    /// An endless iterator of [`accept`](UnixListener::accept) results.
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
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

/// The iterator of [`UnixListener::incoming`].
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}

/// A Unix domain stream socket. Like [`TcpStream`](super::TcpStream),
/// `&UnixStream` is `Read` and `Write` too.
///
/// ```
/// use std::io::{Read, Write};
///
/// use corio::net::UnixStream;
///
/// corio::run(|| {
///     let (a, mut b) = UnixStream::pair().unwrap();
///     let writer = corio::spawn(move || {
///         let mut a = a;
///         a.write_all(b"over the socket").unwrap();
///     });
///     let mut text = String::new();
///     b.read_to_string(&mut text).unwrap();
///     assert_eq!(text, "over the socket");
///     writer.join().unwrap();
/// });
/// ```
pub struct UnixStream {
    fd: Fd<net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket file `path`. Inside a runtime the connect is
    /// non-blocking; if the listener's backlog is full (the kernel says
    /// `EAGAIN` for Unix sockets), the connect is handed to the blocking
    /// pool, which waits for room, while the task parks.
    ///
    /// # Errors
    ///
    /// As `connect(2)` (`NotFound`, `ConnectionRefused`...).
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        if !in_runtime() {
            return UnixStream::from_std(net::UnixStream::connect(path)?);
        }
        let addr = UnixAddr::new(path).map_err(|errno| {
            let msg = match errno {
                // As std words them.
                Errno::EINVAL => "paths must not contain interior null bytes",
                Errno::ENAMETOOLONG => "path must be shorter than SUN_LEN",
                errno => return io::Error::from(errno),
            };
            io::Error::new(io::ErrorKind::InvalidInput, msg)
        })?;
        let socket = super::socket(AddressFamily::Unix, SockType::Stream)?;
        let connected = match super::start_connect(&socket, &addr) {
            Ok(connected) => connected,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                let path = path.to_owned();
                let stream = crate::task::spawn_blocking(move || net::UnixStream::connect(path))
                    .join()
                    .unwrap_or_else(|e| Err(e.into_io_error("connect on the blocking pool")))?;
                return UnixStream::from_std(stream);
            }
            Err(err) => return Err(err),
        };
        let fd = Fd::new_nonblocking(net::UnixStream::from(socket))?;
        if !connected {
            fd.write_with(|s| super::finish_connect(s.take_error(), s.peer_addr().map(drop)))?;
        }
        Ok(UnixStream { fd })
    }

    /// A pair of connected sockets.
    ///
    /// # Errors
    ///
    /// When out of file descriptors.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let nonblocking = in_runtime();
            let flags = super::new_socket_flags(nonblocking);
            let (a, b) =
                nix::sys::socket::socketpair(AddressFamily::Unix, SockType::Stream, None, flags)?;
            let a = Fd::new_created(net::UnixStream::from(a), nonblocking)?;
            let b = Fd::new_created(net::UnixStream::from(b), nonblocking)?;
            Ok((UnixStream { fd: a }, UnixStream { fd: b }))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let (a, b) = net::UnixStream::pair()?;
            Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
        }
    }

    /// Wraps a connected std stream (see [`Fd::new`]).
    ///
    /// # Errors
    ///
    /// As [`Fd::new`].
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            fd: Fd::new(stream)?,
        })
    }

    /// The std stream, deregistered and blocking again if corio made it
    /// non-blocking.
    pub fn into_std(self) -> net::UnixStream {
        self.fd.into_inner()
    }

    /// A second handle to the same connection, with its own registration.
    ///
    /// # Errors
    ///
    /// When the fd cannot be duplicated or registered.
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        UnixStream::from_std(self.fd.get_ref().try_clone()?)
    }

    /// Shuts down the read side, the write side or both.
    ///
    /// # Errors
    ///
    /// As `shutdown(2)`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.fd.get_ref().shutdown(how)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// As `getpeername(2)`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.get_ref().peer_addr()
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

crate::io::read_write_via_fd!(Read for UnixStream, &UnixStream);
stream_write!(UnixStream, &UnixStream);

fd_traits!(UnixListener, UnixStream);
