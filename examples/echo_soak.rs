//! A soak test of the course's echo server: many connections for a long
//! time, every byte checked, the server's memory sampled.
//!
//! ```text
//! cargo run --release --example echo_soak -- [--conns N] [--secs S] [--sample-secs S] [--warmup-secs S] [--rss-tolerance-mib M]
//! ```
//!
//! The server is `echo_server`'s own code (`examples/common/echo.rs`: a task
//! per client, `recv` of up to 64 KiB, `send` of what came), run in a child
//! process (this program started again), so its memory is measured alone.
//! This process runs the clients on a corio runtime: `--conns` connections
//! (default 500), each with a writer task and a reader task. The writer
//! sends messages of varied sizes (1 byte to 64 KiB, log-uniform) until
//! `--secs` have passed, then shuts its half down; each message's bytes
//! are a pseudo-random stream seeded by its connection and sequence number,
//! so a lost, repeated, reordered or corrupted piece shows as wrong bytes.
//! The reader is told each message's size and seed before it is written
//! (at most 8 messages ahead, which bounds the bytes in flight), reads its
//! echo and compares every byte, then expects the end of the stream.
//!
//! Every `--sample-secs` (default 5), the server's resident set size is read
//! from `/proc/PID/status`. After `--warmup-secs` (default a quarter of the
//! run, at most 30), the RSS must stay flat: its growth over the first sample
//! after the warm-up is at most `--rss-tolerance-mib` (default 16).
//!
//! Once the clients are done, the server is told to stop (its standard
//! input closes): its runtime unwinds its tasks and it exits.
//!
//! Prints a Markdown table of the figures: messages echoed (round trips),
//! bytes each way, bytes lost and wrong, connection errors, the RSS
//! samples, the server's exit. Exits with status 1 if any byte was lost or
//! wrong, a connection failed, the RSS grew past the tolerance, or the
//! server did not exit cleanly.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corio::net::{TcpListener, TcpStream};
use corio::sync::channel;

/// How many messages a writer may announce before its reader has checked
/// their echoes.
const WINDOW: usize = 8;

/// The largest message, in bytes.
const MAX_MESSAGE: usize = 64 * 1024;

/// The soak's counters, shared by every client task.
#[derive(Default)]
struct Totals {
    /// Messages whose echo came back whole and was checked.
    round_trips: AtomicU64,
    /// Bytes the clients wrote.
    sent: AtomicU64,
    /// Bytes of echo the clients read.
    echoed: AtomicU64,
    /// Bytes of echo that differ from what was sent, or came in excess.
    wrong: AtomicU64,
    /// Connections that failed (connect, read or write errors).
    conn_errors: AtomicU64,
    /// The first few errors, for the report.
    errors: Mutex<Vec<String>>,
}

impl Totals {
    fn error(&self, what: String) {
        self.conn_errors.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 5 {
            errors.push(what);
        }
    }
}

/// SplitMix64: a well-mixed 64-bit value from any seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of message `seq` of connection `conn`.
fn message_seed(conn: u64, seq: u64) -> u64 {
    mix(conn << 40 ^ seq)
}

/// A message's size: 1 byte to 64 KiB, spread evenly over the powers of
/// two, so small and large messages both come often.
fn message_len(seed: u64) -> usize {
    let bits = (seed % 17) as u32; // 2^0 ..= 2^16
    1 + (mix(seed) as usize) % (1usize << bits).min(MAX_MESSAGE)
}

/// Fills `buf` with the bytes of the message of `seed`.
fn fill(buf: &mut [u8], seed: u64) {
    let mut x = seed | 1;
    for chunk in buf.chunks_mut(8) {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
}

/// Sends messages until `deadline`, announcing each to the reader first,
/// then shuts down its half of the connection.
fn writer(
    stream: &TcpStream,
    conn: u64,
    deadline: Instant,
    announce: channel::Sender<u64>,
    totals: &Totals,
) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut seq = 0;
    while Instant::now() < deadline {
        let seed = message_seed(conn, seq);
        let len = message_len(seed);
        fill(&mut buf[..len], seed);
        if announce.send(seed).is_err() {
            return; // the reader gave up
        }
        if let Err(err) = (&*stream).write_all(&buf[..len]) {
            totals.error(format!("connection {conn}: write: {err}"));
            return;
        }
        totals.sent.fetch_add(len as u64, Ordering::Relaxed);
        seq += 1;
    }
    if let Err(err) = stream.shutdown(Shutdown::Write) {
        totals.error(format!("connection {conn}: shutdown: {err}"));
    }
}

/// Reads the echo of every announced message and checks each byte, then
/// expects the end of the stream.
fn reader(stream: &TcpStream, conn: u64, announced: channel::Receiver<u64>, totals: &Totals) {
    let mut expected = vec![0u8; MAX_MESSAGE];
    let mut got = vec![0u8; MAX_MESSAGE];
    let mut failed = false;
    while let Ok(seed) = announced.recv() {
        let len = message_len(seed);
        if failed {
            // Announced after a failure: counted lost once written.
            continue;
        }
        fill(&mut expected[..len], seed);
        let mut filled = 0;
        while filled < len {
            match (&*stream).read(&mut got[filled..len]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) => {
                    totals.error(format!("connection {conn}: read: {err}"));
                    break;
                }
            }
        }
        totals.echoed.fetch_add(filled as u64, Ordering::Relaxed);
        let wrong = expected[..filled]
            .iter()
            .zip(&got[..filled])
            .filter(|(a, b)| a != b)
            .count();
        totals.wrong.fetch_add(wrong as u64, Ordering::Relaxed);
        if filled < len {
            failed = true;
        } else {
            totals.round_trips.fetch_add(1, Ordering::Relaxed);
        }
    }
    if !failed {
        // Every message came back: the server must now close, sending
        // nothing more.
        match (&*stream).read(&mut got) {
            Ok(0) => {}
            Ok(n) => {
                totals.echoed.fetch_add(n as u64, Ordering::Relaxed);
                totals.wrong.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(err) => totals.error(format!("connection {conn}: final read: {err}")),
        }
    }
}

/// One client connection: a writer task and a reader task.
fn client(addr: SocketAddr, conn: u64, deadline: Instant, totals: Arc<Totals>) {
    let stream = match TcpStream::connect(addr) {
        Ok(stream) => Arc::new(stream),
        Err(err) => {
            totals.error(format!("connection {conn}: connect: {err}"));
            return;
        }
    };
    let (announce, announced) = channel::bounded(WINDOW);
    let (s, t) = (stream.clone(), totals.clone());
    let writer = corio::spawn(move || writer(&s, conn, deadline, announce, &t));
    reader(&stream, conn, announced, &totals);
    writer.join().expect("writer task");
}

/// The resident set size of process `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The child's side: `echo_server`'s code on a free port, until standard
/// input closes (the parent is done or gone). Then the main task returns,
/// and the runtime unwinds the server's tasks before the process exits.
fn serve() {
    let done = Arc::new(corio::sync::Event::new());
    let set_done = done.clone();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        set_done.set();
    });
    corio::run(move || {
        let sock = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = sock.local_addr().expect("bound address");
        common::echo::log_err(format_args!("listening on {addr}"));
        let _server = corio::spawn(move || common::echo::server(sock, None));
        done.wait();
    });
}

/// A soak test of echo_server's code: many connections, every byte
/// checked, the server's RSS sampled.
#[derive(clap::Parser)]
#[command(name = "echo_soak")]
struct Args {
    /// Client connections (1 to 10000).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 500,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000)
    )]
    conns: usize,
    /// How long the clients keep sending, in seconds (at most 86400).
    #[arg(long, value_name = "S", default_value_t = 60.0, value_parser = common::positive_up_to(86_400.0))]
    secs: f64,
    /// Seconds between two samples of the server's RSS (at most 3600).
    #[arg(long, value_name = "S", default_value_t = 5.0, value_parser = common::positive_up_to(3600.0))]
    sample_secs: f64,
    /// Seconds before the RSS must stay flat; a quarter of the run, at most
    /// 30, by default.
    #[arg(long, value_name = "S", value_parser = common::positive_up_to(86_400.0))]
    warmup_secs: Option<f64>,
    /// How far the RSS may grow after the warm-up, in MiB.
    #[arg(long, value_name = "M", default_value_t = 16.0, value_parser = common::positive_up_to(1e6))]
    rss_tolerance_mib: f64,
    /// Runs the server (the child's side).
    #[arg(long, hide = true)]
    serve: bool,
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn main() {
    let args: Args = common::parse_args();
    if args.serve {
        serve();
        return;
    }
    let warmup = args.warmup_secs.unwrap_or((args.secs / 4.0).min(30.0));
    let mut child = Command::new(std::env::current_exe().expect("this program's path"))
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server process");
    let pid = child.id();
    let mut server_err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    server_err
        .read_line(&mut line)
        .expect("the server's first line");
    let Some(addr) = line.trim().strip_prefix("listening on ") else {
        eprintln!("echo_soak: the server did not start: {line}");
        std::process::exit(1);
    };
    let addr: SocketAddr = addr.parse().expect("the server's address");
    // The server logs a failed connection on stderr: pass it on.
    let forward = std::thread::spawn(move || {
        let mut lines = 0u64;
        for line in server_err.lines().map_while(Result::ok) {
            lines += 1;
            eprintln!("server: {line}");
        }
        lines
    });

    let totals = Arc::new(Totals::default());
    let (conns, secs, every) = (args.conns, args.secs, args.sample_secs);
    let t = totals.clone();
    let (samples, elapsed) = corio::run(move || {
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(secs);
        let sampler = corio::spawn(move || {
            let mut samples = Vec::new();
            let mut k = 0u32;
            loop {
                let at = Duration::from_secs_f64(every) * k;
                if at.as_secs_f64() > secs {
                    return samples;
                }
                corio::sleep_until(start + at);
                samples.push((at.as_secs_f64(), rss_kib(pid)));
                k += 1;
            }
        });
        let clients: Vec<_> = (0..conns as u64)
            .map(|conn| {
                let t = t.clone();
                corio::spawn(move || client(addr, conn, deadline, t))
            })
            .collect();
        for c in clients {
            c.join().expect("client task");
        }
        (sampler.join().expect("sampler task"), start.elapsed())
    });
    drop(child.stdin.take()); // the server exits
    let status = child.wait().expect("wait for the server");
    let server_lines = forward.join().unwrap_or(0);

    let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
    let (sent, echoed, wrong) = (get(&totals.sent), get(&totals.echoed), get(&totals.wrong));
    let lost = sent.saturating_sub(echoed);
    let conn_errors = get(&totals.conn_errors);
    let measured: Vec<(f64, u64)> = samples
        .iter()
        .filter_map(|&(at, rss)| Some((at, rss?)))
        .collect();
    let after: Vec<u64> = measured
        .iter()
        .filter(|(at, _)| *at >= warmup)
        .map(|&(_, rss)| rss)
        .collect();
    let tolerance_kib = (args.rss_tolerance_mib * 1024.0) as u64;
    let (base, min, max) = match after.as_slice() {
        [] => (0, 0, 0),
        all => (
            all[0],
            *all.iter().min().unwrap(),
            *all.iter().max().unwrap(),
        ),
    };
    let growth = max.saturating_sub(base);
    let rss_ok = !after.is_empty() && growth <= tolerance_kib;

    let secs_run = elapsed.as_secs_f64();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| connections | {conns} |");
    println!("| sending for | {secs} s (whole run {secs_run:.1} s) |");
    println!(
        "| round trips (messages echoed and checked) | {} |",
        get(&totals.round_trips)
    );
    println!("| bytes sent | {sent} |");
    println!("| bytes echoed back | {echoed} |");
    println!(
        "| throughput each way | {:.1} MiB/s |",
        echoed as f64 / secs_run / (1024.0 * 1024.0)
    );
    println!("| bytes lost | {lost} |");
    println!("| bytes wrong | {wrong} |");
    println!("| connection errors | {conn_errors} |");
    println!("| server log lines on stderr | {server_lines} |");
    let shown: Vec<String> = measured.iter().map(|&(_, rss)| mib(rss)).collect();
    println!(
        "| server RSS samples, MiB, every {every} s | {} |",
        shown.join(" ")
    );
    println!("| warm-up | {warmup} s |");
    println!(
        "| server RSS after warm-up, first / min / max | {} / {} / {} MiB ({base} / {min} / {max} KiB) |",
        mib(base),
        mib(min),
        mib(max)
    );
    println!(
        "| server RSS growth after warm-up | {} MiB (tolerance {} MiB) |",
        mib(growth),
        args.rss_tolerance_mib
    );
    println!("| server exit | {status} |");

    for err in totals.errors.lock().unwrap().iter() {
        eprintln!("echo_soak: {err}");
    }
    let mut failed = false;
    if lost != 0 || wrong != 0 || conn_errors != 0 || echoed != sent {
        eprintln!("echo_soak: FAILED: bytes were lost or wrong, or connections failed");
        failed = true;
    }
    if !status.success() {
        eprintln!("echo_soak: FAILED: the server did not shut down cleanly");
        failed = true;
    }
    if after.is_empty() {
        eprintln!("echo_soak: FAILED: no RSS sample after the warm-up");
        failed = true;
    } else if !rss_ok {
        eprintln!("echo_soak: FAILED: the server's RSS grew past the tolerance after the warm-up");
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
    println!("echo_soak: ok");
}
