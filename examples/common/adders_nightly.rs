//! The bodies of `adders.rs` as the compiler's stackless `#[coroutine]`
//! closures (feature `nightly`; a file of its own, since `yield` does not
//! parse on stable even where a `cfg` leaves it out).

use std::hint::black_box;
use std::ops::{Coroutine, CoroutineState};
use std::pin::pin;

/// A stackless adder, not started: pin it, resume it once with 0.
pub fn stackless_adder() -> impl Coroutine<u64, Yield = u64, Return = u64> {
    #[coroutine]
    |mut x: u64| -> u64 {
        loop {
            x = yield x + 1;
        }
    }
}

/// One round trip of a pinned, started stackless adder.
pub fn stackless_send(
    co: std::pin::Pin<&mut impl Coroutine<u64, Yield = u64, Return = u64>>,
) -> u64 {
    match co.resume(black_box(super::adders::INPUT)) {
        CoroutineState::Yielded(y) => y,
        CoroutineState::Complete(_) => unreachable!("the body yields"),
    }
}

/// Creates a one-shot stackless coroutine, runs it to its end, drops it.
#[inline(always)]
pub fn stackless_once() -> u64 {
    let mut co = pin!(
        #[coroutine]
        |x: u64| -> u64 {
            let v = yield x + 1;
            v + 1
        }
    );
    let CoroutineState::Yielded(y) = co.as_mut().resume(black_box(super::adders::INPUT)) else {
        unreachable!("the body yields")
    };
    let CoroutineState::Complete(r) = co.as_mut().resume(black_box(y)) else {
        unreachable!("the body returns")
    };
    r
}
