//! Randomised stress of the multi-worker runtime: groups spawning groups and
//! local tasks, random cancels and timeouts, and channel traffic between
//! workers. Every task must complete exactly once, every message must
//! arrive exactly once, and the run must end (a lost wake-up hangs it, so
//! each round runs under a watchdog that fails the test instead).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corio::sync::channel;

/// Fails the test if `f` has not returned within `limit`.
fn with_watchdog<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the round did not finish: a lost wake-up or a hang")
}

struct Tally {
    started: AtomicUsize,
    finished: AtomicUsize,
}

fn round(seed: u64) {
    let tally = Arc::new(Tally {
        started: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
    });
    let t = tally.clone();
    let (received, sent) = corio::Runtime::builder()
        .workers(2)
        .build()
        .unwrap()
        .run(move || {
            let mut rng = fastrand::Rng::with_seed(seed);
            let (tx, rx) = channel::bounded::<u64>(rng.usize(0..4));
            // Consumers on any worker.
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    corio::spawn(move || rx.iter().count())
                })
                .collect();
            drop(rx);
            // Sends begun, and sends that returned: a sender cancelled after
            // a receiver took its message unwinds (its message is
            // delivered), so the count received lies between the two.
            let begun = Arc::new(AtomicUsize::new(0));
            let sent = Arc::new(AtomicUsize::new(0));
            let mut handles = Vec::new();
            for i in 0..600u64 {
                let (t, tx, sent, begun) = (t.clone(), tx.clone(), sent.clone(), begun.clone());
                let pause = rng.u64(0..3);
                let nested = rng.u8(0..4);
                let deadline = rng.u64(0..4);
                handles.push(corio::spawn(move || {
                    t.started.fetch_add(1, Ordering::SeqCst);
                    let _done = Finish(&t.finished);
                    let work = || {
                        for k in 0..nested {
                            let tx = tx.clone();
                            let (sent, begun) = (sent.clone(), begun.clone());
                            let local = corio::spawn_local(move || {
                                begun.fetch_add(1, Ordering::SeqCst);
                                tx.send(i * 10 + u64::from(k)).unwrap();
                                sent.fetch_add(1, Ordering::SeqCst);
                            });
                            // Detached or joined, at random.
                            if k % 2 == 0 {
                                let _ = local.join();
                            }
                        }
                        corio::sleep(Duration::from_micros(pause * 300));
                        begun.fetch_add(1, Ordering::SeqCst);
                        tx.send(i).unwrap();
                        sent.fetch_add(1, Ordering::SeqCst);
                    };
                    if deadline == 0 {
                        let _ = corio::timeout(Duration::from_micros(200), work);
                    } else {
                        work();
                    }
                }));
                if rng.u8(0..8) == 0 {
                    corio::yield_now();
                }
            }
            drop(tx);
            // Cancel some, at random moments.
            for h in &handles {
                if rng.u8(0..6) == 0 {
                    h.cancel();
                }
            }
            let mut completed = 0;
            for h in handles {
                let _ = h.join();
                completed += 1;
            }
            assert_eq!(completed, 600);
            let received: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
            (
                received,
                (sent.load(Ordering::SeqCst), begun.load(Ordering::SeqCst)),
            )
        });
    // Every started task finished exactly once.
    assert_eq!(
        tally.started.load(Ordering::SeqCst),
        tally.finished.load(Ordering::SeqCst),
        "seed {seed}"
    );
    // Every completed send arrived, and nothing arrived that was not sent.
    let (completed, begun) = sent;
    assert!(
        completed <= received && received <= begun,
        "seed {seed}: {completed} <= {received} <= {begun}"
    );
}

/// Counts a task's end, also when it unwinds.
struct Finish<'a>(&'a AtomicUsize);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn random_groups_cancels_and_timeouts_complete_exactly_once() {
    for seed in 0..8 {
        with_watchdog(Duration::from_secs(60), move || round(seed));
    }
}

#[test]
fn cross_worker_channel_traffic_loses_nothing() {
    with_watchdog(Duration::from_secs(60), || {
        for capacity in [0, 1, 16] {
            let total = corio::Runtime::builder()
                .workers(2)
                .build()
                .unwrap()
                .run(move || {
                    let (tx, rx) = channel::bounded::<u64>(capacity);
                    let producers: Vec<_> = (0..8u64)
                        .map(|p| {
                            let tx = tx.clone();
                            corio::spawn(move || {
                                for n in 0..2000u64 {
                                    tx.send(p * 1_000_000 + n).unwrap();
                                }
                            })
                        })
                        .collect();
                    drop(tx);
                    let consumers: Vec<_> = (0..4)
                        .map(|_| {
                            let rx = rx.clone();
                            corio::spawn(move || {
                                let mut got = Vec::new();
                                for v in rx.iter() {
                                    got.push(v);
                                }
                                got
                            })
                        })
                        .collect();
                    drop(rx);
                    for p in producers {
                        p.join().unwrap();
                    }
                    let mut all: Vec<u64> = consumers
                        .into_iter()
                        .flat_map(|c| c.join().unwrap())
                        .collect();
                    all.sort_unstable();
                    all
                });
            let expected: Vec<u64> = (0..8u64)
                .flat_map(|p| (0..2000u64).map(move |n| p * 1_000_000 + n))
                .collect();
            assert_eq!(total, expected, "capacity {capacity}");
        }
    });
}
