//! XML parsing events pushed into a coroutine that prints them (the seed's
//! `cosax.py`).
//!
//! ```text
//! cargo run --example cosax -- FILE
//! ```
//!
//! Prints each event as Python prints the seed's event tuples:
//! `('start', ('bus', {}))`, `('content', '\n')`, `('end', 'bus')`. Python
//! prints the attributes of a start event as an object with its address
//! (`<xml.sax.xmlreader.AttributesImpl object at 0x...>`); this example
//! prints them as a dict, `{}` or `{'name': 'value'}`.

mod common;

use std::io::Write;
use std::path::PathBuf;

use corio::pipe::{xml, Consumer};

/// A coroutine that prints the events it receives.
fn printer<'a>() -> Consumer<'a, xml::Event<'static>> {
    Consumer::new(|inbox| {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        loop {
            let Ok(event) = inbox.recv() else {
                out.flush()?;
                return Ok(());
            };
            match event {
                xml::Event::Start(start) => {
                    let attrs: Vec<String> = start
                        .attributes
                        .iter()
                        .map(|(k, v)| format!("{}: {}", common::py_repr(k), common::py_repr(v)))
                        .collect();
                    let name = common::py_repr(&start.name);
                    writeln!(out, "('start', ({name}, {{{}}}))", attrs.join(", "))?
                }
                xml::Event::Text(text) => {
                    writeln!(out, "('content', {})", common::py_repr(&text.get()))?
                }
                xml::Event::End(name) => writeln!(out, "('end', {})", common::py_repr(&name))?,
            }
        }
    })
}

/// Prints the XML events of FILE, from a coroutine.
#[derive(clap::Parser)]
#[command(name = "cosax", override_usage = "cosax FILE")]
struct Args {
    /// The XML file to read (a bus feed: `make_feed` writes one).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn main() {
    let args: Args = common::parse_args();
    let result = xml::sax_file(&args.file, printer());
    common::exit_on_error("cosax", &args.file, result);
}
