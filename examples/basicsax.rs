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

use corio::pipe::{self, xml};

fn main() {
    let args = common::args("basicsax", "FILE", 1, 1);
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
    let result = xml::sax_file(&args[0], handler);
    let result = result.and_then(|()| Ok(out.flush()?));
    common::exit_on_error("basicsax", result);
}
