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
use std::path::PathBuf;

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

/// Prints the lines of FILE that contain PATTERN.
#[derive(clap::Parser)]
#[command(name = "copipe", override_usage = "copipe FILE PATTERN [--follow]")]
struct Args {
    /// The text file to read.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The text a line must contain to be printed.
    #[arg(value_name = "PATTERN")]
    pattern: String,
    /// Then keep watching FILE, like `tail -f`, and print matching lines
    /// appended later (stop with Ctrl-C).
    #[arg(long)]
    follow: bool,
}

fn main() {
    let args: Args = common::parse_args();
    let pipeline = common::grep(args.pattern, printer());
    let result = if args.follow {
        Follow::new(&args.file).run(pipeline)
    } else {
        pipe::read_lines(&args.file, pipeline)
    };
    common::exit_on_error("copipe", &args.file, result);
}
