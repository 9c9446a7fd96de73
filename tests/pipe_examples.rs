//! Runs the nine pipeline examples on generated input and checks their exact
//! output, and their errors for bad input.
//!
//! The examples are the binaries that `cargo test` builds next to this test
//! (see `tests/common`).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use corio::pipe::bus::generate_feed;
use corio::pipe::xml::{self, Event, Text};
use corio::pipe::{self, bus::Bus};

fn example(name: &str) -> Command {
    Command::new(common::example_path(name))
}

fn run(name: &str, args: &[&Path]) -> Output {
    example(name)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run example")
}

fn stdout_of(name: &str, args: &[&Path]) -> String {
    let out = run(name, args);
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

const TEXT: &str = "Python is fun\r\npython generators\nswig wraps C\nno match here\n\
                    ply and python and swig\nreply\nlast python line without newline";

#[test]
fn copipe_prints_matching_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "text.txt", TEXT);
    let out = example("copipe").arg(&file).arg("python").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "python generators\nply and python and swig\nlast python line without newline"
    );
}

#[test]
fn coprocess_prints_what_copipe_prints() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "text.txt", TEXT);
    let out = example("coprocess")
        .arg(&file)
        .arg("python")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        printed,
        "python generators\nply and python and swig\nlast python line without newline"
    );
    let copipe = example("copipe").arg(&file).arg("python").output().unwrap();
    assert_eq!(printed.as_bytes(), copipe.stdout);

    // Many lines, many frames: all of them, in order.
    let many: String = (0..20_000).map(|i| format!("line {i} python\n")).collect();
    let file = write(dir.path(), "many.txt", &many);
    let out = example("coprocess")
        .arg(&file)
        .arg("python")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), many);
}

#[test]
fn cobroadcast_prints_each_match_of_each_grep() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "text.txt", TEXT);
    // greps python, swig, ply in turn, all into one printer
    assert_eq!(
        stdout_of("cobroadcast", &[&file]),
        "python generators\nswig wraps C\n\
         ply and python and swig\nply and python and swig\nply and python and swig\n\
         reply\nlast python line without newline"
    );
}

/// A small feed; the expected outputs below are what the seed's
/// `basicsax.py` and `cosax.py` print for it (Python 3.11; the cosax start
/// events' attribute objects are printed as the dict `{}`).
const TINY: &str = "<?xml version=\"1.0\"?>\r\n<buses>\r\n\t<bus>\r\n\t\t<id>7574</id>\r\n    \
                    \t<finalStop><![CDATA[Forest Preserve Ave & Harlem/Irving Park Road]]></finalStop>\r\n\
                    \t\t<note>it's \"quoted\" back\\slash</note>  \r\n\t</bus>\r\n</buses>\r\n";

const TINY_BASICSAX: &str = r#"startElement buses
characters '\n'
characters '\t'
startElement bus
characters '\n'
characters '\t\t'
startElement id
characters '7574'
endElement id
characters '\n'
characters '    \t'
startElement finalStop
characters 'Forest Preserve Ave & Harlem/Irving Par
endElement finalStop
characters '\n'
characters '\t\t'
startElement note
characters 'it\'s "quoted" back\\slash'
endElement note
characters '  '
characters '\n'
characters '\t'
endElement bus
characters '\n'
endElement buses
"#;

const TINY_COSAX: &str = r#"('start', ('buses', {}))
('content', '\n')
('content', '\t')
('start', ('bus', {}))
('content', '\n')
('content', '\t\t')
('start', ('id', {}))
('content', '7574')
('end', 'id')
('content', '\n')
('content', '    \t')
('start', ('finalStop', {}))
('content', 'Forest Preserve Ave & Harlem/Irving Park Road')
('end', 'finalStop')
('content', '\n')
('content', '\t\t')
('start', ('note', {}))
('content', 'it\'s "quoted" back\\slash')
('end', 'note')
('content', '  ')
('content', '\n')
('content', '\t')
('end', 'bus')
('content', '\n')
('end', 'buses')
"#;

#[test]
fn basicsax_and_cosax_print_what_python_prints() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "tiny.xml", TINY);
    assert_eq!(stdout_of("basicsax", &[&file]), TINY_BASICSAX);
    assert_eq!(stdout_of("cosax", &[&file]), TINY_COSAX);
    // The translation the generated-feed test relies on holds for Python's
    // own output.
    let translated: Vec<String> = TINY_COSAX.lines().map(cosax_line_as_basicsax).collect();
    assert_eq!(TINY_BASICSAX.lines().collect::<Vec<_>>(), translated);
}

#[test]
fn basicsax_and_cosax_agree_on_a_generated_feed() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "feed.xml", &generate_feed(40, 3));
    let basic = stdout_of("basicsax", &[&file]);
    let co = stdout_of("cosax", &[&file]);
    assert!(
        co.contains("('content', 'North Bound')\n") || co.contains("('content', 'South Bound')\n")
    );
    // The same events, line for line, in each program's format: basicsax
    // prints the first 40 characters of a text's repr, cosax all of it.
    let translated: Vec<String> = co.lines().map(cosax_line_as_basicsax).collect();
    assert_eq!(basic.lines().collect::<Vec<_>>(), translated);
}

/// A line of `cosax` output as `basicsax` prints the same event.
fn cosax_line_as_basicsax(line: &str) -> String {
    if let Some(rest) = line.strip_prefix("('start', ('") {
        let name = rest.strip_suffix("', {}))").expect("a start event");
        format!("startElement {name}")
    } else if let Some(rest) = line.strip_prefix("('end', '") {
        format!(
            "endElement {}",
            rest.strip_suffix("')").expect("an end event")
        )
    } else {
        let repr = line
            .strip_prefix("('content', ")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("not a cosax event: {line}"));
        format!("characters {}", repr.chars().take(40).collect::<String>())
    }
}

/// What `bus_locations` prints for `feed`, computed here without the
/// examples' stages.
fn expected_buses(feed: &str) -> String {
    let mut out = String::new();
    let mut bus: Option<Bus<'_>> = None;
    let mut text: Vec<Text<'_>> = Vec::new();
    xml::parse_str(
        feed,
        pipe::sink_fn(|event: Event<'_>| {
            match (event, &mut bus) {
                (Event::Start(s), None) if s.name == "bus" => bus = Some(Bus::new()),
                (Event::Start(_), _) => text.clear(),
                (Event::Text(t), Some(_)) => text.push(t),
                (Event::End(n), Some(b)) if n != "bus" => b.insert(n, Text::join(&text)),
                (Event::End(_), Some(b)) => {
                    let f = |k| b.get(k).unwrap().to_string();
                    if f("route") == "22" && f("direction") == "North Bound" {
                        out += &format!(
                            "{}, {}, {}, {}, {}\n",
                            f("route"),
                            f("id"),
                            f("direction"),
                            f("latitude"),
                            f("longitude")
                        );
                    }
                    bus = None;
                }
                _ => {}
            }
            Ok(())
        }),
    )
    .unwrap();
    out
}

#[test]
fn bus_examples_print_route_22_north_bound() {
    let dir = tempfile::tempdir().unwrap();
    let feed = generate_feed(300, 11);
    let file = write(dir.path(), "allroutes.xml", &feed);
    let expected = expected_buses(&feed);
    assert!(expected.lines().count() > 5, "the feed has matching buses");
    assert!(expected.starts_with("22, "));
    assert_eq!(stdout_of("cosax_bus", &[&file]), expected);
    assert_eq!(stdout_of("coexpat_bus", &[&file]), expected);
}

#[test]
fn cothread_prints_what_cosax_bus_prints() {
    let dir = tempfile::tempdir().unwrap();
    // Enough buses for many batches of events to cross between the threads.
    let feed = generate_feed(2_000, 5);
    let file = write(dir.path(), "allroutes.xml", &feed);
    let single = stdout_of("cosax_bus", &[&file]);
    let threaded = stdout_of("cothread", &[&file]);
    assert!(single.lines().count() > 50, "the feed has matching buses");
    assert_eq!(
        threaded.lines().collect::<Vec<_>>(),
        single.lines().collect::<Vec<_>>()
    );
    assert_eq!(threaded, expected_buses(&feed));
}

#[test]
fn coprocess_bus_prints_what_cosax_bus_prints() {
    let dir = tempfile::tempdir().unwrap();
    // Enough buses for many frames of records to cross to the child.
    let feed = generate_feed(2_000, 7);
    let file = write(dir.path(), "allroutes.xml", &feed);
    let single = stdout_of("cosax_bus", &[&file]);
    let two_processes = stdout_of("coprocess_bus", &[&file]);
    assert!(single.lines().count() > 50, "the feed has matching buses");
    assert_eq!(two_processes, single);
    assert_eq!(two_processes, expected_buses(&feed));
}

#[test]
fn bus_examples_end_quietly_on_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "allroutes.xml", &generate_feed(3_000, 2));
    for name in ["cosax_bus", "cothread", "coprocess_bus"] {
        let mut child = example(name)
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the example prints (`| head -0`).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{name}: {:?}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{name}");
    }
}

#[test]
fn bad_input_gives_a_clear_error_and_a_failure_status() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.xml");
    let malformed = write(
        dir.path(),
        "malformed.xml",
        "<buses>\n  <bus><id>1</bus>\n</buses>\n",
    );
    let not_utf8 = dir.path().join("latin1.txt");
    std::fs::write(&not_utf8, b"python \xe9t\xe9\n").unwrap();

    let check = |name: &str, args: &[&Path], wanted: &str| {
        let out = run(name, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} {args:?} should fail");
        assert!(
            stderr.contains(wanted),
            "{name} {args:?}: stderr {stderr:?} lacks {wanted:?}"
        );
        assert!(!stderr.contains("panicked"), "{name} panicked: {stderr}");
    };
    for name in [
        "basicsax",
        "cosax",
        "cosax_bus",
        "coexpat_bus",
        "cothread",
        "coprocess_bus",
    ] {
        check(name, &[&missing], "missing.xml: No such file");
        check(name, &[&malformed], "malformed.xml:2:");
        check(name, &[dir.path()], "Is a directory");
    }
    check(
        "coexpat_bus",
        &[&malformed],
        "malformed.xml:2:13: malformed XML",
    );
    for name in ["copipe", "cobroadcast", "coprocess"] {
        let mut args: Vec<&Path> = vec![&missing];
        if name != "cobroadcast" {
            args.push(Path::new("python"));
        }
        check(name, &args, "missing.xml: No such file");
        args[0] = &not_utf8;
        check(name, &args, "latin1.txt:1: line is not UTF-8");
    }
    // Usage errors.
    let out = run("copipe", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: copipe FILE PATTERN [--follow]"));
    let out = run("cothread", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: cothread FILE"));
    let out = run("coprocess", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: coprocess FILE PATTERN"));
}

/// Kills the child when dropped, so that a failing test leaves nothing
/// running.
struct KillOnDrop(Arc<Mutex<Child>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let mut child = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn copipe_follow_prints_lines_appended_later() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "log.txt", "python one\nother\n");
    let mut child = example("copipe")
        .arg(&file)
        .arg("python")
        .arg("--follow")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Arc::new(Mutex::new(child));
    let _guard = KillOnDrop(Arc::clone(&child));
    // A hang guard, not a timing assertion: if the example never prints
    // what is expected, kill it so that the read below ends and the test
    // fails instead of hanging.
    let watchdog = Arc::clone(&child);
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(120));
        if let Ok(mut child) = watchdog.lock() {
            let _ = child.kill();
        }
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut next = || lines.next().and_then(Result::ok).unwrap_or_default();

    assert_eq!(next(), "python one");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    write!(f, "python").unwrap();
    f.flush().unwrap();
    writeln!(f, " two, appended in two writes\nnot this\npython three").unwrap();
    f.flush().unwrap();
    assert_eq!(next(), "python two, appended in two writes");
    assert_eq!(next(), "python three");
}

/// The pipeline examples and `make_feed`: `--help` helps; an unknown flag,
/// a missing or extra argument is a one-line usage error, status 2.
#[test]
fn pipeline_examples_reject_bad_arguments_with_a_usage_line() {
    use common::{assert_help, assert_usage_error};
    let one_file = [
        "basicsax",
        "cosax",
        "cosax_bus",
        "coexpat_bus",
        "cothread",
        "coprocess_bus",
        "cobroadcast",
    ];
    for name in one_file {
        assert_help(name);
        assert_usage_error(name, &[]);
        assert_usage_error(name, &["a.xml", "b.xml"]);
        assert_usage_error(name, &["--bogus", "a.xml"]);
    }
    for name in ["copipe", "coprocess"] {
        assert_help(name);
        assert_usage_error(name, &[]);
        assert_usage_error(name, &["a.txt"]);
        assert_usage_error(name, &["a.txt", "python", "--bogus"]);
    }
    assert_usage_error("coprocess", &["a.txt", "python", "--follow"]);
    assert_help("make_feed");
    for args in [
        &[][..],
        &["--buses", "0", "out.xml"],
        &["--buses", "many", "out.xml"],
        &["--seed", "-1", "out.xml"],
        &["--seed"],
        &["out.xml", "extra.xml"],
    ] {
        assert_usage_error("make_feed", args);
    }
}

/// `make_feed` writes `generate_feed`'s output, the same for the same
/// seed, and the bus examples read it.
#[test]
fn make_feed_writes_a_generated_bus_feed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("allroutes.xml");
    let status = |args: &[&str]| {
        let run = common::run_example("make_feed", args);
        assert!(
            run.status.success() && run.stdout.is_empty() && run.stderr.is_empty(),
            "{args:?}: {run:?}"
        );
    };
    let path = out.to_str().unwrap();
    status(&["--buses", "250", "--seed", "9", path]);
    let feed = std::fs::read_to_string(&out).unwrap();
    assert_eq!(feed, generate_feed(250, 9));
    assert_eq!(stdout_of("cosax_bus", &[&out]), expected_buses(&feed));
    // The defaults: 1000 buses, seed 1.
    status(&[path]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        generate_feed(1000, 1)
    );
    // A file that cannot be written: one line, status 1.
    let bad = dir.path().join("no/such/dir.xml");
    let run = common::run_example("make_feed", &[bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("dir.xml: No such file"), "{stderr}");
}

/// Before a malformed-XML error, `basicsax` prints the events it saw, as
/// `cosax` does (and as Python does): its buffered output is flushed.
#[test]
fn basicsax_prints_the_events_before_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "malformed.xml",
        "<buses>\n  <bus><id>1</bus>\n</buses>\n",
    );
    let basic = run("basicsax", &[&file]);
    let co = run("cosax", &[&file]);
    assert_eq!(basic.status.code(), Some(1));
    let co_stdout = String::from_utf8(co.stdout).unwrap();
    let translated: Vec<String> = co_stdout.lines().map(cosax_line_as_basicsax).collect();
    assert_eq!(translated.len(), 6, "{co_stdout}");
    let basic_stdout = String::from_utf8(basic.stdout).unwrap();
    assert_eq!(basic_stdout.lines().collect::<Vec<_>>(), translated);
}

/// An invalid UTF-8 byte is reported where it is, by both parsers.
#[test]
fn invalid_utf8_is_reported_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.xml");
    // Line 3, after 4 spaces, `<id>` and `1\u{e9}`: column 11.
    std::fs::write(
        &file,
        b"<buses>\n  <bus>\n    <id>1\xc3\xa9\xe9</id>\n  </bus>\n</buses>\n",
    )
    .unwrap();
    for name in ["basicsax", "cosax", "cosax_bus", "coexpat_bus", "cothread"] {
        let out = run(name, &[&file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains("bad.xml:3:11: malformed XML: the document is not UTF-8"),
            "{name}: {stderr}"
        );
    }
}

/// An error raised by a stage (a bus without a `<latitude>`) names the
/// file, as the parser's errors do.
#[test]
fn stage_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "nolat.xml",
        "<buses><bus><id>1</id><route>22</route><direction>North Bound</direction>\
         <longitude>-87.6</longitude></bus></buses>",
    );
    for name in ["cosax_bus", "coexpat_bus", "cothread", "coprocess_bus"] {
        let out = run(name, &[&file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        let path = file.display().to_string();
        assert!(
            stderr.starts_with(&format!("{name}: error: {path}: ")),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains("a bus has no <latitude>"),
            "{name}: {stderr}"
        );
    }
}
