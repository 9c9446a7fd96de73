//! `yield_from`: a Fibonacci generator wrapped by hand and by delegation,
//! and a writer coroutine behind a wrapper that forwards `throw`.
//!
//! ```text
//! cargo run --example yield_from
//! ```

mod common;

use corio::generator::{Generator, Interrupt};

fn fib(limit: usize) -> Generator<'static, (), u64> {
    Generator::new(move |co, ()| {
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 0..limit {
            co.yield_(b)?;
            (a, b) = (b, a + b);
        }
        Ok(())
    })
}

/// Wraps a generator by iterating it and yielding each item.
fn fib_wrapper(inner: Generator<'static, (), u64>) -> Generator<'static, (), u64> {
    Generator::new(move |co, ()| {
        println!("start");
        for item in inner {
            co.yield_(item)?;
        }
        println!("end");
        Ok(())
    })
}

/// Wraps a generator by delegating to it.
fn fib_wrapper_2(inner: Generator<'static, (), u64>) -> Generator<'static, (), u64> {
    Generator::new(move |co, ()| {
        println!("start");
        co.yield_from(inner, ())?;
        println!("end");
        Ok(())
    })
}

fn fib_demo() {
    for i in fib(5) {
        println!("{i}");
    }
    for i in fib_wrapper(fib(5)) {
        println!("{i}");
    }
    for i in fib_wrapper_2(fib(5)) {
        println!("{i}");
    }
}

/// The error the demo throws in.
#[derive(Debug)]
struct SpamException;

/// Prints what it receives; prints `***` for a thrown `SpamException`.
fn writer() -> Generator<'static, i32, (), (), SpamException> {
    Generator::primed(|co| loop {
        match co.yield_(()) {
            Ok(w) => println!(">> {w}"),
            Err(Interrupt::Thrown(SpamException)) => println!("***"),
            Err(closed) => return Err(closed),
        }
    })
}

/// Forwards sends and throws to `coro`: all of the seed's hand-written
/// forwarding loop is one `yield_from`.
fn writer_wrapper(
    coro: Generator<'static, i32, (), (), SpamException>,
) -> Generator<'static, i32, (), (), SpamException> {
    Generator::new(move |co, first| co.yield_from(coro, first))
}

enum Item {
    Num(i32),
    Spam,
}

fn write_demo() {
    let mut wrap = writer_wrapper(writer());
    for item in [
        Item::Num(0),
        Item::Num(1),
        Item::Num(2),
        Item::Spam,
        Item::Num(4),
    ] {
        match item {
            Item::Num(i) => wrap.send(i).map(drop).unwrap(),
            Item::Spam => wrap.throw(SpamException).map(drop).unwrap(),
        }
    }
}

/// Prints Fibonacci numbers from a generator, a wrapper and a delegating wrapper, then sends and throws into a writer behind a forwarding wrapper.
#[derive(clap::Parser)]
#[command(name = "yield_from")]
struct Args {}

fn main() {
    let _: Args = common::parse_args();
    fib_demo();
    write_demo();
}
