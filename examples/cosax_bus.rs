//! SAX events dispatched into a pipeline of coroutines (the seed's
//! `cosax_bus.py`).
//!
//! ```text
//! cargo run --example cosax_bus -- FILE
//! ```
//!
//! ```text
//! sax_file(FILE) → buses_to_dicts → filter route "22"
//!                → filter direction "North Bound" → bus_info_printer
//! ```
//!
//! Prints `route, id, direction, latitude, longitude` for each north-bound
//! bus of route 22. The stages are in `examples/common/mod.rs`;
//! `coexpat_bus` runs them unchanged behind a faster parser.

mod common;

use common::{bus_info_printer, buses_to_dicts, filter_on_field};
use corio::pipe::xml;
use std::path::PathBuf;

/// Prints the north-bound buses of route 22 in a bus feed.
#[derive(clap::Parser)]
#[command(name = "cosax_bus", override_usage = "cosax_bus FILE")]
struct Args {
    /// The XML file to read (a bus feed: `make_feed` writes one).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn main() {
    let args: Args = common::parse_args();
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let direction_filter = filter_on_field("direction", "North Bound", bus_info_printer(out));
    let route_filter = filter_on_field("route", "22", direction_filter);
    let result = xml::sax_file(&args.file, buses_to_dicts(route_filter));
    common::exit_on_error("cosax_bus", &args.file, result);
}
