//! The runtime examples print what their Python originals print (the
//! random order aside).

mod common;

use common::example_stdout;

/// Checks the two-list part: every item once, and while both lists have
/// items left, the two tasks take turns.
fn check_two_lists(lines: &[&str]) {
    let a = ["ss", "dd", "gg"];
    let b = ["1", "2", "5", "6"];
    let mut sorted: Vec<&str> = lines.to_vec();
    sorted.sort();
    let mut expected: Vec<&str> = a.iter().chain(b.iter()).copied().collect();
    expected.sort();
    assert_eq!(sorted, expected, "{lines:?}");
    for pair in lines[..6].chunks(2) {
        assert!(a.contains(&pair[0]) && b.contains(&pair[1]), "{lines:?}");
    }
    assert!(b.contains(&lines[6]), "{lines:?}");
}

#[test]
fn async_and_await_says_hello_and_gathers_two_tasks() {
    let out = example_stdout("async_and_await", &["--sleep-ms", "20"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["Hello, world!", "Hello again!"]);
    check_two_lists(&lines[2..]);
}

#[test]
fn gevent_demo_spawns_and_joins_greenlets() {
    let out = example_stdout("gevent_demo", &["--sleep-ms", "20"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["Hello, world!", "Hello again!"]);
    check_two_lists(&lines[2..]);
}

#[test]
fn echo_load_pairs_corio_with_tokio_and_reports_the_median_ratio() {
    let out = example_stdout(
        "echo_load",
        &["--secs", "0.2", "--conns", "4", "--pairs", "2"],
    );
    let servers: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .take(4)
        .collect();
    // Alternating order, so that a drifting machine favours neither.
    assert_eq!(servers, ["corio", "tokio", "tokio", "corio"], "{out}");
    let summary = out.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("4 conns: corio/tokio per pair ")
            && summary.contains("; median ")
            && summary.contains("; server user time per trip, median ")
            && summary.ends_with("; workers 1"),
        "{out}"
    );
    let ratios = summary
        .split("per pair ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_default();
    assert_eq!(ratios.split_whitespace().count(), 2, "{out}");
}

#[test]
fn echo_load_verifies_every_byte_against_each_server() {
    let out = example_stdout(
        "echo_load",
        &[
            "--secs",
            "0.2",
            "--conns",
            "1,8",
            "--servers",
            "corio,tokio,threads",
        ],
    );
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 6, "{out}");
    for row in rows {
        assert!(["corio", "tokio", "threads"].contains(&row[0]), "{out}");
        assert!(row[2].parse::<f64>().unwrap() > 0.0, "{out}");
        assert_eq!(row[3], "0", "{out}");
        // The server's user and system time per round trip, in µs.
        let cpu: Vec<f64> = row[4..6].iter().map(|c| c.parse().unwrap()).collect();
        assert!(cpu.iter().all(|&t| t >= 0.0), "{out}");
        assert!(cpu[0] + cpu[1] > 0.0, "{out}");
        // One worker by default; no workers for a thread per connection.
        let workers = if row[0] == "threads" { "-" } else { "1" };
        assert_eq!(row[6], workers, "{out}");
    }
}

/// The two-worker servers, in pairs: every echo is checked byte by byte,
/// each row says 2 workers, the spread of connections over them adds up,
/// and each connection count ends with its summary.
#[test]
fn echo_load_runs_corio_and_tokio_on_two_workers() {
    let out = example_stdout(
        "echo_load",
        &[
            "--secs",
            "0.15",
            "--conns",
            "1,6",
            "--servers",
            "corio,tokio",
            "--workers",
            "2",
            "--pairs",
            "2",
        ],
    );
    let (rows, summaries): (Vec<&str>, Vec<&str>) =
        out.lines().skip(1).partition(|l| !l.contains("conns: "));
    let rows: Vec<Vec<&str>> = rows
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 8, "{out}");
    let order = ["corio", "tokio", "tokio", "corio"];
    for (row, &server) in rows.iter().zip(order.iter().cycle()) {
        assert_eq!(row.len(), 8, "{out}");
        assert_eq!(row[0], server, "{out}");
        let conns: usize = row[1].parse().unwrap();
        assert!(row[2].parse::<f64>().unwrap() > 0.0, "{out}");
        assert_eq!(row[3], "0", "{out}");
        assert_eq!(row[6], "2", "{out}");
        // Connections per worker, one count per worker; a connection is
        // counted once it has had an echo.
        let spread: Vec<usize> = row[7].split('+').map(|c| c.parse().unwrap()).collect();
        assert_eq!(spread.len(), 2, "{out}");
        let counted: usize = spread.iter().sum();
        assert!(counted >= 1 && counted <= conns, "{out}");
    }
    assert_eq!(summaries.len(), 2, "{out}");
    for (summary, conns) in summaries.iter().zip([1, 6]) {
        assert!(
            summary.starts_with(&format!("{conns} conns: corio/tokio per pair "))
                && summary.ends_with("; workers 2"),
            "{out}"
        );
    }
}

/// `--help` helps; an unknown flag, a missing, malformed or out-of-range
/// value is a one-line usage error, before any load is run.
#[test]
fn the_runtime_examples_reject_bad_flags_with_a_usage_line() {
    use common::{assert_help, assert_usage_error};
    for name in ["async_and_await", "gevent_demo"] {
        assert_help(name);
        assert_usage_error(name, &["--sleep-ms", "abc"]);
        assert_usage_error(name, &["--sleep-ms", "-5"]);
        assert_usage_error(name, &["--sleep-ms", "99999999999"]);
        assert_usage_error(name, &["--sleep-ms"]);
        assert_usage_error(name, &["--sleep"]);
    }
    assert_help("echo_load");
    for args in [
        &["--secs", "abc"][..],
        &["--secs", "0"],
        &["--secs", "inf"],
        &["--secs", "1e30"],
        &["--conns", "0"],
        &["--conns", "1,,2"],
        &["--conns", "x"],
        &["--servers", "nginx"],
        &["--workers", "0"],
        &["--pairs", "-1"],
        &["--pairs"],
        &["--bogus"],
        &["stray"],
    ] {
        assert_usage_error("echo_load", args);
    }
}
