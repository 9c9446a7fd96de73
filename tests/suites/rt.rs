//! The scheduler: spawn, join, sleep, yield, panics, cancellation,
//! timeouts, shutdown, futures, generators parking inside tasks, the dump.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use corio::generator::Generator;
use corio::rt::{JoinError, TaskStatus, WaitReason};
use corio::task::Builder as TaskBuilder;

const MS: Duration = Duration::from_millis(1);

/// Counts drops, to prove a task's stack was unwound.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn run_returns_the_main_value_and_borrows_from_the_caller() {
    let words = ["a", "b"].map(String::from);
    let n = super::run(|| words.len() * 10);
    assert_eq!(n, 20);
}

#[test]
fn spawned_tasks_run_and_join_in_fifo_order() {
    let log = super::run(|| {
        let log = Rc::new(RefCell::new(Vec::new()));
        let handles: Vec<_> = (0..5)
            .map(|i| {
                let log = log.clone();
                corio::spawn_local(move || {
                    log.borrow_mut().push(i);
                    i * i
                })
            })
            .collect();
        let squares: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(squares, [0, 1, 4, 9, 16]);
        let log = log.borrow().clone();
        log
    });
    assert_eq!(log, [0, 1, 2, 3, 4]);
}

#[test]
fn yield_now_interleaves_tasks() {
    let log = super::run(|| {
        let log = Rc::new(RefCell::new(String::new()));
        let a = {
            let log = log.clone();
            corio::spawn_local(move || {
                for _ in 0..3 {
                    log.borrow_mut().push('a');
                    corio::yield_now();
                }
            })
        };
        let b = {
            let log = log.clone();
            corio::spawn_local(move || {
                for _ in 0..3 {
                    log.borrow_mut().push('b');
                    corio::yield_now();
                }
            })
        };
        a.join().unwrap();
        b.join().unwrap();
        let s = log.borrow().clone();
        s
    });
    assert_eq!(log, "ababab");
}

#[test]
fn sleepers_wake_in_deadline_order() {
    let order = super::run(|| {
        let order = Rc::new(RefCell::new(Vec::new()));
        // Wide gaps, so that the order holds even if the machine stalls
        // the scheduler between the three tasks' first runs.
        let handles: Vec<_> = [300u64, 100, 200]
            .into_iter()
            .map(|ms| {
                let order = order.clone();
                corio::spawn_local(move || {
                    corio::sleep(MS * ms as u32);
                    order.borrow_mut().push(ms);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let o = order.borrow().clone();
        o
    });
    assert_eq!(order, [100, 200, 300]);
}

#[test]
fn a_panicking_task_yields_a_join_error_and_others_go_on() {
    super::run(|| {
        let bad = corio::spawn(|| -> u32 { panic!("task failed: {}", 7) });
        let good = corio::spawn(|| {
            corio::sleep(MS);
            5
        });
        let err = bad.join().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.to_string(), "task panicked: task failed: 7");
        assert_eq!(good.join().unwrap(), 5);
    });
}

#[test]
fn a_panic_in_the_main_task_leaves_run_after_shutting_down_the_rest() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let result = catch_unwind(AssertUnwindSafe(|| {
        super::run(move || {
            let d = d.clone();
            corio::spawn(move || {
                let _c = Counted(d);
                corio::sleep(Duration::from_secs(3600));
            });
            corio::yield_now();
            panic!("main failed");
        })
    }));
    let payload = result.unwrap_err();
    assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "main failed");
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the sleeper was unwound");
}

#[test]
fn cancel_unwinds_a_parked_task_and_runs_its_destructors() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    super::run(move || {
        // spawn_local: parked after one yield, so on this worker.
        let sleeper = corio::spawn_local(move || {
            let _c = Counted(d);
            corio::sleep(Duration::from_secs(3600));
            "woke"
        });
        corio::yield_now();
        sleeper.cancel();
        sleeper.cancel(); // idempotent
        assert!(sleeper.join().unwrap_err().is_cancelled());
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn a_task_cancelled_before_it_starts_never_runs() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    super::run(move || {
        let t = corio::spawn(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        t.cancel();
        assert!(matches!(t.join(), Err(JoinError::Cancelled)));
    });
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn cancelling_a_finished_task_keeps_its_result() {
    super::run(|| {
        let t = corio::spawn_local(|| 3); // finished after one yield: this worker
        corio::yield_now();
        assert!(t.is_finished());
        t.cancel();
        assert_eq!(t.join().unwrap(), 3);
    });
}

#[test]
fn a_task_that_swallows_cancellation_is_cancelled_again_at_its_next_park() {
    let parks = Arc::new(AtomicUsize::new(0));
    let p = parks.clone();
    super::run(move || {
        let stubborn = corio::spawn(move || loop {
            let r = catch_unwind(|| corio::sleep(Duration::from_secs(3600)));
            p.fetch_add(1, Ordering::SeqCst);
            if let Err(payload) = r {
                if p.load(Ordering::SeqCst) > 1 {
                    // Second cancellation: let it through.
                    std::panic::resume_unwind(payload);
                }
            }
        });
        corio::yield_now();
        stubborn.cancel();
        assert!(stubborn.join().unwrap_err().is_cancelled());
    });
    assert_eq!(parks.load(Ordering::SeqCst), 2);
}

#[test]
fn run_cancels_tasks_still_alive_when_main_returns() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let value = super::run(move || {
        for _ in 0..100 {
            // Made outside, so that it drops whether the task started and
            // was unwound or (on several workers) was given up unstarted.
            let c = Counted(d.clone());
            corio::spawn(move || {
                let _c = c;
                corio::sleep(Duration::from_secs(3600));
            });
        }
        corio::yield_now();
        "main done"
    });
    assert_eq!(value, "main done");
    assert_eq!(dropped.load(Ordering::SeqCst), 100);
}

#[test]
fn timeout_interrupts_slow_work_and_keeps_fast_work() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    super::run(move || {
        let slow = corio::timeout(5 * MS, || {
            let _c = Counted(d.clone());
            corio::sleep(Duration::from_secs(3600));
            "slow"
        });
        assert_eq!(slow.unwrap_err().duration(), 5 * MS);
        assert_eq!(
            d.load(Ordering::SeqCst),
            1,
            "the interrupted work was unwound"
        );
        let fast = corio::timeout(Duration::from_secs(3600), || {
            corio::sleep(MS);
            "fast"
        });
        assert_eq!(fast.unwrap(), "fast");
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

fn pending_timers() -> usize {
    corio::rt::dump().expect("inside a runtime").pending_timers
}

#[test]
fn a_timeout_that_ends_early_withdraws_its_timer() {
    super::run(|| {
        assert_eq!(pending_timers(), 0);
        // Many short works under long deadlines: without withdrawal, each
        // would leave a timer in the runtime for an hour.
        for n in 0..10_000u32 {
            let r = corio::timeout(Duration::from_secs(3600), || {
                if n % 100 == 0 {
                    corio::yield_now();
                }
                n
            });
            assert_eq!(r.unwrap(), n);
            assert_eq!(pending_timers(), 0);
        }
        let inside = corio::timeout(Duration::from_secs(3600), pending_timers);
        assert_eq!(inside.unwrap(), 1, "the timeout's own timer");
        assert_eq!(pending_timers(), 0);
    });
}

#[test]
fn a_cancelled_sleep_withdraws_its_timer() {
    // Counts on every sleeper having started after one yield: one worker.
    corio::run(|| {
        let sleepers: Vec<_> = (0..200)
            .map(|_| corio::spawn(|| corio::sleep(Duration::from_secs(3600))))
            .collect();
        corio::yield_now();
        assert_eq!(pending_timers(), 200);
        for s in &sleepers {
            s.cancel();
        }
        for s in sleepers {
            assert!(s.join().unwrap_err().is_cancelled());
        }
        assert_eq!(pending_timers(), 0);
        // A sleep that ran its course leaves nothing either.
        corio::sleep(MS);
        assert_eq!(pending_timers(), 0);
    });
}

#[test]
fn sleep_until_a_past_instant_returns_at_once() {
    super::run(|| {
        let other_ran = Rc::new(Cell::new(false));
        let flag = other_ran.clone();
        let other = corio::spawn_local(move || flag.set(true));
        // Neither parks: the other task, runnable all along, does not run.
        corio::sleep_until(std::time::Instant::now() - MS);
        corio::sleep(Duration::ZERO);
        assert!(!other_ran.get());
        assert_eq!(pending_timers(), 0);
        other.join().unwrap();
        assert!(other_ran.get());
    });
}

/// Drives `gen` once and returns the panic message it raised.
fn panic_of(gen: &mut Generator<'_, (), i32, ()>) -> String {
    let payload = catch_unwind(AssertUnwindSafe(|| gen.send(()))).unwrap_err();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn a_generator_cannot_yield_inside_a_timeout_block_on_or_io_closure_of_its_body() {
    super::run(|| {
        let mut in_timeout = Generator::<(), i32, ()>::new(|co, ()| {
            let _ = corio::timeout(Duration::from_secs(10), || co.yield_(1));
            Ok(())
        });
        assert!(panic_of(&mut in_timeout).contains("yielded inside a `timeout`"));
        assert!(in_timeout.is_finished());
        assert_eq!(pending_timers(), 0, "the timeout's timer was withdrawn");
        let mut in_future = Generator::<(), i32, ()>::new(|co, ()| {
            corio::block_on(std::future::poll_fn(|_| {
                let _ = co.yield_(2);
                Poll::Ready(())
            }));
            Ok(())
        });
        assert!(panic_of(&mut in_future).contains("`block_on`"));
        let (_peer, socket) = std::os::unix::net::UnixStream::pair().unwrap();
        let socket = corio::io::Fd::new(socket).unwrap();
        let mut in_io = Generator::<(), i32, ()>::new(|co, ()| {
            let _ = socket.read_with(|mut s| {
                let _ = co.yield_(3);
                std::io::Read::read(&mut s, &mut [0u8; 1])
            });
            Ok(())
        });
        assert!(panic_of(&mut in_io).contains("I/O closure"));
        // A timeout or block_on around the generator, or ended before the
        // yield, is fine.
        let mut fine = Generator::<(), i32, ()>::new(|co, ()| {
            corio::timeout(Duration::from_secs(10), || corio::sleep(MS)).unwrap();
            co.yield_(3)?;
            Ok(())
        });
        let r = corio::timeout(Duration::from_secs(10), || fine.send(()).unwrap());
        assert!(matches!(r, Ok(corio::GeneratorState::Yielded(3))));
    });
}

#[test]
fn the_outer_timeout_fires_through_an_inner_one() {
    super::run(|| {
        let outer = corio::timeout(5 * MS, || {
            let inner = corio::timeout(Duration::from_secs(3600), || {
                corio::sleep(Duration::from_secs(3600));
            });
            unreachable!("the outer deadline unwinds past the inner scope: {inner:?}");
        });
        assert!(outer.is_err());
    });
}

#[test]
#[should_panic(expected = "needs a running corio task")]
fn timeout_outside_a_runtime_panics_clearly() {
    let _ = corio::timeout(MS, || ());
}

#[test]
#[should_panic(expected = "spawn needs a running runtime")]
fn spawn_outside_a_runtime_panics_clearly() {
    corio::spawn(|| ());
}

#[test]
#[should_panic(expected = "cannot nest")]
fn run_inside_run_panics_clearly() {
    super::run(|| super::run(|| ()));
}

#[test]
fn blocking_style_calls_work_outside_a_runtime() {
    corio::sleep(MS);
    corio::yield_now();
    assert_eq!(corio::block_on(async { 4 }), 4);
    assert_eq!(corio::task::spawn_blocking(|| 9).join().unwrap(), 9);
}

/// A one-shot value set from another thread, as a `Future`.
#[derive(Default)]
struct Slot {
    value: Mutex<(Option<u32>, Option<Waker>)>,
}

struct SlotFuture(Arc<Slot>);

impl Future for SlotFuture {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut guard = self.0.value.lock().unwrap();
        match guard.0 {
            Some(v) => Poll::Ready(v),
            None => {
                guard.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[test]
fn a_task_waits_on_a_future_woken_from_another_thread() {
    super::run(|| {
        let slot = Arc::new(Slot::default());
        let setter = slot.clone();
        let other_task_ran = Rc::new(Cell::new(false));
        let flag = other_task_ran.clone();
        let (ran_tx, ran_rx) = std::sync::mpsc::channel();
        corio::spawn_local(move || {
            flag.set(true);
            ran_tx.send(()).unwrap();
        });
        std::thread::spawn(move || {
            // The value comes only once the other task has run, which it
            // can only do while the main task waits. If the wait blocked
            // the thread instead, the give-up below ends the test with the
            // assertion failing, not with a hang.
            let _ = ran_rx.recv_timeout(Duration::from_secs(60));
            let mut guard = setter.value.lock().unwrap();
            guard.0 = Some(77);
            if let Some(w) = guard.1.take() {
                w.wake();
            }
        });
        assert_eq!(corio::block_on(SlotFuture(slot)), 77);
        assert!(
            other_task_ran.get(),
            "the runtime ran other tasks meanwhile"
        );
    });
}

#[test]
fn a_join_handle_is_a_future_and_can_be_joined_from_another_thread() {
    let (tx, rx) = std::sync::mpsc::channel();
    let joined = Arc::new(corio::sync::Event::new());
    let joiner_done = joined.clone();
    let joiner = std::thread::spawn(move || {
        let handle: corio::JoinHandle<u32> = rx.recv().unwrap();
        let value = handle.join().unwrap();
        joiner_done.set();
        value
    });
    super::run(move || {
        let t = corio::spawn(|| {
            corio::sleep(5 * MS);
            11
        });
        tx.send(t).unwrap();
        // The runtime stays up until the other thread has its result
        // (when `run` ends, pending tasks are cancelled).
        joined.wait();
    });
    assert_eq!(joiner.join().unwrap(), 11);
}

#[test]
fn a_burst_of_blocking_jobs_runs_at_once() {
    // Leave an idle pool thread behind, then submit jobs that can only
    // finish together: each waits until all of them have started.
    corio::task::spawn_blocking(|| ()).join().unwrap();
    const JOBS: usize = 4;
    let started = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..JOBS)
        .map(|_| {
            let started = started.clone();
            corio::task::spawn_blocking(move || {
                started.fetch_add(1, Ordering::SeqCst);
                // A guard against hanging, not a timing assertion.
                let give_up = std::time::Instant::now() + Duration::from_secs(30);
                while started.load(Ordering::SeqCst) < JOBS && std::time::Instant::now() < give_up {
                    std::thread::sleep(Duration::from_millis(1));
                }
                started.load(Ordering::SeqCst)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), JOBS, "the jobs did not all run at once");
    }
}

#[test]
fn spawn_blocking_runs_off_the_runtime_and_reports_panics() {
    super::run(|| {
        let ticks = Rc::new(Cell::new(0));
        let t = ticks.clone();
        let ticker = corio::spawn_local(move || {
            for _ in 0..3 {
                t.set(t.get() + 1);
                corio::sleep(MS);
            }
        });
        let slow = corio::task::spawn_blocking(|| {
            std::thread::sleep(20 * MS);
            "done"
        });
        let bad = corio::task::spawn_blocking(|| -> u8 { panic!("blocking failed") });
        assert_eq!(slow.join().unwrap(), "done");
        assert!(bad.join().unwrap_err().is_panic());
        ticker.join().unwrap();
        assert_eq!(ticks.get(), 3);
    });
}

#[test]
fn a_generator_three_levels_deep_parks_its_task_and_resumes_in_place() {
    // Each level delegates to the next; the innermost sleeps between items.
    fn level(depth: u32, tag: char, log: Rc<RefCell<String>>) -> Generator<'static, (), char> {
        Generator::new(move |co, ()| {
            if depth == 0 {
                for _ in 0..2 {
                    corio::sleep(2 * MS); // parks the whole task
                    log.borrow_mut().push(tag);
                    co.yield_(tag)?;
                }
                return Ok(());
            }
            co.yield_from(level(depth - 1, tag, log.clone()), ())
        })
    }
    let log = super::run(|| {
        let log = Rc::new(RefCell::new(String::new()));
        let tasks: Vec<_> = ['x', 'y']
            .into_iter()
            .map(|tag| {
                let log = log.clone();
                corio::spawn_local(move || level(2, tag, log).collect::<String>())
            })
            .collect();
        let results: Vec<String> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results, ["xx", "yy"]);
        let s = log.borrow().clone();
        s
    });
    // Both tasks progressed while the other was parked inside its
    // generators.
    assert_eq!(log, "xyxy");
}

#[test]
fn cancelling_a_task_parked_inside_a_generator_unwinds_both_stacks() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    super::run(move || {
        let t = corio::spawn_local(move || {
            let _task_local = Counted(d.clone());
            let d = d.clone();
            let gen = Generator::<(), u32>::new(move |co, ()| {
                let _gen_local = Counted(d);
                corio::sleep(Duration::from_secs(3600));
                co.yield_(1)?;
                Ok(())
            });
            gen.count()
        });
        corio::yield_now();
        t.cancel();
        assert!(t.join().unwrap_err().is_cancelled());
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
}

#[test]
fn the_dump_lists_tasks_with_name_state_wait_and_origin() {
    super::run(|| {
        let sleeper = TaskBuilder::new()
            .name("sleeper")
            .spawn_local(|| corio::sleep(Duration::from_secs(3600)))
            .unwrap();
        let line = line!() - 2;
        let joiner = TaskBuilder::new()
            .name("joiner")
            .spawn_local(move || sleeper.join())
            .unwrap();
        corio::yield_now();
        corio::yield_now();
        let dump = corio::rt::dump().unwrap();
        let text = dump.to_string();
        let find = |name: &str| {
            dump.tasks
                .iter()
                .find(|t| t.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
                .clone()
        };
        let s = find("sleeper");
        assert_eq!(s.status, TaskStatus::Parked);
        assert!(matches!(s.waiting_on, WaitReason::Sleep(_)), "{text}");
        assert_eq!(s.spawned_at.file(), file!());
        assert_eq!(s.spawned_at.line(), line);
        let j = find("joiner");
        assert_eq!(j.waiting_on, WaitReason::Join(s.id), "{text}");
        let main = find("main");
        assert_eq!(main.status, TaskStatus::Running);
        // The main task was spawned by `corio::run` in this test.
        assert_eq!(main.spawned_at.file(), file!());
        assert!(
            text.contains("sleeper") && text.contains("waiting on join task"),
            "{text}"
        );
        joiner.cancel();
    });
    assert!(corio::rt::dump().is_none());
}

#[test]
fn ten_thousand_tasks_come_and_go_without_leaking_stacks() {
    let before = corio::stack::pool_stats().live;
    let sum = super::run(|| {
        let handles: Vec<_> = (0..10_000u64)
            .map(|i| {
                corio::spawn(move || {
                    corio::yield_now();
                    i
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    });
    assert_eq!(sum, 49_995_000);
    assert_eq!(corio::stack::pool_stats().live, before);
}

#[test]
fn task_builder_sets_stack_size() {
    super::run(|| {
        let t = TaskBuilder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                // Deep enough to overflow the default 256 KiB stack.
                fn deep(n: u32) -> u32 {
                    let buf = std::hint::black_box([n as u8; 1024]);
                    if n == 0 {
                        0
                    } else {
                        deep(n - 1) + u32::from(buf[1])
                    }
                }
                deep(1000)
            })
            .unwrap();
        assert!(t.join().is_ok());
    });
}

#[test]
fn dump_signal_child() {
    if std::env::var_os("CORIO_TEST_CHILD").is_none() {
        return;
    }
    corio::rt::dump_on_signal(libc::SIGUSR1).unwrap();
    super::run(|| {
        let _sleeper = TaskBuilder::new()
            .name("signal-sleeper")
            .spawn_local(|| corio::sleep(Duration::from_secs(3600)))
            .unwrap();
        corio::yield_now();
        // SAFETY: raise(3) has no preconditions; it delivers the signal to
        // this thread before it returns.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        // The scheduler prints the dump at its next pass.
        corio::yield_now();
    });
}

#[test]
fn a_signal_prints_the_runtime_dump_to_stderr() {
    if std::env::var_os("CORIO_TEST_CHILD").is_some() {
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "suite::dump_signal_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CORIO_TEST_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("corio runtime: 2 live task(s), 1 pending timer(s)"),
        "{stderr}"
    );
    assert!(stderr.contains("signal-sleeper"), "{stderr}");
    assert!(stderr.contains("sleep ("), "{stderr}");
}

/// Panics when dropped.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("Bomb dropped");
        }
    }
}

#[test]
fn a_result_whose_drop_panics_does_not_take_the_runtime_down() {
    let value = super::run(|| {
        drop(corio::spawn(|| Bomb)); // nobody will take the result
        let other = corio::spawn(|| {
            corio::sleep(MS);
            5
        });
        corio::sleep(2 * MS);
        other.join().unwrap()
    });
    assert_eq!(value, 5);
    // The thread's task pointer was restored: waiting works afterwards.
    assert_eq!(corio::block_on(std::future::ready(7)), 7);
}

#[test]
fn dropping_the_handle_of_a_finished_task_whose_result_panics_on_drop_is_harmless() {
    let value = super::run(|| {
        let bomb = corio::spawn(|| Bomb);
        while !bomb.is_finished() {
            corio::yield_now();
        }
        drop(bomb); // the result is dropped here, and its panic caught
        3
    });
    assert_eq!(value, 3);
}

#[test]
fn tasks_spawned_during_shutdown_are_cancelled_too() {
    // The late task holds this guard; its drop shows it was unwound.
    struct CountDrop(Arc<AtomicUsize>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    struct SpawnOnDrop(Arc<AtomicUsize>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let guard = CountDrop(self.0.clone());
            corio::spawn(move || {
                let _guard = guard;
                loop {
                    corio::sleep(MS);
                }
            });
        }
    }
    let unwound = Arc::new(AtomicUsize::new(0));
    let spawner = SpawnOnDrop(unwound.clone());
    super::run(move || {
        corio::spawn(move || {
            let _spawner = spawner;
            corio::sleep(Duration::from_secs(3600));
        });
        corio::yield_now();
    });
    // `run` returned (no hang), and the task born during shutdown was
    // cancelled and unwound.
    assert_eq!(unwound.load(Ordering::SeqCst), 1);
}

#[test]
fn one_runtime_run_on_two_threads_at_once_does_not_share_its_poller() {
    let rt = Arc::new(corio::Runtime::builder().build().unwrap());
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let a = {
        let rt = rt.clone();
        std::thread::spawn(move || {
            // Waits with no timer: its scheduler sleeps in the poller.
            rt.run(|| corio::task::spawn_blocking(move || rx.recv()).join())
        })
    };
    std::thread::sleep(10 * MS);
    rt.run(|| {
        corio::sleep(MS);
        tx.send(()).unwrap();
    });
    assert!(a.join().unwrap().unwrap().is_ok());
}

#[test]
fn the_blocking_pool_survives_results_whose_drop_panics() {
    for _ in 0..(corio::task::MAX_BLOCKING_THREADS + 6) {
        // The job finishes only after its handle is gone, so the pool
        // thread drops the result (and its panic happens there).
        let (handle_gone, wait_for_it) = std::sync::mpsc::channel::<()>();
        drop(corio::task::spawn_blocking(move || {
            let _ = wait_for_it.recv();
            Bomb
        }));
        drop(handle_gone);
    }
    assert_eq!(corio::task::spawn_blocking(|| 42).join().unwrap(), 42);
}

#[test]
fn dump_on_signal_refuses_the_overflow_signals() {
    assert!(corio::rt::dump_on_signal(libc::SIGSEGV).is_err());
    assert!(corio::rt::dump_on_signal(libc::SIGBUS).is_err());
}

#[test]
fn a_generator_three_levels_deep_does_io_while_other_tasks_run() {
    use std::io::{BufRead, BufReader, Write};

    // The innermost level reads lines from a pipe: each read parks the
    // task through all three generators until the writer task sends more.
    fn level(
        depth: u32,
        input: Rc<RefCell<BufReader<corio::io::PipeReader>>>,
    ) -> Generator<'static, (), String> {
        Generator::new(move |co, ()| {
            if depth == 0 {
                loop {
                    let mut line = String::new();
                    if input.borrow_mut().read_line(&mut line).unwrap() == 0 {
                        return Ok(());
                    }
                    co.yield_(line.trim_end().to_string())?;
                }
            }
            co.yield_from(level(depth - 1, input), ())
        })
    }
    let (lines, ticks) = super::run(|| {
        let (reader, mut writer) = corio::io::pipe().unwrap();
        let ticks = Rc::new(Cell::new(0));
        let t = ticks.clone();
        let writer_task = corio::spawn_local(move || {
            for i in 0..3 {
                corio::sleep(2 * MS);
                t.set(t.get() + 1);
                writeln!(writer, "line {i}").unwrap();
            }
        });
        let input = Rc::new(RefCell::new(BufReader::new(reader)));
        let lines: Vec<String> = level(2, input).collect();
        writer_task.join().unwrap();
        (lines, ticks.get())
    });
    assert_eq!(lines, ["line 0", "line 1", "line 2"]);
    assert_eq!(
        ticks, 3,
        "the writer task ran while the reader was parked inside its generators"
    );
}
