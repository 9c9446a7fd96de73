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
