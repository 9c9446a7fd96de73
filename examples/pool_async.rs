//! Jobs of random length on a pool of four worker processes, submitted
//! without blocking and gathered: the seed's two process-pool demos
//! (`concurrent.futures.ProcessPoolExecutor` with `as_completed`, then
//! `multiprocessing.Pool.apply_async` gathered in submission order).
//!
//! ```text
//! cargo run --example pool_async [-- --scale S]
//! Parent process 4242
//! Running task 'Task-0' (4243)...
//! Running task 'Task-1' (4244)...
//! ...
//! Task 'Task-1' runs 0.62 seconds.
//! ...
//! Theoretical total running time: 6.80 seconds.
//! Actual running time: 3.11 seconds.
//! All subprocesses done.
//! ```
//!
//! Each job sleeps up to 3 seconds (times `--scale`, default 1) in its
//! worker process and returns how long it ran. Five jobs on four workers
//! take about as long as the two longest on one worker, much less than
//! their sum. The worker processes are this binary started again, which is
//! why `main` calls `corio::procpool::init()` first.

mod common;

use std::time::{Duration, Instant};

use corio::procpool::{as_completed, JobHandle, Pool};

/// Sleeps for `secs` seconds (parking the job's task in its worker's
/// runtime) and returns how long that took.
fn long_time_task((name, secs): (String, f64)) -> f64 {
    println!("Running task '{name}' ({})...", std::process::id());
    let start = Instant::now();
    corio::sleep(Duration::from_secs_f64(secs));
    let elapsed = start.elapsed().as_secs_f64();
    println!("Task '{name}' runs {elapsed:.2} seconds.");
    elapsed
}
corio::job!(static LONG_TIME_TASK: Job<(String, f64), f64> = long_time_task);

/// Runs five jobs of random length on a pool of four worker processes,
/// twice: gathered as they complete, then in submission order.
#[derive(clap::Parser)]
#[command(name = "pool_async", override_usage = "pool_async [--scale S]")]
struct Args {
    /// Scales the jobs' random lengths, at most 3 s each (more than 0, at
    /// most 1000).
    #[arg(
        long,
        value_name = "S",
        default_value_t = 1.0,
        value_parser = common::positive_up_to(1000.0)
    )]
    scale: f64,
}

fn main() {
    // In a worker process, this runs the jobs and never returns.
    corio::procpool::init();
    let Args { scale } = common::parse_args();
    println!("Parent process {}", std::process::id());
    demo(scale, "as_completed", |handles| {
        as_completed(handles)
            .map(|(_, result)| result.expect("job ran"))
            .sum()
    });
    demo(scale, "submission order", |handles| {
        handles
            .into_iter()
            .map(|h| h.join().expect("job ran"))
            .sum()
    });
}

/// Submits five jobs of random length to a pool of four workers, gathers
/// their running times with `gather`, and prints the totals.
fn demo(scale: f64, how: &str, gather: impl FnOnce(Vec<JobHandle<f64>>) -> f64) {
    println!("-- gathered in {how}");
    let pool = Pool::builder().workers(4).build().unwrap_or_else(|e| {
        eprintln!("pool_async: {e}");
        std::process::exit(1);
    });
    let start = Instant::now();
    // Submitting does not block: the jobs run while this goes on.
    let handles: Vec<_> = (0..5)
        .map(|i| {
            let secs = fastrand::f64() * 3.0 * scale;
            pool.submit(&LONG_TIME_TASK, (format!("Task-{i}"), secs))
        })
        .collect();
    let total = gather(handles);
    println!("Theoretical total running time: {total:.2} seconds.");
    println!(
        "Actual running time: {:.2} seconds.",
        start.elapsed().as_secs_f64()
    );
    drop(pool);
    println!("All subprocesses done.");
}
