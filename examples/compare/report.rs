//! The Markdown report: the seed's table with measured rows next to its
//! qualitative ones, then one table per section.

use std::fmt::Write;

use crate::coro::GenRow;
use crate::cpu::CpuRow;
use crate::io::IoLine;
use crate::pipeline::PipeRow;
use crate::sys::Machine;
use crate::Args;

/// Everything one run measured; a section not run is empty.
#[derive(Default)]
pub struct Results {
    pub generators: Vec<GenRow>,
    pub pipeline: Vec<PipeRow>,
    pub io: Vec<IoLine>,
    pub cpu: Vec<CpuRow>,
}

/// The columns of the seed's table: a name and the strategy keys it covers.
const FAMILIES: &[(&str, &[&str])] = &[
    ("OS processes", &["processes"]),
    ("OS threads", &["threads"]),
    ("corio tasks (stackful)", &["corio-1", "corio-all"]),
    ("tokio tasks (stackless)", &["tokio-current", "tokio-multi"]),
];

/// The seed's qualitative rows, one cell per family.
const QUALITATIVE: &[(&str, [&str; 4])] = &[
    (
        "Blocking standard-library calls usable as they are",
        [
            "yes",
            "yes",
            "through corio's types, which keep std's `Read`/`Write` API (a std call blocks its worker)",
            "no: async versions (`.await`)",
        ],
    ),
    (
        "Who schedules",
        [
            "the OS, preemptive",
            "the OS, preemptive",
            "corio's runtime, cooperative",
            "tokio's runtime, cooperative",
        ],
    ),
    (
        "Uses all cores",
        [
            "yes",
            "yes",
            "yes, with `workers(n)`",
            "yes, with the multi-thread runtime",
        ],
    ),
];

/// A short label of a strategy and its workers.
pub fn label(key: &str, workers: usize) -> String {
    match key {
        "corio-1" | "tokio-current" => format!("{key} (1 worker)"),
        "corio-all" | "tokio-multi" => format!("{key} ({workers} workers)"),
        _ => key.to_owned(),
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

/// A number with thousands separators.
pub fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One measured cell of the seed's table per family: `pick` gives a
/// strategy's text, joined with `; ` when a family has two.
fn measured_row(
    out: &mut String,
    title: &str,
    mut pick: impl FnMut(&str) -> Option<String>,
) -> std::fmt::Result {
    let cells: Vec<String> = FAMILIES
        .iter()
        .map(|(_, keys)| {
            let parts: Vec<String> = keys.iter().filter_map(|k| pick(k)).collect();
            if parts.is_empty() {
                "–".to_owned()
            } else {
                parts.join("; ")
            }
        })
        .collect();
    if cells.iter().all(|c| c == "–") {
        return Ok(());
    }
    writeln!(out, "| {title} | {} |", cells.join(" | "))
}

pub fn markdown(args: &Args, machine: &Machine, r: &Results) -> String {
    let mut out = String::new();
    write_all(&mut out, args, machine, r).expect("writing to a String");
    out
}

fn write_all(out: &mut String, args: &Args, machine: &Machine, r: &Results) -> std::fmt::Result {
    writeln!(out, "# Concurrency strategies, measured\n")?;
    writeln!(out, "Machine: {machine}.  ")?;
    writeln!(out, "Command: `{}`\n", machine.command)?;

    writeln!(out, "## The seed's table\n")?;
    let names: Vec<&str> = FAMILIES.iter().map(|(n, _)| *n).collect();
    writeln!(out, "| | {} |", names.join(" | "))?;
    writeln!(out, "|---|{}", "---|".repeat(names.len()))?;
    for (title, cells) in QUALITATIVE {
        writeln!(out, "| {title} | {} |", cells.join(" | "))?;
    }
    let line = |key: &str| r.io.iter().find(|l| l.key == key);
    measured_row(out, "I/O: largest N reached", |k| {
        let l = line(k)?;
        let n = l.points.last().map_or(0, |p| p.n);
        Some(cell(k, thousands(n as f64)))
    })?;
    measured_row(out, "I/O: memory per unit at that N (KiB)", |k| {
        let p = line(k)?.points.last()?;
        Some(cell(k, format!("{:.1}", p.per_unit_kib)))
    })?;
    measured_row(out, "I/O: round trips per second at that N", |k| {
        let p = line(k)?.points.last()?;
        Some(cell(k, thousands(p.trips_per_s)))
    })?;
    measured_row(out, "CPU: speedup over one core", |k| {
        let c = r.cpu.iter().find(|c| c.key == k)?;
        Some(cell(k, format!("{:.2}x", c.speedup)))
    })?;
    writeln!(out)?;

    if !r.generators.is_empty() {
        writeln!(out, "## Generators\n")?;
        writeln!(
            out,
            "| implementation | kind | send round trip (ns) | create + run + finish (ns) | note |"
        )?;
        writeln!(out, "|---|---|---:|---:|---|")?;
        for g in &r.generators {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                g.name,
                g.kind,
                opt(g.send_ns, 2),
                opt(g.create_ns, 1),
                g.note
            )?;
        }
        writeln!(out)?;
    }

    if !r.pipeline.is_empty() {
        let floor = r
            .pipeline
            .iter()
            .find(|p| p.key == "closures")
            .and_then(|p| p.mb_per_s);
        writeln!(
            out,
            "## The bus pipeline ({} buses generated)\n",
            thousands(args.buses as f64)
        )?;
        writeln!(out, "| variant | MB/s | time vs the floor | note |")?;
        writeln!(out, "|---|---:|---:|---|")?;
        for p in &r.pipeline {
            let ratio = match (floor, p.mb_per_s) {
                (Some(f), Some(v)) => format!("{:.2}x", f / v),
                _ => "–".into(),
            };
            writeln!(
                out,
                "| {} | {} | {ratio} | {} |",
                p.name,
                opt(p.mb_per_s, 1),
                p.note
            )?;
        }
        writeln!(out)?;
    }

    if !r.io.is_empty() {
        writeln!(
            out,
            "## I/O-bound: N units making 64-byte round trips over loopback TCP ({} s each)\n",
            args.secs
        )?;
        writeln!(
            out,
            "One echo server (corio on every core, in the parent) serves every row; each row runs in a fresh child process. Memory is the proportional set size (`Pss`) of the units' process(es) with every unit connected, kernel socket buffers not included.\n"
        )?;
        writeln!(
            out,
            "| strategy | N | start-up (ms) | round trips/s | memory (MiB) | KiB per unit |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
        for l in &r.io {
            for p in &l.points {
                writeln!(
                    out,
                    "| {} | {} | {:.1} | {} | {:.1} | {:.1} |",
                    label(l.key, l.workers),
                    thousands(p.n as f64),
                    p.startup_s * 1e3,
                    thousands(p.trips_per_s),
                    p.mem_kib / 1024.0,
                    p.per_unit_kib
                )?;
            }
        }
        writeln!(out, "\n| strategy | largest N | why it stopped |")?;
        writeln!(out, "|---|---:|---|")?;
        for l in &r.io {
            let n = l.points.last().map_or(0, |p| p.n);
            writeln!(
                out,
                "| {} | {} | {} |",
                label(l.key, l.workers),
                thousands(n as f64),
                l.stop
            )?;
        }
        writeln!(out)?;
    }

    if !r.cpu.is_empty() {
        writeln!(
            out,
            "## CPU-bound: {} jobs of SHA-256 over 64 KiB, {} rounds each\n",
            args.cpu_jobs, args.cpu_rounds
        )?;
        writeln!(
            out,
            "| strategy | workers | time (ms) | speedup over one core | note |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---|")?;
        for c in &r.cpu {
            writeln!(
                out,
                "| {} | {} | {:.1} | {:.2}x | {} |",
                c.key, c.workers, c.ms, c.speedup, c.note
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// A measured cell of the seed's table: prefixed with the worker count
/// where a family has two strategies.
fn cell(key: &str, text: String) -> String {
    match key {
        "corio-1" | "tokio-current" => format!("1 worker: {text}"),
        "corio-all" | "tokio-multi" => format!("all: {text}"),
        _ => text,
    }
}
