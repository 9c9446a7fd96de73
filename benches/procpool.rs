//! The process pool, beside Python's `multiprocessing.Pool` doing the same
//! work on the same machine in the same run:
//!
//! - `procpool_round_trip`: submit one small job (a `u64` in, its square
//!   out) and wait for its result, one at a time, on a pool of 1 worker.
//! - `procpool_throughput`: 2,000 small jobs submitted with `map`, then
//!   gathered in order, on 2 workers; criterion's throughput column is jobs
//!   per second.
//! - `procpool_cpu`: 8 hashing jobs (each SHA-256 over a 64 KiB buffer,
//!   chained 400 times) on 1 and on 2 workers, and on 1 and 2 plain threads
//!   for reference.
//! - `procpool_startup`: start a pool of one worker and drop it (start,
//!   hello, shut down, reap).
//!
//! Then a summary (plain timing loops, not criterion): corio's round trip,
//! throughput and speedup of 1 to 2 workers, the resident memory of an
//! idle worker, and, when `python3` is on the PATH, the same figures from
//! `benches/procpool.py` (which computes the same digests; the bench checks
//! they agree), with corio's ratio to Python.
//!
//! ```text
//! cargo bench --bench procpool
//! cargo bench --bench procpool -- nomatch   # the summary alone
//! ```
#![allow(missing_docs)]

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use corio::procpool::Pool;
use criterion::{Criterion, Throughput};

#[path = "../examples/common/hash_chain.rs"]
mod hash_chain;
use hash_chain::{hash_chain, BLOCK};

fn square(n: u64) -> u64 {
    n.wrapping_mul(n)
}
corio::job!(static SQUARE: Job<u64, u64> = square);

/// Rounds per hashing job.
const ROUNDS: u32 = 400;
/// Hashing jobs per iteration of `procpool_cpu`.
const CPU_JOBS: u64 = 8;
/// Jobs per iteration of `procpool_throughput`.
const BATCH: u64 = 2_000;

corio::job!(static HASH_CHAIN: Job<(u64, u32), String> = hash_chain);

fn pool(workers: usize) -> Pool {
    Pool::builder()
        .workers(workers)
        .build()
        .expect("pool starts")
}

fn cpu_on_pool(pool: &Pool) -> Vec<String> {
    pool.map(&HASH_CHAIN, (0..CPU_JOBS).map(|seed| (seed, ROUNDS)))
        .map(Result::unwrap)
        .collect()
}

fn cpu_on_threads(threads: u64) -> Vec<String> {
    let per = CPU_JOBS / threads;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t * per..(t + 1) * per)
                        .map(|seed| hash_chain((seed, ROUNDS)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn benches(c: &mut Criterion) {
    let one = pool(1);
    let two = pool(2);

    let mut group = c.benchmark_group("procpool_round_trip");
    group.bench_function("corio", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            one.submit(&SQUARE, black_box(n)).join().unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("procpool_throughput");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("corio_2_workers", |b| {
        b.iter(|| two.map(&SQUARE, 0..BATCH).map(Result::unwrap).sum::<u64>())
    });
    group.finish();

    let mut group = c.benchmark_group("procpool_cpu");
    group.sample_size(10);
    group.bench_function("corio_1_worker", |b| b.iter(|| cpu_on_pool(&one)));
    group.bench_function("corio_2_workers", |b| b.iter(|| cpu_on_pool(&two)));
    group.bench_function("threads_1", |b| b.iter(|| cpu_on_threads(1)));
    group.bench_function("threads_2", |b| b.iter(|| cpu_on_threads(2)));
    group.finish();

    let mut group = c.benchmark_group("procpool_startup");
    group.sample_size(10);
    group.bench_function("corio_1_worker", |b| b.iter(|| drop(pool(1))));
    group.finish();
}

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// Resident set of process `pid` in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Median time per job of `trips` round trips, one at a time.
fn round_trip(pool: &Pool, trips: u32) -> Duration {
    for n in 0..200 {
        pool.submit(&SQUARE, n).join().unwrap();
    }
    median(5, || {
        for n in 0..u64::from(trips) {
            pool.submit(&SQUARE, n).join().unwrap();
        }
    }) / trips
}

/// Jobs per second of `jobs` small jobs submitted, then gathered in order.
fn throughput(pool: &Pool, jobs: u64) -> f64 {
    let batch = median(5, || {
        pool.map(&SQUARE, 0..jobs).for_each(|r| {
            r.unwrap();
        })
    });
    jobs as f64 / batch.as_secs_f64()
}

fn summary() {
    const TRIPS: u32 = 2_000;
    const JOBS: u64 = 20_000;
    // Made inside a task, the pool's driver runs on that task's runtime
    // thread; made on a plain thread, on a thread of its own.
    let (trip, jobs_per_sec) =
        corio::run(|| (round_trip(&pool(1), TRIPS), throughput(&pool(2), JOBS)));
    let one = pool(1);
    let two = pool(2);
    let trip_thread = round_trip(&one, TRIPS);
    let rate_thread = throughput(&two, JOBS);
    let digests = cpu_on_pool(&one);
    let cpu1 = median(3, || drop(cpu_on_pool(&one)));
    let cpu2 = median(3, || drop(cpu_on_pool(&two)));
    let idle: Vec<u64> = two.pids().into_iter().filter_map(rss_kib).collect();
    let startup = median(5, || drop(pool(1)));

    println!("procpool summary (medians)");
    println!(
        "  corio round trip, from a task: {:.1} µs",
        trip.as_secs_f64() * 1e6
    );
    println!(
        "  corio round trip, from a plain thread: {:.1} µs",
        trip_thread.as_secs_f64() * 1e6
    );
    println!("  corio throughput, 2 workers, from a task: {jobs_per_sec:.0} jobs/s ({JOBS} jobs)");
    println!("  corio throughput, 2 workers, from a plain thread: {rate_thread:.0} jobs/s");
    println!(
        "  corio CPU: 1 worker {:.1} ms, 2 workers {:.1} ms, speedup {:.2}x",
        cpu1.as_secs_f64() * 1e3,
        cpu2.as_secs_f64() * 1e3,
        cpu1.as_secs_f64() / cpu2.as_secs_f64()
    );
    println!(
        "  corio start + stop of a 1-worker pool: {:.1} ms",
        startup.as_secs_f64() * 1e3
    );
    println!("  corio idle worker resident memory: {idle:?} KiB");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/procpool.py");
    let out = Command::new("python3")
        .args([
            script,
            &TRIPS.to_string(),
            &JOBS.to_string(),
            &CPU_JOBS.to_string(),
            &ROUNDS.to_string(),
            &BLOCK.to_string(),
        ])
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        println!("  python3: not run (no python3 on the PATH, or it failed)");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |key: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    let py_trip = field("round_trip_us");
    let py_rate = field("jobs_per_sec");
    let (py1, py2) = (field("cpu_1_ms"), field("cpu_2_ms"));
    assert_eq!(
        text.lines().find_map(|l| l.strip_prefix("digest0 ")),
        Some(digests[0].as_str()),
        "Python hashed the same"
    );
    println!(
        "  python multiprocessing.Pool round trip: {py_trip:.1} µs (corio / python: {:.2})",
        trip.as_secs_f64() * 1e6 / py_trip
    );
    println!(
        "  python throughput, 2 workers: {py_rate:.0} jobs/s (corio / python: {:.1}x)",
        jobs_per_sec / py_rate
    );
    println!(
        "  python CPU: 1 worker {py1:.1} ms, 2 workers {py2:.1} ms, speedup {:.2}x",
        py1 / py2
    );
}

fn main() {
    corio::procpool::init();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    summary();
}
