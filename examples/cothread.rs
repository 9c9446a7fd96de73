//! The bus pipeline of `cosax_bus`, split across two threads (the seed's
//! `cothread.py`).
//!
//! ```text
//! cargo run --example cothread -- FILE
//! ```
//!
//! ```text
//! main thread:   sax_file(FILE) → threaded ─┐ batches of events
//! other thread:  ┌─────────────────────────┘
//!                └→ buses_to_dicts → filter route "22"
//!                   → filter direction "North Bound" → bus_info_printer
//! ```
//!
//! The XML is parsed on the main thread; `pipe::threaded` starts a thread,
//! builds the bus stages there (corio's generators stay on the thread that
//! made them) and hands it the events in batches. The output is exactly
//! `cosax_bus`'s. An error on either side ends the program with one line
//! naming the file; a closed standard output ends it quietly.

mod common;

use common::{bus_info_printer, buses_to_dicts, filter_on_field};
use corio::pipe::{self, xml};
use std::path::PathBuf;

/// Prints what cosax_bus prints, the bus stages on another thread.
#[derive(clap::Parser)]
#[command(name = "cothread", override_usage = "cothread FILE")]
struct Args {
    /// The XML file to read (a bus feed: `make_feed` writes one).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn main() {
    let args: Args = common::parse_args();
    let stages = pipe::threaded(|| {
        // On the new thread: the stages, and the writer they print with.
        let out = std::io::BufWriter::new(std::io::stdout().lock());
        let direction_filter = filter_on_field("direction", "North Bound", bus_info_printer(out));
        let route_filter = filter_on_field("route", "22", direction_filter);
        buses_to_dicts(route_filter)
    });
    let result = xml::sax_file(&args.file, stages);
    common::exit_on_error("cothread", &args.file, result);
}
