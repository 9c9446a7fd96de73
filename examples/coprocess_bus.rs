//! The bus pipeline of `cosax_bus`, split across two processes (the
//! seed's `coprocess.py` and `coprocess_bus.py`).
//!
//! ```text
//! cargo run --example coprocess_bus -- FILE
//! ```
//!
//! ```text
//! parent:  sax_file(FILE) → buses_to_dicts → to_process ─┐ bus records,
//! child:   ┌──────────────────────────────────────────────┘ serialized
//!          └→ filter route "22" → filter direction "North Bound"
//!             → bus_info_printer
//! ```
//!
//! The parent parses the XML and collects each bus into a record;
//! `pipe::to_process` starts a child process (this program again, which
//! `corio::procpool::init()` turns into the child) and sends it the records
//! over a socket, postcard-encoded in frames. The child builds the filters
//! and the printer (`BUS_FILTERS`) and prints to the standard output it
//! shares with the parent, which prints nothing itself: the output is
//! exactly `cosax_bus`'s. An error on either side ends the program with
//! one line; a closed standard output ends it quietly.
//!
//! The seed's version pickles the records into the child's stdin and no
//! longer runs on Python 3.

mod common;

use common::{bus_info_printer, buses_to_dicts, filter_on_field};
use corio::pipe::bus::Bus;
use corio::pipe::{self, xml, Consumer};
use std::path::PathBuf;

/// The child's pipeline (the seed's `coprocess_bus.py`): the filters and
/// the printer, built in the child process.
fn bus_filters() -> Consumer<'static, Bus<'static>> {
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let direction_filter = filter_on_field("direction", "North Bound", bus_info_printer(out));
    filter_on_field("route", "22", direction_filter)
}
corio::child_pipeline!(static BUS_FILTERS: ChildPipeline<Bus<'static>> = bus_filters);

/// Prints what cosax_bus prints, the filters and the printer in a child process.
#[derive(clap::Parser)]
#[command(name = "coprocess_bus", override_usage = "coprocess_bus FILE")]
struct Args {
    /// The XML file to read (a bus feed: `make_feed` writes one).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn main() {
    // In the child, this runs BUS_FILTERS and never returns.
    corio::procpool::init();
    let args: Args = common::parse_args();
    let child = pipe::to_process(&BUS_FILTERS, ()).unwrap_or_else(|e| {
        eprintln!("coprocess_bus: error: cannot start the child process: {e}");
        std::process::exit(1);
    });
    let result = xml::sax_file(&args.file, buses_to_dicts(child));
    common::exit_on_error("coprocess_bus", &args.file, result);
}
