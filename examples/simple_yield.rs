//! Producer and consumer with `send`: the consumer is a generator that
//! receives each item and answers with a status.
//!
//! ```text
//! cargo run --example simple_yield
//! ```

mod common;

use corio::generator::{Generator, GeneratorState};

/// The consumer: started by a first `send(None)`, then answers "200 OK" to
/// every item, and returns when it receives `None`.
fn consumer() -> Generator<'static, Option<u32>, String> {
    Generator::new(|co, _start| {
        println!("[CONSUMER] Starting consumer...");
        let mut reply = String::new();
        loop {
            let Some(n) = co.yield_(reply)? else {
                return Ok(());
            };
            println!("[CONSUMER] Consuming {n}...");
            reply = "200 OK".to_string();
        }
    })
}

fn produce(mut con: Generator<'_, Option<u32>, String>) {
    con.send(None).expect("start the consumer");
    for n in 1..=5 {
        println!("[PRODUCER] Producing {n}...");
        match con.send(Some(n)).expect("consumer is running") {
            GeneratorState::Yielded(reply) => println!("[PRODUCER] Consumer return: {reply}"),
            GeneratorState::Complete(()) => break,
        }
    }
    con.close().expect("consumer closes cleanly");
}

/// Runs a producer that sends five items to a consumer generator and prints their dialogue.
#[derive(clap::Parser)]
#[command(name = "simple_yield")]
struct Args {}

fn main() {
    let _: Args = common::parse_args();
    produce(consumer());
}
