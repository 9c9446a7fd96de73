//! asyncio's hello world and `gather`, as blocking-style corio tasks: no
//! `async`, no `await`, the tasks park in `sleep` and the runtime runs the
//! others meanwhile.
//!
//! ```text
//! cargo run --example async_and_await [-- --sleep-ms MS]
//! ```
//!
//! `--sleep-ms` sets the pause (1000 ms by default, as in the original).

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

fn main() {
    let ms = std::env::args()
        .skip_while(|a| a != "--sleep-ms")
        .nth(1)
        .map(|v| v.parse().expect("--sleep-ms takes milliseconds"))
        .unwrap_or(1000);
    let pause = Duration::from_millis(ms);
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
