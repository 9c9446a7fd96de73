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

use std::io::Write;

use corio::pipe::{self, Consumer, Shared, Sink};

/// Passes on the lines that contain `pattern`; a close or an error goes on
/// to `target`.
fn grep<'a>(pattern: &'a str, mut target: impl Sink<String> + 'a) -> Consumer<'a, String> {
    Consumer::<String>::new(move |inbox| loop {
        match inbox.recv() {
            Ok(line) => {
                if line.contains(pattern) {
                    target.send(line)?;
                }
            }
            Err(interrupt) => target.forward(interrupt)?,
        }
    })
}

/// Prints each line it receives (lines keep their `"\n"`).
fn printer<'a>() -> Consumer<'a, String> {
    Consumer::<String>::new(|inbox| {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        loop {
            let Ok(line) = inbox.recv() else {
                out.flush()?;
                return Ok(());
            };
            out.write_all(line.as_bytes())?;
        }
    })
}

fn main() {
    let args = common::args("cobroadcast", "FILE", 1, 1);
    // The three greps feed one printer; it is closed after the last of them.
    let p = Shared::new(printer());
    let greps = vec![
        grep("python", p.clone()),
        grep("swig", p.clone()),
        grep("ply", p),
    ];
    let result = pipe::read_lines(&args[0], pipe::broadcast(greps));
    common::exit_on_error("cobroadcast", result);
}
