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

const USAGE: &str =
    "usage: pool_async [--scale S]   (S > 0 scales the jobs' random lengths, at most 3 s each)";

fn main() {
    corio::procpool::init();
    let scale = parse_scale();
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

fn parse_scale() -> f64 {
    let mut args = std::env::args().skip(1);
    let mut scale = 1.0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--scale" => {
                scale = match args.next().map(|s| s.parse::<f64>()) {
                    Some(Ok(s)) if s > 0.0 && s <= 1000.0 => s,
                    _ => usage_error("--scale needs a number in (0, 1000]"),
                }
            }
            other => usage_error(&format!("unknown argument {other:?}")),
        }
    }
    scale
}

fn usage_error(what: &str) -> ! {
    eprintln!("pool_async: {what}\n{USAGE}");
    std::process::exit(2);
}
