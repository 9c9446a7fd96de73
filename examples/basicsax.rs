//! XML parsing events, printed directly by a handler (the seed's
//! `basicsax.py`): no coroutine yet.
//!
//! ```text
//! cargo run --example basicsax -- FILE
//! ```
//!
//! Prints `startElement NAME`, `characters 'TEXT'` (Python's `repr` of the
//! text, cut to 40 characters) and `endElement NAME` for each event.

mod common;

use std::io::Write;
use std::path::PathBuf;

use corio::pipe::{self, xml};

/// Prints the XML events of FILE, from a plain handler.
#[derive(clap::Parser)]
#[command(name = "basicsax", override_usage = "basicsax FILE")]
struct Args {
    /// The XML file to read (a bus feed: `make_feed` writes one).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn main() {
    let args: Args = common::parse_args();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // A handler is a plain function of the event: `sink_fn`.
    let handler = pipe::sink_fn(|event: xml::Event<'_>| {
        match event {
            xml::Event::Start(start) => writeln!(out, "startElement {}", start.name)?,
            xml::Event::Text(text) => {
                let repr = common::py_repr(&text.get());
                writeln!(out, "characters {}", common::py_prefix(&repr, 40))?
            }
            xml::Event::End(name) => writeln!(out, "endElement {name}")?,
        }
        Ok(())
    });
    let result = xml::sax_file(&args.file, handler);
    // Flush what was printed before an error too, as Python does: `exit`
    // would drop the buffer.
    let flushed = out.flush();
    let result = result.and_then(|()| Ok(flushed?));
    common::exit_on_error("basicsax", &args.file, result);
}
