//! A loopback echo load test: one server thread (corio, tokio's
//! current-thread runtime, or a thread per connection), one client thread
//! (tokio current-thread, the same for every server) with C connections,
//! each sending 64-byte requests and checking every byte of each echo.
//!
//! ```text
//! cargo run --release --example echo_load -- [--secs S] [--conns 1,50,500] [--servers corio,tokio,threads] [--pairs N]
//! ```
//!
//! Prints one line per server and connection count: round trips per
//! second and the number of mismatched bytes (always 0, or the run fails).
//! Every run is bounded by `--secs` (default 3).
//!
//! `--pairs N` compares corio with tokio on a noisy machine: for each
//! connection count it runs N pairs in the order corio, tokio, tokio,
//! corio, ... (so that a drift of the machine favours neither), then
//! prints each pair's ratio of corio's round trips to tokio's and their
//! median.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MSG: usize = 64;

fn corio_server(ready: std::sync::mpsc::Sender<SocketAddr>, stop: Arc<AtomicBool>) {
    corio::run(move || {
        let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        while !stop.load(Ordering::Relaxed) {
            let Ok((mut conn, _)) = listener.accept() else {
                continue;
            };
            conn.set_nodelay(true).unwrap();
            corio::spawn(move || {
                let mut buf = [0u8; MSG];
                while conn.read_exact(&mut buf).is_ok() {
                    if conn.write_all(&buf).is_err() {
                        break;
                    }
                }
            });
        }
    });
}

fn tokio_server(ready: std::sync::mpsc::Sender<SocketAddr>, stop: Arc<AtomicBool>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        while !stop.load(Ordering::Relaxed) {
            let Ok((mut conn, _)) = listener.accept().await else {
                continue;
            };
            conn.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; MSG];
                while conn.read_exact(&mut buf).await.is_ok() {
                    if conn.write_all(&buf).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
}

fn threads_server(ready: std::sync::mpsc::Sender<SocketAddr>, stop: Arc<AtomicBool>) {
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

/// corio's rate over tokio's for each consecutive corio/tokio pair of runs.
fn pair_ratios(rates: &[(&str, f64)]) -> Vec<f64> {
    rates
        .chunks_exact(2)
        .filter_map(|pair| {
            let of = |name| pair.iter().find(|(s, _)| *s == name).map(|(_, r)| *r);
            Some(of("corio")? / of("tokio")?)
        })
        .collect()
}

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn main() {
    let secs: f64 = arg("--secs").map_or(3.0, |s| s.parse().expect("--secs takes seconds"));
    let conns: Vec<usize> = arg("--conns")
        .unwrap_or_else(|| "1,50,500".into())
        .split(',')
        .map(|c| c.parse().expect("--conns takes numbers"))
        .collect();
    let pairs: usize = arg("--pairs").map_or(0, |s| s.parse().expect("--pairs takes a number"));
    let servers = match (arg("--servers"), pairs) {
        (Some(servers), _) => servers,
        (None, 0) => "corio,tokio,threads".into(),
        // Pair i runs corio first when i is even, tokio first when odd.
        (None, n) => (0..n)
            .map(|i| ["corio,tokio", "tokio,corio"][i % 2])
            .collect::<Vec<_>>()
            .join(","),
    };
    println!(
        "{:>8}  {:>6}  {:>14}  {:>9}",
        "server", "conns", "round trips/s", "bad bytes"
    );
    let mut failed = false;
    let mut summaries = Vec::new();
    for &n in &conns {
        let mut rates: Vec<(&str, f64)> = Vec::new();
        for server in servers.split(',') {
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let stop = Arc::new(AtomicBool::new(false));
            let server_stop = stop.clone();
            let start: fn(_, _) = match server {
                "corio" => corio_server,
                "tokio" => tokio_server,
                "threads" => threads_server,
                other => panic!("unknown server {other}"),
            };
            let server_thread = std::thread::spawn(move || start(ready_tx, server_stop));
            let addr = ready_rx.recv().unwrap();
            let (trips, bad) = load(addr, n, secs);
            // Unblock the accept loop so the server thread ends.
            stop.store(true, Ordering::Relaxed);
            let _ = std::net::TcpStream::connect(addr);
            // Each server shuts down before the next starts (and before the
            // process exits), so no run overlaps another.
            server_thread.join().expect("the server thread panicked");
            let rate = trips as f64 / secs;
            println!("{server:>8}  {n:>6}  {rate:>14.0}  {bad:>9}");
            failed |= bad != 0 || trips == 0;
            rates.push((server, rate));
        }
        if pairs > 0 {
            summaries.push((n, pair_ratios(&rates)));
        }
    }
    for (n, mut ratios) in summaries {
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
        ratios.sort_by(f64::total_cmp);
        let mid = ratios.len() / 2;
        let median = match ratios.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => ratios[mid],
            _ => (ratios[mid - 1] + ratios[mid]) / 2.0,
        };
        println!(
            "{n} conns: corio/tokio per pair {}; median {median:.3}",
            shown.join(" ")
        );
    }
    if failed {
        eprintln!("echo_load: some echoes were wrong or missing");
        std::process::exit(1);
    }
}
