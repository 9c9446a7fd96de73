//! The multi-worker runtime: groups spread over worker threads, started
//! coroutines never move, shutdown and faults.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use corio::Runtime;

fn two_workers() -> Runtime {
    Runtime::builder().workers(2).build().unwrap()
}

#[test]
fn spawned_groups_complete_and_return_their_values() {
    let total = two_workers().run(|| {
        let handles: Vec<_> = (0..1000u64).map(|n| corio::spawn(move || n * 2)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    });
    assert_eq!(total, (0..1000u64).map(|n| n * 2).sum());
}

#[test]
fn groups_run_on_more_than_one_thread() {
    let threads = Arc::new(Mutex::new(HashSet::new()));
    two_workers().run(|| {
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let threads = threads.clone();
                corio::spawn(move || {
                    // Busy for a while without parking, so that the other
                    // worker steals what waits.
                    let until = std::time::Instant::now() + Duration::from_millis(2);
                    while std::time::Instant::now() < until {
                        std::hint::spin_loop();
                    }
                    threads.lock().unwrap().insert(thread::current().id());
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    assert_eq!(threads.lock().unwrap().len(), 2);
}

thread_local! {
    static MARK: Cell<u8> = const { Cell::new(0) };
}

#[test]
fn a_task_stays_on_its_thread_across_parks() {
    let moved = Arc::new(AtomicUsize::new(0));
    two_workers().run(|| {
        let handles: Vec<_> = (0..200)
            .map(|i| {
                let moved = moved.clone();
                corio::spawn(move || {
                    let before = MARK.with(|m| m as *const Cell<u8> as usize);
                    let thread = thread::current().id();
                    for _ in 0..5 {
                        corio::yield_now();
                        corio::sleep(Duration::from_micros(100 + i % 7));
                        let after = MARK.with(|m| m as *const Cell<u8> as usize);
                        if after != before || thread::current().id() != thread {
                            moved.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    assert_eq!(moved.load(Ordering::Relaxed), 0);
}

/// Occupies the other worker: spawns a group that spins until released,
/// and returns once it runs (on the other worker, since this one does not
/// switch meanwhile). Returns the release flag and the spinner's handle.
fn occupy_other_worker() -> (
    Arc<std::sync::atomic::AtomicBool>,
    corio::JoinHandle<thread::ThreadId>,
) {
    use std::sync::atomic::AtomicBool;
    let running = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let spinner = {
        let (running, release) = (running.clone(), release.clone());
        corio::spawn(move || {
            running.store(true, Ordering::SeqCst);
            while !release.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            thread::current().id()
        })
    };
    while !running.load(Ordering::SeqCst) {
        std::hint::spin_loop();
    }
    (release, spinner)
}

#[test]
fn a_group_cancelled_before_it_starts_never_maps_its_stack() {
    two_workers().run(|| {
        let (release, spinner) = occupy_other_worker();
        // A stack this large cannot be mapped: had the group started, its
        // join would report that failure, not a cancellation.
        let huge = corio::task::Builder::new()
            .stack_size(1 << 46)
            .spawn(|| unreachable!("a cancelled group never runs"))
            .unwrap();
        huge.cancel();
        assert!(huge.join().unwrap_err().is_cancelled());
        release.store(true, Ordering::SeqCst);
        assert_ne!(spinner.join().unwrap(), thread::current().id());
    });
}

#[test]
fn a_group_whose_stack_cannot_be_mapped_reports_it_through_join() {
    two_workers().run(|| {
        let huge = corio::task::Builder::new()
            .stack_size(1 << 46)
            .spawn(|| unreachable!("no stack, no run"))
            .unwrap();
        let err = huge.join().unwrap_err();
        let message = err.into_panic().unwrap();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("corio: cannot start a spawned task"),
            "{message}"
        );
    });
}

#[test]
fn a_busy_worker_stalls_only_its_started_groups() {
    two_workers().run(|| {
        // This worker spins without parking; the groups it spawns are
        // started by the other one.
        let done = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let done = done.clone();
                corio::spawn(move || {
                    done.fetch_add(1, Ordering::SeqCst);
                    thread::current().id()
                })
            })
            .collect();
        while done.load(Ordering::SeqCst) < 50 {
            std::hint::spin_loop();
        }
        for h in handles {
            assert_ne!(h.join().unwrap(), thread::current().id());
        }
    });
}

#[test]
fn a_lone_group_behind_a_busy_worker_is_taken() {
    two_workers().run(|| {
        // A thief leaves a sibling's lone, new group alone for a moment (a
        // join usually follows the spawn); it must take it all the same
        // when the sibling never gets to it.
        for _ in 0..20 {
            let done = Arc::new(AtomicUsize::new(0));
            let flag = done.clone();
            let handle = corio::spawn(move || {
                flag.store(1, Ordering::SeqCst);
                thread::current().id()
            });
            let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while done.load(Ordering::SeqCst) == 0 {
                assert!(
                    std::time::Instant::now() < give_up,
                    "the lone group was never taken"
                );
                std::hint::spin_loop();
            }
            assert_ne!(handle.join().unwrap(), thread::current().id());
        }
    });
}

#[test]
fn spawn_local_stays_on_the_spawning_worker() {
    two_workers().run(|| {
        let here = thread::current().id();
        let handles: Vec<_> = (0..100)
            .map(|_| {
                corio::spawn(move || {
                    let group_thread = thread::current().id();
                    let rc = std::rc::Rc::new(group_thread); // !Send is fine here
                    let local = corio::spawn_local(move || {
                        corio::yield_now();
                        *rc == thread::current().id()
                    });
                    local.join().unwrap()
                })
            })
            .collect();
        let local = corio::spawn_local(move || thread::current().id() == here);
        assert!(local.join().unwrap());
        for h in handles {
            assert!(h.join().unwrap());
        }
    });
}

#[test]
fn task_ids_are_unique_across_workers() {
    let ids = two_workers().run(|| {
        let handles: Vec<_> = (0..500)
            .map(|_| {
                corio::spawn(|| {
                    let inner: Vec<_> = (0..3).map(|_| corio::spawn_local(|| ())).collect();
                    inner.iter().map(|h| h.id()).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ids: Vec<_> = handles.iter().map(|h| h.id()).collect();
        for h in handles {
            ids.extend(h.join().unwrap());
        }
        ids
    });
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
}

#[test]
fn the_dump_lists_tasks_of_every_worker_with_their_worker() {
    two_workers().run(|| {
        let (release, spinner) = occupy_other_worker();
        let sleeper = corio::task::Builder::new()
            .name("here")
            .spawn_local(|| corio::sleep(Duration::from_secs(3600)))
            .unwrap();
        corio::yield_now();
        release.store(true, Ordering::SeqCst);
        spinner.join().unwrap();
        // A sleeper on the other worker: spawn groups until one lands there.
        let there = loop {
            let h = corio::task::Builder::new()
                .name("there")
                .spawn(|| {
                    let me = thread::current().id();
                    corio::sleep(Duration::from_secs(3600));
                    me
                })
                .unwrap();
            corio::sleep(Duration::from_millis(5));
            let dump = corio::rt::dump().unwrap();
            let info = dump.tasks.iter().find(|t| t.id == h.id()).cloned();
            match info {
                Some(info) if info.worker == 1 => break (h, info),
                _ => h.cancel(),
            }
        };
        let dump = corio::rt::dump().unwrap();
        assert_eq!(dump.workers, 2);
        let here = dump.tasks.iter().find(|t| t.id == sleeper.id()).unwrap();
        assert_eq!(here.worker, 0);
        assert_eq!(here.name.as_deref(), Some("here"));
        assert_eq!(there.1.name.as_deref(), Some("there"));
        assert!(dump.pending_timers >= 2);
        let text = dump.to_string();
        assert!(text.contains("2 workers"), "{text}");
        assert!(text.contains("worker 1"), "{text}");
        sleeper.cancel();
        there.0.cancel();
    });
}

#[test]
fn shutdown_with_thousands_of_groups_in_flight_unwinds_or_discards_each_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let r = ran.clone();
    two_workers().run(move || {
        for i in 0..5000u64 {
            let c = Counted(d.clone());
            let r = r.clone();
            corio::spawn(move || {
                let _c = c;
                r.fetch_add(1, Ordering::SeqCst);
                if i % 3 == 0 {
                    let c2 = Counted(Arc::new(AtomicUsize::new(0)));
                    corio::spawn_local(move || {
                        let _c2 = c2;
                        corio::sleep(Duration::from_secs(3600));
                    });
                }
                corio::sleep(Duration::from_millis(i % 5));
            });
            if i % 500 == 0 {
                corio::yield_now();
            }
        }
        // Return while most are unstarted, sleeping or just spawned.
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 5000);
    assert!(ran.load(Ordering::SeqCst) <= 5000);
}

#[test]
fn a_panicking_group_poisons_nothing() {
    two_workers().run(|| {
        let m = Arc::new(corio::sync::Mutex::new(0u32));
        let handles: Vec<_> = (0..200u32)
            .map(|i| {
                let m = m.clone();
                corio::spawn(move || {
                    *m.lock() += 1;
                    if i % 10 == 0 {
                        panic!("group {i} fails");
                    }
                    i
                })
            })
            .collect();
        let mut panics = 0;
        for h in handles {
            match h.join() {
                Ok(_) => {}
                Err(e) => {
                    assert!(e.is_panic());
                    panics += 1;
                }
            }
        }
        assert_eq!(panics, 20);
        assert_eq!(*m.lock(), 200);
        // The runtime goes on.
        assert_eq!(corio::spawn(|| 7).join().unwrap(), 7);
    });
}

#[test]
fn a_waker_that_outlives_its_runtime_is_harmless() {
    use std::future::poll_fn;
    use std::task::{Poll, Waker};
    let runtime = two_workers();
    let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
    let (k, seen) = (kept.clone(), kept.clone());
    runtime.run(move || {
        let t = corio::spawn(move || {
            corio::block_on(poll_fn(|cx| {
                *k.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            }))
        });
        loop {
            if seen.lock().unwrap().is_some() {
                break;
            }
            corio::sleep(Duration::from_millis(1));
        }
        t.cancel();
    });
    let waker = kept.lock().unwrap().take().unwrap();
    // Woken after its runtime ended, and while a later run of the same
    // runtime has tasks of its own in the same slots.
    waker.wake_by_ref();
    let sum = runtime.run(|| {
        let tasks: Vec<_> = (0..10u32)
            .map(|i| {
                let waker = waker.clone();
                corio::spawn(move || {
                    waker.wake_by_ref();
                    corio::sleep(Duration::from_millis(1));
                    i
                })
            })
            .collect();
        tasks.into_iter().map(|t| t.join().unwrap()).sum::<u32>()
    });
    assert_eq!(sum, 45);
}

#[test]
fn an_io_object_used_by_two_runtimes_in_turn_keeps_working() {
    use std::io::{Read, Write};
    use std::sync::mpsc;
    let (a, b) = corio::net::UnixStream::pair().unwrap();
    let b = Arc::new(b);
    let (to_second, second_may_go) = mpsc::channel::<()>();
    let (second_done, first_may_go) = mpsc::channel::<()>();
    let second = {
        let b = b.clone();
        thread::spawn(move || {
            corio::run(move || {
                let wait = corio::task::spawn_blocking(move || second_may_go.recv().unwrap());
                wait.join().unwrap();
                // Registers `b` with this runtime's poller while a task of
                // the first runtime is parked on it there.
                (&*b).write_all(b"from the second runtime").unwrap();
                second_done.send(()).unwrap();
            })
        })
    };
    corio::run(move || {
        let reader = {
            let b = b.clone();
            corio::spawn_local(move || {
                let mut buf = [0u8; 4];
                (&*b).read_exact(&mut buf).unwrap();
                buf
            })
        };
        corio::yield_now(); // the reader parks on `b` in this runtime
        to_second.send(()).unwrap();
        corio::task::spawn_blocking(move || first_may_go.recv().unwrap())
            .join()
            .unwrap();
        // Back in the first runtime: the old registration is found again
        // (registering anew failed with EEXIST while the reader waited).
        (&*b).write_all(b"from the first runtime").unwrap();
        (&a).write_all(b"ping").unwrap();
        assert_eq!(&reader.join().unwrap(), b"ping");
        let mut got = vec![0u8; 45];
        (&a).read_exact(&mut got).unwrap();
        assert_eq!(
            &got[..],
            &b"from the second runtimefrom the first runtime"[..]
        );
    });
    second.join().unwrap();
}

#[test]
fn the_two_halves_of_a_socket_serve_tasks_of_two_runtimes_at_once() {
    use std::io::{Read, Write};
    use std::sync::mpsc;
    const ROUNDS: usize = 50;
    // More than a socket buffer holds: the writer parks until the peer
    // has drained it, while the reader is parked waiting for the reply.
    const BIG: usize = 1 << 20;
    let (peer, shared) = corio::net::UnixStream::pair().unwrap();
    let shared = Arc::new(shared);
    let (done, finished) = mpsc::channel::<()>();
    // Runtime `first` reads in even rounds and writes in odd ones; `second`
    // the other way round, so each direction moves between the runtimes.
    let runtime = |first_reads: usize, go: mpsc::Receiver<()>, ready: mpsc::Sender<()>| {
        let (stream, done) = (shared.clone(), done.clone());
        thread::spawn(move || {
            corio::run(move || {
                for round in 0..ROUNDS {
                    go.recv().unwrap();
                    ready.send(()).unwrap();
                    if round % 2 == first_reads {
                        let mut reply = [0u8; 5];
                        (&*stream).read_exact(&mut reply).unwrap();
                        assert_eq!(&reply, b"reply");
                    } else {
                        (&*stream).write_all(&vec![7u8; BIG]).unwrap();
                    }
                    done.send(()).unwrap();
                }
            })
        })
    };
    let (go_first, first_go) = mpsc::channel();
    let (go_second, second_go) = mpsc::channel();
    let (ready, started) = mpsc::channel();
    let first = runtime(0, first_go, ready.clone());
    let second = runtime(1, second_go, ready);
    let mut buf = vec![0u8; 64 * 1024];
    for round in 0..ROUNDS {
        // The reader's runtime starts first, so that its task is usually
        // parked on the socket when the writer's registers it.
        let (reader, writer) = if round % 2 == 0 {
            (&go_first, &go_second)
        } else {
            (&go_second, &go_first)
        };
        reader.send(()).unwrap();
        started.recv().unwrap();
        writer.send(()).unwrap();
        started.recv().unwrap();
        let mut drained = 0;
        while drained < BIG {
            drained += (&peer).read(&mut buf).unwrap();
        }
        (&peer).write_all(b"reply").unwrap();
        for _ in 0..2 {
            // A bound on a hang, not a timing: each round takes a moment.
            finished
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("round {round}: a half stopped being served: {e}"));
        }
    }
    first.join().unwrap();
    second.join().unwrap();
}

#[test]
fn a_socket_accepted_on_one_worker_is_served_by_the_worker_that_uses_it() {
    use std::io::{BufRead, BufReader, Write};
    two_workers().run(|| {
        let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = corio::spawn(move || {
            let mut stream = corio::net::TcpStream::connect(addr).unwrap();
            let mut lines = BufReader::new(stream.try_clone().unwrap());
            let mut echoed = Vec::new();
            for i in 0..100 {
                // One write per line: with two, Nagle's algorithm would hold
                // the second back until the delayed ACK of the first.
                stream.write_all(format!("line {i}\n").as_bytes()).unwrap();
                let mut line = String::new();
                lines.read_line(&mut line).unwrap();
                echoed.push(line);
            }
            echoed
        });
        let (stream, _) = listener.accept().unwrap();
        let acceptor = thread::current().id();
        // Handed to a group the other worker starts (this one spins until
        // it has), whose poller then serves it.
        let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = started.clone();
        let server = corio::spawn(move || {
            flag.store(true, Ordering::SeqCst);
            let mut writer = stream.try_clone().unwrap();
            let mut lines = BufReader::new(stream);
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap() > 0 {
                writer.write_all(line.as_bytes()).unwrap();
                line.clear();
            }
            thread::current().id()
        });
        while !started.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        let echoed = client.join().unwrap();
        assert_eq!(echoed.len(), 100);
        assert_eq!(echoed[99], "line 99\n");
        assert_ne!(server.join().unwrap(), acceptor);
    });
}
