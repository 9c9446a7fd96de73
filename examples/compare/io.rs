//! I/O-bound: N concurrent units, each connected to one echo server over
//! loopback TCP and doing 64-byte request/response round trips for
//! `--secs`, as OS processes, OS threads, corio tasks on one worker and on
//! all, and tokio tasks on its current-thread and multi-thread runtimes.
//!
//! The echo server (corio on all workers, the same for every row) runs in
//! this process; each strategy and N runs in a fresh child process of this
//! binary (`units.rs`), so that the memory it reports is the units' own:
//! the proportional set size (`Pss`) of the child, and of its own children
//! for the process strategy, once every unit has connected and made one
//! round trip, less the child's before it started any. N goes 10, 30, 100,
//! 300, ... up to `--max-n`, and stops earlier at a limit of the machine
//! (checked before the run, so that the reason can be named) or when the
//! memory per unit measured so far says the next N would pass `--mem-mib`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sys::{soft_limit, sysctl};
use crate::{progress, Args};

pub use crate::units::child_main;

/// The strategies, as `--only` names them.
pub const STRATEGIES: &[&str] = &[
    "processes",
    "threads",
    "corio-1",
    "corio-all",
    "tokio-current",
    "tokio-multi",
];

/// Bytes per request and per response.
pub const MSG: usize = 64;

/// One run: N units of one strategy.
pub struct IoPoint {
    pub n: usize,
    /// Seconds from the first unit started to the last one connected.
    pub startup_s: f64,
    pub trips_per_s: f64,
    /// The units' memory at full load, KiB.
    pub mem_kib: f64,
    pub per_unit_kib: f64,
}

/// A strategy's runs, and why N stopped growing.
pub struct IoLine {
    pub key: &'static str,
    pub workers: usize,
    pub points: Vec<IoPoint>,
    pub stop: String,
}

/// Worker threads a strategy runs on.
pub fn workers(key: &str) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match key {
        "corio-1" | "tokio-current" => 1,
        "corio-all" | "tokio-multi" => cores,
        _ => 0,
    }
}

/// N = 10, 30, 100, 300, ... up to `max`, and `max` itself.
fn sizes(max: usize) -> Vec<usize> {
    let mut ns = Vec::new();
    let mut decade = 10;
    while decade <= max {
        ns.push(decade);
        if decade * 3 <= max {
            ns.push(decade * 3);
        }
        decade *= 10;
    }
    if ns.last() != Some(&max) {
        ns.push(max);
    }
    ns
}

/// Why `n` units of `key` cannot run here, if a limit of the machine says
/// so before trying.
fn limit(key: &str, n: usize) -> Option<String> {
    let n64 = n as u64;
    // Each process or thread has a stack with a guard page, and so has
    // each corio task: two memory mappings a unit.
    if key != "tokio-current" && key != "tokio-multi" {
        if let Some(maps) = sysctl("/proc/sys/vm/max_map_count") {
            if 2 * n64 + 1000 > maps && key != "processes" {
                return Some(format!(
                    "`vm.max_map_count` is {maps}: about {} stacks; `sysctl -w vm.max_map_count=N` raises it",
                    maps / 2
                ));
            }
        }
    }
    if key == "processes" || key == "threads" {
        let procs = soft_limit("Max processes");
        let threads = sysctl("/proc/sys/kernel/threads-max");
        if let Some(max) = procs.into_iter().chain(threads).min() {
            if n64 + 200 > max {
                return Some(format!(
                    "{key}: the limit of processes and threads (`ulimit -u`, `kernel.threads-max`) is {max}"
                ));
            }
        }
    }
    // The server holds one descriptor a unit; the process strategy's
    // parent holds two pipes a unit.
    let per_unit = if key == "processes" { 2 } else { 1 };
    if let Some(fds) = soft_limit("Max open files") {
        if per_unit * n64 + 100 > fds {
            return Some(format!("file descriptors: `ulimit -n` is {fds}"));
        }
    }
    None
}

/// A loopback listener with the longest backlog the system allows (std's
/// 128 would drop connections in a burst of hundreds, and each dropped one
/// waits a second for its retry).
fn listener() -> std::io::Result<std::net::TcpListener> {
    use nix::sys::socket::{
        bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn,
    };
    use std::os::fd::AsRawFd;
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0))?;
    listen(&fd, Backlog::MAXCONN)?;
    Ok(std::net::TcpListener::from(fd))
}

/// The echo server, on a thread of its own; stopped and joined when
/// dropped, so that the process ends with nothing left running.
struct EchoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts the echo server.
fn start_server() -> EchoServer {
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        let rt = corio::Runtime::multi_thread().build().expect("runtime");
        rt.run(move || {
            let listener = listener()
                .and_then(corio::net::TcpListener::from_std)
                .expect("listen on loopback");
            tx.send(listener.local_addr().expect("address")).unwrap();
            while !stopping.load(Ordering::SeqCst) {
                let Ok((mut conn, _)) = listener.accept() else {
                    // Out of descriptors: the unit's connect times out
                    // and the run reports it.
                    corio::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = conn.set_nodelay(true);
                corio::spawn(move || {
                    let mut buf = [0u8; MSG];
                    while conn.read_exact(&mut buf).is_ok() {
                        if conn.write_all(&buf).is_err() {
                            break;
                        }
                    }
                });
            }
            // Returning ends the runtime: the connections' tasks are
            // cancelled.
        })
    });
    EchoServer {
        addr: rx.recv().expect("the echo server starts"),
        stop,
        thread: Some(thread),
    }
}

/// Runs one strategy with `n` units in a child process.
fn run_child(key: &str, n: usize, addr: SocketAddr, secs: f64) -> Result<IoPoint, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("--child")
        .arg(format!("io:{key}:{n}:{addr}:{secs}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a child: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs_f64(secs + 60.0 + n as f64 / 50.0);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("timed out".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    let numbers: Vec<f64> = out
        .strip_prefix("ok ")
        .map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    match (status.success(), &numbers[..]) {
        (true, &[trips, wall, startup, base, loaded]) => Ok(IoPoint {
            n,
            startup_s: startup,
            trips_per_s: trips / wall,
            mem_kib: loaded,
            per_unit_kib: (loaded - base).max(0.0) / n as f64,
        }),
        _ => Err(err
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("failed with no message")
            .trim()
            .to_owned()),
    }
}

pub fn run(args: &Args) -> Vec<IoLine> {
    let server = start_server();
    let addr = server.addr;
    let budget_kib = args.mem_mib as f64 * 1024.0;
    let mut lines = Vec::new();
    for &key in STRATEGIES {
        if !args.wants_row(key, STRATEGIES) {
            continue;
        }
        let mut line = IoLine {
            key,
            workers: workers(key),
            points: Vec::new(),
            stop: String::new(),
        };
        for n in sizes(args.max_n) {
            if let Some(why) = limit(key, n) {
                line.stop = why;
                break;
            }
            if let Some(last) = line.points.last() {
                let projected = last.mem_kib + last.per_unit_kib * (n - last.n) as f64;
                if projected > budget_kib {
                    line.stop = format!(
                        "memory: {n} units would take about {:.0} MiB, over `--mem-mib {}`",
                        projected / 1024.0,
                        args.mem_mib
                    );
                    break;
                }
            }
            progress(&format!("io: {key}, N = {n}"));
            match run_child(key, n, addr, args.secs) {
                Ok(point) => line.points.push(point),
                Err(why) => {
                    line.stop = format!("failed at N = {n}: {why}");
                    break;
                }
            }
        }
        if line.stop.is_empty() {
            line.stop = format!("reached `--max-n {}`", args.max_n);
        }
        lines.push(line);
    }
    lines
}
