//! asyncio's hello world and `gather`, as blocking-style corio tasks: no
//! `async`, no `await`, the tasks park in `sleep` and the runtime runs the
//! others meanwhile.
//!
//! ```text
//! cargo run --example async_and_await [-- --sleep-ms MS]
//! ```
//!
//! `--sleep-ms` sets the pause (1000 ms by default, as in the original).

mod common;

use std::fmt::Display;
use std::time::Duration;

fn hello(pause: Duration) {
    println!("Hello, world!");
    corio::sleep(pause);
    println!("Hello again!");
}

/// Removes random elements of `items` one by one, pausing after each.
fn mygen<T: Display>(mut items: Vec<T>, pause: Duration) {
    while !items.is_empty() {
        let i = fastrand::usize(..items.len());
        println!("{}", items.remove(i));
        corio::sleep(pause);
    }
}

/// Says hello, then runs two tasks that print the items of two lists in random order.
#[derive(clap::Parser)]
#[command(
    name = "async_and_await",
    override_usage = "async_and_await [--sleep-ms MS]"
)]
struct Args {
    /// The pause after each line, in milliseconds (at most an hour).
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(..=3_600_000)
    )]
    sleep_ms: u64,
}

fn main() {
    let args: Args = common::parse_args();
    let pause = Duration::from_millis(args.sleep_ms);
    corio::run(|| hello(pause));
    corio::run(|| {
        let tasks = [
            corio::spawn(move || mygen(vec!["ss", "dd", "gg"], pause)),
            corio::spawn(move || mygen(vec!["1", "2", "5", "6"], pause)),
        ];
        for result in corio::task::join_all(tasks) {
            result.expect("task failed");
        }
    });
}
