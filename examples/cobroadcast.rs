//! One source broadcast to three greps that share a printer (the seed's
//! `cobroadcast.py`).
//!
//! ```text
//! cargo run --example cobroadcast -- FILE
//! ```
//!
//! ```text
//! read_lines(FILE) → broadcast ─┬─ grep("python") ─┐
//!                               ├─ grep("swig")   ─┼─▶ printer
//!                               └─ grep("ply")    ─┘
//! ```
//!
//! A line that matches two patterns is printed twice.

mod common;

use std::path::PathBuf;

use corio::pipe::{self, Shared};

/// Prints the lines of FILE that contain "python", "swig" or "ply", once per
/// pattern they contain.
#[derive(clap::Parser)]
#[command(name = "cobroadcast", override_usage = "cobroadcast FILE")]
struct Args {
    /// The text file to read.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn main() {
    let args: Args = common::parse_args();
    // The three greps feed one printer; it is closed after the last of them.
    let p = Shared::new(common::line_printer());
    let greps = vec![
        common::grep("python", p.clone()),
        common::grep("swig", p.clone()),
        common::grep("ply", p),
    ];
    let result = pipe::read_lines(&args.file, pipe::broadcast(greps));
    common::exit_on_error("cobroadcast", &args.file, result);
}
