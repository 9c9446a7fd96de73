//! The multi-worker runtime side by side with tokio's multi-thread runtime,
//! rayon and plain threads, in one run:
//!
//! - `cpu_fanout`: one iteration is 10,000 jobs of about 50 µs of hashing
//!   each (FNV-1a, 50 passes over a 1 KiB buffer, seeded by the job's
//!   number; 50 µs on the machine it was calibrated on, printed again at
//!   the start of the group), all spawned at once and all joined, the
//!   results summed. Rows: corio with 1 and 2 workers (`corio::spawn` from
//!   the main task, then join every handle), tokio's multi-thread runtime
//!   with 1 and 2 worker threads (`tokio::spawn` from a task on the
//!   runtime, then await every handle), rayon on a 2-thread pool
//!   (`into_par_iter().map().sum()`), and the references: one plain loop
//!   on the bench thread, and two scoped std threads each doing half of
//!   the jobs. The time reported is that of one whole iteration (10,000
//!   jobs); criterion's throughput column is jobs per second.
//! - `spawn_join_mt`: from inside a task, spawn a task that returns a
//!   number and join it; one iteration is one spawn and one join. Rows:
//!   corio with 2 workers (`corio::spawn`, which queues a group any worker
//!   may take, and `spawn_local`, which stays on the worker), tokio's
//!   multi-thread runtime with 2 workers, and for reference corio's
//!   single-thread runtime and tokio's current-thread runtime.
//!
//! At the end of each group the bench prints a summary: the speedup of 1
//! to 2 workers (time with 1 worker / time with 2; the target for corio is
//! at least 1.85) and corio's time over tokio's (the targets: at most 1 for
//! `cpu_fanout` with 2 workers, at most 0.5 for `spawn_join_mt`). Those
//! figures are medians of the time per iteration over every sample this
//! run took of each row (criterion's warm-up included), so take them as a
//! guide next to criterion's own estimates. A row left out by a filter is
//! left out of the summary.
//!
//! ```text
//! cargo bench --bench mt
//! cargo bench --bench mt -- cpu_fanout
//! cargo bench --bench mt -- spawn_join_mt
//! ```
//!
//! Run it on a quiet machine with at least two cores: the two-worker rows
//! measure parallel speedup, which other load on the machine eats first.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use rayon::prelude::*;

/// Jobs per `cpu_fanout` iteration.
const JOBS: u64 = 10_000;
/// Passes of FNV-1a over [`BUF`] per job: 50 makes a job take about 50 µs
/// (about 1 µs a pass at 4 cycles a byte on a 4 GHz core).
const ROUNDS: u32 = 50;
/// Bytes hashed per pass.
const BUF: usize = 1024;

/// The buffer every job hashes, filled once with a fixed pattern.
fn buffer() -> &'static [u8; BUF] {
    static BUFFER: OnceLock<[u8; BUF]> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let mut buf = [0u8; BUF];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i * 31 + 7) as u8;
        }
        buf
    })
}

/// One job: FNV-1a over the buffer, [`ROUNDS`] times, carrying the hash
/// from pass to pass. The multiply chain is serial, so the compiler can
/// neither vectorize it nor shorten it.
fn job(seed: u64) -> u64 {
    let buf = black_box(buffer());
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for _ in 0..ROUNDS {
        for &byte in buf.iter() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    black_box(hash)
}

/// Seconds per iteration of each sample taken, by (group, row).
type Samples = BTreeMap<(String, String), Vec<f64>>;

/// The time per iteration of every sample taken, by group and row, for the
/// summaries.
fn samples() -> &'static Mutex<Samples> {
    static SAMPLES: OnceLock<Mutex<Samples>> = OnceLock::new();
    SAMPLES.get_or_init(Default::default)
}

/// Wraps an `iter_custom` routine so that each sample's time per iteration
/// is kept for the summary.
fn recorded(
    group: &str,
    row: &str,
    mut routine: impl FnMut(u64) -> Duration,
) -> impl FnMut(u64) -> Duration {
    let key = (group.to_owned(), row.to_owned());
    move |iters| {
        let elapsed = routine(iters);
        let per_iter = elapsed.as_secs_f64() / iters.max(1) as f64;
        samples()
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default()
            .push(per_iter);
        elapsed
    }
}

/// The median time per iteration of a row, if it ran.
fn median(group: &str, row: &str) -> Option<f64> {
    let all = samples().lock().unwrap();
    let mut times = all.get(&(group.to_owned(), row.to_owned()))?.clone();
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    Some(match times.len() {
        0 => return None,
        n if n % 2 == 1 => times[mid],
        _ => (times[mid - 1] + times[mid]) / 2.0,
    })
}

/// Seconds in a readable unit.
fn show(secs: f64) -> String {
    match secs {
        s if s >= 1.0 => format!("{s:.3} s"),
        s if s >= 1e-3 => format!("{:.2} ms", s * 1e3),
        s if s >= 1e-6 => format!("{:.2} µs", s * 1e6),
        s => format!("{:.1} ns", s * 1e9),
    }
}

/// Prints `label = a / b = ratio (target)` for two rows that ran.
fn print_ratio(group: &str, label: &str, a: &str, b: &str, target: &str) {
    if let (Some(ta), Some(tb)) = (median(group, a), median(group, b)) {
        let line = format!(
            "{group} summary: {label} = {a} / {b} = {} / {} = {:.2}x {target}",
            show(ta),
            show(tb),
            ta / tb
        );
        println!("{}", line.trim_end());
    }
}

fn corio_rt(workers: usize) -> corio::Runtime {
    corio::Runtime::builder().workers(workers).build().unwrap()
}

fn tokio_mt(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// Prints what one job costs here, run alone on the bench thread.
fn print_job_time() {
    let mut best = Duration::MAX;
    for seed in 0..200 {
        let start = Instant::now();
        job(seed);
        best = best.min(start.elapsed());
    }
    println!(
        "cpu_fanout: one job is {ROUNDS} passes of FNV-1a over {BUF} bytes = {:.1} µs here \
         (fastest of 200, alone); one iteration is {JOBS} jobs",
        best.as_secs_f64() * 1e6
    );
}

fn cpu_fanout(c: &mut Criterion) {
    const G: &str = "cpu_fanout";
    print_job_time();
    let mut group = c.benchmark_group(G);
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(JOBS));

    for workers in [1, 2] {
        let rt = corio_rt(workers);
        let row = format!("corio_{workers}_worker");
        group.bench_function(&row, |b| {
            b.iter_custom(recorded(G, &row, |iters| {
                rt.run(|| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let handles: Vec<_> =
                            (0..JOBS).map(|i| corio::spawn(move || job(i))).collect();
                        let sum = handles
                            .into_iter()
                            .fold(0u64, |acc, h| acc.wrapping_add(h.join().unwrap()));
                        black_box(sum);
                    }
                    start.elapsed()
                })
            }))
        });
    }

    for workers in [1, 2] {
        let rt = tokio_mt(workers);
        let row = format!("tokio_mt_{workers}_worker");
        group.bench_function(&row, |b| {
            b.iter_custom(recorded(G, &row, |iters| {
                // The spawning loop runs in a task on the runtime, as
                // corio's runs in its main task.
                rt.block_on(rt.spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let handles: Vec<_> = (0..JOBS)
                            .map(|i| tokio::spawn(async move { job(i) }))
                            .collect();
                        let mut sum = 0u64;
                        for h in handles {
                            sum = sum.wrapping_add(h.await.unwrap());
                        }
                        black_box(sum);
                    }
                    start.elapsed()
                }))
                .unwrap()
            }))
        });
    }

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    group.bench_function("rayon_2_threads", |b| {
        b.iter_custom(recorded(G, "rayon_2_threads", |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let sum = pool.install(|| {
                    (0..JOBS)
                        .into_par_iter()
                        .map(job)
                        .reduce(|| 0, u64::wrapping_add)
                });
                black_box(sum);
            }
            start.elapsed()
        }))
    });

    group.bench_function("std_1_thread", |b| {
        b.iter_custom(recorded(G, "std_1_thread", |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box((0..JOBS).map(job).fold(0u64, u64::wrapping_add));
            }
            start.elapsed()
        }))
    });

    group.bench_function("std_2_threads", |b| {
        b.iter_custom(recorded(G, "std_2_threads", |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let half = JOBS / 2;
                let sum = std::thread::scope(|s| {
                    let other = s.spawn(|| (half..JOBS).map(job).fold(0u64, u64::wrapping_add));
                    let mine = (0..half).map(job).fold(0u64, u64::wrapping_add);
                    mine.wrapping_add(other.join().unwrap())
                });
                black_box(sum);
            }
            start.elapsed()
        }))
    });
    group.finish();

    let target = "(target for corio: >= 1.85x)";
    print_ratio(
        G,
        "corio speedup",
        "corio_1_worker",
        "corio_2_worker",
        target,
    );
    print_ratio(
        G,
        "tokio speedup",
        "tokio_mt_1_worker",
        "tokio_mt_2_worker",
        "",
    );
    print_ratio(G, "std speedup", "std_1_thread", "std_2_threads", "");
    let target = "(target: <= 1x)";
    print_ratio(
        G,
        "2 workers",
        "corio_2_worker",
        "tokio_mt_2_worker",
        target,
    );
    print_ratio(G, "1 worker", "corio_1_worker", "tokio_mt_1_worker", "");
    print_ratio(G, "2 threads", "corio_2_worker", "rayon_2_threads", "");
    print_ratio(G, "2 threads", "corio_2_worker", "std_2_threads", "");
}

fn spawn_join_mt(c: &mut Criterion) {
    const G: &str = "spawn_join_mt";
    let mut group = c.benchmark_group(G);

    let corio_rows = [
        ("corio_2_worker", 2, false),
        ("corio_2_worker_spawn_local", 2, true),
        ("corio_1_worker", 1, false),
    ];
    for (row, workers, local) in corio_rows {
        let rt = corio_rt(workers);
        group.bench_function(row, |b| {
            b.iter_custom(recorded(G, row, |iters| {
                rt.run(|| {
                    let start = Instant::now();
                    for i in 0..iters {
                        let t = if local {
                            corio::spawn_local(move || black_box(i))
                        } else {
                            corio::spawn(move || black_box(i))
                        };
                        black_box(t.join().unwrap());
                    }
                    start.elapsed()
                })
            }))
        });
    }

    let tokio_rows = [
        ("tokio_mt_2_worker", tokio_mt(2)),
        (
            "tokio_current_thread",
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        ),
    ];
    for (row, rt) in &tokio_rows {
        group.bench_function(*row, |b| {
            b.iter_custom(recorded(G, row, |iters| {
                // In a task on the runtime: the block_on thread is not one
                // of the multi-thread runtime's workers.
                rt.block_on(rt.spawn(async move {
                    let start = Instant::now();
                    for i in 0..iters {
                        let t = tokio::spawn(async move { black_box(i) });
                        black_box(t.await.unwrap());
                    }
                    start.elapsed()
                }))
                .unwrap()
            }))
        });
    }
    group.finish();

    let target = "(target: <= 0.5x)";
    print_ratio(
        G,
        "2 workers",
        "corio_2_worker",
        "tokio_mt_2_worker",
        target,
    );
    print_ratio(G, "1 thread", "corio_1_worker", "tokio_current_thread", "");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = cpu_fanout, spawn_join_mt
}
criterion_main!(benches);
