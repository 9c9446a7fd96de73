//! The bus pipeline of `coexpat_bus` on a generated ~10 MB feed, side by
//! side in one run:
//!
//! - `parser_raw`: quick-xml's own event loop, events counted and
//!   dropped (what the parser costs before any conversion);
//! - `parse_only`: corio's XML events (borrowed names and text, checked
//!   nesting) into a counting closure;
//! - `switch_only`: corio's XML events, each followed by a bare corosensei
//!   resume and yield with no stage work: the least a stackful stage taking
//!   one event per switch can cost;
//! - `closures`: the same stages as plain closures, no coroutines (the
//!   floor);
//! - `closures_q64`: the floor behind a 64-event queue: what moving every
//!   event through a queue costs, with no coroutine;
//! - `corio`: the stages as corio generators ([`corio::pipe::Consumer`]),
//!   exactly those of the examples, one switch per item as in Python;
//! - `corio_b64`: the same stages, each queueing 64 items per switch
//!   ([`corio::pipe::Consumer::with_batch`]);
//! - `cothread`: the `corio` pipeline on two threads (the `cothread`
//!   example): the parser and its event conversion on the calling thread,
//!   the bus-record stage, the filters and the printer on another,
//!   behind [`corio::pipe::threaded_scoped`] (its default batches of 256
//!   events); the events still borrow from the document, which outlives
//!   the scope, so nothing is copied to cross;
//! - `stackless` (feature `nightly`): the stages as the compiler's stackless
//!   `#[coroutine]` closures.
//!
//! ```text
//! cargo bench --bench pipeline                      # stable: parsers, closures, corio
//! cargo bench --features nightly --bench pipeline   # adds stackless
//! python3 benches/pipeline.py target/pipeline-bench/buses.xml   # plain Python generators
//! ```
//!
//! `PIPELINE_ROUNDS=N` sets the rounds of the interleaved table printed
//! before criterion's (`-- nomatch` prints that table only);
//! `PIPELINE_ONLY=VARIANT` runs one variant N times instead, for timing
//! against CPython or for profilers (see `only`).
//!
//! The bench writes the feed it measures to
//! `target/pipeline-bench/buses.xml`, for the Python run. Throughput is in
//! bytes of XML per second.
#![cfg_attr(
    feature = "nightly",
    feature(coroutines, coroutine_trait, stmt_expr_attributes)
)]
// `criterion_group!` defines an undocumented `pub fn benches`.
#![allow(missing_docs)]

#[path = "../examples/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use corio::pipe::bus::generate_feed;
use corio::pipe::sink_fn;
use corio::pipe::xml::{self, Event};

use common::bus_pipeline::{run_closures_with, run_corio_with, Lines};

/// About 10 MB of feed.
const BUSES: usize = 18_000;

fn feed() -> String {
    let doc = generate_feed(BUSES, 42);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pipeline-bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("buses.xml"), &doc);
    }
    doc
}

/// One switch per item, as in Python.
fn run_corio(doc: &str) -> usize {
    run_corio_with(doc, 1)
}

/// Batches of 64 items per switch.
fn run_corio_batched(doc: &str) -> usize {
    run_corio_with(doc, 64)
}

/// The `corio` stages on a thread of their own (`pipe::threaded_scoped`,
/// default batches), fed the events of `doc` parsed on this thread. The
/// events borrow from `doc` as they cross: a scoped thread may borrow it,
/// so nothing is copied or reference-counted.
fn run_cothread(doc: &str) -> usize {
    let mut out = Lines::default();
    std::thread::scope(|scope| {
        let out = &mut out;
        let stages = corio::pipe::threaded_scoped(scope, move || {
            // On the other thread: the stages of `run_corio`, unchanged.
            let printer = common::bus_info_printer(out);
            let direction = common::filter_on_field("direction", "North Bound", printer);
            let route = common::filter_on_field("route", "22", direction);
            common::buses_to_dicts(route)
        });
        xml::parse_str(doc, stages).expect("pipeline");
    });
    out.0
}

/// The same stages as plain closures: no coroutine, no switch.
fn run_closures(doc: &str) -> usize {
    run_closures_with(doc, 1)
}

/// The closure floor behind a queue of 64 events, drained in one go: what
/// moving every event through a queue costs, with no coroutine at all.
fn run_closures_queued(doc: &str) -> usize {
    run_closures_with(doc, 64)
}

/// The parser with a bare corosensei switch per event and no stage work:
/// the least a stackful stage that takes one event per switch can cost.
fn run_switch_only(doc: &str) -> usize {
    use corosensei::{Coroutine, CoroutineResult};
    let mut switches = 0usize;
    let mut stage = Coroutine::<usize, (), ()>::new(|yielder, mut n| loop {
        black_box(n);
        n = yielder.suspend(());
    });
    xml::parse_str(
        doc,
        sink_fn(|event: Event<'_>| {
            black_box(&event);
            switches += 1;
            match stage.resume(switches) {
                CoroutineResult::Yield(()) => Ok(()),
                CoroutineResult::Return(()) => unreachable!("the stage loops"),
            }
        }),
    )
    .expect("parse");
    switches
}

/// quick-xml alone, configured as `xml::parse_str` configures it.
fn run_parser_raw(doc: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(doc);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.trim_text(false);
    let mut n = 0;
    loop {
        match reader.read_event().expect("parse") {
            quick_xml::events::Event::Eof => return n,
            event => {
                black_box(&event);
                n += 1;
            }
        }
    }
}

/// corio's XML events, counted.
fn run_parse_only(doc: &str) -> usize {
    let mut n = 0;
    xml::parse_str(
        doc,
        sink_fn(|event: Event<'_>| {
            black_box(&event);
            n += 1;
            Ok(())
        }),
    )
    .expect("parse");
    n
}

#[cfg(feature = "nightly")]
#[path = "../examples/common/stackless_bus.rs"]
mod stackless;

fn bench(c: &mut Criterion) {
    let doc = feed();
    let expected = run_closures(&doc);
    assert_eq!(
        run_closures_queued(&doc),
        expected,
        "queued closures and closures disagree"
    );
    assert_eq!(run_corio(&doc), expected, "corio and closures disagree");
    assert_eq!(
        run_corio_batched(&doc),
        expected,
        "batched corio and closures disagree"
    );
    assert_eq!(
        run_cothread(&doc),
        expected,
        "cothread and closures disagree"
    );
    #[cfg(feature = "nightly")]
    assert_eq!(
        stackless::run(&doc),
        expected,
        "stackless and closures disagree"
    );

    if let Ok(name) = std::env::var("PIPELINE_ONLY") {
        // For profilers (`perf stat`, callgrind): after the agreement
        // checks above, run one variant only.
        only(&doc, &name);
        return;
    }

    interleaved(&doc);

    let mut group = c.benchmark_group("bus_pipeline");
    group.throughput(Throughput::Bytes(doc.len() as u64));
    group.sample_size(30);
    group.bench_function("parser_raw", |b| b.iter(|| run_parser_raw(black_box(&doc))));
    group.bench_function("parse_only", |b| b.iter(|| run_parse_only(black_box(&doc))));
    group.bench_function("switch_only", |b| {
        b.iter(|| run_switch_only(black_box(&doc)))
    });
    group.bench_function("closures", |b| b.iter(|| run_closures(black_box(&doc))));
    group.bench_function("closures_q64", |b| {
        b.iter(|| run_closures_queued(black_box(&doc)))
    });
    group.bench_function("corio", |b| b.iter(|| run_corio(black_box(&doc))));
    group.bench_function("corio_b64", |b| {
        b.iter(|| run_corio_batched(black_box(&doc)))
    });
    group.bench_function("cothread", |b| b.iter(|| run_cothread(black_box(&doc))));
    #[cfg(feature = "nightly")]
    group.bench_function("stackless", |b| b.iter(|| stackless::run(black_box(&doc))));
    group.finish();
}

type Run = for<'d> fn(&'d str) -> usize;

fn variants() -> Vec<(&'static str, Run)> {
    #[allow(unused_mut)] // pushed to with the `nightly` feature
    let mut variants: Vec<(&str, Run)> = vec![
        ("parser_raw", run_parser_raw),
        ("parse_only", run_parse_only),
        ("switch_only", run_switch_only),
        ("closures", run_closures),
        ("closures_q64", run_closures_queued),
        ("corio", run_corio),
        ("corio_b64", run_corio_batched),
        ("cothread", run_cothread),
    ];
    #[cfg(feature = "nightly")]
    variants.push(("stackless", stackless::run));
    variants
}

/// Runs variant `name` `PIPELINE_ROUNDS` times (default 20), after the one
/// pass of every variant that checks they agree: `PIPELINE_ONLY=corio
/// cargo bench --bench pipeline`. For a profiler, run the executable that
/// `cargo bench --bench pipeline --no-run` names, with `--bench`; a count
/// per pass is half the difference between `PIPELINE_ROUNDS=3` and `=1`.
fn only(doc: &str, name: &str) {
    let rounds: usize = std::env::var("PIPELINE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let (_, run) = variants()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("PIPELINE_ONLY: no variant {name:?}"));
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        black_box(run(black_box(doc)));
    }
    let t = start.elapsed().as_secs_f64() / rounds as f64;
    println!("{name}: {rounds} rounds, {:.2} ms per pass", t * 1e3);
}

/// Runs the variants in turn, one pass each per round, and prints the
/// median throughput of each and its ratio to the closure floor (and its
/// best pass; `cothread` is also compared with `corio`). This
/// machine drifts between a fast and a slow phase; interleaving makes the
/// drift hit every variant alike, so the ratios hold even when the absolute
/// figures move.
fn interleaved(doc: &str) {
    let variants = variants();
    let rounds = std::env::var("PIPELINE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in variants.iter().enumerate() {
            let start = std::time::Instant::now();
            black_box(run(black_box(doc)));
            times[i].push(start.elapsed().as_secs_f64());
        }
    }
    let mb = doc.len() as f64 / 1e6;
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let medians: Vec<f64> = times.iter_mut().map(median).collect();
    let floor = variants
        .iter()
        .zip(&medians)
        .find(|((name, _), _)| *name == "closures")
        .map(|(_, t)| *t)
        .expect("the closure floor is a variant");
    println!("interleaved, {rounds} rounds, {mb:.1} MB feed (median per variant; best pass):");
    for ((name, _), (t, all)) in variants.iter().zip(medians.iter().zip(&times)) {
        println!(
            "  {name:<12} {:7.2} ms  {:7.1} MB/s  {:.3}x the closure floor's time  (best {:6.2} ms)",
            t * 1e3,
            mb / t,
            t / floor,
            all[0] * 1e3,
        );
    }
    // Two threads against one: the medians suffer first when other work
    // takes a core; the best passes show what two free cores give.
    let find = |wanted: &str| {
        variants
            .iter()
            .position(|(name, _)| *name == wanted)
            .map(|i| (medians[i], times[i][0]))
    };
    if let (Some(one), Some(two)) = (find("corio"), find("cothread")) {
        println!(
            "  cothread: {:.2}x the throughput of corio (medians), {:.2}x (best passes)",
            one.0 / two.0,
            one.1 / two.1
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
