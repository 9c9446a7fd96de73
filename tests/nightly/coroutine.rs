//! The tests themselves, in a file of their own: stable Rust cannot even
//! parse `yield`, so this module is only loaded with the `nightly` feature.

use std::ops::{Coroutine, CoroutineState};
use std::pin::Pin;

use corio::generator::{Error, Generator};

/// Sends `inputs` one by one and records what comes out.
fn drive<C>(mut coroutine: C, inputs: &[i64]) -> (Vec<i64>, Option<C::Return>)
where
    C: Coroutine<i64, Yield = i64> + Unpin,
{
    let mut yielded = Vec::new();
    for &input in inputs {
        match Pin::new(&mut coroutine).resume(input) {
            CoroutineState::Yielded(y) => yielded.push(y),
            CoroutineState::Complete(r) => return (yielded, Some(r)),
        }
    }
    (yielded, None)
}

#[test]
fn one_generic_driver_runs_stackful_and_stackless_alike() {
    // Running sums until a zero arrives, written both ways.
    let stackless = #[coroutine]
    |mut x: i64| {
        let mut sum = 0;
        while x != 0 {
            sum += x;
            x = yield sum;
        }
        sum
    };
    let stackful = Generator::<i64, i64, i64>::new(|co, mut x| {
        let mut sum = 0;
        while x != 0 {
            sum += x;
            x = co.yield_(sum)?;
        }
        Ok(sum)
    });
    let inputs = [3, 4, 5, 0, 9];
    let (a, ra) = drive(stackless, &inputs);
    let (b, rb) = drive(stackful, &inputs);
    assert_eq!(a, [3, 7, 12]);
    assert_eq!(b, a);
    assert_eq!(ra, Some(12));
    assert_eq!(rb.unwrap().unwrap(), 12);
}

#[test]
fn resuming_a_finished_generator_completes_with_an_error() {
    let mut gen = Generator::<i64, i64, ()>::new(|_, _| Ok(()));
    assert!(matches!(
        Pin::new(&mut gen).resume(1),
        CoroutineState::Complete(Ok(()))
    ));
    assert!(matches!(
        Pin::new(&mut gen).resume(1),
        CoroutineState::Complete(Err(Error::Finished))
    ));
}
