//! The runtime side by side with tokio's current-thread runtime and OS
//! threads, in one run:
//! - `spawn_join`: spawn a task that returns a number and join it, from
//!   inside a running task;
//! - `channel_ping_pong`: a round trip over two channels between two tasks,
//!   bounded (capacity 1) and unbounded;
//! - `yield_pair`: two tasks calling `yield_now` in turn; one iteration is
//!   two task switches;
//! - `line_echo`: a line round trip over loopback TCP between a client and
//!   a server task of one runtime, both reading through a `BufReader`;
//! - `timers_10k`: 10,000 tasks each sleeping 1 ms at once, all joined;
//!   each sleep starts when its task first runs.
//!
//! ```text
//! cargo bench --bench rt
//! ```
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn spawn_join(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_join");
    group.bench_function("corio", |b| {
        b.iter_custom(|iters| {
            corio::run(|| {
                let start = Instant::now();
                for i in 0..iters {
                    let t = corio::spawn(move || black_box(i));
                    black_box(t.join().unwrap());
                }
                start.elapsed()
            })
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio_current_thread", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    let t = tokio::spawn(async move { black_box(i) });
                    black_box(t.await.unwrap());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("os_thread", |b| {
        b.iter(|| {
            let i = black_box(1u64);
            black_box(std::thread::spawn(move || i).join().unwrap())
        })
    });
    group.finish();
}

/// One round trip: the main task sends a number to an echo task over one
/// channel and receives it back over another.
fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("channel_ping_pong");
    for (label, cap) in [("bounded_1", Some(1)), ("unbounded", None)] {
        group.bench_function(format!("corio_{label}"), |b| {
            b.iter_custom(|iters| {
                corio::run(|| {
                    let ((ping_tx, ping_rx), (pong_tx, pong_rx)) = match cap {
                        Some(n) => (
                            corio::sync::channel::bounded::<u64>(n),
                            corio::sync::channel::bounded::<u64>(n),
                        ),
                        None => (
                            corio::sync::channel::unbounded::<u64>(),
                            corio::sync::channel::unbounded::<u64>(),
                        ),
                    };
                    let echo = corio::spawn(move || {
                        for v in &ping_rx {
                            if pong_tx.send(v + 1).is_err() {
                                break;
                            }
                        }
                    });
                    let start = Instant::now();
                    for i in 0..iters {
                        ping_tx.send(i).unwrap();
                        black_box(pong_rx.recv().unwrap());
                    }
                    let elapsed = start.elapsed();
                    drop(ping_tx);
                    echo.join().unwrap();
                    elapsed
                })
            })
        });
        let rt = tokio_rt();
        group.bench_function(format!("tokio_current_thread_{label}"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start;
                    if let Some(n) = cap {
                        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(n);
                        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(n);
                        let echo = tokio::spawn(async move {
                            while let Some(v) = ping_rx.recv().await {
                                if pong_tx.send(v + 1).await.is_err() {
                                    break;
                                }
                            }
                        });
                        start = Instant::now();
                        for i in 0..iters {
                            ping_tx.send(i).await.unwrap();
                            black_box(pong_rx.recv().await.unwrap());
                        }
                        let elapsed = start.elapsed();
                        drop(ping_tx);
                        echo.await.unwrap();
                        elapsed
                    } else {
                        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
                        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
                        let echo = tokio::spawn(async move {
                            while let Some(v) = ping_rx.recv().await {
                                if pong_tx.send(v + 1).is_err() {
                                    break;
                                }
                            }
                        });
                        start = Instant::now();
                        for i in 0..iters {
                            ping_tx.send(i).unwrap();
                            black_box(pong_rx.recv().await.unwrap());
                        }
                        let elapsed = start.elapsed();
                        drop(ping_tx);
                        echo.await.unwrap();
                        elapsed
                    }
                })
            })
        });
    }
    group.finish();
}

/// Two tasks giving each other the thread: what a task switch costs.
fn yield_pair(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield_pair");
    group.bench_function("corio", |b| {
        b.iter_custom(|iters| {
            corio::run(|| {
                let other = corio::spawn(move || {
                    for _ in 0..iters {
                        corio::yield_now();
                    }
                });
                let start = Instant::now();
                for _ in 0..iters {
                    corio::yield_now();
                }
                let elapsed = start.elapsed();
                other.join().unwrap();
                elapsed
            })
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio_current_thread", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let other = tokio::spawn(async move {
                    for _ in 0..iters {
                        tokio::task::yield_now().await;
                    }
                });
                let start = Instant::now();
                for _ in 0..iters {
                    tokio::task::yield_now().await;
                }
                let elapsed = start.elapsed();
                other.await.unwrap();
                elapsed
            })
        })
    });
    group.finish();
}

/// A line-protocol round trip over loopback TCP, client and server tasks on
/// one runtime, each reading through a `BufReader` (`read_line`).
fn line_echo(c: &mut Criterion) {
    use std::io::{BufRead, BufReader, Write};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

    let mut group = c.benchmark_group("line_echo");
    group.bench_function("corio", |b| {
        b.iter_custom(|iters| {
            corio::run(|| {
                let listener = corio::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                let server = corio::spawn(move || {
                    let (conn, _) = listener.accept().unwrap();
                    let mut reader = BufReader::new(&conn);
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap() > 0 {
                        (&conn).write_all(line.as_bytes()).unwrap();
                        line.clear();
                    }
                });
                let conn = corio::net::TcpStream::connect(addr).unwrap();
                let mut reader = BufReader::new(&conn);
                let (request, mut line) = (b"a request line\n", String::new());
                let start = Instant::now();
                for _ in 0..iters {
                    (&conn).write_all(request).unwrap();
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                }
                let elapsed = start.elapsed();
                conn.shutdown(std::net::Shutdown::Write).unwrap();
                server.join().unwrap();
                elapsed
            })
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio_current_thread", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = tokio::spawn(async move {
                    let (conn, _) = listener.accept().await.unwrap();
                    let (read, mut write) = conn.into_split();
                    let mut reader = tokio::io::BufReader::new(read);
                    let mut line = String::new();
                    while reader.read_line(&mut line).await.unwrap() > 0 {
                        write.write_all(line.as_bytes()).await.unwrap();
                        line.clear();
                    }
                });
                let conn = tokio::net::TcpStream::connect(addr).await.unwrap();
                let (read, mut write) = conn.into_split();
                let mut reader = tokio::io::BufReader::new(read);
                let (request, mut line) = (b"a request line\n", String::new());
                let start = Instant::now();
                for _ in 0..iters {
                    write.write_all(request).await.unwrap();
                    line.clear();
                    reader.read_line(&mut line).await.unwrap();
                }
                let elapsed = start.elapsed();
                write.shutdown().await.unwrap();
                server.await.unwrap();
                elapsed
            })
        })
    });
    group.finish();
}

const TIMERS: usize = 10_000;

fn timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("timers_10k");
    group.sample_size(20);
    let pause = Duration::from_millis(1);
    group.bench_function("corio", |b| {
        b.iter(|| {
            corio::run(|| {
                let tasks: Vec<_> = (0..TIMERS)
                    .map(|_| corio::spawn(move || corio::sleep(pause)))
                    .collect();
                for t in tasks {
                    t.join().unwrap();
                }
            })
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..TIMERS)
                    // `async move` so the sleep starts when the task first
                    // runs, as corio's does; `tokio::spawn(sleep(pause))`
                    // would start it at the spawn.
                    .map(|_| tokio::spawn(async move { tokio::time::sleep(pause).await }))
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = spawn_join, ping_pong, yield_pair, line_echo, timers
}
criterion_main!(benches);
