//! The stages of `cosax_bus`, unchanged, fed by a lower-level and faster
//! parser (the seed's `coexpat_bus.py`, which swaps SAX for expat).
//!
//! ```text
//! cargo run --example coexpat_bus -- FILE
//! ```
//!
//! Here the source is quick-xml: events borrow their names and text from
//! the document in memory, so the pipeline copies nothing per event. The
//! output is the same as `cosax_bus`'s.

mod common;

use common::{bus_info_printer, buses_to_dicts, filter_on_field};
use corio::pipe::xml::Document;
use std::path::PathBuf;

/// Prints the north-bound buses of route 22 in a bus feed, parsed with quick-xml.
#[derive(clap::Parser)]
#[command(name = "coexpat_bus", override_usage = "coexpat_bus FILE")]
struct Args {
    /// The XML file to read (a bus feed: `make_feed` writes one).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn main() {
    let args: Args = common::parse_args();
    let result = Document::open(&args.file).and_then(|doc| {
        let out = std::io::BufWriter::new(std::io::stdout().lock());
        // Push the lower-level source into the same stages, unchanged.
        let direction_filter = filter_on_field("direction", "North Bound", bus_info_printer(out));
        let route_filter = filter_on_field("route", "22", direction_filter);
        doc.parse(buses_to_dicts(route_filter))
    });
    common::exit_on_error("coexpat_bus", &args.file, result);
}
