//! Coroutine level: a generator's `send` round trip, and creating, running
//! and finishing one, for corio, raw corosensei, the `generator` crate, the
//! compiler's stackless `#[coroutine]` closures (feature `nightly`) and
//! CPython (when `python3` is on the PATH). The bodies are those of
//! `benches/generator.rs` (`examples/common/adders.rs`).

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::adders::{
    corio_adder, corio_once, corio_yielded, corosensei_adder, corosensei_once, corosensei_send,
    fresh_stack, generator_adder, generator_once, INPUT,
};
use crate::{progress, Args};

/// Row names for `--only`.
pub const ROWS: &[&str] = &[
    "corio",
    "corosensei",
    "generator-crate",
    "stackless",
    "python",
];

/// One implementation's figures, in nanoseconds.
pub struct GenRow {
    pub name: &'static str,
    pub kind: &'static str,
    pub send_ns: Option<f64>,
    pub create_ns: Option<f64>,
    pub note: String,
}

/// Median nanoseconds per call of `op`, over 5 batches each of about a
/// tenth of `budget`.
pub fn ns_per_op(budget: Duration, mut op: impl FnMut()) -> f64 {
    let mut n = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            op();
        }
        if start.elapsed() >= budget / 10 || n >= 1 << 32 {
            break;
        }
        n *= 2;
    }
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                op();
            }
            start.elapsed().as_secs_f64() * 1e9 / n as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[2]
}

fn corio_row(budget: Duration) -> GenRow {
    let mut gen = corio_adder();
    let send = ns_per_op(budget, || {
        black_box(corio_yielded(gen.send(black_box(INPUT))));
    });
    let create = ns_per_op(budget, || {
        black_box(corio_once());
    });
    GenRow {
        name: "corio `Generator`",
        kind: "stackful",
        send_ns: Some(send),
        create_ns: Some(create),
        note: "pooled stack".into(),
    }
}

fn corosensei_rows(budget: Duration) -> Vec<GenRow> {
    let mut co = corosensei_adder();
    let send = ns_per_op(budget, || {
        black_box(corosensei_send(&mut co));
    });
    let mut stack = Some(fresh_stack());
    let reused = ns_per_op(budget, || {
        let (r, back) = corosensei_once(stack.take().expect("stack handed back"));
        stack = Some(back);
        black_box(r);
    });
    let fresh = ns_per_op(budget, || {
        black_box(corosensei_once(fresh_stack()).0);
    });
    vec![
        GenRow {
            name: "raw corosensei",
            kind: "stackful",
            send_ns: Some(send),
            create_ns: Some(reused),
            note: "one stack reused".into(),
        },
        GenRow {
            name: "raw corosensei, fresh stack",
            kind: "stackful",
            send_ns: None,
            create_ns: Some(fresh),
            note: "mmap + mprotect + munmap each".into(),
        },
    ]
}

fn generator_crate_row(budget: Duration) -> GenRow {
    let mut gen = generator_adder();
    let send = ns_per_op(budget, || {
        black_box(gen.send(black_box(INPUT)));
    });
    let create = ns_per_op(budget, || {
        black_box(generator_once());
    });
    GenRow {
        name: "`generator` crate 0.8",
        kind: "stackful",
        send_ns: Some(send),
        create_ns: Some(create),
        note: "fresh stack each".into(),
    }
}

#[cfg(feature = "nightly")]
fn stackless_row(budget: Duration) -> GenRow {
    use crate::adders_nightly::{stackless_adder, stackless_once, stackless_send};
    use std::ops::Coroutine;

    let mut co = std::pin::pin!(stackless_adder());
    co.as_mut().resume(0);
    let send = ns_per_op(budget, || {
        black_box(stackless_send(co.as_mut()));
    });
    let create = ns_per_op(budget, || {
        black_box(stackless_once());
    });
    GenRow {
        name: "nightly `#[coroutine]`",
        kind: "stackless",
        send_ns: Some(send),
        create_ns: Some(create),
        note: "a state machine the compiler builds".into(),
    }
}

/// CPython's generator `send` and create + run + finish, timed by the
/// interpreter itself (the loop's own cost included, as `timeit` does).
const PY_GENERATORS: &str = r#"
import sys, time
def gen():
    x = 0
    while True:
        x = yield x + 1
def one(x):
    y = yield x + 1
    return y + 1
n = int(sys.argv[1])
g = gen(); next(g); s = g.send
def sends():
    t = time.perf_counter()
    for _ in range(n):
        s(41)
    return time.perf_counter() - t
def creates():
    t = time.perf_counter()
    for _ in range(n):
        c = one(41)
        y = c.send(None)
        try:
            c.send(y)
        except StopIteration:
            pass
    return time.perf_counter() - t
med = lambda f: sorted(f() for _ in range(5))[2] / n * 1e9
print("version", sys.version.split()[0])
print("send_ns", med(sends))
print("create_ns", med(creates))
"#;

/// Runs a Python script with arguments; its standard output, or why not.
pub fn python(script: &str, args: &[String]) -> Result<String, String> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .map_err(|_| "skipped: no python3 on the PATH".to_owned())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "skipped: python3 failed: {}",
            err.lines().last().unwrap_or("")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The number after `key ` on a line of `text`.
pub fn field(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
}

fn python_row(args: &Args) -> GenRow {
    let n = ((args.secs * 400_000.0) as u64).clamp(2_000, 5_000_000);
    let mut row = GenRow {
        name: "CPython generator",
        kind: "stackless",
        send_ns: None,
        create_ns: None,
        note: String::new(),
    };
    match python(PY_GENERATORS, &[n.to_string()]) {
        Ok(out) => {
            row.send_ns = field(&out, "send_ns");
            row.create_ns = field(&out, "create_ns");
            let version = out.lines().find_map(|l| l.strip_prefix("version "));
            row.note = format!("python {}", version.unwrap_or("3"));
        }
        Err(why) => row.note = why,
    }
    row
}

pub fn run(args: &Args) -> Vec<GenRow> {
    let budget = args.slice(0.2);
    let mut rows = Vec::new();
    let wants = |key| args.wants_row(key, ROWS);
    progress("generators: corio, corosensei, generator 0.8, stackless, CPython");
    if wants("corio") {
        rows.push(corio_row(budget));
    }
    if wants("corosensei") {
        rows.extend(corosensei_rows(budget));
    }
    if wants("generator-crate") {
        rows.push(generator_crate_row(budget));
    }
    if wants("stackless") {
        #[cfg(feature = "nightly")]
        rows.push(stackless_row(budget));
        #[cfg(not(feature = "nightly"))]
        rows.push(GenRow {
            name: "nightly `#[coroutine]`",
            kind: "stackless",
            send_ns: None,
            create_ns: None,
            note: "skipped: build with `--features nightly`".into(),
        });
    }
    if wants("python") {
        rows.push(python_row(args));
    }
    rows
}
