//! The reactor's public API: registrations, readiness, wakers, turns and
//! notifications, on real sockets and pipes.
//!
//! No test asserts that something was fast: waits that should end are
//! bounded only to turn a bug into a failure instead of a hang.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use corio::reactor::{Direction, Reactor, ReadyEvent, Registration};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count::default());
    let waker = Waker::from(Arc::clone(&count));
    (count, waker)
}

fn woken(count: &Count) -> usize {
    count.0.load(Ordering::SeqCst)
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Turns the reactor until `done` holds; bounded so a lost wake-up fails
/// the test rather than hanging it.
fn turn_until(reactor: &Reactor, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        reactor.turn(Some(Duration::from_millis(50))).unwrap();
    }
    assert!(done(), "condition not reached after 200 turns");
}

/// Reads what is there, returning the byte count, or `WouldBlock`.
fn read_some(reg: &Registration, cx: &mut Context<'_>, s: &UnixStream) -> Poll<io::Result<usize>> {
    let mut buf = [0u8; 4096];
    reg.poll_io(cx, Direction::Read, || (&*s).read(&mut buf))
}

/// Writes into `s` until the kernel refuses more, leaving the writer waker
/// stored (`Pending`).
fn fill(reg: &Registration, cx: &mut Context<'_>, s: &UnixStream) -> usize {
    let chunk = [7u8; 16 * 1024];
    let mut total = 0;
    loop {
        match reg.poll_io(cx, Direction::Write, || (&*s).write(&chunk)) {
            Poll::Ready(Ok(n)) => total += n,
            Poll::Ready(Err(e)) => panic!("write: {e}"),
            Poll::Pending => return total,
        }
    }
}

fn drain(s: &UnixStream) -> usize {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    loop {
        match (&*s).read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return total,
            Err(e) => panic!("read: {e}"),
        }
    }
}

fn expect_ready(poll: Poll<ReadyEvent>) -> ReadyEvent {
    match poll {
        Poll::Ready(ready) => ready,
        Poll::Pending => panic!("expected readiness"),
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Reactor>();
    check::<Registration>();
    check::<ReadyEvent>();
}

#[test]
fn a_fresh_registration_is_presumed_ready_both_ways() {
    let reactor = Reactor::new().unwrap();
    let (_a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    assert_eq!(reg.fd(), b.as_raw_fd());
    let (count, waker) = counter();
    let read = expect_ready(reg.poll_ready_with(&waker, Direction::Read));
    assert_eq!(read.direction(), Direction::Read);
    assert!(!read.is_read_closed());
    let write = expect_ready(reg.poll_ready_with(&waker, Direction::Write));
    assert_eq!(write.direction(), Direction::Write);
    assert_eq!(woken(&count), 0);
}

#[test]
fn turn_wakes_the_reader_when_data_arrives() {
    let reactor = Reactor::new().unwrap();
    let (mut a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    let (count, waker) = counter();
    let mut cx = Context::from_waker(&waker);

    // Presumed readable, the read is tried, finds nothing, and parks.
    assert!(read_some(&reg, &mut cx, &b).is_pending());
    assert_eq!(woken(&count), 0);

    a.write_all(b"hello").unwrap();
    let mut total_woken = 0;
    turn_until(&reactor, || {
        total_woken = woken(&count);
        total_woken > 0
    });
    assert_eq!(total_woken, 1);
    match read_some(&reg, &mut cx, &b) {
        Poll::Ready(Ok(n)) => assert_eq!(n, 5),
        other => panic!("{other:?}"),
    }
}

#[test]
fn turn_returns_the_number_of_wakers_woken() {
    let reactor = Reactor::new().unwrap();
    let (mut a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    let (count, waker) = counter();
    let mut cx = Context::from_waker(&waker);
    assert!(read_some(&reg, &mut cx, &b).is_pending());
    a.write_all(b"x").unwrap();
    // `b` is the only fd, and turn(None) returns only after an event for it
    // (which, coming after the write, reports it readable): one waker.
    assert_eq!(reactor.turn(None).unwrap(), 1);
    assert_eq!(woken(&count), 1);
    // The waker was used up; nothing is stored, nothing is woken.
    assert_eq!(reactor.turn(Some(Duration::ZERO)).unwrap(), 0);
    assert!(read_some(&reg, &mut cx, &b).is_ready());
}

#[test]
fn no_new_event_without_new_data() {
    let reactor = Reactor::new().unwrap();
    let (mut a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    let (count, waker) = counter();
    let mut cx = Context::from_waker(&waker);
    assert!(read_some(&reg, &mut cx, &b).is_pending());

    a.write_all(b"abc").unwrap();
    turn_until(&reactor, || woken(&count) == 1);
    // Readiness is remembered while the data is unread, without new events.
    expect_ready(reg.poll_ready(&mut cx, Direction::Read));
    expect_ready(reg.poll_ready(&mut cx, Direction::Read));

    // Consume it all; the WouldBlock clears readiness and parks the waker.
    assert_eq!(drain(&b), 3);
    assert!(read_some(&reg, &mut cx, &b).is_pending());
    // Edge-triggered: nothing changed, so nothing is reported.
    for _ in 0..3 {
        reactor.turn(Some(Duration::ZERO)).unwrap();
    }
    assert_eq!(woken(&count), 1);

    a.write_all(b"d").unwrap();
    turn_until(&reactor, || woken(&count) == 2);
}

#[test]
fn reader_and_writer_have_independent_wakers() {
    let reactor = Reactor::new().unwrap();
    let (a, b) = pair();
    let reg = reactor.register(a.as_raw_fd()).unwrap();
    let (reads, read_waker) = counter();
    let (writes, write_waker) = counter();
    let mut read_cx = Context::from_waker(&read_waker);
    let mut write_cx = Context::from_waker(&write_waker);

    assert!(fill(&reg, &mut write_cx, &a) > 0);
    assert!(read_some(&reg, &mut read_cx, &a).is_pending());

    // Data for `a`: the reader wakes, the writer (buffer still full) not.
    (&b).write_all(b"ping").unwrap();
    turn_until(&reactor, || woken(&reads) == 1);
    assert_eq!(woken(&writes), 0);
    assert!(matches!(
        read_some(&reg, &mut read_cx, &a),
        Poll::Ready(Ok(4))
    ));

    // Space for `a`: the writer wakes.
    assert!(drain(&b) > 0);
    turn_until(&reactor, || woken(&writes) == 1);
    assert_eq!(woken(&reads), 1);
    assert!(fill(&reg, &mut write_cx, &a) > 0);
}

#[test]
fn every_waker_waiting_in_one_direction_is_woken_once() {
    let reactor = Reactor::new().unwrap();
    let (mut a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    let (first, first_waker) = counter();
    let (second, second_waker) = counter();
    assert!(read_some(&reg, &mut Context::from_waker(&first_waker), &b).is_pending());
    assert!(read_some(&reg, &mut Context::from_waker(&second_waker), &b).is_pending());
    // Waiting again with an equal waker does not add it again.
    assert!(read_some(&reg, &mut Context::from_waker(&second_waker), &b).is_pending());
    assert!(read_some(&reg, &mut Context::from_waker(&first_waker.clone()), &b).is_pending());
    assert_eq!(
        Arc::strong_count(&first),
        3,
        "one stored clone of the first"
    );
    assert_eq!(
        Arc::strong_count(&second),
        3,
        "one stored clone of the second"
    );
    a.write_all(b"x").unwrap();
    turn_until(&reactor, || woken(&first) == 1 && woken(&second) == 1);
    // The event emptied the list: the stored clones are gone.
    assert_eq!(Arc::strong_count(&first), 2);
    assert_eq!(Arc::strong_count(&second), 2);
}

#[test]
fn a_withdrawn_waker_is_not_woken() {
    let reactor = Reactor::new().unwrap();
    let (mut a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    let (gave_up, gave_up_waker) = counter();
    let (stays, stays_waker) = counter();
    assert!(read_some(&reg, &mut Context::from_waker(&gave_up_waker), &b).is_pending());
    assert!(read_some(&reg, &mut Context::from_waker(&stays_waker), &b).is_pending());
    reg.remove_waker(Direction::Read, &gave_up_waker.clone());
    assert_eq!(
        Arc::strong_count(&gave_up),
        2,
        "its stored clone was dropped"
    );
    // Withdrawing what is not there, or from the other direction, is a no-op.
    reg.remove_waker(Direction::Read, &gave_up_waker);
    reg.remove_waker(Direction::Write, &stays_waker);
    a.write_all(b"x").unwrap();
    turn_until(&reactor, || woken(&stays) == 1);
    assert_eq!(woken(&gave_up), 0);
}

#[test]
fn notify_wakes_a_turn_sleeping_on_another_thread() {
    let reactor = Reactor::new().unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let sleeper = {
        let reactor = reactor.clone();
        thread::spawn(move || {
            started_tx.send(()).unwrap();
            // Nothing registered, no timeout: only a notification ends this.
            reactor.turn(None).unwrap()
        })
    };
    started_rx.recv().unwrap();
    reactor.notify().unwrap();
    assert_eq!(sleeper.join().unwrap(), 0);
}

#[test]
fn a_notification_before_the_turn_is_kept_and_consumed_once() {
    let reactor = Reactor::new().unwrap();
    let other = reactor.clone();
    thread::spawn(move || other.notify().unwrap())
        .join()
        .unwrap();
    assert_eq!(reactor.turn(None).unwrap(), 0); // returns: notified
                                                // Consumed: this one times out instead of spinning on a stale wake-up.
    assert_eq!(reactor.turn(Some(Duration::from_millis(1))).unwrap(), 0);
}

#[test]
fn a_timed_out_turn_wakes_nobody() {
    let reactor = Reactor::new().unwrap();
    assert_eq!(reactor.turn(Some(Duration::from_millis(2))).unwrap(), 0);
    assert_eq!(reactor.turn(Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(reactor.turn(Some(Duration::from_nanos(10))).unwrap(), 0);
}

#[test]
fn dropping_the_registration_deregisters_the_fd() {
    let reactor = Reactor::new().unwrap();
    let (mut a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    assert_eq!(reactor.registrations(), 1);
    let (count, waker) = counter();
    assert!(read_some(&reg, &mut Context::from_waker(&waker), &b).is_pending());
    assert_eq!(Arc::strong_count(&count), 3); // ours, `waker`, the stored one

    drop(reg);
    assert_eq!(reactor.registrations(), 0);
    assert_eq!(Arc::strong_count(&count), 2, "stored waker released");
    a.write_all(b"late").unwrap();
    assert_eq!(reactor.turn(Some(Duration::from_millis(5))).unwrap(), 0);
    assert_eq!(woken(&count), 0);

    // Really gone from the poller: registering it again is accepted (epoll
    // would refuse a duplicate) and sees the data.
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    assert!(matches!(
        read_some(&reg, &mut Context::from_waker(&waker), &b),
        Poll::Ready(Ok(4))
    ));
    reg.deregister().unwrap();
    assert_eq!(reactor.registrations(), 0);
}

#[test]
fn deregistering_a_closed_fd_reports_an_error() {
    let reactor = Reactor::new().unwrap();
    let (_a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    drop(b); // closed too early
    assert!(reg.deregister().is_err());
    assert_eq!(reactor.registrations(), 0);
}

#[test]
fn registering_a_bad_fd_fails_cleanly() {
    let reactor = Reactor::new().unwrap();
    assert!(reactor.register(-1).is_err());
    assert_eq!(reactor.registrations(), 0);
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn registering_a_regular_file_fails_under_epoll() {
    let reactor = Reactor::new().unwrap();
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let err = reactor.register(file.as_raw_fd()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM));
    assert_eq!(reactor.registrations(), 0);
}

#[test]
fn peer_close_wakes_both_directions() {
    let reactor = Reactor::new().unwrap();
    let (a, b) = pair();
    let reg = reactor.register(a.as_raw_fd()).unwrap();
    let (reads, read_waker) = counter();
    let (writes, write_waker) = counter();
    let mut read_cx = Context::from_waker(&read_waker);
    let mut write_cx = Context::from_waker(&write_waker);
    fill(&reg, &mut write_cx, &a);
    assert!(read_some(&reg, &mut read_cx, &a).is_pending());

    drop(b);
    turn_until(&reactor, || woken(&reads) == 1 && woken(&writes) == 1);
    let read = expect_ready(reg.poll_ready(&mut read_cx, Direction::Read));
    assert!(read.is_read_closed());
    let write = expect_ready(reg.poll_ready(&mut write_cx, Direction::Write));
    assert!(write.is_write_closed());
    // Neither parks again: the reader gets a reset (the peer closed with
    // our data unread; end of file otherwise), the writer a broken pipe.
    match read_some(&reg, &mut read_cx, &a) {
        Poll::Ready(Ok(0)) => {}
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        other => panic!("{other:?}"),
    }
    match reg.poll_io(&mut write_cx, Direction::Write, || (&a).write(b"x")) {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), ErrorKind::BrokenPipe),
        other => panic!("{other:?}"),
    }
}

#[test]
fn peer_half_close_wakes_only_the_reader() {
    let reactor = Reactor::new().unwrap();
    let (a, b) = pair();
    let reg = reactor.register(a.as_raw_fd()).unwrap();
    let (reads, read_waker) = counter();
    let (writes, write_waker) = counter();
    let mut read_cx = Context::from_waker(&read_waker);
    let mut write_cx = Context::from_waker(&write_waker);
    fill(&reg, &mut write_cx, &a);
    assert!(read_some(&reg, &mut read_cx, &a).is_pending());

    b.shutdown(std::net::Shutdown::Write).unwrap();
    turn_until(&reactor, || woken(&reads) == 1);
    assert_eq!(woken(&writes), 0);
    let read = expect_ready(reg.poll_ready(&mut read_cx, Direction::Read));
    assert!(read.is_read_closed());
    assert!(matches!(
        read_some(&reg, &mut read_cx, &a),
        Poll::Ready(Ok(0))
    ));
    // The write half still works once the peer reads.
    drain(&b);
    turn_until(&reactor, || woken(&writes) == 1);
    assert!(fill(&reg, &mut write_cx, &a) > 0);
}

#[test]
fn pipe_writer_close_wakes_the_reader() {
    let reactor = Reactor::new().unwrap();
    let mut child = std::process::Command::new("true")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The child's stdout: a pipe whose writer closes when `true` exits.
    let mut out = child.stdout.take().unwrap();
    let reg = reactor.register(out.as_raw_fd()).unwrap();
    let (count, waker) = counter();
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 16];
    // The fd is blocking, so only read it once readiness was reported by an
    // event: drop the presumed readiness without a read.
    let presumed = expect_ready(reg.poll_ready(&mut cx, Direction::Read));
    reg.clear_readiness(presumed);
    if reg.poll_ready(&mut cx, Direction::Read).is_pending() {
        turn_until(&reactor, || woken(&count) == 1);
    }
    // `true` writes nothing: the only possible event is the hangup.
    let ready = expect_ready(reg.poll_ready(&mut cx, Direction::Read));
    assert!(ready.is_read_closed());
    assert_eq!(out.read(&mut buf).unwrap(), 0);
    child.wait().unwrap();
}

#[test]
fn connection_reset_wakes_the_reader_with_the_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_nonblocking(true).unwrap();

    let reactor = Reactor::new().unwrap();
    let reg = reactor.register(client.as_raw_fd()).unwrap();
    let (count, waker) = counter();
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 16];
    assert!(reg
        .poll_io(&mut cx, Direction::Read, || (&client).read(&mut buf))
        .is_pending());

    // Closing with a zero linger time sends a reset instead of a FIN.
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is a valid `struct linger` of the size passed, alive
    // across the call; `server` is an open socket.
    let rc = unsafe {
        libc::setsockopt(
            server.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "{}", io::Error::last_os_error());
    drop(server);

    turn_until(&reactor, || woken(&count) == 1);
    match reg.poll_io(&mut cx, Direction::Read, || (&client).read(&mut buf)) {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        other => panic!("{other:?}"),
    }
    // The writer is let through too: it will see the failure.
    expect_ready(reg.poll_ready(&mut cx, Direction::Write));
}

#[test]
fn clear_readiness_keeps_an_event_that_arrived_after_the_failed_call() {
    let reactor = Reactor::new().unwrap();
    let (mut a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    let (count, waker) = counter();
    let mut buf = [0u8; 16];

    // 1. The task sees readiness, 2. its read fails with WouldBlock ...
    let seen = expect_ready(reg.poll_ready_with(&waker, Direction::Read));
    assert_eq!(
        (&b).read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    // 3. ... data arrives and a turn (another thread's, in real life)
    //    dispatches its one edge-triggered event before 4. the clear.
    a.write_all(b"late").unwrap();
    reactor.turn(None).unwrap(); // returns only once `b` has an event
    reg.clear_readiness(seen);

    // The clear was stale and did nothing: the task tries again and reads,
    // instead of parking forever on data whose only event it erased.
    expect_ready(reg.poll_ready_with(&waker, Direction::Read));
    assert_eq!((&b).read(&mut buf).unwrap(), 4);
    assert_eq!(woken(&count), 0);
}

#[test]
fn clear_readiness_without_a_newer_event_parks_the_task() {
    let reactor = Reactor::new().unwrap();
    let (mut a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    let (count, waker) = counter();
    let mut buf = [0u8; 16];

    let seen = expect_ready(reg.poll_ready_with(&waker, Direction::Read));
    assert!((&b).read(&mut buf).is_err());
    reg.clear_readiness(seen);
    assert!(reg.poll_ready_with(&waker, Direction::Read).is_pending());
    // Clearing twice with the same observation is harmless.
    reg.clear_readiness(seen);
    // Clearing one direction leaves the other alone.
    expect_ready(reg.poll_ready_with(&waker, Direction::Write));

    a.write_all(b"x").unwrap();
    turn_until(&reactor, || woken(&count) == 1);
    expect_ready(reg.poll_ready_with(&waker, Direction::Read));
}

/// Wakes a thread blocked in `thread::park`.
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs turns on a thread of its own until dropped.
struct Driver {
    reactor: Reactor,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Driver {
    fn start(reactor: &Reactor) -> Driver {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let reactor = reactor.clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    reactor.turn(None).unwrap();
                }
            })
        };
        Driver {
            reactor: reactor.clone(),
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.reactor.notify().unwrap();
        self.thread.take().unwrap().join().unwrap();
    }
}

#[test]
fn blocking_io_parks_until_the_reactor_thread_wakes_it() {
    let reactor = Reactor::new().unwrap();
    let (a, b) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    let _driver = Driver::start(&reactor);

    // The writer sends only once the reader has parked, so the wait path is
    // taken for sure.
    let (parked_tx, parked_rx) = mpsc::channel::<()>();
    let writer = thread::spawn(move || {
        parked_rx.recv().unwrap();
        (&a).write_all(b"across threads").unwrap();
        a
    });

    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut parked_tx = Some(parked_tx);
    let mut parks = 0;
    let mut buf = [0u8; 64];
    let n = reg
        .blocking_io(
            Direction::Read,
            &waker,
            || {
                parks += 1;
                if let Some(tx) = parked_tx.take() {
                    tx.send(()).unwrap();
                }
                thread::park();
            },
            || (&b).read(&mut buf),
        )
        .unwrap();
    assert_eq!(&buf[..n], b"across threads");
    assert!(parks >= 1);
    writer.join().unwrap();
}

#[test]
fn blocking_io_waits_for_buffer_space() {
    let reactor = Reactor::new().unwrap();
    let (a, b) = pair();
    let reg = reactor.register(a.as_raw_fd()).unwrap();
    let _driver = Driver::start(&reactor);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));

    // Fill the buffer with the blocking helper itself; the first park means
    // it is full. Then a reader thread drains it and the write completes.
    let chunk = [1u8; 16 * 1024];
    let mut written = 0;
    let reader = Arc::new(Mutex::new(Some(b)));
    let mut drainer = None;
    while drainer.is_none() {
        written += reg
            .blocking_io(
                Direction::Write,
                &waker,
                || {
                    if drainer.is_none() {
                        let b = reader.lock().unwrap().take().unwrap();
                        drainer = Some(thread::spawn(move || {
                            b.set_nonblocking(false).unwrap();
                            let mut total = 0;
                            let mut buf = [0u8; 16 * 1024];
                            loop {
                                match (&b).read(&mut buf).unwrap() {
                                    0 => return total,
                                    n => total += n,
                                }
                            }
                        }));
                    }
                    thread::park();
                },
                || (&a).write(&chunk),
            )
            .unwrap();
    }
    drop(reg);
    drop(a); // end of file for the drainer
    assert_eq!(drainer.unwrap().join().unwrap(), written);
}

#[test]
fn wakers_may_use_the_reactor() {
    /// A waker that registers and drops a registration and notifies, all
    /// from inside `wake`: the reactor must hold no lock while waking.
    struct Reentrant {
        reactor: Reactor,
        fd: i32,
        done: AtomicBool,
    }
    impl Wake for Reentrant {
        fn wake(self: Arc<Self>) {
            let reg = self.reactor.register(self.fd).unwrap();
            drop(reg);
            self.reactor.notify().unwrap();
            self.done.store(true, Ordering::SeqCst);
        }
    }

    let reactor = Reactor::new().unwrap();
    let (mut a, b) = pair();
    let (_c, d) = pair();
    let reg = reactor.register(b.as_raw_fd()).unwrap();
    let state = Arc::new(Reentrant {
        reactor: reactor.clone(),
        fd: d.as_raw_fd(),
        done: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&state));
    assert!(read_some(&reg, &mut Context::from_waker(&waker), &b).is_pending());
    a.write_all(b"x").unwrap();
    turn_until(&reactor, || state.done.load(Ordering::SeqCst));
    assert_eq!(reactor.registrations(), 1);
}

#[test]
fn events_beyond_the_capacity_come_in_later_turns() {
    let reactor = Reactor::with_event_capacity(1).unwrap();
    let pairs: Vec<_> = (0..4).map(|_| pair()).collect();
    let regs: Vec<_> = pairs
        .iter()
        .map(|(_, b)| reactor.register(b.as_raw_fd()).unwrap())
        .collect();
    let counters: Vec<_> = (0..4).map(|_| counter()).collect();
    for ((reg, (_, b)), (_, waker)) in regs.iter().zip(&pairs).zip(&counters) {
        assert!(read_some(reg, &mut Context::from_waker(waker), b).is_pending());
    }
    for (a, _) in &pairs {
        (&*a).write_all(b"x").unwrap();
    }
    let mut turns = 0;
    turn_until(&reactor, || {
        turns += 1;
        counters.iter().all(|(count, _)| woken(count) == 1)
    });
    assert!(turns > 4, "one event per turn: needs at least four turns");
}

#[test]
fn registrations_come_and_go_while_another_thread_turns() {
    let reactor = Reactor::new().unwrap();
    let _driver = Driver::start(&reactor);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let reactor = reactor.clone();
            thread::spawn(move || {
                for _ in 0..200 {
                    let (mut a, b) = pair();
                    let reg = reactor.register(b.as_raw_fd()).unwrap();
                    let (_count, waker) = counter();
                    let _ = read_some(&reg, &mut Context::from_waker(&waker), &b);
                    a.write_all(b"x").unwrap();
                    drop(reg);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(reactor.registrations(), 0);
}
