//! The process stage: `pipe::to_process`, `pipe::ProcessBuilder`,
//! `corio::child_pipeline!`. Part of `tests/pipe.rs`, whose
//! `corio::procpool_test_worker!()` lets the children start.
//!
//! A child's target writes what it saw to a file when it is closed; the
//! tests read that file once `close` has returned.

use std::cell::Cell;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use corio::pipe::{self, ChildError, Consumer, Error, ProcessBuilder, Sink, StageError};
use corio::Interrupt;
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

/// Logs each item and each error thrown in (and handles it); when closed,
/// waits a little, then writes the log and `closed` to `path`. The wait
/// gives a `close` that did not wait for the child a file to miss.
fn recorder(path: PathBuf) -> Consumer<'static, u64> {
    Consumer::<u64>::new(move |inbox| {
        let mut log = Vec::new();
        loop {
            match inbox.recv() {
                Ok(n) => log.push(n.to_string()),
                Err(Interrupt::Thrown(e)) => log.push(format!("caught {e}")),
                Err(Interrupt::Closed) => {
                    corio::sleep(Duration::from_millis(100));
                    log.push("closed".to_owned());
                    std::fs::write(&path, log.join("\n"))?;
                    return Ok(());
                }
            }
        }
    })
}
corio::child_pipeline!(static RECORDER: ChildPipeline<u64, PathBuf> = recorder);

/// Passes items on, except that it panics at item `bad`.
fn panics_at(bad: u64) -> impl Sink<u64> {
    pipe::sink_fn(move |n: u64| {
        assert_ne!(n, bad, "boom at {n}");
        Ok(())
    })
}
corio::child_pipeline!(static PANICS_AT: ChildPipeline<u64, u64> = panics_at);

/// Raises an I/O error (a broken pipe, as a closed stdout gives) at item
/// `bad`.
fn fails_at(bad: u64) -> impl Sink<u64> {
    pipe::sink_fn(move |n: u64| {
        if n == bad {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, format!("bad item {n}")).into())
        } else {
            Ok(())
        }
    })
}
corio::child_pipeline!(static FAILS_AT: ChildPipeline<u64, u64> = fails_at);

/// Kills its own process at the first item.
fn dies() -> impl Sink<u64> {
    pipe::sink_fn(|_: u64| {
        nix::sys::signal::raise(Signal::SIGKILL).unwrap();
        unreachable!("killed");
    })
}
corio::child_pipeline!(static DIES: ChildPipeline<u64> = dies);

/// Takes `n` items, then finishes on its own.
fn takes(n: u64) -> Consumer<'static, u64> {
    Consumer::<u64>::new(move |inbox| {
        for _ in 0..n {
            inbox.recv()?;
        }
        Ok(())
    })
}
corio::child_pipeline!(static TAKES: ChildPipeline<u64, u64> = takes);

/// A target that handles no error: a thrown one comes back out.
fn ignores() -> impl Sink<u64> {
    pipe::sink_fn(|_: u64| Ok(()))
}
corio::child_pipeline!(static IGNORES: ChildPipeline<u64> = ignores);

fn read_log(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The child `pid` has been reaped: it is no child of ours any more (and
/// no zombie).
fn assert_reaped(pid: u32) {
    assert_eq!(
        waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG)),
        Err(Errno::ECHILD),
        "child {pid} is not reaped"
    );
}

fn child_error(e: &Error) -> &ChildError {
    e.downcast_ref::<ChildError>()
        .unwrap_or_else(|| panic!("not a ChildError: {e:?}"))
}

#[test]
fn items_arrive_in_order_and_close_waits_for_the_child() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let stage = pipe::to_process(&RECORDER, log.clone()).unwrap();
    let pid = stage.pid();
    assert_ne!(pid, std::process::id());
    // Far more than a socket holds: the stage waits for the child.
    pipe::from_iter(0..200_000u64, stage).unwrap();
    assert_reaped(pid);
    let mut expected: Vec<String> = (0..200_000u64).map(|n| n.to_string()).collect();
    expected.push("closed".to_owned());
    assert_eq!(read_log(&log), expected);
}

#[test]
fn small_batches_and_flush_deliver_every_item() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut stage = ProcessBuilder::new()
        .batch(3)
        .spawn(&RECORDER, log.clone())
        .unwrap();
    for n in 0..10 {
        stage.send(n).unwrap();
    }
    stage.flush().unwrap();
    stage.send(10).unwrap();
    stage.close().unwrap();
    // Closing again is harmless.
    stage.close().unwrap();
    assert!(stage.is_finished());
    let err = stage.send(11).unwrap_err();
    assert_eq!(err.stage_error(), Some(StageError::Finished));
    let mut expected: Vec<String> = (0..=10u64).map(|n| n.to_string()).collect();
    expected.push("closed".to_owned());
    assert_eq!(read_log(&log), expected);
}

#[test]
fn inside_a_task_the_stage_parks_while_it_waits_for_the_child() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    corio::run(|| {
        let mut stage = pipe::to_process(&RECORDER, log.clone()).unwrap();
        for n in 0..50_000 {
            stage.send(n).unwrap();
        }
        // Another task runs while `close` waits (the child sleeps before
        // it writes its log): the wait parks the task, not the thread.
        let closing = Rc::new(Cell::new(true));
        let saw_closing = {
            let closing = Rc::clone(&closing);
            corio::spawn_local(move || closing.get())
        };
        stage.close().unwrap();
        closing.set(false);
        assert!(
            saw_closing.join().unwrap(),
            "the other task ran during close"
        );
        assert_reaped(stage.pid());
    });
    assert_eq!(read_log(&log).len(), 50_001);
}

#[test]
fn a_thrown_error_crosses_and_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut stage = pipe::to_process(&RECORDER, log.clone()).unwrap();
    stage.send(1).unwrap();
    // The recorder handles it.
    stage.throw(Error::msg("boom")).unwrap();
    stage.send(2).unwrap();
    stage.close().unwrap();
    assert_eq!(read_log(&log), ["1", "caught boom", "2", "closed"]);

    // A target that handles nothing gives the very error back.
    let mut stage = pipe::to_process(&IGNORES, ()).unwrap();
    stage.send(1).unwrap();
    let thrown = Error::from(io::Error::other("not handled"));
    let back = stage.throw(thrown).unwrap_err();
    assert_eq!(back.to_string(), "not handled");
    assert!(back.downcast_ref::<io::Error>().is_some(), "{back:?}");
    stage.close().unwrap();
}

#[test]
fn an_error_in_the_child_comes_back_with_its_io_kind() {
    let mut stage = pipe::to_process(&FAILS_AT, 5).unwrap();
    let pid = stage.pid();
    let mut first_error = None;
    for n in 0..10 {
        if let Err(e) = stage.send(n) {
            first_error = Some(e);
            break;
        }
    }
    let e = match first_error {
        Some(e) => e,
        None => stage.close().unwrap_err(),
    };
    match child_error(&e) {
        ChildError::Raised { pid: p, error } => {
            assert_eq!(*p, pid);
            assert_eq!(error.message(), "bad item 5");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(e.io_kind(), Some(io::ErrorKind::BrokenPipe));
    assert_eq!(e.to_string(), format!("child process {pid}: bad item 5"));
    // Told once; then the stage is finished.
    stage.close().unwrap();
    assert!(stage.is_finished());
    assert_reaped(pid);
}

#[test]
fn a_panic_in_the_child_gives_a_clear_error() {
    let mut stage = pipe::to_process(&PANICS_AT, 3).unwrap();
    let pid = stage.pid();
    for n in 0..10 {
        stage.send(n).unwrap();
    }
    let e = stage.close().unwrap_err();
    match child_error(&e) {
        ChildError::Panicked { message, .. } => {
            assert!(message.contains("boom at 3"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("panicked: "), "{e}");
    assert_reaped(pid);
}

#[test]
fn a_child_killed_while_the_stage_sends_gives_an_error_not_a_hang() {
    let mut stage = pipe::to_process(&DIES, ()).unwrap();
    let pid = stage.pid();
    // The child dies at the first item; the stage goes on sending until
    // its writes fail (far fewer items than this fill the socket).
    let mut error = None;
    for n in 0..5_000_000u64 {
        if let Err(e) = stage.send(n) {
            error = Some(e);
            break;
        }
    }
    let e = error.expect("a send fails once the child is dead");
    assert_eq!(
        child_error(&e),
        &ChildError::Died {
            pid,
            signal: Some(Signal::SIGKILL as i32),
            code: None
        }
    );
    assert_eq!(
        e.to_string(),
        format!("child process {pid} died before its pipeline ended (killed by SIGKILL)")
    );
    assert_eq!(
        stage.send(0).unwrap_err().stage_error(),
        Some(StageError::Finished)
    );
    assert!(stage.close().is_ok());
    assert_reaped(pid);
}

#[test]
fn a_child_killed_from_outside_fails_the_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut stage = pipe::to_process(&RECORDER, dir.path().join("log")).unwrap();
    let pid = stage.pid();
    stage.send(1).unwrap();
    stage.flush().unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    let e = stage.close().unwrap_err();
    assert!(
        matches!(
            child_error(&e),
            ChildError::Died {
                signal: Some(9),
                ..
            }
        ),
        "{e:?}"
    );
    assert_reaped(pid);
}

#[test]
fn a_target_that_finishes_on_its_own_stops_the_source() {
    let sent = Cell::new(0u64);
    let items = (0..1_000_000u64).inspect(|_| sent.set(sent.get() + 1));
    let stage = pipe::to_process(&TAKES, 3).unwrap();
    let pid = stage.pid();
    // Far fewer than all: the child has exited after 3, and the stage
    // learns it when its writes fail.
    pipe::from_iter(items, stage).unwrap();
    assert!(sent.get() < 1_000_000, "the source stopped early");
    assert_reaped(pid);
}

#[test]
fn a_dropped_stage_leaves_no_zombie() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut stage = pipe::to_process(&RECORDER, log.clone()).unwrap();
    let pid = stage.pid();
    stage.send(7).unwrap();
    // Dropped without a close: the queued item still goes, the child's
    // target is closed, and the child is reaped.
    drop(stage);
    assert_reaped(pid);
    assert_eq!(read_log(&log), ["7", "closed"]);

    // Also when the child has died meanwhile.
    let mut stage = pipe::to_process(&DIES, ()).unwrap();
    let pid = stage.pid();
    stage.send(1).unwrap();
    drop(stage);
    assert_reaped(pid);
}
