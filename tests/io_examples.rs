//! The I/O examples print what their Python originals print (modulo times,
//! dates and ports).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};

use common::{example_path, example_stdout, run_example};

/// Whether `s` looks like `2019-11-15 14:34:36.622387`.
fn is_timestamp(s: &str) -> bool {
    let pattern = "dddd-dd-dd dd:dd:dd.dddddd";
    s.len() == pattern.len()
        && s.chars().zip(pattern.chars()).all(|(c, p)| match p {
            'd' => c.is_ascii_digit(),
            _ => c == p,
        })
}

#[test]
fn get_date_prints_the_date_its_child_printed() {
    let out = example_stdout("get_date", &[]);
    let date = out
        .strip_prefix("Current date: ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("unexpected output: {out:?}"));
    assert!(is_timestamp(date), "not a timestamp: {date:?}");
}

#[test]
fn thread_pool_async_says_its_server_is_local_and_prints_the_sizes_of_the_sites_that_resolve() {
    assert_eq!(
        example_stdout("thread_pool_async", &[]),
        "(the pages come from a local server on 127.0.0.1 that stands in for the sites)\n\
         http://europe.wsj.com/ page is 245301 bytes.\n\
         http://www.bbc.co.uk/ page is 318845 bytes.\n\
         http://www.cnn.com/ page is 1135632 bytes.\n\
         http://www.foxnews.com/ page is 289214 bytes.\n"
    );
}

#[test]
fn echo_server_self_test_serves_every_client() {
    const N: usize = 20;
    let out = example_stdout("echo_server", &["--self-test", &N.to_string()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"Server starting"), "{out}");
    let connections = lines
        .iter()
        .filter(|l| l.starts_with("Connection from ('127.0.0.1', ") && l.ends_with(')'))
        .count();
    assert_eq!(connections, N, "{out}");
    assert_eq!(
        lines.iter().filter(|l| **l == "Client closed").count(),
        N,
        "{out}"
    );
    let last = lines.last().unwrap();
    assert!(
        last.starts_with(&format!("Self-test: {N} clients, ")),
        "{out}"
    );
    assert_eq!(lines.len(), 2 * N + 2, "{out}");
}

/// Starts `echo_server` on a free port; returns it, the address it says
/// it listens on, and the rest of its standard error.
fn start_echo_server() -> (
    std::process::Child,
    SocketAddr,
    BufReader<std::process::ChildStderr>,
) {
    let mut child = Command::new(example_path("echo_server"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected stderr: {line:?}"))
        .parse()
        .unwrap();
    (child, addr, stderr)
}

#[test]
fn echo_server_serves_a_real_client_until_killed() {
    let (mut child, addr, _stderr) = start_echo_server();

    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut next_line = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line
    };
    assert_eq!(next_line(), "Server starting\n");

    let mut client = TcpStream::connect(addr).unwrap();
    let port = client.local_addr().unwrap().port();
    assert_eq!(
        next_line(),
        format!("Connection from ('127.0.0.1', {port})\n")
    );
    client.write_all(b"hello, coroutines\n").unwrap();
    let mut echo = [0; 18];
    client.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"hello, coroutines\n");
    drop(client);
    assert_eq!(next_line(), "Client closed\n");

    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn echo_server_rejects_bad_arguments() {
    let out = run_example("echo_server", &["--port", "not-a-port"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}

#[test]
fn the_io_examples_reject_bad_flags_with_a_usage_line() {
    use common::{assert_help, assert_usage_error};
    for name in ["get_date", "thread_pool_async"] {
        assert_help(name);
        assert_usage_error(name, &["--verbose"]);
        assert_usage_error(name, &["extra"]);
    }
    assert_help("echo_server");
    for args in [
        &["--port", "not-a-port"][..],
        &["--port", "65536"],
        &["--port"],
        &["--self-test", "0"],
        &["--self-test", "many"],
        &["--bogus"],
    ] {
        assert_usage_error("echo_server", args);
    }
}

/// `echo_server | head -1`: once its standard output is closed, the server
/// goes on serving (its log lines are lost, its clients are not).
#[test]
fn echo_server_keeps_serving_after_its_stdout_is_closed() {
    let (mut child, addr, mut stderr) = start_echo_server();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "Server starting\n");
    // What `head -1` does once it has its line.
    drop(stdout);

    for round in 0..3 {
        let mut client = TcpStream::connect(addr).unwrap();
        let message = format!("still serving, round {round}\n");
        client.write_all(message.as_bytes()).unwrap();
        let mut echo = vec![0; message.len()];
        let echoed = client.read_exact(&mut echo);
        if echoed.is_err() {
            let _ = child.kill();
        }
        assert!(echoed.is_ok(), "round {round}: {echoed:?}");
        assert_eq!(echo, message.as_bytes());
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Nothing panicked on the way.
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(!rest.contains("panicked"), "{rest}");
}

/// The figure `name` of a Markdown table of `| name | value |` rows.
fn table_value<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|line| line.strip_prefix(&format!("| {name} | ")))
        .and_then(|rest| rest.strip_suffix(" |"))
        .unwrap_or_else(|| panic!("no row {name:?} in:\n{out}"))
}

#[test]
fn echo_soak_checks_every_byte_and_samples_the_servers_memory() {
    // A one-second run is about the figures, not about memory: the RSS
    // tolerance is wide (under AddressSanitizer, freed memory is held in
    // quarantine, so the RSS grows).
    let out = example_stdout(
        "echo_soak",
        &[
            "--conns",
            "4",
            "--secs",
            "1",
            "--sample-secs",
            "0.2",
            "--rss-tolerance-mib",
            "4096",
        ],
    );
    assert_eq!(table_value(&out, "connections"), "4");
    let trips: u64 = table_value(&out, "round trips (messages echoed and checked)")
        .parse()
        .unwrap();
    assert!(trips > 0, "{out}");
    let sent = table_value(&out, "bytes sent");
    assert_eq!(table_value(&out, "bytes echoed back"), sent, "{out}");
    assert_ne!(sent, "0", "{out}");
    assert_eq!(table_value(&out, "bytes lost"), "0", "{out}");
    assert_eq!(table_value(&out, "bytes wrong"), "0", "{out}");
    assert_eq!(table_value(&out, "connection errors"), "0", "{out}");
    // A sample at 0 s, then one every 0.2 s to the end of the run.
    let samples = table_value(&out, "server RSS samples, MiB, every 0.2 s");
    assert_eq!(samples.split(' ').count(), 6, "{out}");
    assert!(
        samples
            .split(' ')
            .all(|s| s.parse::<f64>().is_ok_and(|mib| mib > 0.0)),
        "{out}"
    );
    assert_eq!(table_value(&out, "warm-up"), "0.25 s", "{out}");
    assert_eq!(table_value(&out, "server exit"), "exit status: 0", "{out}");
    assert!(out.ends_with("echo_soak: ok\n"), "{out}");
}

#[test]
fn echo_soak_rejects_bad_flags_with_a_usage_line() {
    use common::{assert_help, assert_usage_error};
    assert_help("echo_soak");
    for args in [
        &["--conns", "0"][..],
        &["--conns", "many"],
        &["--secs", "0"],
        &["--secs", "-1"],
        &["--sample-secs", "nan"],
        &["--rss-tolerance-mib"],
        &["--bogus"],
        &["extra"],
    ] {
        assert_usage_error("echo_soak", args);
    }
}
