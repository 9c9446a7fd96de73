//! The `comm_via_queue` example prints what its Python original prints.

mod common;

use common::{example_stdout, run_example};

/// The number in "... for 1.23 seconds".
fn seconds(line: &str, prefix: &str) -> f64 {
    let rest = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"));
    let number = rest
        .strip_suffix(" seconds")
        .unwrap_or_else(|| panic!("{line:?} does not end with \" seconds\""));
    number
        .parse()
        .unwrap_or_else(|e| panic!("{number:?} in {line:?}: {e}"))
}

#[test]
fn comm_via_queue_prints_twenty_worker_lines_and_the_summary() {
    let out = example_stdout("comm_via_queue", &["--scale", "0.05"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 23, "output:\n{out}");

    let mut worked_total = 0.0;
    let mut workers_seen = [false; 3];
    for line in &lines[..20] {
        let (name, rest) = line
            .split_once(" has slept for ")
            .unwrap_or_else(|| panic!("{line:?}"));
        let n: usize = name
            .strip_prefix("Worker-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad worker name in {line:?}"));
        assert!(n < 3, "{line:?}");
        workers_seen[n] = true;
        let secs = seconds(rest, "");
        assert!((0.05..=1.0).contains(&secs), "{line:?}");
        // Each value is printed rounded to two decimals, exactly so.
        assert_eq!(rest, format!("{secs:.2} seconds"));
        worked_total += secs;
    }
    // Twenty items over three workers: each one got work.
    assert!(workers_seen.iter().all(|&seen| seen), "output:\n{out}");

    assert_eq!(lines[20], "==========");
    let total = seconds(lines[21], "Total expected sleep time: ");
    let parallel = seconds(lines[22], "3 workers slept in parallel for ");
    // The total is the sum of the (rounded) values printed above.
    assert!(
        (total - worked_total).abs() < 0.11,
        "{total} vs {worked_total}"
    );
    assert!(parallel > 0.0);
    assert!(parallel < total, "parallel {parallel} >= total {total}");
}

#[test]
fn comm_via_queue_rejects_a_bad_scale() {
    let out = run_example("comm_via_queue", &["--scale", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}

/// A scale that would make a sleep too long to represent (or none at all)
/// is a usage error, not a panic in a worker and a `join` that never ends.
#[test]
fn comm_via_queue_rejects_out_of_range_scales_and_helps() {
    common::assert_help("comm_via_queue");
    for args in [
        &["--scale", "1e30"][..],
        &["--scale", "0"],
        &["--scale", "-1"],
        &["--scale", "NaN"],
        &["--scale", "inf"],
        &["--scale", "nope"],
        &["--scale"],
        &["--bogus"],
    ] {
        common::assert_usage_error("comm_via_queue", args);
    }
}
