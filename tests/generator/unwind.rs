//! Destructors that yield (Python's `finally: yield`). While a panic
//! unwinds the body's stack the yield is refused, so that the panic reaches
//! the caller instead of being carried off to it in flight. Each such
//! scenario runs on a thread of its own under a watchdog, so that one that
//! hangs fails instead; the one that could abort runs in a child process.
//! A destructor that yields as a closed body returns makes the close
//! report `IgnoredClose`, and the stack is then unwound.

use std::cell::Cell;
use std::convert::Infallible;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::process::Command;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use corio::generator::{Co, Error, Generator, GeneratorState, Interrupt};

/// What a guard's yield returned, once it has yielded.
type Got = Rc<Cell<Option<Result<(), Interrupt<Infallible>>>>>;

/// Yields from its destructor when that runs during an unwind, and records
/// what the yield returned.
struct YieldsInUnwind<'c> {
    co: &'c Co<(), i32>,
    got: Got,
}

impl Drop for YieldsInUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.got.set(Some(self.co.yield_(99)));
        }
    }
}

/// A generator that yields 1, then panics on the next send; its guard
/// yields 99 during that unwind.
fn panics_with_a_yielding_guard(got: &Got) -> Generator<'static, (), i32> {
    let got = got.clone();
    Generator::new(move |co, ()| {
        let _guard = YieldsInUnwind { co, got };
        co.yield_(1)?;
        panic!("boom");
    })
}

/// Runs `f` on a thread of its own and returns what it returns; fails if
/// it has not finished within a minute (it hung).
fn with_watchdog(f: impl FnOnce() -> String + Send + 'static) -> String {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || tx.send(f()).unwrap());
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(payload) => resume_unwind(payload),
            Ok(()) => unreachable!("the thread sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the scenario hung"),
    }
}

/// Sends the panicking input and says what happened. A generator that
/// yielded with the panic in flight is leaked: dropping it would abort.
fn send_the_panic(gen: &mut Generator<'static, (), i32>, got: &Got) -> String {
    assert_eq!(gen.send(()).unwrap(), GeneratorState::Yielded(1));
    match catch_unwind(AssertUnwindSafe(|| gen.send(()))) {
        Err(payload) => {
            let message = payload.downcast_ref::<&str>().copied().unwrap_or("?");
            format!("panicked {message}; guard got {:?}", got.take())
        }
        Ok(sent) => format!("send returned {sent:?} with a panic in flight"),
    }
}

const REFUSED: &str = "panicked boom; guard got Some(Err(Closed))";

#[test]
fn a_yield_during_an_unwind_is_refused_on_a_plain_thread() {
    let outcome = with_watchdog(|| {
        let got = Got::default();
        let mut gen = panics_with_a_yielding_guard(&got);
        let outcome = send_the_panic(&mut gen, &got);
        if outcome != REFUSED {
            std::mem::forget(gen);
            return outcome;
        }
        assert!(gen.is_finished());
        drop(gen);
        // The thread is not left panicking: generators still work.
        let fresh = Generator::<(), i32>::new(|co, ()| {
            co.yield_(5)?;
            Ok(())
        });
        assert_eq!(fresh.collect::<Vec<_>>(), [5]);
        format!("{outcome}; panicking after: {}", std::thread::panicking())
    });
    assert_eq!(outcome, format!("{REFUSED}; panicking after: false"));
}

#[test]
fn a_yield_during_an_unwind_is_refused_inside_a_task() {
    let outcome = with_watchdog(|| {
        corio::run(|| {
            let other = corio::spawn(|| 7);
            let got = Got::default();
            let mut gen = panics_with_a_yielding_guard(&got);
            let outcome = send_the_panic(&mut gen, &got);
            if outcome != REFUSED {
                std::mem::forget(gen);
            }
            // The task goes on: waiting for another task of the runtime
            // (which a task still unwinding would wait for without letting
            // it run) ends.
            let joined = other.join().unwrap();
            format!("{outcome}; joined {joined}")
        })
    });
    assert_eq!(outcome, format!("{REFUSED}; joined 7"));
}

#[test]
fn a_generator_driven_from_a_destructor_during_an_unwind_still_yields() {
    // The caller is the one unwinding, not the body: the body may yield
    // back to it.
    let outcome = with_watchdog(|| {
        struct Drives(Generator<'static, (), i32>, Rc<Cell<Option<String>>>);
        impl Drop for Drives {
            fn drop(&mut self) {
                self.1.set(Some(format!("{:?}", self.0.send(()))));
            }
        }
        let seen = Rc::new(Cell::new(None));
        let gen = Generator::new(|co, ()| {
            co.yield_(1)?;
            co.yield_(2)?;
            Ok(())
        });
        let drives = Drives(gen, seen.clone());
        let caught = catch_unwind(AssertUnwindSafe(move || {
            let _drives = drives;
            panic!("caller");
        }));
        assert!(caught.is_err());
        seen.take().unwrap()
    });
    assert_eq!(outcome, "Ok(Yielded(1))");
}

const CHILD_ENV: &str = "CORIO_TEST_UNWIND_CHILD";

#[test]
fn unwind_dropped_generator_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    // A destructor resumes a generator during an unwind (it yields back,
    // which is fine), then drops it: the thread is panicking, so the drop
    // unwinds the body's stack instead of closing it, and the body's guard
    // yields during that unwind. Switching away there would abort the
    // process (a panic in a destructor during cleanup).
    struct Drives(Option<Generator<'static, (), i32>>, Got);
    impl Drop for Drives {
        fn drop(&mut self) {
            let mut gen = self.0.take().unwrap();
            assert_eq!(gen.send(()).unwrap(), GeneratorState::Yielded(1));
            drop(gen);
            println!("guard got {:?}", self.1.take());
        }
    }
    let got = Got::default();
    let gen = Generator::new({
        let got = got.clone();
        move |co, ()| {
            let _guard = YieldsInUnwind { co, got };
            co.yield_(1)?;
            co.yield_(2)?;
            Ok(())
        }
    });
    let drives = Drives(Some(gen), got);
    let caught = catch_unwind(AssertUnwindSafe(move || {
        let _drives = drives;
        panic!("caller");
    }));
    assert!(caught.is_err());
    println!("survived");
}

#[test]
fn a_yield_while_a_dropped_generator_unwinds_is_refused() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "unwind::unwind_dropped_generator_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("guard got Some(Err(Closed))\nsurvived"),
        "stdout: {stdout}"
    );
    assert!(stderr.contains("corio: "), "stderr: {stderr}");
}

#[test]
fn a_destructor_that_yields_while_the_generator_is_dropped_is_unwound() {
    struct YieldOnDrop<'c>(&'c corio::Co<(), i32>, Rc<Cell<usize>>);
    impl Drop for YieldOnDrop<'_> {
        fn drop(&mut self) {
            self.1.set(self.1.get() + 1);
            let _ = self.0.yield_(99);
        }
    }
    let dropped = Rc::new(Cell::new(0));
    let counter = dropped.clone();
    let mut gen = Generator::<(), i32, ()>::new(move |co, ()| {
        let _guard = YieldOnDrop(co, counter);
        co.yield_(1)?;
        Ok(())
    });
    assert_eq!(gen.next(), Some(1));
    assert_eq!(gen.close().unwrap_err(), Error::IgnoredClose);
    assert_eq!(dropped.get(), 1);
    // The thread's frame bookkeeping is intact: a new generator still works.
    assert_eq!(
        Generator::<(), i32, ()>::new(|co, ()| {
            co.yield_(5)?;
            Ok(())
        })
        .collect::<Vec<_>>(),
        [5]
    );
}
