//! `Follow`: a file followed as another thread appends to it, stopping at
//! its end or starting there, and inside a runtime, where between looks at
//! the file it parks its task, not the thread, so other tasks run.

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use corio::pipe::{self, Consumer, Follow};

#[test]
fn follow_sees_lines_appended_by_another_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.txt");
    std::fs::write(&path, "old python line\nold other\n").unwrap();

    // The writer appends a line each time the pipeline asks for one, so the
    // test waits on events, never on time.
    let (want_more, more_wanted) = mpsc::channel::<()>();
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&writer_path)
            .unwrap();
        for i in 0.. {
            if more_wanted.recv().is_err() {
                break;
            }
            // A line in two pieces: the source must wait for its end.
            write!(file, "new python {i}").unwrap();
            file.flush().unwrap();
            writeln!(file, " done").unwrap();
            writeln!(file, "noise {i}").unwrap();
        }
    });

    let mut seen = Vec::new();
    let collector = Consumer::<String>::new(|inbox| {
        for _ in 0..3 {
            let line = inbox.recv()?;
            seen.push(line);
            want_more.send(()).ok();
        }
        Ok(())
    });
    Follow::new(&path)
        .poll_interval(std::time::Duration::from_millis(5))
        .run(pipe::filter(|l: &String| l.contains("python"), collector))
        .unwrap();
    drop(want_more); // lets the writer thread end
    writer.join().unwrap();
    assert_eq!(
        seen,
        [
            "old python line\n",
            "new python 0 done\n",
            "new python 1 done\n"
        ]
    );
}

#[test]
fn follow_can_stop_at_eof_and_start_at_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    std::fs::write(&path, "a\nb").unwrap();
    let mut all = Vec::new();
    Follow::new(&path).stop_at_eof(true).run(&mut all).unwrap();
    assert_eq!(all, ["a\n", "b"]);
    let mut none = Vec::new();
    Follow::new(&path)
        .from_end(true)
        .stop_at_eof(true)
        .run(&mut none)
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn a_follow_inside_a_runtime_parks_only_its_task() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("followed.log");
    std::fs::write(&path, "").unwrap();
    let (tx, rx) = mpsc::channel();
    // On a thread of its own, so that a Follow that blocks the runtime's
    // thread (and so hangs this scenario) fails the test instead.
    let scenario = std::thread::spawn(move || {
        let seen = corio::run(|| {
            let followed = path.clone();
            let follower = corio::spawn_local(move || {
                let mut seen = Vec::new();
                let first_line = Consumer::<String>::new(|inbox| {
                    seen.push(inbox.recv()?);
                    Ok(())
                });
                Follow::new(&followed)
                    .poll_interval(Duration::from_millis(1))
                    .run(first_line)
                    .unwrap();
                seen
            });
            // The follower runs until it waits at the end of the empty
            // file; this task goes on only if that wait parked the task
            // alone. It then writes what the follower waits for.
            corio::yield_now();
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            writeln!(file, "written while the follower waited").unwrap();
            follower.join().unwrap()
        });
        tx.send(seen).unwrap();
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(seen) => assert_eq!(seen, ["written while the follower waited\n"]),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(scenario.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the follower blocked the runtime's thread: no other task ran")
        }
    }
}
