//! Sockets: echo round trips, halves used by two tasks, buffered reading,
//! faults (reset, half-close, refused, EMFILE, panics, cancellation), and
//! use outside a runtime.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corio::io::Fd;
use corio::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use corio::rt::{JoinError, WaitReason};

const MS: Duration = Duration::from_millis(1);

/// Echoes everything a client sends until it closes.
fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// Starts a task that accepts forever and echoes each connection in its
/// own task; returns the address.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(move || loop {
        let (stream, _) = listener.accept().unwrap();
        corio::spawn(move || echo(stream));
    });
    addr
}

/// Deterministic bytes for a payload.
fn payload(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + seed * 7) as u8).collect()
}

/// Polls `cond` with short sleeps, a bounded number of times.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..5000 {
        if cond() {
            return true;
        }
        corio::sleep(MS);
    }
    false
}

#[test]
fn many_concurrent_echo_connections_on_one_runtime() {
    super::run(|| {
        let addr = echo_server();
        let clients: Vec<_> = (0..64)
            .map(|c| {
                corio::spawn(move || {
                    let mut stream = TcpStream::connect(addr).unwrap();
                    stream.set_nodelay(true).unwrap();
                    for round in 0..20 {
                        let msg = payload(c * 100 + round, 1 + (c * 37 + round * 101) % 2000);
                        stream.write_all(&msg).unwrap();
                        let mut back = vec![0; msg.len()];
                        stream.read_exact(&mut back).unwrap();
                        assert_eq!(back, msg);
                        if round % 5 == 0 {
                            corio::yield_now();
                        }
                    }
                    c
                })
            })
            .collect();
        let done: Vec<usize> = clients.into_iter().map(|c| c.join().unwrap()).collect();
        assert_eq!(done, (0..64).collect::<Vec<_>>());
    });
}

#[test]
fn read_and_write_halves_in_two_tasks_move_megabytes() {
    // The payload is far bigger than the socket buffers: the writer parks
    // on a full buffer while the reader, another task, drains the echo.
    const LEN: usize = 4 << 20;
    super::run(|| {
        let addr = echo_server();
        let stream = TcpStream::connect(addr).unwrap();
        let writer_half = stream.try_clone().unwrap();
        let writer = corio::spawn(move || {
            let data = payload(1, LEN);
            let mut w = writer_half;
            for chunk in data.chunks(100_000) {
                w.write_all(chunk).unwrap();
            }
            w.shutdown(Shutdown::Write).unwrap();
        });
        let mut echoed = Vec::new();
        (&stream).read_to_end(&mut echoed).unwrap();
        writer.join().unwrap();
        assert_eq!(echoed.len(), LEN);
        assert!(echoed == payload(1, LEN));
    });
}

#[test]
fn shared_reference_halves_through_an_arc() {
    super::run(|| {
        let addr = echo_server();
        let stream = Arc::new(TcpStream::connect(addr).unwrap());
        let reader = {
            let stream = Arc::clone(&stream);
            corio::spawn(move || {
                let mut lines = Vec::new();
                for line in BufReader::new(&*stream).lines() {
                    let line = line.unwrap();
                    let last = line == "999";
                    lines.push(line);
                    if last {
                        break;
                    }
                }
                lines
            })
        };
        for i in 0..1000 {
            writeln!(&*stream, "{i}").unwrap();
        }
        let lines = reader.join().unwrap();
        let expected: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        assert_eq!(lines, expected);
    });
}

#[test]
fn bufreader_reads_lines_across_packets() {
    super::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        corio::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_nodelay(true).unwrap();
            // Lines split at awkward places, with pauses in between.
            for piece in ["alpha\nbe", "ta\n", "gam", "ma\ndelta", "\n"] {
                s.write_all(piece.as_bytes()).unwrap();
                corio::sleep(2 * MS);
            }
        });
        let stream = TcpStream::connect(addr).unwrap();
        let lines: Vec<String> = BufReader::new(stream).lines().map(Result::unwrap).collect();
        assert_eq!(lines, ["alpha", "beta", "gamma", "delta"]);
    });
}

#[test]
fn several_tasks_accepting_on_one_listener_are_all_woken() {
    // Each acceptor takes one connection and ends. The reactor keeps a list
    // of wakers per direction; if a later waker replaced an earlier one,
    // the second connection would wake only the acceptor that already left.
    super::run(|| {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let acceptors: Vec<_> = (0..3)
            .map(|_| {
                let listener = Arc::clone(&listener);
                corio::spawn(move || {
                    let (mut s, peer) = listener.accept().unwrap();
                    s.write_all(b"hi").unwrap();
                    peer
                })
            })
            .collect();
        // Let all three park in accept first.
        assert!(eventually(|| {
            let dump = corio::rt::dump().unwrap();
            let fd = listener.as_raw_fd();
            dump.tasks
                .iter()
                .filter(|t| t.waiting_on == WaitReason::Readable(fd))
                .count()
                == 3
        }));
        let mut clients = Vec::new();
        for _ in 0..3 {
            let mut s = TcpStream::connect(addr).unwrap();
            let mut buf = [0; 2];
            corio::timeout(Duration::from_secs(20), || s.read_exact(&mut buf))
                .expect("an acceptor answers")
                .unwrap();
            assert_eq!(&buf, b"hi");
            clients.push(s.local_addr().unwrap());
        }
        let mut peers: Vec<_> = acceptors.into_iter().map(|a| a.join().unwrap()).collect();
        peers.sort();
        clients.sort();
        assert_eq!(peers, clients);
    });
}

#[test]
fn peer_reset_gives_connection_reset_without_hanging() {
    super::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = corio::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut buf = [0; 5];
            (&s).read_exact(&mut buf).unwrap();
            // Close with SO_LINGER 0: the kernel sends RST, not FIN.
            s.set_linger(Some(Duration::ZERO)).unwrap();
            assert_eq!(s.linger().unwrap(), Some(Duration::ZERO));
            drop(s);
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(b"hello").unwrap();
        // Parked in read when the reset arrives.
        let mut buf = [0; 16];
        let err = client.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        server.join().unwrap();
        // Later writes fail too, without hanging.
        let err = client.write_all(&[0; 1 << 16]).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "{err}"
        );
    });
}

#[test]
fn half_close_lets_the_peer_read_eof_and_still_answer() {
    super::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = corio::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            s.read_to_end(&mut request).unwrap(); // ends at the client's FIN
            write!(s, "got {} bytes", request.len()).unwrap();
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(&[7; 100_000]).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, "got 100000 bytes");
        server.join().unwrap();
    });
}

#[test]
fn connect_refused_is_an_error_inside_and_outside_a_runtime() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }; // closed: nobody listens there now
    let err = super::run(|| TcpStream::connect(addr).unwrap_err());
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn connect_tries_every_address() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    super::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let live = listener.local_addr().unwrap();
        let stream = TcpStream::connect(&[dead, live][..]).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), live);
        let err = TcpStream::connect(&[][..] as &[SocketAddr]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn a_cancelled_reader_releases_the_socket_for_another_task() {
    super::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = Arc::new(TcpStream::connect(addr).unwrap());
        let (mut server_side, _) = listener.accept().unwrap();
        let lock = Arc::new(Mutex::new(vec![1, 2, 3]));

        let first = {
            let (client, lock) = (Arc::clone(&client), Arc::clone(&lock));
            corio::spawn(move || {
                // Holds a lock while parked in a read that never completes.
                let mut guard = lock.lock().unwrap();
                guard.push(4);
                let mut buf = [0; 8];
                let n = (&*client).read(&mut buf);
                guard.push(99); // never reached
                n
            })
        };
        let parked = eventually(|| {
            corio::rt::dump()
                .unwrap()
                .tasks
                .iter()
                .any(|t| t.waiting_on == WaitReason::Readable(client.as_raw_fd()))
        });
        assert!(parked, "the first reader parks in read");
        first.cancel();
        assert!(matches!(first.join(), Err(JoinError::Cancelled)));

        // The lock was released by the unwinding (std poisons it; the data
        // is intact).
        let data = lock.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(data, [1, 2, 3, 4]);

        // Another task reads the same socket: nothing was consumed.
        let second = {
            let client = Arc::clone(&client);
            corio::spawn(move || {
                let mut buf = [0; 8];
                (&*client).read_exact(&mut buf).unwrap();
                buf
            })
        };
        corio::sleep(2 * MS);
        server_side.write_all(b"payload!").unwrap();
        assert_eq!(&second.join().unwrap(), b"payload!");

        // A timed-out read behaves the same.
        let timed_out = corio::timeout(5 * MS, || (&*client).read(&mut [0; 4]));
        assert!(timed_out.is_err());
        server_side.write_all(b"more").unwrap();
        let mut buf = [0; 4];
        (&*client).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"more");
    });
}

#[test]
fn a_panicking_handler_does_not_take_the_server_down() {
    super::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handlers = Arc::new(Mutex::new(Vec::new()));
        let server = {
            let handlers = Arc::clone(&handlers);
            corio::spawn(move || loop {
                let (mut s, _) = listener.accept().unwrap();
                let handler = corio::spawn(move || {
                    let mut line = String::new();
                    BufReader::new(&s).read_line(&mut line).unwrap();
                    if line.starts_with("boom") {
                        panic!("handler failed on purpose");
                    }
                    s.write_all(line.as_bytes()).unwrap();
                });
                handlers.lock().unwrap().push(handler);
            })
        };
        let mut bad = TcpStream::connect(addr).unwrap();
        bad.write_all(b"boom\n").unwrap();
        // The panicking handler's socket is closed by the unwinding.
        let mut rest = Vec::new();
        assert_eq!(bad.read_to_end(&mut rest).unwrap(), 0);

        let mut good = TcpStream::connect(addr).unwrap();
        good.write_all(b"fine\n").unwrap();
        let mut reply = String::new();
        BufReader::new(&good).read_line(&mut reply).unwrap();
        assert_eq!(reply, "fine\n");

        let handlers = std::mem::take(&mut *handlers.lock().unwrap());
        let results: Vec<_> = handlers.into_iter().map(|h| h.join()).collect();
        assert!(matches!(results[0], Err(JoinError::Panicked(_))));
        assert!(results[1].is_ok());
        server.cancel();
    });
}

const CHILD_ENV: &str = "CORIO_NET_TEST_CHILD";

/// Lowers the soft fd limit, fills the fd table so that `accept` fails
/// with EMFILE, and checks that a server that logs and sleeps keeps
/// serving once fds are free again. Runs in a child process (this test
/// binary re-run), so that the test process keeps its fd limit.
#[test]
fn emfile_on_accept_is_survived() {
    if std::env::var_os(CHILD_ENV).is_none() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "suite::emfile_on_accept_is_survived",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("accept failed:"), "{stdout}");
        assert!(stdout.contains("EMFILE SURVIVED"), "{stdout}");
        return;
    }

    // SAFETY: an rlimit struct is plain data; getrlimit fills it in.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `limit` is valid for writes.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0);
    limit.rlim_cur = limit.rlim_cur.min(128);
    // SAFETY: `limit` is a valid rlimit; lowering the soft limit is
    // always allowed.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0);

    super::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let failures = Arc::new(AtomicUsize::new(0));
        let server = {
            let failures = Arc::clone(&failures);
            corio::spawn(move || loop {
                match listener.accept() {
                    Ok((stream, _)) => {
                        corio::spawn(move || echo(stream));
                    }
                    Err(err) => {
                        // The policy: log, give the system a moment, retry.
                        println!("accept failed: {err}");
                        failures.fetch_add(1, Ordering::SeqCst);
                        corio::sleep(5 * MS);
                    }
                }
            })
        };

        // Fill the fd table, then free one fd for the client's socket.
        let null = std::fs::File::open("/dev/null").unwrap();
        let mut fillers = Vec::new();
        loop {
            match null.try_clone() {
                Ok(f) => fillers.push(f),
                Err(err) => {
                    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
                    break;
                }
            }
        }
        fillers.pop();
        let mut client = TcpStream::connect(addr).unwrap(); // table full again
        client.write_all(b"ping").unwrap();
        assert!(eventually(|| failures.load(Ordering::SeqCst) >= 2));

        // Free the table: the queued connection is accepted and served.
        fillers.clear();
        let mut buf = [0; 4];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        let failed = failures.load(Ordering::SeqCst);

        // And new clients are served as before.
        for i in 0..5u8 {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(&[i; 3]).unwrap();
            let mut buf = [0; 3];
            c.read_exact(&mut buf).unwrap();
            assert_eq!(buf, [i; 3]);
        }
        assert_eq!(
            failures.load(Ordering::SeqCst),
            failed,
            "no failures once fds are free"
        );
        server.cancel();
        println!("EMFILE SURVIVED after {failed} failed accepts");
    });
}

#[test]
fn outside_a_runtime_sockets_are_plain_blocking_sockets() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        echo(stream).unwrap()
    });
    let mut client = TcpStream::connect(addr).unwrap();
    client.write_all(b"blocking").unwrap();
    let mut buf = [0; 8];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"blocking");
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(server.join().unwrap(), 8);
}

#[test]
fn sockets_cross_the_runtime_boundary_both_ways() {
    // Created outside, used inside: registered lazily.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, listener) = super::run(move || {
        let server = corio::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            (stream, listener)
        });
        let mut client = TcpStream::connect(addr).unwrap();
        let (mut stream, listener) = server.join().unwrap();
        client.write_all(b"in").unwrap();
        let mut buf = [0; 2];
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"in");
        (client, (listener, stream))
    });
    let (listener, mut stream) = listener;
    // Created (non-blocking) inside, used outside: reads block the thread.
    let mut client = client;
    let writer = std::thread::spawn(move || {
        std::thread::sleep(5 * MS);
        stream.write_all(b"out").unwrap();
        stream
    });
    let mut buf = [0; 3];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"out");
    let stream = writer.join().unwrap();

    // And back into another runtime: the registration moves there.
    super::run(move || {
        let reader = corio::spawn(move || {
            let mut buf = [0; 5];
            client.read_exact(&mut buf).unwrap();
            buf
        });
        corio::sleep(2 * MS);
        (&stream).write_all(b"again").unwrap();
        assert_eq!(&reader.join().unwrap(), b"again");
        let acceptor = corio::spawn(move || listener.accept().map(|(_, a)| a));
        let c = TcpStream::connect(addr).unwrap();
        assert_eq!(acceptor.join().unwrap().unwrap(), c.local_addr().unwrap());
    });
}

#[test]
fn into_std_restores_blocking_mode() {
    super::run(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let a = a.into_std();
        let b = b.into_std();
        // Blocking again: a read with a timeout set times out instead of
        // failing with WouldBlock at once.
        b.set_read_timeout(Some(MS)).unwrap();
        let err = (&b).read(&mut [0; 1]).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut
        ));
        drop(a);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap().into_std();
        listener.set_nonblocking(false).unwrap();
    });
}

#[test]
fn udp_round_trip() {
    super::run(|| {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let echo = corio::spawn(move || {
            let mut buf = [0; 1500];
            for _ in 0..10 {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                server.send_to(&buf[..n], from).unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.connect(addr).unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr);
        for i in 0..10u8 {
            let msg = [i; 100];
            client.send(&msg).unwrap();
            let mut buf = [0; 1500];
            let n = client.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &msg);
        }
        echo.join().unwrap();

        // peek_from leaves the datagram queued.
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.send_to(b"x", a.local_addr().unwrap()).unwrap();
        let mut buf = [0; 8];
        let (n, from) = a.peek_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"x"[..], a.local_addr().unwrap()));
        let (n, _) = a.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"x");
    });
}

#[test]
fn unix_listener_and_streams() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    super::run(|| {
        let listener = UnixListener::bind(&path).unwrap();
        let server = corio::spawn(move || {
            let mut served = 0;
            for stream in listener.incoming().take(4) {
                let stream = stream.unwrap();
                corio::spawn(move || {
                    let mut line = String::new();
                    BufReader::new(&stream).read_line(&mut line).unwrap();
                    (&stream).write_all(line.to_uppercase().as_bytes()).unwrap();
                });
                served += 1;
            }
            served
        });
        let clients: Vec<_> = (0..4)
            .map(|i| {
                let path = path.clone();
                corio::spawn(move || {
                    let mut s = UnixStream::connect(&path).unwrap();
                    writeln!(s, "client {i}").unwrap();
                    let mut reply = String::new();
                    BufReader::new(&s).read_line(&mut reply).unwrap();
                    reply
                })
            })
            .collect();
        for (i, c) in clients.into_iter().enumerate() {
            assert_eq!(c.join().unwrap(), format!("CLIENT {i}\n"));
        }
        assert_eq!(server.join().unwrap(), 4);

        let err = UnixStream::connect(dir.path().join("nobody")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn unix_pair_halves_and_half_close() {
    super::run(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let a2 = a.try_clone().unwrap();
        let writer = corio::spawn(move || {
            let mut a2 = a2;
            a2.write_all(&vec![5u8; 1 << 20]).unwrap();
            a2.shutdown(Shutdown::Write).unwrap();
        });
        let peer = corio::spawn(move || {
            let mut got = Vec::new();
            (&b).read_to_end(&mut got).unwrap();
            (&b).write_all(&(got.len() as u64).to_le_bytes()).unwrap();
            got.iter().all(|&x| x == 5)
        });
        let mut len = [0; 8];
        (&a).read_exact(&mut len).unwrap();
        assert_eq!(u64::from_le_bytes(len), 1 << 20);
        writer.join().unwrap();
        assert!(peer.join().unwrap());
    });
}

#[test]
fn fd_wraps_any_pollable_fd() {
    super::run(|| {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let a = Fd::new(a).unwrap();
        let mut b = Fd::new(b).unwrap();
        let reader = corio::spawn(move || {
            let mut text = String::new();
            b.read_to_string(&mut text).unwrap();
            text
        });
        (&a).write_all(b"through Fd").unwrap();
        drop(a);
        assert_eq!(reader.join().unwrap(), "through Fd");

        // A regular file cannot be watched by epoll: it is simply used.
        let mut file = Fd::new(tempfile::tempfile().unwrap()).unwrap();
        file.write_all(b"file data").unwrap();
        let mut f = file.into_inner();
        use std::io::Seek;
        f.rewind().unwrap();
        let mut text = String::new();
        Fd::new(f).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "file data");
    });
}

/// A small deterministic generator of chunk sizes and pauses.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Sends `data` in chunks of random sizes with random pauses, then ends the
/// stream; reads it back with reads of `buf_len` bytes until the end.
fn stream_through<W: Write + 'static>(
    mut writer: W,
    mut reader: impl Read,
    end: impl FnOnce(W) + 'static,
    data: Vec<u8>,
    buf_len: usize,
    seed: u64,
) -> Vec<u8> {
    let sender = corio::spawn_local(move || {
        let mut rng = Lcg(seed);
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = (1 + rng.below(3000)).min(rest.len());
            writer.write_all(&rest[..n]).unwrap();
            rest = &rest[n..];
            match rng.below(4) {
                0 => corio::yield_now(),
                1 => corio::sleep(Duration::from_micros(50)),
                _ => {}
            }
        }
        end(writer);
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; buf_len];
    loop {
        match reader.read(&mut buf).unwrap() {
            0 => break,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    sender.join().unwrap();
    got
}

#[test]
fn stream_reads_of_any_size_get_every_byte_and_the_end() {
    super::run(|| {
        let data = payload(3, 200_000);
        for (i, buf_len) in [1usize, 7, 64, 1000, 65_536].into_iter().enumerate() {
            let seed = i as u64;
            // TCP
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            let shut = |s: TcpStream| s.shutdown(Shutdown::Write).unwrap();
            let got = stream_through(client, &server, shut, data.clone(), buf_len, seed);
            assert!(got == data, "tcp, reads of {buf_len}");
            // Unix stream
            let (a, b) = UnixStream::pair().unwrap();
            let shut = |s: UnixStream| s.shutdown(Shutdown::Write).unwrap();
            let got = stream_through(a, &b, shut, data.clone(), buf_len, seed);
            assert!(got == data, "unix, reads of {buf_len}");
            // Pipe: the end is the writer's drop.
            let (r, w) = corio::io::pipe().unwrap();
            let got = stream_through(w, r, drop, data.clone(), buf_len, seed);
            assert!(got == data, "pipe, reads of {buf_len}");
        }
    });
}

/// Reads twice from `reader`: the first read must return `first` bytes, and
/// the second must find what is still buffered, not wait for an event that
/// already came (the generous deadline only bounds a failure).
fn both_reads_complete(reader: &mut impl Read, first: usize) -> usize {
    let mut buf = [0u8; 64];
    assert_eq!(reader.read(&mut buf).unwrap(), first);
    corio::timeout(Duration::from_secs(5), || reader.read(&mut buf).unwrap())
        .expect("the second read waited although data was buffered")
}

#[test]
fn a_short_read_does_not_hide_data_still_buffered() {
    super::run(|| {
        // TCP stops a read at the urgent mark, with bytes after it queued.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        for (bytes, flags) in [(&b"abc"[..], 0), (b"!", libc::MSG_OOB), (b"def", 0)] {
            // SAFETY: `bytes` is valid for `bytes.len()` bytes during the call.
            let sent = unsafe {
                libc::send(
                    client.as_raw_fd(),
                    bytes.as_ptr().cast(),
                    bytes.len(),
                    flags,
                )
            };
            assert_eq!(sent, bytes.len() as isize);
        }
        // Let the reactor take the one readiness event first.
        corio::sleep(20 * MS);
        assert_eq!(both_reads_complete(&mut server, 3), 3);

        // A packet socket behind `PipeReader` returns one message per read.
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors socketpair writes.
        let rc =
            unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, fds.as_mut_ptr()) };
        assert_eq!(rc, 0);
        // SAFETY: socketpair succeeded, so both fds are open and owned here.
        let (a, b) = unsafe {
            use std::os::fd::{FromRawFd, OwnedFd};
            (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
        };
        let mut reader = corio::io::PipeReader::new(a).unwrap();
        let writer = corio::spawn(move || {
            let w = corio::io::PipeWriter::new(b).unwrap();
            (&w).write_all(b"one").unwrap();
            (&w).write_all(b"two!").unwrap();
            w
        });
        assert_eq!(both_reads_complete(&mut reader, 3), 4);
        drop(writer.join().unwrap());
    });
}

/// Whether `fd` is in non-blocking mode, and whether it is close-on-exec.
fn nonblocking_and_cloexec(fd: &impl std::os::fd::AsFd) -> (bool, bool) {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
    let status = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL).unwrap());
    let fd_flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap());
    (
        status.contains(OFlag::O_NONBLOCK),
        fd_flags.contains(FdFlag::FD_CLOEXEC),
    )
}

#[test]
fn accepted_paired_and_piped_fds_are_cloexec_and_blocking_once_given_back() {
    const WRAPPED: (bool, bool) = (true, true);
    const GIVEN_BACK: (bool, bool) = (false, true);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("modes.sock");
    let unix_listener = UnixListener::bind(&path).unwrap();
    super::run(|| {
        for host in ["127.0.0.1:0", "[::1]:0"] {
            let listener = TcpListener::bind(host).unwrap();
            let addr = listener.local_addr().unwrap();
            let client = corio::spawn(move || TcpStream::connect(addr).unwrap());
            let (stream, peer) = listener.accept().unwrap();
            let client = client.join().unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            assert_eq!(stream.peer_addr().unwrap(), peer);
            assert_eq!(nonblocking_and_cloexec(&stream), WRAPPED);
            assert_eq!(nonblocking_and_cloexec(&client), WRAPPED);
            assert_eq!(nonblocking_and_cloexec(&stream.into_std()), GIVEN_BACK);
            assert_eq!(nonblocking_and_cloexec(&client.into_std()), GIVEN_BACK);
        }

        let client = {
            let path = path.clone();
            corio::spawn(move || UnixStream::connect(path).unwrap())
        };
        let (stream, peer) = unix_listener.accept().unwrap();
        assert!(peer.is_unnamed());
        let client = client.join().unwrap();
        assert_eq!(nonblocking_and_cloexec(&stream), WRAPPED);
        assert_eq!(nonblocking_and_cloexec(&client), WRAPPED);
        assert_eq!(nonblocking_and_cloexec(&stream.into_std()), GIVEN_BACK);
        assert_eq!(nonblocking_and_cloexec(&client.into_std()), GIVEN_BACK);

        let (a, b) = UnixStream::pair().unwrap();
        assert_eq!(nonblocking_and_cloexec(&a), WRAPPED);
        assert_eq!(nonblocking_and_cloexec(&a.into_std()), GIVEN_BACK);
        assert_eq!(nonblocking_and_cloexec(&b.into_std()), GIVEN_BACK);

        let (reader, writer) = corio::io::pipe().unwrap();
        assert_eq!(nonblocking_and_cloexec(&reader), WRAPPED);
        assert_eq!(nonblocking_and_cloexec(&writer), WRAPPED);
        assert_eq!(nonblocking_and_cloexec(&reader.into_owned_fd()), GIVEN_BACK);
        assert_eq!(nonblocking_and_cloexec(&writer.into_owned_fd()), GIVEN_BACK);
    });

    // Outside a runtime they are made blocking, as std makes them.
    const PLAIN: (bool, bool) = (false, true);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (stream, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(nonblocking_and_cloexec(&stream), PLAIN);
    let _client = UnixStream::connect(&path).unwrap();
    let (stream, _) = unix_listener.accept().unwrap();
    assert_eq!(nonblocking_and_cloexec(&stream), PLAIN);
    let (a, _b) = UnixStream::pair().unwrap();
    assert_eq!(nonblocking_and_cloexec(&a), PLAIN);
    let (reader, writer) = corio::io::pipe().unwrap();
    assert_eq!(nonblocking_and_cloexec(&reader), PLAIN);
    assert_eq!(nonblocking_and_cloexec(&writer), PLAIN);
}

#[test]
fn connections_gone_before_accept_are_still_accepted_with_their_address() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.sock");
    super::run(|| {
        // TCP: reset (SO_LINGER 0) before the server accepts.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let client_addr = client.local_addr().unwrap();
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client);
        corio::sleep(5 * MS);
        let (stream, peer) = listener.accept().unwrap();
        assert_eq!(peer, client_addr);
        let err = (&stream).read(&mut [0; 1]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");

        // Unix: a client bound to a name, closed before the accept.
        use nix::sys::socket::{
            bind, connect, socket, AddressFamily, SockFlag, SockType, UnixAddr,
        };
        let listener = UnixListener::bind(&path).unwrap();
        let client_path = dir.path().join("client.sock");
        let client = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        bind(client.as_raw_fd(), &UnixAddr::new(&client_path).unwrap()).unwrap();
        connect(client.as_raw_fd(), &UnixAddr::new(&path).unwrap()).unwrap();
        nix::unistd::write(&client, b"bye").unwrap();
        drop(client);
        let (mut stream, peer) = listener.accept().unwrap();
        assert_eq!(peer.as_pathname(), Some(client_path.as_path()));
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        assert_eq!(text, "bye");
    });
}

#[test]
fn bad_unix_paths_fail_alike_inside_and_outside_a_runtime() {
    let bad = [
        std::path::PathBuf::from("/tmp/a\0b"),
        std::path::PathBuf::from("/tmp/".to_owned() + &"x".repeat(200)),
        std::path::PathBuf::new(),
    ];
    for path in bad {
        let outside = UnixStream::connect(&path).unwrap_err();
        let inside = super::run(|| UnixStream::connect(&path).unwrap_err());
        assert_eq!(
            inside.kind(),
            outside.kind(),
            "{path:?}: {inside} / {outside}"
        );
        assert_eq!(inside.raw_os_error(), outside.raw_os_error(), "{path:?}");
        assert_eq!(inside.to_string(), outside.to_string(), "{path:?}");
    }
}
