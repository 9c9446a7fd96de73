//! The process pool: jobs, results in order and as completed, faults
//! (panics, killed workers, timeouts, unknown jobs, bad arguments), and
//! workers reaped when the pool goes.

use std::collections::HashSet;
use std::time::Duration;

use corio::procpool::{as_completed, Job, JobError, Pool};

corio::procpool_test_worker!();

fn square(n: u64) -> u64 {
    n * n
}
corio::job!(static SQUARE: Job<u64, u64> = square);

/// Sleeps (parking its task in the worker's runtime) and returns the
/// worker's pid.
fn nap(ms: u64) -> u32 {
    corio::sleep(Duration::from_millis(ms));
    std::process::id()
}
corio::job!(static NAP: Job<u64, u32> = nap);

fn explode(msg: String) -> u32 {
    panic!("{msg}");
}
corio::job!(static EXPLODE: Job<String, u32> = explode);

/// Kills its own worker with `signal`.
fn die(signal: i32) -> u32 {
    let signal = nix::sys::signal::Signal::try_from(signal).unwrap();
    nix::sys::signal::raise(signal).unwrap();
    std::thread::sleep(Duration::from_secs(60));
    0
}
corio::job!(static DIE: Job<i32, u32> = die);

/// Spawns coroutines in the worker and gathers them.
fn fan_out(n: u64) -> u64 {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            corio::spawn(move || {
                corio::yield_now();
                i
            })
        })
        .collect();
    corio::task::join_all(handles)
        .into_iter()
        .map(Result::unwrap)
        .sum()
}
corio::job!(static FAN_OUT: Job<u64, u64> = fan_out);

fn pool(workers: usize) -> Pool {
    Pool::builder()
        .workers(workers)
        .build()
        .expect("pool starts")
}

#[test]
fn a_job_runs_in_another_process() {
    let pool = pool(1);
    assert_eq!(pool.submit(&SQUARE, 12).join(), Ok(144));
    let pid = pool.submit(&NAP, 0).join().unwrap();
    assert_ne!(pid, std::process::id());
    assert_eq!(pool.pids(), [pid]);
}

#[test]
fn map_keeps_the_order_of_the_arguments() {
    let pool = pool(2);
    let squares: Vec<u64> = pool.map(&SQUARE, 0..200).map(Result::unwrap).collect();
    assert_eq!(squares, (0..200u64).map(|n| n * n).collect::<Vec<_>>());
}

#[test]
fn as_completed_yields_every_job_once_in_finishing_order() {
    let pool = pool(2);
    // The long job is first in submission order; the short ones finish
    // while it runs on the other worker.
    let handles = vec![
        pool.submit(&NAP, 400),
        pool.submit(&NAP, 1),
        pool.submit(&NAP, 1),
        pool.submit(&NAP, 1),
    ];
    let order: Vec<usize> = as_completed(handles)
        .map(|(index, result)| {
            result.unwrap();
            index
        })
        .collect();
    assert_eq!(order.len(), 4);
    assert_eq!(order.iter().copied().collect::<HashSet<_>>().len(), 4);
    assert_eq!(
        *order.last().unwrap(),
        0,
        "the long job finishes last: {order:?}"
    );
}

#[test]
fn a_handle_is_a_future_and_join_parks_a_task() {
    let pool = pool(2);
    corio::run(|| {
        let a = pool.submit(&SQUARE, 3);
        let b = pool.submit(&SQUARE, 4);
        // Another task keeps running while this one waits.
        let ticker = corio::spawn(|| {
            corio::sleep(Duration::from_millis(1));
            7
        });
        assert_eq!(corio::block_on(a), Ok(9));
        assert_eq!(b.join(), Ok(16));
        assert_eq!(ticker.join().unwrap(), 7);
    });
}

#[test]
fn a_pool_can_be_made_and_dropped_inside_a_task() {
    corio::run(|| {
        let pool = pool(1);
        assert_eq!(pool.submit(&FAN_OUT, 10).join(), Ok(45));
    });
}

#[test]
fn a_job_may_spawn_coroutines_in_its_worker() {
    let pool = pool(1);
    assert_eq!(pool.submit(&FAN_OUT, 100).join(), Ok(4950));
}

#[test]
fn a_panicking_job_fails_alone_with_its_message() {
    let pool = pool(1);
    let boom = pool.submit(&EXPLODE, "kaboom".to_owned());
    let after = pool.submit(&SQUARE, 5);
    assert_eq!(boom.join(), Err(JobError::Panicked("kaboom".to_owned())));
    assert_eq!(after.join(), Ok(25));
}

#[test]
fn a_worker_killed_by_a_signal_fails_its_job_and_is_replaced() {
    let pool = pool(1);
    let first = pool.pids();
    let queued_behind = {
        let dying = pool.submit(&DIE, nix::sys::signal::Signal::SIGKILL as i32);
        let behind = pool.submit(&SQUARE, 6);
        let err = dying.join().unwrap_err();
        match &err {
            JobError::WorkerDied { pid, signal, .. } => {
                assert_eq!(*signal, Some(9));
                assert_eq!(vec![*pid], first);
            }
            other => panic!("expected WorkerDied, got {other:?}"),
        }
        assert!(err.to_string().contains("SIGKILL"), "{err}");
        behind
    };
    // The job queued behind the dead one runs on the replacement.
    assert_eq!(queued_behind.join(), Ok(36));
    let second = pool.pids();
    assert_eq!(second.len(), 1);
    assert_ne!(second, first);
    assert_eq!(pool.submit(&SQUARE, 7).join(), Ok(49));
}

#[test]
fn a_job_past_its_timeout_fails_and_its_worker_is_replaced() {
    let pool = pool(1);
    let first = pool.pids();
    let slow = pool.submit_timeout(&NAP, 30_000, Duration::from_millis(100));
    assert_eq!(
        slow.join(),
        Err(JobError::TimedOut(Duration::from_millis(100)))
    );
    assert_eq!(pool.submit(&SQUARE, 8).join(), Ok(64));
    assert_ne!(pool.pids(), first);
    // A job within its timeout is unaffected.
    let quick = pool.submit_timeout(&SQUARE, 9, Duration::from_secs(60));
    assert_eq!(quick.join(), Ok(81));
}

#[test]
fn an_unknown_job_and_bad_arguments_give_typed_errors() {
    let pool = pool(1);
    let unknown: Job<u64, u64> = Job::by_name("nowhere::NOTHING");
    assert_eq!(
        pool.submit(&unknown, 1).join(),
        Err(JobError::Unregistered("nowhere::NOTHING".to_owned()))
    );
    // SQUARE under the wrong argument type: nothing where a u64 is due.
    let wrong: Job<(), u64> = Job::by_name(SQUARE.name());
    assert!(matches!(
        pool.submit(&wrong, ()).join(),
        Err(JobError::BadArgs(_))
    ));
    // And the wrong result type: 9 is read as a string's length, and the
    // nine bytes are missing.
    let wrong: Job<u64, String> = Job::by_name(SQUARE.name());
    assert!(matches!(
        pool.submit(&wrong, 3).join(),
        Err(JobError::BadResult(_))
    ));
    assert_eq!(pool.submit(&SQUARE, 2).join(), Ok(4));
}

#[test]
fn queued_jobs_move_from_a_busy_worker_to_an_idle_one() {
    let pool = Pool::builder().workers(2).prefetch(8).build().unwrap();
    // Both workers get a job; then the third is queued behind one of
    // them. The worker of the short job goes idle while the other still
    // runs its long one, and takes the queued job over.
    let long = pool.submit(&NAP, 1_000);
    let short = pool.submit(&NAP, 1);
    let queued = pool.submit(&NAP, 1);
    let short_pid = short.join().unwrap();
    let queued_pid = queued.join().unwrap();
    let long_pid = long.join().unwrap();
    assert_ne!(long_pid, short_pid);
    assert_ne!(
        queued_pid, long_pid,
        "the queued job waited behind the long one"
    );
}

#[test]
fn dropping_the_pool_finishes_its_jobs_and_reaps_the_workers() {
    let pool = pool(2);
    let pids = pool.pids();
    assert_eq!(pids.len(), 2);
    let handles: Vec<_> = (0..6).map(|_| pool.submit(&NAP, 20)).collect();
    drop(pool);
    for handle in handles {
        assert!(handle.join().is_ok());
    }
    for pid in pids {
        // Reaped: no process (not even a zombie) is left with the pid
        // (pid reuse within the test is vanishingly unlikely).
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "worker {pid} left behind"
        );
    }
}

#[test]
fn terminate_kills_the_workers_and_fails_unfinished_jobs() {
    let pool = pool(1);
    let pids = pool.pids();
    let stuck = pool.submit(&NAP, 60_000);
    pool.terminate();
    assert!(matches!(stuck.join(), Err(JobError::PoolClosed(_))));
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "worker {pid} left behind"
        );
    }
}

mod common;

#[test]
fn pool_async_runs_five_jobs_on_four_workers_twice() {
    let out = common::example_stdout("pool_async", &["--scale", "0.02"]);
    let lines: Vec<&str> = out.lines().collect();
    let parent: u32 = lines[0]
        .strip_prefix("Parent process ")
        .expect("parent line")
        .parse()
        .unwrap();
    let demos: Vec<&[&str]> = lines[1..]
        .split(|l| l.starts_with("-- gathered"))
        .skip(1)
        .collect();
    assert_eq!(demos.len(), 2, "{out}");
    for demo in demos {
        let running: Vec<&str> = demo
            .iter()
            .filter(|l| l.starts_with("Running task"))
            .copied()
            .collect();
        let ran: Vec<&str> = demo
            .iter()
            .filter(|l| l.contains("' runs "))
            .copied()
            .collect();
        assert_eq!((running.len(), ran.len()), (5, 5), "{out}");
        let mut pids = std::collections::HashSet::new();
        for line in &running {
            let pid: u32 = line
                .rsplit_once('(')
                .unwrap()
                .1
                .trim_end_matches(")...")
                .parse()
                .unwrap();
            assert_ne!(pid, parent);
            pids.insert(pid);
        }
        assert!(pids.len() <= 4 && pids.len() >= 2, "{out}");
        let tail = &demo[demo.len() - 3..];
        assert!(
            tail[0].starts_with("Theoretical total running time: "),
            "{out}"
        );
        assert!(tail[1].starts_with("Actual running time: "), "{out}");
        assert_eq!(tail[2], "All subprocesses done.");
    }
}

#[test]
fn pool_async_rejects_bad_flags() {
    let out = common::run_example("pool_async", &["--scale", "abc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: pool_async"));
    common::assert_help("pool_async");
    for args in [
        &["--scale", "abc"][..],
        &["--scale", "0"],
        &["--scale", "1e30"],
        &["--scale"],
        &["--workers", "2"],
    ] {
        common::assert_usage_error("pool_async", args);
    }
}

#[test]
fn a_pool_dropped_at_once_shuts_down() {
    for _ in 0..20 {
        drop(pool(1));
    }
}

#[test]
fn a_pool_that_outlives_the_runtime_it_was_made_in_fails_its_jobs_cleanly() {
    // Made in a task, the pool's driver runs on that runtime, which ends
    // when `run` returns: the workers go with it.
    let (pool, pids) = corio::run(|| {
        let pool = pool(1);
        let pids = pool.pids();
        (pool, pids)
    });
    assert!(matches!(
        pool.submit(&SQUARE, 2).join(),
        Err(JobError::PoolClosed(_))
    ));
    drop(pool);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "worker {pid} left behind"
        );
    }
}
