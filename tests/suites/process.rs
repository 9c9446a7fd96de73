//! Child processes (pipes that park, `wait` on a pidfd, stdin piping,
//! kill, output) and anonymous pipes between tasks.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corio::process::{Command, Stdio};
use corio::rt::WaitReason;

const MS: Duration = Duration::from_millis(1);

/// A task that counts how often it ran until `stop` is set: proof that
/// the runtime went on while another task waited.
fn ticker(stop: Arc<AtomicBool>) -> corio::JoinHandle<usize> {
    corio::spawn(move || {
        let mut ticks = 0;
        while !stop.load(Ordering::SeqCst) {
            ticks += 1;
            corio::sleep(MS);
        }
        ticks
    })
}

#[test]
fn stdout_lines_are_read_while_another_task_runs() {
    super::run(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let ticks = ticker(Arc::clone(&stop));
        let mut child = Command::new("sh")
            .args(["-c", "for i in 1 2 3; do echo line $i; sleep 0.02; done"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines: Vec<String> = BufReader::new(stdout).lines().map(Result::unwrap).collect();
        assert_eq!(lines, ["line 1", "line 2", "line 3"]);
        assert!(child.wait().unwrap().success());
        stop.store(true, Ordering::SeqCst);
        assert!(ticks.join().unwrap() > 0, "the ticker ran during the reads");
    });
}

#[test]
fn wait_parks_on_the_pidfd_and_shows_in_the_dump() {
    super::run(|| {
        let mut child = Command::new("sh")
            .args(["-c", "read line; exit 5"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let stdin = child.stdin.take().unwrap();
        let waiter = corio::spawn(move || child.wait().unwrap());
        // The waiter parks on the child's exit while the child waits for a
        // line: observe it in the dump, then release the child.
        let mut seen = false;
        for _ in 0..5000 {
            let dump = corio::rt::dump().unwrap();
            if dump
                .tasks
                .iter()
                .any(|t| t.waiting_on == WaitReason::Process(pid))
            {
                seen = true;
                break;
            }
            corio::sleep(MS);
        }
        assert!(seen, "a task waiting on process {pid} is in the dump");
        let mut stdin = stdin;
        stdin.write_all(b"go\n").unwrap();
        let status = waiter.join().unwrap();
        assert_eq!(status.code(), Some(5));
    });
}

#[test]
fn stdin_is_piped_through_tr_without_deadlock() {
    // More than a pipe buffer each way: the writer task parks on a full
    // stdin while this task drains stdout.
    const LINES: usize = 20_000;
    super::run(|| {
        let mut child = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = corio::spawn(move || {
            for i in 0..LINES {
                writeln!(stdin, "line number {i} of the input").unwrap();
            }
            // Dropping stdin closes it: tr sees end of file.
        });
        let stdout = child.stdout.take().unwrap();
        let mut count = 0;
        for (i, line) in BufReader::new(stdout).lines().enumerate() {
            assert_eq!(line.unwrap(), format!("LINE NUMBER {i} OF THE INPUT"));
            count += 1;
        }
        writer.join().unwrap();
        assert_eq!(count, LINES);
        assert!(child.wait().unwrap().success());
    });
}

#[test]
fn cat_echoes_stdin_and_wait_closes_stdin() {
    super::run(|| {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.as_mut().unwrap().write_all(b"meow").unwrap();
        // `wait_with_output` closes stdin first, so cat ends.
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.stdout, b"meow");
        assert!(output.status.success());
    });
}

#[test]
fn kill_ends_a_child_and_wait_reaps_it() {
    super::run(|| {
        let mut child = Command::new("sleep").arg("60").spawn().unwrap();
        assert_eq!(child.try_wait().unwrap(), None);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(child.wait().unwrap(), status, "waiting again is fine");
        assert_eq!(child.try_wait().unwrap(), Some(status));
    });
}

#[test]
fn a_cancelled_wait_can_be_resumed() {
    super::run(|| {
        let child = Command::new("sleep").arg("60").spawn().unwrap();
        let child = Arc::new(std::sync::Mutex::new(child));
        let waiter = {
            let child = Arc::clone(&child);
            corio::spawn(move || child.lock().unwrap().wait().map(|s| s.code()))
        };
        corio::sleep(5 * MS);
        waiter.cancel();
        assert!(waiter.join().is_err());
        let mut child = child.lock().unwrap_or_else(|e| e.into_inner());
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn output_and_status_collect_everything() {
    super::run(|| {
        let output = Command::new("sh")
            .args(["-c", "echo to stdout; echo to stderr >&2; exit 2"])
            .output()
            .unwrap();
        assert_eq!(output.stdout, b"to stdout\n");
        assert_eq!(output.stderr, b"to stderr\n");
        assert_eq!(output.status.code(), Some(2));

        let status = Command::new("true").status().unwrap();
        assert!(status.success());

        // Both pipes far past their buffers at once: read concurrently.
        let output = Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 3000 ]; do echo out-$i-padding-padding; echo err-$i-padding-padding >&2; i=$((i+1)); done",
            ])
            .output()
            .unwrap();
        assert!(output.status.success());
        assert_eq!(output.stdout.iter().filter(|&&b| b == b'\n').count(), 3000);
        assert_eq!(output.stderr.iter().filter(|&&b| b == b'\n').count(), 3000);

        // `output` did not change `spawn`'s defaults: stdout inherited.
        let mut cmd = Command::new("true");
        cmd.output().unwrap();
        let child = cmd.spawn().unwrap();
        assert!(child.stdout.is_none());
        let mut child = child;
        child.wait().unwrap();
    });
}

#[test]
fn missing_program_is_not_found() {
    super::run(|| {
        let err = Command::new("/nonexistent/corio-test-program")
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn child_stdout_feeds_another_child() {
    super::run(|| {
        let mut producer = Command::new("printf")
            .arg("piped\\n")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = producer.stdout.take().unwrap();
        let output = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(stdout)
            .output()
            .unwrap();
        assert_eq!(output.stdout, b"PIPED\n");
        assert!(producer.wait().unwrap().success());
    });
}

#[test]
fn outside_a_runtime_processes_block_the_thread() {
    let output = Command::new("sh")
        .args(["-c", "echo plain; exit 1"])
        .output()
        .unwrap();
    assert_eq!(output.stdout, b"plain\n");
    assert_eq!(output.status.code(), Some(1));

    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"abc").unwrap();
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "abc");
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_child_spawned_outside_is_waited_inside() {
    let mut child = Command::new("sh")
        .args(["-c", "sleep 0.02; echo late"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (text, status) = super::run(move || {
        let mut text = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        (text, child.wait().unwrap())
    });
    assert_eq!(text, "late\n");
    assert!(status.success());
}

#[test]
fn many_children_at_once() {
    super::run(|| {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                corio::spawn(move || {
                    let out = Command::new("sh")
                        .args(["-c", &format!("sleep 0.0{}; echo {i}", i % 5)])
                        .output()
                        .unwrap();
                    String::from_utf8(out.stdout).unwrap()
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.join().unwrap(), format!("{i}\n"));
        }
    });
}

#[test]
fn pipes_between_tasks() {
    super::run(|| {
        let (reader, writer) = corio::io::pipe().unwrap();
        let received = Arc::new(AtomicUsize::new(0));
        let consumer = {
            let received = Arc::clone(&received);
            corio::spawn(move || {
                let mut sum = 0u64;
                for line in BufReader::new(reader).lines() {
                    sum += line.unwrap().parse::<u64>().unwrap();
                    received.fetch_add(1, Ordering::SeqCst);
                }
                sum
            })
        };
        // Two writers share the write end through a reference.
        let writer = Arc::new(writer);
        let producers: Vec<_> = (0..2u64)
            .map(|p| {
                let writer = Arc::clone(&writer);
                corio::spawn(move || {
                    for i in 0..5000u64 {
                        // One short line per write: atomic in a pipe.
                        (&*writer)
                            .write_all(format!("{}\n", p * 5000 + i).as_bytes())
                            .unwrap();
                        if i % 100 == 0 {
                            corio::yield_now();
                        }
                    }
                })
            })
            .collect();
        producers.into_iter().for_each(|p| p.join().unwrap());
        drop(writer); // the last write end: the consumer sees end of file
        assert_eq!(consumer.join().unwrap(), (0..10_000u64).sum::<u64>());
        assert_eq!(received.load(Ordering::SeqCst), 10_000);

        // A dropped reader makes writes fail instead of hanging.
        let (reader, mut writer) = corio::io::pipe().unwrap();
        drop(reader);
        let err = writer.write_all(b"nobody listens").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}
