//! corio's generators against raw corosensei, the `generator` crate and (with
//! the `nightly` feature) the compiler's stackless coroutines.
//!
//! ```text
//! cargo bench --bench generator -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench generator --features nightly -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Three groups, one row per implementation, so one run prints a table:
//!
//! - `send_round_trip`: one resume of a suspended coroutine that adds one to
//!   the value it receives and yields it back.
//! - `create_finish`: create a coroutine, resume it into its body, which
//!   yields once; resume it again so that it returns; drop it.
//! - `two_in_turn`: two suspended coroutines resumed alternately, one
//!   round trip each per iteration (what a scheduler does between tasks:
//!   every switch lands on another stack).
//!
//! `GEN_INTERLEAVED=ROUNDS cargo bench --bench generator -- nomatch`
//! instead alternates corio and corosensei send loops round by round and
//! prints their ratio (this machine drifts between a fast and a slow
//! phase).
//!
//! Every implementation does the same work per iteration: the input goes
//! through `black_box`, the body computes `x + 1`, and criterion consumes
//! the output.

#![cfg_attr(
    feature = "nightly",
    feature(coroutines, coroutine_trait, stmt_expr_attributes)
)]

use std::hint::black_box;

use corio::stack::DEFAULT_STACK_SIZE;
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use criterion::Criterion;

#[path = "../examples/common/adders.rs"]
mod adders;
#[cfg(feature = "nightly")]
#[path = "../examples/common/adders_nightly.rs"]
mod adders_nightly;

use adders::{
    corio_adder, corio_once, corio_yielded, corosensei_adder, corosensei_once, corosensei_send,
    fresh_stack, generator_adder, generator_once, INPUT,
};

fn send_round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("send_round_trip");

    group.bench_function("corio", |b| {
        let mut gen = corio_adder();
        b.iter(|| corio_yielded(gen.send(black_box(INPUT))));
    });

    group.bench_function("corosensei", |b| {
        let mut co = corosensei_adder();
        b.iter(|| corosensei_send(&mut co));
    });

    group.bench_function("generator_0_8", |b| {
        let mut gen = generator_adder();
        b.iter(|| gen.send(black_box(INPUT)));
    });

    #[cfg(feature = "nightly")]
    group.bench_function("stackless_nightly", |b| {
        use adders_nightly::{stackless_adder, stackless_send};
        use std::ops::Coroutine;

        let mut co = std::pin::pin!(stackless_adder());
        co.as_mut().resume(0);
        b.iter(|| stackless_send(co.as_mut()));
    });

    group.finish();
}

fn create_finish(c: &mut Criterion) {
    let mut group = c.benchmark_group("create_finish");

    group.bench_function("corio_pooled", |b| {
        // The first iteration may map the stack; from then on every
        // generator takes it from the pool and gives it back when dropped.
        let before = corio::stack::pool_stats();
        b.iter(corio_once);
        let after = corio::stack::pool_stats();
        assert!(
            after.mapped - before.mapped <= 1,
            "the pool did not serve the benchmark: {before:?} then {after:?}"
        );
    });

    // The peer of `corio_pooled`: one stack, handed from each finished
    // coroutine to the next.
    group.bench_function("corosensei_reused_stack", |b| {
        let mut stack = Some(fresh_stack());
        b.iter(|| {
            let (r, back) =
                corosensei_once(stack.take().expect("stack returned by the last iteration"));
            stack = Some(back);
            r
        });
    });

    // A stack mapped and unmapped per coroutine (mmap, mprotect, munmap), as
    // every corio generator would cost without the pool.
    group.bench_function("corosensei_fresh_stack", |b| {
        b.iter(|| corosensei_once(fresh_stack()).0);
    });

    // The `generator` crate maps a fresh stack (its default, 32 KiB) for
    // every generator.
    group.bench_function("generator_0_8", |b| b.iter(generator_once));

    #[cfg(feature = "nightly")]
    group.bench_function("stackless_nightly", |b| {
        b.iter(adders_nightly::stackless_once)
    });

    group.finish();
}

/// `GEN_INTERLEAVED=<rounds>`: instead of criterion, time 1M round trips
/// of corio and of raw corosensei in turn, `rounds` times, and print the
/// median of each and their ratio. Both share every drift of this machine,
/// so the ratio holds when criterion's absolute figures move between runs.
fn interleaved(rounds: usize) {
    const N: u64 = 1_000_000;
    let mut gen = corio_adder();
    let mut co = corosensei_adder();
    let mut corio = Vec::new();
    let mut raw = Vec::new();
    for _ in 0..rounds {
        let start = std::time::Instant::now();
        for _ in 0..N {
            black_box(corio_yielded(gen.send(black_box(INPUT))));
        }
        corio.push(start.elapsed().as_secs_f64() * 1e9 / N as f64);
        let start = std::time::Instant::now();
        for _ in 0..N {
            black_box(corosensei_send(&mut co));
        }
        raw.push(start.elapsed().as_secs_f64() * 1e9 / N as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (c, r) = (median(&mut corio), median(&mut raw));
    println!(
        "send_round_trip, {rounds} interleaved rounds of {N}: corio {c:.2} ns, corosensei {r:.2} ns, ratio {:.3}",
        c / r
    );
}

/// Two raw corosensei coroutines whose bodies loop over `step`, resumed in
/// turn.
/// `step` is generic, so that a closure inlines into the body's loop.
fn two_corosensei<F>(b: &mut criterion::Bencher<'_>, step: F)
where
    F: Fn(&Yielder<u64, u64>, u64) -> u64 + Copy + 'static,
{
    let adder = || {
        let mut co = Coroutine::with_stack(
            DefaultStack::new(DEFAULT_STACK_SIZE).expect("stack"),
            move |yielder: &Yielder<u64, u64>, mut x: u64| -> u64 {
                loop {
                    x = step(yielder, x);
                }
            },
        );
        co.resume(0);
        co
    };
    let (mut a, mut z) = (adder(), adder());
    let resume = |co: &mut Coroutine<u64, u64, u64, DefaultStack>| match co.resume(black_box(INPUT))
    {
        CoroutineResult::Yield(y) => y,
        CoroutineResult::Return(_) => unreachable!("the benchmark body yields"),
    };
    b.iter(|| resume(&mut a) + resume(&mut z));
}

fn two_in_turn(c: &mut Criterion) {
    let mut group = c.benchmark_group("two_in_turn");

    group.bench_function("corio", |b| {
        let (mut a, mut z) = (corio_adder(), corio_adder());
        b.iter(|| {
            corio_yielded(a.send(black_box(INPUT))) + corio_yielded(z.send(black_box(INPUT)))
        });
    });

    group.bench_function("corosensei", |b| {
        two_corosensei(b, |yielder, x| yielder.suspend(x + 1))
    });

    // The same, but each body suspends inside a function it calls: after
    // every switch a return goes where the CPU's return predictor does not
    // expect it (its entries belong to the other stack).
    #[inline(never)]
    fn add_one_via_call(yielder: &Yielder<u64, u64>, x: u64) -> u64 {
        yielder.suspend(x + 1)
    }
    group.bench_function("corosensei_suspend_in_call", |b| {
        two_corosensei(b, add_one_via_call)
    });

    group.finish();
}

// `criterion_group!` defines an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(
        benches,
        super::send_round_trip,
        super::create_finish,
        super::two_in_turn
    );
}

fn main() {
    if let Some(rounds) = std::env::var("GEN_INTERLEAVED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        interleaved(rounds);
        return;
    }
    group::benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
