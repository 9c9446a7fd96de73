//! Pieces shared by the pipeline examples: the bus stages of `cosax_bus`
//! (reused unchanged by `coexpat_bus` and the pipeline bench), Python's
//! `repr` of a string, and error reporting; in `bus_pipeline`, the whole
//! pipeline run on a document in memory, for the bench and `compare`.
#![allow(dead_code)]

pub mod bus_pipeline;

use std::io::Write;

use corio::pipe::bus::Bus;
use corio::pipe::xml::{Event, Text};
use corio::pipe::{Consumer, Error, Sink};

/// Collects the fields of each `<bus>` into a [`Bus`] record and sends it
/// on (the seed's `buses_to_dicts`).
pub fn buses_to_dicts<'a, 'd: 'a>(mut target: impl Sink<Bus<'d>> + 'a) -> Consumer<'a, Event<'d>> {
    Consumer::new(move |inbox| {
        let mut fragments: Vec<Text<'d>> = Vec::new();
        loop {
            // State A: looking for a bus
            let event = match inbox.recv() {
                Ok(event) => event,
                Err(interrupt) => {
                    target.forward(interrupt)?;
                    continue;
                }
            };
            let Event::Start(start) = event else { continue };
            if start.name != "bus" {
                continue;
            }
            // State B: collecting bus information
            let mut bus = Bus::with_capacity(16);
            fragments.clear();
            loop {
                let event = match inbox.recv() {
                    Ok(event) => event,
                    Err(interrupt) => {
                        target.forward(interrupt)?;
                        continue;
                    }
                };
                match event {
                    Event::Start(_) => fragments.clear(),
                    Event::Text(text) => fragments.push(text),
                    Event::End(name) if name != "bus" => bus.insert(name, Text::join(&fragments)),
                    Event::End(_) => {
                        target.send(bus)?;
                        break;
                    }
                }
            }
        }
    })
}

/// Passes on the lines that contain `pattern`; a close or an error goes on
/// to `target` (the seed's `grep`, shared by `copipe` and `cobroadcast`: the
/// same stage behind a file source, a followed file and a broadcast).
pub fn grep<'a>(
    pattern: impl AsRef<str> + 'a,
    mut target: impl Sink<String> + 'a,
) -> Consumer<'a, String> {
    Consumer::<String>::new(move |inbox| loop {
        match inbox.recv() {
            Ok(line) => {
                if line.contains(pattern.as_ref()) {
                    target.send(line)?;
                }
            }
            Err(interrupt) => target.forward(interrupt)?,
        }
    })
}

/// Passes on the buses whose `field` is `value` (the seed's
/// `filter_on_field`).
pub fn filter_on_field<'a, 'd: 'a>(
    field: &'a str,
    value: &'a str,
    mut target: impl Sink<Bus<'d>> + 'a,
) -> Consumer<'a, Bus<'d>> {
    Consumer::<Bus<'d>>::new(move |inbox| loop {
        match inbox.recv() {
            Ok(bus) => {
                if bus.get(field) == Some(value) {
                    target.send(bus)?;
                }
            }
            Err(interrupt) => target.forward(interrupt)?,
        }
    })
}

/// Prints `route, id, direction, latitude, longitude` for each bus (the
/// seed's `bus_info_printer`).
pub fn bus_info_printer<'a, 'd: 'a>(mut out: impl Write + 'a) -> Consumer<'a, Bus<'d>> {
    Consumer::<Bus<'d>>::new(move |inbox| loop {
        let bus = match inbox.recv() {
            Ok(bus) => bus,
            Err(_) => {
                out.flush()?;
                return Ok(());
            }
        };
        let field = |name: &str| {
            bus.get(name)
                .ok_or_else(|| Error::msg(format!("a bus has no <{name}>")))
        };
        writeln!(
            out,
            "{}, {}, {}, {}, {}",
            field("route")?,
            field("id")?,
            field("direction")?,
            field("latitude")?,
            field("longitude")?
        )?;
    })
}

/// Python's `repr()` of a string: quoted, with `\n`, `\t`, `\\`, the quote
/// and other unprintable characters escaped.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !py_printable(c) => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for one character, for the characters a
/// document is likely to hold: controls, separators other than the space,
/// and the common format characters are not printable.
fn py_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

/// The first `n` characters of `s` (Python's `s[:n]`).
pub fn py_prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Ends the program after a pipeline error: a closed standard output
/// (`| head`) ends it quietly; any other error is printed, and the exit
/// status is 1.
pub fn exit_on_error(program: &str, result: Result<(), Error>) {
    if let Err(e) = result {
        if e.io_kind() == Some(std::io::ErrorKind::BrokenPipe) {
            std::process::exit(0);
        }
        eprintln!("{program}: error: {e}");
        std::process::exit(1);
    }
}

/// The command-line arguments, or a usage message and exit status 2.
pub fn args(program: &str, usage: &str, min: usize, max: usize) -> Vec<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < min || args.len() > max || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("usage: {program} {usage}");
        std::process::exit(2);
    }
    args
}
