//! Corners of the protocol: a close ignored below a `yield_from`, and
//! `throw` into a generator that a panic finished.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use corio::generator::{Error, Generator, GeneratorState, Interrupt};

use super::{DropCounter, Spam};

/// A generator that ignores every interrupt, like a body with
/// `except GeneratorExit: pass` around its `yield`.
fn stubborn(dropped: &Rc<Cell<usize>>) -> Generator<'static, (), i32, ()> {
    let counter = DropCounter(dropped.clone());
    Generator::new(move |co, ()| {
        let _held = counter;
        loop {
            let _ = co.yield_(1);
        }
    })
}

#[test]
fn a_close_ignored_below_a_yield_from_reaches_close() {
    let dropped = Rc::new(Cell::new(0));
    let sub = stubborn(&dropped);
    let mut outer = Generator::<(), i32, ()>::new(move |co, ()| co.yield_from(sub, ()));
    assert_eq!(outer.send(()).unwrap(), GeneratorState::Yielded(1));
    // Python: RuntimeError("generator ignored GeneratorExit") at the
    // `yield from`, and out of `close()`.
    assert_eq!(outer.close().unwrap_err(), Error::IgnoredClose);
    assert_eq!(dropped.get(), 1, "the sub-generator's stack was unwound");
    assert!(outer.is_finished());
    assert_eq!(outer.send(()).unwrap_err(), Error::Finished);
}

#[test]
fn a_close_ignored_three_delegations_down_reaches_close() {
    fn delegate(sub: Generator<'static, (), i32, ()>) -> Generator<'static, (), i32, ()> {
        Generator::new(move |co, ()| co.yield_from(sub, ()))
    }
    let dropped = Rc::new(Cell::new(0));
    let mut top = delegate(delegate(delegate(stubborn(&dropped))));
    assert_eq!(top.send(()).unwrap(), GeneratorState::Yielded(1));
    assert_eq!(top.close().unwrap_err(), Error::IgnoredClose);
    assert_eq!(dropped.get(), 1);
}

#[test]
fn a_delegator_catching_the_close_does_not_hide_an_ignored_one() {
    // Matching `Closed` is Python's `except GeneratorExit`, which does not
    // catch the RuntimeError raised at the `yield from`.
    let dropped = Rc::new(Cell::new(0));
    let sub = stubborn(&dropped);
    let saw = Rc::new(Cell::new(false));
    let seen = saw.clone();
    let mut outer = Generator::<(), i32, i32>::new(move |co, ()| {
        match co.yield_from(sub, ()) {
            Err(Interrupt::Closed) => seen.set(true),
            other => return other.map(|()| 0),
        }
        Ok(5)
    });
    assert_eq!(outer.send(()).unwrap(), GeneratorState::Yielded(1));
    assert_eq!(outer.close().unwrap_err(), Error::IgnoredClose);
    assert!(saw.get(), "the delegator saw the close at its yield_from");
}

#[test]
fn an_error_raised_after_an_ignored_close_below_wins() {
    // Python: an exception raised while handling the RuntimeError
    // replaces it.
    let dropped = Rc::new(Cell::new(0));
    let sub = Generator::<(), i32, (), Spam>::new({
        let counter = DropCounter(dropped.clone());
        move |co, ()| {
            let _held = counter;
            loop {
                let _ = co.yield_(1);
            }
        }
    });
    let mut outer = Generator::<(), i32, (), Spam>::new(move |co, ()| {
        let _ = co.yield_from(sub, ());
        Err(Interrupt::Thrown(Spam("cleanup failed")))
    });
    assert_eq!(outer.send(()).unwrap(), GeneratorState::Yielded(1));
    assert_eq!(
        outer.close().unwrap_err(),
        Error::Raised(Spam("cleanup failed"))
    );
    assert_eq!(dropped.get(), 1);
}

#[test]
fn a_sub_generator_that_honours_close_still_closes_quietly() {
    let sub = Generator::<(), i32, ()>::new(|co, ()| {
        co.yield_(1)?;
        Ok(())
    });
    let mut outer = Generator::<(), i32, ()>::new(move |co, ()| co.yield_from(sub, ()));
    assert_eq!(outer.send(()).unwrap(), GeneratorState::Yielded(1));
    assert_eq!(outer.close().unwrap(), None);
}

#[test]
fn throw_into_a_panicked_generator_hands_the_error_back() {
    let mut gen = Generator::<(), i32, (), Spam>::new(|co, ()| {
        co.yield_(1)?;
        panic!("boom");
    });
    assert_eq!(gen.send(()).unwrap(), GeneratorState::Yielded(1));
    assert!(catch_unwind(AssertUnwindSafe(|| gen.send(()))).is_err());
    assert!(gen.is_finished());
    // Like a finished generator: the error comes straight back.
    assert_eq!(
        gen.throw(Spam("late")).unwrap_err(),
        Error::Raised(Spam("late"))
    );
    assert_eq!(gen.send(()).unwrap_err(), Error::Panicked);
}
