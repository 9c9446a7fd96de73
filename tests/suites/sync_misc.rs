//! `Mutex`, `Semaphore`, `Event` and `WaitGroup`: exclusion, FIFO
//! fairness, hand-off to the next waiter when the chosen one is cancelled,
//! a cancelled holder releasing its lock, use across threads and runtimes,
//! and from plain threads.
//!
//! No assertion depends on timing: `settle` lets every other task run to
//! its park point.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corio::rt::{TaskStatus, WaitReason};
use corio::sync::{Event, Mutex, Semaphore, WaitGroup};

const MS: Duration = Duration::from_millis(1);

/// Lets the other tasks of this worker run until they park. Tests that
/// settle spawn with `spawn_local`, so that what they wait for is on this
/// worker's run queue also on a multi-worker runtime.
fn settle() {
    for _ in 0..20 {
        corio::yield_now();
    }
}

fn waiting_on(name: &str) -> Option<(TaskStatus, WaitReason)> {
    let dump = corio::rt::dump()?;
    let t = dump
        .tasks
        .iter()
        .find(|t| t.name.as_deref() == Some(name))?;
    Some((t.status, t.waiting_on))
}

// ---------------------------------------------------------------------------
// Mutex

#[test]
fn a_mutex_guards_its_data_and_try_lock_fails_while_held() {
    let mut m = Mutex::new(vec![1]);
    {
        let mut g = m.lock();
        g.push(2);
        assert!(m.is_locked());
        assert!(m.try_lock().is_none());
        assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
        assert_eq!(format!("{g:?}"), "[1, 2]");
    }
    assert!(!m.is_locked());
    m.get_mut().push(3);
    assert_eq!(*m.try_lock().unwrap(), [1, 2, 3]);
    assert_eq!(m.into_inner(), [1, 2, 3]);
    assert_eq!(*Mutex::<u8>::default().lock(), 0);
    assert_eq!(*Mutex::from("x").lock(), "x");
}

#[test]
fn a_mutex_serialises_read_modify_write_across_parks() {
    let n = super::run(|| {
        let m = Arc::new(Mutex::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let m = m.clone();
                corio::spawn(move || {
                    for _ in 0..5 {
                        let mut g = m.lock();
                        let seen = *g;
                        corio::yield_now();
                        *g = seen + 1;
                    }
                })
            })
            .collect();
        tasks.into_iter().for_each(|t| t.join().unwrap());
        let n = *m.lock();
        n
    });
    assert_eq!(n, 100);
}

#[test]
fn mutex_waiters_get_the_lock_in_fifo_order() {
    let order = super::run(|| {
        let m = Arc::new(Mutex::new(Vec::new()));
        let guard = m.lock();
        let waiters: Vec<_> = (0..5)
            .map(|i| {
                let m = m.clone();
                let w = corio::spawn_local(move || m.lock().push(i));
                settle();
                w
            })
            .collect();
        drop(guard);
        waiters.into_iter().for_each(|w| w.join().unwrap());
        let order = m.lock().clone();
        order
    });
    assert_eq!(order, [0, 1, 2, 3, 4]);
}

#[test]
fn try_lock_does_not_barge_past_a_waiter_the_lock_was_handed_to() {
    super::run(|| {
        let m = Arc::new(Mutex::new(()));
        let guard = m.lock();
        let waiter = {
            let m = m.clone();
            corio::spawn_local(move || drop(m.lock()))
        };
        settle();
        drop(guard); // handed to the waiter, which has not run yet
        assert!(m.is_locked());
        assert!(m.try_lock().is_none());
        waiter.join().unwrap();
        assert!(m.try_lock().is_some());
    });
}

#[test]
fn a_cancelled_task_holding_the_lock_releases_it() {
    super::run(|| {
        let m = Arc::new(Mutex::new(0));
        let holder = {
            let m = m.clone();
            corio::task::Builder::new()
                .name("holder")
                .spawn_local(move || {
                    let mut g = m.lock();
                    *g = 1; // half of an update...
                    corio::sleep(Duration::from_secs(3600));
                    *g = 2; // ...never finished
                })
                .unwrap()
        };
        settle();
        assert!(m.is_locked());
        let waiter = {
            let m = m.clone();
            corio::task::Builder::new()
                .name("waiter")
                .spawn_local(move || *m.lock())
                .unwrap()
        };
        settle();
        assert_eq!(
            waiting_on("waiter"),
            Some((TaskStatus::Parked, WaitReason::Lock))
        );
        holder.cancel();
        assert!(holder.join().unwrap_err().is_cancelled());
        // No poisoning: the next holder sees what the cancelled one left.
        assert_eq!(waiter.join().unwrap(), 1);
        assert!(!m.is_locked());
    });
}

// spawn_local: the test counts on the order of one worker's run queue.
#[test]
fn a_waiter_cancelled_after_the_lock_was_handed_to_it_passes_it_on() {
    super::run(|| {
        let m = Arc::new(Mutex::new(Vec::new()));
        let guard = m.lock();
        let spawn_waiter = |i: u32| {
            let m = m.clone();
            let w = corio::spawn_local(move || m.lock().push(i));
            settle();
            w
        };
        let first = spawn_waiter(1);
        let second = spawn_waiter(2);
        drop(guard); // handed to `first`...
        first.cancel(); // ...which is cancelled before it runs
        assert!(first.join().unwrap_err().is_cancelled());
        second.join().unwrap();
        assert_eq!(*m.lock(), [2]);
        assert!(!m.is_locked());
    });
}

#[test]
fn a_waiter_cancelled_before_the_hand_off_leaves_the_queue() {
    super::run(|| {
        let m = Arc::new(Mutex::new(0));
        let guard = m.lock();
        let first = {
            let m = m.clone();
            corio::spawn_local(move || *m.lock() += 1)
        };
        settle();
        first.cancel();
        assert!(first.join().unwrap_err().is_cancelled());
        drop(guard);
        // Nobody waits any more: the lock is simply free.
        assert!(!m.is_locked());
        assert_eq!(*m.try_lock().unwrap(), 0);
    });
}

#[test]
fn a_timed_out_lock_leaves_the_mutex_usable() {
    super::run(|| {
        let m = Mutex::new(5);
        let g = m.lock();
        assert!(corio::timeout(5 * MS, || drop(m.lock())).is_err());
        drop(g);
        assert_eq!(*m.lock(), 5);
    });
}

#[test]
fn a_mutex_is_shared_by_plain_threads_and_tasks_of_two_runtimes() {
    let m = Arc::new(Mutex::new(0u64));
    let runtimes: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                super::run(|| {
                    let tasks: Vec<_> = (0..5)
                        .map(|_| {
                            let m = m.clone();
                            corio::spawn(move || {
                                for _ in 0..100 {
                                    let mut g = m.lock();
                                    let seen = *g;
                                    corio::yield_now();
                                    *g = seen + 1;
                                }
                            })
                        })
                        .collect();
                    tasks.into_iter().for_each(|t| t.join().unwrap());
                })
            })
        })
        .collect();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    let mut g = m.lock();
                    let seen = *g;
                    std::thread::yield_now();
                    *g = seen + 1;
                }
            })
        })
        .collect();
    runtimes.into_iter().for_each(|r| r.join().unwrap());
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(*m.lock(), 2 * 5 * 100 + 2 * 500);
}

// ---------------------------------------------------------------------------
// Semaphore

#[test]
fn a_semaphore_admits_at_most_its_permits() {
    let most = super::run(|| {
        let sem = Arc::new(Semaphore::new(3));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
                corio::spawn_local(move || {
                    let _p = sem.acquire();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    settle();
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        tasks.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(sem.available_permits(), 3);
        most.load(Ordering::SeqCst)
    });
    assert_eq!(most, 3);
}

#[test]
fn semaphore_try_acquire_forget_and_add_permits() {
    let sem = Semaphore::new(2);
    let a = sem.try_acquire().unwrap();
    let b = sem.try_acquire().unwrap();
    assert!(sem.try_acquire().is_none());
    assert_eq!(sem.available_permits(), 0);
    drop(a);
    assert_eq!(sem.available_permits(), 1);
    b.forget();
    assert_eq!(sem.available_permits(), 1);
    sem.add_permits(4);
    assert_eq!(sem.available_permits(), 5);
    assert!(format!("{sem:?}").contains("available_permits: 5"));
}

#[test]
fn add_permits_wakes_as_many_waiters_as_permits_in_fifo_order() {
    super::run(|| {
        let sem = Arc::new(Semaphore::new(0));
        let log = Rc::new(RefCell::new(Vec::new()));
        let waiters: Vec<_> = (0..4)
            .map(|i| {
                let (sem, log) = (sem.clone(), log.clone());
                let w = corio::spawn_local(move || {
                    sem.acquire().forget();
                    log.borrow_mut().push(i);
                });
                settle();
                w
            })
            .collect();
        sem.add_permits(2);
        settle();
        assert_eq!(*log.borrow(), [0, 1]);
        sem.add_permits(3);
        settle();
        assert_eq!(*log.borrow(), [0, 1, 2, 3]);
        assert_eq!(sem.available_permits(), 1);
        waiters.into_iter().for_each(|w| w.join().unwrap());
    });
}

#[test]
fn a_cancelled_permit_holder_gives_its_permit_back() {
    super::run(|| {
        let sem = Arc::new(Semaphore::new(1));
        let holder = {
            let sem = sem.clone();
            corio::spawn_local(move || {
                let _p = sem.acquire();
                corio::sleep(Duration::from_secs(3600));
            })
        };
        settle();
        assert_eq!(sem.available_permits(), 0);
        holder.cancel();
        assert!(holder.join().unwrap_err().is_cancelled());
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn a_permit_handed_to_a_cancelled_waiter_goes_to_the_next() {
    super::run(|| {
        let sem = Arc::new(Semaphore::new(0));
        let spawn_waiter = || {
            let sem = sem.clone();
            let w = corio::spawn_local(move || sem.acquire().forget());
            settle();
            w
        };
        let first = spawn_waiter();
        let second = spawn_waiter();
        sem.add_permits(1); // handed to `first`...
        first.cancel(); // ...which is cancelled before it runs
        assert!(first.join().unwrap_err().is_cancelled());
        second.join().unwrap();
        assert_eq!(sem.available_permits(), 0, "exactly one permit was used");
        // With nobody left waiting, a handed-back permit is free again.
        let third = spawn_waiter();
        sem.add_permits(1);
        third.cancel();
        assert!(third.join().unwrap_err().is_cancelled());
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn a_plain_thread_adds_permits_for_a_parked_task() {
    super::run(|| {
        let sem = Arc::new(Semaphore::new(0));
        let thread = {
            let sem = sem.clone();
            std::thread::spawn(move || {
                std::thread::sleep(5 * MS);
                sem.add_permits(1);
            })
        };
        drop(sem.acquire());
        thread.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

// ---------------------------------------------------------------------------
// Event

#[test]
fn set_wakes_every_waiter_and_wait_on_a_set_event_returns_at_once() {
    super::run(|| {
        let ev = Arc::new(Event::new());
        assert!(!ev.is_set());
        let released = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let (ev, released) = (ev.clone(), released.clone());
                corio::spawn_local(move || {
                    ev.wait();
                    released.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        settle();
        assert_eq!(released.load(Ordering::SeqCst), 0);
        ev.set();
        ev.set(); // idempotent
        waiters.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!(released.load(Ordering::SeqCst), 5);
        assert!(ev.is_set());
        ev.wait(); // set: no waiting
    });
}

#[test]
fn clear_makes_wait_block_again() {
    super::run(|| {
        let ev = Arc::new(Event::new());
        ev.set();
        ev.clear();
        assert!(!ev.is_set());
        let waiter = {
            let ev = ev.clone();
            corio::spawn_local(move || ev.wait())
        };
        settle();
        assert!(!waiter.is_finished());
        ev.set();
        waiter.join().unwrap();
    });
}

#[test]
fn a_waiter_released_by_set_returns_even_if_cleared_before_it_runs() {
    super::run(|| {
        let ev = Arc::new(Event::new());
        let waiter = {
            let ev = ev.clone();
            corio::spawn_local(move || ev.wait())
        };
        settle();
        ev.set();
        ev.clear();
        waiter.join().unwrap();
        assert!(!ev.is_set());
    });
}

#[test]
fn a_cancelled_event_waiter_does_not_disturb_the_others() {
    super::run(|| {
        let ev = Arc::new(Event::default());
        let spawn_waiter = || {
            let ev = ev.clone();
            corio::spawn_local(move || ev.wait())
        };
        let (a, b) = (spawn_waiter(), spawn_waiter());
        settle();
        a.cancel();
        assert!(a.join().unwrap_err().is_cancelled());
        ev.set();
        b.join().unwrap();
        assert_eq!(format!("{ev:?}"), "Event { set: true }");
    });
}

#[test]
fn an_event_set_from_a_plain_thread_releases_tasks_and_threads() {
    let ev = Arc::new(Event::new());
    let thread_waiter = {
        let ev = ev.clone();
        std::thread::spawn(move || ev.wait())
    };
    let setter = {
        let ev = ev.clone();
        std::thread::spawn(move || {
            std::thread::sleep(5 * MS);
            ev.set();
        })
    };
    super::run(|| {
        let t = {
            let ev = ev.clone();
            corio::spawn(move || ev.wait())
        };
        t.join().unwrap();
    });
    setter.join().unwrap();
    thread_waiter.join().unwrap();
}

// ---------------------------------------------------------------------------
// WaitGroup

// spawn_local: the test counts on the order of one worker's run queue.
#[test]
fn a_wait_group_waits_for_every_done() {
    super::run(|| {
        let wg = WaitGroup::new();
        wg.wait(); // zero: at once
        let finished = Arc::new(AtomicUsize::new(0));
        for i in 0..5u32 {
            wg.add(1);
            let (wg, finished) = (wg.clone(), finished.clone());
            corio::spawn_local(move || {
                corio::sleep(i * MS);
                finished.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        assert_eq!(wg.count(), 5);
        wg.wait();
        assert_eq!(finished.load(Ordering::SeqCst), 5);
        assert_eq!(wg.count(), 0);
    });
}

#[test]
fn several_waiters_are_all_released_at_zero() {
    super::run(|| {
        let wg = WaitGroup::default();
        wg.add(2);
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let wg = wg.clone();
                corio::spawn_local(move || wg.wait())
            })
            .collect();
        settle();
        wg.done();
        settle();
        assert!(waiters.iter().all(|w| !w.is_finished()));
        wg.done();
        // Released at zero, even if the count rises before they run.
        wg.add(1);
        waiters.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!(format!("{wg:?}"), "WaitGroup { count: 1 }");
    });
}

#[test]
fn a_cancelled_wait_group_waiter_does_not_disturb_the_others() {
    super::run(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let spawn_waiter = || {
            let wg = wg.clone();
            corio::spawn_local(move || wg.wait())
        };
        let (a, b) = (spawn_waiter(), spawn_waiter());
        settle();
        a.cancel();
        assert!(a.join().unwrap_err().is_cancelled());
        wg.done();
        b.join().unwrap();
    });
}

#[test]
fn plain_threads_report_to_a_waiting_task() {
    super::run(|| {
        let wg = WaitGroup::new();
        let hits = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            wg.add(1);
            let (wg, hits) = (wg.clone(), hits.clone());
            std::thread::spawn(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(hits.load(Ordering::SeqCst), 4);
    });
}

#[test]
#[should_panic(expected = "more times than add")]
fn done_more_times_than_add_panics() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    wg.done();
}
