//! The seed's comparison of concurrency strategies, measured here and now:
//! generators stackful and stackless, the bus pipeline, and I/O-bound and
//! CPU-bound work on OS processes, OS threads, corio tasks and tokio tasks,
//! every figure from this run. Prints a Markdown table, writes it and an
//! SVG plot to an output directory, and prints their paths.
//!
//! ```text
//! cargo run --release --example compare                 # about a minute on 2 cores
//! cargo run --release --example compare -- --help
//! cargo run --release --example compare -- --max-n 100000 --secs 2 --mem-mib 4096
//! cargo run --release --features nightly --example compare   # adds `#[coroutine]` rows
//! ```
//!
//! Sections (`--only` takes section names or row names, comma-separated):
//! `generators` (send round trip; create, run and finish), `pipeline` (the
//! `coexpat_bus` pipeline on a generated feed), `io` (N units doing
//! request/response round trips over loopback TCP with an echo server, for
//! N = 10, 100, 1000, ... up to `--max-n`, each N in a fresh child process
//! so that its memory is its own), `cpu` (hashing jobs).
#![cfg_attr(
    feature = "nightly",
    feature(coroutines, coroutine_trait, stmt_expr_attributes)
)]

#[path = "../common/adders.rs"]
mod adders;
#[cfg(feature = "nightly")]
#[path = "../common/adders_nightly.rs"]
mod adders_nightly;
#[path = "../common/mod.rs"]
mod common;
#[path = "../common/hash_chain.rs"]
mod hash_chain;
#[cfg(feature = "nightly")]
#[path = "../common/stackless_bus.rs"]
mod stackless;

mod coro;
mod cpu;
mod io;
mod pipeline;
mod plot;
mod report;
mod sys;
mod units;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Measures concurrency strategies side by side on this machine: a table on
/// standard output and in OUT/compare.md, a plot in OUT/compare.svg.
#[derive(Parser, Debug, Clone)]
#[command(name = "compare")]
pub struct Args {
    /// Largest number of concurrent units in the I/O-bound runs (10, 100,
    /// 1000, ... up to this).
    #[arg(long, default_value_t = 1000)]
    pub max_n: usize,
    /// Seconds of round trips per I/O-bound run; the generator and pipeline
    /// timings take a few times this in all.
    #[arg(long, default_value_t = 0.5)]
    pub secs: f64,
    /// Memory budget for one I/O-bound run in MiB: N stops growing when the
    /// memory per unit measured so far says the next N would pass it.
    #[arg(long, default_value_t = 1024)]
    pub mem_mib: u64,
    /// Only these sections or rows, comma-separated (generators, pipeline,
    /// io, cpu, or a row such as threads, corio-all, tokio-multi).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Buses in the generated feed of the pipeline section (about 570 bytes
    /// each).
    #[arg(long, default_value_t = 4000)]
    pub buses: usize,
    /// Hashing jobs in the CPU-bound section.
    #[arg(long, default_value_t = 16)]
    pub cpu_jobs: u64,
    /// Rounds of SHA-256 over 64 KiB per hashing job.
    #[arg(long, default_value_t = 200)]
    pub cpu_rounds: u32,
    /// Where the table and the plot go.
    #[arg(long, default_value = "target/compare")]
    pub out: PathBuf,
    /// Internal: a child process of the I/O-bound runs.
    #[arg(long, hide = true)]
    pub child: Option<String>,
}

impl Args {
    /// Whether section `name`, whose rows are `rows`, runs.
    pub fn wants_section(&self, name: &str, rows: &[&str]) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|o| o == name || rows.contains(&o.as_str()))
    }

    /// Whether row `row` of a section whose rows are `rows` runs: every row
    /// when `--only` names none of them.
    pub fn wants_row(&self, row: &str, rows: &[&str]) -> bool {
        !self.only.iter().any(|o| rows.contains(&o.as_str())) || self.only.iter().any(|o| o == row)
    }

    /// A time budget for one timed figure.
    pub fn slice(&self, fraction: f64) -> Duration {
        Duration::from_secs_f64((self.secs * fraction).max(0.001))
    }
}

/// Progress on standard error: plain lines, or one line rewritten in place
/// when standard error is a terminal.
pub fn progress(msg: &str) {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K[compare] {msg}");
    } else {
        eprintln!("[compare] {msg}");
    }
}

fn main() {
    // First thing: a process-pool worker started by the CPU section runs
    // its jobs here and never returns.
    corio::procpool::init();
    let args = Args::parse();
    if let Some(child) = &args.child {
        std::process::exit(io::child_main(child));
    }
    let known = |o: &str| {
        ["generators", "pipeline", "io", "cpu"].contains(&o)
            || [coro::ROWS, pipeline::ROWS, io::STRATEGIES, cpu::ROWS]
                .iter()
                .any(|rows| rows.contains(&o))
    };
    if let Some(bad) = args.only.iter().find(|o| !known(o)) {
        eprintln!("compare: --only {bad}: no such section or row (see --help)");
        std::process::exit(2);
    }
    if args.secs <= 0.0 || args.max_n < 1 {
        eprintln!("compare: --secs must be above 0 and --max-n at least 1");
        std::process::exit(2);
    }
    let machine = sys::Machine::read();
    progress(&format!("{machine}"));
    let mut results = report::Results::default();
    if args.wants_section("generators", coro::ROWS) {
        results.generators = coro::run(&args);
    }
    if args.wants_section("pipeline", pipeline::ROWS) {
        results.pipeline = pipeline::run(&args);
    }
    if args.wants_section("io", io::STRATEGIES) {
        results.io = io::run(&args);
    }
    if args.wants_section("cpu", cpu::ROWS) {
        results.cpu = cpu::run(&args);
    }
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    let table = report::markdown(&args, &machine, &results);
    print!("{table}");
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("compare: cannot create {}: {e}", args.out.display());
        std::process::exit(1);
    }
    let md = args.out.join("compare.md");
    let svg = args.out.join("compare.svg");
    let written = std::fs::write(&md, &table)
        .map_err(|e| e.to_string())
        .and_then(|()| plot::draw(&svg, &machine, &results));
    if let Err(e) = written {
        eprintln!("compare: cannot write the results: {e}");
        std::process::exit(1);
    }
    println!();
    println!("table: {}", md.display());
    println!("plot:  {}", svg.display());
}
