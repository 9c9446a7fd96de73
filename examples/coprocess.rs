//! A pipeline whose second half runs in a child process (the seed's
//! `coprocess.py`: `sendto` in the parent, `recvfrom` in the child).
//!
//! ```text
//! cargo run --example coprocess -- FILE PATTERN
//! ```
//!
//! ```text
//! parent:  read_lines(FILE) → to_process ─┐ lines, serialized
//! child:   ┌──────────────────────────────┘
//!          └→ grep PATTERN → printer
//! ```
//!
//! Prints the lines of FILE that contain PATTERN, as `copipe` does, but the
//! grep and the printer run in another process. `pipe::to_process` starts
//! the child (this program again: `corio::procpool::init()`, first thing in
//! `main`, makes it the child) and sends it PATTERN, then the lines; the
//! child builds its stages with `GREP` and prints to the standard output
//! the two processes share. Closing the stage (the file source does at its
//! end) closes the child's pipeline and waits for the child.

mod common;

use std::path::PathBuf;

use corio::pipe::{self, Consumer};

/// The child's pipeline: `grep(pattern)` into the printer, the very stages
/// `copipe` runs in one process.
fn grep_printer(pattern: String) -> Consumer<'static, String> {
    common::grep(pattern, common::line_printer())
}
corio::child_pipeline!(static GREP: ChildPipeline<String, String> = grep_printer);

/// Prints the lines of FILE that contain PATTERN, the grep and the printer
/// in a child process.
#[derive(clap::Parser)]
#[command(name = "coprocess", override_usage = "coprocess FILE PATTERN")]
struct Args {
    /// The text file to read.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The text a line must contain to be printed.
    #[arg(value_name = "PATTERN")]
    pattern: String,
}

fn main() {
    // In the child, this runs GREP and never returns.
    corio::procpool::init();
    let args: Args = common::parse_args();
    let child = pipe::to_process(&GREP, args.pattern).unwrap_or_else(|e| {
        eprintln!("coprocess: error: cannot start the child process: {e}");
        std::process::exit(1);
    });
    let result = pipe::read_lines(&args.file, child);
    common::exit_on_error("coprocess", &args.file, result);
}
