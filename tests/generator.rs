//! The generator protocol, case by case (after PEP 342 and PEP 380 and the
//! behaviour of CPython's generators).

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use corio::generator::{Builder, Error, Generator, GeneratorState, Interrupt};
use corio::stack::pool_stats;

use GeneratorState::{Complete, Yielded};

#[path = "generator/delegation.rs"]
mod delegation; // yield_from, and generators at any depth of calls
#[path = "generator/protocol.rs"]
mod protocol; // a close ignored below yield_from, throw after a panic
#[path = "generator/unwind.rs"]
mod unwind; // yields refused while a panic unwinds the body

/// Counts its drops, to prove destructors on a generator's stack run.
struct DropCounter(Rc<Cell<usize>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Spam(&'static str);

// ---------------------------------------------------------------- send

#[test]
fn first_send_starts_the_body_with_its_value() {
    let mut gen = Generator::<i32, i32, &str>::new(|co, first| {
        let second = co.yield_(first * 10)?;
        let third = co.yield_(second * 10)?;
        Ok(if third > 0 { "positive" } else { "other" })
    });
    assert!(!gen.is_started());
    assert_eq!(gen.send(1).unwrap(), Yielded(10));
    assert!(gen.is_started());
    assert_eq!(gen.send(2).unwrap(), Yielded(20));
    assert_eq!(gen.send(3).unwrap(), Complete("positive"));
    assert!(gen.is_finished());
}

#[test]
fn send_after_return_is_a_typed_error() {
    let mut gen = Generator::<(), (), u8>::new(|_, ()| Ok(7));
    assert_eq!(gen.send(()).unwrap(), Complete(7));
    assert_eq!(gen.send(()).unwrap_err(), Error::Finished);
    assert_eq!(gen.send(()).unwrap_err(), Error::Finished);
}

#[test]
fn a_body_that_never_yields_completes_on_first_send() {
    let ran = Cell::new(false);
    let mut gen = Generator::<(), (), ()>::new(|_, ()| {
        ran.set(true);
        Ok(())
    });
    assert!(!ran.get(), "the body must not run before the first send");
    assert_eq!(gen.send(()).unwrap(), Complete(()));
    assert!(ran.get());
}

#[test]
fn values_move_in_and_out_without_copies() {
    let mut gen = Generator::<Vec<u8>, Vec<u8>, ()>::new(|co, mut buf| loop {
        buf.push(b'!');
        buf = co.yield_(buf)?;
    });
    let mut sent = Vec::with_capacity(16);
    sent.extend_from_slice(b"hi");
    let buffer = sent.as_ptr();
    let out = match gen.send(sent).unwrap() {
        Yielded(v) => v,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(out, b"hi!");
    // The same heap buffer went in and came back out: moved, not copied.
    assert_eq!(out.as_ptr(), buffer);
}

// ---------------------------------------------------------------- iteration

#[test]
fn iterates_like_a_python_generator() {
    let fib = |limit: usize| {
        Generator::<(), u64, ()>::new(move |co, ()| {
            let (mut a, mut b) = (0, 1);
            for _ in 0..limit {
                co.yield_(b)?;
                (a, b) = (b, a + b);
            }
            Ok(())
        })
    };
    assert_eq!(fib(8).collect::<Vec<_>>(), [1, 1, 2, 3, 5, 8, 13, 21]);
    let mut gen = fib(2);
    assert_eq!(gen.next(), Some(1));
    assert_eq!(gen.next(), Some(1));
    assert_eq!(gen.next(), None);
    assert_eq!(gen.next(), None, "a finished generator stays finished");
}

#[test]
fn iteration_keeps_the_return_value_and_errors() {
    let mut gen = Generator::<(), i32, &str>::new(|co, ()| {
        co.yield_(1)?;
        Ok("done")
    });
    assert_eq!(gen.by_ref().collect::<Vec<_>>(), [1]);
    assert_eq!(gen.take_result().unwrap().unwrap(), "done");
    assert!(gen.take_result().is_none(), "handed out once");

    let mut gen = Generator::<(), i32, (), Spam>::new(|co, ()| {
        co.yield_(1)?;
        Err(Interrupt::Thrown(Spam("broken")))
    });
    assert_eq!(gen.by_ref().collect::<Vec<_>>(), [1]);
    assert_eq!(
        gen.take_result().unwrap(),
        Err(Error::Raised(Spam("broken")))
    );
}

#[test]
fn take_result_is_none_while_running() {
    let mut gen = Generator::<(), i32, ()>::new(|co, ()| {
        co.yield_(1)?;
        Ok(())
    });
    assert_eq!(gen.next(), Some(1));
    assert!(gen.take_result().is_none());
}

// ---------------------------------------------------------------- throw

#[test]
fn thrown_error_can_be_handled_and_the_body_goes_on() {
    let mut gen = Generator::<i32, String, (), Spam>::new(|co, mut x| loop {
        x = match co.yield_(format!(">> {x}")) {
            Ok(next) => next,
            Err(Interrupt::Thrown(Spam(what))) => match co.yield_(format!("*** {what}")) {
                Ok(next) => next,
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        };
    });
    assert_eq!(gen.send(0).unwrap(), Yielded(">> 0".to_string()));
    assert_eq!(
        gen.throw(Spam("spam")).unwrap(),
        Yielded("*** spam".to_string())
    );
    assert_eq!(gen.send(4).unwrap(), Yielded(">> 4".to_string()));
}

#[test]
fn unhandled_thrown_error_comes_back_to_the_caller() {
    let cleaned = Rc::new(Cell::new(0));
    let counter = DropCounter(cleaned.clone());
    let mut gen = Generator::<(), i32, (), Spam>::new(move |co, ()| {
        let _held = counter;
        co.yield_(1)?;
        unreachable!("the throw propagates out of yield_")
    });
    assert_eq!(gen.send(()).unwrap(), Yielded(1));
    assert_eq!(gen.throw(Spam("x")).unwrap_err(), Error::Raised(Spam("x")));
    assert_eq!(
        cleaned.get(),
        1,
        "locals are dropped when the error propagates"
    );
    assert!(gen.is_finished());
    assert_eq!(gen.send(()).unwrap_err(), Error::Finished);
}

#[test]
fn throw_into_a_fresh_generator_finishes_it_without_running() {
    let ran = Cell::new(false);
    let mut gen = Generator::<(), i32, (), Spam>::new(|co, ()| {
        ran.set(true);
        co.yield_(1)?;
        Ok(())
    });
    assert_eq!(
        gen.throw(Spam("early")).unwrap_err(),
        Error::Raised(Spam("early"))
    );
    assert!(gen.is_finished());
    assert_eq!(gen.send(()).unwrap_err(), Error::Finished);
    drop(gen);
    assert!(!ran.get());
}

#[test]
fn throw_into_a_finished_generator_hands_the_error_back() {
    let mut gen = Generator::<(), (), (), Spam>::new(|_, ()| Ok(()));
    gen.send(()).unwrap();
    assert_eq!(
        gen.throw(Spam("late")).unwrap_err(),
        Error::Raised(Spam("late"))
    );
}

#[test]
fn body_may_raise_its_own_error_with_question_mark() {
    fn parse(s: &str) -> Result<i32, std::num::ParseIntError> {
        s.parse()
    }
    let mut gen = Generator::<&str, i32, (), std::num::ParseIntError>::new(|co, mut s| loop {
        let n = parse(s)?;
        s = co.yield_(n)?;
    });
    assert_eq!(gen.send("12").unwrap(), Yielded(12));
    assert!(matches!(gen.send("x"), Err(Error::Raised(_))));
}

#[test]
fn throw_and_handle_then_return_completes() {
    let mut gen = Generator::<(), i32, &str, Spam>::new(|co, ()| match co.yield_(1) {
        Err(Interrupt::Thrown(_)) => Ok("recovered"),
        other => {
            other?;
            Ok("normal")
        }
    });
    gen.send(()).unwrap();
    assert_eq!(gen.throw(Spam("e")).unwrap(), Complete("recovered"));
}

// ---------------------------------------------------------------- close

#[test]
fn close_raises_closed_at_the_yield_and_cleanup_runs() {
    let log = RefCell::new(Vec::new());
    let mut gen = Generator::<&str, (), ()>::primed(|co| {
        log.borrow_mut().push("start");
        let result = (|| loop {
            let line = co.yield_(())?;
            log.borrow_mut().push(line);
        })();
        if let Err(Interrupt::Closed) = result {
            log.borrow_mut().push("Going away. Goodbye!");
        }
        result
    });
    gen.send("a").unwrap();
    assert_eq!(gen.close().unwrap(), None);
    assert!(gen.is_finished());
    drop(gen);
    assert_eq!(*log.borrow(), ["start", "a", "Going away. Goodbye!"]);
}

#[test]
fn close_returns_the_value_the_body_returns_after_closing() {
    let mut gen = Generator::<i32, (), i32>::new(|co, mut x| {
        let mut total = 0;
        loop {
            total += x;
            match co.yield_(()) {
                Ok(next) => x = next,
                Err(Interrupt::Closed) => return Ok(total),
                Err(e) => return Err(e),
            }
        }
    });
    gen.send(1).unwrap();
    gen.send(2).unwrap();
    assert_eq!(gen.close().unwrap(), Some(3));
}

#[test]
fn close_of_fresh_and_finished_generators_is_a_no_op() {
    let dropped = Rc::new(Cell::new(0));
    let counter = DropCounter(dropped.clone());
    let mut gen = Generator::<(), (), ()>::new(move |_, ()| {
        let _c = counter;
        Ok(())
    });
    assert_eq!(gen.close().unwrap(), None);
    assert_eq!(dropped.get(), 1, "closing a fresh generator drops its body");
    assert_eq!(gen.close().unwrap(), None, "close is idempotent");
    assert_eq!(gen.send(()).unwrap_err(), Error::Finished);

    let mut done = Generator::<(), (), ()>::new(|_, ()| Ok(()));
    done.send(()).unwrap();
    assert_eq!(done.close().unwrap(), None);
}

#[test]
fn yielding_after_close_is_reported_and_the_stack_unwinds() {
    let dropped = Rc::new(Cell::new(0));
    let counter = DropCounter(dropped.clone());
    let mut gen = Generator::<(), i32, ()>::new(move |co, ()| {
        let _held = counter;
        loop {
            // Ignores every interrupt, like `except GeneratorExit: pass`.
            let _ = co.yield_(1);
        }
    });
    gen.send(()).unwrap();
    assert_eq!(gen.close().unwrap_err(), Error::IgnoredClose);
    assert_eq!(dropped.get(), 1, "the stack was unwound");
    assert!(gen.is_finished());
    assert_eq!(gen.send(()).unwrap_err(), Error::Finished);
}

#[test]
fn an_error_raised_while_closing_reaches_the_caller() {
    let mut gen = Generator::<(), (), (), Spam>::new(|co, ()| match co.yield_(()) {
        Err(Interrupt::Closed) => Err(Interrupt::Thrown(Spam("cleanup failed"))),
        other => other.map(|_| ()),
    });
    gen.send(()).unwrap();
    assert_eq!(
        gen.close().unwrap_err(),
        Error::Raised(Spam("cleanup failed"))
    );
}

#[test]
fn a_body_passing_on_a_foreign_close_is_reported_as_closed() {
    let mut gen = Generator::<(), (), ()>::new(|_, ()| Err(Interrupt::Closed));
    assert_eq!(gen.send(()).unwrap_err(), Error::Closed);
}

// ---------------------------------------------------------------- drop

#[test]
fn dropping_a_suspended_generator_closes_it_and_runs_destructors() {
    let dropped = Rc::new(Cell::new(0));
    let saw_close = Rc::new(Cell::new(false));
    {
        let (counter, saw) = (DropCounter(dropped.clone()), saw_close.clone());
        let mut gen = Generator::<(), i32, ()>::new(move |co, ()| {
            let _a = counter;
            let _b = DropCounter(_a.0.clone());
            let r = co.yield_(1);
            saw.set(matches!(r, Err(Interrupt::Closed)));
            r?;
            Ok(())
        });
        assert_eq!(gen.next(), Some(1));
    }
    assert!(saw_close.get(), "drop delivers a close to the body");
    assert_eq!(
        dropped.get(),
        2,
        "both locals on the generator stack dropped"
    );
}

#[test]
fn dropping_a_generator_that_ignores_close_still_unwinds_it() {
    let dropped = Rc::new(Cell::new(0));
    {
        let counter = DropCounter(dropped.clone());
        let mut gen = Generator::<(), i32, ()>::new(move |co, ()| {
            let _held = counter;
            loop {
                let _ = co.yield_(1);
            }
        });
        gen.next();
    }
    assert_eq!(dropped.get(), 1);
}

#[test]
fn nothing_leaks_across_many_generators() {
    let dropped = Rc::new(Cell::new(0));
    let before = pool_stats().live;
    for i in 0..1000 {
        let counter = DropCounter(dropped.clone());
        let mut gen = Generator::<(), usize, ()>::new(move |co, ()| {
            let _held = counter;
            let boxed = Box::new(i);
            co.yield_(*boxed)?;
            co.yield_(*boxed + 1)?;
            Ok(())
        });
        match i % 3 {
            0 => drop(gen),                       // fresh
            1 => assert_eq!(gen.next(), Some(i)), // suspended, then dropped
            _ => assert_eq!(gen.count(), 2),      // finished
        }
    }
    assert_eq!(dropped.get(), 1000);
    assert_eq!(
        pool_stats().live,
        before,
        "every stack went back to the pool"
    );
}

// ---------------------------------------------------------------- panics

#[test]
fn a_panic_reaches_the_caller_and_then_sends_report_it() {
    let dropped = Rc::new(Cell::new(0));
    let counter = DropCounter(dropped.clone());
    let mut gen = Generator::<i32, i32, ()>::new(move |co, mut x| {
        let _held = counter;
        loop {
            if x < 0 {
                panic!("negative input {x}");
            }
            x = co.yield_(x)?;
        }
    });
    assert_eq!(gen.send(1).unwrap(), Yielded(1));
    let payload = catch_unwind(AssertUnwindSafe(|| gen.send(-5))).unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().unwrap(),
        "negative input -5"
    );
    assert_eq!(dropped.get(), 1, "the panic unwound the generator's stack");
    assert!(gen.is_finished());
    assert_eq!(gen.send(1).unwrap_err(), Error::Panicked);
    assert_eq!(gen.close().unwrap(), None);
    assert_eq!(gen.send(2).unwrap_err(), Error::Panicked);
}

#[test]
fn a_panic_in_the_first_run_of_a_primed_body_propagates() {
    let result = catch_unwind(|| {
        Generator::<(), (), ()>::primed(|_| panic!("at construction"));
    });
    assert!(result.is_err());
}

// ---------------------------------------------------------------- primed

#[test]
fn primed_runs_to_the_first_yield_at_construction() {
    let started = Cell::new(false);
    let got = RefCell::new(Vec::new());
    let mut sink = Generator::<u8, (), ()>::primed(|co| {
        started.set(true);
        loop {
            got.borrow_mut().push(co.yield_(())?);
        }
    });
    assert!(started.get());
    assert!(sink.is_started());
    sink.send(1).unwrap();
    sink.send(2).unwrap();
    drop(sink);
    assert_eq!(*got.borrow(), [1, 2]);
}

#[test]
fn primed_body_that_returns_early_reports_on_next_send() {
    let mut gen = Generator::<u8, (), &str>::primed(|_| Ok("early"));
    assert_eq!(gen.send(1).unwrap(), Complete("early"));
    assert_eq!(gen.send(1).unwrap_err(), Error::Finished);

    let mut gen = Generator::<u8, (), (), Spam>::primed(|_| Err(Spam("bad").into()));
    assert_eq!(gen.send(1).unwrap_err(), Error::Raised(Spam("bad")));

    let mut gen = Generator::<u8, (), &str>::primed(|_| Ok("kept"));
    assert_eq!(gen.close().unwrap(), Some("kept"));
}

// ---------------------------------------------------------------- builder and stacks

#[test]
fn builder_sets_name_and_stack_size() {
    let mut gen: Generator<(), String> = Builder::new()
        .name("worker-7")
        .stack_size(1 << 20)
        .build(|co, ()| {
            let info = format!("{:?} {}", co.name(), co.stack_size());
            co.yield_(info)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(gen.next().unwrap(), "Some(\"worker-7\") 1048576");
}

#[test]
fn tiny_stack_sizes_are_rounded_up() {
    let mut gen: Generator<(), usize> = Builder::new()
        .stack_size(1)
        .build(|co, ()| {
            co.yield_(co.stack_size())?;
            Ok(())
        })
        .unwrap();
    assert_eq!(gen.next().unwrap(), corio::stack::MIN_STACK_SIZE);
}

#[test]
fn finished_stacks_are_reused_from_the_pool() {
    // Warm the pool with one stack of an unusual size, then check that a
    // thousand generators of that size map nothing new.
    let size = 96 * 1024;
    let run = || {
        let gen: Generator<(), i32> = Builder::new()
            .stack_size(size)
            .build(|co, ()| {
                co.yield_(1)?;
                Ok(())
            })
            .unwrap();
        assert_eq!(gen.sum::<i32>(), 1);
    };
    run();
    let before = pool_stats();
    for _ in 0..1000 {
        run();
    }
    let after = pool_stats();
    assert_eq!(
        after.mapped, before.mapped,
        "no new mapping in steady state"
    );
    assert_eq!(after.reused - before.reused, 1000);
}

#[test]
fn generators_work_on_many_threads_at_once() {
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let gen = Generator::<(), u64, ()>::new(move |co, ()| {
                    for i in 0..1000 {
                        co.yield_(i * t)?;
                    }
                    Ok(())
                });
                gen.sum::<u64>()
            })
        })
        .collect();
    let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(sums, [0, 499500, 999000, 1498500]);
}

#[test]
fn a_generator_resuming_itself_through_a_refcell_panics_and_finishes() {
    type Shared = Rc<RefCell<Option<Generator<'static, (), i32>>>>;
    let shared: Shared = Rc::new(RefCell::new(None));
    let me = shared.clone();
    let gen = Generator::<(), i32>::new(move |co, ()| {
        co.yield_(1)?;
        // Resume ourselves: the caller holds the RefCell borrow.
        let _ = me.borrow_mut().as_mut().unwrap().send(());
        Ok(())
    });
    *shared.borrow_mut() = Some(gen);
    assert_eq!(shared.borrow_mut().as_mut().unwrap().next(), Some(1));
    let payload = catch_unwind(AssertUnwindSafe(|| {
        let _ = shared.borrow_mut().as_mut().unwrap().send(());
    }))
    .unwrap_err();
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(msg.contains("already"), "{msg}");
    let mut guard = shared.borrow_mut();
    let gen = guard.as_mut().unwrap();
    assert_eq!(gen.send(()).unwrap_err(), Error::Panicked);
    drop(guard);
    // Break the Rc cycle.
    shared.borrow_mut().take();
}

#[test]
fn trim_pool_unmaps_pooled_stacks() {
    let gens: Vec<Generator<(), ()>> = (0..10).map(|_| Generator::new(|_, ()| Ok(()))).collect();
    drop(gens);
    assert!(pool_stats().pooled >= 10);
    assert!(corio::stack::trim_pool() >= 10);
    assert_eq!(pool_stats().pooled, 0);
}
