//! A pipeline: file source → grep → printer (the seed's `copipe.py`).
//!
//! ```text
//! cargo run --example copipe -- FILE PATTERN [--follow]
//! ```
//!
//! Prints the lines of FILE that contain PATTERN. With `--follow` it then
//! keeps watching FILE, like `tail -f`, and prints matching lines as they are
//! appended (stop it with Ctrl-C).

mod common;

use std::io::Write;

use corio::pipe::{self, Consumer, Follow};

/// Prints each line it receives (lines keep their `"\n"`).
fn printer<'a>() -> Consumer<'a, String> {
    Consumer::<String>::new(|inbox| {
        let stdout = std::io::stdout();
        loop {
            let Ok(line) = inbox.recv() else {
                stdout.lock().flush()?;
                return Ok(());
            };
            // Standard output is line-buffered: each line shows at once,
            // which `--follow` needs.
            stdout.lock().write_all(line.as_bytes())?;
        }
    })
}

fn main() {
    let args = common::args("copipe", "FILE PATTERN [--follow]", 2, 3);
    let follow = match args.get(2).map(String::as_str) {
        None => false,
        Some("--follow") => true,
        Some(other) => {
            eprintln!("copipe: unknown option {other:?}\nusage: copipe FILE PATTERN [--follow]");
            std::process::exit(2);
        }
    };
    let (file, pattern) = (&args[0], &args[1]);
    let pipeline = common::grep(pattern, printer());
    let result = if follow {
        Follow::new(file).run(pipeline)
    } else {
        pipe::read_lines(file, pipeline)
    };
    common::exit_on_error("copipe", result);
}
