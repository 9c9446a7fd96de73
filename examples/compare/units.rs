//! The child side of the I/O-bound runs: N units of one strategy, each
//! connecting to the echo server, making one round trip, waiting until all
//! are ready (the memory is read then), and making round trips for the
//! given seconds. The child prints `ok TRIPS WALL STARTUP BASE LOADED`
//! (seconds; KiB) and exits 0, or prints why on standard error and exits
//! 1: a unit that fails ends the whole child, so nothing waits for it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::io::{workers, MSG};
use crate::sys::pss_kib;

/// What a child measured.
struct Report {
    trips: u64,
    wall: f64,
    startup: f64,
    base: u64,
    loaded: u64,
}

fn die(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("{what}: {e}");
    std::process::exit(1)
}

/// Runs a child described by `spec`; the exit status.
pub fn child_main(spec: &str) -> i32 {
    let parsed = parse(spec).unwrap_or_else(|| die("bad --child", spec));
    match parsed {
        (None, _, addr, secs) => {
            unit_process(addr, secs);
            0
        }
        (Some(key), n, addr, secs) => {
            let report = match key.as_str() {
                "processes" => processes(n, addr, secs),
                "threads" => threads(n, addr, secs),
                "corio-1" | "corio-all" => corio_tasks(workers(&key), n, addr, secs),
                "tokio-current" | "tokio-multi" => tokio_tasks(workers(&key), n, addr, secs),
                _ => die("unknown strategy", key),
            };
            let Report {
                trips,
                wall,
                startup,
                base,
                loaded,
            } = report;
            println!("ok {trips} {wall} {startup} {base} {loaded}");
            0
        }
    }
}

/// `io:KEY:N:ADDR:SECS` or `unit:ADDR:SECS`.
fn parse(spec: &str) -> Option<(Option<String>, usize, SocketAddr, f64)> {
    let (rest, secs) = spec.rsplit_once(':')?;
    let secs: f64 = secs.parse().ok()?;
    if let Some(addr) = rest.strip_prefix("unit:") {
        return Some((None, 1, addr.parse().ok()?, secs));
    }
    let mut parts = rest.strip_prefix("io:")?.splitn(3, ':');
    let key = parts.next()?.to_owned();
    let n = parts.next()?.parse().ok()?;
    let addr = parts.next()?.parse().ok()?;
    Some((Some(key), n, addr, secs))
}

/// One round trip on a blocking-style stream: std's, or corio's, which
/// parks the task instead of the thread.
fn round_trip(stream: &mut (impl Read + Write)) {
    let request = [7u8; MSG];
    let mut response = [0u8; MSG];
    if let Err(e) = stream
        .write_all(&request)
        .and_then(|()| stream.read_exact(&mut response))
    {
        die("round trip", e);
    }
    if response != request {
        die("round trip", "the echo differs from the request");
    }
}

/// Round trips for `secs`; how many.
fn trips_for(stream: &mut (impl Read + Write), secs: f64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut trips = 0;
    while Instant::now() < deadline {
        round_trip(stream);
        trips += 1;
    }
    trips
}

fn connect_std(addr: SocketAddr) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(addr).unwrap_or_else(|e| die("connect", e));
    let _ = stream.set_nodelay(true);
    stream
}

/// A unit of the process strategy: connect, one round trip, `ready`, wait
/// for a line on standard input, round trips, print how many.
fn unit_process(addr: SocketAddr, secs: f64) {
    let mut stream = connect_std(addr);
    round_trip(&mut stream);
    println!("ready");
    let mut go = String::new();
    if std::io::stdin().read_line(&mut go).unwrap_or(0) == 0 {
        return; // the parent is gone
    }
    println!("{}", trips_for(&mut stream, secs));
}

fn processes(n: usize, addr: SocketAddr, secs: f64) -> Report {
    let base = pss_kib("self");
    let exe = std::env::current_exe().unwrap_or_else(|e| die("current_exe", e));
    let start = Instant::now();
    let mut kids: Vec<Child> = Vec::with_capacity(n);
    let fail = |kids: &mut Vec<Child>, what: &str, e: &dyn std::fmt::Display| -> ! {
        for kid in kids.iter_mut() {
            let _ = kid.kill();
            let _ = kid.wait();
        }
        die(what, e)
    };
    for _ in 0..n {
        let spawned = Command::new(&exe)
            .arg("--child")
            .arg(format!("unit:{addr}:{secs}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        match spawned {
            Ok(kid) => kids.push(kid),
            Err(e) => fail(&mut kids, "starting a process", &e),
        }
    }
    let mut outs: Vec<BufReader<_>> = kids
        .iter_mut()
        .map(|k| BufReader::new(k.stdout.take().expect("piped")))
        .collect();
    let mut line = String::new();
    for out in &mut outs {
        line.clear();
        if out.read_line(&mut line).is_err() || line.trim() != "ready" {
            fail(&mut kids, "a unit process", &"ended before it was ready");
        }
    }
    let startup = start.elapsed().as_secs_f64();
    let loaded = pss_kib("self")
        + kids
            .iter()
            .map(|k| pss_kib(&k.id().to_string()))
            .sum::<u64>();
    let go = Instant::now();
    for kid in &mut kids {
        let stdin = kid.stdin.as_mut().expect("piped");
        if let Err(e) = stdin.write_all(b"go\n") {
            fail(&mut kids, "starting a unit", &e);
        }
    }
    let mut trips = 0;
    for out in &mut outs {
        line.clear();
        let _ = out.read_line(&mut line);
        match line.trim().parse::<u64>() {
            Ok(t) => trips += t,
            Err(_) => fail(&mut kids, "a unit process", &"ended without its count"),
        }
    }
    let wall = go.elapsed().as_secs_f64();
    for kid in &mut kids {
        let _ = kid.wait();
    }
    Report {
        trips,
        wall,
        startup,
        base,
        loaded,
    }
}

fn threads(n: usize, addr: SocketAddr, secs: f64) -> Report {
    let base = pss_kib("self");
    let start = Instant::now();
    let ready = Arc::new(Barrier::new(n + 1));
    let go = Arc::new(Barrier::new(n + 1));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (ready, go) = (ready.clone(), go.clone());
            std::thread::Builder::new()
                .spawn(move || {
                    let mut stream = connect_std(addr);
                    round_trip(&mut stream);
                    ready.wait();
                    go.wait();
                    trips_for(&mut stream, secs)
                })
                .unwrap_or_else(|e| die("starting a thread", e))
        })
        .collect();
    ready.wait();
    let startup = start.elapsed().as_secs_f64();
    let loaded = pss_kib("self");
    let begin = Instant::now();
    go.wait();
    let trips = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    Report {
        trips,
        wall: begin.elapsed().as_secs_f64(),
        startup,
        base,
        loaded,
    }
}

fn corio_tasks(workers: usize, n: usize, addr: SocketAddr, secs: f64) -> Report {
    use corio::sync::{Event, WaitGroup};
    let base = pss_kib("self");
    let rt = corio::Runtime::builder()
        .workers(workers)
        .build()
        .unwrap_or_else(|e| die("runtime", e));
    rt.run(move || {
        let start = Instant::now();
        let ready = Arc::new(WaitGroup::new());
        ready.add(n);
        let go = Arc::new(Event::new());
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (ready, go) = (ready.clone(), go.clone());
                corio::spawn(move || {
                    let mut stream =
                        corio::net::TcpStream::connect(addr).unwrap_or_else(|e| die("connect", e));
                    let _ = stream.set_nodelay(true);
                    round_trip(&mut stream);
                    ready.done();
                    go.wait();
                    trips_for(&mut stream, secs)
                })
            })
            .collect();
        ready.wait();
        let startup = start.elapsed().as_secs_f64();
        let loaded = pss_kib("self");
        let begin = Instant::now();
        go.set();
        let trips = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
        Report {
            trips,
            wall: begin.elapsed().as_secs_f64(),
            startup,
            base,
            loaded,
        }
    })
}

fn tokio_tasks(workers: usize, n: usize, addr: SocketAddr, secs: f64) -> Report {
    use tokio::sync::Barrier;
    let base = pss_kib("self");
    let rt = if workers > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .unwrap_or_else(|e| die("runtime", e));
    rt.block_on(async move {
        let start = Instant::now();
        let ready = Arc::new(Barrier::new(n + 1));
        let go = Arc::new(Barrier::new(n + 1));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (ready, go) = (ready.clone(), go.clone());
                tokio::spawn(async move {
                    let mut stream = tokio::net::TcpStream::connect(addr)
                        .await
                        .unwrap_or_else(|e| die("connect", e));
                    let _ = stream.set_nodelay(true);
                    let request = [7u8; MSG];
                    let mut response = [0u8; MSG];
                    let mut trip = async || {
                        stream.write_all(&request).await?;
                        stream.read_exact(&mut response).await?;
                        if response != request {
                            die("round trip", "the echo differs from the request");
                        }
                        std::io::Result::Ok(())
                    };
                    trip().await.unwrap_or_else(|e| die("round trip", e));
                    ready.wait().await;
                    go.wait().await;
                    let deadline = Instant::now() + Duration::from_secs_f64(secs);
                    let mut trips = 0u64;
                    while Instant::now() < deadline {
                        trip().await.unwrap_or_else(|e| die("round trip", e));
                        trips += 1;
                    }
                    trips
                })
            })
            .collect();
        ready.wait().await;
        let startup = start.elapsed().as_secs_f64();
        let loaded = pss_kib("self");
        let begin = Instant::now();
        go.wait().await;
        let mut trips = 0;
        for h in handles {
            trips += h.await.unwrap_or(0);
        }
        Report {
            trips,
            wall: begin.elapsed().as_secs_f64(),
            startup,
            base,
            loaded,
        }
    })
}
