//! An auto-primed `grep` coroutine (the seed's `@coroutine` decorator): it
//! is ready for `send` as soon as it is created, and says goodbye when it is
//! closed.
//!
//! ```text
//! cargo run --example coroutine
//! ```

mod common;

use corio::generator::{Generator, Interrupt};

/// Prints every line sent in that contains `pattern`.
fn grep(pattern: &str) -> Generator<'_, &str, ()> {
    Generator::<&str, ()>::primed(move |co| {
        println!("Looking for {pattern}");
        loop {
            match co.yield_(()) {
                Ok(line) if line.contains(pattern) => println!("{line}"),
                Ok(_) => {}
                Err(Interrupt::Closed) => {
                    println!("Going away. Goodbye!");
                    return Ok(());
                }
                Err(other) => return Err(other),
            }
        }
    })
}

/// Sends three lines into a primed grep coroutine, then closes it.
#[derive(clap::Parser)]
#[command(name = "coroutine")]
struct Args {}

fn main() {
    let _: Args = common::parse_args();
    let mut g = grep("python");
    // No priming `send` needed here.
    g.send("Yeah, but no, but yeah, but no").unwrap();
    g.send("A series of tubes").unwrap();
    g.send("python generators rock!").unwrap();
    g.close().unwrap();
}
