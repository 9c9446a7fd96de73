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

fn main() {
    let args = common::args("coexpat_bus", "FILE", 1, 1);
    let result = Document::open(&args[0]).and_then(|doc| {
        let out = std::io::BufWriter::new(std::io::stdout().lock());
        // Push the lower-level source into the same stages, unchanged.
        let direction_filter = filter_on_field("direction", "North Bound", bus_info_printer(out));
        let route_filter = filter_on_field("route", "22", direction_filter);
        doc.parse(buses_to_dicts(route_filter))
    });
    common::exit_on_error("coexpat_bus", result);
}
