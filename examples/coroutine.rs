//! An auto-primed `grep` coroutine (the seed's `@coroutine` decorator): it
//! is ready for `send` as soon as it is created, and says goodbye when it is
//! closed.
//!
//! ```text
//! cargo run --example coroutine
//! ```

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

fn main() {
    let mut g = grep("python");
    // No priming `send` needed here.
    g.send("Yeah, but no, but yeah, but no").unwrap();
    g.send("A series of tubes").unwrap();
    g.send("python generators rock!").unwrap();
    g.close().unwrap();
}
