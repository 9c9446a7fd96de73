//! `Follow` inside a runtime: between looks at the file it parks its task,
//! not the thread, so the other tasks run while it waits.

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use corio::pipe::{Consumer, Follow};

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
