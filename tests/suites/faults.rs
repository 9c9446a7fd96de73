//! Faults injected into running tasks: a peer that resets the connection
//! in the middle of a large write, writes to closed peers (SIGPIPE), and
//! the runtime shutting down while many tasks are parked on sockets,
//! timers, channels, locks and generators.

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corio::generator::Generator;
use corio::net::{TcpListener, TcpStream, UnixStream};
use corio::sync::channel;

const MIB: usize = 1 << 20;

/// Counts drops, to prove a task's stack was unwound.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn is_closed_peer_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
    )
}

/// A connected pair: a corio stream and the server's end of it.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// Writes all of `data` with `write_vectored` (two slices a call), as
/// `write_all` does with `write`; returns how much was written before an
/// error.
fn write_all_vectored(mut stream: &TcpStream, data: &[u8]) -> (usize, io::Result<()>) {
    let mut done = 0;
    while done < data.len() {
        let rest = &data[done..];
        let (a, b) = rest.split_at(rest.len() / 2);
        match stream.write_vectored(&[IoSlice::new(a), IoSlice::new(b)]) {
            Ok(0) => return (done, Err(ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

#[test]
fn a_peer_reset_in_the_middle_of_a_large_write_fails_the_write_without_hanging() {
    for vectored in [false, true] {
        super::run(move || {
            let (client, server) = tcp_pair();
            // The peer reads the first MiB, then resets (SO_LINGER 0): the
            // writer is then inside its 64 MiB write, parked or writing.
            let peer = corio::spawn(move || {
                let mut buf = vec![0; MIB];
                (&server).read_exact(&mut buf).unwrap();
                server.set_linger(Some(Duration::ZERO)).unwrap();
                drop(server);
            });
            let data = vec![7u8; 64 * MIB];
            let (written, result) = if vectored {
                write_all_vectored(&client, &data)
            } else {
                let mut written = 0;
                let mut rest = &data[..];
                let result = loop {
                    match (&client).write(rest) {
                        Ok(n) => {
                            written += n;
                            rest = &rest[n..];
                            if rest.is_empty() {
                                break Ok(());
                            }
                        }
                        Err(e) => break Err(e),
                    }
                };
                (written, result)
            };
            let err = result.expect_err("the write outlived its peer");
            assert!(is_closed_peer_error(&err), "vectored={vectored}: {err}");
            assert!(written >= MIB && written < data.len(), "wrote {written}");
            peer.join().unwrap();
            // The socket stays an error, and reads see the reset or EOF.
            assert!((&client).write(b"more").is_err());
            match (&client).read(&mut [0; 16]) {
                Ok(0) => {}
                Ok(n) => panic!("read {n} bytes from a reset connection"),
                Err(e) => assert!(is_closed_peer_error(&e), "{e}"),
            }
        });
    }
}

/// Writes to every kind of closed peer corio has: a TCP stream (write and
/// write_vectored), a Unix stream, and, when `with_pipe`, a pipe. Each must
/// fail with an error; the process must not die of SIGPIPE.
fn write_to_closed_peers(with_pipe: bool) {
    super::run(move || {
        let (mut client, server) = tcp_pair();
        drop(server);
        // The first writes may be taken before the peer's RST comes back.
        let err = loop {
            match client.write_all(&[1; 4096]) {
                Ok(()) => corio::sleep(Duration::from_millis(1)),
                Err(e) => break e,
            }
        };
        assert!(is_closed_peer_error(&err), "tcp write: {err}");
        let err = client.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]);
        assert!(
            is_closed_peer_error(&err.unwrap_err()),
            "tcp write_vectored"
        );

        let (mut a, b) = UnixStream::pair().unwrap();
        drop(b);
        let err = a.write(b"nobody").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "unix write: {err}");
        let err = a.write_vectored(&[IoSlice::new(b"no"), IoSlice::new(b"body")]);
        assert_eq!(err.unwrap_err().kind(), ErrorKind::BrokenPipe);
        let (mut a, b) = UnixStream::pair().unwrap();
        b.shutdown(Shutdown::Read).unwrap();
        let err = a.write(b"nobody").unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::BrokenPipe,
            "unix after shutdown: {err}"
        );

        if with_pipe {
            let (reader, mut writer) = corio::io::pipe().unwrap();
            drop(reader);
            let err = writer.write(b"nobody").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "pipe: {err}");
        }
    });
}

#[test]
fn writes_to_closed_peers_are_errors_not_sigpipe() {
    // A Rust program ignores SIGPIPE: pipes and sockets alike give EPIPE.
    write_to_closed_peers(true);
}

#[test]
fn sigpipe_default_child() {
    if std::env::var_os("CORIO_TEST_CHILD").is_none() {
        return;
    }
    // As in a program that restores the default (a C host, or
    // `-Zon-broken-pipe=kill`): a write that raises SIGPIPE kills it.
    // SAFETY: setting a signal's disposition to the default has no
    // memory-safety conditions.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
    write_to_closed_peers(false);
    println!("survived every write");
}

#[test]
fn sockets_never_raise_sigpipe_even_where_it_kills() {
    if std::env::var_os("CORIO_TEST_CHILD").is_some() {
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "suite::sigpipe_default_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CORIO_TEST_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("survived every write"),
        "{}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shutdown_under_load_unwinds_every_parked_task_and_closes_every_socket() {
    const CONNS: usize = 40;
    let dropped = Arc::new(AtomicUsize::new(0));
    let stacks_before = corio::stack::pool_stats().live;
    let peers = Arc::new(Mutex::new(Vec::new()));
    let (d, p) = (dropped.clone(), peers.clone());
    let tasks = super::run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = 0;
        let mut spawn = |f: Box<dyn FnOnce() + Send>| {
            let c = Counted(d.clone());
            corio::spawn(move || {
                let _c = c;
                f();
            });
            tasks += 1;
        };
        for i in 0..CONNS {
            // The peer is a plain std socket, never read: the runtime's
            // end must be closed by the shutdown.
            let peer = std::net::TcpStream::connect(addr).unwrap();
            let (conn, _) = listener.accept().unwrap();
            p.lock().unwrap().push(peer);
            match i % 4 {
                // Parked in read: the peer sends nothing.
                0 => spawn(Box::new(move || {
                    let _ = (&conn).read(&mut [0; 64]);
                    unreachable!("nothing to read");
                })),
                // Parked in write: the peer reads nothing.
                1 => spawn(Box::new(move || {
                    let _ = (&conn).write_all(&vec![1; 64 * MIB]);
                    unreachable!("nobody reads");
                })),
                // Both halves, in two tasks.
                2 => {
                    let conn = Arc::new(conn);
                    let other = conn.clone();
                    spawn(Box::new(move || {
                        let _ = (&*conn).read(&mut [0; 64]);
                    }));
                    spawn(Box::new(move || {
                        let _ = (&*other).write_all(&vec![2; 64 * MIB]);
                    }));
                }
                // Parked in read inside a generator inside the task.
                _ => spawn(Box::new(move || {
                    let mut gen = Generator::<(), (), ()>::new(move |_, ()| {
                        let _ = (&conn).read(&mut [0; 64]);
                        Ok(())
                    });
                    let _ = gen.send(());
                })),
            }
        }
        // Timers, channels, a lock, joins.
        let (tx, rx) = channel::bounded::<u64>(0);
        let (_keep_tx, empty) = channel::bounded::<u64>(1);
        let lock = Arc::new(corio::sync::Mutex::new(0u64));
        let guard_held = Arc::new(corio::sync::Event::new());
        for i in 0..200u64 {
            match i % 5 {
                0 => spawn(Box::new(|| corio::sleep(Duration::from_secs(3600)))),
                1 => {
                    let tx = tx.clone();
                    spawn(Box::new(move || {
                        let _ = tx.send(i);
                    }));
                }
                2 => {
                    let empty = empty.clone();
                    spawn(Box::new(move || {
                        let _ = empty.recv();
                    }));
                }
                3 => {
                    let (lock, held) = (lock.clone(), guard_held.clone());
                    spawn(Box::new(move || {
                        let _guard = lock.lock();
                        held.set();
                        corio::sleep(Duration::from_secs(3600));
                    }));
                }
                _ => spawn(Box::new(|| {
                    let sleeper = corio::spawn(|| corio::sleep(Duration::from_secs(3600)));
                    let _ = sleeper.join();
                })),
            }
        }
        drop((tx, rx));
        guard_held.wait();
        for _ in 0..10 {
            corio::yield_now();
        }
        tasks
    });
    // `run` came back: nothing hung. Every task was unwound once.
    assert_eq!(dropped.load(Ordering::SeqCst), tasks);
    // Every stack of this thread went back to its pool.
    assert_eq!(corio::stack::pool_stats().live, stacks_before);
    // Every socket of the runtime's side was closed: each peer reads the
    // end of the stream, or a reset where unread data was thrown away.
    for mut peer in peers.lock().unwrap().drain(..) {
        peer.set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut buf = vec![0; MIB];
        loop {
            match peer.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue, // what a writer got out before the end
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
                    break;
                }
            }
        }
    }
}
