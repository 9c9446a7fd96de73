//! The `coexpat_bus` pipeline (XML events → bus records → route "22" →
//! "North Bound" → printer into a line counter) on a generated feed: plain
//! closures (the floor), corio stages (one switch per item, and batches of
//! 64), stackless `#[coroutine]` stages (feature `nightly`), and CPython's
//! generators with expat (`benches/pipeline.py`) when `python3` is there.
//! The Rust variants run in turn, one pass each per round, so that a drift
//! of the machine hits them alike; the figure is the median pass.

use std::time::Instant;

use crate::common::bus_pipeline::{run_closures_with, run_corio_with};
use crate::{progress, Args};

/// Row names for `--only`.
pub const ROWS: &[&str] = &["closures", "corio", "corio-b64", "stackless", "python"];

/// One variant's figure.
pub struct PipeRow {
    pub name: &'static str,
    pub key: &'static str,
    /// Megabytes of XML per second.
    pub mb_per_s: Option<f64>,
    pub note: String,
}

type Run = fn(&str) -> usize;

fn closures(doc: &str) -> usize {
    run_closures_with(doc, 1)
}

fn corio_1(doc: &str) -> usize {
    run_corio_with(doc, 1)
}

fn corio_64(doc: &str) -> usize {
    run_corio_with(doc, 64)
}

#[cfg(feature = "nightly")]
fn stackless(doc: &str) -> usize {
    crate::stackless::run(doc)
}

fn variants() -> Vec<(&'static str, &'static str, Option<Run>)> {
    vec![
        (
            "plain closures (the floor)",
            "closures",
            Some(closures as Run),
        ),
        ("corio stages, one switch per item", "corio", Some(corio_1)),
        ("corio stages, batches of 64", "corio-b64", Some(corio_64)),
        #[cfg(feature = "nightly")]
        (
            "stackless `#[coroutine]` stages",
            "stackless",
            Some(stackless),
        ),
        #[cfg(not(feature = "nightly"))]
        ("stackless `#[coroutine]` stages", "stackless", None),
    ]
}

pub fn run(args: &Args) -> Vec<PipeRow> {
    let doc = corio::pipe::bus::generate_feed(args.buses, 42);
    let mb = doc.len() as f64 / 1e6;
    progress(&format!("pipeline: {mb:.1} MB feed"));
    let chosen: Vec<_> = variants()
        .into_iter()
        .filter(|(_, key, _)| args.wants_row(key, ROWS))
        .collect();
    // One pass of each, checked against the floor: they must agree.
    let expected = closures(&doc);
    for (name, _, run) in &chosen {
        if let Some(run) = run {
            assert_eq!(run(&doc), expected, "{name} and the closures disagree");
        }
    }
    let budget = args.slice(2.0).as_secs_f64();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); chosen.len()];
    let start = Instant::now();
    while times.iter().all(|t| t.len() < 3) || start.elapsed().as_secs_f64() < budget {
        for (i, (_, _, run)) in chosen.iter().enumerate() {
            if let Some(run) = run {
                let pass = Instant::now();
                std::hint::black_box(run(std::hint::black_box(&doc)));
                times[i].push(pass.elapsed().as_secs_f64());
            }
        }
        if times.iter().all(Vec::is_empty) {
            break;
        }
    }
    let mut rows: Vec<PipeRow> = chosen
        .iter()
        .zip(&mut times)
        .map(|((name, key, run), t)| {
            t.sort_by(f64::total_cmp);
            PipeRow {
                name,
                key,
                mb_per_s: t.get(t.len() / 2).map(|median| mb / median),
                note: match run {
                    Some(_) => format!("median of {} passes", t.len()),
                    None => "skipped: build with `--features nightly`".into(),
                },
            }
        })
        .collect();
    if args.wants_row("python", ROWS) {
        rows.push(python(&doc, expected));
    }
    rows
}

/// The same pipeline in CPython, on the same feed written to a temporary
/// file.
fn python(doc: &str, expected: usize) -> PipeRow {
    let mut row = PipeRow {
        name: "CPython generators + expat",
        key: "python",
        mb_per_s: None,
        note: String::new(),
    };
    // A temporary file, removed when the run ends.
    let file = tempfile::NamedTempFile::new().and_then(|mut f| {
        std::io::Write::write_all(&mut f, doc.as_bytes())?;
        Ok(f)
    });
    let file = match file {
        Ok(file) => file,
        Err(e) => {
            row.note = format!("skipped: cannot write the feed for python: {e}");
            return row;
        }
    };
    let path = file.path();
    let script = include_str!("../../benches/pipeline.py");
    match crate::coro::python(script, &[path.display().to_string(), "3".into()]) {
        Ok(out) => {
            // "python 3.11.7: 16 buses printed, median 60.1 ms over 3 runs, 38.0 MB/s"
            let printed = out
                .split(": ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next()?.parse::<usize>().ok());
            let ms = out
                .split("median ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());
            if printed != Some(expected) {
                row.note = format!("python printed {printed:?} buses, Rust {expected}");
            } else if let Some(ms) = ms {
                row.mb_per_s = Some(doc.len() as f64 / 1e6 / (ms / 1e3));
                let version = out.split(':').next().unwrap_or("python").trim();
                row.note = format!("{version}, median of 3 runs");
            }
        }
        Err(why) => row.note = why,
    }
    row
}
