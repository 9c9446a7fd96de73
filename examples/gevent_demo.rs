//! gevent's `spawn` + `joinall`: greenlets are corio tasks, and the code in
//! them is plain blocking-style Rust.
//!
//! ```text
//! cargo run --example gevent_demo [-- --sleep-ms MS]
//! ```

mod common;

use std::fmt::Display;
use std::time::Duration;

fn hello(pause: Duration) {
    println!("Hello, world!");
    corio::sleep(pause);
    println!("Hello again!");
}

fn mygen<T: Display>(mut items: Vec<T>, pause: Duration) {
    while !items.is_empty() {
        let i = fastrand::usize(..items.len());
        println!("{}", items.remove(i));
        corio::sleep(pause);
    }
}

/// Says hello in a greenlet, then runs two greenlets that print the items of two lists in random order.
#[derive(clap::Parser)]
#[command(name = "gevent_demo", override_usage = "gevent_demo [--sleep-ms MS]")]
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
    corio::run(|| {
        let greenlets = [corio::spawn(move || hello(pause))];
        corio::task::join_all(greenlets);

        let greenlets = [
            corio::spawn(move || mygen(vec!["ss", "dd", "gg"], pause)),
            corio::spawn(move || mygen(vec![1, 2, 5, 6], pause)),
        ];
        for result in corio::task::join_all(greenlets) {
            result.expect("greenlet failed");
        }
    });
}
