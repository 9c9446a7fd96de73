//! `Queue`: the semantics of Python's `asyncio.Queue`, with cases ported
//! from CPython's queue tests (in our own words): maxsize, order, blocking
//! get and put, nowait errors, cancelled getters and putters (including
//! the races where an item was already handed to a cancelled getter),
//! `task_done`/`join`.
//!
//! No assertion depends on timing: `settle` lets every other task run to
//! its park point.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use corio::sync::{Queue, QueueEmpty, QueueFull, TaskDoneError};

/// Lets the other tasks of this worker run until they park. Tests that
/// settle spawn with `spawn_local`, so that what they wait for is on this
/// worker's run queue also on a multi-worker runtime.
fn settle() {
    for _ in 0..20 {
        corio::yield_now();
    }
}

#[test]
fn maxsize_bounds_put_nowait_and_full() {
    let q = Queue::new(2);
    assert_eq!(q.maxsize(), 2);
    assert!(q.empty() && !q.full());
    q.put_nowait(1).unwrap();
    assert!(!q.full());
    q.put_nowait(2).unwrap();
    assert!(q.full());
    assert_eq!(q.put_nowait(3), Err(QueueFull(3)));
    assert_eq!(q.qsize(), 2);
}

#[test]
fn maxsize_zero_means_unbounded() {
    let q = Queue::new(0);
    for n in 0..1000 {
        q.put_nowait(n).unwrap();
    }
    assert!(!q.full());
    assert_eq!(q.qsize(), 1000);
}

#[test]
fn items_come_out_in_the_order_they_went_in() {
    let q = Queue::new(0);
    for n in [1, 3, 2] {
        q.put(n);
    }
    let got: Vec<_> = (0..3).map(|_| q.get()).collect();
    assert_eq!(got, [1, 3, 2]);
}

#[test]
fn get_nowait_on_an_empty_queue_fails() {
    let q = Queue::<u8>::new(0);
    assert_eq!(q.get_nowait(), Err(QueueEmpty));
    q.put(1);
    assert_eq!(q.get_nowait(), Ok(1));
    assert_eq!(q.get_nowait(), Err(QueueEmpty));
}

#[test]
fn get_waits_for_a_put() {
    super::run(|| {
        let q = Arc::new(Queue::new(0));
        let getter = {
            let q = q.clone();
            corio::spawn_local(move || q.get())
        };
        settle();
        assert!(!getter.is_finished());
        q.put("item");
        assert_eq!(getter.join().unwrap(), "item");
        assert!(q.empty());
    });
}

#[test]
fn put_waits_while_the_queue_is_full() {
    super::run(|| {
        let q = Arc::new(Queue::new(1));
        q.put(1);
        let putter = {
            let q = q.clone();
            corio::spawn_local(move || q.put(2))
        };
        settle();
        assert!(!putter.is_finished());
        assert_eq!(q.get(), 1);
        putter.join().unwrap();
        assert_eq!(q.get(), 2);
    });
}

#[test]
fn getters_are_served_in_the_order_they_waited() {
    let got = super::run(|| {
        let q = Arc::new(Queue::new(0));
        let getters: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                let g = corio::spawn_local(move || q.get());
                settle();
                g
            })
            .collect();
        for n in 0..4 {
            q.put(n);
        }
        getters
            .into_iter()
            .map(|g| g.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(got, [0, 1, 2, 3]);
}

#[test]
fn a_get_with_blocked_putters_lets_the_oldest_putter_in() {
    super::run(|| {
        let q = Arc::new(Queue::new(1));
        q.put(0);
        let putters: Vec<_> = (1..=3)
            .map(|n| {
                let q = q.clone();
                let p = corio::spawn_local(move || q.put(n));
                settle();
                p
            })
            .collect();
        assert_eq!(q.qsize(), 1);
        let got: Vec<_> = (0..4).map(|_| q.get()).collect();
        assert_eq!(got, [0, 1, 2, 3]);
        putters.into_iter().for_each(|p| p.join().unwrap());
    });
}

#[test]
fn every_waiting_getter_gets_an_item() {
    // Why are getters waiting? N getters, N items: none may be left behind.
    let mut got = super::run(|| {
        let q = Arc::new(Queue::new(0));
        let getters: Vec<_> = (0..10)
            .map(|_| {
                let q = q.clone();
                corio::spawn_local(move || q.get())
            })
            .collect();
        settle();
        for n in 0..10 {
            q.put_nowait(n).unwrap();
        }
        getters
            .into_iter()
            .map(|g| g.join().unwrap())
            .collect::<Vec<_>>()
    });
    got.sort_unstable();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn every_waiting_putter_gets_its_item_in() {
    // Why are putters waiting? maxsize 1, many putters: all items arrive.
    let mut got = super::run(|| {
        let q = Arc::new(Queue::new(1));
        let putters: Vec<_> = (0..10)
            .map(|n| {
                let q = q.clone();
                corio::spawn_local(move || q.put(n))
            })
            .collect();
        settle();
        let got: Vec<_> = (0..10).map(|_| q.get()).collect();
        putters.into_iter().for_each(|p| p.join().unwrap());
        assert!(q.empty());
        got
    });
    got.sort_unstable();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_cancelled_getter_leaves_the_item_for_the_queue() {
    super::run(|| {
        let q = Arc::new(Queue::new(0));
        let getter = {
            let q = q.clone();
            corio::spawn_local(move || q.get())
        };
        settle();
        getter.cancel();
        assert!(getter.join().unwrap_err().is_cancelled());
        q.put_nowait(1).unwrap();
        // Not handed to the cancelled getter: it is in the queue.
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get_nowait(), Ok(1));
    });
}

#[test]
fn an_item_handed_to_a_getter_cancelled_before_it_ran_goes_to_the_next_getter() {
    // CPython's test_get_cancelled_race.
    super::run(|| {
        let q = Arc::new(Queue::new(0));
        let g1 = {
            let q = q.clone();
            corio::spawn_local(move || q.get())
        };
        settle();
        let g2 = {
            let q = q.clone();
            corio::spawn_local(move || q.get())
        };
        settle();
        q.put_nowait('a').unwrap(); // handed to g1, which has not run yet
        g1.cancel();
        assert!(g1.join().unwrap_err().is_cancelled());
        assert_eq!(g2.join().unwrap(), 'a');
        assert!(q.empty());
    });
}

#[test]
fn an_item_handed_to_the_only_getter_stays_at_the_front_when_it_is_cancelled() {
    super::run(|| {
        let q = Arc::new(Queue::new(0));
        let getter = {
            let q = q.clone();
            corio::spawn_local(move || q.get())
        };
        settle();
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        getter.cancel();
        assert!(getter.join().unwrap_err().is_cancelled());
        assert_eq!(q.get_nowait(), Ok(1));
        assert_eq!(q.get_nowait(), Ok(2));
    });
}

#[test]
fn a_cancelled_put_does_not_put() {
    super::run(|| {
        let q = Arc::new(Queue::new(1));
        q.put(1);
        let putter = {
            let q = q.clone();
            corio::spawn_local(move || q.put(2))
        };
        settle();
        putter.cancel();
        assert!(putter.join().unwrap_err().is_cancelled());
        assert_eq!(q.get(), 1);
        assert!(q.empty());
        assert_eq!(q.unfinished_tasks(), 1, "only the item that went in counts");
    });
}

#[test]
fn cancelling_one_of_several_blocked_putters_keeps_the_others_in_order() {
    // CPython's test_put_cancelled_race.
    super::run(|| {
        let q = Arc::new(Queue::new(1));
        q.put('x');
        let putters: Vec<_> = ['a', 'b', 'c']
            .into_iter()
            .map(|c| {
                let q = q.clone();
                let p = corio::spawn_local(move || q.put(c));
                settle();
                p
            })
            .collect();
        putters[1].cancel();
        settle();
        let got: String = (0..3).map(|_| q.get()).collect();
        assert_eq!(got, "xac");
        assert!(q.empty());
        for (i, p) in putters.into_iter().enumerate() {
            assert_eq!(p.join().is_err(), i == 1);
        }
    });
}

#[test]
fn cancelled_getters_do_not_linger() {
    super::run(|| {
        let q = Arc::new(Queue::new(0));
        let getters: Vec<_> = (0..5)
            .map(|_| {
                let q = q.clone();
                corio::spawn_local(move || q.get())
            })
            .collect();
        settle();
        for g in &getters {
            g.cancel();
        }
        for g in getters {
            assert!(g.join().unwrap_err().is_cancelled());
        }
        // Had a cancelled getter stayed registered, the item would vanish
        // into it.
        for n in 0..5 {
            q.put_nowait(n).unwrap();
        }
        assert_eq!(q.qsize(), 5);
    });
}

#[test]
fn a_timed_out_get_can_be_retried() {
    super::run(|| {
        let q = Queue::<u8>::new(0);
        assert!(corio::timeout(std::time::Duration::from_millis(5), || q.get()).is_err());
        q.put(3);
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get(), 3);
    });
}

#[test]
fn task_done_more_times_than_items_is_an_error() {
    let q = Queue::new(0);
    assert_eq!(q.task_done(), Err(TaskDoneError));
    q.put(1);
    q.put(2);
    assert_eq!(q.unfinished_tasks(), 2);
    q.get();
    q.task_done().unwrap();
    q.get();
    q.task_done().unwrap();
    assert_eq!(q.unfinished_tasks(), 0);
    let e = q.task_done().unwrap_err();
    assert_eq!(e.to_string(), "task_done() called too many times");
}

#[test]
fn join_on_a_queue_with_nothing_pending_returns_at_once() {
    let q = Queue::<u8>::new(0);
    q.join(); // a plain thread: would block forever if it waited
    q.put(1);
    q.get();
    q.task_done().unwrap();
    q.join();
}

#[test]
fn join_waits_until_every_item_is_marked_done() {
    let total = super::run(|| {
        let q = Arc::new(Queue::new(0));
        let sum = Arc::new(std::sync::atomic::AtomicU64::new(0));
        for n in 0..100u64 {
            q.put(n);
        }
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (q, sum) = (q.clone(), sum.clone());
                corio::spawn(move || loop {
                    let n = q.get();
                    corio::yield_now();
                    sum.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                    q.task_done().unwrap();
                })
            })
            .collect();
        q.join();
        let total = sum.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(q.unfinished_tasks(), 0);
        for w in workers {
            w.cancel();
            assert!(w.join().unwrap_err().is_cancelled());
        }
        total
    });
    assert_eq!(total, 4950);
}

#[test]
fn join_is_not_released_by_get_alone() {
    super::run(|| {
        let q = Arc::new(Queue::new(0));
        q.put(1);
        let log = Rc::new(RefCell::new(Vec::new()));
        let joiner = {
            let (q, log) = (q.clone(), log.clone());
            corio::spawn_local(move || {
                q.join();
                log.borrow_mut().push("joined");
            })
        };
        settle();
        q.get();
        settle();
        assert!(log.borrow().is_empty(), "the item is taken but not done");
        q.task_done().unwrap();
        joiner.join().unwrap();
        assert_eq!(*log.borrow(), ["joined"]);
    });
}

#[test]
fn a_join_released_at_zero_returns_even_if_new_work_arrives_first() {
    super::run(|| {
        let q = Arc::new(Queue::new(0));
        q.put(1);
        let joiners: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                corio::spawn_local(move || q.join())
            })
            .collect();
        settle();
        q.get();
        q.task_done().unwrap(); // releases the joiners...
        q.put(2); // ...even though the count rises before they run
        for j in joiners {
            j.join().unwrap();
        }
        assert_eq!(q.unfinished_tasks(), 1);
    });
}

#[test]
fn a_cancelled_joiner_does_not_disturb_the_others() {
    super::run(|| {
        let q = Arc::new(Queue::new(0));
        q.put(1);
        let j1 = {
            let q = q.clone();
            corio::spawn_local(move || q.join())
        };
        let j2 = {
            let q = q.clone();
            corio::spawn_local(move || q.join())
        };
        settle();
        j1.cancel();
        assert!(j1.join().unwrap_err().is_cancelled());
        q.get();
        q.task_done().unwrap();
        j2.join().unwrap();
    });
}

#[test]
fn plain_threads_produce_for_consumer_tasks() {
    let q = Arc::new(Queue::new(3));
    let producers: Vec<_> = (0..2u64)
        .map(|t| {
            let q = q.clone();
            std::thread::spawn(move || {
                for n in 0..200 {
                    q.put(t * 1000 + n);
                }
            })
        })
        .collect();
    let sum = {
        let q = q.clone();
        super::run(move || {
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let q = q.clone();
                    corio::spawn(move || {
                        let mut sum = 0;
                        loop {
                            // Stop at the sentinel (one per consumer).
                            let n = q.get();
                            q.task_done().unwrap();
                            if n == u64::MAX {
                                break sum;
                            }
                            sum += n;
                        }
                    })
                })
                .collect();
            for p in producers {
                // Joining a thread would block the runtime; poll instead.
                while !p.is_finished() {
                    corio::sleep(std::time::Duration::from_millis(1));
                }
                p.join().unwrap();
            }
            for _ in 0..3 {
                q.put(u64::MAX);
            }
            q.join();
            consumers
                .into_iter()
                .map(|c| c.join().unwrap())
                .sum::<u64>()
        })
    };
    let want: u64 = (0..200).sum::<u64>() * 2 + 1000 * 200;
    assert_eq!(sum, want);
}

#[test]
fn debug_shows_the_sizes() {
    let q = Queue::new(4);
    q.put(1);
    let text = format!("{q:?}");
    assert!(
        text.contains("maxsize: 4") && text.contains("qsize: 1"),
        "{text}"
    );
    assert!(text.contains("unfinished_tasks: 1"), "{text}");
}
