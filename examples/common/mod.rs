//! Pieces shared by the examples: command-line parsing (every example), the
//! bus stages of `cosax_bus` (reused unchanged by `coexpat_bus` and the
//! pipeline bench), Python's `repr` of a string, and error reporting; in
//! `bus_pipeline`, the whole pipeline run on a document in memory, for the
//! bench and `compare`.
#![allow(dead_code)]

pub mod bus_pipeline;
pub mod echo;

use std::io::Write;
use std::path::Path;

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
/// (`| head`) ends it quietly; any other error is printed on one line that
/// names `file` (the message is prefixed with it unless it already starts
/// with it, with its line where the parser knows it), and the exit status
/// is 1.
pub fn exit_on_error(program: &str, file: &Path, result: Result<(), Error>) {
    if let Err(e) = result {
        if e.io_kind() == Some(std::io::ErrorKind::BrokenPipe) {
            std::process::exit(0);
        }
        let name = file.display().to_string();
        let message = e.to_string();
        if message.starts_with(&format!("{name}:")) {
            eprintln!("{program}: error: {message}");
        } else {
            eprintln!("{program}: error: {name}: {message}");
        }
        std::process::exit(1);
    }
}

/// Parses the command line into `A`. `--help` (or `-h`) prints the help on
/// standard output and exits with status 0; anything else that is wrong
/// (an unknown flag, a missing or malformed value, a value out of range)
/// prints one line on standard error, `NAME: error: WHAT (usage: USAGE;
/// see --help)`, and exits with status 2.
pub fn parse_args<A: clap::Parser>() -> A {
    A::try_parse().unwrap_or_else(|e| usage_exit(A::command(), e))
}

fn usage_exit(mut command: clap::Command, error: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        // A closed standard output is no reason to fail.
        let _ = error.print();
        std::process::exit(0);
    }
    // clap's message spans several lines (the error, a tip, the usage):
    // keep what comes before the usage, on one line, without the tips.
    let text = error.to_string();
    let what: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:"))
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with("tip:")
                && !line.starts_with("For more information")
        })
        .collect();
    let what = what.join(" ");
    let what = what.strip_prefix("error: ").unwrap_or(&what);
    let usage = command.render_usage().to_string();
    let usage = usage.trim().strip_prefix("Usage: ").unwrap_or(&usage);
    eprintln!(
        "{}: error: {what} (usage: {usage}; see --help)",
        command.get_name()
    );
    std::process::exit(2);
}

/// A value parser for a number more than 0 and at most `max`, for flags
/// such as `--scale` and `--secs` (NaN and infinities are refused).
pub fn positive_up_to(max: f64) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    move |value| match value.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= max => Ok(x),
        Ok(_) => Err(format!("must be more than 0 and at most {max}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Prints each line it receives (lines keep their `"\n"`), buffered until
/// the end (`cobroadcast`, `coprocess`).
pub fn line_printer<'a>() -> Consumer<'a, String> {
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
