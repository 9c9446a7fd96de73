//! A loopback echo load test: a server (corio, tokio, or a thread per
//! connection) and one client thread (tokio current-thread, the same for
//! every server) with C connections, each sending 64-byte requests and
//! checking every byte of each echo.
//!
//! ```text
//! cargo run --release --example echo_load -- [--secs S] [--conns 1,50,500] [--servers corio,tokio,threads] [--pairs N] [--workers N]
//! ```
//!
//! `--workers N` (default 1) sets how many worker threads the corio and
//! tokio servers run on. With 1, corio's server is the single-thread
//! runtime (`corio::run`) and tokio's is its current-thread runtime; with
//! more, corio's is `Runtime::builder().workers(N)` and tokio's is its
//! multi-thread runtime with N worker threads. Either way each server
//! accepts in one task and spawns a task per connection (`corio::spawn`,
//! `tokio::spawn`), which on several workers any worker may take, so the
//! connections spread over them. The thread-per-connection server ignores
//! it. The client stays one thread, so on a machine with few cores it
//! competes with the server's workers.
//!
//! Prints one line per server and connection count: round trips per
//! second, the number of mismatched bytes (always 0, or the run fails),
//! the server's CPU time per round trip, user and system, the number of
//! server workers, and how the connections spread over them (`-` for
//! both with the thread-per-connection server). The spread counts, per
//! server thread, the connections whose task echoed its first request
//! there, busiest first (`5+3`: one worker took 5, the other 3): a corio
//! task stays on the worker that starts it, while a tokio task may move to
//! another worker later. Every run is bounded by `--secs` (default 3).
//!
//! The server's CPU time is the process's minus the client thread's (on
//! Linux; elsewhere, where a thread's own usage is not available, it is the
//! whole process's), so it covers every thread the server uses. It shows
//! what throughput alone cannot when the client or the wake-ups between the
//! two threads set the pace: what the server spends to keep up. The user
//! time is the runtime's own work; the system time is the kernel's (the
//! system calls and the loopback TCP stack).
//!
//! `--pairs N` compares corio with tokio on a noisy machine: for each
//! connection count it runs N pairs in the order corio, tokio, tokio,
//! corio, ... (so that a drift of the machine favours neither), then
//! prints each pair's ratio of corio's round trips to tokio's and their
//! median, the median ratio of the server's user time per round trip, and
//! the number of workers both servers ran on. That is with no `--servers`
//! or with `--servers corio,tokio`; another list is run as given and
//! taken two by two as pairs.
//!
//! ```text
//! cargo run --release --example echo_load -- --servers corio,tokio --workers 2 --pairs 8
//! ```

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MSG: usize = 64;

/// What a server thread is given: where to send its address once it
/// listens, the flag that stops it, how many workers it runs on, and where
/// to count its connections.
struct ServerArgs {
    ready: std::sync::mpsc::Sender<SocketAddr>,
    stop: Arc<AtomicBool>,
    workers: usize,
    spread: Spread,
}

/// Connections per server thread, counted where each connection's task
/// echoes its first request (so the connection that stops the server,
/// which sends nothing, is not counted).
#[derive(Clone, Default)]
struct Spread(Arc<Mutex<HashMap<ThreadId, usize>>>);

impl Spread {
    fn record(&self) {
        let mut counts = self.0.lock().unwrap();
        *counts.entry(std::thread::current().id()).or_default() += 1;
    }

    /// The counts, busiest thread first, with a 0 for each of the
    /// `workers` that served none: `5+3`.
    fn show(&self, workers: usize) -> String {
        let mut counts: Vec<usize> = self.0.lock().unwrap().values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        counts.resize(counts.len().max(workers), 0);
        let shown: Vec<String> = counts.iter().map(usize::to_string).collect();
        shown.join("+")
    }
}

fn corio_server(args: ServerArgs) {
    let ServerArgs {
        ready,
        stop,
        workers,
        spread,
    } = args;
    let rt = corio::Runtime::builder().workers(workers).build().unwrap();
    rt.run(move || {
        let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        while !stop.load(Ordering::Relaxed) {
            let Ok((mut conn, _)) = listener.accept() else {
                continue;
            };
            conn.set_nodelay(true).unwrap();
            // A `Send` task: on several workers, any of them may take it.
            let spread = spread.clone();
            corio::spawn(move || {
                let (mut buf, mut first) = ([0u8; MSG], true);
                while conn.read_exact(&mut buf).is_ok() {
                    if std::mem::take(&mut first) {
                        spread.record();
                    }
                    if conn.write_all(&buf).is_err() {
                        break;
                    }
                }
            });
        }
    });
}

fn tokio_server(args: ServerArgs) {
    let ServerArgs {
        ready,
        stop,
        workers,
        spread,
    } = args;
    let rt = if workers > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let accept_loop = async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        while !stop.load(Ordering::Relaxed) {
            let Ok((mut conn, _)) = listener.accept().await else {
                continue;
            };
            conn.set_nodelay(true).unwrap();
            let spread = spread.clone();
            tokio::spawn(async move {
                let (mut buf, mut first) = ([0u8; MSG], true);
                while conn.read_exact(&mut buf).await.is_ok() {
                    if std::mem::take(&mut first) {
                        spread.record();
                    }
                    if conn.write_all(&buf).await.is_err() {
                        break;
                    }
                }
            });
        }
    };
    if workers > 1 {
        // A task on the runtime, as corio's accept loop is: the thread in
        // `block_on` is not one of a multi-thread runtime's workers.
        rt.block_on(rt.spawn(accept_loop)).unwrap();
    } else {
        rt.block_on(accept_loop);
    }
}

fn threads_server(args: ServerArgs) {
    let ServerArgs { ready, stop, .. } = args;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ready.send(listener.local_addr().unwrap()).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let Ok((mut conn, _)) = listener.accept() else {
            continue;
        };
        conn.set_nodelay(true).unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; MSG];
            while conn.read_exact(&mut buf).is_ok() {
                if conn.write_all(&buf).is_err() {
                    break;
                }
            }
        });
    }
}

/// Runs `conns` clients for `secs`; returns (round trips, bad bytes).
fn load(addr: SocketAddr, conns: usize, secs: f64) -> (u64, u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        let clients: Vec<_> = (0..conns)
            .map(|c| {
                tokio::spawn(async move {
                    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
                    conn.set_nodelay(true).unwrap();
                    let (mut trips, mut bad) = (0u64, 0u64);
                    let mut out = [0u8; MSG];
                    let mut back = [0u8; MSG];
                    while Instant::now() < deadline {
                        for (i, b) in out.iter_mut().enumerate() {
                            *b = (trips as usize + i + c) as u8;
                        }
                        conn.write_all(&out).await.unwrap();
                        conn.read_exact(&mut back).await.unwrap();
                        bad += out.iter().zip(&back).filter(|(a, b)| a != b).count() as u64;
                        trips += 1;
                    }
                    (trips, bad)
                })
            })
            .collect();
        let mut total = (0, 0);
        for c in clients {
            let (t, b) = c.await.unwrap();
            total.0 += t;
            total.1 += b;
        }
        total
    })
}

/// CPU time used so far, in seconds, as (user, system): by the whole
/// process, or by the calling thread.
fn cpu_seconds(whole_process: bool) -> (f64, f64) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let who = if whole_process {
        libc::RUSAGE_SELF
    } else {
        libc::RUSAGE_THREAD
    };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let who = if whole_process {
        libc::RUSAGE_SELF
    } else {
        // No per-thread usage: nothing is subtracted.
        return (0.0, 0.0);
    };
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, exclusively borrowed rusage for the call.
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    (secs(usage.ru_utime), secs(usage.ru_stime))
}

/// One run's figures.
struct Run<'a> {
    server: &'a str,
    trips_per_sec: f64,
    /// Seconds of user and system time the server spent per round trip.
    server_user_per_trip: f64,
    server_sys_per_trip: f64,
}

/// For each consecutive corio/tokio pair of runs, `figure` of corio's run
/// over that of tokio's.
fn pair_ratios(runs: &[Run<'_>], figure: fn(&Run<'_>) -> f64) -> Vec<f64> {
    runs.chunks_exact(2)
        .filter_map(|pair| {
            let of = |name| pair.iter().find(|r| r.server == name).map(figure);
            Some(of("corio")? / of("tokio")?)
        })
        .collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[mid],
        _ => (values[mid - 1] + values[mid]) / 2.0,
    }
}

/// A loopback echo load test: corio, tokio and thread-per-connection
/// servers, one client thread, 64-byte requests, every echo checked.
#[derive(clap::Parser)]
#[command(name = "echo_load")]
struct Args {
    /// How long each run lasts, in seconds (more than 0, at most 3600).
    #[arg(
        long,
        value_name = "S",
        default_value_t = 3.0,
        value_parser = common::positive_up_to(3600.0)
    )]
    secs: f64,
    /// The connection counts to run, comma-separated (each 1 to 10000).
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        default_value = "1,50,500",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000)
    )]
    conns: Vec<usize>,
    /// The servers to run, comma-separated, in order.
    #[arg(
        long,
        value_name = "NAME,...",
        value_delimiter = ',',
        value_parser = ["corio", "tokio", "threads"]
    )]
    servers: Option<Vec<String>>,
    /// Runs N corio/tokio pairs per connection count, alternating which
    /// goes first, and prints their median ratios (0 to 1000).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(..=1000)
    )]
    pairs: usize,
    /// Worker threads of the corio and tokio servers (1 to 1024).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024)
    )]
    workers: usize,
}

fn main() {
    let Args {
        secs,
        conns,
        servers,
        pairs,
        workers,
    } = common::parse_args();
    let servers = match servers.map(|list| list.join(",")) {
        None if pairs == 0 => "corio,tokio,threads".into(),
        Some(given) if pairs == 0 || !matches!(given.as_str(), "corio,tokio" | "tokio,corio") => {
            given
        }
        // `--pairs N` alone or with the one pair corio,tokio: N pairs; pair
        // i runs corio first when i is even, tokio first when odd.
        _ => (0..pairs)
            .map(|i| ["corio,tokio", "tokio,corio"][i % 2])
            .collect::<Vec<_>>()
            .join(","),
    };
    println!(
        "{:>8}  {:>6}  {:>14}  {:>9}  {:>9}  {:>9}  {:>7}  {:>12}",
        "server",
        "conns",
        "round trips/s",
        "bad bytes",
        "user µs",
        "sys µs",
        "workers",
        "conns/worker"
    );
    let mut failed = false;
    let mut summaries = Vec::new();
    for &n in &conns {
        let mut runs: Vec<Run<'_>> = Vec::new();
        for server in servers.split(',') {
            let (ready, ready_rx) = std::sync::mpsc::channel();
            let stop = Arc::new(AtomicBool::new(false));
            let spread = Spread::default();
            let args = ServerArgs {
                ready,
                stop: stop.clone(),
                workers,
                spread: spread.clone(),
            };
            let start: fn(ServerArgs) = match server {
                "corio" => corio_server,
                "tokio" => tokio_server,
                "threads" => threads_server,
                other => panic!("unknown server {other}"),
            };
            let server_thread = std::thread::spawn(move || start(args));
            let addr = ready_rx.recv().unwrap();
            // The client runs on this thread.
            let (process_before, client_before) = (cpu_seconds(true), cpu_seconds(false));
            let (trips, bad) = load(addr, n, secs);
            // Unblock the accept loop so the server thread ends.
            stop.store(true, Ordering::Relaxed);
            let _ = std::net::TcpStream::connect(addr);
            // Each server shuts down before the next starts (and before the
            // process exits), so no run overlaps another.
            server_thread.join().expect("the server thread panicked");
            let (process_after, client_after) = (cpu_seconds(true), cpu_seconds(false));
            let server_part = |pick: fn((f64, f64)) -> f64| {
                let spent = (pick(process_after) - pick(process_before))
                    - (pick(client_after) - pick(client_before));
                spent.max(0.0) / trips.max(1) as f64
            };
            let run = Run {
                server,
                trips_per_sec: trips as f64 / secs,
                server_user_per_trip: server_part(|(user, _)| user),
                server_sys_per_trip: server_part(|(_, sys)| sys),
            };
            let (shown_workers, shown_spread) = match server {
                "threads" => ("-".to_string(), "-".to_string()),
                _ => (workers.to_string(), spread.show(workers)),
            };
            println!(
                "{server:>8}  {n:>6}  {:>14.0}  {bad:>9}  {:>9.2}  {:>9.2}  {shown_workers:>7}  {shown_spread:>12}",
                run.trips_per_sec,
                run.server_user_per_trip * 1e6,
                run.server_sys_per_trip * 1e6
            );
            failed |= bad != 0 || trips == 0;
            runs.push(run);
        }
        if pairs > 0 {
            summaries.push((
                n,
                pair_ratios(&runs, |r| r.trips_per_sec),
                pair_ratios(&runs, |r| r.server_user_per_trip),
            ));
        }
    }
    for (n, rates, cpu) in summaries {
        let shown: Vec<String> = rates.iter().map(|r| format!("{r:.3}")).collect();
        println!(
            "{n} conns: corio/tokio per pair {}; median {:.3}; server user time per trip, median {:.3}; workers {workers}",
            shown.join(" "),
            median(rates),
            median(cpu)
        );
    }
    if failed {
        eprintln!("echo_load: some echoes were wrong or missing");
        std::process::exit(1);
    }
}
