//! The generator bodies that the generator bench and the `compare` example
//! time: an adder, suspended in its loop, that yields one more than it is
//! sent; and a one-shot body that yields once and returns. For corio, raw
//! corosensei and the `generator` crate; `adders_nightly.rs` has the
//! compiler's stackless ones.

use std::convert::Infallible;
use std::hint::black_box;

use corio::generator::{Generator, GeneratorState};
use corio::stack::DEFAULT_STACK_SIZE;
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};

/// The value every body is sent.
pub const INPUT: u64 = 41;

/// What a corio generator's `send` returns.
pub type CorioState = Result<GeneratorState<u64, u64>, corio::generator::Error<Infallible>>;

/// A raw corosensei coroutine on a default stack.
pub type RawCoroutine = Coroutine<u64, u64, u64, DefaultStack>;

#[inline(always)]
pub fn corio_yielded(state: CorioState) -> u64 {
    match state {
        Ok(GeneratorState::Yielded(y)) => y,
        _ => unreachable!("the body yields"),
    }
}

#[inline(always)]
pub fn corio_returned(state: CorioState) -> u64 {
    match state {
        Ok(GeneratorState::Complete(r)) => r,
        _ => unreachable!("the body returns"),
    }
}

/// A corio adder, started.
pub fn corio_adder() -> Generator<'static, u64, u64, u64> {
    let mut gen = Generator::<u64, u64, u64>::new(|co, mut x| loop {
        x = co.yield_(x + 1)?;
    });
    corio_yielded(gen.send(0));
    gen
}

/// Creates a one-shot corio generator, runs it to its end, drops it.
#[inline(always)]
pub fn corio_once() -> u64 {
    let mut gen = Generator::<u64, u64, u64>::new(|co, x| {
        let v = co.yield_(x + 1)?;
        Ok(v + 1)
    });
    let y = corio_yielded(gen.send(black_box(INPUT)));
    corio_returned(gen.send(black_box(y)))
}

/// A raw corosensei adder, started.
pub fn corosensei_adder() -> RawCoroutine {
    let mut co = Coroutine::with_stack(
        DefaultStack::new(DEFAULT_STACK_SIZE).expect("stack"),
        |yielder: &Yielder<u64, u64>, mut x: u64| -> u64 {
            loop {
                x = yielder.suspend(x + 1);
            }
        },
    );
    co.resume(0);
    co
}

/// One round trip of a raw corosensei adder.
#[inline(always)]
pub fn corosensei_send(co: &mut RawCoroutine) -> u64 {
    match co.resume(black_box(INPUT)) {
        CoroutineResult::Yield(y) => y,
        CoroutineResult::Return(_) => unreachable!("the body yields"),
    }
}

/// A one-shot raw corosensei coroutine on `stack`, run to its end; its
/// result and the stack, for the next.
#[inline(always)]
pub fn corosensei_once(stack: DefaultStack) -> (u64, DefaultStack) {
    let mut co = Coroutine::with_stack(stack, |yielder: &Yielder<u64, u64>, x: u64| {
        yielder.suspend(x + 1) + 1
    });
    let CoroutineResult::Yield(y) = co.resume(black_box(INPUT)) else {
        unreachable!("the body yields")
    };
    let CoroutineResult::Return(r) = co.resume(black_box(y)) else {
        unreachable!("the body returns")
    };
    (r, co.into_stack())
}

/// A fresh default stack.
pub fn fresh_stack() -> DefaultStack {
    DefaultStack::new(DEFAULT_STACK_SIZE).expect("stack")
}

/// A `generator` crate adder, started.
pub fn generator_adder() -> generator::Generator<'static, u64, u64> {
    let mut gen = generator::Gn::<u64>::new_scoped(|mut s| {
        // The first `send` starts the body; its value is the pending
        // parameter.
        let mut x = s.get_yield().unwrap_or(0);
        loop {
            match s.yield_(x + 1) {
                Some(v) => x = v,
                None => return 0,
            }
        }
    });
    gen.send(0);
    gen
}

/// Creates a one-shot `generator` crate generator (a fresh stack each:
/// its default, 32 KiB), runs it to its end, drops it.
#[inline(always)]
pub fn generator_once() -> u64 {
    let mut gen = generator::Gn::<u64>::new_scoped(|mut s| {
        let x = s.get_yield().unwrap_or(0);
        s.yield_(x + 1).unwrap_or(0) + 1
    });
    let y = gen.send(black_box(INPUT));
    // The last `send` hands back the body's return value.
    gen.send(black_box(y))
}
