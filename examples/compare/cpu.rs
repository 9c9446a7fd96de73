//! CPU-bound: the same hashing jobs (`hash_chain`, SHA-256 chained over
//! 64 KiB, as in `benches/procpool.rs`) in a plain loop on this thread
//! (one core, the reference), on corio's process pool with a worker per
//! core, on one OS thread per core, as corio tasks on one worker and on
//! all, and as tokio tasks on its current-thread and multi-thread
//! runtimes. Each figure is the median of 3 runs; the digests must agree.

use std::time::Instant;

use corio::procpool::Pool;

use crate::hash_chain::hash_chain;
use crate::{progress, Args};

corio::job!(static HASH_CHAIN: Job<(u64, u32), String> = hash_chain);

/// Row names for `--only`.
pub const ROWS: &[&str] = &[
    "sequential",
    "processes",
    "threads",
    "corio-1",
    "corio-all",
    "tokio-current",
    "tokio-multi",
];

/// One strategy's figure.
pub struct CpuRow {
    pub key: &'static str,
    pub workers: usize,
    pub ms: f64,
    /// The sequential time over this one.
    pub speedup: f64,
    pub note: String,
}

/// The median time of 3 runs of `f` in milliseconds, and its result.
fn median3(mut f: impl FnMut() -> Vec<String>) -> (f64, Vec<String>) {
    let mut out = Vec::new();
    let mut times: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            out = f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[1], out)
}

fn tokio_runtime(workers: usize) -> tokio::runtime::Runtime {
    if workers > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread().build()
    }
    .expect("tokio runtime")
}

pub fn run(args: &Args) -> Vec<CpuRow> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (jobs, rounds) = (args.cpu_jobs, args.cpu_rounds);
    let work = move || (0..jobs).map(move |seed| (seed, rounds));
    let mut rows = Vec::new();
    let mut reference: Option<(f64, Vec<String>)> = None;
    for &key in ROWS {
        // The sequential run is the reference for every speedup.
        if key != "sequential" && !args.wants_row(key, ROWS) {
            continue;
        }
        progress(&format!("cpu: {key}, {jobs} jobs"));
        let workers = match key {
            "sequential" | "corio-1" | "tokio-current" => 1,
            _ => cores,
        };
        let mut note = String::new();
        let (ms, digests) = match key {
            "sequential" => median3(|| work().map(hash_chain).collect()),
            "processes" => {
                let start = Instant::now();
                let pool = Pool::builder().workers(cores).build().expect("pool");
                // A first map starts every worker before the timing.
                pool.map(&HASH_CHAIN, (0..cores as u64).map(|s| (s, 1)))
                    .for_each(drop);
                note = format!(
                    "pool start-up {:.0} ms, not counted",
                    start.elapsed().as_secs_f64() * 1e3
                );
                median3(|| pool.map(&HASH_CHAIN, work()).map(Result::unwrap).collect())
            }
            "threads" => median3(|| {
                std::thread::scope(|s| {
                    let handles: Vec<_> = (0..cores as u64)
                        .map(|t| {
                            s.spawn(move || {
                                work()
                                    .filter(|(seed, _)| seed % cores as u64 == t)
                                    .map(|job| (job.0, hash_chain(job)))
                                    .collect::<Vec<_>>()
                            })
                        })
                        .collect();
                    let mut all: Vec<(u64, String)> = handles
                        .into_iter()
                        .flat_map(|h| h.join().unwrap())
                        .collect();
                    all.sort();
                    all.into_iter().map(|(_, d)| d).collect()
                })
            }),
            "corio-1" | "corio-all" => {
                let rt = corio::Runtime::builder()
                    .workers(workers)
                    .build()
                    .expect("runtime");
                rt.run(|| {
                    median3(|| {
                        let handles: Vec<_> = work()
                            .map(|job| corio::spawn(move || hash_chain(job)))
                            .collect();
                        handles.into_iter().map(|h| h.join().unwrap()).collect()
                    })
                })
            }
            _ => {
                let rt = tokio_runtime(workers);
                median3(|| {
                    rt.block_on(async {
                        let handles: Vec<_> = work()
                            .map(|job| tokio::spawn(async move { hash_chain(job) }))
                            .collect();
                        let mut out = Vec::new();
                        for h in handles {
                            out.push(h.await.unwrap());
                        }
                        out
                    })
                })
            }
        };
        let speedup = match &reference {
            Some((base, expected)) => {
                assert_eq!(&digests, expected, "{key} hashed differently");
                base / ms
            }
            None => {
                reference = Some((ms, digests));
                1.0
            }
        };
        if key == "sequential" && !args.wants_row(key, ROWS) {
            continue;
        }
        rows.push(CpuRow {
            key,
            workers,
            ms,
            speedup,
            note,
        });
    }
    rows
}
