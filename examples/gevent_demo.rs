//! gevent's `spawn` + `joinall`: greenlets are corio tasks, and the code in
//! them is plain blocking-style Rust.
//!
//! ```text
//! cargo run --example gevent_demo [-- --sleep-ms MS]
//! ```

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

fn main() {
    let ms = std::env::args()
        .skip_while(|a| a != "--sleep-ms")
        .nth(1)
        .map(|v| v.parse().expect("--sleep-ms takes milliseconds"))
        .unwrap_or(1000);
    let pause = Duration::from_millis(ms);
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
